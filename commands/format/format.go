// Package format displays money, numbers and dates the way German and
// English readers expect them: "1.234,56 €" and "25.11.2026" in German,
// "€1,234.56" and "Nov 25, 2026" in English.
//
// Every function takes the reader's language. A language whose base is "de"
// ("de", "de-DE", "de_AT", …) gets the German formats; every other language
// gets the English ones.
package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// ErrInvalidDate is the kind of error ParseDate returns; check it with
// errors.Is.
var ErrInvalidDate = errors.New("invalid date")

// style holds what differs between the languages.
type style struct {
	german bool
	tag    language.Tag
}

// styleFor returns the style of language lang.
func styleFor(lang string) style {
	l := strings.ToLower(lang)
	if l == "de" || strings.HasPrefix(l, "de-") || strings.HasPrefix(l, "de_") {
		return style{german: true, tag: language.German}
	}
	return style{tag: language.English}
}

// printers are made once: making one is far dearer than printing with it,
// and a Printer is safe for concurrent use.
var printers = sync.OnceValue(func() map[language.Tag]*message.Printer {
	return map[language.Tag]*message.Printer{
		language.English: message.NewPrinter(language.English),
		language.German:  message.NewPrinter(language.German),
	}
})

// printer returns a printer that groups digits the way the language does.
func (s style) printer() *message.Printer { return printers()[s.tag] }

// decimalSeparator returns the separator of the fraction digits.
func (s style) decimalSeparator() string {
	if s.german {
		return ","
	}
	return "."
}

// Money formats an amount of minor units (cents) of the ISO 4217 currency
// cur: in German "1.234,56 €", "-1.234,56 €", "1.234,56 CHF"; in English
// "€1,234.56", "-€1,234.56", "CHF 1,234.56". The number of fraction digits
// is the currency's (none for JPY: 1235 is "¥1,235"), the symbol its symbol
// in the language, or its code where it has none. The amount is exact for
// every int64.
//
// An unknown currency is shown by the code given, with two fraction digits;
// an empty one by the number alone.
func Money(lang string, minor int64, cur string) string {
	st := styleFor(lang)
	p := st.printer()
	scale, sym := 2, strings.TrimSpace(cur)
	if u, err := currency.ParseISO(sym); err == nil {
		scale, _ = currency.Standard.Rounding(u)
		// The standard symbol, not the narrow one: narrow symbols are
		// ambiguous ("$" for CAD, "kr" for SEK and NOK), which a price must
		// not be.
		sym = p.Sprint(currency.Symbol(u))
	}

	abs := uint64(minor)
	if minor < 0 {
		abs = -abs // exact for math.MinInt64 too
	}
	pow := uint64(1)
	for range scale {
		pow *= 10
	}
	// x/text groups the integer part; it would format the whole amount
	// only as a float64, which is inexact for large amounts.
	num := p.Sprint(number.Decimal(abs / pow))
	if scale > 0 {
		num += st.decimalSeparator() + fmt.Sprintf("%0*d", scale, abs%pow)
	}
	if minor < 0 {
		num = "-" + num
	}

	switch {
	case sym == "":
		return num
	case st.german:
		return num + " " + sym
	}
	sign := ""
	if minor < 0 {
		sign, num = "-", num[1:]
	}
	if r, _ := utf8.DecodeLastRuneInString(sym); unicode.IsLetter(r) {
		// "CHF 1,234.56" but "€1,234.56", as CLDR's currency spacing has it.
		sym += " "
	}
	return sign + sym + num
}

// Number formats an integer with the language's digit grouping: "1.234" in
// German, "1,234" in English.
func Number(lang string, n int64) string {
	return styleFor(lang).printer().Sprint(number.Decimal(n))
}

// Date formats the day of t in UTC: "25.11.2026" in German, "Nov 25, 2026"
// in English. The English month names do not depend on the machine's
// locale.
func Date(lang string, t time.Time) string {
	if styleFor(lang).german {
		return t.UTC().Format("02.01.2006")
	}
	return t.UTC().Format("Jan 2, 2006")
}

// DateTime formats t in UTC to the minute: "25.11.2026, 14:05 UTC" in
// German, "Nov 25, 2026, 2:05 PM UTC" in English.
func DateTime(lang string, t time.Time) string {
	if styleFor(lang).german {
		return t.UTC().Format("02.01.2006, 15:04") + " UTC"
	}
	return t.UTC().Format("Jan 2, 2006, 3:04 PM") + " UTC"
}

// ParseDate parses a date as ISO 8601 "2026-11-25" or German "25.11.2026"
// (also "5.1.2026"), with a four-digit year, ignoring surrounding white
// space. It returns midnight UTC of that day. A date that does not exist,
// such as 2026-02-30, is an error; every error wraps ErrInvalidDate.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	layout := "2.1.2006"
	if strings.Contains(s, "-") {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		var pe *time.ParseError
		if errors.As(err, &pe) && strings.Contains(pe.Message, "out of range") {
			return time.Time{}, fmt.Errorf("%w: %s does not exist", ErrInvalidDate, strconv.Quote(s))
		}
		return time.Time{}, fmt.Errorf("%w %s: want a date like 2026-11-25 or 25.11.2026", ErrInvalidDate, strconv.Quote(s))
	}
	return t, nil
}
