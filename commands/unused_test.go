package commands_test

import (
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// only keeps the notifications of one kind.
func only(kind commands.NotificationKind, notes []commands.Notification) []commands.Notification {
	var out []commands.Notification
	for _, n := range notes {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

// TestUnusedLicenses: licenses unassigned for 30 days are pointed out to
// their purchaser, once a week at most, until they are assigned; a
// license counts only when it has been free all that time.
func TestUnusedLicenses(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
		unused := func(n int) []commands.Notification { return only(commands.NoteUnused, e.due(day(n))) }
		e.buyer(alice)
		id := e.buy(alice, "visio-plan-2", 5) // €12.60 a license and month
		e.assign(alice, id, bob.m.ID, carol.m.ID)

		if got := unused(29); len(got) != 0 {
			t.Errorf("after 29 days: %q", kinds(got))
		}
		got := unused(30)
		if len(got) != 1 {
			t.Fatalf("after 30 days: %q, want one", kinds(got))
		}
		n := got[0]
		if n.To != alice.m.ID || n.Sub.ID != id || n.Sub.Unused != 3 || n.Sub.InUse != 2 || n.Sub.Price != 3780 {
			t.Errorf("notification %+v, want 3 unused and 2 in use of %s for Alice, €37.80 a month", n, id)
		}
		m := e.bot.RenderNotification(n, "en")
		wantMsg := "3 of the 5 licenses of Visio Plan 2 that you pay for have not been assigned to anyone for 30 days. They cost €37.80 a month."
		if m.Title != "Unused licenses" || !strings.Contains(m.Text, wantMsg) || !strings.Contains(m.Text, "on Jan 25, 2027") {
			t.Errorf("message %q: %q, want %q and the period's end", m.Title, m.Text, wantMsg)
		}
		if len(m.Buttons) != 2 || m.Buttons[0].Command != "assign "+id || m.Buttons[1].Command != "licenses "+id+" 2" ||
			m.Buttons[1].Label != "Reduce to 2 licenses" {
			t.Errorf("buttons %+v, want Assign and Reduce to 2", m.Buttons)
		}
		de := e.bot.RenderNotification(n, "de")
		if want := "3 von 5 Lizenzen für Visio Plan 2, die Sie bezahlen, sind 30 Tage lang niemandem zugewiesen worden. Sie kosten 37,80 € im Monat."; de.Title != "Nicht genutzte Lizenzen" ||
			!strings.Contains(de.Text, want) || de.Buttons[1].Label != "Auf 2 Lizenzen verringern" {
			t.Errorf("German message %q: %q, buttons %+v; want %q", de.Title, de.Text, de.Buttons, want)
		}

		if got := unused(36); len(got) != 0 {
			t.Errorf("again within the week: %q", kinds(got))
		}
		if got := unused(37); len(got) != 1 || got[0].Sub.Unused != 3 {
			t.Errorf("a week later: %+v, want the 3 again", got)
		}

		// Assigned: nothing more to tell.
		e.clock.Set(day(38))
		e.assign(alice, id, dave.m.ID, erin.m.ID, hugo.m.ID)
		for _, d := range []int{44, 45, 60, 90} {
			if got := unused(d); len(got) != 0 {
				t.Errorf("all assigned, day %d: %q", d, kinds(got))
			}
		}
		// One free again on day 91: it counts from then.
		e.clock.Set(day(91))
		wantMessage(t, e.send(alice, form(commands.FormUnassign, id, "subscription", id, "users", hugo.m.ID, "confirm", "yes")))
		if got := unused(120); len(got) != 0 {
			t.Errorf("free for 29 days: %q", kinds(got))
		}
		if got := unused(121); len(got) != 1 || got[0].Sub.Unused != 1 || got[0].Sub.InUse != 4 {
			t.Errorf("free for 30 days: %+v, want 1 unused", got)
		}
	})
}

// TestUnusedButtons: the reminder's buttons open the assign form of the
// subscription, and the licenses form filled in with the licenses in
// use, whose reduction takes effect at the period's end; then nothing is
// unused any more.
func TestUnusedButtons(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, id, bob.m.ID, carol.m.ID)
	notes := only(commands.NoteUnused, e.due(t0.AddDate(0, 0, 30)))
	if len(notes) != 1 {
		t.Fatalf("notifications %q, want one of unused licenses", kinds(notes))
	}
	m := e.bot.RenderNotification(notes[0], "en")

	f := wantForm(t, e.run(alice, m.Buttons[0].Command), commands.FormAssign)
	if in := input(t, f, "subscription"); len(in.Value) != 1 || in.Value[0] != id {
		t.Errorf("assign form for %v, want %s", in.Value, id)
	}
	wantText(t, commands.Response{Form: f}, "3 of 5") // the free licenses

	f = wantForm(t, e.run(alice, m.Buttons[1].Command), commands.FormLicenses)
	if in := input(t, f, "total"); len(in.Value) != 1 || in.Value[0] != "2" {
		t.Errorf("licenses form with %v, want 2", in.Value)
	}
	if in := input(t, f, "price"); !strings.Contains(in.Text, "From Jan 25, 2027, Visio Plan 2 has 2 licenses.") {
		t.Errorf("price %q, want the reduction at the period's end", in.Text)
	}
	if f.Submit != "Reduce to 2 licenses" {
		t.Errorf("submit %q, want Reduce to 2 licenses", f.Submit)
	}
	r := e.send(alice, form(commands.FormLicenses, f.Context, "subscription", id, "total", "2"))
	if r.Confirm != nil {
		r = e.confirm(alice, r)
	}
	if s := e.sub("T1", id); s.Total != 5 || s.NextTotal != 2 {
		t.Fatalf("after the reduction: total %d, next %d; want 5 now and 2 from the next period:\n%s", s.Total, s.NextTotal, text(r))
	}
	for _, d := range []int{37, 60} {
		if got := only(commands.NoteUnused, e.due(t0.AddDate(0, 0, d))); len(got) != 0 {
			t.Errorf("reduced to the licenses in use, day %d: %q", d, kinds(got))
		}
	}
}

// TestUnusedAdmin: admins see the organization's unused licenses and what
// they cost a month, per currency, and per subscription; nothing before
// the 30 days, and nothing of trials.
func TestUnusedAdmin(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		visio := e.buy(alice, "visio-plan-2", 5)
		e.assign(alice, visio, bob.m.ID, carol.m.ID)
		e.send(alice, e.buyForm(alice, "project-plan-1", 2, store.Annual)) // €100.80 a year a license
		e.charge()
		e.buy(alice, "teams-premium", 2) // $10.00 a month a license
		e.trial(alice, "project-plan-3")

		e.clock.Set(t0.AddDate(0, 0, 29))
		if r := e.run(dave, "admin"); strings.Contains(text(r), "unused") || strings.Contains(text(r), "Unused") {
			t.Errorf("after 29 days the admin view shows unused licenses:\n%s", text(r))
		}
		e.clock.Set(t0.AddDate(0, 0, 30))
		r := e.run(dave, "admin")
		wantMessage(t, r, "7 licenses have been unused for at least 30 days: €54.60 + $20.00 a month.")
		wantText(t, r, "Unused for 30 days: 3 licenses (€37.80 a month)", "Unused for 30 days: 2 licenses (€16.80 a month)",
			"Unused for 30 days: 2 licenses ($20.00 a month)")
		if got := strings.Count(text(r), "Unused for"); got != 3 {
			t.Errorf("%d subscriptions with unused licenses, want 3 (not the trial):\n%s", got, text(r))
		}
		wantMessage(t, e.run(dave.de(), "admin"), "7 Lizenzen sind mindestens 30 Tage lang nicht genutzt worden: 54,60 € + 20,00 $ im Monat.")
	})
}
