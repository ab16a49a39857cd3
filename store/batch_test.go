package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store/redistest"
)

// echoScript answers its argument and the value of its key.
var echoScript = redis.NewScript(`return ARGV[1] .. ':' .. (redis.call('GET', KEYS[1]) or '')`)

// pipelineSizes records the number of commands of every pipeline of
// scripts a client sends (not those that set up a connection).
type pipelineSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (h *pipelineSizes) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *pipelineSizes) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pipelineSizes) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && cmds[0].Name() == "evalsha" {
			h.mu.Lock()
			h.sizes = append(h.sizes, len(cmds))
			h.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

func (h *pipelineSizes) get() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.sizes...)
}

func batchClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// TestBatcherPairsReplies: many concurrent callers each get the reply of
// their own call, on miniredis and on a real Redis.
func TestBatcherPairsReplies(t *testing.T) {
	for name, addr := range map[string]func(t *testing.T) string{
		"miniredis": func(t *testing.T) string { return miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.Real(t) },
	} {
		t.Run(name, func(t *testing.T) {
			rdb := batchClient(t, addr(t))
			b := newBatcher(rdb, echoScript)
			const n = 300
			for i := range n {
				if err := rdb.Set(t.Context(), fmt.Sprint("k", i), fmt.Sprint("v", i), 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					v, err := b.run(t.Context(), []string{fmt.Sprint("k", i)}, []any{fmt.Sprint("a", i)})
					if want := fmt.Sprintf("a%d:v%d", i, i); err != nil || v != want {
						errs <- fmt.Errorf("call %d = %v, %v; want %q", i, v, err, want)
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// stalled returns a batcher on a real Redis behind a proxy, the proxy,
// and the sizes of the pipelines the batcher sends.
func stalled(t *testing.T) (*batcher, *redistest.Proxy, *pipelineSizes) {
	t.Helper()
	p := redistest.NewProxy(t, redistest.Real(t))
	rdb := batchClient(t, p.Addr())
	if err := echoScript.Load(t.Context(), rdb).Err(); err != nil {
		t.Fatal(err)
	}
	sizes := &pipelineSizes{}
	rdb.AddHook(sizes)
	return newBatcher(rdb, echoScript), p, sizes
}

// waitPending waits until n calls wait for the pipeline that is out.
func waitPending(t *testing.T, b *batcher, n int) {
	t.Helper()
	for range 2000 {
		b.mu.Lock()
		got := len(b.pending)
		b.mu.Unlock()
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("fewer than %d calls are waiting", n)
}

// TestBatcherSendsWaitingCallsTogether: the calls that come while a
// pipeline is out go out together as the next one.
func TestBatcherSendsWaitingCallsTogether(t *testing.T) {
	b, p, sizes := stalled(t)
	p.Stall()
	const n = 50
	replies := make([]any, n+1)
	var wg sync.WaitGroup
	call := func(i int) {
		wg.Go(func() {
			v, err := b.run(t.Context(), []string{"k"}, []any{fmt.Sprint(i)})
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			replies[i] = v
		})
	}
	call(0)
	waitOut(t, b)
	for i := 1; i <= n; i++ {
		call(i)
	}
	waitPending(t, b, n)
	p.Resume()
	wg.Wait()
	for i, v := range replies {
		if want := fmt.Sprint(i, ":"); v != want {
			t.Errorf("call %d = %v, want %q", i, v, want)
		}
	}
	if got := sizes.get(); len(got) != 2 || got[0] != 1 || got[1] != n {
		t.Errorf("pipelines of %v commands, want [1 %d]", got, n)
	}
}

// waitOut waits until the first call's pipeline has left the queue.
func waitOut(t *testing.T, b *batcher) {
	t.Helper()
	for range 2000 {
		b.mu.Lock()
		out, pending := b.out, len(b.pending)
		b.mu.Unlock()
		if out == 1 && pending == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the first call did not go out")
}

// TestBatcherLeavesWithTheCaller: while Redis hangs, a caller returns when
// its context ends; a call whose caller left before its pipeline went is
// not sent; calls work again when Redis answers again.
func TestBatcherLeavesWithTheCaller(t *testing.T) {
	b, p, sizes := stalled(t)
	p.Stall()
	late := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := b.run(ctx, []string{"k"}, []any{"late"})
		late <- err
	}()
	waitOut(t, b)
	gone, cancelGone := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := b.run(gone, []string{"k"}, []any{"gone"})
		done <- err
	}()
	waitPending(t, b, 1)
	cancelGone()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run whose caller left: %v, want canceled", err)
	}
	if err := <-late; !isUnavailable(err) { // the deadline, or the pipeline's timeout
		t.Fatalf("run while Redis hangs: %v, want a timeout", err)
	}
	p.Resume()
	p.Reset() // the connection of the pipeline that timed out
	var err error
	for range 50 { // the client may first meet the reset connection
		var v any
		if v, err = b.run(t.Context(), []string{"k"}, []any{"again"}); err == nil {
			if v != "again:" {
				t.Fatalf("run after Redis came back = %v", v)
			}
			break
		}
		if !isUnavailable(err) {
			t.Fatalf("run after Redis came back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("run after Redis came back: %v", err)
	}
	got := sizes.get()
	if len(got) == 0 || got[0] != 1 || slices.Contains(got, 2) {
		t.Errorf("pipelines of %v commands, want one each (the call whose caller left is not sent)", got)
	}
}

// TestBatcherReloadsScripts: after Redis forgot its scripts, the calls
// send the source.
func TestBatcherReloadsScripts(t *testing.T) {
	rdb := batchClient(t, redistest.Real(t))
	b := newBatcher(rdb, echoScript)
	if v, err := b.run(t.Context(), []string{"k"}, []any{"1"}); err != nil || v != "1:" {
		t.Fatalf("first run = %v, %v", v, err)
	}
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := b.run(t.Context(), []string{"k"}, []any{"2"}); err != nil || v != "2:" {
		t.Fatalf("run after SCRIPT FLUSH = %v, %v", v, err)
	}
}

// TestBatcherSenderLivesOn: the goroutine that sends pipelines waits for
// the next calls instead of ending with each burst (a new one would grow
// its stack anew), serves calls that come while it waits, and ends once
// none came for its idle time.
func TestBatcherSenderLivesOn(t *testing.T) {
	rdb := batchClient(t, miniredis.RunT(t).Addr())
	b := newBatcher(rdb, echoScript)
	b.idleFor = 200 * time.Millisecond
	senders := func() (out, idle int) {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.out, b.idle
	}
	waitFor := func(out, idle int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second) // against a hang only
		for {
			o, i := senders()
			if o == out && i == idle {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("senders %d (idle %d), want %d (idle %d)", o, i, out, idle)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := range 3 {
		if v, err := b.run(t.Context(), []string{"k"}, []any{fmt.Sprint("a", i)}); err != nil || v != fmt.Sprintf("a%d:", i) {
			t.Fatalf("call %d = %v, %v", i, v, err)
		}
		waitFor(1, 1) // the same sender, waiting for the next call
	}
	waitFor(0, 0) // none came: it ended
	if v, err := b.run(t.Context(), []string{"k"}, []any{"again"}); err != nil || v != "again:" {
		t.Fatalf("call after the sender ended = %v, %v", v, err)
	}
}
