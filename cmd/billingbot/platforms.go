package main

import (
	"log/slog"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// configurePlatforms makes the adapters of the platforms the environment
// configures.
func configurePlatforms(cfg config, env map[string]string, bot *commands.Bot, st *store.Store, log *slog.Logger) ([]platform, error) {
	return nil, nil
}
