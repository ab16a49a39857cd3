package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/billingbot/billingbot/commands"
)

// errClosed is what ask returns when the user closes the form: with a
// close word, or by answering no to a confirmation.
var errClosed = errors.New("form closed")

// closes reports whether an answer closes the form: "close" or (German)
// "abbrechen", in either language and any case. No command is named so,
// while "cancel" is one: typed outside a form it opens the cancel form, so
// inside one it is an answer like any other.
func closes(answer string) bool {
	switch strings.ToLower(answer) {
	case "close", "abbrechen":
		return true
	}
	return false
}

// walk fills in a form prompt by prompt and submits it. The form's
// information (its read-only inputs: what a subscription has, what a
// purchase costs) comes first, before any question, so that the questions
// are answered knowing it. When the bot
// answers with field errors it shows them under their fields, asks again
// for those fields only (keeping the other answers) and resubmits, with
// the same idempotency key: a retried submission cannot apply twice. It
// returns io.EOF when the input ended inside the form (which is then
// abandoned).
func (s *session) walk(ctx context.Context, f *commands.Form) error {
	w := words(s.bot, s.language())
	key := newKey()
	var head strings.Builder
	renderTitle(&head, f.Title, "-")
	for _, in := range f.Inputs {
		if in.Kind == commands.KindInfo {
			head.WriteString(infoText(in))
		}
	}
	head.WriteString(w.formHelp + "\n")
	s.out.print(head.String())

	values := make(map[string][]string, len(f.Inputs))
	pending := f.Inputs
	for {
		for _, in := range pending {
			if in.Kind == commands.KindInfo {
				continue
			}
			v, err := s.ask(ctx, in, w)
			if stop, err := s.stopped(err, w); stop {
				return err
			}
			values[in.ID] = v
		}

		sub := &commands.Submission{FormID: f.ID, Context: f.Context, Values: make(map[string][]string, len(values))}
		for id, v := range values {
			sub.Values[id] = append([]string(nil), v...)
		}
		req := s.request()
		req.Form = sub
		req.IdempotencyKey = key
		resp, err := s.bot.Handle(ctx, req)
		if len(resp.FieldErrors) == 0 {
			return s.show(ctx, resp, err)
		}
		s.setLanguage(resp.Lang)
		pending = s.showFieldErrors(f, resp)
		if len(pending) == 0 {
			s.out.print(w.cannotFix + "\n" + w.abandoned + "\n\n")
			return nil
		}
	}
}

// showFieldErrors prints each error under its field's label (never the
// value typed: it might be a card number) and returns the inputs to ask
// for again.
func (s *session) showFieldErrors(f *commands.Form, resp commands.Response) []commands.Input {
	var b strings.Builder
	if len(resp.Messages) > 0 {
		renderResponse(&b, localButtons(s.bot, resp.Lang, resp.Messages))
	}
	var again []commands.Input
	known := map[string]bool{}
	for _, in := range f.Inputs {
		known[in.ID] = true
		msg, ok := resp.FieldErrors[in.ID]
		if !ok {
			continue
		}
		b.WriteString(in.Label + "\n  ! " + indent(msg, "    ") + "\n")
		if in.Kind != commands.KindInfo {
			again = append(again, in)
		}
	}
	var other []string
	for id := range resp.FieldErrors {
		if !known[id] {
			other = append(other, id)
		}
	}
	sort.Strings(other)
	for _, id := range other {
		b.WriteString("! " + indent(resp.FieldErrors[id], "  ") + "\n")
	}
	s.out.print(b.String())
	return again
}

// infoText writes an info input: its label and its text.
func infoText(in commands.Input) string {
	if in.Label == "" {
		return in.Text + "\n"
	}
	lead := in.Label + ": "
	return lead + indent(strings.TrimRight(in.Text, "\n"), strings.Repeat(" ", width(lead))) + "\n"
}

// ask asks for one input's value until the answer can be read; the bot
// checks its rules once the form is submitted.
func (s *session) ask(ctx context.Context, in commands.Input, w chrome) ([]string, error) {
	var b strings.Builder
	label := in.Label
	switch in.Kind {
	case commands.KindSelect, commands.KindMultiSelect:
		b.WriteString(label + "\n")
		for i, o := range in.Options {
			fmt.Fprintf(&b, "  %d) %s\n", i+1, o.Label)
		}
		hint := w.choose
		if in.Kind == commands.KindMultiSelect {
			hint = w.chooseMany
		}
		label += " – " + hint
	case commands.KindUsers:
		label += " – " + w.people
	case commands.KindConfirm:
		if len(in.Options) > 0 && in.Options[0].Label != "" {
			b.WriteString(label + "\n")
			label = in.Options[0].Label
		}
		label += " (" + w.yesNo + ")"
	case commands.KindNumber:
		if in.Max > 0 {
			label += " (" + in.Range(s.language()) + ")"
		}
	}
	if in.Hint != "" {
		b.WriteString("  " + in.Hint + "\n")
	}
	s.out.print(b.String())
	def := s.defaultText(ctx, in)
	prompt := label
	if def != "" {
		prompt += " [" + def + "]"
	}
	prompt += ": "
	for {
		line, err := s.answer(ctx, prompt)
		if err != nil {
			return nil, err
		}
		if in.Kind == commands.KindConfirm {
			// No (or Enter on an unticked one) closes the form: the
			// console asks y/n, there is no box to tick later.
			yes, ok := yesOrNo(line)
			if line == "" {
				yes, ok = confirmed(in), true
			}
			if ok && !yes {
				return nil, errClosed
			}
		}
		v, problem := s.parse(ctx, in, line, w)
		if problem == "" {
			return v, nil
		}
		if commands.HoldsCardNumber(line) {
			// The problem repeats the answer: say what the bot says of a
			// card number instead.
			problem = s.bot.Text(s.language(), "ErrCardInChat")
		}
		s.out.print("  ! " + problem + "\n")
	}
}

// answer prints a prompt and reads the answer, echoing it when the input
// is not a terminal (which echoes it itself), so that a transcript reads
// like a session. A close word closes the form (errClosed).
func (s *session) answer(ctx context.Context, prompt string) (string, error) {
	s.out.print(prompt)
	line, err := s.in.next(ctx)
	if err != nil {
		return "", err
	}
	// Read, and echoed, as it looks (commands.StripFormatChars).
	line = commands.StripFormatChars(line)
	if !s.tty {
		s.out.print(line + "\n")
	}
	line = strings.TrimSpace(line)
	if closes(line) {
		return "", errClosed
	}
	return line, nil
}

// defaultText shows an input's initial value.
func (s *session) defaultText(ctx context.Context, in commands.Input) string {
	switch in.Kind {
	case commands.KindSelect, commands.KindMultiSelect:
		labels := make([]string, 0, len(in.Value))
		for _, v := range in.Value {
			labels = append(labels, optionLabel(in.Options, v))
		}
		return strings.Join(labels, ", ")
	case commands.KindUsers:
		names := make([]string, 0, len(in.Value))
		for _, v := range in.Value {
			if m, err := s.members.Member(ctx, v); err == nil {
				v = m.Name
			}
			names = append(names, v)
		}
		return strings.Join(names, ", ")
	case commands.KindConfirm:
		if confirmed(in) {
			return yes(words(s.bot, s.language()))
		}
		return no(words(s.bot, s.language()))
	}
	return strings.Join(in.Value, ", ")
}

func optionLabel(opts []commands.Option, value string) string {
	for _, o := range opts {
		if o.Value == value {
			return o.Label
		}
	}
	return value
}

// confirmed reports whether a confirm input starts ticked.
func confirmed(in commands.Input) bool {
	for _, v := range in.Value {
		if v == confirmValue(in) {
			return true
		}
	}
	return false
}

// confirmValue is the value a ticked confirm input submits.
func confirmValue(in commands.Input) string {
	if len(in.Options) > 0 && in.Options[0].Value != "" {
		return in.Options[0].Value
	}
	return "yes"
}

func yes(w chrome) string { return w.yesNo[:1] }
func no(w chrome) string  { return w.yesNo[len(w.yesNo)-1:] }

// parse reads an answer to an input. An empty answer keeps the initial
// value. It returns what is wrong when the answer cannot be read.
func (s *session) parse(ctx context.Context, in commands.Input, line string, w chrome) ([]string, string) {
	if line == "" {
		return append([]string(nil), in.Value...), ""
	}
	switch in.Kind {
	case commands.KindSelect:
		if len(in.Options) == 0 {
			return []string{line}, ""
		}
		if v, ok := matchOption(in.Options, line); ok {
			return []string{v}, ""
		}
		return nil, fmt.Sprintf(w.notAChoice, line)
	case commands.KindMultiSelect:
		vals, bad := splitRefs(line, func(p string) (string, bool) { return matchOption(in.Options, p) })
		if len(bad) > 0 {
			return nil, fmt.Sprintf(w.notAChoice, bad[0])
		}
		return vals, ""
	case commands.KindUsers:
		// What names nobody is sent as typed: the bot says who it does
		// not know, in the user's language.
		vals, bad := splitRefs(line, func(p string) (string, bool) {
			m, err := s.members.Member(ctx, p)
			return m.ID, err == nil
		})
		return append(vals, bad...), ""
	case commands.KindConfirm:
		if yes, ok := yesOrNo(line); ok && yes {
			return []string{confirmValue(in)}, ""
		}
		return nil, fmt.Sprintf(w.notAChoice, line)
	}
	return []string{line}, ""
}

// yesOrNo reads the answer to a y/n question in either language: y, yes,
// j, ja or n, no, nein, in any case. ok is false for anything else.
func yesOrNo(answer string) (yes, ok bool) {
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes", "j", "ja":
		return true, true
	case "n", "no", "nein":
		return false, true
	}
	return false, false
}

// matchOption finds the option a word means: its number in the list (from
// 1), its value or its label, ignoring case.
func matchOption(opts []commands.Option, word string) (string, bool) {
	if n, err := strconv.Atoi(word); err == nil && n >= 1 && n <= len(opts) {
		return opts[n-1].Value, true
	}
	for _, o := range opts {
		if strings.EqualFold(o.Value, word) || strings.EqualFold(o.Label, word) {
			return o.Value, true
		}
	}
	return "", false
}

// splitRefs splits a comma-separated answer and resolves each part: as a
// whole ("Alice Adams"), or else word by word ("alice bob") when every
// word resolves. It returns the resolved values, without repeats, and the
// parts that did not resolve.
func splitRefs(line string, resolve func(string) (string, bool)) (vals, bad []string) {
	seen := map[string]bool{}
	add := func(v string) {
		if !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	for _, part := range strings.Split(line, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if v, ok := resolve(part); ok {
			add(v)
			continue
		}
		words := strings.Fields(part)
		resolved := make([]string, 0, len(words))
		for _, wd := range words {
			if v, ok := resolve(wd); ok {
				resolved = append(resolved, v)
			}
		}
		if len(words) > 1 && len(resolved) == len(words) {
			for _, v := range resolved {
				add(v)
			}
			continue
		}
		bad = append(bad, part)
	}
	return vals, bad
}

// stopped reports whether an answer's error ends the form: closed by the
// user (nil: the session goes on), the input ended (io.EOF) or it failed.
// It says that the form was abandoned.
func (s *session) stopped(err error, w chrome) (bool, error) {
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, errClosed):
		s.out.print(w.abandoned + "\n\n")
		return true, nil
	case errors.Is(err, io.EOF):
		s.out.print("\n" + w.abandoned + "\n")
		return true, io.EOF
	}
	return true, err
}
