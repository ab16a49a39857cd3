package commands

import (
	"slices"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/store"
)

// Invoices by date range.

// dateRange is an inclusive range of days; months is 3 or 6 for the preset
// ranges and 0 for a custom one.
type dateRange struct {
	from, to time.Time
	months   int
}

// rangeError says which input of the range is wrong and why (a message id
// with its data).
type rangeError struct {
	field string
	msg   string
	kv    []any
}

func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func lastMonths(now time.Time, months int) dateRange {
	return dateRange{from: addMonths(dayStart(now), -months), to: dayStart(now), months: months}
}

// addMonths is the day n calendar months after t, the month's last day when
// it is shorter (29 Feb 2024 + 24 months is 28 Feb 2026, not 1 Mar).
func addMonths(t time.Time, n int) time.Time {
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(t.Day(), last), 0, 0, 0, 0, time.UTC)
}

// parseRange reads "3m", "6m" or "FROM TO" (dates as 2026-11-25 or 25.11.2026).
func parseRange(args []string, now time.Time) (dateRange, *rangeError) {
	if len(args) == 0 {
		return lastMonths(now, 3), nil
	}
	if len(args) == 1 {
		if n, ok := monthsWord(args[0]); ok {
			return lastMonths(now, n), nil
		}
	}
	if len(args) != 2 {
		return dateRange{}, &rangeError{field: "range", msg: "ErrRangeArgs"}
	}
	return customRange(args[0], args[1], now)
}

// monthsWord reads a range of the last months: "3m" or "6m" (also "3",
// "3mo", …).
func monthsWord(w string) (int, bool) {
	switch strings.ToLower(w) {
	case "3m", "3", "3mo":
		return 3, true
	case "6m", "6", "6mo":
		return 6, true
	}
	return 0, false
}

// customRange checks a range typed or picked by the user.
func customRange(fromS, toS string, now time.Time) (dateRange, *rangeError) {
	from, err := format.ParseDate(fromS)
	if err != nil {
		return dateRange{}, &rangeError{field: "from", msg: "ErrBadDate", kv: []any{"Date", shown(fromS)}}
	}
	to, err := format.ParseDate(toS)
	if err != nil {
		return dateRange{}, &rangeError{field: "to", msg: "ErrBadDate", kv: []any{"Date", shown(toS)}}
	}
	switch {
	case from.After(dayStart(now)):
		return dateRange{}, &rangeError{field: "from", msg: "ErrFutureFrom"}
	case from.After(to):
		return dateRange{}, &rangeError{field: "to", msg: "ErrFromAfterTo"}
	case to.After(addMonths(from, 24)):
		return dateRange{}, &rangeError{field: "to", msg: "ErrRangeTooLong"}
	}
	return dateRange{from: from, to: to}, nil
}

// view reads one page of the range's invoices.
func (r dateRange) view(page int) store.ViewOptions {
	return store.ViewOptions{InvoicesFrom: r.from, InvoicesTo: r.to.Add(24*time.Hour - time.Second),
		InvoicesPage: page, MaxInvoices: invoicesPageSize}
}

func invoicesView(args []string, now time.Time) store.ViewOptions {
	page, args, _, ok := pageArg(args)
	if !ok || len(args) == 1 && isRangeWord(args[0]) {
		return store.ViewOptions{}
	}
	r, err := parseRange(args, now)
	if err != nil {
		return store.ViewOptions{}
	}
	return r.view(page)
}

func isRangeWord(w string) bool {
	w = strings.ToLower(w)
	return w == "range" || w == "zeitraum"
}

func invoicesCmd(c *call) Response {
	_, args, bad, ok := pageArg(c.args) // the view read the page
	if !ok {
		return c.badPage(bad)
	}
	if len(args) == 1 && isRangeWord(args[0]) {
		return Response{Form: c.rangeForm()}
	}
	r, err := parseRange(args, c.now)
	if err != nil {
		return Response{Messages: []Message{{Text: c.t.T(err.msg, err.kv...) + "\n" + c.t.T("RangeUsage"),
			Buttons: []Button{{Label: c.t.T("BtnRange"), Command: "invoices range"}}}}}
	}
	return c.invoiceList(r)
}

func (c *call) rangeForm() *Form {
	f := c.newForm(FormInvoices, "TitleInvoices", "BtnShow")
	f.Inputs = []Input{
		{ID: "range", Kind: KindSelect, Label: c.t.T("FieldRange"), Required: true, Value: []string{"3m"},
			Options: []Option{{"3m", c.t.T("Range3")}, {"6m", c.t.T("Range6")}, {"custom", c.t.T("RangeCustom")}}},
		{ID: "from", Kind: KindDate, Label: c.t.T("FieldFrom"), Hint: c.t.T("HintDate")},
		{ID: "to", Kind: KindDate, Label: c.t.T("FieldTo"), Hint: c.t.T("HintDate")},
	}
	return f
}

// formRange reads the range form.
func formRange(s *Submission, now time.Time) (dateRange, *rangeError) {
	switch s.Value("range") {
	case "3m":
		return lastMonths(now, 3), nil
	case "6m":
		return lastMonths(now, 6), nil
	case "custom":
		from, to := strings.TrimSpace(s.Value("from")), strings.TrimSpace(s.Value("to"))
		if from == "" {
			return dateRange{}, &rangeError{field: "from", msg: "ErrDateRequired"}
		}
		if to == "" {
			return dateRange{}, &rangeError{field: "to", msg: "ErrDateRequired"}
		}
		return customRange(from, to, now)
	}
	return dateRange{}, &rangeError{field: "range", msg: "ErrChooseRange"}
}

func invoicesFormView(s *Submission, now time.Time) store.ViewOptions {
	r, err := formRange(s, now)
	if err != nil {
		return store.ViewOptions{}
	}
	return r.view(1)
}

func invoicesSubmit(c *call) Response {
	errs := c.checked
	r, err := formRange(c.req.Form, c.now)
	if err != nil {
		errs.add(err.field, c.t.T(err.msg, err.kv...))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	resp := c.invoiceList(r)
	resp.Query = true
	return resp
}

// invoiceList shows the invoices the view read for a range.
func (c *call) invoiceList(r dateRange) Response {
	var title string
	switch r.months {
	case 3:
		title = c.t.T("Range3")
	case 6:
		title = c.t.T("Range6")
	default:
		title = c.t.T("RangeFromTo", "From", c.t.Date(r.from), "To", c.t.Date(r.to))
	}
	m := Message{Title: c.t.T("InvoicesTitle", "Range", title),
		Buttons: []Button{{Label: c.t.T("Range3"), Command: "invoices 3m"}, {Label: c.t.T("Range6"), Command: "invoices 6m"},
			{Label: c.t.T("BtnRange"), Command: "invoices range"}}}
	if len(c.view.Invoices) == 0 {
		// A longer range where there is one, never the range shown (a
		// list's own range button goes back to its first page; here it
		// would show the same nothing again).
		switch r.months {
		case 3:
			m.Text, m.Buttons = c.t.T("NoInvoices"), m.Buttons[1:]
		case 6:
			m.Text, m.Buttons = c.t.T("NoInvoicesLonger"), slices.Delete(m.Buttons, 1, 2)
		default:
			m.Text = c.t.T("NoInvoicesOther")
		}
		return Response{Messages: []Message{m}}
	}
	m.Text = c.t.N("InvoicesCount", c.view.InvoicesTotal)
	c.pageControls(&m, r.line(), c.view.InvoicesPage, c.view.InvoicesTotal, invoicesPageSize)
	// A download button for each invoice of the page, newest first, in
	// the rows below the range and page buttons.
	for i, inv := range c.view.Invoices {
		b := c.invoiceButton(inv)
		b.NewRow = i == 0
		m.Buttons = append(m.Buttons, b)
	}
	m.Table = &Table{Columns: []string{c.t.T("ColDate"), c.t.T("ColInvoice"), c.t.T("ColProduct"), c.t.T("ColAmount"), c.t.T("ColStatus")}}
	test := c.b.TestMode()
	for _, inv := range c.view.Invoices {
		test = test || inv.Test
		products := make([]string, len(inv.Lines))
		for i, l := range inv.Lines {
			products[i] = c.t.T("InvoiceLine", "Product", l.Product, "Quantity", c.t.N("Licenses", l.Quantity))
		}
		m.Table.Rows = append(m.Table.Rows, []string{c.t.Date(inv.Date), inv.ID, strings.Join(products, "; "),
			c.t.Money(inv.Total, inv.Currency), c.invoiceStatus(inv.Status)})
	}
	if test {
		m.Text += "\n" + c.t.T("TestMode")
	}
	return Response{Messages: []Message{m}}
}

func (c *call) invoiceStatus(s store.InvoiceStatus) string {
	switch s {
	case store.InvoicePaid:
		return c.t.T("InvoicePaid")
	case store.InvoiceFailed:
		return c.t.T("InvoiceFailed")
	case store.InvoiceAction:
		return c.t.T("InvoiceAction")
	case store.InvoiceVoid:
		return c.t.T("InvoiceVoid")
	case store.InvoiceRefunded:
		return c.t.T("InvoiceRefunded")
	case store.InvoiceDisputed:
		return c.t.T("InvoiceDisputed")
	}
	return c.t.T("InvoiceOpen")
}
