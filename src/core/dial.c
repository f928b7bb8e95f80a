/* SPDX-License-Identifier: MIT */
/* Probes are bufferevents in connecting state with one timer as the overall deadline. The result
 * callback may start new probes, so a probe is marked finished before the callback runs and
 * freed right after it. */
#include "core/dial.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "core/mem.h"

struct dial {
    struct bufferevent *bev;
    struct event *deadline;
    bool starting; /* inside dial_start(): results are deferred */
    bool early;    /* a result arrived while starting */
    enum dial_result early_result;
    enum framing framing;
    size_t limit;
    bool want_reply;
    dial_cb cb;
    void *arg;
};

static void
dial_free(struct dial *d)
{
    bufferevent_free(d->bev);
    event_free(d->deadline);
    free(d);
}

static void
finish(struct dial *d, enum dial_result r, const char *frame, size_t n)
{
    dial_cb cb = d->cb;
    void *arg = d->arg;

    if (d->starting) {
        /* Some libevent versions report a failed connect() from inside
         * bufferevent_socket_connect(), before the caller has the handle. Deliver the result
         * from the deadline timer on the next loop turn instead. */
        if (!d->early) {
            d->early = true;
            d->early_result = r;
        }
        return;
    }
    bufferevent_disable(d->bev, EV_READ | EV_WRITE);
    evtimer_del(d->deadline);
    cb(arg, r, frame, n);
    dial_free(d);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct dial *d = arg;
    finish(d, d->early ? d->early_result : DIAL_TIMEOUT, NULL, 0);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
    struct dial *d = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t deliver, consume;
    const char *why;

    switch (framing_next(d->framing, in, d->limit, &deliver, &consume, &why)) {
    case PARSE_AGAIN:
        return;
    case PARSE_ERR:
        finish(d, DIAL_BAD_REPLY, NULL, 0);
        return;
    case PARSE_OK:
        finish(d, DIAL_OK, (const char *)evbuffer_pullup(in, (ev_ssize_t)consume), deliver);
        return;
    }
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct dial *d = arg;

    if (what & BEV_EVENT_CONNECTED) {
        if (!d->want_reply) {
            finish(d, DIAL_OK, NULL, 0);
        }
        return;
    }
    if (what & BEV_EVENT_EOF) {
        finish(d, DIAL_CLOSED, NULL, 0);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        int e = EVUTIL_SOCKET_ERROR();
        finish(d,
               (e == ECONNREFUSED || e == ENETUNREACH || e == EHOSTUNREACH) ? DIAL_REFUSED
                                                                            : DIAL_ERROR,
               NULL, 0);
    }
}

struct dial *
dial_start(const struct sockaddr *sa, socklen_t len, double timeout, const void *req, size_t reqlen,
           enum framing reply_framing, size_t reply_limit, dial_cb cb, void *arg)
{
    struct dial *d = xcalloc(1, sizeof(*d));
    struct timeval tv = loop_tv(timeout);

    d->framing = reply_framing;
    d->limit = reply_limit;
    d->want_reply = req != NULL;
    d->cb = cb;
    d->arg = arg;
    d->bev = bufferevent_socket_new(loop_base(), -1, BEV_OPT_CLOSE_ON_FREE);
    d->deadline = evtimer_new(loop_base(), deadline_cb, d);
    if (d->bev == NULL || d->deadline == NULL) {
        goto fail;
    }
    bufferevent_setcb(d->bev, read_cb, NULL, event_cb, d);
    bufferevent_setwatermark(d->bev, EV_READ, 0, framing_buffer_max(reply_framing, reply_limit));
    if (req != NULL) {
        bufferevent_write(d->bev, req, reqlen);
    }
    bufferevent_enable(d->bev, EV_READ | EV_WRITE);
    d->starting = true;
    if (bufferevent_socket_connect(d->bev, sa, (int)len) < 0 && !d->early) {
        d->early = true;
        d->early_result = DIAL_ERROR;
    }
    d->starting = false;
    if (d->early) {
        bufferevent_disable(d->bev, EV_READ | EV_WRITE);
        tv = loop_tv(0);
    }
    evtimer_add(d->deadline, &tv);
    return d;

fail:
    if (d->bev) {
        bufferevent_free(d->bev);
    }
    if (d->deadline) {
        event_free(d->deadline);
    }
    free(d);
    return NULL;
}

void
dial_cancel(struct dial *d)
{
    if (d != NULL) {
        dial_free(d);
    }
}

const char *
dial_result_str(enum dial_result r)
{
    switch (r) {
    case DIAL_OK:
        return "ok";
    case DIAL_REFUSED:
        return "connection refused";
    case DIAL_TIMEOUT:
        return "timed out";
    case DIAL_CLOSED:
        return "closed without a reply";
    case DIAL_BAD_REPLY:
        return "malformed reply";
    case DIAL_ERROR:
        return "socket error";
    }
    return "?";
}
