package discord

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestUnusedReminderInDM: the reminder of unused licenses reaches the
// purchaser by direct message; its Reduce button, clicked there, opens the
// licenses modal filled in with the licenses in use, whose submission
// from the DM schedules the reduction; its Assign button opens the
// assign modal of the subscription.
func TestUnusedReminderInDM(t *testing.T) {
	e := newEnv(t)
	now := time.Now() // the bot's clock
	since := now.AddDate(0, 0, -31)
	ctx := store.At(t.Context(), since)
	sub := store.Subscription{ID: "sub1", Org: testOrg, ProductID: "visio-plan-2", ProductName: "Visio Plan 2",
		Purchaser: store.Member{ID: alice, Name: "Alice Adams"}, SelfService: true, Status: store.StatusActive, Total: 5,
		Period: store.Monthly, UnitPrice: 1260, Currency: "EUR", PurchasedAt: since, RenewsAt: now.AddDate(0, 0, 10)}
	if _, err := e.st.CreateSubscription(ctx, store.Once{Key: "buy-sub1"}, sub, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AssignLicenses(ctx, store.Once{Key: "assign-sub1"}, testOrg, alice, "sub1",
		[]store.Member{{ID: "200000000000000002", Name: "Bob"}, {ID: "200000000000000004", Name: "Dora"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Schedule(ctx, store.Job{Kind: store.JobUnused, Org: testOrg, SubID: "sub1", Due: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	msg := e.fake.nextTo(t, "POST", "/channels/dm"+alice+"/messages").json(t)
	if s := text(msg); !strings.Contains(s, "Unused licenses") ||
		!strings.Contains(s, "3 of the 5 licenses of Visio Plan 2 that you pay for have not been assigned to anyone for 30 days. They cost €37.80 a month.") {
		t.Fatalf("reminder %s", s)
	}
	ids := map[string]string{}
	for _, b := range buttonsOf(msg) {
		ids[fmt.Sprint(b["label"])], _ = b["custom_id"].(string)
	}
	if !strings.HasPrefix(ids["Reduce to 2 licenses"], "d:"+testGuild+":") || !strings.HasPrefix(ids["Assign licenses"], "d:"+testGuild+":") {
		t.Fatalf("buttons %v, want Assign and Reduce naming the guild", ids)
	}

	typ, data := answer(t, e.post(e.dmClick(ids["Reduce to 2 licenses"])))
	if typ != cbModal {
		t.Fatalf("Reduce: type %d, want a modal: %s", typ, text(data))
	}
	inputs := modalInputs(t, data)
	if v := inputs["total"]["value"]; v != "2" {
		t.Errorf("total prefilled %v, want 2", v)
	}
	id := fmt.Sprint(300000000000000000 + e.seq.Add(1))
	doc, err := json.Marshal(map[string]any{"id": id, "application_id": testApp, "type": itModalSubmit, "token": "tok" + id,
		"channel_id": "400000000000000009", "locale": "en-US", "user": map[string]any{"id": alice, "username": "alice"},
		"data": submission(data["custom_id"].(string), map[string][]string{"subscription": {"sub1"}, "total": {"2"}}, "total")})
	if err != nil {
		t.Fatal(err)
	}
	// Asked to confirm, with buttons that name the guild, so that they
	// can be clicked in the DM.
	_, data = answer(t, e.post(doc))
	bs := buttonsOf(data)
	if s := text(data); len(bs) != 2 || bs[0]["label"] != "Reduce to 2 licenses" || !strings.HasPrefix(fmt.Sprint(bs[0]["custom_id"]), dmConfirmPrefix+testGuild+":confirm ") ||
		!strings.Contains(s, "Visio Plan 2 has 2 licenses.") {
		t.Fatalf("submitted from the DM: %s, want a confirmation", s)
	}
	_, data = answer(t, e.post(e.dmClick(bs[0]["custom_id"].(string))))
	if s, err := e.st.Subscription(t.Context(), testOrg, "sub1"); err != nil || s.Total != 5 || s.NextTotal != 2 {
		t.Errorf("after the reduction: %+v, %v; want 5 licenses now and 2 from the next period; answer %s", s, err, text(data))
	}

	typ, data = answer(t, e.post(e.dmClick(ids["Assign licenses"])))
	if typ != cbModal || !strings.Contains(text(data), `"sub1"`) || modalInputs(t, data)["users"] == nil {
		t.Errorf("Assign: type %d %s, want the assign modal of sub1", typ, text(data))
	}
}

// TestUnusedLimits: the reminder of unused licenses holds Discord's
// limits in both languages, in a channel and in a direct message.
func TestUnusedLimits(t *testing.T) {
	e := newEnv(t)
	n := commands.Notification{Org: testOrg, To: alice, Kind: commands.NoteUnused, Key: "k",
		Sub: commands.NotifiedSub{ID: "sub1", ProductID: "visio-plan-2", Product: strings.Repeat("Visio Plan 2 ", 6),
			Purchaser: "Alice", Licenses: 10000, Unused: 9999, InUse: 1, Price: 12598740, Currency: "EUR",
			Period: "monthly", Expires: time.Now().AddDate(0, 1, 0)}}
	for _, lang := range []string{"en", "de"} {
		for _, guild := range []string{"", testGuild} {
			for _, m := range (renderer{a: e.a, ctx: t.Context(), org: testOrg, guild: guild}).messages([]commands.Message{e.bot.RenderNotification(n, lang)}) {
				checkMessage(t, "unused "+lang, m)
			}
		}
	}
}
