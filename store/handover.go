package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// HandoverState says what became of a subscription since its purchaser
// left the organization.
type HandoverState string

// Handover states. Until an admin decides (HandoverPending), the
// subscription does not renew (Settle answers "wait").
const (
	HandoverPending   HandoverState = "pending"   // an admin is to decide
	HandoverTaken     HandoverState = "taken"     // an admin took it over
	HandoverCanceled  HandoverState = "canceled"  // an admin canceled it at the period's end
	HandoverWithdrawn HandoverState = "withdrawn" // its purchaser came back first
	HandoverLapsed    HandoverState = "lapsed"    // nobody decided in time: it ended
)

// Handover decisions.
const (
	DecideTake   = "take"
	DecideCancel = "cancel"
)

var (
	scriptHandoverLeft   = changeScript("handover_left")
	scriptHandoverBack   = changeScript("handover_back")
	scriptHandoverDecide = changeScript("handover_decide")
	scriptHandoverEnd    = changeScript("handover_end")
)

// Departure is what a member of an organization has there when they
// leave: the subscriptions they bought and those whose licenses they
// hold, as read at one moment.
type Departure struct {
	User string
	// Left is when they left, if they had left before (Store.MemberLeft
	// recorded it); zero while they are a member.
	Left   time.Time
	Bought []Subscription
	Held   []Subscription
}

// Departure reads what user has in org: what MemberLeft and MemberBack
// change.
func (s *Store) Departure(ctx context.Context, org, user string) (Departure, error) {
	const op = "departure"
	if err := checkIDs(op, org, user); err != nil {
		return Departure{}, err
	}
	k := orgKeys(org)
	var left *redis.StringCmd
	var bought, held *redis.StringSliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		left = p.HGet(ctx, k.left(), user)
		bought = p.SMembers(ctx, k.bought(user))
		held = p.SMembers(ctx, k.holds(user))
		return nil
	})
	if err != nil && err != redis.Nil {
		return Departure{}, wrap(op, err)
	}
	d := Departure{User: user}
	if at, err := strconv.ParseInt(left.Val(), 10, 64); err == nil {
		d.Left = time.Unix(at, 0).UTC()
	}
	if d.Bought, err = s.subscriptions(ctx, org, bought.Val()); err != nil {
		return Departure{}, wrap(op, err)
	}
	if d.Held, err = s.subscriptions(ctx, org, held.Val()); err != nil {
		return Departure{}, wrap(op, err)
	}
	return d, nil
}

// subscriptions reads subscriptions by id in one round trip; ids whose
// subscription is gone are left out.
func (s *Store) subscriptions(ctx context.Context, org string, ids []string) ([]Subscription, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	k := orgKeys(org)
	hs := make([]*redis.MapStringStringCmd, len(ids))
	us := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			hs[i] = p.HGetAll(ctx, k.sub(id))
			us[i] = p.HGetAll(ctx, k.subUsers(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []Subscription
	for i := range ids {
		if len(hs[i].Val()) > 0 {
			out = append(out, parseSub(hs[i].Val(), us[i].Val(), len(us[i].Val())))
		}
	}
	return out, nil
}

// MemberLeft records, once, that d.User left org at at: each live
// subscription they bought waits for an admin's decision (Handover
// pending; it does not renew meanwhile), and the licenses they held are
// freed, each with an audit entry, and notes go into the outbox, in one
// atomic step; jobs are scheduled before it. d is what Departure read:
// when it changed meanwhile, MemberLeft fails with ErrStale and changes
// nothing. A repeat (they had left already) changes nothing and reports
// false.
func (s *Store) MemberLeft(ctx context.Context, org string, d Departure, at time.Time, notes []*Note, jobs []Job) (bool, error) {
	const op = "member left"
	if err := checkIDs(op, org, d.User); err != nil {
		return false, err
	}
	if err := checkJobs(op, jobs); err != nil {
		return false, err
	}
	k := orgKeys(org)
	args := []any{d.User, unix(at), k.prefix(), len(d.Bought)}
	for _, b := range d.Bought {
		args = append(args, b.ID, string(b.Status))
	}
	args = append(args, len(d.Held))
	for _, h := range d.Held {
		args = append(args, h.ID)
	}
	v, err := s.change(ctx, scriptHandoverLeft, org, notes, jobs,
		[]string{k.left(), k.handovers(), k.audit(), k.bought(d.User), k.holds(d.User)}, args...)
	res, err := result(op, v, err)
	return err == nil && !res.Repeat, err
}

// MemberBack records that d.User, who had left org, is a member again:
// the handovers of their subscriptions that no admin decided are
// withdrawn, with notes, in one atomic step (ErrStale when the pending
// handovers changed since Departure read them); jobs are scheduled
// before it. It reports false, and changes nothing, when they had not
// left.
func (s *Store) MemberBack(ctx context.Context, org string, d Departure, notes []*Note, jobs ...Job) (bool, error) {
	const op = "member back"
	if err := checkIDs(op, org, d.User); err != nil {
		return false, err
	}
	if err := checkJobs(op, jobs); err != nil {
		return false, err
	}
	k := orgKeys(org)
	args := []any{d.User, k.prefix()}
	for _, b := range d.Bought {
		if b.Handover == HandoverPending {
			args = append(args, b.ID)
		}
	}
	v, err := s.change(ctx, scriptHandoverBack, org, notes, jobs,
		[]string{k.left(), k.handovers(), k.audit(), k.bought(d.User)}, args...)
	res, err := result(op, v, err)
	return err == nil && !res.Repeat, err
}

// Left reports whether user left org (MemberLeft) and is not back.
func (s *Store) Left(ctx context.Context, org, user string) (bool, error) {
	const op = "left"
	if err := checkIDs(op, org, user); err != nil {
		return false, err
	}
	n, err := s.rdb.HExists(ctx, orgKeys(org).left(), user).Result()
	return n, wrap(op, err)
}

// DecideHandover decides, as admin, the pending handover of a
// subscription whose purchaser left: DecideTake makes admin its
// purchaser, paying with profileID and methodID from the next renewal
// on (a trial keeps none); DecideCancel cancels it at the end of its
// period (at: when). The first decision wins: a later one fails with
// ErrDecided, naming the admin who decided (Users), ErrStale when none is
// pending (the purchaser came back, or it lapsed), ErrNotLive when the
// subscription ended meanwhile. jobs are scheduled before it (a renewal
// due again); a refused decision leaves them nothing to do.
func (s *Store) DecideHandover(ctx context.Context, once Once, org string, admin Member, subID, decision, profileID, methodID string, at time.Time, jobs ...Job) (Result, error) {
	const op = "decide handover"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org, admin.ID, subID); err != nil {
		return Result{}, err
	}
	if decision != DecideTake && decision != DecideCancel {
		return Result{}, &Error{Op: op, Err: fmt.Errorf("%w: decision %q", ErrInvalid, decision)}
	}
	if err := checkJobs(op, jobs); err != nil {
		return Result{}, err
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptHandoverDecide, org, []*Note{once.Note}, jobs,
		[]string{k.idem(once.Key), k.sub(subID), k.handovers(), k.audit(), k.bought(admin.ID)},
		s.ttl(), once.Reply, admin.ID, admin.Name, decision, profileID, methodID, unix(at), k.prefix())
	return result(op, v, err)
}

// EndHandover ends a handover that nobody decided: a live subscription
// whose period ended at renews (as read) expires, and note goes into the
// outbox ("expire"); one no longer live leaves the pending handovers
// ("closed"). "" when there was nothing to do.
func (s *Store) EndHandover(ctx context.Context, org, subID string, renews time.Time, note *Note) (string, error) {
	const op = "end handover"
	if err := checkIDs(op, org, subID); err != nil {
		return "", err
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptHandoverEnd, org, []*Note{note}, nil,
		[]string{k.sub(subID), k.handovers(), k.audit()}, unix(renews))
	if err != nil {
		return "", wrap(op, err)
	}
	action, _ := v.(string)
	return action, nil
}

// PendingHandovers lists the subscriptions of org whose handover waits
// for an admin, at most max (the first a scan finds, by id), and how
// many there are.
func (s *Store) PendingHandovers(ctx context.Context, org string, max int) ([]Subscription, int, error) {
	const op = "pending handovers"
	if err := checkIDs(op, org); err != nil {
		return nil, 0, err
	}
	k := orgKeys(org)
	var ids []string
	for cursor := uint64(0); ; {
		page, next, err := s.rdb.SScan(ctx, k.handovers(), cursor, "", int64(max)).Result()
		if err != nil {
			return nil, 0, wrap(op, err)
		}
		ids, cursor = append(ids, page...), next
		if cursor == 0 || len(ids) >= max {
			break
		}
	}
	ids = ids[:min(len(ids), max)]
	slices.Sort(ids)
	n, err := s.rdb.SCard(ctx, k.handovers()).Result()
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	subs, err := s.subscriptions(ctx, org, ids)
	return subs, int(n), wrap(op, err)
}

// People reads one page of org's people who hold or bought a live
// subscription and have not left, scanning the organization's
// subscriptions from cursor (0: the start) about count at a time; next is
// 0 after the last page. A person may be on several pages.
func (s *Store) People(ctx context.Context, org string, cursor uint64, count int) (users []string, next uint64, err error) {
	const op = "people"
	if err := checkIDs(op, org); err != nil {
		return nil, 0, err
	}
	k := orgKeys(org)
	ids, next, err := s.rdb.SScan(ctx, k.subs(), cursor, "", int64(count)).Result()
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	subs := make([]*redis.SliceCmd, len(ids))
	holders := make([]*redis.StringSliceCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			subs[i] = p.HMGet(ctx, k.sub(id), "buyer", "status")
			holders[i] = p.HKeys(ctx, k.subUsers(id))
		}
		return nil
	})
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	seen := map[string]bool{}
	for i := range ids {
		v := subs[i].Val()
		if len(v) != 2 {
			continue
		}
		if st, _ := v[1].(string); st != string(StatusActive) && st != string(StatusTrial) {
			continue
		}
		if buyer, _ := v[0].(string); buyer != "" {
			seen[buyer] = true
		}
		for _, u := range holders[i].Val() {
			seen[u] = true
		}
	}
	for u := range seen {
		users = append(users, u)
	}
	slices.Sort(users)
	if len(users) == 0 {
		return nil, next, nil
	}
	left, err := s.rdb.HMGet(ctx, k.left(), users...).Result()
	if err != nil {
		return nil, 0, wrap(op, err)
	}
	out := users[:0]
	for i, u := range users {
		if left[i] == nil {
			out = append(out, u)
		}
	}
	return out, next, nil
}
