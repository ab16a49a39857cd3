package stripetest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands/payment/stripetest"
	"github.com/stripe/stripe-go/v83"
	"github.com/stripe/stripe-go/v83/webhook"
)

// post sends a form to apiURL+path with the test key and returns the
// status and body.
func post(t *testing.T, apiURL, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, apiURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+stripetest.SecretKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", "key-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestStart(t *testing.T) {
	var apiURL string
	t.Run("running", func(t *testing.T) {
		apiURL = stripetest.Start(t)
		if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(apiURL) {
			t.Fatalf("Start() = %q, want http://127.0.0.1:PORT", apiURL)
		}
		tests := []struct {
			name       string
			form       url.Values
			wantStatus int
		}{
			{"valid customer", url.Values{"name": {"Acme"}, "metadata[org]": {"o1"}}, http.StatusOK},
			{"unknown parameter", url.Values{"colour": {"blue"}}, http.StatusBadRequest},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body := post(t, apiURL, "/v1/customers", tt.form)
				if status != tt.wantStatus {
					t.Errorf("POST /v1/customers %v = %d %s, want %d", tt.form, status, body, tt.wantStatus)
				}
			})
		}
	})
	if t.Failed() || t.Skipped() || apiURL == "" {
		return
	}
	// The subtest's cleanup stopped stripe-mock.
	if _, err := http.Get(apiURL + "/v1/balance"); err == nil {
		t.Errorf("stripe-mock at %s still answers after the test that started it", apiURL)
	}
}

func TestStartTwice(t *testing.T) {
	a, b := stripetest.Start(t), stripetest.Start(t)
	if a == b {
		t.Errorf("two Start() calls = %q, want two addresses", a)
	}
}

func TestSignedEvent(t *testing.T) {
	object := map[string]any{"id": "pi_123", "object": "payment_intent", "status": "succeeded", "metadata": map[string]string{"org": "o1"}}
	before := time.Now().Add(-time.Second)
	payload, header := stripetest.SignedEvent(t, stripetest.WebhookSecret, "payment_intent.succeeded", object)

	m := regexp.MustCompile(`^t=(\d+),v1=([0-9a-f]{64})$`).FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("header = %q, want t=<unix>,v1=<64 hex digits>", header)
	}
	mac := hmac.New(sha256.New, []byte(stripetest.WebhookSecret))
	fmt.Fprintf(mac, "%s.%s", m[1], payload)
	if want := hex.EncodeToString(mac.Sum(nil)); m[2] != want {
		t.Errorf("v1 = %s, want HMAC-SHA256(secret, t.payload) = %s", m[2], want)
	}

	e, err := webhook.ConstructEventWithOptions(payload, header, stripetest.WebhookSecret, webhook.ConstructEventOptions{Tolerance: 5 * time.Minute})
	if err != nil {
		t.Fatalf("stripe-go rejects the event: %v", err)
	}
	if !strings.HasPrefix(e.ID, "evt_") || e.Object != "event" || e.Type != "payment_intent.succeeded" || e.APIVersion != stripe.APIVersion {
		t.Errorf("event = id %q, object %q, type %q, api_version %q; want evt_…, event, payment_intent.succeeded, %s", e.ID, e.Object, e.Type, e.APIVersion, stripe.APIVersion)
	}
	if created := time.Unix(e.Created, 0); created.Before(before.Truncate(time.Second)) || created.After(time.Now()) {
		t.Errorf("created = %v, want now", created)
	}
	var pi stripe.PaymentIntent
	if err := json.Unmarshal(e.Data.Raw, &pi); err != nil || pi.ID != "pi_123" || pi.Status != "succeeded" || pi.Metadata["org"] != "o1" {
		t.Errorf("data.object = %+v (%v), want the payment intent given", pi, err)
	}
	if _, err := webhook.ConstructEvent(payload, header, "whsec_other"); !errors.Is(err, webhook.ErrNoValidSignature) {
		t.Errorf("verified with another secret: %v, want ErrNoValidSignature", err)
	}
}

func TestEventJSON(t *testing.T) {
	created := time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC)
	payload := stripetest.Event{
		ID:                 "evt_1",
		Type:               "payment_method.detached",
		Created:            created,
		APIVersion:         "2020-08-27",
		Object:             json.RawMessage(`{"id":"pm_1","object":"payment_method","customer":null}`),
		PreviousAttributes: map[string]any{"customer": "cus_1"},
	}.JSON(t)
	var e stripe.Event
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	if e.ID != "evt_1" || e.Created != created.Unix() || e.APIVersion != "2020-08-27" || e.Data.Object["id"] != "pm_1" || e.Data.PreviousAttributes["customer"] != "cus_1" {
		t.Errorf("event = %s, want the fields given", payload)
	}
}

func TestSignOld(t *testing.T) {
	payload := stripetest.Event{Type: "charge.refunded", Object: map[string]any{"id": "ch_1"}}.JSON(t)
	header := stripetest.Sign(payload, stripetest.WebhookSecret, time.Now().Add(-6*time.Minute))
	if _, err := webhook.ConstructEventWithOptions(payload, header, stripetest.WebhookSecret, webhook.ConstructEventOptions{Tolerance: 5 * time.Minute}); !errors.Is(err, webhook.ErrTooOld) {
		t.Errorf("event signed 6 minutes ago: %v, want ErrTooOld", err)
	}
}

func TestRecord(t *testing.T) {
	// An API that accepts everything but /v1/bad.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/bad" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"type":"invalid_request_error"}}`)
			return
		}
		io.WriteString(w, `{"id":"real"}`)
	}))
	t.Cleanup(api.Close)
	rec := stripetest.Record(t, api.URL)

	tests := []struct {
		name       string
		path       string
		wantStatus int
		wantBody   string
	}{
		{"passed on", "/v1/plain", http.StatusOK, `{"id":"real"}`},
		{"scripted", "/v1/scripted", http.StatusPaymentRequired, `{"error":{"type":"card_error"}}`},
		{"rejected by the API despite a script", "/v1/bad", http.StatusBadRequest, `{"error":{"type":"invalid_request_error"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			rec.Answer(t, http.MethodPost, "/v1/scripted", http.StatusPaymentRequired, map[string]any{"error": map[string]any{"type": "card_error"}})
			rec.Answer(t, http.MethodPost, "/v1/bad", http.StatusOK, []byte(`{"id":"never"}`))
			status, body := post(t, rec.URL, tt.path+"?expand[]=x", url.Values{"amount": {"1260"}, "metadata[org]": {"o1"}})
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("POST %s = %d %s, want %d %s", tt.path, status, body, tt.wantStatus, tt.wantBody)
			}
			reqs := rec.Requests()
			if len(reqs) != 1 {
				t.Fatalf("recorded %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.Path != tt.path || r.Header.Get("Idempotency-Key") != "key-1" ||
				r.Form.Get("amount") != "1260" || r.Form.Get("metadata[org]") != "o1" || r.Form.Get("expand[]") != "x" {
				t.Errorf("recorded %+v, want POST %s with its header, query and form", r, tt.path)
			}
		})
	}
}

func TestStartSkipsWithoutBinary(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty) // no stripe-mock, and no go: GOPATH and GOBIN are read from the environment
	t.Setenv("GOPATH", empty)
	t.Setenv("GOBIN", "")
	t.Setenv("CI", "false")
	var inner *testing.T
	t.Run("start", func(t *testing.T) {
		inner = t
		stripetest.Start(t)
		t.Error("Start() returned without a stripe-mock binary")
	})
	if !inner.Skipped() {
		t.Errorf("Start() without a binary and CI=false did not skip the test")
	}
}
