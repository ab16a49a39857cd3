package commands

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/billingbot/billingbot/store"
)

// Form ids.
const (
	FormBuy      = "buy"
	FormTrial    = "trial"
	FormLicenses = "licenses"
	FormAssign   = "assign"
	FormUnassign = "unassign"
	FormCancel   = "cancel"
	FormInvoices = "invoices"
	FormPayment  = "payment"
	// FormRemoveMethod confirms the removal of a payment method.
	FormRemoveMethod = "remove-method"
)

// form routes a submitted form to its handler.
type form struct {
	view   func(*Submission, time.Time) store.ViewOptions
	submit func(*call) Response
	// draft answers Submission.Draft: the form for the values so far.
	draft func(*call) Response
}

func (b *Bot) formHandlers() map[string]form {
	trials := func(*Submission, time.Time) store.ViewOptions {
		return store.ViewOptions{TrialProducts: b.trialProducts()}
	}
	return map[string]form{
		FormBuy:          {submit: buySubmit, draft: buyDraft},
		FormTrial:        {view: trials, submit: trialSubmit},
		FormLicenses:     {submit: licensesSubmit, draft: licensesDraft},
		FormAssign:       {submit: assignSubmit},
		FormUnassign:     {submit: unassignSubmit},
		FormCancel:       {submit: cancelSubmit},
		FormInvoices:     {view: invoicesFormView, submit: invoicesSubmit},
		FormPayment:      {submit: paymentSubmit},
		FormRemoveMethod: {submit: removeSubmit},
		FormDecline:      {submit: declineSubmit},
		FormHandover:     {submit: handoverSubmit},
	}
}

// newForm starts a form with its localized title and buttons.
func (c *call) newForm(id, title, submit string) *Form {
	return &Form{ID: id, Title: c.t.T(title), Submit: c.t.T(submit), Close: c.t.T("BtnClose")}
}

// withoutFormatChars is a submission whose values hold no characters shown
// as nothing but those written text needs (stripFromValue); s itself, the
// adapter's, is not changed.
func withoutFormatChars(s *Submission) *Submission {
	var values map[string][]string
	for id, vals := range s.Values {
		for i, v := range vals {
			clean := stripFromValue(v)
			if clean == v {
				continue
			}
			if values == nil {
				values = make(map[string][]string, len(s.Values))
				for id, vals := range s.Values {
					values[id] = slices.Clone(vals)
				}
			}
			values[id][i] = clean
		}
	}
	if values == nil {
		return s
	}
	c := *s
	c.Values = values
	return &c
}

// value is a submitted input's first value, trimmed.
func (c *call) value(id string) string { return strings.TrimSpace(c.req.Form.Value(id)) }

// values are a submitted input's values, trimmed, without blanks and repeats.
func (c *call) values(id string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range c.req.Form.Values[id] {
		v = strings.TrimSpace(v)
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// fieldErrors collects the broken rules of a submission.
type fieldErrors map[string]string

func (e fieldErrors) add(id, msg string) {
	if _, ok := e[id]; !ok {
		e[id] = msg
	}
}

// checkValues refuses values that no input of any form takes: card
// numbers, overlong text or control characters (checkText). Bot.handle
// runs it on every submitted value of every form, before the form's own
// rules, which start from what it found (call.checked). It reports whether
// a value holds a card number.
func (c *call) checkValues(errs fieldErrors) (card bool) {
	for id, vals := range c.req.Form.Values {
		for _, v := range vals {
			most := 200
			if id == "feedback" || id == "address" {
				most = 1000
			}
			if msg := checkText(c.t, v, most); msg != "" {
				// A card number's warning wins over another value's
				// problem in the same input.
				if HoldsCardNumber(v) {
					errs[id], card = msg, true
				} else {
					errs.add(id, msg)
				}
			}
		}
	}
	if utf8.RuneCountInString(c.req.Form.Context) > MaxContext {
		errs.add("_form", c.t.T("ErrBadRequest"))
	}
	return card
}

// ownSub finds the user's subscription a form names in input id, keeping
// only those that pass keep.
func (c *call) ownSub(id string, keep func(store.Subscription) bool, errs fieldErrors) (store.Subscription, bool) {
	v := c.value(id)
	if v == "" {
		v = c.req.Form.Context
	}
	for _, s := range c.view.Subs {
		if s.ID != v {
			continue
		}
		switch {
		case s.Purchaser.ID != c.req.User.ID:
			errs.add(id, c.t.T("ErrNotPurchaser", "Product", s.ProductName, "Purchaser", s.Purchaser.Name))
		case !keep(s):
			errs.add(id, c.notLive(s))
		default:
			return s, true
		}
		return s, false
	}
	errs.add(id, c.t.T("ErrChooseSubscription"))
	return store.Subscription{}, false
}

// subOptions lists subscriptions for a select input.
func (c *call) subOptions(subs []store.Subscription) []Option {
	opts := make([]Option, 0, len(subs))
	for i, s := range subs {
		if i == 100 {
			break
		}
		opts = append(opts, Option{Value: s.ID, Label: c.subLabel(s)})
	}
	return opts
}

// subInput is the subscription select of a form, with s chosen.
func (c *call) subInput(candidates []store.Subscription, s store.Subscription) Input {
	return Input{ID: "subscription", Kind: KindSelect, Label: c.t.T("FieldSubscription"), Required: true,
		Options: c.subOptions(candidates), Value: []string{s.ID}}
}

// splitCount takes a trailing number off a command line's words.
func splitCount(words []string) ([]string, string) {
	if n := len(words); n > 0 && isNumber(words[n-1]) {
		return words[:n-1], words[n-1]
	}
	return words, ""
}
