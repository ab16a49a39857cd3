package catalog

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	noTrial := "[[product]]\nid = \"p\"\nname = \"P\"\ncurrency = \"EUR\"\nmonthly_price = 1\nmax_licenses = 1\n"
	tests := []struct {
		name string
		data string
		want string // DefaultPolicy
	}{
		{"missing: enabled", visio, PolicyEnabled},
		{"enabled", visio + "policy = \"enabled\"\n", PolicyEnabled},
		{"trials-only", visio + "policy = \"trials-only\"\n", PolicyTrialsOnly},
		{"disabled", visio + "policy = 'disabled'\n", PolicyDisabled},
		{"disabled without a trial", noTrial + "policy = \"disabled\"\n", PolicyDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("catalog.toml", []byte(tt.data))
			if err != nil {
				t.Fatalf("Parse() error = %v, want none", err)
			}
			if got := c.Products[0].DefaultPolicy(); got != tt.want {
				t.Errorf("DefaultPolicy() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParsePolicyErrors(t *testing.T) {
	noTrial := with("trial_days", "0")
	noTrial = strings.Replace(noTrial, "trial_licenses = 25\n", "", 1)
	tests := []struct {
		name    string
		data    string
		line    int
		msgPart string
	}{
		{"unknown word", visio + "policy = \"hidden\"\n", 9, `unknown policy "hidden"`},
		{"German word", visio + "policy = \"deaktiviert\"\n", 9, `unknown policy "deaktiviert"`},
		{"upper case", visio + "policy = \"Disabled\"\n", 9, "unknown policy"},
		{"empty", visio + "policy = \"\"\n", 9, "unknown policy"},
		{"not a string", visio + "policy = true\n", 9, "want a string, got a boolean"},
		{"trials-only without a trial", noTrial + "policy = \"trials-only\"\n", 8, `"trials-only" without a trial`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("catalog.toml", []byte(tt.data))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse() error = %v, want a *Error", err)
			}
			if e.Line != tt.line || e.Key != "product[1].policy" || !strings.Contains(e.Msg, tt.msgPart) {
				t.Errorf("Parse() error = %q (line %d, key %q), want line %d, key product[1].policy, message containing %q",
					err, e.Line, e.Key, tt.line, tt.msgPart)
			}
		})
	}
}
