package paypage

import (
	"bytes"
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
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

// validYear is a card expiry year that stays in the future.
var validYear = strconv.Itoa(time.Now().Year() + 4)

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

// env is a payment page on a real bot and store. It checks the security
// headers of every response and, when the test ends, that no response body
// and no log line holds a card number, security code or token it saw.
type env struct {
	t       *testing.T
	st      *store.Store
	bot     *commands.Bot
	h       http.Handler
	log     *syncBuffer
	bodies  []string
	secrets map[string]bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := store.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}))
	logs := &syncBuffer{}
	// Without timestamps: their digits ("….123Z") would look like a
	// leaked security code.
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}}))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(),
		commands.Config{PublicURL: "https://pay.example"}, commands.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, bot: bot, h: New(bot, log), log: logs, secrets: map[string]bool{}}
	t.Cleanup(e.checkLeaks)
	return e
}

func (e *env) checkLeaks() {
	logs := e.log.String()
	for s := range e.secrets {
		for i, body := range e.bodies {
			if strings.Contains(body, s) {
				e.t.Errorf("response %d contains the secret %q:\n%s", i, s, body)
			}
		}
		if strings.Contains(logs, s) {
			e.t.Errorf("log contains the secret %q:\n%s", s, logs)
		}
	}
}

// link creates a payment link; methodID set means replace.
func (e *env) link(lang, methodID string) string {
	e.t.Helper()
	token, err := e.st.CreatePayLink(context.Background(), store.PayLink{Org: "T1", User: "U1", ProfileID: "default",
		MethodID: methodID, Lang: lang, Expires: time.Now().Add(30 * time.Minute)}, 30*time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secrets[token] = true
	return token
}

var wantHeaders = map[string]string{
	"Cache-Control":           "no-store",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
}

// do sends a request and checks the headers every response must have.
func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	for k, v := range wantHeaders {
		if got := w.Header().Get(k); got != v {
			e.t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
	e.bodies = append(e.bodies, w.Body.String())
	return w
}

func (e *env) get(token string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(httptest.NewRequest(http.MethodGet, "/pay/"+token, nil))
}

// post submits the form; its card number and security code become secrets.
func (e *env) post(token string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	for _, k := range []string{"number", "cvc"} {
		if v := form.Get(k); len(v) >= 3 {
			e.secrets[v] = true
			e.secrets[strings.NewReplacer(" ", "", "-", "").Replace(v)] = true
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(r)
}

func (e *env) methods() []store.PaymentMethod {
	e.t.Helper()
	v, err := e.st.View(context.Background(), "T1", "U1", store.ViewOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var ms []store.PaymentMethod
	for _, a := range v.Billing.Accounts {
		for _, p := range a.Profiles {
			ms = append(ms, p.Methods...)
		}
	}
	return ms
}

// text is a localized message as html/template writes it.
func (e *env) text(lang, id string, kv ...any) string {
	return template.HTMLEscapeString(e.bot.Text(lang, id, kv...))
}

func card(number, cvc, month, year string) url.Values {
	return url.Values{"number": {number}, "cvc": {cvc}, "exp_month": {month}, "exp_year": {year},
		"name": {"Erika Mustermann"}, "address": {"Hauptstraße 5\n10115 Berlin"}}
}

func good() url.Values { return card("4242424242424242", "123", "12", validYear) }

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body:\n%s", w.Code, status, w.Body)
	}
}

func wantIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q:\n%s", s, body)
		}
	}
}

// fieldErr returns the message shown next to a field ("number", "exp",
// "cvc", "name", "address").
func fieldErr(body, field string) string {
	m := regexp.MustCompile(`id="` + field + `-err">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestShowForm(t *testing.T) {
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{`<html lang="en">`, "<title>Add a payment method</title>", "Card number", "Expiration date",
			"Security code", "Name on card", "Billing address", ">Save</button>"}},
		{"de", []string{`<html lang="de">`, "<title>Zahlungsmethode hinzufügen</title>", "Kartennummer", "Ablaufdatum",
			"Sicherheitscode", "Name auf der Karte", "Rechnungsadresse", ">Speichern</button>"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			e := newEnv(t)
			w := e.get(e.link(tt.lang, ""))
			wantStatus(t, w, http.StatusOK)
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			body := w.Body.String()
			wantIn(t, body, tt.want...)
			wantIn(t, body, e.text(tt.lang, "PayPageIntroAdd"), `<form method="post"`,
				`autocomplete="cc-number"`, `autocomplete="cc-exp-month"`, `autocomplete="cc-exp-year"`,
				`autocomplete="cc-csc"`, `autocomplete="cc-name"`, `autocomplete="street-address"`,
				`inputmode="numeric"`, `maxlength="30"`, `maxlength="4"`, `maxlength="100"`, `maxlength="300"`)
			for _, bad := range []string{"<script", "action=", "[PayPage", "role=\"alert\""} {
				if strings.Contains(body, bad) {
					t.Errorf("body contains %q", bad)
				}
			}
			if !strings.Contains(e.log.String(), "org=T1") || !strings.Contains(e.log.String(), "outcome=shown") {
				t.Errorf("log lacks org and outcome:\n%s", e.log)
			}
		})
	}
}

func TestSaveMethod(t *testing.T) {
	e := newEnv(t)
	token := e.link("de", "")
	w := e.post(token, good())
	wantStatus(t, w, http.StatusOK)
	wantIn(t, w.Body.String(), "Zahlungsmethode gespeichert", "Visa •••• 4242 (12/"+validYear+")",
		"Sie können diese Seite schließen und zum Chat zurückkehren")

	ms := e.methods()
	if len(ms) != 1 {
		t.Fatalf("methods = %+v, want one", ms)
	}
	m := ms[0]
	if m.Brand != payment.BrandVisa || m.Last4 != "4242" || m.ExpMonth != 12 || strconv.Itoa(m.ExpYear) != validYear ||
		m.Name != "Erika Mustermann" || m.Address != "Hauptstraße 5\n10115 Berlin" || m.Token == "" {
		t.Errorf("method = %+v", m)
	}
	logs := e.log.String()
	wantIn(t, logs, "org=T1", "outcome=added")

	// The link is used up: a repeated submit answers like the first and
	// saves nothing twice.
	w = e.post(token, good())
	wantStatus(t, w, http.StatusOK)
	if n := len(e.methods()); n != 1 {
		t.Errorf("%d methods after the second post, want 1", n)
	}
}

func TestReplace(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.post(e.link("en", ""), good()), http.StatusOK)
	old := e.methods()[0]

	token := e.link("en", old.ID)
	w := e.get(token)
	wantStatus(t, w, http.StatusOK)
	wantIn(t, w.Body.String(), "<title>Replace payment method</title>", e.text("en", "PayPageIntroReplace"))

	w = e.post(token, card("5555 5555 5555 4444", "321", "3", validYear))
	wantStatus(t, w, http.StatusOK)
	wantIn(t, w.Body.String(), "Payment method saved", "Mastercard •••• 4444 (03/"+validYear+")", "return to chat")
	ms := e.methods()
	if len(ms) != 1 || ms[0].ID != old.ID || ms[0].Last4 != "4444" || ms[0].Brand != payment.BrandMastercard {
		t.Errorf("methods = %+v, want one Mastercard with id %s", ms, old.ID)
	}
	wantIn(t, e.log.String(), "outcome=replaced")
}

// TestCardErrors: the gateway's errors show the form again with the error
// next to the right field, refill the fields but the card number and the
// security code, save nothing and leave the link usable.
func TestCardErrors(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		field  string // "" for the notice above the form
		wantID string
	}{
		{"luhn", card("4242424242424241", "123", "12", validYear), "number", "PayPageErrNumber"},
		{"short number", card("4242424242", "123", "12", validYear), "number", "PayPageErrNumber"},
		{"letters", card("4242x42424242424", "123", "12", validYear), "number", "PayPageErrNumber"},
		{"expired", card("4242424242424242", "123", "12", "2020"), "exp", "PayPageErrExpired"},
		{"cvc length", card("4242424242424242", "1234", "12", validYear), "cvc", "PayPageErrCVC"},
		{"amex cvc", card("378282246310005", "123", "12", validYear), "cvc", "PayPageErrCVC"},
		{"declined", card("4000000000000002", "123", "12", validYear), "", "PayPageErrDeclined"},
	}
	for _, tt := range tests {
		for _, lang := range []string{"de", "en"} {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				e := newEnv(t)
				token := e.link(lang, "")
				w := e.post(token, tt.form)
				wantStatus(t, w, http.StatusUnprocessableEntity)
				body := w.Body.String()
				want := e.text(lang, tt.wantID)
				if tt.field == "" {
					wantIn(t, body, `role="alert">`+want+`</p>`)
				} else {
					if got := fieldErr(body, tt.field); got != want {
						t.Errorf("%s error = %q, want %q", tt.field, got, want)
					}
					wantIn(t, body, e.text(lang, "PayPageFixFields"))
				}
				wantIn(t, body, `value="Erika Mustermann"`, ">Hauptstraße 5\n10115 Berlin</textarea>",
					`value="`+tt.form.Get("exp_month")+`"`, `value="`+tt.form.Get("exp_year")+`"`)
				if n := strings.Count(body, "value="); n != 3 {
					t.Errorf("%d value attributes, want 3 (month, year, name)", n)
				}
				if ms := e.methods(); len(ms) != 0 {
					t.Errorf("saved %+v", ms)
				}
				wantIn(t, e.log.String(), "org=T1")

				// The link still works.
				wantStatus(t, e.get(token), http.StatusOK)
				wantStatus(t, e.post(token, good()), http.StatusOK)
				if ms := e.methods(); len(ms) != 1 || ms[0].Last4 != "4242" {
					t.Errorf("methods = %+v", ms)
				}
			})
		}
	}
}

// TestFieldLimits: the page's own checks; none of them reaches the
// gateway or uses the link up.
func TestFieldLimits(t *testing.T) {
	with := func(k, v string) url.Values {
		f := good()
		f.Set(k, v)
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		field  string
		want   func(e *env) string
		secret string
	}{
		{"no number", with("number", ""), "number", func(e *env) string { return e.text("en", "PayPageErrRequired") }, ""},
		{"long number", with("number", strings.Repeat("4242 ", 6)+"1"), "number",
			func(e *env) string { return e.text("en", "PayPageErrTooLong", "Max", "30") }, ""},
		{"no cvc", with("cvc", ""), "cvc", func(e *env) string { return e.text("en", "PayPageErrCVC") }, ""},
		{"cvc 5 digits", with("cvc", "12345"), "cvc", func(e *env) string { return e.text("en", "PayPageErrCVC") }, ""},
		{"cvc letters", with("cvc", "12a"), "cvc", func(e *env) string { return e.text("en", "PayPageErrCVC") }, ""},
		{"month 13", with("exp_month", "13"), "exp", func(e *env) string { return e.text("en", "PayPageErrMonth") }, ""},
		{"month 0", with("exp_month", "0"), "exp", func(e *env) string { return e.text("en", "PayPageErrMonth") }, ""},
		{"month +1", with("exp_month", "+1"), "exp", func(e *env) string { return e.text("en", "PayPageErrMonth") }, ""},
		{"no month", with("exp_month", ""), "exp", func(e *env) string { return e.text("en", "PayPageErrMonth") }, ""},
		{"year 2 digits", with("exp_year", "30"), "exp", func(e *env) string { return e.text("en", "PayPageErrYear") }, ""},
		{"year 5 digits", with("exp_year", "20300"), "exp", func(e *env) string { return e.text("en", "PayPageErrYear") }, ""},
		{"no name", with("name", " "), "name", func(e *env) string { return e.text("en", "PayPageErrRequired") }, ""},
		{"long name", with("name", strings.Repeat("ä", 101)), "name",
			func(e *env) string { return e.text("en", "PayPageErrTooLong", "Max", "100") }, ""},
		{"no address", with("address", ""), "address", func(e *env) string { return e.text("en", "PayPageErrRequired") }, ""},
		{"long address", with("address", strings.Repeat("x", 301)), "address",
			func(e *env) string { return e.text("en", "PayPageErrTooLong", "Max", "300") }, ""},
		{"card in name", with("name", "4111 1111 1111 1111"), "name",
			func(e *env) string { return e.text("en", "PayPageErrCardNumberHere") }, "4111 1111 1111 1111"},
		{"card in address", with("address", "Main St 1\n4111-1111-1111-1111"), "address",
			func(e *env) string { return e.text("en", "PayPageErrCardNumberHere") }, "4111-1111-1111-1111"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.secret != "" {
				e.secrets[tt.secret] = true // a card number is never shown again
			}
			token := e.link("en", "")
			w := e.post(token, tt.form)
			wantStatus(t, w, http.StatusUnprocessableEntity)
			if got, want := fieldErr(w.Body.String(), tt.field), tt.want(e); got != want {
				t.Errorf("%s error = %q, want %q", tt.field, got, want)
			}
			if n := len(regexp.MustCompile(`class="err"`).FindAllString(w.Body.String(), -1)); n != 1 {
				t.Errorf("%d field errors, want 1:\n%s", n, w.Body)
			}
			wantStatus(t, e.post(token, good()), http.StatusOK)
		})
	}
	t.Run("exact limits", func(t *testing.T) {
		e := newEnv(t)
		f := good()
		f.Set("number", "4242-4242-4242-4242 ")
		f.Set("exp_month", "01")
		f.Set("name", strings.Repeat("ä", 100))
		f.Set("address", strings.Repeat("x\r\n", 150)) // 300 characters once CRLF is LF
		wantStatus(t, e.post(e.link("en", ""), f), http.StatusOK)
		if ms := e.methods(); len(ms) != 1 || ms[0].ExpMonth != 1 || strings.Contains(ms[0].Address, "\r") {
			t.Errorf("methods = %+v", ms)
		}
	})
}

func TestOversizedBody(t *testing.T) {
	e := newEnv(t)
	token := e.link("de", "")
	f := good()
	f.Set("address", strings.Repeat("x", 17<<10))
	w := e.post(token, f)
	wantStatus(t, w, http.StatusRequestEntityTooLarge)
	wantIn(t, w.Body.String(), e.text("de", "PayPageTooLargeTitle"), e.text("de", "PayPageTooLarge"))
	if ms := e.methods(); len(ms) != 0 {
		t.Errorf("saved %+v", ms)
	}
	wantIn(t, e.log.String(), "outcome=too_large")
	wantStatus(t, e.post(token, good()), http.StatusOK)
}

func TestUnknownLink(t *testing.T) {
	e := newEnv(t)
	unknown := strings.Repeat("a", 48)
	e.secrets[unknown] = true
	w := e.get(unknown)
	wantStatus(t, w, http.StatusGone)
	wantIn(t, w.Body.String(), "This link no longer works", "/billing payment")

	w = e.post(unknown, good())
	wantStatus(t, w, http.StatusGone)

	r := httptest.NewRequest(http.MethodGet, "/pay/"+unknown, nil)
	r.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.8")
	w = e.do(r)
	wantStatus(t, w, http.StatusGone)
	wantIn(t, w.Body.String(), `<html lang="de">`, "Dieser Link funktioniert nicht mehr", "/billing zahlung")

	for _, path := range []string{"/pay/", "/pay/x/y", "/elsewhere"} {
		w := e.do(httptest.NewRequest(http.MethodGet, path, nil))
		wantStatus(t, w, http.StatusNotFound)
		wantIn(t, w.Body.String(), "This link no longer works")
	}
}

func TestExpiredLink(t *testing.T) {
	e := newEnv(t)
	// The link's own expiry counts even while Redis still holds it.
	token, err := e.st.CreatePayLink(context.Background(), store.PayLink{Org: "T1", User: "U1", ProfileID: "default",
		Lang: "en", Expires: time.Now().Add(-time.Minute)}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets[token] = true
	wantStatus(t, e.get(token), http.StatusGone)
	wantStatus(t, e.post(token, good()), http.StatusGone)
	if ms := e.methods(); len(ms) != 0 {
		t.Errorf("saved %+v", ms)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t)
	token := e.link("en", "")
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
		w := e.do(httptest.NewRequest(m, "/pay/"+token, strings.NewReader(good().Encode())))
		if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, POST" {
			t.Errorf("%s: status %d, Allow %q", m, w.Code, w.Header().Get("Allow"))
		}
	}
	wantStatus(t, e.get(token), http.StatusOK)
}

func TestNotFormEncoded(t *testing.T) {
	e := newEnv(t)
	token := e.link("en", "")
	r := httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader(good().Encode()))
	r.Header.Set("Content-Type", "text/plain")
	e.secrets["4242424242424242"] = true
	w := e.do(r)
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if got := fieldErr(w.Body.String(), "number"); got != e.text("en", "PayPageErrRequired") {
		t.Errorf("number error = %q", got)
	}
	r = httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader("number=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = e.do(r)
	wantStatus(t, w, http.StatusBadRequest)
	wantIn(t, w.Body.String(), e.text("en", "PayPageErrBadForm"))
	wantStatus(t, e.post(token, good()), http.StatusOK)
}

// TestStoreDown: a store fault is a 503 page that names neither the token
// nor the card, and the log line names neither.
func TestStoreDown(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1}))
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: "https://pay.example"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := st.CreatePayLink(context.Background(), store.PayLink{Org: "T1", User: "U1", ProfileID: "default",
		Lang: "en", Expires: time.Now().Add(30 * time.Minute)}, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mr.Close()
	r := httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader(good().Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	New(bot, log).ServeHTTP(w, r)
	wantStatus(t, w, http.StatusServiceUnavailable)
	wantIn(t, w.Body.String(), "Something went wrong")
	wantIn(t, logs.String(), "outcome=error")
	for _, s := range []string{token, "4242424242424242", "123"} {
		if strings.Contains(w.Body.String(), s) || strings.Contains(logs.String(), s) {
			t.Errorf("%q leaked:\nbody %s\nlog %s", s, w.Body, logs)
		}
	}
}

// TestRefillEscaped: refilled fields are escaped, not markup.
func TestRefillEscaped(t *testing.T) {
	e := newEnv(t)
	f := card("4242424242424241", "123", "12", validYear)
	f.Set("name", `"><script>alert(1)</script>`)
	f.Set("address", `</textarea><script>alert(2)</script>`)
	w := e.post(e.link("en", ""), f)
	wantStatus(t, w, http.StatusUnprocessableEntity)
	if strings.Contains(w.Body.String(), "<script") {
		t.Errorf("markup was echoed:\n%s", w.Body)
	}
	wantIn(t, w.Body.String(), `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`,
		`&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;</textarea>`)
}
