package commands_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// germanWords are the words German command lines may name after the
// slash command: the subcommands and what they read after their names,
// as a German user would write them.
var germanWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		hilfe produkte katalog kaufen testen lizenzen zuweisen aufheben kündigen
		zahlung rechnungen admin sprache support anfragen
		alle seite zeitraum hinzufügen bearbeiten ersetzen entfernen erinnern beenden bestätigen
		kanal standard richtlinie aktiviert nur-testversionen deaktiviert freigabe limit aus
		genehmigen ablehnen protokoll vor nach übergabe zeigen übernehmen zurückziehen`) {
		germanWords[w] = true
	}
}

// neutralWord is a word of no language: an id, a number, a date, a
// month range, a language code, a channel, a cursor, a person's id.
var neutralWord = regexp.MustCompile(`^([a-z2-7]{16}|\d+|\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}|[36]m|de|en|auto|self-service|#\S+|[0-9a-z]+\.[0-9a-z]+|[A-Z]+\d+)$`)

// volatile is what differs between two answers to the same command: ids
// made at random, links with tokens.
var volatile = regexp.MustCompile(`https?://\S+|\b[a-z2-7]{16}\b|\b\d{8}-[A-Z0-9]{8,}\b`)

// TestGermanCommandLines walks the main flows as German users: every
// button the core renders for them, in answers and in notifications, and
// the buttons of what clicking it answers, as CommandLine shows it (the
// console shows and runs these lines). Each word after /billing is German
// or of no language (ids, numbers, dates, product ids), and the German
// line runs as the English one does: from the same state, the same answer.
func TestGermanCommandLines(t *testing.T) {
	e := newEnv(t, func(c *commands.Config) { c.RatePerMinute = 1 << 20 })
	products := map[string]bool{}
	for _, p := range e.cat.Products {
		products[p.ID] = true
	}
	people := map[string]who{"": dave.de(), alice.m.ID: alice.de(), bob.m.ID: bob.de(), carol.m.ID: carol.de()}
	checked := map[string]bool{} // English command lines, volatile parts masked
	var click func(w who, r commands.Response, depth int)
	click = func(w who, r commands.Response, depth int) {
		t.Helper()
		for _, m := range r.Messages {
			for _, b := range m.Buttons {
				if b.URL != "" || b.Command == "" ||
					r.Confirm != nil && strings.HasPrefix(b.Command, "confirm ") { // answered y/n, never shown as a line
					continue
				}
				key := volatile.ReplaceAllString(b.Command, "ID")
				if checked[key] {
					continue
				}
				checked[key] = true
				line := e.bot.CommandLine("de", "/billing", b.Command)
				words := strings.Fields(line)
				if words[0] != "/billing" {
					t.Errorf("%q: line %q does not start with /billing", b.Command, line)
				}
				for _, word := range words[1:] {
					if !germanWords[word] && !neutralWord.MatchString(word) && !products[word] {
						t.Errorf("button %q shows %q to German users: %q is not German", b.Label, line, word)
					}
				}
				// Click it both ways from the same state; then go back to
				// that state, so that the walk's clicks change nothing.
				before := e.save()
				en := e.run(w, b.Command)
				e.restore(before)
				de := e.run(w, strings.TrimPrefix(line, "/billing "))
				if got, want := volatile.ReplaceAllString(text(de), "ID"), volatile.ReplaceAllString(text(en), "ID"); got != want ||
					(de.Form == nil) != (en.Form == nil) || de.Form != nil && de.Form.ID != en.Form.ID {
					t.Errorf("%q answers otherwise than %q:\n%s\nwant:\n%s", line, b.Command, got, want)
				}
				if depth < 2 {
					click(w, de, depth+1)
				}
				e.restore(before)
			}
		}
	}
	run := func(w who, lines ...string) {
		t.Helper()
		for _, l := range lines {
			click(w, e.run(w, l), 0)
		}
	}
	notes := func(ns []commands.Notification) {
		t.Helper()
		for _, n := range ns {
			w, ok := people[n.To]
			if !ok {
				t.Fatalf("a notification to %q", n.To)
			}
			click(w, commands.Response{Messages: []commands.Message{e.bot.RenderNotification(n, "de")}}, 0)
		}
	}
	al, da := alice.de(), dave.de()

	// Someone new: nothing bought, no payment method.
	run(al, "hilfe", "produkte", "katalog", "kaufen", "testen", "zahlung", "rechnungen", "sprache", "support", "anfragen",
		"zuweisen", "kündigen", "frobnicate")
	// A card, a purchase, its payment, its licenses assigned.
	e.buyer(alice)
	run(al, "zahlung")
	click(al, e.send(al, e.buyForm(al, "visio-plan-2", 5, store.Monthly)), 0)
	notes(e.charge())
	visio := e.view(alice).Subs[0].ID
	e.assign(alice, visio, bob.m.ID, carol.m.ID)
	project := e.buy(alice, "project-plan-1", 2)
	click(al, e.send(al, form(commands.FormTrial, "", "product", "project-plan-3")), 0)
	run(al, "produkte", "zuweisen", "aufheben", "lizenzen", "kündigen", "testen", "kaufen", "lizenzen "+project+" 1",
		"rechnungen", "rechnungen 6m", "rechnungen zeitraum", "rechnungen 01.01.2020 01.01.2021")

	// An admin: the channel, policies, limits and requests for approval.
	run(da, "admin kanal #abrechnung", "admin", "admin richtlinie", "admin richtlinie visio-plan-2 nur-testversionen",
		"admin richtlinie", "admin richtlinie teams-premium deaktiviert", "admin richtlinie", "katalog",
		"admin richtlinie visio-plan-2 aktiviert", "admin richtlinie teams-premium aktiviert", "admin freigabe",
		"admin freigabe 100 EUR", "admin limit", "admin freigabe")
	click(al, e.send(al, e.buyForm(al, "project-plan-1", 20, store.Monthly)), 0)
	notes(e.notes())
	run(al, "anfragen")
	run(da, "admin", "admin anfragen", "admin protokoll", "admin protokoll 3m", "admin protokoll alle")

	// Lists of more than a page.
	e.buyer(bob)
	for range 21 {
		e.buy(bob, "tiny", 1)
	}
	run(bob.de(), "produkte", "produkte self-service", "rechnungen")
	run(da, "admin")

	// A trial's reminders, a member who leaves, and a month later.
	notes(e.due(trialEnd.AddDate(0, 0, -7)))
	notes(e.due(trialEnd.AddDate(0, 0, -1)))
	notes(e.leave(alice))
	run(da, "admin übergabe", "admin")
	notes(e.due(t0.AddDate(0, 2, 0)))

	// The walk saw the lines of the findings: each in German.
	for _, want := range []string{"invoices range", "payment add", "payment edit ID", "payment replace ID", "payment remove ID",
		"admin channel default", "admin policy project-plan-1 disabled", "admin policy visio-plan-2 trials-only",
		"admin policy visio-plan-2 enabled", "trial end ID", "trial remind ID", "trial end ID confirm",
		"requests withdraw ID", "admin approve ID", "admin decline ID", "admin handover take ID",
		"admin handover cancel ID", "admin audit before 0.0", "admin audit after 0.0", "products page 2",
		"products self-service page 2", "invoices 3m page 2", "admin page 2"} {
		if !checked[want] && !checkedLike(checked, want) {
			t.Errorf("the walk met no %q button", want)
		}
	}
}

// checkedLike reports whether a line like want (its last word any) was
// checked: the cursors of the audit trail's pages vary.
func checkedLike(checked map[string]bool, want string) bool {
	prefix := want[:strings.LastIndex(want, " ")+1]
	for k := range checked {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// saved is the whole of a miniredis: each key, its contents and its time
// to live.
type saved map[string]savedKey

type savedKey struct {
	typ    string
	s      string
	fields []string // hash: field, value, …; set, list: members
	scores map[string]float64
	stream []miniredis.StreamEntry
	groups []redis.XInfoGroup
	ttl    time.Duration
}

// save copies the store's keys (not the rate limit's).
func (e *env) save() saved {
	e.t.Helper()
	out := saved{}
	for _, k := range e.mr.Keys() {
		if strings.Contains(k, ":rate:") {
			continue
		}
		v := savedKey{typ: e.mr.Type(k), ttl: e.mr.TTL(k)}
		var err error
		switch v.typ {
		case "string":
			v.s, err = e.mr.Get(k)
		case "hash":
			fields, _ := e.mr.HKeys(k)
			for _, f := range fields {
				v.fields = append(v.fields, f, e.mr.HGet(k, f))
			}
		case "set":
			v.fields, err = e.mr.Members(k)
		case "list":
			v.fields, err = e.mr.List(k)
		case "zset":
			v.scores = map[string]float64{}
			ms, _ := e.mr.ZMembers(k)
			for _, m := range ms {
				v.scores[m], _ = e.mr.ZScore(k, m)
			}
		case "stream":
			if v.stream, err = e.mr.Stream(k); err == nil {
				v.groups, err = e.rdb.XInfoGroups(e.t.Context(), k).Result()
			}
			for _, g := range v.groups {
				if g.Pending > 0 {
					e.t.Fatalf("save: stream %s has %d pending entries", k, g.Pending)
				}
			}
		default:
			e.t.Fatalf("save: key %s has type %s", k, v.typ)
		}
		if err != nil {
			e.t.Fatalf("save %s: %v", k, err)
		}
		out[k] = v
	}
	return out
}

// restore makes the store hold what save copied, and nothing else.
func (e *env) restore(s saved) {
	e.t.Helper()
	e.mr.FlushAll()
	for k, v := range s {
		var err error
		switch v.typ {
		case "string":
			err = e.mr.Set(k, v.s)
		case "hash":
			e.mr.HSet(k, v.fields...)
		case "set":
			_, err = e.mr.SetAdd(k, v.fields...)
		case "list":
			_, err = e.mr.Push(k, v.fields...)
		case "zset":
			for m, sc := range v.scores {
				if _, err = e.mr.ZAdd(k, sc, m); err != nil {
					break
				}
			}
		case "stream":
			for _, en := range v.stream {
				if _, err = e.mr.XAdd(k, en.ID, en.Values); err != nil {
					break
				}
			}
			for _, g := range v.groups {
				if err == nil {
					err = e.rdb.XGroupCreateMkStream(e.t.Context(), k, g.Name, g.LastDeliveredID).Err()
				}
			}
		}
		if err != nil {
			e.t.Fatalf("restore %s: %v", k, err)
		}
		if v.ttl > 0 {
			e.mr.SetTTL(k, v.ttl)
		}
	}
}
