package commands

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// Unused licenses: licenses paid for and not assigned to anyone for
// Config.UnusedAfter. n licenses of a subscription count as unused when it
// has had at least n free licenses, without a break, for that long (the
// store keeps since when: store.Unused). Its purchaser hears of them once
// a week at most, with buttons to assign them or to reduce the total to
// the licenses in use; admins see them, and what they cost a month, in the
// admin overview.

// DefaultUnusedAfter is how long licenses stay free before they count as
// unused, unless Config.UnusedAfter says otherwise.
const DefaultUnusedAfter = 30 * 24 * time.Hour

// UnusedEvery is how often at most a purchaser hears of unused licenses.
const UnusedEvery = 7 * 24 * time.Hour

// NoteUnused tells a purchaser of licenses unassigned for a while.
const NoteUnused NotificationKind = "unused"

// unusedJob is the check of a subscription's unused licenses at due; a
// subscription has one (store.JobUnused), which schedules itself again.
func unusedJob(org, subID string, due time.Time) store.Job {
	return store.Job{Kind: store.JobUnused, Org: org, SubID: subID, Due: due}
}

// checkUnused runs a subscription's check: tells its purchaser of unused
// licenses when there are some and they have not heard of them for a
// week, and schedules the next check for when there can next be
// something to tell. A subscription that is over (or never became one)
// is checked no more.
func (c *call) checkUnused(j store.Job) error {
	s, u, err := c.b.store.UnusedOf(c.ctx, j.Org, j.SubID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now, after := c.now, c.b.cfg.UnusedAfter
	switch {
	case s.Status == store.StatusPending:
		return c.b.store.Schedule(c.ctx, unusedJob(s.Org, s.ID, now.Add(after)))
	case s.Status != store.StatusActive || s.UnitPrice <= 0:
		return nil
	}
	// Nothing can have been free long enough before the first license
	// that is free now has been, or (none is) from now on.
	next := now.Add(after)
	if since := u.FreeSince(); !since.IsZero() {
		next = since.Add(after)
	}
	if n := u.Count(now.Add(-after)); n > 0 {
		if !u.Told.IsZero() && now.Sub(u.Told) < UnusedEvery {
			next = u.Told.Add(UnusedEvery)
		} else {
			note := c.unusedNote(s, n)
			if _, err := c.b.store.TellUnused(c.ctx, s.Org, s.ID, now.Add(-after), UnusedEvery, n, note.Note()); err != nil {
				return err // left in flight: checked again when its lease ends
			}
			next = now.Add(UnusedEvery)
		}
	}
	if soonest := now.Add(time.Minute); next.Before(soonest) {
		next = soonest
	}
	return c.b.store.Schedule(c.ctx, unusedJob(s.Org, s.ID, next))
}

// unusedNote tells the purchaser of s of its n unused licenses.
func (c *call) unusedNote(s store.Subscription, n int) Notification {
	return Notification{
		Org: s.Org, To: s.Purchaser.ID, Kind: NoteUnused,
		Key: fmt.Sprintf("%s:%s:%d", NoteUnused, s.ID, c.now.Unix()),
		Sub: NotifiedSub{ID: s.ID, ProductID: s.ProductID, Product: s.ProductName, Purchaser: s.Purchaser.Name,
			Licenses: s.Total, Unused: n, InUse: s.AssignedCount, Price: monthly(s, n), Currency: s.Currency,
			Period: string(s.Period), Expires: s.RenewsAt},
	}
}

// monthly is what n licenses of s cost a month (an annual price / 12).
func monthly(s store.Subscription, n int) int64 { return perMonth(s.UnitPrice*int64(n), s.Period) }

// perMonth is the monthly equivalent of amount charged each period, to the
// nearest minor unit.
func perMonth(amount int64, p store.Period) int64 {
	months := int64(p.Months())
	return (amount + months/2) / months
}

// unusedMessage is the purchaser's message of unused licenses, with
// buttons to assign them (the assign form of the subscription) and to
// reduce the total to the licenses in use (the licenses form, filled in
// with that number; a reduction takes effect at the end of the period).
func (c *call) unusedMessage(n Notification) Message {
	s := n.Sub
	keep := max(s.InUse, 1)
	return Message{
		Title: c.t.T("UnusedNoteTitle"),
		Text: c.t.N("UnusedNote", s.Unused, "Total", c.t.N("Licenses", s.Licenses), "Product", s.Product,
			"Days", c.t.N("Days", c.unusedDays()), "Amount", c.t.Money(s.Price, s.Currency)) + "\n" +
			c.t.T("UnusedNoteHint", "Date", c.t.Date(s.Expires)),
		Buttons: []Button{
			{Label: c.t.T("BtnAssign"), Command: "assign " + s.ID, Style: StylePrimary},
			{Label: c.t.T("BtnReduce", "Total", c.t.N("Licenses", keep)), Command: "licenses " + s.ID + " " + strconv.Itoa(keep)},
		},
	}
}

// unusedDays is Config.UnusedAfter in whole days, at least 1.
func (c *call) unusedDays() int { return max(int(c.b.cfg.UnusedAfter/(24*time.Hour)), 1) }

// unusedCount is how many licenses of s are unused now.
func (c *call) unusedCount(s store.Subscription) int {
	if s.Status != store.StatusActive || s.UnitPrice <= 0 {
		return 0
	}
	return c.view.Unused[s.ID].Count(c.now.Add(-c.b.cfg.UnusedAfter))
}

// unusedFields is the admin overview's field of a subscription with
// unused licenses: how many, and what they cost a month.
func (c *call) unusedFields(s store.Subscription) []Field {
	n := c.unusedCount(s)
	if n == 0 {
		return nil
	}
	return []Field{{c.t.T("UnusedField", "Days", c.t.N("Days", c.unusedDays())),
		c.t.T("UnusedCost", "Licenses", c.t.N("Licenses", n), "Amount", c.t.Money(monthly(s, n), s.Currency))}}
}

// unusedLine is the admin overview's line of the unused licenses of subs
// and what they cost a month, per currency; "" when none. A page of a
// larger organization's says it speaks of the page.
func (c *call) unusedLine(subs []store.Subscription, page bool) string {
	count := 0
	cost := map[string]int64{}
	for _, s := range subs {
		if n := c.unusedCount(s); n > 0 && s.SelfService {
			count += n
			cost[s.Currency] += monthly(s, n)
		}
	}
	if count == 0 {
		return ""
	}
	currencies := make([]string, 0, len(cost))
	for cur := range cost {
		currencies = append(currencies, cur)
	}
	sort.Strings(currencies)
	amounts := make([]string, len(currencies))
	for i, cur := range currencies {
		amounts[i] = c.t.Money(cost[cur], cur)
	}
	id := "UnusedAdmin"
	if page {
		id = "UnusedAdminPage"
	}
	return c.t.N(id, count, "Days", c.t.N("Days", c.unusedDays()), "Amount", strings.Join(amounts, " + "))
}
