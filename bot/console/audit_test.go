package console

import (
	"context"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// TestAuditConsole: admin audit in the console, a page of ten with its
// buttons numbered, Older by number, a person's changes, German.
func TestAuditConsole(t *testing.T) {
	tb := newTestBot(t)
	ctx := context.Background()
	for i := range 13 {
		if err := tb.store.SetPrefs(ctx, "demo", "bob", store.Prefs{Lang: []string{"de", "en"}[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
	out := tb.run(t, "admin channel #billing\nadmin audit\n1\nadmin audit alice\n", Options{Admin: true})
	mustContain(t, out,
		"Audit trail",
		"When", "Who", "What", "Before → after",
		"Alice Adams  Admin channel", "— → #billing",
		"Bob Brown", "Own language",
		"[1] Older", "[2] Download CSV → http://localhost:8080/audit/",
		"» /billing admin audit before ",
		"[1] Newer",
		"Changes by or about Alice Adams",
	)
	if n := strings.Count(out, "Bob Brown"); n != 13 {
		t.Errorf("Bob's 13 changes shown %d times over the two pages:\n%s", n, out)
	}
	de := tb.run(t, "admin protokoll\n", Options{Admin: true, Locale: "de"})
	mustContain(t, de, "Änderungsprotokoll", "Wann", "Eigene Sprache", "CSV herunterladen")
	mustContain(t, tb.run(t, "admin audit\n", Options{Admin: false}), "Only administrators")
}
