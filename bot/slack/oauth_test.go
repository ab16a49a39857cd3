package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

const (
	testClientID     = "1234.5678"
	testClientSecret = "client-secret-value"
)

var testSecretKey = bytes.Repeat([]byte{9}, 32)

// withOAuth configures the install flow and no SLACK_BOT_TOKEN.
func withOAuth(c *Config) {
	c.BotToken, c.ClientID, c.ClientSecret, c.SecretKey = "", testClientID, testClientSecret, testSecretKey
	c.PublicURL = "https://bot.example"
}

// browser is a browser's cookie jar, as far as the install flow sets it.
type browser struct{ cookies []*http.Cookie }

func (b *browser) do(e *env, target, lang string) *httptest.ResponseRecorder {
	e.t.Helper()
	mux := http.NewServeMux()
	for pattern, h := range e.a.Pages() {
		mux.Handle(pattern, h)
	}
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Accept-Language", lang)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		b.cookies = []*http.Cookie{c}
		if c.MaxAge < 0 {
			b.cookies = nil
		}
	}
	return w
}

var hrefRe = regexp.MustCompile(`href="([^"]+)"`)

// installPage opens the install page and returns the authorize link's
// parameters.
func (b *browser) installPage(e *env, lang string) (*httptest.ResponseRecorder, url.Values) {
	e.t.Helper()
	w := b.do(e, InstallPath, lang)
	if w.Code != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", InstallPath, w.Code, w.Body)
	}
	m := hrefRe.FindStringSubmatch(w.Body.String())
	if m == nil {
		e.t.Fatalf("install page has no link:\n%s", w.Body)
	}
	u, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || u.Scheme+"://"+u.Host+u.Path != authorizeURL {
		e.t.Fatalf("install link %q, want one to %s", m[1], authorizeURL)
	}
	return w, u.Query()
}

// callback comes back from Slack with the query q.
func (b *browser) callback(e *env, q url.Values) *httptest.ResponseRecorder {
	return b.do(e, CallbackPath+"?"+q.Encode(), "en")
}

// oauthAnswer is what oauth.v2.access answers for an install in a
// workspace.
func oauthAnswer(team, token, installer string) map[string]any {
	return map[string]any{"ok": true, "access_token": token, "token_type": "bot", "scope": "commands,chat:write",
		"bot_user_id": "UB" + team, "app_id": "A0APP", "team": map[string]any{"id": team, "name": "Team " + team},
		"enterprise": nil, "is_enterprise_install": false, "authed_user": map[string]any{"id": installer}}
}

// install runs the install flow for a workspace end to end.
func (e *env) install(answer map[string]any) {
	e.t.Helper()
	b := &browser{}
	_, q := b.installPage(e, "en")
	code := "code-" + store.NewID()
	e.slack.oauth[code] = answer
	w := b.callback(e, url.Values{"code": {code}, "state": {q.Get("state")}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "is now installed") {
		e.t.Fatalf("callback: %d\n%s", w.Code, w.Body)
	}
}

func (e *env) credentialKeys() []string {
	e.t.Helper()
	keys, err := e.st.Client().Keys(context.Background(), "bb:*:credential:*").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// TestInstall: the install page, its state, the callback, oauth.v2.access,
// and the token stored encrypted; then the workspace is served with it.
func TestInstall(t *testing.T) {
	e := newEnv(t, withOAuth)
	b := &browser{}
	page, q := b.installPage(e, "de-DE,de;q=0.9")
	if body := page.Body.String(); !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "Zu Slack hinzufügen") {
		t.Errorf("install page for a German browser:\n%s", body)
	}
	if len(b.cookies) != 1 || !b.cookies[0].HttpOnly || !b.cookies[0].Secure || b.cookies[0].SameSite != http.SameSiteLaxMode {
		t.Errorf("install cookie %+v, want one, HttpOnly, Secure, SameSite=Lax", b.cookies)
	}
	if got := page.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
	if q.Get("client_id") != testClientID || q.Get("redirect_uri") != "https://bot.example/slack/oauth/callback" ||
		!strings.Contains(q.Get("scope"), "commands") || !strings.Contains(q.Get("scope"), "users:read") || q.Get("state") == "" {
		t.Errorf("authorize link parameters %v", q)
	}
	// An English browser gets English.
	if en, _ := (&browser{}).installPage(e, "en-US"); !strings.Contains(en.Body.String(), "Add to Slack") {
		t.Errorf("install page for an English browser:\n%s", en.Body)
	}

	const token = "xoxb-T1-secret-token-value"
	e.slack.oauth["the-code"] = oauthAnswer(testTeam, token, "U4")
	w := b.callback(e, url.Values{"code": {"the-code"}, "state": {q.Get("state")}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "billingbot is now installed in Team T1") {
		t.Fatalf("callback: %d\n%s", w.Code, w.Body)
	}
	if b.cookies != nil {
		t.Errorf("the install cookie stays after the install: %+v", b.cookies)
	}
	c := e.slack.waitFor("oauth.v2.access")
	if c.Form.Get("code") != "the-code" || c.Form.Get("client_id") != testClientID || c.Form.Get("client_secret") != testClientSecret ||
		c.Form.Get("redirect_uri") != "https://bot.example/slack/oauth/callback" {
		t.Errorf("oauth.v2.access got %v", c.Form)
	}
	ctx := context.Background()
	raw, err := e.st.Client().Get(ctx, "bb:{slack-T1}:credential:slack").Result()
	if err != nil {
		t.Fatalf("no installation record: %v", err)
	}
	if strings.Contains(raw, token) || strings.Contains(raw, "secret-token") {
		t.Errorf("the record holds the token in clear: %s", raw)
	}
	creds, _ := e.st.Credentials("slack", testSecretKey)
	secret, attrs, ok, err := creds.Get(ctx, testOrg)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	want := map[string]string{attrTeam: "T1", attrEnterprise: "", attrBotUser: "UBT1", attrScopes: "commands,chat:write",
		attrInstaller: "U4", attrOrgWide: "false"}
	if secret != token || !equalMaps(attrs, want) {
		t.Errorf("installation %v, want the token and %v", attrs, want)
	}
	if logs := e.logs.String(); strings.Contains(logs, token) || strings.Contains(logs, testClientSecret) {
		t.Errorf("the logs hold a secret:\n%s", logs)
	}

	// The workspace is served with its token.
	if w := e.command("U1", "help", "trig-1"); w.Code != http.StatusOK {
		t.Fatalf("command: %d %s", w.Code, w.Body)
	}
	if c := e.slack.waitFor("users.info"); c.Auth != "Bearer "+token {
		t.Errorf("users.info with %q, want the workspace's token", c.Auth)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestInstallRefused: each way a callback can be wrong gets a clear page,
// and nothing is stored.
func TestInstallRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(e *env) *httptest.ResponseRecorder
		status int
		want   string
		tokens int // oauth.v2.access calls
	}{
		{"replayed state", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			_, q := b.installPage(e, "en")
			e.slack.oauth["c1"] = map[string]any{"ok": false, "error": "invalid_code"}
			first := b.callback(e, url.Values{"code": {"c1"}, "state": {q.Get("state")}})
			if first.Code != http.StatusBadGateway {
				e.t.Errorf("first use: %d, want 502 (the code was refused)", first.Code)
			}
			e.slack.oauth["c2"] = oauthAnswer(testTeam, "xoxb-replayed", "U1")
			return b.callback(e, url.Values{"code": {"c2"}, "state": {q.Get("state")}})
		}, http.StatusBadRequest, "already used", 1},
		{"forged state", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			_, q := b.installPage(e, "en")
			state := q.Get("state")
			exp, rest, _ := strings.Cut(state, ".")
			forged := exp + "9" + "." + rest // a later expiry under the old signature
			e.slack.oauth["c1"] = oauthAnswer(testTeam, "xoxb-forged", "U1")
			return b.callback(e, url.Values{"code": {"c1"}, "state": {forged}})
		}, http.StatusBadRequest, "expired", 0},
		{"made-up state", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			b.installPage(e, "en")
			e.slack.oauth["c1"] = oauthAnswer(testTeam, "xoxb-forged", "U1")
			return b.callback(e, url.Values{"code": {"c1"}, "state": {"1999999999.abc.def"}})
		}, http.StatusBadRequest, "expired", 0},
		{"expired state", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			_, q := b.installPage(e, "en")
			e.a.cfg.Now = func() time.Time { return t0.Add(stateTTL) }
			e.slack.oauth["c1"] = oauthAnswer(testTeam, "xoxb-late", "U1")
			return b.callback(e, url.Values{"code": {"c1"}, "state": {q.Get("state")}})
		}, http.StatusBadRequest, "expired", 0},
		{"state from another browser", func(e *env) *httptest.ResponseRecorder {
			victim, attacker := &browser{}, &browser{}
			_, q := attacker.installPage(e, "en")
			victim.installPage(e, "en")
			e.slack.oauth["c1"] = oauthAnswer(testTeam, "xoxb-attacker", "U1")
			return victim.callback(e, url.Values{"code": {"c1"}, "state": {q.Get("state")}})
		}, http.StatusBadRequest, "another browser", 0},
		{"no cookie", func(e *env) *httptest.ResponseRecorder {
			_, q := (&browser{}).installPage(e, "en")
			e.slack.oauth["c1"] = oauthAnswer(testTeam, "xoxb-nocookie", "U1")
			return (&browser{}).callback(e, url.Values{"code": {"c1"}, "state": {q.Get("state")}})
		}, http.StatusBadRequest, "another browser", 0},
		{"access denied in Slack", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			_, q := b.installPage(e, "en")
			return b.callback(e, url.Values{"error": {"access_denied"}, "state": {q.Get("state")}})
		}, http.StatusOK, "cancelled in Slack", 0},
		{"oauth.v2.access refuses the code", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			_, q := b.installPage(e, "en")
			return b.callback(e, url.Values{"code": {"unknown"}, "state": {q.Get("state")}})
		}, http.StatusBadGateway, "Slack did not complete the installation", 1},
		{"no code", func(e *env) *httptest.ResponseRecorder {
			b := &browser{}
			_, q := b.installPage(e, "en")
			return b.callback(e, url.Values{"state": {q.Get("state")}})
		}, http.StatusBadRequest, "start again", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withOAuth)
			w := tc.run(e)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("callback: %d, want %d with %q:\n%s", w.Code, tc.status, tc.want, w.Body)
			}
			if !strings.Contains(w.Body.String(), `href="/slack/install"`) {
				t.Errorf("the page offers no way to start again:\n%s", w.Body)
			}
			if keys := e.credentialKeys(); len(keys) != 0 {
				t.Errorf("stored %v", keys)
			}
			if n := e.slack.count("oauth.v2.access"); n != tc.tokens {
				t.Errorf("%d oauth.v2.access calls, want %d", n, tc.tokens)
			}
		})
	}
}

// TestTwoWorkspaces: one deployment serves two installed workspaces, each
// with its own token, in answers and in admin notifications; a workspace
// that has not installed the app gets a clear answer and no call.
func TestTwoWorkspaces(t *testing.T) {
	e := newEnv(t, withOAuth, func(c *Config) { c.AdminChannel = "C555" })
	e.slack.addUser("U5", "Erin", "de-DE", map[string]any{"team_id": "T2"})
	tokens := map[string]string{"T1": "xoxb-one-1111", "T2": "xoxb-two-2222"}
	e.install(oauthAnswer("T1", tokens["T1"], "U4"))
	e.install(oauthAnswer("T2", tokens["T2"], "U5"))
	ctx := context.Background()

	// calls returns the calls since the last, without oauth.v2.access.
	seen := len(e.slack.methods())
	calls := func() []apiCall {
		e.a.Wait()
		e.slack.mu.Lock()
		defer e.slack.mu.Unlock()
		out := append([]apiCall(nil), e.slack.calls[seen:]...)
		seen = len(e.slack.calls)
		return out
	}
	only := func(step, team string, cs []apiCall) {
		t.Helper()
		if len(cs) == 0 {
			t.Errorf("%s: no Web API call", step)
		}
		for _, c := range cs {
			if c.Method != "hook" && c.Auth != "Bearer "+tokens[team] {
				t.Errorf("%s: %s with %q, want %s's token", step, c.Method, c.Auth, team)
			}
		}
	}
	for i, u := range []struct{ team, user string }{{"T1", "U1"}, {"T2", "U5"}, {"T1", "U2"}, {"T2", "U5"}} {
		v := url.Values{"command": {"/billing"}, "text": {"buy"}, "team_id": {u.team}, "user_id": {u.user},
			"channel_id": {"C100"}, "trigger_id": {"trig-" + u.user + strconvI(int64(i))}, "response_url": {e.slack.srv.URL + "/hook/x"}}
		if w := e.post(formType, v.Encode()); w.Code != http.StatusOK {
			t.Fatalf("command from %s: %d %s", u.team, w.Code, w.Body)
		}
		only("buy from "+u.team, u.team, calls())
	}
	for _, team := range []string{"T1", "T2"} {
		body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": team, "event_id": "Ev" + team,
			"event": map[string]any{"type": "app_home_opened", "user": map[string]string{"T1": "U1", "T2": "U5"}[team], "tab": "home"}})
		e.post("application/json", string(body))
		only("App Home of "+team, team, calls())
	}
	note := commands.Notification{Kind: commands.NotePurchase, Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Alice",
		Licenses: 5, Price: 1260, Currency: "EUR", Period: "monthly", Expires: t0.AddDate(0, 1, 0)}}
	for _, team := range []string{"T2", "T1"} {
		n := note
		n.Org, n.Key = orgPrefix+team, "k-"+team
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatalf("notify %s: %v", team, err)
		}
		only("admin notification of "+team, team, calls())
		n.Key, n.To = "k-dm-"+team, map[string]string{"T1": "U1", "T2": "U5"}[team]
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatalf("notify a user of %s: %v", team, err)
		}
		only("notification to a user of "+team, team, calls())
	}

	// A workspace that has not installed the app.
	v := url.Values{"command": {"/billing"}, "text": {"help"}, "team_id": {"T3"}, "user_id": {"U9"}, "channel_id": {"C1"},
		"trigger_id": {"trig-T3"}, "response_url": {e.slack.srv.URL + "/hook/t3"}}
	w := e.post(formType, v.Encode())
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "not installed in this workspace") ||
		!strings.Contains(w.Body.String(), "nicht (mehr) installiert") || !strings.Contains(w.Body.String(), "https://bot.example/slack/install") {
		t.Errorf("command from a workspace without the app: %d %s", w.Code, w.Body)
	}
	if cs := calls(); len(cs) != 0 {
		t.Errorf("calls for a workspace without the app: %v", cs)
	}
	if !strings.Contains(e.logs.String(), "has not installed the app") || !strings.Contains(e.logs.String(), "team=T3") {
		t.Error("no log line names the workspace without the app")
	}
	n := note
	n.Org, n.Key = "slack-T3", "k-T3"
	if err := e.a.Notify(ctx, n); !errors.Is(err, commands.ErrPermanent) {
		t.Errorf("notify a workspace without the app: %v, want a permanent failure", err)
	}
	if cs := calls(); len(cs) != 0 {
		t.Errorf("calls for a notification of a workspace without the app: %v", cs)
	}
	for _, tok := range tokens {
		if strings.Contains(e.logs.String(), tok) {
			t.Errorf("the logs hold a token")
		}
	}
}

// TestUninstall: app_uninstalled and tokens_revoked (of a bot token)
// delete the workspace's token, once; its billing data stays.
func TestUninstall(t *testing.T) {
	event := func(team, typ string, ev map[string]any) string {
		ev["type"] = typ
		body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": team, "event_id": "Ev-" + typ,
			"authorizations": []any{map[string]any{"team_id": team, "is_enterprise_install": false}}, "event": ev})
		return string(body)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		body   string
		delete bool
	}{
		{"app_uninstalled", event("T1", "app_uninstalled", map[string]any{}), true},
		{"tokens_revoked of the bot", event("T1", "tokens_revoked", map[string]any{"tokens": map[string]any{"bot": []string{"UBT1"}}}), true},
		{"tokens_revoked of users only", event("T1", "tokens_revoked", map[string]any{"tokens": map[string]any{"oauth": []string{"U1"}}}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withOAuth)
			e.install(oauthAnswer("T1", "xoxb-one-1111", "U4"))
			if err := e.st.SetAdminChannel(ctx, testOrg, "U4", "C777"); err != nil {
				t.Fatal(err)
			}
			e.command("U1", "help", "trig-1") // the client is now kept in memory
			e.slack.waitFor("users.info")
			for i := 0; i < 2; i++ { // Slack retries events: a repeat changes nothing
				if w := e.post("application/json", tc.body); w.Code != http.StatusOK {
					t.Fatalf("event: %d %s", w.Code, w.Body)
				}
			}
			installed := len(e.credentialKeys()) == 1
			if installed == tc.delete {
				t.Fatalf("after %s: installed %v, want %v", tc.name, installed, !tc.delete)
			}
			s, err := e.st.Settings(ctx, testOrg)
			if err != nil || s.AdminChannel != "C777" {
				t.Errorf("settings after the uninstall: %+v, %v; want them kept", s, err)
			}
			audit, _ := e.st.Client().XLen(ctx, "bb:{slack-T1}:audit").Result()
			if want := map[bool]int64{true: 3, false: 2}[tc.delete]; audit != want { // install, admin channel, uninstall
				t.Errorf("%d audit entries, want %d", audit, want)
			}
			if !tc.delete {
				return
			}
			before := e.slack.count("users.info")
			w := e.command("U1", "help", "trig-2")
			if !strings.Contains(w.Body.String(), "not installed") {
				t.Errorf("a command after the uninstall: %s", w.Body)
			}
			e.a.Wait()
			if n := e.slack.count("users.info"); n != before {
				t.Errorf("users.info called with the deleted token")
			}
			// Installed again: served again, with the new token.
			e.install(oauthAnswer("T1", "xoxb-one-again", "U4"))
			e.command("U2", "help", "trig-3")
			if c := e.slack.waitFor("users.info"); c.Auth != "Bearer xoxb-one-again" {
				t.Errorf("after installing again: %q", c.Auth)
			}
		})
	}
}

// TestUninstalledElsewhere: another replica handled the uninstall; this
// one's kept client meets a revoked token, forgets it and reads the
// installation again.
func TestUninstalledElsewhere(t *testing.T) {
	e := newEnv(t, withOAuth)
	e.install(oauthAnswer("T1", "xoxb-one-1111", "U4"))
	e.command("U1", "help", "trig-1")
	e.slack.waitFor("users.info")
	e.a.Wait()
	creds, _ := e.st.Credentials("slack", testSecretKey)
	if _, err := creds.Delete(context.Background(), testOrg, "slack"); err != nil {
		t.Fatal(err)
	}
	e.slack.failing["users.info"] = "token_revoked"
	e.command("U2", "help", "trig-2")
	e.a.Wait()
	delete(e.slack.failing, "users.info")
	if w := e.command("U2", "help", "trig-3"); !strings.Contains(w.Body.String(), "not installed") {
		t.Errorf("after a revoked token: %s, want the workspace known as not installed", w.Body)
	}
}

// TestEnterpriseInstall: an org-wide install of an Enterprise Grid serves
// its workspaces with the enterprise's token: one organization per
// workspace by default, one per enterprise with EnterpriseOrg.
func TestEnterpriseInstall(t *testing.T) {
	answer := map[string]any{"ok": true, "access_token": "xoxb-grid-9999", "token_type": "bot", "scope": "commands",
		"bot_user_id": "UBOTE", "app_id": "A0APP", "team": nil, "enterprise": map[string]any{"id": "E1", "name": "Grid Inc"},
		"is_enterprise_install": true, "authed_user": map[string]any{"id": "U4"}}
	command := func(e *env, team, user string) {
		v := url.Values{"command": {"/billing"}, "text": {"help"}, "team_id": {team}, "user_id": {user}, "channel_id": {"C100"},
			"enterprise_id": {"E1"}, "is_enterprise_install": {"true"}, "trigger_id": {"trig-" + team},
			"response_url": {e.slack.srv.URL + "/hook/" + team}}
		if w := e.post(formType, v.Encode()); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "not installed") {
			t.Fatalf("command from %s: %d %s", team, w.Code, w.Body)
		}
		if c := e.slack.waitFor("users.info"); c.Auth != "Bearer xoxb-grid-9999" {
			t.Errorf("users.info for %s with %q, want the enterprise's token", team, c.Auth)
		}
		e.a.Wait()
	}
	ctx := context.Background()
	t.Run("an organization per workspace", func(t *testing.T) {
		e := newEnv(t, withOAuth, func(c *Config) { c.AdminChannel = "C555" })
		e.install(answer)
		if keys := e.credentialKeys(); len(keys) != 1 || keys[0] != "bb:{slack-E1}:credential:slack" {
			t.Fatalf("records %v, want the enterprise's", keys)
		}
		command(e, "T1", "U1")
		if n, _ := e.st.Client().Exists(ctx, "bb:{slack-T1}:cache:user:U1").Result(); n != 1 {
			t.Error("the workspace's user is not kept in the workspace's organization")
		}
		// A notification knows only the workspace's organization: it
		// finds the enterprise's token.
		n := commands.Notification{Org: testOrg, Key: "k1", Kind: commands.NotePurchase,
			Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Alice", Licenses: 1, Price: 1260, Currency: "EUR", Period: "monthly"}}
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatal(err)
		}
		if c := e.slack.waitFor("chat.postMessage"); c.Auth != "Bearer xoxb-grid-9999" {
			t.Errorf("notification with %q, want the enterprise's token", c.Auth)
		}
		// Without an admin channel, the workspace's admins are found in
		// the workspace (users.list with its team_id) and told.
		e.a.cfg.AdminChannel = ""
		e.slack.addUser("U9", "Admin Nine", "en-US", map[string]any{"is_admin": true})
		n.Key = "k2"
		if err := e.a.Notify(ctx, n); err != nil {
			t.Fatalf("notification to the admins: %v", err)
		}
		if c := e.slack.waitFor("users.list"); c.Form.Get("team_id") != "T1" {
			t.Errorf("users.list with team_id %q, want T1", c.Form.Get("team_id"))
		}
		opened := map[string]bool{}
		for range e.slack.count("conversations.open") {
			opened[e.slack.waitFor("conversations.open").Form.Get("users")] = true
		}
		if !opened["U9"] {
			t.Errorf("direct messages opened to %v, want one to the workspace's admin U9", opened)
		}
		// Uninstalled org-wide: its workspaces are not served any more.
		body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": "T1", "enterprise_id": "E1",
			"authorizations": []any{map[string]any{"enterprise_id": "E1", "team_id": "T1", "is_enterprise_install": true}},
			"event":          map[string]any{"type": "app_uninstalled"}})
		e.post("application/json", string(body))
		if _, err := e.a.client(ctx, testOrg); !errors.Is(err, errNotInstalled) {
			t.Errorf("after the org-wide uninstall: %v, want not installed", err)
		}
	})
	t.Run("an organization per enterprise", func(t *testing.T) {
		e := newEnv(t, withOAuth, func(c *Config) { c.EnterpriseOrg = true })
		e.install(answer)
		command(e, "T1", "U1")
		if n, _ := e.st.Client().Exists(ctx, "bb:{slack-E1}:cache:user:U1").Result(); n != 1 {
			t.Error("the user is not kept in the enterprise's organization")
		}
		if keys := e.credentialKeys(); len(keys) != 1 {
			t.Errorf("records %v, want only the enterprise's", keys)
		}
	})
}

// TestBothModes: SLACK_BOT_TOKEN alone serves any workspace with its token
// and has no install pages; with OAuth too, installed workspaces use their
// own token and the others SLACK_BOT_TOKEN.
func TestBothModes(t *testing.T) {
	e := newEnv(t)
	if p := e.a.Pages(); p != nil {
		t.Errorf("install pages without OAuth: %v", p)
	}
	e.command("U1", "help", "trig-1")
	if c := e.slack.waitFor("users.info"); c.Auth != "Bearer xoxb-test" {
		t.Errorf("single-workspace mode: %q", c.Auth)
	}
	e = newEnv(t, withOAuth, func(c *Config) { c.BotToken = "xoxb-test" })
	e.install(oauthAnswer("T2", "xoxb-two-2222", "U4"))
	e.command("U1", "help", "trig-1")
	if c := e.slack.waitFor("users.info"); c.Auth != "Bearer xoxb-test" {
		t.Errorf("a workspace that did not install: %q, want SLACK_BOT_TOKEN", c.Auth)
	}
	v := url.Values{"command": {"/billing"}, "text": {"help"}, "team_id": {"T2"}, "user_id": {"U5"}, "channel_id": {"C1"},
		"trigger_id": {"trig-T2"}, "response_url": {e.slack.srv.URL + "/hook/t2"}}
	e.post(formType, v.Encode())
	if c := e.slack.waitFor("users.info"); c.Auth != "Bearer xoxb-two-2222" {
		t.Errorf("an installed workspace: %q, want its own token", c.Auth)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.BotToken = "" },
		func(c *Config) { withOAuth(c); c.ClientSecret = "" },
		func(c *Config) { withOAuth(c); c.SecretKey = nil },
	} {
		cfg := Config{SigningSecret: testSecret, BotToken: "xoxb-test"}
		bad(&cfg)
		if cfg.ClientID != "" {
			cfg.Installations, _ = e.st.Credentials("slack", testSecretKey)
		}
		if _, err := New(cfg, e.bot, e.st); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

// TestClientsBound: the clients kept in memory are bounded, least
// recently used first out, and expire.
func TestClientsBound(t *testing.T) {
	now := t0
	c := newClients(2, time.Minute, func() time.Time { return now })
	c.put("slack-A", "slack-A", nil)
	c.put("slack-B", "slack-B", nil)
	c.get("slack-A")
	c.put("slack-C", "slack-E", nil)
	if _, ok := c.get("slack-B"); ok || c.len() != 2 {
		t.Errorf("after a third: B kept %v, %d kept; want B out, 2", ok, c.len())
	}
	c.drop("slack-E")
	if _, ok := c.get("slack-C"); ok {
		t.Error("C kept after its source was dropped")
	}
	now = now.Add(time.Minute)
	if _, ok := c.get("slack-A"); ok {
		t.Error("A kept after its time")
	}
}
