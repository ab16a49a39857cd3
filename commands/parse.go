package commands

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLine is the longest command line the bot reads.
const maxLine = 1000

// tokenize splits a command line into words. Double or single quotes (also
// typographic ones) group words; a leading "/billing" or "/abrechnung" is
// dropped so that users may type the whole command.
func tokenize(line string) []string {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == closing(quote):
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'' || r == '“' || r == '„' || r == '‚' || r == '‘':
			quote, inWord = r, true
		case unicode.IsSpace(r):
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	if len(out) > 0 {
		if w := strings.ToLower(out[0]); w == "/billing" || w == "/abrechnung" {
			out = out[1:]
		}
	}
	return out
}

// closing is the quote that ends a quote opened with open: English “…”
// and ‘…’, German „…“ and ‚…‘, or the same character.
func closing(open rune) rune {
	switch open {
	case '“':
		return '”'
	case '„':
		return '“'
	case '‘':
		return '’'
	case '‚':
		return '‘'
	}
	return open
}

// checkText returns a message when s holds a card number (HoldsCardNumber),
// is longer than most characters or holds control characters (other than
// line breaks and tabs), else "". It is the one check of everything users
// type: every command line (Bot.handle) and every submitted value
// (checkValues). Card data comes first: whatever else is wrong, the user
// hears that it has no place in chat.
func checkText(t tr, s string, most int) string {
	if !utf8.ValidString(s) {
		return t.T("ErrControlChars")
	}
	if HoldsCardNumber(s) {
		return t.T("ErrCardInChat")
	}
	if n := utf8.RuneCountInString(s); n > most {
		return t.T("ErrTooLong", "Max", t.Num(most))
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return t.T("ErrControlChars")
		}
	}
	return ""
}

// parseCount reads a whole number of licenses. It accepts digits with
// optional grouping ("1,000", "1.000") but no sign, fraction or exponent.
func parseCount(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 12 {
		return 0, false
	}
	digits := strings.NewReplacer(",", "", ".", "", "\u202f", "", "\u00a0", "", "'", "").Replace(s)
	if digits != s && !grouped(s) {
		return 0, false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil
}

// grouped reports whether s is digits in groups of three after the first,
// separated by one kind of separator ("10,000", "1.000.000").
func grouped(s string) bool {
	var sep rune
	for _, r := range s {
		if r < '0' || r > '9' {
			sep = r
			break
		}
	}
	parts := strings.Split(s, string(sep))
	if len(parts[0]) == 0 || len(parts[0]) > 3 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 {
			return false
		}
	}
	return true
}

// numberLike is a word meant as a number, whole or not: "5", "-1", "1.5",
// "10,000", "1e3". Subscription ids that start with a digit ("7xk2…") are not.
var numberLike = regexp.MustCompile(`^[+-]?\d[\d.,']*([eE][+-]?\d+)?$`)

// isNumber reports whether a word is meant as a number (for telling counts
// from product and subscription names on a command line).
func isNumber(s string) bool { return numberLike.MatchString(s) }
