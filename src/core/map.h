/* SPDX-License-Identifier: MIT */
/*
 * A hash map from byte-string keys to pointers (chained, doubling). Keys are copied; values are
 * borrowed and never freed by the map. Not thread-safe.
 */
#ifndef SB_CORE_MAP_H
#define SB_CORE_MAP_H

#include <stdbool.h>
#include <stddef.h>

struct map;

struct map *map_new(void);
/** map_free() - free the map and its key copies; the values are the caller's. */
void map_free(struct map *m);
void *map_get(const struct map *m, const void *key, size_t klen);
/** map_put() - insert or replace; returns the previous value or NULL. */
void *map_put(struct map *m, const void *key, size_t klen, void *value);
/** map_del() - remove; returns the removed value or NULL. */
void *map_del(struct map *m, const void *key, size_t klen);
size_t map_count(const struct map *m);
/**
 * map_foreach() - call @fn for every entry, in no particular order. @fn must not change the map;
 * collect keys first if entries are to be removed.
 */
void map_foreach(const struct map *m,
                 void (*fn)(void *arg, const void *key, size_t klen, void *value), void *arg);

#endif
