package commands

// Fuzz test of the invoice date ranges: parseRange, customRange and
// format.ParseDate on hostile input, checked against an oracle written
// independently of them (a hand-written date grammar and calendar).

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands/format"
)

// fuzzNowBase is the tests' today; the fuzzer moves it by an offset.
var fuzzNowBase = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

var (
	isoDate    = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})$`)
	germanDate = regexp.MustCompile(`^([0-9]{1,2})\.([0-9]{1,2})\.([0-9]{4})$`)
)

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysInMonth(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// oracleDate is the oracle's reading of a date: ISO 2026-11-25 or German
// 25.11.2026 / 5.1.2026, four-digit year, surrounding white space ignored,
// only days that exist.
func oracleDate(s string) (y, m, d int, ok bool) {
	s = strings.TrimSpace(s)
	if g := isoDate.FindStringSubmatch(s); g != nil {
		y, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		d, _ = strconv.Atoi(g[3])
	} else if g := germanDate.FindStringSubmatch(s); g != nil {
		d, _ = strconv.Atoi(g[1])
		m, _ = strconv.Atoi(g[2])
		y, _ = strconv.Atoi(g[3])
	} else {
		return 0, 0, 0, false
	}
	if m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// addMonthsClamped is the calendar's "n months later": the same day of the
// month, or the month's last day when it has no such day (29 Feb 2024 +
// 24 months is 28 Feb 2026, not 1 Mar 2026).
func addMonthsClamped(t time.Time, n int) time.Time {
	y, m := t.Year(), int(t.Month())-1+n
	y += m / 12
	m = m%12 + 1
	d := min(t.Day(), daysInMonth(y, m))
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
}

func checkParseDate(t *testing.T, s string) {
	t.Helper()
	got, err := format.ParseDate(s)
	y, m, d, ok := oracleDate(s)
	switch {
	case err != nil && ok:
		t.Errorf("ParseDate(%q) = error %v; want %04d-%02d-%02d", s, err, y, m, d)
	case err == nil && !ok:
		t.Errorf("ParseDate(%q) = %v; want an error", s, got)
	case err == nil:
		want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v; want %v", s, got, want)
		}
		back := got.Format(time.DateOnly)
		again, err := format.ParseDate(back)
		if err != nil || !again.Equal(got) {
			t.Errorf("ParseDate(%q) = %v, but ParseDate(%q) = %v, %v", s, got, back, again, err)
		}
	}
}

// checkRange checks a range that parseRange or customRange accepted, with
// the strings it was made of ("" for the preset ranges).
func checkRange(t *testing.T, what string, r dateRange, now time.Time) {
	t.Helper()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if r.from.After(r.to) {
		t.Errorf("%s: from %v after to %v", what, r.from, r.to)
	}
	if limit := addMonthsClamped(r.from, 24); r.to.After(limit) {
		t.Errorf("%s: %v…%v spans more than 24 months (last allowed day %v)", what,
			r.from.Format(time.DateOnly), r.to.Format(time.DateOnly), limit.Format(time.DateOnly))
	}
	if r.from.After(today) {
		t.Errorf("%s: from %v is after today %v", what, r.from, today)
	}
	if r.months != 0 && r.months != 3 && r.months != 6 {
		t.Errorf("%s: months %d", what, r.months)
	}
}

// checkCustom checks customRange(from, to) against the oracle in both
// directions: what it accepts is right, and it accepts every right range.
func checkCustom(t *testing.T, fromS, toS string, now time.Time) {
	t.Helper()
	what := "customRange(" + strconv.Quote(fromS) + ", " + strconv.Quote(toS) + ")"
	r, rerr := customRange(fromS, toS, now)
	if rerr != nil {
		if rerr.field != "from" && rerr.field != "to" || rerr.msg == "" {
			t.Errorf("%s: error %+v", what, rerr)
		}
	} else {
		checkRange(t, what, r, now)
		if r.months != 0 {
			t.Errorf("%s: months %d", what, r.months)
		}
	}
	fy, fm, fd, fok := oracleDate(fromS)
	ty, tm, td, tok := oracleDate(toS)
	if !fok || !tok {
		if rerr == nil {
			t.Errorf("%s accepted a date that does not parse", what)
		}
		return
	}
	from := time.Date(fy, time.Month(fm), fd, 0, 0, 0, 0, time.UTC)
	to := time.Date(ty, time.Month(tm), td, 0, 0, 0, 0, time.UTC)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	valid := !from.After(today) && !from.After(to) && !to.After(addMonthsClamped(from, 24))
	switch {
	case valid && rerr != nil:
		t.Errorf("%s = error %+v; want %v…%v", what, rerr, from, to)
	case rerr == nil && (!r.from.Equal(from) || !r.to.Equal(to)):
		t.Errorf("%s = %v…%v; want %v…%v", what, r.from, r.to, from, to)
	}
}

// FuzzDateRange feeds hostile dates and range arguments to the invoice
// range parsers: they never panic, ParseDate accepts exactly the real dates
// of its two formats (and round-trips them), and every accepted range has
// from ≤ to ≤ from + 24 months and from not after today.
func FuzzDateRange(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzDateRange (leap days, German dates, huge
	// years, impossible dates, white space, non-ASCII digits).
	f.Fuzz(func(t *testing.T, line, fromS, toS string, offset int64) {
		// Today somewhere in years 0001…9999 around the tests' today.
		const span = int64(9998 * 365.2425 * 86400)
		first := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		sec := fuzzNowBase.Unix() + offset%span
		if sec < first {
			sec += span
		} else if sec >= first+span {
			sec -= span
		}
		now := time.Unix(sec, 0).UTC()

		checkParseDate(t, line)
		checkParseDate(t, fromS)
		checkParseDate(t, toS)
		checkCustom(t, fromS, toS, now)

		args := strings.Fields(line)
		r, rerr := parseRange(args, now)
		if rerr == nil {
			checkRange(t, "parseRange("+strconv.Quote(line)+")", r, now)
		} else if rerr.msg == "" || rerr.field == "" {
			t.Errorf("parseRange(%q): error %+v", line, rerr)
		}
		if len(args) == 2 {
			checkCustom(t, args[0], args[1], now)
		}
	})
}
