/* SPDX-License-Identifier: MIT */
/* Worker pool: a mutex-protected FIFO of pending jobs and one of finished jobs; workers wake the
 * loop through a pipe whose read end is an ordinary libevent event. */
#include "core/work.h"

#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"

struct job {
    struct job *next;
    work_fn fn;
    work_done_fn done;
    void *arg;
};

struct queue {
    struct job *head, *tail;
    size_t n;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct queue pending, finished;
static pthread_t *threads;
static unsigned nthreads_started;
static size_t queue_max;
static bool stopping;
static int wake_pipe[2] = {-1, -1};
static struct event *wake_ev;

static void
q_push(struct queue *q, struct job *j)
{
    j->next = NULL;
    if (q->tail) {
        q->tail->next = j;
    } else {
        q->head = j;
    }
    q->tail = j;
    q->n++;
}

static struct job *
q_pop(struct queue *q)
{
    struct job *j = q->head;
    if (j) {
        q->head = j->next;
        if (q->head == NULL) {
            q->tail = NULL;
        }
        q->n--;
    }
    return j;
}

static void *
worker(void *unused)
{
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!stopping && pending.n == 0) {
            pthread_cond_wait(&cv, &mu);
        }
        if (stopping) {
            break;
        }
        struct job *j = q_pop(&pending);
        pthread_mutex_unlock(&mu);
        j->fn(j->arg);
        pthread_mutex_lock(&mu);
        bool was_empty = finished.n == 0;
        q_push(&finished, j);
        if (was_empty) {
            char b = 1;
            ssize_t w = write(wake_pipe[1], &b, 1);
            (void)w; /* a full pipe already guarantees a wake-up */
        }
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void
run_finished(void)
{
    for (;;) {
        pthread_mutex_lock(&mu);
        struct job *j = q_pop(&finished);
        pthread_mutex_unlock(&mu);
        if (j == NULL) {
            break;
        }
        j->done(j->arg, true);
        free(j);
    }
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
    char buf[256];
    while (read(fd, buf, sizeof(buf)) > 0) {
    }
    run_finished();
}

int
work_init(unsigned nthreads, size_t max_queue)
{
    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error("cannot create the worker pipe");
        return -1;
    }
    wake_ev = event_new(loop_base(), wake_pipe[0], EV_READ | EV_PERSIST, wake_cb, NULL);
    event_add(wake_ev, NULL);
    queue_max = max_queue;
    stopping = false;
    threads = xcalloc(nthreads, sizeof(*threads));
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
            log_error("cannot start worker thread %u", i);
            return -1;
        }
        nthreads_started++;
    }
    return 0;
}

bool
work_submit(work_fn fn, work_done_fn done, void *arg)
{
    struct job *j;
    bool ok = false;

    pthread_mutex_lock(&mu);
    if (!stopping && pending.n < queue_max) {
        j = xmalloc(sizeof(*j));
        j->fn = fn;
        j->done = done;
        j->arg = arg;
        q_push(&pending, j);
        pthread_cond_signal(&cv);
        ok = true;
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

void
work_shutdown(void)
{
    pthread_mutex_lock(&mu);
    stopping = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (unsigned i = 0; i < nthreads_started; i++) {
        pthread_join(threads[i], NULL);
    }
    nthreads_started = 0;
    free(threads);
    threads = NULL;
    run_finished();
    for (struct job *j; (j = q_pop(&pending)) != NULL;) {
        j->done(j->arg, false);
        free(j);
    }
    if (wake_ev) {
        event_free(wake_ev);
        wake_ev = NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (wake_pipe[i] >= 0) {
            close(wake_pipe[i]);
            wake_pipe[i] = -1;
        }
    }
}
