package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

func TestSelftest(t *testing.T) {
	var out bytes.Buffer
	if err := selftest(t.Context(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"all ", "slack-command", "slack-submit", "discord-command", "p99.9", "selftest ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// TestFloorFlags runs the command as an operator would: the floor on
// miniredis in the same process, 1 s of load against it.
func TestFloorFlags(t *testing.T) {
	mr := miniredis.RunT(t)
	seed := strings.Repeat("ab", 32)
	var out, errs bytes.Buffer
	code := run(t.Context(), []string{"-floor", "127.0.0.1:0", "-redis", "redis://" + mr.Addr(), "-url", "floor",
		"-c", "4", "-d", "500ms", "-slack-secret", "S", "-discord-key", seed, "-mix", "slack-command:2,discord-command"},
		&out, &errs)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "slack-command:2") && !strings.Contains(out.String(), "slack-command,slack-command") {
		t.Errorf("report does not show the mix:\n%s", out.String())
	}
	if strings.Contains(out.String(), "first error") {
		t.Errorf("errors:\n%s", out.String())
	}
}

func TestPrintPubkey(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	var out bytes.Buffer
	if code := run(context.Background(), []string{"-print-discord-pubkey", "-discord-key", hex.EncodeToString(seed)}, &out, &out); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	want := hex.EncodeToString(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
	if got := strings.TrimSpace(out.String()); got != want {
		t.Errorf("pubkey %q, want %q", got, want)
	}
	// The 64-byte form gives the same key; a mismatched one is refused.
	full := ed25519.NewKeyFromSeed(seed)
	if k, err := discordKeyFromHex(hex.EncodeToString(full)); err != nil || !bytes.Equal(k, full) {
		t.Errorf("64-byte key: %v", err)
	}
	bad := append([]byte{}, full...)
	bad[40] ^= 1
	if _, err := discordKeyFromHex(hex.EncodeToString(bad)); err == nil {
		t.Error("a 64-byte key with a wrong public half was accepted")
	}
}

func TestOnlyLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:80/", "https://localhost:8443", "http://LOCALHOST"} {
		if _, err := loopbackURL(u); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://example.com", "http://127.0.0.1.nip.io", "http://0.0.0.0:8080",
		"http://[::]:80", "ftp://127.0.0.1", "http://localhost.example.com", "http://u:p@127.0.0.1", "127.0.0.1:8080",
		"http://192.168.1.1", "http://[::ffff:8.8.8.8]"} {
		if _, err := loopbackURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	var errs bytes.Buffer
	if code := run(t.Context(), []string{"-url", "http://10.1.2.3:8080", "-d", "1s", "-slack-secret", "S", "-mix", "slack-command"}, &errs, &errs); code == 0 || !strings.Contains(errs.String(), "loopback") {
		t.Errorf("non-loopback target: exit %d, %s", code, errs.String())
	}
	for _, args := range [][]string{
		{"-fake-api", "0.0.0.0:0"}, {"-floor", "10.0.0.1:0", "-redis", "127.0.0.1:1", "-slack-secret", "S"},
		{"-floor", "127.0.0.1:0", "-redis", "redis://10.0.0.1:6379", "-slack-secret", "S"},
		{"-url", "http://127.0.0.1:1", "-hook", "http://example.com/hook", "-slack-secret", "S", "-mix", "slack-command"},
	} {
		errs.Reset()
		if code := run(t.Context(), args, &errs, &errs); code == 0 || !strings.Contains(errs.String(), "loopback") {
			t.Errorf("%q: exit %d, %s", args, code, errs.String())
		}
	}
}

// TestBounded checks that a run stops by itself even when the target never
// answers.
func TestBounded(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	mix, _ := parseMix("slack-command")
	start := time.Now()
	res, err := runLoad(t.Context(), loadConfig{target: srv.URL, concurrency: 4, duration: 200 * time.Millisecond,
		timeout: 300 * time.Millisecond, mix: mix,
		signer: &signer{base: srv.URL, slackSecret: []byte("S"), teams: 1, users: 1, now: time.Now}})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ran %v", d)
	}
	st := summarize(res.samples, res.elapsed, func(sample) bool { return true })
	if st.requests != 4 || st.byStatus[0] != 4 {
		t.Errorf("requests %d, by status %v; want 4 transport errors (timeouts)", st.requests, st.byStatus)
	}
}

func TestParseMix(t *testing.T) {
	got, err := parseMix("slack-command:2, discord-command")
	if err != nil || strings.Join(got, ",") != "slack-command,slack-command,discord-command" {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"", "slack", "slack-command:0", "slack-command,slack-command", "slack-command:x"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i))
	}
	for q, want := range map[float64]time.Duration{0.5: 500, 0.99: 990, 0.999: 999, 1: 1000} {
		if got := percentile(ds, q); got != want {
			t.Errorf("p%v = %v, want %v", q*100, got, want)
		}
	}
	if got := percentile(ds[:1], 0.999); got != 1 {
		t.Errorf("one sample: %v", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("none: %v", got)
	}
}

// TestSlackSignature checks the signing against the scheme Slack documents
// (the adapter's verifier computes the same).
func TestSlackSignature(t *testing.T) {
	// Slack's documented example.
	secret := []byte("8f742231b10e8888abcd99yyyzzz85a5")
	body := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	if got := slackSignature(secret, "1531420618", body); got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

func TestFakeAPI(t *testing.T) {
	f := newFakeAPI()
	srv := httptest.NewServer(f)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/api/users.info", "application/x-www-form-urlencoded", strings.NewReader("user=ULOAD000001&include_locale=true"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(buf.String(), `"id":"ULOAD000001"`) || !strings.Contains(buf.String(), `"ok":true`) {
		t.Errorf("users.info: %s", buf.String())
	}
	if got := f.summary(); got != "users.info=1" {
		t.Errorf("summary %q", got)
	}
}
