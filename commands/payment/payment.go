// Package payment charges customers through a Provider: Stripe, whose own
// pages take the cards, or the offline Sandbox, whose cards are typed on
// billingbot's payment page.
//
// Card numbers and security codes are never logged, stored or put in error
// messages: a Card formats itself without them, and only a Method (brand,
// last four digits, expiry, token) may be kept.
package payment

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Card is a payment card as entered by its holder. It exists only while a
// card is tokenized; print or log it and you get its brand, last four
// digits and expiry, never its number or security code.
type Card struct {
	Number   string // card number (PAN); spaces and dashes are ignored
	CVC      string // security code
	ExpMonth int    // 1…12
	ExpYear  int    // four digits, e.g. 2030
	Name     string // name on the card
	Address  string // billing address
}

// redacted describes c without its number and security code.
func (c Card) redacted() string {
	return fmt.Sprintf("card(%s ••••%s, expires %02d/%04d)", Brand(c.Number), Last4(c.Number), c.ExpMonth, c.ExpYear)
}

// Format implements fmt.Formatter: every verb prints the redacted card.
func (c Card) Format(f fmt.State, verb rune) { fmt.Fprint(f, c.redacted()) }

// LogValue implements slog.LogValuer: a logged card is redacted.
func (c Card) LogValue() slog.Value { return slog.StringValue(c.redacted()) }

// MarshalJSON encodes the redacted card, so that it cannot be stored.
func (c Card) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }

// Kinds of errors of a Provider; check them with errors.Is. No error names
// a card's number or security code.
var (
	ErrInvalidNumber = errors.New("invalid card number")
	ErrInvalidCVC    = errors.New("invalid security code")
	ErrInvalidExpiry = errors.New("invalid expiry date")
	ErrExpired       = errors.New("card expired")
	ErrDeclined      = errors.New("card declined")
	ErrInvalidToken  = errors.New("invalid payment token")
	ErrInvalidCharge = errors.New("invalid charge")
)

// Card brands, as Brand returns them.
const (
	BrandVisa       = "visa"
	BrandMastercard = "mastercard"
	BrandAmex       = "amex"
	BrandDiscover   = "discover"
	BrandUnknown    = "unknown"
)

// digits returns number without spaces and dashes.
func digits(number string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(number)
}

// allDigits reports whether s is non-empty and has only the digits 0-9.
func allDigits(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}

// Luhn reports whether number, without its spaces and dashes, has only
// digits, at least two, and passes the Luhn checksum.
func Luhn(number string) bool {
	n := digits(number)
	if len(n) < 2 || !allDigits(n) {
		return false
	}
	sum := 0
	for i := range len(n) {
		d := int(n[len(n)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// Brand returns the brand of a card number from its first digits:
// BrandVisa (4), BrandMastercard (51-55, 2221-2720), BrandAmex (34, 37),
// BrandDiscover (6011, 622126-622925, 644-649, 65) or BrandUnknown.
func Brand(number string) string {
	n := digits(number)
	if !allDigits(n) {
		return BrandUnknown
	}
	in := func(digits, lo, hi int) bool {
		if len(n) < digits {
			return false
		}
		p := 0
		for _, c := range n[:digits] {
			p = p*10 + int(c-'0')
		}
		return p >= lo && p <= hi
	}
	switch {
	case in(1, 4, 4):
		return BrandVisa
	case in(2, 51, 55), in(4, 2221, 2720):
		return BrandMastercard
	case in(2, 34, 34), in(2, 37, 37):
		return BrandAmex
	case in(4, 6011, 6011), in(6, 622126, 622925), in(3, 644, 649), in(2, 65, 65):
		return BrandDiscover
	}
	return BrandUnknown
}

// Last4 returns the last four digits of a card number (ignoring spaces and
// dashes), or "" if number is not at least 12 digits long: the last four
// digits of a shorter one would tell too much of it.
func Last4(number string) string {
	n := digits(number)
	if len(n) < minDigits || !allDigits(n) {
		return ""
	}
	return n[len(n)-4:]
}

// cardLike is what looks like a card number: 12 to 19 digits, perhaps
// grouped by spaces, dots, slashes or dashes.
var cardLike = regexp.MustCompile(`\d(?:[\s./-]*\d){11,18}`)

// ContainsCardNumber reports whether text holds something that looks like a
// card number, so that it is neither kept nor shown again where no card
// number belongs (a name, an address, a chat message).
func ContainsCardNumber(text string) bool { return cardLike.MatchString(text) }
