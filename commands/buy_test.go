package commands_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// TestBuyCommandLine: the command line pre-fills the buy form.
func TestBuyCommandLine(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		line        string
		as          who
		product     string // pre-selected product ("" for none)
		licenses    string
		maxLicenses int
		bug         string
	}{
		{"buy visio 5", alice, "visio-plan-2", "5", 10000, ""},
		{"kaufen visio 5", alice.de(), "visio-plan-2", "5", 10000, ""},
		{"buy VISIO", alice, "visio-plan-2", "1", 10000, ""},
		{"buy visio-plan-2 12", alice, "visio-plan-2", "12", 10000, ""},
		{"buy visio 1,000", alice, "visio-plan-2", "1000", 10000, ""},
		{"kaufen visio 1.000", alice.de(), "visio-plan-2", "1000", 10000, ""},
		{"buy Visio Plan 2 7", alice, "visio-plan-2", "7", 10000, ""},
		{`buy "Visio Plan 2"`, alice, "visio-plan-2", "1", 10000, ""},
		{`kaufen „Visio Plan 2“ 5`, alice.de(), "visio-plan-2", "5", 10000, ""},
		{"buy tiny", alice, "tiny", "1", 3, ""},
		{"buy 5", alice, "", "5", 10000, ""},
		{"buy", alice, "", "1", 10000, ""},
		{`buy “Visio Plan 2” 5`, alice, "visio-plan-2", "5", 10000,
			"English typographic quotes “…” never close: ” is not accepted as the closing quote of “"},
		{"buy Project Plan 3", alice, "project-plan-3", "1", 10000,
			"a product name that ends in a number (Project Plan 3) loses the number as the license count"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			if r.Form == nil && tt.bug != "" {
				t.Log(text(r))
				t.Fatal("fixed bug is back: " + tt.bug)
			}
			f := wantForm(t, r, commands.FormBuy)
			product, licenses := input(t, f, "product"), input(t, f, "licenses")
			got := strings.Join(product.Value, ",")
			if got != tt.product || strings.Join(licenses.Value, ",") != tt.licenses {
				if tt.bug != "" {
					t.Logf("got product %q, licenses %q", got, licenses.Value)
					t.Fatal("fixed bug is back: " + tt.bug)
				}
				t.Errorf("got product %q, licenses %q; want %q, %q", got, licenses.Value, tt.product, tt.licenses)
			}
			if licenses.Min != 1 || licenses.Max != tt.maxLicenses {
				t.Errorf("licenses input allows %d…%d, want 1…%d", licenses.Min, licenses.Max, tt.maxLicenses)
			}
			for _, id := range []string{"period", "method"} {
				input(t, f, id)
			}
			if tt.product != "" {
				in := input(t, f, "price")
				if !strings.Contains(in.Text, "€") {
					t.Errorf("price preview %q shows no price", in.Text)
				}
			}
		})
	}
}

// TestBuyPricePreview shows monthly, annual and total prices per locale.
func TestBuyPricePreview(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as   who
		line string
		want string
	}{
		{alice, "buy visio 98", "98 licenses of Visio Plan 2 at €12.60 per license per month.\nToday: €1,234.80 for the period until Dec 25, 2026.\nThen: €1,234.80 per month from Dec 25, 2026, until you cancel."},
		{alice.de(), "kaufen visio 98", "98 Lizenzen von Visio Plan 2 zu 12,60 € pro Lizenz und Monat.\nHeute: 1.234,80 € für den Zeitraum bis 25.12.2026.\nDanach: 1.234,80 € pro Monat ab 25.12.2026, bis Sie kündigen."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			f := wantForm(t, e.at(t).run(tt.as, tt.line), commands.FormBuy)
			if got := input(t, f, "price").Text; !strings.Contains(got, tt.want) {
				t.Errorf("price preview = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBuyAmbiguous offers a choice, never a guess.
func TestBuyAmbiguous(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as   who
		line string
		want string
		rest string
	}{
		{alice, "buy plan", "Several products match “plan”", ""},
		{alice, "buy plan 5", "Several products match “plan”", " 5"},
		{alice.de(), "kaufen plan", "Mehrere Produkte passen zu „plan“", ""},
		{alice, "buy project", "Several products match “project”", ""},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			var got []string
			for _, b := range r.Messages[0].Buttons {
				got = append(got, b.Command)
			}
			want := []string{"buy visio-plan-2" + tt.rest, "buy project-plan-1" + tt.rest, "buy project-plan-3" + tt.rest}
			if strings.Contains(tt.line, "project") {
				want = want[1:]
			}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("choices %q, want %q", got, want)
			}
		})
	}
}

// TestBuyRefusedOnCommandLine: an unknown product or a bad count is a
// clear message, and no form opens.
func TestBuyRefusedOnCommandLine(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	tests := []struct {
		as   who
		line string
		want string
	}{
		{alice, "buy frobozz", "No product matches “frobozz”"},
		{alice.de(), "kaufen frobozz", "Kein Produkt passt zu „frobozz“"},
		{alice, "buy visio -1", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio 0", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio 1.5", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio abc", "No product matches “visio abc”"},
		{alice, "buy visio 99999999999", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio 999999999999999999999999", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio 1e3", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio 10001", "Enter a whole number from 1 to 10,000."},
		{alice, "buy visio +5", "Enter a whole number from 1 to 10,000."},
		{alice, "buy tiny 4", "Enter a whole number from 1 to 3."},
		{alice.de(), "kaufen visio 10001", "Geben Sie eine ganze Zahl von 1 bis 10.000 ein."},
		{alice.de(), "kaufen visio 1,5", "Geben Sie eine ganze Zahl von 1 bis 10.000 ein."},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			wantMessage(t, e.at(t).run(tt.as, tt.line), tt.want)
		})
	}
	e.wantUnchanged(before)
}

// TestBuySubmitRules: each broken rule is an error on its field, in the
// user's language, and nothing is bought.
func TestBuySubmitRules(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buyer(bob)
	method, bobs := e.method(alice), e.method(bob)
	ok := []string{"product", "visio-plan-2", "licenses", "5", "period", "monthly", "method", method}
	with := func(kv ...string) []string {
		out := append([]string(nil), ok...)
		for i := 0; i+1 < len(kv); i += 2 {
			for j := 0; j+1 < len(out); j += 2 {
				if out[j] == kv[i] {
					out[j+1] = kv[i+1]
				}
			}
		}
		return out
	}
	tests := []struct {
		name  string
		as    who
		kv    []string
		field string
		want  string
	}{
		{"licenses 0", alice, with("licenses", "0"), "licenses", "from 1 to 10,000"},
		{"licenses -1", alice, with("licenses", "-1"), "licenses", "from 1 to 10,000"},
		{"licenses 1.5", alice, with("licenses", "1.5"), "licenses", "from 1 to 10,000"},
		{"licenses abc", alice, with("licenses", "abc"), "licenses", "from 1 to 10,000"},
		{"licenses empty", alice, with("licenses", ""), "licenses", "from 1 to 10,000"},
		{"licenses 10001", alice, with("licenses", "10001"), "licenses", "from 1 to 10,000"},
		{"licenses 99999999999", alice, with("licenses", "99999999999"), "licenses", "from 1 to 10,000"},
		{"licenses above the product's maximum", alice, with("product", "tiny", "licenses", "4"), "licenses", "from 1 to 3"},
		{"licenses de", alice.de(), with("licenses", "0"), "licenses", "von 1 bis 10.000"},
		{"no period", alice, with("period", ""), "period", "Choose monthly or annual billing."},
		{"unknown period", alice, with("period", "weekly"), "period", "Choose monthly or annual billing."},
		{"unknown period de", alice.de(), with("period", "weekly"), "period", "monatliche oder jährliche"},
		{"no product", alice, with("product", ""), "product", "Choose a product."},
		{"unknown product", alice, with("product", "nope"), "product", "Choose a product."},
		{"no method", alice, with("method", ""), "method", "Choose a payment method."},
		{"someone else's method", alice, with("method", bobs), "method", "Choose a payment method."},
		{"user without a card", carol, with("method", ""), "method", "Choose a payment method. Add one with /billing payment."},
		{"user without a card de", carol.de(), with("method", ""), "method", "Wählen Sie eine Zahlungsmethode aus."},
	}
	before := e.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).send(tt.as, form(commands.FormBuy, "", tt.kv...))
			wantFieldError(t, r, tt.field, tt.want)
		})
	}
	e.wantUnchanged(before)
}

// TestBuyWithoutCard: the form says how to add a payment method.
func TestBuyWithoutCard(t *testing.T) {
	e := newEnv(t)
	f := wantForm(t, e.run(alice, "buy visio"), commands.FormBuy)
	if in := input(t, f, "method"); in.Kind != commands.KindInfo || !strings.Contains(in.Text, "/billing payment") {
		t.Errorf("method input = %+v, want an info that says how to add one", in)
	}
}

// TestBuyExpiredCard: an expired card is not offered and is refused.
func TestBuyExpiredCard(t *testing.T) {
	e := newEnv(t)
	m := e.card(alice, 12, 2026)
	e.clock.Set(time.Date(2027, 1, 5, 9, 0, 0, 0, time.UTC))
	f := wantForm(t, e.run(alice, "buy visio"), commands.FormBuy)
	if in := input(t, f, "method"); in.Kind != commands.KindInfo {
		t.Errorf("the form offers the expired card: %+v", in)
	}
	before := e.snapshot()
	for _, tt := range []struct {
		as   who
		want string
	}{
		{alice, "Visa •••• 4242 (12/2026) has expired."},
		{alice.de(), "Visa •••• 4242 (12/2026) ist abgelaufen."},
	} {
		r := e.send(tt.as, form(commands.FormBuy, "", "product", "visio-plan-2", "licenses", "1", "period", "monthly", "method", m.ID))
		wantFieldError(t, r, "method", tt.want)
	}
	e.wantUnchanged(before)
}

// TestBuy buys, in both languages: the subscription, its invoice, the
// answer and the admins' notification.
func TestBuy(t *testing.T) {
	tests := []struct {
		as       who
		period   store.Period
		licenses int
		total    int64
		unit     int64
		renews   time.Time
		answer   string
		notice   string
	}{
		{alice, store.Monthly, 98, 123480, 1260, t0.AddDate(0, 1, 0),
			"You are buying 98 licenses of Visio Plan 2 for €1,234.80 per month. We are charging Visa •••• 4242 (12/2030) (invoice ",
			"Alice bought 98 licenses of Visio Plan 2."},
		{alice.de(), store.Monthly, 98, 123480, 1260, t0.AddDate(0, 1, 0),
			"Sie kaufen 98 Lizenzen von Visio Plan 2 für 1.234,80 € pro Monat. Wir belasten Visa •••• 4242 (12/2030) (Rechnung ",
			"Alice hat 98 Lizenzen von Visio Plan 2 gekauft."},
		{alice, store.Annual, 5, 75600, 15120, t0.AddDate(1, 0, 0),
			"You are buying 5 licenses of Visio Plan 2 for €756.00 per year.",
			"Alice bought 5 licenses of Visio Plan 2."},
		{alice.de(), store.Annual, 1, 15120, 15120, t0.AddDate(1, 0, 0),
			"Sie kaufen 1 Lizenz von Visio Plan 2 für 151,20 € pro Jahr.",
			"Alice hat 1 Lizenz von Visio Plan 2 gekauft."},
	}
	for _, tt := range tests {
		t.Run(tt.as.locale+"/"+string(tt.period), func(t *testing.T) {
			e := newEnv(t)
			e.buyer(alice)
			r := e.send(tt.as, e.buyForm(alice, "visio-plan-2", tt.licenses, tt.period))
			wantMessage(t, r, tt.answer)
			wantText(t, r, "Test")
			id := e.invoice(alice, invoiceOf(t, r)).SubID

			// Nothing is granted before the money is.
			s := e.sub("T1", id)
			if s.Status != store.StatusPending || s.Total != tt.licenses || s.UnitPrice != tt.unit || s.Period != tt.period ||
				!s.RenewsAt.Equal(tt.renews) || s.Purchaser.ID != alice.m.ID || !s.SelfService || s.Currency != "EUR" {
				t.Errorf("subscription before the charge = %+v", s)
			}
			wantText(t, e.run(tt.as, "products"), "Visio Plan 2")
			if notes := e.notes(); len(notes) != 0 {
				t.Errorf("notified before the charge: %+v", notes)
			}
			invs := e.invoices(alice)
			if len(invs) != 1 {
				t.Fatalf("%d invoices, want 1", len(invs))
			}
			wantText(t, r, invs[0].ID, "Visa •••• 4242 (12/2030)")
			if invs[0].Status != store.InvoiceOpen || !invs[0].Test {
				t.Errorf("invoice %s (test %v) before the charge, want open, test mode", invs[0].Status, invs[0].Test)
			}
			paid := e.charge()
			if len(paid) != 2 || paid[0].Kind != commands.NotePaid || paid[0].To != alice.m.ID {
				t.Errorf("charging notified %+v, want the purchaser and the admins", paid)
			}
			if s := e.sub("T1", id); s.Status != store.StatusActive {
				t.Errorf("subscription after the charge is %s, want active", s.Status)
			}
			invs = e.invoices(alice)
			if inv := invs[0]; inv.Total != tt.total || inv.Currency != "EUR" || inv.Status != store.InvoicePaid ||
				inv.SubID != id || len(inv.Lines) != 1 || inv.Lines[0].Quantity != tt.licenses || inv.Lines[0].UnitPrice != tt.unit {
				t.Errorf("invoice = %+v, want total %d paid", inv, tt.total)
			}

			var noted []commands.Notification
			for _, n := range paid {
				if n.To == "" {
					noted = append(noted, n)
				}
			}
			if len(noted) != 1 {
				t.Fatalf("%d notifications to admins, want 1", len(noted))
			}
			n := noted[0]
			want := commands.NotifiedSub{ID: id, ProductID: "visio-plan-2", Product: "Visio Plan 2", Purchaser: "Alice",
				Licenses: tt.licenses, Status: "active", Price: tt.total, Currency: "EUR", Period: string(tt.period), Expires: tt.renews}
			if n.Kind != commands.NotePurchase || n.Org != "T1" || n.To != "" || n.Key == "" || n.Sub != want {
				t.Errorf("notification = %+v,\nwant kind purchase to admins with %+v", n, want)
			}
			msg := e.bot.RenderNotification(n, r.Lang)
			if !strings.Contains(msg.Title+msg.Text, tt.notice) || len(msg.Fields) != 5 {
				t.Errorf("rendered notification = %+v, want %q and 5 fields", msg, tt.notice)
			}
		})
	}
}

// TestBuyFreeProduct: a product that costs nothing (the catalog allows a
// monthly price of 0) is bought without a failed payment.
func TestBuyFreeProduct(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	r := e.send(alice, e.buyForm(alice, "free-viewer", 3, store.Monthly))
	wantText(t, r, "You bought 3 licenses of Free Viewer for €0.00")
	notes := e.charge()
	if len(notes) > 0 || e.invoices(alice)[0].Status == store.InvoiceFailed {
		t.Logf("notifications %+v", notes)
		t.Fatal("fixed bug is back: buying a free product (monthly_price 0) charges 0, which the gateway refuses: the invoice fails and the purchaser is told the payment failed")
	}
}

// TestBuyChargeDeclined: a card the gateway declines leaves the invoice
// failed and tells the purchaser, in their language.
func TestBuyChargeDeclined(t *testing.T) {
	e := newEnv(t)
	token := e.payLink(alice, "")
	if _, err := e.bot.CompletePayLink(t.Context(), token, payment.Card{Number: payment.TestCardChargeDeclined, CVC: cardCVC,
		ExpMonth: 12, ExpYear: 2030}); err != nil {
		t.Fatalf("CompletePayLink: %v", err)
	}
	r := e.send(alice, e.buyForm(alice, "visio-plan-2", 2, store.Monthly))
	wantMessage(t, r, "You are buying 2 licenses of Visio Plan 2")
	notes := e.charge()
	inv := e.invoices(alice)[0]
	if inv.Status != store.InvoiceFailed {
		t.Errorf("invoice %s, want failed", inv.Status)
	}
	if len(notes) != 1 || notes[0].Kind != commands.NotePaymentFailed || notes[0].To != alice.m.ID || notes[0].Sub.Invoice != inv.ID {
		t.Fatalf("notifications %+v, want a failed payment to Alice", notes)
	}
	// A declined card leaves no subscription.
	if s := e.sub("T1", inv.SubID); s.Status != store.StatusDeclined {
		t.Errorf("subscription after the decline is %s, want declined", s.Status)
	}
	if v := e.view(alice); len(v.Subs) != 0 {
		t.Errorf("after the decline, Alice has %+v", v.Subs)
	}
	wantText(t, e.run(alice, "products"), "You have no subscriptions yet")
	for lang, want := range map[string]string{
		"en": "The payment of €25.20 for Visio Plan 2 (invoice " + inv.ID + ") was declined, so nothing was bought.",
		"de": "Die Zahlung von 25,20 € für Visio Plan 2 (Rechnung " + inv.ID + ") wurde abgelehnt; es wurde nichts gekauft.",
	} {
		if msg := e.bot.RenderNotification(notes[0], lang); !strings.Contains(msg.Text, want) {
			t.Errorf("%s notice %q, want %q", lang, msg.Text, want)
		}
	}
	if notes := e.charge(); len(notes) != 0 {
		t.Errorf("charged again: %+v", notes)
	}
	wantText(t, e.run(alice, "invoices"), "payment failed")
}

// TestTrialForm lists only the products with a trial offer that the
// organization has not had yet.
func TestTrialForm(t *testing.T) {
	e := newEnv(t)
	options := func(t *testing.T, as who) []string {
		f := wantForm(t, e.at(t).run(as, "trial"), commands.FormTrial)
		var ids []string
		for _, o := range input(t, f, "product").Options {
			ids = append(ids, o.Value)
		}
		return ids
	}
	if got, want := strings.Join(options(t, alice), ","), "visio-plan-2,project-plan-3,teams-premium"; got != want {
		t.Errorf("trial products %s, want %s", got, want)
	}
	f := wantForm(t, e.run(alice, "trial visio"), commands.FormTrial)
	if in := input(t, f, "info"); !strings.Contains(in.Text, "Visio Plan 2: 30 days, 25 licenses") || !strings.Contains(in.Text, "No payment method needed") {
		t.Errorf("trial info = %q", in.Text)
	}
	e.trial(alice, "visio-plan-2")
	if got, want := strings.Join(options(t, bob), ","), "project-plan-3,teams-premium"; got != want {
		t.Errorf("after a trial of visio: trial products %s, want %s", got, want)
	}
	wantMessage(t, e.run(alice, "trial project plan 1"), "Project Plan 1 has no trial.")
	wantMessage(t, e.run(alice.de(), "testen project plan 1"), "Für Project Plan 1 gibt es keine Testversion.")
}

// TestTrialGermanDays: German says "30 Tage" (nominative), not "30 Tagen".
func TestTrialGermanDays(t *testing.T) {
	e := newEnv(t)
	f := wantForm(t, e.run(hugo, "testen visio"), commands.FormTrial)
	info := input(t, f, "info").Text
	if !strings.Contains(info, "Visio Plan 2: 30 Tage, 25 Lizenzen") {
		t.Logf("trial info: %q", info)
		t.Fatal("fixed bug is back: de.toml [Days] other = \"{{.Count}} Tagen\" (dative) is used in the trial offer and catalog: \"30 Tagen, 25 Lizenzen\"")
	}
}

// TestTrial starts a trial: no payment method needed, one per product per
// organization, other organizations unaffected.
func TestTrial(t *testing.T) {
	e := newEnv(t)
	r := e.send(alice, form(commands.FormTrial, "", "product", "visio-plan-2"))
	wantMessage(t, r, "Your trial of Visio Plan 2 with 25 licenses runs until Dec 25, 2026.")
	id := subID(t, r, "assign ")
	s := e.sub("T1", id)
	if s.Status != store.StatusTrial || s.Total != 25 || !s.TrialEnd.Equal(t0.AddDate(0, 0, 30)) || s.Purchaser.ID != alice.m.ID {
		t.Errorf("trial = %+v, want 25 licenses until %v", s, t0.AddDate(0, 0, 30))
	}
	noted := e.notes()
	if len(noted) != 1 || noted[0].Kind != commands.NoteTrial || noted[0].Sub.Licenses != 25 {
		t.Errorf("notifications = %+v, want one of kind trial", noted)
	}
	if invs := e.invoices(alice); len(invs) != 0 {
		t.Errorf("a trial made invoices: %+v", invs)
	}
	wantText(t, e.run(alice, "products"), "Visio Plan 2", "Expiration date: Dec 25, 2026", "free (trial)")

	t.Run("second trial in the organization", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		for _, tt := range []struct {
			as   who
			want string
		}{
			{bob, "Your organization has already had a trial of Visio Plan 2."},
			{bob.de(), "Ihre Organisation hatte bereits eine Testversion von Visio Plan 2."},
			{alice, "Your organization has already had a trial of Visio Plan 2."},
		} {
			wantFieldError(t, e.send(tt.as, form(commands.FormTrial, "", "product", "visio-plan-2")), "product", tt.want)
			wantMessage(t, e.run(tt.as, "trial visio"), tt.want)
		}
		e.wantUnchanged(before)
	})
	t.Run("other organization", func(t *testing.T) {
		e := e.at(t)
		r := e.send(zoe, form(commands.FormTrial, "", "product", "visio-plan-2"))
		wantMessage(t, r, "Your trial of Visio Plan 2")
	})
	t.Run("bad submissions", func(t *testing.T) {
		e := e.at(t)
		for _, tt := range []struct{ product, want string }{
			{"", "Choose a product."},
			{"nope", "Choose a product."},
			{"project-plan-1", "Project Plan 1 has no trial."},
		} {
			wantFieldError(t, e.send(bob, form(commands.FormTrial, "", "product", tt.product)), "product", tt.want)
		}
	})
}

// TestBuyTrialCountRaised: buying a trial with people assigned asks for at
// least as many licenses, and says why; a count typed below that is raised,
// and the form says it was.
func TestBuyTrialCountRaised(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.assign(alice, id, bob.m.ID, carol.m.ID, erin.m.ID)
	e.buyer(alice)
	for _, tt := range []struct {
		as         who
		line       string
		count, why string
	}{
		{alice, "buy visio 2", "3", "At least 3, not 2: the 3 people assigned to your trial keep their licenses."},
		{alice.de(), "kaufen visio 2", "3", "Mindestens 3 statt 2: Die 3 zugewiesenen Personen Ihrer Testversion behalten ihre Lizenzen."},
		{alice, "buy visio", "3", "At least 3: the 3 people assigned to your trial keep their licenses."},
		{alice, "buy visio 5", "5", "At least 3: the 3 people assigned to your trial keep their licenses."},
		{alice.de(), "kaufen visio 5", "5", "Mindestens 3: Die 3 zugewiesenen Personen Ihrer Testversion behalten ihre Lizenzen."},
	} {
		t.Run(tt.line+" "+tt.as.locale, func(t *testing.T) {
			in := input(t, wantForm(t, e.at(t).run(tt.as, tt.line), commands.FormBuy), "licenses")
			if strings.Join(in.Value, ",") != tt.count || in.Min != 3 || in.Hint != tt.why {
				t.Errorf("licenses %v (from %d), hint %q; want %s (from 3) and %q", in.Value, in.Min, in.Hint, tt.count, tt.why)
			}
		})
	}
	// Without a trial nothing is raised, and nothing needs saying.
	if in := input(t, wantForm(t, e.run(alice, "buy project-plan-1 2"), commands.FormBuy), "licenses"); in.Hint != "" {
		t.Errorf("licenses hint %q without a trial, want none", in.Hint)
	}
}

// TestTrialConversion: buying the product converts the trial and keeps its
// assignments.
func TestTrialConversion(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	e.assign(alice, id, bob.m.ID, carol.m.ID)
	e.buyer(alice)
	e.clock.Add(0, 0, 10)

	f := wantForm(t, e.run(alice, "buy visio 10"), commands.FormBuy)
	wantText(t, commands.Response{Form: f}, "Your trial of this product becomes the subscription; its 2 assigned users keep their licenses.")

	t.Run("fewer licenses than assigned", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		wantFieldError(t, e.send(alice, e.buyForm(alice, "visio-plan-2", 1, store.Monthly)), "licenses",
			"2 licenses are assigned, so the total cannot be lower.")
		wantFieldError(t, e.send(alice.de(), e.buyForm(alice, "visio-plan-2", 1, store.Monthly)), "licenses",
			"2 Lizenzen sind zugewiesen")
		e.wantUnchanged(before)
	})

	r := e.send(alice, e.buyForm(alice, "visio-plan-2", 10, store.Monthly))
	wantMessage(t, r, "Your trial of Visio Plan 2 becomes a subscription once paid; its 2 users keep their licenses.",
		"You are buying 10 licenses of Visio Plan 2 for €126.00 per month.")
	if got := e.invoice(alice, invoiceOf(t, r)).SubID; got != id {
		t.Errorf("conversion bills subscription %s, want the trial %s", got, id)
	}
	if s := e.sub("T1", id); s.Status != store.StatusTrial || s.Total != 25 {
		t.Errorf("trial before the payment = %+v, want it unchanged", s)
	}
	noted := e.charge()
	s := e.sub("T1", id)
	if s.Status != store.StatusActive || s.Total != 10 || len(s.Assigned) != 2 || !s.IsAssigned(bob.m.ID) || !s.IsAssigned(carol.m.ID) ||
		!s.RenewsAt.Equal(e.clock.Now().AddDate(0, 1, 0)) || s.Period != store.Monthly || s.UnitPrice != 1260 || s.MethodID == "" {
		t.Errorf("converted subscription = %+v", s)
	}
	if len(noted) != 2 || noted[1].Kind != commands.NoteConversion || noted[1].Sub.Licenses != 10 || noted[0].Kind != commands.NotePaid {
		t.Fatalf("notifications = %+v, want the purchaser's and one of kind conversion", noted)
	}
	// A trial converted is not "bought": it becomes a subscription.
	for lang, want := range map[string][2]string{
		"de": {"Testversion umgewandelt", "Alice hat die Testversion von Visio Plan 2 in ein Abonnement umgewandelt."},
		"en": {"Trial converted", "Alice converted their trial of Visio Plan 2 into a subscription."},
	} {
		if msg := e.bot.RenderNotification(noted[1], lang); msg.Title != want[0] || !strings.Contains(msg.Text, want[1]) {
			t.Errorf("%s conversion notice = %q: %q; want %q: %q", lang, msg.Title, msg.Text, want[0], want[1])
		}
	}
	if invs := e.invoices(alice); len(invs) != 1 || invs[0].Total != 12600 {
		t.Errorf("invoices = %+v, want one of 12600", invs)
	}
	if v := e.view(alice); len(v.Subs) != 1 {
		t.Errorf("alice has %d subscriptions after converting, want 1", len(v.Subs))
	}
}

// amountThenPeriod is an amount followed by a period's name, which reads
// oddly ("€63.00 monthly", "63,00 € (monatlich)"): an amount is followed
// by "per month" / "pro Monat".
var amountThenPeriod = regexp.MustCompile(`(€|\d) \(?(monthly|annual|monatlich|jährlich)`)

// TestAmountsPerPeriod: wherever an amount is followed by its period, it
// says "per month" or "per year" ("pro Monat", "pro Jahr"); the period's
// name stays as it was where it is a choice ("monthly", "annual").
func TestAmountsPerPeriod(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	for _, tt := range []struct {
		name    string
		as      who
		line    string
		want    []string
		options []string // the billing period's choices
	}{
		{"buy", alice, "buy project-plan-3 5", []string{"at €25.30 per license per month", "Then: €126.50 per month from"}, []string{"monthly", "annual"}},
		{"kaufen", alice.de(), "kaufen project-plan-3 5", []string{"zu 25,30 € pro Lizenz und Monat", "Danach: 126,50 € pro Monat ab"},
			[]string{"monatlich", "jährlich"}},
		{"products", alice, "products", []string{"Purchase price: €63.00 per month"}, nil},
		{"produkte", alice.de(), "produkte", []string{"Kaufpreis: 63,00 € pro Monat"}, nil},
		{"licenses", alice, "licenses " + id, []string{"5 licenses, 0 assigned, €63.00 per month.", "Each added license costs €12.60 per month,"}, nil},
		{"lizenzen", alice.de(), "lizenzen " + id, []string{"63,00 € pro Monat.", "Jede weitere Lizenz kostet 12,60 € pro Monat und"}, nil},
		{"admin", dave, "admin", []string{"€63.00 per month"}, nil},
		{"admin de", dave.de(), "admin", []string{"63,00 € pro Monat"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantText(t, r, tt.want...)
			if m := amountThenPeriod.FindString(text(r)); m != "" {
				t.Errorf("an amount followed by the period's name, %q:\n%s", m, text(r))
			}
			if tt.options != nil {
				var got []string
				for _, o := range input(t, wantForm(t, r, commands.FormBuy), "period").Options {
					got = append(got, o.Label)
				}
				if !slices.Equal(got, tt.options) {
					t.Errorf("billing period choices %q, want %q", got, tt.options)
				}
			}
		})
	}
}

// TestInformationBeforeFields: what a form explains (the price of a
// purchase or of a new total, the trial offers, the free licenses, what a
// cancellation keeps) comes before the fields it explains, on every
// platform (they render the inputs in order).
func TestInformationBeforeFields(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	visio := e.buy(alice, "visio-plan-2", 5)
	for _, tt := range []struct {
		as     who
		line   string
		before map[string]string // info input → the field it comes before
	}{
		{alice, "buy project-plan-1 3", map[string]string{"price": "product"}},
		{bob, "buy project-plan-1 3", map[string]string{"method": "product", "price": "product"}}, // no payment method
		{alice, "trial", map[string]string{"info": "product"}},
		{alice, "trial project-plan-3", map[string]string{"info": "product"}},
		{alice, "licenses " + visio + " 8", map[string]string{"current": "total", "price": "total"}},
		{alice, "licenses " + visio + " 3", map[string]string{"current": "total", "price": "total"}},
		{alice, "assign " + visio, map[string]string{"free": "users"}},
		{alice, "cancel " + visio, map[string]string{"keeps": "reason"}},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			if r.Form == nil {
				t.Fatalf("no form:\n%s", text(r))
			}
			at := map[string]int{}
			for i, in := range r.Form.Inputs {
				at[in.ID] = i
			}
			for info, field := range tt.before {
				i, ok := at[info]
				if !ok || r.Form.Inputs[i].Kind != commands.KindInfo {
					t.Errorf("form %s has no information %q:\n%s", r.Form.ID, info, text(r))
					continue
				}
				if j, ok := at[field]; !ok || i > j {
					t.Errorf("form %s: information %q comes after the field %q it explains:\n%s", r.Form.ID, info, field, text(r))
				}
			}
		})
	}
}
