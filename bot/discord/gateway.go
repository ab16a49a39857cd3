package discord

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// RunGateway connects to Discord's gateway with the bot token and answers
// interactions with the same handlers as ServeHTTP, through the REST
// interaction callback, until ctx ends. Interactions are decoded from the
// raw event data (discordgo v0.29.0 cannot decode modals with Labels).
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
	s.Identify.Intents = discordgo.IntentsGuilds
	s.AddHandler(func(_ *discordgo.Session, e *discordgo.Event) { a.onEvent(ctx, e) })
	if err := s.Open(); err != nil {
		return fmt.Errorf("discord gateway: open: %w", err)
	}
	a.log.Info("discord gateway connected")
	<-ctx.Done()
	err = s.Close()
	a.wg.Wait()
	if err != nil {
		return fmt.Errorf("discord gateway: close: %w", err)
	}
	return nil
}

// onEvent handles a raw gateway event: interactions go to the same
// handlers as the HTTP endpoint's, answered through the REST callback.
func (a *Adapter) onEvent(ctx context.Context, e *discordgo.Event) {
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
