package slack

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// hookServer is a server that a response_url may name: it counts what is
// posted to it.
func hookServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// click is a button's block_actions payload in channel C100 with a
// response_url.
func click(user, value, responseURL, trigger string) map[string]any {
	return map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": user, "team_id": testTeam}, "trigger_id": trigger, "response_url": responseURL,
		"channel":   map[string]any{"id": "C100"},
		"container": map[string]any{"type": "message", "channel_id": "C100"},
		"actions":   []any{map[string]any{"type": "button", "action_id": "btn-0-0", "value": value, "action_ts": "1.2"}}}
}

// TestResponseURLHosts: an answer goes to a response_url only on Slack's
// hooks host (https), or a host the deployment allows (the test fake's,
// from SLACK_API_URL, or Config.ResponseURLHosts). Another one, loopback
// included, is not posted to: that is logged without the URL's path, and
// the answer comes ephemeral in the channel instead.
func TestResponseURLHosts(t *testing.T) {
	evil, hits := hookServer(t)
	e := newEnv(t)
	const secret = "T1/B0SECRET/tokentokentoken"
	e.interact(click("U1", "catalog", evil.URL+"/"+secret, "trig-evil"))
	eph := e.slack.waitFor("chat.postEphemeral")
	if eph.Form.Get("channel") != "C100" || eph.Form.Get("user") != "U1" || !strings.Contains(eph.Form.Get("blocks"), "Visio Plan 2") {
		t.Errorf("ephemeral answer %v, want the catalog to U1 in C100", eph.Form)
	}
	e.a.Wait()
	if n := hits.Load(); n != 0 {
		t.Errorf("a response_url on a host not allowed got %d posts", n)
	}
	logs := e.logs.String()
	if host := strings.TrimPrefix(evil.URL, "http://"); !strings.Contains(logs, "response_url refused") || !strings.Contains(logs, host) {
		t.Errorf("the refusal is not logged with the host %s:\n%s", host, logs)
	}
	if strings.Contains(logs, "SECRET") || strings.Contains(logs, "tokentoken") {
		t.Errorf("the response_url's path is logged:\n%s", logs)
	}

	// The fake Slack's host is allowed: SLACK_API_URL names it.
	e.interact(click("U1", "catalog", e.slack.srv.URL+"/hook/ok", "trig-ok"))
	if c := e.slack.waitFor("hook"); !strings.Contains(c.Body, "Visio Plan 2") {
		t.Errorf("answer on the allowed host: %s", c.Body)
	}

	// A host the deployment allows.
	allowed, allowedHits := hookServer(t)
	u, _ := url.Parse(allowed.URL)
	e2 := newEnv(t, func(c *Config) { c.ResponseURLHosts = []string{u.Host} })
	e2.interact(click("U1", "catalog", allowed.URL+"/hook", "trig-allowed"))
	e2.a.Wait()
	if allowedHits.Load() != 1 || e2.slack.count("chat.postEphemeral") != 0 {
		t.Errorf("%d posts to the allowed host, %d ephemeral; want 1, 0", allowedHits.Load(), e2.slack.count("chat.postEphemeral"))
	}
}

// TestResponseURLAllowed: which response_urls are posted to.
func TestResponseURLAllowed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.ResponseURLHosts = []string{"hooks.example.com:8443"} })
	fake := strings.TrimPrefix(e.slack.srv.URL, "http://")
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://hooks.slack.com/commands/T1/123/abc", true},
		{"https://HOOKS.slack.com/actions/T1/123/abc", true},
		{"http://hooks.slack.com/commands/T1/123/abc", false},
		{"https://hooks.slack.com.evil.example/commands", false},
		{"https://user@hooks.slack.com/commands/T1/123/abc", false},
		{"https://hooks.slack.com:8443/commands", false},
		{"https://127.0.0.1/commands", false},
		{"http://localhost:6379/", false},
		{"http://" + fake + "/hook/x", true},
		{"https://hooks.example.com:8443/x", true},
		{"https://hooks.example.com/x", false},
		{"ftp://hooks.slack.com/x", false},
		{"https://hooks.slack.com/a b", false},
		{"", false},
	} {
		if got := e.a.responseURLAllowed(tc.url); got != tc.want {
			t.Errorf("responseURLAllowed(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}

// TestForgedMetadata: a modal's private_metadata names where its answer
// goes, never the organization. A submission whose metadata names another
// team acts in the team of the request, and its answer goes to no host
// the metadata names.
func TestForgedMetadata(t *testing.T) {
	evil, hits := hookServer(t)
	e := newEnv(t)
	e.command("U1", "trial", "trig-trial")
	view, _ := openedView(e.slack.waitFor("views.open"))
	p := e.submission("U1", "V-OPENED-1", view, map[string]any{"product": sel("visio-plan-2")})
	p["view"].(map[string]any)["private_metadata"] = `{"c":"","ch":"C100","ru":"` + evil.URL + `/x","team":"T2","org":"slack-T2","team_id":"T2"}`
	if w := e.interact(p); !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("submitted: %d %s", w.Code, w.Body)
	}
	if c := e.slack.waitFor("chat.postEphemeral"); !strings.Contains(c.Form.Get("text")+c.Form.Get("blocks"), "Visio Plan 2") {
		t.Errorf("answer %v, want the trial's", c.Form)
	}
	e.a.Wait()
	keys, err := e.st.Client().Keys(t.Context(), "bb:{slack-T2}*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("keys written for the team the metadata names: %v", keys)
	}
	v, err := e.st.View(t.Context(), testOrg, "U1", storeViewAll)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Subs) != 1 || v.Subs[0].ProductID != "visio-plan-2" {
		t.Errorf("subscriptions of T1: %+v, want the trial of Visio Plan 2", v.Subs)
	}
	if hits.Load() != 0 {
		t.Errorf("the metadata's response_url got %d posts", hits.Load())
	}
}
