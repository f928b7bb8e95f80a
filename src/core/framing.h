/* SPDX-License-Identifier: MIT */
/*
 * How the core cuts a byte stream into frames for a service: by the eurechat header's length,
 * by line, by NUL byte, or not at all. It only measures; the codecs in src/proto decode.
 */
#ifndef SB_CORE_FRAMING_H
#define SB_CORE_FRAMING_H

#include <stddef.h>

#include "proto/parse.h"

struct evbuffer;

enum framing {
    FRAME_LENGTH, /* "TYPE LEN args\n" + LEN bytes (src/proto/frame.h); frame passed whole */
    FRAME_LINE,   /* LF or CRLF terminated; passed without the terminator */
    FRAME_NUL,    /* NUL terminated; passed without the NUL */
    FRAME_RAW,    /* whatever has arrived, up to the limit */
};

/**
 * framing_next() - is there a complete frame at the start of @in?
 * @limit: FRAME_LENGTH: the largest payload; otherwise the largest frame
 * @deliver: on PARSE_OK, bytes to hand to the service
 * @consume: on PARSE_OK, bytes to drain afterwards (@deliver plus any terminator)
 * @why: on PARSE_ERR, a static reason
 */
enum parse_result framing_next(enum framing f, struct evbuffer *in, size_t limit, size_t *deliver,
                               size_t *consume, const char **why);

/** framing_buffer_max() - the most input bytes a complete frame can need. */
size_t framing_buffer_max(enum framing f, size_t limit);

#endif
