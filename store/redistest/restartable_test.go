package redistest_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store/redistest"
)

// waitFor polls cond until it returns true, failing the test after timeout
// with the last explanation cond gave.
func waitFor(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not so after %v: %s", timeout, why)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failFastClient does no command retries and one dial attempt per command,
// so a command fails at once while Redis is down (go-redis v9 otherwise dials
// 5 times, 100ms apart, per try).
func failFastClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRestartable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Restartable(t)
	addr := s.Addr()
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:6379" {
		t.Fatalf("Addr = %q, want a private 127.0.0.1 port", addr)
	}
	c := failFastClient(t, addr)
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}

	s.Stop()
	err := c.Get(ctx, "k").Err()
	if err == nil || errors.Is(err, redis.Nil) {
		t.Fatalf("GET while stopped: %v, want a connection error", err)
	}
	t.Logf("GET while stopped: %v", err)
	// The pooled connection is dead and removed; the next command must dial.
	if err := c.Ping(ctx).Err(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("PING while stopped: %v, want connection refused", err)
	}
	s.Stop() // stopping again does nothing

	s.Start()
	if s.Addr() != addr {
		t.Fatalf("Addr after Start = %q, want %q", s.Addr(), addr)
	}
	// The same client reconnects; the data is gone (no persistence).
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET k after restart: %v, want redis.Nil", err)
	}
	if err := c.Set(ctx, "k", "after", 0).Err(); err != nil {
		t.Fatalf("SET after restart: %v", err)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "after" {
		t.Fatalf("GET after restart = %q, %v; want after", got, err)
	}
}

// A restart with no command in between: the first command finds the pooled
// connection dead and still succeeds, without retries.
func TestRestartableStaleConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Restartable(t)
	c := failFastClient(t, s.Addr())
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Start()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("first PING after restart: %v", err)
	}
}

func TestRestartableExtraArgs(t *testing.T) {
	t.Parallel()
	s := redistest.Restartable(t, "--maxmemory", "10mb")
	s.Stop()
	s.Start()
	got, err := client(t, s.Addr()).ConfigGet(context.Background(), "maxmemory").Result()
	if err != nil || got["maxmemory"] != "10485760" {
		t.Fatalf("CONFIG GET maxmemory after restart = %v, %v; want the extra args kept", got, err)
	}
}

// Stop and Start while other goroutines hammer the address with one client.
func TestRestartableWhileClientsBusy(t *testing.T) {
	t.Parallel()
	s := redistest.Restartable(t)
	c := failFastClient(t, s.Addr())

	// Each PING is tagged with the phase it was sent in, so a result from
	// before a Stop or Start is not taken for one after it.
	type result struct {
		phase int64
		err   error
	}
	var phase atomic.Int64
	results := make(chan result, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				p := phase.Load()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				err := c.Ping(ctx).Err()
				cancel()
				select {
				case results <- result{p, err}:
				case <-done:
					return
				}
			}
		})
	}
	defer wg.Wait()
	defer close(done)

	// await reads results until one sent in phase p matches ok.
	await := func(p int64, what string, ok func(error) bool) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		var last error
		for {
			select {
			case r := <-results:
				if r.phase == p && ok(r.err) {
					return
				}
				last = r.err
			case <-timeout:
				t.Fatalf("no %s in phase %d within 10s; last result: %v", what, p, last)
			}
		}
	}
	for round := range 2 {
		await(phase.Load(), "successful PING", func(err error) bool { return err == nil })
		s.Stop()
		phase.Add(1)
		await(phase.Load(), "failed PING", func(err error) bool { return err != nil })
		s.Start()
		phase.Add(1)
		t.Logf("round %d: clients saw Redis go down and come back", round)
	}
	await(phase.Load(), "successful PING", func(err error) bool { return err == nil })
}

func TestRestartableStoppedOnCleanup(t *testing.T) {
	t.Parallel()
	for _, stopped := range []bool{false, true} {
		var addr string
		t.Run(map[bool]string{false: "running", true: "stopped"}[stopped], func(t *testing.T) {
			s := redistest.Restartable(t)
			s.Stop()
			s.Start()
			if stopped {
				s.Stop()
			}
			addr = s.Addr()
		})
		if addr == "" {
			t.Skip("subtest skipped")
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still accepts connections after cleanup", addr)
		}
	}
}
