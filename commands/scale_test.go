package commands_test

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
	"github.com/billingbot/billingbot/store/storetest"
)

// Organizations of any size: the admin overview, products and invoices
// show one page at a time, read one page at a time.

// button finds a message's button by its label.
func button(m commands.Message, label string) (commands.Button, bool) {
	for _, b := range m.Buttons {
		if b.Label == label {
			return b, true
		}
	}
	return commands.Button{}, false
}

// adminPages follows the admin overview's Next buttons from its first page
// and returns the subscriptions each page lists (by the fixture's purchaser
// names, "Buyer <id>"), checking each page's shape on the way.
func adminPages(t *testing.T, e *env, as who) [][]string {
	t.Helper()
	var pages [][]string
	line := "admin"
	for len(pages) < 100 {
		r := e.run(as, line)
		head := r.Messages[0]
		if head.Table == nil {
			t.Fatalf("%s: no table:\n%s", line, text(r))
		}
		var ids []string
		for _, row := range head.Table.Rows {
			ids = append(ids, strings.TrimPrefix(row[1], "Buyer "))
		}
		if len(r.Messages) != len(ids)+1 {
			t.Errorf("%s: %d messages for %d rows, want one each and the head", line, len(r.Messages), len(ids))
		}
		if len(ids) > 20 {
			t.Errorf("%s: %d rows, want at most 20", line, len(ids))
		}
		pages = append(pages, ids)
		next, ok := button(head, "Next ▶")
		if !ok {
			return pages
		}
		line = next.Command
	}
	t.Fatal("more than 100 pages")
	return nil
}

// TestAdminPages: the admin overview of a big organization shows every
// self-service subscription exactly once across its pages, newest first,
// with buttons between the pages; bad page numbers are answered, and
// write nothing.
func TestAdminPages(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		big := storetest.BigOrgOf(t, e.st, "T1", 45, 7, 90, t0.Add(-time.Hour))
		// Not self-service: never in the overview.
		if _, err := e.st.CreateSubscription(context.Background(), store.Once{Key: "not-ss"}, store.Subscription{ID: "notss",
			Org: "T1", ProductID: "visio-plan-2", ProductName: "Visio Plan 2", Purchaser: store.Member{ID: "p1", Name: "Buyer notss"},
			Status: store.StatusActive, Total: 1, Period: store.Monthly, Currency: "EUR", PurchasedAt: t0}, nil); err != nil {
			t.Fatal(err)
		}
		pages := adminPages(t, e, dave)
		if len(pages) != 3 || len(pages[0]) != 20 || len(pages[1]) != 20 || len(pages[2]) != 5 {
			t.Fatalf("pages of %v subscriptions, want 20, 20, 5", pages)
		}
		var seen []string
		for _, p := range pages {
			seen = append(seen, p...)
		}
		if strings.Join(seen, " ") != strings.Join(big.Subs, " ") {
			t.Errorf("the pages list\n%v\nwant each subscription once, newest first:\n%v", seen, big.Subs)
		}

		r := e.run(dave, "admin page 2")
		wantText(t, r, "Page 2 of 3 (45 in all)")
		if prev, ok := button(r.Messages[0], "◀ Previous"); !ok || prev.Command != "admin page 1" {
			t.Errorf("previous: %+v", prev)
		}
		wantText(t, e.run(dave.de(), "admin seite 3"), "Seite 3 von 3 (insgesamt 45)", "Zurück")
		if r := e.run(dave, "admin page 99"); !strings.Contains(text(r), "Page 3 of 3") || len(r.Messages) != 6 {
			t.Errorf("beyond the last page: want the last one; got:\n%s", text(r))
		}
	})
}

// TestAdminPageErrors: a page that is not a number is answered in the
// user's language, and nothing is written; a member's "admin page" reads
// nothing of the organization.
func TestAdminPageErrors(t *testing.T) {
	e := newEnv(t)
	storetest.BigOrgOf(t, e.st, "T1", 25, 3, 0, t0.Add(-time.Hour))
	built := func() bool { return e.mr.Exists("bb:{T1}:subs:bydate:built") }
	wantMessage(t, e.run(alice, "admin page 2"), "Only administrators can use this command.")
	if built() {
		t.Error("a member's request read the organization's subscriptions")
	}
	e.run(dave, "admin") // builds the index, once
	before := e.snapshot()
	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{dave, "admin page 0", "“0” is not a page number."},
		{dave, "admin page -1", "“-1” is not a page number."},
		{dave, "admin page two", "“two” is not a page number."},
		{dave, "admin page 99999999999999999999", "is not a page number."},
		{dave, "admin page", "“” is not a page number."},
		{dave, "admin page 1 2", "“page” is not a page number."},
		{dave.de(), "admin seite x", "„x“ ist keine Seitenzahl. Seiten werden ab 1 gezählt"},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			if strings.Contains(text(r), "Buyer") {
				t.Errorf("a refusal lists subscriptions:\n%s", text(r))
			}
		})
	}
	e.wantUnchanged(before)
}

// TestAdminIndexMigration: an organization whose subscriptions were made
// before the index existed gets it on its first admin overview, and the
// same pages as one that had it all along; purchases after it keep it.
func TestAdminIndexMigration(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		big := storetest.BigOrgOf(t, e.st, "T1", 30, 4, 30, t0.Add(-time.Hour))
		want := adminPages(t, e, dave)
		// Data from before the index: no index, no mark that it is built.
		if err := e.rdb.Del(ctx, "bb:{T1}:subs:bydate", "bb:{T1}:subs:bydate:built").Err(); err != nil {
			t.Fatal(err)
		}
		if got := adminPages(t, e, dave); len(got) != 2 || strings.Join(got[0], " ") != strings.Join(want[0], " ") ||
			strings.Join(got[1], " ") != strings.Join(want[1], " ") {
			t.Errorf("after the migration:\n%v\nwant\n%v", got, want)
		}
		if n, err := e.rdb.ZCard(ctx, "bb:{T1}:subs:bydate").Result(); err != nil || n != int64(len(big.Subs)) {
			t.Errorf("index holds %d (%v), want %d", n, err, len(big.Subs))
		}
		// A purchase and a trial after it: the newest, first.
		e.buyer(alice)
		visio := e.buy(alice, "visio-plan-2", 3)
		e.clock.Add(0, 0, 1)
		trial := e.trial(bob, "project-plan-3")
		r := e.run(dave, "admin")
		rows := r.Messages[0].Table.Rows
		if rows[0][1] != "Bob" || rows[1][1] != "Alice" || len(rows) != 20 {
			t.Errorf("first page starts %v, %v; want the trial, then the purchase", rows[0], rows[1])
		}
		wantText(t, r, "Page 1 of 2 (32 in all)")
		for _, id := range []string{visio, trial} {
			if s, err := e.rdb.ZScore(ctx, "bb:{T1}:subs:bydate", id).Result(); err != nil || s >= 0 {
				t.Errorf("%s in the index: %v %v", id, s, err)
			}
		}
	})
}

// TestAdminPageRoundTrips: a page of the admin overview, of products and
// of invoices costs one Redis round trip, for 10 subscriptions as for
// 1,000.
func TestAdminPageRoundTrips(t *testing.T) {
	counts := map[int]int64{}
	for _, n := range []int{10, 1000} {
		e := newRealEnv(t)
		storetest.BigOrgOf(t, e.st, "T1", n, 50, 3*n, t0.Add(-time.Hour))
		trips := &roundTrips{}
		e.rdb.AddHook(trips)
		p0 := person("T1", "p0", "P0")
		for i, tt := range []struct {
			as   who
			line string
		}{{dave, "admin"}, {dave, "admin"}, {dave, "admin page 2"}, {dave, "admin page 50"},
			{p0, "products"}, {p0, "products"}, {p0, "products self-service page 2"}, {p0, "invoices 6m page 2"}} {
			req, line := e.request(tt.as), tt.line
			req.Text = line
			before := trips.n.Load()
			r, err := e.bot.Handle(context.Background(), req)
			if err != nil || len(r.Messages) < 1 {
				t.Fatalf("%s: %v\n%s", line, err, text(r))
			}
			if i != 0 && i != 4 { // a user's first request also remembers the organization's locale
				counts[n] = max(counts[n], trips.n.Load()-before)
			}
		}
	}
	if counts[10] != 1 || counts[1000] != 1 {
		t.Errorf("round trips per page: %v, want 1 for every size", counts)
	}
}

// TestProductsPages: a user's products are shown a page at a time, each
// once; the self-service filter pages too.
func TestProductsPages(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		big := storetest.BigOrgOf(t, e.st, "T1", 45, 1, 45, t0.Add(-time.Hour)) // all bought by p0
		buyer := person("T1", "p0", "P0")
		var seen []string
		line := "products self-service"
		for page := 1; ; page++ {
			r := e.run(buyer, line)
			if page == 1 {
				wantText(t, r, "You have 45 products.", "Page 1 of 3 (45 in all)")
			}
			for _, m := range r.Messages[1:] {
				b, ok := button(m, "Assign licenses")
				if !ok {
					t.Fatalf("%s: a product without its buttons: %+v", line, m)
				}
				seen = append(seen, strings.TrimPrefix(b.Command, "assign "))
			}
			next, ok := button(r.Messages[0], "Next ▶")
			if !ok {
				break
			}
			if !strings.HasPrefix(next.Command, "products self-service page ") {
				t.Errorf("next: %q", next.Command)
			}
			line = next.Command
		}
		if strings.Join(seen, " ") != strings.Join(big.Subs, " ") {
			t.Errorf("the pages show\n%v\nwant each product once, newest first:\n%v", seen, big.Subs)
		}
		// A holder of one license sees it, on one page.
		r := e.run(person("T1", "h7", "Holder 7"), "products")
		wantText(t, r, "You have 1 product.")
		if strings.Contains(text(r), "Page") {
			t.Errorf("one product, pages:\n%s", text(r))
		}
		wantMessage(t, e.run(buyer.de(), "produkte seite null"), "„null“ ist keine Seitenzahl.")
	})
}

var _ redis.Hook = (*roundTrips)(nil)

// Benchmarks of organizations of any size: one page of the admin overview
// of an organization of 10 and of 10,000 subscriptions (with 50,000
// holders), on a real Redis and on miniredis; products for a user of the
// big one; the last page of 500 invoices. The organization is made once
// per benchmark (b.Loop), not per b.N.

func benchBackends(b *testing.B, run func(b *testing.B, bb *benchBot)) {
	b.Run("redis", func(b *testing.B) { run(b, newBenchBotAt(b, redistest.Real(b))) })
	b.Run("miniredis", func(b *testing.B) { run(b, newBenchBotAt(b, miniredis.RunT(b).Addr())) })
}

// loop runs op until the benchmark has measured enough, and reports
// round trips and CPU per op as measure does.
func (bb *benchBot) loop(b *testing.B, op func(i int)) {
	b.ReportAllocs()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	trips := bb.trips.n.Load()
	for i := 0; b.Loop(); i++ {
		op(i)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(bb.trips.n.Load()-trips)/float64(b.N), "rt/op")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

func BenchmarkAdminPage(b *testing.B) {
	for _, size := range []struct{ subs, holders int }{{10, 50}, {20, 100}, {10000, 50000}} {
		b.Run(fmt.Sprintf("subs=%d", size.subs), func(b *testing.B) {
			benchBackends(b, func(b *testing.B, bb *benchBot) {
				storetest.BigOrgOf(b, bb.st, "bench", size.subs, 100, size.holders, bb.now.Add(-time.Hour))
				pages := (size.subs + 19) / 20
				bb.do(b, commands.Request{Text: "admin", Admin: true}) // builds nothing: the index is kept
				bb.loop(b, func(i int) {
					page := 1 + i%pages // every page in turn
					r := bb.do(b, commands.Request{Text: fmt.Sprintf("admin page %d", page), Admin: true})
					if len(r.Messages) != 1+min(20, size.subs) {
						b.Fatalf("page %d: %d messages", page, len(r.Messages))
					}
				})
			})
		})
	}
}

func BenchmarkProductsBigOrg(b *testing.B) {
	benchBackends(b, func(b *testing.B, bb *benchBot) {
		storetest.BigOrgOf(b, bb.st, "bench", 10000, 100, 50000, bb.now.Add(-time.Hour))
		for range 5 {
			bb.buy(b, 10)
		}
		bb.loop(b, func(int) {
			if r := bb.do(b, commands.Request{Text: "products"}); len(r.Messages) != 6 {
				b.Fatalf("%d messages, want 6", len(r.Messages))
			}
		})
	})
}

func BenchmarkInvoicesLastPage(b *testing.B) {
	bb := newBenchBot(b)
	bb.invoices(b, 500) // as BenchmarkInvoices6Months
	bb.loop(b, func(int) {
		r := bb.do(b, commands.Request{Text: "invoices 6m page 25"})
		if rows := len(r.Messages[0].Table.Rows); rows != 20 || !strings.Contains(r.Messages[0].Text, "25") {
			b.Fatalf("%d invoices shown, want the oldest 20 (page 25 of 25)", rows)
		}
	})
}

// BenchmarkAdminViewAllStoreOnly is what every admin overview read before
// it paged: every subscription of the organization with its holders (the
// view's All, kept for tests and tools), for 10 and 10,000 subscriptions.
func BenchmarkAdminViewAllStoreOnly(b *testing.B) {
	for _, size := range []struct{ subs, holders int }{{10, 50}, {10000, 50000}} {
		b.Run(fmt.Sprintf("subs=%d", size.subs), func(b *testing.B) {
			bb := newBenchBot(b)
			storetest.BigOrgOf(b, bb.st, "bench", size.subs, 100, size.holders, bb.now.Add(-time.Hour))
			bb.loop(b, func(int) {
				v, err := bb.st.View(context.Background(), "bench", "owner", store.ViewOptions{All: true})
				if err != nil || len(v.Subs) != size.subs {
					b.Fatalf("%d subscriptions, %v", len(v.Subs), err)
				}
			})
		})
	}
}
