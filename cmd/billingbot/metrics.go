package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
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
	}
	m.reg.MustRegister(m.commands, m.latency, m.fieldErrors, m.http, m.httpLatency, m.notifications, m.redisErrors,
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
