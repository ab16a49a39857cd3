package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// Money: charging invoices, and what the payment provider reports about
// charges and payment methods. Nothing is granted before the money is: an
// invoice carries what its payment gives (store.Grant), and the step that
// records the payment grants it.

// ChargeExpiry is how long a charge may wait for the purchaser's
// confirmation or the provider's report before its invoice is void and
// nothing is bought.
const ChargeExpiry = 23 * time.Hour

// charge collects an open invoice from the subscription's payment method
// and records where it stands. The provider's idempotency key is the
// invoice, so a job that runs twice (its replica died after charging)
// charges once, and the outcome is recorded (and notified) once.
func (c *call) charge(s store.Subscription, invoiceID string) error {
	inv, err := c.b.store.Invoice(c.ctx, s.Org, invoiceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // its change never happened
	}
	if err != nil || inv.Status != store.InvoiceOpen || inv.Charge != "" {
		return err // charged before: the provider reports the outcome
	}
	v, err := c.b.store.View(c.ctx, s.Org, inv.User, store.ViewOptions{})
	if err != nil {
		return err
	}
	// The invoice's method, or the one that pays the subscription now (the
	// invoice's was removed meanwhile, and its subscriptions moved on).
	m, p, ok := v.Billing.Method(inv.Method)
	if !ok {
		m, p, ok = v.Billing.Method(s.MethodID)
	}
	if !ok {
		c.b.log.Warn("charge failed", "org", inv.Org, "invoice", inv.ID, "err", "no payment method")
		_, err := c.b.settle(c.ctx, inv, store.InvoiceFailed, "")
		return err
	}
	ch, err := c.b.pay.Charge(c.ctx, payment.ChargeRequest{
		Customer: p.Customer, Method: m.Token, Amount: inv.Total, Currency: inv.Currency,
		IdempotencyKey: "bb-" + inv.Org + "-" + inv.ID, Description: s.ProductName + " – " + inv.ID,
		Metadata: map[string]string{"org": inv.Org, "invoice": inv.ID, "subscription": inv.SubID},
	})
	switch {
	case errors.Is(err, payment.ErrDeclined):
		c.b.log.Info("charge declined", "org", inv.Org, "invoice", inv.ID)
		_, err := c.b.settle(c.ctx, inv, store.InvoiceFailed, "")
		return err
	case err != nil:
		return fmt.Errorf("charge invoice %s: %w", inv.ID, err)
	}
	if err := c.b.store.IndexCharge(c.ctx, ch.ID, inv.Org, inv.ID); err != nil {
		return err
	}
	to := store.InvoiceOpen
	switch ch.Status {
	case payment.ChargeSucceeded:
		to = store.InvoicePaid
	case payment.ChargeRequiresAction:
		to = store.InvoiceAction
	}
	if to != store.InvoicePaid {
		// Waits for the purchaser or the provider, not forever.
		if err := c.b.store.Schedule(c.ctx, store.Job{Kind: store.JobChargeExpiry, Org: inv.Org, SubID: inv.SubID,
			Due: c.now.Add(ChargeExpiry), Invoice: inv.ID}); err != nil {
			return err
		}
	}
	_, err = c.b.settle(c.ctx, inv, to, ch.ID)
	return err
}

// expireCharge voids an invoice whose payment was still not confirmed.
func (c *call) expireCharge(invoiceID string) error {
	inv, err := c.b.store.Invoice(c.ctx, c.req.Org, invoiceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil || inv.Status != store.InvoiceOpen && inv.Status != store.InvoiceAction {
		return err
	}
	_, err = c.b.settle(c.ctx, inv, store.InvoiceVoid, "")
	return err
}

// settle records where an invoice's payment stands, grants what it buys
// when paid, and tells the purchaser (and for a purchase the admins) in
// the same step. It reports false when another replica or report recorded
// an outcome first.
func (b *Bot) settle(ctx context.Context, inv store.Invoice, to store.InvoiceStatus, charge string) (bool, error) {
	if charge != "" {
		inv.Charge = charge
	}
	var notes []*store.Note
	if inv.Status != to {
		var err error
		if notes, err = b.outcomeNotes(ctx, inv, to); err != nil {
			return false, err
		}
	}
	return b.store.SetInvoiceStatus(ctx, inv, to, notes...)
}

// outcomeNotes are the notifications of an invoice's new status.
func (b *Bot) outcomeNotes(ctx context.Context, inv store.Invoice, to store.InvoiceStatus) ([]*store.Note, error) {
	s, err := b.store.Subscription(ctx, inv.Org, inv.SubID)
	if errors.Is(err, store.ErrNotFound) {
		s = store.Subscription{ID: inv.SubID, Org: inv.Org, Purchaser: store.Member{ID: inv.User}}
	} else if err != nil {
		return nil, err
	}
	c := &call{b: b, ctx: ctx, t: b.tr("en"), req: Request{Org: inv.Org, IdempotencyKey: inv.ID + "-" + string(to)}}
	grant := ""
	if inv.Grant != nil {
		grant = string(inv.Grant.Kind)
	}
	toPurchaser := func(kind NotificationKind) *Notification {
		n := c.note(kind, s, 0)
		n.To, n.Sub.Price, n.Sub.Currency, n.Sub.Invoice, n.Sub.Grant = inv.User, inv.Total, inv.Currency, inv.ID, grant
		return &n
	}
	var out []*store.Note
	switch to {
	case store.InvoicePaid:
		if inv.Grant == nil {
			return nil, nil // a renewal: the invoice says it
		}
		after, before := granted(s, *inv.Grant), 0
		n := toPurchaser(NotePaid)
		n.Sub.Licenses, n.Sub.Expires = after.Total, after.EndsAt()
		out = append(out, n.Note())
		kind := NotePurchase
		switch inv.Grant.Kind {
		case store.GrantConversion:
			kind = NoteConversion
		case store.GrantLicenses:
			kind, before = NoteLicenses, s.Total
		}
		admins := c.note(kind, after, before)
		out = append(out, admins.Note())
	case store.InvoiceFailed:
		out = append(out, toPurchaser(NotePaymentFailed).Note())
	case store.InvoiceVoid:
		out = append(out, toPurchaser(NotePaymentExpired).Note())
	case store.InvoiceRefunded:
		out = append(out, toPurchaser(NoteRefunded).Note())
	case store.InvoiceDisputed:
		out = append(out, toPurchaser(NoteDisputed).Note())
	case store.InvoiceAction:
		n := toPurchaser(NoteActionRequired)
		url, err := b.actionLink(ctx, inv)
		if err != nil {
			return nil, err
		}
		n.Sub.URL = url
		out = append(out, n.Note())
	}
	return out, nil
}

// granted is the subscription as a paid grant leaves it.
func granted(s store.Subscription, g store.Grant) store.Subscription {
	switch g.Kind {
	case store.GrantPurchase:
		s.Status = store.StatusActive
	case store.GrantLicenses:
		s.Total += g.Added
	case store.GrantConversion:
		s.Status = store.StatusActive
		for i := 0; i+1 < len(g.Fields); i += 2 {
			v := g.Fields[i+1]
			switch g.Fields[i] {
			case "total":
				s.Total, _ = strconv.Atoi(v)
			case "period":
				s.Period = store.Period(v)
			case "price":
				s.UnitPrice, _ = strconv.ParseInt(v, 10, 64)
			case "renews":
				if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
					s.RenewsAt = time.Unix(sec, 0).UTC()
				}
			}
		}
	}
	return s
}

// actionLink is a single-use link for the purchaser to confirm an
// invoice's charge with their bank: the payment page sends them to the
// provider's page for it (ConfirmCharge).
func (b *Bot) actionLink(ctx context.Context, inv store.Invoice) (string, error) {
	v, err := b.store.View(ctx, inv.Org, inv.User, store.ViewOptions{})
	if err != nil {
		return "", err
	}
	token, err := b.store.CreatePayLink(ctx, store.PayLink{Org: inv.Org, User: inv.User, ProfileID: inv.ProfileID,
		Lang: v.Prefs.Lang, Invoice: inv.ID, Expires: b.now().Add(ChargeExpiry)}, ChargeExpiry)
	if err != nil {
		return "", err
	}
	return b.cfg.PublicURL + "/pay/" + token, nil
}

// ConfirmCharge is the payment page's way to the provider's page where the
// purchaser confirms the charge of a payment link's invoice; the provider
// sends them back to the link's result page, and reports the outcome.
func (b *Bot) ConfirmCharge(ctx context.Context, token string) (string, error) {
	info, err := b.PayLink(ctx, token)
	if err != nil {
		return "", err
	}
	auth, ok := b.pay.(payment.Authenticator)
	if !ok || info.Invoice == nil || info.Invoice.Status != store.InvoiceAction || info.Invoice.Charge == "" {
		return "", ErrPayLink
	}
	url, err := auth.Authenticate(ctx, info.Invoice.Charge, b.cfg.PublicURL+"/pay/"+token+"/done")
	if errors.Is(err, payment.ErrNoAction) {
		return "", ErrPayLink
	}
	return url, err
}

// PaymentEvent applies what the payment provider reports. It is
// idempotent by event id and by outcome: a report that arrives twice, or
// after a later one (a failure after the success), changes nothing. An
// error means the provider should send the event again later.
func (b *Bot) PaymentEvent(ctx context.Context, ev payment.Event) error {
	if ev.Kind == "" {
		return nil
	}
	ctx = store.At(ctx, b.now().UTC())
	done, err := b.store.EventHandled(ctx, b.pay.Name(), ev.ID)
	if err != nil || done {
		return err
	}
	switch ev.Kind {
	case payment.EventSetupCompleted:
		err = b.setupCompleted(ctx, ev)
	case payment.EventMethodUpdated, payment.EventMethodDetached:
		err = b.methodChanged(ctx, ev)
	default:
		err = b.chargeEvent(ctx, ev)
	}
	if err != nil {
		return err
	}
	return b.store.MarkEvent(ctx, b.pay.Name(), ev.ID)
}

// chargeTransitions are the statuses an invoice may move to on a report,
// from the statuses it may have then. A payment that succeeds after a
// failure or after its invoice was void was taken: it grants again.
var chargeTransitions = map[payment.EventKind]struct {
	to   store.InvoiceStatus
	from []store.InvoiceStatus
}{
	payment.EventChargeSucceeded: {store.InvoicePaid,
		[]store.InvoiceStatus{store.InvoiceOpen, store.InvoiceAction, store.InvoiceFailed, store.InvoiceVoid}},
	payment.EventChargeFailed:         {store.InvoiceFailed, []store.InvoiceStatus{store.InvoiceOpen, store.InvoiceAction}},
	payment.EventChargeRequiresAction: {store.InvoiceAction, []store.InvoiceStatus{store.InvoiceOpen}},
	payment.EventChargeRefunded:       {store.InvoiceRefunded, []store.InvoiceStatus{store.InvoicePaid, store.InvoiceDisputed}},
	payment.EventChargeDisputed:       {store.InvoiceDisputed, []store.InvoiceStatus{store.InvoicePaid}},
}

func (b *Bot) chargeEvent(ctx context.Context, ev payment.Event) error {
	tr, ok := chargeTransitions[ev.Kind]
	if !ok {
		return nil
	}
	org, id, err := b.store.ChargeInvoice(ctx, ev.Charge)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		// Charged before the index was written (the replica died between
		// the two): the charge's metadata says whose it is.
		org, id = ev.Metadata["org"], ev.Metadata["invoice"]
		if !store.ValidID(org) || !store.ValidID(id) {
			b.log.Warn("payment event for an unknown charge", "event", ev.ID, "kind", ev.Kind)
			return nil
		}
	} else if err != nil {
		return err
	}
	for attempt := 0; attempt < 3; attempt++ {
		inv, err := b.store.Invoice(ctx, org, id)
		if errors.Is(err, store.ErrNotFound) {
			b.log.Warn("payment event for an unknown invoice", "event", ev.ID, "org", org)
			return nil
		}
		if err != nil {
			return err
		}
		if inv.Charge != "" && inv.Charge != ev.Charge {
			b.log.Warn("payment event for another charge of the invoice", "event", ev.ID, "org", org, "invoice", id)
			return nil
		}
		allowed := false
		for _, from := range tr.from {
			allowed = allowed || inv.Status == from
		}
		if !allowed {
			return nil // a later outcome is recorded already, or this one
		}
		if tr.to == store.InvoiceAction {
			if err := b.store.Schedule(ctx, store.Job{Kind: store.JobChargeExpiry, Org: org, SubID: inv.SubID,
				Due: b.now().UTC().Add(ChargeExpiry), Invoice: inv.ID}); err != nil {
				return err
			}
		}
		ok, err := b.settle(ctx, inv, tr.to, ev.Charge)
		if err != nil || ok {
			return err
		}
		// Another report changed the invoice meanwhile: look again.
	}
	return fmt.Errorf("payment event %s: invoice %s keeps changing", ev.ID, id)
}

// setupCompleted saves the card that the provider's page took for a
// payment link.
func (b *Bot) setupCompleted(ctx context.Context, ev payment.Event) error {
	l, err := b.store.PayLinkByRef(ctx, ev.Reference)
	if errors.Is(err, store.ErrNotFound) {
		b.log.Warn("payment setup for an unknown payment link", "event", ev.ID)
		return nil
	}
	if err != nil {
		return err
	}
	if l.Saved != "" || l.Invoice != "" {
		return nil
	}
	v, err := b.store.View(ctx, l.Org, l.User, store.ViewOptions{})
	if err != nil {
		return err
	}
	if p, ok := v.Billing.Profile(l.ProfileID); ok && p.Customer != "" && ev.Customer != "" && p.Customer != ev.Customer {
		b.log.Warn("payment setup of another customer", "event", ev.ID, "org", l.Org)
		return nil
	}
	_, err = b.saveLinkMethod(ctx, l, ev.Method)
	if errors.Is(err, ErrDuplicateCard) {
		// The provider saved it a second time: take it off again.
		if derr := b.pay.Detach(ctx, ev.Method.Token); derr != nil {
			return derr
		}
		n := Notification{Org: l.Org, To: l.User, Kind: NoteDuplicateCard, Key: "duplicate-card:" + ev.ID,
			Sub: NotifiedSub{Method: methodLabel(store.PaymentMethod{Brand: ev.Method.Brand, Last4: ev.Method.Last4,
				ExpMonth: ev.Method.ExpMonth, ExpYear: ev.Method.ExpYear})}}
		_, err = b.store.Notify(ctx, l.Org, store.Once{Key: "event:" + ev.ID, Note: n.Note()})
	}
	if errors.Is(err, ErrPayLink) {
		return nil
	}
	return err
}

// methodChanged applies the provider's report that a saved card changed
// (a new expiry from the card network) or was removed.
func (b *Bot) methodChanged(ctx context.Context, ev payment.Event) error {
	org, user, err := b.store.MethodOwner(ctx, ev.Method.Token)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return nil
	}
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		v, err := b.store.View(ctx, org, user, store.ViewOptions{})
		if err != nil {
			return err
		}
		bill := v.Billing
		var m store.PaymentMethod
		found := false
		for ai := range bill.Accounts {
			for pi := range bill.Accounts[ai].Profiles {
				p := &bill.Accounts[ai].Profiles[pi]
				for mi := 0; mi < len(p.Methods); mi++ {
					if p.Methods[mi].Token != ev.Method.Token {
						continue
					}
					found, m = true, p.Methods[mi]
					if ev.Kind == payment.EventMethodDetached {
						p.Methods = append(p.Methods[:mi], p.Methods[mi+1:]...)
						mi--
						continue
					}
					pm := &p.Methods[mi]
					if ev.Method.ExpMonth > 0 {
						pm.ExpMonth, pm.ExpYear = ev.Method.ExpMonth, ev.Method.ExpYear
					}
					if ev.Method.Last4 != "" {
						pm.Brand, pm.Last4 = ev.Method.Brand, ev.Method.Last4
					}
					m = *pm
				}
			}
		}
		if !found {
			return nil
		}
		kind, what := NoteMethodUpdated, "payment-updated"
		if ev.Kind == payment.EventMethodDetached {
			kind, what = NoteMethodRemoved, "payment-removed"
		}
		n := Notification{Org: org, To: user, Kind: kind, Key: string(kind) + ":" + ev.ID, Sub: NotifiedSub{Method: methodLabel(m)}}
		_, err = b.store.SaveBilling(ctx, store.Once{Key: "event:" + ev.ID, Note: n.Note()}, org, user, bill, what)
		if errors.Is(err, store.ErrStale) && attempt < 3 {
			continue
		}
		return err
	}
}
