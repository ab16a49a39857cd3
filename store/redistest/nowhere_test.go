package redistest_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store/redistest"
)

// errorsTB records Errorf instead of failing the test.
type errorsTB struct {
	*testing.T
	mu     sync.Mutex
	errors []string
}

func (e *errorsTB) Helper() {}
func (e *errorsTB) Errorf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.errors = append(e.errors, fmt.Sprintf(format, args...))
}

// TestWantNowhere: a needle is found in a key's name and in every type of
// value, as written and grouped otherwise, on miniredis and a real Redis;
// what does not hold it passes.
func TestWantNowhere(t *testing.T) {
	t.Parallel()
	const card = "4242424242424242"
	hide := map[string]func(ctx context.Context, c *redis.Client, s string) error{
		"key name": func(ctx context.Context, c *redis.Client, s string) error { return c.Set(ctx, "k:"+s, "v", 0).Err() },
		"string":   func(ctx context.Context, c *redis.Client, s string) error { return c.Set(ctx, "k", s, 0).Err() },
		"hash field": func(ctx context.Context, c *redis.Client, s string) error {
			return c.HSet(ctx, "k", s, "v").Err()
		},
		"hash value": func(ctx context.Context, c *redis.Client, s string) error {
			return c.HSet(ctx, "k", "comment", "paid with "+s+", CVC 731").Err()
		},
		"set": func(ctx context.Context, c *redis.Client, s string) error { return c.SAdd(ctx, "k", "a", s).Err() },
		"zset": func(ctx context.Context, c *redis.Client, s string) error {
			return c.ZAdd(ctx, "k", redis.Z{Score: 1, Member: s}).Err()
		},
		"list": func(ctx context.Context, c *redis.Client, s string) error { return c.RPush(ctx, "k", "a", s).Err() },
		"stream": func(ctx context.Context, c *redis.Client, s string) error {
			return c.XAdd(ctx, &redis.XAddArgs{Stream: "k", Values: []string{"what", "cancel", "feedback", s}}).Err()
		},
	}
	servers := map[string]func(t *testing.T) string{
		"miniredis": func(t *testing.T) string { return redistest.Mini(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.Real(t) },
	}
	for server, start := range servers {
		for where, put := range hide {
			for _, written := range []string{card, "4242 4242 4242 4242", "4242-4242-4242-4242", "4242.4242.4242.4242"} {
				t.Run(server+"/"+where+"/"+written, func(t *testing.T) {
					ctx := t.Context()
					addr := start(t)
					c := client(t, addr)
					if err := c.Set(ctx, "other", "Visa •••• 4242 (12/2030)", 0).Err(); err != nil {
						t.Fatal(err)
					}
					if err := put(ctx, c, written); err != nil {
						t.Fatal(err)
					}
					f := &errorsTB{T: t}
					redistest.WantNowhere(f, addr, card, "4242 4242 4242 4242")
					if len(f.errors) != 1 || !strings.Contains(f.errors[0], `"k`) {
						t.Errorf("errors %q, want one about the key k", f.errors)
					}
				})
			}
		}
		t.Run(server+"/clean", func(t *testing.T) {
			ctx := t.Context()
			addr := start(t)
			c := client(t, addr)
			for where, put := range hide {
				if err := c.FlushDB(ctx).Err(); err != nil {
					t.Fatal(err)
				}
				if err := put(ctx, c, "4242 12/2030 4242"); err != nil {
					t.Fatal(err)
				}
				f := &errorsTB{T: t}
				redistest.WantNowhere(f, addr, card, "4242 4242 4242 4242")
				if len(f.errors) != 0 {
					t.Errorf("%s: errors %q, want none", where, f.errors)
				}
			}
		})
	}
}

// TestWantNoMatch: a pattern is looked for in keys' names and values; a
// security code that stands alone is found, the same digits inside an id
// or a timestamp are not.
func TestWantNoMatch(t *testing.T) {
	t.Parallel()
	cvc := regexp.MustCompile(`(^|[^0-9A-Za-z.])731($|[^0-9A-Za-z.])`)
	for _, tt := range []struct {
		key, value string
		want       bool
	}{
		{"k", "paid with my card, CVC 731", true},
		{"k", `{"cvc":"731"}`, true},
		{"k:731", "v", true},
		{"k", "731", true},
		{"k", "1764064731000-0", false},
		{"k", "id 01hx731ab", false},
		{"k", "took 2.731s", false},
		{"k", "", false},
	} {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			addr := redistest.Mini(t).Addr()
			if err := client(t, addr).Set(t.Context(), tt.key, tt.value, 0).Err(); err != nil {
				t.Fatal(err)
			}
			f := &errorsTB{T: t}
			redistest.WantNoMatch(f, addr, cvc)
			if got := len(f.errors) > 0; got != tt.want {
				t.Errorf("errors %q, want some: %v", f.errors, tt.want)
			}
		})
	}
}
