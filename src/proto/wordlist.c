/* SPDX-License-Identifier: MIT */
/*
 * The JSON array is read one element at a time: Jansson decodes an object and, with
 * JSON_DISABLE_EOF_CHECK, says how many bytes it used, so a large file never becomes one large
 * tree in memory. Line numbers are counted here as the parse moves on.
 */
#include "proto/wordlist.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto/words.h"

static void
fail(struct wordlist_error *err, unsigned long line, const char *fmt, ...)
{
    va_list ap;

    err->line = line;
    va_start(ap, fmt);
    vsnprintf(err->why, sizeof(err->why), fmt, ap);
    va_end(ap);
}

static size_t
skip_bom(const char *buf, size_t n)
{
    return n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static bool
blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum wordlist_format
wordlist_detect(const char *buf, size_t n)
{
    for (size_t i = skip_bom(buf, n); i < n; i++) {
        if (!blank(buf[i])) {
            return buf[i] == '[' ? WORDLIST_JSON : WORDLIST_TSV;
        }
    }
    return WORDLIST_TSV;
}

size_t
wordlist_estimate(const char *buf, size_t n)
{
    char c = wordlist_detect(buf, n) == WORDLIST_JSON ? '{' : '\n';
    size_t count = 1;
    const char *p = buf, *end = buf + n;

    while ((p = memchr(p, c, (size_t)(end - p))) != NULL) {
        count++;
        p++;
    }
    return count;
}

/* A decimal count of the whole of @p[0..@n): digits only, no sign, at most 2^64-1. */
static bool
parse_count(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

long
wordlist_parse_lines(const char *buf, size_t n, unsigned long before, wordlist_fn fn, void *arg,
                     struct wordlist_error *err)
{
    size_t pos = before == 0 ? skip_bom(buf, n) : 0;
    unsigned long line = before;
    long entries = 0;

    while (pos < n) {
        const char *p = buf + pos;
        const char *nl = memchr(p, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - p) : n - pos;
        pos += len + (nl ? 1 : 0);
        line++;
        if (len > 0 && p[len - 1] == '\r') {
            len--;
        }
        if (len == 0) {
            continue;
        }
        const char *tab = memchr(p, '\t', len);
        if (tab == NULL) {
            fail(err, line, "expected word<TAB>count");
            return -1;
        }
        size_t wlen = (size_t)(tab - p);
        const char *num = tab + 1;
        size_t nlen = len - wlen - 1;
        const char *why = words_valid_entry(p, wlen);
        uint64_t count;
        if (why) {
            fail(err, line, "%s", why);
            return -1;
        }
        if (!parse_count(num, nlen, &count)) {
            fail(err, line, "the count must be a whole number from 0 to 18446744073709551615");
            return -1;
        }
        if ((why = fn(arg, p, wlen, count)) != NULL) {
            fail(err, line, "%s", why);
            return -1;
        }
        entries++;
    }
    return entries;
}

/* Moves *@pos over blanks, counting the newlines into *@line. */
static void
skip_blanks(const char *buf, size_t n, size_t *pos, unsigned long *line)
{
    while (*pos < n && blank(buf[*pos])) {
        if (buf[*pos] == '\n') {
            (*line)++;
        }
        (*pos)++;
    }
}

static unsigned long
lines_in(const char *p, size_t n)
{
    unsigned long lines = 0;
    const char *end = p + n;

    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        lines++;
        p++;
    }
    return lines;
}

/* One element of the array: an object with a string "word" and an integer "count". */
static const char *
json_entry(json_t *o, const char **word, size_t *wlen, uint64_t *count)
{
    json_t *w, *c;

    if (!json_is_object(o)) {
        return "expected an object {\"word\": ..., \"count\": ...}";
    }
    w = json_object_get(o, "word");
    c = json_object_get(o, "count");
    if (!json_is_string(w)) {
        return w ? "\"word\" must be a string" : "the object has no \"word\"";
    }
    if (!json_is_integer(c)) {
        return c ? "\"count\" must be a whole number" : "the object has no \"count\"";
    }
    if (json_integer_value(c) < 0) {
        return "\"count\" must not be negative";
    }
    *word = json_string_value(w);
    *wlen = json_string_length(w);
    *count = (uint64_t)json_integer_value(c);
    return words_valid_entry(*word, *wlen);
}

static long
parse_json(const char *buf, size_t n, wordlist_fn fn, void *arg, struct wordlist_error *err)
{
    size_t pos = skip_bom(buf, n);
    unsigned long line = 1;
    long entries = 0;

    skip_blanks(buf, n, &pos, &line);
    pos++; /* the '[' wordlist_detect() saw */
    skip_blanks(buf, n, &pos, &line);
    if (pos < n && buf[pos] == ']') {
        pos++;
        goto end;
    }
    for (;;) {
        json_error_t je;
        const char *word, *why;
        size_t wlen;
        uint64_t count;

        if (pos >= n) {
            fail(err, line, "the array is not closed (missing ']')");
            return -1;
        }
        if (buf[pos] != '{') {
            fail(err, line, "expected an object {\"word\": ..., \"count\": ...}");
            return -1;
        }
        json_t *o = json_loadb(buf + pos, n - pos, JSON_DISABLE_EOF_CHECK, &je);
        if (o == NULL) {
            fail(err, line + (je.line > 0 ? (unsigned long)je.line - 1 : 0), "JSON: %s", je.text);
            return -1;
        }
        size_t used = (size_t)je.position;
        unsigned long start = line;
        line += lines_in(buf + pos, used);
        pos += used;
        why = json_entry(o, &word, &wlen, &count);
        if (why == NULL) {
            why = fn(arg, word, wlen, count);
        }
        json_decref(o);
        if (why) {
            fail(err, start, "%s", why);
            return -1;
        }
        entries++;
        skip_blanks(buf, n, &pos, &line);
        if (pos < n && buf[pos] == ',') {
            pos++;
            skip_blanks(buf, n, &pos, &line);
            continue;
        }
        if (pos < n && buf[pos] == ']') {
            pos++;
            break;
        }
        fail(err, line,
             pos < n ? "expected ',' or ']' after an object"
                     : "the array is not closed (missing ']')");
        return -1;
    }
end:
    skip_blanks(buf, n, &pos, &line);
    if (pos < n) {
        fail(err, line, "unexpected data after the array");
        return -1;
    }
    return entries;
}

long
wordlist_parse(const char *buf, size_t n, wordlist_fn fn, void *arg, struct wordlist_error *err)
{
    err->line = 0;
    err->why[0] = '\0';
    if (wordlist_detect(buf, n) == WORDLIST_JSON) {
        return parse_json(buf, n, fn, arg, err);
    }
    return wordlist_parse_lines(buf, n, 0, fn, arg, err);
}
