/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the words of the word-frequency service (src/proto/words.c): UTF-8 validation,
 * case folding (libunistring's full case folding, then NFC), the tokenizer of free text, the
 * splitting of request arguments, and the rule for the words of a data file. Inputs are copied
 * into heap buffers of exactly their length so that a sanitizer build catches any read past the
 * end.
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
#include "tests/unit/unit.h"

/* ----------------------------------------------------------------------------------------- */
/* UTF-8 */

static bool
valid_n(const char *s, size_t n)
{
    char *p = exact(s, n);
    bool ok = words_utf8_valid(p, n);

    free(p);
    return ok;
}

static bool
valid(const char *s)
{
    return valid_n(s, strlen(s));
}

static void
test_utf8_valid(void **state)
{
    assert_true(valid(""));
    assert_true(valid("plain ASCII, with punctuation!"));
    assert_true(valid_n("a\0b", 3)); /* U+0000 is a character like any other */
    assert_true(valid("\xC2\x80"));  /* U+0080, the first two-byte one */
    assert_true(valid("caf\xC3\xA9"));
    assert_true(valid("\xDF\xBF"));         /* U+07FF */
    assert_true(valid("\xE0\xA0\x80"));     /* U+0800 */
    assert_true(valid("\xE2\x82\xAC"));     /* U+20AC euro */
    assert_true(valid("\xED\x9F\xBF"));     /* U+D7FF, just below the surrogates */
    assert_true(valid("\xEE\x80\x80"));     /* U+E000, just above them */
    assert_true(valid("\xEF\xBF\xBF"));     /* U+FFFF */
    assert_true(valid("\xF0\x90\x80\x80")); /* U+10000 */
    assert_true(valid("\xF0\x9F\x98\x80")); /* U+1F600 emoji */
    assert_true(valid("\xF4\x8F\xBF\xBF")); /* U+10FFFF, the last one */
    assert_true(valid("\xCE\xA3\xCE\x91\xCE\xA3 \xE6\x97\xA5\xE6\x9C\xAC"));

    /* Overlong forms. */
    assert_false(valid("\xC0\x80"));
    assert_false(valid("\xC0\xAF"));
    assert_false(valid("\xC1\xBF"));
    assert_false(valid("\xE0\x80\x80"));
    assert_false(valid("\xE0\x9F\xBF"));
    assert_false(valid("\xF0\x80\x80\x80"));
    assert_false(valid("\xF0\x8F\xBF\xBF"));
    /* Surrogates, alone or paired (CESU-8). */
    assert_false(valid("\xED\xA0\x80"));
    assert_false(valid("\xED\xBF\xBF"));
    assert_false(valid("\xED\xA0\xBD\xED\xB8\x80"));
    /* Above U+10FFFF, and bytes that never occur. */
    assert_false(valid("\xF4\x90\x80\x80"));
    assert_false(valid("\xF5\x80\x80\x80"));
    assert_false(valid("\xF8\x88\x80\x80\x80"));
    assert_false(valid("\xFE"));
    assert_false(valid("\xFF"));
    /* Truncated sequences, at the end and in the middle. */
    assert_false(valid("\xC3"));
    assert_false(valid("caf\xC3"));
    assert_false(valid("\xE2\x82"));
    assert_false(valid("\xF0\x9F\x98"));
    assert_false(valid("\xC3x"));
    assert_false(valid("\xE2\x82x"));
    /* A continuation byte with no lead. */
    assert_false(valid("\x80"));
    assert_false(valid("a\xBFz"));
    /* The length is what counts: the first byte of "é" alone is truncated. */
    assert_false(valid_n("\xC3\xA9", 1));
    assert_true(valid_n("ab\xC3\xA9", 2));
}

/* ----------------------------------------------------------------------------------------- */
/* Case folding */

/* Fold @in into a buffer of @cap bytes; the bytes after @cap must stay untouched. */
static size_t
fold_cap(const char *in, size_t n, char *out, size_t cap)
{
    char *buf = malloc(cap + 16);
    char *p = exact(in, n);

    assert_non_null(buf);
    memset(buf, 'Z', cap + 16);
    size_t len = words_fold(p, n, buf, cap);
    for (size_t i = cap; i < cap + 16; i++) {
        assert_int_equal(buf[i], 'Z');
    }
    assert_true(len <= cap);
    if (out != NULL) {
        memcpy(out, buf, len);
    }
    free(p);
    free(buf);
    return len;
}

/* @in folds to exactly @want (with room to spare). */
static void
fold_is(const char *in, const char *want)
{
    char out[WORDS_MAX];
    size_t len = fold_cap(in, strlen(in), out, sizeof(out));

    if (len != strlen(want) || memcmp(out, want, len) != 0) {
        fail_msg("words_fold(\"%s\") = \"%.*s\" (%zu bytes), expected \"%s\"", in, (int)len, out,
                 len, want);
    }
}

static void
test_fold_ascii(void **state)
{
    fold_is("what", "what");
    fold_is("What", "what");
    fold_is("WHAT", "what");
    fold_is("wHaT", "what");
    /* Only letters change; the neighbours of A-Z and a-z in ASCII do not. */
    fold_is("@AZ[`az{", "@az[`az{");
    fold_is("don't-42_X", "don't-42_x");
    fold_is("a", "a");
}

static void
test_fold_unicode(void **state)
{
    /* Full case folding: ß and ẞ become "ss", so Straße matches STRASSE. */
    fold_is("Stra\xC3\x9F"
            "e",
            "strasse");
    fold_is("STRASSE", "strasse");
    fold_is("\xE1\xBA\x9E", "ss"); /* U+1E9E capital sharp s */
    fold_is("\xC3\x89"
            "COLE",
            "\xC3\xA9"
            "cole");
    fold_is("\xC3\x89"
            "cole",
            "\xC3\xA9"
            "cole");
    /* Decomposed e + U+0301 and precomposed é give the same NFC bytes, upper or lower case. */
    fold_is("e\xCC\x81", "\xC3\xA9");
    fold_is("E\xCC\x81", "\xC3\xA9");
    fold_is("\xC3\xA9", "\xC3\xA9");
    fold_is("\xC3\x89", "\xC3\xA9");
    fold_is("e\xCC\x81"
            "cole",
            "\xC3\xA9"
            "cole");
    /* Greek: case folding maps Σ and the final ς both to σ (CaseFolding.txt: 03A3 C 03C3,
     * 03C2 C 03C3), so ΣΑΣ, Σας and σας are one word. */
    fold_is("\xCE\xA3\xCE\x91\xCE\xA3", "\xCF\x83\xCE\xB1\xCF\x83");
    fold_is("\xCE\xA3\xCE\xB1\xCF\x82", "\xCF\x83\xCE\xB1\xCF\x83");
    fold_is("\xCF\x83\xCE\xB1\xCF\x82", "\xCF\x83\xCE\xB1\xCF\x83");
    /* İ (U+0130) folds to i + U+0307 (CaseFolding.txt, status F): longer than its input. */
    fold_is("\xC4\xB0", "i\xCC\x87");
    /* Compatibility characters with a case folding: the Kelvin sign, the ligature ﬁ. */
    fold_is("\xE2\x84\xAA", "k");
    fold_is("\xEF\xAC\x81", "fi");
    /* ΐ (U+0390) folds to ι + two marks, which NFC composes back. */
    fold_is("\xCE\x90", "\xCE\x90");
    /* Letters without case pass through. */
    fold_is("\xE6\x97\xA5\xE6\x9C\xAC", "\xE6\x97\xA5\xE6\x9C\xAC");
    fold_is("\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90",
            "\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"); /* МОСКВА */
}

static void
test_fold_limits(void **state)
{
    char big[WORDS_MAX + 2];
    char out[WORDS_MAX + 2];

    /* Empty: 0, whatever the room. */
    assert_int_equal(fold_cap("", 0, out, sizeof(out)), 0);
    assert_int_equal(fold_cap("", 0, out, 0), 0);

    /* ASCII: exactly the room fits, one byte more does not. */
    assert_int_equal(fold_cap("ABCDE", 5, out, 5), 5);
    assert_memory_equal(out, "abcde", 5);
    assert_int_equal(fold_cap("ABCDE", 5, out, 4), 0);
    assert_int_equal(fold_cap("A", 1, out, 0), 0);
    memset(big, 'A', sizeof(big));
    assert_int_equal(fold_cap(big, WORDS_MAX, out, WORDS_MAX), WORDS_MAX);
    assert_int_equal(fold_cap(big, WORDS_MAX + 1, out, WORDS_MAX), 0);

    /* Non-ASCII: "ÉCOLE" is 6 bytes folded. */
    assert_int_equal(fold_cap("\xC3\x89"
                              "COLE",
                              6, out, 6),
                     6);
    assert_memory_equal(out,
                        "\xC3\xA9"
                        "cole",
                        6);
    assert_int_equal(fold_cap("\xC3\x89"
                              "COLE",
                              6, out, 5),
                     0);
    assert_int_equal(fold_cap("\xC3\x89", 2, out, 0), 0);
    assert_int_equal(fold_cap("\xC3\x89", 2, out, 1), 0);

    /* Folding that lengthens (İ: 2 bytes to 3) counts the folded length... */
    assert_int_equal(fold_cap("\xC4\xB0", 2, out, 3), 3);
    assert_int_equal(fold_cap("\xC4\xB0", 2, out, 2), 0);
    /* ...and folding that shortens too (ẞ: 3 bytes to 2). */
    assert_int_equal(fold_cap("\xE1\xBA\x9E", 3, out, 2), 2);
    assert_int_equal(fold_cap("\xE1\xBA\x9E", 3, out, 1), 0);
    /* Decomposed é (3 bytes) composes to 2 bytes: fits in 2. */
    assert_int_equal(fold_cap("e\xCC\x81", 3, out, 2), 2);

    /* 127 × "É" + "E" = 255 bytes: fits WORDS_MAX exactly; one more byte does not. */
    for (size_t i = 0; i < 127; i++) {
        memcpy(big + 2 * i, "\xC3\x89", 2);
    }
    big[254] = 'E';
    big[255] = 'E';
    assert_int_equal(fold_cap(big, WORDS_MAX, out, WORDS_MAX), WORDS_MAX);
    assert_memory_equal(out, "\xC3\xA9\xC3\xA9", 4);
    assert_int_equal(out[254], 'e');
    assert_int_equal(fold_cap(big, WORDS_MAX + 1, out, WORDS_MAX), 0);
    assert_int_equal(fold_cap(big, WORDS_MAX + 1, out, WORDS_MAX + 1), WORDS_MAX + 1);
    /* 127 × "İ" (254 bytes) folds to 381: too long for the table's words. */
    for (size_t i = 0; i < 127; i++) {
        memcpy(big + 2 * i, "\xC4\xB0", 2);
    }
    assert_int_equal(fold_cap(big, 254, out, WORDS_MAX), 0);
}

/* ----------------------------------------------------------------------------------------- */
/* The tokenizer */

/* The words of @text are exactly the NULL-terminated list that follows. A mismatch is reported
 * after the copy of the text is freed, so that a failing test leaks nothing. */
static void
words_are(const char *text, ...)
{
    size_t n = strlen(text), pos = 0, count = 0, last_end = 0;
    char *p = exact(text, n);
    char msg[512] = "";
    struct str w;
    va_list ap;
    const char *want;

    va_start(ap, text);
    while ((want = va_arg(ap, const char *)) != NULL) {
        if (!words_next(p, n, &pos, &w)) {
            snprintf(msg, sizeof(msg), "\"%s\": word %zu missing, expected \"%s\"", text, count,
                     want);
            break;
        }
        if (w.n != strlen(want) || memcmp(w.p, want, w.n) != 0) {
            snprintf(msg, sizeof(msg), "\"%s\": word %zu is \"%.*s\", expected \"%s\"", text, count,
                     (int)w.n, w.p, want);
            break;
        }
        /* Inside the text, after the previous word, and *pos just past it. */
        if (w.p < p + last_end || pos != (size_t)(w.p - p) + w.n) {
            snprintf(msg, sizeof(msg), "\"%s\": word %zu at %zu, pos %zu after %zu", text, count,
                     (size_t)(w.p - p), pos, last_end);
            break;
        }
        last_end = pos;
        count++;
    }
    va_end(ap);
    if (msg[0] == '\0' && words_next(p, n, &pos, &w)) {
        snprintf(msg, sizeof(msg), "\"%s\": extra word %zu \"%.*s\"", text, count, (int)w.n, w.p);
    }
    /* At the end it stays at the end. */
    if (msg[0] == '\0' && (pos != n || words_next(p, n, &pos, &w) || pos != n)) {
        snprintf(msg, sizeof(msg), "\"%s\": pos %zu at the end, not %zu", text, pos, n);
    }
    free(p);
    if (msg[0] != '\0') {
        fail_msg("%s", msg);
    }
}

static void
test_next_ascii(void **state)
{
    words_are("hello", "hello", NULL);
    words_are("hello world", "hello", "world", NULL);
    words_are("  hello \t  world  \r\n", "hello", "world", NULL);
    words_are("Hello, world! How's it going?", "Hello", "world", "How", "s", "it", "going", NULL);
    /* Apostrophes and hyphens separate, as in SUBTLEX. */
    words_are("don't", "don", "t", NULL);
    words_are("'quoted'", "quoted", NULL);
    words_are("well-known e-mail", "well", "known", "e", "mail", NULL);
    /* Digits and other symbols are separators too. */
    words_are("abc123def 42 x2", "abc", "def", "x", NULL);
    words_are("a_b.c/d@e", "a", "b", "c", "d", "e", NULL);
    /* The text may end inside a word. */
    words_are("the end", "the", "end", NULL);
    words_are("end.", "end", NULL);
    words_are("x", "x", NULL);
}

static void
test_next_nothing(void **state)
{
    words_are("", NULL);
    words_are(" ", NULL);
    words_are(" \t\r\n", NULL);
    words_are("123 456-789 ... !?", NULL);
    words_are("'-'", NULL);
    words_are("\xF0\x9F\x98\x80\xF0\x9F\x91\x8D", NULL);     /* 😀👍 */
    words_are("\xE2\x80\x94\xC2\xA0\xE2\x80\x99", NULL);     /* — NBSP ’ */
    words_are("\xD9\xA3\xE2\x85\xA0\xC2\xB2\xC2\xBD", NULL); /* Arabic-Indic 3, Ⅰ (Nl), ², ½ */
}

static void
test_next_unicode(void **state)
{
    /* Letters of every script, precomposed or with combining marks, stay in the word. */
    words_are("caf\xC3\xA9 na\xC3\xAFve", "caf\xC3\xA9", "na\xC3\xAFve", NULL);
    words_are("cafe\xCC\x81!", "cafe\xCC\x81", NULL);
    words_are("e\xCC\x81t\xC3\xA9", "e\xCC\x81t\xC3\xA9", NULL);
    words_are("\xCE\xA3\xCE\x91\xCE\xA3 \xCF\x83\xCE\xB1\xCF\x82", "\xCE\xA3\xCE\x91\xCE\xA3",
              "\xCF\x83\xCE\xB1\xCF\x82", NULL);
    words_are(
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E \xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88",
        "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88",
        NULL);
    words_are("Stra\xC3\x9F"
              "e",
              "Stra\xC3\x9F"
              "e",
              NULL);
    /* Hindi: vowel signs and the anusvara are combining marks (Mc, Mn), part of the word. */
    words_are("\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\x82\xE0\xA4\xA6\xE0\xA5\x80",
              "\xE0\xA4\xB9\xE0\xA4\xBF\xE0\xA4\x82\xE0\xA4\xA6\xE0\xA5\x80", NULL);
    /* Unicode punctuation, spaces and digits separate. */
    words_are("don\xE2\x80\x99t", "don", "t", NULL); /* ’ */
    words_are("\xC2\xAB"
              "mot\xC2\xBB",
              "mot", NULL); /* «mot» */
    words_are("a\xC2\xA0"
              "b\xE3\x80\x80"
              "c",
              "a", "b", "c", NULL);                        /* NBSP, U+3000 */
    words_are("x\xC2\xB2y\xD9\xA3z", "x", "y", "z", NULL); /* ², Arabic 3 */
    words_are("a\xE2\x80\x8D"
              "b",
              "a", "b", NULL); /* ZWJ */
    /* Emoji separate words. */
    words_are("I \xE2\x9D\xA4 you", "I", "you", NULL);
    words_are("a\xF0\x9F\x98\x80"
              "b",
              "a", "b", NULL);
    words_are("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBDok", "ok", NULL); /* 👍🏽 skin tone, then ok */
}

/*
 * Emoji are usually sent with the presentation selector U+FE0F after them ("❤️", "1️⃣"),
 * and U+FE0F is a nonspacing mark (Mn). The tokenizer treats a mark as a word character even where
 * it follows no letter, so the selector becomes a word of its own, or the start of the next
 * word: "I ❤️ you" gives "I", U+FE0F, "you", and "❤️you" gives U+FE0F + "you", which is
 * never found in the data. Expected: marks continue a word but do not start one.
 */
static void
test_next_emoji_selector(void **state)
{
    words_are("I \xE2\x9D\xA4\xEF\xB8\x8F you", "I", "you", NULL);
    words_are("\xE2\x9D\xA4\xEF\xB8\x8Fyou", "you", NULL);
    words_are("1\xEF\xB8\x8F\xE2\x83\xA3 one", "one", NULL); /* keycap 1️⃣ */
}

/* Starting from a position inside the text continues from there. */
static void
test_next_from_pos(void **state)
{
    const char *text = "alpha beta gamma";
    size_t n = strlen(text), pos = 6;
    char *p = exact(text, n);
    struct str w;

    assert_true(words_next(p, n, &pos, &w));
    assert_slice(w, "beta");
    assert_int_equal(pos, 10);
    pos = 13; /* in the middle of "gamma" */
    assert_true(words_next(p, n, &pos, &w));
    assert_slice(w, "mma");
    pos = n;
    assert_false(words_next(p, n, &pos, &w));
    assert_int_equal(pos, n);
    /* Only the first @n bytes are text. */
    pos = 0;
    assert_true(words_next(p, 3, &pos, &w));
    assert_slice(w, "alp");
    assert_false(words_next(p, 3, &pos, &w));
    free(p);
}

/* ----------------------------------------------------------------------------------------- */
/* Request arguments */

static void
args_are(const char *line, ...)
{
    size_t n = strlen(line), pos = 0, count = 0;
    char *p = exact(line, n);
    struct str a;
    va_list ap;
    const char *want;

    va_start(ap, line);
    while ((want = va_arg(ap, const char *)) != NULL) {
        if (!words_arg_next(p, n, &pos, &a)) {
            fail_msg("\"%s\": argument %zu missing, expected \"%s\"", line, count, want);
        }
        if (a.n != strlen(want) || memcmp(a.p, want, a.n) != 0) {
            fail_msg("\"%s\": argument %zu is \"%.*s\", expected \"%s\"", line, count, (int)a.n,
                     a.p, want);
        }
        assert_int_equal(pos, (size_t)(a.p - p) + a.n);
        count++;
    }
    va_end(ap);
    if (words_arg_next(p, n, &pos, &a)) {
        fail_msg("\"%s\": extra argument %zu \"%.*s\"", line, count, (int)a.n, a.p);
    }
    assert_int_equal(pos, n);
    free(p);
}

static void
test_arg_next(void **state)
{
    args_are("FREQ the zymurgy", "FREQ", "the", "zymurgy", NULL);
    args_are("FREQ\tthe\tzymurgy", "FREQ", "the", "zymurgy", NULL);
    args_are("FREQ   the \t\t zymurgy", "FREQ", "the", "zymurgy", NULL);
    args_are("  \t FREQ the \t ", "FREQ", "the", NULL);
    args_are("STATS", "STATS", NULL);
    args_are("", NULL);
    args_are("   ", NULL);
    args_are(" \t\t ", NULL);
    /* Only space and tab separate: punctuation and other bytes belong to the argument. */
    args_are("RARE 2.5 don't,stop", "RARE", "2.5", "don't,stop", NULL);
    args_are("a\rb c\x0b"
             "d",
             "a\rb",
             "c\x0b"
             "d",
             NULL);
    args_are("caf\xC3\xA9\t\xC3\xBC"
             "ber",
             "caf\xC3\xA9",
             "\xC3\xBC"
             "ber",
             NULL);
    /* A no-break space is not a separator. */
    args_are("a\xC2\xA0"
             "b",
             "a\xC2\xA0"
             "b",
             NULL);
}

/* ----------------------------------------------------------------------------------------- */
/* Words of a data file */

static const char *
entry_n(const char *s, size_t n)
{
    char *p = exact(s, n);
    const char *why = words_valid_entry(p, n);

    free(p);
    return why;
}

static const char *
entry(const char *s)
{
    return entry_n(s, strlen(s));
}

static void
test_valid_entry(void **state)
{
    char big[WORDS_MAX + 1];

    assert_null(entry("a"));
    assert_null(entry("the"));
    assert_null(entry("Stra\xC3\x9F"
                      "e"));
    assert_null(entry("e\xCC\x81t\xC3\xA9"));
    /* Data words may hold what the tokenizer would split on. */
    assert_null(entry("don't"));
    assert_null(entry("e-mail"));
    assert_null(entry("42"));
    assert_null(entry("\xF0\x9F\x98\x80"));

    assert_non_null(entry(""));
    assert_non_null(strstr(entry(""), "empty"));

    memset(big, 'a', sizeof(big));
    assert_null(entry_n(big, WORDS_MAX));
    assert_non_null(entry_n(big, WORDS_MAX + 1));
    assert_non_null(strstr(entry_n(big, WORDS_MAX + 1), "255"));
    /* The limit is in bytes, not characters: 127 × "é" + "a" is 255 bytes. */
    for (size_t i = 0; i < 127; i++) {
        memcpy(big + 2 * i, "\xC3\xA9", 2);
    }
    big[254] = 'a';
    big[255] = 'a';
    assert_null(entry_n(big, WORDS_MAX));
    assert_non_null(entry_n(big, WORDS_MAX + 1));

    /* Whitespace and control characters, anywhere. */
    const char *bad[] = {" a",    "a ",      "a b",   "a\tb", "a\nb", "a\rb", "\x01",
                         "a\x1f", "\x1b[0m", "a\x7f", "\x7f", "\x0b", "\x0c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = entry(bad[i]);
        assert_non_null(why);
        assert_non_null(strstr(why, "whitespace or a control"));
    }
    assert_non_null(entry_n("a\0b", 3));

    /* Invalid UTF-8. */
    const char *badutf[] = {"\xC3", "caf\xC3", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                            "\x80", "\xFF"};
    for (size_t i = 0; i < sizeof(badutf) / sizeof(badutf[0]); i++) {
        const char *why = entry(badutf[i]);
        assert_non_null(why);
        assert_non_null(strstr(why, "UTF-8"));
    }
}

/*
 * docs/wordfreq.md: "A word is 1 to 255 bytes of valid UTF-8 with no whitespace or control
 * characters." words_valid_entry() only looks at ASCII, so the C1 controls (U+0080-U+009F, category
 * Cc, U+0085 NEL being whitespace as well) and the Unicode spaces (White_Space: NBSP, U+2000-200A,
 * U+2028/2029, U+3000...) are accepted inside a data word.
 */
static void
test_valid_entry_unicode_space(void **state)
{
    assert_non_null(entry("a\xC2\x85"
                          "b")); /* U+0085 NEL */
    assert_non_null(entry("a\xC2\x9B"
                          "b")); /* U+009B CSI */
    assert_non_null(entry("a\xC2\xA0"
                          "b")); /* U+00A0 NBSP */
    assert_non_null(entry("a\xE2\x80\x83"
                          "b"));             /* U+2003 EM SPACE */
    assert_non_null(entry("a\xE2\x80\xA8")); /* U+2028 LINE SEPARATOR */
    assert_non_null(entry("\xE3\x80\x80"
                          "a")); /* U+3000 IDEOGRAPHIC SPACE */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),    cmocka_unit_test(test_fold_ascii),
        cmocka_unit_test(test_fold_unicode),  cmocka_unit_test(test_fold_limits),
        cmocka_unit_test(test_next_ascii),    cmocka_unit_test(test_next_nothing),
        cmocka_unit_test(test_next_unicode),  cmocka_unit_test(test_next_emoji_selector),
        cmocka_unit_test(test_next_from_pos), cmocka_unit_test(test_arg_next),
        cmocka_unit_test(test_valid_entry),   cmocka_unit_test(test_valid_entry_unicode_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
