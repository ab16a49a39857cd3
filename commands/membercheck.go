package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/billingbot/billingbot/store"
)

// A MemberChecker asks a platform whether someone is still a member of
// one of its organizations: for platforms that do not tell of members
// leaving (Discord's interactions endpoint, its gateway without the
// privileged members intent). The bot asks daily, through the scheduler,
// for each organization the platform has it check (ScheduleMemberCheck).
type MemberChecker interface {
	// Owns reports whether org is one of the platform's organizations.
	Owns(org string) bool
	// IsMember reports whether user is a member of org. Its error (the
	// platform could not be asked, or kept rate-limiting) has the page
	// asked again later.
	IsMember(ctx context.Context, org, user string) (bool, error)
}

// memberCheckers are the platforms that check members, for RunDue.
type memberCheckers struct {
	mu   sync.RWMutex
	list []MemberChecker
}

// AddMemberChecker has the bot ask mc about the members of its
// organizations when their daily check is due.
func (b *Bot) AddMemberChecker(mc MemberChecker) {
	b.checkers.mu.Lock()
	defer b.checkers.mu.Unlock()
	b.checkers.list = append(b.checkers.list, mc)
}

// memberCheckPage is how many subscriptions one run of the check scans:
// their people are asked about one by one.
const memberCheckPage = 50

// memberCheckAt is when the daily check after now starts: 03:00 UTC.
func memberCheckAt(now time.Time) time.Time {
	return now.UTC().Truncate(24 * time.Hour).Add(27 * time.Hour)
}

// ScheduleMemberCheck schedules org's next daily member check. Every
// replica may schedule it: it is one job a day.
func (b *Bot) ScheduleMemberCheck(ctx context.Context, org string) error {
	if !store.ValidID(org) {
		return fmt.Errorf("schedule member check: %w: %q", store.ErrInvalid, org)
	}
	return b.store.Schedule(ctx, store.Job{Kind: store.JobMemberCheck, Org: org, SubID: "c0", Due: memberCheckAt(b.now())})
}

// checkMembers runs one page of an organization's member check: the
// people of the page who are no longer members have left (MemberLeft).
// The next page is due at once; after the last, the next day's check.
func (b *Bot) checkMembers(ctx context.Context, j store.Job, now time.Time) error {
	var mc MemberChecker
	b.checkers.mu.RLock()
	for _, c := range b.checkers.list {
		if c.Owns(j.Org) {
			mc = c
		}
	}
	b.checkers.mu.RUnlock()
	if mc == nil {
		return nil // no platform here checks it: the job ends
	}
	cursor, err := strconv.ParseUint(strings.TrimPrefix(j.SubID, "c"), 10, 64)
	if err != nil {
		return nil // not a job of ours
	}
	users, next, err := b.store.People(ctx, j.Org, cursor, memberCheckPage)
	if err != nil {
		return err
	}
	for _, u := range users {
		member, err := mc.IsMember(ctx, j.Org, u)
		if err != nil {
			return fmt.Errorf("member check %s: %w", j.Org, err)
		}
		if !member {
			if err := b.MemberLeft(ctx, j.Org, u); err != nil {
				return err
			}
		}
	}
	then := store.Job{Kind: store.JobMemberCheck, Org: j.Org, SubID: "c" + strconv.FormatUint(next, 10), Due: now}
	if next == 0 {
		then.Due = memberCheckAt(now)
	}
	return b.store.Schedule(ctx, then)
}
