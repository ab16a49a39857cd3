package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is billingbot's state in Redis. It is safe for concurrent use by
// many goroutines and by many bot replicas sharing one Redis.
type Store struct {
	rdb     redis.UniversalClient
	views   *batcher // runs of the view script, sent together
	idemTTL time.Duration
	// skew is how far Redis's clock is ahead of this process's, in
	// milliseconds, as Ping last measured it: deadlines of changes are
	// given to Redis in its own time.
	skew atomic.Int64
	// auditKeep is how long audit entries are kept, by the clock now
	// (SetAuditRetention).
	auditKeep time.Duration
	now       func() time.Time
	// noted hears of organizations that a change of this process gave a
	// notification, for this process's sender (Noted).
	noted chan string
	// replicas is how many replicas must have a change before the store
	// reports it made (WAIT); 0: the primary's word is enough.
	replicas int
}

// New returns a store on rdb. On a client of Connect for a Sentinel URL,
// changes count as made only once replicas have them (see Connect).
func New(rdb redis.UniversalClient) *Store {
	s := &Store{rdb: rdb, views: newBatcher(rdb, scriptView), idemTTL: 24 * time.Hour, noted: make(chan string, 64),
		auditKeep: DefaultAuditKeep, now: time.Now}
	if r, ok := rdb.(*replicated); ok {
		s.replicas = r.replicas
	}
	return s
}

// Noted delivers the organization of each notification that a change made
// through this store added to an outbox (as far as the reader keeps up;
// senders also poll), so that this process's sender delivers it at once.
func (s *Store) Noted() <-chan string { return s.noted }

// Client returns the Redis client the store uses.
func (s *Store) Client() redis.UniversalClient { return s.rdb }

// Ping reports whether Redis answers, and learns how far its clock is
// from this process's.
func (s *Store) Ping(ctx context.Context) error {
	before := time.Now()
	t, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return wrap("ping", err)
	}
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	s.skew.Store(t.Sub(mid).Milliseconds())
	return nil
}

// lateMargin is how long before its caller's deadline a change must reach
// Redis: a change that Redis runs just before the deadline still has this
// long for its answer to come back before the caller gives up.
const lateMargin = 250 * time.Millisecond

// notAfter is the latest time, in Redis's clock (ms), at which a change
// made for ctx may still happen: after it, the caller has given up and
// told the user that nothing was changed. 0: ctx has no deadline.
func (s *Store) notAfter(ctx context.Context) int64 {
	d, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return d.Add(-lateMargin).UnixMilli() + s.skew.Load()
}

// change runs a script that changes an organization's state, with the
// envelope every change carries (lua/lib/envelope.lua): the organization's
// outbox and the notifications the change causes (nil ones are none), and
// the latest time the change may still happen. Jobs go into the due set
// before the script, in the same round trip (a job whose change is then
// refused finds nothing to do when it runs); a notification's organization
// is marked due for the senders after it.
func (s *Store) change(ctx context.Context, sc *redis.Script, org string, notes []*Note, jobs []Job, keys []string, args ...any) (any, error) {
	keys = append(keys, orgKeys(org).outbox())
	args = append(args, s.notAfter(ctx), timeOf(ctx).Unix())
	n := 0
	for _, note := range notes {
		if note != nil {
			args = append(args, note.Key, note.Body)
			n++
		}
	}
	args = append(args, n)
	var mark *redis.Z
	if n > 0 {
		mark = &redis.Z{Score: 0, Member: org}
	}
	v, err := s.tries(ctx, func() (any, error) {
		if len(jobs) == 0 && mark == nil && s.replicas == 0 {
			return sc.Run(ctx, unrepeated{s.rdb}, keys, args...).Result()
		}
		v, err := s.pipeline(ctx, org, func(p redis.Pipeliner) *redis.Cmd { return sc.EvalSha(ctx, unrepeated{p}, keys, args...) }, jobs, mark)
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			// The jobs are in; the entry comes after the first mark: mark again.
			v, err = s.pipeline(ctx, org, func(p redis.Pipeliner) *redis.Cmd { return sc.Eval(ctx, unrepeated{p}, keys, args...) }, nil, mark)
		}
		return v, err
	})
	if err == nil && n > 0 {
		select {
		case s.noted <- org:
		default:
		}
	}
	return v, err
}

// changeTries is how often a change is sent at most, and retryBackoff how
// long the store waits before sending it again the first time (doubling
// each time): go-redis's defaults for its own retries.
const (
	changeTries  = 4
	retryBackoff = 8 * time.Millisecond
)

// tries sends a change (try) until it is made, fails for good, or runs out
// of tries or of ctx's time. A repeat is safe: the change's Once key makes
// a second one nothing. The store repeats changes itself, not go-redis
// (unrepeated): a try whose answer was lost may have made the change, so a
// repeat that the next server refuses, or that comes too late, no longer
// means that the change was not made. The error says so (ErrNotMade,
// through wrap) only when no try may have made it.
func (s *Store) tries(ctx context.Context, try func() (any, error)) (any, error) {
	mayBeMade := false
	wait := retryBackoff
	for n := 1; ; n++ {
		v, err := try()
		if err == nil {
			return v, nil
		}
		certain := notMade(err)
		mayBeMade = mayBeMade || !certain
		if n == changeTries || !retryable(err) || sleep(ctx, wait) != nil {
			if mayBeMade && certain {
				return nil, fmt.Errorf("%w: %v, after a try whose answer was lost", ErrUnavailable, err)
			}
			return nil, err
		}
		wait *= 2
	}
}

// notMade reports whether err says that the change sent was certainly not
// made: it never left for Redis, Redis refused it, or it came too late.
func notMade(err error) bool {
	return notSent(err) || refused(err) || strings.TrimPrefix(err.Error(), "ERR ") == "BB:LATE"
}

// retryable reports whether a change that failed with err may be made by
// sending it again: it did not reach a Redis that could take it (a
// failover), or its answer was lost on the way.
func retryable(err error) bool {
	if errors.Is(err, redis.ErrClosed) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return notSent(err) || refused(err) || isUnavailable(err)
}

// sleep waits for d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unrepeated runs scripts (EVAL, EVALSHA) through a client or pipeline
// such that go-redis never sends them again by itself (its retries; only a
// command that never left is sent again): Store.tries decides.
type unrepeated struct{ scripter }

type scripter interface {
	redis.Scripter
	Process(ctx context.Context, cmd redis.Cmder) error
}

func (u unrepeated) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return u.send(ctx, "eval", script, keys, args)
}

func (u unrepeated) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return u.send(ctx, "evalsha", sha1, keys, args)
}

func (u unrepeated) send(ctx context.Context, name, script string, keys []string, args []any) *redis.Cmd {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, name, script, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	cmd := redis.NewCmd(ctx, append(a, args...)...)
	_ = u.Process(ctx, sentOnce{cmd})
	return cmd
}

// sentOnce is a command that go-redis does not send again once written.
type sentOnce struct{ *redis.Cmd }

func (sentOnce) NoRetry() bool { return true }

// pipeline runs a change's script (eval) of the organization in one round
// trip with what goes with it: jobs into the due set before it, the audit
// retention and the mark of its outbox as due (when not nil) after it, and,
// when the store waits for replicas, WAIT after all.
func (s *Store) pipeline(ctx context.Context, org string, eval func(redis.Pipeliner) *redis.Cmd, jobs []Job, mark *redis.Z) (any, error) {
	var zadd *redis.IntCmd
	var cmd, wait *redis.Cmd
	_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		if len(jobs) > 0 {
			zadd = p.ZAdd(ctx, keyDue, dueMembers(jobs)...)
		}
		cmd = eval(p)
		s.trimAudit(ctx, p, org)
		if mark != nil {
			p.ZAdd(ctx, keyOutboxDue, *mark)
		}
		if s.replicas > 0 {
			wait = p.Do(ctx, "WAIT", s.replicas, replicaWait(ctx).Milliseconds())
		}
		return nil
	})
	if zadd != nil && zadd.Err() != nil {
		return nil, zadd.Err()
	}
	v, err := cmd.Result()
	if err != nil || wait == nil {
		return v, err
	}
	// Otherwise made on the primary, which a failover may yet undo.
	got, err := wait.Int64()
	if err != nil {
		return nil, fmt.Errorf("%w: waiting for replicas: %v", ErrUnavailable, err)
	}
	if got < int64(s.replicas) {
		return nil, fmt.Errorf("%w: the change reached %d of %d replicas in time", ErrUnavailable, got, s.replicas)
	}
	return v, nil
}

// defaultReplicaWait is how long a change without a deadline waits for
// replicas.
const defaultReplicaWait = 2 * time.Second

// replicaWait is how long a change made for ctx may wait for replicas: until
// lateMargin before its deadline, so that the answer is back in time. Never
// 0, which would be WAIT's "for ever".
func replicaWait(ctx context.Context) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return defaultReplicaWait
	}
	return max(time.Until(d)-lateMargin, time.Millisecond)
}

// dueMembers encodes jobs as members of the due set.
func dueMembers(jobs []Job) []redis.Z {
	members := make([]redis.Z, len(jobs))
	for i, j := range jobs {
		members[i] = redis.Z{Score: float64(j.Due.Unix()), Member: jobMember(j)}
	}
	return members
}

// Connect opens a client for a Redis URL, one that gives up on a command
// when its context ends (so that a request's deadline bounds its time in
// a Redis that hangs):
//
//	redis://[user:pass@]host:port[/db]     one server (rediss:// for TLS, unix:///path.sock)
//	redis+cluster://host:port?addr=host2:port2&addr=…   Redis Cluster (rediss+cluster:// for TLS)
//	redis+sentinel://host:26379?master_name=mymaster&addr=…   Sentinel (rediss+sentinel:// for TLS)
//
// Through Sentinel, a change counts as made only once wait_replicas
// replicas have it (WAIT; a URL option, default 1, 0 for none): replication
// is asynchronous, and the old primary takes writes until the clients hear
// of the new one, so a failover loses what only the old primary had. With
// wait_replicas set to the number of replicas, it loses no change the store
// reported made; until a failed-over set has that many replicas again,
// changes fail with ErrUnavailable (README, "Redis URLs").
func Connect(rawURL string) (redis.UniversalClient, error) {
	c, err := connect(rawURL)
	if err != nil {
		return nil, redactErr(err, rawURL)
	}
	return c, nil
}

// redactErr keeps a URL's password out of an error message.
func redactErr(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		// Unparseable: say nothing of what it holds after the scheme.
		if scheme, _, ok := strings.Cut(rawURL, "://"); ok && strings.Contains(err.Error(), rawURL) {
			return errors.New(strings.ReplaceAll(err.Error(), rawURL, scheme+"://…"))
		}
		return err
	}
	msg := strings.ReplaceAll(err.Error(), rawURL, u.Redacted())
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return errors.New(msg)
}

func connect(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redis url: missing scheme (redis://, rediss://, redis+cluster://, redis+sentinel://)")
	}
	base, mode, _ := strings.Cut(scheme, "+")
	plain := base + "://" + rest
	switch mode {
	case "":
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		opt.ContextTimeoutEnabled = true
		return redis.NewClient(opt), nil
	case "cluster":
		opt, err := redis.ParseClusterURL(plain)
		if err != nil {
			return nil, fmt.Errorf("redis cluster url: %w", err)
		}
		opt.ContextTimeoutEnabled = true
		return redis.NewClusterClient(opt), nil
	case "sentinel":
		plain, replicas, err := cutWaitReplicas(plain)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %w", err)
		}
		opt, err := redis.ParseFailoverURL(plain)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url: %w", err)
		}
		if opt.MasterName == "" {
			return nil, fmt.Errorf("redis sentinel url: master_name is required")
		}
		// billingbot writes: it needs the primary (and NewFailoverClient
		// panics on the routing options, which are for cluster clients).
		if opt.ReplicaOnly || opt.RouteByLatency || opt.RouteRandomly {
			return nil, fmt.Errorf("redis sentinel url: replica_only, route_by_latency and route_randomly are not supported: billingbot needs the primary")
		}
		opt.ContextTimeoutEnabled = true
		return &replicated{Client: redis.NewFailoverClient(opt), replicas: replicas}, nil
	}
	return nil, fmt.Errorf("redis url: unknown scheme %q", scheme)
}

// replicated is a client of a primary whose changes count as made once
// replicas have them: Store waits for them (WAIT) after each change.
type replicated struct {
	*redis.Client
	replicas int
}

// cutWaitReplicas takes billingbot's own option wait_replicas (default 1)
// out of a Sentinel URL: how many replicas must have a change before it
// counts as made.
func cutWaitReplicas(rawURL string) (string, int, error) {
	base, query, ok := strings.Cut(rawURL, "?")
	if !ok {
		return rawURL, 1, nil
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return "", 0, err
	}
	if !q.Has("wait_replicas") {
		return rawURL, 1, nil
	}
	n, err := strconv.Atoi(q.Get("wait_replicas"))
	if err != nil || n < 0 || len(q["wait_replicas"]) > 1 {
		return "", 0, fmt.Errorf("wait_replicas %q: want one number, 0 or more", q.Get("wait_replicas"))
	}
	q.Del("wait_replicas")
	if len(q) == 0 {
		return base, n, nil
	}
	return base + "?" + q.Encode(), n, nil
}

//go:embed lua/*.lua lua/lib/*.lua
var luaFiles embed.FS

func source(path string) string {
	src, err := luaFiles.ReadFile(path)
	if err != nil {
		panic(err) // embedded at build time: cannot happen
	}
	return string(src)
}

func script(name string) *redis.Script {
	return redis.NewScript(source("lua/" + name + ".lua"))
}

// changeScript is a script that changes an organization's state, run by
// Store.change: the envelope comes first, then what several scripts share:
// the tracking of unused licenses and the organization's indexes.
func changeScript(name string) *redis.Script {
	return redis.NewScript(source("lua/lib/envelope.lua") + source("lua/lib/unused.lua") + source("lua/lib/subindex.lua") + source("lua/"+name+".lua"))
}

var (
	scriptCreate          = changeScript("create")
	scriptConvert         = changeScript("convert")
	scriptLicenses        = changeScript("licenses")
	scriptLicensesNext    = changeScript("licenses_next")
	scriptAssign          = changeScript("assign")
	scriptUnassign        = changeScript("unassign")
	scriptCancel          = changeScript("cancel")
	scriptEndTrial        = changeScript("end_trial")
	scriptRemind          = changeScript("remind")
	scriptBilling         = changeScript("billing")
	scriptSettle          = changeScript("settle")
	scriptInvoiceStatus   = changeScript("invoice_status")
	scriptNotify          = changeScript("notify")
	scriptPayLinkComplete = changeScript("paylink_complete")
	scriptInvoiceAdd      = changeScript("invoice_add")
	scriptMethodRemove    = changeScript("method_remove")
	scriptPolicySet       = changeScript("policy_set")
	scriptClaim           = script("claim")
	scriptDone            = script("done")
	scriptView            = redis.NewScript(source("lua/lib/subindex.lua") + source("lua/view.lua"))
	scriptOutboxDue       = script("outbox_due")
	scriptOutboxFetch     = script("outbox_fetch")
	scriptOutboxSettle    = script("outbox_settle")
	scriptOutboxRedrive   = script("outbox_redrive")
	scriptCredentialDel   = script("credential_delete")
)

// NewID returns a random, unguessable id (80 bits, base32, lower case).
func NewID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Once is what a state change carries besides its own arguments. It makes
// the change idempotent: Key identifies the request (a platform's view or
// interaction id); a second change with the same Key changes nothing and
// returns, as Result.Value, what the first recorded: Reply when it was set
// (the answer the user got), else the first result. Note, when set, is the
// notification the change causes: it goes into the organization's outbox
// in the same atomic step, only when the change happens.
type Once struct {
	Key   string
	Reply string
	Note  *Note
	// Policy, when set, is the policy condition of a change that buys or
	// tries a product (CreateSubscription, ConvertTrial, AddInvoice): it
	// fails with ErrPolicy, and changes nothing, when the organization's
	// policy does not allow it at that moment.
	Policy *PolicyCheck
}

// Result is what a state change returns: whether it happened now or was a
// repeat of an earlier request with the same idempotency key, and the value
// the first request recorded (see Once; else a subscription id, a new count).
type Result struct {
	Repeat bool
	Value  string
}

func result(op string, v any, err error) (Result, error) {
	if err != nil {
		return Result{}, wrap(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 2 {
		return Result{}, fmt.Errorf("store: %s: unexpected reply %v", op, v)
	}
	kind, _ := arr[0].(string)
	val, _ := arr[1].(string)
	return Result{Repeat: kind == "dup", Value: val}, nil
}

func isUnavailable(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, redis.ErrClosed)
}

func unix(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmt.Sprint(t.Unix())
}

// Persistence is what the Redis in use keeps on disk.
type Persistence struct {
	// Known is false when Redis would not say (CONFIG is disabled, as on
	// some managed services); then only AOF is reported, from INFO.
	Known bool
	AOF   bool   // appendonly yes
	Fsync string // appendfsync: always, everysec or no
	Save  string // RDB snapshot rules; "" for none
}

// KeepsNothing reports whether a restart of Redis loses everything.
func (p Persistence) KeepsNothing() bool { return p.Known && !p.AOF && strings.TrimSpace(p.Save) == "" }

// Persistence asks Redis what it keeps on disk.
func (s *Store) Persistence(ctx context.Context) (Persistence, error) {
	var p Persistence
	cmds := map[string]*redis.MapStringStringCmd{}
	_, err := s.rdb.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for _, k := range []string{"appendonly", "appendfsync", "save"} {
			cmds[k] = pl.ConfigGet(ctx, k)
		}
		return nil
	})
	if err == nil {
		get := func(k string) string { return cmds[k].Val()[k] }
		_, p.Known = cmds["save"].Val()["save"]
		p.AOF, p.Fsync, p.Save = get("appendonly") == "yes", get("appendfsync"), get("save")
		return p, nil
	}
	info, ierr := s.rdb.Info(ctx, "persistence").Result()
	if ierr != nil {
		return p, wrap("persistence", ierr)
	}
	p.AOF = strings.Contains(info, "aof_enabled:1")
	return p, nil
}
