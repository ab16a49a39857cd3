package slack

// Fuzz tests of what Slack (or anyone on the internet) sends to
// POST /slack/events: the signature verifier on its own, and the whole
// adapter with correctly signed hostile bodies. Seeds are in
// testdata/fuzz/<FuzzName>.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/bot/internal/bottest"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// oracleTimestamp reads an X-Slack-Request-Timestamp as the oracle
// understands it: optional sign, decimal digits, fits in int64.
func oracleTimestamp(ts string) (int64, bool) {
	digits := strings.TrimLeft(ts, "+-")
	if len(ts)-len(digits) > 1 || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	var n uint64
	for _, c := range digits {
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	switch {
	case ts[0] == '-' && n <= 1<<63:
		return int64(-n), true // -(1<<63) wraps to itself, the minimum
	case ts[0] != '-' && n <= math.MaxInt64:
		return int64(n), true
	}
	return 0, false
}

// FuzzSlackVerify checks the request verifier with arbitrary timestamps,
// signatures and bodies against an oracle computed here with crypto/hmac:
// it accepts exactly the correct "v0=" HMAC-SHA256 of "v0:ts:body" whose
// timestamp is within five minutes of the injected clock. sign replaces
// sig with the correct signature so that the accepting path is explored
// too; skew moves the clock by up to ±10 minutes (in nanoseconds).
func FuzzSlackVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte, sign bool, skew int64) {
		now := t0.Add(time.Duration(skew % int64(10*time.Minute)))
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + ts + ":"))
		mac.Write(body)
		correct := "v0=" + hex.EncodeToString(mac.Sum(nil))
		if sign {
			sig = correct
		}
		err := verifier{secret: []byte(secret), now: func() time.Time { return now }}.verify(ts, sig, body)

		want := secret != "" && sig == correct
		if secs, ok := oracleTimestamp(ts); !ok {
			want = false
		} else {
			// |now - secs| ≤ 5 min, in exact integer arithmetic.
			nowSec, nowNs := now.Unix(), int64(now.Nanosecond())
			if secs < nowSec-400 || secs > nowSec+400 {
				want = false
			} else if d := (nowSec-secs)*int64(time.Second) + nowNs; d > int64(maxSkew) || d < -int64(maxSkew) {
				want = false
			}
		}
		if got := err == nil; got != want {
			t.Errorf("verify(secret %q, ts %q, sig %q, body %q) at %v = %v; oracle accepts: %v (correct sig %s)",
				secret, ts, sig, body, now.Format(time.RFC3339Nano), err, want, correct)
		}
	})
}

// fuzzEnv is one adapter for all executions of a fuzz worker (a server per
// execution would cost more than the execution): the env of helpers_test.go,
// built with *testing.F, with state reset between executions.
type fuzzEnv struct {
	mr    *miniredis.Miniredis
	slack *fakeSlack
	a     *Adapter
	log   *bottest.PanicLog
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(mr.Close)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	f.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	pl := &bottest.PanicLog{}
	log := slog.New(pl)
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: "https://pay.example"},
		commands.WithClock(func() time.Time { return t0 }), commands.WithLogger(log))
	if err != nil {
		f.Fatal(err)
	}
	fs := emptyFakeSlack()
	fs.srv = httptest.NewServer(http.HandlerFunc(fs.serve))
	f.Cleanup(fs.srv.Close)
	fs.addUser("U1", "Alice", "en-US", nil)
	fs.addUser("U3", "Dora", "de-DE", nil)
	fs.addUser("U4", "Dave", "en-US", map[string]any{"is_admin": true})
	fs.addUser("UBOT", "Buildbot", "en-US", map[string]any{"is_bot": true})
	host := strings.TrimPrefix(fs.srv.URL, "http://")
	a, err := New(Config{SigningSecret: testSecret, BotToken: "xoxb-test", APIURL: fs.srv.URL + "/api/",
		Now: func() time.Time { return t0 }, Log: log, Admins: []string{"U4"},
		HTTPClient: &http.Client{Transport: bottest.ToFake{Host: host}, Timeout: 5 * time.Second}}, bot, st)
	if err != nil {
		f.Fatal(err)
	}
	a.rateWait = 10 * time.Millisecond // the fake never limits; keep any retry short anyway
	f.Cleanup(a.Wait)
	return &fuzzEnv{mr: mr, slack: fs, a: a, log: pl}
}

// reset forgets what earlier executions left: the store and the calls.
func (e *fuzzEnv) reset() {
	e.mr.FlushAll()
	e.slack.mu.Lock()
	e.slack.calls, e.slack.taken = nil, nil
	e.slack.mu.Unlock()
}

// FuzzSlackRequest sends correctly signed requests with arbitrary bodies
// and content types (slash commands, interactivity payloads, Events API
// JSON, junk) through Adapter.ServeHTTP on a real bot: it never panics,
// never answers 5xx, answers within Slack's 3 seconds, and its background
// work ends (without a recovered panic) within a bound.
func FuzzSlackRequest(f *testing.F) {
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		e.reset()
		ts := strconv.FormatInt(t0.Unix(), 10)
		r := httptest.NewRequest(http.MethodPost, "/slack/events", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("X-Slack-Request-Timestamp", ts)
		r.Header.Set("X-Slack-Signature", sign(testSecret, t0.Unix(), string(body)))
		w := httptest.NewRecorder()
		start := time.Now()
		e.a.ServeHTTP(w, r)
		took := time.Since(start)

		if w.Code >= 500 {
			t.Errorf("status %d (%s) for %q %q", w.Code, w.Body, contentType, body)
		}
		if w.Code == http.StatusUnauthorized {
			t.Errorf("a correctly signed request was refused: %q", body)
		}
		if took > 3*time.Second {
			t.Errorf("answered after %v (Slack waits 3 s) for %q %q", took, contentType, body)
		}
		done := make(chan struct{})
		go func() { e.a.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("background work still running 20 s after %q %q (leaked goroutines)", contentType, body)
		}
		if p := e.log.Take(); len(p) > 0 {
			t.Errorf("recovered panic for %q %q: %v", contentType, body, p)
		}
	})
}
