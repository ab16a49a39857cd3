package commands_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/commands/payment"
	"github.com/billingbot/billingbot/store/redistest"
)

// TestBadInput: whatever arrives is answered with a clear message or field
// error in the user's language, err == nil, nothing written, no panic.
func TestBadInput(t *testing.T) {
	// Many requests in one minute: more than a user may make.
	e := newEnv(t, func(c *commands.Config) { c.RatePerMinute = 1000 })
	e.buyer(alice)
	e.buyer(bob)
	e.buyer(zoe)
	mine := e.buy(alice, "visio-plan-2", 5)
	e.assign(alice, mine, bob.m.ID)
	bobs := e.buy(bob, "visio-plan-2", 5)
	zoes := e.buy(zoe, "visio-plan-2", 5)

	text := func(s string) func(*commands.Request) { return func(r *commands.Request) { r.Text = s } }
	submit := func(f *commands.Submission) func(*commands.Request) { return func(r *commands.Request) { r.Form = f } }
	tests := []struct {
		name   string
		change func(*commands.Request)
		field  string // the input with the error; "" for a message
		en, de string
	}{
		{"NUL", text("buy\x00visio"), "", "cannot be used here", "nicht verwendet werden"},
		{"escape", text("buy visio \x1b[31m5"), "", "cannot be used here", "nicht verwendet werden"},
		{"DEL", text("help\x7f"), "", "cannot be used here", "nicht verwendet werden"},
		{"bidi override", text("buy \u202enothing"), "", "No product matches “nothing”.", "Kein Produkt passt zu „nothing“."},
		{"10,000 characters", text(strings.Repeat("x", 10000)), "", "at most 1,000 characters", "höchstens 1.000 Zeichen"},
		{"10,000 characters of a command", text("buy " + strings.Repeat("visio ", 1700)), "", "at most 1,000 characters", "höchstens 1.000 Zeichen"},
		{"invalid UTF-8", text("buy \xff\xfe visio"), "", "cannot be used here", "nicht verwendet werden"},
		{"only quotes", text(`"""'''„“`), "", "", ""},
		{"unclosed quote", text(`buy "visio 5`), "", "No product matches", "Kein Produkt passt"},
		{"empty org", func(r *commands.Request) { r.Org, r.Text = "", "help" }, "", "This request is incomplete", "Diese Anfrage ist unvollständig"},
		{"empty user", func(r *commands.Request) { r.User.ID, r.Text = "", "buy" }, "", "This request is incomplete", "Diese Anfrage ist unvollständig"},
		{"org with braces", func(r *commands.Request) { r.Org, r.Text = "T1}:{T2", "products" }, "", "This request is incomplete", "unvollständig"},
		{"org with colon", func(r *commands.Request) { r.Org, r.Text = "T1:user:U1", "products" }, "", "This request is incomplete", "unvollständig"},
		{"org with a glob", func(r *commands.Request) { r.Org, r.Text = "*", "products" }, "", "This request is incomplete", "unvollständig"},
		{"user with colon", func(r *commands.Request) { r.User.ID, r.Text = "U1:billing", "payment" }, "", "This request is incomplete", "unvollständig"},
		{"long org", func(r *commands.Request) { r.Org, r.Text = strings.Repeat("T", 65), "help" }, "", "This request is incomplete", "unvollständig"},
		{"unknown form", submit(form("frobnicate", "")), "", "This form is no longer known.", "Dieses Formular ist nicht mehr bekannt."},
		{"empty form id", submit(form("", "")), "", "This form is no longer known.", "nicht mehr bekannt"},
		{"form with no values", submit(&commands.Submission{FormID: commands.FormCancel}), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines Ihrer Abonnements aus."},
		{"unknown period", submit(form(commands.FormBuy, "", "product", "visio-plan-2", "licenses", "1", "period", "weekly", "method", "x")), "period", "Choose monthly or annual billing.", "monatliche oder jährliche"},
		{"unknown reason", submit(cancelForm(mine, "bored", "", "yes")), "reason", "Choose a reason", "Wählen Sie einen Grund"},
		{"unknown range", submit(form(commands.FormInvoices, "", "range", "forever")), "range", "Choose a date range.", "Wählen Sie einen Datumsbereich aus."},
		{"control character in a value", submit(cancelForm(mine, "other", "bye\x00", "yes")), "feedback", "cannot be used here", "nicht verwendet werden"},
		{"invalid UTF-8 in a value", submit(form(commands.FormAssign, mine, "users", "U5\xff")), "users", "cannot be used here", "nicht verwendet werden"},
		{"10,000 characters in a value", submit(licensesForm(mine, strings.Repeat("9", 10000))), "total", "at most 200 characters", "höchstens 200 Zeichen"},
		{"huge unknown input", submit(form(commands.FormTrial, "", "product", "visio-plan-2", "zzz", strings.Repeat("z", 5000))), "zzz", "at most 200", "höchstens 200"},
		{"context too long", submit(form(commands.FormLicenses, strings.Repeat("c", 1001), "total", "7")), "_form", "This request is incomplete", "unvollständig"},
		{"another org's subscription: cancel", submit(cancelForm(zoes, "other", "", "yes")), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines Ihrer Abonnements aus."},
		{"another org's subscription: licenses", submit(licensesForm(zoes, "9")), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines"},
		{"another org's subscription: assign", submit(form(commands.FormAssign, zoes, "users", "U5")), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines"},
		{"another org's subscription: unassign", submit(form(commands.FormUnassign, zoes, "users", "Z2", "confirm", "yes")), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines"},
		{"another user's subscription: cancel", submit(cancelForm(bobs, "other", "", "yes")), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines"},
		{"another user's subscription: licenses", submit(licensesForm(bobs, "9")), "subscription", "Choose one of your subscriptions.", "Wählen Sie eines"},
		{"another user's subscription in the context", submit(form(commands.FormCancel, bobs, "reason", "other", "confirm", "yes")), "subscription", "Choose one", "Wählen Sie eines"},
		{"another org's method", submit(form(commands.FormBuy, "", "product", "visio-plan-2", "licenses", "1", "period", "monthly", "method", e.method(zoe))), "method", "Choose a payment method.", "Wählen Sie eine Zahlungsmethode aus."},
		{"another org's subscription id on the command line", text("cancel " + zoes), "", "None of your subscriptions matches", "Keines Ihrer Abonnements passt"},
		{"subscription id with a glob", text("licenses * 7"), "", "None of your subscriptions matches", "Keines Ihrer Abonnements passt"},
		{"mention with a key", text("assign visio @bb:{T1}:sub"), "", "is not a member of your organization", "gehört nicht zu Ihrer Organisation"},
	}
	before := e.snapshot()
	for _, tt := range tests {
		for _, lang := range []string{"en", "de"} {
			t.Run(tt.name+"/"+lang, func(t *testing.T) {
				req := e.request(alice)
				if lang == "de" {
					req.Locale = "de-DE"
				}
				tt.change(&req)
				resp, err := e.bot.Handle(t.Context(), req)
				if err != nil {
					t.Fatalf("Handle: %v", err)
				}
				checkResponse(t, resp)
				if resp.Lang != lang {
					t.Errorf("Lang = %q, want %q", resp.Lang, lang)
				}
				want := map[string]string{"en": tt.en, "de": tt.de}[lang]
				if tt.field != "" {
					wantFieldError(t, resp, tt.field, want)
					return
				}
				wantMessage(t, resp, want)
			})
		}
	}
	e.wantUnchanged(before)
}

// TestOddIdempotencyKey: an adapter's idempotency key that cannot be part
// of a key name (white space, over 100 bytes) is hashed: the request works,
// and a repeat of it changes nothing.
func TestOddIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	e.buyer(alice)
	for name, key := range map[string]string{"spaces": "a key with spaces", "201 bytes": strings.Repeat("k", 201), "tab": "tab\tkey"} {
		t.Run(name, func(t *testing.T) {
			r := e.at(t).sendKey(alice, key, e.buyForm(alice, "visio-plan-2", 1, "monthly"))
			wantMessage(t, r, "Payment in progress")
			before := e.snapshot()
			again := e.at(t).sendKey(alice, key, e.buyForm(alice, "visio-plan-2", 1, "monthly"))
			if text(again) != text(r) {
				t.Errorf("repeat answered %q, want the first answer %q", text(again), text(r))
			}
			e.wantUnchanged(before)
		})
	}
}

// TestRedisDown: when Redis is gone every command says, in the user's
// language, that nothing was changed, and Handle returns an error.
func TestRedisDown(t *testing.T) {
	mr := miniredis.RunT(t)
	// No retries: the test need not wait for Redis to come back.
	e := start(t, &redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1})
	e.mr = mr
	e.buyer(alice)
	id := e.buy(alice, "visio-plan-2", 5)
	token := linkToken(t, e.run(alice, "payment add"))
	buy := e.buyForm(alice, "visio-plan-2", 1, "monthly")

	var reqs []commands.Request
	for _, s := range e.bot.Specs() {
		for _, name := range []string{s.Name, s.NameDE} {
			reqs = append(reqs, commands.Request{Text: name})
		}
	}
	for _, line := range []string{"", "buy visio 5", "trial visio", "licenses visio 7", "assign visio @bob", "cancel " + id,
		"invoices 6m", "invoices range", "payment add", "admin channel #x", "language de", "frobnicate"} {
		reqs = append(reqs, commands.Request{Text: line})
	}
	for _, f := range []*commands.Submission{
		buy,
		form(commands.FormTrial, "", "product", "visio-plan-2"),
		licensesForm(id, "9"),
		form(commands.FormAssign, id, "users", "U2"),
		form(commands.FormUnassign, id, "users", "U2", "confirm", "yes"),
		cancelForm(id, "other", "", "yes"),
		form(commands.FormInvoices, "", "range", "3m"),
		methodForm("x"),
	} {
		reqs = append(reqs, commands.Request{Form: f})
	}
	e.mr.Close()
	for _, tt := range []struct {
		locale, want string
	}{
		{"en-US", "billingbot is temporarily unavailable. Nothing was changed; please try again in a moment."},
		{"de-DE", "billingbot ist vorübergehend nicht erreichbar. Es wurde nichts geändert"},
	} {
		for _, req := range reqs {
			name := req.Text
			if req.Form != nil {
				name = "form " + req.Form.FormID
			}
			t.Run(tt.locale+"/"+name, func(t *testing.T) {
				req.Org, req.User, req.Locale, req.Admin, req.Members = "T1", alice.m, tt.locale, true, newDirectory("T1")
				resp, err := e.bot.Handle(t.Context(), req)
				if err == nil {
					t.Errorf("Handle returned no error")
				}
				checkResponse(t, resp)
				wantMessage(t, resp, tt.want)
			})
		}
	}
	if _, err := e.bot.RunDue(t.Context()); err == nil {
		t.Error("RunDue returned no error")
	}
	if _, err := e.bot.CompletePayLink(t.Context(), token, visa(cardNumber)); err == nil || errors.Is(err, payment.ErrInvalidNumber) {
		t.Errorf("CompletePayLink = %v, want a Redis error", err)
	}
}

// TestTimeout: while Redis hangs, a request gives up at the core's
// Timeout, or at the caller's deadline when that comes first, and says
// the service is unavailable.
func TestTimeout(t *testing.T) {
	mr := miniredis.RunT(t)
	proxy := redistest.NewProxy(t, mr.Addr())
	e := start(t, &redis.Options{Addr: proxy.Addr(), MaxRetries: -1}, func(c *commands.Config) { c.Timeout = 50 * time.Millisecond })
	proxy.Stall()
	for name, ctx := range map[string]func() (context.Context, context.CancelFunc){
		"core's timeout": func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		"caller's deadline": func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		},
		"later deadline": func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Hour)
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := ctx()
			defer cancel()
			done := make(chan commands.Response, 1)
			go func() {
				resp, _ := e.bot.Handle(ctx, commands.Request{Org: "T1", User: alice.m, Text: "products"})
				done <- resp
			}()
			select {
			case resp := <-done:
				wantText(t, resp, "temporarily unavailable")
			case <-time.After(10 * time.Second): // a guard against a hang, not a measurement
				t.Fatal("Handle did not give up while Redis hangs")
			}
		})
	}
}
