package invoicepdf

import (
	"bytes"
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

	"github.com/billingbot/billingbot/bot/internal/bottest"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/invoicedoc/pdftest"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

const (
	org      = "T1"
	alice    = "U1"
	bob      = "U2"
	otherOrg = "T2"
	base     = "https://billing.example"
)

// syncBuffer is a log sink that the race detector accepts.
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

// env is the download handler on a real bot and store (miniredis), with a
// clock the tests set. When the test ends, it checks that no log line
// holds a token it served.
type env struct {
	t      *testing.T
	mr     *miniredis.Miniredis
	st     *store.Store
	bot    *commands.Bot
	h      http.Handler
	log    *syncBuffer
	now    time.Time
	tokens []string
	// invoice is alice's, bobs is bob's.
	invoice, bobs string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	e := &env{t: t, mr: mr, st: store.New(rdb), log: &syncBuffer{}, now: time.Now().UTC()}
	log := slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	bot, err := commands.New(e.st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: base,
		SecretKey: []byte("an example key of 32 bytes or more"), Operator: commands.Operator{Name: "Contoso GmbH"}},
		commands.WithLogger(log), commands.WithClock(func() time.Time { return e.now }))
	if err != nil {
		t.Fatal(err)
	}
	e.bot, e.h = bot, New(bot, log)
	bottest.Invoices(t, bot, e.st, org, alice, 1)
	bottest.Invoices(t, bot, e.st, org, bob, 1)
	e.invoice, e.bobs = e.invoiceOf(alice), e.invoiceOf(bob)
	t.Cleanup(func() {
		logs := e.log.String()
		for _, tok := range e.tokens {
			if strings.Contains(logs, tok) {
				t.Errorf("the log holds a token:\n%s", logs)
			}
		}
	})
	return e
}

func (e *env) invoiceOf(user string) string {
	e.t.Helper()
	v, err := e.st.View(e.t.Context(), org, user, store.ViewOptions{InvoicesFrom: e.now.Add(-time.Hour), InvoicesTo: e.now.Add(time.Hour)})
	if err != nil || len(v.Invoices) != 1 {
		e.t.Fatalf("%s's invoices: %v, %d", user, err, len(v.Invoices))
	}
	return v.Invoices[0].ID
}

// path is the path of a link the core signs.
func (e *env) path(l commands.InvoiceLink) string {
	if l.Expires.IsZero() {
		l.Expires = e.now.Add(commands.InvoiceLinkTTL)
	}
	u := e.bot.InvoiceURL(l)
	p := strings.TrimPrefix(u, base)
	e.tokens = append(e.tokens, strings.TrimSuffix(strings.TrimPrefix(p, commands.InvoicePath), ".pdf"))
	return p
}

func (e *env) get(path, acceptLang string) *httptest.ResponseRecorder {
	return e.do(http.MethodGet, path, acceptLang)
}

func (e *env) do(method, path, acceptLang string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := httptest.NewRequest(method, path, nil)
	if acceptLang != "" {
		r.Header.Set("Accept-Language", acceptLang)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	for k, v := range headers {
		if got := w.Header().Get(k); got != v {
			e.t.Errorf("%s %s: header %s = %q, want %q", method, path, k, got, v)
		}
	}
	return w
}

// swap puts the payload of link b under the signature of link a: a token
// changed to name another user, organization or invoice.
func swap(a, b string) string {
	pa := strings.TrimSuffix(strings.TrimPrefix(a, commands.InvoicePath), ".pdf")
	pb := strings.TrimSuffix(strings.TrimPrefix(b, commands.InvoicePath), ".pdf")
	_, sig, _ := strings.Cut(pa, ".")
	payload, _, _ := strings.Cut(pb, ".")
	return commands.InvoicePath + payload + "." + sig + ".pdf"
}

// TestDownload: a link the core made answers the invoice's PDF, in the
// link's language.
func TestDownload(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Invoice", "Contoso GmbH", "Visio Plan 2", "€12.60", "Test mode — no real money"}},
		{"de", []string{"Rechnung", "Contoso GmbH", "Visio Plan 2", "12,60 €", "Testmodus – kein echtes Geld"}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			w := e.get(e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: tt.lang}), "")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", w.Code, w.Body)
			}
			for k, v := range map[string]string{
				"Content-Type":        "application/pdf",
				"Content-Disposition": `inline; filename="invoice-` + e.invoice + `.pdf"`,
			} {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if !bytes.HasPrefix(w.Body.Bytes(), []byte("%PDF-")) {
				t.Fatalf("not a PDF: %.20q", w.Body.Bytes())
			}
			text := pdftest.Text(t, w.Body.Bytes())
			for _, s := range append(tt.want, e.invoice) {
				if !strings.Contains(text, s) {
					t.Errorf("the PDF lacks %q; its text:\n%s", s, text)
				}
			}
		})
	}
	t.Run("head", func(t *testing.T) {
		w := e.do(http.MethodHead, e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "en"}), "")
		if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/pdf" || w.Body.Len() != 0 {
			t.Errorf("HEAD: %d %q, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
		}
	})
	if logs := e.log.String(); !strings.Contains(logs, "msg=\"invoice download\" org=T1 outcome=sent") {
		t.Errorf("no log line of the download with its organization and outcome:\n%s", logs)
	}
}

// TestRefused: a link that was changed, forged, has expired or names an
// invoice that is not its user's gets a page in the browser's (or the
// link's) language and no PDF; never a 5xx.
func TestRefused(t *testing.T) {
	e := newEnv(t)
	good := e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "en"})
	goodDE := e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "de"})
	tok := strings.TrimSuffix(good, ".pdf")
	sig := tok[strings.LastIndex(tok, ".")+1:]
	flipped := []byte(good)
	flipped[len(good)-10] ^= 1
	tests := []struct {
		name       string
		method     string
		path       string
		acceptLang string
		status     int
		want       string // on the page
	}{
		{"signature changed", "GET", string(flipped), "", 404, "This link does not work"},
		{"signature changed de", "GET", string(flipped), "de-DE,de;q=0.9,en;q=0.5", 404, "Dieser Link funktioniert nicht"},
		{"other user", "GET", swap(good, e.path(commands.InvoiceLink{Org: org, User: bob, Invoice: e.invoice, Lang: "en"})), "", 404, "This link does not work"},
		{"other organization", "GET", swap(good, e.path(commands.InvoiceLink{Org: otherOrg, User: alice, Invoice: e.invoice, Lang: "en"})), "", 404, "This link does not work"},
		{"other invoice", "GET", swap(good, e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.bobs, Lang: "en"})), "", 404, "This link does not work"},
		{"later expiry", "GET", swap(good, e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "en",
			Expires: e.now.Add(48 * time.Hour)})), "", 404, "This link does not work"},
		{"signed by another key", "GET", otherKey(t, commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "en", Expires: e.now.Add(time.Hour)}), "", 404, "This link does not work"},
		{"no signature", "GET", strings.Replace(good, "."+sig, "", 1), "", 404, "This link does not work"},
		{"garbage", "GET", commands.InvoicePath + "%3Cscript%3E.pdf", "", 404, "This link does not work"},
		{"not .pdf", "GET", strings.TrimSuffix(good, ".pdf"), "", 404, "This link does not work"},
		{"no token", "GET", commands.InvoicePath, "", 404, "This link does not work"},
		{"deeper path", "GET", commands.InvoicePath + "a/b.pdf", "", 404, "This link does not work"},
		{"another user's invoice", "GET", e.path(commands.InvoiceLink{Org: org, User: bob, Invoice: e.invoice, Lang: "de"}), "", 404, "Dieser Link funktioniert nicht"},
		{"another organization's", "GET", e.path(commands.InvoiceLink{Org: otherOrg, User: alice, Invoice: e.invoice, Lang: "en"}), "", 404, "This link does not work"},
		{"unknown invoice", "GET", e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: "20260101-NOTTHERE", Lang: "en"}), "", 404, "This link does not work"},
		{"expired", "GET", e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "en", Expires: e.now.Add(-time.Second)}), "", 410, "This link has expired"},
		{"expired de", "GET", e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "de", Expires: e.now}), "en", 410, "Dieser Link ist abgelaufen"},
		{"expired, from Slack", "GET", e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "de", Expires: e.now}), "", 410,
			"mit /billing rechnungen einen neuen an"},
		{"expired, from a German Discord", "GET", e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "de",
			Command: "/abrechnung", Expires: e.now}), "", 410, "mit /abrechnung rechnungen einen neuen an"},
		{"another user's invoice, from a German Discord", "GET", e.path(commands.InvoiceLink{Org: org, User: bob, Invoice: e.invoice, Lang: "de",
			Command: "/abrechnung"}), "", 404, "mit /abrechnung rechnungen einen neuen an"},
		{"post", "POST", goodDE, "", 405, "Method Not Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.do(tt.method, tt.path, tt.acceptLang)
			body := w.Body.String()
			if w.Code != tt.status || !strings.Contains(body, tt.want) {
				t.Errorf("%s %s: %d, want %d with %q:\n%s", tt.method, tt.path, w.Code, tt.status, tt.want, body)
			}
			if ct := w.Header().Get("Content-Type"); ct == "application/pdf" || w.Header().Get("Content-Disposition") != "" {
				t.Errorf("a refused link answered %s with %q", ct, w.Header().Get("Content-Disposition"))
			}
		})
	}
	t.Run("the good link still works", func(t *testing.T) {
		if w := e.get(good, ""); w.Code != http.StatusOK {
			t.Errorf("status %d", w.Code)
		}
	})
	t.Run("24 hours later", func(t *testing.T) {
		e.now = e.now.Add(commands.InvoiceLinkTTL)
		if w := e.get(good, ""); w.Code != http.StatusGone {
			t.Errorf("status %d, want 410", w.Code)
		}
	})
}

// otherKey is a link signed by a bot with another key.
func otherKey(t *testing.T, l commands.InvoiceLink) string {
	st := store.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}))
	b, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: base,
		SecretKey: []byte("another example key of 32 bytes or more")}, commands.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(b.InvoiceURL(l), base)
}

// TestRedisDown: a good link while Redis does not answer is a 503 page
// that asks to try again.
func TestRedisDown(t *testing.T) {
	e := newEnv(t)
	p := e.path(commands.InvoiceLink{Org: org, User: alice, Invoice: e.invoice, Lang: "de"})
	e.mr.Close()
	w := e.get(p, "")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "Bitte versuchen Sie es gleich noch einmal") {
		t.Errorf("status %d, want 503 with a German page:\n%s", w.Code, w.Body)
	}
	if logs := e.log.String(); !strings.Contains(logs, "org=T1 outcome=unavailable") {
		t.Errorf("no log line of the failure:\n%s", logs)
	}
}
