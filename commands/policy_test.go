package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/store"
)

// setPolicy sets a product's policy as the admin dave, and fails the
// test unless it changed.
func (e *env) setPolicy(product, policy string) {
	e.t.Helper()
	r := e.run(dave, "admin policy "+product+" "+policy)
	if !strings.Contains(text(r), "Existing subscriptions go on as they are.") {
		e.t.Fatalf("admin policy %s %s:\n%s", product, policy, text(r))
	}
}

// buttonTo reports whether a response has a button with the command.
func buttonTo(r commands.Response, command string) bool {
	for _, m := range r.Messages {
		for _, b := range m.Buttons {
			if b.Command == command {
				return true
			}
		}
	}
	return false
}

// options are the values of a form's select.
func options(t *testing.T, f *commands.Form, id string) []string {
	t.Helper()
	var out []string
	for _, o := range input(t, f, id).Options {
		out = append(out, o.Value)
	}
	return out
}

func TestAdminPolicy(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		r := e.run(dave, "admin policy")
		wantMessage(t, r, "Product policies", "Product | Policy", "Visio Plan 2 | enabled (the catalog's default)",
			"Tiny Tool | enabled (the catalog's default)")
		if len(r.Messages) != 7 {
			t.Errorf("admin policy: %d messages, want the head and one per product (6)", len(r.Messages))
		}
		for _, cmd := range []string{"admin policy visio-plan-2 trials-only", "admin policy visio-plan-2 disabled", "admin policy tiny disabled"} {
			if !buttonTo(r, cmd) {
				t.Errorf("admin policy: no button %q", cmd)
			}
		}
		if buttonTo(r, "admin policy tiny trials-only") || buttonTo(r, "admin policy visio-plan-2 enabled") {
			t.Errorf("admin policy offers trials only of a product without a trial, or the policy a product has:\n%s", text(r))
		}
		// The overview links to it.
		if !buttonTo(e.run(dave, "admin"), "admin policy") {
			t.Errorf("the admin overview has no button to the product policies")
		}

		r = e.run(dave, "admin policy visio trials-only")
		wantMessage(t, r, "Policy of Visio Plan 2: trials only. Existing subscriptions go on as they are.")
		n := e.notes()
		if len(n) != 1 || n[0].Kind != commands.NotePolicy || n[0].To != "" || n[0].Sub.Product != "Visio Plan 2" ||
			n[0].Sub.Purchaser != "Dave" || n[0].Sub.Policy != "trials-only" {
			t.Fatalf("notifications = %+v, want one to the admins: Dave set Visio Plan 2 to trials-only", n)
		}
		msg := e.bot.RenderNotification(n[0], "de")
		if msg.Title != "Produktrichtlinie geändert" || !strings.Contains(msg.Text, "Dave hat die Richtlinie für Visio Plan 2 auf „nur Testversionen“ gesetzt.") {
			t.Errorf("German notification = %+v", msg)
		}
		a, err := e.st.Audit(t.Context(), "T1", 1)
		if err != nil || len(a) != 1 || a[0].Actor != "U4" || a[0].Action != "policy" || a[0].Target != "visio-plan-2" ||
			a[0].Before != "enabled" || a[0].After != "trials-only" {
			t.Errorf("audit = %+v, %v; want U4 policy visio-plan-2 enabled → trials-only", a, err)
		}
		wantText(t, e.run(dave, "admin policy"), "Visio Plan 2 | trials only")
		wantText(t, e.run(dave, "admin policy visio"), "Visio Plan 2", "trials only", "[Enable Visio Plan 2] admin policy visio-plan-2 enabled")

		// The same again: nothing changes, nobody is notified.
		before := e.outbox("T1")
		wantMessage(t, e.run(dave, "admin policy visio-plan-2 trials-only"), "is trials only already: nothing was changed")
		if got := added(before, e.outbox("T1")); len(got) != 0 {
			t.Errorf("the same policy again notified %+v", got)
		}
		if a2, _ := e.st.Audit(t.Context(), "T1", 1); a2[0].ID != a[0].ID {
			t.Errorf("the same policy again was audited: %+v", a2[0])
		}

		// German words, in German.
		wantMessage(t, e.run(dave.de(), "admin richtlinie visio aktiviert"),
			"Richtlinie für Visio Plan 2: aktiviert. Bestehende Abonnements laufen unverändert weiter.")
		wantMessage(t, e.run(dave.de(), "admin richtlinie teams nur-testversionen"), "Richtlinie für Teams Premium: nur Testversionen.")
		// Ambiguous: a choice that keeps the policy.
		r = e.run(dave, "admin policy project disabled")
		if !buttonTo(r, "admin policy project-plan-1 disabled") || !buttonTo(r, "admin policy project-plan-3 disabled") {
			t.Errorf("admin policy project disabled: want a choice of both Project plans; got:\n%s", text(r))
		}
	})
}

func TestAdminPolicyRefused(t *testing.T) {
	e := newEnv(t)
	before := e.snapshot()
	for _, tt := range []struct {
		as         who
		line, want string
	}{
		{dave, "admin policy visio hidden", "“hidden” is not a policy: use enabled, trials-only or disabled."},
		{dave.de(), "admin richtlinie visio versteckt", "„versteckt“ ist keine Richtlinie"},
		{dave, "admin policy tiny trials-only", "Tiny Tool has no trial, so it cannot be trials only"},
		{dave, "admin policy excel disabled", "No product matches “excel”."},
		{dave, "admin policy disabled", "Choose a product."},
		{alice, "admin policy visio disabled", "Only administrators can use this command."},
	} {
		t.Run(tt.line, func(t *testing.T) {
			wantMessage(t, e.at(t).run(tt.as, tt.line), tt.want)
		})
	}
	e.wantUnchanged(before)
}

// TestPolicyUses goes through each policy with each way of buying or
// trying a product: the catalog, buy and trial on the command line and in
// their forms, and a trial's conversion.
func TestPolicyUses(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	e.buyer(bob)
	trial := e.trial(bob, "project-plan-3") // before any policy: it goes on

	// Enabled (the default): everything is offered.
	wantText(t, e.run(alice, "catalog"), "Visio Plan 2 |", "30 days, 25 licenses")
	wantForm(t, e.run(alice, "buy visio"), commands.FormBuy)

	// Trials only.
	e.setPolicy("visio-plan-2", "trials-only")
	r := e.run(alice, "catalog")
	wantText(t, r, "Visio Plan 2 | €12.60 | €151.20 | EUR | 30 days, 25 licenses – trial only")
	r = e.run(alice, "buy visio")
	wantMessage(t, r, "Your organization's admins allow only trials of Visio Plan 2: it cannot be bought here.")
	if !buttonTo(r, "trial visio-plan-2") {
		t.Errorf("buy of a trials-only product: no button to try it:\n%s", text(r))
	}
	f := wantForm(t, e.run(alice, "buy"), commands.FormBuy)
	if got := options(t, f, "product"); strings.Contains(strings.Join(got, " "), "visio") {
		t.Errorf("buy form offers %v, want no Visio", got)
	}
	before := e.snapshot()
	wantFieldError(t, e.send(alice, e.buyForm(alice, "visio-plan-2", 2, store.Monthly)), "product",
		"allow only trials of Visio Plan 2")
	e.wantUnchanged(before, ":idem:")
	f = wantForm(t, e.run(alice, "trial"), commands.FormTrial)
	if got := options(t, f, "product"); !strings.Contains(strings.Join(got, " "), "visio-plan-2") {
		t.Errorf("trial form offers %v, want Visio among them", got)
	}
	sub := e.trial(alice, "visio-plan-2")

	// Its conversion is a purchase: refused, on the command line, in the
	// form, and its products entry offers no Buy button.
	wantMessage(t, e.run(alice, "buy visio"), "allow only trials of Visio Plan 2")
	before = e.snapshot()
	wantFieldError(t, e.send(alice, e.buyForm(alice, "visio-plan-2", 25, store.Monthly)), "product", "allow only trials")
	e.wantUnchanged(before, ":idem:")
	if r := e.run(alice, "products"); buttonTo(r, "buy visio-plan-2") || !buttonTo(r, "assign "+sub) {
		t.Errorf("products: a trial of a trials-only product offers Buy, or no Assign:\n%s", text(r))
	}
	if s := e.sub("T1", sub); s.Status != store.StatusTrial {
		t.Errorf("the trial is %s, want still a trial", s.Status)
	}

	// Disabled: hidden from the catalog, neither bought nor tried.
	e.setPolicy("project-plan-3", "disabled")
	e.setPolicy("teams-premium", "disabled")
	r = e.run(carol, "catalog")
	wantText(t, r, "2 products are not offered in your organization.")
	if strings.Contains(text(r), "Project Plan 3") || strings.Contains(text(r), "Teams Premium") {
		t.Errorf("catalog shows a disabled product:\n%s", text(r))
	}
	r = e.run(carol, "buy project plan 3")
	wantMessage(t, r, "Project Plan 3 is not available in this organization.")
	if len(r.Messages[0].Buttons) != 0 {
		t.Errorf("buy of a disabled product offers %+v", r.Messages[0].Buttons)
	}
	wantMessage(t, e.run(carol, "trial teams"), "Teams Premium is not available in this organization.")
	// "project" names an offered product too: that one is meant.
	wantForm(t, e.run(alice, "buy project"), commands.FormBuy)
	// Visio's trial is used, the others disabled: none to start.
	wantMessage(t, e.run(carol, "trial"), "There are no trials left to start in your organization.")
	before = e.snapshot()
	wantFieldError(t, e.send(carol, form(commands.FormTrial, "", "product", "teams-premium")), "product",
		"Teams Premium is not available in this organization.")
	e.wantUnchanged(before, ":idem:")
	// A trial of a disabled product goes on; buying it is refused.
	if s := e.sub("T1", trial); s.Status != store.StatusTrial {
		t.Errorf("bob's trial is %s after its product was disabled, want a trial still", s.Status)
	}
	wantFieldError(t, e.send(bob, e.buyForm(bob, "project-plan-3", 1, store.Monthly)), "product",
		"Project Plan 3 is not available in this organization.")

	// Enabled again: bought and converted as before.
	e.setPolicy("visio-plan-2", "enabled")
	r = e.send(alice, e.buyForm(alice, "visio-plan-2", 25, store.Monthly))
	wantText(t, r, "Payment in progress")
	e.charge()
	if s := e.sub("T1", sub); s.Status != store.StatusActive || s.Total != 25 {
		t.Errorf("converted trial = %s, %d licenses; want active, 25", s.Status, s.Total)
	}

	// German.
	wantMessage(t, e.run(hugo, "kaufen teams"), "Teams Premium ist in dieser Organisation nicht verfügbar.")
	wantText(t, e.run(hugo, "katalog"), "2 Produkte werden in Ihrer Organisation nicht angeboten.")
}

// TestPolicyKeepsSubscriptions: disabling a product touches none of its
// subscriptions: licenses, assignments and renewals go on.
func TestPolicyKeepsSubscriptions(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	sub := e.buy(alice, "visio-plan-2", 2)
	e.setPolicy("visio-plan-2", "disabled")
	e.assign(alice, sub, "U2")
	wantText(t, e.run(alice, "products"), "Visio Plan 2")
	r := e.send(alice, form(commands.FormLicenses, sub, "total", "1"))
	if len(r.FieldErrors) > 0 {
		t.Fatalf("licenses of a disabled product's subscription: %v", r.FieldErrors)
	}
	e.clock.Add(0, 1, 0)
	e.charge()
	if s := e.sub("T1", sub); s.Status != store.StatusActive || !s.RenewsAt.After(e.clock.Now()) {
		t.Errorf("after its renewal: %s, renews %v; want active, renewed", s.Status, s.RenewsAt)
	}
}

// TestPolicyPendingConfirmation: a purchase waits for its confirmation
// while an admin disables the product; Pay then buys nothing.
func TestPolicyPendingConfirmation(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	asked := e.submit(alice, "k1", e.buyForm(alice, "visio-plan-2", 3, store.Monthly))
	if asked.Confirm == nil {
		t.Fatalf("want a confirmation; got:\n%s", text(asked))
	}
	e.setPolicy("visio-plan-2", "disabled")
	before := e.snapshot()
	r := e.confirm(alice, asked)
	wantFieldError(t, r, "product", "Visio Plan 2 is not available in this organization.")
	e.wantUnchanged(before, ":idem:")
	if n := len(e.invoices(alice)); n != 0 {
		t.Errorf("%d invoices after a refused purchase, want none", n)
	}
}

// policyRace sets a product's policy just before the next script that
// reads it runs: after the request read its view, before its change.
type policyRace struct {
	admin   *redis.Client
	product string
	policy  store.Policy
	done    bool
}

func (h *policyRace) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *policyRace) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.before(ctx, []redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}
func (h *policyRace) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.before(ctx, cmds)
		return next(ctx, cmds)
	}
}

func (h *policyRace) before(ctx context.Context, cmds []redis.Cmder) {
	for _, c := range cmds {
		if h.done || (c.Name() != "evalsha" && c.Name() != "eval") {
			continue
		}
		// A change that checks the policy ends its own arguments with the
		// product and its catalog default (the view lists products too,
		// but not so).
		args := c.Args()
		for i := range len(args) - 1 {
			if args[i] == h.product && args[i+1] == "enabled" {
				h.done = true
				h.admin.HSet(ctx, "bb:{T1}:settings", "policy:"+h.product, string(h.policy))
				return
			}
		}
	}
}

// TestPolicyRace: the admin's change comes between the request's read of
// the policy and its write; the store's script, which reads the policy
// again, refuses the purchase (or the trial), and nothing is written.
func TestPolicyRace(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		e.buyer(alice)
		admin := redis.NewClient(&redis.Options{Addr: e.addr})
		t.Cleanup(func() { admin.Close() })
		trial := e.trial(alice, "project-plan-3")
		for _, tt := range []struct {
			name, product string
			policy        store.Policy
			send          func() commands.Response
		}{
			{"purchase, trials only", "visio-plan-2", store.PolicyTrialsOnly, func() commands.Response {
				return e.send(alice, e.buyForm(alice, "visio-plan-2", 3, store.Monthly))
			}},
			{"trial, disabled", "visio-plan-2", store.PolicyDisabled, func() commands.Response {
				return e.send(alice, form(commands.FormTrial, "", "product", "visio-plan-2"))
			}},
			{"conversion, trials only", "project-plan-3", store.PolicyTrialsOnly, func() commands.Response {
				return e.send(alice, e.buyForm(alice, "project-plan-3", 25, store.Monthly))
			}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				admin.HDel(t.Context(), "bb:{T1}:settings", "policy:"+tt.product)
				h := &policyRace{admin: admin, product: tt.product, policy: tt.policy}
				e.rdb.AddHook(h)
				defer func() { h.done = true }()
				r := tt.send()
				if !h.done {
					t.Fatalf("no change checked the policy; response:\n%s", text(r))
				}
				wantFieldError(t, r, "product", "Your organization's admins have just changed what is allowed of")
				for _, s := range e.view(alice).Subs {
					if s.ID != trial || s.Status != store.StatusTrial {
						t.Errorf("alice has %s %s after the refusal, want only her trial", s.ProductID, s.Status)
					}
				}
				if n := len(e.invoices(alice)); n != 0 {
					t.Errorf("%d invoices after the refusal, want none", n)
				}
			})
		}
	})
}

// TestPolicyCatalogDefault: the catalog's policy holds until an admin sets
// another; then the admin's holds, whatever the catalog says.
func TestPolicyCatalogDefault(t *testing.T) {
	e := newEnv(t)
	for i, p := range e.cat.Products {
		switch p.ID {
		case "visio-plan-2":
			e.cat.Products[i].Policy = "trials-only"
		case "teams-premium":
			e.cat.Products[i].Policy = "disabled"
		}
	}
	e.bot = e.newBot()
	e.buyer(alice)
	wantText(t, e.run(alice, "catalog"), "30 days, 25 licenses – trial only", "1 product is not offered in your organization.")
	wantMessage(t, e.run(alice, "buy visio"), "allow only trials of Visio Plan 2")
	wantMessage(t, e.run(alice, "trial teams"), "Teams Premium is not available in this organization.")
	wantText(t, e.run(dave, "admin policy"), "Visio Plan 2 | trials only (the catalog's default)",
		"Teams Premium | disabled (the catalog's default)", "Project Plan 1 | enabled (the catalog's default)")

	// The catalog's own policy again changes nothing.
	wantMessage(t, e.run(dave, "admin policy teams disabled"), "already")
	e.setPolicy("teams-premium", "enabled")
	wantText(t, e.run(dave, "admin policy"), "Teams Premium | enabled\n")
	r := e.send(alice, e.buyForm(alice, "teams-premium", 2, store.Monthly))
	wantText(t, r, "Payment in progress")
}

// TestPolicyManyProducts: the list names every product, with buttons for
// the first 20 and a word on how to set the others.
func TestPolicyManyProducts(t *testing.T) {
	e := newEnv(t)
	var toml strings.Builder
	for i := range 25 {
		fmt.Fprintf(&toml, "[[product]]\nid = \"p%d\"\nname = \"Product %d\"\ncurrency = \"EUR\"\nmonthly_price = 100\nmax_licenses = 10\n", i+1, i+1)
	}
	cat, err := catalog.Parse("many.toml", []byte(toml.String()))
	if err != nil {
		t.Fatal(err)
	}
	e.cat = cat
	e.bot = e.newBot()
	r := e.run(dave, "admin policy")
	wantMessage(t, r, "Product 25 | enabled (the catalog's default)",
		"5 more products are not shown: change their policies with /billing admin policy PRODUCT POLICY.")
	if len(r.Messages) != 21 || !buttonTo(r, "admin policy p20 disabled") || buttonTo(r, "admin policy p21 disabled") {
		t.Errorf("admin policy of 25 products: %d messages, want the head and 20 with buttons:\n%s", len(r.Messages), text(r))
	}
	e.setPolicy("p25", "disabled")
	wantText(t, e.run(dave, "admin policy"), "Product 25 | disabled\n")
}
