/* SPDX-License-Identifier: MIT */
/*
 * Types shared by every codec in src/proto: a borrowed byte slice and the three-way parser result.
 * Nothing here allocates or does I/O.
 */
#ifndef SB_PROTO_PARSE_H
#define SB_PROTO_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* A borrowed slice of someone else's buffer; not NUL-terminated. */
struct str {
    const char *p;
    size_t n;
};

/* Does @s hold exactly the bytes of @c? */
static inline bool
str_eq(struct str s, const char *c)
{
    size_t n = strlen(c);
    return s.n == n && memcmp(s.p, c, n) == 0;
}

enum parse_result {
    PARSE_OK,    /* a complete unit was decoded */
    PARSE_AGAIN, /* the input ends before the unit does: feed more bytes */
    PARSE_ERR,   /* the input can never become valid: *why says what is wrong */
};

#endif
