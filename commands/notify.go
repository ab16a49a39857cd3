package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// RenderNotification writes a notification as a read-only message in a
// language ("de" or "en").
func (b *Bot) RenderNotification(n Notification, lang string) Message {
	c := &call{b: b, t: b.tr(langOf(lang, ""))}
	s := n.Sub
	licenses := c.t.N("Licenses", s.Licenses)
	price := c.t.T("PriceFree")
	if s.Period != "" {
		price = c.perPeriod(c.t.Money(s.Price, s.Currency), store.Period(s.Period))
	}
	var title, text string
	switch n.Kind {
	case NoteHandover, NoteHandoverReminder, NoteHandoverDecided, NoteHandoverBack, NoteHandoverLapsed, NoteLicenseFreed:
		return c.handoverMessage(n)
	case NotePurchase:
		title, text = "NoteTitlePurchase", c.t.T("NotePurchase", "Purchaser", s.Purchaser, "Licenses", licenses, "Product", s.Product)
	case NoteTrial:
		title, text = "NoteTitleTrial", c.t.T("NoteTrial", "Purchaser", s.Purchaser, "Product", s.Product)
	case NoteConversion:
		title, text = "NoteTitleConversion", c.t.T("NoteConversion", "Purchaser", s.Purchaser, "Product", s.Product)
	case NoteLicenses:
		title, text = "NoteTitleLicenses", c.t.T("NoteLicenses", "Purchaser", s.Purchaser, "Product", s.Product,
			"Before", c.t.Num(s.Before), "Licenses", licenses)
		if s.Licenses < s.Before && !s.Expires.IsZero() {
			// A reduction: it takes effect when the period ends.
			text = c.t.T("NoteLicensesFrom", "Purchaser", s.Purchaser, "Product", s.Product,
				"Before", c.t.Num(s.Before), "Licenses", licenses, "Date", c.t.Date(s.Expires))
		}
	case NoteCancel:
		reason, _ := c.reason(s.Reason)
		title, text = "NoteTitleCancel", c.t.T("NoteCancel", "Purchaser", s.Purchaser, "Product", s.Product, "Reason", reason)
	case NoteExpiry:
		title, text = "NoteTitleExpiry", c.t.T("NoteExpiry", "Product", s.Product, "Purchaser", s.Purchaser)
	case NoteTrialEnded:
		title, text = "NoteTitleTrialEnded", c.t.T("NoteTrialEnded", "Purchaser", s.Purchaser, "Product", s.Product)
	case NotePaymentFailed:
		text := "NotePaymentFailed"
		if s.Grant != "" {
			text = "NotePaymentFailedNothingBought"
		}
		return Message{Title: c.t.T("NoteTitlePaymentFailed"),
			Text:    c.t.T(text, "Product", s.Product, "Amount", c.t.Money(s.Price, s.Currency), "Invoice", s.Invoice),
			Buttons: []Button{{Label: c.t.T("BtnPayment"), Command: "payment"}}}
	case NotePaid:
		return Message{Title: c.t.T("NoteTitlePaid"),
			Text: c.t.T("NotePaid", "Product", s.Product, "Amount", c.t.Money(s.Price, s.Currency), "Invoice", s.Invoice,
				"Licenses", licenses) + c.testNote(),
			Buttons: []Button{{Label: c.t.T("BtnAssign"), Command: "assign " + s.ID, Style: StylePrimary},
				{Label: c.t.T("BtnInvoicePDF", "Invoice", s.Invoice), URL: b.InvoiceURL(InvoiceLink{Org: n.Org, User: n.To,
					Invoice: s.Invoice, Lang: c.t.lang, Expires: b.now().Add(InvoiceLinkTTL)})}}}
	case NoteActionRequired:
		return Message{Title: c.t.T("NoteTitleActionRequired"),
			Text: c.t.T("NoteActionRequired", "Product", s.Product, "Amount", c.t.Money(s.Price, s.Currency),
				"Date", c.t.DateTime(n.At.Add(ChargeExpiry))),
			Buttons: []Button{{Label: c.t.T("BtnConfirmPayment"), URL: s.URL, Style: StylePrimary}}}
	case NotePaymentExpired:
		text := "NotePaymentExpired"
		if s.Grant == "" {
			text = "NoteRenewalExpired"
		}
		return Message{Title: c.t.T("NoteTitlePaymentExpired"),
			Text:    c.t.T(text, "Product", s.Product, "Amount", c.t.Money(s.Price, s.Currency), "Invoice", s.Invoice),
			Buttons: []Button{{Label: c.t.T("BtnPayment"), Command: "payment"}}}
	case NoteRefunded:
		return Message{Title: c.t.T("NoteTitleRefunded"),
			Text: c.t.T("NoteRefunded", "Product", s.Product, "Amount", c.t.Money(s.Price, s.Currency), "Invoice", s.Invoice)}
	case NoteDisputed:
		return Message{Title: c.t.T("NoteTitleDisputed"),
			Text: c.t.T("NoteDisputed", "Product", s.Product, "Amount", c.t.Money(s.Price, s.Currency), "Invoice", s.Invoice)}
	case NoteMethodSaved, NoteMethodUpdated, NoteMethodRemoved, NoteDuplicateCard:
		ids := map[NotificationKind][2]string{
			NoteMethodSaved:   {"TitleMethodSaved", "MethodSaved"},
			NoteMethodUpdated: {"NoteTitleMethodUpdated", "NoteMethodUpdated"},
			NoteMethodRemoved: {"NoteTitleMethodRemoved", "NoteMethodRemoved"},
			NoteDuplicateCard: {"NoteTitleDuplicateCard", "NoteDuplicateCard"},
		}[n.Kind]
		return Message{Title: c.t.T(ids[0]), Text: c.t.T(ids[1], "Method", s.Method),
			Buttons: []Button{{Label: c.t.T("BtnPayment"), Command: "payment"}}}
	case NotePolicy:
		return Message{Title: c.t.T("PolicyNoteTitle"), Text: c.t.T("PolicyNote", "Admin", s.Purchaser, "Product", s.Product,
			"Policy", c.policyName(store.Policy(s.Policy))), Buttons: []Button{{Label: c.t.T("PolicyBtnList"), Command: "admin policy"}}}
	case NoteUnused:
		return c.unusedMessage(n)
	case NoteApprovalRequest, NoteApprovalWithdrawn, NoteApprovalApproved, NoteApprovalDeclined, NoteApprovalExpired, NoteApprovalStale:
		return c.renderApproval(n)
	case NoteReminder:
		days := int(s.Expires.Sub(b.now()).Hours()/24 + 0.5)
		m := Message{Title: c.t.T("NoteTitleReminder"),
			Text: c.t.T("NoteReminder", "Product", s.Product, "In", c.t.N("InDays", max(days, 1)), "Date", c.t.Date(s.Expires))}
		if n.To != "" && s.ID != "" {
			// Only its purchaser acts on a trial: convert it (the buy
			// form with its licenses), end it now, or hear of it again
			// tomorrow.
			m.Buttons = []Button{c.convertButton(s.ProductID, s.Licenses),
				{Label: c.t.T("BtnEndTrial"), Command: "trial end " + s.ID, Style: StyleDanger},
				{Label: c.t.T("BtnRemindTomorrow"), Command: "trial remind " + s.ID}}
		}
		return m
	}
	return Message{Title: c.t.T(title), Text: text, Fields: []Field{
		{c.t.T("FieldProduct"), s.Product},
		{c.t.T("FieldPurchaser"), s.Purchaser},
		{c.t.T("FieldLicenses"), c.t.Num(s.Licenses)}, // the label says what the number counts
		{c.t.T("FieldPrice"), price},
		c.noteDate(n),
	}}
}

// noteDate is the date a notification's subscription renews or ends on,
// with a label that says which.
func (c *call) noteDate(n Notification) Field {
	status := store.Status(n.Sub.Status)
	if status == "" {
		// Written before notifications said the status: what a kind's
		// subscription is.
		switch n.Kind {
		case NotePurchase, NoteConversion, NoteLicenses:
			status = store.StatusActive
		}
	}
	if status == store.StatusActive {
		return Field{c.t.T("FieldRenews"), c.t.Date(n.Sub.Expires)}
	}
	return Field{c.t.T("FieldExpires"), c.t.Date(n.Sub.Expires)}
}

// testNote is the test-mode mark that a confirmation ends with, or "".
func (c *call) testNote() string {
	if c.b.TestMode() {
		return "\n" + c.t.T("TestMode")
	}
	return ""
}

// Scheduling: trial reminders, trial ends, renewals and expiries.

// RunDue does the jobs that are due now, each claimed by this replica
// alone, and returns how many it did. The notifications they cause go
// into the outboxes with their changes.
func (b *Bot) RunDue(ctx context.Context) (int, error) {
	now := b.now().UTC()
	ctx = store.At(ctx, now)
	jobs, err := b.store.ClaimDue(ctx, now, 5*time.Minute, 100)
	if err != nil {
		return 0, err
	}
	done := 0
	var errs []error
	for _, j := range jobs {
		if err := b.safeJob(ctx, j, now); err != nil {
			// Left in flight: another run picks it up when its lease ends.
			errs = append(errs, err)
			continue
		}
		if err := b.store.Done(ctx, j); err != nil {
			errs = append(errs, err)
		}
		done++
	}
	return done, errors.Join(errs...)
}

// safeJob runs a job; a job that panics is an error, left in flight for a
// later run, and does not stop the others.
func (b *Bot) safeJob(ctx context.Context, j store.Job, now time.Time) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s %s/%s: panic: %v", j.Kind, j.Org, j.SubID, p)
		}
	}()
	return b.runJob(ctx, j, now)
}

func (b *Bot) runJob(ctx context.Context, j store.Job, now time.Time) error {
	if j.Kind == store.JobApprovalExpiry {
		return b.expireApproval(ctx, j, now)
	}
	if j.Kind == store.JobMemberCheck {
		return b.checkMembers(ctx, j, now) // of an organization, not a subscription
	}
	s, err := b.store.Subscription(ctx, j.Org, j.SubID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // its change never happened
	}
	if err != nil {
		return err
	}
	c := &call{b: b, ctx: ctx, now: now, t: b.tr("en"), req: Request{Org: j.Org, IdempotencyKey: "job:" + jobKey(j)}}
	expired := s
	expired.Status = store.StatusExpired
	expiry := c.note(NoteExpiry, expired, 0).Note()
	switch j.Kind {
	case store.JobTrialReminder:
		if s.Status != store.StatusTrial || !s.TrialEnd.After(j.Due) || !s.TrialEnd.After(now) {
			return nil
		}
		n := c.note(NoteReminder, s, 0)
		n.To = s.Purchaser.ID
		_, err := b.store.Notify(ctx, j.Org, store.Once{Key: c.req.IdempotencyKey, Note: n.Note()})
		return err
	case store.JobTrialEnd:
		_, err := b.store.Settle(ctx, j, time.Time{}, nil, expiry)
		return err
	case store.JobRenewal:
		if s.Handover == store.HandoverPending && s.Status == store.StatusActive {
			return nil // waits for an admin's decision (handover.go)
		}
		next := s.RenewsAt.AddDate(0, s.Period.Months(), 0)
		var inv *store.Invoice
		if s.Status == store.StatusActive && s.RenewsAt.Equal(j.Due) {
			c.now = j.Due
			// The new period's total: fewer when a reduction was scheduled.
			n := s.Renewing()
			i := c.invoice(s, store.InvoiceLine{Product: s.ProductName, Quantity: n, UnitPrice: s.UnitPrice,
				Amount: s.UnitPrice * int64(n), Kind: "renewal"})
			i.ID = j.Due.Format("20060102") + "-R" + strings.ToUpper(s.ID[:min(len(s.ID), 16)])
			inv = &i
			// The next renewal and this one's charge are scheduled before
			// this renewal is recorded; they do nothing if it is not.
			jobs := []store.Job{{Kind: store.JobRenewal, Org: s.Org, SubID: s.ID, Due: next},
				unusedJob(s.Org, s.ID, now)} // a check for subscriptions older than it
			if i.Status == store.InvoiceOpen {
				jobs = append(jobs, chargeJob(i, now))
			}
			if err := b.store.Schedule(ctx, jobs...); err != nil {
				return err
			}
		}
		_, err := b.store.Settle(ctx, j, next, inv, expiry)
		return err
	case store.JobCharge:
		return c.charge(s, j.Invoice)
	case store.JobChargeExpiry:
		return c.expireCharge(j.Invoice)
	case store.JobUnused:
		return c.checkUnused(j)
	case store.JobHandoverRemind, store.JobHandoverEnd:
		return c.handoverJob(s, j)
	}
	return nil
}

func jobKey(j store.Job) string {
	return string(j.Kind) + "-" + j.SubID + "-" + j.Due.Format("20060102T150405")
}
