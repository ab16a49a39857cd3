package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// TestVerifierSlackExample checks the verifier against the example in
// Slack's documentation, with the clock at the example's time.
func TestVerifierSlackExample(t *testing.T) {
	const (
		secret = "8f742231b10e8888abcd99yyyzzz85a5"
		ts     = "1531420618"
		body   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		sig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	)
	at := func(d time.Duration) func() time.Time {
		return func() time.Time { return time.Unix(1531420618, 0).Add(d) }
	}
	tests := []struct {
		name    string
		now     func() time.Time
		secret  string
		ts, sig string
		body    string
		want    error
	}{
		{"example", at(0), secret, ts, sig, body, nil},
		{"4 minutes later", at(4 * time.Minute), secret, ts, sig, body, nil},
		{"6 minutes later", at(6 * time.Minute), secret, ts, sig, body, errStale},
		{"6 minutes ahead", at(-6 * time.Minute), secret, ts, sig, body, errStale},
		{"other body", at(0), secret, ts, sig, body + "x", errSignature},
		{"other secret", at(0), secret + "x", ts, sig, body, errSignature},
		{"other timestamp", at(0), secret, "1531420619", sig, body, errSignature},
		{"no signature", at(0), secret, ts, "", body, errNoSignature},
		{"no timestamp", at(0), secret, "", sig, body, errNoSignature},
		{"bad timestamp", at(0), secret, "12e3", sig, body, errNoSignature},
		{"no secret", at(0), "", ts, sig, body, errNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := verifier{secret: []byte(tt.secret), now: tt.now}
			if got := v.verify(tt.ts, tt.sig, []byte(tt.body)); got != tt.want {
				t.Errorf("verify = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBuyModalErrorsAndSuccess: /billing buy visio 5 opens the buy modal
// with the command's trigger id; a submission with rule breaks gets field
// errors keyed by block id; a valid one buys, closes the modal, confirms
// and notifies the admin channel set with "admin channel <#C999|billing>";
// Slack's retry of it changes nothing twice.
func TestBuyModalErrorsAndSuccess(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")

	// The admin sets the channel.
	w := e.command("U4", "admin channel <#C999|billing>", "trig-admin")
	if w.Code != http.StatusOK {
		t.Fatalf("admin channel: %d %s", w.Code, w.Body)
	}
	if body := w.Body.String(); !strings.Contains(body, "C999") {
		t.Errorf("admin channel answer = %s, want it to name the channel", body)
	}

	w = e.command("U1", "buy visio 5", "trig-1")
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("buy: %d %q, want an empty 200", w.Code, w.Body)
	}
	view, trig := openedView(e.slack.waitFor("views.open"))
	if trig != "trig-1" {
		t.Errorf("views.open trigger_id = %q, want trig-1", trig)
	}
	if view["callback_id"] != commands.FormBuy {
		t.Errorf("callback_id = %v, want %q", view["callback_id"], commands.FormBuy)
	}
	ids := strings.Join(blockIDs(view), " ")
	for _, want := range []string{"input:product", "input:licenses", "input:period", "input:method", "section:price"} {
		if !strings.Contains(ids, want) {
			t.Errorf("blocks %s lack %s", ids, want)
		}
	}
	if !strings.Contains(mustJSON(t, view), `"initial_value":"5"`) {
		t.Errorf("licenses not pre-filled with 5: %s", mustJSON(t, view))
	}
	var meta metadata
	json.Unmarshal([]byte(view["private_metadata"].(string)), &meta)
	if meta.Channel != "C100" || !strings.HasSuffix(meta.ResponseURL, "/hook/trig-1") {
		t.Errorf("private_metadata = %+v, want channel C100 and the response_url", meta)
	}

	// Rule breaks: too many licenses, no payment method chosen.
	w = e.interact(e.submission("U1", "V1", view, map[string]any{
		"product": sel("visio-plan-2"), "licenses": "100000", "period": sel("monthly"),
	}))
	var errs struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &errs) != nil || errs.ResponseAction != "errors" {
		t.Fatalf("rule breaks: %d %s, want response_action errors", w.Code, w.Body)
	}
	if errs.Errors["licenses"] == "" || errs.Errors["method"] == "" {
		t.Errorf("errors = %v, want licenses and method", errs.Errors)
	}
	if n := len(e.subs(t, "U1")); n != 0 {
		t.Fatalf("%d subscriptions after rule breaks, want 0", n)
	}

	// Valid: the user submits what the modal shows, the price it
	// previews with the button that names it.
	shown := shownValues(view)
	if want := map[string]any{"product": sel("visio-plan-2"), "licenses": "5", "period": sel("monthly"),
		"method": sel(firstOption(t, view, "method"))}; fmt.Sprint(shown) != fmt.Sprint(want) {
		t.Errorf("the modal shows %v, want %v", shown, want)
	}
	if submit := view["submit"].(map[string]any)["text"]; submit != "Pay €63.00" {
		t.Errorf("submit button %q, want Pay €63.00", submit)
	}
	valid := e.submission("U1", "V1", view, shown)
	w = e.interact(valid)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("valid: %d %s, want response_action clear", w.Code, w.Body)
	}
	hook := e.slack.waitFor("hook")
	if !strings.Contains(hook.Body, "Payment in progress") || !strings.Contains(hook.Body, `"ephemeral"`) {
		t.Errorf("confirmation = %s, want an ephemeral message that the payment is in progress", hook.Body)
	}
	e.deliver() // charges, then tells the purchaser and the admins
	paid := e.slack.waitFor("chat.postMessage")
	if ch := paid.Form.Get("channel"); ch != "DU1" || !strings.Contains(paid.Form.Get("blocks"), "Payment received") {
		t.Errorf("first notification to %q: %s, want the purchaser's payment received", ch, paid.Form.Get("blocks"))
	}
	note := e.slack.waitFor("chat.postMessage")
	if ch := note.Form.Get("channel"); ch != "C999" {
		t.Errorf("notification to %q, want C999", ch)
	}
	if !strings.Contains(note.Form.Get("blocks"), "Visio Plan 2") {
		t.Errorf("notification blocks = %s", note.Form.Get("blocks"))
	}
	subs := e.subs(t, "U1")
	if len(subs) != 1 || subs[0].Total != 5 {
		t.Fatalf("subscriptions = %+v, want one of 5 licenses", subs)
	}

	// Slack retries the same submission (same view id): nothing changes,
	// nobody is notified again.
	w = e.interact(valid, "X-Slack-Retry-Num", "1", "X-Slack-Retry-Reason", "http_timeout")
	if w.Code != http.StatusOK {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	e.slack.waitFor("hook") // the first answer again
	e.a.wg.Wait()
	e.deliver()
	if n := len(e.subs(t, "U1")); n != 1 {
		t.Errorf("%d subscriptions after a retry, want 1", n)
	}
	if n := e.slack.count("chat.postMessage"); n != 2 {
		t.Errorf("%d notifications after a retry, want 2", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// firstOption is the value of the first option of a select block.
func firstOption(t *testing.T, view map[string]any, block string) string {
	t.Helper()
	for _, b := range view["blocks"].([]any) {
		m := b.(map[string]any)
		if m["block_id"] == block {
			opts := m["element"].(map[string]any)["options"].([]any)
			return opts[0].(map[string]any)["value"].(string)
		}
	}
	t.Fatalf("no block %s", block)
	return ""
}

type subInfo struct{ Total int }

func (e *env) subs(t *testing.T, user string) []subInfo {
	t.Helper()
	v, err := e.st.View(context.Background(), testOrg, user, storeViewAll)
	if err != nil {
		t.Fatal(err)
	}
	var out []subInfo
	for _, s := range v.Subs {
		if s.Purchaser.ID == user {
			out = append(out, subInfo{Total: s.Total})
		}
	}
	return out
}

// TestGermanUser: a user whose Slack locale is de-DE gets German.
func TestGermanUser(t *testing.T) {
	e := newEnv(t)
	w := e.command("U3", "help", "trig-de")
	if w.Code != http.StatusOK {
		t.Fatalf("help: %d %s", w.Code, w.Body)
	}
	want := e.bot.Text("de", "CmdBuy")
	if !strings.Contains(w.Body.String(), jsonEscape(want)) {
		t.Errorf("help for a German user = %s, want %q", w.Body, want)
	}
	e.command("U3", "buy", "trig-de2")
	view, _ := openedView(e.slack.waitFor("views.open"))
	if title := view["title"].(map[string]any)["text"]; title != e.bot.Text("de", "TitleBuy") {
		t.Errorf("modal title = %v, want German %q", title, e.bot.Text("de", "TitleBuy"))
	}
	// users.info was asked once: the answer is cached in the store.
	if n := e.slack.count("users.info"); n != 1 {
		t.Errorf("users.info called %d times, want 1 (cached)", n)
	}
}

func jsonEscape(s string) string {
	doc, _ := json.Marshal(s)
	return strings.Trim(string(doc), `"`)
}

// TestAssignChecksMembers: the people picker's picks are checked with
// users.info; bots, deactivated users and other workspaces' users are
// refused by name.
func TestAssignChecksMembers(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	e.command("U1", "buy visio 5", "trig-b")
	view, _ := openedView(e.slack.waitFor("views.open"))
	w := e.interact(e.submission("U1", "VB", view, shownValues(view)))
	if !strings.Contains(w.Body.String(), "clear") {
		t.Fatalf("buy: %s", w.Body)
	}
	e.slack.waitFor("hook") // the purchase's confirmation
	e.deliver()             // its charge
	e.command("U1", "assign visio", "trig-a")
	view, _ = openedView(e.slack.waitFor("views.open"))
	if !strings.Contains(mustJSON(t, view), `"type":"multi_users_select"`) || !strings.Contains(mustJSON(t, view), `"max_selected_items":20`) {
		t.Errorf("assign view lacks a people picker of 20: %s", mustJSON(t, view))
	}
	sub := firstOption(t, view, "subscription")
	w = e.interact(e.submission("U1", "VA", view, map[string]any{"subscription": sel(sub), "users": []string{"U2", "UBOT", "UGONE", "UOTHER"}}))
	body := w.Body.String()
	for _, want := range []string{"Buildbot", "Mallory", "UOTHER"} {
		if !strings.Contains(body, want) {
			t.Errorf("errors %s do not name %s", body, want)
		}
	}
	w = e.interact(e.submission("U1", "VA", view, map[string]any{"subscription": sel(sub), "users": []string{"U2", "U3"}}))
	if !strings.Contains(w.Body.String(), "clear") {
		t.Fatalf("assign: %s", w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Bob") {
		t.Errorf("assign answer = %s", hook.Body)
	}
}

// TestAppHome: app_home_opened publishes the user's home; an admin's also
// has the overview.
func TestAppHome(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		user      string
		wantAdmin bool
	}{{"U1", false}, {"U4", true}} {
		ev := map[string]any{"type": "event_callback", "team_id": testTeam, "event_id": "Ev-" + tc.user,
			"event": map[string]any{"type": "app_home_opened", "user": tc.user, "tab": "home"}}
		w := e.post("application/json", mustJSON(t, ev))
		if w.Code != http.StatusOK {
			t.Fatalf("event: %d %s", w.Code, w.Body)
		}
		c := e.slack.waitFor("views.publish")
		if c.JSON["user_id"] != tc.user {
			t.Errorf("published for %v, want %s", c.JSON["user_id"], tc.user)
		}
		view := mustJSON(t, c.JSON["view"])
		if !strings.Contains(view, `"type":"home"`) || !strings.Contains(view, `"value":"buy"`) {
			t.Errorf("home view = %s", view)
		}
		if got := strings.Contains(view, e.bot.Text("en", "AdminIntro")); got != tc.wantAdmin {
			t.Errorf("%s: admin overview shown = %v, want %v", tc.user, got, tc.wantAdmin)
		}
	}
}

// TestButtonRunsCommand: a clicked button runs its command line; one that
// asks for a form opens it with the click's trigger id.
func TestButtonRunsCommand(t *testing.T) {
	e := newEnv(t)
	click := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": "U1", "team_id": testTeam}, "trigger_id": "trig-click",
		"container": map[string]any{"type": "view", "view_id": "VHOME"},
		"actions":   []any{map[string]any{"type": "button", "action_id": "btn-0-0", "value": "buy", "action_ts": "1.2"}}}
	if w := e.interact(click); w.Code != http.StatusOK {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	if _, trig := openedView(e.slack.waitFor("views.open")); trig != "trig-click" {
		t.Errorf("trigger = %q", trig)
	}
	// A message answer from the App Home (no channel, no response_url) is a DM.
	click["actions"] = []any{map[string]any{"type": "button", "action_id": "btn-0-1", "value": "catalog"}}
	click["trigger_id"] = "trig-click2"
	e.interact(click)
	e.slack.waitFor("conversations.open")
	if c := e.slack.waitFor("chat.postMessage"); c.Form.Get("channel") != "DU1" {
		t.Errorf("catalog answer went to %q, want DU1", c.Form.Get("channel"))
	}
}

// TestNotify: admin channel by id, mention or name; the deployment's
// default; DMs to admins; a notification to one user; rate limits.
func TestNotify(t *testing.T) {
	note := commands.Notification{Org: testOrg, Kind: commands.NotePurchase,
		Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Alice", Licenses: 5, Price: 1260, Currency: "EUR",
			Period: "monthly", Expires: t0.AddDate(0, 1, 0)}}
	ctx := context.Background()
	t.Run("channel by name", func(t *testing.T) {
		e := newEnv(t)
		e.slack.channels = []map[string]any{{"id": "C777", "name": "billing"}}
		if err := e.st.SetAdminChannel(ctx, testOrg, "U4", "#billing"); err != nil {
			t.Fatal(err)
		}
		n := note
		n.Key = "k1"
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if ch := e.slack.waitFor("chat.postMessage").Form.Get("channel"); ch != "C777" {
			t.Errorf("posted to %q, want C777", ch)
		}
		if meta := e.slack.history["C777"][0]["metadata"]; fmt.Sprint(meta) != "map[event_payload:map[key:k1] event_type:billingbot_notification]" {
			t.Errorf("posted metadata %v, want the notification's key", meta)
		}
		// Redelivered (its sender died before acknowledging it): not sent twice.
		n.Redelivery = true
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if c := e.slack.count("chat.postMessage"); c != 1 {
			t.Errorf("%d posts, want 1", c)
		}
	})
	t.Run("redelivery of a post that was not marked", func(t *testing.T) {
		// The sender died after Slack took the post and before the store
		// marked it: the channel's history shows it.
		e := newEnv(t, func(c *Config) { c.AdminChannel = "C555" })
		n := note
		n.Key, n.Redelivery, n.At = "k2", true, t0
		e.slack.history["C555"] = []map[string]any{
			{"type": "message", "ts": "1.1", "metadata": map[string]any{"event_type": "billingbot_notification", "event_payload": map[string]any{"key": "other"}}},
			{"type": "message", "ts": "1.2", "metadata": map[string]any{"event_type": "billingbot_notification", "event_payload": map[string]any{"key": "k2"}}},
		}
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if c := e.slack.count("chat.postMessage"); c != 0 {
			t.Errorf("%d posts, want none: the history has it", c)
		}
		if h := e.slack.waitFor("conversations.history"); h.Form.Get("channel") != "C555" || h.Form.Get("include_all_metadata") != "1" ||
			h.Form.Get("oldest") != strconv.FormatInt(t0.Add(-time.Minute).Unix(), 10)+".000000" {
			t.Errorf("conversations.history %v, want C555 with metadata since a minute before the change", h.Form)
		}
		if ok, err := e.st.Delivered(ctx, testOrg, "k2", "channel:C555"); err != nil || !ok {
			t.Errorf("Delivered after finding it in the history = %v, %v; want marked", ok, err)
		}
		// Without the history scope the adapter cannot tell: it posts.
		n.Key = "k3"
		e.slack.failing["conversations.history"] = "missing_scope"
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if c := e.slack.count("chat.postMessage"); c != 1 {
			t.Errorf("%d posts, want 1 when the history cannot be read", c)
		}
	})
	t.Run("failures", func(t *testing.T) {
		// An admin channel that does not exist: the admins get DMs instead.
		e := newEnv(t, func(c *Config) { c.AdminChannel = "#gone" })
		if err := e.a.Notify(ctx, note); err != nil {
			t.Errorf("admin channel gone: %v, want the admins notified by DM", err)
		}
		if ch := e.slack.waitFor("chat.postMessage").Form.Get("channel"); ch != "DU4" {
			t.Errorf("posted to %q, want the admin's DM", ch)
		}
		// Every destination refuses for good: a permanent failure.
		e.slack.failing["chat.postMessage"] = "not_authed"
		n := note
		n.Key = "k4"
		if err := e.a.Notify(ctx, n); !errors.Is(err, commands.ErrPermanent) {
			t.Errorf("every destination refuses: %v, want ErrPermanent", err)
		}
		// Slack is down: tried again later.
		e = newEnv(t, func(c *Config) { c.AdminChannel = "C555" })
		e.slack.failing["chat.postMessage"] = "503"
		if err := e.a.Notify(ctx, n); err == nil || errors.Is(err, commands.ErrPermanent) {
			t.Errorf("a 503: %v, want an error worth retrying", err)
		}
		if c := e.slack.count("users.list"); c != 0 {
			t.Errorf("users.list called %d times after a 503 on the channel, want 0 (retried later, not replaced by DMs)", c)
		}
		delete(e.slack.failing, "chat.postMessage")
		// Rate limited beyond the adapter's own retries: the outbox waits.
		e.slack.limited["chat.postMessage"] = 10
		var rl *commands.RateLimitedError
		if err := e.a.Notify(ctx, n); !errors.As(err, &rl) {
			t.Errorf("rate limited: %v, want a RateLimitedError", err)
		}
	})
	t.Run("nobody to tell", func(t *testing.T) {
		e := newEnv(t)
		e.slack.mu.Lock()
		for _, u := range e.slack.users {
			u["is_admin"], u["is_owner"] = false, false
		}
		e.slack.mu.Unlock()
		if err := e.a.Notify(ctx, note); !errors.Is(err, commands.ErrPermanent) {
			t.Errorf("no admin channel and no admins: %v, want ErrPermanent", err)
		}
	})
	t.Run("default channel, rate limited", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AdminChannel = "C555" })
		e.slack.limited["chat.postMessage"] = 2
		if err := e.a.Notify(ctx, note); err != nil {
			t.Fatal(err)
		}
		if ch := e.slack.waitFor("chat.postMessage").Form.Get("channel"); ch != "C555" {
			t.Errorf("posted to %q, want C555", ch)
		}
	})
	t.Run("admins by DM", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Admins = []string{"U3"} })
		if err := e.a.Notify(ctx, note); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for range 2 {
			c := e.slack.waitFor("chat.postMessage")
			got[c.Form.Get("channel")] = c.Form.Get("blocks")
		}
		if _, ok := got["DU4"]; !ok {
			t.Errorf("admin U4 not notified: %v", got)
		}
		if b, ok := got["DU3"]; !ok || !strings.Contains(b, jsonEscape(e.bot.Text("de", "NoteTitlePurchase"))) {
			t.Errorf("configured admin U3 (German) not notified in German: %v", got)
		}
	})
	t.Run("languages", func(t *testing.T) {
		// The admin channel: the organization's language (from the first
		// admin's locale, or an admin's choice), never always English; a
		// direct message: the recipient's choice, else their locale.
		e := newEnv(t, func(c *Config) { c.AdminChannel = "C555" })
		posted := func(key, to string) string {
			t.Helper()
			n := note
			n.Key, n.To = key, to
			if err := e.a.Notify(ctx, n); err != nil {
				t.Fatal(err)
			}
			return e.slack.waitFor("chat.postMessage").Form.Get("blocks")
		}
		en, de := jsonEscape(e.bot.Text("en", "NoteTitlePurchase")), jsonEscape(e.bot.Text("de", "NoteTitlePurchase"))
		if b := posted("k1", ""); !strings.Contains(b, en) {
			t.Errorf("nothing known: channel post %s, want English", b)
		}
		if err := e.st.SetOrgLocale(ctx, testOrg, "de-DE", true); err != nil {
			t.Fatal(err)
		}
		if b := posted("k2", ""); !strings.Contains(b, de) {
			t.Errorf("German workspace: channel post %s, want German", b)
		}
		if err := e.st.SetOrgLang(ctx, testOrg, "U4", "en"); err != nil {
			t.Fatal(err)
		}
		if b := posted("k3", ""); !strings.Contains(b, en) {
			t.Errorf("admin language en: channel post %s, want English", b)
		}
		if b := posted("k4", "U3"); !strings.Contains(b, de) {
			t.Errorf("DM to U3 (German locale): %s, want German", b)
		}
		if err := e.st.SetPrefs(ctx, testOrg, "U3", store.Prefs{Lang: "en"}); err != nil {
			t.Fatal(err)
		}
		if b := posted("k5", "U3"); !strings.Contains(b, en) {
			t.Errorf("DM to U3 who chose English: %s, want English", b)
		}
	})
	t.Run("the first admin's locale", func(t *testing.T) {
		// No OAuth install yet: the first admin who uses billingbot gives
		// the workspace's language; a member's locale does not.
		e := newEnv(t)
		locale := func() string {
			t.Helper()
			s, err := e.st.Settings(ctx, testOrg)
			if err != nil {
				t.Fatal(err)
			}
			return s.Locale
		}
		e.command("U3", "help", "t1")
		e.a.Wait()
		if got := locale(); got != "" {
			t.Errorf("after a member's command: locale %q, want none", got)
		}
		e.command("U4", "help", "t2")
		e.a.Wait()
		if got := locale(); got != "en-US" {
			t.Errorf("after the first admin's command: locale %q, want en-US", got)
		}
	})
	t.Run("to a user", func(t *testing.T) {
		e := newEnv(t)
		n := note
		n.Kind, n.To = commands.NoteReminder, "U1"
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if ch := e.slack.waitFor("chat.postMessage").Form.Get("channel"); ch != "DU1" {
			t.Errorf("posted to %q, want DU1", ch)
		}
	})
	t.Run("owns", func(t *testing.T) {
		e := newEnv(t)
		for org, want := range map[string]bool{"slack-T1": true, "slack-": false, "T1": false, "discord-1": false} {
			if got := e.a.Owns(org); got != want {
				t.Errorf("Owns(%q) = %v, want %v", org, got, want)
			}
		}
		if err := e.a.Notify(ctx, commands.Notification{Org: "discord-1"}); err == nil {
			t.Error("Notify of another platform's org: no error")
		}
	})
}

// TestBadInput: whatever arrives, the answer is a 4xx or a polite message,
// never a 5xx or a panic.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	goodCmd := url.Values{"command": {"/billing"}, "text": {"help"}, "team_id": {testTeam}, "user_id": {"U1"}}.Encode()
	send := func(body string, mutate func(r *http.Request)) int {
		r, _ := http.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(body))
		r.Header.Set("Content-Type", formType)
		ts := e.now.Unix()
		r.Header.Set("X-Slack-Request-Timestamp", strconvI(ts))
		r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
		if mutate != nil {
			mutate(r)
		}
		w := newRecorder()
		e.a.ServeHTTP(w, r)
		return w.Code
	}
	tests := []struct {
		name   string
		body   string
		mutate func(r *http.Request)
		want   int
	}{
		{"unsigned", goodCmd, func(r *http.Request) { r.Header.Del("X-Slack-Signature") }, 401},
		{"forged", goodCmd, func(r *http.Request) { r.Header.Set("X-Slack-Signature", sign("other", e.now.Unix(), goodCmd)) }, 401},
		{"stale", goodCmd, func(r *http.Request) {
			ts := e.now.Add(-6 * time.Minute).Unix()
			r.Header.Set("X-Slack-Request-Timestamp", strconvI(ts))
			r.Header.Set("X-Slack-Signature", sign(testSecret, ts, goodCmd))
		}, 401},
		{"oversized", "text=" + strings.Repeat("a", maxBody), nil, 413},
		{"GET", goodCmd, func(r *http.Request) { r.Method = http.MethodGet }, 405},
		{"non-JSON payload", url.Values{"payload": {"{not json"}}.Encode(), nil, 400},
		{"unknown interaction type", url.Values{"payload": {`{"type":"dialog_submission","team":{"id":"T1"},"user":{"id":"U1"}}`}}.Encode(), nil, 400},
		{"payload without user", url.Values{"payload": {`{"type":"view_submission"}`}}.Encode(), nil, 400},
		{"neither command nor payload", "foo=bar", nil, 400},
		{"bad form encoding", "a=%zz", nil, 400},
		{"command without team", url.Values{"command": {"/billing"}, "user_id": {"U1"}}.Encode(), nil, 400},
		{"non-JSON event", "{", func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400},
		{"unknown event type", `{"type":"something_else"}`, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400},
		{"unknown event", `{"type":"event_callback","team_id":"T1","event":{"type":"message"}}`, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 200},
		{"view_closed", url.Values{"payload": {`{"type":"view_closed","team":{"id":"T1"},"user":{"id":"U1"}}`}}.Encode(), nil, 200},
		{"bad team id", url.Values{"command": {"/billing"}, "text": {"help"}, "team_id": {"T 1"}, "user_id": {"U1"}}.Encode(), nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := send(tt.body, tt.mutate); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}

	t.Run("url_verification", func(t *testing.T) {
		w := e.post("application/json", `{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P") {
			t.Errorf("url_verification: %d %s", w.Code, w.Body)
		}
	})
	t.Run("unknown callback id", func(t *testing.T) {
		p := e.submission("U1", "VX", map[string]any{"callback_id": "nope", "private_metadata": "not json",
			"blocks": []any{map[string]any{"type": "input", "block_id": "x"}}}, map[string]any{"x": "1"})
		w := e.interact(p)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		// The polite message goes to the user; the modal closes.
		e.slack.waitFor("chat.postMessage")
	})
	t.Run("unknown command", func(t *testing.T) {
		w := e.command("U1", "frobnicate", "trig-x")
		if w.Code != 200 || !strings.Contains(w.Body.String(), "frobnicate") {
			t.Errorf("unknown command: %d %s", w.Code, w.Body)
		}
	})
	t.Run("unknown user in workspace", func(t *testing.T) {
		w := e.command("UNKNOWN1", "help", "trig-y")
		if w.Code != 200 {
			t.Errorf("status %d", w.Code)
		}
	})
}

// TestSlowCore: when the core takes longer than the acknowledgement
// deadline, Slack gets an empty 200 at once and the answer follows through
// response_url; a slow submission updates the modal.
func TestSlowCore(t *testing.T) {
	e := newEnv(t)
	e.a.ackWithin = 0 // every request is "slow"
	w := e.command("U1", "help", "trig-slow")
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("slow help: %d %q, want an empty 200", w.Code, w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "blocks") {
		t.Errorf("late answer = %s", hook.Body)
	}
	p := e.submission("U1", "VS", map[string]any{"callback_id": "buy", "blocks": []any{map[string]any{"type": "input", "block_id": "licenses"}}},
		map[string]any{"licenses": "0"})
	w = e.interact(p)
	if !strings.Contains(w.Body.String(), `"response_action":"update"`) {
		t.Fatalf("slow submission: %s, want response_action update", w.Body)
	}
	if u := e.slack.waitFor("views.update"); !strings.Contains(u.Body, "VS") {
		t.Errorf("views.update = %s, want view VS", u.Body)
	}
}

// TestCorePanic: a panic while the core runs a request answers with the
// internal error message, in the user's language, whether the answer is in
// time or follows later; no goroutine is left waiting for it. It does not
// claim that nothing was changed: the panic may come after the change (here
// the observer's, which runs once the request is done).
func TestCorePanic(t *testing.T) {
	panicky := func(e *env) {
		bot, err := commands.New(e.st, catalog.Demo(), payment.NewSandbox(), commands.Config{},
			commands.WithClock(func() time.Time { return t0 }),
			commands.WithObserver(func(context.Context, commands.Outcome) { panic("observer broke") }))
		if err != nil {
			t.Fatal(err)
		}
		e.a.bot = bot
	}
	t.Run("in time", func(t *testing.T) {
		e := newEnv(t)
		panicky(e)
		w := e.command("U1", "products", "trig-panic")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Something went wrong on our side after your request reached us, so it may have been done.") ||
			strings.Contains(w.Body.String(), "Nothing was changed") {
			t.Errorf("answer = %d %s, want the internal error message that does not claim nothing was changed", w.Code, w.Body)
		}
	})
	t.Run("later", func(t *testing.T) {
		e := newEnv(t)
		panicky(e)
		e.a.ackWithin = 0
		e.command("U3", "hilfe", "trig-panic-later")
		if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Bei uns ist ein Fehler aufgetreten, nachdem Ihre Anfrage angekommen war") {
			t.Errorf("late answer = %s, want the German internal error message", hook.Body)
		}
		waited := make(chan struct{})
		go func() { e.a.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			t.Fatal("the adapter's background work did not end after the panic")
		}
	})
}

// TestQueryAnswersInModal: the invoice range form's answer replaces the
// form in the modal, in the user's language, instead of a message; its
// buttons run in the modal (a range, the form again), and a click whose
// modal is gone is answered in the conversation.
func TestQueryAnswersInModal(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ user, title, header string }{
		{"U1", "Invoices", "Invoices: Last 6 months"},
		{"U3", "Rechnungen", "Rechnungen: Letzte 6 Monate"},
	} {
		e.command(tc.user, "invoices range", "trig-r"+tc.user)
		form, _ := openedView(e.slack.waitFor("views.open"))
		form["title"] = map[string]any{"type": "plain_text", "text": tc.title}
		sub := e.submission(tc.user, "VR"+tc.user, form, map[string]any{"range": sel("6m")})
		sub["view"].(map[string]any)["title"] = form["title"]
		w := e.interact(sub)
		var ack struct {
			ResponseAction string         `json:"response_action"`
			View           map[string]any `json:"view"`
		}
		if json.Unmarshal(w.Body.Bytes(), &ack) != nil || ack.ResponseAction != "update" {
			t.Fatalf("%s: range submitted: %d %s, want response_action update", tc.user, w.Code, w.Body)
		}
		view := mustJSON(t, ack.View)
		for _, want := range []string{`"type":"modal"`, `"text":"` + tc.title + `"`, tc.header, `"value":"invoices 3m"`, `"value":"invoices range"`} {
			if !strings.Contains(view, want) {
				t.Errorf("%s: answer modal lacks %s: %s", tc.user, want, view)
			}
		}
		var meta metadata
		json.Unmarshal([]byte(ack.View["private_metadata"].(string)), &meta)
		if meta.Channel != "C100" || !strings.HasSuffix(meta.ResponseURL, "/hook/trig-r"+tc.user) || meta.Context != "" {
			t.Errorf("%s: answer modal's metadata = %+v, want the form's channel and response_url", tc.user, meta)
		}
	}
	e.a.Wait()
	if n := e.slack.count("hook"); n != 0 {
		t.Errorf("%d posts to response_url, want the answers in the modal only", n)
	}

	answer := func(value string) map[string]any {
		return map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
			"user": map[string]any{"id": "U1", "team_id": testTeam}, "trigger_id": "trig-" + value,
			"container": map[string]any{"type": "view", "view_id": "VR1"},
			"view": map[string]any{"id": "VR1", "type": "modal", "title": map[string]any{"type": "plain_text", "text": "Invoices"},
				"private_metadata": `{"ch":"C100","ru":"` + e.slack.srv.URL + `/hook/trig-rU1"}`},
			"actions": []any{map[string]any{"type": "button", "action_id": "btn-0-0", "value": value, "action_ts": "1.2"}}}
	}
	e.interact(answer("invoices 3m"))
	u := e.slack.waitFor("views.update")
	if u.JSON["view_id"] != "VR1" || !strings.Contains(mustJSON(t, u.JSON["view"]), "Invoices: Last 3 months") {
		t.Errorf("3 months clicked: views.update %s, want view VR1 with the last 3 months", u.Body)
	}
	e.interact(answer("invoices range"))
	u = e.slack.waitFor("views.update")
	form, _ := u.JSON["view"].(map[string]any)
	if u.JSON["view_id"] != "VR1" || form["callback_id"] != commands.FormInvoices ||
		!strings.Contains(fmt.Sprint(form["private_metadata"]), "/hook/trig-rU1") {
		t.Errorf("range clicked: views.update %s, want the range form in VR1, answering where it did", u.Body)
	}

	e.slack.failing["views.update"] = "view_not_found" // closed meanwhile
	e.interact(answer("invoices 6m"))
	if hook := e.slack.waitFor("hook"); !strings.HasSuffix(hook.Path, "/hook/trig-rU1") || !strings.Contains(hook.Body, "Last 6 months") {
		t.Errorf("click in a closed modal: %s %s, want the answer through the form's response_url", hook.Path, hook.Body)
	}
	e.slack.waitFor("views.update") // the one that failed
	delete(e.slack.failing, "views.update")

	// Too slow for Slack's 3 s: the working modal, then the answer in it.
	e.a.ackWithin = 0
	e.interact(e.submission("U1", "VSLOW", map[string]any{"callback_id": commands.FormInvoices,
		"private_metadata": `{"ch":"C100","ru":"` + e.slack.srv.URL + `/hook/slow"}`}, map[string]any{"range": sel("3m")}))
	if u := e.slack.waitFor("views.update"); u.JSON["view_id"] != "VSLOW" || !strings.Contains(mustJSON(t, u.JSON["view"]), "Invoices: Last 3 months") {
		t.Errorf("slow answer: views.update %s, want VSLOW with the answer", u.Body)
	}
	e.a.Wait()
	if n := e.slack.count("hook"); n != 1 {
		t.Errorf("%d posts to response_url, want only the closed modal's", n)
	}
	e.slack.failing["views.update"] = "view_not_found"
	e.interact(e.submission("U1", "VSLOW2", map[string]any{"callback_id": commands.FormInvoices,
		"private_metadata": `{"ch":"C100","ru":"` + e.slack.srv.URL + `/hook/slow2"}`}, map[string]any{"range": sel("3m")}))
	if hook := e.slack.waitFor("hook"); !strings.HasSuffix(hook.Path, "/hook/slow2") || !strings.Contains(hook.Body, "Last 3 months") {
		t.Errorf("slow answer to a closed modal: %s %s, want it through response_url", hook.Path, hook.Body)
	}
}

// TestFormContext: what a form keeps in its context (here the payment
// method being edited) reaches the core when the modal is submitted.
func TestFormContext(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	v, err := e.st.View(context.Background(), testOrg, "U1", storeViewAll)
	if err != nil {
		t.Fatal(err)
	}
	id := v.Billing.Accounts[0].Profiles[0].Methods[0].ID
	e.command("U1", "payment edit "+id, "trig-pay")
	view, _ := openedView(e.slack.waitFor("views.open"))
	w := e.interact(e.submission("U1", "VPAY", view, map[string]any{"name": "Alice Adams", "exp_month": "12",
		"exp_year": "2031", "address": "Main Street 1"}))
	if !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("edited method: %s, want response_action clear", w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Payment method saved") {
		t.Errorf("answer = %s, want the method saved", hook.Body)
	}
}

// TestPayLinkChat: a payment link asked for in Slack knows the workspace's
// name (its domain, as Slack sends it) and leads back to the conversation,
// from a slash command and from a button; without a conversation it has no
// way back.
func TestPayLinkChat(t *testing.T) {
	tokenRe := regexp.MustCompile(`https://pay\.example/pay/([a-z0-9]{48})`)
	click := func(e *env, team map[string]any, channel string) string {
		p := map[string]any{"type": "block_actions", "team": team, "user": map[string]any{"id": "U1", "team_id": testTeam},
			"trigger_id": "trig-btn", "response_url": e.slack.srv.URL + "/hook/btn",
			"actions": []any{map[string]any{"type": "button", "action_id": "btn-0-0", "value": "payment add", "action_ts": "1.2"}}}
		if channel != "" {
			p["channel"] = map[string]any{"id": channel}
		}
		e.interact(p)
		return e.slack.waitFor("hook").Body
	}
	tests := []struct {
		name     string
		ask      func(e *env) string // sends the request, returns the answer
		wantName string
		wantURL  string
	}{
		{"slash command", func(e *env) string {
			v := url.Values{"command": {"/billing"}, "text": {"payment add"}, "team_id": {testTeam}, "team_domain": {"acme"},
				"user_id": {"U1"}, "channel_id": {"C100"}, "trigger_id": {"trig-pay"}, "response_url": {e.slack.srv.URL + "/hook/pay"}}
			if w := e.post(formType, v.Encode()); tokenRe.MatchString(w.Body.String()) {
				return w.Body.String()
			}
			return e.slack.waitFor("hook").Body // the core was slow: the answer follows
		}, "acme", "https://slack.com/app_redirect?channel=C100&team=T1"},
		{"button", func(e *env) string {
			return click(e, map[string]any{"id": testTeam, "domain": "acme"}, "D200")
		}, "acme", "https://slack.com/app_redirect?channel=D200&team=T1"},
		{"no conversation", func(e *env) string {
			return click(e, map[string]any{"id": testTeam}, "")
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			m := tokenRe.FindStringSubmatch(tt.ask(e))
			if m == nil {
				t.Fatal("no payment link in the answer")
			}
			l, err := e.st.PayLink(t.Context(), m[1])
			if err != nil {
				t.Fatal(err)
			}
			if l.OrgName != tt.wantName || l.ChatURL != tt.wantURL {
				t.Errorf("link's OrgName %q, ChatURL %q; want %q, %q", l.OrgName, l.ChatURL, tt.wantName, tt.wantURL)
			}
		})
	}
}

// TestConfirmSaidAsAsked: a cancel modal sent without its box ticked is
// refused on the box, in the words of Slack's checkbox, in the user's
// language; nothing is canceled.
func TestConfirmSaidAsAsked(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ user, want string }{
		{"U1", "Tick the box to confirm."},
		{"U3", "Setzen Sie das Häkchen, um zu bestätigen."}, // Dora, German
	} {
		t.Run(tt.user, func(t *testing.T) {
			e.addCard(tt.user)
			sub := e.buyVisio(tt.user)
			e.command(tt.user, "cancel "+sub, "trig-cancel-"+tt.user)
			view, _ := openedView(e.slack.waitFor("views.open"))
			w := e.interact(e.submission(tt.user, "V-CANCEL-"+tt.user, view, map[string]any{"subscription": sel(sub),
				"reason": sel("too_expensive")}))
			if errs := viewErrors(t, w.Body.Bytes()); errs["confirm"] != tt.want {
				t.Errorf("errors %v, want %q on confirm", errs, tt.want)
			}
			e.a.wg.Wait()
			if s, _ := e.st.Subscription(context.Background(), testOrg, sub); s.Status != store.StatusActive {
				t.Errorf("subscription %s after the refusal, want active", s.Status)
			}
		})
	}
}

// TestRefusedUnread: a request whose signature headers are missing or
// whose timestamp is more than 5 minutes from now is refused before a byte
// of its body is read, so that a client cannot make the bot buffer bodies
// it would refuse anyway.
func TestRefusedUnread(t *testing.T) {
	e := newEnv(t)
	body := url.Values{"command": {"/billing"}, "text": {"help"}, "team_id": {testTeam}, "user_id": {"U1"}}.Encode()
	for _, tt := range []struct {
		name string
		ts   int64
		sig  bool
	}{
		{"unsigned", e.now.Unix(), false},
		{"6 minutes old", e.now.Add(-6 * time.Minute).Unix(), true},
		{"a year ahead", e.now.AddDate(1, 0, 0).Unix(), true},
		{"timestamp 1", 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			read := 0
			r, _ := http.NewRequest(http.MethodPost, "/slack/events", readFunc(func(p []byte) (int, error) {
				n := copy(p, body[min(read, len(body)):])
				read += n
				if n == 0 {
					return 0, io.EOF
				}
				return n, nil
			}))
			r.Header.Set("Content-Type", formType)
			r.Header.Set("X-Slack-Request-Timestamp", strconvI(tt.ts))
			if tt.sig {
				r.Header.Set("X-Slack-Signature", sign(testSecret, tt.ts, body))
			}
			w := newRecorder()
			e.a.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized || read != 0 {
				t.Errorf("status %d after reading %d bytes; want 401 before reading any", w.Code, read)
			}
		})
	}
}

// readFunc is an io.Reader of a function.
type readFunc func(p []byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
