package discord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// approvalDMModal is the submission, in alice's direct messages, of a modal that
// a button there opened (its custom id names the guild).
func (e *env) approvalDMModal(customID string, values map[string][]string, textInputs ...string) []byte {
	e.t.Helper()
	id := fmt.Sprint(300000000000000000 + e.seq.Add(1))
	doc, err := json.Marshal(map[string]any{"id": id, "application_id": testApp, "type": itModalSubmit, "token": "tok" + id,
		"channel_id": "400000000000000009", "locale": "en-US", "user": map[string]any{"id": alice, "username": "alice"},
		"data": submission(customID, values, textInputs...)})
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// TestApprovalsDiscord: bob's purchase above the threshold becomes a
// request; the admins get it by direct message with Approve and Decline
// buttons that name the guild; alice, who owns the guild, declines one
// there with a reason (the modal opens in the DM) and approves another,
// which is charged as previewed; a member who is no admin is refused.
func TestApprovalsDiscord(t *testing.T) {
	e := newEnv(t)
	e.card(bob)
	if err := e.st.SetAdminChannel(t.Context(), testOrg, alice, adminChannel); err != nil {
		t.Fatal(err)
	}
	_, data := answer(t, e.post(e.interaction(aliceEN, itCommand, command("admin", opt("approval", optString, "100 EUR")), "")))
	if !strings.Contains(text(data), "Purchases above €100.00 a month now need an admin's approval.") {
		t.Fatalf("admin approval: %s", text(data))
	}
	var posted map[string]any // the request as the admin channel shows it
	request := func() string {
		t.Helper()
		typ, modal := answer(t, e.post(e.interaction(bobEN, itCommand, command("buy"), "")))
		if typ != cbModal {
			t.Fatalf("/billing buy: %d %s", typ, text(modal))
		}
		typ, confirm := answer(t, e.post(e.interaction(bobEN, itModalSubmit, submission(modal["custom_id"].(string), map[string][]string{
			"product": {"visio-plan-2"}, "licenses": {"10"}, "period": {"monthly"}, "method": {e.methodID(bob)}}, "licenses"), "")))
		pay, _ := confirmation(t, typ, confirm)
		_, sent := answer(t, e.post(e.click(bobEN, confirm, pay, "")))
		if s := text(sent); !strings.Contains(s, "Sent for approval") || !strings.Contains(s, "€126.00") {
			t.Fatalf("after Pay: %s", s)
		}
		e.deliver()
		post := e.fake.nextTo(t, http.MethodPost, "/channels/"+adminChannel+"/messages")
		for !strings.Contains(string(post.Body), "asks for approval") { // the notifications before it
			post = e.fake.nextTo(t, http.MethodPost, "/channels/"+adminChannel+"/messages")
		}
		m := regexp.MustCompile(`"custom_id":"` + buttonPrefix + `admin approve ([a-z0-9]+)"`).FindStringSubmatch(string(post.Body))
		if m == nil || !strings.Contains(string(post.Body), "Bob Brown asks for approval of Visio Plan 2") ||
			!strings.Contains(string(post.Body), `"custom_id":"`+buttonPrefix+`admin decline `+m[1]+`"`) {
			t.Fatalf("the request in the admin channel: %s", post.Body)
		}
		var msg map[string]any
		if err := json.Unmarshal(post.Body, &msg); err != nil {
			t.Fatal(err)
		}
		posted = msg
		return m[1]
	}

	id := request()
	if n := len(e.invoicesOf(bob)); n != 0 {
		t.Fatalf("%d invoices before a decision", n)
	}
	// carol is a member, but no admin.
	carol := who{id: "200000000000000003", name: "Carol Clark", locale: "en-US"}
	_, data = answer(t, e.post(e.interaction(carol, itComponent, map[string]any{"custom_id": buttonPrefix + "admin decline " + id, "component_type": ctButton}, "")))
	if s := text(data); strings.Contains(s, "Decline request") || !strings.Contains(s, "admin") {
		t.Errorf("carol's click: %s", s)
	}

	typ, modal := answer(t, e.post(e.click(aliceEN, posted, buttonPrefix+"admin decline "+id, "")))
	custom, _ := modal["custom_id"].(string)
	if typ != cbModal || !strings.Contains(custom, ":approval-decline") {
		t.Fatalf("Decline: %d %s", typ, text(modal))
	}
	if _, ok := modalInputs(t, modal)["reason"]; !ok {
		t.Fatalf("the decline modal has no reason: %s", text(modal))
	}
	_, data = answer(t, e.post(e.interaction(aliceEN, itModalSubmit, submission(custom, map[string][]string{"reason": {" "}}, "reason"), "")))
	if s := text(data); !strings.Contains(s, "Please say why") {
		t.Errorf("no reason: %s", s)
	}
	_, data = answer(t, e.post(e.interaction(aliceEN, itModalSubmit, submission(custom, map[string][]string{"reason": {"Ask in the team channel first"}}, "reason"), "")))
	if s := text(data); !strings.Contains(s, "You declined Bob Brown's request for Visio Plan 2") {
		t.Fatalf("declined: %s", s)
	}
	e.deliver()
	told := e.fake.nextTo(t, http.MethodPost, "/channels/dm"+bob+"/messages")
	if !strings.Contains(string(told.Body), "Reason: Ask in the team channel first") {
		t.Errorf("bob's message: %s", told.Body)
	}

	// Approve clicked in a direct message (as a notification to the
	// admins by DM shows it): the click carries no permissions, the guild
	// lists alice among its admins.
	id = request()
	_, data = answer(t, e.post(e.dmClick("d:"+testGuild+":admin approve "+id)))
	if s := text(data); !strings.Contains(s, "You approved Bob Brown's request for Visio Plan 2") {
		t.Fatalf("approve in the DM: %s", s)
	}
	if invs := e.invoicesOf(bob); len(invs) != 1 || invs[0].Total != 12600 {
		t.Fatalf("invoices after approval: %+v", invs)
	}
	_, data = answer(t, e.post(e.dmClick("d:"+testGuild+":admin approve "+id)))
	if invs := e.invoicesOf(bob); len(invs) != 1 {
		t.Errorf("a second click: %d invoices (%s)", len(invs), text(data))
	}
	e.deliver()
	a, err := e.st.Approval(t.Context(), testOrg, id)
	if err != nil || a.Status != store.ApprovalApproved || a.By != alice {
		t.Errorf("request %+v, %v", a, err)
	}

	// Decline clicked in a direct message: the modal opens there, and its
	// submission names the guild.
	id = request()
	typ, modal = answer(t, e.post(e.dmClick("d:"+testGuild+":admin decline "+id)))
	custom, _ = modal["custom_id"].(string)
	if typ != cbModal || !strings.HasPrefix(custom, dmFormPrefix+testGuild+":") {
		t.Fatalf("Decline in the DM: %d %s", typ, text(modal))
	}
	_, data = answer(t, e.post(e.approvalDMModal(custom, map[string][]string{"reason": {"Not this quarter"}}, "reason")))
	if s := text(data); !strings.Contains(s, "You declined Bob Brown's request") {
		t.Fatalf("declined in the DM: %s", s)
	}
	if a, _ := e.st.Approval(t.Context(), testOrg, id); a.Status != store.ApprovalDeclined || a.Reason != "Not this quarter" {
		t.Errorf("request %+v", a)
	}
}
