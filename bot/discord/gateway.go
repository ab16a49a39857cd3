package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
)

// RunGateway connects to Discord's gateway with the bot token and answers
// interactions with the same handlers as ServeHTTP, through the REST
// interaction callback, until ctx ends. Interactions are decoded from the
// raw event data (discordgo v0.29.0 cannot decode modals with Labels).
//
// A connection lost (a missed heartbeat ACK, a read error, Discord's op 7
// RECONNECT) is opened again here, not by discordgo, so that no reconnect
// outlives ctx; discordgo resumes the session (op 6). An interaction
// Discord delivers again after a resume is answered once.
func (a *Adapter) RunGateway(ctx context.Context) error {
	if a.cfg.BotToken == "" {
		return errors.New("discord gateway: DISCORD_BOT_TOKEN is required")
	}
	if a.cfg.APIURL != DefaultAPIURL {
		// discordgo builds its endpoints when it loads; the gateway's URL
		// is the only one it fetches for us.
		base := a.cfg.APIURL + "/"
		discordgo.EndpointAPI = base
		discordgo.EndpointGateway = base + "gateway"
		discordgo.EndpointGatewayBot = base + "gateway/bot"
	}
	s, err := discordgo.New("Bot " + a.cfg.BotToken)
	if err != nil {
		return fmt.Errorf("discord gateway: %w", err)
	}
	s.Client = a.cfg.HTTPClient
	s.Identify.Intents = a.gatewayIntents()
	s.ShouldReconnectOnError = false // reopen below does, until ctx ends
	s.ShouldReconnectVoiceOnSessionError = false
	lost := make(chan struct{}, 1)
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		select {
		case lost <- struct{}{}:
		default:
		}
	})
	in := newInteractionLog(handledKept, handledKeptMax)
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) {
		if !in.claim(e) {
			return
		}
		defer in.done()
		a.onEvent(ctx, e)
	})
	if err := s.Open(); err != nil {
		return fmt.Errorf("discord gateway: open: %w", err)
	}
	a.log.Info("discord gateway connected")
	for {
		select {
		case <-ctx.Done():
			err = s.Close()
			in.stop() // the interactions in hand are answered
			a.wg.Wait()
			if err != nil {
				return fmt.Errorf("discord gateway: close: %w", err)
			}
			return nil
		case <-lost:
			a.reopen(ctx, s)
		}
	}
}

// reopen connects the session again after it was lost, at once and then
// with growing pauses, until it is open or ctx ends.
func (a *Adapter) reopen(ctx context.Context, s *discordgo.Session) {
	pause := reopenFirst
	for {
		err := s.Open()
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			a.log.Info("discord gateway connected again")
			return
		}
		a.log.Warn("discord gateway: reconnect", "err", err, "next", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(2*pause, reopenMax)
	}
}

// The pauses between attempts to reconnect to the gateway.
const (
	reopenFirst = time.Second
	reopenMax   = time.Minute
)

// handledKept is how long the ids of the interactions handled are kept to
// recognize one delivered again (Discord replays what a resumed session
// missed; an interaction's token lasts 15 minutes), and handledKeptMax how
// many at most.
const (
	handledKept    = 15 * time.Minute
	handledKeptMax = 10000
)

// interactionLog lets each interaction the gateway delivers be handled
// once, and shutdown wait for those in hand.
type interactionLog struct {
	mu      sync.Mutex
	keep    time.Duration
	max     int
	now     func() time.Time
	stopped bool
	inHand  sync.WaitGroup
	at      map[string]time.Time // interaction id → when it came
	order   []claimed            // oldest first
}

// claimed is an interaction id and when it came.
type claimed struct {
	id string
	at time.Time
}

func newInteractionLog(keep time.Duration, max int) *interactionLog {
	return &interactionLog{keep: keep, max: max, now: time.Now, at: map[string]time.Time{}}
}

// claim reports whether an event is to be handled: not an interaction
// handled before, and not after stop. Whoever claims one calls done.
func (l *interactionLog) claim(e *discordgo.Event) bool {
	var id struct {
		ID string `json:"id"`
	}
	if e != nil && strings.EqualFold(e.Type, "INTERACTION_CREATE") {
		_ = json.Unmarshal(e.RawData, &id) // junk: onEvent says so
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	if id.ID != "" {
		now := l.now()
		if at, ok := l.at[id.ID]; ok && now.Sub(at) <= l.keep {
			return false
		}
		l.order = append(l.order, claimed{id.ID, now})
		l.at[id.ID] = now
		n := 0
		for ; n < len(l.order) && (len(l.order)-n > l.max || now.Sub(l.order[n].at) > l.keep); n++ {
			if c := l.order[n]; l.at[c.id].Equal(c.at) { // not claimed again since
				delete(l.at, c.id)
			}
		}
		l.order = l.order[n:]
	}
	l.inHand.Add(1)
	return true
}

func (l *interactionLog) done() { l.inHand.Done() }

// stop refuses the events that come later and waits for those in hand.
func (l *interactionLog) stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	l.inHand.Wait()
}

// onEvent handles a raw gateway event: interactions go to the same
// handlers as the HTTP endpoint's, answered through the REST callback.
func (a *Adapter) onEvent(ctx context.Context, e *discordgo.Event) {
	if e != nil && a.onMemberEvent(ctx, e) {
		return // members leaving and coming back (members.go)
	}
	if e == nil || !strings.EqualFold(e.Type, "INTERACTION_CREATE") {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("discord: panic in gateway interaction", "panic", p)
		}
	}()
	in, err := decodeInteraction(e.RawData)
	if err != nil {
		a.log.Debug("discord: bad gateway interaction", "err", err)
		return
	}
	initial, later := a.process(context.WithoutCancel(ctx), in)
	if initial == nil || in.Type == itPing {
		return
	}
	if err := a.rest.callback(context.WithoutCancel(ctx), in.ID, in.Token, initial); err != nil {
		a.log.Warn("discord: interaction callback", "err", err)
		return
	}
	a.background(later)
}
