package slack

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/billingbot/billingbot/bot/internal/payload"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives commands, interactivity and events over Socket
// Mode (Config.AppToken) instead of HTTP, with the same handlers, until ctx
// ends or the connection fails for good (Slack refuses the app token).
// Slack's disconnect requests and dropped sockets are reconnected.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	return a.runSocketMode(ctx)
}

// runSocketMode is RunSocketMode with options for slack-go's client (tests
// shorten how long it waits for Slack's pings).
func (a *Adapter) runSocketMode(ctx context.Context, opts ...socketmode.Option) error {
	if a.cfg.AppToken == "" {
		return errors.New("slack: Socket Mode needs SLACK_APP_TOKEN")
	}
	sm := socketmode.New(a.app, opts...)
	// The loop ends with the connection: when RunContext gives up (an
	// app token Slack refuses), nothing else would end it.
	loopCtx, stop := context.WithCancel(ctx)
	var inHand sync.WaitGroup // requests being handled
	done := make(chan struct{})
	go func() {
		defer close(done)
		acked := newAckLog(ackKept, ackKeptMax)
		for {
			select {
			case <-loopCtx.Done():
				return
			case evt, ok := <-sm.Events:
				if !ok {
					return
				}
				if evt.Request == nil {
					a.log.Debug("socket mode", "event", evt.Type)
					continue
				}
				// Each request is handled on its own, as over HTTP: a slow
				// one does not hold up the acks of the others.
				env, first := acked.begin(evt.Request.EnvelopeID)
				inHand.Add(1)
				go func() {
					defer inHand.Done()
					a.socketRequest(ctx, sm, evt, env, first)
				}()
			}
		}
	}()
	err := sm.RunContext(ctx)
	stop()
	<-done
	inHand.Wait()
	a.wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// socketRequest handles a request and acknowledges it. Slack sends an
// envelope again when its ack did not reach Slack (the socket closed
// first): then the first delivery's ack is sent again, and nothing is
// done twice.
func (a *Adapter) socketRequest(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, env *envelope, first bool) {
	if first {
		var payload any
		ack := true // a request that panics is acknowledged: Slack would only send it again
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("panic in socket mode request", "type", evt.Type, "panic", p)
			}
			env.finish(payload, ack)
			a.ack(ctx, sm, evt.Request.EnvelopeID, env)
		}()
		payload, ack = a.socketEvent(ctx, evt)
		return
	}
	a.log.Info("socket mode: envelope again", "type", evt.Type, "retry", evt.Request.RetryAttempt)
	select {
	case <-env.done:
		a.ack(ctx, sm, evt.Request.EnvelopeID, env)
	case <-ctx.Done():
	}
}

// ack sends the acknowledgement of a handled envelope, if it has one.
func (a *Adapter) ack(ctx context.Context, sm *socketmode.Client, id string, env *envelope) {
	if !env.ack {
		return
	}
	if err := sm.AckCtx(ctx, id, env.payload); err != nil {
		a.log.Warn("socket mode ack", "err", err)
	}
}

// ackKept is how long the ack of an envelope is kept for a redelivery of
// it (Slack retries the Events API after 1 and 5 minutes), and ackKeptMax
// how many acks at most.
const (
	ackKept    = 10 * time.Minute
	ackKeptMax = 10000
)

// ackLog remembers the envelopes received lately and how they were
// acknowledged, oldest first.
type ackLog struct {
	mu    sync.Mutex
	keep  time.Duration
	max   int
	now   func() time.Time
	byID  map[string]*envelope
	order []*envelope
}

// envelope is a request Slack sent, and its ack once it is handled.
type envelope struct {
	id      string
	at      time.Time
	done    chan struct{} // closed when payload and ack are set
	payload any
	ack     bool
}

func (e *envelope) finish(payload any, ack bool) {
	e.payload, e.ack = payload, ack
	close(e.done)
}

func newAckLog(keep time.Duration, max int) *ackLog {
	return &ackLog{keep: keep, max: max, now: time.Now, byID: map[string]*envelope{}}
}

// begin returns the envelope with an id, and whether this is its first
// delivery (an envelope without an id always is); the oldest are
// forgotten beyond the limits.
func (l *ackLog) begin(id string) (*envelope, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if e, ok := l.byID[id]; ok && now.Sub(e.at) <= l.keep {
		return e, false
	}
	e := &envelope{id: id, at: now, done: make(chan struct{})}
	if id == "" {
		return e, true
	}
	l.byID[id] = e
	l.order = append(l.order, e)
	n := 0
	for ; n < len(l.order) && (len(l.order)-n > l.max || now.Sub(l.order[n].at) > l.keep); n++ {
		if old := l.order[n]; l.byID[old.id] == old { // not received again since
			delete(l.byID, old.id)
		}
	}
	l.order = l.order[n:]
	return e, true
}

// socketEvent dispatches a Socket Mode request to the handler HTTP uses for
// the same kind, and returns what to acknowledge it with.
func (a *Adapter) socketEvent(ctx context.Context, evt socketmode.Event) (answer any, ack bool) {
	if evt.Request == nil {
		return nil, false
	}
	var rep reply
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		var sc slashCommand
		if err := payload.Unmarshal(evt.Request.Payload, &sc); err != nil {
			return nil, true
		}
		rep = a.onCommand(ctx, sc)
	case socketmode.EventTypeInteractive:
		rep = a.onInteraction(ctx, evt.Request.Payload)
	case socketmode.EventTypeEventsAPI:
		rep = a.onEvent(ctx, evt.Request.Payload)
	default:
		return nil, false
	}
	if rep.status >= 400 {
		a.log.Warn("socket mode: refused request", "type", evt.Type, "reply", rep.body)
		return nil, true
	}
	return rep.body, true
}
