package commands_test

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
)

// auditEnv is an env whose clock is the machine's: audit entries carry
// Redis's time in their ids, and ranges are read by the bot's clock.
func auditEnv(e *env) *env {
	e.clock.Set(time.Now().UTC())
	return e
}

// auditButton finds the button of a response by its label.
func auditButton(t *testing.T, r commands.Response, label string) commands.Button {
	t.Helper()
	for _, m := range r.Messages {
		for _, b := range m.Buttons {
			if b.Label == label {
				return b
			}
		}
	}
	t.Fatalf("no button %q in:\n%s", label, text(r))
	return commands.Button{}
}

func hasButton(r commands.Response, label string) bool {
	for _, m := range r.Messages {
		for _, b := range m.Buttons {
			if b.Label == label {
				return true
			}
		}
	}
	return false
}

func auditRows(r commands.Response) [][]string {
	if len(r.Messages) == 0 || r.Messages[0].Table == nil {
		return nil
	}
	return r.Messages[0].Table.Rows
}

// TestAuditList: an admin sees who changed what, newest first, in their
// language; a member is refused and gets no link.
func TestAuditList(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e = auditEnv(e)
		e.buyer(alice)
		id := e.buy(alice, "visio-plan-2", 5)
		e.assign(alice, id, bob.m.ID, carol.m.ID)
		wantMessage(t, e.run(dave, "admin channel #billing"), "#billing")

		r := e.run(dave, "admin audit")
		wantMessage(t, r, "Audit trail", "Newest first", "When | Who | What | Before → after",
			"Dave | Admin channel | — → #billing", "Alice | Licenses assigned (2) · "+id+" | 0 → 2", "Alice | Purchase · "+id)
		rows := auditRows(r)
		if len(rows) == 0 || rows[0][2] != "Admin channel" {
			t.Fatalf("not newest first: %v", rows)
		}
		if hasButton(r, "Older") || hasButton(r, "Newer") {
			t.Errorf("one page with paging buttons:\n%s", text(r))
		}
		if b := auditButton(t, r, "Download CSV"); !strings.HasPrefix(b.URL, "https://pay.example/audit/") || !strings.HasSuffix(b.URL, ".csv") {
			t.Errorf("CSV link %q", b.URL)
		}

		de := e.run(dave.de(), "admin protokoll")
		wantMessage(t, de, "Änderungsprotokoll", "Neueste zuerst", "Wann | Wer | Was | Vorher → nachher",
			"Dave | Administratorkanal | — → #billing", "Alice | Lizenzen zugewiesen (2) · "+id, "Alice | Kauf · "+id, "[CSV herunterladen]")

		refused := e.run(alice, "admin audit")
		wantMessage(t, refused, "Only administrators")
		if strings.Contains(text(refused), "/audit/") {
			t.Errorf("a member got a link:\n%s", text(refused))
		}
	})
}

// TestAuditPagingButtons: Older and Newer carry a cursor; every entry is
// shown once while new ones arrive between the pages.
func TestAuditPagingButtons(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e = auditEnv(e)
		for i := range 23 {
			lang := []string{"de", "en"}[i%2]
			e.run(alice, "language "+lang)
		}
		r := e.run(dave, "admin audit")
		seen := len(auditRows(r))
		var pages []commands.Response
		pages = append(pages, r)
		for hasButton(r, "Older") {
			e.run(bob, "language de") // a newer entry, on no page read from here on
			r = e.run(dave, auditButton(t, r, "Older").Command)
			pages = append(pages, r)
			seen += len(auditRows(r))
			if len(pages) > 4 {
				t.Fatalf("too many pages")
			}
		}
		if seen != 23 || len(pages) != 3 || len(auditRows(pages[0])) != 10 || len(auditRows(pages[2])) != 3 {
			t.Fatalf("%d rows on %d pages, want 23 on 3 (10, 10, 3)", seen, len(pages))
		}
		for _, p := range pages {
			for _, row := range auditRows(p) {
				if row[1] != "Alice" {
					t.Fatalf("an entry added after the first page is on a later one: %v", row)
				}
			}
		}
		back := e.run(dave, auditButton(t, pages[2], "Newer").Command)
		if got := len(auditRows(back)); got != 10 || !hasButton(back, "Older") || !hasButton(back, "Newer") {
			t.Fatalf("Newer from the last page: %d rows:\n%s", got, text(back))
		}
		// The cursor is the only thing a button adds: a forged one is refused.
		wantMessage(t, e.run(dave, "admin audit before 12x"), "not known", "admin audit [3m|6m|FROM TO] [person]")
	})
}

// TestAuditFilters: a range and a person narrow the list; mistakes are
// answered and the list stays empty of others.
func TestAuditFilters(t *testing.T) {
	e := auditEnv(newEnv(t))
	e.run(alice, "language de")
	e.run(bob, "language en")
	e.buyer(carol)
	id := e.buy(carol, "visio-plan-2", 2)
	e.assign(carol, id, alice.m.ID)

	r := e.run(dave, "admin audit @alice")
	wantMessage(t, r, "Changes by or about Alice", "Alice | Own language", "Carol | Licenses assigned (1) · "+id)
	for _, row := range auditRows(r) {
		if row[1] == "Bob" || strings.HasPrefix(row[2], "Purchase") {
			t.Errorf("not about Alice: %v", row)
		}
	}
	if b := auditButton(t, r, "Download CSV"); b.URL == "" {
		t.Error("no CSV link")
	}

	today := e.clock.Now().Format("2006-01-02")
	wantMessage(t, e.run(dave, "admin audit "+today+" "+today+" Bob"), "Bob | Own language")
	if rows := auditRows(e.run(dave, "admin audit 3m bob")); len(rows) != 1 {
		t.Errorf("3m bob: %v", rows)
	}
	// The range words of invoices, all of them.
	if rows := auditRows(e.run(dave, "admin audit 3mo bob")); len(rows) != 1 {
		t.Errorf("3mo bob: %v", rows)
	}
	old := e.clock.Now().AddDate(0, -2, 0).Format("2006-01-02")
	wantMessage(t, e.run(dave, "admin audit "+old+" "+old), "No changes recorded")

	for line, want := range map[string]string{
		"admin audit nobody":                   "nobody is not a member",
		"admin audit alice bob":                "Name one person only",
		"admin audit 2026-11-01":               "two dates",
		"admin audit 2026-11-30 2026-11-01":    "",
		"admin audit 3m 6m":                    "",
		"admin protokoll niemand":              "",
		"admin audit 2026-02-30 2026-03-01 @x": "",
	} {
		r := e.run(dave, line)
		if auditRows(r) != nil {
			t.Errorf("%q listed entries:\n%s", line, text(r))
		}
		wantMessage(t, r, "admin audit [3m|6m|FROM TO] [person]", want)
	}
	wantMessage(t, e.run(dave.de(), "admin protokoll niemand"), "niemand", "admin protokoll [3m|6m|VON BIS] [Person]")
}

// TestAuditCSV: the link downloads everything the list selects, as CSV
// with a header row, cells that would be formulas quoted; a changed link
// is refused and an old one has expired.
func TestAuditCSV(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e = auditEnv(e)
		for i := range 1203 {
			if err := e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "bb:{T1}:audit", Values: []any{"actor", "U1",
				"action", "licenses", "target", "sub1", "before", "1", "after", "2"}}).Err(); err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		}
		if err := e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "bb:{T1}:audit", Values: []any{"actor", "=HYPERLINK(\"x\")",
			"action", "+cmd|' /C calc'!A0", "target", "@SUM(1)", "before", "-2", "after", "\tx"}}).Err(); err != nil {
			t.Fatal(err)
		}
		r := e.run(dave.de(), "admin protokoll")
		// An action it does not know is shown as recorded.
		wantMessage(t, r, "+cmd|' /C calc'!A0 · @SUM(1)")
		u := auditButton(t, r, "CSV herunterladen").URL
		token := strings.TrimSuffix(strings.TrimPrefix(u, "https://pay.example"+commands.AuditPath), ".csv")
		l, err := e.bot.ParseAuditLink(token)
		if err != nil || l.Org != "T1" || l.User != dave.m.ID || l.Lang != "de" || !l.Expires.Equal(e.clock.Now().Add(time.Hour).Truncate(time.Second)) {
			t.Fatalf("ParseAuditLink = %+v, %v", l, err)
		}
		var buf bytes.Buffer
		if err := e.bot.WriteAuditCSV(t.Context(), &buf, l); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("not CSV: %v", err)
		}
		if want := []string{"Eintrag", "Zeit (UTC)", "Wer", "Aktion", "Was", "Ziel", "Vorher", "Nachher"}; strings.Join(recs[0], ",") != strings.Join(want, ",") {
			t.Fatalf("header %q", recs[0])
		}
		if len(recs) != 1+1204 {
			t.Fatalf("%d rows, want 1204 and the header", len(recs)-1)
		}
		first := recs[1]
		if first[2] != `'=HYPERLINK("x")` || first[3] != "'+cmd|' /C calc'!A0" || first[5] != "'@SUM(1)" || first[6] != "'-2" || first[7] != "'\tx" {
			t.Errorf("formula cells not quoted: %q", first)
		}
		if last := recs[len(recs)-1]; last[3] != "licenses" || last[4] != "Lizenzen geändert · sub1" || last[2] != "U1" {
			t.Errorf("last row %q", last)
		}
		seen := map[string]bool{}
		for _, rec := range recs[1:] {
			if seen[rec[0]] {
				t.Fatalf("entry %s twice", rec[0])
			}
			seen[rec[0]] = true
		}

		// Tampered: another organization, another user, a byte changed.
		payload, mac, _ := strings.Cut(token, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(payload)
		otherOrg := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "|T1|", "|T2|", 1))) + "." + mac
		for _, bad := range []string{payload + "." + strings.Repeat("A", len(mac)), otherOrg,
			token[:len(token)-1], "", "x.y"} {
			if _, err := e.bot.ParseAuditLink(bad); !errors.Is(err, commands.ErrAuditLink) {
				t.Errorf("ParseAuditLink(tampered %q) = %v", bad, err)
			}
		}
		// Not the invoices' key: an invoice link is no audit link.
		e.clock.Set(e.clock.Now().Add(time.Hour + time.Second))
		if _, err := e.bot.ParseAuditLink(token); !errors.Is(err, commands.ErrAuditLinkExpired) {
			t.Errorf("an hour later: %v, want expired", err)
		}
	})
}

// TestAuditWhat: each kind of entry is said in the reader's language; a
// reason is translated, an unknown action shown as recorded.
func TestAuditWhat(t *testing.T) {
	e := auditEnv(newEnv(t))
	for _, v := range [][]any{
		{"actor", "U1", "action", "cancel too_expensive", "target", "s1", "before", "active", "after", "canceled"},
		{"actor", "U1", "action", "cancel ", "target", "s2", "before", "active", "after", "canceled"},
		{"actor", "scheduler", "action", "remind trial-3", "target", "s3", "before", "trial", "after", "trial"},
		{"actor", "billing", "action", "invoice-status", "target", "20261205-AB", "before", "open", "after", "paid"},
		{"actor", "U1", "action", "policy-set visio", "target", "visio", "before", "enabled", "after", "<b>x</b>"},
	} {
		if err := e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "bb:{T1}:audit", Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	wantMessage(t, e.run(dave, "admin audit"),
		"Alice | policy-set visio · visio | enabled → <b>x</b>",
		"billingbot | Invoice status · 20261205-AB | open → paid",
		"billingbot | Reminder (trial-3) · s3 | trial → trial",
		"Alice | Canceled · s2 | active → canceled",
		"Alice | Canceled (Too expensive) · s1")
	wantMessage(t, e.run(dave.de(), "admin protokoll"), "Gekündigt (Zu teuer) · s1", "Rechnungsstatus · 20261205-AB")
}

// TestAuditValues: the values before and after a change are said in the
// reader's language where they are the bot's own words (statuses,
// policies, languages, the default channel, a limit removed), amounts and
// times are formatted, people named; free values (numbers, ids) stay as
// recorded. The CSV keeps them as recorded, for machines.
func TestAuditValues(t *testing.T) {
	e := auditEnv(newEnv(t))
	at := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	unix := strconv.FormatInt(at.Unix(), 10)
	for _, v := range [][]string{
		{"U1", "policy", "visio", "enabled", "disabled"},
		{"U1", "policy", "project", "disabled", "trials-only"},
		{"billing", "invoice-status", "INV-1", "open", "paid"},
		{"billing", "invoice-status", "INV-2", "open", "requires_action"},
		{"U1", "buy", "s1", "", "pending 5"},
		{"U1", "trial", "s2", "", "trial 25"},
		{"U1", "convert", "s2", "trial 25", "active 5"},
		{"U1", "cancel too_expensive", "s1", "active", "canceled"},
		{"scheduler", "expire", "s1", "canceled", "expired"},
		{"U2", "approval-request", "A1", "", "open 1260 EUR"},
		{"U4", "approval-approved", "A1", "open", "approved"},
		{"U4", "approval-stale", "A2", "open", "stale"},
		{"U1", "language", "prefs", "", "de"},
		{"U2", "language", "prefs", "", ""},
		{"U4", "org-language", "settings", "", "en"},
		{"U4", "admin-channel", "settings", "", ""},
		{"U4", "approval-limit", "settings", "", "10050 EUR"},
		{"U4", "cap-limit", "settings", "", ""},
		{"platform", "member-left", "U3", "member", "left"},
		{"platform", "handover-ask U3", "s3", "", "pending"},
		{"U4", "handover-take", "s3", "U3", "U4"},
		{"U1", "licenses-next", "s4", "0", "3"},
		{"scheduler", "unused-told", "s4", unix, "2"},
		{"U1", "remind " + unix, "s2", "trial", "trial"},
		{"U1", "licenses", "s4", "5", "7"},
		{"U1", "licenses", "s5", "7", "10000"},
	} {
		if err := e.rdb.XAdd(t.Context(), &redis.XAddArgs{Stream: "bb:{T1}:audit", Values: []any{"actor", v[0],
			"action", v[1], "target", v[2], "before", v[3], "after", v[4]}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	lines := map[string][]string{} // by language: "Who | What | Before → after"
	for lang, page := range map[string]struct {
		who         who
		line, older string
	}{"en": {dave, "admin audit", "Older"}, "de": {dave.de(), "admin protokoll", "Ältere"}} {
		r := e.run(page.who, page.line)
		for {
			for _, row := range auditRows(r) {
				lines[lang] = append(lines[lang], strings.Join(row[1:], " | "))
			}
			if !hasButton(r, page.older) {
				break
			}
			r = e.run(page.who, auditButton(t, r, page.older).Command)
		}
	}
	date := map[string]string{"en": "Dec 5, 2026", "de": "05.12.2026"}
	for lang, want := range map[string][]string{
		"en": {"Product policy · visio | enabled → disabled", "Product policy · project | disabled → trials only",
			"Invoice status · INV-1 | open → paid", "Invoice status · INV-2 | open → waiting for the purchaser's confirmation",
			"Purchase · s1 | — → payment pending, 5 licenses", "Trial started · s2 | — → trial, 25 licenses",
			"Trial converted · s2 | trial, 25 licenses → active, 5 licenses", "Canceled (Too expensive) · s1 | active → canceled",
			"Expired · s1 | canceled → expired", "Approval requested · A1 | — → open, €12.60 per month",
			"Request approved · A1 | open → approved", "Approved request no longer possible · A2 | open → no longer possible",
			"Alice | Own language | — → German", "Bob | Own language | — → automatic (from Slack or Discord)",
			"Organization language | — → English", "Admin channel | — → default channel or direct message",
			"Approval threshold | — → €100.50", "Spend cap per purchaser | — → none",
			"Left the organization · U3 | member → left", "· s3 | — → waiting for an admin", "Taken over · s3 | Carol → Dave",
			"Licenses from the next period · s4 | none → 3", "Licenses changed · s4 | 5 → 7", "· s5 | 7 → 10,000",
			"Purchaser told of unused licenses · s4 | " + date["en"], "Reminder (" + date["en"]},
		"de": {"Produktrichtlinie · visio | aktiviert → deaktiviert", "Produktrichtlinie · project | deaktiviert → nur Testversionen",
			"Rechnungsstatus · INV-1 | offen → bezahlt", "Rechnungsstatus · INV-2 | offen → wartet auf die Bestätigung des Käufers",
			"Kauf · s1 | — → Zahlung ausstehend, 5 Lizenzen", "Testversion umgewandelt · s2 | Testversion, 25 Lizenzen → aktiv, 5 Lizenzen",
			"Gekündigt (Zu teuer) · s1 | aktiv → gekündigt", "| — → offen, 12,60 € pro Monat", "| offen → genehmigt",
			"| offen → nicht mehr möglich", "Alice | Eigene Sprache | — → Deutsch", "Bob | Eigene Sprache | — → automatisch (aus Slack oder Discord)",
			"| — → Englisch", "| — → Standardkanal oder Direktnachricht", "| — → 100,50 €", "Ausgabenlimit je Käufer | — → keine",
			"| Mitglied → ausgeschieden", "| — → wartet auf einen Administrator", "| Carol → Dave", "| keine → 3",
			"Lizenzen geändert · s4 | 5 → 7", "· s5 | 7 → 10.000", "Erinnerung (" + date["de"]},
	} {
		got := strings.Join(lines[lang], "\n")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q in:\n%s", lang, w, got)
			}
		}
		if strings.Contains(got, unix) {
			t.Errorf("%s: a time as recorded:\n%s", lang, got)
		}
	}
	for _, line := range lines["de"] {
		change := line[strings.LastIndex(line, " | ")+3:]
		if strings.HasSuffix(change, "→ de") || strings.HasSuffix(change, "→ en") {
			t.Errorf("de: %q shows a language code", line)
		}
		for _, raw := range []string{"enabled", "disabled", "trials-only", "pending", "requires_action", "open", "paid",
			"default", "EUR", "left", "member", "stale", "U3", "U4"} {
			if strings.Contains(change, raw) {
				t.Errorf("de: %q shows %q as recorded", line, raw)
			}
		}
	}

	// The CSV is for machines: before and after as recorded.
	u := auditButton(t, e.run(dave, "admin audit"), "Download CSV").URL
	l, err := e.bot.ParseAuditLink(strings.TrimSuffix(strings.TrimPrefix(u, "https://pay.example"+commands.AuditPath), ".csv"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.bot.WriteAuditCSV(t.Context(), &buf, l); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string][2]string{}
	for _, rec := range recs[1:] {
		raw[rec[3]+" "+rec[5]] = [2]string{rec[6], rec[7]}
	}
	for k, want := range map[string][2]string{"policy visio": {"enabled", "disabled"}, "invoice-status INV-1": {"open", "paid"},
		"approval-limit settings": {"", "10050 EUR"}, "handover-take s3": {"U3", "U4"}} {
		if raw[k] != want {
			t.Errorf("CSV %s: %q, want %q as recorded", k, raw[k], want)
		}
	}
}
