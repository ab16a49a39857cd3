// Package stripetest runs stripe-mock for tests and makes webhook events
// signed as Stripe signs them, for the tests of payment.Stripe and of
// whatever uses it (the webhook endpoint, end-to-end tests).
//
// Start starts a private stripe-mock (Stripe's API description answering
// fixtures: it checks every request's parameters and answers 400 for an
// invalid one, but keeps no state) on a free loopback port and stops it in
// tb.Cleanup. When no stripe-mock binary is on PATH or in the Go bin
// directory, Start skips the test, unless the environment variable CI is
// true (CI=true or CI=1): then it builds stripe-mock with go install, and
// fails the test if that fails.
//
// Record puts a recording reverse proxy in front of an API URL, to check
// the headers (Idempotency-Key) and form values that a client sent, and to
// script answers that stripe-mock cannot give, once it accepted a request.
//
// SignedEvent, Event and Sign make webhook requests: an event's JSON and
// its Stripe-Signature header.
package stripetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v83"
	"github.com/stripe/stripe-go/v83/webhook"
)

// Test credentials: stripe-mock accepts any sk_test_ key, and a webhook
// secret is any string that Sign and the verifier share.
const (
	SecretKey     = "sk_test_stripetest0123456789"
	WebhookSecret = "whsec_stripetest0123456789"
)

// MockModule is the stripe-mock that Start builds when CI is true, at the
// version the tests were written against.
const MockModule = "github.com/stripe/stripe-mock@v0.203.0"

const (
	binaryName     = "stripe-mock"
	startTimeout   = 60 * time.Second // stripe-mock loads its API description (a few seconds) before it listens
	installTimeout = 10 * time.Minute // go install of stripe-mock when CI is true
	pollInterval   = 20 * time.Millisecond
	probeTimeout   = 2 * time.Second // per readiness probe
	logTail        = 8 << 10         // bytes of stripe-mock output shown on failure
)

// listening is stripe-mock's line naming its HTTP address.
var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// Start starts a private stripe-mock on a free loopback port and returns
// its API URL ("http://127.0.0.1:PORT"), for payment.StripeConfig.APIURL.
// The process is killed, and waited for, in tb.Cleanup; its output is in
// tb.TempDir() and shown when it fails to start. Each call starts another
// process (a few seconds): share one among subtests where you can.
//
// Without a stripe-mock binary it calls tb.Skip, except when the
// environment has CI=true, where it installs MockModule with go install
// (or calls tb.Fatal when that fails).
func Start(tb testing.TB) string {
	tb.Helper()
	bin := lookBinary(tb)

	dir := tb.TempDir() // before our Cleanup, so it is removed after the kill
	logPath := filepath.Join(dir, "stripe-mock.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		tb.Fatalf("stripetest: %v", err)
	}
	// Port 0 for both listeners: the kernel picks free ports and
	// stripe-mock prints them, so there is no race for a port. Without
	// -https-addr it would also listen for HTTPS on :12112 (all interfaces).
	args := []string{"-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0"}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr() // Linux: killed if the test binary dies
	err = cmd.Start()
	logFile.Close() // the child has its own descriptor
	if err != nil {
		tb.Fatalf("stripetest: start %s: %v", bin, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill() // stateless: nothing to flush
			<-done
		})
	}
	tb.Cleanup(stop)

	cmdline := bin + " " + strings.Join(args, " ")
	deadline := time.Now().Add(startTimeout)
	apiURL := ""
	var lastErr error
	for {
		select {
		case <-done:
			tb.Fatalf("stripetest: stripe-mock exited before answering (%v)\ncommand: %s\noutput:\n%s", waitErr, cmdline, tail(logPath))
		default:
		}
		if apiURL == "" {
			if m := listening.FindSubmatch(readFile(logPath)); m != nil {
				apiURL = "http://" + string(m[1])
			}
		}
		if apiURL != "" {
			if lastErr = probe(apiURL); lastErr == nil {
				return apiURL
			}
		}
		if time.Now().After(deadline) {
			stop()
			tb.Fatalf("stripetest: stripe-mock did not answer within %v (address %q, last error: %v)\ncommand: %s\noutput:\n%s",
				startTimeout, apiURL, lastErr, cmdline, tail(logPath))
		}
		time.Sleep(pollInterval)
	}
}

// lookBinary returns the path of stripe-mock: on PATH, else in the Go bin
// directory; when missing, it installs it (CI=true) or skips the test.
func lookBinary(tb testing.TB) string {
	tb.Helper()
	if bin, err := findBinary(); err == nil {
		return bin
	}
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	if !ci {
		tb.Skipf("stripetest: %s not found on PATH or in the Go bin directory; skipping the stripe-mock test (go install %s to run it; with CI=true it is installed and mandatory)", binaryName, MockModule)
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "install", MockModule).CombinedOutput()
	if err != nil {
		tb.Fatalf("stripetest: CI=true and %s is missing: go install %s failed: %v\n%s", binaryName, MockModule, err, out)
	}
	bin, err := findBinary()
	if err != nil {
		tb.Fatalf("stripetest: go install %s succeeded, but: %v", MockModule, err)
	}
	return bin
}

// findBinary looks for stripe-mock on PATH, then where go install puts
// it: GOBIN, or the bin directory of each GOPATH entry.
func findBinary() (string, error) {
	if bin, err := exec.LookPath(binaryName); err == nil {
		return bin, nil
	}
	var dirs []string
	if gobin := goEnv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, p := range filepath.SplitList(goEnv("GOPATH")) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	for _, d := range dirs {
		bin := filepath.Join(d, binaryName)
		if fi, err := os.Stat(bin); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return bin, nil
		}
	}
	return "", fmt.Errorf("%s not on PATH nor in %s", binaryName, strings.Join(dirs, ", "))
}

// goEnv is `go env NAME`, or the environment variable when go is missing.
func goEnv(name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return os.Getenv(name)
	}
	return strings.TrimSpace(string(out))
}

// probe asks stripe-mock for the balance, as a client would.
func probe(apiURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/v1/balance", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+SecretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v1/balance: %s", resp.Status)
	}
	return nil
}

func readFile(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}

// tail is the end of what stripe-mock printed.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if len(b) > logTail {
		b = append([]byte("...\n"), b[len(b)-logTail:]...)
	}
	return string(b)
}

// Request is an API request that a Recorder passed on.
type Request struct {
	Method string
	Path   string
	Header http.Header
	// Form is the query and the form-encoded body, as Stripe reads them:
	// nested parameters have keys such as "metadata[org]" and
	// "payment_method_types[0]".
	Form url.Values
}

// Recorder is a reverse proxy in front of an API that records each request
// it passes on, and can replace the API's answers with scripted ones (see
// Answer). It is safe for concurrent use.
type Recorder struct {
	// URL is the proxy's base URL, to use instead of the API's.
	URL string

	mu      sync.Mutex
	reqs    []Request
	answers map[string]answer // by "METHOD /path"
}

// answer is a scripted reply of a Recorder.
type answer struct {
	status int
	body   []byte
}

// answerKey is the request context key of a request's "METHOD /path".
type answerKey struct{}

// Record starts a Recorder in front of apiURL (stripe-mock's, or any
// HTTP API), closed in tb.Cleanup.
func Record(tb testing.TB, apiURL string) *Recorder {
	tb.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		tb.Fatalf("stripetest: record: %v", err)
	}
	rec := &Recorder{answers: make(map[string]answer)}
	proxy := &httputil.ReverseProxy{
		Rewrite:        func(pr *httputil.ProxyRequest) { pr.SetURL(target) },
		ModifyResponse: rec.modify,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form := r.URL.Query()
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
			values, err := url.ParseQuery(string(body))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			for k, v := range values {
				form[k] = append(form[k], v...)
			}
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: form})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		ctx := context.WithValue(r.Context(), answerKey{}, r.Method+" "+r.URL.Path)
		proxy.ServeHTTP(w, r.WithContext(ctx))
	}))
	tb.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// Answer scripts the reply to every later request of method and path
// (e.g. "POST", "/v1/payment_intents"): the request still goes to the
// API, and only when the API accepts it (2xx) is its answer replaced with
// status and body (JSON-encoded unless []byte or json.RawMessage). So a
// stripe-mock behind the Recorder still checks each request, while the
// test chooses the outcome that stripe-mock cannot give (a succeeded
// payment, a card error).
func (r *Recorder) Answer(tb testing.TB, method, path string, status int, body any) {
	tb.Helper()
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case json.RawMessage:
		b = v
	default:
		var err error
		if b, err = json.Marshal(body); err != nil {
			tb.Fatalf("stripetest: answer %s %s: %v", method, path, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[method+" "+path] = answer{status: status, body: b}
}

// modify replaces an accepted answer with the scripted one, if any.
func (r *Recorder) modify(resp *http.Response) error {
	key, _ := resp.Request.Context().Value(answerKey{}).(string)
	r.mu.Lock()
	a, ok := r.answers[key]
	r.mu.Unlock()
	if !ok || resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp.StatusCode = a.status
	resp.Status = fmt.Sprintf("%d %s", a.status, http.StatusText(a.status))
	resp.Body = io.NopCloser(bytes.NewReader(a.body))
	resp.ContentLength = int64(len(a.body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(a.body)))
	resp.Header.Set("Content-Type", "application/json")
	return nil
}

// Requests returns the requests recorded so far, oldest first.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Reset forgets the requests recorded so far and the scripted answers.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
	clear(r.answers)
}

// Event is a webhook event as Stripe sends it; its zero fields get
// defaults in JSON.
type Event struct {
	ID         string    // "" is a random evt_…
	Type       string    // e.g. "payment_intent.succeeded"
	Created    time.Time // zero is now
	APIVersion string    // "" is stripe.APIVersion, the version of stripe-go
	// Object is data.object: a map, a struct that encodes to JSON (such as
	// stripe-go's), or json.RawMessage.
	Object any
	// PreviousAttributes is data.previous_attributes (the fields an
	// update or a detach changed, with their old values), or nil.
	PreviousAttributes any
}

// JSON encodes e as Stripe does (the fields stripe-go reads).
func (e Event) JSON(tb testing.TB) []byte {
	tb.Helper()
	if e.ID == "" {
		e.ID = "evt_" + randomHex(tb, 12)
	}
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	if e.APIVersion == "" {
		e.APIVersion = stripe.APIVersion
	}
	data := map[string]any{"object": e.Object}
	if e.PreviousAttributes != nil {
		data["previous_attributes"] = e.PreviousAttributes
	}
	b, err := json.Marshal(map[string]any{
		"id":               e.ID,
		"object":           "event",
		"api_version":      e.APIVersion,
		"created":          e.Created.Unix(),
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             e.Type,
		"data":             data,
	})
	if err != nil {
		tb.Fatalf("stripetest: encode event %s: %v", e.Type, err)
	}
	return b
}

// Sign returns the Stripe-Signature header of payload signed with secret
// at time at: "t=<unix>,v1=<hex HMAC-SHA256 of "<unix>.<payload>">".
func Sign(payload []byte, secret string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
		Payload:   payload,
		Secret:    secret,
		Timestamp: at,
		Scheme:    "v1",
	}).Header
}

// SignedEvent returns a webhook request body for an event of eventType
// about object (data.object), created now with stripe-go's API version,
// and its Stripe-Signature header signed now with secret.
func SignedEvent(tb testing.TB, secret, eventType string, object any) (payload []byte, header string) {
	tb.Helper()
	payload = Event{Type: eventType, Object: object}.JSON(tb)
	return payload, Sign(payload, secret, time.Now())
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("stripetest: %v", err)
	}
	return hex.EncodeToString(b)
}
