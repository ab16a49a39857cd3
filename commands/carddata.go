package commands

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/billingbot/billingbot/commands/payment"
)

// Card data in what users type. Card numbers never pass through chat
// (PRODUCT.md §5): whatever a user types that holds one (a command line,
// any form value) is refused with ErrCardInChat before anything is read or
// written for it, and is never shown again.

// HoldsCardNumber reports whether text a user typed holds something that
// looks like a card number (payment.ContainsCardNumber: 12 to 19 digits,
// grouped or not) that is not one of the numbers the bot reads. The core
// refuses such text wherever it is typed; adapters use it to keep no copy
// of such a value (a refused form kept to be shown again).
//
// Numbers the bot reads are not card numbers: dates as invoice ranges take
// them (2026-11-25, 25.11.2026: two of them make 16 digits), a run of more
// than 19 digits without separators (some other number), and Discord's
// references to people and channels, snowflakes of 17 to 19 digits, which
// its pickers send as the whole value ("123456789012345678") and its
// command options as mentions ("<@123…>", "<#123…>"). A card number
// grouped in any other way, or of 12 to 16 digits, always counts, also
// with characters shown as nothing between its digits (StripFormatChars).
func HoldsCardNumber(text string) bool {
	if !hasDigits(text, 12) {
		return false // the common case, the first check without a pattern
	}
	text = StripFormatChars(text)
	if !payment.ContainsCardNumber(text) {
		return false
	}
	if snowflake(strings.TrimSpace(text)) {
		return false
	}
	rest := notCard.ReplaceAllStringFunc(text, func(m string) string {
		if id := mention.FindStringSubmatch(m); id != nil && !snowflake(id[1]) {
			return m
		}
		return "<>" // not a separator: digits on either side stay apart
	})
	return payment.ContainsCardNumber(rest)
}

// hasDigits reports whether s has at least n digits 0-9.
func hasDigits(s string, n int) bool {
	for i := 0; i < len(s) && n > 0; i++ {
		if '0' <= s[i] && s[i] <= '9' {
			n--
		}
	}
	return n == 0
}

// notCard matches the numbers in a text that may be no card numbers:
// mentions (when their id is a snowflake), dates as format.ParseDate reads
// them, and runs of digits too long for a card number.
var notCard = regexp.MustCompile(`<(?:@[!&]?|#)\d+>|\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}\.\d{1,2}\.\d{4}\b|\d{20,}`)

// mention is a Discord mention of a user, role or channel, with its id.
var mention = regexp.MustCompile(`^<(?:@[!&]?|#)(\d+)>$`)

// snowflake reports whether s is a Discord id: 17 or 18 digits, or 19
// starting with 1 or 2 (the ids made from 2022 until about 2037). Card
// numbers of 19 digits start with 3 to 6 (JCB, Visa, Maestro, UnionPay,
// Discover), and hardly any card has 17 or 18.
func snowflake(s string) bool {
	if len(s) < 17 || len(s) > 19 || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return false
	}
	return len(s) < 19 || s[0] == '1' || s[0] == '2'
}

// maxShown is the most characters of a typed word an answer repeats.
const maxShown = 40

// shown is a word the user typed, made safe to repeat in an answer:
// without invisible characters (invisible), which could hide or reorder
// what the answer says, and cut to maxShown characters.
func shown(word string) string {
	word = strings.Map(func(r rune) rune {
		if invisible(r) {
			return -1
		}
		return r
	}, word)
	if utf8.RuneCountInString(word) > maxShown {
		word = string([]rune(word)[:maxShown-1]) + "…"
	}
	return word
}

// StripFormatChars returns s without the characters that are shown as
// nothing and separate nothing (ignorable): what a user typed is read as
// it looks, so that "\u200bhelp" is help and "vi\u202esio" is visio.
// Line breaks, tabs and spaces stay; control characters stay too, for
// checkText to refuse.
func StripFormatChars(s string) string {
	return strip(s, ignorable)
}

// stripFromValue is StripFormatChars for what a form's field holds, which
// may be free text that is kept and shown to others: it loses what could
// hide or reorder what they are shown, but keeps the joiners and
// variation selectors that written text needs (one emoji of several,
// 👩‍💻; the emoji form of ❤️; the shapes of Persian and Indic words).
func stripFromValue(s string) string {
	return strip(s, func(r rune) bool {
		return ignorable(r) && r != '\u200c' && r != '\u200d' && !unicode.Is(unicode.Variation_Selector, r)
	})
}

func strip(s string, drop func(rune) bool) string {
	if strings.IndexFunc(s, drop) < 0 {
		return s // the common case: nothing to copy
	}
	return strings.Map(func(r rune) rune {
		if drop(r) {
			return -1
		}
		return r
	}, s)
}

// ignorable reports whether r is shown as nothing and separates nothing:
// formatting characters (zero-width spaces and joiners, bidirectional
// overrides and isolates, byte order marks, tags: Unicode's Cf) and the
// other code points Unicode says to ignore when displaying (Hangul
// fillers, variation selectors, the combining grapheme joiner). Line and
// paragraph separators are spaces, and control characters are refused
// (checkText): neither is ignorable.
func ignorable(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// invisible reports whether r is shown as nothing or changes how the text
// around it is shown: formatting characters (zero-width spaces and
// joiners, bidirectional overrides and isolates, byte order marks, tags:
// Unicode's Cf), line and paragraph separators, control characters, and
// the other code points Unicode says to ignore when displaying (Hangul
// fillers, variation selectors, the combining grapheme joiner).
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point,
		unicode.Variation_Selector) || unicode.IsControl(r)
}
