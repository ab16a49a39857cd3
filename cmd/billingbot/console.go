package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/bot/console"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// Timings of the console.
const (
	pingTimeout = 5 * time.Second  // for Redis to answer at start
	dueEvery    = 30 * time.Second // how often the scheduler runs
	seedLinkTTL = 10 * time.Minute // of the payment link that seeds the demo card
)

// consoleFlags are the console's settings beyond the configuration.
type consoleFlags struct {
	org, user, name, locale string
	admin                   bool
	scheduler               string // auto, on or off
}

// runConsole is "billingbot console": the bot in a terminal.
func runConsole(ctx context.Context, args []string, env map[string]string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitUsage
	}
	var cf consoleFlags
	fs := newFlags("billingbot console", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: billingbot console [flags]\n\nType /billing commands in this terminal (or pipe them in).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "product catalog TOML `file` (BILLINGBOT_CATALOG); empty: the built-in demo catalog")
	// No default from the environment here: flag would print it, password and all.
	redisURL := fs.String("redis", "", "Redis `URL` (default $REDIS_URL); neither: an in-memory store that keeps nothing")
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "base `URL` of payment pages and invoice links (BILLINGBOT_PUBLIC_URL)")
	fs.StringVar(&cf.org, "org", "demo", "organization `id`")
	fs.StringVar(&cf.user, "user", "alice", "user `id` you type as")
	fs.StringVar(&cf.name, "name", "", "your display `name` (default: from the demo directory)")
	fs.StringVar(&cf.locale, "locale", "en", "your platform `locale`, e.g. en, de, de-DE")
	fs.BoolVar(&cf.admin, "admin", true, "you administer the organization (-admin=false to see the member's view)")
	fs.StringVar(&cf.scheduler, "scheduler", "auto", "run due jobs (charges, trial reminders and ends, renewals) here: on, off, or auto (on with the in-memory store only, so that a console never takes jobs from the serving replicas of a shared Redis)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "billingbot console: unexpected argument %q (pipe commands in, or type them)\n", fs.Arg(0))
		return exitUsage
	}
	if *redisURL != "" {
		cfg.RedisURL = *redisURL
	}
	if err := checkConsole(cfg, cf); err != nil {
		fmt.Fprintf(stderr, "billingbot console: %v\n", err)
		return exitUsage
	}
	log := cfg.logger(stderr)

	cat := catalog.Demo()
	if cfg.Catalog != "" {
		if cat, err = catalog.Load(cfg.Catalog); err != nil {
			fmt.Fprintf(stderr, "billingbot: %v\n", err)
			return exitFailure
		}
	}
	rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, log)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitFailure
	}
	defer closeRedis()
	st := store.New(rdb)
	st.SetAuditRetention(cfg.AuditKeep, nil)
	pay, err := cfg.provider(false)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot console: %v\n", err)
		return exitUsage
	}
	bot, err := commands.New(st, cat, pay, cfg.core(), commands.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitFailure
	}

	people := console.DemoPeople()
	if cf.name == "" {
		cf.name = cf.user
		if m, err := people.Member(ctx, cf.user); err == nil {
			cf.name = m.Name
		}
	}
	if _, ok := pay.(payment.CardTaker); !ok {
		// The provider's own page takes the cards: no demo card.
	} else if err := seedCard(ctx, st, bot, cf, log); err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", redact(err.Error(), cfg.RedisURL))
		return exitFailure
	}
	opts := console.Options{
		Org: cf.org, User: cf.user, Name: cf.name, Locale: cf.locale, Admin: cf.admin,
		Members: people, Log: log, Store: st,
	}
	if cf.scheduler == "on" || cf.scheduler == "auto" && cfg.RedisURL == "" {
		opts.DueEvery = dueEvery
	}
	err = console.Run(ctx, bot, stdin, stdout, opts)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "billingbot: %v\n", redact(err.Error(), cfg.RedisURL))
		return exitFailure
	}
	return exitOK
}

// checkConsole checks the settings the flags may have changed.
func checkConsole(cfg config, cf consoleFlags) error {
	if err := checkURL("-public-url", cfg.PublicURL); err != nil {
		return err
	}
	switch cf.scheduler {
	case "auto", "on", "off":
	default:
		return fmt.Errorf("-scheduler %q: want auto, on or off", cf.scheduler)
	}
	for _, f := range []struct{ name, value string }{{"-org", cf.org}, {"-user", cf.user}} {
		if !store.ValidID(f.value) {
			return fmt.Errorf("%s %q: want 1 to 64 letters, digits, '.', '_' or '-'", f.name, f.value)
		}
	}
	return nil
}

// openRedis connects to the Redis of rawURL and checks that it answers, or
// starts an in-memory one when rawURL is empty. Messages never show the
// URL's password.
func openRedis(ctx context.Context, rawURL string, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if rawURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.Start(); err != nil {
			return nil, nil, fmt.Errorf("start in-memory redis: %w", err)
		}
		log.Warn("REDIS_URL is not set: using an in-memory store; nothing will be kept")
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		return rdb, func() { _ = rdb.Close(); mr.Close() }, nil
	}
	rdb, err := store.Connect(rawURL)
	if err != nil {
		return nil, nil, errors.New(redact(err.Error(), rawURL))
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := store.New(rdb).Ping(pctx); err != nil {
		_ = rdb.Close()
		what := "refused us"
		if errors.Is(err, store.ErrUnavailable) {
			what = "does not answer"
		}
		return nil, nil, fmt.Errorf("redis at %s %s: %s", redisHost(rawURL), what, redact(err.Error(), rawURL))
	}
	log.Info("connected to redis", "host", redisHost(rawURL))
	warnPersistence(pctx, store.New(rdb), log)
	return rdb, func() { _ = rdb.Close() }, nil
}

// warnPersistence says at start-up when the Redis in use would lose what
// billingbot keeps (README: "Running it in containers, and keeping data").
func warnPersistence(ctx context.Context, st *store.Store, log *slog.Logger) {
	p, err := st.Persistence(ctx)
	switch {
	case err != nil:
		log.Warn("cannot tell whether redis keeps its data", "err", err)
	case p.KeepsNothing():
		log.Warn("redis keeps nothing on disk (no AOF, no RDB snapshots): a restart of redis loses every purchase, invoice and notification; set appendonly yes")
	case !p.AOF && p.Known:
		log.Warn("redis keeps only RDB snapshots: a crash loses the changes since the last one; set appendonly yes", "save", p.Save)
	case !p.AOF:
		log.Warn("redis has AOF off and does not say whether it takes RDB snapshots (CONFIG is disabled): a crash may lose data")
	case p.Fsync == "no":
		log.Warn("redis has AOF on with appendfsync no: a crash loses what the OS had not written yet (about 30 s); set appendfsync everysec")
	default:
		log.Info("redis keeps its data", "appendonly", "yes", "appendfsync", p.Fsync)
	}
}

// seedCard gives the console's user a sandbox card when they have no
// payment method, through the same path as the payment page: a payment
// link, completed with a test card. The card's number is never shown.
func seedCard(ctx context.Context, st *store.Store, bot *commands.Bot, cf consoleFlags, log *slog.Logger) error {
	v, err := st.View(ctx, cf.org, cf.user, store.ViewOptions{})
	if err != nil {
		return fmt.Errorf("demo card: %w", err)
	}
	for _, a := range v.Billing.Accounts {
		for _, p := range a.Profiles {
			if len(p.Methods) > 0 {
				return nil
			}
		}
	}
	now := time.Now()
	lang := "en"
	if l := strings.ToLower(cf.locale); l == "de" || strings.HasPrefix(l, "de-") || strings.HasPrefix(l, "de_") {
		lang = "de"
	}
	token, err := st.CreatePayLink(ctx, store.PayLink{Org: cf.org, User: cf.user, ProfileID: "default", Lang: lang,
		Expires: now.Add(seedLinkTTL), Quiet: true}, seedLinkTTL)
	if err != nil {
		return fmt.Errorf("demo card: %w", err)
	}
	m, err := bot.CompletePayLink(ctx, token, payment.Card{
		Number: "4242424242424242", CVC: "123", ExpMonth: 12, ExpYear: now.Year() + 3,
		Name: cf.name, Address: "Demo Street 1, 10115 Berlin",
	})
	if err != nil {
		return fmt.Errorf("demo card: %w", err)
	}
	log.Info("demo: gave the console user a sandbox payment method", "org", cf.org, "user", cf.user,
		"brand", m.Brand, "last4", m.Last4)
	return nil
}
