/* SPDX-License-Identifier: MIT */
/*
 * Words of the word-frequency service: UTF-8 validation, case folding (so that lookups ignore
 * case), the tokenizer that cuts free text into words the way SUBTLEX was counted, and the
 * splitting of request arguments. Unicode tables come from libunistring; ASCII takes a fast path.
 * No I/O, no allocation that outlives a call.
 */
#ifndef SB_PROTO_WORDS_H
#define SB_PROTO_WORDS_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/parse.h"

/* Longest word, in bytes, once case-folded: what the table stores and what a lookup can find. */
#define WORDS_MAX 255

/** words_utf8_valid() - is @p[0..@n) well-formed UTF-8 (no overlongs, surrogates, > U+10FFFF)? */
bool words_utf8_valid(const char *p, size_t n);

/**
 * words_fold() - the case-folded, NFC-normalised form of the valid UTF-8 word @p[0..@n) into
 * @out (@cap bytes), so that "What", "WHAT" and "what" (and "Straße", "STRASSE") are equal.
 * Return: its length, or 0 if it is empty or longer than @cap.
 */
size_t words_fold(const char *p, size_t n, char *out, size_t cap);

/**
 * words_next() - the next word of the valid UTF-8 text @p[0..@n) from *@pos: a letter, then
 * every letter and combining mark after it; everything else separates words (apostrophes and
 * hyphens too, as in SUBTLEX: "don't" is "don" and "t").
 * Return: true with the word in @word and *@pos past it, false at the end of the text.
 */
bool words_next(const char *p, size_t n, size_t *pos, struct str *word);

/**
 * words_arg_next() - the next argument of a request line: a run of bytes other than space and
 * tab, from *@pos. Return: true with it in @arg, false when only blanks are left.
 */
bool words_arg_next(const char *p, size_t n, size_t *pos, struct str *arg);

/** words_valid_entry() - can @p[0..@n) be a word of a data file: 1 to WORDS_MAX bytes of valid
 * UTF-8 without whitespace or control characters? Return: NULL if so, else why not. */
const char *words_valid_entry(const char *p, size_t n);

#endif
