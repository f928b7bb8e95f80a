/* SPDX-License-Identifier: MIT */
/*
 * Counting events per source address in a fixed time window (failed logins, say), in a table of
 * fixed size: an attacker rotating addresses evicts old entries instead of growing memory.
 * IPv6 addresses are counted per /64, since one host usually owns a whole /64. An optional tag
 * (an account name, say) counts separately per address and tag; tags compare ignoring ASCII
 * case and only their first RATELIMIT_TAG_MAX bytes count.
 */
#ifndef SB_CORE_RATELIMIT_H
#define SB_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define RATELIMIT_TAG_MAX 32

struct ratelimit;

/** ratelimit_new() - at most @max events per @window seconds per address; @slots entries. */
struct ratelimit *ratelimit_new(unsigned max, double window, size_t slots);
void ratelimit_free(struct ratelimit *rl);
/** ratelimit_blocked() - has @sa (with @tag, which may be NULL) used up its events in the
 * current window? */
bool ratelimit_blocked(struct ratelimit *rl, const struct sockaddr *sa, const char *tag,
                       double now);
/** ratelimit_hit() - count one event for @sa. */
void ratelimit_hit(struct ratelimit *rl, const struct sockaddr *sa, const char *tag, double now);
/** ratelimit_undo() - take back one event counted by ratelimit_hit() (an attempt that turned out
 * well), if the window it was counted in is still current. */
void ratelimit_undo(struct ratelimit *rl, const struct sockaddr *sa, const char *tag, double now);

#endif
