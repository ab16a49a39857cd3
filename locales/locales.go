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
func Bundle() (*i18n.Bundle, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, lang := range Languages {
		if _, err := b.LoadMessageFileFS(files, lang+".toml"); err != nil {
			return nil, fmt.Errorf("locales: %s: %w", lang, err)
		}
	}
	return b, nil
}

// File returns the raw message file of a language, for tests that check the
// files against each other and against the code.
func File(lang string) ([]byte, error) { return files.ReadFile(lang + ".toml") }
