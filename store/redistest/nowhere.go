package redistest

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// WantNowhere fails tb when any key of the Redis at addr (miniredis or a
// real server; database 0), or any value of any type it holds (string,
// hash, set, sorted set with scores, list, stream), contains one of
// needles: as written, or once spaces, dashes, dots and slashes are taken
// out of both, so that a card number is found however it was grouped. It
// reads every key with SCAN, TYPE and the type's read command.
func WantNowhere(tb testing.TB, addr string, needles ...string) {
	tb.Helper()
	eachString(tb, addr, func(key, s string) {
		if needle, ok := holds(s, needles); ok {
			tb.Errorf("redistest: key %q holds %q: %.300q", key, needle, s)
		}
	})
}

// WantNoMatch is WantNowhere for patterns: it fails tb when any key of
// the Redis at addr, or any string a value holds, matches one of res.
// It is for what a plain substring would find by chance, such as a
// card's 3-digit security code among ids, amounts and timestamps: a
// pattern can ask for it to stand alone.
func WantNoMatch(tb testing.TB, addr string, res ...*regexp.Regexp) {
	tb.Helper()
	eachString(tb, addr, func(key, s string) {
		for _, re := range res {
			if m := re.FindString(s); m != "" {
				tb.Errorf("redistest: key %q matches %s (%q): %.300q", key, re, m, s)
			}
		}
	})
}

// eachString calls f with every key of the Redis at addr (database 0),
// and with every string each key holds (see readKey). It fails tb when
// the server holds no key: then nothing was looked at.
func eachString(tb testing.TB, addr string, f func(key, s string)) {
	tb.Helper()
	c, err := dial(addr, ioTimeout)
	if err != nil {
		tb.Fatalf("redistest: dial %s: %v", addr, err)
	}
	defer c.Close()
	keys := 0
	cursor := "0"
	for {
		reply, err := c.do("SCAN", cursor, "COUNT", "1000")
		page, ok := reply.([]any)
		if err != nil || !ok || len(page) != 2 {
			tb.Fatalf("redistest: SCAN %s: %v %v", cursor, reply, err)
		}
		cursor, _ = page[0].(string)
		names, _ := page[1].([]any)
		for _, n := range names {
			key, _ := n.(string)
			keys++
			content, err := readKey(c, key)
			if err != nil {
				tb.Fatalf("redistest: read key %q: %v", key, err)
			}
			for _, s := range append([]string{key}, content...) {
				f(key, s)
			}
		}
		if cursor == "0" {
			break
		}
	}
	if keys == 0 {
		tb.Errorf("redistest: %s holds no key at all: nothing was looked at", addr)
	}
}

// readKey returns every string a key holds: a string's value; a hash's
// fields and values; a set's members; a sorted set's members and scores;
// a list's items; a stream's entry ids, fields and values.
func readKey(c *respConn, key string) ([]string, error) {
	typ, err := c.do("TYPE", key)
	if err != nil {
		return nil, err
	}
	var cmd []string
	switch typ {
	case "string":
		cmd = []string{"GET", key}
	case "hash":
		cmd = []string{"HGETALL", key}
	case "set":
		cmd = []string{"SMEMBERS", key}
	case "zset":
		cmd = []string{"ZRANGE", key, "0", "-1", "WITHSCORES"}
	case "list":
		cmd = []string{"LRANGE", key, "0", "-1"}
	case "stream":
		cmd = []string{"XRANGE", key, "-", "+"}
	case "none":
		return nil, nil // expired between SCAN and TYPE
	default:
		return nil, fmt.Errorf("type %v", typ)
	}
	reply, err := c.do(cmd...)
	if err != nil {
		return nil, err
	}
	return flatten(reply, nil), nil
}

// flatten appends every string of a reply, nested arrays included.
func flatten(reply any, out []string) []string {
	switch r := reply.(type) {
	case string:
		out = append(out, r)
	case []any:
		for _, item := range r {
			out = flatten(item, out)
		}
	case int64:
		out = append(out, fmt.Sprint(r))
	}
	return out
}

// ungroup takes out what card numbers are grouped by.
var ungroup = strings.NewReplacer(" ", "", "-", "", ".", "", "/", "", "\t", "", "\n", "", "\u00a0", "", "\u202f", "")

// holds reports which needle s contains, as written or ungrouped.
func holds(s string, needles []string) (string, bool) {
	flat := ungroup.Replace(s)
	for _, n := range needles {
		if n == "" {
			continue
		}
		if strings.Contains(s, n) || strings.Contains(flat, ungroup.Replace(n)) {
			return n, true
		}
	}
	return "", false
}
