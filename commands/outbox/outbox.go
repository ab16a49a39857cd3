// Package outbox delivers the notifications that changes leave in the
// organizations' outboxes (see store.Note) through the Notifier of the
// platform that owns each organization.
//
// Every replica runs one Sender, a consumer of the outboxes' group: it is
// handed entries, delivers them and acknowledges them. What a sender that
// died (or hangs) held is claimed by another after Config.ClaimAfter; a
// notifier's error decides what happens to an entry: a rate limit waits as
// long as the platform asked, other failures back off exponentially with
// jitter, and after Config.Attempts failures (or once Config.MaxAge has
// passed, or at once for an error that retrying cannot mend) the entry
// moves to the dead letters, which `billingbot outbox` lists and retries.
// A redelivered entry is marked as such (Notification.Redelivery), so that
// notifiers skip the destinations that already have it.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// Config is how a sender works; zero fields take the defaults.
type Config struct {
	// Consumer names this sender in the consumer group: unique per process
	// (default: host name, process id and a random part).
	Consumer string
	// Poll is how often the outboxes due for a look are asked for (default
	// 1 s). A change made through this process's store is delivered at
	// once, without waiting for a poll.
	Poll time.Duration
	// Idle is how long an outbox that holds nothing waits for its next
	// look (default 1 minute); a change with a notification makes it due
	// at once.
	Idle time.Duration
	// ClaimAfter is how long an entry may stay with a sender that does not
	// settle it before another claims it (default 1 minute). A delivery
	// gets half of it.
	ClaimAfter time.Duration
	// Attempts is how many failed deliveries make an entry a dead letter
	// (default 10).
	Attempts int
	// MaxAge makes a failing entry older than it a dead letter (default 24 h).
	MaxAge time.Duration
	// Backoff is the wait after the first failure (default 2 s); each
	// failure doubles it, up to MaxBackoff (default 15 minutes), and a
	// random part of up to half of it is taken off (jitter).
	Backoff, MaxBackoff time.Duration
	// Workers is how many organizations are delivered to at once (default 4).
	Workers int
	// Batch is how many entries of one organization a look takes (default 20).
	Batch int
	// Grace bounds how long deliveries in progress may go on once Run's
	// context ends (default 10 s).
	Grace time.Duration

	Log *slog.Logger
	// Observe, when set, hears of each entry settled: result is "sent",
	// "retried" or "dead".
	Observe func(org string, kind commands.NotificationKind, result string)
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Poll, time.Second)
	def(&c.Idle, time.Minute)
	def(&c.ClaimAfter, time.Minute)
	def(&c.MaxAge, 24*time.Hour)
	def(&c.Backoff, 2*time.Second)
	def(&c.MaxBackoff, 15*time.Minute)
	def(&c.Grace, 10*time.Second)
	if c.Attempts <= 0 {
		c.Attempts = 10
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Batch <= 0 {
		c.Batch = 20
	}
	if c.Consumer == "" {
		c.Consumer = consumerName()
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// consumerName is unique per process: host, pid and a random part (a
// restarted process with the same pid is another consumer).
func consumerName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%.40s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Store is the outboxes a sender works on; *store.Store is one.
type Store interface {
	// Noted names the organizations this process left a notification for.
	Noted() <-chan string
	OutboxOrgs(ctx context.Context, now, later time.Time, max int) ([]string, error)
	OutboxLookAt(ctx context.Context, org string, at time.Time) error
	OutboxFetch(ctx context.Context, org, consumer string, now time.Time, claimAfter time.Duration, max int) (store.OutboxBatch, error)
	OutboxRelease(ctx context.Context, consumer string, claimAfter time.Duration, entries []store.OutboxEntry) error
	OutboxDone(ctx context.Context, consumer string, e store.OutboxEntry) (bool, error)
	OutboxRetry(ctx context.Context, consumer string, e store.OutboxEntry, at time.Time, why string) (bool, error)
	OutboxDead(ctx context.Context, consumer string, e store.OutboxEntry, why string) (bool, error)
}

var _ Store = (*store.Store)(nil)

// Sender delivers outbox entries. Run it once per process.
type Sender struct {
	st        Store
	notifiers []commands.Notifier
	cfg       Config

	mu      sync.Mutex
	busy    map[string]bool    // organizations a worker is looking at
	backlog map[string]waiting // what the last look at each organization saw
}

// waiting is what waits in one organization's outbox.
type waiting struct {
	n      int
	oldest time.Time
}

// New returns a sender that delivers through the notifiers (the first that
// owns an organization delivers its notifications).
func New(st Store, notifiers []commands.Notifier, cfg Config) *Sender {
	cfg.defaults()
	return &Sender{st: st, notifiers: notifiers, cfg: cfg, busy: map[string]bool{}, backlog: map[string]waiting{}}
}

// Consumer is the sender's name in the consumer group.
func (s *Sender) Consumer() string { return s.cfg.Consumer }

// Backlog reports how many notifications wait in the outboxes this sender
// looked at last, and when the oldest of them was made (zero: none waits).
func (s *Sender) Backlog() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	total, oldest := 0, time.Time{}
	for _, w := range s.backlog {
		total += w.n
		if !w.oldest.IsZero() && (oldest.IsZero() || w.oldest.Before(oldest)) {
			oldest = w.oldest
		}
	}
	return total, oldest
}

// Run delivers until ctx ends. Then it takes no more work, lets the
// deliveries in progress finish (for at most Config.Grace), hands the
// entries it holds but has not started to the other senders, and returns.
func (s *Sender) Run(ctx context.Context) {
	// Deliveries outlive ctx by the grace period, not longer.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.cfg.Grace, cancel) })
	defer stop()

	work := make(chan string)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for org := range work {
				s.look(ctx, dctx, org)
				s.done(org)
			}
		}()
	}
	defer wg.Wait()
	defer close(work)

	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		var orgs []string
		select {
		case <-ctx.Done():
			return
		case org := <-s.st.Noted():
			orgs = []string{org}
		case <-tick.C:
			now := s.cfg.Now()
			due, err := s.st.OutboxOrgs(ctx, now, now.Add(s.cfg.Idle), 100)
			if err != nil && ctx.Err() == nil {
				s.cfg.Log.Warn("outbox: due organizations", "err", err)
			}
			orgs = due
		}
		for _, org := range orgs {
			if !s.owned(ctx, org) || !s.claim(org) {
				continue
			}
			select {
			case work <- org:
			case <-ctx.Done():
				s.done(org)
				return
			}
		}
	}
}

// Drain delivers what is due in the outboxes now, in this goroutine, until
// none is due: for the console, which runs no Run loop, and for tests.
func (s *Sender) Drain(ctx context.Context) error {
	for ctx.Err() == nil {
		now := s.cfg.Now()
		orgs, err := s.st.OutboxOrgs(ctx, now, now.Add(s.cfg.Idle), 100)
		if err != nil || len(orgs) == 0 {
			return err
		}
		for _, org := range orgs {
			if s.owned(ctx, org) {
				s.look(ctx, ctx, org)
			}
		}
	}
	return ctx.Err()
}

// owned reports whether a notifier of this sender owns org; an outbox it
// cannot deliver is left due for the senders that can.
func (s *Sender) owned(ctx context.Context, org string) bool {
	if s.route(org) != nil {
		return true
	}
	if err := s.st.OutboxLookAt(ctx, org, s.cfg.Now().Add(s.cfg.Poll)); err != nil && ctx.Err() == nil {
		s.cfg.Log.Warn("outbox: give back organization", "org", org, "err", err)
	}
	return false
}

func (s *Sender) route(org string) commands.Notifier {
	for _, n := range s.notifiers {
		if n.Owns(org) {
			return n
		}
	}
	return nil
}

// claim marks org as being looked at by a worker; false if one already is.
func (s *Sender) claim(org string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[org] {
		return false
	}
	s.busy[org] = true
	return true
}

func (s *Sender) done(org string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, org)
}

// look takes a batch of org's outbox and delivers it (with dctx, which
// outlives ctx by the grace period), then brings the next look forward
// when work was left behind. When ctx ends, the entries not yet started
// go back to the other senders.
func (s *Sender) look(ctx, dctx context.Context, org string) {
	log := s.cfg.Log.With("org", org)
	now := s.cfg.Now()
	b, err := s.st.OutboxFetch(ctx, org, s.cfg.Consumer, now, s.cfg.ClaimAfter, s.cfg.Batch)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("outbox: fetch", "err", err)
		}
		return
	}
	left := b.Backlog // what waits after this look
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if left <= 0 {
			delete(s.backlog, org)
		} else {
			s.backlog[org] = waiting{n: left, oldest: b.Oldest}
		}
	}()

	next := b.NextRetry
	for i, e := range b.Entries {
		if ctx.Err() != nil {
			if err := s.st.OutboxRelease(dctx, s.cfg.Consumer, s.cfg.ClaimAfter, b.Entries[i:]); err != nil {
				log.Warn("outbox: release", "err", err)
			}
			return
		}
		at := s.deliver(dctx, e)
		if at.IsZero() {
			left--
		} else if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	// More than a batch waits: look again at once. Entries held by other
	// senders (which may have died): look again when they can be claimed.
	switch {
	case len(b.Entries) == s.cfg.Batch:
		next = now
	case b.Backlog > len(b.Entries):
		if claim := now.Add(s.cfg.ClaimAfter / 2); next.IsZero() || claim.Before(next) {
			next = claim
		}
	}
	if !next.IsZero() {
		if err := s.st.OutboxLookAt(dctx, org, next); err != nil {
			log.Warn("outbox: next look", "err", err)
		}
	}
}

// deliver hands one entry to its notifier and settles it by the outcome.
// It returns when the entry is due again, if it failed and will be tried
// again.
func (s *Sender) deliver(ctx context.Context, e store.OutboxEntry) time.Time {
	log := s.cfg.Log.With("org", e.Org, "entry", e.ID)
	n, err := commands.DecodeNotification(e)
	if err != nil {
		s.settle(ctx, e, "", err, time.Time{})
		return time.Time{}
	}
	log = log.With("kind", n.Kind)
	nf := s.route(e.Org)
	if nf == nil {
		err = fmt.Errorf("%w: no platform for the organization", commands.ErrPermanent)
	} else {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.ClaimAfter/2)
		err = notify(dctx, nf, n)
		cancel()
	}
	if err == nil {
		s.settle(ctx, e, n.Kind, nil, time.Time{})
		return time.Time{}
	}
	now := s.cfg.Now()
	var rl *commands.RateLimitedError
	switch {
	case errors.Is(err, commands.ErrPermanent):
	case e.Attempts+1 >= s.cfg.Attempts:
		err = fmt.Errorf("after %d attempts: %w", e.Attempts+1, err)
	case now.Sub(e.At) > s.cfg.MaxAge:
		err = fmt.Errorf("still failing after %v: %w", now.Sub(e.At).Round(time.Second), err)
	case errors.As(err, &rl):
		return s.settle(ctx, e, n.Kind, err, now.Add(max(rl.Wait, time.Second)))
	default:
		return s.settle(ctx, e, n.Kind, err, now.Add(s.backoff(e.Attempts)))
	}
	s.settle(ctx, e, n.Kind, err, time.Time{})
	return time.Time{}
}

// backoff is the wait after the attempts+1st failure: exponential, capped,
// with up to half of it taken off at random so that retries spread out.
func (s *Sender) backoff(attempts int) time.Duration {
	d := float64(s.cfg.Backoff) * math.Pow(2, float64(min(attempts, 30)))
	d = min(d, float64(s.cfg.MaxBackoff))
	return time.Duration(d * (1 - mrand.Float64()/2))
}

// settle records an entry's outcome: done when err is nil, else a retry
// at retry or, with retry zero, a dead letter. It returns retry.
func (s *Sender) settle(ctx context.Context, e store.OutboxEntry, kind commands.NotificationKind, err error, retry time.Time) time.Time {
	log := s.cfg.Log.With("org", e.Org, "entry", e.ID, "kind", kind)
	var ok bool
	var serr error
	result := "sent"
	switch {
	case err == nil:
		ok, serr = s.st.OutboxDone(ctx, s.cfg.Consumer, e)
	case !retry.IsZero():
		result = "retried"
		log.Warn("notification not delivered; will try again", "attempt", e.Attempts+1, "at", retry, "err", err)
		ok, serr = s.st.OutboxRetry(ctx, s.cfg.Consumer, e, retry, err.Error())
	default:
		result = "dead"
		log.Error("notification not delivered; moved to the dead letters (billingbot outbox)", "attempt", e.Attempts+1, "err", err)
		ok, serr = s.st.OutboxDead(ctx, s.cfg.Consumer, e, err.Error())
	}
	switch {
	case serr != nil:
		// Left with this sender: claimed again after ClaimAfter, and then
		// delivered as a redelivery (the notifier skips what has it).
		log.Warn("outbox: settle", "result", result, "err", serr)
		return time.Time{}
	case !ok:
		log.Info("outbox: entry was claimed by another sender meanwhile", "result", result)
		return time.Time{}
	}
	if s.cfg.Observe != nil {
		s.cfg.Observe(e.Org, kind, result)
	}
	return retry
}

// notify calls a notifier; a notifier that panics has failed (and is tried
// again), it does not stop the sender.
func notify(ctx context.Context, nf commands.Notifier, n commands.Notification) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("notifier panicked: %v", p)
		}
	}()
	return nf.Notify(ctx, n)
}
