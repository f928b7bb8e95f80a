/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the eurechat framing codec (src/proto/frame.c): measuring and decoding single,
 * pipelined and partial frames, every error path, and the header encoder. Inputs are copied into
 * heap buffers of exactly their length so that a sanitizer build catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"
#include "tests/unit/unit.h"

#define MAXP FRAME_PAYLOAD_DEFAULT

/* Run frame_parse over a heap copy of @s; returns the result and frees the copy. */
static enum parse_result
parse_n(const char *s, size_t n, size_t max, const char **why)
{
    char *p = exact(s, n);
    struct frame f;
    enum parse_result r = frame_parse(p, n, max, &f, why);

    free(p);
    return r;
}

static enum parse_result
measure_n(const char *s, size_t n, size_t max, size_t *size, const char **why)
{
    char *p = exact(s, n);
    enum parse_result r = frame_measure(p, n, max, size, why);

    free(p);
    return r;
}

/* Both measure and parse must reject @s with a reason containing @want. */
static void
expect_error(const char *s, size_t n, size_t max, const char *want)
{
    const char *why = NULL;
    size_t size = 0;

    assert_int_equal(measure_n(s, n, max, &size, &why), PARSE_ERR);
    assert_non_null(why);
    assert_non_null(strstr(why, want));
    why = NULL;
    assert_int_equal(parse_n(s, n, max, &why), PARSE_ERR);
    assert_non_null(why);
    assert_non_null(strstr(why, want));
}

static void
expect_error_str(const char *s, const char *want)
{
    expect_error(s, strlen(s), MAXP, want);
}

/* A string of @n copies of @c (caller frees). */
static char *
repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void
test_seed_message(void **state)
{
    const char in[] = "MESSAGE 12 sender\nHello world!";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;
    size_t size = 0;

    assert_int_equal(frame_measure(p, n, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, n);
    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_slice(f.type, "MESSAGE");
    assert_int_equal(f.nargs, 1);
    assert_slice(f.args[0], "sender");
    assert_slice(f.payload, "Hello world!");
    assert_int_equal(f.size, n);
    assert_ptr_equal(f.payload.p, p + 18);
    free(p);
}

static void
test_seed_pipelined_login(void **state)
{
    const char in[] = "LOGIN 0 username\nPASS 0 password\n";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;
    size_t size = 0, off = 0;

    assert_int_equal(frame_measure(p, n, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, 17);
    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_int_equal(f.size, 17);
    assert_slice(f.type, "LOGIN");
    assert_int_equal(f.nargs, 1);
    assert_slice(f.args[0], "username");
    assert_int_equal(f.payload.n, 0);
    off += f.size;

    assert_int_equal(frame_measure(p + off, n - off, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, 16);
    assert_int_equal(frame_parse(p + off, n - off, MAXP, &f, &why), PARSE_OK);
    assert_slice(f.type, "PASS");
    assert_int_equal(f.nargs, 1);
    assert_slice(f.args[0], "password");
    assert_int_equal(f.payload.n, 0);
    off += f.size;
    assert_int_equal(off, n);
    assert_int_equal(frame_parse(p + off, n - off, MAXP, &f, &why), PARSE_AGAIN);
    free(p);
}

static void
test_args_and_payload(void **state)
{
    const char in[] = "SEND 5 alice bob\tcarol  h\xc3\xa9llo ~!@#$%^&*()\nab\ncd";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;

    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_slice(f.type, "SEND");
    assert_int_equal(f.nargs, 5);
    assert_slice(f.args[0], "alice");
    assert_slice(f.args[1], "bob");
    assert_slice(f.args[2], "carol");
    assert_slice(f.args[3], "h\xc3\xa9llo");
    assert_slice(f.args[4], "~!@#$%^&*()");
    /* The payload is opaque: a newline inside it is just a byte. */
    assert_slice(f.payload, "ab\ncd");
    assert_int_equal(f.size, n);
    free(p);
}

static void
test_trailing_and_repeated_blanks(void **state)
{
    const char in[] = "PING  0 \t a   b \t\n";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;

    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_slice(f.type, "PING");
    assert_int_equal(f.nargs, 2);
    assert_slice(f.args[0], "a");
    assert_slice(f.args[1], "b");
    assert_int_equal(f.size, n);
    free(p);
}

static void
test_binary_payload(void **state)
{
    const char in[] = "BLOB 4\n\0\n\r\xff";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;

    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_int_equal(f.payload.n, 4);
    assert_memory_equal(f.payload.p, "\0\n\r\xff", 4);
    free(p);
}

static void
test_measure_before_payload(void **state)
{
    const char in[] = "MESSAGE 12 sender\nHel";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;
    size_t size = 0;

    /* The header alone is enough to know the size; the payload is still missing. */
    assert_int_equal(frame_measure(p, n, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, 30);
    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_AGAIN);
    free(p);
}

/* Several frames in one buffer, consumed frame by frame using the measured size. */
static void
test_pipelined_many(void **state)
{
    const char in[] = "A 3 x\nabc"
                      "\r\nB 0\n"
                      "C 2 y z\r\nhi"
                      "D 1\n\n"
                      "E 0 last\n";
    static const char *const types[] = {"A", "B", "C", "D", "E"};
    static const char *const payloads[] = {"abc", "", "hi", "\n", ""};
    static const size_t nargs[] = {1, 0, 2, 0, 1};
    size_t n = sizeof(in) - 1, off = 0;
    char *p = exact(in, n);

    for (size_t i = 0; i < 5; i++) {
        struct frame f;
        const char *why = NULL;
        size_t size = 0;

        assert_int_equal(frame_measure(p + off, n - off, MAXP, &size, &why), PARSE_OK);
        assert_int_equal(frame_parse(p + off, n - off, MAXP, &f, &why), PARSE_OK);
        assert_int_equal(f.size, size);
        assert_slice(f.type, types[i]);
        assert_int_equal(f.nargs, nargs[i]);
        assert_slice(f.payload, payloads[i]);
        off += f.size;
    }
    assert_int_equal(off, n);
    free(p);
}

/*
 * Feed @in one byte at a time: every proper prefix is PARSE_AGAIN for frame_parse (and, before the
 * header's newline, for frame_measure); the full input gives the same frame as parsing it whole.
 */
static void
check_bytewise(const char *in, size_t n)
{
    char *whole = exact(in, n);
    struct frame ref;
    const char *why = NULL;
    size_t refsize = 0;
    const char *nl = memchr(in, '\n', n);
    size_t header_end;

    assert_int_equal(frame_parse(whole, n, MAXP, &ref, &why), PARSE_OK);
    assert_int_equal(ref.size, n);
    assert_int_equal(frame_measure(whole, n, MAXP, &refsize, &why), PARSE_OK);
    assert_int_equal(refsize, n);

    /* Skip blank lines to find the end of the real header. */
    header_end = 0;
    while (header_end < n && (in[header_end] == '\n' || in[header_end] == '\r')) {
        header_end++;
    }
    nl = memchr(in + header_end, '\n', n - header_end);
    assert_non_null(nl);
    header_end = (size_t)(nl - in) + 1;

    for (size_t k = 0; k <= n; k++) {
        char *p = exact(in, k);
        struct frame f;
        size_t size = 0;
        enum parse_result r = frame_parse(p, k, MAXP, &f, &why);
        enum parse_result m = frame_measure(p, k, MAXP, &size, &why);

        if (k < n) {
            assert_int_equal(r, PARSE_AGAIN);
            if (k < header_end) {
                assert_int_equal(m, PARSE_AGAIN);
            } else {
                assert_int_equal(m, PARSE_OK);
                assert_int_equal(size, n);
            }
        } else {
            assert_int_equal(r, PARSE_OK);
            assert_int_equal(m, PARSE_OK);
            assert_int_equal(f.size, ref.size);
            assert_int_equal(f.type.p - p, ref.type.p - whole);
            assert_int_equal(f.type.n, ref.type.n);
            assert_int_equal(f.nargs, ref.nargs);
            for (size_t i = 0; i < f.nargs; i++) {
                assert_int_equal(f.args[i].p - p, ref.args[i].p - whole);
                assert_int_equal(f.args[i].n, ref.args[i].n);
            }
            assert_int_equal(f.payload.p - p, ref.payload.p - whole);
            assert_int_equal(f.payload.n, ref.payload.n);
        }
        free(p);
    }
    free(whole);
}

static void
test_bytewise(void **state)
{
    static const char m1[] = "MESSAGE 12 sender\nHello world!";
    static const char m2[] = "PASS 0 password\n";
    static const char m3[] = "\r\n\nLIST 3 a b c\r\nxyz";
    static const char m4[] = "X 1\n\n";

    check_bytewise(m1, sizeof(m1) - 1);
    check_bytewise(m2, sizeof(m2) - 1);
    check_bytewise(m3, sizeof(m3) - 1);
    check_bytewise(m4, sizeof(m4) - 1);
}

static void
test_empty_input(void **state)
{
    const char *why = NULL;
    size_t size = 0;

    assert_int_equal(measure_n("", 0, MAXP, &size, &why), PARSE_AGAIN);
    assert_int_equal(parse_n("", 0, MAXP, &why), PARSE_AGAIN);
}

static void
test_crlf(void **state)
{
    const char in[] = "MESSAGE 12 sender\r\nHello world!PASS 0\r\n";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;
    size_t size = 0;

    assert_int_equal(frame_measure(p, n, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, 31);
    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_slice(f.type, "MESSAGE");
    assert_int_equal(f.nargs, 1);
    assert_slice(f.args[0], "sender");
    assert_slice(f.payload, "Hello world!");
    assert_int_equal(f.size, 31);

    assert_int_equal(frame_parse(p + 31, n - 31, MAXP, &f, &why), PARSE_OK);
    assert_slice(f.type, "PASS");
    assert_int_equal(f.nargs, 0);
    assert_int_equal(f.size, n - 31);
    free(p);
}

static void
test_leading_blank_lines(void **state)
{
    const char in[] = "\n\r\n\n\rPING 2 a\nhi";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct frame f;
    const char *why = NULL;
    size_t size = 0;

    assert_int_equal(frame_measure(p, n, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, n);
    assert_int_equal(frame_parse(p, n, MAXP, &f, &why), PARSE_OK);
    assert_ptr_equal(f.type.p, p + 5);
    assert_slice(f.type, "PING");
    assert_slice(f.args[0], "a");
    assert_slice(f.payload, "hi");
    assert_int_equal(f.size, n);
    free(p);

    /* Only blank lines so far: wait for more. */
    assert_int_equal(measure_n("\r\n\r\n\n", 5, MAXP, &size, &why), PARSE_AGAIN);
    assert_int_equal(parse_n("\r\n\r\n\n", 5, MAXP, &why), PARSE_AGAIN);
}

static void
test_blank_lines_count_towards_header_limit(void **state)
{
    char *blank = repeat('\n', FRAME_HEADER_MAX);
    char *in = malloc(FRAME_HEADER_MAX + 8);
    const char *why = NULL;
    size_t size = 0;

    assert_non_null(in);
    /* 1024 blank bytes and no header at all. */
    expect_error(blank, FRAME_HEADER_MAX, MAXP, "header too long");
    /* 1023 blank bytes still leave room to wait. */
    assert_int_equal(measure_n(blank, FRAME_HEADER_MAX - 1, MAXP, &size, &why), PARSE_AGAIN);

    /* 1018 blank bytes + "P 0 x\n" (6) = 1024: the header ends exactly at the limit. */
    memcpy(in, blank, FRAME_HEADER_MAX - 6);
    memcpy(in + FRAME_HEADER_MAX - 6, "P 0 x\n", 6);
    assert_int_equal(measure_n(in, FRAME_HEADER_MAX, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, FRAME_HEADER_MAX);

    /* One more blank byte pushes the newline past the limit. */
    memcpy(in, blank, FRAME_HEADER_MAX - 5);
    memcpy(in + FRAME_HEADER_MAX - 5, "P 0 x\n", 6);
    expect_error(in, FRAME_HEADER_MAX + 1, MAXP, "header too long");
    free(blank);
    free(in);
}

static void
test_header_too_long_without_newline(void **state)
{
    char *in = repeat('A', FRAME_HEADER_MAX + 100);
    const char *why = NULL;
    size_t size = 0;

    memcpy(in, "T 0 ", 4);
    /* Below the limit the header may still end: wait. */
    assert_int_equal(measure_n(in, FRAME_HEADER_MAX - 1, MAXP, &size, &why), PARSE_AGAIN);
    assert_int_equal(parse_n(in, FRAME_HEADER_MAX - 1, MAXP, &why), PARSE_AGAIN);
    /* At the limit without a newline it never can. */
    expect_error(in, FRAME_HEADER_MAX, MAXP, "header too long");
    expect_error(in, FRAME_HEADER_MAX + 100, MAXP, "header too long");
    free(in);
}

static void
test_header_too_long_with_newline(void **state)
{
    size_t n = FRAME_HEADER_MAX + 1;
    char *in = repeat('x', n + 10);
    const char *why = NULL;
    size_t size = 0;

    /* "T 0 " + 1019 x + "\n" = 1024 bytes: accepted. */
    memcpy(in, "T 0 ", 4);
    in[FRAME_HEADER_MAX - 1] = '\n';
    assert_int_equal(measure_n(in, FRAME_HEADER_MAX, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, FRAME_HEADER_MAX);
    assert_int_equal(parse_n(in, FRAME_HEADER_MAX, MAXP, &why), PARSE_OK);

    /* One byte longer: rejected, even though the newline is in the buffer. */
    in[FRAME_HEADER_MAX - 1] = 'x';
    in[FRAME_HEADER_MAX] = '\n';
    expect_error(in, n, MAXP, "header too long");
    expect_error(in, n + 10, MAXP, "header too long");
    free(in);
}

static void
test_too_many_args(void **state)
{
    char buf[256];
    int len = snprintf(buf, sizeof(buf), "T 0");
    const char *why = NULL;
    size_t size = 0;
    char *p;
    struct frame f;

    for (int i = 0; i < FRAME_ARGS_MAX; i++) {
        len += snprintf(buf + len, sizeof(buf) - (size_t)len, " a%d", i);
    }
    buf[len] = '\n';
    p = exact(buf, (size_t)len + 1);
    assert_int_equal(frame_parse(p, (size_t)len + 1, MAXP, &f, &why), PARSE_OK);
    assert_int_equal(f.nargs, FRAME_ARGS_MAX);
    assert_slice(f.args[FRAME_ARGS_MAX - 1], "a15");
    free(p);
    assert_int_equal(measure_n(buf, (size_t)len + 1, MAXP, &size, &why), PARSE_OK);

    len += snprintf(buf + len, sizeof(buf) - (size_t)len, " extra\n");
    expect_error(buf, (size_t)len, MAXP, "too many arguments");
}

static void
test_type_length(void **state)
{
    char buf[64];
    char *t32 = repeat('T', FRAME_TYPE_MAX);
    char *t33 = repeat('T', FRAME_TYPE_MAX + 1);
    const char *why = NULL;
    size_t size = 0;

    snprintf(buf, sizeof(buf), "%s 0\n", t32);
    assert_int_equal(measure_n(buf, strlen(buf), MAXP, &size, &why), PARSE_OK);
    assert_int_equal(parse_n(buf, strlen(buf), MAXP, &why), PARSE_OK);
    snprintf(buf, sizeof(buf), "%s 0\n", t33);
    expect_error_str(buf, "message type too long");
    free(t32);
    free(t33);
}

static void
test_bad_type(void **state)
{
    expect_error_str("MES-SAGE 0\n", "invalid character in message type");
    expect_error_str("MESSAGE\x01 0\n", "invalid character in message type");
    expect_error_str("H\xc3\xa9 0\n", "invalid character in message type");
    expect_error_str(" MESSAGE 0\n", "expected a message type");
    expect_error_str("\tMESSAGE 0\n", "expected a message type");
    expect_error_str("-X 0\n", "expected a message type");
    expect_error_str("\x7f 0\n", "expected a message type");
    expect_error("\0X 0\n", 5, MAXP, "expected a message type");
    expect_error("X\0 0\n", 5, MAXP, "invalid character in message type");
    expect_error_str("X\r 0\n", "invalid character in message type");
}

static void
test_missing_length(void **state)
{
    expect_error_str("MESSAGE\n", "missing payload length");
    expect_error_str("MESSAGE \n", "missing payload length");
    expect_error_str("MESSAGE \t \n", "missing payload length");
    expect_error_str("MESSAGE\r\n", "missing payload length");
    expect_error_str("MESSAGE  \r\n", "missing payload length");
}

static void
test_bad_length(void **state)
{
    expect_error_str("MESSAGE abc\n", "invalid payload length");
    expect_error_str("MESSAGE 12x sender\n", "invalid payload length");
    expect_error_str("MESSAGE 12x\n", "invalid payload length");
    expect_error_str("MESSAGE -1\n", "invalid payload length");
    expect_error_str("MESSAGE +1\n", "invalid payload length");
    expect_error_str("MESSAGE 0x10\n", "invalid payload length");
    expect_error_str("MESSAGE 1.5\n", "invalid payload length");
    expect_error_str("MESSAGE 1,5\n", "invalid payload length");
    expect_error_str("MESSAGE 12\x01\n", "invalid payload length");
    expect_error_str("MESSAGE 12\r\r\n", "invalid payload length");
}

static void
test_length_limit(void **state)
{
    const char *why = NULL;
    size_t size = 0;

    assert_int_equal(measure_n("T 100\n", 6, 100, &size, &why), PARSE_OK);
    assert_int_equal(size, 106);
    expect_error("T 101\n", 6, 100, "payload too large");
    expect_error("T 1 a\n", 6, 0, "payload too large");
    assert_int_equal(measure_n("T 0\n", 4, 0, &size, &why), PARSE_OK);
    assert_int_equal(size, 4);
    /* Leading zeros do not count against the limit. */
    {
        const char *z = "T 000000000000000000000000000100\n";
        assert_int_equal(measure_n(z, strlen(z), 100, &size, &why), PARSE_OK);
        assert_int_equal(size, strlen(z) + 100);
    }

    /* Digit strings far beyond SIZE_MAX must fail cleanly instead of wrapping around. */
    expect_error_str("T 65537\n", "payload too large");
    expect_error_str("T 18446744073709551616\n", "payload too large");
    expect_error_str("T 18446744073709551615\n", "payload too large");
    expect_error_str("T 36893488147419103232\n", "payload too large");
    expect_error_str("T 99999999999999999999999999999999999999999999999999999999999\n",
                     "payload too large");
    {
        char *digits = repeat('9', 1000);
        char *in = malloc(1010);
        assert_non_null(in);
        memcpy(in, "T ", 2);
        memcpy(in + 2, digits, 1000);
        in[1002] = '\n';
        expect_error(in, 1003, MAXP, "payload too large");
        expect_error(in, 1003, SIZE_MAX / 100, "payload too large");
        free(in);
        free(digits);
    }
}

/*
 * frame_measure() documents max_payload only as "largest LEN accepted", so a caller may pass
 * SIZE_MAX to mean "no limit". A LEN above SIZE_MAX must still be rejected, never wrap around.
 */
static void
test_length_overflow_huge_limit(void **state)
{
    const char *why = NULL;
    size_t size = 12345;
    /* 2^64: wraps to 0 in a 64-bit size_t if the accumulator is not checked before overflow. */
    const char *wrap = "T 18446744073709551616\n";

    /* SIZE_MAX itself is a LEN within the limit, but header + LEN does not fit in a size_t. */
    const char *max = "T 18446744073709551615\n";
    enum parse_result r;

    assert_int_equal(measure_n(wrap, strlen(wrap), SIZE_MAX, &size, &why), PARSE_ERR);
    assert_int_equal(parse_n(wrap, strlen(wrap), SIZE_MAX, &why), PARSE_ERR);
    r = measure_n(max, strlen(max), SIZE_MAX, &size, &why);
    if (r == PARSE_OK && size < strlen(max)) {
        fail_msg("frame_measure() says a frame with a %zu-byte header is %zu bytes long",
                 strlen(max), size);
    }
}

static void
test_control_chars_in_args(void **state)
{
    expect_error_str("T 0 a\x01\n", "control character in arguments");
    expect_error_str("T 0 a\x01b\n", "control character in arguments");
    expect_error_str("T 0 \x1b[31m\n", "control character in arguments");
    expect_error_str("T 0 a\x7f\n", "control character in arguments");
    expect_error_str("T 0 a\rb\n", "control character in arguments");
    expect_error_str("T 0 a\r\r\n", "control character in arguments");
    expect_error_str("T 0 ok \x0b\n", "control character in arguments");
    expect_error("T 0 a\0b\n", 8, MAXP, "control character in arguments");
    expect_error("T 0 \0\n", 6, MAXP, "control character in arguments");
}

static void
test_arg_valid(void **state)
{
    assert_true(frame_arg_valid("alice", 5));
    assert_true(frame_arg_valid("h\xc3\xa9", 3));
    assert_true(frame_arg_valid("~", 1));
    assert_false(frame_arg_valid("", 0));
    assert_false(frame_arg_valid("a b", 3));
    assert_false(frame_arg_valid("a\tb", 3));
    assert_false(frame_arg_valid("a\n", 2));
    assert_false(frame_arg_valid("a\x7f", 2));
    assert_false(frame_arg_valid("a\0", 2));
    /* Only @n bytes are looked at. */
    assert_true(frame_arg_valid("ab cd", 2));
}

static void
test_header_encode(void **state)
{
    char buf[FRAME_HEADER_MAX + 64];
    const char *args[] = {"sender"};
    int n;

    n = frame_header(buf, sizeof(buf), "MESSAGE", args, 1, 12);
    assert_int_equal(n, 18);
    assert_memory_equal(buf, "MESSAGE 12 sender\n", 18);

    n = frame_header(buf, sizeof(buf), "PING", NULL, 0, 0);
    assert_int_equal(n, 7);
    assert_memory_equal(buf, "PING 0\n", 7);

    n = frame_header(buf, sizeof(buf), "X", NULL, 0, 1234567890);
    assert_int_equal(n, 13);
    assert_memory_equal(buf, "X 1234567890\n", 13);

    n = frame_header(buf, sizeof(buf), "X", NULL, 0, SIZE_MAX);
    snprintf(buf + 64, 64, "X %zu\n", (size_t)SIZE_MAX);
    assert_int_equal(n, (int)strlen(buf + 64));
    assert_memory_equal(buf, buf + 64, (size_t)n);
}

static void
test_header_encode_invalid(void **state)
{
    char buf[FRAME_HEADER_MAX * 2];
    char *t32 = repeat('T', FRAME_TYPE_MAX);
    char *t33 = repeat('T', FRAME_TYPE_MAX + 1);
    const char *bad_space[] = {"ok", "a b"};
    const char *bad_empty[] = {""};
    const char *bad_nl[] = {"a\n"};
    const char *bad_ctl[] = {"a\x01"};
    const char *many[FRAME_ARGS_MAX + 1];
    char *long_arg = repeat('a', FRAME_HEADER_MAX);
    const char *too_long[] = {long_arg};

    for (size_t i = 0; i <= FRAME_ARGS_MAX; i++) {
        many[i] = "a";
    }
    assert_int_equal(frame_header(buf, sizeof(buf), "", NULL, 0, 0), -1);
    assert_true(frame_header(buf, sizeof(buf), t32, NULL, 0, 0) > 0);
    assert_int_equal(frame_header(buf, sizeof(buf), t33, NULL, 0, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "A B", NULL, 0, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "A-B", NULL, 0, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "A\n", NULL, 0, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "T", bad_space, 2, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "T", bad_empty, 1, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "T", bad_nl, 1, 0), -1);
    assert_int_equal(frame_header(buf, sizeof(buf), "T", bad_ctl, 1, 0), -1);
    assert_true(frame_header(buf, sizeof(buf), "T", many, FRAME_ARGS_MAX, 0) > 0);
    assert_int_equal(frame_header(buf, sizeof(buf), "T", many, FRAME_ARGS_MAX + 1, 0), -1);
    /* "T 0 " + 1024 bytes + "\n" does not fit the protocol limit, however big the buffer. */
    assert_int_equal(frame_header(buf, sizeof(buf), "T", too_long, 1, 0), -1);
    free(t32);
    free(t33);
    free(long_arg);
}

static void
test_header_encode_capacity(void **state)
{
    const char *args[] = {"sender"};
    char *buf;

    /* "MESSAGE 12 sender\n" is 18 bytes: every smaller capacity fails, without overflowing. */
    for (size_t cap = 0; cap < 18; cap++) {
        buf = malloc(cap ? cap : 1);
        assert_non_null(buf);
        assert_int_equal(frame_header(buf, cap, "MESSAGE", args, 1, 12), -1);
        free(buf);
    }
    buf = malloc(18);
    assert_non_null(buf);
    assert_int_equal(frame_header(buf, 18, "MESSAGE", args, 1, 12), 18);
    assert_memory_equal(buf, "MESSAGE 12 sender\n", 18);
    free(buf);
}

/* Encode a header, append a payload, parse it back: the same type, args and payload. */
static void
round_trip(const char *type, const char *const *args, size_t nargs, const char *payload,
           size_t plen)
{
    char buf[FRAME_HEADER_MAX + 256];
    int hn = frame_header(buf, sizeof(buf), type, args, nargs, plen);
    struct frame f;
    const char *why = NULL;
    size_t size = 0;
    char *p;

    assert_true(hn > 0);
    assert_true((size_t)hn + plen <= sizeof(buf));
    memcpy(buf + hn, payload, plen);
    p = exact(buf, (size_t)hn + plen);
    assert_int_equal(frame_measure(p, (size_t)hn + plen, MAXP, &size, &why), PARSE_OK);
    assert_int_equal(size, (size_t)hn + plen);
    assert_int_equal(frame_parse(p, (size_t)hn + plen, MAXP, &f, &why), PARSE_OK);
    assert_int_equal(f.size, (size_t)hn + plen);
    assert_slice(f.type, type);
    assert_int_equal(f.nargs, nargs);
    for (size_t i = 0; i < nargs; i++) {
        assert_slice(f.args[i], args[i]);
    }
    assert_int_equal(f.payload.n, plen);
    if (plen > 0) {
        assert_memory_equal(f.payload.p, payload, plen);
    }
    free(p);
}

static void
test_header_round_trip(void **state)
{
    const char *one[] = {"sender"};
    const char *utf8[] = {"h\xc3\xa9llo", "[x]", "a=b;c"};
    const char *many[FRAME_ARGS_MAX];
    char names[FRAME_ARGS_MAX][8];
    char *t32 = repeat('Z', FRAME_TYPE_MAX);

    for (int i = 0; i < FRAME_ARGS_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "arg%d", i);
        many[i] = names[i];
    }
    round_trip("MESSAGE", one, 1, "Hello world!", 12);
    round_trip("PING", NULL, 0, "", 0);
    round_trip("Mixed_Case_9", utf8, 3, "line1\nline2\r\n\0", 14);
    round_trip(t32, many, FRAME_ARGS_MAX, "x", 1);
    free(t32);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_message),
        cmocka_unit_test(test_seed_pipelined_login),
        cmocka_unit_test(test_args_and_payload),
        cmocka_unit_test(test_trailing_and_repeated_blanks),
        cmocka_unit_test(test_binary_payload),
        cmocka_unit_test(test_measure_before_payload),
        cmocka_unit_test(test_pipelined_many),
        cmocka_unit_test(test_bytewise),
        cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_leading_blank_lines),
        cmocka_unit_test(test_blank_lines_count_towards_header_limit),
        cmocka_unit_test(test_header_too_long_without_newline),
        cmocka_unit_test(test_header_too_long_with_newline),
        cmocka_unit_test(test_too_many_args),
        cmocka_unit_test(test_type_length),
        cmocka_unit_test(test_bad_type),
        cmocka_unit_test(test_missing_length),
        cmocka_unit_test(test_bad_length),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_length_overflow_huge_limit),
        cmocka_unit_test(test_control_chars_in_args),
        cmocka_unit_test(test_arg_valid),
        cmocka_unit_test(test_header_encode),
        cmocka_unit_test(test_header_encode_invalid),
        cmocka_unit_test(test_header_encode_capacity),
        cmocka_unit_test(test_header_round_trip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
