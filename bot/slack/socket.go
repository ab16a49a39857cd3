package slack

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives commands, interactivity and events over Socket
// Mode (Config.AppToken) instead of HTTP, with the same handlers, until ctx
// ends or the connection fails for good (Slack refuses the app token).
// Slack's disconnect requests and dropped sockets are reconnected.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if a.cfg.AppToken == "" {
		return errors.New("slack: Socket Mode needs SLACK_APP_TOKEN")
	}
	sm := socketmode.New(a.api)
	// The loop ends with the connection: when RunContext gives up (an
	// app token Slack refuses), nothing else would end it.
	loopCtx, stop := context.WithCancel(ctx)
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
				id := evt.Request.EnvelopeID
				payload, ack, again := acked.get(id)
				if again {
					// Slack sends an envelope again when its ack did not
					// reach it (the socket closed first): it was handled,
					// and gets the same ack, not a second answer.
					a.log.Info("socket mode: envelope again", "type", evt.Type, "retry", evt.Request.RetryAttempt)
				} else {
					payload, ack = a.socketEvent(ctx, evt)
					acked.put(id, payload, ack)
				}
				if ack {
					if err := sm.AckCtx(ctx, id, payload); err != nil {
						a.log.Warn("socket mode ack", "err", err)
					}
				}
			}
		}
	}()
	err := sm.RunContext(ctx)
	stop()
	<-done
	a.wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// ackKept is how long the ack of an envelope is kept for a redelivery of
// it (Slack retries for minutes, not hours), and ackKeptMax how many acks
// at most.
const (
	ackKept    = 30 * time.Minute
	ackKeptMax = 10000
)

// ackLog remembers the envelopes handled lately and how they were
// acknowledged, oldest first.
type ackLog struct {
	mu    sync.Mutex
	keep  time.Duration
	max   int
	now   func() time.Time
	byID  map[string]ackEntry
	order []string
}

type ackEntry struct {
	payload any
	ack     bool
	at      time.Time
}

func newAckLog(keep time.Duration, max int) *ackLog {
	return &ackLog{keep: keep, max: max, now: time.Now, byID: map[string]ackEntry{}}
}

// get returns the ack of an envelope handled before, and whether it was.
func (l *ackLog) get(id string) (payload any, ack, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.byID[id]
	if !ok || id == "" || l.now().Sub(e.at) > l.keep {
		return nil, false, false
	}
	return e.payload, e.ack, true
}

// put records the ack of an envelope, and forgets the oldest beyond the
// limits.
func (l *ackLog) put(id string, payload any, ack bool) {
	if id == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if _, ok := l.byID[id]; !ok {
		l.order = append(l.order, id)
	}
	l.byID[id] = ackEntry{payload: payload, ack: ack, at: now}
	n := 0
	for n < len(l.order) && (len(l.order)-n > l.max || now.Sub(l.byID[l.order[n]].at) > l.keep) {
		delete(l.byID, l.order[n])
		n++
	}
	l.order = l.order[n:]
}

// socketEvent dispatches a Socket Mode request to the handler HTTP uses for
// the same kind, and returns the payload to acknowledge it with.
func (a *Adapter) socketEvent(ctx context.Context, evt socketmode.Event) (payload any, ack bool) {
	if evt.Request == nil {
		return nil, false
	}
	var rep reply
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		var sc slashCommand
		if err := json.Unmarshal(evt.Request.Payload, &sc); err != nil {
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
