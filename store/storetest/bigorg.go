// Package storetest makes data for tests and benchmarks of the store and
// what is built on it, through the store's own methods.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store"
)

// BigOrg is an organization of many self-service subscriptions, made by
// BigOrgOf for tests and benchmarks of its size.
type BigOrg struct {
	Org string
	// Subs are the subscriptions' ids, newest first (as the admin view
	// lists them).
	Subs []string
	// Purchasers are who bought them: Subs[i] by Purchasers[i%len].
	Purchasers []string
}

// BigOrgOf gives org n active self-service subscriptions of the demo
// catalog's Visio Plan 2, bought in turn by purchasers p0…p(buyers-1),
// one a minute back from now (every tenth at the same minute as the one
// before it, so that the order of equal dates counts), and licenses of
// them to holders people h0…h(holders-1), spread evenly. It writes through
// the store's own scripts, from several goroutines at once (a 10,000
// subscription organization with 50,000 holders takes seconds on a real
// Redis, not minutes).
func BigOrgOf(tb testing.TB, st *store.Store, org string, n, buyers, holders int, now time.Time) BigOrg {
	tb.Helper()
	ctx := context.Background()
	o := BigOrg{Org: org, Subs: make([]string, n)}
	for i := range buyers {
		o.Purchasers = append(o.Purchasers, fmt.Sprintf("p%d", i))
	}
	perSub := 0
	if n > 0 {
		perSub = (holders + n - 1) / n
	}
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := bigOrgSub(ctx, st, &o, i, n, perSub, holders, now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	return o
}

// bigOrgSub makes subscription i of n and assigns its holders.
func bigOrgSub(ctx context.Context, st *store.Store, o *BigOrg, i, n, perSub, holders int, now time.Time) error {
	id := fmt.Sprintf("big%06d", i)
	buyer := o.Purchasers[i%len(o.Purchasers)]
	age := i - i/10 // every tenth shares the minute of the one before it
	bought := now.Add(-time.Duration(age) * time.Minute).Truncate(time.Second)
	total := max(perSub, 1)
	sub := store.Subscription{ID: id, Org: o.Org, ProductID: "visio-plan-2", ProductName: "Visio Plan 2",
		Purchaser: store.Member{ID: buyer, Name: "Buyer " + id}, SelfService: true, Status: store.StatusActive,
		Total: total, Period: store.Monthly, UnitPrice: 1260, Currency: "EUR", ProfileID: "default", MethodID: "m-" + buyer,
		PurchasedAt: bought, RenewsAt: bought.AddDate(0, 1, 0)}
	if _, err := st.CreateSubscription(ctx, store.Once{Key: "big-" + id}, sub, nil); err != nil {
		return fmt.Errorf("subscription %d: %w", i, err)
	}
	var users []store.Member
	for h := i; h < holders && len(users) < perSub; h += n {
		users = append(users, store.Member{ID: fmt.Sprintf("h%d", h), Name: fmt.Sprintf("Holder %d", h)})
	}
	for k := 0; k < len(users); k += store.MaxAssign {
		batch := users[k:min(k+store.MaxAssign, len(users))]
		if _, err := st.AssignLicenses(ctx, store.Once{Key: fmt.Sprintf("big-%s-%d", id, k)}, o.Org, buyer, id, batch); err != nil {
			return fmt.Errorf("assign %d: %w", i, err)
		}
	}
	o.Subs[i] = id // newer than those after it, or as new and of a smaller id
	return nil
}
