/* SPDX-License-Identifier: MIT */
#include "cli/dirc.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/eurechat.h"

#include "cli/text.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/mem.h"

#define DIRC_REPLY_MAX (16u << 20) /* a QUERY of everyone may be large */
#define DIRC_STABLE 10.0           /* seconds up before the backoff starts again from 1 s */
#define DIRC_TEXT_MAX 400          /* bytes of an ERR reason shown */
#define DIRC_BACKOFF_FIRST 1.0
#define DIRC_BACKOFF_MAX 30.0

enum dirc_state { D_IDLE, D_CONNECTING, D_LOGIN, D_READY, D_WAIT, D_DONE };

struct pending {
    dirc_reply_cb cb;
    void *arg;
    double sent;
    struct pending *next;
};

struct dirc {
    const struct cli_opts *o;
    const struct dirc_ops *ops;
    void *arg;
    bool reconnect;
    bool was_ready; /* logged in at least once: losing the connection is then not fatal */
    enum dirc_state state;
    size_t addr_i; /* address being tried */
    double backoff;
    struct session *s;
    double up_since; /* when the current connection was established */
    struct pending *head, *tail;
    struct event *timer; /* retry, or the oldest request's deadline */
};

static enum sess_verdict dirc_on_open(struct session *s);
static enum sess_verdict dirc_on_frame(struct session *s, const char *p, size_t n);
static void dirc_on_close(struct session *s);

static const struct sess_ops dirc_sess_ops = {
    .framing = FRAME_LENGTH,
    .on_open = dirc_on_open,
    .on_frame = dirc_on_frame,
    .on_close = dirc_on_close,
};

/* Outlives every dirc: a session being freed after dirc_free() still counts itself here. */
static struct endpoint dirc_ep = {
    .name = "directory",
    .ops = &dirc_sess_ops,
    .frame_limit = DIRC_REPLY_MAX,
    .max_output = 1u << 20,
    .max_clients = 1,
    .idle_timeout = 0, /* requests have their own deadline */
};

char *
dirc_reply_text(const struct frame *f)
{
    return text_escape(f->payload.p, f->payload.n < DIRC_TEXT_MAX ? f->payload.n : DIRC_TEXT_MAX,
                       false);
}

static void fail(struct dirc *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct dirc *d, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->state = D_DONE;
    evtimer_del(d->timer);
    d->ops->failed(d->arg, code, msg);
}

static void
arm_deadline(struct dirc *d)
{
    if (d->state == D_WAIT) {
        return;
    }
    evtimer_del(d->timer);
    if (d->head) {
        double left = d->head->sent + d->o->timeout - loop_now();
        struct timeval tv = loop_tv(left > 0 ? left : 0);
        evtimer_add(d->timer, &tv);
    }
}

static void
push(struct dirc *d, dirc_reply_cb cb, void *arg)
{
    struct pending *p = xcalloc(1, sizeof(*p));

    p->cb = cb;
    p->arg = arg;
    p->sent = loop_now();
    if (d->tail) {
        d->tail->next = p;
    } else {
        d->head = p;
    }
    d->tail = p;
    if (d->head == p) {
        arm_deadline(d);
    }
}

static struct pending *
pop(struct dirc *d)
{
    struct pending *p = d->head;

    if (p) {
        d->head = p->next;
        if (d->head == NULL) {
            d->tail = NULL;
        }
    }
    return p;
}

static int
send_frame(struct dirc *d, const char *type, const char *const *args, size_t nargs)
{
    char head[FRAME_HEADER_MAX];
    int n = frame_header(head, sizeof(head), type, args, nargs, 0);

    if (n < 0) {
        return -1;
    }
    return sess_send(d->s, head, (size_t)n);
}

static void
connect_now(struct dirc *d)
{
    d->state = D_CONNECTING;
    d->s = conn_connect(&dirc_ep, (const struct sockaddr *)&d->o->dir_addr[d->addr_i],
                        d->o->dir_len[d->addr_i], d->o->timeout, d);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dirc *d = arg;

    if (d->state == D_WAIT) {
        d->addr_i = 0;
        connect_now(d);
        return;
    }
    /* The oldest request is overdue: the directory is not answering. */
    if (d->s) {
        snprintf(d->s->end, sizeof(d->s->end), "no answer within %.0fs", d->o->timeout);
        sess_abort(d->s);
    }
}

struct dirc *
dirc_new(const struct cli_opts *o, bool reconnect, const struct dirc_ops *ops, void *arg)
{
    struct dirc *d = xcalloc(1, sizeof(*d));

    d->o = o;
    d->ops = ops;
    d->arg = arg;
    d->reconnect = reconnect;
    d->backoff = DIRC_BACKOFF_FIRST;
    d->timer = evtimer_new(loop_base(), timer_cb, d);
    dirc_ep.write_timeout = o->timeout;
    return d;
}

void
dirc_start(struct dirc *d)
{
    d->addr_i = 0;
    connect_now(d);
}

bool
dirc_ready(const struct dirc *d)
{
    return d->state == D_READY;
}

bool
dirc_local(const struct dirc *d, struct sockaddr_storage *ss, socklen_t *len)
{
    return d->s && sess_local(d->s, ss, len);
}

int
dirc_request(struct dirc *d, const char *type, const char *const *args, size_t nargs,
             dirc_reply_cb cb, void *arg)
{
    if (d->state != D_READY || d->s == NULL || send_frame(d, type, args, nargs) < 0) {
        return -1;
    }
    push(d, cb, arg);
    return 0;
}

static void
login_user_cb(void *arg, const struct frame *f)
{
    struct dirc *d = arg;

    if (f && !str_eq(f->type, EURE_T_ACK)) {
        char *why = dirc_reply_text(f);
        fail(d, EXIT_AUTH, "authentication failed as %s: %s", d->o->user, why);
        free(why);
    }
}

static void
login_pass_cb(void *arg, const struct frame *f)
{
    struct dirc *d = arg;

    if (f == NULL || d->state != D_LOGIN) {
        return; /* lost (reported by on_close), or USER already failed */
    }
    if (!str_eq(f->type, EURE_T_ACK)) {
        char *why = dirc_reply_text(f);
        fail(d, EXIT_AUTH, "authentication failed as %s: %s", d->o->user, why);
        free(why);
        return;
    }
    d->state = D_READY;
    d->was_ready = true;
    d->ops->ready(d->arg);
}

static enum sess_verdict
dirc_on_open(struct session *s)
{
    struct dirc *d = s->priv;
    const char *user[] = {d->o->user};
    const char *pass[] = {d->o->password};

    d->state = D_LOGIN;
    d->up_since = loop_now();
    if (send_frame(d, EURE_T_USER, user, 1) < 0 || send_frame(d, EURE_T_PASS, pass, 1) < 0) {
        fail(d, EXIT_USAGE, "cannot send the user name and password (not valid as one word)");
        return SESS_CLOSE;
    }
    push(d, login_user_cb, d);
    push(d, login_pass_cb, d);
    return SESS_OK;
}

static enum sess_verdict
dirc_on_frame(struct session *s, const char *p, size_t n)
{
    struct dirc *d = s->priv;
    struct frame f;
    const char *why;
    struct pending *q;

    if (frame_parse(p, n, DIRC_REPLY_MAX, &f, &why) != PARSE_OK || (q = pop(d)) == NULL) {
        snprintf(s->end, sizeof(s->end), "unexpected data from the directory");
        return SESS_CLOSE;
    }
    arm_deadline(d);
    q->cb(q->arg, &f);
    free(q);
    return d->state == D_DONE ? SESS_CLOSE : SESS_OK;
}

static void
fail_pending(struct dirc *d)
{
    struct pending *q;

    while ((q = pop(d)) != NULL) {
        q->cb(q->arg, NULL);
        free(q);
    }
}

static void
dirc_on_close(struct session *s)
{
    struct dirc *d = s->priv;
    bool established = s->established;
    char why[sizeof(s->end)];

    memcpy(why, s->end, sizeof(why));
    if (d == NULL) {
        return; /* dirc_free() */
    }
    if (d->s == s) {
        d->s = NULL;
    }
    enum dirc_state was = d->state;
    if (was == D_DONE) {
        fail_pending(d);
        return;
    }
    d->state = D_WAIT;
    evtimer_del(d->timer);
    fail_pending(d);
    if (d->state != D_WAIT) {
        return; /* a callback gave up */
    }
    if (!established && d->addr_i + 1 < d->o->ndir) {
        d->addr_i++; /* try the directory's next address */
        connect_now(d);
        return;
    }
    if (!d->reconnect || !d->was_ready) {
        if (!established) {
            fail(d, EXIT_DIRECTORY, "cannot reach the directory at %s: %s", d->o->directory, why);
        } else {
            fail(d, EXIT_DIRECTORY, "lost the directory at %s: %s", d->o->directory, why);
        }
        return;
    }
    if (established && loop_now() - d->up_since >= DIRC_STABLE) {
        d->backoff = DIRC_BACKOFF_FIRST; /* it worked for a while: a new outage */
    }
    struct timeval tv = loop_tv(d->backoff);
    double retry = d->backoff;
    d->backoff = d->backoff * 2 > DIRC_BACKOFF_MAX ? DIRC_BACKOFF_MAX : d->backoff * 2;
    evtimer_add(d->timer, &tv);
    d->ops->lost(d->arg, why, retry);
}

void
dirc_free(struct dirc *d)
{
    struct pending *q;

    if (d == NULL) {
        return;
    }
    if (d->s) {
        d->s->priv = NULL;
        sess_abort(d->s);
    }
    while ((q = pop(d)) != NULL) {
        free(q);
    }
    event_free(d->timer);
    free(d);
}
