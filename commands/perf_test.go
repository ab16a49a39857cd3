package commands_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// Benchmarks of the core end to end against a real Redis. Besides ns/op and
// allocations they report Redis round trips per command (rt/op) and the CPU
// time the bot process spends per command (cpu-µs/op: the core and the Redis
// client, not the Redis server).

// roundTrips counts the commands and pipelines a client sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// anyone is a directory in which every valid id is a person, and nobody
// an admin.
type anyone struct{}

func (anyone) Admins(context.Context) ([]commands.Member, error) { return nil, nil }

func (anyone) Member(_ context.Context, ref string) (commands.Member, error) {
	if !store.ValidID(ref) {
		return commands.Member{}, commands.ErrNoMember
	}
	return commands.Member{ID: ref, Name: "User " + ref}, nil
}

type benchBot struct {
	bot   *commands.Bot
	st    *store.Store
	trips *roundTrips
	now   time.Time
	n     int
	last  string // the result of the last request
}

func newBenchBot(b *testing.B) *benchBot {
	b.Helper()
	return newBenchBotAt(b, redistest.Real(b))
}

// newBenchBotAt is newBenchBot on the Redis at addr.
func newBenchBotAt(b *testing.B, addr string) *benchBot {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	b.Cleanup(func() { rdb.Close() })
	bb := &benchBot{st: store.New(rdb), trips: &roundTrips{}, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	rdb.AddHook(bb.trips)
	bot, err := commands.New(bb.st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: "https://pay.example", RatePerMinute: 1 << 30},
		commands.WithClock(func() time.Time { return bb.now }),
		commands.WithObserver(func(_ context.Context, o commands.Outcome) { bb.last = o.Result }))
	if err != nil {
		b.Fatal(err)
	}
	bb.bot = bot
	ctx := context.Background()
	token, err := bb.st.CreatePayLink(ctx, store.PayLink{Org: "bench", User: "owner", ProfileID: "default", Lang: "en",
		Expires: bb.now.Add(time.Hour)}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bot.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "123", ExpMonth: 12,
		ExpYear: 2030, Name: "Owner", Address: "Street 1"}); err != nil {
		b.Fatal(err)
	}
	return bb
}

func (bb *benchBot) do(b *testing.B, req commands.Request) commands.Response {
	bb.n++
	req.Org, req.User, req.Locale, req.Members = "bench", commands.Member{ID: "owner", Name: "Owner"}, "de-DE", anyone{}
	req.IdempotencyKey = "k" + strconv.Itoa(bb.n)
	resp, err := bb.bot.Handle(context.Background(), req)
	if err != nil || len(resp.FieldErrors) > 0 || bb.last != "ok" {
		b.Fatalf("%+v: %v %v %s %+v", req, err, resp.FieldErrors, bb.last, resp.Messages)
	}
	return resp
}

// submit submits a form, and confirms the change when it asks to, as a
// user does.
func (bb *benchBot) submit(b *testing.B, form string, ctx string, values map[string][]string) commands.Response {
	resp := bb.do(b, commands.Request{Form: &commands.Submission{FormID: form, Context: ctx, Values: values}})
	if resp.Confirm != nil {
		resp = bb.do(b, commands.Request{Text: resp.Confirm.Yes})
	}
	return resp
}

// buy buys licenses of Visio and returns the subscription id.
func (bb *benchBot) buy(b *testing.B, licenses int) string {
	f := bb.do(b, commands.Request{Text: "buy visio"}).Form
	var method string
	for _, in := range f.Inputs {
		if in.ID == "method" {
			method = in.Value[0]
		}
	}
	before := bb.subs(b)
	bb.submit(b, commands.FormBuy, "", map[string][]string{"product": {"visio-plan-2"},
		"licenses": {strconv.Itoa(licenses)}, "period": {"annual"}, "method": {method}})
	bb.charge(b)
	for _, id := range bb.subs(b) {
		if !slices.Contains(before, id) {
			return id
		}
	}
	b.Fatal("bought nothing")
	return ""
}

// charge runs the jobs due (the charges of new invoices): a subscription
// changes again once its payment has arrived.
func (bb *benchBot) charge(b *testing.B) {
	if _, err := bb.bot.RunDue(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// invoices gives the owner n invoices over the last six months: a
// purchase, then n-1 times one license more, each paid.
func (bb *benchBot) invoices(b *testing.B, n int) {
	start := bb.now
	bb.now = start.AddDate(0, -6, 1)
	sub := bb.buy(b, 1)
	for i := 0; i < n; i++ {
		if i > 0 {
			bb.now = bb.now.Add(8 * time.Hour)
			bb.submit(b, commands.FormLicenses, sub, map[string][]string{"subscription": {sub}, "total": {strconv.Itoa(1 + i)}})
		}
		bb.charge(b)
	}
	bb.now = start
}

func (bb *benchBot) subs(b *testing.B) []string {
	v, err := bb.st.View(context.Background(), "bench", "owner", store.ViewOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, s := range v.Subs {
		ids = append(ids, s.ID)
	}
	return ids
}

// measure runs op b.N times and reports round trips and CPU per op.
func (bb *benchBot) measure(b *testing.B, op func(i int)) {
	b.ReportAllocs()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	trips := bb.trips.n.Load()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		op(i)
	}
	b.StopTimer()
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(bb.trips.n.Load()-trips)/float64(b.N), "rt/op")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkAssign20(b *testing.B) {
	bb := newBenchBot(b)
	sub := bb.buy(b, 10000)
	bb.measure(b, func(i int) {
		if i > 0 && i%500 == 0 { // 500 × 20 users fill 10,000 licenses
			b.StopTimer()
			sub = bb.buy(b, 10000)
			b.StartTimer()
		}
		users := make([]string, 20)
		for k := range users {
			users[k] = fmt.Sprintf("u%d-%d", i, k)
		}
		bb.submit(b, commands.FormAssign, sub, map[string][]string{"subscription": {sub}, "users": users})
	})
}

// BenchmarkLicenses alternately reduces a subscription's total by one for
// the next period and withdraws the reduction (setting the total it has),
// each confirmed: a change of licenses with its preview, without a charge.
func BenchmarkLicenses(b *testing.B) {
	bb := newBenchBot(b)
	sub := bb.buy(b, 101)
	bb.measure(b, func(i int) {
		total := 100 + i%2
		bb.submit(b, commands.FormLicenses, sub, map[string][]string{"subscription": {sub}, "total": {strconv.Itoa(total)}})
	})
}

func BenchmarkInvoices6Months(b *testing.B) {
	bb := newBenchBot(b)
	bb.invoices(b, 500)
	bb.measure(b, func(int) {
		r := bb.do(b, commands.Request{Text: "invoices 6m"})
		if rows := len(r.Messages[0].Table.Rows); rows != 20 {
			b.Fatalf("%d invoices shown, want the newest 20 (a page)", rows)
		}
	})
}

func BenchmarkProducts(b *testing.B) {
	bb := newBenchBot(b)
	for i := 0; i < 5; i++ {
		bb.buy(b, 10)
	}
	bb.measure(b, func(int) {
		if r := bb.do(b, commands.Request{Text: "products"}); len(r.Messages) != 6 {
			b.Fatalf("%d messages, want 6", len(r.Messages))
		}
	})
}

// BenchmarkAssign20StoreOnly makes the same Redis calls as BenchmarkAssign20
// without the core: what remains of that benchmark's CPU time is the core's.
func BenchmarkAssign20StoreOnly(b *testing.B) {
	bb := newBenchBot(b)
	sub := bb.buy(b, 10000)
	ctx := context.Background()
	bb.measure(b, func(i int) {
		if i > 0 && i%500 == 0 {
			b.StopTimer()
			sub = bb.buy(b, 10000)
			b.StartTimer()
		}
		if _, err := bb.st.View(ctx, "bench", "owner", store.ViewOptions{}); err != nil {
			b.Fatal(err)
		}
		users := make([]store.Member, 20)
		for k := range users {
			id := fmt.Sprintf("u%d-%d", i, k)
			users[k] = store.Member{ID: id, Name: "User " + id}
		}
		if _, err := bb.st.AssignLicenses(ctx, store.Once{Key: "k" + strconv.Itoa(i)}, "bench", "owner", sub, users); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkLicensesStoreOnly is BenchmarkLicenses without the core: the
// view of the submission, the confirmation's view, and the scheduled total.
func BenchmarkLicensesStoreOnly(b *testing.B) {
	bb := newBenchBot(b)
	sub := bb.buy(b, 101)
	ctx := context.Background()
	next := 0
	bb.measure(b, func(i int) {
		for range 2 {
			if _, err := bb.st.View(ctx, "bench", "owner", store.ViewOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		want := 100 * (1 - i%2) // 100, then 0: the reduction withdrawn
		if _, err := bb.st.ScheduleLicenses(ctx, store.Once{Key: "k" + strconv.Itoa(i)}, "bench", "owner", sub, want, 101, next); err != nil {
			b.Fatal(err)
		}
		next = want
	})
}
