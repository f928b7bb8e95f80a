/* SPDX-License-Identifier: MIT */
/*
 * Serving loops: extra event loops, one per thread, for endpoints whose sessions may run in
 * parallel because the state they share is read-only while they run (endpoint.spread). The main
 * loop keeps accepting and hands each admitted socket to the next serving loop in turn; that loop
 * owns the session until it closes. loops_sync() tells when every serving loop has finished what
 * it was doing, which is when data the sessions were reading may be freed.
 */
#ifndef SB_CORE_LOOPS_H
#define SB_CORE_LOOPS_H

#include <stdbool.h>
#include <sys/socket.h>

struct endpoint;

/**
 * loops_start() - start @n serving loops (0: one per online CPU). Only the first call starts
 * them; later calls return the count already running.
 * Return: the number of serving loops, or 0 if none could be started (logged).
 */
unsigned loops_start(unsigned n);

/** loops_running() - are serving loops running? */
bool loops_running(void);

/** loops_count() - how many serving loops run (0 if none). */
unsigned loops_count(void);

/**
 * loops_hand() - give the accepted, admitted and counted socket @fd to the next serving loop,
 * which calls conn_adopt(). Main loop only. If that loop cannot take it, the socket is closed
 * and the count undone (logged).
 */
void loops_hand(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len);

/** typedef loops_sync_fn - runs on the main loop. */
typedef void (*loops_sync_fn)(void *arg);

/**
 * loops_sync() - call @fn(@arg) on the main loop once every serving loop has finished the
 * callback it was running when loops_sync() was called (a grace period: a pointer swapped out
 * before the call is no longer in use by then). Without serving loops, @fn runs before
 * loops_sync() returns. Main loop only.
 */
void loops_sync(loops_sync_fn fn, void *arg);

/**
 * loops_stop() - close every session of the serving loops (their on_close runs on their own
 * thread), stop and join the threads, then run the loops_sync() callbacks still owed. Main
 * thread only; does nothing if no loop runs.
 */
void loops_stop(void);

#endif
