package commands

import (
	"slices"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// Spec describes a subcommand of /billing for help, Discord's command
// definitions and Slack's manifest; the same list drives the parser.
type Spec struct {
	Name   string // English name, e.g. "buy"
	NameDE string // German name, e.g. "kaufen"
	Desc   string // message id of the one-line description
	Args   []Arg
	Admin  bool // only for admins
}

// Arg is a subcommand's argument.
type Arg struct {
	Name     string // English, e.g. "product"
	NameDE   string // German, e.g. "produkt"
	Desc     string // message id
	Kind     ArgKind
	Min, Max int      // ArgCount
	Choices  []string // ArgChoice: the accepted words
	// ChoicesDE are the Choices in German, in the same order, as help,
	// command lines and Discord's choices show them to German users (the
	// core reads both).
	ChoicesDE []string
	// Keyword says the command line names the argument before its value
	// ("admin channel #billing", "admin language de").
	Keyword bool
	// Hint, HintDE are what help shows after a keyword whose value is
	// neither a channel nor a choice ("policy PRODUCT POLICY").
	Hint, HintDE string
	// Help is the message id of a keyword's own row in help ("admin
	// policy PRODUCT POLICY": what it does), for a command of many.
	Help string
}

// ArgKind is what an argument holds.
type ArgKind string

// Argument kinds.
const (
	ArgProduct      ArgKind = "product"      // a product id or name prefix
	ArgSubscription ArgKind = "subscription" // a subscription id or product name prefix
	ArgCount        ArgKind = "count"        // a whole number
	ArgUsers        ArgKind = "users"        // people (mentions)
	ArgChoice       ArgKind = "choice"       // one of Choices
	ArgText         ArgKind = "text"         // free text
)

// spec is a Spec with its handler.
type spec struct {
	Spec
	view func(args []string, now time.Time) store.ViewOptions
	run  func(*call) Response
	// aliases are more words that name the command (e.g. "kuendigen").
	aliases []string
	// words are the English words the subcommand reads after its name
	// that are neither an Arg's keyword nor a choice (actions, values),
	// with their German form: CommandLine writes that for German users,
	// and the subcommand reads both (TestGermanCommandLines runs them).
	words map[string]string
	admin bool
}

// Specs lists the subcommands, in the order help shows them.
func (b *Bot) Specs() []Spec {
	out := make([]Spec, len(b.specs))
	for i, s := range b.specs {
		out[i] = s.Spec
	}
	return out
}

func (b *Bot) commandSpecs() []spec {
	sub := Arg{Name: "subscription", NameDE: "abonnement", Desc: "ArgSubscription", Kind: ArgSubscription}
	product := Arg{Name: "product", NameDE: "produkt", Desc: "ArgProduct", Kind: ArgProduct}
	trials := func([]string, time.Time) store.ViewOptions {
		return store.ViewOptions{TrialProducts: b.trialProducts()}
	}
	return []spec{
		{Spec: Spec{Name: "help", NameDE: "hilfe", Desc: "CmdHelp"}, run: helpCmd},
		{Spec: Spec{Name: "products", NameDE: "produkte", Desc: "CmdProducts",
			Args: []Arg{{Name: "filter", NameDE: "filter", Desc: "ArgFilter", Kind: ArgChoice, Choices: []string{"self-service", "all"},
				ChoicesDE: []string{"self-service", "alle"}}}},
			view: productsView, run: productsCmd},
		{Spec: Spec{Name: "catalog", NameDE: "katalog", Desc: "CmdCatalog"}, view: trials, run: catalogCmd},
		{Spec: Spec{Name: "buy", NameDE: "kaufen", Desc: "CmdBuy",
			Args: []Arg{product, {Name: "count", NameDE: "anzahl", Desc: "ArgCount", Kind: ArgCount, Min: 1, Max: b.maxLicenses()}}},
			run: buyCmd},
		{Spec: Spec{Name: "trial", NameDE: "testen", Desc: "CmdTrial", Args: []Arg{product}}, view: trials, run: trialActions(trialCmd),
			words: map[string]string{"remind": "erinnern", "end": "beenden", "confirm": "bestätigen"}},
		{Spec: Spec{Name: "licenses", NameDE: "lizenzen", Desc: "CmdLicenses",
			Args: []Arg{sub, {Name: "total", NameDE: "gesamt", Desc: "ArgTotal", Kind: ArgCount, Min: 1, Max: b.maxLicenses()}}},
			run: licensesCmd},
		{Spec: Spec{Name: "assign", NameDE: "zuweisen", Desc: "CmdAssign",
			Args: []Arg{sub, {Name: "users", NameDE: "benutzer", Desc: "ArgUsers", Kind: ArgUsers, Max: store.MaxAssign}}},
			run: assignCmd},
		{Spec: Spec{Name: "unassign", NameDE: "aufheben", Desc: "CmdUnassign", Args: []Arg{sub}}, run: unassignCmd},
		{Spec: Spec{Name: "cancel", NameDE: "kündigen", Desc: "CmdCancel", Args: []Arg{sub}}, run: cancelCmd,
			aliases: []string{"kuendigen"}},
		{Spec: Spec{Name: "payment", NameDE: "zahlung", Desc: "CmdPayment",
			Args: []Arg{{Name: "action", NameDE: "aktion", Desc: "ArgPaymentAction", Kind: ArgChoice,
				Choices: []string{"add", "edit", "replace", "remove"}, ChoicesDE: []string{"hinzufügen", "bearbeiten", "ersetzen", "entfernen"}},
				{Name: "method", NameDE: "methode", Desc: "ArgMethod", Kind: ArgText}}},
			run: paymentCmd},
		{Spec: Spec{Name: "invoices", NameDE: "rechnungen", Desc: "CmdInvoices",
			Args: []Arg{{Name: "range", NameDE: "zeitraum", Desc: "ArgRange", Kind: ArgText}}},
			view: invoicesView, run: invoicesCmd, words: map[string]string{"range": "zeitraum"}},
		{Spec: Spec{Name: "admin", NameDE: "admin", Desc: "CmdAdmin", Admin: true,
			Args: []Arg{{Name: "channel", NameDE: "kanal", Desc: "ArgChannel", Kind: ArgText, Keyword: true,
				Hint: "#name", HintDE: "#name", Help: "HelpAdminChannel"},
				{Name: "language", NameDE: "sprache", Desc: "ArgOrgLanguage", Kind: ArgChoice, Choices: []string{"de", "en", "auto"}, Keyword: true,
					Help: "HelpAdminLanguage"},
				{Name: "policy", NameDE: "richtlinie", Desc: "PolicyArg", Kind: ArgText, Keyword: true,
					Hint: "PRODUCT POLICY", HintDE: "PRODUKT RICHTLINIE", Help: "HelpAdminPolicy"},
				{Name: "approval", NameDE: "freigabe", Desc: "ArgApproval", Kind: ArgText, Keyword: true,
					Hint: "AMOUNT CURRENCY|off", HintDE: "BETRAG WÄHRUNG|aus", Help: "HelpAdminApproval"},
				{Name: "cap", NameDE: "limit", Desc: "ArgCap", Kind: ArgText, Keyword: true,
					Hint: "AMOUNT CURRENCY|off", HintDE: "BETRAG WÄHRUNG|aus", Help: "HelpAdminCap"},
				auditArg,
				{Name: "handover", NameDE: "übergabe", Desc: "ArgHandover", Kind: ArgChoice, Choices: []string{"show"},
					ChoicesDE: []string{"zeigen"}, Keyword: true, Help: "HelpAdminHandover"}}},
			view: adminView, run: adminCmd, admin: true, words: map[string]string{
				"default": "standard", "off": "aus", // channel default, approval|cap off
				"enabled": "aktiviert", "trials-only": "nur-testversionen", "disabled": "deaktiviert", // policy
				"requests": "anfragen", "approve": "genehmigen", "decline": "ablehnen", // approvals
				"all": "alle", "before": "vor", "after": "nach", // audit
				"take": "übernehmen", "cancel": "kündigen", // handover
			}},
		{Spec: Spec{Name: "language", NameDE: "sprache", Desc: "CmdLanguage",
			Args: []Arg{{Name: "language", NameDE: "sprache", Desc: "ArgLanguage", Kind: ArgChoice, Choices: []string{"de", "en", "auto"}}}},
			run: languageCmd},
		{Spec: Spec{Name: "support", NameDE: "support", Desc: "CmdSupport"}, run: supportCmd},
		{Spec: Spec{Name: "requests", NameDE: "anfragen", Desc: "CmdRequests",
			Args: []Arg{{Name: "withdraw", NameDE: "zurückziehen", Desc: "ArgWithdraw", Kind: ArgText, Keyword: true}}},
			run: requestsCmd},
	}
}

// lookup finds the subcommand a command line names; no words means help.
func (b *Bot) lookup(args []string) (spec, bool) {
	if len(args) == 0 {
		return b.specs[0], true
	}
	w := strings.ToLower(args[0])
	for _, s := range b.specs {
		if w == s.Name || w == s.NameDE {
			return s, true
		}
		for _, a := range s.aliases {
			if w == a {
				return s, true
			}
		}
	}
	return spec{}, false
}

// CommandLine is a command line the core runs (a Button.Command, in
// English) as the user would type it: the slash command as their platform
// shows it (Request.Command; "" for /billing), the subcommand and every
// word it reads in their language ("/abrechnung zuweisen 3x7…", "/billing
// zahlung bearbeiten …"); ids, numbers, dates and product ids as they are.
func (b *Bot) CommandLine(lang, command, line string) string {
	if !validCommand(command) {
		command = defaultCommand
	}
	words := strings.Fields(line)
	if s, ok := b.lookup(words); ok && len(words) > 0 {
		words[0] = s.name(lang)
		for i, w := range words[1:] {
			if _, product := b.catalog.Get(w); !product && lang == "de" {
				words[i+1] = s.german(w)
			}
		}
	}
	return strings.Join(append([]string{command}, words...), " ")
}

// german is a word of one of the subcommand's command lines after its
// name, in German: a keyword, a choice, one of its words or a list's page;
// any other word (an id, a number, a date) as it is.
func (s spec) german(w string) string {
	if de, ok := s.words[w]; ok {
		return de
	}
	if w == "page" { // a list's page (paging.go)
		return "seite"
	}
	for _, a := range s.Args {
		if a.Keyword && w == a.Name {
			return a.NameDE
		}
		if i := slices.Index(a.Choices, w); i >= 0 && len(a.ChoicesDE) == len(a.Choices) {
			return a.ChoicesDE[i]
		}
	}
	return w
}

// name is the command's name in the language.
func (s Spec) name(lang string) string {
	if lang == "de" {
		return s.NameDE
	}
	return s.Name
}

func (b *Bot) trialProducts() []string {
	var ids []string
	for _, p := range b.catalog.Products {
		if p.HasTrial() {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

func (b *Bot) maxLicenses() int {
	most := 1
	for _, p := range b.catalog.Products {
		most = max(most, p.MaxLicenses)
	}
	return most
}

func adminOnly(run func(*call) Response) func(*call) Response {
	return func(c *call) Response {
		if !c.isAdmin() {
			return c.fail(c.t.T("ErrAdminOnly"))
		}
		return run(c)
	}
}
