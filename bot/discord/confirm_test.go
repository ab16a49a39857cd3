package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// buyProjectPlan3 opens the buy modal with a bare /billing buy and submits
// it with 5 licenses of Project Plan 3, billed annually, paid with w's
// card: the answer.
func (e *env) buyProjectPlan3(w who) (int, map[string]any) {
	e.t.Helper()
	typ, data := answer(e.t, e.post(e.interaction(w, itCommand, command("buy"), "")))
	if typ != cbModal {
		e.t.Fatalf("/billing buy: %d %s, want the modal", typ, text(data))
	}
	return answer(e.t, e.post(e.interaction(w, itModalSubmit, submission(data["custom_id"].(string), map[string][]string{
		"product": {"project-plan-3"}, "licenses": {"5"}, "period": {"annual"}, "method": {e.methodID(alice)}}, "licenses"), "")))
}

// invoicesOf are the invoices of a user, newest first.
func (e *env) invoicesOf(user string) []store.Invoice {
	e.t.Helper()
	now := time.Now()
	view, err := e.st.View(e.t.Context(), testOrg, user, store.ViewOptions{InvoicesFrom: now.AddDate(0, -1, 0), InvoicesTo: now.AddDate(0, 0, 1)})
	if err != nil {
		e.t.Fatal(err)
	}
	return view.Invoices
}

// TestBuyConfirmation: a submitted buy modal is answered with a
// confirmation, an ephemeral message with the exact preview, a green Pay
// button and a grey Back button; Pay buys, in the confirmation's place
// (so that it cannot be clicked again), at the price previewed; a second
// click buys nothing more; Back opens the modal again with the values
// submitted, and the confirmation it leaves is answered.
func TestBuyConfirmation(t *testing.T) {
	// The bot's clock: now, and later as the test moves it.
	var later atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(later.Load())) }
	e := newEnvAt(t, miniredis.RunT(t).Addr(), commands.WithClock(clock))
	e.card(alice)
	next := clock().UTC().AddDate(1, 0, 0).Format("Jan 2, 2006")

	typ, confirm := answer(t, e.post(e.interaction(aliceEN, itCommand, command("buy"), "")))
	if typ != cbModal {
		t.Fatalf("/billing buy: %d %s", typ, text(confirm))
	}
	typ, confirm = e.buyProjectPlan3(aliceEN)
	pay, back := confirmation(t, typ, confirm)
	if confirm["flags"] != float64(flagEphemeral) {
		t.Errorf("confirmation flags %v, want ephemeral", confirm["flags"])
	}
	embeds, _ := confirm["embeds"].([]any)
	if len(embeds) != 1 {
		t.Fatalf("confirmation %s, want one embed", text(confirm))
	}
	preview := embeds[0].(map[string]any)
	want := "5 licenses of Project Plan 3 at €303.60 per license per year.\n" +
		"Today: €1,518.00 for the period until " + next + ".\n" +
		"Then: €1,518.00 per year from " + next + ", until you cancel.\n" +
		"Paid with Visa •••• 4242 (12/2030).\n" +
		"Test mode — no real money."
	if preview["title"] != "Please confirm" || preview["description"] != want {
		t.Errorf("preview %q:\n%v\nwant %q:\n%s", preview["title"], preview["description"], "Please confirm", want)
	}
	bs := buttonsOf(confirm)
	if bs[0]["label"] != "Pay €1,518.00" || bs[0]["style"] != float64(styleSuccess) ||
		bs[1]["label"] != "Back" || bs[1]["style"] != float64(styleSecondary) {
		t.Errorf("buttons %v, want a green Pay €1,518.00 and a grey Back", bs)
	}
	for _, id := range []string{pay, back} {
		if len(id) > maxCustomID {
			t.Errorf("custom id %q is longer than %d", id, maxCustomID)
		}
	}
	if subs := e.subsOf(alice); len(subs) != 0 {
		t.Fatalf("bought before Pay: %+v", subs)
	}

	// Pay, some time later, as people click: the purchase replaces the
	// confirmation. (Later on the same day: the quote is for that day.)
	if now := clock().UTC(); now.Add(90*time.Second).Day() == now.Day() {
		later.Store(int64(90 * time.Second))
	}
	typ, bought := answer(t, e.post(e.click(aliceEN, confirm, pay, "")))
	if typ != cbUpdate || bought["flags"] != nil || len(buttonsOf(bought)) == 0 {
		t.Fatalf("Pay: %d %s, want the purchase with its buttons in the confirmation's place", typ, text(bought))
	}
	for _, b := range buttonsOf(bought) {
		if id, _ := b["custom_id"].(string); strings.HasPrefix(id, confirmPrefix) {
			t.Errorf("the purchase keeps a confirmation button %v", b)
		}
	}
	if s := text(bought); !strings.Contains(s, "Payment in progress") || !strings.Contains(s, "Project Plan 3 for €1,518.00 per year") {
		t.Errorf("Pay answered %s", s)
	}
	e.a.Wait()
	if _, err := e.bot.RunDue(t.Context()); err != nil { // the purchase's charge
		t.Fatal(err)
	}
	subs, invs := e.subsOf(alice), e.invoicesOf(alice)
	if len(subs) != 1 || subs[0].ProductID != "project-plan-3" || subs[0].Total != 5 || subs[0].Period != store.Annual ||
		subs[0].Status != store.StatusActive {
		t.Fatalf("after Pay: %+v, want 5 licenses of Project Plan 3, annual, active", subs)
	}
	if len(invs) != 1 || invs[0].Total != 151800 || invs[0].Currency != "EUR" || invs[0].Status != store.InvoicePaid {
		t.Fatalf("invoices after Pay: %+v, want one of €1,518.00, paid", invs)
	}
	if !strings.Contains(text(bought), invs[0].ID) {
		t.Errorf("the purchase does not name its invoice %s: %s", invs[0].ID, text(bought))
	}

	// Pay again (a click made before the first was answered): the same
	// answer in the same place, nothing bought twice.
	typ, again := answer(t, e.post(e.click(aliceEN, confirm, pay, "")))
	if typ != cbUpdate || text(again) != text(bought) {
		t.Errorf("second Pay: %d %s, want the first answer %s", typ, text(again), text(bought))
	}
	e.a.Wait()
	if _, err := e.bot.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if subs, invs := e.subsOf(alice), e.invoicesOf(alice); len(subs) != 1 || len(invs) != 1 {
		t.Errorf("after a second Pay: %d subscriptions, %d invoices; want one of each", len(subs), len(invs))
	}

	// Back: the modal again, with the values submitted.
	typ, confirm = e.buyProjectPlan3(aliceEN)
	pay, back = confirmation(t, typ, confirm)
	typ, data := answer(t, e.post(e.click(aliceEN, confirm, back, "")))
	if typ != cbModal {
		t.Fatalf("Back: %d %s, want the modal", typ, text(data))
	}
	inputs := modalInputs(t, data)
	if !chosen(inputs["product"], "project-plan-3") || inputs["licenses"]["value"] != "5" || !chosen(inputs["period"], "annual") ||
		!chosen(inputs["method"], e.methodID(alice)) {
		t.Errorf("modal after Back: %s, want Project Plan 3, 5 licenses, annual and the card", text(data))
	}
	if s := text(data); !strings.Contains(s, "€1,518.00") {
		t.Errorf("modal after Back does not preview the price: %s", s)
	}
	// The confirmation left behind is over: Pay says so in its place and
	// buys nothing.
	typ, data = answer(t, e.post(e.click(aliceEN, confirm, pay, "")))
	if typ != cbUpdate || !strings.Contains(text(data), e.bot.Text("en", "ErrConfirmGone")) || len(buttonsOf(data)) != 0 {
		t.Errorf("Pay after Back: %d %s, want that the confirmation is over", typ, text(data))
	}
	if strings.Contains(text(data), "nothing was changed") {
		// The purchase was made (below): what was changed is not nothing.
		t.Errorf("Pay after Back says nothing was changed: %s", text(data))
	}
	e.a.Wait()
	if subs := e.subsOf(alice); len(subs) != 1 {
		t.Errorf("after Pay on a confirmation left by Back: %d subscriptions, want 1", len(subs))
	}
}

// subsOf are the subscriptions a user bought.
func (e *env) subsOf(user string) []store.Subscription {
	e.t.Helper()
	view, err := e.st.View(e.t.Context(), testOrg, user, store.ViewOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return view.Subs
}

// TestBuyConfirmationGerman: the confirmation and its buttons in German.
func TestBuyConfirmationGerman(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	next := time.Now().UTC().AddDate(1, 0, 0).Format("02.01.2006")
	typ, confirm := e.buyProjectPlan3(aliceDE)
	confirmation(t, typ, confirm)
	bs := buttonsOf(confirm)
	if bs[0]["label"] != "1.518,00 € bezahlen" || bs[1]["label"] != "Zurück" {
		t.Errorf("buttons %q and %q, want %q and %q", bs[0]["label"], bs[1]["label"], "1.518,00 € bezahlen", "Zurück")
	}
	preview := confirm["embeds"].([]any)[0].(map[string]any)
	if preview["title"] != "Bitte bestätigen" || !strings.Contains(preview["description"].(string), "Heute: 1.518,00 € für den Zeitraum bis "+next+".") {
		t.Errorf("preview %q: %v", preview["title"], preview["description"])
	}
}

// TestConfirmationNoLongerHolds: the card is removed between the
// confirmation and Pay: Pay buys nothing and says what to correct in the
// confirmation's place, keeping Back, which opens the modal to correct it.
func TestConfirmationNoLongerHolds(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	method := e.methodID(alice)
	typ, confirm := e.buyProjectPlan3(aliceEN)
	pay, back := confirmation(t, typ, confirm)
	resp, err := e.bot.Handle(t.Context(), commands.Request{Org: testOrg, User: commands.Member{ID: alice, Name: "Alice Adams"},
		Locale: "en-US", IdempotencyKey: "remove-card",
		Form: &commands.Submission{FormID: commands.FormRemoveMethod, Context: method, Values: map[string][]string{"confirm": {"yes"}}}})
	if err != nil || len(resp.FieldErrors) > 0 {
		t.Fatalf("removing the card: %v %v", err, resp.FieldErrors)
	}
	typ, data := answer(t, e.post(e.click(aliceEN, confirm, pay, "")))
	bs := buttonsOf(data)
	if typ != cbUpdate || !strings.Contains(text(data), e.bot.Text("en", "DiscordFixFields")) ||
		!strings.Contains(text(data), e.bot.Text("en", "ErrMethodRequired")) || len(bs) != 1 || bs[0]["custom_id"] != back {
		t.Fatalf("Pay without the card: %d %s, want what to correct and Back", typ, text(data))
	}
	e.a.Wait()
	if subs := e.subsOf(alice); len(subs) != 0 {
		t.Errorf("bought without the card: %+v", subs)
	}
	typ, data = answer(t, e.post(e.click(aliceEN, data, back, "")))
	if inputs := modalInputs(t, data); typ != cbModal || !chosen(inputs["product"], "project-plan-3") || inputs["licenses"]["value"] != "5" {
		t.Errorf("Back: %d %s, want the modal with the values", typ, text(data))
	}
}

// TestConfirmationDeferred: a Pay whose answer takes long is deferred as
// an update of the confirmation (type 6), which the answer then edits.
func TestConfirmationDeferred(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	typ, confirm := e.buyProjectPlan3(aliceEN)
	pay, _ := confirmation(t, typ, confirm)
	release := make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before the adapter's Wait, also when a check fails
	e.a.handle = func(ctx context.Context, req commands.Request) (commands.Response, error) {
		<-release
		return e.bot.Handle(ctx, req)
	}
	e.a.deferAfter = 0
	w := e.post(e.click(aliceEN, confirm, pay, "330000000000000001"))
	typ, data := answer(t, w)
	if typ != cbDeferredUpdate || data != nil {
		t.Fatalf("type %d %v, want a deferred update without data", typ, data)
	}
	once.Do(func() { close(release) })
	c := e.fake.nextTo(t, http.MethodPatch, "/webhooks/"+testApp+"/tok330000000000000001/messages/@original")
	if m := c.json(t); !strings.Contains(text(m), "Payment in progress") || m["flags"] != nil {
		t.Errorf("edit of the confirmation: %s", c.Body)
	}
	e.a.Wait()
	if subs := e.subsOf(alice); len(subs) != 1 {
		t.Errorf("%d subscriptions after a deferred Pay, want 1", len(subs))
	}
}

// TestConfirmButtons: the buttons kept from a clicked confirmation are its
// other confirmation buttons; a message of another shape keeps none.
func TestConfirmButtons(t *testing.T) {
	const pay, back = confirmPrefix + "confirm abcdefghijklmnop", confirmPrefix + "confirm abcdefghijklmnop back"
	for _, tt := range []struct {
		name, msg string
		want      []string
	}{
		{"none", ``, nil},
		{"not an object", `"x"`, nil},
		{"components of another shape", `{"components":"x"}`, nil},
		{"a confirmation", `{"components":[{"type":1,"components":[{"type":2,"style":3,"label":"Pay","custom_id":"` + pay +
			`"},{"type":2,"style":2,"label":"Back","custom_id":"` + back + `"},{"type":2,"style":2,"label":"Help","custom_id":"b:help"},` +
			`{"type":2,"style":5,"label":"PDF","url":"https://example.com"}]}]}`, []string{back}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, b := range confirmButtons(json.RawMessage(tt.msg), pay) {
				got = append(got, b.CustomID)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("confirmButtons = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBackLeavesNoPay: Back opens the modal again, and the modal's answer
// (a new confirmation) takes the old confirmation's place: UPDATE_MESSAGE
// on the modal submission, which Discord sends with the message whose
// button opened the modal. No Pay of the old one stays behind; the new
// Pay charges what the new confirmation says, once.
func TestBackLeavesNoPay(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		w          who
	}{
		{"English", "6 licenses", aliceEN},
		{"German", "6 Lizenzen", aliceDE},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.card(alice)
			typ, confirm := e.buyProjectPlan3(tt.w)
			_, back := confirmation(t, typ, confirm)
			typ, modal := answer(t, e.post(e.click(tt.w, confirm, back, "")))
			if typ != cbModal {
				t.Fatalf("Back: %d %s, want the modal", typ, text(modal))
			}
			sub := e.interaction(tt.w, itModalSubmit, submission(modal["custom_id"].(string), map[string][]string{
				"product": {"project-plan-3"}, "licenses": {"6"}, "period": {"annual"}, "method": {e.methodID(alice)}}, "licenses"), "")
			typ, again := answer(t, e.post(e.withMessage(sub, confirm)))
			if typ != cbUpdate || !strings.Contains(text(again), tt.want) {
				t.Fatalf("the form submitted after Back: %d %s, want the new confirmation (%s) in the old one's place",
					typ, text(again), tt.want)
			}
			if again["flags"] != nil {
				t.Errorf("the update carries flags %v", again["flags"])
			}
			pay, _ := confirmation(t, cbMessage, again)
			if typ, paid := answer(t, e.post(e.click(tt.w, again, pay, ""))); typ != cbUpdate || len(e.invoicesOf(alice)) != 1 {
				t.Fatalf("Pay on the new confirmation: %d %s, %d invoices", typ, text(paid), len(e.invoicesOf(alice)))
			}
			if got := e.invoicesOf(alice)[0].Total; got != 6*30360 {
				t.Errorf("charged %d cents, want 6 licenses at €303.60", got)
			}
		})
	}
	// A form whose modal a button of any other message opened answers
	// with a message of its own: that message stays.
	e := newEnv(t)
	e.card(alice)
	typ, modal := answer(t, e.post(e.interaction(aliceEN, itCommand, command("buy"), "")))
	if typ != cbModal {
		t.Fatalf("/billing buy: %d %s", typ, text(modal))
	}
	list := map[string]any{"content": "Your products", "components": []any{map[string]any{"type": ctActionRow,
		"components": []any{map[string]any{"type": ctButton, "style": 1, "label": "Buy", "custom_id": buttonPrefix + "buy"}}}}}
	sub := e.interaction(aliceEN, itModalSubmit, submission(modal["custom_id"].(string), map[string][]string{
		"product": {"project-plan-3"}, "licenses": {"5"}, "period": {"annual"}, "method": {e.methodID(alice)}}, "licenses"), "")
	if typ, data := answer(t, e.post(e.withMessage(sub, list))); typ != cbMessage {
		t.Errorf("a form opened from a list: %d %s, want a message of its own", typ, text(data))
	}
}
