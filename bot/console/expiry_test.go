package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store"
)

// TestPaymentExpiryPastAsksMonthAndYear: an expiry in the past (01/2026 in
// November 2026) is marked on the month and the year, and both are asked
// again, so that the year can be corrected.
func TestPaymentExpiryPastAsksMonthAndYear(t *testing.T) {
	tb := newTestBot(t)
	tb.clock.mu.Lock()
	tb.clock.now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tb.clock.mu.Unlock()
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	v, err := tb.store.View(context.Background(), "demo", "alice", store.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	method := v.Billing.Accounts[0].Profiles[0].Methods[0].ID
	script := strings.Join([]string{
		"payment edit " + method,
		"",     // name
		"1",    // month
		"2026", // year: in the past with this month
		"",     // address
		"1",    // month again
		"2027", // year again
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out, "Expiry month\n  ! The expiry date is in the past.\n", "Expiry year\n  ! The expiry date is in the past.\n",
		"Visa •••• 4242 (01/2027) is saved.")
	if n := strings.Count(out, "Expiry year"); n < 2 {
		t.Errorf("the year was asked %d times, want it asked again\noutput:\n%s", n, out)
	}
}
