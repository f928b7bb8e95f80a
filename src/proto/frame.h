/* SPDX-License-Identifier: MIT */
/*
 * The eurechat framing: a header line "TYPE LEN [ARG ...]\n" followed by exactly LEN payload bytes.
 * This module measures, decodes and encodes frames over caller-owned bytes; it never reads a
 * socket, never allocates and never logs. Limits are enforced before anything is extracted.
 */
#ifndef SB_PROTO_FRAME_H
#define SB_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/parse.h"

#define FRAME_HEADER_MAX 1024 /* header bytes, leading blank lines and the newline included */
#define FRAME_ARGS_MAX 16     /* arguments after TYPE and LEN */
#define FRAME_TYPE_MAX 32     /* characters in TYPE */
#define FRAME_PAYLOAD_DEFAULT 65536

struct frame {
    struct str type;
    struct str args[FRAME_ARGS_MAX];
    size_t nargs;
    struct str payload;
    size_t size; /* bytes the whole frame occupies in the input */
};

/**
 * frame_measure() - find out how long the frame at the start of @p is.
 * @p: input bytes (may hold several frames or a partial one)
 * @n: number of bytes at @p
 * @max_payload: largest LEN accepted
 * @size: on PARSE_OK, the total size of the frame (header plus payload); the payload itself may
 *        not have arrived yet, which the caller sees by comparing @size with @n
 * @why: on PARSE_ERR, a static string saying what is wrong
 *
 * Only the header is examined, so this needs at most FRAME_HEADER_MAX contiguous bytes. Blank
 * lines before a header ("\n", "\r\n") are accepted and count towards the frame they precede.
 *
 * Return: PARSE_OK, PARSE_AGAIN if the header is incomplete, PARSE_ERR if it is malformed or
 * over a limit.
 */
enum parse_result frame_measure(const char *p, size_t n, size_t max_payload, size_t *size,
                                const char **why);

/**
 * frame_parse() - decode one complete frame.
 * @p, @n: input bytes
 * @max_payload: largest LEN accepted
 * @f: filled on PARSE_OK with slices pointing into @p (valid as long as @p is)
 * @why: on PARSE_ERR, a static string saying what is wrong
 *
 * Return: PARSE_OK, PARSE_AGAIN if header or payload are incomplete, PARSE_ERR.
 */
enum parse_result frame_parse(const char *p, size_t n, size_t max_payload, struct frame *f,
                              const char **why);

/**
 * frame_arg_valid() - can @s travel as a header argument (non-empty, no blank or control byte)?
 */
bool frame_arg_valid(const char *s, size_t n);

/**
 * frame_header() - encode the header of a frame carrying @payload_len bytes.
 * @buf, @cap: output buffer; the result is not NUL-terminated
 * @type: message type, [A-Za-z0-9_]{1,FRAME_TYPE_MAX}
 * @args, @nargs: arguments, each valid by frame_arg_valid()
 *
 * The caller sends the payload right after the header.
 *
 * Return: header length, or -1 if an input is invalid or the header does not fit in @cap.
 */
int frame_header(char *buf, size_t cap, const char *type, const char *const *args, size_t nargs,
                 size_t payload_len);

#endif
