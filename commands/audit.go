package commands

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/store"
)

// The audit trail: "admin audit [range] [person]" lists the
// organization's changes page by page, newest first, with buttons to the
// pages around it and to a CSV download of everything it selects.

// auditPageSize is the most entries a page shows: ten rows of four
// columns fit one Slack section and one Discord embed in either language
// (TestAuditLimits in the adapters).
const auditPageSize = 10

// auditArg is "admin audit …" among the admin command's arguments: for
// help, and for Discord, whose /billing admin takes it as an option
// ("audit: 3m @alice"; "all" for everything).
var auditArg = Arg{Name: "audit", NameDE: "protokoll", Desc: "ArgAudit", Kind: ArgText, Keyword: true,
	Hint: "[RANGE] [PERSON]", HintDE: "[ZEITRAUM] [PERSON]", Help: "HelpAdminAudit"}

// isAuditWord reports whether the word after "admin" asks for the audit
// trail.
func isAuditWord(w string) bool {
	w = strings.ToLower(w)
	return w == "audit" || w == "protokoll"
}

// auditArgs is what "admin audit …" selects.
type auditArgs struct {
	r             *dateRange
	person        Member
	before, after string
	// words say the range and the person again, for the buttons.
	words []string
}

// auditCmd shows a page of the audit trail (c.args[0] is "audit").
func auditCmd(c *call) Response {
	a, fail := c.auditArgs(c.args[1:])
	if fail != "" {
		return c.fail(fail + "\n" + c.t.T("AuditUsage"))
	}
	q := store.AuditQuery{Person: a.person.ID, Before: a.before, After: a.after, Limit: auditPageSize}
	if a.r != nil {
		q.From, q.To = a.r.from, a.r.to.Add(24*time.Hour-time.Millisecond)
	}
	page, err := c.b.store.AuditPage(c.ctx, c.req.Org, q)
	if errors.Is(err, store.ErrInvalid) {
		return c.fail(c.t.T("AuditBadCursor") + "\n" + c.t.T("AuditUsage"))
	}
	if err != nil {
		return c.storeFault(err)
	}
	return c.auditList(a, page)
}

// auditArgs reads the words after "admin audit": a range as invoices take
// it ("3m", "6m", two dates), "all", a person, and the cursor the buttons
// add ("before <id>", "after <id>"; German "vor", "nach"). It returns what
// is wrong, or "".
func (c *call) auditArgs(args []string) (auditArgs, string) {
	var a auditArgs
	var dates []string
	var person string
	for i := 0; i < len(args); i++ {
		w := strings.ToLower(args[i])
		months, _ := monthsWord(w)
		switch {
		case (w == "before" || w == "vor" || w == "after" || w == "nach") && i+1 < len(args):
			id, ok := cursorID(args[i+1])
			if !ok {
				return a, c.t.T("AuditBadCursor")
			}
			if w == "before" || w == "vor" {
				a.before = id
			} else {
				a.after = id
			}
			i++
		case months > 0:
			if a.r != nil || len(dates) > 0 {
				return a, c.t.T("ErrRangeArgs")
			}
			r := lastMonths(c.now, months)
			a.r, a.words = &r, append(a.words, strconv.Itoa(months)+"m")
		case w == "all" || w == "alle":
		case isDateWord(args[i]):
			if a.r != nil || len(dates) == 2 {
				return a, c.t.T("ErrRangeArgs")
			}
			dates = append(dates, args[i])
		case person != "":
			return a, c.t.T("AuditOnePerson", "Word", shown(args[i]))
		default:
			person = args[i]
		}
	}
	switch len(dates) {
	case 1:
		return a, c.t.T("ErrRangeArgs")
	case 2:
		r, err := customRange(dates[0], dates[1], c.now)
		if err != nil {
			return a, c.t.T(err.msg, err.kv...)
		}
		a.r, a.words = &r, append(a.words, dates...)
	}
	if person != "" {
		m, err := c.req.Members.Member(c.ctx, person)
		switch {
		case errors.Is(err, ErrNoMember) || err == nil && !store.ValidID(m.ID):
			return a, c.t.T("ErrNotMember", "User", shown(person))
		case err != nil:
			c.b.log.Warn("member lookup", "org", c.req.Org, "err", err)
			return a, c.t.T("ErrLookup", "User", shown(person))
		}
		m.Name = shown(m.Name)
		a.person, a.words = m, append(a.words, m.ID)
	}
	return a, ""
}

// cursorWord writes a stream id ("1764931200000-0") as the buttons carry
// it, in base 36 ("mipx3ls0.0"): thirteen digits in a row would look like
// a card number to the check of every command line.
func cursorWord(id string) string {
	ms, seq, ok := strings.Cut(id, "-")
	m, err1 := strconv.ParseUint(ms, 10, 64)
	n, err2 := strconv.ParseUint(seq, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return "-"
	}
	return strconv.FormatUint(m, 36) + "." + strconv.FormatUint(n, 36)
}

// cursorID reads a cursor a button carries back into a stream id.
func cursorID(w string) (string, bool) {
	ms, seq, ok := strings.Cut(strings.ToLower(w), ".")
	m, err1 := strconv.ParseUint(ms, 36, 64)
	n, err2 := strconv.ParseUint(seq, 36, 64)
	if !ok || err1 != nil || err2 != nil {
		return "", false
	}
	return strconv.FormatUint(m, 10) + "-" + strconv.FormatUint(n, 10), true
}

// isDateWord reports whether a word is a date as ranges take them.
func isDateWord(w string) bool {
	_, err := format.ParseDate(w)
	return err == nil
}

// auditList shows a page of entries with the buttons around it.
func (c *call) auditList(a auditArgs, page store.AuditPage) Response {
	title := c.t.T("AuditTitle")
	var scope []string
	if a.r != nil {
		scope = append(scope, c.t.T("RangeFromTo", "From", c.t.Date(a.r.from), "To", c.t.Date(a.r.to)))
	}
	if a.person.ID != "" {
		scope = append(scope, c.t.T("AuditOf", "Person", a.person.Name))
	}
	m := Message{Title: title}
	if len(scope) > 0 {
		m.Text = strings.Join(scope, " · ") + "\n"
	}
	line := "admin audit"
	if len(a.words) > 0 {
		line += " " + strings.Join(a.words, " ")
	}
	if page.Newer != "" {
		m.Buttons = append(m.Buttons, Button{Label: c.t.T("BtnAuditNewer"), Command: line + " after " + cursorWord(page.Newer)})
	}
	if page.Older != "" {
		m.Buttons = append(m.Buttons, Button{Label: c.t.T("BtnAuditOlder"), Command: line + " before " + cursorWord(page.Older), Style: StylePrimary})
	}
	if len(page.Entries) == 0 {
		m.Text += c.t.T("AuditNone")
		return Response{Messages: []Message{m}}
	}
	m.Buttons = append(m.Buttons, c.auditCSVButton(a))
	m.Text += c.t.T("AuditPageOf", "First", c.t.DateTime(page.Entries[len(page.Entries)-1].At),
		"Last", c.t.DateTime(page.Entries[0].At))
	m.Table = &Table{Columns: []string{c.t.T("AuditColWhen"), c.t.T("AuditColWho"), c.t.T("AuditColWhat"), c.t.T("AuditColChange")}}
	names := map[string]string{}
	for _, e := range page.Entries {
		m.Table.Rows = append(m.Table.Rows, []string{c.t.DateTime(e.At), c.actorName(names, e.Actor),
			auditWhat(c.t, e), c.auditChange(names, e)})
	}
	return Response{Messages: []Message{m}}
}

// actorName is who made a change, by name where the directory knows them
// (each person looked up once a page), else as the entry says.
func (c *call) actorName(names map[string]string, actor string) string {
	switch actor {
	case "scheduler", "billing", "platform":
		return c.t.T("AuditActorSystem")
	case "":
		return "—"
	}
	if n, ok := names[actor]; ok {
		return n
	}
	n := shown(actor)
	if m, err := c.req.Members.Member(c.ctx, actor); err == nil && m.Name != "" {
		n = shown(m.Name)
	}
	names[actor] = n
	return n
}

// auditActions maps an audit action's verb to the message id that says
// it; the rest of the action (a reason, people, a payment method) and the
// entry's target are its data.
var auditActions = map[string]string{
	"buy":                "AuditActBuy",
	"trial":              "AuditActTrial",
	"convert":            "AuditActConvert",
	"licenses":           "AuditActLicenses",
	"licenses-next":      "AuditActLicensesNext",
	"assign":             "AuditActAssign",
	"unassign":           "AuditActUnassign",
	"cancel":             "AuditActCancel",
	"end":                "AuditActEndTrial", // "end trial"
	"expire":             "AuditActExpire",
	"renew":              "AuditActRenew",
	"remind":             "AuditActRemind",
	"invoice":            "AuditActInvoice",
	"invoice-status":     "AuditActInvoiceStatus",
	"payment-add":        "AuditActPaymentAdd",
	"payment-replace":    "AuditActPaymentReplace",
	"payment-edit":       "AuditActPaymentEdit",
	"payment-remove":     "AuditActPaymentRemove",
	"payment-switch":     "AuditActPaymentSwitch",
	"payment-customer":   "AuditActPaymentEdit",
	"payment-updated":    "AuditActPaymentUpdated",
	"payment-removed":    "AuditActPaymentRemoved",
	"language":           "AuditActLanguage",
	"admin-channel":      "AuditActAdminChannel",
	"org-language":       "AuditActOrgLanguage",
	"install":            "AuditActInstall",
	"uninstall":          "AuditActUninstall",
	"policy":             "AuditActPolicy",
	"approval-limit":     "AuditActApprovalLimit",
	"cap-limit":          "AuditActCapLimit",
	"unused-told":        "AuditActUnusedTold",
	"approval-request":   "AuditActApprovalRequest",
	"approval-approved":  "AuditActApprovalApproved",
	"approval-declined":  "AuditActApprovalDeclined",
	"approval-withdrawn": "AuditActApprovalWithdrawn",
	"approval-expired":   "AuditActApprovalExpired",
	"approval-stale":     "AuditActApprovalStale",
	"member-left":        "AuditActMemberLeft",
	"member-back":        "AuditActMemberBack",
	"handover-ask":       "AuditActHandoverAsk", // "handover-ask <who left>"
	"handover-take":      "AuditActHandoverTake",
	"handover-cancel":    "AuditActHandoverCancel",
	"handover-withdrawn": "AuditActHandoverWithdrawn", // "handover-withdrawn <who is back>"
	"handover-lapse":     "AuditActHandoverLapse",
	"handover-close":     "AuditActHandoverClose",
}

// auditWhat says an entry's change in the language of t; an action it
// does not know is shown as recorded (made harmless by shown, and escaped
// by the adapters like all text).
func auditWhat(t tr, e store.AuditEntry) string {
	verb, rest, _ := strings.Cut(e.Action, " ")
	id, ok := auditActions[verb]
	if !ok {
		s := shown(e.Action)
		if e.Target != "" {
			s += " · " + shown(e.Target)
		}
		return s
	}
	if verb == "remind" { // when the reminder comes, in unix seconds
		if sec, err := strconv.ParseInt(rest, 10, 64); err == nil && sec > 0 {
			rest = t.DateTime(time.Unix(sec, 0))
		}
	}
	if verb == "cancel" {
		for _, r := range reasons {
			if r.Key == rest {
				rest = t.T(r.Msg)
			}
		}
	}
	n := 0
	if rest != "" {
		n = strings.Count(rest, ",") + 1
	}
	detail := "" // a reason or a kind, in parentheses where there is one
	if rest != "" {
		detail = " (" + shown(rest) + ")"
	}
	return t.T(id, "Target", shown(e.Target), "Detail", detail, "Count", t.Num(n))
}

// auditChange is an entry's before → after, each value in the reader's
// language (auditValue). The CSV keeps both as recorded, for machines.
func (c *call) auditChange(names map[string]string, e store.AuditEntry) string {
	verb, _, _ := strings.Cut(e.Action, " ")
	if _, ok := auditActions[verb]; !ok {
		// An action the bot does not know: its values as recorded.
		if e.Before == "" && e.After == "" {
			return "—"
		}
		return orDash(shown(e.Before)) + " → " + orDash(shown(e.After))
	}
	b, a := c.auditValue(names, verb, e.Before, false), c.auditValue(names, verb, e.After, true)
	if b == "—" && a == "—" {
		return "—"
	}
	return b + " → " + a
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// auditValue says a value an entry of the action verb recorded before or
// after its change: a word of the bot (a status, a policy, a language, a
// decision) in the reader's language, an amount, a license count and a
// time formatted, a person by name; anything else (ids, a channel) as
// recorded.
func (c *call) auditValue(names map[string]string, verb, v string, after bool) string {
	t := c.t
	if v == "" {
		if !after {
			return "—" // settings record no value before
		}
		switch verb {
		case "language", "org-language":
			return t.T("LangAuto")
		case "admin-channel":
			return t.T("AuditValChannelDefault")
		case "approval-limit", "cap-limit":
			return t.T("AuditValNone")
		}
		return "—"
	}
	switch verb {
	case "buy", "trial", "convert", "cancel", "end", "expire", "renew", "remind", "handover-lapse", "handover-close":
		// A subscription's status, with its licenses after a purchase:
		// "active 5".
		status, n, _ := strings.Cut(v, " ")
		s, ok := auditStatus(t, status)
		if !ok {
			break
		}
		if count, err := strconv.Atoi(n); err == nil && count >= 0 {
			return t.T("AuditValWith", "Value", s, "Detail", t.N("Licenses", count))
		}
		if n == "" {
			return s
		}
	case "handover-cancel":
		if v == "canceled" {
			return t.T("StatusCanceled")
		}
		return c.actorName(names, v)
	case "handover-take":
		return c.actorName(names, v) // the purchaser who left, and the admin
	case "invoice-status":
		if s, ok := auditInvoiceStatus(t, v); ok {
			return s
		}
	case "policy":
		switch store.Policy(v) {
		case store.PolicyEnabled:
			return t.T("PolicyEnabled")
		case store.PolicyTrialsOnly:
			return t.T("PolicyTrialsOnly")
		case store.PolicyDisabled:
			return t.T("PolicyDisabled")
		}
	case "approval-request", "approval-approved", "approval-declined", "approval-withdrawn", "approval-expired", "approval-stale":
		// A request's status, with its monthly amount when it is made:
		// "open 1260 EUR".
		status, rest, _ := strings.Cut(v, " ")
		s, ok := auditApprovalStatus(t, status)
		if !ok {
			break
		}
		if rest == "" {
			return s
		}
		if amount, ok := auditAmount(t, rest); ok {
			return t.T("AuditValWith", "Value", s, "Detail", t.T("PriceMonthly", "Amount", amount))
		}
	case "approval-limit", "cap-limit":
		if amount, ok := auditAmount(t, v); ok {
			return amount
		}
	case "language", "org-language":
		switch v {
		case "de":
			return t.T("LangDE")
		case "en":
			return t.T("LangEN")
		}
	case "member-left", "member-back":
		switch v {
		case "member":
			return t.T("AuditValMember")
		case "left":
			return t.T("AuditValLeft")
		}
	case "handover-ask", "handover-withdrawn":
		switch v {
		case "pending":
			return t.T("AuditValHandoverPending")
		case "withdrawn":
			return t.T("AuditValWithdrawn")
		}
	case "licenses", "licenses-next":
		if v == "0" && verb == "licenses-next" { // no reduction scheduled
			return t.T("AuditValNone")
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return t.Num(n) // 10,000 / 10.000
		}
	case "unused-told":
		if !after { // when the purchaser was told before
			if sec, err := strconv.ParseInt(v, 10, 64); err == nil && sec > 0 {
				return t.DateTime(time.Unix(sec, 0))
			}
		}
	}
	return shown(v)
}

// auditStatus says a subscription's status as the audit records it.
func auditStatus(t tr, s string) (string, bool) {
	switch store.Status(s) {
	case store.StatusTrial:
		return t.T("StatusTrial"), true
	case store.StatusActive:
		return t.T("StatusActive"), true
	case store.StatusCanceled:
		return t.T("StatusCanceled"), true
	case store.StatusExpired:
		return t.T("StatusExpired"), true
	case store.StatusPending:
		return t.T("StatusPending"), true
	case store.StatusDeclined:
		return t.T("AuditValDeclined"), true
	}
	return "", false
}

// auditInvoiceStatus says an invoice's status as the audit records it;
// one waiting for a confirmation waits for the purchaser's, not the
// reader's.
func auditInvoiceStatus(t tr, s string) (string, bool) {
	switch store.InvoiceStatus(s) {
	case store.InvoiceOpen:
		return t.T("InvoiceOpen"), true
	case store.InvoicePaid:
		return t.T("InvoicePaid"), true
	case store.InvoiceFailed:
		return t.T("InvoiceFailed"), true
	case store.InvoiceAction:
		return t.T("AuditValInvoiceAction"), true
	case store.InvoiceVoid:
		return t.T("InvoiceVoid"), true
	case store.InvoiceRefunded:
		return t.T("InvoiceRefunded"), true
	case store.InvoiceDisputed:
		return t.T("InvoiceDisputed"), true
	}
	return "", false
}

// auditApprovalStatus says a request's status as the audit records it.
func auditApprovalStatus(t tr, s string) (string, bool) {
	switch store.ApprovalStatus(s) {
	case store.ApprovalOpen:
		return t.T("AuditValOpen"), true
	case store.ApprovalApproved:
		return t.T("AuditValApproved"), true
	case store.ApprovalDeclined:
		return t.T("AuditValDeclinedRequest"), true
	case store.ApprovalWithdrawn:
		return t.T("AuditValWithdrawn"), true
	case store.ApprovalExpired:
		return t.T("StatusExpired"), true
	case store.ApprovalStale:
		return t.T("AuditValStale"), true
	}
	return "", false
}

// auditAmount formats an amount the audit records in minor units with its
// currency ("1260 EUR").
func auditAmount(t tr, v string) (string, bool) {
	n, cur, ok := strings.Cut(v, " ")
	minor, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || minor < 0 || !store.ValidCurrency(cur) {
		return "", false
	}
	return t.Money(minor, cur), true
}
