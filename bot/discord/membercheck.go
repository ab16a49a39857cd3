package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands"
)

var _ commands.MemberChecker = (*Adapter)(nil)

// unknownMember is Discord's error code for a user who is not a member of
// the guild (Unknown Member); an unknown guild (the bot was removed) is
// another, and says nothing about the member.
const unknownMember = 10007

// IsMember asks Discord whether user is a member of the guild of org
// (GET /guilds/{guild}/members/{user}): no when it answers Unknown Member.
// Rate limits are waited out (rest.do); a user or guild that is not a
// Discord id is taken for a member: nobody is handed over on a doubt.
func (a *Adapter) IsMember(ctx context.Context, org, user string) (bool, error) {
	guild := strings.TrimPrefix(org, orgPrefix)
	if !a.Owns(org) || !snowflakeID(guild) || !snowflakeID(user) {
		return true, nil
	}
	err := a.rest.do(ctx, http.MethodGet, "/guilds/"+guild+"/members/"+user, nil, nil, true)
	var apiErr *apiError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		var body struct {
			Code int `json:"code"`
		}
		if json.Unmarshal([]byte(apiErr.Body), &body) == nil && body.Code == unknownMember {
			return false, nil
		}
	}
	return err == nil, err
}

// RunMemberChecks has the bot check, daily, whether the people who
// bought or hold subscriptions in the application's guilds are still
// members (commands.MemberChecker), until ctx ends: for the
// interactions endpoint, and the gateway without member events. Every
// replica may run it: each guild's check is one job a day.
func (a *Adapter) RunMemberChecks(ctx context.Context) error {
	if a.cfg.BotToken == "" {
		a.log.Warn("discord: no DISCORD_BOT_TOKEN: members who leave are not noticed")
		return nil
	}
	a.bot.AddMemberChecker(a)
	for {
		if err := a.scheduleMemberChecks(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("discord: schedule member checks", "err", err)
		}
		if sleep(ctx, 24*time.Hour) != nil {
			return nil
		}
	}
}

// scheduleMemberChecks schedules the next member check of every guild
// the application is in.
func (a *Adapter) scheduleMemberChecks(ctx context.Context) error {
	var errs []error
	for after := ""; ; {
		var guilds []struct {
			ID string `json:"id"`
		}
		q := url.Values{"limit": {"200"}}
		if after != "" {
			q.Set("after", after)
		}
		if err := a.rest.do(ctx, http.MethodGet, "/users/@me/guilds?"+q.Encode(), nil, &guilds, true); err != nil {
			return errors.Join(append(errs, err)...)
		}
		for _, g := range guilds {
			if !snowflakeID(g.ID) {
				continue
			}
			if err := a.bot.ScheduleMemberCheck(ctx, orgPrefix+g.ID); err != nil {
				errs = append(errs, fmt.Errorf("guild %s: %w", g.ID, err))
			}
			after = g.ID
		}
		if len(guilds) < 200 {
			return errors.Join(errs...)
		}
	}
}
