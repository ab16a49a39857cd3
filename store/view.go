package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// View is what one round trip reads about a user: their preferences, the
// organization's settings, their billing document, their subscriptions
// (bought or holding a license of; with All every subscription of the
// organization), their invoices in a date range, and which products have had
// a trial in the organization.
type View struct {
	Prefs    Prefs
	Settings OrgSettings
	Billing  Billing
	Subs     []Subscription    // by purchase date, newest first
	Invoices []Invoice         // by date, newest first
	Trials   map[string]string // product id → trial subscription id
	// More reports that the date range held more invoices than asked for.
	More bool
	// SubsPage is the page of subscriptions read (ViewOptions.SubsPage),
	// the last one when more were asked for; SubsTotal counts those of
	// every page, and SubsHidden the user's that SelfServiceOnly left out.
	SubsPage, SubsTotal, SubsHidden int
	// InvoicesPage is the page of invoices read (ViewOptions.InvoicesPage),
	// and InvoicesTotal counts the range's invoices of every page.
	InvoicesPage, InvoicesTotal int
	// OpenApprovals counts the organization's open requests for approval,
	// and Handovers its subscriptions whose handover waits for an admin,
	// read with a page of the organization's subscriptions (OrgPage).
	OpenApprovals, Handovers int
	// Reply is what the first request with ViewOptions.Once recorded.
	Reply string
	// Unused is what the store keeps of the listed subscriptions' free
	// licenses, by subscription id (those that have any).
	Unused map[string]Unused
	// Requests is how many requests of the user the last minute holds,
	// this one included, when ViewOptions.Count was set: a sliding window
	// (GCRA at ViewOptions.Rate). More than Rate: this request is over the
	// limit, and it was not counted.
	Requests int
	// Approval and Cap are the organization's approval thresholds and
	// monthly spend caps per purchaser (SetLimits).
	Approval, Cap Limits
}

// ViewOptions says what else a view should read.
type ViewOptions struct {
	// All reads every subscription of the organization, however many:
	// for tests and tools, never for a request (see SubsPage).
	All bool
	// SubsPage, from 1, reads one page of SubsPageSize subscriptions
	// instead of all of the user's, newest first: the organization's
	// self-service subscriptions with OrgPage (the admin view; from an
	// index, whatever the organization's size), else the user's own
	// (only self-service ones with SelfServiceOnly).
	SubsPage        int
	SubsPageSize    int // default 20
	OrgPage         bool
	SelfServiceOnly bool
	// InvoicesPage, from 1, reads one page of MaxInvoices invoices of the
	// date range, and counts them all (View.InvoicesTotal).
	InvoicesPage  int
	InvoicesFrom  time.Time // with InvoicesTo: invoices dated in [from, to]
	InvoicesTo    time.Time
	MaxInvoices   int      // default 200
	TrialProducts []string // products whose trial use to report
	// Once is the idempotency key of a change the request may repeat:
	// View.Reply is what its first request recorded, if it happened.
	Once string
	// Count counts this request, at Now, in the user's requests of the
	// last minute (View.Requests), for a limit of Rate requests a minute.
	Count bool
	Rate  int
	// Drafts, with Count, counts the request in the user's allowance for
	// drafts of forms (live previews while a form is filled in) instead:
	// a window of its own, at its own Rate.
	Drafts bool
	Now    time.Time
}

// View reads what a command needs about user in one round trip.
func (s *Store) View(ctx context.Context, org, user string, opt ViewOptions) (View, error) {
	const op = "view"
	if err := checkIDs(op, append([]string{org, user}, opt.TrialProducts...)...); err != nil {
		return View{}, err
	}
	k := orgKeys(org)
	which, size, selfOnly := "user", opt.SubsPageSize, "0"
	switch {
	case opt.All:
		which = "all"
	case opt.SubsPage > 0 && opt.OrgPage:
		which = "org"
	case opt.SubsPage > 0:
		which = "page"
	}
	if size <= 0 {
		size = 20
	}
	if opt.SelfServiceOnly {
		selfOnly = "1"
	}
	from, to := "", ""
	if !opt.InvoicesTo.IsZero() {
		from, to = strconv.FormatInt(opt.InvoicesFrom.Unix(), 10), strconv.FormatInt(opt.InvoicesTo.Unix(), 10)
	}
	most := opt.MaxInvoices
	if most <= 0 {
		most = 200
	}
	rate := "0"
	if opt.Count {
		if opt.Rate <= 0 {
			return View{}, &Error{Op: op, Err: fmt.Errorf("%w: rate %d", ErrInvalid, opt.Rate)}
		}
		rate = strconv.Itoa(opt.Rate)
	}
	now := strconv.FormatFloat(float64(opt.Now.UnixMicro())/1000, 'f', 3, 64)
	args := []any{k.prefix(), which, from, to, strconv.Itoa(most + 1), rate, now,
		strconv.Itoa(opt.SubsPage), strconv.Itoa(size), selfOnly, strconv.Itoa(max(opt.InvoicesPage, 0))}
	for _, p := range opt.TrialProducts {
		args = append(args, p)
	}
	once := k.idem("-") // a key no change uses
	if opt.Once != "" {
		if err := checkIdem(op, opt.Once); err != nil {
			return View{}, err
		}
		once = k.idem(opt.Once)
	}
	rateKey := k.rate(user)
	if opt.Drafts {
		rateKey = k.drafts(user)
	}
	keys := []string{k.prefs(user), k.settings(), k.billing(user), k.bought(user), k.holds(user), k.subs(), k.invoices(user), once,
		rateKey}
	if which == "org" { // what only a page of the organization reads
		keys = append(keys, k.subsIndex(), k.subsIndexBuilt(), k.openApprovals(), k.handovers())
	}
	v, err := s.views.run(ctx, keys, args)
	if err != nil {
		return View{}, wrap(op, err)
	}
	out, ok := v.([]any)
	if !ok || len(out) != 9 {
		return View{}, fmt.Errorf("store: %s: unexpected reply", op)
	}
	prefs, settings := flatMap(out[0]), flatMap(out[1])
	view := View{
		Prefs:    Prefs{Lang: prefs["lang"]},
		Settings: orgSettings(settings),
		Trials:   map[string]string{},
		Approval: limitsOf(settings, LimitApproval), Cap: limitsOf(settings, LimitCap),
	}
	if doc, ok := out[2].(string); ok && doc != "" {
		if err := json.Unmarshal([]byte(doc), &view.Billing); err != nil {
			return View{}, fmt.Errorf("store: %s: billing document: %w", op, err)
		}
	}
	subs, _ := out[3].([]any)
	for _, raw := range subs {
		triple, _ := raw.([]any)
		if len(triple) != 3 {
			return View{}, fmt.Errorf("store: %s: unexpected subscription reply", op)
		}
		n, _ := triple[2].(int64)
		h := flatMap(triple[0])
		view.Subs = append(view.Subs, parseSub(h, flatMap(triple[1]), int(n)))
		if h["free_since"] != "" || h["unused_told"] != "" {
			if view.Unused == nil {
				view.Unused = map[string]Unused{}
			}
			view.Unused[h["id"]] = parseUnused(h)
		}
	}
	sort.Slice(view.Subs, func(i, j int) bool {
		a, b := view.Subs[i], view.Subs[j]
		if !a.PurchasedAt.Equal(b.PurchasedAt) {
			return a.PurchasedAt.After(b.PurchasedAt)
		}
		return a.ID < b.ID
	})
	invs, _ := out[4].([]any)
	for _, raw := range invs {
		doc, _ := raw.(string)
		var inv Invoice
		if err := json.Unmarshal([]byte(doc), &inv); err != nil {
			return View{}, fmt.Errorf("store: %s: invoice: %w", op, err)
		}
		view.Invoices = append(view.Invoices, inv)
	}
	if len(view.Invoices) > most {
		view.Invoices, view.More = view.Invoices[:most], true
	}
	if pages, _ := out[8].([]any); len(pages) == 7 {
		n := make([]int, len(pages))
		for i, p := range pages {
			v, _ := p.(int64)
			n[i] = int(v)
		}
		view.SubsTotal, view.SubsHidden, view.InvoicesTotal = n[0], n[2], n[3]
		if opt.SubsPage > 0 {
			view.SubsPage = n[1]
		}
		view.InvoicesPage, view.OpenApprovals, view.Handovers = n[4], n[5], n[6]
	}
	view.Reply, _ = out[6].(string)
	n, _ := out[7].(int64)
	view.Requests = int(n)
	trials, _ := out[5].([]any)
	for i, raw := range trials {
		if id, _ := raw.(string); id != "" && i < len(opt.TrialProducts) {
			view.Trials[opt.TrialProducts[i]] = id
		}
	}
	return view, nil
}

// flatMap turns a flat [k1 v1 k2 v2 …] reply into a map.
func flatMap(v any) map[string]string {
	arr, _ := v.([]any)
	m := make(map[string]string, len(arr)/2)
	for i := 0; i+1 < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, _ := arr[i+1].(string)
		m[k] = val
	}
	return m
}
