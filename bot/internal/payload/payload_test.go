package payload

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// shape has the kinds of fields the adapters decode the platforms'
// payloads into.
type shape struct {
	Type string               `json:"type"`
	Kind int                  `json:"kind"`
	Flag bool                 `json:"is_enterprise_install"`
	Team *struct{ ID string } `json:"team"`
	User struct {
		ID     string `json:"id"`
		TeamID string `json:"team_id"`
	} `json:"user"`
	Data   json.RawMessage `json:"data"`
	Values map[string]map[string]struct {
		Value    string                  `json:"value"`
		Selected *struct{ Value string } `json:"selected_option"`
		Users    []string                `json:"selected_users"`
	} `json:"values"`
	Components []component `json:"components"`
	View       struct {
		ID     string `json:"id"`
		Blocks []struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Dispatch bool   `json:"dispatch_action"`
		} `json:"blocks"`
		State struct {
			Values map[string]map[string]struct {
				Type           string `json:"type"`
				Value          string `json:"value"`
				SelectedOption *struct {
					Value string `json:"value"`
				} `json:"selected_option"`
			} `json:"values"`
		} `json:"state"`
	} `json:"view"`
}

type component struct {
	Type       int         `json:"type"`
	CustomID   string      `json:"custom_id"`
	Value      *string     `json:"value"`
	Values     []string    `json:"values"`
	Components []component `json:"components"`
	Component  *component  `json:"component"`
}

// same fails t unless Unmarshal and encoding/json agree on doc: both
// refuse it, or both decode the same value.
func same(t *testing.T, doc []byte) {
	t.Helper()
	var want, got shape
	werr := json.Unmarshal(doc, &want)
	gerr := Unmarshal(doc, &got)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%q: encoding/json says %v, Unmarshal %v", doc, werr, gerr)
	}
	if werr == nil && !reflect.DeepEqual(want, got) {
		t.Fatalf("%q:\nencoding/json %+v\nUnmarshal     %+v", doc, want, got)
	}
}

func seeds(t testing.TB) [][]byte {
	files, _ := filepath.Glob("testdata/*.json")
	var out [][]byte
	for _, f := range files {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bytes.TrimSpace(doc))
	}
	if len(out) == 0 {
		t.Fatal("no payloads in testdata")
	}
	for _, s := range []string{
		`{"type":"a\xffb"}`, `{"TYPE":"up"}`, `{"type":"a","type":"b"}`, `{"type":"\ud800x"}`,
		`{"type":"x\u0000y\u00e9"}`, `{"kind":1.5}`, `{"kind":"1"}`, `{"kind":1e400}`, `{"type":1}`,
		`{"team":null}`, `{"data":{"a":[1,2,{"b":null}]}}`, `{"data":null}`,
		`{"components":[{"type":18,"component":{"custom_id":"n","value":"3"}},{"type":1,"components":[{"custom_id":"p","values":["a"]}]}]}`,
		`{"values":{"b":{"a":{"value":"v","selected_option":{"value":"s"},"selected_users":["U1"]}}}}`,
		`{"type":"a"} x`, `{"type":"a",}`, `{"type":"a"`, ``, ` {"type":"ok"} `, `[1]`, `null`, `{"data":[tru]}`,
	} {
		out = append(out, []byte(s))
	}
	return out
}

func TestSameAsEncodingJSON(t *testing.T) {
	for _, doc := range seeds(t) {
		same(t, doc)
		// Every cut of a real payload is refused by both alike.
		if len(doc) > 200 {
			for i := 0; i < len(doc); i += 7 {
				same(t, doc[:i])
			}
		}
	}
}

func TestRealPayloadsDecode(t *testing.T) {
	doc, err := os.ReadFile("testdata/slack_view_submission.json")
	if err != nil {
		t.Fatal(err)
	}
	var s shape
	if err := Unmarshal(doc, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "view_submission" || s.View.ID == "" || len(s.View.Blocks) == 0 || len(s.View.State.Values) == 0 {
		t.Fatalf("decoded %+v", s)
	}
	if !strings.HasPrefix(s.User.ID, "U") {
		t.Fatalf("user %q", s.User.ID)
	}
}

func FuzzSameAsEncodingJSON(f *testing.F) {
	for _, doc := range seeds(f) {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc []byte) { same(t, doc) })
}

func BenchmarkUnmarshal(b *testing.B) {
	for _, name := range []string{"slack_view_submission", "discord_command"} {
		doc, err := os.ReadFile("testdata/" + name + ".json")
		if err != nil {
			b.Fatal(err)
		}
		for _, dec := range []struct {
			name string
			f    func([]byte, any) error
		}{{"encoding-json", json.Unmarshal}, {"payload", Unmarshal}} {
			b.Run(name+"/"+dec.name, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					var s shape
					if err := dec.f(doc, &s); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
