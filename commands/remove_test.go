package commands_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// secondCard gives w another card (a Mastercard) in the default profile.
func (e *env) secondCard(w who) store.PaymentMethod {
	e.t.Helper()
	m, err := e.bot.CompletePayLink(e.t.Context(), e.payLink(w, ""), visa("5555555555554444"))
	if err != nil {
		e.t.Fatalf("CompletePayLink: %v", err)
	}
	return m
}

func removeForm(method, confirm string) *commands.Submission {
	return form(commands.FormRemoveMethod, method, "confirm", confirm)
}

// TestRemoveMethod: "payment remove" asks to confirm, names the card and
// what pays the subscriptions from then on; the removal switches them to
// the profile's other method in the same step, once, and is audited. The
// last method of a profile that live subscriptions are paid with stays.
func TestRemoveMethod(t *testing.T) {
	e := newEnv(t)
	visaM := e.buyer(alice)
	master := e.secondCard(alice)
	sub := e.buy(alice, "visio-plan-2", 3) // paid with the Visa, the first method

	wantMessage(t, e.run(alice, "payment"), "payment remove "+visaM.ID, "payment remove "+master.ID)

	f := wantForm(t, e.run(alice, "payment remove "+visaM.ID), commands.FormRemoveMethod)
	if f.Context != visaM.ID || f.Title != "Remove payment method" || f.Submit != "Remove" {
		t.Errorf("form = %+v", f)
	}
	if in := input(t, f, "method"); in.Text != "Visa •••• 4242 (12/2030) – Billing profile" {
		t.Errorf("method shown as %q", in.Text)
	}
	if in := input(t, f, "effect"); !strings.Contains(in.Text, "paid with Mastercard •••• 4444 (12/2030) from now on: Visio Plan 2 · 3 licenses") {
		t.Errorf("effect = %q", in.Text)
	}
	if in := input(t, f, "confirm"); in.Kind != commands.KindConfirm || !in.Required {
		t.Errorf("confirm = %+v", in)
	}
	de := wantForm(t, e.run(alice.de(), "zahlung entfernen "+visaM.ID), commands.FormRemoveMethod)
	if in := input(t, de, "effect"); de.Title != "Zahlungsmethode löschen" ||
		!strings.Contains(in.Text, "Diese Abonnements werden ab jetzt mit Mastercard •••• 4444 (12/2030) bezahlt: Visio Plan 2") {
		t.Errorf("German form %q: effect %q", de.Title, in.Text)
	}

	before := e.snapshot()
	wantFieldError(t, e.send(alice, removeForm(visaM.ID, "")), "confirm", "Please confirm to continue.")
	wantFieldError(t, e.send(alice, removeForm("nope", "yes")), "confirm", "That payment method does not exist (any more).")
	e.wantUnchanged(before)

	r := e.sendKey(alice, "remove-1", removeForm(visaM.ID, "yes"))
	wantMessage(t, r, "Payment method removed", "Visa •••• 4242 (12/2030) is removed and can no longer be charged.",
		"Visio Plan 2 · 3 licenses · Nov 25, 2026 is now paid with Mastercard •••• 4444 (12/2030).")
	if got := e.sub("T1", sub).MethodID; got != master.ID {
		t.Errorf("the subscription is paid with %s, want the Mastercard %s", got, master.ID)
	}
	if _, _, ok := e.view(alice).Billing.Method(visaM.ID); ok {
		t.Error("the Visa is still saved")
	}
	audit, err := e.st.Audit(t.Context(), "T1", 2)
	if err != nil || len(audit) != 2 || audit[0].Action != "payment-switch" || audit[0].Target != sub ||
		audit[1].Action != "payment-remove "+visaM.ID || audit[1].Actor != alice.m.ID {
		t.Errorf("audit = %+v, %v", audit, err)
	}

	// A repeat (a double click, a platform's retry) answers the same and
	// changes nothing.
	before = e.snapshot()
	if again := e.sendKey(alice, "remove-1", removeForm(visaM.ID, "yes")); text(again) != text(r) {
		t.Errorf("repeat answered\n%s\nwant\n%s", text(again), text(r))
	}
	e.wantUnchanged(before)

	// The Mastercard is now the last method and pays the subscription.
	for _, tt := range []struct {
		as   who
		line string
		want string
	}{
		{alice, "payment remove " + master.ID, "Mastercard •••• 4444 (12/2030) is the only payment method of Billing profile, and these subscriptions are paid with it: Visio Plan 2 · 3 licenses"},
		{alice.de(), "zahlung entfernen " + master.ID, "Mastercard •••• 4444 (12/2030) ist die einzige Zahlungsmethode von Abrechnungsprofil, und diese Abonnements werden damit bezahlt: Visio Plan 2 · 3 Lizenzen"},
		{alice, "payment remove nope", "That payment method does not exist (any more)."},
	} {
		wantText(t, e.run(tt.as, tt.line), tt.want)
	}
	wantFieldError(t, e.send(alice, removeForm(master.ID, "yes")), "confirm", "is the only payment method of Billing profile")
	e.wantUnchanged(before)

	// Once canceled, nothing live is paid with it: it goes.
	if r := e.send(alice, cancelForm(sub, "too_expensive", "", "yes")); len(r.FieldErrors) > 0 {
		t.Fatalf("cancel: %v", r.FieldErrors)
	}
	wantText(t, e.run(alice, "payment remove "+master.ID), "No subscription is paid with it.")
	r = e.send(alice, removeForm(master.ID, "yes"))
	wantMessage(t, r, "Mastercard •••• 4444 (12/2030) is removed and can no longer be charged.")
	if strings.Contains(text(r), "now paid with") {
		t.Errorf("a canceled subscription is named:\n%s", text(r))
	}
	if ms := e.view(alice).Billing.Accounts[0].Profiles[0].Methods; len(ms) != 0 {
		t.Errorf("methods left: %+v", ms)
	}
}

// TestRemovePending: a purchase whose payment is under way is paid with
// its method: the last one stays.
func TestRemovePending(t *testing.T) {
	e := newEnv(t)
	m := e.buyer(alice)
	e.send(alice, e.buyForm(alice, "project-plan-1", 2, store.Monthly)) // not charged yet: pending
	wantText(t, e.run(alice, "payment remove "+m.ID), "is the only payment method of Billing profile")
	wantFieldError(t, e.send(alice, removeForm(m.ID, "yes")), "confirm", "is the only payment method")
	if _, _, ok := e.view(alice).Billing.Method(m.ID); !ok {
		t.Error("the method was removed")
	}
}

// noDetach is the sandbox with a provider that cannot detach just now.
type noDetach struct{ *payment.Sandbox }

func (noDetach) Detach(context.Context, string) error { return errors.New("provider unavailable") }

// TestRemoveDetachFails: when the provider cannot detach the card, nothing
// is removed and the user is asked to try again.
func TestRemoveDetachFails(t *testing.T) {
	e := newEnv(t)
	visaM := e.buyer(alice)
	e.secondCard(alice)
	bot, err := commands.New(e.st, e.cat, noDetach{payment.NewSandbox()}, e.cfg, commands.WithClock(e.clock.Now),
		commands.WithLogger(slog.New(slog.NewTextHandler(testLog{t, e.logs}, nil))))
	if err != nil {
		t.Fatal(err)
	}
	e.bot = bot
	before := e.snapshot()
	for _, as := range []who{alice, alice.de()} {
		r := e.send(as, removeForm(visaM.ID, "yes"))
		want := map[string]string{"en": "The payment provider could not remove Visa •••• 4242 (12/2030) just now, so nothing was removed.",
			"de": "Der Zahlungsanbieter konnte Visa •••• 4242 (12/2030) gerade nicht entfernen, daher wurde nichts entfernt."}[r.Lang]
		wantFieldError(t, r, "confirm", want)
	}
	e.wantUnchanged(before)
}

// TestPaymentHelp: help names the payment command's actions.
func TestPaymentHelp(t *testing.T) {
	e := newEnv(t)
	wantText(t, e.run(alice, "help"), "/billing payment [action] [method]", "Your payment methods: add, edit, replace or remove them")
	wantText(t, e.run(alice.de(), "hilfe"), "/billing zahlung [aktion] [methode]", "hinzufügen, bearbeiten, ersetzen, entfernen")
}

// TestRemoveWhilePending: a purchase still waiting for its charge, whose
// card is removed, is charged to the card that pays its subscription now.
func TestRemoveWhilePending(t *testing.T) {
	e := newEnv(t)
	m := e.buyer(alice)
	other := e.secondCard(alice)
	r := e.send(alice, e.buyForm(alice, "project-plan-1", 2, store.Monthly)) // pays with m, not charged yet
	inv := e.invoice(alice, invoiceOf(t, r))
	if inv.Method != m.ID {
		t.Fatalf("invoice charged to %q, want %q", inv.Method, m.ID)
	}
	wantMessage(t, e.send(alice, removeForm(m.ID, "yes")), other.Last4)
	notes := e.charge()
	if s := e.sub("T1", inv.SubID); s.Status != store.StatusActive || s.MethodID != other.ID {
		t.Errorf("after the charge: %s paid with %q, want active with %q; notifications %q", s.Status, s.MethodID, other.ID, kinds(notes))
	}
}
