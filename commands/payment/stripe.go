package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v83"
	"github.com/stripe/stripe-go/v83/webhook"
	"golang.org/x/text/currency"
)

// Stripe's webhook events that Event translates; any other is acknowledged
// and ignored.
const (
	stripeCheckoutCompleted     = "checkout.session.completed"
	stripePaymentSucceeded      = "payment_intent.succeeded"
	stripePaymentFailed         = "payment_intent.payment_failed"
	stripePaymentRequiresAction = "payment_intent.requires_action"
	stripeChargeRefunded        = "charge.refunded"
	stripeDisputeCreated        = "charge.dispute.created"
	stripeMethodUpdated         = "payment_method.updated"
	stripeMethodAutoUpdated     = "payment_method.automatically_updated"
	stripeMethodDetached        = "payment_method.detached"
)

const (
	// stripeWebhookTolerance is how old a signed event may be.
	stripeWebhookTolerance = 5 * time.Minute
	// stripeMaxNetworkRetries is Stripe's default: stripe-go retries a
	// request that failed on the network or got an answer that is not
	// Stripe's JSON (a proxy's 5xx), sending the same Idempotency-Key
	// again. An error that Stripe answered is not retried (but a 429
	// lock timeout).
	stripeMaxNetworkRetries = 2
	stripeCardType          = "card"
	stripeSetupMode         = "setup"
	stripeLocaleAuto        = "auto" // Stripe's page picks the browser's language
	// stripeNotAttached is in Stripe's message for detaching a payment
	// method that is not attached (any more); it has no code of its own.
	stripeNotAttached = "not attached to a customer"
)

// StripeConfig configures NewStripe. Printed or logged, it shows no secret.
type StripeConfig struct {
	// SecretKey is a secret (sk_…) or restricted (rk_…) API key; a
	// sk_test_/rk_test_ key is test mode.
	SecretKey string
	// WebhookSecret is the signing secret (whsec_…) of the webhook
	// endpoint. The endpoint must be created with stripe.APIVersion of
	// stripe-go (see Event).
	WebhookSecret string
	// APIURL is the API's base URL; empty is Stripe's. Tests set it to a
	// stripe-mock (see package stripetest).
	APIURL string
	// HTTPClient makes the API requests; nil is stripe-go's default (80 s
	// timeout).
	HTTPClient *http.Client
}

// redacted describes c without its secrets.
func (c StripeConfig) redacted() string {
	api := "Stripe's"
	if c.APIURL != "" {
		api = "custom"
		if u, err := url.Parse(c.APIURL); err == nil {
			api = u.Redacted()
		}
	}
	return fmt.Sprintf("StripeConfig(key %s, webhook secret set: %t, API %s)", keyKind(c.SecretKey), c.WebhookSecret != "", api)
}

// Format implements fmt.Formatter: every verb prints c without its secrets.
func (c StripeConfig) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.redacted()) }

// LogValue implements slog.LogValuer: a logged config has no secrets.
func (c StripeConfig) LogValue() slog.Value { return slog.StringValue(c.redacted()) }

// keyKind names the kind of an API key without the key itself.
func keyKind(key string) string {
	for _, prefix := range []string{"sk_test_", "rk_test_", "sk_live_", "rk_live_", "sk_", "rk_"} {
		if strings.HasPrefix(key, prefix) {
			return prefix + "…"
		}
	}
	if key == "" {
		return "(none)"
	}
	return "(invalid)"
}

// Stripe is the Provider of real payments: customers, off-session
// PaymentIntents on saved cards, Checkout in setup mode to save a card
// (HostedSetup), 3-D Secure (Authenticator) and signed webhook events
// (Webhooks). Card numbers never reach it: Stripe's pages take them.
//
// It keeps no state of its own and is safe for concurrent use. Nothing it
// returns or logs holds the secret key or the webhook secret, and its
// errors carry no card data: no PaymentMethod, no billing details, no
// client secret of an intent.
type Stripe struct {
	client        *stripe.Client
	webhookSecret string
	testMode      bool
	api           string   // the API's base URL, for String
	secrets       []string // the key and the webhook secret, redacted from errors
}

var (
	_ Provider      = (*Stripe)(nil)
	_ HostedSetup   = (*Stripe)(nil)
	_ Authenticator = (*Stripe)(nil)
	_ Webhooks      = (*Stripe)(nil)
)

// NewStripe checks cfg and returns a Stripe provider. The key must start
// with sk_ or rk_, the webhook secret with whsec_; APIURL, when set, must
// be an http or https URL. stripe-go logs nothing through it: its logger
// is silenced, so that no request detail ever reaches a log.
func NewStripe(cfg StripeConfig) (*Stripe, error) {
	if !strings.HasPrefix(cfg.SecretKey, "sk_") && !strings.HasPrefix(cfg.SecretKey, "rk_") || len(cfg.SecretKey) <= len("sk_") {
		return nil, errors.New("new stripe: the secret key must be a secret (sk_…) or restricted (rk_…) API key")
	}
	if !strings.HasPrefix(cfg.WebhookSecret, "whsec_") || len(cfg.WebhookSecret) <= len("whsec_") {
		return nil, errors.New("new stripe: the webhook secret must be an endpoint's signing secret (whsec_…)")
	}
	backend := &stripe.BackendConfig{
		HTTPClient:        cfg.HTTPClient,
		MaxNetworkRetries: stripe.Int64(stripeMaxNetworkRetries),
		LeveledLogger:     quietLogger{},
	}
	api := stripe.APIURL
	if cfg.APIURL != "" {
		u, err := url.Parse(cfg.APIURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// Not quoted: a misplaced secret would be.
			return nil, errors.New("new stripe: the API URL is not an http or https URL")
		}
		api = u.Redacted()
		backend.URL = stripe.String(cfg.APIURL)
	}
	// Only the API backend is used; the others get the same configuration
	// (their own default URLs unless APIURL is set), so that none is nil.
	backends := &stripe.Backends{
		API:         stripe.GetBackendWithConfig(stripe.APIBackend, backend),
		Connect:     stripe.GetBackendWithConfig(stripe.ConnectBackend, backend),
		Uploads:     stripe.GetBackendWithConfig(stripe.UploadsBackend, backend),
		MeterEvents: stripe.GetBackendWithConfig(stripe.MeterEventsBackend, backend),
	}
	return &Stripe{
		client:        stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends)),
		webhookSecret: cfg.WebhookSecret,
		testMode:      strings.HasPrefix(cfg.SecretKey, "sk_test_") || strings.HasPrefix(cfg.SecretKey, "rk_test_"),
		api:           api,
		secrets:       []string{cfg.SecretKey, cfg.WebhookSecret},
	}, nil
}

// quietLogger is stripe-go's logger for Stripe: it prints nothing, since
// stripe-go would log request paths, error bodies and, at debug level,
// whole responses. Failures reach the caller as errors instead.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}

// Name is "stripe".
func (s *Stripe) Name() string { return "stripe" }

// TestMode is true for a test-mode key (sk_test_, rk_test_): Stripe's test
// mode moves no real money either, and every page says so.
func (s *Stripe) TestMode() bool { return s.testMode }

// String describes s without its secrets; so do Format and LogValue.
func (s *Stripe) String() string {
	mode := "live mode"
	if s.testMode {
		mode = "test mode"
	}
	return fmt.Sprintf("stripe(%s, API %s)", mode, s.api)
}

// Format implements fmt.Formatter: every verb prints String, never the
// secrets that s holds.
func (s *Stripe) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer: a logged Stripe has no secrets.
func (s *Stripe) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Customer creates a Stripe customer named after the billing profile, with
// the organization, user and profile as metadata. Stripe answers a repeat
// with the same IdempotencyKey (within 24 hours) with the first customer.
func (s *Stripe) Customer(ctx context.Context, r CustomerRequest) (string, error) {
	const op = "customer"
	if r.IdempotencyKey == "" {
		return "", fmt.Errorf("%s: %w: empty idempotency key", op, ErrInvalidCharge)
	}
	params := &stripe.CustomerCreateParams{
		Metadata: metadata(map[string]string{"org": r.Org, "user": r.User, "profile": r.Profile}),
	}
	if r.Name != "" {
		params.Name = stripe.String(r.Name)
	}
	params.SetIdempotencyKey(r.IdempotencyKey)
	c, err := s.client.V1Customers.Create(ctx, params)
	if err != nil {
		return "", s.failure(op, err)
	}
	return c.ID, nil
}

// Charge creates and confirms an off-session PaymentIntent for the card
// r.Method of customer r.Customer. The charge is ChargeSucceeded when
// Stripe took the money, ChargeRequiresAction when the card's bank wants
// the customer to confirm it (see Authenticate), and ChargePending for any
// other state: its outcome then comes as an Event. A declined card is an
// error wrapping ErrDeclined; a network or server failure is an ordinary
// error, after which the caller tries again later with the same
// IdempotencyKey.
func (s *Stripe) Charge(ctx context.Context, r ChargeRequest) (Charge, error) {
	const op = "charge"
	switch {
	case r.Method == "":
		return Charge{}, fmt.Errorf("%s: %w: no payment method", op, ErrInvalidToken)
	case r.Customer == "":
		return Charge{}, fmt.Errorf("%s: %w: no customer", op, ErrInvalidCharge)
	case r.Amount <= 0:
		return Charge{}, fmt.Errorf("%s: %w: amount %d is not positive", op, ErrInvalidCharge, r.Amount)
	case r.IdempotencyKey == "":
		return Charge{}, fmt.Errorf("%s: %w: empty idempotency key", op, ErrInvalidCharge)
	}
	if _, err := currency.ParseISO(r.Currency); err != nil {
		return Charge{}, fmt.Errorf("%s: %w: unknown currency %q", op, ErrInvalidCharge, r.Currency)
	}
	params := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(r.Amount),
		Currency:           stripe.String(strings.ToLower(r.Currency)),
		Customer:           stripe.String(r.Customer),
		PaymentMethod:      stripe.String(r.Method),
		PaymentMethodTypes: stripe.StringSlice([]string{stripeCardType}),
		Confirm:            stripe.Bool(true),
		OffSession:         stripe.Bool(true),
		Metadata:           metadata(r.Metadata),
	}
	if r.Description != "" {
		params.Description = stripe.String(r.Description)
	}
	params.SetIdempotencyKey(r.IdempotencyKey)
	pi, err := s.client.V1PaymentIntents.Create(ctx, params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
			if se.Code == stripe.ErrorCodeAuthenticationRequired || se.DeclineCode == stripe.DeclineCodeAuthenticationRequired {
				// The bank wants the customer: they can confirm the
				// same PaymentIntent on-session (Authenticate).
				c := Charge{Status: ChargeRequiresAction}
				if se.PaymentIntent != nil {
					c.ID = se.PaymentIntent.ID
				}
				return c, nil
			}
			return Charge{}, s.declined(op, se)
		}
		return Charge{}, s.failure(op, err)
	}
	return Charge{ID: pi.ID, Status: chargeStatus(pi.Status)}, nil
}

// chargeStatus maps a PaymentIntent's status to a ChargeStatus. Anything
// but succeeded and requires_action is pending: stripe-mock, for one,
// answers requires_payment_method, which is no decline (a declined
// off-session confirmation is a card error instead).
func chargeStatus(st stripe.PaymentIntentStatus) ChargeStatus {
	switch st {
	case stripe.PaymentIntentStatusSucceeded:
		return ChargeSucceeded
	case stripe.PaymentIntentStatusRequiresAction:
		return ChargeRequiresAction
	}
	return ChargePending
}

// Detach detaches the payment method from its customer. One that Stripe
// does not know or that is detached already is no error: either way it
// can never be charged again.
func (s *Stripe) Detach(ctx context.Context, method string) error {
	const op = "detach"
	if method == "" {
		return fmt.Errorf("%s: %w: no payment method", op, ErrInvalidToken)
	}
	_, err := s.client.V1PaymentMethods.Detach(ctx, method, nil)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeInvalidRequest &&
			(se.Code == stripe.ErrorCodeResourceMissing || strings.Contains(se.Msg, stripeNotAttached)) {
			return nil
		}
		return s.failure(op, err)
	}
	return nil
}

// StartSetup creates a Checkout Session in setup mode, in which the
// customer saves a card on Stripe's page. Lang "de" or "en" is the page's
// language; any other lets Stripe choose from the browser. r.Reference
// comes back as the session's client_reference_id with the
// EventSetupCompleted.
func (s *Stripe) StartSetup(ctx context.Context, r SetupRequest) (Setup, error) {
	const op = "start setup"
	switch {
	case r.Customer == "":
		return Setup{}, fmt.Errorf("%s: no customer", op)
	case r.SuccessURL == "" || r.CancelURL == "":
		return Setup{}, fmt.Errorf("%s: a success and a cancel URL are needed", op)
	case r.IdempotencyKey == "":
		return Setup{}, fmt.Errorf("%s: empty idempotency key", op)
	}
	locale := stripeLocaleAuto
	if r.Lang == "de" || r.Lang == "en" {
		locale = r.Lang
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode:               stripe.String(stripeSetupMode),
		Customer:           stripe.String(r.Customer),
		PaymentMethodTypes: stripe.StringSlice([]string{stripeCardType}),
		Locale:             stripe.String(locale),
		SuccessURL:         stripe.String(r.SuccessURL),
		CancelURL:          stripe.String(r.CancelURL),
	}
	if r.Reference != "" {
		params.ClientReferenceID = stripe.String(r.Reference)
		params.Metadata = map[string]string{"reference": r.Reference}
	}
	params.SetIdempotencyKey(r.IdempotencyKey)
	cs, err := s.client.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return Setup{}, s.failure(op, err)
	}
	if cs.URL == "" {
		return Setup{}, fmt.Errorf("%s: checkout session %s has no URL", op, cs.ID)
	}
	return Setup{ID: cs.ID, URL: cs.URL}, nil
}

// Authenticate returns the page where the customer confirms the
// PaymentIntent charge (3-D Secure). An intent waiting for that page
// already gives it; one whose off-session attempt needed the customer
// (requires_payment_method, requires_confirmation) is confirmed again
// on-session with its card and returnURL, which gives the page. A charge
// that succeeded, is processing or was canceled needs nothing: ErrNoAction.
//
// The confirmation has no idempotency key of its own (stripe-go gives each
// call one, kept across its retries): after a failed attempt the customer
// may try again, and that must be a new confirmation.
func (s *Stripe) Authenticate(ctx context.Context, charge, returnURL string) (string, error) {
	op := "authenticate " + charge
	if charge == "" {
		return "", errors.New("authenticate: no charge")
	}
	if returnURL == "" {
		return "", fmt.Errorf("%s: no return URL", op)
	}
	pi, err := s.client.V1PaymentIntents.Retrieve(ctx, charge, nil)
	if err != nil {
		return "", s.failure(op, err)
	}
	switch pi.Status {
	case stripe.PaymentIntentStatusRequiresAction:
		if u := redirectURL(pi); u != "" {
			return u, nil
		}
		return "", fmt.Errorf("%s: its next action (%s) is no page to send the customer to", op, nextActionType(pi))
	case stripe.PaymentIntentStatusRequiresPaymentMethod, stripe.PaymentIntentStatusRequiresConfirmation:
		// confirmed below
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusProcessing,
		stripe.PaymentIntentStatusCanceled, stripe.PaymentIntentStatusRequiresCapture:
		return "", fmt.Errorf("%s: %w (status %s)", op, ErrNoAction, pi.Status)
	default:
		return "", fmt.Errorf("%s: unexpected status %q", op, pi.Status)
	}

	// After a failed attempt Stripe clears the intent's payment method;
	// the card of the attempt is then the last error's.
	method := ""
	if pi.PaymentMethod != nil {
		method = pi.PaymentMethod.ID
	} else if pi.LastPaymentError != nil && pi.LastPaymentError.PaymentMethod != nil {
		method = pi.LastPaymentError.PaymentMethod.ID
	}
	if method == "" {
		return "", fmt.Errorf("%s: it has no payment method to confirm", op)
	}
	confirmed, err := s.client.V1PaymentIntents.Confirm(ctx, charge, &stripe.PaymentIntentConfirmParams{
		PaymentMethod: stripe.String(method),
		ReturnURL:     stripe.String(returnURL),
	})
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
			return "", s.declined(op, se)
		}
		return "", s.failure(op, err)
	}
	switch confirmed.Status {
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		// The bank let it through without the customer this time.
		return "", fmt.Errorf("%s: %w (confirmed: %s)", op, ErrNoAction, confirmed.Status)
	}
	if u := redirectURL(confirmed); u != "" {
		return u, nil
	}
	return "", fmt.Errorf("%s: confirmed on-session, it is %s with no page to send the customer to (next action %s)",
		op, confirmed.Status, nextActionType(confirmed))
}

// redirectURL is the page of pi's redirect_to_url next action, or "".
func redirectURL(pi *stripe.PaymentIntent) string {
	if pi.NextAction == nil || pi.NextAction.RedirectToURL == nil {
		return ""
	}
	return pi.NextAction.RedirectToURL.URL
}

// nextActionType names pi's next action for an error message.
func nextActionType(pi *stripe.PaymentIntent) string {
	if pi.NextAction == nil || pi.NextAction.Type == "" {
		return "none"
	}
	return string(pi.NextAction.Type)
}

// Event verifies a webhook request and translates its event. The
// signature (Stripe-Signature header) must be made with the webhook secret
// no more than 5 minutes ago, and the event's API version must be of
// stripe-go's release train (stripe.APIVersion): the webhook endpoint must
// be created with that version, since objects of another version may be
// read wrongly. Any failure of these is an error wrapping ErrBadEvent.
//
// Translated are:
//   - checkout.session.completed in setup mode: EventSetupCompleted, with
//     the saved card read from the session's SetupIntent (one API call; its
//     failure is an ordinary error, so that Stripe delivers the event again);
//   - payment_intent.succeeded, .payment_failed and .requires_action:
//     EventChargeSucceeded, EventChargeFailed (Reason is the error's
//     code/decline_code) and EventChargeRequiresAction;
//   - charge.refunded, when fully refunded: EventChargeRefunded;
//   - charge.dispute.created: EventChargeDisputed;
//   - payment_method.updated and .automatically_updated: EventMethodUpdated;
//   - payment_method.detached: EventMethodDetached.
//
// Any other event has an empty Kind (but its ID and Created), to be
// acknowledged and ignored.
func (s *Stripe) Event(ctx context.Context, payload []byte, header string) (Event, error) {
	e, err := webhook.ConstructEventWithOptions(payload, header, s.webhookSecret, webhook.ConstructEventOptions{
		Tolerance: stripeWebhookTolerance,
	})
	if err != nil {
		// The errors of stripe-go's webhook package name neither the
		// secret nor the payload beyond a JSON syntax error.
		return Event{}, fmt.Errorf("stripe event: %w: %s", ErrBadEvent, s.redact(err.Error()))
	}
	op := fmt.Sprintf("stripe event %s (%s)", e.ID, e.Type)
	if e.ID == "" {
		return Event{}, fmt.Errorf("%s: %w: no id", op, ErrBadEvent)
	}
	ev := Event{ID: e.ID, Created: time.Unix(e.Created, 0).UTC()}
	kind := stripeEventKind(string(e.Type))
	if kind == "" {
		return ev, nil
	}
	if e.Data == nil || len(e.Data.Raw) == 0 {
		return Event{}, fmt.Errorf("%s: %w: no data object", op, ErrBadEvent)
	}
	raw := e.Data.Raw
	switch string(e.Type) {
	case stripeCheckoutCompleted:
		var cs stripe.CheckoutSession
		if err := decodeObject(raw, &cs); err != nil {
			return Event{}, fmt.Errorf("%s: %w", op, err)
		}
		if cs.Mode != stripe.CheckoutSessionModeSetup {
			return ev, nil // a payment or subscription session is none of billingbot's
		}
		if cs.SetupIntent == nil || cs.SetupIntent.ID == "" {
			return Event{}, fmt.Errorf("%s: %w: setup session %s has no setup intent", op, ErrBadEvent, cs.ID)
		}
		m, customer, err := s.setupMethod(ctx, cs.SetupIntent.ID)
		if err != nil {
			return Event{}, fmt.Errorf("%s: %w", op, err)
		}
		ev.Kind = kind
		ev.Reference = cs.ClientReferenceID
		ev.Customer = customer
		if cs.Customer != nil && cs.Customer.ID != "" {
			ev.Customer = cs.Customer.ID
		}
		ev.Method = m

	case stripePaymentSucceeded, stripePaymentFailed, stripePaymentRequiresAction:
		var pi stripe.PaymentIntent
		if err := decodeObject(raw, &pi); err != nil {
			return Event{}, fmt.Errorf("%s: %w", op, err)
		}
		ev.Kind = kind
		ev.Charge = pi.ID
		ev.Metadata = pi.Metadata
		if pi.Customer != nil {
			ev.Customer = pi.Customer.ID
		}
		if e.Type == stripePaymentFailed && pi.LastPaymentError != nil {
			ev.Reason = failureReason(pi.LastPaymentError)
		}

	case stripeChargeRefunded:
		var ch stripe.Charge
		if err := decodeObject(raw, &ch); err != nil {
			return Event{}, fmt.Errorf("%s: %w", op, err)
		}
		// Only a full refund counts: billingbot refunds whole charges,
		// and a partial one (made by hand in Stripe's dashboard) is
		// ignored here, to be settled by hand too. A charge without a
		// PaymentIntent was not made by billingbot.
		if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" || ch.AmountRefunded != ch.Amount {
			return ev, nil
		}
		ev.Kind = kind
		ev.Charge = ch.PaymentIntent.ID
		ev.Amount = ch.AmountRefunded
		ev.Metadata = ch.Metadata
		if ch.Customer != nil {
			ev.Customer = ch.Customer.ID
		}

	case stripeDisputeCreated:
		var d stripe.Dispute
		if err := decodeObject(raw, &d); err != nil {
			return Event{}, fmt.Errorf("%s: %w", op, err)
		}
		if d.PaymentIntent == nil || d.PaymentIntent.ID == "" {
			return ev, nil // not a charge of billingbot's
		}
		ev.Kind = kind
		ev.Charge = d.PaymentIntent.ID
		ev.Amount = d.Amount
		ev.Reason = string(d.Reason)

	case stripeMethodUpdated, stripeMethodAutoUpdated, stripeMethodDetached:
		var pm stripe.PaymentMethod
		if err := decodeObject(raw, &pm); err != nil {
			return Event{}, fmt.Errorf("%s: %w", op, err)
		}
		if pm.ID == "" {
			return Event{}, fmt.Errorf("%s: %w: payment method without id", op, ErrBadEvent)
		}
		ev.Kind = kind
		if pm.Customer != nil {
			ev.Customer = pm.Customer.ID
		}
		if e.Type == stripeMethodDetached {
			ev.Method = Method{Token: pm.ID}
			// A detached method has no customer any more; the event
			// tells the one it had.
			if c, ok := e.Data.PreviousAttributes["customer"].(string); ok && ev.Customer == "" {
				ev.Customer = c
			}
			break
		}
		if pm.Card == nil {
			return ev.ignored(), nil // not a card: billingbot saves none such
		}
		ev.Method = cardMethod(&pm)
	}
	return ev, nil
}

// ignored is e without its Kind and what the Kind would have carried.
func (e Event) ignored() Event { return Event{ID: e.ID, Created: e.Created} }

// stripeEventKind is the EventKind of a Stripe event type that Event
// translates, or "".
func stripeEventKind(eventType string) EventKind {
	switch eventType {
	case stripeCheckoutCompleted:
		return EventSetupCompleted
	case stripePaymentSucceeded:
		return EventChargeSucceeded
	case stripePaymentFailed:
		return EventChargeFailed
	case stripePaymentRequiresAction:
		return EventChargeRequiresAction
	case stripeChargeRefunded:
		return EventChargeRefunded
	case stripeDisputeCreated:
		return EventChargeDisputed
	case stripeMethodUpdated, stripeMethodAutoUpdated:
		return EventMethodUpdated
	case stripeMethodDetached:
		return EventMethodDetached
	}
	return ""
}

// decodeObject reads an event's data object into v; a failure is
// ErrBadEvent.
func decodeObject(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: data object: %v", ErrBadEvent, err)
	}
	return nil
}

// setupMethod retrieves the SetupIntent of a completed Checkout Session,
// with its payment method, and returns the card and the intent's customer.
func (s *Stripe) setupMethod(ctx context.Context, setupIntent string) (Method, string, error) {
	op := "retrieve setup intent " + setupIntent
	params := &stripe.SetupIntentRetrieveParams{}
	params.AddExpand("payment_method")
	si, err := s.client.V1SetupIntents.Retrieve(ctx, setupIntent, params)
	if err != nil {
		return Method{}, "", s.failure(op, err)
	}
	pm := si.PaymentMethod
	if pm == nil || pm.ID == "" {
		return Method{}, "", fmt.Errorf("%s: no payment method", op)
	}
	if pm.Card == nil {
		return Method{}, "", fmt.Errorf("%s: payment method %s is a %s, not a card", op, pm.ID, pm.Type)
	}
	customer := ""
	if si.Customer != nil {
		customer = si.Customer.ID
	}
	return cardMethod(pm), customer, nil
}

// cardMethod is the Method of a card PaymentMethod. A name or address
// that looks like it holds a card number is left out: it is not kept.
func cardMethod(pm *stripe.PaymentMethod) Method {
	m := Method{
		Token:       pm.ID,
		Brand:       cardBrand(pm.Card.Brand),
		Last4:       pm.Card.Last4,
		ExpMonth:    int(pm.Card.ExpMonth),
		ExpYear:     int(pm.Card.ExpYear),
		Fingerprint: pm.Card.Fingerprint,
	}
	if b := pm.BillingDetails; b != nil {
		m.Name = strings.TrimSpace(b.Name)
		m.Address = oneLineAddress(b.Address)
	}
	if ContainsCardNumber(m.Name) {
		m.Name = ""
	}
	if ContainsCardNumber(m.Address) {
		m.Address = ""
	}
	return m
}

// cardBrand maps Stripe's card brand to a Brand… constant.
func cardBrand(b stripe.PaymentMethodCardBrand) string {
	switch b {
	case stripe.PaymentMethodCardBrandVisa:
		return BrandVisa
	case stripe.PaymentMethodCardBrandMastercard:
		return BrandMastercard
	case stripe.PaymentMethodCardBrandAmex:
		return BrandAmex
	case stripe.PaymentMethodCardBrandDiscover:
		return BrandDiscover
	}
	return BrandUnknown
}

// oneLineAddress writes a billing address on one line: "line1, line2,
// postal code city, state, country", leaving out what is empty.
func oneLineAddress(a *stripe.Address) string {
	if a == nil {
		return ""
	}
	var parts []string
	for _, p := range []string{a.Line1, a.Line2, strings.TrimSpace(a.PostalCode + " " + a.City), a.State, a.Country} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}

// failureReason is "code/decline_code" of a payment error, or the one of
// them that is set.
func failureReason(e *stripe.Error) string {
	switch {
	case e.Code != "" && e.DeclineCode != "":
		return string(e.Code) + "/" + string(e.DeclineCode)
	case e.DeclineCode != "":
		return string(e.DeclineCode)
	}
	return string(e.Code)
}

// metadata is m without its empty values (Stripe reads an empty value as
// "delete this key"), or nil.
func metadata(m map[string]string) map[string]string {
	var out map[string]string
	for k, v := range m {
		if v == "" {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m))
		}
		out[k] = v
	}
	return out
}

// stripeFailure is a failed Stripe call as billingbot reports it. Its
// message has the operation and, for an error answered by Stripe, its
// type, code, decline code, HTTP status, request id and message, but never
// the objects Stripe attaches to an error (a PaymentIntent with its client
// secret, a PaymentMethod with the holder's billing details), and never an
// API key or webhook secret. It unwraps to kind (ErrDeclined or nil) and to
// the underlying error, for errors.Is and errors.As.
type stripeFailure struct {
	msg  string
	kind error
	err  error
}

func (f *stripeFailure) Error() string { return f.msg }

func (f *stripeFailure) Unwrap() []error {
	if f.kind == nil {
		return []error{f.err}
	}
	return []error{f.kind, f.err}
}

// failure wraps the error of a Stripe call made for op.
func (s *Stripe) failure(op string, err error) error {
	var se *stripe.Error
	if errors.As(err, &se) {
		return &stripeFailure{msg: op + ": " + s.describe(se), err: err}
	}
	return &stripeFailure{msg: op + ": " + s.redact(err.Error()), err: err}
}

// declined wraps a card error of op: an error wrapping ErrDeclined, with
// Stripe's codes but no card data.
func (s *Stripe) declined(op string, se *stripe.Error) error {
	return &stripeFailure{msg: op + ": " + ErrDeclined.Error() + ": " + s.describe(se), kind: ErrDeclined, err: se}
}

// describe is a one-line account of a Stripe error without what it
// carries of a card, an intent or a secret.
func (s *Stripe) describe(se *stripe.Error) string {
	var b strings.Builder
	b.WriteString("stripe ")
	if se.Type != "" {
		b.WriteString(string(se.Type))
	} else {
		b.WriteString("error")
	}
	if se.Code != "" {
		fmt.Fprintf(&b, " %s", se.Code)
	}
	if se.DeclineCode != "" {
		fmt.Fprintf(&b, " (decline code %s)", se.DeclineCode)
	}
	if se.HTTPStatusCode != 0 {
		fmt.Fprintf(&b, ", HTTP %d", se.HTTPStatusCode)
	}
	if se.RequestID != "" {
		fmt.Fprintf(&b, ", request %s", se.RequestID)
	}
	if se.Msg != "" {
		fmt.Fprintf(&b, ": %s", s.redact(se.Msg))
	}
	return b.String()
}

// secretLike is what looks like a Stripe API key or webhook secret.
var secretLike = regexp.MustCompile(`\b(?:(?:sk|rk)_(?:test|live)_|whsec_)[0-9A-Za-z_*]+`)

// redact replaces in msg s's key and webhook secret, and whatever else
// looks like a Stripe API key or webhook secret, with "[redacted]".
func (s *Stripe) redact(msg string) string {
	for _, secret := range s.secrets {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	return secretLike.ReplaceAllString(msg, "[redacted]")
}
