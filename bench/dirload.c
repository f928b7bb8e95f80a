/* SPDX-License-Identifier: MIT */
/*
 * dirload: a load generator for the directory service. Clients on one libevent loop run login,
 * BIND or QUERY loops against a running daemon and report throughput and latency percentiles.
 * The process also answers the directory's PINGs on a port of its own, so that every client can
 * BIND to it. It measures; checking the replies beyond ACK/RESULT/ERR is the tests' job.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/measure.h"
#include "core/loop.h"
#include "core/strutil.h"
#include "proto/frame.h"

#define CLIENTS_MAX 60000
#define USERS_MAX 1000000
#define PIPELINE_MAX 1024
#define PREFIX_MAX 20   /* leaves room for a 12-digit index in a 32-byte name */
#define NAME_MAX_LEN 32 /* the directory's ACCOUNT_NAME_MAX */
#define PASSWORD_MAX_LEN 256
#define REPLY_PAYLOAD_MAX (64u << 20) /* QUERY all with a very large directory */
#define CONNECTING_MAX 256 /* logins in progress at once while setting up, under the backlog */
#define PONG_CONNS_MAX 8192
#define PONG_IDLE_SECONDS 30
#define PONG_BACKLOG 1024
#define ERRTEXT_MAX 160
#define MIX_PERIOD 20 /* mix: 1 BIND, 1 QUERY all and 18 QUERY <peer> in every 20 requests */

enum mode { MODE_QUERY, MODE_AUTH, MODE_BIND, MODE_MIX, MODE_REGISTER };
enum target { TARGET_SELF, TARGET_PEER, TARGET_ALL };

/* Requests a client can have in flight. */
enum req { REQ_USER, REQ_PASS, REQ_BIND, REQ_QUERY, REQ_QUERY_ALL };

/* What is measured and reported, one histogram each. */
enum op { OP_AUTH, OP_REGISTER, OP_BIND, OP_QUERY, OP_QUERY_ALL, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"auth", "register", "bind", "query", "query-all"};

enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_HOLD, PH_DONE };

enum cstate { CL_IDLE, CL_SETUP, CL_READY, CL_RUNNING, CL_STOPPED };

struct pending {
    uint64_t sent;
    uint8_t req;
    bool setup; /* part of the login before the measured loop; not measured */
};

struct client {
    char name[NAME_MAX_LEN + 1]; /* prefix + index */
    struct bufferevent *bev;
    enum cstate state;
    uint64_t cycle_start; /* auth and register: when this connection was opened */
    unsigned long seq;    /* requests sent in the measured loop, for the mix pattern */
    unsigned head, inflight;
    struct pending ring[]; /* requests sent and not yet answered, oldest at head */
};

/* An accepted connection of the PONG listener; all of them are on one list so exit frees them. */
struct pong_conn {
    struct bufferevent *bev;
    struct pong_conn *prev, *next;
};

struct options {
    struct sockaddr_storage dir_sa;
    int dir_salen;
    const char *dir_text;
    const char *listen_host;
    enum mode mode;
    enum target target;
    unsigned clients, pipeline;
    unsigned long users;
    double duration, warmup, setup_timeout;
    const char *prefix;
    const char *password;
    long daemon_pid; /* 0: unknown */
};

static struct {
    struct options o;
    struct event_base *base;
    struct client **clients;
    unsigned ring_cap;
    enum phase phase;
    uint64_t t_start, t_setup_done, t_measure, t_end;
    struct cpu_sample cpu_measure, cpu_end; /* at those two instants */
    unsigned launched, ready, setup_failed, stopped;
    unsigned long next_user, registered; /* register mode */
    struct event *phase_timer, *setup_timer, *sigint_ev, *sigterm_ev;
    struct evconnlistener *pong;
    struct pong_conn *pong_list;
    char pong_host[64];
    unsigned pong_port;
    unsigned long pong_conns, pong_live, pong_pings, pong_refused;
    struct hist hist[OP_COUNT], all;
    unsigned long errors, closed, empty_results;
    size_t all_reply_max; /* the largest QUERY all reply, header included */
    char first_error[ERRTEXT_MAX];
    uint64_t rng;
    bool interrupted, reported;
} g;

static void client_start_cycle(struct client *c);
static void client_launch(struct client *c);
static void client_read_cb(struct bufferevent *bev, void *arg);
static void send_next(struct client *c);
static void print_report(void);
static void client_event_cb(struct bufferevent *bev, short what, void *arg);
static void phase_cb(evutil_socket_t fd, short what, void *arg);

/* ---- randomness, recording ---- */

/* xorshift64: reproducible peer choice without touching libc's global rand state. */
static uint64_t
rng_next(void)
{
    g.rng ^= g.rng << 13;
    g.rng ^= g.rng >> 7;
    g.rng ^= g.rng << 17;
    return g.rng;
}

static void
record(enum op op, uint64_t ns)
{
    if (g.phase != PH_MEASURE) {
        return;
    }
    hist_add(&g.hist[op], ns);
    hist_add(&g.all, ns);
}

/* ---- the PONG listener ---- */

static void
pong_close(struct pong_conn *pc)
{
    if (pc->prev) {
        pc->prev->next = pc->next;
    } else {
        g.pong_list = pc->next;
    }
    if (pc->next) {
        pc->next->prev = pc->prev;
    }
    bufferevent_free(pc->bev);
    free(pc);
    g.pong_live--;
}

static void
pong_read_cb(struct bufferevent *bev, void *arg)
{
    struct pong_conn *pc = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        size_t len = evbuffer_get_length(in),
               head = len < FRAME_HEADER_MAX ? len : FRAME_HEADER_MAX;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)head);
        const char *why;
        size_t size;

        if (len == 0) {
            return;
        }
        switch (frame_measure(p, head, FRAME_PAYLOAD_DEFAULT, &size, &why)) {
        case PARSE_AGAIN:
            return;
        case PARSE_ERR:
            pong_close(pc);
            return;
        case PARSE_OK:
            break;
        }
        if (size > len) {
            return;
        }
        /* Leading blank lines are part of the frame; skip them to see the type. */
        while (*p == '\r' || *p == '\n') {
            p++;
        }
        if (strncmp(p, "PING ", 5) == 0) {
            bufferevent_write(bev, "PONG 0\n", 7);
            g.pong_pings++;
        }
        evbuffer_drain(in, size);
    }
}

static void
pong_event_cb(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        pong_close(arg);
    }
}

static void
pong_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
               void *arg)
{
    struct timeval idle = {PONG_IDLE_SECONDS, 0};
    struct pong_conn *pc;
    int one = 1;

    g.pong_conns++;
    if (g.pong_live >= PONG_CONNS_MAX) {
        g.pong_refused++;
        evutil_closesocket(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    pc = calloc(1, sizeof(*pc));
    if (pc == NULL) {
        evutil_closesocket(fd);
        return;
    }
    pc->bev = bufferevent_socket_new(g.base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (pc->bev == NULL) {
        evutil_closesocket(fd);
        free(pc);
        return;
    }
    pc->next = g.pong_list;
    if (g.pong_list) {
        g.pong_list->prev = pc;
    }
    g.pong_list = pc;
    g.pong_live++;
    bufferevent_setcb(pc->bev, pong_read_cb, NULL, pong_event_cb, pc);
    bufferevent_setwatermark(pc->bev, EV_READ, 0, FRAME_HEADER_MAX + FRAME_PAYLOAD_DEFAULT);
    bufferevent_set_timeouts(pc->bev, &idle, &idle);
    bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
}

static int
pong_start(void)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    char spec[96];

    /* No port: libevent refuses port 0 in "HOST:PORT", and 0 is what we want (ephemeral). */
    snprintf(spec, sizeof(spec), strchr(g.o.listen_host, ':') ? "[%s]" : "%s", g.o.listen_host);
    if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) < 0) {
        fprintf(stderr, "dirload: -l %s: not a numeric address\n", g.o.listen_host);
        return -1;
    }
    g.pong = evconnlistener_new_bind(g.base, pong_accept_cb, NULL,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, PONG_BACKLOG,
                                     (struct sockaddr *)&ss, sslen);
    if (g.pong == NULL) {
        fprintf(stderr, "dirload: cannot listen on %s: %s\n", spec,
                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return -1;
    }
    sslen = sizeof(ss);
    getsockname(evconnlistener_get_fd(g.pong), (struct sockaddr *)&ss, (socklen_t *)&sslen);
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        evutil_inet_ntop(AF_INET6, &s6->sin6_addr, g.pong_host, sizeof(g.pong_host));
        g.pong_port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        evutil_inet_ntop(AF_INET, &s4->sin_addr, g.pong_host, sizeof(g.pong_host));
        g.pong_port = ntohs(s4->sin_port);
    }
    return 0;
}

/* ---- phases ---- */

static void
finish(void)
{
    if (g.phase == PH_DONE) {
        return;
    }
    if (g.phase == PH_MEASURE) {
        g.t_end = now_ns();
        cpu_take(&g.cpu_end, g.o.daemon_pid);
    }
    g.phase = PH_DONE;
    event_base_loopbreak(g.base);
}

static void
arm_phase_timer(double secs)
{
    struct timeval tv;

    tv.tv_sec = (time_t)secs;
    tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
    evtimer_add(g.phase_timer, &tv);
}

/* Register mode: the users are in the directory; keep answering its PINGs for a while. */
static void
begin_hold(void)
{
    g.t_end = now_ns();
    cpu_take(&g.cpu_end, g.o.daemon_pid);
    g.phase = PH_HOLD;
    print_report();
    printf("hold: answering PINGs on %s port %u for %.1f s\n", g.pong_host, g.pong_port,
           g.o.duration);
    fflush(stdout);
    evtimer_del(g.phase_timer);
    arm_phase_timer(g.o.duration);
}

static void
begin_measure(void)
{
    g.phase = PH_MEASURE;
    g.t_measure = now_ns();
    cpu_take(&g.cpu_measure, g.o.daemon_pid);
    if (g.o.mode == MODE_REGISTER) {
        return; /* ends when every user is registered, or at the setup timeout */
    }
    arm_phase_timer(g.o.duration);
}

/* Every long-lived client has logged in (or given up): start the load. */
static void
begin_load(void)
{
    g.t_setup_done = now_ns();
    if (g.setup_timer) {
        evtimer_del(g.setup_timer);
    }
    if (g.ready == 0) {
        fprintf(stderr, "dirload: no client could log in (%s)\n",
                g.first_error[0] ? g.first_error : "setup timed out");
        finish();
        return;
    }
    g.phase = PH_WARMUP;
    for (unsigned i = 0; i < g.o.clients; i++) {
        struct client *c = g.clients[i];
        if (c->state == CL_READY) {
            c->state = CL_RUNNING;
            for (unsigned k = 0; k < g.o.pipeline; k++) {
                send_next(c);
            }
        }
    }
    if (g.o.warmup > 0) {
        arm_phase_timer(g.o.warmup);
    } else {
        begin_measure();
    }
}

static void
phase_cb(evutil_socket_t fd, short what, void *arg)
{
    switch (g.phase) {
    case PH_WARMUP:
        begin_measure();
        break;
    case PH_MEASURE:
    case PH_HOLD:
    case PH_SETUP:
        finish();
        break;
    case PH_DONE:
        break;
    }
}

static void
setup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    if (g.phase == PH_SETUP) {
        fprintf(stderr, "dirload: setup timed out after %.0f s: %u of %u client(s) ready\n",
                g.o.setup_timeout, g.ready, g.o.clients);
        begin_load();
    } else if (g.phase == PH_MEASURE && g.o.mode == MODE_REGISTER) {
        fprintf(stderr, "dirload: registration timed out after %.0f s: %lu of %lu user(s)\n",
                g.o.setup_timeout, g.registered, g.o.users);
        begin_hold();
    }
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    g.interrupted = true;
    finish();
}

/* ---- clients ---- */

static void
client_close(struct client *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    c->head = c->inflight = 0;
}

static void
client_stop(struct client *c, const char *why, size_t n)
{
    bool was_setup = c->state == CL_SETUP;

    if (c->state == CL_STOPPED) {
        return;
    }
    if (g.phase != PH_DONE && g.phase != PH_HOLD) {
        g.errors++;
        if (g.first_error[0] == '\0') {
            snprintf(g.first_error, sizeof(g.first_error), "%s: %.*s", c->name,
                     (int)(n < ERRTEXT_MAX ? n : ERRTEXT_MAX), why);
        }
    }
    client_close(c);
    c->state = CL_STOPPED;
    g.stopped++;
    if (was_setup && g.phase == PH_SETUP) {
        g.setup_failed++;
        if (g.launched < g.o.clients) {
            client_launch(g.clients[g.launched++]);
        }
        if (g.ready + g.setup_failed == g.o.clients) {
            begin_load();
        }
        return;
    }
    if (g.stopped == g.o.clients && (g.phase == PH_WARMUP || g.phase == PH_MEASURE)) {
        /* Nobody is left to make load: end now rather than measure an idle daemon. */
        if (g.o.mode == MODE_REGISTER) {
            begin_hold();
        } else {
            finish();
        }
    }
}

static void
client_set_name(struct client *c, unsigned long idx)
{
    snprintf(c->name, sizeof(c->name), "%s%lu", g.o.prefix, idx);
}

static void
client_send(struct client *c, enum req r, bool setup)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    struct pending *p;
    char peer[NAME_MAX_LEN + 1];

    switch (r) {
    case REQ_USER:
        evbuffer_add_printf(out, "USER 0 %s\n", c->name);
        break;
    case REQ_PASS:
        evbuffer_add_printf(out, "PASS 0 %s\n", g.o.password);
        break;
    case REQ_BIND:
        evbuffer_add_printf(out, "BIND 0 %s %u\n", g.pong_host, g.pong_port);
        break;
    case REQ_QUERY:
        if (g.o.target == TARGET_SELF) {
            evbuffer_add_printf(out, "QUERY 0 %s\n", c->name);
        } else {
            snprintf(peer, sizeof(peer), "%s%u", g.o.prefix, (unsigned)(rng_next() % g.o.clients));
            evbuffer_add_printf(out, "QUERY 0 %s\n", peer);
        }
        break;
    case REQ_QUERY_ALL:
        evbuffer_add(out, "QUERY 0\n", 8);
        break;
    }
    p = &c->ring[(c->head + c->inflight) % g.ring_cap];
    p->sent = now_ns();
    p->req = (uint8_t)r;
    p->setup = setup;
    c->inflight++;
}

/* The next request of the measured loop. */
static void
send_next(struct client *c)
{
    enum req r = REQ_QUERY;

    switch (g.o.mode) {
    case MODE_QUERY:
        r = g.o.target == TARGET_ALL ? REQ_QUERY_ALL : REQ_QUERY;
        break;
    case MODE_BIND:
        r = REQ_BIND;
        break;
    case MODE_MIX: {
        unsigned slot = (unsigned)(c->seq % MIX_PERIOD);
        r = slot == 0 ? REQ_BIND : slot == 1 ? REQ_QUERY_ALL : REQ_QUERY;
        break;
    }
    case MODE_AUTH:
    case MODE_REGISTER:
        return; /* one request set per connection, sent by client_start_cycle */
    }
    c->seq++;
    client_send(c, r, false);
}

static void
client_connect(struct client *c)
{
    int one = 1;

    c->bev = bufferevent_socket_new(g.base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        client_stop(c, "cannot create a socket", 22);
        return;
    }
    c->head = c->inflight = 0;
    bufferevent_setcb(c->bev, client_read_cb, NULL, client_event_cb, c);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&g.o.dir_sa, g.o.dir_salen) < 0) {
        const char *why = evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
        client_stop(c, why, strlen(why));
        return;
    }
    /* Requests are small and replies gate the next ones: Nagle would add delayed-ACK stalls. */
    setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* Auth and register: one connection per operation, requests pipelined in one write. */
static void
client_start_cycle(struct client *c)
{
    if (g.o.mode == MODE_REGISTER) {
        if (g.next_user >= g.o.users) {
            c->state = CL_STOPPED;
            g.stopped++;
            if (g.stopped == g.o.clients && g.phase == PH_MEASURE) {
                begin_hold();
            }
            return;
        }
        client_set_name(c, g.next_user++);
    }
    c->cycle_start = now_ns();
    client_connect(c);
    if (c->state == CL_STOPPED) {
        return;
    }
    client_send(c, REQ_USER, false);
    client_send(c, REQ_PASS, false);
    if (g.o.mode == MODE_REGISTER) {
        client_send(c, REQ_BIND, false);
    }
}

/* Long-lived clients: log in (and BIND, unless the loop itself is BIND) before the load. */
static void
client_launch(struct client *c)
{
    c->state = CL_SETUP;
    client_connect(c);
    if (c->state == CL_STOPPED) {
        return;
    }
    client_send(c, REQ_USER, true);
    client_send(c, REQ_PASS, true);
    if (g.o.mode != MODE_BIND) {
        client_send(c, REQ_BIND, true);
    }
}

static void
client_setup_done(struct client *c)
{
    c->state = CL_READY;
    g.ready++;
    if (g.launched < g.o.clients) {
        client_launch(g.clients[g.launched++]);
    }
    if (g.phase != PH_SETUP) {
        /* Late, after the setup timeout: join the load already running. */
        if (g.phase == PH_WARMUP || g.phase == PH_MEASURE) {
            c->state = CL_RUNNING;
            for (unsigned k = 0; k < g.o.pipeline; k++) {
                send_next(c);
            }
        }
        return;
    }
    if (g.ready + g.setup_failed == g.o.clients) {
        begin_load();
    }
}

/*
 * One complete reply. Returns false when the client's connection is gone (stopped, or closed
 * for the next cycle), so the caller must stop reading from it.
 */
static bool
client_reply(struct client *c, const char *type, size_t tlen, struct evbuffer *in, size_t size)
{
    struct pending p;
    uint64_t now = now_ns();
    bool want_result, ok;

    if (c->inflight == 0) {
        client_stop(c, "reply to no request", 19);
        return false;
    }
    p = c->ring[c->head];
    c->head = (c->head + 1) % g.ring_cap;
    c->inflight--;

    if (tlen == 3 && memcmp(type, "ERR", 3) == 0) {
        const char *f = (const char *)evbuffer_pullup(in, (ev_ssize_t)size);
        struct frame fr;
        const char *why;
        if (frame_parse(f, size, REPLY_PAYLOAD_MAX, &fr, &why) == PARSE_OK) {
            client_stop(c, fr.payload.p, fr.payload.n);
        } else {
            client_stop(c, "ERR", 3);
        }
        return false;
    }
    want_result = p.req == REQ_QUERY || p.req == REQ_QUERY_ALL;
    ok = want_result ? (tlen == 6 && memcmp(type, "RESULT", 6) == 0)
                     : (tlen == 3 && memcmp(type, "ACK", 3) == 0);
    if (!ok) {
        client_stop(c, "unexpected reply type", 21);
        return false;
    }
    if (p.setup) {
        if (c->inflight == 0) {
            client_setup_done(c);
        }
        return true;
    }
    switch ((enum req)p.req) {
    case REQ_USER:
        return true;
    case REQ_PASS:
        if (g.o.mode == MODE_AUTH) {
            record(OP_AUTH, now - c->cycle_start);
            client_close(c);
            if (g.phase == PH_WARMUP || g.phase == PH_MEASURE) {
                client_start_cycle(c);
            }
            return false;
        }
        return true;
    case REQ_BIND:
        if (g.o.mode == MODE_REGISTER) {
            record(OP_REGISTER, now - c->cycle_start);
            g.registered++;
            client_close(c);
            if (g.phase == PH_MEASURE) {
                client_start_cycle(c);
            }
            return false;
        }
        record(OP_BIND, now - p.sent);
        break;
    case REQ_QUERY:
        /* A RESULT header of "RESULT 0\n" is 9 bytes: the name was not found. */
        if (size <= 9) {
            g.empty_results++;
        }
        record(OP_QUERY, now - p.sent);
        break;
    case REQ_QUERY_ALL:
        record(OP_QUERY_ALL, now - p.sent);
        if (size > g.all_reply_max) {
            g.all_reply_max = size;
        }
        break;
    }
    if (g.phase == PH_WARMUP || g.phase == PH_MEASURE) {
        send_next(c);
    }
    return true;
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
    struct client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        size_t len = evbuffer_get_length(in),
               head = len < FRAME_HEADER_MAX ? len : FRAME_HEADER_MAX;
        const char *base, *p, *sp, *why;
        size_t size;

        if (len == 0) {
            return;
        }
        base = (const char *)evbuffer_pullup(in, (ev_ssize_t)head);
        switch (frame_measure(base, head, REPLY_PAYLOAD_MAX, &size, &why)) {
        case PARSE_AGAIN:
            return;
        case PARSE_ERR:
            client_stop(c, why, strlen(why));
            return;
        case PARSE_OK:
            break;
        }
        if (size > len) {
            return;
        }
        /* frame_measure accepted the header, so TYPE is its first token after blank lines. */
        p = base;
        while (p < base + head && (*p == '\r' || *p == '\n')) {
            p++;
        }
        sp = memchr(p, ' ', head - (size_t)(p - base));
        if (sp == NULL || sp == p) {
            client_stop(c, "malformed reply", 15);
            return;
        }
        if (!client_reply(c, p, (size_t)(sp - p), in, size)) {
            return;
        }
        evbuffer_drain(in, size);
    }
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct client *c = arg;

    if (what & BEV_EVENT_CONNECTED) {
        return;
    }
    if (what & BEV_EVENT_EOF) {
        g.closed++;
        client_stop(c, "connection closed by the directory", 34);
    } else if (what & BEV_EVENT_ERROR) {
        const char *why = evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR());
        g.closed++;
        client_stop(c, why, strlen(why));
    }
}

/* ---- report ---- */

static void
print_row(const char *name, const struct hist *h, double secs)
{
    struct hist_us us;

    hist_summary_us(h, &us);
    printf("%-10s %10llu %11.1f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f\n", name,
           (unsigned long long)h->n, secs > 0 ? (double)h->n / secs : 0.0, us.mean, us.p50, us.p90,
           us.p99, us.p999, us.max);
}

static const char *
mode_name(enum mode m)
{
    static const char *const names[] = {"query", "auth", "bind", "mix", "register"};
    return names[m];
}

static const char *
target_name(enum target t)
{
    static const char *const names[] = {"self", "peer", "all"};
    return names[t];
}

static void
print_report(void)
{
    double secs = g.t_end > g.t_measure && g.t_measure ? seconds(g.t_end - g.t_measure) : 0.0;
    unsigned kinds = 0;
    char dcpu[16] = "-";
    struct hist_us all;

    if (g.o.daemon_pid > 0) {
        snprintf(dcpu, sizeof(dcpu), "%.0f",
                 cpu_pct(g.cpu_end.server - g.cpu_measure.server, secs));
    }
    g.reported = true;
    if (g.o.mode != MODE_AUTH && g.o.mode != MODE_REGISTER) {
        printf("setup: %u of %u client(s) logged in in %.3f s\n", g.ready, g.o.clients,
               seconds(g.t_setup_done - g.t_start));
    }
    printf("measured: %.3f s%s; CPU in %% of one core: generator %.0f, daemon %s, machine %.0f\n",
           secs, g.interrupted ? " (interrupted)" : "",
           cpu_pct(g.cpu_end.self - g.cpu_measure.self, secs), dcpu,
           cpu_pct(g.cpu_end.machine - g.cpu_measure.machine, secs));
    printf("%-10s %10s %11s %9s %9s %9s %9s %9s %9s   (latency in microseconds)\n", "op", "count",
           "ops/s", "mean", "p50", "p90", "p99", "p99.9", "max");
    for (int i = 0; i < OP_COUNT; i++) {
        if (g.hist[i].n > 0) {
            print_row(op_names[i], &g.hist[i], secs);
            kinds++;
        }
    }
    if (kinds != 1) {
        print_row("total", &g.all, secs);
    }
    printf("errors: %lu (connections lost: %lu)%s%s\n", g.errors, g.closed,
           g.first_error[0] ? "; first: " : "", g.first_error);
    if (g.all_reply_max > 0) {
        printf("largest QUERY all reply: %zu bytes\n", g.all_reply_max);
    }
    if (g.empty_results > 0) {
        printf("empty QUERY results: %lu\n", g.empty_results);
    }
    printf("pong listener %s port %u: %lu connection(s), %lu PING(s) answered", g.pong_host,
           g.pong_port, g.pong_conns, g.pong_pings);
    if (g.pong_refused > 0) {
        printf(", %lu refused (more than %d open)", g.pong_refused, PONG_CONNS_MAX);
    }
    printf("\n");
    hist_summary_us(&g.all, &all);
    printf("summary mode=%s query=%s clients=%u pipeline=%u seconds=%.3f ops=%llu ops_per_s=%.1f "
           "p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f errors=%lu gen_cpu=%.0f "
           "daemon_cpu=%s machine_cpu=%.0f\n",
           mode_name(g.o.mode), g.o.mode == MODE_QUERY ? target_name(g.o.target) : "-", g.o.clients,
           g.o.pipeline, secs, (unsigned long long)g.all.n, secs > 0 ? (double)g.all.n / secs : 0.0,
           all.p50, all.p90, all.p99, all.p999, all.max, g.errors,
           cpu_pct(g.cpu_end.self - g.cpu_measure.self, secs), dcpu,
           cpu_pct(g.cpu_end.machine - g.cpu_measure.machine, secs));
    fflush(stdout);
}

/* ---- options ---- */

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: dirload [-a HOST:PORT] [-m MODE] [-c N] [-d SECONDS] [-w SECONDS] [-k K]\n"
            "               [-q self|peer|all] [-p PREFIX] [-n USERS] [-l HOST]\n"
            "\n"
            "Load generator for the switchboard directory. Every client logs in as PREFIX<i>\n"
            "and BINDs to a port of this process, which answers the directory's PINGs.\n"
            "\n"
            "  -a, --address HOST:PORT   the directory (default 127.0.0.1:8888)\n"
            "  -m, --mode MODE           query: log in and BIND once, then loop QUERY\n"
            "                            auth: loop connect, USER, PASS, close\n"
            "                            bind: log in once, then loop BIND\n"
            "                            mix: per 20 requests 1 BIND, 1 QUERY all, 18 QUERY peer\n"
            "                            register: USER, PASS, BIND, close for USERS names,\n"
            "                            then answer PINGs for SECONDS (default query)\n"
            "  -c, --clients N           concurrent clients (default 50)\n"
            "  -d, --duration SECONDS    measured time; register: time to answer PINGs (10)\n"
            "  -w, --warmup SECONDS      unmeasured load before it (default 2)\n"
            "  -k, --pipeline K          requests in flight per client (default 1)\n"
            "  -q, --query TARGET        query mode: QUERY self, a random peer, or all (self)\n"
            "  -p, --prefix PREFIX       user name prefix (default bench)\n"
            "  -n, --users N             register mode: number of users (default 10000)\n"
            "  -l, --listen HOST         address of the PONG listener (default 127.0.0.1)\n"
            "      --password PW         password of every user (default benchpw)\n"
            "      --setup-timeout S     limit for logging in every client (default 120)\n"
            "      --daemon-pid PID      also report the CPU use of process PID (Linux /proc)\n"
            "  -h, --help                show this help\n"
            "\n"
            "Latencies are from sending a request to its complete reply; auth and register\n"
            "count from the connect. SIGINT or SIGTERM ends the run and prints the report.\n");
}

static bool
parse_enum(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool
name_chars_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || strchr("_.-[]\\`^{}|", ch) != NULL;
        if (!ok) {
            return false;
        }
    }
    return true;
}

static int
parse_options(int argc, char **argv)
{
    /* One option a line reads better than clang-format's packed columns. */
    /* clang-format off */
    static const struct option longopts[] = {
        {"address", required_argument, NULL, 'a'},
        {"mode", required_argument, NULL, 'm'},
        {"clients", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"pipeline", required_argument, NULL, 'k'},
        {"query", required_argument, NULL, 'q'},
        {"prefix", required_argument, NULL, 'p'},
        {"users", required_argument, NULL, 'n'},
        {"listen", required_argument, NULL, 'l'},
        {"password", required_argument, NULL, 'P'},
        {"setup-timeout", required_argument, NULL, 'T'},
        {"daemon-pid", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    static const char *const modes[] = {"query", "auth", "bind", "mix", "register"};
    static const char *const targets[] = {"self", "peer", "all"};
    struct options *o = &g.o;
    long v;
    int ch, e;

    o->dir_text = "127.0.0.1:8888";
    o->listen_host = "127.0.0.1";
    o->mode = MODE_QUERY;
    o->target = TARGET_SELF;
    o->clients = 50;
    o->pipeline = 1;
    o->users = 10000;
    o->duration = 10;
    o->warmup = 2;
    o->setup_timeout = 120;
    o->prefix = "bench";
    o->password = "benchpw";

    while ((ch = getopt_long(argc, argv, "a:m:c:d:w:k:q:p:n:l:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            o->dir_text = optarg;
            break;
        case 'm':
            if (!parse_enum(optarg, modes, 5, &e)) {
                fprintf(stderr, "dirload: -m %s: not one of query, auth, bind, mix, register\n",
                        optarg);
                return -1;
            }
            o->mode = (enum mode)e;
            break;
        case 'c':
            if (!parse_long(optarg, 1, CLIENTS_MAX, &v)) {
                fprintf(stderr, "dirload: -c %s: want 1 to %d clients\n", optarg, CLIENTS_MAX);
                return -1;
            }
            o->clients = (unsigned)v;
            break;
        case 'd':
            if (!parse_seconds(optarg, 0.1, 86400, &o->duration)) {
                fprintf(stderr, "dirload: -d %s: want 0.1 to 86400 seconds\n", optarg);
                return -1;
            }
            break;
        case 'w':
            if (!parse_seconds(optarg, 0, 3600, &o->warmup)) {
                fprintf(stderr, "dirload: -w %s: want 0 to 3600 seconds\n", optarg);
                return -1;
            }
            break;
        case 'k':
            if (!parse_long(optarg, 1, PIPELINE_MAX, &v)) {
                fprintf(stderr, "dirload: --pipeline %s: want 1 to %d\n", optarg, PIPELINE_MAX);
                return -1;
            }
            o->pipeline = (unsigned)v;
            break;
        case 'q':
            if (!parse_enum(optarg, targets, 3, &e)) {
                fprintf(stderr, "dirload: -q %s: not one of self, peer, all\n", optarg);
                return -1;
            }
            o->target = (enum target)e;
            break;
        case 'p':
            if (strlen(optarg) == 0 || strlen(optarg) > PREFIX_MAX || !name_chars_ok(optarg)) {
                fprintf(stderr, "dirload: -p %s: want 1 to %d name characters\n", optarg,
                        PREFIX_MAX);
                return -1;
            }
            o->prefix = optarg;
            break;
        case 'n':
            if (!parse_long(optarg, 1, USERS_MAX, &v)) {
                fprintf(stderr, "dirload: -n %s: want 1 to %d users\n", optarg, USERS_MAX);
                return -1;
            }
            o->users = (unsigned long)v;
            break;
        case 'l':
            o->listen_host = optarg;
            break;
        case 'P':
            if (strlen(optarg) == 0 || strlen(optarg) > PASSWORD_MAX_LEN ||
                !frame_arg_valid(optarg, strlen(optarg))) {
                fprintf(stderr, "dirload: --password: want 1 to %d printable bytes, no blanks\n",
                        PASSWORD_MAX_LEN);
                return -1;
            }
            o->password = optarg;
            break;
        case 'T':
            if (!parse_seconds(optarg, 1, 86400, &o->setup_timeout)) {
                fprintf(stderr, "dirload: --setup-timeout %s: want 1 to 86400 seconds\n", optarg);
                return -1;
            }
            break;
        case 'D':
            if (!parse_long(optarg, 1, 1L << 30, &o->daemon_pid)) {
                fprintf(stderr, "dirload: --daemon-pid %s: not a process id\n", optarg);
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dirload: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    o->dir_salen = sizeof(o->dir_sa);
    if (evutil_parse_sockaddr_port(o->dir_text, (struct sockaddr *)&o->dir_sa, &o->dir_salen) < 0 ||
        strchr(o->dir_text, ':') == NULL) {
        fprintf(stderr, "dirload: -a %s: want a numeric HOST:PORT or [IPv6]:PORT\n", o->dir_text);
        return -1;
    }
    if (strlen(o->listen_host) > 45) {
        fprintf(stderr, "dirload: -l %s: not a numeric address\n", o->listen_host);
        return -1;
    }
    if (o->mode == MODE_REGISTER && o->clients > o->users) {
        o->clients = (unsigned)o->users;
    }
    return 0;
}

/* ---- main ---- */

static void
cleanup(void)
{
    for (unsigned i = 0; g.clients && i < g.o.clients; i++) {
        if (g.clients[i]) {
            client_close(g.clients[i]);
            free(g.clients[i]);
        }
    }
    free(g.clients);
    while (g.pong_list) {
        pong_close(g.pong_list);
    }
    if (g.pong) {
        evconnlistener_free(g.pong);
    }
    if (g.phase_timer) {
        event_free(g.phase_timer);
    }
    if (g.setup_timer) {
        event_free(g.setup_timer);
    }
    if (g.sigint_ev) {
        event_free(g.sigint_ev);
    }
    if (g.sigterm_ev) {
        event_free(g.sigterm_ev);
    }
    event_base_free(g.base);
}

int
main(int argc, char **argv)
{
    struct timeval setup_tv;
    int rc = 0;

    if (parse_options(argc, argv) < 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    loop_raise_fd_limit();
    g.rng = 0x9e3779b97f4a7c15ull;
    g.base = event_base_new();
    if (g.base == NULL || pong_start() < 0) {
        return 1;
    }
    g.phase_timer = evtimer_new(g.base, phase_cb, NULL);
    g.setup_timer = evtimer_new(g.base, setup_timeout_cb, NULL);
    g.sigint_ev = evsignal_new(g.base, SIGINT, signal_cb, NULL);
    g.sigterm_ev = evsignal_new(g.base, SIGTERM, signal_cb, NULL);
    event_add(g.sigint_ev, NULL);
    event_add(g.sigterm_ev, NULL);

    /* Replies come in order, so a client never has more than its pipeline plus the three
     * login requests outstanding. */
    g.ring_cap = g.o.pipeline + 3;
    g.clients = calloc(g.o.clients, sizeof(*g.clients));
    if (g.clients == NULL) {
        fprintf(stderr, "dirload: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < g.o.clients; i++) {
        g.clients[i] = calloc(1, sizeof(struct client) + g.ring_cap * sizeof(struct pending));
        if (g.clients[i] == NULL) {
            fprintf(stderr, "dirload: out of memory\n");
            cleanup();
            return 1;
        }
        client_set_name(g.clients[i], i);
    }

    printf("dirload: mode=%s%s%s clients=%u pipeline=%u duration=%.1fs warmup=%.1fs "
           "directory=%s pong=%s:%u\n",
           mode_name(g.o.mode), g.o.mode == MODE_QUERY ? " query=" : "",
           g.o.mode == MODE_QUERY ? target_name(g.o.target) : "", g.o.clients, g.o.pipeline,
           g.o.duration, g.o.warmup, g.o.dir_text, g.pong_host, g.pong_port);
    fflush(stdout);

    g.t_start = now_ns();
    setup_tv.tv_sec = (time_t)g.o.setup_timeout;
    setup_tv.tv_usec = 0;
    evtimer_add(g.setup_timer, &setup_tv);
    switch (g.o.mode) {
    case MODE_AUTH:
        g.t_setup_done = g.t_start;
        g.phase = PH_WARMUP;
        if (g.o.warmup > 0) {
            arm_phase_timer(g.o.warmup);
        } else {
            begin_measure();
        }
        for (unsigned i = 0; i < g.o.clients && g.phase != PH_DONE; i++) {
            g.clients[i]->state = CL_RUNNING;
            client_start_cycle(g.clients[i]);
        }
        break;
    case MODE_REGISTER:
        g.t_setup_done = g.t_start;
        begin_measure();
        for (unsigned i = 0; i < g.o.clients && g.phase == PH_MEASURE; i++) {
            g.clients[i]->state = CL_RUNNING;
            client_start_cycle(g.clients[i]);
        }
        break;
    case MODE_QUERY:
    case MODE_BIND:
    case MODE_MIX:
        g.phase = PH_SETUP;
        while (g.launched < g.o.clients && g.launched < CONNECTING_MAX) {
            client_launch(g.clients[g.launched++]);
        }
        break;
    }
    if (g.phase != PH_DONE) {
        event_base_dispatch(g.base);
    }
    if (g.t_end == 0) {
        g.t_end = now_ns();
        cpu_take(&g.cpu_end, g.o.daemon_pid);
    }
    if (g.o.mode == MODE_REGISTER) {
        if (!g.reported) {
            print_report();
        } else {
            printf("hold: %lu PING(s) answered in all\n", g.pong_pings);
        }
        rc = g.registered == g.o.users ? 0 : 1;
    } else if (g.ready > 0 || g.o.mode == MODE_AUTH) {
        print_report();
        rc = g.all.n > 0 ? 0 : 1;
    } else {
        rc = 1;
    }
    cleanup();
    return rc;
}
