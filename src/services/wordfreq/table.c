/* SPDX-License-Identifier: MIT */
/*
 * A record in the arena is: one length byte, the folded word, and its count as LEB128. When the
 * sum of a word's case variants no longer fits the bytes its count was given, the record is
 * written again at the end of the arena and the slot moved to it (the data sets have few such
 * variants, so the waste is small). Slots hold an arena offset and, beside it, a tag of eight
 * hash bits (0 = empty), so that most probes of a missing word never touch the arena. The index
 * is sized from an upper bound of the entries and kept at most 3/4 full.
 */
#include "services/wordfreq/table.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "proto/words.h"

#define SLOT_EMPTY 0
#define ARENA_MAX UINT32_MAX

struct wf_table {
    unsigned char *arena;
    size_t arena_len, arena_cap;
    uint32_t *offsets;   /* per slot: the record's arena offset */
    unsigned char *tags; /* per slot: 0 empty, else 1..255 from the hash */
    size_t nslots, words;
    uint64_t total;
    enum wordlist_format format;
};

/* FNV-1a, then a 64-bit finaliser so that the high bits (used to pick the slot) are mixed. */
static uint64_t
hash(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static size_t
home(uint64_t h, size_t nslots)
{
    return (size_t)(((unsigned __int128)(h >> 32) * nslots) >> 32);
}

static unsigned char
tag_of(uint64_t h)
{
    unsigned char t = (unsigned char)h;
    return t == SLOT_EMPTY ? 1 : t;
}

static size_t
leb_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Writes @v in exactly @width bytes (padded with zero groups when it needs fewer). */
static void
leb_put(unsigned char *p, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++) {
        p[i] = (unsigned char)((v & 0x7f) | (i + 1 < width ? 0x80 : 0));
        v >>= 7;
    }
}

static uint64_t
leb_get(const unsigned char *p, size_t *width)
{
    uint64_t v = 0;
    size_t i = 0;

    for (;; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            break;
        }
    }
    *width = i + 1;
    return v;
}

/* The slot holding @w, or the empty slot where it would go. */
static size_t
probe(const struct wf_table *t, const char *w, size_t n, uint64_t h)
{
    size_t i = home(h, t->nslots);
    unsigned char tag = tag_of(h);

    for (;;) {
        unsigned char s = t->tags[i];
        if (s == SLOT_EMPTY) {
            return i;
        }
        if (s == tag) {
            const unsigned char *r = t->arena + t->offsets[i];
            if (r[0] == n && memcmp(r + 1, w, n) == 0) {
                return i;
            }
        }
        if (++i == t->nslots) {
            i = 0;
        }
    }
}

static bool
index_alloc(struct wf_table *t, size_t nslots)
{
    uint32_t *offsets = mem_map(nslots * sizeof(*offsets));
    unsigned char *tags = mem_map(nslots); /* zeroed: every slot empty */

    if (offsets == NULL || tags == NULL) {
        mem_unmap(offsets, nslots * sizeof(*offsets));
        mem_unmap(tags, nslots);
        return false;
    }
    t->nslots = nslots;
    t->offsets = offsets;
    t->tags = tags;
    return true;
}

/* More entries than the estimate: double the index and place every record again. */
static bool
grow_index(struct wf_table *t)
{
    uint32_t *old_off = t->offsets;
    unsigned char *old_tags = t->tags;
    size_t old_n = t->nslots;

    if (!index_alloc(t, old_n * 2)) {
        return false;
    }
    for (size_t i = 0; i < old_n; i++) {
        if (old_tags[i] != SLOT_EMPTY) {
            const unsigned char *r = t->arena + old_off[i];
            uint64_t h = hash((const char *)r + 1, r[0]);
            size_t j = probe(t, (const char *)r + 1, r[0], h);
            t->tags[j] = tag_of(h);
            t->offsets[j] = old_off[i];
        }
    }
    mem_unmap(old_off, old_n * sizeof(*old_off));
    mem_unmap(old_tags, old_n);
    return true;
}

#define NO_MEMORY "not enough memory for the table"

/* Appends a record. Return: NULL, or why not (past what 32-bit offsets reach, or no memory). */
static const char *
append(struct wf_table *t, const char *w, size_t n, uint64_t count, uint32_t *off)
{
    size_t need = 1 + n + leb_len(count);

    if (t->arena_len + need > ARENA_MAX) {
        return "more than 4 GiB of words";
    }
    if (t->arena_len + need > t->arena_cap) {
        size_t cap = t->arena_cap * 2 + need;
        cap = cap > ARENA_MAX ? ARENA_MAX : cap;
        unsigned char *a = mem_remap(t->arena, t->arena_cap, cap);
        if (a == NULL) {
            return NO_MEMORY;
        }
        t->arena = a;
        t->arena_cap = cap;
    }
    unsigned char *r = t->arena + t->arena_len;
    r[0] = (unsigned char)n;
    memcpy(r + 1, w, n);
    leb_put(r + 1 + n, count, leb_len(count));
    *off = (uint32_t)t->arena_len;
    t->arena_len += need;
    return NULL;
}

static const char *
add_entry(void *arg, const char *word, size_t n, uint64_t count)
{
    struct wf_table *t = arg;
    char folded[WORDS_MAX];
    size_t len = words_fold(word, n, folded, sizeof(folded));

    if (len == 0) {
        return "word longer than 255 bytes once case-folded";
    }
    if (t->total > UINT64_MAX - count) {
        return "the counts add up to more than 18446744073709551615";
    }
    t->total += count;
    if ((t->words + 1) * 4 > t->nslots * 3 && !grow_index(t)) {
        return NO_MEMORY;
    }
    uint64_t h = hash(folded, len);
    size_t i = probe(t, folded, len, h);
    uint32_t off;
    const char *why;
    if (t->tags[i] == SLOT_EMPTY) {
        if ((why = append(t, folded, len, count, &off)) != NULL) {
            return why;
        }
        t->tags[i] = tag_of(h);
        t->offsets[i] = off;
        t->words++;
        return NULL;
    }
    /* A case variant of a word already there: sum the counts. */
    unsigned char *r = t->arena + t->offsets[i];
    size_t width;
    uint64_t sum = leb_get(r + 1 + len, &width) + count; /* cannot overflow: total did not */
    if (leb_len(sum) <= width) {
        leb_put(r + 1 + len, sum, width);
        return NULL;
    }
    if ((why = append(t, folded, len, sum, &off)) != NULL) {
        return why;
    }
    t->offsets[i] = off;
    return NULL;
}

struct wf_table *
wf_table_new(enum wordlist_format format, size_t entries, size_t bytes, struct wordlist_error *err)
{
    struct wf_table *t = xcalloc(1, sizeof(*t));

    t->format = format;
    /* Records are shorter than the lines they come from, so the file size is enough for TSV; a
     * JSON file spends far more bytes per word. Growth covers case folding that lengthens. The
     * pages of the arena that are never written are never backed by memory. */
    t->arena_cap = format == WORDLIST_TSV ? bytes + 16 : bytes / 4 + 16;
    t->arena = mem_map(t->arena_cap);
    if (t->arena == NULL || !index_alloc(t, entries < 12 ? 16 : entries / 3 * 4 + 1)) {
        err->line = 0;
        snprintf(err->why, sizeof(err->why), NO_MEMORY);
        wf_table_free(t);
        return NULL;
    }
    return t;
}

bool
wf_table_add_lines(struct wf_table *t, const char *buf, size_t n, unsigned long before,
                   struct wordlist_error *err)
{
    return wordlist_parse_lines(buf, n, before, add_entry, t, err) >= 0;
}

bool
wf_table_finish(struct wf_table *t, struct wordlist_error *err)
{
    if (t->words == 0) {
        err->line = 0;
        snprintf(err->why, sizeof(err->why), "no words in the file");
        return false;
    }
    unsigned char *a = mem_remap(t->arena, t->arena_cap, t->arena_len);
    if (a != NULL) {
        t->arena = a;
        t->arena_cap = t->arena_len;
    }
    return true;
}

struct wf_table *
wf_table_build(const char *buf, size_t n, struct wordlist_error *err)
{
    struct wf_table *t = wf_table_new(wordlist_detect(buf, n), wordlist_estimate(buf, n), n, err);

    if (t == NULL) {
        return NULL;
    }
    if (wordlist_parse(buf, n, add_entry, t, err) < 0 || !wf_table_finish(t, err)) {
        wf_table_free(t);
        return NULL;
    }
    return t;
}

void
wf_table_free(struct wf_table *t)
{
    if (t == NULL) {
        return;
    }
    mem_unmap(t->arena, t->arena_cap);
    mem_unmap(t->offsets, t->nslots * sizeof(*t->offsets));
    mem_unmap(t->tags, t->nslots);
    free(t);
}

uint64_t
wf_table_count(const struct wf_table *t, const char *w, size_t n)
{
    size_t width;

    if (n == 0 || n > WORDS_MAX) {
        return 0;
    }
    size_t i = probe(t, w, n, hash(w, n));
    if (t->tags[i] == SLOT_EMPTY) {
        return 0;
    }
    return leb_get(t->arena + t->offsets[i] + 1 + n, &width);
}

size_t
wf_table_words(const struct wf_table *t)
{
    return t->words;
}

uint64_t
wf_table_total(const struct wf_table *t)
{
    return t->total;
}

size_t
wf_table_memory(const struct wf_table *t)
{
    return sizeof(*t) + t->arena_cap + t->nslots * (sizeof(*t->offsets) + 1);
}

enum wordlist_format
wf_table_format(const struct wf_table *t)
{
    return t->format;
}
