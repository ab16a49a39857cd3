package commands_test

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
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
		{alice, "products frob\u3164", "Unknown filter “frob”."},
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

	// An admin channel is kept and shown later: it is kept without such
	// characters, as it looks.
	wantMessage(t, e.run(dave, "admin channel #bil\u202eling"), "Admin notifications now go to #billing.")
	if got := e.view(dave).Settings.AdminChannel; got != "#billing" {
		t.Errorf("admin channel kept as %q, want #billing", got)
	}
}

// TestFormatCharsAreNotRead: a command line is read as it looks, without
// characters shown as nothing (zero-width spaces and joiners, bidi
// overrides and isolates, byte order marks): the command works, and
// nothing misleading is echoed. Free text that is kept (a cancellation's
// feedback) is kept without them too, but for the joiners and variation
// selectors written text needs, and the adapter's submission is left as
// it was.
func TestFormatCharsAreNotRead(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	const hidden = "\u200b\u200c\u200d\u202e\u2066\u2069\ufeff\u2060"
	for _, tt := range []struct {
		as   who
		line string
		want string
	}{
		{alice, "\u200bhelp", "Buy subscriptions and start trials"},
		{alice, "\ufeff/billing\u200b help", "Buy subscriptions and start trials"},
		{alice.de(), "\u2066hilfe\u2069", "Kaufen Sie Abonnements"},
		{alice, "catalog\u200d", "Prices per license."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			if strings.ContainsAny(text(r), hidden) || strings.Contains(text(r), "I don't know") {
				t.Errorf("answer:\n%s", text(r))
			}
		})
	}
	f := wantForm(t, e.run(alice, "buy vi\u202esio 2"), commands.FormBuy)
	if p, n := input(t, f, "product").Value, input(t, f, "licenses").Value; strings.Join(p, "") != "visio-plan-2" || strings.Join(n, "") != "2" {
		t.Errorf("buy vi\\u202esio 2: product %v, licenses %v; want visio-plan-2, 2", p, n)
	}

	id := e.buy(alice, "visio-plan-2", 1)
	// 👩‍💻 is one emoji by its joiner, ❤️ the emoji form by its selector,
	// and Persian writes می‌خواهم with a non-joiner.
	const written = " 👩\u200d💻 ❤\ufe0f می\u200cخواهم"
	sub := cancelForm(id, "other", "too\u200b much\u202e"+written, "yes")
	e.send(alice, sub)
	if got := e.sub("T1", id).CancelComment; got != "too much"+written {
		t.Errorf("feedback kept as %q, want %q", got, "too much"+written)
	}
	if got := sub.Values["feedback"][0]; got != "too\u200b much\u202e"+written {
		t.Errorf("the adapter's submission was changed: %q", got)
	}
}
