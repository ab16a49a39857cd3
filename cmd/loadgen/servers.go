package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// floorKey is the key the floor server reads on every request.
const floorKey = "loadgen:floor"

// floor is the baseline server of the load test: a bare net/http handler
// that verifies the request's signature (Slack HMAC or Discord Ed25519, as
// billingbot does first), makes one Redis call (GET) and answers 200.
type floor struct {
	rdb         *redis.Client
	slackSecret []byte
	discordPub  ed25519.PublicKey // nil: /discord/interactions answers 401
	now         func() time.Time
}

func (f *floor) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", f.slack)
	mux.HandleFunc("POST /discord/interactions", f.discord)
	return mux
}

func (f *floor) slack(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	ts, sig := r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature")
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(f.slackSecret) == 0 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if d := f.now().Sub(time.Unix(secs, 0)); d > 5*time.Minute || d < -5*time.Minute {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if !hmac.Equal([]byte(slackSignature(f.slackSecret, ts, body)), []byte(sig)) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	f.answer(w, r)
}

func (f *floor) discord(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	ts := r.Header.Get("X-Signature-Timestamp")
	sig, err := hex.DecodeString(r.Header.Get("X-Signature-Ed25519"))
	if err != nil || len(sig) != ed25519.SignatureSize || f.discordPub == nil || ts == "" ||
		!ed25519.Verify(f.discordPub, append([]byte(ts), body...), sig) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	f.answer(w, r)
}

// answer makes the one Redis call and answers 200.
func (f *floor) answer(w http.ResponseWriter, r *http.Request) {
	if err := f.rdb.Get(r.Context(), floorKey).Err(); err != nil && !errors.Is(err, redis.Nil) {
		http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// newRedis opens a Redis client for a redis:// URL or a host:port on this
// machine.
func newRedis(addr string) (*redis.Client, error) {
	if strings.Contains(addr, "://") {
		opt, err := redis.ParseURL(addr)
		if err != nil {
			return nil, fmt.Errorf("redis %q: %w", addr, err)
		}
		host, _, _ := net.SplitHostPort(opt.Addr)
		if !isLoopbackHost(host) {
			return nil, fmt.Errorf("redis %q: %w", addr, errNotLoopback)
		}
		return redis.NewClient(opt), nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("redis %q: want host:port or redis://…", addr)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("redis %q: %w", addr, errNotLoopback)
	}
	return redis.NewClient(&redis.Options{Addr: addr}), nil
}

// fakeAPI stands in for the Slack Web API (under /api/), response_url
// hooks (under /hook/) and Discord's REST API (under /discord/api/v10/),
// so that a billingbot under load calls nothing off this machine. It counts
// the calls by method.
type fakeAPI struct {
	mu    sync.Mutex
	calls map[string]int
}

func newFakeAPI() *fakeAPI { return &fakeAPI{calls: map[string]int{}} }

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	method := r.URL.Path
	switch {
	case strings.HasPrefix(method, "/api/"):
		method = strings.TrimPrefix(method, "/api/")
	case strings.HasPrefix(method, "/hook/"):
		method = "hook"
	case strings.HasPrefix(method, "/discord/"):
		method = "discord " + r.Method
	}
	f.mu.Lock()
	f.calls[method]++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch method {
	case "hook":
		_, _ = io.WriteString(w, "ok")
	case "users.info":
		form, _ := url.ParseQuery(string(body))
		if r.URL.RawQuery != "" {
			q, _ := url.ParseQuery(r.URL.RawQuery)
			for k, v := range q {
				form[k] = v
			}
		}
		id := form.Get("user")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": map[string]any{
			"id": id, "name": strings.ToLower(id), "real_name": "Load " + id, "locale": "en-US",
			"profile": map[string]any{"real_name": "Load " + id, "display_name": "Load " + id}}})
	case "conversations.open":
		_, _ = io.WriteString(w, `{"ok":true,"channel":{"id":"DLOAD"}}`)
	case "chat.postMessage":
		_, _ = io.WriteString(w, `{"ok":true,"channel":"DLOAD","ts":"1700000000.000100"}`)
	case "chat.postEphemeral":
		_, _ = io.WriteString(w, `{"ok":true,"message_ts":"1700000000.000200"}`)
	case "views.open", "views.publish", "views.update":
		_, _ = io.WriteString(w, `{"ok":true,"view":{"id":"VLOAD"}}`)
	default:
		if strings.HasPrefix(method, "discord ") {
			_, _ = io.WriteString(w, `{"id":"1"}`)
			return
		}
		_, _ = io.WriteString(w, `{"ok":true}`)
	}
}

// summary lists the calls received, by method.
func (f *fakeAPI) summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.calls))
	for k := range f.calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, f.calls[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// listenLoopback listens on addr, which must be a loopback address.
func listenLoopback(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen %q: want host:port", addr)
	}
	if !isLoopbackHost(host) {
		return nil, fmt.Errorf("listen %q: %w", addr, errNotLoopback)
	}
	return net.Listen("tcp", addr)
}

// serveOn serves h on ln until ctx ends.
func serveOn(ctx context.Context, ln net.Listener, h http.Handler) func() {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 60 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}
}
