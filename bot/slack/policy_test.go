package slack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/store"
)

// TestAdminPolicy: through the signed endpoints, an admin lists the
// products' policies, clicks a button to disable one, the admins are
// notified by the outbox, and a member's purchase of it is refused.
func TestAdminPolicy(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")

	w := e.command("U4", "admin policy", "trig-p1")
	if w.Code != http.StatusOK {
		t.Fatalf("admin policy: %d %s", w.Code, w.Body)
	}
	body := w.Body.String()
	for _, want := range []string{"Product policies", "enabled (the catalog's default)",
		`"value":"admin policy visio-plan-2 disabled"`, `"value":"admin policy visio-plan-2 trials-only"`} {
		if !strings.Contains(body, want) {
			t.Errorf("admin policy answer lacks %s: %s", want, body)
		}
	}
	// Not an admin: refused.
	if w := e.command("U1", "admin policy visio disabled", "trig-p2"); !strings.Contains(w.Body.String(), "Only administrators") {
		t.Errorf("a member's admin policy: %s", w.Body)
	}

	// The admin clicks Disable under Visio Plan 2.
	click := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": "U4", "team_id": testTeam}, "trigger_id": "trig-p3",
		"channel": map[string]any{"id": "C100"}, "container": map[string]any{"type": "message", "channel_id": "C100"},
		"response_url": e.slack.srv.URL + "/hook/p3",
		"actions":      []any{map[string]any{"type": "button", "action_id": "btn-1-1", "value": "admin policy visio-plan-2 disabled", "action_ts": "1.2"}}}
	if w := e.interact(click); w.Code != http.StatusOK {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Policy of Visio Plan 2: disabled.") {
		t.Errorf("click's answer = %s, want the policy set", hook.Body)
	}
	v, err := e.st.View(t.Context(), testOrg, "U1", store.ViewOptions{})
	if p, ok := v.Settings.Policies.Of("visio-plan-2"); err != nil || !ok || p != store.PolicyDisabled {
		t.Fatalf("stored policy = %q, %v, %v; want disabled", p, ok, err)
	}

	e.a.Wait()
	e.deliver()
	note := e.slack.waitFor("chat.postMessage")
	if ch, blocks := note.Form.Get("channel"), note.Form.Get("blocks"); ch != "DU4" || !strings.Contains(blocks, "Product policy changed") ||
		!strings.Contains(blocks, "Dave set the policy of Visio Plan 2 to disabled.") {
		t.Errorf("notification to %q: %s, want Dave's DM saying the policy changed", ch, blocks)
	}

	// A member's purchase of it: refused, no modal.
	w = e.command("U1", "buy visio 3", "trig-p4")
	if !strings.Contains(w.Body.String(), "Visio Plan 2 is not available in this organization.") {
		t.Errorf("buy of a disabled product: %d %s", w.Code, w.Body)
	}
	e.a.Wait()
	if n := e.slack.count("views.open"); n != 0 {
		t.Errorf("%d modals opened for a disabled product, want none", n)
	}
	if w := e.command("U1", "catalog", "trig-p5"); !strings.Contains(w.Body.String(), "1 product is not offered in your organization.") {
		t.Errorf("catalog: %s", w.Body)
	}
}
