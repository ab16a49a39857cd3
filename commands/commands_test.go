package commands_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
)

// TestSubcommands runs every subcommand of PRODUCT.md §2 by its English and
// German name and checks what it answers, in the language of the user.
func TestSubcommands(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	sub := e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, sub, bob.m.ID)

	tests := []struct {
		line    string
		as      who
		lang    string
		form    string // the form it opens, or
		message string // what its message says
	}{
		{"", alice, "en", "", "What billingbot can do"},
		{"help", alice, "en", "", "What billingbot can do"},
		{"hilfe", alice.de(), "de", "", "Was billingbot kann"},
		{"/billing", alice, "en", "", "What billingbot can do"},
		{"/abrechnung hilfe", alice.de(), "de", "", "Was billingbot kann"},
		{"products", alice, "en", "", "Your products"},
		{"produkte", alice.de(), "de", "", "Ihre Produkte"},
		{"catalog", alice, "en", "", "Catalog"},
		{"katalog", alice.de(), "de", "", "Katalog"},
		{"buy", alice, "en", commands.FormBuy, ""},
		{"kaufen", alice.de(), "de", commands.FormBuy, ""},
		{"KAUFEN", alice.de(), "de", commands.FormBuy, ""},
		{"/billing buy", alice, "en", commands.FormBuy, ""},
		{"trial", alice, "en", commands.FormTrial, ""},
		{"testen", alice.de(), "de", commands.FormTrial, ""},
		{"licenses", alice, "en", commands.FormLicenses, ""},
		{"lizenzen", alice.de(), "de", commands.FormLicenses, ""},
		{"assign", alice, "en", commands.FormAssign, ""},
		{"zuweisen", alice.de(), "de", commands.FormAssign, ""},
		{"unassign", alice, "en", commands.FormUnassign, ""},
		{"aufheben", alice.de(), "de", commands.FormUnassign, ""},
		{"cancel", alice, "en", "", "Which subscription do you want to cancel?"},
		{"kuendigen", alice.de(), "de", "", "Welches Abonnement möchten Sie kündigen?"},
		{"kündigen", alice.de(), "de", "", "Welches Abonnement möchten Sie kündigen?"},
		{"payment", alice, "en", "", "Billing accounts"},
		{"zahlung", alice.de(), "de", "", "Abrechnungskonten"},
		{"invoices", alice, "en", "", "Invoices: Last 3 months"},
		{"rechnungen", alice.de(), "de", "", "Rechnungen: Die letzten 3 Monate"},
		{"admin", dave, "en", "", "Self-service purchases"},
		{"admin", dave.de(), "de", "", "Self-Service-Käufe"},
		{"language", alice, "en", "", "Your language"},
		{"sprache", alice.de(), "de", "", "Ihre Sprache"},
		{"support", alice, "en", "", "administrator can help you"},
		{"support", alice.de(), "de", "", "Administrator Ihrer Organisation"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			if r.Lang != tt.lang {
				t.Errorf("Lang = %q, want %q", r.Lang, tt.lang)
			}
			if tt.form != "" {
				f := wantForm(t, r, tt.form)
				if f.Title == "" || f.Submit == "" || f.Close == "" {
					t.Errorf("form %q lacks a title or buttons: %+v", f.ID, f)
				}
				return
			}
			wantMessage(t, r, tt.message)
		})
	}
}

// TestUnknownCommand answers with the word in the user's language.
func TestUnknownCommand(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as   who
		want string
	}{
		{alice, "I don't know the command “frobnicate”"},
		{alice.de(), "Den Befehl „frobnicate“ kenne ich nicht"},
	} {
		t.Run(tt.as.locale, func(t *testing.T) {
			wantMessage(t, e.at(t).run(tt.as, "frobnicate now"), tt.want)
		})
	}
}

// TestHelp lists each command in the user's language; the admin command
// only for admins.
func TestHelp(t *testing.T) {
	e := newEnv(t, func(c *commands.Config) { c.Admins = []string{erin.m.ID} })
	tests := []struct {
		name      string
		as        who
		wantAdmin bool
	}{
		{"member", alice, false},
		{"member de", alice.de(), false},
		{"platform admin", dave, true},
		{"platform admin de", dave.de(), true},
		{"configured admin", erin, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.at(t).run(tt.as, "help")
			if len(r.Messages) != 1 || r.Messages[0].Table == nil {
				t.Fatalf("help is not one message with a table:\n%s", text(r))
			}
			usages := map[string]bool{}
			for _, row := range r.Messages[0].Table.Rows {
				if len(row) != 2 || row[1] == "" || strings.HasPrefix(row[1], "[") {
					t.Errorf("help row %q: want a usage and a description", row)
				}
				usages[strings.Fields(row[0])[1]] = true
			}
			for _, s := range e.bot.Specs() {
				name := s.Name
				if r.Lang == "de" {
					name = s.NameDE
				}
				want := !s.Admin || tt.wantAdmin
				if usages[name] != want {
					t.Errorf("help lists %q: %v, want %v", name, usages[name], want)
				}
			}
		})
	}
	t.Run("german usage", func(t *testing.T) {
		wantText(t, e.at(t).run(alice.de(), "hilfe"), "/billing kaufen [produkt] [anzahl]", "Lizenzen für ein Produkt kaufen")
	})
}

// TestLayering keeps the core free of chat platforms (STYLE.md 1).
func TestLayering(t *testing.T) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-deps", "./commands/...", "./store/...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed only %q", deps)
	}
	for _, dep := range deps {
		for _, banned := range []string{"github.com/slack-go/slack", "github.com/bwmarrin/discordgo"} {
			if dep == banned || strings.HasPrefix(dep, banned+"/") {
				t.Errorf("commands or store depend on %s", dep)
			}
		}
	}
}

// TestAdaptersOwnTheirData: the chat adapters reach the store only
// through the core and the interfaces they declare (their caches and
// delivery records), so that the store knows nothing of them.
func TestAdaptersOwnTheirData(t *testing.T) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "./bot/slack", "./bot/discord", "./bot/console")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 3 {
		t.Fatalf("go list printed %q", lines)
	}
	for _, l := range lines {
		pkg, imports, _ := strings.Cut(l, ":")
		for _, imp := range strings.Split(imports, ",") {
			if imp == "github.com/billingbot/billingbot/store" {
				t.Errorf("%s imports the store", pkg)
			}
		}
	}
}
