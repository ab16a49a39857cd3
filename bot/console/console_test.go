package console

import (
	"context"
	"errors"
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
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
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
		{"admins see admin", "help\n", Options{Admin: true}, []string{"/billing admin [channel]"}},
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
		"assign",
		"",           // subscription: keep the only one
		"alice, bob", // people
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Buy licenses\n------------\n",
		"Product – Choose a number [Visio Plan 2]: \n",
		"Licenses (1–10000) [5]: \n",
		"Billing period – Choose a number [monthly]: 2\n",
		"Visa •••• 4242",
		"Payment in progress",
		"You are buying 5 licenses of Visio Plan 2",
		"(annual)",
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
		"Licenses: 2 of 5 licenses assigned",
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
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Licenses\n  ! Enter a whole number from 1 to 10,000.\n",
		"You are buying 3 licenses of Visio Plan 2",
		"(annual)",
		"You have 1 product.",
	)
	if n := strings.Count(out, "Billing period – Choose a number"); n != 1 {
		t.Errorf("billing period asked %d times, want 1\noutput:\n%s", n, out)
	}
	if n := strings.Count(out, "Licenses (1–10000) [5]: "); n != 2 {
		t.Errorf("licenses asked %d times, want 2\noutput:\n%s", n, out)
	}
}

func TestFieldErrorGerman(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "kaufen visio 3\n\n0\n\n\n2\n", Options{Locale: "de", DueEvery: time.Hour})
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
		"buy visio 3", "", "", "", "",
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
		"buy visio 2", "", "", "", "",
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
	if !regexp.MustCompile(`\[1\] \S.* → /billing payment add default`).MatchString(out) {
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
		"Form closed; nothing was submitted.",
		"You have no subscriptions yet.",
	)
}

func TestCancelAtPrompt(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy visio 2\n\ncancel\nproducts\n", Options{})
	mustContain(t, out, "Form closed; nothing was submitted.", "You have no subscriptions yet.")
	mustNotContain(t, out, "Purchase complete")
}

func TestEOFInsideForm(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	out := tb.run(t, "buy visio 5\n\n", Options{}) // Run fails the test on an error
	mustContain(t, out, "Licenses (1–10000) [5]: \nForm closed; nothing was submitted.\n")
	mustNotContain(t, out, "Purchase complete")
	mustNotContain(t, tb.run(t, "products\n", Options{}), "Visio Plan 2")
}

// TestCancelSubscription walks a form with a select without default, a
// paragraph and a confirmation.
func TestCancelSubscription(t *testing.T) {
	tb := newTestBot(t)
	tb.seedCard(t, "demo", "alice", "Alice Adams")
	script := strings.Join([]string{
		"buy copilot 1", "", "", "", "",
		"cancel copilot",
		"",              // subscription
		"",              // reason: none chosen
		"",              // feedback
		"n",             // not confirmed
		"too expensive", // reason again, by label
		"y",             // confirm again
		"products",
	}, "\n") + "\n"
	out := tb.run(t, script, Options{DueEvery: time.Hour})
	mustContain(t, out,
		"Yes, cancel this subscription (y/n) [n]: n\n",
		"Tick the box to confirm.",
		"Subscription canceled",
		"Microsoft 365 Copilot is canceled.",
		"[admin notification] ",
		"Status: canceled",
	)
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
	mustContain(t, out, "[admin notification] Abonnement abgelaufen")
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
