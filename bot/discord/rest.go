package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// rest calls the few Discord REST endpoints the adapter needs, retrying
// after rate limits (429) for a bounded time.
type rest struct {
	base    string
	token   string
	appID   string
	client  *http.Client
	maxWait time.Duration // the longest single wait after a 429
	tries   int
}

func newREST(cfg Config) *rest {
	return &rest{base: cfg.APIURL, token: cfg.BotToken, appID: cfg.AppID, client: cfg.HTTPClient,
		maxWait: 10 * time.Second, tries: 4}
}

// apiError is a REST call Discord refused.
type apiError struct {
	Method, Path string
	Status       int
	Body         string
	RetryAfter   time.Duration // of a 429
}

func (e *apiError) Error() string {
	return fmt.Sprintf("discord %s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// do sends a JSON body (nil: none) and decodes the answer into out (nil:
// discarded). auth adds the bot token; interaction webhooks need none.
func (r *rest) do(ctx context.Context, method, path string, body, out any, auth bool) error {
	var doc []byte
	if body != nil {
		var err error
		if doc, err = json.Marshal(body); err != nil {
			return fmt.Errorf("discord %s %s: %w", method, path, err)
		}
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, r.base+path, bytes.NewReader(doc))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if auth && r.token != "" {
			req.Header.Set("Authorization", "Bot "+r.token)
		}
		req.Header.Set("User-Agent", "DiscordBot (https://github.com/billingbot/billingbot, 1)")
		resp, err := r.client.Do(req)
		if err != nil {
			return fmt.Errorf("discord %s %s: %w", method, path, err)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && attempt < r.tries {
			if err := sleep(ctx, min(r.retryAfter(resp, data), r.maxWait)); err != nil {
				return err
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			e := &apiError{Method: method, Path: path, Status: resp.StatusCode, Body: truncate(string(data), 300)}
			if resp.StatusCode == http.StatusTooManyRequests {
				e.RetryAfter = r.retryAfter(resp, data)
			}
			return e
		}
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("discord %s %s: decode: %w", method, path, err)
			}
		}
		return nil
	}
}

// retryAfter reads how long a 429 asks to wait.
func (r *rest) retryAfter(resp *http.Response, data []byte) time.Duration {
	var body struct {
		RetryAfter float64 `json:"retry_after"`
	}
	secs := 1.0
	if json.Unmarshal(data, &body) == nil && body.RetryAfter > 0 {
		secs = body.RetryAfter
	} else if h, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && h > 0 {
		secs = h
	}
	return max(time.Duration(secs*float64(time.Second)), 0)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// The calls.

func (r *rest) callback(ctx context.Context, id, token string, cb *callback) error {
	return r.do(ctx, http.MethodPost, "/interactions/"+id+"/"+token+"/callback", cb, nil, false)
}

func (r *rest) editOriginal(ctx context.Context, token string, m *outMessage) error {
	return r.do(ctx, http.MethodPatch, "/webhooks/"+r.appID+"/"+token+"/messages/@original", m, nil, false)
}

func (r *rest) followUp(ctx context.Context, token string, m *outMessage) error {
	return r.do(ctx, http.MethodPost, "/webhooks/"+r.appID+"/"+token, m, nil, false)
}

func (r *rest) postMessage(ctx context.Context, channel string, m *outMessage) error {
	return r.do(ctx, http.MethodPost, "/channels/"+channel+"/messages", m, nil, true)
}

func (r *rest) dmChannel(ctx context.Context, userID string) (string, error) {
	var ch struct {
		ID string `json:"id"`
	}
	err := r.do(ctx, http.MethodPost, "/users/@me/channels", map[string]string{"recipient_id": userID}, &ch, true)
	return ch.ID, err
}
