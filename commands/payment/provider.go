package payment

import (
	"context"
	"errors"
	"time"
)

// Provider is a payment provider: it keeps a customer for each billing
// profile and charges the payment methods saved with it, without the
// customer present. A real provider never receives a card number from
// billingbot: its own page takes the card (HostedSetup). Only the Sandbox
// takes cards typed on billingbot's payment page (CardTaker).
type Provider interface {
	// Name is the provider's name for logs: "stripe" or "sandbox".
	Name() string
	// TestMode reports that no real money moves: every page, confirmation
	// and invoice then says so.
	TestMode() bool
	// Customer creates the provider's customer for a billing profile. A
	// repeat with the same IdempotencyKey returns the same customer.
	Customer(ctx context.Context, r CustomerRequest) (string, error)
	// Charge takes money from a saved payment method. A repeat with the
	// same IdempotencyKey charges nothing twice and returns the first
	// charge. A declined payment is an error wrapping ErrDeclined.
	Charge(ctx context.Context, r ChargeRequest) (Charge, error)
	// Detach removes a payment method from its customer: it can never be
	// charged again.
	Detach(ctx context.Context, method string) error
}

// CustomerRequest describes the billing profile a customer is for.
type CustomerRequest struct {
	Org, User, Profile string
	Name               string // the billing profile's name
	IdempotencyKey     string
}

// ChargeRequest is an off-session payment.
type ChargeRequest struct {
	Customer       string // the provider's customer
	Method         string // the provider's payment method (Method.Token)
	Amount         int64  // minor units
	Currency       string // ISO 4217
	IdempotencyKey string
	Description    string
	// Metadata goes with the charge to the provider and comes back with
	// its events: the organization, invoice and subscription.
	Metadata map[string]string
}

// ChargeStatus is where a charge stands.
type ChargeStatus string

// Charge states.
const (
	// ChargeSucceeded: the money is taken.
	ChargeSucceeded ChargeStatus = "succeeded"
	// ChargePending: the outcome comes later, as an Event.
	ChargePending ChargeStatus = "pending"
	// ChargeRequiresAction: the customer must confirm the payment (3-D
	// Secure); see Authenticator.
	ChargeRequiresAction ChargeStatus = "requires_action"
)

// Charge is a payment a provider took or is taking.
type Charge struct {
	ID     string
	Status ChargeStatus
}

// Method is a saved card: all of it that may be stored and shown.
type Method struct {
	Token    string // the provider's payment method, for Charge
	Brand    string // one of the Brand… constants
	Last4    string // last four digits of the number
	ExpMonth int
	ExpYear  int
	// Fingerprint is the same for every method of one card number, so
	// that a profile does not save the same card twice; it tells nothing
	// of the number.
	Fingerprint string
	// Name and Address are the card holder's, as given with the card.
	Name, Address string
}

// CardTaker is a provider that takes the cards typed on billingbot's own
// payment page: the Sandbox, never a real provider.
type CardTaker interface {
	// Tokenize checks a card as of now and saves it as a Method.
	Tokenize(ctx context.Context, c Card, now time.Time) (Method, error)
}

// HostedSetup is a provider whose own page takes a new card (Stripe
// Checkout in setup mode); its outcome comes as an EventSetupCompleted.
type HostedSetup interface {
	StartSetup(ctx context.Context, r SetupRequest) (Setup, error)
}

// SetupRequest asks for a provider's page to add a card for a customer.
type SetupRequest struct {
	Customer string
	Lang     string // "de" or "en"
	// Reference comes back with the EventSetupCompleted: it names the
	// payment link the card is for.
	Reference      string
	SuccessURL     string
	CancelURL      string
	IdempotencyKey string
}

// Setup is a provider's page that takes a card.
type Setup struct {
	ID  string
	URL string
}

// Authenticator is a provider whose charges may need the customer to
// confirm them (3-D Secure).
type Authenticator interface {
	// Authenticate returns the page where the customer confirms charge;
	// the provider sends them to returnURL afterwards, and the outcome
	// comes as an Event.
	Authenticate(ctx context.Context, charge, returnURL string) (string, error)
}

// ErrNoAction is returned by Authenticate for a charge that needs nothing
// of the customer (any more).
var ErrNoAction = errors.New("charge needs no action")

// Webhooks is a provider that reports outcomes as signed events.
type Webhooks interface {
	// Event verifies a webhook request's signature (header) and reads the
	// event, with whatever it must ask the provider to complete it. It
	// returns an error wrapping ErrBadEvent for a request that is not a
	// valid event signed by the provider, and an Event with an empty Kind
	// for one that billingbot does not act on.
	Event(ctx context.Context, payload []byte, header string) (Event, error)
}

// ErrBadEvent marks a webhook request that is forged, too old or not an
// event.
var ErrBadEvent = errors.New("invalid webhook event")

// EventKind says what happened.
type EventKind string

// Event kinds.
const (
	EventSetupCompleted       EventKind = "setup-completed"
	EventChargeSucceeded      EventKind = "charge-succeeded"
	EventChargeFailed         EventKind = "charge-failed"
	EventChargeRequiresAction EventKind = "charge-requires-action"
	EventChargeRefunded       EventKind = "charge-refunded"
	EventChargeDisputed       EventKind = "charge-disputed"
	EventMethodUpdated        EventKind = "method-updated"
	EventMethodDetached       EventKind = "method-detached"
)

// Event is something a provider reports.
type Event struct {
	ID      string // unique: an event handled once is not handled again
	Kind    EventKind
	Created time.Time
	// Charge is the charge of Charge… events.
	Charge string
	// Metadata is the charge's ChargeRequest.Metadata, where the event
	// carries it.
	Metadata map[string]string
	// Amount is what a refund or a dispute is about (minor units).
	Amount int64
	// Reason is the provider's code for a failure or a dispute, for logs.
	Reason string
	// Reference is the SetupRequest.Reference of EventSetupCompleted.
	Reference string
	// Customer is the provider's customer.
	Customer string
	// Method is the saved card of EventSetupCompleted and
	// EventMethodUpdated; of EventMethodDetached only its Token.
	Method Method
}
