/* SPDX-License-Identifier: MIT */
/*
 * The eurechat directory: USER/PASS authentication, then BIND, QUERY and LEAVE, with the seed's
 * replies byte for byte. Password hashing runs on worker threads and the BIND check is a
 * non-blocking probe; while either runs the session is paused, so pipelined requests are still
 * answered in order. Framing is the core's (FRAME_LENGTH); this file only sees whole frames.
 */
#include "services/directory/directory.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cmd.h"
#include "core/dial.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ratelimit.h"
#include "core/strutil.h"
#include "core/work.h"
#include "proto/frame.h"
#include "services/directory/dir_msgs.h"
#include "services/service.h"
#include "store/bindings.h"

#define DIR_RATELIMIT_SLOTS 4096

enum dir_state { ST_USER = 1, ST_PASS = 2, ST_READY = 4 };

struct bind_req {
    struct directory *d;
    struct session *s; /* valid until on_close, which cancels the probe first */
    char addr[INET6_ADDRSTRLEN];
    unsigned port;
    struct sockaddr_storage sa;
    socklen_t salen;
};

struct dir_sess {
    struct directory *d;
    enum dir_state state;
    char name[ACCOUNT_NAME_MAX + 1];
    struct dial *probe; /* BIND check in flight */
    struct bind_req *probe_req;
};

enum auth_kind { AUTH_VERIFY, AUTH_CREATE, AUTH_DUMMY };

struct auth_job {
    struct directory *d;
    uint64_t sid;
    enum auth_kind kind;
    char name[ACCOUNT_NAME_MAX + 1];
    char pw[PASSWORD_MAX + 1];
    size_t pwlen;
    char hash[PASSWORD_HASH_MAX];
    bool ok;
};

/* ---- replies ---- */

static void
reply(struct session *s, const char *type, const char *payload, size_t n)
{
    char head[64];
    int hl = frame_header(head, sizeof(head), type, NULL, 0, n);

    sess_send(s, head, (size_t)hl);
    if (n > 0) {
        sess_send(s, payload, n);
    }
}

static void replyf(struct session *s, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
replyf(struct session *s, const char *type, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n < 0) {
        n = 0;
    }
    reply(s, type, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

/* The seed's close(failure): an ERR carrying the reason, then the connection ends. */
static enum sess_verdict
fail(struct session *s, const char *text)
{
    reply(s, EURE_T_ERR, text, strlen(text));
    return SESS_CLOSE;
}

/* ---- bindings ---- */

static void
fold(const char *name, char out[ACCOUNT_NAME_MAX + 1])
{
    size_t i = 0;
    for (; name[i] && i < ACCOUNT_NAME_MAX; i++) {
        out[i] = (char)tolower((unsigned char)name[i]);
    }
    out[i] = '\0';
}

struct binding *
dir_binding_get(struct directory *d, const char *name)
{
    char key[ACCOUNT_NAME_MAX + 1];
    fold(name, key);
    return map_get(d->bindings, key, strlen(key));
}

static struct binding *
binding_set(struct directory *d, const char *name, const char *addr, unsigned port,
            const struct sockaddr_storage *sa, socklen_t salen)
{
    char key[ACCOUNT_NAME_MAX + 1];
    struct binding *b;

    fold(name, key);
    b = map_get(d->bindings, key, strlen(key));
    if (b == NULL) {
        b = xcalloc(1, sizeof(*b));
        map_put(d->bindings, key, strlen(key), b);
    }
    str_copy(b->name, sizeof(b->name), name);
    str_copy(b->addr, sizeof(b->addr), addr);
    b->port = port;
    memcpy(&b->sa, sa, sizeof(*sa));
    b->salen = salen;
    b->failures = 0;
    b->generation = ++d->next_generation;
    return b;
}

int
dir_binding_remove(struct directory *d, const char *name)
{
    char key[ACCOUNT_NAME_MAX + 1];
    int rc;

    fold(name, key);
    rc = bindings_del(d->db, key);
    free(map_del(d->bindings, key, strlen(key)));
    return rc;
}

bool
dir_is_pong(const struct directory *d, const char *frame, size_t n)
{
    struct frame f;
    const char *why;

    return frame_parse(frame, n, d->max_payload, &f, &why) == PARSE_OK &&
           str_eq(f.type, EURE_T_PONG);
}

static void
load_binding(void *arg, const char *name, const char *addr, unsigned port)
{
    struct directory *d = arg;
    struct sockaddr_storage sa;
    socklen_t salen;

    if (!account_name_valid(name, strlen(name)) || !addr_parse_ip(addr, (long)port, &sa, &salen)) {
        log_warn("directory: ignoring a stored binding that is not valid (%s)", name);
        return;
    }
    binding_set(d, name, addr, port, &sa, salen);
}

/* ---- authentication ---- */

static void
auth_work(void *arg)
{
    struct auth_job *j = arg;

    switch (j->kind) {
    case AUTH_VERIFY:
        j->ok = password_verify(j->hash, j->pw, j->pwlen);
        break;
    case AUTH_CREATE:
        j->ok = password_hash(j->pw, j->pwlen, j->hash) == 0;
        break;
    case AUTH_DUMMY:
        /* Unknown name in a closed directory: spend the same time as a real check so that
         * response times do not reveal which names exist. */
        password_hash(j->pw, j->pwlen, j->hash);
        j->ok = false;
        break;
    }
    sodium_memzero(j->pw, sizeof(j->pw));
}

static void
auth_done(void *arg, bool ran)
{
    struct auth_job *j = arg;
    struct session *s = ran ? sess_find(j->sid) : NULL;
    bool internal = false;

    if (ran && j->kind == AUTH_CREATE && j->ok) {
        int rc = accounts_create(j->d->db, j->name, j->hash);
        if (rc == 0) {
            log_info("directory: account %s created (first login)", j->name);
        } else {
            /* 1: the same new name won a race with us; -1: the database failed. */
            j->ok = false;
            internal = rc < 0;
        }
    }
    if (s != NULL) {
        struct dir_sess *ds = s->priv;
        if (j->ok) {
            ratelimit_undo(j->d->logins, (const struct sockaddr *)&s->peer, ds->name, loop_now());
            ds->state = ST_READY;
            log_info("directory: %s authenticated from %s", ds->name, s->peer_str);
            reply(s, EURE_T_ACK, DIR_MSG_AUTH_OK, strlen(DIR_MSG_AUTH_OK));
            sess_resume(s);
        } else {
            if (!internal) {
                ratelimit_hit(j->d->logins, (const struct sockaddr *)&s->peer, NULL, loop_now());
                log_info("directory: authentication failed for %s from %s", ds->name, s->peer_str);
            }
            fail(s, internal ? DIR_MSG_INTERNAL : DIR_MSG_AUTH_FAILED);
            sess_close_later(s);
        }
    }
    sodium_memzero(j, sizeof(*j));
    free(j);
}

/* ---- commands ---- */

static enum sess_verdict
cmd_user(struct session *s, struct dir_sess *ds, const struct frame *f)
{
    if (!account_name_valid(f->args[0].p, f->args[0].n)) {
        return fail(s, DIR_MSG_BAD_NAME);
    }
    memcpy(ds->name, f->args[0].p, f->args[0].n);
    ds->name[f->args[0].n] = '\0';
    ds->state = ST_PASS;
    replyf(s, EURE_T_ACK, DIR_MSG_HELLO, ds->name);
    return SESS_OK;
}

static enum sess_verdict
cmd_pass(struct session *s, struct dir_sess *ds, const struct frame *f)
{
    struct directory *d = ds->d;
    struct auth_job *j;
    int found;

    const struct sockaddr *peer = (const struct sockaddr *)&s->peer;

    if (ratelimit_blocked(d->logins, peer, NULL, loop_now()) ||
        ratelimit_blocked(d->logins, peer, ds->name, loop_now())) {
        log_warn("directory: login of %s from %s refused: too many failures", ds->name,
                 s->peer_str);
        return fail(s, DIR_MSG_RATE);
    }
    if (d->accounts == DIR_ACCOUNTS_OPEN) {
        ds->state = ST_READY;
        log_info("directory: %s logged in from %s (accounts = open)", ds->name, s->peer_str);
        reply(s, EURE_T_ACK, DIR_MSG_AUTH_OK, strlen(DIR_MSG_AUTH_OK));
        return SESS_OK;
    }
    /* Failures count per address when they are known; and every attempt on one account counts
     * per address and account until it succeeds, so that guesses sent in parallel, before any
     * answer, are limited like guesses sent one by one. */
    ratelimit_hit(d->logins, peer, ds->name, loop_now());
    if (f->args[0].n > PASSWORD_MAX) {
        return fail(s, DIR_MSG_AUTH_FAILED);
    }

    j = xcalloc(1, sizeof(*j));
    j->d = d;
    j->sid = s->id;
    str_copy(j->name, sizeof(j->name), ds->name);
    memcpy(j->pw, f->args[0].p, f->args[0].n);
    j->pwlen = f->args[0].n;
    found = accounts_get(d->db, ds->name, j->hash, j->name);
    if (found < 0) {
        sodium_memzero(j, sizeof(*j));
        free(j);
        return fail(s, DIR_MSG_INTERNAL);
    }
    if (found) {
        j->kind = AUTH_VERIFY;
        /* Later messages use the account's own spelling of the name. */
        str_copy(ds->name, sizeof(ds->name), j->name);
    } else {
        j->kind = d->accounts == DIR_ACCOUNTS_TOFU ? AUTH_CREATE : AUTH_DUMMY;
    }
    if (!work_submit(auth_work, auth_done, j)) {
        sodium_memzero(j, sizeof(*j));
        free(j);
        log_warn("directory: password queue full, refusing the login of %s", ds->name);
        return fail(s, DIR_MSG_BUSY);
    }
    return SESS_PAUSE;
}

static void
bind_checked(void *arg, enum dial_result r, const char *frame, size_t n)
{
    struct bind_req *req = arg;
    struct directory *d = req->d;
    struct session *s = req->s;
    struct dir_sess *ds = s->priv;

    /* The session may already be condemned (a write error in this same loop turn): it is
     * still allocated, and replies to it are dropped by the core. */
    ds->probe = NULL;
    ds->probe_req = NULL;
    if (r == DIAL_OK && d->bind_check == DIR_CHECK_PING && !dir_is_pong(d, frame, n)) {
        r = DIAL_BAD_REPLY;
    }
    if (r != DIAL_OK) {
        log_info("directory: BIND of %s to %s port %u refused: %s", ds->name, req->addr, req->port,
                 dial_result_str(r));
        fail(s, DIR_MSG_BAD_BIND);
        sess_close_later(s);
        free(req);
        return;
    }
    if (bindings_put(d->db, ds->name, req->addr, req->port) < 0) {
        fail(s, DIR_MSG_INTERNAL);
        sess_close_later(s);
        free(req);
        return;
    }
    binding_set(d, ds->name, req->addr, req->port, &req->sa, req->salen);
    log_info("directory: %s bound to %s port %u", ds->name, req->addr, req->port);
    replyf(s, EURE_T_ACK, DIR_MSG_BOUND, req->addr, req->port);
    free(req);
    sess_resume(s);
}

static enum sess_verdict
cmd_bind(struct session *s, struct dir_sess *ds, const struct frame *f)
{
    struct directory *d = ds->d;
    char ip[INET6_ADDRSTRLEN + 1], portstr[8];
    long port;
    struct bind_req *req;
    const char *req_bytes = d->bind_check == DIR_CHECK_PING ? EURE_PING_FRAME : NULL;

    if (f->args[0].n >= sizeof(ip) || f->args[1].n >= sizeof(portstr)) {
        return fail(s, DIR_MSG_BAD_BIND);
    }
    memcpy(ip, f->args[0].p, f->args[0].n);
    ip[f->args[0].n] = '\0';
    memcpy(portstr, f->args[1].p, f->args[1].n);
    portstr[f->args[1].n] = '\0';

    req = xcalloc(1, sizeof(*req));
    req->d = d;
    req->s = s;
    if (!parse_long(portstr, 1, 65535, &port) || !addr_parse_ip(ip, port, &req->sa, &req->salen)) {
        free(req);
        log_info("directory: BIND from %s: not a numeric address and port", s->peer_str);
        return fail(s, DIR_MSG_BAD_BIND);
    }
    if (d->bind_policy == DIR_POLICY_SOURCE &&
        !addr_same_host((const struct sockaddr *)&req->sa, (const struct sockaddr *)&s->peer)) {
        free(req);
        log_info("directory: BIND of %s to %s refused: not the client's own address (%s)", ds->name,
                 ip, s->peer_str);
        return fail(s, DIR_MSG_BAD_BIND);
    }
    addr_ip((const struct sockaddr *)&req->sa, req->addr, sizeof(req->addr));
    req->port = (unsigned)port;
    ds->probe = dial_start((const struct sockaddr *)&req->sa, req->salen, d->check_timeout,
                           req_bytes, req_bytes ? strlen(req_bytes) : 0, FRAME_LENGTH,
                           d->max_payload, bind_checked, req);
    if (ds->probe == NULL) {
        free(req);
        return fail(s, DIR_MSG_BAD_BIND);
    }
    ds->probe_req = req;
    return SESS_PAUSE;
}

static int
cmp_binding(const void *a, const void *b)
{
    const struct binding *x = *(const struct binding *const *)a;
    const struct binding *y = *(const struct binding *const *)b;
    int c = strcasecmp(x->name, y->name);
    return c ? c : strcmp(x->name, y->name);
}

struct collect {
    struct binding **v;
    size_t n;
};

static void
collect_one(void *arg, const void *key, size_t klen, void *value)
{
    struct collect *c = arg;
    c->v[c->n++] = value;
}

static enum sess_verdict
cmd_query(struct session *s, struct dir_sess *ds, const struct frame *f)
{
    struct directory *d = ds->d;
    struct collect c = {NULL, 0};
    char *payload;
    size_t pos = 0, cap;

    if (f->nargs == 1) {
        char name[ACCOUNT_NAME_MAX + 1];
        struct binding *b = NULL;
        if (f->args[0].n <= ACCOUNT_NAME_MAX) {
            memcpy(name, f->args[0].p, f->args[0].n);
            name[f->args[0].n] = '\0';
            b = dir_binding_get(d, name);
        }
        if (b == NULL) {
            reply(s, EURE_T_RESULT, "", 0);
        } else {
            replyf(s, EURE_T_RESULT, "%s,%s,%u", b->name, b->addr, b->port);
        }
        return SESS_OK;
    }

    c.v = xmalloc((map_count(d->bindings) + 1) * sizeof(*c.v));
    map_foreach(d->bindings, collect_one, &c);
    qsort(c.v, c.n, sizeof(*c.v), cmp_binding);
    cap = c.n * (ACCOUNT_NAME_MAX + INET6_ADDRSTRLEN + 10) + 1;
    payload = xmalloc(cap);
    for (size_t i = 0; i < c.n; i++) {
        pos += (size_t)snprintf(payload + pos, cap - pos, "%s%s,%s,%u", i ? "\n" : "", c.v[i]->name,
                                c.v[i]->addr, c.v[i]->port);
    }
    reply(s, EURE_T_RESULT, payload, pos);
    free(payload);
    free(c.v);
    return SESS_OK;
}

static enum sess_verdict
cmd_leave(struct session *s, struct dir_sess *ds, const struct frame *f)
{
    if (dir_binding_get(ds->d, ds->name) != NULL) {
        if (dir_binding_remove(ds->d, ds->name) < 0) {
            /* Gone from memory, still on disk: it would come back after a restart, and the
             * checker would then remove it. Tell the client the truth. */
            return fail(s, DIR_MSG_INTERNAL);
        }
        log_info("directory: %s left", ds->name);
    }
    reply(s, EURE_T_ACK, DIR_MSG_LEFT, strlen(DIR_MSG_LEFT));
    return SESS_OK;
}

typedef enum sess_verdict (*dir_handler)(struct session *, struct dir_sess *, const struct frame *);

struct dir_cmd {
    struct cmd_def def;
    dir_handler fn;
};

static const struct dir_cmd commands[] = {
    {{"BIND", 2, 2, ST_READY}, cmd_bind},   {{"LEAVE", 0, 0, ST_READY}, cmd_leave},
    {{"LOGIN", 1, 1, ST_USER}, cmd_user},   {{"PASS", 1, 1, ST_PASS}, cmd_pass},
    {{"QUERY", 0, 1, ST_READY}, cmd_query}, {{"USER", 1, 1, ST_USER}, cmd_user},
};

/* ---- session callbacks ---- */

static enum sess_verdict
dir_on_open(struct session *s)
{
    struct service *svc = s->ep->owner;
    struct dir_sess *ds = xcalloc(1, sizeof(*ds));

    ds->d = svc->priv;
    ds->state = ST_USER;
    s->priv = ds;
    return SESS_OK;
}

static enum sess_verdict
dir_on_frame(struct session *s, const char *p, size_t n)
{
    struct dir_sess *ds = s->priv;
    const struct dir_cmd *cmd;
    struct frame f;
    const char *why = NULL;

    if (frame_parse(p, n, ds->d->max_payload, &f, &why) != PARSE_OK) {
        return fail(s, why ? why : "malformed message");
    }
    switch (cmd_lookup(commands, sizeof(commands) / sizeof(commands[0]), sizeof(commands[0]),
                       f.type.p, f.type.n, false, (unsigned)f.nargs, ds->state,
                       (const void **)&cmd)) {
    case CMD_OK:
        return cmd->fn(s, ds, &f);
    case CMD_UNKNOWN:
    case CMD_ARITY:
    case CMD_STATE:
        break;
    }
    if (ds->state == ST_USER) {
        return fail(s, DIR_MSG_EXPECT_USER);
    }
    if (ds->state == ST_PASS) {
        return fail(s, DIR_MSG_EXPECT_PASS);
    }
    char text[128];
    snprintf(text, sizeof(text), DIR_MSG_UNKNOWN, (int)f.type.n, f.type.p);
    return fail(s, text);
}

static void
dir_on_frame_error(struct session *s, const char *why)
{
    reply(s, EURE_T_ERR, why, strlen(why));
}

static void
dir_on_close(struct session *s)
{
    struct dir_sess *ds = s->priv;

    if (ds->probe) {
        dial_cancel(ds->probe);
        free(ds->probe_req);
    }
    free(ds);
    s->priv = NULL;
}

/* ---- service ---- */

static const char *const accounts_modes[] = {"tofu", "closed", "open", NULL};
static const char *const bind_policies[] = {"source", "any", NULL};
static const char *const bind_checks[] = {"connect", "ping", NULL};

static const struct cfg_key directory_keys[] = {
    {"listen", CFG_LISTEN, "127.0.0.1:8888", 0, 0, NULL},
    {"accounts", CFG_ENUM, "tofu", 0, 0, accounts_modes},
    {"bind_policy", CFG_ENUM, "source", 0, 0, bind_policies},
    {"bind_check", CFG_ENUM, "connect", 0, 0, bind_checks},
    {"check_interval", CFG_SECONDS, "30", 0, 86400, NULL},
    {"check_timeout", CFG_SECONDS, "5", 0, 300, NULL},
    {"check_failures", CFG_INT, "2", 1, 1000, NULL},
    {"check_concurrency", CFG_INT, "512", 1, 65536, NULL},
    {"max_payload", CFG_INT, "65536", 0, 16 * 1024 * 1024, NULL},
    {"login_failures", CFG_INT, "10", 1, 1000000, NULL},
    {"login_window", CFG_SECONDS, "60", 1, 86400, NULL},
    {NULL, 0, NULL, 0, 0, NULL},
};

static int
enum_index(const char *const *choices, const char *v)
{
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], v) == 0) {
            return i;
        }
    }
    return 0;
}

static int
dir_init(struct service *svc, const struct service_env *env, char *err, size_t errcap)
{
    const struct cfg *cfg = env->cfg;
    struct directory *d = xcalloc(1, sizeof(*d));
    char where[400];
    int n;

    d->svc = svc;
    d->db = env->db;
    d->accounts =
        (enum dir_accounts)enum_index(accounts_modes, cfg_str(cfg, "directory", "accounts"));
    d->bind_policy =
        (enum dir_policy)enum_index(bind_policies, cfg_str(cfg, "directory", "bind_policy"));
    d->bind_check =
        (enum dir_check)enum_index(bind_checks, cfg_str(cfg, "directory", "bind_check"));
    d->check_interval = cfg_seconds(cfg, "directory", "check_interval");
    d->check_timeout = cfg_seconds(cfg, "directory", "check_timeout");
    d->check_failures = (unsigned)cfg_int(cfg, "directory", "check_failures");
    d->check_concurrency = (unsigned)cfg_int(cfg, "directory", "check_concurrency");
    d->max_payload = (size_t)cfg_int(cfg, "directory", "max_payload");
    if (d->check_timeout <= 0) {
        cfg_where(cfg, "directory", "check_timeout", where, sizeof(where));
        snprintf(err, errcap, "%s: must be more than 0", where);
        free(d);
        return -1;
    }
    d->logins = ratelimit_new((unsigned)cfg_int(cfg, "directory", "login_failures"),
                              cfg_seconds(cfg, "directory", "login_window"), DIR_RATELIMIT_SLOTS);
    d->bindings = map_new();
    svc->ep.frame_limit = d->max_payload;
    svc->priv = d;

    n = bindings_load(d->db, load_binding, d);
    if (n < 0) {
        snprintf(err, errcap, "directory: cannot load stored bindings: %s", db_errmsg(d->db));
        return -1;
    }
    if (n > 0) {
        log_info("directory: %d binding(s) restored; the checker will verify them", n);
    }
    if (d->accounts == DIR_ACCOUNTS_OPEN) {
        log_warn("directory: accounts = open: any password is accepted (demo mode)");
    }
    d->checker = checker_new(d);
    return 0;
}

static void
dir_start(struct service *svc)
{
    struct directory *d = svc->priv;
    checker_start(d->checker);
}

static void
free_binding(void *arg, const void *key, size_t klen, void *value)
{
    free(value);
}

static void
dir_fini(struct service *svc)
{
    struct directory *d = svc->priv;

    if (d == NULL) {
        return;
    }
    checker_free(d->checker);
    map_foreach(d->bindings, free_binding, NULL);
    map_free(d->bindings);
    ratelimit_free(d->logins);
    free(d);
    svc->priv = NULL;
}

const struct service_ops directory_service = {
    .name = "directory",
    .keys = directory_keys,
    .sess =
        {
            .framing = FRAME_LENGTH,
            .on_open = dir_on_open,
            .on_frame = dir_on_frame,
            .on_frame_error = dir_on_frame_error,
            .on_close = dir_on_close,
        },
    .init = dir_init,
    .start = dir_start,
    .fini = dir_fini,
};
