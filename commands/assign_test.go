package commands_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
)

// TestAssignPeopleOnTheLine reads the words after the subscription as
// people (names, ids, mentions, with or without commas), the subscription
// being the longest run of words that names exactly one of the user's.
func TestAssignPeopleOnTheLine(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	visio := e.buy(alice, "visio-plan-2", 5)
	pp1 := e.buy(alice, "project-plan-1", 5)
	pp3 := e.buy(alice, "project-plan-3", 5)
	before := e.snapshot()

	for _, tt := range []struct {
		line  string
		sub   string
		users []string
	}{
		{"assign visio bob", visio, []string{"U2"}},
		{"assign visio alice, bob, carol", visio, []string{"U1", "U2", "U3"}},
		{"assign visio alice,bob , carol", visio, []string{"U1", "U2", "U3"}},
		{"assign visio bob carol", visio, []string{"U2", "U3"}},
		{"assign visio bob @bob <@U2>", visio, []string{"U2"}},
		{"assign visio @bob, Carol", visio, []string{"U2", "U3"}},
		{"assign Visio Plan 2 bob", visio, []string{"U2"}},
		{"assign project plan 3 bob", pp3, []string{"U2"}},
		{"assign project plan 1 bob, erin", pp1, []string{"U2", "U5"}},
		{"assign " + pp1 + " bob", pp1, []string{"U2"}},
		{`assign visio "Person P01"`, visio, []string{"P01"}},
		{"zuweisen visio bob", visio, []string{"U2"}},
	} {
		t.Run(tt.line, func(t *testing.T) {
			f := wantForm(t, e.at(t).run(alice, tt.line), commands.FormAssign)
			if got := input(t, f, "users").Value; f.Context != tt.sub || !slices.Equal(got, tt.users) {
				t.Errorf("subscription %s, users %v; want %s, %v", f.Context, got, tt.sub, tt.users)
			}
		})
	}

	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{alice, "assign visio bob nobody", "nobody is not a member of your organization."},
		{alice, "assign visio bob, Zed Zulu", "Zed Zulu is not a member of your organization."},
		{alice, "assign visio nobody, Botty, Gone", "nobody is not a member of your organization.\nBotty is an app, not a person.\nGone is deactivated."},
		{alice.de(), "zuweisen visio niemand", "niemand gehört nicht zu Ihrer Organisation."},
		{alice, "assign visoi bob", "None of your subscriptions matches “visoi”."},
		{alice, "assign @bob visio", "Name the subscription first, then the people"},
	} {
		t.Run(tt.line, func(t *testing.T) { wantMessage(t, e.at(t).run(tt.as, tt.line), tt.want) })
	}

	t.Run("a choice keeps the people", func(t *testing.T) {
		r := e.at(t).run(alice, "assign project plan bob, carol")
		wantMessage(t, r, "Which subscription do you mean?")
		var cmds []string
		for _, b := range r.Messages[0].Buttons {
			cmds = append(cmds, b.Command)
		}
		want := []string{"assign " + pp1 + " bob, carol", "assign " + pp3 + " bob, carol"}
		slices.Sort(cmds)
		slices.Sort(want)
		if !slices.Equal(cmds, want) {
			t.Fatalf("buttons run %q, want %q", cmds, want)
		}
		f := wantForm(t, e.at(t).run(alice, cmds[0]), commands.FormAssign)
		if got := input(t, f, "users").Value; !slices.Equal(got, []string{"U2", "U3"}) {
			t.Errorf("users %v, want [U2 U3]", got)
		}
	})

	t.Run("people without a subscription", func(t *testing.T) {
		r := e.at(t).run(alice, "assign bob")
		wantMessage(t, r, "Which subscription do you mean?")
		if b := r.Messages[0].Buttons[0]; !strings.HasSuffix(b.Command, " bob") {
			t.Errorf("button runs %q, want it to keep bob", b.Command)
		}
	})
	e.wantUnchanged(before)
}

// TestAssignFormReadsPeople reads the form's people as the command line
// does, and shows the free licenses before the people they limit.
func TestAssignFormReadsPeople(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)

	f := wantForm(t, e.run(alice, "assign visio"), commands.FormAssign)
	var order []string
	for _, in := range f.Inputs {
		order = append(order, in.ID)
	}
	if !slices.Equal(order, []string{"subscription", "free", "users"}) {
		t.Errorf("inputs %v, want the free licenses before the people: [subscription free users]", order)
	}
	// Its label says what the number counts: "Free licenses: 5 of 5 free."
	for _, in := range f.Inputs {
		if in.ID == "free" && (in.Label != "Free licenses" || !strings.HasPrefix(in.Text, "5 of 5 free.")) {
			t.Errorf("free licenses: %q %q, want \"Free licenses\" \"5 of 5 free.\"", in.Label, in.Text)
		}
	}

	r := e.send(alice, form(commands.FormAssign, id, users(nil, "bob, nobody")...))
	wantFieldError(t, r, "users", "nobody is not a member of your organization.")
	r = e.send(alice, form(commands.FormAssign, id, users(nil, "bob carol", "@bob")...))
	wantText(t, r, "Visio Plan 2 is now assigned to Bob, Carol.")
}

// TestUnassignNobodyAssigned: "unassign visio" when the user's Visio has
// nobody assigned says so, in their language, instead of that none of
// their subscriptions matches; one the command cannot act on (a trial's
// end of a subscription) is named; a name they have none of still says
// that none matches.
func TestUnassignNobodyAssigned(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buy(alice, "visio-plan-2", 2)
	wantMessage(t, e.run(alice, "unassign visio"), "Nobody is assigned a license of Visio Plan 2, so there is nothing to unassign.")
	wantMessage(t, e.run(alice.de(), "aufheben visio"), "Niemandem ist eine Lizenz von Visio Plan 2 zugewiesen; es gibt nichts aufzuheben.")
	wantMessage(t, e.run(alice, "unassign teams"), "None of your subscriptions matches “teams”.")
	// Visio is no trial to end: the user has it, so it is named.
	wantMessage(t, e.run(alice, "trial end visio"), "This is not possible for Visio Plan 2 at the moment.")
	wantMessage(t, e.run(alice.de(), "testen beenden visio"), "Für Visio Plan 2 ist dies derzeit nicht möglich.")
}
