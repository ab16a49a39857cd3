package payment

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the time of the tests: in November 2026.
func testNow() time.Time { return time.Date(2026, 11, 25, 14, 5, 0, 0, time.UTC) }

// card returns a valid card with the given number, expiring in 2030.
func card(number string) Card {
	cvc := "123"
	if Brand(number) == BrandAmex {
		cvc = "1234"
	}
	return Card{Number: number, CVC: cvc, ExpMonth: 12, ExpYear: 2030, Name: "Erika Mustermann", Address: "Heidestraße 17, 51147 Köln"}
}

func TestSandboxTokenize(t *testing.T) {
	tests := []struct {
		name      string
		card      Card
		wantBrand string
		wantLast4 string
		wantErr   error
	}{
		{"visa", card("4242424242424242"), BrandVisa, "4242", nil},
		{"visa with spaces", card("4242 4242 4242 4242"), BrandVisa, "4242", nil},
		{"mastercard", card("5555555555554444"), BrandMastercard, "4444", nil},
		{"amex", card("378282246310005"), BrandAmex, "0005", nil},
		{"discover", card("6011111111111117"), BrandDiscover, "1117", nil},
		{"unknown brand, 12 digits", card("123456789015"), BrandUnknown, "9015", nil},
		{"19 digits", card("4000000000000000006"), BrandVisa, "0006", nil},
		{"charge-declined card tokenizes", card(TestCardChargeDeclined), BrandVisa, "0341", nil},
		{"declined card", card(TestCardDeclined), "", "", ErrDeclined},
		{"Luhn fails", card("4242424242424241"), "", "", ErrInvalidNumber},
		{"11 digits", card("79927398713"), "", "", ErrInvalidNumber},
		{"20 digits", card("42424242424242424242"), "", "", ErrInvalidNumber},
		{"letters", card("4242-4242-4242-424x"), "", "", ErrInvalidNumber},
		{"empty number", card(""), "", "", ErrInvalidNumber},
		{"CVC too short", withCVC(card("4242424242424242"), "12"), "", "", ErrInvalidCVC},
		{"CVC of 4 for visa", withCVC(card("4242424242424242"), "1234"), "", "", ErrInvalidCVC},
		{"CVC of 3 for amex", withCVC(card("378282246310005"), "123"), "", "", ErrInvalidCVC},
		{"CVC not digits", withCVC(card("4242424242424242"), "12a"), "", "", ErrInvalidCVC},
		{"empty CVC", withCVC(card("4242424242424242"), ""), "", "", ErrInvalidCVC},
		{"expires this month", withExpiry(card("4242424242424242"), 11, 2026), BrandVisa, "4242", nil},
		{"expires next month", withExpiry(card("4242424242424242"), 12, 2026), BrandVisa, "4242", nil},
		{"expires in January", withExpiry(card("4242424242424242"), 1, 2027), BrandVisa, "4242", nil},
		{"expired last month", withExpiry(card("4242424242424242"), 10, 2026), "", "", ErrExpired},
		{"expired last year", withExpiry(card("4242424242424242"), 12, 2025), "", "", ErrExpired},
		{"month 0", withExpiry(card("4242424242424242"), 0, 2030), "", "", ErrInvalidExpiry},
		{"month 13", withExpiry(card("4242424242424242"), 13, 2030), "", "", ErrInvalidExpiry},
		{"two-digit year", withExpiry(card("4242424242424242"), 12, 30), "", "", ErrInvalidExpiry},
	}
	tokenPattern := regexp.MustCompile(`^tok_sandbox_[a-z]+_[0-9]{4}_(ok|decline)_[0-9a-f]{16}$`)
	s := NewSandbox()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := s.Tokenize(context.Background(), tt.card, testNow())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Tokenize() = %+v, %v, want error %v", m, err, tt.wantErr)
				}
				if m != (Method{}) {
					t.Errorf("Tokenize() method = %+v with error, want none", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("Tokenize() error = %v, want none", err)
			}
			if m.Brand != tt.wantBrand || m.Last4 != tt.wantLast4 || m.ExpMonth != tt.card.ExpMonth || m.ExpYear != tt.card.ExpYear {
				t.Errorf("Tokenize() = %+v, want brand %s, last4 %s, expiry %d/%d", m, tt.wantBrand, tt.wantLast4, tt.card.ExpMonth, tt.card.ExpYear)
			}
			if !tokenPattern.MatchString(m.Token) {
				t.Errorf("Tokenize() token = %q, want one matching %v", m.Token, tokenPattern)
			}
		})
	}
}

func withCVC(c Card, cvc string) Card { c.CVC = cvc; return c }

func withExpiry(c Card, month, year int) Card { c.ExpMonth, c.ExpYear = month, year; return c }

func TestSandboxTokensDiffer(t *testing.T) {
	s := NewSandbox()
	a := tokenize(t, s, "4242424242424242")
	b := tokenize(t, s, "4242424242424242")
	if a == b {
		t.Errorf("two tokens of one card are both %q, want different ones", a)
	}
}

func tokenize(t *testing.T, s *Sandbox, number string) string {
	t.Helper()
	m, err := s.Tokenize(context.Background(), card(number), testNow())
	if err != nil {
		t.Fatalf("Tokenize(%s) error = %v", Last4(number), err)
	}
	return m.Token
}

func TestSandboxCharge(t *testing.T) {
	s := NewSandbox()
	visa := tokenize(t, s, "4242424242424242")
	amex := tokenize(t, s, "378282246310005")
	declining := tokenize(t, s, TestCardChargeDeclined)
	tests := []struct {
		name     string
		token    string
		amount   int64
		currency string
		key      string
		wantErr  error
	}{
		{"visa", visa, 1260, "EUR", "order-1", nil},
		{"amex in USD", amex, 1, "USD", "order-1", nil},
		{"lower-case currency", visa, 1260, "eur", "order-2", nil},
		{"declined at charge", declining, 1260, "EUR", "order-1", ErrDeclined},
		{"zero amount", visa, 0, "EUR", "order-1", ErrInvalidCharge},
		{"negative amount", visa, -1260, "EUR", "order-1", ErrInvalidCharge},
		{"empty currency", visa, 1260, "", "order-1", ErrInvalidCharge},
		{"unknown currency", visa, 1260, "EUX", "order-1", ErrInvalidCharge},
		{"empty idempotency key", visa, 1260, "EUR", "", ErrInvalidCharge},
		{"empty token", "", 1260, "EUR", "order-1", ErrInvalidToken},
		{"junk token", "tok_live_abc", 1260, "EUR", "order-1", ErrInvalidToken},
		{"unknown brand", strings.Replace(visa, "_visa_", "_jcb_", 1), 1260, "EUR", "order-1", ErrInvalidToken},
		{"bad last4", strings.Replace(visa, "_4242_", "_42x2_", 1), 1260, "EUR", "order-1", ErrInvalidToken},
		{"unknown flag", strings.Replace(visa, "_ok_", "_maybe_", 1), 1260, "EUR", "order-1", ErrInvalidToken},
		{"short random", visa[:len(visa)-2], 1260, "EUR", "order-1", ErrInvalidToken},
		{"upper-case random", visa[:len(visa)-16] + "ABCDEF0123456789", 1260, "EUR", "order-1", ErrInvalidToken},
		{"extra part", visa + "_x", 1260, "EUR", "order-1", ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := s.Charge(context.Background(), ChargeRequest{Method: tt.token, Amount: tt.amount, Currency: tt.currency, IdempotencyKey: tt.key})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || ch != (Charge{}) {
					t.Errorf("Charge() = %+v, %v, want error %v", ch, err, tt.wantErr)
				}
				return
			}
			if err != nil || !regexp.MustCompile(`^ch_[0-9a-f]{24}$`).MatchString(ch.ID) || ch.Status != ChargeSucceeded {
				t.Errorf("Charge() = %+v, %v, want a succeeded charge with an id ch_<24 hex digits>", ch, err)
			}
		})
	}
}

func TestSandboxChargeIdempotent(t *testing.T) {
	s := NewSandbox()
	visa := tokenize(t, s, "4242424242424242")
	other := tokenize(t, s, "4242424242424242")
	charge := func(s *Sandbox, token, key string) string {
		t.Helper()
		ch, err := s.Charge(context.Background(), ChargeRequest{Method: token, Amount: 1260, Currency: "EUR", IdempotencyKey: key})
		if err != nil {
			t.Fatalf("Charge() error = %v", err)
		}
		return ch.ID
	}
	first := charge(s, visa, "order-1")
	if again := charge(s, visa, "order-1"); again != first {
		t.Errorf("repeated Charge() = %q, want the first id %q", again, first)
	}
	if replica := charge(NewSandbox(), visa, "order-1"); replica != first {
		t.Errorf("Charge() on another sandbox = %q, want the first id %q", replica, first)
	}
	if next := charge(s, visa, "order-2"); next == first {
		t.Errorf("Charge() with another key = %q, want an id other than %q", next, first)
	}
	if otherToken := charge(s, other, "order-1"); otherToken == first {
		t.Errorf("Charge() of another token with the same key = %q, want an id other than %q", otherToken, first)
	}
}

func TestSandboxContext(t *testing.T) {
	s := NewSandbox()
	visa := tokenize(t, s, "4242424242424242")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Tokenize(ctx, card("4242424242424242"), testNow()); !errors.Is(err, context.Canceled) {
		t.Errorf("Tokenize(canceled) error = %v, want context.Canceled", err)
	}
	if _, err := s.Charge(ctx, ChargeRequest{Method: visa, Amount: 1, Currency: "EUR", IdempotencyKey: "k"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Charge(canceled) error = %v, want context.Canceled", err)
	}
}

// TestSandboxErrorsHideCard checks that no error shows a card's number or
// security code, whatever is wrong with the card.
func TestSandboxErrorsHideCard(t *testing.T) {
	numbers := []string{
		"4242424242424241", "4242 4242 4242 4241", "42424242424242424242", "79927398713",
		TestCardDeclined, "4242424242424242", "378282246310005",
	}
	cards := []Card{}
	for _, n := range numbers {
		cards = append(cards,
			Card{Number: n, CVC: "987", ExpMonth: 12, ExpYear: 2030},
			Card{Number: n, CVC: "98", ExpMonth: 12, ExpYear: 2030},
			Card{Number: n, CVC: "98765", ExpMonth: 12, ExpYear: 2030},
			Card{Number: n, CVC: "987", ExpMonth: 10, ExpYear: 2026},
			Card{Number: n, CVC: "987", ExpMonth: 13, ExpYear: 2030},
		)
	}
	s := NewSandbox()
	for _, c := range cards {
		_, err := s.Tokenize(context.Background(), c, testNow())
		if err == nil {
			continue
		}
		msg := err.Error()
		for _, secret := range []string{c.Number, strings.ReplaceAll(c.Number, " ", ""), c.CVC} {
			if strings.Contains(msg, secret) {
				t.Errorf("Tokenize(%v) error %q contains %q", c, msg, secret)
			}
		}
	}
}

func TestSandboxConcurrent(t *testing.T) {
	s := NewSandbox()
	visa := tokenize(t, s, "4242424242424242")
	order := ChargeRequest{Method: visa, Amount: 1260, Currency: "EUR", IdempotencyKey: "order-1"}
	want, err := s.Charge(context.Background(), order)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var (
		wg     sync.WaitGroup
		ids    = make(chan string, n)
		tokens = make(chan string, n)
		errs   = make(chan error, 2*n)
	)
	for range n {
		wg.Go(func() {
			ch, err := s.Charge(context.Background(), order)
			if err != nil {
				errs <- err
				return
			}
			ids <- ch.ID
		})
		wg.Go(func() {
			m, err := s.Tokenize(context.Background(), card("5555555555554444"), testNow())
			if err != nil {
				errs <- err
				return
			}
			tokens <- m.Token
		})
	}
	wg.Wait()
	close(ids)
	close(tokens)
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call error = %v", err)
	}
	for id := range ids {
		if id != want.ID {
			t.Errorf("concurrent Charge() = %q, want %q", id, want.ID)
		}
	}
	seen := map[string]bool{}
	for tok := range tokens {
		if seen[tok] {
			t.Errorf("concurrent Tokenize() returned %q twice", tok)
		}
		seen[tok] = true
	}
}
