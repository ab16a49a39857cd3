package commands_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/format"
	"github.com/billingbot/billingbot/store"
)

// ernie is a second admin of T1, for two admins deciding at once.
var ernie = who{org: "T1", m: commands.Member{ID: "U5", Name: "Erin"}, locale: "en-US", admin: true}

// requestBuy has w buy n monthly licenses of product with their card, over
// the approval threshold, and returns the request's id from the answer.
func (e *env) requestBuy(w who, product string, n int) (string, commands.Response) {
	e.t.Helper()
	r := e.send(w, e.buyForm(w, product, n, store.Monthly))
	wantText(e.t, r, "Sent for approval", "nothing was charged")
	return subID(e.t, r, "requests withdraw "), r
}

// approval reads a request for approval.
func (e *env) approval(org, id string) store.Approval {
	e.t.Helper()
	a, err := e.st.Approval(e.t.Context(), org, id)
	if err != nil {
		e.t.Fatalf("Approval(%s, %s): %v", org, id, err)
	}
	return a
}

// approvalNoteOf finds the notification of a kind among notes.
func approvalNoteOf(t *testing.T, notes []commands.Notification, kind commands.NotificationKind) commands.Notification {
	t.Helper()
	for _, n := range notes {
		if n.Kind == kind {
			return n
		}
	}
	t.Fatalf("no %s notification among %s", kind, kinds(notes))
	return commands.Notification{}
}

// TestApprovalSettings: admins set and clear the threshold and the cap,
// in English and German; the admin view shows them; mistakes write
// nothing.
func TestApprovalSettings(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		as   who
		line string
		want string
	}{
		{dave, "admin approval", "Approval: not required for any purchase."},
		{dave, "admin approval 100 EUR", "Purchases above €100.00 a month now need an admin's approval."},
		{dave, "admin approval USD 49.5", "Purchases above $49.50 a month now need an admin's approval."},
		{dave.de(), "admin freigabe 100,50 EUR", "Käufe über 100,50 € im Monat brauchen jetzt die Freigabe eines Administrators."},
		{dave, "admin approval", "Approval required for purchases above (a month): €100.50, $49.50."},
		{dave, "admin cap 500 EUR", "Each purchaser may now spend at most €500.00 a month."},
		{dave.de(), "admin limit", "Monatliches Ausgabenlimit je Käufer: 500,00 €."},
		{dave, "admin approval off USD", "Purchases in USD no longer need approval."},
		{dave, "admin", "Approval required for purchases above (a month): €100.50."},
		{dave, "admin", "Monthly spend cap per purchaser: €500.00."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			wantText(t, e.at(t).run(tt.as, tt.line), tt.want)
		})
	}
	before := e.snapshot()
	for _, tt := range []struct {
		as   who
		line string
		want string
	}{
		{alice, "admin approval 10 EUR", "admin"},
		{dave, "admin approval 10 GBP", "GBP is not a currency of the catalog (EUR, USD)."},
		{dave, "admin approval ten EUR", "Please give an amount and a currency"},
		{dave, "admin approval 10.001 EUR", "Please give an amount and a currency"},
		{dave, "admin approval 0 EUR", "Please give an amount and a currency"},
		{dave, "admin approval -5 EUR", "Please give an amount and a currency"},
		{dave, "admin cap 10 EUR extra", "Please give an amount and a currency"},
		{dave.de(), "admin limit zehn EUR", "Bitte geben Sie einen Betrag und eine Währung an"},
		{dave, "admin approval off GBP", "Approval required for purchases above (a month): €100.50."},
	} {
		t.Run("refused/"+tt.line, func(t *testing.T) {
			r := e.at(t).run(tt.as, tt.line)
			wantText(t, r, tt.want)
		})
	}
	e.wantUnchanged(before)
	wantText(t, e.run(dave, "admin approval off"), "Purchases in EUR no longer need approval.")
	wantText(t, e.run(dave, "admin cap aus"), "What purchasers spend in EUR is no longer capped.")
	wantText(t, e.run(dave, "admin"), "Approval: not required for any purchase.", "Monthly spend cap per purchaser: none.")
	audit, err := e.st.Audit(t.Context(), "T1", 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range audit {
		got = append(got, a.Actor+" "+a.Action+" "+a.After)
	}
	if s := strings.Join(got, "\n"); !strings.Contains(s, "U4 approval-limit 10000 EUR") || !strings.Contains(s, "U4 cap-limit 50000 EUR") {
		t.Errorf("audit lacks the limits:\n%s", s)
	}
}

// TestApprovalBelowThreshold: a purchase at or below the threshold is made
// at once.
func TestApprovalBelowThreshold(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.run(dave, "admin approval 63 EUR")
	e.buy(alice, "visio-plan-2", 5) // €63.00 a month: not above
}

// TestApprovalApprove: above the threshold the confirmed purchase becomes
// a request, nothing is charged; the admins get its preview with
// buttons; Approve charges exactly the previewed amount; a second
// admin's click is told who decided.
func TestApprovalApprove(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		e.run(dave, "admin approval 100 EUR")
		id, r := e.requestBuy(alice, "visio-plan-2", 10)
		wantText(t, r, "Visio Plan 2 comes to €126.00 a month, above the €100.00", "€126.00")
		if got := e.invoices(alice); len(got) != 0 {
			t.Fatalf("a request made invoices: %+v", got)
		}
		req := approvalNoteOf(t, e.notes(), commands.NoteApprovalRequest)
		if req.To != "" {
			t.Errorf("request notified %q, want the admins", req.To)
		}
		for lang, want := range map[string][]string{
			"en": {"Alice asks for approval of Visio Plan 2 (€126.00 a month)", "Today: €126.00"},
			"de": {"Alice bittet um Freigabe für Visio Plan 2 (126,00 € im Monat)", "126,00 €"},
		} {
			m := e.bot.RenderNotification(req, lang)
			for _, w := range want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("%s request reads %q, want %q", lang, m.Text, w)
				}
			}
			if len(m.Buttons) != 2 || m.Buttons[0].Command != "admin approve "+id || m.Buttons[1].Command != "admin decline "+id {
				t.Errorf("%s request buttons %+v", lang, m.Buttons)
			}
		}
		list := e.run(alice, "requests")
		wantText(t, list, "1 request waits for an admin's decision.", "Visio Plan 2", "€126.00")

		// Not an admin: refused, nothing decided.
		wantText(t, e.run(bob, "admin approve "+id), "admin")
		e.clock.Set(t0.Add(50 * time.Hour)) // days later: a purchase's amounts still hold
		r = e.run(dave, "admin approve "+id)
		wantText(t, r, "You approved Alice's request for Visio Plan 2.")
		approved := approvalNoteOf(t, e.notes(), commands.NoteApprovalApproved)
		if approved.To != "U1" || !strings.Contains(e.bot.RenderNotification(approved, "en").Text, "Dave approved your request") {
			t.Errorf("approved note %+v", approved)
		}
		invs := e.invoices(alice)
		if len(invs) != 1 || invs[0].Total != 12600 || invs[0].Currency != "EUR" {
			t.Fatalf("invoices after approval %+v, want one of €126.00", invs)
		}
		e.charge()
		if s := e.sub("T1", invs[0].SubID); s.Status != store.StatusActive || s.Total != 10 {
			t.Errorf("approved purchase is %s with %d licenses", s.Status, s.Total)
		}
		wantText(t, e.run(ernie, "admin approve "+id), "Dave already approved this request on")
		wantText(t, e.run(ernie, "admin decline "+id), "Dave already approved this request on")
		// The approving admin's second click makes nothing twice.
		e.run(dave, "admin approve "+id)
		if got := e.invoices(alice); len(got) != 1 {
			t.Errorf("a second approval made %d invoices", len(got))
		}
		wantText(t, e.run(alice, "requests"), "You have no requests waiting for approval.")
	})
}

// TestApprovalCompleted: an approval whose change a fault kept from being
// made (the approver heard that it may not have been) is made by the next
// admin who clicks Approve, once; the purchaser hears who approved it.
func TestApprovalCompleted(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		e.run(dave, "admin approval 100 EUR")
		id, _ := e.requestBuy(alice, "visio-plan-2", 10)
		// Dave's approval is recorded; its change is not made.
		if d, err := e.st.DecideApproval(t.Context(), e.approval("T1", id), store.ApprovalOpen, store.ApprovalApproved,
			"U4", "Dave", "", false, t0); err != nil || !d.Made {
			t.Fatalf("DecideApproval = %+v, %v", d, err)
		}
		if got := e.invoices(alice); len(got) != 0 {
			t.Fatalf("invoices before the change: %+v", got)
		}
		// While Dave's own try may still be on its way: decided.
		wantText(t, e.run(ernie, "admin approve "+id), "Dave already approved this request on")
		if got := e.invoices(alice); len(got) != 0 {
			t.Fatalf("invoices while the approver's try may be on its way: %+v", got)
		}
		e.clock.Set(t0.Add(5 * time.Minute))
		r := e.run(ernie, "admin approve "+id)
		wantText(t, r, "Dave approved Alice's request for Visio Plan 2 on", "but it had not gone through", "they were told")
		if invs := e.invoices(alice); len(invs) != 1 || invs[0].Total != 12600 {
			t.Fatalf("invoices after completing %+v, want one of €126.00", invs)
		}
		approved := approvalNoteOf(t, e.notes(), commands.NoteApprovalApproved)
		if text := e.bot.RenderNotification(approved, "en").Text; !strings.Contains(text, "Dave approved your request") {
			t.Errorf("approved note reads %q", text)
		}
		// Made now: another click is answered as decided, and makes nothing.
		wantText(t, e.run(ernie, "admin approve "+id), "Dave already approved this request on")
		e.run(dave, "admin approve "+id)
		if got := e.invoices(alice); len(got) != 1 {
			t.Errorf("%d invoices after more clicks, want 1", len(got))
		}
	})
}

// TestApprovalDoneForGood: once an approved change is made, an Approve
// clicked after its idempotency record has expired (a day) makes nothing
// again, for the approver as for another admin.
func TestApprovalDoneForGood(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.run(dave, "admin approval 100 EUR")
	id, _ := e.requestBuy(alice, "visio-plan-2", 10)
	wantText(t, e.run(dave, "admin approve "+id), "You approved Alice's request")
	if got := e.invoices(alice); len(got) != 1 {
		t.Fatalf("%d invoices after the approval, want 1", len(got))
	}
	e.mr.FastForward(30 * time.Hour)
	e.clock.Set(t0.Add(30 * time.Hour))
	for _, w := range []who{dave, ernie} {
		wantText(t, e.run(w, "admin approve "+id), "Dave already approved this request on")
	}
	if got := e.invoices(alice); len(got) != 1 {
		t.Errorf("%d invoices after clicks a day later, want 1", len(got))
	}
}

// TestApprovalDecline: Decline asks for a reason, required; the purchaser
// is told it; nothing is charged.
func TestApprovalDecline(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.run(dave, "admin approval 100 EUR")
	id, _ := e.requestBuy(alice, "visio-plan-2", 10)
	r := e.run(dave.de(), "admin ablehnen "+id)
	f := wantForm(t, r, commands.FormDecline)
	if f.Title != "Anfrage ablehnen" || f.Context != id {
		t.Errorf("decline form %q, context %q", f.Title, f.Context)
	}
	before := e.snapshot()
	wantFieldError(t, e.send(dave, form(commands.FormDecline, id, "reason", "  ")), "reason", "Please say why")
	wantFieldError(t, e.send(dave, form(commands.FormDecline, id, "reason", strings.Repeat("x", 201))), "reason", "200")
	wantText(t, e.send(bob, form(commands.FormDecline, id, "reason", "no")), "admin")
	e.wantUnchanged(before)
	r = e.send(dave, form(commands.FormDecline, id, "reason", "Use the team license instead."))
	wantText(t, r, "You declined Alice's request for Visio Plan 2")
	n := approvalNoteOf(t, e.notes(), commands.NoteApprovalDeclined)
	if n.To != "U1" {
		t.Errorf("declined note to %q", n.To)
	}
	for lang, want := range map[string]string{
		"en": "Dave declined your request for Visio Plan 2. Nothing was charged. Reason: Use the team license instead.",
		"de": "Dave hat Ihre Anfrage für Visio Plan 2 abgelehnt. Es wurde nichts berechnet. Grund: Use the team license instead.",
	} {
		if got := e.bot.RenderNotification(n, lang).Text; got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	if a := e.approval("T1", id); a.Status != store.ApprovalDeclined || a.Reason != "Use the team license instead." || a.By != "U4" {
		t.Errorf("request %+v", a)
	}
	wantText(t, e.run(dave, "admin approve "+id), "Dave already declined this request")
	if got := e.invoices(alice); len(got) != 0 {
		t.Errorf("declined request charged: %+v", got)
	}
}

// TestApprovalRace: two admins deciding at once make one decision; the
// other hears who made it; only an approval charges, once.
func TestApprovalRace(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		e.run(dave, "admin approval 100 EUR")
		charged := 0
		for _, declines := range []bool{false, true, false, true} {
			id, _ := e.requestBuy(alice, "project-plan-3", 5) // €126.50 a month
			reqs := []commands.Request{e.request(dave), e.request(ernie)}
			reqs[0].Text = "admin approve " + id
			if declines {
				reqs[1].Form = form(commands.FormDecline, id, "reason", "no budget")
			} else {
				reqs[1].Text = "admin approve " + id
			}
			out := make([]commands.Response, len(reqs))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, req := range reqs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r, err := e.bot.Handle(t.Context(), req)
					if err != nil {
						t.Errorf("Handle: %v", err)
					}
					out[i] = r
				}()
			}
			close(start)
			wg.Wait()
			a := e.approval("T1", id)
			won, lost := 0, 0
			for _, r := range out {
				switch s := text(r); {
				case strings.Contains(s, "You approved"), strings.Contains(s, "You declined"):
					won++
				case strings.Contains(s, a.ByName+" already"):
					lost++
				default:
					t.Errorf("answer: %s", s)
				}
			}
			if won != 1 || lost != 1 {
				t.Errorf("%d decisions made, %d told who decided; want 1 and 1:\n%s\n%s", won, lost, text(out[0]), text(out[1]))
			}
			if a.Status == store.ApprovalApproved {
				charged++
			}
		}
		got := 0
		for _, inv := range e.invoices(alice) {
			if inv.Total == 12650 {
				got++
			}
		}
		if got != charged {
			t.Errorf("%d invoices for %d approvals", got, charged)
		}
	})
}

// TestApprovalExpiry: a request expires after 7 days, its purchaser is
// told; a decision after that says it expired, also before the job ran.
func TestApprovalExpiry(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		e.run(dave, "admin approval 100 EUR")
		id, _ := e.requestBuy(alice, "visio-plan-2", 10)
		expires := t0.Add(commands.ApprovalTTL)
		if notes := e.due(expires.Add(-time.Second)); len(notes) != 0 {
			t.Errorf("before expiry: %s", kinds(notes))
		}
		e.clock.Set(expires) // due, the job not run yet
		wantText(t, e.run(dave, "admin approve "+id), "This request expired on Dec 2, 2026 without a decision.")
		wantText(t, e.run(dave, "admin decline "+id), "expired")
		notes := e.due(expires)
		if kinds(notes) != "approval-expired>U1" {
			t.Fatalf("at expiry: %s", kinds(notes))
		}
		if got := e.bot.RenderNotification(notes[0], "de").Text; !strings.Contains(got, "ist am 02.12.2026 ohne Entscheidung abgelaufen") {
			t.Errorf("expiry note %q", got)
		}
		wantText(t, e.run(ernie, "admin approve "+id), "This request expired on Dec 2, 2026")
		wantText(t, e.run(alice, "requests"), "You have no requests")
		if got := e.invoices(alice); len(got) != 0 {
			t.Errorf("expired request charged: %+v", got)
		}
		if notes := e.due(expires.Add(time.Hour)); len(notes) != 0 {
			t.Errorf("after expiry: %s", kinds(notes))
		}
	})
}

// TestApprovalWithdraw: the purchaser withdraws an open request (button
// and command); the admins are told; nobody else can.
func TestApprovalWithdraw(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.run(dave, "admin approval 100 EUR")
	id, _ := e.requestBuy(alice, "visio-plan-2", 10)
	list := e.run(alice, "requests")
	if subID(t, list, "requests withdraw ") != id {
		t.Fatalf("the list offers no withdraw button for %s", id)
	}
	before := e.snapshot()
	wantText(t, e.run(bob, "requests withdraw "+id), "There is no such request")
	wantText(t, e.run(alice, "requests withdraw nope"), "There is no such request")
	wantText(t, e.run(alice, "requests drop "+id), "drop")
	e.wantUnchanged(before)
	wantText(t, e.run(alice.de(), "anfragen zurueckziehen "+id), "Ihre Anfrage für Visio Plan 2 wurde zurückgezogen")
	n := approvalNoteOf(t, e.notes(), commands.NoteApprovalWithdrawn)
	if n.To != "" || e.bot.RenderNotification(n, "en").Text != "Alice withdrew the request for Visio Plan 2." {
		t.Errorf("withdrawn note %+v", n)
	}
	wantText(t, e.run(alice, "requests withdraw "+id), "was withdrawn")
	wantText(t, e.run(dave, "admin approve "+id), "Alice withdrew this request on")
	// A mistake in the line is answered with how to use it, not with
	// the admin commands.
	for line, want := range map[string]string{"requests withdraw": "requests withdraw with a request’s id",
		"requests foo": "Unknown option “foo”. Use /billing requests"} {
		r := e.run(alice, line)
		wantText(t, r, want)
		if strings.Contains(text(r), "admin channel") {
			t.Errorf("%q answered with the admin commands: %s", line, text(r))
		}
	}
	wantText(t, e.run(alice.de(), "anfragen zurueckziehen"), "anfragen zurückziehen und der ID einer Anfrage")
}

// TestApprovalLicenses: a license increase above the threshold is held
// too; approved the same day it is charged as previewed, a day later its
// prorated price no longer holds: nothing is charged, both are told.
func TestApprovalLicenses(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	sub := e.buy(alice, "visio-plan-2", 5)
	e.run(dave, "admin approval 100 EUR")
	// 5 → 8: €37.80 more a month, not above.
	r := e.send(alice, form(commands.FormLicenses, sub, "subscription", sub, "total", "8"))
	wantText(t, r, "Payment in progress")
	e.charge()
	// 8 → 20: €151.20 more a month.
	r = e.send(alice, form(commands.FormLicenses, sub, "subscription", sub, "total", "20"))
	wantText(t, r, "Sent for approval", "€151.20 a month")
	id := subID(t, r, "requests withdraw ")
	n := len(e.invoices(alice))
	e.clock.Add(0, 0, 1)
	r = e.run(dave, "admin approve "+id)
	wantText(t, r, "Visio Plan 2 can no longer be bought as Alice requested it")
	stale := approvalNoteOf(t, e.notes(), commands.NoteApprovalStale)
	if stale.To != "U1" {
		t.Errorf("stale note to %q", stale.To)
	}
	if got := len(e.invoices(alice)); got != n {
		t.Errorf("a stale approval made %d invoices", got-n)
	}
	if a := e.approval("T1", id); a.Status != store.ApprovalStale {
		t.Errorf("request is %s, want stale", a.Status)
	}
	wantText(t, e.run(ernie, "admin approve "+id), "could no longer be made as requested")

	r = e.send(alice, form(commands.FormLicenses, sub, "subscription", sub, "total", "20"))
	id = subID(t, r, "requests withdraw ")
	preview := text(r)
	wantText(t, e.run(dave, "admin approve "+id), "You approved")
	invs := e.invoices(alice)
	if len(invs) != n+1 || !strings.Contains(preview, "Today: "+format.Money("en", invs[0].Total, "EUR")) {
		t.Errorf("approved increase charged %+v; the preview said:\n%s", invs[0], preview)
	}
	e.charge()
	if s := e.sub("T1", sub); s.Total != 20 {
		t.Errorf("after approval %d licenses, want 20", s.Total)
	}
}

// TestApprovalCap: over the monthly cap the buy and licenses forms answer
// with a field error naming what is left this month; nothing is written.
func TestApprovalCap(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.run(dave, "admin cap 100 EUR")
	sub := e.buy(alice, "visio-plan-2", 5) // €63.00 spent
	before := e.snapshot()
	r := e.send(alice, e.buyForm(alice, "project-plan-1", 5, store.Monthly)) // €42.00
	wantFieldError(t, r, "licenses", "This costs €42.00", "€37.00 of €100.00 is left this month")
	r = e.send(alice.de(), e.buyForm(alice, "project-plan-1", 5, store.Monthly))
	wantFieldError(t, r, "licenses", "Von 100,00 € sind in diesem Monat noch 37,00 € übrig")
	r = e.send(alice, form(commands.FormLicenses, sub, "subscription", sub, "total", "9"))
	wantFieldError(t, r, "total", "€37.00 of €100.00 is left this month")
	e.wantUnchanged(before)
	// Another currency, and another purchaser, have their own budget.
	e.buyer(bob)
	e.buy(bob, "project-plan-1", 5)
	wantText(t, e.send(alice, e.buyForm(alice, "teams-premium", 20, store.Monthly)), "Payment in progress")
	// A new month: the budget is whole again.
	e.clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	r = e.send(alice, e.buyForm(alice, "project-plan-1", 5, store.Monthly))
	wantText(t, r, "Payment in progress")
}

// TestApprovalPurchaserLeft: a request whose purchaser is no longer a
// member is closed when approved, and nothing is charged.
func TestApprovalPurchaserLeft(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.run(dave, "admin approval 100 EUR")
	id, _ := e.requestBuy(alice, "visio-plan-2", 10)
	req := e.request(dave)
	d := newDirectory("T1")
	delete(d.members, "U1")
	req.Members, req.Text = d, "admin approve "+id
	wantText(t, e.handle(req), "Alice is no longer a member of the organization")
	if a := e.approval("T1", id); a.Status != store.ApprovalStale {
		t.Errorf("request is %s", a.Status)
	}
	if got := e.invoices(alice); len(got) != 0 {
		t.Errorf("charged: %+v", got)
	}
}

// TestApprovalAdminList: the admin view counts the open requests, and
// "admin requests" lists them with their buttons, also when the
// notification was missed.
func TestApprovalAdminList(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buyer(bob)
	wantText(t, e.run(dave, "admin requests"), "No request waits for a decision.")
	e.run(dave, "admin approval 100 EUR")
	first, _ := e.requestBuy(alice, "visio-plan-2", 10)
	e.clock.Set(t0.Add(time.Minute))
	second, _ := e.requestBuy(bob, "project-plan-3", 5)
	view := e.run(dave, "admin")
	wantText(t, view, "2 requests wait for a decision.")
	if !strings.Contains(text(view), "] admin requests\n") {
		t.Errorf("the admin view has no button that lists the requests:\n%s", text(view))
	}
	list := e.run(dave.de(), "admin anfragen")
	wantText(t, list, "Anfragen zur Freigabe", "2 Anfragen warten auf eine Entscheidung.", "Alice", "126,00 €", "Bob", "126,50 €")
	if subID(t, list, "admin approve ") != first || subID(t, list, "admin decline ") != first {
		t.Errorf("the oldest request does not come first with its buttons:\n%s", text(list))
	}
	wantText(t, e.run(bob, "requests withdraw "+second), "withdrawn")
	e.run(dave, "admin approve "+first)
	wantText(t, e.run(dave, "admin requests"), "No request waits for a decision.")
	if s := text(e.run(dave, "admin")); strings.Contains(s, "wait for a decision") || strings.Contains(s, "waits for a decision") {
		t.Errorf("the admin view still counts requests:\n%s", s)
	}
	wantText(t, e.run(alice, "admin requests"), "admin")
}
