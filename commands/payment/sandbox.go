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

// Sandbox is an offline Gateway for trying the bot and for tests: it checks
// cards like a real provider, knows a few test cards, and charges nothing.
//
// It keeps no state: a token holds all that Charge needs, and a charge id
// is derived from the token and the idempotency key, so that a repeated
// charge returns the same id on any replica. It is safe for concurrent use.
type Sandbox struct{}

var _ Gateway = (*Sandbox)(nil)

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
	return Method{
		Token:    tokenPrefix + strings.Join([]string{brand, last4, flag, hex.EncodeToString(random)}, "_"),
		Brand:    brand,
		Last4:    last4,
		ExpMonth: c.ExpMonth,
		ExpYear:  c.ExpYear,
	}, nil
}

// Charge charges amount minor units of the ISO 4217 currency cur to the
// method of token. The charge id depends only on token and idempotencyKey:
// a repeat returns the same id, and the sandbox charges nothing anyway.
// Like a real provider, it does not notice a repeat with other amounts.
func (s *Sandbox) Charge(ctx context.Context, token string, amount int64, cur, idempotencyKey string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("charge: %w", err)
	}
	flag, ok := parseToken(token)
	if !ok {
		return "", fmt.Errorf("charge: %w", ErrInvalidToken)
	}
	if amount <= 0 {
		return "", fmt.Errorf("charge: %w: amount %d is not positive", ErrInvalidCharge, amount)
	}
	if _, err := currency.ParseISO(cur); err != nil {
		return "", fmt.Errorf("charge: %w: unknown currency %q", ErrInvalidCharge, cur)
	}
	if idempotencyKey == "" {
		return "", fmt.Errorf("charge: %w: empty idempotency key", ErrInvalidCharge)
	}
	if flag == flagDecline {
		return "", fmt.Errorf("charge: %w", ErrDeclined)
	}
	sum := sha256.Sum256([]byte(token + "\x00" + idempotencyKey))
	return "ch_" + hex.EncodeToString(sum[:12]), nil
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
