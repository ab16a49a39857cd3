package discord

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/billingbot/billingbot/commands"
)

// Discord's limits on what the adapter sends.
const (
	maxContent        = 2000
	maxEmbeds         = 10
	maxEmbedTotal     = 6000
	maxEmbedTitle     = 256
	maxEmbedDesc      = 4096
	maxEmbedFields    = 25
	maxFieldName      = 256
	maxFieldValue     = 1024
	maxRows           = 5
	maxRowButtons     = 5
	maxButtonLabel    = 80
	maxButtonURL      = 512 // a link button's url
	maxCustomID       = 100
	maxModalTitle     = 45
	maxModalTop       = 5
	maxLabel          = 45
	maxLabelDesc      = 100
	maxOptions        = 25
	maxOptionText     = 100
	maxPlaceholder    = 150
	maxTextInput      = 4000
	maxTextDisplay    = 4000
	maxUserSelect     = 25
	cacheTTL          = 24 * time.Hour
	buttonPrefix      = "b:" // b:<command line>
	buttonCachePrefix = "k:" // k:<key> of a cached command line
	reopenPrefix      = "r:" // r:<key> of a cached form
	dmButtonPrefix    = "d:" // d:<guild>:<command line>, for buttons in DMs
	confirmPrefix     = "c:" // c:<command line> of a confirmation's button: its answer replaces the message
	formPrefix        = "f:" // f:<key>:<form id>:<context>
	formCachedPrefix  = "g:" // g:<key>:<form id>, context in the cached form
	dmFormPrefix      = "e:" // e:<guild>:<key>:<form id>, a modal opened from a DM; context in the cached form
	dmConfirmPrefix   = "h:" // h:<guild>:<command line> of a confirmation's button in a DM: c: there
)

// Outgoing JSON.

type callback struct {
	Type int `json:"type"`
	Data any `json:"data,omitempty"`
}

type outMessage struct {
	Content         string          `json:"content"`
	Embeds          []embed         `json:"embeds"`
	Components      []actionRow     `json:"components"`
	Flags           int             `json:"flags,omitempty"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
	// Nonce with EnforceNonce: Discord creates one message per nonce (for
	// a few minutes) and answers a repeat with the first.
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

// allowedMentions with no parse list: the bot's messages never ping.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

type embed struct {
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	Fields      []embedField `json:"fields,omitempty"`
	Color       int          `json:"color,omitempty"`
}

type embedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

func (e embed) size() int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	return n
}

type actionRow struct {
	Type       int      `json:"type"`
	Components []button `json:"components"`
}

type button struct {
	Type     int    `json:"type"`
	Style    int    `json:"style"`
	Label    string `json:"label"`
	CustomID string `json:"custom_id,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Button styles.
const (
	stylePrimary   = 1
	styleSecondary = 2
	styleSuccess   = 3
	styleDanger    = 4
	styleLink      = 5
)

type autocompleteData struct {
	Choices []choice `json:"choices"`
}

type choice struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// truncate shortens s to at most n characters, ending in "…" when cut.
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " \n") + "…"
}

// renderer turns the core's messages into Discord messages for one
// organization.
type renderer struct {
	a   *Adapter
	ctx context.Context
	org string
	// guild, when set, makes buttons carry the guild (messages in DMs).
	guild string
	// confirm, when set, names the buttons of a confirmation
	// (Response.Confirm): a click on either answers in the confirmation's
	// place, and the one that makes the change is green.
	confirm *commands.Confirm
}

// part is one core message as Discord parts.
type part struct {
	content string
	embed   *embed
	rows    []actionRow
	public  bool
}

// messages renders core messages, packed into as few Discord messages as
// the limits allow.
func (r renderer) messages(msgs []commands.Message) []*outMessage {
	var out []*outMessage
	var cur *outMessage
	var curPublic bool
	total := 0
	for _, m := range msgs {
		p := r.part(m)
		size := 0
		if p.embed != nil {
			size = p.embed.size()
		}
		fits := cur != nil && curPublic == p.public &&
			len(cur.Components)+len(p.rows) <= maxRows &&
			(p.embed == nil || (len(cur.Embeds) < maxEmbeds && total+size <= maxEmbedTotal)) &&
			(p.content == "" || (cur.Content == "" || utf8.RuneCountInString(cur.Content)+2+utf8.RuneCountInString(p.content) <= maxContent))
		if !fits {
			cur = &outMessage{Embeds: []embed{}, Components: []actionRow{}, AllowedMentions: allowedMentions{Parse: []string{}}}
			if !p.public {
				cur.Flags = flagEphemeral
			}
			curPublic, total = p.public, 0
			out = append(out, cur)
		}
		if p.content != "" {
			if cur.Content != "" {
				cur.Content += "\n\n"
			}
			cur.Content += p.content
		}
		if p.embed != nil {
			cur.Embeds = append(cur.Embeds, *p.embed)
			total += size
		}
		cur.Components = append(cur.Components, p.rows...)
	}
	return out
}

func (r renderer) part(m commands.Message) part {
	p := part{public: m.Public, rows: r.buttons(m.Buttons)}
	// The core's texts are plain text, with what users typed in them
	// (names, reasons, billing profiles): none of it may turn into
	// Discord markdown, a masked link least of all.
	m.Title, m.Text = escapeMarkdown(m.Title), escapeMarkdown(m.Text)
	if c := contacts(m.Contacts); c != "" {
		m.Text = strings.TrimRight(m.Text, "\n") + "\n" + c
	}
	if m.Title == "" && len(m.Fields) == 0 && m.Table == nil && utf8.RuneCountInString(m.Text) <= maxContent {
		p.content = m.Text
		if p.content == "" && len(p.rows) > 0 {
			p.content = "\u200b"
		}
		return p
	}
	e := &embed{Title: truncate(m.Title, maxEmbedTitle), Color: 0x5865F2}
	desc := m.Text
	if m.Table != nil {
		budget := maxEmbedDesc - utf8.RuneCountInString(desc) - 2
		if t := table(m.Table, budget); t != "" {
			if desc != "" {
				desc += "\n"
			}
			desc += t
		}
	}
	e.Description = truncate(desc, maxEmbedDesc)
	for i, f := range m.Fields {
		if i == maxEmbedFields {
			break
		}
		e.Fields = append(e.Fields, embedField{Name: nonBlank(truncate(escapeMarkdown(f.Label), maxFieldName)),
			Value: nonBlank(truncate(escapeMarkdown(f.Value), maxFieldValue)), Inline: utf8.RuneCountInString(f.Value) <= 40})
	}
	// Within the total of one message's embeds: fields go first, then the
	// description is cut.
	for e.size() > maxEmbedTotal && len(e.Fields) > 0 {
		e.Fields = e.Fields[:len(e.Fields)-1]
	}
	if over := e.size() - maxEmbedTotal; over > 0 {
		e.Description = truncate(e.Description, utf8.RuneCountInString(e.Description)-over)
	}
	p.embed = e
	return p
}

// contacts lists people to turn to, one a line: the name and a mention
// ("<@123>"; messages allow no mentions, so it notifies nobody).
func contacts(people []commands.Member) string {
	lines := make([]string, 0, len(people))
	for _, m := range people {
		line := "• " + truncate(escapeMarkdown(m.Name), 80)
		if snowflakeID(m.ID) {
			line += " (<@" + m.ID + ">)"
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// markdownEscaper escapes what Discord reads as markdown anywhere in a
// line: emphasis, strike-through, spoilers, code and masked links
// ("[text](url)": the brackets; parentheses alone are no markup, and
// stay as written); the backslash too, so that a typed one escapes
// nothing. "<" and ">" stay: a mention of a channel or person shows as
// one but, with no allowed mentions, notifies nobody.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`,
	"[", `\[`, "]", `\]`)

// escapeMarkdown makes plain text show as written in a Discord message,
// embed or text display: markdownEscaper, and at the start of a line a
// quote (">"), a heading or subtext ("#", "-#"), a list item ("-", "+",
// "1. ").
func escapeMarkdown(s string) string {
	s = markdownEscaper.Replace(s)
	if !strings.ContainsAny(s, ">#-+.") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		rest := strings.TrimLeft(l, " \t")
		lead := l[:len(l)-len(rest)]
		if rest == "" {
			continue
		}
		if c := rest[0]; c == '>' || c == '#' || c == '-' || c == '+' {
			lines[i] = lead + `\` + rest
			continue
		}
		n := 0
		for n < len(rest) && '0' <= rest[n] && rest[n] <= '9' {
			n++
		}
		if n > 0 && strings.HasPrefix(rest[n:], ". ") {
			lines[i] = lead + rest[:n] + `\` + rest[n:]
		}
	}
	return strings.Join(lines, "\n")
}

func nonBlank(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// table renders a table as a code block of padded columns, at most budget
// characters, leaving out rows that do not fit.
func table(t *commands.Table, budget int) string {
	clean := func(s string) string {
		s = strings.ReplaceAll(s, "`", "'")
		return strings.Join(strings.Fields(s), " ")
	}
	const fence = "```"
	var lines []string
	used := len(fence)*2 + 2
	for i, l := range t.Lines(clean) {
		n := utf8.RuneCountInString(l) + 1
		if used+n+2 > budget {
			if i > 0 {
				lines = append(lines, "…")
			}
			break
		}
		lines = append(lines, l)
		used += n
	}
	if len(lines) == 0 {
		return ""
	}
	return fence + "\n" + strings.Join(lines, "\n") + "\n" + fence
}

// buttons renders buttons as action rows: five a row (a button marked
// NewRow starts one), five rows; the buttons that do not fit are left out.
func (r renderer) buttons(bs []commands.Button) []actionRow {
	var rows []actionRow
	seen := map[string]bool{}
	brk := false // the next button starts a row
	for _, b := range bs {
		brk = brk || b.NewRow
		newRow := len(rows) == 0 || len(rows[len(rows)-1].Components) == maxRowButtons || brk
		if newRow && len(rows) == maxRows {
			break
		}
		out := button{Type: ctButton, Label: nonBlank(truncate(b.Label, maxButtonLabel)), Style: styleSecondary}
		switch b.Style {
		case commands.StylePrimary:
			out.Style = stylePrimary
		case commands.StyleDanger:
			out.Style = styleDanger
		}
		if b.URL != "" {
			if len(b.URL) > maxButtonURL {
				continue
			}
			out.Style, out.URL = styleLink, b.URL
		} else {
			prefix := buttonPrefix
			if c := r.confirm; c != nil && (b.Command == c.Yes || b.Command == c.No) {
				prefix = confirmPrefix
				if b.Command == c.Yes {
					out.Style = styleSuccess
				}
			}
			out.CustomID = r.commandID(prefix, b.Command, seen)
			if out.CustomID == "" {
				continue
			}
			seen[out.CustomID] = true
		}
		if newRow {
			rows = append(rows, actionRow{Type: ctActionRow})
		}
		rows[len(rows)-1].Components = append(rows[len(rows)-1].Components, out)
		brk = false
	}
	return rows
}

// commandID is the custom id of a button that runs a command line: the
// line itself after prefix when it fits, else a key to it in the store (a
// confirmation's lines always fit: the core's are short).
func (r renderer) commandID(prefix, cmd string, seen map[string]bool) string {
	id := prefix + cmd
	switch {
	case r.guild != "" && prefix == confirmPrefix:
		id = dmConfirmPrefix + r.guild + ":" + cmd
	case r.guild != "":
		id = dmButtonPrefix + r.guild + ":" + cmd
	}
	if len(id) <= maxCustomID && !seen[id] {
		return id
	}
	if r.guild != "" {
		return "" // a DM button cannot reach the store of an unknown guild
	}
	key := commands.NewID()
	if err := r.a.store.CachePut(r.ctx, r.org, "btn:"+key, cmd, 7*cacheTTL); err != nil {
		r.a.log.Warn("discord: keep button command", "org", r.org, "err", err)
		return ""
	}
	return buttonCachePrefix + key
}
