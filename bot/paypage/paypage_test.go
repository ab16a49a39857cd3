package paypage

import (
	"bytes"
	"context"
	"html/template"
	"log/slog"
	"math"
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
// headers of every response and, when the test ends, that no response
// body, no log line and no key or value in Redis holds a card number or
// security code it saw, and no body or log line a link's token.
type env struct {
	t       *testing.T
	mr      *miniredis.Miniredis
	st      *store.Store
	bot     *commands.Bot
	h       *handler
	cfg     Config
	log     *syncBuffer
	mu      sync.Mutex
	bodies  []string
	secrets map[string]bool // card numbers, security codes, tokens
	cards   map[string]bool // card numbers and security codes only
	tokens  []string        // the links made, whose form tokens pages carry
}

// envOption changes an env before its handler is made.
type envOption func(*envSetup)

type envSetup struct {
	pay payment.Provider
	cfg Config
}

func withProvider(p payment.Provider) envOption { return func(s *envSetup) { s.pay = p } }
func withConfig(c Config) envOption             { return func(s *envSetup) { s.cfg = c } }

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	setup := envSetup{pay: payment.NewSandbox(), cfg: Config{PublicURL: "https://pay.example"}}
	for _, o := range opts {
		o(&setup)
	}
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
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
	bot, err := commands.New(st, catalog.Demo(), setup.pay,
		commands.Config{PublicURL: "https://pay.example", Operator: commands.Operator{Name: "Contoso Software GmbH"}},
		commands.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, mr: mr, st: st, bot: bot, h: New(bot, log, setup.cfg).(*handler), cfg: setup.cfg, log: logs,
		secrets: map[string]bool{}, cards: map[string]bool{}}
	t.Cleanup(e.checkLeaks)
	return e
}

// checkLeaks fails the test if a secret is in a response body (form
// tokens aside, whose hex digits could look like a security code), the
// log, or Redis.
func (e *env) checkLeaks() {
	logs := e.log.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, body := range e.bodies {
		for _, token := range e.tokens {
			body = strings.ReplaceAll(body, e.h.formToken(store.PayLink{Ref: store.PayLinkRef(token)}), "[form token]")
		}
		for s := range e.secrets {
			if strings.Contains(body, s) {
				e.t.Errorf("response %d contains the secret %q:\n%s", i, s, body)
			}
		}
	}
	for s := range e.secrets {
		if strings.Contains(logs, s) {
			e.t.Errorf("log contains the secret %q:\n%s", s, logs)
		}
	}
	for s := range e.cards {
		if where := inRedis(e.mr, s); where != "" {
			e.t.Errorf("Redis holds %q: %s", s, where)
		}
	}
}

// inRedis says where in the miniredis a card number (however grouped) or
// a security code (as a whole value) is, or "".
func inRedis(mr *miniredis.Miniredis, secret string) string {
	digits := strings.NewReplacer(" ", "", "-", "").Replace(secret)
	code := regexp.MustCompile(`(^|"|: ?)` + regexp.QuoteMeta(secret) + `("|$)`)
	found := func(s string) bool {
		if len(digits) >= 12 {
			return strings.Contains(strings.NewReplacer(" ", "", "-", "", ".", "", "/", "").Replace(s), digits)
		}
		return code.MatchString(s)
	}
	for _, k := range mr.Keys() {
		var vals []string
		switch mr.Type(k) {
		case "string":
			v, _ := mr.Get(k)
			vals = append(vals, v)
		case "hash":
			fs, _ := mr.HKeys(k)
			for _, f := range fs {
				vals = append(vals, f, mr.HGet(k, f))
			}
		case "set":
			vals, _ = mr.Members(k)
		case "zset":
			vals, _ = mr.ZMembers(k)
		case "list":
			vals, _ = mr.List(k)
		case "stream":
			entries, _ := mr.Stream(k)
			for _, en := range entries {
				vals = append(vals, en.Values...)
			}
		}
		if found(k) {
			return "key " + k
		}
		for _, v := range vals {
			if found(v) {
				return "in " + k + ": " + v
			}
		}
	}
	return ""
}

// link creates a payment link; methodID set means replace.
func (e *env) link(lang, methodID string) string {
	e.t.Helper()
	return e.makeLink(store.PayLink{Org: "T1", User: "U1", ProfileID: "default", MethodID: methodID, Lang: lang,
		Expires: time.Now().Add(30 * time.Minute)})
}

func (e *env) makeLink(l store.PayLink) string {
	e.t.Helper()
	token, err := e.st.CreatePayLink(context.Background(), l, 30*time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets[token] = true
	e.tokens = append(e.tokens, token)
	return token
}

func wantHeaders(https bool) map[string]string {
	h := map[string]string{
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
	}
	if https {
		h["Strict-Transport-Security"] = "max-age=31536000"
	}
	return h
}

// do sends a request and checks the headers every response must have.
func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	e.t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	for k, v := range wantHeaders(strings.HasPrefix(e.cfg.PublicURL, "https:")) {
		if got := w.Header().Get(k); got != v {
			e.t.Errorf("%s %s: header %s = %q, want %q", r.Method, r.URL.Path, k, got, v)
		}
	}
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
		e.t.Errorf("%s %s: status %d", r.Method, r.URL.Path, w.Code)
	}
	e.mu.Lock()
	e.bodies = append(e.bodies, w.Body.String())
	e.mu.Unlock()
	return w
}

func (e *env) get(path string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(httptest.NewRequest(http.MethodGet, path, nil))
}

// follow GETs where a 303 leads.
func (e *env) follow(w *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	e.t.Helper()
	wantStatus(e.t, w, http.StatusSeeOther)
	return e.get(w.Header().Get("Location"))
}

// formToken is the token the page's forms carry for a link.
func (e *env) formToken(token string) string {
	return e.h.formToken(store.PayLink{Ref: store.PayLinkRef(token)})
}

// post submits the card form as the page would, with its form token
// unless form sets one; its card number and security code become
// secrets. hdr are more headers, in pairs.
func (e *env) post(token string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.postTo("/pay/"+token, token, form, hdr...)
}

func (e *env) postTo(path, token string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	e.mu.Lock()
	for _, k := range []string{"number", "cvc"} {
		if v := form.Get(k); len(v) >= 3 {
			stripped := strings.NewReplacer(" ", "", "-", "").Replace(v)
			e.secrets[v], e.secrets[stripped], e.cards[v], e.cards[stripped] = true, true, true, true
		}
	}
	e.mu.Unlock()
	if _, ok := form["form_token"]; !ok {
		form = cloneValues(form)
		form.Set("form_token", e.formToken(token))
	}
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return e.do(r)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
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

// wantDone checks that a response sends the browser to the link's result.
func wantDone(t *testing.T, w *httptest.ResponseRecorder, token string) {
	t.Helper()
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); loc != "/pay/"+token+"/done" {
		t.Errorf("Location %q, want the result page", loc)
	}
	if w.Body.Len() != 0 {
		t.Errorf("a redirect has a body: %s", w.Body)
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

func wantNotIn(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Errorf("body contains %q:\n%s", s, body)
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

// cardFields are what a page that takes cards has.
var cardFields = []string{`name="number"`, `name="cvc"`, `autocomplete="cc-number"`, `autocomplete="cc-csc"`}

func TestShowForm(t *testing.T) {
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{`<html lang="en">`, "<title>Add a payment method</title>", "Card number", "Expiration date",
			"Security code", "Name on card", "Billing address", ">Save</button>",
			"<dt>Seller</dt><dd>Contoso Software GmbH</dd>", "<dt>Organization</dt><dd>T1</dd>",
			"<dt>Billing account</dt><dd>Billing account</dd>", "<dt>Billing profile</dt><dd>Billing profile</dd>",
			"<dt>Link works until</dt><dd>", " UTC</dd>", "When you are done, return to Slack or Discord."}},
		{"de", []string{`<html lang="de">`, "<title>Zahlungsmethode hinzufügen</title>", "Kartennummer", "Ablaufdatum",
			"Sicherheitscode", "Name auf der Karte", "Rechnungsadresse", ">Speichern</button>",
			"<dt>Verkäufer</dt><dd>Contoso Software GmbH</dd>", "<dt>Organisation</dt><dd>T1</dd>",
			"<dt>Abrechnungskonto</dt><dd>Abrechnungskonto</dd>", "<dt>Abrechnungsprofil</dt><dd>Abrechnungsprofil</dd>",
			"<dt>Link gültig bis</dt><dd>", " UTC</dd>", "Wenn Sie fertig sind, kehren Sie zu Slack oder Discord zurück."}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			e := newEnv(t)
			token := e.link(tt.lang, "")
			w := e.get("/pay/" + token)
			wantStatus(t, w, http.StatusOK)
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			body := w.Body.String()
			wantIn(t, body, tt.want...)
			wantIn(t, body, e.text(tt.lang, "PayPageIntroAdd"), `<form method="post" autocomplete="on">`,
				`<input type="hidden" name="form_token" value="`+e.formToken(token)+`">`,
				`autocomplete="cc-number"`, `autocomplete="cc-exp-month"`, `autocomplete="cc-exp-year"`,
				`autocomplete="cc-csc"`, `autocomplete="cc-name"`, `autocomplete="street-address"`,
				`inputmode="numeric"`, `maxlength="30"`, `maxlength="4"`, `maxlength="100"`, `maxlength="300"`)
			wantNotIn(t, body, "<script", "action=", "[PayPage", `role="alert"`, "autofocus", `http-equiv="refresh"`)
			if !strings.Contains(e.log.String(), "org=T1") || !strings.Contains(e.log.String(), "outcome=shown") {
				t.Errorf("log lacks org and outcome:\n%s", e.log)
			}
		})
	}
}

// TestWhose: the page names the organization as the platform does and
// leads back to the conversation the link was asked for in.
func TestWhose(t *testing.T) {
	e := newEnv(t)
	token := e.makeLink(store.PayLink{Org: "slack-T1", User: "U1", ProfileID: "default", Lang: "en",
		Expires: time.Date(2030, 11, 25, 14, 5, 0, 0, time.UTC), OrgName: "Acme <Corp>",
		ChatURL: "https://slack.com/app_redirect?channel=C100&team=T1"})
	body := e.get("/pay/" + token).Body.String()
	wantIn(t, body, "<dt>Organization</dt><dd>Acme &lt;Corp&gt;</dd>", "<dd>Nov 25, 2030, 2:05 PM UTC</dd>",
		`<a href="https://slack.com/app_redirect?channel=C100&amp;team=T1" rel="noreferrer">Back to the chat</a>`)
	wantNotIn(t, body, "slack-T1", "return to Slack or Discord")

	de := e.makeLink(store.PayLink{Org: "discord-1", User: "U1", ProfileID: "default", Lang: "de",
		Expires: time.Date(2030, 11, 25, 14, 5, 0, 0, time.UTC), ChatURL: "https://discord.com/channels/1/2"})
	wantIn(t, e.get("/pay/"+de).Body.String(), "<dt>Organisation</dt><dd>discord-1</dd>", "<dd>25.11.2030, 14:05 UTC</dd>",
		`<a href="https://discord.com/channels/1/2" rel="noreferrer">Zurück zum Chat</a>`)
}

// TestSaveMethod: a saved card answers with a redirect to the result page
// (post/redirect/get), which keeps showing it; a repeated submit, a reload
// and Back lead there too, and nothing is saved twice.
func TestSaveMethod(t *testing.T) {
	e := newEnv(t)
	token := e.link("de", "")
	wantDone(t, e.post(token, good()), token)

	done := e.get("/pay/" + token + "/done")
	wantStatus(t, done, http.StatusOK)
	wantIn(t, done.Body.String(), "<title>Zahlungsmethode gespeichert</title>", "Visa •••• 4242 (12/"+validYear+")",
		"Sie können diese Seite schließen und zum Chat zurückkehren", `class="success" role="status"`, "Contoso Software GmbH")
	wantNotIn(t, done.Body.String(), cardFields...)

	ms := e.methods()
	if len(ms) != 1 {
		t.Fatalf("methods = %+v, want one", ms)
	}
	m := ms[0]
	if m.Brand != payment.BrandVisa || m.Last4 != "4242" || m.ExpMonth != 12 || strconv.Itoa(m.ExpYear) != validYear ||
		m.Name != "Erika Mustermann" || m.Address != "Hauptstraße 5\n10115 Berlin" || m.Token == "" {
		t.Errorf("method = %+v", m)
	}
	wantIn(t, e.log.String(), "org=T1", "outcome=added")

	// Submitted again (Back, then Save; a reload that resends), with
	// another card even: the same result, nothing saved twice.
	wantDone(t, e.post(token, good()), token)
	wantDone(t, e.post(token, card("5555555555554444", "321", "3", validYear)), token)
	// The form's address after success: the result.
	wantDone(t, e.get("/pay/"+token), token)
	if n := len(e.methods()); n != 1 {
		t.Errorf("%d methods after the repeats, want 1", n)
	}
	wantIn(t, e.follow(e.post(token, good())).Body.String(), "Visa •••• 4242")
}

// slowSandbox is the sandbox on a slow connection: Tokenize waits until
// every expected submit has arrived, so that all of them pass the page's
// look at the link before any saves.
type slowSandbox struct {
	*payment.Sandbox
	arrived chan struct{}
	n       int
}

func (s *slowSandbox) Tokenize(ctx context.Context, c payment.Card, now time.Time) (payment.Method, error) {
	s.arrived <- struct{}{}
	for len(s.arrived) < s.n {
		time.Sleep(time.Millisecond)
	}
	return s.Sandbox.Tokenize(ctx, c, now)
}

// TestDoubleClick: two submits of one form at once (a double click over a
// slow connection) both lead to the saved card, never to "This link no
// longer works" or "already saved".
func TestDoubleClick(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			slow := &slowSandbox{Sandbox: payment.NewSandbox(), arrived: make(chan struct{}, 2), n: 2}
			e := newEnv(t, withProvider(slow))
			token := e.link(lang, "")
			var wg sync.WaitGroup
			res := make([]*httptest.ResponseRecorder, 2)
			for i := range res {
				wg.Go(func() { res[i] = e.post(token, good()) })
			}
			wg.Wait()
			for _, w := range res {
				wantDone(t, w, token)
			}
			if n := len(e.methods()); n != 1 {
				t.Errorf("%d methods, want 1", n)
			}
			wantIn(t, e.get("/pay/"+token+"/done").Body.String(), "Visa •••• 4242")
		})
	}
}

func TestReplace(t *testing.T) {
	e := newEnv(t)
	first := e.link("en", "")
	wantDone(t, e.post(first, good()), first)
	old := e.methods()[0]

	token := e.link("en", old.ID)
	w := e.get("/pay/" + token)
	wantStatus(t, w, http.StatusOK)
	wantIn(t, w.Body.String(), "<title>Replace payment method</title>", e.text("en", "PayPageIntroReplace"),
		"<dt>Replaces</dt><dd>Visa •••• 4242 (12/"+validYear+")</dd>",
		`value="Erika Mustermann"`, ">Hauptstraße 5\n10115 Berlin</textarea>")

	w = e.post(token, card("5555 5555 5555 4444", "321", "3", validYear))
	wantIn(t, e.follow(w).Body.String(), "Payment method saved", "Mastercard •••• 4444 (03/"+validYear+")", "return to chat")
	ms := e.methods()
	if len(ms) != 1 || ms[0].ID != old.ID || ms[0].Last4 != "4444" || ms[0].Brand != payment.BrandMastercard {
		t.Errorf("methods = %+v, want one Mastercard with id %s", ms, old.ID)
	}
	wantIn(t, e.log.String(), "outcome=replaced")
}

// TestCardErrors: the provider's errors show the form again with the
// error next to the right field and in a summary at the top that takes
// the focus and links to the field, "Error:" in the title; they refill
// the fields but the card number and the security code, save nothing and
// leave the link usable.
func TestCardErrors(t *testing.T) {
	tests := []struct {
		name   string
		form   url.Values
		field  string // "" for the summary alone
		anchor string // the field the summary links to
		wantID string
	}{
		{"luhn", card("4242424242424241", "123", "12", validYear), "number", "number", "PayPageErrNumber"},
		{"short number", card("4242424242", "123", "12", validYear), "number", "number", "PayPageErrNumber"},
		{"letters", card("4242x42424242424", "123", "12", validYear), "number", "number", "PayPageErrNumber"},
		{"expired", card("4242424242424242", "123", "12", "2020"), "exp", "exp_month", "PayPageErrExpired"},
		{"cvc length", card("4242424242424242", "1234", "12", validYear), "cvc", "cvc", "PayPageErrCVC"},
		{"amex cvc", card("378282246310005", "123", "12", validYear), "cvc", "cvc", "PayPageErrCVC"},
		{"declined", card("4000000000000002", "123", "12", validYear), "", "number", "PayPageErrDeclined"},
	}
	titles := map[string]string{"en": "<title>Error: Add a payment method</title>", "de": "<title>Fehler: Zahlungsmethode hinzufügen</title>"}
	for _, tt := range tests {
		for _, lang := range []string{"de", "en"} {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				e := newEnv(t)
				token := e.link(lang, "")
				w := e.post(token, tt.form)
				wantStatus(t, w, http.StatusUnprocessableEntity)
				body := w.Body.String()
				want := e.text(lang, tt.wantID)
				if tt.field != "" {
					if got := fieldErr(body, tt.field); got != want {
						t.Errorf("%s error = %q, want %q", tt.field, got, want)
					}
				}
				wantIn(t, body, titles[lang], want,
					`<div class="summary" id="summary" role="alert" tabindex="-1" autofocus aria-labelledby="summary-title">`,
					`<h2 id="summary-title">`+e.text(lang, "PayPageProblem")+`</h2>`, `<li><a href="#`+tt.anchor+`">`)
				if tt.field != "" {
					wantIn(t, body, e.text(lang, "PayPageFixFields"))
				}
				wantIn(t, body, `value="Erika Mustermann"`, ">Hauptstraße 5\n10115 Berlin</textarea>",
					`value="`+tt.form.Get("exp_month")+`"`, `value="`+tt.form.Get("exp_year")+`"`)
				if n := strings.Count(body, "value="); n != 4 {
					t.Errorf("%d value attributes, want 4 (form token, month, year, name)", n)
				}
				if ms := e.methods(); len(ms) != 0 {
					t.Errorf("saved %+v", ms)
				}
				wantIn(t, e.log.String(), "org=T1")

				// The link still works.
				wantStatus(t, e.get("/pay/"+token), http.StatusOK)
				wantDone(t, e.post(token, good()), token)
				if ms := e.methods(); len(ms) != 1 || ms[0].Last4 != "4242" {
					t.Errorf("methods = %+v", ms)
				}
			})
		}
	}
}

// TestDuplicateCard: a card the profile has already is refused on the
// card number field, in the user's language.
func TestDuplicateCard(t *testing.T) {
	for _, tt := range []struct{ lang, want string }{
		{"en", "Visa •••• 4242 (12/" + validYear + ") is already one of your payment methods in this billing profile. Please enter another card."},
		{"de", "Visa •••• 4242 (12/" + validYear + ") ist bereits eine Ihrer Zahlungsmethoden in diesem Abrechnungsprofil. Bitte geben Sie eine andere Karte ein."},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			e := newEnv(t)
			first := e.link(tt.lang, "")
			wantDone(t, e.post(first, good()), first)
			token := e.link(tt.lang, "")
			w := e.post(token, good())
			wantStatus(t, w, http.StatusUnprocessableEntity)
			if got := fieldErr(w.Body.String(), "number"); got != template.HTMLEscapeString(tt.want) {
				t.Errorf("number error = %q, want %q", got, tt.want)
			}
			wantIn(t, w.Body.String(), `<li><a href="#number">`)
			if n := len(e.methods()); n != 1 {
				t.Errorf("%d methods, want 1", n)
			}
			// Another card is fine.
			wantDone(t, e.post(token, card("5555555555554444", "321", "3", validYear)), token)
		})
	}
}

// TestLinkDiesAfterRefusedCards: the fifth refused card ends the link:
// the page says it no longer works, and so does every later request.
func TestLinkDiesAfterRefusedCards(t *testing.T) {
	e := newEnv(t)
	token := e.link("en", "")
	declined := card(payment.TestCardDeclined, "123", "12", validYear)
	for i := 1; i < commands.MaxPayLinkFailures; i++ {
		wantStatus(t, e.post(token, declined), http.StatusUnprocessableEntity)
	}
	w := e.post(token, declined)
	wantStatus(t, w, http.StatusGone)
	wantIn(t, w.Body.String(), "This link no longer works", e.text("en", "PayPageTooManyFailures"))
	wantNotIn(t, w.Body.String(), cardFields...)
	wantStatus(t, e.get("/pay/"+token), http.StatusGone)
	wantStatus(t, e.post(token, good()), http.StatusGone)
	if ms := e.methods(); len(ms) != 0 {
		t.Errorf("saved %+v", ms)
	}
}

// TestAttemptLimit: one client address may try MaxCardAttempts cards per
// window across links; then it gets 429 in the user's language, and
// nothing is checked or saved. Addresses come from the connection, or
// from the proxy's X-Forwarded-For entry only when it is trusted.
func TestAttemptLimit(t *testing.T) {
	bad := card("4242424242424241", "123", "12", validYear) // refused by the provider: an attempt
	from := func(addr string, xff ...string) []string {
		h := []string{"X-Test-Remote", addr}
		for _, x := range xff {
			h = append(h, "X-Forwarded-For", x)
		}
		return h
	}
	exhaust := func(e *env, hdr []string) {
		t.Helper()
		for i := 0; i < commands.MaxCardAttempts; i++ {
			token := e.link("en", "")
			wantStatus(t, e.post(token, bad, hdr...), http.StatusUnprocessableEntity)
		}
	}
	t.Run("direct", func(t *testing.T) {
		e := newEnv(t)
		e.h.mux = remoteFromHeader(e.h.mux)
		exhaust(e, from("192.0.2.7:5000", "198.51.100.9"))
		for _, lang := range []string{"en", "de"} {
			token := e.link(lang, "")
			w := e.post(token, good(), from("192.0.2.7:6000", "203.0.113.1")...) // X-Forwarded-For is not trusted
			wantStatus(t, w, http.StatusTooManyRequests)
			wantIn(t, w.Body.String(), e.text(lang, "PayPageTooManyTitle"), e.text(lang, "PayPageTooMany", "Minutes", "10"))
			if ra := w.Header().Get("Retry-After"); ra != "600" {
				t.Errorf("Retry-After %q, want 600", ra)
			}
		}
		if ms := e.methods(); len(ms) != 0 {
			t.Errorf("saved %+v", ms)
		}
		wantIn(t, e.log.String(), "outcome=rate_limited")
		// Another address still may.
		token := e.link("en", "")
		wantDone(t, e.post(token, good(), from("198.51.100.9:5000")...), token)
	})
	t.Run("behind a proxy", func(t *testing.T) {
		e := newEnv(t, withConfig(Config{PublicURL: "https://pay.example", TrustProxy: true}))
		e.h.mux = remoteFromHeader(e.h.mux)
		// The proxy appends the client's address; what the client sent
		// before it does not count.
		exhaust(e, from("10.0.0.1:1", "1.2.3.4, 192.0.2.7"))
		wantStatus(t, e.post(e.link("en", ""), good(), from("10.0.0.1:1", "5.6.7.8, 192.0.2.7")...), http.StatusTooManyRequests)
		token := e.link("en", "")
		wantDone(t, e.post(token, good(), from("10.0.0.1:1", "192.0.2.7, 198.51.100.9")...), token)
	})
	t.Run("IPv6 by /64", func(t *testing.T) {
		e := newEnv(t)
		e.h.mux = remoteFromHeader(e.h.mux)
		exhaust(e, from("[2001:db8:1:2::1]:5000"))
		wantStatus(t, e.post(e.link("en", ""), good(), from("[2001:db8:1:2:ffff::9]:5000")...), http.StatusTooManyRequests)
		token := e.link("en", "")
		wantDone(t, e.post(token, good(), from("[2001:db8:1:3::1]:5000")...), token)
	})
}

// remoteFromHeader sets a request's RemoteAddr from X-Test-Remote, as a
// connection from that address would.
func remoteFromHeader(next *http.ServeMux) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("X-Test-Remote"); a != "" {
			r.RemoteAddr = a
		}
		next.ServeHTTP(w, r)
	})
	return mux
}

// TestForeignPosts: a POST that the page did not send (another origin, a
// cross-site request, no or a wrong form token) is refused with 403 in the
// user's language and changes nothing.
func TestForeignPosts(t *testing.T) {
	tests := []struct {
		name string
		edit func(url.Values) url.Values
		hdr  []string
	}{
		{"other origin", nil, []string{"Origin", "https://evil.example"}},
		{"null origin", nil, []string{"Origin", "null"}},
		{"http origin", nil, []string{"Origin", "http://pay.example"}},
		{"other port", nil, []string{"Origin", "https://pay.example:8443"}},
		{"cross-site", nil, []string{"Sec-Fetch-Site", "cross-site"}},
		{"no form token", func(v url.Values) url.Values { v["form_token"] = []string{""}; return v }, nil},
		{"another link's form token", func(v url.Values) url.Values {
			v.Set("form_token", strings.Repeat("ab", 32))
			return v
		}, nil},
	}
	for _, tt := range tests {
		for _, lang := range []string{"en", "de"} {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				e := newEnv(t)
				token := e.link(lang, "")
				f := good()
				if tt.edit != nil {
					f = tt.edit(f)
				}
				before := e.mr.Dump()
				w := e.post(token, f, tt.hdr...)
				wantStatus(t, w, http.StatusForbidden)
				wantIn(t, w.Body.String(), e.text(lang, "PayPageRefusedTitle"), e.text(lang, "PayPageRefused"),
					`<a href="">`+e.text(lang, "PayPageOpenAgain")+`</a>`)
				wantNotIn(t, w.Body.String(), cardFields...)
				if after := e.mr.Dump(); after != before {
					t.Errorf("Redis changed:\n%s\nwas\n%s", after, before)
				}
				// From the page itself, it goes through.
				wantDone(t, e.post(token, good(), "Origin", "https://pay.example", "Sec-Fetch-Site", "same-origin"), token)
			})
		}
	}
}

// TestOriginNull: browsers send the Origin "null" with the page's own
// POST, as its Referrer-Policy is no-referrer (Chromium does, with
// Sec-Fetch-Site: same-origin); that goes through, a "null" from anywhere
// else is refused.
func TestOriginNull(t *testing.T) {
	for _, tt := range []struct {
		site string // Sec-Fetch-Site
		ok   bool
	}{
		{"same-origin", true},
		{"same-site", false},
		{"cross-site", false},
		{"none", false},
		{"", false},
	} {
		t.Run("Sec-Fetch-Site "+tt.site, func(t *testing.T) {
			e := newEnv(t)
			token := e.link("en", "")
			hdr := []string{"Origin", "null"}
			if tt.site != "" {
				hdr = append(hdr, "Sec-Fetch-Site", tt.site)
			}
			w := e.post(token, good(), hdr...)
			if tt.ok {
				wantDone(t, w, token)
			} else {
				wantStatus(t, w, http.StatusForbidden)
			}
		})
	}
}

// TestOriginDefaultPort: a public URL that names its scheme's default
// port matches the Origin browsers send, which leaves it out.
func TestOriginDefaultPort(t *testing.T) {
	e := newEnv(t, withConfig(Config{PublicURL: "https://Pay.Example:443/billing"}))
	token := e.link("en", "")
	wantStatus(t, e.post(token, good(), "Origin", "https://pay.example:444"), http.StatusForbidden)
	wantDone(t, e.post(token, good(), "Origin", "https://pay.example"), token)
}

// TestHSTS: browsers are told to keep to https only when the public URL
// is https.
func TestHSTS(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want string
	}{{"https://pay.example", "max-age=31536000"}, {"http://localhost:8080", ""}} {
		e := newEnv(t, withConfig(Config{PublicURL: tt.url}))
		for _, path := range []string{"/pay/" + e.link("en", ""), "/pay/x", "/elsewhere"} {
			if got := e.get(path).Header().Get("Strict-Transport-Security"); got != tt.want {
				t.Errorf("%s %s: Strict-Transport-Security %q, want %q", tt.url, path, got, tt.want)
			}
		}
	}
}

// hostedProvider is a provider whose own page takes the cards, as Stripe's
// does; it moves real money (no test mode).
type hostedProvider struct {
	*payment.Sandbox
	err error
}

func (hostedProvider) TestMode() bool { return false }

func (p hostedProvider) StartSetup(ctx context.Context, r payment.SetupRequest) (payment.Setup, error) {
	if p.err != nil {
		return payment.Setup{}, p.err
	}
	return payment.Setup{ID: "cs_1", URL: "https://checkout.example/c/cs_1?lang=" + r.Lang + "&done=" + url.QueryEscape(r.SuccessURL)}, nil
}

// TestHosted: with a hosted provider the page sends the browser to the
// provider's page and never shows a card field; its result page says the
// card is being saved (and reloads) until the provider reports it.
func TestHosted(t *testing.T) {
	e := newEnv(t, withProvider(hostedProvider{Sandbox: payment.NewSandbox()}))
	token := e.link("de", "")
	w := e.get("/pay/" + token)
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, "https://checkout.example/c/cs_1?lang=de&done=") ||
		!strings.Contains(loc, url.QueryEscape("https://pay.example/pay/"+token+"/done")) {
		t.Errorf("Location %q, want the provider's page", loc)
	}
	// A card posted anyway is dropped, not taken.
	w = e.post(token, good())
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); loc != "/pay/"+token {
		t.Errorf("Location %q after a card post, want the link", loc)
	}
	if ms := e.methods(); len(ms) != 0 {
		t.Errorf("saved %+v", ms)
	}

	done := e.get("/pay/" + token + "/done")
	wantStatus(t, done, http.StatusOK)
	wantIn(t, done.Body.String(), "<title>Ihre Karte wird gespeichert</title>", e.text("de", "PayPageSaving"),
		`<meta http-equiv="refresh" content="5">`)
	wantNotIn(t, done.Body.String(), append(cardFields, `class="testmode"`, e.text("de", "TestMode"))...)

	// The provider reports the card: the result shows it, and the link
	// leads there.
	l, err := e.st.PayLink(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bot.PaymentEvent(t.Context(), payment.Event{ID: "evt_1", Kind: payment.EventSetupCompleted, Reference: l.Ref,
		Method: payment.Method{Token: "pm_1", Brand: payment.BrandVisa, Last4: "4242", ExpMonth: 12, ExpYear: 2031, Fingerprint: "fp_1"}}); err != nil {
		t.Fatal(err)
	}
	done = e.get("/pay/" + token + "/done")
	wantIn(t, done.Body.String(), "Zahlungsmethode gespeichert", "Visa •••• 4242 (12/2031)")
	wantNotIn(t, done.Body.String(), `http-equiv="refresh"`)
	wantDone(t, e.get("/pay/"+token), token)
}

// TestHostedFails: when the provider's page cannot be opened, the user
// reads the page's error message.
func TestHostedFails(t *testing.T) {
	e := newEnv(t, withProvider(hostedProvider{Sandbox: payment.NewSandbox(), err: context.DeadlineExceeded}))
	w := e.get("/pay/" + e.link("en", ""))
	wantStatus(t, w, http.StatusServiceUnavailable)
	wantIn(t, w.Body.String(), "Something went wrong", e.text("en", "PayPageError"))
	wantNotIn(t, w.Body.String(), cardFields...)
	wantIn(t, e.log.String(), "outcome=error")
}

// bankProvider is the sandbox with charges the purchaser must confirm
// with their bank (3-D Secure) on the provider's page.
type bankProvider struct{ *payment.Sandbox }

func (bankProvider) Authenticate(ctx context.Context, charge, returnURL string) (string, error) {
	return "https://bank.example/3ds/" + charge + "?return=" + url.QueryEscape(returnURL), nil
}

// invoiceLink makes an invoice whose charge waits for the bank, and a
// link to confirm it.
func (e *env) invoiceLink(lang string) (string, store.Invoice) {
	e.t.Helper()
	ctx := e.t.Context()
	sub := store.Subscription{ID: "sub1", Org: "T1", ProductID: "visio-plan-2", ProductName: "Visio Plan 2",
		Purchaser: store.Member{ID: "U1", Name: "Erika"}, SelfService: true, Status: store.StatusPending, Total: 5,
		Period: store.Monthly, UnitPrice: 123456, Currency: "EUR", ProfileID: "default", PurchasedAt: time.Now()}
	inv := store.Invoice{ID: "20261125-ABCDEFGH", Org: "T1", User: "U1", ProfileID: "default", SubID: "sub1",
		Date:  time.Now().UTC().Truncate(time.Second),
		Lines: []store.InvoiceLine{{Product: "Visio Plan 2", Quantity: 5, UnitPrice: 123456, Amount: 617280, Kind: "purchase"}},
		Total: 617280, Currency: "EUR", Status: store.InvoiceOpen, Grant: &store.Grant{Kind: store.GrantPurchase}}
	if _, err := e.st.CreateSubscription(ctx, store.Once{Key: "create-sub1"}, sub, &inv); err != nil {
		e.t.Fatal(err)
	}
	inv.Charge = "ch_1"
	if ok, err := e.st.SetInvoiceStatus(ctx, inv, store.InvoiceAction); err != nil || !ok {
		e.t.Fatalf("SetInvoiceStatus: %v, %v", ok, err)
	}
	if err := e.st.IndexCharge(ctx, "ch_1", "T1", inv.ID); err != nil {
		e.t.Fatal(err)
	}
	inv.Status = store.InvoiceAction
	return e.makeLink(store.PayLink{Org: "T1", User: "U1", ProfileID: "default", Lang: lang, Invoice: inv.ID,
		Expires: time.Now().Add(time.Hour)}), inv
}

// TestConfirmCharge: a link to confirm a charge shows what is to be
// confirmed, in the link's language and money format, with a button that
// posts to /pay/{token}/confirm and leads to the provider's page; back
// from there, the result page waits for the bank's answer, then shows the
// invoice's status.
func TestConfirmCharge(t *testing.T) {
	tests := []struct {
		lang string
		want []string
	}{
		{"en", []string{"<title>Confirm your payment</title>", "<dt>Invoice</dt><dd>20261125-ABCDEFGH</dd>",
			"<dt>Product</dt><dd>Visio Plan 2: 5 × €1,234.56</dd>", "<dt>Amount</dt><dd class=\"strong\">€6,172.80</dd>",
			"<dt>Status</dt><dd>waiting for your confirmation</dd>", ">Confirm payment</button>"}},
		{"de", []string{"<title>Zahlung bestätigen</title>", "<dt>Rechnung</dt><dd>20261125-ABCDEFGH</dd>",
			"<dt>Produkt</dt><dd>Visio Plan 2: 5 × 1.234,56 €</dd>", "<dt>Betrag</dt><dd class=\"strong\">6.172,80 €</dd>",
			">Zahlung bestätigen</button>"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			e := newEnv(t, withProvider(bankProvider{payment.NewSandbox()}))
			token, _ := e.invoiceLink(tt.lang)
			w := e.get("/pay/" + token)
			wantStatus(t, w, http.StatusOK)
			body := w.Body.String()
			wantIn(t, body, tt.want...)
			wantIn(t, body, `<form method="post" action="`+token+`/confirm">`, e.text(tt.lang, "PayPageConfirmIntro"),
				`name="form_token" value="`+e.formToken(token)+`"`, e.text(tt.lang, "TestMode"))
			wantNotIn(t, body, cardFields...)
			e.mu.Lock()
			e.bodies = e.bodies[:len(e.bodies)-1] // the one page that names its link: its form's action
			e.mu.Unlock()

			w = e.postTo("/pay/"+token+"/confirm", token, url.Values{})
			wantStatus(t, w, http.StatusSeeOther)
			if loc := w.Header().Get("Location"); loc != "https://bank.example/3ds/ch_1?return="+url.QueryEscape("https://pay.example/pay/"+token+"/done") {
				t.Errorf("Location %q, want the bank's page", loc)
			}
			wantStatus(t, e.postTo("/pay/"+token+"/confirm", token, url.Values{}, "Origin", "https://evil.example"), http.StatusForbidden)
			wantStatus(t, e.postTo("/pay/"+token+"/confirm", token, url.Values{"form_token": {"x"}}), http.StatusForbidden)

			// Back from the bank before its answer: the result waits.
			done := e.get("/pay/" + token + "/done")
			wantIn(t, done.Body.String(), e.text(tt.lang, "PayPageConfirmWaiting"), `<meta http-equiv="refresh" content="5">`)
			e.mu.Lock()
			e.bodies = e.bodies[:len(e.bodies)-1] // its button again
			e.mu.Unlock()

			if err := e.bot.PaymentEvent(t.Context(), payment.Event{ID: "evt_paid", Kind: payment.EventChargeSucceeded, Charge: "ch_1"}); err != nil {
				t.Fatal(err)
			}
			for _, path := range []string{"/pay/" + token + "/done", "/pay/" + token} {
				body := e.get(path).Body.String()
				wantIn(t, body, e.text(tt.lang, "PayPagePaidTitle"), e.text(tt.lang, "PayPagePaid"), e.text(tt.lang, "InvoicePaid"))
				wantNotIn(t, body, "<button", `http-equiv="refresh"`)
			}
			// Nothing more to confirm: the result page.
			wantDone(t, e.postTo("/pay/"+token+"/confirm", token, url.Values{}), token)
		})
	}
}

// TestInvoiceStatus: a charge no longer to confirm shows its status
// instead of the button, in the link's language.
func TestInvoiceStatus(t *testing.T) {
	tests := []struct {
		name string
		to   func(e *env, inv store.Invoice)
		lang string
		want []string
	}{
		{"failed", func(e *env, _ store.Invoice) {
			if err := e.bot.PaymentEvent(e.t.Context(), payment.Event{ID: "evt_f", Kind: payment.EventChargeFailed, Charge: "ch_1"}); err != nil {
				e.t.Fatal(err)
			}
		}, "en", []string{"<title>Payment failed</title>", "PayPageFailed", "<dt>Status</dt><dd>payment failed</dd>"}},
		{"void", func(e *env, inv store.Invoice) {
			if ok, err := e.st.SetInvoiceStatus(e.t.Context(), inv, store.InvoiceVoid); err != nil || !ok {
				e.t.Fatalf("SetInvoiceStatus: %v, %v", ok, err)
			}
		}, "de", []string{"<title>Zahlung nicht bestätigt</title>", "PayPageVoid", "<dt>Status</dt><dd>ungültig, nicht bezahlt</dd>"}},
		{"paid", func(e *env, _ store.Invoice) {
			if err := e.bot.PaymentEvent(e.t.Context(), payment.Event{ID: "evt_p", Kind: payment.EventChargeSucceeded, Charge: "ch_1"}); err != nil {
				e.t.Fatal(err)
			}
		}, "de", []string{"<title>Zahlung bestätigt</title>", "PayPagePaid", "<dt>Status</dt><dd>bezahlt</dd>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, withProvider(bankProvider{payment.NewSandbox()}))
			token, inv := e.invoiceLink(tt.lang)
			tt.to(e, inv)
			for _, path := range []string{"/pay/" + token, "/pay/" + token + "/done"} {
				body := e.get(path).Body.String()
				for _, w := range tt.want {
					if strings.HasPrefix(w, "PayPage") {
						w = e.text(tt.lang, w)
					}
					wantIn(t, body, w)
				}
				wantNotIn(t, body, "<button", "action=", `http-equiv="refresh"`)
			}
		})
	}
}

// TestTestMode: with the sandbox every page says that no real money moves
// and how the test cards behave.
func TestTestMode(t *testing.T) {
	e := newEnv(t)
	token := e.link("de", "")
	pages := map[string]*httptest.ResponseRecorder{
		"form":    e.get("/pay/" + token),
		"error":   e.post(token, card("4242424242424241", "123", "12", validYear)),
		"unknown": e.get("/pay/" + strings.Repeat("a", 48)),
	}
	wantDone(t, e.post(token, good()), token)
	pages["done"] = e.get("/pay/" + token + "/done")
	for name, w := range pages {
		lang := "de"
		if name == "unknown" {
			lang = "en"
		}
		wantIn(t, w.Body.String(), `<div class="testmode" role="note">`, "<strong>"+e.text(lang, "TestMode")+"</strong>",
			e.text(lang, "PayPageTestCardOK", "Number", "4242 4242 4242 4242"),
			e.text(lang, "PayPageTestCardDeclined", "Number", "4000 0000 0000 0002"),
			e.text(lang, "PayPageTestCardChargeDeclined", "Number", "4000 0000 0000 0341"))
	}
}

// TestContrast: the borders of the fields reach 3:1 against their
// background (WCAG 1.4.11), also when marked invalid; text colors reach
// 4.5:1.
func TestContrast(t *testing.T) {
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6});`).FindAllStringSubmatch(pageHTML, -1) {
		vars[m[1]] = m[2]
	}
	tests := []struct {
		name     string
		fg, bg   string
		minRatio float64
	}{
		{"field border", vars["line"], "#ffffff", 3},
		{"invalid field border", vars["bad"], vars["bad-bg"], 3},
		{"focused field border", vars["accent"], "#ffffff", 3},
		{"text", vars["ink"], "#ffffff", 4.5},
		{"muted text", vars["muted"], "#ffffff", 4.5},
		{"error text", vars["bad"], "#ffffff", 4.5},
		{"error summary text", vars["bad"], vars["bad-bg"], 4.5},
		{"test mode text", vars["test"], vars["test-bg"], 4.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fg == "" || tt.bg == "" {
				t.Fatalf("color missing from the CSS: %v", vars)
			}
			if r := contrast(tt.fg, tt.bg); r < tt.minRatio {
				t.Errorf("%s on %s: %.2f:1, want at least %.1f:1", tt.fg, tt.bg, r, tt.minRatio)
			}
		})
	}
	if r := contrast("#c9d1d9", "#ffffff"); r > 1.6 || r < 1.5 {
		t.Errorf("contrast of the old border: %.2f, want 1.5 (the formula is off)", r)
	}
}

// contrast is the WCAG 2 contrast ratio of two sRGB colors (#rrggbb).
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// luminance is a color's relative luminance (WCAG 2).
func luminance(hex string) float64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	ch := func(v uint64) float64 {
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(n>>16&0xff) + 0.7152*ch(n>>8&0xff) + 0.0722*ch(n&0xff)
}

// TestCardDataNowhere: after submits that work, refusals of every kind
// and repeats, neither the card numbers nor the security codes are in any
// key or value of Redis, the log or a page (checkLeaks, at the end).
func TestCardDataNowhere(t *testing.T) {
	e := newEnv(t)
	e.h.mux = remoteFromHeader(e.h.mux)
	token := e.link("en", "")
	e.post(token, card("4000000000000002", "314", "12", validYear))            // declined
	e.post(token, card("4242424242424241", "271", "12", validYear))            // Luhn
	e.post(token, card("4242424242424242", "161", "12", "2020"))               // expired
	e.post(token, good(), "Origin", "https://evil.example")                    // foreign
	e.post(token, card("5105105105105100", "577", "12", validYear))            // saved
	e.post(token, card("5105105105105100", "577", "12", validYear))            // repeat
	e.post(e.link("en", ""), card("5105105105105100", "577", "12", validYear)) // duplicate
	for i := 0; i <= commands.MaxCardAttempts; i++ {
		e.post(e.link("en", ""), card("4111111111111112", "836", "12", validYear), "X-Test-Remote", "192.0.2.99:1") // limited at last
	}
	if ms := e.methods(); len(ms) != 1 || ms[0].Last4 != "5100" {
		t.Errorf("methods = %+v", ms)
	}
	// The check sees what it looks for.
	if where := inRedis(e.mr, "5100"); where == "" {
		t.Error("inRedis does not find the last four digits, which are kept")
	}
}

// TestFieldLimits: the page's own checks; none of them reaches the
// provider or uses the link up.
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
				e.cards[tt.secret] = true
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
			if n := strings.Count(w.Body.String(), `<li><a href="#`); n != 1 {
				t.Errorf("%d errors in the summary, want 1", n)
			}
			wantDone(t, e.post(token, good()), token)
		})
	}
	t.Run("exact limits", func(t *testing.T) {
		e := newEnv(t)
		f := good()
		f.Set("number", "4242-4242-4242-4242 ")
		f.Set("exp_month", "01")
		f.Set("name", strings.Repeat("ä", 100))
		f.Set("address", strings.Repeat("x\r\n", 150)) // 300 characters once CRLF is LF
		token := e.link("en", "")
		wantDone(t, e.post(token, f), token)
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
	wantDone(t, e.post(token, good()), token)
}

func TestUnknownLink(t *testing.T) {
	e := newEnv(t)
	unknown := strings.Repeat("a", 48)
	e.secrets[unknown] = true
	for _, path := range []string{"/pay/" + unknown, "/pay/" + unknown + "/done"} {
		w := e.get(path)
		wantStatus(t, w, http.StatusGone)
		wantIn(t, w.Body.String(), "This link no longer works", "/billing payment")
	}
	wantStatus(t, e.post(unknown, good()), http.StatusGone)
	wantStatus(t, e.postTo("/pay/"+unknown+"/confirm", unknown, url.Values{}), http.StatusGone)

	r := httptest.NewRequest(http.MethodGet, "/pay/"+unknown, nil)
	r.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.8")
	w := e.do(r)
	wantStatus(t, w, http.StatusGone)
	wantIn(t, w.Body.String(), `<html lang="de">`, "Dieser Link funktioniert nicht mehr", "/billing zahlung")

	for _, path := range []string{"/pay/", "/pay/x/y", "/elsewhere"} {
		w := e.get(path)
		wantStatus(t, w, http.StatusNotFound)
		wantIn(t, w.Body.String(), "This link no longer works")
	}
}

func TestExpiredLink(t *testing.T) {
	e := newEnv(t)
	// The link's own expiry counts even while Redis still holds it.
	token := e.makeLink(store.PayLink{Org: "T1", User: "U1", ProfileID: "default", Lang: "en", Expires: time.Now().Add(-time.Minute)})
	wantStatus(t, e.get("/pay/"+token), http.StatusGone)
	wantStatus(t, e.get("/pay/"+token+"/done"), http.StatusGone)
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
	wantStatus(t, e.get("/pay/"+token), http.StatusOK)
	// The confirmation's address, opened: the link.
	w := e.get("/pay/" + token + "/confirm")
	wantStatus(t, w, http.StatusSeeOther)
	if loc := w.Header().Get("Location"); loc != "/pay/"+token {
		t.Errorf("Location %q", loc)
	}
}

func TestNotFormEncoded(t *testing.T) {
	e := newEnv(t)
	token := e.link("en", "")
	r := httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader(good().Encode()))
	r.Header.Set("Content-Type", "text/plain")
	e.secrets["4242424242424242"] = true
	w := e.do(r)
	wantStatus(t, w, http.StatusForbidden) // no form token either
	r = httptest.NewRequest(http.MethodPost, "/pay/"+token, strings.NewReader("number=%zz"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = e.do(r)
	wantStatus(t, w, http.StatusBadRequest)
	wantIn(t, w.Body.String(), e.text("en", "PayPageErrBadForm"))
	wantDone(t, e.post(token, good()), token)
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
	New(bot, log, Config{PublicURL: "https://pay.example"}).ServeHTTP(w, r)
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
