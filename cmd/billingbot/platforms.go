package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/billingbot/billingbot/bot/discord"
	"github.com/billingbot/billingbot/bot/slack"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/store"
)

// configurePlatforms makes the adapters of the platforms the environment
// configures: Slack over HTTP (SLACK_SIGNING_SECRET) or Socket Mode
// (SLACK_APP_TOKEN), Discord over the interactions endpoint
// (DISCORD_PUBLIC_KEY) or the gateway (DISCORD_MODE=gateway). The requests
// their endpoints refuse unverified are counted in m and logged sampled.
func configurePlatforms(cfg config, env map[string]string, bot *commands.Bot, st *store.Store, log *slog.Logger, m *metrics) ([]platform, error) {
	get := func(k string) string { return strings.TrimSpace(env[k]) }
	var out []platform
	if get("SLACK_SIGNING_SECRET") != "" || get("SLACK_APP_TOKEN") != "" {
		sc, err := slackConfig(cfg, get, log)
		if err != nil {
			return nil, err
		}
		sc.Refused = m.refusedBy(log, "slack")
		if sc.ClientID != "" {
			if sc.Installations, err = st.Credentials("slack", cfg.SecretKey); err != nil {
				return nil, fmt.Errorf("slack installations: %w", err)
			}
		}
		a, err := slack.New(sc, bot, st)
		if err != nil {
			return nil, fmt.Errorf("slack: %w", err)
		}
		p := platform{name: "slack", notifier: a, wait: a.Wait, pages: a.Pages()}
		if sc.AppToken != "" {
			p.run = a.RunSocketMode
		} else {
			p.path, p.handler = "/slack/events", a
		}
		out = append(out, p)
	}
	mode := strings.ToLower(get("DISCORD_MODE"))
	if mode != "" && mode != "http" && mode != "gateway" {
		return nil, fmt.Errorf("DISCORD_MODE %q: want http or gateway", mode)
	}
	if get("DISCORD_PUBLIC_KEY") != "" || mode == "gateway" {
		dc := discordConfig(cfg, get, log)
		if v := get("DISCORD_MEMBER_EVENTS"); v != "" {
			var err error
			if dc.MemberEvents, err = strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("DISCORD_MEMBER_EVENTS: %q: want true or false", v)
			}
		}
		dc.Refused = m.refusedBy(log, "discord")
		a, err := discord.New(dc, bot, st)
		if err != nil {
			return nil, fmt.Errorf("discord: %w", err)
		}
		p := platform{name: "discord", notifier: a, wait: a.Wait}
		if mode == "gateway" {
			p.run = a.RunGateway
		} else {
			p.path, p.handler = "/discord/interactions", a
		}
		if mode != "gateway" || !dc.MemberEvents {
			// Who left is found by asking daily (bot/discord/membercheck.go).
			run := p.run
			p.run = func(ctx context.Context) error {
				if run == nil {
					return a.RunMemberChecks(ctx)
				}
				go func() { _ = a.RunMemberChecks(ctx) }()
				return run(ctx)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// slackConfig reads the Slack settings: one workspace with
// SLACK_BOT_TOKEN, or any number that install the app through OAuth
// (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET, which need
// BILLINGBOT_SECRET_KEY to seal their tokens and sign the install flow).
func slackConfig(cfg config, get func(string) string, log *slog.Logger) (slack.Config, error) {
	sc := slack.Config{
		SigningSecret: get("SLACK_SIGNING_SECRET"), BotToken: get("SLACK_BOT_TOKEN"), AppToken: get("SLACK_APP_TOKEN"),
		ClientID: get("SLACK_CLIENT_ID"), ClientSecret: get("SLACK_CLIENT_SECRET"),
		APIURL: get("SLACK_API_URL"), AdminChannel: get("SLACK_ADMIN_CHANNEL"), Admins: cfg.Admins,
		ResponseURLHosts: splitList(get("SLACK_RESPONSE_URL_HOSTS")), PublicURL: cfg.PublicURL, Log: log,
	}
	switch eo := strings.ToLower(get("SLACK_ENTERPRISE_ORG")); eo {
	case "", "workspace":
	case "enterprise":
		sc.EnterpriseOrg = true
	default:
		return sc, fmt.Errorf("SLACK_ENTERPRISE_ORG: %q: want workspace or enterprise", eo)
	}
	switch {
	case (sc.ClientID == "") != (sc.ClientSecret == ""):
		return sc, errors.New("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together: set both for the install flow, or neither")
	case sc.ClientID != "" && len(cfg.SecretKey) == 0:
		return sc, errors.New("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET need BILLINGBOT_SECRET_KEY: it encrypts the workspaces' tokens and signs the install flow; make one with openssl rand -base64 32")
	case sc.ClientID == "" && sc.BotToken == "":
		return sc, errors.New("SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (workspaces install the app) are required with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN")
	}
	sc.SecretKey = cfg.SecretKey
	return sc, nil
}

func discordConfig(cfg config, get func(string) string, log *slog.Logger) discord.Config {
	return discord.Config{
		PublicKey: get("DISCORD_PUBLIC_KEY"), AppID: get("DISCORD_APP_ID"), BotToken: get("DISCORD_BOT_TOKEN"),
		APIURL: get("DISCORD_API_URL"), AdminChannel: get("DISCORD_ADMIN_CHANNEL"), Admins: cfg.Admins, Log: log,
	}
}

// specBot is a core for what needs only the command list and the texts:
// the Slack manifest and Discord's command definitions.
func specBot() (*commands.Bot, error) {
	return commands.New(nil, catalog.Demo(), nil, commands.Config{})
}

// runSlackManifest is "billingbot slack-manifest": the app manifest for
// "Create an app from a manifest".
func runSlackManifest(args []string, env map[string]string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitUsage
	}
	fs := newFlags("billingbot slack-manifest", stderr)
	fs.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "base `URL` Slack reaches the bot at (BILLINGBOT_PUBLIC_URL)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	bot, err := specBot()
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitFailure
	}
	fmt.Fprint(stdout, slack.Manifest(bot, cfg.PublicURL))
	return exitOK
}

// runDiscordRegister is "billingbot discord-register": it overwrites the
// application's commands (or a guild's, with --guild) and prints them.
func runDiscordRegister(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitUsage
	}
	fs := newFlags("billingbot discord-register", stderr)
	guild := fs.String("guild", "", "register in this guild `id` only (at once) instead of globally")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	get := func(k string) string { return strings.TrimSpace(env[k]) }
	dc := discordConfig(cfg, get, cfg.logger(stderr))
	if dc.AppID == "" || dc.BotToken == "" {
		fmt.Fprintln(stderr, "billingbot discord-register: DISCORD_APP_ID and DISCORD_BOT_TOKEN are required")
		return exitUsage
	}
	bot, err := specBot()
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitFailure
	}
	cmds, err := discord.Register(ctx, dc, bot, *guild)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot discord-register: %v\n", err)
		return exitFailure
	}
	for _, c := range cmds {
		fmt.Fprintf(stdout, "registered /%s\n", c.Name)
		for _, o := range c.Options {
			fmt.Fprintf(stdout, "  %s\n", o.Name)
		}
	}
	return exitOK
}
