package commands_test

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
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
	wantMessage(t, r, "You have 2 products.", "Visio Plan 2", "Status: active", "Licenses: 1 of 5 licenses assigned",
		"Renews on: Dec 25, 2026", "Purchase price: €63.00 monthly", "Assigned users: Bob",
		"Teams Premium", "Status: trial", "Expiration date: Dec 25, 2026", "Purchase price: free (trial)",
		"licenses "+id, "cancel "+id, "assign "+id, "buy teams-premium")
	wantMessage(t, e.run(alice.de(), "produkte self-service"), "Sie haben 2 Produkte.", "Status: aktiv",
		"Nächste Verlängerung: 25.12.2026", "Kaufpreis: 63,00 € monatlich", "Zugewiesene Benutzer: Bob")

	r = e.run(bob, "products")
	wantMessage(t, r, "You have 1 product.", "A license bought by Alice is assigned to you.", "Purchaser: Alice")
	if got := text(r); strings.Contains(got, "Assigned users") || strings.Contains(got, "cancel ") {
		t.Errorf("a licensee sees the purchaser's assignments or actions:\n%s", got)
	}
	wantMessage(t, e.run(bob, "products self-service"), "You have no subscriptions yet.")
	wantMessage(t, e.run(bob, "products sideways"), "Unknown filter “sideways”. Use self-service or leave it out.")
	wantMessage(t, e.run(zoe, "products"), "You have no subscriptions yet.")
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
	wantMessage(t, bare.run(alice, "support"), "Contact support.", "Your administrator can help you, too.", "Frequently asked questions")
	wantMessage(t, bare.run(alice.de(), "support"), "Auch Ihr Administrator kann Ihnen helfen.", "Häufig gestellte Fragen")

	e := newEnv(t, func(c *commands.Config) {
		c.Support = commands.Support{URL: "https://support.example", FAQ: "https://faq.example", Email: "help@example.com"}
	})
	r := e.run(alice, "support")
	wantMessage(t, r, "[FAQ] https://faq.example", "[Contact support] https://support.example", "Email: help@example.com")
	if strings.Contains(text(r), "Your administrator can help you") {
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
