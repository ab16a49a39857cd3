package slack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"github.com/billingbot/billingbot/bot/internal/payload"
	"github.com/billingbot/billingbot/commands"
)

// Block Kit limits (https://api.slack.com/reference/block-kit).
const (
	maxMessageBlocks = 50   // blocks in a message
	maxViewBlocks    = 100  // blocks in a modal or the home tab
	maxSectionText   = 3000 // a section's text
	maxFieldText     = 2000 // one section field
	maxFields        = 10   // fields of a section
	maxHeader        = 150  // a header's text
	maxViewTitle     = 24   // a modal's title, submit and close
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxButtonURL     = 3000
	maxActions       = 25 // elements of an actions block
	maxOptionText    = 75
	maxOptionValue   = 150
	maxOptions       = 100
	maxLabel         = 2000 // an input's label and hint
	maxPlaceholder   = 150
	maxInputLength   = 3000 // plain_text_input max_length
	maxMetadata      = 3000 // private_metadata
	maxID            = 255  // block_id, action_id
	maxFallbackText  = 3000 // the notification text of a message
	maxCheckboxes    = 10
)

// clip shortens s to at most n characters, ending in "…" when cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n-1]), func(r rune) bool { return r == ' ' }) + "…"
}

// mrkdwnEscaper is built once: building a Replacer costs more than using it.
var mrkdwnEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes text safe for mrkdwn: Slack reads &, < and > as markup.
func escape(s string) string { return mrkdwnEscaper.Replace(s) }

// clipEscaped escapes s and clips the result to n characters without
// cutting an entity in half.
func clipEscaped(s string, n int) string {
	e := escape(s)
	if utf8.RuneCountInString(e) <= n {
		return e
	}
	r := []rune(e)[:n-1]
	if i := lastIndexRune(r, '&'); i >= 0 && lastIndexRune(r[i:], ';') < 0 {
		r = r[:i]
	}
	return string(r) + "…"
}

func lastIndexRune(r []rune, c rune) int {
	for i := len(r) - 1; i >= 0; i-- {
		if r[i] == c {
			return i
		}
	}
	return -1
}

// split cuts escaped mrkdwn text into pieces of at most n characters, at
// line breaks where it can and never inside an entity.
func split(s string, n int) []string {
	var out []string
	for utf8.RuneCountInString(s) > n {
		r := []rune(s)
		cut := lastIndexRune(r[:n], '\n')
		if cut <= 0 {
			cut = n
			if i := lastIndexRune(r[:cut], '&'); i > 0 && lastIndexRune(r[i:cut], ';') < 0 {
				cut = i
			}
		}
		out = append(out, strings.TrimRight(string(r[:cut]), "\n"))
		s = strings.TrimLeft(string(r[cut:]), "\n")
	}
	if strings.TrimSpace(s) != "" {
		out = append(out, s)
	}
	return out
}

// contacts lists people to turn to, one a line: the name and a mention
// ("<@U123>", which in an answer to one user notifies nobody), within a
// section's text.
func contacts(people []commands.Member) string {
	var b strings.Builder
	for _, m := range people {
		line := "• " + clipEscaped(m.Name, 80)
		if isUserID(m.ID) {
			line += " (<@" + m.ID + ">)"
		}
		if b.Len()+len(line)+1 > maxSectionText {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return b.String()
}

func plain(s string, n int) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, clip(s, n), false, false)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

// blockID makes an id fit Block Kit's 255 characters.
func blockID(s string) string { return clip(s, maxID) }

// messageBlocks renders a message: title as header, text as sections,
// fields as section fields, a table as a preformatted block, buttons as
// actions. n numbers the message, to keep action ids apart.
func messageBlocks(m commands.Message, n int) []slackapi.Block {
	var blocks []slackapi.Block
	if t := strings.TrimSpace(m.Title); t != "" {
		blocks = append(blocks, slackapi.NewHeaderBlock(plain(t, maxHeader)))
	}
	for _, part := range split(escape(strings.TrimRight(m.Text, "\n")), maxSectionText) {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(part), nil, nil))
	}
	if c := contacts(m.Contacts); c != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(c), nil, nil))
	}
	var fields []*slackapi.TextBlockObject
	for _, f := range m.Fields {
		label := clipEscaped(f.Label, 200)
		value := clipEscaped(f.Value, maxFieldText-utf8.RuneCountInString(label)-4)
		fields = append(fields, mrkdwn("*"+label+"*\n"+value))
		if len(fields) == maxFields {
			blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))
			fields = nil
		}
	}
	if len(fields) > 0 {
		blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))
	}
	if m.Table != nil {
		for _, part := range tableParts(m.Table) {
			blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(part), nil, nil))
		}
	}
	var row []slackapi.BlockElement
	flush := func() {
		if len(row) > 0 {
			blocks = append(blocks, slackapi.NewActionBlock(blockID(fmt.Sprintf("m%d-a%d", n, len(blocks))), row...))
			row = nil
		}
	}
	for i, b := range m.Buttons {
		if b.NewRow {
			flush()
		}
		el := button(b, fmt.Sprintf("btn-%d-%d", n, i))
		if el == nil {
			continue
		}
		row = append(row, el)
		if len(row) == maxActions {
			flush()
		}
	}
	flush()
	return blocks
}

// button renders a button: a URL opens, a command runs when clicked (its
// command line is the button's value). A button that cannot be rendered
// within the limits is left out.
func button(b commands.Button, actionID string) *slackapi.ButtonBlockElement {
	label := strings.TrimSpace(b.Label)
	if label == "" {
		return nil
	}
	el := slackapi.NewButtonBlockElement(blockID(actionID), "", plain(label, maxButtonText))
	switch {
	case b.URL != "" && len(b.URL) <= maxButtonURL:
		el.URL = b.URL
	case b.Command != "" && utf8.RuneCountInString(b.Command) <= maxButtonValue:
		el.Value = b.Command
	default:
		return nil
	}
	switch b.Style {
	case commands.StylePrimary:
		el.Style = slackapi.StylePrimary
	case commands.StyleDanger:
		el.Style = slackapi.StyleDanger
	}
	return el
}

// tableParts renders a table as preformatted text with aligned columns, in
// pieces that each fit a section.
func tableParts(t *commands.Table) []string {
	lines := t.Lines(func(s string) string { return clip(strings.ReplaceAll(s, "\n", " "), 60) })
	head := escape(lines[0])
	const fences = 8 // "```\n" and "\n```"
	var parts []string
	cur := []string{head}
	size := utf8.RuneCountInString(head)
	for _, l := range lines[1:] {
		l = escape(l) // cells are clipped: a line fits a section
		n := utf8.RuneCountInString(l) + 1
		if size+n+fences > maxSectionText {
			parts = append(parts, "```\n"+strings.Join(cur, "\n")+"\n```")
			cur, size = []string{head}, utf8.RuneCountInString(head)
		}
		cur = append(cur, l)
		size += n
	}
	return append(parts, "```\n"+strings.Join(cur, "\n")+"\n```")
}

// fallback is a message's plain text for notifications and screen readers.
func fallback(m commands.Message) string {
	s := strings.TrimSpace(m.Title + "\n" + m.Text)
	if s == "" && len(m.Fields) > 0 {
		s = m.Fields[0].Label + ": " + m.Fields[0].Value
	}
	return clipEscaped(s, maxFallbackText)
}

// post is one Slack message made of one or more of the core's messages.
type post struct {
	blocks []slackapi.Block
	text   string
	public bool
}

func (p post) webhook() *slackapi.WebhookMessage {
	blocks := slackapi.Blocks{BlockSet: p.blocks}
	w := &slackapi.WebhookMessage{Text: p.text, Blocks: &blocks, ResponseType: slackapi.ResponseTypeEphemeral}
	if p.public {
		w.ResponseType = slackapi.ResponseTypeInChannel
	}
	return w
}

// webhookJSON is the post's webhook() as JSON: the same bytes as
// json.Marshal(p.webhook()), without going through slack-go's MarshalJSON
// of Blocks and BlockElements. encoding/json re-scans (compacts) what a
// MarshalJSON returns, once per level of nesting, which made encoding a
// message cost several times what its fields do.
func (p post) webhookJSON() ([]byte, error) {
	if len(p.blocks) == 0 {
		return json.Marshal(p.webhook())
	}
	w := webhookDoc{Text: p.text, Blocks: blockDocs(p.blocks), ResponseType: slackapi.ResponseTypeEphemeral}
	if p.public {
		w.ResponseType = slackapi.ResponseTypeInChannel
	}
	return json.Marshal(w)
}

// blockDocs are blocks for encoding/json without slack-go's MarshalJSON
// of Blocks and of an actions block's elements; the bytes are the same.
func blockDocs(blocks []slackapi.Block) []any {
	out := make([]any, len(blocks))
	for i, b := range blocks {
		out[i] = b
		if ab, ok := b.(*slackapi.ActionBlock); ok && ab != nil {
			doc := actionBlockDoc{Type: ab.Type, BlockID: ab.BlockID}
			if ab.Elements != nil {
				doc.Elements = ab.Elements.ElementSet
			}
			out[i] = doc
		}
	}
	return out
}

// updateView is the answer to a submission that shows v in the modal
// (response_action update), encoded as json.Marshal encodes
// slackapi.ViewSubmissionResponse, with the blocks encoded directly.
func updateView(v slackapi.ModalViewRequest) reply {
	doc, err := json.Marshal(updateDoc{ResponseAction: slackapi.RAUpdate, View: viewDoc{Type: v.Type, Title: v.Title,
		Blocks: blockDocs(v.Blocks.BlockSet), Close: v.Close, Submit: v.Submit, PrivateMetadata: v.PrivateMetadata,
		CallbackID: v.CallbackID, ClearOnClose: v.ClearOnClose, NotifyOnClose: v.NotifyOnClose, ExternalID: v.ExternalID}})
	if err != nil {
		return reply{body: &slackapi.ViewSubmissionResponse{ResponseAction: slackapi.RAUpdate, View: &v}}
	}
	return reply{body: json.RawMessage(doc)}
}

// updateDoc is slackapi.ViewSubmissionResponse that updates the view.
type updateDoc struct {
	ResponseAction slackapi.ViewResponseAction `json:"response_action"`
	View           viewDoc                     `json:"view"`
}

// viewDoc is slackapi.ModalViewRequest with its blocks from blockDocs.
type viewDoc struct {
	Type            slackapi.ViewType         `json:"type"`
	Title           *slackapi.TextBlockObject `json:"title,omitempty"`
	Blocks          []any                     `json:"blocks"`
	Close           *slackapi.TextBlockObject `json:"close,omitempty"`
	Submit          *slackapi.TextBlockObject `json:"submit,omitempty"`
	PrivateMetadata string                    `json:"private_metadata,omitempty"`
	CallbackID      string                    `json:"callback_id,omitempty"`
	ClearOnClose    bool                      `json:"clear_on_close,omitempty"`
	NotifyOnClose   bool                      `json:"notify_on_close,omitempty"`
	ExternalID      string                    `json:"external_id,omitempty"`
}

// webhookDoc is slackapi.WebhookMessage with the fields the adapter sets,
// in its order and with its JSON names; Blocks are encoded directly.
type webhookDoc struct {
	Text            string `json:"text,omitempty"`
	Blocks          []any  `json:"blocks,omitempty"`
	ResponseType    string `json:"response_type,omitempty"`
	ReplaceOriginal bool   `json:"replace_original"`
	DeleteOriginal  bool   `json:"delete_original"`
}

// actionBlockDoc is slackapi.ActionBlock with its elements encoded
// directly.
type actionBlockDoc struct {
	Type     slackapi.MessageBlockType `json:"type"`
	BlockID  string                    `json:"block_id,omitempty"`
	Elements []slackapi.BlockElement   `json:"elements"`
}

// messagePosts groups messages into posts of at most most blocks each;
// public and ephemeral messages are never mixed.
func messagePosts(msgs []commands.Message, most int) []post {
	var out []post
	var cur *post
	for i, m := range msgs {
		blocks := messageBlocks(m, i)
		if len(blocks) > most {
			blocks = blocks[:most]
		}
		if len(blocks) == 0 {
			continue
		}
		if cur == nil || cur.public != m.Public || len(cur.blocks)+len(blocks) > most {
			if cur != nil {
				out = append(out, *cur)
			}
			cur = &post{public: m.Public, text: fallback(m)}
			if len(cur.blocks) > 0 {
				cur.blocks = append(cur.blocks, slackapi.NewDividerBlock())
			}
		} else {
			blocks = append([]slackapi.Block{slackapi.NewDividerBlock()}, blocks...)
			if len(cur.blocks)+len(blocks) > most {
				blocks = blocks[1:]
			}
		}
		cur.blocks = append(cur.blocks, blocks...)
	}
	if cur != nil {
		out = append(out, *cur)
	}
	return out
}

// metadata is what a modal carries in private_metadata: the form's context
// and where to answer after it is submitted.
type metadata struct {
	Context     string `json:"c,omitempty"`
	Channel     string `json:"ch,omitempty"`
	ResponseURL string `json:"ru,omitempty"`
}

func (m metadata) encode() string {
	doc, _ := json.Marshal(m)
	if len(doc) > maxMetadata {
		m.ResponseURL = ""
		doc, _ = json.Marshal(m)
	}
	if len(doc) > maxMetadata { // the core keeps Context within 1000 bytes
		m.Context = ""
		doc, _ = json.Marshal(m)
	}
	return string(doc)
}

func decodeMetadata(s string) metadata {
	var m metadata
	if payload.Unmarshal([]byte(s), &m) != nil {
		return metadata{}
	}
	return m
}

var isDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// modal renders a form as a modal view; its callback id is the form id.
func (a *Adapter) modal(f *commands.Form, meta metadata, lang string) slackapi.ModalViewRequest {
	meta.Context = f.Context
	v := slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      blockID(f.ID),
		Title:           plain(nonBlank(f.Title, "billingbot"), maxViewTitle),
		Submit:          slackapi.NewTextBlockObject(slackapi.PlainTextType, submitLabel(nonBlank(f.Submit, a.bot.Text(lang, "BtnSave"))), false, false),
		Close:           plain(nonBlank(f.Close, a.bot.Text(lang, "BtnClose")), maxViewTitle),
		PrivateMetadata: meta.encode(),
	}
	for _, in := range f.Inputs {
		v.Blocks.BlockSet = append(v.Blocks.BlockSet, a.inputBlock(in, lang))
	}
	if len(v.Blocks.BlockSet) > maxViewBlocks {
		v.Blocks.BlockSet = v.Blocks.BlockSet[:maxViewBlocks]
	}
	if !hasInput(v.Blocks.BlockSet) {
		v.Submit = nil // a modal without inputs cannot be submitted
	}
	return v
}

// submitLabel fits a modal's submit label ("Pay €63.00", what submitting
// does and costs) into Slack's 24 characters. A longer one keeps the whole
// words that fit, so that an amount is shown whole or not at all (the
// preview above the button states it in full): "Pay €1,234,567,8…" would
// name a price that is not the one charged. Only a first word longer than
// the limit is clipped.
func submitLabel(s string) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= maxViewTitle {
		return s
	}
	words := strings.Fields(s)
	out := words[0]
	for _, w := range words[1:] {
		if utf8.RuneCountInString(out)+1+utf8.RuneCountInString(w) > maxViewTitle {
			break
		}
		out += " " + w
	}
	return clip(out, maxViewTitle)
}

func nonBlank(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}

func hasInput(blocks []slackapi.Block) bool {
	for _, b := range blocks {
		if b.BlockType() == slackapi.MBTInput {
			return true
		}
	}
	return false
}

// infoBlock is a read-only section: the label in bold, then the text.
func infoBlock(id, label, text string) slackapi.Block {
	s := strings.TrimSpace(text)
	if l := strings.TrimSpace(label); l != "" {
		s = "*" + clipEscaped(l, 200) + "*\n" + escape(s)
	} else {
		s = escape(s)
	}
	return slackapi.NewSectionBlock(mrkdwn(clipEscaped2(s, maxSectionText)), nil, nil, slackapi.SectionBlockOptionBlockID(blockID(id)))
}

// clipEscaped2 clips already escaped text.
func clipEscaped2(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if parts := split(s, n-1); len(parts) > 0 {
		return parts[0] + "…"
	}
	return ""
}

func option(o commands.Option) *slackapi.OptionBlockObject {
	return slackapi.NewOptionBlockObject(clip(o.Value, maxOptionValue), plain(nonBlank(o.Label, o.Value), maxOptionText), nil)
}

func options(opts []commands.Option, most int) []*slackapi.OptionBlockObject {
	out := make([]*slackapi.OptionBlockObject, 0, min(len(opts), most))
	for _, o := range opts {
		if len(out) == most {
			break
		}
		if o.Value == "" || len(o.Value) > maxOptionValue {
			continue
		}
		out = append(out, option(o))
	}
	return out
}

// chosen are the options whose values are among vals.
func chosen(opts []*slackapi.OptionBlockObject, vals []string) []*slackapi.OptionBlockObject {
	var out []*slackapi.OptionBlockObject
	for _, o := range opts {
		for _, v := range vals {
			if o.Value == v {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// inputBlock renders one input of a form; its block id and action id are
// the input's id, so that field errors and values map back.
func (a *Adapter) inputBlock(in commands.Input, lang string) slackapi.Block {
	id := blockID(in.ID)
	var hint *slackapi.TextBlockObject
	if h := strings.TrimSpace(in.Hint); h != "" {
		hint = plain(h, maxLabel)
	}
	input := func(el slackapi.BlockElement) slackapi.Block {
		b := slackapi.NewInputBlock(id, plain(nonBlank(in.Label, in.ID), maxLabel), hint, el)
		b.Optional = !in.Required
		// An input that changes the form's preview sends its new value
		// at once (block_actions), for a draft (onDraft).
		b.DispatchAction = in.Dispatch
		return b
	}
	first := ""
	if len(in.Value) > 0 {
		first = in.Value[0]
	}
	switch in.Kind {
	case commands.KindInfo:
		return infoBlock(id, in.Label, in.Text)
	case commands.KindText, commands.KindParagraph:
		el := slackapi.NewPlainTextInputBlockElement(nil, id)
		el.Multiline = in.Kind == commands.KindParagraph
		if in.MaxLength > 0 {
			el.MaxLength = min(in.MaxLength, maxInputLength)
		}
		if first != "" {
			el.InitialValue = clip(first, max(el.MaxLength, maxInputLength))
			if el.MaxLength > 0 {
				el.InitialValue = clip(first, el.MaxLength)
			}
		}
		return input(el)
	case commands.KindNumber:
		el := slackapi.NewNumberInputBlockElement(nil, id, false)
		el.MinValue = strconv.Itoa(in.Min)
		if in.Max > 0 && in.Max >= in.Min {
			el.MaxValue = strconv.Itoa(in.Max)
		}
		if n, err := strconv.Atoi(first); err == nil && n >= in.Min && (el.MaxValue == "" || n <= in.Max) {
			el.InitialValue = first
		}
		if in.Dispatch {
			// A draft when Enter is pressed, not on every character: a
			// count is typed a digit at a time, and an update of the
			// modal while typing would show the price of "1" on the way
			// to "12" and could take the cursor away. Slack shows a hint
			// that Enter updates; a submission with a count whose price
			// was not shown comes back with that price (Submission.Live).
			el.DispatchActionConfig = &slackapi.DispatchActionConfig{TriggerActionsOn: []string{"on_enter_pressed"}}
		}
		return input(el)
	case commands.KindSelect:
		opts := options(in.Options, maxOptions)
		if len(opts) == 0 {
			return infoBlock(id, in.Label, a.bot.Text(lang, "SlackNoChoices"))
		}
		el := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, plain(a.bot.Text(lang, "SlackChoose"), maxPlaceholder), id, opts...)
		if c := chosen(opts, in.Value); len(c) > 0 {
			el.InitialOption = c[0]
		}
		return input(el)
	case commands.KindMultiSelect:
		opts := options(in.Options, maxOptions)
		if len(opts) == 0 {
			return infoBlock(id, in.Label, a.bot.Text(lang, "SlackNoChoices"))
		}
		el := slackapi.NewOptionsMultiSelectBlockElement(slackapi.MultiOptTypeStatic, plain(a.bot.Text(lang, "SlackChoose"), maxPlaceholder), id, opts...)
		el.InitialOptions = chosen(opts, in.Value)
		if in.Max > 0 {
			most := min(in.Max, len(opts))
			el.MaxSelectedItems = &most
		}
		return input(el)
	case commands.KindUsers:
		el := slackapi.NewOptionsMultiSelectBlockElement(slackapi.MultiOptTypeUser, plain(a.bot.Text(lang, "SlackChoosePeople"), maxPlaceholder), id)
		most := maxUsers
		if in.Max > 0 {
			most = min(in.Max, maxUsers)
		}
		el.MaxSelectedItems = &most
		for _, u := range in.Value {
			if isUserID(u) && len(el.InitialUsers) < most {
				el.InitialUsers = append(el.InitialUsers, u)
			}
		}
		return input(el)
	case commands.KindDate:
		el := slackapi.NewDatePickerBlockElement(id)
		if isDate.MatchString(first) {
			el.InitialDate = first
		}
		return input(el)
	case commands.KindConfirm:
		opts := options(in.Options, maxCheckboxes)
		if len(opts) == 0 {
			opts = []*slackapi.OptionBlockObject{option(commands.Option{Value: "yes", Label: a.bot.Text(lang, "SlackConfirmYes")})}
		}
		// A long confirmation text does not fit an option (75): it
		// becomes the hint, and the box says "Yes".
		for i, o := range in.Options {
			if i < len(opts) && utf8.RuneCountInString(o.Label) > maxOptionText {
				opts[i].Text = plain(a.bot.Text(lang, "SlackConfirmYes"), maxOptionText)
				hint = plain(strings.TrimSpace(in.Hint+"\n"+o.Label), maxLabel)
			}
		}
		el := slackapi.NewCheckboxGroupsBlockElement(id, opts...)
		el.InitialOptions = chosen(opts, in.Value)
		return input(el)
	}
	// An input kind this adapter does not know: shown, not asked.
	return infoBlock(id, in.Label, strings.Join(in.Value, ", "))
}

// maxUsers is the most people a people picker takes (PRODUCT.md: 20).
const maxUsers = 20
