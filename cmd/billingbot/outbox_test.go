package main

import (
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// TestOutboxCommand: billingbot outbox lists what waits and the dead
// letters, and retry puts them back.
func TestOutboxCommand(t *testing.T) {
	mr := miniredis.RunT(t)
	st := store.New(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	ctx := t.Context()
	for _, key := range []string{"a", "b"} {
		n := commands.Notification{Org: "slack-T1", Kind: commands.NotePurchase, Key: "purchase:s1:" + key}
		if _, err := st.Notify(ctx, "slack-T1", store.Once{Key: "k" + key, Note: n.Note()}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := st.OutboxFetch(ctx, "slack-T1", "gone", time.Now(), time.Minute, 10)
	if err != nil || len(b.Entries) != 2 {
		t.Fatalf("fetch: %+v, %v", b, err)
	}
	if _, err := st.OutboxDead(ctx, "gone", b.Entries[0], "slack chat.postMessage: channel_not_found\n(twice)"); err != nil {
		t.Fatal(err)
	}
	dead, err := st.DeadLetters(ctx, "slack-T1", 10)
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters: %+v, %v", dead, err)
	}
	env := map[string]string{"REDIS_URL": "redis://" + mr.Addr()}

	r := runMain(t, env, "", "outbox")
	r.check(t, exitOK, []string{"ORGANIZATION", "slack-T1", "Dead letters", dead[0].ID, "purchase",
		"slack chat.postMessage: channel_not_found (twice)"}, nil)
	if !strings.Contains(r.stdout, "slack-T1      1        ") {
		t.Errorf("one notification waits (held by a sender):\n%s", r.stdout)
	}

	runMain(t, env, "", "outbox", "retry", "nosuch-1").check(t, exitUsage, nil, []string{"need -org"})
	runMain(t, env, "", "outbox", "retry", "-org", "slack-T1", "not-an-id").check(t, exitFailure, nil, []string{"not a dead letter id"})
	runMain(t, env, "", "outbox", "retry", "-org", "slack-T1", "1-1").check(t, exitOK, []string{"1 of 1 ids were not dead letters"}, nil)
	runMain(t, env, "", "outbox", "retry").check(t, exitOK, []string{"slack-T1: 1 back in the outbox", "1 dead letters put back"}, nil)
	r = runMain(t, env, "", "outbox", "-org", "slack-T1")
	r.check(t, exitOK, []string{"No dead letters."}, nil)
	if !strings.Contains(r.stdout, "slack-T1      2        ") {
		t.Errorf("after retry two wait:\n%s", r.stdout)
	}
	runMain(t, nil, "", "outbox").check(t, exitUsage, nil, []string{"REDIS_URL is not set"})
	runMain(t, env, "", "outbox", "-org", "a b").check(t, exitUsage, nil, []string{"not an organization id"})
	runMain(t, env, "", "outbox", "-h").check(t, exitOK, nil, []string{"billingbot outbox retry"})
}
