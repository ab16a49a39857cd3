package commands

import (
	"strings"

	"github.com/billingbot/billingbot/store"
)

// Helpers that find and describe subscriptions.

// own returns the user's subscriptions that pass keep.
func (c *call) own(keep func(store.Subscription) bool) []store.Subscription {
	var out []store.Subscription
	for _, s := range c.view.Subs {
		if s.Purchaser.ID == c.req.User.ID && keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func live(s store.Subscription) bool   { return s.Live() }
func active(s store.Subscription) bool { return s.Status == store.StatusActive }

// pickSub finds the subscription a command means: by id or product name
// prefix among candidates; with no words, the only candidate. When it cannot
// decide it returns the answer to give instead: a choice of buttons running
// cmd with each candidate, or why nothing matched.
func (c *call) pickSub(words []string, candidates []store.Subscription, cmd string, rest string) (store.Subscription, *Response) {
	query := strings.TrimSpace(strings.Join(words, " "))
	var matches []store.Subscription
	if query == "" {
		matches = candidates
		if len(matches) == 0 {
			r := c.fail(c.t.T("ErrNoCandidates"))
			return store.Subscription{}, &r
		}
	} else {
		for _, s := range candidates {
			if s.ID == query {
				return s, nil
			}
		}
		// An id of a subscription the user cannot change here: say why.
		if s, ok := c.subscription(query); ok {
			r := c.fail(c.notLive(s))
			if s.Purchaser.ID != c.req.User.ID {
				r = c.fail(c.t.T("ErrNotPurchaser", "Product", s.ProductName, "Purchaser", s.Purchaser.Name))
			}
			return store.Subscription{}, &r
		}
		q := strings.ToLower(query)
		for _, s := range candidates {
			if nameMatches(s.ProductName, q) || strings.HasPrefix(s.ProductID, q) {
				matches = append(matches, s)
			}
		}
		if len(matches) == 0 {
			r := c.fail(c.noSubMatch(query, q, cmd))
			return store.Subscription{}, &r
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	msg := Message{Text: c.t.T("ChooseSubscription")}
	for i, s := range matches {
		if i == 20 {
			break
		}
		msg.Buttons = append(msg.Buttons, Button{
			Label:   c.subLabel(s),
			Command: strings.TrimSpace(cmd + " " + s.ID + " " + rest),
		})
	}
	return store.Subscription{}, &Response{Messages: []Message{msg}}
}

// noSubMatch says why no candidate matches the query q (lower case): the
// user has none of that name, or has one that the command cannot act on
// now ("unassign visio" when nobody is assigned a license of it).
func (c *call) noSubMatch(query, q, cmd string) string {
	for _, s := range c.own(live) {
		if nameMatches(s.ProductName, q) || strings.HasPrefix(s.ProductID, q) {
			if cmd == "unassign" {
				return c.t.T("ErrNobodyAssigned", "Product", s.ProductName)
			}
			return c.t.T("ErrSubNotApplicable", "Product", s.ProductName)
		}
	}
	return c.t.T("ErrNoSubMatch", "Query", shown(query))
}

// subscription finds a subscription of the organization by id: in the view,
// else (someone else's, named by an admin who read its id in the overview)
// in the store.
func (c *call) subscription(id string) (store.Subscription, bool) {
	for _, s := range c.view.Subs {
		if s.ID == id {
			return s, true
		}
	}
	if !store.ValidID(id) {
		return store.Subscription{}, false
	}
	s, err := c.b.store.Subscription(c.ctx, c.req.Org, id)
	return s, err == nil
}

// nameMatches reports whether the name or one of its words starts with q
// (lower case).
func nameMatches(name, q string) bool {
	n := strings.ToLower(name)
	if strings.HasPrefix(n, q) {
		return true
	}
	for _, w := range strings.Fields(n) {
		if strings.HasPrefix(w, q) {
			return true
		}
	}
	return false
}

// subLabel names a subscription in a list: product, licenses and the date
// it was bought (which tells two of the same product apart).
func (c *call) subLabel(s store.Subscription) string {
	return c.t.T("SubLabel", "Product", s.ProductName, "Licenses", c.t.N("Licenses", s.Total),
		"Date", c.t.Date(s.PurchasedAt))
}

// notLive says why a subscription cannot be changed.
func (c *call) notLive(s store.Subscription) string {
	if s.Status == store.StatusPending {
		return c.t.T("ErrPending", "Product", s.ProductName)
	}
	return c.t.T("ErrNotLive", "Product", s.ProductName, "Status", c.status(s))
}

func (c *call) status(s store.Subscription) string {
	switch s.Status {
	case store.StatusTrial:
		return c.t.T("StatusTrial")
	case store.StatusActive:
		return c.t.T("StatusActive")
	case store.StatusCanceled:
		return c.t.T("StatusCanceled")
	case store.StatusPending:
		return c.t.T("StatusPending")
	}
	return c.t.T("StatusExpired")
}

// perPeriod is an amount for each period: "€63.00 per month", "€1,518.00
// per year". (PeriodMonthly and PeriodAnnual name a period as a choice
// does, "Monthly", and do not follow an amount.)
func (c *call) perPeriod(amount string, p store.Period) string {
	if p == store.Annual {
		return c.t.T("PriceAnnual", "Amount", amount)
	}
	return c.t.T("PriceMonthly", "Amount", amount)
}

// perLicense is a unit price for each license and period: "€12.60 per
// license per month".
func (c *call) perLicense(amount string, p store.Period) string {
	if p == store.Annual {
		return c.t.T("UnitPriceAnnual", "Amount", amount)
	}
	return c.t.T("UnitPriceMonthly", "Amount", amount)
}

// price says what a subscription costs per period, or that a trial is free.
func (c *call) price(s store.Subscription) string {
	if s.Status == store.StatusTrial || s.Period == "" {
		return c.t.T("PriceFree")
	}
	return c.perPeriod(c.t.Money(s.UnitPrice*int64(s.Total), s.Currency), s.Period)
}

// priceNow is what the subscription costs, and from when it costs less
// when the purchaser reduced its licenses for the next period.
func (c *call) priceNow(s store.Subscription) string {
	if s.Status != store.StatusActive || s.NextTotal <= 0 || s.NextTotal == s.Total {
		return c.price(s)
	}
	next := s
	next.Total = s.NextTotal
	return c.t.T("PriceThen", "Price", c.price(s), "Date", c.t.Date(s.RenewsAt),
		"Total", c.t.N("Licenses", s.NextTotal), "Next", c.price(next))
}

// expiry says until when the subscription runs, or when it renews or
// starts, with a label that fits what it says.
func (c *call) expiry(s store.Subscription) Field {
	switch s.Status {
	case store.StatusActive:
		return Field{c.t.T("FieldRenews"), c.t.Date(s.RenewsAt)}
	case store.StatusPending:
		return Field{c.t.T("FieldStarts"), c.t.T("StartsWhenPaid")}
	}
	return Field{c.t.T("FieldExpires"), c.t.Date(s.EndsAt())}
}

// term says in a few words what expiry says with its label, for a
// table's cell: when the subscription renews, ends or starts.
func (c *call) term(s store.Subscription) string {
	switch s.Status {
	case store.StatusActive:
		return c.t.T("TermRenews", "Date", c.t.Date(s.RenewsAt))
	case store.StatusPending:
		return c.t.T("TermStarts")
	case store.StatusExpired:
		return c.t.T("TermEnded", "Date", c.t.Date(s.EndsAt()))
	}
	return c.t.T("TermEnds", "Date", c.t.Date(s.EndsAt()))
}

// assignedNames lists who holds licenses, or says nobody.
func (c *call) assignedNames(s store.Subscription) string {
	if s.AssignedCount == 0 {
		return c.t.T("NobodyAssigned")
	}
	const most = 20
	names := make([]string, 0, most)
	for i, m := range s.Assigned {
		if i == most {
			break
		}
		names = append(names, m.Name)
	}
	list := strings.Join(names, ", ")
	if more := s.AssignedCount - len(names); more > 0 {
		list += " " + c.t.N("AndMore", more)
	}
	return list
}

// subFields describes a subscription as a list of fields.
func (c *call) subFields(s store.Subscription, withPurchaser bool) []Field {
	f := []Field{
		{c.t.T("FieldStatus"), c.status(s)},
		{c.t.T("FieldLicenses"), c.t.T("AssignedOf", "Assigned", c.t.Num(s.AssignedCount), "Total", c.t.Num(s.Total))},
		c.expiry(s),
		{c.t.T("FieldPrice"), c.priceNow(s)},
	}
	if withPurchaser {
		f = append([]Field{{c.t.T("FieldPurchaser"), s.Purchaser.Name}}, f...)
	}
	return append(f, Field{c.t.T("FieldAssignedUsers"), c.assignedNames(s)})
}
