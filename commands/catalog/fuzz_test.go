package catalog

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// FuzzParse checks that Parse never panics, that each error is an *Error
// with a line inside the input, and that an accepted catalog passes
// validation again and survives a round trip through TOML.
func FuzzParse(f *testing.F) {
	f.Add([]byte(visio))
	f.Add([]byte(visio + "\n" + visio))
	f.Add([]byte("product = [{id = 'a'}]\n[x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() error = %T %v, want a *Error", err, err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; e.Line < 1 || e.Line > lines || e.File != "fuzz.toml" || e.Msg == "" {
				t.Fatalf("Parse() error = %q: want file fuzz.toml, a line in 1…%d and a message", err, lines)
			}
			return
		}
		if pr := validate(c.Products); pr != nil {
			t.Fatalf("Parse() accepted a catalog that does not validate: %v", pr.at("fuzz.toml", nil))
		}
		again, err := Parse("again.toml", marshal(t, c))
		if err != nil {
			t.Fatalf("Parse(marshal(Parse())) error = %v, want none", err)
		}
		if !reflect.DeepEqual(again.Products, c.Products) {
			t.Fatalf("Parse(marshal(Parse())) =\n%+v\nwant\n%+v", again.Products, c.Products)
		}
	})
}

// marshal writes c in the catalog's TOML format.
func marshal(t *testing.T, c *Catalog) []byte {
	t.Helper()
	type product struct {
		ID            string `toml:"id"`
		Name          string `toml:"name"`
		Currency      string `toml:"currency"`
		MonthlyPrice  int64  `toml:"monthly_price"`
		MaxLicenses   int    `toml:"max_licenses"`
		TrialDays     int    `toml:"trial_days"`
		TrialLicenses int    `toml:"trial_licenses"`
		Policy        string `toml:"policy,omitempty"`
	}
	var doc struct {
		Product []product `toml:"product"`
	}
	for _, p := range c.Products {
		doc.Product = append(doc.Product, product(p))
	}
	b, err := toml.Marshal(doc)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

func TestMarshalDemo(t *testing.T) {
	c, err := Parse("demo.toml", marshal(t, Demo()))
	if err != nil {
		t.Fatalf("Parse(marshal(Demo())) error = %v, want none", err)
	}
	if want := Demo(); !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(marshal(Demo())) = %+v, want %+v", c, want)
	}
}
