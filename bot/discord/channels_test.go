package discord

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
)

// TestAdminChannelOfThisGuild: /billing admin channel saves only a text
// channel of the admin's own guild in which the bot can post, as Discord's
// API tells (GET /channels/{id}, the guild's roles and the channel's
// overwrites); any other is refused in the admin's language and nothing is
// written.
func TestAdminChannelOfThisGuild(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const (
		voice   = "577777777777777777"
		private = "588888888888888888"
		unknown = "599999999999999999"
	)
	e.fake.setChannel(voice, map[string]any{"id": voice, "guild_id": testGuild, "name": "lounge", "type": 2})
	e.fake.setChannel(private, map[string]any{"id": private, "guild_id": testGuild, "name": "board", "type": 0,
		"permission_overwrites": []map[string]any{{"id": testGuild, "type": 0, "allow": "0", "deny": strconv.Itoa(permSendMessages)}}})
	posting := strconv.Itoa(permViewChannel | permSendMessages | permEmbedLinks)

	notHere := map[string]string{
		"en": "is not a text channel of this server or workspace. Nothing was changed",
		"de": "ist kein Textkanal dieses Servers oder Arbeitsbereichs. Es wurde nichts geändert",
	}
	noAccess := map[string]string{
		"en": "billingbot cannot post in",
		"de": "billingbot kann in",
	}
	set := map[string]string{"en": "Admin notifications now go to", "de": "Benachrichtigungen an Administratoren gehen jetzt"}
	for _, tt := range []struct {
		name     string
		channel  string // an option's channel id, or a command line's word
		everyone string // the permissions of @everyone
		want     map[string]string
	}{
		{"another guild's channel", otherChannel, "8", notHere},
		{"an unknown channel", unknown, "8", notHere},
		{"a voice channel", voice, "8", notHere},
		{"without Send Messages", private, posting, noAccess},
		{"without Embed Links", adminChannel, strconv.Itoa(permViewChannel | permSendMessages), noAccess},
		{"another guild's channel as a mention", "<#" + otherChannel + ">", "8", notHere},
		{"a name no channel has", "#nowhere", "8", notHere},
		{"by name", "#Billing-Admins", posting, set},
		{"the guild's channel", adminChannel, posting, set},
		{"as Administrator, whatever the overwrites", private, "8", set},
	} {
		for _, w := range []who{aliceEN, aliceDE} {
			lang := langOf(w.locale)
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				if err := e.st.SetAdminChannel(ctx, testOrg, alice, ""); err != nil {
					t.Fatal(err)
				}
				e.fake.setEveryone(tt.everyone)
				data := command("admin", opt("channel", optChannel, tt.channel))
				if !snowflakeID(tt.channel) {
					data = command("admin", opt("channel", optString, tt.channel))
				}
				typ, got := answer(t, e.post(e.interaction(w, itCommand, data, "")))
				if typ != cbMessage || !strings.Contains(got["content"].(string), tt.want[lang]) {
					t.Errorf("answer %d %s, want %q", typ, text(got), tt.want[lang])
				}
				s, err := e.st.Settings(ctx, testOrg)
				if err != nil {
					t.Fatal(err)
				}
				if saved := s.AdminChannel != ""; saved != (tt.want["en"] == set["en"]) {
					t.Errorf("admin channel saved: %q", s.AdminChannel)
				}
			})
		}
	}
}

// TestAdminChannelOfAnotherGuildSaved: an admin channel saved before the
// check (another guild's) gets no notification; the guild's own does.
func TestAdminChannelOfAnotherGuildSaved(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	n := commands.Notification{Org: testOrg, Kind: commands.NoteConversion, Key: "k1",
		Sub: commands.NotifiedSub{Product: "Visio Plan 2", Purchaser: "Bob Brown", Licenses: 5}}
	if err := e.st.SetAdminChannel(ctx, testOrg, alice, "<#"+otherChannel+">"); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Notify(ctx, n); !errors.Is(err, commands.ErrPermanent) {
		t.Errorf("notify with another guild's channel: %v, want ErrPermanent (no channel, no admins)", err)
	}
	if got := e.fake.messages(otherChannel); got != 0 {
		t.Errorf("another guild's channel got %d messages", got)
	}
	if err := e.st.SetAdminChannel(ctx, testOrg, alice, "<#"+adminChannel+">"); err != nil {
		t.Fatal(err)
	}
	n.Key = "k2"
	if err := e.a.Notify(ctx, n); err != nil {
		t.Fatal(err)
	}
	if got := e.fake.messages(adminChannel); got != 1 {
		t.Errorf("the guild's channel got %d messages, want 1", got)
	}
}
