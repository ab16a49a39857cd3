package console

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/billingbot/billingbot/commands"
)

// Rendering of the core's messages as plain text. Widths are counted in
// runes: good enough for the Latin scripts that the bot writes.

// width is the display width of s, counted in runes.
func width(s string) int { return utf8.RuneCountInString(s) }

// pad fills s with spaces up to n runes.
func pad(s string, n int) string {
	if w := width(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

// indent puts prefix before every line of s but the first.
func indent(s, prefix string) string {
	return strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// renderTitle writes a title underlined with ch.
func renderTitle(b *strings.Builder, title string, ch string) {
	b.WriteString(title)
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(ch, max(width(title), 1)))
	b.WriteByte('\n')
}

// renderMessage writes a message. Its buttons are numbered from first on;
// it returns the buttons it numbered. With numbered false, buttons are
// listed without numbers (they cannot be clicked by number).
func renderMessage(b *strings.Builder, m commands.Message, first int, numbered bool) []commands.Button {
	if m.Title != "" {
		renderTitle(b, m.Title, "=")
	}
	if m.Text != "" {
		b.WriteString(strings.TrimRight(m.Text, "\n"))
		b.WriteByte('\n')
	}
	renderContacts(b, m.Contacts)
	renderFields(b, m.Fields)
	if m.Table != nil {
		if m.Text != "" || len(m.Fields) > 0 {
			b.WriteByte('\n')
		}
		renderTable(b, m.Table)
	}
	if len(m.Buttons) > 0 {
		if m.Text != "" || len(m.Fields) > 0 || m.Table != nil {
			b.WriteByte('\n')
		}
		renderButtons(b, m.Buttons, first, numbered)
	}
	return m.Buttons
}

// renderContacts writes one line for each person to turn to: the name
// and how to mention them in the console ("  - Alice Adams (@alice)").
func renderContacts(b *strings.Builder, people []commands.Member) {
	for _, m := range people {
		b.WriteString("  - " + m.Name + " (@" + m.ID + ")\n")
	}
}

// renderFields writes "Label: value" lines; the further lines of a value
// are indented to where its first line starts.
func renderFields(b *strings.Builder, fields []commands.Field) {
	for _, f := range fields {
		lead := f.Label + ": "
		b.WriteString(lead)
		b.WriteString(indent(strings.TrimRight(f.Value, "\n"), strings.Repeat(" ", width(lead))))
		b.WriteByte('\n')
	}
}

// renderTable writes a table with aligned columns, a header and a rule.
func renderTable(b *strings.Builder, t *commands.Table) {
	cols := len(t.Columns)
	for _, r := range t.Rows {
		cols = max(cols, len(r))
	}
	cell := func(row []string, i int) string {
		if i >= len(row) {
			return ""
		}
		return strings.Join(strings.Fields(row[i]), " ")
	}
	widths := make([]int, cols)
	for i := range widths {
		widths[i] = width(cell(t.Columns, i))
		for _, r := range t.Rows {
			widths[i] = max(widths[i], width(cell(r, i)))
		}
	}
	line := func(row []string) {
		var l strings.Builder
		for i := range cols {
			if i > 0 {
				l.WriteString("  ")
			}
			l.WriteString(pad(cell(row, i), widths[i]))
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	if len(t.Columns) > 0 {
		line(t.Columns)
		rule := make([]string, cols)
		for i, w := range widths {
			rule[i] = strings.Repeat("-", max(w, 1))
		}
		line(rule)
	}
	for _, r := range t.Rows {
		line(r)
	}
}

// renderButtons lists buttons: "[1] Assign licenses  → /billing assign …".
func renderButtons(b *strings.Builder, buttons []commands.Button, first int, numbered bool) {
	w := 0
	for _, bt := range buttons {
		w = max(w, width(bt.Label))
	}
	for i, bt := range buttons {
		if numbered {
			b.WriteString("[" + strconv.Itoa(first+i) + "] ")
		} else {
			b.WriteString("- ")
		}
		b.WriteString(pad(bt.Label, w))
		b.WriteString(" → ")
		b.WriteString(target(bt))
		b.WriteByte('\n')
	}
}

// command is the console's slash command, as texts name it.
const command = "/billing"

// target is what a button does, as the user would type or open it.
func target(bt commands.Button) string {
	if bt.URL != "" || strings.HasPrefix(bt.Command, "/") {
		return bt.URL + bt.Command
	}
	return command + " " + bt.Command
}

// localButtons returns the messages with each button's command line as
// the user would type it in their language ("/billing katalog", not
// "/billing catalog"): what the console shows and, clicked, runs (the core
// reads the German words too). The messages given are not changed.
func localButtons(bot *commands.Bot, lang string, msgs []commands.Message) []commands.Message {
	out := slices.Clone(msgs)
	for i, m := range out {
		if len(m.Buttons) == 0 {
			continue
		}
		out[i].Buttons = slices.Clone(m.Buttons)
		for j, bt := range m.Buttons {
			if bt.URL == "" && bt.Command != "" {
				out[i].Buttons[j].Command = bot.CommandLine(lang, command, bt.Command)
			}
		}
	}
	return out
}

// renderResponse writes a response's messages, separated by blank lines,
// and returns their buttons in the order they are numbered (from 1).
func renderResponse(b *strings.Builder, msgs []commands.Message) []commands.Button {
	var buttons []commands.Button
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		buttons = append(buttons, renderMessage(b, m, len(buttons)+1, true)...)
	}
	return buttons
}

// renderNotification writes a notification rendered by the bot, headed
// "[admin notification]" (or "[notification to @user]" for one user).
func renderNotification(b *strings.Builder, n commands.Notification, m commands.Message) {
	head := "[admin notification]"
	if n.To != "" {
		head = "[notification to @" + n.To + "]"
	}
	if m.Title != "" {
		head += " " + m.Title
		m.Title = ""
	}
	var body strings.Builder
	renderMessage(&body, m, 0, false)
	b.WriteString(head)
	b.WriteByte('\n')
	for _, l := range strings.Split(strings.TrimRight(body.String(), "\n"), "\n") {
		if l == "" {
			b.WriteByte('\n')
			continue
		}
		b.WriteString("  " + l + "\n")
	}
}
