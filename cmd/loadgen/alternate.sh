#!/bin/bash
# alternate.sh: throughput of billingbot builds against the floor, with the
# machine's noise spread over all of them alike.
#
#   cmd/loadgen/alternate.sh CYCLES SECONDS label=BINARY[:VAR=VALUE,...] ...
#   e.g. cmd/loadgen/alternate.sh 25 3 before=/tmp/bb-old after=/tmp/bb-new
#
# Starts a private redis-server (no persistence) on REDIS_PORT (default
# 6399), the fake Slack/Discord API, the floor and every given billingbot
# binary (`serve`, each on its own port), all on loopback. Then, in each
# cycle, sends SECONDS of load (-c 64; the default mix, or MIX, e.g.
# MIX=slack-submit) to the floor and then to each bot in turn. It prints
# one line per slice
#   cycle target requests errors req/s p50 p99 p99.9 max target-ticks redis-ticks fakeapi-ticks
# (CPU ticks of 10 ms from /proc/PID/stat: Linux) and, with python3, the
# medians per target: throughput, its ratio to the floor of the same cycle
# (with quartiles), latencies and CPU per request of each process.
# Ports 8081 (floor), 9391 (fake API) and 8090 on (bots) must be free.
set -eu
if [ $# -lt 3 ]; then sed -n 2,18p "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
N=$1; S=$2; shift 2
here=$PWD
cd "$(dirname "$0")/../.."
work=$(mktemp -d); L=$work/loadgen
go build -o "$L" ./cmd/loadgen
KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SECRET=alternate-secret
PUB=$("$L" -print-discord-pubkey -discord-key $KEY)
RPORT=${REDIS_PORT:-6399}
HOOK=http://127.0.0.1:9391/hook
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
RP=$!; PIDS=$RP
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
if ! kill -0 $RP 2>/dev/null; then
  echo "alternate.sh: redis-server did not start on port $RPORT (taken? set REDIS_PORT):" >&2
  cat "$work/redis.log" >&2; exit 1
fi
"$L" -fake-api 127.0.0.1:9391 >"$work/fake.log" 2>&1 &
FP=$!; PIDS="$PIDS $FP"
"$L" -floor 127.0.0.1:8081 -redis redis://127.0.0.1:$RPORT -slack-secret $SECRET -discord-key $KEY >"$work/floor.log" 2>&1 &
labels=(floor); urls=(http://127.0.0.1:8081); pids=($!); PIDS="$PIDS $!"; port=8090
for spec in "$@"; do
  label=${spec%%=*}; rest=${spec#*=}; bin=${rest%%:*}; vars=""
  [[ "$rest" == *:* ]] && vars=${rest#*:}
  [[ "$bin" == /* ]] || bin=$here/$bin
  env REDIS_URL=redis://127.0.0.1:$RPORT BILLINGBOT_PAYMENTS=sandbox SLACK_SIGNING_SECRET=$SECRET SLACK_BOT_TOKEN=xoxb-alternate \
    DISCORD_PUBLIC_KEY=$PUB DISCORD_APP_ID=1234 DISCORD_BOT_TOKEN=alternate \
    SLACK_API_URL=http://127.0.0.1:9391/api/ DISCORD_API_URL=http://127.0.0.1:9391/discord/api/v10 \
    BILLINGBOT_ADDR=127.0.0.1:$port BILLINGBOT_RATE_LIMIT=1000000 BILLINGBOT_MAX_CONNS_PER_CLIENT=0 ${vars//,/ } "$bin" serve >"$work/$label.log" 2>&1 &
  pids+=($!); PIDS="$PIDS $!"; labels+=("$label"); urls+=(http://127.0.0.1:$port); port=$((port + 1))
done
ticks() { awk '{print $14 + $15}' /proc/$1/stat; }
load() { "$L" -url "$1" -c 64 -d "$2" ${MIX:+-mix "$MIX"} -slack-secret $SECRET -discord-key $KEY -hook $HOOK 2>&1; }
for u in "${urls[@]}"; do # until each answers, then warm up
  for _ in $(seq 100); do curl -s -o /dev/null "$u/" && break; sleep 0.1; done
  load "$u" 2s >/dev/null
done
out=$work/slices.txt
for c in $(seq "$N"); do
  for i in "${!urls[@]}"; do
    t0=$(ticks ${pids[$i]}); r0=$(ticks $RP); f0=$(ticks $FP)
    res=$(load "${urls[$i]}" "${S}s")
    t1=$(ticks ${pids[$i]}); r1=$(ticks $RP); f1=$(ticks $FP)
    echo "$res" | awk -v c="$c" -v l="${labels[$i]}" -v t=$((t1 - t0)) -v r=$((r1 - r0)) -v f=$((f1 - f0)) \
      '$1 == "all" {print c, l, $2, $3, $4, $6, $7, $8, $9, t, r, f}' | tee -a "$out"
  done
done
command -v python3 >/dev/null || exit 0
python3 - "$out" <<'PY'
import collections, statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
by = collections.defaultdict(dict)
for c, l, n, e, rps, p50, p99, p999, mx, t, r, f in rows:
    n = int(n)
    by[c][l] = dict(rps=float(rps), p50=float(p50[:-2]), p99=float(p99[:-2]), p999=float(p999[:-2]),
                    err=int(e), cpu=int(t) * 1e4 / n, redis=int(r) * 1e4 / n, fake=int(f) * 1e4 / n)
print(f"\n{'target':12} {'req/s':>7} {'÷ floor':>7} {'quartiles':>11} {'p50':>6} {'p99':>6} {'p99.9':>6}"
      f" {'CPU µs/req: own':>16} {'Redis':>5} {'fake API':>8} errors")
for l in dict.fromkeys(r[1] for r in rows):
    cs = [c for c in by if l in by[c] and "floor" in by[c]]
    med = lambda k: st.median(by[c][l][k] for c in cs)
    ratio = [by[c][l]["rps"] / by[c]["floor"]["rps"] for c in cs]
    q = st.quantiles(ratio, n=4) if len(ratio) > 1 else ratio * 3
    print(f"{l:12} {med('rps'):7.0f} {st.median(ratio):7.2f} {q[0]:5.2f}–{q[2]:4.2f} {med('p50'):6.1f} {med('p99'):6.1f}"
          f" {med('p999'):6.1f} {med('cpu'):16.0f} {med('redis'):5.0f} {med('fake'):8.0f} {sum(by[c][l]['err'] for c in cs)}")
PY
