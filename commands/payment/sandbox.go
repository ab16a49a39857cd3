package payment

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/currency"
)

// Lengths of the card numbers that the Sandbox accepts.
const (
	minDigits = 12
	maxDigits = 19
)

// Test cards of the Sandbox with a special behaviour. Any other number that
// passes the Luhn check is accepted and charged; well-known ones are
// 4242424242424242 (visa), 5555555555554444 (mastercard), 378282246310005
// (amex) and 6011111111111117 (discover).
const (
	// TestCardDeclined is declined by Tokenize with ErrDeclined.
	TestCardDeclined = "4000000000000002"
	// TestCardChargeDeclined tokenizes, but every Charge of its token
	// fails with ErrDeclined.
	TestCardChargeDeclined = "4000000000000341"
)

// Token layout: tok_sandbox_<brand>_<last4>_<flag>_<random hex>.
const (
	tokenPrefix   = "tok_sandbox_"
	flagOK        = "ok"
	flagDecline   = "decline"
	tokenRandSize = 8 // bytes
)

// Sandbox is an offline Provider for trying the bot and for tests: it
// checks the cards typed on billingbot's payment page like a real provider,
// knows a few test cards, and charges nothing. It is in test mode.
//
// It keeps no state: a token holds all that Charge needs, and customer and
// charge ids are derived from the idempotency keys, so that a repeat
// returns the same id on any replica. It is safe for concurrent use.
type Sandbox struct{}

var (
	_ Provider  = (*Sandbox)(nil)
	_ CardTaker = (*Sandbox)(nil)
)

// Name is "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

// TestMode is true: the sandbox moves no money.
func (s *Sandbox) TestMode() bool { return true }

// Customer returns a customer id derived from the idempotency key.
func (s *Sandbox) Customer(ctx context.Context, r CustomerRequest) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("customer: %w", err)
	}
	if r.IdempotencyKey == "" {
		return "", fmt.Errorf("customer: %w: empty idempotency key", ErrInvalidCharge)
	}
	sum := sha256.Sum256([]byte("customer\x00" + r.IdempotencyKey))
	return "cus_sandbox_" + hex.EncodeToString(sum[:12]), nil
}

// Detach checks the form of the token; the sandbox keeps nothing to remove.
func (s *Sandbox) Detach(ctx context.Context, token string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	if _, ok := parseToken(token); !ok {
		return fmt.Errorf("detach: %w", ErrInvalidToken)
	}
	return nil
}

// NewSandbox returns a sandbox gateway.
func NewSandbox() *Sandbox { return &Sandbox{} }

// Tokenize checks c as of now and returns a Method for it. The number must
// have 12 to 19 digits (spaces and dashes aside) and pass the Luhn check,
// the security code must have 3 digits (4 for amex), and the card must
// expire in now's month or later.
func (s *Sandbox) Tokenize(ctx context.Context, c Card, now time.Time) (Method, error) {
	if err := ctx.Err(); err != nil {
		return Method{}, fmt.Errorf("tokenize card: %w", err)
	}
	n := digits(c.Number)
	if len(n) < minDigits || len(n) > maxDigits || !Luhn(n) {
		return Method{}, fmt.Errorf("tokenize card: %w", ErrInvalidNumber)
	}
	brand := Brand(n)
	cvcLen := 3
	if brand == BrandAmex {
		cvcLen = 4
	}
	if len(c.CVC) != cvcLen || !allDigits(c.CVC) {
		return Method{}, fmt.Errorf("tokenize card: %w: want %d digits", ErrInvalidCVC, cvcLen)
	}
	if c.ExpMonth < 1 || c.ExpMonth > 12 || c.ExpYear < 1000 || c.ExpYear > 9999 {
		return Method{}, fmt.Errorf("tokenize card: %w: want a month 1 to 12 and a four-digit year", ErrInvalidExpiry)
	}
	if c.ExpYear < now.Year() || c.ExpYear == now.Year() && c.ExpMonth < int(now.Month()) {
		return Method{}, fmt.Errorf("tokenize card: %w", ErrExpired)
	}
	if n == TestCardDeclined {
		return Method{}, fmt.Errorf("tokenize card: %w", ErrDeclined)
	}

	flag := flagOK
	if n == TestCardChargeDeclined {
		flag = flagDecline
	}
	random := make([]byte, tokenRandSize)
	if _, err := rand.Read(random); err != nil {
		return Method{}, fmt.Errorf("tokenize card: %w", err)
	}
	last4 := n[len(n)-4:]
	// The fingerprint is keyed, so that it cannot be reversed by trying
	// every number of a brand and its last four digits.
	mac := sha256.Sum256([]byte("billingbot sandbox fingerprint\x00" + n))
	return Method{
		Token:       tokenPrefix + strings.Join([]string{brand, last4, flag, hex.EncodeToString(random)}, "_"),
		Brand:       brand,
		Last4:       last4,
		ExpMonth:    c.ExpMonth,
		ExpYear:     c.ExpYear,
		Fingerprint: "fp_sandbox_" + hex.EncodeToString(mac[:8]),
	}, nil
}

// Charge charges r.Amount minor units of the ISO 4217 currency r.Currency
// to the method of r.Method, at once. The charge id depends only on the
// token and the idempotency key: a repeat returns the same id, and the
// sandbox charges nothing anyway. Like a real provider, it does not notice
// a repeat with other amounts.
func (s *Sandbox) Charge(ctx context.Context, r ChargeRequest) (Charge, error) {
	if err := ctx.Err(); err != nil {
		return Charge{}, fmt.Errorf("charge: %w", err)
	}
	flag, ok := parseToken(r.Method)
	if !ok {
		return Charge{}, fmt.Errorf("charge: %w", ErrInvalidToken)
	}
	if r.Amount <= 0 {
		return Charge{}, fmt.Errorf("charge: %w: amount %d is not positive", ErrInvalidCharge, r.Amount)
	}
	if _, err := currency.ParseISO(r.Currency); err != nil {
		return Charge{}, fmt.Errorf("charge: %w: unknown currency %q", ErrInvalidCharge, r.Currency)
	}
	if r.IdempotencyKey == "" {
		return Charge{}, fmt.Errorf("charge: %w: empty idempotency key", ErrInvalidCharge)
	}
	if flag == flagDecline {
		return Charge{}, fmt.Errorf("charge: %w", ErrDeclined)
	}
	sum := sha256.Sum256([]byte(r.Method + "\x00" + r.IdempotencyKey))
	return Charge{ID: "ch_" + hex.EncodeToString(sum[:12]), Status: ChargeSucceeded}, nil
}

// parseToken checks the form of a sandbox token and returns its flag.
func parseToken(token string) (flag string, ok bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 4 {
		return "", false
	}
	brand, last4, flag, random := parts[0], parts[1], parts[2], parts[3]
	switch brand {
	case BrandVisa, BrandMastercard, BrandAmex, BrandDiscover, BrandUnknown:
	default:
		return "", false
	}
	if len(last4) != 4 || !allDigits(last4) {
		return "", false
	}
	if flag != flagOK && flag != flagDecline {
		return "", false
	}
	if b, err := hex.DecodeString(random); err != nil || len(b) != tokenRandSize || random != strings.ToLower(random) {
		return "", false
	}
	return flag, true
}
