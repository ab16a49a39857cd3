package commands

import (
	"errors"
	"fmt"
	"slices"
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
		if r, refused := c.refuseNotOffered(words, false); refused {
			return r
		}
		var r *Response
		if p, r = c.pickProduct(words, c.offered(false), "buy", countArg); r != nil {
			return *r
		}
	} else if !slices.ContainsFunc(c.b.catalog.Products, c.offered(false)) {
		return c.fail(c.t.T("PolicyNothingToBuy"))
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
	typed, raised := n, false
	if tr, ok := c.ownTrial(p.ID); ok && n < tr.AssignedCount {
		// Buying a trial keeps its assignments: at least that many licenses.
		n, raised = tr.AssignedCount, countArg != ""
	}
	ch := purchase{product: p.ID, count: strconv.Itoa(n), period: string(store.Monthly)}
	if methods := c.methodOptions(); len(methods) > 0 {
		ch.method = methods[0].Value
	}
	f := c.buyForm(ch)
	if raised {
		// The count typed is not the form's: say why.
		for i, in := range f.Inputs {
			if in.ID == "licenses" {
				f.Inputs[i].Hint = c.t.T("BuyRaisedToAssigned", "Count", c.t.Num(n), "Typed", c.t.Num(typed))
			}
		}
	}
	return Response{Form: f}
}

// purchase is what the buy form holds, as typed or chosen.
type purchase struct{ product, count, period, method string }

// purchaseOf reads the buy form's values.
func (c *call) purchaseOf() purchase {
	return purchase{product: c.value("product"), count: c.value("licenses"), period: c.value("period"), method: c.value("method")}
}

// order is a purchase that follows the rules: what it buys and how it is
// paid.
type order struct {
	product    catalog.Product
	n          int
	period     store.Period
	method     store.PaymentMethod
	profile    store.BillingProfile
	trial      store.Subscription
	converting bool
}

// order checks a purchase, adding what is wrong to errs.
func (c *call) order(ch purchase, errs fieldErrors) order {
	var o order
	p, ok := c.b.catalog.Get(ch.product)
	if !ok {
		errs.add("product", c.t.T("ErrChooseProduct"))
		p.MaxLicenses = c.b.maxLicenses()
	} else if !c.policy(p).Allows(false) {
		errs.add("product", c.notOffered(p, false))
	}
	o.product = p
	n, msg := c.count(ch.count, 1, p.MaxLicenses)
	if msg != "" {
		errs.add("licenses", msg)
	}
	o.n = n
	o.period = store.Period(ch.period)
	if !o.period.Valid() {
		errs.add("period", c.t.T("ErrChoosePeriod"))
	}
	o.trial, o.converting = c.ownTrial(p.ID)
	if o.converting && msg == "" && n < o.trial.AssignedCount {
		errs.add("licenses", c.t.T("ErrBelowAssigned", "Assigned", c.t.N("Licenses", o.trial.AssignedCount)))
	}
	method, profile, ok := c.view.Billing.Method(ch.method)
	switch {
	case !ok:
		errs.add("method", c.t.T("ErrMethodRequired"))
	case method.Expired(c.now):
		errs.add("method", c.t.T("ErrMethodExpired", "Method", methodLabel(method)))
	}
	o.method, o.profile = method, profile
	return o
}

// quote is what the order costs: a period starts today, paid up front.
func (c *call) quote(o order) quote {
	p := o.product
	unit := p.Price(o.period.Months())
	total := unit * int64(o.n)
	q := quote{
		key:      []string{FormBuy, p.ID, strconv.Itoa(o.n), string(o.period), o.method.ID, o.trial.ID},
		currency: p.Currency, today: total, next: total, nextAt: c.now.AddDate(0, o.period.Months(), 0), period: o.period,
	}
	lines := []string{
		c.t.T("QuoteBuy", "Licenses", c.t.N("Licenses", o.n), "Product", p.Name, "Unit", c.perLicense(c.t.Money(unit, p.Currency), o.period)),
		c.t.T("QuoteToday", "Amount", c.t.Money(q.today, q.currency), "Date", c.t.Date(q.nextAt)),
		c.t.T("QuoteNext", "Price", c.perPeriod(c.t.Money(q.next, q.currency), o.period), "Date", c.t.Date(q.nextAt)),
	}
	switch {
	case o.converting && o.trial.AssignedCount == 0:
		lines = append(lines, c.t.T("QuoteConvertsNone"))
	case o.converting:
		lines = append(lines, c.t.N("QuoteConverts", o.trial.AssignedCount))
	}
	if o.method.ID != "" {
		lines = append(lines, c.t.T("QuoteMethod", "Method", methodLabel(o.method)))
	}
	q.text = strings.Join(lines, "\n")
	q.yes = c.t.T("BtnPay", "Amount", c.t.Money(q.today, q.currency))
	if q.today == 0 {
		q.yes = c.t.T("BtnBuyNow")
	}
	return q
}

// buyForm is the purchase form holding ch, with the price of what it holds
// when that follows the rules.
func (c *call) buyForm(ch purchase) *Form {
	f := c.newForm(FormBuy, "TitleBuy", "BtnBuyNow")
	products := make([]Option, 0, len(c.b.catalog.Products))
	for _, q := range c.b.catalog.Products {
		if len(products) == 100 {
			break
		}
		if c.policy(q).Allows(false) {
			products = append(products, Option{Value: q.ID, Label: q.Name})
		}
	}
	errs := fieldErrors{}
	o := c.order(ch, errs)
	chosen := o.product.ID
	if _, refused := errs["product"]; refused {
		chosen = "" // not among the options
	}
	most, least := c.b.maxLicenses(), 1
	if o.product.ID != "" {
		most = o.product.MaxLicenses
	}
	hint := ""
	if o.converting {
		least = max(o.trial.AssignedCount, 1)
		if least > 1 {
			hint = c.t.T("BuyAtLeastAssigned", "Count", c.t.Num(least))
		}
	}
	period := ch.period
	if !store.Period(period).Valid() {
		period = string(store.Monthly)
	}
	// What it costs, and that there is nothing to pay with, come before
	// the fields they explain.
	methods := c.methodOptions()
	if len(methods) == 0 {
		f.Inputs = append(f.Inputs, Input{ID: "method", Kind: KindInfo, Label: c.t.T("FieldMethod"), Text: c.t.T("NoMethods")})
	}
	delete(errs, "method") // the price does not depend on it
	if len(errs) == 0 {
		q := c.quote(o)
		f.Inputs = append(f.Inputs, Input{ID: "price", Kind: KindInfo, Label: c.t.T("FieldPrice"), Text: q.text})
		f.Submit, f.Context = q.yes, withDigest("", q.digest())
	} else if o.product.ID != "" {
		f.Inputs = append(f.Inputs, Input{ID: "price", Kind: KindInfo, Label: c.t.T("FieldPrice"),
			Text: c.t.T("PricePreview", "Monthly", c.t.Money(o.product.Price(1), o.product.Currency),
				"Annual", c.t.Money(o.product.Price(12), o.product.Currency))})
	}
	f.Inputs = append(f.Inputs,
		Input{ID: "product", Kind: KindSelect, Label: c.t.T("FieldProduct"), Required: true, Options: products, Value: nonEmpty(chosen), Dispatch: true},
		Input{ID: "licenses", Kind: KindNumber, Label: c.t.T("FieldLicenses"), Hint: hint, Required: true, Min: least, Max: most,
			Value: nonEmpty(ch.count), Dispatch: true},
		Input{ID: "period", Kind: KindSelect, Label: c.t.T("FieldPeriod"), Required: true, Value: []string{period}, Dispatch: true,
			Options: []Option{{string(store.Monthly), c.t.T("PeriodMonthly")}, {string(store.Annual), c.t.T("PeriodAnnual")}}},
	)
	if len(methods) > 0 {
		f.Inputs = append(f.Inputs, Input{ID: "method", Kind: KindSelect, Label: c.t.T("FieldMethod"), Required: true,
			Options: methods, Value: nonEmpty(ch.method), Dispatch: true})
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

func buyDraft(c *call) Response { return Response{Form: c.buyForm(c.purchaseOf())} }

func buySubmit(c *call) Response {
	errs := c.checked
	ch := c.purchaseOf()
	o := c.order(ch, errs)
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	q := c.quote(o)
	if r, over := c.capped(q, "licenses"); over {
		return r
	}
	if r, ok := c.confirmFirst(q, func() *Form { return c.buyForm(ch) }); !ok {
		return r
	}
	if r, held := c.held(q, perMonth(q.next, o.period), o.product.Name, func() quote { return c.quote(o) }); held {
		return r
	}
	p, n, period, method, profile, trial, converting := o.product, o.n, o.period, o.method, o.profile, o.trial, o.converting
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
	inv := c.invoice(sub, store.InvoiceLine{Product: p.Name, Quantity: n, UnitPrice: unit, Amount: q.today, Kind: "purchase"})
	inv.Grant = grant
	// The renewal is scheduled now; it does nothing unless the payment
	// made the subscription active.
	jobs := []store.Job{{Kind: store.JobRenewal, Org: sub.Org, SubID: sub.ID, Due: sub.RenewsAt}, chargeJob(inv, c.now),
		unusedJob(sub.Org, sub.ID, c.now.Add(c.b.cfg.UnusedAfter))}
	text := c.t.T("BuyPending", "Licenses", c.t.N("Licenses", n), "Product", p.Name,
		"Price", c.perPeriod(c.t.Money(inv.Total, p.Currency), period), "Method", methodLabel(method), "Invoice", inv.ID)
	if converting {
		text = c.t.N("ConvertPending", trial.AssignedCount, "Product", p.Name, "Assigned", c.t.N("Users", trial.AssignedCount)) + "\n" + text
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
			"Price", c.perPeriod(c.t.Money(0, p.Currency), period), "Date", c.t.Date(sub.RenewsAt))
		once := c.once(resp, c.note(kind, sub, 0))
		once.Policy = policyCheck(p, false)
		if converting {
			res, err = c.b.store.ConvertTrial(c.ctx, once, sub, inv, jobs[0])
		} else {
			res, err = c.b.store.CreateSubscription(c.ctx, once, sub, &inv, jobs[0])
		}
	case converting:
		once := c.once(resp)
		once.Policy = policyCheck(p, false)
		res, err = c.b.store.AddInvoice(c.ctx, once, inv, jobs...)
	default:
		once := c.once(resp)
		once.Policy = policyCheck(p, false)
		res, err = c.b.store.CreateSubscription(c.ctx, once, sub, &inv, jobs...)
	}
	if r, refused := c.policyRefused(err, p); refused {
		return r
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
			Status: string(s.Status),
			Price:  s.UnitPrice * int64(s.Total), Currency: s.Currency, Period: string(s.Period), Expires: s.EndsAt(),
			Reason: s.CancelReason},
	}
}

func trialCmd(c *call) Response {
	offered := func(p catalog.Product) bool { return p.HasTrial() }
	var p catalog.Product
	if len(c.args) > 0 {
		if r, refused := c.refuseNotOffered(c.args, true); refused {
			return r
		}
		var r *Response
		if p, r = c.pickProduct(c.args, c.offered(true), "trial", ""); r != nil {
			return *r
		}
		if !p.HasTrial() {
			return c.fail(c.t.T("ErrNoTrialOffer", "Product", p.Name))
		}
		if s, ok := c.bought(p.ID); ok {
			return c.boughtAlready(s)
		}
		if _, used := c.view.Trials[p.ID]; used {
			return c.fail(c.t.T("ErrTrialUsed", "Product", p.Name))
		}
	}
	var opts []Option
	var info []string
	for _, q := range c.b.catalog.Products {
		if _, used := c.view.Trials[q.ID]; !offered(q) || used || !c.policy(q).Allows(true) {
			continue
		}
		if _, ok := c.bought(q.ID); ok {
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
	// The offers come before the choice of one.
	f.Inputs = []Input{
		{ID: "info", Kind: KindInfo, Label: c.t.T("FieldTrialOffer"), Text: strings.Join(info, "\n") + "\n" + c.t.T("TrialNoPayment")},
		{ID: "product", Kind: KindSelect, Label: c.t.T("FieldProduct"), Required: true, Options: opts, Value: nonEmpty(p.ID)},
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
	case !c.policy(p).Allows(true):
		errs.add("product", c.notOffered(p, true))
	default:
		if _, ok := c.bought(p.ID); ok {
			errs.add("product", c.t.T("ErrTrialBought", "Product", p.Name))
		} else if _, used := c.view.Trials[p.ID]; used {
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
	once := c.once(resp, c.note(NoteTrial, sub, 0))
	once.Policy = policyCheck(p, true)
	res, err := c.b.store.CreateSubscription(c.ctx, once, sub, nil, jobs...)
	if r, refused := c.policyRefused(err, p); refused {
		return r
	}
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

// bought finds the user's subscription of a product that they bought and
// still have (active, canceled until its end, or waiting for its
// payment): a trial of it has nothing left to show them.
func (c *call) bought(productID string) (store.Subscription, bool) {
	for _, s := range c.view.Subs {
		if s.ProductID != productID || s.Purchaser.ID != c.req.User.ID {
			continue
		}
		switch s.Status {
		case store.StatusActive, store.StatusCanceled, store.StatusPending:
			return s, true
		}
	}
	return store.Subscription{}, false
}

// boughtAlready answers a trial of a product the user bought: they have
// it, and can add licenses to it instead.
func (c *call) boughtAlready(s store.Subscription) Response {
	r := c.fail(c.t.T("ErrTrialBought", "Product", s.ProductName))
	if s.Status == store.StatusActive {
		r.Messages[0].Buttons = []Button{{Label: c.t.T("BtnLicenses"), Command: "licenses " + s.ID}}
	}
	return r
}
