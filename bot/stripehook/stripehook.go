// Package stripehook serves the payment provider's webhook endpoint
// (POST /stripe/webhook): every request's signature is checked before
// anything of it is read, and the event it reports goes to the core, which
// applies it idempotently. The provider sends an event again until it is
// answered with a 2xx, so a fault of billingbot (Redis down) answers 5xx
// and a request that is not a valid signed event answers 400.
package stripehook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// maxBody is the largest event accepted. Stripe's events are a few KiB;
// its documentation allows for larger ones, never near this.
const maxBody = 512 << 10

// Core is what the endpoint needs of the core.
type Core interface {
	PaymentEvent(ctx context.Context, ev payment.Event) error
}

// Handler is the webhook endpoint.
type Handler struct {
	core     Core
	webhooks payment.Webhooks
	log      *slog.Logger
	// forged counts refused requests; only some are logged, so that
	// forged requests cannot flood the logs.
	forged atomic.Int64
	// Refused, when set, counts refused requests (for metrics).
	Refused func()
}

// New returns the endpoint for a provider's webhooks; log nil means
// slog.Default().
func New(core Core, webhooks payment.Webhooks, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{core: core, webhooks: webhooks, log: log}
}

var _ Core = (*commands.Bot)(nil)

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			h.refuse(w, http.StatusRequestEntityTooLarge, "too large")
			return
		}
		h.refuse(w, http.StatusBadRequest, "unreadable")
		return
	}
	ev, err := h.webhooks.Event(r.Context(), body, r.Header.Get("Stripe-Signature"))
	switch {
	case errors.Is(err, payment.ErrBadEvent):
		h.refuse(w, http.StatusBadRequest, "bad signature or event")
		return
	case err != nil:
		// The provider did not answer a question about the event: it
		// sends the event again later.
		h.log.Error("payment webhook", "outcome", "provider_error", "err", err)
		http.Error(w, "try again later", http.StatusBadGateway)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := h.core.PaymentEvent(ctx, ev); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, store.ErrUnavailable) {
			status = http.StatusServiceUnavailable
		}
		h.log.Error("payment webhook", "event", ev.ID, "kind", ev.Kind, "outcome", "error", "err", err)
		http.Error(w, "try again later", status)
		return
	}
	kind := string(ev.Kind)
	if kind == "" {
		kind = "ignored"
	}
	h.log.Info("payment webhook", "event", ev.ID, "kind", kind, "outcome", "ok")
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"received":true}`)
}

// refuse answers a request that is no valid event, logging the first and
// then every hundredth.
func (h *Handler) refuse(w http.ResponseWriter, status int, why string) {
	if n := h.forged.Add(1); n == 1 || n%100 == 0 {
		h.log.Warn("payment webhook refused", "why", why, "refused_so_far", n)
	}
	if h.Refused != nil {
		h.Refused()
	}
	http.Error(w, http.StatusText(status), status)
}
