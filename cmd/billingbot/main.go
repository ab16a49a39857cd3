// Command billingbot runs the billingbot chat-ops bot.
//
//	billingbot console [flags]   type /billing commands in a terminal
//	billingbot serve             the Slack and Discord adapters, health checks
//	billingbot slack-manifest    print the Slack app manifest
//	billingbot discord-register  register the Discord slash commands
//	billingbot outbox            notifications that wait or were given up; retry
//	billingbot help              this overview
//
// Configuration comes from environment variables (see README.md); flags
// override the important ones. Exit codes: 0 done, 1 runtime error, 2 usage
// or configuration error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// gcPercent is the garbage collector's target unless GOGC is set: the
// heap is small (about 60 MB resident under full load), and the default
// 100 spends several percent of a busy bot's CPU on collecting it.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	quietRedis()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], environ(os.Environ()), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usage = `billingbot: self-service software purchases from chat.

Usage:
  billingbot <command> [flags]

Commands:
  console           type /billing commands in this terminal (try it: nothing to install)
  serve             run the Slack and Discord adapters (BILLINGBOT_ADDR, SLACK_*, DISCORD_*)
  slack-manifest    print the Slack app manifest for "Create an app from a manifest"
  discord-register  register the /billing command with Discord [--guild ID]
  healthcheck       ask a running serve's /healthz (for container health checks)
  outbox            list the notifications that wait or could not be delivered; retry them
  help              show this help

Run "billingbot console -h" for the console's flags. Configuration comes
from environment variables (REDIS_URL, BILLINGBOT_CATALOG, …; see README.md).
`

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, env map[string]string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "console":
		return runConsole(ctx, args[1:], env, stdin, stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], env, stdout, stderr)
	case "slack-manifest":
		return runSlackManifest(args[1:], env, stdout, stderr)
	case "discord-register":
		return runDiscordRegister(ctx, args[1:], env, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(args[1:], env, stderr)
	case "outbox":
		return runOutbox(ctx, args[1:], env, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "billingbot: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// newFlags makes a subcommand's flag set; it reports to stderr.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses a subcommand's flags. When it returns false the
// subcommand is done and exits with code: 0 after -h, 2 for bad flags.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return exitOK, true
}

// environ turns os.Environ's list into a map.
func environ(list []string) map[string]string {
	env := make(map[string]string, len(list))
	for _, kv := range list {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// quietRedis stops go-redis from printing its own log lines (such as
// "failed to dial after 5 attempts") to stderr past the program's logger:
// the failures it reports reach the program as errors, which say more.
func quietRedis() { redis.SetLogger(discardLog{}) }

type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}
