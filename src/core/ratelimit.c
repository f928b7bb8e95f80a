/* SPDX-License-Identifier: MIT */
/* Open-addressed table with short probe runs; when a run is full the entry with the oldest
 * window is replaced, so memory is fixed at creation. */
#include "core/ratelimit.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define PROBE 8

#define KEY_LEN (17 + RATELIMIT_TAG_MAX)

struct slot {
    uint8_t key[KEY_LEN]; /* family byte, up to 16 address bytes, the folded tag */
    bool used;
    unsigned count;
    double start;
};

struct ratelimit {
    struct slot *v;
    size_t n;
    unsigned max;
    double window;
};

struct ratelimit *
ratelimit_new(unsigned max, double window, size_t slots)
{
    struct ratelimit *rl = xcalloc(1, sizeof(*rl));
    rl->n = slots < PROBE ? PROBE : slots;
    rl->v = xcalloc(rl->n, sizeof(*rl->v));
    rl->max = max;
    rl->window = window;
    return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
    if (rl) {
        free(rl->v);
        free(rl);
    }
}

static void
make_key(const struct sockaddr *sa, const char *tag, uint8_t key[KEY_LEN])
{
    memset(key, 0, KEY_LEN);
    for (size_t i = 0; tag != NULL && tag[i] != '\0' && i < RATELIMIT_TAG_MAX; i++) {
        key[17 + i] = (uint8_t)tolower((unsigned char)tag[i]);
    }
    if (sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            key[0] = 4;
            memcpy(key + 1, a->s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a->s6_addr, 8); /* the /64 */
        }
        return;
    }
    key[0] = 1; /* every UNIX socket peer shares one entry */
}

static size_t
hash_key(const uint8_t key[KEY_LEN])
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < KEY_LEN; i++) {
        h = (h ^ key[i]) * 1099511628211ULL;
    }
    return (size_t)h;
}

static struct slot *
lookup(struct ratelimit *rl, const struct sockaddr *sa, const char *tag, double now, bool create)
{
    uint8_t key[KEY_LEN];
    size_t h;
    struct slot *oldest = NULL;

    make_key(sa, tag, key);
    h = hash_key(key);
    for (size_t i = 0; i < PROBE; i++) {
        struct slot *s = &rl->v[(h + i) % rl->n];
        if (s->used && memcmp(s->key, key, KEY_LEN) == 0) {
            if (now - s->start >= rl->window) {
                s->count = 0;
                s->start = now;
            }
            return s;
        }
        if (!s->used || now - s->start >= rl->window) {
            if (oldest == NULL || oldest->used) {
                oldest = s;
            }
        } else if (oldest == NULL || (oldest->used && s->start < oldest->start)) {
            oldest = s;
        }
    }
    if (!create) {
        return NULL;
    }
    memcpy(oldest->key, key, KEY_LEN);
    oldest->used = true;
    oldest->count = 0;
    oldest->start = now;
    return oldest;
}

bool
ratelimit_blocked(struct ratelimit *rl, const struct sockaddr *sa, const char *tag, double now)
{
    struct slot *s = lookup(rl, sa, tag, now, false);
    return s != NULL && s->count >= rl->max;
}

void
ratelimit_hit(struct ratelimit *rl, const struct sockaddr *sa, const char *tag, double now)
{
    struct slot *s = lookup(rl, sa, tag, now, true);
    s->count++;
}

void
ratelimit_undo(struct ratelimit *rl, const struct sockaddr *sa, const char *tag, double now)
{
    struct slot *s = lookup(rl, sa, tag, now, false);
    if (s != NULL && s->count > 0) {
        s->count--;
    }
}
