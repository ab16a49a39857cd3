package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/billingbot/billingbot/store/redistest"
)

// builtDir is where a test built the binary (replicas_test.go), removed
// after the tests.
var builtDir string

func TestMain(m *testing.M) {
	quietRedis()
	code := m.Run()
	if builtDir != "" {
		os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// result is what one run of the program did.
type result struct {
	code           int
	stdout, stderr string
}

func runMain(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr strings.Builder
	code := run(context.Background(), args, env, strings.NewReader(stdin), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func (r result) check(t *testing.T, code int, stdout, stderr []string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range stdout {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q\nstdout:\n%s", w, r.stdout)
		}
	}
	for _, w := range stderr {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q\nstderr:\n%s", w, r.stderr)
		}
	}
}

func TestConsoleHelp(t *testing.T) {
	r := runMain(t, nil, "/billing help\n", "console")
	r.check(t, 0, []string{"What billingbot can do", "/billing buy [product] [count]", "/billing admin channel #name", "/billing admin language de|en|auto"},
		[]string{"REDIS_URL is not set: using an in-memory store; nothing will be kept"})
	if n := strings.Count(r.stderr, "REDIS_URL is not set"); n != 1 {
		t.Errorf("in-memory warning logged %d times, want once", n)
	}
}

func TestConsoleGerman(t *testing.T) {
	r := runMain(t, nil, "/billing hilfe\nkaufen visio 3\n", "console", "--locale", "de")
	r.check(t, 0, []string{"Was billingbot kann", "Lizenzen kaufen", "Produkt – Nummer wählen [Visio Plan 2]",
		"Formular geschlossen; es wurde nichts geändert."}, nil)
}

func TestConsoleDemoCard(t *testing.T) {
	script := "payment\nbuy visio 2\n\n\n\n\ny\ninvoices\n"
	r := runMain(t, nil, script, "console", "--user", "bob")
	r.check(t, 0, []string{"Visa •••• 4242", "Bob Brown", "Demo Street 1, 10115 Berlin",
		"You are buying 2 licenses of Visio Plan 2", "[admin notification] New self-service purchase",
		"Visio Plan 2 × 2 licenses"}, nil)
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, "4242424242424242") || strings.Contains(out, "4242 4242") {
			t.Errorf("the card number was printed:\n%s", out)
		}
	}
}

func TestConsoleAdmins(t *testing.T) {
	r := runMain(t, map[string]string{"BILLINGBOT_ADMINS": "carol"}, "help\n", "console", "--user", "carol", "--admin=false")
	r.check(t, 0, []string{"/billing admin channel #name", "/billing admin language de|en|auto"}, nil)
	r = runMain(t, nil, "help\n", "console", "--admin=false")
	if strings.Contains(r.stdout, "/billing admin") {
		t.Errorf("a member sees the admin command:\n%s", r.stdout)
	}
}

func TestConsoleSupport(t *testing.T) {
	env := map[string]string{
		"BILLINGBOT_SUPPORT_URL":   "https://help.example.com",
		"BILLINGBOT_SUPPORT_EMAIL": "billing@example.com",
	}
	r := runMain(t, env, "support\n", "console")
	r.check(t, 0, []string{"https://help.example.com", "billing@example.com"}, nil)
}

func TestConsoleLogFormat(t *testing.T) {
	r := runMain(t, map[string]string{"BILLINGBOT_LOG_FORMAT": "json"}, "help\n", "console")
	r.check(t, 0, nil, []string{`"level":"WARN"`, `"msg":"REDIS_URL is not set: using an in-memory store; nothing will be kept"`})
	r = runMain(t, map[string]string{"BILLINGBOT_LOG_LEVEL": "error"}, "help\n", "console")
	r.check(t, 0, nil, nil)
	if r.stderr != "" {
		t.Errorf("log level error logged:\n%s", r.stderr)
	}
}

func TestConsoleBadCatalog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.toml")
	toml := `[[product]]
id = "visio"
name = "Visio"
currency = "EUR"
monthly_price = 1000
max_licenses = 10

[[product]]
id = "visio"
name = "Visio again"
currency = "EUR"
monthly_price = 1000
max_licenses = 10
`
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, nil, "help\n", "console", "--catalog", path)
	r.check(t, 1, nil, []string{path + ":9: product[2].id: duplicate id \"visio\""})
	if strings.Contains(r.stdout, "What billingbot can do") {
		t.Errorf("the console ran with a bad catalog")
	}
	// The same from the environment.
	r = runMain(t, map[string]string{"BILLINGBOT_CATALOG": path}, "help\n", "console")
	r.check(t, 1, nil, []string{path + ":9:"})
}

func TestConsoleCatalogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.toml")
	toml := "[[product]]\nid = \"widget\"\nname = \"Widget Suite\"\ncurrency = \"CHF\"\nmonthly_price = 500\nmax_licenses = 3\n"
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, nil, "catalog\n", "console", "--catalog", path)
	r.check(t, 0, []string{"Widget Suite", "CHF"}, nil)
}

// TestPersistenceWarning: at start-up the binary says whether the Redis in
// use keeps its data.
func TestPersistenceWarning(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "redis keeps nothing on disk"},
		{[]string{"--save", "60 1"}, "redis keeps only RDB snapshots"},
		{[]string{"--appendonly", "yes"}, "redis keeps its data"},
	} {
		addr := redistest.Real(t, c.args...)
		r := runMain(t, nil, "help\n", "console", "--redis", "redis://"+addr)
		r.check(t, 0, nil, []string{c.want})
	}
}

func TestConsoleRedis(t *testing.T) {
	mr := miniredis.RunT(t)
	mr.RequireAuth("s3cret-pw")
	t.Run("connects", func(t *testing.T) {
		r := runMain(t, nil, "buy visio 1\n\n\n\n\ny\n", "console", "--redis", "redis://:s3cret-pw@"+mr.Addr())
		r.check(t, 0, []string{"Payment in progress"}, []string{"connected to redis"})
		if strings.Contains(r.stderr, "in-memory") {
			t.Errorf("used the in-memory store:\n%s", r.stderr)
		}
		// What was bought is kept in that Redis: a second run sees it.
		r = runMain(t, map[string]string{"REDIS_URL": "redis://:s3cret-pw@" + mr.Addr()}, "products\n", "console")
		r.check(t, 0, []string{"Visio Plan 2", "Licenses: 0 of 1 assigned"}, nil)
	})
	t.Run("wrong password", func(t *testing.T) {
		r := runMain(t, nil, "help\n", "console", "--redis", "redis://:wrong-pw@"+mr.Addr())
		r.check(t, 1, nil, []string{"redis at " + mr.Addr() + " refused us"})
		if strings.Contains(r.stderr, "wrong-pw") {
			t.Errorf("the password was printed:\n%s", r.stderr)
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		r := runMain(t, map[string]string{"REDIS_URL": "redis://user:pw-123456@" + addr + "/0"}, "help\n", "console")
		r.check(t, 1, nil, []string{"redis at " + addr + " does not answer"})
		if strings.Contains(r.stderr, "pw-123456") {
			t.Errorf("the password was printed:\n%s", r.stderr)
		}
	})
	t.Run("bad URL", func(t *testing.T) {
		r := runMain(t, map[string]string{"REDIS_URL": "redis://:pw-abcdef@db:notaport"}, "help\n", "console")
		r.check(t, 1, nil, []string{"redis url"})
		if strings.Contains(r.stderr, "pw-abcdef") {
			t.Errorf("the password was printed:\n%s", r.stderr)
		}
	})
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string
		stderr string
	}{
		{name: "no arguments", code: 2, stderr: "Usage:"},
		{name: "help", args: []string{"help"}, code: 0, stdout: "console"},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: "Usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{name: "unknown flag", args: []string{"console", "--nope"}, code: 2, stderr: "-nope"},
		{name: "console -h", args: []string{"console", "-h"}, code: 0, stderr: "-locale"},
		{name: "stray argument", args: []string{"console", "help"}, code: 2, stderr: `unexpected argument "help"`},
		{name: "bad user", args: []string{"console", "--user", "a b"}, code: 2, stderr: `-user "a b"`},
		{name: "bad scheduler", args: []string{"console", "--scheduler", "maybe"}, code: 2, stderr: "-scheduler"},
		{name: "bad log level", args: []string{"console"}, env: map[string]string{"BILLINGBOT_LOG_LEVEL": "loud"}, code: 2,
			stderr: "BILLINGBOT_LOG_LEVEL"},
		{name: "serve without a payment provider", args: []string{"serve"}, code: 2,
			stderr: "no payment provider is configured: set BILLINGBOT_PAYMENTS=stripe with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET, or BILLINGBOT_PAYMENTS=sandbox"},
		{name: "serve with a bad Stripe key", args: []string{"serve"}, env: map[string]string{"BILLINGBOT_PAYMENTS": "stripe",
			"STRIPE_SECRET_KEY": "pk_test_publishable", "STRIPE_WEBHOOK_SECRET": "whsec_1"}, code: 2, stderr: "billingbot serve: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runMain(t, tt.env, "", tt.args...)
			var stdout, stderr []string
			if tt.stdout != "" {
				stdout = []string{tt.stdout}
			}
			if tt.stderr != "" {
				stderr = []string{tt.stderr}
			}
			r.check(t, tt.code, stdout, stderr)
		})
	}
}

func TestFlagUsageHidesRedisURL(t *testing.T) {
	r := runMain(t, map[string]string{"REDIS_URL": "redis://:pw-zyxwvu@db:6379"}, "", "console", "-h")
	if strings.Contains(r.stderr, "pw-zyxwvu") {
		t.Errorf("console -h printed the Redis password:\n%s", r.stderr)
	}
}

// TestReadmeConsoleUsage: every console usage README's "The console" shows
// outside its table of flag names (a command line, a flag as a reader
// would type it) is one the console takes.
func TestReadmeConsoleUsage(t *testing.T) {
	doc, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## The console\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var usages [][]string
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "|") {
			continue // the table names the flags and what they take
		}
		if _, args, ok := strings.Cut(line, "cmd/billingbot console"); ok && !strings.Contains(line, "`") {
			usages = append(usages, strings.Fields(args)) // a command line of an example
		}
		for i, span := range strings.Split(line, "`") {
			if i%2 == 0 {
				continue // outside backticks
			}
			if _, args, ok := strings.Cut(span, "billingbot console"); ok {
				usages = append(usages, strings.Fields(args))
			} else if strings.HasPrefix(span, "--") {
				usages = append(usages, strings.Fields(span))
			}
		}
	}
	if len(usages) < 3 {
		t.Fatalf("found %d console usages in README, want the examples and flags: %q", len(usages), usages)
	}
	for _, args := range usages {
		t.Run(strings.Join(append([]string{"console"}, args...), " "), func(t *testing.T) {
			r := runMain(t, nil, "help\n", append([]string{"console"}, args...)...)
			if r.code != exitOK {
				t.Errorf("console %q: exit code %d, want 0 (README shows it)\nstderr:\n%s", args, r.code, r.stderr)
			}
		})
	}
}
