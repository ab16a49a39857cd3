package commands

import (
	"strconv"
	"strings"
	"time"

	"github.com/billingbot/billingbot/store"
)

// Paging: the admin overview, "products" and the invoice list show one page
// at a time, read from Redis one page at a time, whatever the size of the
// organization. A page is asked for with "page N" ("seite N") after the
// command's other words; the Previous and Next buttons say so.

const (
	// adminPageSize is how many subscriptions a page of the admin overview
	// shows: a row of its table and a message each. The head and 20
	// messages are what every platform shows within its limits.
	adminPageSize = 20
	// productsPageSize is how many of the user's subscriptions a page of
	// "products" shows, a message each.
	productsPageSize = 20
	// invoicesPageSize is how many invoices a page of the list shows: each
	// gets a download button (maxInvoiceButtons).
	invoicesPageSize = maxInvoiceButtons
	// maxPage bounds the page number a command line may name.
	maxPage = 1_000_000
)

// pageArg reads a trailing "page N" of a command's arguments: the page
// (1 when there is none) and the arguments before it. bad is the word that
// is not a page number ("" when none follows "page"); ok is false then.
func pageArg(args []string) (page int, rest []string, bad string, ok bool) {
	i := len(args) - 2
	switch {
	case len(args) > 0 && isPageWord(args[len(args)-1]):
		return 0, nil, "", false
	case i < 0 || !isPageWord(args[i]):
		for _, a := range args {
			if isPageWord(a) { // "page" with more than a number after it
				return 0, nil, a, false
			}
		}
		return 1, args, "", true
	}
	n, err := strconv.Atoi(args[i+1])
	if err != nil || n < 1 || n > maxPage {
		return 0, nil, args[i+1], false
	}
	return n, args[:i], "", true
}

func isPageWord(w string) bool {
	w = strings.ToLower(w)
	return w == "page" || w == "seite"
}

// badPage answers a page argument that is not a page number.
func (c *call) badPage(word string) Response {
	return c.fail(c.t.T("PagingErrPage", "Page", shown(word)))
}

// pages is how many pages of size hold total items (at least one).
func pages(total, size int) int { return max(1, (total+size-1)/size) }

// pageControls says which page of how many a message shows, and adds the
// buttons to the pages before and after it (the command line, in English,
// that shows a page is line + " page N"). One page needs neither.
func (c *call) pageControls(m *Message, line string, page, total, size int) {
	n := pages(total, size)
	if n == 1 {
		return
	}
	m.Text += "\n" + c.t.T("PagingPage", "Page", c.t.Num(page), "Pages", c.t.Num(n), "Count", c.t.Num(total))
	if page > 1 {
		m.Buttons = append(m.Buttons, Button{Label: c.t.T("PagingPrev"), Command: line + " page " + strconv.Itoa(page-1)})
	}
	if page < n {
		m.Buttons = append(m.Buttons, Button{Label: c.t.T("PagingNext"), Command: line + " page " + strconv.Itoa(page+1),
			Style: StylePrimary})
	}
}

// adminView reads the page of the admin overview that "admin [page N]"
// asks for; the settings ("admin channel …") need no subscriptions.
func adminView(args []string, _ time.Time) store.ViewOptions {
	page, rest, _, ok := pageArg(args)
	if !ok || len(rest) > 0 {
		return store.ViewOptions{}
	}
	return store.ViewOptions{SubsPage: page, SubsPageSize: adminPageSize, OrgPage: true}
}

// productsView reads the page of the user's subscriptions that
// "products [self-service] [page N]" asks for.
func productsView(args []string, _ time.Time) store.ViewOptions {
	page, rest, _, ok := pageArg(args)
	if !ok {
		return store.ViewOptions{}
	}
	self := len(rest) > 0 && isSelfServiceWord(rest[0])
	return store.ViewOptions{SubsPage: page, SubsPageSize: productsPageSize, SelfServiceOnly: self}
}

func isSelfServiceWord(w string) bool {
	switch strings.ToLower(w) {
	case "self-service", "selfservice", "self":
		return true
	}
	return false
}

// rangeLine is the command line that shows the invoices of a range again.
func (r dateRange) line() string {
	if r.months > 0 {
		return "invoices " + strconv.Itoa(r.months) + "m"
	}
	return "invoices " + r.from.Format(time.DateOnly) + " " + r.to.Format(time.DateOnly)
}
