package discord

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/billingbot/billingbot/bot/internal/payload"
)

// Incoming interactions, decoded tolerantly: unknown fields and component
// types (Label, type 18, which discordgo v0.29.0 cannot decode) are kept or
// skipped, never fatal.

// Interaction types.
const (
	itPing         = 1
	itCommand      = 2
	itComponent    = 3
	itAutocomplete = 4
	itModalSubmit  = 5
)

// Interaction callback types.
const (
	cbPong           = 1
	cbMessage        = 4
	cbDeferred       = 5
	cbDeferredUpdate = 6 // a component's message is edited later
	cbUpdate         = 7 // the answer replaces a component's message
	cbAutocomplete   = 8
	cbModal          = 9
)

// Component types.
const (
	ctActionRow    = 1
	ctButton       = 2
	ctStringSelect = 3
	ctTextInput    = 4
	ctUserSelect   = 5
	ctTextDisplay  = 10
	ctLabel        = 18
)

// Option types of application commands.
const (
	optSubcommand = 1
	optString     = 3
	optInteger    = 4
	optUser       = 6
	optChannel    = 7
)

// flagEphemeral makes a message visible to its recipient only.
const flagEphemeral = 1 << 6

// Permission bits that make a member an admin of the bot.
const (
	permAdministrator = 1 << 3
	permManageGuild   = 1 << 5
)

type interaction struct {
	ID            string          `json:"id"`
	ApplicationID string          `json:"application_id"`
	Type          int             `json:"type"`
	Token         string          `json:"token"`
	GuildID       string          `json:"guild_id"`
	Guild         *partialGuild   `json:"guild"`
	ChannelID     string          `json:"channel_id"`
	Locale        string          `json:"locale"`
	GuildLocale   string          `json:"guild_locale"`
	Member        *guildMember    `json:"member"`
	User          *user           `json:"user"`
	Data          json.RawMessage `json:"data"`
	// Message is the message whose component was clicked, decoded only
	// where it is needed (confirmButtons): what Discord sends of a
	// message need not fit the adapter's types.
	Message json.RawMessage `json:"message"`
}

// partialGuild is the guild that newer interactions carry; its name only
// where Discord includes it.
type partialGuild struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type user struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
	Bot        bool   `json:"bot"`
}

type guildMember struct {
	User        *user  `json:"user"`
	Nick        string `json:"nick"`
	Permissions string `json:"permissions"`
}

// resolved is the data Discord sends about users and channels an
// interaction names.
type resolved struct {
	Users   map[string]user        `json:"users"`
	Members map[string]guildMember `json:"members"`
}

type commandData struct {
	Name     string          `json:"name"`
	Type     int             `json:"type"`
	Options  []commandOption `json:"options"`
	Resolved resolved        `json:"resolved"`
}

type commandOption struct {
	Name    string          `json:"name"`
	Type    int             `json:"type"`
	Value   json.RawMessage `json:"value"`
	Focused bool            `json:"focused"`
	Options []commandOption `json:"options"`
}

// text is an option's value as text (strings unquoted, numbers as written).
func (o commandOption) text() string {
	var s string
	if json.Unmarshal(o.Value, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(o.Value, &n) == nil {
		if i, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return n.String()
	}
	return ""
}

type componentData struct {
	CustomID      string   `json:"custom_id"`
	ComponentType int      `json:"component_type"`
	Values        []string `json:"values"`
	Resolved      resolved `json:"resolved"`
}

type modalData struct {
	CustomID   string        `json:"custom_id"`
	Components []inComponent `json:"components"`
	Resolved   resolved      `json:"resolved"`
}

// inComponent is a component of a submitted modal: an action row or a Label
// holding inputs, or an input.
type inComponent struct {
	Type       int           `json:"type"`
	CustomID   string        `json:"custom_id"`
	Value      *string       `json:"value"`
	Values     []string      `json:"values"`
	Components []inComponent `json:"components"`
	Component  *inComponent  `json:"component"`
}

// values collects the submitted values by custom id.
func (c inComponent) collect(out map[string][]string) {
	if c.CustomID != "" {
		switch {
		case c.Value != nil:
			out[c.CustomID] = []string{*c.Value}
		case c.Values != nil:
			out[c.CustomID] = append([]string{}, c.Values...)
		default:
			out[c.CustomID] = []string{}
		}
	}
	for _, k := range c.Components {
		k.collect(out)
	}
	if c.Component != nil {
		c.Component.collect(out)
	}
}

var errNoInteraction = errors.New("not an interaction")

func decodeInteraction(body []byte) (*interaction, error) {
	var in interaction
	if err := payload.Unmarshal(body, &in); err != nil {
		return nil, err
	}
	if in.Type == 0 || (in.Type != itPing && (in.ID == "" || in.Token == "")) {
		return nil, errNoInteraction
	}
	return &in, nil
}

// userOf is who sent the interaction: the member's user in a guild, else
// the user.
func (in *interaction) userOf() *user {
	if in.Member != nil && in.Member.User != nil {
		return in.Member.User
	}
	return in.User
}

// perms are the member's permission bits in the channel.
func (in *interaction) perms() uint64 {
	if in.Member == nil {
		return 0
	}
	p, _ := strconv.ParseUint(in.Member.Permissions, 10, 64)
	return p
}

// displayName is what a member is called in a guild.
func displayName(u user, m *guildMember) string {
	switch {
	case m != nil && m.Nick != "":
		return m.Nick
	case u.GlobalName != "":
		return u.GlobalName
	case u.Username != "":
		return u.Username
	}
	return u.ID
}
