package payment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands/payment/stripetest"
	"github.com/stripe/stripe-go/v83"
)

// newTestStripe is a Stripe with stripetest's test key and webhook secret,
// talking to apiURL.
func newTestStripe(t *testing.T, apiURL string) *Stripe {
	t.Helper()
	s, err := NewStripe(StripeConfig{SecretKey: stripetest.SecretKey, WebhookSecret: stripetest.WebhookSecret, APIURL: apiURL})
	if err != nil {
		t.Fatalf("NewStripe() error = %v", err)
	}
	return s
}

// mockStripe starts stripe-mock behind a Recorder and returns a Stripe
// talking to it through the Recorder.
func mockStripe(t *testing.T) (*Stripe, *stripetest.Recorder) {
	t.Helper()
	rec := stripetest.Record(t, stripetest.Start(t))
	return newTestStripe(t, rec.URL), rec
}

// fakeAPI is an API answering with handler, for what needs no stripe-mock
// (retries, server errors); a Stripe talking to it.
func fakeAPI(t *testing.T, handler http.HandlerFunc) *Stripe {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return newTestStripe(t, srv.URL)
}

// stripeJSON writes a Stripe-shaped JSON answer.
func stripeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// only returns the one recorded request, or fails.
func only(t *testing.T, rec *stripetest.Recorder) stripetest.Request {
	t.Helper()
	reqs := rec.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d API requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// wantForm checks the form values of a request.
func wantForm(t *testing.T, r stripetest.Request, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := r.Form[k]; !ok && v != "" || ok && (len(got) != 1 || got[0] != v) {
			t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, k, got, v)
		}
	}
}

// cardError is the body of Stripe's 402 answer for a card error.
func cardError(code, declineCode, paymentIntent string) map[string]any {
	e := map[string]any{
		"type":    "card_error",
		"code":    code,
		"message": "Your card was declined.",
		// What Stripe attaches to a card error, none of which belongs in
		// billingbot's errors.
		"payment_method": map[string]any{
			"id": "pm_attached", "object": "payment_method", "type": "card",
			"billing_details": map[string]any{"name": "Erika Mustermann"},
			"card":            map[string]any{"brand": "visa", "last4": "4242", "fingerprint": "FpSecretish"},
		},
	}
	if declineCode != "" {
		e["decline_code"] = declineCode
	}
	if paymentIntent != "" {
		e["payment_intent"] = map[string]any{"id": paymentIntent, "object": "payment_intent", "status": "requires_payment_method", "client_secret": paymentIntent + "_secret_abc"}
	}
	return map[string]any{"error": e}
}

func TestNewStripe(t *testing.T) {
	tests := []struct {
		name         string
		cfg          StripeConfig
		wantTestMode bool
		wantErr      bool
	}{
		{"secret test key", StripeConfig{SecretKey: "sk_test_abc", WebhookSecret: "whsec_abc"}, true, false},
		{"restricted test key", StripeConfig{SecretKey: "rk_test_abc", WebhookSecret: "whsec_abc"}, true, false},
		{"secret live key", StripeConfig{SecretKey: "sk_live_abc", WebhookSecret: "whsec_abc"}, false, false},
		{"restricted live key", StripeConfig{SecretKey: "rk_live_abc", WebhookSecret: "whsec_abc"}, false, false},
		{"stripe-mock URL", StripeConfig{SecretKey: "sk_test_abc", WebhookSecret: "whsec_abc", APIURL: "http://127.0.0.1:12111"}, true, false},
		{"publishable key", StripeConfig{SecretKey: "pk_test_abc", WebhookSecret: "whsec_abc"}, false, true},
		{"empty key", StripeConfig{WebhookSecret: "whsec_abc"}, false, true},
		{"bare prefix", StripeConfig{SecretKey: "sk_", WebhookSecret: "whsec_abc"}, false, true},
		{"empty webhook secret", StripeConfig{SecretKey: "sk_test_abc"}, false, true},
		{"webhook secret without whsec_", StripeConfig{SecretKey: "sk_test_abc", WebhookSecret: "abc"}, false, true},
		{"API URL without scheme", StripeConfig{SecretKey: "sk_test_abc", WebhookSecret: "whsec_abc", APIURL: "127.0.0.1:12111"}, false, true},
		{"ftp API URL", StripeConfig{SecretKey: "sk_test_abc", WebhookSecret: "whsec_abc", APIURL: "ftp://example.com"}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewStripe(tt.cfg)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewStripe(%v) = %v, want an error", tt.cfg, s)
				}
				for _, secret := range []string{tt.cfg.SecretKey, tt.cfg.WebhookSecret} {
					if len(secret) > 4 && strings.Contains(err.Error(), secret) {
						t.Errorf("NewStripe() error %q contains a secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("NewStripe(%v) error = %v", tt.cfg, err)
			}
			if s.Name() != "stripe" || s.TestMode() != tt.wantTestMode {
				t.Errorf("Name(), TestMode() = %q, %t, want stripe, %t", s.Name(), s.TestMode(), tt.wantTestMode)
			}
		})
	}
}

func TestStripeRequests(t *testing.T) {
	s, rec := mockStripe(t)
	ctx := context.Background()

	t.Run("customer", func(t *testing.T) {
		rec.Reset()
		id, err := s.Customer(ctx, CustomerRequest{Org: "T1", User: "U1", Profile: "main", Name: "Acme GmbH", IdempotencyKey: "customer-T1-main"})
		if err != nil || !strings.HasPrefix(id, "cus_") {
			t.Fatalf("Customer() = %q, %v, want a cus_ id", id, err)
		}
		r := only(t, rec)
		if r.Method != http.MethodPost || r.Path != "/v1/customers" || r.Header.Get("Idempotency-Key") != "customer-T1-main" {
			t.Errorf("request = %s %s with Idempotency-Key %q, want POST /v1/customers with customer-T1-main", r.Method, r.Path, r.Header.Get("Idempotency-Key"))
		}
		wantForm(t, r, map[string]string{"name": "Acme GmbH", "metadata[org]": "T1", "metadata[user]": "U1", "metadata[profile]": "main"})
	})

	t.Run("charge", func(t *testing.T) {
		rec.Reset()
		ch, err := s.Charge(ctx, ChargeRequest{
			Customer: "cus_1", Method: "pm_1", Amount: 1260, Currency: "EUR", IdempotencyKey: "invoice-42",
			Description: "Pro, 5 licenses", Metadata: map[string]string{"org": "T1", "invoice": "42", "subscription": ""},
		})
		// stripe-mock answers its fixture: requires_payment_method,
		// which is no decline but an outcome to come by webhook.
		if err != nil || !strings.HasPrefix(ch.ID, "pi_") || ch.Status != ChargePending {
			t.Fatalf("Charge() = %+v, %v, want a pending pi_ charge", ch, err)
		}
		r := only(t, rec)
		if r.Method != http.MethodPost || r.Path != "/v1/payment_intents" || r.Header.Get("Idempotency-Key") != "invoice-42" {
			t.Errorf("request = %s %s with Idempotency-Key %q, want POST /v1/payment_intents with invoice-42", r.Method, r.Path, r.Header.Get("Idempotency-Key"))
		}
		wantForm(t, r, map[string]string{
			"amount": "1260", "currency": "eur", "customer": "cus_1", "payment_method": "pm_1",
			"confirm": "true", "off_session": "true", "payment_method_types[0]": "card",
			"description": "Pro, 5 licenses", "metadata[org]": "T1", "metadata[invoice]": "42",
		})
		if _, ok := r.Form["metadata[subscription]"]; ok {
			t.Errorf("empty metadata value sent (Stripe reads it as a deletion)")
		}
	})

	t.Run("detach", func(t *testing.T) {
		rec.Reset()
		if err := s.Detach(ctx, "pm_1"); err != nil {
			t.Fatalf("Detach() error = %v", err)
		}
		if r := only(t, rec); r.Method != http.MethodPost || r.Path != "/v1/payment_methods/pm_1/detach" {
			t.Errorf("request = %s %s, want POST /v1/payment_methods/pm_1/detach", r.Method, r.Path)
		}
	})

	t.Run("start setup", func(t *testing.T) {
		rec.Reset()
		setup, err := s.StartSetup(ctx, SetupRequest{
			Customer: "cus_1", Lang: "de", Reference: "link-7",
			SuccessURL: "https://bot.example/pay/link-7/done", CancelURL: "https://bot.example/pay/link-7",
			IdempotencyKey: "setup-link-7",
		})
		if err != nil || !strings.HasPrefix(setup.ID, "cs_") || !strings.HasPrefix(setup.URL, "https://") {
			t.Fatalf("StartSetup() = %+v, %v, want a cs_ session with an https URL", setup, err)
		}
		r := only(t, rec)
		if r.Method != http.MethodPost || r.Path != "/v1/checkout/sessions" || r.Header.Get("Idempotency-Key") != "setup-link-7" {
			t.Errorf("request = %s %s with Idempotency-Key %q, want POST /v1/checkout/sessions with setup-link-7", r.Method, r.Path, r.Header.Get("Idempotency-Key"))
		}
		wantForm(t, r, map[string]string{
			"mode": "setup", "customer": "cus_1", "payment_method_types[0]": "card", "locale": "de",
			"client_reference_id": "link-7", "metadata[reference]": "link-7",
			"success_url": "https://bot.example/pay/link-7/done", "cancel_url": "https://bot.example/pay/link-7",
		})
	})

	t.Run("start setup in another language", func(t *testing.T) {
		rec.Reset()
		if _, err := s.StartSetup(ctx, SetupRequest{Customer: "cus_1", Lang: "fr", SuccessURL: "https://x/ok", CancelURL: "https://x/no", IdempotencyKey: "k"}); err != nil {
			t.Fatalf("StartSetup() error = %v", err)
		}
		wantForm(t, only(t, rec), map[string]string{"locale": "auto"})
	})

	t.Run("authenticate", func(t *testing.T) {
		rec.Reset()
		// stripe-mock's intent is requires_payment_method with no
		// payment method anywhere: nothing to confirm.
		_, err := s.Authenticate(ctx, "pi_1", "https://bot.example/pay/done")
		if err == nil || errors.Is(err, ErrNoAction) || !strings.Contains(err.Error(), "no payment method") {
			t.Fatalf("Authenticate() error = %v, want one saying there is no payment method to confirm", err)
		}
		if r := only(t, rec); r.Method != http.MethodGet || r.Path != "/v1/payment_intents/pi_1" {
			t.Errorf("request = %s %s, want GET /v1/payment_intents/pi_1", r.Method, r.Path)
		}
	})
}

func TestStripeChargeOutcomes(t *testing.T) {
	s, rec := mockStripe(t)
	const path = "/v1/payment_intents"
	intent := func(id, status string) map[string]any {
		return map[string]any{"id": id, "object": "payment_intent", "status": status}
	}
	tests := []struct {
		name       string
		status     int
		answer     any // nil: stripe-mock's own
		want       Charge
		wantErr    error
		wantInErr  string
		wantOthers bool // an error that is no decline
	}{
		{"stripe-mock's requires_payment_method", 0, nil, Charge{Status: ChargePending}, nil, "", false},
		{"succeeded", 200, intent("pi_ok", "succeeded"), Charge{ID: "pi_ok", Status: ChargeSucceeded}, nil, "", false},
		{"requires action", 200, intent("pi_3ds", "requires_action"), Charge{ID: "pi_3ds", Status: ChargeRequiresAction}, nil, "", false},
		{"processing", 200, intent("pi_slow", "processing"), Charge{ID: "pi_slow", Status: ChargePending}, nil, "", false},
		{"authentication required", 402, cardError("authentication_required", "", "pi_auth"), Charge{ID: "pi_auth", Status: ChargeRequiresAction}, nil, "", false},
		{"authentication required as a decline code", 402, cardError("card_declined", "authentication_required", "pi_auth2"), Charge{ID: "pi_auth2", Status: ChargeRequiresAction}, nil, "", false},
		{"authentication required without intent", 402, cardError("authentication_required", "", ""), Charge{Status: ChargeRequiresAction}, nil, "", false},
		{"insufficient funds", 402, cardError("card_declined", "insufficient_funds", "pi_no"), Charge{}, ErrDeclined, "insufficient_funds", false},
		{"expired card", 402, cardError("expired_card", "", "pi_old"), Charge{}, ErrDeclined, "expired_card", false},
		{"no such payment method", 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such PaymentMethod: 'pm_1'"}}, Charge{}, nil, "resource_missing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			if tt.answer != nil {
				rec.Answer(t, http.MethodPost, path, tt.status, tt.answer)
			}
			ch, err := s.Charge(context.Background(), ChargeRequest{Customer: "cus_1", Method: "pm_1", Amount: 1260, Currency: "EUR", IdempotencyKey: "invoice-42"})
			switch {
			case tt.wantErr != nil || tt.wantOthers:
				if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) || tt.wantOthers && errors.Is(err, ErrDeclined) || ch != (Charge{}) {
					t.Fatalf("Charge() = %+v, %v, want error %v (decline: %t)", ch, err, tt.wantErr, !tt.wantOthers)
				}
				if !strings.Contains(err.Error(), tt.wantInErr) {
					t.Errorf("Charge() error %q, want it to name %s", err, tt.wantInErr)
				}
				for _, secret := range []string{"4242", "Erika", "FpSecretish", "_secret_", stripetest.SecretKey} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("Charge() error %q contains %q", err, secret)
					}
				}
				var se *stripe.Error
				if !errors.As(err, &se) {
					t.Errorf("Charge() error %v does not unwrap to *stripe.Error", err)
				}
			case err != nil:
				t.Fatalf("Charge() error = %v, want %+v", err, tt.want)
			case tt.answer == nil:
				if ch.Status != tt.want.Status || !strings.HasPrefix(ch.ID, "pi_") {
					t.Errorf("Charge() = %+v, want a %s pi_ charge", ch, tt.want.Status)
				}
			case ch != tt.want:
				t.Errorf("Charge() = %+v, want %+v", ch, tt.want)
			}
		})
	}
}

func TestStripeChargeInvalid(t *testing.T) {
	s := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("invalid charge sent to Stripe: %s %s", r.Method, r.URL.Path)
		stripeJSON(w, 500, `{}`)
	})
	valid := ChargeRequest{Customer: "cus_1", Method: "pm_1", Amount: 1260, Currency: "EUR", IdempotencyKey: "k"}
	with := func(f func(*ChargeRequest)) ChargeRequest { r := valid; f(&r); return r }
	tests := []struct {
		name    string
		req     ChargeRequest
		wantErr error
	}{
		{"zero amount", with(func(r *ChargeRequest) { r.Amount = 0 }), ErrInvalidCharge},
		{"negative amount", with(func(r *ChargeRequest) { r.Amount = -1 }), ErrInvalidCharge},
		{"empty currency", with(func(r *ChargeRequest) { r.Currency = "" }), ErrInvalidCharge},
		{"unknown currency", with(func(r *ChargeRequest) { r.Currency = "EUX" }), ErrInvalidCharge},
		{"not a currency code", with(func(r *ChargeRequest) { r.Currency = "euro" }), ErrInvalidCharge},
		{"empty idempotency key", with(func(r *ChargeRequest) { r.IdempotencyKey = "" }), ErrInvalidCharge},
		{"no customer", with(func(r *ChargeRequest) { r.Customer = "" }), ErrInvalidCharge},
		{"no payment method", with(func(r *ChargeRequest) { r.Method = "" }), ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := s.Charge(context.Background(), tt.req)
			if !errors.Is(err, tt.wantErr) || ch != (Charge{}) {
				t.Errorf("Charge() = %+v, %v, want error %v", ch, err, tt.wantErr)
			}
		})
	}
	if _, err := s.Customer(context.Background(), CustomerRequest{Org: "T1", Name: "Acme"}); !errors.Is(err, ErrInvalidCharge) {
		t.Errorf("Customer() without idempotency key: %v, want ErrInvalidCharge", err)
	}
	if err := s.Detach(context.Background(), ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Detach(\"\"): %v, want ErrInvalidToken", err)
	}
	setups := []struct {
		name string
		req  SetupRequest
	}{
		{"no customer", SetupRequest{SuccessURL: "https://x/ok", CancelURL: "https://x/no", IdempotencyKey: "k"}},
		{"no success URL", SetupRequest{Customer: "cus_1", CancelURL: "https://x/no", IdempotencyKey: "k"}},
		{"no cancel URL", SetupRequest{Customer: "cus_1", SuccessURL: "https://x/ok", IdempotencyKey: "k"}},
		{"no idempotency key", SetupRequest{Customer: "cus_1", SuccessURL: "https://x/ok", CancelURL: "https://x/no"}},
	}
	for _, tt := range setups {
		t.Run("setup "+tt.name, func(t *testing.T) {
			if setup, err := s.StartSetup(context.Background(), tt.req); err == nil {
				t.Errorf("StartSetup() = %+v, want an error", setup)
			}
		})
	}
	for _, args := range [][2]string{{"", "https://x/done"}, {"pi_1", ""}} {
		if u, err := s.Authenticate(context.Background(), args[0], args[1]); err == nil {
			t.Errorf("Authenticate(%q, %q) = %q, want an error", args[0], args[1], u)
		}
	}
}

func TestStripeDetachOutcomes(t *testing.T) {
	s, rec := mockStripe(t)
	const path = "/v1/payment_methods/pm_1/detach"
	invalid := func(code, msg string) map[string]any {
		return map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": code, "message": msg}}
	}
	tests := []struct {
		name    string
		status  int
		answer  any
		wantErr bool
	}{
		{"detached", 0, nil, false},
		{"unknown to Stripe", 404, invalid("resource_missing", "No such PaymentMethod: 'pm_1'"), false},
		{"detached already", 400, invalid("", "The payment method you provided is not attached to a customer so detachment is impossible."), false},
		{"other invalid request", 400, invalid("parameter_unknown", "Received unknown parameter: x"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			if tt.answer != nil {
				rec.Answer(t, http.MethodPost, path, tt.status, tt.answer)
			}
			err := s.Detach(context.Background(), "pm_1")
			if (err != nil) != tt.wantErr {
				t.Errorf("Detach() error = %v, want error: %t", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "detach: ") {
				t.Errorf("Detach() error %q, want it to start with the operation", err)
			}
		})
	}
}

func TestStripeAuthenticate(t *testing.T) {
	s, rec := mockStripe(t)
	const (
		getPath     = "/v1/payment_intents/pi_1"
		confirmPath = "/v1/payment_intents/pi_1/confirm"
		returnURL   = "https://bot.example/pay/link-7/done"
		page        = "https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_1"
	)
	intent := func(status string, extra map[string]any) map[string]any {
		pi := map[string]any{"id": "pi_1", "object": "payment_intent", "status": status}
		for k, v := range extra {
			pi[k] = v
		}
		return pi
	}
	redirect := map[string]any{"next_action": map[string]any{"type": "redirect_to_url", "redirect_to_url": map[string]any{"url": page, "return_url": returnURL}}}
	tests := []struct {
		name        string
		retrieved   map[string]any
		confirmed   any // nil: no confirmation expected
		confirmCode int
		wantMethod  string // payment_method of the confirmation
		wantURL     string
		wantErr     error
		wantAnyErr  bool
	}{
		{"waiting for the page", intent("requires_action", redirect), nil, 0, "", page, nil, false},
		{"action other than a page", intent("requires_action", map[string]any{"next_action": map[string]any{"type": "use_stripe_sdk"}}), nil, 0, "", "", nil, true},
		{"failed off-session", intent("requires_payment_method", map[string]any{"last_payment_error": map[string]any{"type": "card_error", "code": "authentication_required", "payment_method": map[string]any{"id": "pm_last", "object": "payment_method"}}}),
			intent("requires_action", redirect), 200, "pm_last", page, nil, false},
		{"requires confirmation", intent("requires_confirmation", map[string]any{"payment_method": "pm_1"}),
			intent("requires_action", redirect), 200, "pm_1", page, nil, false},
		{"confirmed without 3-D Secure", intent("requires_confirmation", map[string]any{"payment_method": "pm_1"}),
			intent("succeeded", nil), 200, "pm_1", "", ErrNoAction, false},
		{"declined when confirmed", intent("requires_payment_method", map[string]any{"payment_method": "pm_1"}),
			cardError("card_declined", "insufficient_funds", "pi_1"), 402, "pm_1", "", ErrDeclined, false},
		{"confirmed without a page", intent("requires_payment_method", map[string]any{"payment_method": "pm_1"}),
			intent("requires_payment_method", nil), 200, "pm_1", "", nil, true},
		{"succeeded", intent("succeeded", nil), nil, 0, "", "", ErrNoAction, false},
		{"processing", intent("processing", nil), nil, 0, "", "", ErrNoAction, false},
		{"canceled", intent("canceled", nil), nil, 0, "", "", ErrNoAction, false},
		{"unknown to Stripe", nil, nil, 0, "", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			if tt.retrieved != nil {
				rec.Answer(t, http.MethodGet, getPath, 200, tt.retrieved)
			} else {
				rec.Answer(t, http.MethodGet, getPath, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such payment_intent: 'pi_1'"}})
			}
			if tt.confirmed != nil {
				rec.Answer(t, http.MethodPost, confirmPath, tt.confirmCode, tt.confirmed)
			}
			u, err := s.Authenticate(context.Background(), "pi_1", returnURL)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Authenticate() = %q, %v, want error %v", u, err, tt.wantErr)
				}
			case tt.wantAnyErr:
				if err == nil || errors.Is(err, ErrNoAction) {
					t.Errorf("Authenticate() = %q, %v, want an error other than ErrNoAction", u, err)
				}
			case err != nil || u != tt.wantURL:
				t.Errorf("Authenticate() = %q, %v, want %q", u, err, tt.wantURL)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "authenticate pi_1: ") {
				t.Errorf("Authenticate() error %q, want it to start with the operation", err)
			}

			reqs := rec.Requests()
			var confirms []stripetest.Request
			for _, r := range reqs {
				if r.Path == confirmPath {
					confirms = append(confirms, r)
				}
			}
			if tt.confirmed == nil {
				if len(confirms) != 0 {
					t.Errorf("confirmed %d times, want no confirmation", len(confirms))
				}
				return
			}
			if len(confirms) != 1 {
				t.Fatalf("confirmed %d times, want once", len(confirms))
			}
			c := confirms[0]
			wantForm(t, c, map[string]string{"payment_method": tt.wantMethod, "return_url": returnURL})
			if _, ok := c.Form["off_session"]; ok {
				t.Errorf("on-session confirmation sent off_session=%s", c.Form.Get("off_session"))
			}
		})
	}
}

func TestStripeServerErrors(t *testing.T) {
	t.Run("Stripe's 5xx", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		calls := 0
		s := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls++
			mu.Unlock()
			stripeJSON(w, 500, `{"error":{"type":"api_error","message":"An unknown error occurred"}}`)
		})
		ch, err := s.Charge(context.Background(), ChargeRequest{Customer: "cus_1", Method: "pm_1", Amount: 1260, Currency: "EUR", IdempotencyKey: "k"})
		if err == nil || errors.Is(err, ErrDeclined) || ch != (Charge{}) || !strings.Contains(err.Error(), "HTTP 500") || !strings.HasPrefix(err.Error(), "charge: ") {
			t.Errorf("Charge() = %+v, %v, want an ordinary charge error naming HTTP 500", ch, err)
		}
		// stripe-go retries no error that Stripe answered in JSON (but
		// a 429 lock timeout): the caller tries again later.
		if calls != 1 {
			t.Errorf("%d calls, want 1", calls)
		}
	})

	t.Run("network failure retried with the same key", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var keys []string
		s := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			n := len(keys)
			mu.Unlock()
			if n == 1 {
				// The connection breaks before an answer.
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("hijack: %v", err)
					return
				}
				conn.Close()
				return
			}
			stripeJSON(w, 200, `{"id":"pi_1","object":"payment_intent","status":"succeeded"}`)
		})
		ch, err := s.Charge(context.Background(), ChargeRequest{Customer: "cus_1", Method: "pm_1", Amount: 1260, Currency: "EUR", IdempotencyKey: "invoice-42"})
		if err != nil || ch != (Charge{ID: "pi_1", Status: ChargeSucceeded}) {
			t.Errorf("Charge() = %+v, %v, want pi_1 succeeded after a retry", ch, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if !reflect.DeepEqual(keys, []string{"invoice-42", "invoice-42"}) {
			t.Errorf("Idempotency-Keys sent = %q, want invoice-42 twice", keys)
		}
	})

	t.Run("network error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close() // nothing listens there any more
		s := newTestStripe(t, srv.URL)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.Detach(ctx, "pm_1")
		if err == nil || !strings.HasPrefix(err.Error(), "detach: ") {
			t.Errorf("Detach() error = %v, want a detach error", err)
		}
	})

	t.Run("canceled context", func(t *testing.T) {
		t.Parallel()
		s := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			stripeJSON(w, 200, `{"id":"cus_1","object":"customer"}`)
		})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Customer(ctx, CustomerRequest{Name: "Acme", IdempotencyKey: "k"}); !errors.Is(err, context.Canceled) {
			t.Errorf("Customer() with a canceled context: %v, want context.Canceled", err)
		}
	})
}

// signed returns a webhook request for an event of eventType about object,
// created at created, signed now.
func signed(t *testing.T, eventType string, created time.Time, object any, previous any) ([]byte, string) {
	t.Helper()
	payload := stripetest.Event{ID: "evt_1", Type: eventType, Created: created, Object: object, PreviousAttributes: previous}.JSON(t)
	return payload, stripetest.Sign(payload, stripetest.WebhookSecret, time.Now())
}

func TestStripeEvent(t *testing.T) {
	s, rec := mockStripe(t)
	created := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	base := Event{ID: "evt_1", Created: created}
	event := func(f func(*Event)) Event { e := base; f(&e); return e }

	session := func(mode string) map[string]any {
		return map[string]any{"id": "cs_1", "object": "checkout.session", "mode": mode, "status": "complete",
			"client_reference_id": "link-7", "customer": "cus_1", "setup_intent": "seti_1"}
	}
	amexIntent := map[string]any{"id": "seti_1", "object": "setup_intent", "status": "succeeded", "customer": "cus_1",
		"payment_method": map[string]any{"id": "pm_amex", "object": "payment_method", "type": "card",
			"card": map[string]any{"brand": "amex", "last4": "0005", "exp_month": 12, "exp_year": 2031, "fingerprint": "fpAmex"},
			"billing_details": map[string]any{"name": "Erika Mustermann",
				"address": map[string]any{"line1": "Heidestraße 17", "postal_code": "51147", "city": "Köln", "country": "DE"}}}}
	paymentIntent := func(extra map[string]any) map[string]any {
		pi := map[string]any{"id": "pi_1", "object": "payment_intent", "status": "succeeded", "customer": "cus_1",
			"metadata": map[string]string{"org": "T1", "invoice": "42"}}
		for k, v := range extra {
			pi[k] = v
		}
		return pi
	}
	charge := func(amount, refunded int64, pi any) map[string]any {
		return map[string]any{"id": "ch_1", "object": "charge", "amount": amount, "amount_refunded": refunded,
			"refunded": amount == refunded, "payment_intent": pi, "customer": "cus_1", "metadata": map[string]string{"invoice": "42"}}
	}
	card := func(brand string) map[string]any {
		return map[string]any{"id": "pm_1", "object": "payment_method", "type": "card", "customer": "cus_1",
			"card":            map[string]any{"brand": brand, "last4": "4444", "exp_month": 3, "exp_year": 2029, "fingerprint": "fp1"},
			"billing_details": map[string]any{"name": "Max Muster", "address": map[string]any{"line1": "Hauptstr. 1", "line2": "2. OG", "postal_code": "10115", "city": "Berlin", "state": "", "country": "DE"}}}
	}
	metadata := map[string]string{"org": "T1", "invoice": "42"}

	tests := []struct {
		name      string
		eventType string
		object    any
		previous  any
		siAnswer  any // the SetupIntent Stripe answers; nil: stripe-mock's
		want      Event
		wantCheck func(t *testing.T, e Event) // instead of want
	}{
		{"setup completed", "checkout.session.completed", session("setup"), nil, amexIntent,
			event(func(e *Event) {
				e.Kind, e.Reference, e.Customer = EventSetupCompleted, "link-7", "cus_1"
				e.Method = Method{Token: "pm_amex", Brand: BrandAmex, Last4: "0005", ExpMonth: 12, ExpYear: 2031, Fingerprint: "fpAmex",
					Name: "Erika Mustermann", Address: "Heidestraße 17, 51147 Köln, DE"}
			}), nil},
		{"setup completed, stripe-mock's setup intent", "checkout.session.completed", session("setup"), nil, nil, Event{},
			func(t *testing.T, e Event) {
				// stripe-mock's fixture: a visa 4242 with an address and no name.
				m := e.Method
				if e.Kind != EventSetupCompleted || e.Reference != "link-7" || e.Customer != "cus_1" || !strings.HasPrefix(m.Token, "pm_") ||
					m.Brand != BrandVisa || m.Last4 != "4242" || m.ExpMonth < 1 || m.ExpYear < 2000 || m.Fingerprint == "" || m.Address == "" {
					t.Errorf("Event() = %+v, want a setup of stripe-mock's visa 4242", e)
				}
			}},
		{"payment session completed", "checkout.session.completed", session("payment"), nil, nil, base, nil},
		{"payment succeeded", "payment_intent.succeeded", paymentIntent(nil), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Charge, e.Customer, e.Metadata = EventChargeSucceeded, "pi_1", "cus_1", metadata
			}), nil},
		{"payment failed", "payment_intent.payment_failed",
			paymentIntent(map[string]any{"status": "requires_payment_method", "last_payment_error": map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}}), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Charge, e.Customer, e.Metadata, e.Reason = EventChargeFailed, "pi_1", "cus_1", metadata, "card_declined/insufficient_funds"
			}), nil},
		{"payment failed without decline code", "payment_intent.payment_failed",
			paymentIntent(map[string]any{"status": "requires_payment_method", "last_payment_error": map[string]any{"type": "card_error", "code": "expired_card"}}), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Charge, e.Customer, e.Metadata, e.Reason = EventChargeFailed, "pi_1", "cus_1", metadata, "expired_card"
			}), nil},
		{"payment requires action", "payment_intent.requires_action", paymentIntent(map[string]any{"status": "requires_action"}), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Charge, e.Customer, e.Metadata = EventChargeRequiresAction, "pi_1", "cus_1", metadata
			}), nil},
		{"fully refunded", "charge.refunded", charge(1260, 1260, "pi_1"), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Charge, e.Amount, e.Customer, e.Metadata = EventChargeRefunded, "pi_1", 1260, "cus_1", map[string]string{"invoice": "42"}
			}), nil},
		{"partly refunded", "charge.refunded", charge(1260, 260, "pi_1"), nil, nil, base, nil},
		{"refunded charge without intent", "charge.refunded", charge(1260, 1260, nil), nil, nil, base, nil},
		{"dispute", "charge.dispute.created",
			map[string]any{"id": "dp_1", "object": "dispute", "amount": 1260, "charge": "ch_1", "payment_intent": "pi_1", "reason": "fraudulent", "status": "needs_response"}, nil, nil,
			event(func(e *Event) { e.Kind, e.Charge, e.Amount, e.Reason = EventChargeDisputed, "pi_1", 1260, "fraudulent" }), nil},
		{"method updated", "payment_method.updated", card("mastercard"), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Customer = EventMethodUpdated, "cus_1"
				e.Method = Method{Token: "pm_1", Brand: BrandMastercard, Last4: "4444", ExpMonth: 3, ExpYear: 2029, Fingerprint: "fp1",
					Name: "Max Muster", Address: "Hauptstr. 1, 2. OG, 10115 Berlin, DE"}
			}), nil},
		{"method automatically updated", "payment_method.automatically_updated", card("jcb"), nil, nil,
			event(func(e *Event) {
				e.Kind, e.Customer = EventMethodUpdated, "cus_1"
				e.Method = Method{Token: "pm_1", Brand: BrandUnknown, Last4: "4444", ExpMonth: 3, ExpYear: 2029, Fingerprint: "fp1",
					Name: "Max Muster", Address: "Hauptstr. 1, 2. OG, 10115 Berlin, DE"}
			}), nil},
		{"method not a card updated", "payment_method.updated", map[string]any{"id": "pm_sepa", "object": "payment_method", "type": "sepa_debit"}, nil, nil, base, nil},
		{"method detached", "payment_method.detached", map[string]any{"id": "pm_1", "object": "payment_method", "type": "card", "customer": nil,
			"card": map[string]any{"brand": "visa", "last4": "4242"}}, map[string]any{"customer": "cus_1"}, nil,
			event(func(e *Event) { e.Kind, e.Customer, e.Method = EventMethodDetached, "cus_1", Method{Token: "pm_1"} }), nil},
		{"unknown type", "invoice.paid", map[string]any{"id": "in_1", "object": "invoice"}, nil, nil, base, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			if tt.siAnswer != nil {
				rec.Answer(t, http.MethodGet, "/v1/setup_intents/seti_1", 200, tt.siAnswer)
			}
			payload, header := signed(t, tt.eventType, created, tt.object, tt.previous)
			e, err := s.Event(context.Background(), payload, header)
			if err != nil {
				t.Fatalf("Event() error = %v", err)
			}
			if tt.wantCheck != nil {
				tt.wantCheck(t, e)
			} else if !reflect.DeepEqual(e, tt.want) {
				t.Errorf("Event() =\n%+v, want\n%+v", e, tt.want)
			}
			reqs := rec.Requests()
			if tt.eventType == "checkout.session.completed" && e.Kind != "" {
				if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/setup_intents/seti_1" || reqs[0].Form.Get("expand[0]") != "payment_method" {
					t.Errorf("requests = %+v, want GET /v1/setup_intents/seti_1 with expand[0]=payment_method", reqs)
				}
			} else if len(reqs) != 0 {
				t.Errorf("requests = %+v, want none", reqs)
			}
		})
	}
}

func TestStripeEventSetupIntentFails(t *testing.T) {
	s, rec := mockStripe(t)
	rec.Answer(t, http.MethodGet, "/v1/setup_intents/seti_1", 503, map[string]any{"error": map[string]any{"type": "api_error"}})
	payload, header := signed(t, "checkout.session.completed", time.Now(),
		map[string]any{"id": "cs_1", "object": "checkout.session", "mode": "setup", "setup_intent": "seti_1"}, nil)
	// Not ErrBadEvent: the event is genuine, and Stripe should deliver it
	// again, which a 5xx answer upstream makes it do.
	if e, err := s.Event(context.Background(), payload, header); err == nil || errors.Is(err, ErrBadEvent) {
		t.Errorf("Event() = %+v, %v, want an error other than ErrBadEvent", e, err)
	}
}

func TestStripeEventBad(t *testing.T) {
	s := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("bad event made a request: %s %s", r.Method, r.URL.Path)
		stripeJSON(w, 500, `{}`)
	})
	object := map[string]any{"id": "pi_1", "object": "payment_intent", "status": "succeeded"}
	payload := stripetest.Event{Type: "payment_intent.succeeded", Object: object}.JSON(t)
	now := time.Now()
	tests := []struct {
		name    string
		payload []byte
		header  string
	}{
		{"wrong secret", payload, stripetest.Sign(payload, "whsec_other", now)},
		{"tampered payload", bytes.Replace(payload, []byte(`"pi_1"`), []byte(`"pi_2"`), 1), stripetest.Sign(payload, stripetest.WebhookSecret, now)},
		{"older than 5 minutes", payload, stripetest.Sign(payload, stripetest.WebhookSecret, now.Add(-5*time.Minute-10*time.Second))},
		{"missing header", payload, ""},
		{"garbage header", payload, "garbage"},
		{"no v1 signature", payload, fmt.Sprintf("t=%d", now.Unix())},
		{"another API version", stripetest.Event{Type: "payment_intent.succeeded", APIVersion: "2020-08-27", Object: object}.JSON(t), ""},
		{"signed, not JSON", []byte("not json"), ""},
		{"signed, not an event", []byte(`{"object":"payment_intent","id":"pi_1"}`), ""},
		{"signed, bad data object", []byte(`{"id":"evt_1","object":"event","api_version":"` + stripe.APIVersion + `","type":"payment_intent.succeeded","data":{"object":{"id":42}}}`), ""},
		{"signed, no data", []byte(`{"id":"evt_1","object":"event","api_version":"` + stripe.APIVersion + `","type":"payment_intent.succeeded"}`), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			if header == "" && strings.HasPrefix(tt.name, "signed") || tt.name == "another API version" {
				header = stripetest.Sign(tt.payload, stripetest.WebhookSecret, now)
			}
			e, err := s.Event(context.Background(), tt.payload, header)
			if !errors.Is(err, ErrBadEvent) {
				t.Errorf("Event() = %+v, %v, want ErrBadEvent", e, err)
			}
			if err != nil && strings.Contains(err.Error(), stripetest.WebhookSecret) {
				t.Errorf("Event() error %q contains the webhook secret", err)
			}
		})
	}
}

// captureOutput returns what f writes to os.Stdout and os.Stderr (where
// stripe-go's default logger writes), and to slog's default logger.
func captureOutput(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&buf, r); close(done) }()
	stdout, stderr, logger := os.Stdout, os.Stderr, slog.Default()
	os.Stdout, os.Stderr = w, w
	slog.SetDefault(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() {
		os.Stdout, os.Stderr = stdout, stderr
		slog.SetDefault(logger)
	}()
	f()
	w.Close()
	<-done
	return buf.String()
}

func TestStripeHidesSecrets(t *testing.T) {
	tests := []struct{ name, key, secret string }{
		{"live key", "sk_live_0123456789abcdefSECRET", "whsec_0123456789abcdefSECRET"},
		// Not of the usual forms: only the configured values tell them.
		{"odd key", "rk_0123456789abcdefSECRET", "whsec_-0123456789abcdefSECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testHidesSecrets(t, tt.key, tt.secret) })
	}
}

// testHidesSecrets checks that Stripe's errors, output and logs have
// neither key nor secret, whatever the API answers.
func testHidesSecrets(t *testing.T, key, secret string) {
	// A Stripe that answers every request with an error quoting the key it
	// was sent, in JSON or (as a broken proxy might) in plain text, and
	// with a card error carrying card data.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sent := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/customers"), strings.HasPrefix(r.URL.Path, "/v1/checkout"):
			stripeJSON(w, 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: `+sent+`"}}`)
		case strings.HasPrefix(r.URL.Path, "/v1/payment_intents"):
			b, _ := json.Marshal(cardError("card_declined", "generic_decline", "pi_1"))
			stripeJSON(w, 402, string(b))
		default: // (stripe-go retries this one twice)
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(502)
			io.WriteString(w, "bad gateway; request had Authorization: Bearer "+sent)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := StripeConfig{SecretKey: key, WebhookSecret: secret, APIURL: srv.URL}
	s, err := NewStripe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var errs []error
	out := captureOutput(t, func() {
		_, err := s.Customer(ctx, CustomerRequest{Name: "Acme", IdempotencyKey: "k"})
		errs = append(errs, err)
		_, err = s.Charge(ctx, ChargeRequest{Customer: "cus_1", Method: "pm_1", Amount: 1, Currency: "EUR", IdempotencyKey: "k"})
		errs = append(errs, err)
		errs = append(errs, s.Detach(ctx, "pm_1"))
		_, err = s.StartSetup(ctx, SetupRequest{Customer: "cus_1", SuccessURL: "https://x/ok", CancelURL: "https://x/no", IdempotencyKey: "k"})
		errs = append(errs, err)
		_, err = s.Authenticate(ctx, "pi_1", "https://x/done")
		errs = append(errs, err)
		payload, header := stripetest.SignedEvent(t, "whsec_other", "payment_intent.succeeded", map[string]any{"id": "pi_1", "secret": secret})
		_, err = s.Event(ctx, payload, header)
		errs = append(errs, err)
		_, err = NewStripe(StripeConfig{SecretKey: "pk_" + key, WebhookSecret: secret})
		errs = append(errs, err)
		_, err = NewStripe(StripeConfig{SecretKey: key, WebhookSecret: "x" + secret})
		errs = append(errs, err)
		fmt.Fprintf(io.Discard, "%v %+v %#v %s", s, s, cfg, cfg) // no panic, at least
	})
	if out != "" {
		t.Errorf("Stripe printed %q, want nothing", out)
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d: no error, want one", i)
			continue
		}
		for _, leak := range []string{key, secret, "0123456789abcdefSECRET", "4242", "Erika", "_secret_abc"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("call %d: error %q contains %q", i, err, leak)
			}
		}
	}
	for _, shown := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(&cfg)} {
		if strings.Contains(shown, "SECRET") {
			t.Errorf("printed Stripe or config %q contains a secret", shown)
		}
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("provider", "stripe", s, "config", cfg)
	if strings.Contains(logged.String(), "SECRET") {
		t.Errorf("logged Stripe or config %s contains a secret", logged.String())
	}
}

func TestCardBrand(t *testing.T) {
	tests := []struct {
		brand stripe.PaymentMethodCardBrand
		want  string
	}{
		{"visa", BrandVisa},
		{"mastercard", BrandMastercard},
		{"amex", BrandAmex},
		{"discover", BrandDiscover},
		{"diners", BrandUnknown},
		{"jcb", BrandUnknown},
		{"unionpay", BrandUnknown},
		{"unknown", BrandUnknown},
		{"", BrandUnknown},
	}
	for _, tt := range tests {
		t.Run(string(tt.brand), func(t *testing.T) {
			if got := cardBrand(tt.brand); got != tt.want {
				t.Errorf("cardBrand(%q) = %q, want %q", tt.brand, got, tt.want)
			}
		})
	}
}

func TestCardMethodHolder(t *testing.T) {
	tests := []struct {
		name        string
		details     *stripe.PaymentMethodBillingDetails
		wantName    string
		wantAddress string
	}{
		{"none", nil, "", ""},
		{"name only", &stripe.PaymentMethodBillingDetails{Name: " Erika Mustermann "}, "Erika Mustermann", ""},
		{"US address", &stripe.PaymentMethodBillingDetails{Address: &stripe.Address{Line1: "1234 Fake Street", City: "San Francisco", PostalCode: "94102", State: "CA", Country: "US"}},
			"", "1234 Fake Street, 94102 San Francisco, CA, US"},
		{"country only", &stripe.PaymentMethodBillingDetails{Address: &stripe.Address{Country: "DE"}}, "", "DE"},
		{"card number as name", &stripe.PaymentMethodBillingDetails{Name: "4242 4242 4242 4242", Address: &stripe.Address{Line1: "4242-4242-4242-4242", Country: "DE"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := cardMethod(&stripe.PaymentMethod{ID: "pm_1", Card: &stripe.PaymentMethodCard{Brand: "visa"}, BillingDetails: tt.details})
			if m.Name != tt.wantName || m.Address != tt.wantAddress {
				t.Errorf("cardMethod() name, address = %q, %q, want %q, %q", m.Name, m.Address, tt.wantName, tt.wantAddress)
			}
		})
	}
}
