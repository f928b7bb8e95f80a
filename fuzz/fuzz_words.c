/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the words of the word-frequency service. words_arg_next() on arbitrary
 * bytes: arguments are non-empty runs without blanks, in order, with only blanks between them.
 * On valid UTF-8 only (the service refuses the rest first): words_next() gives non-empty,
 * increasing, non-overlapping words inside the text, made of letters and marks, with no letter
 * left between them; words_fold() agrees with itself at every buffer size, never writes past
 * the buffer, is idempotent, and folds canonically equivalent texts (NFC, NFD) alike.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "fuzz/fuzz.h"
#include "proto/words.h"

#define CANARY 8

static bool
blank(char c)
{
    return c == ' ' || c == '\t';
}

static void
check_args(const char *p, size_t n)
{
    size_t pos = 0, end = 0;
    struct str a;

    while (words_arg_next(p, n, &pos, &a)) {
        CHECK(inside(p, n, a));
        CHECK(a.n > 0);
        CHECK(a.p >= p + end);
        CHECK(pos == (size_t)(a.p - p) + a.n);
        for (const char *q = p + end; q < a.p; q++) {
            CHECK(blank(*q));
        }
        for (size_t i = 0; i < a.n; i++) {
            CHECK(!blank(a.p[i]));
        }
        /* Maximal: a blank or the end follows. */
        CHECK(pos == n || blank(p[pos]));
        end = pos;
    }
    CHECK(pos == n);
    for (size_t i = end; i < n; i++) {
        CHECK(blank(p[i]));
    }
}

static bool
letter(ucs4_t uc)
{
    return uc_is_general_category(uc, UC_LETTER);
}

static bool
letter_or_mark(ucs4_t uc)
{
    return uc_is_general_category(uc, UC_LETTER) || uc_is_general_category(uc, UC_MARK);
}

static void
check_words(const char *p, size_t n)
{
    size_t pos = 0, end = 0;
    struct str w;
    ucs4_t uc;

    while (words_next(p, n, &pos, &w)) {
        CHECK(inside(p, n, w));
        CHECK(w.n > 0);
        CHECK(w.p >= p + end);
        CHECK(pos == (size_t)(w.p - p) + w.n);
        /* Whole characters, every one a letter or a mark. */
        CHECK(words_utf8_valid(w.p, w.n));
        for (size_t i = 0; i < w.n;) {
            int len = u8_mbtouc(&uc, (const uint8_t *)w.p + i, w.n - i);
            CHECK(len > 0);
            CHECK(letter_or_mark(uc));
            i += (size_t)len;
        }
        /* No letter was skipped on the way. */
        for (size_t i = end; i < (size_t)(w.p - p);) {
            int len = u8_mbtouc(&uc, (const uint8_t *)p + i, n - i);
            CHECK(len > 0);
            CHECK(!letter(uc));
            i += (size_t)len;
        }
        /* A word read on its own is itself. */
        size_t again = 0;
        struct str v;
        CHECK(words_next(w.p, w.n, &again, &v));
        CHECK(v.p == w.p && v.n == w.n);
        CHECK(!words_next(w.p, w.n, &again, &v));
        end = pos;
    }
    CHECK(pos == n);
    for (size_t i = end; i < n;) {
        int len = u8_mbtouc(&uc, (const uint8_t *)p + i, n - i);
        CHECK(len > 0);
        CHECK(!letter(uc));
        i += (size_t)len;
    }
}

/* words_fold() into exactly @cap bytes followed by a canary: @want (@wn bytes) if it fits, else
 * 0, and nothing written past @cap. */
static void
fold_into(const char *p, size_t n, size_t cap, const char *want, size_t wn)
{
    char *out = malloc(cap + CANARY);

    CHECK(out != NULL);
    memset(out, 0xA5, cap + CANARY);
    size_t len = words_fold(p, n, out, cap);
    for (size_t i = cap; i < cap + CANARY; i++) {
        CHECK((unsigned char)out[i] == 0xA5);
    }
    if (wn <= cap) {
        CHECK(len == wn);
        CHECK(len == 0 || memcmp(out, want, len) == 0);
    } else {
        CHECK(len == 0);
    }
    free(out);
}

/* The fold of @p[0..@n) normalised with @nf first equals @want. */
static void
fold_normalized(uninorm_t nf, const char *p, size_t n, const char *want, size_t wn)
{
    size_t nn = 0;
    uint8_t *q = u8_normalize(nf, (const uint8_t *)p, n, NULL, &nn);

    CHECK(q != NULL);
    size_t cap = wn + 64;
    char *out = malloc(cap);
    CHECK(out != NULL);
    size_t len = words_fold((const char *)q, nn, out, cap);
    CHECK(len == wn && memcmp(out, want, wn) == 0);
    free(out);
    free(q);
}

static void
check_fold(const char *p, size_t n)
{
    /* Full case folding at most triples a text in UTF-8 (one code point of two bytes becomes
     * three), and NFC never lengthens that further by more than the slack. */
    size_t bigcap = 4 * n + 64;
    char *big = malloc(bigcap);

    CHECK(big != NULL);
    size_t len = words_fold(p, n, big, bigcap);
    CHECK(len <= bigcap);
    CHECK((len == 0) == (n == 0));

    size_t caps[] = {0, 1, 2, 3, n / 2, n, n + 1, WORDS_MAX, len, len + 1, len ? len - 1 : 0};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        fold_into(p, n, caps[i], big, len);
    }
    if (len > 0) {
        /* Idempotent: a folded word is its own fold, as the table's keys must be. */
        fold_into(big, len, len, big, len);
        /* Canonically equivalent texts fold to the same bytes. */
        fold_normalized(UNINORM_NFD, p, n, big, len);
        fold_normalized(UNINORM_NFC, p, n, big, len);
        /* ASCII folds byte for byte. */
        bool ascii = true;
        for (size_t i = 0; i < n && ascii; i++) {
            ascii = (unsigned char)p[i] < 0x80;
        }
        if (ascii) {
            CHECK(len == n);
        }
    }
    free(big);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = exact((const char *)data, size);

    check_args(p, size);
    if (words_utf8_valid(p, size)) {
        check_words(p, size);
        check_fold(p, size);
    }
    free(p);
    return 0;
}
