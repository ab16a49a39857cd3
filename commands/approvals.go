package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/currency"

	"github.com/billingbot/billingbot/store"
)

// Approvals and spend caps. An admin may require approval for purchases
// (and license increases) whose monthly equivalent is above an amount, per
// currency ("admin approval 100 EUR"), and cap what each purchaser spends
// in a month ("admin cap 500 EUR").
//
// Over the threshold, the change the user confirmed is not made: at the
// moment it would have been, it becomes a request (held) and the admins
// get its preview with Approve and Decline buttons. The first decision
// wins (store.DecideApproval). Approve runs the very submission the user
// confirmed, as the user, with the quote they confirmed, under a key of
// the request's own: it is charged as the confirmed change would have
// been, only if that quote still holds; if not, the request ends as
// stale and must be made again. Decline asks for a reason. Requests expire
// after ApprovalTTL.

// ApprovalTTL is how long a request for approval waits for a decision.
const ApprovalTTL = 7 * 24 * time.Hour

// FormDecline asks an admin why a request is declined.
const FormDecline = "approval-decline"

// Notifications of requests for approval: to the admins, a request (with
// Approve and Decline buttons) and its withdrawal; to the purchaser, the
// outcome.
const (
	NoteApprovalRequest   NotificationKind = "approval-request"
	NoteApprovalWithdrawn NotificationKind = "approval-withdrawn"
	NoteApprovalApproved  NotificationKind = "approval-approved"
	NoteApprovalDeclined  NotificationKind = "approval-declined"
	NoteApprovalExpired   NotificationKind = "approval-expired"
	NoteApprovalStale     NotificationKind = "approval-stale"
)

// maxDeclineReason is the most characters a reason for declining holds
// (the most checkValues lets any input but feedback hold).
const maxDeclineReason = 200

// approvalDoc is the core's record of a held change: the submission the
// user confirmed and what the quote they confirmed charges.
type approvalDoc struct {
	Form    Submission `json:"form"`
	Amounts string     `json:"amounts"`
}

// approvalRun marks a call that makes an approved change: it is not held
// again, and it is made only if it charges what was approved.
type approvalRun struct {
	amounts string // the approved quote's amounts
	stale   bool   // they no longer hold
}

// holds reports whether q charges what the approved quote did: the same
// change at the same amounts, today and each period. The day the next
// period starts is not compared (a purchase approved days later starts
// its period then), but what a day changes is: an increase of licenses,
// prorated to the days left, holds on the day it was requested only.
func (r *approvalRun) holds(q quote) bool {
	r.stale = q.amounts() != r.amounts
	return !r.stale
}

// amounts names what a quote charges, without the day its next period
// starts (digest names that too).
func (q quote) amounts() string {
	q.nextAt = time.Time{}
	return q.digest()
}

// capped answers a change that would take the purchaser over the monthly
// spend cap of its currency: a field error on input naming what is left
// of it this month.
func (c *call) capped(q quote, input string) (Response, bool) {
	limit, ok := c.view.Cap[q.currency]
	if !ok || q.today <= 0 {
		return Response{}, false
	}
	spent, err := c.b.store.SpentSince(c.ctx, c.req.Org, c.req.User.ID, q.currency, monthStart(c.now))
	if err != nil {
		return c.storeFault(err), true
	}
	if spent+q.today <= limit {
		return Response{}, false
	}
	money := func(v int64) string { return c.t.Money(v, q.currency) }
	return Response{FieldErrors: fieldErrors{input: c.t.T("ApprovalOverCap", "Amount", money(q.today),
		"Remaining", money(max(limit-spent, 0)), "Cap", money(limit))}}, true
}

// monthStart is the first moment of now's month (UTC).
func monthStart(now time.Time) time.Time {
	y, m, _ := now.UTC().Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// held turns a confirmed change whose monthly equivalent is above the
// organization's approval threshold into a request for approval, and
// answers that it was sent: nothing is charged. requote computes the
// change's quote again (in the language c.t has): the admins see the
// preview in theirs.
func (c *call) held(q quote, monthly int64, product string, requote func() quote) (Response, bool) {
	limit, ok := c.view.Approval[q.currency]
	if c.approving != nil || !ok || monthly <= limit {
		return Response{}, false
	}
	var previews Previews
	t := c.t
	c.t = c.tr("en")
	previews.EN = requote().text
	c.t = c.tr("de")
	previews.DE = requote().text
	c.t = t
	sub := *c.req.Form
	sub.Live, sub.Draft = false, false
	doc, _ := json.Marshal(approvalDoc{Form: sub, Amounts: q.amounts()}) // plain data: cannot fail
	a := store.Approval{ID: store.NewID(), Org: c.req.Org, User: store.Member{ID: c.req.User.ID, Name: c.req.User.Name},
		Product: product, Currency: q.currency, Monthly: monthly, Today: q.today, Doc: string(doc),
		Created: c.now, Expires: c.now.Add(ApprovalTTL)}
	money := func(v int64) string { return c.t.Money(v, q.currency) }
	resp := Response{Messages: []Message{{Title: c.t.T("ApprovalSentTitle"),
		Text: c.t.T("ApprovalSent", "Product", product, "Amount", money(monthly), "Limit", money(limit),
			"Date", c.t.Date(a.Expires)) + "\n\n" + q.text,
		Buttons: []Button{{Label: c.t.T("BtnApprovalRequests"), Command: "requests"},
			{Label: c.t.T("BtnApprovalWithdraw"), Command: "requests withdraw " + a.ID, Style: StyleDanger}}}}}
	note := c.approvalNote(NoteApprovalRequest, a, "")
	note.Sub.Preview = previews
	res, err := c.b.store.CreateApproval(c.ctx, c.once(resp, note), a)
	switch {
	case err != nil:
		return c.storeFault(err), true
	case res.Repeat:
		return c.replay(res, resp), true
	}
	return resp, true
}

// approvalNote is a notification about a request: to the admins, or
// (with To set by the caller) to its purchaser.
func (c *call) approvalNote(kind NotificationKind, a store.Approval, reason string) Notification {
	n := Notification{Org: a.Org, Kind: kind, Key: string(kind) + ":" + a.ID,
		Sub: NotifiedSub{ID: a.ID, Product: a.Product, Purchaser: a.User.Name, Price: a.Monthly, Currency: a.Currency,
			Expires: a.Expires, Reason: reason, By: shown(c.req.User.Name)}}
	switch kind {
	case NoteApprovalApproved, NoteApprovalDeclined, NoteApprovalExpired, NoteApprovalStale:
		n.To = a.User.ID
	}
	return n
}

// renderApproval writes a notification about a request for approval.
func (c *call) renderApproval(n Notification) Message {
	s := n.Sub
	money := c.t.Money(s.Price, s.Currency)
	switch n.Kind {
	case NoteApprovalRequest:
		text := c.t.T("ApprovalNote", "Purchaser", s.Purchaser, "Product", s.Product, "Amount", money, "Date", c.t.Date(s.Expires))
		if p := s.Preview.In(c.t.lang); p != "" {
			text += "\n\n" + p
		}
		return Message{Title: c.t.T("ApprovalNoteTitle"), Text: text, Buttons: []Button{
			{Label: c.t.T("BtnApprovalApprove"), Command: "admin approve " + s.ID, Style: StylePrimary},
			{Label: c.t.T("BtnApprovalDecline"), Command: "admin decline " + s.ID, Style: StyleDanger}}}
	case NoteApprovalWithdrawn:
		return Message{Title: c.t.T("ApprovalWithdrawnTitle"), Text: c.t.T("ApprovalNoteWithdrawn", "Purchaser", s.Purchaser, "Product", s.Product)}
	case NoteApprovalApproved:
		return Message{Title: c.t.T("ApprovalApprovedTitle"), Text: c.t.T("ApprovalNoteApproved", "By", s.By, "Product", s.Product),
			Buttons: []Button{{Label: c.t.T("BtnProducts"), Command: "products"}}}
	case NoteApprovalDeclined:
		return Message{Title: c.t.T("ApprovalDeclinedTitle"),
			Text: c.t.T("ApprovalNoteDeclined", "By", s.By, "Product", s.Product, "Reason", s.Reason)}
	case NoteApprovalExpired:
		return Message{Title: c.t.T("ApprovalExpiredTitle"), Text: c.t.T("ApprovalNoteExpired", "Product", s.Product, "Date", c.t.Date(s.Expires))}
	default: // NoteApprovalStale
		return Message{Title: c.t.T("ApprovalStaleTitle"), Text: c.t.T("ApprovalNoteStale", "Product", s.Product)}
	}
}

// adminApprovals runs the admin subcommands of approvals: the threshold
// ("approval"/"freigabe"), the cap ("cap"/"limit") and the decisions
// ("approve"/"genehmigen", "decline"/"ablehnen"); ok is false for other
// words.
func (c *call) adminApprovals() (Response, bool) {
	switch strings.ToLower(c.args[0]) {
	case "approval", "freigabe":
		return c.setLimits(store.LimitApproval), true
	case "cap", "limit":
		return c.setLimits(store.LimitCap), true
	case "requests", "anfragen":
		return c.orgRequests(), true
	case "approve", "genehmigen":
		return c.approve(), true
	case "decline", "ablehnen":
		return c.declineForm(), true
	}
	return Response{}, false
}

// maxListedRequests is the most requests a list shows.
const maxListedRequests = 20

// pendingApprovals adds to the admin view how many requests wait for a
// decision (read with the view), with a button that lists them.
func (c *call) pendingApprovals(head *Message) {
	if n := c.view.OpenApprovals; n > 0 {
		head.Text += "\n" + c.t.N("ApprovalPending", n)
		head.Buttons = append(head.Buttons, Button{Label: c.t.T("BtnApprovalPending"), Command: "admin requests", Style: StylePrimary})
	}
}

// orgRequests is "admin requests": the organization's open requests, the
// oldest first, each with its Approve and Decline buttons.
func (c *call) orgRequests() Response {
	open, n, err := c.b.store.OrgOpenApprovals(c.ctx, c.req.Org, maxListedRequests)
	if err != nil {
		return c.storeFault(err)
	}
	if n == 0 {
		return Response{Messages: []Message{{Title: c.t.T("ApprovalOrgTitle"), Text: c.t.T("ApprovalOrgNone")}}}
	}
	head := Message{Title: c.t.T("ApprovalOrgTitle"), Text: c.t.N("ApprovalPending", int(n))}
	if int(n) > len(open) {
		head.Text += "\n" + c.t.N("ApprovalOrgMore", int(n)-len(open))
	}
	msgs := []Message{head}
	for _, a := range open {
		msgs = append(msgs, Message{Title: a.Product, Fields: []Field{
			{c.t.T("FieldPurchaser"), shown(a.User.Name)},
			{c.t.T("ApprovalFieldMonthly"), c.t.Money(a.Monthly, a.Currency)},
			{c.t.T("ApprovalFieldRequested"), c.t.Date(a.Created)},
			{c.t.T("FieldExpires"), c.t.Date(a.Expires)},
		}, Buttons: []Button{
			{Label: c.t.T("BtnApprovalApprove"), Command: "admin approve " + a.ID, Style: StylePrimary},
			{Label: c.t.T("BtnApprovalDecline"), Command: "admin decline " + a.ID, Style: StyleDanger}}})
	}
	return Response{Messages: msgs}
}

// setLimits reads "<amount> <currency>" (either order), or "off" with an
// optional currency, and sets the threshold or cap; alone, it says what
// is set.
func (c *call) setLimits(kind string) Response {
	args := c.args[1:]
	current := c.view.Approval
	example, on, off := "admin approval 100 EUR", "ApprovalSetOn", "ApprovalSetOff"
	if kind == store.LimitCap {
		current, example, on, off = c.view.Cap, "admin cap 500 EUR", "ApprovalCapOn", "ApprovalCapOff"
	}
	usage := c.fail(c.t.T("ApprovalErrUsage", "Example", c.b.CommandLine(c.t.lang, c.req.Command, example)))
	if len(args) == 0 {
		return Response{Messages: []Message{{Text: c.limitsAre(kind)}}}
	}
	if len(args) > 2 {
		return usage
	}
	if w := strings.ToLower(args[0]); w == "off" || w == "aus" {
		change := store.Limits{}
		if len(args) == 2 {
			change[strings.ToUpper(args[1])] = 0
		} else {
			for cur := range current {
				change[cur] = 0
			}
		}
		for cur := range change {
			if _, ok := current[cur]; !ok {
				delete(change, cur)
			}
		}
		if len(change) == 0 {
			return Response{Messages: []Message{{Text: c.limitsAre(kind)}}}
		}
		if err := c.b.store.SetLimits(c.ctx, c.req.Org, c.req.User.ID, kind, change); err != nil {
			return c.storeFault(err)
		}
		var said []string
		for _, cur := range sortedKeys(change) {
			said = append(said, c.t.T(off, "Currency", cur))
		}
		return Response{Messages: []Message{{Text: strings.Join(said, "\n")}}}
	}
	if len(args) != 2 {
		return usage
	}
	currencies := c.catalogCurrencies()
	amountArg, cur := args[0], strings.ToUpper(args[1])
	if slices.Contains(currencies, strings.ToUpper(args[0])) {
		amountArg, cur = args[1], strings.ToUpper(args[0])
	}
	if !slices.Contains(currencies, cur) {
		return c.fail(c.t.T("ApprovalErrCurrency", "Currency", shown(cur), "Currencies", strings.Join(currencies, ", ")))
	}
	amount, ok := parseAmount(amountArg, cur)
	if !ok {
		return usage
	}
	if err := c.b.store.SetLimits(c.ctx, c.req.Org, c.req.User.ID, kind, store.Limits{cur: amount}); err != nil {
		return c.storeFault(err)
	}
	return Response{Messages: []Message{{Text: c.t.T(on, "Amount", c.t.Money(amount, cur))}}}
}

// limitsAre says the organization's approval thresholds or spend caps.
func (c *call) limitsAre(kind string) string {
	limits, is, none := c.view.Approval, "ApprovalIs", "ApprovalIsNone"
	if kind == store.LimitCap {
		limits, is, none = c.view.Cap, "ApprovalCapIs", "ApprovalCapNone"
	}
	if len(limits) == 0 {
		return c.t.T(none)
	}
	var amounts []string
	for _, cur := range sortedKeys(limits) {
		amounts = append(amounts, c.t.Money(limits[cur], cur))
	}
	return c.t.T(is, "Amounts", strings.Join(amounts, ", "))
}

func sortedKeys(m store.Limits) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// catalogCurrencies are the currencies the catalog's products cost in.
func (c *call) catalogCurrencies() []string {
	var out []string
	for _, p := range c.b.catalog.Products {
		if !slices.Contains(out, p.Currency) {
			out = append(out, p.Currency)
		}
	}
	slices.Sort(out)
	return out
}

var amountPattern = regexp.MustCompile(`^([0-9]{1,12})(?:[.,]([0-9]{1,3}))?$`)

// parseAmount reads an amount of a currency as an admin types it ("100",
// "99.50", "99,50") into minor units; more fraction digits than the
// currency has, or none above zero, are refused.
func parseAmount(s, cur string) (int64, bool) {
	m := amountPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	scale := 2
	if u, err := currency.ParseISO(cur); err == nil {
		scale, _ = currency.Standard.Rounding(u)
	}
	if len(m[2]) > scale {
		return 0, false
	}
	n, err := strconv.ParseInt(m[1]+m[2]+strings.Repeat("0", scale-len(m[2])), 10, 64)
	if err != nil || n <= 0 || n > 1e15 {
		return 0, false
	}
	return n, true
}

// approval reads the request an admin's or purchaser's command names, or
// answers why there is none.
func (c *call) approval(id string) (store.Approval, *Response) {
	if !store.ValidID(id) {
		r := c.fail(c.t.T("ApprovalGone"))
		return store.Approval{}, &r
	}
	a, err := c.b.store.Approval(c.ctx, c.req.Org, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		r := c.fail(c.t.T("ApprovalGone"))
		return a, &r
	case err != nil:
		r := c.storeFault(err)
		return a, &r
	}
	return a, nil
}

// decided answers a decision that came too late: the request expired, or
// another decision was made first (who made it, and when).
func (c *call) decided(a store.Approval, d store.Decision) Response {
	if d.Expired || d.Status == store.ApprovalExpired {
		return c.fail(c.t.T("ApprovalAlreadyExpired", "Date", c.t.Date(a.Expires)))
	}
	id := map[store.ApprovalStatus]string{
		store.ApprovalApproved: "ApprovalAlreadyApproved", store.ApprovalDeclined: "ApprovalAlreadyDeclined",
		store.ApprovalWithdrawn: "ApprovalAlreadyWithdrawn", store.ApprovalStale: "ApprovalAlreadyStale",
	}[d.Status]
	if id == "" {
		id = "ApprovalGone"
	}
	by := d.ByName
	if d.Status == store.ApprovalWithdrawn {
		by = a.User.Name
	}
	return c.fail(c.t.T(id, "By", shown(by), "Date", c.t.DateTime(d.At), "Product", a.Product))
}

// standing is the decision a request stands at, as read.
func standing(a store.Approval, now time.Time) store.Decision {
	d := store.Decision{Status: a.Status, By: a.By, ByName: a.ByName, At: a.At}
	d.Expired = a.Status == store.ApprovalOpen && !now.Before(a.Expires)
	return d
}

// approve is "admin approve <id>": the first decision wins; the change is
// then made as its purchaser confirmed it.
func (c *call) approve() Response {
	if len(c.args) != 2 {
		return c.fail(c.t.T("ApprovalGone"))
	}
	a, r := c.approval(c.args[1])
	if r != nil {
		return *r
	}
	d, err := c.b.store.DecideApproval(c.ctx, a, store.ApprovalOpen, store.ApprovalApproved, c.req.User.ID, shown(c.req.User.Name), "", false, c.now)
	if err != nil {
		return c.storeFault(err)
	}
	// An approved request whose change a fault kept from being made (the
	// approver heard that it may not have been) is made by the next click
	// of the approver (their first answer was lost), or of any admin once
	// the approver's own try has certainly ended. The request's key makes
	// the change once.
	mine := d.Made || d.By == c.req.User.ID
	if d.Status != store.ApprovalApproved || a.Done || !mine && c.now.Sub(d.At) < approvalTryEnds {
		return c.decided(a, d)
	}
	return c.makeApproved(a, d)
}

// approvalTryEnds is how long after an approval its approver's try to
// make the change has certainly ended (a request's deadlines, a payment's
// included): later, another admin's click completes a change not made.
const approvalTryEnds = 2 * time.Minute

// makeApproved makes the change of an approved request (d) as its
// purchaser confirmed it, and tells the purchaser; when it no longer
// holds, the request ends as stale and both are told that it must be made
// again. An admin other than the approver only completes a change that
// was not made; one that was is answered as decided.
func (c *call) makeApproved(a store.Approval, d store.Decision) Response {
	other := !d.Made && d.By != c.req.User.ID // completing another's approval
	var doc approvalDoc
	f, known := form{}, false
	if json.Unmarshal([]byte(a.Doc), &doc) == nil {
		f, known = c.b.forms[doc.Form.FormID]
	}
	member, err := c.req.Members.Member(c.ctx, a.User.ID)
	left := errors.Is(err, ErrNoMember) || err == nil && (member.Gone || member.Bot)
	if !known || left {
		return c.staleApproval(a, left)
	}
	pc := &call{b: c.b, ctx: c.ctx, now: c.now, name: c.name, approving: &approvalRun{amounts: doc.Amounts},
		req: Request{Org: a.Org, User: Member{ID: a.User.ID, Name: a.User.Name}, Form: &doc.Form,
			IdempotencyKey: "approval-" + a.ID, Members: c.req.Members, Command: c.req.Command}}
	var opts store.ViewOptions
	if f.view != nil {
		opts = f.view(&doc.Form, c.now)
	}
	opts.Once, opts.Now = onceKey(pc.req), c.now
	if err := c.b.load(pc, opts); err != nil {
		return c.storeFault(err)
	}
	made := pc.view.Reply != "" // by an earlier click: the change's record
	if !made {
		pc.checked = fieldErrors{}
		resp := f.submit(pc)
		switch {
		case pc.approving.stale, len(resp.FieldErrors) > 0, pc.result == "refused":
			return c.staleApproval(a, false)
		case pc.result == "unavailable", pc.result == "error":
			// A fault, which may have come after the change was made: the
			// approving admin may click again (the request's key makes
			// it once); the purchaser heard nothing yet.
			msg := map[string]string{"unavailable": "ErrUnavailableUnsure", "error": "ErrInternalUnsure"}[pc.result]
			r := c.fail(c.t.T(msg))
			c.result = pc.result
			return r
		}
	}
	// Done: a click after the change's record has expired (a day) makes
	// nothing again.
	if err := c.b.store.ApprovalDone(c.ctx, a.Org, a.ID); err != nil {
		return c.storeFault(err)
	}
	if made && other {
		return c.decided(a, d)
	}
	note := c.approvalNote(NoteApprovalApproved, a, "")
	note.Sub.By = shown(d.ByName)
	if _, err := c.b.store.Notify(c.ctx, a.Org, store.Once{Key: note.Key, Note: note.Note()}); err != nil {
		return c.storeFault(err)
	}
	if other {
		return Response{Messages: []Message{{Text: c.t.T("ApprovalCompletedAdmin", "By", shown(d.ByName),
			"Purchaser", shown(a.User.Name), "Product", a.Product, "Date", c.t.DateTime(d.At))}}}
	}
	return Response{Messages: []Message{{Text: c.t.T("ApprovalApprovedAdmin", "Purchaser", shown(a.User.Name), "Product", a.Product)}}}
}

// staleApproval ends an approved request whose change can no longer be
// made as confirmed (or whose purchaser left): nothing is charged, and
// the purchaser is told to request it again.
func (c *call) staleApproval(a store.Approval, left bool) Response {
	var notes []*store.Note
	if !left {
		notes = append(notes, c.approvalNote(NoteApprovalStale, a, "").Note())
	}
	if _, err := c.b.store.DecideApproval(c.ctx, a, store.ApprovalApproved, store.ApprovalStale, c.req.User.ID,
		shown(c.req.User.Name), "", false, c.now, notes...); err != nil {
		return c.storeFault(err)
	}
	if left {
		return c.fail(c.t.T("ApprovalPurchaserLeft", "Purchaser", shown(a.User.Name), "Product", a.Product))
	}
	return c.fail(c.t.T("ApprovalStaleAdmin", "Purchaser", shown(a.User.Name), "Product", a.Product))
}

// declineForm is "admin decline <id>": the form that asks why.
func (c *call) declineForm() Response {
	if len(c.args) != 2 {
		return c.fail(c.t.T("ApprovalGone"))
	}
	a, r := c.approval(c.args[1])
	if r != nil {
		return *r
	}
	if d := standing(a, c.now); d.Expired || d.Status != store.ApprovalOpen {
		return c.decided(a, d)
	}
	f := c.newForm(FormDecline, "ApprovalDeclineTitle", "BtnApprovalDecline")
	f.Context = a.ID
	f.Inputs = []Input{
		{ID: "request", Kind: KindInfo, Label: c.t.T("ApprovalFieldRequest"),
			Text: c.t.T("ApprovalNote", "Purchaser", shown(a.User.Name), "Product", a.Product,
				"Amount", c.t.Money(a.Monthly, a.Currency), "Date", c.t.Date(a.Expires))},
		{ID: "reason", Kind: KindParagraph, Label: c.t.T("ApprovalFieldReason"), Required: true, MaxLength: maxDeclineReason},
	}
	return Response{Form: f}
}

// declineSubmit declines a request with the admin's reason, and tells the
// purchaser why.
func declineSubmit(c *call) Response {
	if !c.isAdmin() {
		return c.fail(c.t.T("ErrAdminOnly"))
	}
	errs := c.checked
	reason := c.value("reason")
	switch n := utf8.RuneCountInString(reason); {
	case n == 0:
		errs.add("reason", c.t.T("ApprovalErrReason", "Max", c.t.Num(maxDeclineReason)))
	case n > maxDeclineReason:
		errs.add("reason", c.t.T("ErrTooLong", "Max", c.t.Num(maxDeclineReason)))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	a, r := c.approval(c.req.Form.Context)
	if r != nil {
		return *r
	}
	note := c.approvalNote(NoteApprovalDeclined, a, reason)
	d, err := c.b.store.DecideApproval(c.ctx, a, store.ApprovalOpen, store.ApprovalDeclined, c.req.User.ID,
		shown(c.req.User.Name), reason, false, c.now, note.Note())
	switch {
	case err != nil:
		return c.storeFault(err)
	case !d.Made:
		return c.decided(a, d)
	}
	return Response{Messages: []Message{{Text: c.t.T("ApprovalDeclinedAdmin", "Purchaser", shown(a.User.Name), "Product", a.Product)}}}
}

// requestsCmd is "requests" (the user's open requests, each with a
// button to withdraw it) and "requests withdraw <id>".
func requestsCmd(c *call) Response {
	if len(c.args) > 0 {
		w := strings.ToLower(c.args[0])
		if w != "withdraw" && w != "zurueckziehen" && w != "zurückziehen" {
			return c.fail(c.t.T("ApprovalErrRequestsArgs", "Word", shown(c.args[0])))
		}
		if len(c.args) != 2 {
			return c.fail(c.t.T("ApprovalErrRequestsUsage"))
		}
		return c.withdraw(c.args[1])
	}
	const most = maxListedRequests
	open, err := c.b.store.OpenApprovals(c.ctx, c.req.Org, c.req.User.ID, most+1)
	if err != nil {
		return c.storeFault(err)
	}
	if len(open) == 0 {
		return Response{Messages: []Message{{Title: c.t.T("ApprovalListTitle"), Text: c.t.T("ApprovalListNone")}}}
	}
	head := Message{Title: c.t.T("ApprovalListTitle"), Text: c.t.N("ApprovalListCount", min(len(open), most))}
	msgs := []Message{head}
	for i, a := range open {
		if i == most {
			break
		}
		msgs = append(msgs, Message{Title: a.Product, Fields: []Field{
			{c.t.T("ApprovalFieldMonthly"), c.t.Money(a.Monthly, a.Currency)},
			{c.t.T("ApprovalFieldRequested"), c.t.Date(a.Created)},
			{c.t.T("FieldExpires"), c.t.Date(a.Expires)},
		}, Buttons: []Button{{Label: c.t.T("BtnApprovalWithdraw"), Command: "requests withdraw " + a.ID, Style: StyleDanger}}})
	}
	return Response{Messages: msgs}
}

// withdraw withdraws one of the user's open requests and tells the admins.
func (c *call) withdraw(id string) Response {
	a, r := c.approval(id)
	if r != nil {
		return *r
	}
	if a.User.ID != c.req.User.ID {
		return c.fail(c.t.T("ApprovalGone")) // another's request is none of theirs
	}
	note := c.approvalNote(NoteApprovalWithdrawn, a, "")
	d, err := c.b.store.DecideApproval(c.ctx, a, store.ApprovalOpen, store.ApprovalWithdrawn, c.req.User.ID,
		shown(c.req.User.Name), "", true, c.now, note.Note())
	switch {
	case errors.Is(err, store.ErrPermission):
		return c.fail(c.t.T("ApprovalGone"))
	case err != nil:
		return c.storeFault(err)
	case !d.Made && !d.Expired && d.Status == store.ApprovalWithdrawn:
		// A second click: it is withdrawn.
	case !d.Made:
		return c.decided(a, d)
	}
	return Response{Messages: []Message{{Text: c.t.T("ApprovalWithdrawnUser", "Product", a.Product)}}}
}

// expireApproval is the job that ends a request still open after
// ApprovalTTL, and tells its purchaser.
func (b *Bot) expireApproval(ctx context.Context, j store.Job, now time.Time) error {
	a, err := b.store.Approval(ctx, j.Org, j.SubID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.Status != store.ApprovalOpen || now.Before(a.Expires) {
		return nil
	}
	c := &call{b: b, ctx: ctx, now: now, t: b.tr("en"), req: Request{Org: j.Org}}
	note := c.approvalNote(NoteApprovalExpired, a, "")
	_, err = b.store.DecideApproval(ctx, a, store.ApprovalOpen, store.ApprovalExpired, "scheduler", "", "", false, now, note.Note())
	if err != nil {
		return fmt.Errorf("expire approval %s/%s: %w", j.Org, a.ID, err)
	}
	return nil
}
