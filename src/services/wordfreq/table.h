/* SPDX-License-Identifier: MIT */
/*
 * The word-frequency table: built once from a data file's bytes, then read-only, so any number of
 * threads may look words up in it at once. One arena holds every word (case-folded) with its
 * count; an open-addressing index of 32-bit arena offsets, with a one-byte hash tag per slot,
 * finds them. No I/O.
 */
#ifndef SB_SERVICES_WORDFREQ_TABLE_H
#define SB_SERVICES_WORDFREQ_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wordlist.h"

struct wf_table;

/**
 * wf_table_build() - parse @buf (@n bytes, either format of wordlist.h) into a new table; words
 * that fold to the same form have their counts summed.
 * Return: the table (free with wf_table_free()), or NULL with @err filled (a malformed entry, a
 * file without words, a total above 2^64-1, more than 4 GiB of words).
 */
struct wf_table *wf_table_build(const char *buf, size_t n, struct wordlist_error *err);

/*
 * The same in pieces, for a file read a piece at a time: wf_table_new() sizes the table for about
 * @entries words from a file of @bytes bytes; wf_table_add_lines() takes `word<TAB>count` lines
 * that follow the first @before lines (wordlist_parse_lines()); wf_table_finish() checks that
 * there are words and shrinks the arena. On failure each fills @err and the caller frees @t.
 */
struct wf_table *wf_table_new(enum wordlist_format format, size_t entries, size_t bytes,
                              struct wordlist_error *err);
bool wf_table_add_lines(struct wf_table *t, const char *buf, size_t n, unsigned long before,
                        struct wordlist_error *err);
bool wf_table_finish(struct wf_table *t, struct wordlist_error *err);

/** wf_table_free() - free @t (NULL is fine). */
void wf_table_free(struct wf_table *t);

/** wf_table_count() - the count of the case-folded word @w (@n bytes); 0 if it is not there. */
uint64_t wf_table_count(const struct wf_table *t, const char *w, size_t n);

/** wf_table_words() - distinct (folded) words. */
size_t wf_table_words(const struct wf_table *t);

/** wf_table_total() - the sum of all counts. */
uint64_t wf_table_total(const struct wf_table *t);

/** wf_table_memory() - bytes the table holds (arena, index, and the table itself). */
size_t wf_table_memory(const struct wf_table *t);

/** wf_table_format() - the format the table was read from. */
enum wordlist_format wf_table_format(const struct wf_table *t);

#endif
