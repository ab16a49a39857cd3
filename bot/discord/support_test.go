package discord

import (
	"net/http"
	"strings"
	"testing"
)

// TestSupportNamesAdmins: without a support contact, support names the
// guild's owner and the members of its roles with the Administrator
// permission, with mentions that ping nobody, and keeps the list for the
// next request.
func TestSupportNamesAdmins(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as   who
		want []string
	}{
		{bobEN, []string{"Your organization's administrators can help you:", `• Alice Adams (\u003c@` + alice + `\u003e)`, `• Bob Brown (\u003c@` + bob + `\u003e)`}},
		{aliceDE, []string{"helfen Ihnen die Administratoren Ihrer Organisation:", `• Bob Brown (\u003c@` + bob + `\u003e)`}},
	} {
		_, data := answer(t, e.post(e.interaction(tt.as, itCommand, command("support"), "")))
		got := text(data)
		for _, want := range tt.want {
			if !strings.Contains(got, want) {
				t.Errorf("support lacks %q: %s", want, got)
			}
		}
		for _, not := range []string{"Contact support", "buildbot", "Carol"} {
			if strings.Contains(got, not) {
				t.Errorf("support names %q: %s", not, got)
			}
		}
		if !strings.Contains(got, `"allowed_mentions":{"parse":[]}`) {
			t.Errorf("the answer may ping the admins it names: %s", got)
		}
	}
	guild := 0
	for {
		select {
		case c := <-e.fake.calls:
			if c.Method == http.MethodGet && c.Path == "/guilds/"+testGuild {
				guild++
			}
			continue
		default:
		}
		break
	}
	if guild != 1 {
		t.Errorf("the guild was read %d times, want 1 (cached)", guild)
	}
}
