package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands"
)

// Owns reports whether org is a Discord guild's organization.
func (a *Adapter) Owns(org string) bool {
	return strings.HasPrefix(org, orgPrefix) && snowflake(strings.TrimPrefix(org, orgPrefix)) != ""
}

// Notify posts a notification to the guild's admin channel (the one an
// admin set, else Config.AdminChannel, else by DM to Config.Admins), or by
// DM to n.To. Each destination gets it once: one it reached is marked in
// the store, and on a redelivery a marked one is skipped; every post
// carries a nonce that Discord enforces, so a post that reached Discord
// just before its sender died is not made twice either.
func (a *Adapter) Notify(ctx context.Context, n commands.Notification) error {
	if !a.Owns(n.Org) {
		return fmt.Errorf("discord notify: %q is not a Discord organization: %w", n.Org, commands.ErrPermanent)
	}
	guild := strings.TrimPrefix(n.Org, orgPrefix)
	if n.To != "" {
		msg, err := a.render(ctx, n, n.To)
		if err != nil {
			return err
		}
		return deliveryErr(a.dm(ctx, n, guild, n.To, msg))
	}
	if ch := a.adminChannel(ctx, n.Org, guild); ch != "" {
		msg, err := a.render(ctx, n, "")
		if err != nil {
			return err
		}
		return deliveryErr(a.send(ctx, n, "channel:"+ch, ch, "", msg))
	}
	if len(a.admins) == 0 {
		return fmt.Errorf("discord notify %s: no admin channel set (an admin can run /billing admin channel) and no BILLINGBOT_ADMINS: %w",
			n.Org, commands.ErrPermanent)
	}
	var errs []error
	for id := range a.admins {
		msg, err := a.render(ctx, n, id)
		if err == nil {
			err = a.dm(ctx, n, guild, id, msg)
		}
		errs = append(errs, deliveryErr(err))
	}
	err, lost := commands.Deliveries(errs)
	if lost != nil {
		a.log.Warn("discord: some admins cannot get direct messages", "org", n.Org, "err", lost)
	}
	return err
}

// render writes a notification for a user's direct message (user set) in
// their language, else for the guild's admin channel in the guild's
// language (commands.Bot.NotificationLang; Discord tells no user's locale
// outside an interaction).
func (a *Adapter) render(ctx context.Context, n commands.Notification, user string) (commands.Message, error) {
	lang, err := a.bot.NotificationLang(ctx, n.Org, user, "")
	if err != nil {
		return commands.Message{}, fmt.Errorf("discord notify %s: language: %w", n.Org, err)
	}
	return a.bot.RenderNotification(n, lang), nil
}

// dm sends a notification to a user's DM channel; its buttons name the guild.
func (a *Adapter) dm(ctx context.Context, n commands.Notification, guild, userRef string, msg commands.Message) error {
	id := snowflake(userRef)
	if id == "" {
		return fmt.Errorf("dm %q: not a Discord user id: %w", userRef, commands.ErrPermanent)
	}
	dest := "dm:" + id
	if n.Redelivery {
		if ok, err := a.store.Delivered(ctx, n.Org, n.Key, dest); err != nil || ok {
			return err
		}
	}
	ch, err := a.rest.dmChannel(ctx, id)
	if err != nil {
		return err
	}
	return a.send(ctx, n, dest, ch, guild, msg)
}

// send posts a notification to a channel (guild set: a DM channel) unless
// it reached it before.
func (a *Adapter) send(ctx context.Context, n commands.Notification, dest, channel, guild string, msg commands.Message) error {
	if n.Redelivery {
		if ok, err := a.store.Delivered(ctx, n.Org, n.Key, dest); err != nil || ok {
			return err
		}
	}
	msg.Public = true // channel messages cannot be ephemeral
	for i, m := range (renderer{a: a, ctx: ctx, org: n.Org, guild: guild}).messages([]commands.Message{msg}) {
		m.Nonce, m.EnforceNonce = nonce(n.Key, dest, i), true
		if err := a.rest.postMessage(ctx, channel, m); err != nil {
			return err
		}
	}
	if err := a.store.MarkDelivered(ctx, n.Org, n.Key, dest); err != nil {
		// Delivered all the same; only a redelivery would need the mark.
		a.log.Warn("discord: remember notification", "org", n.Org, "err", err)
	}
	return nil
}

// nonce names the i-th message of a notification to a destination, in the
// 25 characters Discord allows: a second post with it (within minutes)
// returns the first instead of posting again.
func nonce(key, dest string, i int) string {
	sum := sha256.Sum256([]byte(key + "\x00" + dest + "\x00" + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])[:25]
}

// deliveryErr says what a failed Discord call means for the outbox: a rate
// limit to wait out, a refusal that retrying cannot mend (a 4xx: unknown
// channel, missing access, a user who accepts no DMs), or one worth trying
// again (a 5xx, a timeout, a network error).
func deliveryErr(err error) error {
	var ae *apiError
	switch {
	case err == nil, errors.Is(err, commands.ErrPermanent), !errors.As(err, &ae):
		return err
	case ae.Status == http.StatusTooManyRequests:
		return &commands.RateLimitedError{Wait: ae.RetryAfter, Err: err}
	case ae.Status >= 500 || ae.Status == http.StatusRequestTimeout:
		return err
	}
	return fmt.Errorf("%w: %w", commands.ErrPermanent, err)
}

// adminChannel is the channel id of the guild's admin channel: the one an
// admin set (a mention "<#123>", an id, or a name) while it is the guild's
// own, else the deployment's.
func (a *Adapter) adminChannel(ctx context.Context, org, guild string) string {
	set, err := a.bot.AdminChannel(ctx, org)
	if err != nil {
		a.log.Warn("discord: settings", "org", org, "err", err)
	}
	if ch := a.channelID(ctx, org, guild, set); ch != "" && a.guildsChannel(ctx, org, guild, ch) {
		return ch
	}
	return a.channelID(ctx, org, guild, a.cfg.AdminChannel)
}

// guildsChannel reports whether a channel is the guild's (GET
// /channels/{id}, kept for an hour): one saved before admin channels were
// checked (directory.CheckChannel) may be another guild's, whose
// notifications must not go there. When Discord cannot say, the post
// itself will tell.
func (a *Adapter) guildsChannel(ctx context.Context, org, guild, channel string) bool {
	key := "channel-guild:" + channel
	if g, ok, err := a.store.CacheGet(ctx, org, key); err == nil && ok {
		return g == guild
	}
	var ch guildChannel
	err := a.rest.do(ctx, http.MethodGet, "/channels/"+channel, nil, &ch, true)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.Status/100 == 4 && ae.Status != http.StatusTooManyRequests:
		ch.GuildID = "-" // unknown, or out of the bot's sight
	case err != nil:
		return true
	}
	if ch.GuildID != guild {
		a.log.Warn("discord: the admin channel set is not the guild's; using the default", "org", org, "channel", channel)
	}
	_ = a.store.CachePut(ctx, org, key, ch.GuildID, time.Hour)
	return ch.GuildID == guild
}

// channelID reads a channel as an admin typed it.
func (a *Adapter) channelID(ctx context.Context, org, guild, typed string) string {
	typed = strings.TrimSpace(typed)
	if typed == "" {
		return ""
	}
	if strings.HasPrefix(typed, "<#") && strings.HasSuffix(typed, ">") {
		typed = typed[2 : len(typed)-1]
	}
	if id := snowflake(typed); id != "" {
		return id
	}
	// A name ("#billing-admins"): the guild's channels, looked up once a
	// while.
	name := strings.ToLower(strings.TrimPrefix(typed, "#"))
	key := "channel:" + name
	if len(key) > 150 {
		return ""
	}
	if id, ok, err := a.store.CacheGet(ctx, org, key); err == nil && ok {
		return id
	}
	var chans []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Type int    `json:"type"`
	}
	if err := a.rest.do(ctx, http.MethodGet, "/guilds/"+guild+"/channels", nil, &chans, true); err != nil {
		a.log.Warn("discord: list channels", "org", org, "err", err)
		return ""
	}
	for _, c := range chans {
		if strings.ToLower(c.Name) == name && (c.Type == 0 || c.Type == 5) {
			_ = a.store.CachePut(ctx, org, key, c.ID, time.Hour)
			return c.ID
		}
	}
	return ""
}
