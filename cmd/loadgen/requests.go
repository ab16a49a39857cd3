package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The request kinds the generator sends.
const (
	kindSlackCommand   = "slack-command"   // "/billing products", form-encoded
	kindSlackSubmit    = "slack-submit"    // view_submission of the invoices range form (6m), the whole view as Slack sends it
	kindDiscordCommand = "discord-command" // chat-input interaction "/billing products"
)

var allKinds = []string{kindSlackCommand, kindSlackSubmit, kindDiscordCommand}

// parseMix reads "-mix": kinds separated by commas, each optionally with a
// weight ("slack-command:2"). The result lists each kind as often as its
// weight, interleaved, so that a worker cycling through it keeps the ratio.
func parseMix(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w, hasW := strings.Cut(part, ":")
		weight := 1
		if hasW {
			n, err := strconv.Atoi(w)
			if err != nil || n < 1 || n > 100 {
				return nil, fmt.Errorf("mix %q: weight must be 1…100", part)
			}
			weight = n
		}
		known := false
		for _, k := range allKinds {
			known = known || k == name
		}
		if !known {
			return nil, fmt.Errorf("mix: unknown kind %q (want %s)", name, strings.Join(allKinds, ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("mix: %q given twice", name)
		}
		seen[name] = true
		for range weight {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("mix: no request kind")
	}
	return out, nil
}

// signer builds correctly signed requests of every kind.
type signer struct {
	base        string // the target's base URL, without a trailing slash
	slackSecret []byte
	discordKey  ed25519.PrivateKey // nil: Discord requests cannot be sent
	hookURL     string             // response_url given to Slack requests ("" for none)
	teams       int                // organizations per platform
	users       int                // virtual users per organization
	now         func() time.Time
}

// discordKeyFromHex reads an Ed25519 private key: a 32-byte seed or the
// 64-byte seed+public form, as hex.
func discordKeyFromHex(s string) (ed25519.PrivateKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("discord key: not hex: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !bytes.Equal(k, b) {
			return nil, errors.New("discord key: the 64-byte form's public half does not match its seed")
		}
		return k, nil
	}
	return nil, fmt.Errorf("discord key: want %d (seed) or %d bytes of hex, got %d", ed25519.SeedSize, ed25519.PrivateKeySize, len(b))
}

// slackSignature is Slack's request signature of body at ts.
func slackSignature(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// who is the virtual user and organization of request number n.
func (s *signer) who(n int64) (team, user int) {
	team = int(n % int64(s.teams))
	user = int((n / int64(s.teams)) % int64(s.users))
	return team, user
}

// build makes request number n (n makes ids unique within a run) of a kind.
func (s *signer) build(kind string, n int64, run string) (*http.Request, error) {
	team, user := s.who(n)
	switch kind {
	case kindSlackCommand:
		trig := fmt.Sprintf("%s.%d.trig", run, n)
		v := url.Values{"command": {"/billing"}, "text": {"products"},
			"team_id": {fmt.Sprintf("TLOAD%04d", team)}, "team_domain": {"load"},
			"user_id": {fmt.Sprintf("ULOAD%06d", user)}, "user_name": {fmt.Sprintf("user%d", user)},
			"channel_id": {"CLOAD0001"}, "trigger_id": {trig}}
		if s.hookURL != "" {
			v.Set("response_url", s.hookURL+"/cmd/"+trig)
		}
		return s.slack("application/x-www-form-urlencoded", []byte(v.Encode()))
	case kindSlackSubmit:
		meta := map[string]string{"ch": "CLOAD0001"}
		if s.hookURL != "" {
			meta["ru"] = fmt.Sprintf("%s/submit/%s.%d", s.hookURL, run, n)
		}
		metaDoc, _ := json.Marshal(meta)
		uid := fmt.Sprintf("ULOAD%06d", user)
		tid := fmt.Sprintf("TLOAD%04d", team)
		viewID := fmt.Sprintf("V%s%d", run, n)
		option := func(label, value string) map[string]any {
			return map[string]any{"text": plainText(label), "value": value}
		}
		// The whole view, as Slack sends it back: the blocks billingbot
		// rendered (the English invoices range form), Slack's own fields
		// and the state of the inputs.
		payload := map[string]any{
			"type": "view_submission", "api_app_id": "ALOAD", "token": "loadgenverificationtokn0",
			"trigger_id": fmt.Sprintf("%s.%d.trig", run, n), "is_enterprise_install": false, "enterprise": nil,
			"team": map[string]any{"id": tid, "domain": "load"},
			"user": map[string]any{"id": uid, "team_id": tid, "name": fmt.Sprintf("user%d", user), "username": fmt.Sprintf("user%d", user)},
			"view": map[string]any{
				"id": viewID, "team_id": tid, "type": "modal", "callback_id": "invoices",
				"private_metadata": string(metaDoc), "external_id": "", "hash": fmt.Sprintf("%d.%s", n, run),
				"title": plainText("Invoices"), "close": plainText("Close"), "submit": plainText("Show"),
				"clear_on_close": false, "notify_on_close": false, "previous_view_id": nil, "root_view_id": viewID,
				"app_id": "ALOAD", "app_installed_team_id": tid, "bot_id": "BLOAD",
				"blocks": []any{
					map[string]any{"type": "input", "block_id": "range", "label": plainText("Date range"), "optional": false,
						"dispatch_action": false, "element": map[string]any{"type": "static_select", "action_id": "range",
							"placeholder": plainText("Choose…"),
							"options": []any{option("Last 3 months", "3m"), option("Last 6 months", "6m"),
								option("Specify a date range", "custom")},
							"initial_option": option("Last 3 months", "3m")}},
					map[string]any{"type": "input", "block_id": "from", "label": plainText("From"), "optional": true,
						"dispatch_action": false, "hint": plainText("YYYY-MM-DD"),
						"element": map[string]any{"type": "datepicker", "action_id": "from"}},
					map[string]any{"type": "input", "block_id": "to", "label": plainText("To"), "optional": true,
						"dispatch_action": false, "hint": plainText("YYYY-MM-DD"),
						"element": map[string]any{"type": "datepicker", "action_id": "to"}},
				},
				"state": map[string]any{"values": map[string]any{
					"range": map[string]any{"range": map[string]any{"type": "static_select",
						"selected_option": option("Last 6 months", "6m")}},
					"from": map[string]any{"from": map[string]any{"type": "datepicker", "selected_date": nil}},
					"to":   map[string]any{"to": map[string]any{"type": "datepicker", "selected_date": nil}},
				}},
			},
			"response_urls": []any{},
		}
		doc, err := json.Marshal(payload)
		if err != nil {
			return nil, err
		}
		return s.slack("application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(doc)}}.Encode()))
	case kindDiscordCommand:
		if s.discordKey == nil {
			return nil, errors.New("discord-command needs -discord-key")
		}
		id := fmt.Sprint(700000000000000000 + n%100000000000000000)
		uid := fmt.Sprint(200000000000000000 + user)
		guild := fmt.Sprint(100000000000000000 + team)
		// The fields Discord sends with a slash command in a guild.
		in := map[string]any{
			"id": id, "application_id": "1", "type": 2, "token": "tok" + run + id, "version": 1,
			"guild_id": guild, "channel_id": "400000000000000000",
			"locale": "en-US", "guild_locale": "en-US", "app_permissions": "562949953601536",
			"entitlements": []any{}, "authorizing_integration_owners": map[string]any{"0": guild}, "context": 0,
			"attachment_size_limit": 10485760,
			"guild":                 map[string]any{"id": guild, "locale": "en-US", "features": []any{}},
			"channel": map[string]any{"id": "400000000000000000", "type": 0, "guild_id": guild, "name": "general",
				"position": 0, "parent_id": "400000000000000001", "topic": nil, "nsfw": false, "flags": 0,
				"rate_limit_per_user": 0, "last_message_id": "400000000000000002", "permissions": "2248473465835073"},
			"member": map[string]any{
				"user": map[string]any{"id": uid, "username": fmt.Sprintf("user%d", user), "global_name": fmt.Sprintf("User %d", user),
					"discriminator": "0", "avatar": nil, "public_flags": 0, "avatar_decoration_data": nil, "clan": nil},
				"roles": []any{}, "joined_at": "2025-01-01T00:00:00.000000+00:00", "nick": nil, "avatar": nil,
				"premium_since": nil, "deaf": false, "mute": false, "pending": false, "flags": 0,
				"communication_disabled_until": nil, "unusual_dm_activity_until": nil, "permissions": "2248473465835073"},
			"data": map[string]any{"id": "1", "name": "billing", "type": 1,
				"options": []any{map[string]any{"name": "products", "type": 1}}},
		}
		doc, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		ts := strconv.FormatInt(s.now().Unix(), 10)
		msg := append([]byte(ts), doc...)
		r, err := http.NewRequest(http.MethodPost, s.base+"/discord/interactions", bytes.NewReader(doc))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(s.discordKey, msg)))
		r.Header.Set("X-Signature-Timestamp", ts)
		return r, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

// plainText is a Block Kit plain_text object.
func plainText(s string) map[string]any {
	return map[string]any{"type": "plain_text", "text": s, "emoji": true}
}

// slack makes a signed POST /slack/events.
func (s *signer) slack(contentType string, body []byte) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, s.base+"/slack/events", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	r.Header.Set("Content-Type", contentType)
	r.Header.Set("X-Slack-Request-Timestamp", ts)
	r.Header.Set("X-Slack-Signature", slackSignature(s.slackSecret, ts, body))
	return r, nil
}
