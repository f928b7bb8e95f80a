/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the small core helpers: checked string conversions (strutil), the hash map, the
 * per-address rate limiter and the command-table lookup. Nothing here touches a socket or a file.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "core/cmd.h"
#include "core/map.h"
#include "core/ratelimit.h"
#include "core/strutil.h"

/* ---- strutil ---- */

static void
test_parse_long(void **state)
{
    long v = 7;

    assert_true(parse_long("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_true(parse_long("-5", -10, 10, &v));
    assert_int_equal(v, -5);
    assert_true(parse_long("0", 0, 0, &v));
    assert_int_equal(v, 0);
    assert_true(parse_long("100", 0, 100, &v));
    assert_int_equal(v, 100);
    assert_true(parse_long("9223372036854775807", LONG_MIN, LONG_MAX, &v));
    assert_true(v == LONG_MAX);
    assert_true(parse_long("-9223372036854775808", LONG_MIN, LONG_MAX, &v));
    assert_true(v == LONG_MIN);

    v = 7;
    assert_false(parse_long("101", 0, 100, &v));
    assert_false(parse_long("-1", 0, 100, &v));
    assert_false(parse_long("", 0, 100, &v));
    assert_false(parse_long(NULL, 0, 100, &v));
    assert_false(parse_long(" 1", 0, 100, &v));
    assert_false(parse_long("\t1", 0, 100, &v));
    assert_false(parse_long("1 ", 0, 100, &v));
    assert_false(parse_long("12a", 0, 100, &v));
    assert_false(parse_long("0x10", 0, 100, &v));
    assert_false(parse_long("1.0", 0, 100, &v));
    assert_false(parse_long("-", 0, 100, &v));
    assert_false(parse_long("9223372036854775808", LONG_MIN, LONG_MAX, &v));
    assert_false(parse_long("99999999999999999999999", LONG_MIN, LONG_MAX, &v));
    assert_false(parse_long("-99999999999999999999999", LONG_MIN, LONG_MAX, &v));
    /* A failed parse leaves the output alone. */
    assert_int_equal(v, 7);
}

static void
test_parse_seconds(void **state)
{
    double d = -1;

    assert_true(parse_seconds("30", 0, 3600, &d));
    assert_true(d == 30.0);
    assert_true(parse_seconds("1.5s", 0, 3600, &d));
    assert_true(d == 1.5);
    assert_true(parse_seconds("500ms", 0, 3600, &d));
    assert_true(d > 0.4999 && d < 0.5001);
    assert_true(parse_seconds("5m", 0, 3600, &d));
    assert_true(d == 300.0);
    assert_true(parse_seconds("1h", 0, 3600, &d));
    assert_true(d == 3600.0);
    assert_true(parse_seconds("0", 0, 3600, &d));
    assert_true(d == 0.0);
    assert_true(parse_seconds("0.25", 0, 1, &d));
    assert_true(d == 0.25);

    d = -1;
    assert_false(parse_seconds("2h", 0, 3600, &d));
    assert_false(parse_seconds("-1", 0, 3600, &d));
    assert_false(parse_seconds("10ms", 1, 3600, &d));
    assert_false(parse_seconds("", 0, 3600, &d));
    assert_false(parse_seconds(NULL, 0, 3600, &d));
    assert_false(parse_seconds("s", 0, 3600, &d));
    assert_false(parse_seconds("ms", 0, 3600, &d));
    assert_false(parse_seconds("5x", 0, 3600, &d));
    assert_false(parse_seconds("5 s", 0, 3600, &d));
    assert_false(parse_seconds(" 5", 0, 3600, &d));
    assert_false(parse_seconds("5s ", 0, 3600, &d));
    assert_false(parse_seconds("5S", 0, 3600, &d));
    assert_false(parse_seconds("5sec", 0, 3600, &d));
    assert_false(parse_seconds("5mss", 0, 3600, &d));
    assert_false(parse_seconds("nan", 0, 3600, &d));
    assert_false(parse_seconds("inf", 0, 1e300, &d));
    assert_false(parse_seconds("1e999", 0, 1e300, &d));
    assert_true(d == -1);
}

static void
test_parse_bool(void **state)
{
    static const char *const yes[] = {"yes", "YES", "true", "True", "on", "ON", "1"};
    static const char *const no[] = {"no", "No", "false", "FALSE", "off", "Off", "0"};
    static const char *const bad[] = {"", "y", "n", "2", "yess", " yes", "enable", "-1"};
    bool b;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_true(parse_bool(yes[i], &b));
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_true(parse_bool(no[i], &b));
        assert_false(b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = true;
        assert_false(parse_bool(bad[i], &b));
        assert_true(b);
    }
}

static void
test_str_copy(void **state)
{
    char buf[6];

    assert_true(str_copy(buf, sizeof(buf), "abc"));
    assert_string_equal(buf, "abc");
    assert_true(str_copy(buf, sizeof(buf), "abcde"));
    assert_string_equal(buf, "abcde");
    assert_false(str_copy(buf, sizeof(buf), "abcdef"));
    assert_string_equal(buf, "abcde");
    assert_false(str_copy(buf, sizeof(buf), "a much longer string"));
    assert_string_equal(buf, "a muc");
    assert_true(str_copy(buf, sizeof(buf), ""));
    assert_string_equal(buf, "");
    assert_false(str_copy(buf, 1, "x"));
    assert_string_equal(buf, "");
    assert_true(str_copy(buf, 1, ""));

    /* cap 0 writes nothing at all. */
    memcpy(buf, "zzzzz", 6);
    assert_false(str_copy(buf, 0, "abc"));
    assert_string_equal(buf, "zzzzz");
}

static void
test_str_trim(void **state)
{
    char a[] = "  a b \t\r\n";
    char b[] = "";
    char c[] = " \t ";
    char d[] = "x";
    char e[] = "\n\nkey = value  ";

    assert_string_equal(str_trim(a), "a b");
    assert_string_equal(str_trim(b), "");
    assert_string_equal(str_trim(c), "");
    assert_string_equal(str_trim(d), "x");
    assert_string_equal(str_trim(e), "key = value");
    /* Trimming is in place: the result points into the argument. */
    assert_ptr_equal(str_trim(a), a + 2);
}

/* ---- map ---- */

static void
test_map_basic(void **state)
{
    struct map *m = map_new();
    int a = 1, b = 2, c = 3;

    assert_int_equal(map_count(m), 0);
    assert_null(map_get(m, "alice", 5));
    assert_null(map_put(m, "alice", 5, &a));
    assert_null(map_put(m, "bob", 3, &b));
    assert_int_equal(map_count(m), 2);
    assert_ptr_equal(map_get(m, "alice", 5), &a);
    assert_ptr_equal(map_get(m, "bob", 3), &b);
    /* Lengths are part of the key. */
    assert_null(map_get(m, "alic", 4));
    assert_null(map_get(m, "alice!", 6));
    assert_null(map_get(m, "ALICE", 5));

    /* Replace returns the old value and keeps the count. */
    assert_ptr_equal(map_put(m, "alice", 5, &c), &a);
    assert_int_equal(map_count(m), 2);
    assert_ptr_equal(map_get(m, "alice", 5), &c);

    assert_ptr_equal(map_del(m, "alice", 5), &c);
    assert_int_equal(map_count(m), 1);
    assert_null(map_get(m, "alice", 5));
    assert_null(map_del(m, "alice", 5));
    assert_null(map_del(m, "nobody", 6));
    assert_int_equal(map_count(m), 1);
    assert_ptr_equal(map_get(m, "bob", 3), &b);
    map_free(m);
    map_free(NULL);
}

static void
test_map_binary_keys(void **state)
{
    struct map *m = map_new();
    int a = 1, b = 2, c = 3, d = 4;
    char key[] = {'a', '\0', 'b'};

    /* The key is copied: changing the caller's buffer afterwards must not matter. */
    assert_null(map_put(m, key, 3, &a));
    key[2] = 'c';
    assert_null(map_get(m, key, 3));
    key[2] = 'b';
    assert_ptr_equal(map_get(m, key, 3), &a);
    assert_null(map_put(m, "a", 1, &b));
    assert_null(map_put(m, "a\0", 2, &c));
    assert_null(map_put(m, "", 0, &d));
    assert_int_equal(map_count(m), 4);
    assert_ptr_equal(map_get(m, "a", 1), &b);
    assert_ptr_equal(map_get(m, "a\0", 2), &c);
    assert_ptr_equal(map_get(m, "", 0), &d);
    assert_ptr_equal(map_del(m, "", 0), &d);
    assert_int_equal(map_count(m), 3);
    map_free(m);
}

#define MAP_BIG 10000

static void
count_cb(void *arg, const void *key, size_t klen, void *value)
{
    size_t *seen = arg;
    const int *v = value;
    char want[32];
    int n = snprintf(want, sizeof(want), "key-%d", *v);

    /* Every entry is visited with its own key. */
    assert_int_equal(klen, (size_t)n);
    assert_memory_equal(key, want, klen);
    seen[*v]++;
}

static void
test_map_grow(void **state)
{
    struct map *m = map_new();
    int *vals = malloc(MAP_BIG * sizeof(int));
    size_t *seen = calloc(MAP_BIG, sizeof(size_t));
    char key[32];

    assert_non_null(vals);
    assert_non_null(seen);
    for (int i = 0; i < MAP_BIG; i++) {
        int n = snprintf(key, sizeof(key), "key-%d", i);
        vals[i] = i;
        assert_null(map_put(m, key, (size_t)n, &vals[i]));
    }
    assert_int_equal(map_count(m), MAP_BIG);
    for (int i = 0; i < MAP_BIG; i++) {
        int n = snprintf(key, sizeof(key), "key-%d", i);
        assert_ptr_equal(map_get(m, key, (size_t)n), &vals[i]);
    }

    map_foreach(m, count_cb, seen);
    for (int i = 0; i < MAP_BIG; i++) {
        assert_int_equal(seen[i], 1);
    }

    /* Remove the even keys; the odd ones must survive. */
    for (int i = 0; i < MAP_BIG; i += 2) {
        int n = snprintf(key, sizeof(key), "key-%d", i);
        assert_ptr_equal(map_del(m, key, (size_t)n), &vals[i]);
    }
    assert_int_equal(map_count(m), MAP_BIG / 2);
    for (int i = 0; i < MAP_BIG; i++) {
        int n = snprintf(key, sizeof(key), "key-%d", i);
        if (i % 2 == 0) {
            assert_null(map_get(m, key, (size_t)n));
        } else {
            assert_ptr_equal(map_get(m, key, (size_t)n), &vals[i]);
        }
    }
    memset(seen, 0, MAP_BIG * sizeof(size_t));
    map_foreach(m, count_cb, seen);
    for (int i = 0; i < MAP_BIG; i++) {
        assert_int_equal(seen[i], (size_t)(i % 2));
    }
    map_free(m);
    free(vals);
    free(seen);
}

static void
foreach_none_cb(void *arg, const void *key, size_t klen, void *value)
{
    fail_msg("map_foreach visited an entry of an empty map");
}

static void
test_map_foreach_empty(void **state)
{
    struct map *m = map_new();
    int a = 1;

    map_foreach(m, foreach_none_cb, NULL);
    map_put(m, "x", 1, &a);
    map_del(m, "x", 1);
    map_foreach(m, foreach_none_cb, NULL);
    map_free(m);
}

/* ---- ratelimit ---- */

static struct sockaddr_storage
v4(const char *ip, unsigned short port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage
v6(const char *ip, unsigned short port)
{
    struct sockaddr_storage ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static void
test_ratelimit_blocks_after_max(void **state)
{
    struct ratelimit *rl = ratelimit_new(3, 60, 64);
    struct sockaddr_storage a = v4("192.0.2.1", 1000);
    struct sockaddr_storage a_other_port = v4("192.0.2.1", 2000);
    struct sockaddr_storage b = v4("192.0.2.2", 1000);

    assert_false(ratelimit_blocked(rl, SA(a), NULL, 0));
    ratelimit_hit(rl, SA(a), NULL, 0);
    assert_false(ratelimit_blocked(rl, SA(a), NULL, 1));
    ratelimit_hit(rl, SA(a), NULL, 1);
    assert_false(ratelimit_blocked(rl, SA(a), NULL, 2));
    ratelimit_hit(rl, SA(a), NULL, 2);
    assert_true(ratelimit_blocked(rl, SA(a), NULL, 3));
    /* The port does not matter; another address is not affected. */
    assert_true(ratelimit_blocked(rl, SA(a_other_port), NULL, 3));
    assert_false(ratelimit_blocked(rl, SA(b), NULL, 3));
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

static void
test_ratelimit_window_resets(void **state)
{
    struct ratelimit *rl = ratelimit_new(2, 10, 64);
    struct sockaddr_storage a = v4("198.51.100.7", 1);

    ratelimit_hit(rl, SA(a), NULL, 100);
    ratelimit_hit(rl, SA(a), NULL, 105);
    assert_true(ratelimit_blocked(rl, SA(a), NULL, 109.9));
    /* The window started with the first hit: it is over at 110. */
    assert_false(ratelimit_blocked(rl, SA(a), NULL, 110));
    ratelimit_hit(rl, SA(a), NULL, 110);
    assert_false(ratelimit_blocked(rl, SA(a), NULL, 111));
    ratelimit_hit(rl, SA(a), NULL, 111);
    assert_true(ratelimit_blocked(rl, SA(a), NULL, 112));
    assert_false(ratelimit_blocked(rl, SA(a), NULL, 125));
    ratelimit_free(rl);
}

static void
test_ratelimit_ipv6_per_64(void **state)
{
    struct ratelimit *rl = ratelimit_new(2, 60, 64);
    struct sockaddr_storage a1 = v6("2001:db8:1:2::1", 1);
    struct sockaddr_storage a2 = v6("2001:db8:1:2:ffff:ffff:ffff:ffff", 1);
    struct sockaddr_storage other64 = v6("2001:db8:1:3::1", 1);

    ratelimit_hit(rl, SA(a1), NULL, 0);
    assert_false(ratelimit_blocked(rl, SA(a2), NULL, 0));
    ratelimit_hit(rl, SA(a2), NULL, 0);
    /* Both hits count against the one /64. */
    assert_true(ratelimit_blocked(rl, SA(a1), NULL, 1));
    assert_true(ratelimit_blocked(rl, SA(a2), NULL, 1));
    assert_false(ratelimit_blocked(rl, SA(other64), NULL, 1));
    ratelimit_free(rl);
}

static void
test_ratelimit_v4_mapped(void **state)
{
    struct ratelimit *rl = ratelimit_new(2, 60, 64);
    struct sockaddr_storage plain = v4("203.0.113.9", 1);
    struct sockaddr_storage mapped = v6("::ffff:203.0.113.9", 1);
    struct sockaddr_storage mapped_neighbour = v6("::ffff:203.0.113.10", 1);

    ratelimit_hit(rl, SA(plain), NULL, 0);
    ratelimit_hit(rl, SA(mapped), NULL, 0);
    assert_true(ratelimit_blocked(rl, SA(plain), NULL, 1));
    assert_true(ratelimit_blocked(rl, SA(mapped), NULL, 1));
    /* IPv4-mapped addresses are counted per IPv4 address, not per /64. */
    assert_false(ratelimit_blocked(rl, SA(mapped_neighbour), NULL, 1));
    ratelimit_free(rl);
}

static void
test_ratelimit_unix_peers_share(void **state)
{
    struct ratelimit *rl = ratelimit_new(1, 60, 8);
    struct sockaddr_un u1, u2;

    memset(&u1, 0, sizeof(u1));
    memset(&u2, 0, sizeof(u2));
    u1.sun_family = AF_UNIX;
    u2.sun_family = AF_UNIX;
    str_copy(u2.sun_path, sizeof(u2.sun_path), "/tmp/other");
    ratelimit_hit(rl, (const struct sockaddr *)&u1, NULL, 0);
    assert_true(ratelimit_blocked(rl, (const struct sockaddr *)&u2, NULL, 0));
    ratelimit_free(rl);
}

/* Tags count apart from each other and from the bare address; undo takes one event back. */
static void
test_ratelimit_tags_and_undo(void **state)
{
    struct ratelimit *rl = ratelimit_new(2, 60, 64);
    struct sockaddr_storage a = v4("192.0.2.7", 1);

    ratelimit_hit(rl, SA(a), "alice", 0);
    ratelimit_hit(rl, SA(a), "ALICE", 0);
    assert_true(ratelimit_blocked(rl, SA(a), "Alice", 1));
    assert_false(ratelimit_blocked(rl, SA(a), "bob", 1));
    assert_false(ratelimit_blocked(rl, SA(a), NULL, 1));
    ratelimit_undo(rl, SA(a), "alice", 1);
    assert_false(ratelimit_blocked(rl, SA(a), "alice", 1));
    ratelimit_undo(rl, SA(a), "alice", 1);
    ratelimit_undo(rl, SA(a), "alice", 1); /* never below zero */
    ratelimit_hit(rl, SA(a), "alice", 1);
    assert_false(ratelimit_blocked(rl, SA(a), "alice", 1));
    ratelimit_free(rl);
}

/* A full table evicts the entry with the oldest window instead of growing. */
static void
test_ratelimit_eviction(void **state)
{
    struct ratelimit *rl = ratelimit_new(1, 1000, 8);
    struct sockaddr_storage addrs[9];
    char ip[32];

    for (int i = 0; i < 9; i++) {
        snprintf(ip, sizeof(ip), "10.0.0.%d", i + 1);
        addrs[i] = v4(ip, 1);
    }
    for (int i = 0; i < 8; i++) {
        ratelimit_hit(rl, SA(addrs[i]), NULL, i);
    }
    for (int i = 0; i < 8; i++) {
        assert_true(ratelimit_blocked(rl, SA(addrs[i]), NULL, 8));
    }
    ratelimit_hit(rl, SA(addrs[8]), NULL, 8);
    assert_true(ratelimit_blocked(rl, SA(addrs[8]), NULL, 9));
    /* The oldest (first) entry made room; all the others are still counted. */
    assert_false(ratelimit_blocked(rl, SA(addrs[0]), NULL, 9));
    for (int i = 1; i < 9; i++) {
        assert_true(ratelimit_blocked(rl, SA(addrs[i]), NULL, 9));
    }

    /* Many more addresses than slots: memory stays fixed, the newest is always counted. */
    for (int i = 0; i < 1000; i++) {
        struct sockaddr_storage ss;
        snprintf(ip, sizeof(ip), "172.16.%d.%d", i / 250, i % 250 + 1);
        ss = v4(ip, 1);
        ratelimit_hit(rl, SA(ss), NULL, 10 + i);
        assert_true(ratelimit_blocked(rl, SA(ss), NULL, 10 + i));
    }
    ratelimit_free(rl);
}

/* ---- cmd ---- */

enum { ST_NEW = 1, ST_REG = 2, ST_ADMIN = 4 };

struct test_cmd {
    struct cmd_def def;
    int id;
};

static const struct test_cmd table[] = {
    {{"LOGIN", 1, 2, ST_NEW}, 1},
    {{"SEND", 1, 1, ST_REG}, 2},
    {{"QUIT", 0, 1, ST_NEW | ST_REG}, 3},
    {{"SHUTDOWN", 0, 0, ST_ADMIN}, 4},
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

static enum cmd_check
lookup(const char *name, bool nocase, unsigned nargs, unsigned st, const struct test_cmd **out)
{
    const void *found = (const void *)1;
    enum cmd_check r =
        cmd_lookup(table, NTABLE, sizeof(table[0]), name, strlen(name), nocase, nargs, st, &found);
    *out = found;
    return r;
}

static void
test_cmd_unknown(void **state)
{
    const struct test_cmd *c;
    const void *found = &table[0];

    assert_int_equal(lookup("NOPE", false, 0, ST_NEW, &c), CMD_UNKNOWN);
    assert_null(c);
    assert_int_equal(lookup("LOG", false, 1, ST_NEW, &c), CMD_UNKNOWN);
    assert_null(c);
    assert_int_equal(lookup("LOGINX", false, 1, ST_NEW, &c), CMD_UNKNOWN);
    assert_int_equal(lookup("", false, 0, ST_NEW, &c), CMD_UNKNOWN);
    assert_int_equal(cmd_lookup(table, 0, sizeof(table[0]), "LOGIN", 5, false, 1, ST_NEW, &found),
                     CMD_UNKNOWN);
    assert_null(found);
}

static void
test_cmd_found(void **state)
{
    const struct test_cmd *c;
    const void *found = NULL;

    assert_int_equal(lookup("LOGIN", false, 1, ST_NEW, &c), CMD_OK);
    assert_ptr_equal(c, &table[0]);
    assert_int_equal(c->id, 1);
    assert_int_equal(lookup("QUIT", false, 0, ST_REG, &c), CMD_OK);
    assert_int_equal(c->id, 3);
    /* The name is a slice: only namelen bytes count. */
    assert_int_equal(
        cmd_lookup(table, NTABLE, sizeof(table[0]), "SEND hello", 4, false, 1, ST_REG, &found),
        CMD_OK);
    assert_ptr_equal(found, &table[1]);
}

static void
test_cmd_arity(void **state)
{
    const struct test_cmd *c;

    assert_int_equal(lookup("LOGIN", false, 0, ST_NEW, &c), CMD_ARITY);
    assert_ptr_equal(c, &table[0]);
    assert_int_equal(lookup("LOGIN", false, 2, ST_NEW, &c), CMD_OK);
    assert_int_equal(lookup("LOGIN", false, 3, ST_NEW, &c), CMD_ARITY);
    assert_int_equal(lookup("SEND", false, 2, ST_REG, &c), CMD_ARITY);
    assert_int_equal(lookup("SHUTDOWN", false, 1, ST_ADMIN, &c), CMD_ARITY);
    assert_int_equal(lookup("SHUTDOWN", false, 0, ST_ADMIN, &c), CMD_OK);
}

static void
test_cmd_state(void **state)
{
    const struct test_cmd *c;

    assert_int_equal(lookup("SEND", false, 1, ST_NEW, &c), CMD_STATE);
    assert_ptr_equal(c, &table[1]);
    assert_int_equal(lookup("LOGIN", false, 1, ST_REG, &c), CMD_STATE);
    assert_int_equal(lookup("SHUTDOWN", false, 0, ST_REG, &c), CMD_STATE);
    /* State is checked before arity: a command not allowed now says so, whatever its args. */
    assert_int_equal(lookup("SEND", false, 9, ST_NEW, &c), CMD_STATE);
}

static void
test_cmd_nocase(void **state)
{
    const struct test_cmd *c;

    assert_int_equal(lookup("login", false, 1, ST_NEW, &c), CMD_UNKNOWN);
    assert_int_equal(lookup("Login", false, 1, ST_NEW, &c), CMD_UNKNOWN);
    assert_int_equal(lookup("login", true, 1, ST_NEW, &c), CMD_OK);
    assert_ptr_equal(c, &table[0]);
    assert_int_equal(lookup("sHuTdOwN", true, 0, ST_ADMIN, &c), CMD_OK);
    assert_int_equal(c->id, 4);
    assert_int_equal(lookup("logi", true, 1, ST_NEW, &c), CMD_UNKNOWN);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_parse_seconds),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_str_copy),
        cmocka_unit_test(test_str_trim),
        cmocka_unit_test(test_map_basic),
        cmocka_unit_test(test_map_binary_keys),
        cmocka_unit_test(test_map_grow),
        cmocka_unit_test(test_map_foreach_empty),
        cmocka_unit_test(test_ratelimit_blocks_after_max),
        cmocka_unit_test(test_ratelimit_window_resets),
        cmocka_unit_test(test_ratelimit_ipv6_per_64),
        cmocka_unit_test(test_ratelimit_v4_mapped),
        cmocka_unit_test(test_ratelimit_unix_peers_share),
        cmocka_unit_test(test_ratelimit_tags_and_undo),
        cmocka_unit_test(test_ratelimit_eviction),
        cmocka_unit_test(test_cmd_unknown),
        cmocka_unit_test(test_cmd_found),
        cmocka_unit_test(test_cmd_arity),
        cmocka_unit_test(test_cmd_state),
        cmocka_unit_test(test_cmd_nocase),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
