/* SPDX-License-Identifier: MIT */
/*
 * Decoder and encoder of the eurechat framing. The seed parsed headers with a regular expression
 * and trusted LEN; here every byte of the header is checked and LEN is bounded before the caller
 * waits for a single payload byte, so a peer cannot make anyone buffer more than it allowed.
 */
#include "proto/frame.h"

#include <stdint.h>
#include <string.h>

static bool
is_type_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Bytes that may appear inside an argument: anything printable, UTF-8 included. */
static bool
is_arg_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

bool
frame_arg_valid(const char *s, size_t n)
{
    if (n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_arg_char((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/*
 * Decode the header line [p, p + hlen) (newline included, leading blank lines already skipped
 * by the caller). Fills type, args and the payload length.
 */
static enum parse_result
parse_header(const char *p, size_t hlen, size_t max_payload, struct frame *f, size_t *len,
             const char **why)
{
    size_t end = hlen - 1; /* index of '\n' */
    size_t i = 0;

    if (end > 0 && p[end - 1] == '\r') {
        end--;
    }
    while (i < end && is_type_char((unsigned char)p[i])) {
        i++;
    }
    if (i == 0) {
        *why = "malformed header: expected a message type";
        return PARSE_ERR;
    }
    if (i > FRAME_TYPE_MAX) {
        *why = "malformed header: message type too long";
        return PARSE_ERR;
    }
    f->type.p = p;
    f->type.n = i;
    if (i < end && !is_blank((unsigned char)p[i])) {
        *why = "malformed header: invalid character in message type";
        return PARSE_ERR;
    }
    while (i < end && is_blank((unsigned char)p[i])) {
        i++;
    }
    if (i == end) {
        *why = "malformed header: missing payload length";
        return PARSE_ERR;
    }

    size_t v = 0, digits = 0;
    while (i < end && p[i] >= '0' && p[i] <= '9') {
        size_t dgt = (size_t)(p[i] - '0');
        /* Checked before multiplying, so no max_payload can make it wrap. */
        if (v > (max_payload - dgt) / 10 || dgt > max_payload) {
            *why = "payload too large";
            return PARSE_ERR;
        }
        v = v * 10 + dgt;
        digits++;
        i++;
    }
    if (digits == 0 || (i < end && !is_blank((unsigned char)p[i]))) {
        *why = "malformed header: invalid payload length";
        return PARSE_ERR;
    }
    *len = v;

    f->nargs = 0;
    for (;;) {
        while (i < end && is_blank((unsigned char)p[i])) {
            i++;
        }
        if (i == end) {
            break;
        }
        size_t start = i;
        while (i < end && is_arg_char((unsigned char)p[i])) {
            i++;
        }
        if (i == start || (i < end && !is_blank((unsigned char)p[i]))) {
            *why = "malformed header: control character in arguments";
            return PARSE_ERR;
        }
        if (f->nargs == FRAME_ARGS_MAX) {
            *why = "too many arguments";
            return PARSE_ERR;
        }
        f->args[f->nargs].p = p + start;
        f->args[f->nargs].n = i - start;
        f->nargs++;
    }
    return PARSE_OK;
}

/*
 * Locate the header: skip leading blank lines, find the newline within the header limit.
 * On PARSE_OK *skip is the number of blank-line bytes and *hlen the header length after them.
 */
static enum parse_result
find_header(const char *p, size_t n, size_t *skip, size_t *hlen, const char **why)
{
    size_t lim = n < FRAME_HEADER_MAX ? n : FRAME_HEADER_MAX;
    size_t s = 0;

    while (s < lim && (p[s] == '\n' || p[s] == '\r')) {
        s++;
    }
    const char *nl = s < lim ? memchr(p + s, '\n', lim - s) : NULL;
    if (nl == NULL) {
        if (n >= FRAME_HEADER_MAX) {
            *why = "header too long";
            return PARSE_ERR;
        }
        return PARSE_AGAIN;
    }
    *skip = s;
    *hlen = (size_t)(nl - (p + s)) + 1;
    return PARSE_OK;
}

enum parse_result
frame_measure(const char *p, size_t n, size_t max_payload, size_t *size, const char **why)
{
    struct frame f;
    size_t skip, hlen, len;
    enum parse_result r = find_header(p, n, &skip, &hlen, why);

    if (r != PARSE_OK) {
        return r;
    }
    r = parse_header(p + skip, hlen, max_payload, &f, &len, why);
    if (r != PARSE_OK) {
        return r;
    }
    if (len > SIZE_MAX - skip - hlen) {
        *why = "payload too large";
        return PARSE_ERR;
    }
    *size = skip + hlen + len;
    return PARSE_OK;
}

enum parse_result
frame_parse(const char *p, size_t n, size_t max_payload, struct frame *f, const char **why)
{
    size_t skip, hlen, len;
    enum parse_result r = find_header(p, n, &skip, &hlen, why);

    if (r != PARSE_OK) {
        return r;
    }
    r = parse_header(p + skip, hlen, max_payload, f, &len, why);
    if (r != PARSE_OK) {
        return r;
    }
    if (len > SIZE_MAX - skip - hlen) {
        *why = "payload too large";
        return PARSE_ERR;
    }
    if (n - skip - hlen < len) {
        return PARSE_AGAIN;
    }
    f->payload.p = p + skip + hlen;
    f->payload.n = len;
    f->size = skip + hlen + len;
    return PARSE_OK;
}

int
frame_header(char *buf, size_t cap, const char *type, const char *const *args, size_t nargs,
             size_t payload_len)
{
    size_t tn = strlen(type);
    char num[24];
    size_t nn = 0, pos = 0;

    if (tn == 0 || tn > FRAME_TYPE_MAX || nargs > FRAME_ARGS_MAX) {
        return -1;
    }
    for (size_t i = 0; i < tn; i++) {
        if (!is_type_char((unsigned char)type[i])) {
            return -1;
        }
    }
    do {
        num[sizeof(num) - 1 - nn++] = (char)('0' + payload_len % 10);
        payload_len /= 10;
    } while (payload_len > 0);

#define PUT(src, len)                                                                              \
    do {                                                                                           \
        if (pos + (len) > cap) {                                                                   \
            return -1;                                                                             \
        }                                                                                          \
        memcpy(buf + pos, (src), (len));                                                           \
        pos += (len);                                                                              \
    } while (0)

    PUT(type, tn);
    PUT(" ", 1);
    PUT(num + sizeof(num) - nn, nn);
    for (size_t i = 0; i < nargs; i++) {
        size_t an = strlen(args[i]);
        if (!frame_arg_valid(args[i], an)) {
            return -1;
        }
        PUT(" ", 1);
        PUT(args[i], an);
    }
    PUT("\n", 1);
#undef PUT
    if (pos > FRAME_HEADER_MAX) {
        return -1;
    }
    return (int)pos;
}
