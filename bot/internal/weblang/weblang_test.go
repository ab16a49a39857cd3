package weblang

import (
	"net/http/httptest"
	"testing"
)

func TestFromRequest(t *testing.T) {
	for header, want := range map[string]string{
		"":                          "en",
		"de-DE,de;q=0.9,en;q=0.8":   "de",
		"de-AT":                     "de",
		"fr-FR,en;q=0.5":            "en",
		"en-US,de;q=0.9":            "en",
		"fr-CH, fr;q=0.9, de;q=0.8": "de",
		"*":                         "en",
		"garbage;;q=x":              "en",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if header != "" {
			r.Header.Set("Accept-Language", header)
		}
		if got := FromRequest(r); got != want {
			t.Errorf("Accept-Language %q: %q, want %q", header, got, want)
		}
	}
}
