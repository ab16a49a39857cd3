package slack

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store/storetest"
)

// TestAppHomeBigOrg: an admin's App Home in an organization of 2,000
// subscriptions with 10,000 holders shows the overview's first page within
// Block Kit's limits, and its Next button answers with the second page.
func TestAppHomeBigOrg(t *testing.T) {
	e := newEnv(t)
	big := storetest.BigOrgOf(t, e.st, testOrg, 2000, 40, 10000, time.Now().Add(-time.Hour))
	ev := map[string]any{"type": "event_callback", "team_id": testTeam, "event_id": "Ev-big",
		"event": map[string]any{"type": "app_home_opened", "user": "U4", "tab": "home"}}
	if w := e.post("application/json", mustJSON(t, ev)); w.Code != http.StatusOK {
		t.Fatalf("event: %d %s", w.Code, w.Body)
	}
	c := e.slack.waitFor("views.publish")
	checkLimits(t, "home", c.JSON["view"])
	view := mustJSON(t, c.JSON["view"])
	for _, want := range []string{"Page 1 of 100 (2,000 in all)", `"value":"admin page 2"`, "Buyer " + big.Subs[0], "Buyer " + big.Subs[19]} {
		if !strings.Contains(view, want) {
			t.Errorf("home lacks %q:\n%.3000s", want, view)
		}
	}
	if strings.Contains(view, "Buyer "+big.Subs[20]) {
		t.Error("home shows more than the first page")
	}

	// Next, clicked in the App Home: the second page, as a direct message.
	click := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": "U4", "team_id": testTeam}, "trigger_id": "trig-next",
		"container": map[string]any{"type": "view", "view_id": "VHOME"},
		"actions":   []any{map[string]any{"type": "button", "action_id": "btn-9-0", "value": "admin page 2", "action_ts": "1.2"}}}
	if w := e.interact(click); w.Code != http.StatusOK {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	e.slack.waitFor("conversations.open")
	post := e.slack.waitFor("chat.postMessage")
	blocks := post.Form.Get("blocks")
	var parsed any
	if err := json.Unmarshal([]byte(blocks), &parsed); err != nil {
		t.Fatalf("blocks: %v", err)
	}
	checkLimits(t, "second page", map[string]any{"blocks": parsed})
	for _, want := range []string{"Page 2 of 100", "Buyer " + big.Subs[20], `"value":"admin page 3"`, `"value":"admin page 1"`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("second page lacks %q:\n%.3000s", want, blocks)
		}
	}
	if strings.Contains(blocks, "Buyer "+big.Subs[0]) || strings.Contains(blocks, "Buyer "+big.Subs[40]) {
		t.Error("the second page shows another page's subscriptions")
	}
}
