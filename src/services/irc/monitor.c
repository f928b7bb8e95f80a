/* SPDX-License-Identifier: MIT */
/*
 * MONITOR (IRCv3): a client names nicknames it wants to hear about and is told when they come
 * online (730) and go offline (731). With extended-monitor it also gets the capability-gated
 * notifications (AWAY, ACCOUNT, SETNAME, CHGHOST) about them as if it shared a channel with them.
 * One map from folded nickname to its watchers; each client keeps its own list, bounded by
 * IRC_MONITOR_MAX, so neither side can grow without limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "core/mem.h"
#include "core/strutil.h"
#include "services/irc/irc.h"

/* The watchers of one nickname. */
struct watch {
    char key[IRC_NICK_MAX + 1];
    struct client **v;
    size_t n, cap;
};

static struct watch *
watch_get(struct ircd *d, const char *key)
{
    return map_get(d->monitors, key, strlen(key));
}

static void
watch_add(struct ircd *d, const char *key, struct client *cl)
{
    struct watch *w = watch_get(d, key);

    if (w == NULL) {
        w = xcalloc(1, sizeof(*w));
        str_copy(w->key, sizeof(w->key), key);
        map_put(d->monitors, key, strlen(key), w);
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
    }
    w->v[w->n++] = cl;
}

static void
watch_del(struct ircd *d, const char *key, struct client *cl)
{
    struct watch *w = watch_get(d, key);

    if (w == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        if (w->v[i] == cl) {
            w->v[i] = w->v[--w->n];
            break;
        }
    }
    if (w->n == 0) {
        map_del(d->monitors, key, strlen(key));
        free(w->v);
        free(w);
    }
}

static ptrdiff_t
mine(const struct client *cl, const char *key)
{
    for (size_t i = 0; i < cl->nmonitor; i++) {
        if (strcmp(cl->monitor[i], key) == 0) {
            return (ptrdiff_t)i;
        }
    }
    return -1;
}

/* Replies listing nicknames, split to fit a line: "730 me :a!u@h,b!u@h". */
struct batch {
    struct client *cl;
    const char *num;
    char buf[IRC_LINE_MAX];
    size_t len;
};

static void
batch_flush(struct batch *b)
{
    if (b->len > 0) {
        b->buf[b->len] = '\0';
        irc_reply(b->cl, b->num, ":%s", b->buf);
        b->len = 0;
    }
}

static void
batch_add(struct batch *b, const char *item)
{
    size_t n = strlen(item);

    if (b->len + n + 1 > 400) {
        batch_flush(b);
    }
    if (b->len) {
        b->buf[b->len++] = ',';
    }
    memcpy(b->buf + b->len, item, n);
    b->len += n;
}

static void
status_of(struct ircd *d, const char *nick, struct batch *on, struct batch *off)
{
    struct client *t = irc_find_nick(d, nick);
    char src[IRC_LINE_MAX];

    if (t && t->state == CL_READY) {
        batch_add(on, irc_source(t, src, sizeof(src)));
    } else {
        batch_add(off, nick);
    }
}

static void
monitor_add(struct client *cl, char *targets)
{
    struct ircd *d = cl->d;
    struct batch on = {cl, "730", "", 0}, off = {cl, "731", "", 0};
    char *save = NULL;

    for (char *t = strtok_r(targets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char key[IRC_NICK_MAX + 1];
        size_t n = strlen(t);
        if (!irc_nick_valid(t, n, IRC_NICK_MAX)) {
            continue;
        }
        irc_fold(t, n, key);
        if (mine(cl, key) < 0) {
            if (cl->nmonitor >= IRC_MONITOR_MAX) {
                batch_flush(&on);
                batch_flush(&off);
                /* The rest of the list, as given, is what did not fit. */
                irc_reply(cl, "734", "%d %s%s%s :Monitor list is full", IRC_MONITOR_MAX, t,
                          save && *save ? "," : "", save && *save ? save : "");
                return;
            }
            cl->monitor = xrealloc(cl->monitor, (cl->nmonitor + 1) * sizeof(*cl->monitor));
            str_copy(cl->monitor[cl->nmonitor++], sizeof(cl->monitor[0]), key);
            watch_add(d, key, cl);
        }
        status_of(d, t, &on, &off);
    }
    batch_flush(&on);
    batch_flush(&off);
}

static void
monitor_del(struct client *cl, char *targets)
{
    char *save = NULL;

    for (char *t = strtok_r(targets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char key[IRC_NICK_MAX + 1];
        size_t n = strlen(t);
        if (n == 0 || n > IRC_NICK_MAX) {
            continue;
        }
        irc_fold(t, n, key);
        ptrdiff_t i = mine(cl, key);
        if (i >= 0) {
            watch_del(cl->d, key, cl);
            memmove(&cl->monitor[i], &cl->monitor[i + 1],
                    (cl->nmonitor - (size_t)i - 1) * sizeof(*cl->monitor));
            cl->nmonitor--;
        }
    }
}

void
irc_monitor_clear(struct client *cl)
{
    for (size_t i = 0; i < cl->nmonitor; i++) {
        watch_del(cl->d, cl->monitor[i], cl);
    }
    free(cl->monitor);
    cl->monitor = NULL;
    cl->nmonitor = 0;
}

IRC_CMD(monitor)
{
    const char *sub = m->params[0];
    char targets[IRC_LINE_MAX];

    if (strlen(sub) != 1) {
        irc_reply(cl, ERR_UNKNOWNCOMMAND, "MONITOR");
        return;
    }
    switch (sub[0]) {
    case '+':
    case '-':
        if (m->nparams < 2 || m->params[1][0] == '\0') {
            irc_reply(cl, ERR_NEEDMOREPARAMS, "MONITOR");
            return;
        }
        str_copy(targets, sizeof(targets), m->params[1]);
        if (sub[0] == '+') {
            monitor_add(cl, targets);
        } else {
            monitor_del(cl, targets);
        }
        break;
    case 'C':
    case 'c':
        irc_monitor_clear(cl);
        break;
    case 'L':
    case 'l': {
        struct batch list = {cl, "732", "", 0};
        for (size_t i = 0; i < cl->nmonitor; i++) {
            batch_add(&list, cl->monitor[i]);
        }
        batch_flush(&list);
        irc_reply(cl, "733", ":End of MONITOR list");
        break;
    }
    case 'S':
    case 's': {
        struct batch on = {cl, "730", "", 0}, off = {cl, "731", "", 0};
        for (size_t i = 0; i < cl->nmonitor; i++) {
            status_of(cl->d, cl->monitor[i], &on, &off);
        }
        batch_flush(&on);
        batch_flush(&off);
        break;
    }
    default:
        irc_reply(cl, ERR_UNKNOWNCOMMAND, "MONITOR");
    }
}

void
irc_monitor_notify(struct client *cl, const char *nick, bool online)
{
    struct ircd *d = cl->d;
    char key[IRC_NICK_MAX + 1], src[IRC_LINE_MAX];
    struct watch *w;
    size_t n = strlen(nick);

    if (n == 0 || n > IRC_NICK_MAX) {
        return;
    }
    irc_fold(nick, n, key);
    if ((w = watch_get(d, key)) == NULL) {
        return;
    }
    if (online) {
        irc_source(cl, src, sizeof(src));
    }
    for (size_t i = 0; i < w->n; i++) {
        if (online) {
            irc_reply(w->v[i], "730", ":%s", src);
        } else {
            irc_reply(w->v[i], "731", ":%s", nick);
        }
    }
}

void
irc_monitor_each(struct client *cl, void (*fn)(struct client *watcher, void *arg), void *arg)
{
    char key[IRC_NICK_MAX + 1];
    struct watch *w;
    size_t n = strlen(cl->nick);

    if (n == 0) {
        return;
    }
    irc_fold(cl->nick, n, key);
    if ((w = watch_get(cl->d, key)) == NULL) {
        return;
    }
    for (size_t i = 0; i < w->n; i++) {
        fn(w->v[i], arg);
    }
}
