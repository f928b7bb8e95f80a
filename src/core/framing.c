/* SPDX-License-Identifier: MIT */
/* Frame boundary detection on evbuffers. Every search is bounded by the limit, so a peer that
 * never sends a terminator costs one bounded scan per read, never a growing buffer. */
#include "core/framing.h"

#include <event2/buffer.h>
#include <string.h>

#include "proto/frame.h"

static enum parse_result
by_terminator(struct evbuffer *in, size_t limit, char term, size_t *deliver, size_t *consume,
              const char **why)
{
    size_t len = evbuffer_get_length(in);
    size_t scan = len < limit + 2 ? len : limit + 2;
    unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)scan);
    const unsigned char *t = p ? memchr(p, term, scan) : NULL;

    if (t == NULL) {
        if (len > limit + 1) {
            *why = term == '\n' ? "line too long" : "request too long";
            return PARSE_ERR;
        }
        return PARSE_AGAIN;
    }
    size_t n = (size_t)(t - p);
    *consume = n + 1;
    if (term == '\n' && n > 0 && p[n - 1] == '\r') {
        n--;
    }
    if (n > limit) {
        *why = term == '\n' ? "line too long" : "request too long";
        return PARSE_ERR;
    }
    *deliver = n;
    return PARSE_OK;
}

enum parse_result
framing_next(enum framing f, struct evbuffer *in, size_t limit, size_t *deliver, size_t *consume,
             const char **why)
{
    size_t len = evbuffer_get_length(in);

    if (len == 0) {
        return PARSE_AGAIN;
    }
    switch (f) {
    case FRAME_LENGTH: {
        size_t head = len < FRAME_HEADER_MAX ? len : FRAME_HEADER_MAX;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)head);
        size_t size;
        enum parse_result r = frame_measure(p, head, limit, &size, why);
        if (r != PARSE_OK) {
            return r;
        }
        if (size > len) {
            return PARSE_AGAIN;
        }
        *deliver = *consume = size;
        return PARSE_OK;
    }
    case FRAME_LINE:
        return by_terminator(in, limit, '\n', deliver, consume, why);
    case FRAME_NUL:
        return by_terminator(in, limit, '\0', deliver, consume, why);
    case FRAME_RAW:
        *deliver = *consume = len < limit ? len : limit;
        return PARSE_OK;
    }
    *why = "unknown framing";
    return PARSE_ERR;
}

size_t
framing_buffer_max(enum framing f, size_t limit)
{
    switch (f) {
    case FRAME_LENGTH:
        return FRAME_HEADER_MAX + limit;
    case FRAME_LINE:
        return limit + 2;
    case FRAME_NUL:
        return limit + 1;
    case FRAME_RAW:
        break;
    }
    return limit;
}
