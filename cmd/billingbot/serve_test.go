package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
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
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/commands/payment/stripetest"
	"github.com/billingbot/billingbot/store"
)

// testConfig is the configuration of an empty environment.
func testConfig(t *testing.T) config {
	t.Helper()
	cfg, err := loadConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestServeHealth: /healthz answers while the process runs, /readyz only
// while Redis answers, and serve stops cleanly when its context ends.
func TestServeHealth(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1}))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() {
		done <- serve(ctx, ln, st, bot, payment.NewSandbox(), nil, testConfig(t), newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	base := "http://" + ln.Addr().String()
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz = %d, want 200", got)
	}
	if code := runHealthcheck(nil, map[string]string{"BILLINGBOT_ADDR": ln.Addr().String()}, io.Discard); code != exitOK {
		t.Errorf("healthcheck = %d, want 0", code)
	}
	if got := status("/readyz"); got != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", got)
	}
	if got := status("/pay/" + strings.Repeat("a", 48)); got != http.StatusGone {
		t.Errorf("/pay/<unknown token> = %d, want 410 from the payment page", got)
	}
	mr.Close()
	if got := status("/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis gone = %d, want 503", got)
	}
	if got := status("/healthz"); got != http.StatusOK {
		t.Errorf("/healthz with Redis gone = %d, want 200", got)
	}
	if got := status("/slack/events"); got != http.StatusNotFound && got != http.StatusMethodNotAllowed {
		t.Errorf("GET /slack/events without Slack = %d, want 404 or 405", got)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("serve returned %d, want 0", code)
	}
}

// TestServeSlack: serve mounts the Slack adapter the environment configures
// and answers a correctly signed slash command; an unsigned one is refused.
func TestServeSlack(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/users.info") {
			fmt.Fprint(w, `{"ok":true,"user":{"id":"U1","team_id":"T1","name":"alice","real_name":"Alice","locale":"de-DE","profile":{"real_name":"Alice"}}}`)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer api.Close()
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))
	m := newMetrics()
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{}, commands.WithObserver(m.observe(log)))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK_SIGNING_SECRET": "secret", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": api.URL + "/"}
	cfg, err := loadConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	platforms, err := configurePlatforms(cfg, env, bot, st, log, m)
	if err != nil || len(platforms) != 1 || platforms[0].path != "/slack/events" {
		t.Fatalf("configurePlatforms = %+v, %v; want Slack over HTTP", platforms, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() { done <- serve(ctx, ln, st, bot, payment.NewSandbox(), platforms, cfg, m, log) }()
	defer func() { cancel(); <-done }()

	body := "team_id=T1&user_id=U1&user_name=alice&command=%2Fbilling&text=hilfe&response_url=" +
		url.QueryEscape(api.URL+"/response") + "&trigger_id=1.2.3"
	post := func(sign bool) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/slack/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sign {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			mac := hmac.New(sha256.New, []byte("secret"))
			fmt.Fprintf(mac, "v0:%s:%s", ts, body)
			req.Header.Set("X-Slack-Request-Timestamp", ts)
			req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, _ := post(false); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", resp.StatusCode)
	}
	resp, got := post(true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed: %d %s, want 200", resp.StatusCode, got)
	}
	if got != "" && !strings.Contains(got, "Abonnements") {
		t.Errorf("signed /billing hilfe answered %s; want the German help (or an empty ack)", got)
	}
	platforms[0].wait()

	resp, err = http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`billingbot_commands_total{command="help",platform="slack",result="ok"} 1`,
		`billingbot_http_requests_total{code="401",route="slack"} 1`,
		`billingbot_http_requests_total{code="200",route="slack"} 1`,
		`billingbot_command_duration_seconds_count{platform="slack"} 1`,
		"billingbot_outbox_backlog 0",
		"billingbot_outbox_lag_seconds 0",
	} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	line := logs.String()
	for _, want := range []string{`"msg":"request"`, `"platform":"slack"`, `"org":"slack-T1"`, `"command":"help"`, `"result":"ok"`} {
		if !strings.Contains(line, want) {
			t.Errorf("request log lacks %s:\n%s", want, line)
		}
	}
	if strings.Contains(line, "secret") || strings.Contains(line, "xoxb-test") {
		t.Errorf("a secret is in the log:\n%s", line)
	}
}

// syncWriter lets the adapter's goroutines and the test share a buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String is what was written so far, when w is a fmt.Stringer (such as a
// *bytes.Buffer).
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

// TestServeInvoice: serve answers the download links of /billing invoices
// at /invoices/, also for the links another replica made with the same
// BILLINGBOT_SECRET_KEY, and refuses those of a replica with a key of its
// own; the route has its metrics.
func TestServeInvoice(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := loadConfig(map[string]string{"BILLINGBOT_SECRET_KEY": strings.Repeat("ab", 32),
		"BILLINGBOT_PUBLIC_URL": "https://billing.example", "BILLINGBOT_OPERATOR_NAME": "Contoso GmbH"})
	if err != nil {
		t.Fatal(err)
	}
	newBot := func(c commands.Config) *commands.Bot {
		b, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), c, commands.WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	served, replica := newBot(cfg.core()), newBot(cfg.core())
	noKey := cfg.core()
	noKey.SecretKey = nil
	stranger := newBot(noKey)

	// alice buys with a sandbox card, as the payment page and the buy form do.
	ctx := t.Context()
	token, err := st.CreatePayLink(ctx, store.PayLink{Org: "T1", User: "U1", ProfileID: "default", Lang: "en",
		Expires: time.Now().Add(time.Hour)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := replica.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "123", ExpMonth: 12, ExpYear: 2040})
	if err != nil {
		t.Fatal(err)
	}
	handle := func(b *commands.Bot, req commands.Request) commands.Response {
		req.Org, req.User, req.Locale, req.IdempotencyKey = "T1", commands.Member{ID: "U1", Name: "Alice"}, "en-US", store.NewID()
		resp, err := b.Handle(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	asked := handle(replica, commands.Request{Form: &commands.Submission{FormID: commands.FormBuy, Values: map[string][]string{
		"product": {"visio-plan-2"}, "licenses": {"2"}, "period": {"monthly"}, "method": {pm.ID}}}})
	if asked.Confirm == nil {
		t.Fatalf("buy answered %+v, want a confirmation", asked.Messages)
	}
	handle(replica, commands.Request{Text: asked.Confirm.Yes})
	link := func(b *commands.Bot) string {
		for _, btn := range handle(b, commands.Request{Text: "invoices"}).Messages[0].Buttons {
			if strings.HasPrefix(btn.URL, "https://billing.example"+commands.InvoicePath) {
				return strings.TrimPrefix(btn.URL, "https://billing.example")
			}
		}
		t.Fatal("no invoice link in /billing invoices")
		return ""
	}

	m := newMetrics()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan int)
	go func() { done <- serve(sctx, ln, st, served, payment.NewSandbox(), nil, cfg, m, quiet) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, tt := range []struct {
		name   string
		path   string
		status int
		ctype  string
	}{
		{"its own link", link(served), http.StatusOK, "application/pdf"},
		{"a replica's link", link(replica), http.StatusOK, "application/pdf"},
		{"a link of another key", link(stranger), http.StatusNotFound, "text/html; charset=utf-8"},
		{"no link", commands.InvoicePath + "nothing.pdf", http.StatusNotFound, "text/html; charset=utf-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path)
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("%d %s, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.ctype)
			}
			if tt.status == http.StatusOK && !bytes.HasPrefix(body, []byte("%PDF-")) {
				t.Errorf("not a PDF: %.20q", body)
			}
		})
	}
	_, metricsText := get("/metrics")
	for _, want := range []string{`billingbot_http_requests_total{code="200",route="invoice"} 2`,
		`billingbot_http_requests_total{code="404",route="invoice"} 2`} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServeStripeWebhook: with Stripe as the provider, serve mounts its
// webhook endpoint: a forged event is refused, a signed one is taken; the
// sandbox has no such endpoint.
func TestServeStripeWebhook(t *testing.T) {
	pay, err := payment.NewStripe(payment.StripeConfig{SecretKey: stripetest.SecretKey, WebhookSecret: stripetest.WebhookSecret,
		APIURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name           string
		pay            payment.Provider
		forged, signed int
	}{
		{"stripe", pay, http.StatusBadRequest, http.StatusOK},
		{"sandbox", payment.NewSandbox(), http.StatusNotFound, http.StatusNotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := store.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}))
			bot, err := commands.New(st, catalog.Demo(), tt.pay, commands.Config{})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan int)
			m := newMetrics()
			go func() {
				done <- serve(ctx, ln, st, bot, tt.pay, nil, testConfig(t), m, slog.New(slog.NewTextHandler(io.Discard, nil)))
			}()
			defer func() { cancel(); <-done }()
			post := func(payload []byte, header string) int {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/stripe/webhook", bytes.NewReader(payload))
				req.Header.Set("Stripe-Signature", header)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			payload := stripetest.Event{Type: "customer.created", Object: map[string]any{"id": "cus_1", "object": "customer"}}.JSON(t)
			if got := post(payload, stripetest.Sign(payload, "whsec_forged", time.Now())); got != tt.forged {
				t.Errorf("forged event: %d, want %d", got, tt.forged)
			}
			if got := post(payload, stripetest.Sign(payload, stripetest.WebhookSecret, time.Now())); got != tt.signed {
				t.Errorf("signed event: %d, want %d", got, tt.signed)
			}
		})
	}
}
