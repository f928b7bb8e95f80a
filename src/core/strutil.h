/* SPDX-License-Identifier: MIT */
/* Small string helpers that replace the banned libc calls (strcpy, strncpy, atoi, ...). */
#ifndef SB_CORE_STRUTIL_H
#define SB_CORE_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/**
 * str_copy() - copy @src into @dst of @cap bytes, always NUL-terminating.
 * Return: true if it fit, false if it was truncated (or @cap is 0).
 */
bool str_copy(char *dst, size_t cap, const char *src);

/**
 * parse_long() - parse the whole of @s as a base-10 integer in [@min, @max].
 * Return: true on success (*out set); false on empty input, junk, or out of range.
 */
bool parse_long(const char *s, long min, long max, long *out);

/**
 * parse_seconds() - parse a duration: a decimal number with an optional unit suffix
 * ("ms", "s", "m", "h"); no suffix means seconds. Result in seconds, within [@min, @max].
 */
bool parse_seconds(const char *s, double min, double max, double *out);

/** parse_bool() - yes/no, true/false, on/off, 1/0 (case-insensitive). */
bool parse_bool(const char *s, bool *out);

/** str_trim() - strip leading and trailing blanks in place; returns the start. */
char *str_trim(char *s);

#endif
