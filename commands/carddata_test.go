package commands_test

import (
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// typedCard is a card number as users type it in chat: the tests' card
// (cardNumber), grouped.
const typedCard = "4242 4242 4242 4242"

// cardWarning is the start of ErrCardInChat by language.
var cardWarning = map[string]string{
	"en": "Never enter a card number in chat. Nothing of what you typed was kept.",
	"de": "Geben Sie niemals eine Kartennummer im Chat ein. Von Ihrer Eingabe wurde nichts gespeichert.",
}

// wantNoCard fails when the card number is anywhere in Redis (a key or a
// value of any type) or in what the bots logged.
func (e *env) wantNoCard() {
	e.t.Helper()
	redistest.WantNowhere(e.t, e.addr, cardNumber, typedCard)
	if log := e.logs.String(); strings.Contains(onlyDigits(log), cardNumber) {
		e.t.Errorf("the log holds the card number:\n%s", log)
	}
}

// wantNotRepeated fails when an answer repeats the card number.
func wantNotRepeated(t *testing.T, r commands.Response) {
	t.Helper()
	if strings.Contains(onlyDigits(text(r)), cardNumber) {
		t.Errorf("the answer repeats the card number:\n%s", text(r))
	}
}

// TestCardNumberOnCommandLine: a command line that holds a card number,
// whatever its command (known, unknown, in German), is refused with the
// warning in the user's language, before anything is read or written for
// it: nothing is kept, repeated or logged.
func TestCardNumberOnCommandLine(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e = e.at(t)
		e.buyer(alice)
		sub := e.buy(alice, "visio-plan-2", 5)
		lines := []string{
			"buy " + typedCard,
			"buy visio " + cardNumber,
			"/billing buy 4242-4242-4242-4242 5",
			"trial " + typedCard,
			"cancel visio " + cardNumber,
			"cancel " + sub + " " + typedCard,
			"licenses visio " + cardNumber,
			"assign visio " + typedCard,
			"assign visio <@" + cardNumber + ">",
			"unassign " + typedCard,
			"admin channel " + cardNumber,
			"admin channel #4242-4242-4242-4242",
			"payment edit " + cardNumber,
			"payment add " + typedCard,
			"invoices " + typedCard,
			"language " + cardNumber,
			"products " + typedCard,
			"help " + typedCard,
			"frobnicate " + typedCard,
			cardNumber,
			typedCard + ", CVC 731",
			"/billing kaufen " + typedCard,
			"kündigen visio " + cardNumber,
			"/abrechnung zahlung bearbeiten " + cardNumber,
			"zuweisen visio " + typedCard,
			"rechnungen " + typedCard,
			// Characters shown as nothing between the digits hide nothing.
			"buy 4242\u200b4242\u200b4242\u200b4242",
			"buy visio 42424242\u202e42424242",
		}
		var before map[string]string
		if e.mr != nil {
			before = e.snapshot()
		}
		for _, line := range lines {
			for _, w := range []who{alice, alice.de()} {
				lang := map[bool]string{false: "en", true: "de"}[w.locale == "de-DE"]
				t.Run(lang+"/"+line, func(t *testing.T) {
					r := e.at(t).run(w, line)
					wantMessage(t, r, cardWarning[lang])
					wantNotRepeated(t, r)
					if r.Lang != lang {
						t.Errorf("Lang = %q, want %q", r.Lang, lang)
					}
					if len(r.Messages) != 1 || len(r.Messages[0].Buttons) > 0 {
						t.Errorf("want the warning alone; got:\n%s", text(r))
					}
				})
			}
		}
		if before != nil {
			e.wantUnchanged(before)
		}
		e.wantNoCard()
	})
}

// TestCardNumberRefusalInUsersLanguage: the warning about a command line
// comes in the language the user chose, whatever the platform's.
func TestCardNumberRefusalInUsersLanguage(t *testing.T) {
	e := newEnv(t)
	wantText(t, e.run(alice, "language de"), "Deutsch")
	wantMessage(t, e.run(alice, "buy "+typedCard), cardWarning["de"])
}

// TestCardNumberLinesCount: a refused line counts as one of the user's
// requests of the minute, like any other; when Redis is down it is refused
// all the same, in the platform's language, and Handle reports no fault.
func TestCardNumberLinesCount(t *testing.T) {
	mr := miniredis.RunT(t)
	e := start(t, &redis.Options{Addr: mr.Addr(), MaxRetries: -1}, func(c *commands.Config) { c.RatePerMinute = 3 })
	e.mr = mr
	for i := range 3 {
		if r := e.run(alice, "buy "+typedCard); !strings.Contains(text(r), cardWarning["en"]) {
			t.Fatalf("line %d: %s", i+1, text(r))
		}
	}
	wantMessage(t, e.run(alice, "buy "+typedCard), "faster than billingbot can take them")
	wantMessage(t, e.run(alice, "help"), "faster than billingbot can take them")

	mr.Close()
	req := e.request(alice.de())
	req.Text = "kaufen " + typedCard
	r, err := e.bot.Handle(t.Context(), req)
	if err != nil {
		t.Errorf("Handle: %v", err)
	}
	wantMessage(t, r, cardWarning["de"])
}

// TestCardNumberInForms: a card number in any value of any form is an
// error on that field, with the warning in the user's language; the form
// changes nothing (cancel feedback reaches neither the subscription nor
// the audit stream), nothing of it is kept, repeated or logged.
func TestCardNumberInForms(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e = e.at(t)
		m := e.buyer(alice)
		sub := e.buy(alice, "visio-plan-2", 5)
		e.assign(alice, sub, bob.m.ID)
		buy := func(field, value string) *commands.Submission {
			f := e.buyForm(alice, "visio-plan-2", 1, store.Monthly)
			f.Values[field] = []string{value}
			return f
		}
		tests := []struct {
			name  string
			form  *commands.Submission
			field string
		}{
			{"cancel feedback", cancelForm(sub, "other", "Paid with "+typedCard+", CVC 731", "yes"), "feedback"},
			{"cancel feedback, digits only", cancelForm(sub, "too_expensive", cardNumber, "yes"), "feedback"},
			{"cancel feedback and no reason", cancelForm(sub, "", typedCard, "yes"), "feedback"},
			{"cancel subscription", cancelForm(typedCard, "other", "", "yes"), "subscription"},
			{"payment name", methodForm(m.ID, "name", typedCard), "name"},
			{"payment address", methodForm(m.ID, "address", "Hauptstr. 1\n"+cardNumber), "address"},
			{"payment expiry year", methodForm(m.ID, "exp_year", cardNumber), "exp_year"},
			{"buy product", buy("product", typedCard), "product"},
			{"buy licenses", buy("licenses", cardNumber), "licenses"},
			{"buy method", buy("method", typedCard), "method"},
			{"trial product", form(commands.FormTrial, "", "product", typedCard), "product"},
			{"licenses total", licensesForm(sub, cardNumber), "total"},
			{"assign users", form(commands.FormAssign, sub, "users", "U3", "users", typedCard), "users"},
			{"assign a mention", form(commands.FormAssign, sub, "users", "<@"+cardNumber+">"), "users"},
			{"unassign users", form(commands.FormUnassign, sub, "users", typedCard, "confirm", "yes"), "users"},
			{"invoice range from", form(commands.FormInvoices, "", "range", "custom", "from", typedCard, "to", "2026-11-25"), "from"},
			{"an input no form has", form(commands.FormLicenses, sub, "subscription", sub, "total", "7", "note", typedCard), "note"},
		}
		var before map[string]string
		if e.mr != nil {
			before = e.snapshot()
		}
		for _, tt := range tests {
			for _, w := range []who{alice, alice.de()} {
				lang := map[bool]string{false: "en", true: "de"}[w.locale == "de-DE"]
				t.Run(lang+"/"+tt.name, func(t *testing.T) {
					r := e.at(t).send(w, tt.form)
					wantFieldError(t, r, tt.field, cardWarning[lang])
					wantNotRepeated(t, r)
					if len(r.Messages) > 0 || r.Form != nil {
						t.Errorf("want field errors alone; got:\n%s", text(r))
					}
				})
			}
		}
		if before != nil {
			e.wantUnchanged(before)
		}
		if s := e.sub(alice.org, sub); s.Status != store.StatusActive || s.CancelComment != "" || s.Total != 5 || s.AssignedCount != 1 {
			t.Errorf("subscription changed: %+v", s)
		}
		e.wantNoCard()

		// The same forms without the card number work.
		wantMessage(t, e.send(alice, cancelForm(sub, "other", "Paid with my card, CVC 731", "yes")), "canceled")
		if s := e.sub(alice.org, sub); s.Status != store.StatusCanceled || s.CancelComment != "Paid with my card, CVC 731" {
			t.Errorf("canceled subscription: %+v", s)
		}
		e.wantNoCard()
	})
}

// TestNumbersThatAreNoCardNumbers: date ranges and Discord's ids of
// people look like card numbers to a pattern, and are read as what they
// are.
func TestNumbersThatAreNoCardNumbers(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	sub := e.buy(alice, "visio-plan-2", 5)
	snowflake := "<@123456789012345678>"
	for _, tt := range []struct {
		line string
		want string
	}{
		{"invoices 2026-09-01 2026-11-25", "Invoices: Sep 1, 2026 to Nov 25, 2026"},
		{"rechnungen 01.09.2026 25.11.2026", "Invoices: Sep 1, 2026 to Nov 25, 2026"},
		{"assign visio " + snowflake, "<@123456789012345678> is not a member of your organization."},
		{"buy visio 999999999999999999999999", "Enter a whole number from 1 to 10,000."},
	} {
		t.Run(tt.line, func(t *testing.T) { wantText(t, e.at(t).run(alice, tt.line), tt.want) })
	}
	r := e.send(alice, form(commands.FormAssign, sub, "users", "1234567890123456789"))
	wantFieldError(t, r, "users", "1234567890123456789 is not a member of your organization.")
}

// TestUnknownCommandShownSafely: the unknown-command answer repeats the
// word without invisible characters that could hide or reorder it.
func TestUnknownCommandShownSafely(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		name, line, want string
	}{
		{"zero-width space", "frob\u200bnicate", "“frobnicate”"},
		{"right-to-left override", "\u202eetacinborf now", "“etacinborf”"},
		{"isolate and byte order mark", "\ufeff\u2067frob\u2069", "“frob”"},
		{"long", strings.Repeat("x", 300), "“" + strings.Repeat("x", 39) + "…”"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).run(alice, tt.line)
			wantMessage(t, r, "I don't know the command "+tt.want)
			if strings.ContainsAny(text(r), "\u200b\u202e\ufeff\u2067\u2069") {
				t.Errorf("the answer holds invisible characters: %q", text(r))
			}
		})
	}
	// A command with such characters in it is the command it looks like.
	wantMessage(t, e.run(alice.de(), "hilf\u200be"), "Kaufen Sie Abonnements, starten Sie Testversionen")
}
