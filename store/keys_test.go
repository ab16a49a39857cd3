package store_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// idPattern is what ValidID accepts, as a regexp.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func TestValidIDIsThePattern(t *testing.T) {
	for _, id := range []string{"", "a", "T01ACME", "1234567890123456789", "slack-T1", "u_1.x-y", strings.Repeat("a", 64),
		strings.Repeat("a", 65), "a b", "a:b", "a{b}", "ä", "a\n", "\x00", "<@U1>", "a/b", "-", ".", store.NewID()} {
		if got, want := store.ValidID(id), idPattern.MatchString(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func FuzzValidID(f *testing.F) {
	f.Add("T01ACME")
	f.Add("a b")
	f.Add(strings.Repeat("z", 65))
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := store.ValidID(id), idPattern.MatchString(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	})
}
