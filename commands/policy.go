package commands

import (
	"errors"
	"strings"

	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/store"
)

// Per-product policy: an organization's admins say, for each product of
// the catalog, whether its members may buy and try it (enabled), only try
// it (trials-only) or neither (disabled); without their word, the
// catalog's policy holds. catalog, buy and trial offer only what the
// policy allows and say why the rest is missing; the scripts that buy,
// convert or try read the policy again when they make the change
// (store.Once.Policy), so that a confirmation clicked after an admin
// disabled the product buys nothing. A policy never touches existing
// subscriptions.

// policyWords are the words admin policy takes (English and German).
var policyWords = map[string]store.Policy{
	"enabled": store.PolicyEnabled, "enable": store.PolicyEnabled, "on": store.PolicyEnabled,
	"aktiviert": store.PolicyEnabled, "aktivieren": store.PolicyEnabled, "ein": store.PolicyEnabled,
	"trials-only": store.PolicyTrialsOnly, "trial-only": store.PolicyTrialsOnly, "trials": store.PolicyTrialsOnly,
	"nur-testversionen": store.PolicyTrialsOnly, "nur-testversion": store.PolicyTrialsOnly, "testversionen": store.PolicyTrialsOnly,
	"disabled": store.PolicyDisabled, "disable": store.PolicyDisabled, "off": store.PolicyDisabled,
	"deaktiviert": store.PolicyDisabled, "deaktivieren": store.PolicyDisabled, "aus": store.PolicyDisabled,
}

// isPolicyCmd reports whether the words after admin ask for the products'
// policies ("admin policy …", "admin richtlinie …").
func isPolicyCmd(args []string) bool {
	return len(args) > 0 && (strings.EqualFold(args[0], "policy") || strings.EqualFold(args[0], "richtlinie"))
}

// policy is the organization's policy of a product now: what its admins
// set, else the catalog's.
func (c *call) policy(p catalog.Product) store.Policy {
	if pol, ok := c.view.Settings.Policies.Of(p.ID); ok {
		return pol
	}
	return store.Policy(p.DefaultPolicy())
}

// offered keeps the products the policy lets members try (trial) or buy.
func (c *call) offered(trial bool) func(catalog.Product) bool {
	return func(p catalog.Product) bool { return c.policy(p).Allows(trial) }
}

// policyCheck is the condition under which the store makes a change that
// buys (or converts a trial of) or tries p.
func policyCheck(p catalog.Product, trial bool) *store.PolicyCheck {
	return &store.PolicyCheck{Product: p.ID, Default: store.Policy(p.DefaultPolicy()), Trial: trial}
}

// notOffered says why the policy does not let members try (trial) or buy p.
func (c *call) notOffered(p catalog.Product, trial bool) string {
	if !trial && c.policy(p) == store.PolicyTrialsOnly {
		return c.t.T("PolicyOnlyTrials", "Product", p.Name)
	}
	return c.t.T("PolicyNotAvailable", "Product", p.Name)
}

// refuseNotOffered answers a command line whose words name only products
// the policy does not let members try (trial) or buy: why, and for a
// product that may only be tried, a button to try it when that is still
// possible. ok is false when some product is offered, or none matches.
func (c *call) refuseNotOffered(words []string, trial bool) (Response, bool) {
	matches := c.b.catalog.Find(strings.Join(words, " "))
	if len(matches) == 0 || len(words) == 0 {
		return Response{}, false
	}
	var why []string
	var buttons []Button
	for _, p := range matches {
		if c.policy(p).Allows(trial) {
			return Response{}, false
		}
		if len(why) < 20 {
			why = append(why, c.notOffered(p, trial))
		}
		if _, used := c.view.Trials[p.ID]; !trial && p.HasTrial() && !used && c.policy(p).Allows(true) && len(buttons) < 5 {
			buttons = append(buttons, Button{Label: c.t.T("BtnTrial"), Command: "trial " + p.ID, Style: StylePrimary})
		}
	}
	r := c.fail(strings.Join(why, "\n"))
	r.Messages[0].Buttons = buttons
	return r, true
}

// policyName is a policy as the user reads it.
func (c *call) policyName(p store.Policy) string {
	switch p {
	case store.PolicyTrialsOnly:
		return c.t.T("PolicyTrialsOnly")
	case store.PolicyDisabled:
		return c.t.T("PolicyDisabled")
	}
	return c.t.T("PolicyEnabled")
}

// adminPolicy runs "admin policy [product] [policy]": alone it lists every
// product's policy with buttons to change it; with a product, it shows
// that one; with a policy too, it sets it.
func adminPolicy(c *call) Response {
	words := c.args[1:]
	if len(words) == 0 {
		return c.policies()
	}
	last := strings.ToLower(words[len(words)-1])
	pol, isPolicy := policyWords[last]
	if !isPolicy {
		if ps := c.b.catalog.Find(strings.Join(words, " ")); len(ps) > 0 || len(words) == 1 {
			p, r := c.pickProduct(words, anyProduct, "admin policy", "")
			if r != nil {
				return *r
			}
			return Response{Messages: []Message{c.policyMessage(p)}}
		}
		return c.fail(c.t.T("PolicyErrWord", "Word", shown(words[len(words)-1])))
	}
	if len(words) == 1 {
		return c.fail(c.t.T("ErrChooseProduct"))
	}
	p, r := c.pickProduct(words[:len(words)-1], anyProduct, "admin policy", string(pol))
	if r != nil {
		return *r
	}
	return c.setPolicy(p, pol)
}

// policies lists every product's policy, with buttons to change those of
// the first mostPolicies.
func (c *call) policies() Response {
	const mostPolicies = 20
	head := Message{Title: c.t.T("PolicyTitle"), Text: c.t.T("PolicyIntro"),
		Table: &Table{Columns: []string{c.t.T("ColProduct"), c.t.T("PolicyCol")}}}
	msgs := []Message{}
	for i, p := range c.b.catalog.Products {
		m := c.policyMessage(p)
		head.Table.Rows = append(head.Table.Rows, []string{p.Name, m.Text})
		if i < mostPolicies {
			msgs = append(msgs, m)
		}
	}
	if n := len(c.b.catalog.Products) - mostPolicies; n > 0 {
		head.Text += "\n" + c.t.N("PolicyMore", n)
	}
	return Response{Messages: append([]Message{head}, msgs...)}
}

// policyMessage shows a product's policy, with buttons to the others.
func (c *call) policyMessage(p catalog.Product) Message {
	pol := c.policy(p)
	text := c.policyName(pol)
	if _, set := c.view.Settings.Policies.Of(p.ID); !set {
		text = c.t.T("PolicyFromCatalog", "Policy", text)
	}
	m := Message{Title: p.Name, Text: text}
	for _, b := range []struct {
		pol   store.Policy
		label string
	}{{store.PolicyEnabled, "PolicyBtnEnable"}, {store.PolicyTrialsOnly, "PolicyBtnTrialsOnly"}, {store.PolicyDisabled, "PolicyBtnDisable"}} {
		if b.pol == pol || b.pol == store.PolicyTrialsOnly && !p.HasTrial() {
			continue
		}
		// The label names the product: Discord shows the buttons of
		// several messages together, below their texts.
		btn := Button{Label: c.t.T(b.label, "Product", p.Name), Command: "admin policy " + p.ID + " " + string(b.pol)}
		if b.pol == store.PolicyDisabled {
			btn.Style = StyleDanger
		}
		m.Buttons = append(m.Buttons, btn)
	}
	return m
}

// setPolicy sets the organization's policy of p, once: audited and
// notified to the admins in the same step; the policy it has already
// changes nothing.
func (c *call) setPolicy(p catalog.Product, pol store.Policy) Response {
	if pol == store.PolicyTrialsOnly && !p.HasTrial() {
		return c.fail(c.t.T("PolicyErrNoTrial", "Product", p.Name))
	}
	back := []Button{{Label: c.t.T("PolicyBtnList"), Command: "admin policy"}}
	resp := Response{Messages: []Message{{Text: c.t.T("PolicySet", "Product", p.Name, "Policy", c.policyName(pol)), Buttons: back}}}
	n := Notification{Org: c.req.Org, Kind: NotePolicy, Key: "policy:" + p.ID + ":" + c.req.IdempotencyKey,
		Sub: NotifiedSub{ProductID: p.ID, Product: p.Name, Purchaser: c.req.User.Name, Policy: string(pol)}}
	// A retried request (its platform id) gets its first answer; a second
	// click is a request of its own, which finds the policy set already.
	once := store.Once{Key: "policy:" + c.req.IdempotencyKey, Reply: c.record(resp), Note: n.Note()}
	res, _, changed, err := c.b.store.SetPolicy(c.ctx, once, c.req.Org, c.req.User.ID, p.ID, pol,
		store.Policy(p.DefaultPolicy()))
	switch {
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	case !changed:
		return Response{Messages: []Message{{Text: c.t.T("PolicySame", "Product", p.Name, "Policy", c.policyName(pol)), Buttons: back}}}
	}
	return resp
}

// policyRefused is the buy or trial form's answer when the store refused
// the change because an admin changed the product's policy meanwhile.
func (c *call) policyRefused(err error, p catalog.Product) (Response, bool) {
	if !errors.Is(err, store.ErrPolicy) {
		return Response{}, false
	}
	return Response{FieldErrors: fieldErrors{"product": c.t.T("PolicyChanged", "Product", p.Name)}}, true
}
