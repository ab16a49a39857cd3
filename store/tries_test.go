package store

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
)

// TestTries: the store sends a change again while it may yet be made, and
// says that it was certainly not made only when no try may have made it.
func TestTries(t *testing.T) {
	var (
		lost    = io.EOF // the answer of a change that Redis may have made
		notSent = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		late    = errors.New("BB:LATE")
		noFree  = errors.New("BB:NOFREE")
	)
	for _, c := range []struct {
		name  string
		errs  []error // of each try; after them, success
		tries int
		want  error // nil, ErrNotMade, ErrUnavailable (and not ErrNotMade) or another
	}{
		{"made at once", nil, 1, nil},
		{"not sent, then made", []error{notSent}, 2, nil},
		{"answer lost, then made (its repeat)", []error{lost}, 2, nil},
		{"never sent", []error{notSent, notSent, notSent, notSent}, 4, ErrNotMade},
		{"answer lost, then late", []error{lost, late}, 2, ErrUnavailable},
		{"answer lost, then not sent", []error{lost, notSent, notSent, notSent}, 4, ErrUnavailable},
		{"not sent, then answer lost", []error{notSent, lost, lost, lost}, 4, ErrUnavailable},
		{"late at once", []error{late}, 1, ErrNotMade},
		{"refused by a rule", []error{noFree}, 1, ErrNoFreeLicenses},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			_, err := (&Store{}).tries(t.Context(), func() (any, error) {
				n++
				if n <= len(c.errs) {
					return nil, c.errs[n-1]
				}
				return "OK", nil
			})
			err = wrap("change", err)
			if n != c.tries {
				t.Errorf("%d tries, want %d", n, c.tries)
			}
			switch {
			case c.want == nil && err != nil,
				c.want != nil && !errors.Is(err, c.want),
				c.want == ErrUnavailable && errors.Is(err, ErrNotMade):
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}

	// A try that fails as the caller gives up is the last.
	ctx, cancel := context.WithCancel(t.Context())
	n := 0
	_, err := (&Store{}).tries(ctx, func() (any, error) {
		n++
		cancel()
		return nil, notSent
	})
	if n != 1 || !errors.Is(wrap("change", err), ErrNotMade) {
		t.Errorf("canceled: %d tries, %v; want 1, ErrNotMade", n, err)
	}
}
