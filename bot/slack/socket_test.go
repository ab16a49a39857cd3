package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack/socketmode"
)

// TestSocketModeDispatch: Socket Mode requests reach the handlers that
// HTTP uses, and their acks carry the same payloads.
func TestSocketModeDispatch(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	req := func(payload string) *socketmode.Request {
		return &socketmode.Request{EnvelopeID: "env-1", Payload: json.RawMessage(payload)}
	}

	// A slash command that opens a modal.
	payload, ack := e.a.socketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand,
		Request: req(`{"command":"/billing","text":"buy","team_id":"T1","user_id":"U1","trigger_id":"trig-sm","channel_id":"C1"}`)})
	if !ack || payload != nil {
		t.Errorf("slash command: ack %v payload %v, want an empty ack", ack, payload)
	}
	if _, trig := openedView(e.slack.waitFor("views.open")); trig != "trig-sm" {
		t.Errorf("trigger = %q", trig)
	}

	// A slash command answered with a message.
	payload, ack = e.a.socketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeSlashCommand,
		Request: req(`{"command":"/billing","text":"help","team_id":"T1","user_id":"U1"}`)})
	if doc, _ := json.Marshal(payload); !ack || !strings.Contains(string(doc), "blocks") {
		t.Errorf("help: ack %v payload %s", ack, doc)
	}

	// An interaction: a submission with rule breaks.
	sub := map[string]any{"type": "view_submission", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "U1"},
		"view": map[string]any{"id": "V9", "callback_id": "buy", "blocks": []any{map[string]any{"type": "input", "block_id": "licenses"}},
			"state": map[string]any{"values": map[string]any{"licenses": map[string]any{"licenses": map[string]any{"type": "number_input", "value": "0"}}}}}}
	payload, ack = e.a.socketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeInteractive, Request: req(mustJSON(t, sub))})
	if doc, _ := json.Marshal(payload); !ack || !strings.Contains(string(doc), `"response_action":"errors"`) {
		t.Errorf("submission: ack %v payload %s", ack, doc)
	}

	// An event: the App Home.
	_, ack = e.a.socketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeEventsAPI,
		Request: req(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"app_home_opened","user":"U1","tab":"home"}}`)})
	if !ack {
		t.Error("event not acknowledged")
	}
	e.slack.waitFor("views.publish")

	// Bad payloads are acknowledged (so that Slack does not resend them)
	// with nothing; connection events are not requests.
	for _, ev := range []socketmode.Event{
		{Type: socketmode.EventTypeSlashCommand, Request: req(`not json`)},
		{Type: socketmode.EventTypeInteractive, Request: req(`{"type":"nope","team":{"id":"T1"},"user":{"id":"U1"}}`)},
	} {
		if payload, ack := e.a.socketEvent(ctx, ev); !ack || payload != nil {
			t.Errorf("%s: ack %v payload %v", ev.Type, ack, payload)
		}
	}
	if _, ack := e.a.socketEvent(ctx, socketmode.Event{Type: socketmode.EventTypeConnected}); ack {
		t.Error("a connection event was acknowledged")
	}
}

// TestManifest: the manifest names the command with its usage, the
// endpoints, the App Home, the scopes, the install flow's redirect URL and
// the uninstall events. (No YAML parser is among the
// module's dependencies: the lines are checked as text.)
func TestManifest(t *testing.T) {
	e := newEnv(t)
	doc := Manifest(e.bot, "https://bot.example/")
	const endpoint = `"https://bot.example/slack/events"`
	for _, want := range []string{
		"\n  slash_commands:\n    - command: /billing\n      url: " + endpoint + "\n",
		"usage_hint: \"help | products [filter] | catalog | buy [product] [count] |",
		"\n    home_tab_enabled: true\n",
		"\n  event_subscriptions:\n    request_url: " + endpoint + "\n    bot_events:\n      - app_home_opened\n" +
			"      - app_uninstalled # the token is deleted\n      - tokens_revoked  # the same\n",
		"\n  redirect_urls:\n    - \"https://bot.example/slack/oauth/callback\" # the install flow (SLACK_CLIENT_ID)\n",
		"\n  org_deploy_enabled: true\n",
		"\n  interactivity:\n    is_enabled: true\n    request_url: " + endpoint + "\n",
		"\n  socket_mode_enabled: false\n",
		"\n      - commands ", "\n      - chat:write ", "\n      - im:write ", "\n      - users:read ", "\n      - channels:read ",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("manifest lacks %q:\n%s", want, doc)
		}
	}
	for i, line := range strings.Split(strings.TrimSpace(doc), "\n") {
		if strings.Contains(line, "\t") || (!strings.HasPrefix(strings.TrimSpace(line), "#") && !strings.Contains(line, ":") && !strings.HasPrefix(strings.TrimSpace(line), "- ")) {
			t.Errorf("line %d %q is not a YAML mapping or list entry", i+1, line)
		}
	}
}
