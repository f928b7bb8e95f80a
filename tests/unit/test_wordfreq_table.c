/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the word-frequency table (src/services/wordfreq/table.c): built from either data
 * format, case variants summed (also when the sum needs a longer count than the first variant
 * had), lookups of folded words, the totals and their overflow, files without words, and big
 * tables whose index has to grow. The data is copied into a heap buffer of exactly its length and
 * freed before the lookups, so a sanitizer build catches a table that reads past the data or
 * keeps pointers into it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/words.h"
#include "services/wordfreq/table.h"
#include "tests/unit/unit.h"

static struct wf_table *
build_n(const char *text, size_t n, struct wordlist_error *err)
{
    char *p = exact(text, n);
    struct wf_table *t;

    memset(err, 'Z', sizeof(*err));
    t = wf_table_build(p, n, err);
    if (t == NULL) {
        assert_non_null(memchr(err->why, '\0', sizeof(err->why)));
        assert_true(err->why[0] != '\0');
    }
    free(p);
    return t;
}

/* Build from @text, which must work. */
static struct wf_table *
build(const char *text)
{
    struct wordlist_error err;
    struct wf_table *t = build_n(text, strlen(text), &err);

    if (t == NULL) {
        fail_msg("wf_table_build: line %lu: %s", err.line, err.why);
    }
    return t;
}

/* Building from @text fails at line @line with a reason containing @part. */
static void
build_fails(const char *text, size_t n, unsigned long line, const char *part)
{
    struct wordlist_error err;
    struct wf_table *t = build_n(text, n, &err);

    if (t != NULL) {
        wf_table_free(t);
        fail_msg("wf_table_build(\"%s\") worked, expected an error at line %lu", text, line);
    }
    if (err.line != line || strstr(err.why, part) == NULL) {
        fail_msg("\"%s\": error at line %lu \"%s\", expected line %lu with \"%s\"", text, err.line,
                 err.why, line, part);
    }
}

/* The count of @w (@n bytes) as the service looks it up: folded first. */
static uint64_t
lookup_n(const struct wf_table *t, const char *w, size_t n)
{
    char folded[WORDS_MAX];
    size_t len = words_fold(w, n, folded, sizeof(folded));
    char *p = exact(folded, len);
    uint64_t c = wf_table_count(t, p, len);

    free(p);
    return c;
}

static uint64_t
lookup(const struct wf_table *t, const char *w)
{
    return lookup_n(t, w, strlen(w));
}

static void
test_tsv(void **state)
{
    struct wf_table *t = build("the\t1501908\nzymurgy\t1\nof\t0\n");

    assert_int_equal(wf_table_format(t), WORDLIST_TSV);
    assert_int_equal(wf_table_words(t), 3);
    assert_true(wf_table_total(t) == 1501909);
    assert_true(lookup(t, "the") == 1501908);
    assert_true(lookup(t, "The") == 1501908);
    assert_true(lookup(t, "THE") == 1501908);
    assert_true(lookup(t, "zymurgy") == 1);
    assert_true(lookup(t, "of") == 0);
    /* Unknown words, prefixes and extensions of known ones, the empty word. */
    assert_true(lookup(t, "xyzzy") == 0);
    assert_true(lookup(t, "th") == 0);
    assert_true(lookup(t, "them") == 0);
    assert_true(lookup(t, "zymurgy\xC3\xA9") == 0);
    assert_true(wf_table_count(t, "", 0) == 0);
    /* wf_table_count() takes the folded form: an unfolded word is not found. */
    assert_true(wf_table_count(t, "The", 3) == 0);
    /* A word longer than any stored one. */
    char big[WORDS_MAX + 1];
    memset(big, 't', sizeof(big));
    assert_true(wf_table_count(t, big, sizeof(big)) == 0);
    assert_true(wf_table_count(t, big, WORDS_MAX) == 0);
    /* The table holds at least its records, and is freed with its arena and index. */
    assert_true(wf_table_memory(t) >= (1 + 3 + 3) + (1 + 7 + 1) + (1 + 2 + 1));
    wf_table_free(t);
    wf_table_free(NULL);
}

static void
test_json(void **state)
{
    struct wf_table *t = build("\xEF\xBB\xBF[\n"
                               "  {\n"
                               "    \"word\": \"the\",\n"
                               "    \"count\": 1501908\n"
                               "  },\n"
                               "  {\"word\": \"zymurgy\", \"count\": 1, \"dom\": \"Noun\"},\n"
                               "  {\"count\": 7, \"word\": \"Stra\\u00dfe\"}\n"
                               "]\n");

    assert_int_equal(wf_table_format(t), WORDLIST_JSON);
    assert_int_equal(wf_table_words(t), 3);
    assert_true(wf_table_total(t) == 1501916);
    assert_true(lookup(t, "the") == 1501908);
    assert_true(lookup(t, "Zymurgy") == 1);
    assert_true(lookup(t, "strasse") == 7);
    assert_true(lookup(t, "STRASSE") == 7);
    assert_true(lookup(t, "Stra\xC3\x9F"
                          "e") == 7);
    assert_true(lookup(t, "stra\xC3\x9F"
                          "e") == 7);
    assert_true(lookup(t, "strase") == 0);
    wf_table_free(t);
}

static void
test_case_variants(void **state)
{
    struct wf_table *t = build("What\t3\nwhat\t4\nWHAT\t5\nthe\t1\n");

    assert_int_equal(wf_table_words(t), 2);
    assert_true(wf_table_total(t) == 13);
    assert_true(lookup(t, "what") == 12);
    assert_true(lookup(t, "WhAt") == 12);
    assert_true(lookup(t, "the") == 1);
    wf_table_free(t);

    /* The same in JSON. */
    t = build("[{\"word\":\"What\",\"count\":3},{\"word\":\"what\",\"count\":4},"
              "{\"word\":\"WHAT\",\"count\":5}]");
    assert_int_equal(wf_table_words(t), 1);
    assert_true(lookup(t, "what") == 12);
    assert_true(wf_table_total(t) == 12);
    wf_table_free(t);
}

/* The first variant's count took one LEB128 byte; the sums need more, again and again. */
static void
test_case_variants_grow(void **state)
{
    struct wf_table *t = build("a\t100\nb\t1\nA\t100000\nc\t2\n");

    assert_int_equal(wf_table_words(t), 3);
    assert_true(lookup(t, "a") == 100100);
    assert_true(lookup(t, "b") == 1);
    assert_true(lookup(t, "c") == 2);
    wf_table_free(t);

    t = build("a\t100\n"
              "A\t100000\n"
              "b\t7\n"
              "a\t1\n"             /* fits the new record's width */
              "A\t2000000000000\n" /* moves again */
              "a\t0\n"             /* adds nothing */
              "x\t127\n"
              "X\t1\n" /* 127 + 1 = 128: one byte to two */
              "z\t16383\n"
              "Z\t16384\n" /* two bytes to three */
              "b\t8\n");
    assert_int_equal(wf_table_words(t), 4);
    assert_true(lookup(t, "a") == 100 + 100000 + 1 + 2000000000000ULL);
    assert_true(lookup(t, "b") == 15);
    assert_true(lookup(t, "x") == 128);
    assert_true(lookup(t, "z") == 32767);
    assert_true(wf_table_total(t) == 100 + 100000 + 1 + 2000000000000ULL + 15 + 128 + 32767);
    wf_table_free(t);

    /* From one byte to the widest count there is (ten bytes). */
    t = build("y\t0\nw\t0\nY\t18446744073709551615\n");
    assert_true(lookup(t, "y") == UINT64_MAX);
    assert_true(lookup(t, "w") == 0);
    wf_table_free(t);
    t = build("y\t1\nw\t0\nY\t18446744073709551614\n");
    assert_true(lookup(t, "y") == UINT64_MAX);
    assert_true(lookup(t, "w") == 0);
    wf_table_free(t);

    /* A word that keeps growing among many others. */
    size_t cap = 200000, len = 0;
    char *buf = malloc(cap);
    uint64_t sum = 0, add = 1;
    assert_non_null(buf);
    for (int i = 0; i < 60; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%s\t%llu\nfiller%d\t%d\n",
                                i % 2 ? "GROW" : "grow", (unsigned long long)add, i, i);
        sum += add;
        add *= 2;
    }
    struct wordlist_error err;
    t = build_n(buf, len, &err);
    assert_non_null(t);
    assert_int_equal(wf_table_words(t), 61);
    assert_true(lookup(t, "grow") == sum);
    for (int i = 0; i < 60; i++) {
        char w[32];
        snprintf(w, sizeof(w), "Filler%d", i);
        assert_true(lookup(t, w) == (uint64_t)i);
    }
    wf_table_free(t);
    free(buf);
}

static void
test_unicode_keys(void **state)
{
    struct wf_table *t = build("Stra\xC3\x9F"
                               "e\t3\n"
                               "STRASSE\t4\n"
                               "strasse\t5\n"
                               "\xC3\x89"
                               "cole\t2\n"
                               "e\xCC\x81"
                               "cole\t3\n"
                               "E\xCC\x81"
                               "COLE\t4\n"
                               "\xCE\xA3\xCE\x91\xCE\xA3\t1\n"
                               "\xCF\x83\xCE\xB1\xCF\x82\t1\n"
                               "\xE6\x97\xA5\xE6\x9C\xAC\t9\n");

    assert_int_equal(wf_table_words(t), 4);
    assert_true(wf_table_total(t) == 32);
    assert_true(lookup(t, "strasse") == 12);
    assert_true(lookup(t, "Stra\xC3\x9F"
                          "e") == 12);
    assert_true(lookup(t, "STRA\xE1\xBA\x9E"
                          "E") == 12);
    assert_true(lookup(t, "\xC3\xA9"
                          "cole") == 9);
    assert_true(lookup(t, "e\xCC\x81"
                          "cole") == 9);
    assert_true(lookup(t, "\xC3\x89"
                          "COLE") == 9);
    assert_true(lookup(t, "ecole") == 0);
    assert_true(lookup(t, "\xCF\x83\xCE\xB1\xCF\x83") == 2);
    assert_true(lookup(t, "\xCE\xA3\xCE\xB1\xCF\x82") == 2);
    assert_true(lookup(t, "\xE6\x97\xA5\xE6\x9C\xAC") == 9);
    /* The stored form is the folded, NFC one. */
    assert_true(wf_table_count(t,
                               "\xC3\xA9"
                               "cole",
                               6) == 9);
    assert_true(wf_table_count(t, "strasse", 7) == 12);
    wf_table_free(t);
}

static void
test_total_overflow(void **state)
{
    struct wf_table *t = build("a\t18446744073709551615\n");

    assert_true(wf_table_total(t) == UINT64_MAX);
    assert_true(lookup(t, "a") == UINT64_MAX);
    wf_table_free(t);

    t = build("a\t18446744073709551614\nb\t1\n");
    assert_true(wf_table_total(t) == UINT64_MAX);
    wf_table_free(t);

    const char *tsv = "a\t18446744073709551615\nb\t0\n\nc\t1\n";
    build_fails(tsv, strlen(tsv), 4, "18446744073709551615");
    const char *variant = "a\t9223372036854775808\nA\t9223372036854775808\n";
    build_fails(variant, strlen(variant), 2, "add up");
    const char *json = "[{\"word\":\"a\",\"count\":9223372036854775807},\n"
                       "{\"word\":\"b\",\"count\":9223372036854775807},\n"
                       "{\"word\":\"c\",\"count\":2}]";
    build_fails(json, strlen(json), 3, "add up");
}

static void
test_no_words(void **state)
{
    const char *empty[] = {"",   "\n",         "\r\n\n",        "\xEF\xBB\xBF",
                           "[]", " [ \n ] \n", "\xEF\xBB\xBF[]"};

    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        build_fails(empty[i], strlen(empty[i]), 0, "no words");
    }
}

static void
test_bad_files(void **state)
{
    /* The parser's errors come through with their lines. */
    const char *tsv = "a\t1\nb\t2\nc 3\n";
    build_fails(tsv, strlen(tsv), 3, "word<TAB>count");
    const char *json = "[\n{\"word\":\"a\",\"count\":1},\n{\"word\":\"b\"}\n]";
    build_fails(json, strlen(json), 3, "no \"count\"");
    const char *syntax = "[\n{\"word\":\"a\",\n\"count\":}]";
    build_fails(syntax, strlen(syntax), 3, "JSON");
    build_fails("a\t1\0", 4, 1, "whole number");

    /* 127 × "İ" is 254 bytes, a valid entry, but folds to 381 bytes. */
    char line[300];
    size_t n = 0;
    n += (size_t)snprintf(line, sizeof(line), "ok\t1\n");
    for (int i = 0; i < 127; i++) {
        memcpy(line + n, "\xC4\xB0", 2);
        n += 2;
    }
    memcpy(line + n, "\t1\n", 3);
    n += 3;
    build_fails(line, n, 2, "case-folded");
}

/* Tables of 1 to 120 words, with and without a final newline: every size of the index the
 * estimate can give, including those where the last entries make it grow. */
static void
test_sizes(void **state)
{
    char buf[4096];

    for (int json = 0; json <= 1; json++) {
        for (int words = 1; words <= 120; words++) {
            for (int nl = 0; nl <= 1; nl++) {
                size_t len = 0;
                if (json) {
                    buf[len++] = '[';
                }
                for (int i = 0; i < words; i++) {
                    if (json) {
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                                "%s{\"word\":\"w%d\",\"count\":%d}", i ? "," : "",
                                                i, i + 1);
                    } else {
                        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%sw%d\t%d",
                                                i ? "\n" : "", i, i + 1);
                    }
                }
                if (json) {
                    buf[len++] = ']';
                }
                if (nl) {
                    buf[len++] = '\n';
                }
                assert_true(len < sizeof(buf));
                struct wordlist_error err;
                struct wf_table *t = build_n(buf, len, &err);
                assert_non_null(t);
                assert_int_equal(wf_table_words(t), (size_t)words);
                assert_true(wf_table_total(t) == (uint64_t)words * (words + 1) / 2);
                for (int i = 0; i < words; i++) {
                    char w[16];
                    snprintf(w, sizeof(w), "W%d", i);
                    assert_true(lookup(t, w) == (uint64_t)i + 1);
                }
                assert_true(lookup(t, "w-1") == 0);
                assert_true(lookup(t, "wx") == 0);
                wf_table_free(t);
            }
        }
    }
}

/* A word of the big tables: varied lengths and scripts. */
static size_t
gen_word(char *w, size_t cap, size_t i, bool upper)
{
    static const char *const stems[] = {
        "w", "Word", "\xC3\xA9t\xC3\xA9", "\xCE\xBB\xCF\x8C", "\xE6\x97\xA5", "x"};
    const char *stem = stems[i % 6];
    int n = snprintf(w, cap, "%s%zx%s", stem, i, i % 7 == 0 ? "longer-tail-for-some-words" : "");

    if (upper) {
        for (int k = 0; k < n; k++) {
            if (w[k] >= 'a' && w[k] <= 'z') {
                w[k] = (char)(w[k] - 'a' + 'A');
            }
        }
    }
    return (size_t)n;
}

static void
big_table(bool json)
{
    const size_t n = 200000;
    size_t cap = n * 128, len = 0;
    char *buf = malloc(cap);
    char w[128];
    struct wordlist_error err;

    assert_non_null(buf);
    if (json) {
        buf[len++] = '[';
    }
    for (size_t i = 0; i < n; i++) {
        size_t wl = gen_word(w, sizeof(w), i, false);
        if (json) {
            len +=
                (size_t)snprintf(buf + len, cap - len, "%s\n  {\"word\": \"%.*s\", \"count\": %zu}",
                                 i ? "," : "", (int)wl, w, i);
        } else {
            len += (size_t)snprintf(buf + len, cap - len, "%.*s\t%zu\n", (int)wl, w, i);
        }
    }
    /* Every tenth word again in capitals: summed with the first. */
    for (size_t i = 0; i < n; i += 10) {
        size_t wl = gen_word(w, sizeof(w), i, true);
        if (json) {
            len +=
                (size_t)snprintf(buf + len, cap - len, ",\n  {\"word\": \"%.*s\", \"count\": %zu}",
                                 (int)wl, w, (size_t)1000000);
        } else {
            len +=
                (size_t)snprintf(buf + len, cap - len, "%.*s\t%zu\n", (int)wl, w, (size_t)1000000);
        }
    }
    if (json) {
        buf[len++] = '\n';
        buf[len++] = ']';
    }
    assert_true(len < cap);

    struct wf_table *t = build_n(buf, len, &err);
    if (t == NULL) {
        fail_msg("line %lu: %s", err.line, err.why);
    }
    free(buf);
    assert_int_equal(wf_table_format(t), json ? WORDLIST_JSON : WORDLIST_TSV);
    assert_int_equal(wf_table_words(t), n);
    assert_true(wf_table_total(t) == (uint64_t)n * (n - 1) / 2 + (uint64_t)(n / 10) * 1000000);
    for (size_t i = 0; i < n; i++) {
        size_t wl = gen_word(w, sizeof(w), i, i % 3 == 0);
        uint64_t want = i + (i % 10 == 0 ? 1000000 : 0);
        uint64_t got = lookup_n(t, w, wl);
        if (got != want) {
            fail_msg("word %zu \"%.*s\": %llu, expected %llu", i, (int)wl, w,
                     (unsigned long long)got, (unsigned long long)want);
        }
    }
    for (size_t i = n; i < n + 20000; i++) {
        size_t wl = gen_word(w, sizeof(w), i, false);
        assert_true(lookup_n(t, w, wl) == 0);
    }
    /* Arena (at least a length byte, 2 bytes of word, a count byte each) and an index of
     * 32-bit offsets at most 3/4 full. */
    assert_true(wf_table_memory(t) >= n * 4 + n * 4 * 4 / 3);
    wf_table_free(t);
}

static void
test_big_tsv(void **state)
{
    big_table(false);
}

static void
test_big_json(void **state)
{
    big_table(true);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsv),           cmocka_unit_test(test_json),
        cmocka_unit_test(test_case_variants), cmocka_unit_test(test_case_variants_grow),
        cmocka_unit_test(test_unicode_keys),  cmocka_unit_test(test_total_overflow),
        cmocka_unit_test(test_no_words),      cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_sizes),         cmocka_unit_test(test_big_tsv),
        cmocka_unit_test(test_big_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
