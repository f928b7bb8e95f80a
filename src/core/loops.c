/* SPDX-License-Identifier: MIT */
/*
 * Serving loops. Each one is a thread running its own libevent base (loop_base() is per thread)
 * with a mutex-protected inbox woken through a pipe, like the worker pool's. Nothing else crosses
 * threads: a session lives and dies on the loop that adopted it, and the grace periods of
 * loops_sync() ride the inboxes, so a loop acknowledges one only between two callbacks.
 */
#include "core/loops.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"

#define LOOPS_MAX 256
/* Sockets waiting in one inbox before more are refused: a loop that cannot keep up with accepts
 * should not make the main loop pile up descriptors without bound. */
#define LOOPS_INBOX_MAX 4096

enum msg_kind {
    MSG_ADOPT, /* a socket to serve */
    MSG_SYNC,  /* acknowledge a grace period */
    MSG_STOP,  /* close every session and leave */
};

struct sync {
    struct sync *next;
    atomic_uint remaining; /* loops that have not acknowledged yet */
    loops_sync_fn fn;
    void *arg;
};

struct msg {
    struct msg *next;
    enum msg_kind kind;
    struct endpoint *ep;
    int fd;
    socklen_t len;
    struct sockaddr_storage sa;
    struct sync *sync;
};

struct serving {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* start-up handshake */
    int started;       /* 0 starting, 1 running, -1 failed */
    struct msg *head, *tail;
    size_t queued; /* MSG_ADOPT messages in the inbox */
    int wake[2];
    unsigned index;
};

static struct serving *loops;
static unsigned nloops;
static unsigned next_loop;
static struct sync *owed; /* main thread only: grace periods not yet run */
static int main_wake[2] = {-1, -1};
static struct event *main_wake_ev;

static void
wake(int fd)
{
    char b = 1;
    ssize_t w = write(fd, &b, 1);
    (void)w; /* a full pipe already guarantees a wake-up */
}

static void
drain(int fd)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
}

static void
post(struct serving *l, struct msg *m)
{
    pthread_mutex_lock(&l->mu);
    m->next = NULL;
    if (l->tail) {
        l->tail->next = m;
    } else {
        l->head = m;
    }
    l->tail = m;
    pthread_mutex_unlock(&l->mu);
    wake(l->wake[1]);
}

static void
acknowledge(struct sync *s)
{
    if (atomic_fetch_sub(&s->remaining, 1) == 1) {
        wake(main_wake[1]);
    }
}

/* Runs one message on its loop; false once the loop must stop. */
static bool
handle(struct msg *m, bool stopping)
{
    switch (m->kind) {
    case MSG_ADOPT:
        if (stopping) {
            atomic_fetch_sub(&m->ep->nsessions, 1);
            close(m->fd);
        } else {
            conn_adopt(m->ep, m->fd, (const struct sockaddr *)&m->sa, m->len);
        }
        break;
    case MSG_SYNC:
        acknowledge(m->sync);
        break;
    case MSG_STOP:
        return false;
    }
    return true;
}

static void
inbox_cb(evutil_socket_t fd, short what, void *arg)
{
    struct serving *l = arg;
    struct msg *m;

    drain(fd);
    pthread_mutex_lock(&l->mu);
    m = l->head;
    l->head = l->tail = NULL;
    l->queued = 0;
    pthread_mutex_unlock(&l->mu);
    while (m) {
        struct msg *next = m->next;
        if (!handle(m, false)) {
            /* Whatever came after the stop is handled as the thread leaves. */
            pthread_mutex_lock(&l->mu);
            if (next) {
                struct msg *last = next;
                while (last->next) {
                    last = last->next;
                }
                last->next = l->head;
                l->head = next;
                if (l->tail == NULL) {
                    l->tail = last;
                }
            }
            pthread_mutex_unlock(&l->mu);
            free(m);
            conn_close_all();
            event_base_loopbreak(loop_base());
            return;
        }
        free(m);
        m = next;
    }
}

static void
set_started(struct serving *l, int state)
{
    pthread_mutex_lock(&l->mu);
    l->started = state;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void *
serve(void *arg)
{
    struct serving *l = arg;
    struct event *ev;

    if (loop_init() < 0) {
        set_started(l, -1);
        return NULL;
    }
    ev = event_new(loop_base(), l->wake[0], EV_READ | EV_PERSIST, inbox_cb, l);
    if (ev == NULL || event_add(ev, NULL) < 0) {
        log_error("serving loop %u: cannot watch its inbox", l->index);
        loop_free();
        set_started(l, -1);
        return NULL;
    }
    set_started(l, 1);
    loop_run();

    /* Messages that arrived after the stop: nothing is served any more, but every socket is
     * closed and every grace period acknowledged. */
    pthread_mutex_lock(&l->mu);
    struct msg *m = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->mu);
    while (m) {
        struct msg *next = m->next;
        handle(m, true);
        free(m);
        m = next;
    }
    event_free(ev);
    loop_free();
    return NULL;
}

/* Main loop: run the grace periods every loop has acknowledged, in the order they were asked. */
static void
run_synced(bool all)
{
    struct sync **pp = &owed;

    while (*pp) {
        struct sync *s = *pp;
        if (all || atomic_load(&s->remaining) == 0) {
            *pp = s->next;
            s->fn(s->arg);
            free(s);
        } else {
            pp = &s->next;
        }
    }
}

static void
main_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    drain(fd);
    run_synced(false);
}

static unsigned
online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > LOOPS_MAX ? LOOPS_MAX : (unsigned)n;
}

static bool
start_one(struct serving *l, unsigned index)
{
    sigset_t all, old;
    int rc;

    l->index = index;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if (pipe2(l->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error("serving loop %u: cannot create its pipe: %s", index, strerror(errno));
        return false;
    }
    /* Signals belong to the main loop (libevent's signal events live there). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&l->tid, NULL, serve, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_error("serving loop %u: cannot start its thread: %s", index, strerror(rc));
        close(l->wake[0]);
        close(l->wake[1]);
        return false;
    }
    pthread_mutex_lock(&l->mu);
    while (l->started == 0) {
        pthread_cond_wait(&l->cv, &l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    if (l->started < 0) {
        pthread_join(l->tid, NULL);
        close(l->wake[0]);
        close(l->wake[1]);
        return false;
    }
    return true;
}

unsigned
loops_start(unsigned n)
{
    if (nloops > 0) {
        return nloops;
    }
    if (n == 0) {
        n = online_cpus();
    }
    if (n > LOOPS_MAX) {
        n = LOOPS_MAX;
    }
    if (pipe2(main_wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error("cannot create the serving loops' pipe: %s", strerror(errno));
        return 0;
    }
    main_wake_ev = event_new(loop_base(), main_wake[0], EV_READ | EV_PERSIST, main_wake_cb, NULL);
    event_add(main_wake_ev, NULL);
    loops = xcalloc(n, sizeof(*loops));
    for (unsigned i = 0; i < n; i++) {
        if (!start_one(&loops[nloops], i)) {
            break;
        }
        nloops++;
    }
    if (nloops == 0) {
        loops_stop();
        return 0;
    }
    log_debug("%u serving loops started", nloops);
    return nloops;
}

bool
loops_running(void)
{
    return nloops > 0;
}

unsigned
loops_count(void)
{
    return nloops;
}

void
loops_hand(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct serving *l = &loops[next_loop++ % nloops];
    struct msg *m;
    bool full;

    pthread_mutex_lock(&l->mu);
    full = l->queued >= LOOPS_INBOX_MAX;
    if (!full) {
        l->queued++;
    }
    pthread_mutex_unlock(&l->mu);
    if (full) {
        log_warn("%s: connection refused: serving loop %u has %d connections waiting", ep->name,
                 l->index, LOOPS_INBOX_MAX);
        atomic_fetch_sub(&ep->nsessions, 1);
        close(fd);
        return;
    }
    m = xcalloc(1, sizeof(*m));
    m->kind = MSG_ADOPT;
    m->ep = ep;
    m->fd = fd;
    m->len = len < sizeof(m->sa) ? len : sizeof(m->sa);
    memcpy(&m->sa, sa, m->len);
    post(l, m);
}

void
loops_sync(loops_sync_fn fn, void *arg)
{
    struct sync *s, **pp = &owed;

    if (nloops == 0) {
        fn(arg);
        return;
    }
    s = xcalloc(1, sizeof(*s));
    atomic_init(&s->remaining, nloops);
    s->fn = fn;
    s->arg = arg;
    while (*pp) {
        pp = &(*pp)->next;
    }
    *pp = s;
    for (unsigned i = 0; i < nloops; i++) {
        struct msg *m = xcalloc(1, sizeof(*m));
        m->kind = MSG_SYNC;
        m->sync = s;
        post(&loops[i], m);
    }
}

void
loops_stop(void)
{
    for (unsigned i = 0; i < nloops; i++) {
        struct msg *m = xcalloc(1, sizeof(*m));
        m->kind = MSG_STOP;
        post(&loops[i], m);
    }
    for (unsigned i = 0; i < nloops; i++) {
        pthread_join(loops[i].tid, NULL);
        close(loops[i].wake[0]);
        close(loops[i].wake[1]);
        pthread_mutex_destroy(&loops[i].mu);
        pthread_cond_destroy(&loops[i].cv);
    }
    /* Every loop has stopped: nothing can still be reading what the callbacks free. */
    run_synced(true);
    nloops = 0;
    free(loops);
    loops = NULL;
    if (main_wake_ev) {
        event_free(main_wake_ev);
        main_wake_ev = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (main_wake[i] >= 0) {
            close(main_wake[i]);
            main_wake[i] = -1;
        }
    }
}
