package discord

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeGateway is Discord's gateway on httptest, as its documentation
// describes it: GET /gateway on the REST API names the socket's URL (every
// other REST call goes to the fake REST API); a socket says HELLO (op 10)
// with the heartbeat interval, takes an IDENTIFY (op 2) or a RESUME (op 6)
// and answers heartbeats (op 1) with ACKs (op 11) while acking is on. A
// session numbers its dispatches (op 0) and keeps them, so that a RESUME
// replays them from a sequence number on.
type fakeGateway struct {
	t         *testing.T
	token     string // the bot token IDENTIFY and RESUME must carry
	heartbeat int    // heartbeat_interval in HELLO, ms
	api, ws   *httptest.Server
	rest      http.Handler

	mu      sync.Mutex
	all     []*gatewayConn
	seq     int64        // the session's last sequence number
	log     []gatewayMsg // the session's dispatches
	session string       // the session's id, once READY
	conns   chan *gatewayConn
	answers map[string]int // interaction id → callbacks received

	down    atomic.Bool   // new connections are refused (503)
	refused chan struct{} // a connection was refused
}

// gatewayMsg is a gateway payload.
type gatewayMsg struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d"`
	S  int64           `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

// gatewayConn is one gateway connection, on Discord's side.
type gatewayConn struct {
	t      *testing.T
	g      *fakeGateway
	n      int
	path   string     // the URL path the bot connected to
	first  gatewayMsg // its IDENTIFY or RESUME
	conn   *websocket.Conn
	wmu    sync.Mutex
	acking atomic.Bool     // heartbeats are ACKed
	beats  chan int64      // the sequence numbers of the heartbeats received
	closed chan struct{}   // the bot's side is gone
	others chan gatewayMsg // other payloads the bot sent
}

func newFakeGateway(t *testing.T, rest http.Handler, token string, heartbeat int) *fakeGateway {
	g := &fakeGateway{t: t, token: token, heartbeat: heartbeat, rest: rest, conns: make(chan *gatewayConn, 16),
		answers: map[string]int{}, refused: make(chan struct{}, 64)}
	g.api = httptest.NewServer(http.HandlerFunc(g.serveAPI))
	g.ws = httptest.NewServer(http.HandlerFunc(g.serveSocket))
	t.Cleanup(func() {
		g.mu.Lock()
		for _, c := range g.all {
			c.conn.Close()
		}
		g.mu.Unlock()
		g.ws.Close()
		g.api.Close()
	})
	return g
}

// apiURL is the REST base, for Config.APIURL.
func (g *fakeGateway) apiURL() string { return g.api.URL + "/api/v10" }

func (g *fakeGateway) wsURL(path string) string {
	return "ws" + strings.TrimPrefix(g.ws.URL, "http") + path
}

func (g *fakeGateway) serveAPI(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/v10/gateway":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"url": g.wsURL("/gw")})
	case "/api/v10/gateway/bot":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"url": g.wsURL("/gw"), "shards": 1,
			"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 14400000, "max_concurrency": 1}})
	default:
		if id, ok := strings.CutPrefix(r.URL.Path, "/api/v10/interactions/"); ok && strings.HasSuffix(id, "/callback") {
			id, _, _ = strings.Cut(id, "/")
			g.mu.Lock()
			g.answers[id]++
			g.mu.Unlock()
		}
		g.rest.ServeHTTP(w, r)
	}
}

// callbacks is how many times an interaction was answered.
func (g *fakeGateway) callbacks(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.answers[id]
}

func (g *fakeGateway) serveSocket(w http.ResponseWriter, r *http.Request) {
	if g.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		select {
		case g.refused <- struct{}{}:
		default:
		}
		return
	}
	// Gateway versions 9 and 10 are current (discordgo v0.29.0 asks for 9).
	if q := r.URL.Query(); (q.Get("v") != "9" && q.Get("v") != "10") || q.Get("encoding") != "json" {
		http.Error(w, "want v=9 or 10 and encoding=json", http.StatusBadRequest)
		return
	}
	conn, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gatewayConn{t: g.t, g: g, path: r.URL.Path, conn: conn, beats: make(chan int64, 256), closed: make(chan struct{}),
		others: make(chan gatewayMsg, 64)}
	c.acking.Store(true)
	g.mu.Lock()
	g.all = append(g.all, c)
	c.n = len(g.all)
	g.mu.Unlock()
	if c.send(gatewayMsg{Op: 10, D: mustRaw(map[string]any{"heartbeat_interval": g.heartbeat})}) != nil {
		return
	}
	if err := conn.ReadJSON(&c.first); err != nil {
		return
	}
	if c.first.Op != 2 && c.first.Op != 6 {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4003, "Not authenticated."), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	var auth struct {
		Token string `json:"token"`
	}
	json.Unmarshal(c.first.D, &auth)
	if auth.Token != "Bot "+g.token && auth.Token != g.token {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
		conn.Close()
		return
	}
	go c.read()
	g.conns <- c
}

// next waits for the bot's next connection that identified or resumed.
func (g *fakeGateway) next() *gatewayConn {
	g.t.Helper()
	select {
	case c := <-g.conns:
		return c
	case <-time.After(15 * time.Second):
		g.t.Fatal("the bot did not connect to the gateway again")
		return nil
	}
}

func (c *gatewayConn) send(m gatewayMsg) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteJSON(m)
}

func (c *gatewayConn) read() {
	defer close(c.closed)
	for {
		var m gatewayMsg
		if err := c.conn.ReadJSON(&m); err != nil {
			return
		}
		if m.Op != 1 {
			c.others <- m
			continue
		}
		var seq int64
		json.Unmarshal(m.D, &seq)
		select {
		case c.beats <- seq:
		default:
		}
		if c.acking.Load() {
			c.send(gatewayMsg{Op: 11})
		}
	}
}

// ready answers an IDENTIFY with READY: a new session.
func (c *gatewayConn) ready(sessionID string) {
	c.t.Helper()
	c.g.mu.Lock()
	c.g.session, c.g.seq, c.g.log = sessionID, 0, nil
	c.g.mu.Unlock()
	c.dispatch("READY", map[string]any{"v": 10, "session_id": sessionID, "resume_gateway_url": c.g.wsURL("/resume"),
		"user": map[string]any{"id": testApp, "username": "billingbot", "bot": true}, "guilds": []any{},
		"application": map[string]any{"id": testApp, "flags": 0}})
}

// dispatch sends an event (op 0) with the session's next sequence number,
// and returns the number.
func (c *gatewayConn) dispatch(typ string, d any) int64 {
	c.t.Helper()
	m := c.g.record(typ, d)
	if err := c.send(m); err != nil {
		c.t.Fatalf("gateway %d: dispatch %s: %v", c.n, typ, err)
	}
	return m.S
}

// record numbers an event of the session and keeps it, without sending
// it: an event Discord sent to a connection that was gone.
func (g *fakeGateway) record(typ string, d any) gatewayMsg {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seq++
	m := gatewayMsg{Op: 0, T: typ, S: g.seq, D: mustRaw(d)}
	g.log = append(g.log, m)
	return m
}

// resumed answers a RESUME: the session's events from sequence number
// from on, again, then RESUMED.
func (c *gatewayConn) resumed(from int64) {
	c.t.Helper()
	c.g.mu.Lock()
	var replay []gatewayMsg
	for _, m := range c.g.log {
		if m.S >= from {
			replay = append(replay, m)
		}
	}
	c.g.mu.Unlock()
	for _, m := range replay {
		if err := c.send(m); err != nil {
			c.t.Fatalf("gateway %d: replay: %v", c.n, err)
		}
	}
	c.dispatch("RESUMED", nil)
}

// beat waits for a heartbeat and returns its sequence number.
func (c *gatewayConn) beat() int64 {
	c.t.Helper()
	select {
	case s := <-c.beats:
		return s
	case <-time.After(15 * time.Second):
		c.t.Fatalf("gateway %d: no heartbeat", c.n)
		return 0
	}
}

// waitClosed waits until the bot's side of the connection is gone.
func (c *gatewayConn) waitClosed() {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(15 * time.Second):
		c.t.Fatalf("gateway %d is still open", c.n)
	}
}

func mustRaw(v any) json.RawMessage {
	doc, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal %T: %v", v, err))
	}
	return doc
}
