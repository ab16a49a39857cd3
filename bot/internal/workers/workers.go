// Package workers runs functions on goroutines that are kept for a while
// after their function returns, for the adapters' per-request work (the
// core's run, answers that follow an acknowledgement).
//
// A new goroutine starts with a small stack; a request through the core
// and the Redis client needs a much deeper one, and growing it copies the
// stack several times (about 7 % of the CPU of serving requests under
// load). A kept goroutine keeps the stack it grew. Go runs f at once, as
// the go statement does: on an idle kept goroutine when there is one, else
// on a new one, so it never waits for other work and cannot deadlock.
package workers

import "time"

// Pool keeps the goroutines of Go calls idle for a while. Its zero value is
// not usable; use New.
type Pool struct {
	work  chan func()
	idle  time.Duration
	ended func() // tests: called when a goroutine ends
}

// New returns a pool whose goroutines end after idle to twice idle without
// work.
func New(idle time.Duration) *Pool {
	return &Pool{work: make(chan func()), idle: idle}
}

// Go runs f on a goroutine of the pool, at once.
func (p *Pool) Go(f func()) {
	select {
	case p.work <- f: // an idle goroutine took it
	default:
		go p.run(f)
	}
}

// run runs f and then the work it takes until it was idle for a whole
// period of its timer. The timer is not reset for every function (under
// load that was a timer change per request), only when it fires.
func (p *Pool) run(f func()) {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		f()
		f = nil // let it be collected while idle
		worked := true
		for f == nil {
			select {
			case f = <-p.work:
			case <-t.C:
				if !worked {
					if p.ended != nil {
						p.ended()
					}
					return
				}
				worked = false
				t.Reset(p.idle)
			}
		}
	}
}
