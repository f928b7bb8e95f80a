/* SPDX-License-Identifier: MIT */
#include "cli/node.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/dirc.h"
#include "cli/text.h"
#include "core/addr.h"
#include "core/conn.h"
#include "core/listener.h"
#include "core/loop.h"
#include "core/mem.h"
#include "proto/frame.h"

#define NODE_KEEPALIVE 60.0 /* seconds between checks that our binding is still there */
#define NODE_PEERS_MAX 256  /* peer connections at once */
#define NODE_PEER_IDLE 3600.0

struct conv;

/* A message or ping on its way: waiting for the lookup, then for its PONG. */
struct job {
    char *text; /* the message until it is written; NULL for a ping */
    size_t len;
    bool is_ping;
    bool written;
    double start;
    node_done_cb cb;
    void *arg;
    struct job *next;
};

/* A conversation with one user, over one connection (theirs or ours). */
struct conv {
    struct node *n;
    char name[EURE_NAME_MAX + 1];
    char where[ADDR_STR_MAX];
    struct session *s; /* NULL while the user is looked up */
    bool looking_up;   /* a QUERY for this user is pending (it holds a pointer to us) */
    bool used;         /* a message went one way or the other */
    struct job *head, *tail;
    struct event *deadline;
    struct conv *prev, *next;
};

/* Per peer connection. */
struct psess {
    struct node *n;
    struct conv *cv;                /* the conversation this connection carries, if any */
    char sender[EURE_NAME_MAX + 1]; /* the name in its first MESSAGE */
};

struct node {
    const struct cli_opts *o;
    const struct node_ops *ops;
    void *arg;
    bool serve;
    bool bound;
    bool was_bound; /* a BIND succeeded once: later refusals are not fatal */
    struct dirc *dir;
    struct listener_set *ls;
    struct sockaddr_storage adv; /* what we BIND */
    socklen_t adv_len;
    char adv_addr[64], adv_port[8];
    struct event *keepalive;
    struct conv *convs;
};

static enum sess_verdict peer_on_open(struct session *s);
static enum sess_verdict peer_on_frame(struct session *s, const char *p, size_t n);
static void peer_on_frame_error(struct session *s, const char *why);
static void peer_on_close(struct session *s);

static const struct sess_ops peer_ops = {
    .framing = FRAME_LENGTH,
    .on_open = peer_on_open,
    .on_frame = peer_on_frame,
    .on_frame_error = peer_on_frame_error,
    .on_close = peer_on_close,
};

static struct endpoint peer_ep = {
    .name = "peer",
    .ops = &peer_ops,
    .frame_limit = CLI_MESSAGE_MAX,
    .max_output = 1u << 20,
    .max_clients = NODE_PEERS_MAX,
    .idle_timeout = NODE_PEER_IDLE,
    .write_timeout = 60,
};

/* ---- helpers ------------------------------------------------------------------------------ */

static void notify(struct node *n, bool conversation, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
notify(struct node *n, bool conversation, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    n->ops->event(n->arg, conversation, msg);
}

static void
send_err(struct session *s, const char *text)
{
    char head[64];
    int hl = frame_header(head, sizeof(head), EURE_T_ERR, NULL, 0, strlen(text));

    if (hl > 0) {
        sess_send(s, head, (size_t)hl);
        sess_send(s, text, strlen(text));
    }
}

static struct conv *
conv_find(struct node *n, const char *name)
{
    for (struct conv *cv = n->convs; cv; cv = cv->next) {
        if (strcasecmp(cv->name, name) == 0) {
            return cv;
        }
    }
    return NULL;
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg);

static struct conv *
conv_new(struct node *n, const char *name)
{
    struct conv *cv = xcalloc(1, sizeof(*cv));

    cv->n = n;
    snprintf(cv->name, sizeof(cv->name), "%s", name);
    cv->deadline = evtimer_new(loop_base(), deadline_cb, cv);
    cv->next = n->convs;
    if (n->convs) {
        n->convs->prev = cv;
    }
    n->convs = cv;
    return cv;
}

static void
arm(struct conv *cv)
{
    evtimer_del(cv->deadline);
    if (cv->head) {
        double left = cv->head->start + cv->n->o->timeout - loop_now();
        struct timeval tv = loop_tv(left > 0 ? left : 0);
        evtimer_add(cv->deadline, &tv);
    }
}

static struct job *
job_pop(struct conv *cv)
{
    struct job *j = cv->head;

    if (j) {
        cv->head = j->next;
        if (cv->head == NULL) {
            cv->tail = NULL;
        }
    }
    return j;
}

static void
job_finish(struct job *j, int code, const char *msg, double rtt)
{
    j->cb(j->arg, code, msg, rtt);
    free(j->text);
    free(j);
}

/* Fail every job of @cv; callbacks may start new jobs, on other conversations only. */
static void conv_fail_jobs(struct conv *cv, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conv_fail_jobs(struct conv *cv, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    struct job *j;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    evtimer_del(cv->deadline);
    while ((j = job_pop(cv)) != NULL) {
        job_finish(j, code, msg, 0);
    }
}

/* Unlink and free @cv; its session (if any) no longer points at it. */
static void
conv_free(struct conv *cv)
{
    struct job *j;

    if (cv->s) {
        struct psess *ps = cv->s->priv;
        if (ps) {
            ps->cv = NULL;
        }
    }
    while ((j = job_pop(cv)) != NULL) {
        free(j->text);
        free(j);
    }
    if (cv->prev) {
        cv->prev->next = cv->next;
    } else {
        cv->n->convs = cv->next;
    }
    if (cv->next) {
        cv->next->prev = cv->prev;
    }
    event_free(cv->deadline);
    free(cv);
}

/* Write a job to the conversation's connection: MESSAGE (if any) then PING. */
static void
job_write(struct conv *cv, struct job *j)
{
    char head[FRAME_HEADER_MAX];
    const char *args[] = {cv->n->o->user};

    if (!j->is_ping) {
        /* Cannot fail: the user name was checked at start-up, the length is bounded. */
        int hl = frame_header(head, sizeof(head), EURE_T_MESSAGE, args, 1, j->len);
        sess_send(cv->s, head, hl > 0 ? (size_t)hl : 0);
        sess_send(cv->s, j->text, j->len);
        free(j->text);
        j->text = NULL;
        cv->used = true;
    }
    sess_send(cv->s, EURE_PING_FRAME, strlen(EURE_PING_FRAME));
    j->written = true;
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conv *cv = arg;
    struct session *s = cv->s;

    conv_fail_jobs(cv, EXIT_PEER, "%s%s%s did not answer within %.0fs", cv->name,
                   cv->where[0] ? " at " : "", cv->where, cv->n->o->timeout);
    if (cv->looking_up) {
        return; /* lookup_cb() frees it */
    }
    conv_free(cv);
    if (s) {
        sess_abort(s);
    }
}

/* ---- peer connections ----------------------------------------------------------------------- */

static enum sess_verdict
peer_on_open(struct session *s)
{
    if (s->priv == NULL) { /* accepted */
        struct psess *ps = xcalloc(1, sizeof(*ps));
        ps->n = peer_ep.owner;
        s->priv = ps;
    }
    return SESS_OK;
}

static void
peer_on_frame_error(struct session *s, const char *why)
{
    send_err(s, why);
}

/* This connection ends: replies to its user must not wait for it, nor fail in it. */
static void
conv_detach(struct psess *ps)
{
    if (ps->cv) {
        conv_fail_jobs(ps->cv, EXIT_PEER, "%s at %s: the conversation broke off", ps->cv->name,
                       ps->cv->where);
        ps->cv->s = NULL;
        conv_free(ps->cv); /* clears ps->cv */
        ps->cv = NULL;
    }
}

static enum sess_verdict
on_message(struct session *s, struct psess *ps, const struct frame *f)
{
    struct node *n = ps->n;
    char from[EURE_NAME_MAX + 1];

    if (f->nargs != 1 || !eure_name_valid(f->args[0].p, f->args[0].n)) {
        send_err(s, "a 'MESSAGE <sender>' with a valid sender name was expected");
        conv_detach(ps);
        return SESS_CLOSE;
    }
    memcpy(from, f->args[0].p, f->args[0].n);
    from[f->args[0].n] = '\0';
    if (ps->sender[0] == '\0') {
        memcpy(ps->sender, from, sizeof(from));
    } else if (strcasecmp(ps->sender, from) != 0) {
        send_err(s, "the sender of a conversation cannot change");
        conv_detach(ps);
        return SESS_CLOSE;
    }
    if (ps->cv == NULL) {
        struct conv *cv = conv_find(n, from);
        if (cv == NULL) { /* replies to this user go back over this connection */
            cv = conv_new(n, from);
            cv->s = s;
            snprintf(cv->where, sizeof(cv->where), "%s", s->peer_str);
            ps->cv = cv;
        }
        cv->used = true;
    } else {
        ps->cv->used = true;
    }
    n->ops->message(n->arg, from, f->payload.p, f->payload.n);
    return SESS_OK;
}

static enum sess_verdict
peer_on_frame(struct session *s, const char *p, size_t len)
{
    struct psess *ps = s->priv;
    struct frame f;
    const char *why;
    char text[96];

    if (frame_parse(p, len, CLI_MESSAGE_MAX, &f, &why) != PARSE_OK) {
        send_err(s, why);
        conv_detach(ps);
        return SESS_CLOSE;
    }
    if (str_eq(f.type, EURE_T_MESSAGE)) {
        return on_message(s, ps, &f);
    }
    if (str_eq(f.type, EURE_T_PING)) {
        sess_send(s, EURE_PONG_FRAME, strlen(EURE_PONG_FRAME));
        return SESS_OK;
    }
    if (str_eq(f.type, EURE_T_PONG)) {
        struct conv *cv = ps->cv;
        if (cv && cv->head && cv->head->written) {
            struct job *j = job_pop(cv);
            arm(cv);
            job_finish(j, EXIT_OK, NULL, loop_now() - j->start);
        }
        return SESS_OK; /* an unasked PONG is harmless */
    }
    if (str_eq(f.type, EURE_T_ERR) && ps->cv) {
        char *reason = text_escape(f.payload.p, f.payload.n, false);
        struct conv *cv = ps->cv;
        if (cv->head) {
            conv_fail_jobs(cv, EXIT_PEER, "%s at %s refused: %s", cv->name, cv->where, reason);
        } else {
            notify(ps->n, true, "%s says: ERR %s", cv->name, reason);
        }
        free(reason);
        return SESS_CLOSE;
    }
    snprintf(text, sizeof(text), "I did not understand the message %.*s", (int)f.type.n, f.type.p);
    send_err(s, text);
    return SESS_CLOSE;
}

static void
peer_on_close(struct session *s)
{
    struct psess *ps = s->priv;
    struct conv *cv = ps ? ps->cv : NULL;

    if (cv && cv->s == s) {
        struct node *n = cv->n;
        if (!s->established) {
            conv_fail_jobs(cv, EXIT_PEER, "cannot deliver to %s at %s: %s", cv->name, cv->where,
                           s->end);
        } else if (cv->head) {
            conv_fail_jobs(cv, EXIT_PEER, "%s at %s went away before confirming: %s", cv->name,
                           cv->where, s->end);
        } else if (cv->used) {
            notify(n, true, "conversation with %s ended (%s)", cv->name, s->end);
        }
        cv->s = NULL;
        conv_free(cv);
    }
    free(ps);
}

/* ---- lookups -------------------------------------------------------------------------------- */

static void
lookup_cb(void *arg, const struct frame *f)
{
    struct conv *cv = arg;
    struct eure_binding b;
    size_t pos = 0;
    struct sockaddr_storage ss;
    socklen_t len;
    int r;

    cv->looking_up = false;
    if (cv->head == NULL) { /* every job timed out meanwhile */
        conv_free(cv);
        return;
    }
    if (f == NULL) {
        conv_fail_jobs(cv, EXIT_DIRECTORY, "lost the directory while looking %s up", cv->name);
        conv_free(cv);
        return;
    }
    if (!str_eq(f->type, EURE_T_RESULT) ||
        (r = eure_result_next(f->payload.p, f->payload.n, &pos, &b)) < 0) {
        conv_fail_jobs(cv, EXIT_DIRECTORY, "the directory gave a malformed answer about %s",
                       cv->name);
        conv_free(cv);
        return;
    }
    if (r == 0) {
        conv_fail_jobs(cv, EXIT_NO_USER, "%s is not in the directory", cv->name);
        conv_free(cv);
        return;
    }
    if (!addr_parse_ip(b.addr, (long)b.port, &ss, &len)) {
        conv_fail_jobs(cv, EXIT_DIRECTORY, "the directory gave an unusable address for %s",
                       cv->name);
        conv_free(cv);
        return;
    }
    snprintf(cv->name, sizeof(cv->name), "%s", b.user); /* the directory's spelling */
    addr_format((struct sockaddr *)&ss, len, cv->where, sizeof(cv->where));
    struct psess *ps = xcalloc(1, sizeof(*ps));
    ps->n = cv->n;
    ps->cv = cv;
    cv->s = conn_connect(&peer_ep, (struct sockaddr *)&ss, len, cv->n->o->timeout, ps);
    for (struct job *j = cv->head; j; j = j->next) {
        job_write(cv, j);
    }
}

/* Queue a job for @user, opening the conversation if there is none. */
static void
submit(struct node *n, const char *user, struct job *j)
{
    struct conv *cv = conv_find(n, user);

    j->start = loop_now();
    if (cv == NULL) {
        const char *args[] = {user};
        if (!dirc_ready(n->dir)) {
            job_finish(j, EXIT_DIRECTORY, "not connected to the directory", 0);
            return;
        }
        if (!eure_name_valid(user, strlen(user))) {
            job_finish(j, EXIT_USAGE, "not a valid user name", 0);
            return;
        }
        cv = conv_new(n, user);
        if (dirc_request(n->dir, EURE_T_QUERY, args, 1, lookup_cb, cv) < 0) {
            conv_free(cv);
            job_finish(j, EXIT_DIRECTORY, "not connected to the directory", 0);
            return;
        }
        cv->looking_up = true;
    }
    if (cv->tail) {
        cv->tail->next = j;
    } else {
        cv->head = j;
    }
    cv->tail = j;
    if (cv->s) {
        job_write(cv, j);
    }
    if (cv->head == j) {
        arm(cv);
    }
}

void
node_send(struct node *n, const char *user, const char *text, size_t len, node_done_cb cb,
          void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->cb = cb;
    j->arg = arg;
    if (len > CLI_MESSAGE_MAX) {
        job_finish(j, EXIT_USAGE, "the message is too long (65536 bytes at most)", 0);
        return;
    }
    j->text = xmalloc(len ? len : 1);
    memcpy(j->text, text, len);
    j->len = len;
    submit(n, user, j);
}

void
node_ping(struct node *n, const char *user, node_done_cb cb, void *arg)
{
    struct job *j = xcalloc(1, sizeof(*j));

    j->cb = cb;
    j->arg = arg;
    j->is_ping = true;
    submit(n, user, j);
}

/* ---- the directory side --------------------------------------------------------------------- */

struct who_req {
    node_who_cb cb;
    void *arg;
    bool one;
    char user[EURE_NAME_MAX + 1];
};

static void
who_cb(void *arg, const struct frame *f)
{
    struct who_req *w = arg;
    struct eure_binding b;
    size_t pos = 0, count = 0;
    int r = 0;

    if (f == NULL) {
        w->cb(w->arg, EXIT_DIRECTORY, "lost the directory before it answered", NULL, 0);
        free(w);
        return;
    }
    if (!str_eq(f->type, EURE_T_RESULT)) {
        r = -1;
    }
    /* Validate every line first; callers then walk the payload without copying it. */
    while (r >= 0 && (r = eure_result_next(f->payload.p, f->payload.n, &pos, &b)) == 1) {
        count++;
    }
    if (r < 0) {
        w->cb(w->arg, EXIT_DIRECTORY, "the directory gave a malformed answer", NULL, 0);
    } else if (w->one && count == 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s is not in the directory", w->user);
        w->cb(w->arg, EXIT_NO_USER, msg, NULL, 0);
    } else {
        w->cb(w->arg, EXIT_OK, NULL, f->payload.p, f->payload.n);
    }
    free(w);
}

void
node_who(struct node *n, const char *user, node_who_cb cb, void *arg)
{
    struct who_req *w = xcalloc(1, sizeof(*w));
    const char *args[] = {user};

    w->cb = cb;
    w->arg = arg;
    if (user) {
        w->one = true;
        snprintf(w->user, sizeof(w->user), "%s", user);
        if (!eure_name_valid(user, strlen(user))) {
            free(w);
            cb(arg, EXIT_USAGE, "not a valid user name", NULL, 0);
            return;
        }
    }
    if (dirc_request(n->dir, EURE_T_QUERY, args, user ? 1 : 0, who_cb, w) < 0) {
        free(w);
        cb(arg, EXIT_DIRECTORY, "not connected to the directory", NULL, 0);
    }
}

struct leave_req {
    node_done_cb cb;
    void *arg;
};

static void
leave_cb(void *arg, const struct frame *f)
{
    struct leave_req *l = arg;

    if (f && str_eq(f->type, EURE_T_ACK)) {
        l->cb(l->arg, EXIT_OK, NULL, 0);
    } else {
        l->cb(l->arg, EXIT_DIRECTORY, "the directory did not confirm LEAVE", 0);
    }
    free(l);
}

void
node_leave(struct node *n, node_done_cb cb, void *arg)
{
    struct leave_req *l = xcalloc(1, sizeof(*l));

    l->cb = cb;
    l->arg = arg;
    n->bound = false;
    evtimer_del(n->keepalive);
    if (!n->serve) {
        free(l);
        cb(arg, EXIT_OK, NULL, 0); /* never bound: leaving would unbind our other sessions */
        return;
    }
    if (dirc_request(n->dir, EURE_T_LEAVE, NULL, 0, leave_cb, l) < 0) {
        free(l);
        cb(arg, EXIT_DIRECTORY, "not connected to the directory", 0);
    }
}

static void
bind_cb(void *arg, const struct frame *f)
{
    struct node *n = arg;
    char where[ADDR_STR_MAX];
    struct timeval tv = loop_tv(NODE_KEEPALIVE);

    if (f == NULL) {
        return; /* the directory went away; we bind again when it is back */
    }
    addr_format((struct sockaddr *)&n->adv, n->adv_len, where, sizeof(where));
    if (!str_eq(f->type, EURE_T_ACK)) {
        char *why = dirc_reply_text(f), msg[512];
        snprintf(msg, sizeof(msg), "the directory refused to bind %s: %s", where, why);
        free(why);
        if (!n->was_bound) {
            n->ops->fatal(n->arg, EXIT_BIND, msg);
        } else {
            /* We were reachable before: a passing problem (the directory closes the connection
             * after an ERR; binding is tried again when it is back). */
            notify(n, false, "%s; trying again", msg);
        }
        return;
    }
    n->bound = true;
    n->was_bound = true;
    evtimer_add(n->keepalive, &tv);
    n->ops->online(n->arg, where);
}

static void
send_bind(struct node *n)
{
    const char *args[] = {n->adv_addr, n->adv_port};

    dirc_request(n->dir, EURE_T_BIND, args, 2, bind_cb, n);
}

static void
keepalive_result(void *arg, const struct frame *f)
{
    struct node *n = arg;
    struct timeval tv = loop_tv(NODE_KEEPALIVE);

    if (f == NULL || !n->bound) {
        return;
    }
    if (str_eq(f->type, EURE_T_RESULT) && f->payload.n == 0) {
        notify(n, false, "the directory had dropped our binding; binding again");
        n->bound = false;
        send_bind(n);
        return;
    }
    evtimer_add(n->keepalive, &tv);
}

static void
keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    struct node *n = arg;
    const char *args[] = {n->o->user};

    /* Also keeps the directory connection from reaching its idle timeout. */
    dirc_request(n->dir, EURE_T_QUERY, args, 1, keepalive_result, n);
}

/* Open our listener (once) and decide what to BIND. */
static int
setup_listener(struct node *n, char *err, size_t cap)
{
    struct sockaddr_storage local;
    socklen_t local_len;
    char spec[ADDR_STR_MAX + 8], ip[64];
    const struct sockaddr *la = NULL;
    socklen_t la_len = 0;

    if (!dirc_local(n->dir, &local, &local_len)) {
        snprintf(err, cap, "cannot tell our address on the directory connection");
        return -1;
    }
    if (n->ls == NULL) {
        if (n->o->listen) {
            snprintf(spec, sizeof(spec), "%s", n->o->listen);
        } else {
            addr_ip((struct sockaddr *)&local, ip, sizeof(ip));
            snprintf(spec, sizeof(spec), local.ss_family == AF_INET6 ? "[%s]:0" : "%s:0", ip);
        }
        n->ls = listener_set_open_list(&peer_ep, spec, 0600, "--listen", err, cap);
        if (n->ls == NULL) {
            return -1;
        }
    }
    /* Advertise --advertise, else the listener's own address unless it is a wildcard, else the
     * address the directory sees us from. */
    if (n->o->advertise) {
        snprintf(ip, sizeof(ip), "%s", n->o->advertise);
    } else {
        addr_ip((struct sockaddr *)&local, ip, sizeof(ip));
    }
    struct sockaddr_storage want;
    socklen_t want_len;
    addr_parse_ip(ip, 1, &want, &want_len);
    for (size_t i = 0; (la = listener_set_addr(n->ls, i, &la_len)) != NULL; i++) {
        if (la->sa_family == want.ss_family) {
            break;
        }
    }
    if (la == NULL) {
        la = listener_set_addr(n->ls, 0, &la_len);
    }
    if (la->sa_family == AF_UNIX) {
        snprintf(err, cap, "--listen must be a TCP address");
        return -1;
    }
    char lip[64];
    addr_ip(la, lip, sizeof(lip));
    if (!n->o->advertise && strcmp(lip, "0.0.0.0") != 0 && strcmp(lip, "::") != 0) {
        snprintf(ip, sizeof(ip), "%s", lip);
    }
    if (!addr_parse_ip(ip, (long)addr_port(la), &n->adv, &n->adv_len)) {
        snprintf(err, cap, "cannot advertise %s: not a numeric IP address", ip);
        return -1;
    }
    addr_ip((struct sockaddr *)&n->adv, n->adv_addr, sizeof(n->adv_addr));
    snprintf(n->adv_port, sizeof(n->adv_port), "%u", addr_port(la));
    return 0;
}

static void
dir_ready(void *arg)
{
    struct node *n = arg;
    char err[512];

    if (!n->serve) {
        n->ops->online(n->arg, NULL);
        return;
    }
    if (setup_listener(n, err, sizeof(err)) < 0) {
        n->ops->fatal(n->arg, EXIT_INTERNAL, err);
        return;
    }
    send_bind(n);
}

static void
dir_lost(void *arg, const char *why, double retry_in)
{
    struct node *n = arg;

    n->bound = false;
    evtimer_del(n->keepalive);
    n->ops->offline(n->arg, why, retry_in);
}

static void
dir_failed(void *arg, int code, const char *msg)
{
    struct node *n = arg;

    n->ops->fatal(n->arg, code, msg);
}

static const struct dirc_ops node_dirc_ops = {
    .ready = dir_ready,
    .lost = dir_lost,
    .failed = dir_failed,
};

struct node *
node_new(const struct cli_opts *o, bool serve, const struct node_ops *ops, void *arg)
{
    struct node *n = xcalloc(1, sizeof(*n));

    n->o = o;
    n->ops = ops;
    n->arg = arg;
    n->serve = serve;
    n->dir = dirc_new(o, serve, &node_dirc_ops, n);
    n->keepalive = evtimer_new(loop_base(), keepalive_cb, n);
    peer_ep.owner = n;
    peer_ep.write_timeout = o->timeout > 60 ? o->timeout : 60;
    return n;
}

void
node_start(struct node *n)
{
    dirc_start(n->dir);
}

void
node_free(struct node *n)
{
    if (n == NULL) {
        return;
    }
    while (n->convs) {
        struct session *s = n->convs->s;
        conv_fail_jobs(n->convs, EXIT_PEER, "%s had not confirmed when we left", n->convs->name);
        conv_free(n->convs);
        if (s) {
            sess_abort(s);
        }
    }
    listener_set_close(n->ls);
    dirc_free(n->dir);
    event_free(n->keepalive);
    free(n);
}
