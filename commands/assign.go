package commands

import (
	"errors"
	"slices"
	"strings"

	"github.com/billingbot/billingbot/store"
)

// Assigning and unassigning licenses.

// isMention reports whether a word names a person: "@alice", "<@U123>".
func isMention(w string) bool { return strings.HasPrefix(w, "@") || strings.HasPrefix(w, "<@") }

func assignCmd(c *call) Response {
	var words, mentions []string
	for _, w := range c.args {
		if isMention(w) {
			mentions = append(mentions, w)
		} else if len(mentions) == 0 {
			words = append(words, w)
		} else {
			return c.fail(c.t.T("ErrAssignArgs"))
		}
	}
	s, r := c.pickSub(words, c.own(live), "assign", strings.Join(mentions, " "))
	if r != nil {
		return *r
	}
	if len(mentions) > store.MaxAssign {
		return c.fail(c.t.T("ErrTooManyUsers", "Max", c.t.Num(store.MaxAssign), "Count", c.t.Num(len(mentions))))
	}
	var ids, bad []string
	for _, m := range mentions {
		member, problem := c.member(m)
		if problem != "" {
			bad = append(bad, problem)
			continue
		}
		ids = append(ids, member.ID)
	}
	if len(bad) > 0 {
		return c.fail(strings.Join(bad, "\n"))
	}
	f := c.newForm(FormAssign, "TitleAssign", "BtnAssignNow")
	f.Context = s.ID
	f.Inputs = []Input{
		c.subInput(c.own(live), s),
		{ID: "users", Kind: KindUsers, Label: c.t.T("FieldUsers"), Hint: c.t.T("HintUsers", "Max", c.t.Num(store.MaxAssign)),
			Required: true, Min: 1, Max: store.MaxAssign, Value: ids},
		{ID: "free", Kind: KindInfo, Label: c.t.T("FieldFree"), Text: c.t.T("FreeOf",
			"Free", c.t.Num(s.Free()), "Total", c.t.N("Licenses", s.Total)) + "\n" + c.t.T("AssignOnlyOrg")},
	}
	return Response{Form: f}
}

// member resolves a person and checks that they can hold a license: a
// human, active member of the organization. It returns what is wrong
// otherwise, naming them.
func (c *call) member(ref string) (Member, string) {
	m, err := c.req.Members.Member(c.ctx, ref)
	switch {
	case errors.Is(err, ErrNoMember):
		return m, c.t.T("ErrNotMember", "User", shown(ref))
	case err != nil:
		c.b.log.Warn("member lookup", "org", c.req.Org, "err", err)
		return m, c.t.T("ErrLookup", "User", shown(ref))
	case m.Bot:
		return m, c.t.T("ErrIsBot", "User", m.Name)
	case m.Gone:
		return m, c.t.T("ErrDeactivated", "User", m.Name)
	case !store.ValidID(m.ID):
		return m, c.t.T("ErrNotMember", "User", shown(ref))
	}
	return m, ""
}

func assignSubmit(c *call) Response {
	errs := c.checked
	s, ok := c.ownSub("subscription", live, errs)
	picked := c.values("users")
	switch {
	case len(picked) == 0:
		errs.add("users", c.t.T("ErrNoUsers"))
	case len(picked) > store.MaxAssign:
		errs.add("users", c.t.T("ErrTooManyUsers", "Max", c.t.Num(store.MaxAssign), "Count", c.t.Num(len(picked))))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	var members []store.Member
	var bad, already []string
	seen := map[string]bool{}
	for _, ref := range picked {
		m, problem := c.member(ref)
		switch {
		case problem != "":
			bad = append(bad, problem)
		case seen[m.ID]: // the same person picked twice ("bob", "@bob")
		case ok && s.IsAssigned(m.ID):
			already = append(already, m.Name)
		default:
			members = append(members, store.Member{ID: m.ID, Name: m.Name})
		}
		seen[m.ID] = true
	}
	switch {
	case len(bad) > 0:
		errs.add("users", strings.Join(bad, " "))
	case len(already) > 0:
		errs.add("users", c.t.T("ErrAlreadyAssigned", "Users", strings.Join(already, ", ")))
	case ok && len(members) > s.Free():
		errs.add("users", c.t.T("ErrNoFree", "Free", c.t.N("Licenses", s.Free()), "Picked", c.t.Num(len(members))))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	free := s.Free() - len(members)
	resp := Response{Messages: []Message{{Title: c.t.T("TitleAssigned"),
		Text: c.t.T("Assigned", "Product", s.ProductName, "Users", c.names(members, nil)) + "\n" +
			c.t.T("FreeOf", "Free", c.t.Num(max(free, 0)), "Total", c.t.N("Licenses", s.Total)),
		Buttons: []Button{{Label: c.t.T("BtnUnassign"), Command: "unassign " + s.ID}}}}}
	res, err := c.b.store.AssignLicenses(c.ctx, c.once(resp), c.req.Org, c.req.User.ID, s.ID, members)
	switch {
	case errors.Is(err, store.ErrAlreadyAssigned):
		return Response{FieldErrors: fieldErrors{"users": c.t.T("ErrAlreadyAssigned", "Users", c.names(members, store.Users(err)))}}
	case errors.Is(err, store.ErrNoFreeLicenses):
		return Response{FieldErrors: fieldErrors{"users": c.t.T("ErrNoFreeNow")}}
	case errors.Is(err, store.ErrNotLive), errors.Is(err, store.ErrPermission), errors.Is(err, store.ErrNotFound):
		return Response{FieldErrors: fieldErrors{"subscription": c.t.T("ErrStale")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// names lists the names of members, only those with the ids when given.
func (c *call) names(members []store.Member, ids []string) string {
	var out []string
	for _, m := range members {
		if ids == nil || slices.Contains(ids, m.ID) {
			out = append(out, m.Name)
		}
	}
	return strings.Join(out, ", ")
}

func unassignCmd(c *call) Response {
	withUsers := c.own(func(s store.Subscription) bool { return s.AssignedCount > 0 })
	s, r := c.pickSub(c.args, withUsers, "unassign", "")
	if r != nil {
		return *r
	}
	f := c.newForm(FormUnassign, "TitleUnassign", "BtnUnassignNow")
	f.Context = s.ID
	// The assigned people to choose from; when there are more than a view
	// lists, a people picker (the store refuses anyone not assigned).
	users := Input{ID: "users", Kind: KindUsers, Label: c.t.T("FieldAssignedUsers"), Required: true, Min: 1, Max: store.MaxAssign}
	if s.AssignedCount == len(s.Assigned) {
		users.Kind, users.Max = KindMultiSelect, len(s.Assigned)
		for _, m := range s.Assigned {
			users.Options = append(users.Options, Option{Value: m.ID, Label: m.Name})
		}
	}
	f.Inputs = []Input{
		c.subInput(withUsers, s),
		users,
		{ID: "confirm", Kind: KindConfirm, Label: c.t.T("FieldConfirm"), Required: true,
			Options: []Option{{Value: "yes", Label: c.t.T("ConfirmUnassign")}}},
	}
	return Response{Form: f}
}

func unassignSubmit(c *call) Response {
	errs := c.checked
	s, ok := c.ownSub("subscription", func(store.Subscription) bool { return true }, errs)
	picked := c.values("users")
	var members []store.Member
	var missing, bad []string
	for _, id := range picked {
		switch m, found := c.holder(s, id); {
		case found:
			members = append(members, m)
		case s.AssignedCount == len(s.Assigned):
			missing = append(missing, id)
		default: // not listed: a person of the organization? The store knows whether they hold one.
			m, problem := c.member(id)
			if problem != "" {
				bad = append(bad, problem)
				continue
			}
			members = append(members, store.Member{ID: m.ID, Name: m.Name})
		}
	}
	switch {
	case len(picked) == 0:
		errs.add("users", c.t.T("ErrNoUsers"))
	case len(picked) > store.MaxAssign:
		errs.add("users", c.t.T("ErrTooManyUsers", "Max", c.t.Num(store.MaxAssign), "Count", c.t.Num(len(picked))))
	case len(bad) > 0:
		errs.add("users", strings.Join(bad, " "))
	case ok && len(missing) > 0:
		errs.add("users", c.t.T("ErrNotAssigned", "Users", c.displayRefs(missing)))
	}
	if c.value("confirm") != "yes" {
		errs.add("confirm", c.t.T("ErrConfirm"))
	}
	if len(errs) > 0 {
		return Response{FieldErrors: errs}
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	resp := Response{Messages: []Message{{Title: c.t.T("TitleUnassigned"),
		Text: c.t.N("Unassigned", len(members), "Product", s.ProductName, "Users", c.names(members, nil)) + "\n" +
			c.t.T("FreeOf", "Free", c.t.Num(s.Free()+len(members)), "Total", c.t.N("Licenses", s.Total))}}}
	res, err := c.b.store.UnassignLicenses(c.ctx, c.once(resp), c.req.Org, c.req.User.ID, s.ID, ids)
	switch {
	case errors.Is(err, store.ErrNotAssigned):
		return Response{FieldErrors: fieldErrors{"users": c.t.T("ErrNotAssigned", "Users", c.names(members, store.Users(err)))}}
	case errors.Is(err, store.ErrPermission), errors.Is(err, store.ErrNotFound):
		return Response{FieldErrors: fieldErrors{"subscription": c.t.T("ErrStale")}}
	case err != nil:
		return c.storeFault(err)
	case res.Repeat:
		return c.replay(res, resp)
	}
	return resp
}

// holder finds a listed holder of a license of s.
func (c *call) holder(s store.Subscription, id string) (store.Member, bool) {
	for _, m := range s.Assigned {
		if m.ID == id {
			return m, true
		}
	}
	return store.Member{}, false
}

// displayRefs names people by their directory names where it knows them.
func (c *call) displayRefs(refs []string) string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r
		if m, err := c.req.Members.Member(c.ctx, r); err == nil {
			out[i] = m.Name
		}
	}
	return strings.Join(out, ", ")
}
