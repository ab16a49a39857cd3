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

	"github.com/billingbot/billingbot/bot/auditcsv"
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
	// Log lines, one per request, are written out together (logBuffer);
	// what serve prints besides them goes the same way, in order.
	out := newLogBuffer(stderr, logFlushEvery)
	defer out.Close()
	stderr = out
	log := slog.New(flushingHandler{cfg.logger(out).Handler(), out})
	if pay.TestMode() {
		log.Warn("payments are in test mode: no real money is taken", "provider", pay.Name())
	}
	m := newMetrics()
	bot, st, closeAll, code := openBot(ctx, cfg, pay, stderr, log, m)
	if closeAll == nil {
		return code
	}
	defer closeAll()
	platforms, err := configurePlatforms(cfg, env, bot, st, log, m)
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
	if cfg.MetricsAddr != "" {
		if m.private, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			fmt.Fprintf(stderr, "billingbot serve: BILLINGBOT_METRICS_ADDR: %v\n", err)
			return exitFailure
		}
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
	st.SetAuditRetention(cfg.AuditKeep, nil)
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

// serve runs the HTTP server on ln (and /metrics on m.private, when set),
// the platforms' own connections, the scheduler and the outbox sender
// until ctx ends, then shuts down gracefully: it stops accepting, lets
// in-flight requests and notifications finish (bounded), hands the
// notifications it holds to the other replicas, and leaves unfinished due
// jobs to them (their lease runs out).
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
	if m.private == nil {
		mux.Handle("GET /metrics", m.handler())
	}
	mux.Handle("/pay/", m.route("pay", paypage.New(bot, log, cfg.payPage())))
	mux.Handle(commands.InvoicePath, m.route("invoice", invoicepdf.New(bot, log)))
	mux.Handle(commands.AuditPath, m.route("audit", auditcsv.New(bot, log)))
	gate := newBodyGate(cfg.MaxBodyReads)
	if hooks, ok := pay.(payment.Webhooks); ok {
		mux.Handle("POST /stripe/webhook", m.route("stripe", gate.wrap(stripehook.New(bot, hooks, log), m.refusedBy(log, "stripe"))))
	}
	var notifiers []commands.Notifier
	for _, p := range platforms {
		if p.path != "" {
			mux.Handle("POST "+p.path, m.route(p.name, gate.wrap(p.handler, m.refusedBy(log, p.name))))
		}
		for pattern, h := range p.pages {
			mux.Handle(pattern, m.route(p.name+"-pages", h))
		}
		if p.notifier != nil {
			notifiers = append(notifiers, p.notifier)
		}
	}
	srv := newServer(mux, log)
	ln = limitPerClient(ln, cfg.MaxConnsPerClient, m.connRefused(log))
	var private *http.Server
	if m.private != nil {
		pm := http.NewServeMux()
		pm.Handle("GET /metrics", m.handler())
		private = newServer(pm, log)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(platforms)+2)
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
	if private != nil {
		go func() {
			if err := private.Serve(m.private); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics: %w", err)
			}
		}()
		log.Info("serving metrics", "addr", m.private.Addr().String())
	}

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
	if private != nil {
		_ = private.Shutdown(sctx)
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

// newServer is an HTTP server of serve's timeouts for h. Headers are
// bounded to 64 KiB (net/http allows 1 MiB): the platforms' and browsers'
// are a few. What net/http itself reports (a handler's panic, an accept
// error) goes to log, in order with the rest.
func newServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}
}

// Bounds of reading unverified request bodies.
const (
	// gateWait is how long a request waits for one of the bodyGate's
	// slots before it is answered 503 (Retry-After: 1).
	gateWait = 500 * time.Millisecond
	// bodyTimeout is how long reading a body may take once its headers
	// are in (the server's ReadTimeout, 10 s, counts from the request's
	// start): Slack, Discord and Stripe send theirs at once, and Slack
	// and Discord want the answer within 3 s anyway.
	bodyTimeout = 3 * time.Second
)

// bodyGate bounds how many request bodies are read at once before they
// are verified, across the listener: each holds a slot from the start of
// its handler until its body is read (or refused), so that at most
// len(slots) × the largest body the endpoints accept is buffered for
// clients that may be forging. A request that finds no slot within
// gateWait gets 503.
type bodyGate struct{ slots chan struct{} }

func newBodyGate(n int) *bodyGate { return &bodyGate{slots: make(chan struct{}, max(n, 1))} }

// wrap gates h, an endpoint that reads and verifies its body; refused is
// told of the requests turned away ("busy").
func (g *bodyGate) wrap(h http.Handler, refused func(*http.Request, string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.enter(r.Context()) {
			refused(r, "busy", nil)
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Connection", "close") // not waiting for the body
			http.Error(w, "busy, try again", http.StatusServiceUnavailable)
			return
		}
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout))
		b := &gatedBody{ReadCloser: r.Body, leave: func() { <-g.slots },
			// Read whole: no deadline while the handler answers (the
			// server's own, for the next request, follows). A body not
			// read whole keeps it for what the server discards of it.
			read: func() { _ = rc.SetReadDeadline(time.Time{}) }}
		defer b.done()
		r.Body = b
		h.ServeHTTP(&gatedWriter{ResponseWriter: w, body: b}, r)
	})
}

// enter takes a slot, waiting up to gateWait for one.
func (g *bodyGate) enter(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// gatedBody gives its slot back when its body has been read, at its end or
// error (a timeout), or when the handler returns (a body over the limit).
type gatedBody struct {
	io.ReadCloser
	once  sync.Once
	leave func()
	read  func() // at the body's end
	whole bool   // read to its end
}

func (b *gatedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.whole = true
		b.read()
	}
	if err != nil {
		b.done()
	}
	return n, err
}

func (b *gatedBody) done() { b.once.Do(b.leave) }

// gatedWriter closes the connection after an answer to a request whose
// body was not read whole (refused before, or over the limit): net/http
// would otherwise read up to 256 KiB more of it, at the client's pace,
// before it sends the answer.
type gatedWriter struct {
	http.ResponseWriter
	body  *gatedBody
	wrote bool
}

func (w *gatedWriter) WriteHeader(code int) {
	if !w.wrote && !w.body.whole {
		w.Header().Set("Connection", "close")
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *gatedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// limitPerClient wraps ln to keep at most most connections open per client
// address, the TCP peer's (an IPv6 client's /64): one more is closed as it
// is accepted, and refused is told. most ≤ 0: ln as it is.
func limitPerClient(ln net.Listener, most int, refused func(net.Addr)) net.Listener {
	if most <= 0 {
		return ln
	}
	return &clientLimit{Listener: ln, most: most, refused: refused, open: map[string]int{}}
}

type clientLimit struct {
	net.Listener
	most    int
	refused func(net.Addr)
	mu      sync.Mutex
	open    map[string]int // by client
}

func (l *clientLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientOf(c.RemoteAddr())
		l.mu.Lock()
		full := l.open[client] >= l.most
		if !full {
			l.open[client]++
		}
		l.mu.Unlock()
		if full {
			l.refused(c.RemoteAddr()) // counted before the client can see it
			c.Close()
			continue
		}
		return &clientConn{Conn: c, leave: func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[client]--; l.open[client] <= 0 {
				delete(l.open, client)
			}
		}}, nil
	}
}

// clientOf is what connections are counted by: the peer's IP address, or
// its /64 for IPv6 (one client's usual share).
func clientOf(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.AddrPort().Addr().Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// clientConn leaves its client's count when it is closed.
type clientConn struct {
	net.Conn
	once  sync.Once
	leave func()
}

func (c *clientConn) Close() error {
	c.once.Do(c.leave)
	return c.Conn.Close()
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
