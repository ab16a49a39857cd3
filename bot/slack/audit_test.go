package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// slackAnswer is the message a slash command or a click answered with:
// the HTTP response's body, or what was posted to the response_url.
func slackAnswer(t *testing.T, e *env, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	body := w.Body.String()
	if !strings.Contains(body, `"blocks"`) {
		body = e.slack.waitFor("hook").Body
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return m
}

// slackButton finds a button by its label: its action id, value and URL.
func slackButton(t *testing.T, msg map[string]any, label string) (id, value, url string) {
	t.Helper()
	for _, b := range msg["blocks"].([]any) {
		els, _ := b.(map[string]any)["elements"].([]any)
		for _, el := range els {
			el := el.(map[string]any)
			if txt, _ := el["text"].(map[string]any); txt != nil && txt["text"] == label {
				id, _ = el["action_id"].(string)
				value, _ = el["value"].(string)
				url, _ = el["url"].(string)
				return id, value, url
			}
		}
	}
	t.Fatalf("no button %q in %s", label, mustJSON(t, msg))
	return "", "", ""
}

// TestAuditSlack: an admin's /billing admin audit in Slack, a page within
// Slack's limits in either language, Older to the next page, and the CSV
// link; a member is refused.
func TestAuditSlack(t *testing.T) {
	e := newEnv(t)
	e.slack.addUser("U8", "Gerda", "de-DE", map[string]any{"is_admin": true})
	ctx := context.Background()
	for i := range 13 {
		if err := e.st.SetPrefs(ctx, testOrg, "U1", store.Prefs{Lang: []string{"de", "en"}[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.SetAdminChannel(ctx, testOrg, "U4", "#billing"); err != nil {
		t.Fatal(err)
	}

	first := slackAnswer(t, e, e.command("U4", "admin audit", "trig-audit"))
	doc := mustJSON(t, first)
	for _, want := range []string{"Audit trail", "Dave", "Admin channel", "— → #billing", "Own language"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q: %s", want, doc)
		}
	}
	checkLimits(t, "audit page en", first)
	if _, _, u := slackButton(t, first, "Download CSV"); !strings.HasPrefix(u, "https://pay.example/audit/") {
		t.Errorf("CSV link %q", u)
	}
	id, value, _ := slackButton(t, first, "Older")
	click := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": "U4", "team_id": testTeam}, "trigger_id": "trig-older",
		"channel": map[string]any{"id": "C100"}, "response_url": e.slack.srv.URL + "/hook/older",
		"actions": []any{map[string]any{"type": "button", "action_id": id, "value": value, "action_ts": "1.2"}}}
	second := slackAnswer(t, e, e.interact(click))
	doc = mustJSON(t, second)
	if n := strings.Count(doc, "Own language"); n != 4 || strings.Contains(doc, "Admin channel") {
		t.Errorf("second page: %d of the language changes, want the 4 older ones: %s", n, doc)
	}
	slackButton(t, second, "Newer")
	checkLimits(t, "audit page 2", second)

	de := slackAnswer(t, e, e.command("U8", "admin protokoll", "trig-audit-de"))
	if doc := mustJSON(t, de); !strings.Contains(doc, "Änderungsprotokoll") || !strings.Contains(doc, "Eigene Sprache") {
		t.Errorf("German page: %s", doc)
	}
	checkLimits(t, "audit page de", de)

	refused := mustJSON(t, slackAnswer(t, e, e.command("U1", "admin audit", "trig-audit-member")))
	// (in German: the member chose it last)
	if !strings.Contains(refused, "Nur Administratoren") || strings.Contains(refused, "/audit/") {
		t.Errorf("a member: %s", refused)
	}
}
