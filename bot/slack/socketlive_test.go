package slack

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/socketmode"

	"github.com/billingbot/billingbot/bot/internal/bottest"
)

const testAppToken = "xapp-1-A1-test"

// socketEnv is an env whose adapter runs Socket Mode against a fake of
// Slack's end until stop.
type socketEnv struct {
	*env
	sm   *fakeSocketMode
	ran  chan error
	stop context.CancelFunc
}

// newSocketEnv starts Socket Mode with slack-go's options opts, after
// setup (if any) set the adapter up.
func newSocketEnv(t *testing.T, setup func(*Adapter), opts ...socketmode.Option) *socketEnv {
	t.Helper()
	sm := newFakeSocketMode(t, testAppToken)
	e := newEnv(t, func(c *Config) { socketModeAt(c, sm.apiURL()) })
	sm.serveWith(e.slack)
	if setup != nil {
		setup(e.a)
	}
	ctx, stop := context.WithCancel(t.Context())
	se := &socketEnv{env: e, sm: sm, ran: make(chan error, 1), stop: stop}
	go func() { se.ran <- e.a.runSocketMode(ctx, opts...) }()
	t.Cleanup(func() {
		stop()
		<-se.ran
	})
	return se
}

// slash is the Socket Mode payload of "/billing text" from a user.
func (e *socketEnv) slash(user, text, trigger string) map[string]any {
	return map[string]any{"command": "/billing", "text": text, "team_id": testTeam, "team_domain": "acme", "user_id": user,
		"user_name": strings.ToLower(user), "channel_id": "C100", "trigger_id": trigger,
		"response_url": e.slack.srv.URL + "/hook/" + trigger}
}

// ackFor waits on a socket for the ack of an envelope, skipping the acks
// of others (an envelope handled as its socket closed is acknowledged on
// the next).
func ackFor(t *testing.T, s *fakeSocket, id string) socketAck {
	t.Helper()
	for {
		if a := s.ack(); a.EnvelopeID == id {
			return a
		}
	}
}

// TestSocketModeLive: over a real websocket, as Slack speaks Socket Mode,
// commands, submissions and events are answered (in the ack where the app
// answers there), Slack's disconnect requests and a dropped socket are
// reconnected with a new apps.connections.open, and an envelope Slack sends
// again on the new socket is acknowledged again but handled once: one
// purchase, one answer, one App Home. When ctx ends, Socket Mode's
// goroutines end.
func TestSocketModeLive(t *testing.T) {
	e := newSocketEnv(t, nil)
	e.addCard("U1")
	s1 := e.sm.next()

	// A command answered in the ack.
	s1.send("slash_commands", "env-help", e.slash("U1", "help", "trig-help"), 0)
	if a := ackFor(t, s1, "env-help"); !strings.Contains(string(a.Payload), `"blocks"`) {
		t.Errorf("help ack payload = %s, want the help message", a.Payload)
	}

	// A command that opens a modal: an empty ack, then views.open.
	s1.send("slash_commands", "env-buy-1", e.slash("U1", "buy visio 5", "trig-s1"), 0)
	if a := ackFor(t, s1, "env-buy-1"); len(a.Payload) != 0 && string(a.Payload) != "null" {
		t.Errorf("buy ack payload = %s, want none", a.Payload)
	}
	view, trig := openedView(e.slack.waitFor("views.open"))
	if trig != "trig-s1" {
		t.Errorf("views.open trigger = %q, want trig-s1", trig)
	}

	// Its submission: the ack closes the modal, the purchase is made.
	sub1 := e.submission("U1", "V-OPENED-1", view, shownValues(view))
	s1.send("interactive", "env-sub-1", sub1, 0)
	if a := ackFor(t, s1, "env-sub-1"); !strings.Contains(string(a.Payload), `"response_action":"clear"`) {
		t.Errorf("submission ack payload = %s, want response_action clear", a.Payload)
	}
	if hook := e.slack.waitFor("hook"); !strings.Contains(hook.Body, "Payment in progress") {
		t.Errorf("purchase answer = %s", hook.Body)
	}

	// Slack asks for a new connection: the bot closes this one and opens
	// another with a new ticket.
	s1.disconnect("refresh_requested")
	s1.waitClosed()
	s2 := e.sm.next()
	if n := e.sm.opens(); n != 2 {
		t.Errorf("apps.connections.open called %d times, want 2", n)
	}

	// The submission's ack did not reach Slack: it sends the envelope
	// again on the new socket. Same ack, nothing done twice.
	s2.send("interactive", "env-sub-1", sub1, 1)
	if a := ackFor(t, s2, "env-sub-1"); !strings.Contains(string(a.Payload), `"response_action":"clear"`) {
		t.Errorf("ack of the envelope again = %s, want response_action clear as the first", a.Payload)
	}

	// A second purchase whose socket drops as the submission is sent:
	// handled or not before the drop, Slack's retry on the next socket is
	// acknowledged and the purchase made once.
	s2.send("slash_commands", "env-buy-2", e.slash("U1", "buy power 2", "trig-s2"), 0)
	ackFor(t, s2, "env-buy-2")
	view2, _ := openedView(e.slack.waitFor("views.open"))
	sub2 := e.submission("U1", "V-OPENED-2", view2, shownValues(view2))
	s2.send("interactive", "env-sub-2", sub2, 0)
	s2.drop()
	s3 := e.sm.next()
	s3.send("interactive", "env-sub-2", sub2, 1)
	if a := ackFor(t, s3, "env-sub-2"); !strings.Contains(string(a.Payload), `"response_action":"clear"`) {
		t.Errorf("ack of the retried submission = %s, want response_action clear", a.Payload)
	}
	e.slack.waitFor("hook") // the second purchase's answer

	// An event, then a warning that the socket closes soon, then the
	// event again on the next socket: one App Home.
	home := map[string]any{"type": "event_callback", "team_id": testTeam, "api_app_id": "A1", "event_id": "Ev-home-1", "event_time": 1700000000,
		"event": map[string]any{"type": "app_home_opened", "user": "U1", "channel": "DU1", "tab": "home", "event_ts": "1700000000.000100"}}
	s3.send("events_api", "env-home", home, 0)
	ackFor(t, s3, "env-home")
	e.slack.waitFor("views.publish")
	s3.disconnect("warning")
	s3.waitClosed()
	s4 := e.sm.next()
	s4.send("events_api", "env-home", home, 1)
	ackFor(t, s4, "env-home")

	// Everything the bot does after its acks is done: count.
	e.a.Wait()
	if n := len(e.subs(t, "U1")); n != 2 {
		t.Errorf("%d subscriptions, want 2 (one per purchase)", n)
	}
	for method, want := range map[string]int{"views.open": 2, "hook": 2, "views.publish": 1} {
		if n := e.slack.count(method); n != want {
			t.Errorf("%d %s calls, want %d; calls: %v", n, method, want, e.slack.methods())
		}
	}
	if n := e.sm.opens(); n != 4 {
		t.Errorf("apps.connections.open called %d times, want 4", n)
	}

	// Shutdown: RunSocketMode returns, the socket closes, no goroutine of
	// Socket Mode is left.
	e.stop()
	select {
	case err := <-e.ran:
		if err != nil {
			t.Errorf("RunSocketMode = %v, want nil after ctx ended", err)
		}
		e.ran <- err // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("RunSocketMode did not return after ctx ended")
	}
	s4.waitClosed()
	bottest.NoGoroutines(t, "slack-go/slack/socketmode.", "bot/slack.(*Adapter).RunSocketMode")
}

// TestSocketModeRefusedToken: when Slack refuses the app token, RunSocketMode
// returns the error instead of waiting forever.
func TestSocketModeRefusedToken(t *testing.T) {
	sm := newFakeSocketMode(t, "xapp-1-A1-other")
	e := newEnv(t, func(c *Config) { socketModeAt(c, sm.apiURL()) })
	sm.serveWith(e.slack)
	ran := make(chan error, 1)
	go func() { ran <- e.a.RunSocketMode(t.Context()) }()
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") {
			t.Errorf("RunSocketMode = %v, want invalid_auth", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("RunSocketMode did not return when Slack refused the app token")
	}
	bottest.NoGoroutines(t, "slack-go/slack/socketmode.", "bot/slack.(*Adapter).RunSocketMode")
}

// TestSocketModeConcurrent: requests are handled side by side, as over
// HTTP: a slow one does not hold up the ack of a quick one; Slack's retry
// of the slow one while it is handled waits for it, gets the same ack and
// does not run it again.
func TestSocketModeConcurrent(t *testing.T) {
	e := newSocketEnv(t, func(a *Adapter) { a.ackWithin = time.Minute }) // the slow one is answered in its ack
	release := e.sm.hold("U2")
	s := e.sm.next()
	s.send("slash_commands", "env-slow", e.slash("U2", "help", "trig-slow"), 0)
	s.send("slash_commands", "env-slow", e.slash("U2", "help", "trig-slow"), 1)
	s.send("slash_commands", "env-quick", e.slash("U1", "help", "trig-quick"), 0)
	if a := s.ack(); a.EnvelopeID != "env-quick" || !strings.Contains(string(a.Payload), `"blocks"`) {
		t.Fatalf("first ack %s %s, want the quick one's help", a.EnvelopeID, a.Payload)
	}
	release()
	first, again := s.ack(), s.ack()
	if first.EnvelopeID != "env-slow" || again.EnvelopeID != "env-slow" || string(first.Payload) != string(again.Payload) ||
		!strings.Contains(string(first.Payload), `"blocks"`) {
		t.Errorf("acks %s %s and %s %s, want the slow one's help twice", first.EnvelopeID, first.Payload, again.EnvelopeID, again.Payload)
	}
	e.a.Wait()
	if n := strings.Count(e.logs.String(), "msg=request "); n != 2 {
		t.Errorf("the core ran %d requests, want 2:\n%s", n, e.logs)
	}
}

// TestSocketModePingTimeout: when Slack stops pinging, the bot takes the
// socket for dead and opens another.
func TestSocketModePingTimeout(t *testing.T) {
	e := newSocketEnv(t, nil, socketmode.OptionPingInterval(time.Second))
	s1 := e.sm.next()
	s1.quiet.Store(true)
	s2 := e.sm.next()
	s1.waitClosed()
	s2.send("slash_commands", "env-help", e.slash("U1", "help", "trig-help"), 0)
	if a := ackFor(t, s2, "env-help"); !strings.Contains(string(a.Payload), `"blocks"`) {
		t.Errorf("help on the new socket: ack %s", a.Payload)
	}
}

// TestAckLog: an envelope is first delivered once while it is kept; the
// envelopes kept are bounded by count and age.
func TestAckLog(t *testing.T) {
	now := t0
	l := newAckLog(time.Minute, 2)
	l.now = func() time.Time { return now }
	a, first := l.begin("a")
	if !first {
		t.Fatal("a is not new")
	}
	a.finish(json.RawMessage(`{"x":1}`), true)
	if again, first := l.begin("a"); first || again != a {
		t.Error("a again is new")
	}
	l.begin("b")
	l.begin("c")
	if _, first := l.begin("a"); !first {
		t.Error("a is kept beyond the limit of 2")
	}
	now = now.Add(2 * time.Minute)
	if _, first := l.begin("c"); !first {
		t.Error("c is kept after its time")
	}
	if _, kept := l.byID["c"]; len(l.byID) != 1 || !kept {
		t.Errorf("envelopes kept %v, want only c", l.byID)
	}
	if _, first := l.begin("c"); first {
		t.Error("c is new again after it came again")
	}
	if _, first := l.begin(""); !first {
		t.Error("an envelope without id counts as handled")
	}
	if _, first := l.begin(""); !first || len(l.byID) != 1 {
		t.Error("an envelope without id is kept")
	}
}

// socketModeAt configures Socket Mode against the fake at apiURL; answers
// still go to the response_urls of the Web API fake the config had.
func socketModeAt(c *Config, apiURL string) {
	if u, err := url.Parse(c.APIURL); err == nil {
		c.ResponseURLHosts = append(c.ResponseURLHosts, u.Host)
	}
	c.AppToken, c.APIURL = testAppToken, apiURL
}
