package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/billingbot/billingbot/bot/invoicepdf"
	"github.com/billingbot/billingbot/bot/paypage"
	"github.com/billingbot/billingbot/bot/stripehook"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/outbox"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// Timings of serve.
const (
	readyTimeout    = time.Second      // /readyz waits this long for Redis
	shutdownTimeout = 10 * time.Second // in-flight requests (and sends) get this long
)

// platform is a chat platform's adapter as serve runs it.
type platform struct {
	name    string
	path    string       // where its HTTP endpoint is mounted ("" for none)
	handler http.Handler // its endpoint
	// pages are its pages for browsers, by pattern ("GET /slack/install").
	pages    map[string]http.Handler
	notifier commands.Notifier
	// run, when set, is a connection of its own (Socket Mode, the gateway)
	// that serve runs until the end.
	run func(context.Context) error
	// wait, when set, waits for work the adapter continues after answering
	// (deferred answers, notifications).
	wait func()
}

// runServe is "billingbot serve": the HTTP endpoints of the configured
// platforms, health checks, and the scheduler that delivers notifications.
func runServe(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitUsage
	}
	fs := newFlags("billingbot serve", stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "HTTP listen `address` (BILLINGBOT_ADDR)")
	fs.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "product catalog TOML `file` (BILLINGBOT_CATALOG)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	pay, err := cfg.provider(true)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot serve: %v\n", err)
		return exitUsage
	}
	log := cfg.logger(stderr)
	if pay.TestMode() {
		log.Warn("payments are in test mode: no real money is taken", "provider", pay.Name())
	}
	m := newMetrics()
	bot, st, closeAll, code := openBot(ctx, cfg, pay, stderr, log, m)
	if closeAll == nil {
		return code
	}
	defer closeAll()
	platforms, err := configurePlatforms(cfg, env, bot, st, log)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot serve: %v\n", err)
		return exitUsage
	}
	if len(platforms) == 0 {
		log.Warn("no chat platform is configured (SLACK_SIGNING_SECRET, DISCORD_PUBLIC_KEY, …): serving health checks only")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot serve: %v\n", err)
		return exitFailure
	}
	return serve(ctx, ln, st, bot, pay, platforms, cfg, m, log)
}

// openBot opens Redis (or an in-memory one), loads the catalog and makes
// the core, reporting to m. On failure it has printed why and returns a nil
// close func.
func openBot(ctx context.Context, cfg config, pay payment.Provider, stderr io.Writer, log *slog.Logger, m *metrics) (*commands.Bot, *store.Store, func(), int) {
	cat := catalog.Demo()
	if cfg.Catalog != "" {
		var err error
		if cat, err = catalog.Load(cfg.Catalog); err != nil {
			fmt.Fprintf(stderr, "billingbot: %v\n", err)
			return nil, nil, nil, exitFailure
		}
	}
	rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, log)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return nil, nil, nil, exitFailure
	}
	rdb.AddHook(redisHook{errors: m.redisErrors})
	st := store.New(rdb)
	if len(cfg.SecretKey) == 0 {
		log.Warn("BILLINGBOT_SECRET_KEY is not set: using a random key, so invoice download links and payment page forms work only on this replica and until it restarts")
	}
	bot, err := commands.New(st, cat, pay, cfg.core(), commands.WithLogger(log), commands.WithObserver(m.observe(log)))
	if err != nil {
		closeRedis()
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return nil, nil, nil, exitFailure
	}
	return bot, st, closeRedis, exitOK
}

// serve runs the HTTP server on ln, the platforms' own connections, the
// scheduler and the outbox sender until ctx ends, then shuts down
// gracefully: it stops accepting, lets in-flight requests and
// notifications finish (bounded), hands the notifications it holds to the
// other replicas, and leaves unfinished due jobs to them (their lease runs
// out).
func serve(ctx context.Context, ln net.Listener, st *store.Store, bot *commands.Bot, pay payment.Provider, platforms []platform, cfg config, m *metrics, log *slog.Logger) int {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		pctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := st.Ping(pctx); err != nil {
			http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("GET /metrics", m.handler())
	mux.Handle("/pay/", m.route("pay", paypage.New(bot, log, cfg.payPage())))
	mux.Handle(commands.InvoicePath, m.route("invoice", invoicepdf.New(bot, log)))
	if hooks, ok := pay.(payment.Webhooks); ok {
		mux.Handle("POST /stripe/webhook", m.route("stripe", stripehook.New(bot, hooks, log)))
	}
	var notifiers []commands.Notifier
	for _, p := range platforms {
		if p.path != "" {
			mux.Handle("POST "+p.path, m.route(p.name, p.handler))
		}
		for pattern, h := range p.pages {
			mux.Handle(pattern, m.route(p.name+"-pages", h))
		}
		if p.notifier != nil {
			notifiers = append(notifiers, p.notifier)
		}
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(platforms)+1)
	for _, p := range platforms {
		if p.run == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.run(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", p.name, err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		schedule(ctx, bot, st, cfg.JobsEvery, log)
	}()
	if len(notifiers) > 0 {
		sender := outbox.New(st, notifiers, outbox.Config{ClaimAfter: cfg.OutboxClaimAfter, Grace: shutdownTimeout,
			Log: log, Observe: m.notified})
		m.watchOutbox(sender)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sender.Run(ctx)
		}()
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	log.Info("serving", "addr", ln.Addr().String(), "platforms", len(platforms))

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Error("stopping", "err", err)
		code = exitFailure
	}
	log.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	cancel()
	wg.Wait()
	finished := make(chan struct{})
	go func() {
		for _, p := range platforms {
			if p.wait != nil {
				p.wait()
			}
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-sctx.Done():
		log.Warn("shutdown: adapters' background work did not finish in time")
	}
	return code
}

// schedule runs due jobs every interval (their notifications go into the
// outboxes), and keeps the store's view of Redis's clock fresh.
func schedule(ctx context.Context, bot *commands.Bot, st *store.Store, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := st.Ping(ctx); err != nil && ctx.Err() == nil {
			log.Warn("redis", "err", err)
		}
		if _, err := bot.RunDue(ctx); err != nil && ctx.Err() == nil {
			log.Error("due jobs", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runHealthcheck is "billingbot healthcheck": it asks a running serve's
// /healthz, for the container's HEALTHCHECK (distroless has no curl).
func runHealthcheck(args []string, env map[string]string, stderr io.Writer) int {
	fs := newFlags("billingbot healthcheck", stderr)
	addr := env["BILLINGBOT_ADDR"]
	if addr == "" {
		addr = defaultAddr
	}
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	url := fs.String("url", "http://"+addr+"/healthz", "health check `URL`")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(*url)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot healthcheck: %v\n", err)
		return exitFailure
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "billingbot healthcheck: %s\n", resp.Status)
		return exitFailure
	}
	return exitOK
}
