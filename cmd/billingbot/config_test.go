package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
)

func TestLoadConfig(t *testing.T) {
	defaults := config{Addr: ":8080", PublicURL: "http://localhost:8080", LogLevel: slog.LevelInfo, LogFormat: "text",
		JobsEvery: 15 * time.Second, OutboxClaimAfter: time.Minute, Operator: commands.Operator{Name: "billingbot"},
		MaxBodyReads: 64, MaxConnsPerClient: 32, AuditKeep: 400 * 24 * time.Hour}
	key := []byte("0123456789abcdef0123456789abcdef") // 32 bytes
	with := func(f func(*config)) config { c := defaults; f(&c); return c }
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string // part of the error; "" wants none
	}{
		{name: "defaults", env: nil, want: defaults},
		{name: "blank values are unset", env: map[string]string{"REDIS_URL": "  ", "BILLINGBOT_LOG_LEVEL": ""}, want: defaults},
		{
			name: "overrides",
			env: map[string]string{
				"BILLINGBOT_ADDR":          "127.0.0.1:9090",
				"REDIS_URL":                "redis://localhost:6379/2",
				"BILLINGBOT_CATALOG":       "/etc/billingbot/catalog.toml",
				"BILLINGBOT_PUBLIC_URL":    "https://billing.example.com",
				"BILLINGBOT_ADMINS":        " U123, ,U456 ",
				"BILLINGBOT_LOG_LEVEL":     "DEBUG",
				"BILLINGBOT_LOG_FORMAT":    "json",
				"BILLINGBOT_SUPPORT_URL":   "https://support.example.com",
				"BILLINGBOT_SUPPORT_FAQ":   "https://support.example.com/faq",
				"BILLINGBOT_SUPPORT_EMAIL": "billing@example.com",
				"BILLINGBOT_JOBS_EVERY":    "2s",

				"BILLINGBOT_OUTBOX_CLAIM_AFTER": "30s",
			},
			want: config{
				Addr: "127.0.0.1:9090", RedisURL: "redis://localhost:6379/2", Catalog: "/etc/billingbot/catalog.toml",
				PublicURL: "https://billing.example.com", Admins: []string{"U123", "U456"},
				LogLevel: slog.LevelDebug, LogFormat: "json",
				Support:   commands.Support{URL: "https://support.example.com", FAQ: "https://support.example.com/faq", Email: "billing@example.com"},
				JobsEvery: 2 * time.Second, OutboxClaimAfter: 30 * time.Second, Operator: commands.Operator{Name: "billingbot"},
				MaxBodyReads: 64, MaxConnsPerClient: 32, AuditKeep: 400 * 24 * time.Hour,
			},
		},
		{name: "warn", env: map[string]string{"BILLINGBOT_LOG_LEVEL": "warn"}, want: withLevel(defaults, slog.LevelWarn)},
		{name: "error", env: map[string]string{"BILLINGBOT_LOG_LEVEL": "error"}, want: withLevel(defaults, slog.LevelError)},
		{name: "bad log level", env: map[string]string{"BILLINGBOT_LOG_LEVEL": "loud"}, wantErr: `BILLINGBOT_LOG_LEVEL: "loud"`},
		{name: "bad log format", env: map[string]string{"BILLINGBOT_LOG_FORMAT": "xml"}, wantErr: `BILLINGBOT_LOG_FORMAT: "xml"`},
		{name: "rate limit", env: map[string]string{"BILLINGBOT_RATE_LIMIT": "120"}, want: func() config { c := defaults; c.RateLimit = 120; return c }()},
		{name: "bad rate limit", env: map[string]string{"BILLINGBOT_RATE_LIMIT": "0"}, wantErr: "BILLINGBOT_RATE_LIMIT"},
		{name: "relative public URL", env: map[string]string{"BILLINGBOT_PUBLIC_URL": "billing.example.com"}, wantErr: "BILLINGBOT_PUBLIC_URL"},
		{name: "bad jobs interval", env: map[string]string{"BILLINGBOT_JOBS_EVERY": "often"}, wantErr: "BILLINGBOT_JOBS_EVERY"},
		{name: "claim timeout too short", env: map[string]string{"BILLINGBOT_OUTBOX_CLAIM_AFTER": "1ms"}, wantErr: "BILLINGBOT_OUTBOX_CLAIM_AFTER"},
		{name: "bad support URL", env: map[string]string{"BILLINGBOT_SUPPORT_FAQ": "ftp://x"}, wantErr: "BILLINGBOT_SUPPORT_FAQ"},
		{name: "sandbox", env: map[string]string{"BILLINGBOT_PAYMENTS": " Sandbox "}, want: with(func(c *config) { c.Payments = "sandbox" })},
		{name: "stripe", env: map[string]string{"BILLINGBOT_PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_1",
			"STRIPE_WEBHOOK_SECRET": "whsec_1", "STRIPE_API_URL": "http://127.0.0.1:12111"},
			want: with(func(c *config) {
				c.Payments, c.Stripe = "stripe", stripeConfig{SecretKey: "sk_test_1", WebhookSecret: "whsec_1", APIURL: "http://127.0.0.1:12111"}
			})},
		{name: "stripe without keys", env: map[string]string{"BILLINGBOT_PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_1"},
			wantErr: "BILLINGBOT_PAYMENTS=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET"},
		{name: "unknown provider", env: map[string]string{"BILLINGBOT_PAYMENTS": "paypal"}, wantErr: `BILLINGBOT_PAYMENTS: "paypal": want stripe or sandbox`},
		{name: "bad Stripe API URL", env: map[string]string{"BILLINGBOT_PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_1",
			"STRIPE_WEBHOOK_SECRET": "whsec_1", "STRIPE_API_URL": "localhost:12111"}, wantErr: "STRIPE_API_URL"},
		{name: "secret key hex", env: map[string]string{"BILLINGBOT_SECRET_KEY": hex.EncodeToString(key)},
			want: with(func(c *config) { c.SecretKey = key })},
		{name: "secret key hex upper case", env: map[string]string{"BILLINGBOT_SECRET_KEY": strings.ToUpper(hex.EncodeToString(key))},
			want: with(func(c *config) { c.SecretKey = key })},
		{name: "secret key base64", env: map[string]string{"BILLINGBOT_SECRET_KEY": base64.StdEncoding.EncodeToString(key)},
			want: with(func(c *config) { c.SecretKey = key })},
		{name: "secret key base64url unpadded", env: map[string]string{"BILLINGBOT_SECRET_KEY": base64.RawURLEncoding.EncodeToString([]byte("\xff\xfe" + string(key)))},
			want: with(func(c *config) { c.SecretKey = []byte("\xff\xfe" + string(key)) })},
		{name: "secret key too short", env: map[string]string{"BILLINGBOT_SECRET_KEY": base64.StdEncoding.EncodeToString(key[:31])},
			wantErr: "BILLINGBOT_SECRET_KEY: 31 bytes, want at least 32"},
		{name: "secret key short hex", env: map[string]string{"BILLINGBOT_SECRET_KEY": hex.EncodeToString(key[:20])},
			wantErr: "BILLINGBOT_SECRET_KEY: 30 bytes"},
		{name: "secret key not encoded", env: map[string]string{"BILLINGBOT_SECRET_KEY": "my password is very secret!!!!!!!!!!"},
			wantErr: "BILLINGBOT_SECRET_KEY: neither hex nor base64"},
		{name: "operator", env: map[string]string{"BILLINGBOT_OPERATOR_NAME": " Contoso GmbH ",
			"BILLINGBOT_OPERATOR_ADDRESS": `Hauptstraße 1\n 10115 Berlin \nGermany`},
			want: with(func(c *config) {
				c.Operator = commands.Operator{Name: "Contoso GmbH", Address: "Hauptstraße 1\n10115 Berlin\nGermany"}
			})},
		{name: "operator address with newlines", env: map[string]string{"BILLINGBOT_OPERATOR_ADDRESS": "Hauptstraße 1\n10115 Berlin"},
			want: with(func(c *config) { c.Operator.Address = "Hauptstraße 1\n10115 Berlin" })},
		{name: "trust proxy", env: map[string]string{"BILLINGBOT_TRUST_PROXY": "true"},
			// Every connection comes from the proxy: no bound per address.
			want: func() config { c := defaults; c.TrustProxy, c.MaxConnsPerClient = true, 0; return c }()},
		{name: "trust proxy, bound per address", env: map[string]string{"BILLINGBOT_TRUST_PROXY": "true", "BILLINGBOT_MAX_CONNS_PER_CLIENT": "500"},
			want: func() config { c := defaults; c.TrustProxy, c.MaxConnsPerClient = true, 500; return c }()},
		{name: "HTTP bounds", env: map[string]string{"BILLINGBOT_METRICS_ADDR": " 127.0.0.1:9100 ", "BILLINGBOT_MAX_BODY_READS": "16",
			"BILLINGBOT_MAX_CONNS_PER_CLIENT": "0"},
			want: with(func(c *config) { c.MetricsAddr, c.MaxBodyReads, c.MaxConnsPerClient = "127.0.0.1:9100", 16, 0 })},
		{name: "no body reads", env: map[string]string{"BILLINGBOT_MAX_BODY_READS": "0"}, wantErr: `BILLINGBOT_MAX_BODY_READS: "0": want a whole number from 1`},
		{name: "bad connection bound", env: map[string]string{"BILLINGBOT_MAX_CONNS_PER_CLIENT": "many"}, wantErr: "BILLINGBOT_MAX_CONNS_PER_CLIENT"},
		{name: "bad trust proxy", env: map[string]string{"BILLINGBOT_TRUST_PROXY": "maybe"}, wantErr: "BILLINGBOT_TRUST_PROXY"},
		{name: "audit kept 90 days", env: map[string]string{"BILLINGBOT_AUDIT_KEEP": "90"},
			want: with(func(c *config) { c.AuditKeep = 90 * 24 * time.Hour })},
		{name: "audit kept 30d", env: map[string]string{"BILLINGBOT_AUDIT_KEEP": "30d"},
			want: with(func(c *config) { c.AuditKeep = 30 * 24 * time.Hour })},
		{name: "bad audit keep", env: map[string]string{"BILLINGBOT_AUDIT_KEEP": "1y"}, wantErr: "BILLINGBOT_AUDIT_KEEP: \"1y\": want a number of days"},
		{name: "no audit keep", env: map[string]string{"BILLINGBOT_AUDIT_KEEP": "0"}, wantErr: "BILLINGBOT_AUDIT_KEEP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("loadConfig() error = %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("loadConfig() error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("loadConfig() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestPayPageConfig: the payment page gets the public URL, the proxy
// setting and a form key derived from the secret key (the same on every
// replica, and not the secret itself), or none without a secret.
func TestPayPageConfig(t *testing.T) {
	c := config{PublicURL: "https://billing.example.com", TrustProxy: true, SecretKey: bytes.Repeat([]byte{1}, 32)}
	pc := c.payPage()
	if pc.PublicURL != c.PublicURL || !pc.TrustProxy || len(pc.Key) != 32 || bytes.Equal(pc.Key, c.SecretKey) {
		t.Errorf("payPage() = %+v", pc)
	}
	if again := c.payPage(); !bytes.Equal(again.Key, pc.Key) {
		t.Error("the form key differs between calls (replicas)")
	}
	c.SecretKey = nil
	if pc := c.payPage(); pc.Key != nil {
		t.Errorf("payPage() without a secret key = %+v, want no key", pc)
	}
}

func withLevel(c config, l slog.Level) config {
	c.LogLevel = l
	return c
}

func TestRedact(t *testing.T) {
	tests := []struct {
		url, text, want string
	}{
		{"redis://:s3cret@db:6379/0", `parse "redis://:s3cret@db:6379/0": bad`, `parse "redis://:xxxxx@db:6379/0": bad`},
		{"rediss://user:p%40ss@db:6380", "p%40ss and p@ss", "xxxxx and xxxxx"},
		{"redis+sentinel://s1:26379?master_name=m&sentinel_password=topsecret", "auth topsecret failed", "auth xxxxx failed"},
		{"redis://db:6379", "nothing secret", "nothing secret"},
		{"unix:///run/redis.sock", "dial unix /run/redis.sock", "dial unix /run/redis.sock"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := redact(tt.text, tt.url); got != tt.want {
				t.Errorf("redact(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestRedisHost(t *testing.T) {
	tests := []struct{ url, want string }{
		{"redis://:s3cret@db.internal:6379/0", "db.internal:6379"},
		{"rediss://user:pw@db:6380", "db:6380"},
		{"unix:///run/redis.sock", "/run/redis.sock"},
		{"redis+cluster://n1:7000?addr=n2:7001", "n1:7000"},
	}
	for _, tt := range tests {
		if got := redisHost(tt.url); got != tt.want {
			t.Errorf("redisHost(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
