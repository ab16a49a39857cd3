// Package commands is billingbot's core: it takes a platform-neutral
// Request (a command line or a submitted form), applies the rules of every
// self-service workflow, changes state through the store and answers with a
// platform-neutral Response (messages, a form to open, field errors, admin
// notifications). It imports no chat platform's package: adapters translate.
package commands

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// Request is one thing a user asked for.
type Request struct {
	Org    string // Slack team id, Discord guild id
	User   Member
	Locale string // the platform's locale for the user, e.g. "de-DE", "en-US"
	Admin  bool   // the platform says the user administers the organization

	// Exactly one of Text and Form is set.
	Text string      // a command line after "/billing", e.g. "buy visio 5"
	Form *Submission // a submitted form

	// IdempotencyKey identifies the request across retries and double
	// clicks (Slack's view id, Discord's interaction id). A repeat with the
	// same key changes nothing and answers as the first did.
	IdempotencyKey string

	// Members resolves people of the organization.
	Members Directory
}

// Submission is a form the user filled in.
type Submission struct {
	FormID  string
	Context string              // Form.Context as it was sent
	Values  map[string][]string // input id → values (one for most kinds)
}

// Value is the first value of an input, or "".
func (s *Submission) Value(id string) string {
	if v := s.Values[id]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Member is a person of an organization.
type Member struct {
	ID   string
	Name string
	Bot  bool // an app or bot user
	Gone bool // deactivated or no longer a member
}

// Directory finds the people of the request's organization. Adapters
// implement it with their platform's user lookups.
type Directory interface {
	// Member resolves a user id or mention (as typed: "@alice", "<@U123>").
	// It returns ErrNoMember when nobody in the organization matches.
	Member(ctx context.Context, ref string) (Member, error)
}

// ErrNoMember is returned by a Directory for a reference that names nobody
// in the organization.
var ErrNoMember = errors.New("no such member")

// Response is the core's answer, for the adapter to render.
type Response struct {
	Lang     string    // the language everything in it is written in
	Messages []Message // to the user, ephemeral unless Message.Public
	Form     *Form     // a form to open
	// FieldErrors answer a Submission whose rules broke: input id → message.
	// Nothing was changed.
	FieldErrors map[string]string
	// Notifications are to be delivered to admins (or, with To, one user).
	Notifications []Notification
}

// Message is something to show.
type Message struct {
	Title   string
	Text    string // plain text; lines separated by "\n"
	Fields  []Field
	Table   *Table
	Buttons []Button
	Public  bool // visible to the channel; otherwise only to the user
}

// Field is a labelled value.
type Field struct{ Label, Value string }

// Table is a small table of text.
type Table struct {
	Columns []string
	Rows    [][]string
}

// Lines renders the table as plain-text lines, the header first, with each
// column padded to its widest cell (counted in runes) and two spaces
// between columns. cell turns a cell's text into what is shown (adapters
// escape or clip it for their platform).
func (t *Table) Lines(cell func(string) string) []string {
	rows := append([][]string{t.Columns}, t.Rows...)
	width := make([]int, len(t.Columns))
	for _, row := range rows {
		for i := range width {
			if i < len(row) {
				width[i] = max(width[i], utf8.RuneCountInString(cell(row[i])))
			}
		}
	}
	lines := make([]string, len(rows))
	for r, row := range rows {
		var b strings.Builder
		for i := range width {
			c := ""
			if i < len(row) {
				c = cell(row[i])
			}
			b.WriteString(c)
			if i < len(width)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)+2))
			}
		}
		lines[r] = strings.TrimRight(b.String(), " ")
	}
	return lines
}

// Button is an action offered with a message. Clicking it runs Command (a
// command line, as if typed) or opens URL.
type Button struct {
	Label   string
	Command string
	URL     string
	Style   ButtonStyle
}

// ButtonStyle says how prominent a button is.
type ButtonStyle string

// Button styles.
const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Form is a modal dialog: the adapter renders its inputs and sends the
// values back as a Submission with the same FormID and Context.
type Form struct {
	ID      string
	Title   string
	Submit  string
	Close   string
	Context string // opaque to adapters, at most MaxContext bytes
	Inputs  []Input
}

// MaxContext is the most bytes a form's Context holds (Slack's
// private_metadata allows 3000).
const MaxContext = 1000

// Input is one field of a form.
type Input struct {
	ID       string
	Kind     InputKind
	Label    string
	Hint     string
	Required bool
	// Number: Min and Max value. Select, MultiSelect, Users: Max items.
	Min, Max int
	// Text, Paragraph: most characters.
	MaxLength int
	Options   []Option
	Value     []string // initial value(s)
	// Text of an Info input: read-only information shown in the form.
	Text string
}

// InputKind is the kind of an input.
type InputKind string

// Input kinds.
const (
	KindText        InputKind = "text"      // one line
	KindParagraph   InputKind = "paragraph" // several lines
	KindNumber      InputKind = "number"    // a whole number
	KindSelect      InputKind = "select"    // one of Options
	KindMultiSelect InputKind = "multi"     // some of Options
	KindUsers       InputKind = "users"     // people of the organization
	KindDate        InputKind = "date"      // YYYY-MM-DD
	KindConfirm     InputKind = "confirm"   // a checkbox that must be ticked ("yes")
	KindInfo        InputKind = "info"      // read-only text
)

// Option is a choice of a select input.
type Option struct{ Value, Label string }

// Notification is a change worth telling admins (or one user) about.
type Notification struct {
	Org  string
	To   string // a user id; empty: the organization's admins
	Kind NotificationKind
	Sub  NotifiedSub
	// Key identifies the change, so that a notification is delivered once.
	Key string
}

// NotifiedSub is what a notification says about a subscription.
type NotifiedSub struct {
	ID        string
	ProductID string
	Product   string
	Purchaser string // name
	Licenses  int
	Before    int // license count before a change
	Price     int64
	Currency  string
	Period    string
	Expires   time.Time
	Reason    string // cancellation reason key
	Invoice   string // the invoice of a failed payment
}

// NotificationKind names a change.
type NotificationKind string

// Notification kinds (PRODUCT.md §6), and the two sent to a purchaser: a
// trial's reminder and a failed payment.
const (
	NotePurchase   NotificationKind = "purchase"
	NoteTrial      NotificationKind = "trial"
	NoteConversion NotificationKind = "conversion"
	NoteLicenses   NotificationKind = "licenses"
	NoteCancel     NotificationKind = "cancel"
	NoteExpiry     NotificationKind = "expiry"
	NoteReminder   NotificationKind = "reminder"
	// NotePaymentFailed tells a purchaser that an invoice could not be charged.
	NotePaymentFailed NotificationKind = "payment-failed"
)

// A Notifier delivers notifications on one platform: to the admin channel
// an admin set (Settings.AdminChannel), else the deployment's default
// channel, else to the admins directly; a notification with To, to that
// user.
type Notifier interface {
	// Owns reports whether org is one of the platform's organizations.
	Owns(org string) bool
	Notify(ctx context.Context, n Notification) error
}
