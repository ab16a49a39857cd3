package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A payment provider reports what happened to a charge or a payment method
// by its own id, and not to which organization it belongs: these indexes
// say it. They are global keys (an organization's slot cannot be known
// from the provider's id), written after the change they point to and
// read before the change a report makes; the change itself checks its
// organization's state.

// providerIndexTTL is how long the indexes are kept: longer than a
// provider reports refunds and disputes of a charge.
const providerIndexTTL = 400 * 24 * time.Hour

func chargeIndexKey(charge string) string { return "bb:charge:" + charge }
func methodIndexKey(token string) string  { return "bb:method:" + token }
func eventKey(provider, id string) string { return "bb:event:" + provider + ":" + id }

// checkProviderID checks an id of a payment provider: it becomes a key.
func checkProviderID(op, id string) error {
	if len(id) == 0 || len(id) > 255 || strings.ContainsAny(id, " \t\r\n{}") {
		return &Error{Op: op, Err: fmt.Errorf("%w: provider id %q", ErrInvalid, id)}
	}
	return nil
}

// IndexCharge records which organization's invoice a provider's charge
// pays.
func (s *Store) IndexCharge(ctx context.Context, charge, org, invoice string) error {
	const op = "index charge"
	if err := checkProviderID(op, charge); err != nil {
		return err
	}
	if err := checkIDs(op, org, invoice); err != nil {
		return err
	}
	return wrap(op, s.rdb.Set(ctx, chargeIndexKey(charge), org+" "+invoice, providerIndexTTL).Err())
}

// ChargeInvoice returns the organization and invoice of a provider's
// charge (ErrNotFound for one billingbot did not make).
func (s *Store) ChargeInvoice(ctx context.Context, charge string) (org, invoice string, err error) {
	const op = "charge invoice"
	if err := checkProviderID(op, charge); err != nil {
		return "", "", err
	}
	return s.index(ctx, op, chargeIndexKey(charge))
}

// IndexMethod records whose billing document holds a provider's payment
// method.
func (s *Store) IndexMethod(ctx context.Context, token, org, user string) error {
	const op = "index method"
	if err := checkProviderID(op, token); err != nil {
		return err
	}
	if err := checkIDs(op, org, user); err != nil {
		return err
	}
	return wrap(op, s.rdb.Set(ctx, methodIndexKey(token), org+" "+user, providerIndexTTL).Err())
}

// MethodOwner returns the organization and user whose billing document
// holds a provider's payment method (ErrNotFound when nobody's does).
func (s *Store) MethodOwner(ctx context.Context, token string) (org, user string, err error) {
	const op = "method owner"
	if err := checkProviderID(op, token); err != nil {
		return "", "", err
	}
	return s.index(ctx, op, methodIndexKey(token))
}

func (s *Store) index(ctx context.Context, op, key string) (string, string, error) {
	v, err := s.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return "", "", &Error{Op: op, Err: ErrNotFound}
	}
	if err != nil {
		return "", "", wrap(op, err)
	}
	a, b, ok := strings.Cut(v, " ")
	if !ok || !ValidID(a) || !ValidID(b) {
		return "", "", &Error{Op: op, Err: ErrNotFound}
	}
	return a, b, nil
}

// MarkEvent records that a provider's event was handled. Events are kept
// 30 days: providers retry for 3.
func (s *Store) MarkEvent(ctx context.Context, provider, id string) error {
	const op = "mark event"
	if err := checkProviderID(op, id); err != nil {
		return err
	}
	return wrap(op, s.rdb.Set(ctx, eventKey(provider, id), "1", 30*24*time.Hour).Err())
}

// EventHandled reports whether a provider's event was handled before.
func (s *Store) EventHandled(ctx context.Context, provider, id string) (bool, error) {
	const op = "event handled"
	if err := checkProviderID(op, id); err != nil {
		return false, err
	}
	n, err := s.rdb.Exists(ctx, eventKey(provider, id)).Result()
	return n == 1, wrap(op, err)
}
