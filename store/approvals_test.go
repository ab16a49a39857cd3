package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// The approvals' contract, on miniredis, a real Redis and a Redis Cluster
// (every script's keys in one slot).
func runApprovals(t *testing.T, newStore func(t *testing.T) *store.Store) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"limits", testLimits},
		{"create a request once", testApprovalCreate},
		{"the first decision wins", testApprovalFirstWins},
		{"decisions at once: one is made", testApprovalRace},
		{"expiry", testApprovalExpiry},
		{"withdraw: only the purchaser", testApprovalWithdraw},
		{"spent since", testSpentSince},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, &fixture{s: newStore(t), ctx: t.Context()}) })
	}
}

func TestApprovalsMiniredis(t *testing.T) {
	runApprovals(t, func(t *testing.T) *store.Store { return connect(t, miniredis.RunT(t).Addr()) })
}

func TestApprovalsRedis(t *testing.T) {
	runApprovals(t, realStore(t))
}

func TestApprovalsCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	addrs := redistest.Cluster(t)
	runApprovals(t, func(t *testing.T) *store.Store {
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
	})
}

// approvalRequest is an open request of the buyer, made at t0.
func approvalRequest(id string) store.Approval {
	return store.Approval{ID: id, Org: orgA, User: store.Member{ID: buyer, Name: "Buyer"}, Product: "Word",
		Currency: "EUR", Monthly: 12600, Today: 12600, Doc: `{"form":{}}`,
		Created: sec(t0), Expires: sec(t0).Add(7 * 24 * time.Hour)}
}

func (f *fixture) createApproval(t *testing.T, a store.Approval) {
	t.Helper()
	o := f.idem()
	o.Note = &store.Note{Key: "approval-request:" + a.ID, Body: "{}"}
	if _, err := f.s.CreateApproval(f.ctx, o, a); err != nil {
		t.Fatalf("CreateApproval: %v", err)
	}
}

func testLimits(t *testing.T, f *fixture) {
	if err := f.s.SetLimits(f.ctx, orgA, admin, store.LimitApproval, store.Limits{"EUR": 10000, "USD": 5000}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetLimits(f.ctx, orgA, admin, store.LimitCap, store.Limits{"EUR": 50000}); err != nil {
		t.Fatal(err)
	}
	v := f.view(t, orgA, buyer, store.ViewOptions{})
	if v.Approval["EUR"] != 10000 || v.Approval["USD"] != 5000 || v.Cap["EUR"] != 50000 || len(v.Cap) != 1 {
		t.Errorf("view: approval %v, cap %v", v.Approval, v.Cap)
	}
	if v := f.view(t, orgB, buyer, store.ViewOptions{}); len(v.Approval)+len(v.Cap) != 0 {
		t.Errorf("another organization sees limits %v %v", v.Approval, v.Cap)
	}
	if err := f.s.SetLimits(f.ctx, orgA, admin, store.LimitApproval, store.Limits{"USD": 0}); err != nil {
		t.Fatal(err)
	}
	if v := f.view(t, orgA, buyer, store.ViewOptions{}); len(v.Approval) != 1 || v.Approval["EUR"] != 10000 {
		t.Errorf("after removing USD: %v", v.Approval)
	}
	before := f.snapshot(t)
	for _, bad := range []struct {
		kind string
		l    store.Limits
	}{{"other", store.Limits{"EUR": 1}}, {store.LimitCap, store.Limits{"eur": 1}}, {store.LimitCap, store.Limits{"EUR": -1}}} {
		if err := f.s.SetLimits(f.ctx, orgA, admin, bad.kind, bad.l); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SetLimits(%s, %v) = %v, want ErrInvalid", bad.kind, bad.l, err)
		}
	}
	f.unchanged(t, before, "invalid limits")
	n := 0
	for _, e := range f.audit(t, orgA) {
		if e.Actor == admin && (e.Action == "approval-limit" || e.Action == "cap-limit") {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d audit entries of limits, want 4", n)
	}
}

func testApprovalCreate(t *testing.T, f *fixture) {
	a := approvalRequest("req1")
	o := store.Once{Key: "confirm-1", Reply: "sent", Note: &store.Note{Key: "approval-request:req1", Body: "{}"}}
	for i, want := range []bool{false, true} {
		res, err := f.s.CreateApproval(f.ctx, o, a)
		if err != nil {
			t.Fatal(err)
		}
		if res.Repeat != want {
			t.Errorf("call %d: repeat %v", i, res.Repeat)
		}
	}
	got, err := f.s.Approval(f.ctx, orgA, "req1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.ApprovalOpen || got.User != a.User || got.Monthly != 12600 || !got.Expires.Equal(a.Expires) || got.Doc != a.Doc {
		t.Errorf("read %+v", got)
	}
	open, err := f.s.OpenApprovals(f.ctx, orgA, buyer, 10)
	if err != nil || len(open) != 1 || open[0].ID != "req1" {
		t.Errorf("open %+v, %v", open, err)
	}
	if open, n, err := f.s.OrgOpenApprovals(f.ctx, orgA, 10); err != nil || n != 1 || len(open) != 1 || open[0].ID != "req1" {
		t.Errorf("the organization's open: %+v, %d, %v", open, n, err)
	}
	if open, n, err := f.s.OrgOpenApprovals(f.ctx, orgA, 0); err != nil || n != 1 || len(open) != 0 {
		t.Errorf("the organization's open, counted: %+v, %d, %v", open, n, err)
	}
	if _, err := f.s.Approval(f.ctx, orgB, "req1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another organization reads it: %v", err)
	}
	entries, err := f.s.Outbox(f.ctx, orgA, 10)
	if err != nil || len(entries) != 1 {
		t.Errorf("outbox %d entries, %v; want the request's one", len(entries), err)
	}
	due, err := f.s.ClaimDue(f.ctx, a.Expires, time.Minute, 10)
	if err != nil || len(due) != 1 || due[0].Kind != store.JobApprovalExpiry || due[0].SubID != "req1" {
		t.Errorf("due at expiry %+v, %v", due, err)
	}
}

func testApprovalFirstWins(t *testing.T, f *fixture) {
	a := approvalRequest("req2")
	f.createApproval(t, a)
	at := sec(t0).Add(time.Hour)
	d, err := f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalDeclined, admin, "Ada", "too much", false, at,
		&store.Note{Key: "approval-declined:req2", Body: "{}"})
	if err != nil || !d.Made || d.Status != store.ApprovalDeclined {
		t.Fatalf("decline: %+v, %v", d, err)
	}
	d, err = f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalApproved, "U8OTHER", "Otto", "", false, at.Add(time.Minute),
		&store.Note{Key: "approval-approved:req2", Body: "{}"})
	if err != nil || d.Made || d.Status != store.ApprovalDeclined || d.By != admin || d.ByName != "Ada" || !d.At.Equal(at) {
		t.Errorf("a later decision: %+v, %v", d, err)
	}
	got, _ := f.s.Approval(f.ctx, orgA, "req2")
	if got.Reason != "too much" || got.Status != store.ApprovalDeclined {
		t.Errorf("request %+v", got)
	}
	if open, _ := f.s.OpenApprovals(f.ctx, orgA, buyer, 10); len(open) != 0 {
		t.Errorf("still open: %+v", open)
	}
	if _, n, _ := f.s.OrgOpenApprovals(f.ctx, orgA, 10); n != 0 {
		t.Errorf("the organization still has %d open", n)
	}
	entries, _ := f.s.Outbox(f.ctx, orgA, 10)
	if len(entries) != 2 { // the request's and the decline's
		t.Errorf("outbox holds %d entries, want 2", len(entries))
	}
	if _, err := f.s.DecideApproval(f.ctx, approvalRequest("nope"), store.ApprovalOpen, store.ApprovalApproved, admin, "Ada", "", false, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deciding no request: %v", err)
	}
}

func testApprovalRace(t *testing.T, f *fixture) {
	for round := range 5 {
		a := approvalRequest("race" + string(rune('a'+round)))
		f.createApproval(t, a)
		const n = 8
		made := make([]store.Decision, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				decision := store.ApprovalApproved
				if i%2 == 1 {
					decision = store.ApprovalDeclined
				}
				d, err := f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, decision, "U"+string(rune('A'+i)), "Admin", "", false, sec(t0),
					&store.Note{Key: "decided:" + a.ID + ":" + string(rune('A'+i)), Body: "{}"})
				if err != nil {
					t.Errorf("decide: %v", err)
				}
				made[i] = d
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		var won store.Decision
		for _, d := range made {
			if d.Made {
				winners++
				won = d
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d decisions made, want 1", round, winners)
		}
		for _, d := range made {
			if d.Status != won.Status || d.By != won.By {
				t.Errorf("round %d: a loser learned %+v, the winner was %+v", round, d, won)
			}
		}
	}
	entries, _ := f.s.Outbox(f.ctx, orgA, 100)
	if len(entries) != 10 { // 5 requests, 5 decisions
		t.Errorf("outbox holds %d entries, want 10", len(entries))
	}
}

func testApprovalExpiry(t *testing.T, f *fixture) {
	a := approvalRequest("req3")
	f.createApproval(t, a)
	d, err := f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalApproved, admin, "Ada", "", false, a.Expires)
	if err != nil || d.Made || !d.Expired {
		t.Errorf("approving at expiry: %+v, %v", d, err)
	}
	if got, _ := f.s.Approval(f.ctx, orgA, "req3"); got.Status != store.ApprovalOpen {
		t.Errorf("approving at expiry wrote %s", got.Status)
	}
	d, err = f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalExpired, "scheduler", "", "", false, a.Expires)
	if err != nil || !d.Made {
		t.Errorf("expire: %+v, %v", d, err)
	}
	d, err = f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalExpired, "scheduler", "", "", false, a.Expires)
	if err != nil || d.Made || d.Status != store.ApprovalExpired {
		t.Errorf("expire twice: %+v, %v", d, err)
	}
}

func testApprovalWithdraw(t *testing.T, f *fixture) {
	a := approvalRequest("req4")
	f.createApproval(t, a)
	before := f.snapshot(t)
	if _, err := f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalWithdrawn, admin, "Ada", "", true, sec(t0)); !errors.Is(err, store.ErrPermission) {
		t.Errorf("another's withdrawal: %v", err)
	}
	f.unchanged(t, before, "another's withdrawal")
	d, err := f.s.DecideApproval(f.ctx, a, store.ApprovalOpen, store.ApprovalWithdrawn, buyer, "Buyer", "", true, sec(t0))
	if err != nil || !d.Made {
		t.Errorf("withdraw: %+v, %v", d, err)
	}
}

func testSpentSince(t *testing.T, f *fixture) {
	sub := purchase(orgA, "s1", 5)
	f.create(t, sub, nil)
	month := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, inv := range []store.Invoice{
		{ID: "i1", Date: month.Add(-time.Hour), Total: 1000, Currency: "EUR", Status: store.InvoicePaid},      // last month
		{ID: "i2", Date: month, Total: 2000, Currency: "EUR", Status: store.InvoicePaid},                      // counts
		{ID: "i3", Date: month.Add(48 * time.Hour), Total: 400, Currency: "EUR", Status: store.InvoiceOpen},   // counts
		{ID: "i4", Date: month.Add(49 * time.Hour), Total: 800, Currency: "EUR", Status: store.InvoiceVoid},   // nothing paid
		{ID: "i5", Date: month.Add(50 * time.Hour), Total: 900, Currency: "USD", Status: store.InvoicePaid},   // other currency
		{ID: "i6", Date: month.Add(51 * time.Hour), Total: 300, Currency: "EUR", Status: store.InvoiceFailed}, // nothing paid
	} {
		inv.Org, inv.User, inv.SubID, inv.ProfileID = orgA, buyer, sub.ID, "default"
		inv.Lines = []store.InvoiceLine{{Product: "Word", Quantity: 1, UnitPrice: inv.Total, Amount: inv.Total}}
		o := f.idem()
		if _, err := f.s.AddInvoice(f.ctx, o, inv); err != nil {
			t.Fatalf("invoice %d: %v", i, err)
		}
	}
	got, err := f.s.SpentSince(f.ctx, orgA, buyer, "EUR", month)
	if err != nil || got != 2400 {
		t.Errorf("spent in EUR = %d, %v; want 2400", got, err)
	}
	if got, _ := f.s.SpentSince(f.ctx, orgA, "U7NOBODY", "EUR", month); got != 0 {
		t.Errorf("nobody spent %d", got)
	}
}
