package commands

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// Setting the total number of licenses.

func licensesCmd(c *call) Response {
	words, total := splitCount(c.args)
	s, r := c.pickSub(words, c.own(live), "licenses", total)
	if r != nil {
		return *r
	}
	if s.Status == store.StatusTrial {
		return Response{Messages: []Message{{Text: c.t.T("ErrTrialLicenses", "Product", s.ProductName),
			Buttons: []Button{{Label: c.t.T("BtnBuy"), Command: "buy " + s.ProductID, Style: StylePrimary}}}}}
	}
	if total != "" {
		if _, msg := c.total(s, total); msg != "" {
			return c.fail(msg)
		}
	} else {
		total = strconv.Itoa(s.Renewing())
	}
	return Response{Form: c.licensesForm(s, total)}
}

// licensesForm is the licenses form of s holding total as typed, with
// what the new total costs when it follows the rules.
func (c *call) licensesForm(s store.Subscription, total string) *Form {
	f := c.newForm(FormLicenses, "TitleLicenses", "BtnSave")
	f.Context = s.ID
	current := c.t.T("LicensesNow", "Total", c.t.N("Licenses", s.Total), "Assigned", c.t.Num(s.AssignedCount), "Price", c.price(s))
	if s.NextTotal > 0 {
		current += "\n" + c.t.T("LicensesNext", "Total", c.t.N("Licenses", s.NextTotal), "Date", c.t.Date(s.RenewsAt))
	}
	current += "\n" + c.t.T("LicensesHint", "Price", c.perPeriod(c.t.Money(s.UnitPrice, s.Currency), s.Period),
		"Date", c.t.Date(s.RenewsAt), "Example", c.t.Num(s.Total+5))
	in := c.subInput(c.own(active), s)
	in.Dispatch = true
	// What the subscription has, and what the new total costs, come
	// before the total they explain.
	f.Inputs = []Input{
		in,
		{ID: "current", Kind: KindInfo, Label: c.t.T("FieldCurrent"), Text: current},
	}
	if n, msg := c.newTotal(s, total); msg == "" {
		q := c.licensesQuote(s, n)
		label := c.t.T("FieldPrice") // of the licenses added
		if n <= s.Total {
			label = c.t.T("FieldChange") // nothing is bought
		}
		f.Inputs = append(f.Inputs, Input{ID: "price", Kind: KindInfo, Label: label, Text: q.text})
		f.Submit, f.Context = q.yes, withDigest(s.ID, q.digest())
	}
	f.Inputs = append(f.Inputs, Input{ID: "total", Kind: KindNumber, Label: c.t.T("FieldTotal"), Required: true,
		Min: max(s.AssignedCount, 1), Max: c.productMax(s), Value: nonEmpty(total), Dispatch: true})
	return f
}

// total reads a new total of licenses for s, or says what is wrong with
// it and why: below the licenses assigned, above the product's maximum,
// not a whole number from the least to the most it may be.
func (c *call) total(s store.Subscription, text string) (int, string) {
	least, most := max(s.AssignedCount, 1), c.productMax(s)
	n, ok := parseCount(text)
	switch {
	case ok && n > most:
		return 0, c.t.T("ErrMaxLicenses", "Product", s.ProductName, "Max", c.t.N("Licenses", most))
	case ok && n < s.AssignedCount:
		return 0, c.t.T("ErrBelowAssigned", "Assigned", c.t.N("Licenses", s.AssignedCount))
	case !ok || n < least:
		return 0, c.t.T("ErrWholeNumber", "Min", c.t.Num(least), "Max", c.t.Num(most))
	}
	return n, ""
}

// productMax is the most licenses a subscription's product allows.
func (c *call) productMax(s store.Subscription) int {
	if p, ok := c.b.catalog.Get(s.ProductID); ok {
		return p.MaxLicenses
	}
	return c.b.maxLicenses()
}

// newTotal reads a new total for s, or says what is wrong with it.
func (c *call) newTotal(s store.Subscription, typed string) (int, string) {
	total, msg := c.total(s, typed)
	switch {
	case msg != "":
		return 0, msg
	case total == s.Renewing():
		return 0, c.t.T("ErrSameTotal", "Total", c.t.N("Licenses", total))
	}
	return total, ""
}

// licensesQuote is what changing s to total licenses costs. More licenses
// are billed now for the rest of the period; fewer take effect when it
// ends: nothing is refunded, and the next periods cost less.
func (c *call) licensesQuote(s store.Subscription, total int) quote {
	q := quote{
		key:      []string{FormLicenses, s.ID, strconv.Itoa(total), strconv.Itoa(s.Total), strconv.Itoa(s.NextTotal)},
		currency: s.Currency, next: s.UnitPrice * int64(total), nextAt: s.RenewsAt, period: s.Period,
	}
	money := func(v int64) string { return c.t.Money(v, s.Currency) }
	now := money(s.UnitPrice * int64(s.Renewing()))
	var lines []string
	switch {
	case total > s.Total:
		added := total - s.Total
		days, periodDays := remainingDays(c.now, s)
		q.today = prorate(s.UnitPrice*int64(added), days, periodDays)
		lines = append(lines, c.t.T("QuoteMore", "Added", c.t.N("Licenses", added), "Product", s.ProductName, "Total", c.t.N("Licenses", total)),
			c.t.T("QuoteProrated", "Amount", money(q.today), "Days", c.t.Num(days), "Length", c.t.Num(periodDays), "Date", c.t.Date(s.RenewsAt)))
		if s.NextTotal > 0 {
			lines = append(lines, c.t.T("QuoteWithdrawn", "Total", c.t.N("Licenses", s.NextTotal), "Date", c.t.Date(s.RenewsAt)))
		}
	case total < s.Total:
		lines = append(lines, c.t.T("QuoteFewer", "Product", s.ProductName, "Total", c.t.N("Licenses", total), "Date", c.t.Date(s.RenewsAt)),
			c.t.T("QuoteNoRefund", "Now", c.t.N("Licenses", s.Total), "Total", c.t.Num(total), "Date", c.t.Date(s.RenewsAt)))
	default: // back to the total it has: the reduction is withdrawn
		lines = append(lines, c.t.T("QuoteKeep", "Product", s.ProductName, "Total", c.t.N("Licenses", total),
			"Next", c.t.N("Licenses", s.NextTotal), "Date", c.t.Date(s.RenewsAt)), c.t.T("QuoteNothingToday"))
	}
	lines = append(lines, c.t.T("QuoteNextChange", "Price", c.perPeriod(money(q.next), s.Period), "Date", c.t.Date(s.RenewsAt), "Now", now))
	q.text = strings.Join(lines, "\n")
	switch {
	case q.today > 0:
		q.yes = c.t.T("BtnPay", "Amount", money(q.today))
	case total < s.Total:
		q.yes = c.t.T("BtnReduce", "Total", c.t.N("Licenses", total))
	default:
		q.yes = c.t.T("BtnSave")
	}
	return q
}

func licensesDraft(c *call) Response {
	s, ok := c.ownSub("subscription", live, fieldErrors{})
	if !ok || s.Status == store.StatusTrial {
		return c.fail(c.t.T("ErrStale"))
	}
	return Response{Form: c.licensesForm(s, c.value("total"))}
}

func licensesSubmit(c *call) Response {
	errs := c.checked
	s, ok := c.ownSub("subscription", live, errs)
	if ok && s.Status == store.StatusTrial {
		errs.add("subscription", c.t.T("ErrTrialLicenses", "Product", s.ProductName))
		ok = false
	}
	total := 0
	if ok {
		var msg string
		if total, msg = c.newTotal(s, c.value("total")); msg != "" {
			errs.add("total", msg)
		}
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	typed := c.value("total")
	q := c.licensesQuote(s, total)
	if r, over := c.capped(q, "total"); over {
		return r
	}
	if r, ok := c.confirmFirst(q, func() *Form { return c.licensesForm(s, typed) }); !ok {
		return r
	}
	if added := total - s.Total; added > 0 {
		if r, held := c.held(q, monthly(s, added), s.ProductName, func() quote { return c.licensesQuote(s, total) }); held {
			return r
		}
	}
	if total > s.Total && q.today > 0 {
		// Added licenses are billed for the rest of the period, and added
		// once paid.
		days, periodDays := remainingDays(c.now, s)
		return c.buyLicenses(s, total-s.Total, q.today, days, periodDays)
	}
	changed := s
	changed.Total = total
	var text string
	var notes []Notification
	var apply func(store.Once) (store.Result, error)
	switch {
	case total > s.Total:
		// Free: nothing to pay, or none of the period is left (the
		// pending renewal bills them).
		text = c.t.T("LicensesSet", "Product", s.ProductName, "Total", c.t.N("Licenses", total),
			"Before", c.t.Num(s.Total), "Price", c.price(changed))
		notes = []Notification{c.note(NoteLicenses, changed, s.Total)}
		apply = func(o store.Once) (store.Result, error) {
			return c.b.store.SetLicenses(c.ctx, o, c.req.Org, c.req.User.ID, s.ID, total, s.Total)
		}
	case total < s.Total:
		text = c.t.T("LicensesScheduled", "Product", s.ProductName, "Total", c.t.N("Licenses", total), "Date", c.t.Date(s.RenewsAt),
			"Now", c.t.N("Licenses", s.Total), "Price", c.price(changed))
		notes = []Notification{c.note(NoteLicenses, changed, s.Total)}
		apply = func(o store.Once) (store.Result, error) {
			return c.b.store.ScheduleLicenses(c.ctx, o, c.req.Org, c.req.User.ID, s.ID, total, s.Total, s.NextTotal)
		}
	default:
		text = c.t.T("LicensesKept", "Product", s.ProductName, "Total", c.t.N("Licenses", total), "Price", c.price(changed))
		apply = func(o store.Once) (store.Result, error) {
			return c.b.store.ScheduleLicenses(c.ctx, o, c.req.Org, c.req.User.ID, s.ID, 0, s.Total, s.NextTotal)
		}
	}
	resp := Response{Messages: []Message{{Title: c.t.T("TitleLicensesSet"), Text: text}}}
	res, err := apply(c.once(resp, notes...))
	switch {
	case errors.Is(err, store.ErrBelowAssigned):
		return Response{FieldErrors: fieldErrors{"total": c.t.T("ErrBelowAssignedNow")}}
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrPermission):
		return Response{FieldErrors: fieldErrors{"subscription": c.t.T("ErrStale")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// buyLicenses bills added licenses for the rest of the period; they are
// added when the payment has gone through.
func (c *call) buyLicenses(s store.Subscription, added int, amount int64, days, periodDays int) Response {
	inv := c.invoice(s, store.InvoiceLine{Product: s.ProductName, Quantity: added, UnitPrice: s.UnitPrice,
		Amount: amount, Kind: "licenses", Days: days, PeriodDays: periodDays})
	inv.Grant = &store.Grant{Kind: store.GrantLicenses, Added: added}
	method := c.t.T("FieldMethod")
	if m, _, ok := c.view.Billing.Method(s.MethodID); ok {
		method = methodLabel(m)
	}
	text := c.t.T("LicensesPending", "Product", s.ProductName, "Added", c.t.N("Licenses", added),
		"Total", c.t.N("Licenses", s.Total+added), "Amount", c.t.Money(amount, s.Currency),
		"Date", c.t.Date(s.RenewsAt), "Method", method, "Invoice", inv.ID)
	resp := Response{Messages: []Message{{Title: c.t.T("TitlePaymentPending"), Text: text + c.testNote(),
		Buttons: []Button{c.invoiceButton(inv)}}}}
	res, err := c.b.store.AddInvoice(c.ctx, c.once(resp), inv, chargeJob(inv, c.now))
	switch {
	case errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrPermission), errors.Is(err, store.ErrNotFound):
		return Response{FieldErrors: fieldErrors{"subscription": c.t.T("ErrStale")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// remainingDays is how many days of the subscription's current period are
// left (today counts) and how long the period is.
func remainingDays(now time.Time, s store.Subscription) (days, periodDays int) {
	start := s.RenewsAt.AddDate(0, -s.Period.Months(), 0)
	periodDays = int(s.RenewsAt.Sub(start).Hours()/24 + 0.5)
	days = int((s.RenewsAt.Sub(now).Hours() + 23.999) / 24)
	if days > periodDays {
		days = periodDays
	}
	if days < 0 {
		days = 0
	}
	return days, max(periodDays, 1)
}

// prorate is amount × days / periodDays, rounded half up.
func prorate(amount int64, days, periodDays int) int64 {
	return (amount*int64(days)*2 + int64(periodDays)) / (2 * int64(periodDays))
}
