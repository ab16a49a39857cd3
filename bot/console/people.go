package console

import (
	"context"
	"strings"

	"github.com/billingbot/billingbot/commands"
)

// People is a fixed directory of an organization's people: what the console
// has instead of a chat platform's user lookups.
type People struct {
	members []commands.Member
	admins  []string // ids, in order
}

var _ commands.Directory = (*People)(nil)

// NewPeople returns a directory of members.
func NewPeople(members ...commands.Member) *People {
	return &People{members: append([]commands.Member(nil), members...)}
}

// WithAdmins makes the people with these ids the organization's admins
// (Admins), and returns p.
func (p *People) WithAdmins(ids ...string) *People {
	p.admins = append(p.admins, ids...)
	return p
}

// Admins lists the organization's admins (WithAdmins) who are in the
// directory, humans and active.
func (p *People) Admins(context.Context) ([]commands.Member, error) {
	var out []commands.Member
	for _, id := range p.admins {
		for _, m := range p.members {
			if m.ID == id && !m.Bot && !m.Gone {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// DemoPeople returns the people of the demo organization: eight humans
// (alice … heidi), one bot (buildbot) and one deactivated user (mallory),
// so that the console shows what happens when a license goes to either.
// Alice administers it.
func DemoPeople() *People {
	return NewPeople(
		commands.Member{ID: "alice", Name: "Alice Adams"},
		commands.Member{ID: "bob", Name: "Bob Brown"},
		commands.Member{ID: "carol", Name: "Carol Clark"},
		commands.Member{ID: "dave", Name: "Dave Davis"},
		commands.Member{ID: "erin", Name: "Erin Evans"},
		commands.Member{ID: "frank", Name: "Frank Foster"},
		commands.Member{ID: "grace", Name: "Grace Green"},
		commands.Member{ID: "heidi", Name: "Heidi Hill"},
		commands.Member{ID: "buildbot", Name: "Build Bot", Bot: true},
		commands.Member{ID: "mallory", Name: "Mallory Moore", Gone: true},
	).WithAdmins("alice")
}

// Members lists everybody in the directory, in the order given.
func (p *People) Members() []commands.Member {
	return append([]commands.Member(nil), p.members...)
}

// Member resolves a reference as typed: an id ("alice"), a mention
// ("@alice", "<@alice>", "<@alice|Alice>") or a full name ("alice adams"),
// all without regard to case. Anything else is commands.ErrNoMember.
func (p *People) Member(_ context.Context, ref string) (commands.Member, error) {
	ref = strings.TrimSpace(ref)
	id := ref
	switch {
	case strings.HasPrefix(id, "<@") && strings.HasSuffix(id, ">"):
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<@"), ">")
		id, _, _ = strings.Cut(id, "|")
	case strings.HasPrefix(id, "@"):
		id = id[1:]
	}
	if id != "" {
		for _, m := range p.members {
			if strings.EqualFold(m.ID, id) {
				return m, nil
			}
		}
	}
	name := strings.Join(strings.Fields(ref), " ")
	if name != "" {
		for _, m := range p.members {
			if strings.EqualFold(m.Name, name) {
				return m, nil
			}
		}
	}
	return commands.Member{}, commands.ErrNoMember
}
