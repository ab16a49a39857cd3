package store_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// BenchmarkViewCounted is the view of a request that counts towards the
// user's rate limit, on a real redis-server: what the rate limit adds to
// every request's round trip. Each iteration is a new request 10 ms
// later, so that none is refused.
func BenchmarkViewCounted(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Real(b)})
	b.Cleanup(func() { rdb.Close() })
	s := store.New(rdb)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		v, err := s.View(b.Context(), orgA, buyer, store.ViewOptions{Count: true, Rate: 6000, Now: now.Add(time.Duration(i) * 10 * time.Millisecond)})
		if err != nil || v.Requests < 1 || v.Requests > 6000 {
			b.Fatalf("View: %+v, %v", v.Requests, err)
		}
	}
}
