package slack

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// Installations keeps the workspaces that installed the app through OAuth,
// by organization id: the bot token (kept secret) and what Slack said about
// the install (attrs*). The store's credentials of the platform are one.
type Installations interface {
	// Get returns the organization's token and attributes, and whether it
	// has an installation.
	Get(ctx context.Context, org string) (token string, attrs map[string]string, ok bool, err error)
	// Put keeps the organization's installation; actor did it.
	Put(ctx context.Context, org, actor, token string, attrs map[string]string) error
	// Delete removes it, and reports whether there was one.
	Delete(ctx context.Context, org, actor string) (bool, error)
}

// The attributes of an installation record.
const (
	attrTeam       = "team"
	attrEnterprise = "enterprise"
	attrBotUser    = "bot_user"
	attrScopes     = "scopes"
	attrInstaller  = "installer"
	attrOrgWide    = "org_wide" // "true": an Enterprise Grid org-wide install
	// attrVia marks a record without a token of its own: a workspace of an
	// enterprise whose org-wide install (the record of orgPrefix + the
	// enterprise id) holds the token. It lets a notification, which knows
	// only the workspace's organization, find that token.
	attrVia = "via_enterprise"
)

// errNotInstalled: the workspace has not installed the app (or removed it).
var errNotInstalled = errors.New("slack: the app is not installed in this workspace")

// clientTTL bounds how long a replica keeps a workspace's client: another
// replica may have handled its uninstall.
const clientTTL = 5 * time.Minute

// maxClients bounds the clients kept in memory; the least recently used
// goes first.
const maxClients = 1024

// clients are the Web API clients of installed workspaces, by organization.
type clients struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	now func() time.Time
	ll  *list.List               // of *clientEntry, most recently used first
	m   map[string]*list.Element // org → element
}

type clientEntry struct {
	org    string
	source string // the organization whose record holds the token
	api    *slackapi.Client
	until  time.Time
}

func newClients(max int, ttl time.Duration, now func() time.Time) *clients {
	return &clients{max: max, ttl: ttl, now: now, ll: list.New(), m: map[string]*list.Element{}}
}

func (c *clients) get(org string) (*slackapi.Client, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[org]
	if !ok {
		return nil, false
	}
	ent := e.Value.(*clientEntry)
	if !c.now().Before(ent.until) {
		c.ll.Remove(e)
		delete(c.m, org)
		return nil, false
	}
	c.ll.MoveToFront(e)
	return ent.api, true
}

func (c *clients) put(org, source string, api *slackapi.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[org]; ok {
		c.ll.Remove(e)
	}
	c.m[org] = c.ll.PushFront(&clientEntry{org: org, source: source, api: api, until: c.now().Add(c.ttl)})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*clientEntry).org)
	}
}

// forget forgets an organization's client.
func (c *clients) forget(org string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[org]; ok {
		c.ll.Remove(e)
		delete(c.m, org)
	}
}

// drop forgets the clients whose token comes from source's record.
func (c *clients) drop(source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for org, e := range c.m {
		if e.Value.(*clientEntry).source == source {
			c.ll.Remove(e)
			delete(c.m, org)
		}
	}
}

func (c *clients) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// client returns the Web API client of an organization's workspace: with
// its own bot token when it installed the app through OAuth, else with
// SLACK_BOT_TOKEN (single-workspace mode). errNotInstalled (permanent for
// the outbox) when there is neither.
func (a *Adapter) client(ctx context.Context, org string) (*slackapi.Client, error) {
	if a.cfg.Installations == nil {
		return a.single, nil
	}
	if api, ok := a.clients.get(org); ok {
		return api, nil
	}
	token, attrs, ok, err := a.cfg.Installations.Get(ctx, org)
	source := org
	if ok && attrs[attrVia] != "" {
		source = orgPrefix + attrs[attrVia]
		token, _, ok, err = a.cfg.Installations.Get(ctx, source)
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("slack: installation of %s: %w", org, err)
	case !ok && a.single != nil:
		return a.single, nil
	case !ok:
		return nil, fmt.Errorf("%w (%s): %w", errNotInstalled, org, commands.ErrPermanent)
	}
	api := slackapi.New(token, a.apiOpts...)
	a.clients.put(org, source, api)
	return api, nil
}

// originClient is client for a request's workspace. A workspace that an
// enterprise's org-wide install serves, and that is an organization of its
// own (SLACK_ENTERPRISE_ORG=workspace), gets a record that points to the
// enterprise's, once, so that its notifications find the token too.
func (a *Adapter) originClient(ctx context.Context, o origin) (*slackapi.Client, error) {
	if a.cfg.Installations != nil && o.orgWide && o.enterprise != "" && o.org() != orgPrefix+o.enterprise {
		if _, linked := a.linked.Load(o.team); !linked {
			if err := a.link(ctx, o); err != nil {
				return nil, err
			}
			a.linked.Store(o.team, true)
		}
	}
	return a.client(ctx, o.org())
}

// link records that the workspace's token is its enterprise's, unless the
// workspace has a record (an install of its own, or the link).
func (a *Adapter) link(ctx context.Context, o origin) error {
	if _, _, ok, err := a.cfg.Installations.Get(ctx, o.org()); ok || err != nil {
		return err
	}
	if _, _, ok, err := a.cfg.Installations.Get(ctx, orgPrefix+o.enterprise); !ok || err != nil {
		if err == nil {
			err = fmt.Errorf("%w (%s)", errNotInstalled, orgPrefix+o.enterprise)
		}
		return err
	}
	return a.cfg.Installations.Put(ctx, o.org(), "slack", "", map[string]string{attrVia: o.enterprise, attrTeam: o.team})
}

// call calls f with the Web API client of the organization's workspace,
// again while Slack rate-limits it (retry).
func (a *Adapter) call(ctx context.Context, org string, f func(api *slackapi.Client) error) error {
	api, err := a.client(ctx, org)
	if err != nil {
		return err
	}
	err = a.retry(ctx, func() error { return f(api) })
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) && (se.Err == "token_revoked" || se.Err == "invalid_auth" || se.Err == "account_inactive") {
		// Uninstalled, and another replica had the event: the next call
		// reads the installation again.
		a.clients.forget(org)
	}
	return err
}

// installed reports whether the request's workspace can be answered: it
// installed the app (or SLACK_BOT_TOKEN serves it). A request from one
// that has not is logged (its team, no token) and gets no Web API call.
// When the installations cannot be read (Redis down), the request goes
// on, to be answered as any request is then.
func (a *Adapter) installed(ctx context.Context, o origin) bool {
	_, err := a.originClient(ctx, o)
	if errors.Is(err, errNotInstalled) {
		a.log.Warn("request from a workspace that has not installed the app", "team", clip(o.team, 64),
			"enterprise", clip(o.enterprise, 64), "user", clip(o.user, 64))
		return false
	}
	if err != nil {
		a.log.Warn("slack installation", "org", o.org(), "err", err)
	}
	return true
}

// notInstalled answers a slash command from a workspace without the app:
// in English and German (without a token, the user's locale is unknown),
// with where an admin installs it.
func (a *Adapter) notInstalled() reply {
	var text []string
	for _, lang := range []string{"en", "de"} {
		text = append(text, a.bot.Text(lang, "SlackNotInstalled", "URL", a.installURL()))
	}
	return reply{body: map[string]string{"response_type": "ephemeral", "text": strings.Join(text, "\n\n")}}
}
