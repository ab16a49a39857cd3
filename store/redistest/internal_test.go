package redistest

import (
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// takenPorts makes pickPorts return the given ports first, then free ones.
func takenPorts(t *testing.T, taken ...int) *int {
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		if calls <= len(taken) {
			return []int{taken[calls-1]}, nil
		}
		return freePorts(n)
	}
	t.Cleanup(func() { pickPorts = freePorts })
	return &calls
}

func port(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Not parallel: it replaces pickPorts.
func TestRealRetriesWhenPortTaken(t *testing.T) {
	// One port held by a plain listener (redis-server cannot bind and exits),
	// one by another redis-server (it answers PING, but with another pid).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	other := Real(t)
	calls := takenPorts(t, port(t, l.Addr().String()), port(t, other))

	addr := Real(t)
	if *calls != 3 || addr == other || addr == l.Addr().String() {
		t.Fatalf("Real = %s after %d port picks; want a third port", addr, *calls)
	}
	if _, err := probe(addr); err != nil {
		t.Fatalf("PING %s: %v", addr, err)
	}
}

type fatalTB struct {
	*testing.T
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// Not parallel: it replaces pickPorts.
func TestRealGivesUpAfterAttempts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := port(t, l.Addr().String())
	takenPorts(t, p, p, p, p, p, p, p)

	f := &fatalTB{T: t}
	done := make(chan struct{})
	go func() { defer close(done); Real(f) }()
	<-done
	if !strings.Contains(f.msg, "did not start in 5 attempts") || !strings.Contains(f.msg, "Address already in use") {
		t.Fatalf("want a give-up message with redis-server's output, got %q", f.msg)
	}
}
