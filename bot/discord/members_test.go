package discord

import (
	"fmt"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/billingbot/billingbot/store"
)

// memberEvent is a gateway event about a member of the test guild.
func memberEvent(typ, user string, bot bool) *discordgo.Event {
	return &discordgo.Event{Type: typ, RawData: fmt.Appendf(nil,
		`{"guild_id":%q,"user":{"id":%q,"username":"x","bot":%v}}`, testGuild, user, bot)}
}

// TestGatewayMemberEvents: GUILD_MEMBER_REMOVE of a purchaser asks the
// admins about their subscription (the question reaches the admin
// channel with its buttons); GUILD_MEMBER_ADD of them withdraws it. Bots,
// other members and junk change nothing.
func TestGatewayMemberEvents(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	sub := e.buyVisio()
	e.deliver()
	handover := func() store.HandoverState {
		s, err := e.st.Subscription(t.Context(), testOrg, sub)
		if err != nil {
			t.Fatal(err)
		}
		return s.Handover
	}
	e.a.onEvent(t.Context(), memberEvent("GUILD_MEMBER_REMOVE", buildbot, true))
	e.a.onEvent(t.Context(), memberEvent("GUILD_MEMBER_REMOVE", bob, false))
	e.a.onEvent(t.Context(), &discordgo.Event{Type: "GUILD_MEMBER_REMOVE", RawData: []byte(`{junk`)})
	if h := handover(); h != "" {
		t.Fatalf("handover %q after others left", h)
	}
	e.a.onEvent(t.Context(), memberEvent("GUILD_MEMBER_REMOVE", alice, false))
	if h := handover(); h != store.HandoverPending {
		t.Fatalf("handover %q after the purchaser left", h)
	}
	if err := e.st.SetAdminChannel(t.Context(), testOrg, alice, adminChannel); err != nil {
		t.Fatal(err)
	}
	before := e.fake.messages(adminChannel)
	e.deliver()
	if e.fake.messages(adminChannel) != before+1 {
		t.Fatalf("%d messages to the admin channel, want 1", e.fake.messages(adminChannel)-before)
	}
	e.a.onEvent(t.Context(), memberEvent("GUILD_MEMBER_ADD", alice, false))
	if h := handover(); h != store.HandoverWithdrawn {
		t.Errorf("handover %q after the purchaser came back", h)
	}
}

// TestGatewayIntents: the privileged GUILD_MEMBERS intent only when
// configured.
func TestGatewayIntents(t *testing.T) {
	e := newEnv(t)
	if got := e.a.gatewayIntents(); got != discordgo.IntentsGuilds {
		t.Errorf("intents %v, want guilds only", got)
	}
	e.a.cfg.MemberEvents = true
	if got := e.a.gatewayIntents(); got&discordgo.IntentsGuildMembers == 0 || got&discordgo.IntentsGuilds == 0 {
		t.Errorf("intents %v, want guilds and guild members", got)
	}
}
