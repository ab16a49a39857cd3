package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// auditBackends runs test against miniredis, a real redis-server and
// (unless -short) a Redis Cluster.
func auditBackends(t *testing.T, test func(t *testing.T, s *store.Store)) {
	t.Run("miniredis", func(t *testing.T) { test(t, connect(t, miniredis.RunT(t).Addr())) })
	t.Run("redis", func(t *testing.T) { test(t, realStore(t)(t)) })
	t.Run("cluster", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts a cluster")
		}
		addrs := redistest.Cluster(t)
		rdb, err := store.Connect("redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rdb.Close() })
		test(t, store.New(rdb))
	})
}

// addAudit adds an entry at ms (sequence seq) to org's audit stream, as
// the change scripts write them.
func addAudit(t *testing.T, s *store.Store, org string, ms, seq int64, actor, action, target string) string {
	t.Helper()
	id := fmt.Sprintf("%d-%d", ms, seq)
	err := s.Client().XAdd(context.Background(), &redis.XAddArgs{Stream: "bb:{" + org + "}:audit", ID: id,
		Values: []any{"actor", actor, "action", action, "target", target, "before", "1", "after", "2"}}).Err()
	if err != nil {
		t.Fatalf("XADD %s: %v", id, err)
	}
	return id
}

func ids(p store.AuditPage) []string {
	out := make([]string, len(p.Entries))
	for i, e := range p.Entries {
		out[i] = e.ID
	}
	return out
}

func page(t *testing.T, s *store.Store, org string, q store.AuditQuery) store.AuditPage {
	t.Helper()
	p, err := s.AuditPage(context.Background(), org, q)
	if err != nil {
		t.Fatalf("AuditPage(%+v): %v", q, err)
	}
	return p
}

var tAudit = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// TestAuditPaging: pages by cursor lose and repeat nothing while entries
// are added, newest first; the page before is found from any page.
func TestAuditPaging(t *testing.T) {
	auditBackends(t, func(t *testing.T, s *store.Store) {
		s.SetAuditRetention(store.DefaultAuditKeep, func() time.Time { return tAudit })
		base := tAudit.Add(-time.Hour).UnixMilli()
		var want []string
		for i := range 25 {
			// several entries share a millisecond: the cursor is the full id
			want = append(want, addAudit(t, s, "T1", base+int64(i/3), int64(i%3), "U1", "licenses", "sub1"))
		}
		slices.Reverse(want)
		var got []string
		q := store.AuditQuery{Limit: 10}
		var pages []store.AuditPage
		for n := 0; ; n++ {
			p := page(t, s, "T1", q)
			pages = append(pages, p)
			got = append(got, ids(p)...)
			// newer entries arrive between the pages
			addAudit(t, s, "T1", base+1000+int64(n), 0, "U2", "assign U3", "sub1")
			if p.Older == "" {
				break
			}
			if n > 5 {
				t.Fatalf("more pages than entries: %v", got)
			}
			q.Before = p.Older
		}
		if !slices.Equal(got, want) {
			t.Fatalf("pages read\n%v\nwant\n%v", got, want)
		}
		if len(pages) != 3 || pages[0].Newer != "" || pages[2].Newer == "" {
			t.Fatalf("pages %d, first Newer %q, last Newer %q", len(pages), pages[0].Newer, pages[2].Newer)
		}
		// Back from the last page: the ten just newer than it, newest first.
		back := page(t, s, "T1", store.AuditQuery{Limit: 10, After: pages[2].Newer})
		if !slices.Equal(ids(back), want[10:20]) {
			t.Fatalf("previous page %v, want %v", ids(back), want[10:20])
		}
		if back.Older != want[19] || back.Newer != want[10] {
			t.Fatalf("previous page's cursors %q, %q", back.Older, back.Newer)
		}
		// And back from there: the first ten, with the entries added
		// meanwhile still newer.
		top := page(t, s, "T1", store.AuditQuery{Limit: 10, After: back.Newer})
		if !slices.Equal(ids(top), want[:10]) || top.Newer != want[0] {
			t.Fatalf("first page again %v (Newer %q), want %v", ids(top), top.Newer, want[:10])
		}
		if p := page(t, s, "T1", store.AuditQuery{Limit: 10, After: top.Newer}); len(p.Entries) != 3 || p.Entries[0].Actor != "U2" || p.Newer != "" {
			t.Fatalf("the entries added meanwhile: %v (Newer %q)", ids(p), p.Newer)
		}
	})
}

// TestAuditFilters: a range and a person select; a person's page stops
// after a bounded scan and carries on from where it stopped.
func TestAuditFilters(t *testing.T) {
	auditBackends(t, func(t *testing.T, s *store.Store) {
		s.SetAuditRetention(store.DefaultAuditKeep, func() time.Time { return tAudit })
		day := func(d int) int64 { return tAudit.AddDate(0, 0, -d).UnixMilli() }
		old := addAudit(t, s, "T1", day(40), 0, "U1", "buy", "sub1")
		mid := addAudit(t, s, "T1", day(20), 0, "U2", "assign U3,U4", "sub1")
		addAudit(t, s, "T1", day(10), 0, "U2", "licenses", "sub2")
		recent := addAudit(t, s, "T1", day(1), 0, "scheduler", "renew", "U3")
		addAudit(t, s, "T2", day(1), 0, "U3", "buy", "sub9") // another organization

		for _, tt := range []struct {
			name string
			q    store.AuditQuery
			want []string
		}{
			{"range", store.AuditQuery{From: tAudit.AddDate(0, 0, -30), To: tAudit.AddDate(0, 0, -15)}, []string{mid}},
			{"actor", store.AuditQuery{Person: "U1"}, []string{old}},
			{"named or target", store.AuditQuery{Person: "U3"}, []string{recent, mid}},
			{"person and range", store.AuditQuery{Person: "U3", To: tAudit.AddDate(0, 0, -2)}, []string{mid}},
			{"nobody", store.AuditQuery{Person: "U9"}, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				tt.q.Limit = 10
				p := page(t, s, "T1", tt.q)
				if got := ids(p); !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				if p.Older != "" {
					t.Fatalf("Older %q on the only page", p.Older)
				}
			})
		}

		// 2,500 entries of others after U1's: the first page looks at 2,000
		// of them, finds none, and says where to go on.
		for i := range 2500 {
			addAudit(t, s, "T1", tAudit.Add(-time.Minute).UnixMilli()+int64(i), 0, "U2", "licenses", "sub2")
		}
		p := page(t, s, "T1", store.AuditQuery{Person: "U1", Limit: 10})
		if len(p.Entries) != 0 || p.Older == "" {
			t.Fatalf("first page %v, Older %q; want none and a cursor", ids(p), p.Older)
		}
		p = page(t, s, "T1", store.AuditQuery{Person: "U1", Limit: 10, Before: p.Older})
		if !slices.Equal(ids(p), []string{old}) || p.Older != "" {
			t.Fatalf("second page %v, Older %q", ids(p), p.Older)
		}

		for _, q := range []store.AuditQuery{{Limit: 10, Before: "x"}, {Limit: 10, After: "1-"}, {Limit: 0},
			{Limit: 10, Before: "1-0", After: "1-0"}, {Limit: 10, Person: "bad id!"}} {
			if _, err := s.AuditPage(context.Background(), "T1", q); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("AuditPage(%+v) = %v, want ErrInvalid", q, err)
			}
		}
	})
}

// TestAuditRetention: entries older than the retention are never shown,
// and a change trims them from the stream; the clock decides what is old.
func TestAuditRetention(t *testing.T) {
	auditBackends(t, func(t *testing.T, s *store.Store) {
		now := tAudit
		s.SetAuditRetention(400*24*time.Hour, func() time.Time { return now })
		ctx := context.Background()
		stale := tAudit.AddDate(0, 0, -500).UnixMilli()
		for i := range 300 {
			addAudit(t, s, "T1", stale+int64(i), 0, "U1", "licenses", "sub1")
		}
		fresh := tAudit.AddDate(0, 0, -100).UnixMilli()
		for i := range 10 {
			addAudit(t, s, "T1", fresh+int64(i), 0, "U1", "licenses", "sub1")
		}
		p := page(t, s, "T1", store.AuditQuery{Limit: 100})
		if len(p.Entries) != 10 || p.Older != "" {
			t.Fatalf("shown %d entries (Older %q), want the 10 kept", len(p.Entries), p.Older)
		}
		// A settings change trims in the same step.
		if err := s.SetAdminChannel(ctx, "T1", "U1", "#billing"); err != nil {
			t.Fatal(err)
		}
		n, err := s.Client().XLen(ctx, "bb:{T1}:audit").Result()
		if err != nil {
			t.Fatal(err)
		}
		// XTRIM MINID ~ drops whole nodes of (at most) 100 entries: a node
		// that holds kept entries stays.
		if n < 11 || n > 111 {
			t.Fatalf("%d entries in the stream after the trim, want 11 and at most a node more", n)
		}
		// 301 days later the 10 are past 400 days too.
		now = tAudit.AddDate(0, 0, 301)
		if p := page(t, s, "T1", store.AuditQuery{Limit: 100}); len(p.Entries) != 1 || p.Entries[0].Action != "admin-channel" {
			t.Fatalf("after 301 days: %v", ids(p))
		}
		if err := s.TrimAudit(ctx, "T1"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Client().XLen(ctx, "bb:{T1}:audit").Result(); n > 11 {
			t.Fatalf("%d entries after TrimAudit", n)
		}
	})
}
