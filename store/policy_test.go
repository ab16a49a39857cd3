package store_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/store"
)

// The policy cases run on miniredis and on a real redis-server.
func TestPolicyMiniredis(t *testing.T) {
	runPolicy(t, func(t *testing.T) *store.Store {
		return connect(t, miniredis.RunT(t).Addr())
	})
}

func TestPolicyRedis(t *testing.T) { runPolicy(t, realStore(t)) }

func runPolicy(t *testing.T, newStore func(t *testing.T) *store.Store) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"set, same again, audit, notification, view", testSetPolicy},
		{"purchases and trials checked in their scripts", testPolicyChecks},
	} {
		t.Run(c.name, func(t *testing.T) { c.run(t, &fixture{s: newStore(t), ctx: t.Context()}) })
	}
}

// outboxLen is how many notifications wait in the organization's outbox.
func (f *fixture) outboxLen(t *testing.T, org string) int64 {
	t.Helper()
	n, err := f.s.Client().XLen(f.ctx, "bb:{"+org+"}:outbox").Result()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testSetPolicy(t *testing.T, f *fixture) {
	note := func(key string) store.Once {
		o := f.idem()
		o.Note = &store.Note{Key: key, Body: "{}"}
		return o
	}
	// The catalog's default is what the product had.
	res, before, changed, err := f.s.SetPolicy(f.ctx, note("n1"), orgA, admin, word, store.PolicyDisabled, store.PolicyEnabled)
	if err != nil || !changed || res.Repeat || before != store.PolicyEnabled {
		t.Fatalf("SetPolicy(disabled) = %+v, %q, %v, %v; want changed from enabled", res, before, changed, err)
	}
	if e := f.audit(t, orgA)[0]; e.Actor != admin || e.Action != "policy" || e.Target != word || e.Before != "enabled" || e.After != "disabled" {
		t.Errorf("audit = %+v, want %s policy %s enabled → disabled", e, admin, word)
	}
	if n := f.outboxLen(t, orgA); n != 1 {
		t.Errorf("outbox holds %d notifications, want 1", n)
	}
	v := f.view(t, orgA, buyer, store.ViewOptions{})
	if p, ok := v.Settings.Policies.Of(word); !ok || p != store.PolicyDisabled {
		t.Errorf("view's policy of %s = %q, %v; want disabled", word, p, ok)
	}
	if p, ok := v.Settings.Policies.Of(excel); ok {
		t.Errorf("view's policy of %s = %q, want none", excel, p)
	}
	if s, err := f.s.Settings(f.ctx, orgA); err != nil || s.Policies != v.Settings.Policies {
		t.Errorf("Settings().Policies = %q, %v; want %q", s.Policies, err, v.Settings.Policies)
	}

	// The same policy again, under a new key: nothing at all.
	snap := f.snapshot(t)
	_, before, changed, err = f.s.SetPolicy(f.ctx, note("n2"), orgA, admin, word, store.PolicyDisabled, store.PolicyEnabled)
	if err != nil || changed || before != store.PolicyDisabled {
		t.Errorf("SetPolicy(disabled) again = %q, %v, %v; want unchanged, disabled", before, changed, err)
	}
	f.unchanged(t, snap, "the same policy again")

	// The catalog's default, set when no admin set one: nothing either.
	_, _, changed, err = f.s.SetPolicy(f.ctx, note("n3"), orgA, admin, excel, store.PolicyTrialsOnly, store.PolicyTrialsOnly)
	if err != nil || changed {
		t.Errorf("SetPolicy(excel, its default) = %v, %v; want unchanged", changed, err)
	}
	f.unchanged(t, snap, "the catalog's policy set")

	// A repeat of a change (its key) returns what the first recorded.
	once := note("n4")
	once.Reply = "first answer"
	if _, _, changed, err := f.s.SetPolicy(f.ctx, once, orgA, admin, word, store.PolicyTrialsOnly, store.PolicyEnabled); err != nil || !changed {
		t.Fatalf("SetPolicy(trials-only) = %v, %v", changed, err)
	}
	snap = f.snapshot(t)
	res, _, changed, err = f.s.SetPolicy(f.ctx, once, orgA, admin, word, store.PolicyTrialsOnly, store.PolicyEnabled)
	if err != nil || changed || !res.Repeat || res.Value != "first answer" {
		t.Errorf("repeated SetPolicy = %+v, %v, %v; want the first answer", res, changed, err)
	}
	f.unchanged(t, snap, "a repeated change")
	if n := f.outboxLen(t, orgA); n != 2 {
		t.Errorf("outbox holds %d notifications, want 2", n)
	}
	// Other organizations keep theirs.
	if v := f.view(t, orgB, buyer, store.ViewOptions{}); len(v.Settings.Policies) != 0 {
		t.Errorf("%s's policies = %v, want none", orgB, v.Settings.Policies)
	}

	for _, bad := range []struct{ p, def store.Policy }{{"hidden", store.PolicyEnabled}, {store.PolicyEnabled, ""}} {
		_, _, _, err := f.s.SetPolicy(f.ctx, f.idem(), orgA, admin, word, bad.p, bad.def)
		wantErr(t, "SetPolicy("+string(bad.p)+", "+string(bad.def)+")", err, store.ErrInvalid)
	}
	_, _, _, err = f.s.SetPolicy(f.ctx, f.idem(), orgA, admin, "no such:id", store.PolicyEnabled, store.PolicyEnabled)
	wantErr(t, "SetPolicy of an invalid product id", err, store.ErrInvalid)
}

func testPolicyChecks(t *testing.T, f *fixture) {
	set := func(product string, p store.Policy) {
		t.Helper()
		if _, _, _, err := f.s.SetPolicy(f.ctx, f.idem(), orgA, admin, product, p, store.PolicyEnabled); err != nil {
			t.Fatal(err)
		}
	}
	checked := func(product string, def store.Policy, trial bool) store.Once {
		o := f.idem()
		o.Policy = &store.PolicyCheck{Product: product, Default: def, Trial: trial}
		return o
	}

	// Disabled: neither a purchase nor a trial, and nothing is written.
	set(word, store.PolicyDisabled)
	snap := f.snapshot(t)
	buy := purchase(orgA, "sub1", 2)
	_, err := f.s.CreateSubscription(f.ctx, checked(word, store.PolicyEnabled, false), buy, invoice(buy, "inv1", t0, 2, "purchase"))
	wantErr(t, "purchase of a disabled product", err, store.ErrPolicy)
	_, err = f.s.CreateSubscription(f.ctx, checked(word, store.PolicyEnabled, true), trial(orgA, "tr1", word, 3), nil)
	wantErr(t, "trial of a disabled product", err, store.ErrPolicy)
	f.unchanged(t, snap, "refused by policy")

	// Trials only: a trial, but no purchase and no conversion.
	set(word, store.PolicyTrialsOnly)
	snap = f.snapshot(t)
	_, err = f.s.CreateSubscription(f.ctx, checked(word, store.PolicyEnabled, false), buy, invoice(buy, "inv1", t0, 2, "purchase"))
	wantErr(t, "purchase of a trials-only product", err, store.ErrPolicy)
	f.unchanged(t, snap, "refused by policy")
	if _, err := f.s.CreateSubscription(f.ctx, checked(word, store.PolicyEnabled, true), trial(orgA, "tr1", word, 3), nil); err != nil {
		t.Fatalf("trial of a trials-only product: %v", err)
	}
	paid := trial(orgA, "tr1", word, 3)
	paid.Status, paid.UnitPrice, paid.RenewsAt = store.StatusActive, 100, t0.AddDate(0, 1, 0)
	snap = f.snapshot(t)
	_, err = f.s.ConvertTrial(f.ctx, checked(word, store.PolicyEnabled, false), paid, *invoice(paid, "inv2", t0, 3, "purchase"))
	wantErr(t, "free conversion of a trials-only product", err, store.ErrPolicy)
	conv := *invoice(paid, "inv3", t0, 3, "purchase")
	conv.Grant = &store.Grant{Kind: store.GrantConversion}
	_, err = f.s.AddInvoice(f.ctx, checked(word, store.PolicyEnabled, false), conv)
	wantErr(t, "conversion invoice of a trials-only product", err, store.ErrPolicy)
	f.unchanged(t, snap, "refused conversions")

	// The catalog's default holds while no admin set one.
	snap = f.snapshot(t)
	xl := purchase(orgA, "sub2", 1)
	xl.ProductID = excel
	_, err = f.s.CreateSubscription(f.ctx, checked(excel, store.PolicyDisabled, false), xl, nil)
	wantErr(t, "purchase of a product disabled by the catalog", err, store.ErrPolicy)
	f.unchanged(t, snap, "refused by the catalog's policy")

	// Enabled again: the conversion, and a purchase, go through; an
	// admin's enabled beats the catalog's disabled.
	set(word, store.PolicyEnabled)
	if _, err := f.s.AddInvoice(f.ctx, checked(word, store.PolicyEnabled, false), conv); err != nil {
		t.Errorf("conversion invoice once enabled: %v", err)
	}
	set(excel, store.PolicyTrialsOnly)
	set(excel, store.PolicyEnabled)
	if _, err := f.s.CreateSubscription(f.ctx, checked(excel, store.PolicyDisabled, false), xl, nil); err != nil {
		t.Errorf("purchase enabled by an admin: %v", err)
	}

	// A repeat of a purchase made before the product was disabled gets
	// its first answer, not a refusal.
	once := checked(word, store.PolicyEnabled, false)
	b2 := purchase(orgA, "sub3", 1)
	if _, err := f.s.CreateSubscription(f.ctx, once, b2, nil); err != nil {
		t.Fatal(err)
	}
	set(word, store.PolicyDisabled)
	if r, err := f.s.CreateSubscription(f.ctx, once, b2, nil); err != nil || !r.Repeat {
		t.Errorf("repeated purchase after the product was disabled = %+v, %v; want the repeat", r, err)
	}
	// Existing subscriptions go on: licenses, assignments.
	if _, err := f.s.SetLicenses(f.ctx, f.idem(), orgA, buyer, "sub3", 2, 1); err != nil {
		t.Errorf("licenses of a subscription of a disabled product: %v", err)
	}
	f.assign(t, orgA, "sub3", "U1")

	// Without a check (nil), nothing is read: other changes are unaffected.
	if _, err := f.s.CreateSubscription(f.ctx, f.idem(), purchase(orgA, "sub4", 1), nil); err != nil {
		t.Errorf("unchecked purchase: %v", err)
	}
	_, err = f.s.CreateSubscription(f.ctx, checked("bad product", store.PolicyEnabled, false), purchase(orgA, "sub5", 1), nil)
	wantErr(t, "check of an invalid product id", err, store.ErrInvalid)
}
