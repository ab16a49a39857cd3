package slack

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives commands, interactivity and events over Socket
// Mode (Config.AppToken) instead of HTTP, with the same handlers, until ctx
// ends.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if a.cfg.AppToken == "" {
		return errors.New("slack: Socket Mode needs SLACK_APP_TOKEN")
	}
	sm := socketmode.New(a.app)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case evt, ok := <-sm.Events:
				if !ok {
					return
				}
				if evt.Request == nil {
					a.log.Debug("socket mode", "event", evt.Type)
					continue
				}
				if payload, ack := a.socketEvent(ctx, evt); ack {
					if err := sm.AckCtx(ctx, evt.Request.EnvelopeID, payload); err != nil {
						a.log.Warn("socket mode ack", "err", err)
					}
				}
			}
		}
	}()
	err := sm.RunContext(ctx)
	<-done
	a.wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
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
