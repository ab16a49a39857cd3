package commands_test

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

const newInvoiceBug = "a repeated purchase answers with a new random invoice number (\"Invoice … is charged to …\") that does not exist: the first request's invoice id is not reused"

const repeatBug = "a repeated submission is validated against the state the first one changed, before the store sees the idempotency key, so it is refused with a field error"

// TestIdempotency submits each form twice with the same idempotency key (a
// retry, a double click): the state changes once, with one invoice and one
// notification at most, and both answers say the same.
func TestIdempotency(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(e *env) *commands.Submission // the form to send twice
		invoices int                               // invoices the change makes
		bug      string                            // why the second answer differs
	}{
		{"buy", func(e *env) *commands.Submission {
			e.buyer(alice)
			return e.buyForm(alice, "visio-plan-2", 5, store.Monthly)
		}, 1, newInvoiceBug},
		{"trial conversion", func(e *env) *commands.Submission {
			id := e.trial(alice, "visio-plan-2")
			e.assign(alice, id, bob.m.ID)
			e.buyer(alice)
			return e.buyForm(alice, "visio-plan-2", 5, store.Monthly)
		}, 1, "a repeated trial conversion no longer finds the trial and answers as a plain purchase, without \"Your trial … is now a subscription\""},
		{"trial", func(e *env) *commands.Submission {
			return form(commands.FormTrial, "", "product", "visio-plan-2")
		}, 0, repeatBug},
		{"assign", func(e *env) *commands.Submission {
			e.buyer(alice)
			return form(commands.FormAssign, e.buy(alice, "visio-plan-2", 5), users(nil, "U2", "U3")...)
		}, 0, repeatBug},
		{"unassign", func(e *env) *commands.Submission {
			e.buyer(alice)
			id := e.buy(alice, "visio-plan-2", 5)
			e.assign(alice, id, bob.m.ID, carol.m.ID)
			return form(commands.FormUnassign, id, users([]string{"confirm", "yes"}, "U2")...)
		}, 0, repeatBug},
		{"cancel", func(e *env) *commands.Submission {
			e.buyer(alice)
			return cancelForm(e.buy(alice, "visio-plan-2", 5), "unused", "", "yes")
		}, 0, repeatBug},
		{"licenses increase", func(e *env) *commands.Submission {
			e.buyer(alice)
			return licensesForm(e.buy(alice, "visio-plan-2", 5), "8")
		}, 1, repeatBug},
		{"licenses decrease", func(e *env) *commands.Submission {
			e.buyer(alice)
			return licensesForm(e.buy(alice, "visio-plan-2", 5), "3")
		}, 0, repeatBug},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			f := tt.prepare(e)
			invoices := len(e.invoices(alice))
			before := e.snapshot()

			first := e.sendKey(alice, "view-123", f)
			if first.FieldErrors != nil {
				t.Fatalf("first submission refused: %v", first.FieldErrors)
			}
			if reflect.DeepEqual(before, e.snapshot()) {
				t.Fatal("the first submission changed nothing")
			}
			afterFirst := e.snapshot()
			second := e.sendKey(alice, "view-123", f)
			// A job is scheduled before the change it belongs to; for a
			// repeat, under a new subscription id that never exists, so it
			// does nothing when it runs.
			e.wantUnchanged(afterFirst, "bb:{sched}:due")

			if got := len(e.invoices(alice)) - invoices; got != tt.invoices {
				t.Errorf("%d invoices made, want %d", got, tt.invoices)
			}
			if noted := e.notes(); len(noted) > 1 {
				t.Errorf("%d notifications, want at most 1: %+v", len(noted), noted)
			}
			if !reflect.DeepEqual(first.Messages, second.Messages) || second.FieldErrors != nil {
				if tt.bug == "" {
					t.Fatalf("first answer:\n%s\nsecond answer:\n%s", text(first), text(second))
				}
				t.Logf("first answer:\n%s\nsecond answer:\n%s", text(first), text(second))
				t.Fatal("fixed bug is back: " + tt.bug)
			}
		})
	}
}

// TestIdempotencyConcurrent: ten identical purchases at once buy once.
func TestIdempotencyConcurrent(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		f := e.buyForm(alice, "visio-plan-2", 5, store.Monthly)
		answers := make([]commands.Response, 10)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Go(func() {
				req := e.request(alice)
				req.Form, req.IdempotencyKey = f, "interaction-1"
				r, err := e.bot.Handle(t.Context(), req)
				if err != nil {
					t.Errorf("Handle: %v", err)
				}
				answers[i] = r
			})
		}
		wg.Wait()
		// Each was asked the same confirmation; it is clicked ten times.
		for i, r := range answers {
			if r.Confirm == nil || *r.Confirm != *answers[0].Confirm {
				t.Fatalf("answer %d: %+v, want the same confirmation as %+v", i, r.Confirm, answers[0].Confirm)
			}
		}
		yes := answers[0].Confirm.Yes
		for i := range answers {
			wg.Go(func() {
				req := e.request(alice)
				req.Text, req.IdempotencyKey = yes, fmt.Sprint("click-", i)
				r, err := e.bot.Handle(t.Context(), req)
				if err != nil {
					t.Errorf("Handle: %v", err)
				}
				answers[i] = r
			})
		}
		wg.Wait()
		differ := 0
		notes := len(e.outbox("T1"))
		for _, r := range answers {
			if r.FieldErrors != nil {
				t.Errorf("refused: %v", r.FieldErrors)
			}
			if fmt.Sprint(r.Messages) != fmt.Sprint(answers[0].Messages) {
				differ++
			}
		}
		if v := e.view(alice); len(v.Subs) != 1 || len(v.Invoices) != 1 {
			t.Errorf("%d subscriptions, %d invoices; want 1, 1", len(v.Subs), len(v.Invoices))
		}
		if notes != 1 {
			t.Errorf("%d notifications, want 1", notes)
		}
		if differ > 0 {
			t.Logf("%d answers differ from the first:\n%s", differ, text(answers[0]))
			t.Fatal("fixed bug is back: " + newInvoiceBug)
		}
	})
}

// TestIdempotencyOfAnotherUser: an idempotency record belongs to the user
// whose request made it. Another user's request with the same key (a
// view id reused) is refused in their language, shows nothing of the
// first answer, and changes nothing; so is a click on another user's
// confirmation, which stays the first user's to confirm.
func TestIdempotencyOfAnotherUser(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buyer(bob)
	first := e.sendKey(alice, "view-123", e.buyForm(alice, "visio-plan-2", 5, store.Monthly))
	if !strings.Contains(text(first), "4242") {
		t.Fatalf("the first purchase does not name its card:\n%s", text(first))
	}
	before := e.snapshot()
	for _, w := range []who{bob, bob.de()} {
		second := e.submit(w, "view-123", e.buyForm(bob, "visio-plan-2", 5, store.Monthly))
		want := map[string]string{"en-US": "belongs to someone else", "de-DE": "gehört zu einer Anfrage einer anderen Person"}[w.locale]
		wantMessage(t, second, want)
		if s := text(second); strings.Contains(s, "4242") || strings.Contains(s, "Visio") || second.Confirm != nil {
			t.Errorf("%s sees the first answer:\n%s", w.locale, s)
		}
	}
	e.wantUnchanged(before)

	// A confirmation is its user's: another's click confirms nothing.
	asked := e.submit(alice, "view-456", e.buyForm(alice, "project-plan-1", 2, store.Monthly))
	if asked.Confirm == nil {
		t.Fatalf("no confirmation:\n%s", text(asked))
	}
	before = e.snapshot()
	wantMessage(t, e.run(bob, asked.Confirm.Yes), "expired or was already answered")
	e.wantUnchanged(before)
	wantMessage(t, e.run(alice, asked.Confirm.Yes), "You are buying 2 licenses of Project Plan 1")
}
