/* SPDX-License-Identifier: MIT */
/* sb who, sb send, sb listen: the chat system for scripts, without a terminal. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/node.h"
#include "cli/text.h"
#include "core/loop.h"
#include "core/mem.h"

struct app {
    struct cli_opts *o;
    struct node *n;
    int rc;
    bool serving; /* listen: online, so a signal means LEAVE and exit 0 */
    bool leaving;
    bool done;
    const char *target; /* who: one user; send: the recipient */
    char *text;         /* send: the message */
    size_t len;
    struct event *sig[2];
};

static void
finish(struct app *a, int rc, const char *msg)
{
    if (a->done) {
        return; /* the first outcome stands (node_free() fails what is still pending) */
    }
    a->done = true;
    if (msg) {
        cli_fail(rc, "%s", msg);
    }
    a->rc = rc;
    event_base_loopexit(loop_base(), NULL);
}

static void
on_fatal(void *arg, int code, const char *msg)
{
    finish(arg, code, msg);
}

static void
on_offline(void *arg, const char *why, double retry_in)
{
    fprintf(stderr, "sb: lost the directory (%s); reconnecting in %.0fs\n", why, retry_in);
}

/* Conversations come and go with every sender: only news about our presence is printed. */
static void
on_event(void *arg, bool conversation, const char *msg)
{
    if (!conversation) {
        fprintf(stderr, "sb: %s\n", msg);
    }
}

static void
on_message_ignored(void *arg, const char *from, const char *text, size_t n)
{
}

static void
on_message_print(void *arg, const char *from, const char *text, size_t n)
{
    char *safe = text_escape(text, n, false), *who = text_escape(from, strlen(from), false);

    printf("%s\t%s\n", who, safe);
    fflush(stdout);
    free(safe);
    free(who);
}

/* Run the loop until finish(); SIGINT and SIGTERM leave the directory first when bound. */
static void
left_cb(void *arg, int code, const char *msg, double rtt)
{
    finish(arg, EXIT_OK, NULL);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct app *a = arg;

    if (!a->serving) { /* who, send: interrupted before done */
        finish(a, 128 + (int)sig, "interrupted");
        return;
    }
    if (a->leaving) {
        finish(a, EXIT_OK, NULL); /* second signal: do not wait */
        return;
    }
    a->leaving = true;
    node_leave(a->n, left_cb, a);
}

static int
run(struct app *a, bool serve, const struct node_ops *ops)
{
    a->serving = serve;
    a->n = node_new(a->o, serve, ops, a);
    a->sig[0] = evsignal_new(loop_base(), SIGINT, signal_cb, a);
    a->sig[1] = evsignal_new(loop_base(), SIGTERM, signal_cb, a);
    evsignal_add(a->sig[0], NULL);
    evsignal_add(a->sig[1], NULL);
    node_start(a->n);
    loop_run();
    node_free(a->n);
    event_free(a->sig[0]);
    event_free(a->sig[1]);
    return a->rc;
}

/* ---- sb who --------------------------------------------------------------------------------- */

static void
who_done(void *arg, int code, const char *msg, const char *result, size_t n)
{
    struct eure_binding b;
    size_t pos = 0;

    while (code == EXIT_OK && eure_result_next(result, n, &pos, &b) == 1) {
        printf("%s\t%s\t%u\n", b.user, b.addr, b.port);
    }
    fflush(stdout);
    finish(arg, code, msg);
}

static void
who_online(void *arg, const char *where)
{
    struct app *a = arg;
    node_who(a->n, a->target, who_done, a);
}

int
cmd_who(struct cli_opts *o, int argc, char **argv)
{
    static const struct node_ops ops = {who_online, on_offline, on_fatal, on_message_ignored,
                                        on_event};
    struct app a = {.o = o, .target = argc ? argv[0] : NULL};

    return run(&a, false, &ops);
}

/* ---- sb send -------------------------------------------------------------------------------- */

static void
send_done(void *arg, int code, const char *msg, double rtt)
{
    finish(arg, code, msg);
}

static void
send_online(void *arg, const char *where)
{
    struct app *a = arg;
    node_send(a->n, a->target, a->text, a->len, send_done, a);
}

/* The message from standard input: at most CLI_MESSAGE_MAX bytes, one final newline dropped. */
static int
read_stdin(struct app *a)
{
    size_t cap = CLI_MESSAGE_MAX + 1;
    ssize_t r;

    a->text = xmalloc(cap);
    while (a->len < cap && (r = read(STDIN_FILENO, a->text + a->len, cap - a->len)) != 0) {
        if (r < 0) {
            return cli_fail(EXIT_USAGE, "cannot read the message from standard input");
        }
        a->len += (size_t)r;
    }
    if (a->len > CLI_MESSAGE_MAX) {
        return cli_fail(EXIT_USAGE, "the message is too long (%d bytes at most)", CLI_MESSAGE_MAX);
    }
    if (a->len > 0 && a->text[a->len - 1] == '\n') {
        a->len--;
    }
    return 0;
}

int
cmd_send(struct cli_opts *o, int argc, char **argv)
{
    static const struct node_ops ops = {send_online, on_offline, on_fatal, on_message_ignored,
                                        on_event};
    struct app a = {.o = o, .target = argv[0]};
    int rc;

    if (argc == 1) {
        if ((rc = read_stdin(&a)) != 0) {
            free(a.text);
            return rc;
        }
    } else {
        for (int i = 1; i < argc; i++) {
            a.len += strlen(argv[i]) + 1;
        }
        a.text = xmalloc(a.len);
        a.len = 0;
        for (int i = 1; i < argc; i++) {
            size_t k = strlen(argv[i]);
            if (i > 1) {
                a.text[a.len++] = ' ';
            }
            memcpy(a.text + a.len, argv[i], k);
            a.len += k;
        }
        if (a.len > CLI_MESSAGE_MAX) {
            free(a.text);
            return cli_fail(EXIT_USAGE, "the message is too long (%d bytes at most)",
                            CLI_MESSAGE_MAX);
        }
    }
    if (a.len == 0) {
        free(a.text);
        return cli_fail(EXIT_USAGE, "nothing to send: the message is empty");
    }
    rc = run(&a, false, &ops);
    free(a.text);
    return rc;
}

/* ---- sb listen ------------------------------------------------------------------------------ */

static void
listen_online(void *arg, const char *where)
{
    struct app *a = arg;

    fprintf(stderr, "sb: %s is online at %s\n", a->o->user, where);
}

int
cmd_listen(struct cli_opts *o, int argc, char **argv)
{
    static const struct node_ops ops = {listen_online, on_offline, on_fatal, on_message_print,
                                        on_event};
    struct app a = {.o = o};

    return run(&a, true, &ops);
}
