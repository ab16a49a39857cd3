package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Per-product policies: what an organization's admins allow of a catalog
// product. They live in the organization's settings hash, one field
// "policy:<product>" each (read by the view with the other settings); a
// product without one has the catalog's default.

// Policy is what an organization allows of a product.
type Policy string

// The policies: buy and try the product, only try it, or neither.
const (
	PolicyEnabled    Policy = "enabled"
	PolicyTrialsOnly Policy = "trials-only"
	PolicyDisabled   Policy = "disabled"
)

// Valid reports whether p is one of the policies.
func (p Policy) Valid() bool {
	return p == PolicyEnabled || p == PolicyTrialsOnly || p == PolicyDisabled
}

// Allows reports whether the policy allows a trial (trial) or a purchase.
func (p Policy) Allows(trial bool) bool {
	return p == PolicyEnabled || trial && p == PolicyTrialsOnly
}

// PolicyCheck is the condition of a change that buys (or converts a trial
// of) or tries a product: it happens only while the organization's policy
// of Product allows it, as the script that makes the change reads it.
type PolicyCheck struct {
	Product string
	Default Policy // the catalog's policy of the product, when no admin set one
	Trial   bool   // the change starts a trial; else it buys
}

// ErrPolicy: the organization's policy of the product does not allow the
// purchase or trial (Once.Policy).
var ErrPolicy = errors.New("not allowed by the organization's product policy")

const policyPrefix = "policy:"

// Policies are the policies admins set in an organization, by product:
// "product=policy" pairs, sorted and separated by spaces. A string, not a
// map, so that OrgSettings stays comparable.
type Policies string

// Of returns the policy admins set of a product, if they set one.
func (ps Policies) Of(product string) (Policy, bool) {
	for f := range strings.FieldsSeq(string(ps)) {
		if id, p, _ := strings.Cut(f, "="); id == product {
			return Policy(p), true
		}
	}
	return "", false
}

// policies reads the policies admins set from the settings hash's fields.
func policies(h map[string]string) Policies {
	var set []string
	for f, v := range h {
		if id, ok := strings.CutPrefix(f, policyPrefix); ok && Policy(v).Valid() && ValidID(id) {
			set = append(set, id+"="+v)
		}
	}
	slices.Sort(set)
	return Policies(strings.Join(set, " "))
}

// policyArgs are the key and arguments that a change script's
// take_policy (lua/lib/envelope.lua) takes off the end of its own: none
// to check ("" product) when check is nil.
func (k keys) policyArgs(check *PolicyCheck) (string, []any) {
	if check == nil {
		return k.settings(), []any{"", "", "0"}
	}
	trial := "0"
	if check.Trial {
		trial = "1"
	}
	return k.settings(), []any{check.Product, string(check.Default), trial}
}

// checkPolicy checks a change's policy condition, which names a key.
func checkPolicy(op string, check *PolicyCheck) error {
	if check == nil {
		return nil
	}
	if !check.Default.Valid() {
		return &Error{Op: op, Err: fmt.Errorf("%w: policy %q", ErrInvalid, check.Default)}
	}
	return checkIDs(op, check.Product)
}

// SetPolicy sets the organization's policy of a product, as the admin
// actor; def is the catalog's policy, which holds while no admin set one.
// The change, its audit entry and its notification (once.Note) are one
// step, once per once.Key. Setting the policy the product has already
// changes nothing, records nothing and notifies nobody: then changed is
// false. before is the policy the product had.
func (s *Store) SetPolicy(ctx context.Context, once Once, org, actor, product string, p, def Policy) (res Result, before Policy, changed bool, err error) {
	const op = "set policy"
	if err := checkIdem(op, once.Key); err != nil {
		return Result{}, "", false, err
	}
	if err := checkIDs(op, org, actor, product); err != nil {
		return Result{}, "", false, err
	}
	if !p.Valid() || !def.Valid() {
		return Result{}, "", false, &Error{Op: op, Err: fmt.Errorf("%w: policy %q (default %q)", ErrInvalid, p, def)}
	}
	k := orgKeys(org)
	v, err := s.change(ctx, scriptPolicySet, org, []*Note{once.Note}, nil, []string{k.idem(once.Key), k.settings(), k.audit()},
		s.ttl(), once.Reply, actor, product, string(p), string(def))
	if err != nil {
		return Result{}, "", false, wrap(op, err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) != 3 {
		return Result{}, "", false, fmt.Errorf("store: %s: unexpected reply %v", op, v)
	}
	kind, _ := arr[0].(string)
	val, _ := arr[1].(string)
	was, _ := arr[2].(string)
	return Result{Repeat: kind == "dup", Value: val}, Policy(was), kind == "new", nil
}
