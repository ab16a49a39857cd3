package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/storetest"
)

// orgPage reads one page of the organization's self-service subscriptions.
func (f *fixture) orgPage(t *testing.T, org string, page, size int) (ids []string, v store.View) {
	t.Helper()
	v = f.view(t, org, "admin", store.ViewOptions{SubsPage: page, SubsPageSize: size, OrgPage: true})
	for _, s := range v.Subs {
		ids = append(ids, s.ID)
	}
	return ids, v
}

// testViewPages: a page of the organization's self-service subscriptions
// or of the user's own, newest first and each once across the pages; the
// index is built once for data from before it and kept by the changes
// that make, convert and decline subscriptions; invoices page by range.
func testViewPages(t *testing.T, f *fixture) {
	big := storetest.BigOrgOf(t, f.s, orgA, 23, 3, 46, t0)
	other := purchase(orgA, "notss", 1)
	other.SelfService, other.PurchasedAt = false, t0.Add(time.Hour)
	f.create(t, other, nil)
	f.create(t, purchase(orgB, "elsewhere", 1), nil)

	var all []string
	for page := 1; page <= 3; page++ {
		ids, v := f.orgPage(t, orgA, page, 10)
		if v.SubsPage != page || v.SubsTotal != 23 {
			t.Errorf("page %d: page %d of %d subscriptions, want %d of 23", page, v.SubsPage, v.SubsTotal, page)
		}
		if want := min(10, 23-len(all)); len(ids) != want {
			t.Errorf("page %d: %d subscriptions, want %d", page, len(ids), want)
		}
		all = append(all, ids...)
	}
	if !slices.Equal(all, big.Subs) {
		t.Errorf("pages:\n%v\nwant each self-service subscription once, newest first:\n%v", all, big.Subs)
	}
	if ids, v := f.orgPage(t, orgA, 99, 10); v.SubsPage != 3 || len(ids) != 3 || ids[0] != big.Subs[20] {
		t.Errorf("beyond the last page: page %d %v, want the last, page 3", v.SubsPage, ids)
	}
	if ids, v := f.orgPage(t, "T03EMPTY", 1, 10); len(ids) != 0 || v.SubsTotal != 0 || v.SubsPage != 1 {
		t.Errorf("an organization without subscriptions: %v, %+v", ids, v)
	}

	// Data from before the index: built on the first page read, the same.
	rdb := f.s.Client()
	if err := rdb.Del(f.ctx, "bb:{"+orgA+"}:subs:bydate", "bb:{"+orgA+"}:subs:bydate:built").Err(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := f.orgPage(t, orgA, 1, 23); !slices.Equal(ids, big.Subs) {
		t.Errorf("after the index was built from the subscriptions: %v", ids)
	}

	// A pending purchase is listed until its payment fails; a trial
	// converted moves to its new purchase date.
	pending := purchase(orgA, "pending", 1)
	pending.Status, pending.PurchasedAt = store.StatusPending, t0.Add(2*time.Hour)
	inv := invoice(pending, "inv-pending", t0, 1, "purchase")
	inv.Grant = &store.Grant{Kind: store.GrantPurchase}
	f.create(t, pending, inv)
	tr := trial(orgA, "tr1", excel, 2)
	tr.PurchasedAt = t0.Add(-time.Hour)
	f.create(t, tr, nil)
	if ids, v := f.orgPage(t, orgA, 1, 2); !slices.Equal(ids, []string{"pending", big.Subs[0]}) || v.SubsTotal != 25 {
		t.Errorf("first page with a pending purchase: %v of %d", ids, v.SubsTotal)
	}
	if ok, err := f.s.SetInvoiceStatus(f.ctx, *inv, store.InvoiceFailed); err != nil || !ok {
		t.Fatalf("failed = %v, %v", ok, err)
	}
	if ids, v := f.orgPage(t, orgA, 1, 1); ids[0] != big.Subs[0] || v.SubsTotal != 24 {
		t.Errorf("a declined purchase is listed: %v of %d", ids, v.SubsTotal)
	}
	conv := tr
	conv.Total, conv.Status, conv.PurchasedAt, conv.RenewsAt = 2, store.StatusActive, t0.Add(3*time.Hour), t0.AddDate(0, 1, 0)
	if _, err := f.s.ConvertTrial(f.ctx, f.idem(), conv, *invoice(conv, "inv-conv", t0, 2, "purchase")); err != nil {
		t.Fatal(err)
	}
	if ids, _ := f.orgPage(t, orgA, 1, 1); ids[0] != "tr1" {
		t.Errorf("the converted trial is not the newest: %v", ids)
	}

	// The user's own: p0 bought every third; h1 holds a license of one.
	v := f.view(t, orgA, "p0", store.ViewOptions{SubsPage: 2, SubsPageSize: 5})
	var mine []string
	for i := 0; i < 23; i += 3 {
		mine = append(mine, big.Subs[i])
	}
	if got := subIDsOf(v); v.SubsTotal != len(mine) || v.SubsPage != 2 || !slices.Equal(got, mine[5:]) {
		t.Errorf("p0's page 2: %v of %d, want %v of %d", got, v.SubsTotal, mine[5:], len(mine))
	}
	if v := f.view(t, orgA, buyer, store.ViewOptions{SubsPage: 1, SubsPageSize: 5, SelfServiceOnly: true}); v.SubsHidden != 1 ||
		strings.Contains(fmt.Sprint(subIDsOf(v)), "notss") {
		t.Errorf("self-service only: %v, %d hidden; want notss hidden", subIDsOf(v), v.SubsHidden)
	}
	if v := f.view(t, orgA, "h1", store.ViewOptions{SubsPage: 1}); !slices.Equal(subIDsOf(v), []string{big.Subs[1]}) {
		t.Errorf("h1's products: %v, want %s", subIDsOf(v), big.Subs[1])
	}

	// Invoices: one page of a range, the last when asked for more.
	for i := range 7 {
		sub := purchase(orgA, fmt.Sprintf("inv%d", i), 1)
		sub.Purchaser.ID = "payer"
		f.create(t, sub, invoice(sub, fmt.Sprintf("i%d", i), t0.AddDate(0, 0, -i), 1, "purchase"))
	}
	rng := store.ViewOptions{InvoicesFrom: t0.AddDate(0, -1, 0), InvoicesTo: t0.AddDate(0, 0, 1), MaxInvoices: 3}
	for _, tt := range []struct {
		page, want int
		ids        string
	}{{1, 1, "i0 i1 i2"}, {3, 3, "i6"}, {9, 3, "i6"}} {
		rng.InvoicesPage = tt.page
		v := f.view(t, orgA, "payer", rng)
		var ids []string
		for _, inv := range v.Invoices {
			ids = append(ids, inv.ID)
		}
		if v.InvoicesPage != tt.want || v.InvoicesTotal != 7 || strings.Join(ids, " ") != tt.ids {
			t.Errorf("invoices page %d: page %d of %d: %v; want page %d: %s", tt.page, v.InvoicesPage, v.InvoicesTotal, ids, tt.want, tt.ids)
		}
	}
}

func subIDsOf(v store.View) []string {
	var ids []string
	for _, s := range v.Subs {
		ids = append(ids, s.ID)
	}
	return ids
}
