package main

import (
	"bytes"
	"context"
	"encoding/hex"
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

var testKeyHex = hex.EncodeToString(bytes.Repeat([]byte{5}, 32))

// TestSlackModes: SLACK_BOT_TOKEN alone (one workspace), the install flow
// alone (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, BILLINGBOT_SECRET_KEY),
// both; and clear startup errors for what does not go together.
func TestSlackModes(t *testing.T) {
	base := map[string]string{"SLACK_SIGNING_SECRET": "secret"}
	oauth := map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "cs-value-XYZ", "BILLINGBOT_SECRET_KEY": testKeyHex}
	with := func(maps ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range maps {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		pages   int    // install pages mounted
		wantErr string // "" for none
	}{
		{"bot token", with(base, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}), 0, ""},
		{"OAuth", with(base, oauth), 2, ""},
		{"OAuth and a bot token", with(base, oauth, map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}), 2, ""},
		{"OAuth per enterprise", with(base, oauth, map[string]string{"SLACK_ENTERPRISE_ORG": "enterprise"}), 2, ""},
		{"neither", base, 0, "SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"},
		{"client id alone", with(base, map[string]string{"SLACK_CLIENT_ID": "1.2", "BILLINGBOT_SECRET_KEY": testKeyHex}), 0, "go together"},
		{"client secret alone", with(base, map[string]string{"SLACK_CLIENT_SECRET": "cs-value-XYZ", "SLACK_BOT_TOKEN": "xoxb-1"}), 0, "go together"},
		{"OAuth without a secret key", with(base, map[string]string{"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "cs-value-XYZ"}), 0,
			"need BILLINGBOT_SECRET_KEY"},
		{"bad SLACK_ENTERPRISE_ORG", with(base, oauth, map[string]string{"SLACK_ENTERPRISE_ORG": "grid"}), 0, "want workspace or enterprise"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			st := store.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}))
			bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), cfg.core())
			if err != nil {
				t.Fatal(err)
			}
			platforms, err := configurePlatforms(cfg, tc.env, bot, st, slog.New(slog.NewTextHandler(io.Discard, nil)), newMetrics())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("configurePlatforms: %v, want an error with %q", err, tc.wantErr)
				}
				if err != nil && strings.Contains(err.Error(), "cs-value-XYZ") {
					t.Errorf("the error shows the client secret: %v", err)
				}
				return
			}
			if err != nil || len(platforms) != 1 {
				t.Fatalf("configurePlatforms = %v, %v", platforms, err)
			}
			if n := len(platforms[0].pages); n != tc.pages {
				t.Errorf("%d install pages, want %d", n, tc.pages)
			}
		})
	}
	// serve runs with OAuth and no bot token, and serves the install pages.
	env := with(base, oauth)
	cfg, _ := loadConfig(env)
	st := store.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), cfg.core())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := newMetrics()
	platforms, err := configurePlatforms(cfg, env, bot, st, log, m)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() { done <- serve(ctx, ln, st, bot, payment.NewSandbox(), platforms, cfg, m, log) }()
	defer func() { cancel(); <-done }()
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/slack/install", http.StatusOK, "Add to Slack"},
		{"/slack/oauth/callback?code=x&state=forged", http.StatusBadRequest, "Nothing was installed"},
		{"/slack/oauth/callback?error=access_denied", http.StatusOK, "cancelled in Slack"},
	} {
		resp, err := http.Get("http://" + ln.Addr().String() + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%s", tc.path, resp.StatusCode, tc.status, tc.want, body)
		}
	}
}
