/* SPDX-License-Identifier: MIT */
/*
 * ircload: a load generator for IRC servers (switchboard's [irc], ngIRCd, InspIRCd, ...).
 * N clients on one libevent loop connect, register (NICK/USER, wait for 001) and join one
 * channel; then it runs scenarios one after the other on the same clients: channel fan-out as
 * fast as a window allows, channel fan-out at a fixed rate per sender, and private ping-pong
 * between pairs. Every message carries its sender, a sequence number and the time it was sent,
 * so deliveries are counted per receiver, checked for order and timed on receipt. It also reads
 * the server's CPU time and resident memory from /proc. It speaks only what the load needs: no
 * CAP, no tags, no TLS.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
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

#define CLIENTS_MAX 50000
#define SENDERS_MAX 10000
#define WINDOW_MAX 4096
#define SIZE_MAX_TEXT 400 /* message text bytes: under the 512-byte line with any prefix */
#define CONNECTING_MAX 16 /* connect() calls in progress at once: keeps small backlogs intact */
#define LINE_MAX_LEN 8704 /* 512 + 8191 bytes of tags, the largest line a server may send */
#define READ_BUF (256u << 10)
#define READS_PER_EVENT 4 /* read() calls per readable event before yielding to the others */
#define ERRTEXT_MAX 200
#define TICK_US 1000 /* the fixed-rate scenario's send timer */
#define SCENARIOS_MAX 8
#define CHANNEL_MAX 50
#define PREFIX_MAX 16

enum scenario { SC_FANOUT, SC_RATE, SC_PINGPONG };
enum phase { PH_SETUP, PH_IDLE, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };
enum cstate { CS_IDLE, CS_CONNECTING, CS_REGISTERING, CS_JOINING, CS_READY, CS_STOPPED };

struct client {
    unsigned idx;
    int fd;
    enum cstate state;
    struct event *rev, *wev;
    bool wev_pending;
    char *carry; /* the incomplete last line of the previous read */
    size_t carry_len;
    char *out;
    size_t out_off, out_len, out_cap;
    uint64_t t_connect, t_join;
    int sender; /* fan-out: index among the senders, or -1 */
    /* Ping-pong: the partner (-1: none) and whether this client starts the exchanges. */
    int peer;
    bool initiator;
    /* A sender's or an initiator's messages: sent so far, completed so far. Fan-out completion
     * is in order (see fanout_receive), so these two counters are the whole window. */
    uint64_t next_seq, done_seq;
    uint64_t due; /* rate scenario: messages due so far (sent or skipped) */
};

struct options {
    struct sockaddr_storage sa;
    int salen;
    const char *addr_text;
    unsigned clients, senders, window, rate_window, pp_window, pairs, size, reg_parallel;
    double rate;
    enum scenario scen[SCENARIOS_MAX];
    unsigned nscen;
    double duration, warmup, drain, setup_timeout;
    long server_pid;
    char channel[CHANNEL_MAX + 1];
    char prefix[PREFIX_MAX + 1];
};

static struct {
    struct options o;
    struct event_base *base;
    struct client *c;
    int *senders; /* client index of each sender */
    /* Fan-out: per sender and slot (seq % window), receipts still missing; per receiver and
     * sender, the next sequence number expected. */
    uint32_t *missing;
    uint32_t *expect;
    uint32_t members; /* clients that completed the join */
    char *rbuf;
    enum phase phase;
    unsigned cur; /* index into o.scen */
    uint64_t t_start, t_setup_done, t_last_reg, t_load, t_measure, t_end;
    struct cpu_sample cpu_start, cpu_setup, cpu_measure, cpu_end;
    long rss_before_kb, rss_after_kb;
    unsigned launched, connecting, in_setup, registered, joined, stopped;
    struct event *phase_timer, *setup_timer, *deadline_timer, *tick_timer, *sigint_ev, *sigterm_ev;
    struct hist reg_hist, join_hist, hist;
    /* Measured window of the current scenario. */
    uint64_t sent, deliveries, completed, skipped, rx_bytes, tx_bytes;
    /* Current scenario, whole. */
    uint64_t order_errors, stray;
    /* Whole run. */
    unsigned long errors, err_replies, lost;
    char first_error[ERRTEXT_MAX];
    bool interrupted;
} g;

static void client_stop(struct client *c, const char *why);
static void client_launch(struct client *c);
static void setup_step(void);
static void scenario_next(void);
static void scenario_end(void);
static void finish(void);
static void print_connect(void);

static const char *const scen_names[] = {"fanout", "rate", "pingpong"};

/* ---- small helpers ---- */

static void
note_error(const struct client *c, const char *what, const char *text, size_t n)
{
    g.errors++;
    if (g.first_error[0] == '\0') {
        snprintf(g.first_error, sizeof(g.first_error), "client %u: %s%.*s", c ? c->idx : 0, what,
                 (int)(n < 120 ? n : 120), text);
    }
}

static void *
xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);

    if (p == NULL) {
        fprintf(stderr, "ircload: out of memory\n");
        exit(1);
    }
    return p;
}

/* VmRSS of @pid in kB from /proc/PID/status; -1 when it cannot be read. */
static long
rss_kb(long pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    if (pid <= 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            char *end;
            kb = strtol(line + 6, &end, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

static void
arm_timer(struct event *ev, double secs)
{
    struct timeval tv;

    tv.tv_sec = (time_t)secs;
    tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
    evtimer_add(ev, &tv);
}

static bool
in_load(void)
{
    return g.phase == PH_WARMUP || g.phase == PH_MEASURE;
}

/* ---- output ---- */

static void
out_reserve(struct client *c, size_t more)
{
    size_t need;

    if (c->out_off > 0 && c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    if (c->out_off > 0 && c->out_len + more > c->out_cap) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    need = c->out_len + more;
    if (need <= c->out_cap) {
        return;
    }
    while (c->out_cap < need) {
        c->out_cap = c->out_cap ? c->out_cap * 2 : 1024;
    }
    c->out = realloc(c->out, c->out_cap);
    if (c->out == NULL) {
        fprintf(stderr, "ircload: out of memory\n");
        exit(1);
    }
}

/* Appends one line; @fmt must give at most 600 bytes. */
static void __attribute__((format(printf, 2, 3))) out_linef(struct client *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    out_reserve(c, 600);
    va_start(ap, fmt);
    n = vsnprintf(c->out + c->out_len, 600, fmt, ap);
    va_end(ap);
    if (n > 0) {
        c->out_len += (size_t)(n < 600 ? n : 599);
    }
}

static void
client_flush(struct client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->wev_pending) {
                event_add(c->wev, NULL);
                c->wev_pending = true;
            }
            return;
        }
        g.lost++;
        client_stop(c, n < 0 ? strerror(errno) : "write returned 0");
        return;
    }
    c->out_off = c->out_len = 0;
}

/* The padding that brings a message text to the requested size. */
static char pad[SIZE_MAX_TEXT + 1];

/* "TAG a b c " plus padding up to o.size bytes of text. */
static void
send_msg(struct client *c, const char *target, char tag, uint64_t a, uint64_t b)
{
    uint64_t t = now_ns();
    char head[80];
    int hn = snprintf(head, sizeof(head), "%c %llu %llu %llu ", tag, (unsigned long long)a,
                      (unsigned long long)b, (unsigned long long)t);
    int padn = (int)g.o.size - hn;
    size_t before = c->out_len - c->out_off;

    out_linef(c, "PRIVMSG %s :%s%.*s\r\n", target, head, padn > 0 ? padn : 0, pad);
    if (g.phase == PH_MEASURE) {
        g.tx_bytes += c->out_len - c->out_off - before;
        g.sent++;
    }
    client_flush(c);
}

/* ---- fan-out ---- */

static void
fanout_send(struct client *c)
{
    unsigned w = g.o.scen[g.cur] == SC_RATE ? g.o.rate_window : g.o.window;
    uint64_t seq = c->next_seq++;

    g.missing[(size_t)c->sender * w + seq % w] = g.members - 1;
    send_msg(c, g.o.channel, 'F', (uint64_t)c->sender, seq);
}

/*
 * A receiver's copy of message @seq from sender @s. Each receiver gets one sender's messages in
 * order, so the last copy of message k arrives before the last copy of k + 1: a sender's
 * messages complete in order, and the window is just next_seq - done_seq.
 */
static void
fanout_receive(struct client *r, uint64_t s, uint64_t seq, uint64_t t_sent, uint64_t now)
{
    struct client *sc;
    unsigned w = g.o.scen[g.cur] == SC_RATE ? g.o.rate_window : g.o.window;
    uint32_t *exp, *miss;

    if (s >= g.o.senders || (sc = &g.c[g.senders[s]]) == r || seq >= sc->next_seq ||
        seq < sc->done_seq) {
        g.stray++;
        return;
    }
    exp = &g.expect[(size_t)r->idx * g.o.senders + s];
    if (seq != *exp) {
        g.order_errors++;
    }
    *exp = (uint32_t)seq + 1;
    if (g.phase == PH_MEASURE) {
        g.deliveries++;
        hist_add(&g.hist, now - t_sent);
    }
    miss = &g.missing[(size_t)s * w + seq % w];
    if (*miss > 0 && --*miss == 0) {
        /* Copies that never come (a receiver lost) would stall the window: that is counted as
         * lost at the end of the scenario. */
        while (sc->done_seq < sc->next_seq && g.missing[(size_t)s * w + sc->done_seq % w] == 0) {
            sc->done_seq++;
            if (g.phase == PH_MEASURE) {
                g.completed++;
            }
        }
        if (g.o.scen[g.cur] == SC_FANOUT && in_load() && sc->state == CS_READY) {
            fanout_send(sc);
        }
    }
}

/* The rate scenario's timer: every sender sends what is due, unless its window is full. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t now = now_ns();
    double el = seconds(now - g.t_load);

    if (!in_load()) {
        return;
    }
    for (unsigned s = 0; s < g.o.senders; s++) {
        struct client *c = &g.c[g.senders[s]];
        /* Sender s starts s/S of an interval late, so the senders do not send in step. */
        double due = el * g.o.rate - (double)s / (double)g.o.senders;

        if (c->state != CS_READY) {
            continue;
        }
        while ((double)c->due < due) {
            c->due++;
            if (c->next_seq - c->done_seq >= g.o.rate_window) {
                if (g.phase == PH_MEASURE) {
                    g.skipped++;
                }
                continue;
            }
            fanout_send(c);
        }
    }
}

/* ---- ping-pong ---- */

static void
ping_send(struct client *c)
{
    struct client *p = &g.c[c->peer];
    char nick[PREFIX_MAX + 16];

    snprintf(nick, sizeof(nick), "%s%u", g.o.prefix, p->idx);
    send_msg(c, nick, 'P', c->idx, c->next_seq++);
}

static void
ping_receive(struct client *r, uint64_t from, uint64_t seq, uint64_t t_sent, uint64_t now,
             const char *text, size_t n)
{
    char nick[PREFIX_MAX + 16];

    if (r->peer < 0 || from != (uint64_t)(r->initiator ? r->idx : (unsigned)r->peer)) {
        g.stray++;
        return;
    }
    if (!r->initiator) {
        /* The echo goes back at once, text unchanged. */
        snprintf(nick, sizeof(nick), "%s%u", g.o.prefix, (unsigned)r->peer);
        out_linef(r, "PRIVMSG %s :%.*s\r\n", nick, (int)n, text);
        client_flush(r);
        return;
    }
    if (seq != r->done_seq) {
        g.order_errors++;
    }
    r->done_seq = seq + 1;
    if (g.phase == PH_MEASURE) {
        g.completed++;
        hist_add(&g.hist, now - t_sent);
    }
    if (in_load() && r->state == CS_READY) {
        ping_send(r);
    }
}

/* ---- input ---- */

static bool
parse_u64(const char **pp, const char *end, uint64_t *out)
{
    const char *p = *pp;
    uint64_t v = 0;

    if (p >= end || *p < '0' || *p > '9') {
        return false;
    }
    while (p < end && *p >= '0' && *p <= '9') {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p < end && *p == ' ') {
        p++;
    }
    *pp = p;
    *out = v;
    return true;
}

/* The text of a PRIVMSG: "F sender seq time ..." or "P from seq time ...". */
static void
on_privmsg(struct client *c, const char *text, size_t n, uint64_t now)
{
    const char *p = text + 2, *end = text + n;
    uint64_t a, b, t;

    if (n < 2 || text[1] != ' ' || !parse_u64(&p, end, &a) || !parse_u64(&p, end, &b) ||
        !parse_u64(&p, end, &t)) {
        g.stray++;
        return;
    }
    if (text[0] == 'F' && g.phase >= PH_WARMUP && g.o.scen[g.cur] != SC_PINGPONG) {
        fanout_receive(c, a, b, t, now);
    } else if (text[0] == 'P' && g.phase >= PH_WARMUP && g.o.scen[g.cur] == SC_PINGPONG) {
        ping_receive(c, a, b, t, now, text, n);
    } else {
        g.stray++;
    }
}

static void
client_registered(struct client *c, uint64_t now)
{
    c->state = CS_JOINING;
    g.registered++;
    g.t_last_reg = now;
    hist_add(&g.reg_hist, now - c->t_connect);
    c->t_join = now;
    out_linef(c, "JOIN %s\r\n", g.o.channel);
    client_flush(c);
}

static void
client_joined(struct client *c, uint64_t now)
{
    c->state = CS_READY;
    g.joined++;
    g.members++;
    g.in_setup--;
    hist_add(&g.join_hist, now - c->t_join);
    setup_step();
}

/* One line from the server, without its line end. */
static void
on_line(struct client *c, const char *p, size_t n, uint64_t now)
{
    const char *end = p + n, *cmd, *sp;
    size_t cl;

    if (n > 0 && *p == '@') { /* tags: not asked for, but skip them */
        sp = memchr(p, ' ', n);
        if (sp == NULL) {
            return;
        }
        p = sp + 1;
    }
    if (p < end && *p == ':') {
        sp = memchr(p, ' ', (size_t)(end - p));
        if (sp == NULL) {
            return;
        }
        p = sp + 1;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    cmd = p;
    sp = memchr(p, ' ', (size_t)(end - p));
    cl = (size_t)((sp ? sp : end) - cmd);
    p = sp ? sp + 1 : end;

    if (cl == 7 && memcmp(cmd, "PRIVMSG", 7) == 0) {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        if (colon != NULL) {
            on_privmsg(c, colon + 1, (size_t)(end - colon - 1), now);
        } else {
            g.stray++;
        }
        return;
    }
    if (cl == 3 && cmd[0] >= '0' && cmd[0] <= '9') {
        if (memcmp(cmd, "001", 3) == 0) {
            if (c->state == CS_REGISTERING) {
                client_registered(c, now);
            }
        } else if (memcmp(cmd, "366", 3) == 0) {
            if (c->state == CS_JOINING) {
                client_joined(c, now);
            }
        } else if ((cmd[0] == '4' || cmd[0] == '5') && memcmp(cmd, "422", 3) != 0) {
            g.err_replies++;
            note_error(c, "error reply: ", cmd, (size_t)(end - cmd));
            if (c->state == CS_REGISTERING || c->state == CS_JOINING) {
                client_stop(c, NULL);
            }
        }
        return;
    }
    if (cl == 4 && memcmp(cmd, "PING", 4) == 0) {
        out_linef(c, "PONG %.*s\r\n", (int)(end - p > 500 ? 500 : end - p), p);
        client_flush(c);
        return;
    }
    if (cl == 5 && memcmp(cmd, "ERROR", 5) == 0) {
        note_error(c, "", cmd, (size_t)(end - cmd));
        g.lost++;
        client_stop(c, NULL);
    }
}

/* Lines of @p (the carry already in front); the incomplete rest goes to the carry. */
static bool
on_input(struct client *c, const char *p, size_t n)
{
    const char *end = p + n;
    uint64_t now = now_ns();

    while (p < end && c->state != CS_STOPPED) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len;

        if (nl == NULL) {
            if ((size_t)(end - p) > LINE_MAX_LEN) {
                note_error(c, "line too long", "", 0);
                client_stop(c, NULL);
                return false;
            }
            memcpy(c->carry, p, (size_t)(end - p));
            c->carry_len = (size_t)(end - p);
            return true;
        }
        len = (size_t)(nl - p);
        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
        on_line(c, p, len, now);
        p = nl + 1;
    }
    c->carry_len = 0;
    return c->state != CS_STOPPED;
}

static void
client_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;

    for (int i = 0; i < READS_PER_EVENT; i++) {
        size_t room = READ_BUF - c->carry_len;
        ssize_t n;

        memcpy(g.rbuf, c->carry, c->carry_len);
        n = read(fd, g.rbuf + c->carry_len, room);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            g.lost++;
            client_stop(c, n == 0 ? "connection closed by the server" : strerror(errno));
            return;
        }
        if (g.phase == PH_MEASURE) {
            g.rx_bytes += (uint64_t)n;
        }
        if (!on_input(c, g.rbuf, c->carry_len + (size_t)n)) {
            return;
        }
        if ((size_t)n < room) {
            break; /* most likely empty now: save the read() that would say so */
        }
    }
}

static void
client_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;

    c->wev_pending = false;
    client_flush(c);
}

/* ---- connections ---- */

static void
client_close(struct client *c)
{
    if (c->rev) {
        event_free(c->rev);
        c->rev = NULL;
    }
    if (c->wev) {
        event_free(c->wev);
        c->wev = NULL;
    }
    c->wev_pending = false;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

/* @why: a message for the error count, or NULL when the caller has already counted it. */
static void
client_stop(struct client *c, const char *why)
{
    enum cstate was = c->state;

    if (was == CS_STOPPED) {
        return;
    }
    if (why != NULL) {
        note_error(c, "", why, strlen(why));
    }
    client_close(c);
    c->state = CS_STOPPED;
    g.stopped++;
    if (was == CS_CONNECTING) {
        g.connecting--;
    }
    if (was == CS_READY) {
        g.members--;
    }
    if (was == CS_CONNECTING || was == CS_REGISTERING || was == CS_JOINING) {
        g.in_setup--;
        if (g.phase == PH_SETUP) {
            setup_step();
        }
    }
    if (g.stopped == g.o.clients && g.phase != PH_DONE) {
        finish(); /* nobody is left */
    }
}

static void
client_connected_cb(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    int err = 0;
    socklen_t len = sizeof(err);

    c->wev_pending = false;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        err = errno;
    }
    if (err != 0) {
        client_stop(c, strerror(err));
        return;
    }
    g.connecting--;
    event_free(c->wev);
    c->wev = event_new(g.base, fd, EV_WRITE, client_write_cb, c);
    c->rev = event_new(g.base, fd, EV_READ | EV_PERSIST, client_read_cb, c);
    if (c->wev == NULL || c->rev == NULL) {
        client_stop(c, "cannot create events");
        return;
    }
    event_add(c->rev, NULL);
    c->state = CS_REGISTERING;
    out_linef(c, "NICK %s%u\r\nUSER %s%u 0 * :ircload\r\n", g.o.prefix, c->idx, g.o.prefix, c->idx);
    client_flush(c);
    setup_step();
}

/* Opens @c's connection without blocking; the rest happens in client_connected_cb. */
static void
client_launch(struct client *c)
{
    int one = 1;

    c->state = CS_CONNECTING;
    c->t_connect = now_ns();
    g.connecting++;
    g.in_setup++;
    c->fd = socket(g.o.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        client_stop(c, strerror(errno));
        return;
    }
    /* Chat lines are small and latency is measured: no Nagle. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&g.o.sa, (socklen_t)g.o.salen) < 0 &&
        errno != EINPROGRESS) {
        client_stop(c, strerror(errno));
        return;
    }
    c->wev = event_new(g.base, c->fd, EV_WRITE, client_connected_cb, c);
    if (c->wev == NULL) {
        client_stop(c, "cannot create an event");
        return;
    }
    event_add(c->wev, NULL);
    c->wev_pending = true;
}

/* ---- phases ---- */

static void
setup_done(void)
{
    g.t_setup_done = now_ns();
    cpu_take(&g.cpu_setup, g.o.server_pid);
    g.rss_after_kb = rss_kb(g.o.server_pid);
    evtimer_del(g.setup_timer);
    print_connect();
    g.phase = PH_IDLE;
    scenario_next();
}

/* Launches clients while fewer than reg_parallel are in setup, and ends the setup phase. */
static void
setup_step(void)
{
    if (g.phase != PH_SETUP) {
        return;
    }
    while (g.launched < g.o.clients && g.in_setup < g.o.reg_parallel &&
           g.connecting < CONNECTING_MAX) {
        client_launch(&g.c[g.launched++]);
        if (g.phase != PH_SETUP) {
            return;
        }
    }
    if (g.launched == g.o.clients && g.in_setup == 0) {
        setup_done();
    }
}

static void
print_connect(void)
{
    double secs = seconds(g.t_setup_done - g.t_start);
    double reg_secs = g.t_last_reg > g.t_start ? seconds(g.t_last_reg - g.t_start) : 0.0;
    double scpu = g.cpu_setup.server - g.cpu_start.server;
    struct hist_us r, j;
    char per[32] = "-";

    hist_summary_us(&g.reg_hist, &r);
    hist_summary_us(&g.join_hist, &j);
    if (g.rss_before_kb >= 0 && g.rss_after_kb >= 0 && g.joined > 0) {
        snprintf(per, sizeof(per), "%.0f",
                 (double)(g.rss_after_kb - g.rss_before_kb) * 1024.0 / (double)g.joined);
    }
    printf("setup: %u of %u client(s) registered, %u joined %s in %.3f s (registrations/s %.1f, "
           "at most %u in progress); server CPU %.2f s; RSS %ld kB -> %ld kB\n",
           g.registered, g.o.clients, g.joined, g.o.channel, secs,
           reg_secs > 0 ? (double)g.registered / reg_secs : 0.0, g.o.reg_parallel, scpu,
           g.rss_before_kb, g.rss_after_kb);
    printf("connect clients=%u registered=%u joined=%u seconds=%.3f reg_seconds=%.3f "
           "reg_per_s=%.1f clients_per_s=%.1f reg_p50_us=%.0f reg_p99_us=%.0f reg_max_us=%.0f "
           "join_p50_us=%.0f join_p99_us=%.0f join_max_us=%.0f server_cpu_s=%.3f "
           "server_cpu_us_per_client=%.0f rss_before_kb=%ld rss_after_kb=%ld "
           "rss_per_client_b=%s errors=%lu\n",
           g.o.clients, g.registered, g.joined, secs, reg_secs,
           reg_secs > 0 ? (double)g.registered / reg_secs : 0.0,
           secs > 0 ? (double)g.joined / secs : 0.0, r.p50, r.p99, r.max, j.p50, j.p99, j.max, scpu,
           g.joined ? scpu * 1e6 / (double)g.joined : 0.0, g.rss_before_kb, g.rss_after_kb, per,
           g.errors);
    fflush(stdout);
}

static void
print_summary(void)
{
    enum scenario sc = g.o.scen[g.cur];
    double secs = g.t_end > g.t_measure && g.t_measure ? seconds(g.t_end - g.t_measure) : 0.0;
    double scpu = g.cpu_end.server - g.cpu_measure.server;
    uint64_t outstanding = 0;
    struct hist_us us;
    char server_cpu[24] = "-", per_cpu[24] = "-";
    double work = sc == SC_PINGPONG ? (double)g.completed : (double)g.deliveries;

    for (unsigned i = 0; i < g.o.clients; i++) {
        outstanding += g.c[i].next_seq - g.c[i].done_seq;
    }
    hist_summary_us(&g.hist, &us);
    if (g.o.server_pid > 0) {
        snprintf(server_cpu, sizeof(server_cpu), "%.0f", cpu_pct(scpu, secs));
        if (scpu > 0) {
            snprintf(per_cpu, sizeof(per_cpu), "%.0f", work / scpu);
        }
    }
    if (sc == SC_PINGPONG) {
        printf("pingpong: %u pair(s), %u in flight each: %llu round trips in %.3f s = %.1f/s; "
               "round trip p50 %.0f p99 %.0f p99.9 %.0f max %.0f us\n",
               g.o.pairs, g.o.pp_window, (unsigned long long)g.completed, secs,
               secs > 0 ? (double)g.completed / secs : 0.0, us.p50, us.p99, us.p999, us.max);
    } else {
        printf("%s: %u member(s), %u sender(s), window %u%s: %llu messages sent, %llu complete, "
               "%llu deliveries in %.3f s = %.1f deliveries/s; latency p50 %.0f p99 %.0f "
               "p99.9 %.0f max %.0f us\n",
               scen_names[sc], g.members, g.o.senders, sc == SC_RATE ? g.o.rate_window : g.o.window,
               sc == SC_RATE ? " (rate mode)" : "", (unsigned long long)g.sent,
               (unsigned long long)g.completed, (unsigned long long)g.deliveries, secs,
               secs > 0 ? (double)g.deliveries / secs : 0.0, us.p50, us.p99, us.p999, us.max);
    }
    printf("measured: %.3f s%s; CPU in %% of one core: generator %.0f, server %s, machine %.0f; "
           "not delivered after the drain: %llu; out of order: %llu; stray lines: %llu\n",
           secs, g.interrupted ? " (interrupted)" : "",
           cpu_pct(g.cpu_end.self - g.cpu_measure.self, secs), server_cpu,
           cpu_pct(g.cpu_end.machine - g.cpu_measure.machine, secs),
           (unsigned long long)outstanding, (unsigned long long)g.order_errors,
           (unsigned long long)g.stray);
    printf("summary mode=%s clients=%u members=%u senders=%u pairs=%u window=%u rate=%g size=%u "
           "seconds=%.3f sent=%llu msgs_per_s=%.1f completed=%llu deliveries=%llu "
           "deliveries_per_s=%.1f roundtrips_per_s=%.1f skipped=%llu p50_us=%.0f p90_us=%.0f "
           "p99_us=%.0f p999_us=%.0f max_us=%.0f lost=%llu order_errors=%llu stray=%llu "
           "errors=%lu server_cpu=%s server_cpu_s=%.3f per_server_cpu_s=%s gen_cpu=%.0f "
           "machine_cpu=%.0f rx_bytes=%llu tx_bytes=%llu\n",
           scen_names[sc], g.o.clients, g.members, sc == SC_PINGPONG ? 0 : g.o.senders,
           sc == SC_PINGPONG ? g.o.pairs : 0,
           sc == SC_RATE       ? g.o.rate_window
           : sc == SC_PINGPONG ? g.o.pp_window
                               : g.o.window,
           sc == SC_RATE ? g.o.rate : 0.0, g.o.size, secs, (unsigned long long)g.sent,
           secs > 0 ? (double)g.sent / secs : 0.0, (unsigned long long)g.completed,
           (unsigned long long)g.deliveries, secs > 0 ? (double)g.deliveries / secs : 0.0,
           secs > 0 && sc == SC_PINGPONG ? (double)g.completed / secs : 0.0,
           (unsigned long long)g.skipped, us.p50, us.p90, us.p99, us.p999, us.max,
           (unsigned long long)outstanding, (unsigned long long)g.order_errors,
           (unsigned long long)g.stray, g.errors, server_cpu, scpu, per_cpu,
           cpu_pct(g.cpu_end.self - g.cpu_measure.self, secs),
           cpu_pct(g.cpu_end.machine - g.cpu_measure.machine, secs), (unsigned long long)g.rx_bytes,
           (unsigned long long)g.tx_bytes);
    fflush(stdout);
}

static void
begin_measure(void)
{
    g.phase = PH_MEASURE;
    g.t_measure = now_ns();
    cpu_take(&g.cpu_measure, g.o.server_pid);
    arm_timer(g.phase_timer, g.o.duration);
}

/* Starts scenario g.cur on every ready client. */
static void
scenario_start(void)
{
    enum scenario sc = g.o.scen[g.cur];

    g.sent = g.deliveries = g.completed = g.skipped = g.rx_bytes = g.tx_bytes = 0;
    g.order_errors = g.stray = 0;
    g.t_measure = g.t_end = 0;
    memset(&g.hist, 0, sizeof(g.hist));
    for (unsigned i = 0; i < g.o.clients; i++) {
        g.c[i].next_seq = g.c[i].done_seq = g.c[i].due = 0;
    }
    if (sc != SC_PINGPONG) {
        size_t w = sc == SC_RATE ? g.o.rate_window : g.o.window;
        memset(g.missing, 0, (size_t)g.o.senders * w * sizeof(*g.missing));
        memset(g.expect, 0, (size_t)g.o.clients * g.o.senders * sizeof(*g.expect));
    }
    g.phase = PH_WARMUP;
    g.t_load = now_ns();
    if (sc == SC_FANOUT) {
        for (unsigned s = 0; s < g.o.senders; s++) {
            struct client *c = &g.c[g.senders[s]];
            for (unsigned k = 0; k < g.o.window && c->state == CS_READY; k++) {
                fanout_send(c);
            }
        }
    } else if (sc == SC_RATE) {
        struct timeval tv = {0, TICK_US};
        event_add(g.tick_timer, &tv);
    } else {
        for (unsigned i = 0; i < g.o.clients; i++) {
            struct client *c = &g.c[i];
            for (unsigned k = 0; k < g.o.pp_window && c->initiator && c->state == CS_READY; k++) {
                ping_send(c);
            }
        }
    }
    if (g.o.warmup > 0) {
        arm_timer(g.phase_timer, g.o.warmup);
    } else {
        begin_measure();
    }
}

static bool
all_done(void)
{
    for (unsigned i = 0; i < g.o.clients; i++) {
        if (g.c[i].state == CS_READY && g.c[i].next_seq != g.c[i].done_seq) {
            return false;
        }
    }
    return true;
}

/* The measured window is over: stop sending, then wait for what is still on its way. */
static void
begin_drain(void)
{
    g.t_end = now_ns();
    cpu_take(&g.cpu_end, g.o.server_pid);
    event_del(g.tick_timer);
    g.phase = PH_DRAIN;
    arm_timer(g.phase_timer, 0.02);
}

static void
scenario_end(void)
{
    print_summary();
    g.cur++;
    g.phase = PH_IDLE;
    scenario_next();
}

static void
scenario_next(void)
{
    if (g.cur >= g.o.nscen || g.members == 0) {
        finish();
        return;
    }
    scenario_start();
}

static void
phase_cb(evutil_socket_t fd, short what, void *arg)
{
    switch (g.phase) {
    case PH_WARMUP:
        begin_measure();
        break;
    case PH_MEASURE:
        begin_drain();
        break;
    case PH_DRAIN:
        /* Polled every 20 ms, up to o.drain seconds. */
        if (all_done() || seconds(now_ns() - g.t_end) >= g.o.drain) {
            scenario_end();
        } else {
            arm_timer(g.phase_timer, 0.02);
        }
        break;
    default:
        break;
    }
}

static void
finish(void)
{
    if (g.phase == PH_DONE) {
        return;
    }
    if (g.phase == PH_WARMUP || g.phase == PH_MEASURE || g.phase == PH_DRAIN) {
        if (g.t_end == 0) {
            g.t_end = now_ns();
            cpu_take(&g.cpu_end, g.o.server_pid);
        }
        print_summary();
    }
    g.phase = PH_DONE;
    event_base_loopbreak(g.base);
}

static void
setup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    if (g.phase != PH_SETUP) {
        return;
    }
    fprintf(stderr, "ircload: setup timed out after %.0f s: %u of %u client(s) joined\n",
            g.o.setup_timeout, g.joined, g.o.clients);
    for (unsigned i = 0; i < g.o.clients; i++) {
        struct client *c = &g.c[i];
        if (c->state == CS_CONNECTING || c->state == CS_REGISTERING || c->state == CS_JOINING) {
            client_stop(c, "setup timed out");
        }
    }
    g.launched = g.o.clients;
    if (g.phase == PH_SETUP) {
        setup_done();
    }
}

/* The outer bound: the run ends by setup timeout + scenarios + 30 s, whatever happens. */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    fprintf(stderr, "ircload: hard time limit reached\n");
    g.interrupted = true;
    finish();
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    g.interrupted = true;
    finish();
}

/* ---- options ---- */

static void
usage(FILE *f)
{
    fprintf(
        f,
        "usage: ircload [-a HOST:PORT] [-n CLIENTS] [-m SCENARIOS] [-S SENDERS] [-W WINDOW]\n"
        "               [-r RATE] [--pairs P] [--size BYTES] [-d SECONDS] [-w SECONDS]\n"
        "               [--server-pid PID]\n"
        "\n"
        "IRC load generator. CLIENTS clients connect, register (NICK/USER, wait for 001) and\n"
        "join one channel; then each scenario of the comma-separated list runs on them:\n"
        "  fanout    SENDERS members send PRIVMSGs to the channel, each keeping WINDOW messages\n"
        "            not yet received by every other member\n"
        "  rate      the same senders send RATE messages a second each (at most --rate-window\n"
        "            undelivered; a message due while the window is full is skipped, counted)\n"
        "  pingpong  P pairs of clients: one sends a PRIVMSG to the other, which sends the\n"
        "            text back at once; WINDOW exchanges in flight per pair\n"
        "\n"
        "  -a, --address HOST:PORT   the server (default 127.0.0.1:6667)\n"
        "  -n, --clients N           clients (default 100)\n"
        "  -m, --scenarios LIST      fanout, rate, pingpong (default fanout,pingpong), or\n"
        "                            connect: only the setup\n"
        "  -S, --senders S           fan-out senders, spread over the clients (default 10)\n"
        "  -W, --window W            fanout window (default 4)\n"
        "  -r, --rate R              messages per second per sender, rate scenario (default 10)\n"
        "      --rate-window W       rate scenario's cap on undelivered messages (default 64)\n"
        "      --pairs P             ping-pong pairs (default: clients / 2)\n"
        "      --pingpong-window W   exchanges in flight per pair (default 1)\n"
        "      --size BYTES          message text size, at least 40 (default 64)\n"
        "  -d, --duration SECONDS    measured time per scenario (default 5)\n"
        "  -w, --warmup SECONDS      load before it, not measured (default 1)\n"
        "      --drain SECONDS       wait at most this long for messages on their way (5)\n"
        "      --reg-parallel C      clients registering or joining at once (default 100)\n"
        "      --setup-timeout S     limit for the whole setup (default 120)\n"
        "      --channel NAME        (default #bench)\n"
        "      --nick-prefix P       nicks are P0, P1, ... (default u)\n"
        "      --server-pid PID      report the CPU time and VmRSS of process PID (/proc)\n"
        "  -h, --help                show this help\n"
        "\n"
        "Every message text is 'F sender seq time' or 'P from seq time' plus padding; latency\n"
        "is from that time (this process's monotonic clock) to receipt, per delivery for the\n"
        "fan-outs, per round trip for ping-pong. Output: one 'connect ...' line, then one\n"
        "'summary ...' line per scenario (key=value). SIGINT or SIGTERM ends the run.\n");
}

static bool
parse_scenarios(const char *s, struct options *o)
{
    char buf[128];
    char *save = NULL, *tok;

    if (!str_copy(buf, sizeof(buf), s)) {
        return false;
    }
    o->nscen = 0;
    if (strcmp(s, "connect") == 0) {
        return true; /* only the setup: connect, register, join */
    }
    for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        unsigned i;
        for (i = 0; i < 3; i++) {
            if (strcmp(tok, scen_names[i]) == 0) {
                break;
            }
        }
        if (i == 3 || o->nscen == SCENARIOS_MAX) {
            return false;
        }
        o->scen[o->nscen++] = (enum scenario)i;
    }
    return o->nscen > 0;
}

static int
parse_options(int argc, char **argv)
{
    /* clang-format off */
    static const struct option longopts[] = {
        {"address", required_argument, NULL, 'a'},
        {"clients", required_argument, NULL, 'n'},
        {"scenarios", required_argument, NULL, 'm'},
        {"senders", required_argument, NULL, 'S'},
        {"window", required_argument, NULL, 'W'},
        {"rate", required_argument, NULL, 'r'},
        {"rate-window", required_argument, NULL, 'R'},
        {"pairs", required_argument, NULL, 'p'},
        {"pingpong-window", required_argument, NULL, 'K'},
        {"size", required_argument, NULL, 'z'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"drain", required_argument, NULL, 'x'},
        {"reg-parallel", required_argument, NULL, 'C'},
        {"setup-timeout", required_argument, NULL, 'T'},
        {"channel", required_argument, NULL, 'c'},
        {"nick-prefix", required_argument, NULL, 'P'},
        {"server-pid", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    struct options *o = &g.o;
    long v, pairs = -1;
    int ch;

    o->addr_text = "127.0.0.1:6667";
    o->clients = 100;
    o->senders = 10;
    o->window = 4;
    o->pp_window = 1;
    o->rate = 10;
    o->rate_window = 64;
    o->size = 64;
    o->duration = 5;
    o->warmup = 1;
    o->drain = 5;
    o->reg_parallel = 100;
    o->setup_timeout = 120;
    o->scen[0] = SC_FANOUT;
    o->scen[1] = SC_PINGPONG;
    o->nscen = 2;
    str_copy(o->channel, sizeof(o->channel), "#bench");
    str_copy(o->prefix, sizeof(o->prefix), "u");

    while ((ch = getopt_long(argc, argv, "a:n:m:S:W:r:d:w:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            o->addr_text = optarg;
            break;
        case 'n':
            if (!parse_long(optarg, 2, CLIENTS_MAX, &v)) {
                fprintf(stderr, "ircload: -n %s: want 2 to %d clients\n", optarg, CLIENTS_MAX);
                return -1;
            }
            o->clients = (unsigned)v;
            break;
        case 'm':
            if (!parse_scenarios(optarg, o)) {
                fprintf(stderr, "ircload: -m %s: want a list of fanout, rate, pingpong\n", optarg);
                return -1;
            }
            break;
        case 'S':
            if (!parse_long(optarg, 1, SENDERS_MAX, &v)) {
                fprintf(stderr, "ircload: -S %s: want 1 to %d senders\n", optarg, SENDERS_MAX);
                return -1;
            }
            o->senders = (unsigned)v;
            break;
        case 'W':
        case 'R':
        case 'K':
            if (!parse_long(optarg, 1, WINDOW_MAX, &v)) {
                fprintf(stderr, "ircload: window %s: want 1 to %d\n", optarg, WINDOW_MAX);
                return -1;
            }
            *(ch == 'W' ? &o->window : ch == 'R' ? &o->rate_window : &o->pp_window) = (unsigned)v;
            break;
        case 'r': {
            char *end;
            errno = 0;
            o->rate = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || !(o->rate >= 0.01 && o->rate <= 1e6)) {
                fprintf(stderr, "ircload: -r %s: want 0.01 to 1000000 messages/s\n", optarg);
                return -1;
            }
            break;
        }
        case 'p':
            if (!parse_long(optarg, 1, CLIENTS_MAX / 2, &pairs)) {
                fprintf(stderr, "ircload: --pairs %s: want 1 to %d\n", optarg, CLIENTS_MAX / 2);
                return -1;
            }
            break;
        case 'z':
            if (!parse_long(optarg, 40, SIZE_MAX_TEXT, &v)) {
                fprintf(stderr, "ircload: --size %s: want 40 to %d bytes\n", optarg, SIZE_MAX_TEXT);
                return -1;
            }
            o->size = (unsigned)v;
            break;
        case 'd':
        case 'w':
        case 'x':
        case 'T': {
            double *dst = ch == 'd'   ? &o->duration
                          : ch == 'w' ? &o->warmup
                          : ch == 'x' ? &o->drain
                                      : &o->setup_timeout;
            double min = ch == 'd' ? 0.1 : ch == 'T' ? 1 : 0;
            if (!parse_seconds(optarg, min, 3600, dst)) {
                fprintf(stderr, "ircload: -%c %s: want %g to 3600 seconds\n", ch, optarg, min);
                return -1;
            }
            break;
        }
        case 'C':
            if (!parse_long(optarg, 1, CLIENTS_MAX, &v)) {
                fprintf(stderr, "ircload: --reg-parallel %s: want 1 to %d\n", optarg, CLIENTS_MAX);
                return -1;
            }
            o->reg_parallel = (unsigned)v;
            break;
        case 'c':
            if ((optarg[0] != '#' && optarg[0] != '&') || strlen(optarg) < 2 ||
                strpbrk(optarg, " ,\a\r\n") != NULL ||
                !str_copy(o->channel, sizeof(o->channel), optarg)) {
                fprintf(stderr, "ircload: --channel %s: want #name, at most %d bytes\n", optarg,
                        CHANNEL_MAX);
                return -1;
            }
            break;
        case 'P':
            if (strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") < 1 ||
                strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                    strlen(optarg) ||
                !str_copy(o->prefix, sizeof(o->prefix), optarg)) {
                fprintf(stderr,
                        "ircload: --nick-prefix %s: want a letter, then letters, digits "
                        "or _, at most %d\n",
                        optarg, PREFIX_MAX);
                return -1;
            }
            break;
        case 'D':
            if (!parse_long(optarg, 1, 1L << 30, &o->server_pid)) {
                fprintf(stderr, "ircload: --server-pid %s: not a process id\n", optarg);
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
        fprintf(stderr, "ircload: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->senders > o->clients) {
        fprintf(stderr, "ircload: %u senders but only %u clients\n", o->senders, o->clients);
        return -1;
    }
    o->pairs = pairs > 0 ? (unsigned)pairs : o->clients / 2;
    if (o->pairs > o->clients / 2) {
        fprintf(stderr, "ircload: %u pairs need %u clients\n", o->pairs, 2 * o->pairs);
        return -1;
    }
    o->salen = sizeof(o->sa);
    if (evutil_parse_sockaddr_port(o->addr_text, (struct sockaddr *)&o->sa, &o->salen) < 0 ||
        strchr(o->addr_text, ':') == NULL) {
        fprintf(stderr, "ircload: -a %s: want a numeric HOST:PORT or [IPv6]:PORT\n", o->addr_text);
        return -1;
    }
    return 0;
}

/* ---- main ---- */

static void
setup_roles(void)
{
    size_t wmax = g.o.window > g.o.rate_window ? g.o.window : g.o.rate_window;

    g.senders = xalloc(g.o.senders * sizeof(*g.senders));
    g.missing = xalloc((size_t)g.o.senders * wmax * sizeof(*g.missing));
    g.expect = xalloc((size_t)g.o.clients * g.o.senders * sizeof(*g.expect));
    for (unsigned i = 0; i < g.o.clients; i++) {
        g.c[i].sender = -1;
        g.c[i].peer = -1;
    }
    /* Senders spread evenly over the join order, so they are not all early joiners. */
    for (unsigned s = 0; s < g.o.senders; s++) {
        unsigned idx = (unsigned)((uint64_t)s * g.o.clients / g.o.senders);
        g.senders[s] = (int)idx;
        g.c[idx].sender = (int)s;
    }
    for (unsigned p = 0; p < g.o.pairs; p++) {
        g.c[2 * p].peer = (int)(2 * p + 1);
        g.c[2 * p].initiator = true;
        g.c[2 * p + 1].peer = (int)(2 * p);
    }
}

static void
cleanup(void)
{
    for (unsigned i = 0; g.c && i < g.o.clients; i++) {
        client_close(&g.c[i]);
        free(g.c[i].carry);
        free(g.c[i].out);
    }
    free(g.c);
    free(g.senders);
    free(g.missing);
    free(g.expect);
    free(g.rbuf);
    struct event *evs[] = {g.phase_timer, g.setup_timer, g.deadline_timer,
                           g.tick_timer,  g.sigint_ev,   g.sigterm_ev};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if (evs[i]) {
            event_free(evs[i]);
        }
    }
    event_base_free(g.base);
}

int
main(int argc, char **argv)
{
    double scen_secs;
    int rc;

    if (parse_options(argc, argv) < 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    loop_raise_fd_limit();
    memset(pad, 'x', SIZE_MAX_TEXT);
    g.base = event_base_new();
    if (g.base == NULL) {
        fprintf(stderr, "ircload: cannot create an event base\n");
        return 1;
    }
    g.phase_timer = evtimer_new(g.base, phase_cb, NULL);
    g.setup_timer = evtimer_new(g.base, setup_timeout_cb, NULL);
    g.deadline_timer = evtimer_new(g.base, deadline_cb, NULL);
    g.tick_timer = event_new(g.base, -1, EV_PERSIST, tick_cb, NULL);
    g.sigint_ev = evsignal_new(g.base, SIGINT, signal_cb, NULL);
    g.sigterm_ev = evsignal_new(g.base, SIGTERM, signal_cb, NULL);
    event_add(g.sigint_ev, NULL);
    event_add(g.sigterm_ev, NULL);

    g.rbuf = xalloc(READ_BUF + LINE_MAX_LEN);
    g.c = xalloc(g.o.clients * sizeof(*g.c));
    for (unsigned i = 0; i < g.o.clients; i++) {
        g.c[i].idx = i;
        g.c[i].fd = -1;
        g.c[i].carry = xalloc(LINE_MAX_LEN + 1);
    }
    setup_roles();

    printf("ircload: server=%s clients=%u channel=%s scenarios=", g.o.addr_text, g.o.clients,
           g.o.channel);
    for (unsigned i = 0; i < g.o.nscen; i++) {
        printf("%s%s", i ? "," : "", scen_names[g.o.scen[i]]);
    }
    printf(" senders=%u window=%u rate=%g/s rate-window=%u pairs=%u pingpong-window=%u size=%u "
           "duration=%.1fs warmup=%.1fs reg-parallel=%u\n",
           g.o.senders, g.o.window, g.o.rate, g.o.rate_window, g.o.pairs, g.o.pp_window, g.o.size,
           g.o.duration, g.o.warmup, g.o.reg_parallel);
    fflush(stdout);

    g.rss_before_kb = rss_kb(g.o.server_pid);
    cpu_take(&g.cpu_start, g.o.server_pid);
    g.t_start = now_ns();
    scen_secs = (double)g.o.nscen * (g.o.warmup + g.o.duration + g.o.drain + 1);
    arm_timer(g.setup_timer, g.o.setup_timeout);
    arm_timer(g.deadline_timer, g.o.setup_timeout + scen_secs + 30);
    g.phase = PH_SETUP;
    setup_step();
    if (g.phase != PH_DONE) {
        event_base_dispatch(g.base);
    }
    if (g.t_setup_done == 0) { /* interrupted during the setup */
        g.t_setup_done = now_ns();
        cpu_take(&g.cpu_setup, g.o.server_pid);
        print_connect();
    }
    printf("errors: %lu (error replies: %lu, connections lost: %lu)%s%s\n", g.errors, g.err_replies,
           g.lost, g.first_error[0] ? "; first: " : "", g.first_error);
    rc = g.joined == g.o.clients && g.errors == 0 && !g.interrupted ? 0 : 1;
    cleanup();
    return rc;
}
