package commands_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/store"
)

// previewed is the amount a confirmation's preview says a line costs
// ("Today: €63.00 …", "Then: …").
func previewed(t *testing.T, r commands.Response, label string) string {
	t.Helper()
	if r.Confirm == nil {
		t.Fatalf("not a confirmation:\n%s", text(r))
	}
	m := regexp.MustCompile(label + `: (€[0-9,.]+)`).FindStringSubmatch(r.Messages[0].Text)
	if m == nil {
		t.Fatalf("the preview names no %q amount:\n%s", label, r.Messages[0].Text)
	}
	return m[1]
}

// TestPreviewIsCharged: what a confirmation previews is what the same
// action charges, to the cent, for buy, convert, more and fewer licenses,
// monthly and annual, across a month boundary; and nothing is changed
// before the confirmation.
func TestPreviewIsCharged(t *testing.T) {
	for _, period := range []store.Period{store.Monthly, store.Annual} {
		t.Run(string(period), func(t *testing.T) {
			e := newEnv(t)
			e.clock.Set(time.Date(2027, 1, 31, 22, 0, 0, 0, time.UTC)) // the last day of a month
			e.buyer(alice)
			money := func(inv store.Invoice) string { return format.Money("en", inv.Total, inv.Currency) }

			// Buy: asked first, nothing written.
			before := e.snapshot()
			r := e.submit(alice, "buy-1", e.buyForm(alice, "visio-plan-2", 5, period))
			today, then := previewed(t, r, "Today"), previewed(t, r, "Then")
			// Only the confirmation waits, in the organization's cache.
			e.wantUnchanged(before, "bb:{T1}:cache:confirm:"+strings.Fields(r.Confirm.Yes)[1])
			r = e.confirm(alice, r)
			inv := e.invoice(alice, invoiceOf(t, r))
			if money(inv) != today || today != then {
				t.Errorf("buy previewed today %s, then %s; invoiced %s", today, then, money(inv))
			}
			e.charge()
			id := inv.SubID

			// More licenses, a month later (February: 28 days).
			e.clock.Add(0, 0, 20)
			r = e.submit(alice, "more-1", licensesForm(id, "8"))
			today, then = previewed(t, r, "Today"), previewed(t, r, "Then")
			inv = e.invoice(alice, invoiceOf(t, e.confirm(alice, r)))
			if money(inv) != today {
				t.Errorf("more licenses previewed %s today; invoiced %s", today, money(inv))
			}
			e.charge()
			if s := e.sub("T1", id); s.Total != 8 {
				t.Fatalf("after paying for more: %d licenses, want 8", s.Total)
			}

			// Fewer: nothing today, the renewal bills what "Then" said.
			invoices := len(e.invoices(alice))
			r = e.submit(alice, "fewer-1", licensesForm(id, "3"))
			if !strings.Contains(r.Messages[0].Text, "nothing is charged or refunded") {
				t.Errorf("fewer licenses preview says nothing of the money:\n%s", r.Messages[0].Text)
			}
			then = previewed(t, r, "Then")
			e.confirm(alice, r)
			if n := len(e.invoices(alice)); n != invoices {
				t.Errorf("%d invoices after fewer licenses, want still %d", n, invoices)
			}
			if s := e.sub("T1", id); s.Total != 8 || s.NextTotal != 3 {
				t.Errorf("after fewer: total %d, next %d; want 8 until the renewal, then 3", s.Total, s.NextTotal)
			}
			e.clock.Set(e.sub("T1", id).RenewsAt.Add(time.Minute))
			e.charge()
			invs := e.invoices(alice)
			if renewal := invs[0]; renewal.Lines[0].Kind != "renewal" || money(renewal) != then || renewal.Lines[0].Quantity != 3 {
				t.Errorf("renewal = %+v (%s); want 3 licenses for %s", renewal, money(renewal), then)
			}
			if s := e.sub("T1", id); s.Total != 3 || s.NextTotal != 0 {
				t.Errorf("after the renewal: total %d, next %d; want 3, 0", s.Total, s.NextTotal)
			}
		})
	}
}

// TestConvertPreviewIsCharged: converting a trial charges what its
// preview said, and the preview says the assignments are kept.
func TestConvertPreviewIsCharged(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.assign(alice, id, bob.m.ID)
	e.buyer(alice)
	r := e.submit(alice, "convert-1", e.buyForm(alice, "visio-plan-2", 4, store.Annual))
	wantText(t, r, "the user assigned to it keeps their license")
	today := previewed(t, r, "Today")
	inv := e.invoice(alice, invoiceOf(t, e.confirm(alice, r)))
	if got := format.Money("en", inv.Total, inv.Currency); got != today || inv.SubID != id {
		t.Errorf("conversion previewed %s; invoiced %s for %s (trial %s)", today, got, inv.SubID, id)
	}
}

// TestConfirmBack: Back reopens the form with the submitted values, and
// its confirmation can no longer be confirmed.
func TestConfirmBack(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	r := e.submit(alice, "k1", e.buyForm(alice, "project-plan-3", 7, store.Annual))
	f := wantForm(t, e.run(alice, r.Confirm.No), commands.FormBuy)
	for id, want := range map[string]string{"product": "project-plan-3", "licenses": "7", "period": "annual"} {
		if got := strings.Join(input(t, f, id).Value, ""); got != want {
			t.Errorf("form after Back: %s = %q, want %q", id, got, want)
		}
	}
	before := e.snapshot()
	wantMessage(t, e.run(alice, r.Confirm.Yes), "expired or was already answered")
	wantMessage(t, e.run(bob, r.Confirm.Yes), "expired or was already answered")
	e.wantUnchanged(before)
}
