package paypage

import (
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// TestWritePages writes the pages a user sees, in both languages, as HTML
// files into the directory $PAYPAGE_PAGES, to look at them in a browser
// (or screenshot them with headless Chromium); without it, it is skipped.
func TestWritePages(t *testing.T) {
	dir := os.Getenv("PAYPAGE_PAGES")
	if dir == "" {
		t.Skip("PAYPAGE_PAGES is not set")
	}
	save := func(name string, w *httptest.ResponseRecorder) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name+".html"), w.Body.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, lang := range []string{"en", "de"} {
		e := newEnv(t)
		chat := store.PayLink{Org: "slack-T1", User: "U1", ProfileID: "default", Lang: lang, OrgName: "acme",
			ChatURL: "https://slack.com/app_redirect?channel=C100&team=T1", Expires: time.Now().Add(30 * time.Minute)}
		add := e.makeLink(chat)
		save(lang+"-add", e.get("/pay/"+add))
		save(lang+"-error", e.post(add, card("4242424242424241", "123", "13", "30")))
		save(lang+"-declined", e.post(add, card(payment.TestCardDeclined, "123", "12", validYear)))
		e.post(add, good())
		save(lang+"-done", e.get("/pay/"+add+"/done"))
		for _, m := range e.methodsOf("slack-T1") {
			chat.MethodID = m.ID
		}
		save(lang+"-replace", e.get("/pay/"+e.makeLink(chat)))
		dup := e.makeLink(store.PayLink{Org: "slack-T1", User: "U1", ProfileID: "default", Lang: lang, Expires: time.Now().Add(time.Hour)})
		save(lang+"-duplicate", e.post(dup, good()))
		save(lang+"-refused", e.post(dup, good(), "Origin", "https://evil.example"))
		save(lang+"-gone", e.get("/pay/"+e.makeLink(store.PayLink{Org: "T1", User: "U1", Lang: lang, Expires: time.Now().Add(-time.Minute)})))

		b := newEnv(t, withProvider(bankProvider{payment.NewSandbox()}))
		token, _ := b.invoiceLink(lang)
		save(lang+"-confirm", b.get("/pay/"+token))
		b.postTo("/pay/"+token+"/confirm", token, url.Values{})
		save(lang+"-confirm-waiting", b.get("/pay/"+token+"/done"))
		b.mu.Lock()
		b.bodies = nil // their forms' action names the link
		b.mu.Unlock()

		h := newEnv(t, withProvider(hostedProvider{Sandbox: payment.NewSandbox()}))
		save(lang+"-hosted-saving", h.get("/pay/"+h.link(lang, "")+"/done"))
	}
}

// methodsOf are U1's payment methods in an organization.
func (e *env) methodsOf(org string) []store.PaymentMethod {
	e.t.Helper()
	v, err := e.st.View(e.t.Context(), org, "U1", store.ViewOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var ms []store.PaymentMethod
	for _, a := range v.Billing.Accounts {
		for _, p := range a.Profiles {
			ms = append(ms, p.Methods...)
		}
	}
	return ms
}
