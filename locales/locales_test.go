package locales

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
)

// ids returns a message file's ids and, for plural messages, their forms.
func ids(t *testing.T, lang string) map[string][]string {
	t.Helper()
	raw, err := File(lang)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := toml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s.toml: %v", lang, err)
	}
	out := map[string][]string{}
	for id, v := range m {
		switch v := v.(type) {
		case string:
			out[id] = nil
		case map[string]any:
			if _, ok := v["one"]; !ok && len(v) == 1 && v["other"] != nil {
				// go-i18n's table form of a plain message ([ID] other = "…"),
				// which a block appended after the plural tables must use
				out[id] = nil
				continue
			}
			for form := range v {
				out[id] = append(out[id], form)
			}
			sort.Strings(out[id])
		default:
			t.Errorf("%s.toml: %s: unexpected %T", lang, id, v)
		}
	}
	return out
}

func TestBothLanguagesHaveTheSameIDs(t *testing.T) {
	en, de := ids(t, "en"), ids(t, "de")
	for id, forms := range en {
		deForms, ok := de[id]
		if !ok {
			t.Errorf("%s is in en.toml but not in de.toml", id)
			continue
		}
		// A table with only "other" is a message that is not plural: the
		// form such a message takes when it follows the file's tables.
		single := slices.Equal(forms, []string{"other"})
		if len(forms) > 0 && (!slices.Equal(deForms, forms) || !single && (!slices.Contains(forms, "one") || !slices.Contains(forms, "other"))) {
			t.Errorf("%s: plural forms in de.toml = %v, en.toml = %v; want the same, one and other among them", id, deForms, forms)
		}
		for _, f := range forms {
			if f != "zero" && f != "one" && f != "other" {
				t.Errorf("%s: plural form %q; English and German have zero (locales.Zero), one and other", id, f)
			}
		}
	}
	for id := range de {
		if _, ok := en[id]; !ok {
			t.Errorf("%s is in de.toml but not in en.toml", id)
		}
	}
}

func TestPlurals(t *testing.T) {
	b, err := Bundle()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang string
		n    int
		want string
	}{
		{"de", 1, "1 Lizenz"},
		{"de", 5, "5 Lizenzen"},
		{"en", 1, "1 license"},
		{"en", 5, "5 licenses"},
	}
	for _, tt := range tests {
		got, err := i18n.NewLocalizer(b, tt.lang).Localize(&i18n.LocalizeConfig{
			MessageID: "Licenses", PluralCount: tt.n, TemplateData: map[string]any{"Count": tt.n}})
		if err != nil || got != tt.want {
			t.Errorf("%s Licenses(%d) = %q, %v; want %q", tt.lang, tt.n, got, err, tt.want)
		}
	}
}

// messages returns a message file's texts (each plural form on its own).
func messages(t *testing.T, lang string) map[string]string {
	t.Helper()
	raw, err := File(lang)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := toml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s.toml: %v", lang, err)
	}
	out := map[string]string{}
	for id, v := range m {
		switch v := v.(type) {
		case string:
			out[id] = v
		case map[string]any:
			for form, s := range v {
				out[id+"."+form], _ = s.(string)
			}
		}
	}
	return out
}

// TestCommandsNamedAsShown: a text names the slash command as {{.Cmd}},
// which is the command as the user's platform shows it (/abrechnung on
// Discord in German), never a fixed /billing. Only the Discord adapter's
// own words for a direct message, where no command is shown, name one.
func TestCommandsNamedAsShown(t *testing.T) {
	for _, lang := range Languages {
		for id, s := range messages(t, lang) {
			if id == "DiscordUseInServer" {
				continue
			}
			if strings.Contains(s, "/billing") || strings.Contains(s, "/abrechnung") {
				t.Errorf("%s %s names a fixed command: %q; use {{.Cmd}}", lang, id, s)
			}
		}
	}
}

// TestGermanWording: findings of issue 15 about German that a German user
// would not write stay fixed.
func TestGermanWording(t *testing.T) {
	de := messages(t, "de")
	for _, tt := range []struct{ id, not, want string }{
		{"CmdCatalog", "Käufliche", "Produkte, die Sie kaufen können"},
		{"CmdCatalog", "können: Preise", "Produkte, die Sie kaufen können, mit Preisen und Testversionen"},
		{"ConsoleFormHelp", "„cancel“", "mit „abbrechen“ schließen Sie das Formular"},
		{"ConsoleBannerHelp", "ein, die Nummer", "mit der Nummer einer Schaltfläche klicken Sie diese an; mit „beenden“ verlassen Sie die Konsole."},
		{"ConsoleBanner", "%q", "Organisation „%s“"},
		{"ConsoleStopped", "Tschüss", "Auf Wiedersehen."},
		{"NoteTitleConversion", "gekauft", "Testversion umgewandelt"},
		{"NoteConversion", "gekauft", "hat die Testversion von {{.Product}} in ein Abonnement umgewandelt"},
		{"AdminChannelIs", "gehen an:", "Benachrichtigungen an Administratoren: {{.Where}}"},
		{"AdminChannelDefault", "als Direktnachricht an die Administratoren", "im Standardkanal oder per Direktnachricht"},
		{"FieldRenews", "Ablaufdatum", "Nächste Verlängerung"},
	} {
		got := de[tt.id]
		if strings.Contains(got, tt.not) || !strings.Contains(got, tt.want) {
			t.Errorf("de %s = %q; want %q in it and no %q", tt.id, got, tt.want, tt.not)
		}
	}
}

// TestGermanCommandWords: where a German text names a command line
// ({{.Cmd}} and the words after it), its words are German: none of the
// English words the commands read, none spelled with ue for ü.
func TestGermanCommandWords(t *testing.T) {
	english := map[string]bool{}
	for _, w := range strings.Fields(`help products catalog buy trial licenses assign unassign cancel payment
		invoices language requests range add edit replace remove channel default policy enabled disabled
		trials-only approval cap off approve decline audit all before after handover show take withdraw
		remind end confirm page kuendigen uebergabe uebernehmen zurueckziehen hinzufuegen bestaetigen`) {
		english[w] = true
	}
	for id, s := range messages(t, "de") {
		for _, part := range strings.Split(s, "{{.Cmd}}")[1:] {
			words := strings.FieldsFunc(part, func(r rune) bool { return strings.ContainsRune(" .,:;„“()[]|", r) })
			for _, w := range words[:min(len(words), 3)] {
				if english[w] {
					t.Errorf("de %s names a command with %q: %q", id, w, s)
				}
			}
		}
	}
}
