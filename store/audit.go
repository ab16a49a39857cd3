package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The audit trail: reading the organization's audit stream page by page,
// and keeping it only as long as the deployment says.

// DefaultAuditKeep is how long audit entries are kept unless the
// deployment says otherwise (SetAuditRetention).
const DefaultAuditKeep = 400 * 24 * time.Hour

// MaxAuditPage is the most entries one AuditPage call returns.
const MaxAuditPage = 1000

// auditScan is the most entries one AuditPage call looks at when it picks
// one person's: a page for someone who did little in a long stream ends
// there, with a cursor to read on from (AuditPage.Older).
const auditScan = 2000

var scriptAuditPage = script("audit_page")

// SetAuditRetention sets how long audit entries are kept (keep ≤ 0: until
// the stream's cap alone drops them) and the clock that says what is old
// (nil: time.Now). Every change trims its organization's stream in the
// same round trip; reads never show entries older than keep. Call it
// before the store is used.
func (s *Store) SetAuditRetention(keep time.Duration, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.auditKeep, s.now = keep, now
}

// auditCutoff is the id below which entries are no longer kept ("" when
// all are).
func (s *Store) auditCutoff() string {
	if s.auditKeep <= 0 {
		return ""
	}
	return strconv.FormatInt(s.now().Add(-s.auditKeep).UnixMilli(), 10)
}

// trimAudit drops the organization's audit entries older than the
// retention, in p. Approximate (XTRIM MINID ~): Redis drops whole nodes of
// the stream, so up to about a hundred entries past their time wait for
// the next trim; reads leave them out.
func (s *Store) trimAudit(ctx context.Context, p redis.Pipeliner, org string) {
	if min := s.auditCutoff(); min != "" {
		p.XTrimMinIDApprox(ctx, orgKeys(org).audit(), min, 0)
	}
}

// TrimAudit drops the organization's audit entries older than the
// retention now (changes do so as they are made).
func (s *Store) TrimAudit(ctx context.Context, org string) error {
	const op = "trim audit"
	if err := checkIDs(op, org); err != nil {
		return err
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		s.trimAudit(ctx, p, org)
		return nil
	})
	return wrap(op, err)
}

// AuditQuery chooses one page of an organization's audit entries.
type AuditQuery struct {
	// From and To bound the entries' times, both included; zero: no bound.
	From, To time.Time
	// Person keeps only the entries by or about one user id: made by them,
	// aimed at them, or naming them (an assignment).
	Person string
	// Before reads the page of entries older than this entry id (a page's
	// Older); After the page of entries newer than it (a page's Newer).
	// Neither: the newest page.
	Before, After string
	// Limit is the most entries on the page, 1–MaxAuditPage.
	Limit int
}

// AuditPage is one page of audit entries, newest first.
type AuditPage struct {
	Entries []AuditEntry
	// Older is the Before of the next page, of older entries; "" when no
	// older entry can match. Newer is the After of the page before, of
	// newer entries; "" on the newest page.
	Older, Newer string
}

// AuditPage reads one page of the organization's audit entries in one
// round trip, looking at no more than Limit+1 entries (auditScan with a
// Person), however long the stream. Paging by cursors loses and repeats
// nothing while entries are added: a cursor is an entry's id.
func (s *Store) AuditPage(ctx context.Context, org string, q AuditQuery) (AuditPage, error) {
	const op = "audit page"
	if err := checkIDs(op, org); err != nil {
		return AuditPage{}, err
	}
	if q.Person != "" {
		if err := checkIDs(op, q.Person); err != nil {
			return AuditPage{}, err
		}
	}
	if q.Limit < 1 || q.Limit > MaxAuditPage || q.Before != "" && q.After != "" {
		return AuditPage{}, &Error{Op: op, Err: fmt.Errorf("%w: audit query", ErrInvalid)}
	}
	for _, c := range []string{q.Before, q.After} {
		if _, _, ok := entryID(c); c != "" && !ok {
			return AuditPage{}, &Error{Op: op, Err: fmt.Errorf("%w: cursor %q", ErrInvalid, c)}
		}
	}
	// The bounds: the range, the retention and the cursor, whichever is
	// narrowest.
	hi, lo := "+", "-"
	var loMs uint64
	if !q.To.IsZero() {
		hi = strconv.FormatInt(max(q.To.UnixMilli(), 0), 10)
	}
	if !q.From.IsZero() {
		loMs = uint64(max(q.From.UnixMilli(), 0))
		lo = strconv.FormatUint(loMs, 10)
	}
	if c := s.auditCutoff(); c != "" {
		if cm, _ := strconv.ParseUint(c, 10, 64); lo == "-" || cm > loMs {
			lo, loMs = c, cm
		}
	}
	if ms, _, _ := entryID(q.Before); q.Before != "" && (q.To.IsZero() || ms <= uint64(max(q.To.UnixMilli(), 0))) {
		hi = "(" + q.Before
	}
	if ms, _, _ := entryID(q.After); q.After != "" && (lo == "-" || ms >= loMs) {
		lo = "(" + q.After
	}
	dir, most := "rev", q.Limit+1
	if q.After != "" {
		dir = "fwd"
	}
	if q.Person != "" {
		most = auditScan
	}
	v, err := scriptAuditPage.Run(ctx, s.rdb, []string{orgKeys(org).audit()},
		dir, hi, lo, q.Limit+1, q.Person, most).Slice()
	if err != nil {
		return AuditPage{}, wrap(op, err)
	}
	if len(v) < 2 {
		return AuditPage{}, fmt.Errorf("store: %s: unexpected reply %v", op, v)
	}
	stopped, _ := v[0].(int64)
	last, _ := v[1].(string)
	entries := make([]AuditEntry, 0, len(v)-2)
	for _, e := range v[2:] {
		en, ok := auditEntry(org, e)
		if !ok {
			return AuditPage{}, fmt.Errorf("store: %s: unexpected entry %v", op, e)
		}
		entries = append(entries, en)
	}
	// more: a cursor from which further entries may match.
	more := ""
	switch {
	case len(entries) > q.Limit:
		entries = entries[:q.Limit]
		more = entries[q.Limit-1].ID
	case stopped == 1:
		more = last
	}
	var p AuditPage
	if dir == "rev" {
		p.Entries, p.Older = entries, more
		if q.Before != "" {
			p.Newer = q.Before
			if len(entries) > 0 {
				p.Newer = entries[0].ID
			}
		}
		return p, nil
	}
	slices.Reverse(entries)
	p.Entries, p.Newer, p.Older = entries, more, q.After
	if len(entries) > 0 {
		p.Older = entries[len(entries)-1].ID
	}
	return p, nil
}

// auditEntry reads an entry as XRANGE gives it: {id, {field, value, …}}.
func auditEntry(org string, e any) (AuditEntry, bool) {
	pair, ok := e.([]any)
	if !ok || len(pair) != 2 {
		return AuditEntry{}, false
	}
	id, _ := pair[0].(string)
	kv, _ := pair[1].([]any)
	en := AuditEntry{ID: id, Org: org}
	if ms, _, ok := entryID(id); ok {
		en.At = time.UnixMilli(int64(ms)).UTC()
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		val, _ := kv[i+1].(string)
		switch k {
		case "actor":
			en.Actor = val
		case "action":
			en.Action = val
		case "target":
			en.Target = val
		case "before":
			en.Before = val
		case "after":
			en.After = val
		}
	}
	return en, true
}

// entryID reads a stream entry id "<ms>-<seq>".
func entryID(id string) (ms, seq uint64, ok bool) {
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			a, err1 := strconv.ParseUint(id[:i], 10, 64)
			b, err2 := strconv.ParseUint(id[i+1:], 10, 64)
			return a, b, err1 == nil && err2 == nil && i > 0 && i < len(id)-1
		}
	}
	return 0, 0, false
}
