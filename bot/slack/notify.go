package slack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// Owns reports whether org is a Slack workspace ("slack-" + team id).
func (a *Adapter) Owns(org string) bool {
	return strings.HasPrefix(org, orgPrefix) && len(org) > len(orgPrefix)
}

// noteTTL is how long a delivered notification's key is remembered.
const noteTTL = 7 * 24 * time.Hour

// Notify delivers a notification: to its user by direct message, or to
// the organization's admin channel (Settings.AdminChannel, else
// Config.AdminChannel), else to each admin by direct message. A
// notification whose key was delivered before is not sent again.
func (a *Adapter) Notify(ctx context.Context, n commands.Notification) error {
	if !a.Owns(n.Org) {
		return fmt.Errorf("slack: notify: %q is not a Slack workspace", n.Org)
	}
	team := strings.TrimPrefix(n.Org, orgPrefix)
	seenKey := ""
	if n.Key != "" {
		sum := sha256.Sum256([]byte(n.Key))
		seenKey = "note:" + hex.EncodeToString(sum[:16])
		if _, ok, err := a.st.CacheGet(ctx, n.Org, seenKey); err == nil && ok {
			return nil
		}
	}
	var err error
	switch {
	case n.To != "":
		err = a.notifyUser(ctx, n, n.To)
	default:
		err = a.notifyAdmins(ctx, n, team)
	}
	if err == nil && seenKey != "" {
		if err := a.st.CachePut(ctx, n.Org, seenKey, "1", noteTTL); err != nil {
			a.log.Warn("remember notification", "org", n.Org, "err", err)
		}
	}
	return err
}

// notifyUser sends a notification to one user, in their language.
func (a *Adapter) notifyUser(ctx context.Context, n commands.Notification, user string) error {
	lang := "en"
	if u, err := a.user(ctx, n.Org, user); err == nil && strings.HasPrefix(strings.ToLower(u.Locale), "de") {
		lang = "de"
	}
	return a.dm(ctx, user, a.noteMsg(n, lang)...)
}

func (a *Adapter) noteMsg(n commands.Notification, lang string) []slackapi.MsgOption {
	m := a.bot.RenderNotification(n, lang)
	return []slackapi.MsgOption{slackapi.MsgOptionText(fallback(m), false), slackapi.MsgOptionBlocks(messageBlocks(m, 0)...)}
}

// notifyAdmins posts to the admin channel, or DMs the admins when there is
// none or it cannot be reached.
func (a *Adapter) notifyAdmins(ctx context.Context, n commands.Notification, team string) error {
	var tried []string
	var errs []error
	for _, ch := range a.adminChannels(ctx, n.Org) {
		id, err := a.channelID(ctx, n.Org, ch)
		if err == nil {
			err = slackErr("chat.postMessage", a.retry(ctx, func() error {
				_, _, err := a.api.PostMessageContext(ctx, id, a.noteMsg(n, "en")...)
				return err
			}))
		}
		if err == nil {
			return nil
		}
		a.log.Warn("admin channel", "org", n.Org, "channel", ch, "err", err)
		tried = append(tried, ch)
		errs = append(errs, err)
	}
	admins, err := a.admins(ctx, n.Org, team)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if len(admins) == 0 {
		return errors.Join(append(errs, fmt.Errorf("slack: notify %s: no admin channel (tried %q) and no admins", n.Org, tried))...)
	}
	var dmErrs []error
	for _, u := range admins {
		if err := a.notifyUser(ctx, n, u); err != nil {
			dmErrs = append(dmErrs, err)
		}
	}
	if len(dmErrs) == len(admins) {
		return errors.Join(dmErrs...)
	}
	return nil
}

// adminChannels are the channels to try, in order: the organization's
// setting, then the deployment's default.
func (a *Adapter) adminChannels(ctx context.Context, org string) []string {
	var out []string
	if s, err := a.st.Settings(ctx, org); err != nil {
		a.log.Warn("settings", "org", org, "err", err)
	} else if ch := strings.TrimSpace(s.AdminChannel); ch != "" {
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
		return "", fmt.Errorf("slack: %q is not a channel", ch)
	}
	key := "channel:" + name
	if v, ok, err := a.st.CacheGet(ctx, org, key); err == nil && ok {
		return v, nil
	}
	cursor := ""
	for page := 0; page < 20; page++ {
		var chans []slackapi.Channel
		var next string
		err := a.retry(ctx, func() error {
			var err error
			chans, next, err = a.api.GetConversationsContext(ctx, &slackapi.GetConversationsParameters{
				Cursor: cursor, ExcludeArchived: true, Limit: 1000, Types: []string{"public_channel", "private_channel"}})
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
	return "", fmt.Errorf("slack: no channel named #%s that the app can see", name)
}

// admins lists the workspace's admins and owners (humans, not
// deactivated) and the deployment's extra admins.
func (a *Adapter) admins(ctx context.Context, org, team string) ([]string, error) {
	var users []slackapi.User
	err := a.retry(ctx, func() error {
		var err error
		users, err = a.api.GetUsersContext(ctx, slackapi.GetUsersOptionLimit(200))
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
