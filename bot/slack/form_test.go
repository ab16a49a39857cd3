package slack

import (
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
)

// sameForm fails t unless parseForm accepts what url.ParseQuery accepts,
// with the same values.
func sameForm(t *testing.T, body string) {
	t.Helper()
	want, werr := url.ParseQuery(body)
	got, gerr := parseForm([]byte(body))
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: url.ParseQuery says %v, parseForm %v", body, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\nurl.ParseQuery %q\nparseForm      %q", body, want, got)
	}
}

func formSeeds() []string {
	return []string{
		"", "&", "&&a=1&&", "a", "a=", "=b", "a=1&a=2&b=%20+x", "a=%41%42%4a%4A%e2%82%ac", "a=%", "a=%4", "a=%4g",
		"a=%%41", "a%3Db=c", "a=b;c=d", ";", "a=1&;", "a+b=c+d", "a=%2B+%2b", "payload=%7B%22type%22%3A%22view_submission%22%7D",
		"a=\xff%ff", "a=b=c", "%zz=1", "x=1&%=2",
		url.Values{"command": {"/billing"}, "text": {"kaufen visio 3 – “ü” & = + % ;"}, "team_id": {"T1"}}.Encode(),
	}
}

func TestParseFormAsParseQuery(t *testing.T) {
	for _, s := range formSeeds() {
		sameForm(t, s)
	}
	big := url.Values{"payload": {strings.Repeat(`{"a":"b c+d%e&f=g;h ü"}`, 200)}}.Encode()
	sameForm(t, big)
}

func FuzzParseForm(f *testing.F) {
	for _, s := range formSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) { sameForm(t, body) })
}

func BenchmarkParseForm(b *testing.B) {
	doc, err := os.ReadFile("../internal/payload/testdata/slack_view_submission.json")
	if err != nil {
		b.Fatal(err)
	}
	body := url.Values{"payload": {string(doc)}}.Encode() // as Slack sends a view submission
	b.Run("url.ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := url.ParseQuery(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	raw := []byte(body)
	b.Run("parseForm", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := parseForm(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestUnescapeEveryByte: every byte after a '%' is a hex digit or makes
// the component malformed, as url.QueryUnescape says.
func TestUnescapeEveryByte(t *testing.T) {
	for hi := range 256 {
		for _, lo := range []byte{'0', 'a', 'F', 'g', 0x10} {
			s := []byte{'%', byte(hi), lo}
			want, werr := url.QueryUnescape(string(s))
			got, ok := unescape(s)
			if (werr == nil) != ok || got != want {
				t.Fatalf("%q: url.QueryUnescape %q, %v; unescape %q, %v", s, want, werr, got, ok)
			}
		}
	}
}
