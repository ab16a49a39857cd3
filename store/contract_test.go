package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store"
)

// Organizations, people and products of the contract's fixtures.
const (
	orgA  = "T01ACME"
	orgB  = "T02GLOBEX"
	buyer = "U0BUYER"
	admin = "U9ADMIN"
	word  = "word"
	excel = "excel"
)

// t0 is when the fixtures' purchases happen: not UTC and not a whole second,
// so that the store has to normalize it.
var t0 = time.Date(2025, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// sec is t as the store keeps it: whole seconds, UTC.
func sec(t time.Time) time.Time { return time.Unix(t.Unix(), 0).UTC() }

// clocks maps a store to the miniredis behind it, for contract cases that
// need time to pass for TTLs; on real Redis they wait (bounded) instead.
var clocks sync.Map // *store.Store → *miniredis.Miniredis

// runContract checks the behaviour that billingbot relies on from any Redis
// the store runs on. newStore returns a store on an empty database.
func runContract(t *testing.T, newStore func(t *testing.T) *store.Store) {
	cases := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"create purchase and view it", testCreatePurchase},
		{"invoices in a date range", testInvoiceRange},
		{"pages of the organization's and the user's subscriptions", testViewPages},
		{"one trial per product and organization", testTrialOnce},
		{"organizations are separate", testOrgIsolation},
		{"assign licenses", testAssign},
		{"assign someone already assigned", testAssignAlreadyAssigned},
		{"assign beyond free licenses", testAssignNoFree},
		{"view lists at most MaxListed holders", testViewListsSome},
		{"a repeat gets the recorded reply", testReply},
		{"assign limits", testAssignLimits},
		{"unassign licenses", testUnassign},
		{"holders see the subscription", testHoldsIndex},
		{"only the purchaser changes a subscription", testPermission},
		{"set licenses", testSetLicenses},
		{"fewer licenses from the next period", testScheduleLicenses},
		{"invoices grant what they buy", testGrants},
		{"cancel", testCancel},
		{"end a trial now", testEndTrial},
		{"remind again", testRemindAgain},
		{"convert trial", testConvertTrial},
		{"idempotency", testIdempotency},
		{"audit", testAudit},
		{"save billing compare and set", testSaveBilling},
		{"remove a payment method", testRemoveMethod},
		{"card attempts", testCardAttempts},
		{"rate limit: a sliding minute", testRateLimit},
		{"invoice status", testInvoiceStatus},
		{"prefs and settings", testPrefsSettings},
		{"organization language", testOrgLanguage},
		{"pay link single use", testPayLink},
		{"pay link expires", testPayLinkExpires},
		{"scheduler", testScheduler},
		{"settle trial end", testSettleTrialEnd},
		{"settle renewal", testSettleRenewal},
		{"invalid ids never become keys", testInvalidIDs},
		{"outbox: notifications with their changes", testOutboxWithChanges},
		{"outbox: fetch and done", testOutboxDeliver},
		{"outbox: claim from a dead sender, release", testOutboxClaim},
		{"outbox: retry and dead letters", testOutboxRetryDead},
		{"outbox: delivered marks", testDeliveredMarks},
		{"a late change does nothing", testLateChange},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			c.run(t, &fixture{s: s, ctx: t.Context()})
		})
	}
}

// fixture is a store under test with helpers that fail the test on errors.
type fixture struct {
	s   *store.Store
	ctx context.Context
	n   int
}

// idem returns a new idempotency key.
func (f *fixture) idem() store.Once {
	f.n++
	return store.Once{Key: "req-" + strconv.Itoa(f.n)}
}

func purchase(org, id string, total int) store.Subscription {
	return store.Subscription{
		ID: id, Org: org, ProductID: word, ProductName: "Word",
		Purchaser:   store.Member{ID: buyer, Name: "Bea Buyer"},
		SelfService: true, Status: store.StatusActive, Total: total,
		Period: store.Monthly, UnitPrice: 1299, Currency: "EUR",
		ProfileID: "prof1", MethodID: "pm1",
		PurchasedAt: t0, RenewsAt: t0.AddDate(0, 1, 0),
	}
}

func trial(org, id, product string, total int) store.Subscription {
	return store.Subscription{
		ID: id, Org: org, ProductID: product, ProductName: strings.ToUpper(product),
		Purchaser:   store.Member{ID: buyer, Name: "Bea Buyer"},
		SelfService: true, Status: store.StatusTrial, Total: total,
		Period: store.Monthly, Currency: "EUR",
		PurchasedAt: t0, TrialEnd: t0.AddDate(0, 0, 30),
	}
}

func invoice(s store.Subscription, id string, date time.Time, qty int, kind string) *store.Invoice {
	return &store.Invoice{
		ID: id, Org: s.Org, User: s.Purchaser.ID, ProfileID: s.ProfileID, SubID: s.ID,
		Date: sec(date),
		Lines: []store.InvoiceLine{{Product: s.ProductName, Quantity: qty, UnitPrice: s.UnitPrice,
			Amount: int64(qty) * s.UnitPrice, Kind: kind}},
		Total: int64(qty) * s.UnitPrice, Currency: s.Currency, Status: store.InvoiceOpen,
	}
}

// stored is sub as the store gives it back.
func stored(sub store.Subscription) store.Subscription {
	for _, p := range []*time.Time{&sub.PurchasedAt, &sub.RenewsAt, &sub.TrialEnd, &sub.CanceledAt} {
		if !p.IsZero() {
			*p = sec(*p)
		}
	}
	return sub
}

func members(ids ...string) []store.Member {
	out := make([]store.Member, len(ids))
	for i, id := range ids {
		out[i] = store.Member{ID: id, Name: "Name of " + id}
	}
	return out
}

func (f *fixture) create(t *testing.T, sub store.Subscription, inv *store.Invoice) {
	t.Helper()
	r, err := f.s.CreateSubscription(f.ctx, f.idem(), sub, inv)
	if err != nil {
		t.Fatalf("CreateSubscription(%s): %v", sub.ID, err)
	}
	if want := (store.Result{Value: sub.ID}); r != want {
		t.Fatalf("CreateSubscription(%s) = %+v, want %+v", sub.ID, r, want)
	}
}

func (f *fixture) assign(t *testing.T, org, subID string, users ...string) {
	t.Helper()
	if _, err := f.s.AssignLicenses(f.ctx, f.idem(), org, buyer, subID, members(users...)); err != nil {
		t.Fatalf("AssignLicenses(%s, %v): %v", subID, users, err)
	}
}

func (f *fixture) sub(t *testing.T, org, id string) store.Subscription {
	t.Helper()
	s, err := f.s.Subscription(f.ctx, org, id)
	if err != nil {
		t.Fatalf("Subscription(%s, %s): %v", org, id, err)
	}
	return s
}

func (f *fixture) view(t *testing.T, org, user string, opt store.ViewOptions) store.View {
	t.Helper()
	v, err := f.s.View(f.ctx, org, user, opt)
	if err != nil {
		t.Fatalf("View(%s, %s): %v", org, user, err)
	}
	return v
}

// subIDs are the ids of the subscriptions user sees.
func (f *fixture) subIDs(t *testing.T, org, user string, all bool) []string {
	t.Helper()
	ids := []string{}
	for _, s := range f.view(t, org, user, store.ViewOptions{All: all}).Subs {
		ids = append(ids, s.ID)
	}
	return ids
}

func (f *fixture) audit(t *testing.T, org string) []store.AuditEntry {
	t.Helper()
	a, err := f.s.Audit(f.ctx, org, 1000)
	if err != nil {
		t.Fatalf("Audit(%s): %v", org, err)
	}
	return a
}

// invoiceIDs are the ids of the invoices user sees in [from, to].
func (f *fixture) invoiceIDs(t *testing.T, org, user string, from, to time.Time, max int) ([]string, bool) {
	t.Helper()
	v := f.view(t, org, user, store.ViewOptions{InvoicesFrom: from, InvoicesTo: to, MaxInvoices: max})
	ids := []string{}
	for _, inv := range v.Invoices {
		ids = append(ids, inv.ID)
	}
	return ids, v.More
}

// snapshot is every key of the database with its type and content.
func (f *fixture) snapshot(t *testing.T) map[string]string {
	t.Helper()
	rdb := f.s.Client()
	var keys []string
	var mu sync.Mutex
	err := forEachServer(f.ctx, rdb, func(ctx context.Context, c *redis.Client) error {
		k, err := c.Keys(ctx, "*").Result()
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, k...)
		return err
	})
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		typ := rdb.Type(f.ctx, k).Val()
		var v any
		switch typ {
		case "string":
			v = rdb.Get(f.ctx, k).Val()
		case "hash":
			v = rdb.HGetAll(f.ctx, k).Val()
		case "set":
			m := rdb.SMembers(f.ctx, k).Val()
			sort.Strings(m)
			v = m
		case "zset":
			v = rdb.ZRangeWithScores(f.ctx, k, 0, -1).Val()
		case "stream":
			v = rdb.XRange(f.ctx, k, "-", "+").Val()
		case "list":
			v = rdb.LRange(f.ctx, k, 0, -1).Val()
		}
		out[k] = typ + " " + fmt.Sprint(v)
	}
	return out
}

// forEachServer runs fn on every master of a cluster, or on the one server.
func forEachServer(ctx context.Context, rdb redis.UniversalClient, fn func(context.Context, *redis.Client) error) error {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return fn(ctx, c)
	}
	return fmt.Errorf("unknown client %T", rdb)
}

// outboxDue is the senders' schedule of looks at outboxes: a change that
// carries a notification marks its organization in the same round trip,
// refused or not (a look that finds nothing costs nothing), so it is no
// part of what a refused change must leave alone.
const outboxDue = "bb:{outbox}:due"

// unchanged fails the test if the database differs from before.
func (f *fixture) unchanged(t *testing.T, before map[string]string, what string) {
	t.Helper()
	after := f.snapshot(t)
	for k, v := range after {
		if k == outboxDue {
			continue
		}
		if before[k] != v {
			t.Errorf("%s changed %s:\n got %s\nwant %s", what, k, v, before[k])
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("%s deleted %s", what, k)
		}
	}
}

// elapse lets d pass for the database's TTLs: at once on miniredis; on
// real Redis cond is polled (bounded) until it holds.
func (f *fixture) elapse(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	if m, ok := clocks.Load(f.s); ok {
		m.(*miniredis.Miniredis).FastForward(d)
	}
	deadline := time.Now().Add(d + 5*time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not the case %v after %v", d+5*time.Second, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantErr(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got error %v, want %v", what, err, kind)
	}
}

func wantUsers(t *testing.T, what string, err error, users ...string) {
	t.Helper()
	if got := store.Users(err); !slices.Equal(got, users) {
		t.Errorf("%s: error names users %q, want %q", what, got, users)
	}
}

func testCreatePurchase(t *testing.T, f *fixture) {
	monthly := purchase(orgA, "sub1", 5)
	annual := purchase(orgA, "sub2", 2)
	annual.SelfService, annual.Period, annual.UnitPrice, annual.Currency = false, store.Annual, 123456, "USD"
	annual.PurchasedAt, annual.RenewsAt = t0.Add(time.Hour), t0.Add(time.Hour).AddDate(1, 0, 0)
	day := 24 * time.Hour
	for _, sub := range []store.Subscription{monthly, annual} {
		t.Run(sub.ID, func(t *testing.T) {
			inv := invoice(sub, "inv-"+sub.ID, sub.PurchasedAt, sub.Total, "purchase")
			f.create(t, sub, inv)
			want := stored(sub)
			if got := f.sub(t, orgA, sub.ID); !reflect.DeepEqual(got, want) {
				t.Errorf("Subscription:\n got %+v\nwant %+v", got, want)
			}
			if got := f.sub(t, orgA, sub.ID); got.PurchasedAt.Location() != time.UTC {
				t.Errorf("PurchasedAt in %v, want UTC", got.PurchasedAt.Location())
			}
			v := f.view(t, orgA, buyer, store.ViewOptions{InvoicesFrom: sub.PurchasedAt.Add(-day), InvoicesTo: sub.PurchasedAt.Add(day)})
			i := slices.IndexFunc(v.Subs, func(s store.Subscription) bool { return s.ID == sub.ID })
			if i < 0 {
				t.Fatalf("View of purchaser: %s missing from %+v", sub.ID, v.Subs)
			}
			if !reflect.DeepEqual(v.Subs[i], want) {
				t.Errorf("View of purchaser:\n got %+v\nwant %+v", v.Subs[i], want)
			}
			if len(v.Invoices) == 0 || !reflect.DeepEqual(v.Invoices[0], *inv) {
				t.Errorf("View invoices:\n got %+v\nwant first %+v", v.Invoices, *inv)
			}
			got, err := f.s.Invoice(f.ctx, orgA, inv.ID)
			if err != nil || !reflect.DeepEqual(got, *inv) {
				t.Errorf("Invoice = %+v, %v; want %+v", got, err, *inv)
			}
		})
	}
	if got, want := f.subIDs(t, orgA, buyer, false), []string{"sub2", "sub1"}; !slices.Equal(got, want) {
		t.Errorf("purchaser's subscriptions = %v, want %v (newest first)", got, want)
	}
	if got := f.subIDs(t, orgA, "U1OTHER", false); len(got) != 0 {
		t.Errorf("someone else's subscriptions = %v, want none", got)
	}
	if got, want := f.subIDs(t, orgA, admin, true), []string{"sub2", "sub1"}; !slices.Equal(got, want) {
		t.Errorf("admin view (All) = %v, want %v", got, want)
	}
	if ids, _ := f.invoiceIDs(t, orgA, buyer, t0.Add(2*day), t0.Add(3*day), 0); len(ids) != 0 {
		t.Errorf("invoices outside the range = %v, want none", ids)
	}
	if v := f.view(t, orgA, buyer, store.ViewOptions{}); len(v.Invoices) != 0 {
		t.Errorf("view without a range has invoices %v, want none", v.Invoices)
	}
	if _, err := f.s.Subscription(f.ctx, orgA, "nosuchsub"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Subscription(unknown): got %v, want ErrNotFound", err)
	}
	if _, err := f.s.Invoice(f.ctx, orgA, "nosuchinv"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Invoice(unknown): got %v, want ErrNotFound", err)
	}
	before := f.snapshot(t)
	_, err := f.s.CreateSubscription(f.ctx, f.idem(), purchase(orgA, "sub1", 9), nil)
	wantErr(t, "create with an existing id", err, store.ErrInvalid)
	f.unchanged(t, before, "create with an existing id")
}

func testInvoiceRange(t *testing.T, f *fixture) {
	dates := []time.Time{
		time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC),
		time.Date(2025, 2, 10, 12, 0, 0, 0, time.UTC),
		time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC),
		time.Date(2025, 4, 10, 12, 0, 0, 0, time.UTC),
	}
	for i, d := range dates {
		sub := purchase(orgA, fmt.Sprintf("sub%d", i+1), 1)
		sub.PurchasedAt = d
		f.create(t, sub, invoice(sub, fmt.Sprintf("inv%d", i+1), d, 1, "purchase"))
	}
	other := purchase(orgA, "other", 1)
	other.Purchaser = store.Member{ID: "U1OTHER", Name: "Otto"}
	f.create(t, other, invoice(other, "inv-other", dates[2], 1, "purchase"))

	tests := []struct {
		name     string
		from, to time.Time
		max      int
		want     []string
		more     bool
	}{
		{"february and march", time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC), 0, []string{"inv3", "inv2"}, false},
		{"bounds inclusive", dates[1], dates[2], 0, []string{"inv3", "inv2"}, false},
		{"just outside", dates[1].Add(time.Second), dates[2].Add(-time.Second), 0, []string{}, false},
		{"all newest first", dates[0], dates[3], 0, []string{"inv4", "inv3", "inv2", "inv1"}, false},
		{"truncated", dates[0], dates[3], 2, []string{"inv4", "inv3"}, true},
		{"exactly max", dates[0], dates[3], 4, []string{"inv4", "inv3", "inv2", "inv1"}, false},
		{"before all", dates[0].AddDate(-1, 0, 0), dates[0].Add(-time.Hour), 0, []string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := f.invoiceIDs(t, orgA, buyer, tt.from, tt.to, tt.max)
			if !slices.Equal(got, tt.want) || more != tt.more {
				t.Errorf("invoices = %v (more %v), want %v (more %v)", got, more, tt.want, tt.more)
			}
		})
	}
}

func testTrialOnce(t *testing.T, f *fixture) {
	first := trial(orgA, "tr1", excel, 3)
	f.create(t, first, nil)
	if got, want := f.sub(t, orgA, "tr1"), stored(first); !reflect.DeepEqual(got, want) {
		t.Errorf("trial:\n got %+v\nwant %+v", got, want)
	}

	before := f.snapshot(t)
	second := trial(orgA, "tr2", excel, 3)
	second.Purchaser = store.Member{ID: "U1OTHER", Name: "Otto"}
	_, err := f.s.CreateSubscription(f.ctx, f.idem(), second, nil)
	wantErr(t, "second trial in the organization", err, store.ErrTrialUsed)
	f.unchanged(t, before, "refused trial")
	if _, err := f.s.Subscription(f.ctx, orgA, "tr2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("refused trial: Subscription got %v, want ErrNotFound", err)
	}

	f.create(t, trial(orgB, "tr3", excel, 3), nil)
	f.create(t, trial(orgA, "tr4", word, 3), nil)

	products := []string{excel, word, "onenote"}
	for _, tt := range []struct {
		org  string
		want map[string]string
	}{
		{orgA, map[string]string{excel: "tr1", word: "tr4"}},
		{orgB, map[string]string{excel: "tr3"}},
	} {
		v := f.view(t, tt.org, "U1OTHER", store.ViewOptions{TrialProducts: products})
		if !reflect.DeepEqual(v.Trials, tt.want) {
			t.Errorf("View(%s).Trials = %v, want %v", tt.org, v.Trials, tt.want)
		}
	}
}

func testOrgIsolation(t *testing.T, f *fixture) {
	sub := purchase(orgA, "sub1", 5)
	f.create(t, sub, invoice(sub, "inv1", t0, 5, "purchase"))
	f.create(t, trial(orgA, "tr1", excel, 3), nil)
	f.assign(t, orgA, "sub1", "U1")
	if err := f.s.SetAdminChannel(f.ctx, orgA, admin, "C-ACME"); err != nil {
		t.Fatal(err)
	}

	v := f.view(t, orgB, buyer, store.ViewOptions{All: true, InvoicesFrom: t0.AddDate(-1, 0, 0), InvoicesTo: t0.AddDate(1, 0, 0), TrialProducts: []string{excel}})
	if len(v.Subs) != 0 || len(v.Invoices) != 0 || len(v.Trials) != 0 || v.Settings.AdminChannel != "" {
		t.Errorf("organization B sees A's data: %+v", v)
	}
	if got := f.subIDs(t, orgB, "U1", false); len(got) != 0 {
		t.Errorf("holder in B sees %v, want none", got)
	}
	_, err := f.s.Subscription(f.ctx, orgB, "sub1")
	wantErr(t, "Subscription(B, A's sub)", err, store.ErrNotFound)
	_, err = f.s.Invoice(f.ctx, orgB, "inv1")
	wantErr(t, "Invoice(B, A's invoice)", err, store.ErrNotFound)

	before := f.snapshot(t)
	_, err = f.s.AssignLicenses(f.ctx, f.idem(), orgB, buyer, "sub1", members("U2"))
	wantErr(t, "assign in B", err, store.ErrNotFound)
	_, err = f.s.UnassignLicenses(f.ctx, f.idem(), orgB, buyer, "sub1", []string{"U1"})
	wantErr(t, "unassign in B", err, store.ErrNotFound)
	_, err = f.s.SetLicenses(f.ctx, f.idem(), orgB, buyer, "sub1", 6, 5)
	wantErr(t, "set licenses in B", err, store.ErrNotFound)
	_, err = f.s.Cancel(f.ctx, f.idem(), orgB, buyer, "sub1", "other", "", t0)
	wantErr(t, "cancel in B", err, store.ErrNotFound)
	conv := trial(orgB, "tr1", excel, 3)
	conv.Status = store.StatusActive
	_, err = f.s.ConvertTrial(f.ctx, f.idem(), conv, *invoice(conv, "inv2", t0, 3, "purchase"))
	wantErr(t, "convert in B", err, store.ErrNotFound)
	f.unchanged(t, before, "changes through organization B")
	if a := f.audit(t, orgB); len(a) != 0 {
		t.Errorf("audit of B = %+v, want none", a)
	}
	// The same trial is still open to B.
	f.create(t, trial(orgB, "tr1", excel, 3), nil)
}

func testAssign(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 5), nil)
	users := []store.Member{{ID: "U1", Name: "Cem"}, {ID: "U2", Name: "Ada"}, {ID: "U3", Name: "Bo"}}
	r, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", users)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Result{Value: "3"}); r != want {
		t.Errorf("AssignLicenses = %+v, want %+v", r, want)
	}
	s := f.sub(t, orgA, "sub1")
	want := []store.Member{{ID: "U2", Name: "Ada"}, {ID: "U3", Name: "Bo"}, {ID: "U1", Name: "Cem"}}
	if !reflect.DeepEqual(s.Assigned, want) || s.Free() != 2 || s.Total != 5 {
		t.Errorf("after assigning 3 of 5: assigned %v, free %d, total %d; want %v, 2, 5", s.Assigned, s.Free(), s.Total, want)
	}
	r, err = f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U4", "U5"))
	if err != nil || r.Value != "5" {
		t.Fatalf("assign the last 2 = %+v, %v; want value 5", r, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Free() != 0 {
		t.Errorf("free = %d, want 0", s.Free())
	}
	// A trial's licenses can be assigned too.
	f.create(t, trial(orgA, "tr1", excel, 2), nil)
	f.assign(t, orgA, "tr1", "U1", "U2")
	if s := f.sub(t, orgA, "tr1"); s.Free() != 0 {
		t.Errorf("trial free = %d, want 0", s.Free())
	}
}

func testAssignAlreadyAssigned(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 10), nil)
	f.assign(t, orgA, "sub1", "U1", "U4")
	before := f.snapshot(t)
	_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U2", "U1", "U3"))
	wantErr(t, "assign with U1 assigned", err, store.ErrAlreadyAssigned)
	wantUsers(t, "assign with U1 assigned", err, "U1")
	_, err = f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U4", "U2", "U1"))
	wantErr(t, "assign with U4 and U1 assigned", err, store.ErrAlreadyAssigned)
	wantUsers(t, "assign with U4 and U1 assigned", err, "U4", "U1")
	f.unchanged(t, before, "refused assignment")
	if got := f.subIDs(t, orgA, "U2", false); len(got) != 0 {
		t.Errorf("U2 sees %v after a refused assignment, want none", got)
	}
}

func testAssignNoFree(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 3), nil)
	f.assign(t, orgA, "sub1", "U1")
	before := f.snapshot(t)
	_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U2", "U3", "U4"))
	wantErr(t, "assign 3 with 2 free", err, store.ErrNoFreeLicenses)
	f.unchanged(t, before, "assignment beyond free licenses")
	f.assign(t, orgA, "sub1", "U2", "U3")
	before = f.snapshot(t)
	_, err = f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U4"))
	wantErr(t, "assign 1 with none free", err, store.ErrNoFreeLicenses)
	f.unchanged(t, before, "assignment with none free")
}

func testAssignLimits(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 30), nil)
	many := func(n int) []store.Member {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("U%02d", i)
		}
		return members(ids...)
	}
	before := f.snapshot(t)
	for _, tt := range []struct {
		name  string
		users []store.Member
	}{
		{"21 users", many(21)},
		{"no users", nil},
		{"a user twice", members("U1", "U2", "U1")},
		{"an invalid user", members("U1", "U{2}")},
	} {
		_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", tt.users)
		wantErr(t, tt.name, err, store.ErrInvalid)
	}
	_, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", nil)
	wantErr(t, "unassign nobody", err, store.ErrInvalid)
	f.unchanged(t, before, "invalid assignments")
	r, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", many(20))
	if err != nil || r.Value != "20" {
		t.Errorf("assign 20 users = %+v, %v; want value 20", r, err)
	}
}

func testUnassign(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 5), nil)
	f.assign(t, orgA, "sub1", "U1", "U2", "U3")
	before := f.snapshot(t)
	_, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U4", "U2", "U5"})
	wantErr(t, "unassign with U4, U5 not assigned", err, store.ErrNotAssigned)
	wantUsers(t, "unassign with U4, U5 not assigned", err, "U4", "U5")
	_, err = f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U2", "U2"})
	wantErr(t, "unassign U2 twice", err, store.ErrInvalid)
	f.unchanged(t, before, "refused unassignment")

	r, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U2", "U3"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Result{Value: "1"}); r != want {
		t.Errorf("UnassignLicenses = %+v, want %+v", r, want)
	}
	s := f.sub(t, orgA, "sub1")
	if want := members("U1"); !reflect.DeepEqual(s.Assigned, want) || s.Free() != 4 {
		t.Errorf("after unassign: assigned %v, free %d; want %v, 4", s.Assigned, s.Free(), want)
	}
	// Freed licenses can be given again.
	f.assign(t, orgA, "sub1", "U2", "U3", "U4", "U5")
}

func testHoldsIndex(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 5), nil)
	f.create(t, trial(orgA, "tr1", excel, 5), nil)
	f.assign(t, orgA, "sub1", "U1", "U2")
	f.assign(t, orgA, "tr1", "U1")
	if got, want := f.subIDs(t, orgA, "U1", false), []string{"sub1", "tr1"}; !slices.Equal(got, want) {
		t.Errorf("U1 sees %v, want %v", got, want)
	}
	if got, want := f.subIDs(t, orgA, "U2", false), []string{"sub1"}; !slices.Equal(got, want) {
		t.Errorf("U2 sees %v, want %v", got, want)
	}
	v := f.view(t, orgA, "U2", store.ViewOptions{})
	if len(v.Subs) != 1 || !v.Subs[0].IsAssigned("U2") || v.Subs[0].Purchaser.ID != buyer {
		t.Errorf("U2's view of sub1 = %+v, want it assigned to U2, bought by %s", v.Subs, buyer)
	}
	if _, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U1"}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.subIDs(t, orgA, "U1", false), []string{"tr1"}; !slices.Equal(got, want) {
		t.Errorf("after unassign U1 sees %v, want %v", got, want)
	}
	if got, want := f.subIDs(t, orgA, buyer, false), []string{"sub1", "tr1"}; !slices.Equal(got, want) {
		t.Errorf("purchaser sees %v, want %v", got, want)
	}
}

func testPermission(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 5), nil)
	f.create(t, trial(orgA, "tr1", excel, 5), nil)
	f.assign(t, orgA, "sub1", "U1")
	const other = "U1"
	conv := trial(orgA, "tr1", excel, 5)
	conv.Purchaser.ID = other
	before := f.snapshot(t)
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"assign", func() error {
			_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, other, "sub1", members("U2"))
			return err
		}},
		{"unassign", func() error {
			_, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, other, "sub1", []string{"U1"})
			return err
		}},
		{"set licenses", func() error {
			_, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, other, "sub1", 6, 5)
			return err
		}},
		{"cancel", func() error {
			_, err := f.s.Cancel(f.ctx, f.idem(), orgA, other, "sub1", "other", "", t0)
			return err
		}},
		{"convert", func() error {
			_, err := f.s.ConvertTrial(f.ctx, f.idem(), conv, *invoice(conv, "inv1", t0, 5, "purchase"))
			return err
		}},
	} {
		wantErr(t, tt.name+" by a non-purchaser", tt.call(), store.ErrPermission)
	}
	f.unchanged(t, before, "changes by a non-purchaser")
}

func testSetLicenses(t *testing.T, f *fixture) {
	sub := purchase(orgA, "sub1", 5)
	f.create(t, sub, nil)
	f.assign(t, orgA, "sub1", "U1", "U2", "U3")
	f.create(t, trial(orgA, "tr1", excel, 5), nil)
	audits := len(f.audit(t, orgA))

	before := f.snapshot(t)
	for _, tt := range []struct {
		name            string
		sub             string
		total, expected int
		want            error
	}{
		{"below assigned", "sub1", 2, 5, store.ErrBelowAssigned},
		{"stale expected", "sub1", 7, 4, store.ErrStale},
		{"zero", "sub1", 0, 5, store.ErrInvalid},
		{"on a trial", "tr1", 7, 5, store.ErrNotTrial},
		{"unknown subscription", "nosuchsub", 7, 5, store.ErrNotFound},
	} {
		_, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, tt.sub, tt.total, tt.expected)
		wantErr(t, tt.name, err, tt.want)
	}
	f.unchanged(t, before, "refused license changes")

	r, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", 7, 5)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Result{Value: "7"}); r != want {
		t.Errorf("SetLicenses = %+v, want %+v", r, want)
	}
	if s := f.sub(t, orgA, "sub1"); s.Total != 7 || s.Free() != 4 || len(s.Assigned) != 3 {
		t.Errorf("after 5 → 7: total %d, free %d, assigned %d; want 7, 4, 3", s.Total, s.Free(), len(s.Assigned))
	}
	a := f.audit(t, orgA)
	if len(a) != audits+1 || a[0].Action != "licenses" || a[0].Target != "sub1" || a[0].Before != "5" || a[0].After != "7" || a[0].Actor != buyer {
		t.Errorf("audit after 5 → 7: newest %+v (of %d), want licenses sub1 5 → 7 by %s (of %d)", a[0], len(a), buyer, audits+1)
	}
	// Down to exactly the assigned count is allowed, without an invoice.
	if r, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", 3, 7); err != nil || r.Value != "3" {
		t.Errorf("7 → 3 with 3 assigned = %+v, %v; want value 3", r, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Total != 3 || s.Free() != 0 {
		t.Errorf("after 7 → 3: total %d, free %d; want 3, 0", s.Total, s.Free())
	}
}

// testScheduleLicenses: fewer licenses take effect at the renewal; until
// then the paid total stays, at most the scheduled number can be assigned,
// and more licenses or the same total withdraw the reduction.
func testScheduleLicenses(t *testing.T, f *fixture) {
	sub := purchase(orgA, "sub1", 5)
	f.create(t, sub, nil)
	f.assign(t, orgA, "sub1", "U1", "U2")
	f.create(t, trial(orgA, "tr1", excel, 5), nil)

	before := f.snapshot(t)
	for _, tt := range []struct {
		name                  string
		sub                   string
		next, total, expected int
		want                  error
	}{
		{"below assigned", "sub1", 1, 5, 0, store.ErrBelowAssigned},
		{"not fewer", "sub1", 5, 5, 0, store.ErrInvalid},
		{"more", "sub1", 6, 5, 0, store.ErrInvalid},
		{"stale total", "sub1", 3, 4, 0, store.ErrStale},
		{"stale next", "sub1", 3, 5, 4, store.ErrStale},
		{"negative", "sub1", -1, 5, 0, store.ErrInvalid},
		{"on a trial", "tr1", 3, 5, 0, store.ErrNotTrial},
		{"unknown subscription", "nosuchsub", 3, 5, 0, store.ErrNotFound},
	} {
		_, err := f.s.ScheduleLicenses(f.ctx, f.idem(), orgA, buyer, tt.sub, tt.next, tt.total, tt.expected)
		wantErr(t, tt.name, err, tt.want)
	}
	_, err := f.s.ScheduleLicenses(f.ctx, f.idem(), orgA, "U9", "sub1", 3, 5, 0)
	wantErr(t, "by another", err, store.ErrPermission)
	f.unchanged(t, before, "refused reductions")

	once := f.idem()
	for range 2 {
		if r, err := f.s.ScheduleLicenses(f.ctx, once, orgA, buyer, "sub1", 3, 5, 0); err != nil || r.Value != "3" {
			t.Fatalf("5 → 3 from the next period = %+v, %v", r, err)
		}
	}
	s := f.sub(t, orgA, "sub1")
	if s.Total != 5 || s.NextTotal != 3 || s.Free() != 1 || s.Renewing() != 3 {
		t.Errorf("after scheduling 3: total %d, next %d, free %d, renewing %d; want 5, 3, 1, 3", s.Total, s.NextTotal, s.Free(), s.Renewing())
	}
	if a := f.audit(t, orgA)[0]; a.Action != "licenses-next" || a.Before != "0" || a.After != "3" || a.Actor != buyer {
		t.Errorf("audit of the reduction = %+v", a)
	}
	// The scheduled total caps assignments now.
	_, err = f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U3", "U4"))
	wantErr(t, "assign beyond the scheduled total", err, store.ErrNoFreeLicenses)
	f.assign(t, orgA, "sub1", "U3")

	// Renewal bills and applies the new total; a renewal that read the
	// old one is stale.
	renewal := store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: sub.RenewsAt}
	next := sub.RenewsAt.AddDate(0, 1, 0)
	before = f.snapshot(t)
	_, err = f.s.Settle(f.ctx, renewal, next, invoice(sub, "inv-old", sub.RenewsAt, 5, "renewal"), nil)
	wantErr(t, "renewal billing the old total", err, store.ErrStale)
	f.unchanged(t, before, "stale renewal")
	if got, err := f.s.Settle(f.ctx, renewal, next, invoice(sub, "inv-new", sub.RenewsAt, 3, "renewal"), nil); err != nil || got != "renew" {
		t.Fatalf("renewal = %q, %v", got, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Total != 3 || s.NextTotal != 0 || s.Free() != 0 {
		t.Errorf("after renewal: total %d, next %d, free %d; want 3, 0, 0", s.Total, s.NextTotal, s.Free())
	}

	// Withdrawn: by next = 0, and by more licenses bought.
	f.create(t, purchase(orgA, "sub2", 4), nil)
	if _, err := f.s.ScheduleLicenses(f.ctx, f.idem(), orgA, buyer, "sub2", 2, 4, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.ScheduleLicenses(f.ctx, f.idem(), orgA, buyer, "sub2", 0, 4, 2); err != nil {
		t.Fatal(err)
	}
	if s := f.sub(t, orgA, "sub2"); s.Total != 4 || s.NextTotal != 0 || s.Free() != 4 {
		t.Errorf("after withdrawing: total %d, next %d, free %d; want 4, 0, 4", s.Total, s.NextTotal, s.Free())
	}
	if _, err := f.s.ScheduleLicenses(f.ctx, f.idem(), orgA, buyer, "sub2", 2, 4, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub2", 6, 4); err != nil {
		t.Fatal(err)
	}
	if s := f.sub(t, orgA, "sub2"); s.Total != 6 || s.NextTotal != 0 {
		t.Errorf("after more licenses: total %d, next %d; want 6, 0", s.Total, s.NextTotal)
	}
}

// testGrants: an invoice's payment grants what it buys in the step that
// records it, once; a failed one declines a pending purchase.
func testGrants(t *testing.T, f *fixture) {
	note := func(k string) *store.Note { return &store.Note{Key: k, Body: "{}"} }
	outbox := func() int64 { return f.s.Client().XLen(f.ctx, "bb:{"+orgA+"}:outbox").Val() }

	// Added licenses: billed, and added only once paid.
	sub := purchase(orgA, "sub1", 5)
	f.create(t, sub, nil)
	added := invoice(sub, "inv-add", t0.AddDate(0, 0, 3), 2, "licenses")
	added.Grant = &store.Grant{Kind: store.GrantLicenses, Added: 2}
	if r, err := f.s.AddInvoice(f.ctx, f.idem(), *added); err != nil || r.Value != "inv-add" {
		t.Fatalf("AddInvoice = %+v, %v", r, err)
	}
	v := f.view(t, orgA, buyer, store.ViewOptions{InvoicesFrom: t0, InvoicesTo: t0.AddDate(0, 1, 0)})
	if len(v.Invoices) != 1 || !reflect.DeepEqual(v.Invoices[0], *added) {
		t.Errorf("invoices after billing licenses = %+v, want [%+v]", v.Invoices, *added)
	}
	if s := f.sub(t, orgA, "sub1"); s.Total != 5 {
		t.Errorf("total before the payment = %d, want 5", s.Total)
	}
	n := outbox()
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *added, store.InvoicePaid, note("paid"), note("licenses")); err != nil || !ok {
		t.Fatalf("paid = %v, %v", ok, err)
	}
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *added, store.InvoicePaid, note("paid again")); err != nil || ok {
		t.Errorf("paid again (a second report) = %v, %v; want false", ok, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Total != 7 {
		t.Errorf("total after the payment = %d, want 7 (granted once)", s.Total)
	}
	if got := outbox() - n; got != 2 {
		t.Errorf("%d notifications, want the 2 of the first report", got)
	}

	// A pending purchase: declined by a failed payment (out of the lists),
	// active again when the money arrives after all.
	pending := purchase(orgA, "sub2", 3)
	pending.Status = store.StatusPending
	inv := invoice(pending, "inv-buy", t0, 3, "purchase")
	inv.Grant = &store.Grant{Kind: store.GrantPurchase}
	f.create(t, pending, inv)
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoiceFailed); err != nil || !ok {
		t.Fatalf("failed = %v, %v", ok, err)
	}
	if s := f.sub(t, orgA, "sub2"); s.Status != store.StatusDeclined {
		t.Errorf("after the failure: %s, want declined", s.Status)
	}
	if ids := f.subIDs(t, orgA, buyer, true); slices.Contains(ids, "sub2") {
		t.Errorf("a declined purchase is listed: %v", ids)
	}
	inv.Status = store.InvoiceFailed
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoicePaid); err != nil || !ok {
		t.Fatalf("paid after failing = %v, %v", ok, err)
	}
	if s := f.sub(t, orgA, "sub2"); s.Status != store.StatusActive {
		t.Errorf("after a late payment: %s, want active", s.Status)
	}
	if ids := f.subIDs(t, orgA, buyer, true); !slices.Contains(ids, "sub2") {
		t.Errorf("the paid purchase is not listed: %v", ids)
	}

	// A trial converts with the grant's fields, never below its holders.
	tr := trial(orgA, "tr1", excel, 5)
	f.create(t, tr, nil)
	f.assign(t, orgA, "tr1", "U1", "U2")
	conv := invoice(tr, "inv-conv", t0, 1, "purchase")
	conv.Grant = &store.Grant{Kind: store.GrantConversion, Fields: []string{"status", "active", "total", "1", "period", "annual",
		"price", "15120", "method", "pm1", "renews", fmt.Sprint(t0.AddDate(1, 0, 0).Unix())}}
	if _, err := f.s.AddInvoice(f.ctx, f.idem(), *conv); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *conv, store.InvoicePaid); err != nil || !ok {
		t.Fatalf("conversion paid = %v, %v", ok, err)
	}
	if s := f.sub(t, orgA, "tr1"); s.Status != store.StatusActive || s.Total != 2 || s.Period != store.Annual || s.UnitPrice != 15120 ||
		len(s.Assigned) != 2 || !s.RenewsAt.Equal(sec(t0.AddDate(1, 0, 0))) {
		t.Errorf("converted trial = %+v, want active, annual, 2 licenses (its holders)", s)
	}

	// Billing a subscription of someone else, or an ended one, is refused.
	other := invoice(sub, "inv-other", t0, 1, "licenses")
	other.User = "U9"
	_, err := f.s.AddInvoice(f.ctx, f.idem(), *other)
	wantErr(t, "billing another's subscription", err, store.ErrPermission)
}

func testCancel(t *testing.T, f *fixture) {
	sub := purchase(orgA, "sub1", 5)
	f.create(t, sub, nil)
	f.assign(t, orgA, "sub1", "U1")
	at := t0.AddDate(0, 0, 10)
	r, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub1", "too-expensive", "Zu teuer für uns", at)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Result{Value: "canceled"}); r != want {
		t.Errorf("Cancel = %+v, want %+v", r, want)
	}
	want := stored(sub)
	want.Status, want.CancelReason, want.CancelComment, want.CanceledAt = store.StatusCanceled, "too-expensive", "Zu teuer für uns", sec(at)
	want.Assigned, want.AssignedCount = members("U1"), 1
	if got := f.sub(t, orgA, "sub1"); !reflect.DeepEqual(got, want) {
		t.Errorf("after cancel:\n got %+v\nwant %+v", got, want)
	}
	if got := f.sub(t, orgA, "sub1").EndsAt(); !got.Equal(sec(sub.RenewsAt)) {
		t.Errorf("canceled EndsAt = %v, want %v", got, sec(sub.RenewsAt))
	}

	before := f.snapshot(t)
	_, err = f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub1", "other", "again", at)
	wantErr(t, "second cancel", err, store.ErrNotLive)
	_, err = f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U2"))
	wantErr(t, "assign after cancel", err, store.ErrNotLive)
	_, err = f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", 6, 5)
	wantErr(t, "set licenses after cancel", err, store.ErrNotLive)
	_, err = f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "nosuchsub", "other", "", at)
	wantErr(t, "cancel unknown", err, store.ErrNotFound)
	f.unchanged(t, before, "refused changes of a canceled subscription")

	f.create(t, trial(orgA, "tr1", excel, 2), nil)
	if _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "tr1", "not-used", "", at); err != nil {
		t.Fatalf("cancel a trial: %v", err)
	}
	if s := f.sub(t, orgA, "tr1"); s.Status != store.StatusCanceled || s.CancelReason != "not-used" || s.CancelComment != "" {
		t.Errorf("canceled trial: status %q reason %q comment %q", s.Status, s.CancelReason, s.CancelComment)
	}
}

func testEndTrial(t *testing.T, f *fixture) {
	tr := trial(orgA, "tr1", excel, 3)
	f.create(t, tr, nil)
	f.assign(t, orgA, "tr1", "U1")
	f.create(t, purchase(orgA, "sub1", 2), nil)
	at := t0.AddDate(0, 0, 10)

	before := f.snapshot(t)
	_, err := f.s.EndTrial(f.ctx, f.idem(), orgA, "U2", "tr1", at)
	wantErr(t, "end another's trial", err, store.ErrPermission)
	_, err = f.s.EndTrial(f.ctx, f.idem(), orgA, buyer, "sub1", at)
	wantErr(t, "end a purchase", err, store.ErrNotTrial)
	_, err = f.s.EndTrial(f.ctx, f.idem(), orgA, buyer, "nosuchsub", at)
	wantErr(t, "end an unknown trial", err, store.ErrNotFound)
	f.unchanged(t, before, "refused ends of trials")

	once := f.idem()
	once.Reply = "ended"
	r, err := f.s.EndTrial(f.ctx, once, orgA, buyer, "tr1", at)
	if err != nil {
		t.Fatal(err)
	}
	if r != (store.Result{Value: "expired"}) {
		t.Errorf("EndTrial = %+v", r)
	}
	want := stored(tr)
	want.Status, want.TrialEnd, want.CanceledAt = store.StatusExpired, sec(at), sec(at)
	want.Assigned, want.AssignedCount = members("U1"), 1
	if got := f.sub(t, orgA, "tr1"); !reflect.DeepEqual(got, want) {
		t.Errorf("after the end:\n got %+v\nwant %+v", got, want)
	}
	if r, err := f.s.EndTrial(f.ctx, once, orgA, buyer, "tr1", at.Add(time.Minute)); err != nil || r != (store.Result{Repeat: true, Value: "ended"}) {
		t.Errorf("repeat = %+v, %v; want the first reply", r, err)
	}
	_, err = f.s.EndTrial(f.ctx, f.idem(), orgA, buyer, "tr1", at)
	wantErr(t, "end an ended trial", err, store.ErrNotTrial)
	// Its end, when due, finds nothing to do.
	if got, err := f.s.Settle(f.ctx, store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr1", Due: tr.TrialEnd}, time.Time{}, nil, nil); err != nil || got != "" {
		t.Errorf("settle the original end = %q, %v; want nothing", got, err)
	}
	if a := f.audit(t, orgA); a[0].Action != "end trial" || a[0].Actor != buyer || a[0].Before != "trial" || a[0].After != "expired" {
		t.Errorf("audit entry %+v", a[0])
	}
}

func testRemindAgain(t *testing.T, f *fixture) {
	tr := trial(orgA, "tr1", excel, 3)
	f.create(t, tr, nil)
	f.create(t, purchase(orgA, "sub1", 2), nil)
	now := sec(t0.AddDate(0, 0, 20))
	at := now.Add(24 * time.Hour)

	before := f.snapshot(t)
	_, err := f.s.RemindAgain(f.ctx, orgA, "U2", "tr1", at, now)
	wantErr(t, "another's trial", err, store.ErrPermission)
	_, err = f.s.RemindAgain(f.ctx, orgA, buyer, "sub1", at, now)
	wantErr(t, "a purchase", err, store.ErrNotTrial)
	_, err = f.s.RemindAgain(f.ctx, orgA, buyer, "nosuchsub", at, now)
	wantErr(t, "an unknown trial", err, store.ErrNotFound)
	_, err = f.s.RemindAgain(f.ctx, orgA, buyer, "tr1", now, now)
	wantErr(t, "a reminder not after now", err, store.ErrInvalid)
	f.unchanged(t, before, "refused reminders")

	got, err := f.s.RemindAgain(f.ctx, orgA, buyer, "tr1", at, now)
	if err != nil || !got.Equal(at) {
		t.Fatalf("RemindAgain = %v, %v; want %v", got, err, at)
	}
	// Asked again before it came: the same time, no second job.
	if got, err := f.s.RemindAgain(f.ctx, orgA, buyer, "tr1", at.Add(time.Hour), now.Add(time.Hour)); err != nil || !got.Equal(at) {
		t.Errorf("again = %v, %v; want %v", got, err, at)
	}
	jobs, err := f.s.ClaimDue(f.ctx, at.Add(2*time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Job{Kind: store.JobTrialReminder, Org: orgA, SubID: "tr1", Due: at}); len(jobs) != 1 || jobs[0].Kind != want.Kind ||
		jobs[0].SubID != want.SubID || !jobs[0].Due.Equal(want.Due) {
		t.Errorf("due jobs %+v, want one reminder at %v", jobs, at)
	}
	// Once it has come, another can be asked for.
	later := at.Add(24 * time.Hour)
	if got, err := f.s.RemindAgain(f.ctx, orgA, buyer, "tr1", later, at.Add(time.Minute)); err != nil || !got.Equal(later) {
		t.Errorf("after the reminder came = %v, %v; want %v", got, err, later)
	}
}

func testConvertTrial(t *testing.T, f *fixture) {
	tr := trial(orgA, "tr1", excel, 3)
	f.create(t, tr, nil)
	f.assign(t, orgA, "tr1", "U1", "U2")

	paid := tr
	paid.Status, paid.Period, paid.UnitPrice, paid.Currency = store.StatusActive, store.Annual, 999, "USD"
	paid.ProfileID, paid.MethodID = "prof9", "pm9"
	paid.PurchasedAt, paid.RenewsAt = t0.AddDate(0, 0, 5), t0.AddDate(1, 0, 5)
	inv := invoice(paid, "inv-conv", paid.PurchasedAt, 5, "purchase")

	below := paid
	below.Total = 1
	before := f.snapshot(t)
	_, err := f.s.ConvertTrial(f.ctx, f.idem(), below, *inv)
	wantErr(t, "convert to 1 with 2 assigned", err, store.ErrBelowAssigned)
	f.unchanged(t, before, "refused conversion")

	paid.Total = 5
	r, err := f.s.ConvertTrial(f.ctx, f.idem(), paid, *inv)
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.Result{Value: "tr1"}); r != want {
		t.Errorf("ConvertTrial = %+v, want %+v", r, want)
	}
	want := stored(paid)
	want.Assigned, want.AssignedCount = members("U1", "U2"), 2
	if got := f.sub(t, orgA, "tr1"); !reflect.DeepEqual(got, want) {
		t.Errorf("converted:\n got %+v\nwant %+v", got, want)
	}
	if got := f.subIDs(t, orgA, "U2", false); !slices.Equal(got, []string{"tr1"}) {
		t.Errorf("holder after conversion sees %v, want [tr1]", got)
	}
	got, err := f.s.Invoice(f.ctx, orgA, "inv-conv")
	if err != nil || !reflect.DeepEqual(got, *inv) {
		t.Errorf("conversion invoice = %+v, %v; want %+v", got, err, *inv)
	}
	if ids, _ := f.invoiceIDs(t, orgA, buyer, t0, t0.AddDate(0, 1, 0), 0); !slices.Equal(ids, []string{"inv-conv"}) {
		t.Errorf("purchaser's invoices = %v, want [inv-conv]", ids)
	}
	a := f.audit(t, orgA)
	if e := a[0]; e.Action != "convert" || e.Target != "tr1" || e.Before != "trial 3" || e.After != "active 5" {
		t.Errorf("audit of conversion = %+v, want convert tr1 trial 3 → active 5", e)
	}

	before = f.snapshot(t)
	_, err = f.s.ConvertTrial(f.ctx, f.idem(), paid, *invoice(paid, "inv-conv2", t0, 5, "purchase"))
	wantErr(t, "convert again", err, store.ErrNotTrial)
	f.create(t, purchase(orgA, "sub1", 2), nil)
	before = f.snapshot(t)
	active := purchase(orgA, "sub1", 4)
	_, err = f.s.ConvertTrial(f.ctx, f.idem(), active, *invoice(active, "inv-conv3", t0, 4, "purchase"))
	wantErr(t, "convert a paid subscription", err, store.ErrNotTrial)
	f.unchanged(t, before, "refused conversion")
	// The organization has had its trial of the product.
	_, err = f.s.CreateSubscription(f.ctx, f.idem(), trial(orgA, "tr2", excel, 3), nil)
	wantErr(t, "trial after conversion", err, store.ErrTrialUsed)
}

func testIdempotency(t *testing.T, f *fixture) {
	// Each case prepares its subscription, then makes the same request
	// twice (the second time with other arguments where that would differ):
	// the second answers Repeat with the first value and changes nothing.
	type op func(key string) (store.Result, error)
	tr := trial(orgA, "tr-conv", excel, 3)
	paid := tr
	paid.Status, paid.Total, paid.UnitPrice = store.StatusActive, 4, 500
	tests := []struct {
		name    string
		prepare func(t *testing.T)
		first   op
		again   op
		want    string
		action  string
	}{
		{"create",
			func(*testing.T) {},
			func(k string) (store.Result, error) {
				s := purchase(orgA, "sub-create", 2)
				return f.s.CreateSubscription(f.ctx, store.Once{Key: k}, s, invoice(s, "inv-create", t0, 2, "purchase"))
			},
			func(k string) (store.Result, error) {
				s := purchase(orgA, "sub-create2", 3)
				return f.s.CreateSubscription(f.ctx, store.Once{Key: k}, s, invoice(s, "inv-create2", t0, 3, "purchase"))
			},
			"sub-create", "buy"},
		{"create trial",
			func(*testing.T) {},
			func(k string) (store.Result, error) {
				return f.s.CreateSubscription(f.ctx, store.Once{Key: k}, trial(orgA, "tr-create", word, 2), nil)
			},
			nil, "tr-create", "trial"},
		{"convert",
			func(t *testing.T) { f.create(t, tr, nil) },
			func(k string) (store.Result, error) {
				return f.s.ConvertTrial(f.ctx, store.Once{Key: k}, paid, *invoice(paid, "inv-conv", t0, 4, "purchase"))
			},
			nil, "tr-conv", "convert"},
		{"set licenses",
			func(t *testing.T) { f.create(t, purchase(orgA, "sub-lic", 2), nil) },
			func(k string) (store.Result, error) {
				return f.s.SetLicenses(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-lic", 4, 2)
			},
			func(k string) (store.Result, error) {
				return f.s.SetLicenses(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-lic", 6, 4)
			},
			"4", "licenses"},
		{"assign",
			func(t *testing.T) { f.create(t, purchase(orgA, "sub-as", 5), nil) },
			func(k string) (store.Result, error) {
				return f.s.AssignLicenses(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-as", members("U1", "U2"))
			},
			func(k string) (store.Result, error) {
				return f.s.AssignLicenses(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-as", members("U3"))
			},
			"2", "assign U1,U2"},
		{"unassign",
			func(t *testing.T) {
				f.create(t, purchase(orgA, "sub-un", 5), nil)
				f.assign(t, orgA, "sub-un", "U1", "U2", "U3")
			},
			func(k string) (store.Result, error) {
				return f.s.UnassignLicenses(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-un", []string{"U1"})
			},
			func(k string) (store.Result, error) {
				return f.s.UnassignLicenses(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-un", []string{"U2"})
			},
			"2", "unassign U1"},
		{"cancel",
			func(t *testing.T) { f.create(t, purchase(orgA, "sub-cancel", 5), nil) },
			func(k string) (store.Result, error) {
				return f.s.Cancel(f.ctx, store.Once{Key: k}, orgA, buyer, "sub-cancel", "too-expensive", "", t0)
			},
			nil, "canceled", "cancel too-expensive"},
		{"save billing",
			func(*testing.T) {},
			func(k string) (store.Result, error) {
				return f.s.SaveBilling(f.ctx, store.Once{Key: k}, orgA, buyer, store.Billing{Accounts: []store.BillingAccount{{ID: "acc1"}}}, "add-account")
			},
			func(k string) (store.Result, error) {
				return f.s.SaveBilling(f.ctx, store.Once{Key: k}, orgA, buyer, store.Billing{Version: 1, Accounts: []store.BillingAccount{{ID: "acc2"}}}, "add-account")
			},
			"1", "add-account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.prepare(t)
			audits := len(f.audit(t, orgA))
			key := "click-" + strings.ReplaceAll(tt.name, " ", "-")
			r, err := tt.first(key)
			if err != nil {
				t.Fatal(err)
			}
			if want := (store.Result{Value: tt.want}); r != want {
				t.Errorf("first request = %+v, want %+v", r, want)
			}
			a := f.audit(t, orgA)
			if len(a) != audits+1 || a[0].Action != tt.action {
				t.Errorf("first request wrote %d audit entries, newest %+v; want 1, action %q", len(a)-audits, a[0], tt.action)
			}
			before := f.snapshot(t)
			again := tt.again
			if again == nil {
				again = tt.first
			}
			for range 2 {
				r, err = again(key)
				if err != nil {
					t.Fatalf("repeat: %v", err)
				}
				if want := (store.Result{Repeat: true, Value: tt.want}); r != want {
					t.Errorf("repeat = %+v, want %+v", r, want)
				}
			}
			f.unchanged(t, before, "repeated request")
		})
	}

	t.Run("keys are per organization", func(t *testing.T) {
		// A key used in A is new in B.
		s := purchase(orgB, "sub-create", 2)
		r, err := f.s.CreateSubscription(f.ctx, store.Once{Key: "click-create"}, s, nil)
		if want := (store.Result{Value: "sub-create"}); err != nil || r != want {
			t.Errorf("same key in organization B = %+v, %v; want %+v", r, err, want)
		}
	})
	t.Run("invalid keys", func(t *testing.T) {
		before := f.snapshot(t)
		for _, key := range []string{"", "a b", "tab\there", "nl\n", strings.Repeat("k", 201)} {
			_, err := f.s.CreateSubscription(f.ctx, store.Once{Key: key}, purchase(orgA, "sub-badkey", 1), nil)
			wantErr(t, fmt.Sprintf("create with key %q", key), err, store.ErrInvalid)
			_, err = f.s.AssignLicenses(f.ctx, store.Once{Key: key}, orgA, buyer, "sub-as", members("U9"))
			wantErr(t, fmt.Sprintf("assign with key %q", key), err, store.ErrInvalid)
			_, err = f.s.SaveBilling(f.ctx, store.Once{Key: key}, orgA, buyer, store.Billing{Version: 1}, "x")
			wantErr(t, fmt.Sprintf("save billing with key %q", key), err, store.ErrInvalid)
		}
		f.unchanged(t, before, "requests with invalid keys")
	})
}

func testAudit(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub1", 5), nil)
	f.create(t, trial(orgA, "tr1", excel, 3), nil)
	f.assign(t, orgA, "sub1", "U1", "U2")
	mustDo := func(_ store.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", 6, 5))
	mustDo(f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{"U1"}))
	mustDo(f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub1", "too-expensive", "", t0))
	mustDo(f.s.SaveBilling(f.ctx, f.idem(), orgA, buyer, store.Billing{}, "add-method"))
	if err := f.s.SetAdminChannel(f.ctx, orgA, admin, "C123"); err != nil {
		t.Fatal(err)
	}
	type entry struct{ Actor, Action, Target, Before, After string }
	want := []entry{
		{admin, "admin-channel", "settings", "", "C123"},
		{buyer, "add-method", "billing", "0", "1"},
		{buyer, "cancel too-expensive", "sub1", "active", "canceled"},
		{buyer, "unassign U1", "sub1", "2", "1"},
		{buyer, "licenses", "sub1", "5", "6"},
		{buyer, "assign U1,U2", "sub1", "0", "2"},
		{buyer, "trial", "tr1", "", "trial 3"},
		{buyer, "buy", "sub1", "", "active 5"},
	}
	all := f.audit(t, orgA)
	var got []entry
	for i, a := range all {
		got = append(got, entry{a.Actor, a.Action, a.Target, a.Before, a.After})
		if a.Org != orgA || a.At.IsZero() || a.ID == "" {
			t.Errorf("entry %d: org %q, at %v, id %q; want %s, a time, an id", i, a.Org, a.At, a.ID, orgA)
		}
		if i > 0 && a.At.After(all[i-1].At) {
			t.Errorf("entry %d at %v is newer than entry %d at %v", i, a.At, i-1, all[i-1].At)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit, newest first:\n got %+v\nwant %+v", got, want)
	}
	two, err := f.s.Audit(f.ctx, orgA, 2)
	if err != nil || len(two) != 2 || two[0].ID != all[0].ID || two[1].ID != all[1].ID {
		t.Errorf("Audit(2) = %+v, %v; want the 2 newest", two, err)
	}
}

func testSaveBilling(t *testing.T, f *fixture) {
	if b := f.view(t, orgA, buyer, store.ViewOptions{}).Billing; !reflect.DeepEqual(b, store.Billing{}) {
		t.Errorf("billing before any save = %+v, want zero", b)
	}
	doc := store.Billing{Accounts: []store.BillingAccount{{ID: "acc1", Name: "ACME GmbH", Profiles: []store.BillingProfile{{
		ID: "prof1", Name: "Zentrale", Methods: []store.PaymentMethod{{
			ID: "pm1", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Name: "Bea Buyer", Address: "Hauptstr. 1", Token: "tok_1",
		}},
	}}}}}
	r, err := f.s.SaveBilling(f.ctx, f.idem(), orgA, buyer, doc, "add-method")
	if want := (store.Result{Value: "1"}); err != nil || r != want {
		t.Fatalf("SaveBilling(version 0) = %+v, %v; want %+v", r, err, want)
	}
	want := doc
	want.Version = 1
	if got := f.view(t, orgA, buyer, store.ViewOptions{}).Billing; !reflect.DeepEqual(got, want) {
		t.Errorf("billing after save:\n got %+v\nwant %+v", got, want)
	}
	if got := f.view(t, orgA, "U1OTHER", store.ViewOptions{}).Billing; got.Version != 0 || len(got.Accounts) != 0 {
		t.Errorf("someone else's billing = %+v, want zero", got)
	}

	before := f.snapshot(t)
	stale := doc
	stale.Accounts = nil
	_, err = f.s.SaveBilling(f.ctx, f.idem(), orgA, buyer, stale, "remove-account")
	wantErr(t, "save with version 0 after 1", err, store.ErrStale)
	f.unchanged(t, before, "stale save")

	next := want
	next.Accounts[0].Name = "ACME AG"
	r, err = f.s.SaveBilling(f.ctx, f.idem(), orgA, buyer, next, "rename-account")
	if w := (store.Result{Value: "2"}); err != nil || r != w {
		t.Fatalf("SaveBilling(version 1) = %+v, %v; want %+v", r, err, w)
	}
	if got := f.view(t, orgA, buyer, store.ViewOptions{}).Billing; got.Version != 2 || got.Accounts[0].Name != "ACME AG" {
		t.Errorf("billing after second save = %+v, want version 2, ACME AG", got)
	}
}

// testRemoveMethod: removing a payment method saves the billing document
// and switches the subscriptions paid with it in one step, once; it
// refuses a stale document, and without a replacement a method that a live
// paid subscription is paid with, changing nothing.
func testRemoveMethod(t *testing.T, f *fixture) {
	card := func(id, last4 string) store.PaymentMethod {
		return store.PaymentMethod{ID: id, Brand: "visa", Last4: last4, ExpMonth: 12, ExpYear: 2030, Token: "tok_" + id}
	}
	doc := store.Billing{Accounts: []store.BillingAccount{{ID: "acc1", Name: "ACME", Profiles: []store.BillingProfile{
		{ID: "prof1", Name: "Zentrale", Methods: []store.PaymentMethod{card("pm1", "4242"), card("pm2", "4444")}},
		{ID: "prof2", Name: "Filiale", Methods: []store.PaymentMethod{card("pm3", "1117")}},
	}}}}
	if _, err := f.s.SaveBilling(f.ctx, f.idem(), orgA, buyer, doc, "payment-add"); err != nil {
		t.Fatal(err)
	}
	doc.Version = 1
	withMethod := func(id, method string, status store.Status) store.Subscription {
		s := purchase(orgA, id, 1)
		s.MethodID, s.Status = method, status
		return s
	}
	f.create(t, withMethod("sub1", "pm1", store.StatusActive), nil)
	f.create(t, withMethod("sub2", "pm1", store.StatusPending), nil)
	f.create(t, withMethod("sub3", "pm2", store.StatusActive), nil)
	f.create(t, withMethod("sub4", "pm3", store.StatusActive), nil)
	f.create(t, withMethod("sub5", "pm3", store.StatusActive), nil)
	if _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub5", "unused", "", t0); err != nil {
		t.Fatal(err)
	}
	other := withMethod("sub6", "pm1", store.StatusActive) // someone else's pm1
	other.Purchaser = store.Member{ID: "U2OTHER", Name: "Otto"}
	f.create(t, other, nil)

	without := func(b store.Billing, id string) store.Billing {
		out := b
		out.Accounts = []store.BillingAccount{b.Accounts[0]}
		out.Accounts[0].Profiles = nil
		for _, p := range b.Accounts[0].Profiles {
			p.Methods = slices.DeleteFunc(slices.Clone(p.Methods), func(m store.PaymentMethod) bool { return m.ID == id })
			out.Accounts[0].Profiles = append(out.Accounts[0].Profiles, p)
		}
		return out
	}

	// Stale: nothing changes.
	before := f.snapshot(t)
	stale := without(doc, "pm1")
	stale.Version = 0
	_, _, err := f.s.RemoveMethod(f.ctx, f.idem(), orgA, buyer, stale, "pm1", "pm2")
	wantErr(t, "remove with a stale document", err, store.ErrStale)
	f.unchanged(t, before, "stale removal")

	// The last method of prof2 pays sub4 (active): refused without a
	// replacement, whatever the document says.
	_, _, err = f.s.RemoveMethod(f.ctx, f.idem(), orgA, buyer, without(doc, "pm3"), "pm3", "")
	wantErr(t, "remove the method of an active subscription without a replacement", err, store.ErrInUse)
	f.unchanged(t, before, "refused removal")

	// pm1 pays sub1 (active) and sub2 (pending): both switch to pm2, at
	// once; sub3, sub4 and someone else's sub6 stay as they were.
	once := f.idem()
	once.Reply = "the answer"
	once.Note = &store.Note{Key: "method-removed:pm1", Body: "{}"}
	res, switched, err := f.s.RemoveMethod(f.ctx, once, orgA, buyer, without(doc, "pm1"), "pm1", "pm2")
	if err != nil || res.Repeat || !slices.Equal(switched, []string{"sub1", "sub2"}) {
		t.Fatalf("RemoveMethod(pm1 → pm2) = %+v, %q, %v; want sub1 and sub2 switched", res, switched, err)
	}
	want := without(doc, "pm1")
	want.Version = 2
	if got := f.view(t, orgA, buyer, store.ViewOptions{}).Billing; !reflect.DeepEqual(got, want) {
		t.Errorf("billing after removal:\n got %+v\nwant %+v", got, want)
	}
	for id, method := range map[string]string{"sub1": "pm2", "sub2": "pm2", "sub3": "pm2", "sub4": "pm3", "sub6": "pm1"} {
		if got := f.sub(t, orgA, id).MethodID; got != method {
			t.Errorf("%s is paid with %s, want %s", id, got, method)
		}
	}
	var actions []string
	for _, a := range f.audit(t, orgA)[:3] {
		actions = append(actions, a.Actor+" "+a.Action+" "+a.Target+" "+a.Before+"→"+a.After)
	}
	if w := []string{buyer + " payment-switch sub2 pm1→pm2", buyer + " payment-switch sub1 pm1→pm2",
		buyer + " payment-remove pm1 billing 1→2"}; !slices.Equal(actions, w) {
		t.Errorf("audit, newest first:\n got %q\nwant %q", actions, w)
	}
	if n := f.s.Client().XLen(f.ctx, "bb:{"+orgA+"}:outbox").Val(); n != 1 {
		t.Errorf("outbox after the removal: %d entries, want 1", n)
	}

	// A repeat gets the first answer and changes nothing.
	before = f.snapshot(t)
	again, switched, err := f.s.RemoveMethod(f.ctx, once, orgA, buyer, without(doc, "pm1"), "pm1", "pm2")
	if err != nil || !again.Repeat || again.Value != "the answer" || switched != nil {
		t.Errorf("repeat = %+v, %q, %v; want a repeat with the first answer", again, switched, err)
	}
	f.unchanged(t, before, "repeated removal")

	// A method only a canceled subscription names goes without a
	// replacement; the subscription keeps its (gone) method.
	if _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub4", "unused", "", t0); err != nil {
		t.Fatal(err)
	}
	_, switched, err = f.s.RemoveMethod(f.ctx, f.idem(), orgA, buyer, without(want, "pm3"), "pm3", "")
	if err != nil || len(switched) != 0 {
		t.Errorf("RemoveMethod(pm3) with canceled subscriptions only = %q, %v; want none switched", switched, err)
	}
	if got := f.sub(t, orgA, "sub4").MethodID; got != "pm3" {
		t.Errorf("canceled sub4 is paid with %s, want pm3 as before", got)
	}
	for _, bad := range []struct{ method, replacement string }{{"", "pm2"}, {"pm 1", "pm2"}, {"pm2", "x{y}"}} {
		_, _, err := f.s.RemoveMethod(f.ctx, f.idem(), orgA, buyer, want, bad.method, bad.replacement)
		wantErr(t, fmt.Sprintf("RemoveMethod(%q, %q)", bad.method, bad.replacement), err, store.ErrInvalid)
	}
}

// testCardAttempts: attempts are counted per client and window, shared by
// every store on the Redis, and forgotten after it; no key names the client.
func testCardAttempts(t *testing.T, f *fixture) {
	now := time.Now()
	window := 10 * time.Minute
	for i := 1; i <= 3; i++ {
		if n, err := f.s.CardAttempt(f.ctx, "192.0.2.7", now, window); err != nil || n != i {
			t.Errorf("attempt %d counted as %d, %v", i, n, err)
		}
	}
	if n, err := f.s.CardAttempt(f.ctx, "198.51.100.1", now, window); err != nil || n != 1 {
		t.Errorf("another client's first attempt counted as %d, %v", n, err)
	}
	if n, err := f.s.CardAttempt(f.ctx, "192.0.2.7", now.Add(window), window); err != nil || n != 1 {
		t.Errorf("first attempt of the next window counted as %d, %v", n, err)
	}
	for k := range f.snapshot(t) {
		if strings.Contains(k, "192.0.2.7") || strings.Contains(k, "198.51") {
			t.Errorf("key %q names the client", k)
		}
		if ttl := f.s.Client().TTL(f.ctx, k).Val(); strings.Contains(k, "cardtries") && (ttl <= 0 || ttl > 2*window) {
			t.Errorf("TTL of %s = %v, want at most %v", k, ttl, 2*window)
		}
	}
	for _, bad := range []struct {
		client string
		window time.Duration
	}{{"", window}, {"192.0.2.7", 0}} {
		if _, err := f.s.CardAttempt(f.ctx, bad.client, now, bad.window); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("CardAttempt(%q, %v): %v, want ErrInvalid", bad.client, bad.window, err)
		}
	}
}

func testInvoiceStatus(t *testing.T, f *fixture) {
	sub := purchase(orgA, "sub1", 2)
	inv := invoice(sub, "inv1", t0, 2, "purchase")
	f.create(t, sub, inv)
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoicePaid, nil); err != nil || !ok {
		t.Fatalf("SetInvoiceStatus(open → paid) = %v, %v; want true", ok, err)
	}
	want := *inv
	want.Status = store.InvoicePaid
	if got, err := f.s.Invoice(f.ctx, orgA, "inv1"); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Invoice after paid = %+v, %v; want %+v", got, err, want)
	}
	v := f.view(t, orgA, buyer, store.ViewOptions{InvoicesFrom: t0.AddDate(0, 0, -1), InvoicesTo: t0.AddDate(0, 0, 1)})
	if len(v.Invoices) != 1 || v.Invoices[0].Status != store.InvoicePaid {
		t.Errorf("view invoices = %+v, want inv1 paid", v.Invoices)
	}
	before := f.snapshot(t)
	missing := *inv
	missing.ID = "nosuchinv"
	_, err := f.s.SetInvoiceStatus(f.ctx, missing, store.InvoiceFailed, nil)
	wantErr(t, "status of an unknown invoice", err, store.ErrNotFound)
	f.unchanged(t, before, "status of an unknown invoice")
	// A second replica that read the invoice while it was open records
	// nothing: the outcome is recorded (and notified) once.
	note := &store.Note{Key: "payment-failed:inv1", Body: "{}"}
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoiceFailed, note); err != nil || ok {
		t.Errorf("SetInvoiceStatus(open → failed) of a paid invoice = %v, %v; want false", ok, err)
	}
	f.unchanged(t, before, "status of an invoice whose status changed meanwhile")
}

func testPrefsSettings(t *testing.T, f *fixture) {
	if err := f.s.SetPrefs(f.ctx, orgA, "U1", store.Prefs{Lang: "de"}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetAdminChannel(f.ctx, orgA, admin, "C-ADMINS"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		org, user     string
		lang, channel string
	}{
		{orgA, "U1", "de", "C-ADMINS"},
		{orgA, "U2", "", "C-ADMINS"},
		{orgB, "U1", "", ""},
	} {
		v := f.view(t, tt.org, tt.user, store.ViewOptions{})
		if v.Prefs.Lang != tt.lang || v.Settings.AdminChannel != tt.channel {
			t.Errorf("View(%s, %s): lang %q, channel %q; want %q, %q", tt.org, tt.user, v.Prefs.Lang, v.Settings.AdminChannel, tt.lang, tt.channel)
		}
	}
	if err := f.s.SetPrefs(f.ctx, orgA, "U1", store.Prefs{}); err != nil {
		t.Fatal(err)
	}
	if v := f.view(t, orgA, "U1", store.ViewOptions{}); v.Prefs.Lang != "" {
		t.Errorf("lang after reset = %q, want empty", v.Prefs.Lang)
	}
}

// testOrgLanguage: an admin's language for the organization's channel
// notifications, the platform's locale remembered beside it (the first
// one kept when asked to), and the admin channel back to the default.
func testOrgLanguage(t *testing.T, f *fixture) {
	settings := func(t *testing.T) store.OrgSettings {
		t.Helper()
		s, err := f.s.Settings(f.ctx, orgA)
		if err != nil {
			t.Fatal(err)
		}
		if v := f.view(t, orgA, "U1", store.ViewOptions{}); v.Settings != s {
			t.Errorf("View's settings %+v, Settings %+v; want the same", v.Settings, s)
		}
		return s
	}
	if err := f.s.SetOrgLocale(f.ctx, orgA, "en-GB", true); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetOrgLocale(f.ctx, orgA, "de-DE", true); err != nil {
		t.Fatal(err)
	}
	if got := settings(t); got.Locale != "en-GB" || got.Lang != "" {
		t.Errorf("after two first locales: %+v; want the first, en-GB, and no language", got)
	}
	if err := f.s.SetOrgLocale(f.ctx, orgA, "de", false); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetOrgLang(f.ctx, orgA, admin, "en"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetAdminChannel(f.ctx, orgA, admin, "#billing"); err != nil {
		t.Fatal(err)
	}
	if got, want := settings(t), (store.OrgSettings{AdminChannel: "#billing", Lang: "en", Locale: "de"}); got != want {
		t.Errorf("settings = %+v, want %+v", got, want)
	}
	if err := f.s.SetOrgLang(f.ctx, orgA, admin, "fr"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SetOrgLang(fr) = %v, want ErrInvalid", err)
	}
	if err := f.s.SetOrgLang(f.ctx, orgA, admin, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetAdminChannel(f.ctx, orgA, admin, ""); err != nil {
		t.Fatal(err)
	}
	if got, want := settings(t), (store.OrgSettings{Locale: "de"}); got != want {
		t.Errorf("after both reset: %+v, want %+v", got, want)
	}
	audit, err := f.s.Audit(f.ctx, orgA, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action+"="+e.After)
	}
	if want := []string{"admin-channel=", "org-language=", "admin-channel=#billing", "org-language=en"}; !slices.Equal(actions[:min(len(actions), 4)], want) {
		t.Errorf("audit %q, want the newest %q (locales are not audited)", actions, want)
	}
}

func testPayLink(t *testing.T, f *fixture) {
	link := store.PayLink{Org: orgA, User: buyer, ProfileID: "prof1", MethodID: "pm1", Lang: "de", Expires: sec(t0.Add(15 * time.Minute)),
		ChatURL: "https://slack.com/app_redirect?team=T1&channel=C1", OrgName: "Acme"}
	token, err := f.s.CreatePayLink(f.ctx, link, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 48 || !store.ValidID(token) {
		t.Errorf("token %q: want 48 characters of an id", token)
	}
	other, err := f.s.CreatePayLink(f.ctx, link, time.Hour)
	if err != nil || other == token {
		t.Errorf("second link: token %q, %v; want a different token", other, err)
	}
	want := link
	want.Token, want.Ref = token, store.PayLinkRef(token)
	for i := range 2 {
		got, err := f.s.PayLink(f.ctx, token)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("read %d = %+v, %v; want %+v", i+1, got, err, want)
		}
	}
	byRef, err := f.s.PayLinkByRef(f.ctx, want.Ref)
	want.Token = ""
	if err != nil || !reflect.DeepEqual(byRef, want) {
		t.Errorf("by reference = %+v, %v; want %+v", byRef, err, want)
	}
	for k, v := range f.snapshot(t) {
		if strings.Contains(k, token) || strings.Contains(v, token) {
			t.Errorf("key %q holds the token", k)
		}
	}

	// Completing saves the billing document and uses the link up, once.
	b := store.Billing{Accounts: []store.BillingAccount{{ID: "a", Profiles: []store.BillingProfile{{ID: "prof1",
		Methods: []store.PaymentMethod{{ID: "pm2", Brand: "visa", Last4: "4242", Token: "tok"}}}}}}}
	res, err := f.s.CompletePayLink(f.ctx, byRef, b, "pm2", "payment-add", &store.Note{Key: "saved:" + byRef.Ref, Body: "{}"})
	if err != nil || res.Repeat || res.Value != "pm2" {
		t.Fatalf("complete = %+v, %v; want new pm2", res, err)
	}
	again, err := f.s.CompletePayLink(f.ctx, byRef, b, "pm3", "payment-add", &store.Note{Key: "saved2:" + byRef.Ref, Body: "{}"})
	if err != nil || !again.Repeat || again.Value != "pm2" {
		t.Errorf("complete again = %+v, %v; want a repeat naming pm2", again, err)
	}
	if v := f.view(t, orgA, buyer, store.ViewOptions{}); v.Billing.Version != 1 || len(v.Billing.Accounts) != 1 {
		t.Errorf("billing after completing twice = %+v; want version 1, saved once", v.Billing)
	}
	if n := f.s.Client().XLen(f.ctx, "bb:{"+orgA+"}:outbox").Val(); n != 1 {
		t.Errorf("outbox after completing twice: %d entries, want 1", n)
	}
	if got, err := f.s.PayLink(f.ctx, token); err != nil || got.Saved != "pm2" {
		t.Errorf("used link = %+v, %v; want Saved pm2", got, err)
	}
	// A stale document changes nothing and leaves the link usable.
	otherLink, _ := f.s.PayLink(f.ctx, other)
	_, err = f.s.CompletePayLink(f.ctx, otherLink, store.Billing{}, "pm9", "payment-add", nil)
	wantErr(t, "complete with a stale document", err, store.ErrStale)
	if got, _ := f.s.PayLink(f.ctx, other); got.Saved != "" {
		t.Errorf("link after a stale completion: Saved %q, want none", got.Saved)
	}
	for i := 1; i <= 3; i++ {
		if n, err := f.s.PayLinkFailed(f.ctx, otherLink); err != nil || n != i {
			t.Errorf("failure %d counted as %d, %v", i, n, err)
		}
	}
	if got, _ := f.s.PayLink(f.ctx, other); got.Failures != 3 {
		t.Errorf("failures = %d, want 3", got.Failures)
	}

	for _, junk := range []string{"", "x", strings.Repeat("a", 48), strings.ToUpper(other), other + "x", other[:47],
		"bb:paylink:" + other, "../" + other[3:], other[:40] + "{org}:xx"} {
		_, err := f.s.PayLink(f.ctx, junk)
		wantErr(t, fmt.Sprintf("read %q", junk), err, store.ErrNotFound)
		_, err = f.s.PayLinkByRef(f.ctx, junk)
		wantErr(t, fmt.Sprintf("reference %q", junk), err, store.ErrNotFound)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		_, err := f.s.CreatePayLink(f.ctx, link, ttl)
		wantErr(t, fmt.Sprintf("link with TTL %v", ttl), err, store.ErrInvalid)
	}
}

func testPayLinkExpires(t *testing.T, f *fixture) {
	link := store.PayLink{Org: orgA, User: buyer, ProfileID: "prof1", Lang: "en"}
	token, err := f.s.CreatePayLink(f.ctx, link, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.PayLink(f.ctx, token); err != nil {
		t.Fatalf("read before expiry: %v", err)
	}
	// Both of the link's keys are forgotten a day after it stops working.
	n := 0
	for k := range f.snapshot(t) {
		if !strings.Contains(k, "paylink:") {
			continue
		}
		n++
		ttl := f.s.Client().TTL(f.ctx, k).Val()
		if ttl <= 24*time.Hour || ttl > 24*time.Hour+time.Minute {
			t.Errorf("TTL of %s = %v, want a minute and a day", k, ttl)
		}
	}
	if n != 2 {
		t.Errorf("%d keys of the link, want 2", n)
	}
	if _, ok := clocks.Load(f.s); ok {
		f.elapse(t, 24*time.Hour+2*time.Minute, func() bool {
			_, err := f.s.PayLink(f.ctx, token)
			return errors.Is(err, store.ErrNotFound)
		})
	}
}

func testScheduler(t *testing.T, f *fixture) {
	now := sec(t0)
	lease := 5 * time.Minute
	a := store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: now.Add(-time.Hour)}
	b := store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr1", Due: now}
	c := store.Job{Kind: store.JobCharge, Org: orgB, SubID: "sub2", Due: now.Add(time.Hour), Invoice: "inv-2025-03"}
	if err := f.s.Schedule(f.ctx, c, a, b); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Schedule(f.ctx, a); err != nil {
		t.Fatal(err)
	}
	// claim returns the jobs claimed, and the same without their leases
	// (to compare with what was scheduled).
	claimed := func(at time.Time, max int) ([]store.Job, []store.Job) {
		t.Helper()
		jobs, err := f.s.ClaimDue(f.ctx, at, lease, max)
		if err != nil {
			t.Fatalf("ClaimDue(%v): %v", at, err)
		}
		var bare []store.Job
		for _, j := range jobs {
			if want := sec(at.Add(lease)); !j.Lease.Equal(want) {
				t.Errorf("ClaimDue(%v): lease of %+v, want %v", at, j, want)
			}
			j.Lease = time.Time{}
			bare = append(bare, j)
		}
		return jobs, bare
	}
	claim := func(at time.Time, max int) []store.Job {
		t.Helper()
		_, bare := claimed(at, max)
		return bare
	}
	done := func(j store.Job) {
		t.Helper()
		if err := f.s.Done(f.ctx, j); err != nil {
			t.Fatalf("Done(%+v): %v", j, err)
		}
	}
	steps := []struct {
		name string
		at   time.Duration // after now
		max  int
		want []store.Job
		then func(got []store.Job) // the claimed jobs, with leases
	}{
		{"due ones", 0, 10, []store.Job{a, b}, nil},
		{"claimed ones are not handed out again", 0, 10, nil, nil},
		{"nor while leased", 4 * time.Minute, 10, nil, nil},
		{"back when the lease ran out", 6 * time.Minute, 10, []store.Job{a, b}, func(got []store.Job) { done(got[0]) }},
		{"done ones never come back", 12 * time.Minute, 10, []store.Job{b}, func(got []store.Job) { done(got[0]) }},
		{"nothing left due", 30 * time.Minute, 10, nil, nil},
		{"later job", 2 * time.Hour, 10, []store.Job{c}, func(got []store.Job) { done(got[0]) }},
		{"all done", 24 * time.Hour, 10, nil, nil},
	}
	for _, st := range steps {
		leased, got := claimed(now.Add(st.at), st.max)
		if len(got) != 0 || len(st.want) != 0 {
			if !reflect.DeepEqual(got, st.want) {
				t.Errorf("%s: ClaimDue(now+%v) = %+v, want %+v", st.name, st.at, got, st.want)
			}
		}
		if st.then != nil && len(leased) > 0 {
			st.then(leased)
		}
	}

	t.Run("done after the lease ran out", func(t *testing.T) {
		at := now.Add(72 * time.Hour)
		j := store.Job{Kind: store.JobTrialReminder, Org: orgA, SubID: "late1", Due: at}
		if err := f.s.Schedule(f.ctx, j); err != nil {
			t.Fatal(err)
		}
		first, _ := claimed(at, 10)
		// The first replica stalls past its lease; another claims the job again.
		second, _ := claimed(at.Add(lease+time.Minute), 10)
		if len(first) != 1 || len(second) != 1 {
			t.Fatalf("claims = %+v, %+v; want the job twice", first, second)
		}
		done(first[0]) // late: must not end the second replica's claim
		if got := claim(at.Add(2*lease+2*time.Minute), 10); !reflect.DeepEqual(got, []store.Job{j}) {
			t.Errorf("after a stale Done and the second lease ran out: ClaimDue = %+v, want the job again (the second claim was not ended)", got)
		}
		third, _ := claimed(at.Add(4*lease), 10)
		done(third[0])
		if got := claim(at.Add(6*lease), 10); len(got) != 0 {
			t.Errorf("after the current claim's Done: ClaimDue = %+v, want nothing", got)
		}
	})

	t.Run("max", func(t *testing.T) {
		later := now.Add(48 * time.Hour)
		var jobs []store.Job
		for i := range 3 {
			jobs = append(jobs, store.Job{Kind: store.JobRenewal, Org: orgA, SubID: fmt.Sprintf("m%d", i), Due: later.Add(time.Duration(i) * time.Second)})
		}
		if err := f.s.Schedule(f.ctx, jobs...); err != nil {
			t.Fatal(err)
		}
		if got := claim(later.Add(time.Minute), 2); !reflect.DeepEqual(got, jobs[:2]) {
			t.Errorf("ClaimDue(max 2) = %+v, want %+v", got, jobs[:2])
		}
		if got := claim(later.Add(time.Minute), 2); !reflect.DeepEqual(got, jobs[2:]) {
			t.Errorf("ClaimDue(max 2) again = %+v, want %+v", got, jobs[2:])
		}
	})
	t.Run("invalid jobs", func(t *testing.T) {
		before := f.snapshot(t)
		for _, j := range []store.Job{
			{Kind: store.JobRenewal, Org: "a|b", SubID: "sub1", Due: now},
			{Kind: store.JobRenewal, Org: orgA, SubID: "sub|1", Due: now},
			{Kind: "re|newal", Org: orgA, SubID: "sub1", Due: now},
			{Kind: "", Org: orgA, SubID: "sub1", Due: now},
			{Kind: store.JobRenewal, Org: orgA, SubID: "sub1"},
			{Kind: store.JobCharge, Org: orgA, SubID: "sub1", Due: now, Invoice: "inv|1"},
			{Kind: store.JobCharge, Org: orgA, SubID: "sub1", Due: now, Invoice: "inv 1"},
		} {
			err := f.s.Schedule(f.ctx, j)
			wantErr(t, fmt.Sprintf("Schedule(%+v)", j), err, store.ErrInvalid)
			s := purchase(orgA, "sub-job", 1)
			_, err = f.s.CreateSubscription(f.ctx, f.idem(), s, nil, j)
			wantErr(t, fmt.Sprintf("CreateSubscription with job %+v", j), err, store.ErrInvalid)
		}
		f.unchanged(t, before, "invalid jobs")
	})
}

func testSettleTrialEnd(t *testing.T, f *fixture) {
	settle := func(j store.Job) string {
		t.Helper()
		action, err := f.s.Settle(f.ctx, j, time.Time{}, nil, nil)
		if err != nil {
			t.Fatalf("Settle(%+v): %v", j, err)
		}
		return action
	}
	tr := trial(orgA, "tr1", excel, 3)
	end := store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr1", Due: tr.TrialEnd}
	if _, err := f.s.CreateSubscription(f.ctx, f.idem(), tr, nil, end); err != nil {
		t.Fatal(err)
	}
	jobs, err := f.s.ClaimDue(f.ctx, tr.TrialEnd, time.Minute, 10)
	if len(jobs) == 1 {
		jobs[0].Lease = time.Time{}
	}
	if err != nil || len(jobs) != 1 || jobs[0] != (store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr1", Due: sec(tr.TrialEnd)}) {
		t.Fatalf("job scheduled with the trial: ClaimDue = %+v, %v; want the trial-end job", jobs, err)
	}

	before := f.snapshot(t)
	wrong := end
	wrong.Due = end.Due.Add(time.Hour)
	if got := settle(wrong); got != "" {
		t.Errorf("trial-end at another time = %q, want \"\"", got)
	}
	reminder := end
	reminder.Kind = store.JobTrialReminder
	if got := settle(reminder); got != "" {
		t.Errorf("reminder = %q, want \"\"", got)
	}
	if got := settle(store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "nosuchsub", Due: end.Due}); got != "" {
		t.Errorf("trial-end of an unknown subscription = %q, want \"\"", got)
	}
	f.unchanged(t, before, "stale settles")

	if got := settle(end); got != "expire" {
		t.Errorf("trial-end = %q, want expire", got)
	}
	if s := f.sub(t, orgA, "tr1"); s.Status != store.StatusExpired {
		t.Errorf("status after trial end = %q, want expired", s.Status)
	}
	if a := f.audit(t, orgA)[0]; a.Actor != "scheduler" || a.Action != "expire" || a.Target != "tr1" || a.Before != "trial" || a.After != "expired" {
		t.Errorf("audit of expiry = %+v", a)
	}
	before = f.snapshot(t)
	if got := settle(end); got != "" {
		t.Errorf("trial-end again = %q, want \"\"", got)
	}
	f.unchanged(t, before, "second trial-end")

	// Bought before its end: nothing happens.
	tr2 := trial(orgA, "tr2", word, 3)
	f.create(t, tr2, nil)
	paid := tr2
	paid.Status, paid.UnitPrice, paid.RenewsAt = store.StatusActive, 100, t0.AddDate(0, 1, 0)
	if _, err := f.s.ConvertTrial(f.ctx, f.idem(), paid, *invoice(paid, "inv-tr2", t0, 3, "purchase")); err != nil {
		t.Fatal(err)
	}
	if got := settle(store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr2", Due: tr2.TrialEnd}); got != "" {
		t.Errorf("trial-end after conversion = %q, want \"\"", got)
	}
	if s := f.sub(t, orgA, "tr2"); s.Status != store.StatusActive {
		t.Errorf("converted trial after trial-end: status %q, want active", s.Status)
	}

	// Canceled during the trial: it ends at the trial's end.
	tr3 := trial(orgA, "tr3", "onenote", 3)
	f.create(t, tr3, nil)
	if _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "tr3", "not-used", "", t0); err != nil {
		t.Fatal(err)
	}
	if got := settle(store.Job{Kind: store.JobTrialEnd, Org: orgA, SubID: "tr3", Due: tr3.TrialEnd}); got != "expire" {
		t.Errorf("trial-end of a canceled trial = %q, want expire", got)
	}
}

func testSettleRenewal(t *testing.T, f *fixture) {
	sub := purchase(orgA, "sub1", 2)
	f.create(t, sub, nil)
	renewal := store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: sub.RenewsAt}
	next := sub.RenewsAt.AddDate(0, 1, 0)
	inv := invoice(sub, "inv-renew", sub.RenewsAt, 2, "renewal")

	before := f.snapshot(t)
	stale := renewal
	stale.Due = sub.RenewsAt.Add(-time.Hour)
	if got, err := f.s.Settle(f.ctx, stale, next, inv, nil); err != nil || got != "" {
		t.Errorf("renewal at another time = %q, %v; want \"\"", got, err)
	}
	f.unchanged(t, before, "stale renewal")

	got, err := f.s.Settle(f.ctx, renewal, next, inv, nil)
	if err != nil || got != "renew" {
		t.Fatalf("renewal = %q, %v; want renew", got, err)
	}
	s := f.sub(t, orgA, "sub1")
	if !s.RenewsAt.Equal(sec(next)) || s.Status != store.StatusActive {
		t.Errorf("after renewal: renews %v, status %q; want %v, active", s.RenewsAt, s.Status, sec(next))
	}
	if got, err := f.s.Invoice(f.ctx, orgA, "inv-renew"); err != nil || !reflect.DeepEqual(got, *inv) {
		t.Errorf("renewal invoice = %+v, %v; want %+v", got, err, *inv)
	}
	if ids, _ := f.invoiceIDs(t, orgA, buyer, sub.RenewsAt, sub.RenewsAt, 0); !slices.Equal(ids, []string{"inv-renew"}) {
		t.Errorf("purchaser's invoices at renewal = %v, want [inv-renew]", ids)
	}
	if a := f.audit(t, orgA)[0]; a.Actor != "scheduler" || a.Action != "renew" || a.Target != "sub1" {
		t.Errorf("audit of renewal = %+v", a)
	}

	before = f.snapshot(t)
	inv2 := invoice(sub, "inv-renew2", sub.RenewsAt, 2, "renewal")
	if got, err := f.s.Settle(f.ctx, renewal, next.AddDate(0, 1, 0), inv2, nil); err != nil || got != "" {
		t.Errorf("same renewal again = %q, %v; want \"\"", got, err)
	}
	f.unchanged(t, before, "repeated renewal")

	// Canceled: it expires at the end of the period, without an invoice.
	if _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, "sub1", "other", "", t0); err != nil {
		t.Fatal(err)
	}
	renewal.Due = next
	if got, err := f.s.Settle(f.ctx, renewal, time.Time{}, nil, nil); err != nil || got != "expire" {
		t.Errorf("renewal of a canceled subscription = %q, %v; want expire", got, err)
	}
	if s := f.sub(t, orgA, "sub1"); s.Status != store.StatusExpired {
		t.Errorf("status = %q, want expired", s.Status)
	}
	before = f.snapshot(t)
	if got, err := f.s.Settle(f.ctx, renewal, next.AddDate(0, 1, 0), inv2, nil); err != nil || got != "" {
		t.Errorf("renewal of an expired subscription = %q, %v; want \"\"", got, err)
	}
	f.unchanged(t, before, "renewal of an expired subscription")

	// A renewal without an invoice writes none.
	sub2 := purchase(orgA, "sub2", 1)
	f.create(t, sub2, nil)
	keys := len(f.snapshot(t))
	if got, err := f.s.Settle(f.ctx, store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub2", Due: sub2.RenewsAt}, next, nil, nil); err != nil || got != "renew" {
		t.Errorf("renewal without invoice = %q, %v; want renew", got, err)
	}
	if n := len(f.snapshot(t)); n != keys {
		t.Errorf("renewal without invoice: %d keys, want %d", n, keys)
	}
}

func testInvalidIDs(t *testing.T, f *fixture) {
	bad := []string{"", "a{b}", "{T01}", "x:y", "with space", "tab\t", "ü", "a|b", "a*", strings.Repeat("a", 65)}
	for _, id := range bad {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			sub := purchase(orgA, "sub1", 5)
			withOrg, withID, withBuyer, withProduct := sub, sub, sub, sub
			withOrg.Org, withID.ID, withBuyer.Purchaser.ID, withProduct.ProductID = id, id, id, id
			withTrialProduct := trial(orgA, "tr1", id, 2)
			inv := invoice(sub, id, t0, 5, "purchase")
			job := store.Job{Kind: store.JobRenewal, Org: id, SubID: "sub1", Due: t0}
			calls := map[string]func() error{
				"create org": func() error { _, err := f.s.CreateSubscription(f.ctx, f.idem(), withOrg, nil); return err },
				"create id":  func() error { _, err := f.s.CreateSubscription(f.ctx, f.idem(), withID, nil); return err },
				"create buyer": func() error {
					_, err := f.s.CreateSubscription(f.ctx, f.idem(), withBuyer, nil)
					return err
				},
				"create product": func() error {
					_, err := f.s.CreateSubscription(f.ctx, f.idem(), withProduct, nil)
					return err
				},
				"create trial product": func() error {
					_, err := f.s.CreateSubscription(f.ctx, f.idem(), withTrialProduct, nil)
					return err
				},
				"create invoice id": func() error { _, err := f.s.CreateSubscription(f.ctx, f.idem(), sub, inv); return err },
				"convert": func() error {
					_, err := f.s.ConvertTrial(f.ctx, f.idem(), withID, *invoice(sub, "i1", t0, 1, ""))
					return err
				},
				"convert invoice id": func() error {
					_, err := f.s.ConvertTrial(f.ctx, f.idem(), sub, *inv)
					return err
				},
				"licenses org":   func() error { _, err := f.s.SetLicenses(f.ctx, f.idem(), id, buyer, "sub1", 6, 5); return err },
				"licenses actor": func() error { _, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, id, "sub1", 6, 5); return err },
				"licenses sub":   func() error { _, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, id, 6, 5); return err },
				"add invoice id": func() error {
					_, err := f.s.AddInvoice(f.ctx, f.idem(), *inv)
					return err
				},
				"assign org": func() error {
					_, err := f.s.AssignLicenses(f.ctx, f.idem(), id, buyer, "sub1", members("U1"))
					return err
				},
				"assign sub": func() error {
					_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, id, members("U1"))
					return err
				},
				"assign user": func() error {
					_, err := f.s.AssignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", members("U1", id))
					return err
				},
				"unassign user": func() error {
					_, err := f.s.UnassignLicenses(f.ctx, f.idem(), orgA, buyer, "sub1", []string{id})
					return err
				},
				"cancel sub":   func() error { _, err := f.s.Cancel(f.ctx, f.idem(), orgA, buyer, id, "other", "", t0); return err },
				"subscription": func() error { _, err := f.s.Subscription(f.ctx, orgA, id); return err },
				"view org":     func() error { _, err := f.s.View(f.ctx, id, buyer, store.ViewOptions{}); return err },
				"view user":    func() error { _, err := f.s.View(f.ctx, orgA, id, store.ViewOptions{}); return err },
				"view trial product": func() error {
					_, err := f.s.View(f.ctx, orgA, buyer, store.ViewOptions{TrialProducts: []string{excel, id}})
					return err
				},
				"prefs":         func() error { return f.s.SetPrefs(f.ctx, orgA, id, store.Prefs{Lang: "de"}) },
				"admin channel": func() error { return f.s.SetAdminChannel(f.ctx, id, admin, "C1") },
				"billing":       func() error { _, err := f.s.SaveBilling(f.ctx, f.idem(), orgA, id, store.Billing{}, "x"); return err },
				"invoice":       func() error { _, err := f.s.Invoice(f.ctx, orgA, id); return err },
				"invoice status": func() error {
					_, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoicePaid, nil)
					return err
				},
				"audit": func() error { _, err := f.s.Audit(f.ctx, id, 10); return err },
				"pay link": func() error {
					_, err := f.s.CreatePayLink(f.ctx, store.PayLink{Org: orgA, User: id}, time.Minute)
					return err
				},
				"settle":   func() error { _, err := f.s.Settle(f.ctx, job, t0, nil, nil); return err },
				"schedule": func() error { return f.s.Schedule(f.ctx, job) },
			}
			for name, call := range calls {
				wantErr(t, name, call(), store.ErrInvalid)
			}
			if keys := f.snapshot(t); len(keys) != 0 {
				t.Errorf("invalid ids wrote keys %v", keys)
			}
		})
	}
	// Redis itself never sees a key of another organization's slot.
	if !store.ValidID("T01ACME") || !store.ValidID("1234567890123456789") || !store.ValidID(store.NewID()) {
		t.Error("ValidID refuses a Slack, Discord or store id")
	}
}

// assertNoDuplicates fails when a user appears twice among a subscription's
// license holders.
func assertNoDuplicates(t *testing.T, s store.Subscription) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range s.Assigned {
		if seen[m.ID] {
			t.Errorf("%s holds two licenses of %s", m.ID, s.ID)
		}
		seen[m.ID] = true
	}
}

func testViewListsSome(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "big", 1000), nil)
	for i := 0; i < 6; i++ {
		users := make([]string, 20)
		for k := range users {
			users[k] = fmt.Sprintf("U%d-%d", i, k)
		}
		f.assign(t, orgA, "big", users...)
	}
	s := f.view(t, orgA, buyer, store.ViewOptions{}).Subs[0]
	if s.AssignedCount != 120 || len(s.Assigned) != store.MaxListed || s.Free() != 880 {
		t.Errorf("view: AssignedCount %d, listed %d, free %d; want 120, %d, 880", s.AssignedCount, len(s.Assigned), s.Free(), store.MaxListed)
	}
	if got := f.sub(t, orgA, "big"); got.AssignedCount != 120 || len(got.Assigned) != 120 {
		t.Errorf("Subscription: AssignedCount %d, listed %d; want 120, 120", got.AssignedCount, len(got.Assigned))
	}
}

func testReply(t *testing.T, f *fixture) {
	f.create(t, purchase(orgA, "sub-r", 5), nil)
	once := store.Once{Key: "assign:V1", Reply: `{"text":"assigned"}`}
	if v := f.view(t, orgA, buyer, store.ViewOptions{Once: once.Key}); v.Reply != "" {
		t.Fatalf("View.Reply before the change = %q, want none", v.Reply)
	}
	first, err := f.s.AssignLicenses(f.ctx, once, orgA, buyer, "sub-r", members("U1"))
	if err != nil || first != (store.Result{Value: "1"}) {
		t.Fatalf("first AssignLicenses = %+v, %v; want value 1", first, err)
	}
	if v := f.view(t, orgA, buyer, store.ViewOptions{Once: once.Key}); v.Reply != once.Reply {
		t.Errorf("View.Reply = %q, want %q", v.Reply, once.Reply)
	}
	again, err := f.s.AssignLicenses(f.ctx, store.Once{Key: once.Key, Reply: "other"}, orgA, buyer, "sub-r", members("U2"))
	if err != nil || again != (store.Result{Repeat: true, Value: once.Reply}) {
		t.Errorf("repeat = %+v, %v; want the first reply", again, err)
	}
	if s := f.sub(t, orgA, "sub-r"); s.AssignedCount != 1 {
		t.Errorf("after the repeat %d assigned, want 1", s.AssignedCount)
	}
}

func TestCacheMiniredis(t *testing.T) {
	mr := miniredis.RunT(t)
	s := connect(t, mr.Addr())
	ctx := t.Context()
	if _, ok, err := s.CacheGet(ctx, orgA, "locale:U1"); ok || err != nil {
		t.Fatalf("CacheGet before put = %v, %v; want nothing", ok, err)
	}
	if err := s.CachePut(ctx, orgA, "locale:U1", "de-DE", time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.CacheGet(ctx, orgA, "locale:U1"); v != "de-DE" || !ok || err != nil {
		t.Errorf("CacheGet = %q, %v, %v; want de-DE", v, ok, err)
	}
	if _, ok, _ := s.CacheGet(ctx, orgB, "locale:U1"); ok {
		t.Error("another organization sees the cached value")
	}
	if v, ttl, ok, err := s.CacheGetTTL(ctx, orgA, "locale:U1"); v != "de-DE" || !ok || err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("CacheGetTTL = %q, %v, %v, %v; want de-DE for at most a minute", v, ttl, ok, err)
	}
	if _, _, ok, err := s.CacheGetTTL(ctx, orgB, "locale:U1"); ok || err != nil {
		t.Errorf("CacheGetTTL of another organization = %v, %v; want nothing", ok, err)
	}
	mr.FastForward(2 * time.Minute)
	if _, ok, _ := s.CacheGet(ctx, orgA, "locale:U1"); ok {
		t.Error("cached value outlived its TTL")
	}
	if _, _, ok, _ := s.CacheGetTTL(ctx, orgA, "locale:U1"); ok {
		t.Error("CacheGetTTL: cached value outlived its TTL")
	}
	if err := s.CachePut(ctx, orgA, "k", "v", 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CachePut without TTL = %v, want ErrInvalid", err)
	}

	for _, org := range []string{orgA, orgB} {
		if err := s.CachePut(ctx, org, "form:k", "v", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CacheDelete(ctx, orgA, "form:k"); err != nil {
		t.Errorf("CacheDelete = %v", err)
	}
	if _, ok, _ := s.CacheGet(ctx, orgA, "form:k"); ok {
		t.Error("a deleted value is still kept")
	}
	if _, ok, _ := s.CacheGet(ctx, orgB, "form:k"); !ok {
		t.Error("CacheDelete deleted another organization's value")
	}
	if err := s.CacheDelete(ctx, orgA, "form:k"); err != nil {
		t.Errorf("CacheDelete of nothing = %v, want nil", err)
	}
}

func TestSettingsMiniredis(t *testing.T) {
	s := connect(t, miniredis.RunT(t).Addr())
	if got, err := s.Settings(t.Context(), orgA); err != nil || got != (store.OrgSettings{}) {
		t.Fatalf("Settings before = %+v, %v; want none", got, err)
	}
	if err := s.SetAdminChannel(t.Context(), orgA, buyer, "<#C1|billing>"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Settings(t.Context(), orgA); err != nil || got.AdminChannel != "<#C1|billing>" {
		t.Errorf("Settings = %+v, %v; want the channel", got, err)
	}
}

// testRateLimit: View with Count limits a user's requests to Rate in any
// minute, not in each calendar minute: a burst at the end of one minute
// and another at the start of the next are not both let through, a user
// steadily at the rate is never refused, and a refused request uses up
// nothing. The store's clock is ViewOptions.Now.
func testRateLimit(t *testing.T, f *fixture) {
	const rate = 60
	minute := time.Date(2025, time.March, 14, 15, 10, 0, 0, time.UTC)
	allowed := func(user string, at time.Time, n int) int {
		t.Helper()
		ok := 0
		for range n {
			v := f.view(t, orgA, user, store.ViewOptions{Count: true, Rate: rate, Now: at})
			if v.Requests < 1 {
				t.Fatalf("Requests = %d, want at least 1 (this one)", v.Requests)
			}
			if v.Requests <= rate {
				ok++
			}
		}
		return ok
	}
	if got := allowed(buyer, minute.Add(-500*time.Millisecond), rate); got != rate {
		t.Errorf("%d of %d requests at 00:59.5 allowed, want all", got, rate)
	}
	if got := allowed(buyer, minute.Add(500*time.Millisecond), rate); got > 2 {
		t.Errorf("%d of %d requests at 01:00.5 allowed right after as many at 00:59.5, want at most 2", got, rate)
	}
	if got := allowed(admin, minute.Add(500*time.Millisecond), 1); got != 1 {
		t.Error("another user is limited too")
	}
	// Drafts of forms count apart (Drafts), at their own rate: the buyer,
	// limited now, may still send a minute's drafts, and a flood of drafts
	// leaves the requests alone.
	drafts := func(user string, at time.Time, n int) int {
		t.Helper()
		ok := 0
		for range n {
			if v := f.view(t, orgA, user, store.ViewOptions{Count: true, Drafts: true, Rate: 2 * rate, Now: at}); v.Requests <= 2*rate {
				ok++
			}
		}
		return ok
	}
	if got := drafts(buyer, minute.Add(500*time.Millisecond), 2*rate+5); got != 2*rate {
		t.Errorf("%d of %d drafts of a limited user allowed, want %d: their own allowance, bounded", got, 2*rate+5, 2*rate)
	}
	if got := drafts("U3DRAFTS", minute, 3*rate) + allowed("U3DRAFTS", minute, rate); got != 2*rate+rate {
		t.Errorf("%d allowed of a flood of drafts and then a minute's requests, want %d: the drafts' allowance and all requests", got, 3*rate)
	}
	// A minute after the burst, a full one again: the refused requests
	// used up nothing.
	if got := allowed(buyer, minute.Add(60500*time.Millisecond), rate); got != rate {
		t.Errorf("%d of %d requests a minute later allowed, want all", got, rate)
	}
	// Steadily once a second, for five minutes: never refused.
	start := minute.Add(10*time.Minute + 123*time.Millisecond)
	for i := range 300 {
		if allowed("U2STEADY", start.Add(time.Duration(i)*time.Second), 1) != 1 {
			t.Fatalf("request %d at one a second refused", i+1)
		}
	}
	// The user's state lives in the organization's slot and expires.
	for k := range f.snapshot(t) {
		if !strings.Contains(k, ":rate:") {
			continue
		}
		if !strings.HasPrefix(k, "bb:{"+orgA+"}:") {
			t.Errorf("rate key %s outside the organization's slot", k)
		}
		if ttl := f.s.Client().PTTL(f.ctx, k).Val(); ttl <= 0 || ttl > 2*time.Minute {
			t.Errorf("TTL of %s = %v, want at most 2m", k, ttl)
		}
	}
	if _, err := f.s.View(f.ctx, orgA, buyer, store.ViewOptions{Count: true, Now: minute}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Count without a rate: %v, want ErrInvalid", err)
	}
}
