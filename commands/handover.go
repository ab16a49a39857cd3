package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// Handover: when a purchaser leaves the organization, the admins decide
// per subscription whether one of them takes it over (and pays for it) or
// it is canceled at its period's end. Until they do, it is not renewed;
// when nobody decides within Config.HandoverGrace after its period ended,
// it ends. The licenses people who left held are freed at once.

// FormHandover is an admin's decision of a handover; its Context is the
// decision and the subscription ("take ID", "cancel ID").
const FormHandover = "handover"

// DefaultHandoverGrace is how long an active subscription whose handover
// nobody decided stays live after its period ended.
const DefaultHandoverGrace = 14 * 24 * time.Hour

// handoverRemindEvery is how often admins are reminded of an undecided
// handover.
const handoverRemindEvery = 24 * time.Hour

// Notification kinds of handovers: to the admins, but NoteLicenseFreed,
// which tells a purchaser.
const (
	NoteHandover         NotificationKind = "handover"
	NoteHandoverReminder NotificationKind = "handover-reminder"
	NoteHandoverDecided  NotificationKind = "handover-decided"
	NoteHandoverBack     NotificationKind = "handover-back"
	NoteHandoverLapsed   NotificationKind = "handover-lapsed"
	NoteLicenseFreed     NotificationKind = "license-freed"
)

// MemberLeft tells the core that user left org (a platform's event, or a
// check that found them gone). For each live subscription they bought,
// the admins are asked who takes it over; the licenses they held are
// freed, and the purchasers concerned are told. Telling it again, or of
// someone who has nothing here, changes nothing.
func (b *Bot) MemberLeft(ctx context.Context, org, user string) error {
	if !store.ValidID(org) || !store.ValidID(user) {
		return fmt.Errorf("member left: %w: %q in %q", store.ErrInvalid, user, org)
	}
	for try := 0; ; try++ {
		now := b.now().UTC()
		d, err := b.store.Departure(ctx, org, user)
		if err != nil {
			return fmt.Errorf("member left: %w", err)
		}
		if !d.Left.IsZero() || len(d.Bought) == 0 && len(d.Held) == 0 {
			return nil
		}
		notes, jobs := b.departureNotes(org, d, now)
		_, err = b.store.MemberLeft(ctx, org, d, now, notes, jobs)
		if errors.Is(err, store.ErrStale) && try < 5 {
			continue // something changed between the read and the change
		}
		if err != nil {
			return fmt.Errorf("member left: %w", err)
		}
		return nil
	}
}

// departureNotes are the notifications and jobs of a member's leaving:
// for each live subscription they bought, the admins' question, its
// daily reminder and the end of its grace; for each license they held of
// someone else's subscription still in use, a word to its purchaser.
func (b *Bot) departureNotes(org string, d store.Departure, now time.Time) ([]*store.Note, []store.Job) {
	c := &call{b: b, now: now, req: Request{Org: org, IdempotencyKey: fmt.Sprint(now.Unix())}}
	var notes []*store.Note
	var jobs []store.Job
	for _, s := range d.Bought {
		if !s.Live() {
			continue
		}
		notes = append(notes, c.handoverNote(NoteHandover, s, "").Note())
		jobs = append(jobs, store.Job{Kind: store.JobHandoverRemind, Org: org, SubID: s.ID, Due: now.Add(handoverRemindEvery)})
		if s.Status == store.StatusActive && !s.RenewsAt.IsZero() {
			jobs = append(jobs, store.Job{Kind: store.JobHandoverEnd, Org: org, SubID: s.ID, Due: s.RenewsAt.Add(b.cfg.HandoverGrace)})
		}
	}
	for _, s := range d.Held {
		// A canceled subscription is in use until its end.
		if !s.Live() && s.Status != store.StatusCanceled || s.Purchaser.ID == d.User {
			continue
		}
		n := c.note(NoteLicenseFreed, s, 0)
		n.To, n.Key = s.Purchaser.ID, fmt.Sprintf("%s:%s:%s:%d", NoteLicenseFreed, s.ID, d.User, now.Unix())
		n.Sub.Person = d.User
		for _, m := range s.Assigned {
			if m.ID == d.User && m.Name != "" {
				n.Sub.Person = m.Name
			}
		}
		notes = append(notes, n.Note())
	}
	return notes, jobs
}

// handoverNote is a notification about the handover of s; person names
// the admin who decided, if one did.
func (c *call) handoverNote(kind NotificationKind, s store.Subscription, person string) Notification {
	n := c.note(kind, s, 0)
	n.Key = fmt.Sprintf("%s:%s:%s", kind, s.ID, c.req.IdempotencyKey)
	n.Sub.Person = person
	n.Sub.Expires = c.b.handoverDeadline(s)
	return n
}

// handoverDeadline is when s ends if nobody decides its handover: a
// trial at its end, an active subscription when the grace after its
// period ends.
func (b *Bot) handoverDeadline(s store.Subscription) time.Time {
	if s.Status == store.StatusActive && !s.RenewsAt.IsZero() {
		return s.RenewsAt.Add(b.cfg.HandoverGrace)
	}
	return s.EndsAt()
}

// MemberBack tells the core that user is a member of org again (Slack:
// an account reactivated). The handovers of their subscriptions that no
// admin decided are withdrawn, and the admins told; licenses freed when
// they left stay free. Of someone who had not left, it changes nothing.
func (b *Bot) MemberBack(ctx context.Context, org, user string) error {
	if !store.ValidID(org) || !store.ValidID(user) {
		return fmt.Errorf("member back: %w: %q in %q", store.ErrInvalid, user, org)
	}
	if left, err := b.store.Left(ctx, org, user); err != nil || !left {
		return err
	}
	for try := 0; ; try++ {
		d, err := b.store.Departure(ctx, org, user)
		if err != nil {
			return fmt.Errorf("member back: %w", err)
		}
		c := &call{b: b, now: b.now().UTC(), req: Request{Org: org, IdempotencyKey: "back-" + fmt.Sprint(d.Left.Unix())}}
		var notes []*store.Note
		var jobs []store.Job
		for _, s := range d.Bought {
			if s.Handover != store.HandoverPending {
				continue
			}
			notes = append(notes, c.handoverNote(NoteHandoverBack, s, "").Note())
			if s.Status == store.StatusActive && !s.RenewsAt.After(c.now) {
				// Its renewal waited: it is due again.
				jobs = append(jobs, store.Job{Kind: store.JobRenewal, Org: org, SubID: s.ID, Due: s.RenewsAt})
			}
		}
		_, err = b.store.MemberBack(ctx, org, d, notes, jobs...)
		if errors.Is(err, store.ErrStale) && try < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("member back: %w", err)
		}
		return nil
	}
}

// handoverMessage renders a handover's notification.
func (c *call) handoverMessage(n Notification) Message {
	s := n.Sub
	licenses := c.t.N("Licenses", s.Licenses)
	args := []any{"Purchaser", s.Purchaser, "Product", s.Product, "Licenses", licenses, "Date", c.t.Date(s.Expires),
		"Admin", s.Person, "Person", s.Person}
	switch n.Kind {
	case NoteHandover, NoteHandoverReminder:
		title := "HandoverTitle"
		if n.Kind == NoteHandoverReminder {
			title = "HandoverTitleReminder"
		}
		price := c.t.T("PriceFree")
		if s.Period != "" {
			price = c.perPeriod(c.t.Money(s.Price, s.Currency), store.Period(s.Period))
		}
		return Message{Title: c.t.T(title), Text: c.t.T("HandoverAsk", args...),
			Fields: []Field{{c.t.T("FieldProduct"), s.Product}, {c.t.T("FieldPurchaser"), s.Purchaser},
				{c.t.T("FieldLicenses"), c.t.Num(s.Licenses)}, {c.t.T("FieldPrice"), price}},
			Buttons: c.handoverButtons(s.ID)}
	case NoteHandoverDecided:
		text := "HandoverTook"
		if s.Reason == store.DecideCancel {
			text = "HandoverCanceledBy"
		}
		return Message{Title: c.t.T("HandoverTitleDecided"), Text: c.t.T(text, args...)}
	case NoteHandoverBack:
		return Message{Title: c.t.T("HandoverTitleBack"), Text: c.t.T("HandoverBack", args...)}
	case NoteHandoverLapsed:
		return Message{Title: c.t.T("HandoverTitleLapsed"), Text: c.t.T("HandoverLapsed", args...)}
	}
	// NoteLicenseFreed
	return Message{Title: c.t.T("HandoverTitleFreed"), Text: c.t.T("HandoverFreed", args...),
		Buttons: []Button{{Label: c.t.T("BtnAssign"), Command: "assign " + s.ID}}}
}

// handoverButtons are an admin's two choices.
func (c *call) handoverButtons(subID string) []Button {
	return []Button{{Label: c.t.T("HandoverBtnTake"), Command: "admin handover take " + subID, Style: StylePrimary},
		{Label: c.t.T("HandoverBtnCancel"), Command: "admin handover cancel " + subID, Style: StyleDanger}}
}

// isHandoverWord reports whether an admin's word asks for handovers.
func isHandoverWord(w string) bool {
	w = strings.ToLower(w)
	return w == "handover" || w == "uebergabe" || w == "übergabe"
}

// isShowWord reports whether w asks for the list ("admin handover show",
// as Discord's option sends it).
func isShowWord(w string) bool {
	w = strings.ToLower(w)
	return w == "show" || w == "list" || w == "zeigen" || w == "liste"
}

// handoverAction reads a decision's word: DecideTake, DecideCancel or "".
func handoverAction(w string) string {
	switch strings.ToLower(w) {
	case "take", "uebernehmen", "übernehmen":
		return store.DecideTake
	case "cancel", "kuendigen", "kündigen":
		return store.DecideCancel
	}
	return ""
}

// maxHandoversListed is the most pending handovers "admin handover" lists.
const maxHandoversListed = 20

// handoverCmd answers "admin handover [show|take ID|cancel ID]": the handovers
// that wait for a decision, or the form of a decision.
func (c *call) handoverCmd() Response {
	args := c.args[1:]
	if len(args) == 0 || len(args) == 1 && isShowWord(args[0]) {
		return c.handoverList()
	}
	action := handoverAction(args[0])
	if action == "" || len(args) != 2 {
		return c.fail(c.t.T("HandoverUsage"))
	}
	s, r := c.pendingHandover(args[1])
	if r != nil {
		return *r
	}
	if action == store.DecideCancel {
		f := c.newForm(FormHandover, "HandoverTitleCancelForm", "HandoverBtnCancel")
		f.Context = action + " " + s.ID
		f.Inputs = []Input{
			{ID: "what", Kind: KindInfo, Label: c.t.T("FieldProduct"), Text: c.t.N("HandoverCancelInfo", s.AssignedCount,
				"Product", s.ProductName, "Purchaser", s.Purchaser.Name, "Date", c.t.Date(c.periodEnd(s)))},
			{ID: "confirm", Kind: KindConfirm, Label: c.t.T("FieldConfirm"), Required: true,
				Options: []Option{{Value: "yes", Label: c.t.T("HandoverConfirmCancel")}}},
		}
		return Response{Form: f}
	}
	f := c.newForm(FormHandover, "HandoverTitleTakeForm", "HandoverBtnTake")
	f.Context = action + " " + s.ID
	f.Inputs = []Input{{ID: "what", Kind: KindInfo, Label: c.t.T("FieldProduct"), Text: c.takeInfo(s)}}
	if s.Status != store.StatusActive {
		// A trial costs nothing: a confirmation is enough.
		f.Inputs = append(f.Inputs, Input{ID: "confirm", Kind: KindConfirm, Label: c.t.T("FieldConfirm"), Required: true,
			Options: []Option{{Value: "yes", Label: c.t.T("HandoverConfirmTake")}}})
		return Response{Form: f}
	}
	opts := c.methodOptions()
	if len(opts) == 0 {
		return Response{Messages: []Message{{Text: c.t.T("HandoverNoMethod", "Product", s.ProductName),
			Buttons: []Button{{Label: c.t.T("BtnPayment"), Command: "payment", Style: StylePrimary}}}}}
	}
	f.Inputs = append(f.Inputs, Input{ID: "method", Kind: KindSelect, Label: c.t.T("FieldMethod"), Required: true,
		Options: opts, Value: []string{opts[0].Value}})
	return Response{Form: f}
}

// takeInfo says what taking s over means.
func (c *call) takeInfo(s store.Subscription) string {
	if s.Status == store.StatusTrial {
		return c.t.T("HandoverTakeTrial", "Product", s.ProductName, "Purchaser", s.Purchaser.Name, "Date", c.t.Date(c.periodEnd(s)))
	}
	return c.t.T("HandoverTakeInfo", "Product", s.ProductName, "Purchaser", s.Purchaser.Name,
		"Licenses", c.t.N("Licenses", s.Renewing()), "Price", c.price(s), "Date", c.t.Date(c.periodEnd(s)))
}

// periodEnd is when s renews or ends next: the end of its period (or
// trial), or now when that passed while its handover waited.
func (c *call) periodEnd(s store.Subscription) time.Time {
	if end := s.EndsAt(); end.After(c.now) {
		return end
	}
	return c.now
}

// pendingHandover reads a subscription whose handover waits for a
// decision, or answers why there is none.
func (c *call) pendingHandover(id string) (store.Subscription, *Response) {
	var s store.Subscription
	var err error
	if store.ValidID(id) {
		s, err = c.b.store.Subscription(c.ctx, c.req.Org, id)
	} else {
		err = store.ErrNotFound
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		r := c.storeFault(err)
		return s, &r
	case s.Handover == store.HandoverTaken || s.Handover == store.HandoverCanceled:
		r := c.decidedAlready(s)
		return s, &r
	case s.Handover == store.HandoverPending && s.Live():
		return s, nil
	}
	r := c.fail(c.t.T("HandoverNone"))
	return s, &r
}

// decidedAlready says who decided the handover of s, and how.
func (c *call) decidedAlready(s store.Subscription) Response {
	text := "HandoverDecidedTaken"
	if s.Handover == store.HandoverCanceled {
		text = "HandoverDecidedCanceled"
	}
	return c.fail(c.t.T(text, "Admin", s.HandoverBy.Name, "Product", s.ProductName, "Date", c.t.Date(c.periodEnd(s))))
}

// handoversWaiting adds to the admin overview's head how many handovers
// of the organization's subscriptions wait (read with the view), with a
// button to list them.
func (c *call) handoversWaiting(head *Message) {
	if n := c.view.Handovers; n > 0 {
		head.Text += "\n" + c.t.N("HandoverWaitingAdmin", n)
		head.Buttons = append(head.Buttons, Button{Label: c.t.T("HandoverBtnList"), Command: "admin handover", Style: StylePrimary})
	}
}

// handoverList lists the handovers that wait for a decision.
func (c *call) handoverList() Response {
	subs, n, err := c.b.store.PendingHandovers(c.ctx, c.req.Org, maxHandoversListed)
	if err != nil {
		return c.storeFault(err)
	}
	head := Message{Title: c.t.T("HandoverTitleList")}
	var msgs []Message
	for _, s := range subs {
		if !s.Live() {
			n--
			continue
		}
		msgs = append(msgs, Message{Title: s.ProductName,
			Text:    c.t.T("HandoverListLine", "Purchaser", s.Purchaser.Name, "Since", c.t.Date(s.HandoverFrom), "Date", c.t.Date(c.b.handoverDeadline(s))),
			Fields:  c.subFields(s, true),
			Buttons: c.handoverButtons(s.ID)})
	}
	if len(msgs) == 0 {
		head.Text = c.t.T("HandoverNoneWaiting")
		return Response{Messages: []Message{head}}
	}
	head.Text = c.t.N("HandoverWaiting", max(n, len(msgs)))
	return Response{Messages: append([]Message{head}, msgs...)}
}

// handoverSubmit decides a handover as the admin who submits the form.
func handoverSubmit(c *call) Response {
	if !c.isAdmin() {
		return c.fail(c.t.T("ErrAdminOnly"))
	}
	action, id, _ := strings.Cut(c.req.Form.Context, " ")
	if action = handoverAction(action); action == "" {
		return c.fail(c.t.T("ErrBadRequest"))
	}
	s, r := c.pendingHandover(id)
	if r != nil {
		return *r
	}
	errs := c.checked
	var m store.PaymentMethod
	var p store.BillingProfile
	if action == store.DecideTake && s.Status == store.StatusActive {
		var ok bool
		m, p, ok = c.view.Billing.Method(c.value("method"))
		switch {
		case c.value("method") == "":
			errs.add("method", c.t.T("ErrMethodRequired"))
		case !ok:
			errs.add("method", c.t.T("ErrNoMethod"))
		case m.Expired(c.now):
			errs.add("method", c.t.T("ErrMethodExpired", "Method", methodLabel(m)))
		}
	}
	if (action == store.DecideCancel || s.Status != store.StatusActive) && c.value("confirm") != "yes" {
		errs.add("confirm", c.t.T("ErrConfirm"))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	decided := s
	decided.Handover, decided.HandoverBy = store.HandoverTaken, store.Member{ID: c.req.User.ID, Name: c.req.User.Name}
	var resp Response
	if action == store.DecideTake {
		text := c.t.T("HandoverTakenTrial", "Product", s.ProductName, "Date", c.t.Date(c.periodEnd(s)))
		if s.Status == store.StatusActive {
			text = c.t.T("HandoverTaken", "Product", s.ProductName, "Date", c.t.Date(c.periodEnd(s)),
				"Price", c.price(s), "Method", methodLabel(m))
		}
		resp = Response{Messages: []Message{{Title: c.t.T("HandoverTitleDecided"), Text: text,
			Buttons: []Button{{Label: c.t.T("BtnAssign"), Command: "assign " + s.ID}}}}}
	} else {
		decided.Handover, decided.Status = store.HandoverCanceled, store.StatusCanceled
		resp = Response{Messages: []Message{{Title: c.t.T("HandoverTitleDecided"),
			Text: c.t.T("HandoverCanceled", "Product", s.ProductName, "Date", c.t.Date(c.periodEnd(s)))}}}
	}
	note := c.handoverNote(NoteHandoverDecided, decided, c.req.User.Name)
	note.Sub.Reason, note.Sub.Expires = action, c.periodEnd(s)
	// A period that ended while the handover waited renews (or, canceled,
	// ends) at once: its renewal is due again. Scheduled with the change
	// (a refused change leaves it nothing to do).
	var jobs []store.Job
	if s.Status == store.StatusActive && !s.RenewsAt.After(c.now) {
		jobs = append(jobs, store.Job{Kind: store.JobRenewal, Org: s.Org, SubID: s.ID, Due: s.RenewsAt})
	}
	res, err := c.b.store.DecideHandover(c.ctx, c.once(resp, note), c.req.Org,
		store.Member{ID: c.req.User.ID, Name: c.req.User.Name}, s.ID, action, p.ID, m.ID, c.now, jobs...)
	switch {
	case errors.Is(err, store.ErrDecided):
		if now, err := c.b.store.Subscription(c.ctx, c.req.Org, s.ID); err == nil {
			return c.decidedAlready(now)
		}
		return c.fail(c.t.T("HandoverNone"))
	case errors.Is(err, store.ErrStale), errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrNotFound):
		return c.fail(c.t.T("HandoverNone"))
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// handoverJob runs the jobs of an undecided handover: the admins' daily
// reminder, and the end of the grace after the period ended.
func (c *call) handoverJob(s store.Subscription, j store.Job) error {
	if s.Handover != store.HandoverPending {
		return nil // decided or withdrawn: nothing to remind of or end
	}
	if !s.Live() {
		// A trial that ended while its handover waited: nothing to decide.
		_, err := c.b.store.EndHandover(c.ctx, j.Org, s.ID, s.RenewsAt, nil)
		return err
	}
	switch j.Kind {
	case store.JobHandoverRemind:
		next := store.Job{Kind: store.JobHandoverRemind, Org: j.Org, SubID: s.ID, Due: j.Due.Add(handoverRemindEvery)}
		if err := c.b.store.Schedule(c.ctx, next); err != nil {
			return err
		}
		_, err := c.b.store.Notify(c.ctx, j.Org, store.Once{Key: c.req.IdempotencyKey,
			Note: c.handoverNote(NoteHandoverReminder, s, "").Note()})
		return err
	case store.JobHandoverEnd:
		if s.Status != store.StatusActive {
			return nil // a trial ends by itself
		}
		if end := c.b.handoverDeadline(s); j.Due.Before(end) {
			// The grace grew since the job was scheduled.
			return c.b.store.Schedule(c.ctx, store.Job{Kind: store.JobHandoverEnd, Org: j.Org, SubID: s.ID, Due: end})
		}
		lapsed := s
		lapsed.Status = store.StatusExpired
		_, err := c.b.store.EndHandover(c.ctx, j.Org, s.ID, s.RenewsAt, c.handoverNote(NoteHandoverLapsed, lapsed, "").Note())
		return err
	}
	return nil
}
