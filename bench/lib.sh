# SPDX-License-Identifier: MIT
# Shell pieces the benchmark scripts share; sourced, not run.

# raise_fd_limit NAME WHAT: raise the soft limit on open files to the hard one (at most 65536),
# and warn as NAME if fewer than 2048 remain (WHAT: the runs that would fail).
raise_fd_limit() {
    hard=$(ulimit -H -n)
    if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then
        hard=65536
    fi
    ulimit -n "$hard" 2>/dev/null || true
    if [ "$(ulimit -n)" -lt 2048 ]; then
        echo "$1: warning: only $(ulimit -n) file descriptors; $2 may fail" >&2
    fi
}

# busy_1s: how busy the machine was over one second, in % of one core (all CPUs counted).
busy_1s() {
    a=$(head -n 1 /proc/stat)
    sleep 1
    b=$(head -n 1 /proc/stat)
    echo "$a $b" | awk -v ncpu="$(nproc)" '{
        # cpu user nice system idle iowait irq softirq steal guest guest_nice, twice
        b1 = $2 + $3 + $4 + $7 + $8 + $9; t1 = b1 + $5 + $6
        b2 = $13 + $14 + $15 + $18 + $19 + $20; t2 = b2 + $16 + $17
        busy = 0
        if (t2 > t1) busy = 100 * ncpu * (b2 - b1) / (t2 - t1)
        printf "%d\n", busy
    }'
}

# wait_quiet: other jobs on a small machine would skew a comparison, so before a run wait (at
# most QUIET_WAIT seconds) for a second in which the machine was nearly idle (under QUIET_BUSY %
# of one core).
wait_quiet() {
    if [ "$QUIET_WAIT" -le 0 ]; then
        return 0
    fi
    waited=0
    while :; do
        busy=$(busy_1s)
        if [ "$busy" -lt "$QUIET_BUSY" ]; then
            if [ $waited -gt 0 ]; then
                echo "   (waited ${waited}s for a quiet machine)"
            fi
            return 0
        fi
        waited=$((waited + 1))
        if [ $waited -ge "$QUIET_WAIT" ]; then
            echo "   warning: the machine is busy (${busy}% of one core); running anyway"
            return 0
        fi
    done
}

# wait_ports NAME PID DIR SECONDS: wait until the daemon PID has written DIR/ports (its
# ports_file); if it exits or takes longer, print DIR/log and exit 1 (the caller's trap stops it).
wait_ports() {
    i=0
    while [ ! -s "$3/ports" ]; do
        i=$((i + 1))
        if [ $i -gt $(($4 * 10)) ] || ! kill -0 "$2" 2>/dev/null; then
            echo "$1: the daemon did not start within $4 s; its log:" >&2
            cat "$3/log" >&2
            exit 1
        fi
        sleep 0.1
    done
}
