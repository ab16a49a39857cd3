// Package locales holds every user-visible text of billingbot in English
// (en.toml) and German (de.toml), embedded in the binary.
package locales

import (
	"embed"
	"fmt"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/pelletier/go-toml/v2"
	"golang.org/x/text/language"
)

//go:embed en.toml de.toml
var files embed.FS

// Languages are the languages billingbot speaks, the default first.
var Languages = []string{"en", "de"}

// Bundle loads both message files into a go-i18n bundle with English as
// the default language.
//
// A plural message may have a "zero" form besides "one" and "other", for
// a count of 0 ("nobody loses a license" rather than "0 users lose their
// licenses"). CLDR's rules for English and German have no zero case, so
// go-i18n would never pick it: Bundle adds each zero form as a message of
// its own, the plural message's id with Zero appended, for callers to ask
// for when the count is 0.
func Bundle() (*i18n.Bundle, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, lang := range Languages {
		if _, err := b.LoadMessageFileFS(files, lang+".toml"); err != nil {
			return nil, fmt.Errorf("locales: %s: %w", lang, err)
		}
		raw, err := files.ReadFile(lang + ".toml")
		if err != nil {
			return nil, fmt.Errorf("locales: %s: %w", lang, err)
		}
		var m map[string]any
		if err := toml.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("locales: %s: %w", lang, err)
		}
		for id, v := range m {
			forms, _ := v.(map[string]any)
			if zero, ok := forms["zero"].(string); ok && zero != "" {
				if err := b.AddMessages(language.Make(lang), &i18n.Message{ID: id + Zero, Other: zero}); err != nil {
					return nil, fmt.Errorf("locales: %s: %s: %w", lang, id, err)
				}
			}
		}
	}
	return b, nil
}

// Zero is appended to a plural message's id to name its zero form.
const Zero = "#zero"

// File returns the raw message file of a language, for tests that check the
// files against each other and against the code.
func File(lang string) ([]byte, error) { return files.ReadFile(lang + ".toml") }
