package slack

import (
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
	e.addCard("U1")
	e.command("U1", "buy visio 5", "trig-b")
	view, _ := openedView(e.slack.waitFor("views.open"))
	w := e.interact(e.submission("U1", "VB", view, map[string]any{"product": sel("visio-plan-2"), "licenses": "5",
		"period": sel("monthly"), "method": sel(firstOption(t, view, "method"))}))
	if !strings.Contains(w.Body.String(), "clear") {
		t.Fatalf("buy: %s", w.Body)
	}
	e.slack.waitFor("hook")
	e.deliver()

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
