package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

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
	go func() { done <- serve(ctx, ln, st, bot, nil, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
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
	if got := status("/readyz"); got != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", got)
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

// fakeNotifier records what it is given for the organizations it owns.
type fakeNotifier struct {
	prefix string
	got    []commands.Notification
}

func (f *fakeNotifier) Owns(org string) bool {
	return len(org) > len(f.prefix) && org[:len(f.prefix)] == f.prefix
}
func (f *fakeNotifier) Notify(_ context.Context, n commands.Notification) error {
	f.got = append(f.got, n)
	return nil
}

func TestDeliverRoutesByOrganization(t *testing.T) {
	slackN, discordN := &fakeNotifier{prefix: "slack-"}, &fakeNotifier{prefix: "discord-"}
	notes := []commands.Notification{{Org: "slack-T1", Kind: commands.NotePurchase}, {Org: "discord-9", Kind: commands.NoteTrial},
		{Org: "elsewhere", Kind: commands.NoteCancel}}
	deliver(t.Context(), []commands.Notifier{slackN, discordN}, notes, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if len(slackN.got) != 1 || slackN.got[0].Org != "slack-T1" || len(discordN.got) != 1 || discordN.got[0].Org != "discord-9" {
		t.Errorf("slack got %+v, discord got %+v", slackN.got, discordN.got)
	}
}
