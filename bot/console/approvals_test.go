package console

import (
	"regexp"
	"testing"
	"time"
)

// TestApprovalsConsole: bob's purchase above the threshold is sent for
// approval; the admin notification shows its preview and the commands of
// its buttons; alice declines it with a reason (the form asks for it,
// and asks again when it is empty), bob hears why; alice approves the
// next, which is charged.
func TestApprovalsConsole(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "bob", "Bob Brown")
	admin := Options{Admin: true, DueEvery: time.Hour}
	bob := Options{User: "bob", DueEvery: time.Hour}
	mustContain(t, tb.run(t, "admin freigabe 50 EUR\n", Options{Admin: true, Locale: "de", DueEvery: time.Hour}),
		"Käufe über 50,00 € im Monat brauchen jetzt die Freigabe eines Administrators.")
	approve := regexp.MustCompile(`- Approve → /billing admin approve ([a-z0-9]+)`)
	request := func() string {
		t.Helper()
		out := tb.run(t, "buy visio 10\n\n\n\n\ny\n", bob)
		mustContain(t, out, "Sent for approval", "nothing was charged",
			"[admin notification] Approval requested", "Bob Brown asks for approval of Visio Plan 2 (€126.00 a month).")
		m := approve.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no Approve button in the admin notification:\n%s", out)
		}
		mustContain(t, out, "- Decline → /billing admin decline "+m[1])
		return m[1]
	}

	id := request()
	mustContain(t, tb.run(t, "admin approve "+id+"\n", bob), "admin")
	out := tb.run(t, "admin decline "+id+"\n\n\nToo expensive this quarter\n", admin)
	// The console delivers the organization's notifications in whichever
	// session runs: bob's comes after alice's answer.
	mustContain(t, out, "Decline request", "Reason (the purchaser sees it)", "You declined Bob Brown's request for Visio Plan 2",
		"Please say why the request is declined", "[notification to @bob] Request declined",
		"Alice Adams declined your request for Visio Plan 2. Nothing was charged. Reason: Too expensive this quarter")
	mustContain(t, tb.run(t, "requests\n", bob), "You have no requests waiting for approval.")

	id = request()
	out = tb.run(t, "admin approve "+id+"\n", admin)
	mustContain(t, out, "You approved Bob Brown's request for Visio Plan 2.", "[admin notification] New self-service purchase",
		"[notification to @bob] Request approved")
	mustContain(t, tb.run(t, "products\n", bob), "Visio Plan 2", "Status: active", "Licenses: 0 of 10 assigned")
	mustContain(t, tb.run(t, "admin approve "+id+"\n", Options{User: "carol", Admin: true}), "Alice Adams already approved this request")
}
