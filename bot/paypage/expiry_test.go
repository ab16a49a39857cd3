package paypage

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestExpiryPastMarksMonthAndYear: an expiry in the past (01/2026 in
// December 2026) is an error of the month and the year together: both
// inputs are marked invalid and described by the one message, both keep
// what was entered, and correcting the year alone saves the card.
func TestExpiryPastMarksMonthAndYear(t *testing.T) {
	now := time.Now()
	month, year := "01", strconv.Itoa(now.Year())
	if now.Month() == time.January {
		month, year = "12", strconv.Itoa(now.Year()-1)
	}
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			token := e.link(lang, "")
			w := e.post(token, card("4242424242424242", "123", month, year))
			wantStatus(t, w, http.StatusUnprocessableEntity)
			body := w.Body.String()
			if got, want := fieldErr(body, "exp"), e.text(lang, "PayPageErrExpired"); got != want {
				t.Errorf("expiry error = %q, want %q", got, want)
			}
			for _, id := range []string{"exp_month", "exp_year"} {
				i := strings.Index(body, `<input id="`+id+`"`)
				if i < 0 {
					t.Fatalf("no %s input", id)
				}
				tag := body[i : i+strings.Index(body[i:], ">")]
				for _, want := range []string{`aria-invalid="true"`, `aria-describedby="exp-err"`} {
					if !strings.Contains(tag, want) {
						t.Errorf("%s lacks %s: %s", id, want, tag)
					}
				}
			}
			wantIn(t, body, `value="`+month+`"`, `value="`+year+`"`)
			wantDone(t, e.post(token, card("4242424242424242", "123", month, strconv.Itoa(now.Year()+1))), token)
		})
	}
}
