package commands

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/locales"
	"github.com/billingbot/billingbot/store"
)

// Config is what a deployment sets about the core.
type Config struct {
	// PublicURL is the base URL users reach for payment pages.
	PublicURL string
	// Support is shown by the support command; empty fields use defaults.
	Support Support
	// PayLinkTTL is how long a payment link works (default 30 minutes).
	PayLinkTTL time.Duration
	// Admins are user ids that are admins whatever the platform says.
	Admins []string
	// RatePerMinute is how many requests one user may make in any minute
	// (a sliding window; default 60); more are answered politely and do
	// nothing.
	RatePerMinute int
	// DraftsPerMinute is the same for drafts of forms (Submission.Draft:
	// the live previews of a form being filled in), an allowance of their
	// own (default twice RatePerMinute), so that adjusting a form does not
	// use up the user's requests, while a flood of drafts is still limited.
	DraftsPerMinute int
	// Timeout bounds the time a request waits for Redis (default 2 s, so
	// that an answer is back within the 3 s that Slack and Discord allow):
	// after it, the user hears that the service is unavailable, and a
	// change still on its way does nothing: that nothing was changed when
	// it is certain, else (the change's answer was awaited when the time
	// ran out) that it may have been done and that trying again is safe.
	Timeout time.Duration
	// SecretKey signs the invoices' download links: at least 32 bytes.
	// Empty, New makes a random one, and links work only with this Bot.
	SecretKey []byte
	// Operator is who runs the deployment: the seller that invoices name.
	// An empty name is "billingbot".
	Operator Operator
	// UnusedAfter is how long licenses must have been free before their
	// purchaser hears of them (default 30 days; see unused.go).
	UnusedAfter time.Duration
	// HandoverGrace is how long an active subscription whose purchaser
	// left stays live, not renewed, after its period ended, while no
	// admin decided who takes it over (default DefaultHandoverGrace).
	HandoverGrace time.Duration
}

// Operator is who runs a deployment and sells through it.
type Operator struct {
	Name    string
	Address string // postal address; lines separated by "\n"
}

// MinSecretKey is the fewest bytes Config.SecretKey may have.
const MinSecretKey = 32

// Support is a deployment's help contact: sovereign-cloud deployments point
// to other portals.
type Support struct {
	URL   string // support portal
	FAQ   string // frequently asked questions
	Email string
}

// Bot is the command core. Handle is safe for concurrent use.
type Bot struct {
	store   *store.Store
	catalog *catalog.Catalog
	pay     payment.Provider
	bundle  *i18n.Bundle
	locs    map[string]*i18n.Localizer
	fixed   map[string]*sync.Map
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	specs   []spec
	forms   map[string]form
	observe func(context.Context, Outcome)
	// linkKey signs invoice links; derived from Config.SecretKey.
	linkKey []byte
	// checkers ask platforms who is still a member (membercheck.go).
	checkers memberCheckers
}

// Outcome is what became of one request, for metrics and request logs. It
// holds no text the user typed.
type Outcome struct {
	Org     string
	Command string // the subcommand's English name, "form:<id>", or "unknown"
	// Result is "ok", "refused" (answered with why not, nothing changed),
	// "limited" (over the user's requests per minute),
	// "field_errors", "repeat" (a repeated request got the first answer),
	// "unavailable" (Redis) or "error".
	Result      string
	FieldErrors int
	Duration    time.Duration
}

// WithObserver has the bot report the outcome of every request.
func WithObserver(f func(context.Context, Outcome)) BotOption { return func(b *Bot) { b.observe = f } }

// BotOption configures a Bot.
type BotOption func(*Bot)

// WithClock makes the bot read time from now (tests, benchmarks).
func WithClock(now func() time.Time) BotOption { return func(b *Bot) { b.now = now } }

// WithLogger sets the bot's logger.
func WithLogger(l *slog.Logger) BotOption { return func(b *Bot) { b.log = l } }

// New returns a bot on a store, a catalog and a payment provider.
func New(st *store.Store, cat *catalog.Catalog, pay payment.Provider, cfg Config, opts ...BotOption) (*Bot, error) {
	bundle, err := locales.Bundle()
	if err != nil {
		return nil, err
	}
	if cfg.PayLinkTTL <= 0 {
		cfg.PayLinkTTL = 30 * time.Minute
	}
	if cfg.RatePerMinute <= 0 {
		cfg.RatePerMinute = 60
	}
	if cfg.DraftsPerMinute <= 0 {
		cfg.DraftsPerMinute = 2 * cfg.RatePerMinute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.UnusedAfter <= 0 {
		cfg.UnusedAfter = DefaultUnusedAfter
	}
	if cfg.HandoverGrace <= 0 {
		cfg.HandoverGrace = DefaultHandoverGrace
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Operator.Name == "" {
		cfg.Operator.Name = "billingbot"
	}
	linkKey, err := invoiceLinkKey(cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	b := &Bot{
		store: st, catalog: cat, pay: pay, bundle: bundle, cfg: cfg,
		now: time.Now, log: slog.Default(),
		locs: map[string]*i18n.Localizer{}, fixed: map[string]*sync.Map{}, linkKey: linkKey,
	}
	for _, lang := range locales.Languages {
		b.locs[lang] = i18n.NewLocalizer(bundle, lang)
		b.fixed[lang] = &sync.Map{}
	}
	for _, o := range opts {
		o(b)
	}
	b.specs = b.commandSpecs()
	b.forms = b.formHandlers()
	return b, nil
}

// TestMode reports that the payment provider moves no real money (the
// sandbox): pages, confirmations and invoices say so.
func (b *Bot) TestMode() bool { return b.pay != nil && b.pay.TestMode() }

// Operator is who sells through this bot.
func (b *Bot) Operator() Operator { return b.cfg.Operator }

// call is one request in progress.
type call struct {
	b      *Bot
	name   string // what the request runs, for Outcome
	result string // set when the answer is a refusal or a fault
	ctx    context.Context
	req    Request
	view   store.View
	now    time.Time
	t      tr
	args   []string
	// checked are the problems checkValues found in a submitted form's
	// values, which the form's own rules add to.
	checked fieldErrors
	// shown names the quote the submitted form showed (Submission.Live);
	// confirmed the one the user confirmed with "confirm <id>".
	shown, confirmed string
	// approving is set while an approved request's change is made.
	approving *approvalRun
}

// Handle answers a request. Mistakes of the user are answered in the
// Response; the error is for faults of the bot itself, and then the
// Response still holds a polite message to show.
func (b *Bot) Handle(ctx context.Context, req Request) (Response, error) {
	start := time.Now()
	if d, ok := ctx.Deadline(); !ok || d.Sub(start) > b.cfg.Timeout {
		// An adapter's deadline that comes first is enough: a context of
		// the core's own would cost a timer and a cancelation each time.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.Timeout)
		defer cancel()
	}
	now := b.now().UTC()
	// Changes record the time of the bot's clock (store.At).
	c := &call{b: b, ctx: store.At(ctx, now), req: req, now: now, name: "unknown"}
	c.t = c.tr(langOf("", req.Locale))
	resp, err := b.handle(c)
	if b.observe != nil {
		o := Outcome{Org: req.Org, Command: c.name, Result: "ok", FieldErrors: len(resp.FieldErrors), Duration: time.Since(start)}
		switch {
		case errors.Is(err, store.ErrUnavailable):
			o.Result = "unavailable"
		case err != nil:
			o.Result = "error"
		case o.FieldErrors > 0:
			o.Result = "field_errors"
		case c.result != "":
			o.Result = c.result
		}
		b.observe(ctx, o)
	}
	return resp, err
}

func (b *Bot) handle(c *call) (Response, error) {
	// What the user typed is read as it looks: without characters shown
	// as nothing, which would make a command fail or a word mean another,
	// and which free text kept and shown to others must not hold.
	c.req.Text = StripFormatChars(c.req.Text)
	if c.req.Form != nil {
		c.req.Form = withoutFormatChars(c.req.Form)
	}
	req, now := c.req, c.now
	if !store.ValidID(req.Org) || !store.ValidID(req.User.ID) {
		return c.fail(c.t.T("ErrBadRequest")), nil
	}
	if req.Members == nil {
		c.req.Members = noDirectory{}
	}
	c.req.IdempotencyKey = idempotencyKey(req.IdempotencyKey)
	// A draft the platform sent counts in the user's allowance for drafts;
	// everything else (a Back that reopens a form as a draft too) in their
	// requests.
	draft := req.Form != nil && req.Form.Draft
	if line := strings.TrimSpace(req.Text); req.Form == nil && len(line) > 8 && strings.EqualFold(line[:8], "confirm ") &&
		checkText(c.t, req.Text, maxLine) == "" {
		// A confirmation runs the form it confirms (looked at only when
		// the line starts so: other lines are not tokenized twice).
		if r, ok := b.confirmation(c, tokenize(req.Text)); ok {
			if r != nil {
				c.name = "confirm"
				return *r, nil
			}
			req = c.req
		}
	}
	var opts store.ViewOptions
	var run func(*call) Response
	switch {
	case req.Form != nil:
		f, ok := b.forms[req.Form.FormID]
		if !ok {
			return c.fail(c.t.T("ErrUnknownForm")), nil
		}
		c.name = "form:" + req.Form.FormID
		sub := *req.Form
		sub.Context, c.shown = splitDigest(sub.Context)
		c.req.Form = &sub
		if f.view != nil {
			opts = f.view(c.req.Form, now)
		}
		run = f.submit
		if sub.Draft {
			// How the form looks for values still being filled in:
			// nothing is changed.
			if run = f.draft; run == nil {
				return c.fail(c.t.T("ErrUnknownForm")), nil
			}
			c.name = "draft:" + sub.FormID
		} else {
			opts.Once = onceKey(c.req)
		}
	default:
		if checkText(c.t, req.Text, maxLine) != "" {
			return b.refuseLine(c), nil
		}
		args := tokenize(req.Text)
		sp, ok := b.lookup(args)
		if !ok {
			if err := b.load(c, store.ViewOptions{Count: true, Now: now}); err != nil {
				return c.unavailable(err)
			}
			return c.fail(c.t.T("ErrUnknownCommand", "Command", shown(args[0]))), nil
		}
		if len(args) > 0 {
			c.args = args[1:]
		}
		c.name = sp.Name
		if sp.view != nil && (!sp.admin || c.isAdmin()) { // a refused member reads nothing of the organization
			opts = sp.view(c.args, now)
		}
		run = sp.run
		if sp.admin {
			run = adminOnly(run)
		}
	}
	opts.Count, opts.Drafts, opts.Now = true, draft, now
	if err := b.load(c, opts); err != nil {
		return c.unavailable(err)
	}
	if c.view.Requests > b.limit(draft) {
		return c.limited(), nil
	}
	if req.Form != nil {
		c.checked = fieldErrors{}
		if c.checkValues(c.checked) {
			// Card data: the form's own rules do not run, so that nothing
			// of the submission is looked up, kept or shown again.
			return Response{Lang: c.t.lang, FieldErrors: c.checked}, nil
		}
	}
	if c.view.Reply != "" {
		return c.replay(store.Result{Repeat: true, Value: c.view.Reply}, c.fail(c.t.T("ErrRepeated"))), nil
	}
	resp := run(c)
	resp.Lang = c.t.lang
	if len(resp.FieldErrors) == 0 {
		resp.FieldErrors = nil
		if c.result == "" {
			c.rememberOrgLocale()
		}
	}
	return resp, nil
}

// refuseLine answers a command line that checkText refuses (a card number,
// control characters, too long) with why, in the user's language, and
// does nothing else with it: no word of it is looked at, looked up, kept,
// logged or repeated.
//
// The refusal counts as one of the user's requests of the minute: it reads
// the user's language, a round trip like any other request's, so that a
// client sending such lines again and again is limited like any other.
// When Redis does not answer, the refusal needs nothing of it: it comes in
// the platform's language.
func (b *Bot) refuseLine(c *call) Response {
	if err := b.load(c, store.ViewOptions{Count: true, Now: c.now}); err == nil && c.view.Requests > b.cfg.RatePerMinute {
		return c.limited()
	}
	return c.fail(checkText(c.t, c.req.Text, maxLine))
}

// limit is how many requests of a kind a user may make in a minute.
func (b *Bot) limit(drafts bool) int {
	if drafts {
		return b.cfg.DraftsPerMinute
	}
	return b.cfg.RatePerMinute
}

// load reads the user's view and sets the call's language from it; with
// opts.Count it counts the request at the limit of its kind.
func (b *Bot) load(c *call, opts store.ViewOptions) error {
	if opts.Count {
		opts.Rate = b.limit(opts.Drafts)
	}
	v, err := b.store.View(c.ctx, c.req.Org, c.req.User.ID, opts)
	if err != nil {
		return err
	}
	c.view = v
	c.t = c.tr(langOf(v.Prefs.Lang, c.req.Locale))
	return nil
}

// rememberOrgLocale keeps the organization's locale for the language of
// its channel notifications, after a request that was done (a refused one
// writes nothing): the one the platform sends with the request when it
// differs from the one the view read, or else, when none is kept yet, the
// locale of an admin (Slack's first admin). A failure is logged: the
// answer stands.
func (c *call) rememberOrgLocale() {
	kept := c.view.Settings.Locale
	locale, onlyFirst := c.req.OrgLocale, false
	if locale == "" {
		if kept != "" || !c.isAdmin() {
			return
		}
		locale, onlyFirst = c.req.Locale, true
	}
	if locale == kept || !validLocale(locale) {
		return
	}
	if err := c.b.store.SetOrgLocale(c.ctx, c.req.Org, locale, onlyFirst); err != nil {
		c.b.log.Warn("remember organization locale", "org", c.req.Org, "err", err)
	}
}

// validLocale reports whether a platform's locale looks like one ("de",
// "en-US", "pt_BR").
func validLocale(l string) bool {
	if len(l) < 2 || len(l) > 20 {
		return false
	}
	for _, r := range l {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// OrgLang is the language of an organization's channel notifications: the
// one an admin chose (admin language), else the organization's locale on
// its platform, else English.
func OrgLang(s store.OrgSettings) string { return langOf(s.Lang, s.Locale) }

// NotificationLang is the language of a notification to org's admin
// channel (user ""), or of a direct message to user: their own choice
// (language), else locale, their locale on the platform where the adapter
// knows it, else the organization's language.
func (b *Bot) NotificationLang(ctx context.Context, org, user, locale string) (string, error) {
	if user != "" {
		p, err := b.store.Prefs(ctx, org, user)
		if err != nil {
			return "", err
		}
		if p.Lang == "de" || p.Lang == "en" {
			return p.Lang, nil
		}
		if locale != "" {
			return langOf("", locale), nil
		}
	}
	s, err := b.store.Settings(ctx, org)
	if err != nil {
		return "", err
	}
	return OrgLang(s), nil
}

// AdminChannel is the channel an admin set for org's notifications (as
// they typed it: a name, a mention or an id), "" when none is set.
func (b *Bot) AdminChannel(ctx context.Context, org string) (string, error) {
	s, err := b.store.Settings(ctx, org)
	return strings.TrimSpace(s.AdminChannel), err
}

// ValidID reports whether id can be a Request's organization or user id
// (store.ValidID): an adapter that builds ids or keys of its own checks
// them with it.
func ValidID(id string) bool { return store.ValidID(id) }

// NewID returns a random, unguessable id that ValidID accepts: for an
// adapter's keys (a kept button or form) and idempotency keys.
func NewID() string { return store.NewID() }

// langOf picks the language: the user's choice, else the platform's locale.
func langOf(pref, locale string) string {
	if pref == "de" || pref == "en" {
		return pref
	}
	if l := strings.ToLower(locale); l == "de" || strings.HasPrefix(l, "de-") || strings.HasPrefix(l, "de_") {
		return "de"
	}
	return "en"
}

// fail answers with text why the request was not done.
func (c *call) fail(text string) Response {
	c.result = "refused"
	return Response{Lang: c.t.lang, Messages: []Message{{Text: text}}}
}

// limited answers a request over the user's requests per minute.
func (c *call) limited() Response {
	r := c.fail(c.t.T("ErrRateLimited"))
	c.result = "limited"
	return r
}

// unavailable answers when Redis cannot be reached: nothing was changed.
func (c *call) unavailable(err error) (Response, error) {
	return c.fail(c.t.T("ErrUnavailable")), fmt.Errorf("handle: %w", err)
}

// storeFault turns a store error that the rules did not foresee into a
// message; it reports Redis faults as errors. It says that nothing was
// changed only where that is certain: the change never left for Redis or
// reached it too late (store.ErrNotMade: a change that arrives late does
// nothing), or the store refused it before sending it. Any other fault may have come after the change was
// made (a script that failed halfway, an answer lost on its way back), so
// the user hears that it may have been done and that trying again is safe:
// the change's idempotency key makes a repeat change nothing twice.
func (c *call) storeFault(err error) Response {
	if errors.Is(err, store.ErrUnavailable) {
		msg := "ErrUnavailableUnsure" // the change may have been made before its answer was lost
		if errors.Is(err, store.ErrNotMade) {
			msg = "ErrUnavailable"
		}
		r := c.fail(c.t.T(msg))
		c.result = "unavailable"
		return r
	}
	if errors.Is(err, store.ErrStale) {
		return c.fail(c.t.T("ErrStale"))
	}
	c.b.log.Error("store fault", "org", c.req.Org, "err", err)
	msg := "ErrInternalUnsure"
	if errors.Is(err, store.ErrInvalid) {
		msg = "ErrInternal"
	}
	r := c.fail(c.t.T(msg))
	c.result = "error"
	return r
}

func (c *call) isAdmin() bool {
	return c.req.Admin || slices.Contains(c.b.cfg.Admins, c.req.User.ID)
}

// onceKey is the idempotency key of the change a submitted form makes.
func onceKey(req Request) string { return req.Form.FormID + ":" + req.IdempotencyKey }

// once makes the change a form submits idempotent: a repeat of the request
// (a platform's retry, a double click) changes nothing and gets reply, the
// answer of the first. The change's notification (at most one) goes into
// the outbox with it, when it happens.
func (c *call) once(reply Response, notes ...Notification) store.Once {
	o := store.Once{Key: onceKey(c.req), Reply: c.record(reply)}
	if len(notes) > 0 {
		o.Note = notes[0].Note()
	}
	return o
}

// onceRecord is what the store keeps of a change's first request: its
// answer, and whose request it was. A repeat replays the answer to that
// user only.
type onceRecord struct {
	User string `json:"by"`
	Response
}

// record is the record of the change the call makes, answered with reply.
func (c *call) record(reply Response) string {
	reply.Lang = c.t.lang
	doc, _ := json.Marshal(onceRecord{User: c.req.User.ID, Response: reply}) // plain data: cannot fail
	return string(doc)
}

// replay is the first answer to a repeated request, as the store recorded
// it; fallback when it cannot be read. A request of another user with the
// same key (a platform id reused) is refused and shown nothing of it; so
// is any repeat of a record that names nobody (written before records
// named their user).
func (c *call) replay(res store.Result, fallback Response) Response {
	var r onceRecord
	err := json.Unmarshal([]byte(res.Value), &r)
	switch {
	case err == nil && r.User != "" && r.User != c.req.User.ID:
		c.b.log.Warn("repeat of another user's request refused", "org", c.req.Org, "user", c.req.User.ID)
		return c.fail(c.t.T("ErrNotYours"))
	case err == nil && r.User == "" && r.Lang != "":
		return c.fail(c.t.T("ErrRepeated"))
	}
	c.result = "repeat"
	if err != nil || r.Lang == "" {
		return fallback
	}
	return r.Response
}

// idempotencyKey makes any key a platform sends usable in key names: short
// and plain ones as they are, others hashed; none, a fresh one.
func idempotencyKey(k string) string {
	switch {
	case k == "":
		return store.NewID()
	case len(k) <= 100 && store.ValidID(k):
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return hex.EncodeToString(sum[:16])
}

type noDirectory struct{}

func (noDirectory) Member(context.Context, string) (Member, error) { return Member{}, ErrNoMember }
func (noDirectory) Admins(context.Context) ([]Member, error)       { return nil, nil }
