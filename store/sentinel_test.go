package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// requestDeadline is how long a request of the bot waits for Redis
// (commands.Config.Timeout's default).
const requestDeadline = 2 * time.Second

// hangGrace is how long after its deadline a store call may take to give up
// before the test calls it hung: generous, for a loaded machine.
const hangGrace = 2 * time.Second

// sentinelURL is the redis+sentinel:// URL of s, naming both sentinels.
func sentinelURL(s *redistest.Sentinels) string {
	u := "redis+sentinel://" + s.Addrs[0] + "?master_name=" + redistest.MasterName
	for _, a := range s.Addrs[1:] {
		u += "&addr=" + a
	}
	return u
}

// openURL opens a store on a Redis URL through store.Connect, closed with the test.
func openURL(t *testing.T, url string) *store.Store {
	t.Helper()
	rdb, err := store.Connect(url)
	if err != nil {
		t.Fatalf("Connect(%s): %v", url, err)
	}
	t.Cleanup(func() { rdb.Close() })
	return store.New(rdb)
}

// TestSentinel runs the store through Redis Sentinel: it finds the primary
// through the sentinels, and keeps working, with the same client, across a
// failover made while purchases are being made, losing none that it
// acknowledged and never waiting past a request's deadline. A change counts
// as made once wait_replicas replicas have it: set to the number of
// replicas, a failover cannot lose it (README, "Redis URLs").
func TestSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis Sentinel and fails over")
	}
	for _, c := range []struct {
		name     string
		replicas int
		query    string // added to the URL
	}{
		{"one replica, wait_replicas by default", 1, ""},
		{"two replicas, wait_replicas=2", 2, "&wait_replicas=2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testFailover(t, redistest.Sentinel(t, c.replicas, 2), c.query)
		})
	}
}

func testFailover(t *testing.T, s *redistest.Sentinels, query string) {
	st := openURL(t, sentinelURL(s)+query)
	ctx := t.Context()

	// The store finds the primary through the sentinels.
	if err := st.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	sub := purchase(orgA, "sub0", 3)
	if _, err := st.CreateSubscription(ctx, store.Once{Key: "req-sub0"}, sub, invoice(sub, "inv0", t0, 3, "purchase")); err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	if _, err := st.AssignLicenses(ctx, store.Once{Key: "req-assign"}, orgA, buyer, "sub0", []store.Member{{ID: "U1", Name: "Una"}}); err != nil {
		t.Fatalf("AssignLicenses: %v", err)
	}
	if got, err := st.Subscription(ctx, orgA, "sub0"); err != nil || got.Total != 3 || len(got.Assigned) != 1 {
		t.Fatalf("Subscription = %+v, %v; want 3 licenses, 1 assigned", got, err)
	}
	old := s.Primary()
	if got, err := openURL(t, "redis://"+old).Subscription(ctx, orgA, "sub0"); err != nil || got.ID != "sub0" {
		t.Fatalf("Subscription on the primary %s = %+v, %v; want sub0", old, got, err)
	}

	// Purchases under traffic, from several goroutines, through the failover.
	tr := startTraffic(t, st, 4)
	tr.waitAcked(t, 40)
	next := s.Failover()
	direct := openURL(t, "redis://"+next)
	// The same store makes changes on the new primary without a restart.
	onNext := waitOnPrimary(t, st, direct)
	tr.waitAcked(t, tr.acked()+40)
	tr.stop()

	// Every acknowledged purchase is on the new primary; none that the
	// store said was certainly not made is.
	for _, id := range tr.ok {
		if _, err := direct.Subscription(ctx, orgB, id); err != nil {
			t.Errorf("acknowledged purchase %s on the new primary %s: %v", id, next, err)
		}
	}
	for _, id := range tr.notMade {
		if _, err := direct.Subscription(ctx, orgB, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("purchase %s was answered ErrNotMade, but on the new primary: %v", id, err)
		}
	}
	t.Logf("failover %s → %s: %d purchases acknowledged, %d not made, %d unsure; slowest answer %v (deadline %v); changes on the new primary after %v",
		old, next, len(tr.ok), len(tr.notMade), len(tr.unsure), tr.slowest, requestDeadline, onNext)
}

// waitOnPrimary makes purchases through st until one is acknowledged and
// found on primary, and returns how long that took. Each attempt has a
// request's deadline; the whole, sentinel-sized patience.
func waitOnPrimary(t *testing.T, st, primary *store.Store) time.Duration {
	t.Helper()
	start := time.Now()
	for n := 0; ; n++ {
		id := fmt.Sprintf("probe-%d", n)
		sub := purchase(orgA, id, 1)
		ctx, cancel := context.WithTimeout(t.Context(), requestDeadline)
		_, err := st.CreateSubscription(ctx, store.Once{Key: "req-" + id}, sub, nil)
		cancel()
		if err == nil {
			if _, err = primary.Subscription(t.Context(), orgA, id); err == nil {
				return time.Since(start)
			}
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("no purchase through the store on the new primary after 30 s; last: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// traffic makes purchases from several goroutines until stopped, each with
// a request's deadline, and records how each ended.
type traffic struct {
	t    *testing.T
	st   *store.Store
	quit chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	cond *sync.Cond
	ok   []string // acknowledged purchases
	// notMade failed with ErrNotMade; unsure with another ErrUnavailable.
	notMade, unsure []string
	slowest         time.Duration
}

func startTraffic(t *testing.T, st *store.Store, workers int) *traffic {
	tr := &traffic{t: t, st: st, quit: make(chan struct{})}
	tr.cond = sync.NewCond(&tr.mu)
	for w := range workers {
		tr.wg.Add(1)
		go tr.run(w)
	}
	t.Cleanup(tr.stop)
	return tr
}

func (tr *traffic) run(w int) {
	defer tr.wg.Done()
	for n := 0; ; n++ {
		select {
		case <-tr.quit:
			return
		default:
		}
		id := fmt.Sprintf("w%d-%d", w, n)
		sub := purchase(orgB, id, 1)
		once := store.Once{Key: "req-" + id, Note: &store.Note{Key: "bought:" + id, Body: "{}"}}
		renewal := store.Job{Kind: store.JobRenewal, Org: orgB, SubID: id, Due: sub.RenewsAt}
		took, err := tr.call(func(ctx context.Context) error {
			_, err := tr.st.CreateSubscription(ctx, once, sub, invoice(sub, "inv-"+id, t0, 1, "purchase"), renewal)
			return err
		})
		tr.mu.Lock()
		tr.slowest = max(tr.slowest, took)
		switch {
		case err == nil:
			tr.ok = append(tr.ok, id)
		case errors.Is(err, store.ErrNotMade):
			tr.notMade = append(tr.notMade, id)
		case errors.Is(err, store.ErrUnavailable):
			tr.unsure = append(tr.unsure, id)
		default:
			tr.t.Errorf("purchase %s: %v; want success or store.ErrUnavailable", id, err)
		}
		tr.cond.Broadcast()
		tr.mu.Unlock()
	}
}

// call runs f with a request's deadline and fails the test if f has not
// returned hangGrace after it.
func (tr *traffic) call(f func(ctx context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestDeadline)
	defer cancel()
	watchdog, stop := context.WithTimeout(context.Background(), requestDeadline+hangGrace)
	defer stop()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-watchdog.Done():
		tr.t.Errorf("a store call did not return within %v after its deadline of %v", hangGrace, requestDeadline)
		err := <-done
		return time.Since(start), err
	}
}

func (tr *traffic) acked() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.ok)
}

// waitAcked waits until n purchases have been acknowledged, failing the
// test after sentinel-sized patience.
func (tr *traffic) waitAcked(t *testing.T, n int) {
	t.Helper()
	timer := time.AfterFunc(30*time.Second, func() {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		tr.cond.Broadcast()
	})
	defer timer.Stop()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for len(tr.ok) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d purchases acknowledged after 30 s, want %d (not made %d, unsure %d)", len(tr.ok), n, len(tr.notMade), len(tr.unsure))
		}
		tr.cond.Wait()
	}
}

// stop stops the goroutines and waits for them; safe to call more than once.
func (tr *traffic) stop() {
	select {
	case <-tr.quit:
	default:
		close(tr.quit)
	}
	tr.wg.Wait()
}

// TestRefusedIsNotMade: a change that Redis refuses because it cannot take
// writes now, as happens around a failover (a replica: READONLY; a primary
// short of replicas under min-replicas-to-write: NOREPLICAS), fails with
// ErrNotMade and changes nothing.
func TestRefusedIsNotMade(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		// A replica of a primary that is not there.
		{"replica", []string{"--replicaof", "127.0.0.1", "1"}},
		{"primary without replicas", []string{"--min-replicas-to-write", "1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr := redistest.Real(t, c.args...)
			st := connect(t, addr)
			sub := purchase(orgA, "sub1", 1)
			once := store.Once{Key: "req-1", Note: &store.Note{Key: "bought:sub1", Body: "{}"}}
			for name, change := range map[string]func(ctx context.Context) error{
				"script": func(ctx context.Context) error {
					_, err := st.CreateSubscription(ctx, store.Once{Key: "req-1"}, sub, nil)
					return err
				},
				"script with a job and a notification": func(ctx context.Context) error {
					renewal := store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: sub.RenewsAt}
					_, err := st.CreateSubscription(ctx, once, sub, nil, renewal)
					return err
				},
			} {
				ctx, cancel := context.WithTimeout(t.Context(), requestDeadline)
				err := change(ctx)
				cancel()
				if !errors.Is(err, store.ErrNotMade) {
					t.Errorf("%s: %v, want store.ErrNotMade", name, err)
				}
			}
			if n, err := st.Client().DBSize(t.Context()).Result(); err != nil || n != 0 {
				t.Errorf("DBSIZE = %d, %v; want 0", n, err)
			}
		})
	}
}

// TestLostAnswerThenRefused: a change that Redis made, whose answer was lost
// with its connection (a failover closes them), and whose repeat the next
// server refuses (the old primary, now a replica: READONLY, here to the
// change's job) is not reported certainly not made: the first try made it,
// and the replica has it.
func TestLostAnswerThenRefused(t *testing.T) {
	primary := redistest.Real(t, "--repl-diskless-sync-delay", "0")
	host, port, _ := strings.Cut(primary, ":")
	replica := redistest.Real(t, "--replicaof", host, port)
	direct, onReplica := connect(t, primary), connect(t, replica)
	ctx := t.Context()
	waitFor(t, func() (bool, string) {
		info, err := onReplica.Client().Info(ctx, "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up"), "replica not in sync: " + info
	})

	proxy := redistest.NewProxy(t, primary)
	st := connect(t, proxy.Addr())
	// A first change loads the script, so that the one below is one EVALSHA.
	sub0 := purchase(orgA, "sub0", 1)
	if _, err := st.CreateSubscription(ctx, store.Once{Key: "req-0", Note: &store.Note{Key: "bought:sub0", Body: "{}"}}, sub0, nil); err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	// Hold the change in Redis until its answer can be held in the proxy.
	if err := direct.Client().Do(ctx, "CLIENT", "PAUSE", 10000, "WRITE").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	sub := purchase(orgA, "sub1", 1)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		renewal := store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: sub.RenewsAt}
		_, err := st.CreateSubscription(ctx, store.Once{Key: "req-1", Note: &store.Note{Key: "bought:sub1", Body: "{}"}}, sub, nil, renewal)
		done <- err
	}()
	waitFor(t, func() (bool, string) {
		info, err := direct.Client().Info(ctx, "clients").Result()
		return err == nil && strings.Contains(info, "blocked_clients:1\r"), "the change is not waiting in Redis: " + info
	})
	proxy.Stall()
	if err := direct.Client().Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatalf("CLIENT UNPAUSE: %v", err)
	}
	waitFor(t, func() (bool, string) {
		_, err := onReplica.Subscription(ctx, orgA, "sub1")
		return err == nil, fmt.Sprintf("the change is not on the replica: %v", err)
	})
	// The failover as the client sees it: its connection breaks, and the
	// server it reaches next is the replica.
	proxy.Retarget(replica)
	proxy.Reset()
	proxy.Resume()
	// Made, or unsure; not certainly not made.
	if err := <-done; err != nil && (!errors.Is(err, store.ErrUnavailable) || errors.Is(err, store.ErrNotMade)) {
		t.Errorf("CreateSubscription = %v; want success or store.ErrUnavailable, not store.ErrNotMade: the change was made", err)
	}
}

// waitFor polls cond until it holds, for a loaded machine's 10 s.
func waitFor(t *testing.T, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
