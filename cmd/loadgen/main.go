// Command loadgen sends correctly signed Slack and Discord requests to a
// billingbot on this machine at a given concurrency for a given duration,
// and prints requests, errors by status, throughput and exact latency
// percentiles, overall and per request kind. It only ever talks to
// loopback addresses.
//
//	go run ./cmd/loadgen -url http://127.0.0.1:8080 -c 64 -d 20s \
//	    -mix slack-command,slack-submit,discord-command -slack-secret S -discord-key SEEDHEX
//
// It can also serve, in the same process, the floor the load is compared
// with (-floor ADDR -redis URL: verify the signature, one Redis GET, 200)
// and a fake Slack Web API / Discord REST API for the bot under test
// (-fake-api ADDR). See usage below.
package main

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
)

const usage = `usage: loadgen [flags]

Load (bounded: stops after -d; targets must be loopback):
  loadgen -url http://127.0.0.1:8080 -c 64 -d 20s -mix slack-command,slack-submit,discord-command \
          -slack-secret S -discord-key SEEDHEX [-hook http://127.0.0.1:9999/hook]

Servers (run until SIGINT/SIGTERM, or with -url given too: for the load, then exit):
  loadgen -floor 127.0.0.1:8081 -redis redis://127.0.0.1:6399 -slack-secret S -discord-key SEEDHEX
  loadgen -fake-api 127.0.0.1:9999   # SLACK_API_URL=http://127.0.0.1:9999/api/
                                      # DISCORD_API_URL=http://127.0.0.1:9999/discord/api/v10
  -url floor targets the -floor server of this process.

Other:
  loadgen -print-discord-pubkey -discord-key SEEDHEX   # the DISCORD_PUBLIC_KEY to serve with
  loadgen -selftest                                    # 1 s against an in-process floor on miniredis

Kinds: slack-command (/billing products), slack-submit (view_submission of the
invoices range form, 6m), discord-command (/billing products); "kind:N" weighs one.

Flags:
`

// options are the command line.
type options struct {
	url, mix, slackSecret, discordKey, hook string
	concurrency, teams, users               int
	duration, timeout                       time.Duration
	floor, redis, fakeAPI                   string
	printPub, selftest                      bool
	urlSet                                  bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base `URL` of the bot (loopback only), or \"floor\"")
	fs.IntVar(&o.concurrency, "c", 64, "concurrent requests (`workers`, closed loop)")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to send (at most 1h)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.StringVar(&o.mix, "mix", strings.Join(allKinds, ","), "request `kinds`, comma-separated, each optionally kind:weight")
	fs.StringVar(&o.slackSecret, "slack-secret", "", "Slack signing `secret` (SLACK_SIGNING_SECRET of the bot)")
	fs.StringVar(&o.discordKey, "discord-key", "", "Ed25519 private key `seed` (32 bytes hex; or the 64-byte form)")
	fs.StringVar(&o.hook, "hook", "", "response_url `base` put into Slack requests (loopback; e.g. the fake API's /hook)")
	fs.IntVar(&o.teams, "orgs", 4, "organizations (Slack teams and Discord guilds) the requests spread over")
	fs.IntVar(&o.users, "users", 500, "virtual users per organization")
	fs.StringVar(&o.floor, "floor", "", "serve the floor server on this loopback `address`")
	fs.StringVar(&o.redis, "redis", "", "Redis of the floor server (`redis://host:port` or host:port, loopback)")
	fs.StringVar(&o.fakeAPI, "fake-api", "", "serve a fake Slack Web API and Discord REST API on this loopback `address`")
	fs.StringVar(&o.fakeAPI, "fake-slack", "", "same as -fake-api")
	fs.BoolVar(&o.printPub, "print-discord-pubkey", false, "print the public key (hex) of -discord-key and exit")
	fs.BoolVar(&o.selftest, "selftest", false, "run 1 s of load against an in-process floor server on miniredis and check it")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { o.urlSet = o.urlSet || f.Name == "url" })
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "loadgen:", err)
		return 2
	}
	if err := o.run(ctx, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "loadgen:", err)
		return 1
	}
	return 0
}

func (o *options) key() (ed25519.PrivateKey, error) {
	if o.discordKey == "" {
		return nil, nil
	}
	return discordKeyFromHex(o.discordKey)
}

func (o *options) run(ctx context.Context, stdout, stderr io.Writer) error {
	key, err := o.key()
	if err != nil {
		return err
	}
	switch {
	case o.printPub:
		if key == nil {
			return errors.New("-print-discord-pubkey needs -discord-key")
		}
		fmt.Fprintln(stdout, hex.EncodeToString(key.Public().(ed25519.PublicKey)))
		return nil
	case o.selftest:
		return selftest(ctx, stdout)
	}
	serving := o.floor != "" || o.fakeAPI != ""
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	var floorURL string
	if o.floor != "" {
		if o.redis == "" || o.slackSecret == "" {
			return errors.New("-floor needs -redis and -slack-secret")
		}
		ln, err := listenLoopback(o.floor)
		if err != nil {
			return err
		}
		rdb, err := newRedis(o.redis)
		if err != nil {
			ln.Close()
			return err
		}
		defer rdb.Close()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			ln.Close()
			return fmt.Errorf("floor: redis: %w", err)
		}
		f := &floor{rdb: rdb, slackSecret: []byte(o.slackSecret), now: time.Now}
		if key != nil {
			f.discordPub = key.Public().(ed25519.PublicKey)
		}
		stops = append(stops, serveOn(ctx, ln, f.handler()))
		floorURL = "http://" + ln.Addr().String()
		fmt.Fprintf(stderr, "loadgen: floor server on %s (Redis %s)\n", floorURL, o.redis)
	}
	var fake *fakeAPI
	if o.fakeAPI != "" {
		ln, err := listenLoopback(o.fakeAPI)
		if err != nil {
			return err
		}
		fake = newFakeAPI()
		stops = append(stops, serveOn(ctx, ln, fake))
		base := "http://" + ln.Addr().String()
		fmt.Fprintf(stderr, "loadgen: fake API on %s: SLACK_API_URL=%s/api/ DISCORD_API_URL=%s/discord/api/v10\n", base, base, base)
		defer func() { fmt.Fprintf(stderr, "loadgen: fake API calls: %s\n", fake.summary()) }()
	}
	if serving && !o.urlSet {
		<-ctx.Done()
		return nil
	}
	target := o.url
	if target == "floor" {
		if floorURL == "" {
			return errors.New("-url floor needs -floor")
		}
		target = floorURL
	}
	_, err = o.load(ctx, target, key, stdout)
	return err
}

// load runs the load described by o against target and prints the report.
func (o *options) load(ctx context.Context, target string, key ed25519.PrivateKey, stdout io.Writer) (stats, error) {
	base, err := loopbackURL(target)
	if err != nil {
		return stats{}, err
	}
	mix, err := parseMix(o.mix)
	if err != nil {
		return stats{}, err
	}
	for _, k := range mix {
		if k == kindDiscordCommand && key == nil {
			return stats{}, errors.New("the mix has discord-command: give -discord-key")
		}
		if strings.HasPrefix(k, "slack") && o.slackSecret == "" {
			return stats{}, errors.New("the mix has Slack requests: give -slack-secret")
		}
	}
	hook := ""
	if o.hook != "" {
		if hook, err = loopbackURL(o.hook); err != nil {
			return stats{}, fmt.Errorf("-hook: %w", err)
		}
	}
	if o.teams < 1 || o.users < 1 {
		return stats{}, errors.New("-orgs and -users must be at least 1")
	}
	cfg := loadConfig{target: base, concurrency: o.concurrency, duration: o.duration, timeout: o.timeout, mix: mix,
		signer: &signer{base: base, slackSecret: []byte(o.slackSecret), discordKey: key, hookURL: hook,
			teams: o.teams, users: o.users, now: time.Now}}
	res, err := runLoad(ctx, cfg)
	if err != nil {
		return stats{}, err
	}
	return res.report(stdout, cfg), nil
}

// selftest starts a floor server on miniredis, checks that it refuses a bad
// signature, runs 1 s of load of every kind against it and checks that all
// of it was answered 200.
func selftest(ctx context.Context, stdout io.Writer) error {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return err
	}
	defer mr.Close()
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i + 1)
	}
	key := ed25519.NewKeyFromSeed(seed)
	rdb, err := newRedis(mr.Addr())
	if err != nil {
		return err
	}
	defer rdb.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	f := &floor{rdb: rdb, slackSecret: []byte("selftest-secret"), discordPub: key.Public().(ed25519.PublicKey), now: time.Now}
	stop := serveOn(ctx, ln, f.handler())
	defer stop()
	base := "http://" + ln.Addr().String()

	// Bad signatures are refused, good ones accepted, for every kind.
	client := loopbackClient(2, 5*time.Second)
	defer client.CloseIdleConnections()
	good := &signer{base: base, slackSecret: []byte("selftest-secret"), discordKey: key, teams: 1, users: 1, now: time.Now}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	bad := &signer{base: base, slackSecret: []byte("wrong-secret"), discordKey: otherKey, teams: 1, users: 1, now: time.Now}
	stale := &signer{base: base, slackSecret: []byte("selftest-secret"), discordKey: key, teams: 1, users: 1,
		now: func() time.Time { return time.Now().Add(-10 * time.Minute) }}
	for _, k := range allKinds {
		for _, c := range []struct {
			s    *signer
			want int
			what string
		}{{good, 200, "good signature"}, {bad, 401, "bad signature"}} {
			req, err := c.s.build(k, 1, "selftest")
			if err != nil {
				return err
			}
			resp, err := client.Do(req.WithContext(ctx))
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				return fmt.Errorf("selftest: %s with a %s: status %d, want %d", k, c.what, resp.StatusCode, c.want)
			}
		}
	}
	req, _ := stale.build(kindSlackCommand, 1, "selftest")
	if resp, err := client.Do(req.WithContext(ctx)); err != nil {
		return err
	} else if resp.Body.Close(); resp.StatusCode != 401 {
		return fmt.Errorf("selftest: stale Slack timestamp: status %d, want 401", resp.StatusCode)
	}

	mix := allKinds
	cfg := loadConfig{target: base, concurrency: 8, duration: time.Second, timeout: 5 * time.Second, mix: mix, signer: good}
	res, err := runLoad(ctx, cfg)
	if err != nil {
		return err
	}
	all := res.report(stdout, cfg)
	if all.requests < 3*len(mix) {
		return fmt.Errorf("selftest: only %d requests in 1 s", all.requests)
	}
	if all.ok != all.requests {
		return fmt.Errorf("selftest: %d of %d requests failed: %s", all.requests-all.ok, all.requests, statusText(all.byStatus))
	}
	if n := mr.CommandCount(); n < all.requests {
		return fmt.Errorf("selftest: %d Redis commands for %d requests", n, all.requests)
	}
	for i, k := range res.kinds {
		st := summarize(res.samples, res.elapsed, func(s sample) bool { return s.kind == i })
		if st.requests == 0 || st.ok != st.requests {
			return fmt.Errorf("selftest: %s: %d requests, %d ok", k, st.requests, st.ok)
		}
	}
	fmt.Fprintln(stdout, "selftest ok")
	return nil
}
