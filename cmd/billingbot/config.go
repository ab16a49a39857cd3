package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/bot/paypage"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// config is the deployment's configuration, read from the environment
// (PRODUCT.md §7); flags override some of it.
type config struct {
	Addr      string // BILLINGBOT_ADDR, for serve
	RedisURL  string // REDIS_URL; empty: an in-memory store
	Catalog   string // BILLINGBOT_CATALOG; empty: the demo catalog
	PublicURL string // BILLINGBOT_PUBLIC_URL
	Admins    []string
	RateLimit int // BILLINGBOT_RATE_LIMIT: requests per user and minute; 0: the core's default
	LogLevel  slog.Level
	LogFormat string // "text" or "json"
	Support   commands.Support
	// JobsEvery is how often serve claims due jobs (BILLINGBOT_JOBS_EVERY).
	JobsEvery time.Duration
	// UnusedAfter is how long licenses stay free before their purchaser
	// hears of them (BILLINGBOT_UNUSED_AFTER); 0: the core's default.
	UnusedAfter time.Duration
	// OutboxClaimAfter is how long a notification may stay with a replica
	// that does not deliver it before another takes it over
	// (BILLINGBOT_OUTBOX_CLAIM_AFTER).
	OutboxClaimAfter time.Duration
	// HandoverGrace is how long a subscription whose purchaser left stays
	// live after its period while no admin decided its handover
	// (BILLINGBOT_HANDOVER_GRACE); 0: the core's default.
	HandoverGrace time.Duration
	// SecretKey signs download links (BILLINGBOT_SECRET_KEY, hex or
	// base64); empty: a random key of this process.
	SecretKey []byte
	// Operator is the seller that invoices name (BILLINGBOT_OPERATOR_NAME,
	// BILLINGBOT_OPERATOR_ADDRESS).
	Operator commands.Operator
	// Payments is the payment provider (BILLINGBOT_PAYMENTS): "stripe",
	// "sandbox", or "" when none was chosen.
	Payments string
	// Stripe is the Stripe account's settings (STRIPE_*).
	Stripe stripeConfig
	// TrustProxy: a reverse proxy in front appends the client's address to
	// X-Forwarded-For (BILLINGBOT_TRUST_PROXY), which the payment page then
	// counts card attempts by.
	TrustProxy bool
	// MetricsAddr, when set, is a private listen address that alone
	// serves /metrics (BILLINGBOT_METRICS_ADDR); empty: the public one.
	MetricsAddr string
	// MaxBodyReads bounds how many request bodies serve reads at once
	// before they are verified (BILLINGBOT_MAX_BODY_READS).
	MaxBodyReads int
	// MaxConnsPerClient bounds the connections open at once from one
	// client address, the TCP peer's (BILLINGBOT_MAX_CONNS_PER_CLIENT);
	// 0: no bound, the default behind a trusted proxy.
	MaxConnsPerClient int
	// AuditKeep is how long audit entries are kept (BILLINGBOT_AUDIT_KEEP,
	// in days; default 400).
	AuditKeep time.Duration
}

// stripeConfig is how billingbot reaches Stripe. The key and the webhook
// secret are never printed.
type stripeConfig struct {
	SecretKey     string // STRIPE_SECRET_KEY
	WebhookSecret string // STRIPE_WEBHOOK_SECRET
	APIURL        string // STRIPE_API_URL; empty: Stripe's own
}

// Defaults of the configuration.
const (
	defaultAddr      = ":8080"
	defaultPublicURL = "http://localhost:8080"
)

// loadConfig reads the configuration from environment variables.
func loadConfig(env map[string]string) (config, error) {
	get := func(k string) string { return strings.TrimSpace(env[k]) }
	cfg := config{
		Addr:      get("BILLINGBOT_ADDR"),
		RedisURL:  get("REDIS_URL"),
		Catalog:   get("BILLINGBOT_CATALOG"),
		PublicURL: get("BILLINGBOT_PUBLIC_URL"),
		Admins:    splitList(get("BILLINGBOT_ADMINS")),
		LogFormat: strings.ToLower(get("BILLINGBOT_LOG_FORMAT")),
		Support: commands.Support{
			URL:   get("BILLINGBOT_SUPPORT_URL"),
			FAQ:   get("BILLINGBOT_SUPPORT_FAQ"),
			Email: get("BILLINGBOT_SUPPORT_EMAIL"),
		},
		Payments:    strings.ToLower(get("BILLINGBOT_PAYMENTS")),
		MetricsAddr: get("BILLINGBOT_METRICS_ADDR"),
		Stripe: stripeConfig{
			SecretKey:     get("STRIPE_SECRET_KEY"),
			WebhookSecret: get("STRIPE_WEBHOOK_SECRET"),
			APIURL:        get("STRIPE_API_URL"),
		},
	}
	if cfg.Addr == "" {
		cfg.Addr = defaultAddr
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = defaultPublicURL
	}
	if cfg.LogFormat == "" {
		cfg.LogFormat = "text"
	}
	level, err := parseLevel(get("BILLINGBOT_LOG_LEVEL"))
	if err != nil {
		return config{}, err
	}
	if v := get("BILLINGBOT_RATE_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return config{}, fmt.Errorf("BILLINGBOT_RATE_LIMIT: %q: want a whole number of requests per user and minute, at least 1", v)
		}
		cfg.RateLimit = n
	}
	cfg.LogLevel = level
	if cfg.UnusedAfter, err = parseUnusedAfter(get("BILLINGBOT_UNUSED_AFTER")); err != nil {
		return config{}, err
	}
	if v := get("BILLINGBOT_SECRET_KEY"); v != "" {
		if cfg.SecretKey, err = parseSecretKey(v); err != nil {
			return config{}, err
		}
	}
	cfg.Operator = commands.Operator{Name: get("BILLINGBOT_OPERATOR_NAME"), Address: parseAddress(get("BILLINGBOT_OPERATOR_ADDRESS"))}
	if cfg.Operator.Name == "" {
		cfg.Operator.Name = "billingbot"
	}
	if v := get("BILLINGBOT_TRUST_PROXY"); v != "" {
		if cfg.TrustProxy, err = strconv.ParseBool(v); err != nil {
			return config{}, fmt.Errorf("BILLINGBOT_TRUST_PROXY: %q: want true or false", v)
		}
	}
	// Behind a reverse proxy every connection comes from the proxy's
	// address: a bound per address would bound them all.
	conns := 32
	if cfg.TrustProxy {
		conns = 0
	}
	for _, n := range []struct {
		name       string
		to         *int
		def, least int
	}{
		{"BILLINGBOT_MAX_BODY_READS", &cfg.MaxBodyReads, 64, 1},
		{"BILLINGBOT_MAX_CONNS_PER_CLIENT", &cfg.MaxConnsPerClient, conns, 0},
	} {
		*n.to = n.def
		if v := get(n.name); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < n.least || i > 100000 {
				return config{}, fmt.Errorf("%s: %q: want a whole number from %d to 100000", n.name, v, n.least)
			}
			*n.to = i
		}
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
		def  time.Duration
	}{
		{"BILLINGBOT_JOBS_EVERY", &cfg.JobsEvery, 15 * time.Second},
		{"BILLINGBOT_OUTBOX_CLAIM_AFTER", &cfg.OutboxClaimAfter, time.Minute},
	} {
		*d.to = d.def
		if v := get(d.name); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < 100*time.Millisecond || t > 24*time.Hour {
				return config{}, fmt.Errorf("%s: %q: want a duration between 100ms and 24h, such as 15s or 1m", d.name, v)
			}
			*d.to = t
		}
	}
	cfg.AuditKeep = store.DefaultAuditKeep
	if v := get("BILLINGBOT_AUDIT_KEEP"); v != "" {
		days, err := strconv.Atoi(strings.TrimSuffix(v, "d"))
		if err != nil || days < 1 || days > 36500 {
			return config{}, fmt.Errorf("BILLINGBOT_AUDIT_KEEP: %q: want a number of days from 1 to 36500, such as 400", v)
		}
		cfg.AuditKeep = time.Duration(days) * 24 * time.Hour
	}
	if v := get("BILLINGBOT_HANDOVER_GRACE"); v != "" {
		t, err := time.ParseDuration(v)
		if err != nil || t < time.Hour || t > 366*24*time.Hour {
			return config{}, fmt.Errorf("BILLINGBOT_HANDOVER_GRACE: %q: want a duration between 1h and 8784h, such as 336h (14 days)", v)
		}
		cfg.HandoverGrace = t
	}
	return cfg, cfg.check()
}

// core is the core's part of the configuration. Without a secret key the
// core signs links with a random key of its own.
func (c config) core() commands.Config {
	return commands.Config{PublicURL: c.PublicURL, Support: c.Support, Admins: c.Admins, RatePerMinute: c.RateLimit,
		SecretKey: c.SecretKey, Operator: c.Operator, UnusedAfter: c.UnusedAfter,
		HandoverGrace: c.HandoverGrace}
}

// check reports the first invalid setting.
func (c config) check() error {
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("BILLINGBOT_LOG_FORMAT: %q: want text or json", c.LogFormat)
	}
	if err := checkURL("BILLINGBOT_PUBLIC_URL", c.PublicURL); err != nil {
		return err
	}
	switch c.Payments {
	case "", "sandbox":
	case "stripe":
		if c.Stripe.SecretKey == "" || c.Stripe.WebhookSecret == "" {
			return errors.New("BILLINGBOT_PAYMENTS=stripe needs STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
		}
	default:
		return fmt.Errorf("BILLINGBOT_PAYMENTS: %q: want stripe or sandbox", c.Payments)
	}
	for _, k := range []struct{ name, value string }{
		{"BILLINGBOT_SUPPORT_URL", c.Support.URL}, {"BILLINGBOT_SUPPORT_FAQ", c.Support.FAQ}, {"STRIPE_API_URL", c.Stripe.APIURL},
	} {
		if k.value != "" {
			if err := checkURL(k.name, k.value); err != nil {
				return err
			}
		}
	}
	return nil
}

// parseSecretKey reads BILLINGBOT_SECRET_KEY: at least 32 bytes, written
// as hex (64 or more hex digits) or base64 (standard or URL alphabet,
// padded or not). The error never shows the value.
func parseSecretKey(v string) ([]byte, error) {
	var key []byte
	if isHex(v) {
		key, _ = hex.DecodeString(v)
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if k, err := enc.DecodeString(v); err == nil {
				key = k
				break
			}
		}
		if key == nil {
			return nil, errors.New("BILLINGBOT_SECRET_KEY: neither hex nor base64; make one with openssl rand -base64 32")
		}
	}
	if len(key) < commands.MinSecretKey {
		return nil, fmt.Errorf("BILLINGBOT_SECRET_KEY: %d bytes, want at least %d; make one with openssl rand -base64 32", len(key), commands.MinSecretKey)
	}
	return key, nil
}

// isHex reports whether s is an even number of hex digits, 64 or more:
// a hex key, not base64 that happens to use only hex digits' letters.
func isHex(s string) bool {
	if len(s) < 2*commands.MinSecretKey || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// parseAddress turns a postal address from the environment into lines:
// a literal "\n" (hard to put into some environment files) separates lines
// as a newline does.
func parseAddress(v string) string {
	lines := strings.Split(strings.ReplaceAll(v, `\n`, "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// payPage is the payment page's part of the configuration. Its form key
// is derived from the secret key (so that the secret itself signs nothing
// else's way); without one, the page makes a random key of its own.
func (c config) payPage() paypage.Config {
	pc := paypage.Config{PublicURL: c.PublicURL, TrustProxy: c.TrustProxy}
	if len(c.SecretKey) > 0 {
		mac := hmac.New(sha256.New, c.SecretKey)
		mac.Write([]byte("billingbot paypage form key"))
		pc.Key = mac.Sum(nil)
	}
	return pc
}

// checkURL requires an absolute http(s) URL.
func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q: want an absolute http:// or https:// URL", name, raw)
	}
	return nil
}

// parseLevel reads a log level: debug, info (the default), warn or error.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("BILLINGBOT_LOG_LEVEL: %q: want debug, info, warn or error", s)
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// logger returns the configured logger, writing to w.
func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redisSecrets are the parts of a Redis URL that must never be shown: the
// password of its user info and password query parameters.
func redisSecrets(raw string) []string {
	var out []string
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		authority := rest
		if i := strings.IndexAny(authority, "/?#"); i >= 0 {
			authority = authority[:i]
		}
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			if _, pass, ok := strings.Cut(authority[:i], ":"); ok && pass != "" {
				out = append(out, pass)
				if p, err := url.PathUnescape(pass); err == nil && p != pass {
					out = append(out, p)
				}
			}
		}
	}
	if _, query, ok := strings.Cut(raw, "?"); ok {
		if q, err := url.ParseQuery(query); err == nil {
			for k, vs := range q {
				if strings.Contains(strings.ToLower(k), "password") {
					for _, v := range vs {
						if v != "" {
							out = append(out, v, url.QueryEscape(v))
						}
					}
				}
			}
		}
	}
	return out
}

// redact removes a Redis URL's secrets from a text (an error message).
func redact(text, rawURL string) string {
	for _, s := range redisSecrets(rawURL) {
		text = strings.ReplaceAll(text, s, "xxxxx")
	}
	return text
}

// redisHost names the server of a Redis URL for messages: host:port (or
// the socket path), never the user info.
func redisHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the Redis of REDIS_URL"
	}
	if u.Host == "" && u.Path != "" {
		return u.Path
	}
	return u.Host
}
