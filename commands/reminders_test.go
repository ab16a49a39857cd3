package commands_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// trialEnd is when a trial started at t0 ends (30 days).
var trialEnd = t0.AddDate(0, 0, 30)

// reminder runs the scheduler at at and returns the one reminder it sends
// to the purchaser.
func (e *env) reminder(at time.Time) commands.Notification {
	e.t.Helper()
	notes := e.due(at)
	if kinds(notes) != "reminder>U1" {
		e.t.Fatalf("%v: notifications %q, want a reminder to U1", at, kinds(notes))
	}
	return notes[0]
}

// buttons lists a message's buttons as "label → command".
func buttons(m commands.Message) string {
	var out []string
	for _, b := range m.Buttons {
		out = append(out, b.Label+" → "+b.Command)
	}
	return strings.Join(out, "; ")
}

// TestReminderButtons: the purchaser's trial reminder offers to convert
// the trial (the buy form with its licenses), to end it now and to be
// reminded tomorrow, in both languages; the same notification without a
// recipient (what admins would see) has none of them.
func TestReminderButtons(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	n := e.reminder(trialEnd.AddDate(0, 0, -7))
	for lang, want := range map[string]string{
		"en": "Convert to subscription → buy visio-plan-2 25; Cancel now → trial end " + id + "; Remind me tomorrow → trial remind " + id,
		"de": "In Abonnement umwandeln → buy visio-plan-2 25; Jetzt beenden → trial end " + id + "; Morgen erinnern → trial remind " + id,
	} {
		m := e.bot.RenderNotification(n, lang)
		if got := buttons(m); got != want {
			t.Errorf("%s reminder buttons:\n got %s\nwant %s", lang, got, want)
		}
		if len(m.Buttons) == 3 && (m.Buttons[0].Style != commands.StylePrimary || m.Buttons[1].Style != commands.StyleDanger) {
			t.Errorf("%s: styles %q, %q; want convert primary, cancel danger", lang, m.Buttons[0].Style, m.Buttons[1].Style)
		}
		admins := n
		admins.To = ""
		if m := e.bot.RenderNotification(admins, lang); len(m.Buttons) != 0 {
			t.Errorf("%s: a reminder to admins has buttons: %s", lang, buttons(m))
		}
	}
	// The admins' notifications of the same trial offer nothing to do.
	e2 := newEnv(t)
	e2.trial(alice, "visio-plan-2")
	for _, note := range e2.notes() {
		if note.To != "" {
			t.Fatalf("trial start notified %q, want the admins", note.To)
		}
		if m := e2.bot.RenderNotification(note, "en"); len(m.Buttons) != 0 {
			t.Errorf("admins' %s notification has buttons: %s", note.Kind, buttons(m))
		}
	}
}

// TestReminderConvert: the reminder's Convert opens the buy form for the
// trial's product with its licenses; buying converts the trial and keeps
// its assignments.
func TestReminderConvert(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.assign(alice, id, "U2", "U3")
	e.buyer(alice)
	n := e.reminder(trialEnd.AddDate(0, 0, -7))
	convert := e.bot.RenderNotification(n, "en").Buttons[0]
	f := wantForm(t, e.run(alice, convert.Command), commands.FormBuy)
	if in := input(t, f, "product"); strings.Join(in.Value, ",") != "visio-plan-2" {
		t.Errorf("product %q, want visio-plan-2", in.Value)
	}
	if in := input(t, f, "licenses"); strings.Join(in.Value, ",") != "25" || in.Min != 2 {
		t.Errorf("licenses %q (at least %d), want 25 (at least the 2 assigned)", in.Value, in.Min)
	}
	wantText(t, e.run(alice, convert.Command), "Your trial of this product becomes the subscription; its 2 assigned users keep their licenses.")

	e.send(alice, form(commands.FormBuy, f.Context, "product", "visio-plan-2", "licenses", input(t, f, "licenses").Value[0],
		"period", "monthly", "method", input(t, f, "method").Value[0]))
	if got := kinds(e.charge()); got != "paid>U1,conversion>" {
		t.Errorf("charging the conversion notified %q", got)
	}
	s := e.sub("T1", id)
	if s.Status != store.StatusActive || s.Total != 25 || s.AssignedCount != 2 || !s.IsAssigned("U2") || !s.IsAssigned("U3") {
		t.Errorf("converted trial %+v, want active, 25 licenses, Bob and Carol assigned", s)
	}
	if notes := e.due(trialEnd); len(notes) != 0 {
		t.Errorf("a converted trial at its end: %q", kinds(notes))
	}
}

// TestRemindTomorrow: "Remind me tomorrow" schedules one reminder 24 hours
// later and says when; clicking again schedules nothing more; the reminder
// comes once and can be put off again; a reminder due anyway before then
// is the next one; a trial that ends before then gets none.
func TestRemindTomorrow(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		id := e.trial(alice, "visio-plan-2")
		n := e.reminder(trialEnd.AddDate(0, 0, -7)) // Dec 18, 10:00
		remind := e.bot.RenderNotification(n, "en").Buttons[2].Command

		e.clock.Set(trialEnd.AddDate(0, 0, -7).Add(30 * time.Minute))
		want := "I will remind you again on Dec 19, 2026, 10:30 AM UTC. Your trial of Visio Plan 2 ends on Dec 25, 2026, 10:00 AM UTC."
		wantMessage(t, e.run(alice, remind), "Reminder scheduled", want)
		e.clock.Set(trialEnd.AddDate(0, 0, -7).Add(40 * time.Minute))
		wantMessage(t, e.run(alice, remind), want) // a second click: the same reminder
		wantMessage(t, e.run(alice.de(), remind),
			"Wir erinnern Sie am 19.12.2026, 10:30 UTC erneut. Ihre Testversion von Visio Plan 2 endet am 25.12.2026, 10:00 UTC.")

		again := trialEnd.AddDate(0, 0, -6).Add(30 * time.Minute)
		if notes := e.due(again.Add(-time.Second)); len(notes) != 0 {
			t.Errorf("before the reminder asked for: %q", kinds(notes))
		}
		n = e.reminder(again)
		if n.Sub.ID != id {
			t.Errorf("reminder of %s, want %s", n.Sub.ID, id)
		}
		wantIn(t, e.bot.RenderNotification(n, "en").Text, "ends in 6 days, on Dec 25, 2026")
		if notes := e.due(again.Add(time.Hour)); len(notes) != 0 {
			t.Errorf("the reminder asked for came again: %q", kinds(notes))
		}

		// Put off again from that reminder, an hour after it came.
		wantMessage(t, e.run(alice, remind), "again on Dec 20, 2026, 11:30 AM UTC")
		if notes := e.due(again.Add(24 * time.Hour)); len(notes) != 0 {
			t.Errorf("before the reminder asked for: %q", kinds(notes))
		}
		e.reminder(again.Add(25 * time.Hour))

		// The day-before reminder comes within the next 24 hours anyway.
		e.clock.Set(trialEnd.AddDate(0, 0, -2).Add(2 * time.Hour)) // Dec 23, 12:00
		wantMessage(t, e.run(alice, remind), "again on Dec 24, 2026, 10:00 AM UTC")
		e.reminder(trialEnd.AddDate(0, 0, -1))
		if notes := e.due(trialEnd.AddDate(0, 0, -1).Add(2 * time.Hour)); len(notes) != 0 {
			t.Errorf("a second reminder after the day-before one: %q", kinds(notes))
		}

		// From the day-before reminder: the trial ends before tomorrow.
		r := e.run(alice, remind)
		wantMessage(t, r, "Your trial of Visio Plan 2 ends on Dec 25, 2026, 10:00 AM UTC, before a reminder tomorrow could come, so none is scheduled.")
		if got := subID(t, r, "buy "); got != "visio-plan-2 25" {
			t.Errorf("convert button runs %q", got)
		}
		if got := kinds(e.due(trialEnd)); got != "expiry>" {
			t.Errorf("at the end: %q, want only the expiry", got)
		}
	})
}

// TestRemindTomorrowConcurrent: clicks that arrive together schedule one
// reminder and all say the same time.
func TestRemindTomorrowConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		id := e.trial(alice, "visio-plan-2")
		e.reminder(trialEnd.AddDate(0, 0, -5)) // the 7-day one, late
		answers := make([]string, 8)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				req := e.request(alice)
				req.Text = "trial remind " + id
				resp, err := e.bot.Handle(t.Context(), req)
				if err != nil {
					t.Errorf("Handle: %v", err)
				}
				answers[i] = text(resp)
			})
		}
		wg.Wait()
		for _, a := range answers {
			if a != answers[0] || !strings.Contains(a, "again on Dec 21, 2026, 10:00 AM UTC") {
				t.Errorf("answers differ or miss the time:\n%s\n%s", a, answers[0])
			}
		}
		// The time scheduled was at most a few seconds after one of the
		// clicks': one reminder, whichever.
		var notes []commands.Notification
		for at := trialEnd.AddDate(0, 0, -4).Add(-time.Minute); at.Before(trialEnd.AddDate(0, 0, -4).Add(time.Minute)); at = at.Add(10 * time.Second) {
			notes = append(notes, e.due(at)...)
		}
		if kinds(notes) != "reminder>U1" {
			t.Errorf("reminders %q, want one", kinds(notes))
		}
	})
}

// TestRemindRefused: another user's trial, a trial that is over and a
// bought one get no reminder, in the user's language, and nothing is
// written.
func TestRemindRefused(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	bought := e.trial(alice, "teams-premium")
	e.buyer(alice)
	e.send(alice, e.buyForm(alice, "teams-premium", 25, store.Monthly))
	e.charge()
	e.clock.Set(trialEnd.AddDate(0, 0, -3))
	tests := []struct {
		who  who
		line string
		want string
	}{
		{bob, "trial remind " + id, "Only the purchaser of Visio Plan 2 (Alice) can change this subscription."},
		{bob, "trial end " + id, "Only the purchaser of Visio Plan 2 (Alice) can change this subscription."},
		{bob, "trial end " + id + " confirm", "Only the purchaser of Visio Plan 2 (Alice) can change this subscription."},
		{alice, "trial remind " + bought, "Teams Premium is no longer a running trial (active). Nothing was changed."},
		{alice, "trial end " + bought + " confirm", "Teams Premium is no longer a running trial (active). Nothing was changed."},
		{alice.de(), "testen erinnern " + bought, "Teams Premium ist keine laufende Testversion mehr (aktiv). Es wurde nichts geändert."},
		{alice, "trial remind nosuch", "None of your subscriptions matches “nosuch”."},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			e := e.at(t)
			before := e.snapshot()
			wantMessage(t, e.run(tt.who, tt.line), tt.want)
			e.wantUnchanged(before)
		})
	}
	t.Run("over", func(t *testing.T) {
		e := e.at(t)
		e.due(trialEnd)
		before := e.snapshot()
		wantMessage(t, e.run(alice, "trial remind "+id), "Visio Plan 2 is no longer a running trial (expired).")
		wantMessage(t, e.run(alice, "trial end "+id), "Visio Plan 2 is no longer a running trial (expired).")
		e.wantUnchanged(before)
	})
}

// TestEndTrialNow: "Cancel now" asks first, saying that the trial ends
// today and who loses access; confirmed, the trial expires at once, the
// admins hear of it, a second click changes nothing, and its later jobs
// do nothing.
func TestEndTrialNow(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		id := e.trial(alice, "visio-plan-2")
		e.assign(alice, id, "U2")
		n := e.reminder(trialEnd.AddDate(0, 0, -7))
		end := e.bot.RenderNotification(n, "en").Buttons[1].Command

		var before map[string]string
		if e.mr != nil {
			before = e.snapshot()
		}
		r := e.run(alice, end)
		wantMessage(t, r, "End your trial now?", "If you end your trial of Visio Plan 2 now, it ends today instead of on Dec 25, 2026, "+
			"and the 1 person it is assigned to loses access at once.")
		if r.Confirm == nil || r.Confirm.Yes != "trial end "+id+" confirm" || r.Confirm.No != "products" {
			t.Fatalf("confirmation %+v", r.Confirm)
		}
		if got := buttons(r.Messages[0]); got != "End trial now → trial end "+id+" confirm; Keep trial → products" {
			t.Errorf("buttons %s", got)
		}
		if s := e.sub("T1", id); s.Status != store.StatusTrial {
			t.Errorf("asking changed the trial: %s", s.Status)
		}
		if e.mr != nil {
			e.wantUnchanged(before)
		}
		wantText(t, e.run(alice.de(), end), "Testversion jetzt beenden?",
			"endet sie heute statt am 25.12.2026, und 1 zugewiesener Benutzer verliert sofort den Zugriff.")

		e.clock.Set(trialEnd.AddDate(0, 0, -7).Add(time.Hour))
		done := e.run(alice, r.Confirm.Yes)
		wantMessage(t, done, "Trial ended", "Your trial of Visio Plan 2 has ended today. The person it was assigned to no longer has access to it.")
		s := e.sub("T1", id)
		if s.Status != store.StatusExpired || !s.TrialEnd.Equal(e.clock.Now()) {
			t.Errorf("ended trial %s, ends %v; want expired now", s.Status, s.TrialEnd)
		}
		notes := e.notes()
		if kinds(notes) != "trial-ended>" {
			t.Fatalf("notifications %q, want the admins'", kinds(notes))
		}
		m := e.bot.RenderNotification(notes[0], "en")
		if m.Title != "Trial ended early" || m.Text != "Alice ended their trial of Visio Plan 2 before its time." || len(m.Buttons) != 0 {
			t.Errorf("admins' notification %+v", m)
		}
		wantIn(t, fieldsOf(m), "Expiration date: Dec 18, 2026")
		wantIn(t, e.bot.RenderNotification(notes[0], "de").Text, "Alice hat die Testversion von Visio Plan 2 vorzeitig beendet.")
		wantText(t, e.run(alice, "products"), "expired", "Expiration date: Dec 18, 2026")

		// A second click of the confirmation: the same answer, nothing new.
		if got, want := text(e.run(alice, r.Confirm.Yes)), text(done); got != want {
			t.Errorf("second click:\n%s\nwant\n%s", got, want)
		}
		for _, at := range []time.Time{trialEnd.AddDate(0, 0, -1), trialEnd, trialEnd.Add(time.Hour)} {
			if notes := e.due(at); len(notes) != 0 {
				t.Errorf("%v: an ended trial notified %q", at, kinds(notes))
			}
		}
		if kinds(e.outboxSince(notes[0])) != "" {
			t.Errorf("more notifications after the end: %q", kinds(e.outboxSince(notes[0])))
		}
	})
}

// TestTrialEndedSaysWhoLostAccess: the answer to ending a trial says who
// lost access only when someone had it.
func TestTrialEndedSaysWhoLostAccess(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		product string
		as      who
		assign  []string
		want    string
	}{
		{"visio-plan-2", alice, nil, "Your trial of Visio Plan 2 has ended today."},
		{"project-plan-3", alice.de(), nil, "Ihre Testversion von Project Plan 3 wurde heute beendet."},
		{"teams-premium", alice, []string{bob.m.ID}, "Your trial of Teams Premium has ended today. The person it was assigned to no longer has access to it."},
		{"visio-plan-2", zoe.de(), []string{yuri.m.ID, zoe.m.ID}, "Ihre Testversion von Visio Plan 2 wurde heute beendet. Die 2 Personen, denen sie zugewiesen war, haben keinen Zugriff mehr darauf."},
	} {
		t.Run(tt.product+" "+tt.as.locale, func(t *testing.T) {
			e := e.at(t)
			id := e.trial(tt.as, tt.product)
			if len(tt.assign) > 0 {
				e.assign(tt.as, id, tt.assign...)
			}
			r := e.run(tt.as, "trial end "+id+" confirm")
			if len(r.Messages) != 1 || r.Messages[0].Text != tt.want {
				t.Errorf("ended trial answers:\n%s\nwant %q", text(r), tt.want)
			}
		})
	}
}

// fieldsOf writes a message's fields as "label: value" lines.
func fieldsOf(m commands.Message) string {
	var b strings.Builder
	for _, f := range m.Fields {
		b.WriteString(f.Label + ": " + f.Value + "\n")
	}
	return b.String()
}

// outboxSince lists the notifications of T1's outbox after n.
func (e *env) outboxSince(n commands.Notification) []commands.Notification {
	e.t.Helper()
	all := added(nil, e.outbox("T1"))
	for i, x := range all {
		if x.Key == n.Key {
			return all[i+1:]
		}
	}
	e.t.Fatalf("%s is not in the outbox", n.Key)
	return nil
}

func wantIn(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%q lacks %q", got, w)
		}
	}
}
