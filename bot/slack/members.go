package slack

import (
	"context"
	"net/http"

	"github.com/billingbot/billingbot/bot/internal/payload"
)

// memberEvent is a user_change or team_join event: its user is an
// object, not the id other events carry.
type memberEvent struct {
	TeamID         string `json:"team_id"`
	EnterpriseID   string `json:"enterprise_id"`
	Authorizations []struct {
		IsEnterpriseInstall bool `json:"is_enterprise_install"`
	} `json:"authorizations"`
	Event struct {
		Type string `json:"type"`
		User struct {
			ID      string `json:"id"`
			Deleted bool   `json:"deleted"`
			IsBot   bool   `json:"is_bot"`
		} `json:"user"`
	} `json:"event"`
}

// onMemberEvent answers user_change and team_join events, and reports
// whether raw was one: a deactivated account (user_change with deleted)
// has left the workspace, and the core hands over what they bought; one
// active again (user_change without deleted, team_join) is back. The
// core's change is idempotent; when it fails, Slack is answered 500 and
// sends the event again.
func (a *Adapter) onMemberEvent(ctx context.Context, raw []byte) (reply, bool) {
	var ev memberEvent
	if err := payload.Unmarshal(raw, &ev); err != nil ||
		(ev.Event.Type != "user_change" && ev.Event.Type != "team_join") {
		return reply{}, false
	}
	u := ev.Event.User
	if u.ID == "" || ev.TeamID == "" || u.IsBot {
		return ok200, true
	}
	orgWide := len(ev.Authorizations) > 0 && ev.Authorizations[0].IsEnterpriseInstall
	o := origin{team: ev.TeamID, user: u.ID, enterprise: ev.EnterpriseID, orgWide: orgWide, byEnterprise: a.cfg.EnterpriseOrg}
	if !a.installed(ctx, o) {
		return ok200, true
	}
	change, what := a.bot.MemberBack, "member back"
	if ev.Event.Type == "user_change" && u.Deleted {
		change, what = a.bot.MemberLeft, "member left"
	}
	if err := change(ctx, o.org(), u.ID); err != nil {
		a.log.Error(what, "org", o.org(), "user", clip(u.ID, 64), "err", err)
		return reply{status: http.StatusInternalServerError}, true
	}
	return ok200, true
}
