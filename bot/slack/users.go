package slack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// userTTL is how long a users.info answer is kept in the store.
const userTTL = 10 * time.Minute

// Each replica also keeps the users it saw in the last localUserTTL in
// memory (at most localUsersMax of them), in front of the store's cache: a
// user's requests then cost no Redis round trip for who they are. A copy
// never outlives the store's entry it came from, so a user's name, locale
// and admin flag are never older than userTTL, as before.
const (
	localUserTTL  = time.Minute
	localUsersMax = 20000
)

// userCache is the in-memory copy of the store's users.info cache.
type userCache struct {
	now func() time.Time // monotonic clock (time.Now; tests move it)

	mu sync.Mutex
	m  map[string]cachedUser // org + " " + user id
}

type cachedUser struct {
	info  userInfo
	until time.Time
}

func newUserCache() *userCache {
	return &userCache{now: time.Now, m: map[string]cachedUser{}}
}

func (c *userCache) get(org, id string) (userInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[org+" "+id]
	if !ok {
		return userInfo{}, false
	}
	if !c.now().Before(e.until) {
		delete(c.m, org+" "+id)
		return userInfo{}, false
	}
	return e.info, true
}

// put keeps u for ttl, but never longer than localUserTTL.
func (c *userCache) put(org, id string, u userInfo, ttl time.Duration) {
	ttl = min(ttl, localUserTTL)
	if ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= localUsersMax {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		for k := range c.m { // still full: forget any tenth
			if len(c.m) < localUsersMax*9/10 {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[org+" "+id] = cachedUser{info: u, until: now.Add(ttl)}
}

// userInfo is what the adapter keeps of a users.info answer.
type userInfo struct {
	Name   string `json:"n"`
	Locale string `json:"l,omitempty"`
	Team   string `json:"t,omitempty"`
	// Teams are the workspaces of an Enterprise Grid user.
	Teams   []string `json:"ts,omitempty"`
	Admin   bool     `json:"a,omitempty"`
	Bot     bool     `json:"b,omitempty"`
	Deleted bool     `json:"d,omitempty"`
}

// adminOf reports whether the user is an admin or owner of team: users.info's
// flags count only for the user's own workspace (team_id) or, on Enterprise
// Grid, the workspaces the user belongs to. An admin of another workspace
// (a shared channel's) is no admin of this one.
func (u userInfo) adminOf(team string) bool {
	return u.Admin && team != "" && (u.Team == team || slices.Contains(u.Teams, team))
}

// errNoUser is users.info's user_not_found.
var errNoUser = errors.New("no such user")

var userIDPattern = regexp.MustCompile(`^[UW][A-Z0-9]{1,20}$`)

// isUserID reports whether s looks like a Slack user id.
func isUserID(s string) bool { return userIDPattern.MatchString(s) || s == "USLACKBOT" }

func infoOf(u *slackapi.User) userInfo {
	name := u.Profile.DisplayName
	for _, n := range []string{u.RealName, u.Profile.RealName, u.Profile.DisplayName, u.Name} {
		if strings.TrimSpace(n) != "" {
			name = strings.TrimSpace(n)
			break
		}
	}
	return userInfo{Name: name, Locale: u.Locale, Team: u.TeamID, Teams: u.Enterprise.Teams,
		Admin: u.IsAdmin || u.IsOwner || u.IsPrimaryOwner,
		Bot:   u.IsBot || u.ID == "USLACKBOT", Deleted: u.Deleted}
}

// user looks a user up with users.info (with their locale), through the
// replica's memory and the store's cache that replicas share.
func (a *Adapter) user(ctx context.Context, org, id string) (userInfo, error) {
	if u, ok := a.users.get(org, id); ok {
		return u, nil
	}
	key := "user:" + id
	if v, ttl, ok, err := a.st.CacheGetTTL(ctx, org, key); err == nil && ok {
		var u userInfo
		if json.Unmarshal([]byte(v), &u) == nil {
			a.users.put(org, id, u, ttl)
			return u, nil
		}
	}
	var u *slackapi.User
	err := a.call(ctx, org, func(api *slackapi.Client) error {
		var err error
		u, err = api.GetUserInfoContext(ctx, id, slackapi.GetUserInfoOptionIncludeLocale(true))
		return err
	})
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) && (se.Err == "user_not_found" || se.Err == "users_not_found") || err != nil && err.Error() == "user_not_found" {
		return userInfo{}, errNoUser
	}
	if err != nil {
		return userInfo{}, slackErr("users.info", err)
	}
	info := infoOf(u)
	if doc, err := json.Marshal(info); err == nil {
		if err := a.st.CachePut(ctx, org, key, string(doc), userTTL); err != nil {
			a.log.Warn("cache user", "org", org, "err", err)
		}
	}
	a.users.put(org, id, info, userTTL)
	return info, nil
}

// cachedLocale is the user's locale if the cache knows it, without asking
// Slack.
func (a *Adapter) cachedLocale(ctx context.Context, o origin) string {
	if u, ok := a.users.get(o.org(), o.user); ok {
		return u.Locale
	}
	v, ok, err := a.st.CacheGet(ctx, o.org(), "user:"+o.user)
	if err != nil || !ok {
		return ""
	}
	var u userInfo
	json.Unmarshal([]byte(v), &u)
	return u.Locale
}

// cachedLang is the language of the user's cached locale: "de" or "en".
func (a *Adapter) cachedLang(ctx context.Context, o origin) string {
	if strings.HasPrefix(strings.ToLower(a.cachedLocale(ctx, o)), "de") {
		return "de"
	}
	return "en"
}

// directory finds the people of one workspace for the core: user ids and
// mentions as Slack writes them ("U123", "<@U123>", "<@U123|name>").
type directory struct {
	a    *Adapter
	org  string
	team string
}

var _ commands.Directory = (*directory)(nil)

// userRef reads a user id from a reference, or "".
func userRef(ref string) string {
	r := strings.TrimSpace(ref)
	if strings.HasPrefix(r, "<@") && strings.HasSuffix(r, ">") {
		r, _, _ = strings.Cut(r[2:len(r)-1], "|")
	} else {
		r = strings.TrimPrefix(r, "@")
	}
	if isUserID(r) {
		return r
	}
	return ""
}

// Member resolves a user id or mention with users.info. A plain "@name"
// names nobody: Slack sends mentions as ids when the command escapes them
// (the manifest sets should_escape).
func (d *directory) Member(ctx context.Context, ref string) (commands.Member, error) {
	id := userRef(ref)
	if id == "" {
		return commands.Member{}, commands.ErrNoMember
	}
	u, err := d.a.user(ctx, d.org, id)
	switch {
	case errors.Is(err, errNoUser):
		return commands.Member{}, commands.ErrNoMember
	case err != nil:
		return commands.Member{}, err
	case u.Team != "" && u.Team != d.team && id != "USLACKBOT":
		return commands.Member{}, commands.ErrNoMember // another workspace's user (shared channel)
	}
	name := u.Name
	if name == "" {
		name = id
	}
	return commands.Member{ID: id, Name: name, Bot: u.Bot, Gone: u.Deleted}, nil
}

// adminsTTL is how long the list of a workspace's admins is kept.
const adminsTTL = userTTL

// Admins lists the workspace's admins and owners (users.list: humans, not
// deactivated, of this workspace), kept in the store's cache for
// adminsTTL.
func (d *directory) Admins(ctx context.Context) ([]commands.Member, error) {
	const key = "admins"
	if doc, ok, err := d.a.st.CacheGet(ctx, d.org, key); err == nil && ok {
		var out []commands.Member
		if json.Unmarshal([]byte(doc), &out) == nil {
			return out, nil
		}
	}
	var users []slackapi.User
	err := d.a.call(ctx, d.org, func(api *slackapi.Client) error {
		var err error
		users, err = api.GetUsersContext(ctx, usersOf(d.team)...)
		return err
	})
	if err != nil {
		return nil, slackErr("users.list", err)
	}
	out := []commands.Member{}
	for _, u := range users {
		info := infoOf(&u)
		if info.Admin && !info.Bot && !info.Deleted && (u.TeamID == "" || u.TeamID == d.team) && isUserID(u.ID) {
			out = append(out, commands.Member{ID: u.ID, Name: cmp.Or(info.Name, u.ID)})
		}
	}
	if doc, err := json.Marshal(out); err == nil {
		if err := d.a.st.CachePut(ctx, d.org, key, string(doc), adminsTTL); err != nil {
			d.a.log.Warn("cache admins", "org", d.org, "err", err)
		}
	}
	return out, nil
}
