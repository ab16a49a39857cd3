package console

import (
	"strings"
	"testing"
)

// TestAdminPolicy: an admin lists the product policies, clicks (types the
// number of) Visio Plan 2's Disable button, is notified as an admin, and a
// member then finds Visio neither in the catalog nor to buy.
func TestAdminPolicy(t *testing.T) {
	tb := newTestBot(t)
	admin := charged
	admin.Admin = true
	out := tb.run(t, "admin policy\n", admin)
	mustContain(t, out, "Product policies", "Visio Plan 2", "enabled (the catalog's default)",
		"Disable Visio Plan 2        → /billing admin policy visio-plan-2 disabled")
	// The number of Visio's Disable button.
	n := ""
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, "/billing admin policy visio-plan-2 disabled") {
			n = strings.Trim(strings.Fields(line)[0], "[]")
		}
	}
	if n == "" {
		t.Fatalf("no Disable button for Visio Plan 2:\n%s", out)
	}
	out = tb.run(t, "admin policy\n"+n+"\n", admin)
	mustContain(t, out, "Policy of Visio Plan 2: disabled. Existing subscriptions go on as they are.",
		"[admin notification] Product policy changed", "Alice Adams set the policy of Visio Plan 2 to disabled.")

	out = tb.run(t, "catalog\nbuy visio\n", Options{User: "bob", Admin: false})
	mustContain(t, out, "1 product is not offered in your organization.", "Visio Plan 2 is not available in this organization.")
	mustNotContain(t, out, "Buy licenses\n")

	out = tb.run(t, "admin richtlinie visio nur-testversionen\n", Options{Locale: "de", Admin: true})
	mustContain(t, out, "Richtlinie für Visio Plan 2: nur Testversionen.")
}
