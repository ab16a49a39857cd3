package redistest_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store/redistest"
)

func client(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRealPingSetGet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addr := redistest.Real(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:6379" {
		t.Fatalf("Real returned %q, want a private 127.0.0.1 port", addr)
	}
	c := client(t, addr)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING: %v", err)
	}
	if err := c.Set(ctx, "greeting", "hallo", 0).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := c.Get(ctx, "greeting").Result(); err != nil || got != "hallo" {
		t.Fatalf("GET = %q, %v; want hallo", got, err)
	}
	// No persistence configured.
	for param, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1"} {
		got, err := c.ConfigGet(ctx, param).Result()
		if err != nil || got[param] != want {
			t.Errorf("CONFIG GET %s = %q, %v; want %q", param, got[param], err, want)
		}
	}
}

func TestRealTwoServersAreSeparate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := redistest.Real(t), redistest.Real(t)
	if a == b {
		t.Fatalf("both servers on %s", a)
	}
	if err := client(t, a).Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := client(t, b).Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET k on the second server: %v, want redis.Nil", err)
	}
}

func TestRealExtraArgs(t *testing.T) {
	t.Parallel()
	c := client(t, redistest.Real(t, "--maxmemory", "10mb", "--maxmemory-policy", "allkeys-lru"))
	got, err := c.ConfigGet(context.Background(), "maxmemory*").Result()
	if err != nil || got["maxmemory"] != "10485760" || got["maxmemory-policy"] != "allkeys-lru" {
		t.Fatalf("CONFIG GET maxmemory* = %v, %v", got, err)
	}
}

func TestRealStoppedOnCleanup(t *testing.T) {
	t.Parallel()
	var addr string
	t.Run("server", func(t *testing.T) { addr = redistest.Real(t) })
	if addr == "" {
		t.Skip("subtest skipped")
	}
	// The subtest's cleanup has killed and reaped the process: nothing listens.
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after cleanup", addr)
	}
}

// TestRealStoppedWhenTestDies runs helperTest in a child test binary that
// panics, or hangs until -test.timeout kills it (no cleanups run then; the
// kernel kills redis-server via Pdeathsig), and checks the server is gone.
func TestRealStoppedWhenTestDies(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"panic", "timeout"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			addrFile := filepath.Join(t.TempDir(), "addr")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDies$", "-test.timeout=3s", "-test.count=1")
			cmd.Env = append(os.Environ(), "REDISTEST_HELPER="+mode, "REDISTEST_ADDR_FILE="+addrFile)
			out, err := cmd.CombinedOutput()
			want := map[string]string{"panic": "boom", "timeout": "test timed out"}[mode]
			if err == nil || !strings.Contains(string(out), want) {
				t.Fatalf("child test: %v, want it to die with %q; output:\n%s", err, want, out)
			}
			addr, err := os.ReadFile(addrFile)
			if err != nil {
				t.Fatalf("child test did not start a server: %v; output:\n%s", err, out)
			}
			// Pdeathsig is delivered asynchronously: allow a moment.
			deadline := time.Now().Add(5 * time.Second)
			for {
				c, err := net.DialTimeout("tcp", string(addr), time.Second)
				if err != nil {
					break
				}
				c.Close()
				if time.Now().After(deadline) {
					t.Fatalf("%s still accepts connections after the test binary died", addr)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

func TestHelperDies(t *testing.T) {
	mode := os.Getenv("REDISTEST_HELPER")
	if mode == "" {
		t.Skip("helper for TestRealStoppedWhenTestDies")
	}
	addr := redistest.Real(t)
	if err := os.WriteFile(os.Getenv("REDISTEST_ADDR_FILE"), []byte(addr), 0o600); err != nil {
		t.Fatal(err)
	}
	if mode == "panic" {
		panic("boom")
	}
	select {} // until -test.timeout ends the binary
}

// fakeTB records Skip/Fatal instead of acting on them.
type fakeTB struct {
	*testing.T
	mu           sync.Mutex
	skip, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skip = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fakeTB) Skip(args ...any)  { f.Skipf("%s", fmt.Sprint(args...)) }
func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// run calls fn with a fakeTB in its own goroutine (Skip/Fatal end it).
func run(t *testing.T, fn func(testing.TB)) *fakeTB {
	f := &fakeTB{T: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(f) }()
	<-done
	return f
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server here
	for _, tc := range []struct {
		ci       string
		wantSkip bool
	}{{"", true}, {"false", true}, {"true", false}, {"1", false}} {
		t.Setenv("CI", tc.ci)
		for name, start := range map[string]func(testing.TB){
			"Real":        func(tb testing.TB) { redistest.Real(tb) },
			"Cluster":     func(tb testing.TB) { redistest.Cluster(tb) },
			"Restartable": func(tb testing.TB) { redistest.Restartable(tb) },
		} {
			f := run(t, start)
			if tc.wantSkip && (f.skip == "" || f.failed != "") || !tc.wantSkip && (f.failed == "" || f.skip != "") {
				t.Errorf("%s with CI=%q: skip=%q fatal=%q", name, tc.ci, f.skip, f.failed)
			}
			if msg := f.skip + f.failed; !strings.Contains(msg, "redis-server not found") {
				t.Errorf("%s with CI=%q: unclear message %q", name, tc.ci, msg)
			}
		}
	}
}

func TestRealReportsStartupFailure(t *testing.T) {
	t.Parallel()
	f := run(t, func(tb testing.TB) { redistest.Real(tb, "--no-such-option", "x") })
	if f.failed == "" || !strings.Contains(f.failed, "no-such-option") {
		t.Fatalf("want a failure showing redis-server's output, got fatal=%q skip=%q", f.failed, f.skip)
	}
}

func TestMini(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := redistest.Mini(t)
	c := client(t, m.Addr())
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Get("k"); err != nil || got != "v" {
		t.Fatalf("miniredis Get = %q, %v", got, err)
	}
}

func TestCluster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addrs := redistest.Cluster(t)
	if len(addrs) != 3 {
		t.Fatalf("Cluster returned %v, want 3 addresses", addrs)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { c.Close() })

	// Keys in many slots: every master gets some, all read back.
	const n = 50
	for i := range n {
		if err := c.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatalf("SET key:%d: %v", i, err)
		}
	}
	for i := range n {
		if got, err := c.Get(ctx, fmt.Sprintf("key:%d", i)).Int(); err != nil || got != i {
			t.Fatalf("GET key:%d = %d, %v", i, got, err)
		}
	}
	var mu sync.Mutex
	var sizes []int64
	err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		size, err := m.DBSize(ctx).Result()
		mu.Lock()
		sizes = append(sizes, size)
		mu.Unlock()
		return err
	})
	if err != nil || len(sizes) != 3 {
		t.Fatalf("ForEachMaster: sizes %v, %v; want 3 masters", sizes, err)
	}
	for _, s := range sizes {
		if s == 0 {
			t.Fatalf("a master holds no keys: DBSIZE per master %v", sizes)
		}
	}

	// A Lua script over two keys with the same hash tag runs on one node.
	script := redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('INCRBY', KEYS[2], ARGV[2])`)
	for want := int64(5); want <= 10; want += 5 {
		got, err := script.Run(ctx, c, []string{"{org}:name", "{org}:seats"}, "acme", 5).Int64()
		if err != nil || got != want {
			t.Fatalf("script = %d, %v; want %d", got, err, want)
		}
	}
	if got, err := c.Get(ctx, "{org}:name").Result(); err != nil || got != "acme" {
		t.Fatalf("GET {org}:name = %q, %v", got, err)
	}
	// Keys in different slots are refused: it really is a cluster.
	err = script.Run(ctx, c, []string{"{org}:name", "{other}:seats"}, "acme", 1).Err()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("cross-slot script: %v, want a CROSSSLOT error", err)
	}
}

func BenchmarkRealSet(b *testing.B) {
	ctx := context.Background()
	c := client(b, redistest.Real(b))
	for b.Loop() {
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			b.Fatal(err)
		}
	}
}
