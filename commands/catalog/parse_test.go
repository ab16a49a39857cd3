package catalog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// visio is a valid [[product]] table; the tests vary it.
const visio = `[[product]]
id = "visio-plan-2"
name = "Visio Plan 2"
currency = "EUR"
monthly_price = 1260
max_licenses = 10000
trial_days = 30
trial_licenses = 25
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []Product
	}{
		{
			name: "one product",
			data: visio,
			want: []Product{{ID: "visio-plan-2", Name: "Visio Plan 2", Currency: "EUR", MonthlyPrice: 1260, MaxLicenses: 10000, TrialDays: 30, TrialLicenses: 25}},
		},
		{
			name: "file order, comments, optional keys, TOML integer forms",
			data: `# Our catalog.

[[product]] # the first
  id = 'project-plan-1'
  name = "Project Plan 1"
  currency = "EUR"
  monthly_price = 8_40
  max_licenses = 0x2710

[[product]]
id = "a"
name = "Ärger\u00e9 \"Deluxe\""
currency = "JPY"
monthly_price = +0
max_licenses = 1_000_000
trial_days = 0o555
trial_licenses = 0b1
`,
			want: []Product{
				{ID: "project-plan-1", Name: "Project Plan 1", Currency: "EUR", MonthlyPrice: 840, MaxLicenses: 10000},
				{ID: "a", Name: `Ärgeré "Deluxe"`, Currency: "JPY", MonthlyPrice: 0, MaxLicenses: 1000000, TrialDays: 365, TrialLicenses: 1},
			},
		},
		{
			name: "limits",
			data: `[[product]]
id = "` + strings.Repeat("a", 63) + `"
name = "` + strings.Repeat("ü", 75) + `"
currency = "CHF"
monthly_price = 1000000000
max_licenses = 1000000
trial_days = 365
trial_licenses = 1000000
`,
			want: []Product{{ID: strings.Repeat("a", 63), Name: strings.Repeat("ü", 75), Currency: "CHF", MonthlyPrice: 1e9, MaxLicenses: 1e6, TrialDays: 365, TrialLicenses: 1e6}},
		},
		{
			name: "100 products",
			data: products(100),
			want: func() []Product {
				var ps []Product
				for i := range 100 {
					ps = append(ps, Product{ID: fmt.Sprintf("p%d", i+1), Name: fmt.Sprintf("Product %d", i+1), Currency: "USD", MonthlyPrice: 100, MaxLicenses: 10})
				}
				return ps
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("catalog.toml", []byte(tt.data))
			if err != nil {
				t.Fatalf("Parse() error = %v, want none", err)
			}
			if !reflect.DeepEqual(got.Products, tt.want) {
				t.Errorf("Parse() products =\n%+v\nwant\n%+v", got.Products, tt.want)
			}
		})
	}
}

// products returns n valid [[product]] tables of 5 lines each, the first
// header on line 1 and the n-th on line 6n-5.
func products(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[product]]\nid = \"p%d\"\nname = \"Product %d\"\ncurrency = \"USD\"\nmonthly_price = 100\nmax_licenses = 10\n", i+1, i+1)
	}
	return b.String()
}

// with returns visio with key set to the TOML value v, or removed if v is "".
func with(key, v string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(visio, "\n"), "\n") {
		if strings.HasPrefix(l, key+" =") {
			if v == "" {
				continue
			}
			l = key + " = " + v
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		line    int
		key     string
		msgPart string
	}{
		// TOML syntax.
		{"unterminated string", "[[product]]\nid = 'visio\n", 2, "product[1]", "literal strings cannot have new lines"},
		{"missing value", "\n\nid =\n", 3, "", ""},
		{"broken header", visio + "[[product]\n", 9, "product[1]", "expected ']]'"},
		{"duplicate key", with("name", `"Visio"`+"\nname = \"Visio Plan 2\""), 4, "product[1].name", "already defined"},
		{"integer too large", with("max_licenses", "99999999999999999999"), 6, "product[1].max_licenses", "too large"},
		{"leading zero", with("max_licenses", "010"), 6, "product[1]", ""},

		// Shape and types.
		{"string for integer", with("monthly_price", `"12,60"`), 5, "product[1].monthly_price", "want an integer, got a string"},
		{"float for integer", visio + "[[product]]\nmax_licenses = 1.5\n", 10, "product[2].max_licenses", "want an integer, got a float"},
		{"integer for string", with("currency", "978"), 4, "product[1].currency", "want a string, got an integer"},
		{"boolean for integer", with("trial_days", "true"), 7, "product[1].trial_days", "want an integer, got a boolean"},
		{"array for string", with("name", `["Visio"]`), 3, "product[1].name", "want a string, got an array"},
		{"date for integer", with("trial_days", "2026-11-25"), 7, "product[1].trial_days", "want an integer, got a date or time"},
		{"unknown key in product", visio + "colour = \"blue\"\n", 9, "product[1].colour", "unknown key"},
		{"unknown key in second product", visio + visio + "\nprice = 3\n", 18, "product[2].price", "unknown key"},
		{"dotted key in product", visio + "trial.days = 3\n", 9, "product[1].trial.days", "unknown key"},
		{"quoted key in product", visio + "\"monthly price\" = 3\n", 9, `product[1]."monthly price"`, "unknown key"},
		{"unknown key before products", "version = 2\n" + visio, 1, "version", "unknown key"},
		{"unknown table", visio + "[settings]\nx = 1\n", 9, "settings", "unknown key"},
		{"unknown array table", "[[products]]\nid = \"a\"\n", 1, "products", "unknown key"},
		{"table in product", visio + "[product.limits]\nmax = 3\n", 9, "product[1].limits", "unknown key"},
		{"array table in product", visio + "\n[[product.tier]]\nmax = 3\n", 10, "product[1].tier", "unknown key"},
		{"product as a table", "# c\n[product]\nid = \"a\"\n", 2, "product", "[[product]]"},
		{"inline products", "product = [{id = \"a\"}]\n", 1, "product", "[[product]]"},
		{"product as a value", "product = 3\n", 1, "product", "[[product]]"},

		// Missing keys, count of products.
		{"missing id", with("id", ""), 1, "product[1].id", "missing required key"},
		{"missing name", visio + "\n\n# next\n[[product]]\nid = \"x\"\ncurrency = \"EUR\"\n", 12, "product[2].name", "missing required key"},
		{"missing currency", with("currency", ""), 1, "product[1].currency", "missing required key"},
		{"missing monthly_price", with("monthly_price", ""), 1, "product[1].monthly_price", "missing required key"},
		{"missing max_licenses", with("max_licenses", ""), 1, "product[1].max_licenses", "missing required key"},
		{"empty file", "", 1, "product", "no products"},
		{"only comments", "# nothing yet\n\n", 1, "product", "no products"},
		{"101 products", products(101), 601, "product[101]", "too many products"},

		// Rules.
		{"id upper case", with("id", `"Visio"`), 2, "product[1].id", `invalid id "Visio"`},
		{"id empty", with("id", `""`), 2, "product[1].id", "invalid id"},
		{"id starts with hyphen", with("id", `"-visio"`), 2, "product[1].id", "invalid id"},
		{"id with space", with("id", `"visio plan"`), 2, "product[1].id", "invalid id"},
		{"id with underscore", with("id", `"visio_plan"`), 2, "product[1].id", "invalid id"},
		{"id too long", with("id", `"`+strings.Repeat("a", 64)+`"`), 2, "product[1].id", "invalid id"},
		{"duplicate id", visio + "\n" + visio, 11, "product[2].id", `duplicate id "visio-plan-2", also used by product[1]`},
		{"name empty", with("name", `""`), 3, "product[1].name", "empty name"},
		{"name blank", with("name", `"   "`), 3, "product[1].name", "empty name"},
		{"name with tab", with("name", `"Visio\tPlan"`), 3, "product[1].name", "control character"},
		{"name with newline", with("name", `"""Visio`+"\n"+`Plan"""`), 3, "product[1].name", "control character"},
		{"name too long", with("name", `"`+strings.Repeat("ä", 76)+`"`), 3, "product[1].name", "76 characters long, at most 75"},
		{"currency lower case", with("currency", `"eur"`), 4, "product[1].currency", `invalid currency "eur"`},
		{"currency empty", with("currency", `""`), 4, "product[1].currency", "invalid currency"},
		{"currency too long", with("currency", `"EURO"`), 4, "product[1].currency", "invalid currency"},
		{"currency unknown", with("currency", `"EUX"`), 4, "product[1].currency", `unknown currency "EUX"`},
		{"price negative", with("monthly_price", "-1"), 5, "product[1].monthly_price", "-1 out of range"},
		{"price too high", with("monthly_price", "1_000_000_001"), 5, "product[1].monthly_price", "out of range"},
		{"max licenses zero", with("max_licenses", "0"), 6, "product[1].max_licenses", "0 out of range"},
		{"max licenses too high", with("max_licenses", "1_000_001"), 6, "product[1].max_licenses", "out of range"},
		{"trial days negative", with("trial_days", "-1"), 7, "product[1].trial_days", "out of range"},
		{"trial days too long", with("trial_days", "366"), 7, "product[1].trial_days", "366 out of range"},
		{"trial without licenses", with("trial_licenses", "0"), 8, "product[1].trial_licenses", "0 out of range"},
		{"trial licenses missing", with("trial_licenses", ""), 1, "product[1].trial_licenses", "missing key, required with trial_days"},
		{"trial licenses above max", with("max_licenses", "10") + "\n", 8, "product[1].trial_licenses", "25 out of range: want 1 to max_licenses (10)"},
		{"trial licenses without trial", with("trial_days", "0"), 8, "product[1].trial_licenses", "without a trial"},
		{"trial licenses without trial days", with("trial_days", ""), 7, "product[1].trial_licenses", "without a trial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("catalog.toml", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse() = %+v, want an error", c)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() error = %T %v, want a *Error", err, err)
			}
			if e.File != "catalog.toml" || e.Line != tt.line || e.Key != tt.key || !strings.Contains(e.Msg, tt.msgPart) {
				t.Errorf("Parse() error = %q (line %d, key %q), want line %d, key %q, message containing %q",
					err, e.Line, e.Key, tt.line, tt.key, tt.msgPart)
			}
			if e.Msg == "" {
				t.Errorf("Parse() error %q has no message", err)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	// The example of the specification: the currency of the second product
	// on line 12.
	data := with("currency", `"EUR"`) + "\n[[product]]\nid = \"other\"\ncurrency = \"EUX\"\nname = \"Other\"\nmonthly_price = 0\nmax_licenses = 1\n"
	_, err := Parse("catalog.toml", []byte(data))
	want := `catalog.toml:12: product[2].currency: unknown currency "EUX"`
	if err == nil || err.Error() != want {
		t.Errorf("Parse() error = %v, want %s", err, want)
	}

	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"with key", &Error{File: "a.toml", Line: 3, Key: "product[1].id", Msg: "bad"}, "a.toml:3: product[1].id: bad"},
		{"without key", &Error{File: "a.toml", Line: 1, Msg: "bad"}, "a.toml:1: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseEmptyName(t *testing.T) {
	_, err := Parse("", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "catalog:1: ") {
		t.Errorf("Parse(\"\", nil) error = %v, want one starting with %q", err, "catalog:1: ")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(good, []byte(visio), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(with("currency", `"EUX"`)), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("good", func(t *testing.T) {
		c, err := Load(good)
		if err != nil {
			t.Fatalf("Load() error = %v, want none", err)
		}
		if got := len(c.Products); got != 1 {
			t.Errorf("Load() has %d products, want 1", got)
		}
	})
	t.Run("bad names the path", func(t *testing.T) {
		_, err := Load(bad)
		var e *Error
		if !errors.As(err, &e) || e.File != bad || e.Line != 4 {
			t.Errorf("Load() error = %v, want a *Error for %s line 4", err, bad)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "missing.toml"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load() error = %v, want fs.ErrNotExist", err)
		}
	})
}
