package commands_test

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestTrialOfBoughtProduct refuses a trial of a product the user bought,
// on the command line, in the form's choices and in the form.
func TestTrialOfBoughtProduct(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	before := e.snapshot()

	r := e.run(alice, "trial visio")
	wantMessage(t, r, "You have already bought Visio Plan 2, so there is no trial to start.")
	if b := r.Messages[0].Buttons; len(b) != 1 || b[0].Command != "licenses "+id {
		t.Errorf("buttons %+v, want one to licenses %s", b, id)
	}
	wantMessage(t, e.run(alice.de(), "testen visio"), "Sie haben Visio Plan 2 bereits gekauft, daher können Sie keine Testversion starten.")

	f := wantForm(t, e.run(alice, "trial"), commands.FormTrial)
	for _, o := range input(t, f, "product").Options {
		if o.Value == "visio-plan-2" {
			t.Errorf("the trial form offers Visio Plan 2, which alice bought: %+v", input(t, f, "product").Options)
		}
	}
	if info := input(t, f, "info").Text; strings.Contains(info, "Visio") {
		t.Errorf("the trial form describes a trial of Visio Plan 2:\n%s", info)
	}
	wantFieldError(t, e.send(alice, form(commands.FormTrial, "", "product", "visio-plan-2")), "product",
		"You have already bought Visio Plan 2")
	e.wantUnchanged(before)

	// Someone else's purchase is no reason: the organization's one trial
	// of the product is still there to take.
	wantForm(t, e.run(bob, "trial visio"), commands.FormTrial)
}

// TestZeroCounts leaves counts of nobody out of sentences instead of
// saying "0 users".
func TestZeroCounts(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 1)

	for _, tt := range []struct {
		as   who
		want string
	}{
		{alice, "You keep Visio Plan 2 until Dec 25, 2026. No license is assigned, so nobody loses one. You will not be charged the renewal of €12.60 on Dec 25, 2026."},
		{alice.de(), "Sie behalten Visio Plan 2 bis zum 25.12.2026. Es ist keine Lizenz zugewiesen, daher verliert niemand eine. Die Verlängerung über 12,60 € am 25.12.2026 wird Ihnen nicht berechnet."},
	} {
		f := wantForm(t, e.run(tt.as, "cancel "+id), commands.FormCancel)
		if got := input(t, f, "keeps").Text; got != tt.want {
			t.Errorf("keeps = %q, want %q", got, tt.want)
		}
	}

	e.assign(alice, id, bob.m.ID)
	before := e.snapshot()
	for _, tt := range []struct {
		as   who
		want string
	}{
		{alice, "No license is free; you chose 1 person. Buy more with /billing licenses."},
		{alice.de(), "Keine Lizenz ist frei; Sie haben 1 Person ausgewählt."},
	} {
		wantFieldError(t, e.send(tt.as, form(commands.FormAssign, id, users(nil, carol.m.ID)...)), "users", tt.want)
	}
	wantFieldError(t, e.send(alice, form(commands.FormAssign, id, users(nil, carol.m.ID, erin.m.ID)...)), "users",
		"No license is free; you chose 2 people.")
	e.wantUnchanged(before)

	e.trial(alice, "teams-premium")
	r := e.send(alice, e.buyForm(alice, "teams-premium", 3, store.Monthly))
	wantText(t, r, "Your trial of Teams Premium becomes a subscription once paid.")
	if got := text(r); strings.Contains(got, "0 users") {
		t.Errorf("the conversion counts 0 users:\n%s", got)
	}
}
