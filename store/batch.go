package store

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher sends the reads of concurrent requests to Redis together: the
// calls that arrive while a pipeline is out wait for it, and go out as the
// next one. Alone, a call goes out at once; under load, one write and one
// read carry many of them, for this process and for Redis (most of what a
// small script costs on both sides is the round trip's system calls).
//
// It is for scripts that only read, or whose writes may happen without
// their caller hearing of it (a counter): a call whose caller gives up
// still goes out if it was already on its way.
type batcher struct {
	rdb    redis.UniversalClient
	script *redis.Script

	mu      sync.Mutex
	pending []*batchCall
	out     int // senders, sending pipelines or waiting for calls
	idle    int // senders waiting for calls
	// wake tells a waiting sender of a call (buffered: a call never waits).
	wake chan struct{}
	// idleFor is how long a sender waits for calls (senderIdle).
	idleFor time.Duration
}

type batchCall struct {
	ctx  context.Context
	keys []string
	args []any
	done chan batchResult // buffered: the sender never waits for the caller
}

type batchResult struct {
	v   any
	err error
}

const (
	// batchPipelines is how many pipelines may be out at a time. One:
	// while it is out, the calls that come queue up and go out together
	// next (under load on loopback, 2 or 4 gave no more throughput and a
	// higher p99).
	batchPipelines = 1
	// batchMax is the most calls one pipeline carries.
	batchMax = 128
	// batchWait bounds a pipeline whose callers set no deadline.
	batchWait = 5 * time.Second
	// senderIdle is how long a sender waits for the next calls before it
	// ends. Under load it lives on, so that its stack, grown deep in the
	// Redis client, is not grown anew for every pipeline (a goroutine per
	// burst spent a tenth of the process's CPU on copying stacks).
	senderIdle = 10 * time.Second
)

func newBatcher(rdb redis.UniversalClient, script *redis.Script) *batcher {
	return &batcher{rdb: rdb, script: script, wake: make(chan struct{}, 1), idleFor: senderIdle}
}

// run runs the script with keys and args, in a pipeline with other
// callers' runs, and returns its reply; it returns when ctx ends, whatever
// Redis is doing.
func (b *batcher) run(ctx context.Context, keys []string, args []any) (any, error) {
	c := &batchCall{ctx: ctx, keys: keys, args: args, done: make(chan batchResult, 1)}
	b.mu.Lock()
	b.pending = append(b.pending, c)
	wake := b.idle > 0
	start := !wake && b.out < batchPipelines
	if start {
		b.out++
	}
	b.mu.Unlock()
	switch {
	case start:
		go b.send()
	case wake:
		select {
		case b.wake <- struct{}{}:
		default: // told already
		}
	}
	select {
	case r := <-c.done:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// send sends pipelines of the pending calls, and waits for more, until
// none came for idleFor.
func (b *batcher) send() {
	for {
		b.mu.Lock()
		n := min(len(b.pending), batchMax)
		if n == 0 {
			b.idle++
			b.mu.Unlock()
			if b.waitForCalls() {
				continue
			}
			b.mu.Lock()
			b.idle--
			if len(b.pending) > 0 { // came as the wait ended
				b.mu.Unlock()
				continue
			}
			b.out--
			b.mu.Unlock()
			return
		}
		calls := make([]*batchCall, n)
		copy(calls, b.pending)
		rest := copy(b.pending, b.pending[n:])
		clear(b.pending[rest:])
		b.pending = b.pending[:rest]
		b.mu.Unlock()
		b.sendBatch(calls)
	}
}

// waitForCalls waits up to idleFor for a call and reports whether one
// came; when it did, the sender is no longer idle.
func (b *batcher) waitForCalls() bool {
	t := time.NewTimer(b.idleFor)
	defer t.Stop()
	select {
	case <-b.wake:
		b.mu.Lock()
		b.idle--
		b.mu.Unlock()
		return true
	case <-t.C:
		return false
	}
}

// sendBatch sends calls as one pipeline, bounded by the latest of their
// deadlines: it serves the caller that waits longest, and ends when no
// caller waits any more. Calls whose caller has already given up are not
// sent.
func (b *batcher) sendBatch(calls []*batchCall) {
	live := calls[:0]
	var deadline time.Time
	for _, c := range calls {
		if c.ctx.Err() != nil {
			continue
		}
		live = append(live, c)
		d, ok := c.ctx.Deadline()
		if !ok {
			d = time.Now().Add(batchWait)
		}
		if d.After(deadline) {
			deadline = d
		}
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	cmds := make([]*redis.Cmd, len(live))
	_, _ = b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range live {
			cmds[i] = b.script.EvalSha(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	for i, c := range live {
		v, err := cmds[i].Result()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			// Redis lost its scripts (a restart, SCRIPT FLUSH): the
			// calls of this pipeline send the source, which Redis keeps
			// for the next ones.
			v, err = b.script.Eval(ctx, b.rdb, c.keys, c.args...).Result()
		}
		c.done <- batchResult{v, err}
	}
}
