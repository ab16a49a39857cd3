package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// The card number the tests type, grouped and not.
const (
	typedCard  = "4242 4242 4242 4242"
	cardDigits = "4242424242424242"
)

// holdsCard reports whether s holds the card number, however grouped.
func holdsCard(s string) bool {
	return strings.Contains(strings.NewReplacer(" ", "", "-", "", ".", "").Replace(s), cardDigits)
}

// TestCardNumberNowhere: whatever a user types with a card number in it,
// over the interactions endpoint (an option of any command, a value of any
// modal), is refused with the warning in the user's language and is never
// shown again, kept in Redis, sent to Discord's API or logged. A modal
// refused for a card number keeps none of the values entered: its reopen
// button (kept for 15 minutes only, and deleted once the form is sent)
// opens the form as it was first shown.
func TestCardNumberNowhere(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{
		"miniredis": func(t *testing.T) string { return miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.Real(t) },
	} {
		t.Run(name, func(t *testing.T) { testCardNumberNowhere(t, newEnvAt(t, addr(t))) })
	}
}

func testCardNumberNowhere(t *testing.T, e *env) {
	ctx := t.Context()
	e.card(alice)
	sub := e.buyVisio()

	warning := map[string]string{
		"en": "Never enter a card number in chat.",
		"de": "Geben Sie niemals eine Kartennummer im Chat ein.",
	}
	// Options of commands, known and unknown.
	for _, tt := range []struct {
		name string
		data map[string]any
	}{
		{"buy", command("buy", opt("product", optString, typedCard))},
		{"buy with a count", command("buy", opt("product", optString, "visio"+cardDigits), opt("count", optInteger, 5))},
		{"cancel", command("cancel", opt("subscription", optString, cardDigits))},
		{"licenses", command("licenses", opt("subscription", optString, typedCard+", CVC 731"))},
		{"invoices", command("invoices", opt("range", optString, typedCard))},
		{"unknown", command(cardDigits)},
	} {
		for lang, w := range map[string]who{"en": aliceEN, "de": aliceDE} {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				w := e.post(e.interaction(w, itCommand, tt.data, ""))
				typ, data := answer(t, w)
				if typ != cbMessage || !strings.Contains(data["content"].(string), warning[lang]) {
					t.Errorf("answer %d %s, want the warning", typ, w.Body)
				}
				if holdsCard(w.Body.String()) {
					t.Errorf("the answer repeats the card number: %s", w.Body)
				}
			})
		}
	}

	// The cancel modal, with the card number in the feedback.
	_, data := answer(t, e.post(e.interaction(aliceEN, itCommand, command("cancel", opt("subscription", optString, sub)), "")))
	modalID := data["custom_id"].(string)
	first := strings.SplitN(strings.TrimPrefix(modalID, formPrefix), ":", 2)[0]
	w := e.post(e.interaction(aliceEN, itModalSubmit, submission(modalID, map[string][]string{"subscription": {sub},
		"reason": {"too_expensive"}, "feedback": {"Paid with " + typedCard + ", CVC 731"}, "confirm": {"yes"}}, "feedback"), ""))
	_, data = answer(t, w)
	if c := data["content"].(string); !strings.Contains(c, "**"+e.bot.Text("en", "FieldFeedback")+"**: "+warning["en"]) {
		t.Errorf("refused feedback: %s", c)
	}
	if holdsCard(w.Body.String()) {
		t.Errorf("the answer repeats the card number: %s", w.Body)
	}
	reopen := strings.TrimPrefix(reopenButton(t, data), reopenPrefix)
	e.a.Wait()
	redistest.WantNowhere(t, e.addr, cardDigits, typedCard, "Paid with", "CVC 731") // nothing of what was entered
	if _, ok, _ := e.st.CacheGet(ctx, testOrg, "form:"+first); ok {
		t.Error("the submitted form is still kept beside the refused one")
	}
	if _, ttl, ok, err := e.st.CacheGetTTL(ctx, testOrg, "form:"+reopen); !ok || err != nil || ttl <= 0 || ttl > 15*time.Minute {
		t.Errorf("refused form kept %v (%v, %v), want at most 15 minutes", ttl, ok, err)
	}
	typ, data := answer(t, e.post(e.interaction(aliceEN, itComponent, map[string]any{"custom_id": reopenPrefix + reopen, "component_type": ctButton}, "")))
	inputs := modalInputs(t, data)
	if typ != cbModal || inputs["feedback"]["value"] != nil || chosen(inputs["reason"], "too_expensive") {
		t.Errorf("reopened modal %d: feedback %v, reason %v; want the form as first shown", typ, inputs["feedback"]["value"], inputs["reason"])
	}
	_, data = answer(t, e.post(e.interaction(aliceEN, itModalSubmit, submission(data["custom_id"].(string), map[string][]string{
		"subscription": {sub}, "reason": {"too_expensive"}, "feedback": {"Too dear"}, "confirm": {"yes"}}, "feedback"), "")))
	if !strings.Contains(text(data), e.bot.Text("en", "TitleCanceled")) {
		t.Errorf("corrected cancel: %s", text(data))
	}
	e.a.Wait()
	if _, ok, _ := e.st.CacheGet(ctx, testOrg, "form:"+reopen); ok {
		t.Error("the refused form is still kept after it was sent successfully")
	}
	if s, _ := e.st.Subscription(ctx, testOrg, sub); s.CancelComment != "Too dear" {
		t.Errorf("feedback kept %q, want the corrected one", s.CancelComment)
	}

	// The payment method modal, in German: the name is refused, and the
	// address entered beside it is not kept either.
	method := e.methodID(alice)
	_, data = answer(t, e.post(e.interaction(aliceDE, itComponent, map[string]any{"custom_id": buttonPrefix + "payment edit " + method,
		"component_type": ctButton}, "")))
	w = e.post(e.interaction(aliceDE, itModalSubmit, submission(data["custom_id"].(string), map[string][]string{
		"name": {cardDigits}, "exp_month": {"12"}, "exp_year": {"2030"}, "address": {"Neue Str. 5, Köln"}}, "name", "exp_month", "exp_year", "address"), ""))
	_, data = answer(t, w)
	if c := data["content"].(string); !strings.Contains(c, "**"+e.bot.Text("de", "FieldCardName")+"**: "+warning["de"]) {
		t.Errorf("refused name: %s", c)
	}
	if holdsCard(w.Body.String()) {
		t.Errorf("the answer repeats the card number: %s", w.Body)
	}
	e.a.Wait()
	redistest.WantNowhere(t, e.addr, cardDigits, typedCard, "Neue Str. 5")
	_, data = answer(t, e.post(e.interaction(aliceDE, itComponent, map[string]any{"custom_id": reopenButton(t, data), "component_type": ctButton}, "")))
	inputs = modalInputs(t, data)
	if inputs["name"]["value"] != "Alice Adams" || inputs["address"]["value"] != "Hauptstr. 1, Berlin" {
		t.Errorf("reopened payment modal: name %v, address %v; want both as before", inputs["name"]["value"], inputs["address"]["value"])
	}

	e.a.Wait()
	redistest.WantNowhere(t, e.addr, cardDigits, typedCard)
	if holdsCard(e.logs.String()) {
		t.Errorf("the log holds the card number:\n%s", e.logs.String())
	}
	for {
		select {
		case c := <-e.fake.calls:
			if holdsCard(c.Path) || holdsCard(string(c.Body)) {
				t.Errorf("Discord's API got the card number: %s %s %s", c.Method, c.Path, c.Body)
			}
			continue
		default:
		}
		break
	}
}

// buyVisio buys 5 licenses of Visio Plan 2 for alice through the buy
// modal and returns the subscription's id.
func (e *env) buyVisio() string {
	e.t.Helper()
	return e.buyVisioAs(aliceEN)
}

// buyVisioAs is buyVisio by alice as w says (her name, her locale).
func (e *env) buyVisioAs(w who) string {
	e.t.Helper()
	_, data := answer(e.t, e.post(e.interaction(w, itCommand, command("buy", opt("product", optString, "visio-plan-2"),
		opt("count", optInteger, 5)), "")))
	typ, data := answer(e.t, e.post(e.interaction(w, itModalSubmit, submission(data["custom_id"].(string), map[string][]string{
		"product": {"visio-plan-2"}, "licenses": {"5"}, "period": {"monthly"}, "method": {e.methodID(alice)}}, "licenses"), "")))
	pay, _ := confirmation(e.t, typ, data)
	_, data = answer(e.t, e.post(e.click(w, data, pay, "")))
	e.a.Wait()
	if _, err := e.bot.RunDue(e.t.Context()); err != nil { // the purchase's charge
		e.t.Fatal(err)
	}
	view, err := e.st.View(e.t.Context(), testOrg, alice, store.ViewOptions{})
	if err != nil || len(view.Subs) != 1 {
		e.t.Fatalf("after buying: %+v, %v; answer %s", view.Subs, err, text(data))
	}
	return view.Subs[0].ID
}

// methodID is a user's first payment method.
func (e *env) methodID(user string) string {
	e.t.Helper()
	view, err := e.st.View(e.t.Context(), testOrg, user, store.ViewOptions{})
	if err != nil || len(view.Billing.Accounts) == 0 || len(view.Billing.Accounts[0].Profiles) == 0 ||
		len(view.Billing.Accounts[0].Profiles[0].Methods) == 0 {
		e.t.Fatalf("no payment method: %+v, %v", view.Billing, err)
	}
	return view.Billing.Accounts[0].Profiles[0].Methods[0].ID
}

// reopenButton is the custom id of a field-error message's reopen button.
func reopenButton(t *testing.T, msg map[string]any) string {
	t.Helper()
	rows, _ := msg["components"].([]any)
	if len(rows) == 0 {
		t.Fatalf("no reopen button: %s", text(msg))
	}
	id := rows[0].(map[string]any)["components"].([]any)[0].(map[string]any)["custom_id"].(string)
	if !strings.HasPrefix(id, reopenPrefix) {
		t.Fatalf("reopen button %q", id)
	}
	return id
}

// chosen reports whether a select input has value as its default.
func chosen(in map[string]any, value string) bool {
	opts, _ := in["options"].([]any)
	for _, o := range opts {
		if o := o.(map[string]any); o["value"] == value && o["default"] == true {
			return true
		}
	}
	return false
}
