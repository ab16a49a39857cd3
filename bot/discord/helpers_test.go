package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/outbox"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

const (
	testGuild = "111111111111111111"
	testOrg   = orgPrefix + testGuild
	alice     = "200000000000000001" // purchaser, admin
	bob       = "200000000000000002"
	buildbot  = "200000000000000009" // a bot user
	testApp   = "999999999999999999"
	// adminChannel is a text channel of the test guild, otherChannel one
	// of another guild.
	adminChannel = "555555555555555555"
	otherGuild   = "122222222222222222"
	otherChannel = "566666666666666666"
)

// call is a request the fake Discord API received.
type call struct {
	Method, Path string
	Body         []byte
}

func (c call) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Body, &m); err != nil {
		t.Fatalf("%s %s: body %s: %v", c.Method, c.Path, c.Body, err)
	}
	return m
}

// fakeDiscord is an httptest fake of the REST endpoints the adapter calls.
type fakeDiscord struct {
	srv     *httptest.Server
	calls   chan call
	members map[string]map[string]any // user id → member object
	limited atomic.Int32              // answer this many requests with 429 first
	// failing, when set, is the HTTP status every message post gets.
	failing atomic.Int32
	// channels are what GET /channels/{id} answers (others: 404), and
	// everyone the permissions of the test guild's @everyone role (set
	// them with setChannel and setEveryone).
	channels map[string]map[string]any
	everyone string

	mu      sync.Mutex
	nonces  map[string]bool // of messages created with enforce_nonce
	created map[string]int  // channel → messages created
}

// guarded runs get under the fake's lock.
func (f *fakeDiscord) guarded(get func() any) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return get()
}

// setChannel makes GET /channels/{id} answer ch (nil: 404).
func (f *fakeDiscord) setChannel(id string, ch map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch == nil {
		delete(f.channels, id)
		return
	}
	f.channels[id] = ch
}

// setEveryone sets the permissions of the test guild's @everyone role.
func (f *fakeDiscord) setEveryone(perms string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.everyone = perms
}

// messages is how many messages were created in a channel.
func (f *fakeDiscord) messages(channel string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created[channel]
}

func newFakeDiscord(t *testing.T) *fakeDiscord {
	f := &fakeDiscord{calls: make(chan call, 100), nonces: map[string]bool{}, created: map[string]int{}, members: map[string]map[string]any{
		alice:    {"user": map[string]any{"id": alice, "username": "alice", "global_name": "Alice Adams"}},
		bob:      {"user": map[string]any{"id": bob, "username": "bob", "global_name": "Bob Brown"}},
		buildbot: {"user": map[string]any{"id": buildbot, "username": "buildbot", "bot": true}},
		testApp:  {"user": map[string]any{"id": testApp, "username": "billingbot", "bot": true}, "roles": []string{}},
	}, everyone: "8", channels: map[string]map[string]any{
		adminChannel: {"id": adminChannel, "guild_id": testGuild, "name": "billing-admins", "type": 0},
		otherChannel: {"id": otherChannel, "guild_id": otherGuild, "name": "billing-admins", "type": 0},
	}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		path := strings.TrimPrefix(r.URL.Path, "/api/v10")
		if f.limited.Load() > 0 {
			f.limited.Add(-1)
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"message":"You are being rate limited.","retry_after":0.01,"global":false}`)
			return
		}
		f.calls <- call{Method: r.Method, Path: path, Body: body}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && path == "/users/@me/channels":
			var req struct {
				RecipientID string `json:"recipient_id"`
			}
			_ = json.Unmarshal(body, &req)
			_, _ = fmt.Fprintf(w, `{"id":"dm%s","type":1}`, req.RecipientID)
		case r.Method == http.MethodGet && path == "/guilds/"+testGuild:
			// alice owns the guild; the role "Admins" has the Administrator
			// permission (8), "Mods" only Manage Messages, and @everyone
			// (the guild's id) is given Administrator to check that it is
			// not taken for an admins' role.
			_, _ = fmt.Fprintf(w, `{"id":%q,"owner_id":%q,"roles":[{"id":%q,"permissions":%q},{"id":"700000000000000001","permissions":"8"},{"id":"700000000000000002","permissions":"8192"}]}`,
				testGuild, alice, testGuild, f.guarded(func() any { return f.everyone }))
		case r.Method == http.MethodGet && path == "/guilds/"+testGuild+"/channels":
			list := []map[string]any{}
			f.guarded(func() any {
				for _, ch := range f.channels {
					if ch["guild_id"] == testGuild {
						list = append(list, ch)
					}
				}
				return nil
			})
			_ = json.NewEncoder(w).Encode(list)
		case r.Method == http.MethodGet && path == "/users/@me/guilds":
			if r.URL.Query().Get("after") != "" {
				_, _ = io.WriteString(w, `[]`)
				return
			}
			_, _ = fmt.Fprintf(w, `[{"id":%q,"name":"Test guild"}]`, testGuild)
		case r.Method == http.MethodGet && path == "/users/@me":
			_, _ = fmt.Fprintf(w, `{"id":%q,"username":"billingbot","bot":true}`, testApp)
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/channels/"):
			ch, _ := f.guarded(func() any { return f.channels[strings.TrimPrefix(path, "/channels/")] }).(map[string]any)
			if ch == nil {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"message":"Unknown Channel","code":10003}`)
				return
			}
			_ = json.NewEncoder(w).Encode(ch)
		case r.Method == http.MethodGet && path == "/guilds/"+testGuild+"/members":
			_, _ = fmt.Fprintf(w, `[{"user":{"id":%q,"username":"bob","global_name":"Bob Brown"},"roles":["700000000000000001"]},`+
				`{"user":{"id":%q,"username":"buildbot","bot":true},"roles":["700000000000000001"]},`+
				`{"user":{"id":"200000000000000003","username":"carol","global_name":"Carol Clark"},"roles":["700000000000000002"]}]`, bob, buildbot)
		case r.Method == http.MethodGet && strings.HasPrefix(path, "/guilds/"+testGuild+"/members/"):
			m, ok := f.members[strings.TrimPrefix(path, "/guilds/"+testGuild+"/members/")]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"message":"Unknown Member","code":10007}`)
				return
			}
			_ = json.NewEncoder(w).Encode(m)
		case r.Method == http.MethodPut:
			_, _ = w.Write(body)
		case r.Method == http.MethodPost && strings.HasPrefix(path, "/channels/") && strings.HasSuffix(path, "/messages"):
			if s := f.failing.Load(); s != 0 {
				w.WriteHeader(int(s))
				_, _ = io.WriteString(w, `{"message":"failing","code":0}`)
				return
			}
			var m struct {
				Nonce        string `json:"nonce"`
				EnforceNonce bool   `json:"enforce_nonce"`
			}
			_ = json.Unmarshal(body, &m)
			ch := strings.TrimSuffix(strings.TrimPrefix(path, "/channels/"), "/messages")
			f.mu.Lock()
			if !m.EnforceNonce || m.Nonce == "" || !f.nonces[m.Nonce] {
				f.nonces[m.Nonce] = m.EnforceNonce && m.Nonce != ""
				f.created[ch]++
			}
			f.mu.Unlock()
			_, _ = io.WriteString(w, `{"id":"1"}`)
		default:
			_, _ = io.WriteString(w, `{"id":"1"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// next waits for the next call the fake received.
func (f *fakeDiscord) next(t *testing.T) call {
	t.Helper()
	select {
	case c := <-f.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for a call to the Discord API")
		return call{}
	}
}

// nextTo waits for the next call to a path, skipping others.
func (f *fakeDiscord) nextTo(t *testing.T, method, path string) call {
	t.Helper()
	for {
		c := f.next(t)
		if c.Method == method && c.Path == path {
			return c
		}
	}
}

// none checks that no call is pending.
func (f *fakeDiscord) none(t *testing.T) {
	t.Helper()
	select {
	case c := <-f.calls:
		t.Errorf("unexpected call %s %s %s", c.Method, c.Path, c.Body)
	default:
	}
}

// env is a real bot on miniredis with the Discord adapter in front of it
// and a fake Discord behind it.
type env struct {
	t    *testing.T
	addr string // of the Redis
	logs *logBuffer
	st   *store.Store
	bot  *commands.Bot
	a    *Adapter
	fake *fakeDiscord
	priv ed25519.PrivateKey
	seq  atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, miniredis.RunT(t).Addr())
}

// newEnvAt is newEnv on the Redis at addr, with the bot's options opts
// besides the log's. The bot's and the adapter's logs, at every level, and
// the log line serve writes for every request, go to env.logs.
func newEnvAt(t *testing.T, addr string, opts ...commands.BotOption) *env {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	st := store.New(rdb)
	logs := &logBuffer{}
	quiet := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(),
		commands.Config{PublicURL: "http://localhost:8080"}, append([]commands.BotOption{commands.WithLogger(quiet),
			commands.WithObserver(func(ctx context.Context, o commands.Outcome) {
				quiet.InfoContext(ctx, "request", "org", o.Org, "command", o.Command, "result", o.Result)
			})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	fake := newFakeDiscord(t)
	a, err := New(Config{PublicKey: hex.EncodeToString(pub), AppID: testApp, BotToken: "token",
		APIURL: fake.srv.URL + "/api/v10", HTTPClient: fake.srv.Client(), Log: quiet}, bot, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Wait)
	return &env{t: t, addr: addr, logs: logs, st: st, bot: bot, a: a, fake: fake, priv: priv}
}

// logBuffer is a log that the adapter's goroutines and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deliver runs a sender over the outboxes, as serve does, until nothing is
// due.
func (e *env) deliver() {
	e.t.Helper()
	// The due jobs first: the charges of new invoices.
	if _, err := e.bot.RunDue(e.t.Context()); err != nil {
		e.t.Fatalf("due jobs: %v", err)
	}
	s := outbox.New(e.st, []commands.Notifier{e.a}, outbox.Config{Log: e.a.log})
	if err := s.Drain(e.t.Context()); err != nil {
		e.t.Fatalf("deliver: %v", err)
	}
}

// card gives a user a payment method.
func (e *env) card(userID string) {
	e.t.Helper()
	token, err := e.st.CreatePayLink(e.t.Context(), store.PayLink{Org: testOrg, User: userID, ProfileID: "default",
		Lang: "en", Expires: time.Now().Add(30 * time.Minute), Quiet: true}, 30*time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.bot.CompletePayLink(e.t.Context(), token, payment.Card{Number: "4242424242424242", CVC: "123",
		ExpMonth: 12, ExpYear: 2030, Name: "Alice Adams", Address: "Hauptstr. 1, Berlin"}); err != nil {
		e.t.Fatal(err)
	}
}

// post sends a body to the endpoint, signed with the test's key.
func (e *env) post(body []byte) *httptest.ResponseRecorder {
	e.t.Helper()
	ts := fmt.Sprint(time.Now().Unix())
	sig := ed25519.Sign(e.priv, append([]byte(ts), body...))
	r := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
	r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	r.Header.Set("X-Signature-Timestamp", ts)
	w := httptest.NewRecorder()
	e.a.ServeHTTP(w, r)
	if w.Code >= 500 {
		e.t.Fatalf("status %d for %s", w.Code, body)
	}
	if w.Code == http.StatusOK && w.Header().Get("Content-Type") == "application/json" && w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		e.t.Fatalf("Content-Length %q for a body of %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}
	return w
}

// who sends an interaction.
type who struct {
	id, name, locale string
	perms            int64
}

var (
	aliceEN = who{id: alice, name: "Alice Adams", locale: "en-US", perms: permAdministrator}
	aliceDE = who{id: alice, name: "Alice Adams", locale: "de", perms: permAdministrator}
	bobEN   = who{id: bob, name: "Bob Brown", locale: "en-US"}
)

// interaction builds an interaction of a type with data from w in the
// test guild; its id is fresh unless id is set.
func (e *env) interaction(w who, typ int, data any, id string) []byte {
	e.t.Helper()
	if id == "" {
		id = fmt.Sprint(300000000000000000 + e.seq.Add(1))
	}
	in := map[string]any{
		"id": id, "application_id": testApp, "type": typ, "token": "tok" + id,
		"guild_id": testGuild, "channel_id": "400000000000000000", "locale": w.locale, "guild_locale": "en-US",
		"member": map[string]any{"user": map[string]any{"id": w.id, "username": strings.ToLower(w.name), "global_name": w.name},
			"permissions": fmt.Sprint(w.perms)},
		"data": data,
	}
	doc, err := json.Marshal(in)
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// command builds a /billing command with a subcommand and options.
func command(sub string, opts ...map[string]any) map[string]any {
	s := map[string]any{"name": sub, "type": optSubcommand}
	if len(opts) > 0 {
		s["options"] = opts
	}
	return map[string]any{"id": "1", "name": "billing", "type": 1, "options": []any{s}}
}

func opt(name string, typ int, value any) map[string]any {
	return map[string]any{"name": name, "type": typ, "value": value}
}

// answer decodes an interaction response.
func answer(t *testing.T, w *httptest.ResponseRecorder) (int, map[string]any) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var cb struct {
		Type int            `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &cb); err != nil {
		t.Fatalf("answer %s: %v", w.Body, err)
	}
	return cb.Type, cb.Data
}

// text is all text of a message, for checks.
func text(m map[string]any) string {
	doc, _ := json.Marshal(m)
	return string(doc)
}

// modalInputs maps a modal's input custom ids to their components.
func modalInputs(t *testing.T, m map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	comps, _ := m["components"].([]any)
	for _, c := range comps {
		c := c.(map[string]any)
		if inner, ok := c["component"].(map[string]any); ok {
			if c["type"].(float64) != ctLabel {
				t.Errorf("component wrapper type %v, want Label", c["type"])
			}
			out[inner["custom_id"].(string)] = inner
		}
	}
	return out
}

// submission builds modal-submit data: input id → values, each in a Label.
func submission(customID string, values map[string][]string, textInputs ...string) map[string]any {
	isText := map[string]bool{}
	for _, id := range textInputs {
		isText[id] = true
	}
	var comps []any
	for id, v := range values {
		inner := map[string]any{"custom_id": id}
		if isText[id] {
			inner["type"], inner["value"] = ctTextInput, strings.Join(v, "")
		} else {
			inner["type"], inner["values"] = ctStringSelect, v
		}
		comps = append(comps, map[string]any{"type": ctLabel, "id": len(comps) + 1, "component": inner})
	}
	return map[string]any{"custom_id": customID, "components": comps}
}

// click is a click of w on the button customID of msg, a message the bot
// sent, which Discord sends along with the interaction; its id is fresh
// unless id is set.
func (e *env) click(w who, msg map[string]any, customID, id string) []byte {
	e.t.Helper()
	return e.withMessage(e.interaction(w, itComponent, map[string]any{"custom_id": customID, "component_type": ctButton}, id), msg)
}

// withMessage is an interaction that carries msg, as Discord sends the
// message of a clicked button, or of the button that opened a modal.
func (e *env) withMessage(interaction []byte, msg map[string]any) []byte {
	e.t.Helper()
	var in map[string]any
	if err := json.Unmarshal(interaction, &in); err != nil {
		e.t.Fatal(err)
	}
	in["message"] = map[string]any{"id": "500000000000000001", "flags": flagEphemeral, "content": msg["content"],
		"embeds": msg["embeds"], "components": msg["components"]}
	doc, err := json.Marshal(in)
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// buttonsOf are the buttons of a message, row by row.
func buttonsOf(msg map[string]any) []map[string]any {
	var out []map[string]any
	rows, _ := msg["components"].([]any)
	for _, row := range rows {
		bs, _ := row.(map[string]any)["components"].([]any)
		for _, b := range bs {
			out = append(out, b.(map[string]any))
		}
	}
	return out
}

// confirmation checks that an answer is a confirmation with a Pay and a
// Back button and returns their custom ids.
func confirmation(t *testing.T, typ int, msg map[string]any) (pay, back string) {
	t.Helper()
	bs := buttonsOf(msg)
	if typ != cbMessage || len(bs) != 2 {
		t.Fatalf("answer %d %s, want a confirmation with two buttons", typ, text(msg))
	}
	pay, _ = bs[0]["custom_id"].(string)
	back, _ = bs[1]["custom_id"].(string)
	if !strings.HasPrefix(pay, confirmPrefix) || !strings.HasPrefix(back, confirmPrefix) {
		t.Fatalf("confirmation buttons %q and %q, want both with %q", pay, back, confirmPrefix)
	}
	return pay, back
}
