package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

func TestVerify(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":1}`)
	sig := hex.EncodeToString(ed25519.Sign(priv, append([]byte("1700000000"), body...)))
	// RFC 8032 section 7.1, TEST 2: the published Ed25519 vector whose
	// message is the one byte "r" (0x72), as timestamp "r" with an empty
	// body, and as an empty timestamp with body "r".
	rfcPub, _ := hex.DecodeString("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
	rfcSig := "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da" +
		"085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
	tests := []struct {
		name string
		pub  ed25519.PublicKey
		ts   string
		body []byte
		sig  string
		want bool
	}{
		{"generated key", pub, "1700000000", body, sig, true},
		{"other timestamp", pub, "1700000001", body, sig, false},
		{"other body", pub, "1700000000", []byte(`{"type":2}`), sig, false},
		{"not hex", pub, "1700000000", body, "zz" + sig[2:], false},
		{"short signature", pub, "1700000000", body, sig[:64], false},
		{"no key", nil, "1700000000", body, sig, false},
		{"rfc8032 vector in timestamp", rfcPub, "r", nil, rfcSig, true},
		{"rfc8032 vector in body", rfcPub, "", []byte("r"), rfcSig, true},
		{"rfc8032 vector, other message", rfcPub, "s", nil, rfcSig, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verify(tt.pub, tt.ts, tt.body, tt.sig); got != tt.want {
				t.Errorf("verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPing(t *testing.T) {
	e := newEnv(t)
	w := e.post([]byte(`{"id":"1","application_id":"999","type":1,"token":"x","version":1}`))
	if w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != `{"type":1}` {
		t.Errorf("PING: %d %s, want 200 {\"type\":1}", w.Code, w.Body)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	_, otherKey, _ := ed25519.GenerateKey(nil)
	ping := []byte(`{"id":"1","type":1,"token":"x"}`)
	raw := func(body []byte, sign func(r *http.Request)) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
		if sign != nil {
			sign(r)
		}
		w := httptest.NewRecorder()
		e.a.ServeHTTP(w, r)
		return w
	}
	forged := func(r *http.Request) {
		r.Header.Set("X-Signature-Timestamp", "1700000000")
		r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(otherKey, append([]byte("1700000000"), ping...))))
	}
	for _, tt := range []struct {
		name string
		w    *httptest.ResponseRecorder
		want int
	}{
		{"unsigned", raw(ping, nil), http.StatusUnauthorized},
		{"forged", raw(ping, forged), http.StatusUnauthorized},
		{"garbage signature", raw(ping, func(r *http.Request) {
			r.Header.Set("X-Signature-Timestamp", "1")
			r.Header.Set("X-Signature-Ed25519", "nothex")
		}), http.StatusUnauthorized},
		{"too large", e.post(bytes.Repeat([]byte("x"), maxBody+1)), http.StatusRequestEntityTooLarge},
		{"junk JSON", e.post([]byte(`{"type":`)), http.StatusBadRequest},
		{"not an object", e.post([]byte(`[1,2,3]`)), http.StatusBadRequest},
		{"unknown interaction type", e.post(e.interaction(aliceEN, 99, map[string]any{}, "")), http.StatusBadRequest},
		{"no user", e.post([]byte(`{"id":"5","type":2,"token":"t","guild_id":"1","data":{}}`)), http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.w.Code != tt.want {
				t.Errorf("status %d (%s), want %d", tt.w.Code, tt.w.Body, tt.want)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		w := httptest.NewRecorder()
		e.a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/discord/interactions", nil))
		if w.Code != http.StatusMethodNotAllowed {
			t.Errorf("status %d", w.Code)
		}
	})
	polite := []struct {
		name string
		data map[string]any
		typ  int
	}{
		{"unknown button", map[string]any{"custom_id": "zz:what", "component_type": ctButton}, itComponent},
		{"unknown component type", map[string]any{"custom_id": "b:help", "component_type": 42}, itComponent},
		{"select in a message", map[string]any{"custom_id": "b:help", "component_type": ctStringSelect, "values": []string{"x"}}, itComponent},
		{"expired cached button", map[string]any{"custom_id": "k:nosuchkey", "component_type": ctButton}, itComponent},
		{"expired form", map[string]any{"custom_id": "r:nosuchkey", "component_type": ctButton}, itComponent},
		{"unknown modal", map[string]any{"custom_id": "what", "components": []any{}}, itModalSubmit},
		{"modal with unknown components", map[string]any{"custom_id": "f:k:buy:", "components": []any{
			map[string]any{"type": 77, "whatever": true}}}, itModalSubmit},
		{"unknown subcommand", command("frobnicate"), itCommand},
	}
	for _, tt := range polite {
		t.Run(tt.name, func(t *testing.T) {
			typ, data := answer(t, e.post(e.interaction(aliceEN, tt.typ, tt.data, "")))
			if typ != cbMessage || data["flags"].(float64) != flagEphemeral {
				t.Errorf("answer type %d flags %v, want an ephemeral message", typ, data["flags"])
			}
		})
	}
}

func TestCommandInEnglishAndGerman(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		w    who
		want string
	}{
		{aliceEN, e.bot.Text("en", "CmdBuy")},
		{aliceDE, e.bot.Text("de", "CmdBuy")},
	} {
		t.Run(tt.w.locale, func(t *testing.T) {
			typ, data := answer(t, e.post(e.interaction(tt.w, itCommand, command("help"), "")))
			if typ != cbMessage {
				t.Fatalf("type %d, want 4", typ)
			}
			if data["flags"].(float64) != flagEphemeral {
				t.Errorf("flags %v, want ephemeral", data["flags"])
			}
			if !strings.Contains(text(data), tt.want) {
				t.Errorf("help lacks %q: %s", tt.want, text(data))
			}
		})
	}
}

func TestDirectMessageHint(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"id":"77","type":2,"token":"t","locale":"de","user":{"id":"` + alice + `","username":"a"},"data":` +
		mustJSON(t, command("help")) + `}`)
	typ, data := answer(t, e.post(body))
	if typ != cbMessage || data["content"] != e.bot.Text("de", "DiscordUseInServer") || data["flags"].(float64) != flagEphemeral {
		t.Errorf("DM answer %d %v", typ, data)
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

// TestBuyWorkflow opens the buy modal, submits it with a broken rule and
// then correctly, after an admin set the admin channel, and clicks Pay on
// the confirmation; the admin channel hears of the purchase once, even
// when the submission and the click are replayed.
func TestBuyWorkflow(t *testing.T) {
	e := newEnv(t)
	e.card(alice)

	// An admin sets the admin channel.
	typ, data := answer(t, e.post(e.interaction(aliceEN, itCommand,
		command("admin", opt("channel", optChannel, "555555555555555555")), "")))
	if typ != cbMessage || !strings.Contains(text(data), "555555555555555555") {
		t.Fatalf("admin channel: %d %s", typ, text(data))
	}
	// Checked with Discord's API first: the channel, then the bot's permissions.
	e.fake.nextTo(t, http.MethodGet, "/channels/555555555555555555")
	e.fake.nextTo(t, http.MethodGet, "/guilds/"+testGuild+"/members/"+testApp)

	// The modal, with Labels.
	typ, data = answer(t, e.post(e.interaction(aliceEN, itCommand,
		command("buy", opt("product", optString, "visio-plan-2"), opt("count", optInteger, 5)), "")))
	if typ != cbModal {
		t.Fatalf("buy: type %d, want a modal: %s", typ, text(data))
	}
	inputs := modalInputs(t, data)
	for _, id := range []string{"product", "licenses", "period", "method"} {
		if inputs[id] == nil {
			t.Errorf("modal lacks input %q: %s", id, text(data))
		}
	}
	if v := inputs["licenses"]["value"]; v != "5" {
		t.Errorf("licenses prefilled %v, want 5", v)
	}
	method := ""
	for _, o := range inputs["method"]["options"].([]any) {
		method = o.(map[string]any)["value"].(string)
	}
	modalID := data["custom_id"].(string)

	// Broken rule: 0 licenses.
	bad := submission(modalID, map[string][]string{"product": {"visio-plan-2"}, "licenses": {"0"},
		"period": {"monthly"}, "method": {method}}, "licenses")
	typ, data = answer(t, e.post(e.interaction(aliceEN, itModalSubmit, bad, "")))
	if typ != cbMessage || data["flags"].(float64) != flagEphemeral {
		t.Fatalf("bad submit: %d %v", typ, data)
	}
	if c := data["content"].(string); !strings.Contains(c, "**"+e.bot.Text("en", "FieldLicenses")+"**") {
		t.Errorf("error message does not name the field: %q", c)
	}
	reopen := data["components"].([]any)[0].(map[string]any)["components"].([]any)[0].(map[string]any)["custom_id"].(string)
	if !strings.HasPrefix(reopen, reopenPrefix) {
		t.Fatalf("reopen button %q", reopen)
	}
	typ, data = answer(t, e.post(e.interaction(aliceEN, itComponent,
		map[string]any{"custom_id": reopen, "component_type": ctButton}, "")))
	if typ != cbModal || modalInputs(t, data)["licenses"]["value"] != "0" {
		t.Fatalf("reopened modal: %d %s", typ, text(data))
	}
	modalID = data["custom_id"].(string)

	// Correct: a confirmation, the same when the submission is replayed;
	// nothing is bought before Pay.
	good := submission(modalID, map[string][]string{"product": {"visio-plan-2"}, "licenses": {"7"},
		"period": {"monthly"}, "method": {method}}, "licenses")
	submitted := e.interaction(aliceEN, itModalSubmit, good, "310000000000000001")
	typ, confirm := answer(t, e.post(submitted))
	if strings.Contains(text(confirm), e.bot.Text("en", "DiscordFixFields")) {
		t.Fatalf("good submit: %d %s", typ, text(confirm))
	}
	pay, _ := confirmation(t, typ, confirm)
	if typ, again := answer(t, e.post(submitted)); typ != cbMessage || text(again) != text(confirm) {
		t.Errorf("replayed submission answered %d %s, want the confirmation %s", typ, text(again), text(confirm))
	}
	e.a.Wait()
	e.deliver()
	e.fake.none(t)
	if view, err := e.st.View(t.Context(), testOrg, alice, store.ViewOptions{}); err != nil || len(view.Subs) != 0 {
		t.Fatalf("before Pay: %+v, %v; want nothing bought", view.Subs, err)
	}

	// Pay, twice with the same interaction id.
	body := e.click(aliceEN, confirm, pay, "310000000000000002")
	typ, first := answer(t, e.post(body))
	if typ != cbUpdate || !strings.Contains(text(first), "Visio Plan 2") {
		t.Fatalf("Pay: %d %s, want the purchase in the confirmation's place", typ, text(first))
	}
	e.a.Wait()
	e.deliver()
	note := e.fake.nextTo(t, http.MethodPost, "/channels/555555555555555555/messages")
	if s := text(note.json(t)); !strings.Contains(s, "Visio Plan 2") || !strings.Contains(s, "Alice Adams") {
		t.Errorf("notification: %s", s)
	}
	if m := note.json(t); len(m["nonce"].(string)) != 25 || m["enforce_nonce"] != true {
		t.Errorf("notification without an enforced 25-character nonce: %v %v", m["nonce"], m["enforce_nonce"])
	}
	typ, second := answer(t, e.post(body))
	e.a.Wait()
	e.deliver()
	if typ != cbUpdate || text(second) != text(first) {
		t.Errorf("replay answered %s, want the first answer %s", text(second), text(first))
	}
	e.fake.none(t)
	view, err := e.st.View(t.Context(), testOrg, alice, store.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Subs) != 1 || view.Subs[0].Total != 7 {
		t.Errorf("subscriptions after a replay: %+v, want one of 7 licenses", view.Subs)
	}

	// Buttons run commands: "products" lists the subscription with buttons.
	_, data = answer(t, e.post(e.interaction(aliceEN, itCommand, command("products"), "")))
	var assign string
	for _, row := range data["components"].([]any) {
		for _, b := range row.(map[string]any)["components"].([]any) {
			if id, _ := b.(map[string]any)["custom_id"].(string); strings.HasPrefix(id, buttonPrefix+"assign ") {
				assign = id
			}
		}
	}
	if assign == "" {
		t.Fatalf("no assign button in %s", text(data))
	}
	typ, data = answer(t, e.post(e.interaction(aliceEN, itComponent,
		map[string]any{"custom_id": assign, "component_type": ctButton}, "")))
	users := modalInputs(t, data)["users"]
	if typ != cbModal || users["type"].(float64) != ctUserSelect || users["max_values"].(float64) != 20 {
		t.Fatalf("assign modal: %d %s", typ, text(data))
	}

	// Assign: a bot is refused, naming the field; a member is assigned.
	assignModal := data["custom_id"].(string)
	sub := map[string]any{"type": ctUserSelect, "custom_id": "users", "values": []string{bob, buildbot}}
	submit := map[string]any{"custom_id": assignModal, "components": []any{
		map[string]any{"type": ctLabel, "component": sub},
		map[string]any{"type": ctTextDisplay, "id": 9},
	}}
	_, data = answer(t, e.post(e.interaction(aliceEN, itModalSubmit, submit, "")))
	if c, _ := data["content"].(string); !strings.Contains(c, e.bot.Text("en", "FieldUsers")) {
		t.Errorf("assigning a bot: %s", text(data))
	}
	sub["values"] = []string{bob}
	_, data = answer(t, e.post(e.interaction(aliceEN, itModalSubmit, submit, "")))
	if !strings.Contains(text(data), "Bob Brown") {
		t.Errorf("assigning bob: %s", text(data))
	}
}

func TestDeferredAnswer(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	e.a.handle = func(ctx context.Context, req commands.Request) (commands.Response, error) {
		<-release
		return e.bot.Handle(ctx, req)
	}
	e.a.deferAfter = 0
	typ, data := answer(t, e.post(e.interaction(aliceEN, itCommand, command("catalog"), "320000000000000001")))
	if typ != cbDeferred || data["flags"].(float64) != flagEphemeral {
		t.Fatalf("type %d %v, want a deferred ephemeral answer", typ, data)
	}
	close(release)
	c := e.fake.nextTo(t, http.MethodPatch, "/webhooks/"+testApp+"/tok320000000000000001/messages/@original")
	if !strings.Contains(string(c.Body), "Visio Plan 2") {
		t.Errorf("edit: %s", c.Body)
	}
}

func TestAutocomplete(t *testing.T) {
	e := newEnv(t)
	data := command("buy", map[string]any{"name": "product", "type": optString, "value": "visio", "focused": true})
	typ, got := answer(t, e.post(e.interaction(aliceEN, itAutocomplete, data, "")))
	if typ != cbAutocomplete {
		t.Fatalf("type %d", typ)
	}
	choices := got["choices"].([]any)
	if len(choices) != 1 || choices[0].(map[string]any)["value"] != "visio-plan-2" {
		t.Errorf("choices %v", choices)
	}
}

func TestNotifyRetriesAndDMs(t *testing.T) {
	e := newEnv(t)
	e.a.admins = map[string]bool{alice: true}
	e.fake.limited.Store(1)
	n := commands.Notification{Org: testOrg, Kind: commands.NoteTrial, Key: "k1",
		Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Bob Brown", Licenses: 25}}
	if err := e.a.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	e.fake.nextTo(t, http.MethodPost, "/users/@me/channels")
	e.fake.nextTo(t, http.MethodPost, "/channels/dm"+alice+"/messages")
	n.Redelivery = true // its sender died before acknowledging it: not again
	if err := e.a.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	e.fake.none(t)
	if e.a.Owns("T123") || !e.a.Owns(testOrg) {
		t.Error("Owns")
	}
}

// TestNotifyOnce: a post that reached Discord before its sender died (and
// so was never marked delivered) is not made twice: Discord enforces the
// nonce.
func TestNotifyOnce(t *testing.T) {
	e := newEnv(t)
	if err := e.st.SetAdminChannel(t.Context(), testOrg, alice, "<#555555555555555555>"); err != nil {
		t.Fatal(err)
	}
	n := commands.Notification{Org: testOrg, Kind: commands.NoteTrial, Key: "k1",
		Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Bob Brown", Licenses: 25}}
	if err := e.a.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	// The mark is lost, as if the sender had died right after the post.
	if err := e.st.Client().FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetAdminChannel(t.Context(), testOrg, alice, "<#555555555555555555>"); err != nil {
		t.Fatal(err)
	}
	n.Redelivery = true
	if err := e.a.Notify(t.Context(), n); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.messages("555555555555555555"); got != 1 {
		t.Errorf("%d messages created, want 1", got)
	}
}

// TestNotifyFailures: what each failure tells the outbox.
func TestNotifyFailures(t *testing.T) {
	n := commands.Notification{Org: testOrg, Kind: commands.NoteTrial, Key: "k1",
		Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Bob Brown", Licenses: 25}}
	e := newEnv(t)
	if err := e.a.Notify(t.Context(), n); !errors.Is(err, commands.ErrPermanent) {
		t.Errorf("no admin channel, no admins: %v, want ErrPermanent", err)
	}
	if err := e.st.SetAdminChannel(t.Context(), testOrg, alice, "<#555555555555555555>"); err != nil {
		t.Fatal(err)
	}
	e.fake.failing.Store(http.StatusForbidden)
	if err := e.a.Notify(t.Context(), n); !errors.Is(err, commands.ErrPermanent) {
		t.Errorf("403 Missing Access: %v, want ErrPermanent", err)
	}
	e.fake.failing.Store(http.StatusBadGateway)
	if err := e.a.Notify(t.Context(), n); err == nil || errors.Is(err, commands.ErrPermanent) {
		t.Errorf("502: %v, want an error worth retrying", err)
	}
	e.fake.failing.Store(0)
	e.fake.limited.Store(100)
	var rl *commands.RateLimitedError
	if err := e.a.Notify(t.Context(), n); !errors.As(err, &rl) || rl.Wait != 10*time.Millisecond {
		t.Errorf("rate limited: %v, want a RateLimitedError with the 10 ms Discord asked for", err)
	}
	if err := e.a.Notify(t.Context(), commands.Notification{Org: "slack-T1"}); !errors.Is(err, commands.ErrPermanent) {
		t.Errorf("another platform's organization: %v, want ErrPermanent", err)
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t)
	cfg := Config{AppID: testApp, BotToken: "token", APIURL: e.fake.srv.URL + "/api/v10", HTTPClient: e.fake.srv.Client()}
	got, err := Register(t.Context(), cfg, e.bot, testGuild)
	if err != nil {
		t.Fatal(err)
	}
	c := e.fake.nextTo(t, http.MethodPut, "/applications/"+testApp+"/guilds/"+testGuild+"/commands")
	var sent []ApplicationCommand
	if err := json.Unmarshal(c.Body, &sent); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(sent) != 1 || sent[0].NameLocalizations["de"] != "abrechnung" {
		t.Fatalf("registered %+v", sent)
	}
	checkCommands(t, sent)
	if len(sent[0].Options) != len(e.bot.Specs()) {
		t.Errorf("%d subcommands, want %d", len(sent[0].Options), len(e.bot.Specs()))
	}
}

// TestGermanNames: German users see the command's German words as German
// is written (kündigen, übergabe, zurückziehen) and the admin option's
// choice in German (zeigen); Discord still sends the English names and
// values, which the core reads.
func TestGermanNames(t *testing.T) {
	e := newEnv(t)
	cmds := Commands(e.bot)
	checkCommands(t, cmds)
	sub := func(name string) CommandOption {
		for _, o := range cmds[0].Options {
			if o.Name == name {
				return o
			}
		}
		t.Fatalf("no subcommand %q", name)
		return CommandOption{}
	}
	opt := func(o CommandOption, name string) CommandOption {
		for _, k := range o.Options {
			if k.Name == name {
				return k
			}
		}
		t.Fatalf("%s has no option %q", o.Name, name)
		return CommandOption{}
	}
	if got := sub("cancel").NameLocalizations["de"]; got != "kündigen" {
		t.Errorf("cancel in German = %q, want kündigen", got)
	}
	if got := opt(sub("requests"), "withdraw").NameLocalizations["de"]; got != "zurückziehen" {
		t.Errorf("requests withdraw in German = %q, want zurückziehen", got)
	}
	handover := opt(sub("admin"), "handover")
	if got := handover.NameLocalizations["de"]; got != "übergabe" {
		t.Errorf("admin handover in German = %q, want übergabe", got)
	}
	if len(handover.Choices) != 1 || handover.Choices[0].Value != "show" || handover.Choices[0].NameLocalizations["de"] != "zeigen" {
		t.Errorf("admin handover's choices = %+v, want show, in German zeigen", handover.Choices)
	}
}

var nameRE = regexp.MustCompile(`^[-_'\p{L}\p{N}]{1,32}$`)

// checkCommands checks command definitions against Discord's rules.
func checkCommands(t *testing.T, cmds []ApplicationCommand) {
	t.Helper()
	name := func(where, s string) {
		if !nameRE.MatchString(s) || strings.ToLower(s) != s {
			t.Errorf("%s: name %q breaks Discord's rule", where, s)
		}
	}
	desc := func(where, s string) {
		if n := utf8.RuneCountInString(s); n < 1 || n > maxDescription {
			t.Errorf("%s: description %q has %d characters", where, s, n)
		}
	}
	var walk func(where string, o CommandOption)
	walk = func(where string, o CommandOption) {
		where += "/" + o.Name
		name(where, o.Name)
		desc(where, o.Description)
		if o.NameLocalizations["de"] == "" || o.DescriptionLocalizations["de"] == "" {
			t.Errorf("%s: no German localization", where)
		}
		name(where+"@de", o.NameLocalizations["de"])
		desc(where+"@de", o.DescriptionLocalizations["de"])
		if len(o.Options) > 25 || len(o.Choices) > 25 {
			t.Errorf("%s: too many options or choices", where)
		}
		for _, ch := range o.Choices { // names and values of 1 to 100 characters
			for _, s := range append([]string{ch.Name, ch.Value}, slices.Collect(maps.Values(ch.NameLocalizations))...) {
				if n := utf8.RuneCountInString(s); n < 1 || n > 100 {
					t.Errorf("%s: choice %q has %d characters", where, s, n)
				}
			}
		}
		seen := map[string]bool{}
		for _, k := range o.Options {
			if seen[k.Name] || seen["de:"+k.NameLocalizations["de"]] {
				t.Errorf("%s: option %q twice", where, k.Name)
			}
			seen[k.Name], seen["de:"+k.NameLocalizations["de"]] = true, true
			walk(where, k)
		}
	}
	for _, c := range cmds {
		name(c.Name, c.Name)
		desc(c.Name, c.Description)
		desc(c.Name+"@de", c.DescriptionLocalizations["de"])
		if len(c.Options) > 25 {
			t.Errorf("%s: %d subcommands", c.Name, len(c.Options))
		}
		for _, o := range c.Options {
			walk(c.Name, o)
		}
		if doc, _ := json.Marshal(c); len(doc) > 8000*2 {
			t.Errorf("%s: definition of %d bytes", c.Name, len(doc))
		}
	}
}

func TestGatewayDispatch(t *testing.T) {
	e := newEnv(t)
	raw := e.interaction(aliceDE, itCommand, command("help"), "330000000000000001")
	e.a.onEvent(t.Context(), &discordgo.Event{Type: "INTERACTION_CREATE", RawData: raw})
	c := e.fake.nextTo(t, http.MethodPost, "/interactions/330000000000000001/tok330000000000000001/callback")
	var cb struct {
		Type int            `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(c.Body, &cb); err != nil || cb.Type != cbMessage {
		t.Fatalf("callback %s: %v", c.Body, err)
	}
	if !strings.Contains(text(cb.Data), e.bot.Text("de", "CmdBuy")) {
		t.Errorf("gateway answer not German: %s", text(cb.Data))
	}
	// Other events and junk are ignored.
	e.a.onEvent(t.Context(), &discordgo.Event{Type: "MESSAGE_CREATE", RawData: raw})
	e.a.onEvent(t.Context(), &discordgo.Event{Type: "INTERACTION_CREATE", RawData: []byte(`{junk`)})
	e.fake.none(t)
}

// TestPayLinkChat: a payment link asked for in Discord leads back to the
// channel, and knows the guild's name when the interaction carries it.
func TestPayLinkChat(t *testing.T) {
	tokenRe := regexp.MustCompile(`/pay/([a-z0-9]{48})`)
	tests := []struct {
		name     string
		edit     func(in map[string]any)
		wantName string
		wantURL  string
	}{
		{"guild channel", func(map[string]any) {}, "", "https://discord.com/channels/" + testGuild + "/400000000000000000"},
		{"guild named", func(in map[string]any) {
			in["guild"] = map[string]any{"id": testGuild, "name": "Acme", "locale": "en-US"}
		}, "Acme", "https://discord.com/channels/" + testGuild + "/400000000000000000"},
		{"another guild's name", func(in map[string]any) {
			in["guild"] = map[string]any{"id": "999", "name": "Other"}
		}, "", "https://discord.com/channels/" + testGuild + "/400000000000000000"},
		{"no channel", func(in map[string]any) { delete(in, "channel_id") }, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			var in map[string]any
			if err := json.Unmarshal(e.interaction(aliceEN, itComponent,
				map[string]any{"custom_id": buttonPrefix + "payment add", "component_type": ctButton}, ""), &in); err != nil {
				t.Fatal(err)
			}
			tt.edit(in)
			body, _ := json.Marshal(in)
			_, resp := answer(t, e.post(body))
			m := tokenRe.FindStringSubmatch(fmt.Sprint(resp))
			if m == nil {
				t.Fatalf("no payment link in %v", resp)
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

func TestChatURL(t *testing.T) {
	tests := []struct{ name, guild, channel, want string }{
		{"guild", "111", "222", "https://discord.com/channels/111/222"},
		{"direct message", "", "222", "https://discord.com/channels/@me/222"},
		{"no channel", "111", "", ""},
		{"not a snowflake", "111", "<@222>", ""},
		{"bad guild", "1/1", "222", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := chatURL(tt.guild, tt.channel); got != tt.want {
				t.Errorf("chatURL(%q, %q) = %q, want %q", tt.guild, tt.channel, got, tt.want)
			}
		})
	}
}

// TestConfirmSaidAsAsked: a cancel modal sent without its confirmation is
// refused in the words of the way Discord asks, a list with the one choice
// that confirms, never a box to tick; nothing is canceled.
func TestConfirmSaidAsAsked(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	sub := e.buyVisio()
	for _, tt := range []struct {
		who  who
		want string
	}{
		{aliceEN, "**Confirm**: Choose “Yes, cancel this subscription” in the list to confirm."},
		{aliceDE, "**Bestätigen**: Wählen Sie in der Liste „Ja, dieses Abonnement kündigen“ aus, um zu bestätigen."},
	} {
		t.Run(tt.who.locale, func(t *testing.T) {
			_, data := answer(t, e.post(e.interaction(tt.who, itCommand, command("cancel", opt("subscription", optString, sub)), "")))
			_, data = answer(t, e.post(e.interaction(tt.who, itModalSubmit, submission(data["custom_id"].(string),
				map[string][]string{"subscription": {sub}, "reason": {"too_expensive"}}), "")))
			c, _ := data["content"].(string)
			if !strings.Contains(c, tt.want) {
				t.Errorf("refusal %q, want it to contain %q", c, tt.want)
			}
			if strings.Contains(c, "Tick") || strings.Contains(c, "Häkchen") {
				t.Errorf("refusal %q speaks of a box", c)
			}
			if s, _ := e.st.Subscription(t.Context(), testOrg, sub); s.Status != store.StatusActive {
				t.Errorf("subscription %s after the refusal, want active", s.Status)
			}
		})
	}
}
