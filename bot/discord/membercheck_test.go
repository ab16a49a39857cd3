package discord

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// carol is a user id that the fake does not know as a member of the
// test guild: she has left.
const carol = "200000000000000003"

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// TestMemberCheckREST: the daily check through the REST API (for the
// interactions endpoint): the guilds are listed, each guild's check is
// scheduled, and when it is due each purchaser and holder is looked up;
// one Discord does not know (404 Unknown Member) has left, and the license
// she held is freed. A rate limit on the way is waited out.
func TestMemberCheckREST(t *testing.T) {
	clk := &fakeClock{now: time.Now().UTC()}
	e := newEnvAt(t, miniredis.RunT(t).Addr(), commands.WithClock(clk.Now))
	e.card(alice)
	sub := e.buyVisio()
	if _, err := e.st.AssignLicenses(t.Context(), store.Once{Key: "assign-test"}, testOrg, alice, sub,
		[]store.Member{{ID: bob, Name: "Bob"}, {ID: carol, Name: "Carol"}}); err != nil {
		t.Fatal(err)
	}
	e.bot.AddMemberChecker(e.a)
	if err := e.a.scheduleMemberChecks(t.Context()); err != nil {
		t.Fatalf("schedule: %v", err)
	}
	e.fake.nextTo(t, http.MethodGet, "/users/@me/guilds")
	// Not yet due.
	if _, err := e.bot.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.st.Subscription(t.Context(), testOrg, sub); s.AssignedCount != 2 {
		t.Fatalf("checked before it was due: %d assigned", s.AssignedCount)
	}
	due := clk.Now().UTC().Truncate(24 * time.Hour).Add(27 * time.Hour)
	clk.Set(due)
	e.fake.limited.Store(1)
	if _, err := e.bot.RunDue(t.Context()); err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	asked := map[string]bool{}
	for range 3 {
		c := e.fake.next(t)
		asked[c.Path] = true
	}
	for _, u := range []string{alice, bob, carol} {
		if !asked["/guilds/"+testGuild+"/members/"+u] {
			t.Errorf("%s not looked up; asked %v", u, asked)
		}
	}
	s, err := e.st.Subscription(t.Context(), testOrg, sub)
	if err != nil {
		t.Fatal(err)
	}
	if s.IsAssigned(carol) || !s.IsAssigned(bob) || s.Handover != "" || s.Purchaser.ID != alice {
		t.Errorf("after the check: assigned %+v, handover %q, purchaser %s", s.Assigned, s.Handover, s.Purchaser.ID)
	}
	// Carol, who left, is not asked about again the next day.
	clk.Set(due.Add(24 * time.Hour))
	if _, err := e.bot.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if c := e.fake.next(t); c.Path == "/guilds/"+testGuild+"/members/"+carol {
			t.Errorf("asked about carol again")
		}
	}
	e.fake.none(t)
}

// TestIsMember: Unknown Member is not a member; what is not a Discord
// user of a Discord guild is taken for a member (nobody is handed over on
// a doubt).
func TestIsMember(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		org, user string
		want      bool
		err       bool
	}{
		{testOrg, bob, true, false},
		{testOrg, carol, false, false},
		{"slack-T1", carol, true, false},
		{testOrg, "not-a-snowflake", true, false},
	} {
		got, err := e.a.IsMember(t.Context(), tc.org, tc.user)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("IsMember(%s, %s) = %v, %v; want %v, error %v", tc.org, tc.user, got, err, tc.want, tc.err)
		}
	}
}
