package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/store"
)

// Buying and trying products.

// pickProduct finds the product a command line names among those that pass
// keep, or returns the answer to give instead (a choice, or why none).
func (c *call) pickProduct(words []string, keep func(catalog.Product) bool, cmd, rest string) (catalog.Product, *Response) {
	query := strings.Join(words, " ")
	var matches []catalog.Product
	for _, p := range c.b.catalog.Find(query) {
		if keep(p) {
			matches = append(matches, p)
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], nil
	case len(matches) == 0:
		r := c.fail(c.t.T("ErrNoProduct", "Query", shown(query)))
		r.Messages[0].Buttons = []Button{{Label: c.t.T("BtnCatalog"), Command: "catalog"}}
		return catalog.Product{}, &r
	}
	msg := Message{Text: c.t.T("ChooseProduct", "Query", shown(query))}
	for i, p := range matches {
		if i == 20 {
			break
		}
		msg.Buttons = append(msg.Buttons, Button{Label: p.Name, Command: strings.TrimSpace(cmd + " " + p.ID + " " + rest)})
	}
	return catalog.Product{}, &Response{Messages: []Message{msg}}
}

func anyProduct(catalog.Product) bool { return true }

// count reads a license count typed on a command line or in a form, or
// says what is wrong with it.
func (c *call) count(s string, least, most int) (int, string) {
	n, ok := parseCount(s)
	if !ok || n < least || n > most {
		return 0, c.t.T("ErrWholeNumber", "Min", c.t.Num(least), "Max", c.t.Num(most))
	}
	return n, ""
}

func buyCmd(c *call) Response {
	words, countArg := splitCount(c.args)
	if p, ok := c.b.catalog.Exact(strings.Join(c.args, " ")); ok {
		words, countArg = []string{p.ID}, "" // "Project Plan 3" is a name, not a count of 3
	}
	var p catalog.Product
	if len(words) > 0 {
		var r *Response
		if p, r = c.pickProduct(words, anyProduct, "buy", countArg); r != nil {
			return *r
		}
	}
	n := 1
	if countArg != "" {
		most := c.b.maxLicenses()
		if p.ID != "" {
			most = p.MaxLicenses
		}
		var msg string
		if n, msg = c.count(countArg, 1, most); msg != "" {
			return c.fail(msg)
		}
	}
	return Response{Form: c.buyForm(p, n)}
}

func (c *call) buyForm(p catalog.Product, n int) *Form {
	f := c.newForm(FormBuy, "TitleBuy", "BtnBuyNow")
	products := make([]Option, 0, len(c.b.catalog.Products))
	for i, q := range c.b.catalog.Products {
		if i == 100 {
			break
		}
		products = append(products, Option{Value: q.ID, Label: q.Name})
	}
	most, least := c.b.maxLicenses(), 1
	if p.ID != "" {
		most = p.MaxLicenses
	}
	if tr, ok := c.ownTrial(p.ID); ok {
		// Buying a trial keeps its assignments: at least that many licenses.
		least = max(tr.AssignedCount, 1)
		n = max(n, least)
	}
	f.Inputs = []Input{
		{ID: "product", Kind: KindSelect, Label: c.t.T("FieldProduct"), Required: true, Options: products, Value: nonEmpty(p.ID)},
		{ID: "licenses", Kind: KindNumber, Label: c.t.T("FieldLicenses"), Required: true, Min: least, Max: most,
			Value: []string{strconv.Itoa(n)}},
		{ID: "period", Kind: KindSelect, Label: c.t.T("FieldPeriod"), Required: true, Value: []string{string(store.Monthly)},
			Options: []Option{{string(store.Monthly), c.t.T("PeriodMonthly")}, {string(store.Annual), c.t.T("PeriodAnnual")}}},
	}
	methods := c.methodOptions()
	if len(methods) == 0 {
		f.Inputs = append(f.Inputs, Input{ID: "method", Kind: KindInfo, Label: c.t.T("FieldMethod"), Text: c.t.T("NoMethods")})
	} else {
		f.Inputs = append(f.Inputs, Input{ID: "method", Kind: KindSelect, Label: c.t.T("FieldMethod"), Required: true,
			Options: methods, Value: []string{methods[0].Value}})
	}
	if p.ID != "" {
		text := c.t.T("PricePreview", "Monthly", c.t.Money(p.Price(1), p.Currency), "Annual", c.t.Money(p.Price(12), p.Currency),
			"Licenses", c.t.N("Licenses", n), "Total", c.t.Money(p.Price(1)*int64(n), p.Currency))
		if tr, ok := c.ownTrial(p.ID); ok {
			text += "\n" + c.t.T("ConvertsTrial", "Assigned", c.t.N("Users", tr.AssignedCount))
		}
		f.Inputs = append(f.Inputs, Input{ID: "price", Kind: KindInfo, Label: c.t.T("FieldPrice"), Text: text})
	}
	return f
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// ownTrial finds the user's running trial of a product.
func (c *call) ownTrial(productID string) (store.Subscription, bool) {
	for _, s := range c.view.Subs {
		if s.ProductID == productID && s.Status == store.StatusTrial && s.Purchaser.ID == c.req.User.ID {
			return s, true
		}
	}
	return store.Subscription{}, false
}

func buySubmit(c *call) Response {
	errs := c.checked
	p, ok := c.b.catalog.Get(c.value("product"))
	if !ok {
		errs.add("product", c.t.T("ErrChooseProduct"))
		p.MaxLicenses = c.b.maxLicenses()
	}
	n, msg := c.count(c.value("licenses"), 1, p.MaxLicenses)
	if msg != "" {
		errs.add("licenses", msg)
	}
	period := store.Period(c.value("period"))
	if !period.Valid() {
		errs.add("period", c.t.T("ErrChoosePeriod"))
	}
	trial, converting := c.ownTrial(p.ID)
	if converting && msg == "" && n < trial.AssignedCount {
		errs.add("licenses", c.t.T("ErrBelowAssigned", "Assigned", c.t.N("Licenses", trial.AssignedCount)))
	}
	method, profile, ok := c.view.Billing.Method(c.value("method"))
	switch {
	case !ok:
		errs.add("method", c.t.T("ErrMethodRequired"))
	case method.Expired(c.now):
		errs.add("method", c.t.T("ErrMethodExpired", "Method", methodLabel(method)))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}

	unit := p.Price(period.Months())
	sub := store.Subscription{
		ID: store.NewID(), Org: c.req.Org, ProductID: p.ID, ProductName: p.Name,
		Purchaser: store.Member{ID: c.req.User.ID, Name: c.req.User.Name}, SelfService: true,
		Status: store.StatusPending, Total: n, Period: period, UnitPrice: unit, Currency: p.Currency,
		ProfileID: profile.ID, MethodID: method.ID,
		PurchasedAt: c.now, RenewsAt: c.now.AddDate(0, period.Months(), 0),
	}
	grant := &store.Grant{Kind: store.GrantPurchase}
	if converting {
		sub.ID, sub.Assigned, sub.AssignedCount, sub.TrialEnd = trial.ID, trial.Assigned, trial.AssignedCount, trial.TrialEnd
		grant = &store.Grant{Kind: store.GrantConversion, Fields: []string{
			"status", string(store.StatusActive), "total", strconv.Itoa(n), "period", string(period),
			"price", strconv.FormatInt(unit, 10), "cur", p.Currency, "profile", profile.ID, "method", method.ID,
			"purchased", strconv.FormatInt(c.now.Unix(), 10), "renews", strconv.FormatInt(sub.RenewsAt.Unix(), 10)}}
	}
	inv := c.invoice(sub, store.InvoiceLine{Product: p.Name, Quantity: n, UnitPrice: unit, Amount: unit * int64(n), Kind: "purchase"})
	inv.Grant = grant
	// The renewal is scheduled now; it does nothing unless the payment
	// made the subscription active.
	jobs := []store.Job{{Kind: store.JobRenewal, Org: sub.Org, SubID: sub.ID, Due: sub.RenewsAt}, chargeJob(inv, c.now)}
	text := c.t.T("BuyPending", "Licenses", c.t.N("Licenses", n), "Product", p.Name,
		"Price", c.t.Money(inv.Total, p.Currency), "Period", c.period(period), "Method", methodLabel(method), "Invoice", inv.ID)
	if converting {
		text = c.t.T("ConvertPending", "Product", p.Name, "Assigned", c.t.N("Users", trial.AssignedCount)) + "\n" + text
	}
	resp := Response{Messages: []Message{{Title: c.t.T("TitlePaymentPending"), Text: text + c.testNote(),
		Buttons: []Button{{Label: c.t.T("BtnProducts"), Command: "products"}, c.invoiceButton(inv)}}}}
	var res store.Result
	var err error
	switch {
	case inv.Status == store.InvoicePaid:
		// Nothing to pay: granted at once.
		sub.Status, inv.Grant = store.StatusActive, nil
		kind := NotePurchase
		if converting {
			kind = NoteConversion
		}
		resp.Messages[0].Title = c.t.T("TitleBought")
		resp.Messages[0].Buttons = []Button{{Label: c.t.T("BtnAssign"), Command: "assign " + sub.ID, Style: StylePrimary}, c.invoiceButton(inv)}
		resp.Messages[0].Text = c.t.T("Bought", "Licenses", c.t.N("Licenses", n), "Product", p.Name,
			"Price", c.t.Money(0, p.Currency), "Period", c.period(period), "Date", c.t.Date(sub.RenewsAt))
		once := c.once(resp, c.note(kind, sub, 0))
		if converting {
			res, err = c.b.store.ConvertTrial(c.ctx, once, sub, inv, jobs[0])
		} else {
			res, err = c.b.store.CreateSubscription(c.ctx, once, sub, &inv, jobs[0])
		}
	case converting:
		res, err = c.b.store.AddInvoice(c.ctx, c.once(resp), inv, jobs...)
	default:
		res, err = c.b.store.CreateSubscription(c.ctx, c.once(resp), sub, &inv, jobs...)
	}
	switch {
	case errors.Is(err, store.ErrBelowAssigned):
		return Response{FieldErrors: fieldErrors{"licenses": c.t.T("ErrBelowAssigned", "Assigned", c.t.N("Licenses", trial.AssignedCount))}}
	case errors.Is(err, store.ErrNotTrial), errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPermission):
		return Response{FieldErrors: fieldErrors{"product": c.t.T("ErrTrialGone")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// chargeJob collects an invoice's payment right away, outside the request:
// a slow payment provider never delays the answer, and a failed charge is
// retried or reported to the purchaser by the scheduler.
func chargeJob(inv store.Invoice, now time.Time) store.Job {
	return store.Job{Kind: store.JobCharge, Org: inv.Org, SubID: inv.SubID, Due: now, Invoice: inv.ID}
}

// invoice starts an invoice with one line for a subscription's purchaser:
// open until charged, or paid when there is nothing to pay.
func (c *call) invoice(s store.Subscription, line store.InvoiceLine) store.Invoice {
	status := store.InvoiceOpen
	if line.Amount == 0 {
		status = store.InvoicePaid
	}
	return store.Invoice{
		ID: invoiceID(c.now), Org: s.Org, User: s.Purchaser.ID, ProfileID: s.ProfileID, SubID: s.ID,
		Date: c.now, Lines: []store.InvoiceLine{line}, Total: line.Amount, Currency: s.Currency, Status: status,
		Method: s.MethodID, Test: c.b.TestMode(),
	}
}

// invoiceID is an invoice number: the date and a random part.
func invoiceID(now time.Time) string {
	return now.Format("20060102") + "-" + strings.ToUpper(store.NewID()[:8])
}

// note describes a change of a subscription for admins.
func (c *call) note(kind NotificationKind, s store.Subscription, before int) Notification {
	return Notification{
		Org: s.Org, Kind: kind, Key: fmt.Sprintf("%s:%s:%s", kind, s.ID, c.req.IdempotencyKey),
		Sub: NotifiedSub{ID: s.ID, ProductID: s.ProductID, Product: s.ProductName, Purchaser: s.Purchaser.Name, Licenses: s.Total, Before: before,
			Price: s.UnitPrice * int64(s.Total), Currency: s.Currency, Period: string(s.Period), Expires: s.EndsAt(),
			Reason: s.CancelReason},
	}
}

func trialCmd(c *call) Response {
	offered := func(p catalog.Product) bool { return p.HasTrial() }
	var p catalog.Product
	if len(c.args) > 0 {
		var r *Response
		if p, r = c.pickProduct(c.args, anyProduct, "trial", ""); r != nil {
			return *r
		}
		if !p.HasTrial() {
			return c.fail(c.t.T("ErrNoTrialOffer", "Product", p.Name))
		}
		if _, used := c.view.Trials[p.ID]; used {
			return c.fail(c.t.T("ErrTrialUsed", "Product", p.Name))
		}
	}
	var opts []Option
	var info []string
	for _, q := range c.b.catalog.Products {
		if _, used := c.view.Trials[q.ID]; !offered(q) || used {
			continue
		}
		opts = append(opts, Option{Value: q.ID, Label: q.Name})
		info = append(info, c.t.T("TrialLine", "Product", q.Name, "Days", c.t.N("Days", q.TrialDays),
			"Licenses", c.t.N("Licenses", q.TrialLicenses)))
	}
	if len(opts) == 0 {
		return c.fail(c.t.T("NoTrials"))
	}
	if len(opts) > 100 {
		opts, info = opts[:100], info[:100]
	}
	f := c.newForm(FormTrial, "TitleTrial", "BtnStartTrial")
	if p.ID != "" {
		info = []string{c.t.T("TrialLine", "Product", p.Name, "Days", c.t.N("Days", p.TrialDays),
			"Licenses", c.t.N("Licenses", p.TrialLicenses))}
	}
	f.Inputs = []Input{
		{ID: "product", Kind: KindSelect, Label: c.t.T("FieldProduct"), Required: true, Options: opts, Value: nonEmpty(p.ID)},
		{ID: "info", Kind: KindInfo, Label: c.t.T("FieldTrialOffer"), Text: strings.Join(info, "\n") + "\n" + c.t.T("TrialNoPayment")},
	}
	return Response{Form: f}
}

func trialSubmit(c *call) Response {
	errs := c.checked
	p, ok := c.b.catalog.Get(c.value("product"))
	switch {
	case !ok:
		errs.add("product", c.t.T("ErrChooseProduct"))
	case !p.HasTrial():
		errs.add("product", c.t.T("ErrNoTrialOffer", "Product", p.Name))
	default:
		if _, used := c.view.Trials[p.ID]; used {
			errs.add("product", c.t.T("ErrTrialUsed", "Product", p.Name))
		}
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	end := c.now.AddDate(0, 0, p.TrialDays)
	sub := store.Subscription{
		ID: store.NewID(), Org: c.req.Org, ProductID: p.ID, ProductName: p.Name,
		Purchaser: store.Member{ID: c.req.User.ID, Name: c.req.User.Name}, SelfService: true,
		Status: store.StatusTrial, Total: p.TrialLicenses, UnitPrice: p.Price(1), Currency: p.Currency,
		PurchasedAt: c.now, TrialEnd: end,
	}
	jobs := []store.Job{{Kind: store.JobTrialEnd, Org: sub.Org, SubID: sub.ID, Due: end}}
	for _, days := range trialReminderDays {
		if at := end.AddDate(0, 0, -days); at.After(c.now) {
			jobs = append(jobs, store.Job{Kind: store.JobTrialReminder, Org: sub.Org, SubID: sub.ID, Due: at})
		}
	}
	resp := Response{Messages: []Message{{Title: c.t.T("TitleTrialStarted"),
		Text: c.t.T("TrialStarted", "Product", p.Name, "Licenses", c.t.N("Licenses", p.TrialLicenses), "Date", c.t.Date(end)),
		Buttons: []Button{{Label: c.t.T("BtnAssign"), Command: "assign " + sub.ID, Style: StylePrimary},
			{Label: c.t.T("BtnBuy"), Command: "buy " + p.ID}}}}}
	res, err := c.b.store.CreateSubscription(c.ctx, c.once(resp, c.note(NoteTrial, sub, 0)), sub, nil, jobs...)
	switch {
	case errors.Is(err, store.ErrTrialUsed):
		return Response{FieldErrors: fieldErrors{"product": c.t.T("ErrTrialUsed", "Product", p.Name)}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}
