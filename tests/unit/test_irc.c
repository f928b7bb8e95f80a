/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the IRC codec (src/proto/irc.c): the line parser (many cases from the IRCv3
 * "irc-parser-tests" msg-split data), the length limits at their exact boundaries, tags and
 * their escaping, the rfc1459 casemapping, name rules, ban masks and mode strings. Lines are
 * parsed in heap buffers of exactly n + 1 bytes so that a sanitizer build catches any access
 * past the room the API promises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "proto/irc.h"
#include "tests/unit/unit.h"

/* ----------------------------------------------------------------------------------------- */
/* Parser helpers */

struct parsed {
    char *buf;
    size_t n;
    struct irc_msg m;
    enum parse_result r;
    const char *why;
};

static void
parse_n(struct parsed *p, const char *s, size_t n)
{
    p->buf = malloc(n + 1);
    assert_non_null(p->buf);
    if (n > 0) {
        memcpy(p->buf, s, n);
    }
    p->n = n;
    p->why = NULL;
    p->r = irc_parse(p->buf, n, &p->m, &p->why);
    if (p->r == PARSE_ERR) {
        assert_non_null(p->why);
    }
}

static void
parse(struct parsed *p, const char *s)
{
    parse_n(p, s, strlen(s));
}

/* Every pointer of a parsed message lies inside the buffer. */
static void
assert_inside(const struct parsed *p)
{
    const char *ptrs[3 + IRC_PARAMS_MAX] = {p->m.tags, p->m.source, p->m.command};
    for (size_t i = 0; i < p->m.nparams; i++) {
        ptrs[3 + i] = p->m.params[i];
    }
    for (size_t i = 0; i < 3 + p->m.nparams; i++) {
        if (ptrs[i] != NULL) {
            assert_true(ptrs[i] >= p->buf && ptrs[i] <= p->buf + p->n);
        }
    }
}

/* Parse @line and expect OK with @source (or NULL), @command and @np params. */
static void
expect_msg(const char *line, const char *source, const char *command, size_t np, ...)
{
    struct parsed p;
    va_list ap;

    parse(&p, line);
    if (p.r != PARSE_OK) {
        print_error("line \"%s\": %s\n", line, p.why);
    }
    assert_int_equal(p.r, PARSE_OK);
    assert_inside(&p);
    if (source == NULL) {
        assert_null(p.m.source);
    } else {
        assert_non_null(p.m.source);
        assert_string_equal(p.m.source, source);
    }
    assert_string_equal(p.m.command, command);
    assert_int_equal(p.m.nparams, np);
    va_start(ap, np);
    for (size_t i = 0; i < np; i++) {
        assert_string_equal(p.m.params[i], va_arg(ap, const char *));
    }
    va_end(ap);
    for (size_t i = np; i < IRC_PARAMS_MAX; i++) {
        assert_null(p.m.params[i]);
    }
    free(p.buf);
}

static void
expect_result(const char *line, enum parse_result want)
{
    struct parsed p;

    parse(&p, line);
    assert_int_equal(p.r, want);
    free(p.buf);
}

/* ----------------------------------------------------------------------------------------- */
/* irc_parse */

static void
test_parse_basic(void **state)
{
    (void)state;
    /* irc-parser-tests msg-split.yaml */
    expect_msg("foo bar baz asdf", NULL, "foo", 3, "bar", "baz", "asdf");
    expect_msg(":coolguy foo bar baz asdf", "coolguy", "foo", 3, "bar", "baz", "asdf");
    expect_msg("foo bar baz :asdf quux", NULL, "foo", 3, "bar", "baz", "asdf quux");
    expect_msg("foo bar baz :", NULL, "foo", 3, "bar", "baz", "");
    expect_msg("foo bar baz ::asdf", NULL, "foo", 3, "bar", "baz", ":asdf");
    expect_msg(":coolguy foo bar baz :asdf quux", "coolguy", "foo", 3, "bar", "baz", "asdf quux");
    expect_msg(":coolguy foo bar baz :  asdf quux ", "coolguy", "foo", 3, "bar", "baz",
               "  asdf quux ");
    expect_msg(":coolguy PRIVMSG bar :lol :) ", "coolguy", "PRIVMSG", 2, "bar", "lol :) ");
    expect_msg(":coolguy foo bar baz :", "coolguy", "foo", 3, "bar", "baz", "");
    expect_msg(":coolguy foo bar baz :  ", "coolguy", "foo", 3, "bar", "baz", "  ");
    expect_msg(":src JOIN #chan", "src", "JOIN", 1, "#chan");
    expect_msg(":src JOIN :#chan", "src", "JOIN", 1, "#chan");
    expect_msg(":src AWAY", "src", "AWAY", 0);
    expect_msg(":src AWAY ", "src", "AWAY", 0);
    expect_msg(":cool\tguy foo bar baz", "cool\tguy", "foo", 2, "bar", "baz");
    expect_msg(":coolguy!ag@net\x03"
               "5w\x03ork.admin PRIVMSG foo :bar baz",
               "coolguy!ag@net\x03"
               "5w\x03ork.admin",
               "PRIVMSG", 2, "foo", "bar baz");
    expect_msg(":irc.host NOTICE * :*** Looking up your hostname...", "irc.host", "NOTICE", 2, "*",
               "*** Looking up your hostname...");
    expect_msg(":gravel.mozilla.org 432  #momo :Erroneous Nickname: Illegal characters",
               "gravel.mozilla.org", "432", 2, "#momo", "Erroneous Nickname: Illegal characters");
    expect_msg(":gravel.mozilla.org MODE #tckk +n ", "gravel.mozilla.org", "MODE", 2, "#tckk",
               "+n");
    expect_msg(":services.esper.net MODE #foo-bar +o foobar  ", "services.esper.net", "MODE", 3,
               "#foo-bar", "+o", "foobar");
    expect_msg(":SomeOp MODE #channel :+i", "SomeOp", "MODE", 2, "#channel", "+i");
    expect_msg(":SomeOp MODE #channel +oo SomeUser :AnotherUser", "SomeOp", "MODE", 4, "#channel",
               "+oo", "SomeUser", "AnotherUser");
    /* A colon inside a middle parameter is just a byte. */
    expect_msg("PRIVMSG a:b c:d :e:f", NULL, "PRIVMSG", 3, "a:b", "c:d", "e:f");
    expect_msg("NICK", NULL, "NICK", 0);
}

static void
test_parse_trailing_flag(void **state)
{
    struct parsed p;

    (void)state;
    parse(&p, "PRIVMSG #a :hello world");
    assert_int_equal(p.r, PARSE_OK);
    assert_true(p.m.trailing);
    free(p.buf);

    parse(&p, "PRIVMSG #a hello");
    assert_int_equal(p.r, PARSE_OK);
    assert_false(p.m.trailing);
    free(p.buf);

    parse(&p, "TOPIC #a :");
    assert_int_equal(p.r, PARSE_OK);
    assert_true(p.m.trailing);
    assert_int_equal(p.m.nparams, 2);
    assert_string_equal(p.m.params[1], "");
    free(p.buf);

    parse(&p, "TOPIC #a");
    assert_int_equal(p.r, PARSE_OK);
    assert_false(p.m.trailing);
    assert_int_equal(p.m.nparams, 1);
    free(p.buf);
}

static void
test_parse_spaces(void **state)
{
    (void)state;
    expect_msg("   PING x", NULL, "PING", 1, "x");
    expect_msg("PING    x     y   ", NULL, "PING", 2, "x", "y");
    expect_msg(":src    PING    :a  b", "src", "PING", 1, "a  b");
    expect_msg("  :src PING x", "src", "PING", 1, "x");
    expect_result("", PARSE_AGAIN);
    expect_result(" ", PARSE_AGAIN);
    expect_result("      ", PARSE_AGAIN);
    expect_result("\r", PARSE_AGAIN);
    expect_result("   \r", PARSE_AGAIN);
    /* A tab is not a separator. */
    expect_result("PING\tx", PARSE_ERR);
}

static void
test_parse_tags(void **state)
{
    struct parsed p;

    (void)state;
    parse(&p, "@a=b;c=32;k;rt=ql7 foo");
    assert_int_equal(p.r, PARSE_OK);
    assert_string_equal(p.m.tags, "a=b;c=32;k;rt=ql7");
    assert_null(p.m.source);
    assert_string_equal(p.m.command, "foo");
    assert_int_equal(p.m.nparams, 0);
    assert_int_equal(p.m.taglen, strlen("@a=b;c=32;k;rt=ql7 "));
    assert_int_equal(p.m.bodylen, 3);
    free(p.buf);

    parse(&p, "@c;h=;a=b :quux ab cd");
    assert_int_equal(p.r, PARSE_OK);
    assert_string_equal(p.m.tags, "c;h=;a=b");
    assert_string_equal(p.m.source, "quux");
    assert_string_equal(p.m.command, "ab");
    assert_int_equal(p.m.nparams, 1);
    assert_string_equal(p.m.params[0], "cd");
    assert_int_equal(p.m.taglen, 10);
    assert_int_equal(p.m.bodylen, strlen(":quux ab cd"));
    free(p.buf);

    /* Repeated spaces after the tags count in the body; a CR counts nowhere. */
    parse(&p, "@a   PING x\r");
    assert_int_equal(p.r, PARSE_OK);
    assert_string_equal(p.m.tags, "a");
    assert_int_equal(p.m.taglen, 3);
    assert_int_equal(p.m.bodylen, strlen("  PING x"));
    assert_string_equal(p.m.params[0], "x");
    free(p.buf);

    /* An empty tags section. */
    parse(&p, "@ PING");
    assert_int_equal(p.r, PARSE_OK);
    assert_non_null(p.m.tags);
    assert_string_equal(p.m.tags, "");
    assert_int_equal(p.m.taglen, 2);
    free(p.buf);

    /* No tags: NULL and 0. */
    parse(&p, "PING x");
    assert_int_equal(p.r, PARSE_OK);
    assert_null(p.m.tags);
    assert_int_equal(p.m.taglen, 0);
    assert_int_equal(p.m.bodylen, 6);
    free(p.buf);

    /* Tags and nothing else. */
    expect_result("@a=b", PARSE_ERR);
    expect_result("@a=b ", PARSE_ERR);
    expect_result("@a=b    \r", PARSE_ERR);
    expect_result("@", PARSE_ERR);
    /* '@' only starts tags at the very beginning. */
    expect_result(" @a=b PING", PARSE_ERR);
}

static void
test_parse_fifteen(void **state)
{
    struct parsed p;

    (void)state;
    /* Exactly 15, the last one a middle. */
    expect_msg("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", NULL, "CMD", 15, "1", "2", "3", "4", "5",
               "6", "7", "8", "9", "10", "11", "12", "13", "14", "15");
    /* Exactly 15, the last one a trailing. */
    expect_msg("CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 x", NULL, "CMD", 15, "1", "2", "3", "4",
               "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 x");
    /* More than 15: the 15th takes the rest of the line, spaces and all. */
    parse(&p, "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16  17 ");
    assert_int_equal(p.r, PARSE_OK);
    assert_int_equal(p.m.nparams, 15);
    assert_string_equal(p.m.params[13], "14");
    assert_string_equal(p.m.params[14], "15 16  17 ");
    assert_false(p.m.trailing);
    free(p.buf);
    /* ... and loses a leading ':' if it has one. */
    parse(&p, "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 :15 16");
    assert_int_equal(p.m.nparams, 15);
    assert_string_equal(p.m.params[14], "15 16");
    assert_true(p.m.trailing);
    free(p.buf);
    /* Repeated spaces before the 15th are still skipped. */
    parse(&p, "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14     15 :16");
    assert_int_equal(p.m.nparams, 15);
    assert_string_equal(p.m.params[14], "15 :16");
    free(p.buf);
    /* 14 and a trailing colon within the middles. */
    parse(&p, "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 :14 15 16");
    assert_int_equal(p.m.nparams, 14);
    assert_string_equal(p.m.params[13], "14 15 16");
    free(p.buf);
}

static void
test_parse_cr_nul(void **state)
{
    struct parsed p;

    (void)state;
    expect_msg("PING x\r", NULL, "PING", 1, "x");
    expect_msg("PING :x y\r", NULL, "PING", 1, "x y");
    expect_msg("PING\r", NULL, "PING", 0);
    /* Only one CR is tolerated; anything else of CR or LF is an error. */
    expect_result("PING x\r\r", PARSE_ERR);
    expect_result("PING x\ry", PARSE_ERR);
    expect_result("PING :a\nb", PARSE_ERR);
    expect_result("PING x\n", PARSE_ERR);
    /* NUL bytes anywhere. */
    parse_n(&p, "PING x\0y", 8);
    assert_int_equal(p.r, PARSE_ERR);
    assert_non_null(strstr(p.why, "NUL"));
    free(p.buf);
    parse_n(&p, "\0PING", 5);
    assert_int_equal(p.r, PARSE_ERR);
    free(p.buf);
    parse_n(&p, "PING\0", 5);
    assert_int_equal(p.r, PARSE_ERR);
    free(p.buf);
    parse_n(&p, "PING x\r\0", 8);
    assert_int_equal(p.r, PARSE_ERR);
    free(p.buf);
    parse_n(&p, "@a=\0 PING", 9);
    assert_int_equal(p.r, PARSE_ERR);
    free(p.buf);
}

static void
test_parse_commands(void **state)
{
    char cmd[IRC_COMMAND_MAX + 2];

    (void)state;
    expect_msg("001 nick :Welcome", NULL, "001", 2, "nick", "Welcome");
    expect_msg("999", NULL, "999", 0);
    expect_msg("privmsg a b", NULL, "privmsg", 2, "a", "b");
    expect_msg("Ping", NULL, "Ping", 0);
    expect_result("1234", PARSE_OK);
    expect_result("12", PARSE_OK);
    expect_result("1", PARSE_OK);
    expect_result("0a1", PARSE_OK);
    expect_result("PRIV1", PARSE_OK);
    expect_result("PRIV-MSG x", PARSE_OK);
    expect_result("PRIV_MSG", PARSE_OK);
    expect_result("PRIVMSG:x", PARSE_ERR);
    expect_result("\xC3\xA9T\xC3\xA9", PARSE_ERR);
    expect_result(":src", PARSE_ERR);
    expect_result(":src   ", PARSE_ERR);
    expect_result(": PING", PARSE_ERR);
    expect_result(":", PARSE_ERR);
    expect_result(":x :y", PARSE_ERR);
    expect_result("@a :src", PARSE_ERR);
    /* IRC_COMMAND_MAX letters pass, one more does not. */
    memset(cmd, 'A', IRC_COMMAND_MAX);
    cmd[IRC_COMMAND_MAX] = '\0';
    expect_msg(cmd, NULL, cmd, 0);
    cmd[IRC_COMMAND_MAX] = 'A';
    cmd[IRC_COMMAND_MAX + 1] = '\0';
    expect_result(cmd, PARSE_ERR);
}

/* ----------------------------------------------------------------------------------------- */
/* irc_check_lengths */

static enum irc_len_check
check_len(const char *s, size_t n)
{
    char *p = exact(s, n);
    enum irc_len_check r = irc_check_lengths(p, n);

    free(p);
    return r;
}

/* "PRIVMSG #c :xxx..." of exactly @n bytes, after a tag section of @t bytes (0: none). */
static char *
make_line(size_t t, size_t n, size_t *len)
{
    char *p = malloc(t + n + 2);
    assert_non_null(p);
    if (t > 0) {
        assert_true(t >= 2);
        p[0] = '@';
        memset(p + 1, 'a', t - 2);
        p[t - 1] = ' ';
    }
    const char *head = "PRIVMSG #c :";
    assert_true(n >= strlen(head));
    memcpy(p + t, head, strlen(head));
    memset(p + t + strlen(head), 'x', n - strlen(head));
    *len = t + n;
    p[*len] = '\0';
    return p;
}

static void
test_lengths(void **state)
{
    size_t n;
    char *p;

    (void)state;
    assert_int_equal(check_len("", 0), IRC_LEN_OK);
    assert_int_equal(check_len("PING", 4), IRC_LEN_OK);

    p = make_line(0, 510, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_OK);
    free(p);
    p = make_line(0, 511, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_BODY);
    free(p);
    /* A trailing CR is not part of the body. */
    p = make_line(0, 510, &n);
    p[n] = '\r';
    assert_int_equal(check_len(p, n + 1), IRC_LEN_OK);
    free(p);

    /* Tags: up to IRC_CLIENT_TAGS_MAX + 2 bytes with '@' and the space. */
    p = make_line(IRC_CLIENT_TAGS_MAX + 2, 510, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_OK);
    free(p);
    p = make_line(IRC_CLIENT_TAGS_MAX + 3, 20, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_TAGS);
    free(p);
    p = make_line(IRC_CLIENT_TAGS_MAX + 2, 511, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_BODY);
    free(p);
    p = make_line(2, 511, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_BODY);
    free(p);
    /* Tags never count against the body. */
    p = make_line(3000, 510, &n);
    assert_int_equal(check_len(p, n), IRC_LEN_OK);
    free(p);

    /* A line that is all tags, no space: the whole line is the tags section. */
    p = malloc(IRC_CLIENT_TAGS_MAX + 3);
    assert_non_null(p);
    p[0] = '@';
    memset(p + 1, 'a', IRC_CLIENT_TAGS_MAX + 2);
    assert_int_equal(check_len(p, IRC_CLIENT_TAGS_MAX + 2), IRC_LEN_OK);
    assert_int_equal(check_len(p, IRC_CLIENT_TAGS_MAX + 3), IRC_LEN_TAGS);
    free(p);

    /* Without '@' first, a long run of anything is body. */
    p = malloc(600);
    assert_non_null(p);
    memset(p, 'a', 600);
    assert_int_equal(check_len(p, 510), IRC_LEN_OK);
    assert_int_equal(check_len(p, 511), IRC_LEN_BODY);
    free(p);
}

/* The parser's taglen and bodylen measure what irc_check_lengths() limits. */
static void
test_lengths_agree(void **state)
{
    size_t n;
    struct parsed p;

    (void)state;
    char *line = make_line(100, 510, &n);
    parse_n(&p, line, n);
    assert_int_equal(p.r, PARSE_OK);
    assert_int_equal(p.m.taglen, 100);
    assert_int_equal(p.m.bodylen, 510);
    assert_int_equal(strlen(p.m.params[1]), 510 - strlen("PRIVMSG #c :"));
    free(p.buf);
    free(line);
}

/* ----------------------------------------------------------------------------------------- */
/* Tags */

struct tagv {
    const char *key;
    const char *value; /* unescaped; NULL: no '=' */
};

static void
expect_tags(const char *line, size_t nt, const struct tagv *want)
{
    struct parsed p;
    struct irc_tag t;
    size_t pos = 0, i = 0;
    char v[256];

    parse(&p, line);
    assert_int_equal(p.r, PARSE_OK);
    assert_non_null(p.m.tags);
    while (irc_tag_next(p.m.tags, &pos, &t)) {
        assert_true(i < nt);
        assert_slice(t.key, want[i].key);
        if (want[i].value == NULL) {
            assert_null(t.value.p);
            assert_int_equal(t.value.n, 0);
        } else {
            assert_non_null(t.value.p);
            size_t len = irc_tag_unescape(t.value, v, sizeof(v));
            assert_int_equal(len, strlen(want[i].value));
            assert_string_equal(v, want[i].value);
        }
        i++;
    }
    assert_int_equal(i, nt);
    /* The end stays the end. */
    assert_false(irc_tag_next(p.m.tags, &pos, &t));
    free(p.buf);
}

static void
test_tag_iteration(void **state)
{
    (void)state;
    expect_tags("@a=b;c=32;k;rt=ql7 foo", 4,
                (const struct tagv[]){{"a", "b"}, {"c", "32"}, {"k", NULL}, {"rt", "ql7"}});
    expect_tags("@a=b\\\\and\\nk;c=72\\s45;d=gh\\:764 foo", 3,
                (const struct tagv[]){{"a", "b\\and\nk"}, {"c", "72 45"}, {"d", "gh;764"}});
    expect_tags("@c;h=;a=b :quux ab cd", 3,
                (const struct tagv[]){{"c", NULL}, {"h", ""}, {"a", "b"}});
    expect_tags("@tag1=value\\\\ntest COMMAND", 1, (const struct tagv[]){{"tag1", "value\\ntest"}});
    expect_tags("@tag1=value\\1 COMMAND", 1, (const struct tagv[]){{"tag1", "value1"}});
    expect_tags("@tag1=value1\\ COMMAND", 1, (const struct tagv[]){{"tag1", "value1"}});
    expect_tags(
        "@tag1=1;tag2=3;tag3=4;tag1=5;vendor/tag2=8 COMMAND", 5,
        (const struct tagv[]){
            {"tag1", "1"}, {"tag2", "3"}, {"tag3", "4"}, {"tag1", "5"}, {"vendor/tag2", "8"}});
    expect_tags("@+example.com/foo=bar;+draft/reply=123 TAGMSG", 2,
                (const struct tagv[]){{"+example.com/foo", "bar"}, {"+draft/reply", "123"}});
    /* Empty tags are skipped, an empty key with a value is not. */
    expect_tags("@;;a;;;b=1;; PING", 2, (const struct tagv[]){{"a", NULL}, {"b", "1"}});
    expect_tags("@=x;a PING", 2, (const struct tagv[]){{"", "x"}, {"a", NULL}});
    expect_tags("@;;; PING", 0, NULL);
    expect_tags("@ PING", 0, NULL);
    /* '=' inside a value is a byte of the value. */
    expect_tags("@a=b=c PING", 1, (const struct tagv[]){{"a", "b=c"}});
}

static void
test_tag_next_unparsed(void **state)
{
    struct irc_tag t;
    size_t pos = 0;

    (void)state;
    /* A tags section is NUL-terminated by the parser; a space also ends it. */
    assert_true(irc_tag_next("a=1 b=2", &pos, &t));
    assert_slice(t.key, "a");
    assert_slice(t.value, "1");
    assert_false(irc_tag_next("a=1 b=2", &pos, &t));
    pos = 0;
    assert_false(irc_tag_next("", &pos, &t));
}

static bool
key_ok(const char *k)
{
    char *p = exact(k, strlen(k));
    bool ok = irc_tag_key_valid((struct str){p, strlen(k)});

    free(p);
    return ok;
}

static void
test_tag_key_valid(void **state)
{
    (void)state;
    assert_true(key_ok("a"));
    assert_true(key_ok("msgid"));
    assert_true(key_ok("Foo-Bar-09"));
    assert_true(key_ok("+typing"));
    assert_true(key_ok("example.com/foo"));
    assert_true(key_ok("+example.com/foo"));
    assert_true(key_ok("draft/reply"));
    assert_true(key_ok("+draft/reply"));
    assert_true(key_ok("a-b.c-d.example/x-1"));
    assert_true(key_ok("-"));

    assert_false(key_ok(""));
    assert_false(key_ok("+"));
    assert_false(key_ok("++a"));
    assert_false(key_ok("a+"));
    assert_false(key_ok("example.com/"));
    assert_false(key_ok("+example.com/"));
    assert_false(key_ok("/foo"));
    assert_false(key_ok("+/foo"));
    assert_false(key_ok("a/b/c"));
    assert_false(key_ok("a.b"));
    assert_false(key_ok("a_b"));
    assert_false(key_ok("a b"));
    assert_false(key_ok("a=b"));
    assert_false(key_ok("a;b"));
    assert_false(key_ok("ex_ample.com/foo"));
    assert_false(key_ok("\xC3\xA9"));
    assert_false(irc_tag_key_valid((struct str){NULL, 0}));
}

static size_t
unesc(const char *v, char *out, size_t cap)
{
    char *p = exact(v, strlen(v));
    size_t r = irc_tag_unescape((struct str){p, strlen(v)}, out, cap);

    free(p);
    return r;
}

static void
test_tag_unescape(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(unesc("", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(irc_tag_unescape((struct str){NULL, 0}, out, sizeof(out)), 0);
    assert_string_equal(out, "");

    assert_int_equal(unesc("a\\:b\\sc\\\\d\\re\\nf", out, sizeof(out)), 11);
    assert_string_equal(out, "a;b c\\d\re\nf");
    /* IRCv3 message-tags: an unknown escape drops the backslash, a trailing one is dropped. */
    assert_int_equal(unesc("\\b", out, sizeof(out)), 1);
    assert_string_equal(out, "b");
    assert_int_equal(unesc("\\", out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(unesc("abc\\", out, sizeof(out)), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(unesc("\\\\\\", out, sizeof(out)), 1);
    assert_string_equal(out, "\\");
    assert_int_equal(unesc("\\S\\N\\R\\;", out, sizeof(out)), 4);
    assert_string_equal(out, "SNR;");
    assert_int_equal(unesc("\\\\s", out, sizeof(out)), 2);
    assert_string_equal(out, "\\s");

    /* cap counts the NUL. */
    assert_int_equal(unesc("abc", out, 4), 3);
    assert_int_equal(unesc("abc", out, 3), (size_t)-1);
    assert_int_equal(unesc("abc", out, 0), (size_t)-1);
    assert_int_equal(unesc("", out, 1), 0);
    assert_int_equal(unesc("", out, 0), (size_t)-1);
    assert_int_equal(unesc("a\\sb", out, 4), 3);
    assert_int_equal(unesc("a\\sb", out, 3), (size_t)-1);
    assert_int_equal(unesc("ab\\", out, 3), 2);
}

static void
test_tag_escape(void **state)
{
    char out[64], back[64];

    (void)state;
    assert_int_equal(irc_tag_escape("a;b c\\d\re\nf", 11, out, sizeof(out)), 16);
    assert_string_equal(out, "a\\:b\\sc\\\\d\\re\\nf");
    assert_int_equal(irc_tag_escape("", 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    assert_int_equal(irc_tag_escape("plain=ok", 8, out, sizeof(out)), 8);
    assert_string_equal(out, "plain=ok");
    /* cap counts the NUL; an escape is never cut in half. */
    assert_int_equal(irc_tag_escape("ab", 2, out, 3), 2);
    assert_int_equal(irc_tag_escape("ab", 2, out, 2), (size_t)-1);
    assert_int_equal(irc_tag_escape("a;", 2, out, 3), (size_t)-1);
    assert_int_equal(irc_tag_escape("a;", 2, out, 4), 3);
    assert_int_equal(irc_tag_escape("", 0, out, 0), (size_t)-1);

    /* Round trips. */
    const char *vals[] = {
        "", ";", " ", "\\", "\r\n", "a b;c\\d", "\\s\\:", "===", "\xC3\xA9t\xC3\xA9"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        size_t n = strlen(vals[i]);
        size_t e = irc_tag_escape(vals[i], n, out, sizeof(out));
        assert_int_not_equal(e, (size_t)-1);
        assert_null(memchr(out, ' ', e));
        assert_null(memchr(out, ';', e));
        assert_null(memchr(out, '\r', e));
        assert_null(memchr(out, '\n', e));
        size_t u = irc_tag_unescape((struct str){out, e}, back, sizeof(back));
        assert_int_equal(u, n);
        assert_memory_equal(back, vals[i], n);
    }
}

/* ----------------------------------------------------------------------------------------- */
/* Casemapping */

static void
test_casemapping(void **state)
{
    char out[32];

    (void)state;
    assert_int_equal(irc_tolower('A'), 'a');
    assert_int_equal(irc_tolower('Z'), 'z');
    assert_int_equal(irc_tolower('a'), 'a');
    assert_int_equal(irc_tolower('['), '{');
    assert_int_equal(irc_tolower(']'), '}');
    assert_int_equal(irc_tolower('\\'), '|');
    assert_int_equal(irc_tolower('~'), '^');
    assert_int_equal(irc_tolower('{'), '{');
    assert_int_equal(irc_tolower('}'), '}');
    assert_int_equal(irc_tolower('|'), '|');
    assert_int_equal(irc_tolower('^'), '^');
    assert_int_equal(irc_tolower('@'), '@');
    assert_int_equal(irc_tolower('`'), '`');
    assert_int_equal(irc_tolower('_'), '_');
    assert_int_equal(irc_tolower('0'), '0');
    assert_int_equal(irc_tolower('\0'), '\0');
    assert_int_equal(irc_tolower((char)0xC3), (char)0xC3);
    assert_int_equal(irc_tolower((char)0xE9), (char)0xE9);

    irc_fold("Nick[A]\\~Z", 10, out);
    assert_string_equal(out, "nick{a}|^z");
    memset(out, 'X', sizeof(out));
    irc_fold("ABC", 2, out);
    assert_string_equal(out, "ab");
    irc_fold("", 0, out);
    assert_string_equal(out, "");

    assert_int_equal(irc_casecmp("Nick", "nICK"), 0);
    assert_int_equal(irc_casecmp("[foo]", "{FOO}"), 0);
    assert_int_equal(irc_casecmp("a\\b~", "A|B^"), 0);
    assert_int_equal(irc_casecmp("", ""), 0);
    assert_true(irc_casecmp("a", "b") < 0);
    assert_true(irc_casecmp("b", "A") > 0);
    assert_true(irc_casecmp("ab", "a") > 0);
    assert_true(irc_casecmp("a", "ab") < 0);
    assert_int_not_equal(irc_casecmp("nick", "nick_"), 0);
    /* Bytes above 0x7f compare unsigned and are never folded. */
    assert_true(irc_casecmp("\xC3\xA9", "a") > 0);
    assert_int_not_equal(irc_casecmp("\xC3\x89", "\xC3\xA9"), 0);
    /* The comparison agrees with irc_fold + strcmp on its sign. */
    assert_true(irc_casecmp("[", "a") > 0); /* '{' 0x7B > 'a' */
    assert_true(irc_casecmp("Z", "[") < 0);
}

/* ----------------------------------------------------------------------------------------- */
/* Names */

static bool
nick(const char *s, size_t max)
{
    char *p = exact(s, strlen(s));
    bool ok = irc_nick_valid(p, strlen(s), max);

    free(p);
    return ok;
}

static void
test_nick_valid(void **state)
{
    (void)state;
    assert_true(nick("a", 30));
    assert_true(nick("Nick", 30));
    assert_true(nick("[x]", 30));
    assert_false(nick("\\o/", 30));
    assert_true(nick("`_^{|}[]\\", 30));
    assert_true(nick("n1-2", 30));
    assert_true(nick("_-_", 30));
    assert_true(nick("abcdefghij", 10));

    assert_false(nick("", 30));
    assert_false(nick("abcdefghijk", 10));
    assert_false(nick("1abc", 30));
    assert_false(nick("-abc", 30));
    assert_false(nick("a b", 30));
    assert_false(nick("a!b", 30));
    assert_false(nick("a@b", 30));
    assert_false(nick("a.b", 30));
    assert_false(nick("a,b", 30));
    assert_false(nick("a*", 30));
    assert_false(nick("a?", 30));
    assert_false(nick("#chan", 30));
    assert_false(nick(":nick", 30));
    assert_false(nick("&x", 30));
    assert_false(nick("~user", 30));
    assert_false(nick("n\xC3\xA9", 30));
    assert_false(nick("a", 0));
    assert_false(irc_nick_valid("ab\0c", 4, 30));
    /* Only @n bytes are looked at. */
    assert_true(irc_nick_valid("ab cd", 2, 30));
}

static bool
user(const char *s, size_t max)
{
    char *p = exact(s, strlen(s));
    bool ok = irc_user_valid(p, strlen(s), max);

    free(p);
    return ok;
}

static void
test_user_valid(void **state)
{
    (void)state;
    assert_true(user("u", 10));
    assert_true(user("~user", 10));
    assert_true(user("a.b-c_d!", 10));
    assert_true(user("\xC3\xA9", 10));
    assert_true(user("0123456789", 10));
    assert_false(user("01234567890", 10));
    assert_false(user("", 10));
    assert_false(user("a b", 10));
    assert_false(user("a@b", 10));
    assert_false(user("a\rb", 10));
    assert_false(user("a\nb", 10));
    assert_false(irc_user_valid("a\0b", 3, 10));
}

static bool
chan(const char *s, size_t max, const char *types)
{
    char *p = exact(s, strlen(s));
    bool ok = irc_chan_valid(p, strlen(s), max, types);

    free(p);
    return ok;
}

static void
test_chan_valid(void **state)
{
    (void)state;
    assert_true(chan("#a", 50, "#&"));
    assert_true(chan("&local", 50, "#&"));
    assert_true(chan("##x", 50, "#&"));
    assert_true(chan("#&", 50, "#&"));
    assert_true(chan("#caf\xC3\xA9", 50, "#&"));
    assert_true(chan("#a.b-c[d]!@*?~", 50, "#&"));
    assert_true(chan("#123456789", 10, "#&"));
    assert_false(chan("#1234567890", 10, "#&"));
    assert_false(chan("#", 50, "#&"));
    assert_false(chan("", 50, "#&"));
    assert_false(chan("a", 50, "#&"));
    assert_false(chan("abc", 50, "#&"));
    assert_false(chan("+chan", 50, "#&"));
    assert_true(chan("+chan", 50, "#&+"));
    assert_false(chan("&x", 50, "#"));
    assert_false(chan("#a b", 50, "#&"));
    assert_false(chan("#a,b", 50, "#&"));
    assert_false(chan("#a\ab", 50, "#&"));
    assert_false(chan("#a\rb", 50, "#&"));
    assert_false(chan("#a\nb", 50, "#&"));
    assert_false(chan("#a:b", 50, "#&"));
    assert_false(chan("#:", 50, "#&"));
    assert_false(irc_chan_valid("#a\0b", 4, 50, "#&"));
    /* A NUL first byte is never one of the chantypes (strchr would find the terminator). */
    assert_false(irc_chan_valid("\0ab", 3, 50, "#&"));
    /* Invalid UTF-8. */
    assert_false(chan("#caf\xC3", 50, "#&"));
    assert_false(chan("#\xFF", 50, "#&"));
    assert_false(chan("#\xC0\xAF", 50, "#&"));
    assert_false(chan("#\xED\xA0\x80", 50, "#&"));
}

static void
test_utf8(void **state)
{
    (void)state;
    assert_true(irc_utf8_valid("", 0));
    assert_true(irc_utf8_valid("abc", 3));
    assert_true(irc_utf8_valid("\xE2\x82\xAC", 3));
    assert_true(irc_utf8_valid("\xF4\x8F\xBF\xBF", 4));
    assert_false(irc_utf8_valid("\xE2\x82", 2));
    assert_false(irc_utf8_valid("\xC0\x80", 2));
    assert_false(irc_utf8_valid("\xF4\x90\x80\x80", 4));
    assert_false(irc_utf8_valid("\xED\xB0\x80", 3));
}

/* ----------------------------------------------------------------------------------------- */
/* Masks */

static void
test_mask_match(void **state)
{
    (void)state;
    assert_true(irc_mask_match("*", ""));
    assert_true(irc_mask_match("*", "nick!user@host"));
    assert_true(irc_mask_match("", ""));
    assert_false(irc_mask_match("", "a"));
    assert_false(irc_mask_match("?", ""));
    assert_true(irc_mask_match("?", "a"));
    assert_false(irc_mask_match("?", "ab"));
    assert_true(irc_mask_match("**", ""));
    assert_true(irc_mask_match("*?", "a"));
    assert_false(irc_mask_match("*?", ""));
    assert_true(irc_mask_match("nick!*@*", "nick!user@host"));
    assert_true(irc_mask_match("NICK!*@*", "nick!user@host"));
    assert_true(irc_mask_match("nick!*@*", "NiCk!user@host"));
    assert_true(irc_mask_match("*!*@*.example.com", "n!u@a.b.example.com"));
    assert_false(irc_mask_match("*!*@*.example.com", "n!u@example.com"));
    assert_true(irc_mask_match("*!~*@*", "n!~u@h"));
    assert_false(irc_mask_match("*!~*@*", "n!u@h"));
    assert_true(irc_mask_match("n?ck!*@*", "nick!u@h"));
    assert_false(irc_mask_match("n?ck!*@*", "nck!u@h"));
    assert_true(irc_mask_match("*a", "aaa"));
    assert_true(irc_mask_match("a*a", "aa"));
    assert_false(irc_mask_match("a*a", "a"));
    assert_true(irc_mask_match("*ab*ab", "xabyabab"));
    assert_false(irc_mask_match("*ab*ab", "xabyaba"));
    assert_true(irc_mask_match("a*b*c", "aXbYbZc"));
    assert_false(irc_mask_match("a*b*c", "aXbYbZcd"));
    assert_false(irc_mask_match("abc", "ab"));
    assert_false(irc_mask_match("ab", "abc"));
    /* rfc1459 casemapping both ways. */
    assert_true(irc_mask_match("[x]!*@*", "{X}!u@h"));
    assert_true(irc_mask_match("{x}!*@*", "[x]!u@h"));
    assert_true(irc_mask_match("a|b~!*@*", "A\\B^!u@h"));
    /* No escapes: a backslash is a byte (which folds to '|'). */
    assert_false(irc_mask_match("\\*", "x"));
    assert_true(irc_mask_match("\\*", "|xyz"));
    /* '?' is one byte, not one character. */
    assert_false(irc_mask_match("?", "\xC3\xA9"));
    assert_true(irc_mask_match("??", "\xC3\xA9"));
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_mask_match_pathological(void **state)
{
    enum { LEN = 8192 };
    char *s = malloc(LEN + 1);
    char mask[256];

    (void)state;
    assert_non_null(s);
    memset(s, 'a', LEN);
    s[LEN] = '\0';
    double t0 = now();
    for (int i = 0; i < 20; i++) {
        assert_false(irc_mask_match("*a*a*a*a*b", s));
        assert_false(irc_mask_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s));
        assert_false(irc_mask_match("*?*?*?*?*?*?*?*?*b", s));
        assert_true(irc_mask_match("*a*a*a*a*a", s));
    }
    /* A long mask of alternating stars. */
    size_t k = 0;
    while (k + 3 < sizeof(mask)) {
        mask[k++] = '*';
        mask[k++] = 'a';
    }
    mask[k++] = 'b';
    mask[k] = '\0';
    assert_false(irc_mask_match(mask, s));
    s[LEN - 1] = 'b';
    assert_true(irc_mask_match(mask, s));
    assert_true(irc_mask_match("*a*a*a*a*b", s));
    assert_true(now() - t0 < 2.0);
    free(s);
}

static void
expect_norm(const char *in, const char *want)
{
    char out[128];
    size_t n = irc_mask_normalize(in, out, sizeof(out));

    assert_int_equal(n, strlen(want));
    assert_string_equal(out, want);
}

static void
test_mask_normalize(void **state)
{
    char out[16];

    (void)state;
    expect_norm("nick", "nick!*@*");
    expect_norm("*", "*!*@*");
    expect_norm("n?ck*", "n?ck*!*@*");
    expect_norm("user@host", "*!user@host");
    expect_norm("nick!user", "nick!user@*");
    expect_norm("host.name", "*!*@host.name");
    expect_norm("*.example.com", "*!*@*.example.com");
    expect_norm("192.0.2.1", "*!*@192.0.2.1");
    expect_norm("nick!user@host", "nick!user@host");
    expect_norm("*!*@*", "*!*@*");
    /* Empty parts become "*". */
    expect_norm("!", "*!*@*");
    expect_norm("@", "*!*@*");
    expect_norm("!@", "*!*@*");
    expect_norm("nick!", "nick!*@*");
    expect_norm("!user", "*!user@*");
    expect_norm("@host", "*!*@host");
    expect_norm("user@", "*!user@*");
    expect_norm("nick!@", "nick!*@*");
    expect_norm("!@host", "*!*@host");
    expect_norm("nick!user@", "nick!user@*");
    expect_norm("nick!@host", "nick!*@host");
    expect_norm("!user@host", "*!user@host");
    /* A dot with '!' or '@' is no hint of a bare host. */
    expect_norm("n.ick!u", "n.ick!u@*");
    expect_norm("u.ser@h", "*!u.ser@h");
    /* The nick ends at the first '!', the host starts at the first '@' after it. */
    expect_norm("a!b!c@d", "a!b!c@d");
    expect_norm("a!b@c@d", "a!b@c@d");
    expect_norm("u@h!x", "u@h!x@*");
    /* An IPv6 address is a host too. */
    expect_norm("2001:db8::1", "*!*@2001:db8::1");

    /* Refusals. */
    assert_int_equal(irc_mask_normalize("", out, sizeof(out)), 0);
    assert_int_equal(irc_mask_normalize("a b", out, sizeof(out)), 0);
    assert_int_equal(irc_mask_normalize(" ", out, sizeof(out)), 0);
    assert_int_equal(irc_mask_normalize("nick!user@host ", out, sizeof(out)), 0);
    /* cap counts the NUL: "abcdefg!*@*" is 11 bytes. */
    assert_int_equal(irc_mask_normalize("abcdefg", out, 12), 11);
    assert_string_equal(out, "abcdefg!*@*");
    assert_int_equal(irc_mask_normalize("abcdefg", out, 11), 0);
    assert_int_equal(irc_mask_normalize("abcdefg", out, 0), 0);
    assert_int_equal(irc_mask_normalize("a", out, 5), 0);
    assert_int_equal(irc_mask_normalize("a", out, 6), 5);
}

/* ----------------------------------------------------------------------------------------- */
/* Mode strings */

static struct irc_mode_spec
chanmodes(void)
{
    struct irc_mode_spec s;

    memset(&s, 0, sizeof(s));
    for (const char *p = "beI"; *p; p++) {
        s.kind[(unsigned char)*p] = IRC_MODE_LIST;
    }
    for (const char *p = "kov"; *p; p++) {
        s.kind[(unsigned char)*p] = IRC_MODE_ALWAYS;
    }
    s.kind['l'] = IRC_MODE_SET;
    for (const char *p = "imnst"; *p; p++) {
        s.kind[(unsigned char)*p] = IRC_MODE_FLAG;
    }
    return s;
}

static void
expect_change(const struct irc_mode_change *c, bool add, char mode, const char *arg)
{
    assert_int_equal(c->add, add);
    assert_int_equal(c->mode, mode);
    if (arg == NULL) {
        assert_null(c->arg);
    } else {
        assert_non_null(c->arg);
        assert_string_equal(c->arg, arg);
    }
}

static void
test_modes_basic(void **state)
{
    struct irc_mode_spec spec = chanmodes();
    struct irc_mode_change out[16];
    char unknown[16];
    size_t n;

    (void)state;
    n = irc_modes_parse(&spec, "+ov-k", (const char *const[]){"alice", "bob", "key"}, 3, out, 16,
                        unknown, sizeof(unknown));
    assert_int_equal(n, 3);
    expect_change(&out[0], true, 'o', "alice");
    expect_change(&out[1], true, 'v', "bob");
    expect_change(&out[2], false, 'k', "key");
    assert_string_equal(unknown, "");

    /* No leading sign: '+'. */
    n = irc_modes_parse(&spec, "nt", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 2);
    expect_change(&out[0], true, 'n', NULL);
    expect_change(&out[1], true, 't', NULL);

    /* Signs switch back and forth; repeated signs are harmless. */
    n = irc_modes_parse(&spec, "+i-m+-+s--t", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 4);
    expect_change(&out[0], true, 'i', NULL);
    expect_change(&out[1], false, 'm', NULL);
    expect_change(&out[2], true, 's', NULL);
    expect_change(&out[3], false, 't', NULL);

    /* Type C: argument only when setting. */
    n = irc_modes_parse(&spec, "+l-l+k", (const char *const[]){"10", "pw"}, 2, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 3);
    expect_change(&out[0], true, 'l', "10");
    expect_change(&out[1], false, 'l', NULL);
    expect_change(&out[2], true, 'k', "pw");

    /* Extra arguments are left alone; empty strings change nothing. */
    n = irc_modes_parse(&spec, "+n", (const char *const[]){"x", "y"}, 2, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 1);
    expect_change(&out[0], true, 'n', NULL);
    assert_int_equal(irc_modes_parse(&spec, "", NULL, 0, out, 16, unknown, sizeof(unknown)), 0);
    assert_int_equal(irc_modes_parse(&spec, "+-+", NULL, 0, out, 16, unknown, sizeof(unknown)), 0);
}

static void
test_modes_lists_and_missing(void **state)
{
    struct irc_mode_spec spec = chanmodes();
    struct irc_mode_change out[16];
    char unknown[16];
    size_t n;

    (void)state;
    /* A list mode without an argument is a list query. */
    n = irc_modes_parse(&spec, "b", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 1);
    expect_change(&out[0], true, 'b', NULL);
    n = irc_modes_parse(&spec, "+beI", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 3);
    expect_change(&out[0], true, 'b', NULL);
    expect_change(&out[1], true, 'e', NULL);
    expect_change(&out[2], true, 'I', NULL);
    /* List modes take arguments both ways. */
    n = irc_modes_parse(&spec, "+b-b", (const char *const[]){"a!*@*", "b!*@*"}, 2, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 2);
    expect_change(&out[0], true, 'b', "a!*@*");
    expect_change(&out[1], false, 'b', "b!*@*");
    /* Once the arguments run out, the list mode becomes a query. */
    n = irc_modes_parse(&spec, "+bb", (const char *const[]){"m"}, 1, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 2);
    expect_change(&out[0], true, 'b', "m");
    expect_change(&out[1], true, 'b', NULL);

    /* Others that need an argument are dropped when none is left. */
    n = irc_modes_parse(&spec, "+oklv-k", (const char *const[]){"alice"}, 1, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 1);
    expect_change(&out[0], true, 'o', "alice");
    n = irc_modes_parse(&spec, "+o-l+k", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 1);
    expect_change(&out[0], false, 'l', NULL);
    /* ... and arguments go to the modes in order, after the dropped ones too. */
    n = irc_modes_parse(&spec, "+ontv", (const char *const[]){"a", "b"}, 2, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 4);
    expect_change(&out[0], true, 'o', "a");
    expect_change(&out[1], true, 'n', NULL);
    expect_change(&out[2], true, 't', NULL);
    expect_change(&out[3], true, 'v', "b");
}

static void
test_modes_unknown(void **state)
{
    struct irc_mode_spec spec = chanmodes();
    struct irc_mode_change out[16];
    char unknown[16];
    size_t n;

    (void)state;
    /* Unknown letters are reported once each, in order, and take no argument. */
    n = irc_modes_parse(&spec, "+xoyx-zyo", (const char *const[]){"a", "b"}, 2, out, 16, unknown,
                        sizeof(unknown));
    assert_int_equal(n, 2);
    expect_change(&out[0], true, 'o', "a");
    expect_change(&out[1], false, 'o', "b");
    assert_string_equal(unknown, "xyz");
    /* Case matters: 'B' is not 'b', 'i' is not 'I'. */
    n = irc_modes_parse(&spec, "+BI", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 1);
    expect_change(&out[0], true, 'I', NULL);
    assert_string_equal(unknown, "B");
    /* Bytes that are no letters, and bytes above 0x7f. */
    n = irc_modes_parse(&spec, "+1 \xE9n", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_int_equal(n, 1);
    assert_string_equal(unknown, "1 \xE9");
    /* At most ucap - 1 of them. */
    n = irc_modes_parse(&spec, "+xyzXYZn", NULL, 0, out, 16, unknown, 3);
    assert_int_equal(n, 1);
    assert_string_equal(unknown, "xy");
    n = irc_modes_parse(&spec, "+xyz", NULL, 0, out, 16, unknown, 1);
    assert_int_equal(n, 0);
    assert_string_equal(unknown, "");
    /* No buffer at all. */
    n = irc_modes_parse(&spec, "+xn", NULL, 0, out, 16, NULL, 0);
    assert_int_equal(n, 1);
    /* The buffer is reset on every call. */
    memset(unknown, 'Q', sizeof(unknown));
    n = irc_modes_parse(&spec, "+n", NULL, 0, out, 16, unknown, sizeof(unknown));
    assert_string_equal(unknown, "");
}

static void
test_modes_max(void **state)
{
    struct irc_mode_spec spec = chanmodes();
    struct irc_mode_change out[8];
    char unknown[16];
    size_t n;
    const char *const args[] = {"a", "b", "c", "d", "e", "f"};

    (void)state;
    memset(out, 0, sizeof(out));
    n = irc_modes_parse(&spec, "+oooooo", args, 6, out, 4, unknown, sizeof(unknown));
    assert_int_equal(n, 4);
    expect_change(&out[3], true, 'o', "d");
    /* Nothing is written past @max. */
    assert_int_equal(out[4].mode, 0);
    assert_int_equal(irc_modes_parse(&spec, "+nt", NULL, 0, out, 0, unknown, sizeof(unknown)), 0);
    /* Dropped modes do not count. */
    n = irc_modes_parse(&spec, "+kkknt", NULL, 0, out, 2, unknown, sizeof(unknown));
    assert_int_equal(n, 2);
    expect_change(&out[0], true, 'n', NULL);
    expect_change(&out[1], true, 't', NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_basic),
        cmocka_unit_test(test_parse_trailing_flag),
        cmocka_unit_test(test_parse_spaces),
        cmocka_unit_test(test_parse_tags),
        cmocka_unit_test(test_parse_fifteen),
        cmocka_unit_test(test_parse_cr_nul),
        cmocka_unit_test(test_parse_commands),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_lengths_agree),
        cmocka_unit_test(test_tag_iteration),
        cmocka_unit_test(test_tag_next_unparsed),
        cmocka_unit_test(test_tag_key_valid),
        cmocka_unit_test(test_tag_unescape),
        cmocka_unit_test(test_tag_escape),
        cmocka_unit_test(test_casemapping),
        cmocka_unit_test(test_nick_valid),
        cmocka_unit_test(test_user_valid),
        cmocka_unit_test(test_chan_valid),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_mask_match),
        cmocka_unit_test(test_mask_match_pathological),
        cmocka_unit_test(test_mask_normalize),
        cmocka_unit_test(test_modes_basic),
        cmocka_unit_test(test_modes_lists_and_missing),
        cmocka_unit_test(test_modes_unknown),
        cmocka_unit_test(test_modes_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
