package catalog

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
)

// Limits of a catalog.
const (
	maxProducts     = 100
	maxNameLen      = 75 // runes
	maxMonthlyPrice = 1_000_000_000
	maxLicenses     = 1_000_000
	maxTrialDays    = 365
)

// validate checks the rules of a catalog and returns the first problem, in
// product order and, within a product, in the order of the keys in Product.
func validate(products []Product) *problem {
	if len(products) == 0 {
		return &problem{index: -1, key: productTable, msg: "no products: add a [[product]] table for each product"}
	}
	if len(products) > maxProducts {
		return &problem{index: maxProducts, msg: fmt.Sprintf("too many products: at most %d allowed", maxProducts)}
	}
	seen := make(map[string]int, len(products))
	for i, p := range products {
		if pr := validateProduct(p); pr != nil {
			pr.index = i
			return pr
		}
		if j, ok := seen[p.ID]; ok {
			return &problem{index: i, key: keyID, msg: fmt.Sprintf("duplicate id %q, also used by %s[%d]", p.ID, productTable, j+1)}
		}
		seen[p.ID] = i
	}
	return nil
}

// validateProduct checks the rules of one product.
func validateProduct(p Product) *problem {
	bad := func(key, format string, args ...any) *problem {
		return &problem{key: key, msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case !validID(p.ID):
		return bad(keyID, "invalid id %q: want 1 to 63 lower-case letters, digits and hyphens, not starting with a hyphen", p.ID)
	case strings.TrimSpace(p.Name) == "":
		return bad(keyName, "empty name")
	case strings.ContainsFunc(p.Name, unicode.IsControl):
		return bad(keyName, "name %q contains a control character", p.Name)
	case utf8.RuneCountInString(p.Name) > maxNameLen:
		return bad(keyName, "name is %d characters long, at most %d allowed", utf8.RuneCountInString(p.Name), maxNameLen)
	case !isUpperISO(p.Currency):
		return bad(keyCurrency, "invalid currency %q: want an upper-case ISO 4217 code such as \"EUR\"", p.Currency)
	case !knownCurrency(p.Currency):
		return bad(keyCurrency, "unknown currency %q", p.Currency)
	case p.MonthlyPrice < 0 || p.MonthlyPrice > maxMonthlyPrice:
		return bad(keyMonthlyPrice, "%d out of range: want 0 to %d", p.MonthlyPrice, maxMonthlyPrice)
	case p.MaxLicenses < 1 || p.MaxLicenses > maxLicenses:
		return bad(keyMaxLicenses, "%d out of range: want 1 to %d", p.MaxLicenses, maxLicenses)
	case p.TrialDays < 0 || p.TrialDays > maxTrialDays:
		return bad(keyTrialDays, "%d out of range: want 0 (no trial) to %d", p.TrialDays, maxTrialDays)
	case p.TrialDays > 0 && (p.TrialLicenses < 1 || p.TrialLicenses > p.MaxLicenses):
		return bad(keyTrialLicenses, "%d out of range: want 1 to max_licenses (%d) for a trial", p.TrialLicenses, p.MaxLicenses)
	case p.TrialDays == 0 && p.TrialLicenses != 0:
		return bad(keyTrialLicenses, "%d without a trial: set trial_days, or trial_licenses to 0", p.TrialLicenses)
	case p.Policy != "" && p.Policy != PolicyEnabled && p.Policy != PolicyTrialsOnly && p.Policy != PolicyDisabled:
		return bad(keyPolicy, "unknown policy %q: want %q, %q or %q", p.Policy, PolicyEnabled, PolicyTrialsOnly, PolicyDisabled)
	case p.Policy == PolicyTrialsOnly && p.TrialDays == 0:
		return bad(keyPolicy, "%q without a trial: set trial_days, or another policy", p.Policy)
	}
	return nil
}

// validID reports whether s matches ^[a-z0-9][a-z0-9-]{0,62}$.
func validID(s string) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// isUpperISO reports whether s has the form of an ISO 4217 code.
func isUpperISO(s string) bool {
	return len(s) == 3 && strings.IndexFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) < 0
}

// knownCurrency reports whether s is an ISO 4217 currency that x/text knows.
func knownCurrency(s string) bool {
	_, err := currency.ParseISO(s)
	return err == nil
}
