package redistest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

const proxyBuf = 32 << 10 // bytes read at a time per direction

// Proxy forwards TCP connections to a Redis server and can stall them: while stalled it holds
// every byte in both directions (and accepts new connections without forwarding anything), as a
// Redis that hangs would; Resume delivers what it held, in order. It shows what clients do when
// Redis is slow rather than down, including writes that arrive late.
//
// Every byte that reaches the proxy after Stall returns is held until
// Resume; bytes sent before Stall may still be delivered. While stalled, each
// direction of a connection keeps the one chunk it read last and stops
// reading, so the rest waits in the kernel's socket buffers (a client writing
// a lot blocks, as with a hung Redis). A connection accepted while stalled is
// connected to the target only on Resume; a close (EOF) is passed on only when
// not stalled, too. When the target cannot be dialed, the client's connection
// is closed (it sees EOF, not "connection refused").
//
// A Proxy is safe for concurrent use. It is not Redis-specific: it forwards
// any TCP stream.
type Proxy struct {
	tb testing.TB
	ln net.Listener
	wg sync.WaitGroup // the accept loop and one handler per connection

	mu      sync.Mutex
	target  string        // where new connections go (Retarget)
	running chan struct{} // closed while forwarding; open while stalled
	stalled bool
	conns   map[*proxyConn]struct{}
	closed  bool
}

// proxyConn is one client connection and, once dialed, its connection to the target.
type proxyConn struct {
	client net.Conn
	done   chan struct{} // closed by close
	once   sync.Once

	mu     sync.Mutex
	server net.Conn // nil until dialed
}

// NewProxy listens on a free 127.0.0.1 port and forwards every connection to
// target, not stalled. In tb.Cleanup it stops listening, closes every
// connection (dropping what it held) and waits for its goroutines.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{
		tb:      tb,
		target:  target,
		ln:      ln,
		running: make(chan struct{}),
		conns:   make(map[*proxyConn]struct{}),
	}
	close(p.running)
	p.wg.Add(1)
	go p.serve()
	tb.Cleanup(p.close)
	return p
}

// Retarget forwards the connections dialed from now on to target (one
// accepted while stalled is dialed on Resume), as the clients of a
// failed-over Redis find its new primary; open connections keep theirs
// (Reset closes them).
func (p *Proxy) Retarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Addr returns the proxy's address, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stall holds all traffic from now on, until Resume. Stalling a stalled
// proxy does nothing.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stalled {
		p.stalled = true
		p.running = make(chan struct{})
	}
}

// Resume delivers what the proxy held, in order, and forwards again.
// Resuming a proxy that is not stalled does nothing.
func (p *Proxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		p.stalled = false
		close(p.running)
	}
}

// Reset closes every open connection abortively (both ends get a TCP RST,
// so clients see "connection reset" or EOF), dropping what a stall held on
// them. The proxy keeps accepting, and a stall stays in effect.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.close(true)
	}
}

// close stops accepting, closes every connection and waits for the goroutines.
func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.close(true)
	}
	p.mu.Unlock()
	p.wg.Wait()
	if err != nil {
		p.tb.Errorf("redistest: close proxy %s: %v", p.Addr(), err)
	}
}

// serve accepts connections until the listener is closed.
func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				p.tb.Errorf("redistest: proxy %s: accept: %v; no longer accepting", p.Addr(), err)
			}
			return
		}
		c := &proxyConn{client: conn, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			conn.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1) // under mu, so close cannot miss it
		p.mu.Unlock()
		go p.handle(c)
	}
}

// handle connects c to the target (once not stalled) and copies both ways
// until both directions end or c is closed.
func (p *Proxy) handle(c *proxyConn) {
	defer p.wg.Done()
	defer func() {
		c.close(false)
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	if !p.wait(c) {
		return
	}
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	server, err := net.DialTimeout("tcp", target, ioTimeout)
	if err != nil {
		p.tb.Logf("redistest: proxy %s: dial %s: %v; closing the client connection", p.Addr(), target, err)
		return
	}
	if !c.setServer(server) {
		return // closed meanwhile
	}
	var toClient sync.WaitGroup
	toClient.Add(1)
	go func() { defer toClient.Done(); p.pipe(c, c.client, server) }()
	p.pipe(c, server, c.client)
	toClient.Wait()
}

// pipe copies src to dst in order, waiting while stalled before passing on
// each chunk it read (and the EOF). On EOF it half-closes dst, as a TCP
// connection does; on any other error it closes both connections.
func (p *Proxy) pipe(c *proxyConn, dst, src net.Conn) {
	buf := make([]byte, proxyBuf)
	for {
		n, err := src.Read(buf)
		if !p.wait(c) {
			return // closed: what was read is dropped
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				c.close(false)
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if cw, ok := dst.(interface{ CloseWrite() error }); ok {
					_ = cw.CloseWrite()
					return
				}
			}
			c.close(false)
			return
		}
	}
}

// wait blocks while the proxy is stalled; it returns false when c is closed.
func (p *Proxy) wait(c *proxyConn) bool {
	p.mu.Lock()
	running := p.running
	p.mu.Unlock()
	select {
	case <-running:
		select {
		case <-c.done:
			return false
		default:
			return true
		}
	case <-c.done:
		return false
	}
}

// setServer records the dialed target connection; when c was closed
// meanwhile it closes server instead and returns false.
func (c *proxyConn) setServer(server net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		server.Close()
		return false
	default:
		c.server = server
		return true
	}
}

// close closes both connections, once; abort sends RSTs (SO_LINGER 0)
// instead of FINs.
func (c *proxyConn) close(abort bool) {
	c.once.Do(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		close(c.done)
		for _, conn := range []net.Conn{c.client, c.server} {
			if conn == nil {
				continue
			}
			if tc, ok := conn.(*net.TCPConn); ok && abort {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
		}
	})
}
