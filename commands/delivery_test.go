package commands_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/billingbot/billingbot/commands"
)

// TestDeliveries: what several destinations' outcomes tell the outbox.
func TestDeliveries(t *testing.T) {
	gone := fmt.Errorf("cannot_dm_bot: %w", commands.ErrPermanent)
	down := errors.New("503")
	tests := []struct {
		name            string
		errs            []error
		retry, givenUp  bool // err worth retrying; err permanent
		lostSomeoneElse bool
	}{
		{"all delivered", []error{nil, nil}, false, false, false},
		{"one down: try again", []error{nil, down, gone}, true, false, false},
		{"all gone for good", []error{gone, gone}, false, true, false},
		{"one gone for good, others delivered", []error{nil, gone}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err, lost := commands.Deliveries(tt.errs)
			if retry := err != nil && !errors.Is(err, commands.ErrPermanent); retry != tt.retry {
				t.Errorf("err = %v, want retry %v", err, tt.retry)
			}
			if givenUp := errors.Is(err, commands.ErrPermanent); givenUp != tt.givenUp {
				t.Errorf("err = %v, want permanent %v", err, tt.givenUp)
			}
			if (lost != nil) != tt.lostSomeoneElse {
				t.Errorf("lost = %v, want some %v", lost, tt.lostSomeoneElse)
			}
		})
	}
}
