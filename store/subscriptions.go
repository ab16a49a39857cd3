package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// subFields encodes the fields of a subscription's hash.
func subFields(s Subscription) []any {
	ss := "0"
	if s.SelfService {
		ss = "1"
	}
	return []any{
		"id", s.ID, "org", s.Org, "product", s.ProductID, "pname", s.ProductName,
		"buyer", s.Purchaser.ID, "buyer_name", s.Purchaser.Name, "ss", ss,
		"status", string(s.Status), "total", strconv.Itoa(s.Total), "period", string(s.Period),
		"price", strconv.FormatInt(s.UnitPrice, 10), "cur", s.Currency,
		"profile", s.ProfileID, "method", s.MethodID,
		"purchased", unix(s.PurchasedAt), "renews", unix(s.RenewsAt), "trial_end", unix(s.TrialEnd),
	}
}

func parseSub(h map[string]string, users map[string]string, count int) Subscription {
	atoi := func(k string) int { n, _ := strconv.Atoi(h[k]); return n }
	ts := func(k string) time.Time {
		n, err := strconv.ParseInt(h[k], 10, 64)
		if err != nil || h[k] == "" {
			return time.Time{}
		}
		return time.Unix(n, 0).UTC()
	}
	price, _ := strconv.ParseInt(h["price"], 10, 64)
	s := Subscription{
		ID: h["id"], Org: h["org"], ProductID: h["product"], ProductName: h["pname"],
		Purchaser:   Member{ID: h["buyer"], Name: h["buyer_name"]},
		SelfService: h["ss"] == "1", Status: Status(h["status"]), Total: atoi("total"), NextTotal: atoi("next"),
		Period: Period(h["period"]), UnitPrice: price, Currency: h["cur"],
		ProfileID: h["profile"], MethodID: h["method"],
		PurchasedAt: ts("purchased"), RenewsAt: ts("renews"), TrialEnd: ts("trial_end"),
		CancelReason: h["reason"], CancelComment: h["comment"], CanceledAt: ts("canceled"),
		AssignedCount: count,
		Handover:      HandoverState(h["handover"]), HandoverBy: Member{ID: h["handover_by"], Name: h["handover_by_name"]},
		HandoverFrom: ts("handover_at"),
	}
	for id, name := range users {
		s.Assigned = append(s.Assigned, Member{ID: id, Name: name})
	}
	sort.Slice(s.Assigned, func(i, j int) bool {
		if s.Assigned[i].Name != s.Assigned[j].Name {
			return s.Assigned[i].Name < s.Assigned[j].Name
		}
		return s.Assigned[i].ID < s.Assigned[j].ID
	})
	return s
}

func (s *Store) ttl() string { return strconv.Itoa(int(s.idemTTL / time.Second)) }

// invoiceArgs encodes an optional invoice for a script: JSON, score, id.
func invoiceArgs(inv *Invoice) ([]any, error) {
	if inv == nil {
		return []any{"", "0", ""}, nil
	}
	doc, err := json.Marshal(inv)
	if err != nil {
		return nil, err
	}
	return []any{string(doc), strconv.FormatInt(inv.Date.Unix(), 10), inv.ID}, nil
}

// checkIdem checks an idempotency key: the adapters pass platform ids
// (Slack view ids, Discord interaction ids), the core random ids.
func checkIdem(op, key string) error {
	if key == "" || len(key) > 200 || strings.ContainsAny(key, " \t\r\n") {
		return &Error{Op: op, Err: fmt.Errorf("%w: idempotency key %q", ErrInvalid, key)}
	}
	return nil
}

func checkIDs(op string, ids ...string) error {
	for _, id := range ids {
		if !ValidID(id) {
			return &Error{Op: op, Err: fmt.Errorf("%w: id %q", ErrInvalid, id)}
		}
	}
	return nil
}

// checkInvoice checks the id of an optional invoice, which becomes a key.
func checkInvoice(op string, inv *Invoice) error {
	if inv == nil {
		return nil
	}
	return checkIDs(op, inv.ID)
}

// checkJobs checks that jobs survive being encoded as members of the due
// set (kind|org|sub|due[|invoice]): a job that ClaimDue cannot parse back is dropped
// there, so it would be lost without a word.
func checkJobs(op string, jobs []Job) error {
	for _, j := range jobs {
		if !ValidID(string(j.Kind)) || j.Due.IsZero() {
			return &Error{Op: op, Err: fmt.Errorf("%w: job %s at %v", ErrInvalid, j.Kind, j.Due)}
		}
		if err := checkIDs(op, j.Org, j.SubID); err != nil {
			return err
		}
		if j.Invoice != "" {
			if err := checkIDs(op, j.Invoice); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateSubscription records a new subscription, a purchase or (with status
// trial) a trial, together with its first invoice (nil for a trial) and the
// jobs it needs. A trial fails with ErrTrialUsed when the organization has
// had one of the product before.
func (s *Store) CreateSubscription(ctx context.Context, once Once, sub Subscription, inv *Invoice, jobs ...Job) (Result, error) {
	const op = "create subscription"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, sub.Org, sub.ID, sub.Purchaser.ID, sub.ProductID); err != nil {
		return Result{}, err
	}
	if err := checkInvoice(op, inv); err != nil {
		return Result{}, err
	}
	if err := checkJobs(op, jobs); err != nil {
		return Result{}, err
	}
	k := orgKeys(sub.Org)
	invID := ""
	if inv != nil {
		invID = inv.ID
	}
	keys := []string{k.idem(once.Key), k.sub(sub.ID), k.subs(), k.bought(sub.Purchaser.ID), k.audit(), k.invoice(invID), k.invoices(sub.Purchaser.ID), k.subsIndex()}
	if sub.Status == StatusTrial {
		keys = append(keys, k.trial(sub.ProductID))
	}
	ia, err := invoiceArgs(inv)
	if err != nil {
		return Result{}, err
	}
	args := append([]any{s.ttl(), once.Reply, sub.Purchaser.ID, sub.ID}, ia...)
	args = append(args, subFields(sub)...)
	if err := checkPolicy(op, once.Policy); err != nil {
		return Result{}, err
	}
	pk, pa := k.policyArgs(once.Policy)
	keys, args = append(keys, pk), append(args, pa...)
	v, err := s.change(ctx, scriptCreate, sub.Org, []*Note{once.Note}, jobs, keys, args...)
	return result(op, v, err)
}

// ConvertTrial turns the purchaser's trial into a paid subscription with
// the licenses, period, price and payment of sub, keeping its assignments.
func (s *Store) ConvertTrial(ctx context.Context, once Once, sub Subscription, inv Invoice, jobs ...Job) (Result, error) {
	const op = "convert trial"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, sub.Org, sub.ID, sub.Purchaser.ID, inv.ID); err != nil {
		return Result{}, err
	}
	if sub.Total < 1 {
		return Result{}, &Error{Op: op, Err: ErrInvalid}
	}
	if err := checkJobs(op, jobs); err != nil {
		return Result{}, err
	}
	k := orgKeys(sub.Org)
	ia, err := invoiceArgs(&inv)
	if err != nil {
		return Result{}, err
	}
	args := append([]any{s.ttl(), once.Reply, sub.Purchaser.ID, strconv.Itoa(sub.Total)}, ia...)
	args = append(args,
		"status", string(StatusActive), "period", string(sub.Period),
		"price", strconv.FormatInt(sub.UnitPrice, 10), "cur", sub.Currency,
		"profile", sub.ProfileID, "method", sub.MethodID,
		"purchased", unix(sub.PurchasedAt), "renews", unix(sub.RenewsAt))
	if err := checkPolicy(op, once.Policy); err != nil {
		return Result{}, err
	}
	pk, pa := k.policyArgs(once.Policy)
	v, err := s.change(ctx, scriptConvert, sub.Org, []*Note{once.Note}, jobs,
		[]string{k.idem(once.Key), k.sub(sub.ID), k.subUsers(sub.ID), k.audit(), k.invoice(inv.ID), k.invoices(sub.Purchaser.ID), k.subsIndex(), pk},
		append(args, pa...)...)
	return result(op, v, err)
}

// SetLicenses sets the total number of licenses of an active subscription,
// as its purchaser (actor). expected is the total the caller saw; if it has
// changed meanwhile the call fails with ErrStale. Licenses that cost money
// are not set here: they are billed (AddInvoice) and added once paid.
func (s *Store) SetLicenses(ctx context.Context, once Once, org, actor, subID string, total, expected int) (Result, error) {
	const op = "set licenses"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org, actor, subID); err != nil {
		return Result{}, err
	}
	if total < 1 {
		return Result{}, &Error{Op: op, Err: ErrInvalid}
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptLicenses, org, []*Note{once.Note}, nil,
		[]string{k.idem(once.Key), k.sub(subID), k.subUsers(subID), k.audit()},
		s.ttl(), once.Reply, actor, strconv.Itoa(total), strconv.Itoa(expected))
	return result(op, v, err)
}

// ScheduleLicenses sets the total of an active subscription's next period
// to fewer licenses than it has now (next ≥ the number assigned), or with
// next = 0 withdraws such a reduction. Nothing is charged or refunded:
// Total licenses stay paid for until the period ends, and the renewal
// applies the new total (Store.Settle); meanwhile at most next licenses can
// be assigned. expectedTotal and expectedNext are what the caller saw;
// ErrStale when either changed.
func (s *Store) ScheduleLicenses(ctx context.Context, once Once, org, actor, subID string, next, expectedTotal, expectedNext int) (Result, error) {
	const op = "schedule licenses"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org, actor, subID); err != nil {
		return Result{}, err
	}
	if next < 0 {
		return Result{}, &Error{Op: op, Err: ErrInvalid}
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptLicensesNext, org, []*Note{once.Note}, nil,
		[]string{k.idem(once.Key), k.sub(subID), k.subUsers(subID), k.audit()},
		s.ttl(), once.Reply, actor, strconv.Itoa(next), strconv.Itoa(expectedTotal), strconv.Itoa(expectedNext))
	return result(op, v, err)
}

// MaxAssign is the most users one assignment may name.
const MaxAssign = 20

// AssignLicenses gives each user a license of the subscription, all or
// nothing, in one round trip: it fails with ErrAlreadyAssigned (naming the
// users) or ErrNoFreeLicenses and then changes nothing.
func (s *Store) AssignLicenses(ctx context.Context, once Once, org, actor, subID string, users []Member) (Result, error) {
	const op = "assign licenses"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if len(users) == 0 || len(users) > MaxAssign {
		return Result{}, &Error{Op: op, Err: fmt.Errorf("%w: %d users", ErrInvalid, len(users))}
	}
	if err := checkIDs(op, org, actor, subID); err != nil {
		return Result{}, err
	}
	k := orgKeys(org)
	keys := []string{k.idem(once.Key), k.sub(subID), k.subUsers(subID), k.audit()}
	args := []any{s.ttl(), once.Reply, actor}
	seen := map[string]bool{}
	for _, u := range users {
		if err := checkIDs(op, u.ID); err != nil {
			return Result{}, err
		}
		if seen[u.ID] {
			return Result{}, &Error{Op: op, Err: fmt.Errorf("%w: %s named twice", ErrInvalid, u.ID)}
		}
		seen[u.ID] = true
		keys = append(keys, k.holds(u.ID))
		args = append(args, u.ID, u.Name)
	}
	v, err := s.change(ctx, scriptAssign, org, []*Note{once.Note}, nil, keys, args...)
	return result(op, v, err)
}

// UnassignLicenses takes the licenses of the users back, all or nothing: it
// fails with ErrNotAssigned (naming the users) and then changes nothing.
func (s *Store) UnassignLicenses(ctx context.Context, once Once, org, actor, subID string, users []string) (Result, error) {
	const op = "unassign licenses"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if len(users) == 0 {
		return Result{}, &Error{Op: op, Err: ErrInvalid}
	}
	if err := checkIDs(op, append([]string{org, actor, subID}, users...)...); err != nil {
		return Result{}, err
	}
	k := orgKeys(org)
	keys := []string{k.idem(once.Key), k.sub(subID), k.subUsers(subID), k.audit()}
	args := []any{s.ttl(), once.Reply, actor}
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u] {
			return Result{}, &Error{Op: op, Err: fmt.Errorf("%w: %s named twice", ErrInvalid, u)}
		}
		seen[u] = true
		keys = append(keys, k.holds(u))
		args = append(args, u)
	}
	v, err := s.change(ctx, scriptUnassign, org, []*Note{once.Note}, nil, keys, args...)
	return result(op, v, err)
}

// Cancel cancels a live subscription as its purchaser, with a reason and
// optional feedback. The subscription stays usable until EndsAt.
func (s *Store) Cancel(ctx context.Context, once Once, org, actor, subID, reason, comment string, at time.Time) (Result, error) {
	const op = "cancel"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org, actor, subID); err != nil {
		return Result{}, err
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptCancel, org, []*Note{once.Note}, nil, []string{k.idem(once.Key), k.sub(subID), k.audit()},
		s.ttl(), once.Reply, actor, reason, comment, unix(at))
	return result(op, v, err)
}

// EndTrial ends the actor's running trial at once, at at: it expires, and
// the people it is assigned to lose access with it (Cancel keeps a trial
// until its end). once.Note, the change's notification, goes into the
// outbox with it.
func (s *Store) EndTrial(ctx context.Context, once Once, org, actor, subID string, at time.Time) (Result, error) {
	const op = "end trial"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org, actor, subID); err != nil {
		return Result{}, err
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptEndTrial, org, []*Note{once.Note}, nil, []string{k.idem(once.Key), k.sub(subID), k.audit()},
		s.ttl(), once.Reply, actor, unix(at))
	return result(op, v, err)
}

// Subscription reads one subscription of an organization.
func (s *Store) Subscription(ctx context.Context, org, id string) (Subscription, error) {
	const op = "subscription"
	if err := checkIDs(op, org, id); err != nil {
		return Subscription{}, err
	}
	k := orgKeys(org)
	var h, u *redis.MapStringStringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		h = p.HGetAll(ctx, k.sub(id))
		u = p.HGetAll(ctx, k.subUsers(id))
		return nil
	})
	if err != nil {
		return Subscription{}, wrap(op, err)
	}
	if len(h.Val()) == 0 {
		return Subscription{}, &Error{Op: op, Err: ErrNotFound}
	}
	return parseSub(h.Val(), u.Val(), len(u.Val())), nil
}
