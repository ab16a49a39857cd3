package format

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMoney(t *testing.T) {
	tests := []struct {
		name     string
		minor    int64
		currency string
		de, en   string
	}{
		{"glossary example", 123456, "EUR", "1.234,56 €", "€1,234.56"},
		{"negative", -123456, "EUR", "-1.234,56 €", "-€1,234.56"},
		{"zero", 0, "EUR", "0,00 €", "€0.00"},
		{"one cent", 1, "EUR", "0,01 €", "€0.01"},
		{"minus one cent", -1, "EUR", "-0,01 €", "-€0.01"},
		{"below grouping", 99999, "EUR", "999,99 €", "€999.99"},
		{"millions", 123456789, "EUR", "1.234.567,89 €", "€1,234,567.89"},
		{"near 10^15", 999_999_999_999_999, "EUR", "9.999.999.999.999,99 €", "€9,999,999,999,999.99"},
		{"10^15 + 1", 1_000_000_000_000_001, "EUR", "10.000.000.000.000,01 €", "€10,000,000,000,000.01"},
		{"largest int64", math.MaxInt64, "EUR", "92.233.720.368.547.758,07 €", "€92,233,720,368,547,758.07"},
		{"smallest int64", math.MinInt64, "EUR", "-92.233.720.368.547.758,08 €", "-€92,233,720,368,547,758.08"},
		{"USD", 123456, "USD", "1.234,56 $", "$1,234.56"},
		{"USD negative", -5, "USD", "-0,05 $", "-$0.05"},
		{"GBP", 123456, "GBP", "1.234,56 £", "£1,234.56"},
		{"CHF", 123456, "CHF", "1.234,56 CHF", "CHF 1,234.56"},
		{"CHF negative", -123456, "CHF", "-1.234,56 CHF", "-CHF 1,234.56"},
		{"JPY has no fraction digits", 1235, "JPY", "1.235 ¥", "¥1,235"},
		{"JPY zero", 0, "JPY", "0 ¥", "¥0"},
		{"JPY negative", -1234567, "JPY", "-1.234.567 ¥", "-¥1,234,567"},
		{"three fraction digits", 1234567, "BHD", "1.234,567 BHD", "BHD 1,234.567"},
		{"ambiguous narrow symbol", 100, "CAD", "1,00 CA$", "CA$1.00"},
		{"lower-case code", 123456, "eur", "1.234,56 €", "€1,234.56"},
		{"unknown currency", 123456, "XYZ", "1.234,56 XYZ", "XYZ 1,234.56"},
		{"no currency", 123456, "", "1.234,56", "1,234.56"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Money("de", tt.minor, tt.currency); got != tt.de {
				t.Errorf("Money(de, %d, %q) = %q, want %q", tt.minor, tt.currency, got, tt.de)
			}
			if got := Money("en", tt.minor, tt.currency); got != tt.en {
				t.Errorf("Money(en, %d, %q) = %q, want %q", tt.minor, tt.currency, got, tt.en)
			}
		})
	}
}

func TestMoneyGermanUsesNormalSpace(t *testing.T) {
	for _, cur := range []string{"EUR", "USD", "CHF", "JPY", "GBP"} {
		t.Run(cur, func(t *testing.T) {
			got := Money("de", 123456, cur)
			if strings.ContainsAny(got, "\u00a0\u202f") || !strings.Contains(got, " ") {
				t.Errorf("Money(de, 123456, %s) = %q, want a U+0020 space before the symbol", cur, got)
			}
		})
	}
}

func TestLanguages(t *testing.T) {
	tests := []struct {
		lang string
		want string
	}{
		{"de", "1.234,56 €"},
		{"DE", "1.234,56 €"},
		{"de-DE", "1.234,56 €"},
		{"de_AT", "1.234,56 €"},
		{"en", "€1,234.56"},
		{"en-US", "€1,234.56"},
		{"fr", "€1,234.56"},
		{"", "€1,234.56"},
		{"dev", "€1,234.56"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			if got := Money(tt.lang, 123456, "EUR"); got != tt.want {
				t.Errorf("Money(%q, 123456, EUR) = %q, want %q", tt.lang, got, tt.want)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		name   string
		n      int64
		de, en string
	}{
		{"zero", 0, "0", "0"},
		{"small", 999, "999", "999"},
		{"thousands", 1234, "1.234", "1,234"},
		{"negative", -1234, "-1.234", "-1,234"},
		{"10^15", 1_000_000_000_000_000, "1.000.000.000.000.000", "1,000,000,000,000,000"},
		{"largest int64", math.MaxInt64, "9.223.372.036.854.775.807", "9,223,372,036,854,775,807"},
		{"smallest int64", math.MinInt64, "-9.223.372.036.854.775.808", "-9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Number("de", tt.n); got != tt.de {
				t.Errorf("Number(de, %d) = %q, want %q", tt.n, got, tt.de)
			}
			if got := Number("en", tt.n); got != tt.en {
				t.Errorf("Number(en, %d) = %q, want %q", tt.n, got, tt.en)
			}
		})
	}
}

func TestDate(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		t      time.Time
		de, en string
	}{
		{"glossary example", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), "25.11.2026", "Nov 25, 2026"},
		{"single digits", time.Date(2027, 1, 5, 23, 59, 0, 0, time.UTC), "05.01.2027", "Jan 5, 2027"},
		{"May", time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC), "31.05.2026", "May 31, 2026"},
		{"in UTC", time.Date(2027, 1, 1, 0, 30, 0, 0, berlin), "31.12.2026", "Dec 31, 2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Date("de", tt.t); got != tt.de {
				t.Errorf("Date(de, %v) = %q, want %q", tt.t, got, tt.de)
			}
			if got := Date("en", tt.t); got != tt.en {
				t.Errorf("Date(en, %v) = %q, want %q", tt.t, got, tt.en)
			}
		})
	}
}

func TestDateTime(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		t      time.Time
		de, en string
	}{
		{"afternoon", time.Date(2026, 11, 25, 14, 5, 59, 0, time.UTC), "25.11.2026, 14:05 UTC", "Nov 25, 2026, 2:05 PM UTC"},
		{"midnight", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), "25.11.2026, 00:00 UTC", "Nov 25, 2026, 12:00 AM UTC"},
		{"noon", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), "25.11.2026, 12:00 UTC", "Nov 25, 2026, 12:00 PM UTC"},
		{"converted to UTC", time.Date(2026, 11, 25, 15, 5, 0, 0, berlin), "25.11.2026, 14:05 UTC", "Nov 25, 2026, 2:05 PM UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DateTime("de", tt.t); got != tt.de {
				t.Errorf("DateTime(de, %v) = %q, want %q", tt.t, got, tt.de)
			}
			if got := DateTime("en", tt.t); got != tt.en {
				t.Errorf("DateTime(en, %v) = %q, want %q", tt.t, got, tt.en)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	nov25 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		s       string
		want    time.Time
		wantErr string // part of the error; "" for none
	}{
		{"ISO", "2026-11-25", nov25, ""},
		{"German", "25.11.2026", nov25, ""},
		{"German without leading zeros", "5.1.2027", time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC), ""},
		{"surrounding spaces", "  25.11.2026\t\n", nov25, ""},
		{"leap day", "2028-02-29", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{"February 30", "2026-02-30", time.Time{}, "does not exist"},
		{"no leap day", "29.02.2026", time.Time{}, "does not exist"},
		{"month 13", "2026-13-01", time.Time{}, "does not exist"},
		{"day 0", "00.11.2026", time.Time{}, "does not exist"},
		{"April 31", "31.04.2026", time.Time{}, "does not exist"},
		{"two-digit year", "25.11.26", time.Time{}, "want a date like"},
		{"ISO without zeros", "2026-1-5", time.Time{}, "want a date like"},
		{"US order", "11/25/2026", time.Time{}, "want a date like"},
		{"with time", "2026-11-25T10:00:00Z", time.Time{}, "want a date like"},
		{"trailing dot", "25.11.2026.", time.Time{}, "want a date like"},
		{"spaces inside", "25. 11. 2026", time.Time{}, "want a date like"},
		{"empty", "", time.Time{}, "want a date like"},
		{"words", "tomorrow", time.Time{}, "want a date like"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDate(tt.s)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalidDate) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseDate(%q) = %v, %v, want an ErrInvalidDate containing %q", tt.s, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseDate(%q) = %v, %v, want %v", tt.s, got, err, tt.want)
			}
		})
	}
}

func TestParseDateRoundTrip(t *testing.T) {
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	got, err := ParseDate(Date("de", day))
	if err != nil || !got.Equal(day) {
		t.Errorf("ParseDate(Date(de, %v)) = %v, %v, want %v", day, got, err, day)
	}
}
