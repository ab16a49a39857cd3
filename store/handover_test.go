package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// TestHandoverStore runs the handover's cases on miniredis, a real
// redis-server and (unless -short) a Redis Cluster, where every key a
// script touches must be in the organization's slot.
func TestHandoverStore(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"member left", testMemberLeft},
		{"decide", testDecideHandover},
		{"back and end", testHandoverBackAndEnd},
		{"trial ends while pending", testHandoverTrialEnds},
	}
	backends := map[string]func(t *testing.T) *store.Store{
		"miniredis": func(t *testing.T) *store.Store { return connect(t, miniredis.RunT(t).Addr()) },
		"redis":     realStore(t),
	}
	if !testing.Short() {
		addrs := redistest.Cluster(t)
		backends["cluster"] = func(t *testing.T) *store.Store {
			rdb, err := store.Connect("redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2])
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			if err := forEachServer(t.Context(), rdb, func(ctx context.Context, c *redis.Client) error {
				return c.FlushAll(ctx).Err()
			}); err != nil {
				t.Fatalf("FLUSHALL: %v", err)
			}
			return store.New(rdb)
		}
	}
	for _, backend := range []string{"miniredis", "redis", "cluster"} {
		newStore, ok := backends[backend]
		if !ok {
			continue
		}
		t.Run(backend, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, &fixture{s: newStore(t), ctx: t.Context()}) })
			}
		})
	}
}

// holder is someone who holds licenses of the buyer's subscriptions.
const holder = "U1HOLDER"

// handoverFixture: the buyer bought sub1 (licenses held by the holder and
// the buyer) and holds a license of another's sub2.
func handoverFixture(t *testing.T, f *fixture) {
	t.Helper()
	f.create(t, purchase(orgA, "sub1", 5), nil)
	f.assign(t, orgA, "sub1", holder, buyer)
	other := purchase(orgA, "sub2", 3)
	other.Purchaser = store.Member{ID: admin, Name: "Ada Admin"}
	f.create(t, other, nil)
	if _, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, admin, "sub2", members(buyer)); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) departure(t *testing.T, user string) store.Departure {
	t.Helper()
	d, err := f.s.Departure(f.ctx, orgA, user)
	if err != nil {
		t.Fatalf("Departure: %v", err)
	}
	return d
}

func testMemberLeft(t *testing.T, f *fixture) {
	handoverFixture(t, f)
	d := f.departure(t, buyer)
	if len(d.Bought) != 1 || len(d.Held) != 2 || !d.Left.IsZero() {
		t.Fatalf("departure %+v", d)
	}
	// What was read changed meanwhile: stale, and nothing changes.
	f.create(t, purchase(orgA, "sub3", 1), nil)
	before := f.snapshot(t)
	if _, err := f.s.MemberLeft(f.ctx, orgA, d, t0, nil, nil); !errors.Is(err, store.ErrStale) {
		t.Fatalf("MemberLeft on a stale read: %v, want ErrStale", err)
	}
	f.unchanged(t, before, "a stale MemberLeft")
	d = f.departure(t, buyer)
	note := &store.Note{Key: "k1", Body: `{}`}
	if ok, err := f.s.MemberLeft(f.ctx, orgA, d, t0, []*store.Note{note}, nil); !ok || err != nil {
		t.Fatalf("MemberLeft = %v, %v", ok, err)
	}
	if ok, err := f.s.MemberLeft(f.ctx, orgA, d, t0, []*store.Note{note}, nil); ok || err != nil {
		t.Fatalf("MemberLeft again = %v, %v; want false, nil", ok, err)
	}
	entries, err := f.s.Outbox(f.ctx, orgA, 100)
	if err != nil || len(entries) != 1 {
		t.Errorf("outbox %d entries, %v; want 1", len(entries), err)
	}
	for _, id := range []string{"sub1", "sub3"} {
		if s := f.sub(t, orgA, id); s.Handover != store.HandoverPending || !s.HandoverFrom.Equal(sec(t0)) {
			t.Errorf("%s: handover %q since %v", id, s.Handover, s.HandoverFrom)
		}
	}
	if s := f.sub(t, orgA, "sub1"); s.IsAssigned(buyer) || !s.IsAssigned(holder) {
		t.Errorf("sub1 holders %+v", s.Assigned)
	}
	if s := f.sub(t, orgA, "sub2"); s.AssignedCount != 0 || s.Handover != "" {
		t.Errorf("sub2: %d assigned, handover %q", s.AssignedCount, s.Handover)
	}
	// The license freed counts among the unused ones.
	if _, u, err := f.s.UnusedOf(f.ctx, orgA, "sub2"); err != nil || u.Count(time.Now().Add(time.Hour)) != 3 {
		t.Errorf("sub2 unused %+v, %v; want all 3 licenses free", u, err)
	}
	if left, _ := f.s.Left(f.ctx, orgA, buyer); !left {
		t.Error("not recorded as left")
	}
	pending, n, err := f.s.PendingHandovers(f.ctx, orgA, 10)
	if err != nil || n != 2 || len(pending) != 2 {
		t.Errorf("PendingHandovers: %d of %d, %v", len(pending), n, err)
	}
	people, next, err := f.s.People(f.ctx, orgA, 0, 100)
	if err != nil || next != 0 || !slices.Equal(people, []string{holder, admin}) {
		t.Errorf("People = %v, %d, %v; want the admin and the holder (the buyer left)", people, next, err)
	}
	var actions []string
	for _, a := range f.audit(t, orgA) {
		if a.Actor == "platform" {
			actions = append(actions, a.Action+" "+a.Target)
		}
	}
	for _, want := range []string{"handover-ask U0BUYER sub1", "unassign U0BUYER sub1", "unassign U0BUYER sub2", "member-left U0BUYER"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit lacks %q: %v", want, actions)
		}
	}
}

func testDecideHandover(t *testing.T, f *fixture) {
	handoverFixture(t, f)
	if _, err := f.s.DecideHandover(f.ctx, f.idem(), orgA, store.Member{ID: admin, Name: "Ada"}, "sub1", store.DecideTake,
		"p", "m", t0); !errors.Is(err, store.ErrStale) {
		t.Fatalf("deciding what nobody asked: %v, want ErrStale", err)
	}
	if _, err := f.s.MemberLeft(f.ctx, orgA, f.departure(t, buyer), t0, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.DecideHandover(f.ctx, f.idem(), orgA, store.Member{ID: admin}, "sub1", "keep", "", "", t0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown decision: %v", err)
	}
	// The renewal waits.
	renews := f.sub(t, orgA, "sub1").RenewsAt
	if a, err := f.s.Settle(f.ctx, store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: renews},
		renews.AddDate(0, 1, 0), nil, nil); a != "wait" || err != nil {
		t.Errorf("Settle while pending = %q, %v; want wait", a, err)
	}
	// Two admins at once: one decision.
	const admin2 = "U8ADMIN"
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, d := range []struct{ who, what string }{{admin, store.DecideTake}, {admin2, store.DecideCancel}} {
		wg.Go(func() {
			_, errs[i] = f.s.DecideHandover(f.ctx, store.Once{Key: "decide-" + d.who}, orgA, store.Member{ID: d.who, Name: d.who},
				"sub1", d.what, "prof9", "pm9", t0)
		})
	}
	wg.Wait()
	s := f.sub(t, orgA, "sub1")
	winner, loser := 0, 1
	if errs[0] != nil {
		winner, loser = 1, 0
	}
	if errs[winner] != nil || !errors.Is(errs[loser], store.ErrDecided) {
		t.Fatalf("errors %v", errs)
	}
	if by := store.Users(errs[loser]); len(by) != 1 || by[0] != s.HandoverBy.ID {
		t.Errorf("the loser is told %v decided, but %s did", by, s.HandoverBy.ID)
	}
	switch s.Handover {
	case store.HandoverTaken:
		if s.Purchaser.ID != admin || s.MethodID != "pm9" || s.ProfileID != "prof9" || s.Status != store.StatusActive {
			t.Errorf("taken: %+v", s)
		}
		if ids := f.subIDs(t, orgA, admin, false); !slices.Contains(ids, "sub1") {
			t.Errorf("the admin's subscriptions %v", ids)
		}
		if ids := f.subIDs(t, orgA, buyer, false); slices.Contains(ids, "sub1") {
			t.Errorf("the leaver's subscriptions %v", ids)
		}
	case store.HandoverCanceled:
		if s.Status != store.StatusCanceled || s.Purchaser.ID != buyer {
			t.Errorf("canceled: %+v", s)
		}
	default:
		t.Fatalf("handover %q", s.Handover)
	}
	if _, n, _ := f.s.PendingHandovers(f.ctx, orgA, 10); n != 0 {
		t.Errorf("%d pending after the decision", n)
	}
	// A repeat of the winner's request is its first answer.
	again, err := f.s.DecideHandover(f.ctx, store.Once{Key: "decide-" + []string{admin, admin2}[winner]}, orgA,
		store.Member{ID: admin}, "sub1", store.DecideTake, "", "", t0)
	if err != nil || !again.Repeat {
		t.Errorf("repeat: %+v, %v", again, err)
	}
}

func testHandoverBackAndEnd(t *testing.T, f *fixture) {
	handoverFixture(t, f)
	if ok, err := f.s.MemberBack(f.ctx, orgA, f.departure(t, buyer), nil); ok || err != nil {
		t.Errorf("back without leaving = %v, %v", ok, err)
	}
	if _, err := f.s.MemberLeft(f.ctx, orgA, f.departure(t, buyer), t0, nil, nil); err != nil {
		t.Fatal(err)
	}
	d := f.departure(t, buyer)
	if ok, err := f.s.MemberBack(f.ctx, orgA, d, nil); !ok || err != nil {
		t.Fatalf("MemberBack = %v, %v", ok, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Handover != store.HandoverWithdrawn {
		t.Errorf("after back: %q", s.Handover)
	}
	// Left again, and nobody decides: the end of the grace.
	if _, err := f.s.MemberLeft(f.ctx, orgA, f.departure(t, buyer), t0, nil, nil); err != nil {
		t.Fatal(err)
	}
	renews := f.sub(t, orgA, "sub1").RenewsAt
	if a, err := f.s.EndHandover(f.ctx, orgA, "sub1", renews.Add(time.Hour), nil); a != "" || err != nil {
		t.Errorf("EndHandover of another period = %q, %v", a, err)
	}
	if a, err := f.s.EndHandover(f.ctx, orgA, "sub1", renews, nil); a != "expire" || err != nil {
		t.Errorf("EndHandover = %q, %v", a, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Status != store.StatusExpired || s.Handover != store.HandoverLapsed {
		t.Errorf("after the end: %s %q", s.Status, s.Handover)
	}
	if a, err := f.s.EndHandover(f.ctx, orgA, "sub1", renews, nil); a != "" || err != nil {
		t.Errorf("EndHandover again = %q, %v", a, err)
	}
}

// testHandoverTrialEnds: a trial whose purchaser left ends by itself before
// an admin decides: it leaves the pending handovers (nothing is left to
// take over), so that their count is what the list shows.
func testHandoverTrialEnds(t *testing.T, f *fixture) {
	tr := trial(orgA, "tr1", word, 2)
	f.create(t, tr, nil)
	if _, err := f.s.MemberLeft(f.ctx, orgA, f.departure(t, buyer), t0, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, n, err := f.s.PendingHandovers(f.ctx, orgA, 10); n != 1 || err != nil {
		t.Fatalf("PendingHandovers: %d, %v; want the trial", n, err)
	}
	end := store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr1", Due: tr.TrialEnd}
	if a, err := f.s.Settle(f.ctx, end, time.Time{}, nil, nil); a != "expire" || err != nil {
		t.Fatalf("Settle(trial end) = %q, %v; want expire", a, err)
	}
	if s := f.sub(t, orgA, "tr1"); s.Status != store.StatusExpired || s.Handover != store.HandoverLapsed {
		t.Errorf("trial: %s, handover %q; want expired, lapsed", s.Status, s.Handover)
	}
	if pending, n, err := f.s.PendingHandovers(f.ctx, orgA, 10); n != 0 || len(pending) != 0 || err != nil {
		t.Errorf("PendingHandovers: %d of %d, %v; want none", len(pending), n, err)
	}
	// The handover's end, due later, finds nothing to do.
	if a, err := f.s.EndHandover(f.ctx, orgA, "tr1", tr.TrialEnd, nil); a != "" || err != nil {
		t.Errorf("EndHandover = %q, %v; want nothing to do", a, err)
	}
}
