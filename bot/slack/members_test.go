package slack

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// userChange is a signed Events API user_change (or team_join) of a user.
func (e *env) userChange(t *testing.T, typ, eventID, user string, deleted bool) int {
	t.Helper()
	ev := map[string]any{"type": "event_callback", "team_id": testTeam, "event_id": eventID,
		"event": map[string]any{"type": typ, "user": map[string]any{"id": user, "team_id": testTeam, "deleted": deleted,
			"profile": map[string]any{"real_name": "Alice"}}}}
	return e.post("application/json", mustJSON(t, ev)).Code
}

// TestHandoverEvents: a purchaser's account is deactivated (user_change
// with deleted): the admin gets the question with buttons, clicks Take
// over, picks a payment method in the modal and becomes the purchaser.
// The same event again, or someone's profile change, changes nothing.
func TestHandoverEvents(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	sub := e.buyVisio("U1")
	e.deliver() // the purchase's notification
	if code := e.userChange(t, "user_change", "EvP", "U2", false); code != http.StatusOK {
		t.Fatalf("profile change: %d", code)
	}
	if code := e.userChange(t, "user_change", "EvL", "U1", true); code != http.StatusOK {
		t.Fatalf("user_change deleted: %d", code)
	}
	if code := e.userChange(t, "user_change", "EvL", "U1", true); code != http.StatusOK { // Slack's retry
		t.Fatalf("retry: %d", code)
	}
	s, err := e.st.Subscription(context.Background(), testOrg, sub)
	if err != nil || s.Handover != store.HandoverPending {
		t.Fatalf("after leaving: %q, %v", s.Handover, err)
	}
	before := e.slack.count("chat.postMessage")
	e.deliver()
	if n := e.slack.count("chat.postMessage") - before; n != 1 {
		t.Fatalf("%d messages posted for the leaving, want 1 (to the admin)", n)
	}
	var ask apiCall
	for range e.slack.count("chat.postMessage") {
		ask = e.slack.waitFor("chat.postMessage")
	}
	if ask.Form.Get("channel") != "DU4" || !strings.Contains(ask.Form.Get("blocks"), "admin handover take "+sub) {
		t.Fatalf("question to %s: %s", ask.Form.Get("channel"), ask.Form.Get("blocks"))
	}
	// Dave clicks Take over without a payment method: told to add one.
	click := map[string]any{"type": "block_actions", "team": map[string]any{"id": testTeam},
		"user": map[string]any{"id": "U4", "team_id": testTeam}, "trigger_id": "trig-take",
		"channel":   map[string]any{"id": "DU4"},
		"container": map[string]any{"type": "message", "channel_id": "DU4", "message_ts": "1700000000.000100"},
		"actions":   []any{map[string]any{"type": "button", "action_id": "btn-0-0", "value": "admin handover take " + sub}}}
	e.addCard("U4")
	if w := e.interact(click); w.Code != http.StatusOK {
		t.Fatalf("click: %d %s", w.Code, w.Body)
	}
	view, _ := openedView(e.slack.waitFor("views.open"))
	if view["callback_id"] != "handover" {
		t.Fatalf("opened %v", view["callback_id"])
	}
	w := e.interact(e.submission("U4", "V-TAKE", view, shownValues(view)))
	if !strings.Contains(w.Body.String(), `"response_action":"clear"`) {
		t.Fatalf("submission answered %s, want the modal closed", w.Body)
	}
	e.a.wg.Wait()
	s, _ = e.st.Subscription(context.Background(), testOrg, sub)
	if s.Purchaser.ID != "U4" || s.Handover != store.HandoverTaken || s.MethodID != e.methodID("U4") {
		t.Fatalf("after taking over: purchaser %s, handover %q, method %s", s.Purchaser.ID, s.Handover, s.MethodID)
	}
}

// TestMemberEventFails: when the core cannot record a leaving, Slack is
// answered 500, so that it sends the event again.
func TestMemberEventFails(t *testing.T) {
	mr := miniredis.RunT(t)
	e := newEnvAt(t, mr.Addr())
	e.addCard("U1")
	e.buyVisio("U1")
	mr.Close()
	if code := e.userChange(t, "user_change", "EvX", "U1", true); code != http.StatusInternalServerError {
		t.Errorf("with Redis down: %d, want 500", code)
	}
}

// TestHandoverLimits: the handover's forms, list and notifications, in
// English and German, hold Block Kit's limits.
func TestHandoverLimits(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			e.addCard("U1")
			sub := e.buyVisio("U1")
			ctx := context.Background()
			locale := map[string]string{"en": "en-US", "de": "de-DE"}[lang]
			dir := people{"U1": {ID: "U1", Name: "Alice"}, "UA1": {ID: "UA1", Name: "Ada Admin"}}
			handle := func(user, text string, form ...*commands.Submission) commands.Response {
				t.Helper()
				req := commands.Request{Org: testOrg, User: dir[user], Locale: locale, Admin: true, Members: dir, Text: text}
				if len(form) > 0 {
					req.Form = form[0]
				}
				resp, err := e.bot.Handle(ctx, req)
				if err != nil || resp.Lang != lang {
					t.Fatalf("%q: %v, in %q", text, err, resp.Lang)
				}
				return resp
			}
			trial := subIDOf(t, handle("U1", "", &commands.Submission{FormID: commands.FormTrial,
				Values: map[string][]string{"product": {"project-plan-3"}}}), "assign ")
			if err := e.bot.MemberLeft(ctx, testOrg, "U1"); err != nil {
				t.Fatal(err)
			}
			e.addCard("UA1")
			meta := metadata{Channel: "C100"}
			for _, line := range []string{"admin handover take " + sub, "admin handover cancel " + sub, "admin handover take " + trial} {
				resp := handle("UA1", line)
				if resp.Form == nil {
					t.Fatalf("%q opened no form: %+v", line, resp.Messages)
				}
				checkLimits(t, line, e.a.modal(resp.Form, meta, lang))
			}
			checkLimits(t, "list", webhooks(messagePosts(handle("UA1", "admin handover").Messages, maxMessageBlocks)))
			for _, kind := range []commands.NotificationKind{commands.NoteHandover, commands.NoteHandoverReminder,
				commands.NoteHandoverDecided, commands.NoteHandoverBack, commands.NoteHandoverLapsed, commands.NoteLicenseFreed} {
				n := commands.Notification{Org: testOrg, Kind: kind, Sub: commands.NotifiedSub{ID: sub, ProductID: "visio-plan-2",
					Product: "Visio Plan 2", Purchaser: strings.Repeat("Alice ", 12), Person: strings.Repeat("Ada ", 20),
					Licenses: 5, Price: 6300, Currency: "EUR", Period: "monthly", Expires: t0.AddDate(0, 1, 0), Reason: "take"}}
				checkLimits(t, string(kind), webhooks(messagePosts([]commands.Message{e.bot.RenderNotification(n, lang)}, maxMessageBlocks)))
			}
		})
	}
}

// subIDOf reads a subscription id from the button whose command starts
// with prefix.
func subIDOf(t *testing.T, r commands.Response, prefix string) string {
	t.Helper()
	for _, m := range r.Messages {
		for _, b := range m.Buttons {
			if id, ok := strings.CutPrefix(b.Command, prefix); ok {
				return id
			}
		}
	}
	t.Fatalf("no %q button: %+v", prefix, r.Messages)
	return ""
}

// TestMemberBackEvent: a deactivated purchaser's account active again
// (user_change without deleted) withdraws the handover no admin decided;
// team_join of someone who never left changes nothing.
func TestMemberBackEvent(t *testing.T) {
	e := newEnv(t)
	e.addCard("U1")
	sub := e.buyVisio("U1")
	for _, ev := range []struct {
		typ, id, user string
		deleted       bool
		want          store.HandoverState
	}{
		{"team_join", "EvJ", "U2", false, ""},
		{"user_change", "EvL", "U1", true, store.HandoverPending},
		{"user_change", "EvB", "U1", false, store.HandoverWithdrawn},
	} {
		if code := e.userChange(t, ev.typ, ev.id, ev.user, ev.deleted); code != http.StatusOK {
			t.Fatalf("%s %s: %d", ev.typ, ev.user, code)
		}
		if s, err := e.st.Subscription(context.Background(), testOrg, sub); err != nil || s.Handover != ev.want {
			t.Errorf("after %s of %s (deleted %v): handover %q, %v; want %q", ev.typ, ev.user, ev.deleted, s.Handover, err, ev.want)
		}
	}
}
