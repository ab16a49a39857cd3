package redistest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store/redistest"
)

// quiet is how long a negative check waits for something that must not
// happen (bytes through a stalled proxy); it never orders events.
const quiet = 100 * time.Millisecond

// slowClient is a client for a stalled proxy: the context's deadline bounds
// each command, and nothing is retried (a retry would send the command again).
func slowClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// infoField returns one field of INFO section on c.
func infoField(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	info, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == field {
			return v
		}
	}
	t.Fatalf("no %s in INFO %s", field, section)
	return ""
}

// waitBlocked waits until n clients are blocked (e.g. in BLPOP) on c's server.
func waitBlocked(t *testing.T, c *redis.Client, n string) {
	t.Helper()
	waitFor(t, 5*time.Second, func() (bool, string) {
		got := infoField(t, c, "clients", "blocked_clients")
		return got == n, "blocked_clients:" + got + ", want " + n
	})
}

func TestProxyForwards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Real(t)
	p := redistest.NewProxy(t, srv)
	if !strings.HasPrefix(p.Addr(), "127.0.0.1:") || p.Addr() == srv {
		t.Fatalf("proxy Addr = %q, want its own 127.0.0.1 port", p.Addr())
	}
	c := client(t, p.Addr())
	if err := c.Set(ctx, "k", "via proxy", 0).Err(); err != nil {
		t.Fatalf("SET through the proxy: %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "via proxy" {
		t.Fatalf("GET through the proxy = %q, %v", got, err)
	}
	if got, err := client(t, srv).Get(ctx, "k").Result(); err != nil || got != "via proxy" {
		t.Fatalf("GET on the server = %q, %v; want the value set through the proxy", got, err)
	}
	p.Resume() // resuming a running proxy does nothing
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
}

// A command sent while stalled times out at the client, reaches Redis on
// Resume, and is applied exactly once. One sent on a connection dialed while
// stalled never leaves the client: go-redis's handshake (HELLO) times out
// first.
func TestProxyStallDeliversLateWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Real(t)
	direct := client(t, srv)
	p := redistest.NewProxy(t, srv)
	setter, counter, late := slowClient(t, p.Addr()), slowClient(t, p.Addr()), slowClient(t, p.Addr())
	for _, c := range []*redis.Client{setter, counter} { // a pooled connection each, dialed through
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}

	p.Stall()
	p.Stall() // stalling again does nothing
	short := func(do func(ctx context.Context) error) error {
		sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		return do(sctx)
	}
	err := short(func(ctx context.Context) error { return setter.Set(ctx, "late", "v", 0).Err() })
	if !isTimeout(err) {
		t.Fatalf("SET while stalled: %v, want a timeout", err)
	}
	t.Logf("SET while stalled: %v", err)
	if err := short(func(ctx context.Context) error { return counter.Incr(ctx, "count").Err() }); !isTimeout(err) {
		t.Fatalf("INCR while stalled: %v, want a timeout", err)
	}
	err = short(func(ctx context.Context) error { return late.Incr(ctx, "never").Err() })
	if !isTimeout(err) {
		t.Fatalf("INCR on a connection dialed while stalled: %v, want a timeout", err)
	}
	t.Logf("INCR on a connection dialed while stalled: %v", err)
	if err := direct.Get(ctx, "late").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET late on the server while stalled: %v, want redis.Nil", err)
	}
	if n := infoField(t, direct, "clients", "connected_clients"); n != "3" {
		t.Fatalf("connected_clients = %s while stalled; want 3 (direct and the two dialed before the stall)", n)
	}

	p.Resume()
	waitFor(t, 5*time.Second, func() (bool, string) {
		got, err := direct.Get(ctx, "late").Result()
		return got == "v", "GET late on the server: " + got + ", " + errString(err)
	})
	// Once the proxied connections are gone (the clients closed them on the
	// timeout; the proxy passes each close on after what it held), nothing
	// more can arrive.
	waitFor(t, 5*time.Second, func() (bool, string) {
		n := infoField(t, direct, "clients", "connected_clients")
		return n == "1", "connected_clients:" + n + ", want 1"
	})
	if got, err := direct.Get(ctx, "count").Int(); err != nil || got != 1 {
		t.Fatalf("count = %d, %v; want 1 (the INCR held by the stall, once)", got, err)
	}
	if err := direct.Get(ctx, "never").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET never: %v; want redis.Nil (go-redis never sent it)", err)
	}
	// And the same clients work again.
	for _, c := range []*redis.Client{setter, counter, late} {
		if err := c.Incr(ctx, "count").Err(); err != nil {
			t.Fatalf("INCR after Resume: %v", err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// The stall holds replies, too: Redis answers a blocked BLPOP, the client
// gets the answer only on Resume.
func TestProxyStallHoldsReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Real(t)
	direct := client(t, srv)
	p := redistest.NewProxy(t, srv)
	c := client(t, p.Addr())

	type popped struct {
		v   []string
		err error
	}
	res := make(chan popped, 1)
	go func() {
		v, err := c.BLPop(ctx, 30*time.Second, "queue").Result()
		res <- popped{v, err}
	}()
	waitBlocked(t, direct, "1")

	p.Stall()
	if err := direct.RPush(ctx, "queue", "job").Err(); err != nil {
		t.Fatal(err)
	}
	// Redis has served the BLPOP: the element is gone and nobody blocks.
	if n, err := direct.LLen(ctx, "queue").Result(); err != nil || n != 0 {
		t.Fatalf("LLEN queue = %d, %v; want 0 (popped by the BLPOP)", n, err)
	}
	waitBlocked(t, direct, "0")
	select {
	case r := <-res:
		t.Fatalf("BLPOP returned %v, %v through a stalled proxy", r.v, r.err)
	case <-time.After(quiet):
	}

	p.Resume()
	select {
	case r := <-res:
		if r.err != nil || len(r.v) != 2 || r.v[1] != "job" {
			t.Fatalf("BLPOP after Resume = %v, %v; want [queue job]", r.v, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP did not return within 5s of Resume")
	}
}

// echoServer accepts connections and echoes each back, half-closing on EOF;
// it counts connections and bytes received.
type echoServer struct {
	ln           net.Listener
	accepted, rx atomic.Int64
	wg           sync.WaitGroup
}

func newEchoServer(t *testing.T) *echoServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{ln: ln}
	var mu sync.Mutex
	var conns []net.Conn
	e.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			e.wg.Go(func() {
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					e.rx.Add(int64(n))
					if _, werr := c.Write(buf[:n]); werr != nil || err != nil {
						c.(*net.TCPConn).CloseWrite()
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		e.wg.Wait()
	})
	return e
}

// readFull reads len(want) bytes from c within timeout and compares them.
func readFull(t *testing.T, c net.Conn, want []byte) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(want))
	if n, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read %d of %d bytes: %v", n, len(want), err)
	}
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("bytes differ from offset %d of %d: lost or reordered", i, len(want))
	}
}

// assertQuiet checks that nothing arrives on c for a moment.
func assertQuiet(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(quiet))
	var b [1]byte
	if n, err := c.Read(b[:]); !isTimeout(err) {
		t.Fatalf("read through a stalled proxy: %d bytes, %v; want nothing (timeout)", n, err)
	}
}

// Megabytes written while stalled, more than the socket buffers hold, arrive
// complete and in order on Resume, both ways; a connection accepted while
// stalled reaches the target only then.
func TestProxyStallKeepsEveryByteInOrder(t *testing.T) {
	t.Parallel()
	echo := newEchoServer(t)
	p := redistest.NewProxy(t, echo.ln.Addr().String())

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	readFull(t, c, []byte("hello"))

	p.Stall()
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>13) // no period matching a buffer size
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(data) // blocks once the buffers are full, until Resume
		wrote <- err
	}()
	late, err := net.Dial("tcp", p.Addr()) // accepted, not forwarded
	if err != nil {
		t.Fatalf("dial the stalled proxy: %v", err)
	}
	defer late.Close()
	if _, err := late.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	assertQuiet(t, c)
	assertQuiet(t, late)
	if rx, n := echo.rx.Load(), echo.accepted.Load(); rx != 5 || n != 1 {
		t.Fatalf("while stalled the target got %d bytes on %d connections; want 5 on 1", rx, n)
	}

	p.Resume()
	readFull(t, c, data)
	if err := <-wrote; err != nil {
		t.Fatalf("write while stalled: %v", err)
	}
	readFull(t, late, []byte("late"))
}

// Reset fails a command in flight and an idle connection; the proxy then
// accepts new ones.
func TestProxyReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Real(t)
	direct := client(t, srv)
	p := redistest.NewProxy(t, srv)
	c := failFastClient(t, p.Addr())

	res := make(chan error, 1)
	go func() { res <- c.BLPop(ctx, 30*time.Second, "never").Err() }()
	waitBlocked(t, direct, "1")
	idle, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := idle.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	readFull(t, idle, []byte("+PONG\r\n"))

	p.Reset()
	select {
	case err := <-res:
		if err == nil || errors.Is(err, redis.Nil) || isTimeout(err) {
			t.Fatalf("BLPOP across Reset: %v, want a connection error", err)
		}
		t.Logf("BLPOP across Reset: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("BLPOP still blocked 5s after Reset")
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) {
		t.Fatalf("read on an idle connection after Reset: %v, want connection reset or EOF", err)
	} else {
		t.Logf("read on an idle connection after Reset: %v", err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Reset: %v", err)
	}
	waitBlocked(t, direct, "0") // Redis saw the proxied BLPOP connection go, too
}

// Reset while stalled drops the held bytes with the connection; the stall
// stays in effect for new connections.
func TestProxyResetWhileStalled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Real(t)
	direct := client(t, srv)
	p := redistest.NewProxy(t, srv)
	c := slowClient(t, p.Addr())
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	p.Stall()
	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	if err := c.Set(sctx, "dropped", "v", 0).Err(); !isTimeout(err) {
		t.Fatalf("SET while stalled: %v, want a timeout", err)
	}
	cancel()
	p.Reset()
	sctx, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := c.Ping(sctx).Err(); !isTimeout(err) {
		t.Fatalf("PING on a new connection, still stalled: %v, want a timeout", err)
	}
	p.Resume()
	if err := c.Set(ctx, "after", "v", 0).Err(); err != nil {
		t.Fatalf("SET after Resume: %v", err)
	}
	// The SET above went after the dropped one would have; it is not there.
	if err := direct.Get(ctx, "dropped").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET dropped: %v, want redis.Nil (held bytes die with a reset connection)", err)
	}
}

// Stall, Resume and Reset while goroutines send commands through the proxy:
// for the race detector, and every INCR that succeeded is counted (some that
// timed out may be counted, too: late writes).
func TestProxyConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := redistest.Real(t)
	p := redistest.NewProxy(t, srv)
	c := slowClient(t, p.Addr())

	var ok, failed atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				ictx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				if c.Incr(ictx, "n").Err() == nil {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
				cancel()
			}
		})
	}
	// Progress waits for a counter to move past its current value.
	progress := func(what string, n *atomic.Int64) {
		t.Helper()
		from := n.Load()
		waitFor(t, 5*time.Second, func() (bool, string) { return n.Load() > from, "no " + what })
	}

	// Unordered: the methods called from two goroutines at once, under traffic.
	var togglers sync.WaitGroup
	for g := range 2 {
		togglers.Go(func() {
			for i := range 100 {
				switch (i + g) % 4 {
				case 0:
					p.Stall()
				case 1, 2:
					p.Resume()
				case 3:
					p.Reset()
				}
				runtime.Gosched()
			}
		})
	}
	togglers.Wait()
	// Ordered: each stall makes commands fail, each Resume or Reset lets them
	// succeed again.
	for round := range 6 {
		p.Resume()
		progress("successful INCR", &ok)
		p.Stall()
		progress("failed INCR while stalled", &failed)
		if round%2 == 1 {
			p.Reset()
		}
	}
	p.Resume()
	progress("successful INCR", &ok)
	close(done)
	wg.Wait()

	n, err := client(t, srv).Get(ctx, "n").Int64()
	if err != nil {
		t.Fatal(err)
	}
	if n < ok.Load() {
		t.Fatalf("counter %d < %d successful INCRs", n, ok.Load())
	}
	t.Logf("%d INCRs succeeded, %d failed; counter %d", ok.Load(), failed.Load(), n)
}

// Not parallel: it looks for the proxy's goroutines among all of them.
func TestProxyCleanupLeavesNothing(t *testing.T) {
	echo := newEchoServer(t)
	var addr string
	var conns []net.Conn
	t.Run("proxy", func(t *testing.T) {
		p := redistest.NewProxy(t, echo.ln.Addr().String())
		addr = p.Addr()
		dial := func() net.Conn {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			return c
		}
		idle := dial()
		if _, err := idle.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		readFull(t, idle, []byte("x"))
		held := dial()
		p.Stall()
		if _, err := held.Write([]byte("held")); err != nil { // held at the cleanup
			t.Fatal(err)
		}
		dial() // accepted while stalled, never connected to the target
		waitFor(t, 5*time.Second, func() (bool, string) {
			n := proxyGoroutines()
			return n >= 1+3, "proxy goroutines: " + strconv.Itoa(n) + ", want the accept loop and 3 handlers"
		})
	})
	for _, c := range conns {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("read on a proxied connection after cleanup: %v, want it closed", err)
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("proxy %s still accepts after cleanup", addr)
	}
	// Cleanup waited for the goroutines; let them finish returning.
	waitFor(t, 5*time.Second, func() (bool, string) {
		n := proxyGoroutines()
		return n == 0, strconv.Itoa(n) + " proxy goroutines still running after cleanup"
	})
}

// proxyGoroutines counts goroutines running redistest.(*Proxy) code.
func proxyGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for g := range bytes.SplitSeq(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("redistest.(*Proxy)")) {
			count++
		}
	}
	return count
}
