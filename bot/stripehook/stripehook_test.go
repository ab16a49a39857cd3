package stripehook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/bot/stripehook"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/commands/payment/stripetest"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// The money path with Stripe: stripe-mock answers the API (and checks every
// request against Stripe's API description), the test signs the webhook
// events that carry the outcomes, as Stripe would send them, to the real
// endpoint. Two bots share one store, as two replicas do.

const org = "T1"

var alice = commands.Member{ID: "U1", Name: "Alice"}

type env struct {
	t     *testing.T
	rdb   *redis.Client
	st    *store.Store
	bots  [2]*commands.Bot
	rec   *stripetest.Recorder
	hook  *httptest.Server
	clock *clock
	logs  *syncBuffer
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// backends runs a test on miniredis and on a real redis-server, each time
// with the same stripe-mock.
func backends(t *testing.T, test func(t *testing.T, e *env)) {
	api := stripetest.Start(t)
	for name, addr := range map[string]func(*testing.T) string{
		"miniredis": func(t *testing.T) string { return redistest.Mini(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.Real(t) },
	} {
		t.Run(name, func(t *testing.T) { test(t, newEnv(t, api, addr(t))) })
	}
}

func newEnv(t *testing.T, api, addr string) *env {
	t.Helper()
	rec := stripetest.Record(t, api)
	pay, err := payment.NewStripe(payment.StripeConfig{SecretKey: stripetest.SecretKey, WebhookSecret: stripetest.WebhookSecret, APIURL: rec.URL})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	e := &env{t: t, rdb: rdb, st: st, rec: rec, clock: &clock{now: time.Now().UTC().Truncate(time.Second)}, logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for i := range e.bots {
		b, err := commands.New(st, catalog.Demo(), pay, commands.Config{PublicURL: "https://billing.example"},
			commands.WithClock(e.clock.Now), commands.WithLogger(log))
		if err != nil {
			t.Fatal(err)
		}
		e.bots[i] = b
	}
	e.hook = httptest.NewServer(stripehook.New(e.bots[1], pay, log))
	t.Cleanup(e.hook.Close)
	return e
}

// run sends a command line to the first replica.
func (e *env) run(text string) commands.Response {
	e.t.Helper()
	r, err := e.bots[0].Handle(context.Background(), commands.Request{Org: org, User: alice, Locale: "en-US", Text: text})
	if err != nil {
		e.t.Fatalf("%s: %v", text, err)
	}
	return r
}

// send submits a form to the first replica.
func (e *env) send(formID, formCtx, key string, values map[string][]string) commands.Response {
	e.t.Helper()
	r, err := e.bots[0].Handle(context.Background(), commands.Request{Org: org, User: alice, Locale: "en-US",
		Form: &commands.Submission{FormID: formID, Context: formCtx, Values: values}, IdempotencyKey: key})
	if err == nil && r.Confirm != nil {
		// A change that costs money is made once confirmed, with the
		// confirmation's Yes, as the user clicks it.
		r, err = e.bots[0].Handle(context.Background(), commands.Request{Org: org, User: alice, Locale: "en-US",
			Text: r.Confirm.Yes, IdempotencyKey: key + "-yes"})
	}
	if err != nil || len(r.FieldErrors) > 0 {
		e.t.Fatalf("%s: %v %v", formID, err, r.FieldErrors)
	}
	return r
}

// post sends a webhook request and returns its status.
func (e *env) post(payload []byte, header string) int {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.hook.URL, bytes.NewReader(payload))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("Stripe-Signature", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// event signs an event as Stripe does and posts it; it must be accepted.
func (e *env) event(typ string, object map[string]any) []byte {
	e.t.Helper()
	payload, header := stripetest.SignedEvent(e.t, stripetest.WebhookSecret, typ, object)
	if status := e.post(payload, header); status != http.StatusOK {
		e.t.Fatalf("%s: status %d, want 200; log:\n%s", typ, status, e.logs)
	}
	return payload
}

// due runs the due jobs on both replicas at once.
func (e *env) due() {
	e.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(e.bots))
	for _, b := range e.bots {
		wg.Go(func() {
			if _, err := b.RunDue(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		e.t.Fatalf("due jobs: %v", err)
	}
}

func (e *env) view() store.View {
	e.t.Helper()
	v, err := e.st.View(context.Background(), org, alice.ID, store.ViewOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

func (e *env) invoice(id string) store.Invoice {
	e.t.Helper()
	inv, err := e.st.Invoice(context.Background(), org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inv
}

func (e *env) sub(id string) store.Subscription {
	e.t.Helper()
	s, err := e.st.Subscription(context.Background(), org, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// notes lists the kinds of the organization's waiting notifications, as
// "kind>to".
func (e *env) notes() []string {
	e.t.Helper()
	entries, err := e.st.Outbox(context.Background(), org, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		n, err := commands.DecodeNotification(en)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, string(n.Kind)+">"+n.To)
	}
	return out
}

// snapshot is every key and value of Redis.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	keys, err := e.rdb.Keys(ctx, "*").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		var v any
		switch e.rdb.Type(ctx, k).Val() {
		case "string":
			v = e.rdb.Get(ctx, k).Val()
		case "hash":
			v = e.rdb.HGetAll(ctx, k).Val()
		case "set":
			m := e.rdb.SMembers(ctx, k).Val()
			sort.Strings(m)
			v = m
		case "zset":
			v = e.rdb.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "stream":
			v = e.rdb.XRange(ctx, k, "-", "+").Val()
		case "list":
			v = e.rdb.LRange(ctx, k, 0, -1).Val()
		}
		fmt.Fprintf(&b, "%s = %v\n", k, v)
	}
	return b.String()
}

func (e *env) wantUnchanged(before, what string) {
	e.t.Helper()
	if after := e.snapshot(); after != before {
		e.t.Errorf("%s changed Redis:\nbefore:\n%s\nafter:\n%s", what, before, after)
	}
}

// requests lists the recorded API requests of a method and path.
func (e *env) requests(method, path string) []stripetest.Request {
	var out []stripetest.Request
	for _, r := range e.rec.Requests() {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// addCard adds a card through Stripe Checkout: the link, the setup session,
// and the event that reports it.
func (e *env) addCard() store.PaymentMethod {
	e.t.Helper()
	r := e.run("payment add")
	token := ""
	for _, b := range r.Messages[0].Buttons {
		if i := strings.LastIndex(b.URL, "/pay/"); i >= 0 {
			token = b.URL[i+len("/pay/"):]
		}
	}
	if token == "" {
		e.t.Fatalf("no payment link in %+v", r)
	}
	url, err := e.bots[0].StartHostedSetup(context.Background(), token)
	if err != nil || !strings.HasPrefix(url, "https://checkout.stripe.com/") {
		e.t.Fatalf("StartHostedSetup = %q, %v; want a Checkout URL", url, err)
	}
	sessions := e.requests(http.MethodPost, "/v1/checkout/sessions")
	if len(sessions) != 1 {
		e.t.Fatalf("%d Checkout Sessions, want 1", len(sessions))
	}
	s := sessions[0].Form
	ref := store.PayLinkRef(token)
	if s.Get("mode") != "setup" || s.Get("client_reference_id") != ref || s.Get("locale") != "en" ||
		!strings.HasSuffix(s.Get("success_url"), "/pay/"+token+"/done") || sessions[0].Header.Get("Idempotency-Key") == "" {
		e.t.Errorf("Checkout Session %v (%v)", s, sessions[0].Header)
	}
	customer := s.Get("customer")
	if p, _ := e.view().Billing.Profile("default"); customer == "" || p.Customer != customer {
		e.t.Fatalf("session for customer %q, profile's customer %q", customer, p.Customer)
	}
	if len(e.requests(http.MethodPost, "/v1/customers")) != 1 {
		e.t.Errorf("customers created: %d, want 1", len(e.requests(http.MethodPost, "/v1/customers")))
	}
	session := map[string]any{"id": "cs_test_" + ref[:12], "object": "checkout.session", "mode": "setup", "status": "complete",
		"client_reference_id": ref, "customer": customer, "setup_intent": "seti_" + ref[:12]}
	payload := e.event("checkout.session.completed", session)
	ms := e.view().Billing.Accounts[0].Profiles[0].Methods
	if len(ms) != 1 || !strings.HasPrefix(ms[0].Token, "pm_") || ms[0].Last4 == "" || ms[0].Brand == "" || ms[0].Fingerprint == "" {
		e.t.Fatalf("methods after the setup = %+v, want one Stripe card", ms)
	}
	// The same event again (Stripe retries): nothing changes.
	before := e.snapshot()
	if status := e.post(payload, stripetest.Sign(payload, stripetest.WebhookSecret, time.Now())); status != http.StatusOK {
		e.t.Errorf("replayed setup: %d", status)
	}
	e.wantUnchanged(before, "a replayed setup event")
	return ms[0]
}

// buy submits the buy form and returns the invoice it made.
func (e *env) buy(method string, licenses int, key string) store.Invoice {
	e.t.Helper()
	r := e.send(commands.FormBuy, "", key, map[string][]string{"product": {"visio-plan-2"}, "licenses": {fmt.Sprint(licenses)},
		"period": {"monthly"}, "method": {method}})
	if !strings.Contains(r.Messages[0].Text, "We are charging") {
		e.t.Fatalf("buy answered %+v", r.Messages)
	}
	id := invoiceRe.FindString(r.Messages[0].Text)
	if id == "" {
		e.t.Fatalf("no invoice in %q", r.Messages[0].Text)
	}
	return e.invoice(id)
}

var invoiceRe = regexp.MustCompile(`\b\d{8}-[A-Z0-9]{8}\b`)

func pi(id string, inv store.Invoice, status string) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "status": status, "amount": inv.Total,
		"currency": strings.ToLower(inv.Currency), "metadata": map[string]any{"org": inv.Org, "invoice": inv.ID, "subscription": inv.SubID}}
}

func TestStripeMoneyPath(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.addCard()
		if got := e.notes(); len(got) != 1 || got[0] != "method-saved>U1" {
			t.Errorf("notifications after the setup %v, want the user's method-saved", got)
		}

		// A purchase; its charge fails on the way back once (Stripe took
		// it, the answer was lost), and the retry, on the other replica
		// after the first one's lease ends, sends the same Idempotency-Key.
		inv := e.buy(m.ID, 5, "buy-1")
		if s := e.sub(inv.SubID); s.Status != store.StatusPending {
			t.Fatalf("subscription before the charge is %s, want pending", s.Status)
		}
		e.rec.Answer(t, http.MethodPost, "/v1/payment_intents", http.StatusInternalServerError,
			map[string]any{"error": map[string]any{"type": "api_error", "message": "lost"}})
		for _, b := range e.bots {
			_, _ = b.RunDue(context.Background()) // fails: left in flight
		}
		e.rec.Reset()
		e.clock.add(6 * time.Minute)
		e.due()
		charges := e.requests(http.MethodPost, "/v1/payment_intents")
		if len(charges) == 0 {
			t.Fatal("the retry charged nothing")
		}
		for _, c := range charges {
			if k := c.Header.Get("Idempotency-Key"); k != "bb-T1-"+inv.ID {
				t.Errorf("charge with Idempotency-Key %q, want bb-T1-%s", k, inv.ID)
			}
			if c.Form.Get("off_session") != "true" || c.Form.Get("confirm") != "true" || c.Form.Get("amount") != fmt.Sprint(inv.Total) ||
				c.Form.Get("metadata[invoice]") != inv.ID || c.Form.Get("payment_method") != m.Token || c.Form.Get("customer") == "" {
				t.Errorf("charge %v", c.Form)
			}
		}
		e.due() // nothing is charged again
		if n := len(e.requests(http.MethodPost, "/v1/payment_intents")); n != len(charges) {
			t.Errorf("%d charges after another run, want %d", n, len(charges))
		}
		inv = e.invoice(inv.ID)
		if inv.Charge == "" || inv.Status != store.InvoiceOpen || e.sub(inv.SubID).Status != store.StatusPending {
			t.Fatalf("before Stripe's report: invoice %+v, subscription %s; want the charge recorded, still pending", inv, e.sub(inv.SubID).Status)
		}

		// A forged report changes nothing.
		before := e.snapshot()
		payload := stripetest.Event{Type: "payment_intent.succeeded", Object: pi(inv.Charge, inv, "succeeded")}.JSON(t)
		for name, header := range map[string]string{
			"wrong secret": stripetest.Sign(payload, "whsec_forged", time.Now()),
			"old":          stripetest.Sign(payload, stripetest.WebhookSecret, time.Now().Add(-6*time.Minute)),
			"no signature": "",
		} {
			if status := e.post(payload, header); status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", name, status)
			}
		}
		tampered := bytes.Replace(payload, []byte(`"succeeded"`), []byte(`"succeedeD"`), 1)
		if status := e.post(tampered, stripetest.Sign(payload, stripetest.WebhookSecret, time.Now())); status != http.StatusBadRequest {
			t.Errorf("tampered: status %d, want 400", status)
		}
		e.wantUnchanged(before, "forged events")

		// The success: the subscription is active, the purchaser and the
		// admins are told, once.
		ok := e.event("payment_intent.succeeded", pi(inv.Charge, inv, "succeeded"))
		if s := e.sub(inv.SubID); s.Status != store.StatusActive || s.Total != 5 {
			t.Errorf("after the success: %+v", s)
		}
		if got := e.invoice(inv.ID).Status; got != store.InvoicePaid {
			t.Errorf("invoice %s, want paid", got)
		}
		before = e.snapshot()
		if status := e.post(ok, stripetest.Sign(ok, stripetest.WebhookSecret, time.Now())); status != http.StatusOK {
			t.Errorf("replayed success: %d", status)
		}
		// Reports that come late, out of order, change nothing either.
		e.event("payment_intent.requires_action", pi(inv.Charge, inv, "requires_action"))
		e.event("payment_intent.payment_failed", pi(inv.Charge, inv, "requires_payment_method"))
		afterLate := e.snapshot()
		if stripEvents(afterLate) != stripEvents(before) {
			t.Errorf("late reports changed more than their event marks:\nbefore:\n%s\nafter:\n%s", before, afterLate)
		}
		if got := strings.Join(e.notes(), ","); got != "method-saved>U1,paid>U1,purchase>" {
			t.Errorf("notifications %s, want the method, the payment to Alice and the purchase to the admins, once", got)
		}
	})
}

// stripEvents leaves out the keys that mark handled events.
func stripEvents(snapshot string) string {
	var keep []string
	for _, l := range strings.Split(snapshot, "\n") {
		if !strings.HasPrefix(l, "bb:event:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestStripeDeclined: a declined payment leaves no subscription.
func TestStripeDeclined(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.addCard()
		inv := e.buy(m.ID, 2, "buy-declined")
		e.due()
		inv = e.invoice(inv.ID)
		e.event("payment_intent.payment_failed", pi(inv.Charge, inv, "requires_payment_method"))
		if s := e.sub(inv.SubID); s.Status != store.StatusDeclined {
			t.Errorf("subscription after the decline is %s, want declined", s.Status)
		}
		if v := e.view(); len(v.Subs) != 0 {
			t.Errorf("subscriptions after the decline: %+v, want none", v.Subs)
		}
		if got := e.invoice(inv.ID).Status; got != store.InvoiceFailed {
			t.Errorf("invoice %s, want failed", got)
		}
		if got := strings.Join(e.notes(), ","); got != "method-saved>U1,payment-failed>U1" {
			t.Errorf("notifications %s, want the failed payment to Alice and nothing to the admins", got)
		}
		// Stripe's answer to a charge that it declines at once: a card
		// error. Nothing is bought either.
		e.rec.Answer(t, http.MethodPost, "/v1/payment_intents", http.StatusPaymentRequired, map[string]any{"error": map[string]any{
			"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card was declined."}})
		inv = e.buy(m.ID, 1, "buy-declined-at-once")
		e.due()
		if s := e.sub(inv.SubID); s.Status != store.StatusDeclined {
			t.Errorf("subscription after a card error is %s, want declined", s.Status)
		}
	})
}

// TestStripeRequiresAction: a charge the bank wants confirmed sends the
// purchaser a link, and waits; the success then grants the purchase, and
// a charge never confirmed is void after ChargeExpiry.
func TestStripeRequiresAction(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.addCard()
		inv := e.buy(m.ID, 3, "buy-3ds")
		e.due()
		inv = e.invoice(inv.ID)
		e.event("payment_intent.requires_action", pi(inv.Charge, inv, "requires_action"))
		if got := e.invoice(inv.ID).Status; got != store.InvoiceAction {
			t.Fatalf("invoice %s, want requires_action", got)
		}
		if s := e.sub(inv.SubID); s.Status != store.StatusPending {
			t.Errorf("subscription while waiting is %s, want pending", s.Status)
		}
		entries, err := e.st.Outbox(context.Background(), org, 100)
		if err != nil {
			t.Fatal(err)
		}
		var link string
		for _, en := range entries {
			n, _ := commands.DecodeNotification(en)
			if n.Kind == commands.NoteActionRequired && n.To == alice.ID {
				link = n.Sub.URL
				msg := e.bots[0].RenderNotification(n, "de")
				if !strings.Contains(msg.Title, "Bitte bestätigen Sie Ihre Zahlung") || len(msg.Buttons) != 1 || msg.Buttons[0].URL != link {
					t.Errorf("German message %+v", msg)
				}
			}
		}
		if !strings.HasPrefix(link, "https://billing.example/pay/") {
			t.Fatalf("no confirmation link to Alice in %v", e.notes())
		}
		token := link[strings.LastIndex(link, "/")+1:]
		info, err := e.bots[0].PayLink(context.Background(), token)
		if err != nil || info.Invoice == nil || info.Invoice.ID != inv.ID {
			t.Fatalf("the confirmation link is for %+v, %v", info.Invoice, err)
		}
		// The purchaser confirms on Stripe's page; Stripe reports it.
		e.rec.Answer(t, http.MethodGet, "/v1/payment_intents/"+inv.Charge, http.StatusOK, map[string]any{"id": inv.Charge,
			"object": "payment_intent", "status": "requires_action",
			"next_action": map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{"url": "https://hooks.stripe.com/3d_secure/x", "return_url": "https://billing.example/pay/" + token + "/done"}}})
		if url, err := e.bots[0].ConfirmCharge(context.Background(), token); err != nil || url != "https://hooks.stripe.com/3d_secure/x" {
			t.Errorf("ConfirmCharge = %q, %v; want Stripe's 3-D Secure page", url, err)
		}
		e.event("payment_intent.succeeded", pi(inv.Charge, inv, "succeeded"))
		if s := e.sub(inv.SubID); s.Status != store.StatusActive {
			t.Errorf("subscription after the confirmed payment is %s, want active", s.Status)
		}

		// Another, never confirmed: void after ChargeExpiry, nothing bought.
		e.rec.Reset()
		other := e.buy(m.ID, 1, "buy-3ds-2")
		e.due()
		other = e.invoice(other.ID)
		e.event("payment_intent.requires_action", pi(other.Charge, other, "requires_action"))
		e.clock.add(commands.ChargeExpiry + time.Minute)
		e.due()
		if got := e.invoice(other.ID).Status; got != store.InvoiceVoid {
			t.Errorf("unconfirmed invoice %s, want void", got)
		}
		if s := e.sub(other.SubID); s.Status != store.StatusDeclined {
			t.Errorf("unconfirmed purchase is %s, want declined", s.Status)
		}
	})
}

// TestStripeRefundAndMethods: a refund and a dispute reach the purchaser;
// a card updated by its network, or detached, changes the method.
func TestStripeRefundAndMethods(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.addCard()
		inv := e.buy(m.ID, 1, "buy-refund")
		e.due()
		inv = e.invoice(inv.ID)
		e.event("payment_intent.succeeded", pi(inv.Charge, inv, "succeeded"))
		e.event("charge.dispute.created", map[string]any{"id": "dp_1", "object": "dispute", "amount": inv.Total,
			"currency": "eur", "payment_intent": inv.Charge, "charge": "ch_1", "reason": "fraudulent", "status": "needs_response"})
		if got := e.invoice(inv.ID).Status; got != store.InvoiceDisputed {
			t.Errorf("invoice %s, want disputed", got)
		}
		e.event("charge.refunded", map[string]any{"id": "ch_1", "object": "charge", "amount": inv.Total, "amount_refunded": inv.Total,
			"currency": "eur", "payment_intent": inv.Charge, "refunded": true})
		if got := e.invoice(inv.ID).Status; got != store.InvoiceRefunded {
			t.Errorf("invoice %s, want refunded", got)
		}
		card := func(month, year int) map[string]any {
			return map[string]any{"id": m.Token, "object": "payment_method", "type": "card",
				"card": map[string]any{"brand": "visa", "last4": m.Last4, "exp_month": month, "exp_year": year, "fingerprint": m.Fingerprint}}
		}
		e.event("payment_method.automatically_updated", card(3, 2033))
		if got, _, _ := e.view().Billing.Method(m.ID); got.ExpMonth != 3 || got.ExpYear != 2033 {
			t.Errorf("method after the network's update = %+v, want 03/2033", got)
		}
		e.event("payment_method.detached", card(3, 2033))
		if _, _, ok := e.view().Billing.Method(m.ID); ok {
			t.Error("the detached method is still there")
		}
		want := "method-saved>U1,paid>U1,purchase>,disputed>U1,refunded>U1,method-updated>U1,method-removed>U1"
		if got := strings.Join(e.notes(), ","); got != want {
			t.Errorf("notifications %s, want %s", got, want)
		}
		for _, secret := range []string{stripetest.SecretKey, stripetest.WebhookSecret} {
			if strings.Contains(e.logs.String(), secret) {
				t.Errorf("the log holds a Stripe secret")
			}
		}
	})
}
