/* SPDX-License-Identifier: MIT */
/*
 * Outbound probes without blocking the loop: connect to a numeric address within a deadline,
 * optionally send a request and wait for one framed reply. Used by services that must check
 * that a peer listens (the directory's BIND check and its checker). No DNS: addresses are numeric.
 */
#ifndef SB_CORE_DIAL_H
#define SB_CORE_DIAL_H

#include <stddef.h>
#include <sys/socket.h>

#include "core/framing.h"

enum dial_result {
    DIAL_OK,        /* connected (and, with a request, a complete reply frame arrived) */
    DIAL_REFUSED,   /* connection refused or unreachable */
    DIAL_TIMEOUT,   /* the deadline passed */
    DIAL_CLOSED,    /* the peer closed before replying */
    DIAL_BAD_REPLY, /* the reply could not be framed */
    DIAL_ERROR,     /* any other socket error */
};

/**
 * typedef dial_cb - the probe's outcome, called exactly once unless dial_cancel() came first.
 * @frame, @n: with DIAL_OK and a request, the reply frame (valid during the call only).
 */
typedef void (*dial_cb)(void *arg, enum dial_result r, const char *frame, size_t n);

struct dial;

/**
 * dial_start() - begin a probe of @sa. @req (may be NULL) is copied. The probe frees itself
 * after calling @cb, which never runs from inside dial_start().
 * Return: the probe, or NULL if it could not even be set up (then @cb is not called).
 */
struct dial *dial_start(const struct sockaddr *sa, socklen_t len, double timeout, const void *req,
                        size_t reqlen, enum framing reply_framing, size_t reply_limit, dial_cb cb,
                        void *arg);

/** dial_cancel() - abandon a probe; its callback will not run. */
void dial_cancel(struct dial *d);

/** dial_result_str() - a short description for logs. */
const char *dial_result_str(enum dial_result r);

#endif
