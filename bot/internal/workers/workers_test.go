package workers

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestGoRunsAtOnce: Go never waits for busy goroutines: functions that wait
// for each other all run.
func TestGoRunsAtOnce(t *testing.T) {
	p := New(time.Minute)
	const n = 50
	var started, release sync.WaitGroup
	started.Add(n)
	release.Add(1)
	done := make(chan int, n)
	for i := range n {
		p.Go(func() {
			started.Done()
			release.Wait() // every function is running at the same time
			done <- i
		})
	}
	started.Wait()
	release.Done()
	seen := map[int]bool{}
	for range n {
		seen[<-done] = true
	}
	if len(seen) != n {
		t.Fatalf("%d functions ran, want %d", len(seen), n)
	}
}

// TestGoReuses: a goroutine that finished its function takes the next one.
func TestGoReuses(t *testing.T) {
	p := New(time.Minute)
	before := runtime.NumGoroutine()
	for range 100 {
		done := make(chan struct{})
		p.Go(func() { close(done) })
		<-done
	}
	// At most a few goroutines were started: each call after the first
	// found the previous goroutine idle, or about to be.
	if extra := runtime.NumGoroutine() - before; extra > 3 {
		t.Errorf("%d goroutines for 100 functions run one after another, want few", extra)
	}
}

// TestIdleGoroutinesEnd: the pool's goroutines end when idle, also after
// working for longer than idle.
func TestIdleGoroutinesEnd(t *testing.T) {
	p := New(time.Millisecond)
	ended := make(chan struct{})
	p.ended = func() { close(ended) }
	ran := make(chan struct{})
	p.Go(func() {
		time.Sleep(5 * time.Millisecond) // the timer fires while it works
		close(ran)
	})
	<-ran
	<-ended
}
