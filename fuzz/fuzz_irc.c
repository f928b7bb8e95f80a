/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the IRC codec. The input is a line: irc_check_lengths() agrees with the
 * lengths irc_parse() reports; a parsed message points only inside the buffer, has at most 15
 * parameters and a valid command; every tag value unescapes within its bounds, and escaping it
 * gives a value that unescapes to the same bytes. Pieces of the input are then used as ban masks
 * (normalization is idempotent, matching agrees with a plain dynamic-programming matcher and
 * ignores the rfc1459 case) and as a MODE command under CHANMODES=beI,k,l,imnst PREFIX=(ov).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "proto/irc.h"

#define MAX_ARGS 16
/* Pieces longer than this are matched without the quadratic reference. */
#define REF_MAX 256

static bool
in_buf(const char *base, size_t n, const char *p)
{
    return p >= base && p <= base + n;
}

static bool
command_ok(const char *c)
{
    size_t n = strlen(c);
    if (n == 3 && c[0] >= '0' && c[0] <= '9' && c[1] >= '0' && c[1] <= '9' && c[2] >= '0' &&
        c[2] <= '9') {
        return true;
    }
    if (n == 0 || n > IRC_COMMAND_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= 'A' && c[i] <= 'Z'))) {
            return false;
        }
    }
    return true;
}

/* ----------------------------------------------------------------------------------------- */
/* Tags */

static void
check_tag_value(struct str v)
{
    size_t cap = v.n + 1;
    char *u = malloc(cap);
    CHECK(u != NULL);
    size_t un = irc_tag_unescape(v, u, cap);
    /* An escape never lengthens a value, so v.n + 1 bytes are always enough. */
    CHECK(un != (size_t)-1);
    CHECK(un <= v.n);
    CHECK(u[un] == '\0');
    /* One byte less than needed does not fit. */
    char *tight = malloc(un + 1);
    CHECK(tight != NULL);
    CHECK(irc_tag_unescape(v, tight, un) == (size_t)-1);
    CHECK(irc_tag_unescape(v, tight, un + 1) == un);
    CHECK(memcmp(tight, u, un) == 0);
    free(tight);

    size_t ecap = 2 * un + 1;
    char *e = malloc(ecap);
    CHECK(e != NULL);
    size_t en = irc_tag_escape(u, un, e, ecap);
    CHECK(en != (size_t)-1);
    CHECK(en >= un && en <= 2 * un);
    CHECK(e[en] == '\0');
    for (size_t i = 0; i < en; i++) {
        CHECK(e[i] != ' ' && e[i] != ';' && e[i] != '\r' && e[i] != '\n' && e[i] != '\0');
    }
    CHECK(en == 0 || irc_tag_escape(u, un, e, en) == (size_t)-1);

    char *back = malloc(en + 1);
    CHECK(back != NULL);
    CHECK(irc_tag_unescape((struct str){e, en}, back, en + 1) == un);
    CHECK(memcmp(back, u, un) == 0);
    free(back);
    free(e);
    free(u);
}

static void
check_tags(const char *buf, size_t n, const char *tags)
{
    size_t pos = 0, len = strlen(tags), count = 0;
    struct irc_tag t;

    while (irc_tag_next(tags, &pos, &t)) {
        CHECK(count++ <= len);
        CHECK(inside(tags, len, t.key));
        CHECK(in_buf(buf, n, t.key.p));
        CHECK(t.key.n > 0 || t.value.p != NULL);
        CHECK(memchr(t.key.p, ';', t.key.n) == NULL && memchr(t.key.p, '=', t.key.n) == NULL);
        if (t.value.p == NULL) {
            CHECK(t.value.n == 0);
        } else {
            CHECK(inside(tags, len, t.value));
            CHECK(t.value.p == t.key.p + t.key.n + 1);
            CHECK(memchr(t.value.p, ';', t.value.n) == NULL);
            check_tag_value(t.value);
        }
        CHECK(pos <= len);
        if (irc_tag_key_valid(t.key)) {
            CHECK(t.key.n > 0 && t.key.p[t.key.n - 1] != '/');
        }
    }
    CHECK(pos == len);
    CHECK(!irc_tag_next(tags, &pos, &t));
}

/* ----------------------------------------------------------------------------------------- */
/* The line */

static void
check_line(const char *data, size_t n)
{
    enum irc_len_check lc = irc_check_lengths(data, n);
    char *buf = malloc(n + 1);
    struct irc_msg m;
    const char *why = NULL;

    CHECK(buf != NULL);
    if (n > 0) {
        memcpy(buf, data, n);
    }
    enum parse_result r = irc_parse(buf, n, &m, &why);
    CHECK(r == PARSE_OK || r == PARSE_AGAIN || r == PARSE_ERR);
    if (r == PARSE_ERR) {
        CHECK(why != NULL);
    }
    if (memchr(data, '\0', n) != NULL) {
        CHECK(r == PARSE_ERR);
    }
    if (r == PARSE_OK) {
        size_t body = n > 0 && data[n - 1] == '\r' ? n - 1 : n;
        CHECK(m.taglen + m.bodylen == body);
        CHECK((lc == IRC_LEN_TAGS) == (m.taglen > IRC_CLIENT_TAGS_MAX + 2));
        if (lc != IRC_LEN_TAGS) {
            CHECK((lc == IRC_LEN_BODY) == (m.bodylen > IRC_LINE_MAX - 2));
        }
        CHECK(m.nparams <= IRC_PARAMS_MAX);
        CHECK(m.command != NULL && in_buf(buf, n, m.command));
        CHECK(command_ok(m.command));
        CHECK((m.tags != NULL) == (m.taglen > 0));
        CHECK((m.tags != NULL) == (data[0] == '@'));
        if (m.tags != NULL) {
            CHECK(m.tags == buf + 1);
            CHECK(strlen(m.tags) + 2 == m.taglen);
            CHECK(strchr(m.tags, ' ') == NULL);
            check_tags(buf, n, m.tags);
        }
        if (m.source != NULL) {
            CHECK(in_buf(buf, n, m.source));
            CHECK(m.source[0] != '\0');
            CHECK(strchr(m.source, ' ') == NULL);
            CHECK(m.source < m.command);
        }
        const char *prev = m.command;
        for (size_t i = 0; i < m.nparams; i++) {
            const char *p = m.params[i];
            CHECK(p != NULL && in_buf(buf, n, p));
            CHECK(p > prev);
            prev = p;
            bool last = i + 1 == m.nparams;
            if (!last) {
                CHECK(p[0] != '\0' && p[0] != ':');
                CHECK(strchr(p, ' ') == NULL);
            } else if (!m.trailing && m.nparams < IRC_PARAMS_MAX) {
                CHECK(p[0] != '\0' && p[0] != ':');
                CHECK(strchr(p, ' ') == NULL);
            }
            CHECK(strchr(p, '\r') == NULL && strchr(p, '\n') == NULL);
        }
        for (size_t i = m.nparams; i < IRC_PARAMS_MAX; i++) {
            CHECK(m.params[i] == NULL);
        }
        CHECK(!m.trailing || m.nparams > 0);
    }
    free(buf);
}

/* ----------------------------------------------------------------------------------------- */
/* Masks */

/* The textbook O(m * n) matcher, as the reference. */
static bool
ref_match(const char *mask, const char *s)
{
    size_t m = strlen(mask), n = strlen(s);
    bool *row = calloc(n + 1, sizeof(bool));
    bool *next = calloc(n + 1, sizeof(bool));

    CHECK(row != NULL && next != NULL);
    row[0] = true;
    for (size_t j = 1; j <= n; j++) {
        row[j] = false;
    }
    for (size_t i = 1; i <= m; i++) {
        char c = mask[i - 1];
        next[0] = c == '*' && row[0];
        for (size_t j = 1; j <= n; j++) {
            if (c == '*') {
                next[j] = row[j] || next[j - 1];
            } else {
                next[j] = row[j - 1] && (c == '?' || irc_tolower(c) == irc_tolower(s[j - 1]));
            }
        }
        bool *tmp = row;
        row = next;
        next = tmp;
    }
    bool r = row[n];
    free(row);
    free(next);
    return r;
}

static void
check_normalize(const char *in)
{
    size_t cap = 2 * strlen(in) + 8;
    char *out = malloc(cap);
    CHECK(out != NULL);
    size_t len = irc_mask_normalize(in, out, cap);
    if (in[0] == '\0' || strchr(in, ' ') != NULL) {
        CHECK(len == 0);
    } else {
        /* Three parts, each at most the input, and two separators. */
        CHECK(len > 0 && len <= strlen(in) + 4);
        CHECK(out[len] == '\0' && strlen(out) == len);
        CHECK(strchr(out, '!') != NULL && strchr(strchr(out, '!'), '@') != NULL);
        CHECK(irc_mask_match(out, out));
        /* Idempotent. */
        char *again = malloc(len + 1);
        CHECK(again != NULL);
        CHECK(irc_mask_normalize(out, again, len + 1) == len);
        CHECK(memcmp(again, out, len + 1) == 0);
        CHECK(irc_mask_normalize(in, again, len) == 0);
        free(again);
    }
    free(out);
}

static void
check_masks(const char *a, const char *b)
{
    bool r = irc_mask_match(a, b);
    if (strlen(a) <= REF_MAX && strlen(b) <= REF_MAX) {
        CHECK(r == ref_match(a, b));
    }
    size_t bn = strlen(b);
    char *fb = malloc(bn + 1);
    CHECK(fb != NULL);
    irc_fold(b, bn, fb);
    CHECK(irc_mask_match(a, fb) == r);
    CHECK(irc_casecmp(b, fb) == 0);
    free(fb);
    CHECK(irc_mask_match("*", b));
    CHECK(irc_mask_match(b, b));
    check_normalize(a);
}

/* ----------------------------------------------------------------------------------------- */
/* Modes */

static void
check_modes(char *text, unsigned char maxb)
{
    struct irc_mode_spec spec;
    const char *args[MAX_ARGS];
    size_t nargs = 0;

    memset(&spec, 0, sizeof(spec));
    for (const char *p = "beI"; *p; p++) {
        spec.kind[(unsigned char)*p] = IRC_MODE_LIST;
    }
    for (const char *p = "kov"; *p; p++) {
        spec.kind[(unsigned char)*p] = IRC_MODE_ALWAYS;
    }
    spec.kind['l'] = IRC_MODE_SET;
    for (const char *p = "imnst"; *p; p++) {
        spec.kind[(unsigned char)*p] = IRC_MODE_FLAG;
    }

    char *modes = text;
    char *sp = strchr(text, ' ');
    while (sp != NULL && nargs < MAX_ARGS) {
        *sp = '\0';
        args[nargs++] = sp + 1;
        sp = strchr(sp + 1, ' ');
    }
    size_t max = maxb % 20;
    size_t ucap = (maxb >> 4) % 8;
    struct irc_mode_change out[20];
    char unknown[8];
    memset(unknown, 0x5A, sizeof(unknown));
    size_t n = irc_modes_parse(&spec, modes, args, nargs, out, max, unknown, ucap);
    CHECK(n <= max);
    size_t next_arg = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i].mode;
        CHECK(c < 128 && spec.kind[c] != IRC_MODE_UNKNOWN);
        CHECK(strchr(modes, (char)c) != NULL);
        enum irc_mode_kind k = (enum irc_mode_kind)spec.kind[c];
        if (out[i].arg != NULL) {
            CHECK(k == IRC_MODE_LIST || k == IRC_MODE_ALWAYS || (k == IRC_MODE_SET && out[i].add));
            /* Arguments are taken in order, none twice. */
            size_t j = next_arg;
            while (j < nargs && args[j] != out[i].arg) {
                j++;
            }
            CHECK(j < nargs);
            next_arg = j + 1;
        } else {
            CHECK(k == IRC_MODE_LIST || k == IRC_MODE_FLAG || (k == IRC_MODE_SET && !out[i].add));
        }
    }
    if (ucap > 0) {
        size_t ul = strnlen(unknown, ucap);
        CHECK(ul < ucap);
        for (size_t i = 0; i < ul; i++) {
            unsigned char c = (unsigned char)unknown[i];
            CHECK(c != '+' && c != '-' && (c >= 128 || spec.kind[c] == IRC_MODE_UNKNOWN));
            CHECK(strchr(modes, (char)c) != NULL);
            CHECK(memchr(unknown, (char)c, i) == NULL);
        }
        for (size_t i = ucap; i < sizeof(unknown); i++) {
            CHECK(unknown[i] == 0x5A);
        }
    } else {
        for (size_t i = 0; i < sizeof(unknown); i++) {
            CHECK(unknown[i] == 0x5A);
        }
    }
}

/* ----------------------------------------------------------------------------------------- */

static void
check_names(const char *p, size_t n)
{
    size_t max = n > 0 ? (unsigned char)p[0] % 64 : 0;
    bool nick = irc_nick_valid(p, n, max);
    if (nick) {
        CHECK(n >= 1 && n <= max);
        CHECK(!(p[0] >= '0' && p[0] <= '9') && p[0] != '-');
        CHECK(irc_user_valid(p, n, max));
    }
    if (irc_user_valid(p, n, max)) {
        CHECK(memchr(p, '@', n) == NULL && memchr(p, ' ', n) == NULL && memchr(p, 0, n) == NULL);
    }
    if (irc_chan_valid(p, n, 200, "#&")) {
        CHECK(n >= 2 && (p[0] == '#' || p[0] == '&'));
        CHECK(irc_utf8_valid(p, n));
        CHECK(memchr(p + 1, ',', n - 1) == NULL && memchr(p + 1, ':', n - 1) == NULL);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = exact((const char *)data, size);

    check_line(p, size);
    check_names(p, size);

    /* Everything else works on NUL-terminated pieces: cut at the first NUL, then at the first
     * newline into a mask and a string. */
    char *s = malloc(size + 1);
    CHECK(s != NULL);
    memcpy(s, p, size);
    s[size] = '\0';
    size_t len = strlen(s);
    char *nl = strchr(s, '\n');
    char *a = s, *b = s + len;
    if (nl != NULL) {
        *nl = '\0';
        b = nl + 1;
    } else {
        b = s + len / 2;
    }
    char *a_copy = malloc(len + 1), *b_copy = malloc(len + 1);
    CHECK(a_copy != NULL && b_copy != NULL);
    size_t an = nl != NULL ? strlen(a) : len / 2;
    memcpy(a_copy, a, an);
    a_copy[an] = '\0';
    size_t bnl = strlen(b);
    memcpy(b_copy, b, bnl + 1);
    check_masks(a_copy, b_copy);
    check_masks(b_copy, a_copy);
    free(a_copy);
    free(b_copy);

    memcpy(s, p, size);
    s[size] = '\0';
    check_modes(s + (size > 0 ? 1 : 0), size > 0 ? (unsigned char)p[0] : 0);

    free(s);
    free(p);
    return 0;
}
