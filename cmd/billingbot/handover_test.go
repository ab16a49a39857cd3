package main

import (
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// TestHandoverConfig: BILLINGBOT_HANDOVER_GRACE reaches the core, and
// bad values stop the program naming the variable.
func TestHandoverConfig(t *testing.T) {
	cfg, err := loadConfig(map[string]string{"BILLINGBOT_HANDOVER_GRACE": "720h"})
	if err != nil || cfg.core().HandoverGrace != 720*time.Hour {
		t.Errorf("grace %v, %v; want 720h", cfg.core().HandoverGrace, err)
	}
	if cfg, err := loadConfig(map[string]string{}); err != nil || cfg.core().HandoverGrace != 0 {
		t.Errorf("default grace %v, %v; want 0 (the core's default)", cfg.core().HandoverGrace, err)
	}
	for _, v := range []string{"soon", "30m", "9000h"} {
		if _, err := loadConfig(map[string]string{"BILLINGBOT_HANDOVER_GRACE": v}); err == nil ||
			!strings.Contains(err.Error(), "BILLINGBOT_HANDOVER_GRACE") {
			t.Errorf("grace %q: %v", v, err)
		}
	}
}

// TestDiscordMemberEvents: DISCORD_MEMBER_EVENTS is true or false; with
// the interactions endpoint the daily member check runs (platform.run).
func TestDiscordMemberEvents(t *testing.T) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"DISCORD_PUBLIC_KEY": hex.EncodeToString(pub), "DISCORD_APP_ID": "999999999999999999",
		"DISCORD_BOT_TOKEN": "x"}
	for _, tc := range []struct {
		name, value, wantErr string
	}{
		{"default", "", ""},
		{"on", "true", ""},
		{"bad", "sometimes", "DISCORD_MEMBER_EVENTS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			if tc.value != "" {
				env["DISCORD_MEMBER_EVENTS"] = tc.value
			}
			cfg, err := loadConfig(env)
			if err != nil {
				t.Fatal(err)
			}
			st := store.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}))
			bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), cfg.core())
			if err != nil {
				t.Fatal(err)
			}
			platforms, err := configurePlatforms(cfg, env, bot, st, slog.New(slog.NewTextHandler(io.Discard, nil)), newMetrics())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("configurePlatforms: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(platforms) != 1 || platforms[0].run == nil || platforms[0].handler == nil {
				t.Fatalf("configurePlatforms = %+v, %v; want the endpoint and the member check", platforms, err)
			}
		})
	}
}
