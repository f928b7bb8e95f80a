#!/bin/sh
# SPDX-License-Identifier: MIT
# Directory benchmark: starts a fresh daemon per configuration on an ephemeral loopback port,
# drives it with bench/dirload and prints one results table. It measures and reports; it passes
# or fails nothing. Usage: sh bench/run.sh BUILD_DIR   (what `make bench` runs)
# Environment: DURATION (measured seconds per run, 10), WARMUP (2), CHECK_INTERVAL (5),
# CHECK_USERS (10000), CLIENTS (client counts of the QUERY runs, "1 50 500").
set -eu

BUILD=${1:?usage: sh bench/run.sh BUILD_DIR}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CHECK_INTERVAL=${CHECK_INTERVAL:-5}
CHECK_USERS=${CHECK_USERS:-10000}
CLIENTS=${CLIENTS:-1 50 500}

SB=$BUILD/switchboard
LOAD=$BUILD/bench/dirload
for f in "$SB" "$LOAD"; do
    if [ ! -x "$f" ]; then
        echo "run.sh: $f is missing: build first (ninja -C $BUILD)" >&2
        exit 2
    fi
done

# 500 clients plus the PONG listener's connections need more than the usual 1024 descriptors.
. "$(dirname "$0")/lib.sh"
raise_fd_limit run.sh "the 500-client run"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-bench.XXXXXX")
DPID=
LPID=
cleanup() {
    if [ -n "$LPID" ]; then
        kill -TERM "$LPID" 2>/dev/null || true
        wait "$LPID" 2>/dev/null || true
    fi
    stop_daemon
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each dirload run is bounded by its own timers; this is the outer bound if something hangs.
# (awk, because DURATION and WARMUP may be fractional.)
LOAD_LIMIT=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 180 }')

# start_daemon NAME [-o key=value ...]: a daemon with its own data dir; sets DPID and ADDR.
start_daemon() {
    dir=$TMP/$1
    shift
    mkdir -p "$dir"
    "$SB" -o server.data_dir="$dir" -o server.ports_file="$dir/ports" \
        -o directory.listen=127.0.0.1:0 "$@" 2>"$dir/log" &
    DPID=$!
    DLOG=$dir/log
    i=0
    while [ ! -s "$dir/ports" ]; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$DPID" 2>/dev/null; then
            echo "run.sh: the daemon did not start; its log:" >&2
            cat "$DLOG" >&2
            exit 1 # cleanup stops it if it is still running
        fi
        sleep 0.1
    done
    ADDR=$(awk '$1 == "directory" && $2 == "tcp" { print $3; exit }' "$dir/ports")
}

# SIGTERM to our daemon only, by PID; SIGKILL if it has not gone within 10 s.
stop_daemon() {
    if [ -z "$DPID" ]; then
        return 0
    fi
    kill -TERM "$DPID" 2>/dev/null || true
    i=0
    while kill -0 "$DPID" 2>/dev/null && [ $i -lt 100 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    if kill -0 "$DPID" 2>/dev/null; then
        echo "run.sh: daemon $DPID ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$DPID" 2>/dev/null || true
    fi
    status=0
    wait "$DPID" 2>/dev/null || status=$?
    if [ "$status" -ne 0 ]; then
        echo "run.sh: warning: daemon exited with status $status" >&2
    fi
    DPID=
}

# bench LABEL [dirload options]: one run against the daemon at ADDR; appends a table row.
bench() {
    label=$1
    shift
    out=$TMP/run.$(date +%s%N)
    timeout "$LOAD_LIMIT" "$LOAD" -a "$ADDR" --daemon-pid "$DPID" -d "$DURATION" -w "$WARMUP" \
        "$@" >"$out" 2>&1 || true
    sed 's/^/    /' "$out"
    row "$label" "$out"
}

# row LABEL FILE: the summary line of FILE as a table row. CPU columns are % of one core over the
# measured window: the daemon, the generator, and everything else on the machine.
row() {
    awk -v label="$1" '
        /^summary / {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
            other = v["machine_cpu"] - v["daemon_cpu"] - v["gen_cpu"]
            printf "%-36s %11s %7s %7s %7s %7s %7s %6s %5s%% %4s%% %4.0f%%\n", label,
                v["ops_per_s"], v["p50_us"], v["p90_us"], v["p99_us"], v["p999_us"], v["max_us"],
                v["errors"], v["daemon_cpu"], v["gen_cpu"], other < 0 ? 0 : other
            found = 1
        }
        END { if (!found) printf "%-36s (no result: see the output above)\n", label }
    ' "$2" >>"$TMP/table"
}

echo "switchboard directory benchmark: $(nproc) CPU(s), $(uname -sr)"
echo "binary: $SB ($("$SB" --version))"
echo "runs: ${DURATION}s measured after ${WARMUP}s warm-up, one fresh daemon per run"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo

# Throughput and latency. The checker is off (check_interval=0) so that only the load runs.
COMMON="-o server.password_cost=minimum -o directory.check_interval=0"
for c in $CLIENTS; do
    echo "== QUERY <own name>, $c client(s)"
    start_daemon "query$c" $COMMON
    bench "QUERY self, $c client(s)" -m query -c "$c"
    stop_daemon
done

echo "== QUERY <random peer>, 50 clients, 16 requests in flight each"
start_daemon query-pipe $COMMON
bench "QUERY peer, 50 clients, pipeline 16" -m query -q peer -c 50 --pipeline 16
stop_daemon

echo "== BIND loop, 50 clients (bind_check=connect)"
start_daemon bind $COMMON
bench "BIND, 50 clients" -m bind -c 50
stop_daemon

echo "== mix: per 20 requests 1 BIND, 1 QUERY all (50 bindings), 18 QUERY peer; 50 clients"
start_daemon mix $COMMON
bench "mix, 50 clients" -m mix -c 50
stop_daemon

echo "== login loop (connect, USER, PASS, close), password_cost=minimum, 50 clients"
start_daemon auth-min $COMMON
bench "login, cost=minimum, 50 clients" -m auth -c 50
stop_daemon

# Real hashing: two worker threads hash, so a few clients keep them busy.
for cost in standard interactive; do
    echo "== login loop, password_cost=$cost, 4 clients"
    start_daemon "auth-$cost" -o server.password_cost=$cost -o directory.check_interval=0
    bench "login, cost=$cost, 4 clients" -m auth -c 4
    stop_daemon
done

# The checker: CHECK_USERS bindings, all pointing at dirload's PONG listener.
echo "== checker: $CHECK_USERS bindings, check_interval=${CHECK_INTERVAL}s"
start_daemon checker -o server.password_cost=minimum -o directory.accounts=open \
    -o directory.check_interval="$CHECK_INTERVAL" -o server.log_level=debug
hold=$(awk -v c="$CHECK_INTERVAL" -v d="$DURATION" -v w="$WARMUP" \
    'BEGIN { printf "%d", 60 + 4 * c + d + w }')
reg=$TMP/register.out
timeout $((hold + 200)) "$LOAD" -a "$ADDR" --daemon-pid "$DPID" -m register -n "$CHECK_USERS" \
    -c 50 -p peer -d "$hold" >"$reg" 2>&1 &
LPID=$!
i=0
while ! grep -q '^hold: answering' "$reg" && kill -0 "$LPID" 2>/dev/null && [ $i -lt 1200 ]; do
    i=$((i + 1))
    sleep 0.1
done
sed 's/^/    /' "$reg"
row "register (USER,PASS,BIND), 50 cl." "$reg"

# Rounds are bounded waits in 0.1 s ticks: three intervals plus 30 s.
WAIT_TICKS=$(awk -v c="$CHECK_INTERVAL" 'BEGIN { printf "%d", c * 30 + 300 }')
# The first round that starts after the last BIND covers all of them; wait for it (bounded).
seen=$(grep -c 'checker round' "$DLOG" || true)
round=
i=0
while [ $i -lt "$WAIT_TICKS" ]; do
    round=$(grep 'checker round' "$DLOG" | sed -n "$((seen + 1)),\$p" |
        grep "round: $CHECK_USERS binding" | head -n 1)
    if [ -n "$round" ]; then
        break
    fi
    i=$((i + 1))
    sleep 0.1
done
echo "    daemon log: ${round:-no complete checker round seen}"

echo "== QUERY all over the $CHECK_USERS bindings, 4 clients (checker rounds keep running)"
bench "QUERY all ($CHECK_USERS bindings), 4 cl." -m query -q all -c 4 -p all

# Dead peers: stop answering PINGs; two failed rounds (check_failures=2) remove every binding.
kill -TERM "$LPID" 2>/dev/null || true
wait "$LPID" 2>/dev/null || true
LPID=
tail -n 1 "$reg" | sed 's/^/    /'
seen=$(grep -c 'checker round' "$DLOG" || true)
gone=
i=0
while [ $i -lt "$WAIT_TICKS" ]; do
    gone=$(grep 'checker round' "$DLOG" | sed -n "$((seen + 1)),\$p" |
        awk -v n="$CHECK_USERS" '$(NF - 1) + 0 >= n { print; exit }')
    if [ -n "$gone" ]; then
        break
    fi
    i=$((i + 1))
    sleep 0.1
done
grep 'checker round' "$DLOG" | sed -n "$((seen + 1)),\$p" | sed 's/^/    daemon log: /'
stop_daemon

echo
echo "Results (latency in microseconds, from sending a request to its complete reply; login and"
echo "register from the connect; CPU in % of one core over the measured window: the daemon, the"
echo "generator, and anything else running on the machine)"
printf "%-36s %11s %7s %7s %7s %7s %7s %6s %6s %5s %5s\n" configuration ops/s p50 p90 p99 p99.9 \
    max errors daemon gen other
cat "$TMP/table"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
echo
# The log lines without their date, time and level.
echo "checker, peers up:   $(echo "${round:-no complete round seen}" | sed 's/^.* debug *//')"
echo "checker, peers gone: $(echo "${gone:-no removal round seen}" | sed 's/^.* debug *//')"
