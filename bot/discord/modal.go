package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/billingbot/billingbot/commands"
)

// Modals: a commands.Form rendered with Label components (type 18), which
// discordgo v0.29.0 does not know, so these are the adapter's own types.

type modal struct {
	CustomID   string `json:"custom_id"`
	Title      string `json:"title"`
	Components []any  `json:"components"`
}

type label struct {
	Type        int    `json:"type"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
	Component   any    `json:"component"`
}

type textDisplay struct {
	Type    int    `json:"type"`
	Content string `json:"content"`
}

type textInput struct {
	Type        int    `json:"type"`
	CustomID    string `json:"custom_id"`
	Style       int    `json:"style"`
	MinLength   int    `json:"min_length,omitempty"`
	MaxLength   int    `json:"max_length,omitempty"`
	Required    bool   `json:"required"`
	Value       string `json:"value,omitempty"`
	Placeholder string `json:"placeholder,omitempty"`
}

type selectMenu struct {
	Type          int            `json:"type"`
	CustomID      string         `json:"custom_id"`
	Options       []selectOption `json:"options,omitempty"`
	MinValues     int            `json:"min_values"`
	MaxValues     int            `json:"max_values"`
	Required      bool           `json:"required"`
	DefaultValues []defaultValue `json:"default_values,omitempty"`
}

type selectOption struct {
	Label   string `json:"label"`
	Value   string `json:"value"`
	Default bool   `json:"default,omitempty"`
}

type defaultValue struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Text input styles.
const (
	styleShort     = 1
	styleParagraph = 2
)

// cachedForm is a form the adapter keeps while its modal may be open, to
// name fields in error messages and to reopen it with what was entered.
type cachedForm struct {
	Form commands.Form `json:"form"`
}

// keepForm stores a form under a fresh key for ttl: cacheTTL for a form
// the core opens, refusedTTL for a refused one filled with what the user
// entered.
func (a *Adapter) keepForm(ctx context.Context, org string, f *commands.Form, ttl time.Duration) (string, error) {
	doc, err := json.Marshal(cachedForm{Form: *f})
	if err != nil {
		return "", err
	}
	key := commands.NewID()
	if err := a.store.CachePut(ctx, org, "form:"+key, string(doc), ttl); err != nil {
		return "", fmt.Errorf("keep form %q: %w", f.ID, err)
	}
	return key, nil
}

// refusedTTL is how long a refused form is kept with what the user
// entered, for its reopen button: long enough to correct it, and no
// longer. The entry is deleted as soon as the form is submitted again;
// Discord tells an app nothing when a modal is closed, so a form closed
// without sending lives until then. A submission refused for a card
// number keeps none of its values (holdsCardNumber).
const refusedTTL = 15 * time.Minute

// dropForm deletes a form keepForm stored once its modal was submitted and
// answered: a refused one lives on under a new key, with the values
// entered.
func (a *Adapter) dropForm(ctx context.Context, org, key string) {
	if !commands.ValidID(key) {
		return
	}
	if err := a.store.CacheDelete(ctx, org, "form:"+key); err != nil {
		a.log.Warn("discord: drop form", "org", org, "err", err)
	}
}

// errFormGone is a form that keepForm never stored or that expired.
var errFormGone = errors.New("form expired")

// loadForm reads a form keepForm stored: errFormGone when there is none,
// a store error when Redis does not answer.
func (a *Adapter) loadForm(ctx context.Context, org, key string) (*commands.Form, error) {
	if !commands.ValidID(key) {
		return nil, errFormGone
	}
	doc, ok, err := a.store.CacheGet(ctx, org, "form:"+key)
	if err != nil {
		return nil, err
	}
	var cf cachedForm
	if !ok || json.Unmarshal([]byte(doc), &cf) != nil || cf.Form.ID == "" {
		return nil, errFormGone
	}
	return &cf.Form, nil
}

// formErr is the message id that tells why a form could not be read.
func formErr(err error) string {
	if errors.Is(err, errFormGone) {
		return "DiscordExpired"
	}
	return "ErrUnavailable"
}

// modalID is the custom id of a form's modal: the form's key, id and
// context when they fit, else the key alone (the context is in the store).
func modalID(key string, f *commands.Form) string {
	id := formPrefix + key + ":" + f.ID + ":" + f.Context
	if len(id) <= maxCustomID {
		return id
	}
	return formCachedPrefix + key + ":" + f.ID
}

// renderModal renders a form as a modal whose custom id is key's, its
// numbers written as lang ("de" or "en") writes them.
func renderModal(key string, f *commands.Form, lang string) *modal {
	m := &modal{CustomID: modalID(key, f), Title: nonBlank(truncate(f.Title, maxModalTitle))}
	var inputs, infos []commands.Input
	for _, in := range f.Inputs {
		if in.Kind == commands.KindInfo {
			infos = append(infos, in)
		} else {
			inputs = append(inputs, in)
		}
	}
	// Read-only information: one text display (at the place of the first)
	// when it fits among the five top-level components, else folded into
	// the first input's description.
	infoText := func() string {
		var parts []string
		for _, in := range infos {
			parts = append(parts, "**"+escapeMarkdown(strings.TrimSpace(in.Label))+"**\n"+escapeMarkdown(in.Text))
		}
		return truncate(strings.Join(parts, "\n\n"), maxTextDisplay)
	}
	separate := len(infos) > 0 && len(inputs) < maxModalTop
	placed := false
	for _, in := range f.Inputs {
		if in.Kind == commands.KindInfo {
			if separate && !placed {
				m.Components = append(m.Components, textDisplay{Type: ctTextDisplay, Content: infoText()})
				placed = true
			}
			continue
		}
		if len(m.Components) == maxModalTop {
			break // the core's forms have at most five inputs besides information
		}
		m.Components = append(m.Components, renderInput(in, lang))
	}
	if len(infos) > 0 && !separate && len(m.Components) > 0 {
		if l, ok := m.Components[0].(label); ok {
			var texts []string
			for _, in := range infos {
				texts = append(texts, strings.Join(strings.Fields(in.Text), " "))
			}
			l.Description = truncate(strings.TrimSpace(l.Description+" "+strings.Join(texts, " ")), maxLabelDesc)
			m.Components[0] = l
		}
	}
	return m
}

func renderInput(in commands.Input, lang string) any {
	l := label{Type: ctLabel, Label: nonBlank(truncate(in.Label, maxLabel)), Description: truncate(in.Hint, maxLabelDesc)}
	first := ""
	if len(in.Value) > 0 {
		first = in.Value[0]
	}
	switch in.Kind {
	case commands.KindText, commands.KindParagraph:
		t := textInput{Type: ctTextInput, CustomID: in.ID, Style: styleShort, Required: in.Required,
			Value: truncate(first, maxTextInput)}
		t.MaxLength = in.MaxLength
		if in.Kind == commands.KindParagraph {
			t.Style = styleParagraph
			if t.MaxLength <= 0 {
				t.MaxLength = 1000
			}
		} else if t.MaxLength <= 0 {
			t.MaxLength = 200
		}
		t.MaxLength = min(t.MaxLength, maxTextInput)
		if in.Required {
			t.MinLength = 1
		}
		l.Component = t
	case commands.KindNumber:
		digits := max(len(strconv.Itoa(in.Max)), len(strconv.Itoa(in.Min)), 1)
		t := textInput{Type: ctTextInput, CustomID: in.ID, Style: styleShort, Required: in.Required,
			MaxLength: digits + 2, Value: first, Placeholder: numberRange(in, lang)}
		if in.Required {
			t.MinLength = 1
		}
		l.Component = t
	case commands.KindDate:
		t := textInput{Type: ctTextInput, CustomID: in.ID, Style: styleShort, Required: in.Required,
			MaxLength: 10, Value: first}
		if in.Required {
			t.MinLength = 10
		}
		l.Component = t
	case commands.KindUsers:
		s := selectMenu{Type: ctUserSelect, CustomID: in.ID, Required: in.Required,
			MaxValues: clamp(in.Max, 1, maxUserSelect)}
		if in.Required {
			s.MinValues = clamp(in.Min, 1, s.MaxValues)
		}
		for _, v := range in.Value {
			if id := snowflake(v); id != "" && len(s.DefaultValues) < s.MaxValues {
				s.DefaultValues = append(s.DefaultValues, defaultValue{ID: id, Type: "user"})
			}
		}
		l.Component = s
	case commands.KindConfirm:
		// A select with the one "yes" option: the core checks that it was
		// chosen and names the field when not.
		s := selectMenu{Type: ctStringSelect, CustomID: in.ID, MinValues: 0, MaxValues: 1,
			Options: selectOptions(in.Options, in.Value)}
		if len(s.Options) == 0 {
			s.Options = []selectOption{{Label: confirmChoice(in), Value: "yes"}}
		}
		l.Component = s
	default: // KindSelect, KindMultiSelect, and kinds to come
		s := selectMenu{Type: ctStringSelect, CustomID: in.ID, Required: in.Required, MaxValues: 1,
			Options: selectOptions(in.Options, in.Value)}
		if in.Kind == commands.KindMultiSelect {
			s.MaxValues = clamp(in.Max, 1, len(s.Options))
		}
		if in.Required {
			s.MinValues = clamp(in.Min, 1, s.MaxValues)
		}
		if len(s.Options) == 0 {
			// Discord refuses a select without options: say so in a text.
			return textDisplay{Type: ctTextDisplay, Content: "**" + escapeMarkdown(strings.TrimSpace(in.Label)) + "**\n—"}
		}
		s.MaxValues = min(s.MaxValues, len(s.Options))
		s.MinValues = min(s.MinValues, s.MaxValues)
		l.Component = s
	}
	return l
}

// confirmChoice is the label of the choice that confirms a confirm input,
// as its list shows it.
func confirmChoice(in commands.Input) string {
	label := in.Label
	if len(in.Options) > 0 && in.Options[0].Label != "" {
		label = in.Options[0].Label
	}
	return nonBlank(truncate(label, maxOptionText))
}

// numberRange is a number input's placeholder: "min–max", as lang writes
// numbers (1–10,000 or 1–10.000).
func numberRange(in commands.Input, lang string) string {
	if in.Max <= in.Min {
		return ""
	}
	return in.Range(lang)
}

// selectOptions renders at most 25 options, keeping the chosen ones.
func selectOptions(opts []commands.Option, chosen []string) []selectOption {
	isChosen := map[string]bool{}
	for _, v := range chosen {
		isChosen[v] = true
	}
	keep := make([]commands.Option, 0, min(len(opts), maxOptions))
	// The chosen first when there are too many, then the rest in order.
	if len(opts) > maxOptions {
		for _, o := range opts {
			if isChosen[o.Value] && len(keep) < maxOptions {
				keep = append(keep, o)
			}
		}
	}
	for _, o := range opts {
		if len(keep) == maxOptions {
			break
		}
		if len(opts) > maxOptions && isChosen[o.Value] {
			continue
		}
		keep = append(keep, o)
	}
	out := make([]selectOption, 0, len(keep))
	seen := map[string]bool{}
	for _, o := range keep {
		if o.Value == "" || utf8.RuneCountInString(o.Value) > maxOptionText || seen[o.Value] {
			continue
		}
		seen[o.Value] = true
		out = append(out, selectOption{Label: nonBlank(truncate(o.Label, maxOptionText)), Value: o.Value,
			Default: isChosen[o.Value]})
	}
	return out
}

func clamp(n, lo, hi int) int { return max(lo, min(n, hi)) }

// snowflake is the user id a reference names: "123", "<@123>", "<@!123>";
// "" when it names none.
func snowflake(ref string) string {
	ref = strings.TrimSpace(ref)
	if strings.HasPrefix(ref, "<@") && strings.HasSuffix(ref, ">") {
		ref = strings.TrimPrefix(strings.TrimSuffix(ref[2:], ">"), "!")
	}
	if ref == "" || len(ref) > 25 {
		return ""
	}
	for _, r := range ref {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return ref
}

// withValues is the form filled with what a submission entered, for the
// reopen button of a refused submission.
func withValues(f commands.Form, values map[string][]string) commands.Form {
	f.Inputs = append([]commands.Input(nil), f.Inputs...)
	for i, in := range f.Inputs {
		if v, ok := values[in.ID]; ok && in.Kind != commands.KindInfo {
			f.Inputs[i].Value = append([]string(nil), v...)
		}
	}
	return f
}

// holdsCardNumber reports whether any value of a submission holds a card
// number (commands.HoldsCardNumber): then none of its values is kept.
func holdsCardNumber(values map[string][]string) bool {
	for _, v := range values {
		if slices.ContainsFunc(v, commands.HoldsCardNumber) {
			return true
		}
	}
	return false
}
