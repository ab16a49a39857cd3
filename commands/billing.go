package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// Billing accounts, billing profiles and payment methods. Card numbers and
// security codes are never asked in chat: adding or replacing a card goes
// through a single-use link to the payment page; chat edits only the name,
// expiry and address.

// billing is the user's billing document, with a default account and
// profile when they have none yet (saved with their first payment method).
func (c *call) billing() store.Billing {
	b := c.view.Billing
	if len(b.Accounts) == 0 {
		b.Accounts = []store.BillingAccount{{ID: "default", Name: c.t.T("DefaultAccount"),
			Profiles: []store.BillingProfile{{ID: "default", Name: c.t.T("DefaultProfile")}}}}
	}
	return b
}

// methodLabel names a card without its number: "Visa •••• 4242 (12/2028)".
func methodLabel(m store.PaymentMethod) string {
	return fmt.Sprintf("%s •••• %s (%02d/%d)", brandName(m.Brand), m.Last4, m.ExpMonth, m.ExpYear)
}

func brandName(brand string) string {
	switch brand {
	case payment.BrandVisa:
		return "Visa"
	case payment.BrandMastercard:
		return "Mastercard"
	case payment.BrandAmex:
		return "American Express"
	case payment.BrandDiscover:
		return "Discover"
	}
	return "Card"
}

// methodOptions lists the user's usable payment methods for a select.
func (c *call) methodOptions() []Option {
	var opts []Option
	for _, a := range c.view.Billing.Accounts {
		for _, p := range a.Profiles {
			for _, m := range p.Methods {
				if !m.Expired(c.now) {
					opts = append(opts, Option{Value: m.ID, Label: methodLabel(m) + " – " + p.Name})
				}
			}
		}
	}
	return opts
}

func paymentCmd(c *call) Response {
	if len(c.args) == 0 {
		return c.paymentOverview()
	}
	b := c.billing()
	arg := ""
	if len(c.args) > 1 {
		arg = c.args[1]
	}
	switch strings.ToLower(c.args[0]) {
	case "edit", "bearbeiten":
		m, _, ok := b.Method(arg)
		if !ok {
			return c.fail(c.t.T("ErrNoMethod"))
		}
		return Response{Form: c.methodForm(m)}
	case "replace", "ersetzen":
		m, p, ok := b.Method(arg)
		if !ok {
			return c.fail(c.t.T("ErrNoMethod"))
		}
		return c.payLink(p.ID, m.ID)
	case "add", "hinzufuegen", "hinzufügen":
		if arg == "" {
			arg = b.Accounts[0].Profiles[0].ID
		}
		p, ok := b.Profile(arg)
		if !ok {
			return c.fail(c.t.T("ErrNoProfile"))
		}
		return c.payLink(p.ID, "")
	}
	return c.fail(c.t.T("ErrPaymentArgs", "Word", shown(c.args[0])))
}

func (c *call) paymentOverview() Response {
	b := c.billing()
	msgs := []Message{{Title: c.t.T("PaymentTitle"), Text: c.t.T("PaymentIntro")}}
	for _, a := range b.Accounts {
		for _, p := range a.Profiles {
			m := Message{Title: c.t.T("ProfileTitle", "Account", a.Name, "Profile", p.Name)}
			if len(p.Methods) == 0 {
				m.Text = c.t.T("NoMethodsYet")
			}
			for _, pm := range p.Methods {
				state := ""
				if pm.Expired(c.now) {
					state = " – " + c.t.T("MethodExpired")
				}
				m.Fields = append(m.Fields, Field{c.t.T("FieldMethod"), methodLabel(pm) + state + "\n" + pm.Name + "\n" + pm.Address})
				m.Buttons = append(m.Buttons,
					Button{Label: c.t.T("BtnEdit"), Command: "payment edit " + pm.ID},
					Button{Label: c.t.T("BtnReplace"), Command: "payment replace " + pm.ID})
			}
			m.Buttons = append(m.Buttons, Button{Label: c.t.T("BtnAdd"), Command: "payment add " + p.ID, Style: StylePrimary})
			msgs = append(msgs, m)
		}
	}
	return Response{Messages: msgs}
}

// payLink answers with a single-use link to the payment page.
func (c *call) payLink(profileID, methodID string) Response {
	expires := c.now.Add(c.b.cfg.PayLinkTTL)
	token, err := c.b.store.CreatePayLink(c.ctx, store.PayLink{Org: c.req.Org, User: c.req.User.ID,
		ProfileID: profileID, MethodID: methodID, Lang: c.t.lang, Expires: expires}, c.b.cfg.PayLinkTTL)
	if err != nil {
		return c.storeFault(err)
	}
	text := "PayLinkAdd"
	if methodID != "" {
		text = "PayLinkReplace"
	}
	return Response{Messages: []Message{{Text: c.t.T(text) + "\n" + c.t.T("PayLinkExpires", "Time", c.t.DateTime(expires)),
		Buttons: []Button{{Label: c.t.T("BtnOpenPayPage"), URL: c.b.cfg.PublicURL + "/pay/" + token, Style: StylePrimary}}}}}
}

func (c *call) methodForm(m store.PaymentMethod) *Form {
	f := c.newForm(FormPayment, "TitlePayment", "BtnSave")
	f.Context = m.ID
	year := c.now.Year()
	f.Inputs = []Input{
		{ID: "method", Kind: KindInfo, Label: c.t.T("FieldMethod"), Text: methodLabel(m) + "\n" + c.t.T("NoCardInChat")},
		{ID: "name", Kind: KindText, Label: c.t.T("FieldCardName"), Required: true, MaxLength: 100, Value: nonEmpty(m.Name)},
		{ID: "exp_month", Kind: KindNumber, Label: c.t.T("FieldExpMonth"), Required: true, Min: 1, Max: 12,
			Value: []string{strconv.Itoa(m.ExpMonth)}},
		{ID: "exp_year", Kind: KindNumber, Label: c.t.T("FieldExpYear"), Required: true, Min: year, Max: year + 20,
			Value: []string{strconv.Itoa(m.ExpYear)}},
		{ID: "address", Kind: KindParagraph, Label: c.t.T("FieldAddress"), Required: true, MaxLength: 300, Value: nonEmpty(m.Address)},
	}
	return f
}

func paymentSubmit(c *call) Response {
	errs := c.checked // card numbers in the name or address were refused before
	b := c.billing()
	m, _, ok := b.Method(c.req.Form.Context)
	if !ok {
		errs.add("name", c.t.T("ErrNoMethod"))
	}
	name, address := c.value("name"), c.value("address")
	if name == "" {
		errs.add("name", c.t.T("ErrRequired"))
	} else if len([]rune(name)) > 100 {
		errs.add("name", c.t.T("ErrTooLong", "Max", c.t.Num(100)))
	}
	if address == "" {
		errs.add("address", c.t.T("ErrRequired"))
	} else if len([]rune(address)) > 300 {
		errs.add("address", c.t.T("ErrTooLong", "Max", c.t.Num(300)))
	}
	year := c.now.Year()
	month, msgM := c.count(c.value("exp_month"), 1, 12)
	if msgM != "" {
		errs.add("exp_month", msgM)
	}
	expYear, err := strconv.Atoi(c.value("exp_year"))
	msgY := ""
	if err != nil || expYear < year || expYear > year+20 {
		// Years are not grouped like counts: 2026, not 2,026.
		msgY = c.t.T("ErrExpYear", "Min", strconv.Itoa(year), "Max", strconv.Itoa(year+20))
		errs.add("exp_year", msgY)
	}
	if msgM == "" && msgY == "" && (store.PaymentMethod{ExpMonth: month, ExpYear: expYear}).Expired(c.now) {
		errs.add("exp_month", c.t.T("ErrExpiryPast"))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	m.Name, m.Address, m.ExpMonth, m.ExpYear = name, address, month, expYear
	b = replaceMethod(b, m.ID, m)
	resp := Response{Messages: []Message{{Title: c.t.T("TitleMethodSaved"), Text: c.t.T("MethodSaved", "Method", methodLabel(m))}}}
	res, err := c.b.store.SaveBilling(c.ctx, c.once(resp), c.req.Org, c.req.User.ID, b, "payment-edit")
	switch {
	case errors.Is(err, store.ErrStale):
		return Response{FieldErrors: fieldErrors{"name": c.t.T("ErrStale")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// replaceMethod puts m in place of the method with id old.
func replaceMethod(b store.Billing, old string, m store.PaymentMethod) store.Billing {
	for ai := range b.Accounts {
		for pi := range b.Accounts[ai].Profiles {
			for mi := range b.Accounts[ai].Profiles[pi].Methods {
				if b.Accounts[ai].Profiles[pi].Methods[mi].ID == old {
					b.Accounts[ai].Profiles[pi].Methods[mi] = m
				}
			}
		}
	}
	return b
}

// addMethod adds m to a profile.
func addMethod(b store.Billing, profileID string, m store.PaymentMethod) store.Billing {
	for ai := range b.Accounts {
		for pi := range b.Accounts[ai].Profiles {
			if p := &b.Accounts[ai].Profiles[pi]; p.ID == profileID {
				p.Methods = append(p.Methods, m)
			}
		}
	}
	return b
}

// ErrPayLink is returned by CompletePayLink for a link that was used,
// expired or never existed.
var ErrPayLink = errors.New("payment link used or expired")

// PayLink returns what a payment link is for, without using it up, so the
// payment page can show its form in the right language.
func (b *Bot) PayLink(ctx context.Context, token string) (store.PayLink, error) {
	l, err := b.store.PeekPayLink(ctx, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && b.now().After(l.Expires)) {
		return store.PayLink{}, ErrPayLink
	}
	return l, err
}

// CompletePayLink is the payment page's submit: it tokenizes the card with
// the gateway, uses the link up and adds (or replaces) the payment method.
// Card errors (payment.ErrInvalidNumber, …) leave the link usable so the
// user can correct them; only what a receipt shows and the token are kept.
func (b *Bot) CompletePayLink(ctx context.Context, token string, card payment.Card) (store.PaymentMethod, error) {
	l, err := b.PayLink(ctx, token)
	if err != nil {
		return store.PaymentMethod{}, err
	}
	tok, err := b.gateway.Tokenize(ctx, card, b.now().UTC())
	if err != nil {
		return store.PaymentMethod{}, err
	}
	if _, err := b.store.ConsumePayLink(ctx, token); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.PaymentMethod{}, ErrPayLink
		}
		return store.PaymentMethod{}, err
	}
	m := store.PaymentMethod{ID: store.NewID(), Brand: tok.Brand, Last4: tok.Last4, ExpMonth: tok.ExpMonth,
		ExpYear: tok.ExpYear, Name: strings.TrimSpace(card.Name), Address: strings.TrimSpace(card.Address), Token: tok.Token}
	c := &call{b: b, ctx: ctx, req: Request{Org: l.Org, User: Member{ID: l.User}, Locale: l.Lang}, t: b.tr(l.Lang)}
	for attempt := 0; ; attempt++ {
		if err := b.load(c, store.ViewOptions{}); err != nil {
			return store.PaymentMethod{}, err
		}
		bill := c.billing()
		what := "payment-add"
		if l.MethodID != "" {
			if _, _, ok := bill.Method(l.MethodID); ok {
				// The new card keeps the old one's id, so subscriptions paid
				// with it are paid with the new card from now on.
				m.ID = l.MethodID
				bill, what = replaceMethod(bill, l.MethodID, m), "payment-replace"
			}
		}
		if what == "payment-add" {
			if _, ok := bill.Profile(l.ProfileID); !ok {
				l.ProfileID = bill.Accounts[0].Profiles[0].ID
			}
			bill = addMethod(bill, l.ProfileID, m)
		}
		_, err := b.store.SaveBilling(ctx, store.Once{Key: "paylink:" + token}, l.Org, l.User, bill, what)
		if errors.Is(err, store.ErrStale) && attempt < 3 {
			continue // the user changed their billing meanwhile: apply to the new version
		}
		return m, err
	}
}
