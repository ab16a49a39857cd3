package commands

import (
	"errors"
	"strconv"
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
	most := c.productMax(s)
	initial := s.Total
	if total != "" {
		var msg string
		if initial, msg = c.total(s, total); msg != "" {
			return c.fail(msg)
		}
	}
	f := c.newForm(FormLicenses, "TitleLicenses", "BtnSave")
	f.Context = s.ID
	f.Inputs = []Input{
		c.subInput(c.own(active), s),
		{ID: "current", Kind: KindInfo, Label: c.t.T("FieldCurrent"), Text: c.t.T("LicensesNow",
			"Total", c.t.N("Licenses", s.Total), "Assigned", c.t.Num(s.AssignedCount), "Price", c.price(s)) + "\n" +
			c.t.T("LicensesHint", "Unit", c.t.Money(s.UnitPrice, s.Currency), "Period", c.period(s.Period),
				"Date", c.t.Date(s.RenewsAt), "Example", c.t.Num(s.Total+5))},
		{ID: "total", Kind: KindNumber, Label: c.t.T("FieldTotal"), Required: true,
			Min: max(s.AssignedCount, 1), Max: most, Value: []string{strconv.Itoa(initial)}},
	}
	return Response{Form: f}
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

func licensesSubmit(c *call) Response {
	errs := c.checked
	s, ok := c.ownSub("subscription", live, errs)
	if ok && s.Status == store.StatusTrial {
		errs.add("subscription", c.t.T("ErrTrialLicenses", "Product", s.ProductName))
		ok = false
	}
	total, msg := 0, ""
	if ok {
		total, msg = c.total(s, c.value("total"))
		switch {
		case msg != "":
			errs.add("total", msg)
		case total == s.Total:
			errs.add("total", c.t.T("ErrSameTotal", "Total", c.t.N("Licenses", total)))
		}
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	// Added licenses are billed for the rest of the period, and added once
	// paid; nothing is billed when none of the period is left (the pending
	// renewal bills them) or they are free.
	days, periodDays := remainingDays(c.now, s)
	if added := total - s.Total; added > 0 {
		if amount := prorate(s.UnitPrice*int64(added), days, periodDays); amount > 0 {
			return c.buyLicenses(s, added, amount, days, periodDays)
		}
	}
	before := s.Total
	s.Total = total
	text := c.t.T("LicensesSet", "Product", s.ProductName, "Total", c.t.N("Licenses", total),
		"Before", c.t.Num(before), "Price", c.price(s))
	resp := Response{Messages: []Message{{Title: c.t.T("TitleLicensesSet"), Text: text}}}
	res, err := c.b.store.SetLicenses(c.ctx, c.once(resp, c.note(NoteLicenses, s, before)), c.req.Org, c.req.User.ID, s.ID, total, before)
	switch {
	case errors.Is(err, store.ErrBelowAssigned):
		return Response{FieldErrors: fieldErrors{"total": c.t.T("ErrBelowAssignedNow")}}
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrPermission):
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
