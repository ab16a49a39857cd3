package commands_test

import (
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestWorkflow is the main story, on miniredis and on a real Redis: a
// trial, assignments, a card through the payment page, the purchase that
// converts the trial, more licenses, the admin's view, invoices, the
// cancellation and the expiry.
func TestWorkflow(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := t.Context()

		// Alice tries Visio and gives Bob and Carol a license.
		wantForm(t, e.run(alice, "trial visio"), commands.FormTrial)
		r := e.send(alice, form(commands.FormTrial, "", "product", "visio-plan-2"))
		wantMessage(t, r, "Your trial of Visio Plan 2 with 25 licenses runs until Dec 25, 2026.")
		id := subID(t, r, "assign ")
		f := wantForm(t, e.run(alice, "assign visio @bob <@U3>"), commands.FormAssign)
		r = e.send(alice, form(commands.FormAssign, f.Context, users(nil, input(t, f, "users").Value...)...))
		wantMessage(t, r, "Visio Plan 2 is now assigned to Bob, Carol.", "23 of 25 licenses free.")
		wantText(t, e.run(bob, "products"), "A license bought by Alice is assigned to you.")

		// She adds a card on the payment page.
		token := linkToken(t, e.run(alice, "payment add"))
		m, err := e.bot.CompletePayLink(ctx, token, visa(cardNumber))
		if err != nil {
			t.Fatalf("CompletePayLink: %v", err)
		}
		wantText(t, e.run(alice, "payment"), "Visa •••• 4242 (12/2030)")

		// A week later she buys 10 licenses a year; the trial converts.
		e.clock.Add(0, 0, 7)
		f = wantForm(t, e.run(alice.de(), "kaufen visio 10"), commands.FormBuy)
		r = e.send(alice.de(), form(commands.FormBuy, "", "product", input(t, f, "product").Value[0], "licenses", "10",
			"period", "annual", "method", m.ID))
		wantMessage(t, r, "Ihre Testversion von Visio Plan 2 wird nach der Zahlung zu einem Abonnement", "1.512,00 € pro Jahr")
		if got := kinds(e.charge()); got != "paid>U1,conversion>" {
			t.Errorf("notifications %q, want the payment and a conversion", got)
		}
		wantText(t, e.run(alice.de(), "produkte"), "02.12.2027")

		// Half a year on she needs 15: 5 × €151.20 for 183 of 365 days.
		e.clock.Add(0, 6, 0) // Jun 2, 2027
		r = e.send(alice, licensesForm(id, "15"))
		wantMessage(t, r, "5 licenses for Visio Plan 2 cost €379.04")
		// 8 of her 10 licenses have not been assigned for half a year
		// (unused.go).
		if got := kinds(e.charge()); got != "unused>U1,paid>U1,licenses>" {
			t.Errorf("notifications %q, want unused licenses, the payment and the licenses", got)
		}
		if got := e.invoices(alice)[0].Total; got != 37904 {
			t.Errorf("prorated invoice %d, want 37904 (75600 × 183 / 365)", got)
		}

		// The admin sees it, and cannot change it.
		wantText(t, e.run(dave, "admin"), "Visio Plan 2 | Alice | 2 of 15 assigned | renews Dec 2, 2027 | €2,268.00 per year | active")
		wantFieldError(t, e.send(dave, cancelForm(id, "other", "", "yes")), "subscription")

		// Her invoices of the last 3 and 6 months.
		for _, tt := range []struct {
			line string
			want int
		}{{"invoices", 1}, {"invoices 6m", 2}, {"rechnungen 01.11.2026 30.06.2027", 2}, {"invoices 2027-01-01 2027-06-01", 0}} {
			if got := len(rows(t, e.run(alice, tt.line))); got != tt.want {
				t.Errorf("%s: %d invoices, want %d", tt.line, got, tt.want)
			}
		}

		// She cancels; the subscription runs until the end of the year paid.
		r = e.send(alice, cancelForm(id, "switched_service", "We moved.", "yes"))
		wantMessage(t, r, "Visio Plan 2 is canceled. You keep it until Dec 2, 2027.")
		if notes := e.due(t0.AddDate(1, 0, 7).Add(-time.Second)); len(notes) != 0 {
			t.Errorf("before the end: %q", kinds(notes))
		}
		if notes := e.due(t0.AddDate(1, 0, 7)); kinds(notes) != "expiry>" {
			t.Errorf("at the end: %q, want an expiry", kinds(notes))
		}
		s := e.sub("T1", id)
		if s.Status != store.StatusExpired || s.Total != 15 || len(s.Assigned) != 2 || s.CancelReason != "switched_service" {
			t.Errorf("at the end: %+v", s)
		}
		if again, err := e.bot.CompletePayLink(ctx, token, visa("5555555555554444")); err != nil || again != m {
			t.Errorf("reused link = %+v, %v; want the method it saved", again, err)
		}
	})
}
