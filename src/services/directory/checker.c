/* SPDX-License-Identifier: MIT */
/*
 * The DirectoryChecker of the seed, without its thread and its blocking connects: every
 * check_interval seconds a round PINGs every binding, with at most check_concurrency probes in
 * flight, and a binding is removed after check_failures failed rounds in a row. A round that is
 * still running when the next tick comes is not started twice.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "core/dial.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/strutil.h"
#include "proto/frame.h"
#include "services/directory/dir_msgs.h"
#include "services/directory/directory.h"

struct probe {
    struct checker *ck;
    struct dial *dial;
    char name[ACCOUNT_NAME_MAX + 1];
    uint64_t generation;
    struct probe *prev, *next;
};

struct checker {
    struct directory *d;
    struct event *timer;
    char (*queue)[ACCOUNT_NAME_MAX + 1]; /* names still to check in this round */
    size_t nqueue, qpos;
    struct probe *inflight;
    size_t ninflight;
    size_t removed, failed;
    double round_start;
    bool running;
};

static void launch_more(struct checker *ck);

static void
probe_unlink(struct checker *ck, struct probe *p)
{
    if (p->prev) {
        p->prev->next = p->next;
    } else {
        ck->inflight = p->next;
    }
    if (p->next) {
        p->next->prev = p->prev;
    }
    ck->ninflight--;
}

static void
round_end(struct checker *ck)
{
    ck->running = false;
    free(ck->queue);
    ck->queue = NULL;
    log_debug("directory: checker round: %zu binding(s) in %.3fs, %zu failed check(s), %zu "
              "removed",
              ck->nqueue, loop_now() - ck->round_start, ck->failed, ck->removed);
}

static void
probe_done(void *arg, enum dial_result r, const char *frame, size_t n)
{
    struct probe *p = arg;
    struct checker *ck = p->ck;
    struct directory *d = ck->d;
    struct binding *b = dir_binding_get(d, p->name);

    probe_unlink(ck, p);
    if (r == DIAL_OK && !dir_is_pong(d, frame, n)) {
        r = DIAL_BAD_REPLY;
    }
    /* The binding may have gone (LEAVE) or been replaced by a new BIND meanwhile. */
    if (b != NULL && b->generation == p->generation) {
        if (r == DIAL_OK) {
            b->failures = 0;
        } else {
            ck->failed++;
            b->failures++;
            log_debug("directory: check of %s at %s port %u failed (%u/%u): %s", b->name, b->addr,
                      b->port, b->failures, d->check_failures, dial_result_str(r));
            if (b->failures >= d->check_failures) {
                log_info("directory: %s at %s port %u removed: %u failed check(s), last: %s",
                         b->name, b->addr, b->port, b->failures, dial_result_str(r));
                /* A database failure is logged; the binding would return after a restart and
                 * be checked again then. */
                dir_binding_remove(d, p->name);
                ck->removed++;
            }
        }
    }
    free(p);
    launch_more(ck);
}

static void
launch_more(struct checker *ck)
{
    struct directory *d = ck->d;

    while (ck->ninflight < d->check_concurrency && ck->qpos < ck->nqueue) {
        const char *name = ck->queue[ck->qpos++];
        struct binding *b = dir_binding_get(d, name);
        struct probe *p;

        if (b == NULL) {
            continue;
        }
        p = xcalloc(1, sizeof(*p));
        p->ck = ck;
        str_copy(p->name, sizeof(p->name), name);
        p->generation = b->generation;
        p->dial =
            dial_start((const struct sockaddr *)&b->sa, b->salen, d->check_timeout, EURE_PING_FRAME,
                       strlen(EURE_PING_FRAME), FRAME_LENGTH, d->max_payload, probe_done, p);
        if (p->dial == NULL) {
            /* Out of descriptors, most likely: leave the rest for the next round. */
            log_warn("directory: checker cannot open a probe; %zu binding(s) left unchecked",
                     ck->nqueue - ck->qpos + 1);
            free(p);
            ck->qpos = ck->nqueue;
            break;
        }
        p->next = ck->inflight;
        if (ck->inflight) {
            ck->inflight->prev = p;
        }
        ck->inflight = p;
        ck->ninflight++;
    }
    if (ck->running && ck->ninflight == 0 && ck->qpos >= ck->nqueue) {
        round_end(ck);
    }
}

static void
collect_name(void *arg, const void *key, size_t klen, void *value)
{
    struct checker *ck = arg;
    const struct binding *b = value;
    str_copy(ck->queue[ck->nqueue++], ACCOUNT_NAME_MAX + 1, b->name);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct checker *ck = arg;
    size_t n = map_count(ck->d->bindings);

    if (ck->running) {
        log_warn("directory: checker round still running after %.1fs; skipping this tick "
                 "(%zu binding(s) left)",
                 loop_now() - ck->round_start, ck->nqueue - ck->qpos + ck->ninflight);
        return;
    }
    if (n == 0) {
        return;
    }
    ck->queue = xmalloc(n * sizeof(*ck->queue));
    ck->nqueue = ck->qpos = 0;
    ck->removed = ck->failed = 0;
    map_foreach(ck->d->bindings, collect_name, ck);
    ck->running = true;
    ck->round_start = loop_now();
    launch_more(ck);
}

struct checker *
checker_new(struct directory *d)
{
    struct checker *ck = xcalloc(1, sizeof(*ck));
    ck->d = d;
    return ck;
}

void
checker_start(struct checker *ck)
{
    struct timeval tv = loop_tv(ck->d->check_interval);

    if (ck->d->check_interval <= 0) {
        log_info("directory: check_interval = 0: bindings are never re-checked");
        return;
    }
    ck->timer = event_new(loop_base(), -1, EV_PERSIST, tick_cb, ck);
    event_add(ck->timer, &tv);
}

void
checker_free(struct checker *ck)
{
    if (ck == NULL) {
        return;
    }
    while (ck->inflight) {
        struct probe *p = ck->inflight;
        probe_unlink(ck, p);
        dial_cancel(p->dial);
        free(p);
    }
    if (ck->timer) {
        event_free(ck->timer);
    }
    free(ck->queue);
    free(ck);
}
