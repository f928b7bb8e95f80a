#!/bin/sh
# SPDX-License-Identifier: MIT
# IRC benchmark: switchboard's [irc] service against ngIRCd and InspIRCd (Debian's packages), on
# the same load in the same run. Each server gets a temporary configuration on a free loopback
# port, with its flood protection opened up for the load clients, runs in the foreground and is
# stopped by its PID. bench/ircload drives every server twice per comparison: a connect run
# (REG_CLIENTS clients, REG_PARALLEL registering at once) and a load run (CLIENTS clients join one
# channel; then channel fan-out as fast as a window allows, fan-out at a fixed rate, private
# ping-pong). Comparisons: pinned (every server on SERVER_CPU, ircload on CLIENT_CPU) and default
# (nothing pinned). It prints one table with switchboard's ratio to each peer. It builds nothing
# and passes or fails nothing.
# Usage: sh bench/irc.sh BUILD_DIR
# Environment: SERVERS ("switchboard ngircd inspircd"), COMPARISONS ("pinned default"), CLIENTS
# (1000), SENDERS (10), WINDOW (4), RATE (messages/s per sender in the rate scenario, 10),
# PP_WINDOW (1), SIZE (message text bytes, 64), DURATION (5), WARMUP (1), REG_CLIENTS (100),
# REG_PARALLEL (10), SETUP_PARALLEL (registrations at once in the load run's setup, 10; InspIRCd
# gets CLIENTS, see below), SERVER_CPU (1), CLIENT_CPU (0), QUIET_WAIT (30), QUIET_BUSY (25),
# SB (default BUILD_DIR/switchboard), NGIRCD (/usr/sbin/ngircd), INSPIRCD (/usr/sbin/inspircd),
# PYTHON (/usr/bin/python3).
set -eu

BUILD=${1:?usage: sh bench/irc.sh BUILD_DIR}
SERVERS=${SERVERS:-switchboard ngircd inspircd}
COMPARISONS=${COMPARISONS-pinned default}
CLIENTS=${CLIENTS:-1000}
SENDERS=${SENDERS:-10}
WINDOW=${WINDOW:-4}
RATE=${RATE:-10}
PP_WINDOW=${PP_WINDOW:-1}
SIZE=${SIZE:-64}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
REG_CLIENTS=${REG_CLIENTS:-100}
REG_PARALLEL=${REG_PARALLEL:-10}
SETUP_PARALLEL=${SETUP_PARALLEL:-10}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
QUIET_WAIT=${QUIET_WAIT:-30}
QUIET_BUSY=${QUIET_BUSY:-25}
SB=${SB:-$BUILD/switchboard}
NGIRCD=${NGIRCD:-/usr/sbin/ngircd}
INSPIRCD=${INSPIRCD:-/usr/sbin/inspircd}
PY=${PYTHON:-/usr/bin/python3}
LOAD=$BUILD/bench/ircload

if [ ! -x "$LOAD" ]; then
    echo "irc.sh: $LOAD is missing: build first (ninja -C $BUILD)" >&2
    exit 2
fi
if ! command -v "$PY" >/dev/null; then
    echo "irc.sh: $PY is missing" >&2
    exit 2
fi
for s in $SERVERS; do
    case $s in
    switchboard) bin=$SB ;;
    ngircd) bin=$NGIRCD ;;
    inspircd) bin=$INSPIRCD ;;
    *)
        echo "irc.sh: unknown server $s (switchboard, ngircd, inspircd)" >&2
        exit 2
        ;;
    esac
    if [ ! -x "$bin" ]; then
        echo "irc.sh: $bin is missing (apt-get install ngircd inspircd; or set SB/NGIRCD/INSPIRCD)" >&2
        exit 2
    fi
done

# CLIENTS connections in ircload and as many in each server.
. "$(dirname "$0")/lib.sh"
raise_fd_limit irc.sh "the $CLIENTS-client runs"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-ircbench.XXXXXX")
SPID=
cleanup() {
    stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each ircload run is bounded by its own timers (setup 120 s, each scenario warm-up + duration
# + 5 s of drain, 30 s on top); this is the outer bound if something hangs.
LOAD_LIMIT=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", 3 * (d + w + 6) + 180 }')

cat >"$TMP/util.py" <<'EOF'
import socket, sys, time

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])

def wait_port(port, secs):
    # Ready when a TCP connection is accepted; the probe closes at once.
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return 0
        except OSError:
            time.sleep(0.05)
    return 1

if sys.argv[1] == "port":
    free_port()
elif sys.argv[1] == "wait":
    sys.exit(wait_port(int(sys.argv[2]), float(sys.argv[3])))
EOF

# ---- servers ----

# start_switchboard DIR [taskset prefix...]: [server] and [irc] only, so no other service runs.
# Flood control (flood_burst, flood_rate: commands at once and per second) out of reach, no
# per-IP limit, receive and send queues of 16 MiB like InspIRCd's below, PING after 10 minutes.
start_switchboard() {
    dir=$1
    shift
    cat >"$dir/sb.conf" <<EOC
[server]
data_dir = $dir
ports_file = $dir/ports

[irc]
listen = 127.0.0.1:0
max_clients = 100000
max_per_ip = 100000
flood_burst = 1000000
flood_rate = 1000000
recvq = 16777216
max_output = 16777216
ping_interval = 600
EOC
    "$@" "$SB" -c "$dir/sb.conf" 2>"$dir/log" &
    SPID=$!
    wait_ports irc.sh "$SPID" "$dir" 30
    SADDR=$(awk '$1 == "irc" && $2 == "tcp" { print $3; exit }' "$dir/ports")
}

# ngIRCd: no DNS or ident lookups, no PAM; no per-IP limit; MaxPenaltyTime = 0 turns off the
# command penalties (otherwise a user gets one second of penalty whenever more than 3 commands
# wait in its buffer, and for other commands); PING only after 10 minutes.
start_ngircd() {
    dir=$1
    shift
    port=$("$PY" "$TMP/util.py" port)
    mkdir -p "$dir/conf.d"
    cat >"$dir/ngircd.conf" <<EOC
[Global]
Name = ngircd.bench
Info = ircload benchmark
AdminInfo1 = bench
AdminInfo2 = bench
AdminEMail = bench@localhost
Listen = 127.0.0.1
Ports = $port
MotdPhrase = ircload benchmark
PidFile = $dir/ngircd.pid
HelpFile = $dir/none
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 50
MaxNickLength = 30
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
IncludeDir = $dir/conf.d
EOC
    "$@" "$NGIRCD" --nodaemon -f "$dir/ngircd.conf" >"$dir/log" 2>&1 &
    SPID=$!
    SADDR=127.0.0.1:$port
    wait_ready "$dir/log"
}

# InspIRCd: one <connect> class with flood limits out of reach (threshold, commandrate,
# fakelag=no), queues of 16 MiB, no per-IP limit, no DNS lookups; --runasroot because the
# benchmark may run as root.
start_inspircd() {
    dir=$1
    shift
    port=$("$PY" "$TMP/util.py" port)
    cat >"$dir/inspircd.conf" <<EOC
<server name="inspircd.bench" description="ircload benchmark" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$port" type="clients">
<connect name="bench" allow="*" timeout="120" pingfreq="600" hardsendq="16M" softsendq="16M"
         recvq="16M" threshold="1000000" commandrate="1000000000" fakelag="no"
         localmax="1000000" globalmax="1000000" maxconnwarn="no" resolvehostnames="no"
         useident="no" limit="1000000" maxchans="50">
<performance netbuffersize="10240" somaxconn="1024" softlimit="1000000" clonesonconnect="no"
             quietbursts="yes">
<pid file="$dir/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$dir/inspircd.log">
<path configdir="$dir" datadir="$dir" logdir="$dir" runtimedir="$dir">
EOC
    "$@" "$INSPIRCD" --nofork --runasroot --config="$dir/inspircd.conf" >"$dir/log" 2>&1 &
    SPID=$!
    SADDR=127.0.0.1:$port
    wait_ready "$dir/log"
}

wait_ready() {
    if ! "$PY" "$TMP/util.py" wait "${SADDR##*:}" 30 || ! kill -0 "$SPID" 2>/dev/null; then
        echo "irc.sh: the server did not accept connections within 30 s; its output:" >&2
        cat "$1" >&2
        exit 1
    fi
}

# start_server NAME DIR [taskset prefix...]: sets SPID and SADDR.
start_server() {
    name=$1 dir=$2
    shift 2
    rm -rf "$dir"
    mkdir -p "$dir"
    "start_$name" "$dir" "$@"
}

# SIGTERM to the server we started, by PID; SIGKILL if it has not gone within 10 s.
stop_server() {
    if [ -z "$SPID" ]; then
        return 0
    fi
    kill -TERM "$SPID" 2>/dev/null || true
    i=0
    while kill -0 "$SPID" 2>/dev/null && [ $i -lt 100 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    if kill -0 "$SPID" 2>/dev/null; then
        echo "irc.sh: server $SPID ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$SPID" 2>/dev/null || true
    fi
    wait "$SPID" 2>/dev/null || true
    SPID=
}

version_of() {
    case $1 in
    switchboard) "$SB" --version 2>&1 | head -n 1 ;;
    ngircd) "$NGIRCD" --version 2>&1 | head -n 1 ;;
    inspircd) "$INSPIRCD" --version 2>&1 | head -n 1 ;;
    esac
}

# run SERVER CMP KIND [ircload options]: one ircload run against SADDR; its 'connect' and
# 'summary' lines go to $TMP/results, tagged with the server, the comparison and the kind.
run() {
    server=$1 cmp=$2 kind=$3
    shift 3
    out=$TMP/run.out
    # shellcheck disable=SC2086
    timeout "$LOAD_LIMIT" $CLIENT_PIN "$LOAD" -a "$SADDR" --server-pid "$SPID" "$@" \
        >"$out" 2>&1 || true
    sed 's/^/    /' "$out"
    if ! grep -E '^(connect|summary) ' "$out" |
        sed "s/^/$server $cmp $kind /" >>"$TMP/results"; then
        echo "$server $cmp $kind failed" >>"$TMP/results"
    fi
    if ! kill -0 "$SPID" 2>/dev/null; then
        echo "    warning: $server exited during the run"
    fi
}

echo "switchboard IRC benchmark against ngIRCd and InspIRCd: $(nproc) CPU(s)," \
    "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -sr)"
for s in $SERVERS; do
    echo "$s: $(version_of "$s")"
done
echo "load run: $CLIENTS clients in one channel; fan-out: $SENDERS senders, window $WINDOW;" \
    "rate: $SENDERS senders x $RATE msg/s; ping-pong: $((CLIENTS / 2)) pairs, window $PP_WINDOW;" \
    "text $SIZE bytes; ${DURATION}s measured after ${WARMUP}s warm-up per scenario"
echo "connect run: $REG_CLIENTS clients, $REG_PARALLEL registering at once;" \
    "comparisons: $COMPARISONS"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$TMP/results"

for cmp in $COMPARISONS; do
    case $cmp in
    pinned)
        if [ "$(nproc)" -lt 2 ]; then
            echo "== pinned: needs 2 CPUs; skipped"
            continue
        fi
        SERVER_PIN="taskset -c $SERVER_CPU"
        CLIENT_PIN="taskset -c $CLIENT_CPU"
        echo "== pinned: every server on CPU $SERVER_CPU, ircload on CPU $CLIENT_CPU"
        ;;
    default)
        SERVER_PIN=
        CLIENT_PIN=
        echo "== default: nothing pinned"
        ;;
    *)
        echo "irc.sh: unknown comparison $cmp (pinned, default)" >&2
        exit 2
        ;;
    esac
    for s in $SERVERS; do
        # InspIRCd completes registrations in a once-a-second sweep, so its load run's setup
        # registers every client at once (the connect run below compares registration itself).
        setup_par=$SETUP_PARALLEL
        if [ "$s" = inspircd ]; then
            setup_par=$CLIENTS
        fi
        wait_quiet
        echo "-- $cmp, $s: load run"
        # shellcheck disable=SC2086
        start_server "$s" "$TMP/$s-$cmp" $SERVER_PIN
        run "$s" "$cmp" load -n "$CLIENTS" -m fanout,rate,pingpong -S "$SENDERS" -W "$WINDOW" \
            -r "$RATE" --pingpong-window "$PP_WINDOW" --size "$SIZE" -d "$DURATION" \
            -w "$WARMUP" --reg-parallel "$setup_par"
        stop_server
        wait_quiet
        echo "-- $cmp, $s: connect run"
        # shellcheck disable=SC2086
        start_server "$s" "$TMP/$s-$cmp-connect" $SERVER_PIN
        run "$s" "$cmp" reg -n "$REG_CLIENTS" -m connect --reg-parallel "$REG_PARALLEL"
        stop_server
    done
done

# ---- one table: a row per server, switchboard's ratio to it ----
echo
echo "Results. Rates per second; latency p50/p99 in microseconds (fan-out: per delivery, from the"
echo "time in the message to its receipt; ping-pong: per round trip; register: connect to 001);"
echo "CPU: % of one core over the measured window (server, ircload, everything else); per CPU-s:"
echo "the rate per second of server CPU time; sb/x: switchboard's figure divided by this row's"
echo "(rate and per CPU-s: above 1 is better for switchboard; RSS: below 1 is better)."
awk -v servers="$SERVERS" '
    function get(line, key,    i, n, kv, f) {
        n = split(line, f, " ")
        for (i = 4; i <= n; i++) {
            split(f[i], kv, "=")
            if (kv[1] == key) return kv[2]
        }
        return ""
    }
    function ratio(a, b) { return (b + 0 > 0 && a != "") ? sprintf("%.2f", a / b) : "-" }
    {
        key = $2 " " $3 " " ($4 == "summary" ? get($0, "mode") : $4 == "connect" ? "setup" : "x")
        if ($3 == "reg" && $4 == "connect") key = $2 " reg register"
        if ($4 == "failed") next
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        row[key, $1] = $0
    }
    END {
        ns = split(servers, sv, " ")
        printf "%-7s %-9s %-11s %11s %6s %15s %9s %11s %5s %5s %6s %5s\n", "cmp", "scenario",
            "server", "rate/s", "sb/x", "p50/p99 us", "CPU/gen/oth", "per CPU-s", "sb/x",
            "err", "RSS/cl", "sb/x"
        for (i = 1; i <= n; i++) {
            split(order[i], k, " ")
            sb = row[order[i], "switchboard"]
            for (j = 1; j <= ns; j++) {
                r = row[order[i], sv[j]]
                if (r == "") continue
                sc = k[3]
                if (sc == "setup") {
                    rate = get(r, "clients_per_s"); srate = get(sb, "clients_per_s")
                    lat = get(r, "join_p50_us") "/" get(r, "join_p99_us")
                    cpu_us = get(r, "server_cpu_us_per_client")
                    pc = cpu_us > 0 ? 1e6 / cpu_us : ""
                    spc_us = get(sb, "server_cpu_us_per_client")
                    spc = spc_us > 0 ? 1e6 / spc_us : ""
                    cpu = "-"
                    rss = get(r, "rss_per_client_b"); srss = get(sb, "rss_per_client_b")
                    err = get(r, "errors")
                } else if (sc == "register") {
                    # (CPU time is counted in 10 ms ticks: too coarse for REG_CLIENTS clients)
                    rate = get(r, "reg_per_s"); srate = get(sb, "reg_per_s")
                    lat = get(r, "reg_p50_us") "/" get(r, "reg_p99_us")
                    pc = ""; spc = ""
                    cpu = "-"; rss = ""; srss = ""
                    err = get(r, "errors")
                } else {
                    f = sc == "pingpong" ? "roundtrips_per_s" : "deliveries_per_s"
                    rate = get(r, f); srate = get(sb, f)
                    lat = get(r, "p50_us") "/" get(r, "p99_us")
                    pc = get(r, "per_server_cpu_s"); spc = get(sb, "per_server_cpu_s")
                    oth = get(r, "machine_cpu") - get(r, "server_cpu") - get(r, "gen_cpu")
                    cpu = get(r, "server_cpu") "/" get(r, "gen_cpu") "/" (oth < 0 ? 0 : oth)
                    rss = ""; srss = ""
                    err = get(r, "errors") + get(r, "lost") + get(r, "order_errors")
                }
                printf "%-7s %-9s %-11s %11.0f %6s %15s %9s %11s %5s %5s %6s %5s\n",
                    (j == 1 ? k[1] : ""), (j == 1 ? sc : ""), sv[j], rate,
                    (sv[j] == "switchboard" ? "" : ratio(srate, rate)), lat, cpu,
                    (pc == "" || pc == "-" ? "-" : sprintf("%.0f", pc)),
                    (sv[j] == "switchboard" ? "" : ratio(spc, pc)), err,
                    (rss == "" ? "" : rss), (sv[j] == "switchboard" || rss == "" ? "" : ratio(srss, rss))
            }
        }
    }
' "$TMP/results"
if grep -q ' failed$' "$TMP/results"; then
    echo "runs without a result: $(grep ' failed$' "$TMP/results" | cut -d' ' -f1-3 | tr '\n' ';')"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
