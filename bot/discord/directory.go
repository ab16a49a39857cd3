package discord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
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
