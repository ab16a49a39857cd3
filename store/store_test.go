package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// connect opens a store on addr through store.Connect, closed with the test.
func connect(t *testing.T, addr string) *store.Store {
	t.Helper()
	rdb, err := store.Connect("redis://" + addr)
	if err != nil {
		t.Fatalf("Connect(%s): %v", addr, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return store.New(rdb)
}

func TestContractMiniredis(t *testing.T) {
	runContract(t, func(t *testing.T) *store.Store {
		m := miniredis.RunT(t)
		s := connect(t, m.Addr())
		clocks.Store(s, m)
		t.Cleanup(func() { clocks.Delete(s) })
		return s
	})
}

// realStore returns a function that empties one private redis-server and
// gives a store on it, for tests that run one after the other.
func realStore(t *testing.T) func(t *testing.T) *store.Store {
	addr := redistest.Real(t)
	return func(t *testing.T) *store.Store {
		s := connect(t, addr)
		if err := s.Client().FlushAll(t.Context()).Err(); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		return s
	}
}

func TestContractRedis(t *testing.T) {
	runContract(t, realStore(t))
}

// TestContractCluster runs the contract on a 3-master Redis Cluster: every
// script must find its keys in one slot.
func TestContractCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	addrs := redistest.Cluster(t)
	runContract(t, func(t *testing.T) *store.Store {
		rdb, err := store.Connect("redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		err = forEachServer(t.Context(), rdb, func(ctx context.Context, c *redis.Client) error {
			return c.FlushAll(ctx).Err()
		})
		if err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		return store.New(rdb)
	})
}

func TestConcurrentAssignRedis(t *testing.T) {
	newStore := realStore(t)

	t.Run("more users than licenses", func(t *testing.T) {
		s := newStore(t)
		f := &fixture{s: s, ctx: t.Context()}
		f.create(t, purchase(orgA, "sub1", 10), nil)
		const n = 200
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				u := fmt.Sprintf("U%03d", i)
				_, errs[i] = s.AssignLicenses(t.Context(), store.Once{Key: "assign-" + u}, orgA, buyer, "sub1", members(u))
			})
		}
		wg.Wait()
		var won []string
		for i, err := range errs {
			switch {
			case err == nil:
				won = append(won, fmt.Sprintf("U%03d", i))
			case !errors.Is(err, store.ErrNoFreeLicenses):
				t.Errorf("user %d: got %v, want nil or ErrNoFreeLicenses", i, err)
			}
		}
		if len(won) != 10 {
			t.Errorf("%d assignments succeeded, want 10", len(won))
		}
		sub := f.sub(t, orgA, "sub1")
		var assigned []string
		for _, m := range sub.Assigned {
			assigned = append(assigned, m.ID)
		}
		sort.Strings(assigned)
		if len(assigned) != 10 || sub.Free() != 0 || !slices.Equal(assigned, won) {
			t.Errorf("assigned %v (free %d), want exactly the winners %v", assigned, sub.Free(), won)
		}
		assertNoDuplicates(t, sub)
		holders := 0
		for i := range n {
			ids := f.subIDs(t, orgA, fmt.Sprintf("U%03d", i), false)
			holders += len(ids)
			if len(ids) > 1 {
				t.Errorf("U%03d sees %v", i, ids)
			}
		}
		if holders != 10 {
			t.Errorf("%d users see the subscription, want 10", holders)
		}
		if a := f.audit(t, orgA); len(a) != 11 {
			t.Errorf("%d audit entries, want 11 (buy and 10 assignments)", len(a))
		}
	})

	t.Run("the same user many times", func(t *testing.T) {
		s := newStore(t)
		f := &fixture{s: s, ctx: t.Context()}
		f.create(t, purchase(orgA, "sub1", 10), nil)
		const n = 50
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.AssignLicenses(t.Context(), store.Once{Key: fmt.Sprintf("key-%d", i)}, orgA, buyer, "sub1", members("U1", "U2"))
			})
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrAlreadyAssigned):
			default:
				t.Errorf("request %d: got %v, want nil or ErrAlreadyAssigned", i, err)
			}
		}
		if sub := f.sub(t, orgA, "sub1"); ok != 1 || len(sub.Assigned) != 2 {
			t.Errorf("%d requests succeeded, %d assigned; want 1, 2", ok, len(sub.Assigned))
		}
	})

	t.Run("double click", func(t *testing.T) {
		s := newStore(t)
		f := &fixture{s: s, ctx: t.Context()}
		f.create(t, purchase(orgA, "sub1", 10), nil)
		const n = 50
		results := make([]store.Result, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = s.AssignLicenses(t.Context(), store.Once{Key: "view-V123"}, orgA, buyer, "sub1", members("U1", "U2", "U3"))
			})
		}
		wg.Wait()
		first := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("click %d: %v", i, errs[i])
				continue
			}
			if results[i].Value != "3" {
				t.Errorf("click %d = %+v, want value 3", i, results[i])
			}
			if !results[i].Repeat {
				first++
			}
		}
		if first != 1 {
			t.Errorf("%d clicks were not repeats, want 1", first)
		}
		sub := f.sub(t, orgA, "sub1")
		if want := members("U1", "U2", "U3"); !reflect.DeepEqual(sub.Assigned, want) {
			t.Errorf("assigned %v, want %v", sub.Assigned, want)
		}
		if a := f.audit(t, orgA); len(a) != 2 || a[0].Action != "assign U1,U2,U3" {
			t.Errorf("audit = %+v, want buy and one assignment", a)
		}
	})

	t.Run("license count changes race", func(t *testing.T) {
		s := newStore(t)
		f := &fixture{s: s, ctx: t.Context()}
		f.create(t, purchase(orgA, "sub1", 5), nil)
		const n = 30
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.SetLicenses(t.Context(), store.Once{Key: fmt.Sprintf("lic-%d", i)}, orgA, buyer, "sub1", 6+i, 5)
			})
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if won >= 0 {
					t.Errorf("requests %d and %d both succeeded", won, i)
				}
				won = i
			case !errors.Is(err, store.ErrStale):
				t.Errorf("request %d: got %v, want nil or ErrStale", i, err)
			}
		}
		if sub := f.sub(t, orgA, "sub1"); won < 0 || sub.Total != 6+won {
			t.Errorf("total %d after the race won by %d", sub.Total, won)
		}
	})
}

func TestConnect(t *testing.T) {
	tests := []struct {
		url   string
		check func(t *testing.T, c redis.UniversalClient)
	}{
		{"redis://localhost:6379/2", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "localhost:6379" || o.DB != 2 || o.TLSConfig != nil {
				t.Errorf("addr %q db %d tls %v; want localhost:6379, 2, none", o.Addr, o.DB, o.TLSConfig)
			}
		}},
		{"rediss://bob:secret@redis.example:6380", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.Client).Options()
			if o.Addr != "redis.example:6380" || o.Username != "bob" || o.Password != "secret" || o.TLSConfig == nil {
				t.Errorf("addr %q user %q tls %v; want redis.example:6380, bob, TLS", o.Addr, o.Username, o.TLSConfig)
			}
		}},
		{"unix:///run/redis.sock", func(t *testing.T, c redis.UniversalClient) {
			if o := c.(*redis.Client).Options(); o.Network != "unix" || o.Addr != "/run/redis.sock" {
				t.Errorf("network %q addr %q; want unix /run/redis.sock", o.Network, o.Addr)
			}
		}},
		{"redis+cluster://n1:7000?addr=n2:7001&addr=n3:7002", func(t *testing.T, c redis.UniversalClient) {
			o := c.(*redis.ClusterClient).Options()
			if want := []string{"n1:7000", "n2:7001", "n3:7002"}; !slices.Equal(o.Addrs, want) || o.TLSConfig != nil {
				t.Errorf("addrs %v tls %v; want %v, none", o.Addrs, o.TLSConfig, want)
			}
		}},
		{"rediss+cluster://n1:7000?addr=n2:7001", func(t *testing.T, c redis.UniversalClient) {
			if o := c.(*redis.ClusterClient).Options(); o.TLSConfig == nil || len(o.Addrs) != 2 {
				t.Errorf("addrs %v tls %v; want 2 addresses, TLS", o.Addrs, o.TLSConfig)
			}
		}},
		{"redis+sentinel://s1:26379?master_name=mymaster&addr=s2:26379", func(t *testing.T, c redis.UniversalClient) {
			if o := c.(interface{ Options() *redis.Options }).Options(); o.Addr != "FailoverClient" || !o.ContextTimeoutEnabled {
				t.Errorf("client %T for %q, context timeouts %v; want a failover client that heeds contexts", c, o.Addr, o.ContextTimeoutEnabled)
			}
		}},
		{"redis+sentinel://s1:26379?wait_replicas=0&master_name=mymaster&addr=s2:26379", func(t *testing.T, c redis.UniversalClient) {}},
		{"redis+sentinel://s1:26379?master_name=mymaster&wait_replicas=2", func(t *testing.T, c redis.UniversalClient) {}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c, err := store.Connect(tt.url)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			defer c.Close()
			tt.check(t, c)
		})
	}
	for _, junk := range []string{
		"", "localhost:6379", "http://localhost:6379", "redis+foo://h:1", "redis://h:port",
		"redis+sentinel://s1:26379", "redis://h:1/notadb", "mongodb+cluster://h:1",
		"redis+sentinel://s1:26379?master_name=m&wait_replicas=-1",
		"redis+sentinel://s1:26379?master_name=m&wait_replicas=one",
		"redis+sentinel://s1:26379?master_name=m&wait_replicas=1&wait_replicas=2",
		"redis+sentinel://s1:26379?master_name=m&replica_only=true",
		"redis+sentinel://s1:26379?master_name=m&route_by_latency=true",
		"redis+sentinel://s1:26379?master_name=m&route_randomly=true",
	} {
		t.Run("reject "+junk, func(t *testing.T) {
			if c, err := store.Connect(junk); err == nil {
				c.Close()
				t.Errorf("Connect(%q) = %T, want an error", junk, c)
			}
		})
	}
}

// TestPersistence: the store tells what the Redis in use keeps.
func TestPersistence(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		nothing bool
		aof     bool
	}{
		{"nothing", nil, true, false},
		{"aof everysec", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, false, true},
		{"rdb only", []string{"--save", "900 1"}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := connect(t, redistest.Real(t, c.args...))
			p, err := s.Persistence(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !p.Known || p.KeepsNothing() != c.nothing || p.AOF != c.aof {
				t.Errorf("Persistence = %+v (keeps nothing: %v), want known, keeps nothing %v, AOF %v", p, p.KeepsNothing(), c.nothing, c.aof)
			}
		})
	}
}
