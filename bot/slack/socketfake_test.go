package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeSocketMode is Slack's end of Socket Mode on httptest: its Web API
// answers apps.connections.open (with the app-level token) with the URL of
// a new socket, a ticket that works once, and hands every other method to
// the fake Web API; each socket says hello, pings as Slack does, sends what
// the test sends and reports the acks it receives.
type fakeSocketMode struct {
	t        *testing.T
	appToken string
	api, ws  *httptest.Server

	mu      sync.Mutex
	web     *fakeSlack               // the other Web API methods
	held    map[string]chan struct{} // user → users.info waits until closed
	opened  int                      // apps.connections.open calls answered
	tickets map[string]bool          // tickets given out → used
	all     []*fakeSocket
	sockets chan *fakeSocket // new sockets, for next
}

// fakeSocket is one Socket Mode connection, on Slack's side.
type fakeSocket struct {
	t      *testing.T
	n      int // 1 for the first connection
	wmu    sync.Mutex
	conn   *websocket.Conn
	acks   chan socketAck
	closed chan struct{} // closed when the bot's side is gone
	quiet  atomic.Bool   // no more pings
}

// socketAck is what the bot sends back for an envelope.
type socketAck struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// socketPing is how often a fake socket pings: Slack pings every few
// seconds, the client reconnects when it has not for 30.
const socketPing = 50 * time.Millisecond

// newFakeSocketMode starts the fake; serveWith gives it the fake Web API
// once the env has one.
func newFakeSocketMode(t *testing.T, appToken string) *fakeSocketMode {
	f := &fakeSocketMode{t: t, appToken: appToken, tickets: map[string]bool{}, held: map[string]chan struct{}{}, sockets: make(chan *fakeSocket, 16)}
	f.api = httptest.NewServer(http.HandlerFunc(f.serveAPI))
	f.ws = httptest.NewServer(http.HandlerFunc(f.serveSocket))
	t.Cleanup(func() {
		f.mu.Lock()
		for _, s := range f.all {
			s.conn.Close()
		}
		f.mu.Unlock()
		f.ws.Close()
		f.api.Close()
	})
	return f
}

// serveWith hands the Web API methods but apps.connections.open to web.
func (f *fakeSocketMode) serveWith(web *fakeSlack) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.web = web
}

// hold makes users.info of a user wait until release: a request of theirs
// is slow.
func (f *fakeSocketMode) hold(user string) (release func()) {
	c := make(chan struct{})
	f.mu.Lock()
	f.held[user] = c
	f.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(c) }) }
	f.t.Cleanup(release)
	return release
}

// apiURL is the Web API's base URL, for Config.APIURL.
func (f *fakeSocketMode) apiURL() string { return f.api.URL + "/api/" }

func (f *fakeSocketMode) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/apps.connections.open" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		f.mu.Lock()
		web, held := f.web, f.held[form.Get("user")]
		f.mu.Unlock()
		if r.URL.Path == "/api/users.info" && held != nil {
			select {
			case <-held:
			case <-r.Context().Done():
				return
			}
		}
		web.serve(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+f.appToken {
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	f.mu.Lock()
	f.opened++
	ticket := fmt.Sprintf("ticket-%d", f.opened)
	f.tickets[ticket] = false
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"ok": true,
		"url": "ws" + strings.TrimPrefix(f.ws.URL, "http") + "/link/?ticket=" + ticket})
}

var socketUpgrader = websocket.Upgrader{
	// The client says it comes from Slack's API, as slack-go does.
	CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" },
}

func (f *fakeSocketMode) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	f.mu.Lock()
	used, known := f.tickets[ticket]
	f.tickets[ticket] = true
	f.mu.Unlock()
	if r.URL.Path != "/link/" || !known || used {
		http.Error(w, "unknown or used ticket", http.StatusUnauthorized)
		return
	}
	conn, err := socketUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	f.mu.Lock()
	s := &fakeSocket{t: f.t, n: len(f.all) + 1, conn: conn, acks: make(chan socketAck, 64), closed: make(chan struct{})}
	f.all = append(f.all, s)
	f.mu.Unlock()
	s.write(map[string]any{"type": "hello", "num_connections": 1,
		"debug_info": map[string]any{"host": "applink-test", "approximate_connection_time": 18060}, "connection_info": map[string]any{"app_id": "A1"}})
	go s.read()
	go s.ping()
	f.sockets <- s
}

// next waits for the bot's next socket.
func (f *fakeSocketMode) next() *fakeSocket {
	f.t.Helper()
	select {
	case s := <-f.sockets:
		return s
	case <-time.After(15 * time.Second):
		f.t.Fatal("the bot opened no new socket")
		return nil
	}
}

// opens is how many times the bot called apps.connections.open.
func (f *fakeSocketMode) opens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened
}

func (s *fakeSocket) write(v any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.conn.WriteJSON(v)
}

func (s *fakeSocket) read() {
	defer close(s.closed)
	for {
		var a socketAck
		if err := s.conn.ReadJSON(&a); err != nil {
			return
		}
		s.acks <- a
	}
}

func (s *fakeSocket) ping() {
	tick := time.NewTicker(socketPing)
	defer tick.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-tick.C:
			if s.quiet.Load() {
				continue
			}
			s.wmu.Lock()
			err := s.conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second))
			s.wmu.Unlock()
			if err != nil {
				return
			}
		}
	}
}

// send sends an envelope of a type (slash_commands, interactive,
// events_api) with a payload; retry > 0 marks Slack's retry of it.
func (s *fakeSocket) send(typ, envelopeID string, payload any, retry int) {
	s.t.Helper()
	env := map[string]any{"type": typ, "envelope_id": envelopeID, "payload": payload,
		"accepts_response_payload": typ != "events_api"}
	if retry > 0 {
		env["retry_attempt"], env["retry_reason"] = retry, "timeout"
	}
	if err := s.write(env); err != nil {
		s.t.Fatalf("socket %d: send %s: %v", s.n, envelopeID, err)
	}
}

// ack waits for the next ack on the socket.
func (s *fakeSocket) ack() socketAck {
	s.t.Helper()
	select {
	case a := <-s.acks:
		return a
	case <-time.After(15 * time.Second):
		s.t.Fatalf("socket %d: no ack", s.n)
		return socketAck{}
	}
}

// disconnect asks the bot to reconnect, as Slack does before it closes a
// socket (reason refresh_requested, or warning some seconds before).
func (s *fakeSocket) disconnect(reason string) {
	s.t.Helper()
	if err := s.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "applink-test"}}); err != nil {
		s.t.Fatalf("socket %d: disconnect: %v", s.n, err)
	}
}

// drop ends the socket without a word, as a network failure does.
func (s *fakeSocket) drop() { s.conn.NetConn().Close() }

// waitClosed waits until the bot's side of the socket is gone.
func (s *fakeSocket) waitClosed() {
	s.t.Helper()
	select {
	case <-s.closed:
	case <-time.After(15 * time.Second):
		s.t.Fatalf("socket %d is still open", s.n)
	}
}
