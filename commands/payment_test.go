package commands_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
)

// linkToken is the token of the payment page link a response offers.
func linkToken(t *testing.T, r commands.Response) string {
	t.Helper()
	for _, m := range r.Messages {
		for _, b := range m.Buttons {
			if tok, ok := strings.CutPrefix(b.URL, "https://pay.example/pay/"); ok {
				if len(tok) != 48 {
					t.Errorf("token %q: %d characters, want 48", tok, len(tok))
				}
				return tok
			}
		}
	}
	t.Fatalf("no link to the payment page; got:\n%s", text(r))
	return ""
}

func visa(number string) payment.Card {
	return payment.Card{Number: number, CVC: cardCVC, ExpMonth: 12, ExpYear: 2030, Name: "Alice", Address: "Hauptstr. 1"}
}

// TestPaymentOverview shows accounts, profiles and cards without numbers.
func TestPaymentOverview(t *testing.T) {
	e := newEnv(t)
	wantMessage(t, e.run(alice, "payment"), "Billing account › Billing profile", "No payment method yet.", "] payment add\n")
	wantMessage(t, e.run(alice.de(), "zahlung"), "Abrechnungskonto › Abrechnungsprofil", "Noch keine Zahlungsmethode.")
	m := e.buyer(alice)
	for _, as := range []who{alice, alice.de()} {
		r := e.run(as, "payment")
		wantMessage(t, r, "Visa •••• 4242 (12/2030)", "Alice", "Hauptstr. 1, Berlin",
			"payment edit "+m.ID, "payment replace "+m.ID, "] payment add\n")
		if digits := onlyDigits(text(r)); strings.Contains(digits, cardNumber) {
			t.Errorf("the overview shows the card number:\n%s", text(r))
		}
	}
	e.clock.Set(time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC))
	wantText(t, e.run(alice, "payment"), "Visa •••• 4242 (12/2030) – expired")
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// TestPayLink: add and replace go through a single-use link to the
// payment page, which tokenizes the card.
func TestPayLink(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	r := e.run(alice, "payment add")
	wantMessage(t, r, "Add a payment method on the secure payment page. The link works once.", "It expires on Nov 25, 2026, 10:30 AM UTC.")
	token := linkToken(t, r)
	info, err := e.bot.PayLink(ctx, token)
	if l := info.Link; err != nil || l.Org != "T1" || l.User != alice.m.ID || l.Lang != "en" || l.MethodID != "" || !info.TestMode || info.Hosted {
		t.Errorf("PayLink = %+v, %v", info, err)
	}

	t.Run("card errors leave the link usable", func(t *testing.T) {
		for _, tt := range []struct {
			card payment.Card
			want error
		}{
			{visa("4242424242424241"), payment.ErrInvalidNumber},
			{visa("4242"), payment.ErrInvalidNumber},
			{payment.Card{Number: cardNumber, CVC: "1", ExpMonth: 12, ExpYear: 2030}, payment.ErrInvalidCVC},
			{payment.Card{Number: cardNumber, CVC: cardCVC, ExpMonth: 10, ExpYear: 2026}, payment.ErrExpired},
		} {
			if _, err := e.bot.CompletePayLink(ctx, token, tt.card); !errors.Is(err, tt.want) {
				t.Errorf("CompletePayLink(%v) = %v, want %v", tt.card, err, tt.want)
			}
		}
		if v := e.view(alice); len(v.Billing.Accounts) != 0 {
			t.Errorf("a refused card was saved: %+v", v.Billing)
		}
	})

	m, err := e.bot.CompletePayLink(ctx, token, visa(cardNumber))
	if err != nil {
		t.Fatalf("CompletePayLink: %v", err)
	}
	if m.Brand != payment.BrandVisa || m.Last4 != "4242" || m.ExpMonth != 12 || m.ExpYear != 2030 || m.Token == "" {
		t.Errorf("method = %+v", m)
	}
	if got, _, ok := e.view(alice).Billing.Method(m.ID); !ok || got.Token != m.Token {
		t.Errorf("the method is not saved: %+v", e.view(alice).Billing)
	}
	// A repeated submit (a double click, a reload) answers like the first
	// and saves nothing twice.
	if again, err := e.bot.CompletePayLink(ctx, token, visa("5555555555554444")); err != nil || again != m {
		t.Errorf("second use of the link = %+v, %v; want the first method %+v", again, err, m)
	}
	if info, err := e.bot.PayLink(ctx, token); err != nil || info.Saved == nil || *info.Saved != m {
		t.Errorf("PayLink after use = %+v, %v; want the saved method", info, err)
	}
	if ms := e.view(alice).Billing.Accounts[0].Profiles[0].Methods; len(ms) != 1 {
		t.Errorf("methods after two submits: %+v, want one", ms)
	}
	for _, bad := range []string{"", "nope", strings.Repeat("a", 48), token + "x"} {
		if _, err := e.bot.CompletePayLink(ctx, bad, visa(cardNumber)); !errors.Is(err, commands.ErrPayLink) {
			t.Errorf("CompletePayLink(%q) = %v, want ErrPayLink", bad, err)
		}
	}

	t.Run("expired link", func(t *testing.T) {
		e := e.at(t)
		token := linkToken(t, e.run(alice, "payment add"))
		e.clock.Set(t0.Add(31 * time.Minute))
		defer e.clock.Set(t0)
		if _, err := e.bot.CompletePayLink(ctx, token, visa(cardNumber)); !errors.Is(err, commands.ErrPayLink) {
			t.Errorf("expired link: %v, want ErrPayLink", err)
		}
	})

	t.Run("german", func(t *testing.T) {
		e := e.at(t)
		for _, line := range []string{"zahlung hinzufügen", "zahlung hinzufuegen", "zahlung hinzufügen default"} {
			r := e.run(alice.de(), line)
			wantMessage(t, r, "Fügen Sie auf der sicheren Zahlungsseite eine Zahlungsmethode hinzu.", "Er läuft am 25.11.2026, 10:30 UTC ab.")
			if l, _ := e.bot.PayLink(ctx, linkToken(t, r)); l.Link.Lang != "de" {
				t.Errorf("%s: link language %q, want de", line, l.Link.Lang)
			}
		}
	})

	t.Run("replace keeps the method id", func(t *testing.T) {
		e := e.at(t)
		sub := e.buy(alice, "visio-plan-2", 1)
		r := e.run(alice, "payment replace "+m.ID)
		wantMessage(t, r, "Replace this payment method on the secure payment page.")
		mc, err := e.bot.CompletePayLink(ctx, linkToken(t, r), payment.Card{Number: "5555 5555 5555 4444", CVC: "123", ExpMonth: 3, ExpYear: 2031})
		if err != nil {
			t.Fatalf("CompletePayLink: %v", err)
		}
		b := e.view(alice).Billing
		got, _, ok := b.Method(m.ID)
		if mc.ID != m.ID || !ok || got.Brand != payment.BrandMastercard || got.Last4 != "4444" || len(b.Accounts[0].Profiles[0].Methods) != 1 {
			t.Errorf("after replacing: %+v", b)
		}
		if s := e.sub("T1", sub); s.MethodID != m.ID {
			t.Errorf("the subscription pays with %q, want %q", s.MethodID, m.ID)
		}
		wantText(t, e.run(alice, "payment"), "Mastercard •••• 4444 (03/2031)")
	})

	t.Run("refused", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{alice, "payment replace nope", "That payment method does not exist (any more)."},
			{alice, "payment replace", "That payment method does not exist (any more)."},
			{bob, "payment replace " + m.ID, "That payment method does not exist (any more)."},
			{alice, "payment edit nope", "That payment method does not exist (any more)."},
			{alice.de(), "zahlung ersetzen nope", "Diese Zahlungsmethode gibt es nicht (mehr)."},
			{alice, "payment add nope", "That billing profile does not exist."},
			{alice, "payment frobnicate", "Unknown option “frobnicate”."},
		} {
			wantMessage(t, e.run(tt.as, tt.line), tt.want)
		}
		e.wantUnchanged(before)
	})
}

func methodForm(id string, kv ...string) *commands.Submission {
	base := []string{"name", "Alice Example", "exp_month", "1", "exp_year", "2031", "address", "Hauptstr. 2, Berlin"}
	for i := 0; i+1 < len(kv); i += 2 {
		for j := 0; j+1 < len(base); j += 2 {
			if base[j] == kv[i] {
				base[j+1] = kv[i+1]
			}
		}
	}
	return form(commands.FormPayment, id, base...)
}

// TestPaymentEdit edits name, expiry and address; never card numbers.
func TestPaymentEdit(t *testing.T) {
	e := newEnv(t)
	m := e.buyer(alice)
	e.buyer(bob)
	bobs := e.method(bob)

	f := wantForm(t, e.run(alice, "payment edit "+m.ID), commands.FormPayment)
	if f.Context != m.ID || strings.Join(input(t, f, "exp_month").Value, "") != "12" || strings.Join(input(t, f, "exp_year").Value, "") != "2030" ||
		strings.Join(input(t, f, "name").Value, "") != "Alice" {
		t.Errorf("edit form %+v", f)
	}
	wantForm(t, e.run(alice.de(), "zahlung bearbeiten "+m.ID), commands.FormPayment)

	before := e.snapshot()
	for _, tt := range []struct {
		name  string
		as    who
		f     *commands.Submission
		field string
		want  string
		bug   string
	}{
		{"expiry in the past", alice, methodForm(m.ID, "exp_month", "10", "exp_year", "2026"), "exp_month", "The expiry date is in the past.", ""},
		{"expiry in the past de", alice.de(), methodForm(m.ID, "exp_month", "10", "exp_year", "2026"), "exp_month", "Das Ablaufdatum liegt in der Vergangenheit.", ""},
		{"month 13", alice, methodForm(m.ID, "exp_month", "13"), "exp_month", "Enter a whole number from 1 to 12.", ""},
		{"month 0", alice, methodForm(m.ID, "exp_month", "0"), "exp_month", "Enter a whole number from 1 to 12.", ""},
		{"year in the past", alice, methodForm(m.ID, "exp_year", "2025"), "exp_year", "2026",
			"a year bound is shown with a thousands separator: \"Enter a whole number from 2,026 to 2,046\" (de: \"2.026 bis 2.046\")"},
		{"no name", alice, methodForm(m.ID, "name", ""), "name", "This field is required.", ""},
		{"no address", alice.de(), methodForm(m.ID, "address", " "), "address", "Dieses Feld ist erforderlich.", ""},
		{"name too long", alice, methodForm(m.ID, "name", strings.Repeat("n", 101)), "name", "at most 100 characters", ""},
		{"someone else's method", alice, methodForm(bobs), "name", "That payment method does not exist (any more).", ""},
		{"unknown method", alice, methodForm("nope"), "name", "That payment method does not exist (any more).", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).send(tt.as, tt.f)
			if msg := r.FieldErrors[tt.field]; tt.bug != "" && msg != "" && !strings.Contains(msg, tt.want) {
				t.Logf("field error: %q", msg)
				t.Fatal("fixed bug is back: " + tt.bug)
			}
			wantFieldError(t, r, tt.field, tt.want)
		})
	}

	t.Run("card numbers", func(t *testing.T) {
		for _, tt := range []struct{ field, value string }{
			{"name", cardNumber},
			{"name", "4242 4242 4242 4242"},
			{"address", "Card 4242-4242-4242-4242 please"},
			{"address", "3782 822463 10005"},
		} {
			t.Run(tt.value, func(t *testing.T) { wantCardRefused(t, e.at(t), m.ID, tt.field, tt.value) })
		}
	})
	e.wantUnchanged(before)

	r := e.send(alice, methodForm(m.ID))
	wantMessage(t, r, "Visa •••• 4242 (01/2031) is saved.")
	got, _, _ := e.view(alice).Billing.Method(m.ID)
	if got.Name != "Alice Example" || got.Address != "Hauptstr. 2, Berlin" || got.ExpMonth != 1 || got.ExpYear != 2031 || got.Token != m.Token {
		t.Errorf("saved method = %+v", got)
	}
	wantMessage(t, e.send(alice.de(), methodForm(m.ID, "name", "Alice E.")), "Visa •••• 4242 (01/2031) ist gespeichert.")
}

// wantCardRefused submits a card number in a field of the payment method
// form and checks that it is refused without being repeated.
func wantCardRefused(t *testing.T, e *env, method, field, value string) {
	t.Helper()
	for _, tt := range []struct {
		as   who
		want string
	}{
		{alice, "Never enter a card number in chat."},
		{alice.de(), "Geben Sie niemals eine Kartennummer im Chat ein."},
	} {
		r := e.send(tt.as, methodForm(method, field, value))
		if strings.Contains(onlyDigits(text(r)), onlyDigits(value)) {
			t.Errorf("the answer repeats the card number:\n%s", text(r))
		}
		wantFieldError(t, r, field, tt.want)
	}
}

// TestPaymentEditCardLike: card numbers grouped in other ways are refused
// too.
func TestPaymentEditCardLike(t *testing.T) {
	for _, tt := range []struct{ field, value string }{
		{"name", "4242.4242.4242.4242"},
		{"address", "4242  4242  4242  4242"},
		{"address", "4242 / 4242 / 4242 / 4242"},
	} {
		t.Run(tt.value, func(t *testing.T) {
			e := newEnv(t)
			m := e.buyer(alice)
			r := e.send(alice, methodForm(m.ID, tt.field, tt.value))
			if _, ok := r.FieldErrors[tt.field]; !ok {
				t.Log(text(r))
				t.Fatal("fixed bug is back: a card number grouped with dots, slashes or several spaces is saved in chat (cardLike matches only single spaces or dashes)")
			}
			wantCardRefused(t, e, m.ID, tt.field, tt.value)
		})
	}
}

// cvcAlone finds the test CVC as a number of its own; cvcWord the word cvc
// (a field's name), not letters of a random id such as 20261206-L7FECVC6.
var (
	cvcAlone = regexp.MustCompile(`(^|[^0-9A-Za-z])` + cardCVC + `([^0-9A-Za-z]|$)`)
	cvcWord  = regexp.MustCompile(`(?i)(^|[^0-9a-z])cvc([^0-9a-z]|$)`)
)

// TestNoCardDataInRedis: after every payment flow, Redis holds neither the
// card number nor the security code.
func TestNoCardDataInRedis(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	m := e.buyer(alice)
	e.buy(alice, "visio-plan-2", 3)
	token := linkToken(t, e.run(alice, "payment replace "+m.ID))
	if _, err := e.bot.CompletePayLink(ctx, token, visa("4242 4242 4242 4241")); err == nil {
		t.Fatal("an invalid number was accepted")
	}
	if _, err := e.bot.CompletePayLink(ctx, token, visa("4242-4242-4242-4242")); err != nil {
		t.Fatalf("CompletePayLink: %v", err)
	}
	e.send(alice, methodForm(m.ID, "name", cardNumber))
	e.send(alice, methodForm(m.ID))
	linkToken(t, e.run(alice, "payment add")) // an unused link stays in Redis
	e.trial(bob, "visio-plan-2")

	snap := e.snapshot()
	if len(snap) < 10 {
		t.Fatalf("only %d keys: the flows wrote nothing?", len(snap))
	}
	for k, v := range snap {
		for _, s := range []string{k, v} {
			if strings.Contains(onlyDigits(s), cardNumber) || strings.Contains(s, "4242 4242") || strings.Contains(s, "4242-4242") {
				t.Errorf("key %s holds the card number: %.300s", k, v)
			}
			if cvcAlone.MatchString(s) || cvcWord.MatchString(s) {
				t.Errorf("key %s holds the security code: %.300s", k, v)
			}
		}
	}
	// The store keeps what a receipt shows and the gateway's token.
	got, _, _ := e.view(alice).Billing.Method(m.ID)
	if got.Last4 != "4242" || got.Brand != payment.BrandVisa || got.Token == "" {
		t.Errorf("method = %+v", got)
	}
}

// TestPaymentExpiryPastMarksBoth: an expiry in the past is an error of the
// month and the year together, so that the year can be corrected as well
// as the month (a platform asks again only the fields with errors); the
// corrected year saves.
func TestPaymentExpiryPastMarksBoth(t *testing.T) {
	e := newEnv(t) // November 2026
	m := e.buyer(alice)
	for _, tt := range []struct {
		as   who
		want string
	}{{alice, "The expiry date is in the past."}, {alice.de(), "Das Ablaufdatum liegt in der Vergangenheit."}} {
		r := e.send(tt.as, methodForm(m.ID, "exp_month", "1", "exp_year", "2026"))
		wantFieldError(t, r, "exp_month", tt.want)
		wantFieldError(t, r, "exp_year", tt.want)
		if len(r.FieldErrors) != 2 {
			t.Errorf("field errors %v, want the month and the year only", r.FieldErrors)
		}
	}
	wantMessage(t, e.send(alice, methodForm(m.ID, "exp_month", "1", "exp_year", "2027")), "Visa •••• 4242 (01/2027) is saved.")
}

// TestDefaultNamesInReadersLanguage: the default billing account and
// profile are named in the language of whoever reads them, wherever they
// are shown, also when the billing document was made in another language
// (alice's first card came through an English link, hugo's through a
// German one).
func TestDefaultNamesInReadersLanguage(t *testing.T) {
	e := newEnv(t, withKey)
	m := e.buyer(alice) // made in English
	e.buy(alice, "visio-plan-2", 5)
	r := e.run(hugo, "zahlung hinzufügen") // made in German
	if _, err := e.bot.CompletePayLink(t.Context(), linkToken(t, r), visa(cardNumber)); err != nil {
		t.Fatalf("CompletePayLink: %v", err)
	}
	if b := e.view(hugo).Billing; b.Accounts[0].Name != "Abrechnungskonto" || b.Accounts[0].Profiles[0].Name != "Abrechnungsprofil" {
		t.Errorf("hugo's billing document names %q › %q, want the German defaults", b.Accounts[0].Name, b.Accounts[0].Profiles[0].Name)
	}
	de, en := alice.de(), who(hugo)
	en.locale = "en-US"
	for _, tt := range []struct {
		name string
		as   who
		line string
		want []string
		not  string
	}{
		{"payment de, made in English", de, "zahlung", []string{"Abrechnungskonto › Abrechnungsprofil"}, "Billing"},
		{"payment en, made in German", en, "payment", []string{"Billing account › Billing profile"}, "Abrechnungs"},
		{"buy form de", de, "kaufen visio 1", []string{"Visa •••• 4242 (12/2030) – Abrechnungsprofil"}, "Billing profile"},
		{"remove de", de, "zahlung entfernen " + m.ID, []string{"ist die einzige Zahlungsmethode von Abrechnungsprofil"}, "Billing profile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantText(t, r, tt.want...)
			if strings.Contains(text(r), tt.not) {
				t.Errorf("the answer names %q:\n%s", tt.not, text(r))
			}
		})
	}
	t.Run("payment page de", func(t *testing.T) {
		info, err := e.bot.PayLink(t.Context(), linkToken(t, e.run(de, "zahlung hinzufügen")))
		if err != nil || info.Account != "Abrechnungskonto" || info.Profile != "Abrechnungsprofil" {
			t.Errorf("the payment page names %q › %q, %v; want the German defaults", info.Account, info.Profile, err)
		}
	})
}
