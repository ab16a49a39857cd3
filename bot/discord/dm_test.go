package discord

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
)

// dmClick is a click on a button of a message in alice's direct messages
// (a notification's), whose custom id names the guild.
func (e *env) dmClick(customID string) []byte {
	e.t.Helper()
	id := fmt.Sprint(300000000000000000 + e.seq.Add(1))
	doc, err := json.Marshal(map[string]any{"id": id, "application_id": testApp, "type": itComponent, "token": "tok" + id,
		"channel_id": "400000000000000009", "locale": "en-US", "user": map[string]any{"id": alice, "username": "alice"},
		"data": map[string]any{"custom_id": customID, "component_type": 2}})
	if err != nil {
		e.t.Fatal(err)
	}
	return doc
}

// TestTrialReminderInDM: the trial reminder's Cancel now, clicked in the
// direct message it came in, asks for a confirmation whose buttons work
// there too, and the confirmation ends the trial.
func TestTrialReminderInDM(t *testing.T) {
	e := newEnv(t)
	resp, err := e.bot.Handle(t.Context(), commands.Request{Org: testOrg, User: commands.Member{ID: alice, Name: "Alice Adams"},
		Locale: "en-US", Form: &commands.Submission{FormID: commands.FormTrial, Values: map[string][]string{"product": {"visio-plan-2"}}}})
	if err != nil || len(resp.Messages) == 0 {
		t.Fatalf("trial: %v %+v", err, resp)
	}
	sub := ""
	for _, b := range resp.Messages[0].Buttons {
		if id, ok := strings.CutPrefix(b.Command, "assign "); ok {
			sub = id
		}
	}
	n := commands.Notification{Org: testOrg, To: alice, Kind: commands.NoteReminder,
		Sub: commands.NotifiedSub{ID: sub, ProductID: "visio-plan-2", Product: "Visio Plan 2", Licenses: 25}}
	msgs := (renderer{a: e.a, ctx: t.Context(), org: testOrg, guild: testGuild}).messages([]commands.Message{e.bot.RenderNotification(n, "en")})
	end := "d:" + testGuild + ":trial end " + sub
	if !strings.Contains(text(map[string]any{"m": msgs}), `"custom_id":"`+end+`"`) {
		t.Fatalf("the reminder in a DM has no %q button: %s", end, text(map[string]any{"m": msgs}))
	}

	_, data := answer(t, e.post(e.dmClick(end)))
	confirm := dmConfirmPrefix + testGuild + ":trial end " + sub + " confirm"
	if s := text(data); !strings.Contains(s, "End your trial now?") || !strings.Contains(s, `"custom_id":"`+confirm+`"`) {
		t.Fatalf("confirmation in the DM: %s", s)
	}
	_, data = answer(t, e.post(e.dmClick(confirm)))
	if s := text(data); !strings.Contains(s, "Your trial of Visio Plan 2 has ended today.") {
		t.Errorf("after the confirmation: %s", s)
	}
}

// TestTrialConvertInDM: the trial reminder's Convert, clicked in the
// direct message it came in, opens the buy form with the trial's licenses,
// and its submission from the DM buys the trial.
func TestTrialConvertInDM(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	if _, err := e.bot.Handle(t.Context(), commands.Request{Org: testOrg, User: commands.Member{ID: alice, Name: "Alice Adams"},
		Locale: "en-US", Form: &commands.Submission{FormID: commands.FormTrial, Values: map[string][]string{"product": {"visio-plan-2"}}}}); err != nil {
		t.Fatal(err)
	}
	typ, data := answer(t, e.post(e.dmClick("d:"+testGuild+":buy visio-plan-2 25")))
	if typ != cbModal {
		t.Fatalf("Convert: type %d, want a modal: %s", typ, text(data))
	}
	modalID := data["custom_id"].(string)
	if !strings.HasPrefix(modalID, dmFormPrefix+testGuild+":") {
		t.Errorf("modal id %q does not name the guild", modalID)
	}
	inputs := modalInputs(t, data)
	if v := inputs["licenses"]["value"]; v != "25" {
		t.Errorf("licenses prefilled %v, want 25", v)
	}
	method := ""
	for _, o := range inputs["method"]["options"].([]any) {
		method = o.(map[string]any)["value"].(string)
	}
	id := fmt.Sprint(300000000000000000 + e.seq.Add(1))
	doc, err := json.Marshal(map[string]any{"id": id, "application_id": testApp, "type": itModalSubmit, "token": "tok" + id,
		"channel_id": "400000000000000009", "locale": "en-US", "user": map[string]any{"id": alice, "username": "alice"},
		"data": submission(modalID, map[string][]string{"product": {"visio-plan-2"}, "licenses": {"25"}, "period": {"monthly"},
			"method": {method}}, "licenses")})
	if err != nil {
		t.Fatal(err)
	}
	_, data = answer(t, e.post(doc))
	// Asked to confirm, with buttons that name the guild, so that they
	// can be clicked in the DM.
	if s := text(data); !strings.Contains(s, "Your trial of this product becomes the subscription.") ||
		!strings.Contains(s, "Pay €315.00") || !strings.Contains(s, `"`+dmConfirmPrefix+testGuild+`:confirm `) {
		t.Errorf("submitted from the DM: %s", s)
	}
}

// TestConfirmationInDM: a confirmation in a direct message (of a trial
// reminder's Convert) is answered in its place there too: Back opens the
// form again and leaves no Pay behind, and Pay's answer replaces it.
func TestConfirmationInDM(t *testing.T) {
	e := newEnv(t)
	e.card(alice)
	if _, err := e.bot.Handle(t.Context(), commands.Request{Org: testOrg, User: commands.Member{ID: alice, Name: "Alice Adams"},
		Locale: "en-US", Form: &commands.Submission{FormID: commands.FormTrial, Values: map[string][]string{"product": {"visio-plan-2"}}}}); err != nil {
		t.Fatal(err)
	}
	// submit submits the buy form a DM's button opened, from the DM; from
	// is the confirmation whose Back opened it (nil: none), whose place the
	// answer then takes.
	submit := func(modal, from map[string]any) map[string]any {
		t.Helper()
		inputs := modalInputs(t, modal)
		method := ""
		for _, o := range inputs["method"]["options"].([]any) {
			method = o.(map[string]any)["value"].(string)
		}
		id := fmt.Sprint(300000000000000000 + e.seq.Add(1))
		doc, err := json.Marshal(map[string]any{"id": id, "application_id": testApp, "type": itModalSubmit, "token": "tok" + id,
			"channel_id": "400000000000000009", "locale": "en-US", "user": map[string]any{"id": alice, "username": "alice"},
			"data": submission(modal["custom_id"].(string), map[string][]string{"product": {"visio-plan-2"}, "licenses": {"25"},
				"period": {"monthly"}, "method": {method}}, "licenses")})
		if err != nil {
			t.Fatal(err)
		}
		want := cbMessage
		if from != nil {
			doc, want = e.withMessage(doc, from), cbUpdate
		}
		typ, data := answer(t, e.post(doc))
		if typ != want {
			t.Fatalf("submitted from the DM: %d %s, want a confirmation (%d)", typ, text(data), want)
		}
		return data
	}
	typ, modal := answer(t, e.post(e.dmClick("d:"+testGuild+":buy visio-plan-2 25")))
	if typ != cbModal {
		t.Fatalf("Convert: type %d, want a modal: %s", typ, text(modal))
	}
	confirm := submit(modal, nil)
	bs := buttonsOf(confirm)
	if len(bs) != 2 {
		t.Fatalf("confirmation buttons %v, want Pay and Back", bs)
	}
	back := bs[1]["custom_id"].(string)
	if !strings.HasPrefix(back, dmConfirmPrefix+testGuild+":") {
		t.Fatalf("Back %q is not a confirmation button that names the guild", back)
	}
	click := e.dmClick(back)
	typ, modal = answer(t, e.post(click))
	if typ != cbModal || !strings.HasPrefix(modal["custom_id"].(string), dmFormPrefix+testGuild+":") {
		t.Fatalf("Back in the DM: %d %s, want the modal again, naming the guild", typ, text(modal))
	}

	bs = buttonsOf(submit(modal, confirm))
	typ, paid := answer(t, e.post(e.dmClick(bs[0]["custom_id"].(string))))
	if typ != cbUpdate || !strings.Contains(text(paid), "Payment in progress") {
		t.Errorf("Pay in the DM: %d %s, want the payment in the confirmation's place", typ, text(paid))
	}
	for _, b := range buttonsOf(paid) {
		if id, _ := b["custom_id"].(string); strings.HasPrefix(id, dmConfirmPrefix) {
			t.Errorf("the answer to Pay keeps a confirmation button %v", b)
		}
	}
}

// TestDMButtonOfNonMember: a button or a form in a direct message names its
// guild in its custom id, which anybody can write. Someone who is not a
// member of that guild is refused, in their language, and nothing is
// done there: no payment link, no form, nothing written for them; a
// member's click still works.
func TestDMButtonOfNonMember(t *testing.T) {
	const carol = "200000000000000003" // not a member of testGuild (the fake answers 404)
	e := newEnv(t)
	e.card(alice)
	dmBy := func(userID, locale string, typ int, data map[string]any) []byte {
		id := fmt.Sprint(300000000000000000 + e.seq.Add(1))
		doc, err := json.Marshal(map[string]any{"id": id, "application_id": testApp, "type": typ, "token": "tok" + id,
			"channel_id": "400000000000000009", "locale": locale, "user": map[string]any{"id": userID, "username": "carol"},
			"data": data})
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	click := func(cmd string) map[string]any { return map[string]any{"custom_id": cmd, "component_type": 2} }
	links := len(e.keys(t, "*paylink*"))
	for _, tc := range []struct {
		name, locale string
		typ          int
		data         map[string]any
		want         string
	}{
		{"payment add", "en-US", itComponent, click("d:" + testGuild + ":payment add default"),
			"You are not a member of the server this belongs to"},
		{"buy", "de", itComponent, click("d:" + testGuild + ":buy visio-plan-2 25"),
			"Sie sind kein Mitglied des Servers"},
		{"confirm", "en-US", itComponent, click("d:" + testGuild + ":confirm abcdefgh"),
			"You are not a member of the server this belongs to"},
		{"form", "en-US", itModalSubmit, submission(dmFormPrefix+testGuild+":1:"+commands.FormTrial,
			map[string][]string{"product": {"visio-plan-2"}}),
			"You are not a member of the server this belongs to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			typ, data := answer(t, e.post(dmBy(carol, tc.locale, tc.typ, tc.data)))
			if typ != cbMessage || !strings.Contains(text(data), tc.want) {
				t.Errorf("answer %d %s, want a message with %q", typ, text(data), tc.want)
			}
			if f, _ := data["flags"].(float64); int(f)&flagEphemeral == 0 {
				t.Errorf("refusal is not ephemeral: %s", text(data))
			}
		})
	}
	for _, k := range e.keys(t) {
		if strings.Contains(k, carol) && !strings.Contains(k, ":cache:member:"+carol) {
			t.Errorf("key %s written for a non-member", k)
		}
	}
	if n := len(e.keys(t, "*paylink*")); n != links {
		t.Errorf("%d payment links after the non-member's clicks, want %d", n, links)
	}
	// A member's click from the DM still works.
	_, data := answer(t, e.post(dmBy(alice, "en-US", itComponent, click("d:"+testGuild+":payment"))))
	if s := text(data); strings.Contains(s, "not a member") {
		t.Errorf("a member was refused: %s", s)
	}
}

// keys lists the Redis keys that match pattern ("*": all).
func (e *env) keys(t *testing.T, pattern ...string) []string {
	t.Helper()
	p := "*"
	if len(pattern) > 0 {
		p = pattern[0]
	}
	keys, err := e.st.Client().Keys(t.Context(), p).Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}
