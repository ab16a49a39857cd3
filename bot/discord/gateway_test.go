package discord

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/billingbot/billingbot/bot/internal/bottest"
)

// gatewayEnv is an env whose adapter runs the gateway against a fake of
// Discord's until stop.
type gatewayEnv struct {
	*env
	gw   *fakeGateway
	ran  chan error
	stop context.CancelFunc
}

// gatewayHeartbeat is the fake's heartbeat interval (ms). discordgo
// reconnects after 5 intervals without an ACK: long enough that a busy
// machine does not miss one, short enough for a test.
const gatewayHeartbeat = 200

// newGatewayEnv starts RunGateway against a fake gateway whose bot token
// is token.
func newGatewayEnv(t *testing.T, token string) *gatewayEnv {
	t.Helper()
	e := newEnv(t)
	gw := newFakeGateway(t, e.fake.srv.Config.Handler, token, gatewayHeartbeat)
	a, err := New(Config{AppID: testApp, BotToken: "token", APIURL: gw.apiURL(), HTTPClient: e.fake.srv.Client(), Log: e.a.cfg.Log}, e.bot, e.st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Wait)
	e.a = a
	// discordgo's endpoints are package variables that RunGateway points
	// at the fake: put them back afterwards.
	api, gwURL, gwBot := discordgo.EndpointAPI, discordgo.EndpointGateway, discordgo.EndpointGatewayBot
	t.Cleanup(func() {
		discordgo.EndpointAPI, discordgo.EndpointGateway, discordgo.EndpointGatewayBot = api, gwURL, gwBot
	})
	ctx, stop := context.WithCancel(t.Context())
	ge := &gatewayEnv{env: e, gw: gw, ran: make(chan error, 1), stop: stop}
	go func() { ge.ran <- a.RunGateway(ctx) }()
	t.Cleanup(func() {
		stop()
		<-ge.ran
	})
	return ge
}

// raw is an interaction as the d of a dispatch.
func raw(doc []byte) json.RawMessage { return json.RawMessage(doc) }

// callbackOf waits for the callback of an interaction and decodes it.
func (e *gatewayEnv) callbackOf(id string) (int, map[string]any) {
	e.t.Helper()
	c := e.fake.nextTo(e.t, http.MethodPost, "/interactions/"+id+"/tok"+id+"/callback")
	var cb struct {
		Type int            `json:"type"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal(c.Body, &cb); err != nil {
		e.t.Fatalf("callback %s: %v", c.Body, err)
	}
	return cb.Type, cb.Data
}

// TestGatewayLive: over a real websocket, as Discord's gateway speaks,
// the bot identifies with its token and intents, heartbeats with the last
// sequence number, answers interactions through the REST callback (a
// purchase: the modal, the confirmation, Pay), reconnects and resumes its
// session when heartbeat ACKs stop and on op 7 RECONNECT, and answers
// every interaction once: the one Discord replays after a resume (the same
// sequence number) is not answered again, the one the lost connection
// missed is. When ctx ends, discordgo's goroutines end.
func TestGatewayLive(t *testing.T) {
	e := newGatewayEnv(t, "token")
	e.card(alice)

	c1 := e.gw.next()
	var identify struct {
		Token      string            `json:"token"`
		Intents    int               `json:"intents"`
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(c1.first.D, &identify); err != nil || c1.first.Op != 2 {
		t.Fatalf("first payload op %d %s, want IDENTIFY", c1.first.Op, c1.first.D)
	}
	if identify.Token != "Bot token" || identify.Intents != int(discordgo.IntentsGuilds) ||
		identify.Properties["os"]+identify.Properties["$os"] == "" { // discordgo sends the older $os
		t.Errorf("IDENTIFY token %q intents %d properties %v, want the bot token and GUILDS", identify.Token, identify.Intents, identify.Properties)
	}
	c1.ready("sess-1")
	if s := c1.beat(); s != 1 {
		t.Errorf("heartbeat with sequence %d, want 1 (READY's)", s)
	}

	// A purchase: /billing buy opens the modal, its submission asks to
	// confirm, Pay buys.
	const buyID, submitID, payID, missedID, newID = "330000000000000101", "330000000000000102", "330000000000000103", "330000000000000104", "330000000000000105"
	c1.dispatch("INTERACTION_CREATE", raw(e.interaction(aliceEN, itCommand, command("buy"), buyID)))
	typ, modal := e.callbackOf(buyID)
	if typ != cbModal {
		t.Fatalf("/billing buy answered %d %s, want the modal", typ, text(modal))
	}
	c1.dispatch("INTERACTION_CREATE", raw(e.interaction(aliceEN, itModalSubmit, submission(modal["custom_id"].(string), map[string][]string{
		"product": {"project-plan-3"}, "licenses": {"5"}, "period": {"annual"}, "method": {e.methodID(alice)}}, "licenses"), submitID)))
	typ, confirm := e.callbackOf(submitID)
	pay, _ := confirmation(t, typ, confirm)
	paySeq := c1.dispatch("INTERACTION_CREATE", raw(e.click(aliceEN, confirm, pay, payID)))
	if typ, bought := e.callbackOf(payID); typ != cbUpdate || !strings.Contains(text(bought), "Payment in progress") {
		t.Fatalf("Pay answered %d %s, want the purchase", typ, text(bought))
	}

	// Discord stops ACKing heartbeats: the bot closes the connection,
	// connects again and resumes with the session and the last sequence
	// number. An interaction sent to the dead connection is missed.
	c1.acking.Store(false)
	c1.waitClosed()
	missed := e.gw.record("INTERACTION_CREATE", raw(e.interaction(bobEN, itCommand, command("help"), missedID)))
	c2 := e.gw.next()
	var resume struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(c2.first.D, &resume); err != nil || c2.first.Op != 6 {
		t.Fatalf("after the missed ACKs: op %d %s, want RESUME", c2.first.Op, c2.first.D)
	}
	if resume.Token != "Bot token" || resume.SessionID != "sess-1" || resume.Seq != paySeq {
		t.Errorf("RESUME %+v, want session sess-1 at sequence %d", resume, paySeq)
	}
	// Discord replays from Pay on (Pay again, with its sequence number,
	// then the missed one) and says RESUMED.
	c2.resumed(paySeq)
	if typ, help := e.callbackOf(missedID); typ != cbMessage || !strings.Contains(text(help), "/billing buy") {
		t.Errorf("the missed interaction answered %d %s, want help", typ, text(help))
	}
	for s := c2.beat(); s < missed.S; s = c2.beat() { // the heartbeats catch up with the replay
	}

	// Op 7 RECONNECT: the bot reconnects and resumes again.
	if err := c2.send(gatewayMsg{Op: 7}); err != nil {
		t.Fatal(err)
	}
	c2.waitClosed()
	c3 := e.gw.next()
	if err := json.Unmarshal(c3.first.D, &resume); err != nil || c3.first.Op != 6 || resume.SessionID != "sess-1" || resume.Seq < missed.S {
		t.Fatalf("after op 7: op %d %s, want RESUME of sess-1 at %d or later", c3.first.Op, c3.first.D, missed.S)
	}
	c3.resumed(missed.S) // the missed one again
	c3.dispatch("INTERACTION_CREATE", raw(e.interaction(aliceDE, itCommand, command("help"), newID)))
	if typ, help := e.callbackOf(newID); typ != cbMessage || !strings.Contains(text(help), e.bot.Text("de", "CmdBuy")) {
		t.Errorf("after op 7: answered %d %s, want German help", typ, text(help))
	}

	// Shutdown: RunGateway returns after the interactions in hand are
	// answered; then every interaction was answered once, one purchase made.
	e.stop()
	select {
	case err := <-e.ran:
		if err != nil {
			t.Errorf("RunGateway = %v, want nil after ctx ended", err)
		}
		e.ran <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("RunGateway did not return after ctx ended")
	}
	c3.waitClosed()
	for _, id := range []string{buyID, submitID, payID, missedID, newID} {
		if n := e.gw.callbacks(id); n != 1 {
			t.Errorf("interaction %s answered %d times, want once", id, n)
		}
	}
	if subs := e.subsOf(alice); len(subs) != 1 {
		t.Errorf("%d subscriptions, want 1", len(subs))
	}
	bottest.NoGoroutines(t, "bwmarrin/discordgo.", "bot/discord.(*Adapter).RunGateway")
}

// TestGatewayBadToken: a token the gateway refuses (close 4004) ends
// RunGateway with the error, and nothing keeps running.
func TestGatewayBadToken(t *testing.T) {
	e := newGatewayEnv(t, "another-token")
	select {
	case err := <-e.ran:
		if err == nil || !strings.Contains(err.Error(), "4004") {
			t.Errorf("RunGateway = %v, want the gateway's 4004", err)
		}
		e.ran <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("RunGateway did not return when the gateway refused the token")
	}
	bottest.NoGoroutines(t, "bwmarrin/discordgo.", "bot/discord.(*Adapter).RunGateway")
}

// TestGatewayStopWhileReconnecting: when ctx ends while the gateway
// refuses new connections, RunGateway returns and stops reconnecting.
func TestGatewayStopWhileReconnecting(t *testing.T) {
	e := newGatewayEnv(t, "token")
	c := e.gw.next()
	c.ready("sess-1")
	c.beat()
	e.gw.down.Store(true)
	c.conn.Close()
	select {
	case <-e.gw.refused: // the bot tried to reconnect
	case <-time.After(15 * time.Second):
		t.Fatal("the bot did not try to reconnect")
	}
	e.stop()
	select {
	case err := <-e.ran:
		if err != nil {
			t.Errorf("RunGateway = %v, want nil after ctx ended", err)
		}
		e.ran <- err
	case <-time.After(15 * time.Second):
		t.Fatal("RunGateway did not return after ctx ended")
	}
	bottest.NoGoroutines(t, "bwmarrin/discordgo.", "bot/discord.(*Adapter).RunGateway", "bot/discord.(*Adapter).reopen")
}

// TestInteractionLog: an interaction id is claimed once while it is kept,
// ids are kept bounded by count and age, and nothing is claimed after stop.
func TestInteractionLog(t *testing.T) {
	now := time.Now()
	l := newInteractionLog(time.Minute, 2)
	l.now = func() time.Time { return now }
	ev := func(id string) *discordgo.Event {
		return &discordgo.Event{Type: "INTERACTION_CREATE", RawData: json.RawMessage(`{"id":"` + id + `","type":2}`)}
	}
	claim := func(e *discordgo.Event) bool {
		ok := l.claim(e)
		if ok {
			l.done()
		}
		return ok
	}
	if !claim(ev("1")) || claim(ev("1")) {
		t.Error("interaction 1 not claimed exactly once")
	}
	if !claim(&discordgo.Event{Type: "MESSAGE_CREATE"}) || !claim(&discordgo.Event{Type: "MESSAGE_CREATE"}) {
		t.Error("events without an interaction id are not passed on")
	}
	claim(ev("2"))
	claim(ev("3"))
	if !claim(ev("1")) {
		t.Error("interaction 1 kept beyond the limit of 2")
	}
	now = now.Add(2 * time.Minute)
	if !claim(ev("3")) {
		t.Error("interaction 3 kept after its time")
	}
	if _, kept := l.at["3"]; len(l.at) != 1 || !kept {
		t.Errorf("ids kept %v, want only 3", l.at)
	}
	if claim(ev("3")) {
		t.Error("interaction 3 claimed twice after it came again")
	}
	l.stop()
	if claim(ev("4")) {
		t.Error("claimed after stop")
	}
}
