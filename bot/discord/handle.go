package discord

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/billingbot/billingbot/bot/internal/payload"
	"github.com/billingbot/billingbot/commands"
)

// process answers an interaction: the first answer (nil: a bad request),
// and the work that follows it (nil: none), run after the first answer was
// sent.
func (a *Adapter) process(ctx context.Context, in *interaction) (*callback, func()) {
	switch in.Type {
	case itPing:
		return &callback{Type: cbPong}, nil
	case itCommand, itComponent, itAutocomplete, itModalSubmit:
	default:
		return nil, nil
	}
	lang := langOf(in.Locale, in.GuildLocale)
	u := in.userOf()
	if u == nil || u.ID == "" {
		return nil, nil
	}
	guild := in.GuildID
	var dmCommand, dmForm string
	if guild == "" && in.Type == itComponent {
		// A button of a notification sent by DM names its guild; so does
		// a confirmation's there, which is answered as a confirmation.
		var data componentData
		_ = payload.Unmarshal(in.Data, &data)
		if rest, ok := strings.CutPrefix(data.CustomID, dmButtonPrefix); ok {
			if g, cmd, ok := strings.Cut(rest, ":"); ok && snowflake(g) != "" {
				guild, dmCommand = g, cmd
			}
		} else if rest, ok := strings.CutPrefix(data.CustomID, dmConfirmPrefix); ok {
			if g, _, ok := strings.Cut(rest, ":"); ok && snowflake(g) != "" {
				guild = g
			}
		}
	}
	if guild == "" && in.Type == itModalSubmit {
		// So does a modal that such a button opened (the buy form of a
		// trial reminder's Convert).
		var data modalData
		_ = payload.Unmarshal(in.Data, &data)
		if rest, ok := strings.CutPrefix(data.CustomID, dmFormPrefix); ok {
			if g, form, ok := strings.Cut(rest, ":"); ok && snowflake(g) != "" {
				guild, dmForm = g, formCachedPrefix+form
			}
		}
	}
	if guild == "" {
		if in.Type == itAutocomplete {
			return &callback{Type: cbAutocomplete, Data: autocompleteData{Choices: []choice{}}}, nil
		}
		return a.say(lang, "DiscordUseInServer"), nil
	}
	req := commands.Request{
		Org:            orgPrefix + guild,
		User:           commands.Member{ID: u.ID, Name: displayName(*u, in.Member), Bot: u.Bot},
		Locale:         in.Locale,
		Admin:          in.perms()&(permAdministrator|permManageGuild) != 0 || a.admins[u.ID],
		IdempotencyKey: in.ID,
		ChatURL:        chatURL(in.GuildID, in.ChannelID),
	}
	if in.Guild != nil && in.Guild.ID == guild {
		req.OrgName = in.Guild.Name
	}
	if in.GuildID != "" {
		// The guild's locale, for the core to remember as the language of
		// the guild's channel notifications.
		req.OrgLocale = in.GuildLocale
	}
	if req.Locale == "" {
		req.Locale = in.GuildLocale
	}
	req.Command = slashCommand(req.Locale)
	dir := a.directory(req.Org, guild, in)
	req.Members = dir
	if in.GuildID == "" {
		// The guild came from a custom id, which anybody can write: only
		// its members act in it. Asked before the first answer, so within
		// the time Discord waits for it.
		mctx, cancel := context.WithTimeout(ctx, a.deferAfter)
		defer cancel()
		_, err := dir.Member(mctx, u.ID)
		if err != nil {
			if errors.Is(err, commands.ErrNoMember) {
				return a.say(lang, "DiscordNotMember"), nil
			}
			a.log.Warn("discord: membership of a direct message's user", "org", req.Org, "err", err)
			return a.say(lang, "ErrUnavailable"), nil
		}
		// A direct message carries no permissions: an admin is one the
		// guild lists (its owner, its Administrator roles' members); asked
		// within the same time.
		if !req.Admin {
			req.Admin = a.listedAdmin(mctx, dir, u.ID, req.Org)
		}
	}
	switch in.Type {
	case itCommand:
		var data commandData
		if err := payload.Unmarshal(in.Data, &data); err != nil {
			return nil, nil
		}
		dir.learn(data.Resolved)
		req.Text = a.commandLine(data)
		return a.run(ctx, in, req, nil, "", nil)
	case itAutocomplete:
		var data commandData
		if err := payload.Unmarshal(in.Data, &data); err != nil {
			return nil, nil
		}
		return a.autocomplete(ctx, req, data), nil
	case itComponent:
		if dmCommand != "" {
			req.Text = dmCommand
			return a.run(ctx, in, req, nil, "", nil)
		}
		return a.component(ctx, in, req, lang)
	default: // itModalSubmit
		var data modalData
		if err := payload.Unmarshal(in.Data, &data); err != nil {
			return nil, nil
		}
		dir.learn(data.Resolved)
		if dmForm != "" {
			data.CustomID = dmForm
		}
		return a.submit(ctx, in, req, data, lang)
	}
}

// chatURL leads back to an interaction's channel in Discord (the app or
// the browser): a guild's channel, or a direct message (no guild); ""
// without a channel.
func chatURL(guild, channel string) string {
	ch, g := snowflake(channel), snowflake(guild)
	switch {
	case ch == "" || ch != channel || g != guild:
		return ""
	case guild == "":
		return "https://discord.com/channels/@me/" + ch
	}
	return "https://discord.com/channels/" + g + "/" + ch
}

// slashCommand is the command as Discord shows it to a user of a locale:
// its German name in German.
func slashCommand(locale string) string {
	if langOf(locale) == "de" {
		return "/" + commandNameDE
	}
	return "/" + commandName
}

// langOf is the language of a Discord locale ("de" → German).
func langOf(locales ...string) string {
	for _, l := range locales {
		if l == "" {
			continue
		}
		if l = strings.ToLower(l); l == "de" || strings.HasPrefix(l, "de-") {
			return "de"
		}
		return "en"
	}
	return "en"
}

// say answers with one of the adapter's own messages, ephemeral.
func (a *Adapter) say(lang, id string, buttons ...button) *callback {
	m := &outMessage{Content: escapeMarkdown(a.bot.Text(lang, id)), Flags: flagEphemeral, Embeds: []embed{},
		Components: []actionRow{}, AllowedMentions: allowedMentions{Parse: []string{}}}
	if len(buttons) > 0 {
		m.Components = []actionRow{{Type: ctActionRow, Components: buttons}}
	}
	return &callback{Type: cbMessage, Data: m}
}

// component runs a button's command or reopens a form.
func (a *Adapter) component(ctx context.Context, in *interaction, req commands.Request, lang string) (*callback, func()) {
	var data componentData
	if err := payload.Unmarshal(in.Data, &data); err != nil || data.ComponentType != ctButton {
		return a.say(lang, "DiscordUnknownAction"), nil
	}
	id := data.CustomID
	var conf *clicked
	switch {
	case strings.HasPrefix(id, confirmPrefix):
		req.Text = strings.TrimPrefix(id, confirmPrefix)
		conf = &clicked{others: confirmButtons(in.Message, id)}
	case strings.HasPrefix(id, dmConfirmPrefix):
		_, req.Text, _ = strings.Cut(strings.TrimPrefix(id, dmConfirmPrefix), ":")
		conf = &clicked{others: confirmButtons(in.Message, id)}
	case strings.HasPrefix(id, buttonPrefix):
		req.Text = strings.TrimPrefix(id, buttonPrefix)
	case strings.HasPrefix(id, dmButtonPrefix):
		_, cmd, _ := strings.Cut(strings.TrimPrefix(id, dmButtonPrefix), ":")
		req.Text = cmd
	case strings.HasPrefix(id, buttonCachePrefix):
		key := strings.TrimPrefix(id, buttonCachePrefix)
		cmd, ok, err := a.store.CacheGet(ctx, req.Org, "btn:"+key)
		if err != nil {
			return a.say(lang, "ErrUnavailable"), nil
		}
		if !ok {
			return a.say(lang, "DiscordExpired"), nil
		}
		req.Text = cmd
	case strings.HasPrefix(id, reopenPrefix):
		key := strings.TrimPrefix(id, reopenPrefix)
		f, err := a.loadForm(ctx, req.Org, key)
		if err != nil {
			return a.say(lang, formErr(err)), nil
		}
		return &callback{Type: cbModal, Data: renderModal(key, f, lang)}, nil
	default:
		return a.say(lang, "DiscordUnknownAction"), nil
	}
	return a.run(ctx, in, req, nil, "", conf)
}

// clicked is a click on a button of a confirmation (Response.Confirm),
// whose answer replaces the confirmation: once answered, its buttons are
// gone, and a second click (one made before the first was answered)
// answers the same in the same place.
type clicked struct {
	// others are the confirmation's other buttons ("Back" beside "Pay"),
	// kept when the answer is that the form needs correcting.
	others []button
}

// confirmButtons are the confirmation buttons of a clicked message (the
// interaction's message) but the one clicked.
func confirmButtons(msg json.RawMessage, clickedID string) []button {
	var m struct {
		Components []struct {
			Components []button `json:"components"`
		} `json:"components"`
	}
	if len(msg) == 0 || payload.Unmarshal(msg, &m) != nil {
		return nil
	}
	var out []button
	for _, row := range m.Components {
		for _, b := range row.Components {
			if b.Type == ctButton && b.CustomID != clickedID &&
				(strings.HasPrefix(b.CustomID, confirmPrefix) || strings.HasPrefix(b.CustomID, dmConfirmPrefix)) &&
				len(b.CustomID) <= maxCustomID && len(out) < maxRowButtons {
				out = append(out, button{Type: ctButton, Style: b.Style, Label: truncate(b.Label, maxButtonLabel), CustomID: b.CustomID})
			}
		}
	}
	return out
}

// submit hands a submitted modal to the core.
func (a *Adapter) submit(ctx context.Context, in *interaction, req commands.Request, data modalData, lang string) (*callback, func()) {
	var key, formID, formCtx string
	var sent *commands.Form
	switch {
	case strings.HasPrefix(data.CustomID, formPrefix):
		parts := strings.SplitN(strings.TrimPrefix(data.CustomID, formPrefix), ":", 3)
		if len(parts) != 3 {
			return a.say(lang, "DiscordUnknownAction"), nil
		}
		key, formID, formCtx = parts[0], parts[1], parts[2]
		sent, _ = a.loadForm(ctx, req.Org, key) // only to name fields in errors
	case strings.HasPrefix(data.CustomID, formCachedPrefix):
		parts := strings.SplitN(strings.TrimPrefix(data.CustomID, formCachedPrefix), ":", 2)
		if len(parts) != 2 {
			return a.say(lang, "DiscordUnknownAction"), nil
		}
		key, formID = parts[0], parts[1]
		var err error
		if sent, err = a.loadForm(ctx, req.Org, key); err != nil {
			return a.say(lang, formErr(err)), nil
		}
		formCtx = sent.Context
	default:
		return a.say(lang, "DiscordUnknownAction"), nil
	}
	values := map[string][]string{}
	for _, c := range data.Components {
		c.collect(values)
	}
	req.Form = &commands.Submission{FormID: formID, Context: formCtx, Values: values}
	var conf *clicked
	if len(confirmButtons(in.Message, "")) > 0 {
		// The form was opened again by Back on a confirmation (Discord
		// sends the message whose button opened the modal): its answer, a
		// confirmation anew or the change made, takes the old
		// confirmation's place, so that no Pay of it stays behind.
		conf = &clicked{}
	}
	return a.run(ctx, in, req, sent, key, conf)
}

// result is what the core answered.
type result struct {
	resp commands.Response
	err  error
}

// run asks the core, answering at once when it is quick and deferring the
// answer (type 5, then an edit) when it is not. conf, when set, is a click
// on a confirmation's button: the answer's first message replaces the
// confirmation (type 7, or type 6 and then an edit).
func (a *Adapter) run(ctx context.Context, in *interaction, req commands.Request, sent *commands.Form, key string,
	conf *clicked) (*callback, func()) {
	work, cancel := context.WithTimeout(ctx, a.workTimeout)
	done := make(chan result, 1)
	a.workers.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("discord: panic in core", "org", req.Org, "panic", p)
				// The request may have changed something before the panic.
				done <- result{resp: commands.Response{Lang: langOf(req.Locale), Messages: []commands.Message{
					{Text: a.bot.Text(langOf(req.Locale), "ErrInternalUnsure")}}}}
			}
		}()
		resp, err := a.handle(work, req)
		done <- result{resp, err}
	})
	timer := time.NewTimer(a.deferAfter)
	defer timer.Stop()
	select {
	case res := <-done:
		rep := a.reply(work, in, req, sent, key, res, in.Type != itModalSubmit, conf)
		var initial *callback
		var rest []*outMessage
		switch {
		case rep.modal != nil:
			initial = &callback{Type: cbModal, Data: rep.modal}
		case conf != nil && rep.msgs[0].Flags&flagEphemeral != 0:
			// In the confirmation's place, which stays ephemeral: an update
			// takes no flags.
			update := *rep.msgs[0]
			update.Flags = 0
			initial, rest = &callback{Type: cbUpdate, Data: &update}, rep.msgs[1:]
		default:
			initial, rest = &callback{Type: cbMessage, Data: rep.msgs[0]}, rep.msgs[1:]
		}
		if len(rest) == 0 {
			cancel()
			return initial, nil
		}
		return initial, func() {
			defer cancel()
			for _, m := range rest {
				if err := a.rest.followUp(work, in.Token, m); err != nil {
					a.log.Warn("discord: follow-up", "org", req.Org, "err", err)
				}
			}
		}
	case <-timer.C:
		first := &callback{Type: cbDeferred, Data: map[string]int{"flags": flagEphemeral}}
		if conf != nil {
			// The edit of the original message below then edits the
			// confirmation.
			first = &callback{Type: cbDeferredUpdate}
		}
		return first, func() {
			defer cancel()
			res := <-done
			rep := a.reply(work, in, req, sent, key, res, false, conf)
			for i, m := range rep.msgs {
				var err error
				if i == 0 {
					edit := *m
					edit.Flags = 0
					err = a.rest.editOriginal(work, in.Token, &edit)
				} else {
					err = a.rest.followUp(work, in.Token, m)
				}
				if err != nil {
					a.log.Warn("discord: deferred answer", "org", req.Org, "err", err)
				}
			}
		}
	}
}

// reply is the core's answer rendered: a modal, or messages (at least one).
type reply struct {
	modal *modal
	msgs  []*outMessage
}

func (a *Adapter) reply(ctx context.Context, in *interaction, req commands.Request, sent *commands.Form, key string,
	res result, modalOK bool, conf *clicked) reply {
	resp := res.resp
	if res.err != nil {
		a.log.Error("discord: core fault", "org", req.Org, "err", res.err)
	} else if req.Form != nil {
		// The submitted form is done with: answered, or refused and kept
		// anew below with what was entered. (After a fault it stays, to be
		// sent again.) Deleted after the answer, which need not wait.
		a.background(func() { a.dropForm(context.WithoutCancel(ctx), req.Org, key) })
	}
	lang := resp.Lang
	if lang == "" {
		lang = langOf(req.Locale)
	}
	r := renderer{a: a, ctx: ctx, org: req.Org, confirm: resp.Confirm}
	if in.GuildID == "" {
		// An answer in a direct message (to a notification's button): its
		// buttons name the guild, as the notification's do, or they could
		// not be clicked there (a confirmation's Yes).
		r.guild = strings.TrimPrefix(req.Org, orgPrefix)
	}
	var rep reply
	switch {
	case resp.Form != nil:
		fkey, err := a.keepForm(ctx, req.Org, resp.Form, cacheTTL)
		if err != nil {
			a.log.Warn("discord: keep form", "org", req.Org, "err", err)
			if !modalOK {
				return reply{msgs: r.messages([]commands.Message{{Text: a.bot.Text(lang, "ErrInternal")}})}
			}
			fkey = "0"
		}
		if modalOK {
			rep.modal = renderModal(fkey, resp.Form, lang)
			if r.guild != "" && fkey != "0" {
				// Opened from a DM: its submission names the guild.
				rep.modal.CustomID = dmFormPrefix + r.guild + ":" + fkey + ":" + resp.Form.ID
			}
			return rep
		}
		// A modal cannot answer a modal, nor follow a deferred answer: a
		// button opens it.
		msg := r.messages([]commands.Message{{Text: a.bot.Text(lang, "DiscordOpenFormHint")}})[0]
		msg.Components = []actionRow{{Type: ctActionRow, Components: []button{{Type: ctButton, Style: stylePrimary,
			Label: truncate(a.bot.Text(lang, "DiscordOpenForm"), maxButtonLabel), CustomID: reopenPrefix + fkey}}}}
		rep.msgs = append([]*outMessage{msg}, r.messages(resp.Messages)...)
		return rep
	case len(resp.FieldErrors) > 0:
		m := a.fieldErrors(ctx, req, sent, lang, resp.FieldErrors)
		if conf != nil && len(m.Components) == 0 && len(conf.others) > 0 {
			// A confirmed form that no longer follows its rules: "Back"
			// opens it again to correct it.
			m.Components = []actionRow{{Type: ctActionRow, Components: conf.others}}
		}
		rep.msgs = []*outMessage{m}
		return rep
	}
	rep.msgs = r.messages(resp.Messages)
	if len(rep.msgs) == 0 {
		rep.msgs = r.messages([]commands.Message{{Text: a.bot.Text(lang, "DiscordDone")}})
	}
	return rep
}

// fieldErrors is the answer to a submission whose rules broke: each bad
// field by its label, and a button that reopens the modal with what was
// entered.
func (a *Adapter) fieldErrors(ctx context.Context, req commands.Request, sent *commands.Form, lang string,
	errs map[string]string) *outMessage {
	var lines []string
	named := map[string]bool{}
	neutral := a.bot.Text(lang, "ErrConfirm")
	if sent != nil {
		for _, in := range sent.Inputs {
			if msg, ok := errs[in.ID]; ok {
				if in.Kind == commands.KindConfirm && msg == neutral {
					// Said the way the modal asks: a list with the one
					// choice that confirms (renderInput).
					msg = a.bot.Text(lang, "DiscordErrConfirm", "Choice", confirmChoice(in))
				}
				lines = append(lines, "**"+escapeMarkdown(strings.TrimSpace(in.Label))+"**: "+escapeMarkdown(msg))
				named[in.ID] = true
			}
		}
	}
	var other []string
	for id := range errs {
		if !named[id] {
			other = append(other, id)
		}
	}
	slices.Sort(other)
	for _, id := range other {
		lines = append(lines, escapeMarkdown(errs[id]))
	}
	text := escapeMarkdown(a.bot.Text(lang, "DiscordFixFields")) + "\n" + strings.Join(lines, "\n")
	m := &outMessage{Content: truncate(text, maxContent), Flags: flagEphemeral, Embeds: []embed{},
		Components: []actionRow{}, AllowedMentions: allowedMentions{Parse: []string{}}}
	if sent != nil {
		// A submission refused for a card number keeps none of its values:
		// the form reopens as it was first shown.
		filled := *sent
		if !holdsCardNumber(req.Form.Values) {
			filled = withValues(*sent, req.Form.Values)
		}
		if key, err := a.keepForm(ctx, req.Org, &filled, refusedTTL); err == nil {
			m.Components = []actionRow{{Type: ctActionRow, Components: []button{{Type: ctButton, Style: stylePrimary,
				Label: truncate(a.bot.Text(lang, "DiscordReopen"), maxButtonLabel), CustomID: reopenPrefix + key}}}}
		} else {
			a.log.Warn("discord: keep form", "org", req.Org, "err", err)
		}
	}
	return m
}

// listedAdmin reports whether the guild lists the user among its admins;
// a failed lookup counts as no.
func (a *Adapter) listedAdmin(ctx context.Context, dir commands.Directory, user, org string) bool {
	admins, err := dir.Admins(ctx)
	if err != nil {
		a.log.Warn("discord: admins of a direct message's guild", "org", org, "err", err)
		return false
	}
	for _, m := range admins {
		if m.ID == user {
			return true
		}
	}
	return false
}
