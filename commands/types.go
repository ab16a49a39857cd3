// Package commands is billingbot's core: it takes a platform-neutral
// Request (a command line or a submitted form), applies the rules of every
// self-service workflow, changes state through the store and answers with a
// platform-neutral Response (messages, a form to open, field errors, admin
// notifications). It imports no chat platform's package: adapters translate.
package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/store"
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

	// OrgName is the organization's name, where the platform says it.
	OrgName string
	// ChatURL leads back to the conversation of the request (pages that
	// chat links open offer it), where the platform has one.
	ChatURL string
	// Command is the slash command as the platform shows it to the user
	// ("/billing"; "/abrechnung" on Discord in German): texts that name a
	// command name it so. Empty: "/billing".
	Command string
	// OrgLocale is the organization's locale where the platform says it
	// with every request (Discord's guild_locale). The core remembers it
	// for the notifications posted to channels, writing only when it
	// changed; without it, the locale of the first admin who uses
	// billingbot is remembered (Slack).
	OrgLocale string
}

// Submission is a form the user filled in.
type Submission struct {
	FormID  string
	Context string              // Form.Context as it was sent
	Values  map[string][]string // input id → values (one for most kinds)
	// Draft asks how the form should look with these values while the
	// user is still filling it in (a Slack modal's dispatch_action on an
	// input with Input.Dispatch): the answer's Form is the form as it
	// should be now, with its preview for these values. Nothing is
	// changed, nothing is kept.
	Draft bool
	// Live says the platform shows the form as the core last answered it
	// and updates it as its values change (Slack's views.update on
	// drafts): the preview the user saw when submitting is the one the
	// form's Context names, and a submission that matches it needs no
	// separate confirmation. Without Live, a form whose change costs or
	// saves money is answered with a confirmation first (Response.Confirm).
	Live bool
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
	// Admins lists the people who administer the organization, as the
	// platform says (a workspace's admins and owners, a guild's owner and
	// the members of its roles with the Administrator permission): the
	// people users can ask for help. Apps and deactivated users are not
	// among them; an organization without any gives none and no error.
	Admins(ctx context.Context) ([]Member, error)
}

// MaxContacts is the most people a message names as contacts.
const MaxContacts = 10

// ErrNoMember is returned by a Directory for a reference that names nobody
// in the organization.
var ErrNoMember = errors.New("no such member")

// ChannelChecker is a Directory that can check a channel an admin names
// for the organization's notifications ("#billing", "<#123>", an id),
// before the core saves it: an optional capability, asked for with a type
// assertion. CheckChannel returns ErrNoChannel when the channel is not a
// text channel of the organization, ErrChannelNoAccess when the bot cannot
// post there, and another error when the platform could not be asked.
type ChannelChecker interface {
	CheckChannel(ctx context.Context, ref string) error
}

// ErrNoChannel and ErrChannelNoAccess are a ChannelChecker's refusals.
var (
	ErrNoChannel       = errors.New("no such text channel in the organization")
	ErrChannelNoAccess = errors.New("the bot cannot post in the channel")
)

// Response is the core's answer, for the adapter to render.
type Response struct {
	Lang     string    // the language everything in it is written in
	Messages []Message // to the user, ephemeral unless Message.Public
	Form     *Form     // a form to open
	// FieldErrors answer a Submission whose rules broke: input id → message.
	// Nothing was changed.
	FieldErrors map[string]string
	// Query marks the answer to a form that only asked what to show (the
	// invoice range): nothing was changed and its messages are the user's
	// own. An adapter whose forms can show an answer in their place (a
	// Slack modal) shows it there, where the question was asked.
	Query bool
	// Confirm asks the user to confirm a change before it is made:
	// Messages[0] says exactly what it costs or saves, today and from the
	// next period. Nothing was changed yet.
	Confirm *Confirm `json:",omitempty"`
}

// Confirm is the question of a confirmation step: Yes is the command line
// that makes the change, No the one that goes back to the form. They are
// also Messages[0]'s first two buttons (labelled, e.g. "Pay €63.00" and
// "Back"), for platforms that show buttons; a console asks y/n and runs
// Yes, or on no changes nothing.
type Confirm struct {
	Yes, No string
}

// Message is something to show.
type Message struct {
	Title  string
	Text   string // plain text; lines separated by "\n"
	Fields []Field
	Table  *Table
	// Contacts are people to turn to (an organization's admins), shown
	// after the text by name and, where the platform has mentions, with a
	// mention of each (made from the id: "<@U123>") that notifies nobody.
	Contacts []Member `json:",omitempty"`
	Buttons  []Button
	Public   bool // visible to the channel; otherwise only to the user
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
	// NewRow starts a new row of buttons: where a platform lays buttons
	// out in rows (Discord's action rows, Slack's actions blocks), this
	// one and those after it go below the ones before.
	NewRow bool `json:",omitempty"`
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
	// Year marks a number that is a year: written without digit grouping
	// (2026, not 2,026).
	Year bool `json:",omitempty"`
	// Text, Paragraph: most characters.
	MaxLength int
	Options   []Option
	Value     []string // initial value(s)
	// Text of an Info input: read-only information shown in the form.
	Text string
	// Dispatch marks an input whose value changes the form's preview (the
	// product, the count, the period of a purchase): a platform that can
	// update an open form asks for a Draft when it changes.
	Dispatch bool `json:",omitempty"`
}

// Range is a number input's limits as lang ("de" or "en") writes
// numbers: "1–10,000" or "1–10.000"; a year's "2026–2046" in either.
func (in Input) Range(lang string) string {
	n := func(v int) string {
		if in.Year {
			return strconv.Itoa(v)
		}
		return format.Number(lang, int64(v))
	}
	return n(in.Min) + "–" + n(in.Max)
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

// Notification is a change worth telling admins (or one user) about. The
// change puts it into the organization's outbox (store.Note) in the same
// atomic step; a sender (package outbox) hands it to the Notifier of the
// organization's platform.
type Notification struct {
	Org  string           `json:"org"`
	To   string           `json:"to,omitempty"` // a user id; empty: the organization's admins
	Kind NotificationKind `json:"kind"`
	Sub  NotifiedSub      `json:"sub"`
	// Key identifies the change, so that a notification is delivered once
	// to each destination.
	Key string `json:"key"`

	// Redelivery is set when the notification may have reached some
	// destinations before (its sender died, or an attempt timed out): a
	// Notifier then skips those it delivered to (store.Delivered) and, where
	// the platform allows, those that got it without being marked.
	Redelivery bool `json:"-"`
	// At is when the change happened.
	At time.Time `json:"-"`
}

// Note encodes the notification for the outbox.
func (n Notification) Note() *store.Note {
	doc, _ := json.Marshal(n) // plain data: cannot fail
	return &store.Note{Key: n.Key, Body: string(doc)}
}

// DecodeNotification reads a notification from an outbox entry.
func DecodeNotification(e store.OutboxEntry) (Notification, error) {
	var n Notification
	if err := json.Unmarshal([]byte(e.Body), &n); err != nil {
		return Notification{}, fmt.Errorf("outbox entry %s/%s: %w", e.Org, e.ID, err)
	}
	if n.Org != e.Org || n.Key != e.Key || n.Kind == "" {
		return Notification{}, fmt.Errorf("outbox entry %s/%s: not a notification of its organization", e.Org, e.ID)
	}
	n.Redelivery, n.At = e.Redelivery(), e.At
	return n, nil
}

// NotifiedSub is what a notification says about a subscription.
type NotifiedSub struct {
	ID        string `json:"id"`
	ProductID string `json:"product_id"`
	Product   string `json:"product"`
	Purchaser string `json:"purchaser"` // name
	Licenses  int    `json:"licenses"`
	// Status is the subscription's (store.Status): whether Expires is
	// when it renews or when it ends. Empty in notifications written
	// before it was kept.
	Status   string    `json:"status,omitempty"`
	Before   int       `json:"before,omitempty"` // license count before a change
	Price    int64     `json:"price"`
	Currency string    `json:"currency"`
	Period   string    `json:"period,omitempty"`
	Expires  time.Time `json:"expires"`
	Reason   string    `json:"reason,omitempty"`  // cancellation reason key
	Invoice  string    `json:"invoice,omitempty"` // the invoice of a payment
	// Method names a payment method ("Visa •••• 4242 (12/2030)").
	Method string `json:"method,omitempty"`
	// Grant is what the invoice's payment buys (store.Grant's kind; ""
	// for a renewal).
	Grant string `json:"grant,omitempty"`
	// URL is where the user acts on the notification (a payment to
	// confirm).
	URL string `json:"url,omitempty"`
	// Policy is a product's new policy (store.Policy).
	Policy string `json:"policy,omitempty"`
	// Unused and InUse are the licenses unassigned for a while and those
	// assigned (NoteUnused).
	Unused int `json:"unused,omitempty"`
	InUse  int `json:"in_use,omitempty"`
	// Preview is a request for approval's price preview, by language;
	// By names who decided it.
	Preview Previews `json:"preview,omitzero"`
	By      string   `json:"by,omitempty"`
	// Person names who a handover's notification is about besides the
	// purchaser: the admin who decided, the holder who left.
	Person string `json:"person,omitempty"`
}

// Previews are a text in each language.
type Previews struct {
	EN string `json:"en,omitempty"`
	DE string `json:"de,omitempty"`
}

// In is the text in lang.
func (p Previews) In(lang string) string {
	if lang == "de" {
		return p.DE
	}
	return p.EN
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
	// NoteTrialEnded tells admins that a purchaser ended a trial before
	// its time.
	NoteTrialEnded NotificationKind = "trial-ended"
	// NotePaymentFailed tells a purchaser that an invoice could not be charged.
	NotePaymentFailed NotificationKind = "payment-failed"
	// NotePaid tells a purchaser that an invoice was paid and what it bought.
	NotePaid NotificationKind = "paid"
	// NoteActionRequired asks a purchaser to confirm a payment (3-D Secure).
	NoteActionRequired NotificationKind = "action-required"
	// NotePaymentExpired tells a purchaser that a payment was not
	// confirmed in time: nothing was bought.
	NotePaymentExpired NotificationKind = "payment-expired"
	// NoteRefunded and NoteDisputed tell a purchaser of a refund or a
	// dispute of a payment.
	NoteRefunded NotificationKind = "refunded"
	NoteDisputed NotificationKind = "disputed"
	// NoteMethodSaved, NoteMethodUpdated and NoteMethodRemoved tell a user
	// of a change of their payment methods; NoteDuplicateCard that a card
	// added on the provider's page was saved already.
	NoteMethodSaved   NotificationKind = "method-saved"
	NoteMethodUpdated NotificationKind = "method-updated"
	NoteMethodRemoved NotificationKind = "method-removed"
	NoteDuplicateCard NotificationKind = "duplicate-card"
	// NotePolicy tells admins that an admin changed a product's policy
	// (Sub.Product, Sub.Purchaser the admin, Sub.Policy).
	NotePolicy NotificationKind = "policy"
)

// A Notifier delivers notifications on one platform: to the admin channel
// an admin set (Settings.AdminChannel), else the deployment's default
// channel, else to the admins directly; a notification with To, to that
// user.
type Notifier interface {
	// Owns reports whether org is one of the platform's organizations.
	Owns(org string) bool
	// Notify delivers n to every destination it has. Its error tells the
	// outbox what to do: nil, done; one wrapping ErrPermanent, give up at
	// once (a dead letter for an operator); a *RateLimitedError, try again
	// after its wait; any other (a 5xx, a timeout), try again later with
	// backoff. With n.Redelivery it skips the destinations it delivered n
	// to before.
	Notify(ctx context.Context, n Notification) error
}

// ErrPermanent marks a delivery failure that trying again cannot mend: no
// admin channel and no admins, a channel that does not exist, an app that
// lacks a permission.
var ErrPermanent = errors.New("cannot be delivered")

// Deliveries sums up the deliveries of one notification to several
// destinations (the admins' direct messages), each error nil or what the
// Notifier returns, for the outbox: err is one worth retrying when any
// was (the destinations that got it are skipped next time), or a
// permanent one when all failed for good; lost are the permanent failures
// beside deliveries that worked, which a retry would not mend either (to
// be logged).
func Deliveries(errs []error) (err, lost error) {
	var later, never []error
	for _, e := range errs {
		if errors.Is(e, ErrPermanent) {
			never = append(never, e)
		} else if e != nil {
			later = append(later, e)
		}
	}
	switch {
	case len(later) > 0:
		return errors.Join(later...), nil
	case len(never) == len(errs):
		return errors.Join(never...), nil
	}
	return nil, errors.Join(never...)
}

// RateLimitedError is a delivery the platform refused for now: it asked to
// wait Wait before trying again.
type RateLimitedError struct {
	Wait time.Duration
	Err  error
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("rate limited for %v: %v", e.Wait, e.Err)
}

func (e *RateLimitedError) Unwrap() error { return e.Err }
