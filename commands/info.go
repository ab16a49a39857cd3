package commands

import (
	"errors"
	"strings"

	"github.com/billingbot/billingbot/store"
)

// The read-only commands: help, products, catalog, support, admin overview,
// and the user's language.

func helpCmd(c *call) Response {
	lang := c.t.lang
	rows := make([][]string, 0, len(c.b.specs))
	for _, s := range c.b.specs {
		if s.admin && !c.isAdmin() {
			continue
		}
		name := c.t.cmd + " " + s.name(lang)
		usage, own := name, [][]string{}
		for _, a := range s.Args {
			if a.Help != "" {
				own = append(own, []string{name + " " + a.usage(lang), c.t.T(a.Help)})
				continue
			}
			usage += " [" + a.usage(lang) + "]"
		}
		rows = append(append(rows, []string{usage, c.t.T(s.Desc)}), own...)
	}
	return Response{Messages: []Message{{
		Title: c.t.T("HelpTitle"),
		Text:  c.t.T("HelpIntro"),
		Table: &Table{Columns: []string{c.t.T("ColCommand"), c.t.T("ColDescription")}, Rows: rows},
	}}}
}

// usage is how help shows the argument: its name, or for a keyword its
// name and what follows it ("channel #name", "language de|en|auto").
func (a Arg) usage(lang string) string {
	switch {
	case !a.Keyword:
		return a.name(lang)
	case len(a.Choices) > 0:
		return a.name(lang) + " " + strings.Join(a.choices(lang), "|")
	case a.Hint != "" && lang == "de":
		return a.name(lang) + " " + a.HintDE
	case a.Hint != "":
		return a.name(lang) + " " + a.Hint
	}
	return a.name(lang) + " …" // a value of its own ("withdraw ID")
}

func (a Arg) name(lang string) string {
	if lang == "de" {
		return a.NameDE
	}
	return a.Name
}

// choices are the argument's choices in the language.
func (a Arg) choices(lang string) []string {
	if lang == "de" && len(a.ChoicesDE) == len(a.Choices) {
		return a.ChoicesDE
	}
	return a.Choices
}

func productsCmd(c *call) Response {
	_, args, bad, ok := pageArg(c.args) // the view read the page: c.view.SubsPage
	if !ok {
		return c.badPage(bad)
	}
	selfServiceOnly, line := false, "products"
	if len(args) > 0 {
		switch {
		case isSelfServiceWord(args[0]):
			selfServiceOnly, line = true, "products self-service"
		case strings.EqualFold(args[0], "all"), strings.EqualFold(args[0], "alle"):
		default:
			return c.fail(c.t.T("ErrBadFilter", "Filter", shown(args[0])))
		}
	}
	var msgs []Message
	for _, s := range c.view.Subs {
		mine := s.Purchaser.ID == c.req.User.ID
		m := Message{Title: s.ProductName, Fields: c.subFields(s, !mine)}
		if !mine {
			m.Text = c.t.T("LicenseFrom", "Purchaser", s.Purchaser.Name)
			m.Fields = m.Fields[:len(m.Fields)-1] // others' assignments are not the user's business
		} else if s.Live() {
			m.Buttons = c.subButtons(s)
		}
		msgs = append(msgs, m)
	}
	if hidden := c.view.SubsHidden; len(msgs) == 0 && hidden > 0 {
		// The filter hid everything: say so, not that there is nothing.
		return Response{Messages: []Message{{Title: c.t.T("YourProducts"),
			Text:    c.t.T("ProductsSelfServiceOnly") + "\n" + c.t.N("NoSelfService", hidden),
			Buttons: []Button{{Label: c.t.T("BtnAllProducts"), Command: "products"}}}}}
	}
	if len(msgs) == 0 {
		return Response{Messages: []Message{{Title: c.t.T("YourProducts"), Text: c.t.T("NoProducts"),
			Buttons: []Button{{Label: c.t.T("BtnCatalog"), Command: "catalog"}}}}}
	}
	head := Message{Title: c.t.T("YourProducts"), Text: c.t.N("ProductsCount", c.view.SubsTotal)}
	if selfServiceOnly {
		head.Text = c.t.T("ProductsSelfServiceOnly") + "\n" + head.Text
		head.Buttons = []Button{{Label: c.t.T("BtnAllProducts"), Command: "products"}}
	}
	c.pageControls(&head, line, c.view.SubsPage, c.view.SubsTotal, productsPageSize)
	return Response{Messages: append([]Message{head}, msgs...)}
}

// subButtons are the common actions on one's own live subscription.
func (c *call) subButtons(s store.Subscription) []Button {
	b := []Button{{Label: c.t.T("BtnAssign"), Command: "assign " + s.ID, Style: StylePrimary}}
	if s.AssignedCount > 0 {
		b = append(b, Button{Label: c.t.T("BtnUnassign"), Command: "unassign " + s.ID})
	}
	if p, ok := c.b.catalog.Get(s.ProductID); s.Status == store.StatusTrial && (!ok || c.policy(p).Allows(false)) {
		b = append(b, Button{Label: c.t.T("BtnBuy"), Command: "buy " + s.ProductID})
	} else if s.Status != store.StatusTrial {
		b = append(b, Button{Label: c.t.T("BtnLicenses"), Command: "licenses " + s.ID})
	}
	return append(b, Button{Label: c.t.T("BtnCancel"), Command: "cancel " + s.ID, Style: StyleDanger})
}

func catalogCmd(c *call) Response {
	rows := make([][]string, 0, len(c.b.catalog.Products))
	hidden := 0
	for _, p := range c.b.catalog.Products {
		pol := c.policy(p)
		if pol == store.PolicyDisabled {
			hidden++
			continue
		}
		trial := c.t.T("NoTrial")
		if p.HasTrial() {
			trial = c.t.T("TrialOffer", "Days", c.t.N("Days", p.TrialDays), "Licenses", c.t.N("Licenses", p.TrialLicenses))
			if _, used := c.view.Trials[p.ID]; used {
				trial = c.t.T("TrialUsed")
			}
		}
		if pol == store.PolicyTrialsOnly {
			trial = c.t.T("PolicyTrialOnly", "Trial", trial)
		}
		rows = append(rows, []string{
			p.Name,
			c.t.Money(p.Price(1), p.Currency),
			c.t.Money(p.Price(12), p.Currency),
			p.Currency,
			trial,
		})
	}
	m := Message{
		Title: c.t.T("CatalogTitle"),
		Text:  c.t.T("CatalogIntro"),
		Table: &Table{Columns: []string{c.t.T("ColProduct"), c.t.T("ColPerMonth"), c.t.T("ColPerYear"),
			c.t.T("ColCurrency"), c.t.T("ColTrial")}, Rows: rows},
		Buttons: []Button{{Label: c.t.T("BtnBuy"), Command: "buy", Style: StylePrimary},
			{Label: c.t.T("BtnTrial"), Command: "trial"}},
	}
	if hidden > 0 {
		m.Text += "\n" + c.t.N("PolicyHidden", hidden)
	}
	if len(rows) == 0 {
		m.Table, m.Buttons = nil, nil
	}
	return Response{Messages: []Message{m}}
}

func supportCmd(c *call) Response {
	s := c.b.cfg.Support
	m := Message{Title: c.t.T("SupportTitle"), Text: c.t.T("SupportText")}
	if s.FAQ != "" {
		m.Buttons = append(m.Buttons, Button{Label: c.t.T("BtnFAQ"), URL: s.FAQ})
	}
	if s.URL != "" {
		m.Buttons = append(m.Buttons, Button{Label: c.t.T("BtnSupport"), URL: s.URL})
	}
	if s.Email != "" {
		m.Fields = append(m.Fields, Field{c.t.T("FieldEmail"), s.Email})
	}
	if s.FAQ == "" && s.URL == "" && s.Email == "" {
		// No support to contact: the organization's admins are who helps.
		m.Text = c.t.T("SupportAskAdmin")
		if m.Contacts = c.admins(); len(m.Contacts) > 0 {
			// The people follow the text that introduces them: the
			// questions come first.
			m.Text = c.t.T("FAQ") + "\n\n" + c.t.N("SupportAdmins", len(m.Contacts))
			return Response{Messages: []Message{m}}
		}
	}
	m.Text += "\n\n" + c.t.T("FAQ")
	return Response{Messages: []Message{m}}
}

// admins are the organization's admins as the platform says, and those
// the deployment names (Config.Admins) that are people of the
// organization: humans, active, each once, at most MaxContacts. A lookup
// that fails leaves out whom it would have found.
func (c *call) admins() []Member {
	var out []Member
	seen := map[string]bool{}
	add := func(m Member) {
		if m.Bot || m.Gone || !store.ValidID(m.ID) || seen[m.ID] || len(out) == MaxContacts {
			return
		}
		seen[m.ID] = true
		m.Name = shown(m.Name)
		out = append(out, m)
	}
	found, err := c.req.Members.Admins(c.ctx)
	if err != nil {
		c.b.log.Warn("admins lookup", "org", c.req.Org, "err", err)
	}
	for _, m := range found {
		add(m)
	}
	for _, id := range c.b.cfg.Admins {
		if len(out) == MaxContacts {
			break
		}
		if m, err := c.req.Members.Member(c.ctx, id); err == nil {
			add(m)
		}
	}
	return out
}

func languageCmd(c *call) Response {
	if len(c.args) == 0 {
		current := c.t.T("LangAuto")
		if c.view.Prefs.Lang != "" {
			current = c.langName(c.view.Prefs.Lang)
		}
		return Response{Messages: []Message{{
			Text: c.t.T("LanguageCurrent", "Language", current),
			Buttons: []Button{{Label: "Deutsch", Command: "language de"}, {Label: "English", Command: "language en"},
				{Label: c.t.T("LangAuto"), Command: "language auto"}},
		}}}
	}
	lang, ok := langArg(c.args[0])
	if !ok {
		return c.fail(c.t.T("ErrBadLanguage", "Language", shown(c.args[0])))
	}
	if err := c.b.store.SetPrefs(c.ctx, c.req.Org, c.req.User.ID, store.Prefs{Lang: lang}); err != nil {
		return c.storeFault(err)
	}
	c.t = c.tr(langOf(lang, c.req.Locale))
	return c.fail(c.t.T("LanguageSet"))
}

func adminCmd(c *call) Response {
	if len(c.args) > 0 && isHandoverWord(c.args[0]) {
		return c.handoverCmd()
	}
	if isPolicyCmd(c.args) {
		return adminPolicy(c)
	}
	if len(c.args) > 0 && isAuditWord(c.args[0]) {
		return auditCmd(c)
	}
	if len(c.args) > 0 && !isPageWord(c.args[0]) {
		if r, ok := c.adminApprovals(); ok {
			return r
		}
		return c.adminSettings()
	}
	if _, rest, bad, ok := pageArg(c.args); !ok || len(rest) > 0 {
		return c.badPage(bad)
	}
	var msgs []Message
	rows := [][]string{}
	for _, s := range c.view.Subs { // one page of the organization's self-service subscriptions
		rows = append(rows, []string{s.ProductName, s.Purchaser.Name,
			c.t.T("AssignedOf", "Assigned", c.t.Num(s.AssignedCount), "Total", c.t.Num(s.Total)),
			c.term(s), c.price(s), c.status(s)})
		msgs = append(msgs, Message{Title: s.ProductName, Fields: append(c.subFields(s, true), c.unusedFields(s)...)})
	}
	head := Message{Title: c.t.T("AdminTitle"), Text: c.t.T("AdminIntro") + "\n" + c.adminChannelIs() + "\n" + c.orgLangIs()}
	head.Text += "\n" + c.limitsAre(store.LimitApproval) + "\n" + c.limitsAre(store.LimitCap)
	if line := c.unusedLine(c.view.Subs, c.view.SubsTotal > len(c.view.Subs)); line != "" {
		head.Text += "\n" + line
	}
	if c.view.Settings.AdminChannel != "" {
		head.Buttons = []Button{{Label: c.t.T("BtnDefaultChannel"), Command: "admin channel default"}}
	}
	head.Buttons = append(head.Buttons, Button{Label: c.t.T("PolicyBtnList"), Command: "admin policy"})
	c.pendingApprovals(&head)
	c.handoversWaiting(&head)
	if len(rows) == 0 {
		head.Text += "\n" + c.t.T("AdminNone")
		return Response{Messages: []Message{head}}
	}
	head.Table = &Table{Columns: []string{c.t.T("ColProduct"), c.t.T("ColPurchaser"), c.t.T("ColLicenses"),
		c.t.T("ColTerm"), c.t.T("ColPrice"), c.t.T("ColStatus")}, Rows: rows}
	c.pageControls(&head, "admin", c.view.SubsPage, c.view.SubsTotal, adminPageSize)
	return Response{Messages: append([]Message{head}, msgs...)}
}

// adminSettings shows or changes the organization's settings: "channel
// [#name|default]", "language [de|en|auto]", or a channel alone
// ("#billing-alerts"), in any order. Everything is read before anything
// is written: a bad word changes nothing.
func (c *call) adminSettings() Response {
	var channel, lang *string
	var said []string
	for args := c.args; len(args) > 0; {
		w := strings.ToLower(args[0])
		value := ""
		if len(args) > 1 && !adminKeyword(args[1]) {
			value = args[1]
		}
		switch {
		case (w == "channel" || w == "kanal") && value == "":
			said, args = append(said, c.adminChannelIs()), args[1:]
		case w == "channel" || w == "kanal":
			ch, ok := adminChannelArg(value)
			if !ok || checkText(c.t, ch, 200) != "" || strings.IndexFunc(ch, invisible) >= 0 || channel != nil {
				return c.fail(c.t.T("ErrBadChannel"))
			}
			channel, args = &ch, args[2:]
		case isChannelRef(args[0]):
			if checkText(c.t, args[0], 200) != "" || strings.IndexFunc(args[0], invisible) >= 0 || channel != nil {
				return c.fail(c.t.T("ErrBadChannel"))
			}
			channel, args = &args[0], args[1:]
		case (w == "language" || w == "sprache") && value == "":
			said, args = append(said, c.orgLangIs()), args[1:]
		case w == "language" || w == "sprache":
			l, ok := langArg(value)
			if !ok || lang != nil {
				return c.fail(c.t.T("ErrBadLanguage", "Language", shown(value)))
			}
			lang, args = &l, args[2:]
		default:
			return c.fail(c.t.T("ErrBadAdminArg", "Word", shown(args[0])))
		}
	}
	if channel != nil && *channel != "" {
		if r, ok := c.checkChannel(*channel); !ok {
			return r
		}
	}
	if channel != nil {
		if err := c.b.store.SetAdminChannel(c.ctx, c.req.Org, c.req.User.ID, *channel); err != nil {
			return c.storeFault(err)
		}
		c.view.Settings.AdminChannel = *channel
		if *channel == "" {
			said = append(said, c.t.T("AdminChannelReset"))
		} else {
			said = append(said, c.t.T("AdminChannelSet", "Channel", *channel))
		}
	}
	if lang != nil {
		if err := c.b.store.SetOrgLang(c.ctx, c.req.Org, c.req.User.ID, *lang); err != nil {
			return c.storeFault(err)
		}
		c.view.Settings.Lang = *lang
		if *lang == "" {
			said = append(said, c.t.T("AdminLangAutoSet", "Language", c.langName(OrgLang(c.view.Settings))))
		} else {
			said = append(said, c.t.T("AdminLangSet", "Language", c.langName(*lang)))
		}
	}
	return Response{Messages: []Message{{Text: strings.Join(said, "\n")}}}
}

// checkChannel asks the adapter, where it can tell (ChannelChecker),
// whether notifications can go to the channel an admin named; when not,
// it answers why, and nothing is written.
func (c *call) checkChannel(channel string) (Response, bool) {
	cc, ok := c.req.Members.(ChannelChecker)
	if !ok {
		return Response{}, true
	}
	switch err := cc.CheckChannel(c.ctx, channel); {
	case err == nil:
		return Response{}, true
	case errors.Is(err, ErrNoChannel):
		return c.fail(c.t.T("ErrChannelNotHere", "Channel", shown(channel))), false
	case errors.Is(err, ErrChannelNoAccess):
		return c.fail(c.t.T("ErrChannelNoAccess", "Channel", shown(channel))), false
	default:
		c.b.log.WarnContext(c.ctx, "check channel", "org", c.req.Org, "err", err)
		r := c.fail(c.t.T("ErrChannelUnchecked", "Channel", shown(channel)))
		c.result = "unavailable"
		return r, false
	}
}

// adminKeyword reports whether a word of "admin …" starts a setting
// rather than being a value.
func adminKeyword(w string) bool {
	switch strings.ToLower(w) {
	case "channel", "kanal", "language", "sprache":
		return true
	}
	return false
}

// isChannelRef reports whether a word names a channel as a chat shows
// one: "#billing-alerts", a Slack "<#C123|billing>" or a Discord "<#123>".
func isChannelRef(w string) bool {
	return len(w) > 1 && (w[0] == '#' || strings.HasPrefix(w, "<#"))
}

// adminChannelArg reads the value of "admin channel …": a channel, or a
// word that returns to the default channel ("").
func adminChannelArg(w string) (string, bool) {
	switch strings.ToLower(w) {
	case "default", "none", "off", "standard", "standardkanal", "keiner", "keinen", "aus":
		return "", true
	}
	return w, w != ""
}

// langArg reads a language as admin and language take it: "" for auto.
func langArg(w string) (string, bool) {
	switch strings.ToLower(w) {
	case "de", "deutsch", "german":
		return "de", true
	case "en", "english", "englisch":
		return "en", true
	case "auto":
		return "", true
	}
	return "", false
}

// adminChannelIs says where admin notifications go.
func (c *call) adminChannelIs() string {
	where := c.t.T("AdminChannelDefault")
	if ch := c.view.Settings.AdminChannel; ch != "" {
		where = c.t.T("AdminChannelIn", "Channel", ch)
	}
	return c.t.T("AdminChannelIs", "Where", where)
}

// orgLangIs says in which language notifications to channels are
// written, and whether an admin chose it.
func (c *call) orgLangIs() string {
	s := c.view.Settings
	if s.Lang != "" {
		return c.t.T("AdminLangIs", "Language", c.langName(s.Lang))
	}
	return c.t.T("AdminLangIs", "Language", c.t.T("AdminLangFollows", "Language", c.langName(OrgLang(s))))
}

func (c *call) langName(lang string) string {
	if lang == "de" {
		return c.t.T("LangDE")
	}
	return c.t.T("LangEN")
}
