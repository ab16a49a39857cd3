package slack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// block is the block of a view with a block id.
func block(t *testing.T, view map[string]any, id string) map[string]any {
	t.Helper()
	blocks, _ := view["blocks"].([]any)
	for _, b := range blocks {
		if m := mapOf(b); m["block_id"] == id {
			return m
		}
	}
	t.Fatalf("no block %s in %s", id, mustJSON(t, view))
	return nil
}

// submitText is the label of a view's submit button.
func submitText(view map[string]any) string {
	s, _ := mapOf(view["submit"])["text"].(string)
	return s
}

// priceText is the text of a buy modal's price preview.
func priceText(t *testing.T, view map[string]any) string {
	t.Helper()
	s, _ := mapOf(block(t, view, "price")["text"])["text"].(string)
	return s
}

// bought is what a user bought: subscriptions and invoices.
func (e *env) bought(t *testing.T, user string) ([]store.Subscription, []store.Invoice) {
	t.Helper()
	v, err := e.st.View(t.Context(), testOrg, user, store.ViewOptions{InvoicesFrom: t0.AddDate(-1, 0, 0), InvoicesTo: t0.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return v.Subs, v.Invoices
}

// TestLivePreview: the buy modal shows the price of what it holds and a
// submit button that says it ("Pay €63.00"); changing the product and
// the period updates it in place (block_actions → a draft → views.update
// with the view's hash), and submitting it buys exactly what the preview
// said.
func TestLivePreview(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	if w := e.command("U1", "buy visio 5", "trig-live"); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("buy: %d %q, want an empty 200", w.Code, w.Body)
	}
	view, _ := openedView(e.slack.waitFor("views.open"))
	const id = "V-OPENED-1"
	_, hash := e.slack.shown(id)
	if got := submitText(view); got != "Pay €63.00" {
		t.Errorf("submit button %q, want Pay €63.00", got)
	}
	if p := priceText(t, view); !strings.Contains(p, "5 licenses of Visio Plan 2 at €12.60 per license per month") || !strings.Contains(p, "Today: €63.00") {
		t.Errorf("price preview %q, want 5 licenses of Visio Plan 2 for €63.00 today", p)
	}
	for _, b := range []string{"product", "licenses", "period", "method"} {
		if block(t, view, b)["dispatch_action"] != true {
			t.Errorf("input %s does not dispatch its changes: %s", b, mustJSON(t, block(t, view, b)))
		}
	}
	if got := mustJSON(t, mapOf(block(t, view, "licenses")["element"])["dispatch_action_config"]); got != `{"trigger_actions_on":["on_enter_pressed"]}` {
		t.Errorf("licenses dispatch_action_config = %s, want on_enter_pressed", got)
	}

	// The user picks Project Plan 3: the modal shows its price.
	values := shownValues(view)
	values["product"] = sel("project-plan-3")
	if w := e.interact(e.change("U1", id, hash, view, values, "product")); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("product changed: %d %q, want an empty 200 at once", w.Code, w.Body)
	}
	u := e.slack.waitFor("views.update")
	if u.JSON["view_id"] != id || u.JSON["hash"] != hash {
		t.Errorf("views.update of view %v with hash %v, want %s with %s", u.JSON["view_id"], u.JSON["hash"], id, hash)
	}
	view, hash = e.slack.shown(id)
	if got := submitText(view); got != "Pay €126.50" {
		t.Errorf("after Project Plan 3: submit button %q, want Pay €126.50", got)
	}

	// Then annual.
	values["period"] = sel("annual")
	e.interact(e.change("U1", id, hash, view, values, "period"))
	if u := e.slack.waitFor("views.update"); u.JSON["hash"] != hash {
		t.Errorf("views.update with hash %v, want the view's %s", u.JSON["hash"], hash)
	}
	view, _ = e.slack.shown(id)
	if got := submitText(view); got != "Pay €1,518.00" {
		t.Errorf("after annual: submit button %q, want Pay €1,518.00", got)
	}
	price := priceText(t, view)
	if !strings.Contains(price, "5 licenses of Project Plan 3 at €303.60 per license per year") || !strings.Contains(price, "Today: €1,518.00") {
		t.Errorf("price preview %q, want 5 annual licenses of Project Plan 3 for €1,518.00 today", price)
	}
	if got, want := fmt.Sprint(shownValues(view)), fmt.Sprint(values); got != want {
		t.Errorf("the updated modal holds %s, want the user's %s", got, want)
	}
	var meta metadata
	json.Unmarshal([]byte(view["private_metadata"].(string)), &meta)
	if meta.Channel != "C100" || !strings.HasSuffix(meta.ResponseURL, "/hook/trig-live") {
		t.Errorf("the updated modal's metadata = %+v, want the channel and response_url of the command", meta)
	}
	if subs, invs := e.bought(t, "U1"); len(subs) != 0 || len(invs) != 0 {
		t.Fatalf("drafts bought %d subscriptions, %d invoices; want nothing", len(subs), len(invs))
	}

	// Submitted as shown: bought, for the amount previewed.
	w := e.interact(e.submission("U1", id, view, values))
	if !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("submitted: %s, want response_action clear", w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Payment in progress") {
		t.Errorf("answer %s, want the payment in progress", hook.Body)
	}
	e.deliver()
	subs, invs := e.bought(t, "U1")
	if len(subs) != 1 || subs[0].ProductID != "project-plan-3" || subs[0].Total != 5 || subs[0].Period != store.Annual {
		t.Fatalf("subscriptions %+v, want 5 annual licenses of Project Plan 3", subs)
	}
	if len(invs) != 1 || invs[0].Total != 151800 || invs[0].Currency != "EUR" || invs[0].Status != store.InvoicePaid {
		t.Errorf("invoices %+v, want one paid of €1,518.00, the previewed amount", invs)
	}
}

// TestLiveSubmissionRace: a submission whose values are not the ones the
// modal previewed (the count typed without Enter, or a submission that
// overtook its draft's update) charges nothing: the modal comes back with
// the price of those values (response_action update, or views.update
// when the core was too slow for Slack's 3 s), and submitting that buys
// it.
func TestLiveSubmissionRace(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	e.command("U1", "buy visio 5", "trig-race")
	view, _ := openedView(e.slack.waitFor("views.open"))
	values := shownValues(view)
	values["licenses"] = "7"

	w := e.interact(e.submission("U1", "V-OPENED-1", view, values))
	var ack struct {
		ResponseAction string         `json:"response_action"`
		View           map[string]any `json:"view"`
	}
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &ack) != nil || ack.ResponseAction != "update" {
		t.Fatalf("submission of 7 with the preview of 5: %d %s, want response_action update", w.Code, w.Body)
	}
	if got := submitText(ack.View); got != "Pay €88.20" {
		t.Errorf("submit button %q, want Pay €88.20", got)
	}
	if p := priceText(t, ack.View); !strings.Contains(p, "7 licenses of Visio Plan 2") || !strings.Contains(p, "Today: €88.20") {
		t.Errorf("price preview %q, want 7 licenses for €88.20", p)
	}
	var meta metadata
	json.Unmarshal([]byte(ack.View["private_metadata"].(string)), &meta)
	if meta.Channel != "C100" || !strings.HasSuffix(meta.ResponseURL, "/hook/trig-race") {
		t.Errorf("metadata %+v, want the command's channel and response_url", meta)
	}
	e.a.Wait()
	e.deliver()
	if subs, invs := e.bought(t, "U1"); len(subs) != 0 || len(invs) != 0 {
		t.Fatalf("%d subscriptions, %d invoices after a submission that no preview showed, want none", len(subs), len(invs))
	}
	if n := e.slack.count("hook"); n != 0 {
		t.Errorf("%d answers in the conversation, want the modal only", n)
	}

	// Submitted again, as it now shows: 7 bought for €88.20.
	w = e.interact(e.submission("U1", "V-OPENED-1", ack.View, values))
	if !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("submitted as shown: %s, want response_action clear", w.Body)
	}
	e.slack.waitFor("hook")
	e.deliver()
	subs, invs := e.bought(t, "U1")
	if len(subs) != 1 || subs[0].Total != 7 || len(invs) != 1 || invs[0].Total != 8820 {
		t.Fatalf("subscriptions %+v, invoices %+v; want 7 licenses for €88.20", subs, invs)
	}

	// Too slow for Slack's 3 s: the working modal, then the form with its
	// new price in it, and still nothing charged.
	e.a.ackWithin = 0
	e.command("U1", "buy power 2", "trig-slow")
	view, _ = openedView(e.slack.waitFor("views.open"))
	values = shownValues(view)
	values["licenses"] = "3"
	w = e.interact(e.submission("U1", "V-OPENED-2", view, values))
	if !strings.Contains(w.Body.String(), jsonEscape(e.bot.Text("en", "SlackWorking"))) {
		t.Errorf("slow submission: %s, want the working modal", w.Body)
	}
	u := e.slack.waitFor("views.update")
	form := mapOf(u.JSON["view"])
	if u.JSON["view_id"] != "V-OPENED-2" || form["callback_id"] != commands.FormBuy || submitText(form) != "Pay €39.30" {
		t.Errorf("slow answer: views.update %s, want the buy form with Pay €39.30 in V-OPENED-2", u.Body)
	}
	e.a.Wait()
	e.deliver()
	if subs, _ := e.bought(t, "U1"); len(subs) != 1 {
		t.Errorf("%d subscriptions after a slow submission that no preview showed, want still 1", len(subs))
	}
}

// TestDraftStaleHash: the answer to a draft that Slack refuses because
// the modal changed since (hash_conflict: an older draft answered after a
// newer one) leaves the newer view, tells the user nothing and is no
// error; an input that does not dispatch asks for no draft.
func TestDraftStaleHash(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	e.command("U1", "buy visio 5", "trig-stale")
	view, _ := openedView(e.slack.waitFor("views.open"))
	const id = "V-OPENED-1"
	_, first := e.slack.shown(id)

	newer := shownValues(view)
	newer["product"] = sel("project-plan-3")
	e.interact(e.change("U1", id, first, view, newer, "product"))
	e.slack.waitFor("views.update")
	shown, hash := e.slack.shown(id)
	if hash == first || submitText(shown) != "Pay €126.50" {
		t.Fatalf("after the newer draft: %q with hash %s, want Pay €126.50 with a new hash", submitText(shown), hash)
	}

	// An older draft (the period, before the product changed) answered late.
	older := shownValues(view)
	older["period"] = sel("annual")
	if w := e.interact(e.change("U1", id, first, view, older, "period")); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("older draft: %d %q, want an empty 200", w.Code, w.Body)
	}
	if u := e.slack.waitFor("views.update"); u.JSON["hash"] != first {
		t.Errorf("views.update with hash %v, want the older draft's %s", u.JSON["hash"], first)
	}
	e.a.Wait()
	if now, h := e.slack.shown(id); h != hash || submitText(now) != "Pay €126.50" {
		t.Errorf("the modal shows %q (hash %s), want the newer draft's Pay €126.50 (hash %s)", submitText(now), h, hash)
	}
	for _, m := range []string{"hook", "chat.postMessage", "chat.postEphemeral", "views.open"} {
		if n := e.slack.count(m); n != map[string]int{"views.open": 1}[m] {
			t.Errorf("%d %s calls, want no word to the user", n, m)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "level=WARN") || strings.Contains(logs, "level=ERROR") {
		t.Errorf("a stale draft was logged as a problem:\n%s", logs)
	}

	// The invoice range's select dispatches nothing: no draft, no update.
	e.command("U1", "invoices range", "trig-range")
	rng, _ := openedView(e.slack.waitFor("views.open"))
	if block(t, rng, "range")["dispatch_action"] != nil {
		t.Errorf("the range select dispatches: %s", mustJSON(t, block(t, rng, "range")))
	}
	_, rh := e.slack.shown("V-OPENED-2")
	e.interact(e.change("U1", "V-OPENED-2", rh, rng, map[string]any{"range": sel("6m")}, "range"))
	e.a.Wait()
	if n := e.slack.count("views.update"); n != 2 {
		t.Errorf("%d views.update calls, want none for an input that does not dispatch", n)
	}
}

// TestSubmitLabel: a submit label fits Slack's 24 characters, and an
// amount in it is shown whole or not at all.
func TestSubmitLabel(t *testing.T) {
	for _, tt := range []struct{ label, want string }{
		{"Pay €63.00", "Pay €63.00"},
		{"63,00 € bezahlen", "63,00 € bezahlen"},
		{"12.345.678,90 € bezahlen", "12.345.678,90 € bezahlen"}, // exactly 24
		{"123.456.789,00 € bezahlen", "123.456.789,00 €"},
		{"Pay €1,234,567,890,123.00", "Pay"},
		{"  Save  ", "Save"},
		{"Bestellungsbestätigungsschaltfläche", "Bestellungsbestätigungs…"},
	} {
		t.Run(tt.label, func(t *testing.T) {
			got := submitLabel(tt.label)
			if got != tt.want {
				t.Errorf("submitLabel(%q) = %q, want %q", tt.label, got, tt.want)
			}
			if n := len([]rune(got)); n > maxViewTitle {
				t.Errorf("submitLabel(%q) has %d characters, more than %d", tt.label, n, maxViewTitle)
			}
		})
	}
	// The modal's submit button is the form's, so fitted.
	e := newEnv(t)
	v := e.a.modal(&commands.Form{ID: commands.FormBuy, Title: "Buy licenses", Submit: "123.456.789,00 € bezahlen",
		Inputs: []commands.Input{{ID: "licenses", Kind: commands.KindNumber, Label: "Lizenzen", Min: 1}}}, metadata{}, "de")
	if v.Submit == nil || v.Submit.Text != "123.456.789,00 €" {
		t.Errorf("modal submit %+v, want 123.456.789,00 €", v.Submit)
	}
}

// TestViewIDOfAnotherUser: a second user who submits a view with the
// view id of another's purchase (a view id reused) is refused, and sees
// nothing of the first purchase: not its answer, not its card.
func TestViewIDOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	e.addCard("U2")
	e.command("U1", "buy visio 5", "trig-first")
	view, _ := openedView(e.slack.waitFor("views.open"))
	const id = "V-OPENED-1"
	values := shownValues(view)
	if w := e.interact(e.submission("U1", id, view, values)); !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("submitted: %s, want response_action clear", w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Visa •••• 4242") {
		t.Fatalf("answer %s, want the purchase with its card", hook.Body)
	}
	e.deliver()
	before, _ := e.bought(t, "U1")

	// Bob submits the same view id, answered where he is (a direct message).
	forged := e.submission("U2", id, view, values)
	forged["view"].(map[string]any)["private_metadata"] = "{}"
	if w := e.interact(forged); w.Code != http.StatusOK {
		t.Fatalf("forged submission: %d %s", w.Code, w.Body)
	}
	dm := e.slack.waitFor("chat.postMessage")
	for dm.Form.Get("channel") != "DU2" { // Alice's notification of her purchase came first
		dm = e.slack.waitFor("chat.postMessage")
	}
	if s := dm.Form.Get("text") + dm.Form.Get("blocks"); !strings.Contains(s, "belongs to someone else") ||
		strings.Contains(s, "4242") || strings.Contains(s, "Visio") || strings.Contains(s, "Purchase") {
		t.Errorf("Bob's answer %s, want a refusal naming nothing of Alice's purchase", s)
	}
	if subs, invs := e.bought(t, "U2"); len(subs) != 0 || len(invs) != 0 {
		t.Errorf("Bob bought %d subscriptions, %d invoices; want nothing", len(subs), len(invs))
	}
	if after, _ := e.bought(t, "U1"); len(after) != len(before) {
		t.Errorf("Alice has %d subscriptions, want %d", len(after), len(before))
	}
}

// TestDraftsHaveTheirOwnAllowance: the live previews of a modal being
// adjusted (block_actions → drafts) count in an allowance of their own,
// not in the user's requests: a minute's worth of them leaves the user's
// commands working. The allowance is still bounded: drafts beyond it
// update nothing, and the user's commands still work then.
func TestDraftsHaveTheirOwnAllowance(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	e.command("U1", "buy visio 5", "trig-drafts")
	view, _ := openedView(e.slack.waitFor("views.open"))
	const id = "V-OPENED-1"
	values := shownValues(view)
	periods := []string{"annual", "monthly"}
	// draft changes the period, and waits for what follows.
	draft := func(i int) {
		t.Helper()
		view, hash := e.slack.shown(id)
		values["period"] = sel(periods[i%2])
		if w := e.interact(e.change("U1", id, hash, view, values, "period")); w.Code != http.StatusOK {
			t.Fatalf("draft %d: status %d", i+1, w.Code)
		}
		e.a.wg.Wait() // the draft's work, after the acknowledgement
	}
	const rate = 60 // the core's default requests per minute
	for i := range rate {
		draft(i)
		if n := e.slack.count("views.update"); n != i+1 {
			t.Fatalf("after %d drafts (and the buy command) %d views.update, want %d: drafts count as requests", i+1, n, i+1)
		}
	}
	limited := e.bot.Text("en", "ErrRateLimited")
	if w := e.command("U1", "products", "trig-after-drafts"); strings.Contains(w.Body.String(), limited) ||
		!strings.Contains(w.Body.String(), "Your products") {
		t.Errorf("a command after %d drafts: %s, want the products, not the rate limit", rate, w.Body)
	}
	// The drafts' own allowance, twice the requests', then no more.
	for i := rate; i < 2*rate; i++ {
		draft(i)
	}
	if n := e.slack.count("views.update"); n != 2*rate {
		t.Fatalf("%d views.update after %d drafts, want all", n, 2*rate)
	}
	draft(2 * rate)
	if n := e.slack.count("views.update"); n != 2*rate {
		t.Errorf("the draft beyond the allowance updated the modal (%d views.update)", n)
	}
	if !strings.Contains(e.logs.String(), "draft answered no form") {
		t.Error("the draft beyond the allowance was not refused")
	}
	if w := e.command("U1", "products", "trig-after-flood"); strings.Contains(w.Body.String(), limited) ||
		!strings.Contains(w.Body.String(), "Your products") {
		t.Errorf("a command after a flood of drafts: %s, want it answered", w.Body)
	}
}
