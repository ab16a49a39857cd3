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

// Approvals and spend caps: an organization may require an admin's
// approval for purchases above an amount a month, per currency, and cap
// what each purchaser spends in a month. A purchase over the threshold
// waits as an Approval until an admin decides, it is withdrawn, or it
// expires.

// ApprovalStatus is where a request for approval stands.
type ApprovalStatus string

// Approval statuses. Open is the only one a decision starts from, except
// Stale, which ends an approved request whose change no longer held.
const (
	ApprovalOpen      ApprovalStatus = "open"
	ApprovalApproved  ApprovalStatus = "approved"
	ApprovalDeclined  ApprovalStatus = "declined"
	ApprovalWithdrawn ApprovalStatus = "withdrawn"
	ApprovalExpired   ApprovalStatus = "expired"
	// ApprovalStale: approved, but what was requested could no longer be
	// done as previewed (the price, the subscription or the purchaser
	// changed); it must be requested again.
	ApprovalStale ApprovalStatus = "stale"
)

// JobApprovalExpiry expires a request for approval that is still open
// (Job.SubID is the request's id).
const JobApprovalExpiry JobKind = "approval-expiry"

// Approval is a purchase or license increase waiting for, or having had,
// an admin's decision.
type Approval struct {
	ID       string
	Org      string
	User     Member // the purchaser
	Product  string // the product's name, for lists
	Currency string
	Monthly  int64 // the change's monthly equivalent, minor units
	Today    int64 // what it charges when made
	// Doc is the core's record of the change (the submission to run on
	// approval); opaque to the store.
	Doc     string
	Status  ApprovalStatus
	Created time.Time
	Expires time.Time
	// By, ByName, At and Reason are the decision's, once made.
	By, ByName string
	At         time.Time
	Reason     string
	// Done is true once the change of an approved request was made
	// (ApprovalDone).
	Done bool
}

// Decision is the outcome of DecideApproval.
type Decision struct {
	// Made is true when this decision was made now.
	Made bool
	// Expired is true when the request was still open but past its
	// expiry: nothing was decided.
	Expired bool
	// Status, By, ByName and At are the decision that stands: this one
	// when Made, else the earlier one.
	Status     ApprovalStatus
	By, ByName string
	At         time.Time
}

var (
	scriptApprovalCreate = changeScript("approval_create")
	scriptApprovalDecide = changeScript("approval_decide")
	scriptApprovalDone   = script("approval_done")
)

// Limits are an organization's approval thresholds or spend caps: by ISO
// 4217 currency code, an amount in minor units.
type Limits map[string]int64

// limitsOf reads the fields "<prefix>:<currency>" of the settings hash.
func limitsOf(h map[string]string, prefix string) Limits {
	var out Limits
	for f, v := range h {
		cur, ok := strings.CutPrefix(f, prefix)
		if !ok || !strings.HasPrefix(cur, ":") {
			continue // most fields: not parsed, on every request's view
		}
		cur = cur[1:]
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			continue
		}
		if out == nil {
			out = Limits{}
		}
		out[cur] = n
	}
	return out
}

// ValidCurrency reports whether cur looks like an ISO 4217 code.
func ValidCurrency(cur string) bool {
	if len(cur) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if cur[i] < 'A' || cur[i] > 'Z' {
			return false
		}
	}
	return true
}

// Limit kinds for SetLimits.
const (
	LimitApproval = "approval" // OrgSettings.Approval
	LimitCap      = "cap"      // OrgSettings.Cap
)

// SetLimits sets an organization's approval thresholds (LimitApproval) or
// spend caps (LimitCap): each currency's amount, 0 to remove it, with an
// audit entry each, in one transaction.
func (s *Store) SetLimits(ctx context.Context, org, actor, kind string, amounts Limits) error {
	const op = "set limits"
	if err := checkIDs(op, org, actor); err != nil {
		return err
	}
	if kind != LimitApproval && kind != LimitCap {
		return &Error{Op: op, Err: fmt.Errorf("%w: kind %q", ErrInvalid, kind)}
	}
	curs := make([]string, 0, len(amounts))
	for cur, n := range amounts {
		if !ValidCurrency(cur) || n < 0 {
			return &Error{Op: op, Err: fmt.Errorf("%w: %s %d", ErrInvalid, cur, n)}
		}
		curs = append(curs, cur)
	}
	sort.Strings(curs)
	k := orgKeys(org)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, cur := range curs {
			field, after := kind+":"+cur, ""
			if n := amounts[cur]; n == 0 {
				p.HDel(ctx, k.settings(), field)
			} else {
				after = strconv.FormatInt(n, 10) + " " + cur
				p.HSet(ctx, k.settings(), field, n)
			}
			p.XAdd(ctx, audit(k, actor, kind+"-limit", "settings", "", after))
		}
		s.trimAudit(ctx, p, org)
		return nil
	})
	return wrap(op, err)
}

// CreateApproval records a request for approval a, open until a.Expires,
// once per once.Key, with the notification to the admins (once.Note) and
// the job that expires it.
func (s *Store) CreateApproval(ctx context.Context, once Once, a Approval) (Result, error) {
	const op = "create approval"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, a.Org, a.ID, a.User.ID); err != nil {
		return Result{}, err
	}
	if !ValidCurrency(a.Currency) || a.Expires.IsZero() || a.Created.IsZero() {
		return Result{}, &Error{Op: op, Err: fmt.Errorf("%w: approval %s", ErrInvalid, a.ID)}
	}
	k := orgKeys(a.Org)
	args := []any{s.ttl(), once.Reply, a.User.ID, a.ID, strconv.FormatInt(a.Created.Unix(), 10),
		fmt.Sprintf("open %d %s", a.Monthly, a.Currency),
		"id", a.ID, "user", a.User.ID, "uname", a.User.Name, "product", a.Product, "cur", a.Currency,
		"monthly", strconv.FormatInt(a.Monthly, 10), "today", strconv.FormatInt(a.Today, 10), "doc", a.Doc,
		"status", string(ApprovalOpen), "created", unix(a.Created), "expires", unix(a.Expires)}
	job := Job{Kind: JobApprovalExpiry, Org: a.Org, SubID: a.ID, Due: a.Expires}
	v, err := s.change(ctx, scriptApprovalCreate, a.Org, []*Note{once.Note}, []Job{job},
		[]string{k.idem(once.Key), k.approval(a.ID), k.approvals(a.User.ID), k.audit(), k.openApprovals()}, args...)
	return result(op, v, err)
}

// Approval reads a request for approval; ErrNotFound when there is none.
func (s *Store) Approval(ctx context.Context, org, id string) (Approval, error) {
	const op = "approval"
	if err := checkIDs(op, org, id); err != nil {
		return Approval{}, err
	}
	h, err := s.rdb.HGetAll(ctx, orgKeys(org).approval(id)).Result()
	if err != nil {
		return Approval{}, wrap(op, err)
	}
	if len(h) == 0 {
		return Approval{}, &Error{Op: op, Err: ErrNotFound}
	}
	return parseApproval(org, h), nil
}

// ApprovalDone records that the change of the approved request id was
// made (Approval.Done).
func (s *Store) ApprovalDone(ctx context.Context, org, id string) error {
	const op = "approval done"
	if err := checkIDs(op, org, id); err != nil {
		return err
	}
	return wrap(op, scriptApprovalDone.Run(ctx, s.rdb, []string{orgKeys(org).approval(id)}).Err())
}

func parseApproval(org string, h map[string]string) Approval {
	num := func(k string) int64 { n, _ := strconv.ParseInt(h[k], 10, 64); return n }
	ts := func(k string) time.Time {
		if n := num(k); n > 0 {
			return time.Unix(n, 0).UTC()
		}
		return time.Time{}
	}
	return Approval{ID: h["id"], Org: org, User: Member{ID: h["user"], Name: h["uname"]}, Product: h["product"],
		Currency: h["cur"], Monthly: num("monthly"), Today: num("today"), Doc: h["doc"], Status: ApprovalStatus(h["status"]),
		Created: ts("created"), Expires: ts("expires"), By: h["by"], ByName: h["byname"], At: ts("at"), Reason: h["reason"],
		Done: h["done"] == "1"}
}

// OpenApprovals lists a purchaser's open requests, oldest first, at most
// n of them.
func (s *Store) OpenApprovals(ctx context.Context, org, user string, n int64) ([]Approval, error) {
	const op = "open approvals"
	if err := checkIDs(op, org, user); err != nil {
		return nil, err
	}
	list, _, err := s.openApprovals(ctx, op, org, orgKeys(org).approvals(user), n)
	return list, err
}

// OrgOpenApprovals lists the organization's open requests, oldest first,
// at most n of them (none for 0: only how many), and how many there are.
func (s *Store) OrgOpenApprovals(ctx context.Context, org string, n int64) ([]Approval, int64, error) {
	const op = "organization's open approvals"
	if err := checkIDs(op, org); err != nil {
		return nil, 0, err
	}
	return s.openApprovals(ctx, op, org, orgKeys(org).openApprovals(), n)
}

// openApprovals reads the first n requests of a sorted set of ids, and
// how many it holds, in two round trips (one for n = 0).
func (s *Store) openApprovals(ctx context.Context, op, org, set string, n int64) ([]Approval, int64, error) {
	k := orgKeys(org)
	if n <= 0 {
		count, err := s.rdb.ZCard(ctx, set).Result()
		return nil, count, wrap(op, err)
	}
	var rng *redis.StringSliceCmd
	var count *redis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rng, count = p.ZRange(ctx, set, 0, n-1), p.ZCard(ctx, set)
		return nil
	})
	ids := rng.Val()
	if err != nil || len(ids) == 0 {
		return nil, count.Val(), wrap(op, err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, k.approval(id))
		}
		return nil
	})
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	out := make([]Approval, 0, len(ids))
	for _, c := range cmds {
		if h := c.Val(); len(h) > 0 {
			out = append(out, parseApproval(org, h))
		}
	}
	return out, count.Val(), nil
}

// DecideApproval makes a decision (approved, declined, withdrawn, expired,
// stale) on a request whose status is from, at now, as actor: the first
// decision wins, atomically; a later one learns which was made (Decision).
// A decision other than ApprovalExpired on an open request past its expiry
// is not made (Decision.Expired). With onlyPurchaser the actor must be
// the request's purchaser (ErrPermission). The notifications go into the
// outbox only when the decision is made.
func (s *Store) DecideApproval(ctx context.Context, a Approval, from, decision ApprovalStatus, actor, actorName, reason string,
	onlyPurchaser bool, now time.Time, notes ...*Note) (Decision, error) {
	const op = "decide approval"
	if err := checkIDs(op, a.Org, a.ID, a.User.ID); err != nil {
		return Decision{}, err
	}
	only := "0"
	if onlyPurchaser {
		only = "1"
	}
	k := orgKeys(a.Org)
	v, err := s.change(ctx, scriptApprovalDecide, a.Org, notes, nil,
		[]string{k.approval(a.ID), k.approvals(a.User.ID), k.audit(), k.openApprovals()},
		string(decision), string(from), actor, actorName, strconv.FormatInt(now.Unix(), 10), reason, only)
	if err != nil {
		return Decision{}, wrap(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 5 {
		return Decision{}, fmt.Errorf("store: %s: unexpected reply %v", op, v)
	}
	str := func(i int) string { s, _ := arr[i].(string); return s }
	d := Decision{Made: str(0) == "new", Expired: str(0) == "expired", Status: ApprovalStatus(str(1)), By: str(2), ByName: str(3)}
	if n, err := strconv.ParseInt(str(4), 10, 64); err == nil && n > 0 {
		d.At = time.Unix(n, 0).UTC()
	}
	return d, nil
}

// SpentSince is what a user's invoices in a currency dated from since on
// add up to: those paid, and those still being collected.
func (s *Store) SpentSince(ctx context.Context, org, user, currency string, since time.Time) (int64, error) {
	const op = "spent since"
	if err := checkIDs(op, org, user); err != nil {
		return 0, err
	}
	k := orgKeys(org)
	ids, err := s.rdb.ZRangeByScore(ctx, k.invoices(user), &redis.ZRangeBy{Min: strconv.FormatInt(since.Unix(), 10), Max: "+inf"}).Result()
	if err != nil || len(ids) == 0 {
		return 0, wrap(op, err)
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = k.invoice(id)
	}
	docs, err := s.rdb.MGet(ctx, names...).Result()
	if err != nil {
		return 0, wrap(op, err)
	}
	var sum int64
	for _, d := range docs {
		doc, _ := d.(string)
		if doc == "" {
			continue
		}
		var inv Invoice
		if err := json.Unmarshal([]byte(doc), &inv); err != nil {
			return 0, fmt.Errorf("store: %s: invoice: %w", op, err)
		}
		switch inv.Status {
		case InvoicePaid, InvoiceOpen, InvoiceAction:
			if inv.Currency == currency {
				sum += inv.Total
			}
		}
	}
	return sum, nil
}
