package commands

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"

	"github.com/billingbot/billingbot/locales"
)

// idLike is what a string literal that names a message looks like.
var idLike = regexp.MustCompile(`^(Cmd|Arg|Err|Btn|Title|Field|Col|Note|Reason|Status|Period|Range|Invoice|Lang|Hint|Console)[A-Z0-9][A-Za-z0-9]*$`)

// literals collects the string literals of the non-test Go files of the
// core and the adapters, and those passed as the first argument to T or N.
func literals(t *testing.T) (all, called map[string]bool) {
	t.Helper()
	all, called = map[string]bool{}, map[string]bool{}
	fset := token.NewFileSet()
	for _, root := range []string{".", "../bot"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
						all[s] = true
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if ok && (sel.Sel.Name == "T" || sel.Sel.Name == "N" || sel.Sel.Name == "Text") && len(n.Args) > 0 {
						arg := n.Args[0]
						if sel.Sel.Name == "Text" && len(n.Args) > 1 {
							arg = n.Args[1]
						}
						if lit, ok := arg.(*ast.BasicLit); ok {
							s, _ := strconv.Unquote(lit.Value)
							called[s] = true
						}
					}
				}
				return true
			})
			return nil
		})
		if err != nil && !strings.Contains(err.Error(), "no such file") {
			t.Fatal(err)
		}
	}
	return all, called
}

func messageIDs(t *testing.T, lang string) map[string]any {
	t.Helper()
	raw, err := locales.File(lang)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := toml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMessageIDs fails when the code uses a message id that a language
// lacks, or a language has an id that no code uses.
func TestMessageIDs(t *testing.T) {
	all, called := literals(t)
	for _, lang := range []string{"en", "de"} {
		ids := messageIDs(t, lang)
		for id := range called {
			if _, ok := ids[id]; !ok {
				t.Errorf("%s.toml lacks %q, which the code passes to T or N", lang, id)
			}
		}
		for s := range all {
			if _, ok := ids[s]; idLike.MatchString(s) && !ok {
				t.Errorf("%s.toml lacks %q, which looks like a message id in the code", lang, s)
			}
		}
		for id := range ids {
			if !all[id] {
				t.Errorf("%s.toml has %q, which no code uses", lang, id)
			}
		}
	}
}

// TestFormLabelsFit checks the texts of form titles and buttons against the
// tightest platform limit: Slack's 24 characters for a modal's title,
// submit and close button.
func TestFormLabelsFit(t *testing.T) {
	short := []string{"TitleBuy", "TitleTrial", "TitleLicenses", "TitleAssign", "TitleUnassign", "TitleCancel",
		"TitleInvoices", "TitlePayment", "BtnBuyNow", "BtnStartTrial", "BtnSave", "BtnAssignNow", "BtnUnassignNow",
		"BtnCancelNow", "BtnShow", "BtnClose", "TitleRemoveMethod", "BtnRemove"}
	for _, lang := range []string{"en", "de"} {
		ids := messageIDs(t, lang)
		for _, id := range short {
			s, _ := ids[id].(string)
			if n := utf8.RuneCountInString(s); n == 0 || n > 24 {
				t.Errorf("%s %s = %q: %d characters, want 1…24", lang, id, s, n)
			}
		}
	}
}
