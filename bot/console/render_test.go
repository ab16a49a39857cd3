package console

import (
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
)

func TestRenderMessage(t *testing.T) {
	tests := []struct {
		name string
		msgs []commands.Message
		want string
	}{
		{
			name: "title, text and fields",
			msgs: []commands.Message{{Title: "Zahlung", Text: "Intro", Fields: []commands.Field{
				{Label: "Methode", Value: "Visa •••• 4242\nAlice Adams\nDemo Street 1"},
				{Label: "Status", Value: "aktiv"},
			}}},
			want: "Zahlung\n=======\nIntro\n" +
				"Methode: Visa •••• 4242\n" +
				"         Alice Adams\n" +
				"         Demo Street 1\n" +
				"Status: aktiv\n",
		},
		{
			name: "table padded by runes",
			msgs: []commands.Message{{Table: &commands.Table{
				Columns: []string{"Produkt", "Preis"},
				Rows:    [][]string{{"Visio Plan 2", "12,60 €"}, {"Ü", "1.234,56 €"}, {"short"}},
			}}},
			want: "Produkt       Preis\n" +
				"------------  ----------\n" +
				"Visio Plan 2  12,60 €\n" +
				"Ü             1.234,56 €\n" +
				"short\n",
		},
		{
			name: "buttons numbered across messages",
			msgs: []commands.Message{
				{Text: "one", Buttons: []commands.Button{{Label: "Assign licenses", Command: "assign abc"}, {Label: "Invoices", Command: "invoices"}}},
				{Text: "two", Buttons: []commands.Button{{Label: "Open payment page", URL: "https://pay.example/x"}}},
			},
			want: "one\n\n" +
				"[1] Assign licenses → /billing assign abc\n" +
				"[2] Invoices        → /billing invoices\n" +
				"\n" +
				"two\n\n" +
				"[3] Open payment page → https://pay.example/x\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			renderResponse(&b, tt.msgs)
			if got := b.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestRenderNotification(t *testing.T) {
	var b strings.Builder
	renderNotification(&b, commands.Notification{Kind: commands.NotePurchase},
		commands.Message{Title: "New self-service purchase", Text: "Alice bought 5.", Fields: []commands.Field{{Label: "Licenses", Value: "5"}}})
	want := "[admin notification] New self-service purchase\n  Alice bought 5.\n  Licenses: 5\n"
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	b.Reset()
	renderNotification(&b, commands.Notification{To: "alice", Kind: commands.NoteReminder},
		commands.Message{Title: "Your trial ends soon", Buttons: []commands.Button{{Label: "Buy", Command: "buy visio"}}})
	want = "[notification to @alice] Your trial ends soon\n  - Buy → /billing buy visio\n"
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestSplitRefs(t *testing.T) {
	known := map[string]string{"alice": "alice", "bob": "bob", "alice adams": "alice", "1": "one"}
	resolve := func(s string) (string, bool) { v, ok := known[strings.ToLower(s)]; return v, ok }
	tests := []struct {
		in        string
		vals, bad string
	}{
		{"alice, bob", "alice bob", ""},
		{"Alice Adams", "alice", ""},
		{"alice bob", "alice bob", ""},
		{"alice, alice adams", "alice", ""},
		{"alice nobody, bob", "bob", "alice nobody"},
		{" , 1 ,", "one", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			vals, bad := splitRefs(tt.in, resolve)
			if got := strings.Join(vals, " "); got != tt.vals {
				t.Errorf("vals = %q, want %q", got, tt.vals)
			}
			if got := strings.Join(bad, " "); got != tt.bad {
				t.Errorf("bad = %q, want %q", got, tt.bad)
			}
		})
	}
}
