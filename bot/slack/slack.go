// Package slack is billingbot's Slack adapter. It verifies and parses what
// Slack sends to POST /slack/events (slash commands, interactivity, the
// Events API) or over Socket Mode, hands it to the core as a
// commands.Request, renders the commands.Response as Block Kit (modals,
// ephemeral messages, the App Home tab) and delivers admin notifications
// through the Web API. It holds no business rules.
package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/bot/internal/httpbody"
	"github.com/billingbot/billingbot/bot/internal/workers"
	"github.com/billingbot/billingbot/commands"
)

// Config is what a deployment sets about the Slack app.
type Config struct {
	SigningSecret, BotToken, AppToken string // AppToken (xapp-) set: Socket Mode

	// OAuth: with ClientID, ClientSecret and Installations set, workspaces
	// install the app at /slack/install and each is answered with its own
	// bot token; BotToken, if set too, serves every workspace that has not.
	ClientID, ClientSecret string
	Installations          Installations
	// SecretKey (BILLINGBOT_SECRET_KEY) signs the install flow's states.
	SecretKey []byte
	// EnterpriseOrg: the workspaces of an Enterprise Grid org-wide install
	// are one organization, "slack-" + the enterprise id
	// (SLACK_ENTERPRISE_ORG=enterprise); otherwise one per workspace.
	EnterpriseOrg bool

	APIURL       string   // SLACK_API_URL, e.g. http://127.0.0.1:9999/api/ (slack-go OptionAPIURL)
	AdminChannel string   // SLACK_ADMIN_CHANNEL (a channel id or #name)
	Admins       []string // BILLINGBOT_ADMINS user ids
	// ResponseURLHosts are hosts (host or host:port) whose response_urls
	// are posted to besides https://hooks.slack.com (SLACK_RESPONSE_URL_HOSTS);
	// SLACK_API_URL's host is one of them.
	ResponseURLHosts []string
	PublicURL        string
	HTTPClient       *http.Client
	Now              func() time.Time // nil: time.Now (the signature verifier's clock)
	Log              *slog.Logger
	// Refused, when set, is told of each request refused before it was
	// verified, with a reason ("unsigned", "stale", "signature",
	// "too_large", "unreadable"); serve counts them and logs a sample.
	// Nil: each is logged.
	Refused func(r *http.Request, reason string, err error)
}

// Adapter connects the core to one Slack workspace's app. It is an
// http.Handler for POST /slack/events and a commands.Notifier.
type Adapter struct {
	cfg    Config
	bot    *commands.Bot
	st     Store
	verify verifier
	log    *slog.Logger
	http   *http.Client
	users  *userCache // users.info answers seen lately, in front of the store's cache
	// hookHosts are the hosts besides Slack's whose response_urls are
	// posted to (lower case; host or host:port).
	hookHosts map[string]bool

	single *slackapi.Client // SLACK_BOT_TOKEN's; nil without one
	app    *slackapi.Client // Socket Mode's (the app-level token)
	// apiOpts make the clients of installed workspaces, kept in clients.
	apiOpts  []slackapi.Option
	clients  *clients
	linked   sync.Map // team ids whose link to their enterprise's install is recorded
	stateKey []byte   // signs OAuth states

	// ackWithin is how long a request may wait for the core before Slack
	// is acknowledged and the answer follows later (Slack allows 3 s).
	ackWithin time.Duration
	// rateWait bounds how long a rate-limited call waits before a retry.
	rateWait time.Duration

	wg      sync.WaitGroup // work that continues after an acknowledgement
	workers *workers.Pool  // the goroutines of that work, and of the core's runs
}

var _ commands.Notifier = (*Adapter)(nil)
var _ http.Handler = (*Adapter)(nil)

// Prefix of the organization ids of Slack workspaces: "slack-" + team id.
const orgPrefix = "slack-"

// maxBody is the largest request body read before it is verified; larger
// ones get 413. Slack's largest are view submissions, which carry the whole
// modal back: the largest the adapter renders of the core's forms, at Block
// Kit's limits (the buy form: three selects of 100 options of 75 characters,
// every input filled), measures 445 KiB URL-encoded with every character a
// JSON-escaped emoji (265 KiB with umlauts, 108 KiB in ASCII; see
// TestBodyLimit). 768 KiB leaves 70% for what Slack adds.
const maxBody = 768 << 10

// New returns an adapter for the bot; st keeps the adapter's own data
// (Store).
func New(cfg Config, bot *commands.Bot, st Store) (*Adapter, error) {
	switch {
	case bot == nil || st == nil:
		return nil, errors.New("slack: New needs a bot and a store")
	case cfg.BotToken == "" && cfg.ClientID == "":
		return nil, errors.New("slack: set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth)")
	case (cfg.ClientID == "") != (cfg.ClientSecret == ""):
		return nil, errors.New("slack: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together")
	case cfg.ClientID != "" && (cfg.Installations == nil || len(cfg.SecretKey) < commands.MinSecretKey):
		return nil, errors.New("slack: OAuth (SLACK_CLIENT_ID) needs BILLINGBOT_SECRET_KEY and the store's installations")
	case cfg.SigningSecret == "" && cfg.AppToken == "":
		return nil, errors.New("slack: set SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN (Socket Mode)")
	case cfg.AppToken != "" && !strings.HasPrefix(cfg.AppToken, "xapp-"):
		return nil, errors.New("slack: SLACK_APP_TOKEN must be an app-level token (xapp-…)")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = newHTTPClient()
	}
	if cfg.Refused == nil {
		log := cfg.Log.With("adapter", "slack")
		cfg.Refused = func(r *http.Request, reason string, err error) {
			log.Warn("refused unverified request", "reason", reason, "err", err, "remote", r.RemoteAddr)
		}
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(cfg.HTTPClient)}
	if u := cfg.apiURL(); u != "" {
		opts = append(opts, slackapi.OptionAPIURL(u))
	}
	if cfg.ClientID == "" {
		cfg.Installations = nil
	}
	hookHosts := map[string]bool{}
	for _, h := range cfg.ResponseURLHosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			hookHosts[h] = true
		}
	}
	if u, err := url.Parse(cfg.APIURL); err == nil && cfg.APIURL != "" && u.Host != "" {
		// The Slack a deployment talks to instead of slack.com (a test's
		// fake, a proxy) sends response_urls of its own.
		hookHosts[strings.ToLower(u.Host)] = true
	}
	a := &Adapter{
		cfg: cfg, bot: bot, st: st,
		apiOpts:   opts,
		clients:   newClients(maxClients, clientTTL, cfg.Now),
		verify:    verifier{secret: []byte(cfg.SigningSecret), now: cfg.Now},
		log:       cfg.Log.With("adapter", "slack"),
		http:      cfg.HTTPClient,
		users:     newUserCache(),
		hookHosts: hookHosts,
		workers:   workers.New(idleWorker),
		ackWithin: 2500 * time.Millisecond,
		rateWait:  30 * time.Second,
	}
	if cfg.BotToken != "" {
		a.single = slackapi.New(cfg.BotToken, opts...)
	}
	if cfg.AppToken != "" {
		a.app = slackapi.New(cfg.BotToken, append(opts[:len(opts):len(opts)], slackapi.OptionAppLevelToken(cfg.AppToken))...)
	}
	if cfg.ClientID != "" {
		a.stateKey = deriveKey(cfg.SecretKey, "billingbot slack oauth state v1")
	}
	return a, nil
}

// newHTTPClient is the client for the Web API and response_url when the
// deployment gives none. Its transport keeps up to 64 idle connections per
// host (the default keeps 2): answers are posted concurrently, and with 2
// most of them would connect (and TLS-handshake) anew.
func newHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 128, 64
	return &http.Client{Timeout: 15 * time.Second, Transport: tr}
}

// idleWorker is how long a goroutine of the adapter's work is kept for the
// next after it is done (see package workers).
const idleWorker = 10 * time.Second

// reply is the answer to one request from Slack: an HTTP status and a body
// (nil: empty; otherwise JSON). Socket Mode sends the body as the ack's
// payload.
type reply struct {
	status int
	body   any
}

var ok200 = reply{status: http.StatusOK}

func bad(msg string) reply {
	return reply{status: http.StatusBadRequest, body: map[string]string{"error": msg}}
}

// Wait waits for the work the adapter continues after acknowledging Slack:
// answers through response_url, modal updates.
func (a *Adapter) Wait() { a.wg.Wait() }

// ServeHTTP answers POST /slack/events: slash commands (form-encoded),
// interactivity (form field payload) and the Events API (JSON). Every
// request is verified before anything in it is read.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ts, sig := r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature")
	if err := a.verify.fresh(ts, sig); err != nil {
		a.refuse(w, r, err) // before a byte of the body is read
		return
	}
	body, err := httpbody.Read(w, r, maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.cfg.Refused(r, "too_large", err)
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		a.cfg.Refused(r, "unreadable", err)
		http.Error(w, "cannot read request", http.StatusBadRequest)
		return
	}
	if err := a.verify.verify(ts, sig, body); err != nil {
		a.refuse(w, r, err)
		return
	}
	ctx := r.Context()
	var rep reply
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		rep = a.onEvent(ctx, body)
	} else {
		vals, err := parseForm(body)
		switch {
		case err != nil:
			rep = bad("malformed form")
		case vals.Has("payload"):
			rep = a.onInteraction(ctx, []byte(vals.Get("payload")))
		case vals.Get("command") != "":
			rep = a.onCommand(ctx, slashFromForm(vals))
		default:
			rep = bad("unknown request")
		}
	}
	writeReply(w, rep)
}

// refuse answers a request that failed verification with 401, and tells
// Config.Refused why.
func (a *Adapter) refuse(w http.ResponseWriter, r *http.Request, err error) {
	reason := "signature"
	switch {
	case errors.Is(err, errNoSignature):
		reason = "unsigned"
	case errors.Is(err, errStale):
		reason = "stale"
	}
	a.cfg.Refused(r, reason, err)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

func writeReply(w http.ResponseWriter, rep reply) {
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	if rep.body == nil {
		w.WriteHeader(rep.status)
		return
	}
	doc, ok := rep.body.(json.RawMessage) // encoded already
	var err error
	if !ok {
		doc, err = json.Marshal(rep.body)
	}
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(doc))) // not chunked when over 2 KB
	w.WriteHeader(rep.status)
	w.Write(doc)
}

// background runs f after the acknowledgement, with a context that outlives
// the request.
func (a *Adapter) background(ctx context.Context, f func(ctx context.Context)) {
	a.detach(ctx, backgroundFor, f)
}

// backgroundFor bounds work done after the acknowledgement.
const backgroundFor = 2 * time.Minute

// detach runs f on a worker with a context that outlives the request's and
// ends after d; shutdown waits for it.
func (a *Adapter) detach(ctx context.Context, d time.Duration, f func(ctx context.Context)) {
	a.wg.Add(1)
	a.workers.Go(func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in background work", "panic", p)
			}
		}()
		f(ctx)
	})
}

// origin is who sent a request and where an answer goes.
type origin struct {
	team, user, userName string
	enterprise           string // the Enterprise Grid's id, if any
	orgWide              bool   // the app is installed org-wide in that enterprise
	byEnterprise         bool   // Config.EnterpriseOrg
	teamName             string // the workspace's domain, where Slack sends it
	channel              string // a conversation id, if any
	responseURL          string
	triggerID            string
}

// org is the origin's organization: its workspace's, or with
// Config.EnterpriseOrg and an org-wide install its enterprise's.
func (o origin) org() string {
	if o.byEnterprise && o.orgWide && o.enterprise != "" {
		return orgPrefix + o.enterprise
	}
	return orgPrefix + o.team
}

// chatURL leads back to the origin's conversation in Slack (the app or the
// browser), for the pages that chat links open; "" without a conversation.
func (o origin) chatURL() string {
	if o.team == "" || o.channel == "" {
		return ""
	}
	return "https://slack.com/app_redirect?" + url.Values{"team": {o.team}, "channel": {o.channel}}.Encode()
}

// request starts a core request for the origin's user: their name, locale
// and admin flag from users.info (cached), and the workspace's directory.
func (a *Adapter) request(ctx context.Context, o origin) commands.Request {
	req := commands.Request{Org: o.org(), User: commands.Member{ID: o.user, Name: o.userName},
		Members: &directory{a: a, org: o.org(), team: o.team}, OrgName: o.teamName, ChatURL: o.chatURL()}
	if o.team != "" && o.user != "" && commands.ValidID(o.user) && commands.ValidID(o.team) {
		if u, err := a.user(ctx, req.Org, o.user); err == nil {
			if u.Name != "" {
				req.User.Name = u.Name
			}
			req.Locale, req.Admin = u.Locale, u.adminOf(o.team)
		} else {
			a.log.Warn("users.info", "org", req.Org, "user", o.user, "err", err)
		}
	}
	for _, id := range a.cfg.Admins {
		if id == o.user {
			req.Admin = true
		}
	}
	if req.User.Name == "" {
		req.User.Name = o.user
	}
	return req
}

// handle runs a request through the core. The notifications a change
// causes are in the outbox already; a sender delivers them.
func (a *Adapter) handle(ctx context.Context, req commands.Request) commands.Response {
	resp, err := a.bot.Handle(ctx, req)
	if err != nil {
		a.log.Error("handle", "org", req.Org, "user", req.User.ID, "err", err)
	}
	if resp.Lang == "" {
		resp.Lang = "en"
	}
	return resp
}

// ackMargin is what f of within leaves of the acknowledgement deadline for
// rendering and sending the answer.
const ackMargin = 300 * time.Millisecond

// within runs f in the background and waits for it up to the adapter's
// acknowledgement deadline. It returns f's response and true when it was in
// time; otherwise a channel that delivers it later. f's context ends a
// little before the deadline, so that work waiting on a Redis that hangs
// gives up and answers (that the service is unavailable) in time. When f
// panics, the answer is the internal error message, in time or later, so
// that nothing waits for an answer that never comes.
func (a *Adapter) within(ctx context.Context, o origin, f func(ctx context.Context) commands.Response) (commands.Response, bool, <-chan commands.Response) {
	done := make(chan commands.Response, 1)
	d := backgroundFor
	if a.ackWithin > ackMargin {
		d = a.ackWithin - ackMargin
	}
	a.detach(ctx, d, func(ctx context.Context) {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in core run", "org", o.org(), "user", o.user, "panic", p)
				lang := a.cachedLang(ctx, o)
				// The request may have changed something before the panic.
				done <- commands.Response{Lang: lang, Messages: []commands.Message{{Text: a.bot.Text(lang, "ErrInternalUnsure")}}}
			}
		}()
		done <- f(ctx)
	})
	if a.ackWithin <= 0 { // tests: always answer later
		return commands.Response{}, false, done
	}
	t := time.NewTimer(a.ackWithin)
	defer t.Stop()
	select {
	case v := <-done:
		return v, true, nil
	case <-t.C:
		return commands.Response{}, false, done
	}
}

// slackErr wraps a Slack Web API error with the method that failed.
func slackErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("slack %s: %w", op, err)
}
