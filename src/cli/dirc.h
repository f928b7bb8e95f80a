/* SPDX-License-Identifier: MIT */
/*
 * The client side of the directory protocol: one connection, logged in with USER and PASS, then
 * requests answered in order (BIND, QUERY, LEAVE). Optionally reconnects with backoff when the
 * connection is lost after a successful login (the directory restarted).
 */
#ifndef SB_CLI_DIRC_H
#define SB_CLI_DIRC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "proto/frame.h"

struct dirc;

/* The answer to one request, or NULL if the connection was lost (or timed out) before it. */
typedef void (*dirc_reply_cb)(void *arg, const struct frame *reply);

struct dirc_ops {
    /** ready() - logged in (again, after a reconnection). */
    void (*ready)(void *arg);
    /** lost() - the connection is gone; the next attempt is in @retry_in seconds. */
    void (*lost)(void *arg, const char *why, double retry_in);
    /** failed() - giving up: an EXIT_* code and a message for the user. */
    void (*failed)(void *arg, int code, const char *msg);
};

struct dirc *dirc_new(const struct cli_opts *o, bool reconnect, const struct dirc_ops *ops,
                      void *arg);
void dirc_start(struct dirc *d);
bool dirc_ready(const struct dirc *d);

/**
 * dirc_request() - send one request; @cb gets its answer, in order. Only when ready.
 * Return: 0, or -1 if not ready (then @cb is not called).
 */
int dirc_request(struct dirc *d, const char *type, const char *const *args, size_t nargs,
                 dirc_reply_cb cb, void *arg);

/** dirc_local() - our address on the directory connection (what the directory sees, without
 * NAT). */
bool dirc_local(const struct dirc *d, struct sockaddr_storage *ss, socklen_t *len);

/** dirc_free() - close without calling anything back. */
void dirc_free(struct dirc *d);

/** dirc_reply_text() - the payload of @f as a printable, escaped string (free() it). */
char *dirc_reply_text(const struct frame *f);

#endif
