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

// assignCmd reads "assign [subscription] [people…]": the longest run of
// leading words that names exactly one of the user's subscriptions is the
// subscription ("project plan 3 bob": Project Plan 3), the words after it
// are people (ids, mentions or names, commas between them or not).
func assignCmd(c *call) Response {
	candidates := c.own(live)
	words, people := c.assignWords(c.args, candidates)
	if len(words) == 0 && len(people) > 0 && isMention(people[0]) {
		for _, w := range people[1:] {
			if !isMention(w) && matching(candidates, w) > 0 {
				return c.fail(c.t.T("ErrAssignArgs")) // "assign @bob visio"
			}
		}
	}
	s, r := c.pickSub(words, candidates, "assign", strings.Join(people, " "))
	if r != nil {
		return *r
	}
	found, bad := c.people(peopleGroups(people))
	if len(found) > store.MaxAssign {
		return c.fail(c.t.T("ErrTooManyUsers", "Max", c.t.Num(store.MaxAssign), "Count", c.t.Num(len(found))))
	}
	if len(bad) > 0 {
		return c.fail(strings.Join(bad, "\n"))
	}
	ids := make([]string, len(found))
	for i, m := range found {
		ids[i] = m.ID
	}
	f := c.newForm(FormAssign, "TitleAssign", "BtnAssignNow")
	f.Context = s.ID
	// What the free licenses are comes before the people it limits.
	f.Inputs = []Input{
		c.subInput(candidates, s),
		{ID: "free", Kind: KindInfo, Label: c.t.T("FieldFree"), Text: c.t.T("FreeOf",
			"Free", c.t.Num(s.Free()), "Total", c.t.Num(s.Total)) + "\n" + c.t.T("AssignOnlyOrg")},
		{ID: "users", Kind: KindUsers, Label: c.t.T("FieldUsers"), Hint: c.t.T("HintUsers", "Max", c.t.Num(store.MaxAssign)),
			Required: true, Min: 1, Max: store.MaxAssign, Value: ids},
	}
	return Response{Form: f}
}

// assignWords splits the words of an assign command line into those that
// name the subscription and those that name people: the longest leading
// run (before any mention) that names exactly one candidate, else the
// longest that names any (pickSub then offers the choice). When no run
// names a subscription, the line is all people if they all resolve and
// starts with a subscription's name otherwise (pickSub then says that none
// matches its first word).
func (c *call) assignWords(args []string, candidates []store.Subscription) (sub, people []string) {
	lead := len(args)
	for i, w := range args {
		if isMention(w) {
			lead = i
			break
		}
	}
	longest := -1
	for k := lead; k > 0; k-- {
		n := matching(candidates, strings.Join(args[:k], " "))
		if n == 1 {
			return args[:k], args[k:]
		}
		if n > 1 && longest < 0 {
			longest = k
		}
	}
	switch {
	case longest > 0:
		return args[:longest], args[longest:]
	case len(args) == 0:
		return nil, nil
	case lead == 0:
		return nil, args
	}
	// An id of another's subscription: pickSub says why it cannot be used.
	if _, ok := c.subscription(args[0]); ok {
		return args[:1], args[1:]
	}
	if _, bad := c.people(peopleGroups(args)); len(bad) == 0 {
		return nil, args
	}
	return args[:1], args[1:]
}

// matching counts the candidates a query names: by id or name prefix.
func matching(candidates []store.Subscription, query string) int {
	q := strings.ToLower(query)
	n := 0
	for _, s := range candidates {
		if s.ID == query || nameMatches(s.ProductName, q) || strings.HasPrefix(s.ProductID, q) {
			n++
		}
	}
	return n
}

// peopleGroups reads words meant as people: commas separate people
// ("alice, bob,carol"); words between commas are one person when they
// name one together ("Alice Adams") and each a person otherwise (people
// tries both, and names them as typed together when no word names
// anybody).
func peopleGroups(words []string) [][]string {
	var groups [][]string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			groups = append(groups, cur)
			cur = nil
		}
	}
	for _, w := range words {
		parts := strings.Split(w, ",")
		for i, p := range parts {
			if i > 0 {
				flush()
			}
			if p = strings.TrimSpace(p); p != "" {
				if isMention(p) {
					flush() // a mention is one person of its own
					cur = append(cur, p)
					flush()
					continue
				}
				cur = append(cur, p)
			}
		}
	}
	flush()
	return groups
}

// people resolves groups of words (peopleGroups) to people who can hold a
// license, each once; problems name everyone who cannot, and why.
func (c *call) people(groups [][]string) (found []Member, problems []string) {
	seen := map[string]bool{}
	add := func(m Member) {
		if !seen[m.ID] {
			seen[m.ID] = true
			found = append(found, m)
		}
	}
	for _, g := range groups {
		whole := strings.Join(g, " ")
		m, err := c.req.Members.Member(c.ctx, whole)
		if len(g) > 1 && errors.Is(err, ErrNoMember) {
			// Word by word ("bob carol"), unless no word names anybody:
			// then the words are one name that nobody has ("Zed Zulu").
			var each []Member
			var eachProblems []string
			unknown := 0
			for _, w := range g {
				m, err := c.req.Members.Member(c.ctx, w)
				if problem := c.memberProblem(w, m, err); problem != "" {
					eachProblems = append(eachProblems, problem)
					if errors.Is(err, ErrNoMember) {
						unknown++
					}
				} else {
					each = append(each, m)
				}
			}
			if unknown == len(g) {
				problems = append(problems, c.memberProblem(whole, m, err))
				continue
			}
			for _, m := range each {
				add(m)
			}
			problems = append(problems, eachProblems...)
			continue
		}
		if problem := c.memberProblem(whole, m, err); problem != "" {
			problems = append(problems, problem)
		} else {
			add(m)
		}
	}
	return found, problems
}

// member resolves a person and checks that they can hold a license: a
// human, active member of the organization. It returns what is wrong
// otherwise, naming them.
func (c *call) member(ref string) (Member, string) {
	m, err := c.req.Members.Member(c.ctx, ref)
	return m, c.memberProblem(ref, m, err)
}

// memberProblem says what keeps the person a Directory answered for ref
// from holding a license, or "".
func (c *call) memberProblem(ref string, m Member, err error) string {
	switch {
	case errors.Is(err, ErrNoMember):
		return c.t.T("ErrNotMember", "User", shown(ref))
	case err != nil:
		c.b.log.Warn("member lookup", "org", c.req.Org, "err", err)
		return c.t.T("ErrLookup", "User", shown(ref))
	case m.Bot:
		return c.t.T("ErrIsBot", "User", shown(m.Name))
	case m.Gone:
		return c.t.T("ErrDeactivated", "User", shown(m.Name))
	case !store.ValidID(m.ID):
		return c.t.T("ErrNotMember", "User", shown(ref))
	}
	return ""
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
	// Each value is read as on the command line: a person, or several
	// ("bob, carol"); the same person picked twice ("bob", "@bob") once.
	var groups [][]string
	for _, v := range picked {
		if strings.HasPrefix(v, "<@") { // a platform's mention: "<@U2|Bob Brown>"
			groups = append(groups, []string{v})
		} else {
			groups = append(groups, peopleGroups(strings.Fields(v))...)
		}
	}
	found, bad := c.people(groups)
	var members []store.Member
	var already []string
	for _, m := range found {
		if ok && s.IsAssigned(m.ID) {
			already = append(already, m.Name)
		} else {
			members = append(members, store.Member{ID: m.ID, Name: m.Name})
		}
	}
	switch {
	case len(found) > store.MaxAssign:
		errs.add("users", c.t.T("ErrTooManyUsers", "Max", c.t.Num(store.MaxAssign), "Count", c.t.Num(len(found))))
	case len(bad) > 0:
		errs.add("users", strings.Join(bad, " "))
	case len(already) > 0:
		errs.add("users", c.t.T("ErrAlreadyAssigned", "Users", strings.Join(already, ", ")))
	case ok && len(members) > s.Free():
		errs.add("users", c.t.N("ErrNoFree", s.Free(), "Picked", c.t.N("People", len(members))))
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
