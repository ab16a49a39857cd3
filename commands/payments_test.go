package commands_test

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestPendingPurchase: a purchase whose payment has not gone through is
// listed as pending, and cannot be changed until it has.
func TestPendingPurchase(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	r := e.send(alice, e.buyForm(alice, "visio-plan-2", 4, store.Monthly))
	id := e.invoice(alice, invoiceOf(t, r)).SubID
	wantText(t, e.run(alice, "products"), "payment pending", "Starts: when the payment has gone through")
	wantText(t, e.run(alice.de(), "produkte"), "Zahlung ausstehend", "Beginn: sobald die Zahlung eingegangen ist")
	before := e.snapshot()
	for _, tt := range []struct {
		as   who
		f    *commands.Submission
		want string
	}{
		{alice, licensesForm(id, "8"), "Visio Plan 2 can be changed as soon as its payment has gone through."},
		{alice.de(), cancelForm(id, "other", "", "yes"), "Visio Plan 2 kann geändert werden, sobald die Zahlung eingegangen ist."},
	} {
		wantFieldError(t, e.send(tt.as, tt.f), "subscription", tt.want)
	}
	wantMessage(t, e.run(alice, "licenses "+id+" 8"), "Visio Plan 2 can be changed as soon as its payment has gone through.")
	e.wantUnchanged(before)
	e.charge()
	if s := e.sub("T1", id); s.Status != store.StatusActive {
		t.Errorf("after the charge: %s", s.Status)
	}
}

// TestPaymentNotices: what the purchaser is told of each outcome, in both
// languages, depends on whether the invoice bought something.
func TestPaymentNotices(t *testing.T) {
	e := newEnv(t)
	sub := commands.NotifiedSub{ID: "s1", Product: "Visio Plan 2", Price: 6300, Currency: "EUR", Invoice: "20261125-ABCDEFGH",
		Licenses: 5, URL: "https://pay.example/pay/tok"}
	for _, tt := range []struct {
		kind   commands.NotificationKind
		grant  string
		en, de string
		button string
	}{
		{commands.NotePaid, "purchase", "The payment of €63.00 for Visio Plan 2 (invoice 20261125-ABCDEFGH) has gone through: the subscription now has 5 licenses.",
			"Die Zahlung von 63,00 € für Visio Plan 2 (Rechnung 20261125-ABCDEFGH) ist eingegangen: Das Abonnement hat jetzt 5 Lizenzen.", "PDF 20261125-ABCDEFGH"},
		{commands.NotePaymentFailed, "purchase", "was declined, so nothing was bought.", "wurde abgelehnt; es wurde nichts gekauft.", ""},
		{commands.NotePaymentFailed, "", "The payment of €63.00 for invoice 20261125-ABCDEFGH (Visio Plan 2) failed. The invoice is open",
			"ist fehlgeschlagen. Die Rechnung ist offen", ""},
		{commands.NoteActionRequired, "purchase", "Your bank asks you to confirm the payment of €63.00 for Visio Plan 2. Nothing is bought until you do",
			"Ihre Bank bittet Sie, die Zahlung von 63,00 € für Visio Plan 2 zu bestätigen.", "https://pay.example/pay/tok"},
		{commands.NotePaymentExpired, "purchase", "was not confirmed in time, so nothing was bought and nothing was charged.",
			"wurde nicht rechtzeitig bestätigt; es wurde nichts gekauft und nichts belastet.", ""},
		{commands.NotePaymentExpired, "", "was not confirmed in time. The invoice is unpaid",
			"wurde nicht rechtzeitig bestätigt. Die Rechnung ist unbezahlt", ""},
		{commands.NoteRefunded, "purchase", "was refunded.", "wurde erstattet.", ""},
		{commands.NoteDisputed, "purchase", "is disputed with your bank.", "wird bei Ihrer Bank angefochten.", ""},
	} {
		t.Run(string(tt.kind)+"/"+tt.grant, func(t *testing.T) {
			s := sub
			s.Grant = tt.grant
			n := commands.Notification{Org: "T1", To: alice.m.ID, Kind: tt.kind, Sub: s, Key: "k"}
			for lang, want := range map[string]string{"en": tt.en, "de": tt.de} {
				msg := e.bot.RenderNotification(n, lang)
				if !strings.Contains(msg.Text, want) || msg.Title == "" || strings.HasPrefix(msg.Title, "[") {
					t.Errorf("%s: %q / %q, want %q", lang, msg.Title, msg.Text, want)
				}
			}
			if tt.button == "" {
				return
			}
			found := false
			for _, b := range e.bot.RenderNotification(n, "en").Buttons {
				found = found || b.Label == tt.button || b.URL == tt.button
			}
			if !found {
				t.Errorf("no button %q", tt.button)
			}
		})
	}
}
