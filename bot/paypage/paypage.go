// Package paypage serves the payment page that chat links point to, behind
// single-use links:
//
//	GET  /pay/{token}          the form to add or replace a card (the sandbox); with a
//	                           hosted provider (Stripe) a redirect to its page; for a link
//	                           to confirm a charge, what is to be confirmed
//	POST /pay/{token}          saves the card, then redirects to the result (post/redirect/get)
//	GET  /pay/{token}/done     the result: the saved card, a card being saved by the
//	                           provider, or the invoice's status; it keeps working after
//	                           the link is used (the core keeps used links a day)
//	POST /pay/{token}/confirm  sends the purchaser to the provider to confirm a charge
//
// Card numbers and security codes never leave the request that carries
// them: they go to the core's provider and are never logged, echoed back
// in a page or put in an error page. Neither is the link's token, which
// is only in the URL (hence Referrer-Policy: no-referrer and a card form
// without an action); the one page that names it is the confirmation,
// whose form posts to /pay/{token}/confirm.
//
// Every POST must come from the page itself: from the public URL's origin
// when the browser says (Origin, or Origin "null" and Sec-Fetch-Site:
// same-origin, which browsers send under the page's no-referrer;
// Sec-Fetch-Site: cross-site is refused) and with the form token the page
// gave it (an HMAC of the link's reference). A client address may try MaxCardAttempts cards per
// CardAttemptWindow across all links. Refusals answer 403 or 429 with a
// page in the user's language and change nothing.
package paypage

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/billingbot/billingbot/bot/internal/weblang"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// Limits of the request and of each field, in characters.
const (
	maxBody    = 16 << 10
	maxNumber  = 30
	maxCVC     = 4
	maxName    = 100
	maxAddress = 300
)

// refreshSeconds is how often a result that waits for the provider's
// report reloads itself.
const refreshSeconds = 5

//go:embed page.html
var pageHTML string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// headers go on every response.
var headers = map[string]string{
	"Cache-Control":           "no-store",
	"Referrer-Policy":         "no-referrer",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
}

// Config is what a deployment sets about the payment page.
type Config struct {
	// PublicURL is the base URL users reach the page at
	// (BILLINGBOT_PUBLIC_URL): forms are accepted only from its origin,
	// and with https browsers are told to keep to https (HSTS).
	PublicURL string
	// Key signs the forms' tokens. Every replica needs the same one; nil
	// means a random key of this process, so that a form shown by one
	// replica is refused by another.
	Key []byte
	// TrustProxy takes the client's address, for the limit on card
	// attempts, from the last X-Forwarded-For entry: the one the reverse
	// proxy in front appended. Set it only when every request comes
	// through such a proxy: otherwise a client names its own address.
	// Without it the address is the connection's (RemoteAddr).
	TrustProxy bool
}

type handler struct {
	bot        *commands.Bot
	log        *slog.Logger
	mux        *http.ServeMux
	origin     string // of the public URL: scheme://host[:port]; "" when unknown
	hsts       bool
	key        []byte
	trustProxy bool
}

// New returns the payment page handler. Mount it at /pay/ without
// stripping the prefix. log receives one line per request with the
// organization and the outcome, nothing else; nil means slog.Default().
func New(bot *commands.Bot, log *slog.Logger, cfg Config) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{bot: bot, log: log, mux: http.NewServeMux(), key: cfg.Key, trustProxy: cfg.TrustProxy}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		host := strings.ToLower(u.Host)
		if p := u.Port(); p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http" {
			host = strings.TrimSuffix(host, ":"+p) // browsers leave the default port out of Origin
		}
		h.origin = u.Scheme + "://" + host
		h.hsts = u.Scheme == "https"
	}
	if len(h.key) == 0 {
		h.key = make([]byte, 32)
		if _, err := rand.Read(h.key); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
	}
	h.mux.HandleFunc("GET /pay/{token}", h.show)
	h.mux.HandleFunc("POST /pay/{token}", h.submit)
	h.mux.HandleFunc("GET /pay/{token}/done", h.done)
	h.mux.HandleFunc("POST /pay/{token}/confirm", h.confirm)
	h.mux.HandleFunc("GET /pay/{token}/confirm", func(w http.ResponseWriter, r *http.Request) {
		seeOther(w, "/pay/"+r.PathValue("token"))
	})
	h.mux.HandleFunc("/", h.notFound)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	if h.hsts {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprintln(w, http.StatusText(http.StatusMethodNotAllowed))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// seeOther redirects with 303 (the browser follows with a GET) and no
// body, so that no page names the URL.
func seeOther(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusSeeOther)
}

// show answers GET /pay/{token}: the form, the provider's page, the
// charge to confirm, or the result when the link was used.
func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	info, ok := h.link(w, r)
	if !ok {
		return
	}
	lang, token := langOf(info.Link.Lang), r.PathValue("token")
	switch {
	case info.Saved != nil:
		seeOther(w, "/pay/"+token+"/done")
		h.log.Info("payment page", "org", info.Link.Org, "outcome", "shown_saved")
	case info.Invoice != nil:
		h.render(w, http.StatusOK, h.invoicePage(lang, info, token, false))
		h.log.Info("payment page", "org", info.Link.Org, "outcome", "shown_invoice")
	case info.Hosted:
		to, err := h.bot.StartHostedSetup(r.Context(), token)
		switch {
		case errors.Is(err, commands.ErrPayLink):
			h.gone(w, lang, info.Link.Command, info.TestMode)
			h.log.Info("payment page", "org", info.Link.Org, "outcome", "link_gone")
		case err != nil:
			h.fault(w, r, lang, info.Link.Command, info.Link.Org, info.TestMode, err)
		default:
			seeOther(w, to)
			h.log.Info("payment page", "org", info.Link.Org, "outcome", "to_provider")
		}
	default:
		e := entry{}
		if m := info.Replaces; m != nil {
			e.name, e.address = m.Name, m.Address // the card holder stays, most of the time
		}
		h.render(w, http.StatusOK, h.formPage(lang, info, e, problems{}))
		h.log.Info("payment page", "org", info.Link.Org, "outcome", "shown")
	}
}

// submit answers POST /pay/{token}: it checks where the form came from
// and its fields, has the core check the card and save the method, and
// redirects to the result. A repeat (a double click, a reload) is sent to
// the result the first one saved.
func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	info, ok := h.link(w, r)
	if !ok {
		return
	}
	l, token := info.Link, r.PathValue("token")
	lang := langOf(l.Lang)
	if !h.sameOrigin(r) {
		h.refuse(w, lang, info.TestMode, l.Org, "cross_origin")
		return
	}
	switch {
	case info.Saved != nil:
		seeOther(w, "/pay/"+token+"/done")
		h.log.Info("payment page", "org", l.Org, "outcome", "repeat")
		return
	case info.Hosted || info.Invoice != nil:
		// No card is ever taken here for these: what was sent is dropped.
		seeOther(w, "/pay/"+token)
		h.log.Info("payment page", "org", l.Org, "outcome", "not_a_card_link")
		return
	}
	if !h.readForm(w, r, info) {
		return
	}
	e := readEntry(r)
	if p := h.check(lang, &e); p.any() {
		h.render(w, http.StatusUnprocessableEntity, h.formPage(lang, info, e, p))
		h.log.Info("payment page", "org", l.Org, "outcome", "invalid")
		return
	}
	if within, err := h.bot.CardAttempt(r.Context(), h.client(r)); err != nil {
		h.fault(w, r, lang, l.Command, l.Org, info.TestMode, err)
		return
	} else if !within {
		w.Header().Set("Retry-After", strconv.Itoa(int(commands.CardAttemptWindow.Seconds())))
		h.message(w, http.StatusTooManyRequests, lang, info.TestMode, h.bot.Text(lang, "PayPageTooManyTitle"),
			h.bot.Text(lang, "PayPageTooMany", "Minutes", strconv.Itoa(int(commands.CardAttemptWindow.Minutes()))))
		h.log.Info("payment page", "org", l.Org, "outcome", "rate_limited")
		return
	}

	m, err := h.bot.CompletePayLink(r.Context(), token, e.card())
	var p problems
	outcome := ""
	switch {
	case err == nil:
		outcome = "added"
		if l.MethodID != "" && m.ID == l.MethodID {
			outcome = "replaced"
		}
		seeOther(w, "/pay/"+token+"/done")
		h.log.Info("payment page", "org", l.Org, "outcome", outcome)
		return
	case errors.Is(err, commands.ErrDuplicateCard):
		// Either the profile had this card, or a second submit of this
		// form found what the first one saved a moment ago.
		if again, aerr := h.bot.PayLink(r.Context(), token); aerr == nil && again.Saved != nil {
			seeOther(w, "/pay/"+token+"/done")
			h.log.Info("payment page", "org", l.Org, "outcome", "repeat")
			return
		}
		c := e.card()
		p.number, outcome = h.bot.Text(lang, "PayPageErrDuplicate", "Method", h.methodLabel(lang, store.PaymentMethod{
			Brand: payment.Brand(c.Number), Last4: payment.Last4(c.Number), ExpMonth: c.ExpMonth, ExpYear: c.ExpYear})), "duplicate"
	case errors.Is(err, commands.ErrPayLink):
		h.gone(w, lang, l.Command, info.TestMode)
		h.log.Info("payment page", "org", l.Org, "outcome", "link_gone")
		return
	case errors.Is(err, payment.ErrInvalidNumber):
		p.number, outcome = h.bot.Text(lang, "PayPageErrNumber"), "invalid_number"
	case errors.Is(err, payment.ErrInvalidCVC):
		p.cvc, outcome = h.bot.Text(lang, "PayPageErrCVC"), "invalid_cvc"
	case errors.Is(err, payment.ErrExpired):
		p.expiry, p.month, p.year, outcome = h.bot.Text(lang, "PayPageErrExpired"), true, true, "expired"
	case errors.Is(err, payment.ErrInvalidExpiry):
		p.expiry, p.month, p.year, outcome = h.bot.Text(lang, "PayPageErrExpiry"), true, true, "invalid_expiry"
	case errors.Is(err, payment.ErrDeclined):
		p.form, outcome = h.bot.Text(lang, "PayPageErrDeclined"), "declined"
	default:
		h.fault(w, r, lang, l.Command, l.Org, info.TestMode, err)
		return
	}
	if outcome != "duplicate" {
		// A refused card counts against the link: the last one it takes
		// leaves nothing to correct.
		if _, err := h.bot.PayLink(r.Context(), token); errors.Is(err, commands.ErrPayLink) {
			h.message(w, http.StatusGone, lang, info.TestMode, h.bot.Text(lang, "PayPageGoneTitle"),
				h.bot.TextFor(lang, l.Command, "PayPageTooManyFailures"))
			h.log.Info("payment page", "org", l.Org, "outcome", outcome+"_link_gone")
			return
		}
	}
	h.render(w, http.StatusUnprocessableEntity, h.formPage(lang, info, e, p))
	h.log.Info("payment page", "org", l.Org, "outcome", outcome)
}

// done answers GET /pay/{token}/done with what became of the link: the
// method it saved, a method the provider is still saving, or the status
// of the invoice it confirms. A sandbox link not used yet goes back to
// its form.
func (h *handler) done(w http.ResponseWriter, r *http.Request) {
	info, ok := h.link(w, r)
	if !ok {
		return
	}
	lang, token := langOf(info.Link.Lang), r.PathValue("token")
	pg := h.base(lang, info.TestMode)
	pg.Facts = h.facts(lang, info, false)
	switch {
	case info.Invoice != nil:
		h.render(w, http.StatusOK, h.invoicePage(lang, info, token, true))
		h.log.Info("payment page", "org", info.Link.Org, "outcome", "done_invoice")
		return
	case info.Saved != nil:
		pg.Title = h.bot.Text(lang, "PayPageSavedTitle")
		pg.Paragraphs = []string{h.bot.Text(lang, "PayPageSaved", "Method", h.methodLabel(lang, *info.Saved))}
		pg.Success = true
	case info.Hosted:
		pg.Title = h.bot.Text(lang, "PayPageSavingTitle")
		pg.Paragraphs = []string{h.bot.Text(lang, "PayPageSaving")}
		pg.Refresh = refreshSeconds
	default:
		seeOther(w, "/pay/"+token)
		return
	}
	h.back(&pg, lang, info.Link.ChatURL)
	h.render(w, http.StatusOK, pg)
	h.log.Info("payment page", "org", info.Link.Org, "outcome", "done")
}

// confirm answers POST /pay/{token}/confirm: it sends the purchaser to
// the provider's page to confirm the link's charge.
func (h *handler) confirm(w http.ResponseWriter, r *http.Request) {
	info, ok := h.link(w, r)
	if !ok {
		return
	}
	l, token := info.Link, r.PathValue("token")
	lang := langOf(l.Lang)
	if !h.sameOrigin(r) {
		h.refuse(w, lang, info.TestMode, l.Org, "cross_origin")
		return
	}
	if info.Invoice == nil {
		seeOther(w, "/pay/"+token)
		return
	}
	if !h.readForm(w, r, info) {
		return
	}
	to, err := h.bot.ConfirmCharge(r.Context(), token)
	switch {
	case errors.Is(err, commands.ErrPayLink):
		// Nothing (more) to confirm: the result page says where it stands.
		seeOther(w, "/pay/"+token+"/done")
		h.log.Info("payment page", "org", l.Org, "outcome", "nothing_to_confirm")
	case err != nil:
		h.fault(w, r, lang, l.Command, l.Org, info.TestMode, err)
	default:
		seeOther(w, to)
		h.log.Info("payment page", "org", l.Org, "outcome", "to_confirm")
	}
}

// link finds the request's payment link without using it up. When there is
// none, it answers and returns false.
func (h *handler) link(w http.ResponseWriter, r *http.Request) (commands.PayLinkInfo, bool) {
	l, err := h.bot.PayLink(r.Context(), r.PathValue("token"))
	switch {
	case err == nil:
		return l, true
	case errors.Is(err, commands.ErrPayLink):
		// In the link's language and words when it is still known.
		lang := weblang.FromRequest(r)
		if l.Link.Lang != "" {
			lang = langOf(l.Link.Lang)
		}
		h.gone(w, lang, l.Link.Command, h.bot.TestMode())
		h.log.Info("payment page", "outcome", "link_gone")
	default:
		h.fault(w, r, weblang.FromRequest(r), "", "", h.bot.TestMode(), err)
	}
	return commands.PayLinkInfo{}, false
}

// readForm reads a POST's form, within maxBody, and checks that it is one
// this deployment's page showed (its form token). When either fails, it
// answers and returns false.
func (h *handler) readForm(w http.ResponseWriter, r *http.Request, info commands.PayLinkInfo) bool {
	lang := langOf(info.Link.Lang)
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	err := r.ParseForm()
	if err == nil {
		if !hmac.Equal([]byte(r.PostForm.Get("form_token")), []byte(h.formToken(info.Link))) {
			h.refuse(w, lang, info.TestMode, info.Link.Org, "bad_form_token")
			return false
		}
		return true
	}
	if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
		h.message(w, http.StatusRequestEntityTooLarge, lang, info.TestMode,
			h.bot.Text(lang, "PayPageTooLargeTitle"), h.bot.Text(lang, "PayPageTooLarge"))
		h.log.Info("payment page", "org", info.Link.Org, "outcome", "too_large")
		return false
	}
	if info.Invoice != nil {
		h.refuse(w, lang, info.TestMode, info.Link.Org, "bad_form")
		return false
	}
	h.render(w, http.StatusBadRequest, h.formPage(lang, info, entry{}, problems{form: h.bot.Text(lang, "PayPageErrBadForm")}))
	h.log.Info("payment page", "org", info.Link.Org, "outcome", "bad_form")
	return false
}

// sameOrigin reports whether a POST may come from the page itself: the
// browser does not call it cross-site, and its Origin, when it sends one,
// is the public URL's. Browsers send the Origin "null" with the page's own
// forms, as the page's Referrer-Policy is no-referrer (Chromium does):
// then the browser must call the request same-origin (Sec-Fetch-Site).
func (h *handler) sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site == "cross-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "null" {
		return site == "same-origin"
	}
	return o == "" || h.origin == "" || strings.ToLower(o) == h.origin
}

// formToken is what the page's forms carry for a link: an HMAC of its
// reference with the deployment's key, so that only a page this
// deployment showed can post to the link.
func (h *handler) formToken(l store.PayLink) string {
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte("billingbot paypage form\x00" + l.Ref))
	return hex.EncodeToString(mac.Sum(nil))
}

// client is the address card attempts are counted by: the connection's,
// or with TrustProxy the one the proxy appended to X-Forwarded-For. An
// IPv6 address counts by its /64, which one client usually holds whole.
func (h *handler) client(r *http.Request) string {
	addr := r.RemoteAddr
	if h.trustProxy {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			addr = strings.TrimSpace(last[strings.LastIndex(last, ",")+1:])
		}
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return "unknown:" + addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// refuse answers a POST that did not come from the page with 403.
func (h *handler) refuse(w http.ResponseWriter, lang string, test bool, org, why string) {
	pg := h.base(lang, test)
	pg.Title = h.bot.Text(lang, "PayPageRefusedTitle")
	pg.Paragraphs = []string{h.bot.Text(lang, "PayPageRefused")}
	pg.Again = h.bot.Text(lang, "PayPageOpenAgain")
	h.render(w, http.StatusForbidden, pg)
	h.log.Info("payment page", "org", org, "outcome", why)
}

// notFound answers paths that cannot hold a token, like a link that does
// not work.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	lang := weblang.FromRequest(r)
	h.message(w, http.StatusNotFound, lang, h.bot.TestMode(), h.bot.Text(lang, "PayPageGoneTitle"), h.bot.Text(lang, "PayPageGone"))
	h.log.Info("payment page", "outcome", "not_found")
}

// gone answers a link that no longer works. cmd is the slash command the
// link's user sees ("" for /billing), which the page names.
func (h *handler) gone(w http.ResponseWriter, lang, cmd string, test bool) {
	h.message(w, http.StatusGone, lang, test, h.bot.Text(lang, "PayPageGoneTitle"), h.bot.TextFor(lang, cmd, "PayPageGone"))
}

// fault answers an error of the store or the provider that the user
// cannot correct, naming the slash command cmd ("" for /billing). The
// error is logged without the token, in case it names it.
func (h *handler) fault(w http.ResponseWriter, r *http.Request, lang, cmd, org string, test bool, err error) {
	status := http.StatusServiceUnavailable
	if errors.Is(err, context.Canceled) {
		status = http.StatusRequestTimeout // the user left; nobody reads this
	}
	h.message(w, status, lang, test, h.bot.Text(lang, "PayPageErrorTitle"), h.bot.TextFor(lang, cmd, "PayPageError"))
	msg := err.Error()
	if token := r.PathValue("token"); token != "" {
		msg = strings.ReplaceAll(msg, token, "[token]")
	}
	h.log.Error("payment page", "org", org, "outcome", "error", "err", msg)
}

// entry is what the user typed. number and cvc are never shown again.
type entry struct {
	number, cvc                string
	month, year, name, address string
}

func readEntry(r *http.Request) entry {
	v := func(k string) string { return strings.ToValidUTF8(strings.TrimSpace(r.PostForm.Get(k)), "\uFFFD") }
	return entry{
		number:  v("number"),
		cvc:     v("cvc"),
		month:   v("exp_month"),
		year:    v("exp_year"),
		name:    v("name"),
		address: strings.ReplaceAll(v("address"), "\r\n", "\n"),
	}
}

// card is the entry for the provider; check has validated month and year.
func (e entry) card() payment.Card {
	month, _ := strconv.Atoi(e.month)
	year, _ := strconv.Atoi(e.year)
	return payment.Card{Number: e.number, CVC: e.cvc, ExpMonth: month, ExpYear: year, Name: e.name, Address: e.address}
}

// problems are the messages shown next to the fields; form is shown above
// them. month and year mark those inputs, whose messages are in expiry.
type problems struct {
	form, number, cvc, expiry, name, address string
	month, year                              bool
}

func (p problems) any() bool {
	return p.form != "" || p.number != "" || p.cvc != "" || p.expiry != "" || p.name != "" || p.address != ""
}

var (
	monthRe = regexp.MustCompile(`^[0-9]{1,2}$`)
	yearRe  = regexp.MustCompile(`^[0-9]{4}$`)
	cvcRe   = regexp.MustCompile(`^[0-9]{1,4}$`)
)

// check validates the entry before it goes to the provider, which checks
// the card itself (Luhn, security code length per brand, expiry). A card
// number typed into a field that would be shown again is removed from it.
func (h *handler) check(lang string, e *entry) problems {
	var p problems
	tooLong := func(max int) string { return h.bot.Text(lang, "PayPageErrTooLong", "Max", strconv.Itoa(max)) }
	switch {
	case e.number == "":
		p.number = h.bot.Text(lang, "PayPageErrRequired")
	case utf8.RuneCountInString(e.number) > maxNumber:
		p.number = tooLong(maxNumber)
	}
	if !cvcRe.MatchString(e.cvc) {
		p.cvc = h.bot.Text(lang, "PayPageErrCVC")
	}
	var expiry []string
	if n, err := strconv.Atoi(e.month); !monthRe.MatchString(e.month) || err != nil || n < 1 || n > 12 {
		p.month = true
		expiry = append(expiry, h.bot.Text(lang, "PayPageErrMonth"))
	}
	if !yearRe.MatchString(e.year) {
		p.year = true
		expiry = append(expiry, h.bot.Text(lang, "PayPageErrYear"))
	}
	p.expiry = strings.Join(expiry, " ")
	if payment.ContainsCardNumber(e.month) {
		e.month = ""
	}
	if payment.ContainsCardNumber(e.year) {
		e.year = ""
	}
	switch {
	case payment.ContainsCardNumber(e.name):
		p.name, e.name = h.bot.Text(lang, "PayPageErrCardNumberHere"), ""
	case e.name == "":
		p.name = h.bot.Text(lang, "PayPageErrRequired")
	case utf8.RuneCountInString(e.name) > maxName:
		p.name = tooLong(maxName)
	}
	switch {
	case payment.ContainsCardNumber(e.address):
		p.address, e.address = h.bot.Text(lang, "PayPageErrCardNumberHere"), ""
	case e.address == "":
		p.address = h.bot.Text(lang, "PayPageErrRequired")
	case utf8.RuneCountInString(e.address) > maxAddress:
		p.address = tooLong(maxAddress)
	}
	return p
}

// page is what page.html shows: a title, facts about the link, some
// paragraphs, and perhaps the card form or a button to confirm a charge.
type page struct {
	Lang, Title string
	// ErrorTitle replaces Title in <title> when the page reports errors.
	ErrorTitle string
	Summary    *summary
	Test       *testMode
	Facts      []fact // whose the page is
	Details    []fact // what a charge to confirm is for
	Paragraphs []string
	Success    bool // the paragraphs report a success
	Form       *form
	Confirm    *confirmForm
	// Again, when set, links to this URL again (a GET of the form).
	Again string
	// Back leads to the chat (BackURL) or says to return to it.
	Back, BackURL string
	Refresh       int // seconds; 0: no reload
}

// summary lists a form's errors at the top of the page, with links to the
// fields; it receives the focus when the page loads.
type summary struct {
	Title, Text string
	Links       []errLink
}

type errLink struct{ ID, Text string }

// testMode says that the sandbox moves no money, and how its test cards
// behave.
type testMode struct {
	Banner, Intro string
	Cards         []string
}

type fact struct {
	Label, Value string
	Strong       bool
}

type form struct {
	Intro, Secure       string
	Token               string // the form token
	Number, CVC         field  // Value stays empty
	Month, Year         field
	Expiry, ExpiryErr   string
	CVCHint             string
	Name, Address       field
	Save                string
	MaxNumber, MaxCVC   int
	MaxName, MaxAddress int
}

type field struct {
	Label, Value, Err string
	Invalid           bool
}

type confirmForm struct {
	Action, Token, Button string
}

// base is a page with what every page has.
func (h *handler) base(lang string, test bool) page {
	p := page{Lang: lang}
	if test {
		p.Test = &testMode{Banner: h.bot.Text(lang, "TestMode"), Intro: h.bot.Text(lang, "PayPageTestCards"), Cards: []string{
			h.bot.Text(lang, "PayPageTestCardOK", "Number", "4242 4242 4242 4242"),
			h.bot.Text(lang, "PayPageTestCardDeclined", "Number", group(payment.TestCardDeclined)),
			h.bot.Text(lang, "PayPageTestCardChargeDeclined", "Number", group(payment.TestCardChargeDeclined)),
		}}
	}
	return p
}

// group writes a card number in groups of four digits.
func group(number string) string {
	var b strings.Builder
	for i, r := range number {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// facts say whose the page is: the seller, the organization, the billing
// account and profile, the card a replacement replaces, and until when the
// link works.
func (h *handler) facts(lang string, info commands.PayLinkInfo, expires bool) []fact {
	l := info.Link
	org := l.OrgName
	if org == "" {
		org = l.Org
	}
	fs := []fact{
		{Label: h.bot.Text(lang, "PayPageSeller"), Value: info.Operator.Name},
		{Label: h.bot.Text(lang, "PayPageOrg"), Value: org},
		{Label: h.bot.Text(lang, "PayPageAccount"), Value: info.Account},
		{Label: h.bot.Text(lang, "PayPageProfile"), Value: info.Profile},
	}
	if m := info.Replaces; m != nil {
		fs = append(fs, fact{Label: h.bot.Text(lang, "PayPageReplaces"), Value: h.methodLabel(lang, *m)})
	}
	if expires && !l.Expires.IsZero() {
		fs = append(fs, fact{Label: h.bot.Text(lang, "PayPageExpires"), Value: format.DateTime(lang, l.Expires)})
	}
	return fs
}

// back offers the way back to the chat.
func (h *handler) back(p *page, lang, chatURL string) {
	if chatURL != "" {
		p.Back, p.BackURL = h.bot.Text(lang, "PayPageBackToChat"), chatURL
		return
	}
	p.Back = h.bot.Text(lang, "PayPageReturnToChat")
}

func (h *handler) formPage(lang string, info commands.PayLinkInfo, e entry, p problems) page {
	l := info.Link
	pg := h.base(lang, info.TestMode)
	pg.Title = h.bot.Text(lang, "PayPageTitleAdd")
	intro := h.bot.Text(lang, "PayPageIntroAdd")
	if l.MethodID != "" {
		pg.Title, intro = h.bot.Text(lang, "PayPageTitleReplace"), h.bot.Text(lang, "PayPageIntroReplace")
	}
	pg.Facts = h.facts(lang, info, true)
	f := &form{
		Intro:     intro,
		Secure:    h.bot.Text(lang, "PayPageSecure"),
		Token:     h.formToken(l),
		Number:    field{Label: h.bot.Text(lang, "PayPageNumber"), Err: p.number, Invalid: p.number != ""},
		CVC:       field{Label: h.bot.Text(lang, "PayPageCVC"), Err: p.cvc, Invalid: p.cvc != ""},
		CVCHint:   h.bot.Text(lang, "PayPageCVCHint"),
		Expiry:    h.bot.Text(lang, "PayPageExpiry"),
		ExpiryErr: p.expiry,
		Month:     field{Label: h.bot.Text(lang, "PayPageMonth"), Value: e.month, Invalid: p.month},
		Year:      field{Label: h.bot.Text(lang, "PayPageYear"), Value: e.year, Invalid: p.year},
		Name:      field{Label: h.bot.Text(lang, "PayPageName"), Value: e.name, Err: p.name, Invalid: p.name != ""},
		Address:   field{Label: h.bot.Text(lang, "PayPageAddress"), Value: e.address, Err: p.address, Invalid: p.address != ""},
		Save:      h.bot.Text(lang, "PayPageSave"),
		MaxNumber: maxNumber, MaxCVC: maxCVC, MaxName: maxName, MaxAddress: maxAddress,
	}
	pg.Form = f
	if p.any() {
		s := &summary{Title: h.bot.Text(lang, "PayPageProblem"), Text: p.form}
		if s.Text == "" {
			s.Text = h.bot.Text(lang, "PayPageFixFields")
		}
		for _, x := range []struct {
			id  string
			f   field
			err string
		}{{"number", f.Number, p.number}, {"exp_month", f.Month, p.expiry}, {"cvc", f.CVC, p.cvc},
			{"name", f.Name, p.name}, {"address", f.Address, p.address}} {
			if x.err != "" {
				label := x.f.Label
				if x.id == "exp_month" {
					label = f.Expiry
				}
				s.Links = append(s.Links, errLink{ID: x.id, Text: label + ": " + x.err})
			}
		}
		if p.form != "" && p.number == "" {
			// A declined card: the card number is where to start again.
			s.Links = append(s.Links, errLink{ID: "number", Text: f.Number.Label})
		}
		pg.Summary = s
		pg.ErrorTitle = h.bot.Text(lang, "PayPageErrorPrefix", "Title", pg.Title)
	}
	h.back(&pg, lang, l.ChatURL)
	return pg
}

// invoicePage shows a charge to confirm with the bank: what it is for,
// how much, and a button to the provider's page while the bank waits;
// otherwise where the invoice stands. On the result page (done) a charge
// that still waits reloads itself, as the provider's report is on its way.
func (h *handler) invoicePage(lang string, info commands.PayLinkInfo, token string, done bool) page {
	inv := info.Invoice
	pg := h.base(lang, info.TestMode)
	pg.Title = h.bot.Text(lang, "PayPageConfirmTitle")
	pg.Facts = h.facts(lang, info, inv.Status == store.InvoiceAction)
	products := make([]string, len(inv.Lines))
	for i, ln := range inv.Lines {
		products[i] = h.bot.Text(lang, "PayPageLine", "Product", ln.Product,
			"Quantity", format.Number(lang, int64(ln.Quantity)), "Price", format.Money(lang, ln.UnitPrice, inv.Currency))
	}
	pg.Details = []fact{
		{Label: h.bot.Text(lang, "PayPageProduct"), Value: strings.Join(products, "; ")},
		{Label: h.bot.Text(lang, "PayPageAmount"), Value: format.Money(lang, inv.Total, inv.Currency), Strong: true},
		{Label: h.bot.Text(lang, "PayPageInvoice"), Value: inv.ID},
		{Label: h.bot.Text(lang, "PayPageStatus"), Value: h.invoiceStatus(lang, inv.Status)},
	}
	switch inv.Status {
	case store.InvoiceAction:
		pg.Paragraphs = []string{h.bot.Text(lang, "PayPageConfirmIntro")}
		if done {
			pg.Paragraphs = append(pg.Paragraphs, h.bot.Text(lang, "PayPageConfirmWaiting"))
			pg.Refresh = refreshSeconds
		}
		pg.Confirm = &confirmForm{Action: token + "/confirm", Token: h.formToken(info.Link),
			Button: h.bot.Text(lang, "BtnConfirmPayment")}
	case store.InvoiceOpen:
		pg.Title = h.bot.Text(lang, "PayPageProcessingTitle")
		pg.Paragraphs = []string{h.bot.Text(lang, "PayPageProcessing")}
		pg.Refresh = refreshSeconds
	case store.InvoicePaid:
		pg.Title = h.bot.Text(lang, "PayPagePaidTitle")
		pg.Paragraphs, pg.Success = []string{h.bot.Text(lang, "PayPagePaid")}, true
	case store.InvoiceVoid:
		pg.Title = h.bot.Text(lang, "PayPageVoidTitle")
		pg.Paragraphs = []string{h.bot.Text(lang, "PayPageVoid")}
	case store.InvoiceFailed:
		pg.Title = h.bot.Text(lang, "PayPageFailedTitle")
		pg.Paragraphs = []string{h.bot.TextFor(lang, info.Link.Command, "PayPageFailed")}
	default: // refunded, disputed: the status says it
		pg.Title = h.bot.Text(lang, "PayPageInvoiceTitle")
	}
	h.back(&pg, lang, info.Link.ChatURL)
	return pg
}

// invoiceStatus is an invoice's status in words.
func (h *handler) invoiceStatus(lang string, s store.InvoiceStatus) string {
	switch s {
	case store.InvoicePaid:
		return h.bot.Text(lang, "InvoicePaid")
	case store.InvoiceFailed:
		return h.bot.Text(lang, "InvoiceFailed")
	case store.InvoiceAction:
		return h.bot.Text(lang, "InvoiceAction")
	case store.InvoiceVoid:
		return h.bot.Text(lang, "InvoiceVoid")
	case store.InvoiceRefunded:
		return h.bot.Text(lang, "InvoiceRefunded")
	case store.InvoiceDisputed:
		return h.bot.Text(lang, "InvoiceDisputed")
	}
	return h.bot.Text(lang, "InvoiceOpen")
}

func (h *handler) message(w http.ResponseWriter, status int, lang string, test bool, title, text string) {
	pg := h.base(lang, test)
	pg.Title, pg.Paragraphs = title, []string{text}
	h.render(w, status, pg)
}

// render executes the template before it writes anything, so that a
// template error cannot leave half a page.
func (h *handler) render(w http.ResponseWriter, status int, p page) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, p); err != nil {
		h.log.Error("payment page", "outcome", "template_error", "err", err.Error())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, http.StatusText(http.StatusInternalServerError))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// methodLabel names a card without its number: "Visa •••• 4242 (12/2030)".
func (h *handler) methodLabel(lang string, m store.PaymentMethod) string {
	brand := h.bot.Text(lang, "PayPageCard")
	switch m.Brand {
	case payment.BrandVisa:
		brand = "Visa"
	case payment.BrandMastercard:
		brand = "Mastercard"
	case payment.BrandAmex:
		brand = "American Express"
	case payment.BrandDiscover:
		brand = "Discover"
	}
	return fmt.Sprintf("%s •••• %s (%02d/%d)", brand, m.Last4, m.ExpMonth, m.ExpYear)
}

// langOf returns the page language of a link's language.
func langOf(lang string) string {
	if l := strings.ToLower(lang); l == "de" || strings.HasPrefix(l, "de-") || strings.HasPrefix(l, "de_") {
		return "de"
	}
	return "en"
}
