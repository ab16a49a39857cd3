package commands

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAuditActionsKnown: every action a change script writes to the audit
// trail is said in the user's language: the verbs written literally, and
// those made of a prefix and a status or decision.
func TestAuditActionsKnown(t *testing.T) {
	files, err := filepath.Glob("../store/lua/*.lua")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	literal := regexp.MustCompile(`'action', '([a-z-]+)( |')`)
	joined := map[string][]string{ // 'approval-' .. status, 'handover-' .. decision
		"approval-": {"approved", "declined", "withdrawn", "expired", "stale"},
		"handover-": {"take", "cancel"},
	}
	// And those the store writes from Go.
	for _, v := range []string{"install", "uninstall", "language", "admin-channel", "org-language", "approval-limit", "cap-limit"} {
		if _, ok := auditActions[v]; !ok {
			t.Errorf("action %q has no message in auditActions", v)
		}
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			verbs := []string{m[1]}
			if strings.HasSuffix(m[1], "-") {
				verbs = nil
				for _, end := range joined[m[1]] {
					verbs = append(verbs, m[1]+end)
				}
				if len(verbs) == 0 {
					t.Errorf("%s: action %q is joined with what this test does not know", f, m[1])
				}
			}
			for _, v := range verbs {
				if _, ok := auditActions[v]; !ok {
					t.Errorf("%s: action %q has no message in auditActions", filepath.Base(f), v)
				}
			}
		}
	}
}
