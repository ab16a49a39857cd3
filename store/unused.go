package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Unused licenses: licenses paid for and not assigned for a while.
//
// Every change that can alter how many licenses of a subscription are free
// (assign, unassign, a new total, a reduction scheduled or withdrawn, a
// purchase's or conversion's payment, a renewal, a cancellation, an expiry)
// keeps, in the same script (lua/lib/unused.lua), since when the
// subscription has had at least how many free licenses without a break.
// n licenses count as unused for a time d at t when the subscription had
// at least n free licenses continuously from t−d to t. Only active
// subscriptions have free licenses in this sense (trials and pending
// purchases are not paid for).

// JobUnused checks a subscription for unused licenses and tells its
// purchaser, once a week at most. One such job per subscription: it
// schedules itself again (jobMember keeps one member per subscription).
const JobUnused JobKind = "unused"

// FreeLevel says that at least Free licenses have been free since Since.
type FreeLevel struct {
	Free  int
	Since time.Time
}

// Unused is what the store keeps of a subscription's free licenses.
type Unused struct {
	// Levels rise in Free and Since; the last Free is the number free now.
	Levels []FreeLevel
	// Told is when its purchaser was last told of unused licenses.
	Told time.Time
}

// Count is how many licenses have been free continuously since cutoff.
func (u Unused) Count(cutoff time.Time) int {
	n := 0
	for _, l := range u.Levels {
		if l.Since.After(cutoff) {
			break
		}
		n = l.Free
	}
	return n
}

// FreeSince is since when at least one license has been free; zero when
// none is.
func (u Unused) FreeSince() time.Time {
	if len(u.Levels) == 0 {
		return time.Time{}
	}
	return u.Levels[0].Since
}

// parseUnused reads the fields lib/unused.lua and unused_tell.lua keep in a
// subscription's hash.
func parseUnused(h map[string]string) Unused {
	var u Unused
	for _, part := range strings.Split(h["free_since"], ",") {
		n, t, ok := strings.Cut(part, ":")
		free, err1 := strconv.Atoi(n)
		sec, err2 := strconv.ParseInt(t, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		u.Levels = append(u.Levels, FreeLevel{Free: free, Since: time.Unix(sec, 0).UTC()})
	}
	if sec, err := strconv.ParseInt(h["unused_told"], 10, 64); err == nil {
		u.Told = time.Unix(sec, 0).UTC()
	}
	return u
}

// UnusedOf reads a subscription with what the store keeps of its free
// licenses.
func (s *Store) UnusedOf(ctx context.Context, org, id string) (Subscription, Unused, error) {
	const op = "unused"
	if err := checkIDs(op, org, id); err != nil {
		return Subscription{}, Unused{}, err
	}
	k := orgKeys(org)
	h, err := s.rdb.HGetAll(ctx, k.sub(id)).Result()
	if err != nil {
		return Subscription{}, Unused{}, wrap(op, err)
	}
	if len(h) == 0 {
		return Subscription{}, Unused{}, &Error{Op: op, Err: ErrNotFound}
	}
	n, err := s.rdb.HLen(ctx, k.subUsers(id)).Result()
	if err != nil {
		return Subscription{}, Unused{}, wrap(op, err)
	}
	return parseSub(h, nil, int(n)), parseUnused(h), nil
}

// TellUnused records that the purchaser of a subscription is told of its
// count licenses free continuously since cutoff, and adds note to the
// outbox with it, unless they were told less than every before the
// caller's time (At): then, and when nothing has been free that long, it
// returns false and changes nothing. ErrStale: count is no longer right.
func (s *Store) TellUnused(ctx context.Context, org, subID string, cutoff time.Time, every time.Duration, count int, note *Note) (bool, error) {
	const op = "tell unused"
	if err := checkIDs(op, org, subID); err != nil {
		return false, err
	}
	if note == nil || count <= 0 {
		return false, &Error{Op: op, Err: fmt.Errorf("%w: nothing to tell", ErrInvalid)}
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptUnusedTell, org, []*Note{note}, nil, []string{k.sub(subID), k.audit()},
		cutoff.Unix(), int64(every/time.Second), count)
	if err != nil {
		return false, wrap(op, err)
	}
	n, _ := v.(int64)
	return n > 0, nil
}

var scriptUnusedTell = changeScript("unused_tell")

type atKey struct{}

// At gives ctx the time a change made with it happens at (the bot's
// clock, which tests set): the store records it where a change keeps
// when it happened (free licenses). Without it, the process's clock.
func At(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, atKey{}, t)
}

// timeOf is the time At gave ctx, or now.
func timeOf(ctx context.Context) time.Time {
	if t, ok := ctx.Value(atKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}
