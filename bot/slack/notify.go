package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// Owns reports whether org is a Slack workspace ("slack-" + team id).
func (a *Adapter) Owns(org string) bool {
	return strings.HasPrefix(org, orgPrefix) && len(org) > len(orgPrefix)
}

// noteEvent is the metadata event type of notification messages: on a
// redelivery the adapter looks for a message of its key in the
// conversation's history before posting it again.
const noteEvent = "billingbot_notification"

// Notify delivers a notification: to its user by direct message, or to
// the organization's admin channel (Settings.AdminChannel, else
// Config.AdminChannel), else to each admin by direct message. Each
// destination gets it once: a destination it reached is marked in the
// store, and on a redelivery one that is marked, or whose history shows
// the message (its metadata carries the key), is skipped.
func (a *Adapter) Notify(ctx context.Context, n commands.Notification) error {
	if !a.Owns(n.Org) {
		return fmt.Errorf("slack: notify: %q is not a Slack workspace: %w", n.Org, commands.ErrPermanent)
	}
	if n.To != "" {
		return deliveryErr(a.notifyUser(ctx, n, n.To))
	}
	return a.notifyAdmins(ctx, n, strings.TrimPrefix(n.Org, orgPrefix))
}

// notifyUser sends a notification to one user, in their language: their
// own choice, else their Slack locale, else the organization's.
func (a *Adapter) notifyUser(ctx context.Context, n commands.Notification, user string) error {
	locale := ""
	if u, err := a.user(ctx, n.Org, user); err == nil {
		locale = u.Locale
	}
	lang, err := a.bot.NotificationLang(ctx, n.Org, user, locale)
	if err != nil {
		return fmt.Errorf("slack: notify %s: language: %w", n.Org, err)
	}
	ch, err := a.imChannel(ctx, n.Org, user)
	if err != nil {
		return err
	}
	return a.send(ctx, n, "dm:"+user, ch, lang)
}

// send posts a notification to a conversation unless it got it before.
func (a *Adapter) send(ctx context.Context, n commands.Notification, dest, channel, lang string) error {
	if n.Redelivery {
		if ok, err := a.st.Delivered(ctx, n.Org, n.Key, dest); err != nil || ok {
			return err
		}
		ok, err := a.shown(ctx, channel, n)
		switch {
		case err != nil && !errors.Is(deliveryErr(err), commands.ErrPermanent):
			return err
		case err != nil:
			// No history to ask (a public channel the bot has not joined, or
			// an app without the history scopes): post, at the risk of a
			// second copy.
			a.log.Warn("cannot tell whether a notification arrived before; posting it", "org", n.Org, "err", err)
		case ok:
			return a.st.MarkDelivered(ctx, n.Org, n.Key, dest)
		}
	}
	m := a.bot.RenderNotification(n, lang)
	err := slackErr("chat.postMessage", a.call(ctx, n.Org, func(api *slackapi.Client) error {
		_, _, err := api.PostMessageContext(ctx, channel, slackapi.MsgOptionText(fallback(m), false),
			slackapi.MsgOptionBlocks(messageBlocks(m, 0)...),
			slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: noteEvent, EventPayload: map[string]any{"key": n.Key}}))
		return err
	}))
	if err != nil {
		return err
	}
	if err := a.st.MarkDelivered(ctx, n.Org, n.Key, dest); err != nil {
		// Delivered all the same; only a redelivery would need the mark.
		a.log.Warn("remember notification", "org", n.Org, "err", err)
	}
	return nil
}

// shown reports whether the conversation's history since shortly before
// the change holds the notification's message.
func (a *Adapter) shown(ctx context.Context, channel string, n commands.Notification) (bool, error) {
	p := &slackapi.GetConversationHistoryParameters{ChannelID: channel, Limit: 200, IncludeAllMetadata: true,
		Oldest: strconv.FormatInt(n.At.Add(-time.Minute).Unix(), 10) + ".000000"}
	for page := 0; page < 10; page++ {
		var h *slackapi.GetConversationHistoryResponse
		err := a.call(ctx, n.Org, func(api *slackapi.Client) error {
			var err error
			h, err = api.GetConversationHistoryContext(ctx, p)
			return err
		})
		if err != nil {
			return false, slackErr("conversations.history", err)
		}
		for _, m := range h.Messages {
			if m.Metadata.EventType == noteEvent && m.Metadata.EventPayload["key"] == n.Key {
				return true, nil
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			break
		}
		p.Cursor = h.ResponseMetaData.NextCursor
	}
	return false, nil
}

// notifyAdmins posts to the admin channel, or DMs the admins when there is
// none or it cannot be reached. A channel that fails for now (a 5xx) is
// tried again later rather than replaced by DMs.
func (a *Adapter) notifyAdmins(ctx context.Context, n commands.Notification, team string) error {
	var tried []string
	var chErrs []error
	for _, ch := range a.adminChannels(ctx, n.Org) {
		id, err := a.channelID(ctx, n.Org, ch)
		if err == nil {
			// In the organization's language, for everyone in the channel.
			var lang string
			if lang, err = a.bot.NotificationLang(ctx, n.Org, "", ""); err != nil {
				return fmt.Errorf("slack: notify %s: language: %w", n.Org, err)
			}
			err = a.send(ctx, n, "channel:"+id, id, lang)
		}
		if err == nil {
			return nil
		}
		if err = deliveryErr(err); !errors.Is(err, commands.ErrPermanent) {
			return err
		}
		a.log.Warn("admin channel", "org", n.Org, "channel", ch, "err", err)
		tried = append(tried, ch)
		chErrs = append(chErrs, err)
	}
	admins, err := a.admins(ctx, n.Org, team)
	if err != nil {
		return deliveryErr(err)
	}
	if len(admins) == 0 {
		return errors.Join(append(chErrs, fmt.Errorf("slack: notify %s: no admin channel (tried %q) and no admins: %w", n.Org, tried, commands.ErrPermanent))...)
	}
	errs := make([]error, len(admins))
	for i, u := range admins {
		errs[i] = deliveryErr(a.notifyUser(ctx, n, u))
	}
	err, lost := commands.Deliveries(errs)
	if lost != nil {
		a.log.Warn("some admins cannot get direct messages", "org", n.Org, "err", lost)
	}
	return err
}

// deliveryErr says what a failed Slack call means for the outbox: a rate
// limit to wait out, a failure that retrying cannot mend (an error code
// such as channel_not_found or missing_scope, a 4xx), or one worth trying
// again (a 5xx, a timeout, a network error).
func deliveryErr(err error) error {
	var rl *slackapi.RateLimitedError
	var sc slackapi.StatusCodeError
	var se slackapi.SlackErrorResponse
	switch {
	case err == nil, errors.Is(err, commands.ErrPermanent):
		return err
	case errors.As(err, &rl):
		return &commands.RateLimitedError{Wait: rl.RetryAfter, Err: err}
	case errors.As(err, &sc):
		if sc.Code >= 500 || sc.Code == http.StatusRequestTimeout {
			return err
		}
	case errors.As(err, &se):
		switch se.Err {
		case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited", "team_added_to_org":
			return err
		}
	default:
		return err
	}
	return fmt.Errorf("%w: %w", commands.ErrPermanent, err)
}

// adminChannels are the channels to try, in order: the organization's
// setting, then the deployment's default.
func (a *Adapter) adminChannels(ctx context.Context, org string) []string {
	var out []string
	if ch, err := a.bot.AdminChannel(ctx, org); err != nil {
		a.log.Warn("settings", "org", org, "err", err)
	} else if ch != "" {
		out = append(out, ch)
	}
	if ch := strings.TrimSpace(a.cfg.AdminChannel); ch != "" && (len(out) == 0 || out[0] != ch) {
		out = append(out, ch)
	}
	return out
}

var (
	channelMention = regexp.MustCompile(`^<#([CGD][A-Z0-9]{2,30})(?:\|[^>]*)?>$`)
	channelIDRe    = regexp.MustCompile(`^[CGD][A-Z0-9]{2,30}$`)
	channelNameRe  = regexp.MustCompile(`^#?([a-z0-9][a-z0-9_\-.]{0,79})$`)
)

// parseChannel reads a channel as an admin typed it: "<#C123|billing>",
// "<#C123>", "C123", "#billing" or "billing". It returns the id, or the
// name to look up.
func parseChannel(s string) (id, name string) {
	s = strings.TrimSpace(s)
	if m := channelMention.FindStringSubmatch(s); m != nil {
		return m[1], ""
	}
	if channelIDRe.MatchString(s) {
		return s, ""
	}
	if m := channelNameRe.FindStringSubmatch(strings.ToLower(s)); m != nil {
		return "", m[1]
	}
	return "", ""
}

// channelID resolves an admin channel to its id, looking a name up with
// conversations.list (cached).
func (a *Adapter) channelID(ctx context.Context, org, ch string) (string, error) {
	id, name := parseChannel(ch)
	if id != "" {
		return id, nil
	}
	if name == "" {
		return "", fmt.Errorf("slack: %q is not a channel: %w", ch, commands.ErrPermanent)
	}
	key := "channel:" + name
	if v, ok, err := a.st.CacheGet(ctx, org, key); err == nil && ok {
		return v, nil
	}
	cursor := ""
	for page := 0; page < 20; page++ {
		var chans []slackapi.Channel
		var next string
		err := a.call(ctx, org, func(api *slackapi.Client) error {
			var err error
			chans, next, err = api.GetConversationsContext(ctx, &slackapi.GetConversationsParameters{
				Cursor: cursor, ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel", "private_channel"},
				TeamID: workspaceOf(org)})
			return err
		})
		if err != nil {
			return "", slackErr("conversations.list", err)
		}
		for _, c := range chans {
			if c.Name == name {
				if err := a.st.CachePut(ctx, org, key, c.ID, time.Hour); err != nil {
					a.log.Warn("cache channel", "org", org, "err", err)
				}
				return c.ID, nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return "", fmt.Errorf("slack: no channel named #%s that the app can see: %w", name, commands.ErrPermanent)
}

// admins lists the workspace's admins and owners (humans, not
// deactivated) and the deployment's extra admins.
func (a *Adapter) admins(ctx context.Context, org, team string) ([]string, error) {
	var users []slackapi.User
	err := a.call(ctx, org, func(api *slackapi.Client) error {
		var err error
		users, err = api.GetUsersContext(ctx, usersOf(team)...)
		return err
	})
	if err != nil {
		return nil, slackErr("users.list", err)
	}
	var out []string
	seen := map[string]bool{}
	for _, u := range users {
		if (u.IsAdmin || u.IsOwner || u.IsPrimaryOwner) && !u.IsBot && !u.Deleted && (u.TeamID == "" || u.TeamID == team) {
			out, seen[u.ID] = append(out, u.ID), true
		}
	}
	for _, id := range a.cfg.Admins {
		if !seen[id] && isUserID(id) {
			out, seen[id] = append(out, id), true
		}
	}
	return out, nil
}

// retry calls f again while Slack rate-limits it, waiting Retry-After
// (bounded by rateWait), at most three times.
func (a *Adapter) retry(ctx context.Context, f func() error) error {
	for attempt := 0; ; attempt++ {
		err := f()
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) || attempt == 3 {
			return err
		}
		wait := min(max(rl.RetryAfter, 100*time.Millisecond), a.rateWait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// workspaceOf is the workspace (team id) of an organization that is one,
// else "" (an enterprise's, SLACK_ENTERPRISE_ORG=enterprise): the team_id
// that users.list and conversations.list need with the token of an
// Enterprise Grid org-wide install, which serves many workspaces.
func workspaceOf(org string) string {
	if team := strings.TrimPrefix(org, orgPrefix); strings.HasPrefix(team, "T") {
		return team
	}
	return ""
}

// usersOf are the options of users.list for the users of team (a
// workspace's, or "": the token's).
func usersOf(team string) []slackapi.GetUsersOption {
	opts := []slackapi.GetUsersOption{slackapi.GetUsersOptionLimit(200)}
	if strings.HasPrefix(team, "T") {
		opts = append(opts, slackapi.GetUsersOptionTeamID(team))
	}
	return opts
}
