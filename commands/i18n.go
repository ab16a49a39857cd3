package commands

import (
	"sync"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/locales"
)

// tr writes text in one language.
type tr struct {
	lang string
	loc  *i18n.Localizer
	// fixed caches the messages that take no data: most labels are, and
	// go-i18n matches languages anew on every call.
	fixed *sync.Map
	// cmd is the slash command as the user sees it: every message may
	// name it as {{.Cmd}}, followed by a subcommand in its own language
	// ("{{.Cmd}} kaufen").
	cmd string
}

// defaultCommand is the slash command where the platform says no other.
const defaultCommand = "/billing"

func (b *Bot) tr(lang string) tr {
	return tr{lang: lang, loc: b.locs[lang], fixed: b.fixed[lang], cmd: defaultCommand}
}

// tr writes text in a language for the call's user, naming the command as
// their platform shows it.
func (c *call) tr(lang string) tr {
	t := c.b.tr(lang)
	if cmd := c.req.Command; validCommand(cmd) {
		t.cmd = cmd
	}
	return t
}

// shownCommand is the command t names when it is not /billing, else "":
// what a link keeps for the pages it leads to (Bot.TextFor).
func (t tr) shownCommand() string {
	if t.cmd == defaultCommand {
		return ""
	}
	return t.cmd
}

// validCommand reports whether an adapter's Request.Command can be shown:
// a slash and a short lower-case word.
func validCommand(cmd string) bool {
	if len(cmd) < 2 || len(cmd) > 32 || cmd[0] != '/' {
		return false
	}
	for _, r := range cmd[1:] {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// T returns the message id in the language, filled with key/value pairs.
func (t tr) T(id string, kv ...any) string {
	return t.localize(id, nil, kv)
}

// N returns the plural form of the message id for n; the template sees n,
// formatted for the language, as .Count. For 0 it is the message's zero
// form where it has one (locales.Zero).
func (t tr) N(id string, n int, kv ...any) string {
	kv = append(kv, "Count", format.Number(t.lang, int64(n)))
	if n == 0 {
		if s, err := t.localizeNow(id+locales.Zero, nil, kv); err == nil {
			return s
		}
	}
	return t.localize(id, n, kv)
}

func (t tr) localize(id string, plural any, kv []any) string {
	if plural == nil && len(kv) == 0 {
		key := id
		if t.cmd != defaultCommand {
			key = t.cmd + " " + id
		}
		if s, ok := t.fixed.Load(key); ok {
			return s.(string)
		}
		s := t.orID(id, nil, nil)
		t.fixed.Store(key, s)
		return s
	}
	return t.orID(id, plural, kv)
}

// orID is the message, or when it is missing (a bug that TestMessageIDs
// catches) its id: rather that than nothing.
func (t tr) orID(id string, plural any, kv []any) string {
	s, err := t.localizeNow(id, plural, kv)
	if err != nil {
		return "[" + id + "]"
	}
	return s
}

func (t tr) localizeNow(id string, plural any, kv []any) (string, error) {
	data := make(map[string]any, len(kv)/2+1)
	data["Cmd"] = t.cmd
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		data[k] = kv[i+1]
	}
	return t.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: plural})
}

func (t tr) Money(minor int64, currency string) string { return format.Money(t.lang, minor, currency) }
func (t tr) Date(d time.Time) string                   { return format.Date(t.lang, d) }
func (t tr) DateTime(d time.Time) string               { return format.DateTime(t.lang, d) }
func (t tr) Num(n int) string                          { return format.Number(t.lang, int64(n)) }

// Text returns a message in a language ("de" or "en"), filled with
// key/value pairs, for the words adapters add around the core's answers.
// A command it names is /billing; TextFor names another.
func (b *Bot) Text(lang, id string, kv ...any) string {
	return b.tr(langOf(lang, "")).T(id, kv...)
}

// TextFor is Text for a user who sees the slash command as command
// (Request.Command, e.g. "/abrechnung").
func (b *Bot) TextFor(lang, command, id string, kv ...any) string {
	c := &call{b: b, req: Request{Command: command}}
	return c.tr(langOf(lang, "")).T(id, kv...)
}
