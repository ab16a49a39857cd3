package console

import (
	"regexp"
	"testing"
	"time"
)

// TestUnusedLicensesActions: after 30 days the purchaser hears of the
// licenses nobody was assigned; the reminder's buttons run in the console:
// Reduce opens the licenses form filled in with the licenses in use, and
// the reduction takes effect at the period's end; then nothing is unused.
func TestUnusedLicensesActions(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	tb.run(t, "buy copilot 5\n\n\n\n\ny\nassign copilot bob, carol\n\n\n", charged)
	tb.clock.Add(30 * 24 * time.Hour)
	out := tb.run(t, "help\n", charged)
	mustContain(t, out, "[notification to @alice] Unused licenses",
		"3 of the 5 licenses of Microsoft 365 Copilot that you pay for have not been assigned to anyone for 30 days.")
	assign := regexp.MustCompile(`- Assign licenses +→ /billing (assign \S+)`).FindStringSubmatch(out)
	reduce := regexp.MustCompile(`- Reduce to 2 licenses +→ /billing (licenses \S+ 2)`).FindStringSubmatch(out)
	if assign == nil || reduce == nil {
		t.Fatalf("no Assign and Reduce buttons:\n%s", out)
	}

	out = tb.run(t, assign[1]+"\nclose\n", charged)
	mustContain(t, out, "Assign licenses\n", "3 of 5")

	out = tb.run(t, reduce[1]+"\n\n\ny\n", charged)
	mustContain(t, out, "Total licenses (2–", "[2]", "Microsoft 365 Copilot has 2 licenses.", "Reduce to 2 licenses? (y/n)")
	mustNotContain(t, out, "nothing was changed")
	mustNotContain(t, out, "Unused licenses")

	tb.clock.Add(8 * 24 * time.Hour)
	out = tb.run(t, "help\n", charged)
	mustNotContain(t, out, "Unused licenses")
}
