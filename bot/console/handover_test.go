package console

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHandoverInConsole: Bob, a purchaser, leaves; the admin (Alice) sees
// the question, lists the handovers and takes Bob's subscription over by
// its button, choosing her card in the form.
func TestHandoverInConsole(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "bob", "Bob Brown")
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	tb.run(t, strings.Join([]string{"buy visio 3", "", "", "", "", "y", "assign visio", "", "carol"}, "\n")+"\n",
		Options{User: "bob", DueEvery: time.Hour})
	if err := tb.bot.MemberLeft(context.Background(), "demo", "bob"); err != nil {
		t.Fatalf("MemberLeft: %v", err)
	}
	out := tb.run(t, strings.Join([]string{
		"admin handover",
		"1", // [1] Take over
		"",  // the payment method: her card
		"products",
	}, "\n")+"\n", Options{User: "alice", Admin: true, DueEvery: time.Hour})
	mustContain(t, out,
		"[admin notification] A purchaser left",
		"Bob Brown left the organization. Who takes over Visio Plan 2 (3 licenses)?",
		"1 subscription of someone who left waits for a decision",
		"» /billing admin handover take ",
		"You become the purchaser of Visio Plan 2 in place of Bob Brown",
		"You are now the purchaser of Visio Plan 2.",
		"[admin notification] Handover decided",
		"Alice Adams took over Visio Plan 2 from Bob Brown",
	)
	out = tb.run(t, "admin uebergabe\n", Options{User: "alice", Admin: true, Locale: "de-DE"})
	mustContain(t, out, "Kein Abonnement ausgeschiedener Käufer wartet auf eine Entscheidung.")
}
