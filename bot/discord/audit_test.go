package discord

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// buttonNamed finds a button of a message by its label.
func buttonNamed(t *testing.T, msg map[string]any, label string) map[string]any {
	t.Helper()
	for _, b := range buttonsOf(msg) {
		if b["label"] == label {
			return b
		}
	}
	t.Fatalf("no button %q in %s", label, text(msg))
	return nil
}

// TestAuditDiscord: an admin's /billing admin audit:all on Discord, a page
// within Discord's limits, Older to the next page and Newer back; the
// CSV link; a member is refused.
func TestAuditDiscord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	org := "discord-" + testGuild
	for i := range 13 {
		if err := e.st.SetPrefs(ctx, org, bob, store.Prefs{Lang: []string{"de", "en"}[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.st.SetOrgLang(ctx, org, alice, "de"); err != nil {
		t.Fatal(err)
	}

	_, first := answer(t, e.post(e.interaction(aliceEN, itCommand, command("admin", opt("audit", optString, "all")), "")))
	doc := text(first)
	for _, want := range []string{"Audit trail", "Alice Adams", "Organization language", "Own language", "— → German"} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q: %s", want, doc)
		}
	}
	checkMessage(t, "audit page", outOf(t, first))
	if u, _ := buttonNamed(t, first, "Download CSV")["url"].(string); !strings.HasPrefix(u, "http://localhost:8080/audit/") {
		t.Errorf("CSV link %q", u)
	}
	older, _ := buttonNamed(t, first, "Older")["custom_id"].(string)
	_, second := answer(t, e.post(e.click(aliceEN, first, older, "")))
	doc = text(second)
	if n := strings.Count(doc, "Own language"); n != 4 || strings.Contains(doc, "Organization language") {
		t.Errorf("second page: %d language changes, want the 4 oldest: %s", n, doc)
	}
	newer, _ := buttonNamed(t, second, "Newer")["custom_id"].(string)
	_, back := answer(t, e.post(e.click(aliceEN, second, newer, "")))
	if n := strings.Count(text(back), "Own language"); n != 9 || !strings.Contains(text(back), "Organization language") {
		t.Errorf("back to the first page: %s", text(back))
	}

	_, de := answer(t, e.post(e.interaction(aliceDE, itCommand, command("admin", opt("audit", optString, "alle")), "")))
	if !strings.Contains(text(de), "Änderungsprotokoll") || !strings.Contains(text(de), "Sprache der Organisation") || !strings.Contains(text(de), "— → Deutsch") {
		t.Errorf("German: %s", text(de))
	}
	checkMessage(t, "audit page de", outOf(t, de))

	_, refused := answer(t, e.post(e.interaction(bobEN, itCommand, command("admin", opt("audit", optString, "all")), "")))
	if strings.Contains(text(refused), "/audit/") || strings.Contains(text(refused), "Own language") {
		t.Errorf("a member: %s", text(refused))
	}
}

// outOf reads an answer's message back into the adapter's type, for
// checkMessage.
func outOf(t *testing.T, data map[string]any) *outMessage {
	t.Helper()
	doc, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var m outMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}
