package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// unusedSince gives U1 a subscription of Visio Plan 2 bought at since with
// 5 licenses, 2 of them assigned then, and its check of unused licenses
// due now.
func (e *env) unusedSince(days int) string {
	e.t.Helper()
	since := t0.AddDate(0, 0, -days)
	ctx := store.At(e.t.Context(), since)
	sub := store.Subscription{ID: "sub1", Org: testOrg, ProductID: "visio-plan-2", ProductName: "Visio Plan 2",
		Purchaser: store.Member{ID: "U1", Name: "Alice"}, SelfService: true, Status: store.StatusActive, Total: 5,
		Period: store.Monthly, UnitPrice: 1260, Currency: "EUR", PurchasedAt: since, RenewsAt: t0.AddDate(0, 0, 10)}
	if _, err := e.st.CreateSubscription(ctx, store.Once{Key: "buy-sub1"}, sub, nil); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.AssignLicenses(ctx, store.Once{Key: "assign-sub1"}, testOrg, "U1", "sub1",
		[]store.Member{{ID: "U2", Name: "Bob"}, {ID: "U3", Name: "Dora"}}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.Schedule(ctx, store.Job{Kind: store.JobUnused, Org: testOrg, SubID: "sub1", Due: t0}); err != nil {
		e.t.Fatal(err)
	}
	return sub.ID
}

// postedButtons are the values of the buttons of a chat.postMessage.
func postedButtons(t *testing.T, c apiCall) map[string]string {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(c.Form.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks of %s: %v", c.Body, err)
	}
	out := map[string]string{}
	for _, b := range blocks {
		els, _ := b["elements"].([]any)
		for _, el := range els {
			m := mapOf(el)
			if m["type"] == "button" {
				out[mapOf(m["text"])["text"].(string)] = m["value"].(string)
			}
		}
	}
	return out
}

// TestUnusedReminder: the reminder of unused licenses reaches the
// purchaser by direct message; its Reduce button opens the licenses
// modal filled in with the licenses in use, whose submission schedules
// the reduction; its Assign button opens the assign modal of the
// subscription.
func TestUnusedReminder(t *testing.T) {
	e := newEnv(t)
	id := e.unusedSince(31)
	e.deliver()
	post := e.slack.waitFor("chat.postMessage")
	if ch := post.Form.Get("channel"); ch != "DU1" || !strings.Contains(post.Body, "Unused+licenses") {
		t.Fatalf("posted to %q: %s; want the reminder to U1", ch, post.Body)
	}
	if text := post.Form.Get("blocks"); !strings.Contains(text, "3 of the 5 licenses of Visio Plan 2 that you pay for have not been assigned to anyone for 30 days. They cost €37.80 a month.") {
		t.Errorf("reminder blocks %s", text)
	}
	buttons := postedButtons(t, post)
	if buttons["Assign licenses"] != "assign "+id || buttons["Reduce to 2 licenses"] != "licenses "+id+" 2" {
		t.Fatalf("buttons %v, want Assign and Reduce to 2", buttons)
	}
	click := func(value, trigger string) (map[string]any, string) {
		p := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
			"user": map[string]any{"id": "U1", "team_id": testTeam}, "trigger_id": trigger,
			"container": map[string]any{"type": "message", "channel_id": "DU1"}, "channel": map[string]any{"id": "DU1"},
			"actions": []any{map[string]any{"type": "button", "action_id": "btn-0-1", "value": value, "action_ts": "1.2"}}}
		if w := e.interact(p); w.Code != http.StatusOK {
			t.Fatalf("click %q: %d %s", value, w.Code, w.Body)
		}
		return openedView(e.slack.waitFor("views.open"))
	}

	view, trig := click(buttons["Reduce to 2 licenses"], "trig-reduce")
	values := shownValues(view)
	if trig != "trig-reduce" || view["callback_id"] != commands.FormLicenses || values["total"] != "2" {
		t.Fatalf("Reduce opened %v with %v (trigger %s), want the licenses form with 2", view["callback_id"], values, trig)
	}
	if w := e.interact(e.submission("U1", "VRED", view, values)); w.Code != http.StatusOK {
		t.Fatalf("submit: %d %s", w.Code, w.Body)
	}
	e.a.Wait()
	if s, err := e.st.Subscription(context.Background(), testOrg, id); err != nil || s.Total != 5 || s.NextTotal != 2 {
		t.Errorf("after the reduction: %+v, %v; want 5 licenses now and 2 from the next period", s, err)
	}

	view, _ = click(buttons["Assign licenses"], "trig-assign")
	if view["callback_id"] != commands.FormAssign || !strings.Contains(mustJSON(t, shownValues(view)["subscription"]), `"`+id+`"`) {
		t.Errorf("Assign opened %v with %v, want the assign form of %s", view["callback_id"], shownValues(view), id)
	}
}

// TestUnusedLimits: the reminder of unused licenses, and the admin
// overview with them, hold Block Kit's limits in both languages.
func TestUnusedLimits(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			id := e.unusedSince(31)
			n := commands.Notification{Org: testOrg, To: "U1", Kind: commands.NoteUnused, Key: "k",
				Sub: commands.NotifiedSub{ID: id, ProductID: "visio-plan-2", Product: strings.Repeat("Visio Plan 2 ", 6),
					Purchaser: "Alice", Licenses: 10000, Unused: 9999, InUse: 1, Price: 12598740, Currency: "EUR",
					Period: "monthly", Expires: t0.AddDate(0, 1, 0)}}
			checkLimits(t, "unused "+lang, webhooks(messagePosts([]commands.Message{e.bot.RenderNotification(n, lang)}, maxMessageBlocks)))
			locale := map[string]string{"en": "en-US", "de": "de-DE"}[lang]
			r, err := e.bot.Handle(t.Context(), commands.Request{Org: testOrg, User: commands.Member{ID: "U4", Name: "Dave"},
				Locale: locale, Admin: true, Text: "admin"})
			if err != nil || !strings.Contains(fmt.Sprint(r.Messages), map[string]string{"en": "3 licenses have been unused", "de": "3 Lizenzen sind mindestens"}[lang]) {
				t.Fatalf("admin overview: %v %+v", err, r.Messages)
			}
			checkLimits(t, "admin "+lang, webhooks(messagePosts(r.Messages, maxMessageBlocks)))
		})
	}
}
