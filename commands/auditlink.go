package commands

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// The audit trail as CSV, behind signed links that expire, like the
// invoices' PDF links: the token names the organization, the admin it was
// made for, what it selects (range, person) and the language, signed with
// a key derived from the invoice links' (and so from Config.SecretKey).

// AuditLinkTTL is how long an audit download link works.
const AuditLinkTTL = time.Hour

// AuditPath is where the server answers audit links, below the public
// URL: AuditPath + token + ".csv".
const AuditPath = "/audit/"

// auditCSVPage is how many entries the download reads from Redis at a
// time: its memory does not grow with the stream.
const auditCSVPage = 500

// AuditLink is what an audit download link grants: the entries of Org that
// From, To and Person select (zero: no bound), in Lang, until Expires. User
// is the admin it was made for.
type AuditLink struct {
	Org      string
	User     string
	Lang     string
	From, To time.Time // days, both included
	Person   string
	Expires  time.Time
}

// Errors of audit links.
var (
	// ErrAuditLink is a link not made with this key, or changed.
	ErrAuditLink = errors.New("audit link not valid")
	// ErrAuditLinkExpired is a link older than AuditLinkTTL.
	ErrAuditLinkExpired = errors.New("audit link expired")
)

func (b *Bot) auditMAC(payload []byte) []byte {
	k := hmac.New(sha256.New, b.linkKey)
	k.Write([]byte("billingbot audit link v1"))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write(payload)
	return m.Sum(nil)
}

func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// AuditURL is the download link of an audit selection.
func (b *Bot) AuditURL(l AuditLink) string {
	p := strings.Join([]string{"a1", l.Org, l.User, l.Lang, day(l.From), day(l.To), l.Person,
		strconv.FormatInt(l.Expires.Unix(), 10)}, "|")
	return b.cfg.PublicURL + AuditPath + sealLink(b.auditMAC, p) + ".csv"
}

// ParseAuditLink checks a link's token (what follows AuditPath, without
// ".csv") and returns what it grants: ErrAuditLink when it is malformed or
// its signature does not match, ErrAuditLinkExpired (with the link) when
// its time is up. It reads nothing from Redis.
func (b *Bot) ParseAuditLink(token string) (AuditLink, error) {
	f, ok := openLink(b.auditMAC, token)
	if !ok || len(f) != 8 || f[0] != "a1" {
		return AuditLink{}, ErrAuditLink
	}
	l := AuditLink{Org: f[1], User: f[2], Lang: f[3], Person: f[6]}
	exp, err := strconv.ParseInt(f[7], 10, 64)
	l.Expires = time.Unix(exp, 0).UTC()
	bad := err != nil || !store.ValidID(l.Org) || !store.ValidID(l.User) || (l.Lang != "en" && l.Lang != "de") ||
		l.Person != "" && !store.ValidID(l.Person)
	for i, s := range []string{f[4], f[5]} {
		if s == "" {
			continue
		}
		d, err := time.Parse("2006-01-02", s)
		bad = bad || err != nil
		if i == 0 {
			l.From = d
		} else {
			l.To = d
		}
	}
	if bad {
		return AuditLink{}, ErrAuditLink
	}
	if !b.now().Before(l.Expires) {
		return l, ErrAuditLinkExpired
	}
	return l, nil
}

// auditCSVButton downloads what the page selects, every page of it.
func (c *call) auditCSVButton(a auditArgs) Button {
	l := AuditLink{Org: c.req.Org, User: c.req.User.ID, Lang: c.t.lang, Person: a.person.ID, Expires: c.now.Add(AuditLinkTTL)}
	if a.r != nil {
		l.From, l.To = a.r.from, a.r.to
	}
	return Button{Label: c.t.T("BtnAuditCSV"), URL: c.b.AuditURL(l)}
}

// AuditFilename is the name an audit download is saved under.
func (l AuditLink) Filename() string {
	return "audit-" + l.Org + ".csv"
}

// WriteAuditCSV writes the entries a link selects to w as CSV (RFC 4180,
// UTF-8, a header row), newest first, reading them auditCSVPage at a time
// and writing each page before the next is read: memory stays the same
// for any number of entries. Cells that a spreadsheet would run as a
// formula (starting with = + - @, a tab or a carriage return) are
// prefixed with a quote. An error after the first row leaves w cut short.
func (b *Bot) WriteAuditCSV(ctx context.Context, w io.Writer, l AuditLink) error {
	t := b.tr(l.Lang)
	cw := csv.NewWriter(w)
	row := make([]string, 8)
	write := func(cells ...string) {
		for i, s := range cells {
			row[i] = csvSafe(s)
		}
		_ = cw.Write(row[:len(cells)])
	}
	write(t.T("AuditCSVId"), t.T("AuditCSVTime"), t.T("AuditColWho"), t.T("AuditCSVAction"), t.T("AuditColWhat"),
		t.T("AuditCSVTarget"), t.T("AuditCSVBefore"), t.T("AuditCSVAfter"))
	q := store.AuditQuery{Person: l.Person, Limit: auditCSVPage}
	if !l.From.IsZero() {
		q.From = l.From
	}
	if !l.To.IsZero() {
		q.To = l.To.Add(24*time.Hour - time.Millisecond)
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
		page, err := b.store.AuditPage(rctx, l.Org, q)
		cancel()
		if err != nil {
			return fmt.Errorf("audit csv: %w", err)
		}
		for _, e := range page.Entries {
			write(e.ID, e.At.Format(time.RFC3339Nano), e.Actor, e.Action, auditWhat(t, e), e.Target, e.Before, e.After)
		}
		if cw.Flush(); cw.Error() != nil {
			return fmt.Errorf("audit csv: %w", cw.Error())
		}
		if page.Older == "" {
			return nil
		}
		q.Before = page.Older
	}
}

// csvSafe keeps a cell from being read as a formula (OWASP's CSV
// injection): one that starts with = + - @, a tab or a carriage return
// gets a leading quote.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
