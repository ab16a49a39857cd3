package console

import (
	"regexp"
	"testing"
	"time"
)

// TestTrialReminderActions: the trial reminder's buttons run in the
// console: Remind me tomorrow says when the next reminder comes, Cancel
// now asks first and then ends the trial, which the admins hear of.
func TestTrialReminderActions(t *testing.T) {
	tb := newTestBot(t)
	tb.run(t, "trial visio\n\n", Options{DueEvery: time.Hour})
	tb.clock.Add(23 * 24 * time.Hour) // the reminder a week before the end
	out := tb.run(t, "help\n", Options{DueEvery: time.Hour})
	mustContain(t, out, "[notification to @alice] Your trial ends soon", "- Convert to subscription → /billing buy visio-plan-2 25")
	m := regexp.MustCompile(`- Remind me tomorrow +→ /billing (trial remind (\S+))`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Remind me tomorrow button:\n%s", out)
	}
	remind, id := m[1], m[2]
	next := tb.clock.Now().Add(24 * time.Hour).Format("Jan 2, 2006, 3:04 PM")
	out = tb.run(t, remind+"\n"+remind+"\n", Options{DueEvery: time.Hour})
	mustContain(t, out, "Reminder scheduled\n", "I will remind you again on "+next+" UTC.")

	out = tb.run(t, "trial end "+id+"\n", Options{DueEvery: time.Hour})
	mustContain(t, out, "End your trial now?", "it ends today instead of on")
	mustNotContain(t, out, "Trial ended")
	out = tb.run(t, "trial end "+id+" confirm\nproducts\n", Options{DueEvery: time.Hour})
	mustContain(t, out, "Trial ended\n", "Your trial of Visio Plan 2 has ended today.", "[admin notification] Trial ended early",
		"expired")
}
