package discord

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/billingbot/billingbot/commands"
)

// ApplicationCommand is a Discord application command definition, as
// registered with PUT /applications/{app}/commands.
type ApplicationCommand struct {
	ID                       string            `json:"id,omitempty"`
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
}

// CommandOption is a subcommand or an option of a command.
type CommandOption struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Required                 bool              `json:"required,omitempty"`
	Choices                  []CommandChoice   `json:"choices,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	MinValue                 *int              `json:"min_value,omitempty"`
	MaxValue                 *int              `json:"max_value,omitempty"`
	Autocomplete             bool              `json:"autocomplete,omitempty"`
	ChannelTypes             []int             `json:"channel_types,omitempty"`
}

// CommandChoice is a fixed choice of a string option: Value is what the
// core reads, Name (with its localizations) what the user sees.
type CommandChoice struct {
	Name              string            `json:"name"`
	NameLocalizations map[string]string `json:"name_localizations,omitempty"`
	Value             string            `json:"value"`
}

// Discord's limits on command definitions.
const (
	maxDescription = 100
	maxUserOptions = 5 // user options for ArgUsers: users, users2 … users5
	commandName    = "billing"
	commandNameDE  = "abrechnung"
)

// channelArg is the keyword argument that names a channel ("admin
// channel <#123>"): Discord offers a channel picker for it.
func channelArg(a commands.Arg) bool {
	return a.Keyword && a.Kind == commands.ArgText && a.Name == "channel"
}

// Commands returns the definition of /billing (German /abrechnung): one
// subcommand per core Spec, in English with German localizations.
func Commands(bot *commands.Bot) []ApplicationCommand {
	desc := func(id string) (string, map[string]string) {
		return truncate(bot.TextFor("en", "/"+commandName, id), maxDescription),
			map[string]string{"de": truncate(bot.TextFor("de", "/"+commandNameDE, id), maxDescription)}
	}
	cmd := ApplicationCommand{Type: 1, Name: commandName, NameLocalizations: map[string]string{"de": commandNameDE}}
	cmd.Description, cmd.DescriptionLocalizations = desc("DiscordCommandDesc")
	for _, s := range bot.Specs() {
		sub := CommandOption{Type: optSubcommand, Name: s.Name, NameLocalizations: map[string]string{"de": s.NameDE}}
		sub.Description, sub.DescriptionLocalizations = desc(s.Desc)
		for _, arg := range s.Args {
			o := CommandOption{Type: optString, Name: arg.Name, NameLocalizations: map[string]string{"de": arg.NameDE}}
			o.Description, o.DescriptionLocalizations = desc(arg.Desc)
			switch {
			case channelArg(arg):
				o.Type, o.ChannelTypes = optChannel, []int{0, 5}
			case arg.Kind == commands.ArgCount:
				o.Type = optInteger
				lo, hi := arg.Min, arg.Max
				if hi > lo {
					o.MinValue, o.MaxValue = &lo, &hi
				}
			case arg.Kind == commands.ArgProduct, arg.Kind == commands.ArgSubscription:
				o.Autocomplete = true
			case arg.Kind == commands.ArgChoice:
				for i, c := range arg.Choices {
					ch := CommandChoice{Name: c, Value: c}
					if len(arg.ChoicesDE) == len(arg.Choices) && arg.ChoicesDE[i] != c {
						ch.NameLocalizations = map[string]string{"de": arg.ChoicesDE[i]}
					}
					o.Choices = append(o.Choices, ch)
				}
			case arg.Kind == commands.ArgUsers:
				o.Type = optUser
				n := maxUserOptions
				if arg.Max > 0 {
					n = min(n, arg.Max)
				}
				for i := 1; i <= n; i++ {
					u := o
					if i > 1 {
						u.Name = arg.Name + strconv.Itoa(i)
						u.NameLocalizations = map[string]string{"de": arg.NameDE + strconv.Itoa(i)}
					}
					sub.Options = append(sub.Options, u)
				}
				continue
			}
			sub.Options = append(sub.Options, o)
		}
		cmd.Options = append(cmd.Options, sub)
	}
	return []ApplicationCommand{cmd}
}

// Register overwrites the application's commands (a guild's when guildID
// is set) with Commands and returns what Discord registered.
func Register(ctx context.Context, cfg Config, bot *commands.Bot, guildID string) ([]ApplicationCommand, error) {
	cfg = withDefaults(cfg)
	if cfg.AppID == "" || cfg.BotToken == "" {
		return nil, fmt.Errorf("discord register: DISCORD_APP_ID and DISCORD_BOT_TOKEN are required")
	}
	path := "/applications/" + cfg.AppID + "/commands"
	if guildID != "" {
		path = "/applications/" + cfg.AppID + "/guilds/" + guildID + "/commands"
	}
	var out []ApplicationCommand
	if err := newREST(cfg).do(ctx, http.MethodPut, path, Commands(bot), &out, true); err != nil {
		return nil, fmt.Errorf("discord register: %w", err)
	}
	return out, nil
}

// commandLine turns a chat-input command's options back into the command
// line the core reads, e.g. "buy visio-plan-2 5", "assign <sub> <@1> <@2>".
func (a *Adapter) commandLine(data commandData) string {
	if len(data.Options) == 0 || data.Options[0].Type != optSubcommand {
		return ""
	}
	sub := data.Options[0]
	spec := a.spec(sub.Name)
	if spec == nil {
		return sub.Name // the core says it does not know it
	}
	words := []string{spec.Name}
	for _, arg := range spec.Args {
		for _, o := range sub.Options {
			if o.Name != arg.Name && !(arg.Kind == commands.ArgUsers && isNumbered(o.Name, arg.Name)) {
				continue
			}
			v := strings.TrimSpace(o.text())
			switch {
			case v == "":
			case channelArg(arg):
				words = append(words, arg.Name, "<#"+v+">")
			case arg.Keyword:
				words = append(words, arg.Name, v)
			case o.Type == optUser:
				words = append(words, "<@"+v+">")
			default:
				words = append(words, v)
			}
		}
	}
	return strings.Join(words, " ")
}

// spec finds the subcommand with the English name, or nil.
func (a *Adapter) spec(name string) *commands.Spec {
	for i := range a.specs {
		if a.specs[i].Name == name {
			return &a.specs[i]
		}
	}
	return nil
}

// isNumbered reports whether name is base followed by a number (users2).
func isNumbered(name, base string) bool {
	n, ok := strings.CutPrefix(name, base)
	if !ok || n == "" {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// autocomplete answers a product or subscription option being typed with
// the choices the core's own forms offer.
func (a *Adapter) autocomplete(ctx context.Context, req commands.Request, data commandData) *callback {
	none := &callback{Type: cbAutocomplete, Data: autocompleteData{Choices: []choice{}}}
	if len(data.Options) == 0 {
		return none
	}
	sub := data.Options[0]
	spec := a.spec(sub.Name)
	if spec == nil {
		return none
	}
	var focused *commandOption
	for i := range sub.Options {
		if sub.Options[i].Focused {
			focused = &sub.Options[i]
		}
	}
	if focused == nil {
		return none
	}
	var kind commands.ArgKind
	for _, arg := range spec.Args {
		if arg.Name == focused.Name {
			kind = arg.Kind
		}
	}
	var input string
	switch kind {
	case commands.ArgProduct:
		req.Text, input = "buy", "product"
		if spec.Name == "trial" {
			req.Text = "trial"
		}
	case commands.ArgSubscription:
		req.Text, input = spec.Name, "subscription"
	default:
		return none
	}
	ctx, cancel := context.WithTimeout(ctx, a.deferAfter)
	defer cancel()
	resp, err := a.handle(ctx, req)
	if err != nil {
		a.log.Warn("discord: autocomplete", "org", req.Org, "err", err)
		return none
	}
	var opts []commands.Option
	if resp.Form != nil {
		for _, in := range resp.Form.Inputs {
			if in.ID == input {
				opts = in.Options
			}
		}
	}
	for _, m := range resp.Messages { // a choice of buttons, "cancel <id>"
		for _, b := range m.Buttons {
			if f := strings.Fields(b.Command); len(f) >= 2 && f[0] == req.Text {
				opts = append(opts, commands.Option{Value: f[1], Label: b.Label})
			}
		}
	}
	typed := strings.ToLower(strings.TrimSpace(focused.text()))
	choices := []choice{}
	for _, o := range opts {
		if len(choices) == maxOptions {
			break
		}
		if typed != "" && !strings.Contains(strings.ToLower(o.Label), typed) && !strings.Contains(strings.ToLower(o.Value), typed) {
			continue
		}
		if len(o.Value) > maxOptionText {
			continue
		}
		choices = append(choices, choice{Name: nonBlank(truncate(o.Label, maxOptionText)), Value: o.Value})
	}
	return &callback{Type: cbAutocomplete, Data: autocompleteData{Choices: choices}}
}
