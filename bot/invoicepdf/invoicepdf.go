// Package invoicepdf serves the invoices' PDF documents behind the signed
// download links that chat buttons open: GET /invoices/{token}.pdf.
//
// A link that is forged, changed, expired or for an invoice that is not
// its user's gets a small page in the browser's language (404 or 410),
// never a 5xx; only a fault of Redis (503) or of the renderer (500) does.
// The token is in the URL only: it is never logged, and Referrer-Policy
// keeps it from leaving with the next click.
package invoicepdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/billingbot/billingbot/bot/internal/weblang"
	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

// headers go on every response, the document's and the pages'.
var headers = map[string]string{
	"Cache-Control":          "private, no-store",
	"Referrer-Policy":        "no-referrer",
	"X-Content-Type-Options": "nosniff",
}

// pageHeaders go on the HTML pages as well.
var pageHeaders = map[string]string{
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}

type handler struct {
	bot *commands.Bot
	log *slog.Logger
	mux *http.ServeMux
}

// New returns the download handler. Mount it at commands.InvoicePath
// ("/invoices/") without stripping the prefix. log receives one line per
// request with the organization (when the link names one) and the
// outcome; nil means slog.Default().
func New(bot *commands.Bot, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &handler{bot: bot, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+commands.InvoicePath+"{file}", h.download)
	h.mux.HandleFunc("/", h.notFound)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range headers {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprintln(w, http.StatusText(http.StatusMethodNotAllowed))
		h.log.Info("invoice download", "outcome", "method_not_allowed")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// download answers GET /invoices/{token}.pdf with the invoice's PDF.
func (h *handler) download(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	if !ok {
		h.notFound(w, r)
		return
	}
	l, err := h.bot.ParseInvoiceLink(token)
	switch {
	case errors.Is(err, commands.ErrInvoiceLinkExpired):
		h.message(w, http.StatusGone, l.Lang, l.Command, "InvoiceLinkGoneTitle", "InvoiceLinkGone")
		h.log.Info("invoice download", "org", l.Org, "outcome", "expired")
		return
	case err != nil:
		h.message(w, http.StatusNotFound, weblang.FromRequest(r), "", "InvoiceLinkBadTitle", "InvoiceLinkBad")
		h.log.Info("invoice download", "outcome", "invalid")
		return
	}
	doc, err := h.bot.InvoiceDocument(r.Context(), l)
	switch {
	case errors.Is(err, commands.ErrInvoiceLink):
		h.message(w, http.StatusNotFound, l.Lang, l.Command, "InvoiceLinkBadTitle", "InvoiceLinkBad")
		h.log.Info("invoice download", "org", l.Org, "outcome", "not_found")
		return
	case err != nil:
		status, outcome := http.StatusServiceUnavailable, "unavailable"
		switch {
		case errors.Is(err, context.Canceled):
			status, outcome = http.StatusRequestTimeout, "canceled" // the user left; nobody reads this
		case !errors.Is(err, store.ErrUnavailable):
			outcome = "error"
		}
		h.message(w, status, l.Lang, l.Command, "InvoiceLinkErrorTitle", "InvoiceLinkError")
		h.log.Error("invoice download", "org", l.Org, "outcome", outcome, "err", redact(err, token))
		return
	}

	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+doc.Filename()+`"`)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		h.log.Info("invoice download", "org", l.Org, "outcome", "head")
		return
	}
	cw := &countingWriter{w: w}
	if err := doc.WritePDF(cw); err != nil {
		if cw.n == 0 {
			w.Header().Del("Content-Disposition")
			h.message(w, http.StatusInternalServerError, l.Lang, l.Command, "InvoiceLinkErrorTitle", "InvoiceLinkError")
		}
		h.log.Error("invoice download", "org", l.Org, "outcome", "error", "err", redact(err, token))
		return
	}
	h.log.Info("invoice download", "org", l.Org, "outcome", "sent", "bytes", cw.n)
}

// notFound answers paths that cannot hold a link, like a link that does
// not work.
func (h *handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.message(w, http.StatusNotFound, weblang.FromRequest(r), "", "InvoiceLinkBadTitle", "InvoiceLinkBad")
	h.log.Info("invoice download", "outcome", "not_found")
}

// countingWriter counts what went through to the client.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// redact keeps the token out of an error message that might quote it.
func redact(err error, token string) string {
	msg := err.Error()
	if token != "" {
		msg = strings.ReplaceAll(msg, token, "[token]")
	}
	return msg
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>
  body {
    margin: 0;
    background: #f3f5f7;
    color: #1f2328;
    font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  }
  main {
    max-width: 30rem;
    margin: 2.5rem auto;
    padding: 1.75rem;
    background: #fff;
    border: 1px solid #e1e4e8;
    border-radius: 12px;
    box-shadow: 0 1px 3px rgba(0, 0, 0, .06);
  }
  h1 { font-size: 1.4rem; line-height: 1.3; margin: 0 0 .75rem; }
  p { margin: 0; }
  @media (max-width: 32rem) {
    main { margin: 0; border: 0; border-radius: 0; box-shadow: none; }
  }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
</main>
</body>
</html>
`))

// message answers with a small page of a title and a text (message ids)
// in lang, naming the slash command as cmd ("" for /billing).
func (h *handler) message(w http.ResponseWriter, status int, lang, cmd, title, text string) {
	var buf bytes.Buffer
	err := pageTmpl.Execute(&buf, struct{ Lang, Title, Text string }{lang, h.bot.Text(lang, title), h.bot.TextFor(lang, cmd, text)})
	if err != nil { // plain data: cannot fail
		h.log.Error("invoice download", "outcome", "template_error", "err", err.Error())
	}
	for k, v := range pageHeaders {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
