/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/core/addr.c: listen specifications, CIDR lists and matching (IPv4, IPv6 and
 * IPv4-mapped IPv6), loopback equivalence and address printing. No socket is opened.
 */
#include <arpa/inet.h>
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

#include "core/addr.h"
#include "core/strutil.h"

/*
 * Test addresses live in a small ring of static slots, so that a call can be written inline as an
 * argument; a test never needs more than a handful at once.
 */
static struct sockaddr_storage pool[16];
static size_t pool_next;

static struct sockaddr_storage *
slot(void)
{
    struct sockaddr_storage *ss = &pool[pool_next++ % (sizeof(pool) / sizeof(pool[0]))];

    memset(ss, 0, sizeof(*ss));
    return ss;
}

static const struct sockaddr *
v4(const char *ip, unsigned short port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)slot();

    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    return (const struct sockaddr *)sin;
}

static const struct sockaddr *
v6(const char *ip, unsigned short port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)slot();

    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
    return (const struct sockaddr *)sin6;
}

static const struct sockaddr *
unix_addr(const char *path)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)slot();

    sun->sun_family = AF_UNIX;
    str_copy(sun->sun_path, sizeof(sun->sun_path), path);
    return (const struct sockaddr *)sun;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* ---- listen specifications ---- */

static void
expect_one(const char *spec, enum listen_kind kind, const char *host, const char *port,
           const char *path)
{
    struct listen_spec *ls = NULL;
    size_t n = 0;
    const char *why = NULL;

    assert_true(listen_spec_parse_list(spec, &ls, &n, &why));
    assert_int_equal(n, 1);
    assert_int_equal(ls[0].kind, kind);
    if (kind == LISTEN_TCP) {
        assert_string_equal(ls[0].host, host);
        assert_string_equal(ls[0].port, port);
    } else {
        assert_string_equal(ls[0].path, path);
    }
    free(ls);
}

static void
expect_listen_error(const char *spec, const char *want)
{
    struct listen_spec *ls = NULL;
    size_t n = 0;
    const char *why = NULL;

    assert_false(listen_spec_parse_list(spec, &ls, &n, &why));
    assert_non_null(why);
    if (strstr(why, want) == NULL) {
        fail_msg("listen spec \"%s\": got \"%s\", wanted \"%s\"", spec, why, want);
    }
}

static void
test_listen_tcp(void **state)
{
    expect_one("127.0.0.1:8080", LISTEN_TCP, "127.0.0.1", "8080", NULL);
    expect_one("localhost:80", LISTEN_TCP, "localhost", "80", NULL);
    expect_one("example.org:65535", LISTEN_TCP, "example.org", "65535", NULL);
    expect_one("*:0", LISTEN_TCP, "*", "0", NULL);
    expect_one("*:4000", LISTEN_TCP, "*", "4000", NULL);
    expect_one("  10.0.0.1:1  ", LISTEN_TCP, "10.0.0.1", "1", NULL);
    /* The port is normalised to its decimal value. */
    expect_one("h:0080", LISTEN_TCP, "h", "80", NULL);
}

static void
test_listen_v6(void **state)
{
    expect_one("[::1]:80", LISTEN_TCP, "::1", "80", NULL);
    expect_one("[::]:0", LISTEN_TCP, "::", "0", NULL);
    expect_one("[2001:db8::1]:6667", LISTEN_TCP, "2001:db8::1", "6667", NULL);
    expect_one("[::ffff:127.0.0.1]:1", LISTEN_TCP, "::ffff:127.0.0.1", "1", NULL);
}

static void
test_listen_unix(void **state)
{
    char path[ADDR_UNIX_PATH_MAX + 16];
    char spec[ADDR_UNIX_PATH_MAX + 32];

    expect_one("unix:/run/switchboard.sock", LISTEN_UNIX, NULL, NULL, "/run/switchboard.sock");
    expect_one("unix:relative.sock", LISTEN_UNIX, NULL, NULL, "relative.sock");
    /* A colon inside a path is not a port separator. */
    expect_one("unix:/tmp/a:b", LISTEN_UNIX, NULL, NULL, "/tmp/a:b");

    /* The longest path that fits sun_path (NUL included) and one byte more. */
    memset(path, 'p', sizeof(path));
    path[0] = '/';
    path[ADDR_UNIX_PATH_MAX - 1] = '\0';
    snprintf(spec, sizeof(spec), "unix:%s", path);
    expect_one(spec, LISTEN_UNIX, NULL, NULL, path);
    path[ADDR_UNIX_PATH_MAX - 1] = 'p';
    path[ADDR_UNIX_PATH_MAX] = '\0';
    snprintf(spec, sizeof(spec), "unix:%s", path);
    expect_listen_error(spec, "UNIX socket path too long");
    expect_listen_error("unix:", "empty UNIX socket path");
}

static void
test_listen_list(void **state)
{
    struct listen_spec *ls = NULL;
    size_t n = 0;
    const char *why = NULL;

    assert_true(listen_spec_parse_list("127.0.0.1:1, [::1]:2 ,unix:/x,,*:3,", &ls, &n, &why));
    assert_int_equal(n, 4);
    assert_int_equal(ls[0].kind, LISTEN_TCP);
    assert_string_equal(ls[0].host, "127.0.0.1");
    assert_string_equal(ls[0].port, "1");
    assert_int_equal(ls[1].kind, LISTEN_TCP);
    assert_string_equal(ls[1].host, "::1");
    assert_string_equal(ls[1].port, "2");
    assert_int_equal(ls[2].kind, LISTEN_UNIX);
    assert_string_equal(ls[2].path, "/x");
    assert_int_equal(ls[3].kind, LISTEN_TCP);
    assert_string_equal(ls[3].host, "*");
    assert_string_equal(ls[3].port, "3");
    free(ls);
}

static void
test_listen_errors(void **state)
{
    char host[300];
    char spec[320];

    expect_listen_error("", "no address given");
    expect_listen_error(" , ,", "no address given");
    expect_listen_error("localhost", "expected HOST:PORT");
    expect_listen_error("::1:80", "need brackets");
    expect_listen_error("2001:db8::1", "need brackets");
    expect_listen_error("[::1]80", "expected [IPv6]:PORT");
    expect_listen_error("[::1", "expected [IPv6]:PORT");
    expect_listen_error("[::1]", "expected [IPv6]:PORT");
    expect_listen_error("[nonsense]:80", "invalid IPv6 address");
    expect_listen_error("[1.2.3.4]:80", "invalid IPv6 address");
    expect_listen_error("[]:80", "invalid IPv6 address");
    expect_listen_error(":80", "empty host");
    expect_listen_error("h:", "invalid port");
    expect_listen_error("h:65536", "invalid port");
    expect_listen_error("h:-1", "invalid port");
    expect_listen_error("h:http", "invalid port");
    expect_listen_error("h:80x", "invalid port");
    expect_listen_error("[::1]:", "invalid port");
    expect_listen_error("[::1]:99999", "invalid port");
    /* One bad entry spoils the list. */
    expect_listen_error("127.0.0.1:1,bad", "expected HOST:PORT");

    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(spec, sizeof(spec), "%s:80", host);
    expect_listen_error(spec, "host name too long");
}

/* ---- CIDR ---- */

static void
test_cidr_parse(void **state)
{
    struct cidr c;
    static const uint8_t ten[4] = {10, 0, 0, 0};
    static const uint8_t loop6[16] = {[15] = 1};

    assert_true(cidr_parse("10.0.0.0/8", &c));
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 8);
    assert_memory_equal(c.addr, ten, 4);

    assert_true(cidr_parse("192.168.1.7", &c));
    assert_int_equal(c.family, AF_INET);
    assert_int_equal(c.prefix, 32);

    assert_true(cidr_parse("::1", &c));
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 128);
    assert_memory_equal(c.addr, loop6, 16);

    assert_true(cidr_parse("::/0", &c));
    assert_int_equal(c.family, AF_INET6);
    assert_int_equal(c.prefix, 0);
    assert_true(cidr_parse("0.0.0.0/0", &c));
    assert_int_equal(c.prefix, 0);
    assert_true(cidr_parse("2001:db8::/32", &c));
    assert_int_equal(c.prefix, 32);
    assert_true(cidr_parse("10.0.0.0/32", &c));
    assert_true(cidr_parse("::/128", &c));
    assert_true(cidr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", &c));

    assert_false(cidr_parse("10.0.0.0/33", &c));
    assert_false(cidr_parse("::/129", &c));
    assert_false(cidr_parse("10.0.0.0/", &c));
    assert_false(cidr_parse("10.0.0.0/-1", &c));
    assert_false(cidr_parse("10.0.0.0/8/8", &c));
    assert_false(cidr_parse("10.0.0.0/ 8", &c));
    assert_false(cidr_parse("10.0.0.0/8x", &c));
    assert_false(cidr_parse("10.0.0/8", &c));
    assert_false(cidr_parse("256.0.0.0/8", &c));
    assert_false(cidr_parse("example.org", &c));
    assert_false(cidr_parse("", &c));
    assert_false(cidr_parse("/8", &c));
    assert_false(cidr_parse("[::1]", &c));
    assert_false(cidr_parse("::1%lo", &c));
    assert_false(cidr_parse("1111:2222:3333:4444:5555:6666:7777:8888:9999/128", &c));
    assert_false(
        cidr_parse("1111:2222:3333:4444:5555:6666:7777:8888/128 and then much more text", &c));
}

static bool
match(const char *cidr, const struct sockaddr *sa)
{
    struct cidr c;

    assert_true(cidr_parse(cidr, &c));
    return cidr_match(&c, sa);
}

static void
test_cidr_match_v4(void **state)
{
    assert_true(match("10.0.0.0/8", v4("10.1.2.3", 1)));
    assert_true(match("10.0.0.0/8", v4("10.255.255.255", 1)));
    assert_false(match("10.0.0.0/8", v4("11.0.0.1", 1)));
    assert_false(match("10.0.0.0/8", v4("9.255.255.255", 1)));
    assert_true(match("10.0.0.0/9", v4("10.127.0.1", 1)));
    assert_false(match("10.0.0.0/9", v4("10.128.0.1", 1)));
    assert_true(match("192.168.1.7", v4("192.168.1.7", 9)));
    assert_false(match("192.168.1.7", v4("192.168.1.8", 9)));
    assert_true(match("192.168.1.7/31", v4("192.168.1.6", 9)));
    /* Host bits in the CIDR are ignored. */
    assert_true(match("10.1.2.3/8", v4("10.9.9.9", 1)));
    assert_true(match("0.0.0.0/0", v4("203.0.113.1", 1)));
    assert_true(match("0.0.0.0/0", v4("0.0.0.0", 1)));
    /* An IPv4 rule never matches a native IPv6 peer. */
    assert_false(match("0.0.0.0/0", v6("::1", 1)));
    assert_false(match("0.0.0.0/0", v6("2001:db8::1", 1)));
}

static void
test_cidr_match_v6(void **state)
{
    assert_true(match("2001:db8::/32", v6("2001:db8:1::1", 1)));
    assert_false(match("2001:db8::/32", v6("2001:db9::1", 1)));
    assert_true(match("2001:db8::/33", v6("2001:db8:7fff::1", 1)));
    assert_false(match("2001:db8::/33", v6("2001:db8:8000::1", 1)));
    assert_true(match("::1", v6("::1", 1)));
    assert_false(match("::1", v6("::2", 1)));
    assert_true(match("::/0", v6("2001:db8::1", 1)));
    assert_true(match("::/0", v6("::", 1)));
    assert_true(match("fe80::/10", v6("febf::1", 1)));
    assert_false(match("fe80::/10", v6("fec0::1", 1)));
    /* An IPv6 rule never matches an IPv4 peer. */
    assert_false(match("::/0", v4("10.0.0.1", 1)));
    assert_false(match("::1", v4("127.0.0.1", 1)));
}

static void
test_cidr_match_v4_mapped_peer(void **state)
{
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; IPv4 rules apply to them. */
    assert_true(match("10.0.0.0/8", v6("::ffff:10.1.2.3", 1)));
    assert_false(match("10.0.0.0/8", v6("::ffff:11.1.2.3", 1)));
    assert_true(match("127.0.0.1", v6("::ffff:127.0.0.1", 1)));
    assert_true(match("0.0.0.0/0", v6("::ffff:192.0.2.1", 1)));
}

/*
 * The same rule written in IPv4-mapped form: a bare address is documented as "a host route", so a
 * peer with exactly that address must match it, whether it arrives as IPv4 or as mapped IPv6.
 */
static void
test_cidr_match_v4_mapped_rule(void **state)
{
    assert_true(match("::ffff:127.0.0.1", v6("::ffff:127.0.0.1", 1)));
    assert_true(match("::ffff:127.0.0.1", v4("127.0.0.1", 1)));
    assert_true(match("::ffff:10.0.0.0/104", v6("::ffff:10.1.2.3", 1)));
    assert_true(match("::ffff:10.0.0.0/104", v4("10.1.2.3", 1)));
    assert_false(match("::ffff:10.0.0.0/104", v4("11.1.2.3", 1)));
}

static void
test_cidr_match_unix(void **state)
{
    assert_false(match("0.0.0.0/0", unix_addr("/tmp/s")));
    assert_false(match("::/0", unix_addr("/tmp/s")));
}

static void
test_cidr_list(void **state)
{
    struct cidr *c = (struct cidr *)1;
    size_t n = 99;
    const char *why = NULL;

    assert_true(cidr_parse_list("", &c, &n, &why));
    assert_int_equal(n, 0);
    assert_null(c);
    assert_true(cidr_parse_list(" , ,", &c, &n, &why));
    assert_int_equal(n, 0);
    free(c);

    assert_true(cidr_parse_list("10.0.0.0/8, ::1 ,192.168.0.0/16", &c, &n, &why));
    assert_int_equal(n, 3);
    assert_int_equal(c[0].family, AF_INET);
    assert_int_equal(c[0].prefix, 8);
    assert_int_equal(c[1].family, AF_INET6);
    assert_int_equal(c[1].prefix, 128);
    assert_int_equal(c[2].prefix, 16);
    free(c);

    why = NULL;
    assert_false(cidr_parse_list("10.0.0.0/8,bogus", &c, &n, &why));
    assert_non_null(why);
    assert_non_null(strstr(why, "invalid address or CIDR"));
    why = NULL;
    assert_false(cidr_parse_list("10.0.0.0/40", &c, &n, &why));
    assert_non_null(why);
}

/* ---- helpers on sockaddrs ---- */

static void
test_addr_parse_ip(void **state)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;

    assert_true(addr_parse_ip("192.0.2.1", 80, &ss, &len));
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(addr_port(SA(ss)), 80);
    assert_true(addr_parse_ip("2001:db8::1", 65535, &ss, &len));
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(addr_port(SA(ss)), 65535);
    assert_false(addr_parse_ip("192.0.2.1", 0, &ss, &len));
    assert_false(addr_parse_ip("192.0.2.1", 65536, &ss, &len));
    assert_false(addr_parse_ip("192.0.2.1", -1, &ss, &len));
    assert_false(addr_parse_ip("localhost", 80, &ss, &len));
    assert_false(addr_parse_ip("[::1]", 80, &ss, &len));
    assert_false(addr_parse_ip("", 80, &ss, &len));
}

static void
test_addr_is_loopback(void **state)
{
    assert_true(addr_is_loopback(v4("127.0.0.1", 1)));
    assert_true(addr_is_loopback(v4("127.255.0.9", 1)));
    assert_true(addr_is_loopback(v6("::1", 1)));
    assert_true(addr_is_loopback(v6("::ffff:127.0.0.1", 1)));
    assert_true(addr_is_loopback(unix_addr("/tmp/x")));
    assert_false(addr_is_loopback(v4("128.0.0.1", 1)));
    assert_false(addr_is_loopback(v4("10.0.0.1", 1)));
    assert_false(addr_is_loopback(v6("::", 1)));
    assert_false(addr_is_loopback(v6("::2", 1)));
    assert_false(addr_is_loopback(v6("::ffff:10.0.0.1", 1)));
}

static void
test_addr_same_host(void **state)
{
    /* Every loopback address is one host. */
    assert_true(addr_same_host(v4("127.0.0.1", 1), v6("::1", 2)));
    assert_true(addr_same_host(v4("127.0.0.1", 1), v4("127.0.0.2", 1)));
    assert_true(addr_same_host(v6("::ffff:127.0.0.1", 1), v6("::1", 1)));
    assert_true(addr_same_host(unix_addr("/tmp/s"), v4("127.0.0.1", 1)));
    assert_true(addr_same_host(unix_addr("/tmp/s"), unix_addr("/tmp/t")));
    /* Ports are ignored; mapped IPv6 equals its IPv4 form. */
    assert_true(addr_same_host(v4("192.0.2.1", 1), v4("192.0.2.1", 2)));
    assert_true(addr_same_host(v4("192.0.2.1", 1), v6("::ffff:192.0.2.1", 9)));
    assert_true(addr_same_host(v6("2001:db8::1", 1), v6("2001:db8::1", 2)));
    /* Different hosts. */
    assert_false(addr_same_host(v4("192.0.2.1", 1), v4("192.0.2.2", 1)));
    assert_false(addr_same_host(v6("2001:db8::1", 1), v6("2001:db8::2", 1)));
    assert_false(addr_same_host(v4("127.0.0.1", 1), v4("192.0.2.1", 1)));
    assert_false(addr_same_host(v6("::1", 1), v6("2001:db8::1", 1)));
    assert_false(addr_same_host(unix_addr("/tmp/s"), v4("192.0.2.1", 1)));
    assert_false(addr_same_host(v4("192.0.2.1", 1), v6("2001:db8::1", 1)));
    /* ::ffff:0.0.0.1 is not 0.0.0.1 written as native IPv6 (::1 differs, see loopback). */
    assert_false(addr_same_host(v4("0.0.0.1", 1), v6("::1", 1)));
}

static void
test_addr_format(void **state)
{
    char buf[ADDR_STR_MAX];
    const struct sockaddr *u = unix_addr("/run/sb.sock");
    struct sockaddr_un unnamed;

    addr_format(v4("192.0.2.1", 80), sizeof(struct sockaddr_in), buf, sizeof(buf));
    assert_string_equal(buf, "192.0.2.1:80");
    addr_format(v6("::1", 8080), sizeof(struct sockaddr_in6), buf, sizeof(buf));
    assert_string_equal(buf, "[::1]:8080");
    addr_format(v6("2001:db8::1", 6667), sizeof(struct sockaddr_in6), buf, sizeof(buf));
    assert_string_equal(buf, "[2001:db8::1]:6667");
    addr_format(v6("::ffff:192.0.2.1", 443), sizeof(struct sockaddr_in6), buf, sizeof(buf));
    assert_string_equal(buf, "192.0.2.1:443");
    addr_format(v4("0.0.0.0", 0), sizeof(struct sockaddr_in), buf, sizeof(buf));
    assert_string_equal(buf, "0.0.0.0:0");
    addr_format(u, sizeof(struct sockaddr_un), buf, sizeof(buf));
    assert_string_equal(buf, "unix:/run/sb.sock");
    /* A length that cuts the path short is honoured. */
    addr_format(u, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4), buf, sizeof(buf));
    assert_string_equal(buf, "unix:/run");

    /* An unnamed peer (as accept() reports a client socket) prints as "unix". */
    memset(&unnamed, 0, sizeof(unnamed));
    unnamed.sun_family = AF_UNIX;
    addr_format((const struct sockaddr *)&unnamed, sizeof(sa_family_t), buf, sizeof(buf));
    assert_string_equal(buf, "unix");
    addr_format((const struct sockaddr *)&unnamed, sizeof(unnamed), buf, sizeof(buf));
    assert_string_equal(buf, "unix");

    /* A small buffer truncates but stays terminated. */
    addr_format(v6("2001:db8::1", 6667), sizeof(struct sockaddr_in6), buf, 8);
    assert_string_equal(buf, "[2001:d");
}

static void
test_addr_ip_port(void **state)
{
    char buf[64];

    addr_ip(v4("198.51.100.2", 1), buf, sizeof(buf));
    assert_string_equal(buf, "198.51.100.2");
    addr_ip(v6("2001:db8::5", 1), buf, sizeof(buf));
    assert_string_equal(buf, "2001:db8::5");
    addr_ip(v6("::ffff:198.51.100.2", 1), buf, sizeof(buf));
    assert_string_equal(buf, "198.51.100.2");
    addr_ip(unix_addr("/x"), buf, sizeof(buf));
    assert_string_equal(buf, "local");
    assert_int_equal(addr_port(v4("1.2.3.4", 4242)), 4242);
    assert_int_equal(addr_port(v6("::1", 1)), 1);
    assert_int_equal(addr_port(unix_addr("/x")), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_tcp),
        cmocka_unit_test(test_listen_v6),
        cmocka_unit_test(test_listen_unix),
        cmocka_unit_test(test_listen_list),
        cmocka_unit_test(test_listen_errors),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_match_v4),
        cmocka_unit_test(test_cidr_match_v6),
        cmocka_unit_test(test_cidr_match_v4_mapped_peer),
        cmocka_unit_test(test_cidr_match_v4_mapped_rule),
        cmocka_unit_test(test_cidr_match_unix),
        cmocka_unit_test(test_cidr_list),
        cmocka_unit_test(test_addr_parse_ip),
        cmocka_unit_test(test_addr_is_loopback),
        cmocka_unit_test(test_addr_same_host),
        cmocka_unit_test(test_addr_format),
        cmocka_unit_test(test_addr_ip_port),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
