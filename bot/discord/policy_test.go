package discord

import (
	"net/http"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// TestAdminPolicy: through the signed endpoint, an admin opens the
// product policies from the overview's button, clicks one product's
// Trials only, sets another with the slash command's policy option in
// German; the admin channel hears of each change once; a member's
// purchase of the product is refused with a button to try it.
func TestAdminPolicy(t *testing.T) {
	e := newEnv(t)
	typ, data := answer(t, e.post(e.interaction(aliceEN, itCommand,
		command("admin", opt("channel", optChannel, "555555555555555555")), "")))
	if typ != cbMessage {
		t.Fatalf("admin channel: %d %s", typ, text(data))
	}
	e.fake.nextTo(t, http.MethodGet, "/guilds/"+testGuild+"/members/"+testApp)

	// The overview's button to the policies.
	typ, overview := answer(t, e.post(e.interaction(aliceEN, itCommand, command("admin"), "")))
	list := ""
	for _, b := range buttonsOf(overview) {
		if b["label"] == "Product policies" {
			list, _ = b["custom_id"].(string)
		}
	}
	if typ != cbMessage || list == "" {
		t.Fatalf("admin overview: %d %s, want a Product policies button", typ, text(overview))
	}
	typ, head := answer(t, e.post(e.click(aliceEN, overview, list, "340000000000000001")))
	if !strings.Contains(text(head), "Product policies") || !strings.Contains(text(head), "enabled (the catalog's default)") {
		t.Fatalf("policies: %d %s", typ, text(head))
	}
	// Each product's buttons, Visio Plan 2's among them (Discord packs
	// the messages into as few as its limits allow).
	visio, trialsOnly := head, ""
	for msg := head; trialsOnly == ""; msg = e.fake.nextTo(t, http.MethodPost, "/webhooks/"+testApp+"/tok340000000000000001").json(t) {
		for _, b := range buttonsOf(msg) {
			if b["custom_id"] == "b:admin policy visio-plan-2 trials-only" && b["label"] == "Only trials of Visio Plan 2" {
				visio, trialsOnly = msg, b["custom_id"].(string)
			}
		}
	}
	_, data = answer(t, e.post(e.click(aliceEN, visio, trialsOnly, "")))
	if !strings.Contains(text(data), "Policy of Visio Plan 2: trials only.") {
		t.Errorf("Trials only clicked: %s", text(data))
	}

	// The slash command's policy option, in German.
	_, data = answer(t, e.post(e.interaction(aliceDE, itCommand, command("admin", opt("policy", optString, "teams deaktiviert")), "")))
	if !strings.Contains(text(data), "Richtlinie für Teams Premium: deaktiviert.") {
		t.Errorf("admin richtlinie teams deaktiviert: %s", text(data))
	}
	// Not an admin: refused, nothing set.
	_, data = answer(t, e.post(e.interaction(bobEN, itCommand, command("admin", opt("policy", optString, "visio enabled")), "")))
	if !strings.Contains(text(data), "Only administrators") {
		t.Errorf("a member's admin policy: %s", text(data))
	}
	v, err := e.st.View(t.Context(), testOrg, bob, store.ViewOptions{})
	if err != nil || v.Settings.Policies != "teams-premium=disabled visio-plan-2=trials-only" {
		t.Errorf("stored policies = %q, %v", v.Settings.Policies, err)
	}

	e.a.Wait()
	e.deliver()
	for _, want := range []string{"Alice Adams set the policy of Visio Plan 2 to trials only.",
		"Alice Adams set the policy of Teams Premium to disabled."} {
		note := e.fake.nextTo(t, http.MethodPost, "/channels/555555555555555555/messages")
		if s := text(note.json(t)); !strings.Contains(s, "Product policy changed") || !strings.Contains(s, want) {
			t.Errorf("notification %s, want %q", s, want)
		}
	}

	// A member's purchase: refused, with a button to try it instead.
	typ, data = answer(t, e.post(e.interaction(bobEN, itCommand, command("buy", opt("product", optString, "visio")), "")))
	if typ != cbMessage || !strings.Contains(text(data), "allow only trials of Visio Plan 2") {
		t.Fatalf("buy visio: %d %s", typ, text(data))
	}
	if bs := buttonsOf(data); len(bs) != 1 || bs[0]["label"] != "Start a trial" {
		t.Errorf("buy visio's buttons = %v, want Start a trial", bs)
	}
}
