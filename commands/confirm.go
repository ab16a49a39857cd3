package commands

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// Nothing that costs or saves money happens without an exact preview and
// a confirmation. A form whose change does (buy, licenses) computes a quote
// from its values; the change is made only when the user confirmed that
// very quote:
//   - on a platform that updates forms in place (Submission.Live, Slack),
//     the form shows the quote for its current values and names it in its
//     Context; submitting that form confirms it;
//   - elsewhere the submission is answered with the quote and two buttons
//     (Response.Confirm): "confirm <id>" makes the change, "confirm <id>
//     back" reopens the form. The submission waits in the organization's
//     cache for confirmTTL.
// A quote that no longer holds when confirmed (the price or the day
// changed) is shown again instead of being charged.

// quote is exactly what a change costs: today, and each period from the
// next one on.
type quote struct {
	key      []string // what the amounts depend on: the form's values
	currency string
	today    int64     // charged now
	next     int64     // charged each period from nextAt
	nextAt   time.Time // the next period's start
	period   store.Period
	text     string // the preview, in the user's language
	yes      string // the confirming button: "Pay €63.00", "Save"
}

// digest names the quote: the same values and amounts, the same digest.
// The next period's start counts by its day, as the preview shows it: a
// confirmation clicked seconds or hours later, on the same day, confirms
// the same quote.
func (q quote) digest() string {
	h := sha256.New()
	for _, k := range q.key {
		h.Write([]byte(k))
		h.Write([]byte{0})
	}
	for _, v := range []string{q.currency, strconv.FormatInt(q.today, 10), strconv.FormatInt(q.next, 10),
		q.nextAt.UTC().Format(time.DateOnly), string(q.period)} {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// confirmTTL is how long a confirmation can be confirmed.
const confirmTTL = 30 * time.Minute

// pending is a submission waiting for its confirmation.
type pending struct {
	User   string     `json:"user"`
	Form   Submission `json:"form"`
	Digest string     `json:"digest"`
	Key    string     `json:"key"` // the submission's idempotency key
}

// withDigest names the quote a form shows in its Context.
func withDigest(context, digest string) string { return context + "|" + digest }

// splitDigest takes the quote's name off a form's Context.
func splitDigest(context string) (base, digest string) {
	if i := strings.LastIndexByte(context, '|'); i >= 0 {
		return context[:i], context[i+1:]
	}
	return context, ""
}

// confirmFirst reports whether the user confirmed exactly q. If not, it
// returns the answer that asks them to: form rebuilds the form for a
// platform that shows it again with the quote.
func (c *call) confirmFirst(q quote, form func() *Form) (Response, bool) {
	d := q.digest()
	if c.approving != nil {
		return Response{}, c.approving.holds(q)
	}
	switch {
	case c.confirmed == d, c.req.Form.Live && c.shown == d:
		return Response{}, true
	case c.req.Form.Live:
		return Response{Form: form()}, false
	}
	text := q.text
	if c.confirmed != "" {
		text = c.t.T("QuoteChanged") + "\n" + text
	}
	// The same submission again (a retry) asks the same confirmation (of
	// its user: another user's submission with the same key asks its own). The
	// change is made under the submission's own key: a second click, or
	// the submission repeated after the change, changes nothing twice.
	// The id is letters mostly (base32), so that it never reads as a card
	// number.
	sum := sha256.Sum256([]byte("confirm:" + c.req.User.ID + ":" + onceKey(c.req) + ":" + d))
	id := strings.ToLower(base32.StdEncoding.EncodeToString(sum[:10]))
	sub := *c.req.Form
	sub.Live, sub.Draft = false, false
	doc, _ := json.Marshal(pending{User: c.req.User.ID, Form: sub, Digest: d, Key: c.req.IdempotencyKey}) // plain data: cannot fail
	if err := c.b.store.CachePut(c.ctx, c.req.Org, confirmKey(id), string(doc), confirmTTL); err != nil {
		return c.storeFault(err), false
	}
	yes, no := "confirm "+id, "confirm "+id+" back"
	return Response{
		Messages: []Message{{Title: c.t.T("TitleConfirm"), Text: text + c.testNote(), Buttons: []Button{
			{Label: q.yes, Command: yes, Style: StylePrimary}, {Label: c.t.T("BtnBack"), Command: no}}}},
		Confirm: &Confirm{Yes: yes, No: no},
	}, false
}

func confirmKey(id string) string { return "confirm:" + id }

// confirmation turns the command line "confirm <id> [back]" into the
// submission it confirms: the form runs again with the quote the user
// confirmed (c.confirmed), under a key of its own so that a second click
// changes nothing twice; "back" reopens the form with its values. ok is
// false when the line is no confirmation; r answers when there is none to
// confirm.
func (b *Bot) confirmation(c *call, args []string) (r *Response, ok bool) {
	if len(args) < 2 || len(args) > 3 || !strings.EqualFold(args[0], "confirm") ||
		len(args) == 3 && !strings.EqualFold(args[2], "back") {
		return nil, false
	}
	id := args[1]
	gone := func() *Response {
		_ = b.load(c, store.ViewOptions{Count: true, Now: c.now}) // the user's language, if Redis answers
		r := c.fail(c.t.T("ErrConfirmGone"))
		return &r
	}
	if !store.ValidID(id) || len(id) > 32 {
		return gone(), true
	}
	doc, found, err := b.store.CacheGet(c.ctx, c.req.Org, confirmKey(id))
	if err != nil {
		r := c.storeFault(err)
		return &r, true
	}
	var p pending
	if !found || json.Unmarshal([]byte(doc), &p) != nil || p.User != c.req.User.ID {
		return gone(), true
	}
	if _, ok := b.forms[p.Form.FormID]; !ok {
		return gone(), true
	}
	if len(args) == 3 {
		// Back to the form: this confirmation is over.
		if err := b.store.CacheDelete(c.ctx, c.req.Org, confirmKey(id)); err != nil {
			r := c.storeFault(err)
			return &r, true
		}
		p.Form.Draft = true
	}
	c.req.Text, c.req.Form = "", &p.Form
	c.req.IdempotencyKey, c.confirmed = p.Key, p.Digest
	return nil, true
}
