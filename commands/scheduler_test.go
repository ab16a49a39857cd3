package commands_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// due moves the clock to at and runs the due jobs.
func (e *env) due(at time.Time) []commands.Notification {
	e.t.Helper()
	e.clock.Set(at)
	return e.jobNotes(func() {
		if _, err := e.bot.RunDue(e.t.Context()); err != nil {
			e.t.Fatalf("RunDue at %v: %v", at, err)
		}
	})
}

// kinds summarizes notifications: "kind>to" each.
func kinds(notes []commands.Notification) string {
	var out []string
	for _, n := range notes {
		out = append(out, string(n.Kind)+">"+n.To)
	}
	return strings.Join(out, ",")
}

// TestSchedulerTrial: reminders 7 days and 1 day before a trial ends, to
// its purchaser; then its end, to the admins.
func TestSchedulerTrial(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		id := e.trial(alice, "visio-plan-2") // ends Dec 25, 10:00
		end := t0.AddDate(0, 0, 30)
		steps := []struct {
			at    time.Time
			want  string
			en    string
			de    string
			state store.Status
		}{
			{t0, "", "", "", store.StatusTrial},
			{end.AddDate(0, 0, -7).Add(-time.Minute), "", "", "", store.StatusTrial},
			{end.AddDate(0, 0, -7), "reminder>U1", "Your trial of Visio Plan 2 ends in 7 days, on Dec 25, 2026.",
				"Ihre Testversion von Visio Plan 2 endet in 7 Tagen, am 25.12.2026.", store.StatusTrial},
			{end.AddDate(0, 0, -7).Add(time.Hour), "", "", "", store.StatusTrial},
			{end.AddDate(0, 0, -1), "reminder>U1", "ends in 1 day, on Dec 25, 2026.", "endet in 1 Tag, am 25.12.2026.", store.StatusTrial},
			{end.Add(-time.Second), "", "", "", store.StatusTrial},
			{end, "expiry>", "Visio Plan 2 of Alice has expired.", "Visio Plan 2 von Alice ist abgelaufen.", store.StatusExpired},
			{end.Add(time.Hour), "", "", "", store.StatusExpired},
			{end.AddDate(1, 0, 0), "", "", "", store.StatusExpired},
		}
		for _, st := range steps {
			notes := e.due(st.at)
			if got := kinds(notes); got != st.want {
				t.Errorf("%v: notifications %q, want %q", st.at, got, st.want)
			}
			if s := e.sub("T1", id); s.Status != st.state {
				t.Errorf("%v: status %s, want %s", st.at, s.Status, st.state)
			}
			if len(notes) == 1 {
				if n := notes[0]; n.Sub.ID != id || n.Sub.Product != "Visio Plan 2" || n.Org != "T1" || n.Key == "" {
					t.Errorf("notification %+v", n)
				}
				for lang, want := range map[string]string{"en": st.en, "de": st.de} {
					if msg := e.bot.RenderNotification(notes[0], lang); !strings.Contains(msg.Text, want) {
						t.Errorf("%s notice %q, want %q", lang, msg.Text, want)
					}
				}
			}
		}
		wantText(t, e.run(alice, "products"), "expired", "Expiration date: Dec 25, 2026")
	})
}

// TestSchedulerConvertedTrial: a bought trial neither reminds nor ends.
func TestSchedulerConvertedTrial(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.buyer(alice)
	e.clock.Add(0, 0, 2)
	e.send(alice, e.buyForm(alice, "visio-plan-2", 3, store.Monthly)) // renews Dec 27
	if got := kinds(e.charge()); got != "paid>U1,conversion>" {
		t.Errorf("charging the conversion notified %q, want the purchaser and the admins", got)
	}
	end := t0.AddDate(0, 0, 30)
	for _, at := range []time.Time{end.AddDate(0, 0, -7), end.AddDate(0, 0, -1), end, end.Add(time.Hour)} {
		if notes := e.due(at); len(notes) != 0 {
			t.Errorf("%v: notifications %q, want none", at, kinds(notes))
		}
	}
	if s := e.sub("T1", id); s.Status != store.StatusActive || s.Total != 3 {
		t.Errorf("converted trial after its end: %+v", s)
	}
	if n := len(e.invoices(alice)); n != 1 {
		t.Errorf("%d invoices, want 1", n)
	}
}

// TestSchedulerRenewal: an active subscription renews at the end of each
// period, with an invoice; a canceled one expires.
func TestSchedulerRenewal(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		monthly := e.buy(alice, "visio-plan-2", 5)
		annual := e.invoice(alice, invoiceOf(t, e.send(alice, e.buyForm(alice, "project-plan-1", 2, store.Annual)))).SubID
		e.charge()
		canceled := e.buy(alice, "teams-premium", 1)
		wantMessage(t, e.send(alice, cancelForm(canceled, "other", "", "yes")), "canceled")

		dec25 := t0.AddDate(0, 1, 0)
		if notes := e.due(dec25.Add(-time.Second)); len(notes) != 0 {
			t.Errorf("before the period ends: %q", kinds(notes))
		}
		notes := e.due(dec25)
		// The others' licenses, none assigned, have been unused for 30
		// days: their purchaser hears of them (unused.go).
		if kinds(notes) != "expiry>,unused>U1,unused>U1" || notes[0].Sub.ID != canceled {
			t.Errorf("at the period end: notifications %+v, want the canceled one's expiry and the others' unused licenses", notes)
		}
		if notes := e.charge(); len(notes) != 0 { // the renewal's charge
			t.Errorf("charging the renewal: %q", kinds(notes))
		}
		if s := e.sub("T1", canceled); s.Status != store.StatusExpired {
			t.Errorf("canceled subscription is %s, want expired", s.Status)
		}
		s := e.sub("T1", monthly)
		if s.Status != store.StatusActive || !s.RenewsAt.Equal(t0.AddDate(0, 2, 0)) {
			t.Errorf("renewed subscription %s renews %v, want active, %v", s.Status, s.RenewsAt, t0.AddDate(0, 2, 0))
		}
		invs := e.invoices(alice)
		if len(invs) != 4 {
			t.Fatalf("%d invoices, want 3 purchases and 1 renewal", len(invs))
		}
		renewal := invs[0]
		want := store.InvoiceLine{Product: "Visio Plan 2", Quantity: 5, UnitPrice: 1260, Amount: 6300, Kind: "renewal"}
		if renewal.SubID != monthly || !renewal.Date.Equal(dec25) || renewal.Total != 6300 || len(renewal.Lines) != 1 ||
			renewal.Lines[0] != want || renewal.Status != store.InvoicePaid {
			t.Errorf("renewal invoice %+v", renewal)
		}
		wantText(t, e.run(alice, "products"), "Renews on: Jan 25, 2027")
		wantText(t, e.run(alice, "invoices"), "Dec 25, 2026 | "+renewal.ID+" | Visio Plan 2 × 5 licenses | €63.00 | paid")

		if notes := e.due(dec25.Add(time.Hour)); len(notes) != 0 {
			t.Errorf("RunDue again: %q", kinds(notes))
		}
		if n := len(e.invoices(alice)); n != 4 {
			t.Errorf("RunDue again: %d invoices, want 4", n)
		}
		e.due(t0.AddDate(0, 2, 0))
		if s := e.sub("T1", monthly); !s.RenewsAt.Equal(t0.AddDate(0, 3, 0)) {
			t.Errorf("second renewal: renews %v", s.RenewsAt)
		}
		if s := e.sub("T1", annual); !s.RenewsAt.Equal(t0.AddDate(1, 0, 0)) {
			t.Errorf("annual subscription renews %v, want %v", s.RenewsAt, t0.AddDate(1, 0, 0))
		}
		e.due(t0.AddDate(1, 0, 0))
		if s := e.sub("T1", annual); !s.RenewsAt.Equal(t0.AddDate(2, 0, 0)) {
			t.Errorf("annual renewal: renews %v, want %v", s.RenewsAt, t0.AddDate(2, 0, 0))
		}
		if inv := e.invoices(alice)[0]; inv.SubID != annual || inv.Total != 2*12*840 {
			t.Errorf("annual renewal invoice %+v, want %d", inv, 2*12*840)
		}
	})
}

// TestSchedulerCanceledTrial: a canceled trial expires at its end.
func TestSchedulerCanceledTrial(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.send(alice, cancelForm(id, "too_complex", "", "yes"))
	end := t0.AddDate(0, 0, 30)
	if notes := e.due(end.AddDate(0, 0, -1)); len(notes) != 0 {
		t.Errorf("a canceled trial reminds: %q", kinds(notes))
	}
	if notes := e.due(end); kinds(notes) != "expiry>" {
		t.Errorf("at the end: %q, want an expiry", kinds(notes))
	}
	if s := e.sub("T1", id); s.Status != store.StatusExpired {
		t.Errorf("status %s, want expired", s.Status)
	}
}

// TestSchedulerTwoBots: two replicas running the due jobs at once do each
// job once.
func TestSchedulerTwoBots(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		var active, canceled []string
		for i := range 12 {
			id := e.buy(alice, "visio-plan-2", i+1)
			if i%3 == 0 {
				e.send(alice, cancelForm(id, "other", "", "yes"))
				canceled = append(canceled, id)
			} else {
				active = append(active, id)
			}
		}
		bots := []*commands.Bot{e.bot, e.newBot()}
		e.clock.Set(t0.AddDate(0, 1, 0))

		notes := e.jobNotes(func() {
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					if _, err := bots[i%2].RunDue(t.Context()); err != nil {
						t.Errorf("RunDue: %v", err)
					}
				})
			}
			wg.Wait()
		})

		keys := map[string]bool{}
		for _, n := range notes {
			if keys[n.Key] {
				t.Errorf("notification %s twice", n.Key)
			}
			keys[n.Key] = true
		}
		// An expiry for each canceled one; the active ones' licenses,
		// none assigned, have been unused for 30 days (unused.go).
		if n := len(only(commands.NoteExpiry, notes)); n != len(canceled) || len(only(commands.NoteUnused, notes)) != len(active) ||
			len(notes) != len(canceled)+len(active) {
			t.Errorf("%d notifications %q, want an expiry for each of the %d canceled, and unused licenses of each of the %d active",
				len(notes), kinds(notes), len(canceled), len(active))
		}
		renewals := map[string]int{}
		for _, inv := range e.invoices(alice) {
			if inv.Lines[0].Kind == "renewal" {
				renewals[inv.SubID]++
			}
		}
		for _, id := range active {
			if renewals[id] != 1 {
				t.Errorf("subscription %s renewed %d times, want once", id, renewals[id])
			}
			if s := e.sub("T1", id); !s.RenewsAt.Equal(t0.AddDate(0, 2, 0)) {
				t.Errorf("subscription %s renews %v", id, s.RenewsAt)
			}
		}
		if len(renewals) != len(active) {
			t.Errorf("renewal invoices for %d subscriptions, want %d", len(renewals), len(active))
		}
		for _, id := range canceled {
			if s := e.sub("T1", id); s.Status != store.StatusExpired {
				t.Errorf("canceled %s is %s, want expired", id, s.Status)
			}
		}
	})
}

// TestSchedulerShortSubscriptionID: the store accepts any valid id (1 to 64
// characters); a renewal of a subscription with a short id must not panic.
func TestSchedulerShortSubscriptionID(t *testing.T) {
	e := newEnv(t)
	renews := t0.AddDate(0, 1, 0)
	sub := store.Subscription{ID: "s1", Org: "T1", ProductID: "visio-plan-2", ProductName: "Visio Plan 2",
		Purchaser: store.Member{ID: alice.m.ID, Name: "Alice"}, SelfService: true, Status: store.StatusActive,
		Total: 1, Period: store.Monthly, UnitPrice: 1260, Currency: "EUR", PurchasedAt: t0, RenewsAt: renews}
	if _, err := e.st.CreateSubscription(t.Context(), store.Once{Key: "import-1"}, sub, nil,
		store.Job{Kind: store.JobRenewal, Org: "T1", SubID: "s1", Due: renews}); err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	e.clock.Set(renews)
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_, _ = e.bot.RunDue(t.Context())
	}()
	if panicked != nil {
		t.Logf("panic: %v", panicked)
		t.Fatal("fixed bug is back: RunDue panics on a subscription id shorter than 7 characters (notify.go renewal invoice id s.ID[:7])")
	}
	if s := e.sub("T1", "s1"); !s.RenewsAt.Equal(t0.AddDate(0, 2, 0)) {
		t.Errorf("renews %v", s.RenewsAt)
	}
}
