package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/commands/payment/stripetest"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// Timings of the browser tests: generous, for a loaded 2-core machine.
const (
	browserLife = 3 * time.Minute  // the browser is stopped after this, whatever happens
	browserStep = 30 * time.Second // one step in it: a page load, a check
)

// The cards typed into the payment page, looked for afterwards in Redis
// and in the log.
const (
	goodNumber  = "4242 4242 4242 4242" // the sandbox's card that works
	goodCVC     = "737"
	badNumber   = "4242 4242 4242 4241" // fails the Luhn check
	badCVC      = "9137"                // 4 digits: a Visa's has 3
	otherNumber = "5555 5555 5555 4444" // posted to the link once it is used
)

// TestBrowserPaymentPage: a user opens the payment link the bot gave them
// in Slack in a real browser (headless Chromium). With the sandbox they
// see whose page it is and the test mode, get the errors of invalid cards
// next to the fields, save a valid card, land on the result (which stays
// on reload and Back), are told in chat, and find the link used up; the
// card numbers and security codes are then nowhere in Redis or the log.
// With Stripe, the link sends the browser to the Checkout page that Stripe
// returned.
//
// Without chromium on the PATH it is skipped, unless CI is true. With
// BROWSER_SHOTS=DIR it writes a screenshot of each page into DIR (else
// into a temporary directory), to look at them as a user would.
func TestBrowserPaymentPage(t *testing.T) {
	browser := startChromium(t)
	t.Run("sandbox", func(t *testing.T) { testBrowserSandbox(t, browser) })
	t.Run("stripe", func(t *testing.T) { testBrowserStripe(t, browser) })
}

func testBrowserSandbox(t *testing.T, browser context.Context) {
	addr := redistest.Real(t)
	var logs bytes.Buffer
	logw := &syncWriter{w: &logs}
	s := serveWith(t, "redis://"+addr, serveOptions{pay: payment.NewSandbox(), log: logw,
		env: map[string]string{"BILLINGBOT_OPERATOR_NAME": "Contoso GmbH"}})
	const user = "U1"
	s.api.setLocale(user, "en-US")
	link := s.payLink("T1", "acme", "C100", user)
	tab := openTab(t, browser, "sandbox")

	// 1. The form, and whose it is.
	if resp := tab.navigate(link); resp.Status != http.StatusOK {
		t.Fatalf("GET %s: %d, want 200", link, resp.Status)
	}
	tab.shot("1-form")
	if got := inTab(tab, chromedp.Title()); got != "Add a payment method" {
		t.Errorf("title %q, want %q", got, "Add a payment method")
	}
	if !inTab(tab, chromedp.Evaluate[bool](`document.querySelector("form input[name=number]") !== null`)) {
		t.Fatal("the page has no card form")
	}
	if got := inTab(tab, chromedp.Text(chromedp.CSS(".testmode"))); !strings.Contains(got, "Test mode — no real money.") ||
		!strings.Contains(got, "4242 4242 4242 4242: saved and charged") {
		t.Errorf("test mode banner %q, want it to say so and name the test cards", got)
	}
	facts := tab.facts()
	for label, want := range map[string]string{"Seller": "Contoso GmbH", "Organization": "acme"} {
		if facts[label] != want {
			t.Errorf("fact %q = %q, want %q (all: %q)", label, facts[label], want, facts)
		}
	}
	for _, label := range []string{"Billing account", "Billing profile", "Link works until"} {
		if facts[label] == "" {
			t.Errorf("no fact %q on the page (all: %q)", label, facts)
		}
	}
	if got := inTab(tab, chromedp.Evaluate[string](`document.querySelector("p.back a").href`)); got != "https://slack.com/app_redirect?channel=C100&team=T1" {
		t.Errorf("the way back to the chat leads to %q, want the conversation C100", got)
	}
	formToken := inTab(tab, chromedp.Value(chromedp.CSS(`input[name="form_token"]`)))

	// 2. Invalid cards: errors next to their fields, the summary has the
	// focus, and neither the number nor the security code comes back.
	future := strconv.Itoa(time.Now().Year() + 3)
	for i, tt := range []struct {
		name    string
		card    cardEntry
		invalid []string          // the inputs marked aria-invalid
		errs    map[string]string // the message next to each of them, by the input's id
	}{
		{"the number fails the Luhn check", cardEntry{badNumber, "01", "2020", badCVC, "Alice Adams", "Hauptstraße 1\n10115 Berlin"},
			// The expiry is past and the security code too long as well, but
			// the provider names the first problem it finds: the number.
			[]string{"number"}, map[string]string{"number": "This card number is not valid. Please check it."}},
		{"a 4-digit security code", cardEntry{goodNumber, "12", future, badCVC, "Alice Adams", "Hauptstraße 1\n10115 Berlin"},
			[]string{"cvc"}, map[string]string{"cvc": "Enter the 3-digit security code (4 digits for American Express)."}},
		{"expired", cardEntry{goodNumber, "01", "2020", goodCVC, "Alice Adams", "Hauptstraße 1\n10115 Berlin"},
			[]string{"exp_month", "exp_year"}, map[string]string{"exp_month": "This card has expired. Please use another card."}},
		{"no such month, and the card number as the name", cardEntry{goodNumber, "13", future, goodCVC, goodNumber, "Hauptstraße 1\n10115 Berlin"},
			[]string{"exp_month", "name"}, map[string]string{"exp_month": "Enter a month from 1 to 12.",
				"name": "This looks like a card number. Enter it in the card number field only."}},
	} {
		ok := t.Run(tt.name, func(t *testing.T) {
			tab := tab.under(t)
			tab.fill(tt.card)
			if resp := tab.submit(); resp.Status != http.StatusUnprocessableEntity {
				t.Fatalf("POST: %d, want 422", resp.Status)
			}
			tab.shot(fmt.Sprintf("2-error-%d", i+1))
			tab.wantFieldErrors(tt.invalid, tt.errs)
			if got := inTab(tab, chromedp.Title()); got != "Error: Add a payment method" {
				t.Errorf("title %q, want it to start with Error:", got)
			}
			if got := inTab(tab, chromedp.Evaluate[string](`document.activeElement.id`)); got != "summary" {
				t.Errorf("the focus is on %q, want the error summary", got)
			}
			// Outside the test mode banner, which names the test cards.
			html := inTab(tab, chromedp.OuterHTML(chromedp.CSS("main")))
			if strings.Contains(ungroupDigits(html), ungroupDigits(tt.card.number)) {
				t.Errorf("the page shows the card number %s that was typed:\n%s", tt.card.number, html)
			}
			if m := standsAlone(tt.card.cvc).FindString(html); m != "" {
				t.Errorf("the page shows the security code %s that was typed (%q):\n%s", tt.card.cvc, m, html)
			}
			for _, id := range []string{"number", "cvc"} {
				if got := inTab(tab, chromedp.Value(chromedp.ID(id))); got != "" {
					t.Errorf("the field %s holds %q again, want it empty", id, got)
				}
			}
		})
		if !ok {
			t.FailNow() // the next steps start from this page
		}
	}

	// 3. A valid card: the result, after post/redirect/get; a reload shows
	// it again, and so does Back, once the browser sent again what it asks
	// to (see below).
	tab.fill(cardEntry{goodNumber, "12", future, goodCVC, "Alice Adams", "Hauptstraße 1\n10115 Berlin"})
	saved := "Saved: Visa •••• 4242 (12/" + future + "). You can close this page and return to chat."
	if resp := tab.submit(); resp.Status != http.StatusOK || resp.URL != link+"/done" {
		t.Fatalf("POST of a valid card ended at %d %s, want 200 %s/done", resp.Status, resp.URL, link)
	}
	tab.shot("3-done")
	tab.wantResult(link, saved)
	tab.do(chromedp.Reload())
	tab.wantResult(link, saved)
	// The page before is the last refused card's: the answer to a POST,
	// which the browser does not keep (no-store), so Chromium shows its own
	// page that asks to send the form again (ERR_CACHE_MISS, "Confirm Form
	// Resubmission"); a browser that kept it shows it as it was. Sent again
	// (a reload; the test's Chromium does not ask first), it leads to the
	// result. Further back, the form (a GET) leads to the result at once.
	var loadErr *chromedp.LoadError
	switch err := tab.try(chromedp.NavigateBack()); {
	case errors.As(err, &loadErr) && loadErr.ErrorText == "net::ERR_CACHE_MISS":
	case err != nil:
		t.Errorf("Back from the result: %v, want the refused card's page, or the browser asking to send it again", err)
	default:
		if got := inTab(tab, chromedp.Title()); got != "Error: Add a payment method" {
			t.Errorf("Back from the result shows %q, want the refused card's page as it was", got)
		}
	}
	tab.shot("3-back")
	tab.do(chromedp.Reload())
	tab.wantResult(link, saved)
	history := inTab(tab, chromedp.NavigationEntries())
	form := slices.IndexFunc(history.Entries, func(e *page.NavigationEntry) bool { return e.URL == link })
	if form < 0 {
		t.Fatalf("the form %s is not in the history %+v", link, history.Entries)
	}
	tab.do(chromedp.NavigateToHistoryEntry(history.Entries[form].ID))
	tab.shot("3-back-to-form")
	tab.wantResult(link, saved)

	// 4. The card in chat: the user's direct message, and /billing payment.
	s.api.waitCall(t, "chat.postMessage", func(c apiCall) bool {
		return c.Form.Get("channel") == "D1" && strings.Contains(c.Form.Get("text")+c.Form.Get("blocks"), "Visa •••• 4242")
	})
	s.api.waitCall(t, "conversations.open", func(c apiCall) bool { return c.Form.Get("users") == user })
	if answer := s.answer("T1", user, "payment"); !strings.Contains(answer, "Visa •••• 4242") {
		t.Errorf("/billing payment answered %s, want the saved card", answer)
	}

	// 5. The link again: the result, no form; a card posted to it anyway
	// (with the page's form token, from the page's origin) saves nothing.
	if resp := tab.navigate(link); resp.Status != http.StatusOK || resp.URL != link+"/done" {
		t.Errorf("the used link ended at %d %s, want 200 %s/done", resp.Status, resp.URL, link)
	}
	tab.shot("4-used")
	tab.wantResult(link, saved)
	req, _ := http.NewRequest(http.MethodPost, link, strings.NewReader(url.Values{"form_token": {formToken},
		"number": {otherNumber}, "cvc": {goodCVC}, "exp_month": {"11"}, "exp_year": {future}, "name": {"Mallory"},
		"address": {"Elsewhere 1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if to := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || to != strings.TrimPrefix(link, s.base)+"/done" {
		t.Errorf("a card posted to the used link: %d to %q, want 303 to its result", resp.StatusCode, to)
	}
	v, err := s.st.View(t.Context(), "slack-T1", user, store.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var methods []store.PaymentMethod
	for _, a := range v.Billing.Accounts {
		for _, p := range a.Profiles {
			methods = append(methods, p.Methods...)
		}
	}
	if len(methods) != 1 || methods[0].Last4 != "4242" {
		t.Errorf("payment methods %+v, want the one Visa •••• 4242", methods)
	}

	// 6. The card data is nowhere. The numbers are looked for in every key
	// and value of Redis and in the log, however they are grouped. A
	// security code has 3 or 4 digits, which occur by chance in ids,
	// amounts and timestamps, so it is looked for where it stands alone:
	// not next to a letter, a digit or a dot (2.737s, 737µs and 1764064737
	// are not it; "cvc=737", "CVC 737" and {"cvc":"737"} are). The 4-digit
	// one is checked the same way.
	numbers := []string{goodNumber, badNumber, otherNumber}
	redistest.WantNowhere(t, addr, numbers...)
	codes := []*regexp.Regexp{standsAlone(goodCVC), standsAlone(badCVC)}
	redistest.WantNoMatch(t, addr, codes...)
	log := logw.String()
	if !strings.Contains(log, `msg="payment page"`) || !strings.Contains(log, "outcome=added") {
		t.Fatalf("the log lacks the payment page's lines; it has:\n%s", log)
	}
	flat := ungroupDigits(log)
	for _, n := range numbers {
		if strings.Contains(flat, ungroupDigits(n)) {
			t.Errorf("the log holds the card number %s:\n%s", n, log)
		}
	}
	for _, re := range codes {
		if m := re.FindString(log); m != "" {
			t.Errorf("the log holds a security code (%q matches %s):\n%s", m, re, log)
		}
	}
}

func testBrowserStripe(t *testing.T, browser context.Context) {
	// stripe-mock answers every Checkout Session with the same URL; the
	// recorder lets it check the request and answers with a session of this
	// test's own, so that the URL the browser ends at is the one the
	// provider returned.
	checkout := "https://checkout.stripe.com/c/pay/cs_test_browser" + strconv.FormatInt(time.Now().UnixNano(), 36)
	rec := stripetest.Record(t, stripetest.Start(t))
	rec.Answer(t, http.MethodPost, "/v1/checkout/sessions", http.StatusOK, map[string]any{
		"id": "cs_test_browser", "object": "checkout.session", "mode": "setup", "url": checkout})
	pay, err := payment.NewStripe(payment.StripeConfig{SecretKey: stripetest.SecretKey, WebhookSecret: stripetest.WebhookSecret,
		APIURL: rec.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := serveWith(t, "redis://"+redistest.Mini(t).Addr(), serveOptions{pay: pay})
	link := s.payLink("T1", "acme", "C100", "U2") // a German user

	tab := openTab(t, browser, "stripe")
	resp := tab.navigate(link)
	tab.shot("checkout")
	if resp.Status != http.StatusOK || resp.URL != checkout {
		t.Errorf("the link ended at %d %s, want Checkout's page %s", resp.Status, resp.URL, checkout)
	}
	if got := inTab(tab, chromedp.Location()); got != checkout {
		t.Errorf("the browser shows %s, want %s", got, checkout)
	}
	if got := tab.standIns(); !slices.Equal(got, []string{checkout}) {
		t.Errorf("the browser asked the provider for %q, want only %s", got, checkout)
	}
	var session *stripetest.Request
	for _, r := range rec.Requests() {
		if r.Method == http.MethodPost && r.Path == "/v1/checkout/sessions" {
			session = &r
		}
	}
	switch {
	case session == nil:
		t.Error("no Checkout Session was created")
	case session.Form.Get("mode") != "setup" || session.Form.Get("locale") != "de" ||
		session.Form.Get("success_url") != link+"/done" || session.Form.Get("cancel_url") != link:
		t.Errorf("Checkout Session %v, want setup mode in German, back to %s", session.Form, link)
	}

	// The same redirect, as the server gives it.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := noRedirect.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != checkout {
		t.Errorf("GET %s: %d to %q, want 303 to %s", link, r.StatusCode, r.Header.Get("Location"), checkout)
	}
}

// payLink asks for a payment link in Slack with /billing payment add, as
// user in a conversation (channel) of the workspace team (domain), and
// returns the link the answer offers.
func (s *served) payLink(team, domain, channel, user string) string {
	s.t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(s.base) + `/pay/[a-z0-9]{48}`)
	code, body := s.slashIn(team, domain, channel, user, "payment add")
	if code != http.StatusOK {
		s.t.Fatalf("/billing payment add: %d %s", code, body)
	}
	if link := re.FindString(body); link != "" {
		return link
	}
	hook := s.api.hook(s.t, user) // the core was slow: the answer follows
	link := re.FindString(hook)
	if link == "" {
		s.t.Fatalf("/billing payment add answered %s%s, with no link to %s/pay/", body, hook, s.base)
	}
	return link
}

// answer is the answer to a /billing command of user, in the HTTP answer
// or, when the core was slow, posted to the response_url.
func (s *served) answer(team, user, text string) string {
	s.t.Helper()
	code, body := s.slash(team, user, text)
	if code != http.StatusOK {
		s.t.Fatalf("/billing %s: %d %s", text, code, body)
	}
	if body != "" {
		return body
	}
	return s.api.hook(s.t, user)
}

// standsAlone matches s where it stands alone: not next to a letter
// (µ too), a digit or a dot.
func standsAlone(s string) *regexp.Regexp {
	return regexp.MustCompile(`(^|[^0-9A-Za-zµ.])` + regexp.QuoteMeta(s) + `($|[^0-9A-Za-zµ.])`)
}

// ungroupDigits takes out what card numbers are grouped by.
func ungroupDigits(s string) string {
	return strings.NewReplacer(" ", "", "-", "", ".", "", "/", "", "\t", "", "\n", "", "\u00a0", "", "\u202f", "").Replace(s)
}

// startChromium starts a headless Chromium for t, stopped (and waited for)
// in t.Cleanup, and returns its context. Without chromium (Debian's) or
// chromium-browser on the PATH it skips t, unless CI is true: then it
// fails it.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		bin, err = exec.LookPath("chromium-browser")
	}
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("chromium not found on PATH (%v); the browser test is mandatory when CI=true: install it (Debian: apt-get install chromium)", err)
		}
		t.Skipf("chromium not found on PATH (%v); skipping the browser test (install chromium to run it; with CI=true this is a failure)", err)
	}
	life, cancelLife := context.WithTimeout(context.Background(), browserLife)
	out := &syncWriter{w: &bytes.Buffer{}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox does not start
		chromedp.DisableGPU, chromedp.WindowSize(1024, 900), chromedp.CombinedOutput(out))
	alloc, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelLife() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v\n%s", bin, err, out)
	}
	return ctx
}

// tab is a tab of the browser, as a test drives it. Every request it
// makes is intercepted: those to this machine go on; one to a provider's
// page (checkout.stripe.com, which cannot be reached from here) is
// answered with a stand-in page and recorded; any other is failed and
// reported.
type tab struct {
	t     *testing.T
	ctx   context.Context
	shots string // directory of the screenshots
	name  string // prefix of the screenshots' names

	mu        sync.Mutex
	standIn   []string // the provider's pages the tab asked for
	elsewhere []string // requests that would have left this machine
}

// openTab opens a tab in the browser, closed in t.Cleanup.
func openTab(t *testing.T, browser context.Context, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	tb := &tab{t: t, ctx: ctx, shots: os.Getenv("BROWSER_SHOTS"), name: name}
	if tb.shots == "" {
		tb.shots = t.TempDir()
	} else if err := os.MkdirAll(tb.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{}); err != nil {
		t.Fatalf("intercept the tab's requests: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return // the tab is closed
			}
			tb.route(ev)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		tb.mu.Lock()
		defer tb.mu.Unlock()
		if len(tb.elsewhere) > 0 {
			t.Errorf("the browser asked for pages off this machine: %q", tb.elsewhere)
		}
	})
	return tb
}

// standInPage is what the browser shows for a provider's page.
const standInPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Checkout (stand-in)</title></head>` +
	`<body style="font:16px system-ui,sans-serif;margin:2rem"><h1>Stripe Checkout (stand-in)</h1>` +
	`<p>The test answered the browser's request for Stripe's page itself: nothing left this machine.</p></body></html>`

// route lets a paused request go on, answers it, or fails it.
func (tb *tab) route(ev fetch.EventRequestPaused) {
	u, err := url.Parse(ev.Request.URL)
	host := ""
	if err == nil {
		host = u.Hostname()
	}
	switch {
	case host == "127.0.0.1" || host == "localhost" || host == "::1":
		_, err = chromedp.Call(tb.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
	case host == "checkout.stripe.com" && u.Scheme == "https":
		if ev.ResourceType == network.ResourceTypeDocument {
			tb.mu.Lock()
			tb.standIn = append(tb.standIn, ev.Request.URL)
			tb.mu.Unlock()
		}
		_, err = chromedp.Call(tb.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
			ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}}, Body: []byte(standInPage)})
	default:
		tb.mu.Lock()
		tb.elsewhere = append(tb.elsewhere, ev.Request.URL)
		tb.mu.Unlock()
		_, err = chromedp.Call(tb.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID,
			ErrorReason: network.ErrorReasonBlockedByClient})
	}
	_ = err // the tab closed meanwhile; a request left hanging fails its step
}

// standIns are the provider's pages the tab asked for.
func (tb *tab) standIns() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.standIn)
}

// under is the same tab, for a subtest: its failures fail t.
func (tb *tab) under(t *testing.T) *tab {
	return &tab{t: t, ctx: tb.ctx, shots: tb.shots, name: tb.name}
}

// step is a context for one step in the tab.
func (tb *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, browserStep)
}

// do runs steps in the tab, failing the test on an error.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := tb.try(steps...); err != nil {
		tb.t.Fatal(err)
	}
}

// try runs steps in the tab and returns their error.
func (tb *tab) try(steps ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := tb.step()
	defer cancel()
	return chromedp.Do(ctx, steps...)
}

// inTab runs an action in a tab and returns its value, failing the test on
// an error.
func inTab[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

// navigate opens a URL and returns the response of the page it ends at.
func (tb *tab) navigate(u string) *network.Response {
	tb.t.Helper()
	return inTab(tb, chromedp.NavigateResponse(u))
}

// submit clicks the form's button, waits for the page that answers and
// returns its response.
func (tb *tab) submit() *network.Response {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form button[type="submit"]`)))
	if err != nil {
		tb.t.Fatal(err)
	}
	return resp
}

// cardEntry is what a user types into the card form.
type cardEntry struct {
	number, month, year, cvc, name, address string
}

// fill types a card into the form, over what its fields hold, as a user
// does: into each field, it selects what the field holds, deletes it and
// types.
func (tb *tab) fill(c cardEntry) {
	tb.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for _, f := range []struct{ id, value string }{{"number", c.number}, {"exp_month", c.month}, {"exp_year", c.year},
		{"cvc", c.cvc}, {"name", c.name}, {"address", c.address}} {
		steps = append(steps, chromedp.Focus(chromedp.ID(f.id)), chromedp.Evaluate[chromedp.Void](`document.activeElement.select()`),
			chromedp.KeyEvent(kb.Backspace+f.value))
	}
	tb.do(steps...)
}

// wantFieldErrors checks that exactly the inputs invalid are marked
// invalid, and that each message of errs is in the field of its input
// (its .field or fieldset), which names it (aria-describedby), and linked
// from the error summary.
func (tb *tab) wantFieldErrors(invalid []string, errs map[string]string) {
	tb.t.Helper()
	marked := inTab(tb, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[aria-invalid="true"]')].map(e => e.id)`))
	if !slices.Equal(marked, invalid) {
		tb.t.Errorf("fields marked invalid: %q, want %q", marked, invalid)
	}
	for id, want := range errs {
		got := inTab(tb, chromedp.Evaluate[[]string](fmt.Sprintf(`(() => {
			const input = document.getElementById(%q);
			const field = input.closest(".field, fieldset");
			const msg = field.querySelector("p.err");
			const described = (input.getAttribute("aria-describedby") || "").split(" ");
			const linked = document.querySelector('#summary a[href="#%s"]');
			return [msg ? msg.textContent : "", msg && described.includes(msg.id) ? "described" : "not described",
				linked ? "linked" : "not linked"];
		})()`, id, id)))
		if len(got) != 3 || got[0] != want || got[1] != "described" || got[2] != "linked" {
			tb.t.Errorf("the field %s: message %q, want %q, described by it and linked from the summary", id, got, want)
		}
	}
}

// wantResult checks that the tab shows the result page of link, saying
// saved, and no card form.
func (tb *tab) wantResult(link, saved string) {
	tb.t.Helper()
	if got := inTab(tb, chromedp.Location()); got != link+"/done" {
		tb.t.Errorf("the browser shows %s, want the result %s/done", got, link)
	}
	if got := inTab(tb, chromedp.Title()); got != "Payment method saved" {
		tb.t.Errorf("title %q, want the card saved", got)
	}
	if got := inTab(tb, chromedp.Text(chromedp.CSS(`p.success`))); got != saved {
		tb.t.Errorf("the result says %q, want %q", got, saved)
	}
	if inTab(tb, chromedp.Evaluate[bool](`document.querySelector("form, input[name=number], input[name=cvc]") !== null`)) {
		tb.t.Error("the result page has a card form")
	}
}

// facts are the page's facts (whose page it is), by label.
func (tb *tab) facts() map[string]string {
	tb.t.Helper()
	return inTab(tb, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll("dl.facts > div")].map(
		d => [d.querySelector("dt").textContent, d.querySelector("dd").textContent]))`))
}

// shot saves a screenshot of the whole page as NAME.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	png := inTab(tb, chromedp.FullScreenshot(100))
	path := filepath.Join(tb.shots, tb.name+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}
