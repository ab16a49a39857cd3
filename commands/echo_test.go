package commands_test

import (
	"strings"
	"testing"
)

// TestEchoesShownSafely: every answer that repeats what the user typed
// repeats it without characters that hide or reorder text.
func TestEchoesShownSafely(t *testing.T) {
	e := newEnv(t)
	const hidden = "\u202e\u200b\u3164\ufe0f"
	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{alice, "\u3164frob\u202enicate", "I don't know the command “frobnicate”."},
		{alice, "invoices 2026-13\u202e-01 2026-02-01", "“2026-13-01” is not a date."},
		{alice, "invoices 2026-01-01 x\u200by", "“xy” is not a date."},
		{alice, "products self\u3164", "Unknown filter “self”."},
		{alice, "buy vi\u202eso", "No product matches “viso”."},
		{alice, "assign visio bo\u200bb\u3164", "None of your subscriptions matches “visio”."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantText(t, r, tt.want)
			if strings.ContainsAny(text(r), hidden) {
				t.Errorf("the answer holds invisible characters: %q", text(r))
			}
		})
	}

	// An admin channel is kept and shown later: one with such characters
	// is refused, not stored.
	before := e.snapshot()
	wantMessage(t, e.run(dave, "admin channel #bil\u202eling"), "Name one channel, e.g. /billing admin channel #billing")
	e.wantUnchanged(before)
}
