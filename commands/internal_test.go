package commands

// White-box tests of the core's small parsers and of the pro rata
// arithmetic, and the fuzz test of the command line.

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		line string
		want []string
		bug  string
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"buy visio 5", []string{"buy", "visio", "5"}, ""},
		{"  buy \t visio\n5 ", []string{"buy", "visio", "5"}, ""},
		{"buy\u00a0visio", []string{"buy", "visio"}, ""},
		{"/billing buy visio", []string{"buy", "visio"}, ""},
		{"/Abrechnung kaufen", []string{"kaufen"}, ""},
		{"/billing", nil, ""},
		{"billing buy", []string{"billing", "buy"}, ""},
		{`buy "Visio Plan 2" 5`, []string{"buy", "Visio Plan 2", "5"}, ""},
		{`buy 'Visio Plan 2' 5`, []string{"buy", "Visio Plan 2", "5"}, ""},
		{`kaufen „Visio Plan 2“ 5`, []string{"kaufen", "Visio Plan 2", "5"}, ""},
		{`kaufen ‚Visio Plan 2‘ 5`, []string{"kaufen", "Visio Plan 2", "5"}, ""},
		{`buy "Visio"Plan`, []string{"buy", "VisioPlan"}, ""},
		{`buy ""`, []string{"buy", ""}, ""},
		{`buy "visio 5`, []string{"buy", "visio 5"}, ""},
		{"assign visio @bob <@U3>", []string{"assign", "visio", "@bob", "<@U3>"}, ""},
		{`buy “Visio Plan 2” 5`, []string{"buy", "Visio Plan 2", "5"}, "English typographic quotes: “ is closed by ” (U+201D), but closing() expects “ again"},
		{`buy ‘Visio Plan 2’ 5`, []string{"buy", "Visio Plan 2", "5"}, "English single quotes: ‘ is closed by ’ (U+2019), but closing() expects ‘ again"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got := tokenize(tt.line)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				if tt.bug != "" {
					t.Logf("tokenize(%q) = %q", tt.line, got)
					t.Fatal("fixed bug is back: " + tt.bug)
				}
				t.Errorf("tokenize(%q) = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		s    string
		want int
		ok   bool
	}{
		{"1", 1, true},
		{"10000", 10000, true},
		{" 5 ", 5, true},
		{"007", 7, true},
		{"0", 0, true},
		{"1,000", 1000, true},
		{"1.000", 1000, true},
		{"1'000", 1000, true},
		{"1\u202f000", 1000, true},
		{"1\u00a0000", 1000, true},
		{"1,000,000", 1000000, true},
		{"99999999999", 99999999999, true},
		{"999999999999", 999999999999, true},
		{"9999999999999", 0, false},
		{"99999999999999999999999", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"-0", 0, false},
		{"1.5", 0, false},
		{"1,5", 0, false},
		{"1,00", 0, false},
		{"1.000,5", 0, false},
		{"1,000.000", 0, false},
		{",000", 0, false},
		{"1,,000", 0, false},
		{"1e3", 0, false},
		{"abc", 0, false},
		{"0x10", 0, false},
		{"１２", 0, false},
		{"١٢", 0, false},
		{"1 000", 0, false},
		{"5\xff", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.s, func(t *testing.T) {
			got, ok := parseCount(tt.s)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseCount(%q) = %d, %v; want %d, %v", tt.s, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		args     string
		from, to time.Time
		months   int
		field    string // of the error
		msg      string
	}{
		{"", day(2026, 8, 25), day(2026, 11, 25), 3, "", ""},
		{"3m", day(2026, 8, 25), day(2026, 11, 25), 3, "", ""},
		{"3M", day(2026, 8, 25), day(2026, 11, 25), 3, "", ""},
		{"6m", day(2026, 5, 25), day(2026, 11, 25), 6, "", ""},
		{"6", day(2026, 5, 25), day(2026, 11, 25), 6, "", ""},
		{"2026-01-01 2026-06-30", day(2026, 1, 1), day(2026, 6, 30), 0, "", ""},
		{"01.01.2026 30.06.2026", day(2026, 1, 1), day(2026, 6, 30), 0, "", ""},
		{"1.1.2026 2026-06-30", day(2026, 1, 1), day(2026, 6, 30), 0, "", ""},
		{"2026-11-25 2026-11-25", day(2026, 11, 25), day(2026, 11, 25), 0, "", ""},
		{"2024-11-25 2026-11-25", day(2024, 11, 25), day(2026, 11, 25), 0, "", ""},
		{"2024-11-25 2026-11-26", time.Time{}, time.Time{}, 0, "to", "ErrRangeTooLong"},
		{"2026-06-30 2026-01-01", time.Time{}, time.Time{}, 0, "to", "ErrFromAfterTo"},
		{"2026-11-26 2026-12-01", time.Time{}, time.Time{}, 0, "from", "ErrFutureFrom"},
		{"2026-02-30 2026-03-01", time.Time{}, time.Time{}, 0, "from", "ErrBadDate"},
		{"2026-01-01 31.04.2026", time.Time{}, time.Time{}, 0, "to", "ErrBadDate"},
		{"junk", time.Time{}, time.Time{}, 0, "range", "ErrRangeArgs"},
		{"12m", time.Time{}, time.Time{}, 0, "range", "ErrRangeArgs"},
		{"a b c", time.Time{}, time.Time{}, 0, "range", "ErrRangeArgs"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			r, err := parseRange(strings.Fields(tt.args), now)
			switch {
			case tt.msg != "":
				if err == nil || err.field != tt.field || err.msg != tt.msg {
					t.Errorf("parseRange(%q) = %+v, %+v; want error %s on %s", tt.args, r, err, tt.msg, tt.field)
				}
			case err != nil:
				t.Errorf("parseRange(%q): %+v", tt.args, err)
			case !r.from.Equal(tt.from) || !r.to.Equal(tt.to) || r.months != tt.months:
				t.Errorf("parseRange(%q) = %v…%v (%d), want %v…%v (%d)", tt.args, r.from, r.to, r.months, tt.from, tt.to, tt.months)
			}
		})
	}
}

func TestProrate(t *testing.T) {
	tests := []struct {
		amount           int64
		days, periodDays int
		want             int64
	}{
		{6300, 20, 30, 4200},
		{6300, 30, 30, 6300},
		{6300, 0, 30, 0},
		{100, 1, 3, 33},
		{100, 2, 3, 67},
		{1, 1, 2, 1}, // half up
		{3, 1, 2, 2},
		{75600, 183, 365, 37904},
		{1260 * 12 * 10000, 365, 365, 1260 * 12 * 10000},
		{0, 10, 30, 0},
	}
	for _, tt := range tests {
		if got := prorate(tt.amount, tt.days, tt.periodDays); got != tt.want {
			t.Errorf("prorate(%d, %d, %d) = %d, want %d", tt.amount, tt.days, tt.periodDays, got, tt.want)
		}
	}
}

func TestRemainingDays(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	monthly := store.Subscription{Period: store.Monthly, RenewsAt: t0.AddDate(0, 1, 0)}
	annual := store.Subscription{Period: store.Annual, RenewsAt: t0.AddDate(1, 0, 0)}
	tests := []struct {
		name             string
		now              time.Time
		s                store.Subscription
		days, periodDays int
	}{
		{"at purchase", t0, monthly, 30, 30},
		{"10 days on", t0.AddDate(0, 0, 10), monthly, 20, 30},
		{"a second later", t0.AddDate(0, 0, 10).Add(time.Second), monthly, 20, 30},
		{"an hour before the end", monthly.RenewsAt.Add(-time.Hour), monthly, 1, 30},
		{"at the end", monthly.RenewsAt, monthly, 0, 30},
		{"after the end", monthly.RenewsAt.AddDate(0, 0, 3), monthly, 0, 30},
		{"annual", t0, annual, 365, 365},
		{"annual half", t0.AddDate(0, 6, 0), annual, 184, 365},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			days, period := remainingDays(tt.now, tt.s)
			if days != tt.days || period != tt.periodDays {
				t.Errorf("remainingDays = %d of %d, want %d of %d", days, period, tt.days, tt.periodDays)
			}
		})
	}
}

// fuzzMembers is a directory with two people and no admins.
type fuzzMembers struct{}

func (fuzzMembers) Admins(context.Context) ([]Member, error) { return nil, nil }

func (fuzzMembers) Member(_ context.Context, ref string) (Member, error) {
	switch strings.Trim(ref, "<@>") {
	case "bob", "U2":
		return Member{ID: "U2", Name: "Bob"}, nil
	case "botty", "B1":
		return Member{ID: "B1", Name: "Botty", Bot: true}, nil
	}
	return Member{}, ErrNoMember
}

// fuzzBot is a bot on miniredis whose user U1 has a card and a
// subscription of Visio Plan 2 with one license assigned.
func fuzzBot(tb testing.TB) *Bot {
	mr := miniredis.RunT(tb)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	tb.Cleanup(func() { rdb.Close() })
	st := store.New(rdb)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	b, err := New(st, catalog.Demo(), payment.NewSandbox(), Config{PublicURL: "https://pay.example"},
		WithClock(func() time.Time { return now }))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	token, err := st.CreatePayLink(ctx, store.PayLink{Org: "T1", User: "U1", ProfileID: "default", Lang: "en", Expires: now.Add(time.Hour)}, time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := b.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "737", ExpMonth: 12, ExpYear: 2030})
	if err != nil {
		tb.Fatal(err)
	}
	req := Request{Org: "T1", User: Member{ID: "U1", Name: "Alice"}, Members: fuzzMembers{}}
	req.Form = &Submission{FormID: FormBuy, Values: map[string][]string{"product": {"visio-plan-2"}, "licenses": {"5"},
		"period": {"monthly"}, "method": {m.ID}}}
	r, err := b.Handle(ctx, req)
	if err != nil || r.Confirm == nil {
		tb.Fatalf("buy: %+v, %v", r, err)
	}
	confirm := req
	confirm.Form, confirm.Text = nil, r.Confirm.Yes
	if r, err = b.Handle(ctx, confirm); err != nil || len(r.Messages) != 1 {
		tb.Fatalf("confirmed buy: %+v, %v", r, err)
	}
	if _, err := b.RunDue(ctx); err != nil { // the charge
		tb.Fatalf("charge: %v", err)
	}
	v, err := st.View(ctx, "T1", "U1", store.ViewOptions{})
	if err != nil || len(v.Subs) != 1 || v.Subs[0].Status != store.StatusActive {
		tb.Fatalf("after the charge: %+v, %v", v.Subs, err)
	}
	id := v.Subs[0].ID
	req.Form = &Submission{FormID: FormAssign, Context: id, Values: map[string][]string{"users": {"U2"}}}
	if r, err := b.Handle(ctx, req); err != nil || r.FieldErrors != nil {
		tb.Fatalf("assign: %+v, %v", r, err)
	}
	return b
}

// missingID is what a text looks like whose message id is missing.
var missingID = regexp.MustCompile(`^\[[A-Za-z0-9]+\]$`)

// FuzzCommandLine feeds arbitrary command lines through Handle: it never
// panics, never returns an empty Response, and always answers in English
// or German, with texts that are valid UTF-8 and have no missing message.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{"", "help", "buy visio 5", "kaufen „Visio Plan 2“ 5", "cancel visio", "assign visio @bob",
		"invoices 2026-01-01 2026-06-30", "payment add", "language de", "admin channel #x"} {
		f.Add(s)
	}
	b := fuzzBot(f)
	f.Fuzz(func(t *testing.T, line string) {
		for _, w := range tokenize(line) {
			if n, ok := parseCount(w); ok && n < 0 {
				t.Errorf("parseCount(%q) = %d", w, n)
			}
		}
		locale := "en-US"
		if len(line)%2 == 1 {
			locale = "de-DE"
		}
		resp, err := b.Handle(context.Background(), Request{Org: "T1", User: Member{ID: "U1", Name: "Alice"},
			Locale: locale, Admin: len(line)%3 == 0, Text: line, Members: fuzzMembers{}})
		if err != nil {
			t.Fatalf("Handle(%q): %v", line, err)
		}
		if resp.Lang != "en" && resp.Lang != "de" {
			t.Errorf("Handle(%q): Lang %q", line, resp.Lang)
		}
		if len(resp.Messages) == 0 && resp.Form == nil && len(resp.FieldErrors) == 0 {
			t.Errorf("Handle(%q): empty response", line)
		}
		var texts []string
		for _, m := range resp.Messages {
			texts = append(texts, m.Title, m.Text)
			for _, btn := range m.Buttons {
				texts = append(texts, btn.Label)
				if btn.Command == "" && btn.URL == "" {
					t.Errorf("Handle(%q): button %q does nothing", line, btn.Label)
				}
			}
		}
		if fm := resp.Form; fm != nil {
			texts = append(texts, fm.Title, fm.Submit, fm.Close)
			if len(fm.Context) > MaxContext {
				t.Errorf("Handle(%q): form context of %d bytes", line, len(fm.Context))
			}
			for _, in := range fm.Inputs {
				texts = append(texts, in.Label, in.Text)
			}
		}
		for _, s := range texts {
			if !utf8.ValidString(s) || missingID.MatchString(s) {
				t.Errorf("Handle(%q): text %q", line, s)
			}
		}
	})
}

func TestIsNumber(t *testing.T) {
	for word, want := range map[string]bool{
		"5": true, "-1": true, "+3": true, "1.5": true, "10,000": true, "1e3": true, "1'000": true,
		"7xk2fq4mz3a5bcd6": false, "2abc": false, "visio": false, "": false, "e5": false,
	} {
		if got := isNumber(word); got != want {
			t.Errorf("isNumber(%q) = %v, want %v", word, got, want)
		}
	}
}

func TestTableLines(t *testing.T) {
	tab := &Table{Columns: []string{"Produkt", "Preis"}, Rows: [][]string{{"Visio Plan 2", "12,60 €"}, {"Ä", "1 €", "extra"}, {"only"}}}
	got := tab.Lines(func(s string) string { return s })
	want := []string{
		"Produkt       Preis",
		"Visio Plan 2  12,60 €",
		"Ä             1 €",
		"only",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRateLimit(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	now := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	b, err := New(st, catalog.Demo(), payment.NewSandbox(), Config{RatePerMinute: 3}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	send := func(user, locale string) string {
		r, err := b.Handle(t.Context(), Request{Org: "T1", User: Member{ID: user, Name: user}, Locale: locale, Text: "language"})
		if err != nil || len(r.Messages) == 0 {
			t.Fatalf("Handle: %v %+v", err, r)
		}
		return r.Messages[0].Text
	}
	for i := 0; i < 3; i++ {
		if got := send("U1", "en"); strings.Contains(got, "faster") {
			t.Fatalf("request %d limited: %q", i+1, got)
		}
	}
	if got := send("U1", "de"); !strings.Contains(got, "schneller") {
		t.Errorf("4th request in a minute = %q, want the German rate-limit message", got)
	}
	if got := send("U2", "en"); strings.Contains(got, "faster") {
		t.Errorf("another user is limited too: %q", got)
	}
	now = now.Add(time.Minute)
	if got := send("U1", "en"); strings.Contains(got, "faster") {
		t.Errorf("still limited in the next minute: %q", got)
	}
}

// TestDraftRateLimit: drafts of a form (live previews) count in an
// allowance of their own, twice the requests' by default: a user who used
// up their requests still gets drafts, and one who sent a flood of drafts
// still gets their requests; drafts beyond the allowance are limited.
func TestDraftRateLimit(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	now := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	b, err := New(st, catalog.Demo(), payment.NewSandbox(), Config{RatePerMinute: 3}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	limited := b.Text("en", "ErrRateLimited")
	send := func(user string, draft bool) bool {
		t.Helper()
		req := Request{Org: "T1", User: Member{ID: user, Name: user}, Locale: "en", Text: "language"}
		if draft {
			req.Text, req.Form = "", &Submission{FormID: FormBuy, Draft: true, Values: map[string][]string{"product": {"visio-plan-2"}}}
		}
		r, err := b.Handle(t.Context(), req)
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
		return len(r.Messages) > 0 && r.Messages[0].Text == limited
	}
	count := func(user string, draft bool, n int) (ok int) {
		t.Helper()
		for range n {
			if !send(user, draft) {
				ok++
			}
		}
		return ok
	}
	if got := count("U1", false, 4); got != 3 {
		t.Fatalf("%d of 4 requests allowed, want 3", got)
	}
	if got := count("U1", true, 7); got != 6 {
		t.Errorf("%d of 7 drafts of a user out of requests allowed, want 6", got)
	}
	if got := count("U2", true, 10) + count("U2", false, 3); got != 6+3 {
		t.Errorf("%d allowed of 10 drafts and then 3 requests, want 9", got)
	}
}

func TestObserver(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1}))
	var got []Outcome
	b, err := New(st, catalog.Demo(), payment.NewSandbox(), Config{}, WithObserver(func(_ context.Context, o Outcome) { got = append(got, o) }))
	if err != nil {
		t.Fatal(err)
	}
	u := Member{ID: "U1", Name: "Alice"}
	send := func(r Request) {
		r.Org, r.User = "T1", u
		_, _ = b.Handle(t.Context(), r)
	}
	send(Request{Text: "help"})
	send(Request{Text: "frobnicate"})
	send(Request{Text: "buy nothing-like-this"})
	send(Request{Form: &Submission{FormID: FormBuy, Values: map[string][]string{"licenses": {"0"}}}})
	mr.Close()
	send(Request{Text: "products"})
	want := []struct{ command, result string }{
		{"help", "ok"}, {"unknown", "refused"}, {"buy", "refused"}, {"form:buy", "field_errors"}, {"products", "unavailable"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d outcomes, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Command != w.command || got[i].Result != w.result || got[i].Org != "T1" {
			t.Errorf("outcome %d = %+v, want command %q result %q", i, got[i], w.command, w.result)
		}
	}
	if got[3].FieldErrors == 0 {
		t.Errorf("form outcome has no field error count: %+v", got[3])
	}
}
