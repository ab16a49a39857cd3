package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/locales"
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

// accountName and profileName name a billing account and profile as the
// reader sees them. The default ones are named when the first payment
// method is saved, in the language of that moment; they are shown in the
// reader's language ("Billing profile", "Abrechnungsprofil"). Other names
// are shown as they are.
func (c *call) accountName(a store.BillingAccount) string {
	return c.defaultName(a.Name, "DefaultAccount")
}

func (c *call) profileName(p store.BillingProfile) string {
	return c.defaultName(p.Name, "DefaultProfile")
}

// defaultName is name, or the message id in the reader's language when
// name is that message in any language (or empty).
func (c *call) defaultName(name, id string) string {
	if name == "" {
		return c.t.T(id)
	}
	for _, lang := range locales.Languages {
		if name == c.b.tr(lang).T(id) {
			return c.t.T(id)
		}
	}
	return name
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
					opts = append(opts, Option{Value: m.ID, Label: methodLabel(m) + " – " + c.profileName(p)})
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
	case "remove", "entfernen":
		m, p, ok := b.Method(arg)
		if !ok {
			return c.fail(c.t.T("ErrNoMethod"))
		}
		return c.removeForm(m, p)
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
			m := Message{Title: c.t.T("ProfileTitle", "Account", c.accountName(a), "Profile", c.profileName(p))}
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
					Button{Label: c.t.T("BtnReplace"), Command: "payment replace " + pm.ID},
					Button{Label: c.t.T("BtnRemove"), Command: "payment remove " + pm.ID, Style: StyleDanger})
			}
			add := "payment add " + p.ID
			if p.ID == b.Accounts[0].Profiles[0].ID {
				// The profile "payment add" takes: no id, which would read
				// as a word ("default") in the command line the user sees.
				add = "payment add"
			}
			m.Buttons = append(m.Buttons, Button{Label: c.t.T("BtnAdd"), Command: add, Style: StylePrimary})
			msgs = append(msgs, m)
		}
	}
	return Response{Messages: msgs}
}

// payLink answers with a single-use link to the payment page.
func (c *call) payLink(profileID, methodID string) Response {
	expires := c.now.Add(c.b.cfg.PayLinkTTL)
	token, err := c.b.store.CreatePayLink(c.ctx, store.PayLink{Org: c.req.Org, User: c.req.User.ID,
		ProfileID: profileID, MethodID: methodID, Lang: c.t.lang, Command: c.t.shownCommand(), Expires: expires,
		ChatURL: c.req.ChatURL, OrgName: c.req.OrgName}, c.b.cfg.PayLinkTTL)
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
		{ID: "exp_year", Kind: KindNumber, Label: c.t.T("FieldExpYear"), Required: true, Min: year, Max: year + 20, Year: true,
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
		// Month and year are wrong together: either may be the one to
		// correct (01/2026 meant for 01/2027), so both are marked and
		// asked again.
		errs.add("exp_month", c.t.T("ErrExpiryPast"))
		errs.add("exp_year", c.t.T("ErrExpiryPast"))
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

// paidWith are the user's own subscriptions that are charged to a payment
// method and still cost money: active, or pending (their purchase's
// payment is under way).
func (c *call) paidWith(methodID string) []store.Subscription {
	var out []store.Subscription
	for _, s := range c.view.Subs {
		if s.Purchaser.ID == c.req.User.ID && s.MethodID == methodID &&
			(s.Status == store.StatusActive || s.Status == store.StatusPending) {
			out = append(out, s)
		}
	}
	return out
}

// successor is the method of a profile that takes over from the method
// with id gone when it is removed: the first other one that has not
// expired, else the first other one; false when the profile has no other.
func (c *call) successor(p store.BillingProfile, gone string) (store.PaymentMethod, bool) {
	var other *store.PaymentMethod
	for i, m := range p.Methods {
		switch {
		case m.ID == gone:
		case !m.Expired(c.now):
			return m, true
		case other == nil:
			other = &p.Methods[i]
		}
	}
	if other == nil {
		return store.PaymentMethod{}, false
	}
	return *other, true
}

// subLabels names subscriptions in one line.
func (c *call) subLabels(subs []store.Subscription) string {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = c.subLabel(s)
	}
	return strings.Join(names, "; ")
}

// removeForm asks to confirm the removal of a payment method, saying which
// subscriptions another method pays from then on. The last method of a
// profile that live subscriptions are paid with is refused at once.
func (c *call) removeForm(m store.PaymentMethod, p store.BillingProfile) Response {
	paid := c.paidWith(m.ID)
	next, ok := c.successor(p, m.ID)
	if !ok && len(paid) > 0 {
		return c.fail(c.t.T("ErrMethodInUse", "Method", methodLabel(m), "Profile", c.profileName(p), "Products", c.subLabels(paid)))
	}
	effect := c.t.T("RemoveNoSubs")
	if len(paid) > 0 {
		effect = c.t.T("RemoveSwitches", "Method", methodLabel(next), "Products", c.subLabels(paid))
	}
	f := c.newForm(FormRemoveMethod, "TitleRemoveMethod", "BtnRemove")
	f.Context = m.ID
	f.Inputs = []Input{
		{ID: "method", Kind: KindInfo, Label: c.t.T("FieldMethod"), Text: methodLabel(m) + " – " + c.profileName(p)},
		{ID: "effect", Kind: KindInfo, Label: c.t.T("FieldSubscriptions"), Text: effect},
		{ID: "confirm", Kind: KindConfirm, Label: c.t.T("FieldConfirm"), Required: true,
			Options: []Option{{Value: "yes", Label: c.t.T("ConfirmRemoveMethod")}}},
	}
	return Response{Form: f}
}

// removeSubmit removes a payment method: the provider detaches it first
// (if that fails, nothing is removed), then the billing document loses it
// and the subscriptions paid with it switch to another method of its
// profile, in one step (store.RemoveMethod). A document changed meanwhile
// is read again, up to three times.
func removeSubmit(c *call) Response {
	errs := fieldErrors{}
	c.checkValues(errs)
	if c.value("confirm") != "yes" {
		errs.add("confirm", c.t.T("ErrConfirm"))
	}
	m, p, ok := c.billing().Method(c.req.Form.Context)
	if !ok {
		errs.add("confirm", c.t.T("ErrNoMethod"))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	label := methodLabel(m)
	inUse := func(paid []store.Subscription) Response {
		return Response{FieldErrors: fieldErrors{"confirm": c.t.T("ErrMethodInUse", "Method", label, "Profile", c.profileName(p),
			"Products", c.subLabels(paid))}}
	}
	if _, ok := c.successor(p, m.ID); !ok && len(c.paidWith(m.ID)) > 0 {
		return inUse(c.paidWith(m.ID))
	}
	if err := c.b.pay.Detach(c.ctx, m.Token); err != nil {
		c.b.log.Warn("detach payment method", "org", c.req.Org, "err", err)
		return Response{FieldErrors: fieldErrors{"confirm": c.t.T("ErrDetach", "Method", label)}}
	}
	for attempt := 0; ; attempt++ {
		bill := c.billing()
		profile, _ := bill.Profile(p.ID)
		next, _ := c.successor(profile, m.ID)
		paid := c.paidWith(m.ID)
		resp := c.removed(label, next, paid)
		bill = dropMethod(bill, m.ID)
		res, switched, err := c.b.store.RemoveMethod(c.ctx, c.once(resp), c.req.Org, c.req.User.ID, bill, m.ID, next.ID)
		switch {
		case errors.Is(err, store.ErrStale) && attempt < 3:
			// Changed meanwhile (an edit, the provider's report): apply
			// to the new version.
			if err := c.b.load(c, store.ViewOptions{}); err != nil {
				return c.storeFault(err)
			}
			continue
		case errors.Is(err, store.ErrInUse):
			// A purchase with it came between the check and the removal;
			// the provider has detached it already.
			c.b.log.Warn("payment method detached but still in use", "org", c.req.Org)
			return inUse(c.paidWith(m.ID))
		case err != nil:
			return c.storeFault(err)
		case res.Repeat:
			return c.replay(res, resp)
		}
		// What the store switched counts (a purchase may have come
		// meanwhile); the answer names the live ones.
		var now []store.Subscription
		for _, s := range c.view.Subs {
			if slices.Contains(switched, s.ID) && (s.Status == store.StatusActive || s.Status == store.StatusPending) {
				now = append(now, s)
			}
		}
		if !slices.Equal(subIDs(now), subIDs(paid)) {
			resp = c.removed(label, next, now)
		}
		return resp
	}
}

// removed is the answer to a removed payment method: which subscriptions
// are now paid with which method.
func (c *call) removed(label string, next store.PaymentMethod, switched []store.Subscription) Response {
	lines := []string{c.t.T("MethodRemoved", "Method", label)}
	for _, s := range switched {
		lines = append(lines, c.t.T("MethodSwitched", "Product", c.subLabel(s), "Method", methodLabel(next)))
	}
	return Response{Messages: []Message{{Title: c.t.T("TitleMethodRemoved"), Text: strings.Join(lines, "\n")}}}
}

// subIDs are the ids of subscriptions.
func subIDs(subs []store.Subscription) []string {
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.ID
	}
	return ids
}

// dropMethod removes the method with id from a billing document.
func dropMethod(b store.Billing, id string) store.Billing {
	for ai := range b.Accounts {
		for pi := range b.Accounts[ai].Profiles {
			p := &b.Accounts[ai].Profiles[pi]
			p.Methods = slices.DeleteFunc(slices.Clone(p.Methods), func(m store.PaymentMethod) bool { return m.ID == id })
		}
	}
	return b
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

// Errors of payment links.
var (
	// ErrPayLink: the link was used, expired, failed too often or never
	// existed.
	ErrPayLink = errors.New("payment link used or expired")
	// ErrDuplicateCard: the profile has this card already.
	ErrDuplicateCard = errors.New("card already saved in this billing profile")
	// ErrHosted: the payment provider's own page takes the cards.
	ErrHosted = errors.New("cards are taken on the payment provider's page")
)

// MaxPayLinkFailures is how many refused cards a payment link takes before
// it stops working.
const MaxPayLinkFailures = 5

// PayLinkInfo is what the payment page shows about a payment link.
type PayLinkInfo struct {
	Link    store.PayLink
	Account string // the billing account's name
	Profile string // the billing profile's name
	// Replaces is the method a replace link replaces (nil when adding).
	Replaces *store.PaymentMethod
	// Saved is the method the link saved, once used (nil before).
	Saved *store.PaymentMethod
	// Invoice is the invoice whose charge a confirmation link is for
	// (Link.Invoice; see ConfirmCharge).
	Invoice  *store.Invoice
	Operator Operator
	TestMode bool
	// Hosted: the payment provider's own page takes the card
	// (StartHostedSetup); else the page asks for it (CompletePayLink).
	Hosted bool
}

// PayLink returns what a payment link is for, without using it up. A link
// that saved a method keeps answering with it (Saved) for a day, so that
// a reload shows the result; one that expired or took too many refused
// cards fails with ErrPayLink, returned with the link's language and
// command (Link.Lang, Link.Command) for the page that says so.
func (b *Bot) PayLink(ctx context.Context, token string) (PayLinkInfo, error) {
	l, err := b.store.PayLink(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return PayLinkInfo{}, ErrPayLink
	}
	if err != nil {
		return PayLinkInfo{}, err
	}
	info, err := b.payLinkInfo(ctx, l)
	if err != nil {
		return PayLinkInfo{}, err
	}
	if info.Saved == nil && (b.now().After(l.Expires) || l.Failures >= MaxPayLinkFailures) {
		// Still the link's, for the page that says it no longer works:
		// its language and command.
		return PayLinkInfo{Link: store.PayLink{Lang: l.Lang, Command: l.Command}}, ErrPayLink
	}
	return info, nil
}

func (b *Bot) payLinkInfo(ctx context.Context, l store.PayLink) (PayLinkInfo, error) {
	v, err := b.store.View(ctx, l.Org, l.User, store.ViewOptions{})
	if err != nil {
		return PayLinkInfo{}, err
	}
	t := b.tr(langOf("", l.Lang))
	info := PayLinkInfo{Link: l, Operator: b.cfg.Operator, TestMode: b.TestMode()}
	_, info.Hosted = b.pay.(payment.HostedSetup)
	c := &call{b: b, view: v, t: t}
	bill := c.billing()
	info.Account, info.Profile = c.accountName(bill.Accounts[0]), c.profileName(bill.Accounts[0].Profiles[0])
	for _, a := range bill.Accounts {
		for _, p := range a.Profiles {
			if p.ID == l.ProfileID {
				info.Account, info.Profile = c.accountName(a), c.profileName(p)
			}
		}
	}
	if m, _, ok := bill.Method(l.MethodID); ok && l.MethodID != "" && l.Saved == "" {
		info.Replaces = &m
	}
	if m, _, ok := bill.Method(l.Saved); ok && l.Saved != "" {
		info.Saved = &m
	}
	if l.Invoice != "" {
		inv, err := b.store.Invoice(ctx, l.Org, l.Invoice)
		if err != nil {
			return PayLinkInfo{}, err
		}
		info.Invoice = &inv
	}
	return info, nil
}

// CompletePayLink is the sandbox payment page's submit: it has the
// provider check the card and saves the method, using the link up in the
// same step. A repeat after success returns the method the first saved.
// Card errors (payment.ErrInvalidNumber, …) leave the link usable so the
// user can correct them, until MaxPayLinkFailures; only what a receipt
// shows and the token are kept.
func (b *Bot) CompletePayLink(ctx context.Context, token string, card payment.Card) (store.PaymentMethod, error) {
	info, err := b.PayLink(ctx, token)
	if err != nil {
		return store.PaymentMethod{}, err
	}
	if info.Saved != nil {
		return *info.Saved, nil
	}
	if info.Invoice != nil {
		return store.PaymentMethod{}, ErrPayLink
	}
	taker, ok := b.pay.(payment.CardTaker)
	if !ok {
		return store.PaymentMethod{}, ErrHosted
	}
	tok, err := taker.Tokenize(ctx, card, b.now().UTC())
	if err != nil {
		if errors.Is(err, payment.ErrInvalidNumber) || errors.Is(err, payment.ErrInvalidCVC) || errors.Is(err, payment.ErrExpired) ||
			errors.Is(err, payment.ErrInvalidExpiry) || errors.Is(err, payment.ErrDeclined) {
			if _, ferr := b.store.PayLinkFailed(ctx, info.Link); ferr != nil {
				return store.PaymentMethod{}, ferr
			}
		}
		return store.PaymentMethod{}, err
	}
	tok.Name, tok.Address = strings.TrimSpace(card.Name), strings.TrimSpace(card.Address)
	return b.saveLinkMethod(ctx, info.Link, tok)
}

// saveLinkMethod adds (or replaces) the method a payment link is for and
// uses the link up, in one step, and tells the user in chat.
func (b *Bot) saveLinkMethod(ctx context.Context, l store.PayLink, tok payment.Method) (store.PaymentMethod, error) {
	m := store.PaymentMethod{ID: store.NewID(), Brand: tok.Brand, Last4: tok.Last4, ExpMonth: tok.ExpMonth,
		ExpYear: tok.ExpYear, Name: tok.Name, Address: tok.Address, Token: tok.Token, Fingerprint: tok.Fingerprint}
	c := &call{b: b, ctx: ctx, req: Request{Org: l.Org, User: Member{ID: l.User}, Locale: l.Lang}, t: b.tr(l.Lang)}
	for attempt := 0; ; attempt++ {
		if err := b.load(c, store.ViewOptions{}); err != nil {
			return store.PaymentMethod{}, err
		}
		bill := c.billing()
		profileID := l.ProfileID
		if _, ok := bill.Profile(profileID); !ok {
			profileID = bill.Accounts[0].Profiles[0].ID
		}
		what := "payment-add"
		if _, p, ok := bill.Method(l.MethodID); ok && l.MethodID != "" {
			// The new card keeps the old one's id, so subscriptions paid
			// with it are paid with the new card from now on.
			m.ID, profileID, what = l.MethodID, p.ID, "payment-replace"
		}
		p, _ := bill.Profile(profileID)
		for _, old := range p.Methods {
			if tok.Fingerprint != "" && old.Fingerprint == tok.Fingerprint && old.ID != m.ID {
				return store.PaymentMethod{}, fmt.Errorf("%w: %s", ErrDuplicateCard, methodLabel(old))
			}
		}
		if what == "payment-replace" {
			bill = replaceMethod(bill, m.ID, m)
		} else {
			bill = addMethod(bill, profileID, m)
		}
		var note *store.Note
		if !l.Quiet {
			n := Notification{Org: l.Org, To: l.User, Kind: NoteMethodSaved, Key: "method-saved:" + l.Ref,
				Sub: NotifiedSub{Method: methodLabel(m)}}
			note = n.Note()
		}
		res, err := b.store.CompletePayLink(ctx, l, bill, m.ID, what, note)
		if errors.Is(err, store.ErrStale) && attempt < 3 {
			continue // the user changed their billing meanwhile: apply to the new version
		}
		if errors.Is(err, store.ErrNotFound) {
			return store.PaymentMethod{}, ErrPayLink
		}
		if err != nil {
			return store.PaymentMethod{}, err
		}
		if res.Repeat {
			// Another request saved first: answer with what it saved.
			if saved, _, ok := c.view.Billing.Method(res.Value); ok {
				return saved, nil
			}
			v, err := b.store.View(ctx, l.Org, l.User, store.ViewOptions{})
			if err != nil {
				return store.PaymentMethod{}, err
			}
			saved, _, _ := v.Billing.Method(res.Value)
			return saved, nil
		}
		b.indexMethod(ctx, l.Org, l.User, m.Token)
		return m, nil
	}
}

// StartHostedSetup opens the payment provider's page for a payment link
// (Stripe Checkout in setup mode) and returns its URL; the method is saved
// when the provider reports it (PaymentEvent). The billing profile gets
// the provider's customer first, if it has none.
func (b *Bot) StartHostedSetup(ctx context.Context, token string) (string, error) {
	info, err := b.PayLink(ctx, token)
	if err != nil {
		return "", err
	}
	hosted, ok := b.pay.(payment.HostedSetup)
	if !ok || info.Saved != nil || info.Invoice != nil {
		return "", ErrPayLink
	}
	l := info.Link
	customer, err := b.customer(ctx, l)
	if err != nil {
		return "", err
	}
	base := b.cfg.PublicURL + "/pay/" + token
	s, err := hosted.StartSetup(ctx, payment.SetupRequest{Customer: customer, Lang: langOf("", l.Lang), Reference: l.Ref,
		SuccessURL: base + "/done", CancelURL: base, IdempotencyKey: "bb-setup-" + l.Ref})
	if err != nil {
		return "", fmt.Errorf("start setup: %w", err)
	}
	return s.URL, nil
}

// customer returns the payment provider's customer of a payment link's
// billing profile, creating it (and the user's billing document) first
// when there is none.
func (b *Bot) customer(ctx context.Context, l store.PayLink) (string, error) {
	c := &call{b: b, ctx: ctx, req: Request{Org: l.Org, User: Member{ID: l.User}, Locale: l.Lang}, t: b.tr(l.Lang)}
	for attempt := 0; ; attempt++ {
		if err := b.load(c, store.ViewOptions{}); err != nil {
			return "", err
		}
		bill := c.billing()
		profileID := l.ProfileID
		if _, ok := bill.Profile(profileID); !ok {
			profileID = bill.Accounts[0].Profiles[0].ID
		}
		p, _ := bill.Profile(profileID)
		if p.Customer != "" {
			return p.Customer, nil
		}
		id, err := b.pay.Customer(ctx, payment.CustomerRequest{Org: l.Org, User: l.User, Profile: profileID, Name: p.Name,
			IdempotencyKey: "bb-customer-" + l.Org + "-" + l.User + "-" + profileID})
		if err != nil {
			return "", fmt.Errorf("customer: %w", err)
		}
		for ai := range bill.Accounts {
			for pi := range bill.Accounts[ai].Profiles {
				if bill.Accounts[ai].Profiles[pi].ID == profileID {
					bill.Accounts[ai].Profiles[pi].Customer = id
				}
			}
		}
		_, err = b.store.SaveBilling(ctx, store.Once{Key: "customer:" + store.NewID()}, l.Org, l.User, bill, "payment-customer")
		if errors.Is(err, store.ErrStale) && attempt < 3 {
			continue
		}
		if err != nil {
			return "", err
		}
		return id, nil
	}
}

// indexMethod records whose method a provider's token is, for the
// provider's reports of changes to it; a failure only costs those reports
// their chat message, so it is logged.
func (b *Bot) indexMethod(ctx context.Context, org, user, token string) {
	if err := b.store.IndexMethod(ctx, token, org, user); err != nil {
		b.log.Warn("index payment method", "org", org, "err", err)
	}
}

// Limits of card attempts on the payment page from one client address,
// across payment links, so that it cannot be used to try card numbers
// (each link also stops working after MaxPayLinkFailures refused cards).
const (
	MaxCardAttempts   = 20
	CardAttemptWindow = 10 * time.Minute
)

// CardAttempt counts an attempt to enter a card on the payment page from
// a client (an address, as the page sees it) and reports whether it is
// within MaxCardAttempts per CardAttemptWindow. Every replica counts in
// Redis, so the limit holds for all of them together.
func (b *Bot) CardAttempt(ctx context.Context, client string) (bool, error) {
	n, err := b.store.CardAttempt(ctx, client, b.now(), CardAttemptWindow)
	if err != nil {
		return false, fmt.Errorf("card attempt: %w", err)
	}
	return n <= MaxCardAttempts, nil
}
