package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store/redistest"
)

// get fetches a URL and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeMetricsPrivate: with BILLINGBOT_METRICS_ADDR, /metrics is
// served on its own listener only, and the public one answers 404;
// without it, the public one serves it.
func TestServeMetricsPrivate(t *testing.T) {
	t.Run("public", func(t *testing.T) {
		s := serveWith(t, "redis://"+redistest.Mini(t).Addr(), serveOptions{})
		if code, body := get(t, s.base+"/metrics"); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Errorf("public /metrics: %d, want 200 with the metrics", code)
		}
	})
	t.Run("private", func(t *testing.T) {
		m := newMetrics()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		m.private = ln
		s := serveWith(t, "redis://"+redistest.Mini(t).Addr(), serveOptions{m: m})
		if code, _ := get(t, s.base+"/metrics"); code != http.StatusNotFound {
			t.Errorf("public /metrics: %d, want 404", code)
		}
		if code, _ := get(t, s.base+"/healthz"); code != http.StatusOK {
			t.Errorf("public /healthz: %d, want 200", code)
		}
		code, body := get(t, "http://"+ln.Addr().String()+"/metrics")
		if code != http.StatusOK || !strings.Contains(body, "billingbot_connections_refused_total 0") {
			t.Errorf("private /metrics: %d, want 200 with the metrics:\n%.300s", code, body)
		}
		if code, _ := get(t, "http://"+ln.Addr().String()+"/healthz"); code != http.StatusNotFound {
			t.Errorf("private /healthz: %d, want 404 (it serves /metrics only)", code)
		}
	})
}

// TestServeRefusalsSampled: a flood of forged requests to both platforms'
// endpoints writes one log line per platform and reason and interval, the
// next one counting the suppressed, and /metrics counts every one.
func TestServeRefusalsSampled(t *testing.T) {
	m := newMetrics()
	var clock atomic.Int64 // seconds
	clock.Store(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC).Unix())
	m.sample.now = func() time.Time { return time.Unix(clock.Load(), 0) }
	logs := &syncWriter{w: &strings.Builder{}}
	s := serveWith(t, "redis://"+redistest.Mini(t).Addr(), serveOptions{m: m, log: logs})

	const forged = 1000
	send := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < 2*n; i += 8 {
					ts := strconv.FormatInt(time.Now().Unix(), 10)
					body := "command=%2Fbilling&text=help&team_id=T1&user_id=U1"
					req, _ := http.NewRequest(http.MethodPost, s.base+"/slack/events", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("X-Slack-Request-Timestamp", ts)
					req.Header.Set("X-Slack-Signature", "v0="+strings.Repeat("ab", 32))
					if i%2 == 1 {
						req, _ = http.NewRequest(http.MethodPost, s.base+"/discord/interactions", strings.NewReader(`{"type":1}`))
						req.Header.Set("X-Signature-Timestamp", ts)
						req.Header.Set("X-Signature-Ed25519", strings.Repeat("ab", 64))
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						errs <- err
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnauthorized {
						errs <- fmt.Errorf("%s: %d, want 401", req.URL.Path, resp.StatusCode)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	lines := func() []string {
		var out []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "refused unverified request") {
				out = append(out, l)
			}
		}
		return out
	}

	send(forged)
	for _, p := range []string{"slack", "discord"} {
		if got := counter(t, m, fmt.Sprintf(`billingbot_requests_refused_total{platform=%q,reason="signature"}`, p)); got != forged {
			t.Errorf("billingbot_requests_refused_total{platform=%q,reason=\"signature\"} = %v, want %d", p, got, forged)
		}
	}
	if got := lines(); len(got) != 2 {
		t.Fatalf("%d forged requests to each platform logged %d lines, want one per platform:\n%s", forged, len(got), strings.Join(got, "\n"))
	}
	clock.Add(int64(refusedLogEvery / time.Second))
	send(1)
	got := lines()
	if len(got) != 4 {
		t.Fatalf("after the interval, %d lines, want 4:\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, l := range got[2:] {
		if !strings.Contains(l, fmt.Sprintf("suppressed=%d", forged-1)) || !strings.Contains(l, "reason=signature") {
			t.Errorf("the line after the interval: %s; want reason=signature suppressed=%d", l, forged-1)
		}
	}
	if t.Failed() {
		return
	}
	code, body := get(t, s.base+"/metrics")
	for _, p := range []string{"slack", "discord"} {
		want := fmt.Sprintf(`billingbot_requests_refused_total{platform=%q,reason="signature"} %d`, p, forged+1)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServeSlowClients: 2,000 clients that announce a large body, send
// part of it and then trickle, hold no more memory than the bodies the
// gate lets be read at once; one address gets no more connections than
// its limit, the surplus closed as accepted. Counts and memory only: the
// machine may be slow.
func TestServeSlowClients(t *testing.T) {
	const (
		clients   = 2000
		perClient = 32                                    // BILLINGBOT_MAX_CONNS_PER_CLIENT's default
		announced = 128 << 10                             // under both platforms' limits
		sent      = 96 << 10                              // of it at once, then a byte at a time
		largest   = 1 << 20                               // no endpoint reads more before verifying (Slack 768 KiB, Discord 896 KiB)
		connCost  = 24 << 10                              // a connection's buffers and state, both ends (about 20 KiB measured)
		rest      = 8 << 20                               // the rest of the process
		addrs     = (clients + perClient - 1) / perClient // client addresses 127.0.0.2…
	)
	raiseFileLimit(t, 2*clients+512)
	cfg := testConfig(t)
	m := newMetrics()
	s := serveWith(t, "redis://"+redistest.Mini(t).Addr(), serveOptions{m: m})
	addr := strings.TrimPrefix(s.base, "http://")
	from := func(i int) *net.Dialer {
		return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, byte(i/250), byte(2+i%250))}}
	}
	if c, err := from(0).Dial("tcp", addr); err != nil {
		t.Skipf("cannot connect from a second loopback address (%v): this test needs 127.0.0.0/8 on lo, as on Linux", err)
	} else {
		c.Close()
	}

	// One address: perClient connections are served, the rest closed.
	t.Run("per address", func(t *testing.T) {
		var conns []net.Conn
		for range perClient + 8 {
			c, err := from(addrs+1).Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns = append(conns, c)
		}
		served, closed := 0, 0
		for _, c := range conns {
			c.SetDeadline(time.Now().Add(time.Minute)) // against a hang only
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err == nil && resp.StatusCode == http.StatusOK {
				served++
			} else {
				closed++
			}
		}
		if served != perClient || closed != 8 {
			t.Errorf("%d connections from one address: %d served, %d closed; want %d and 8", perClient+8, served, closed, perClient)
		}
		if got := counter(t, m, "billingbot_connections_refused_total"); got != 8 {
			t.Errorf("billingbot_connections_refused_total = %v, want 8", got)
		}
	})

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.GC() // what is live, not what awaits collection
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()

	body := strings.Repeat("x", sent)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var failed []error
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, err := slowClient(from(i/perClient), addr, i%2 == 0, announced, body)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed = append(failed, err)
				return
			}
			statuses[status]++
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled

	grown := int64(peak.Load()) - int64(before.HeapInuse)
	bound := int64(cfg.MaxBodyReads)*largest + clients*connCost + rest
	t.Logf("%d slow clients: heap in use grew by %.1f MiB at most (bound %.1f MiB); answers %v",
		clients, float64(grown)/(1<<20), float64(bound)/(1<<20), statuses)
	if grown > bound {
		t.Errorf("heap in use grew by %d bytes, want at most %d (%d bodies of at most 1 MiB at once)", grown, bound, cfg.MaxBodyReads)
	}
	if len(failed) > 0 {
		t.Errorf("%d clients failed, e.g. %v", len(failed), failed[0])
	}
	busy := counter(t, m, `billingbot_requests_refused_total{platform="slack",reason="busy"}`) + counter(t, m, `billingbot_requests_refused_total{platform="discord",reason="busy"}`)
	timedOut := counter(t, m, `billingbot_requests_refused_total{platform="slack",reason="unreadable"}`) + counter(t, m, `billingbot_requests_refused_total{platform="discord",reason="unreadable"}`)
	if statuses[http.StatusServiceUnavailable] != int(busy) || statuses[http.StatusBadRequest] != int(timedOut) ||
		int(busy+timedOut) != clients {
		t.Errorf("answers %v; refused busy %v, unreadable %v; want every client answered 503 (busy) or 400 (body too slow)",
			statuses, busy, timedOut)
	}
	if got := counter(t, m, "billingbot_connections_refused_total"); got != 8 {
		t.Errorf("billingbot_connections_refused_total = %v, want the 8 of one address only", got)
	}
}

// slowClient posts to Slack's or Discord's endpoint a request that
// announces size bytes, sends body of them and then a byte every 100 ms
// until it is answered; it returns the answer's status.
func slowClient(d *net.Dialer, addr string, toSlack bool, size int, body string) (int, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute)) // against a hang only
	// Timestamps are fresh: a stale one is refused before the body is read.
	path, hdr := "/slack/events", fmt.Sprintf("Content-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: %d\r\nX-Slack-Signature: v0=00\r\n", time.Now().Unix())
	if !toSlack {
		hdr = fmt.Sprintf("Content-Type: application/json\r\nX-Signature-Timestamp: %d\r\nX-Signature-Ed25519: 00\r\n", time.Now().Unix())
		path = "/discord/interactions"
	}
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s", path, hdr, size, body)
		for range size - len(body) {
			select {
			case <-answered:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, fmt.Errorf("no answer: %w", err)
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// raiseFileLimit raises the soft limit of open files to n, if it is lower,
// or skips the test when it cannot.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("open files limit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Skipf("needs %d open files, the hard limit is %d", n, lim.Max)
	}
	old := lim
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("raise open files limit to %d: %v", n, err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// counter reads a counter of m as /metrics shows it: name with its labels
// as there ({platform="slack",reason="busy"}); 0 when it is not shown.
func counter(t *testing.T, m *metrics, series string) float64 {
	t.Helper()
	w := httptest.NewRecorder()
	m.handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, l := range strings.Split(w.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return f
		}
	}
	return 0
}

// TestBodyGate: a request that finds every slot taken gets 503 with
// Retry-After, reported as busy, and nothing of its body is read; a slot
// is free again as soon as the body holding it has been read, before its
// handler is done.
func TestBodyGate(t *testing.T) {
	g := newBodyGate(1)
	entered, release, bodyRead := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := g.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-First") != "" {
			close(entered) // with the slot
		}
		io.ReadAll(r.Body)
		if r.Header.Get("X-First") != "" {
			close(bodyRead)
			<-release // the handler works on after its body is read
		}
		w.WriteHeader(http.StatusNoContent)
	}), func(r *http.Request, reason string, _ error) {
		r.Header.Set("X-Refused", reason)
	})

	pr, pw := io.Pipe()
	first := httptest.NewRequest(http.MethodPost, "/", pr)
	first.Header.Set("X-First", "1")
	firstDone := make(chan int)
	go func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, first)
		firstDone <- w.Code
	}()
	fmt.Fprint(pw, "part of a body") // the first holds the slot, reading
	<-entered

	body := &countingBody{r: strings.NewReader("second")}
	second := httptest.NewRequest(http.MethodPost, "/", body)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, second)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "1" || second.Header.Get("X-Refused") != "busy" ||
		w.Header().Get("Connection") != "close" || body.read != 0 {
		t.Fatalf("with the slot taken: %d, Retry-After %q, Connection %q, refused %q, %d bytes read; want 503, 1, close, busy, 0",
			w.Code, w.Header().Get("Retry-After"), w.Header().Get("Connection"), second.Header.Get("X-Refused"), body.read)
	}
	pw.Close()
	<-bodyRead
	third := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("third"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, third)
	if w.Code != http.StatusNoContent {
		t.Errorf("after the first body was read, while its handler works: %d, want 204", w.Code)
	}
	close(release)
	if code := <-firstDone; code != http.StatusNoContent {
		t.Errorf("first: %d, want 204", code)
	}
}

// countingBody counts what is read of a request body.
type countingBody struct {
	r    io.Reader
	read int
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}
