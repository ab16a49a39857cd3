// Package store keeps billingbot's state in Redis: subscriptions and their
// license assignments, invoices, billing accounts, user preferences, audit
// entries, idempotency records and the scheduler's due jobs.
//
// Every method speaks the domain; key names live in keys.go and every change
// that touches more than one key is a single Lua script, with all of an
// organization's keys in one hash slot ({org}) so the same code runs on
// Redis Cluster.
package store

import "time"

// Status is the life-cycle state of a subscription.
type Status string

// Subscription states.
const (
	StatusTrial    Status = "trial"
	StatusActive   Status = "active"
	StatusCanceled Status = "canceled"
	StatusExpired  Status = "expired"
	// StatusPending is a purchase whose payment has not gone through yet:
	// nothing is granted before the money is.
	StatusPending Status = "pending"
	// StatusDeclined is a purchase whose payment failed or was never
	// confirmed; it is in no list.
	StatusDeclined Status = "declined"
)

// Period is a billing period.
type Period string

// Billing periods.
const (
	Monthly Period = "monthly"
	Annual  Period = "annual"
)

// Months is the length of the period in months.
func (p Period) Months() int {
	if p == Annual {
		return 12
	}
	return 1
}

// Valid reports whether p is a known period.
func (p Period) Valid() bool { return p == Monthly || p == Annual }

// Member is a person of an organization as the store records them.
type Member struct {
	ID   string
	Name string
}

// Subscription is a product bought (or tried) by one purchaser.
type Subscription struct {
	ID          string
	Org         string
	ProductID   string
	ProductName string
	Purchaser   Member
	SelfService bool
	Status      Status
	Total       int // licenses bought
	// NextTotal is the total from the next period on when the purchaser
	// reduced it (0: no change scheduled). Until then Total licenses are
	// paid for, but at most NextTotal can be assigned.
	NextTotal int
	// Assigned are the people holding licenses, by name. A View lists at
	// most MaxListed of them; AssignedCount is how many there are.
	Assigned      []Member
	AssignedCount int
	Period        Period
	UnitPrice     int64 // minor units per license per period
	Currency      string
	ProfileID     string // billing profile that pays
	MethodID      string // payment method charged
	PurchasedAt   time.Time
	RenewsAt      time.Time // end of the current period (renewal or expiry)
	TrialEnd      time.Time
	CancelReason  string
	CancelComment string
	CanceledAt    time.Time
	// Handover says what became of the subscription since its purchaser
	// left the organization (see handover.go); "" when they have not.
	Handover     HandoverState
	HandoverBy   Member    // the admin who decided
	HandoverFrom time.Time // when the purchaser left
}

// Free is the number of licenses not assigned to anyone.
// A reduction scheduled for the next period caps it.
func (s Subscription) Free() int { return s.Usable() - s.AssignedCount }

// Usable is how many licenses can be assigned now: the total, or fewer
// when a reduction is scheduled for the next period.
func (s Subscription) Usable() int {
	if s.NextTotal > 0 && s.NextTotal < s.Total {
		return s.NextTotal
	}
	return s.Total
}

// Renewing is the total of the next period.
func (s Subscription) Renewing() int {
	if s.NextTotal > 0 {
		return s.NextTotal
	}
	return s.Total
}

// MaxListed is the most assigned people a View lists per subscription: as
// many as a Discord select offers.
const MaxListed = 25

// IsAssigned reports whether user is among the listed holders of s.
func (s Subscription) IsAssigned(user string) bool {
	for _, m := range s.Assigned {
		if m.ID == user {
			return true
		}
	}
	return false
}

// EndsAt is when the purchaser loses the subscription unless it renews:
// the trial's end for a trial, the end of the period otherwise.
func (s Subscription) EndsAt() time.Time {
	if !s.TrialEnd.IsZero() && (s.Status == StatusTrial || s.RenewsAt.IsZero()) {
		return s.TrialEnd
	}
	return s.RenewsAt
}

// Live reports whether the subscription can still be changed.
func (s Subscription) Live() bool { return s.Status == StatusTrial || s.Status == StatusActive }

// Invoice is a bill for one billing profile.
type Invoice struct {
	ID        string        `json:"id"`
	Org       string        `json:"org"`
	User      string        `json:"user"`
	ProfileID string        `json:"profile"`
	SubID     string        `json:"sub"`
	Date      time.Time     `json:"date"`
	Lines     []InvoiceLine `json:"lines"`
	Total     int64         `json:"total"`
	Currency  string        `json:"currency"`
	Status    InvoiceStatus `json:"status"`
	// Method is the payment method it is charged to.
	Method string `json:"method,omitempty"`
	// Charge is the payment provider's charge that pays it.
	Charge string `json:"charge,omitempty"`
	// Grant is what paying the invoice gives; nil for a renewal.
	Grant *Grant `json:"grant,omitempty"`
	// Test marks an invoice of the sandbox: no real money.
	Test bool `json:"test,omitempty"`
}

// Grant is what an invoice's payment gives, applied in the same step that
// records the payment (SetInvoiceStatus): nothing is granted before the
// money is.
type Grant struct {
	Kind GrantKind `json:"kind"`
	// Added is the number of licenses a GrantLicenses adds.
	Added int `json:"added,omitempty"`
	// Fields are the subscription's fields that a GrantConversion sets,
	// as name, value pairs.
	Fields []string `json:"fields,omitempty"`
}

// GrantKind says what an invoice buys.
type GrantKind string

// Grant kinds.
const (
	// GrantPurchase activates a pending subscription.
	GrantPurchase GrantKind = "purchase"
	// GrantConversion turns a trial into a paid subscription.
	GrantConversion GrantKind = "conversion"
	// GrantLicenses adds licenses to a subscription.
	GrantLicenses GrantKind = "licenses"
)

// Paid reports whether the money of an invoice was taken (and not given
// back).
func (inv Invoice) Paid() bool { return inv.Status == InvoicePaid }

// InvoiceLine is one position of an invoice.
type InvoiceLine struct {
	Product   string `json:"product"`
	Quantity  int    `json:"qty"`
	UnitPrice int64  `json:"unit"`
	Amount    int64  `json:"amount"`
	// Kind says why the line was billed: purchase, renewal or added licenses.
	Kind string `json:"kind"`
	// Days is set for prorated lines: the days billed of PeriodDays.
	Days       int `json:"days,omitempty"`
	PeriodDays int `json:"period_days,omitempty"`
}

// InvoiceStatus says whether an invoice has been paid.
type InvoiceStatus string

// Invoice states.
const (
	InvoiceOpen   InvoiceStatus = "open"
	InvoicePaid   InvoiceStatus = "paid"
	InvoiceFailed InvoiceStatus = "failed"
	// InvoiceAction: the purchaser must confirm the payment (3-D Secure).
	InvoiceAction InvoiceStatus = "requires_action"
	// InvoiceVoid: the payment was not confirmed in time; nothing was
	// charged or granted.
	InvoiceVoid     InvoiceStatus = "void"
	InvoiceRefunded InvoiceStatus = "refunded"
	InvoiceDisputed InvoiceStatus = "disputed"
)

// Billing is everything one user pays with: billing accounts, their billing
// profiles and the profiles' payment methods. It is stored as one document
// per user and changed with compare-and-set on Version.
type Billing struct {
	Version  int64            `json:"version"`
	Accounts []BillingAccount `json:"accounts"`
}

// BillingAccount groups billing profiles.
type BillingAccount struct {
	ID       string           `json:"id"`
	Name     string           `json:"name"`
	Profiles []BillingProfile `json:"profiles"`
}

// BillingProfile is what invoices are addressed to; it holds payment methods.
type BillingProfile struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Methods []PaymentMethod `json:"methods"`
	// Customer is the payment provider's customer for this profile.
	Customer string `json:"customer,omitempty"`
}

// PaymentMethod is a tokenized card. It never holds a card number or a
// security code: only what a receipt shows and the gateway's token.
type PaymentMethod struct {
	ID       string `json:"id"`
	Brand    string `json:"brand"`
	Last4    string `json:"last4"`
	ExpMonth int    `json:"exp_month"`
	ExpYear  int    `json:"exp_year"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Token    string `json:"token"`
	// Fingerprint is the provider's fingerprint of the card number: the
	// same card is not saved twice in one profile.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// Expired reports whether the card's expiry month lies before now's month.
func (m PaymentMethod) Expired(now time.Time) bool {
	return m.ExpYear < now.Year() || (m.ExpYear == now.Year() && m.ExpMonth < int(now.Month()))
}

// Method finds a payment method by id and returns it with its profile.
func (b Billing) Method(id string) (PaymentMethod, BillingProfile, bool) {
	for _, a := range b.Accounts {
		for _, p := range a.Profiles {
			for _, m := range p.Methods {
				if m.ID == id {
					return m, p, true
				}
			}
		}
	}
	return PaymentMethod{}, BillingProfile{}, false
}

// Profile finds a billing profile by id.
func (b Billing) Profile(id string) (BillingProfile, bool) {
	for _, a := range b.Accounts {
		for _, p := range a.Profiles {
			if p.ID == id {
				return p, true
			}
		}
	}
	return BillingProfile{}, false
}

// Prefs are a user's settings.
type Prefs struct {
	Lang string // "de", "en" or "" (follow the platform)
}

// OrgSettings are an organization's settings.
type OrgSettings struct {
	AdminChannel string // "" for the deployment's default channel
	// Lang is the language an admin chose for the notifications posted to
	// channels: "de", "en" or "" (follow Locale).
	Lang string
	// Locale is the organization's locale as its platform said it last
	// (Discord's guild locale; in Slack the first admin's locale).
	Locale string
	// Policies are the products' policies admins set, by product id; a
	// product without one has the catalog's.
	Policies Policies
}

// orgSettings reads OrgSettings from the fields of the settings hash.
func orgSettings(h map[string]string) OrgSettings {
	return OrgSettings{AdminChannel: h["admin_channel"], Lang: h["lang"], Locale: h["locale"], Policies: policies(h)}
}

// AuditEntry records one change: who did what when, before and after.
type AuditEntry struct {
	ID     string
	Org    string
	Actor  string
	Action string
	Target string
	Before string
	After  string
	At     time.Time
}

// PayLink is a single-use permission to add or replace a payment method on
// the payment page. Once used, it remembers the method it saved for a
// while, so that a reload or a repeated submit shows the same result.
type PayLink struct {
	Token     string `json:"-"`
	Ref       string `json:"-"` // PayLinkRef(Token): what the provider is told
	Org       string `json:"org"`
	User      string `json:"user"`
	ProfileID string `json:"profile"`
	MethodID  string `json:"method,omitempty"` // set when replacing
	Lang      string `json:"lang"`
	// Command is the slash command as the user's platform showed it when
	// the link was asked for ("/abrechnung"), for the page's texts that
	// name it; "" for /billing.
	Command string    `json:"cmd,omitempty"`
	Expires time.Time `json:"expires"`
	// ChatURL leads back to the conversation the link was asked for in.
	ChatURL string `json:"chat,omitempty"`
	// OrgName is the organization's name where the platform said it.
	OrgName string `json:"org_name,omitempty"`
	// Quiet links tell nobody in chat when used (the console's demo card).
	Quiet bool `json:"quiet,omitempty"`
	// Invoice, when set, makes the link one to confirm the invoice's
	// charge with the bank (3-D Secure) instead of adding a method.
	Invoice string `json:"invoice,omitempty"`

	// Saved is the payment method the link saved; empty while unused.
	Saved string `json:"-"`
	// Failures counts the card attempts the provider refused.
	Failures int `json:"-"`
}

// JobKind names what a due job does.
type JobKind string

// Job kinds.
const (
	JobTrialReminder JobKind = "trial-reminder"
	JobTrialEnd      JobKind = "trial-end"
	JobRenewal       JobKind = "renewal"
	JobCharge        JobKind = "charge" // collect an invoice's payment
	// JobChargeExpiry voids an invoice whose payment is still not
	// confirmed.
	JobChargeExpiry JobKind = "charge-expiry"
	// JobHandoverRemind reminds admins of an undecided handover, daily;
	// JobHandoverEnd ends a subscription whose handover nobody decided
	// within the grace period after its period's end.
	JobHandoverRemind JobKind = "handover-remind"
	JobHandoverEnd    JobKind = "handover-end"
	// JobMemberCheck asks the organization's platform, page by page,
	// whether the people who bought or hold its subscriptions are still
	// members (SubID: "c" and the page's cursor), daily.
	JobMemberCheck JobKind = "member-check"
)

// Job is work that falls due at a time: a trial reminder, a trial's end, a
// renewal. Jobs are scheduled before the change that needs them and checked
// against the subscription when they run, so a job whose change never
// happened (or was undone) does nothing.
type Job struct {
	Kind    JobKind
	Org     string
	SubID   string
	Due     time.Time
	Invoice string // the invoice a charge job collects
	// Lease is when the claim that ClaimDue handed the job out with ends.
	Lease time.Time
}
