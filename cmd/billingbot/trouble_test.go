package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// served is billingbot serve, in this process, with Slack and Discord over
// HTTP in front of a fake of both platforms' APIs.
type served struct {
	t    *testing.T
	base string // http://127.0.0.1:PORT
	st   *store.Store
	priv ed25519.PrivateKey
	api  *fakeAPI
	m    *metrics
}

const (
	testSigningSecret = "test-signing-secret"
	testDiscordApp    = "100000000000000001"
	testGuild         = "200000000000000002"
)

// serveOn starts serve on a store at redisURL (through store.Connect, as
// the binary does).
func serveOn(t *testing.T, redisURL string) *served {
	t.Helper()
	return serveWith(t, redisURL, serveOptions{})
}

// serveOptions are what a test changes about serve.
type serveOptions struct {
	pay payment.Provider  // nil: the sandbox
	log io.Writer         // the log, at every level; nil: discarded
	env map[string]string // more environment, over the defaults
	m   *metrics          // nil: new ones
}

// serveWith starts serve on a store at redisURL, on a free loopback port
// that is also its public URL (BILLINGBOT_PUBLIC_URL), so that the links
// it gives out lead to itself.
func serveWith(t *testing.T, redisURL string, o serveOptions) *served {
	t.Helper()
	rdb, err := store.Connect(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	api := newFakeAPI(t)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	env := map[string]string{
		"SLACK_SIGNING_SECRET": testSigningSecret, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": api.srv.URL + "/slack/",
		"DISCORD_PUBLIC_KEY": hex.EncodeToString(pub), "DISCORD_APP_ID": testDiscordApp, "DISCORD_BOT_TOKEN": "discord-test",
		"DISCORD_API_URL": api.srv.URL + "/discord", "BILLINGBOT_PUBLIC_URL": base, "BILLINGBOT_LOG_LEVEL": "debug",
	}
	maps.Copy(env, o.env)
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	w := o.log
	if w == nil {
		w = io.Discard
	}
	log := cfg.logger(w)
	pay := o.pay
	if pay == nil {
		pay = payment.NewSandbox()
	}
	m := o.m
	if m == nil {
		m = newMetrics()
	}
	bot, err := commands.New(st, catalog.Demo(), pay, cfg.core(), commands.WithLogger(log), commands.WithObserver(m.observe(log)))
	if err != nil {
		t.Fatal(err)
	}
	platforms, err := configurePlatforms(cfg, env, bot, st, log, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { done <- serve(ctx, ln, st, bot, pay, platforms, cfg, m, log) }()
	t.Cleanup(func() { cancel(); <-done })
	return &served{t: t, base: base, st: st, priv: priv, api: api, m: m}
}

// slash sends a signed /billing command line from a Slack user and returns
// the status and body of the answer.
func (s *served) slash(team, user, text string) (int, string) {
	s.t.Helper()
	return s.slashIn(team, "", "", user, text)
}

// slashIn is slash from a conversation (channel) of a workspace whose
// domain Slack names; empty ones are left out, as Slack does.
func (s *served) slashIn(team, domain, channel, user, text string) (int, string) {
	s.t.Helper()
	v := url.Values{"team_id": {team}, "user_id": {user}, "user_name": {user}, "command": {"/billing"}, "text": {text},
		"response_url": {s.api.srv.URL + "/hook/" + user}, "trigger_id": {"trig"}}
	if domain != "" {
		v.Set("team_domain", domain)
	}
	if channel != "" {
		v.Set("channel_id", channel)
	}
	return s.slack("application/x-www-form-urlencoded", v.Encode())
}

// submit sends a signed view_submission of a form from a Slack user.
func (s *served) submit(team, user, viewID, formID string, values map[string]string) (int, string) {
	s.t.Helper()
	state := map[string]any{}
	var blocks []any
	for k, v := range values {
		state[k] = map[string]any{k: map[string]any{"type": "static_select", "selected_option": map[string]any{"value": v}}}
		blocks = append(blocks, map[string]any{"type": "input", "block_id": k})
	}
	meta, _ := json.Marshal(map[string]string{"ru": s.api.srv.URL + "/hook/" + user}) // the adapter's private_metadata
	payload, _ := json.Marshal(map[string]any{"type": "view_submission", "team": map[string]any{"id": team},
		"user": map[string]any{"id": user, "name": user, "team_id": team},
		"view": map[string]any{"id": viewID, "type": "modal", "callback_id": formID, "private_metadata": string(meta),
			"blocks": blocks, "state": map[string]any{"values": state}}})
	return s.slack("application/x-www-form-urlencoded", url.Values{"payload": {string(payload)}}.Encode())
}

func (s *served) slack(contentType, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.base+"/slack/events", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(testSigningSecret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return do(s.t, req)
}

// discord sends a signed /billing interaction from a guild's member.
func (s *served) discord(user, sub string) (int, string) {
	s.t.Helper()
	id := strconv.FormatInt(300000000000000000+time.Now().UnixNano()%100000000000000, 10)
	doc, _ := json.Marshal(map[string]any{"id": id, "application_id": testDiscordApp, "type": 2, "token": "tok" + id,
		"guild_id": testGuild, "channel_id": "400000000000000000", "locale": "de", "guild_locale": "de",
		"member": map[string]any{"user": map[string]any{"id": user, "username": "alice"}, "permissions": "0"},
		"data":   map[string]any{"id": "1", "name": "billing", "type": 1, "options": []any{map[string]any{"name": sub, "type": 1}}}})
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, _ := http.NewRequest(http.MethodPost, s.base+"/discord/interactions", bytes.NewReader(doc))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(s.priv, append([]byte(ts), doc...))))
	req.Header.Set("X-Signature-Timestamp", ts)
	return do(s.t, req)
}

func (s *served) ready() int {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+"/readyz", nil)
	code, _ := do(s.t, req)
	return code
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fakeAPI is an httptest fake of the Slack Web API (/slack/…) and the
// Discord REST API (/discord/…) that answers what the adapters call, and
// records the answers posted to response_urls (/hook/USER) and the Slack
// Web API calls. Its users speak German unless setLocale says otherwise;
// every direct message conversation is D1.
type fakeAPI struct {
	srv     *httptest.Server
	mu      sync.Mutex
	hooks   map[string][]string // user → bodies posted to the user's response_url
	calls   []apiCall           // Slack Web API calls, oldest first
	locales map[string]string   // user → locale of users.info
}

// apiCall is a call of the Slack Web API: its method and its form.
type apiCall struct {
	Method string // e.g. "chat.postMessage"
	Form   url.Values
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{hooks: map[string][]string{}, locales: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/hook/"):
			f.mu.Lock()
			user := strings.TrimPrefix(p, "/hook/")
			f.hooks[user] = append(f.hooks[user], string(body))
			f.mu.Unlock()
			fmt.Fprint(w, `{"ok":true}`)
		case strings.HasPrefix(p, "/slack/"):
			v, _ := url.ParseQuery(string(body))
			f.mu.Lock()
			f.calls = append(f.calls, apiCall{Method: strings.TrimPrefix(p, "/slack/"), Form: v})
			locale := f.locales[v.Get("user")]
			f.mu.Unlock()
			if p != "/slack/users.info" {
				fmt.Fprint(w, `{"ok":true,"channel":{"id":"D1"},"ts":"1.1","view":{"id":"V1"}}`)
				return
			}
			if locale == "" {
				locale = "de-DE"
			}
			fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"team_id":"T1","name":"alice","real_name":"Alice","locale":%q,"profile":{"real_name":"Alice"}}}`,
				v.Get("user"), locale)
		default:
			fmt.Fprint(w, `{"id":"1"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// setLocale makes users.info give user's locale (e.g. "en-US").
func (f *fakeAPI) setLocale(user, locale string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.locales[user] = locale
}

// waitCall waits until the Slack Web API received a call of method for
// which match is true, and returns it.
func (f *fakeAPI) waitCall(t *testing.T, method string, match func(apiCall) bool) apiCall {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		f.mu.Lock()
		for _, c := range f.calls {
			if c.Method == method && match(c) {
				f.mu.Unlock()
				return c
			}
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("the Slack API received no %s as expected", method)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hook waits for the next answer posted to user's response_url.
func (f *fakeAPI) hook(t *testing.T, user string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		if h := f.hooks[user]; len(h) > 0 {
			f.hooks[user] = h[1:]
			f.mu.Unlock()
			return h[0]
		}
		f.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no answer posted to %s's response_url", user)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The German "temporarily unavailable, nothing was changed".
const unavailableDE = "billingbot ist vorübergehend nicht erreichbar. Es wurde nichts geändert"

// TestRedisStalls: while Redis hangs (a proxy holds every byte), every
// command is answered in the time the platform allows (directly, not with
// a deferred answer) with a localized "temporarily unavailable, nothing
// was changed", and /readyz is 503. The held requests, delivered when
// Redis answers again, change nothing; then everything works again, with
// no restart.
func TestRedisStalls(t *testing.T) {
	proxy := redistest.NewProxy(t, redistest.Real(t))
	s := serveOn(t, "redis://"+proxy.Addr())
	if code, body := s.slash("T1", "U1", "products"); code != http.StatusOK || !strings.Contains(body, "Produkte") {
		t.Fatalf("before the stall: %d %s", code, body)
	}

	proxy.Stall()
	if code, body := s.slash("T1", "U1", "products"); code != http.StatusOK || !strings.Contains(body, unavailableDE) {
		t.Errorf("Slack command while Redis hangs: %d %s\nwant an answer (not an empty ack) saying %q", code, body, unavailableDE)
	}
	code, body := s.submit("T1", "U1", "V-trial-1", commands.FormTrial, map[string]string{"product": "visio-plan-2"})
	if code != http.StatusOK || !strings.Contains(body, `"response_action":"clear"`) {
		t.Errorf("Slack form while Redis hangs: %d %s, want the modal closed with the answer", code, body)
	}
	if hook := s.api.hook(t, "U1"); !strings.Contains(hook, unavailableDE) {
		t.Errorf("the form's answer: %s, want %q", hook, unavailableDE)
	}
	if code, body := s.discord("500000000000000005", "products"); code != http.StatusOK ||
		!strings.Contains(body, `"type":4`) || !strings.Contains(body, unavailableDE) {
		t.Errorf("Discord command while Redis hangs: %d %s, want a direct answer (type 4) saying %q", code, body, unavailableDE)
	}
	if code := s.ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while Redis hangs = %d, want 503", code)
	}

	proxy.Resume()
	deadline := time.Now().Add(10 * time.Second)
	for s.ready() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not return to 200 after Redis answered again")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// What was held reached Redis now: the trial the user was told did not
	// start must not have started.
	v, err := s.st.View(t.Context(), "slack-T1", "U1", store.ViewOptions{TrialProducts: []string{"visio-plan-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Subs) != 0 || len(v.Trials) != 0 {
		t.Errorf("after the stall: subscriptions %+v, trials %v; want none (the user was told nothing was changed)", v.Subs, v.Trials)
	}
	if code, body := s.submit("T1", "U1", "V-trial-2", commands.FormTrial, map[string]string{"product": "visio-plan-2"}); code != http.StatusOK ||
		!strings.Contains(body, `"response_action":"clear"`) {
		t.Fatalf("trial after the stall: %d %s", code, body)
	}
	if hook := s.api.hook(t, "U1"); !strings.Contains(hook, "Testversion") {
		t.Errorf("trial after the stall answered %s, want it started", hook)
	}
}

// TestRedisRestarts: with Redis down, commands are answered "temporarily
// unavailable" and /readyz is 503; when Redis is back, the same serve
// works again by itself.
func TestRedisRestarts(t *testing.T) {
	rs := redistest.Restartable(t)
	s := serveOn(t, "redis://"+rs.Addr())
	if code := s.ready(); code != http.StatusOK {
		t.Fatalf("/readyz = %d, want 200", code)
	}
	rs.Stop()
	if code, body := s.slash("T1", "U1", "products"); code != http.StatusOK || !strings.Contains(body, unavailableDE) {
		t.Errorf("Slack command with Redis down: %d %s, want %q", code, body, unavailableDE)
	}
	if code, body := s.discord("500000000000000005", "catalog"); code != http.StatusOK || !strings.Contains(body, unavailableDE) {
		t.Errorf("Discord command with Redis down: %d %s, want %q", code, body, unavailableDE)
	}
	if code := s.ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down = %d, want 503", code)
	}
	rs.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := s.slash("T1", "U1", "products")
		if code == http.StatusOK && strings.Contains(body, "Produkte") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after Redis returned, a command still gets %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := s.ready(); code != http.StatusOK {
		t.Errorf("/readyz after Redis returned = %d, want 200", code)
	}
}
