package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

// clock is a settable time for the bot.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testBot is a real bot on miniredis with the demo catalog and the sandbox
// gateway, reading time from a clock that tests can move.
type testBot struct {
	bot   *commands.Bot
	store *store.Store
	clock *clock
	addr  string // of the Redis
	// logs is what the bot logged, at every level.
	logs *logBuffer
}

// logBuffer is a log that the bot's goroutines and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestBot(t *testing.T) *testBot {
	t.Helper()
	return newTestBotAt(t, miniredis.RunT(t).Addr())
}

// newTestBotAt is newTestBot on the Redis at addr.
func newTestBotAt(t *testing.T, addr string) *testBot {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	st := store.New(rdb)
	clk := &clock{now: time.Now().UTC()}
	logs := &logBuffer{}
	quiet := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := commands.New(st, catalog.Demo(), payment.NewSandbox(),
		commands.Config{PublicURL: "http://localhost:8080"}, commands.WithClock(clk.Now), commands.WithLogger(quiet))
	if err != nil {
		t.Fatalf("commands.New: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the logs of the bot and the console:\n%s", logs.String())
		}
	})
	return &testBot{bot: b, store: st, clock: clk, addr: addr, logs: logs}
}

// seedCard gives a user a sandbox card through the payment link, as the
// payment page would.
func (tb *testBot) seedCard(t *testing.T, org, user, name string) {
	t.Helper()
	ctx := context.Background()
	now := tb.clock.Now()
	token, err := tb.store.CreatePayLink(ctx, store.PayLink{Org: org, User: user, ProfileID: "default", Lang: "en",
		Expires: now.Add(10 * time.Minute)}, 10*time.Minute)
	if err != nil {
		t.Fatalf("CreatePayLink: %v", err)
	}
	if _, err := tb.bot.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "123",
		ExpMonth: 12, ExpYear: now.Year() + 3, Name: name, Address: "Demo Street 1, 10115 Berlin"}); err != nil {
		t.Fatalf("CompletePayLink: %v", err)
	}
}

// run runs the console on a script and returns what it printed.
func (tb *testBot) run(t *testing.T, script string, opts Options) string {
	t.Helper()
	if opts.Org == "" {
		opts.Org = "demo"
	}
	if opts.User == "" {
		opts.User = "alice"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(tb.logs, nil))
	}
	if opts.Store == nil {
		opts.Store = tb.store
	}
	var out strings.Builder
	if err := Run(context.Background(), tb.bot, strings.NewReader(script), &out, opts); err != nil {
		t.Fatalf("Run: %v\noutput:\n%s", err, out.String())
	}
	return out.String()
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q\noutput:\n%s", w, out)
		}
	}
}

func mustNotContain(t *testing.T, out string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(out, w) {
			t.Errorf("output has %q\noutput:\n%s", w, out)
		}
	}
}

func TestHelp(t *testing.T) {
	tb := newTestBot(t)
	tests := []struct {
		name, script string
		opts         Options
		want         []string
	}{
		{"with /billing", "/billing help\n", Options{},
			[]string{"billingbot\n==========\n", "Command", "What it does", "/billing buy [product] [count]", "What billingbot can do"}},
		{"without /billing", "help\n", Options{}, []string{"/billing assign [subscription] [users]"}},
		{"admins see admin", "help\n", Options{Admin: true}, []string{"/billing admin channel #name", "/billing admin language de|en|auto"}},
		{"German", "/abrechnung hilfe\n", Options{Locale: "de"},
			[]string{"Befehl", "Was billingbot kann", "/billing kaufen [produkt] [anzahl]", "/billing zuweisen [abonnement] [benutzer]"}},
		{"German locale with region", "help\n", Options{Locale: "de-DE"}, []string{"Lizenzen für ein Produkt kaufen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := tb.run(t, tt.script, tt.opts)
			mustContain(t, out, tt.want...)
			// Not a terminal: no prompt, no banner.
			mustNotContain(t, out, "> ", "billingbot console:")
		})
	}
	t.Run("members do not see admin", func(t *testing.T) {
		mustNotContain(t, tb.run(t, "help\n", Options{}), "/billing admin")
	})
}

func TestSkipsBlankLinesAndQuits(t *testing.T) {
	tb := newTestBot(t)
	out := tb.run(t, "\n   \nsupport\nquit\nhelp\n", Options{})
	mustContain(t, out, "Support")
	mustNotContain(t, out, "What billingbot can do")
}

func TestUnknownCommand(t *testing.T) {
	tb := newTestBot(t)
	mustContain(t, tb.run(t, "frobnicate\n", Options{}), "I don't know the command “frobnicate”")
}

// TestBuyAssignProducts walks a purchase through its form, assigns two
// licenses by name and looks at the result.
func TestBuyAssignProducts(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	script := strings.Join([]string{
		"/billing buy visio 5",
		"",  // product: keep Visio Plan 2
		"",  // licenses: keep 5
		"2", // period: annual
		"",  // payment method: keep the card
		"y", // pay
		"assign",
		"",           // subscription: keep the only one
		"alice, bob", // people
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Buy licenses\n------------\n",
		"Product – Choose a number [Visio Plan 2]: \n",
		"Licenses (1–10,000) [5]: \n",
		"Billing period – Choose a number [monthly]: 2\n",
		"Visa •••• 4242",
		"Payment in progress",
		"You are buying 5 licenses of Visio Plan 2 for €756.00 per year.",
		"Test mode — no real money.",
		"[notification to @alice] Payment received",
		"has gone through: the subscription now has 5 licenses.",
		"  - Assign licenses       → /billing assign ",
		"[admin notification] New self-service purchase",
		"  Alice Adams bought 5 licenses of Visio Plan 2.",
		"Assign licenses\n---------------\n",
		"People – Names or @mentions, comma-separated: alice, bob\n",
		"Licenses assigned",
		"Visio Plan 2 is now assigned to Alice Adams, Bob Brown.",
		"Your products",
		"Licenses: 2 of 5 assigned",
		"Assigned users: Alice Adams, Bob Brown",
	)
	mustNotContain(t, out, "4242424242424242", "! ")
}

// TestFieldErrorAsksAgain answers a form wrongly: the error appears under
// its field, only that field is asked again, and the other answers are
// kept.
func TestFieldErrorAsksAgain(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	script := strings.Join([]string{
		"buy visio 5",
		"",  // product
		"0", // licenses: too few
		"2", // period: annual, to be kept
		"",  // payment method
		"3", // licenses again
		"y", // pay
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Licenses\n  ! Enter a whole number from 1 to 10,000.\n",
		"You are buying 3 licenses of Visio Plan 2 for €453.60 per year.",
		"You have 1 product.",
	)
	if n := strings.Count(out, "Billing period – Choose a number"); n != 1 {
		t.Errorf("billing period asked %d times, want 1\noutput:\n%s", n, out)
	}
	if n := strings.Count(out, "Licenses (1–10,000) [5]: "); n != 2 {
		t.Errorf("licenses asked %d times, want 2\noutput:\n%s", n, out)
	}
}

func TestFieldErrorGerman(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	// An admin: the first admin's locale is the organization's, which
	// admin notifications are written in.
	out := tb.run(t, "kaufen visio 3\n\n0\n\n\n2\nj\n", Options{Locale: "de", Admin: true, DueEvery: time.Hour})
	mustContain(t, out,
		"Lizenzen kaufen\n---------------\n",
		"Produkt – Nummer wählen [Visio Plan 2]: ",
		"  ! Geben Sie eine ganze Zahl von 1 bis 10.000 ein.\n",
		"Zahlung wird ausgeführt",
		"Sie kaufen 2 Lizenzen von Visio Plan 2",
		"Testmodus – kein echtes Geld.",
		"[notification to @alice] Zahlung eingegangen",
		"[admin notification] Neuer Self-Service-Kauf",
	)
}

func TestUsersAreCheckedByTheBot(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	script := strings.Join([]string{
		"buy visio 3", "", "", "", "", "y",
		"assign visio",
		"",                                 // subscription
		"mallory, buildbot, Zed Zulu",      // none can hold a license
		"@carol, Dave Davis, <@erin>, bob", // four for three licenses
		"carol dave erin",                  // three, by id, space-separated
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Mallory Moore is deactivated.",
		"Build Bot is an app, not a person.",
		"Zed Zulu is not a member of your organization.",
		"Only 3 licenses free; you chose 4 people.",
		"Visio Plan 2 is now assigned to Carol Clark, Dave Davis, Erin Evans.",
	)
}

// TestButtonByNumber clicks buttons of the latest answer by their number.
func TestButtonByNumber(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	script := strings.Join([]string{
		"buy visio 2", "", "", "", "", "y",
		"products",
		"1",     // [1] Assign licenses
		"",      // subscription
		"heidi", // people
		"9",     // no such button
		"payment",
		"4", // [4] Add (after Edit, Replace, Remove): answers with a payment link
		"1", // [1] Open payment page: a URL to open
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"» /billing assign ",
		"Visio Plan 2 is now assigned to Heidi Hill.",
		"There is no button 9.",
		"Open this in your browser: http://localhost:8080/pay/",
	)
}

func TestPaymentLinkButton(t *testing.T) {
	tb := newTestBot(t)
	out := tb.run(t, "payment\n", Options{})
	if !regexp.MustCompile(`(?m)\[1\] \S.* → /billing payment add$`).MatchString(out) {
		t.Errorf("no numbered add button\noutput:\n%s", out)
	}
	out = tb.run(t, "payment add\n1\n", Options{})
	mustContain(t, out, "[1] ", "→ http://localhost:8080/pay/", "Open this in your browser: http://localhost:8080/pay/")
}

func TestNoPaymentMethodClosesForm(t *testing.T) {
	tb := newTestBot(t)
	out := tb.run(t, "buy visio 2\n\n\n\nproducts\n", Options{})
	mustContain(t, out,
		"You have no payment method yet.",
		"Choose a payment method.",
		"This form cannot be completed as it is.",
		"Form closed; nothing was changed.",
		"You have no subscriptions yet.",
	)
}

func TestCancelAtPrompt(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy visio 2\n\nclose\nproducts\n", Options{})
	mustContain(t, out, "Form closed; nothing was changed.", "You have no subscriptions yet.")
	mustNotContain(t, out, "Purchase complete")
}

func TestEOFInsideForm(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy visio 5\n\n", Options{}) // Run fails the test on an error
	mustContain(t, out, "Licenses (1–10,000) [5]: \nForm closed; nothing was changed.\n")
	mustNotContain(t, out, "Purchase complete")
	mustNotContain(t, tb.run(t, "products\n", Options{}), "Visio Plan 2")
}

// TestCancelSubscription walks a form with a select without default, a
// paragraph and a confirmation: the reason the bot refuses is asked again,
// the confirmation already given is kept.
func TestCancelSubscription(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	script := strings.Join([]string{
		"buy copilot 1", "", "", "", "", "y",
		"cancel copilot",
		"",              // subscription
		"",              // reason: none chosen
		"",              // feedback
		"y",             // confirmed
		"too expensive", // reason again, by label
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Yes, cancel this subscription (y/n) [n]: y\n",
		"Reason for cancellation\n  ! Choose a reason for the cancellation.\n",
		"Subscription canceled",
		"Microsoft 365 Copilot is canceled.",
		"[admin notification] ",
		"Status: canceled",
	)
	if n := strings.Count(out, "Yes, cancel this subscription (y/n)"); n != 1 {
		t.Errorf("confirmation asked %d times, want 1\noutput:\n%s", n, out)
	}
}

// TestConfirmNoClosesForm answers a form's confirmation with no: the
// console asks y/n, so no closes the form and nothing is changed (there is
// no box to tick, and none is spoken of).
func TestConfirmNoClosesForm(t *testing.T) {
	tests := []struct {
		name, answers, locale string
		want                  []string
	}{
		{"n", "n", "en", []string{"Yes, cancel this subscription (y/n) [n]: n\nForm closed; nothing was changed.\n"}},
		{"no in capitals", "NO", "en", []string{"(y/n) [n]: NO\nForm closed; nothing was changed.\n"}},
		{"Enter keeps no", "", "en", []string{"(y/n) [n]: \nForm closed; nothing was changed.\n"}},
		{"German nein", "nein", "de", []string{"Ja, dieses Abonnement kündigen (j/n) [n]: nein\nFormular geschlossen; es wurde nichts geändert.\n"}},
		{"German n", "n", "de", []string{"(j/n) [n]: n\nFormular geschlossen; es wurde nichts geändert.\n"}},
		{"English no in German", "no", "de", []string{"(j/n) [n]: no\nFormular geschlossen"}},
		{"anything else asks again", "vielleicht\nnein", "de",
			[]string{"(j/n) [n]: vielleicht\n  ! „vielleicht“ ist keine der Möglichkeiten.\n", "(j/n) [n]: nein\nFormular geschlossen"}},
		{"close word", "close", "en", []string{"(y/n) [n]: close\nForm closed; nothing was changed.\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBot(t)
			tb.seedCard(t, "demo", "alice", "Alice Adams")
			tb.run(t, "buy copilot 1\n\n\n\n\ny\n", Options{DueEvery: time.Hour})
			// subscription, reason, feedback, then the confirmation
			out := tb.run(t, "cancel copilot\n\n1\n\n"+tt.answers+"\nproducts\n", Options{Locale: tt.locale, DueEvery: time.Hour})
			mustContain(t, out, tt.want...)
			mustNotContain(t, out, "Tick", "Häkchen", "Subscription canceled", "Abonnement gekündigt", "[admin notification]")
			mustContain(t, out, map[string]string{"en": "Status: active", "de": "Status: aktiv"}[tt.locale])
		})
	}
}

// TestSchedulerNotifications moves the clock past a trial's reminder and
// end: the console runs the due jobs and prints what they say.
func TestSchedulerNotifications(t *testing.T) {
	tb := newTestBot(t)
	// Without the scheduler the console leaves notifications in the outbox
	// (for the replicas that serve a shared Redis) …
	out := tb.run(t, "trial visio\n\n", Options{})
	mustContain(t, out, "Trial started")
	mustNotContain(t, out, "[admin notification]")
	// … with it, it delivers them, once.
	out = tb.run(t, "help\n", Options{DueEvery: time.Hour})
	mustContain(t, out, "[admin notification] Trial started")
	out = tb.run(t, "help\n", Options{DueEvery: time.Hour})
	mustNotContain(t, out, "[admin notification]")

	tb.clock.Add(24 * 24 * time.Hour) // past the reminder a week before the end
	out = tb.run(t, "help\n", Options{DueEvery: time.Hour})
	mustContain(t, out, "[notification to @alice] Your trial ends soon", "- Convert to subscription")

	tb.clock.Add(7 * 24 * time.Hour) // past the end
	out = tb.run(t, "hilfe\n", Options{DueEvery: time.Hour, Locale: "de"})
	// Admin notifications are in the organization's language, which no
	// admin has given yet: English, whatever the member's language.
	mustContain(t, out, "[admin notification] Subscription expired")
}

// TestOrgLanguageConsole: an admin sets the organization's language; admin
// notifications are written in it, while the user's own notifications
// and answers stay in the user's language.
func TestOrgLanguageConsole(t *testing.T) {
	tb := newTestBot(t)
	out := tb.run(t, "admin sprache de\nadmin\ntrial visio\n\n", Options{Admin: true, DueEvery: time.Hour})
	mustContain(t, out,
		"Notifications in channels are now written in German.",
		"Language of notifications in channels: German",
		"Trial started\n=============",
		"[admin notification] Testversion gestartet\n  Alice Adams hat eine Testversion von Visio Plan 2 gestartet.",
	)
	tb.clock.Add(24 * 24 * time.Hour) // past the reminder
	out = tb.run(t, "help\n", Options{Admin: true, DueEvery: time.Hour})
	mustContain(t, out, "[notification to @alice] Your trial ends soon")
}

func TestConcurrentOutputIsWhole(t *testing.T) {
	// The scheduler prints from its own goroutine: with -race this checks
	// that the printer is safe, and each piece arrives whole.
	var p printer
	var b strings.Builder
	p.w = &b
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.print(strings.Repeat(string(rune('a'+i)), 50) + "\n")
		}()
	}
	wg.Wait()
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if len(l) != 50 || strings.Count(l, l[:1]) != 50 {
			t.Errorf("torn line %q", l)
		}
	}
}

func TestContextEnds(t *testing.T) {
	tb := newTestBot(t)
	r, w := io.Pipe() // never written: Run waits for a line
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, tb.bot, r, io.Discard, Options{Org: "demo", User: "alice"}) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}

func TestDemoPeople(t *testing.T) {
	p := DemoPeople()
	tests := []struct {
		ref    string
		wantID string // "" wants ErrNoMember
	}{
		{"alice", "alice"},
		{"@bob", "bob"},
		{"<@carol>", "carol"},
		{"<@dave|Dave>", "dave"},
		{"Erin Evans", "erin"},
		{"  frank   FOSTER ", "frank"},
		{"GRACE", "grace"},
		{"buildbot", "buildbot"},
		{"mallory", "mallory"},
		{"Alice", "alice"},
		{"Adams", ""},
		{"@", ""},
		{"", ""},
		{"zed", ""},
		{"<@zed>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			m, err := p.Member(context.Background(), tt.ref)
			if tt.wantID == "" {
				if !errors.Is(err, commands.ErrNoMember) {
					t.Errorf("Member(%q) = %+v, %v; want ErrNoMember", tt.ref, m, err)
				}
				return
			}
			if err != nil || m.ID != tt.wantID {
				t.Errorf("Member(%q) = %+v, %v; want id %q", tt.ref, m, err, tt.wantID)
			}
		})
	}
	humans := 0
	for _, m := range p.Members() {
		if !m.Bot && !m.Gone {
			humans++
		}
	}
	if humans != 8 {
		t.Errorf("%d humans, want 8", humans)
	}
	if m, _ := p.Member(context.Background(), "buildbot"); !m.Bot {
		t.Errorf("buildbot is not a bot")
	}
	if m, _ := p.Member(context.Background(), "mallory"); !m.Gone {
		t.Errorf("mallory is not deactivated")
	}
}

// TestCloseWords closes forms with "close" or "abbrechen", in either
// language; "cancel" is a command (the cancel form), so inside a form it is
// an answer like any other, and the form's banner names the close word.
func TestCloseWords(t *testing.T) {
	tests := []struct {
		name, locale, answers string
		want                  []string
	}{
		{"close", "en", "close", []string{
			"Press Enter to keep the value in [brackets]; type “close” to close the form.\n",
			"Product – Choose a number [Visio Plan 2]: close\nForm closed; nothing was changed.\n"}},
		{"close in capitals", "en", "CLOSE", []string{"[Visio Plan 2]: CLOSE\nForm closed; nothing was changed.\n"}},
		{"abbrechen in English", "en", "abbrechen", []string{"[Visio Plan 2]: abbrechen\nForm closed; nothing was changed.\n"}},
		{"cancel is no close word", "en", "cancel\nclose", []string{
			"[Visio Plan 2]: cancel\n  ! “cancel” is not one of the choices.\n",
			"[Visio Plan 2]: close\nForm closed; nothing was changed.\n"}},
		{"abbrechen", "de", "abbrechen", []string{
			"Mit Enter übernehmen Sie den Wert in [Klammern]; mit „abbrechen“ schließen Sie das Formular.\n",
			"Produkt – Nummer wählen [Visio Plan 2]: abbrechen\nFormular geschlossen; es wurde nichts geändert.\n"}},
		{"close in German", "de", "close", []string{"[Visio Plan 2]: close\nFormular geschlossen; es wurde nichts geändert.\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestBot(t)
			tb.seedCard(t, "demo", "alice", "Alice Adams")
			out := tb.run(t, "buy visio 2\n"+tt.answers+"\nproducts\n", Options{Locale: tt.locale, DueEvery: time.Hour})
			mustContain(t, out, tt.want...)
			mustContain(t, out, map[string]string{"en": "You have no subscriptions yet.", "de": "Sie haben noch keine Abonnements."}[tt.locale])
			mustNotContain(t, out, "cancel” to close", "„cancel“")
		})
	}
}

// TestQuitWords ends the console with quit, exit or beenden, in any case
// and either language; on a terminal with a goodbye in the user's
// language, after a banner that names the word.
func TestQuitWords(t *testing.T) {
	tb := newTestBot(t)
	for _, word := range []string{"quit", "exit", "beenden", "Beenden", "QUIT"} {
		t.Run(word, func(t *testing.T) {
			out := tb.run(t, "support\n"+word+"\nhelp\n", Options{Locale: "de"})
			mustContain(t, out, "Support")
			mustNotContain(t, out, "Was billingbot kann", "Ich kenne den Befehl")
		})
	}
	tests := []struct {
		locale, script string
		want           []string
	}{
		{"de", "beenden\n", []string{
			"billingbot-Konsole: Organisation „demo“, Benutzer alice (Alice Adams)\n",
			"mit „beenden“ verlassen Sie die Konsole.\n",
			"> Auf Wiedersehen.\n"}},
		{"de", "", []string{"> \nAuf Wiedersehen.\n"}},
		{"en", "quit\n", []string{"a button's number to click it, or “quit” to leave.\n", "> Goodbye.\n"}},
	}
	for _, tt := range tests {
		t.Run("terminal "+tt.locale+" "+strings.TrimSpace(tt.script), func(t *testing.T) {
			var out strings.Builder
			s := newSession(context.Background(), tb.bot, strings.NewReader(tt.script), &out,
				Options{Org: "demo", User: "alice", Locale: tt.locale, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			s.tty = true // as on a terminal
			if err := s.start(context.Background()); err != nil {
				t.Fatalf("start: %v", err)
			}
			mustContain(t, out.String(), tt.want...)
			mustNotContain(t, out.String(), "Tschüss", "oder quit")
		})
	}
}

// TestNumberLimits shows a number input's limits in the user's number
// format.
func TestNumberLimits(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy visio 5\n\nclose\n", Options{})
	mustContain(t, out, "Licenses (1–10,000) [5]: ")
	out = tb.run(t, "kaufen visio 5\n\nabbrechen\n", Options{Locale: "de"})
	mustContain(t, out, "Lizenzen (1–10.000) [5]: ")
	mustNotContain(t, out, "10000")
	// A year is a year in either language, not a number with a thousands
	// separator.
	year := tb.clock.Now().Year()
	out = tb.run(t, "zahlung\n1\n\n\nabbrechen\n", Options{Locale: "de"})
	mustContain(t, out, fmt.Sprintf("Ablaufjahr (%d–%d) [", year, year+20))
	out = tb.run(t, "payment\n1\n\n\nclose\n", Options{})
	mustContain(t, out, fmt.Sprintf("Expiry year (%d–%d) [", year, year+20))
}

// TestInformationBeforeQuestions shows every form's information (what a
// purchase costs, how many licenses are free, what a cancellation keeps,
// what a subscription has now) before its first question.
func TestInformationBeforeQuestions(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	tb.run(t, "buy visio 5\n\n\n\n\ny\nassign visio\n\nalice\n", Options{DueEvery: time.Hour})
	tests := []struct {
		name, script string
		info         []string // the information, in order
		question     string   // the first question
	}{
		{"buy", "buy visio 3\nclose\n", []string{"Purchase price: "}, "Product\n"},
		{"assign", "assign visio\nclose\n", []string{"Free licenses: "}, "Subscription\n"},
		{"licenses", "licenses visio\nclose\n", []string{"Now: "}, "Subscription\n"},
		{"cancel", "cancel visio\nclose\n", []string{"What you keep: "}, "Subscription\n"},
		{"unassign", "unassign visio\nclose\n", nil, "Subscription\n"},
		{"buy without a payment method", "buy visio 3\nclose\n", []string{"Payment method: ", "Purchase price: "}, "Product\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{}
			if tt.name == "buy without a payment method" {
				opts.User, opts.Name = "bob", "Bob Brown"
			}
			out := tb.run(t, tt.script, opts)
			q := strings.Index(out, tt.question)
			help := strings.Index(out, "Press Enter to keep")
			if q < 0 || help < 0 || help > q {
				t.Fatalf("no help before the first question %q\noutput:\n%s", tt.question, out)
			}
			at := 0
			for _, info := range tt.info {
				i := strings.Index(out[at:], info)
				if i < 0 || at+i > help {
					t.Errorf("%q not before the first question, after what comes before it\noutput:\n%s", info, out)
					continue
				}
				at += i
			}
			if n := strings.Count(out, "Press Enter to keep"); n != 1 {
				t.Errorf("form help %d times, want 1\noutput:\n%s", n, out)
			}
		})
	}
}

// TestConfirmChange shows a change's preview and asks y/n in the words of
// its Yes button: yes runs Confirm.Yes through the bot and shows its
// answer, no closes the form, anything else asks again.
func TestConfirmChange(t *testing.T) {
	tb := newTestBot(t)
	preview := func(lang, pay string) commands.Response {
		return commands.Response{Lang: lang, Confirm: &commands.Confirm{Yes: "products", No: "buy visio 5"},
			Messages: []commands.Message{{Title: "Preview", Text: "5 licenses of Visio Plan 2: " + pay,
				Buttons: []commands.Button{
					{Label: "Pay " + pay, Command: "products", Style: commands.StylePrimary},
					{Label: "Back", Command: "buy visio 5"},
					{Label: "Terms", URL: "https://example.com/terms"},
				}}}}
	}
	tests := []struct {
		name, lang, input string
		want, unwanted    []string
		eof               bool
	}{
		{"yes", "en", "y\n", []string{
			"Preview\n=======\n5 licenses of Visio Plan 2: €63.00\n\n[1] Terms → https://example.com/terms\n\n",
			"Pay €63.00? (y/n): y\n",
			"You have no subscriptions yet."}, []string{"Back", "[2]", "Form closed"}, false},
		{"yes in words", "en", "Yes\n", []string{"You have no subscriptions yet."}, nil, false},
		{"German ja", "de", "JA\n", []string{"63,00 € bezahlen? (j/n): JA\n", "Sie haben noch keine Abonnements."}, nil, false},
		{"German j", "de", "j\n", []string{"Sie haben noch keine Abonnements."}, nil, false},
		{"no", "en", "n\n", []string{"Pay €63.00? (y/n): n\nForm closed; nothing was changed.\n"}, []string{"You have no"}, false},
		{"nein", "de", "nein\n", []string{"(j/n): nein\nFormular geschlossen; es wurde nichts geändert.\n"}, []string{"Sie haben noch"}, false},
		{"no in English to German", "de", "No\n", []string{"Formular geschlossen"}, []string{"Sie haben noch"}, false},
		{"close word", "de", "abbrechen\n", []string{"Formular geschlossen"}, []string{"Sie haben noch"}, false},
		{"anything else asks again", "en", "maybe\n\ny\n", []string{
			"Pay €63.00? (y/n): maybe\n  ! “maybe” is not one of the choices.\nPay €63.00? (y/n): \nPay €63.00? (y/n): y\n",
			"You have no subscriptions yet."}, nil, false},
		{"a card number is not repeated", "en", "4242 4242 4242 4242\nn\n", []string{"  ! Never enter a card number in chat."},
			[]string{"“4242"}, false},
		{"input ends", "en", "", []string{"Pay €63.00? (y/n): \nForm closed; nothing was changed.\n"}, []string{"You have no"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			s := newSession(context.Background(), tb.bot, strings.NewReader(tt.input), &out,
				Options{Org: "demo", User: "alice", Locale: tt.lang, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			defer s.in.stop()
			pay := "€63.00"
			if tt.lang == "de" {
				pay = "63,00 €"
			}
			resp := preview(tt.lang, pay)
			if tt.lang == "de" {
				resp.Messages[0].Buttons[0].Label = pay + " bezahlen"
			}
			err := s.show(context.Background(), resp, nil)
			if tt.eof != errors.Is(err, io.EOF) || (!tt.eof && err != nil) {
				t.Fatalf("show = %v, want EOF %v", err, tt.eof)
			}
			mustContain(t, out.String(), tt.want...)
			mustNotContain(t, out.String(), tt.unwanted...)
		})
	}
}

// TestBuyConfirmed buys through the console as the core now asks it to:
// the buy form (another product than the command named, annual), then the
// exact preview with a y/n question in the words of its Pay button; y
// pays, and what the preview said is what the invoice charged.
func TestBuyConfirmed(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	p, ok := catalog.Demo().Get("project-plan-1")
	if !ok {
		t.Fatal("the demo catalog lacks Project Plan 1")
	}
	want := format.Money("en", p.Price(12)*5, p.Currency) // 5 licenses, a year
	script := strings.Join([]string{
		"buy visio 5",
		"2", // product: Project Plan 1
		"",  // licenses: keep 5
		"2", // period: annual
		"",  // payment method: keep the card
		"y",
		"invoices",
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	m := regexp.MustCompile(`(?m)^Pay (\S+)\? \(y/n\): y$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no y/n question in the words of the Pay button\noutput:\n%s", out)
	}
	if m[1] != want {
		t.Errorf("the question asks to pay %s, want %s", m[1], want)
	}
	preview := out[strings.Index(out, "Please confirm\n"):strings.Index(out, m[0])]
	mustContain(t, preview, "5 licenses of Project Plan 1", "Today: "+want, "Test mode — no real money.")
	mustNotContain(t, preview, "Back", "confirm ", "[1]", "[2]")
	if !regexp.MustCompile(`Project Plan 1 × 5 licenses\s+` + regexp.QuoteMeta(want) + `\s+paid`).MatchString(out) {
		t.Errorf("no paid invoice of %s for 5 licenses of Project Plan 1\noutput:\n%s", want, out)
	}
	mustContain(t, out, "Purchase price: "+want+" per year", "[admin notification] New self-service purchase")
	mustNotContain(t, out, "Visio Plan 2 ×", "I don't know the command")
}

// TestBuyNotConfirmed answers the preview with no (in German, nein):
// nothing is bought, charged or told to the admins.
func TestBuyNotConfirmed(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "kaufen visio 5\n\n\n\n\nnein\nprodukte\nrechnungen\n", Options{Locale: "de", DueEvery: time.Hour})
	mustContain(t, out,
		"63,00 € bezahlen? (j/n): nein\nFormular geschlossen; es wurde nichts geändert.\n",
		"Sie haben noch keine Abonnements.",
	)
	mustNotContain(t, out, "Zahlung wird ausgeführt", "[admin notification]", "Zahlung eingegangen", "bezahlt")
}

// TestGermanCommandLines: a German user sees the buttons' command lines
// in German (Katalog → /billing katalog, not /billing catalog), a click
// runs it, and "beenden" ends the session as the banner says.
func TestGermanCommandLines(t *testing.T) {
	tb := newTestBot(t)
	out := tb.run(t, "produkte\n1\nbeenden\nhilfe\n", Options{Locale: "de"})
	mustContain(t, out,
		"[1] Katalog → /billing katalog\n",
		"» /billing katalog\n",
		"Preise pro Lizenz. Kaufen Sie mit /billing kaufen oder testen Sie ein Produkt zuerst mit /billing testen.",
		"[1] Kaufen              → /billing kaufen\n",
	)
	mustNotContain(t, out, "/billing catalog", "Was billingbot kann")

	w := words(tb.bot, "de")
	for _, tt := range []struct{ got, want string }{
		{fmt.Sprintf(w.banner, "demo", "alice"), "billingbot-Konsole: Organisation „demo“, Benutzer alice"},
		{w.bannerHelp, "Mit /billing hilfe (oder nur hilfe) sehen Sie, was ich kann; mit der Nummer einer Schaltfläche klicken Sie diese an; mit „beenden“ verlassen Sie die Konsole."},
		{w.formHelp, "Mit Enter übernehmen Sie den Wert in [Klammern]; mit „abbrechen“ schließen Sie das Formular."},
		{w.stopped, "Auf Wiedersehen."},
		{words(tb.bot, "en").bannerHelp, "Type /billing help (or just help) to see what I can do, a button's number to click it, or “quit” to leave."},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestPrinterNotice: a notification that comes while a prompt waits for the
// user's answer goes on lines of its own, and the prompt is printed again,
// so that the answer still follows it.
func TestPrinterNotice(t *testing.T) {
	var out strings.Builder
	p := &printer{w: &out}
	p.notice("[notification] first\n")
	p.print("Buy licenses\nProduct – Choose a number [Visio Plan 2]: ")
	p.notice("[notification] second\n\n")
	p.print("close\n")
	p.notice("[notification] third\n")
	want := "[notification] first\n" +
		"Buy licenses\nProduct – Choose a number [Visio Plan 2]: \n[notification] second\n\n" +
		"Product – Choose a number [Visio Plan 2]: close\n" +
		"[notification] third\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
