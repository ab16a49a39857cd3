package commands_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// invoiceEnv is alice with invoices dated Jan 15, Jun 10, Sep 1, Nov 20
// and Nov 25, 2026 (today), for annual subscriptions (no renewals yet),
// each charged.
func invoiceEnv(t *testing.T) *env {
	e := newEnv(t)
	e.clock.Set(time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC))
	e.buyer(alice)
	for _, b := range []struct {
		date    time.Time
		product string
	}{
		{time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC), "tiny"},
		{time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC), "project-plan-1"},
		{time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC), "project-plan-3"},
		{time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), "teams-premium"},
		{t0, "visio-plan-2"},
	} {
		e.clock.Set(b.date)
		e.send(alice, e.buyForm(alice, b.product, 1, store.Annual))
		e.charge()
	}
	return e
}

// rows are the invoice table of a response.
func rows(t *testing.T, r commands.Response) [][]string {
	t.Helper()
	if len(r.Messages) != 1 {
		t.Fatalf("want one message; got:\n%s", text(r))
	}
	if r.Messages[0].Table == nil {
		return nil
	}
	return r.Messages[0].Table.Rows
}

// products lists the first column's products of invoice rows.
func products(rows [][]string) string {
	var out []string
	for _, row := range rows {
		out = append(out, row[2])
	}
	return strings.Join(out, "; ")
}

// TestInvoices lists invoices by date range from the command line.
func TestInvoices(t *testing.T) {
	e := invoiceEnv(t)
	tests := []struct {
		as    who
		line  string
		title string
		want  string // products of the rows, newest first
	}{
		{alice, "invoices", "Invoices: Last 3 months", "Visio Plan 2 × 1 license; Teams Premium × 1 license; Project Plan 3 × 1 license"},
		{alice, "invoices 3m", "Invoices: Last 3 months", "Visio Plan 2 × 1 license; Teams Premium × 1 license; Project Plan 3 × 1 license"},
		{alice, "invoices 6m", "Invoices: Last 6 months",
			"Visio Plan 2 × 1 license; Teams Premium × 1 license; Project Plan 3 × 1 license; Project Plan 1 × 1 license"},
		{alice, "invoices 2026-01-01 2026-06-30", "Invoices: Jan 1, 2026 to Jun 30, 2026", "Project Plan 1 × 1 license; Tiny Tool × 1 license"},
		{alice.de(), "rechnungen 01.01.2026 30.06.2026", "Rechnungen: 01.01.2026 bis 30.06.2026", "Project Plan 1 × 1 Lizenz; Tiny Tool × 1 Lizenz"},
		{alice.de(), "rechnungen", "Rechnungen: Die letzten 3 Monate", "Visio Plan 2 × 1 Lizenz; Teams Premium × 1 Lizenz; Project Plan 3 × 1 Lizenz"},
		{alice, "invoices 2026-06-10 2026-06-10", "Invoices: Jun 10, 2026 to Jun 10, 2026", "Project Plan 1 × 1 license"},
		{alice, "invoices 2024-11-25 2026-11-25", "Invoices: Nov 25, 2024 to Nov 25, 2026",
			"Visio Plan 2 × 1 license; Teams Premium × 1 license; Project Plan 3 × 1 license; Project Plan 1 × 1 license; Tiny Tool × 1 license"},
		{bob, "invoices 6m", "Invoices: Last 6 months", ""},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantMessage(t, r, tt.title)
			if got := products(rows(t, r)); got != tt.want {
				t.Errorf("invoices %q,\nwant     %q", got, tt.want)
			}
		})
	}
	t.Run("row", func(t *testing.T) {
		r := e.at(t).run(alice.de(), "rechnungen")
		row := rows(t, r)[0]
		inv := e.invoices(alice)[0]
		want := []string{"25.11.2026", inv.ID, "Visio Plan 2 × 1 Lizenz", "151,20 €", "bezahlt"}
		if strings.Join(row, "|") != strings.Join(want, "|") {
			t.Errorf("row %q, want %q", row, want)
		}
		wantText(t, e.at(t).run(alice, "invoices"), "Nov 25, 2026 | "+inv.ID+" | Visio Plan 2 × 1 license | €151.20 | paid")
	})
}

// TestNoInvoicesSuggestsAnotherRange: with no invoices in the range shown,
// the answer suggests a longer one where there is one, and never the range
// it shows (in its text or its buttons).
func TestNoInvoicesSuggestsAnotherRange(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as            who
		line          string
		text, buttons string
	}{
		{bob, "invoices", "No invoices in this period. Try the last 6 months or specify a date range.",
			"Last 6 months → invoices 6m; Specify a date range → invoices range"},
		{bob, "invoices 6m", "No invoices in this period. To look further back, specify a date range of up to 24 months.",
			"Last 3 months → invoices 3m; Specify a date range → invoices range"},
		{bob.de(), "rechnungen 6m", "Keine Rechnungen in diesem Zeitraum. Um weiter zurückzublicken, geben Sie einen Datumsbereich von bis zu 24 Monaten an.",
			"Die letzten 3 Monate → invoices 3m; Datumsbereich angeben → invoices range"},
		{bob, "invoices 2026-01-01 2026-06-30", "No invoices in this period. Try another date range.",
			"Last 3 months → invoices 3m; Last 6 months → invoices 6m; Specify a date range → invoices range"},
		{bob.de(), "rechnungen 01.01.2026 30.06.2026", "Keine Rechnungen in diesem Zeitraum. Versuchen Sie einen anderen Datumsbereich.", ""},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			if len(r.Messages) != 1 || r.Messages[0].Text != tt.text {
				t.Fatalf("no invoices:\n%s\nwant %q", text(r), tt.text)
			}
			if got := buttons(r.Messages[0]); tt.buttons != "" && got != tt.buttons {
				t.Errorf("buttons %s\nwant    %s", got, tt.buttons)
			}
		})
	}
}

// TestInvoicesRefused: a broken range is a message with a button to the
// range form, in the user's language.
func TestInvoicesRefused(t *testing.T) {
	e := invoiceEnv(t)
	for _, tt := range []struct {
		as   who
		line string
		want string
	}{
		{alice, "invoices 2026-06-30 2026-01-01", "The end date cannot be before the start date."},
		{alice.de(), "rechnungen 30.06.2026 01.01.2026", "Das Enddatum darf nicht vor dem Startdatum liegen."},
		{alice, "invoices 2024-01-01 2026-06-30", "A date range can span at most 24 months."},
		{alice.de(), "rechnungen 01.01.2024 30.06.2026", "Ein Datumsbereich darf höchstens 24 Monate umfassen."},
		{alice, "invoices 2026-11-26 2026-12-31", "The start date cannot be in the future."},
		{alice.de(), "rechnungen 01.12.2026 31.12.2026", "Das Startdatum darf nicht in der Zukunft liegen."},
		{alice, "invoices 2026-02-30 2026-03-31", "“2026-02-30” is not a date."},
		{alice, "invoices 2026-01-01 2026-02-30", "“2026-02-30” is not a date."},
		{alice.de(), "rechnungen 30.02.2026 31.03.2026", "„30.02.2026“ ist kein Datum."},
		{alice, "invoices junk", "Use 3m, 6m or two dates."},
		{alice, "invoices 12m", "Use 3m, 6m or two dates."},
		{alice, "invoices foo bar", "“foo” is not a date."},
		{alice, "invoices 2026-01-01 2026-02-01 2026-03-01", "Use 3m, 6m or two dates."},
		{alice.de(), "rechnungen quatsch", "Verwenden Sie 3m, 6m oder zwei Datumsangaben."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantMessage(t, r, tt.want)
			if rows(t, r) != nil {
				t.Errorf("a refused range lists invoices:\n%s", text(r))
			}
			if len(r.Messages[0].Buttons) != 1 || r.Messages[0].Buttons[0].Command != "invoices range" {
				t.Errorf("buttons %+v, want one to the range form", r.Messages[0].Buttons)
			}
		})
	}
}

func rangeForm(kv ...string) *commands.Submission { return form(commands.FormInvoices, "", kv...) }

// TestInvoicesRangeForm: the range form and each error on its field.
func TestInvoicesRangeForm(t *testing.T) {
	e := invoiceEnv(t)
	for _, line := range []string{"invoices range", "rechnungen zeitraum", "invoices RANGE"} {
		f := wantForm(t, e.run(alice, line), commands.FormInvoices)
		var opts []string
		for _, o := range input(t, f, "range").Options {
			opts = append(opts, o.Value)
		}
		if strings.Join(opts, ",") != "3m,6m,custom" || input(t, f, "from").Kind != commands.KindDate || input(t, f, "to").Kind != commands.KindDate {
			t.Errorf("%s: range form %+v", line, f.Inputs)
		}
	}
	wantText(t, e.run(alice.de(), "rechnungen zeitraum"), "Die letzten 3 Monate", "Letzte 6 Monate", "Datumsbereich angeben")

	t.Run("shows", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			as    who
			f     *commands.Submission
			title string
			count int
		}{
			{"3m", alice, rangeForm("range", "3m"), "Invoices: Last 3 months", 3},
			{"6m", alice, rangeForm("range", "6m"), "Invoices: Last 6 months", 4},
			{"custom", alice, rangeForm("range", "custom", "from", "2026-01-01", "to", "2026-06-30"), "Invoices: Jan 1, 2026 to Jun 30, 2026", 2},
			{"custom de", alice.de(), rangeForm("range", "custom", "from", "01.01.2026", "to", "30.06.2026"), "Rechnungen: 01.01.2026 bis 30.06.2026", 2},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := e.at(t).send(tt.as, tt.f)
				wantMessage(t, r, tt.title)
				if !r.Query {
					t.Error("the range form's answer is not marked a query")
				}
				if got := len(rows(t, r)); got != tt.count {
					t.Errorf("%d invoices, want %d", got, tt.count)
				}
			})
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			as    who
			f     *commands.Submission
			field string
			want  string
		}{
			{"no range", alice, rangeForm(), "range", "Choose a date range."},
			{"unknown range", alice, rangeForm("range", "12m"), "range", "Choose a date range."},
			{"unknown range de", alice.de(), rangeForm("range", "12m"), "range", "Wählen Sie einen Datumsbereich aus."},
			{"custom without from", alice, rangeForm("range", "custom", "to", "2026-06-30"), "from", "Enter a date for a custom range."},
			{"custom without to", alice, rangeForm("range", "custom", "from", "2026-06-30"), "to", "Enter a date for a custom range."},
			{"from after to", alice, rangeForm("range", "custom", "from", "2026-06-30", "to", "2026-01-01"), "to", "The end date cannot be before the start date."},
			{"from after to de", alice.de(), rangeForm("range", "custom", "from", "30.06.2026", "to", "01.01.2026"), "to", "Das Enddatum darf nicht vor dem Startdatum liegen."},
			{"over 24 months", alice, rangeForm("range", "custom", "from", "2024-01-01", "to", "2026-06-30"), "to", "at most 24 months"},
			{"future from", alice, rangeForm("range", "custom", "from", "2026-11-26", "to", "2026-12-31"), "from", "The start date cannot be in the future."},
			{"future from de", alice.de(), rangeForm("range", "custom", "from", "26.11.2026", "to", "31.12.2026"), "from", "Das Startdatum darf nicht in der Zukunft liegen."},
			{"from does not exist", alice, rangeForm("range", "custom", "from", "2026-02-30", "to", "2026-03-31"), "from", "“2026-02-30” is not a date."},
			{"to does not exist", alice, rangeForm("range", "custom", "from", "2026-01-01", "to", "2026-02-30"), "to", "“2026-02-30” is not a date."},
			{"junk", alice, rangeForm("range", "custom", "from", "yesterday", "to", "2026-02-01"), "from", "“yesterday” is not a date."},
			{"junk de", alice.de(), rangeForm("range", "custom", "from", "gestern", "to", "01.02.2026"), "from", "„gestern“ ist kein Datum."},
			{"control characters", alice, rangeForm("range", "custom", "from", "2026-01-01\x00", "to", "2026-02-01"), "from", "cannot be used here"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantFieldError(t, e.at(t).send(tt.as, tt.f), tt.field, tt.want)
			})
		}
	})
}

// TestInvoicesNewestFirst: many invoices are listed newest first.
func TestInvoicesNewestFirst(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 1)
	for n := 2; n <= 30; n++ { // one more license a day, until Dec 24
		e.clock.Add(0, 0, 1)
		wantText(t, e.send(alice, licensesForm(id, strconv.Itoa(n))), "They are added as soon as the payment has gone through")
		e.charge()
	}
	r := e.run(alice, "invoices")
	wantText(t, r, "30 invoices", "Page 1 of 2")
	rs := rows(t, r)
	next, ok := button(r.Messages[0], "Next ▶")
	if !ok {
		t.Fatalf("no button to the next page:\n%s", text(r))
	}
	rs = append(rs, rows(t, e.run(alice, next.Command))...)
	invs := e.invoices(alice)
	if len(rs) != 30 || len(invs) != 30 {
		t.Fatalf("%d rows, %d invoices; want 30", len(rs), len(invs))
	}
	for i := range rs {
		if rs[i][1] != invs[i].ID {
			t.Errorf("row %d is invoice %s, want %s", i, rs[i][1], invs[i].ID)
		}
		if i > 0 && !invs[i].Date.Before(invs[i-1].Date) {
			t.Errorf("invoice %d (%v) is not older than invoice %d (%v)", i, invs[i].Date, i-1, invs[i-1].Date)
		}
	}
	if got, want := rs[0][0], "Dec 24, 2026"; got != want {
		t.Errorf("newest row dated %s, want %s", got, want)
	}
	if got, want := rs[29][0], "Nov 25, 2026"; got != want {
		t.Errorf("oldest row dated %s, want %s", got, want)
	}
}
