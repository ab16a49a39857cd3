package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/outbox"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// platform is a fake chat platform's notifier: it owns the organizations
// with its prefix, posts each notification to two destinations (a channel
// and an admin's DM, as the real ones do when they fall back to DMs), and
// does what the real ones do on a redelivery: it skips the destinations
// the store marks as delivered, and those where the platform already shows
// the notification (Slack's message metadata, Discord's nonce).
type platform struct {
	prefix string
	st     *store.Store

	mu    sync.Mutex
	posts map[string]int // key|destination → posts
	fail  func(n commands.Notification, dest string) error
	// posted, when set, hears of each post before it is marked delivered,
	// and the post returns only when it answers (a sender killed there).
	posted chan chan struct{}
}

func newPlatform(prefix string, st *store.Store) *platform {
	return &platform{prefix: prefix, st: st, posts: map[string]int{}}
}

func (p *platform) Owns(org string) bool { return strings.HasPrefix(org, p.prefix) }

func (p *platform) Notify(ctx context.Context, n commands.Notification) error {
	for _, dest := range []string{"channel:C1", "dm:U1"} {
		if n.Redelivery {
			ok, err := p.st.Delivered(ctx, n.Org, n.Key, dest)
			if err != nil {
				return err
			}
			p.mu.Lock()
			shown := p.posts[n.Key+"|"+dest] > 0
			p.mu.Unlock()
			if ok || shown {
				continue
			}
		}
		p.mu.Lock()
		fail := p.fail
		p.mu.Unlock()
		if fail != nil {
			if err := fail(n, dest); err != nil {
				return err
			}
		}
		p.mu.Lock()
		p.posts[n.Key+"|"+dest]++
		posted := p.posted
		p.mu.Unlock()
		if posted != nil {
			resume := make(chan struct{})
			posted <- resume
			<-resume
		}
		if err := p.st.MarkDelivered(ctx, n.Org, n.Key, dest); err != nil {
			return err
		}
	}
	return nil
}

func (p *platform) setFail(f func(commands.Notification, string) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = f
}

// count is how often key was posted to each destination.
func (p *platform) count(key string) []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return []int{p.posts[key+"|channel:C1"], p.posts[key+"|dm:U1"]}
}

func (p *platform) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.posts {
		n += c
	}
	return n
}

// clock is a fake clock for retries' due times.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type env struct {
	t     *testing.T
	st    *store.Store
	clock *clock
	slack *platform
	disc  *platform

	mu     sync.Mutex
	events []string // org kind result
}

func newEnv(t *testing.T, addr string) *env {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	return &env{t: t, st: st, clock: &clock{now: time.Now()}, slack: newPlatform("slack-", st), disc: newPlatform("discord-", st)}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// sender makes a sender on the env's store (with a store of its own for
// another replica: pass a different consumer name).
func (e *env) sender(consumer string, cfg outbox.Config) *outbox.Sender {
	cfg.Consumer = consumer
	cfg.Log = quiet
	if cfg.Now == nil {
		cfg.Now = e.clock.Now
	}
	cfg.Observe = func(org string, kind commands.NotificationKind, result string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.events = append(e.events, org+" "+string(kind)+" "+result)
	}
	return outbox.New(e.st, []commands.Notifier{e.slack, e.disc}, cfg)
}

// notify makes a change that is only a notification, the way the core's
// scheduler does for a trial's reminder.
func (e *env) notify(org, key string) {
	e.t.Helper()
	n := commands.Notification{Org: org, Kind: commands.NoteReminder, Key: key, To: "U1",
		Sub: commands.NotifiedSub{ID: "sub1", Product: "Visio Plan 2", Expires: time.Now()}}
	if _, err := e.st.Notify(e.t.Context(), org, store.Once{Key: "job:" + key, Note: n.Note()}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) drain(s *outbox.Sender) {
	e.t.Helper()
	if err := s.Drain(e.t.Context()); err != nil {
		e.t.Fatalf("Drain: %v", err)
	}
}

func (e *env) results() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.events)
}

func (e *env) dead(org string) []store.OutboxEntry {
	e.t.Helper()
	d, err := e.st.DeadLetters(e.t.Context(), org, 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func TestDeliverRoutes(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	e.notify("slack-T1", "a")
	e.notify("discord-42", "b")
	e.notify("matrix-1", "c") // no platform of this sender owns it
	s := e.sender("s1", outbox.Config{})
	e.drain(s)
	if got := e.slack.count("a"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("slack posts of a = %v, want one per destination", got)
	}
	if got := e.disc.count("b"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("discord posts of b = %v, want one per destination", got)
	}
	if e.slack.total() != 2 || e.disc.total() != 2 {
		t.Errorf("posts: slack %d, discord %d; want 2 each", e.slack.total(), e.disc.total())
	}
	if got, want := e.results(), []string{"slack-T1 reminder sent", "discord-42 reminder sent"}; !sameSet(got, want) {
		t.Errorf("results = %q, want %q", got, want)
	}
	// The unowned organization's entry waits for a sender that can deliver it.
	if left, err := e.st.Outbox(t.Context(), "matrix-1", 10); err != nil || len(left) != 1 {
		t.Errorf("outbox of an organization no platform owns = %+v, %v; want its entry kept", left, err)
	}
	if n, _ := s.Backlog(); n != 0 {
		t.Errorf("Backlog = %d, want 0 (the sender never looked at the unowned outbox)", n)
	}
	e.drain(s)
	if e.slack.total() != 2 {
		t.Errorf("a second drain posted again: %d posts", e.slack.total())
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

var errServer = errors.New("slack chat.postMessage: 503 Service Unavailable")

func TestRetryBackoff(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	e.notify("slack-T1", "a")
	// The channel works; the DM fails twice with a 5xx.
	failures := 0
	e.slack.setFail(func(_ commands.Notification, dest string) error {
		if dest == "dm:U1" && failures < 2 {
			failures++
			return errServer
		}
		return nil
	})
	const base = 10 * time.Second
	s := e.sender("s1", outbox.Config{Backoff: base, MaxBackoff: time.Hour})
	e.drain(s)
	if got := e.slack.count("a"); !slices.Equal(got, []int{1, 0}) {
		t.Fatalf("after a failed DM: posts = %v, want the channel only", got)
	}
	for attempt, wait := range []time.Duration{base, 2 * base} {
		// Not before half the backoff (jitter takes off at most half) …
		e.clock.Add(wait/2 - time.Second)
		e.drain(s)
		if got := e.slack.count("a"); got[1] != 0 {
			t.Fatalf("attempt %d: retried before half its backoff of %v", attempt+2, wait)
		}
		// … and by the full backoff.
		e.clock.Add(wait/2 + time.Second)
		e.drain(s)
	}
	if got := e.slack.count("a"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("after the retries: posts = %v, want each destination once (the channel is not posted to again)", got)
	}
	if got, want := e.results(), []string{"slack-T1 reminder retried", "slack-T1 reminder retried", "slack-T1 reminder sent"}; !slices.Equal(got, want) {
		t.Errorf("results = %q, want %q", got, want)
	}
}

func TestRateLimitWaitsRetryAfter(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	e.notify("discord-42", "a")
	limited := true
	e.disc.setFail(func(commands.Notification, string) error {
		if limited {
			limited = false
			return &commands.RateLimitedError{Wait: 30 * time.Second, Err: errors.New("discord: 429")}
		}
		return nil
	})
	s := e.sender("s1", outbox.Config{Backoff: time.Millisecond})
	e.drain(s)
	e.clock.Add(29 * time.Second)
	e.drain(s)
	if got := e.disc.count("a"); got[0] != 0 {
		t.Fatalf("posted %v before Retry-After passed", got)
	}
	e.clock.Add(2 * time.Second)
	e.drain(s)
	if got := e.disc.count("a"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("posts after Retry-After = %v, want one each", got)
	}
}

func TestDeadLetters(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	ctx := t.Context()
	e.notify("slack-T1", "permanent")
	e.notify("slack-T2", "flaky")
	e.slack.setFail(func(n commands.Notification, _ string) error {
		if n.Org == "slack-T1" {
			return fmt.Errorf("slack: channel_not_found: %w", commands.ErrPermanent)
		}
		return errServer
	})
	s := e.sender("s1", outbox.Config{Attempts: 3, Backoff: time.Second, MaxBackoff: time.Second})
	e.drain(s)
	if d := e.dead("slack-T1"); len(d) != 1 || d[0].Key != "permanent" || !strings.Contains(d[0].Error, "channel_not_found") || d[0].Attempts != 1 {
		t.Errorf("dead letters of T1 = %+v, want the permanent failure at once", d)
	}
	for range 3 {
		e.clock.Add(2 * time.Second)
		e.drain(s)
	}
	d := e.dead("slack-T2")
	if len(d) != 1 || d[0].Attempts != 3 || !strings.Contains(d[0].Error, "after 3 attempts") || !strings.Contains(d[0].Error, "503") {
		t.Fatalf("dead letters of T2 = %+v, want the flaky one after 3 attempts", d)
	}
	if orgs, err := e.st.DeadOrgs(ctx); err != nil || !sameSet(orgs, []string{"slack-T1", "slack-T2"}) {
		t.Errorf("DeadOrgs = %q, %v", orgs, err)
	}

	// The operator fixes the channel and retries them.
	e.slack.setFail(nil)
	for _, org := range []string{"slack-T1", "slack-T2"} {
		if n, err := e.st.RetryDead(ctx, org); err != nil || n != 1 {
			t.Fatalf("RetryDead(%s) = %d, %v", org, n, err)
		}
	}
	e.drain(s)
	if a, b := e.slack.count("permanent"), e.slack.count("flaky"); !slices.Equal(a, []int{1, 1}) || !slices.Equal(b, []int{1, 1}) {
		t.Errorf("after RetryDead: posts %v and %v, want each destination once", a, b)
	}
	if len(e.dead("slack-T1"))+len(e.dead("slack-T2")) != 0 {
		t.Error("dead letters left after they were retried and delivered")
	}
}

func TestTooOldIsDead(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	e.notify("slack-T1", "a")
	e.slack.setFail(func(commands.Notification, string) error { return errServer })
	s := e.sender("s1", outbox.Config{MaxAge: time.Hour, Backoff: time.Minute})
	e.drain(s)
	e.clock.Add(2 * time.Hour)
	e.drain(s)
	if d := e.dead("slack-T1"); len(d) != 1 || !strings.Contains(d[0].Error, "still failing after") {
		t.Errorf("dead letters = %+v, want the entry given up after MaxAge", d)
	}
}

func TestPanickingNotifierIsRetried(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	e.notify("slack-T1", "a")
	panicked := false
	e.slack.setFail(func(commands.Notification, string) error {
		if !panicked {
			panicked = true
			panic("boom")
		}
		return nil
	})
	s := e.sender("s1", outbox.Config{Backoff: time.Second})
	e.drain(s)
	e.clock.Add(2 * time.Second)
	e.drain(s)
	if got := e.slack.count("a"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("posts = %v, want each destination once after the panic", got)
	}
}

// TestSenderKilled kills a sender (it stops dead, settling nothing) at each
// point between being handed an entry and acknowledging it, and shows that
// another sender then delivers the notification exactly once to each
// destination: on real Redis, the way replicas share it.
func TestSenderKilled(t *testing.T) {
	for _, at := range []string{"before posting", "after posting to one destination", "after posting to all"} {
		t.Run(at, func(t *testing.T) {
			e := newEnv(t, redistest.Real(t))
			e.notify("slack-T1", "a")
			const claimAfter = 300 * time.Millisecond
			cfg := outbox.Config{ClaimAfter: claimAfter, Poll: 20 * time.Millisecond, Idle: 50 * time.Millisecond, Now: time.Now}

			// The doomed sender gets stuck where it is killed: it never
			// returns from the notifier (nor settles the entry).
			stuck := make(chan struct{})
			var unblock sync.Once
			release := make(chan struct{})
			defer unblock.Do(func() { close(release) })
			switch at {
			case "before posting":
				e.slack.setFail(func(commands.Notification, string) error {
					close(stuck)
					<-release
					return errors.New("killed")
				})
			default:
				posted := make(chan chan struct{})
				e.slack.mu.Lock()
				e.slack.posted = posted
				e.slack.mu.Unlock()
				go func() {
					resume := <-posted // channel
					if at == "after posting to all" {
						resume <- struct{}{}
						resume = <-posted // DM
					}
					// Killed here: posted, not marked delivered, not acknowledged.
					e.slack.mu.Lock()
					e.slack.posted = nil
					e.slack.mu.Unlock()
					close(stuck)
					<-release
					close(resume)
				}()
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			doomed := e.sender("doomed", cfg)
			go doomed.Drain(ctx)
			<-stuck
			e.slack.setFail(nil)

			// Another replica takes over after the claim timeout.
			ctx2, cancel2 := context.WithCancel(t.Context())
			defer cancel2()
			done := make(chan struct{})
			go func() { defer close(done); e.sender("survivor", cfg).Run(ctx2) }()
			deadline := time.Now().Add(10 * time.Second)
			for {
				left, err := e.st.Outbox(t.Context(), "slack-T1", 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the survivor did not deliver the dead sender's entry within 10 s: %+v", left)
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel2()
			<-done
			if got := e.slack.count("a"); !slices.Equal(got, []int{1, 1}) {
				t.Errorf("posts per destination = %v, want one each", got)
			}
		})
	}
}

// waitFor polls cond (bounded) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRunDeliversAtOnce: a change made through the sender's store is
// delivered without waiting for the next poll.
func TestRunDeliversAtOnce(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); e.sender("s1", outbox.Config{Poll: time.Hour, Now: time.Now}).Run(ctx) }()
	e.notify("slack-T1", "a")
	waitFor(t, "delivery", func() bool { return e.slack.total() == 2 })
	cancel()
	<-done
}

// TestRunShutdown: when Run's context ends, the delivery in progress
// finishes, and the entries not yet started go to the other senders at
// once, not after the claim timeout.
func TestRunShutdown(t *testing.T) {
	e := newEnv(t, redistest.Mini(t).Addr())
	for _, k := range []string{"a", "b", "c"} {
		e.notify("slack-T1", k)
	}
	started, finish := make(chan struct{}), make(chan struct{})
	e.slack.setFail(func(n commands.Notification, dest string) error {
		if n.Key == "a" && dest == "channel:C1" {
			close(started)
			<-finish
		}
		return nil
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	cfg := outbox.Config{Poll: 10 * time.Millisecond, ClaimAfter: time.Hour, Batch: 10, Now: time.Now}
	go func() { defer close(done); e.sender("leaving", cfg).Run(ctx) }()
	<-started
	cancel()
	close(finish)
	<-done
	if got := e.slack.count("a"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("the delivery in progress: posts %v, want it finished", got)
	}
	if got := e.slack.count("b"); got[0]+got[1] != 0 {
		t.Errorf("an entry not started was posted %v after shutdown", got)
	}
	e.slack.setFail(nil)
	e.drain(e.sender("staying", cfg))
	for _, k := range []string{"b", "c"} {
		if got := e.slack.count(k); !slices.Equal(got, []int{1, 1}) {
			t.Errorf("%s after another sender's drain: posts %v, want one each (released, not waiting an hour)", k, got)
		}
	}
}
