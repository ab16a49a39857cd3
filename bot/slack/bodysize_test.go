package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	slackapi "github.com/slack-go/slack"
)

// worst is the character that takes the most bytes in a request body:
// outside the Basic Multilingual Plane, JSON-escaped as a surrogate pair
// (12 bytes, as Slack's encoder may write it) and then URL-encoded (16).
const worst = "😀"

// largestSubmission is the largest view_submission body Slack can send for
// a modal the adapter renders of the core's forms: every form of
// renderAll, in English and German, at the renderer's Block Kit limits —
// every select with 100 options (10 checkboxes) of 75 characters and
// 150-byte values, as a catalog at its limits would give, all of them
// chosen where the element allows, every text input filled to its
// max_length (3000 without one), 20 people — with the worst character
// everywhere a user or an operator writes, in the envelope Slack sends
// around it, URL-encoded. It returns the body and the form's name.
func largestSubmission(t *testing.T) (string, string) {
	t.Helper()
	var body, name string
	for _, lang := range []string{"en", "de"} {
		e := newEnv(t)
		rendered := e.renderAll(t, lang)
		names := make([]string, 0, len(rendered))
		for n := range rendered {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			view, ok := rendered[n].(slackapi.ModalViewRequest)
			if !ok || !strings.HasPrefix(n, "form ") {
				continue
			}
			if b := submissionAtLimits(t, view); len(b) > len(body) {
				body, name = b, lang+" "+n
			}
		}
	}
	return body, name
}

// submissionAtLimits is the view_submission body of a rendered modal,
// inflated to the limits as largestSubmission describes.
func submissionAtLimits(t *testing.T, v slackapi.ModalViewRequest) string {
	t.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var view map[string]any
	if err := json.Unmarshal(doc, &view); err != nil {
		t.Fatal(err)
	}
	fill := func(n int) string { return strings.Repeat(worst, n) }
	opts := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"text": map[string]any{"type": "plain_text", "text": fill(maxOptionText), "emoji": true},
				"value": fmt.Sprintf("%03d", i) + strings.Repeat("v", maxOptionValue-3)}
		}
		return out
	}
	most := func(el map[string]any, n int) int {
		if m, ok := el["max_selected_items"].(float64); ok && int(m) < n {
			return int(m)
		}
		return n
	}
	values := map[string]any{}
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		block := b.(map[string]any)
		if block["type"] != "input" {
			continue
		}
		el := block["element"].(map[string]any)
		id, _ := el["action_id"].(string)
		state := map[string]any{"type": el["type"]}
		switch el["type"] {
		case "plain_text_input":
			n := maxInputLength
			if m, ok := el["max_length"].(float64); ok && m > 0 {
				n = int(m)
			}
			state["value"] = fill(n)
		case "number_input":
			state["value"] = strings.Repeat("9", 10)
		case "static_select":
			el["options"] = opts(maxOptions)
			state["selected_option"] = el["options"].([]any)[0]
		case "multi_static_select":
			el["options"] = opts(maxOptions)
			state["selected_options"] = el["options"].([]any)[:most(el, maxOptions)]
		case "checkboxes":
			el["options"] = opts(maxCheckboxes)
			state["selected_options"] = el["options"]
		case "multi_users_select":
			users := make([]string, most(el, maxUsers))
			for i := range users {
				users[i] = fmt.Sprintf("U%010d", i)
			}
			state["selected_users"] = users
		case "datepicker":
			state["selected_date"] = "2026-12-31"
		default:
			t.Fatalf("block %s: element %v is not measured; add it to submissionAtLimits", id, el["type"])
		}
		values[id] = map[string]any{id: state}
	}
	const app, team, user = "A0123456789", "T0123456789", "U0123456789"
	view["id"], view["team_id"], view["app_id"], view["bot_id"] = "V0123456789", team, app, "B0123456789"
	view["state"] = map[string]any{"values": values}
	view["hash"], view["root_view_id"], view["previous_view_id"] = "1764930000.AbCdEfGh", "V0123456789", nil
	view["external_id"], view["app_installed_team_id"] = "", team
	view["clear_on_close"], view["notify_on_close"] = false, false
	payload := map[string]any{
		"type": "view_submission", "api_app_id": app, "token": strings.Repeat("x", 24),
		"team":       map[string]any{"id": team, "domain": strings.Repeat("d", 21), "enterprise_id": "E0123456789"},
		"user":       map[string]any{"id": user, "username": fill(80), "name": fill(80), "team_id": team},
		"enterprise": map[string]any{"id": "E0123456789", "name": fill(80)},
		"trigger_id": "1234567890123.1234567890123.0123456789abcdef0123456789abcdef",
		"view":       view, "response_urls": []any{}, "is_enterprise_install": false,
	}
	doc, err = json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {escapeAll(doc)}}.Encode()
}

// escapeAll writes JSON as an encoder that escapes everything it may
// does: every character beyond ASCII as \uXXXX (a surrogate pair beyond
// the BMP), and "/" as "\/".
func escapeAll(doc []byte) string {
	var b strings.Builder
	for _, r := range string(doc) {
		switch {
		case r == '/':
			b.WriteString(`\/`)
		case r < 0x80:
			b.WriteRune(r)
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, `\u%04x`, u)
			}
		}
	}
	return b.String()
}

// TestBodyLimit: maxBody takes the largest view submission with a margin,
// and not twice of it; a signed body of that size is
// verified and handled, and one over maxBody is refused with 413 — without
// being read, when its length is announced, and read no further than the
// limit when it is not.
func TestBodyLimit(t *testing.T) {
	largest, form := largestSubmission(t)
	t.Logf("largest view submission: %s, %d bytes (%.0f KiB); maxBody %d (%.1f×)", form, len(largest),
		float64(len(largest))/1024, maxBody, float64(maxBody)/float64(len(largest)))
	if len(largest)*3/2 > maxBody {
		t.Errorf("maxBody %d leaves less than half again of the largest submission (%d bytes, %s)", maxBody, len(largest), form)
	}
	if maxBody > 2*len(largest) {
		t.Errorf("maxBody %d is more than twice the largest submission (%d bytes, %s): what no one sends is buffered unverified",
			maxBody, len(largest), form)
	}

	e := newEnv(t)
	if w := e.post(formType, largest); w.Code != http.StatusOK {
		t.Errorf("the largest submission: status %d (%s), want 200", w.Code, w.Body)
	}
	over := strings.Repeat("x", maxBody+1)
	for _, announced := range []bool{true, false} {
		t.Run(fmt.Sprintf("announced %v", announced), func(t *testing.T) {
			body := &countingBody{r: strings.NewReader(over)}
			r := httptest.NewRequest(http.MethodPost, "/slack/events", body)
			r.ContentLength = -1
			if announced {
				r.ContentLength = int64(len(over))
			}
			r.Header.Set("Content-Type", formType)
			ts := e.now.Unix()
			r.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
			r.Header.Set("X-Slack-Signature", sign(testSecret, ts, over))
			w := httptest.NewRecorder()
			e.a.ServeHTTP(w, r)
			if w.Code != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", w.Code)
			}
			most := maxBody + 1 + bytes.MinRead
			if announced {
				most = 0
			}
			if body.read > most {
				t.Errorf("%d bytes read, want at most %d", body.read, most)
			}
		})
	}
}

// countingBody counts what is read of a request body.
type countingBody struct {
	r    io.Reader
	read int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}
