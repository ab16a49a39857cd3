package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	testSecret = "test-signing-secret"
	testTeam   = "T1"
	testOrg    = "slack-T1"
)

// t0 is the tests' time (the verifier's and the bot's clock).
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// apiCall is one call the fake Slack Web API received.
type apiCall struct {
	Method string     // e.g. "views.open", or "hook" for a response_url
	Path   string     // the URL's path
	Form   url.Values // form-encoded parameters
	JSON   map[string]any
	Body   string
	// Auth is the token the call used, as "Bearer " + token: the
	// Authorization header, or for a form-encoded call without one its
	// token parameter (slack-go sends most methods' tokens so).
	Auth string
}

// fakeSlack is an httptest fake of the Slack Web API: it answers the
// methods the adapter calls, from a table of users and channels, and
// records every call so that tests can wait for one without sleeping.
type fakeSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	calls    []apiCall
	taken    []bool
	signal   chan struct{}
	users    map[string]map[string]any // id → users.info user
	channels []map[string]any
	limited  map[string]int // method → how many 429s to answer first
	// failing answers a method with a Slack error code (ok: false), or
	// with "503" an HTTP 503, until it is deleted.
	failing map[string]string
	// history is what chat.postMessage posted, by channel, as
	// conversations.history shows it.
	history map[string][]map[string]any
	// views are the modals views.open opened, by view id, as Slack shows
	// them now: views.update replaces one, and refuses an update whose
	// hash is not the view's current one (hash_conflict), as Slack does.
	views map[string]*shownView
	// oauth answers oauth.v2.access by code; an unknown code is
	// invalid_code, as Slack answers.
	oauth map[string]map[string]any
}

// shownView is a modal as Slack shows it: its view and its hash.
type shownView struct {
	view map[string]any
	hash string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := emptyFakeSlack()
	f.t = t
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// emptyFakeSlack is a fake with no users, channels or history, not serving yet.
func emptyFakeSlack() *fakeSlack {
	return &fakeSlack{signal: make(chan struct{}, 1), users: map[string]map[string]any{}, limited: map[string]int{},
		failing: map[string]string{}, history: map[string][]map[string]any{}, views: map[string]*shownView{},
		oauth: map[string]map[string]any{}}
}

func (f *fakeSlack) addUser(id, name, locale string, extra map[string]any) {
	u := map[string]any{"id": id, "team_id": testTeam, "name": strings.ToLower(name), "real_name": name, "locale": locale,
		"profile": map[string]any{"real_name": name, "display_name": name}}
	for k, v := range extra {
		u[k] = v
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[id] = u
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c := apiCall{Body: string(body), Path: r.URL.Path, Auth: r.Header.Get("Authorization")}
	if strings.HasPrefix(r.URL.Path, "/hook/") {
		c.Method = "hook"
	} else {
		c.Method = strings.TrimPrefix(r.URL.Path, "/api/")
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		json.Unmarshal(body, &c.JSON)
	} else {
		c.Form, _ = url.ParseQuery(string(body))
	}
	if tok := c.Form.Get("token"); c.Auth == "" && tok != "" {
		c.Auth = "Bearer " + tok
	}
	f.mu.Lock()
	if n := f.limited[c.Method]; n > 0 {
		f.limited[c.Method] = n - 1
		f.mu.Unlock()
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if code := f.failing[c.Method]; code != "" {
		f.calls = append(f.calls, c)
		f.taken = append(f.taken, false)
		f.mu.Unlock()
		if code == "503" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
		return
	}
	f.calls = append(f.calls, c)
	f.taken = append(f.taken, false)
	answer := f.answer(c)
	f.mu.Unlock()
	select {
	case f.signal <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer)
}

// answer is the fake's reply to a call (under f.mu).
func (f *fakeSlack) answer(c apiCall) any {
	ok := map[string]any{"ok": true}
	if (c.Method == "users.list" || c.Method == "conversations.list") && strings.Contains(c.Auth, "-grid-") && c.Form.Get("team_id") == "" {
		// An Enterprise Grid org-wide install's token (the tests' say
		// "grid") serves many workspaces: these need the one meant.
		return map[string]any{"ok": false, "error": "missing_argument"}
	}
	switch c.Method {
	case "users.info":
		u, found := f.users[c.Form.Get("user")]
		if !found {
			return map[string]any{"ok": false, "error": "user_not_found"}
		}
		return map[string]any{"ok": true, "user": u}
	case "users.list":
		var members []any
		for _, u := range f.users {
			members = append(members, u)
		}
		return map[string]any{"ok": true, "members": members}
	case "conversations.open":
		return map[string]any{"ok": true, "channel": map[string]any{"id": "D" + c.Form.Get("users")}}
	case "conversations.list":
		return map[string]any{"ok": true, "channels": f.channels}
	case "chat.postMessage":
		msg := map[string]any{"type": "message", "text": c.Form.Get("text"), "ts": "1700000000.000100"}
		if m := c.Form.Get("metadata"); m != "" {
			var meta map[string]any
			json.Unmarshal([]byte(m), &meta)
			msg["metadata"] = meta
		}
		f.history[c.Form.Get("channel")] = append(f.history[c.Form.Get("channel")], msg)
		return map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": "1700000000.000100"}
	case "conversations.history":
		return map[string]any{"ok": true, "messages": f.history[c.Form.Get("channel")], "has_more": false}
	case "chat.postEphemeral":
		return map[string]any{"ok": true, "message_ts": "1700000000.000200"}
	case "views.open":
		id := fmt.Sprintf("V-OPENED-%d", len(f.views)+1)
		v := &shownView{view: mapOf(c.JSON["view"]), hash: fmt.Sprintf("H-%d-1", len(f.views)+1)}
		f.views[id] = v
		return map[string]any{"ok": true, "view": map[string]any{"id": id, "hash": v.hash}}
	case "views.update":
		id, _ := c.JSON["view_id"].(string)
		v, open := f.views[id]
		if !open {
			return map[string]any{"ok": true, "view": map[string]any{"id": id}} // a view the tests made up
		}
		if h, _ := c.JSON["hash"].(string); h != "" && h != v.hash {
			return map[string]any{"ok": false, "error": "hash_conflict"}
		}
		v.view, v.hash = mapOf(c.JSON["view"]), fmt.Sprintf("%s+", v.hash)
		return map[string]any{"ok": true, "view": map[string]any{"id": id, "hash": v.hash}}
	case "views.publish":
		return map[string]any{"ok": true, "view": map[string]any{"id": "V-HOME"}}
	case "oauth.v2.access":
		if a, ok := f.oauth[c.Form.Get("code")]; ok {
			return a
		}
		return map[string]any{"ok": false, "error": "invalid_code"}
	}
	return ok
}

// shown is the modal view id as Slack shows it now, and its hash.
func (f *fakeSlack) shown(id string) (map[string]any, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.views[id]
	if !ok {
		f.t.Fatalf("no view %s was opened", id)
	}
	return v.view, v.hash
}

func mapOf(x any) map[string]any {
	m, _ := x.(map[string]any)
	return m
}

// waitFor returns the next call of method that no test took yet, waiting
// for it (the deadline only guards against a hang).
func (f *fakeSlack) waitFor(method string) apiCall {
	f.t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		for i, c := range f.calls {
			if !f.taken[i] && c.Method == method {
				f.taken[i] = true
				f.mu.Unlock()
				return c
			}
		}
		f.mu.Unlock()
		select {
		case <-f.signal:
		case <-deadline.C:
			f.t.Fatalf("no %s call; calls: %v", method, f.methods())
		}
	}
}

// count is how many calls of method were received.
func (f *fakeSlack) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Method == method {
			n++
		}
	}
	return n
}

func (f *fakeSlack) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Method)
	}
	return out
}

// env is an adapter on a real bot on miniredis, talking to a fake Slack.
type env struct {
	t     *testing.T
	addr  string     // of the Redis
	logs  *logBuffer // what the bot and the adapter logged
	slack *fakeSlack
	st    *store.Store
	bot   *commands.Bot
	a     *Adapter
	now   time.Time
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

func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	return newEnvAt(t, miniredis.RunT(t).Addr(), opts...)
}

// newEnvAt is newEnv on the Redis at addr. The bot's and the adapter's
// logs, and the log line serve writes for every request, go to the test's
// log and to env.logs.
func newEnvAt(t *testing.T, addr string, opts ...func(*Config)) *env {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(testLog{t, logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: "https://pay.example"},
		commands.WithClock(func() time.Time { return t0 }), commands.WithLogger(log),
		commands.WithObserver(func(ctx context.Context, o commands.Outcome) {
			log.InfoContext(ctx, "request", "org", o.Org, "command", o.Command, "result", o.Result)
		}))
	if err != nil {
		t.Fatal(err)
	}
	fs := newFakeSlack(t)
	fs.addUser("U1", "Alice", "en-US", nil)
	fs.addUser("U2", "Bob", "en-US", nil)
	fs.addUser("U3", "Dora", "de-DE", nil)
	fs.addUser("U4", "Dave", "en-US", map[string]any{"is_admin": true})
	fs.addUser("UBOT", "Buildbot", "en-US", map[string]any{"is_bot": true})
	fs.addUser("UGONE", "Mallory", "en-US", map[string]any{"deleted": true})
	fs.addUser("UOTHER", "Zoe", "en-US", map[string]any{"team_id": "T2"})
	cfg := Config{SigningSecret: testSecret, BotToken: "xoxb-test", APIURL: fs.srv.URL + "/api/",
		Now: func() time.Time { return t0 }, Log: log, HTTPClient: fs.srv.Client()}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.ClientID != "" && cfg.Installations == nil {
		if cfg.Installations, err = st.Credentials("slack", cfg.SecretKey); err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(cfg, bot, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.wg.Wait) // background work ends before miniredis does
	return &env{t: t, addr: addr, logs: logs, slack: fs, st: st, bot: bot, a: a, now: t0}
}

// testLog writes logs to the test's log, and keeps them.
type testLog struct {
	t    *testing.T
	keep *logBuffer
}

func (l testLog) Write(p []byte) (int, error) {
	l.keep.Write(p)
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
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

// addCard gives a user a payment method, as the payment page does.
func (e *env) addCard(user string) {
	e.t.Helper()
	ctx := context.Background()
	token, err := e.st.CreatePayLink(ctx, store.PayLink{Org: testOrg, User: user, ProfileID: "default", Lang: "en",
		Expires: t0.Add(30 * time.Minute), Quiet: true}, 30*time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.bot.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "123", ExpMonth: 12, ExpYear: 2030}); err != nil {
		e.t.Fatal(err)
	}
}

// addSecondCard gives a user a second payment method (a Mastercard).
func (e *env) addSecondCard(user string) {
	e.t.Helper()
	ctx := context.Background()
	token, err := e.st.CreatePayLink(ctx, store.PayLink{Org: testOrg, User: user, ProfileID: "default", Lang: "en",
		Expires: t0.Add(30 * time.Minute), Quiet: true}, 30*time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.bot.CompletePayLink(ctx, token, payment.Card{Number: "5555555555554444", CVC: "123", ExpMonth: 12, ExpYear: 2030}); err != nil {
		e.t.Fatal(err)
	}
}

// sign signs a body as Slack does, at the env's time.
func sign(secret string, ts int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:%s", ts, body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends a signed request to the adapter and returns the recorder.
func (e *env) post(contentType, body string, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	ts := e.now.Unix()
	r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	r.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.a.ServeHTTP(w, r)
	checkLength(e.t, w)
	return w
}

// checkLength fails t unless an answer of JSON says its length, so that one
// over 2 KB is not sent in chunks.
func checkLength(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code == http.StatusOK && w.Header().Get("Content-Type") == "application/json" && w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
		t.Fatalf("Content-Length %q for a body of %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
	}
}

const formType = "application/x-www-form-urlencoded"

// command sends "/billing text" from a user.
func (e *env) command(user, text, trigger string) *httptest.ResponseRecorder {
	v := url.Values{"command": {"/billing"}, "text": {text}, "team_id": {testTeam}, "user_id": {user},
		"user_name": {strings.ToLower(user)}, "channel_id": {"C100"}, "trigger_id": {trigger},
		"response_url": {e.slack.srv.URL + "/hook/" + trigger}}
	return e.post(formType, v.Encode())
}

// interact sends an interactivity payload.
func (e *env) interact(payload any, hdr ...string) *httptest.ResponseRecorder {
	doc, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.post(formType, url.Values{"payload": {string(doc)}}.Encode(), hdr...)
}

// submission is a view_submission payload for a view that views.open
// received, with values by block id: strings for text and numbers,
// []string for people, sel(v) for a select, checked(v) for checkboxes.
func (e *env) submission(user, viewID string, view map[string]any, values map[string]any) map[string]any {
	state := map[string]any{}
	for id, v := range values {
		var st map[string]any
		switch v := v.(type) {
		case string:
			st = map[string]any{"type": "plain_text_input", "value": v}
			if elementType(view, id) == "number_input" {
				st["type"] = "number_input"
			}
		case []string:
			st = map[string]any{"type": "multi_users_select", "selected_users": v}
		case sel:
			st = map[string]any{"type": "static_select", "selected_option": map[string]any{"value": string(v)}}
		case checked:
			opts := []any{}
			for _, o := range v {
				opts = append(opts, map[string]any{"value": o})
			}
			st = map[string]any{"type": "checkboxes", "selected_options": opts}
		}
		state[id] = map[string]any{id: st}
	}
	return map[string]any{"type": "view_submission", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": user, "team_id": testTeam, "name": strings.ToLower(user)},
		"view": map[string]any{"id": viewID, "type": "modal", "callback_id": view["callback_id"],
			"private_metadata": view["private_metadata"], "blocks": view["blocks"], "state": map[string]any{"values": state}}}
}

type sel string
type checked []string

// elementType is the type of the element of a view's input block.
func elementType(view map[string]any, block string) string {
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		if m := mapOf(b); m["block_id"] == block {
			t, _ := mapOf(m["element"])["type"].(string)
			return t
		}
	}
	return ""
}

// shownValues are the values a modal shows before the user changes any,
// as submission takes them: what Slack submits when the user just clicks
// the submit button.
func shownValues(view map[string]any) map[string]any {
	values := map[string]any{}
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		m := mapOf(b)
		if m["type"] != "input" {
			continue
		}
		id, _ := m["block_id"].(string)
		el := mapOf(m["element"])
		switch {
		case el["initial_option"] != nil:
			values[id] = sel(fmt.Sprint(mapOf(el["initial_option"])["value"]))
		case el["initial_options"] != nil:
			var c checked
			for _, o := range el["initial_options"].([]any) {
				c = append(c, fmt.Sprint(mapOf(o)["value"]))
			}
			values[id] = c
		case el["initial_users"] != nil:
			var users []string
			for _, u := range el["initial_users"].([]any) {
				users = append(users, fmt.Sprint(u))
			}
			values[id] = users
		case el["initial_value"] != nil:
			values[id] = fmt.Sprint(el["initial_value"])
		case el["initial_date"] != nil:
			values[id] = fmt.Sprint(el["initial_date"])
		}
	}
	return values
}

// change is the block_actions payload of a user who changed the input
// block of a modal to values (all of the modal's values now, as
// submission takes them): the view as Slack shows it (view id, hash) and
// the action of that input.
func (e *env) change(user, viewID, hash string, view map[string]any, values map[string]any, block string) map[string]any {
	p := e.submission(user, viewID, view, values)
	p["type"] = "block_actions"
	v := p["view"].(map[string]any)
	v["hash"], v["title"] = hash, view["title"]
	act := map[string]any{"block_id": block, "action_id": block, "action_ts": "1700000001.000100"}
	for k, x := range v["state"].(map[string]any)["values"].(map[string]any)[block].(map[string]any)[block].(map[string]any) {
		act[k] = x
	}
	p["actions"] = []any{act}
	return p
}

// openedView is the view of a views.open call, and its trigger id.
func openedView(c apiCall) (map[string]any, string) {
	v, _ := c.JSON["view"].(map[string]any)
	trig, _ := c.JSON["trigger_id"].(string)
	return v, trig
}

// blockIDs lists a view's blocks as type:block_id.
func blockIDs(view map[string]any) []string {
	var out []string
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		out = append(out, fmt.Sprintf("%v:%v", m["type"], m["block_id"]))
	}
	return out
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

var storeViewAll = store.ViewOptions{All: true}
