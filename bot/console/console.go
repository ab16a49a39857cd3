// Package console is billingbot's terminal adapter: it reads command lines,
// hands them to the core as commands.Request values and prints the
// responses as plain text. Forms become a series of prompts, buttons a
// numbered list (type the number to click one), and admin notifications are
// printed inline. It exists to try the bot without Slack or Discord.
package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/outbox"
)

// Options says who is typing in the console.
type Options struct {
	Org    string // organization id, e.g. "demo"
	User   string // user id, e.g. "alice"
	Name   string // the user's name; empty: looked up in Members
	Locale string // the "platform" locale, e.g. "en", "de-DE"
	Admin  bool   // the user administers the organization
	// Members resolves people; nil: DemoPeople().
	Members commands.Directory
	// DueEvery, when positive, runs the bot's scheduler (Bot.RunDue) this
	// often, starting at once, and after every command, so that jobs due
	// at once (charging a purchase) are done before the next command; and
	// it delivers Org's outbox (Store's) by printing the notifications,
	// after every answer and every run of the scheduler. Without it the
	// console neither runs jobs nor takes notifications: those are for the
	// replicas that serve a shared Redis.
	DueEvery time.Duration
	// Store is the bot's store, whose outbox the console delivers from
	// (*store.Store).
	Store outbox.Store
	// Log receives the bot's faults; nil: slog.Default().
	Log *slog.Logger
}

// Run reads command lines from in until EOF, "quit", "exit" or "beenden", and writes
// the bot's answers to out. A line may start with "/billing" (or
// "/abrechnung") or not; a number clicks a button of the latest answer.
// It prints a prompt only when in is a terminal. It returns nil at the end
// of the input, ctx.Err() when ctx ends first, or an error reading in or
// writing out.
func Run(ctx context.Context, bot *commands.Bot, in io.Reader, out io.Writer, opts Options) error {
	if bot == nil {
		return errors.New("console: no bot")
	}
	return newSession(ctx, bot, in, out, opts).start(ctx)
}

// start runs the session: the banner on a terminal, the scheduler when
// asked for, and the command lines until the input ends.
func (s *session) start(ctx context.Context) error {
	opts := s.opts
	defer s.in.stop()

	// The scheduler stops when the input ends, after the jobs it is doing:
	// canceling them would leave them to be retried when their lease ends.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if opts.DueEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.schedule(ctx, opts.DueEvery, stop)
		}()
	}
	if s.tty {
		w := words(s.bot, s.language())
		s.out.print(fmt.Sprintf(w.banner, opts.Org, s.userLabel()) + "\n" + w.bannerHelp + "\n\n")
	}
	err := s.loop(ctx)
	close(stop)
	wg.Wait()
	if err == nil {
		err = s.out.failed()
	}
	return err
}

// session is one run of the console.
type session struct {
	bot     *commands.Bot
	opts    Options
	user    commands.Member
	members commands.Directory
	out     *printer
	in      *lineReader
	tty     bool
	log     *slog.Logger
	// due serializes runs of the scheduler: the run after a command waits
	// for a periodic run that may have claimed its jobs, so that what the
	// command caused is done before the next command.
	due sync.Mutex

	// buttons of the latest answer, clicked by number (loop goroutine only).
	buttons []commands.Button
	// sender delivers the organization's outbox to the session (nil: not
	// this console's job).
	sender *outbox.Sender

	mu   sync.Mutex
	lang string // of the latest answer; the scheduler writes in it too
}

func newSession(ctx context.Context, bot *commands.Bot, in io.Reader, out io.Writer, opts Options) *session {
	s := &session{
		bot: bot, opts: opts, members: opts.Members, log: opts.Log,
		out: &printer{w: out}, in: newLineReader(in), tty: isTerminal(in),
		lang: langOf(opts.Locale),
	}
	if s.members == nil {
		s.members = DemoPeople()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if opts.DueEvery > 0 && opts.Store != nil {
		s.sender = outbox.New(opts.Store, []commands.Notifier{s}, outbox.Config{Log: s.log})
	}
	s.user = commands.Member{ID: opts.User, Name: opts.Name}
	if s.user.Name == "" {
		if m, err := s.members.Member(ctx, opts.User); err == nil {
			s.user.Name = m.Name
		} else {
			s.user.Name = opts.User
		}
	}
	return s
}

func (s *session) userLabel() string {
	if s.user.Name != "" && s.user.Name != s.user.ID {
		return fmt.Sprintf("%s (%s)", s.user.ID, s.user.Name)
	}
	return s.user.ID
}

// langOf is the language a platform locale asks for, "de" or "en".
func langOf(locale string) string {
	if l := strings.ToLower(locale); l == "de" || strings.HasPrefix(l, "de-") || strings.HasPrefix(l, "de_") {
		return "de"
	}
	return "en"
}

func (s *session) language() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lang
}

func (s *session) setLanguage(lang string) {
	if lang == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lang = lang
}

// isTerminal reports whether r is a terminal (a character device).
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// loop reads and runs command lines.
func (s *session) loop(ctx context.Context) error {
	for {
		if s.tty {
			s.out.print("> ")
		}
		line, err := s.in.next(ctx)
		if errors.Is(err, io.EOF) {
			if s.tty {
				s.out.print("\n" + words(s.bot, s.language()).stopped + "\n")
			}
			return nil
		}
		if err != nil {
			return err
		}
		// Read as it looks, as the bot reads it (commands.StripFormatChars):
		// "\u200bquit" quits, and "\u200b1" clicks button 1.
		line = strings.TrimSpace(commands.StripFormatChars(line))
		if line == "" {
			continue
		}
		if quits(line) {
			if s.tty {
				s.out.print(words(s.bot, s.language()).stopped + "\n")
			}
			return nil
		}
		if n, ok := buttonNumber(line); ok && len(s.buttons) > 0 {
			err = s.click(ctx, n)
		} else {
			err = s.run(ctx, line)
		}
		if errors.Is(err, io.EOF) {
			return nil // the input ended inside a form
		}
		if err != nil {
			return err
		}
		if s.opts.DueEvery > 0 {
			s.runDue(ctx)
		}
		if err := s.out.failed(); err != nil {
			return err
		}
	}
}

// quits reports whether a line ends the console: "quit", "exit" or
// "beenden", in either language and any case. They are no commands of the
// bot, in either language.
func quits(line string) bool {
	switch strings.ToLower(line) {
	case "quit", "exit", "beenden":
		return true
	}
	return false
}

// buttonNumber reads a line that is just a small number.
func buttonNumber(line string) (int, bool) {
	if len(line) > 3 {
		return 0, false
	}
	n, err := strconv.Atoi(line)
	return n, err == nil && n >= 0 && strings.TrimLeft(line, "0123456789") == ""
}

// click runs the command of the latest answer's button n (from 1).
func (s *session) click(ctx context.Context, n int) error {
	w := words(s.bot, s.language())
	if n < 1 || n > len(s.buttons) {
		s.out.print(fmt.Sprintf(w.noButton, n) + "\n")
		return nil
	}
	bt := s.buttons[n-1]
	if bt.URL != "" {
		s.out.print(fmt.Sprintf(w.openURL, bt.URL) + "\n")
		return nil
	}
	s.out.print("» " + target(bt) + "\n")
	return s.run(ctx, bt.Command)
}

// request is a request of the console's user, to be completed.
func (s *session) request() commands.Request {
	return commands.Request{Org: s.opts.Org, User: s.user, Locale: s.opts.Locale, Admin: s.opts.Admin, Members: s.members,
		Command: command}
}

// run sends a command line to the bot and shows the answer.
func (s *session) run(ctx context.Context, line string) error {
	req := s.request()
	req.Text = line
	resp, err := s.bot.Handle(ctx, req)
	return s.show(ctx, resp, err)
}

// show prints a response: its messages (whose buttons become clickable),
// its notifications, and then walks its form or asks its confirmation.
func (s *session) show(ctx context.Context, resp commands.Response, err error) error {
	if err != nil {
		s.log.Error("console: handle", "org", s.opts.Org, "user", s.user.ID, "err", err)
	}
	s.setLanguage(resp.Lang)
	if resp.Confirm != nil && len(resp.Messages) > 0 {
		return s.confirm(ctx, resp)
	}
	if len(resp.Messages) > 0 {
		var b strings.Builder
		s.buttons = renderResponse(&b, localButtons(s.bot, resp.Lang, resp.Messages))
		b.WriteByte('\n')
		s.out.print(b.String())
	}
	s.deliver(ctx)
	if resp.Form != nil {
		return s.walk(ctx, resp.Form)
	}
	return nil
}

// confirm shows the preview of a change (resp.Messages[0]: what it costs)
// and asks y/n whether to make it, in the words of the platforms' Yes
// button ("Pay €63.00?"); the Yes and No buttons themselves are not
// listed, the question stands for them. Yes runs Confirm.Yes as a command
// line and shows its answer; no (or a close word) closes the form, and
// nothing is changed; anything else asks again. It returns io.EOF when the
// input ends before an answer (nothing is changed then either).
func (s *session) confirm(ctx context.Context, resp commands.Response) error {
	w := words(s.bot, s.language())
	c := resp.Confirm
	msgs := append([]commands.Message(nil), resp.Messages...)
	label := ""
	var rest []commands.Button
	for _, bt := range msgs[0].Buttons {
		switch {
		case bt.URL == "" && bt.Command == c.Yes:
			if label == "" {
				label = bt.Label
			}
		case bt.URL == "" && bt.Command == c.No:
		default:
			rest = append(rest, bt)
		}
	}
	msgs[0].Buttons = rest
	if label == "" {
		label = s.bot.Text(s.language(), "FieldConfirm")
	}
	var b strings.Builder
	s.buttons = renderResponse(&b, msgs)
	b.WriteByte('\n')
	s.out.print(b.String())
	s.deliver(ctx)

	prompt := label
	if !strings.HasSuffix(prompt, "?") {
		prompt += "?"
	}
	prompt += " (" + w.yesNo + "): "
	for {
		line, err := s.answer(ctx, prompt)
		if stop, err := s.stopped(err, w); stop {
			return err
		}
		yes, ok := yesOrNo(line)
		switch {
		case ok && yes:
			return s.run(ctx, c.Yes)
		case ok:
			s.out.print(w.abandoned + "\n\n")
			return nil
		case commands.HoldsCardNumber(line):
			s.out.print("  ! " + s.bot.Text(s.language(), "ErrCardInChat") + "\n")
		case line != "":
			s.out.print("  ! " + fmt.Sprintf(w.notAChoice, line) + "\n")
		}
	}
}

// deliver prints what waits in the organization's outbox.
func (s *session) deliver(ctx context.Context) {
	if s.sender == nil {
		return
	}
	if err := s.sender.Drain(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("console: notifications", "err", err)
	}
}

// Owns and Notify make the session the notifier of its organization: a
// notification is printed, for the admins in the organization's language
// (as in an admin channel), to a user in theirs.
func (s *session) Owns(org string) bool { return org == s.opts.Org }

func (s *session) Notify(ctx context.Context, n commands.Notification) error {
	locale := ""
	if n.To == s.user.ID {
		locale = langOf(s.opts.Locale) // the console's user always has a locale: en unless told
	}
	lang, err := s.bot.NotificationLang(ctx, n.Org, n.To, locale)
	if err != nil {
		return err
	}
	var b strings.Builder
	m := s.bot.RenderNotification(n, lang)
	m.Buttons = localButtons(s.bot, lang, []commands.Message{m})[0].Buttons
	renderNotification(&b, n, m)
	b.WriteByte('\n')
	s.out.notice(b.String())
	return nil
}

// schedule runs the bot's due jobs every so often and prints what they
// have to say.
func (s *session) schedule(ctx context.Context, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.runDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// runDue does the jobs that are due and prints their notifications.
func (s *session) runDue(ctx context.Context) {
	s.due.Lock()
	defer s.due.Unlock()
	if _, err := s.bot.RunDue(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("console: scheduled jobs", "err", err)
	}
	s.deliver(ctx)
}

// newKey returns a random idempotency key for one form.
func newKey() string { return "console-" + commands.NewID() }

// printer writes to the console's output; the scheduler writes from
// another goroutine, so each piece is written whole under a lock.
type printer struct {
	mu  sync.Mutex
	w   io.Writer
	err error // the first write error; nothing is written after it
	// open is what was printed since the last line's end: a prompt that
	// waits for the user's answer ("" when none).
	open string
}

func (p *printer) print(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.write(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		p.open = s[i+1:]
	} else {
		p.open += s
	}
}

// notice prints s, whole lines that may come at any time (a notification):
// a prompt that waits for the user's answer is ended first and printed
// again after s, so that the answer still follows it.
func (p *printer) notice(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open == "" {
		p.write(s)
		return
	}
	p.write("\n" + s + p.open)
}

func (p *printer) write(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, s)
	}
}

func (p *printer) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return fmt.Errorf("console: write: %w", p.err)
	}
	return nil
}

// lineReader reads lines in a goroutine, so that reading can be abandoned
// when the context ends (a terminal read cannot be interrupted).
type lineReader struct {
	lines chan string
	done  chan struct{}
	once  sync.Once
	err   error // set before lines is closed
}

// maxLineBytes is the longest line the console reads.
const maxLineBytes = 1 << 20

func newLineReader(r io.Reader) *lineReader {
	lr := &lineReader{lines: make(chan string), done: make(chan struct{})}
	go func() {
		defer close(lr.lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
		for sc.Scan() {
			select {
			case lr.lines <- strings.TrimSuffix(sc.Text(), "\r"):
			case <-lr.done:
				return
			}
		}
		if err := sc.Err(); err != nil {
			lr.err = fmt.Errorf("console: read: %w", err)
		}
	}()
	return lr
}

// next returns the next line, io.EOF at the end of the input, or the
// context's error.
func (lr *lineReader) next(ctx context.Context) (string, error) {
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case l, ok := <-lr.lines:
		if !ok {
			if lr.err != nil {
				return "", lr.err
			}
			return "", io.EOF
		}
		return l, nil
	}
}

// stop lets the reading goroutine end (unless it is blocked reading).
func (lr *lineReader) stop() { lr.once.Do(func() { close(lr.done) }) }
