package commands_test

import (
	"cmp"
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// lostReply is a go-redis hook that lets a change script run in Redis and
// then loses its answer, as a connection that breaks on the way back
// does: the change is made, the bot hears an error (fault, or a plain one).
// With unsent, the change script never leaves: the bot hears fault.
type lostReply struct {
	armed  atomic.Bool
	unsent bool
	fault  error
}

func (h *lostReply) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *lostReply) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.unsent && h.armed.Load() && changes(cmd) {
			cmd.SetErr(h.fault)
			return h.fault
		}
		err := next(ctx, cmd)
		if err == nil && h.armed.Load() && changes(cmd) { // (not a NOSCRIPT that go-redis answers with EVAL)
			err = cmp.Or(h.fault, errors.New("unexpected reply"))
			cmd.SetErr(err)
		}
		return err
	}
}

func (h *lostReply) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// changes reports whether cmd runs a change script: one that writes the
// organization's audit stream (the view script only reads).
func changes(cmd redis.Cmder) bool {
	if n := cmd.Name(); n != "eval" && n != "evalsha" {
		return false
	}
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok && strings.HasSuffix(s, ":audit") {
			return true
		}
	}
	return false
}

// TestInternalErrorAfterTheChange: when the change was made but its
// answer was lost, the user does not hear that nothing was changed, but
// that it may have been done and that trying again is safe, and it is:
// the same submission again changes nothing twice.
func TestInternalErrorAfterTheChange(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	hook := &lostReply{}
	e.rdb.AddHook(hook)

	for _, tt := range []struct {
		as   who
		key  string
		want string
	}{
		{alice, "retry-en", "Something went wrong on our side after your request reached us, so it may have been done. Look before you go on; trying again is safe: what was done is not done twice."},
		{alice.de(), "retry-de", "Bei uns ist ein Fehler aufgetreten, nachdem Ihre Anfrage angekommen war; sie wurde möglicherweise ausgeführt."},
	} {
		t.Run(tt.key, func(t *testing.T) {
			e := e.at(t)
			person := bob.m.ID
			if tt.key == "retry-de" {
				person = carol.m.ID
			}
			submission := form(commands.FormAssign, id, users(nil, person)...)
			hook.armed.Store(true)
			r := e.sendKey(tt.as, tt.key, submission)
			hook.armed.Store(false)
			wantMessage(t, r, tt.want)
			if got := text(r); strings.Contains(got, "Nothing was changed") || strings.Contains(got, "Es wurde nichts geändert") {
				t.Errorf("the answer claims nothing was changed, but the assignment was made:\n%s", got)
			}
			if !isAssigned(e, alice, id, person) {
				t.Fatalf("the change did not happen: the test's hook lost no answer")
			}
			again := e.sendKey(tt.as, tt.key, submission)
			if len(again.FieldErrors) > 0 || strings.Contains(text(again), "Already assigned") {
				t.Errorf("trying again = %v %q, want the first answer", again.FieldErrors, text(again))
			}
		})
	}
	if s := sub(e, alice, id); s.AssignedCount != 2 {
		t.Errorf("%d licenses assigned, want 2 (bob and carol, once each)", s.AssignedCount)
	}
}

func sub(e *env, w who, id string) store.Subscription {
	e.t.Helper()
	for _, s := range e.view(w).Subs {
		if s.ID == id {
			return s
		}
	}
	e.t.Fatalf("no subscription %s", id)
	return store.Subscription{}
}

func isAssigned(e *env, w who, id, user string) bool { return sub(e, w, id).IsAssigned(user) }

// TestUnavailableAfterTheChange: a timeout while the change's answer was
// awaited leaves open whether it was made, and the answer says so; a
// change that never left for Redis was not made, and the answer says that.
func TestUnavailableAfterTheChange(t *testing.T) {
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, tt := range []struct {
		name     string
		hook     *lostReply
		made     bool
		want     string
		unwanted string
	}{
		{"answer lost", &lostReply{fault: timeout}, true,
			"billingbot did not hear back from its database in time, so your request may have been done.", "Nothing was changed"},
		{"never sent", &lostReply{fault: refused, unsent: true}, false,
			"billingbot is temporarily unavailable. Nothing was changed; please try again in a moment.", "may have been done"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.buyer(alice)
			id := e.buy(alice, "visio-plan-2", 5)
			e.rdb.AddHook(tt.hook)
			tt.hook.armed.Store(true)
			r := e.sendKey(alice, "k", form(commands.FormAssign, id, users(nil, bob.m.ID)...))
			tt.hook.armed.Store(false)
			wantMessage(t, r, tt.want)
			if strings.Contains(text(r), tt.unwanted) {
				t.Errorf("the answer says %q:\n%s", tt.unwanted, text(r))
			}
			if got := isAssigned(e, alice, id, bob.m.ID); got != tt.made {
				t.Errorf("assigned = %v, want %v", got, tt.made)
			}
		})
	}
}
