//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// TestServeSentinel runs the binary's serve with REDIS_URL a
// redis+sentinel:// URL: it starts, finds the primary through the
// sentinels, and after a failover the same process serves from the new
// primary, with no restart and no 5xx meanwhile.
func TestServeSentinel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, starts Redis Sentinel and fails over")
	}
	s := redistest.Sentinel(t, 1, 2)
	redisURL := "redis+sentinel://" + s.Addrs[0] + "?master_name=" + redistest.MasterName + "&addr=" + s.Addrs[1]
	api := newSlackFake(t)
	r := startReplica(t, "a", redisURL, api) // waits until /readyz says 200
	c := r.client(t, api)

	// A trial started through Slack before and after the failover (a
	// form's answer closes the modal either way; the log tells the result).
	trial := func(team string) (int, string) {
		return c.submit(team, "U1", "V-"+team, commands.FormTrial, map[string]string{"product": "visio-plan-2"})
	}
	if code, body := trial("TBEFORE"); code != http.StatusOK || r.result(t, "slack-TBEFORE") != "ok" {
		t.Fatalf("trial before the failover: %d %s, result %q", code, body, r.result(t, "slack-TBEFORE"))
	}
	next := s.Failover()
	start := time.Now()
	deadline := start.Add(30 * time.Second)
	var after string
	for n := 0; after == ""; n++ {
		team := fmt.Sprintf("TAFTER%d", n)
		if code, body := trial(team); code != http.StatusOK {
			t.Fatalf("trial during the failover: %d %s, want 200", code, body)
		}
		switch res := r.result(t, "slack-"+team); res {
		case "ok":
			after = team
			t.Logf("a trial started %v after the failover, at attempt %d", time.Since(start), n+1)
		case "unavailable":
			if time.Now().After(deadline) {
				t.Fatalf("30 s after the failover, a trial is still answered %q", res)
			}
			time.Sleep(100 * time.Millisecond)
		default:
			t.Fatalf("trial during the failover: result %q, want ok or unavailable", res)
		}
	}
	if resp, err := http.Get("http://" + r.addr + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz after the failover: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}

	// Both trials are on the new primary.
	rdb, err := store.Connect("redis://" + next)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	st := store.New(rdb)
	for _, org := range []string{"slack-TBEFORE", "slack-" + after} {
		if entries, err := st.Audit(t.Context(), org, 10); err != nil || len(entries) == 0 {
			t.Errorf("audit of %s on the new primary: %v, %v; want the trial", org, entries, err)
		}
	}
}

// result waits until the replica has logged the request of org (the core
// logs each one with its result) and returns its result.
func (r *replica) result(t *testing.T, org string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(r.log)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			var e struct{ Msg, Org, Result string }
			if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "request" && e.Org == org {
				return e.Result
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request of %s logged after 10 s", org)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
