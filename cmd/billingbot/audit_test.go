package main

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// TestServeAudit: serve answers the audit trail's CSV links at /audit/,
// also those another replica with the same BILLINGBOT_SECRET_KEY made,
// and refuses those of another key; the route has its metrics.
func TestServeAudit(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := loadConfig(map[string]string{"BILLINGBOT_SECRET_KEY": strings.Repeat("cd", 32),
		"BILLINGBOT_PUBLIC_URL": "https://billing.example", "BILLINGBOT_AUDIT_KEEP": "30"})
	if err != nil {
		t.Fatal(err)
	}
	st.SetAuditRetention(cfg.AuditKeep, nil)
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
	ctx := t.Context()
	if err := st.SetAdminChannel(ctx, "T1", "U1", "#billing"); err != nil {
		t.Fatal(err)
	}
	link := func(b *commands.Bot) string {
		resp, err := b.Handle(ctx, commands.Request{Org: "T1", User: commands.Member{ID: "U1", Name: "Alice"}, Locale: "en-US",
			Admin: true, Text: "admin audit", IdempotencyKey: store.NewID()})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Messages {
			for _, btn := range m.Buttons {
				if strings.HasPrefix(btn.URL, "https://billing.example"+commands.AuditPath) {
					return strings.TrimPrefix(btn.URL, "https://billing.example")
				}
			}
		}
		t.Fatalf("no CSV link in %+v", resp.Messages)
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
	}{
		{"its own link", link(served), http.StatusOK},
		{"a replica's link", link(replica), http.StatusOK},
		{"a link of another key", link(stranger), http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != http.StatusOK {
				return
			}
			recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil || len(recs) != 2 || recs[1][3] != "admin-channel" || recs[1][7] != "#billing" {
				t.Fatalf("CSV %q, %v", recs, err)
			}
		})
	}
	_, metricsText := get("/metrics")
	for _, want := range []string{`billingbot_http_requests_total{code="200",route="audit"} 2`,
		`billingbot_http_requests_total{code="403",route="audit"} 1`} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
