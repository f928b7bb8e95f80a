/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of what the chat client decodes from the network: QUERY results (proto/eurechat),
 * the escaping that keeps peer text from controlling a terminal (cli/text), and the password rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/text.h"
#include "proto/eurechat.h"

static int
next(const char *payload, size_t *pos, struct eure_binding *b)
{
    return eure_result_next(payload, strlen(payload), pos, b);
}

static void
test_result_lines(void **state)
{
    const char *p = "alice,127.0.0.1,5555\nbob,::1,65535\ncarol[x],2001:db8::1,1";
    struct eure_binding b;
    size_t pos = 0;

    assert_int_equal(next(p, &pos, &b), 1);
    assert_string_equal(b.user, "alice");
    assert_string_equal(b.addr, "127.0.0.1");
    assert_int_equal(b.port, 5555);
    assert_int_equal(next(p, &pos, &b), 1);
    assert_string_equal(b.user, "bob");
    assert_string_equal(b.addr, "::1");
    assert_int_equal(b.port, 65535);
    assert_int_equal(next(p, &pos, &b), 1);
    assert_string_equal(b.user, "carol[x]");
    assert_int_equal(b.port, 1);
    assert_int_equal(next(p, &pos, &b), 0);
}

static void
test_result_empty(void **state)
{
    struct eure_binding b;
    size_t pos = 0;

    assert_int_equal(eure_result_next("", 0, &pos, &b), 0);
}

static void
test_result_malformed(void **state)
{
    static const char *const bad[] = {
        "alice",
        "alice,127.0.0.1",
        ",127.0.0.1,5",
        "alice,,5",
        "alice,127.0.0.1,",
        "alice,127.0.0.1,0",
        "alice,127.0.0.1,65536",
        "alice,127.0.0.1,123456",
        "alice,127.0.0.1,5x",
        "alice,127.0.0.1,-5",
        "alice,localhost,5",
        "alice,127.0.0.1,5,extra",
        "al ice,127.0.0.1,5",
        "al\033ice,127.0.0.1,5",
        "\n",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx,127.0.0.1,5",
        "ev\xc2\2332Jil,127.0.0.1,5", /* a C1 control (CSI, octal 233) in a name */
        "caf\xc3\xa9,127.0.0.1,5",    /* names are ASCII */
    };
    struct eure_binding b;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t pos = 0;
        if (next(bad[i], &pos, &b) != -1) {
            fail_msg("accepted: %s", bad[i]);
        }
    }
    /* NUL bytes inside a field (found by fuzz_peer). */
    size_t pos = 0;
    assert_int_equal(eure_result_next("a\0b,127.0.0.1,5", 16, &pos, &b), -1);
    pos = 0;
    assert_int_equal(eure_result_next("ab,127.0.0.1\0x,5", 17, &pos, &b), -1);
}

static void
expect_escape(const char *in, size_t n, bool multiline, const char *want)
{
    char *got = text_escape(in, n, multiline);
    assert_string_equal(got, want);
    free(got);
}

static void
test_escape(void **state)
{
    expect_escape("hello", 5, false, "hello");
    expect_escape("a\tb\nc\\d\re", 9, false, "a\\tb\\nc\\\\d\\re");
    expect_escape("a\tb\nc\\d", 7, true, "a\tb\nc\\d");
    expect_escape("\033[2J", 4, false, "\\x1B[2J");
    expect_escape("\033[2J", 4, true, "\\x1B[2J");
    expect_escape("x\0y", 3, false, "x\\x00y");
    expect_escape("\x7f", 1, false, "\\x7F");
    expect_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, false,
                  "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    /* C1 control U+009B (CSI), invalid bytes, overlong, surrogate, truncated sequence. */
    expect_escape("\xc2\x9b", 2, false, "\\xC2\\x9B");
    expect_escape("\xff\xfe", 2, false, "\\xFF\\xFE");
    expect_escape("\xc0\xaf", 2, false, "\\xC0\\xAF");
    expect_escape("\xed\xa0\x80", 3, false, "\\xED\\xA0\\x80");
    expect_escape("\xe2\x82", 2, false, "\\xE2\\x82");
    expect_escape("\xf4\x90\x80\x80", 4, false, "\\xF4\\x90\\x80\\x80");
    expect_escape("", 0, false, "");
}

static void
test_utf8_len(void **state)
{
    assert_int_equal(utf8_seq_len((const unsigned char *)"a", 1), 1);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xc3\xa9", 2), 2);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\xa0\x80", 3), 3);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x80\x80", 3), 0);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\xf4\x8f\xbf\xbf", 4), 4);
    assert_int_equal(utf8_seq_len((const unsigned char *)"\x80", 1), 0);
}

static void
test_name_rule(void **state)
{
    assert_true(eure_name_valid("alice", 5));
    assert_true(eure_name_valid("[x]`^{}|\\_.-", 12));
    assert_false(eure_name_valid("", 0));
    assert_false(eure_name_valid("a b", 3));
    assert_false(eure_name_valid("a,b", 3));
    assert_false(eure_name_valid("a\x7f", 2));
    assert_false(eure_name_valid("\xc3\xa9", 2));
    assert_false(eure_name_valid("a\0", 2));
    assert_true(
        eure_name_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 64));
    assert_false(
        eure_name_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 65));
}

static void
test_password_rule(void **state)
{
    char longpw[PASSWORD_MAX + 2];

    assert_null(eure_password_problem("s3cret!"));
    assert_non_null(eure_password_problem(""));
    assert_non_null(eure_password_problem("two words"));
    assert_non_null(eure_password_problem("tab\there"));
    memset(longpw, 'x', sizeof(longpw) - 1);
    longpw[sizeof(longpw) - 1] = '\0';
    assert_non_null(eure_password_problem(longpw));
    longpw[PASSWORD_MAX] = '\0';
    assert_null(eure_password_problem(longpw));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_result_lines),     cmocka_unit_test(test_result_empty),
        cmocka_unit_test(test_result_malformed), cmocka_unit_test(test_escape),
        cmocka_unit_test(test_utf8_len),         cmocka_unit_test(test_password_rule),
        cmocka_unit_test(test_name_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
