package commands_test

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// The cancellation reasons of PRODUCT.md §3 and GLOSSARY.md.
var reasons = []struct{ key, en, de string }{
	{"too_expensive", "Too expensive", "Zu teuer"},
	{"missing_features", "Missing features", "Fehlende Funktionen"},
	{"switched_service", "Switched to another service", "Zu einem anderen Dienst gewechselt"},
	{"unused", "Not used enough", "Wird nicht genug genutzt"},
	{"customer_service", "Customer service", "Kundenservice"},
	{"too_complex", "Too complex", "Zu kompliziert"},
	{"low_quality", "Quality was lower than expected", "Qualität geringer als erwartet"},
	{"other", "Other", "Sonstiges"},
}

func cancelForm(sub, reason, feedback, confirm string) *commands.Submission {
	return form(commands.FormCancel, sub, "subscription", sub, "reason", reason, "feedback", feedback, "confirm", confirm)
}

// TestCancelForm offers the reasons and says what the purchaser keeps.
func TestCancelForm(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, id, bob.m.ID, carol.m.ID)
	for _, tt := range []struct {
		as    who
		line  string
		keeps string
	}{
		{alice, "cancel visio", "You keep Visio Plan 2 until Dec 25, 2026. After that, 2 users lose their licenses. You will not be charged the renewal of €63.00 on Dec 25, 2026."},
		{alice.de(), "kündigen visio", "Sie behalten Visio Plan 2 bis zum 25.12.2026. Danach verlieren 2 Benutzer ihre Lizenzen. Die Verlängerung über 63,00 € am 25.12.2026 wird Ihnen nicht berechnet."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			f := wantForm(t, e.at(t).run(tt.as, tt.line), commands.FormCancel)
			if f.Context != id {
				t.Errorf("form context %q, want %s", f.Context, id)
			}
			if got := input(t, f, "keeps").Text; got != tt.keeps {
				t.Errorf("keeps = %q, want %q", got, tt.keeps)
			}
			opts := input(t, f, "reason").Options
			if len(opts) != len(reasons) {
				t.Fatalf("%d reasons, want %d", len(opts), len(reasons))
			}
			for i, r := range reasons {
				label := r.en
				if tt.as.locale == "de-DE" {
					label = r.de
				}
				if opts[i].Value != r.key || opts[i].Label != label {
					t.Errorf("reason %d = %+v, want %s %q", i, opts[i], r.key, label)
				}
			}
			if in := input(t, f, "feedback"); in.Required || in.MaxLength != 1000 {
				t.Errorf("feedback = %+v, want optional, at most 1000", in)
			}
			if in := input(t, f, "confirm"); !in.Required || in.Kind != commands.KindConfirm {
				t.Errorf("confirm = %+v, want a required confirmation", in)
			}
		})
	}
}

// TestCancel cancels: reason required, feedback ≤ 1000 characters,
// confirmation required; the purchaser keeps the subscription until the
// end of the period.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)

	before := e.snapshot()
	for _, tt := range []struct {
		name  string
		as    who
		f     *commands.Submission
		field string
		want  string
	}{
		{"no reason", alice, cancelForm(id, "", "", "yes"), "reason", "Choose a reason for the cancellation."},
		{"unknown reason", alice, cancelForm(id, "bogus", "", "yes"), "reason", "Choose a reason for the cancellation."},
		{"reason label instead of key", alice, cancelForm(id, "Too expensive", "", "yes"), "reason", "Choose a reason"},
		{"unknown reason de", alice.de(), cancelForm(id, "bogus", "", "yes"), "reason", "Wählen Sie einen Grund für die Kündigung aus."},
		{"feedback 1001", alice, cancelForm(id, "other", strings.Repeat("x", 1001), "yes"), "feedback", "at most 1,000 characters"},
		{"feedback 1001 umlauts de", alice.de(), cancelForm(id, "other", strings.Repeat("ä", 1001), "yes"), "feedback", "höchstens 1.000 Zeichen"},
		{"not confirmed", alice, cancelForm(id, "other", "", ""), "confirm", "Please confirm to continue."},
		{"not confirmed de", alice.de(), cancelForm(id, "other", "", "no"), "confirm", "Bitte bestätigen Sie, um fortzufahren."},
		{"not the purchaser", bob, cancelForm(id, "other", "", "yes"), "subscription", "Choose one of your subscriptions."},
		{"other organization", zoe, cancelForm(id, "other", "", "yes"), "subscription", "Choose one of your subscriptions."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantFieldError(t, e.at(t).send(tt.as, tt.f), tt.field, tt.want)
		})
	}
	e.wantUnchanged(before)

	feedback := strings.Repeat("ü", 1000)
	r := e.send(alice, cancelForm(id, "too_expensive", feedback, "yes"))
	wantMessage(t, r, "Visio Plan 2 is canceled. You keep it until Dec 25, 2026.")
	s := e.sub("T1", id)
	if s.Status != store.StatusCanceled || s.CancelReason != "too_expensive" || s.CancelComment != feedback || !s.RenewsAt.Equal(t0.AddDate(0, 1, 0)) {
		t.Errorf("canceled subscription = %+v", s)
	}
	noted := e.notes()
	if len(noted) != 1 || noted[0].Kind != commands.NoteCancel || noted[0].Sub.Reason != "too_expensive" {
		t.Fatalf("notifications = %+v, want one of kind cancel with the reason", noted)
	}
	for lang, want := range map[string]string{
		"en": "Alice canceled Visio Plan 2. Reason: Too expensive.",
		"de": "Alice hat Visio Plan 2 gekündigt. Grund: Zu teuer.",
	} {
		if msg := e.bot.RenderNotification(noted[0], lang); msg.Text != want {
			t.Errorf("%s notice = %q, want %q", lang, msg.Text, want)
		}
	}
	wantText(t, e.run(alice, "products"), "canceled", "Expiration date: Dec 25, 2026")

	t.Run("again", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		wantMessage(t, e.run(alice, "cancel "+id), "Visio Plan 2 is canceled and can no longer be changed.")
		wantMessage(t, e.run(alice.de(), "kuendigen "+id), "Visio Plan 2 ist gekündigt und kann nicht mehr geändert werden.")
		wantMessage(t, e.run(alice, "cancel"), "You have no subscription this applies to.")
		wantFieldError(t, e.send(alice, cancelForm(id, "other", "", "yes")), "subscription", "can no longer be changed")
		e.wantUnchanged(before)
	})
}

// TestCancelReasons: every reason is accepted and named in the
// notification, in both languages.
func TestCancelReasons(t *testing.T) {
	for _, reason := range reasons {
		t.Run(reason.key, func(t *testing.T) {
			e := newEnv(t)
			id := e.trial(alice, "visio-plan-2")
			r := e.send(alice, cancelForm(id, reason.key, "", "yes"))
			wantMessage(t, r, "Visio Plan 2 is canceled. You keep it until Dec 25, 2026.")
			noted := e.notes()
			if len(noted) != 1 {
				t.Fatalf("%d notifications, want 1", len(noted))
			}
			if got := e.bot.RenderNotification(noted[0], "en").Text; !strings.HasSuffix(got, "Reason: "+reason.en+".") {
				t.Errorf("en notice %q, want reason %q", got, reason.en)
			}
			if got := e.bot.RenderNotification(noted[0], "de").Text; !strings.HasSuffix(got, "Grund: "+reason.de+".") {
				t.Errorf("de notice %q, want reason %q", got, reason.de)
			}
		})
	}
}

// TestBareCancelChooses answers a bare "cancel" (which every form says
// closes it) with a choice of the user's subscriptions, even of one:
// nothing is preselected and no cancellation form opens.
func TestBareCancelChooses(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	before := e.snapshot()
	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{alice, "cancel", "Which subscription do you want to cancel?"},
		{alice, "/billing cancel", "Which subscription do you want to cancel?"},
		{alice.de(), "kündigen", "Welches Abonnement möchten Sie kündigen?"},
		{alice.de(), "kuendigen", "Welches Abonnement möchten Sie kündigen?"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			if b := r.Messages[0].Buttons; len(b) != 1 || b[0].Command != "cancel "+id || !strings.HasPrefix(b[0].Label, "Visio Plan 2") {
				t.Errorf("buttons %+v, want one that runs cancel %s", b, id)
			}
		})
	}
	wantForm(t, e.run(alice, "cancel "+id), commands.FormCancel)
	e.wantUnchanged(before)
	wantMessage(t, e.run(bob, "cancel"), "You have no subscription this applies to.")
}
