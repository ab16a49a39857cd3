package discord

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimestampWindow: a correctly signed interaction is accepted only
// with a timestamp within 5 minutes of the adapter's clock, so that a
// captured request cannot be replayed after its idempotency record
// expired; a stale one is refused before its body is read.
func TestTimestampWindow(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	e.a.cfg.Now = func() time.Time { return now }
	var refused []string
	e.a.cfg.Refused = func(_ *http.Request, reason string, _ error) { refused = append(refused, reason) }
	ping := []byte(`{"id":"1","type":1,"token":"x"}`)
	for _, tt := range []struct {
		name string
		ts   string
		want int
	}{
		{"1", "1", http.StatusUnauthorized},
		{"a year ahead", strconv.FormatInt(now.AddDate(1, 0, 0).Unix(), 10), http.StatusUnauthorized},
		{"6 minutes old", strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), http.StatusUnauthorized},
		{"6 minutes ahead", strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), http.StatusUnauthorized},
		{"not a number", "12:00", http.StatusUnauthorized},
		{"4 minutes old", strconv.FormatInt(now.Add(-4*time.Minute).Unix(), 10), http.StatusOK},
		{"4 minutes ahead", strconv.FormatInt(now.Add(4*time.Minute).Unix(), 10), http.StatusOK},
		{"now", strconv.FormatInt(now.Unix(), 10), http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refused = nil
			body := &countingBody{r: bytes.NewReader(ping)}
			r := httptest.NewRequest(http.MethodPost, "/discord/interactions", body)
			r.Header.Set("X-Signature-Timestamp", tt.ts)
			r.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(e.priv, append([]byte(tt.ts), ping...))))
			w := httptest.NewRecorder()
			e.a.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.want)
			}
			if tt.want == http.StatusOK {
				if len(refused) != 0 {
					t.Errorf("accepted, but refusals %v reported", refused)
				}
				return
			}
			if len(refused) != 1 || refused[0] != refusedStale {
				t.Errorf("refusals %v, want [%s]", refused, refusedStale)
			}
			if body.read != 0 {
				t.Errorf("%d bytes of a stale request's body read, want none", body.read)
			}
		})
	}
}

// countingBody counts what is read of a request body.
type countingBody struct {
	r    *bytes.Reader
	read int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}
