package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// The outbox: every notification a change causes (an admin notification, a
// trial's reminder, a failed payment) is added to the organization's outbox
// stream in the same script as the change, so that a crash between the
// change and its delivery loses nothing. Senders (one per replica, each a
// consumer of the stream's group) deliver the entries and acknowledge them;
// what a dead sender held is claimed by another after a while; failed
// deliveries wait in a retry set and, after too many attempts, move to the
// dead letters that an operator lists and retries.

// outboxGroup is the senders' consumer group; envelope.lua makes it with
// the stream, under the same name.
const outboxGroup = "senders"

// sentTTL is how long a delivery to one destination is remembered.
const sentTTL = 30 * 24 * time.Hour

// Note is the notification a change causes, kept in the organization's
// outbox until a sender has delivered it.
type Note struct {
	// Key identifies the change: a sender delivers one key to one
	// destination once, however often the entry is handed out.
	Key string
	// Body is the notification as the core encoded it; the store keeps it
	// as it is.
	Body string
}

// OutboxEntry is a notification in an organization's outbox or dead letters.
type OutboxEntry struct {
	Org string
	ID  string // the stream entry's id
	Note
	// Attempts is how many deliveries of it failed so far.
	Attempts int
	// Deliveries is how often a sender was handed it in its current place:
	// more than 1 when another sender was handed it before and died.
	Deliveries int
	// At is when the change happened.
	At time.Time
	// Error is why the last attempt failed, if one did.
	Error string
}

// Redelivery reports whether the entry may have been delivered before: a
// sender was handed it earlier (and died), or an attempt failed in a way
// that does not prove nothing arrived (a timeout).
func (e OutboxEntry) Redelivery() bool { return e.Deliveries > 1 || e.Attempts > 0 }

// OutboxBatch is what a sender is handed of one organization's outbox.
type OutboxBatch struct {
	Entries []OutboxEntry // claimed from dead senders first, then new ones
	// Backlog is how many notifications of the organization wait, in the
	// outbox (including those being delivered) or for a retry.
	Backlog int
	// Oldest is when the oldest waiting notification's change happened
	// (zero: none waits).
	Oldest time.Time
	// NextRetry is when the next failed delivery is due again (zero: none).
	NextRetry time.Time
}

// OutboxOrgs hands this sender up to max organizations whose outboxes are
// due for a look at now, and moves their next look to later, so other
// senders do not look at the same ones meanwhile.
func (s *Store) OutboxOrgs(ctx context.Context, now, later time.Time, max int) ([]string, error) {
	orgs, err := scriptOutboxDue.Run(ctx, s.rdb, []string{keyOutboxDue}, now.UnixMilli(), later.UnixMilli(), max).StringSlice()
	if err != nil {
		return nil, wrap("outbox orgs", err)
	}
	return validOrgs(orgs), nil
}

// OutboxLookAt brings the next look at an organization's outbox forward
// to at, if it was later.
func (s *Store) OutboxLookAt(ctx context.Context, org string, at time.Time) error {
	if err := checkIDs("outbox look", org); err != nil {
		return err
	}
	return wrap("outbox look", s.rdb.ZAddLT(ctx, keyOutboxDue, redis.Z{Score: float64(at.UnixMilli()), Member: org}).Err())
}

// OutboxFetch hands consumer (a sender) up to max of the organization's
// notifications to deliver, and up to max that other senders have held for
// longer than claimAfter; due retries go back into the outbox first. Each
// entry stays this consumer's until it settles it (OutboxDone, OutboxRetry,
// OutboxDead) or another consumer claims it after claimAfter.
func (s *Store) OutboxFetch(ctx context.Context, org, consumer string, now time.Time, claimAfter time.Duration, max int) (OutboxBatch, error) {
	const op = "outbox fetch"
	if err := checkIDs(op, org); err != nil {
		return OutboxBatch{}, err
	}
	k := orgKeys(org)
	v, err := scriptOutboxFetch.Run(ctx, s.rdb, []string{k.outbox(), k.outboxRetry()},
		outboxGroup, consumer, claimAfter.Milliseconds(), max, now.UnixMilli()).Slice()
	if err != nil {
		return OutboxBatch{}, wrap(op, err)
	}
	if len(v) != 4 {
		return OutboxBatch{}, fmt.Errorf("store: %s: unexpected reply", op)
	}
	var b OutboxBatch
	raw, _ := v[0].([]any)
	for _, r := range raw {
		triple, _ := r.([]any)
		if len(triple) != 3 {
			return OutboxBatch{}, fmt.Errorf("store: %s: unexpected entry", op)
		}
		id, _ := triple[0].(string)
		n, _ := triple[2].(int64)
		e := parseEntry(org, id, flatMap(triple[1]))
		e.Deliveries = int(n)
		b.Entries = append(b.Entries, e)
	}
	backlog, _ := v[1].(int64)
	b.Backlog = int(backlog)
	if ms, _ := v[2].(int64); ms > 0 {
		b.Oldest = time.UnixMilli(ms).UTC()
	}
	if ms, _ := v[3].(int64); ms > 0 {
		b.NextRetry = time.UnixMilli(ms).UTC()
	}
	return b, nil
}

// parseEntry reads an outbox or dead-letter entry's fields.
func parseEntry(org, id string, f map[string]string) OutboxEntry {
	e := OutboxEntry{Org: org, ID: id, Note: Note{Key: f["key"], Body: f["body"]}, Error: f["err"]}
	e.Attempts, _ = strconv.Atoi(f["attempts"])
	at := f["at"]
	if at == "" {
		at, _, _ = strings.Cut(id, "-")
	}
	if ms, err := strconv.ParseInt(at, 10, 64); err == nil {
		e.At = time.UnixMilli(ms).UTC()
	}
	return e
}

// OutboxDone acknowledges a delivered notification: it leaves the outbox.
// It reports false when the entry was no longer consumer's (another sender
// claimed it meanwhile).
func (s *Store) OutboxDone(ctx context.Context, consumer string, e OutboxEntry) (bool, error) {
	return s.settle(ctx, "outbox done", consumer, e, "done", time.Time{}, "")
}

// OutboxRetry puts a notification whose delivery failed aside until at,
// with why it failed; it then goes back into the outbox. It reports false
// when the entry was no longer consumer's.
func (s *Store) OutboxRetry(ctx context.Context, consumer string, e OutboxEntry, at time.Time, why string) (bool, error) {
	return s.settle(ctx, "outbox retry", consumer, e, "retry", at, why)
}

// OutboxDead gives a notification up: it moves to the organization's dead
// letters with why, until an operator retries it (RetryDead). It reports
// false when the entry was no longer consumer's.
func (s *Store) OutboxDead(ctx context.Context, consumer string, e OutboxEntry, why string) (bool, error) {
	ok, err := s.settle(ctx, "outbox dead", consumer, e, "dead", time.Time{}, why)
	if ok && err == nil {
		err = wrap("outbox dead", s.rdb.SAdd(ctx, keyOutboxDead, e.Org).Err())
	}
	return ok, err
}

func (s *Store) settle(ctx context.Context, op, consumer string, e OutboxEntry, how string, at time.Time, why string) (bool, error) {
	if err := checkIDs(op, e.Org); err != nil {
		return false, err
	}
	k := orgKeys(e.Org)
	n, err := scriptOutboxSettle.Run(ctx, s.rdb, []string{k.outbox(), k.outboxRetry(), k.outboxDead()},
		outboxGroup, consumer, e.ID, how, at.UnixMilli(), clip(why, 500), e.Attempts+1).Int()
	return n == 1, wrap(op, err)
}

// OutboxRelease hands entries this consumer holds but will not deliver (it
// is shutting down) to the other senders at once, instead of after the
// claim timeout, and marks their organizations due.
func (s *Store) OutboxRelease(ctx context.Context, consumer string, claimAfter time.Duration, entries []OutboxEntry) error {
	var errs []error
	for _, e := range entries {
		if err := checkIDs("outbox release", e.Org); err != nil {
			return err
		}
		k := orgKeys(e.Org)
		// Claimed by itself with an idle time past the timeout: the next
		// sender to look claims it.
		err := s.rdb.Do(ctx, "XCLAIM", k.outbox(), outboxGroup, consumer, 0, e.ID,
			"IDLE", (claimAfter + time.Second).Milliseconds(), "JUSTID").Err()
		if err == nil {
			err = s.rdb.ZAdd(ctx, keyOutboxDue, redis.Z{Score: 0, Member: e.Org}).Err()
		}
		errs = append(errs, wrap("outbox release", err))
	}
	return errors.Join(errs...)
}

// Outbox lists up to max notifications waiting in an organization's outbox
// (being delivered or not yet handed out), oldest first.
func (s *Store) Outbox(ctx context.Context, org string, max int64) ([]OutboxEntry, error) {
	return s.entries(ctx, "outbox", org, orgKeys(org).outbox(), max)
}

// DeadLetters lists up to max of an organization's dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, org string, max int64) ([]OutboxEntry, error) {
	return s.entries(ctx, "dead letters", org, orgKeys(org).outboxDead(), max)
}

func (s *Store) entries(ctx context.Context, op, org, key string, max int64) ([]OutboxEntry, error) {
	if err := checkIDs(op, org); err != nil {
		return nil, err
	}
	msgs, err := s.rdb.XRangeN(ctx, key, "-", "+", max).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]OutboxEntry, 0, len(msgs))
	for _, m := range msgs {
		f := make(map[string]string, len(m.Values))
		for k, v := range m.Values {
			f[k], _ = v.(string)
		}
		out = append(out, parseEntry(org, m.ID, f))
	}
	return out, nil
}

// DeadOrgs lists the organizations that have had dead letters.
func (s *Store) DeadOrgs(ctx context.Context) ([]string, error) {
	orgs, err := s.rdb.SMembers(ctx, keyOutboxDead).Result()
	if err != nil {
		return nil, wrap("dead orgs", err)
	}
	return validOrgs(orgs), nil
}

// RetryDead puts an organization's dead letters back into its outbox, with
// their attempts reset: those with the given ids, or with none, all of
// them. It returns how many went back.
func (s *Store) RetryDead(ctx context.Context, org string, ids ...string) (int, error) {
	const op = "retry dead letters"
	if err := checkIDs(op, org); err != nil {
		return 0, err
	}
	for _, id := range ids {
		if !streamID.MatchString(id) {
			return 0, &Error{Op: op, Err: fmt.Errorf("%w: entry id %q", ErrInvalid, id)}
		}
	}
	k := orgKeys(org)
	total := 0
	for {
		args := []any{outboxGroup, 1000}
		for _, id := range ids {
			args = append(args, id)
		}
		n, err := scriptOutboxRedrive.Run(ctx, s.rdb, []string{k.outboxDead(), k.outbox()}, args...).Int()
		if err != nil {
			return total, wrap(op, err)
		}
		total += n
		if n == 0 || len(ids) > 0 {
			break
		}
	}
	if total > 0 {
		if err := s.rdb.ZAdd(ctx, keyOutboxDue, redis.Z{Score: 0, Member: org}).Err(); err != nil {
			return total, wrap(op, err)
		}
	}
	return total, nil
}

// Delivered reports whether the notification with key was delivered to
// destination (a channel, a user) before.
func (s *Store) Delivered(ctx context.Context, org, key, destination string) (bool, error) {
	const op = "delivered"
	if err := checkIDs(op, org); err != nil {
		return false, err
	}
	n, err := s.rdb.Exists(ctx, orgKeys(org).sent(sentID(key, destination))).Result()
	return n == 1, wrap(op, err)
}

// MarkDelivered remembers that the notification with key reached
// destination, so that a redelivery (its sender died before acknowledging
// it, or another destination failed) skips it.
func (s *Store) MarkDelivered(ctx context.Context, org, key, destination string) error {
	const op = "mark delivered"
	if err := checkIDs(op, org); err != nil {
		return err
	}
	return wrap(op, s.rdb.Set(ctx, orgKeys(org).sent(sentID(key, destination)), "1", sentTTL).Err())
}

// sentID names a delivery of a notification to a destination.
func sentID(key, destination string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + destination))
	return hex.EncodeToString(sum[:16])
}

// clip shortens s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// OutboxIndex lists every organization that has had an outbox.
func (s *Store) OutboxIndex(ctx context.Context) ([]string, error) {
	orgs, err := s.rdb.ZRange(ctx, keyOutboxDue, 0, -1).Result()
	if err != nil {
		return nil, wrap("outbox index", err)
	}
	return validOrgs(orgs), nil
}

// validOrgs keeps the organization ids that are valid (an index set by
// hand may hold others).
func validOrgs(orgs []string) []string {
	out := orgs[:0]
	for _, org := range orgs {
		if ValidID(org) {
			out = append(out, org)
		}
	}
	return out
}
