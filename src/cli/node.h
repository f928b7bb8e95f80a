/* SPDX-License-Identifier: MIT */
/*
 * A chat node: logged in to the directory and, when serving, reachable by peers: it listens,
 * BINDs its address, keeps the binding alive and answers PING. Messages go straight to peers
 * (MESSAGE, then PING: the PONG proves delivery); a conversation stays open and is reused in both
 * directions, as in the seed.
 */
#ifndef SB_CLI_NODE_H
#define SB_CLI_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

struct node;

struct node_ops {
    /** online() - logged in and, when serving, bound at @where ("127.0.0.1:4000"); again after
     * the directory came back. @where is NULL when not serving. */
    void (*online)(void *arg, const char *where);
    /** offline() - the directory connection is lost; retrying in @retry_in seconds. */
    void (*offline)(void *arg, const char *why, double retry_in);
    /** fatal() - cannot go on: an EXIT_* code and a message. */
    void (*fatal)(void *arg, int code, const char *msg);
    /** message() - a peer sent us a message (@text is raw bytes from the network). */
    void (*message)(void *arg, const char *from, const char *text, size_t n);
    /** event() - something worth telling: about a conversation (@conversation: "conversation
     * with bob ended ..."), or about our presence ("the directory had dropped our binding"). */
    void (*event)(void *arg, bool conversation, const char *msg);
};

/* The outcome of a send, ping or leave: EXIT_OK, or an EXIT_* code and a message. @rtt is the
 * round-trip time in seconds for a ping. May run before the request function returns. */
typedef void (*node_done_cb)(void *arg, int code, const char *msg, double rtt);
/* @result, @n: on EXIT_OK, a RESULT payload whose every line is valid: walk it with
 * eure_result_next(). */
typedef void (*node_who_cb)(void *arg, int code, const char *msg, const char *result, size_t n);

struct node *node_new(const struct cli_opts *o, bool serve, const struct node_ops *ops, void *arg);
void node_start(struct node *n);
/** node_who() - who is online (everyone when @user is NULL). */
void node_who(struct node *n, const char *user, node_who_cb cb, void *arg);
/** node_send() - deliver @text to @user; done when the peer confirmed it. */
void node_send(struct node *n, const char *user, const char *text, size_t len, node_done_cb cb,
               void *arg);
/** node_ping() - PING @user over the conversation (opened if needed). */
void node_ping(struct node *n, const char *user, node_done_cb cb, void *arg);
/** node_leave() - LEAVE the directory (when serving and logged in: a BIND in flight is undone
 * too, since the directory answers in order). */
void node_leave(struct node *n, node_done_cb cb, void *arg);
void node_free(struct node *n);

#endif
