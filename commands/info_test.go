package commands_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestProducts lists one's subscriptions and the licenses one holds.
func TestProducts(t *testing.T) {
	e := newEnv(t)
	wantMessage(t, e.run(alice, "products"), "You have no subscriptions yet.")
	wantMessage(t, e.run(alice.de(), "produkte"), "Sie haben noch keine Abonnements.")
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, id, bob.m.ID)
	e.trial(alice, "teams-premium")

	r := e.run(alice, "products")
	wantMessage(t, r, "You have 2 products.", "Visio Plan 2", "Status: active", "Licenses: 1 of 5 assigned",
		"Renews on: Dec 25, 2026", "Purchase price: €63.00 per month", "Assigned users: Bob",
		"Teams Premium", "Status: trial", "Expiration date: Dec 25, 2026", "Purchase price: free (trial)",
		"licenses "+id, "cancel "+id, "assign "+id, "buy teams-premium")
	wantMessage(t, e.run(alice.de(), "produkte self-service"), "Sie haben 2 Produkte.", "Status: aktiv",
		"Nächste Verlängerung: 25.12.2026", "Kaufpreis: 63,00 € pro Monat", "Zugewiesene Benutzer: Bob")

	r = e.run(bob, "products")
	wantMessage(t, r, "You have 1 product.", "A license bought by Alice is assigned to you.", "Purchaser: Alice")
	if got := text(r); strings.Contains(got, "Assigned users") || strings.Contains(got, "cancel ") {
		t.Errorf("a licensee sees the purchaser's assignments or actions:\n%s", got)
	}
	// A license bought by self-service is a self-service purchase for its
	// holder, too (it was "You have no subscriptions yet").
	wantMessage(t, e.run(bob, "products self-service"), "Only self-service purchases are shown",
		"You have 1 product.", "Visio Plan 2", "A license bought by Alice is assigned to you.")
	wantMessage(t, e.run(bob, "products sideways"), "Unknown filter “sideways”. Use self-service or leave it out.")
	wantMessage(t, e.run(zoe, "products"), "You have no subscriptions yet.")
}

// TestProductsShowReduction: a subscription whose licenses are reduced
// from the next period says so in its entry: how many from when, and what
// they cost; withdrawn, it says nothing of it.
func TestProductsShowReduction(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 8)
	e.send(alice, licensesForm(id, "2"))
	wantMessage(t, e.run(alice, "products"), "Licenses: 0 of 8 assigned",
		"Purchase price: €100.80 per month; from Dec 25, 2026: 2 licenses, €25.20 per month")
	wantMessage(t, e.run(alice.de(), "produkte"),
		"Kaufpreis: 100,80 € pro Monat; ab dem 25.12.2026: 2 Lizenzen, 25,20 € pro Monat")
	wantText(t, e.run(dave, "admin"), "Purchase price: €100.80 per month; from Dec 25, 2026: 2 licenses, €25.20 per month")

	e.send(alice, licensesForm(id, "8")) // the reduction withdrawn
	r := e.run(alice, "products")
	wantMessage(t, r, "Purchase price: €100.80 per month")
	if strings.Contains(text(r), "from Dec 25") {
		t.Errorf("a withdrawn reduction is still shown:\n%s", text(r))
	}
}

// TestCatalog shows prices per month and year, currency and trial offer.
func TestCatalog(t *testing.T) {
	e := newEnv(t)
	wantMessage(t, e.run(alice, "catalog"),
		"Visio Plan 2 | €12.60 | €151.20 | EUR | 30 days, 25 licenses",
		"Project Plan 1 | €8.40 | €100.80 | EUR | no trial",
		"Teams Premium | $10.00 | $120.00 | USD | 30 days, 25 licenses",
		"Tiny Tool | €0.99 | €11.88 | EUR | no trial")
	wantMessage(t, e.run(alice.de(), "katalog"),
		"Visio Plan 2 | 12,60 € | 151,20 € | EUR",
		"Project Plan 1 | 8,40 € | 100,80 € | EUR | keine Testversion",
		"Teams Premium | 10,00 $ | 120,00 $ | USD")
	e.trial(bob, "visio-plan-2")
	wantText(t, e.run(alice, "catalog"), "Visio Plan 2 | €12.60 | €151.20 | EUR | trial already used")
	wantText(t, e.run(zoe, "catalog"), "Visio Plan 2 | €12.60 | €151.20 | EUR | 30 days, 25 licenses")

	e.trial(bob, "project-plan-3")
	e.trial(bob, "teams-premium")
	wantMessage(t, e.run(alice, "trial"), "There are no trials left to start in your organization.")
	wantMessage(t, e.run(alice.de(), "testen"), "In Ihrer Organisation können keine weiteren Testversionen gestartet werden.")
}

// TestSupport shows the deployment's contacts, or says to ask an admin.
func TestSupport(t *testing.T) {
	bare := newEnv(t)
	wantMessage(t, bare.run(alice, "support"), "Your organization's administrator can help you:", "Frequently asked questions")
	wantMessage(t, bare.run(alice.de(), "support"), "hilft Ihnen der Administrator Ihrer Organisation:", "Häufig gestellte Fragen")

	e := newEnv(t, func(c *commands.Config) {
		c.Support = commands.Support{URL: "https://support.example", FAQ: "https://faq.example", Email: "help@example.com"}
	})
	r := e.run(alice, "support")
	wantMessage(t, r, "[FAQ] https://faq.example", "[Contact support] https://support.example", "Email: help@example.com")
	if strings.Contains(text(r), "can help you") || len(r.Messages[0].Contacts) > 0 {
		t.Errorf("with contacts configured, support still points to the administrator:\n%s", text(r))
	}
	wantMessage(t, e.run(alice.de(), "support"), "[Häufig gestellte Fragen] https://faq.example", "E-Mail: help@example.com")
}

// TestPaymentGermanDefaults: a German user who adds the first card keeps
// German names for the default billing account and profile.
func TestPaymentGermanDefaults(t *testing.T) {
	e := newEnv(t)
	r := e.run(hugo, "zahlung hinzufügen")
	if _, err := e.bot.CompletePayLink(t.Context(), linkToken(t, r), visa(cardNumber)); err != nil {
		t.Fatalf("CompletePayLink: %v", err)
	}
	r = e.run(hugo, "zahlung")
	wantText(t, r, "Visa •••• 4242")
	if !strings.Contains(text(r), "Abrechnungskonto › Abrechnungsprofil") {
		t.Log(text(r))
		t.Fatal("fixed bug is back: CompletePayLink saves the default account and profile names in English for a German user (load() drops the link's language: the request has no Locale)")
	}
}

// TestProductsSelfServiceFilter says what the filter hides when nothing
// passes it, and offers all products.
func TestProductsSelfServiceFilter(t *testing.T) {
	e := newEnv(t)
	sub := store.Subscription{ID: store.NewID(), Org: carol.org, ProductID: "project-plan-1", ProductName: "Project Plan 1",
		Purchaser: store.Member{ID: carol.m.ID, Name: carol.m.Name}, Status: store.StatusActive, Total: 3,
		Period: store.Monthly, UnitPrice: 840, Currency: "EUR", PurchasedAt: t0, RenewsAt: t0.AddDate(0, 1, 0)}
	if _, err := e.st.CreateSubscription(t.Context(), store.Once{Key: "seed"}, sub, nil); err != nil {
		t.Fatal(err)
	}
	wantMessage(t, e.run(carol, "products"), "You have 1 product.", "Project Plan 1")
	for _, tt := range []struct {
		as   who
		line string
		want []string
	}{
		{carol, "products self-service", []string{"Only self-service purchases are shown",
			"None of your products was bought by self-service; 1 other product is not shown."}},
		{carol.de(), "produkte self-service", []string{"Es werden nur Self-Service-Käufe angezeigt",
			"Keines Ihrer Produkte ist ein Self-Service-Kauf; 1 anderes Produkt wird nicht angezeigt."}},
	} {
		r := e.run(tt.as, tt.line)
		wantMessage(t, r, tt.want...)
		if strings.Contains(text(r), "no subscriptions yet") || len(r.Messages[0].Buttons) != 1 || r.Messages[0].Buttons[0].Command != "products" {
			t.Errorf("%s: want a button to all products and no claim of none:\n%s", tt.line, text(r))
		}
	}
}

// TestSupportFallsBackToAdmins: without a support contact, support names
// the organization's admins (the platform's and the deployment's, people
// only, each once) to turn to, instead of "Contact support." with nobody
// to contact.
func TestSupportFallsBackToAdmins(t *testing.T) {
	contacts := func(r commands.Response) []string {
		var out []string
		for _, m := range r.Messages[0].Contacts {
			out = append(out, m.ID+" "+m.Name)
		}
		return out
	}
	bare := newEnv(t)
	for _, tt := range []struct {
		as   who
		want []string
	}{
		{alice, []string{"Your organization's administrator can help you:"}},
		{alice.de(), []string{"Wenn Sie Fragen haben oder Hilfe bei Self-Service-Käufen benötigen, hilft Ihnen der Administrator Ihrer Organisation:"}},
	} {
		r := bare.run(tt.as, "support")
		wantMessage(t, r, tt.want...)
		if strings.Contains(text(r), "Contact support") || strings.Contains(text(r), "an den Support") {
			t.Errorf("support sends to a support it does not name:\n%s", text(r))
		}
		if got := contacts(r); !slices.Equal(got, []string{"U4 Dave"}) {
			t.Errorf("contacts %q, want Dave (not the app, not the deactivated admin)", got)
		}
	}

	// Nobody to name: say whom to ask all the same.
	r := bare.run(zoe, "support")
	wantMessage(t, r, "Ask your organization's administrators.")
	if len(r.Messages[0].Contacts) > 0 {
		t.Errorf("contacts %+v in an organization without admins", r.Messages[0].Contacts)
	}

	// The deployment's admins who are people of the organization, too.
	e := newEnv(t, func(c *commands.Config) { c.Admins = []string{"U3", "U4", "U404", "B1", "Z1"} })
	r = e.run(alice, "support")
	wantMessage(t, r, "Your organization's administrators can help you:")
	if got := contacts(r); !slices.Equal(got, []string{"U4 Dave", "U3 Carol"}) {
		t.Errorf("contacts %q, want Dave and Carol", got)
	}
}
