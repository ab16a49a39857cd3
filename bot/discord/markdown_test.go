package discord

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// evilName is a nickname that, sent raw, shows in Discord as a link that
// hides where it leads, in bold.
const evilName = "[Verify your card](https://evil.example/pay) **now**"

// escapedName is evilName as Discord must get it: shown as written.
const escapedName = `\[Verify your card\](https://evil.example/pay) \*\*now\*\*`

// TestUserTextIsNoMarkdown: what users typed (here a nickname) shows in
// Discord as written, in the admins' notification embed and in replies: a
// masked link is no link, emphasis no emphasis.
func TestUserTextIsNoMarkdown(t *testing.T) {
	e := newEnv(t)
	evil := aliceEN
	evil.name = evilName
	e.card(alice)
	if _, data := answer(t, e.post(e.interaction(evil, itCommand, command("admin", opt("channel", optChannel, adminChannel)), ""))); !strings.Contains(text(data), adminChannel) {
		t.Fatalf("admin channel: %s", text(data))
	}
	e.buyVisioAs(evil)
	e.deliver()

	var posted struct {
		Embeds []embed `json:"embeds"`
	}
	if err := json.Unmarshal(e.fake.nextTo(t, http.MethodPost, "/channels/"+adminChannel+"/messages").Body, &posted); err != nil {
		t.Fatal(err)
	}
	if len(posted.Embeds) == 0 {
		t.Fatal("the admin notification has no embed")
	}
	if d := posted.Embeds[0].Description; !strings.Contains(d, escapedName) || strings.Contains(d, "[Verify your card](") {
		t.Errorf("admin notification embed %q, want the name escaped: %s", d, escapedName)
	}

	// A reply that shows the name: the admin's overview of purchases, in
	// a field and in a table (a code block, where nothing is markdown).
	_, data := answer(t, e.post(e.interaction(evil, itCommand, command("admin"), "")))
	var overview struct {
		Embeds []embed `json:"embeds"`
	}
	if doc, _ := json.Marshal(data); json.Unmarshal(doc, &overview) != nil || len(overview.Embeds) < 2 {
		t.Fatalf("admin overview: %s", text(data))
	}
	if f := overview.Embeds[1].Fields; len(f) == 0 || f[0].Value != escapedName {
		t.Errorf("admin overview fields %+v, want the purchaser %s", f, escapedName)
	}
	if d := outsideCode(overview.Embeds[0].Description); strings.Contains(d, "Verify") {
		t.Errorf("admin overview shows the name outside its table: %q", d)
	}
}

// outsideCode is markdown without its code blocks.
func outsideCode(s string) string {
	parts := strings.Split(s, "```")
	var out []string
	for i := 0; i < len(parts); i += 2 {
		out = append(out, parts[i])
	}
	return strings.Join(out, "")
}

func TestEscapeMarkdown(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Alice Adams", "Alice Adams"},
		{evilName, escapedName},
		{`a\b_c~d` + "`e|f", `a\\b\_c\~d\` + "`e\\|f"},
		{"# Title\n## Sub\n-# small\n- item\n + item\n> quote\n>>> all\n1. first\n2026-11-25 stays\n25.11.2026 stays",
			"\\# Title\n\\## Sub\n\\-# small\n\\- item\n \\+ item\n\\> quote\n\\>>> all\n1\\. first\n2026-11-25 stays\n25.11.2026 stays"},
		{"a -> b, <#123> (x)", "a -> b, <#123> (x)"},
	} {
		if got := escapeMarkdown(tt.in); got != tt.want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
