package console

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/store/storetest"
)

// TestAdminPages: the console pages the admin overview of a big
// organization too: its Next button, by number, shows the next page.
func TestAdminPages(t *testing.T) {
	tb := newTestBot(t)
	big := storetest.BigOrgOf(t, tb.store, "demo", 45, 5, 90, tb.clock.Now().Add(-time.Hour))
	out := tb.run(t, "admin\n", Options{Admin: true})
	mustContain(t, out, "Page 1 of 3 (45 in all)", "Buyer "+big.Subs[19])
	mustNotContain(t, out, "Buyer "+big.Subs[20])
	next := regexp.MustCompile(`\[(\d+)\] Next ▶`).FindStringSubmatch(out)
	if next == nil {
		t.Fatalf("no Next button:\n%s", out)
	}
	out = tb.run(t, "admin\n"+next[1]+"\n", Options{Admin: true})
	page2 := out[strings.Index(out, "» /billing admin page 2"):]
	mustContain(t, page2, "Page 2 of 3 (45 in all)", "Buyer "+big.Subs[20], "Buyer "+big.Subs[39], "◀ Previous")
	mustNotContain(t, page2, "Buyer "+big.Subs[19]+"\n", "Buyer "+big.Subs[40])
	mustContain(t, tb.run(t, "admin page x\n", Options{Admin: true}), "“x” is not a page number.")
	// In German, the buttons' command lines are German.
	out = tb.run(t, "sprache de\nadmin seite 2\n", Options{Admin: true})
	mustContain(t, out, "Seite 2 von 3 (insgesamt 45)", "→ /billing admin seite 1", "→ /billing admin seite 3")
}
