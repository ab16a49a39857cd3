package commands_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestCommandAsShown: a text that names a command names it as the user's
// platform shows it (Request.Command: /abrechnung on Discord in German)
// with the subcommand in the text's language, never "/billing kaufen" to
// someone who sees /abrechnung.
func TestCommandAsShown(t *testing.T) {
	e := newEnv(t)
	as := func(w who, command, line string) commands.Response {
		t.Helper()
		req := e.request(w)
		req.Text, req.Command = line, command
		return e.handle(req)
	}
	for _, tt := range []struct {
		name          string
		as            who
		command, line string
		want          []string
		not           string
	}{
		{"discord de help", dave.de(), "/abrechnung", "hilfe",
			[]string{"/abrechnung kaufen [produkt] [anzahl]", "/abrechnung katalog", "/abrechnung admin kanal #name", "/abrechnung admin sprache de|en|auto"}, "/billing"},
		{"discord de catalog", alice.de(), "/abrechnung", "katalog",
			[]string{"Kaufen Sie mit /abrechnung kaufen oder testen Sie ein Produkt zuerst mit /abrechnung testen."}, "/billing"},
		{"discord de unknown command", alice.de(), "/abrechnung", "frobnicate", []string{"Mit /abrechnung hilfe sehen Sie"}, "/billing"},
		{"discord de message without data", alice.de(), "/abrechnung", "zuweisen", []string{"/abrechnung produkte"}, "/billing"},
		{"slack de", alice.de(), "/billing", "zuweisen", []string{"Mit /billing produkte sehen Sie Ihre Abonnements."}, "/abrechnung"},
		{"slack de after discord: no cached /abrechnung", alice.de(), "", "zuweisen", []string{"/billing produkte"}, "/abrechnung"},
		{"discord en", alice, "/billing", "catalog", []string{"Buy with /billing buy, or try a product first with /billing trial."}, "/abrechnung"},
		{"not a command: /billing", alice.de(), "<b>x</b>", "katalog", []string{"/billing kaufen"}, "<b>"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := as(tt.as, tt.command, tt.line)
			wantText(t, r, tt.want...)
			if strings.Contains(text(r), tt.not) {
				t.Errorf("the answer names %q:\n%s", tt.not, text(r))
			}
		})
	}
	if got, want := e.bot.TextFor("de", "/abrechnung", "ErrUnknownForm"), "Bitte beginnen Sie erneut mit /abrechnung."; !strings.Contains(got, want) {
		t.Errorf("TextFor = %q, want it to say %q", got, want)
	}
	if got, want := e.bot.Text("de", "ErrUnknownForm"), "Bitte beginnen Sie erneut mit /billing."; !strings.Contains(got, want) {
		t.Errorf("Text = %q, want it to say %q", got, want)
	}
}

// TestCommandLine: a button's command line as the user would type it, in
// their language.
func TestCommandLine(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct{ lang, command, line, want string }{
		{"de", "/billing", "catalog", "/billing katalog"},
		{"de", "/abrechnung", "assign 3x7abc", "/abrechnung zuweisen 3x7abc"},
		{"de", "/billing", "admin channel default", "/billing admin kanal standard"},
		{"de", "/billing", "admin policy visio-plan-2 trials-only", "/billing admin richtlinie visio-plan-2 nur-testversionen"},
		{"de", "/billing", "payment edit m1", "/billing zahlung bearbeiten m1"},
		{"de", "/billing", "trial end x1 confirm", "/billing testen beenden x1 bestätigen"},
		{"en", "/billing", "admin channel default", "/billing admin channel default"},
		{"de", "/billing", "cancel x1", "/billing kündigen x1"},
		{"en", "/billing", "buy visio-plan-2", "/billing buy visio-plan-2"},
		{"de", "", "invoices 6m", "/billing rechnungen 6m"},
		{"de", "/billing", "frobnicate now", "/billing frobnicate now"},
		{"de", "/billing", "", "/billing"},
	} {
		if got := e.bot.CommandLine(tt.lang, tt.command, tt.line); got != tt.want {
			t.Errorf("CommandLine(%s, %q, %q) = %q, want %q", tt.lang, tt.command, tt.line, got, tt.want)
		}
	}
}

// TestAdminChannelDefault: "admin channel default" (or none, standard, …)
// goes back to the deployment's default channel instead of setting a
// channel called "default", and "admin #billing-alerts" sets the channel
// as help shows it (/billing admin [channel]). A bad word writes nothing.
func TestAdminChannelDefault(t *testing.T) {
	e := newEnv(t)
	channel := func() string {
		t.Helper()
		return e.view(dave).Settings.AdminChannel
	}
	wantMessage(t, e.run(dave, "admin #billing-alerts"), "Admin notifications now go to #billing-alerts.")
	if got := channel(); got != "#billing-alerts" {
		t.Fatalf("channel = %q, want #billing-alerts", got)
	}
	r := e.run(dave, "admin")
	wantText(t, r, "Admin notifications: in #billing-alerts")
	if b := r.Messages[0].Buttons; len(b) != 2 || b[0].Command != "admin channel default" || b[0].Label != "Use the default channel" ||
		b[1].Command != "admin policy" {
		t.Errorf("overview buttons = %+v, want one back to the default channel, then the product policies", b)
	}
	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{dave, "admin channel default", "Admin notifications go to the default channel again, or by direct message where there is none."},
		{dave, "admin channel none", "Admin notifications go to the default channel again"},
		{dave.de(), "admin kanal standard", "Benachrichtigungen an Administratoren gehen wieder in den Standardkanal oder, wenn es keinen gibt, per Direktnachricht."},
		{dave.de(), "admin kanal keiner", "wieder in den Standardkanal"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			e.run(dave, "admin <#C123|billing>")
			if got := channel(); got != "<#C123|billing>" {
				t.Fatalf("channel = %q after admin <#C123|billing>", got)
			}
			wantMessage(t, e.at(t).run(tt.as, tt.line), tt.want)
			if got := channel(); got != "" {
				t.Errorf("channel = %q, want the default (\"\")", got)
			}
		})
	}
	if r := e.run(dave, "admin"); len(r.Messages[0].Buttons) != 1 || r.Messages[0].Buttons[0].Command != "admin policy" {
		t.Errorf("overview with the default channel has buttons %+v, want only the product policies", r.Messages[0].Buttons)
	}
	wantText(t, e.run(dave.de(), "admin"), "Benachrichtigungen an Administratoren: im Standardkanal oder per Direktnachricht")

	before := e.snapshot()
	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{dave, "admin #a language fr", "Unknown language “fr”."},
		{dave, "admin #a #b", "Name one channel"},
		{dave, "admin billing", "Unknown option “billing”. Use /billing admin, /billing admin channel #name, /billing admin channel default or /billing admin language en."},
		{dave.de(), "admin abrechnung", "Unbekannte Option „abrechnung“. Verwenden Sie /billing admin, /billing admin kanal #name, /billing admin kanal standard oder /billing admin sprache de."},
		{alice, "admin channel default", "Only administrators can use this command."},
	} {
		wantMessage(t, e.run(tt.as, tt.line), tt.want)
	}
	e.wantUnchanged(before)
}

// TestOrgLanguage: an admin sets the language of the organization's
// channel notifications; until then it follows the platform's locale of
// the organization, else English.
func TestOrgLanguage(t *testing.T) {
	e := newEnv(t)
	lang := func(user, locale string) string {
		t.Helper()
		l, err := e.bot.NotificationLang(t.Context(), "T1", user, locale)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if got := lang("", ""); got != "en" {
		t.Errorf("channel language with nothing known = %s, want en", got)
	}

	// Slack: the first admin who uses billingbot gives the locale.
	e.run(alice.de(), "help") // a member: not the organization's locale
	if got := e.view(dave).Settings.Locale; got != "" {
		t.Errorf("a member's locale was kept: %q", got)
	}
	before := e.snapshot()
	wantMessage(t, e.run(dave.de(), "admin frobnicate"), "Unbekannte Option")
	e.wantUnchanged(before) // a refused request writes nothing, not even the locale
	e.run(dave.de(), "admin")
	ivan := person("T1", "U9", "Ivan")
	ivan.admin = true
	e.run(ivan, "admin") // a second admin, en-US: the first stays
	if got := e.view(dave).Settings.Locale; got != "de-DE" {
		t.Errorf("organization locale = %q, want the first admin's de-DE", got)
	}
	wantText(t, e.run(dave, "admin"), "Language of notifications in channels: German (from your organization's settings in Slack or Discord)")
	if got := lang("", ""); got != "de" {
		t.Errorf("channel language = %s, want de from the first admin's locale", got)
	}

	// An admin's choice wins.
	wantMessage(t, e.run(dave.de(), "admin sprache en"), "Benachrichtigungen in Kanälen erscheinen ab jetzt auf Englisch.")
	if got := lang("", ""); got != "en" {
		t.Errorf("channel language = %s after admin sprache en", got)
	}
	wantMessage(t, e.run(dave, "admin language"), "Language of notifications in channels: English")
	wantMessage(t, e.run(dave, "admin language de"), "Notifications in channels are now written in German.")
	wantMessage(t, e.run(dave.de(), "admin kanal #abrechnung sprache de"),
		"Benachrichtigungen an Administratoren gehen jetzt in den Kanal #abrechnung.\nBenachrichtigungen in Kanälen erscheinen ab jetzt auf Deutsch.")
	if s := e.view(dave).Settings; s.Lang != "de" || s.AdminChannel != "#abrechnung" {
		t.Errorf("settings = %+v", s)
	}

	// Direct messages: the recipient's choice, else their locale, else the
	// organization's language.
	e.run(bob, "language en")
	for _, tt := range []struct{ name, user, locale, want string }{
		{"own choice over locale", bob.m.ID, "de-DE", "en"},
		{"platform locale", carol.m.ID, "en-US", "en"},
		{"nothing known: the organization's", carol.m.ID, "", "de"},
	} {
		if got := lang(tt.user, tt.locale); got != tt.want {
			t.Errorf("%s: NotificationLang = %s, want %s", tt.name, got, tt.want)
		}
	}

	wantMessage(t, e.run(dave, "admin language auto"),
		"Notifications in channels now follow your organization's settings in Slack or Discord, currently German.")
	if got := e.view(dave).Settings.Lang; got != "" {
		t.Errorf("language after auto = %q", got)
	}
	wantMessage(t, e.run(alice, "admin language de"), "Only administrators can use this command.")
}

// TestOrgLocaleFromPlatform: a platform that sends the organization's
// locale with every request (Discord's guild_locale) sets it, and a change
// replaces it; the same locale again writes nothing.
func TestOrgLocaleFromPlatform(t *testing.T) {
	e := newEnv(t)
	send := func(w who, orgLocale string) {
		t.Helper()
		req := e.request(w)
		req.Text, req.OrgLocale = "help", orgLocale
		e.handle(req)
	}
	send(alice, "de")
	if got := e.view(alice).Settings.Locale; got != "de" {
		t.Fatalf("organization locale = %q, want the guild's de", got)
	}
	before := e.snapshot()
	send(bob, "de")
	e.wantUnchanged(before)
	send(dave, "en-US")
	if got := e.view(alice).Settings.Locale; got != "en-US" {
		t.Errorf("organization locale = %q, want the guild's new en-US", got)
	}
	send(dave, "x;y")
	if got := e.view(alice).Settings; got != (store.OrgSettings{Locale: "en-US"}) {
		t.Errorf("settings = %+v after a locale that is none", got)
	}
}

// TestGermanSpelling: help and the texts that name a command spell its
// German words as German is written (kündigen, not kuendigen) and name
// no English word after them ("übergabe zeigen", not "uebergabe show");
// the spellings with ue are still understood.
func TestGermanSpelling(t *testing.T) {
	e := newEnv(t)
	help := text(e.run(dave.de(), "hilfe"))
	for _, want := range []string{"/billing kündigen [abonnement]", "/billing admin übergabe zeigen ",
		"/billing anfragen [zurückziehen …]"} {
		if !strings.Contains(help, want) {
			t.Errorf("German help lacks %q:\n%s", want, help)
		}
	}
	for _, not := range []string{"kuendigen", "uebergabe", "zurueckziehen", "uebernehmen", " show"} {
		if strings.Contains(help, not) {
			t.Errorf("German help says %q:\n%s", not, help)
		}
	}
	for _, id := range []string{"ArgHandover", "ArgWithdraw", "HandoverUsage", "ApprovalErrRequestsUsage"} {
		s := e.bot.Text("de", id)
		for _, not := range []string{"kuendigen", "uebergabe", "zurueckziehen", "uebernehmen", "show"} {
			if strings.Contains(s, not) {
				t.Errorf("de %s says %q: %q", id, not, s)
			}
		}
	}
	if got, want := e.bot.CommandLine("de", "/billing", "cancel x1"), "/billing kündigen x1"; got != want {
		t.Errorf("CommandLine(de, cancel x1) = %q, want %q", got, want)
	}
	// The old spellings and the new ones all name the same commands.
	for _, line := range []string{"kündigen", "kuendigen", "KÜNDIGEN"} {
		wantText(t, e.run(alice.de(), line), "Sie haben kein Abonnement, für das dies möglich ist.")
	}
	for _, line := range []string{"admin übergabe", "admin uebergabe", "admin übergabe zeigen", "admin uebergabe show"} {
		wantText(t, e.run(dave.de(), line), "Übergaben")
	}
	for _, line := range []string{"anfragen zurückziehen", "anfragen zurueckziehen"} {
		wantText(t, e.run(alice.de(), line), e.bot.Text("de", "ApprovalErrRequestsUsage")[:20])
	}
}

// TestLicenseWords: a license change's preview and answer read as German
// and English are written: "von 30 Tagen", a reduction labeled as a change
// (nothing is bought) with its date and count apart, a notification's
// license count said once, and a trial's assigned users who keep theirs.
func TestLicenseWords(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	e.clock.Add(0, 0, 10) // Dec 5: 20 of the period's 30 days are left

	for _, tt := range []struct {
		as          who
		total       string
		label, text string
	}{
		{alice.de(), "8", "Kaufpreis", "(20 von 30 Tagen, bis 25.12.2026)"},
		{alice, "8", "Purchase price", "(20 of 30 days, until Dec 25, 2026)"},
		{alice.de(), "2", "Was sich ändert", "Ab dem 25.12.2026 hat Visio Plan 2 nur noch 2 Lizenzen."},
		{alice, "2", "What changes", "From Dec 25, 2026, Visio Plan 2 has 2 licenses."},
	} {
		f := wantForm(t, e.run(tt.as, "licenses "+id+" "+tt.total), commands.FormLicenses)
		if in := input(t, f, "price"); in.Label != tt.label || !strings.Contains(in.Text, tt.text) {
			t.Errorf("%s to %s: preview %q: %q; want %q: …%q…", tt.as.locale, tt.total, in.Label, in.Text, tt.label, tt.text)
		}
	}
	r := e.send(alice.de(), licensesForm(id, "2"))
	wantMessage(t, r, "Ab dem 25.12.2026 hat Visio Plan 2 nur noch 2 Lizenzen; bis dahin behalten Sie 5 Lizenzen.")
	notes := e.notes()
	if len(notes) != 1 {
		t.Fatalf("notifications %+v, want the admins' one", notes)
	}
	for lang, want := range map[string]string{"de": "Lizenzen: 2", "en": "Licenses: 2"} {
		msg := e.bot.RenderNotification(notes[0], lang)
		var got []string
		for _, f := range msg.Fields {
			got = append(got, f.Label+": "+f.Value)
		}
		if !slices.Contains(got, want) {
			t.Errorf("%s notification fields %q, want %q", lang, got, want)
		}
	}

	trial := e.trial(alice, "project-plan-3")
	e.assign(alice, trial, bob.m.ID, carol.m.ID, erin.m.ID)
	r = e.submit(alice.de(), "", e.buyForm(alice, "project-plan-3", 3, store.Monthly))
	wantText(t, r, "die 3 zugewiesenen Benutzer behalten ihre Lizenzen")
	wantText(t, e.confirm(alice.de(), r), "wird nach der Zahlung zu einem Abonnement; die 3 zugewiesenen Benutzer behalten ihre Lizenzen.")
}
