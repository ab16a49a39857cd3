package slack

import (
	"bytes"
	"errors"
	"net/url"
)

var errMalformedForm = errors.New("malformed form")

// parseForm reads a form-encoded body into its values, as
// url.ParseQuery(string(body)) does for a body it accepts, and refuses
// any body url.ParseQuery would report an error for. A Slack view
// submission is a 3.7 KB form of one JSON value, almost all of it escaped;
// url.ParseQuery takes 14–17 µs for it, most of it writing each byte through
// a strings.Builder.
func parseForm(body []byte) (url.Values, error) {
	v := url.Values{}
	for len(body) > 0 {
		var pair []byte
		pair, body, _ = bytes.Cut(body, []byte{'&'})
		if bytes.IndexByte(pair, ';') >= 0 {
			return nil, errMalformedForm
		}
		if len(pair) == 0 {
			continue
		}
		k, val, _ := bytes.Cut(pair, []byte{'='})
		key, ok := unescape(k)
		if !ok {
			return nil, errMalformedForm
		}
		value, ok := unescape(val)
		if !ok {
			return nil, errMalformedForm
		}
		v[key] = append(v[key], value)
	}
	return v, nil
}

// unescape decodes one query component: '+' is a space, %XX a byte. It
// reports false for a '%' not followed by two hex digits. A view
// submission's JSON has an escape every few bytes, so bytes are decoded
// one by one, with a table for the hex digits.
func unescape(s []byte) (string, bool) {
	if bytes.IndexByte(s, '%') < 0 && bytes.IndexByte(s, '+') < 0 {
		return string(s), true
	}
	buf := make([]byte, len(s))
	n := 0
	for i := 0; i < len(s); n++ {
		c := s[i]
		switch c {
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			hi, lo := hexValue[s[i+1]], hexValue[s[i+2]]
			if hi|lo > 0x0f {
				return "", false
			}
			c = hi<<4 | lo
			i += 3
		case '+':
			c = ' '
			i++
		default:
			i++
		}
		buf[n] = c
	}
	return string(buf[:n]), true
}

// hexValue is the value of a hex digit, and 0xff for any other byte.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "0123456789abcdef" {
		t[c] = byte(i)
	}
	for i, c := range "ABCDEF" {
		t[c] = byte(10 + i)
	}
	return t
}()
