package discord

import (
	"encoding/json"
	"testing"
	"time"
)

// TestGuildLocaleRemembered: a command keeps its guild's locale in the
// store for the scheduler's notifications; the replica checks the store
// again for the same locale only after localeRecheck, and at once for
// another one.
func TestGuildLocaleRemembered(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	now := time.Now()
	e.a.locales.now = func() time.Time { return now }
	send := func(locale string) {
		t.Helper()
		var in map[string]any
		if err := json.Unmarshal(e.interaction(aliceEN, itCommand, command("help"), ""), &in); err != nil {
			t.Fatal(err)
		}
		in["guild_locale"] = locale
		doc, _ := json.Marshal(in)
		e.post(doc)
		e.a.Wait()
	}
	stored := func() string {
		t.Helper()
		v, _, err := e.st.CacheGet(ctx, testOrg, "guild_locale")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	send("de")
	if got := stored(); got != "de" {
		t.Fatalf("guild locale = %q, want de", got)
	}
	// Within localeRecheck the same locale is not checked again: a value
	// changed behind the replica's back stays until then.
	if err := e.st.CachePut(ctx, testOrg, "guild_locale", "fr", time.Hour); err != nil {
		t.Fatal(err)
	}
	send("de")
	if got := stored(); got != "fr" {
		t.Errorf("guild locale = %q, want fr (not checked again within %v)", got, localeRecheck)
	}
	now = now.Add(localeRecheck)
	send("de")
	if got := stored(); got != "de" {
		t.Errorf("guild locale after %v = %q, want de (checked again)", localeRecheck, got)
	}
	send("en-US")
	if got := stored(); got != "en-US" {
		t.Errorf("guild locale after a change = %q, want en-US at once", got)
	}
}
