package discord

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"github.com/billingbot/billingbot/commands"
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

// TestHandoverLimits: the handover's forms, list and notifications, in
// English and German, hold Discord's limits.
func TestHandoverLimits(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			e.card(alice)
			sub := e.buyVisio()
			ctx := t.Context()
			locale := map[string]string{"en": "en-US", "de": "de"}[lang]
			dir := e.a.directory(testOrg, testGuild, nil)
			handle := func(user, text string, form *commands.Submission) commands.Response {
				t.Helper()
				resp, err := e.bot.Handle(ctx, commands.Request{Org: testOrg, User: commands.Member{ID: user, Name: "Ada Admin"},
					Locale: locale, Admin: true, Members: dir, Text: text, Form: form, Command: slashCommand(locale)})
				if err != nil || resp.Lang != lang {
					t.Fatalf("%q: %v, in %q", text, err, resp.Lang)
				}
				return resp
			}
			var trial string
			for _, m := range handle(alice, "", &commands.Submission{FormID: commands.FormTrial,
				Values: map[string][]string{"product": {"project-plan-3"}}}).Messages {
				for _, b := range m.Buttons {
					if id, ok := strings.CutPrefix(b.Command, "assign "); ok {
						trial = id
					}
				}
			}
			if err := e.bot.MemberLeft(ctx, testOrg, alice); err != nil || trial == "" {
				t.Fatalf("MemberLeft: %v; trial %q", err, trial)
			}
			e.card(bob)
			for _, line := range []string{"admin handover take " + sub, "admin handover cancel " + sub, "admin handover take " + trial} {
				resp := handle(bob, line, nil)
				if resp.Form == nil {
					t.Fatalf("%q opened no form: %+v", line, resp.Messages)
				}
				checkModal(t, line, renderModal("KEY", resp.Form, resp.Lang))
			}
			r := renderer{a: e.a, ctx: ctx, org: testOrg}
			for _, m := range r.messages(handle(bob, "admin handover", nil).Messages) {
				checkMessage(t, "list", m)
			}
			for _, kind := range []commands.NotificationKind{commands.NoteHandover, commands.NoteHandoverReminder,
				commands.NoteHandoverDecided, commands.NoteHandoverBack, commands.NoteHandoverLapsed, commands.NoteLicenseFreed} {
				n := commands.Notification{Org: testOrg, Kind: kind, Sub: commands.NotifiedSub{ID: sub, ProductID: "visio-plan-2",
					Product: "Visio Plan 2", Purchaser: strings.Repeat("Alice ", 12), Person: strings.Repeat("Ada ", 20),
					Licenses: 5, Price: 6300, Currency: "EUR", Period: "monthly", Expires: t0.AddDate(0, 1, 0), Reason: "take"}}
				for _, m := range r.messages([]commands.Message{e.bot.RenderNotification(n, lang)}) {
					checkMessage(t, string(kind), m)
				}
			}
		})
	}
}

// TestAdminHandoverOption: /billing admin handover:show lists the
// handovers that wait.
func TestAdminHandoverOption(t *testing.T) {
	e := newEnv(t)
	_, data := answer(t, e.post(e.interaction(aliceEN, itCommand, command("admin", opt("handover", optString, "show")), "")))
	if got := text(data); !strings.Contains(got, "No subscription of someone who left waits for a decision.") {
		t.Errorf("admin handover:show answered %s", got)
	}
}
