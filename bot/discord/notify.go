package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands"
)

// sentTTL is how long a delivered notification's key is remembered.
const sentTTL = 30 * 24 * time.Hour

// Owns reports whether org is a Discord guild's organization.
func (a *Adapter) Owns(org string) bool {
	return strings.HasPrefix(org, orgPrefix) && snowflake(strings.TrimPrefix(org, orgPrefix)) != ""
}

// Notify posts a notification to the guild's admin channel (the one an
// admin set, else Config.AdminChannel, else by DM to Config.Admins), or by
// DM to n.To. A notification whose Key was delivered before is not sent
// again.
func (a *Adapter) Notify(ctx context.Context, n commands.Notification) error {
	if !a.Owns(n.Org) {
		return fmt.Errorf("discord notify: %q is not a Discord organization", n.Org)
	}
	guild := strings.TrimPrefix(n.Org, orgPrefix)
	sentKey := ""
	if n.Key != "" {
		sentKey = "note:" + n.Key
		if len(sentKey) > 150 {
			sum := sha256.Sum256([]byte(n.Key))
			sentKey = "note:" + hex.EncodeToString(sum[:16])
		}
		if _, ok, err := a.store.CacheGet(ctx, n.Org, sentKey); err == nil && ok {
			return nil
		}
	}
	lang := "en"
	if l, ok, err := a.store.CacheGet(ctx, n.Org, "guild_locale"); err == nil && ok {
		lang = langOf(l)
	}
	msg := a.bot.RenderNotification(n, lang)
	var err error
	switch {
	case n.To != "":
		err = a.dm(ctx, n.Org, guild, n.To, msg)
	default:
		ch := a.adminChannel(ctx, n.Org, guild)
		switch {
		case ch != "":
			err = a.post(ctx, n.Org, "", ch, msg)
		case len(a.admins) > 0:
			var errs []error
			for id := range a.admins {
				errs = append(errs, a.dm(ctx, n.Org, guild, id, msg))
			}
			err = errors.Join(errs...)
		default:
			a.log.Warn("discord: no admin channel set; notification not delivered",
				"org", n.Org, "kind", n.Kind, "hint", "an admin can run /billing admin channel")
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("discord notify %s: %w", n.Kind, err)
	}
	if sentKey != "" {
		if err := a.store.CachePut(ctx, n.Org, sentKey, "1", sentTTL); err != nil {
			a.log.Warn("discord: remember notification", "org", n.Org, "err", err)
		}
	}
	return nil
}

// dm sends a message to a user's DM channel; its buttons name the guild.
func (a *Adapter) dm(ctx context.Context, org, guild, userRef string, msg commands.Message) error {
	id := snowflake(userRef)
	if id == "" {
		return fmt.Errorf("dm %q: not a Discord user id", userRef)
	}
	ch, err := a.rest.dmChannel(ctx, id)
	if err != nil {
		return err
	}
	return a.post(ctx, org, guild, ch, msg)
}

// post sends a message to a channel (guild set: a DM channel).
func (a *Adapter) post(ctx context.Context, org, guild, channel string, msg commands.Message) error {
	msg.Public = true // channel messages cannot be ephemeral
	for _, m := range (renderer{a: a, ctx: ctx, org: org, guild: guild}).messages([]commands.Message{msg}) {
		if err := a.rest.postMessage(ctx, channel, m); err != nil {
			return err
		}
	}
	return nil
}

// adminChannel is the channel id of the guild's admin channel: the one an
// admin set (a mention "<#123>", an id, or a name), else the deployment's.
func (a *Adapter) adminChannel(ctx context.Context, org, guild string) string {
	set, err := a.store.Settings(ctx, org)
	if err != nil {
		a.log.Warn("discord: settings", "org", org, "err", err)
	}
	if ch := a.channelID(ctx, org, guild, set.AdminChannel); ch != "" {
		return ch
	}
	return a.channelID(ctx, org, guild, a.cfg.AdminChannel)
}

// channelID reads a channel as an admin typed it.
func (a *Adapter) channelID(ctx context.Context, org, guild, typed string) string {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return ""
	}
	if strings.HasPrefix(typed, "<#") && strings.HasSuffix(typed, ">") {
		typed = typed[2 : len(typed)-1]
	}
	if id := snowflake(typed); id != "" {
		return id
	}
	// A name ("#billing-admins"): the guild's channels, looked up once a
	// while.
	name := strings.ToLower(strings.TrimPrefix(typed, "#"))
	key := "channel:" + name
	if len(key) > 150 {
		return ""
	}
	if id, ok, err := a.store.CacheGet(ctx, org, key); err == nil && ok {
		return id
	}
	var chans []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type int    `json:"type"`
	}
	if err := a.rest.do(ctx, http.MethodGet, "/guilds/"+guild+"/channels", nil, &chans, true); err != nil {
		a.log.Warn("discord: list channels", "org", org, "err", err)
		return ""
	}
	for _, c := range chans {
		if strings.ToLower(c.Name) == name && (c.Type == 0 || c.Type == 5) {
			_ = a.store.CachePut(ctx, org, key, c.ID, time.Hour)
			return c.ID
		}
	}
	return ""
}
