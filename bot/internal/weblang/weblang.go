// Package weblang picks the language of the pages that billingbot serves
// to browsers (the payment page, invoice downloads): "de" or "en".
package weblang

import (
	"net/http"

	"golang.org/x/text/language"
)

var matcher = language.NewMatcher([]language.Tag{language.English, language.German})

// FromRequest is the browser's language, for pages that know no user.
func FromRequest(r *http.Request) string {
	tag, _ := language.MatchStrings(matcher, r.Header.Get("Accept-Language"))
	if base, _ := tag.Base(); base.String() == "de" {
		return "de"
	}
	return "en"
}
