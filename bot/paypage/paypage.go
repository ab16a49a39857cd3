// Package paypage serves the payment page that chat links point to: a small
// HTML form where a user adds or replaces a payment method behind a
// single-use link (GET /pay/{token} shows it, POST /pay/{token} saves it).
//
// Card numbers and security codes never leave this page's request: they go
// to the core's gateway and are never logged, echoed back in a page or put
// in an error page. Neither is the link's token, which is only in the URL
// (hence Referrer-Policy: no-referrer and a form without an action).
package paypage

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/billingbot/billingbot/commands"
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

type handler struct {
	bot *commands.Bot
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the payment page handler. Mount it at /pay/ without stripping
// the prefix: it serves GET and POST /pay/{token}. log receives one line
// per request with the organization and the outcome, nothing else; nil
// means slog.Default().
func New(bot *commands.Bot, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{bot: bot, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /pay/{token}", h.show)
	h.mux.HandleFunc("POST /pay/{token}", h.submit)
	h.mux.HandleFunc("/", h.notFound)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range headers {
		w.Header().Set(k, v)
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

// show answers GET /pay/{token} with the empty form.
func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	l, ok := h.link(w, r)
	if !ok {
		return
	}
	lang := langOf(l.Link.Lang)
	h.render(w, http.StatusOK, h.formPage(lang, l.Link, entry{}, problems{}))
	h.log.Info("payment page", "org", l.Link.Org, "outcome", "shown")
}

// submit answers POST /pay/{token}: it checks the fields, has the core
// tokenize the card and save the method, and shows the result.
func (h *handler) submit(w http.ResponseWriter, r *http.Request) {
	info, ok := h.link(w, r)
	if !ok {
		return
	}
	l := info.Link
	lang := langOf(l.Lang)
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			h.message(w, http.StatusRequestEntityTooLarge, lang,
				h.bot.Text(lang, "PayPageTooLargeTitle"), h.bot.Text(lang, "PayPageTooLarge"))
			h.log.Info("payment page", "org", l.Org, "outcome", "too_large")
			return
		}
		h.render(w, http.StatusBadRequest, h.formPage(lang, l, entry{},
			problems{form: h.bot.Text(lang, "PayPageErrBadForm")}))
		h.log.Info("payment page", "org", l.Org, "outcome", "bad_form")
		return
	}
	e := readEntry(r)
	if p := h.check(lang, &e); p.any() {
		h.render(w, http.StatusUnprocessableEntity, h.formPage(lang, l, e, p))
		h.log.Info("payment page", "org", l.Org, "outcome", "invalid")
		return
	}

	m, err := h.bot.CompletePayLink(r.Context(), r.PathValue("token"), e.card())
	var p problems
	outcome := ""
	switch {
	case err == nil:
		outcome = "added"
		if l.MethodID != "" && m.ID == l.MethodID {
			outcome = "replaced"
		}
		h.message(w, http.StatusOK, lang, h.bot.Text(lang, "PayPageSavedTitle"),
			h.bot.Text(lang, "PayPageSaved", "Method", h.methodLabel(lang, m)))
		h.log.Info("payment page", "org", l.Org, "outcome", outcome)
		return
	case errors.Is(err, commands.ErrPayLink):
		h.gone(w, http.StatusGone, lang)
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
		h.fault(w, r, lang, l.Org, err)
		return
	}
	h.render(w, http.StatusUnprocessableEntity, h.formPage(lang, l, e, p))
	h.log.Info("payment page", "org", l.Org, "outcome", outcome)
}

// link finds the request's payment link without using it up. When there is
// none, it answers and returns false.
func (h *handler) link(w http.ResponseWriter, r *http.Request) (commands.PayLinkInfo, bool) {
	l, err := h.bot.PayLink(r.Context(), r.PathValue("token"))
	switch {
	case err == nil:
		return l, true
	case errors.Is(err, commands.ErrPayLink):
		h.gone(w, http.StatusGone, acceptLang(r))
		h.log.Info("payment page", "outcome", "link_gone")
	default:
		h.fault(w, r, acceptLang(r), "", err)
	}
	return commands.PayLinkInfo{}, false
}

// notFound answers paths that cannot hold a token, like a link that does
// not work.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.gone(w, http.StatusNotFound, acceptLang(r))
	h.log.Info("payment page", "outcome", "not_found")
}

func (h *handler) gone(w http.ResponseWriter, status int, lang string) {
	h.message(w, status, lang, h.bot.Text(lang, "PayPageGoneTitle"), h.bot.Text(lang, "PayPageGone"))
}

// fault answers an error of the store or the gateway that the user cannot
// correct. The error is logged without the token, in case it names it.
func (h *handler) fault(w http.ResponseWriter, r *http.Request, lang, org string, err error) {
	status := http.StatusServiceUnavailable
	if errors.Is(err, context.Canceled) {
		status = http.StatusRequestTimeout // the user left; nobody reads this
	}
	h.message(w, status, lang, h.bot.Text(lang, "PayPageErrorTitle"), h.bot.Text(lang, "PayPageError"))
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

// card is the entry for the gateway; check has validated month and year.
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

// check validates the entry before it goes to the gateway, which checks
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

// page is what page.html shows: a message (Text) or the form.
type page struct {
	Lang, Title string
	Text        string
	Form        *form
}

type form struct {
	Intro, Secure, Notice string
	Number, CVC           field // Value stays empty
	Month, Year           field
	Expiry, ExpiryErr     string
	CVCHint               string
	Name, Address         field
	Save                  string
	MaxNumber, MaxCVC     int
	MaxName, MaxAddress   int
}

type field struct {
	Label, Value, Err string
	Invalid           bool
}

func (h *handler) formPage(lang string, l store.PayLink, e entry, p problems) page {
	title, intro := h.bot.Text(lang, "PayPageTitleAdd"), h.bot.Text(lang, "PayPageIntroAdd")
	if l.MethodID != "" {
		title, intro = h.bot.Text(lang, "PayPageTitleReplace"), h.bot.Text(lang, "PayPageIntroReplace")
	}
	notice := p.form
	if notice == "" && p.any() {
		notice = h.bot.Text(lang, "PayPageFixFields")
	}
	return page{Lang: lang, Title: title, Form: &form{
		Intro:     intro,
		Secure:    h.bot.Text(lang, "PayPageSecure"),
		Notice:    notice,
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
	}}
}

func (h *handler) message(w http.ResponseWriter, status int, lang, title, text string) {
	h.render(w, status, page{Lang: lang, Title: title, Text: text})
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

var matcher = language.NewMatcher([]language.Tag{language.English, language.German})

// acceptLang is the browser's language, for pages without a link.
func acceptLang(r *http.Request) string {
	tag, _ := language.MatchStrings(matcher, r.Header.Get("Accept-Language"))
	if base, _ := tag.Base(); base.String() == "de" {
		return "de"
	}
	return "en"
}
