// Package invoicedoc renders an invoice as a PDF document: the seller, the
// billing profile it is addressed to, the invoice's number and date, its
// lines with quantities, unit prices and proration periods, the total, the
// currency, the payment status and, in test mode, a mark that no real money
// moved. It writes in the user's language and number format, with the Go
// fonts embedded so that every character of German and English renders.
//
// It knows nothing of HTTP or chat: the core gives it the invoice and the
// words, and it writes the document to an io.Writer.
package invoicedoc

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/store"
)

// Texts gives the document's words in its language: message ids of
// locales/*.toml filled with key/value pairs (the core's translations).
type Texts interface {
	// T returns the text of a message id.
	T(id string, kv ...any) string
	// N returns the plural form of a message id for n, which the
	// template sees as .Count.
	N(id string, n int, kv ...any) string
}

// Party is someone named on an invoice: a name and a postal address, whose
// lines are separated by "\n".
type Party struct {
	Name    string
	Address string
}

// Document is what an invoice's PDF shows.
type Document struct {
	Invoice store.Invoice
	// Lang is "de" or "en": the format of numbers, amounts and dates.
	Lang string
	// Seller is who operates the service and issues the invoice.
	Seller Party
	// Customer is the name of the billing profile the invoice is
	// addressed to.
	Customer string
	// Status is the invoice's payment status as the user reads it.
	Status string
	// TestMode marks a document made while the payment provider was the
	// sandbox: nothing was charged.
	TestMode bool
	// Created is when the document is made (its PDF metadata); zero: now.
	Created time.Time
}

// Filename is the name a downloaded invoice is saved under.
func Filename(inv store.Invoice) string { return "invoice-" + inv.ID + ".pdf" }

// Page geometry and type, in millimetres and points.
const (
	pageW, pageH = 210.0, 297.0 // A4
	margin       = 20.0
	contentW     = pageW - 2*margin
	footerY      = pageH - 14 // the footer's baseline area
	bottom       = pageH - 24 // content ends above this

	family = "go"
)

// The table's columns: description, quantity, unit price, amount.
var cols = [4]float64{contentW - 24 - 33 - 33, 24, 33, 33}

// Colours (RGB).
var (
	ink     = [3]int{33, 37, 41}    // body text
	muted   = [3]int{108, 117, 125} // labels, secondary lines
	rule    = [3]int{206, 212, 218} // lines between rows
	shade   = [3]int{241, 243, 245} // the table header's background
	accent  = [3]int{31, 58, 96}    // the title and the rule under the header
	warnBg  = [3]int{255, 236, 179} // the test-mode banner
	warnInk = [3]int{122, 65, 0}
)

// writer draws one document.
type writer struct {
	pdf *fpdf.Fpdf
	d   Document
	t   Texts
}

// Write renders the document as a PDF to w. Nothing is written when the
// document cannot be made.
func Write(w io.Writer, d Document, t Texts) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	// The page-count alias must come before the fonts: it changes how
	// they are subset.
	pdf.AliasNbPages("{nb}")
	pdf.AddUTF8FontFromBytes(family, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(family, "B", gobold.TTF)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, 0) // rows break pages themselves, whole
	pdf.SetCellMargin(0)
	inv := d.Invoice
	title := t.T("DocTitle") + " " + inv.ID
	pdf.SetTitle(title, true)
	pdf.SetSubject(title, true)
	pdf.SetAuthor(d.Seller.Name, true)
	pdf.SetCreator("billingbot", true)
	if d.Lang == "de" {
		pdf.SetLang("de-DE")
	} else {
		pdf.SetLang("en")
	}
	created := d.Created
	if created.IsZero() {
		created = time.Now()
	}
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)

	dw := &writer{pdf: pdf, d: d, t: t}
	pdf.SetFooterFunc(dw.footer)
	pdf.AddPage()
	dw.header()
	dw.parties()
	dw.lines()
	dw.total()
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("invoice %s: pdf: %w", inv.ID, err)
	}
	return nil
}

func (w *writer) font(style string, size float64, color [3]int) {
	w.pdf.SetFont(family, style, size)
	w.pdf.SetTextColor(color[0], color[1], color[2])
}

func (w *writer) money(minor int64) string {
	return format.Money(w.d.Lang, minor, w.d.Invoice.Currency)
}

// header draws the test-mode banner, the seller and the title.
func (w *writer) header() {
	pdf := w.pdf
	y := margin
	if w.d.TestMode {
		pdf.SetFillColor(warnBg[0], warnBg[1], warnBg[2])
		pdf.SetDrawColor(warnInk[0], warnInk[1], warnInk[2])
		pdf.SetLineWidth(0.3)
		w.font("B", 11, warnInk)
		pdf.SetXY(margin, y)
		pdf.CellFormat(contentW, 9, w.t.T("DocTestMode"), "1", 0, "CM", true, 0, "")
		y += 9 + 8
	}

	// The seller on the left, the title on the right.
	pdf.SetXY(margin, y)
	w.font("B", 13, ink)
	pdf.CellFormat(contentW*0.6, 6, w.d.Seller.Name, "", 0, "LM", false, 0, "")
	w.font("B", 22, accent)
	pdf.SetXY(margin+contentW*0.6, y-1)
	pdf.CellFormat(contentW*0.4, 9, w.t.T("DocTitle"), "", 0, "RM", false, 0, "")
	sy := y + 6.5
	w.font("", 9, muted)
	for _, l := range addressLines(w.d.Seller.Address) {
		for _, part := range pdf.SplitText(l, contentW*0.6) {
			pdf.SetXY(margin, sy)
			pdf.CellFormat(contentW*0.6, 4.4, part, "", 0, "LM", false, 0, "")
			sy += 4.4
		}
	}
	y = max(sy, y+10) + 4
	pdf.SetDrawColor(accent[0], accent[1], accent[2])
	pdf.SetLineWidth(0.6)
	pdf.Line(margin, y, margin+contentW, y)
	pdf.SetY(y + 8)
}

// parties draws who the invoice is addressed to and its particulars:
// number, date, currency and payment status.
func (w *writer) parties() {
	pdf, inv := w.pdf, w.d.Invoice
	top := pdf.GetY()
	half := contentW / 2

	w.font("", 8.5, muted)
	pdf.SetXY(margin, top)
	pdf.CellFormat(half, 4.5, w.t.T("DocBillTo"), "", 0, "LM", false, 0, "")
	w.font("B", 11, ink)
	y := top + 5.5
	customer := w.d.Customer
	if strings.TrimSpace(customer) == "" {
		customer = inv.ProfileID
	}
	for _, l := range pdf.SplitText(customer, half-10) {
		pdf.SetXY(margin, y)
		pdf.CellFormat(half-10, 5.5, l, "", 0, "LM", false, 0, "")
		y += 5.5
	}

	facts := [][2]string{
		{w.t.T("DocNumber"), inv.ID},
		{w.t.T("DocDate"), format.Date(w.d.Lang, inv.Date)},
		{w.t.T("DocCurrency"), inv.Currency},
		{w.t.T("DocStatus"), capitalize(w.d.Status)},
	}
	fy := top
	labelW, valueW := 36.0, half-36
	for _, f := range facts {
		pdf.SetXY(margin+half, fy)
		w.font("", 9, muted)
		pdf.CellFormat(labelW, 5.5, f[0], "", 0, "LM", false, 0, "")
		w.font("B", 9.5, ink)
		pdf.CellFormat(valueW, 5.5, f[1], "", 0, "RM", false, 0, "")
		fy += 5.5
	}
	pdf.SetY(max(y, fy) + 10)
}

// columns is the table's header row.
func (w *writer) columns() {
	pdf := w.pdf
	y := pdf.GetY()
	pdf.SetFillColor(shade[0], shade[1], shade[2])
	pdf.Rect(margin, y, contentW, 8, "F")
	w.font("B", 9, muted)
	names := []string{w.t.T("DocColDescription"), w.t.T("DocColQuantity"), w.t.T("DocColUnitPrice"), w.t.T("DocColAmount")}
	x := margin
	for i, n := range names {
		align := "RM"
		pad := 2.5
		if i == 0 {
			align = "LM"
		}
		pdf.SetXY(x+pad, y)
		pdf.CellFormat(cols[i]-2*pad, 8, n, "", 0, align, false, 0, "")
		x += cols[i]
	}
	pdf.SetY(y + 8)
}

// lines draws the invoice's lines, each a row: the product, why it was
// billed and for how many days of its period, then quantity, unit price
// and amount, right-aligned.
func (w *writer) lines() {
	pdf := w.pdf
	w.columns()
	const pad, lineH, detailH = 2.5, 5.0, 4.2
	for _, l := range w.d.Invoice.Lines {
		w.font("", 10, ink)
		product := pdf.SplitText(l.Product, cols[0]-2*pad)
		w.font("", 8.5, muted)
		var detail []string
		if d := w.detail(l); d != "" {
			detail = pdf.SplitText(d, cols[0]-2*pad)
		}
		h := 3 + float64(len(product))*lineH + float64(len(detail))*detailH + 3
		if pdf.GetY()+h > bottom {
			pdf.AddPage()
			pdf.SetY(margin)
			w.columns()
		}
		y := pdf.GetY()
		ty := y + 3
		w.font("", 10, ink)
		for _, p := range product {
			pdf.SetXY(margin+pad, ty)
			pdf.CellFormat(cols[0]-2*pad, lineH, p, "", 0, "LM", false, 0, "")
			ty += lineH
		}
		w.font("", 8.5, muted)
		for _, p := range detail {
			pdf.SetXY(margin+pad, ty)
			pdf.CellFormat(cols[0]-2*pad, detailH, p, "", 0, "LM", false, 0, "")
			ty += detailH
		}
		w.font("", 10, ink)
		x := margin + cols[0]
		for i, v := range []string{format.Number(w.d.Lang, int64(l.Quantity)), w.money(l.UnitPrice), w.money(l.Amount)} {
			pdf.SetXY(x+pad, y+3)
			pdf.CellFormat(cols[i+1]-2*pad, lineH, v, "", 0, "RM", false, 0, "")
			x += cols[i+1]
		}
		pdf.SetDrawColor(rule[0], rule[1], rule[2])
		pdf.SetLineWidth(0.2)
		pdf.Line(margin, y+h, margin+contentW, y+h)
		pdf.SetY(y + h)
	}
}

// detail says why a line was billed and, for a prorated one, for how many
// days of its period.
func (w *writer) detail(l store.InvoiceLine) string {
	var parts []string
	switch l.Kind {
	case "purchase":
		parts = append(parts, w.t.T("DocKindPurchase"))
	case "renewal":
		parts = append(parts, w.t.T("DocKindRenewal"))
	case "licenses":
		parts = append(parts, w.t.T("DocKindLicenses"))
	}
	if l.PeriodDays > 0 {
		parts = append(parts, w.t.N("DocProrated", l.PeriodDays, "Days", format.Number(w.d.Lang, int64(l.Days))))
	}
	return strings.Join(parts, " · ")
}

// total draws the total and that no VAT is charged.
func (w *writer) total() {
	pdf := w.pdf
	const h = 8.0
	if pdf.GetY()+4+h+10 > bottom {
		pdf.AddPage()
		pdf.SetY(margin)
	}
	y := pdf.GetY() + 4
	x := margin + cols[0]
	width := contentW - cols[0]
	pdf.SetDrawColor(ink[0], ink[1], ink[2])
	pdf.SetLineWidth(0.4)
	pdf.Line(x, y, margin+contentW, y)
	w.font("B", 11, ink)
	pdf.SetXY(x+2.5, y+1)
	pdf.CellFormat(width/2, h, w.t.T("DocTotal"), "", 0, "LM", false, 0, "")
	pdf.SetXY(x+width/2, y+1)
	pdf.CellFormat(width/2-2.5, h, w.money(w.d.Invoice.Total), "", 0, "RM", false, 0, "")
	pdf.SetLineWidth(0.2)
	pdf.Line(x, y+h+2, margin+contentW, y+h+2)
	w.font("", 8.5, muted)
	pdf.SetXY(x+2.5, y+h+3.5)
	pdf.CellFormat(width-5, 4.5, w.t.T("DocNoVAT"), "", 0, "RM", false, 0, "")
	pdf.SetY(y + h + 10)
}

// footer draws each page's foot: seller, invoice number and page, and
// the test-mode mark again.
func (w *writer) footer() {
	pdf := w.pdf
	pdf.SetDrawColor(rule[0], rule[1], rule[2])
	pdf.SetLineWidth(0.2)
	pdf.Line(margin, footerY-2, margin+contentW, footerY-2)
	w.font("", 8, muted)
	left := w.d.Seller.Name + " · " + w.t.T("DocTitle") + " " + w.d.Invoice.ID
	if w.d.TestMode {
		left += " · " + w.t.T("DocTestMode")
	}
	pdf.SetXY(margin, footerY)
	pdf.CellFormat(contentW*0.75, 4, left, "", 0, "LM", false, 0, "")
	pdf.SetXY(margin+contentW*0.75, footerY)
	pdf.CellFormat(contentW*0.25, 4, w.t.T("DocPage", "Page", pdf.PageNo(), "Pages", "{nb}"), "", 0, "RM", false, 0, "")
}

// addressLines splits an address into its lines, dropping blank ones.
func addressLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// capitalize makes the first letter upper case: "paid" is "Paid" on its
// own line.
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
