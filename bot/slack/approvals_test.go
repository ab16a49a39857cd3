package slack

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestApprovalsSlack: a purchase above the threshold becomes a request;
// the admins' channel gets it with Approve and Decline buttons; Decline
// opens the reason modal, which requires a reason; the purchaser hears it;
// Approve on the next request charges it; a second click is told who
// decided.
func TestApprovalsSlack(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AdminChannel = "C555" })
	e.addCard("U1")
	if w := e.command("U4", "admin approval 100 EUR", "trig-set"); w.Code != http.StatusOK {
		t.Fatalf("admin approval: %d %s", w.Code, w.Body)
	}
	request := func(trig string) string {
		t.Helper()
		e.command("U1", "buy visio 10", trig)
		view, _ := openedView(e.slack.waitFor("views.open"))
		if w := e.interact(e.submission("U1", "V-"+trig, view, shownValues(view))); w.Code != http.StatusOK {
			t.Fatalf("submit: %d %s", w.Code, w.Body)
		}
		if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Sent for approval") || !strings.Contains(hook.Body, "€126.00") {
			t.Fatalf("the purchaser's answer: %s", hook.Body)
		}
		e.deliver()
		post := e.slack.waitFor("chat.postMessage")
		blocks := post.Form.Get("blocks")
		if post.Form.Get("channel") != "C555" || !strings.Contains(blocks, "Alice asks for approval of Visio Plan 2") ||
			!strings.Contains(blocks, "Today: €126.00") {
			t.Fatalf("request posted to %s: %s", post.Form.Get("channel"), blocks)
		}
		m := regexp.MustCompile(`"value":"admin approve ([a-z0-9]+)"`).FindStringSubmatch(blocks)
		if m == nil || !strings.Contains(blocks, `"value":"admin decline `+m[1]+`"`) {
			t.Fatalf("no Approve and Decline buttons: %s", blocks)
		}
		return m[1]
	}
	click := func(user, trig, value string) {
		t.Helper()
		w := e.interact(map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
			"user": map[string]any{"id": user, "team_id": testTeam}, "trigger_id": trig,
			"channel": map[string]any{"id": "C555"}, "response_url": e.slack.srv.URL + "/hook/" + trig,
			"container": map[string]any{"type": "message", "channel_id": "C555", "message_ts": "1.1"},
			"actions":   []any{map[string]any{"type": "button", "action_id": "btn-0-1", "value": value, "action_ts": "1.2"}}})
		if w.Code != http.StatusOK {
			t.Fatalf("click %q: %d %s", value, w.Code, w.Body)
		}
	}

	id := request("trig-b1")
	if n := len(e.approvalInvoices(t, "U1")); n != 0 {
		t.Fatalf("%d invoices before a decision", n)
	}
	// Not an admin: the decline form does not open.
	click("U2", "trig-bob", "admin decline "+id)
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "admin") {
		t.Errorf("a member's click: %s", hook.Body)
	}
	click("U4", "trig-decline", "admin decline "+id)
	view, trig := openedView(e.slack.waitFor("views.open"))
	if trig != "trig-decline" || view["callback_id"] != commands.FormDecline || !strings.Contains(mustJSON(t, view), "Decline request") {
		t.Fatalf("decline modal %s (trigger %s)", mustJSON(t, view), trig)
	}
	var errs struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	w := e.interact(e.submission("U4", "VD", view, map[string]any{"reason": " "}))
	if json.Unmarshal(w.Body.Bytes(), &errs) != nil || errs.ResponseAction != "errors" || !strings.Contains(errs.Errors["reason"], "Please say why") {
		t.Fatalf("no reason: %s", w.Body)
	}
	w = e.interact(e.submission("U4", "VD", view, map[string]any{"reason": "Use the team plan"}))
	if !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("declined: %s", w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "You declined Alice's request") {
		t.Errorf("the admin's answer: %s", hook.Body)
	}
	e.deliver()
	dm := e.slack.waitFor("chat.postMessage")
	if dm.Form.Get("channel") != "DU1" || !strings.Contains(dm.Form.Get("blocks"), "Dave declined your request for Visio Plan 2. Nothing was charged. Reason: Use the team plan") {
		t.Errorf("the purchaser's message to %s: %s", dm.Form.Get("channel"), dm.Form.Get("blocks"))
	}

	id = request("trig-b2")
	click("U4", "trig-approve", "admin approve "+id)
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "You approved Alice's request for Visio Plan 2") {
		t.Errorf("the admin's answer: %s", hook.Body)
	}
	invs := e.approvalInvoices(t, "U1")
	if len(invs) != 1 || invs[0].Total != 12600 {
		t.Fatalf("invoices after approval: %+v, want one of €126.00", invs)
	}
	click("U4", "trig-again", "admin decline "+id)
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Dave already approved this request") {
		t.Errorf("a later click: %s", hook.Body)
	}
	e.deliver()
	if subs := e.subs(t, "U1"); len(subs) != 1 || subs[0].Total != 10 {
		t.Errorf("after approval and payment: %+v", subs)
	}
}

// approvalInvoices are a user's invoices.
func (e *env) approvalInvoices(t *testing.T, user string) []store.Invoice {
	t.Helper()
	v, err := e.st.View(t.Context(), testOrg, user, store.ViewOptions{InvoicesFrom: t0.AddDate(-1, 0, 0), InvoicesTo: t0.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return v.Invoices
}
