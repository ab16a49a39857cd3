package store

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"time"
)

// Every key name is built here. All keys of an organization share the hash
// tag {org}, so the scripts that change several of them run on Redis Cluster.
// The scheduler's keys share the tag {sched}.

// ValidID reports whether id can be used as an organization, user or
// subscription id in key names: 1 to 64 of A–Z, a–z, 0–9, "_", "." and "-"
// (Slack and Discord ids, console names, the store's own random ids). It is
// checked several times per request, so it is a loop, not a regexp.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

type keys struct{ p string }

func orgKeys(org string) keys { return keys{p: "bb:{" + org + "}:"} }

func (k keys) sub(id string) string        { return k.p + "sub:" + id }
func (k keys) subUsers(id string) string   { return k.p + "sub:" + id + ":users" }
func (k keys) subs() string                { return k.p + "subs" }
func (k keys) bought(user string) string   { return k.p + "user:" + user + ":bought" }
func (k keys) subsIndex() string           { return k.p + "subs:bydate" }
func (k keys) subsIndexBuilt() string      { return k.p + "subs:bydate:built" }
func (k keys) holds(user string) string    { return k.p + "user:" + user + ":holds" }
func (k keys) invoices(user string) string { return k.p + "user:" + user + ":invoices" }
func (k keys) invoice(id string) string    { return k.p + "invoice:" + id }
func (k keys) billing(user string) string  { return k.p + "user:" + user + ":billing" }
func (k keys) prefs(user string) string    { return k.p + "user:" + user + ":prefs" }
func (k keys) trial(product string) string { return k.p + "trial:" + product }
func (k keys) settings() string            { return k.p + "settings" }
func (k keys) audit() string               { return k.p + "audit" }
func (k keys) idem(key string) string      { return k.p + "idem:" + key }
func (k keys) remind(sub string) string    { return k.p + "remind:" + sub }
func (k keys) rate(user string) string     { return k.p + "rate:" + user }
func (k keys) drafts(user string) string   { return k.p + "rate:" + user + ":drafts" }
func (k keys) cache(key string) string     { return k.p + "cache:" + key }
func (k keys) outbox() string              { return k.p + "outbox" }
func (k keys) outboxRetry() string         { return k.p + "outbox:retry" }
func (k keys) outboxDead() string          { return k.p + "outbox:dead" }
func (k keys) sent(id string) string       { return k.p + "sent:" + id }
func (k keys) payLink(ref string) string   { return k.p + "paylink:" + ref }

// A request for approval, a purchaser's open ones, and the
// organization's.
func (k keys) approval(id string) string    { return k.p + "approval:" + id }
func (k keys) approvals(user string) string { return k.p + "user:" + user + ":approvals" }
func (k keys) openApprovals() string        { return k.p + "approvals:open" }

func (k keys) left() string      { return k.p + "left" }
func (k keys) handovers() string { return k.p + "handovers" }
func (k keys) credential(platform string) string {
	return k.p + "credential:" + platform
}

// The prefix that scripts append ids to when they reach keys they learn
// while running (all in the organization's slot).
func (k keys) prefix() string { return k.p }

const (
	keyDue      = "bb:{sched}:due"
	keyInflight = "bb:{sched}:inflight"
	// The organizations whose outboxes senders look at, by when (ms; 0:
	// at once), and those that have had dead letters.
	keyOutboxDue  = "bb:{outbox}:due"
	keyOutboxDead = "bb:{outbox}:dead"
)

// streamID is what a Redis stream entry id looks like.
var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// payLinkOrg names the organization of a payment link, found by its
// reference: the link itself lives in the organization's slot.
func payLinkOrg(ref string) string { return "bb:paylink:" + ref }

// cardAttempts counts a client's card attempts in one window of time:
// the client is hashed, so that no address is kept in a key name.
func cardAttempts(client string, now time.Time, window time.Duration) string {
	sum := sha256.Sum256([]byte("card-attempts\x00" + client))
	return "bb:cardtries:" + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(now.UnixNano()/int64(window), 10)
}

// usedOnce marks a single-use value (an OAuth state) as used: the value
// is hashed, so that no key holds it.
func usedOnce(what, value string) string {
	sum := sha256.Sum256([]byte("used-once\x00" + what + "\x00" + value))
	return "bb:once:" + what + ":" + hex.EncodeToString(sum[:16])
}

// jobMember encodes a job as a member of the due set.
func jobMember(j Job) string {
	due := strconv.FormatInt(j.Due.Unix(), 10)
	if j.Kind == JobUnused {
		// One check per subscription: scheduling it again moves it.
		due = "0"
	}
	m := string(j.Kind) + "|" + j.Org + "|" + j.SubID + "|" + due
	if j.Invoice != "" {
		m += "|" + j.Invoice
	}
	return m
}
