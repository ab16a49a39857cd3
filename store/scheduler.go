package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Schedule adds jobs to the due set. Adding a job twice keeps one.
func (s *Store) Schedule(ctx context.Context, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := checkJobs("schedule", jobs); err != nil {
		return err
	}
	return wrap("schedule", s.rdb.ZAdd(ctx, keyDue, dueMembers(jobs)...).Err())
}

// ClaimDue claims up to max jobs due at now for this replica alone. A
// claimed job that is not marked Done before lease runs out (its replica
// died) is handed out again.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Job, error) {
	const op = "claim due"
	until := now.Add(lease).Unix()
	v, err := scriptClaim.Run(ctx, s.rdb, []string{keyDue, keyInflight},
		now.Unix(), until, max).StringSlice()
	if err != nil {
		return nil, wrap(op, err)
	}
	jobs := make([]Job, 0, len(v))
	for _, m := range v {
		j, err := parseJob(m)
		if err != nil {
			// Not ours to run, and never will be: drop it from the in-flight set.
			s.rdb.ZRem(ctx, keyInflight, m)
			continue
		}
		j.Lease = time.Unix(until, 0).UTC()
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Done marks a claimed job finished, if it is still this claim's: a job
// whose lease ran out and that another replica claimed again stays that
// replica's.
func (s *Store) Done(ctx context.Context, j Job) error {
	return wrap("job done", scriptDone.Run(ctx, s.rdb, []string{keyInflight}, jobMember(j), j.Lease.Unix()).Err())
}

func parseJob(m string) (Job, error) {
	parts := strings.Split(m, "|")
	if len(parts) != 4 && len(parts) != 5 {
		return Job{}, fmt.Errorf("bad job %q", m)
	}
	due, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || !ValidID(parts[1]) || !ValidID(parts[2]) {
		return Job{}, fmt.Errorf("bad job %q", m)
	}
	j := Job{Kind: JobKind(parts[0]), Org: parts[1], SubID: parts[2], Due: time.Unix(due, 0).UTC()}
	if len(parts) == 5 {
		if !ValidID(parts[4]) {
			return Job{}, fmt.Errorf("bad job %q", m)
		}
		j.Invoice = parts[4]
	}
	return j, nil
}

// Settle applies a trial-end or renewal job to its subscription if it still
// applies, and says what it did: "expire", "renew" or "" (nothing: the job
// was stale, e.g. the trial was bought meanwhile). A renewal moves the end of
// the period to next, applies a reduction of licenses scheduled for it and
// records inv, the renewal's invoice, which bills the new period's total
// (its line's quantity; ErrStale when that total changed since it was
// read); an expiry adds
// note (nil: none) to the outbox.
func (s *Store) Settle(ctx context.Context, j Job, next time.Time, inv *Invoice, note *Note) (string, error) {
	const op = "settle"
	if err := checkJobs(op, []Job{j}); err != nil {
		return "", err
	}
	if err := checkInvoice(op, inv); err != nil {
		return "", err
	}
	k := orgKeys(j.Org)
	ia, err := invoiceArgs(inv)
	if err != nil {
		return "", err
	}
	user, invID := "", ""
	if inv != nil {
		user, invID = inv.User, inv.ID
	}
	if user == "" {
		user = "none"
	}
	args := append([]any{string(j.Kind), unix(j.Due), unix(next)}, ia...)
	quantity := ""
	if inv != nil && len(inv.Lines) > 0 {
		quantity = strconv.Itoa(inv.Lines[0].Quantity)
	}
	args = append(args, quantity)
	v, err := s.change(ctx, scriptSettle, j.Org, []*Note{note}, nil, []string{k.sub(j.SubID), k.audit(), k.invoice(invID), k.invoices(user), k.handovers()}, args...)
	if err != nil {
		return "", wrap(op, err)
	}
	action, _ := v.(string)
	return action, nil
}

// Notify adds a notification that is not part of another change (a
// trial's reminder) to the organization's outbox, once per once.Key.
func (s *Store) Notify(ctx context.Context, org string, once Once) (Result, error) {
	const op = "notify"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org); err != nil {
		return Result{}, err
	}
	if once.Note == nil {
		return Result{}, &Error{Op: op, Err: fmt.Errorf("%w: no notification", ErrInvalid)}
	}
	v, err := s.change(ctx, scriptNotify, org, []*Note{once.Note}, nil, []string{orgKeys(org).idem(once.Key)}, s.ttl())
	return result(op, v, err)
}

// RemindAgain schedules one more reminder of the actor's running trial, at
// at (the purchaser's "Remind me tomorrow"), and returns when it comes: at,
// or, while a reminder asked for before is still to come at now, that
// one's time, so that asking twice schedules nothing twice. It does not
// look at the trial's end: the reminder does nothing if the trial is over
// by then.
func (s *Store) RemindAgain(ctx context.Context, org, actor, subID string, at, now time.Time) (time.Time, error) {
	const op = "remind again"
	if err := checkIDs(op, org, actor, subID); err != nil {
		return time.Time{}, err
	}
	if !at.After(now) {
		return time.Time{}, &Error{Op: op, Err: fmt.Errorf("%w: a reminder at %v is not after %v", ErrInvalid, at, now)}
	}
	k := orgKeys(org)
	// The record lasts until its reminder is due, and a little longer
	// should Redis's clock run behind the caller's: a record of a time
	// gone by counts as none.
	ttl := at.Sub(now) + time.Hour
	v, err := s.change(ctx, scriptRemind, org, nil, nil, []string{k.remind(subID), k.sub(subID), k.audit()},
		actor, at.Unix(), now.Unix(), ttl.Milliseconds())
	res, err := result(op, v, err)
	if err != nil {
		return time.Time{}, err
	}
	sec, err := strconv.ParseInt(res.Value, 10, 64)
	if err != nil {
		return time.Time{}, &Error{Op: op, Err: fmt.Errorf("unexpected reminder time %q", res.Value)}
	}
	due := time.Unix(sec, 0).UTC()
	// Scheduled after it is recorded, also on a repeat: a job added twice
	// is kept once, and a repeat mends a first call whose job was lost.
	if err := s.Schedule(ctx, Job{Kind: JobTrialReminder, Org: org, SubID: subID, Due: due}); err != nil {
		return time.Time{}, err
	}
	return due, nil
}

// Invoice reads one invoice.
func (s *Store) Invoice(ctx context.Context, org, id string) (Invoice, error) {
	const op = "invoice"
	if err := checkIDs(op, org, id); err != nil {
		return Invoice{}, err
	}
	doc, err := s.rdb.Get(ctx, orgKeys(org).invoice(id)).Result()
	if err == redis.Nil {
		return Invoice{}, &Error{Op: op, Err: ErrNotFound}
	}
	if err != nil {
		return Invoice{}, wrap(op, err)
	}
	var inv Invoice
	return inv, wrap(op, json.Unmarshal([]byte(doc), &inv))
}
