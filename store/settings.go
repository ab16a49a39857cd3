package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetPrefs saves a user's preferences.
func (s *Store) SetPrefs(ctx context.Context, org, user string, p Prefs) error {
	const op = "set prefs"
	if err := checkIDs(op, org, user); err != nil {
		return err
	}
	k := orgKeys(org)
	_, err := s.rdb.TxPipelined(ctx, func(tx redis.Pipeliner) error {
		tx.HSet(ctx, k.prefs(user), "lang", p.Lang)
		tx.XAdd(ctx, audit(k, user, "language", "prefs", "", p.Lang))
		s.trimAudit(ctx, tx, org)
		return nil
	})
	return wrap(op, err)
}

// audit is an entry for the organization's audit stream.
func audit(k keys, actor, action, target, before, after string) *redis.XAddArgs {
	return &redis.XAddArgs{Stream: k.audit(), MaxLen: 100000, Approx: true,
		Values: []any{"actor", actor, "action", action, "target", target, "before", before, "after", after}}
}

// SetAdminChannel sets where the organization's admin notifications go
// ("": back to the deployment's default), recording who changed it in the
// audit stream in the same transaction.
func (s *Store) SetAdminChannel(ctx context.Context, org, actor, channel string) error {
	return s.setSetting(ctx, "set admin channel", org, actor, "admin_channel", "admin-channel", channel)
}

// SetOrgLang sets the language of the organization's channel
// notifications ("de", "en"; "": follow the platform's locale), recording
// who changed it in the audit stream in the same transaction.
func (s *Store) SetOrgLang(ctx context.Context, org, actor, lang string) error {
	if lang != "" && lang != "de" && lang != "en" {
		return &Error{Op: "set organization language", Err: fmt.Errorf("%w: language %q", ErrInvalid, lang)}
	}
	return s.setSetting(ctx, "set organization language", org, actor, "lang", "org-language", lang)
}

// setSetting sets (or, with "", removes) a field of the organization's
// settings and records the change in the audit stream, in one transaction.
func (s *Store) setSetting(ctx context.Context, op, org, actor, field, action, value string) error {
	if err := checkIDs(op, org, actor); err != nil {
		return err
	}
	k := orgKeys(org)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		if value == "" {
			p.HDel(ctx, k.settings(), field)
		} else {
			p.HSet(ctx, k.settings(), field, value)
		}
		p.XAdd(ctx, audit(k, actor, action, "settings", "", value))
		s.trimAudit(ctx, p, org)
		return nil
	})
	return wrap(op, err)
}

// SetOrgLocale remembers the organization's locale as its platform says
// it (OrgSettings.Locale). With onlyFirst it keeps a locale already
// remembered (Slack: the first admin's). Not audited: no one chose it.
func (s *Store) SetOrgLocale(ctx context.Context, org, locale string, onlyFirst bool) error {
	const op = "set organization locale"
	if err := checkIDs(op, org); err != nil {
		return err
	}
	if locale == "" || len(locale) > 20 {
		return &Error{Op: op, Err: fmt.Errorf("%w: locale %q", ErrInvalid, locale)}
	}
	k := orgKeys(org)
	var err error
	if onlyFirst {
		err = s.rdb.HSetNX(ctx, k.settings(), "locale", locale).Err()
	} else {
		err = s.rdb.HSet(ctx, k.settings(), "locale", locale).Err()
	}
	return wrap(op, err)
}

// Prefs reads a user's preferences.
func (s *Store) Prefs(ctx context.Context, org, user string) (Prefs, error) {
	const op = "prefs"
	if err := checkIDs(op, org, user); err != nil {
		return Prefs{}, err
	}
	lang, err := s.rdb.HGet(ctx, orgKeys(org).prefs(user), "lang").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Prefs{}, wrap(op, err)
	}
	return Prefs{Lang: lang}, nil
}

// SaveBilling replaces user's billing document. b.Version must be the
// version that was read; if someone changed it meanwhile the call fails
// with ErrStale. what names the change for the audit stream.
func (s *Store) SaveBilling(ctx context.Context, once Once, org, user string, b Billing, what string) (Result, error) {
	const op = "save billing"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, org, user); err != nil {
		return Result{}, err
	}
	old := b.Version
	b.Version++
	doc, err := json.Marshal(b)
	if err != nil {
		return Result{}, err
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptBilling, org, []*Note{once.Note}, nil, []string{k.idem(once.Key), k.billing(user), k.audit()},
		s.ttl(), once.Reply, user, strconv.FormatInt(old, 10), strconv.FormatInt(b.Version, 10), string(doc), what)
	return result(op, v, err)
}

// RemoveMethod saves user's billing document b, which no longer holds the
// payment method methodID, and in the same step has the user's
// subscriptions that were paid with it paid with replacement, another
// method of the same profile, with an audit entry for each. b.Version
// must be the version that was read (else ErrStale). Without a
// replacement ("") it fails with ErrInUse, and changes nothing, while an
// active or pending subscription is paid with the method. It returns the
// ids of the subscriptions that switched, sorted (none for a repeat, whose
// Result.Value is once.Reply).
func (s *Store) RemoveMethod(ctx context.Context, once Once, org, user string, b Billing, methodID, replacement string) (Result, []string, error) {
	const op = "remove payment method"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, nil, err
	}
	if err := checkIDs(op, org, user, methodID); err != nil {
		return Result{}, nil, err
	}
	if replacement != "" {
		if err := checkIDs(op, replacement); err != nil {
			return Result{}, nil, err
		}
	}
	old := b.Version
	b.Version++
	doc, err := json.Marshal(b)
	if err != nil {
		return Result{}, nil, err
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptMethodRemove, org, []*Note{once.Note}, nil,
		[]string{k.idem(once.Key), k.billing(user), k.audit(), k.bought(user)},
		s.ttl(), once.Reply, user, strconv.FormatInt(old, 10), strconv.FormatInt(b.Version, 10), string(doc),
		methodID, replacement, k.prefix())
	res, err := result(op, v, err)
	if err != nil || res.Repeat {
		return res, nil, err
	}
	return res, strings.Fields(res.Value), nil
}

// SetInvoiceStatus records where an invoice's payment stands (status, and
// the provider's charge in inv.Charge), with an audit entry and the
// notifications the outcome causes, if the invoice's status is still
// inv.Status (as read): two replicas or two reports of one outcome record
// it once. In
// the same step it applies the invoice's Grant: on InvoicePaid it grants
// what was bought (a pending or declined purchase becomes active, a trial
// converts, licenses are added); on InvoiceFailed or InvoiceVoid a pending
// purchase is declined and leaves every list. It reports false, and
// changes nothing, when the status had changed meanwhile.
func (s *Store) SetInvoiceStatus(ctx context.Context, inv Invoice, status InvoiceStatus, notes ...*Note) (bool, error) {
	const op = "set invoice status"
	if err := checkIDs(op, inv.Org, inv.ID); err != nil {
		return false, err
	}
	before := inv.Status
	inv.Status = status
	doc, err := json.Marshal(inv)
	if err != nil {
		return false, err
	}
	k := orgKeys(inv.Org)
	var grant, added string
	var fields []any
	subID := "-"
	if inv.Grant != nil {
		grant, added = string(inv.Grant.Kind), strconv.Itoa(inv.Grant.Added)
		for _, f := range inv.Grant.Fields {
			fields = append(fields, f)
		}
		if err := checkIDs(op, inv.SubID, inv.User); err != nil {
			return false, err
		}
		subID = inv.SubID
	}
	user := inv.User
	if !ValidID(user) {
		user = "-"
	}
	args := append([]any{string(doc), inv.ID, string(before), string(inv.Status), grant, added}, fields...)
	v, err := s.change(ctx, scriptInvoiceStatus, inv.Org, notes, nil,
		[]string{k.invoice(inv.ID), k.audit(), k.sub(subID), k.subUsers(subID), k.subs(), k.bought(user), k.subsIndex()}, args...)
	if err != nil {
		return false, wrap(op, err)
	}
	return v == int64(1), nil
}

// AddInvoice records an invoice of a subscription that is paid before it
// grants anything (licenses added, a trial converted; inv.Grant), and
// the jobs that collect it, once.
func (s *Store) AddInvoice(ctx context.Context, once Once, inv Invoice, jobs ...Job) (Result, error) {
	const op = "add invoice"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, err
	}
	if err := checkIDs(op, inv.Org, inv.ID, inv.User, inv.SubID); err != nil {
		return Result{}, err
	}
	if err := checkJobs(op, jobs); err != nil {
		return Result{}, err
	}
	ia, err := invoiceArgs(&inv)
	if err != nil {
		return Result{}, err
	}
	if err := checkPolicy(op, once.Policy); err != nil {
		return Result{}, err
	}
	k := orgKeys(inv.Org)
	pk, pa := k.policyArgs(once.Policy)
	v, err := s.change(ctx, scriptInvoiceAdd, inv.Org, []*Note{once.Note}, jobs,
		[]string{k.idem(once.Key), k.sub(inv.SubID), k.audit(), k.invoice(inv.ID), k.invoices(inv.User), pk},
		append(append([]any{s.ttl(), once.Reply, inv.User}, ia...), pa...)...)
	return result(op, v, err)
}

// Audit returns the organization's newest audit entries, newest first.
func (s *Store) Audit(ctx context.Context, org string, n int64) ([]AuditEntry, error) {
	const op = "audit"
	if err := checkIDs(op, org); err != nil {
		return nil, err
	}
	msgs, err := s.rdb.XRevRangeN(ctx, orgKeys(org).audit(), "+", "-", n).Result()
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]AuditEntry, 0, len(msgs))
	for _, m := range msgs {
		str := func(k string) string { v, _ := m.Values[k].(string); return v }
		var at time.Time
		if ms, _, ok := cutInt(m.ID); ok {
			at = time.UnixMilli(ms).UTC()
		}
		out = append(out, AuditEntry{ID: m.ID, Org: org, Actor: str("actor"), Action: str("action"),
			Target: str("target"), Before: str("before"), After: str("after"), At: at})
	}
	return out, nil
}

func cutInt(id string) (int64, string, bool) {
	for i := 0; i < len(id); i++ {
		if id[i] == '-' {
			n, err := strconv.ParseInt(id[:i], 10, 64)
			return n, id[i+1:], err == nil
		}
	}
	return 0, "", false
}

// payLinkKeep is how long a used or expired payment link is remembered
// after it stopped working: a reload shows what it saved, and a provider's
// late report of a card added through it still finds it.
const payLinkKeep = 24 * time.Hour

// PayLinkRef is the reference of a payment link's token: a hash, so that
// neither Redis's keys nor a payment provider learn the token itself.
func PayLinkRef(token string) string {
	sum := sha256.Sum256([]byte("paylink\x00" + token))
	return hex.EncodeToString(sum[:20])
}

// CreatePayLink stores a single-use payment link that works for ttl and
// returns its token (32 random bytes; only the token's holder can use it).
func (s *Store) CreatePayLink(ctx context.Context, l PayLink, ttl time.Duration) (string, error) {
	const op = "create pay link"
	if err := checkIDs(op, l.Org, l.User); err != nil {
		return "", err
	}
	if ttl <= 0 { // Redis would keep the link forever
		return "", &Error{Op: op, Err: fmt.Errorf("%w: ttl %v", ErrInvalid, ttl)}
	}
	token := NewID() + NewID() + NewID()
	doc, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	ref := PayLinkRef(token)
	keep := ttl + payLinkKeep
	if _, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, orgKeys(l.Org).payLink(ref), "doc", doc, "state", "open")
		p.Expire(ctx, orgKeys(l.Org).payLink(ref), keep)
		return nil
	}); err != nil {
		return "", wrap(op, err)
	}
	if err := s.rdb.Set(ctx, payLinkOrg(ref), l.Org, keep).Err(); err != nil {
		return "", wrap(op, err)
	}
	return token, nil
}

// PayLink reads a payment link by its token; a link that was never made
// or is forgotten fails with ErrNotFound. Whether it still works is for
// the caller to say from Expires and Saved.
func (s *Store) PayLink(ctx context.Context, token string) (PayLink, error) {
	if len(token) != 48 || !ValidID(token) {
		return PayLink{}, &Error{Op: "pay link", Err: ErrNotFound}
	}
	l, err := s.PayLinkByRef(ctx, PayLinkRef(token))
	l.Token = token
	return l, err
}

// PayLinkByRef reads a payment link by its reference (PayLinkRef), as a
// payment provider reports it.
func (s *Store) PayLinkByRef(ctx context.Context, ref string) (PayLink, error) {
	const op = "pay link"
	if len(ref) != 40 || !ValidID(ref) {
		return PayLink{}, &Error{Op: op, Err: ErrNotFound}
	}
	org, err := s.rdb.Get(ctx, payLinkOrg(ref)).Result()
	if errors.Is(err, redis.Nil) || err == nil && !ValidID(org) {
		return PayLink{}, &Error{Op: op, Err: ErrNotFound}
	}
	if err != nil {
		return PayLink{}, wrap(op, err)
	}
	h, err := s.rdb.HGetAll(ctx, orgKeys(org).payLink(ref)).Result()
	if err != nil {
		return PayLink{}, wrap(op, err)
	}
	if h["doc"] == "" {
		return PayLink{}, &Error{Op: op, Err: ErrNotFound}
	}
	var l PayLink
	if err := json.Unmarshal([]byte(h["doc"]), &l); err != nil {
		return PayLink{}, wrap(op, err)
	}
	if l.Org != org {
		return PayLink{}, &Error{Op: op, Err: ErrNotFound}
	}
	l.Ref, l.Saved = ref, h["method"]
	l.Failures, _ = strconv.Atoi(h["failures"])
	return l, nil
}

// CompletePayLink uses a payment link up and saves the billing document
// that holds the method it added (methodID), in one step: the link works
// once, and never without the method saved. b.Version must be the version
// that was read (else ErrStale). A link already used returns Repeat with
// the method it saved; a link no longer kept fails with ErrNotFound.
// note, when set, tells the user in chat.
func (s *Store) CompletePayLink(ctx context.Context, l PayLink, b Billing, methodID, what string, note *Note) (Result, error) {
	const op = "complete pay link"
	if err := checkIDs(op, l.Org, l.User, methodID); err != nil {
		return Result{}, err
	}
	old := b.Version
	b.Version++
	doc, err := json.Marshal(b)
	if err != nil {
		return Result{}, err
	}
	k := orgKeys(l.Org)
	v, err := s.change(ctx, scriptPayLinkComplete, l.Org, []*Note{note}, nil, []string{k.payLink(l.Ref), k.billing(l.User), k.audit()},
		l.User, strconv.FormatInt(old, 10), strconv.FormatInt(b.Version, 10), string(doc), what, methodID)
	return result(op, v, err)
}

// PayLinkFailed counts a card attempt of a payment link that the provider
// refused and returns how many there were.
func (s *Store) PayLinkFailed(ctx context.Context, l PayLink) (int, error) {
	const op = "pay link failed"
	if err := checkIDs(op, l.Org, l.Ref); err != nil {
		return 0, err
	}
	n, err := s.rdb.HIncrBy(ctx, orgKeys(l.Org).payLink(l.Ref), "failures", 1).Result()
	return int(n), wrap(op, err)
}

// CardAttempt counts an attempt to enter a card on the payment page from
// a client (an address) in the window of length window that now falls in,
// and returns how many there were in it, this one included: replicas share
// the count. The client is kept only as a hash, and forgotten with its
// window. One round trip.
func (s *Store) CardAttempt(ctx context.Context, client string, now time.Time, window time.Duration) (int, error) {
	const op = "card attempt"
	if client == "" || window < time.Second {
		return 0, &Error{Op: op, Err: ErrInvalid}
	}
	key := cardAttempts(client, now, window)
	var n *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.Expire(ctx, key, 2*window)
		return nil
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return int(n.Val()), nil
}

// cacheTimeout bounds a cache call: a Redis that hangs must not hold a
// request up for long on what is only a cache (the request's own Redis
// work then answers that Redis is unavailable, in time).
const cacheTimeout = 300 * time.Millisecond

// CachePut keeps a value an adapter looked up on its platform (a user's
// locale, whether they are an admin) for ttl, so that replicas share it.
func (s *Store) CachePut(ctx context.Context, org, key, value string, ttl time.Duration) error {
	const op = "cache put"
	if err := checkIDs(op, org); err != nil {
		return err
	}
	if ttl <= 0 || len(key) == 0 || len(key) > 200 {
		return &Error{Op: op, Err: ErrInvalid}
	}
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	return wrap(op, s.rdb.Set(ctx, orgKeys(org).cache(key), value, ttl).Err())
}

// CacheGet returns a value CachePut kept, and whether there was one.
func (s *Store) CacheGet(ctx context.Context, org, key string) (string, bool, error) {
	const op = "cache get"
	if err := checkIDs(op, org); err != nil {
		return "", false, err
	}
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	v, err := s.rdb.Get(ctx, orgKeys(org).cache(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, wrap(op, err)
	}
	return v, true, nil
}

// CacheDelete drops a value CachePut kept, when it is no longer needed
// (a form's values once the form is done); there may be none.
func (s *Store) CacheDelete(ctx context.Context, org, key string) error {
	const op = "cache delete"
	if err := checkIDs(op, org); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	return wrap(op, s.rdb.Del(ctx, orgKeys(org).cache(key)).Err())
}

// CacheGetTTL is CacheGet that also says how much longer the value is kept
// (GET and PTTL in one round trip), so that a copy kept elsewhere can
// expire with it.
func (s *Store) CacheGetTTL(ctx context.Context, org, key string) (string, time.Duration, bool, error) {
	const op = "cache get"
	if err := checkIDs(op, org); err != nil {
		return "", 0, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, cacheTimeout)
	defer cancel()
	k := orgKeys(org).cache(key)
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get, ttl = p.Get(ctx, k), p.PTTL(ctx, k)
		return nil
	})
	if errors.Is(err, redis.Nil) || errors.Is(get.Err(), redis.Nil) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, wrap(op, err)
	}
	left := ttl.Val()
	if left < 0 { // no TTL (-1): not one of CachePut's values; keep no copy
		left = 0
	}
	return get.Val(), left, true, nil
}

// Settings reads an organization's settings.
func (s *Store) Settings(ctx context.Context, org string) (OrgSettings, error) {
	const op = "settings"
	if err := checkIDs(op, org); err != nil {
		return OrgSettings{}, err
	}
	h, err := s.rdb.HGetAll(ctx, orgKeys(org).settings()).Result()
	if err != nil {
		return OrgSettings{}, wrap(op, err)
	}
	return orgSettings(h), nil
}
