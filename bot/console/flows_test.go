package console

import (
	"strings"
	"testing"
	"time"
)

// charged runs the scheduler, so that purchases are paid at once.
var charged = Options{DueEvery: time.Hour}

// TestBareCancelChooses: "cancel" typed outside a form (as every form
// says to close it) opens no cancellation: it asks which subscription.
func TestBareCancelChooses(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy copilot 1\n\n\n\n\ny\ncancel\n", charged)
	mustContain(t, out, "Which subscription do you want to cancel?\n\n[1] Microsoft 365 Copilot · 1 license ·")
	mustNotContain(t, out, "Reason for cancellation", "Subscription canceled")
}

// TestAssignPeopleOnTheLine: the words after the subscription are people,
// and the form shows the free licenses before asking for them.
func TestAssignPeopleOnTheLine(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy copilot 5\n\n\n\n\ny\nassign copilot bob, carol\n\n\n", charged)
	mustContain(t, out, "[Bob Brown, Carol Clark]", "Microsoft 365 Copilot is now assigned to Bob Brown, Carol Clark.")
	free, people := strings.Index(out, "Free licenses"), strings.Index(out, "People –")
	if free < 0 || people < 0 || free > people {
		t.Errorf("the free licenses (%d) do not come before the people (%d):\n%s", free, people, out)
	}
	out = tb.run(t, "assign copilot dave, Zed Zulu\n", charged)
	mustContain(t, out, "Zed Zulu is not a member of your organization.")
}

// TestSupportNamesAdmins: without a support contact, support names the
// demo organization's admin, with a mention.
func TestSupportNamesAdmins(t *testing.T) {
	tb := newTestBot(t)
	out := tb.run(t, "support\n", Options{User: "bob", Admin: false})
	mustContain(t, out, "Your organization's administrator can help you:\n  - Alice Adams (@alice)\n")
	mustNotContain(t, out, "Contact support")
}

// TestProductsSelfServiceLicensee: a license someone bought by
// self-service is shown to its holder under the self-service filter.
func TestProductsSelfServiceLicensee(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	tb.run(t, "buy copilot 2\n\n\n\n\ny\nassign copilot bob\n\n\n", charged)
	out := tb.run(t, "products self-service\n", Options{User: "bob", Admin: false})
	mustContain(t, out, "Only self-service purchases are shown", "Microsoft 365 Copilot", "A license bought by Alice Adams is assigned to you.")
	mustNotContain(t, out, "You have no subscriptions yet")
}

// TestCommandLineAnswers: a total below the licenses assigned says so, in
// the user's numbers; a trial of a product bought is refused; an unknown
// command is repeated without invisible characters.
func TestCommandLineAnswers(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	tb.run(t, "buy copilot 3\n\n\n\n\ny\nassign copilot bob, carol\n\n\nbuy visio 1\n\n\n\n\ny\n", charged)
	out := tb.run(t, "licenses copilot 1\nlizenzen copilot 9000\ntrial visio\nfr\u202eob\u200b\n", charged)
	mustContain(t, out,
		"2 licenses are assigned, so the total cannot be lower. Unassign licenses first.",
		"Microsoft 365 Copilot allows at most 5,000 licenses.",
		"You have already bought Visio Plan 2, so there is no trial to start.",
		"I don't know the command “frob”.")
	mustNotContain(t, out, "whole number", "\u202e", "\u200b")
	out = tb.run(t, "lizenzen copilot 9000\n", Options{Locale: "de", DueEvery: time.Hour})
	mustContain(t, out, "Microsoft 365 Copilot erlaubt höchstens 5.000 Lizenzen.")
}

// TestFormatCharsInLines: what the user types is read as it looks, without
// characters shown as nothing: a command with a zero-width space or a bidi
// override in it works, the console's own words too, and no answer or echo
// holds them.
func TestFormatCharsInLines(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "\u200bhelp\n\u200bproducts\n\u200b1\nbuy vi\u202esio 2\n\u2066\n\n\ufeffclose\n\u200bquit\nhelp\n", Options{})
	mustContain(t, out,
		"Buy subscriptions and start trials",
		"2 licenses of Visio Plan 2 at €12.60 per license per month.",
		"Form closed; nothing was changed.",
		"» /billing catalog\n")
	mustNotContain(t, out, "I don't know the command", "No product matches", "\u200b", "\u202e", "\u2066", "\ufeff")
	if n := strings.Count(out, "Buy subscriptions and start trials"); n != 1 {
		t.Errorf("help answered %d times, want once: the session ends at \\u200bquit\n%s", n, out)
	}
}
