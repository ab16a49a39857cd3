package commands_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/catalog"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store"
	"github.com/billingbot/billingbot/store/redistest"
)

// t0 is when every test starts: 2026-11-25 10:00 UTC.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// clock is a fake clock that tests move forward.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Add moves the clock on by years, months and days.
func (c *clock) Add(years, months, days int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.AddDate(years, months, days)
}

// The test catalog: the demo catalog plus a small product whose maximum is
// below the others', to check per-product limits.
const testCatalog = `
[[product]]
id = "visio-plan-2"
name = "Visio Plan 2"
currency = "EUR"
monthly_price = 1260
max_licenses = 10000
trial_days = 30
trial_licenses = 25

[[product]]
id = "project-plan-1"
name = "Project Plan 1"
currency = "EUR"
monthly_price = 840
max_licenses = 10000

[[product]]
id = "project-plan-3"
name = "Project Plan 3"
currency = "EUR"
monthly_price = 2530
max_licenses = 10000
trial_days = 30
trial_licenses = 25

[[product]]
id = "teams-premium"
name = "Teams Premium"
currency = "USD"
monthly_price = 1000
max_licenses = 5000
trial_days = 30
trial_licenses = 25

[[product]]
id = "free-viewer"
name = "Free Viewer"
currency = "EUR"
monthly_price = 0
max_licenses = 100

[[product]]
id = "tiny"
name = "Tiny Tool"
currency = "EUR"
monthly_price = 99
max_licenses = 3
`

// who is someone who talks to the bot.
type who struct {
	org    string
	m      commands.Member
	locale string
	admin  bool
}

// de is the same person with a German platform locale.
func (w who) de() who { w.locale = "de-DE"; return w }

func person(org, id, name string) who {
	return who{org: org, m: commands.Member{ID: id, Name: name}, locale: "en-US"}
}

// The people of the tests. Org T1 has humans, an admin, a bot and a
// deactivated user; org T2 is another workspace.
var (
	alice = person("T1", "U1", "Alice")
	bob   = person("T1", "U2", "Bob")
	carol = person("T1", "U3", "Carol")
	dave  = who{org: "T1", m: commands.Member{ID: "U4", Name: "Dave"}, locale: "en-US", admin: true}
	erin  = person("T1", "U5", "Erin")
	hugo  = person("T1", "U7", "Hugo").de()
	botty = person("T1", "B1", "Botty")
	gone  = person("T1", "U9", "Gone")
	zoe   = person("T2", "Z1", "Zoe")
	yuri  = person("T2", "Z2", "Yuri")
)

// crowd is 30 more people of T1, for the limit of 20 per assignment.
func crowd(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("P%02d", i)
	}
	return ids
}

// directory is a fake commands.Directory of one organization.
type directory struct {
	org     string
	members map[string]commands.Member // by id
}

func newDirectory(org string) *directory {
	d := &directory{org: org, members: map[string]commands.Member{}}
	for _, w := range []who{alice, bob, carol, dave, erin, hugo, zoe, yuri} {
		if w.org == org {
			d.members[w.m.ID] = w.m
		}
	}
	if org == "T1" {
		d.members["B1"] = commands.Member{ID: "B1", Name: "Botty", Bot: true}
		d.members["B2"] = commands.Member{ID: "B2", Name: "Deploy Bot", Bot: true}
		d.members["U9"] = commands.Member{ID: "U9", Name: "Gone", Gone: true}
		for _, id := range crowd(30) {
			d.members[id] = commands.Member{ID: id, Name: "Person " + id}
		}
	}
	return d
}

// Admins lists the organization's admins as the platform says: dave in
// T1, an app and a deactivated admin the core leaves out, nobody in T2.
func (d *directory) Admins(context.Context) ([]commands.Member, error) {
	if d.org != "T1" {
		return nil, nil
	}
	return []commands.Member{dave.m, {ID: "B2", Name: "Deploy Bot", Bot: true}, {ID: "U9", Name: "Gone", Gone: true}}, nil
}

// Member resolves "U2", "@bob", "<@U2>" and "<@U2|bob>".
func (d *directory) Member(_ context.Context, ref string) (commands.Member, error) {
	r := strings.TrimSuffix(strings.TrimPrefix(ref, "<"), ">")
	r, _, _ = strings.Cut(r, "|")
	r = strings.TrimPrefix(r, "@")
	if m, ok := d.members[r]; ok {
		return m, nil
	}
	for _, m := range d.members {
		if strings.EqualFold(m.Name, r) {
			return m, nil
		}
	}
	return commands.Member{}, commands.ErrNoMember
}

// env is a bot on a store, with a fake clock, and an outbox sender that
// delivers to a recorder.
type env struct {
	t     *testing.T
	mr    *miniredis.Miniredis // nil on a real Redis
	addr  string               // of the Redis
	rdb   *redis.Client
	st    *store.Store
	bot   *commands.Bot
	clock *clock
	cfg   commands.Config
	cat   *catalog.Catalog
	// logs is everything the bots logged, at every level.
	logs *logBuffer

	// last are the notifications the latest request that caused any
	// added to the outbox.
	last []commands.Notification
}

// notes returns the notifications the latest request that caused any
// added to its organization's outbox (scheduled jobs' are returned by
// charge and due).
func (e *env) notes() []commands.Notification {
	return slices.Clone(e.last)
}

// testOrgs are the organizations of the tests.
var testOrgs = []string{"T1", "T2"}

// outbox lists the notifications waiting in the organizations' outboxes,
// by entry id (the tests run no sender: what a change adds stays there).
func (e *env) outbox(orgs ...string) map[string]commands.Notification {
	e.t.Helper()
	out := map[string]commands.Notification{}
	for _, org := range orgs {
		if !store.ValidID(org) {
			continue
		}
		entries, err := e.st.Outbox(e.t.Context(), org, 10000)
		if err != nil {
			e.t.Fatalf("Outbox: %v", err)
		}
		for _, en := range entries {
			n, err := commands.DecodeNotification(en)
			if err != nil {
				e.t.Fatalf("outbox entry: %v", err)
			}
			out[org+"/"+en.ID] = n
		}
	}
	return out
}

// added is what after holds that before did not, in the order of the
// entries.
func added(before, after map[string]commands.Notification) []commands.Notification {
	var ids []string
	for id := range after {
		if _, ok := before[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int {
		am, as := entrySeq(a)
		bm, bs := entrySeq(b)
		return cmp.Or(cmp.Compare(am, bm), cmp.Compare(as, bs))
	})
	var out []commands.Notification
	for _, id := range ids {
		out = append(out, after[id])
	}
	return out
}

// entrySeq orders "org/ms-seq" entry ids as their stream does.
func entrySeq(id string) (ms, seq int64) {
	_, id, _ = strings.Cut(id, "/")
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseInt(m, 10, 64)
	seq, _ = strconv.ParseInt(s, 10, 64)
	return ms, seq
}

// jobNotes runs f (the scheduler) and returns the notifications its jobs
// added to the outboxes.
func (e *env) jobNotes(f func()) []commands.Notification {
	e.t.Helper()
	before := e.outbox(testOrgs...)
	f()
	return added(before, e.outbox(testOrgs...))
}

// newEnv starts a bot on miniredis.
func newEnv(t *testing.T, opts ...func(*commands.Config)) *env {
	t.Helper()
	mr := miniredis.RunT(t)
	e := start(t, &redis.Options{Addr: mr.Addr()}, opts...)
	e.mr = mr
	return e
}

// newRealEnv starts a bot on a private redis-server.
func newRealEnv(t *testing.T, opts ...func(*commands.Config)) *env {
	t.Helper()
	return start(t, &redis.Options{Addr: redistest.Real(t)}, opts...)
}

// backends runs a test on miniredis and on a real Redis.
func backends(t *testing.T, test func(t *testing.T, e *env)) {
	t.Run("miniredis", func(t *testing.T) { test(t, newEnv(t)) })
	t.Run("redis", func(t *testing.T) { test(t, newRealEnv(t)) })
}

func start(t *testing.T, opt *redis.Options, opts ...func(*commands.Config)) *env {
	t.Helper()
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	cat, err := catalog.Parse("test.toml", []byte(testCatalog))
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	cfg := commands.Config{PublicURL: "https://pay.example"}
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{t: t, addr: opt.Addr, rdb: rdb, st: store.New(rdb), clock: &clock{now: t0}, cfg: cfg, cat: cat, logs: &logBuffer{}}
	e.bot = e.newBot()
	return e
}

// newBot is another bot (replica) on the same store and clock.
func (e *env) newBot() *commands.Bot {
	e.t.Helper()
	log := slog.New(slog.NewTextHandler(testLog{e.t, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := commands.New(e.st, e.cat, payment.NewSandbox(), e.cfg, commands.WithClock(e.clock.Now),
		commands.WithLogger(log), commands.WithObserver(func(ctx context.Context, o commands.Outcome) {
			// What serve logs of every request (cmd/billingbot).
			log.InfoContext(ctx, "request", "org", o.Org, "command", o.Command, "result", o.Result)
		}))
	if err != nil {
		e.t.Fatalf("commands.New: %v", err)
	}
	return b
}

// testLog writes the bot's log to the test's log, and keeps it.
type testLog struct {
	t    *testing.T
	keep *logBuffer
}

func (l testLog) Write(p []byte) (int, error) {
	l.keep.Write(p)
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// logBuffer is a log that the bots' goroutines and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// at is the env for a subtest.
func (e *env) at(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

func (e *env) request(w who) commands.Request {
	return commands.Request{Org: w.org, User: w.m, Locale: w.locale, Admin: w.admin, Members: newDirectory(w.org)}
}

// handle runs a request and fails the test on a bot error.
func (e *env) handle(req commands.Request) commands.Response {
	e.t.Helper()
	before := e.outbox(req.Org)
	resp, err := e.bot.Handle(e.t.Context(), req)
	if err != nil {
		e.t.Fatalf("Handle(%q, form %v): %v", req.Text, req.Form, err)
	}
	checkResponse(e.t, resp)
	if n := added(before, e.outbox(req.Org)); len(n) > 0 {
		if len(resp.FieldErrors) > 0 {
			e.t.Errorf("a submission refused with field errors %v notified %+v", resp.FieldErrors, n)
		}
		e.last = n
	}
	return resp
}

// run types a command line.
func (e *env) run(w who, line string) commands.Response {
	e.t.Helper()
	req := e.request(w)
	req.Text = line
	return e.handle(req)
}

// send submits a form.
func (e *env) send(w who, s *commands.Submission) commands.Response {
	e.t.Helper()
	return e.sendKey(w, "", s)
}

// sendKey submits a form with an idempotency key, and confirms what it
// asks to confirm (what the user saw is checked by the tests of
// confirmations).
func (e *env) sendKey(w who, key string, s *commands.Submission) commands.Response {
	e.t.Helper()
	r := e.submit(w, key, s)
	if r.Confirm == nil {
		return r
	}
	return e.confirm(w, r)
}

// submit submits a form with an idempotency key, and no more.
func (e *env) submit(w who, key string, s *commands.Submission) commands.Response {
	e.t.Helper()
	req := e.request(w)
	req.Form, req.IdempotencyKey = s, key
	return e.handle(req)
}

// confirm clicks a confirmation's confirming button.
func (e *env) confirm(w who, r commands.Response) commands.Response {
	e.t.Helper()
	if r.Confirm == nil || len(r.Messages) == 0 || len(r.Messages[0].Buttons) < 2 ||
		r.Messages[0].Buttons[0].Command != r.Confirm.Yes || r.Messages[0].Buttons[1].Command != r.Confirm.No {
		e.t.Fatalf("not a confirmation with its buttons:\n%s", text(r))
	}
	return e.run(w, r.Confirm.Yes)
}

// form is a submission: input ids and values in pairs; a repeated id
// adds a value.
func form(id, context string, kv ...string) *commands.Submission {
	s := &commands.Submission{FormID: id, Context: context, Values: map[string][]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Values[kv[i]] = append(s.Values[kv[i]], kv[i+1])
	}
	return s
}

// users adds "users" values to kv.
func users(kv []string, ids ...string) []string {
	for _, id := range ids {
		kv = append(kv, "users", id)
	}
	return kv
}

// checkResponse checks what every response must be: not empty, in one of
// the two languages.
func checkResponse(t *testing.T, r commands.Response) {
	t.Helper()
	if r.Lang != "en" && r.Lang != "de" {
		t.Errorf("Response.Lang = %q, want en or de", r.Lang)
	}
	if len(r.Messages) == 0 && r.Form == nil && len(r.FieldErrors) == 0 {
		t.Errorf("empty response: %+v", r)
	}
}

// text is everything a response shows, one piece per line.
func text(r commands.Response) string {
	var b strings.Builder
	line := func(s string) {
		if s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	for _, m := range r.Messages {
		line(m.Title)
		line(m.Text)
		for _, f := range m.Fields {
			line(f.Label + ": " + f.Value)
		}
		if m.Table != nil {
			line(strings.Join(m.Table.Columns, " | "))
			for _, row := range m.Table.Rows {
				line(strings.Join(row, " | "))
			}
		}
		for _, btn := range m.Buttons {
			line("[" + btn.Label + "] " + btn.Command + btn.URL)
		}
	}
	if f := r.Form; f != nil {
		line(f.Title)
		for _, in := range f.Inputs {
			line(in.Label + ": " + in.Text + " " + strings.Join(in.Value, ","))
			for _, o := range in.Options {
				line("  " + o.Value + " " + o.Label)
			}
		}
	}
	keys := make([]string, 0, len(r.FieldErrors))
	for k := range r.FieldErrors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line(k + ": " + r.FieldErrors[k])
	}
	return b.String()
}

// wantText fails unless the response shows each of want.
func wantText(t *testing.T, r commands.Response, want ...string) {
	t.Helper()
	got := text(r)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("response lacks %q; got:\n%s", w, got)
		}
	}
}

// wantFieldError fails unless the response refuses the submission with an
// error on input id that says each of want.
func wantFieldError(t *testing.T, r commands.Response, id string, want ...string) {
	t.Helper()
	msg, ok := r.FieldErrors[id]
	if !ok {
		t.Errorf("no field error on %q; got:\n%s", id, text(r))
		return
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("field error on %q = %q, want it to say %q", id, msg, w)
		}
	}
}

// wantMessage fails unless the response is a message (no form, no field
// errors) that says each of want.
func wantMessage(t *testing.T, r commands.Response, want ...string) {
	t.Helper()
	if r.Form != nil {
		t.Errorf("got form %q, want a message", r.Form.ID)
	}
	if len(r.Messages) == 0 {
		t.Errorf("got no message; response:\n%s", text(r))
	}
	wantText(t, r, want...)
}

// wantForm fails unless the response opens the form id, and returns it.
func wantForm(t *testing.T, r commands.Response, id string) *commands.Form {
	t.Helper()
	if r.Form == nil || r.Form.ID != id {
		t.Fatalf("want form %q; got:\n%s", id, text(r))
	}
	return r.Form
}

// input finds an input of a form.
func input(t *testing.T, f *commands.Form, id string) commands.Input {
	t.Helper()
	for _, in := range f.Inputs {
		if in.ID == id {
			return in
		}
	}
	t.Fatalf("form %q has no input %q", f.ID, id)
	return commands.Input{}
}

// The sandbox test card every helper pays with, and its security code.
const (
	cardNumber = "4242424242424242"
	cardCVC    = "737"
)

// card gives w a payment method through the payment page, as a user does:
// a pay link, then the page's submit.
func (e *env) card(w who, expMonth, expYear int) store.PaymentMethod {
	e.t.Helper()
	token := e.payLink(w, "")
	m, err := e.bot.CompletePayLink(e.t.Context(), token, payment.Card{Number: cardNumber, CVC: cardCVC,
		ExpMonth: expMonth, ExpYear: expYear, Name: w.m.Name, Address: "Hauptstr. 1, Berlin"})
	if err != nil {
		e.t.Fatalf("CompletePayLink: %v", err)
	}
	return m
}

// payLink creates a payment link for w (to replace methodID, or to add).
func (e *env) payLink(w who, methodID string) string {
	e.t.Helper()
	token, err := e.st.CreatePayLink(e.t.Context(), store.PayLink{Org: w.org, User: w.m.ID, ProfileID: "default",
		MethodID: methodID, Lang: "en", Expires: e.clock.Now().Add(30 * time.Minute)}, 30*time.Minute)
	if err != nil {
		e.t.Fatalf("CreatePayLink: %v", err)
	}
	return token
}

// buyer gives w a card that works for years.
func (e *env) buyer(w who) store.PaymentMethod {
	e.t.Helper()
	return e.card(w, 12, 2030)
}

// buy buys n licenses monthly with w's first payment method, lets the
// scheduler charge the invoice and returns the subscription id.
func (e *env) buy(w who, product string, n int) string {
	e.t.Helper()
	r := e.send(w, e.buyForm(w, product, n, store.Monthly))
	inv := invoiceOf(e.t, r)
	e.charge()
	id := e.invoice(w, inv).SubID
	if s := e.sub(w.org, id); s.Status != store.StatusActive {
		e.t.Fatalf("bought %s is %s after the charge, want active", product, s.Status)
	}
	return id
}

// invoiceRe is what an invoice number looks like.
var invoiceRe = regexp.MustCompile(`\b\d{8}-[A-Z0-9]{8,}\b`)

// invoiceOf is the invoice a response names.
func invoiceOf(t *testing.T, r commands.Response) string {
	t.Helper()
	for _, m := range r.Messages {
		if id := invoiceRe.FindString(m.Text); id != "" {
			return id
		}
	}
	t.Fatalf("no invoice in the response:\n%s", text(r))
	return ""
}

// invoice reads one of w's invoices.
func (e *env) invoice(w who, id string) store.Invoice {
	e.t.Helper()
	inv, err := e.st.Invoice(e.t.Context(), w.org, id)
	if err != nil {
		e.t.Fatalf("invoice %s: %v", id, err)
	}
	return inv
}

// charge runs the jobs due now (the charges of new invoices) and returns
// the notifications they caused.
func (e *env) charge() []commands.Notification {
	e.t.Helper()
	return e.jobNotes(func() {
		if _, err := e.bot.RunDue(e.t.Context()); err != nil {
			e.t.Fatalf("RunDue: %v", err)
		}
	})
}

func (e *env) buyForm(w who, product string, n int, period store.Period) *commands.Submission {
	e.t.Helper()
	return form(commands.FormBuy, "", "product", product, "licenses", fmt.Sprint(n),
		"period", string(period), "method", e.method(w))
}

// method is w's first payment method.
func (e *env) method(w who) string {
	e.t.Helper()
	for _, a := range e.view(w).Billing.Accounts {
		for _, p := range a.Profiles {
			for _, m := range p.Methods {
				return m.ID
			}
		}
	}
	e.t.Fatalf("%s has no payment method", w.m.Name)
	return ""
}

// trial starts a trial and returns the subscription id.
func (e *env) trial(w who, product string) string {
	e.t.Helper()
	r := e.send(w, form(commands.FormTrial, "", "product", product))
	return subID(e.t, r, "assign ")
}

// assign assigns licenses and fails the test unless it worked.
func (e *env) assign(w who, sub string, ids ...string) {
	e.t.Helper()
	r := e.send(w, form(commands.FormAssign, sub, users(nil, ids...)...))
	if len(r.FieldErrors) > 0 {
		e.t.Fatalf("assign %v: %v", ids, r.FieldErrors)
	}
}

// subID reads the subscription id from the button whose command starts
// with prefix.
func subID(t *testing.T, r commands.Response, prefix string) string {
	t.Helper()
	for _, m := range r.Messages {
		for _, b := range m.Buttons {
			if id, ok := strings.CutPrefix(b.Command, prefix); ok {
				return id
			}
		}
	}
	t.Fatalf("no %q button; response:\n%s", prefix, text(r))
	return ""
}

// view reads what the store holds about w.
func (e *env) view(w who) store.View {
	e.t.Helper()
	v, err := e.st.View(e.t.Context(), w.org, w.m.ID, store.ViewOptions{
		InvoicesFrom: time.Unix(0, 0), InvoicesTo: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatalf("View: %v", err)
	}
	return v
}

// sub reads a subscription.
func (e *env) sub(org, id string) store.Subscription {
	e.t.Helper()
	s, err := e.st.Subscription(e.t.Context(), org, id)
	if err != nil {
		e.t.Fatalf("Subscription(%s, %s): %v", org, id, err)
	}
	return s
}

// invoices are w's invoices, newest first.
func (e *env) invoices(w who) []store.Invoice {
	e.t.Helper()
	return e.view(w).Invoices
}

// snapshot is every key of the miniredis with its type and contents.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, k := range e.mr.Keys() {
		if strings.Contains(k, ":rate:") {
			continue // request counters for the rate limit, not state
		}
		out[k] = dumpKey(e.t, e.mr, k)
	}
	return out
}

func dumpKey(t *testing.T, mr *miniredis.Miniredis, k string) string {
	t.Helper()
	var parts []string
	switch typ := mr.Type(k); typ {
	case "string":
		v, _ := mr.Get(k)
		parts = append(parts, v)
	case "hash":
		fields, _ := mr.HKeys(k)
		for _, f := range fields {
			parts = append(parts, f+"="+mr.HGet(k, f))
		}
	case "set":
		parts, _ = mr.Members(k)
	case "zset":
		ms, _ := mr.ZMembers(k)
		for _, m := range ms {
			s, _ := mr.ZScore(k, m)
			parts = append(parts, fmt.Sprintf("%s@%v", m, s))
		}
	case "list":
		parts, _ = mr.List(k)
	case "stream":
		entries, _ := mr.Stream(k)
		for _, en := range entries {
			parts = append(parts, en.ID+":"+strings.Join(en.Values, ","))
		}
	default:
		t.Fatalf("key %q has type %q", k, typ)
	}
	sort.Strings(parts)
	return mr.Type(k) + " " + strings.Join(parts, "\n")
}

// wantUnchanged fails when the store differs from before, but for the
// keys ignored.
func (e *env) wantUnchanged(before map[string]string, ignored ...string) {
	e.t.Helper()
	after := e.snapshot()
	for _, k := range ignored {
		delete(before, k)
		delete(after, k)
	}
	for k, v := range after {
		if b, ok := before[k]; !ok {
			e.t.Errorf("key %s was written: %.200s", k, v)
		} else if b != v {
			e.t.Errorf("key %s changed:\nbefore %.300s\nafter  %.300s", k, b, v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			e.t.Errorf("key %s was deleted", k)
		}
	}
}
