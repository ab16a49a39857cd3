package commands_test

import (
	"testing"
	"time"

	"github.com/billingbot/billingbot/store"
)

// TestConfirmLater: a confirmation is clicked some time after it was
// asked, as people do: within the same day the quote holds and Pay buys;
// on another day (another period end) the quote is shown again instead.
func TestConfirmLater(t *testing.T) {
	e := newEnv(t)
	e.card(alice, 12, 2030)
	asked := e.submit(alice, "", e.buyForm(alice, "visio-plan-2", 5, store.Monthly))
	if asked.Confirm == nil {
		t.Fatalf("no confirmation:\n%s", text(asked))
	}
	e.clock.Set(t0.Add(40 * time.Second))
	r := e.confirm(alice, asked)
	if r.Confirm != nil {
		t.Fatalf("Pay 40 seconds later asked again:\n%s", text(r))
	}
	wantMessage(t, r, "Payment in progress")

	asked = e.submit(alice, "", e.buyForm(alice, "project-plan-3", 2, store.Monthly))
	e.clock.Set(t0.Add(14 * time.Hour)) // the next day: the period ends a day later
	r = e.confirm(alice, asked)
	if r.Confirm == nil {
		t.Fatalf("Pay on the next day bought:\n%s", text(r))
	}
	wantText(t, r, "The price has changed since you looked", "Dec 26, 2026")
	if n := len(e.view(alice).Subs); n != 1 {
		t.Errorf("%d subscriptions, want the first purchase only", n)
	}
}
