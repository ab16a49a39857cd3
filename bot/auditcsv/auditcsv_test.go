package auditcsv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

const base = "https://billing.example"

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// people is a directory of two: ada, an admin, and max.
type people struct{}

func (people) Admins(context.Context) ([]commands.Member, error) { return nil, nil }
func (people) Member(_ context.Context, ref string) (commands.Member, error) {
	switch strings.TrimPrefix(ref, "@") {
	case "UA", "ada":
		return commands.Member{ID: "UA", Name: "Ada"}, nil
	case "UM", "max":
		return commands.Member{ID: "UM", Name: "Max"}, nil
	}
	return commands.Member{}, commands.ErrNoMember
}

// env is the handler behind a real HTTP server, on a bot and a store
// (miniredis) with a clock the test sets.
type env struct {
	t   *testing.T
	mr  *miniredis.Miniredis
	bot *commands.Bot
	srv *httptest.Server
	log *syncBuffer
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	e := &env{t: t, mr: mr, log: &syncBuffer{}, now: time.Now().UTC()}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bot, err := commands.New(store.New(rdb), catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: base,
		SecretKey: []byte("an example key of 32 bytes or more"), Timeout: 500 * time.Millisecond},
		commands.WithLogger(log), commands.WithClock(func() time.Time { return e.now }))
	if err != nil {
		t.Fatal(err)
	}
	e.bot = bot
	e.srv = httptest.NewServer(New(bot, log))
	t.Cleanup(e.srv.Close)
	return e
}

// link asks the core for the audit trail as who, and returns the path of
// its CSV button ("" when there is none) and the answer's text.
func (e *env) link(user commands.Member, admin bool, line string) (string, string) {
	e.t.Helper()
	resp, err := e.bot.Handle(e.t.Context(), commands.Request{Org: "T1", User: user, Locale: "de-DE", Admin: admin,
		Members: people{}, Text: line})
	if err != nil {
		e.t.Fatal(err)
	}
	var text []string
	for _, m := range resp.Messages {
		text = append(text, m.Text)
		for _, b := range m.Buttons {
			if strings.HasSuffix(b.URL, ".csv") {
				return strings.TrimPrefix(b.URL, base), ""
			}
		}
	}
	return "", strings.Join(text, "\n")
}

func (e *env) get(method, path string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Accept-Language", "de")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDownload(t *testing.T) {
	e := newEnv(t)
	ada := commands.Member{ID: "UA", Name: "Ada"}
	for _, l := range []string{"language en", "language de", "admin language de", "admin channel #billing"} {
		if _, err := e.bot.Handle(t.Context(), commands.Request{Org: "T1", User: ada, Locale: "de-DE", Admin: true, Members: people{}, Text: l}); err != nil {
			t.Fatal(err)
		}
	}
	if path, text := e.link(commands.Member{ID: "UM", Name: "Max"}, false, "admin protokoll"); path != "" || !strings.Contains(text, "Administrator") {
		t.Fatalf("a member got %q, %q", path, text)
	}
	path, _ := e.link(ada, true, "admin protokoll @ada")
	if path == "" {
		t.Fatal("no CSV link")
	}
	token := strings.TrimSuffix(strings.TrimPrefix(path, commands.AuditPath), ".csv")

	t.Run("ok", func(t *testing.T) {
		res := e.get(http.MethodGet, path)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8; header=present" ||
			res.Header.Get("Content-Disposition") != `attachment; filename="audit-T1.csv"` || res.Header.Get("Cache-Control") != "private, no-store" {
			t.Fatalf("%d %v", res.StatusCode, res.Header)
		}
		recs, err := csv.NewReader(res.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 5 || recs[0][0] != "Eintrag" || recs[1][4] != "Administratorkanal" || recs[1][7] != "#billing" || recs[4][4] != "Eigene Sprache" {
			t.Fatalf("rows %q", recs)
		}
	})
	t.Run("head", func(t *testing.T) {
		if res := e.get(http.MethodHead, path); res.StatusCode != 200 {
			t.Fatalf("HEAD: %d", res.StatusCode)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		payload, mac, _ := strings.Cut(token, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		other := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "|UA|", "|UX|", 1)))
		for _, p := range []string{other + "." + mac, payload + "." + mac[:len(mac)-2] + "AA", "x.y", strings.Repeat("a", 600)} {
			res := e.get(http.MethodGet, commands.AuditPath+p+".csv")
			if b := body(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(b, "ungültig") {
				t.Errorf("%s: %d %q", p, res.StatusCode, b)
			}
		}
	})
	t.Run("not a link", func(t *testing.T) {
		for _, p := range []string{commands.AuditPath + token, commands.AuditPath + "a/b.csv"} {
			if res := e.get(http.MethodGet, p); res.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d", p, res.StatusCode)
			}
		}
		if res := e.get(http.MethodPost, path); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: %d", res.StatusCode)
		}
	})
	t.Run("redis down", func(t *testing.T) {
		e.mr.Close()
		defer e.mr.Restart()
		res := e.get(http.MethodGet, path)
		if b := body(t, res); res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "gerade nicht") {
			t.Fatalf("%d %q", res.StatusCode, b)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e.now = e.now.Add(commands.AuditLinkTTL)
		res := e.get(http.MethodGet, path)
		if b := body(t, res); res.StatusCode != http.StatusGone || !strings.Contains(b, "abgelaufen") {
			t.Fatalf("%d %q", res.StatusCode, b)
		}
	})
	if strings.Contains(e.log.String(), token) {
		t.Errorf("the log holds the token:\n%s", e.log.String())
	}
}
