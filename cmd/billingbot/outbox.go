package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/billingbot/billingbot/commands"
	"github.com/billingbot/billingbot/store"
)

const outboxUsage = `Usage:
  billingbot outbox [-org ORG]               what waits in the outboxes, and the dead letters
  billingbot outbox retry [-org ORG] [ID …]  put dead letters back into the outbox: all of them
                                             (of ORG), or the ones with these ids (needs -org)

Dead letters are notifications that could not be delivered (the admin
channel is gone, the app lacks a permission, the platform kept failing).
Mend the cause, then retry them. Needs REDIS_URL.
`

// runOutbox is "billingbot outbox": an operator's view of the
// notifications that wait or were given up.
func runOutbox(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig(env)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitUsage
	}
	retry := len(args) > 0 && args[0] == "retry"
	if retry || len(args) > 0 && args[0] == "list" {
		args = args[1:]
	}
	fs := newFlags("billingbot outbox", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, outboxUsage); fs.PrintDefaults() }
	org := fs.String("org", "", "only this `organization` (e.g. slack-T0123, discord-4567)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	ids := fs.Args()
	switch {
	case cfg.RedisURL == "":
		fmt.Fprintln(stderr, "billingbot outbox: REDIS_URL is not set: the outboxes are in the Redis the replicas share")
		return exitUsage
	case len(ids) > 0 && !retry:
		fmt.Fprintf(stderr, "billingbot outbox: unexpected arguments %q\n\n%s", ids, outboxUsage)
		return exitUsage
	case len(ids) > 0 && *org == "":
		fmt.Fprintln(stderr, "billingbot outbox retry: dead letter ids need -org")
		return exitUsage
	case *org != "" && !store.ValidID(*org):
		fmt.Fprintf(stderr, "billingbot outbox: -org %q is not an organization id\n", *org)
		return exitUsage
	}
	log := cfg.logger(stderr)
	rdb, closeRedis, err := openRedis(ctx, cfg.RedisURL, log)
	if err != nil {
		fmt.Fprintf(stderr, "billingbot: %v\n", err)
		return exitFailure
	}
	defer closeRedis()
	st := store.New(rdb)
	if retry {
		err = retryDead(ctx, st, *org, ids, stdout)
	} else {
		err = listOutbox(ctx, st, *org, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "billingbot outbox: %v\n", redact(err.Error(), cfg.RedisURL))
		return exitFailure
	}
	return exitOK
}

// orgsOf is one organization, or every one with an outbox or dead letters.
func orgsOf(ctx context.Context, st *store.Store, org string) ([]string, error) {
	if org != "" {
		return []string{org}, nil
	}
	all, err := st.OutboxIndex(ctx)
	if err != nil {
		return nil, err
	}
	dead, err := st.DeadOrgs(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range dead {
		if !slices.Contains(all, o) {
			all = append(all, o)
		}
	}
	slices.Sort(all)
	return all, nil
}

// maxListed is how many entries of one organization are listed.
const maxListed = 1000

func listOutbox(ctx context.Context, st *store.Store, org string, w io.Writer) error {
	orgs, err := orgsOf(ctx, st, org)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANIZATION\tWAITING\tOLDEST\tDEAD")
	var dead []store.OutboxEntry
	for _, o := range orgs {
		waiting, err := st.Outbox(ctx, o, maxListed)
		if err != nil {
			return err
		}
		d, err := st.DeadLetters(ctx, o, maxListed)
		if err != nil {
			return err
		}
		if len(waiting) == 0 && len(d) == 0 && org == "" {
			continue
		}
		oldest := "-"
		if len(waiting) > 0 {
			oldest = waiting[0].At.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", o, count(len(waiting)), oldest, len(d))
		dead = append(dead, d...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(dead) == 0 {
		fmt.Fprintln(w, "\nNo dead letters.")
		return nil
	}
	fmt.Fprintln(w, "\nDead letters (retry: billingbot outbox retry -org ORGANIZATION [ID …]):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANIZATION\tID\tKIND\tCHANGE AT\tATTEMPTS\tLAST ERROR")
	for _, e := range dead {
		kind := "?"
		if n, err := commands.DecodeNotification(e); err == nil {
			kind = string(n.Kind)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", e.Org, e.ID, kind, e.At.Format(time.DateTime), e.Attempts, oneLine(e.Error))
	}
	return tw.Flush()
}

func count(n int) string {
	if n >= maxListed {
		return fmt.Sprintf("%d+", n)
	}
	return fmt.Sprint(n)
}

// oneLine is an error text on one line, at most 160 characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 160 {
		s = string(r[:159]) + "…"
	}
	return s
}

func retryDead(ctx context.Context, st *store.Store, org string, ids []string, w io.Writer) error {
	orgs, err := orgsOf(ctx, st, org)
	if err != nil {
		return err
	}
	total := 0
	for _, o := range orgs {
		n, err := st.RetryDead(ctx, o, ids...)
		if errors.Is(err, store.ErrInvalid) {
			return fmt.Errorf("not a dead letter id among %q", ids)
		}
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(w, "%s: %d back in the outbox\n", o, n)
		}
		total += n
	}
	if len(ids) > 0 && total < len(ids) {
		fmt.Fprintf(w, "%d of %d ids were not dead letters of %s\n", len(ids)-total, len(ids), org)
	}
	fmt.Fprintf(w, "%d dead letters put back; the replicas deliver them now.\n", total)
	return nil
}
