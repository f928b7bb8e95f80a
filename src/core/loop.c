/* SPDX-License-Identifier: MIT */
/* Owner of the event bases: the main one, and one per serving thread (loops.h). Each thread sees
 * its own through loop_base(). */
#include "core/loop.h"

#include <event2/event.h>
#include <sys/resource.h>
#include <time.h>

#include "core/log.h"

static _Thread_local struct event_base *base;
static _Thread_local void (*turn_end)(void);

int
loop_init(void)
{
    struct event_config *ec = event_config_new();

    /* Read the clock for every timeout instead of once per loop turn: after a slow callback
     * (a database write waiting for a lock) a cached time would arm timers in the past. */
    event_config_set_flag(ec, EVENT_BASE_FLAG_NO_CACHE_TIME);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (base == NULL) {
        log_error("cannot create the event loop");
        return -1;
    }
    return 0;
}

struct event_base *
loop_base(void)
{
    return base;
}

void
loop_set_turn_end(void (*fn)(void))
{
    turn_end = fn;
}

int
loop_once(bool wait)
{
    /* EVLOOP_ONCE: wait for events, run every callback that became ready (and whatever they made
     * ready in turn), return. */
    int r = event_base_loop(base, wait ? EVLOOP_ONCE : EVLOOP_NONBLOCK);

    if (turn_end) {
        turn_end();
    }
    return r;
}

int
loop_run(void)
{
    for (;;) {
        int r = loop_once(true);
        if (r < 0) {
            return -1;
        }
        if (r == 1 || event_base_got_break(base) || event_base_got_exit(base)) {
            return 0;
        }
    }
}

void
loop_free(void)
{
    if (base != NULL) {
        event_base_free(base);
        base = NULL;
    }
}

double
loop_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct timeval
loop_tv(double seconds)
{
    struct timeval tv;
    if (seconds < 0) {
        seconds = 0;
    }
    tv.tv_sec = (time_t)seconds;
    tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
    return tv;
}

void
loop_raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}
