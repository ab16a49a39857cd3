package store

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// The store's error vocabulary. Every error a method returns wraps one of
// these (check with errors.Is), or is a plain error for a fault of Redis.
var (
	ErrNotFound        = errors.New("not found")
	ErrInvalid         = errors.New("invalid argument")
	ErrPermission      = errors.New("only the purchaser may change this subscription")
	ErrNotLive         = errors.New("subscription is canceled or expired")
	ErrNoFreeLicenses  = errors.New("not enough free licenses")
	ErrAlreadyAssigned = errors.New("already assigned")
	ErrNotAssigned     = errors.New("not assigned")
	ErrBelowAssigned   = errors.New("total below assigned licenses")
	ErrTrialUsed       = errors.New("trial already used in this organization")
	ErrNotTrial        = errors.New("subscription is not a trial")
	ErrStale           = errors.New("changed by someone else meanwhile")
	// ErrInUse: a payment method that live paid subscriptions are paid
	// with, and no other method of its profile could take over.
	ErrInUse       = errors.New("payment method pays live subscriptions")
	ErrUnavailable = errors.New("redis unavailable")
	// ErrDecided: another admin decided a handover first (Users names them).
	ErrDecided = errors.New("handover already decided")
	// ErrNotMade is an ErrUnavailable after which a change is certainly
	// not made: it never left for Redis (no connection), or the script
	// refused it for reaching Redis after its caller's deadline. Any other
	// ErrUnavailable of a change (a timeout or a broken connection while
	// its answer was awaited) leaves open whether it was made.
	ErrNotMade = fmt.Errorf("%w, and the change was not made", ErrUnavailable)
)

// Error is a failed store operation: what was tried, which kind of failure,
// and for assignment errors the users concerned.
type Error struct {
	Op    string
	Err   error
	Users []string
}

func (e *Error) Error() string {
	if len(e.Users) > 0 {
		return fmt.Sprintf("store: %s: %v: %s", e.Op, e.Err, strings.Join(e.Users, ", "))
	}
	return fmt.Sprintf("store: %s: %v", e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Users returns the users an assignment error names, if err is one.
func Users(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Users
	}
	return nil
}

// scriptErrors maps the codes that scripts raise (redis.error_reply("BB:CODE ...")) to errors.
var scriptErrors = map[string]error{
	"NOTFOUND":   ErrNotFound,
	"PERMISSION": ErrPermission,
	"NOTLIVE":    ErrNotLive,
	"NOFREE":     ErrNoFreeLicenses,
	"ASSIGNED":   ErrAlreadyAssigned,
	"UNASSIGNED": ErrNotAssigned,
	"BELOW":      ErrBelowAssigned,
	"TRIALUSED":  ErrTrialUsed,
	"NOTTRIAL":   ErrNotTrial,
	"STALE":      ErrStale,
	"INUSE":      ErrInUse,
	"INVALID":    ErrInvalid,
	"POLICY":     ErrPolicy,
	"DECIDED":    ErrDecided,
	// A change that reached Redis after its caller had given up.
	"LATE": ErrNotMade,
}

// wrap turns a Redis or script error into a store error for op.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	// Redis 7 prefixes an error_reply without a space ("BB:NOFREE") with
	// the generic code ERR; one with a detail keeps its own code.
	msg := strings.TrimPrefix(err.Error(), "ERR ")
	if rest, ok := strings.CutPrefix(msg, "BB:"); ok {
		code, detail, _ := strings.Cut(rest, " ")
		if kind, ok := scriptErrors[code]; ok {
			e := &Error{Op: op, Err: kind}
			if detail != "" {
				e.Users = strings.Split(detail, ",")
			}
			return e
		}
	}
	if errors.Is(err, ErrUnavailable) {
		return &Error{Op: op, Err: err}
	}
	if refused(err) {
		return &Error{Op: op, Err: fmt.Errorf("%w: %v", ErrNotMade, err)}
	}
	if notSent(err) {
		return &Error{Op: op, Err: fmt.Errorf("%w: %v", ErrNotMade, err)}
	}
	if isUnavailable(err) {
		return &Error{Op: op, Err: fmt.Errorf("%w: %v", ErrUnavailable, err)}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// notSent reports whether err says that a command never left for Redis:
// no connection could be made or taken from the pool, or the client was
// closed.
func notSent(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, redis.ErrPoolTimeout) ||
		errors.Is(err, redis.ErrClosed)
}

// refused reports whether err is Redis refusing a command because it cannot
// take writes or commands now (a replica, a primary short of replicas with
// min-replicas-to-write, one loading its data, a replica cut off from its
// primary): what happens to a change during a failover. Such a command does
// nothing.
func refused(err error) bool {
	return redis.IsReadOnlyError(err) || redis.IsNoReplicasError(err) ||
		redis.IsLoadingError(err) || redis.IsMasterDownError(err)
}
