package redistest_test

import (
	"context"
	"testing"

	"github.com/billingbot/billingbot/store/redistest"
)

// TestSentinelFailover: the sentinels name the primary, and after Failover
// the replica, which has what was written before.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := redistest.Sentinel(t, 1, 2)
	if len(s.Addrs) != 2 || s.Addrs[0] == s.Addrs[1] || len(s.Servers) != 2 {
		t.Fatalf("sentinels at %v, servers at %v; want 2 of each", s.Addrs, s.Servers)
	}
	old := s.Primary()
	if old != s.Servers[0] {
		t.Fatalf("Primary() = %s, want the first server %s", old, s.Servers[0])
	}
	if err := client(t, old).Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("SET on the primary: %v", err)
	}
	if n, err := client(t, old).Wait(ctx, 1, 0).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 0 = %d, %v; want 1", n, err)
	}
	next := s.Failover()
	if next != s.Servers[1] || s.Primary() != next {
		t.Fatalf("Failover() = %s, Primary() = %s; want both %s", next, s.Primary(), s.Servers[1])
	}
	c := client(t, next)
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k on the new primary = %q, %v; want v", got, err)
	}
	if err := c.Set(ctx, "k", "w", 0).Err(); err != nil {
		t.Fatalf("SET on the new primary: %v", err)
	}
}
