/* SPDX-License-Identifier: MIT */
/* Chained hash map with FNV-1a hashing; the table doubles when the load factor reaches 1. */
#include "core/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct map_node {
    struct map_node *next;
    uint64_t hash;
    void *value;
    size_t klen;
    char key[];
};

struct map {
    struct map_node **b;
    size_t nb, count;
};

static uint64_t
hash_bytes(const void *key, size_t n)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

struct map *
map_new(void)
{
    struct map *m = xcalloc(1, sizeof(*m));
    m->nb = 16;
    m->b = xcalloc(m->nb, sizeof(*m->b));
    return m;
}

void
map_free(struct map *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nb; i++) {
        struct map_node *n = m->b[i];
        while (n) {
            struct map_node *next = n->next;
            free(n);
            n = next;
        }
    }
    free(m->b);
    free(m);
}

static struct map_node **
find(const struct map *m, const void *key, size_t klen, uint64_t h)
{
    struct map_node **pp = &m->b[h & (m->nb - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0) {
            break;
        }
    }
    return pp;
}

void *
map_get(const struct map *m, const void *key, size_t klen)
{
    struct map_node **pp = find(m, key, klen, hash_bytes(key, klen));
    return *pp ? (*pp)->value : NULL;
}

static void
grow(struct map *m)
{
    size_t nb = m->nb * 2;
    struct map_node **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nb; i++) {
        struct map_node *n = m->b[i];
        while (n) {
            struct map_node *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void *
map_put(struct map *m, const void *key, size_t klen, void *value)
{
    uint64_t h = hash_bytes(key, klen);
    struct map_node **pp = find(m, key, klen, h);

    if (*pp) {
        void *old = (*pp)->value;
        (*pp)->value = value;
        return old;
    }
    struct map_node *n = xmalloc(sizeof(*n) + klen);
    n->next = NULL;
    n->hash = h;
    n->value = value;
    n->klen = klen;
    memcpy(n->key, key, klen);
    *pp = n;
    if (++m->count > m->nb) {
        grow(m);
    }
    return NULL;
}

void *
map_del(struct map *m, const void *key, size_t klen)
{
    struct map_node **pp = find(m, key, klen, hash_bytes(key, klen));
    struct map_node *n = *pp;
    void *v;

    if (n == NULL) {
        return NULL;
    }
    *pp = n->next;
    v = n->value;
    free(n);
    m->count--;
    return v;
}

size_t
map_count(const struct map *m)
{
    return m->count;
}

void
map_foreach(const struct map *m, void (*fn)(void *, const void *, size_t, void *), void *arg)
{
    for (size_t i = 0; i < m->nb; i++) {
        for (struct map_node *n = m->b[i]; n; n = n->next) {
            fn(arg, n->key, n->klen, n->value);
        }
    }
}
