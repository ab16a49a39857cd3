package discord

// Fuzz test of the interactions endpoint: the tolerant interaction decoder
// on arbitrary bytes, and the whole ServeHTTP with correctly signed
// arbitrary bodies on a real bot. Seeds are in
// testdata/fuzz/FuzzDiscordInteraction.

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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

// fuzzFake answers the REST calls as helpers_test.go's fakeDiscord does,
// without recording them (its channel would fill up over a fuzzing run).
func fuzzFake(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/api/v10")
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && path == "/users/@me/channels":
		var req struct {
			RecipientID string `json:"recipient_id"`
		}
		_ = json.Unmarshal(body, &req)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "dm" + req.RecipientID, "type": 1})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/guilds/"+testGuild+"/members/"+bob):
		_, _ = fmt.Fprintf(w, `{"user":{"id":%q,"username":"bob","global_name":"Bob Brown"}}`, bob)
	case r.Method == http.MethodGet && strings.Contains(path, "/members/"):
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"message":"Unknown Member","code":10007}`)
	case r.Method == http.MethodPut:
		_, _ = w.Write(body)
	default:
		_, _ = io.WriteString(w, `{"id":"1"}`)
	}
}

// fuzzEnv is one adapter for all executions of a fuzz worker, as
// helpers_test.go's newEnv builds it but with *testing.F, its store
// flushed between executions.
type fuzzEnv struct {
	mr   *miniredis.Miniredis
	a    *Adapter
	priv ed25519.PrivateKey
	log  *bottest.PanicLog
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(mr.Close)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	f.Cleanup(func() { _ = rdb.Close() })
	st := store.New(rdb)
	pl := &bottest.PanicLog{}
	log := slog.New(pl)
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(),
		commands.Config{PublicURL: "http://localhost:8080"}, commands.WithLogger(log))
	if err != nil {
		f.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(fuzzFake))
	f.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	a, err := New(Config{PublicKey: hex.EncodeToString(pub), AppID: testApp, BotToken: "token",
		APIURL: srv.URL + "/api/v10", HTTPClient: &http.Client{Transport: bottest.ToFake{Host: host}, Timeout: 5 * time.Second},
		Log: log, AdminChannel: "400000000000000009"}, bot, st)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(a.Wait)
	return &fuzzEnv{mr: mr, a: a, priv: priv, log: pl}
}

// checkDecoded exercises what the adapter reads of a decoded interaction
// (the data of each type, options, submitted components): no panics, and
// decodeInteraction's own promises hold.
func checkDecoded(t *testing.T, body []byte, in *interaction) {
	t.Helper()
	if in.Type == 0 || in.Type != itPing && (in.ID == "" || in.Token == "") {
		t.Errorf("decodeInteraction(%q) accepted type %d, id %q, token %q", body, in.Type, in.ID, in.Token)
	}
	if u := in.userOf(); u != nil {
		_ = displayName(*u, in.Member)
	}
	_ = in.perms()
	_ = langOf(in.Locale, in.GuildLocale)
	var cd commandData
	if json.Unmarshal(in.Data, &cd) == nil {
		var walk func([]commandOption)
		walk = func(opts []commandOption) {
			for _, o := range opts {
				_ = o.text()
				walk(o.Options)
			}
		}
		walk(cd.Options)
	}
	var md modalData
	if json.Unmarshal(in.Data, &md) == nil {
		values := map[string][]string{}
		for _, c := range md.Components {
			c.collect(values)
		}
	}
	var comp componentData
	_ = json.Unmarshal(in.Data, &comp)
}

// FuzzDiscordInteraction feeds arbitrary bytes to decodeInteraction (it
// never panics) and, signed with the adapter's key, to ServeHTTP on a real
// bot: it never panics nor answers 5xx, refuses what does not decode with
// 400, answers PING with PONG, answers within Discord's 3 seconds, and its
// background work ends without a recovered panic.
func FuzzDiscordInteraction(f *testing.F) {
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		in, decErr := decodeInteraction(body)
		if decErr == nil {
			checkDecoded(t, body, in)
		}

		e.mr.FlushAll()
		ts := fmt.Sprint(time.Now().Unix())
		sig := ed25519.Sign(e.priv, append([]byte(ts), body...))
		r := httptest.NewRequest(http.MethodPost, "/discord/interactions", bytes.NewReader(body))
		r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
		r.Header.Set("X-Signature-Timestamp", ts)
		w := httptest.NewRecorder()
		start := time.Now()
		e.a.ServeHTTP(w, r)
		took := time.Since(start)

		switch {
		case w.Code >= 500:
			t.Errorf("status %d (%s) for %q", w.Code, w.Body, body)
		case w.Code == http.StatusUnauthorized:
			t.Errorf("a correctly signed interaction was refused: %q", body)
		case decErr != nil && w.Code != http.StatusBadRequest:
			t.Errorf("status %d for an undecodable body %q (%v)", w.Code, body, decErr)
		case decErr == nil && in.Type == itPing && (w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"type":1`)):
			t.Errorf("PING %q answered %d %s", body, w.Code, w.Body)
		case w.Code == http.StatusOK && !json.Valid(w.Body.Bytes()):
			t.Errorf("answer to %q is not JSON: %q", body, w.Body)
		}
		if took > 3*time.Second {
			t.Errorf("answered after %v (Discord waits 3 s) for %q", took, body)
		}
		done := make(chan struct{})
		go func() { e.a.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("background work still running 20 s after %q (leaked goroutines)", body)
		}
		if p := e.log.Take(); len(p) > 0 {
			t.Errorf("recovered panic for %q: %v", body, p)
		}
	})
}
