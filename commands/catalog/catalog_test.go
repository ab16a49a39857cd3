package catalog

import (
	"reflect"
	"testing"
)

func TestProductHasTrial(t *testing.T) {
	tests := []struct {
		name string
		p    Product
		want bool
	}{
		{"trial", Product{TrialDays: 30, TrialLicenses: 25}, true},
		{"no trial", Product{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.HasTrial(); got != tt.want {
				t.Errorf("HasTrial() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestProductPrice(t *testing.T) {
	tests := []struct {
		name    string
		monthly int64
		months  int
		want    int64
	}{
		{"monthly", 1260, 1, 1260},
		{"annual", 1260, 12, 15120},
		{"free", 0, 12, 0},
		{"largest price annual", maxMonthlyPrice, 12, 12_000_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Product{MonthlyPrice: tt.monthly}
			if got := p.Price(tt.months); got != tt.want {
				t.Errorf("Price(%d) = %d, want %d", tt.months, got, tt.want)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	c := Demo()
	if pr := validate(c.Products); pr != nil {
		t.Fatalf("Demo() does not validate: %v", pr.at("demo", nil))
	}
	if n := len(c.Products); n < 4 || n > 6 {
		t.Errorf("Demo() has %d products, want 4 to 6", n)
	}
	want := Product{ID: "visio-plan-2", Name: "Visio Plan 2", Currency: "EUR", MonthlyPrice: 1260, MaxLicenses: 10000, TrialDays: 30, TrialLicenses: 25}
	if got, ok := c.Get("visio-plan-2"); !ok || got != want {
		t.Errorf("Demo().Get(visio-plan-2) = %+v, %v, want %+v, true", got, ok, want)
	}
	for _, id := range []string{"project-plan-3", "power-bi-pro"} {
		if got, ok := c.Get(id); !ok || got.Currency != "EUR" {
			t.Errorf("Demo().Get(%q) = %+v, %v, want a product in EUR", id, got, ok)
		}
	}
	var usd, noTrial bool
	for _, p := range c.Products {
		usd = usd || p.Currency == "USD"
		noTrial = noTrial || !p.HasTrial()
	}
	if !usd || !noTrial {
		t.Errorf("Demo(): has a USD product %v, has a product without trial %v, want both", usd, noTrial)
	}

	c.Products[0].Name = "changed"
	if got := Demo().Products[0].Name; got != "Visio Plan 2" {
		t.Errorf("Demo() after changing an earlier result: Products[0].Name = %q, want %q", got, "Visio Plan 2")
	}
}

func TestCatalogGet(t *testing.T) {
	c := Demo()
	tests := []struct {
		name   string
		id     string
		wantOK bool
	}{
		{"known", "power-bi-pro", true},
		{"unknown", "power-bi-premium", false},
		{"prefix is not enough", "power", false},
		{"case matters", "Power-BI-Pro", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.Get(tt.id)
			if ok != tt.wantOK || (ok && got.ID != tt.id) {
				t.Errorf("Get(%q) = %q, %v, want ok %v", tt.id, got.ID, ok, tt.wantOK)
			}
		})
	}
	t.Run("nil catalog", func(t *testing.T) {
		var c *Catalog
		if _, ok := c.Get("x"); ok {
			t.Errorf("nil.Get(x) ok = true, want false")
		}
	})
}

func TestCatalogFind(t *testing.T) {
	demo := Demo()
	plans := &Catalog{Products: []Product{
		{ID: "plan", Name: "Plan"},
		{ID: "plan-plus", Name: "Plan Plus"},
		{ID: "basic", Name: "Basic Plan"},
		{ID: "p2", Name: "Über  Office"},
	}}
	tests := []struct {
		name  string
		c     *Catalog
		query string
		want  []string // ids
	}{
		{"word at start of name", demo, "visio", []string{"visio-plan-2"}},
		{"word inside names", demo, "plan", []string{"visio-plan-2", "project-plan-1", "project-plan-3"}},
		{"case-insensitive", demo, "PROJECT", []string{"project-plan-1", "project-plan-3"}},
		{"exact name", demo, "project plan 3", []string{"project-plan-3"}},
		{"exact name, other case and spaces", demo, "  Project   PLAN 3 ", []string{"project-plan-3"}},
		{"exact id", demo, "project-plan-1", []string{"project-plan-1"}},
		{"id prefix", demo, "project-plan", []string{"project-plan-1", "project-plan-3"}},
		{"several words", demo, "plan 3", []string{"project-plan-3"}},
		{"word prefix", demo, "pro", []string{"project-plan-1", "project-plan-3", "power-bi-pro"}},
		{"digits word", demo, "365", []string{"copilot"}},
		{"no match", demo, "excel", nil},
		{"middle of a word", demo, "isio", nil},
		{"empty", demo, "", nil},
		{"blank", demo, "   ", nil},
		{"exact name wins over prefixes", plans, "plan", []string{"plan"}},
		{"exact id wins over prefixes", plans, "PLAN-PLUS", []string{"plan-plus"}},
		{"prefix of exact match", plans, "pla", []string{"plan", "plan-plus", "basic"}},
		{"non-ASCII", plans, "über", []string{"p2"}},
		{"name with double space", plans, "über office", []string{"p2"}},
		{"nil catalog", nil, "plan", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range tt.c.Find(tt.query) {
				got = append(got, p.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Find(%q) = %q, want %q", tt.query, got, tt.want)
			}
		})
	}
}

func TestExact(t *testing.T) {
	c := Demo()
	for _, tt := range []struct {
		query, want string
	}{
		{"project plan 3", "project-plan-3"},
		{"  Project   Plan 3 ", "project-plan-3"},
		{"visio-plan-2", "visio-plan-2"},
		{"project plan", ""},
		{"visio", ""},
		{"", ""},
	} {
		t.Run(tt.query, func(t *testing.T) {
			p, ok := c.Exact(tt.query)
			if got := p.ID; got != tt.want || ok != (tt.want != "") {
				t.Errorf("Exact(%q) = %q, %v; want %q", tt.query, got, ok, tt.want)
			}
		})
	}
}
