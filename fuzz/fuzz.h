/* SPDX-License-Identifier: MIT */
/* What every libFuzzer harness shares: the entry point's prototype, a check that aborts (so
 * libFuzzer records the input) with the failed condition, and slice and copy helpers. */
#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Does the slice @s lie inside @base[0..n)? */
static inline bool
inside(const char *base, size_t n, struct str s)
{
    return s.p >= base && s.n <= n && (size_t)(s.p - base) <= n - s.n;
}

/* A heap copy of exactly @n bytes, so that AddressSanitizer sees any read past the end. */
static inline char *
exact(const char *p, size_t n)
{
    char *q = malloc(n ? n : 1);

    CHECK(q != NULL);
    if (n > 0) {
        memcpy(q, p, n);
    }
    return q;
}

#endif
