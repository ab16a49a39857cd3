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
	members := make([]redis.Z, len(jobs))
	for i, j := range jobs {
		members[i] = redis.Z{Score: float64(j.Due.Unix()), Member: jobMember(j)}
	}
	return wrap("schedule", s.rdb.ZAdd(ctx, keyDue, members...).Err())
}

// ClaimDue claims up to max jobs due at now for this replica alone. A
// claimed job that is not marked Done before lease runs out (its replica
// died) is handed out again.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]Job, error) {
	const op = "claim due"
	v, err := scriptClaim.Run(ctx, s.rdb, []string{keyDue, keyInflight},
		now.Unix(), now.Add(lease).Unix(), max).StringSlice()
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
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Done marks a claimed job finished.
func (s *Store) Done(ctx context.Context, j Job) error {
	return wrap("job done", s.rdb.ZRem(ctx, keyInflight, jobMember(j)).Err())
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
// the period to next and records inv, the renewal's invoice.
func (s *Store) Settle(ctx context.Context, j Job, next time.Time, inv *Invoice) (string, error) {
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
	action, err := scriptSettle.Run(ctx, s.rdb, []string{k.sub(j.SubID), k.audit(), k.invoice(invID), k.invoices(user)}, args...).Text()
	return action, wrap(op, err)
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
