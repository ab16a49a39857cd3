package redistest

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a private redis-server that a test can stop and start again on the same address,
// to show what clients do while Redis is down and after it returns.
//
// It has no persistence: every Start begins with an empty dataset.
type Server struct {
	tb    testing.TB
	bin   string
	dir   string   // --dir of every run; the log is rewritten on each Start
	ports []int    // the same on every run
	extra []string // extraArgs of Restartable
	addr  string

	mu  sync.Mutex // serializes Stop and Start
	cur *server    // nil while stopped
}

// Restartable starts a private redis-server like Real (same defaults, same
// extraArgs, same skip/CI rule) and returns it running and answering PING.
// Whatever runs at the end of the test is killed, and waited for, in
// tb.Cleanup.
func Restartable(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	bin := lookBinary(tb)
	extra := slices.Clone(extraArgs)
	s := start(tb, bin, 1, "", func([]int) []string { return extra })
	return &Server{tb: tb, bin: bin, dir: s.dir, ports: s.ports, extra: extra, addr: s.addr, cur: s}
}

// Addr returns "127.0.0.1:PORT", the same across restarts.
func (s *Server) Addr() string { return s.addr }

// Stop kills redis-server (SIGKILL: there is nothing to flush), waits for the
// process, and waits until its port refuses connections, so a client's next
// command sees Redis down. Stopping a stopped Server does nothing. Call it
// from the test goroutine (it may call tb.Fatal); clients may keep using the
// address from other goroutines meanwhile.
func (s *Server) Stop() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return
	}
	s.cur.stop()
	s.cur = nil
	if err := waitRefused(s.addr, startTimeout); err != nil {
		s.tb.Fatalf("redistest: stop %s: %v", s.addr, err)
	}
}

// Start starts redis-server again on the same port, with the same arguments,
// and waits until it answers PING; on failure (e.g. another process took the
// port while it was stopped) it calls tb.Fatal with redis-server's output.
// Starting a running Server is a test bug and fails the test. Call it from
// the test goroutine; clients may keep using the address from other
// goroutines meanwhile.
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.tb.Fatalf("redistest: start %s: already running", s.addr)
	}
	cur, _, err := launch(s.tb, s.bin, s.dir, "", s.ports, s.extra) // kills it in tb.Cleanup
	if err != nil {
		s.tb.Fatalf("redistest: start %s again: %s", s.addr, strings.TrimPrefix(err.Error(), "redistest: "))
	}
	s.cur = cur
}

// waitRefused polls addr until a TCP connection to it fails.
func waitRefused(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, probeTimeout)
		if err != nil {
			return nil
		}
		c.Close()
		if time.Now().After(deadline) {
			return fmt.Errorf("still accepting connections %v after the kill", timeout)
		}
		time.Sleep(pollInterval)
	}
}
