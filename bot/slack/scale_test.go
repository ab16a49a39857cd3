package slack

import (
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

	// Next, clicked in the App Home: the Home shows the second page, and
	// keeps which page it shows.
	click := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": "U4", "team_id": testTeam}, "trigger_id": "trig-next",
		"container": map[string]any{"type": "view", "view_id": "VHOME"},
		"view":      map[string]any{"id": "VHOME", "type": "home"},
		"actions":   []any{map[string]any{"type": "button", "action_id": "btn-9-0", "value": "admin page 2", "action_ts": "1.2"}}}
	if w := e.interact(click); w.Code != http.StatusOK {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	c = e.slack.waitFor("views.publish")
	checkLimits(t, "second page", c.JSON["view"])
	view = mustJSON(t, c.JSON["view"])
	for _, want := range []string{"Page 2 of 100", "Buyer " + big.Subs[20], `"value":"admin page 3"`, `"value":"admin page 1"`,
		`"private_metadata":"{\"admin\":\"admin page 2\"}"`} {
		if !strings.Contains(view, want) {
			t.Errorf("second page lacks %q:\n%.3000s", want, view)
		}
	}
	if strings.Contains(view, "Buyer "+big.Subs[0]) || strings.Contains(view, "Buyer "+big.Subs[40]) {
		t.Error("the second page shows another page's subscriptions")
	}
	if n := e.slack.count("chat.postMessage") + e.slack.count("conversations.open"); n != 0 {
		t.Errorf("%d messages besides the Home; want none", n)
	}
}

// TestHomePage: a page button in the App Home names the page of its list
// and keeps the other list's page; other buttons and views are not pages
// of the Home, and pages the view kept are read only when they are pages.
func TestHomePage(t *testing.T) {
	for _, c := range []struct {
		viewType, meta, line string
		want                 homePages
		ok                   bool
	}{
		{"home", "", "admin page 2", homePages{Admin: "admin page 2"}, true},
		{"home", `{"admin":"admin page 2"}`, "products page 3", homePages{Products: "products page 3", Admin: "admin page 2"}, true},
		{"home", `{"products":"products page 3","admin":"admin page 2"}`, "admin page 1", homePages{Products: "products page 3", Admin: "admin page 1"}, true},
		{"home", `{"products":"cancel sub1","admin":"admin page x"}`, "admin page 4", homePages{Admin: "admin page 4"}, true},
		{"home", "not json", "products page 2", homePages{Products: "products page 2"}, true},
		{"home", "", "invoices page 2", homePages{}, false},
		{"home", "", "buy", homePages{}, false},
		{"home", "", "admin page 0", homePages{}, false},
		{"modal", "", "admin page 2", homePages{}, false},
		{"", "", "admin page 2", homePages{}, false},
	} {
		got, ok := homePage(c.viewType, c.meta, c.line)
		if got != c.want || ok != c.ok {
			t.Errorf("homePage(%q, %q, %q) = %+v, %v; want %+v, %v", c.viewType, c.meta, c.line, got, ok, c.want, c.ok)
		}
	}
}
