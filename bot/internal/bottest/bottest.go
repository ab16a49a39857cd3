// Package bottest holds test helpers the chat adapters share.
package bottest

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
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

// Invoices gives user n invoices through the core, as a user makes them: a
// sandbox card, a purchase of one license of Visio Plan 2 (of the demo
// catalog), then n-1 times one license more, each billed for the rest of
// the period.
func Invoices(tb testing.TB, bot *commands.Bot, st *store.Store, org, user string, n int) {
	tb.Helper()
	ctx := context.Background()
	token, err := st.CreatePayLink(ctx, store.PayLink{Org: org, User: user, ProfileID: "default", Lang: "en",
		Expires: time.Now().Add(time.Hour), Quiet: true}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	pm, err := bot.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "123", ExpMonth: 12, ExpYear: 2040,
		Name: "Alice Adams", Address: "Hauptstr. 1, Berlin"})
	if err != nil {
		tb.Fatal(err)
	}
	// submit submits a form and confirms what it asks to confirm (the
	// price), as the user clicks its Pay button.
	submit := func(id, formCtx string, values map[string][]string) {
		tb.Helper()
		req := commands.Request{Org: org, User: commands.Member{ID: user, Name: user}, Locale: "en-US",
			Form: &commands.Submission{FormID: id, Context: formCtx, Values: values}, IdempotencyKey: store.NewID()}
		resp, err := bot.Handle(ctx, req)
		if err == nil && len(resp.FieldErrors) == 0 && resp.Confirm != nil {
			req.Form, req.Text, req.IdempotencyKey = nil, resp.Confirm.Yes, store.NewID()
			resp, err = bot.Handle(ctx, req)
		}
		if err != nil || len(resp.FieldErrors) > 0 || resp.Confirm != nil {
			tb.Fatalf("%s: %v %v %+v", id, err, resp.FieldErrors, resp.Messages)
		}
	}
	submit(commands.FormBuy, "", map[string][]string{"product": {"visio-plan-2"}, "licenses": {"1"}, "period": {"monthly"},
		"method": {pm.ID}})
	if _, err := bot.RunDue(ctx); err != nil { // the purchase's charge
		tb.Fatal(err)
	}
	v, err := st.View(ctx, org, user, store.ViewOptions{})
	if err != nil || len(v.Subs) == 0 {
		tb.Fatalf("view after the purchase: %v, %d subscriptions", err, len(v.Subs))
	}
	sub := v.Subs[0].ID
	for total := 2; total <= n; total++ {
		submit(commands.FormLicenses, sub, map[string][]string{"subscription": {sub}, "total": {strconv.Itoa(total)}})
	}
}

// NoGoroutines waits until no goroutine runs a function whose name
// contains one of names (a package path and a dot, a method), as after a
// connection's shutdown; it fails the test with their stacks when some are
// still there after a generous deadline, which only guards against a hang.
func NoGoroutines(tb testing.TB, names ...string) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var left []string
		for _, g := range strings.Split(stacks, "\n\n") {
			for _, n := range names {
				if strings.Contains(g, n) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		<-tick.C
	}
}
