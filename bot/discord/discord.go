// Package discord is billingbot's Discord adapter: it verifies and decodes
// interactions (over the HTTP interactions endpoint or the gateway), turns
// them into commands.Request values, and renders the core's responses as
// Discord messages, embeds, buttons and modals within Discord's limits. It
// holds no business rules.
//
// discordgo v0.29.0 cannot decode the Label component (type 18) that
// modals use for selects, so the adapter decodes interactions and renders
// components with its own small types, and calls the REST API with its own
// client; discordgo is used for the gateway connection only.
package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/billingbot/billingbot/bot/internal/httpbody"
	"github.com/billingbot/billingbot/bot/internal/workers"
	"github.com/billingbot/billingbot/commands"
)

// DefaultAPIURL is Discord's REST base.
const DefaultAPIURL = "https://discord.com/api/v10"

// maxBody is the largest interaction body read before it is verified;
// larger ones get 413. The largest Discord sends is a modal submission:
// five text inputs of 4000 characters, with the resolved users and members
// of a full user select, the member (250 roles), the channel and the
// message whose button opened the modal, all at Discord's limits, measures
// 580 KiB with every character a JSON-escaped emoji (312 KiB as raw UTF-8,
// 212 KiB in ASCII; see TestBodyLimit). 896 KiB leaves half again of it.
const maxBody = 896 << 10

// orgPrefix starts the organization id of a guild.
const orgPrefix = "discord-"

// Config is what a deployment sets about the Discord adapter.
type Config struct {
	PublicKey    string   // DISCORD_PUBLIC_KEY (hex)
	AppID        string   // DISCORD_APP_ID
	BotToken     string   // DISCORD_BOT_TOKEN
	APIURL       string   // DISCORD_API_URL, default https://discord.com/api/v10
	AdminChannel string   // DISCORD_ADMIN_CHANNEL (channel id)
	Admins       []string // BILLINGBOT_ADMINS user ids
	HTTPClient   *http.Client
	Log          *slog.Logger
	// Now is the clock that interactions' timestamps are checked against;
	// nil: time.Now.
	Now func() time.Time
	// Refused, when set, is told of each request refused before it was
	// verified, with a reason (the refused… constants); serve counts
	// them and logs a sample. Nil: each is logged.
	Refused func(r *http.Request, reason string, err error)
	// MemberEvents has the gateway ask for the privileged GUILD_MEMBERS
	// intent (DISCORD_MEMBER_EVENTS), to hear at once of members who
	// leave (members.go).
	MemberEvents bool
}

// Adapter serves one Discord application.
type Adapter struct {
	cfg    Config
	bot    *commands.Bot
	store  Store
	pub    ed25519.PublicKey
	rest   *rest
	log    *slog.Logger
	specs  []commands.Spec
	admins map[string]bool

	// deferAfter is how long an interaction's answer may take before the
	// adapter defers it (Discord wants one within 3 seconds).
	deferAfter time.Duration
	// workTimeout bounds the work of one interaction.
	workTimeout time.Duration
	// handle is the core's Handle (tests wrap it).
	handle func(context.Context, commands.Request) (commands.Response, error)

	workers *workers.Pool // the goroutines of the core's runs and of background work

	wg sync.WaitGroup // background work: deferred edits, follow-ups
}

var _ commands.Notifier = (*Adapter)(nil)

// New returns an adapter for the application cfg describes. The public key
// is needed to serve the interactions endpoint; the gateway and Register
// need the bot token. st keeps the adapter's own data (Store).
func New(cfg Config, bot *commands.Bot, st Store) (*Adapter, error) {
	if bot == nil || st == nil {
		return nil, errors.New("discord: bot and store are required")
	}
	cfg = withDefaults(cfg)
	a := &Adapter{
		cfg: cfg, bot: bot, store: st, log: cfg.Log, specs: bot.Specs(),
		rest:       newREST(cfg),
		admins:     map[string]bool{},
		deferAfter: 2500 * time.Millisecond, workTimeout: 60 * time.Second,
		handle: bot.Handle, workers: workers.New(idleWorker),
	}
	for _, id := range cfg.Admins {
		if id = strings.TrimSpace(id); id != "" {
			a.admins[id] = true
		}
	}
	if cfg.PublicKey != "" {
		k, err := hex.DecodeString(strings.TrimSpace(cfg.PublicKey))
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("discord: public key: want %d bytes of hex", ed25519.PublicKeySize)
		}
		a.pub = ed25519.PublicKey(k)
	}
	return a, nil
}

func withDefaults(cfg Config) Config {
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.HTTPClient == nil {
		// Up to 64 idle connections per host (the default keeps 2): follow-ups,
		// deferred edits and notifications are sent concurrently, and with 2
		// most of them would connect (and TLS-handshake) anew.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 128, 64
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second, Transport: tr}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refused == nil {
		log := cfg.Log
		cfg.Refused = func(r *http.Request, reason string, err error) {
			log.Warn("discord: refused unverified request", "reason", reason, "err", err, "remote", r.RemoteAddr)
		}
	}
	return cfg
}

// Wait blocks until the background work of the interactions answered so far
// (deferred answers, follow-ups, notifications) is done: for a graceful
// shutdown after the HTTP server stopped.
func (a *Adapter) Wait() { a.wg.Wait() }

// maxSkew is how far an interaction's timestamp may be from now: a
// captured request cannot be replayed once the idempotency record of its
// interaction has expired.
const maxSkew = 5 * time.Minute

// Reasons a request is refused before it is verified (each answered 401,
// but too_large 413 and unreadable 400).
const (
	refusedUnsigned   = "unsigned"   // no signature or timestamp, or no key to check them
	refusedStale      = "stale"      // a timestamp more than maxSkew from now
	refusedSignature  = "signature"  // a signature that does not match
	refusedTooLarge   = "too_large"  // a body over maxBody
	refusedUnreadable = "unreadable" // a body that could not be read
)

// fresh reports whether an X-Signature-Timestamp (Unix seconds) is within
// maxSkew of now.
func fresh(ts string, now time.Time) bool {
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(secs, 0))
	return -maxSkew <= d && d <= maxSkew
}

// verify checks Discord's Ed25519 signature over timestamp + body.
func verify(pub ed25519.PublicKey, timestamp string, body []byte, sigHex string) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	sig, err := hex.DecodeString(sigHex)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	msg := make([]byte, 0, len(timestamp)+len(body))
	msg = append(append(msg, timestamp...), body...)
	return ed25519.Verify(pub, msg, sig)
}

// ServeHTTP is the interactions endpoint (POST /discord/interactions).
// Every request is verified before anything of it is parsed.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed)
		return
	}
	sig, ts := r.Header.Get("X-Signature-Ed25519"), r.Header.Get("X-Signature-Timestamp")
	if sig == "" || ts == "" || a.pub == nil {
		a.cfg.Refused(r, refusedUnsigned, nil)
		httpError(w, http.StatusUnauthorized)
		return
	}
	if !fresh(ts, a.cfg.Now()) {
		a.cfg.Refused(r, refusedStale, nil)
		httpError(w, http.StatusUnauthorized)
		return
	}
	body, err := httpbody.Read(w, r, maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.cfg.Refused(r, refusedTooLarge, err)
			httpError(w, http.StatusRequestEntityTooLarge)
			return
		}
		a.cfg.Refused(r, refusedUnreadable, err)
		httpError(w, http.StatusBadRequest)
		return
	}
	if !verify(a.pub, ts, body, sig) {
		a.cfg.Refused(r, refusedSignature, nil)
		httpError(w, http.StatusUnauthorized)
		return
	}
	in, err := decodeInteraction(body)
	if err != nil {
		a.log.Debug("discord: bad interaction", "err", err)
		httpError(w, http.StatusBadRequest)
		return
	}
	initial, later := a.process(context.WithoutCancel(r.Context()), in)
	if initial == nil {
		httpError(w, http.StatusBadRequest)
		return
	}
	doc, err := json.Marshal(initial)
	if err != nil { // plain data: cannot fail
		httpError(w, http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(doc))) // not chunked when over 2 KB
	_, _ = w.Write(doc)
	a.background(later)
}

// background runs the work that follows an interaction's first answer.
func (a *Adapter) background(later func()) {
	if later == nil {
		return
	}
	a.wg.Add(1)
	a.workers.Go(func() {
		defer a.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("discord: panic in background work", "panic", p)
			}
		}()
		later()
	})
}

// idleWorker is how long a goroutine of the adapter's work is kept for the
// next after it is done (see package workers).
const idleWorker = 10 * time.Second

func httpError(w http.ResponseWriter, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "{\"error\":%q}\n", http.StatusText(code))
}
