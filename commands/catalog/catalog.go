// Package catalog holds the operator's product catalog: the products that
// members of an organization can buy or try, with their prices and limits.
//
// A catalog is loaded from a TOML file with one [[product]] table per
// product (see Parse), or taken from the built-in Demo catalog.
package catalog

import "strings"

// Product is one purchasable product of the catalog.
type Product struct {
	ID            string // stable id, e.g. "visio-plan-2"
	Name          string // display name, e.g. "Visio Plan 2"
	Currency      string // ISO 4217 code, upper case, e.g. "EUR"
	MonthlyPrice  int64  // price per license and month, in minor units of Currency
	MaxLicenses   int    // most licenses one subscription may have
	TrialDays     int    // length of the trial; 0: no trial offer
	TrialLicenses int    // licenses of a trial; 0 when there is no trial
	// Policy is what organizations may do with the product until an admin
	// says otherwise: PolicyEnabled (also ""), PolicyTrialsOnly or
	// PolicyDisabled.
	Policy string
}

// The policies of a product: buy and try it, only try it, or neither.
const (
	PolicyEnabled    = "enabled"
	PolicyTrialsOnly = "trials-only"
	PolicyDisabled   = "disabled"
)

// DefaultPolicy is the product's policy in an organization whose admins
// have not set one.
func (p Product) DefaultPolicy() string {
	if p.Policy == "" {
		return PolicyEnabled
	}
	return p.Policy
}

// HasTrial reports whether the product can be tried before buying.
func (p Product) HasTrial() bool { return p.TrialDays > 0 }

// Price returns the price per license, in minor units, for a billing period
// of the given number of months (1 for monthly, 12 for annual billing).
func (p Product) Price(months int) int64 { return p.MonthlyPrice * int64(months) }

// Catalog is the list of products an operator offers.
type Catalog struct {
	Products []Product // in file order
}

// Get returns the product with exactly the given id.
func (c *Catalog) Get(id string) (Product, bool) {
	if c == nil {
		return Product{}, false
	}
	for _, p := range c.Products {
		if p.ID == id {
			return p, true
		}
	}
	return Product{}, false
}

// Find returns the products a user may mean by query, in catalog order,
// ignoring case and surplus white space. A query that equals a product's id
// or name returns just that product (or those products, should two share a
// name). Otherwise Find returns every product whose id starts with the
// query, or whose name has a word at which the query starts: "visio" finds
// "Visio Plan 2", "plan" finds every "… Plan …" product and "plan 2" finds
// "Visio Plan 2". An empty query finds nothing (nil).
//
// More than one result means the query is ambiguous: the caller should let
// the user choose, never guess.
func (c *Catalog) Find(query string) []Product {
	q := normalize(query)
	if c == nil || q == "" {
		return nil
	}
	var exact, prefix []Product
	for _, p := range c.Products {
		id, name := strings.ToLower(p.ID), normalize(p.Name)
		switch {
		case id == q || name == q:
			exact = append(exact, p)
		case strings.HasPrefix(id, q) || wordPrefix(name, q):
			prefix = append(prefix, p)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	return prefix
}

// Exact returns the one product whose id or name is query (ignoring case
// and repeated spaces).
func (c *Catalog) Exact(query string) (Product, bool) {
	q := normalize(query)
	var found []Product
	if c != nil && q != "" {
		for _, p := range c.Products {
			if strings.ToLower(p.ID) == q || normalize(p.Name) == q {
				found = append(found, p)
			}
		}
	}
	if len(found) != 1 {
		return Product{}, false
	}
	return found[0], true
}

// normalize lower-cases s and reduces each run of white space to one space.
func normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// wordPrefix reports whether q is a prefix of name, or of the part of name
// that begins at one of its words. Both are normalized.
func wordPrefix(name, q string) bool {
	for {
		if strings.HasPrefix(name, q) {
			return true
		}
		i := strings.IndexByte(name, ' ')
		if i < 0 {
			return false
		}
		name = name[i+1:]
	}
}

// Demo returns the built-in demo catalog, used when the operator configures
// none. Each call returns a new catalog that the caller may change.
func Demo() *Catalog {
	return &Catalog{Products: []Product{
		{ID: "visio-plan-2", Name: "Visio Plan 2", Currency: "EUR", MonthlyPrice: 1260, MaxLicenses: 10000, TrialDays: 30, TrialLicenses: 25},
		{ID: "project-plan-1", Name: "Project Plan 1", Currency: "EUR", MonthlyPrice: 840, MaxLicenses: 10000},
		{ID: "project-plan-3", Name: "Project Plan 3", Currency: "EUR", MonthlyPrice: 2530, MaxLicenses: 10000, TrialDays: 30, TrialLicenses: 25},
		{ID: "power-bi-pro", Name: "Power BI Pro", Currency: "EUR", MonthlyPrice: 1310, MaxLicenses: 10000, TrialDays: 30, TrialLicenses: 25},
		{ID: "teams-premium", Name: "Teams Premium", Currency: "USD", MonthlyPrice: 1000, MaxLicenses: 5000, TrialDays: 30, TrialLicenses: 25},
		{ID: "copilot", Name: "Microsoft 365 Copilot", Currency: "USD", MonthlyPrice: 3000, MaxLicenses: 5000},
	}}
}
