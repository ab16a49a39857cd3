package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store"
)

// The outbox's part of the contract: every change carries its notification
// into the organization's outbox atomically; senders are handed entries,
// settle them, and claim what a dead sender held.

func note(key string) *store.Note { return &store.Note{Key: key, Body: `{"kind":"` + key + `"}`} }

// noted is f.idem() carrying a notification.
func (f *fixture) noted(key string) store.Once {
	o := f.idem()
	o.Note = note(key)
	return o
}

// outboxKeys lists the keys of the entries waiting in org's outbox.
func (f *fixture) outboxKeys(t *testing.T, org string) []string {
	t.Helper()
	entries, err := f.s.Outbox(f.ctx, org, 100)
	if err != nil {
		t.Fatalf("Outbox(%s): %v", org, err)
	}
	var keys []string
	for _, e := range entries {
		if e.Body != `{"kind":"`+e.Key+`"}` {
			t.Errorf("entry %s: body %q does not belong to key %q", e.ID, e.Body, e.Key)
		}
		keys = append(keys, e.Key)
	}
	return keys
}

func (f *fixture) fetch(t *testing.T, org, consumer string, claimAfter time.Duration) store.OutboxBatch {
	t.Helper()
	b, err := f.s.OutboxFetch(f.ctx, org, consumer, time.Now(), claimAfter, 10)
	if err != nil {
		t.Fatalf("OutboxFetch(%s, %s): %v", org, consumer, err)
	}
	return b
}

func entryKeys(entries []store.OutboxEntry) []string {
	var keys []string
	for _, e := range entries {
		keys = append(keys, e.Key)
	}
	return keys
}

func testOutboxWithChanges(t *testing.T, f *fixture) {
	tr := trial(orgA, "tr1", excel, 3)
	if _, err := f.s.CreateSubscription(f.ctx, f.noted("trial"), tr, nil); err != nil {
		t.Fatal(err)
	}
	sub := purchase(orgA, "sub1", 5)
	buy := f.noted("purchase")
	if _, err := f.s.CreateSubscription(f.ctx, buy, sub, invoice(sub, "inv1", t0, 5, "purchase")); err != nil {
		t.Fatal(err)
	}
	if got, want := f.outboxKeys(t, orgA), []string{"trial", "purchase"}; !slices.Equal(got, want) {
		t.Fatalf("outbox after a trial and a purchase = %q, want %q", got, want)
	}

	// Refused changes and repeats add nothing.
	before := f.snapshot(t)
	if res, err := f.s.CreateSubscription(f.ctx, buy, sub, invoice(sub, "inv1", t0, 5, "purchase")); err != nil || !res.Repeat {
		t.Errorf("repeated purchase = %+v, %v; want a repeat", res, err)
	}
	_, err := f.s.CreateSubscription(f.ctx, f.noted("trial again"), trial(orgA, "tr2", excel, 3), nil)
	wantErr(t, "a second trial", err, store.ErrTrialUsed)
	_, err = f.s.SetLicenses(f.ctx, f.noted("licenses by another"), orgA, admin, "sub1", 6, 5)
	wantErr(t, "licenses by someone else", err, store.ErrPermission)
	_, err = f.s.Cancel(f.ctx, f.noted("cancel unknown"), orgA, buyer, "nosuch", "other", "", t0)
	wantErr(t, "cancel of an unknown subscription", err, store.ErrNotFound)
	f.unchanged(t, before, "refused changes with notifications")

	// Each kind of change that notifies adds its notification once.
	if _, err := f.s.SetLicenses(f.ctx, f.noted("licenses"), orgA, buyer, "sub1", 6, 5); err != nil {
		t.Fatal(err)
	}
	conv := tr
	conv.Status, conv.Total, conv.RenewsAt = store.StatusActive, 4, t0.AddDate(0, 1, 0)
	if _, err := f.s.ConvertTrial(f.ctx, f.noted("conversion"), conv, *invoice(conv, "inv2", t0, 4, "purchase")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Cancel(f.ctx, f.noted("cancel"), orgA, buyer, "sub1", "other", "", t0); err != nil {
		t.Fatal(err)
	}
	expiry := store.Job{Kind: store.JobRenewal, Org: orgA, SubID: "sub1", Due: sub.RenewsAt}
	if got, err := f.s.Settle(f.ctx, expiry, time.Time{}, nil, note("expiry")); err != nil || got != "expire" {
		t.Fatalf("Settle = %q, %v; want expire", got, err)
	}
	if got, err := f.s.Settle(f.ctx, expiry, time.Time{}, nil, note("expiry twice")); err != nil || got != "" {
		t.Errorf("Settle again = %q, %v; want nothing", got, err)
	}
	inv, err := f.s.Invoice(f.ctx, orgA, "inv2")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := f.s.SetInvoiceStatus(f.ctx, inv, store.InvoiceFailed, note("payment failed")); err != nil || !ok {
		t.Fatalf("SetInvoiceStatus = %v, %v", ok, err)
	}
	if ok, err := f.s.SetInvoiceStatus(f.ctx, inv, store.InvoiceFailed, note("payment failed twice")); err != nil || ok {
		t.Errorf("SetInvoiceStatus of an invoice no longer open = %v, %v; want false", ok, err)
	}
	reminder := store.Once{Key: "job:reminder-tr1", Note: note("reminder")}
	for range 2 {
		if _, err := f.s.Notify(f.ctx, orgA, reminder); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"trial", "purchase", "licenses", "conversion", "cancel", "expiry", "payment failed", "reminder"}
	if got := f.outboxKeys(t, orgA); !slices.Equal(got, want) {
		t.Errorf("outbox = %q, want %q", got, want)
	}
	if got := f.outboxKeys(t, orgB); len(got) != 0 {
		t.Errorf("another organization's outbox = %q, want nothing", got)
	}
	_, err = f.s.Notify(f.ctx, orgA, store.Once{Key: "job:none"})
	wantErr(t, "Notify without a notification", err, store.ErrInvalid)
}

func testOutboxDeliver(t *testing.T, f *fixture) {
	if _, err := f.s.CreateSubscription(f.ctx, f.noted("trial"), trial(orgA, "tr1", excel, 3), nil); err != nil {
		t.Fatal(err)
	}
	orgs, err := f.s.OutboxOrgs(f.ctx, time.Now(), time.Now().Add(time.Minute), 10)
	if err != nil || !slices.Equal(orgs, []string{orgA}) {
		t.Fatalf("OutboxOrgs = %q, %v; want [%s]", orgs, err, orgA)
	}
	if orgs, err := f.s.OutboxOrgs(f.ctx, time.Now(), time.Now().Add(time.Minute), 10); err != nil || len(orgs) != 0 {
		t.Errorf("OutboxOrgs again = %q, %v; want none: the first sender looks at them", orgs, err)
	}
	if err := f.s.OutboxLookAt(f.ctx, orgA, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if orgs, err := f.s.OutboxOrgs(f.ctx, time.Now(), time.Now().Add(time.Minute), 10); err != nil || len(orgs) != 1 {
		t.Errorf("OutboxOrgs after OutboxLookAt(now) = %q, %v; want the organization", orgs, err)
	}

	b := f.fetch(t, orgA, "a", time.Minute)
	if len(b.Entries) != 1 || b.Backlog != 1 || b.Oldest.IsZero() {
		t.Fatalf("fetch = %+v, want one entry of a backlog of 1", b)
	}
	e := b.Entries[0]
	if e.Org != orgA || e.Key != "trial" || e.Deliveries != 1 || e.Attempts != 0 || e.Redelivery() ||
		e.At.Before(time.Now().Add(-time.Minute)) || e.At.After(time.Now().Add(time.Second)) {
		t.Errorf("entry = %+v, want trial, first delivery, made now", e)
	}
	if b := f.fetch(t, orgA, "b", time.Minute); len(b.Entries) != 0 || b.Backlog != 1 {
		t.Errorf("another sender's fetch = %+v, want no entries (a holds it) of a backlog of 1", b)
	}
	if ok, err := f.s.OutboxDone(f.ctx, "b", e); err != nil || ok {
		t.Errorf("OutboxDone by a sender that does not hold it = %v, %v; want false", ok, err)
	}
	if ok, err := f.s.OutboxDone(f.ctx, "a", e); err != nil || !ok {
		t.Fatalf("OutboxDone = %v, %v; want true", ok, err)
	}
	if got := f.outboxKeys(t, orgA); len(got) != 0 {
		t.Errorf("outbox after done = %q, want empty", got)
	}
	if b := f.fetch(t, orgA, "a", time.Minute); len(b.Entries) != 0 || b.Backlog != 0 || !b.Oldest.IsZero() {
		t.Errorf("fetch after done = %+v, want nothing", b)
	}
	if b := f.fetch(t, orgB, "a", time.Minute); len(b.Entries) != 0 {
		t.Errorf("fetch of an organization without an outbox = %+v, want nothing", b)
	}
}

func testOutboxClaim(t *testing.T, f *fixture) {
	if _, err := f.s.CreateSubscription(f.ctx, f.noted("trial"), trial(orgA, "tr1", excel, 3), nil); err != nil {
		t.Fatal(err)
	}
	held := f.fetch(t, orgA, "dead", time.Minute).Entries
	if len(held) != 1 {
		t.Fatalf("first sender got %d entries, want 1", len(held))
	}
	// The sender dies holding it: another claims it once it has been held
	// longer than claimAfter.
	const claimAfter = 50 * time.Millisecond
	var claimed []store.OutboxEntry
	deadline := time.Now().Add(5 * time.Second)
	for len(claimed) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the entry of a dead sender was never claimed")
		}
		time.Sleep(20 * time.Millisecond)
		claimed = f.fetch(t, orgA, "alive", claimAfter).Entries
	}
	e := claimed[0]
	if len(claimed) != 1 || e.ID != held[0].ID || e.Deliveries != 2 || !e.Redelivery() {
		t.Errorf("claimed = %+v, want the dead sender's entry, delivered a second time", claimed)
	}
	if ok, err := f.s.OutboxDone(f.ctx, "dead", held[0]); err != nil || ok {
		t.Errorf("OutboxDone by the sender it was claimed from = %v, %v; want false", ok, err)
	}
	if ok, err := f.s.OutboxDone(f.ctx, "alive", e); err != nil || !ok {
		t.Errorf("OutboxDone by the claimer = %v, %v; want true", ok, err)
	}

	// A sender that shuts down releases what it holds at once.
	if _, err := f.s.Notify(f.ctx, orgA, store.Once{Key: "job:r", Note: note("reminder")}); err != nil {
		t.Fatal(err)
	}
	held = f.fetch(t, orgA, "leaving", time.Hour).Entries
	if err := f.s.OutboxRelease(f.ctx, "leaving", time.Hour, held); err != nil {
		t.Fatal(err)
	}
	if got := f.fetch(t, orgA, "staying", time.Hour).Entries; len(got) != 1 || got[0].Key != "reminder" {
		t.Errorf("after release, another sender fetched %q, want the reminder at once", entryKeys(got))
	}
	if orgs, err := f.s.OutboxOrgs(f.ctx, time.Now(), time.Now().Add(time.Minute), 10); err != nil || !slices.Contains(orgs, orgA) {
		t.Errorf("OutboxOrgs after release = %q, %v; want the organization due", orgs, err)
	}
}

func testOutboxRetryDead(t *testing.T, f *fixture) {
	if _, err := f.s.CreateSubscription(f.ctx, f.noted("trial"), trial(orgA, "tr1", excel, 3), nil); err != nil {
		t.Fatal(err)
	}
	e := f.fetch(t, orgA, "a", time.Minute).Entries[0]
	at := time.Now().Add(time.Hour)
	if ok, err := f.s.OutboxRetry(f.ctx, "a", e, at, "slack chat.postMessage: 503"); err != nil || !ok {
		t.Fatalf("OutboxRetry = %v, %v", ok, err)
	}
	b := f.fetch(t, orgA, "a", time.Minute)
	if len(b.Entries) != 0 || b.Backlog != 1 || b.NextRetry.UnixMilli() != at.UnixMilli() || !b.Oldest.Equal(e.At) {
		t.Errorf("fetch before the retry is due = %+v; want nothing handed out, a backlog of 1, the retry at %v, oldest %v", b, at, e.At)
	}
	b, err := f.s.OutboxFetch(f.ctx, orgA, "b", at.Add(time.Second), time.Minute, 10)
	if err != nil || len(b.Entries) != 1 {
		t.Fatalf("fetch when the retry is due = %+v, %v; want the entry", b, err)
	}
	r := b.Entries[0]
	if r.Key != e.Key || r.Body != e.Body || r.Attempts != 1 || r.Error != "slack chat.postMessage: 503" || !r.At.Equal(e.At) || !r.Redelivery() {
		t.Errorf("retried entry = %+v, want %+v after 1 failed attempt, made when the first was", r, e)
	}

	if ok, err := f.s.OutboxDead(f.ctx, "b", r, "slack: channel_not_found"); err != nil || !ok {
		t.Fatalf("OutboxDead = %v, %v", ok, err)
	}
	if b := f.fetch(t, orgA, "b", time.Minute); len(b.Entries) != 0 || b.Backlog != 0 {
		t.Errorf("fetch after dead = %+v, want nothing", b)
	}
	dead, err := f.s.DeadLetters(f.ctx, orgA, 10)
	if err != nil || len(dead) != 1 || dead[0].Key != "trial" || dead[0].Attempts != 2 || dead[0].Error != "slack: channel_not_found" || !dead[0].At.Equal(e.At) {
		t.Fatalf("DeadLetters = %+v, %v; want the trial after 2 attempts", dead, err)
	}
	if orgs, err := f.s.DeadOrgs(f.ctx); err != nil || !slices.Equal(orgs, []string{orgA}) {
		t.Errorf("DeadOrgs = %q, %v; want [%s]", orgs, err, orgA)
	}
	if _, err := f.s.RetryDead(f.ctx, orgA, "not an id"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RetryDead(bad id) = %v, want ErrInvalid", err)
	}
	if n, err := f.s.RetryDead(f.ctx, orgA, "1-1"); err != nil || n != 0 {
		t.Errorf("RetryDead(unknown id) = %d, %v; want 0", n, err)
	}
	if n, err := f.s.RetryDead(f.ctx, orgA, dead[0].ID); err != nil || n != 1 {
		t.Fatalf("RetryDead = %d, %v; want 1", n, err)
	}
	if dead, err := f.s.DeadLetters(f.ctx, orgA, 10); err != nil || len(dead) != 0 {
		t.Errorf("DeadLetters after retry = %+v, %v; want none", dead, err)
	}
	got := f.fetch(t, orgA, "c", time.Minute).Entries
	if len(got) != 1 || got[0].Key != "trial" || got[0].Attempts != 0 || !got[0].At.Equal(e.At) {
		t.Errorf("fetch after RetryDead = %+v, want the trial with its attempts reset", got)
	}

	// Many dead letters go back at once.
	for i := range 3 {
		if _, err := f.s.Notify(f.ctx, orgB, store.Once{Key: fmt.Sprintf("job:%d", i), Note: note(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range f.fetch(t, orgB, "a", time.Minute).Entries {
		if _, err := f.s.OutboxDead(f.ctx, "a", e, "gone"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.s.RetryDead(f.ctx, orgB); err != nil || n != 3 {
		t.Errorf("RetryDead(all) = %d, %v; want 3", n, err)
	}
	if got := f.outboxKeys(t, orgB); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Errorf("outbox after RetryDead(all) = %q", got)
	}
}

func testDeliveredMarks(t *testing.T, f *fixture) {
	mark := func(org, key, dest string) {
		t.Helper()
		if err := f.s.MarkDelivered(f.ctx, org, key, dest); err != nil {
			t.Fatal(err)
		}
	}
	was := func(org, key, dest string) bool {
		t.Helper()
		ok, err := f.s.Delivered(f.ctx, org, key, dest)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	mark(orgA, "purchase:sub1:k", "channel:C1")
	for _, c := range []struct {
		org, key, dest string
		want           bool
	}{
		{orgA, "purchase:sub1:k", "channel:C1", true},
		{orgA, "purchase:sub1:k", "dm:U1", false},
		{orgA, "purchase:sub2:k", "channel:C1", false},
		{orgB, "purchase:sub1:k", "channel:C1", false},
	} {
		if got := was(c.org, c.key, c.dest); got != c.want {
			t.Errorf("Delivered(%s, %s, %s) = %v, want %v", c.org, c.key, c.dest, got, c.want)
		}
	}
}

func testLateChange(t *testing.T, f *fixture) {
	before := f.snapshot(t)
	// The caller gives up in 100 ms: less than the margin a change needs, so
	// Redis refuses it as too late.
	ctx, cancel := context.WithTimeout(f.ctx, 100*time.Millisecond)
	defer cancel()
	_, err := f.s.CreateSubscription(ctx, f.noted("trial"), trial(orgA, "tr1", excel, 3), nil)
	wantErr(t, "a change that reaches Redis after its deadline", err, store.ErrUnavailable)
	f.unchanged(t, before, "a late change")
	if err := f.s.Ping(f.ctx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	if _, err := f.s.CreateSubscription(ctx, f.noted("trial"), trial(orgA, "tr1", excel, 3), nil); err != nil {
		t.Errorf("a change in time: %v", err)
	}
}
