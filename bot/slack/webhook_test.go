package slack

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"testing"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// TestWebhookJSON: the adapter's encoding of a message is byte for byte
// slack-go's encoding of the same WebhookMessage, for every message the
// core renders (both languages, notifications, one beyond every limit) and
// public ones.
func TestWebhookJSON(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		e := newEnv(t)
		rendered := e.renderAll(t, lang)
		rendered["public"] = messagePosts([]commands.Message{{Public: true, Title: "Hello <team>", Text: "a & b",
			Fields:  []commands.Field{{Label: "L", Value: "V"}},
			Buttons: []commands.Button{{Label: "Open", URL: "https://example.com/?a=1&b=<2>"}, {Label: "Go", Command: "help", Style: commands.StyleDanger}}},
			{Text: "private after public"}}, maxMessageBlocks)
		names := make([]string, 0, len(rendered))
		for name, v := range rendered {
			if _, ok := v.([]post); ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		if len(names) < 10 {
			t.Fatalf("only %d message renderings to compare", len(names))
		}
		for _, name := range names {
			for i, p := range rendered[name].([]post) {
				want, err := json.Marshal(p.webhook())
				if err != nil {
					t.Fatal(err)
				}
				got, err := p.webhookJSON()
				if err != nil {
					t.Fatalf("%s %s post %d: %v", lang, name, i, err)
				}
				if string(got) != string(want) {
					t.Errorf("%s %s post %d:\n got %s\nwant %s", lang, name, i, got, want)
				}
			}
		}
	}
}

// TestUpdateViewJSON: the adapter's encoding of a submission's answer that
// updates the modal is byte for byte slack-go's encoding of the same
// ViewSubmissionResponse, for every modal the core renders.
func TestUpdateViewJSON(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		e := newEnv(t)
		n := 0
		for name, v := range e.renderAll(t, lang) {
			var view slackapi.ModalViewRequest
			switch v := v.(type) {
			case slackapi.ModalViewRequest:
				view = v
			case *slackapi.ModalViewRequest:
				view = *v
			default:
				continue
			}
			n++
			want, err := json.Marshal(&slackapi.ViewSubmissionResponse{ResponseAction: slackapi.RAUpdate, View: &view})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := updateView(view).body.(json.RawMessage)
			if !ok || string(got) != string(want) {
				t.Errorf("%s %s:\n got %s\nwant %s", lang, name, got, want)
			}
		}
		if n < 10 {
			t.Fatalf("only %d modals to compare", n)
		}
	}
}

// TestPostWebhook: posting to a response_url sends what slack-go sends and
// fails as it fails.
func TestPostWebhook(t *testing.T) {
	type seen struct {
		method, contentType string
		body                map[string]any
	}
	status, retryAfter := http.StatusOK, ""
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got = append(got, seen{r.Method, r.Header.Get("Content-Type"), body})
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	p := messagePosts([]commands.Message{{Title: "T", Text: "x", Buttons: []commands.Button{{Label: "B", Command: "help"}}}}, maxMessageBlocks)[0]
	doc, err := p.webhookJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, retryAfter string
		status           int
	}{{"ok", "", 200}, {"rate limited", "3", 429}, {"429 without Retry-After", "", 429}, {"server error", "", 500}, {"bad Retry-After", "x", 429}} {
		t.Run(tt.name, func(t *testing.T) {
			status, retryAfter, got = tt.status, tt.retryAfter, nil
			errOurs := postWebhook(t.Context(), srv.Client(), srv.URL, doc)
			errTheirs := slackapi.PostWebhookCustomHTTPContext(t.Context(), srv.URL, srv.Client(), p.webhook())
			if len(got) != 2 || !reflect.DeepEqual(got[0], got[1]) {
				t.Errorf("requests differ: %+v", got)
			}
			var rlOurs, rlTheirs *slackapi.RateLimitedError
			var scOurs, scTheirs slackapi.StatusCodeError
			switch {
			case (errOurs == nil) != (errTheirs == nil):
				t.Errorf("error = %v, slack-go's %v", errOurs, errTheirs)
			case errors.As(errTheirs, &rlTheirs):
				if !errors.As(errOurs, &rlOurs) || rlOurs.RetryAfter != rlTheirs.RetryAfter {
					t.Errorf("error = %v, slack-go's %v", errOurs, errTheirs)
				}
			case errors.As(errTheirs, &scTheirs):
				if !errors.As(errOurs, &scOurs) || scOurs != scTheirs {
					t.Errorf("error = %v, slack-go's %v", errOurs, errTheirs)
				}
			case errTheirs != nil && errOurs.Error() != errTheirs.Error():
				t.Errorf("error = %v, slack-go's %v", errOurs, errTheirs)
			}
		})
	}
}
