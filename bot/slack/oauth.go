package slack

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/bot/internal/weblang"
	"github.com/billingbot/billingbot/commands"
)

// The install flow (OAuth v2 for distributed apps): GET InstallPath shows
// an "Add to Slack" page whose link carries a state; Slack sends the
// installer back to CallbackPath with a code (or an error) and the state;
// the code is exchanged with oauth.v2.access for the workspace's bot token.
const (
	InstallPath  = "/slack/install"
	CallbackPath = "/slack/oauth/callback"
)

// authorizeURL is Slack's page where an admin approves an install.
const authorizeURL = "https://slack.com/oauth/v2/authorize"

// stateTTL is how long an install page's state is good for.
const stateTTL = 10 * time.Minute

// installCookie binds a state to the browser that was shown it: the state's
// signature covers the cookie's value, so a state taken to another browser
// (or sent to a victim) is refused.
const installCookie = "billingbot_slack_install"

// deriveKey derives a key for one purpose from the deployment's secret key.
func deriveKey(secret []byte, label string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Pages returns the install flow's pages by pattern, for the HTTP server;
// nil without OAuth.
func (a *Adapter) Pages() map[string]http.Handler {
	if a.cfg.Installations == nil {
		return nil
	}
	return map[string]http.Handler{
		"GET " + InstallPath:  http.HandlerFunc(a.installPage),
		"GET " + CallbackPath: http.HandlerFunc(a.callback),
	}
}

func (a *Adapter) redirectURL() string { return strings.TrimRight(a.cfg.PublicURL, "/") + CallbackPath }

// installURL is where admins install the app.
func (a *Adapter) installURL() string { return strings.TrimRight(a.cfg.PublicURL, "/") + InstallPath }

// newState signs a state for the browser whose cookie is cookie, good
// until exp: "<exp>.<nonce>.<mac>".
func (a *Adapter) newState(cookie string, exp time.Time) string {
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce) // never fails (crypto/rand)
	body := strconv.FormatInt(exp.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(nonce)
	return body + "." + a.stateMAC(body, cookie)
}

func (a *Adapter) stateMAC(body, cookie string) string {
	m := hmac.New(sha256.New, a.stateKey)
	m.Write([]byte(body + "\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var (
	errStateForged  = errors.New("state: bad signature, or another browser's")
	errStateExpired = errors.New("state: expired")
	errStateUsed    = errors.New("state: used before")
)

// checkState verifies a state against the browser's cookie and its
// expiry, and uses it up.
func (a *Adapter) checkState(ctx context.Context, state, cookie string) error {
	body, mac, ok := cutLast(state, ".")
	if !ok || cookie == "" || !hmac.Equal([]byte(mac), []byte(a.stateMAC(body, cookie))) {
		return errStateForged
	}
	expS, _, _ := strings.Cut(body, ".")
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil {
		return errStateForged
	}
	if !a.cfg.Now().Before(time.Unix(exp, 0)) {
		return errStateExpired
	}
	first, err := a.st.UseOnce(ctx, "slack-oauth-state", body, stateTTL+time.Minute)
	if err != nil {
		return err
	}
	if !first {
		return errStateUsed
	}
	return nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// installPage answers GET /slack/install: the "Add to Slack" page, with a
// fresh state bound to the browser's cookie (set here when it has none).
func (a *Adapter) installPage(w http.ResponseWriter, r *http.Request) {
	lang := weblang.FromRequest(r)
	cookie := ""
	if c, err := r.Cookie(installCookie); err == nil && len(c.Value) == 43 { // 32 bytes, base64url
		cookie = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		cookie = base64.RawURLEncoding.EncodeToString(b)
	}
	http.SetCookie(w, &http.Cookie{Name: installCookie, Value: cookie, Path: "/slack/", MaxAge: int(stateTTL.Seconds()),
		HttpOnly: true, Secure: strings.HasPrefix(a.cfg.PublicURL, "https://"), SameSite: http.SameSiteLaxMode})
	q := url.Values{
		"client_id":    {a.cfg.ClientID},
		"scope":        {strings.Join(botScopeNames(), ",")},
		"redirect_uri": {a.redirectURL()},
		"state":        {a.newState(cookie, a.cfg.Now().Add(stateTTL))},
	}
	t := func(id string) string { return a.bot.Text(lang, id) }
	a.page(w, http.StatusOK, installView{Lang: lang, Title: t("SlackInstallTitle"), Text: t("SlackInstallIntro"),
		Link: authorizeURL + "?" + q.Encode(), LinkText: t("SlackInstallButton")})
}

// callback answers GET /slack/oauth/callback: Slack's answer to the
// install, checked against its state, then the code exchanged for the
// workspace's bot token, which is stored encrypted.
func (a *Adapter) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	lang := weblang.FromRequest(r)
	t := func(id string, kv ...any) string { return a.bot.Text(lang, id, kv...) }
	q := r.URL.Query()
	failed := func(status int, text string) {
		a.page(w, status, installView{Lang: lang, Title: t("SlackInstallFailedTitle"), Text: text,
			Link: InstallPath, LinkText: t("SlackInstallAgain")})
	}
	if e := q.Get("error"); e != "" {
		a.log.Info("slack install refused", "error", clip(e, 64))
		failed(http.StatusOK, t("SlackInstallDenied"))
		return
	}
	cookie := ""
	if c, err := r.Cookie(installCookie); err == nil {
		cookie = c.Value
	}
	if err := a.checkState(ctx, q.Get("state"), cookie); err != nil {
		if errors.Is(err, errStateForged) || errors.Is(err, errStateExpired) || errors.Is(err, errStateUsed) {
			a.log.Warn("slack install: refused state", "err", err, "remote", r.RemoteAddr)
			failed(http.StatusBadRequest, t("SlackInstallBadState"))
			return
		}
		a.log.Error("slack install: state", "err", err)
		failed(http.StatusServiceUnavailable, t("SlackInstallUnavailable"))
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 512 {
		failed(http.StatusBadRequest, t("SlackInstallBadState"))
		return
	}
	var opts []slackapi.OAuthOption
	if u := a.cfg.apiURL(); u != "" {
		opts = append(opts, slackapi.OAuthOptionAPIURL(u))
	}
	resp, err := slackapi.GetOAuthV2ResponseContext(ctx, a.http, a.cfg.ClientID, a.cfg.ClientSecret, code, a.redirectURL(), opts...)
	if err != nil || resp.AccessToken == "" {
		a.log.Warn("slack install: oauth.v2.access", "err", err)
		failed(http.StatusBadGateway, t("SlackInstallError"))
		return
	}
	org, name := orgPrefix+resp.Team.ID, resp.Team.Name
	if resp.IsEnterpriseInstall {
		org, name = orgPrefix+resp.Enterprise.ID, resp.Enterprise.Name
	}
	installer := resp.AuthedUser.ID
	if !commands.ValidID(org[len(orgPrefix):]) || !commands.ValidID(installer) || resp.Team.ID != "" && !commands.ValidID(resp.Team.ID) {
		a.log.Warn("slack install: oauth.v2.access named no valid workspace or installer", "team", clip(resp.Team.ID, 64),
			"enterprise", clip(resp.Enterprise.ID, 64))
		failed(http.StatusBadGateway, t("SlackInstallError"))
		return
	}
	attrs := map[string]string{
		attrTeam: resp.Team.ID, attrEnterprise: resp.Enterprise.ID, attrBotUser: resp.BotUserID,
		attrScopes: resp.Scope, attrInstaller: installer, attrOrgWide: strconv.FormatBool(resp.IsEnterpriseInstall),
	}
	if err := a.cfg.Installations.Put(ctx, org, installer, resp.AccessToken, attrs); err != nil {
		a.log.Error("slack install: save", "org", org, "err", err)
		failed(http.StatusServiceUnavailable, t("SlackInstallUnavailable"))
		return
	}
	a.clients.drop(org)
	a.log.Info("slack app installed", "org", org, "installer", installer, "org_wide", resp.IsEnterpriseInstall, "scopes", resp.Scope)
	http.SetCookie(w, &http.Cookie{Name: installCookie, Path: "/slack/", MaxAge: -1, HttpOnly: true,
		Secure: strings.HasPrefix(a.cfg.PublicURL, "https://"), SameSite: http.SameSiteLaxMode})
	open := "https://slack.com/app_redirect?" + url.Values{"app": {resp.AppID}, "team": {resp.Team.ID}}.Encode()
	if resp.IsEnterpriseInstall || resp.AppID == "" {
		open = "https://slack.com/"
	}
	a.page(w, http.StatusOK, installView{Lang: lang, Title: t("SlackInstalledTitle"), Text: t("SlackInstalled", "Team", name),
		Link: open, LinkText: t("SlackInstallOpenSlack")})
}

// apiURL is SLACK_API_URL with its trailing slash, or "" for Slack's.
func (c Config) apiURL() string {
	u := c.APIURL
	if u != "" && !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// uninstalled deletes a workspace's (or an enterprise's) token after
// app_uninstalled or tokens_revoked; its billing data stays. A repeat
// changes nothing.
func (a *Adapter) uninstalled(ctx context.Context, org, why string) {
	if a.cfg.Installations == nil {
		a.log.Info("slack app uninstalled; SLACK_BOT_TOKEN serves it until the operator removes it", "org", org, "event", why)
		return
	}
	deleted, err := a.cfg.Installations.Delete(ctx, org, "slack")
	if err != nil {
		a.log.Error("slack uninstall", "org", org, "event", why, "err", err)
		return
	}
	a.clients.drop(org)
	a.log.Info("slack app uninstalled: token deleted", "org", org, "event", why, "deleted", deleted)
}

// installView is what an install page shows.
type installView struct {
	Lang, Title, Text, Link, LinkText string
}

var installTmpl = template.Must(template.New("install").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>
  body { margin: 0; background: #f3f5f7; color: #1f2328; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
  main { max-width: 34rem; margin: 4rem auto; padding: 2rem; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; }
  h1 { font-size: 1.4rem; margin-top: 0; }
  a.button { display: inline-block; padding: .6rem 1.2rem; background: #4a154b; color: #fff; border-radius: 6px; text-decoration: none; font-weight: 600; }
  a.button:focus, a.button:hover { background: #2f0d30; outline: 3px solid #b8a1d9; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
{{- with .Link}}
<p><a class="button" href="{{.}}">{{$.LinkText}}</a></p>
{{- end}}
</main>
</body>
</html>
`))

// page writes an install page, with the headers of billingbot's pages.
func (a *Adapter) page(w http.ResponseWriter, status int, v installView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	if strings.HasPrefix(a.cfg.PublicURL, "https://") {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	w.WriteHeader(status)
	if err := installTmpl.Execute(w, v); err != nil {
		a.log.Warn("install page", "err", err)
	}
}
