package discord

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// The gateway tells of members leaving and joining a guild only with the
// privileged GUILD_MEMBERS intent (Config.MemberEvents), which the
// application's "Server Members Intent" must allow in the Developer
// Portal: Discord closes a connection that asks for it otherwise (4014).
// Without it, and in the interactions endpoint's mode, the daily member
// check finds who left (membercheck.go).

// gatewayIntents are the intents the gateway identifies with.
func (a *Adapter) gatewayIntents() discordgo.Intent {
	if a.cfg.MemberEvents {
		return discordgo.IntentsGuilds | discordgo.IntentsGuildMembers
	}
	return discordgo.IntentsGuilds
}

// onMemberEvent handles GUILD_MEMBER_REMOVE (a member left or was
// removed: the core hands over what they bought) and GUILD_MEMBER_ADD
// (one who left is back), and reports whether e was one of them.
func (a *Adapter) onMemberEvent(ctx context.Context, e *discordgo.Event) bool {
	left := strings.EqualFold(e.Type, "GUILD_MEMBER_REMOVE")
	if !left && !strings.EqualFold(e.Type, "GUILD_MEMBER_ADD") {
		return false
	}
	var m struct {
		GuildID string `json:"guild_id"`
		User    struct {
			ID  string `json:"id"`
			Bot bool   `json:"bot"`
		} `json:"user"`
	}
	if err := json.Unmarshal(e.RawData, &m); err != nil || !snowflakeID(m.GuildID) || !snowflakeID(m.User.ID) {
		a.log.Debug("discord: bad member event", "type", e.Type, "err", err)
		return true
	}
	if m.User.Bot {
		return true
	}
	change, what := a.bot.MemberBack, "member back"
	if left {
		change, what = a.bot.MemberLeft, "member left"
	}
	if err := change(context.WithoutCancel(ctx), orgPrefix+m.GuildID, m.User.ID); err != nil {
		// The daily member check finds them again.
		a.log.Error(what, "org", orgPrefix+m.GuildID, "user", m.User.ID, "err", err)
	}
	return true
}
