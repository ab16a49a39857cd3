package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

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
	return strings.Contains(strings.NewReplacer(" ", "", "-", "", ".", "", "+", "", "%20", "").Replace(s), cardDigits)
}

// TestCardNumberNowhere: a card number in a slash command's text or in a
// modal's value is refused with the warning in the user's language (a
// modal's as the error of its field, in response_action errors, which
// leaves what was typed in Slack's client only), is never repeated, and
// is in no Redis key or value, no log line and no call to Slack's API.
func TestCardNumberNowhere(t *testing.T) {
	for name, addr := range map[string]func(*testing.T) string{
		"miniredis": func(t *testing.T) string { return miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.Real(t) },
	} {
		t.Run(name, func(t *testing.T) { testCardNumberNowhere(t, newEnvAt(t, addr(t))) })
	}
}

func testCardNumberNowhere(t *testing.T, e *env) {
	warning := map[string]string{
		"en": "Never enter a card number in chat.",
		"de": "Geben Sie niemals eine Kartennummer im Chat ein.",
	}
	e.addCard("U1")
	e.addCard("U3")
	sub := e.buyVisio("U1")

	// Slash commands: U1 is English, U3 (Dora) German.
	for i, tt := range []struct{ user, lang, text string }{
		{"U1", "en", "buy " + typedCard},
		{"U1", "en", "cancel visio " + cardDigits},
		{"U1", "en", "admin channel " + cardDigits},
		{"U1", "en", typedCard + ", CVC 731"},
		{"U1", "en", "frobnicate " + typedCard},
		{"U3", "de", "kaufen " + typedCard},
		{"U3", "de", "kuendigen visio 4242-4242-4242-4242"},
	} {
		t.Run(tt.text, func(t *testing.T) {
			w := e.command(tt.user, tt.text, "trig-card-"+strconvI(int64(i)))
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), jsonEscape(warning[tt.lang])) {
				t.Errorf("answer %d %s, want the warning", w.Code, w.Body)
			}
			if holdsCard(w.Body.String()) {
				t.Errorf("the answer repeats the card number: %s", w.Body)
			}
		})
	}

	// The cancel modal: the feedback holds the card number.
	e.command("U1", "cancel "+sub, "trig-cancel")
	view, _ := openedView(e.slack.waitFor("views.open"))
	values := map[string]any{"subscription": sel(sub), "reason": sel("too_expensive"),
		"feedback": "Paid with " + typedCard + ", CVC 731", "confirm": checked{"yes"}}
	w := e.interact(e.submission("U1", "V-CANCEL", view, values))
	errs := viewErrors(t, w.Body.Bytes())
	if !strings.HasPrefix(errs["feedback"], warning["en"]) {
		t.Errorf("errors %v, want the warning on feedback", errs)
	}
	if holdsCard(w.Body.String()) {
		t.Errorf("the answer repeats the card number: %s", w.Body)
	}
	e.a.wg.Wait()
	if s, _ := e.st.Subscription(context.Background(), testOrg, sub); s.Status != store.StatusActive || s.CancelComment != "" {
		t.Errorf("subscription after the refusal: %+v", s)
	}
	values["feedback"] = "Too dear"
	if w := e.interact(e.submission("U1", "V-CANCEL", view, values)); !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Errorf("corrected cancel: %s", w.Body)
	}

	// The payment method modal, in German: the address holds it.
	method := e.methodID("U3")
	e.command("U3", "zahlung bearbeiten "+method, "trig-pay")
	view, _ = openedView(e.slack.waitFor("views.open"))
	w = e.interact(e.submission("U3", "V-PAY", view, map[string]any{"name": "Dora", "exp_month": "12", "exp_year": "2030",
		"address": "Hauptstr. 1\n" + cardDigits}))
	if errs := viewErrors(t, w.Body.Bytes()); !strings.HasPrefix(errs["address"], warning["de"]) {
		t.Errorf("errors %v, want the German warning on address", errs)
	}
	if holdsCard(w.Body.String()) {
		t.Errorf("the answer repeats the card number: %s", w.Body)
	}

	e.a.wg.Wait()
	redistest.WantNowhere(t, e.addr, cardDigits, typedCard)
	if holdsCard(e.logs.String()) {
		t.Errorf("the log holds the card number:\n%s", e.logs.String())
	}
	e.slack.mu.Lock()
	defer e.slack.mu.Unlock()
	for _, c := range e.slack.calls {
		if holdsCard(c.Body) {
			t.Errorf("Slack's API got the card number: %s %s", c.Method, c.Body)
		}
	}
}

// viewErrors reads a response_action errors answer.
func viewErrors(t *testing.T, body []byte) map[string]string {
	t.Helper()
	var errs struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &errs) != nil || errs.ResponseAction != "errors" {
		t.Fatalf("answer %s, want response_action errors", body)
	}
	return errs.Errors
}

// buyVisio buys 5 licenses of Visio Plan 2 for a user through the buy
// modal and returns the subscription's id.
func (e *env) buyVisio(user string) string {
	e.t.Helper()
	e.command(user, "buy visio 5", "trig-buy-"+user)
	view, _ := openedView(e.slack.waitFor("views.open"))
	w := e.interact(e.submission(user, "V-BUY-"+user, view, shownValues(view))) // 5 licenses of Visio Plan 2, monthly
	if !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		e.t.Fatalf("buy: %s", w.Body)
	}
	e.a.wg.Wait()
	if _, err := e.bot.RunDue(context.Background()); err != nil { // the purchase's charge
		e.t.Fatal(err)
	}
	v, err := e.st.View(context.Background(), testOrg, user, store.ViewOptions{})
	if err != nil || len(v.Subs) != 1 {
		e.t.Fatalf("after buying: %+v, %v", v.Subs, err)
	}
	return v.Subs[0].ID
}

// methodID is a user's first payment method.
func (e *env) methodID(user string) string {
	e.t.Helper()
	v, err := e.st.View(context.Background(), testOrg, user, store.ViewOptions{})
	if err != nil || len(v.Billing.Accounts) == 0 || len(v.Billing.Accounts[0].Profiles) == 0 ||
		len(v.Billing.Accounts[0].Profiles[0].Methods) == 0 {
		e.t.Fatalf("no payment method: %+v, %v", v.Billing, err)
	}
	return v.Billing.Accounts[0].Profiles[0].Methods[0].ID
}
