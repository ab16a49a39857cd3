package catalog

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is a problem in a catalog file: a TOML syntax error, a value of the
// wrong type, an unknown or missing key, or a broken rule. Its text reads
// like `catalog.toml:12: product[2].currency: unknown currency "EUX"`.
type Error struct {
	File string // file name as given to Parse or Load
	Line int    // 1-based line of the key, or of the [[product]] header for a missing key
	Key  string // e.g. "product[2].currency" (1-based product index); empty when unknown
	Msg  string // what is wrong
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// Load reads and parses the catalog file at path; see Parse.
func Load(path string) (*Catalog, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load catalog: %w", err)
	}
	return Parse(path, data)
}

// Parse parses and validates a catalog in TOML, one [[product]] table per
// product:
//
//	[[product]]
//	id = "visio-plan-2"
//	name = "Visio Plan 2"
//	currency = "EUR"
//	monthly_price = 1260  # minor units per license and month
//	max_licenses = 10000
//	trial_days = 30       # optional; 0 or missing: no trial
//	trial_licenses = 25   # optional; required when trial_days > 0
//	policy = "enabled"    # optional: "enabled" (default), "trials-only" or "disabled"
//
// Unknown keys are errors. The first problem found is returned as an
// *Error naming name, the line and the key.
func Parse(name string, data []byte) (*Catalog, error) {
	if name == "" {
		name = "catalog"
	}
	// The decoder checks the document against the whole TOML specification
	// (syntax, duplicate keys, integer overflow, ...), so that the walk
	// below only sees valid TOML.
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		return nil, decodeError(name, data, err)
	}
	products, pos, perr := walk(data)
	if perr == nil {
		perr = validate(products)
	}
	if perr != nil {
		return nil, perr.at(name, pos)
	}
	return &Catalog{Products: products}, nil
}

// Keys of a [[product]] table.
const (
	keyID            = "id"
	keyName          = "name"
	keyCurrency      = "currency"
	keyMonthlyPrice  = "monthly_price"
	keyMaxLicenses   = "max_licenses"
	keyTrialDays     = "trial_days"
	keyTrialLicenses = "trial_licenses"
	keyPolicy        = "policy"
)

// productTable is the key under which products are listed.
const productTable = "product"

// positions records where a product and its keys are in the file.
type positions struct {
	header int            // line of the [[product]] header
	keys   map[string]int // line of each key
}

// problem is a broken rule before it is placed in the file.
type problem struct {
	index int    // 0-based product index; -1: the catalog as a whole
	key   string // key within the product, or the whole key when index is -1
	line  int    // line, when already known
	msg   string
}

// at turns p into an *Error, looking up its line in pos unless known.
func (p *problem) at(file string, pos []positions) *Error {
	e := &Error{File: file, Line: p.line, Key: p.key, Msg: p.msg}
	if p.index >= 0 {
		e.Key = fmt.Sprintf("%s[%d]", productTable, p.index+1)
		if p.key != "" {
			e.Key += "." + p.key
		}
		if e.Line == 0 && p.index < len(pos) {
			e.Line = pos[p.index].header
			if l, ok := pos[p.index].keys[p.key]; ok {
				e.Line = l
			}
		}
	}
	if e.Line == 0 {
		e.Line = 1
	}
	return e
}

// decodeError turns an error of the TOML decoder into an *Error.
func decodeError(file string, data []byte, err error) error {
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		return &Error{File: file, Line: 1, Msg: err.Error()}
	}
	line, _ := de.Position()
	e := &Error{File: file, Line: line, Msg: strings.TrimPrefix(de.Error(), "toml: ")}
	key := []string(de.Key())
	if len(key) > 0 && key[0] == productTable {
		key = key[1:]
	}
	// The decoder's key has no product index, and none at all for some
	// errors: take both from the expressions the parser reads.
	n, keys := headersAndKeys(data, line)
	if len(key) == 0 && n > 0 {
		key = keys[line]
	}
	switch {
	case n > 0:
		e.Key = fmt.Sprintf("%s[%d]", productTable, n)
		if len(key) > 0 {
			e.Key += "." + joinKey(key)
		}
	case len(de.Key()) > 0:
		e.Key = joinKey(de.Key())
	}
	return e
}

// headersAndKeys reads data as far as the TOML parser can, and returns the
// number of [[product]] headers on the lines up to line, and the key of each
// key-value expression by the line it starts on.
func headersAndKeys(data []byte, line int) (int, map[int][]string) {
	n := 0
	keys := make(map[int][]string)
	var p unstable.Parser
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		path, l := keyPath(&p, e)
		switch {
		case e.Kind == unstable.ArrayTable && len(path) == 1 && path[0] == productTable && l <= line:
			n++
		case e.Kind == unstable.KeyValue:
			keys[l] = path
		}
	}
	return n, keys
}

// walk reads the products from a valid TOML document, checking its shape:
// only [[product]] tables, only known keys, values of the right type.
func walk(data []byte) ([]Product, []positions, *problem) {
	var (
		products []Product
		pos      []positions
		p        unstable.Parser
	)
	p.Reset(data)
	for p.NextExpression() {
		n := p.Expression()
		path, line := keyPath(&p, n)
		cur := len(products) - 1 // the product being read, -1 before the first
		switch n.Kind {
		case unstable.ArrayTable, unstable.Table:
			if len(path) == 1 && path[0] == productTable {
				if n.Kind == unstable.Table {
					return nil, nil, &problem{index: -1, key: productTable, line: line, msg: "write [[product]] for each product, not [product]"}
				}
				products = append(products, Product{})
				pos = append(pos, positions{header: line, keys: map[string]int{}})
				continue
			}
			if cur >= 0 && len(path) > 1 && path[0] == productTable {
				// [product.x] or [[product.x]]: a table inside the product.
				return nil, nil, &problem{index: cur, key: joinKey(path[1:]), line: line, msg: "unknown key"}
			}
			return nil, nil, &problem{index: -1, key: joinKey(path), line: line, msg: "unknown key"}
		case unstable.KeyValue:
			switch {
			case cur < 0 && path[0] == productTable:
				return nil, nil, &problem{index: -1, key: productTable, line: line, msg: "write [[product]] tables, one for each product"}
			case cur < 0:
				return nil, nil, &problem{index: -1, key: joinKey(path), line: line, msg: "unknown key"}
			case len(path) > 1:
				return nil, nil, &problem{index: cur, key: joinKey(path), line: line, msg: "unknown key"}
			}
			pos[cur].keys[path[0]] = line
			if pr := setField(&products[cur], path[0], n.Value()); pr != nil {
				pr.index, pr.key, pr.line = cur, joinKey(path), line
				return nil, nil, pr
			}
		}
	}
	if err := p.Error(); err != nil {
		// Not reached: the decoder has accepted the document.
		return nil, nil, &problem{index: -1, msg: err.Error()}
	}
	for i := range products {
		for _, k := range []string{keyID, keyName, keyCurrency, keyMonthlyPrice, keyMaxLicenses} {
			if _, ok := pos[i].keys[k]; !ok {
				return nil, nil, &problem{index: i, key: k, line: pos[i].header, msg: "missing required key"}
			}
		}
		if _, ok := pos[i].keys[keyTrialLicenses]; !ok && products[i].TrialDays > 0 {
			return nil, nil, &problem{index: i, key: keyTrialLicenses, line: pos[i].header, msg: "missing key, required with trial_days"}
		}
	}
	return products, pos, nil
}

// setField stores value v of key k in p.
func setField(p *Product, k string, v *unstable.Node) *problem {
	var (
		s   *string
		i64 *int64
		i   *int
	)
	switch k {
	case keyID:
		s = &p.ID
	case keyName:
		s = &p.Name
	case keyCurrency:
		s = &p.Currency
	case keyMonthlyPrice:
		i64 = &p.MonthlyPrice
	case keyMaxLicenses:
		i = &p.MaxLicenses
	case keyTrialDays:
		i = &p.TrialDays
	case keyTrialLicenses:
		i = &p.TrialLicenses
	case keyPolicy:
		s = &p.Policy
	default:
		return &problem{msg: "unknown key"}
	}
	if s != nil {
		if v.Kind != unstable.String {
			return &problem{msg: "want a string, got " + kindName(v.Kind)}
		}
		*s = string(v.Data)
		if k == keyPolicy && *s == "" { // "" is no policy given: validate would take it for the default
			return &problem{msg: `unknown policy ""`}
		}
		return nil
	}
	if v.Kind != unstable.Integer {
		return &problem{msg: "want an integer, got " + kindName(v.Kind)}
	}
	n, err := parseInt(string(v.Data))
	if err != nil {
		return &problem{msg: fmt.Sprintf("integer %s out of range", v.Data)}
	}
	if i64 != nil {
		*i64 = n
		return nil
	}
	if int64(int(n)) != n {
		return &problem{msg: fmt.Sprintf("integer %d out of range", n)}
	}
	*i = int(n)
	return nil
}

// parseInt parses a TOML integer that the decoder has accepted: decimal with
// an optional sign, or 0x, 0o, 0b; digits may be separated by underscores.
func parseInt(s string) (int64, error) {
	// TOML has no leading zeros, so base 0 never reads a decimal as octal.
	return strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
}

// kindName names a TOML value kind for error messages.
func kindName(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "a table"
	case unstable.LocalDate, unstable.LocalTime, unstable.LocalDateTime, unstable.DateTime:
		return "a date or time"
	}
	return k.String()
}

// keyPath returns the key of a table header or key-value expression and the
// line it starts on.
func keyPath(p *unstable.Parser, n *unstable.Node) ([]string, int) {
	var (
		path []string
		line int
	)
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 {
			line = p.Shape(k.Raw).Start.Line
		}
		path = append(path, string(k.Data))
	}
	return path, line
}

// joinKey joins a dotted key, quoting the parts that are not bare keys.
func joinKey(path []string) string {
	parts := make([]string, len(path))
	for i, k := range path {
		parts[i] = k
		if k == "" || strings.ContainsFunc(k, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) {
			parts[i] = strconv.Quote(k)
		}
	}
	return strings.Join(parts, ".")
}
