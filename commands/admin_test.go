package commands_test

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestAdmin: admins get a read-only view of every self-service
// subscription of their organization, and set the notification channel.
func TestAdmin(t *testing.T) {
	e := newEnv(t, func(c *commands.Config) { c.Admins = []string{erin.m.ID} })
	e.buyer(alice)
	e.buyer(zoe)
	visio := e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, visio, bob.m.ID, carol.m.ID)
	e.trial(bob, "project-plan-3")
	e.buy(zoe, "teams-premium", 2)

	t.Run("members are refused", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{alice, "admin", "Only administrators can use this command."},
			{alice.de(), "admin", "Nur Administratoren können diesen Befehl verwenden."},
			{bob, "admin channel #evil", "Only administrators can use this command."},
			{zoe, "admin", "Only administrators can use this command."},
		} {
			r := e.run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			if strings.Contains(text(r), "Visio") {
				t.Errorf("a member sees the overview:\n%s", text(r))
			}
		}
		e.wantUnchanged(before)
	})

	for _, tt := range []struct {
		name string
		as   who
		want []string
	}{
		{"platform admin", dave, []string{
			"Visio Plan 2 | Alice | 2 of 5 assigned | renews Dec 25, 2026 | €63.00 per month | active",
			"Project Plan 3 | Bob | 0 of 25 assigned | ends Dec 25, 2026 | free (trial) | trial",
			"Assigned users: Bob, Carol", "Purchaser: Alice", "Renews on: Dec 25, 2026"}},
		{"platform admin de", dave.de(), []string{
			"Visio Plan 2 | Alice | 2 von 5 zugewiesen | verlängert sich am 25.12.2026 | 63,00 € pro Monat | aktiv",
			"Zugewiesene Benutzer: Bob, Carol", "Käufer: Alice", "Schreibgeschützte Ansicht"}},
		{"configured admin", erin, []string{"Visio Plan 2 | Alice", "Project Plan 3 | Bob"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).run(tt.as, "admin")
			wantMessage(t, r, tt.want...)
			if got := text(r); strings.Contains(got, "Teams Premium") || strings.Contains(got, "Zoe") {
				t.Errorf("the overview shows another organization:\n%s", got)
			}
		})
	}

	t.Run("channel", func(t *testing.T) {
		e := e.at(t)
		wantMessage(t, e.run(dave, "admin channel"), "Admin notifications: in the default channel, or by direct message")
		wantMessage(t, e.run(dave.de(), "admin kanal"), "Benachrichtigungen an Administratoren: im Standardkanal oder per Direktnachricht")
		wantMessage(t, e.run(dave, "admin channel #billing"), "Admin notifications now go to #billing.")
		wantText(t, e.run(dave, "admin"), "Admin notifications: in #billing")
		wantText(t, e.run(erin, "admin channel"), "Admin notifications: in #billing")
		wantMessage(t, e.run(dave.de(), "admin kanal #abrechnung"), "Benachrichtigungen an Administratoren gehen jetzt in den Kanal #abrechnung.")
		wantMessage(t, e.run(dave.de(), "admin kanal standard"),
			"Benachrichtigungen an Administratoren gehen wieder in den Standardkanal oder, wenn es keinen gibt, per Direktnachricht.")
		wantMessage(t, e.run(dave, "admin channel default"),
			"Admin notifications go to the default channel again, or by direct message where there is none.")
		wantMessage(t, e.run(dave.de(), "admin kanal #abrechnung"), "Benachrichtigungen an Administratoren gehen jetzt in den Kanal #abrechnung.")
		wantText(t, e.run(dave.de(), "admin"), "Benachrichtigungen an Administratoren: im Kanal #abrechnung")
		if v := e.view(dave); v.Settings.AdminChannel != "#abrechnung" {
			t.Errorf("stored channel %q", v.Settings.AdminChannel)
		}
		if v := e.view(yuri); v.Settings.AdminChannel != "" {
			t.Errorf("another organization got channel %q", v.Settings.AdminChannel)
		}
		before := e.snapshot()
		wantMessage(t, e.run(dave, "admin frobnicate"), "Unknown option “frobnicate”.")
		wantMessage(t, e.run(dave, "admin channel #a #b"), "Name one channel")
		wantMessage(t, e.run(dave.de(), "admin kanal #a #b"), "Nennen Sie einen Kanal")
		e.wantUnchanged(before)
	})

	t.Run("admins cannot change others' subscriptions", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		for _, line := range []string{"cancel " + visio, "licenses " + visio + " 9", "assign " + visio + " @erin", "unassign " + visio} {
			wantMessage(t, e.run(dave, line))
		}
		for _, f := range []*commands.Submission{
			cancelForm(visio, "other", "", "yes"),
			licensesForm(visio, "9"),
			form(commands.FormAssign, visio, "users", erin.m.ID),
			form(commands.FormUnassign, visio, "users", bob.m.ID, "confirm", "yes"),
		} {
			wantFieldError(t, e.send(dave, f), "subscription")
		}
		// An admin who holds a license of it is told who the purchaser is.
		carolAdmin := carol
		carolAdmin.admin = true
		wantMessage(t, e.run(carolAdmin, "cancel "+visio), "Only the purchaser of Visio Plan 2 (Alice) can change this subscription.")
		e.wantUnchanged(before)
		if s := e.sub("T1", visio); s.Status != store.StatusActive || s.Total != 5 || len(s.Assigned) != 2 {
			t.Errorf("subscription changed: %+v", s)
		}
		if r := e.run(dave, "cancel "+visio); !strings.Contains(text(r), "Alice") {
			t.Log(text(r))
			t.Fatal("fixed bug is back: an admin's \"cancel <other's id>\" says \"None of your subscriptions matches\" instead of naming the purchaser")
		}
	})
}

// TestLanguage: the per-user language override.
func TestLanguage(t *testing.T) {
	e := newEnv(t)
	wantMessage(t, e.run(alice, "language"), "Your language: automatic (from Slack or Discord)")

	r := e.run(alice, "language de")
	wantMessage(t, r, "Ab jetzt antworte ich Ihnen auf Deutsch.")
	if r.Lang != "de" {
		t.Errorf("Lang = %q, want de", r.Lang)
	}
	for _, tt := range []struct {
		name string
		as   who
		line string
		lang string
		want string
	}{
		{"alice follows her choice", alice, "help", "de", "Was billingbot kann"},
		{"alice's choice shown", alice, "language", "de", "Ihre Sprache: Deutsch"},
		{"bob keeps his locale", bob, "help", "en", "What billingbot can do"},
		{"another organization's user with the same id keeps his", person("T2", alice.m.ID, "Other Alice"), "help", "en", "What billingbot can do"},
		{"bad value in the user's language", alice, "language fr", "de", "Unbekannte Sprache „fr“. Verwenden Sie de, en oder auto."},
		{"bad value en", bob, "sprache klingon", "en", "Unknown language “klingon”. Use de, en or auto."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			if r.Lang != tt.lang {
				t.Errorf("Lang = %q, want %q", r.Lang, tt.lang)
			}
		})
	}

	wantMessage(t, e.run(hugo, "sprache englisch"), "From now on I'll answer you in English.")
	wantMessage(t, e.run(hugo, "hilfe"), "What billingbot can do")

	for _, tt := range []struct {
		as   who
		lang string
	}{
		{alice, "en"},
		{alice.de(), "de"},
	} {
		e.run(alice, "language auto")
		if r := e.run(tt.as, "help"); r.Lang != tt.lang {
			t.Errorf("auto with locale %s: Lang = %q, want %q", tt.as.locale, r.Lang, tt.lang)
		}
	}
	if v := e.view(alice); v.Prefs.Lang != "" {
		t.Errorf("after auto: stored language %q", v.Prefs.Lang)
	}
}

// TestDatesSayWhatTheyAre: a date is labeled as what it is: when a
// subscription renews, when it ends, or that it starts once paid; the
// admin table's row says what the subscription's detail says.
func TestDatesSayWhatTheyAre(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buyer(bob)
	visio := e.send(alice, e.buyForm(alice, "visio-plan-2", 5, store.Monthly))
	inv := invoiceOf(t, visio)
	var bought commands.Notification
	for _, n := range e.charge() {
		if n.Kind == commands.NotePurchase {
			bought = n
		}
	}
	if bought.Kind == "" {
		t.Fatalf("no purchase notification for invoice %s", inv)
	}
	e.trial(alice, "project-plan-3")
	e.send(bob, e.buyForm(bob, "project-plan-1", 2, store.Monthly)) // not charged: pending

	for lang, want := range map[string]string{"en": "Renews on: Dec 25, 2026", "de": "Nächste Verlängerung: 25.12.2026"} {
		msg := e.bot.RenderNotification(bought, lang)
		var got []string
		for _, f := range msg.Fields {
			got = append(got, f.Label+": "+f.Value)
		}
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("%s purchase notification fields %q, want %q (the subscription renews)", lang, got, want)
		}
	}

	for _, tt := range []struct {
		as   who
		want []string
	}{
		{dave, []string{
			"Product | Purchaser | Licenses | Term | Purchase price | Status",
			"Visio Plan 2 | Alice | 0 of 5 assigned | renews Dec 25, 2026 | €63.00 per month | active",
			"Project Plan 3 | Alice | 0 of 25 assigned | ends Dec 25, 2026 | free (trial) | trial",
			"Project Plan 1 | Bob | 0 of 2 assigned | starts when paid | €16.80 per month | payment pending",
			"Starts: when the payment has gone through", "Renews on: Dec 25, 2026", "Expiration date: Dec 25, 2026"}},
		{dave.de(), []string{
			"Produkt | Käufer | Lizenzen | Laufzeit | Kaufpreis | Status",
			"Visio Plan 2 | Alice | 0 von 5 zugewiesen | verlängert sich am 25.12.2026 | 63,00 € pro Monat | aktiv",
			"Project Plan 3 | Alice | 0 von 25 zugewiesen | endet am 25.12.2026 | kostenlos (Testversion) | Testversion",
			"Project Plan 1 | Bob | 0 von 2 zugewiesen | beginnt nach der Zahlung | 16,80 € pro Monat | Zahlung ausstehend",
			"Beginn: sobald die Zahlung eingegangen ist"}},
	} {
		wantMessage(t, e.run(tt.as, "admin"), tt.want...)
	}
}
