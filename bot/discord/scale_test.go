package discord

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store/storetest"
)

// TestAdminPagesBigOrg: in a guild of 500 subscriptions with 2,500
// holders, "/billing admin" answers with the overview's first page within
// Discord's limits, and its Next button with the second, in German too.
func TestAdminPagesBigOrg(t *testing.T) {
	e := newEnv(t)
	big := storetest.BigOrgOf(t, e.st, testOrg, 500, 20, 2500, time.Now().Add(-time.Hour))
	check := func(name string, data map[string]any, want ...string) {
		t.Helper()
		var m outMessage
		doc, _ := json.Marshal(data)
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		checkMessage(t, name, &m)
		for _, w := range want {
			if !strings.Contains(string(doc), w) {
				t.Errorf("%s lacks %q:\n%.2000s", name, w, doc)
			}
		}
	}
	typ, first := answer(t, e.post(e.interaction(aliceEN, itCommand, command("admin"), "")))
	if typ != cbMessage {
		t.Fatalf("admin: %d %s", typ, text(first))
	}
	check("page 1", first, "Page 1 of 25 (500 in all)", "Buyer "+big.Subs[0], `"b:admin page 2"`)
	if strings.Contains(text(first), "Buyer "+big.Subs[20]) {
		t.Error("the first page shows the second's subscriptions")
	}
	typ, second := answer(t, e.post(e.click(aliceDE, first, "b:admin page 2", "")))
	if typ != cbMessage && typ != cbUpdate {
		t.Fatalf("next: %d %s", typ, text(second))
	}
	check("page 2", second, "Seite 2 von 25 (insgesamt 500)", "Buyer "+big.Subs[20], `"b:admin page 1"`, `"b:admin page 3"`)
	if strings.Contains(text(second), "Buyer "+big.Subs[0]) {
		t.Error("the second page shows the first's subscriptions")
	}
}
