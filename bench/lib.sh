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
