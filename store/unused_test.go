package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/store"
)

// The contract of unused licenses, on miniredis and on a real redis-server.

func TestUnusedMiniredis(t *testing.T) {
	runUnused(t, func(t *testing.T) *store.Store { return connect(t, miniredis.RunT(t).Addr()) })
}

func TestUnusedRedis(t *testing.T) {
	runUnused(t, realStore(t))
}

func runUnused(t *testing.T, newStore func(t *testing.T) *store.Store) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"free licenses are tracked by every change", testUnusedLevels},
		{"only paid licenses count", testUnusedPaidOnly},
		{"told once a week at most", testUnusedTell},
		{"one check per subscription", testUnusedJob},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, &fixture{s: newStore(t), ctx: t.Context()})
		})
	}
}

// day is the unit the tests move time by; at moves the fixture's clock.
const day = 24 * time.Hour

func (f *fixture) at(t time.Time) { f.ctx = store.At(context.WithoutCancel(f.ctx), t) }

// levels are a subscription's free levels as the store keeps them.
func (f *fixture) levels(t *testing.T, org, id string) []store.FreeLevel {
	t.Helper()
	_, u, err := f.s.UnusedOf(f.ctx, org, id)
	if err != nil {
		t.Fatalf("UnusedOf(%s): %v", id, err)
	}
	return u.Levels
}

func lv(pairs ...any) []store.FreeLevel {
	var out []store.FreeLevel
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, store.FreeLevel{Free: pairs[i].(int), Since: sec(pairs[i+1].(time.Time))})
	}
	return out
}

func testUnusedLevels(t *testing.T, f *fixture) {
	check := func(what string, want []store.FreeLevel) {
		t.Helper()
		if got := f.levels(t, orgA, "sub1"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: levels %+v, want %+v", what, got, want)
		}
	}
	f.at(t0)
	f.create(t, purchase(orgA, "sub1", 5), nil)
	check("bought 5", lv(5, t0))

	f.at(t0.Add(day))
	f.assign(t, orgA, "sub1", "U1", "U2")
	check("2 assigned", lv(3, t0))

	f.at(t0.Add(2 * day))
	if _, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U1"}); err != nil {
		t.Fatal(err)
	}
	check("1 unassigned", lv(3, t0, 4, t0.Add(2*day)))
	_, u, _ := f.s.UnusedOf(f.ctx, orgA, "sub1")
	for _, c := range []struct {
		cutoff time.Time
		want   int
	}{{t0.Add(-time.Second), 0}, {t0, 3}, {t0.Add(day), 3}, {t0.Add(2 * day), 4}, {t0.Add(9 * day), 4}} {
		if got := u.Count(c.cutoff); got != c.want {
			t.Errorf("Count(%v) = %d, want %d", c.cutoff, got, c.want)
		}
	}
	if got := u.FreeSince(); !got.Equal(sec(t0)) {
		t.Errorf("FreeSince = %v, want %v", got, sec(t0))
	}

	// A repeated request changes nothing, its time included.
	once := f.idem()
	f.at(t0.Add(3 * day))
	for range 2 {
		if _, err := f.s.ScheduleLicenses(f.ctx, once, orgA, buyer, "sub1", 3, 5, 0); err != nil {
			t.Fatal(err)
		}
	}
	check("reduced to 3 from the next period, 1 assigned", lv(2, t0))

	f.at(t0.Add(4 * day))
	if _, err := f.s.ScheduleLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", 0, 5, 3); err != nil {
		t.Fatal(err)
	}
	check("reduction withdrawn", lv(2, t0, 4, t0.Add(4*day)))

	f.at(t0.Add(5 * day))
	if _, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", 3, 5); err != nil {
		t.Fatal(err)
	}
	check("total set to 3", lv(2, t0))

	f.at(t0.Add(6 * day))
	f.assign(t, orgA, "sub1", "U3", "U4")
	check("all assigned", nil)

	f.at(t0.Add(7 * day))
	if _, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U3"}); err != nil {
		t.Fatal(err)
	}
	check("one free again", lv(1, t0.Add(7*day)))

	// A refused change records nothing.
	f.at(t0.Add(8 * day))
	_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U5", "U6"))
	wantErr(t, "assign beyond free", err, store.ErrNoFreeLicenses)
	check("refused", lv(1, t0.Add(7*day)))

	if _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub1", "unused", "", t0.Add(8*day)); err != nil {
		t.Fatal(err)
	}
	check("canceled", nil)
}

func testUnusedPaidOnly(t *testing.T, f *fixture) {
	f.at(t0)
	f.create(t, trial(orgA, "tr1", excel, 5), nil)
	if got := f.levels(t, orgA, "tr1"); got != nil {
		t.Errorf("trial: levels %+v, want none", got)
	}
	pending := purchase(orgA, "sub1", 4)
	pending.Status = store.StatusPending
	inv := invoice(pending, "inv1", t0, 4, "purchase")
	inv.Grant = &store.Grant{Kind: store.GrantPurchase}
	f.create(t, pending, inv)
	if got := f.levels(t, orgA, "sub1"); got != nil {
		t.Errorf("pending: levels %+v, want none", got)
	}
	f.at(t0.Add(time.Hour))
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoicePaid); err != nil || !ok {
		t.Fatalf("paid = %v, %v", ok, err)
	}
	if got, want := f.levels(t, orgA, "sub1"), lv(4, t0.Add(time.Hour)); !reflect.DeepEqual(got, want) {
		t.Errorf("paid: levels %+v, want %+v", got, want)
	}
	v := f.view(t, orgA, buyer, store.ViewOptions{All: true})
	if got := v.Unused["sub1"].Count(t0.Add(time.Hour)); got != 4 {
		t.Errorf("view: %d unused, want 4 (%+v)", got, v.Unused)
	}
	if _, ok := v.Unused["tr1"]; ok {
		t.Errorf("view: the trial has unused licenses: %+v", v.Unused)
	}
}

func testUnusedTell(t *testing.T, f *fixture) {
	note := func(k string) *store.Note { return &store.Note{Key: k, Body: "{}"} }
	outbox := func() int64 { return f.s.Client().XLen(f.ctx, "bb:{"+orgA+"}:outbox").Val() }
	after := 30 * day
	tell := func(now time.Time, count int) (bool, error) {
		f.at(now)
		return f.s.TellUnused(f.ctx, orgA, "sub1", now.Add(-after), 7*day, count, note("unused:"+now.String()))
	}
	f.at(t0)
	f.create(t, purchase(orgA, "sub1", 5), nil)
	f.assign(t, orgA, "sub1", "U1")

	if ok, err := tell(t0.Add(29*day), 4); err != nil || ok {
		t.Errorf("after 29 days: told %v, %v; want nothing", ok, err)
	}
	n := outbox()
	if _, err := tell(t0.Add(30*day), 3); !errors.Is(err, store.ErrStale) {
		t.Errorf("with a wrong count: %v, want ErrStale", err)
	}
	if ok, err := tell(t0.Add(30*day), 4); err != nil || !ok {
		t.Errorf("after 30 days: told %v, %v; want told", ok, err)
	}
	if ok, err := tell(t0.Add(36*day), 4); err != nil || ok {
		t.Errorf("6 days later: told %v, %v; want nothing", ok, err)
	}
	if got := outbox() - n; got != 1 {
		t.Errorf("%d notifications, want 1", got)
	}
	if _, u, _ := f.s.UnusedOf(f.ctx, orgA, "sub1"); !u.Told.Equal(sec(t0.Add(30 * day))) {
		t.Errorf("told at %v, want %v", u.Told, sec(t0.Add(30*day)))
	}
	if ok, err := tell(t0.Add(37*day), 4); err != nil || !ok {
		t.Errorf("7 days later: told %v, %v; want told", ok, err)
	}
	last := f.audit(t, orgA)[0] // newest first
	if last.Action != "unused-told" || last.Target != "sub1" || last.After != "4" || last.Actor != "scheduler" {
		t.Errorf("audit entry %+v, want unused-told of sub1 with 4", last)
	}

	// Assigned meanwhile: nothing to tell.
	f.at(t0.Add(40 * day))
	f.assign(t, orgA, "sub1", "U2", "U3", "U4", "U5")
	if ok, err := tell(t0.Add(44*day), 4); err != nil || ok {
		t.Errorf("all assigned: told %v, %v; want nothing", ok, err)
	}
	if _, err := f.s.TellUnused(f.ctx, orgA, "nosuch", t0, 7*day, 1, note("x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown subscription: %v, want ErrNotFound", err)
	}
	if _, err := f.s.TellUnused(f.ctx, orgA, "sub1", t0, 7*day, 0, note("x")); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("nothing to tell: %v, want ErrInvalid", err)
	}
}

func testUnusedJob(t *testing.T, f *fixture) {
	j := store.Job{Kind: store.JobUnused, Org: orgA, SubID: "sub1", Due: t0}
	later := j
	later.Due = t0.Add(7 * day)
	if err := f.s.Schedule(f.ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Schedule(f.ctx, later); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.ClaimDue(f.ctx, t0.Add(day), time.Minute, 10); err != nil || len(got) != 0 {
		t.Errorf("claimed %+v, %v before the check moved to is due; want none", got, err)
	}
	got, err := f.s.ClaimDue(f.ctx, t0.Add(8*day), time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Kind != store.JobUnused || got[0].SubID != "sub1" {
		t.Fatalf("claimed %+v, %v; want the one check", got, err)
	}
	// Scheduled again while it runs, then done: the next one stays.
	next := j
	next.Due = t0.Add(15 * day)
	if err := f.s.Schedule(f.ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Done(f.ctx, got[0]); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.ClaimDue(f.ctx, t0.Add(15*day), time.Minute, 10); err != nil || len(got) != 1 {
		t.Errorf("claimed %+v, %v; want the check scheduled again", got, err)
	}
}
