/* SPDX-License-Identifier: MIT */
/* The libevent event base of the calling thread (the main loop, or a serving loop of loops.h),
 * and a monotonic clock. */
#ifndef SB_CORE_LOOP_H
#define SB_CORE_LOOP_H

#include <stdbool.h>
#include <sys/time.h>

struct event_base;

/** loop_init() - create the calling thread's event base; 0 or -1. */
int loop_init(void);
struct event_base *loop_base(void);
/**
 * loop_run() - run the calling thread's loop until event_base_loopbreak()/loopexit() or until no
 * event is left, calling the turn-end hook after every turn (every batch of ready events), the
 * way Redis writes its replies "before sleep". Return: 0, or -1 if the loop failed.
 */
int loop_run(void);

/** loop_once() - one turn: run the events that are ready (waiting for some first if @wait), then
 * the turn-end hook. Return: as event_base_loop(). */
int loop_once(bool wait);

/** loop_set_turn_end() - the calling thread's turn-end hook (one; NULL for none). */
void loop_set_turn_end(void (*fn)(void));

/** loop_free() - free the event base (after every event on it is gone). */
void loop_free(void);
/** loop_raise_fd_limit() - raise the soft limit on open files to the hard limit. */
void loop_raise_fd_limit(void);
/** loop_now() - monotonic seconds, for rate limits and durations. */
double loop_now(void);
/** loop_tv() - seconds as a struct timeval for libevent timeouts. */
struct timeval loop_tv(double seconds);

#endif
