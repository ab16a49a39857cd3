package slack

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/bot/internal/bottest"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// people is a fixed directory for driving the core directly; the people
// whose ids start with "UA" administer the workspace.
type people map[string]commands.Member

func (p people) Admins(context.Context) ([]commands.Member, error) {
	var out []commands.Member
	for id, m := range p {
		if strings.HasPrefix(id, "UA") {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b commands.Member) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (p people) Member(_ context.Context, ref string) (commands.Member, error) {
	if m, ok := p[userRef(ref)]; ok {
		return m, nil
	}
	return commands.Member{}, commands.ErrNoMember
}

// TestGoldenLimits renders every form of the core and representative
// messages, notifications and the App Home, in English and German, checks
// them against Block Kit's limits and compares them with
// testdata/<lang>.golden.json (go test -run TestGoldenLimits -update).
func TestGoldenLimits(t *testing.T) {
	for _, lang := range []string{"en", "de"} {
		t.Run(lang, func(t *testing.T) {
			e := newEnv(t)
			rendered := e.renderAll(t, lang)
			names := make([]string, 0, len(rendered))
			for name, v := range rendered {
				if posts, ok := v.([]post); ok {
					rendered[name] = webhooks(posts) // as sent
				}
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				checkLimits(t, name, rendered[name])
			}
			doc, err := json.MarshalIndent(rendered, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			doc = e.normalize(t, doc)
			path := filepath.Join("testdata", lang+".golden.json")
			if *update {
				if err := os.WriteFile(path, doc, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if string(want) != string(doc) {
				t.Errorf("%s differs from the rendering; run go test ./bot/slack -run TestGoldenLimits -update and review the diff", path)
			}
		})
	}
}

// renderAll drives the core through every form and the common messages.
func (e *env) renderAll(t *testing.T, lang string) map[string]any {
	ctx := context.Background()
	locale := map[string]string{"en": "en-US", "de": "de-DE"}[lang]
	dir := people{"U1": {ID: "U1", Name: "Alice"}, "U2": {ID: "U2", Name: "Bob"}, "U3": {ID: "U3", Name: "Dora"},
		"UA1": {ID: "UA1", Name: "Ada Admin"}}
	out := map[string]any{}
	handle := func(text string, form *commands.Submission) commands.Response {
		t.Helper()
		req := commands.Request{Org: testOrg, User: dir["U1"], Locale: locale, Admin: true, Members: dir, Text: text, Form: form,
			IdempotencyKey: fmt.Sprintf("k-%d", len(out))}
		resp, err := e.bot.Handle(ctx, req)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if resp.Lang != lang {
			t.Fatalf("%q answered in %q, want %q", text, resp.Lang, lang)
		}
		return resp
	}
	meta := metadata{Channel: "C100", ResponseURL: "https://hooks.slack.com/commands/T1/1234567890/abcdefghijklmnopqrstuvwx"}
	form := func(name, text string) *commands.Form {
		t.Helper()
		resp := handle(text, nil)
		if resp.Form == nil {
			t.Fatalf("%q opened no form: %+v", text, resp.Messages)
		}
		out["form "+name] = e.a.modal(resp.Form, meta, lang)
		return resp.Form
	}
	msgs := func(name, text string, sub *commands.Submission) commands.Response {
		t.Helper()
		resp := handle(text, sub)
		if len(resp.FieldErrors) > 0 {
			t.Fatalf("%s: field errors %v", name, resp.FieldErrors)
		}
		out["messages "+name] = messagePosts(resp.Messages, maxMessageBlocks)
		return resp
	}

	msgs("help", "help", nil)
	msgs("catalog", "catalog", nil)
	form("buy, no product", "buy")
	e.addCard("U1")
	buy := form("buy", "buy visio 5")
	var method string
	for _, in := range buy.Inputs {
		if in.ID == "method" {
			method = in.Options[0].Value
		}
	}
	// A draft: the user changed the product and the period in the modal.
	draft := handle("", &commands.Submission{FormID: buy.ID, Context: buy.Context, Draft: true, Values: map[string][]string{
		"product": {"project-plan-3"}, "licenses": {"5"}, "period": {"annual"}, "method": {method}}})
	if draft.Form == nil {
		t.Fatalf("draft answered no form: %+v", draft.Messages)
	}
	out["form buy, drafted"] = e.a.modal(draft.Form, meta, lang)
	// Submitted as Slack submits it: the modal shows the form as the core
	// answered it (Live), and this one is unchanged.
	msgs("bought", "", &commands.Submission{FormID: buy.ID, Context: buy.Context, Live: true, Values: map[string][]string{
		"product": {"visio-plan-2"}, "licenses": {"5"}, "period": {"monthly"}, "method": {method}}})
	if _, err := e.bot.RunDue(ctx); err != nil { // the purchase's charge
		t.Fatal(err)
	}
	form("trial", "trial project-plan-3")
	form("licenses", "licenses visio")
	assign := form("assign", "assign visio")
	msgs("assigned", "", &commands.Submission{FormID: assign.ID, Context: assign.Context, Values: map[string][]string{
		"subscription": {assign.Context}, "users": {"U2", "U3"}}})
	form("unassign", "unassign visio")
	form("cancel", "cancel visio")
	rangeForm := form("invoices", "invoices range")
	msgs("invoices", "invoices", nil)
	answer := handle("", &commands.Submission{FormID: rangeForm.ID, Values: map[string][]string{"range": {"6m"}}})
	out["modal invoices"] = e.a.resultModal(answer, rangeForm.Title, meta)
	pay := msgs("payment", "payment", nil)
	for _, m := range pay.Messages {
		for _, b := range m.Buttons {
			if strings.HasPrefix(b.Command, "payment edit ") {
				form("payment", b.Command)
			}
			if strings.HasPrefix(b.Command, "payment remove ") {
				msgs("payment remove", b.Command, nil) // the only method, paying a subscription: refused
				e.addSecondCard("U1")
				form("payment remove", b.Command)
			}
		}
	}
	msgs("products", "products", nil)
	msgs("admin", "admin", nil)
	msgs("admin policy", "admin policy", nil)
	msgs("support", "support", nil)
	msgs("unknown command", "frobnicate", nil)

	for _, kind := range []commands.NotificationKind{commands.NotePurchase, commands.NoteTrial, commands.NoteConversion,
		commands.NoteLicenses, commands.NoteCancel, commands.NoteExpiry, commands.NoteReminder, commands.NotePaymentFailed} {
		n := commands.Notification{Org: testOrg, Kind: kind, Sub: commands.NotifiedSub{ProductID: "visio-plan-2",
			Product: "Visio Plan 2", Purchaser: "Alice", Licenses: 5, Before: 3, Price: 6300, Currency: "EUR",
			Period: "monthly", Expires: t0.AddDate(0, 1, 0), Reason: "too_expensive", Invoice: "20261125-ABC"}}
		if kind == commands.NoteReminder {
			// A reminder goes to the trial's purchaser, with what they
			// can do about it.
			n.To, n.Sub.ID = "U1", "SUBTRIAL"
		}
		out["notification "+string(kind)] = messagePosts([]commands.Message{e.bot.RenderNotification(n, lang)}, maxMessageBlocks)
	}

	req := commands.Request{Org: testOrg, User: dir["U1"], Locale: locale, Admin: true, Members: dir}
	products := handle("products", nil)
	out["home"] = e.a.homeView(req, products, func() commands.Response { return handle("admin", nil) })

	// A message beyond every limit, and a result modal with field errors.
	long := commands.Message{Title: strings.Repeat("Title <&> ", 30), Text: strings.Repeat("Line with <tags> & ampersands.\n", 300),
		Table: &commands.Table{Columns: []string{"A", "B"}}}
	for i := range 40 {
		long.Fields = append(long.Fields, commands.Field{Label: fmt.Sprintf("Field %d", i), Value: strings.Repeat("v&", 1500)})
		long.Buttons = append(long.Buttons, commands.Button{Label: strings.Repeat("Button ", 20), Command: fmt.Sprintf("help %d", i)})
	}
	for i := range 300 {
		long.Table.Rows = append(long.Table.Rows, []string{fmt.Sprintf("row %d <x>", i), strings.Repeat("cell ", 30)})
	}
	out["messages oversized"] = messagePosts([]commands.Message{long}, maxMessageBlocks)
	out["modal result"] = e.a.resultModal(commands.Response{Lang: lang, FieldErrors: map[string]string{"licenses": strings.Repeat("x", 5000)}},
		"billingbot", meta)
	out["modal working"] = messageModal(e.bot.Text(lang, "SlackWorkingTitle"), e.bot.Text(lang, "BtnClose"),
		[]commands.Message{{Text: e.bot.Text(lang, "SlackWorking")}}, metadata{})
	return out
}

// webhooks are posts as they are sent.
func webhooks(posts []post) []*slackapi.WebhookMessage {
	out := make([]*slackapi.WebhookMessage, len(posts))
	for i, p := range posts {
		out[i] = p.webhook()
	}
	return out
}

// normalize replaces the random ids of a run (subscriptions, invoices,
// payment methods) with stable names.
func (e *env) normalize(t *testing.T, doc []byte) []byte {
	v, err := e.st.View(context.Background(), testOrg, "U1", store.ViewOptions{All: true, InvoicesTo: time.Now().AddDate(10, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	for i, sub := range v.Subs {
		s = strings.ReplaceAll(s, sub.ID, fmt.Sprintf("SUB%d", i))
	}
	for i, inv := range v.Invoices {
		s = strings.ReplaceAll(s, inv.ID, fmt.Sprintf("INVOICE%d", i))
	}
	for _, acc := range v.Billing.Accounts {
		for _, p := range acc.Profiles {
			for i, m := range p.Methods {
				s = strings.ReplaceAll(s, m.ID, fmt.Sprintf("METHOD%d", i))
			}
		}
	}
	// Invoice links are signed with a random key per run.
	s = invoiceLinkRE.ReplaceAllString(s, "/invoices/TOKEN.pdf")
	// A form's preview is named by a digest of what it depends on, the
	// payment method's random id among it.
	s = digestRE.ReplaceAllString(s, "${1}DIGEST")
	return []byte(s)
}

var (
	invoiceLinkRE = regexp.MustCompile(`/invoices/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.pdf`)
	digestRE      = regexp.MustCompile(`(\\"c\\":\\"[^"\\]*\|)[0-9a-f]{16}`)
)

// checkLimits walks a rendered view or list of posts and reports what
// breaks Block Kit's limits.
func checkLimits(t *testing.T, name string, v any) {
	t.Helper()
	doc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	json.Unmarshal(doc, &tree)
	errorf := func(format string, args ...any) { t.Errorf(name+": "+format, args...) }
	n := func(x any) int { s, _ := x.(string); return utf8.RuneCountInString(s) }
	text := func(x any) string {
		m, _ := x.(map[string]any)
		s, _ := m["text"].(string)
		return s
	}
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case []any:
			for i, y := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), y)
			}
		case map[string]any:
			for _, k := range []string{"block_id", "action_id", "callback_id"} {
				if n(x[k]) > maxID {
					errorf("%s.%s: %d characters", path, k, n(x[k]))
				}
			}
			switch x["type"] {
			case "modal", "home":
				for _, k := range []string{"title", "submit", "close"} {
					if l := utf8.RuneCountInString(text(x[k])); l > maxViewTitle {
						errorf("%s.%s %q: %d characters > 24", path, k, text(x[k]), l)
					}
				}
				if b, _ := x["blocks"].([]any); len(b) > maxViewBlocks {
					errorf("%s: %d blocks > 100", path, len(b))
				}
				if n(x["private_metadata"]) > maxMetadata {
					errorf("%s: private_metadata too long", path)
				}
			case "header":
				if l := utf8.RuneCountInString(text(x["text"])); l > maxHeader {
					errorf("%s: header %d > 150", path, l)
				}
			case "section":
				if l := utf8.RuneCountInString(text(x["text"])); l > maxSectionText {
					errorf("%s: section text %d > 3000", path, l)
				}
				f, _ := x["fields"].([]any)
				if len(f) > maxFields {
					errorf("%s: %d fields > 10", path, len(f))
				}
				for _, fi := range f {
					if l := utf8.RuneCountInString(text(fi)); l > maxFieldText {
						errorf("%s: field %d > 2000", path, l)
					}
				}
			case "actions":
				if el, _ := x["elements"].([]any); len(el) > maxActions {
					errorf("%s: %d elements > 25", path, len(el))
				}
			case "button":
				if l := utf8.RuneCountInString(text(x["text"])); l > maxButtonText {
					errorf("%s: button text %d > 75", path, l)
				}
				if n(x["value"]) > maxButtonValue {
					errorf("%s: button value too long", path)
				}
			case "input":
				if l := utf8.RuneCountInString(text(x["label"])); l > maxLabel {
					errorf("%s: label %d", path, l)
				}
				if l := utf8.RuneCountInString(text(x["hint"])); l > maxLabel {
					errorf("%s: hint %d", path, l)
				}
			case "checkboxes":
				if o, _ := x["options"].([]any); len(o) > maxCheckboxes {
					errorf("%s: %d checkboxes", path, len(o))
				}
			}
			if p := text(x["placeholder"]); utf8.RuneCountInString(p) > maxPlaceholder {
				errorf("%s: placeholder %d", path, utf8.RuneCountInString(p))
			}
			if o, ok := x["options"].([]any); ok {
				if len(o) > maxOptions {
					errorf("%s: %d options > 100", path, len(o))
				}
				for _, oi := range o {
					om, _ := oi.(map[string]any)
					if l := utf8.RuneCountInString(text(om["text"])); l > maxOptionText {
						errorf("%s: option text %q %d > 75", path, text(om["text"]), l)
					}
					if n(om["value"]) > maxOptionValue {
						errorf("%s: option value too long", path)
					}
				}
			}
			if b, ok := x["blocks"].([]any); ok && x["type"] == nil && len(b) > maxMessageBlocks {
				errorf("%s: message of %d blocks > 50", path, len(b))
			}
			for k, y := range x {
				walk(path+"."+k, y)
			}
		}
	}
	walk("", tree)
}

// The renderers' output is what slack-go sends: check a post marshals as
// a webhook message with its blocks.
var _ = slackapi.WebhookMessage{}

// TestManyInvoices: a list of more invoices than fit on a page stays
// within Block Kit's limits as a message and in the range form's modal:
// the range buttons and the one to the next page, then the page's download
// buttons in an actions block of their own, and which page it is.
func TestManyInvoices(t *testing.T) {
	e := newEnv(t)
	bottest.Invoices(t, e.bot, e.st, testOrg, "U1", 25)
	for _, tt := range []struct {
		locale, more string
	}{
		{"en-US", "Page 1 of 2 (25 in all)"},
		{"de-DE", "Seite 1 von 2 (insgesamt 25)"},
	} {
		t.Run(tt.locale, func(t *testing.T) {
			resp, err := e.bot.Handle(context.Background(), commands.Request{Org: testOrg, User: commands.Member{ID: "U1", Name: "Alice"},
				Locale: tt.locale, Form: &commands.Submission{FormID: commands.FormInvoices, Values: map[string][]string{"range": {"3m"}}},
				IdempotencyKey: "many-" + tt.locale})
			if err != nil {
				t.Fatal(err)
			}
			posts := messagePosts(resp.Messages, maxMessageBlocks)
			modal := e.a.resultModal(resp, "Invoices", metadata{Channel: "C1"})
			checkLimits(t, "message", webhooks(posts))
			checkLimits(t, "modal", modal)
			for name, blocks := range map[string][]slackapi.Block{"message": posts[0].blocks, "modal": modal.Blocks.BlockSet} {
				var actions []*slackapi.ActionBlock
				text := ""
				for _, b := range blocks {
					switch b := b.(type) {
					case *slackapi.ActionBlock:
						actions = append(actions, b)
					case *slackapi.SectionBlock:
						if b.Text != nil {
							text += b.Text.Text + "\n"
						}
					}
				}
				if !strings.Contains(text, tt.more) {
					t.Errorf("%s: does not say which page it shows:\n%s", name, text)
				}
				if len(actions) != 2 {
					t.Fatalf("%s: %d actions blocks, want 2 (ranges, downloads)", name, len(actions))
				}
				if n := len(actions[0].Elements.ElementSet); n != 4 {
					t.Errorf("%s: %d range and page buttons, want 4", name, n)
				}
				links := 0
				for _, el := range actions[1].Elements.ElementSet {
					if b, ok := el.(*slackapi.ButtonBlockElement); ok && strings.Contains(b.URL, commands.InvoicePath) && strings.HasPrefix(b.Text.Text, "PDF ") {
						links++
					}
				}
				if links != 20 {
					t.Errorf("%s: %d download buttons, want 20", name, links)
				}
			}
		})
	}
}
