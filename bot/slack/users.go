package slack

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/commands"
)

// userTTL is how long a users.info answer is kept in the store.
const userTTL = 10 * time.Minute

// userInfo is what the adapter keeps of a users.info answer.
type userInfo struct {
	Name    string `json:"n"`
	Locale  string `json:"l,omitempty"`
	Team    string `json:"t,omitempty"`
	Admin   bool   `json:"a,omitempty"`
	Bot     bool   `json:"b,omitempty"`
	Deleted bool   `json:"d,omitempty"`
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
	return userInfo{Name: name, Locale: u.Locale, Team: u.TeamID,
		Admin: u.IsAdmin || u.IsOwner || u.IsPrimaryOwner,
		Bot:   u.IsBot || u.ID == "USLACKBOT", Deleted: u.Deleted}
}

// user looks a user up with users.info (with their locale), through the
// store's cache that replicas share.
func (a *Adapter) user(ctx context.Context, org, id string) (userInfo, error) {
	key := "user:" + id
	if v, ok, err := a.st.CacheGet(ctx, org, key); err == nil && ok {
		var u userInfo
		if json.Unmarshal([]byte(v), &u) == nil {
			return u, nil
		}
	}
	var u *slackapi.User
	err := a.retry(ctx, func() error {
		var err error
		u, err = a.api.GetUserInfoContext(ctx, id, slackapi.GetUserInfoOptionIncludeLocale(true))
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
	return info, nil
}

// cachedLocale is the user's locale if the cache knows it, without asking
// Slack.
func (a *Adapter) cachedLocale(ctx context.Context, o origin) string {
	v, ok, err := a.st.CacheGet(ctx, o.org(), "user:"+o.user)
	if err != nil || !ok {
		return ""
	}
	var u userInfo
	json.Unmarshal([]byte(v), &u)
	return u.Locale
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
