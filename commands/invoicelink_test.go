package commands_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/invoicedoc/pdftest"
	"github.com/billingbot/billingbot/store"
)

// testKey is a secret key of the tests: replicas that share it honour each
// other's links.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func withKey(c *commands.Config) { c.SecretKey = testKey }

// token is the token of an invoice link the core made.
func token(t *testing.T, e *env, url string) string {
	t.Helper()
	prefix := e.cfg.PublicURL + commands.InvoicePath
	if !strings.HasPrefix(url, prefix) || !strings.HasSuffix(url, ".pdf") {
		t.Fatalf("invoice link %q, want %s….pdf", url, prefix)
	}
	return strings.TrimSuffix(strings.TrimPrefix(url, prefix), ".pdf")
}

// pdfButtons are a message's download buttons.
func pdfButtons(m commands.Message) []commands.Button {
	var out []commands.Button
	for _, b := range m.Buttons {
		if b.URL != "" && strings.Contains(b.URL, commands.InvoicePath) {
			out = append(out, b)
		}
	}
	return out
}

// TestInvoiceButtons: every invoice of a list has a download button, in a
// row of its own after the range buttons, whose link grants the user that
// invoice in their language for 24 hours.
func TestInvoiceButtons(t *testing.T) {
	e := invoiceEnv(t)
	for _, tt := range []struct {
		name    string
		as      who
		command string // Request.Command
		line    string
		label   string
		lang    string
		shown   string // InvoiceLink.Command
	}{
		{"en", alice, "", "invoices 6m", "PDF ", "en", ""},
		{"de", alice.de(), "", "rechnungen 6m", "PDF ", "de", ""},
		{"slack de", alice.de(), "/billing", "rechnungen 6m", "PDF ", "de", ""},
		{"discord de", alice.de(), "/abrechnung", "rechnungen 6m", "PDF ", "de", "/abrechnung"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := e.at(t).request(tt.as)
			req.Text, req.Command = tt.line, tt.command
			r := e.at(t).handle(req)
			m := r.Messages[0]
			invs := rows(t, r)
			btns := pdfButtons(m)
			if len(btns) != len(invs) || len(btns) != 4 {
				t.Fatalf("%d download buttons for %d invoices, want 4", len(btns), len(invs))
			}
			if len(m.Buttons) != 3+len(btns) || m.Buttons[3].URL == "" || !m.Buttons[3].NewRow || m.Buttons[4].NewRow {
				t.Errorf("buttons %+v: want the 3 range buttons, then the downloads, the first starting a row", m.Buttons)
			}
			for i, b := range btns {
				id := invs[i][1]
				if b.Label != tt.label+id {
					t.Errorf("button %q, want %q", b.Label, tt.label+id)
				}
				l, err := e.bot.ParseInvoiceLink(token(t, e, b.URL))
				want := commands.InvoiceLink{Org: "T1", User: alice.m.ID, Invoice: id, Lang: tt.lang, Expires: t0.Add(24 * time.Hour),
					Command: tt.shown}
				if err != nil || l != want {
					t.Errorf("link of %s grants %+v, %v; want %+v", id, l, err, want)
				}
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		r := e.at(t).run(bob, "invoices")
		if btns := pdfButtons(r.Messages[0]); len(btns) != 0 {
			t.Errorf("a list without invoices has download buttons: %+v", btns)
		}
	})
}

// TestInvoiceButtonsMany: a list of more invoices than fit on a page shows
// them a page at a time, every invoice of a page with its download button,
// and buttons to the other pages.
func TestInvoiceButtonsMany(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 1)
	for n := 2; n <= 25; n++ { // one more license a day, until Dec 19
		e.clock.Add(0, 0, 1)
		wantText(t, e.send(alice, licensesForm(id, strconv.Itoa(n))), "They are added as soon as the payment has gone through")
		e.charge()
	}
	for _, tt := range []struct {
		as         who
		line, next string
		want       []string
	}{
		{alice, "invoices", "Next ▶", []string{"25 invoices", "Page 1 of 2 (25 in all)"}},
		{alice.de(), "rechnungen", "Weiter ▶", []string{"25 Rechnungen", "Seite 1 von 2 (insgesamt 25)"}},
	} {
		t.Run(tt.line, func(t *testing.T) {
			e := e.at(t)
			r := e.run(tt.as, tt.line)
			wantText(t, r, tt.want...)
			var seen []string
			for page := 1; ; page++ {
				btns := pdfButtons(r.Messages[0])
				rs := rows(t, r)
				if want := min(20, 25-len(seen)); len(rs) != want || len(btns) != want {
					t.Fatalf("page %d: %d rows, %d download buttons; want %d each", page, len(rs), len(btns), want)
				}
				for i, b := range btns {
					if !strings.HasSuffix(b.Label, rs[i][1]) {
						t.Errorf("page %d: button %d is %q, want the invoices' in order: %s", page, i, b.Label, rs[i][1])
					}
					seen = append(seen, rs[i][1])
				}
				next, ok := button(r.Messages[0], tt.next)
				if !ok {
					break
				}
				if next.Command != "invoices 3m page 2" {
					t.Errorf("next page's command %q", next.Command)
				}
				r = e.run(tt.as, next.Command)
			}
			invs := e.invoices(alice)
			if len(seen) != len(invs) {
				t.Fatalf("the pages showed %d invoices, want %d", len(seen), len(invs))
			}
			for i, inv := range invs {
				if seen[i] != inv.ID {
					t.Errorf("invoice %d shown is %s, want %s (newest first, each once)", i, seen[i], inv.ID)
				}
			}
		})
	}
	t.Run("20 fit", func(t *testing.T) {
		r := e.at(t).run(alice, "invoices 2026-11-30 2026-12-19")
		if len(rows(t, r)) != 20 || len(pdfButtons(r.Messages[0])) != 20 || strings.Contains(text(r), "Page") {
			t.Errorf("20 invoices: want 20 buttons and one page; got:\n%s", text(r))
		}
	})
	t.Run("custom range pages", func(t *testing.T) {
		e := e.at(t)
		r := e.run(alice, "invoices 2026-11-20 2026-12-19 page 2")
		wantText(t, r, "Page 2 of 2 (25 in all)")
		if len(rows(t, r)) != 5 {
			t.Errorf("page 2: %d rows, want 5", len(rows(t, r)))
		}
		if prev, ok := button(r.Messages[0], "◀ Previous"); !ok || prev.Command != "invoices 2026-11-20 2026-12-19 page 1" {
			t.Errorf("previous page: %+v", prev)
		}
		// Beyond the last page: the last one.
		wantText(t, e.run(alice, "invoices 2026-11-20 2026-12-19 page 9"), "Page 2 of 2")
		before := e.snapshot()
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{alice, "invoices page 0", "“0” is not a page number."},
			{alice, "invoices 6m page two", "“two” is not a page number."},
			{alice.de(), "rechnungen seite", "„“ ist keine Seitenzahl."},
			{alice, "invoices page 2 3m", "“page” is not a page number."},
		} {
			wantMessage(t, e.run(tt.as, tt.line), tt.want)
		}
		e.wantUnchanged(before)
	})
}

// TestLicensesInvoiceButton: the confirmation of added licenses that are
// billed has the invoice's download button; a change that bills nothing
// has none.
func TestLicensesInvoiceButton(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	e.clock.Add(0, 0, 1)
	r := e.send(alice.de(), licensesForm(id, "8"))
	inv := e.invoices(alice)[0]
	wantText(t, r, "Rechnung "+inv.ID)
	btns := pdfButtons(r.Messages[0])
	if len(btns) != 1 || btns[0].Label != "PDF "+inv.ID {
		t.Fatalf("buttons %+v, want the download of %s", r.Messages[0].Buttons, inv.ID)
	}
	if l, err := e.bot.ParseInvoiceLink(token(t, e, btns[0].URL)); err != nil || l.Invoice != inv.ID || l.Lang != "de" || l.User != alice.m.ID {
		t.Errorf("link grants %+v, %v", l, err)
	}
	e.charge()
	if r := e.send(alice, licensesForm(id, "6")); len(pdfButtons(r.Messages[0])) != 0 {
		t.Errorf("fewer licenses, nothing billed, yet a download button: %+v", r.Messages[0].Buttons)
	}
}

// TestParseInvoiceLink: a link works on every replica with the same key
// until it expires; a changed, forged or foreign one does not.
func TestParseInvoiceLink(t *testing.T) {
	e := newEnv(t, withKey)
	good := commands.InvoiceLink{Org: "T1", User: "U1", Invoice: "20261125-ABCDEFGH", Lang: "en", Expires: t0.Add(24 * time.Hour)}
	tok := token(t, e, e.bot.InvoiceURL(good))
	payload, mac, _ := strings.Cut(tok, ".")
	other := newEnv(t) // a random key of its own

	signed := func(l commands.InvoiceLink) string { return token(t, e, e.bot.InvoiceURL(l)) }
	with := func(f func(*commands.InvoiceLink)) commands.InvoiceLink { l := good; f(&l); return l }
	// swap puts one link's payload under another's signature.
	swap := func(l commands.InvoiceLink) string {
		p, _, _ := strings.Cut(signed(l), ".")
		return p + "." + mac
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		bot   *commands.Bot
		token string
		want  error
	}{
		{"good", e.bot, tok, nil},
		{"another replica with the key", e.newBot(), tok, nil},
		{"a bot with another key", other.bot, tok, commands.ErrInvoiceLink},
		{"signature changed", e.bot, payload + "." + flip(mac, 3), commands.ErrInvoiceLink},
		{"signature cut", e.bot, payload + "." + mac[:20], commands.ErrInvoiceLink},
		{"no signature", e.bot, payload, commands.ErrInvoiceLink},
		{"empty signature", e.bot, payload + ".", commands.ErrInvoiceLink},
		{"payload changed", e.bot, flip(payload, 5) + "." + mac, commands.ErrInvoiceLink},
		{"other user", e.bot, swap(with(func(l *commands.InvoiceLink) { l.User = "U2" })), commands.ErrInvoiceLink},
		{"other organization", e.bot, swap(with(func(l *commands.InvoiceLink) { l.Org = "T2" })), commands.ErrInvoiceLink},
		{"other invoice", e.bot, swap(with(func(l *commands.InvoiceLink) { l.Invoice = "20261125-ZZZZZZZZ" })), commands.ErrInvoiceLink},
		{"other language", e.bot, swap(with(func(l *commands.InvoiceLink) { l.Lang = "de" })), commands.ErrInvoiceLink},
		{"later expiry", e.bot, swap(with(func(l *commands.InvoiceLink) { l.Expires = l.Expires.Add(time.Hour) })), commands.ErrInvoiceLink},
		{"expired", e.bot, signed(with(func(l *commands.InvoiceLink) { l.Expires = t0 })), commands.ErrInvoiceLinkExpired},
		{"unknown language", e.bot, signed(with(func(l *commands.InvoiceLink) { l.Lang = "fr" })), commands.ErrInvoiceLink},
		{"a command that is none", e.bot, signed(with(func(l *commands.InvoiceLink) { l.Command = "<b>x</b>" })), commands.ErrInvoiceLink},
		{"other command", e.bot, swap(with(func(l *commands.InvoiceLink) { l.Command = "/abrechnung" })), commands.ErrInvoiceLink},
		{"bad id", e.bot, signed(with(func(l *commands.InvoiceLink) { l.Invoice = "../x" })), commands.ErrInvoiceLink},
		{"not base64", e.bot, "%%%." + mac, commands.ErrInvoiceLink},
		{"empty", e.bot, "", commands.ErrInvoiceLink},
		{"too long", e.bot, strings.Repeat("A", 600) + "." + mac, commands.ErrInvoiceLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.bot.ParseInvoiceLink(tt.token)
			if !errors.Is(err, tt.want) || (tt.want == nil && l != good) {
				t.Errorf("ParseInvoiceLink = %+v, %v; want %v", l, err, tt.want)
			}
		})
	}
	t.Run("with the command as shown", func(t *testing.T) {
		de := with(func(l *commands.InvoiceLink) { l.Lang, l.Command = "de", "/abrechnung" })
		if l, err := e.bot.ParseInvoiceLink(signed(de)); err != nil || l != de {
			t.Errorf("ParseInvoiceLink = %+v, %v; want %+v", l, err, de)
		}
	})
	t.Run("expires after 24 hours", func(t *testing.T) {
		e.clock.Set(t0.Add(24*time.Hour - time.Second))
		if _, err := e.bot.ParseInvoiceLink(tok); err != nil {
			t.Errorf("a second before it expires: %v", err)
		}
		e.clock.Set(t0.Add(24 * time.Hour))
		if l, err := e.bot.ParseInvoiceLink(tok); !errors.Is(err, commands.ErrInvoiceLinkExpired) || l.Org != "T1" {
			t.Errorf("when it expires: %+v, %v; want ErrInvoiceLinkExpired with the link", l, err)
		}
	})
	t.Run("short key", func(t *testing.T) {
		if _, err := commands.New(e.st, e.cat, nil, commands.Config{SecretKey: []byte("short")}); err == nil {
			t.Error("New takes a secret key of 5 bytes")
		}
	})
}

// TestInvoiceDocument: a link's invoice as a PDF, in the link's language,
// with the billing profile (made in English, named in the link's language), the
// seller and the test-mode mark; an invoice
// that is not the link's user's is refused like a forged link.
func TestInvoiceDocument(t *testing.T) {
	e := newEnv(t, withKey, func(c *commands.Config) {
		c.Operator = commands.Operator{Name: "Contoso Software GmbH", Address: "Hauptstraße 1\n10115 Berlin"}
	})
	e.buyer(alice)
	e.buy(alice, "visio-plan-2", 5)
	inv := e.invoices(alice)[0]
	link := func(w who, id, lang string) commands.InvoiceLink {
		return commands.InvoiceLink{Org: w.org, User: w.m.ID, Invoice: id, Lang: lang, Expires: t0.Add(time.Hour)}
	}
	for _, tt := range []struct {
		lang string
		want []string
	}{
		{"en", []string{"Contoso Software GmbH", "Hauptstraße 1", "Invoice", inv.ID, "Billing profile", "Nov 25, 2026",
			"Visio Plan 2", "€12.60", "€63.00", "Purchase", "Paid", "Test mode — no real money", "No VAT is charged."}},
		{"de", []string{"Contoso Software GmbH", "Rechnung", inv.ID, "Abrechnungsprofil", "25.11.2026",
			"12,60 €", "63,00 €", "Kauf", "Bezahlt", "Testmodus – kein echtes Geld", "Es wird keine Umsatzsteuer berechnet."}},
	} {
		t.Run(tt.lang, func(t *testing.T) {
			d, err := e.bot.InvoiceDocument(t.Context(), link(alice, inv.ID, tt.lang))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := d.Filename(), "invoice-"+inv.ID+".pdf"; got != want {
				t.Errorf("filename %q, want %q", got, want)
			}
			var buf bytes.Buffer
			if err := d.WritePDF(&buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
				t.Fatalf("not a PDF: %.20q", buf.Bytes())
			}
			text := pdftest.Text(t, buf.Bytes())
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the PDF lacks %q; its text:\n%s", w, text)
				}
			}
		})
	}
	for _, tt := range []struct {
		name string
		l    commands.InvoiceLink
	}{
		{"another user's invoice", link(bob, inv.ID, "en")},
		{"another organization", link(zoe, inv.ID, "en")},
		{"no such invoice", link(alice, "20261125-NOTTHERE", "en")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.bot.InvoiceDocument(t.Context(), tt.l); !errors.Is(err, commands.ErrInvoiceLink) {
				t.Errorf("InvoiceDocument = %v, want ErrInvoiceLink", err)
			}
		})
	}
	t.Run("redis down", func(t *testing.T) {
		e.mr.Close()
		if _, err := e.bot.InvoiceDocument(t.Context(), link(alice, inv.ID, "en")); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("InvoiceDocument = %v, want store.ErrUnavailable", err)
		}
	})
}
