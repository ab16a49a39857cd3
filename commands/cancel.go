package commands

import (
	"errors"
	"unicode/utf8"

	"github.com/billingbot/billingbot/store"
)

// Reasons are the cancellation reasons that billing systems share, in the
// order the form lists them, with their message ids.
var reasons = []struct{ Key, Msg string }{
	{"too_expensive", "ReasonTooExpensive"},
	{"missing_features", "ReasonMissingFeatures"},
	{"switched_service", "ReasonSwitchedService"},
	{"unused", "ReasonUnused"},
	{"customer_service", "ReasonCustomerService"},
	{"too_complex", "ReasonTooComplex"},
	{"low_quality", "ReasonLowQuality"},
	{"other", "ReasonOther"},
}

// maxFeedback is the most characters of cancellation feedback.
const maxFeedback = 1000

func (c *call) reason(key string) (string, bool) {
	for _, r := range reasons {
		if r.Key == key {
			return c.t.T(r.Msg), true
		}
	}
	return "", false
}

func cancelCmd(c *call) Response {
	if len(c.args) == 0 {
		return c.chooseCancel()
	}
	s, r := c.pickSub(c.args, c.own(live), "cancel", "")
	if r != nil {
		return *r
	}
	opts := make([]Option, len(reasons))
	for i, r := range reasons {
		opts[i] = Option{Value: r.Key, Label: c.t.T(r.Msg)}
	}
	f := c.newForm(FormCancel, "TitleCancel", "BtnCancelNow")
	f.Context = s.ID
	keeps := c.t.N("CancelKeeps", s.AssignedCount, "Product", s.ProductName, "Date", c.t.Date(s.EndsAt()))
	if s.Status == store.StatusActive && s.UnitPrice > 0 && !s.RenewsAt.IsZero() {
		// What the user stops paying: the renewal that no longer comes.
		keeps += " " + c.t.T("CancelNoRenewal", "Amount", c.t.Money(s.UnitPrice*int64(s.Renewing()), s.Currency),
			"Date", c.t.Date(s.RenewsAt))
	}
	f.Inputs = []Input{
		c.subInput(c.own(live), s),
		{ID: "keeps", Kind: KindInfo, Label: c.t.T("FieldKeeps"), Text: keeps},
		{ID: "reason", Kind: KindSelect, Label: c.t.T("FieldReason"), Required: true, Options: opts},
		{ID: "feedback", Kind: KindParagraph, Label: c.t.T("FieldFeedback"), MaxLength: maxFeedback},
		{ID: "confirm", Kind: KindConfirm, Label: c.t.T("FieldConfirm"), Required: true,
			Options: []Option{{Value: "yes", Label: c.t.T("ConfirmCancel")}}},
	}
	return Response{Form: f}
}

func cancelSubmit(c *call) Response {
	errs := c.checked
	feedback := c.value("feedback")
	if n := utf8.RuneCountInString(feedback); n > maxFeedback {
		errs.add("feedback", c.t.T("ErrTooLong", "Max", c.t.Num(maxFeedback)))
	}
	s, _ := c.ownSub("subscription", live, errs)
	key := c.value("reason")
	if _, ok := c.reason(key); !ok {
		errs.add("reason", c.t.T("ErrChooseReason"))
	}
	if c.value("confirm") != "yes" {
		errs.add("confirm", c.t.T("ErrConfirm"))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	resp := Response{Messages: []Message{{Title: c.t.T("TitleCanceled"),
		Text: c.t.T("Canceled", "Product", s.ProductName, "Date", c.t.Date(s.EndsAt()))}}}
	canceled := s
	canceled.Status, canceled.CancelReason, canceled.CancelComment = store.StatusCanceled, key, feedback
	res, err := c.b.store.Cancel(c.ctx, c.once(resp, c.note(NoteCancel, canceled, s.Total)), c.req.Org, c.req.User.ID, s.ID, key, feedback, c.now)
	switch {
	case errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrPermission), errors.Is(err, store.ErrNotFound):
		return Response{FieldErrors: fieldErrors{"subscription": c.t.T("ErrStale")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// chooseCancel answers a bare "cancel": which subscription to cancel, one
// button each, even when there is only one. Nothing is preselected, so
// that "cancel" typed to close a form (as forms say) never starts the
// cancellation of a subscription the user did not choose.
func (c *call) chooseCancel() Response {
	subs := c.own(live)
	if len(subs) == 0 {
		return c.fail(c.t.T("ErrNoCandidates"))
	}
	msg := Message{Text: c.t.T("ChooseCancel")}
	for i, s := range subs {
		if i == 20 {
			break
		}
		msg.Buttons = append(msg.Buttons, Button{Label: c.subLabel(s), Command: "cancel " + s.ID})
	}
	return Response{Messages: []Message{msg}}
}
