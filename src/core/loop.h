/* SPDX-License-Identifier: MIT */
/* The libevent event base of the calling thread (the main loop, or a serving loop of loops.h),
 * and a monotonic clock. */
#ifndef SB_CORE_LOOP_H
#define SB_CORE_LOOP_H

#include <sys/time.h>

struct event_base;

/** loop_init() - create the calling thread's event base; 0 or -1. */
int loop_init(void);
struct event_base *loop_base(void);
/** loop_free() - free the event base (after every event on it is gone). */
void loop_free(void);
/** loop_raise_fd_limit() - raise the soft limit on open files to the hard limit. */
void loop_raise_fd_limit(void);
/** loop_now() - monotonic seconds, for rate limits and durations. */
double loop_now(void);
/** loop_tv() - seconds as a struct timeval for libevent timeouts. */
struct timeval loop_tv(double seconds);

#endif
