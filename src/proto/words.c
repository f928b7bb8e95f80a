/* SPDX-License-Identifier: MIT */
/* Plain ASCII, by far the common case, never reaches libunistring. */
#include "proto/words.h"

#include <stdint.h>
#include <stdlib.h>
#include <unicase.h>
#include <unictype.h>
#include <unistr.h>
#include <uninorm.h>

static bool
all_ascii(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] >= 0x80) {
            return false;
        }
    }
    return true;
}

bool
words_utf8_valid(const char *p, size_t n)
{
    return all_ascii(p, n) || u8_check((const uint8_t *)p, n) == NULL;
}

size_t
words_fold(const char *p, size_t n, char *out, size_t cap)
{
    if (n == 0) {
        return 0;
    }
    if (all_ascii(p, n)) {
        if (n > cap) {
            return 0;
        }
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            out[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        return n;
    }
    size_t len = cap;
    uint8_t *r = u8_casefold((const uint8_t *)p, n, NULL, UNINORM_NFC, (uint8_t *)out, &len);
    if (r == NULL) {
        return 0;
    }
    if (r != (uint8_t *)out) {
        free(r); /* did not fit in @out */
        return 0;
    }
    return len;
}

static bool
ascii_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the word character at @p (0 if it is not one). A combining mark continues a word
 * but cannot start one: the variation selector after an emoji is a mark, not a word. */
static size_t
word_char(const char *p, size_t left, bool inside)
{
    unsigned char c = (unsigned char)*p;
    ucs4_t uc;

    if (c < 0x80) {
        return ascii_letter(c) ? 1 : 0;
    }
    int len = u8_mbtouc(&uc, (const uint8_t *)p, left);
    if (len <= 0) {
        return 0;
    }
    if (uc_is_general_category(uc, UC_LETTER) || (inside && uc_is_general_category(uc, UC_MARK))) {
        return (size_t)len;
    }
    return 0;
}

/* Length of the character at @p, whatever it is (at least 1). */
static size_t
any_char(const char *p, size_t left)
{
    ucs4_t uc;
    int len = (unsigned char)*p < 0x80 ? 1 : u8_mbtouc(&uc, (const uint8_t *)p, left);
    return len <= 0 ? 1 : (size_t)len;
}

bool
words_next(const char *p, size_t n, size_t *pos, struct str *word)
{
    size_t i = *pos, k;

    while (i < n && (k = word_char(p + i, n - i, false)) == 0) {
        i += any_char(p + i, n - i);
    }
    if (i >= n) {
        *pos = n;
        return false;
    }
    size_t start = i;
    while (i < n && (k = word_char(p + i, n - i, true)) > 0) {
        i += k;
    }
    word->p = p + start;
    word->n = i - start;
    *pos = i;
    return true;
}

bool
words_arg_next(const char *p, size_t n, size_t *pos, struct str *arg)
{
    size_t i = *pos;

    while (i < n && (p[i] == ' ' || p[i] == '\t')) {
        i++;
    }
    if (i >= n) {
        *pos = n;
        return false;
    }
    size_t start = i;
    while (i < n && p[i] != ' ' && p[i] != '\t') {
        i++;
    }
    arg->p = p + start;
    arg->n = i - start;
    *pos = i;
    return true;
}

const char *
words_valid_entry(const char *p, size_t n)
{
    if (n == 0) {
        return "empty word";
    }
    if (n > WORDS_MAX) {
        return "word longer than 255 bytes";
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c == 0x7f) {
            return "word contains whitespace or a control character";
        }
    }
    if (!words_utf8_valid(p, n)) {
        return "word is not valid UTF-8";
    }
    /* Beyond ASCII: Unicode spaces (no-break, em, ideographic...) and C1 controls. */
    for (size_t i = 0; i < n;) {
        ucs4_t uc;
        if ((unsigned char)p[i] < 0x80) {
            i++;
            continue;
        }
        i += (size_t)u8_mbtouc(&uc, (const uint8_t *)p + i, n - i);
        if (uc_is_property_white_space(uc) || uc_is_general_category(uc, UC_CONTROL)) {
            return "word contains whitespace or a control character";
        }
    }
    return NULL;
}
