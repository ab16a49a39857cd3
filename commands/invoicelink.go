package commands

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/commands/invoicedoc"
	"github.com/billingbot/billingbot/store"
)

// Invoices as PDF documents, behind signed links that expire.
//
// A link names an organization, a user, one of the user's invoices, a
// language and when it expires, signed with HMAC-SHA256 under a key derived
// from Config.SecretKey. It needs nothing in Redis to be made or checked,
// so every invoice in a list gets one at no cost, and every replica that
// shares the key honours it.

// InvoiceLinkTTL is how long an invoice's download link works.
const InvoiceLinkTTL = 24 * time.Hour

// InvoicePath is where the server answers invoice links, below the public
// URL: InvoicePath + token + ".pdf".
const InvoicePath = "/invoices/"

// maxInvoiceToken is the longest token worth checking: its fields are ids
// of at most 64 characters.
const maxInvoiceToken = 512

// maxInvoiceButtons is the most invoices of a list that get a download
// button beside the list's three range buttons: Discord shows at most 5
// rows of 5 buttons, and the range buttons take the first row.
const maxInvoiceButtons = 20

// InvoiceLink is what a download link grants: User of Org may download
// their invoice Invoice, in Lang, until Expires.
type InvoiceLink struct {
	Org     string
	User    string
	Invoice string
	Lang    string // "de" or "en"
	Expires time.Time
	// Command is the slash command as the user's platform shows it
	// (Request.Command, e.g. "/abrechnung"), for the pages that name it;
	// "" for /billing.
	Command string
}

// Errors of invoice links. Neither tells anything about the invoice.
var (
	// ErrInvoiceLink is a link that was not made by a bot with this key,
	// was changed, or names an invoice that is not the user's (any more).
	ErrInvoiceLink = errors.New("invoice link not valid")
	// ErrInvoiceLinkExpired is a link older than InvoiceLinkTTL.
	ErrInvoiceLinkExpired = errors.New("invoice link expired")
)

// invoiceLinkKey derives the key that signs invoice links from the secret
// key, so that other uses of the secret never share a key with them. An
// empty secret gives a random key.
func invoiceLinkKey(secret []byte) ([]byte, error) {
	if len(secret) == 0 {
		secret = make([]byte, MinSecretKey)
		_, _ = rand.Read(secret) // never fails (crypto/rand)
	}
	if len(secret) < MinSecretKey {
		return nil, fmt.Errorf("commands: secret key of %d bytes, want at least %d", len(secret), MinSecretKey)
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("billingbot invoice link v1"))
	return m.Sum(nil), nil
}

// linkPayload is what a link's signature covers: version 1 without a
// command, version 2 with one.
func linkPayload(l InvoiceLink) string {
	version := "1"
	f := []string{l.Org, l.User, l.Invoice, l.Lang, strconv.FormatInt(l.Expires.Unix(), 10)}
	if l.Command != "" {
		version, f = "2", append(f, l.Command)
	}
	return version + "|" + strings.Join(f, "|")
}

func (b *Bot) linkMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, b.linkKey)
	m.Write(payload)
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding.Strict()

// InvoiceURL is the download link of an invoice: the public URL, the
// path, and a token of the payload and its signature, both base64url.
func (b *Bot) InvoiceURL(l InvoiceLink) string {
	return b.cfg.PublicURL + InvoicePath + sealLink(b.linkMAC, linkPayload(l)) + ".pdf"
}

// sealLink is a link's token: its payload and the payload's signature
// (mac), both base64url, joined by ".".
func sealLink(mac func([]byte) []byte, payload string) string {
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(mac([]byte(payload)))
}

// openLink returns the "|"-separated fields of a token sealLink made with
// mac, or false when it is too long, malformed, or not signed with mac.
func openLink(mac func([]byte) []byte, token string) ([]string, bool) {
	if len(token) > maxInvoiceToken {
		return nil, false
	}
	encPayload, encMAC, ok := strings.Cut(token, ".")
	if !ok {
		return nil, false
	}
	payload, err1 := b64.DecodeString(encPayload)
	sig, err2 := b64.DecodeString(encMAC)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, mac(payload)) {
		return nil, false
	}
	return strings.Split(string(payload), "|"), true
}

// ParseInvoiceLink checks a link's token (what follows InvoicePath, without
// ".pdf") and returns what it grants. A token that is malformed or whose
// signature does not match is ErrInvoiceLink; one whose time is up is
// ErrInvoiceLinkExpired, returned with the link. It reads nothing from
// Redis: ParseInvoiceLink is as cheap for a forged link as for a good one.
func (b *Bot) ParseInvoiceLink(token string) (InvoiceLink, error) {
	f, ok := openLink(b.linkMAC, token)
	if !ok || !(len(f) == 6 && f[0] == "1" || len(f) == 7 && f[0] == "2") {
		return InvoiceLink{}, ErrInvoiceLink
	}
	exp, err := strconv.ParseInt(f[5], 10, 64)
	l := InvoiceLink{Org: f[1], User: f[2], Invoice: f[3], Lang: f[4], Expires: time.Unix(exp, 0).UTC()}
	if len(f) == 7 {
		l.Command = f[6]
	}
	if err != nil || !store.ValidID(l.Org) || !store.ValidID(l.User) || !store.ValidID(l.Invoice) || (l.Lang != "en" && l.Lang != "de") ||
		len(f) == 7 && !validCommand(l.Command) {
		return InvoiceLink{}, ErrInvoiceLink
	}
	if !b.now().Before(l.Expires) {
		return l, ErrInvoiceLinkExpired
	}
	return l, nil
}

// invoiceButton opens the download link of one of the user's invoices,
// in the user's language, for InvoiceLinkTTL.
func (c *call) invoiceButton(inv store.Invoice) Button {
	return Button{Label: c.t.T("BtnInvoicePDF", "Invoice", inv.ID), URL: c.b.InvoiceURL(InvoiceLink{
		Org: c.req.Org, User: c.req.User.ID, Invoice: inv.ID, Lang: c.t.lang, Expires: c.now.Add(InvoiceLinkTTL),
		Command: c.t.shownCommand()})}
}

// InvoiceDocument is an invoice ready to be written as a PDF.
type InvoiceDocument struct {
	doc invoicedoc.Document
	t   tr
}

// InvoiceDocument reads the invoice a link grants and the name of the
// billing profile it is addressed to. An invoice that is not there, or
// not the link's user's, is ErrInvoiceLink; Redis's faults are errors
// that wrap store.ErrUnavailable.
func (b *Bot) InvoiceDocument(ctx context.Context, l InvoiceLink) (*InvoiceDocument, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	inv, err := b.store.Invoice(ctx, l.Org, l.Invoice)
	switch {
	case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid):
		return nil, ErrInvoiceLink
	case err != nil:
		return nil, fmt.Errorf("invoice document: %w", err)
	case inv.User != l.User || (inv.Org != "" && inv.Org != l.Org):
		return nil, ErrInvoiceLink
	}
	v, err := b.store.View(ctx, l.Org, l.User, store.ViewOptions{})
	if err != nil {
		return nil, fmt.Errorf("invoice document: %w", err)
	}
	profile, _ := v.Billing.Profile(inv.ProfileID)
	c := &call{b: b, ctx: ctx, now: b.now().UTC(), t: b.tr(l.Lang), req: Request{Org: l.Org, User: Member{ID: l.User}}}
	return &InvoiceDocument{t: c.t, doc: invoicedoc.Document{
		Invoice:  inv,
		Lang:     c.t.lang,
		Seller:   invoicedoc.Party{Name: b.cfg.Operator.Name, Address: b.cfg.Operator.Address},
		Customer: c.profileName(profile),
		Status:   c.invoiceStatus(inv.Status),
		TestMode: inv.Test || b.TestMode(),
		Created:  c.now,
	}}, nil
}

// Filename is the name the document is saved under: invoice-<id>.pdf.
func (d *InvoiceDocument) Filename() string { return invoicedoc.Filename(d.doc.Invoice) }

// WritePDF renders the document to w. When the document cannot be made,
// nothing is written to w.
func (d *InvoiceDocument) WritePDF(w io.Writer) error { return invoicedoc.Write(w, d.doc, d.t) }
