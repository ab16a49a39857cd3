package discord

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/bot/internal/bottest"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the golden test's clock: 2026-11-25 10:00 UTC.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// TestLimits renders every command definition, every form of the core and
// representative messages, in English and German, checks each against
// Discord's limits and compares them with testdata/*.golden.json.
func TestLimits(t *testing.T) {
	fake := newFakeDiscord(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { _ = rdb.Close() })
			st := store.New(rdb)
			var now atomic.Int64 // minutes after t0
			clock := func() time.Time { return t0.Add(time.Duration(now.Load()) * time.Minute) }
			bot, err := commands.New(st, catalog.Demo(), payment.NewSandbox(), commands.Config{PublicURL: "https://billing.example"},
				commands.WithClock(clock), commands.WithLogger(quiet))
			if err != nil {
				t.Fatal(err)
			}
			a, err := New(Config{AppID: testApp, BotToken: "x", APIURL: fake.srv.URL, HTTPClient: fake.srv.Client(), Log: quiet}, bot, st)
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			locale := map[string]string{"en": "en-US", "de": "de"}[lang]
			user := commands.Member{ID: alice, Name: "Alice Adams"}
			dir := a.directory(testOrg, testGuild, nil)
			dir.known[bob] = commands.Member{ID: bob, Name: "Bob Brown"}
			out := map[string]any{}
			seq := 0
			send := func(name string, req commands.Request) commands.Response {
				t.Helper()
				seq++
				req.Org, req.User, req.Locale, req.Admin, req.Members = testOrg, user, locale, true, dir
				req.Command = slashCommand(locale) // as the adapter sets it
				req.IdempotencyKey = "golden-" + lang + "-" + name
				now.Add(1) // one thing after another, so that lists have one order
				resp, err := bot.Handle(ctx, req)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				r := renderer{a: a, ctx: ctx, org: testOrg, confirm: resp.Confirm}
				switch {
				case resp.Form != nil:
					m := renderModal("KEY", resp.Form, resp.Lang)
					checkModal(t, name, m)
					out[name] = m
				case len(resp.FieldErrors) > 0:
					m := a.fieldErrors(ctx, req, nil, lang, resp.FieldErrors)
					checkMessage(t, name, m)
					out[name] = m
				default:
					ms := r.messages(resp.Messages)
					for _, m := range ms {
						checkMessage(t, name, m)
					}
					out[name] = ms
				}
				return resp
			}
			cmd := func(name, line string) commands.Response { return send(name, commands.Request{Text: line}) }
			form := func(name, id, formCtx string, values map[string][]string) commands.Response {
				return send(name, commands.Request{Form: &commands.Submission{FormID: id, Context: formCtx, Values: values}})
			}

			for _, c := range []string{"help", "catalog", "products", "payment", "support", "language", "invoices",
				"admin", "buy", "buy visio-plan-2 5", "trial", "trial visio-plan-2", "invoices range", "cancel", "frobnicate",
				"buy project", "invoices 2020-01-01 2026-01-01"} {
				cmd("cmd "+c, c)
			}
			token, err := st.CreatePayLink(ctx, store.PayLink{Org: testOrg, User: alice, ProfileID: "default", Lang: lang,
				Expires: t0.Add(30 * time.Minute)}, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bot.CompletePayLink(ctx, token, payment.Card{Number: "4242424242424242", CVC: "123",
				ExpMonth: 12, ExpYear: 2030, Name: "Alice Adams", Address: "Hauptstr. 1, Berlin"}); err != nil {
				t.Fatal(err)
			}
			view, _ := st.View(ctx, testOrg, alice, store.ViewOptions{})
			pm := view.Billing.Accounts[0].Profiles[0].Methods[0].ID
			cmd("cmd buy with method", "buy visio-plan-2 5")
			form("submit buy broken", commands.FormBuy, "", map[string][]string{"product": {"nope"}, "licenses": {"0"}, "period": {"x"}})
			confirm := form("submit buy", commands.FormBuy, "", map[string][]string{"product": {"visio-plan-2"}, "licenses": {"7"},
				"period": {"monthly"}, "method": {pm}}).Confirm
			if confirm == nil {
				t.Fatal("submit buy: no confirmation")
			}
			// Pay, a minute later: the purchase in the confirmation's place.
			cmd("confirm buy", confirm.Yes)
			if _, err := bot.RunDue(ctx); err != nil { // the purchase's charge
				t.Fatal(err)
			}
			form("submit trial", commands.FormTrial, "", map[string][]string{"product": {"project-plan-3"}})
			view, _ = st.View(ctx, testOrg, alice, store.ViewOptions{})
			var sub string
			for _, s := range view.Subs {
				if s.ProductID == "visio-plan-2" {
					sub = s.ID
				}
			}
			cmd("cmd products with subscriptions", "products")
			// "licenses <id> 7": a bare id that starts with a digit is taken for a count by the core (see report).
			cmd("cmd licenses", "licenses "+sub+" 7")
			cmd("cmd assign", "assign "+sub)
			form("submit assign", commands.FormAssign, sub, map[string][]string{"subscription": {sub}, "users": {bob}})
			cmd("cmd unassign", "unassign "+sub)
			cmd("cmd cancel sub", "cancel "+sub)
			cmd("cmd payment with method", "payment")
			cmd("cmd payment edit", "payment edit "+pm)
			cmd("cmd payment remove", "payment remove "+pm) // the only method, paying a subscription: refused
			token2, err := st.CreatePayLink(ctx, store.PayLink{Org: testOrg, User: alice, ProfileID: "default", Lang: lang,
				Expires: clock().Add(30 * time.Minute), Quiet: true}, 30*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			pm2, err := bot.CompletePayLink(ctx, token2, payment.Card{Number: "5555555555554444", CVC: "123",
				ExpMonth: 12, ExpYear: 2030, Name: "Alice Adams", Address: "Hauptstr. 1, Berlin"})
			if err != nil {
				t.Fatal(err)
			}
			cmd("cmd payment remove with another", "payment remove "+pm)
			form("submit payment remove", commands.FormRemoveMethod, pm, map[string][]string{"confirm": {"yes"}})
			cmd("cmd admin overview", "admin")
			cmd("cmd admin policy", "admin policy")
			cmd("cmd admin channel", "admin channel <#555555555555555555>")
			cmd("cmd invoices with some", "invoices")
			form("submit cancel broken", commands.FormCancel, sub, map[string][]string{"subscription": {sub},
				"feedback": {strings.Repeat("x", 1001)}})
			for _, k := range []commands.NotificationKind{commands.NotePurchase, commands.NoteTrial, commands.NoteConversion,
				commands.NoteLicenses, commands.NoteCancel, commands.NoteExpiry, commands.NoteReminder, commands.NotePaymentFailed} {
				n := commands.Notification{Org: testOrg, Kind: k, Sub: commands.NotifiedSub{ID: sub, ProductID: "visio-plan-2",
					Product: "Visio Plan 2", Purchaser: "Alice Adams", Licenses: 7, Before: 5, Price: 1260, Currency: "EUR",
					Period: "monthly", Expires: t0.AddDate(0, 1, 0), Reason: "too_expensive", Invoice: "INV-1"}}
				if k == commands.NoteReminder {
					n.To = alice // a reminder goes to the trial's purchaser, with what they can do about it
				}
				for _, guild := range []string{"", testGuild} {
					ms := renderer{a: a, ctx: ctx, org: testOrg, guild: guild}.messages([]commands.Message{bot.RenderNotification(n, lang)})
					for _, m := range ms {
						checkMessage(t, "note "+string(k), m)
					}
					if guild == "" {
						out["note "+string(k)] = ms
					}
				}
			}
			// A purchaser whose name is markdown: shown as written.
			evil := commands.Notification{Org: testOrg, Kind: commands.NotePurchase, Sub: commands.NotifiedSub{ID: sub,
				ProductID: "visio-plan-2", Product: "Visio Plan 2", Purchaser: evilName, Licenses: 7, Price: 1260,
				Currency: "EUR", Period: "monthly", Expires: t0.AddDate(0, 1, 0)}}
			ms := renderer{a: a, ctx: ctx, org: testOrg}.messages([]commands.Message{bot.RenderNotification(evil, lang)})
			for _, m := range ms {
				checkMessage(t, "note purchase by a markdown name", m)
			}
			out["note purchase by a markdown name"] = ms
			// A long message: the admin's many fields and a wide table.
			long := commands.Message{Title: strings.Repeat("T", 300), Text: strings.Repeat("x ", 3000),
				Table: &commands.Table{Columns: []string{"a", "b"}}}
			for i := 0; i < 40; i++ {
				long.Fields = append(long.Fields, commands.Field{Label: strings.Repeat("l", 300), Value: strings.Repeat("v", 2000)})
				long.Table.Rows = append(long.Table.Rows, []string{strings.Repeat("c", 100), "```"})
				long.Buttons = append(long.Buttons, commands.Button{Label: strings.Repeat("b", 100), Command: "cancel " + strings.Repeat("s", 120)})
			}
			for _, m := range (renderer{a: a, ctx: ctx, org: testOrg}).messages([]commands.Message{long, long, {Text: strings.Repeat("y", 2500)}}) {
				checkMessage(t, "long", m)
			}
			defs := Commands(bot)
			checkCommands(t, defs)
			out["commands"] = defs

			ids := map[string]string{pm: "PM", token: "TOKEN", pm2.ID: "PM2", token2: "TOKEN2"}
			view, _ = st.View(ctx, testOrg, alice, store.ViewOptions{})
			for _, s := range view.Subs {
				ids[s.ID] = "SUB-" + s.ProductID
			}
			golden(t, filepath.Join("testdata", lang+".golden.json"), out, ids)
		})
	}
}

var keyRE = regexp.MustCompile(`"([fgrk]):[a-z2-7]{16}`)

func golden(t *testing.T, path string, v any, replace map[string]string) {
	t.Helper()
	doc, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	keys := make([]string, 0, len(replace))
	for k := range replace {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "" {
			s = strings.ReplaceAll(s, k, replace[k])
		}
	}
	s = keyRE.ReplaceAllString(s, `"$1:KEY`)
	// A form's quote is named by a digest of its values, the payment
	// method's random id among them.
	s = regexp.MustCompile(`("f:KEY:[a-z-]+:[^"|]*)\|[0-9a-f]{16}"`).ReplaceAllString(s, `$1|DIGEST"`)
	// So is a confirmation's id.
	s = regexp.MustCompile(`"c:confirm [a-z2-7]{16}`).ReplaceAllString(s, `"c:confirm CONFIRMATION`)
	s = regexp.MustCompile(`/pay/[a-z2-7]+`).ReplaceAllString(s, "/pay/TOKEN")
	// Invoice links are signed with a random key per run.
	s = regexp.MustCompile(`/invoices/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.pdf`).ReplaceAllString(s, "/invoices/TOKEN.pdf")
	s = regexp.MustCompile(`\b(\d{8})-[A-Z2-7]{8}\b`).ReplaceAllString(s, "$1-INVOICE")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if strings.TrimSpace(string(want)) != s {
		_ = os.WriteFile(filepath.Join(t.TempDir(), "got.json"), []byte(s), 0o644)
		if d := os.Getenv("DISCORD_GOLDEN_GOT"); d != "" {
			_ = os.WriteFile(d, []byte(s+"\n"), 0o644)
		}
		t.Errorf("%s differs from what the adapter renders now; run go test ./bot/discord/ -run TestLimits -update and review the diff", path)
	}
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func checkMessage(t *testing.T, name string, m *outMessage) {
	t.Helper()
	if runes(m.Content) > maxContent {
		t.Errorf("%s: content of %d characters", name, runes(m.Content))
	}
	if m.Content == "" && len(m.Embeds) == 0 {
		t.Errorf("%s: empty message", name)
	}
	if len(m.Embeds) > maxEmbeds {
		t.Errorf("%s: %d embeds", name, len(m.Embeds))
	}
	total := 0
	for _, e := range m.Embeds {
		total += e.size()
		if runes(e.Title) > maxEmbedTitle || runes(e.Description) > maxEmbedDesc || len(e.Fields) > maxEmbedFields {
			t.Errorf("%s: embed over its limits: title %d, description %d, %d fields", name, runes(e.Title), runes(e.Description), len(e.Fields))
		}
		for _, f := range e.Fields {
			if runes(f.Name) > maxFieldName || runes(f.Value) > maxFieldValue || f.Name == "" || f.Value == "" {
				t.Errorf("%s: field %d/%d characters", name, runes(f.Name), runes(f.Value))
			}
		}
	}
	if total > maxEmbedTotal {
		t.Errorf("%s: embeds of %d characters", name, total)
	}
	if len(m.Components) > maxRows {
		t.Errorf("%s: %d rows", name, len(m.Components))
	}
	ids := map[string]bool{}
	for _, row := range m.Components {
		if len(row.Components) > maxRowButtons || len(row.Components) == 0 {
			t.Errorf("%s: row of %d buttons", name, len(row.Components))
		}
		for _, b := range row.Components {
			if n := runes(b.Label); n == 0 || n > maxButtonLabel {
				t.Errorf("%s: button label of %d characters", name, n)
			}
			if (b.URL == "") == (b.CustomID == "") || len(b.CustomID) > maxCustomID || len(b.URL) > maxButtonURL || ids[b.CustomID] && b.CustomID != "" {
				t.Errorf("%s: button custom id %q, url %q", name, b.CustomID, b.URL)
			}
			ids[b.CustomID] = true
		}
	}
}

func checkModal(t *testing.T, name string, m *modal) {
	t.Helper()
	if n := runes(m.Title); n == 0 || n > maxModalTitle {
		t.Errorf("%s: modal title of %d characters", name, n)
	}
	if n := len(m.Components); n == 0 || n > maxModalTop {
		t.Errorf("%s: %d top-level components", name, n)
	}
	if len(m.CustomID) > maxCustomID {
		t.Errorf("%s: custom id of %d bytes", name, len(m.CustomID))
	}
	for _, c := range m.Components {
		switch c := c.(type) {
		case textDisplay:
			if n := runes(c.Content); n == 0 || n > maxTextDisplay {
				t.Errorf("%s: text display of %d characters", name, n)
			}
		case label:
			if n := runes(c.Label); n == 0 || n > maxLabel || runes(c.Description) > maxLabelDesc {
				t.Errorf("%s: label %q (%d) description of %d", name, c.Label, n, runes(c.Description))
			}
			switch in := c.Component.(type) {
			case textInput:
				if in.MaxLength > maxTextInput || in.MinLength > in.MaxLength || runes(in.Value) > in.MaxLength ||
					runes(in.Placeholder) > 100 || len(in.CustomID) > maxCustomID {
					t.Errorf("%s: text input %+v", name, in)
				}
			case selectMenu:
				if len(in.CustomID) > maxCustomID || in.MinValues > in.MaxValues || in.MaxValues < 1 {
					t.Errorf("%s: select %q min %d max %d", name, in.CustomID, in.MinValues, in.MaxValues)
				}
				if in.Type == ctStringSelect {
					if n := len(in.Options); n == 0 || n > maxOptions || in.MaxValues > n {
						t.Errorf("%s: select %q with %d options, max %d", name, in.CustomID, n, in.MaxValues)
					}
					for _, o := range in.Options {
						if n := runes(o.Label); n == 0 || n > maxOptionText || runes(o.Value) > maxOptionText {
							t.Errorf("%s: option %q", name, o.Label)
						}
					}
				} else if in.MaxValues > maxUserSelect {
					t.Errorf("%s: user select of %d", name, in.MaxValues)
				}
			default:
				t.Errorf("%s: unknown component in a label: %T", name, in)
			}
		default:
			t.Errorf("%s: unknown top-level component %T", name, c)
		}
	}
}

// TestManyInvoices: a list of more invoices than fit on a page keeps the
// range buttons and the one to the next page in their row and gives the
// page's invoices a download button each in the four rows left, and says
// which page it is.
func TestManyInvoices(t *testing.T) {
	e := newEnv(t)
	bottest.Invoices(t, e.bot, e.st, testOrg, alice, 25)
	for _, tt := range []struct {
		locale, more string
	}{
		{"en-US", "Page 1 of 2 (25 in all)"},
		{"de", "Seite 1 von 2 (insgesamt 25)"},
	} {
		t.Run(tt.locale, func(t *testing.T) {
			resp, err := e.bot.Handle(t.Context(), commands.Request{Org: testOrg, User: commands.Member{ID: alice, Name: "Alice"},
				Locale: tt.locale, Text: "invoices", IdempotencyKey: "many-" + tt.locale})
			if err != nil {
				t.Fatal(err)
			}
			ms := renderer{a: e.a, ctx: t.Context(), org: testOrg}.messages(resp.Messages)
			if len(ms) != 1 {
				t.Fatalf("%d messages, want 1", len(ms))
			}
			m := ms[0]
			checkMessage(t, "invoices", m)
			if !strings.Contains(m.Embeds[0].Description, tt.more) {
				t.Errorf("the list does not say which page it shows:\n%s", m.Embeds[0].Description)
			}
			if len(m.Components) != maxRows {
				t.Fatalf("%d rows, want %d", len(m.Components), maxRows)
			}
			if first := m.Components[0].Components; len(first) != 4 || first[0].URL != "" || first[3].CustomID != "b:invoices 3m page 2" {
				t.Errorf("first row %+v, want the three range buttons and the next page's", first)
			}
			links := 0
			for _, row := range m.Components[1:] {
				for _, b := range row.Components {
					if b.Style == styleLink && strings.HasPrefix(b.Label, "PDF ") && strings.Contains(b.URL, commands.InvoicePath) {
						links++
					}
				}
			}
			if links != 20 {
				t.Errorf("%d download buttons, want 20", links)
			}
		})
	}
}

// TestButtonRows: buttons fill rows of five; one marked NewRow starts a
// row; what does not fit in five rows, and a link too long for Discord,
// is left out.
func TestButtonRows(t *testing.T) {
	cmd := func(n int) commands.Button {
		return commands.Button{Label: fmt.Sprint(n), Command: fmt.Sprint("help ", n)}
	}
	link := func(n int, newRow bool) commands.Button {
		return commands.Button{Label: fmt.Sprint(n), URL: fmt.Sprint("https://billing.example/", n), NewRow: newRow}
	}
	tests := []struct {
		name string
		bs   []commands.Button
		want string // labels, rows separated by "|"
	}{
		{"rows of five", []commands.Button{cmd(1), cmd(2), cmd(3), cmd(4), cmd(5), cmd(6)}, "1 2 3 4 5|6"},
		{"new row", []commands.Button{cmd(1), cmd(2), link(3, true), link(4, false)}, "1 2|3 4"},
		{"new row first", []commands.Button{link(1, true), cmd(2)}, "1 2"},
		{"new row after a full row", []commands.Button{cmd(1), cmd(2), cmd(3), cmd(4), cmd(5), link(6, true)}, "1 2 3 4 5|6"},
		{"five rows at most", func() []commands.Button {
			bs := []commands.Button{cmd(1), cmd(2), cmd(3)}
			for i := 4; i <= 30; i++ {
				bs = append(bs, link(i, i == 4))
			}
			return bs
		}(), "1 2 3|4 5 6 7 8|9 10 11 12 13|14 15 16 17 18|19 20 21 22 23"},
		{"link too long", []commands.Button{cmd(1), {Label: "2", URL: "https://billing.example/" + strings.Repeat("x", 500)}, link(3, false)}, "1 3"},
	}
	r := renderer{a: newEnv(t).a, ctx: t.Context(), org: testOrg}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rows []string
			for _, row := range r.buttons(tt.bs) {
				var labels []string
				for _, b := range row.Components {
					labels = append(labels, b.Label)
				}
				rows = append(rows, strings.Join(labels, " "))
			}
			if got := strings.Join(rows, "|"); got != tt.want {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
}
