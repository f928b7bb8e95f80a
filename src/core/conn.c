/* SPDX-License-Identifier: MIT */
/*
 * Session life cycle on top of libevent bufferevents. Frames are delivered in order, one at a
 * time; a service may pause delivery while an asynchronous step runs. Sessions are never freed
 * inside a callback chain: closing marks the session and a deferred event frees it on the next
 * loop turn. A closing session first flushes its output, then half-closes and discards input for
 * a short linger, so a peer that was still sending reads our error instead of a reset.
 *
 * Output is written the way Redis does it: replies pile up in the output buffer while the owner's
 * callbacks run, and are written with one system call when they return. Only what the socket does
 * not take at once is left to libevent's write event, so a request answered in full costs no
 * epoll_ctl() calls (a bufferevent would add and remove its write event for every reply).
 * Output sent to a session from elsewhere (another session's callback, a timer) is not written at
 * once either: the session joins a per-thread list that is flushed when the outermost callback
 * returns, so a message fanned out N times to M sessions costs at most M writes.
 *
 * TLS sessions (accepted on a listener_set_add_tls() socket) are bufferevent_openssl ones: the
 * bufferevent encrypts and writes, so for them a flush only turns its write event on.
 */
#include "core/conn.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/loops.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/tls.h"

#define CONN_LINGER_SECONDS 2.0
/* sess_send_shared() copies messages up to this size instead of queueing a reference. */
#define SHARED_COPY_MAX 256

enum {
    CONN_F_PAUSED = 1 << 0,       /* the service asked for no more frames for now */
    CONN_F_CLOSING = 1 << 1,      /* flushing output, then linger, then free */
    CONN_F_EOF = 1 << 2,          /* the peer will send nothing more */
    CONN_F_BACKPRESSURE = 1 << 3, /* our output to this peer is backed up: stop reading */
    CONN_F_DEAD = 1 << 4,         /* free on the next loop turn, no more I/O */
    CONN_F_LINGER = 1 << 5,       /* output flushed and write side shut down */
    CONN_F_CONNECTING = 1 << 6,   /* conn_connect(): waiting for the connection */
    CONN_F_PREFACE = 1 << 7,      /* the first bytes may still be the endpoint's preface */
    CONN_F_BUSY = 1 << 8,         /* in a callback of the owner: output is flushed after it */
    CONN_F_WRITING = 1 << 9,      /* EV_WRITE is on: libevent writes the rest of the output */
    CONN_F_TLS = 1 << 10,         /* a bufferevent_openssl: it does all the writing */
    CONN_F_HANDSHAKE = 1 << 11,   /* TLS: the handshake has not finished yet */
    CONN_F_PENDING = 1 << 12,     /* on the thread's list of sessions to flush */
    CONN_F_OWNREAD = 1 << 13,     /* a plain accepted socket: read by rd_cb, not the bufferevent */
    CONN_F_INFULL = 1 << 14,      /* OWNREAD: input at its high-water mark, reading stopped */
};

/* Most bytes one read takes (libevent's own bufferevents read 16 KiB at a time too). */
#define CONN_READ_MAX 16384

struct shared_bytes {
    atomic_size_t refs;
    size_t len;
    char data[];
};

struct conn {
    struct session s; /* first member: a session pointer is a conn pointer */
    struct bufferevent *bev;
    struct event *defer;  /* runs deferred work: resume frame delivery, or free */
    struct event *linger; /* bounds the linger phase */
    unsigned flags;
    bool opened; /* on_open ran, so on_close is owed */
    struct conn *prev, *next;
    struct conn *pend_prev, *pend_next; /* the pending list, while CONN_F_PENDING */
    /* CONN_F_OWNREAD: our read event, its idle timeout and the input's high-water mark */
    struct event *rd;
    struct timeval rd_tv;
    bool rd_timeout, rd_on;
    size_t rd_hiwat;
};

/* Each loop (the main one and every serving loop) owns its sessions; only the counters are
 * shared between threads. */
static _Thread_local struct conn *all_conns;
static _Thread_local struct map *by_id;
static atomic_uint_fast64_t next_id = 1;
static atomic_size_t live;

/* Sessions with output queued from outside their own callbacks (fan-out from another session,
 * a timer), written once at the end of the loop turn (loop_run()'s turn-end hook): a session
 * that gets a message from each of several senders in one turn still costs one write. */
static _Thread_local struct conn *pending;

static void process(struct conn *c);
static void flush_output(struct conn *c);

static struct conn *
conn_of(struct session *s)
{
    return (struct conn *)s;
}

static void
set_end(struct conn *c, const char *why)
{
    if (c->s.end[0] == '\0') {
        snprintf(c->s.end, sizeof(c->s.end), "%s", why);
    }
}

static void
pending_del(struct conn *c)
{
    if (!(c->flags & CONN_F_PENDING)) {
        return;
    }
    c->flags &= ~CONN_F_PENDING;
    if (c->pend_prev) {
        c->pend_prev->pend_next = c->pend_next;
    } else {
        pending = c->pend_next;
    }
    if (c->pend_next) {
        c->pend_next->pend_prev = c->pend_prev;
    }
    c->pend_prev = c->pend_next = NULL;
}

static void
flush_pending(void)
{
    while (pending) {
        struct conn *c = pending;
        pending_del(c);
        flush_output(c); /* calls no owner callback, so the list cannot grow meanwhile */
    }
}

/* @c has new output and is not in a callback of its own that would flush it afterwards. */
static void
pending_add(struct conn *c)
{
    if (c->flags &
        (CONN_F_PENDING | CONN_F_DEAD | CONN_F_BUSY | CONN_F_WRITING | CONN_F_CONNECTING)) {
        return;
    }
    c->flags |= CONN_F_PENDING;
    c->pend_prev = NULL;
    c->pend_next = pending;
    if (pending) {
        pending->pend_prev = c;
    }
    pending = c;
    loop_set_turn_end(flush_pending);
}

static void
conn_free(struct conn *c)
{
    if (c->opened && c->s.ep->ops->on_close) {
        c->opened = false;
        set_end(c, "closed");
        c->s.ep->ops->on_close(&c->s);
    }
    pending_del(c);
    map_del(by_id, &c->s.id, sizeof(c->s.id));
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        all_conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    atomic_fetch_sub(&c->s.ep->nsessions, 1);
    live--;
    log_debug("%s: session %llu from %s closed", c->s.ep->name, (unsigned long long)c->s.id,
              c->s.peer_str);
    if (c->rd) {
        event_free(c->rd);
    }
    bufferevent_free(c->bev);
    event_free(c->defer);
    if (c->linger) {
        event_free(c->linger);
    }
    free(c);
}

/*
 * Reading. A bufferevent sizes every read with an ioctl(FIONREAD) first, one system call more per
 * request than the read itself; plain sockets we accepted are therefore read by our own event
 * into space reserved in the same input buffer (CONN_F_OWNREAD), with the same idle timeout and
 * high-water mark. Outbound and TLS sessions keep the bufferevent's reading.
 */
static void
reading_set(struct conn *c, bool on)
{
    if (!(c->flags & CONN_F_OWNREAD)) {
        if (on) {
            bufferevent_enable(c->bev, EV_READ);
        } else {
            bufferevent_disable(c->bev, EV_READ);
        }
        return;
    }
    if (on && !c->rd_on) {
        event_add(c->rd, c->rd_timeout ? &c->rd_tv : NULL);
        c->rd_on = true;
    } else if (!on && c->rd_on) {
        event_del(c->rd);
        c->rd_on = false;
    }
}

static bool
reading_on(const struct conn *c)
{
    if (c->flags & CONN_F_OWNREAD) {
        return c->rd_on;
    }
    return (bufferevent_get_enabled(c->bev) & EV_READ) != 0;
}

/* The idle timeout (@tv NULL: none) and the input's high-water mark (0: none). */
static void
reading_limits(struct conn *c, const struct timeval *tv, size_t hiwat)
{
    if (!(c->flags & CONN_F_OWNREAD)) {
        struct timeval wtv = loop_tv(c->s.ep->write_timeout);
        bufferevent_set_timeouts(c->bev, tv, c->s.ep->write_timeout > 0 ? &wtv : NULL);
        bufferevent_setwatermark(c->bev, EV_READ, 0, hiwat);
        return;
    }
    c->rd_timeout = tv != NULL;
    if (tv) {
        c->rd_tv = *tv;
    }
    c->rd_hiwat = hiwat;
    if (c->rd_on) {
        c->rd_on = false;
        reading_set(c, true); /* re-armed with the new timeout */
    }
}

static void
free_later(struct conn *c)
{
    if (c->flags & CONN_F_DEAD) {
        return;
    }
    c->flags |= CONN_F_DEAD;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (c->flags & CONN_F_OWNREAD) {
        reading_set(c, false);
    }
    event_active(c->defer, 0, 0);
}

static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    if (c->flags & CONN_F_DEAD) {
        conn_free(c);
    } else {
        process(c);
    }
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
    free_later(arg);
}

/* Output is flushed: half-close so the peer sees EOF after our last byte, then keep draining
 * its input for a moment so that the kernel does not answer unread data with a reset. */
static void
begin_linger(struct conn *c)
{
    struct timeval tv = loop_tv(CONN_LINGER_SECONDS);

    c->flags |= CONN_F_LINGER;
    /* A TCP half-close under TLS would end the stream without a close_notify, which peers
     * report as truncation: a TLS session just closes once its output is written. */
    if (c->flags & (CONN_F_EOF | CONN_F_TLS)) {
        free_later(c);
        return;
    }
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    c->linger = evtimer_new(loop_base(), linger_cb, c);
    evtimer_add(c->linger, &tv);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    reading_limits(c, NULL, 0);
    reading_set(c, true);
}

static void
update_reading(struct conn *c)
{
    if (c->flags & (CONN_F_DEAD | CONN_F_LINGER)) {
        return;
    }
    /* Only on a change: enabling an enabled event still costs an epoll_ctl(). */
    bool reading = reading_on(c);
    if ((c->flags & CONN_F_INFULL) &&
        evbuffer_get_length(bufferevent_get_input(c->bev)) < c->rd_hiwat) {
        c->flags &= ~CONN_F_INFULL;
    }
    if (c->flags &
        (CONN_F_PAUSED | CONN_F_CLOSING | CONN_F_EOF | CONN_F_BACKPRESSURE | CONN_F_INFULL)) {
        if (reading) {
            reading_set(c, false);
        }
    } else if (!reading) {
        reading_set(c, true);
    }
}

void
sess_close_later(struct session *s)
{
    struct conn *c = conn_of(s);

    if (c->flags & (CONN_F_CLOSING | CONN_F_DEAD)) {
        return;
    }
    c->flags |= CONN_F_CLOSING;
    reading_set(c, false);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        begin_linger(c);
    }
    /* Otherwise write_cb starts the linger once the output is flushed. */
}

static void
apply(struct conn *c, enum sess_verdict v)
{
    if (v == SESS_CLOSE) {
        sess_close_later(&c->s);
    } else if (v == SESS_PAUSE) {
        c->flags |= CONN_F_PAUSED;
    }
}

/* Is the input still on its way to being the preface (true: wait), or was it answered? Clears
 * CONN_F_PREFACE once the bytes tell. */
static bool
preface_pending(struct conn *c, struct evbuffer *in)
{
    const struct preface *pf = c->s.ep->preface;
    size_t len = evbuffer_get_length(in);
    size_t m = len < pf->request_len ? len : pf->request_len;
    const unsigned char *p;

    if (m == 0) {
        if (c->flags & CONN_F_EOF) {
            c->flags &= ~CONN_F_PREFACE;
            return false;
        }
        return true;
    }
    p = evbuffer_pullup(in, (ev_ssize_t)m);
    if (memcmp(p, pf->request, m) != 0 || (m < pf->request_len && (c->flags & CONN_F_EOF))) {
        c->flags &= ~CONN_F_PREFACE;
        return false;
    }
    if (m < pf->request_len) {
        return true;
    }
    c->flags &= ~CONN_F_PREFACE;
    evbuffer_drain(in, pf->request_len);
    set_end(c, pf->name);
    /* Added past max_output: the reply is fixed and trusted, and nothing else is queued yet. */
    if (evbuffer_add(bufferevent_get_output(c->bev), pf->reply, pf->reply_len) == 0) {
        log_info("%s: session %llu from %s: answered a %s", c->s.ep->name,
                 (unsigned long long)c->s.id, c->s.peer_str, pf->name);
    }
    sess_close_later(&c->s);
    return true;
}

static void
process_frames(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    const struct endpoint *ep = c->s.ep;

    if ((c->flags & CONN_F_PREFACE) && preface_pending(c, in)) {
        update_reading(c);
        return;
    }
    while (!(c->flags & (CONN_F_PAUSED | CONN_F_CLOSING | CONN_F_DEAD))) {
        size_t deliver, consume;
        const char *why = NULL;

        /* Replies pile up when the peer sends faster than it reads: stop taking frames until
         * it has read what we owe it (write_cb resumes). */
        if (evbuffer_get_length(out) > ep->max_output / 2) {
            c->flags |= CONN_F_BACKPRESSURE;
            break;
        }
        enum parse_result r =
            framing_next(ep->ops->framing, in, ep->frame_limit, &deliver, &consume, &why);
        if (r == PARSE_AGAIN) {
            break;
        }
        if (r == PARSE_ERR) {
            log_info("%s: session %llu from %s: %s", ep->name, (unsigned long long)c->s.id,
                     c->s.peer_str, why);
            set_end(c, why);
            if (ep->ops->on_frame_error) {
                ep->ops->on_frame_error(&c->s, why);
            }
            sess_close_later(&c->s);
            break;
        }
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)(consume));
        enum sess_verdict v = ep->ops->on_frame(&c->s, p, deliver);
        evbuffer_drain(in, consume);
        apply(c, v);
    }
    if ((c->flags & CONN_F_EOF) &&
        !(c->flags & (CONN_F_PAUSED | CONN_F_CLOSING | CONN_F_DEAD | CONN_F_BACKPRESSURE))) {
        /* The peer is done and what is left cannot become a frame. */
        sess_close_later(&c->s);
    }
    update_reading(c);
}

/* The output has all been written: what waited for that can go on. Never calls process()
 * directly, so flushing from the end of process() cannot recurse. */
static void
drained(struct conn *c)
{
    if ((c->flags & CONN_F_CLOSING) && !(c->flags & CONN_F_LINGER)) {
        begin_linger(c);
        return;
    }
    if (c->flags & CONN_F_BACKPRESSURE) {
        c->flags &= ~CONN_F_BACKPRESSURE;
        event_active(c->defer, 0, 0);
    }
}

/* Write what the owner queued, now, without the write event; leave the rest to libevent. */
static void
flush_output(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    if ((c->flags & (CONN_F_DEAD | CONN_F_BUSY | CONN_F_WRITING | CONN_F_CONNECTING)) ||
        evbuffer_get_length(out) == 0) {
        return;
    }
    if (c->flags & CONN_F_TLS) {
        /* The bufferevent encrypts and writes; write_cb reports when it has written it all. */
        c->flags |= CONN_F_WRITING;
        bufferevent_enable(c->bev, EV_WRITE);
        return;
    }
    /* A bufferevent keeps the front of its output frozen so that only it drains it; we are
     * the writer while EV_WRITE is off, so thaw it for this one write. */
    evbuffer_unfreeze(out, 1);
    int n = evbuffer_write(out, bufferevent_getfd(c->bev));
    evbuffer_freeze(out, 1);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        set_end(c, strerror(errno));
        log_debug("%s: session %llu from %s: %s", c->s.ep->name, (unsigned long long)c->s.id,
                  c->s.peer_str, c->s.end);
        free_later(c);
        return;
    }
    if (evbuffer_get_length(out) > 0) {
        c->flags |= CONN_F_WRITING;
        bufferevent_enable(c->bev, EV_WRITE);
        return;
    }
    drained(c);
}

/* Runs owner callbacks with output held back, then writes it in one go. */
static void
process(struct conn *c)
{
    bool outer = !(c->flags & CONN_F_BUSY);

    c->flags |= CONN_F_BUSY;
    process_frames(c);
    if (outer) {
        c->flags &= ~CONN_F_BUSY;
        flush_output(c);
    }
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    if (c->flags & CONN_F_LINGER) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    process(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg);

/* CONN_F_OWNREAD: the socket is readable (or idle for too long). */
static void
rd_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in), want = CONN_READ_MAX;
    struct evbuffer_iovec v[2];
    struct iovec iov[2];
    int nv;
    ssize_t n;

    if (what & EV_TIMEOUT) {
        event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_TIMEOUT, c);
        return;
    }
    if (c->rd_hiwat > 0) {
        if (len >= c->rd_hiwat) {
            c->flags |= CONN_F_INFULL; /* update_reading() resumes once frames are taken */
            reading_set(c, false);
            return;
        }
        if (c->rd_hiwat - len < want) {
            want = c->rd_hiwat - len;
        }
    }
    /* A bufferevent freezes the end of its input so that only it adds there; we are the
     * reader of this one, so thaw it for this one read, as flush_output() does for writing. */
    evbuffer_unfreeze(in, 0);
    nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
    if (nv <= 0) {
        log_error("%s: out of memory", c->s.ep->name);
        abort();
    }
    size_t left = want;
    for (int i = 0; i < nv; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
        left -= iov[i].iov_len;
    }
    n = readv(fd, iov, nv);
    if (n <= 0) {
        int err = errno;
        evbuffer_freeze(in, 0);
        errno = err;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return;
        }
        event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_ERROR, c);
        return;
    }
    if (n == 0) {
        event_cb(c->bev, BEV_EVENT_READING | BEV_EVENT_EOF, c);
        return;
    }
    int used = 0;
    for (size_t got = (size_t)n; used < nv && got > 0; used++) {
        v[used].iov_len = iov[used].iov_len < got ? iov[used].iov_len : got;
        got -= v[used].iov_len;
    }
    evbuffer_commit_space(in, v, used);
    evbuffer_freeze(in, 0);
    read_cb(c->bev, c);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    /* Called when the output buffer has drained completely (low watermark 0): writing is ours
     * again. */
    if (c->flags & CONN_F_DEAD) {
        return;
    }
    /* A TLS bufferevent reports this deferred: more may have been queued since. */
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
        return;
    }
    c->flags &= ~CONN_F_WRITING;
    bufferevent_disable(bev, EV_WRITE);
    drained(c);
}

static void
connected(struct conn *c)
{
    const struct endpoint *ep = c->s.ep;
    struct timeval rtv = loop_tv(ep->idle_timeout), wtv = loop_tv(ep->write_timeout);
    int one = 1;

    if (c->flags & CONN_F_DEAD) {
        return; /* aborted while connecting: the owner has let go */
    }
    c->flags &= ~CONN_F_CONNECTING;
    if (c->s.peer.ss_family != AF_UNIX) {
        setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    bufferevent_set_timeouts(c->bev, ep->idle_timeout > 0 ? &rtv : NULL,
                             ep->write_timeout > 0 ? &wtv : NULL);
    log_debug("%s: session %llu to %s connected", ep->name, (unsigned long long)c->s.id,
              c->s.peer_str);
    c->s.established = true;
    c->flags |= CONN_F_BUSY;
    enum sess_verdict v = ep->ops->on_open ? ep->ops->on_open(&c->s) : SESS_OK;
    apply(c, v);
    c->flags &= ~CONN_F_BUSY;
    process(c);
}

/* Why a TLS bufferevent failed: OpenSSL's reason when it recorded one. */
static const char *
tls_failure(struct conn *c, short what)
{
    unsigned long e;
    const char *reason = NULL;

    while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
        /* The first entries may be SSL_get_error() codes, which name no library. */
        if (reason == NULL && ERR_GET_LIB(e) != 0) {
            reason = ERR_reason_error_string(e);
        }
    }
    if (reason == NULL) {
        reason = (what & BEV_EVENT_EOF) ? "closed by the peer" : "connection error";
    }
    return reason;
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    const char *name = c->s.ep->name;
    unsigned long long id = (unsigned long long)c->s.id;

    if (what & BEV_EVENT_CONNECTED) {
        if (c->flags & CONN_F_HANDSHAKE) {
            c->flags &= ~CONN_F_HANDSHAKE;
            log_debug("%s: session %llu from %s: %s established", name, id, c->s.peer_str,
                      SSL_get_version(bufferevent_openssl_get_ssl(bev)));
            return;
        }
        connected(c);
        return;
    }
    if ((c->flags & CONN_F_HANDSHAKE) && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
        snprintf(c->s.end, sizeof(c->s.end), "TLS handshake failed: %s", tls_failure(c, what));
        log_info("%s: session %llu from %s: %s", name, id, c->s.peer_str, c->s.end);
        free_later(c);
        return;
    }
    if ((c->flags & CONN_F_TLS) && (what & BEV_EVENT_ERROR)) {
        set_end(c, tls_failure(c, what));
        log_debug("%s: session %llu from %s: %s", name, id, c->s.peer_str, c->s.end);
        free_later(c);
        return;
    }
    if (c->flags & CONN_F_CONNECTING) {
        int err = EVUTIL_SOCKET_ERROR();
        set_end(c, (what & BEV_EVENT_TIMEOUT) ? "connection timed out"
                   : err                      ? evutil_socket_error_to_string(err)
                                              : "connection failed");
        log_debug("%s: session %llu to %s: %s", name, id, c->s.peer_str, c->s.end);
        free_later(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        c->flags |= CONN_F_EOF;
        set_end(c, "closed by the peer");
        if (c->flags & CONN_F_LINGER) {
            free_later(c);
            return;
        }
        log_debug("%s: session %llu from %s: end of input", name, id, c->s.peer_str);
        process(c);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        if (c->flags & CONN_F_HANDSHAKE) {
            set_end(c, "TLS handshake timed out");
            log_debug("%s: session %llu from %s: %s", name, id, c->s.peer_str, c->s.end);
        } else if (what & BEV_EVENT_WRITING) {
            set_end(c, "not reading (write timeout)");
            log_info("%s: session %llu from %s: not reading its output for %.0fs, dropped", name,
                     id, c->s.peer_str, c->s.ep->write_timeout);
        } else {
            set_end(c, "idle timeout");
            log_debug("%s: session %llu from %s: idle for %.0fs, closed", name, id, c->s.peer_str,
                      c->s.ep->idle_timeout);
        }
        free_later(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        set_end(c, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        log_debug("%s: session %llu from %s: %s", name, id, c->s.peer_str, c->s.end);
        free_later(c);
    }
}

bool
endpoint_allows(const struct endpoint *ep, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_UNIX) {
        return true; /* file permissions (unix_mode) guard UNIX sockets */
    }
    for (size_t i = 0; i < ep->ndeny; i++) {
        if (cidr_match(&ep->deny[i], sa)) {
            return false;
        }
    }
    if (ep->nallow == 0) {
        return true;
    }
    for (size_t i = 0; i < ep->nallow; i++) {
        if (cidr_match(&ep->allow[i], sa)) {
            return true;
        }
    }
    return false;
}

/* A new session on @bev: registered, counted, reading; on_open is the caller's business. */
static struct conn *
conn_new(struct endpoint *ep, struct bufferevent *bev, const struct sockaddr *sa, socklen_t len)
{
    struct conn *c = xcalloc(1, sizeof(*c));

    c->s.id = atomic_fetch_add(&next_id, 1);
    c->s.ep = ep;
    memcpy(&c->s.peer, sa, len < sizeof(c->s.peer) ? len : sizeof(c->s.peer));
    c->s.peer_len = len;
    addr_format(sa, len, c->s.peer_str, sizeof(c->s.peer_str));
    c->bev = bev;
    c->defer = event_new(loop_base(), -1, 0, defer_cb, c);
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ, 0,
                             framing_buffer_max(ep->ops->framing, ep->frame_limit));

    if (by_id == NULL) {
        by_id = map_new();
    }
    map_put(by_id, &c->s.id, sizeof(c->s.id), c);
    c->next = all_conns;
    if (all_conns) {
        all_conns->prev = c;
    }
    all_conns = c;
    live++;
    return c;
}

/* Admission: the access lists and the client limit. Counts the session when it is admitted;
 * closes @fd when not. */
static bool
admit(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len)
{
    char peer[ADDR_STR_MAX];
    size_t n = atomic_load(&ep->nsessions);

    /* Admission happens here, on the main loop, so the client count cannot race even when the
     * session itself will live on a serving loop. */
    if (!endpoint_allows(ep, sa)) {
        addr_format(sa, len, peer, sizeof(peer));
        log_info("%s: connection from %s refused by the access list", ep->name, peer);
        close(fd);
        return false;
    }
    if (n >= ep->max_clients) {
        addr_format(sa, len, peer, sizeof(peer));
        log_warn("%s: connection from %s refused: %zu clients already (max_clients)", ep->name,
                 peer, n);
        close(fd);
        return false;
    }
    atomic_fetch_add(&ep->nsessions, 1);
    return true;
}

void
conn_accept(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len)
{
    if (!admit(ep, fd, sa, len)) {
        return;
    }
    if (ep->spread && loops_running()) {
        loops_hand(ep, fd, sa, len); /* calls conn_adopt() there, or undoes the count */
        return;
    }
    conn_adopt(ep, fd, sa, len);
}

/* The session on an admitted socket, encrypted with @tls when it is not NULL. */
static void
adopt(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len, struct tls_ctx *tls)
{
    char peer[ADDR_STR_MAX];
    struct bufferevent *bev;
    struct conn *c;
    struct timeval rtv = loop_tv(ep->idle_timeout), wtv = loop_tv(ep->write_timeout);

    addr_format(sa, len, peer, sizeof(peer));
    if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    evutil_make_socket_nonblocking(fd);

    if (tls) {
        SSL *ssl = tls_session_new(tls);
        if (ssl == NULL) {
            log_error("%s: cannot set up TLS for a connection from %s: %s", ep->name, peer,
                      ERR_reason_error_string(ERR_get_error()));
            ERR_clear_error();
            atomic_fetch_sub(&ep->nsessions, 1);
            close(fd);
            return;
        }
        /* The bufferevent owns the SSL object and, with BEV_OPT_CLOSE_ON_FREE, the socket. */
        bev = bufferevent_openssl_socket_new(loop_base(), fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            log_error("%s: out of memory", ep->name);
            abort(); /* a half-made one owns the socket already: nothing sane to undo */
        }
        /* A peer that closes without a close_notify has still closed: end of input. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(loop_base(), fd, BEV_OPT_CLOSE_ON_FREE);
        if (bev == NULL) {
            log_error("%s: cannot set up a connection from %s", ep->name, peer);
            atomic_fetch_sub(&ep->nsessions, 1);
            close(fd);
            return;
        }
    }
    c = conn_new(ep, bev, sa, len);
    bufferevent_set_timeouts(c->bev, ep->idle_timeout > 0 ? &rtv : NULL,
                             ep->write_timeout > 0 ? &wtv : NULL);
    /* A new socket bufferevent starts with EV_WRITE on; flush_output() writes, not libevent.
     * (A TLS one drives its handshake by itself whatever is enabled.) */
    bufferevent_disable(c->bev, EV_WRITE);
    if (!tls) {
        bufferevent_disable(c->bev, EV_READ);
        c->flags |= CONN_F_OWNREAD;
        c->rd = event_new(loop_base(), fd, EV_READ | EV_PERSIST, rd_cb, c);
        reading_limits(c, ep->idle_timeout > 0 ? &rtv : NULL,
                       framing_buffer_max(ep->ops->framing, ep->frame_limit));
    }
    reading_set(c, true);
    log_debug("%s: session %llu from %s opened%s", ep->name, (unsigned long long)c->s.id, peer,
              tls ? " (TLS)" : "");

    if (tls) {
        c->flags |= CONN_F_TLS | CONN_F_HANDSHAKE;
        /* No read high-watermark: when one stops a TLS bufferevent in the middle of a record,
         * libevent 2.1 leaves the rest of the record decrypted inside OpenSSL, and nothing reads
         * it until the peer sends more (the socket is not readable). Without one, each read
         * takes the whole record; the framing limit still bounds the input, as a frame over the
         * limit is an error. */
        bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
    } else if (ep->preface && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        c->flags |= CONN_F_PREFACE;
    }
    c->opened = true;
    c->s.established = true;
    c->flags |= CONN_F_BUSY;
    enum sess_verdict v = ep->ops->on_open ? ep->ops->on_open(&c->s) : SESS_OK;
    apply(c, v);
    c->flags &= ~CONN_F_BUSY;
    update_reading(c);
    flush_output(c);
}

void
conn_adopt(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len)
{
    adopt(ep, fd, sa, len, NULL);
}

void
conn_accept_tls(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len,
                struct tls_ctx *tls)
{
    /* Always on this loop: the serving loops adopt plain sockets only (listener_set_add_tls()
     * refuses spread endpoints). */
    if (admit(ep, fd, sa, len)) {
        adopt(ep, fd, sa, len, tls);
    }
}

struct session *
conn_connect(struct endpoint *ep, const struct sockaddr *sa, socklen_t len, double timeout,
             void *priv)
{
    struct bufferevent *bev = bufferevent_socket_new(loop_base(), -1, BEV_OPT_CLOSE_ON_FREE);
    struct timeval tv = loop_tv(timeout);
    struct conn *c;

    if (bev == NULL) {
        log_error("%s: out of memory", ep->name);
        abort();
    }
    c = conn_new(ep, bev, sa, len);
    atomic_fetch_add(&ep->nsessions, 1);
    c->s.priv = priv;
    c->opened = true; /* on_close is owed from now on, even if connecting fails */
    c->flags |= CONN_F_CONNECTING | CONN_F_WRITING;
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    log_debug("%s: session %llu connecting to %s", ep->name, (unsigned long long)c->s.id,
              c->s.peer_str);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->s.peer, (int)len) < 0) {
        set_end(c, strerror(errno));
        free_later(c);
    }
    return &c->s;
}

bool
sess_local(const struct session *s, struct sockaddr_storage *ss, socklen_t *len)
{
    const struct conn *c = (const struct conn *)s;
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    *len = sizeof(*ss);
    return fd >= 0 && getsockname(fd, (struct sockaddr *)ss, len) == 0;
}

/* The output buffer @n more bytes may go to, or NULL (and the session dropped when it is over
 * its limit: ngIRCd's SendQ exceeded). */
static struct evbuffer *
output_for(struct conn *c, size_t n)
{
    const struct session *s = &c->s;
    struct evbuffer *out;

    if (c->flags & (CONN_F_DEAD | CONN_F_LINGER)) {
        return NULL;
    }
    out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) + n > s->ep->max_output) {
        log_warn("%s: session %llu from %s: more than %zu bytes of output queued, dropped",
                 s->ep->name, (unsigned long long)s->id, s->peer_str, s->ep->max_output);
        set_end(c, "output limit exceeded");
        free_later(c);
        return NULL;
    }
    return out;
}

int
sess_send(struct session *s, const void *p, size_t n)
{
    struct conn *c = conn_of(s);
    struct evbuffer *out = output_for(c, n);

    if (out == NULL || evbuffer_add(out, p, n) < 0) {
        return -1;
    }
    pending_add(c); /* unless its own callback runs, which flushes it afterwards */
    return 0;
}

struct shared_bytes *
shared_new(const void *p, size_t n)
{
    struct shared_bytes *b = xmalloc(sizeof(*b) + n);

    atomic_init(&b->refs, 1);
    b->len = n;
    if (n) {
        memcpy(b->data, p, n);
    }
    return b;
}

struct shared_bytes *
shared_ref(struct shared_bytes *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
    return b;
}

void
shared_unref(struct shared_bytes *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        free(b);
    }
}

const char *
shared_data(const struct shared_bytes *b)
{
    return b->data;
}

size_t
shared_len(const struct shared_bytes *b)
{
    return b->len;
}

static void
shared_cleanup_cb(const void *data, size_t len, void *arg)
{
    shared_unref(arg);
}

int
sess_send_shared(struct session *s, struct shared_bytes *b)
{
    struct conn *c = conn_of(s);
    struct evbuffer *out = output_for(c, b->len);

    if (out == NULL) {
        return -1;
    }
    if (b->len == 0) {
        return 0;
    }
    if (b->len <= SHARED_COPY_MAX || (c->flags & CONN_F_TLS)) {
        /* A reference is a buffer piece of its own: a malloc() for each recipient, and one
         * iovec of the 128 a writev() takes (OpenSSL even makes one record and one write per
         * piece). A short message costs less copied into the piece in use, where it joins the
         * messages before it; TLS copies everything anyway while encrypting. */
        if (evbuffer_add(out, b->data, b->len) < 0) {
            return -1;
        }
    } else {
        shared_ref(b);
        if (evbuffer_add_reference(out, b->data, b->len, shared_cleanup_cb, b) < 0) {
            shared_unref(b);
            return -1;
        }
    }
    pending_add(c);
    return 0;
}

size_t
sess_output_pending(const struct session *s)
{
    const struct conn *c = (const struct conn *)s;

    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

bool
sess_tls(const struct session *s)
{
    const struct conn *c = (const struct conn *)s;

    return c->flags & CONN_F_TLS;
}

int
sess_sendf(struct session *s, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -1;
    }
    if ((size_t)n >= sizeof(buf)) {
        char *big = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        int rc = sess_send(s, big, (size_t)n);
        free(big);
        return rc;
    }
    return sess_send(s, buf, (size_t)n);
}

void
sess_abort(struct session *s)
{
    free_later(conn_of(s));
}

void
sess_resume(struct session *s)
{
    struct conn *c = conn_of(s);

    if (!(c->flags & CONN_F_PAUSED)) {
        return;
    }
    c->flags &= ~CONN_F_PAUSED;
    if (!(c->flags & CONN_F_DEAD)) {
        event_active(c->defer, 0, 0);
    }
}

struct session *
sess_find(uint64_t id)
{
    struct conn *c = by_id ? map_get(by_id, &id, sizeof(id)) : NULL;

    if (c == NULL || (c->flags & CONN_F_DEAD)) {
        return NULL;
    }
    return &c->s;
}

int
dgram_reply(const struct dgram_from *from, const void *p, size_t n)
{
    ssize_t w = sendto(from->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&from->addr, from->len);

    return w == (ssize_t)n ? 0 : -1;
}

void
conn_close_all(void)
{
    while (all_conns) {
        conn_free(all_conns);
    }
    map_free(by_id);
    by_id = NULL;
}

size_t
conn_count(void)
{
    return live;
}
