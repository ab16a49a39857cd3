package discord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestGuildLanguage: a command keeps its guild's locale for the guild's
// channel notifications (the core writes it only when it changed); an
// admin's /billing admin language wins over it; a direct message is in
// its recipient's own language.
func TestGuildLanguage(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	send := func(w who, data any, guildLocale string) map[string]any {
		t.Helper()
		var in map[string]any
		if err := json.Unmarshal(e.interaction(w, itCommand, data, ""), &in); err != nil {
			t.Fatal(err)
		}
		in["guild_locale"] = guildLocale
		doc, _ := json.Marshal(in)
		_, got := answer(t, e.post(doc))
		e.a.Wait()
		return got
	}
	settings := func() store.OrgSettings {
		t.Helper()
		s, err := e.st.Settings(ctx, testOrg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := e.st.SetAdminChannel(ctx, testOrg, alice, "<#555555555555555555>"); err != nil {
		t.Fatal(err)
	}
	n := commands.Notification{Org: testOrg, Kind: commands.NoteConversion,
		Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Bob Brown", Licenses: 5}}
	posted := func(key, channel string) string {
		t.Helper()
		n.Key = key
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		return string(e.fake.nextTo(t, http.MethodPost, "/channels/"+channel+"/messages").Body)
	}

	send(bobEN, command("help"), "de")
	if got := settings().Locale; got != "de" {
		t.Fatalf("organization locale = %q, want the guild's de", got)
	}
	if got := posted("k1", "555555555555555555"); !strings.Contains(got, "Testversion umgewandelt") {
		t.Errorf("channel notification in a German guild: %s", got)
	}

	got := send(aliceEN, command("admin", opt("language", optString, "en")), "de")
	if !strings.Contains(text(got), "Notifications in channels are now written in English.") {
		t.Errorf("admin language en answered %s", text(got))
	}
	if s := settings(); s.Lang != "en" || s.Locale != "de" {
		t.Errorf("settings = %+v, want language en beside locale de", s)
	}
	if got := posted("k2", "555555555555555555"); !strings.Contains(got, "Trial converted") {
		t.Errorf("channel notification after admin language en: %s", got)
	}

	// A direct message: the recipient's own language.
	if err := e.st.SetPrefs(ctx, testOrg, bob, store.Prefs{Lang: "de"}); err != nil {
		t.Fatal(err)
	}
	n.To = bob
	n.Key = "k3"
	if err := e.a.Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := string(e.fake.nextTo(t, http.MethodPost, "/channels/dm"+bob+"/messages").Body); !strings.Contains(got, "Testversion umgewandelt") {
		t.Errorf("DM to a user who chose German: %s", got)
	}

	send(bobEN, command("help"), "en-US")
	if got := settings().Locale; got != "en-US" {
		t.Errorf("organization locale after the guild's changed = %q, want en-US", got)
	}
}

// TestGermanCommandName: a German user sees /abrechnung in Discord, so
// texts name /abrechnung with the German subcommand; an English one
// /billing.
func TestGermanCommandName(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as        who
		sub       string
		want, not string
	}{
		{aliceDE, "catalog", "Kaufen Sie mit /abrechnung kaufen oder testen Sie ein Produkt zuerst mit /abrechnung testen.", "/billing"},
		{aliceDE, "help", "/abrechnung kaufen [produkt] [anzahl]", "/billing"},
		{aliceEN, "catalog", "Buy with /billing buy, or try a product first with /billing trial.", "/abrechnung"},
	} {
		_, got := answer(t, e.post(e.interaction(tt.as, itCommand, command(tt.sub), "")))
		if s := text(got); !strings.Contains(s, tt.want) || strings.Contains(s, tt.not) {
			t.Errorf("%s %s: %s\nwant %q and no %q", tt.as.locale, tt.sub, s, tt.want, tt.not)
		}
	}
}

// TestAdminChannelOption: Discord's channel picker and language choice
// of /billing admin reach the core as "admin channel <#id> language de".
func TestAdminChannelOption(t *testing.T) {
	e := newEnv(t)
	data := command("admin", opt("channel", optChannel, "555555555555555555"), opt("language", optString, "de"))
	var d commandData
	doc, _ := json.Marshal(data)
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	if got, want := e.a.commandLine(d), "admin channel <#555555555555555555> language de"; got != want {
		t.Errorf("command line %q, want %q", got, want)
	}
	_, got := answer(t, e.post(e.interaction(aliceDE, itCommand, data, "")))
	if !strings.Contains(text(got), "Benachrichtigungen in Kanälen erscheinen ab jetzt auf Deutsch.") {
		t.Errorf("answer %s", text(got))
	}
	if s, err := e.st.Settings(t.Context(), testOrg); err != nil || s.AdminChannel != "<#555555555555555555>" || s.Lang != "de" {
		t.Errorf("settings = %+v, %v", s, err)
	}
}

// TestModalNumbersInTheUsersLanguage: a number input's limits are written
// as the user's language writes numbers, as the console and the errors
// write them.
func TestModalNumbersInTheUsersLanguage(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	for _, tt := range []struct {
		w    who
		want string
	}{{aliceEN, "1–10,000"}, {aliceDE, "1–10.000"}} {
		typ, data := answer(t, e.post(e.interaction(tt.w, itCommand,
			command("buy", opt("product", optString, "visio-plan-2"), opt("count", optInteger, 5)), "")))
		if typ != cbModal {
			t.Fatalf("%s buy: type %d, want a modal: %s", tt.w.locale, typ, text(data))
		}
		if got := modalInputs(t, data)["licenses"]["placeholder"]; got != tt.want {
			t.Errorf("%s licenses placeholder %q, want %q", tt.w.locale, got, tt.want)
		}
		// A year is written as a year in either language.
		typ, data = answer(t, e.post(e.interaction(tt.w, itComponent,
			map[string]any{"custom_id": buttonPrefix + "payment edit " + e.methodID(alice), "component_type": ctButton}, "")))
		if typ != cbModal {
			t.Fatalf("%s payment edit: type %d, want a modal: %s", tt.w.locale, typ, text(data))
		}
		year := time.Now().Year()
		if got, want := modalInputs(t, data)["exp_year"]["placeholder"], fmt.Sprintf("%d–%d", year, year+20); got != want {
			t.Errorf("%s expiry year placeholder %q, want %q", tt.w.locale, got, want)
		}
	}
}
