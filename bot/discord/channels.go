package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/billingbot/billingbot/commands"
)

var _ commands.ChannelChecker = (*directory)(nil)

// Channel types notifications can be posted to: a text channel and an
// announcement channel.
const (
	chanText         = 0
	chanAnnouncement = 5
)

// Permission bits a channel needs for notifications (and the one that
// holds every permission).
const (
	permViewChannel  = 1 << 10
	permSendMessages = 1 << 11
	permEmbedLinks   = 1 << 14
	permAll          = ^uint64(0)
	permPost         = permViewChannel | permSendMessages | permEmbedLinks
)

// guildChannel is what GET /channels/{id} and GET /guilds/{g}/channels
// say of a channel.
type guildChannel struct {
	ID         string      `json:"id"`
	GuildID    string      `json:"guild_id"`
	Name       string      `json:"name"`
	Type       int         `json:"type"`
	Overwrites []overwrite `json:"permission_overwrites"`
}

// overwrite changes a role's (Type 0) or a member's (Type 1) permissions
// in one channel.
type overwrite struct {
	ID    string `json:"id"`
	Type  int    `json:"type"`
	Allow string `json:"allow"`
	Deny  string `json:"deny"`
}

// CheckChannel is commands.ChannelChecker: the channel an admin names for
// the guild's notifications ("<#123>", "123" or "#name") must be a text or
// announcement channel of this guild (GET /channels/{id}: its guild_id),
// in which the bot may view the channel, send messages and embed links
// (its roles' permissions in the guild with the channel's overwrites, as
// Discord computes them). The picker of the command's channel option
// offers only the guild's channels, but the interaction (and a command
// line) may name any id.
func (d *directory) CheckChannel(ctx context.Context, ref string) error {
	ch, err := d.findChannel(ctx, ref)
	if err != nil {
		return err
	}
	if ch.GuildID != d.guild || (ch.Type != chanText && ch.Type != chanAnnouncement) {
		return commands.ErrNoChannel
	}
	perms, err := d.botPermissions(ctx, ch)
	if err != nil {
		return err
	}
	if perms&permPost != permPost {
		return commands.ErrChannelNoAccess
	}
	return nil
}

// findChannel reads the channel a reference names: by its id, or by its
// name among the guild's channels.
func (d *directory) findChannel(ctx context.Context, ref string) (guildChannel, error) {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "<#") && strings.HasSuffix(ref, ">") {
		ref = ref[2 : len(ref)-1]
	}
	var ch guildChannel
	if snowflakeID(ref) {
		err := d.a.rest.do(ctx, http.MethodGet, "/channels/"+ref, nil, &ch, true)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusBadRequest):
			return ch, commands.ErrNoChannel
		case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
			// Missing Access: a channel the bot cannot see, of this guild
			// or another.
			return ch, commands.ErrChannelNoAccess
		case err != nil:
			return ch, err
		}
		if ch.GuildID == "" {
			ch.GuildID = "-" // a DM or group channel: of no guild
		}
		return ch, nil
	}
	name := strings.ToLower(strings.TrimPrefix(ref, "#"))
	if name == "" || strings.ContainsAny(name, "<>@ ") {
		return ch, commands.ErrNoChannel
	}
	var chans []guildChannel
	if err := d.a.rest.do(ctx, http.MethodGet, "/guilds/"+d.guild+"/channels", nil, &chans, true); err != nil {
		return ch, err
	}
	for _, c := range chans {
		if strings.ToLower(c.Name) == name && (c.Type == chanText || c.Type == chanAnnouncement) {
			c.GuildID = d.guild
			return c, nil
		}
	}
	return ch, commands.ErrNoChannel
}

// botPermissions are the bot's permissions in a channel of the guild:
// those of @everyone and of its roles, all of them for the owner or with
// Administrator, else changed by the channel's overwrites for @everyone,
// for its roles and for itself, in that order.
func (d *directory) botPermissions(ctx context.Context, ch guildChannel) (uint64, error) {
	var me struct {
		ID string `json:"id"`
	}
	if err := d.a.rest.do(ctx, http.MethodGet, "/users/@me", nil, &me, true); err != nil {
		return 0, err
	}
	var g struct {
		OwnerID string `json:"owner_id"`
		Roles   []struct {
			ID          string `json:"id"`
			Permissions string `json:"permissions"`
		} `json:"roles"`
	}
	if err := d.a.rest.do(ctx, http.MethodGet, "/guilds/"+d.guild, nil, &g, true); err != nil {
		return 0, err
	}
	if !snowflakeID(me.ID) {
		return 0, fmt.Errorf("discord: GET /users/@me: id %q", me.ID)
	}
	var m struct {
		Roles []string `json:"roles"`
	}
	if err := d.a.rest.do(ctx, http.MethodGet, "/guilds/"+d.guild+"/members/"+me.ID, nil, &m, true); err != nil {
		return 0, err
	}
	if g.OwnerID == me.ID {
		return permAll, nil
	}
	var perms uint64
	for _, r := range g.Roles {
		if r.ID == d.guild || slices.Contains(m.Roles, r.ID) {
			perms |= bits(r.Permissions)
		}
	}
	if perms&permAdministrator != 0 {
		return permAll, nil
	}
	apply := func(allow, deny uint64) { perms = perms&^deny | allow }
	var roleAllow, roleDeny uint64
	for _, o := range ch.Overwrites {
		if o.Type == 0 && o.ID == d.guild {
			apply(bits(o.Allow), bits(o.Deny))
		} else if o.Type == 0 && slices.Contains(m.Roles, o.ID) {
			roleAllow, roleDeny = roleAllow|bits(o.Allow), roleDeny|bits(o.Deny)
		}
	}
	apply(roleAllow, roleDeny)
	for _, o := range ch.Overwrites {
		if o.Type == 1 && o.ID == me.ID {
			apply(bits(o.Allow), bits(o.Deny))
		}
	}
	return perms, nil
}

// bits reads a permission set as Discord writes it (a decimal string).
func bits(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}
