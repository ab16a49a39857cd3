package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// slashCommand is what Slack sends for "/billing …": form fields over HTTP,
// the same keys as JSON over Socket Mode.
type slashCommand struct {
	Command     string `json:"command"`
	Text        string `json:"text"`
	TeamID      string `json:"team_id"`
	TeamDomain  string `json:"team_domain"`
	UserID      string `json:"user_id"`
	UserName    string `json:"user_name"`
	ChannelID   string `json:"channel_id"`
	ResponseURL string `json:"response_url"`
	TriggerID   string `json:"trigger_id"`

	EnterpriseID        string `json:"enterprise_id"`
	IsEnterpriseInstall bool   `json:"is_enterprise_install"`
}

func slashFromForm(v url.Values) slashCommand {
	return slashCommand{Command: v.Get("command"), Text: v.Get("text"), TeamID: v.Get("team_id"),
		TeamDomain: v.Get("team_domain"), UserID: v.Get("user_id"), UserName: v.Get("user_name"), ChannelID: v.Get("channel_id"),
		ResponseURL: v.Get("response_url"), TriggerID: v.Get("trigger_id"),
		EnterpriseID: v.Get("enterprise_id"), IsEnterpriseInstall: v.Get("is_enterprise_install") == "true"}
}

// onCommand answers a slash command within Slack's 3 seconds: a modal opens
// at once with the command's trigger id; a message is the HTTP answer when
// the core is quick, else it follows through response_url.
func (a *Adapter) onCommand(ctx context.Context, sc slashCommand) reply {
	if sc.TeamID == "" || sc.UserID == "" {
		return bad("missing team or user")
	}
	o := origin{team: sc.TeamID, teamName: sc.TeamDomain, user: sc.UserID, userName: sc.UserName, channel: sc.ChannelID,
		responseURL: sc.ResponseURL, triggerID: sc.TriggerID,
		enterprise: sc.EnterpriseID, orgWide: sc.IsEnterpriseInstall, byEnterprise: a.cfg.EnterpriseOrg}
	o.responseURL = a.hook(o)
	if !a.installed(ctx, o) {
		return a.notInstalled()
	}
	run := func(ctx context.Context) commands.Response {
		req := a.request(ctx, o)
		req.Text, req.Command = sc.Text, sc.Command // the app's command as the user typed it
		req.IdempotencyKey = sc.TriggerID
		return a.handle(ctx, req)
	}
	resp, inTime, later := a.within(ctx, o, run)
	if !inTime {
		a.background(ctx, func(ctx context.Context) { a.answer(ctx, o, <-later, sc.Text) })
		return ok200
	}
	if resp.Form == nil && len(resp.Messages) > 0 {
		posts := messagePosts(resp.Messages, maxMessageBlocks)
		if len(posts) == 1 {
			if doc, err := posts[0].webhookJSON(); err == nil {
				return reply{body: json.RawMessage(doc)}
			}
		}
	}
	a.background(ctx, func(ctx context.Context) { a.answer(ctx, o, resp, sc.Text) })
	return ok200
}

// answer delivers a response to the user after the acknowledgement: it
// opens its form with the origin's trigger id and posts its messages where
// the request came from. line is the command line that asked for it, for a
// button that opens the form again when the trigger id has expired.
func (a *Adapter) answer(ctx context.Context, o origin, resp commands.Response, line string) {
	msgs := resp.Messages
	if resp.Form != nil {
		err := a.openModal(ctx, o.org(), o.triggerID, resp.Form, metadata{Channel: o.channel, ResponseURL: o.responseURL}, resp.Lang)
		if err != nil {
			a.log.Warn("open modal", "form", resp.Form.ID, "err", err)
			m := commands.Message{Text: a.bot.Text(resp.Lang, "SlackModalFailed")}
			if line != "" {
				m.Buttons = []commands.Button{{Label: a.bot.Text(resp.Lang, "SlackOpenForm"), Command: line, Style: commands.StylePrimary}}
			}
			msgs = append(msgs, m)
		}
	}
	a.post(ctx, o, msgs)
}

// post shows messages to the origin's user: through response_url when
// there is one, else ephemeral in the channel, else in a direct message.
func (a *Adapter) post(ctx context.Context, o origin, msgs []commands.Message) {
	for _, p := range messagePosts(msgs, maxMessageBlocks) {
		if err := a.postOne(ctx, o, p); err != nil {
			a.log.Error("post answer", "org", o.org(), "user", o.user, "err", err)
		}
	}
}

func (a *Adapter) postOne(ctx context.Context, o origin, p post) error {
	if o.responseURL != "" && a.responseURLAllowed(o.responseURL) {
		doc, err := p.webhookJSON()
		if err == nil {
			err = a.retry(ctx, func() error { return postWebhook(ctx, a.http, o.responseURL, doc) })
		}
		if err == nil {
			return nil
		}
		a.log.Warn("response_url", "err", err)
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(p.text, false), slackapi.MsgOptionBlocks(p.blocks...)}
	if o.channel != "" && !p.public {
		err := a.call(ctx, o.org(), func(api *slackapi.Client) error {
			_, err := api.PostEphemeralContext(ctx, o.channel, o.user, opts...)
			return err
		})
		if err == nil {
			return nil
		}
		a.log.Warn("chat.postEphemeral", "err", err)
	}
	return a.dm(ctx, o.org(), o.user, opts...)
}

// dm posts a direct message to a user of an organization.
func (a *Adapter) dm(ctx context.Context, org, user string, opts ...slackapi.MsgOption) error {
	ch, err := a.imChannel(ctx, org, user)
	if err != nil {
		return err
	}
	return slackErr("chat.postMessage", a.call(ctx, org, func(api *slackapi.Client) error {
		_, _, err := api.PostMessageContext(ctx, ch, opts...)
		return err
	}))
}

// postWebhook posts a message's JSON to a response_url, as slack-go's
// PostWebhookCustomHTTPContext does (the same request, the same errors:
// *slackapi.RateLimitedError on 429 with Retry-After, else
// slackapi.StatusCodeError unless 200), from JSON encoded once for all
// tries.
func postWebhook(ctx context.Context, client *http.Client, url string, doc []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("failed new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("failed to post webhook: %w", err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}()
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
		secs, err := strconv.ParseInt(resp.Header.Get("Retry-After"), 10, 64)
		if err != nil {
			return err
		}
		return &slackapi.RateLimitedError{RetryAfter: time.Duration(secs) * time.Second}
	}
	if resp.StatusCode != http.StatusOK {
		return slackapi.StatusCodeError{Code: resp.StatusCode, Status: resp.Status}
	}
	return nil
}

// imChannel opens (or finds) the direct message conversation with a user.
func (a *Adapter) imChannel(ctx context.Context, org, user string) (string, error) {
	var ch string
	err := a.call(ctx, org, func(api *slackapi.Client) error {
		c, _, _, err := api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
		if err == nil {
			ch = c.ID
		}
		return err
	})
	return ch, slackErr("conversations.open", err)
}

// slackHooksHost is the host of the response_urls Slack sends.
const slackHooksHost = "hooks.slack.com"

// responseURLAllowed reports whether an answer may be posted to a
// response_url: https on Slack's hooks host, or a host the deployment
// allows (Config.ResponseURLHosts, SLACK_API_URL's host). A response_url
// comes in a request (or a modal's metadata) and is posted to without the
// bot's token, but from inside the deployment's network: any other host,
// loopback or internal, is never asked.
func (a *Adapter) responseURLAllowed(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || strings.ContainsAny(s, " \n") ||
		u.Scheme != "https" && u.Scheme != "http" {
		return false
	}
	host := strings.ToLower(u.Host)
	if host == slackHooksHost && u.Scheme == "https" {
		return true
	}
	return a.hookHosts[host]
}

// hook is the response_url of a request if answers may be posted to it
// (responseURLAllowed), else "": then answers go ephemeral in the channel,
// or by direct message. A refused one is logged by its host only: its
// path holds a token.
func (a *Adapter) hook(o origin) string {
	if o.responseURL == "" || a.responseURLAllowed(o.responseURL) {
		return o.responseURL
	}
	host := "(unparsable)"
	if u, err := url.Parse(o.responseURL); err == nil {
		host = u.Host
	}
	a.log.Warn("response_url refused: not Slack's", "org", o.org(), "user", o.user, "host", host)
	return ""
}
