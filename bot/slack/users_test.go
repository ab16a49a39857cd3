package slack

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUserCacheInMemory: a replica keeps the users it saw in memory in
// front of the store's cache, never longer than the store keeps them, and
// at most a minute.
func TestUserCacheInMemory(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	now := time.Now()
	e.a.users.now = func() time.Time { return now }
	name := func() string {
		t.Helper()
		u, err := e.a.user(ctx, testOrg, "U2")
		if err != nil {
			t.Fatal(err)
		}
		return u.Name
	}
	if err := e.st.CachePut(ctx, testOrg, "user:U2", `{"n":"Cached Bob"}`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Cached Bob" {
		t.Fatalf("first lookup = %q, want the store's %q", got, "Cached Bob")
	}
	if err := e.st.CachePut(ctx, testOrg, "user:U2", `{"n":"Other Bob"}`, time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := name(); got != "Cached Bob" {
		t.Errorf("second lookup = %q, want the copy in memory %q", got, "Cached Bob")
	}
	now = now.Add(6 * time.Second) // past the TTL of the store's entry the copy came from
	if got := name(); got != "Other Bob" {
		t.Errorf("after the store's TTL = %q, want the store read again (%q)", got, "Other Bob")
	}
	if err := e.st.CachePut(ctx, testOrg, "user:U2", `{"n":"Robert"}`, time.Hour); err != nil {
		t.Fatal(err)
	}
	now = now.Add(localUserTTL - time.Second)
	if got := name(); got != "Other Bob" {
		t.Errorf("within a minute = %q, want the copy in memory", got)
	}
	now = now.Add(2 * time.Second)
	if got := name(); got != "Robert" {
		t.Errorf("after a minute = %q, want the store read again (%q)", got, "Robert")
	}
	if n := e.slack.count("users.info"); n != 0 {
		t.Errorf("users.info called %d times, want 0 (the store had the user)", n)
	}
}

// TestUserCacheBounded: the copy in memory holds at most localUsersMax
// users and drops expired ones first.
func TestUserCacheBounded(t *testing.T) {
	c := newUserCache()
	now := time.Now()
	c.now = func() time.Time { return now }
	c.put("o", "UOLD", userInfo{Name: "old"}, time.Second)
	now = now.Add(2 * time.Second)
	for i := range localUsersMax + 100 {
		c.put("o", fmt.Sprintf("U%d", i), userInfo{Name: "x"}, time.Minute)
		if len(c.m) > localUsersMax {
			t.Fatalf("%d users kept, want at most %d", len(c.m), localUsersMax)
		}
	}
	if _, ok := c.m["o UOLD"]; ok {
		t.Error("an expired user was kept while others were dropped")
	}
	if _, ok := c.get("o", fmt.Sprintf("U%d", localUsersMax+99)); !ok {
		t.Error("the newest user was not kept")
	}
	c.put("o", "UZERO", userInfo{Name: "z"}, 0)
	if _, ok := c.get("o", "UZERO"); ok {
		t.Error("a user with no time left was kept")
	}
}

// TestAdminOfOwnWorkspace: is_admin and is_owner count only for the
// request's own workspace: users.info's team_id, or an Enterprise Grid
// user's workspaces, must name the team the request came from. An admin
// of another workspace (a shared channel) gets no admin view here.
func TestAdminOfOwnWorkspace(t *testing.T) {
	e := newEnv(t)
	e.slack.addUser("UXADMIN", "Xavier", "en-US", map[string]any{"team_id": "T2", "is_admin": true})
	e.slack.addUser("UXOWNER", "Xenia", "en-US", map[string]any{"team_id": "T2", "is_owner": true, "is_primary_owner": true})
	e.slack.addUser("UGRID", "Greta", "en-US", map[string]any{"team_id": "T9", "is_admin": true,
		"enterprise_user": map[string]any{"id": "UGRID", "enterprise_id": "E1", "teams": []string{"T9", testTeam}}})
	e.slack.addUser("UGRIDX", "Gerd", "en-US", map[string]any{"team_id": "T9", "is_admin": true,
		"enterprise_user": map[string]any{"id": "UGRIDX", "enterprise_id": "E1", "teams": []string{"T9"}}})
	for _, tc := range []struct {
		user  string
		admin bool
	}{{"U4", true}, {"UXADMIN", false}, {"UXOWNER", false}, {"UGRID", true}, {"UGRIDX", false}, {"U1", false}} {
		t.Run(tc.user, func(t *testing.T) {
			w := e.command(tc.user, "admin", "trig-"+tc.user)
			body := w.Body.String()
			if w.Code != 200 {
				t.Fatalf("status %d %s", w.Code, body)
			}
			refused := strings.Contains(body, e.bot.Text("en", "ErrAdminOnly"))
			if refused == tc.admin {
				t.Errorf("admin view for %s: refused = %v, want %v: %s", tc.user, refused, !tc.admin, body)
			}
		})
	}
}
