package slack

import (
	"fmt"
	"strings"
	"testing"
)

// unescaped undoes encoding/json's escaping of <, > and & in a body.
func unescaped(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// TestSupportNamesAdmins: without a support contact, support names the
// workspace's admins from users.list, each with a mention, and keeps the
// list for the next request.
func TestSupportNamesAdmins(t *testing.T) {
	e := newEnv(t)
	e.slack.addUser("U5", "Olga Owner", "en-US", map[string]any{"is_owner": true})
	e.slack.addUser("UBOTADM", "Admin Bot", "en-US", map[string]any{"is_admin": true, "is_bot": true})
	e.slack.addUser("UGONEADM", "Old Admin", "en-US", map[string]any{"is_admin": true, "deleted": true})
	e.slack.addUser("UOTHERADM", "Their Admin", "en-US", map[string]any{"is_admin": true, "team_id": "T2"})

	body := unescaped(e.command("U1", "support", "trig-s1").Body.String())
	for _, want := range []string{"Your organization's administrators can help you:", "• Dave (<@U4>)", "• Olga Owner (<@U5>)"} {
		if !strings.Contains(body, want) {
			t.Errorf("support lacks %q: %s", want, body)
		}
	}
	for _, not := range []string{"Contact support", "Admin Bot", "Old Admin", "Their Admin"} {
		if strings.Contains(body, not) {
			t.Errorf("support says %q: %s", not, body)
		}
	}
	body = unescaped(e.command("U3", "support", "trig-s2").Body.String())
	if !strings.Contains(body, "helfen Ihnen die Administratoren Ihrer Organisation:") || !strings.Contains(body, "• Dave (<@U4>)") {
		t.Errorf("German support: %s", body)
	}
	if n := e.slack.count("users.list"); n != 1 {
		t.Errorf("users.list called %d times, want 1 (cached)", n)
	}
}

// TestAssignPeopleOnTheCommandLine: Slack's escaped mentions after the
// subscription are people, with or without commas.
func TestAssignPeopleOnTheCommandLine(t *testing.T) {
	e := newEnv(t)
	buyVisio(t, e, 5)

	e.command("U1", "assign visio <@U2|bob>, <@U3|dora>", "trig-a")
	v, _ := openedView(e.slack.waitFor("views.open"))
	opened := mustJSON(t, v)
	if !strings.Contains(opened, `"initial_users":["U2","U3"]`) {
		t.Errorf("the assign form does not start with Bob and Dora: %s", opened)
	}
	if i, j := strings.Index(opened, "Free licenses"), strings.Index(opened, `"multi_users_select"`); i < 0 || j < 0 || i > j {
		t.Errorf("the free licenses do not come before the people: %s", opened)
	}
	body := e.command("U1", "assign visio <@U2|bob> nobody", "trig-a2").Body.String()
	if !strings.Contains(body, "nobody is not a member of your organization.") {
		t.Errorf("assign with an unknown person: %s", body)
	}
}

// buyVisio has U1 buy n licenses of Visio Plan 2, paid.
func buyVisio(t *testing.T, e *env, n int) {
	t.Helper()
	e.addCard("U1")
	e.command("U1", fmt.Sprint("buy visio ", n), "trig-b")
	view, _ := openedView(e.slack.waitFor("views.open"))
	// Submitted as shown, with its price: n licenses of Visio Plan 2, monthly.
	w := e.interact(e.submission("U1", "VB", view, shownValues(view)))
	if !strings.Contains(w.Body.String(), "clear") {
		t.Fatalf("buy: %s", w.Body)
	}
	e.slack.waitFor("hook")
	e.deliver()
}

// TestCommandLineAnswers: what the core answers to command lines of issue
// 15, as Slack shows it: a bare cancel asks which subscription, a total
// below the licenses assigned says so, a trial of a product bought is
// refused, an unknown command is repeated without invisible characters.
func TestCommandLineAnswers(t *testing.T) {
	e := newEnv(t)
	buyVisio(t, e, 3)
	e.command("U1", "assign visio <@U2> <@U3>", "trig-a")
	view, _ := openedView(e.slack.waitFor("views.open"))
	w := e.interact(e.submission("U1", "VA", view, map[string]any{"subscription": sel(firstOption(t, view, "subscription")), "users": []string{"U2", "U3"}}))
	if !strings.Contains(w.Body.String(), "clear") {
		t.Fatalf("assign: %s", w.Body)
	}
	e.slack.waitFor("hook")
	opened := e.slack.count("views.open")

	for _, tt := range []struct{ line, want, not string }{
		{"cancel", "Which subscription do you want to cancel?", "Reason for cancellation"},
		{"licenses visio 1", "2 licenses are assigned, so the total cannot be lower.", "whole number"},
		{"licenses visio 20000", "Visio Plan 2 allows at most 10,000 licenses.", "whole number"},
		{"trial visio", "You have already bought Visio Plan 2, so there is no trial to start.", "Start a trial"},
		{"fr\u202eob\u200b", "I don't know the command “frob”.", "\u202e"},
	} {
		body := unescaped(e.command("U1", tt.line, "trig-"+tt.line).Body.String())
		if !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) {
			t.Errorf("%q: answer %s, want %q and not %q", tt.line, body, tt.want, tt.not)
		}
	}
	if n := e.slack.count("views.open") - opened; n != 0 {
		t.Errorf("%d forms opened, want none", n)
	}
}
