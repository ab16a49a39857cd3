package commands

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// What a running trial's purchaser can do from its reminder besides buying
// it: be reminded again a day later, or end it at once.

// trialReminderDays are the days before a trial's end on which its
// purchaser is reminded.
var trialReminderDays = []int{7, 1}

// remindAgainAfter is how much later "Remind me tomorrow" reminds.
const remindAgainAfter = 24 * time.Hour

// The words after "trial" that name what to do with a running trial
// (English and German), and the one that confirms ending it.
var (
	remindWords  = []string{"remind", "erinnern"}
	endWords     = []string{"end", "beenden"}
	confirmWords = []string{"confirm", "bestätigen", "bestaetigen"}
)

// trialActions runs "trial remind …" and "trial end …"; other trial
// command lines start a trial (run).
func trialActions(run func(*call) Response) func(*call) Response {
	return func(c *call) Response {
		if len(c.args) > 0 {
			w := strings.ToLower(c.args[0])
			switch {
			case oneOf(w, remindWords):
				return trialRemind(c, c.args[1:])
			case oneOf(w, endWords):
				return trialEnd(c, c.args[1:])
			}
		}
		return run(c)
	}
}

func oneOf(w string, words []string) bool {
	for _, x := range words {
		if w == x {
			return true
		}
	}
	return false
}

func isTrial(s store.Subscription) bool { return s.Status == store.StatusTrial }

// runningTrial finds the user's running trial that words name (an id or a
// product name), or returns the answer to give instead: a choice, or why
// not (someone else's subscription, one that is no longer a trial).
func (c *call) runningTrial(words []string, cmd string) (store.Subscription, *Response) {
	if len(words) == 1 {
		if s, ok := c.subscription(words[0]); ok && s.Purchaser.ID == c.req.User.ID && s.Status != store.StatusTrial {
			r := c.fail(c.t.T("ErrNoRunningTrial", "Product", s.ProductName, "Status", c.status(s)))
			return store.Subscription{}, &r
		}
	}
	return c.pickSub(words, c.own(isTrial), cmd, "")
}

// convertButton opens the buy form for a trial's product with its number of
// licenses: buying one's own trial converts it, keeping its assignments.
func (c *call) convertButton(productID string, licenses int) Button {
	return Button{Label: c.t.T("BtnConvert"), Command: "buy " + productID + " " + strconv.Itoa(licenses), Style: StylePrimary}
}

// trialRemind asks for one more reminder of a running trial a day from now
// ("Remind me tomorrow"), once: asking again while it is still to come
// schedules nothing more and answers with the same time.
func trialRemind(c *call, words []string) Response {
	s, r := c.runningTrial(words, "trial remind")
	if r != nil {
		return *r
	}
	at := c.now.Add(remindAgainAfter)
	if !s.TrialEnd.After(at) {
		r := c.fail(c.t.T("RemindTooLate", "Product", s.ProductName, "Time", c.t.DateTime(s.TrialEnd)))
		r.Messages[0].Buttons = []Button{c.convertButton(s.ProductID, s.Total)}
		return r
	}
	// A reminder that comes anyway before then is the next one.
	next := time.Time{}
	for _, days := range trialReminderDays {
		if due := s.TrialEnd.AddDate(0, 0, -days); due.After(s.PurchasedAt) && due.After(c.now) && !due.After(at) &&
			(next.IsZero() || due.Before(next)) {
			next = due
		}
	}
	if next.IsZero() {
		var err error
		next, err = c.b.store.RemindAgain(c.ctx, c.req.Org, c.req.User.ID, s.ID, at, c.now)
		switch {
		case errors.Is(err, store.ErrNotTrial), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPermission):
			return c.fail(c.t.T("ErrTrialGone"))
		case err != nil:
			return c.storeFault(err)
		}
	}
	return Response{Messages: []Message{{Title: c.t.T("TitleRemindAgain"),
		Text: c.t.T("RemindAgain", "Time", c.t.DateTime(next), "Product", s.ProductName, "Date", c.t.DateTime(s.TrialEnd))}}}
}

// trialEnd ends a running trial at once ("Cancel now"), after a
// confirmation that says what happens: it ends today, and the people it
// is assigned to lose access.
func trialEnd(c *call, words []string) Response {
	confirmed := false
	if n := len(words); n > 1 && oneOf(strings.ToLower(words[n-1]), confirmWords) {
		words, confirmed = words[:n-1], true
	}
	if confirmed && len(words) == 1 {
		// The confirmation's button names the trial by id: whatever
		// became of it, the store says (a repeated click gets the first
		// click's answer).
		if s, ok := c.subscription(words[0]); ok && s.Purchaser.ID == c.req.User.ID {
			return c.endTrialNow(s)
		}
	}
	s, r := c.runningTrial(words, "trial end")
	if r != nil {
		return *r
	}
	if !confirmed {
		yes, no := "trial end "+s.ID+" confirm", "products"
		text := c.t.T("EndTrialAskNobody", "Product", s.ProductName, "Date", c.t.Date(s.TrialEnd))
		if s.AssignedCount > 0 {
			text = c.t.N("EndTrialAsk", s.AssignedCount, "Product", s.ProductName, "Date", c.t.Date(s.TrialEnd))
		}
		return Response{Confirm: &Confirm{Yes: yes, No: no}, Messages: []Message{{Title: c.t.T("TitleEndTrial"), Text: text,
			Buttons: []Button{{Label: c.t.T("BtnEndTrialNow"), Command: yes, Style: StyleDanger},
				{Label: c.t.T("BtnKeepTrial"), Command: no}}}}}
	}
	return c.endTrialNow(s)
}

// endTrialNow ends the user's trial s now, once.
func (c *call) endTrialNow(s store.Subscription) Response {
	ended := s
	ended.Status, ended.TrialEnd, ended.CanceledAt = store.StatusExpired, c.now, c.now
	resp := Response{Messages: []Message{{Title: c.t.T("TitleTrialEnded"),
		Text:    c.t.N("TrialEnded", s.AssignedCount, "Product", s.ProductName),
		Buttons: []Button{{Label: c.t.T("BtnBuy"), Command: "buy " + s.ProductID}}}}}
	// One end per trial: a second confirmation (a double click) gets the
	// first one's answer.
	once := store.Once{Key: "end-trial:" + s.ID, Reply: c.record(resp), Note: c.note(NoteTrialEnded, ended, 0).Note()}
	res, err := c.b.store.EndTrial(c.ctx, once, c.req.Org, c.req.User.ID, s.ID, c.now)
	switch {
	case errors.Is(err, store.ErrNotTrial) && s.Status != store.StatusTrial:
		return c.fail(c.t.T("ErrNoRunningTrial", "Product", s.ProductName, "Status", c.status(s)))
	case errors.Is(err, store.ErrNotTrial), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrPermission):
		return c.fail(c.t.T("ErrTrialGone"))
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}
