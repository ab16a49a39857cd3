package slack

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sort"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/bot/internal/payload"
	"github.com/billingbot/billingbot/commands"
)

// interaction is the part of an interactivity payload the adapter reads.
type interaction struct {
	Type string `json:"type"`
	Team struct {
		ID     string `json:"id"`
		Domain string `json:"domain"`
	} `json:"team"`
	Enterprise struct {
		ID string `json:"id"`
	} `json:"enterprise"`
	IsEnterpriseInstall bool `json:"is_enterprise_install"`
	User                struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Username string `json:"username"`
		TeamID   string `json:"team_id"`
	} `json:"user"`
	TriggerID   string `json:"trigger_id"`
	ResponseURL string `json:"response_url"`
	Channel     struct {
		ID string `json:"id"`
	} `json:"channel"`
	Container struct {
		Type      string `json:"type"`
		ChannelID string `json:"channel_id"`
	} `json:"container"`
	Actions []struct {
		ActionID string `json:"action_id"`
		BlockID  string `json:"block_id"`
		Type     string `json:"type"`
		Value    string `json:"value"`
		ActionTs string `json:"action_ts"`
	} `json:"actions"`
	View struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		CallbackID string `json:"callback_id"`
		// Hash is the view's version: views.update with it fails
		// (hash_conflict) once the view changed since.
		Hash  string `json:"hash"`
		Title struct {
			Text string `json:"text"`
		} `json:"title"`
		PrivateMetadata string `json:"private_metadata"`
		Blocks          []struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Dispatch bool   `json:"dispatch_action"`
		} `json:"blocks"`
		State struct {
			Values map[string]map[string]actionState `json:"values"`
		} `json:"state"`
	} `json:"view"`
}

// actionState is the value of one input of a submitted view.
type actionState struct {
	Type           string `json:"type"`
	Value          string `json:"value"`
	SelectedOption *struct {
		Value string `json:"value"`
	} `json:"selected_option"`
	SelectedOptions []struct {
		Value string `json:"value"`
	} `json:"selected_options"`
	SelectedUsers []string `json:"selected_users"`
	SelectedUser  string   `json:"selected_user"`
	SelectedDate  string   `json:"selected_date"`
}

func (s actionState) values() []string {
	switch {
	case s.SelectedOption != nil:
		return []string{s.SelectedOption.Value}
	case s.SelectedOptions != nil:
		out := make([]string, 0, len(s.SelectedOptions))
		for _, o := range s.SelectedOptions {
			out = append(out, o.Value)
		}
		return out
	case s.SelectedUsers != nil:
		return s.SelectedUsers
	case s.SelectedUser != "":
		return []string{s.SelectedUser}
	case s.SelectedDate != "":
		return []string{s.SelectedDate}
	case s.Value != "":
		return []string{s.Value}
	}
	return nil
}

// origin is who sent an interaction; where it answers is the caller's.
func (a *Adapter) origin(p *interaction) origin {
	return origin{team: p.team(), teamName: p.Team.Domain, user: p.User.ID, userName: p.userName(),
		enterprise: p.Enterprise.ID, orgWide: p.IsEnterpriseInstall, byEnterprise: a.cfg.EnterpriseOrg}
}

func (p *interaction) team() string {
	if p.Team.ID != "" {
		return p.Team.ID
	}
	return p.User.TeamID
}

func (p *interaction) userName() string {
	if p.User.Name != "" {
		return p.User.Name
	}
	return p.User.Username
}

// onInteraction answers the interactivity payloads: submitted modals,
// clicked buttons, closed modals and option suggestions.
func (a *Adapter) onInteraction(ctx context.Context, raw []byte) reply {
	var p interaction
	if err := payload.Unmarshal(raw, &p); err != nil {
		return bad("payload is not JSON")
	}
	if p.team() == "" || p.User.ID == "" {
		return bad("missing team or user")
	}
	if !a.installed(ctx, a.origin(&p)) {
		return ok200
	}
	switch p.Type {
	case "view_submission":
		return a.onSubmit(ctx, &p)
	case "block_actions":
		return a.onAction(ctx, &p)
	case "view_closed":
		return ok200
	case "block_suggestion":
		return reply{body: map[string]any{"options": []any{}}}
	}
	return bad("unknown interaction type")
}

// submission is the form of a modal as it is now: its values, and the
// context the core gave it. meta is where the modal answers.
func (p *interaction) submission() (sub *commands.Submission, meta metadata) {
	meta = decodeMetadata(p.View.PrivateMetadata)
	sub = &commands.Submission{FormID: p.View.CallbackID, Context: meta.Context, Values: map[string][]string{}}
	meta.Context = "" // the form's; where the modal answers stays
	for block, actions := range p.View.State.Values {
		for _, st := range actions {
			sub.Values[block] = append(sub.Values[block], st.values()...)
		}
	}
	return sub, meta
}

// onSubmit hands a submitted modal to the core: broken rules come back as
// field errors in the modal; the answer to a query (the invoice range)
// replaces the form in the modal; any other success closes it and confirms
// to the user in the conversation. A modal shows the form as the core last
// answered it (drafts update it in place, onDraft), so the submission is
// Live: a form whose preview no longer matches its values comes back as
// the form with the new preview, and nothing is changed.
func (a *Adapter) onSubmit(ctx context.Context, p *interaction) reply {
	sub, meta := p.submission()
	sub.Live = true
	o := a.origin(p)
	o.channel, o.responseURL = meta.Channel, meta.ResponseURL
	o.responseURL = a.hook(o)
	title := nonBlank(p.View.Title.Text, "billingbot")
	var inputs []string
	for _, b := range p.View.Blocks {
		if b.Type == "input" && b.BlockID != "" {
			inputs = append(inputs, b.BlockID)
		}
	}
	run := func(ctx context.Context) commands.Response {
		req := a.request(ctx, o)
		req.Form = sub
		req.IdempotencyKey = p.View.ID
		return a.confirmWords(a.handle(ctx, req))
	}
	resp, inTime, later := a.within(ctx, o, run)
	if !inTime {
		// Too slow for Slack's 3 s: the modal says so, and shows the
		// outcome when it comes.
		lang := a.cachedLang(ctx, o)
		viewID := p.View.ID
		a.background(ctx, func(ctx context.Context) {
			resp := <-later
			v := a.resultModal(resp, title, meta)
			if resp.Form != nil && len(resp.FieldErrors) == 0 {
				v = a.modal(resp.Form, meta, resp.Lang) // the form again, with its new preview
			}
			err := a.call(ctx, o.org(), func(api *slackapi.Client) error {
				_, err := api.UpdateViewContext(ctx, v, "", "", viewID)
				return err
			})
			if err != nil {
				a.log.Warn("views.update", "err", err)
			}
			// A query's answer is in the modal, unless it could not be.
			if len(resp.FieldErrors) == 0 && resp.Form == nil && (!resp.Query || err != nil) {
				a.post(ctx, o, resp.Messages)
			}
		})
		return updateView(*messageModal(a.bot.Text(lang, "SlackWorkingTitle"), a.bot.Text(lang, "BtnClose"),
			[]commands.Message{{Text: a.bot.Text(lang, "SlackWorking")}}, metadata{}))
	}
	switch {
	case len(resp.FieldErrors) > 0:
		if errs := fieldErrors(resp.FieldErrors, inputs); errs != nil {
			return reply{body: slackapi.NewErrorsViewSubmissionResponse(errs)}
		}
		return updateView(a.resultModal(resp, title, meta))
	case resp.Form != nil:
		return updateView(a.modal(resp.Form, meta, resp.Lang))
	case resp.Query:
		return updateView(a.resultModal(resp, title, meta))
	}
	msgs := resp.Messages
	a.background(ctx, func(ctx context.Context) { a.post(ctx, o, msgs) })
	return reply{body: slackapi.NewClearViewSubmissionResponse()}
}

// confirmWords says the core's refusal of an unconfirmed form (ErrConfirm,
// which names no way of confirming) the way a modal asks: a modal's
// confirmation is a checkbox to tick.
func (a *Adapter) confirmWords(resp commands.Response) commands.Response {
	neutral := a.bot.Text(resp.Lang, "ErrConfirm")
	var errs map[string]string
	for id, msg := range resp.FieldErrors {
		if msg == neutral {
			if errs == nil {
				errs = maps.Clone(resp.FieldErrors)
			}
			errs[id] = a.bot.Text(resp.Lang, "SlackErrConfirm")
		}
	}
	if errs != nil {
		resp.FieldErrors = errs
	}
	return resp
}

// fieldErrors keys the core's field errors by the modal's input blocks:
// an error of something that is not an input (a read-only section, the
// whole form) goes to the first input. nil: there is no input to show it.
func fieldErrors(errs map[string]string, inputs []string) map[string]string {
	if len(inputs) == 0 {
		return nil
	}
	isInput := map[string]bool{}
	for _, id := range inputs {
		isInput[id] = true
	}
	out := map[string]string{}
	var rest []string
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if isInput[k] {
			out[k] = clip(errs[k], maxLabel)
		} else {
			rest = append(rest, errs[k])
		}
	}
	if len(rest) > 0 {
		first := inputs[0]
		out[first] = clip(strings.TrimSpace(strings.Join(rest, " ")+" "+out[first]), maxLabel)
	}
	return out
}

// resultModal shows the outcome of a submission in the modal: its messages,
// or its field errors as text. meta is where the submitted modal answered.
func (a *Adapter) resultModal(resp commands.Response, title string, meta metadata) slackapi.ModalViewRequest {
	msgs := resp.Messages
	if len(resp.FieldErrors) > 0 {
		var lines []string
		keys := make([]string, 0, len(resp.FieldErrors))
		for k := range resp.FieldErrors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			lines = append(lines, "• "+resp.FieldErrors[k])
		}
		msgs = append([]commands.Message{{Text: a.bot.Text(resp.Lang, "SlackNotSaved") + "\n" + strings.Join(lines, "\n")}}, msgs...)
	}
	if resp.Form != nil && len(msgs) == 0 {
		msgs = []commands.Message{{Text: a.bot.Text(resp.Lang, "SlackModalFailed")}}
	}
	return *messageModal(title, a.bot.Text(resp.Lang, "BtnClose"), msgs, meta)
}

// messageModal is a modal that shows messages. Their buttons work in it: a
// click's answer takes the modal's place (onAction). meta says where the
// modal's answers go when they cannot be shown in it.
func messageModal(title, closeText string, msgs []commands.Message, meta metadata) *slackapi.ModalViewRequest {
	v := &slackapi.ModalViewRequest{Type: slackapi.VTModal, Title: plain(title, maxViewTitle), Close: plain(closeText, maxViewTitle)}
	if meta != (metadata{}) {
		v.PrivateMetadata = meta.encode()
	}
	for i, m := range msgs {
		v.Blocks.BlockSet = append(v.Blocks.BlockSet, messageBlocks(m, i)...)
	}
	if len(v.Blocks.BlockSet) > maxViewBlocks {
		v.Blocks.BlockSet = v.Blocks.BlockSet[:maxViewBlocks]
	}
	return v
}

// onAction runs a clicked button's command line, as if typed. Slack is
// acknowledged at once; the answer follows: in the modal, when the click
// was in one; else a modal with the click's trigger id, or messages where
// the click happened. A page button in the App Home shows its page there.
func (a *Adapter) onAction(ctx context.Context, p *interaction) reply {
	if len(p.Actions) == 0 {
		return ok200
	}
	act := p.Actions[0]
	if act.Type != "" && act.Type != "button" {
		if p.dispatches(act.BlockID) {
			return a.onDraft(ctx, p)
		}
		return ok200 // an input that changes nothing else
	}
	if strings.TrimSpace(act.Value) == "" {
		return ok200 // a URL button
	}
	o := a.origin(p)
	o.channel, o.responseURL, o.triggerID = nonBlank(p.Channel.ID, p.Container.ChannelID), p.ResponseURL, p.TriggerID
	inModal := p.View.Type == string(slackapi.VTModal) && p.View.ID != ""
	if inModal {
		meta := decodeMetadata(p.View.PrivateMetadata)
		o.channel, o.responseURL = meta.Channel, meta.ResponseURL
	}
	o.responseURL = a.hook(o)
	key := p.TriggerID
	if key == "" {
		key = act.ActionTs
	}
	line, viewID, title := act.Value, p.View.ID, nonBlank(p.View.Title.Text, "billingbot")
	if pages, ok := homePage(p.View.Type, p.View.PrivateMetadata, line); ok {
		// A page of a list in the App Home: the Home shows it.
		a.background(ctx, func(ctx context.Context) {
			if err := a.publishHome(ctx, o, key, pages); err != nil {
				a.log.Error("publish home", "org", o.org(), "user", o.user, "err", err)
			}
		})
		return ok200
	}
	a.background(ctx, func(ctx context.Context) {
		req := a.request(ctx, o)
		req.Text = line
		req.IdempotencyKey = key
		resp := a.handle(ctx, req)
		if !inModal || !a.showInModal(ctx, o, resp, viewID, title) {
			a.answer(ctx, o, resp, "")
		}
	})
	return ok200
}

// dispatches reports whether the input block of the modal an action came
// from asks for a draft when its value changes (Input.Dispatch).
func (p *interaction) dispatches(blockID string) bool {
	if p.View.Type != string(slackapi.VTModal) || p.View.ID == "" || p.View.CallbackID == "" || blockID == "" {
		return false
	}
	for _, b := range p.View.Blocks {
		if b.BlockID == blockID {
			return b.Type == "input" && b.Dispatch
		}
	}
	return false
}

// onDraft answers an input of a modal that changed its value (one that
// dispatches, Input.Dispatch): the core answers how the form looks with the
// values so far (a Draft, which changes nothing), and the modal is updated
// with it, its preview and its submit button. Slack is acknowledged at
// once. The update names the view's hash from the payload: when the modal
// changed since (a later draft's answer, a submission's), Slack refuses it
// with hash_conflict and the newer form stays.
func (a *Adapter) onDraft(ctx context.Context, p *interaction) reply {
	sub, meta := p.submission()
	sub.Draft = true
	o := a.origin(p)
	o.channel, o.responseURL = meta.Channel, meta.ResponseURL
	o.responseURL = a.hook(o)
	viewID, hash := p.View.ID, p.View.Hash
	a.background(ctx, func(ctx context.Context) {
		req := a.request(ctx, o)
		req.Form = sub
		resp := a.handle(ctx, req)
		if resp.Form == nil {
			// A refusal (the rate limit, Redis down): the modal stays as
			// it is, and its submission gets the answer.
			a.log.Info("draft answered no form", "org", o.org(), "form", sub.FormID)
			return
		}
		v := a.modal(resp.Form, meta, resp.Lang)
		err := a.call(ctx, o.org(), func(api *slackapi.Client) error {
			_, err := api.UpdateViewContext(ctx, v, "", hash, viewID)
			return err
		})
		var se slackapi.SlackErrorResponse
		switch {
		case errors.As(err, &se) && se.Err == "hash_conflict":
			a.log.Debug("views.update of a draft: the view changed meanwhile", "org", o.org(), "view", viewID)
		case err != nil:
			a.log.Warn("views.update", "err", err)
		}
	})
	return ok200
}

// showInModal shows the answer to a click in a modal in that modal: its
// form, or its messages. false: the answer has to go elsewhere (it is for
// the channel, or the modal could not be updated, closed meanwhile).
func (a *Adapter) showInModal(ctx context.Context, o origin, resp commands.Response, viewID, title string) bool {
	meta := metadata{Channel: o.channel, ResponseURL: o.responseURL}
	var v slackapi.ModalViewRequest
	switch {
	case resp.Form != nil:
		v = a.modal(resp.Form, meta, resp.Lang)
	case len(resp.Messages) > 0 && !slices.ContainsFunc(resp.Messages, func(m commands.Message) bool { return m.Public }):
		v = a.resultModal(resp, title, meta)
	default:
		return false
	}
	err := a.call(ctx, o.org(), func(api *slackapi.Client) error {
		_, err := api.UpdateViewContext(ctx, v, "", "", viewID)
		return err
	})
	if err != nil {
		a.log.Warn("views.update", "err", err)
	}
	return err == nil
}

// openModal opens a form as a modal with a trigger id.
func (a *Adapter) openModal(ctx context.Context, org, triggerID string, f *commands.Form, meta metadata, lang string) error {
	if triggerID == "" {
		return slackErr("views.open", errNoTrigger)
	}
	v := a.modal(f, meta, lang)
	return slackErr("views.open", a.call(ctx, org, func(api *slackapi.Client) error {
		_, err := api.OpenViewContext(ctx, triggerID, v)
		return err
	}))
}
