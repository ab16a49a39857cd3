package invoicedoc_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/commands/invoicedoc"
	"github.com/billingbot/billingbot/commands/invoicedoc/pdftest"
	"github.com/billingbot/billingbot/locales"
	"github.com/billingbot/billingbot/store"
)

// keep writes each test's PDF into this directory, to look at them
// (pdftoppm -png -r 60 FILE out).
var keep = flag.String("keep", "", "write the rendered PDFs into this `directory`")

// texts are the words of locales/*.toml, as the core gives them.
type texts struct {
	lang string
	loc  *i18n.Localizer
}

func newTexts(t *testing.T, lang string) texts {
	t.Helper()
	b, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	return texts{lang: lang, loc: i18n.NewLocalizer(b, lang)}
}

func (x texts) T(id string, kv ...any) string { return x.localize(id, nil, kv) }

func (x texts) N(id string, n int, kv ...any) string {
	return x.localize(id, n, append(kv, "Count", format.Number(x.lang, int64(n))))
}

func (x texts) localize(id string, n any, kv []any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i].(string)] = kv[i+1]
	}
	s, err := x.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: n})
	if err != nil {
		return "[" + id + "]"
	}
	return s
}

// invoice has three lines, one of each kind, that add up to 1,234.56 EUR:
// a purchase, added licenses prorated for 12 of 31 days, a renewal.
var invoice = store.Invoice{
	ID: "20261205-AB12CD34", Org: "T1", User: "U1", ProfileID: "default",
	Date: time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC),
	Lines: []store.InvoiceLine{
		{Product: "Visio Plan 2", Quantity: 5, UnitPrice: 1260, Amount: 6300, Kind: "purchase"},
		{Product: "Project Plan 3", Quantity: 3, UnitPrice: 2530, Amount: 2938, Kind: "licenses", Days: 12, PeriodDays: 31},
		{Product: "Power BI Pro für Büros", Quantity: 2, UnitPrice: 57109, Amount: 114218, Kind: "renewal"},
	},
	Total: 123456, Currency: "EUR", Status: store.InvoicePaid,
}

var seller = invoicedoc.Party{Name: "Müller & Söhne GmbH", Address: "Königstraße 5\n80331 München"}

// render writes a document and returns the PDF and its text.
func render(t *testing.T, d invoicedoc.Document) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := invoicedoc.Write(&buf, d, newTexts(t, d.Lang)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	pdf := buf.Bytes()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 20)])
	}
	if *keep != "" {
		name := strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + ".pdf"
		if err := os.WriteFile(filepath.Join(*keep, name), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return pdf, pdftest.Text(t, pdf)
}

// wantLines fails unless the text has a line matching each pattern (in
// which runs of spaces stand for the gaps between columns).
func wantLines(t *testing.T, text string, patterns ...string) {
	t.Helper()
	for _, p := range patterns {
		re := regexp.MustCompile(`(?m)` + strings.ReplaceAll(regexp.QuoteMeta(p), "  ", `\s{2,}`))
		if !re.MatchString(text) {
			t.Errorf("the PDF's text has no line like %q; it is:\n%s", p, text)
		}
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		doc     invoicedoc.Document
		want    []string // lines, columns separated by two spaces
		notWant []string
	}{
		{
			name: "en",
			doc:  invoicedoc.Document{Invoice: invoice, Lang: "en", Seller: seller, Customer: "Jürgen Weiß", Status: "paid"},
			want: []string{
				"Müller & Söhne GmbH", "Invoice",
				"Königstraße 5", "80331 München",
				"Bill to", "Jürgen Weiß",
				"Invoice number  20261205-AB12CD34",
				"Invoice date  Dec 5, 2026",
				"Currency  EUR",
				"Payment status  Paid",
				"Description  Quantity  Unit price  Amount",
				"Visio Plan 2  5  €12.60  €63.00",
				"Purchase",
				"Project Plan 3  3  €25.30  €29.38",
				"Additional licenses · prorated for 12 of 31 days",
				"Power BI Pro für Büros  2  €571.09  €1,142.18",
				"Renewal",
				"Total  €1,234.56",
				"No VAT is charged.",
				"Page 1 of 1",
			},
			notWant: []string{"Test mode"},
		},
		{
			name: "de",
			doc:  invoicedoc.Document{Invoice: invoice, Lang: "de", Seller: seller, Customer: "Jürgen Weiß", Status: "bezahlt"},
			want: []string{
				"Müller & Söhne GmbH", "Rechnung",
				"Königstraße 5", "80331 München",
				"Rechnungsempfänger", "Jürgen Weiß",
				"Rechnungsnummer  20261205-AB12CD34",
				"Rechnungsdatum  05.12.2026",
				"Währung  EUR",
				"Zahlungsstatus  Bezahlt",
				"Beschreibung  Menge  Einzelpreis  Betrag",
				"Visio Plan 2  5  12,60 €  63,00 €",
				"Kauf",
				"Project Plan 3  3  25,30 €  29,38 €",
				"Zusätzliche Lizenzen · anteilig für 12 von 31 Tagen",
				"Power BI Pro für Büros  2  571,09 €  1.142,18 €",
				"Verlängerung",
				"Gesamtbetrag  1.234,56 €",
				"Es wird keine Umsatzsteuer berechnet.",
				"Seite 1 von 1",
			},
			notWant: []string{"Testmodus"},
		},
		{
			name: "en test mode",
			doc: invoicedoc.Document{Invoice: invoice, Lang: "en", Seller: invoicedoc.Party{Name: "billingbot"},
				Customer: "Default", Status: "open", TestMode: true},
			want: []string{"Test mode — no real money", "billingbot", "Invoice", "Payment status  Open", "Total  €1,234.56"},
		},
		{
			name: "de test mode",
			doc: invoicedoc.Document{Invoice: invoice, Lang: "de", Seller: invoicedoc.Party{Name: "billingbot"},
				Customer: "Standard", Status: "Zahlung fehlgeschlagen", TestMode: true},
			want: []string{"Testmodus – kein echtes Geld", "Zahlungsstatus  Zahlung fehlgeschlagen", "Gesamtbetrag  1.234,56 €"},
		},
		{
			name: "no profile name",
			doc:  invoicedoc.Document{Invoice: invoice, Lang: "en", Seller: seller, Status: "paid"},
			want: []string{"Bill to", "default"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, text := render(t, tt.doc)
			wantLines(t, text, tt.want...)
			for _, s := range tt.notWant {
				if strings.Contains(text, s) {
					t.Errorf("the PDF's text has %q; it is:\n%s", s, text)
				}
			}
		})
	}
}

// TestWriteManyLines: lines that do not fit on one page continue on the
// next, under the column headers again, and the total comes after the last.
func TestWriteManyLines(t *testing.T) {
	inv := invoice
	inv.Lines, inv.Total = nil, 0
	for i := range 40 {
		inv.Lines = append(inv.Lines, store.InvoiceLine{Product: "Product number " + strings.Repeat("long name ", i%4) + string(rune('A'+i%26)),
			Quantity: 1000 + i, UnitPrice: 100, Amount: int64(1000+i) * 100, Kind: "renewal"})
		inv.Total += int64(1000+i) * 100
	}
	_, text := render(t, invoicedoc.Document{Invoice: inv, Lang: "de", Seller: seller, Customer: "Jürgen Weiß", Status: "offen"})
	pages := strings.Split(strings.TrimRight(text, "\f"), "\f")
	if len(pages) < 2 {
		t.Fatalf("40 lines on %d page(s), want at least 2:\n%s", len(pages), text)
	}
	for i, p := range pages {
		wantLines(t, p, "Beschreibung  Menge  Einzelpreis  Betrag", "Seite "+format.Number("de", int64(i+1))+" von "+format.Number("de", int64(len(pages))))
	}
	wantLines(t, pages[len(pages)-1], "Gesamtbetrag  "+format.Money("de", inv.Total, "EUR"))
	wantLines(t, text, "Product number A  1.000  1,00 €  1.000,00 €", "1.039  1,00 €  1.039,00 €")
}
