package commands_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// licensesForm is the submission of the set-licenses form.
func licensesForm(sub, total string) *commands.Submission {
	return form(commands.FormLicenses, sub, "subscription", sub, "total", total)
}

// TestLicenses sets the total number of licenses.
func TestLicenses(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 10) // monthly, renews Dec 25, 2026
	e.assign(alice, id, bob.m.ID, carol.m.ID, erin.m.ID)

	t.Run("form", func(t *testing.T) {
		e := e.at(t)
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{alice, "licenses", "10"},
			{alice, "licenses visio 15", "15"},
			{alice, "licenses " + id + " 105", "105"},
			{alice.de(), "lizenzen visio 15", "15"},
		} {
			f := wantForm(t, e.run(tt.as, tt.line), commands.FormLicenses)
			total := input(t, f, "total")
			if base, _, _ := strings.Cut(f.Context, "|"); base != id || strings.Join(total.Value, "") != tt.want || total.Min != 3 || total.Max != 10000 {
				t.Errorf("%s: form context %q, total %+v; want %s, value %s, 3…10000", tt.line, f.Context, total, id, tt.want)
			}
		}
		wantText(t, e.run(alice, "licenses"), "10 licenses, 3 assigned, €126.00 per month.", "to add 5, enter 15")
		wantText(t, e.run(alice.de(), "lizenzen"), "10 Lizenzen, davon 3 zugewiesen, 126,00 € pro Monat.")
		// Limits say why, with numbers as the user's language writes them.
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{alice, "licenses visio 2", "3 licenses are assigned, so the total cannot be lower. Unassign licenses first."},
			{alice.de(), "lizenzen visio 2", "3 Lizenzen sind zugewiesen, daher kann die Gesamtzahl nicht kleiner sein."},
			{alice, "licenses visio 10001", "Visio Plan 2 allows at most 10,000 licenses."},
			{alice.de(), "lizenzen visio 10.001", "Visio Plan 2 erlaubt höchstens 10.000 Lizenzen."},
			{alice, "licenses visio 1.5", "Enter a whole number from 3 to 10,000."},
			{alice.de(), "lizenzen visio 1,5", "Geben Sie eine ganze Zahl von 3 bis 10.000 ein."},
		} {
			wantMessage(t, e.run(tt.as, tt.line), tt.want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		for _, tt := range []struct {
			name  string
			as    who
			sub   string
			total string
			field string
			want  string
		}{
			{"below assigned", alice, id, "2", "total", "3 licenses are assigned, so the total cannot be lower."},
			{"below assigned de", alice.de(), id, "2", "total", "3 Lizenzen sind zugewiesen, daher kann die Gesamtzahl nicht kleiner sein."},
			{"zero", alice, id, "0", "total", "3 licenses are assigned, so the total cannot be lower."},
			{"same total", alice, id, "10", "total", "The subscription already has 10 licenses."},
			{"same total de", alice.de(), id, "10", "total", "Das Abonnement hat bereits 10 Lizenzen."},
			{"above maximum", alice, id, "10001", "total", "Visio Plan 2 allows at most 10,000 licenses."},
			{"above maximum de", alice.de(), id, "10001", "total", "Visio Plan 2 erlaubt höchstens 10.000 Lizenzen."},
			{"a fraction", alice, id, "3.5", "total", "Enter a whole number from 3 to 10,000."},
			{"not a number", alice, id, "ten", "total", "Enter a whole number"},
			{"empty", alice, id, "", "total", "Enter a whole number"},
			{"unknown subscription", alice, "nope", "12", "subscription", "Choose one of your subscriptions."},
			{"licensee", bob, id, "12", "subscription", "Only the purchaser of Visio Plan 2 (Alice) can change this subscription."},
			{"admin", dave, id, "12", "subscription", "Choose one of your subscriptions."},
			{"other organization", zoe, id, "12", "subscription", "Choose one of your subscriptions."},
		} {
			t.Run(tt.name, func(t *testing.T) {
				wantFieldError(t, e.at(t).send(tt.as, licensesForm(tt.sub, tt.total)), tt.field, tt.want)
			})
		}
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{bob, "licenses " + id + " 12", "Only the purchaser of Visio Plan 2 (Alice) can change this subscription."},
			{bob.de(), "lizenzen " + id + " 12", "Nur der Käufer von Visio Plan 2 (Alice) kann dieses Abonnement ändern."},
			{dave, "licenses " + id + " 12", "Only the purchaser of Visio Plan 2 (Alice) can change this subscription."},
		} {
			wantMessage(t, e.run(tt.as, tt.line), tt.want)
		}
		e.wantUnchanged(before)
	})

	t.Run("increase is billed pro rata", func(t *testing.T) {
		e := e.at(t)
		e.clock.Add(0, 0, 10) // Dec 5: 20 of the period's 30 days are left
		r := e.send(alice, licensesForm(id, "15"))
		// 5 × €12.60 × 20/30 = €42.00
		wantMessage(t, r, "5 licenses for Visio Plan 2 cost €42.00 until Dec 25, 2026",
			"They are added as soon as the payment has gone through (then 15 licenses)")
		if s := e.sub("T1", id); s.Total != 10 {
			t.Errorf("total before the payment = %d, want still 10", s.Total)
		}
		if notes := e.notes(); len(notes) != 0 {
			t.Errorf("notified before the payment: %+v", notes)
		}
		noted := e.charge()
		if s := e.sub("T1", id); s.Total != 15 {
			t.Errorf("total = %d, want 15", s.Total)
		}
		invs := e.invoices(alice)
		if len(invs) != 2 {
			t.Fatalf("%d invoices, want the purchase and the increase", len(invs))
		}
		want := store.InvoiceLine{Product: "Visio Plan 2", Quantity: 5, UnitPrice: 1260, Amount: 4200, Kind: "licenses", Days: 20, PeriodDays: 30}
		if inv := invs[0]; inv.Total != 4200 || len(inv.Lines) != 1 || inv.Lines[0] != want || inv.Status != store.InvoicePaid {
			t.Errorf("newest invoice = %+v, want one paid line %+v", inv, want)
		}
		if len(noted) != 2 || noted[0].Kind != commands.NotePaid || noted[1].Kind != commands.NoteLicenses ||
			noted[1].Sub.Before != 10 || noted[1].Sub.Licenses != 15 {
			t.Errorf("notifications = %+v, want the purchaser's and licenses 10 → 15", noted)
		}
	})

	t.Run("decrease is not billed", func(t *testing.T) {
		e := e.at(t)
		r := e.send(alice.de(), licensesForm(id, "12"))
		wantMessage(t, r, "Ab dem 25.12.2026 hat Visio Plan 2 nur noch 12 Lizenzen; bis dahin behalten Sie 15 Lizenzen.", "Für diesen Zeitraum wird nichts erstattet.")
		if invs := e.invoices(alice); len(invs) != 2 {
			t.Errorf("%d invoices after a decrease, want still 2", len(invs))
		}
		noted := e.notes()
		if len(noted) != 1 || noted[0].Sub.Before != 15 || noted[0].Sub.Licenses != 12 {
			t.Errorf("notifications = %+v, want licenses 15 → 12", noted)
		}
		if msg := e.bot.RenderNotification(noted[0], "en"); !strings.Contains(msg.Text, "Alice reduced Visio Plan 2 from 15 to 12 licenses, from Dec 25, 2026 (the end of the period; until then it keeps 15).") {
			t.Errorf("notice = %q", msg.Text)
		}
		if msg := e.bot.RenderNotification(noted[0], "de"); !strings.Contains(msg.Text, "Alice hat Visio Plan 2 ab 25.12.2026 von 15 auf 12 Lizenzen reduziert") {
			t.Errorf("German notice = %q", msg.Text)
		}
	})
}

// TestLicensesOfTrial: a trial's license count is fixed.
func TestLicensesOfTrial(t *testing.T) {
	e := newEnv(t)
	id := e.trial(alice, "visio-plan-2")
	before := e.snapshot()
	wantMessage(t, e.run(alice, "licenses"), "The number of licenses of the Visio Plan 2 trial is fixed.")
	wantMessage(t, e.run(alice.de(), "lizenzen visio 30"), "Die Anzahl der Lizenzen der Testversion von Visio Plan 2 ist fest.")
	r := e.send(alice, licensesForm(id, "30"))
	if _, ok := r.FieldErrors["subscription"]; !ok {
		t.Fatalf("want a field error; got:\n%s", text(r))
	}
	e.wantUnchanged(before)
	if !strings.Contains(r.FieldErrors["subscription"], "fixed") {
		t.Logf("field error: %q", r.FieldErrors["subscription"])
		t.Fatal("fixed bug is back: submitting the licenses form for a trial says \"Visio Plan 2 is trial and can no longer be changed\" instead of that trial counts are fixed")
	}
}

// TestLicensesAfterPeriodEnd: licenses added after the period ended but
// before the scheduler renewed it are not billed as a failed €0.00 payment.
func TestLicensesAfterPeriodEnd(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 10)
	e.clock.Add(0, 1, 1) // the renewal is due, but RunDue has not run yet
	r := e.send(alice, licensesForm(id, "15"))
	wantText(t, r, "Visio Plan 2 now has 15 licenses")
	if strings.Contains(text(r), "€0.00") {
		t.Log(text(r))
		t.Fatal("fixed bug is back: an increase after RenewsAt but before RunDue renewed the period bills 0 days: a €0.00 invoice that the gateway refuses (payment failed)")
	}
}

// TestAssign assigns licenses: 1…20 people of the organization, all or
// nothing.
func TestAssign(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buyer(bob)
	id := e.buy(alice, "visio-plan-2", 5)
	big := e.buy(alice, "project-plan-1", 25)
	bobs := e.buy(bob, "visio-plan-2", 5)

	t.Run("command line", func(t *testing.T) {
		e := e.at(t)
		before := e.snapshot()
		f := wantForm(t, e.run(alice, "assign visio @bob <@U3>"), commands.FormAssign)
		if in := input(t, f, "users"); f.Context != id || strings.Join(in.Value, ",") != "U2,U3" || in.Max != 20 {
			t.Errorf("form context %q, users %+v; want %s, U2,U3, at most 20", f.Context, in, id)
		}
		wantText(t, e.run(alice, "assign visio"), "Free licenses: 5 of 5 free.")
		wantForm(t, e.run(alice.de(), "zuweisen visio @bob"), commands.FormAssign)
		many := "assign visio"
		for _, p := range crowd(21) {
			many += " @" + p
		}
		for _, tt := range []struct {
			as         who
			line, want string
		}{
			{alice, "assign visio @bob extra", "extra is not a member of your organization."},
			{alice, "assign visio @nobody", "@nobody is not a member of your organization."},
			{alice, "assign visio @zoe", "@zoe is not a member of your organization."},
			{alice, "assign visio @Botty", "Botty is an app, not a person."},
			{alice, "assign visio @Gone", "Gone is deactivated."},
			{alice.de(), "zuweisen visio @Gone", "Gone ist deaktiviert."},
			{alice, "assign visio @Botty @Gone", "Botty is an app, not a person.\nGone is deactivated."},
			{alice, many, "You can assign licenses to up to 20 people at a time; you named 21."},
			{alice, "assign frobozz @bob", "None of your subscriptions matches “frobozz”."},
			{carol, "assign @bob", "You have no subscription this applies to."},
		} {
			wantMessage(t, e.run(tt.as, tt.line), tt.want)
		}
		e.wantUnchanged(before)
	})

	t.Run("refused", func(t *testing.T) {
		e := e.at(t)
		e.assign(alice, id, carol.m.ID)
		before := e.snapshot()
		for _, tt := range []struct {
			name  string
			as    who
			sub   string
			users []string
			field string
			want  []string
		}{
			{"nobody", alice, id, nil, "users", []string{"Choose at least one person."}},
			{"nobody de", alice.de(), id, nil, "users", []string{"Wählen Sie mindestens eine Person aus."}},
			{"21 people", alice, big, crowd(21), "users", []string{"up to 20 people at a time; you named 21"}},
			{"other organization", alice, id, []string{"Z1"}, "users", []string{"Z1 is not a member of your organization."}},
			{"bot", alice, id, []string{"B1"}, "users", []string{"Botty is an app, not a person."}},
			{"deactivated", alice, id, []string{"U9"}, "users", []string{"Gone is deactivated."}},
			{"unknown", alice, id, []string{"U404"}, "users", []string{"U404 is not a member"}},
			{"names each", alice, id, []string{"U2", "B1", "U9", "Z1", "U404", "B2"}, "users",
				[]string{"Botty is an app", "Gone is deactivated", "Z1 is not a member", "U404 is not a member", "Deploy Bot is an app"}},
			{"names each de", alice.de(), id, []string{"B1", "U9"}, "users", []string{"Botty ist eine App", "Gone ist deaktiviert"}},
			{"already assigned", alice, id, []string{"U2", "U3"}, "users", []string{"Already assigned: Carol."}},
			{"already assigned de", alice.de(), id, []string{"U3"}, "users", []string{"Bereits zugewiesen: Carol."}},
			{"more than free", alice, id, []string{"U2", "U5", "P00", "P01", "P02"}, "users",
				[]string{"Only 4 licenses free; you chose 5 people."}},
			{"someone else's subscription", alice, bobs, []string{"U5"}, "subscription", []string{"Choose one of your subscriptions."}},
			{"no subscription", alice, "", []string{"U5"}, "subscription", []string{"Choose one of your subscriptions."}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := e.at(t).send(tt.as, form(commands.FormAssign, tt.sub, users(nil, tt.users...)...))
				wantFieldError(t, r, tt.field, tt.want...)
			})
		}
		e.wantUnchanged(before)
	})

	t.Run("success", func(t *testing.T) {
		e := e.at(t)
		r := e.send(alice, form(commands.FormAssign, "", users([]string{"subscription", id}, "U2", "<@U5>")...))
		wantMessage(t, r, "Visio Plan 2 is now assigned to Bob, Erin.", "2 of 5 licenses free.")
		s := e.sub("T1", id)
		if len(s.Assigned) != 3 || !s.IsAssigned("U2") || !s.IsAssigned("U5") || !s.IsAssigned("U3") {
			t.Errorf("assigned = %v, want Bob, Carol, Erin", s.Assigned)
		}
		wantText(t, e.run(bob, "products"), "A license bought by Alice is assigned to you.")
		wantMessage(t, e.send(alice.de(), form(commands.FormAssign, big, users(nil, crowd(20)...)...)), "Project Plan 1 ist jetzt")
		if s := e.sub("T1", big); len(s.Assigned) != 20 {
			t.Errorf("%d assigned, want 20", len(s.Assigned))
		}
	})

	t.Run("the same person twice", func(t *testing.T) {
		e := e.at(t)
		fresh := e.buy(alice, "teams-premium", 3)
		r := e.send(alice, form(commands.FormAssign, fresh, users(nil, "U3", "<@U3>", "@carol")...))
		wantMessage(t, r, "Teams Premium is now assigned to Carol.", "2 of 3 licenses free.")
		if s := e.sub("T1", fresh); len(s.Assigned) != 1 {
			t.Errorf("assigned %v, want Carol once", s.Assigned)
		}
	})
}

// TestUnassign takes licenses back.
func TestUnassign(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	wantMessage(t, e.run(alice, "unassign"), "You have no subscription this applies to.")
	e.assign(alice, id, bob.m.ID, carol.m.ID)

	f := wantForm(t, e.run(alice, "unassign visio"), commands.FormUnassign)
	var opts []string
	for _, o := range input(t, f, "users").Options {
		opts = append(opts, o.Value+"="+o.Label)
	}
	if f.Context != id || strings.Join(opts, ",") != "U2=Bob,U3=Carol" || input(t, f, "confirm").Kind != commands.KindConfirm {
		t.Errorf("form context %q, users %v; want %s, Bob and Carol, and a confirmation", f.Context, opts, id)
	}
	wantForm(t, e.run(alice.de(), "aufheben"), commands.FormUnassign)

	before := e.snapshot()
	for _, tt := range []struct {
		name  string
		as    who
		kv    []string
		field string
		want  string
	}{
		{"nobody", alice, []string{"confirm", "yes"}, "users", "Choose at least one person."},
		{"not assigned", alice, users([]string{"confirm", "yes"}, "U2", "U5"), "users", "Not assigned: Erin."},
		{"not assigned de", alice.de(), users([]string{"confirm", "yes"}, "U5"), "users", "Nicht zugewiesen: Erin."},
		{"not confirmed", alice, users(nil, "U2"), "confirm", "Please confirm to continue."},
		{"not confirmed de", alice.de(), users([]string{"confirm", "no"}, "U2"), "confirm", "Bitte bestätigen Sie, um fortzufahren."},
		{"not the purchaser", bob, users([]string{"confirm", "yes"}, "U2"), "subscription", "Only the purchaser"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantFieldError(t, e.at(t).send(tt.as, form(commands.FormUnassign, id, tt.kv...)), tt.field, tt.want)
		})
	}
	e.wantUnchanged(before)

	r := e.send(alice, form(commands.FormUnassign, id, users([]string{"confirm", "yes"}, "U2")...))
	wantMessage(t, r, "Bob", "4 of 5 licenses free.")
	unassigned := text(r)
	if s := e.sub("T1", id); s.IsAssigned("U2") || !s.IsAssigned("U3") || s.Free() != 4 {
		t.Errorf("after unassigning Bob: %v", s.Assigned)
	}
	// The license is free again: Erin can have it.
	e.assign(alice, id, erin.m.ID)
	if got := fmt.Sprint(len(e.sub("T1", id).Assigned)); got != "2" {
		t.Errorf("%s assigned, want 2", got)
	}
	if strings.Contains(unassigned, "Bob no longer have a license") {
		t.Log(unassigned)
		t.Fatal("fixed bug is back: en.toml Unassigned = \"{{.Users}} no longer have a license …\" reads \"Bob no longer have a license\" for one person (de: \"Bob haben keine Lizenz\")")
	}
}

// TestManyHolders: a subscription with more holders than a view lists
// (store.MaxListed) is still checked against all of them.
func TestManyHolders(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 40)
	people := crowd(30)
	e.assign(alice, id, people[:20]...)
	e.assign(alice, id, people[20:]...)

	wantText(t, e.run(alice, "products"), "Licenses: 30 of 40 assigned", "and 10 more")
	wantText(t, e.run(alice.de(), "produkte"), "und 10 weitere")
	wantText(t, e.run(dave, "admin"), "Visio Plan 2 | Alice | 30 of 40 assigned")
	wantMessage(t, e.run(alice, "licenses visio 29"), "30 licenses are assigned, so the total cannot be lower.")

	before := e.snapshot()
	wantFieldError(t, e.send(alice, licensesForm(id, "29")), "total", "30 licenses are assigned, so the total cannot be lower.")
	for _, p := range people {
		r := e.send(alice, form(commands.FormAssign, id, "users", p))
		wantFieldError(t, r, "users", "Already assigned: Person "+p+".")
	}
	wantFieldError(t, e.send(alice, form(commands.FormAssign, id, users(nil, "U2", "U3", "U5", "B1")...)), "users", "Botty is an app")
	e.wantUnchanged(before)

	f := wantForm(t, e.run(alice, "unassign visio"), commands.FormUnassign)
	if in := input(t, f, "users"); in.Kind != commands.KindUsers || in.Max != 20 {
		t.Errorf("unassign picks people with %+v, want a people picker of up to 20", in)
	}
	wantFieldError(t, e.send(alice, form(commands.FormUnassign, id, "users", "U5", "confirm", "yes")), "users", "Not assigned: Erin.")
	e.wantUnchanged(before)

	r := e.send(alice, form(commands.FormUnassign, id, users([]string{"confirm", "yes"}, "P05", "P29")...))
	wantMessage(t, r, "Person P05, Person P29", "12 of 40 licenses free.")
	if s := e.sub("T1", id); s.AssignedCount != 28 {
		t.Errorf("%d assigned, want 28", s.AssignedCount)
	}

	// Picks beyond the listed holders are resolved through the directory:
	// a mention of a holder works, anything else is a field error.
	before = e.snapshot()
	wantFieldError(t, e.send(alice, form(commands.FormUnassign, id, "users", "not an id!", "confirm", "yes")), "users")
	e.wantUnchanged(before)
	wantMessage(t, e.send(alice, form(commands.FormUnassign, id, "users", "<@P06>", "confirm", "yes")), "Person P06 no longer has a license")
	if s := e.sub("T1", id); s.AssignedCount != 27 {
		t.Errorf("%d assigned, want 27", s.AssignedCount)
	}
}
