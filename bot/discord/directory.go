package discord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/billingbot/billingbot/commands"
)

// memberTTL is how long a looked-up guild member is kept.
const memberTTL = 10 * time.Minute

// directory resolves the people of one guild: from the data an interaction
// carries, else from the store's cache, else with GET
// /guilds/{g}/members/{u}.
type directory struct {
	a     *Adapter
	org   string
	guild string

	mu    sync.Mutex
	known map[string]commands.Member
}

var _ commands.Directory = (*directory)(nil)

func (a *Adapter) directory(org, guild string, in *interaction) *directory {
	d := &directory{a: a, org: org, guild: guild, known: map[string]commands.Member{}}
	if in != nil && in.Member != nil && in.Member.User != nil && in.GuildID == guild {
		u := *in.Member.User
		d.known[u.ID] = commands.Member{ID: u.ID, Name: displayName(u, in.Member), Bot: u.Bot}
	}
	return d
}

// learn takes the members an interaction resolved.
func (d *directory) learn(r resolved) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, m := range r.Members {
		u, ok := r.Users[id]
		if !ok {
			if m.User == nil {
				continue
			}
			u = *m.User
		}
		u.ID = id
		d.known[id] = commands.Member{ID: id, Name: displayName(u, &m), Bot: u.Bot}
	}
}

// Member resolves "123", "<@123>" or "<@!123>" to a member of the guild.
func (d *directory) Member(ctx context.Context, ref string) (commands.Member, error) {
	id := snowflake(ref)
	if id == "" {
		return commands.Member{}, commands.ErrNoMember
	}
	d.mu.Lock()
	m, ok := d.known[id]
	d.mu.Unlock()
	if ok {
		return m, nil
	}
	key := "member:" + id
	if doc, ok, err := d.a.store.CacheGet(ctx, d.org, key); err == nil && ok {
		if doc == "-" {
			return commands.Member{}, commands.ErrNoMember
		}
		if json.Unmarshal([]byte(doc), &m) == nil && m.ID == id {
			return m, nil
		}
	}
	var gm guildMember
	err := d.a.rest.do(ctx, http.MethodGet, "/guilds/"+d.guild+"/members/"+id, nil, &gm, true)
	var apiErr *apiError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		_ = d.a.store.CachePut(ctx, d.org, key, "-", time.Minute)
		return commands.Member{}, commands.ErrNoMember
	case err != nil:
		return commands.Member{}, err
	case gm.User == nil:
		return commands.Member{}, commands.ErrNoMember
	}
	u := *gm.User
	m = commands.Member{ID: id, Name: displayName(u, &gm), Bot: u.Bot}
	if doc, err := json.Marshal(m); err == nil {
		_ = d.a.store.CachePut(ctx, d.org, key, string(doc), memberTTL)
	}
	d.mu.Lock()
	d.known[id] = m
	d.mu.Unlock()
	return m, nil
}

// maxListedMembers is how many members Admins reads to find those of the
// roles with the Administrator permission (one page of the list).
const maxListedMembers = 1000

// Admins lists the guild's owner and the members of its roles with the
// Administrator permission (humans only), kept in the store's cache for
// memberTTL. Listing a guild's members needs the privileged Server
// Members intent: without it, the owner alone.
func (d *directory) Admins(ctx context.Context) ([]commands.Member, error) {
	const key = "admins"
	if doc, ok, err := d.a.store.CacheGet(ctx, d.org, key); err == nil && ok {
		var out []commands.Member
		if json.Unmarshal([]byte(doc), &out) == nil {
			return out, nil
		}
	}
	var g struct {
		OwnerID string `json:"owner_id"`
		Roles   []struct {
			ID          string `json:"id"`
			Permissions string `json:"permissions"`
		} `json:"roles"`
	}
	if err := d.a.rest.do(ctx, http.MethodGet, "/guilds/"+d.guild, nil, &g, true); err != nil {
		return nil, err
	}
	out := []commands.Member{}
	seen := map[string]bool{}
	add := func(m commands.Member) {
		if !m.Bot && !m.Gone && !seen[m.ID] {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	if owner, err := d.Member(ctx, g.OwnerID); err == nil {
		add(owner)
	}
	adminRoles := map[string]bool{}
	for _, r := range g.Roles {
		// @everyone (the guild's id) as an admin role would make everyone
		// a contact: not what anyone means by "the admins".
		if p, err := strconv.ParseUint(r.Permissions, 10, 64); err == nil && p&permAdministrator != 0 && r.ID != d.guild {
			adminRoles[r.ID] = true
		}
	}
	if len(adminRoles) > 0 {
		var members []struct {
			guildMember
			Roles []string `json:"roles"`
		}
		err := d.a.rest.do(ctx, http.MethodGet, "/guilds/"+d.guild+"/members?limit="+strconv.Itoa(maxListedMembers), nil, &members, true)
		if err != nil {
			d.a.log.Warn("discord: list members for admins", "org", d.org, "err", err)
		}
		for _, gm := range members {
			if gm.User == nil || !snowflakeID(gm.User.ID) {
				continue
			}
			for _, r := range gm.Roles {
				if adminRoles[r] {
					add(commands.Member{ID: gm.User.ID, Name: displayName(*gm.User, &gm.guildMember), Bot: gm.User.Bot})
					break
				}
			}
		}
	}
	if doc, err := json.Marshal(out); err == nil {
		_ = d.a.store.CachePut(ctx, d.org, key, string(doc), memberTTL)
	}
	return out, nil
}

// snowflakeID reports whether id is a Discord id as such (not a mention).
func snowflakeID(id string) bool { return id != "" && snowflake(id) == id }
