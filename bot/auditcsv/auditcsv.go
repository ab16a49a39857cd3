// Package auditcsv serves the audit trail as CSV behind the signed,
// expiring links of "admin audit": GET /audit/{token}.csv.
//
// A forged or changed link gets 403, an expired one 410, each with a line
// of text in the link's (else the browser's) language; only a fault of
// Redis before the first row is a 503. The CSV is streamed: it is written
// page by page as the entries are read. The token is never logged.
package auditcsv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/billingbot/billingbot/bot/internal/weblang"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

type handler struct {
	bot *commands.Bot
	log *slog.Logger
}

// New returns the download handler. Mount it at commands.AuditPath
// ("/audit/") without stripping the prefix; nil log means slog.Default().
func New(bot *commands.Bot, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return &handler{bot: bot, log: log}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.text(w, http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed))
		h.log.Info("audit download", "outcome", "method_not_allowed")
		return
	}
	file, _ := strings.CutPrefix(r.URL.Path, commands.AuditPath)
	token, ok := strings.CutSuffix(file, ".csv")
	if !ok || strings.Contains(token, "/") {
		h.text(w, http.StatusNotFound, h.bot.Text(weblang.FromRequest(r), "AuditLinkBad"))
		h.log.Info("audit download", "outcome", "not_found")
		return
	}
	l, err := h.bot.ParseAuditLink(token)
	switch {
	case errors.Is(err, commands.ErrAuditLinkExpired):
		h.text(w, http.StatusGone, h.bot.Text(l.Lang, "AuditLinkGone"))
		h.log.Info("audit download", "org", l.Org, "outcome", "expired")
		return
	case err != nil:
		h.text(w, http.StatusForbidden, h.bot.Text(weblang.FromRequest(r), "AuditLinkBad"))
		h.log.Info("audit download", "outcome", "invalid")
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", `attachment; filename="`+l.Filename()+`"`)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		h.log.Info("audit download", "org", l.Org, "user", l.User, "outcome", "head")
		return
	}
	cw := &countingWriter{w: w, rc: http.NewResponseController(w)}
	if err := h.bot.WriteAuditCSV(r.Context(), cw, l); err != nil {
		outcome := "unavailable"
		if errors.Is(err, context.Canceled) {
			outcome = "canceled"
		} else if !errors.Is(err, store.ErrUnavailable) {
			outcome = "error"
		}
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			h.text(w, http.StatusServiceUnavailable, h.bot.Text(l.Lang, "AuditLinkError"))
		}
		// After the first bytes the status is sent: the download ends
		// short, and the client sees a broken transfer.
		h.log.Error("audit download", "org", l.Org, "outcome", outcome, "bytes", cw.n, "err", strings.ReplaceAll(err.Error(), token, "[token]"))
		return
	}
	h.log.Info("audit download", "org", l.Org, "user", l.User, "outcome", "sent", "bytes", cw.n)
}

// text answers with a line of plain text.
func (h *handler) text(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}

// countingWriter counts what went through to the client, and gives each
// write the server's write timeout afresh: a long download is not cut
// off while it moves.
type countingWriter struct {
	w  io.Writer
	rc *http.ResponseController
	n  int64
}

// writeTimeout is how long one write of the download may take.
const writeTimeout = 10 * time.Second

func (c *countingWriter) Write(p []byte) (int, error) {
	_ = c.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // not every writer has one

	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
