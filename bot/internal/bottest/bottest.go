// Package bottest holds test helpers the chat adapters share.
package bottest

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
)

// PanicLog is a slog handler that drops everything but remembers the
// records that report a recovered panic: the adapters recover panics of the
// core and of their background work and only log them.
type PanicLog struct {
	mu     sync.Mutex
	panics []string
}

func (h *PanicLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }

func (h *PanicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		msg := r.Message
		r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
		h.mu.Lock()
		h.panics = append(h.panics, msg)
		h.mu.Unlock()
	}
	return nil
}

func (h *PanicLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *PanicLog) WithGroup(string) slog.Handler      { return h }

// Take returns the panics logged since the last call.
func (h *PanicLog) Take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.panics
	h.panics = nil
	return p
}

// ToFake is an http.RoundTripper that sends every request to host, a fake
// of the platform's API, whatever URL it names: no fuzzed URL reaches the
// network.
type ToFake struct{ Host string }

func (f ToFake) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = "http", f.Host, f.Host
	return http.DefaultTransport.RoundTrip(r)
}
