package store_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

func TestCredentialsMiniredis(t *testing.T) {
	testCredentials(t, func(t *testing.T) *store.Store { return connect(t, miniredis.RunT(t).Addr()) })
}

func TestCredentialsRedis(t *testing.T) {
	testCredentials(t, realStore(t))
}

var credKey = bytes.Repeat([]byte{7}, 32)

func testCredentials(t *testing.T, newStore func(t *testing.T) *store.Store) {
	const token = "xoxb-1111-2222-secretvalue"
	t.Run("put, get, delete", func(t *testing.T) {
		s := newStore(t)
		c, err := s.Credentials("slack", credKey)
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if _, _, ok, err := c.Get(ctx, "slack-T1"); ok || err != nil {
			t.Fatalf("Get before Put: %v, %v; want none", ok, err)
		}
		if err := c.Put(ctx, "slack-T1", "U1", token, map[string]string{"bot_user": "UBOT", "scopes": "commands,chat:write"}); err != nil {
			t.Fatal(err)
		}
		secret, attrs, ok, err := c.Get(ctx, "slack-T1")
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
		if secret != token || attrs["bot_user"] != "UBOT" || attrs["scopes"] != "commands,chat:write" {
			t.Errorf("Get = %q, %v; want the token and the attributes put", secret, attrs)
		}
		if _, _, ok, err := c.Get(ctx, "slack-T2"); ok || err != nil {
			t.Errorf("another organization's: %v, %v; want none", ok, err)
		}
		keys := s.Client().Keys(ctx, "*").Val()
		for _, k := range keys {
			if !strings.HasPrefix(k, "bb:{slack-T1}:") {
				t.Errorf("key %q is not in the organization's slot", k)
			}
			if typ := s.Client().Type(ctx, k).Val(); typ == "string" {
				if v := s.Client().Get(ctx, k).Val(); strings.Contains(v, "secretvalue") || strings.Contains(v, "xoxb") {
					t.Errorf("%s holds the token in clear: %s", k, v)
				}
			}
		}
		if n := s.Client().XLen(ctx, "bb:{slack-T1}:audit").Val(); n != 1 {
			t.Errorf("audit entries after Put: %d, want 1", n)
		}
		for i, want := range []bool{true, false} {
			deleted, err := c.Delete(ctx, "slack-T1", "slack")
			if err != nil || deleted != want {
				t.Errorf("Delete #%d = %v, %v; want %v", i+1, deleted, err, want)
			}
		}
		if _, _, ok, err := c.Get(ctx, "slack-T1"); ok || err != nil {
			t.Errorf("Get after Delete: %v, %v; want none", ok, err)
		}
		if n := s.Client().XLen(ctx, "bb:{slack-T1}:audit").Val(); n != 2 {
			t.Errorf("audit entries after two Deletes: %d, want 2 (a repeat changes nothing)", n)
		}
	})
	t.Run("sealed to its key and organization", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		c, _ := s.Credentials("slack", credKey)
		if err := c.Put(ctx, "slack-T1", "U1", token, nil); err != nil {
			t.Fatal(err)
		}
		other, _ := s.Credentials("slack", bytes.Repeat([]byte{8}, 32))
		if _, _, _, err := other.Get(ctx, "slack-T1"); err == nil || strings.Contains(err.Error(), token) {
			t.Errorf("Get with another secret key: %v, want an error that names no token", err)
		}
		// The record copied to another organization does not open there.
		v := s.Client().Get(ctx, "bb:{slack-T1}:credential:slack").Val()
		s.Client().Set(ctx, "bb:{slack-T9}:credential:slack", v, 0)
		if _, _, _, err := c.Get(ctx, "slack-T9"); err == nil {
			t.Error("a record copied to another organization opened")
		}
		discord, _ := s.Credentials("discord", credKey)
		if _, _, ok, err := discord.Get(ctx, "slack-T1"); ok || err != nil {
			t.Errorf("another platform's: %v, %v; want none", ok, err)
		}
	})
	t.Run("bad input writes nothing", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		if _, err := s.Credentials("slack", []byte("short")); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("short key: %v, want ErrInvalid", err)
		}
		c, _ := s.Credentials("slack", credKey)
		for _, tc := range []struct{ org, actor, secret string }{
			{"bad org}", "U1", token}, {"slack-T1", "", token}, {"slack-T1", "U1", ""}, // neither a secret nor attributes
		} {
			if err := c.Put(ctx, tc.org, tc.actor, tc.secret, nil); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Put(%q, %q, %q): %v, want ErrInvalid", tc.org, tc.actor, tc.secret, err)
			}
		}
		if keys := s.Client().Keys(ctx, "*").Val(); len(keys) != 0 {
			t.Errorf("keys after bad input: %v", keys)
		}
	})
	t.Run("use once", func(t *testing.T) {
		s := newStore(t)
		ctx := t.Context()
		for i, want := range []bool{true, false} {
			if ok, err := s.UseOnce(ctx, "slack-oauth-state", "state-value", time.Minute); err != nil || ok != want {
				t.Errorf("UseOnce #%d = %v, %v; want %v", i+1, ok, err, want)
			}
		}
		if ok, err := s.UseOnce(ctx, "slack-oauth-state", "another", time.Minute); err != nil || !ok {
			t.Errorf("another value: %v, %v; want true", ok, err)
		}
		for _, k := range s.Client().Keys(ctx, "*").Val() {
			if strings.Contains(k, "state-value") {
				t.Errorf("key %q holds the value", k)
			}
			if ttl := s.Client().TTL(ctx, k).Val(); ttl <= 0 || ttl > time.Minute {
				t.Errorf("TTL of %s = %v", k, ttl)
			}
		}
		if _, err := s.UseOnce(ctx, "slack-oauth-state", "", time.Minute); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("empty value: %v, want ErrInvalid", err)
		}
	})
}

// TestCredentialsCluster: the credential's keys share the organization's
// slot, so its script runs on a Redis Cluster.
func TestCredentialsCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	addrs := redistest.Cluster(t)
	rdb, err := store.Connect("redis+cluster://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	s := store.New(rdb)
	ctx := t.Context()
	c, _ := s.Credentials("slack", credKey)
	for _, org := range []string{"slack-T1", "slack-T2", "slack-E1"} {
		if err := c.Put(ctx, org, "U1", "xoxb-"+org, nil); err != nil {
			t.Fatalf("Put %s: %v", org, err)
		}
		if got, _, _, err := c.Get(ctx, org); err != nil || got != "xoxb-"+org {
			t.Errorf("Get %s = %+v, %v", org, got, err)
		}
		for i, want := range []bool{true, false} {
			if deleted, err := c.Delete(ctx, org, "slack"); err != nil || deleted != want {
				t.Errorf("Delete %s #%d = %v, %v; want %v", org, i+1, deleted, err, want)
			}
		}
		if ok, err := s.UseOnce(ctx, "slack-oauth-state", org, time.Minute); err != nil || !ok {
			t.Errorf("UseOnce %s = %v, %v", org, ok, err)
		}
	}
}
