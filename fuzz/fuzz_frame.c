/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the eurechat framing codec. Beyond "does not crash" it checks that
 * frame_measure() and frame_parse() agree, that every slice lies inside the input, that a prefix
 * of a frame is never complete, and that re-encoding a parsed header gives the same frame back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "fuzz/fuzz.h"

static bool
same_slice(struct str a, struct str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* Encode @f's header with frame_header(), append its payload, parse again: same frame. */
static void
check_reencode(const struct frame *f, size_t max_payload)
{
    char type[FRAME_TYPE_MAX + 1];
    char argbuf[FRAME_HEADER_MAX + FRAME_ARGS_MAX];
    const char *args[FRAME_ARGS_MAX];
    char hdr[FRAME_HEADER_MAX];
    size_t pos = 0;
    int hn;

    memcpy(type, f->type.p, f->type.n);
    type[f->type.n] = '\0';
    for (size_t i = 0; i < f->nargs; i++) {
        CHECK(pos + f->args[i].n + 1 <= sizeof(argbuf));
        memcpy(argbuf + pos, f->args[i].p, f->args[i].n);
        argbuf[pos + f->args[i].n] = '\0';
        args[i] = argbuf + pos;
        pos += f->args[i].n + 1;
    }
    /* The canonical header is never longer than the one that was parsed, so it must fit. */
    hn = frame_header(hdr, sizeof(hdr), type, args, f->nargs, f->payload.n);
    CHECK(hn > 0);

    size_t n = (size_t)hn + f->payload.n;
    char *buf = malloc(n);
    CHECK(buf != NULL);
    memcpy(buf, hdr, (size_t)hn);
    if (f->payload.n > 0) {
        memcpy(buf + hn, f->payload.p, f->payload.n);
    }

    struct frame g;
    const char *why = NULL;
    size_t size = 0;
    CHECK(frame_measure(buf, n, max_payload, &size, &why) == PARSE_OK);
    CHECK(size == n);
    CHECK(frame_parse(buf, n, max_payload, &g, &why) == PARSE_OK);
    CHECK(g.size == n);
    CHECK(same_slice(g.type, f->type));
    CHECK(g.nargs == f->nargs);
    for (size_t i = 0; i < g.nargs; i++) {
        CHECK(same_slice(g.args[i], f->args[i]));
    }
    CHECK(same_slice(g.payload, f->payload));
    free(buf);
}

/* Check one frame at the start of [p, p + n); returns the bytes it used, or 0 to stop. */
static size_t
check_one(const char *p, size_t n, size_t max_payload)
{
    struct frame f;
    const char *mwhy = NULL, *pwhy = NULL;
    size_t msize = 0;
    enum parse_result m = frame_measure(p, n, max_payload, &msize, &mwhy);
    enum parse_result r = frame_parse(p, n, max_payload, &f, &pwhy);

    if (m == PARSE_ERR) {
        CHECK(r == PARSE_ERR);
        CHECK(mwhy != NULL && pwhy != NULL);
        CHECK(strcmp(mwhy, pwhy) == 0);
        return 0;
    }
    if (m == PARSE_AGAIN) {
        CHECK(r == PARSE_AGAIN);
        /* Only an unterminated header is "again" for measure, and it is under the limit. */
        CHECK(n < FRAME_HEADER_MAX);
        return 0;
    }
    CHECK(m == PARSE_OK);
    if (msize > n) {
        CHECK(r == PARSE_AGAIN);
        return 0;
    }
    CHECK(r == PARSE_OK);
    CHECK(f.size == msize);
    CHECK(f.size > 0 && f.size <= n);
    CHECK(f.type.n >= 1 && f.type.n <= FRAME_TYPE_MAX);
    CHECK(inside(p, n, f.type));
    CHECK(f.nargs <= FRAME_ARGS_MAX);
    for (size_t i = 0; i < f.nargs; i++) {
        CHECK(inside(p, n, f.args[i]));
        CHECK(f.args[i].p > f.type.p);
        CHECK(frame_arg_valid(f.args[i].p, f.args[i].n));
    }
    CHECK(inside(p, n, f.payload));
    CHECK(f.payload.n <= max_payload);
    CHECK(f.payload.p + f.payload.n == p + f.size);
    /* The header, blank lines included, is within the limit. */
    CHECK((size_t)(f.payload.p - p) <= FRAME_HEADER_MAX);
    CHECK(f.payload.p[-1] == '\n');

    /* A frame cut one byte short is incomplete, never an error and never a different frame. */
    char *cut = exact(p, f.size - 1);
    struct frame g;
    const char *why = NULL;
    CHECK(frame_parse(cut, f.size - 1, max_payload, &g, &why) == PARSE_AGAIN);
    free(cut);

    check_reencode(&f, max_payload);
    return f.size;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[] = {FRAME_PAYLOAD_DEFAULT, 100, 0};

    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        const char *p = (const char *)data;
        size_t n = size, used;

        /* Consume pipelined frames one by one, as the core's framer does. */
        while ((used = check_one(p, n, limits[l])) > 0) {
            p += used;
            n -= used;
        }
    }
    return 0;
}
