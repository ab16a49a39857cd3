package paypage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// coreLink asks the core for a payment link as a user whose platform shows
// the slash command as command, and returns its token.
func (e *env) coreLink(locale, command, line string) string {
	e.t.Helper()
	resp, err := e.bot.Handle(context.Background(), commands.Request{Org: "T1", User: commands.Member{ID: "U1", Name: "Alice"},
		Locale: locale, Command: command, Text: line, IdempotencyKey: "link-" + command + "-" + line})
	if err != nil || len(resp.Messages) == 0 {
		e.t.Fatalf("%s %s: %v %+v", command, line, err, resp)
	}
	for _, b := range resp.Messages[0].Buttons {
		if token, ok := strings.CutPrefix(b.URL, "https://pay.example/pay/"); ok {
			e.mu.Lock()
			e.secrets[token] = true
			e.tokens = append(e.tokens, token)
			e.mu.Unlock()
			return token
		}
	}
	e.t.Fatalf("%s %s: no payment link in %+v", command, line, resp.Messages[0])
	return ""
}

// TestPagesNameTheCommandAsShown: the pages that send the user back to
// chat name the slash command as the user's platform shows it when the
// link was asked for (/abrechnung in a German Discord), not /billing;
// a link without one, or with one that is no command, says /billing.
func TestPagesNameTheCommandAsShown(t *testing.T) {
	e := newEnv(t)
	declined := card(payment.TestCardDeclined, "123", "12", validYear)
	for _, tt := range []struct {
		name, locale, command, line string
		want, not                   string
	}{
		{"discord de", "de", "/abrechnung", "zahlung hinzufuegen default", "mit /abrechnung zahlung einen neuen an", "/billing"},
		{"discord en", "en-US", "/billing", "payment add default", "in chat with /billing payment.", "/abrechnung"},
		{"slack de", "de-DE", "/billing", "zahlung hinzufuegen default", "mit /billing zahlung einen neuen an", "/abrechnung"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			token := e.coreLink(tt.locale, tt.command, tt.line)
			for i := 1; i < commands.MaxPayLinkFailures; i++ {
				wantStatus(t, e.post(token, declined), http.StatusUnprocessableEntity)
			}
			// The refused card that ends the link, then the link that no
			// longer works.
			for _, w := range []*httptest.ResponseRecorder{e.post(token, declined), e.get("/pay/" + token)} {
				if body := w.Body.String(); w.Code != http.StatusGone || !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) {
					t.Errorf("status %d, want 410 naming %q, not %q:\n%s", w.Code, tt.want, tt.not, body)
				}
			}
		})
	}
	t.Run("expired, in the link's language and words", func(t *testing.T) {
		token := e.makeLink(store.PayLink{Org: "T1", User: "U1", ProfileID: "default", Lang: "de", Command: "/abrechnung",
			Expires: time.Now().Add(-time.Second)})
		w := e.get("/pay/" + token) // a browser that asks for English
		wantStatus(t, w, http.StatusGone)
		wantIn(t, w.Body.String(), "mit /abrechnung zahlung einen neuen an")
	})
	t.Run("a stored command that is none", func(t *testing.T) {
		token := e.makeLink(store.PayLink{Org: "T1", User: "U1", ProfileID: "default", Lang: "en", Command: "<b>x</b>",
			Expires: time.Now().Add(-time.Second)})
		w := e.get("/pay/" + token)
		wantStatus(t, w, http.StatusGone)
		wantIn(t, w.Body.String(), "in chat with /billing payment.")
		wantNotIn(t, w.Body.String(), "x</b>", "&lt;b&gt;")
	})
}
