package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/outbox"
)

// metrics are what serve exports at /metrics, in its own registry.
type metrics struct {
	reg           *prometheus.Registry
	commands      *prometheus.CounterVec   // platform, command, result
	latency       *prometheus.HistogramVec // platform
	fieldErrors   *prometheus.CounterVec   // form
	http          *prometheus.CounterVec   // route, code
	httpLatency   *prometheus.HistogramVec // route
	notifications *prometheus.CounterVec   // platform, result
	redisErrors   prometheus.Counter
	refused       *prometheus.CounterVec // platform, reason
	connsRefused  prometheus.Counter
	sample        *sampler // of the log lines about refusals

	// private, when set, is the listener /metrics is served on instead of
	// the public one (BILLINGBOT_METRICS_ADDR).
	private net.Listener
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billingbot_commands_total",
			Help: "Requests to the core by platform, command and result."}, []string{"platform", "command", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "billingbot_command_duration_seconds",
			Help: "Time the core took per request.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"platform"}),
		fieldErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billingbot_form_field_errors_total",
			Help: "Form submissions refused with field errors, by form."}, []string{"form"}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billingbot_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"}),
		httpLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "billingbot_http_request_duration_seconds",
			Help: "Time to the HTTP answer, by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}, []string{"route"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billingbot_notifications_total",
			Help: "Notifications taken from the outboxes, by platform, kind and result (sent, retried, dead)."},
			[]string{"platform", "kind", "result"}),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "billingbot_redis_errors_total",
			Help: "Redis commands and pipelines that failed (not counting missing keys)."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "billingbot_requests_refused_total",
			Help: "Requests refused before they were verified, by platform (or stripe) and reason: unsigned, stale, signature, too_large, unreadable, busy."},
			[]string{"platform", "reason"}),
		connsRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "billingbot_connections_refused_total",
			Help: "Connections closed at once because their client address had BILLINGBOT_MAX_CONNS_PER_CLIENT open already."}),
		sample: &sampler{every: refusedLogEvery, now: time.Now, due: map[string]*sampled{}},
	}
	m.reg.MustRegister(m.commands, m.latency, m.fieldErrors, m.http, m.httpLatency, m.notifications, m.redisErrors,
		m.refused, m.connsRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// notified counts a notification the outbox sender settled.
func (m *metrics) notified(org string, kind commands.NotificationKind, result string) {
	m.notifications.WithLabelValues(platformOf(org), string(kind), result).Inc()
}

// watchOutbox exports what waits in the outboxes the sender looks at: how
// many notifications, and how long the oldest has waited.
func (m *metrics) watchOutbox(s *outbox.Sender) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "billingbot_outbox_backlog",
			Help: "Notifications waiting in the outboxes this replica's sender last looked at (being delivered, or waiting for a retry)."},
			func() float64 { n, _ := s.Backlog(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "billingbot_outbox_lag_seconds",
			Help: "How long the oldest waiting notification has waited since its change (0: none waits)."},
			func() float64 {
				if _, oldest := s.Backlog(); !oldest.IsZero() {
					return time.Since(oldest).Seconds()
				}
				return 0
			}))
}

// platformOf names the platform of an organization id.
func platformOf(org string) string {
	if p, _, ok := strings.Cut(org, "-"); ok && (p == "slack" || p == "discord") {
		return p
	}
	return "other"
}

// observe records a request's outcome and writes its log line: platform,
// organization, command, result and duration; never what the user typed.
func (m *metrics) observe(log *slog.Logger) func(context.Context, commands.Outcome) {
	return func(ctx context.Context, o commands.Outcome) {
		p := platformOf(o.Org)
		m.commands.WithLabelValues(p, o.Command, o.Result).Inc()
		m.latency.WithLabelValues(p).Observe(o.Duration.Seconds())
		if o.FieldErrors > 0 {
			m.fieldErrors.WithLabelValues(strings.TrimPrefix(o.Command, "form:")).Inc()
		}
		log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("platform", p), slog.String("org", o.Org),
			slog.String("command", o.Command), slog.String("result", o.Result),
			slog.Float64("duration_ms", float64(o.Duration.Microseconds())/1000))
	}
}

// route wraps an HTTP handler to count its requests and time its answers.
func (m *metrics) route(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		m.http.WithLabelValues(name, strconv.Itoa(rec.code)).Inc()
		m.httpLatency.WithLabelValues(name).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// refusedLogEvery is how often one kind of refusal (platform and reason)
// is logged at most: a flood of forged requests writes one line per
// interval, which counts the ones it stands for. The metrics count each.
const refusedLogEvery = 10 * time.Second

// refusedBy is what a platform's endpoint calls for each request it
// refuses before verifying it: counted, and logged sampled.
func (m *metrics) refusedBy(log *slog.Logger, platform string) func(r *http.Request, reason string, err error) {
	return func(r *http.Request, reason string, err error) {
		m.refused.WithLabelValues(platform, reason).Inc()
		if ok, suppressed := m.sample.allow(platform + " " + reason); ok {
			attrs := []slog.Attr{slog.String("platform", platform), slog.String("reason", reason), slog.String("remote", r.RemoteAddr)}
			if err != nil {
				attrs = append(attrs, slog.String("err", err.Error()))
			}
			log.LogAttrs(r.Context(), slog.LevelWarn, "refused unverified request", append(attrs, slog.Int("suppressed", suppressed))...)
		}
	}
}

// connRefused counts a connection closed for its client's limit, and logs
// it sampled.
func (m *metrics) connRefused(log *slog.Logger) func(remote net.Addr) {
	return func(remote net.Addr) {
		m.connsRefused.Inc()
		if ok, suppressed := m.sample.allow("connections"); ok {
			log.Warn("refused connection: too many open from its address", "remote", remote.String(), "suppressed", suppressed)
		}
	}
}

// sampler lets one log line per key through per interval, and counts the
// ones it holds back. Its keys are a fixed few (platform and reason).
type sampler struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	due   map[string]*sampled
}

type sampled struct {
	next       time.Time // when the next line may be written
	suppressed int       // lines held back since the last one
}

// allow reports whether a line for key may be written now, and how many
// were held back since the last one.
func (s *sampler) allow(key string) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	d := s.due[key]
	if d == nil {
		d = &sampled{}
		s.due[key] = d
	}
	if now.Before(d.next) {
		d.suppressed++
		return false, 0
	}
	n := d.suppressed
	d.next, d.suppressed = now.Add(s.every), 0
	return true, n
}

// handler serves /metrics.
func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// redisHook counts failed Redis commands.
type redisHook struct{ errors prometheus.Counter }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil && !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "BB:") && !strings.Contains(err.Error(), " BB:") {
			h.errors.Inc()
		}
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if err != nil && !errors.Is(err, redis.Nil) && !strings.Contains(err.Error(), "BB:") {
			h.errors.Inc()
		}
		return err
	}
}
