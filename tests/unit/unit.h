/* SPDX-License-Identifier: MIT */
/* Helpers the cmocka tests of the codecs share. Include after <cmocka.h>. */
#ifndef SB_TESTS_UNIT_H
#define SB_TESTS_UNIT_H

#include <stdlib.h>
#include <string.h>

#include "proto/parse.h"

/* A heap copy of exactly @n bytes (never NUL-terminated), so over-reads are caught by ASan. */
static inline char *
exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n > 0) {
        memcpy(p, s, n);
    }
    return p;
}

/* @s holds exactly the bytes of @want. */
static inline void
assert_slice(struct str s, const char *want)
{
    size_t n = strlen(want);

    assert_int_equal(s.n, n);
    if (n > 0) {
        assert_memory_equal(s.p, want, n);
    }
}

#endif
