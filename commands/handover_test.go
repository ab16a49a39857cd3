package commands_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// admin2 is a second admin of T1, for two admins deciding at once.
var admin2 = who{org: "T1", m: commands.Member{ID: "U6", Name: "Fay"}, locale: "de-DE", admin: true}

// leave tells the core that w left, and returns the notifications it caused.
func (e *env) leave(w who) []commands.Notification {
	e.t.Helper()
	return e.jobNotes(func() {
		if err := e.bot.MemberLeft(e.t.Context(), w.org, w.m.ID); err != nil {
			e.t.Fatalf("MemberLeft(%s): %v", w.m.ID, err)
		}
	})
}

// handoverSetup: Alice bought 5 Visio licenses (held by Bob and Carol)
// and holds one of Bob's 3 Project licenses; then she leaves.
func handoverSetup(t *testing.T, e *env) (visio, project string, notes []commands.Notification) {
	t.Helper()
	e.buyer(alice)
	e.buyer(bob)
	visio = e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, visio, bob.m.ID, carol.m.ID)
	project = e.buy(bob, "project-plan-1", 3)
	e.assign(bob, project, alice.m.ID, carol.m.ID)
	return visio, project, e.leave(alice)
}

// auditHas reports whether the org's audit stream holds an entry of
// action on target.
func (e *env) auditHas(org, action, target string) bool {
	e.t.Helper()
	entries, err := e.st.Audit(e.t.Context(), org, 1000)
	if err != nil {
		e.t.Fatalf("Audit: %v", err)
	}
	for _, a := range entries {
		if a.Action == action && a.Target == target {
			return true
		}
	}
	return false
}

// TestHandoverLeave: the admins are asked about each live subscription of
// the leaver, with buttons; the licenses the leaver held are freed and
// their purchaser told; telling it again changes nothing.
func TestHandoverLeave(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, project, notes := handoverSetup(t, e)
		if got := kinds(notes); got != "handover>,license-freed>U2" {
			t.Fatalf("notifications %q, want handover>,license-freed>U2", got)
		}
		ask := e.bot.RenderNotification(notes[0], "en")
		if !strings.Contains(ask.Text, "Alice left the organization. Who takes over Visio Plan 2 (5 licenses)?") ||
			!strings.Contains(ask.Text, "it ends on Jan 8, 2027") {
			t.Errorf("question:\n%s", ask.Text)
		}
		if len(ask.Buttons) != 2 || ask.Buttons[0].Command != "admin handover take "+visio ||
			ask.Buttons[1].Command != "admin handover cancel "+visio {
			t.Errorf("buttons %+v", ask.Buttons)
		}
		de := e.bot.RenderNotification(notes[1], "de")
		if want := "Alice hat die Organisation verlassen: Die Lizenz für Project Plan 1 ist wieder frei."; de.Text != want {
			t.Errorf("freed (de) = %q, want %q", de.Text, want)
		}
		if s := e.sub("T1", visio); s.Handover != store.HandoverPending || s.Purchaser.ID != alice.m.ID || s.AssignedCount != 2 {
			t.Errorf("visio after leaving: handover %q, purchaser %s, %d assigned", s.Handover, s.Purchaser.ID, s.AssignedCount)
		}
		if s := e.sub("T1", project); s.IsAssigned(alice.m.ID) || s.AssignedCount != 1 || s.Handover != "" {
			t.Errorf("project after leaving: %+v", s.Assigned)
		}
		for _, a := range [][2]string{{"handover-ask U1", visio}, {"unassign U1", project}, {"member-left", "U1"}} {
			if !e.auditHas("T1", a[0], a[1]) {
				t.Errorf("no audit entry %q of %s", a[0], a[1])
			}
		}
		if again := e.leave(alice); len(again) > 0 {
			t.Errorf("leaving again notified %q", kinds(again))
		}
		// Someone with nothing here leaves: nothing is recorded.
		if n := e.leave(erin); len(n) > 0 {
			t.Errorf("erin leaving notified %q", kinds(n))
		}
		if e.auditHas("T1", "member-left", erin.m.ID) {
			t.Error("erin's leaving was recorded")
		}
		// The list of handovers shows it, with the buttons.
		r := e.run(dave, "admin handover")
		wantText(t, r, "1 subscription of someone who left waits for a decision", "Visio Plan 2", "Alice left on Nov 25, 2026")
		if subID(t, r, "admin handover take ") != visio {
			t.Error("list has no take button")
		}
		wantText(t, e.run(alice, "admin handover"), "Only administrators")
		// The admin overview says so, with a button to the list.
		r = e.run(dave, "admin")
		wantText(t, r, "1 subscription of someone who left waits for a decision.")
		if subID(t, r, "admin handover") != "" {
			t.Error("no button to the list")
		}
	})
}

// TestHandoverTakeOver: an admin chooses one of their payment methods and
// becomes purchaser and payer; the renewal then charges them.
func TestHandoverTakeOver(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, _, _ := handoverSetup(t, e)
		// Without a payment method: told to add one first.
		r := e.run(dave, "admin handover take "+visio)
		wantText(t, r, "you need a payment method")
		if r.Form != nil || subID(t, r, "payment") != "" {
			t.Errorf("no payment button, or a form: %+v", r)
		}
		m := e.buyer(dave)
		f := wantForm(t, e.run(dave, "admin handover take "+visio), commands.FormHandover)
		wantText(t, commands.Response{Messages: []commands.Message{{Text: input(t, f, "what").Text}}},
			"You become the purchaser of Visio Plan 2 in place of Alice", "from its renewal on Dec 25, 2026")
		if in := input(t, f, "method"); len(in.Options) != 1 || in.Options[0].Value != m.ID {
			t.Errorf("method options %+v", in.Options)
		}
		// A method that is not theirs is a field error, and nothing changes.
		wantFieldError(t, e.send(dave, form(commands.FormHandover, f.Context, "method", e.method(alice))), "method")
		// Someone who is not an admin cannot decide.
		wantText(t, e.send(bob, form(commands.FormHandover, f.Context, "method", m.ID)), "Only administrators")
		if s := e.sub("T1", visio); s.Handover != store.HandoverPending {
			t.Fatalf("handover %q after refused submissions", s.Handover)
		}
		r = e.send(dave, form(commands.FormHandover, f.Context, "method", m.ID))
		wantText(t, r, "You are now the purchaser of Visio Plan 2. It renews on Dec 25, 2026")
		if got := kinds(e.notes()); got != "handover-decided>" {
			t.Errorf("notifications %q", got)
		}
		if text := e.bot.RenderNotification(e.notes()[0], "en").Text; !strings.Contains(text, "Dave took over Visio Plan 2 from Alice") {
			t.Errorf("decided: %q", text)
		}
		s := e.sub("T1", visio)
		if s.Purchaser.ID != dave.m.ID || s.MethodID != m.ID || s.Handover != store.HandoverTaken || s.HandoverBy.ID != dave.m.ID {
			t.Fatalf("after take over: purchaser %s, method %s, handover %q", s.Purchaser.ID, s.MethodID, s.Handover)
		}
		if !e.auditHas("T1", "handover-take", visio) {
			t.Error("no audit entry of the take over")
		}
		// Now Dave's: he assigns; Alice's list no longer holds it.
		e.assign(dave, visio, erin.m.ID)
		for _, sub := range e.view(alice).Subs {
			if sub.ID == visio {
				t.Error("Alice still has the subscription")
			}
		}
		// The renewal charges Dave.
		e.due(s.RenewsAt)
		e.charge()
		if s2 := e.sub("T1", visio); !s2.RenewsAt.After(s.RenewsAt) || s2.Status != store.StatusActive {
			t.Errorf("not renewed: %v %s", s2.RenewsAt, s2.Status)
		}
		if invs := e.invoices(dave); len(invs) != 1 || invs[0].SubID != visio {
			t.Errorf("Dave's invoices %+v, want the renewal", invs)
		}
		// Deciding again: told who decided.
		wantText(t, e.run(admin2, "admin handover cancel "+visio), "Dave hat Visio Plan 2 bereits übernommen")
	})
}

// TestHandoverRace: two admins decide at once, one to take over and one
// to cancel: one decision, and the other is told who decided.
func TestHandoverRace(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, _, _ := handoverSetup(t, e)
		m := e.buyer(dave)
		take := e.request(dave)
		take.Form, take.IdempotencyKey = form(commands.FormHandover, "take "+visio, "method", m.ID), "click-dave"
		cancel := e.request(admin2)
		cancel.Form, cancel.IdempotencyKey = form(commands.FormHandover, "cancel "+visio, "confirm", "yes"), "click-fay"
		var wg sync.WaitGroup
		resps := make([]commands.Response, 2)
		for i, req := range []commands.Request{take, cancel} {
			wg.Go(func() {
				r, err := e.bot.Handle(t.Context(), req)
				if err != nil {
					t.Errorf("Handle: %v", err)
				}
				resps[i] = r
			})
		}
		wg.Wait()
		s := e.sub("T1", visio)
		var winner, loser commands.Response
		switch s.Handover {
		case store.HandoverTaken:
			winner, loser = resps[0], resps[1]
			wantText(t, loser, "Dave hat Visio Plan 2 bereits übernommen")
		case store.HandoverCanceled:
			winner, loser = resps[1], resps[0]
			wantText(t, loser, "Fay has already canceled Visio Plan 2")
		default:
			t.Fatalf("handover %q after two decisions", s.Handover)
		}
		if title := winner.Messages[0].Title; title != "Handover decided" && title != "Übergabe entschieden" {
			t.Errorf("winner got %q", text(winner))
		}
		n := 0
		for _, note := range e.outbox("T1") {
			if note.Kind == commands.NoteHandoverDecided {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d decided notifications, want 1", n)
		}
		// A double click of the winner gets the first answer again.
		again := take
		if s.Handover == store.HandoverCanceled {
			again = cancel
		}
		r, err := e.bot.Handle(t.Context(), again)
		if err != nil || text(r) != text(winner) {
			t.Errorf("repeat: %v\n%s\nwant\n%s", err, text(r), text(winner))
		}
	})
}

// TestHandoverWaits: until an admin decides, the renewal waits and the
// admins are reminded daily; a cancel after the period's end ends it at
// once; without any decision it ends after the grace.
func TestHandoverWaits(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, _, _ := handoverSetup(t, e)
		renews := e.sub("T1", visio).RenewsAt
		if got := kinds(e.due(t0.Add(23 * time.Hour))); got != "" {
			t.Errorf("before a day: %q", got)
		}
		notes := e.due(t0.Add(24 * time.Hour))
		if kinds(notes) != "handover-reminder>" {
			t.Fatalf("after a day: %q", kinds(notes))
		}
		if m := e.bot.RenderNotification(notes[0], "de"); m.Title != "Erinnerung: Eine Übergabe wartet" || len(m.Buttons) != 2 {
			t.Errorf("reminder %+v", m)
		}
		if got := kinds(e.due(t0.Add(47 * time.Hour))); got != "" {
			t.Errorf("twice a day: %q", got)
		}
		if got := kinds(e.due(t0.Add(48 * time.Hour))); got != "handover-reminder>" {
			t.Errorf("second day: %q", got)
		}
		// The period ends: no renewal, no invoice; still live.
		e.due(renews)
		e.charge()
		s := e.sub("T1", visio)
		if !s.RenewsAt.Equal(renews) || s.Status != store.StatusActive || len(e.invoices(alice)) != 1 {
			t.Fatalf("renewed while waiting: %v %s, %d invoices", s.RenewsAt, s.Status, len(e.invoices(alice)))
		}
		// Canceled after the period's end: it ends at once.
		r := e.run(dave, "admin handover cancel "+visio)
		f := wantForm(t, r, commands.FormHandover)
		wantFieldError(t, e.send(dave, form(commands.FormHandover, f.Context)), "confirm")
		wantText(t, e.send(dave, form(commands.FormHandover, f.Context, "confirm", "yes")), "Visio Plan 2 is canceled")
		e.due(e.clock.Now())
		if s := e.sub("T1", visio); s.Status != store.StatusExpired || s.Handover != store.HandoverCanceled {
			t.Errorf("after cancel: %s %q", s.Status, s.Handover)
		}
		if len(e.invoices(alice)) != 1 {
			t.Error("a canceled handover was billed")
		}
		if got := kinds(e.due(e.clock.Now().Add(48 * time.Hour))); got != "" {
			t.Errorf("reminded after the decision: %q", got)
		}
	})
}

// TestHandoverLapses: nobody decides; the subscription ends after the
// grace, and the admins are told.
func TestHandoverLapses(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, _, _ := handoverSetup(t, e)
		end := e.sub("T1", visio).RenewsAt.Add(commands.DefaultHandoverGrace)
		e.due(end.Add(-time.Hour))
		if s := e.sub("T1", visio); s.Status != store.StatusActive {
			t.Fatalf("ended before the grace: %s", s.Status)
		}
		notes := e.due(end)
		var lapsed *commands.Notification
		for _, n := range notes {
			if n.Kind == commands.NoteHandoverLapsed {
				lapsed = &n
			}
		}
		if lapsed == nil {
			t.Fatalf("no lapse notification: %q", kinds(notes))
		}
		if m := e.bot.RenderNotification(*lapsed, "en"); !strings.Contains(m.Text, "Nobody decided who takes over Visio Plan 2 of Alice") {
			t.Errorf("lapsed: %q", m.Text)
		}
		if s := e.sub("T1", visio); s.Status != store.StatusExpired || s.Handover != store.HandoverLapsed {
			t.Errorf("after the grace: %s %q", s.Status, s.Handover)
		}
		if !e.auditHas("T1", "handover-lapse", visio) {
			t.Error("no audit entry of the lapse")
		}
		wantText(t, e.run(dave, "admin handover take "+visio), "No handover of that subscription waits")
		if got := kinds(e.due(end.Add(72 * time.Hour))); got != "" {
			t.Errorf("after the end: %q", got)
		}
	})
}

// TestHandoverBack: the leaver comes back before anyone decided: the
// handover is withdrawn and the subscription renews as before; the freed
// license stays free.
func TestHandoverBack(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, project, _ := handoverSetup(t, e)
		notes := e.jobNotes(func() {
			if err := e.bot.MemberBack(t.Context(), "T1", alice.m.ID); err != nil {
				t.Fatalf("MemberBack: %v", err)
			}
		})
		if kinds(notes) != "handover-back>" {
			t.Fatalf("notifications %q", kinds(notes))
		}
		if s := e.sub("T1", visio); s.Handover != store.HandoverWithdrawn || s.Purchaser.ID != alice.m.ID {
			t.Errorf("after back: %q %s", s.Handover, s.Purchaser.ID)
		}
		if e.sub("T1", project).IsAssigned(alice.m.ID) {
			t.Error("the freed license came back")
		}
		// Back again, or someone who never left: nothing.
		for _, w := range []who{alice, bob} {
			if err := e.bot.MemberBack(t.Context(), "T1", w.m.ID); err != nil {
				t.Fatal(err)
			}
		}
		if !e.auditHas("T1", "handover-withdrawn U1", visio) {
			t.Error("no audit entry")
		}
		wantText(t, e.run(dave, "admin handover take "+visio), "No handover of that subscription waits")
		renews := e.sub("T1", visio).RenewsAt
		e.due(renews)
		if s := e.sub("T1", visio); !s.RenewsAt.After(renews) {
			t.Error("not renewed after coming back")
		}
		// Leaving again asks again.
		if got := kinds(e.leave(alice)); got != "handover>" {
			t.Errorf("leaving again: %q", got)
		}
	})
}

// TestHandoverTrial: a trial is taken over without a payment method.
func TestHandoverTrial(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.leave(alice)
	f := wantForm(t, e.run(dave, "admin uebergabe uebernehmen "+id), commands.FormHandover)
	if len(f.Inputs) != 2 || input(t, f, "confirm").Kind != commands.KindConfirm {
		t.Errorf("trial form inputs %+v", f.Inputs)
	}
	wantFieldError(t, e.send(dave, form(commands.FormHandover, f.Context)), "confirm")
	wantText(t, e.send(dave, form(commands.FormHandover, f.Context, "confirm", "yes")), "trial of Visio Plan 2")
	if s := e.sub("T1", id); s.Purchaser.ID != dave.m.ID || s.Status != store.StatusTrial {
		t.Errorf("trial after take over: %s %s", s.Purchaser.ID, s.Status)
	}
	wantText(t, e.run(dave, "admin handover take"), "admin handover take or cancel")
	wantText(t, e.run(dave, "admin handover take nosuch"), "No handover of that subscription waits")
	wantText(t, e.send(dave, form(commands.FormHandover, "bogus "+id)), "incomplete")
}

// TestHandoverTakeOverInGrace: taken over after its period ended, the
// subscription renews at once, charging the admin.
func TestHandoverTakeOverInGrace(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		visio, _, _ := handoverSetup(t, e)
		renews := e.sub("T1", visio).RenewsAt
		e.due(renews.Add(3 * 24 * time.Hour))
		m := e.buyer(dave)
		r := e.send(dave, form(commands.FormHandover, "take "+visio, "method", m.ID))
		wantText(t, r, "It renews on "+e.clock.Now().Format("Jan 2, 2006"))
		e.due(e.clock.Now())
		e.charge()
		s := e.sub("T1", visio)
		if !s.RenewsAt.After(renews) || s.Status != store.StatusActive || s.Purchaser.ID != dave.m.ID {
			t.Fatalf("after taking over in the grace: renews %v, %s, purchaser %s", s.RenewsAt, s.Status, s.Purchaser.ID)
		}
		invs := e.invoices(dave)
		if len(invs) != 1 || !invs[0].Paid() || invs[0].Method != m.ID {
			t.Errorf("Dave's invoices %+v, want the renewal, paid with his card", invs)
		}
		// The grace's end finds it decided: nothing happens.
		if got := kinds(e.due(renews.Add(commands.DefaultHandoverGrace))); strings.Contains(got, "handover") {
			t.Errorf("after the grace: %q", got)
		}
		if s := e.sub("T1", visio); s.Status != store.StatusActive {
			t.Errorf("ended after being taken over: %s", s.Status)
		}
	})
}

// TestHandoverBackAfterPeriod: back after the period ended while the
// renewal waited: it renews at once, charging the purchaser as before.
func TestHandoverBackAfterPeriod(t *testing.T) {
	e := newEnv(t)
	visio, _, _ := handoverSetup(t, e)
	renews := e.sub("T1", visio).RenewsAt
	e.due(renews.Add(time.Hour))
	if s := e.sub("T1", visio); !s.RenewsAt.Equal(renews) {
		t.Fatalf("renewed while waiting")
	}
	if err := e.bot.MemberBack(t.Context(), "T1", alice.m.ID); err != nil {
		t.Fatal(err)
	}
	e.due(e.clock.Now())
	e.charge()
	if s := e.sub("T1", visio); !s.RenewsAt.After(renews) || s.Status != store.StatusActive {
		t.Errorf("after coming back: renews %v, %s", s.RenewsAt, s.Status)
	}
	if n := len(e.invoices(alice)); n != 2 {
		t.Errorf("Alice has %d invoices, want the purchase and the renewal", n)
	}
}
