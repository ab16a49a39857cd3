package commands

import (
	"strings"
	"testing"
)

func TestHoldsCardNumber(t *testing.T) {
	tests := []struct {
		name, text string
		want       bool
	}{
		{"digits", "4242424242424242", true},
		{"grouped by spaces", "4242 4242 4242 4242", true},
		{"with a security code", "4242 4242 4242 4242, CVC 731", true},
		{"grouped by dashes", "4242-4242-4242-4242", true},
		{"grouped by dots", "4242.4242.4242.4242", true},
		{"Amex", "3782 822463 10005", true},
		{"19 digits", "4242424242424242424", true},
		{"12 digits", "424242424242", true},
		{"in a sentence", "please charge 4242424242424242 thanks", true},
		{"next to an expiry date", "4242 4242 4242 4242 12/26", true},
		{"in a mention too short for a Discord id", "<@4242424242424242>", true},
		{"19 digits in a mention, as no Discord id starts", "<@4242424242424242424>", true},
		{"beside a date", "2026-11-25 4242 4242 4242 4242", true},
		{"beside a Discord mention", "<@123456789012345678> 4242 4242 4242 4242", true},
		{"after a Discord id in a sentence", "id 123456789012345678 card 4242424242424242", true},
		// What an adapter checks before it keeps a value: characters shown
		// as nothing between the digits hide nothing.
		{"split by zero-width spaces", "4242\u200b4242\u200b4242\u200b4242", true},
		{"split by a bidi override", "42424242\u202e42424242", true},
		{"split by a word joiner and a BOM", "4242424242\u2060\ufeff424242", true},

		{"nothing", "", false},
		{"words", "too expensive for us", false},
		{"11 digits", "42424242424", false},
		{"a count", "buy visio 10,000", false},
		{"ISO date range", "invoices 2026-09-01 2026-11-25", false},
		{"German date range", "rechnungen 01.09.2026 25.11.2026", false},
		{"German dates without zeros", "1.9.2026 5.11.2026", false},
		{"Discord user mention", "assign visio <@123456789012345678> <@!1234567890123456789>", false},
		{"Discord channel mention", "admin channel <#1234567890123456789>", false},
		{"Discord id as a picker sends it", "1234567890123456789", false},
		{"older Discord id", " 81384788765712384 ", false},
		{"too many digits for a card", "999999999999999999999999", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HoldsCardNumber(tt.text); got != tt.want {
				t.Errorf("HoldsCardNumber(%q) = %v, want %v", tt.text, got, tt.want)
			}
		})
	}
}

func TestShown(t *testing.T) {
	tests := []struct{ name, word, want string }{
		{"plain", "frobnicate", "frobnicate"},
		{"zero-width space", "frob\u200bnicate", "frobnicate"},
		{"zero-width joiner and marks", "f\u200cr\u200do\u200eb\u200f", "frob"},
		{"right-to-left override", "\u202eetacinborf", "etacinborf"},
		{"embeddings", "\u202a\u202b\u202c\u202dx", "x"},
		{"isolates", "\u2066\u2067\u2068x\u2069", "x"},
		{"byte order mark", "\ufeffhelp", "help"},
		{"word joiner and soft hyphen", "he\u2060l\u00adp", "help"},
		{"line separator", "a\u2028b\u2029c", "abc"},
		{"hangul fillers", "\u3164help\u115f\uffa0", "help"},
		{"variation selector and grapheme joiner", "he\ufe0fl\u034fp", "help"},
		{"tag characters", "help\U000E0041\U000E007F", "help"},
		{"umlauts stay", "kündigen", "kündigen"},
		{"long", strings.Repeat("x", 100), strings.Repeat("x", maxShown-1) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shown(tt.word); got != tt.want {
				t.Errorf("shown(%q) = %q, want %q", tt.word, got, tt.want)
			}
		})
	}
}
