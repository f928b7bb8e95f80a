/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the HTTP/1.1 client codec (src/proto/http.c): URL parsing, formatting and
 * resolution (RFC 3986 section 5.4), the response head, body framing (RFC 9112 section 6.3) and
 * the chunked decoder fed in every split. Inputs are copied into heap buffers of exactly their
 * length so that a sanitizer build catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/http.h"
#include "tests/unit/unit.h"

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

/* ----------------------------------------------------------------------------------------- */
/* URLs */

static struct url *
url_new(void)
{
    struct url *u = calloc(1, sizeof(*u));

    assert_non_null(u);
    return u;
}

/* url_parse() must accept @s as (tls, host, ipv6, port, target). */
static void
expect_url(const char *s, bool tls, const char *host, bool ipv6, unsigned port, const char *target)
{
    struct url *u = url_new();
    const char *why = NULL;

    if (!url_parse(s, u, &why)) {
        fail_msg("url_parse(\"%s\") failed: %s", s, why);
    }
    assert_int_equal(u->tls, tls);
    assert_string_equal(u->host, host);
    assert_int_equal(u->ipv6, ipv6);
    assert_int_equal(u->port, port);
    assert_string_equal(u->target, target);
    free(u);
}

/* url_parse() must refuse @s with a reason containing @want. */
static void
expect_url_error(const char *s, const char *want)
{
    struct url *u = url_new();
    const char *why = NULL;

    if (url_parse(s, u, &why)) {
        fail_msg("url_parse(\"%s\") accepted: %s %s", s, u->host, u->target);
    }
    assert_non_null(why);
    if (strstr(why, want) == NULL) {
        fail_msg("url_parse(\"%s\"): \"%s\", expected \"%s\"", s, why, want);
    }
    free(u);
}

static void
test_url_parse_basic(void **state)
{
    expect_url("http://example.com/", false, "example.com", false, 80, "/");
    expect_url("http://example.com", false, "example.com", false, 80, "/");
    expect_url("https://example.com", true, "example.com", false, 443, "/");
    expect_url("http://example.com:8080/a/b?c=d&e", false, "example.com", false, 8080,
               "/a/b?c=d&e");
    expect_url("http://example.com?q", false, "example.com", false, 80, "/?q");
    expect_url("http://example.com/?", false, "example.com", false, 80, "/?");
    expect_url("http://127.0.0.1:5555/x", false, "127.0.0.1", false, 5555, "/x");
    expect_url("http://my_host-1.example./", false, "my_host-1.example.", false, 80, "/");
    /* Scheme and host are case-insensitive and lower-cased; the path keeps its case. */
    expect_url("HTTP://EXAMPLE.COM/Path?Q=A", false, "example.com", false, 80, "/Path?Q=A");
    expect_url("HtTpS://WwW.Example.Org:8443", true, "www.example.org", false, 8443, "/");
}

static void
test_url_parse_ports(void **state)
{
    expect_url("http://h:1/", false, "h", false, 1, "/");
    expect_url("http://h:65535/", false, "h", false, 65535, "/");
    expect_url("http://h:080/", false, "h", false, 80, "/");
    expect_url("https://h:443/", true, "h", false, 443, "/");
    expect_url("https://h:80/", true, "h", false, 80, "/");
    expect_url("http://h:443/", false, "h", false, 443, "/");
    /* An empty port is the default one (RFC 3986 section 3.2.3). */
    expect_url("http://h:/x", false, "h", false, 80, "/x");
    expect_url("https://h:", true, "h", false, 443, "/");
    expect_url_error("http://h:0/", "bad port");
    expect_url_error("http://h:00000/", "bad port");
    expect_url_error("http://h:65536/", "bad port");
    expect_url_error("http://h:4294967377/", "bad port");
    expect_url_error("http://h:99999999999999999999999999/", "bad port");
    expect_url_error("http://h:8a/", "bad port");
    expect_url_error("http://h:-1/", "bad port");
    expect_url_error("http://h:+80/", "bad port");
    expect_url_error("http://h: 80/", "bad port");
    expect_url_error("http://h:80:81/", "bad port");
}

static void
test_url_parse_ipv6(void **state)
{
    expect_url("http://[::1]/", false, "::1", true, 80, "/");
    expect_url("http://[::1]:8080/a", false, "::1", true, 8080, "/a");
    expect_url("https://[2001:DB8:0:0::1]", true, "2001:db8::1", true, 443, "/");
    expect_url("http://[::ffff:192.0.2.1]:/", false, "::ffff:192.0.2.1", true, 80, "/");
    expect_url_error("http://[::1/", "IPv6");
    expect_url_error("http://[]/", "IPv6");
    expect_url_error("http://[zz::1]/", "IPv6");
    expect_url_error("http://[1:2:3:4:5:6:7:8:9]/", "IPv6");
    expect_url_error("http://[fe80::1%25eth0]/", "IPv6");
    expect_url_error("http://[v1.fe]/", "IPv6");
    expect_url_error("http://[127.0.0.1]/", "IPv6");
    expect_url_error("http://[::1]x/", "IPv6");
    expect_url_error("http://[::1]:0/", "bad port");
    expect_url_error("http://::1/", "host");
}

static void
test_url_parse_refused(void **state)
{
    char *s, *longhost;

    expect_url_error("http://user:pass@example.com/", "userinfo");
    expect_url_error("http://user@example.com/", "userinfo");
    expect_url_error("http://@example.com/", "userinfo");
    expect_url_error("ftp://example.com/", "scheme");
    expect_url_error("file:///etc/passwd", "scheme");
    expect_url_error("httpx://example.com/", "scheme");
    expect_url_error("ws://example.com/", "scheme");
    expect_url_error("//example.com/", "scheme");
    expect_url_error("example.com", "scheme");
    expect_url_error("/path", "scheme");
    expect_url_error("", "scheme");
    expect_url_error("http:example.com", "host");
    expect_url_error("http:/example.com", "host");
    expect_url_error("http:///x", "host");
    expect_url_error("http://", "host");
    expect_url_error("http://:80/", "host");
    expect_url_error("http://exa mple.com/", "host");
    expect_url_error("http://exa%6dple.com/", "host");
    expect_url_error("http://ex\xc3\xa4mple.com/", "host");
    expect_url_error("http:\\\\example.com\\", "host");
    expect_url_error("http://example.com\\x", "host");
    expect_url_error("http://example.com/a\r\nX-Injected: 1", "control");
    expect_url_error("http://example.com/\t", "control");
    expect_url_error("http://example.com/\x7f", "control");
    expect_url_error("http://example.com/#\x01", "control");
    expect_url_error("\x01http://example.com/", "control");

    /* Host names: 255 bytes are fine, 256 are not. */
    longhost = repeat('a', HTTP_HOST_MAX + 1);
    s = malloc(HTTP_HOST_MAX + 32);
    assert_non_null(s);
    snprintf(s, HTTP_HOST_MAX + 32, "http://%s/", longhost);
    expect_url_error(s, "too long");
    longhost[HTTP_HOST_MAX] = '\0';
    snprintf(s, HTTP_HOST_MAX + 32, "http://%s/", longhost);
    expect_url(s, false, longhost, false, 80, "/");
    free(s);
    free(longhost);
}

static void
test_url_parse_lengths(void **state)
{
    char *s = repeat('a', HTTP_URL_MAX + 1);
    struct url *u = url_new();
    const char *why = NULL;

    /* Exactly HTTP_URL_MAX bytes of URL: accepted. */
    memcpy(s, "http://h/", 9);
    s[HTTP_URL_MAX] = '\0';
    assert_true(url_parse(s, u, &why));
    assert_int_equal(strlen(u->target), HTTP_URL_MAX - 8);
    /* One more: refused. */
    s[HTTP_URL_MAX] = 'a';
    assert_false(url_parse(s, u, &why));
    assert_non_null(strstr(why, "too long"));
    /* Short enough to accept, but escaping makes the target too long. */
    memset(s + 9, ' ', 3000);
    s[9 + 3000] = '\0';
    why = NULL;
    assert_false(url_parse(s, u, &why));
    assert_non_null(strstr(why, "too long"));
    free(s);
    free(u);
}

static void
test_url_parse_fragment_escape(void **state)
{
    expect_url("http://a/b#frag", false, "a", false, 80, "/b");
    expect_url("http://a/b?q#frag?x/../y", false, "a", false, 80, "/b?q");
    expect_url("http://a#f", false, "a", false, 80, "/");
    expect_url("http://a:81#f", false, "a", false, 81, "/");
    expect_url("http://a/#", false, "a", false, 80, "/");
    expect_url("http://a/x y\"<>\\^`{|}", false, "a", false, 80,
               "/x%20y%22%3C%3E%5C%5E%60%7B%7C%7D");
    expect_url("http://a/caf\xc3\xa9?q=\xff", false, "a", false, 80, "/caf%C3%A9?q=%FF");
    expect_url("http://a/?a b=c&d", false, "a", false, 80, "/?a%20b=c&d");
    /* Existing escapes stay as they are (case too); a '%' that starts none is escaped. */
    expect_url("http://a/%41%2f%zz%4%", false, "a", false, 80, "/%41%2f%25zz%254%25");
    expect_url("http://a/?%%41", false, "a", false, 80, "/?%25%41");
    /* Allowed as they are: sub-delims, ':', '@', '[', ']', '?' in the query. */
    expect_url("http://a/!$&'()*+,;=:@[]~?/?", false, "a", false, 80, "/!$&'()*+,;=:@[]~?/?");
    /* Dot segments go; "%2e" is not a dot. */
    expect_url("http://a/b/../c/./d/..", false, "a", false, 80, "/c/");
    expect_url("http://a/../../x", false, "a", false, 80, "/x");
    expect_url("http://a/%2e%2e/x", false, "a", false, 80, "/%2e%2e/x");
    expect_url("http://a/x?../.", false, "a", false, 80, "/x?../.");
    expect_url("http://a//x//", false, "a", false, 80, "//x//");
}

static void
test_url_format(void **state)
{
    static const struct {
        const char *in, *out, *host;
    } cases[] = {
        {"http://Example.com", "http://example.com/", "example.com"},
        {"http://example.com:80/a", "http://example.com/a", "example.com"},
        {"http://example.com:443/a", "http://example.com:443/a", "example.com:443"},
        {"https://example.com:443/a?b", "https://example.com/a?b", "example.com"},
        {"https://example.com:80/", "https://example.com:80/", "example.com:80"},
        {"http://[::1]:8080/a?b", "http://[::1]:8080/a?b", "[::1]:8080"},
        {"https://[0:0::1]/", "https://[::1]/", "[::1]"},
        {"http://h:/x y#z", "http://h/x%20y", "h"},
    };
    struct url *u = url_new();
    char buf[HTTP_URL_MAX + 300];
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_true(url_parse(cases[i].in, u, &why));
        assert_true(url_format(u, buf, sizeof(buf)));
        assert_string_equal(buf, cases[i].out);
        assert_true(url_host_header(u, buf, sizeof(buf)));
        assert_string_equal(buf, cases[i].host);
    }

    /* Capacity: the string and its NUL must fit. */
    assert_true(url_parse("http://[::1]:8080/ab", u, &why));
    assert_true(url_format(u, buf, 21));
    assert_string_equal(buf, "http://[::1]:8080/ab");
    assert_false(url_format(u, buf, 20));
    assert_false(url_format(u, buf, 0));
    assert_true(url_host_header(u, buf, 11));
    assert_string_equal(buf, "[::1]:8080");
    assert_false(url_host_header(u, buf, 10));
    assert_false(url_host_header(u, buf, 0));
    free(u);
}

/* url_resolve(base, ref) must give the URL that formats as @want (NULL: must fail). */
static void
expect_resolve(const char *base, const char *ref, const char *want)
{
    struct url *b = url_new(), *out = url_new();
    const char *why = NULL;
    size_t n = strlen(ref);
    char *r = exact(ref, n);
    char buf[HTTP_URL_MAX + 300];

    assert_true(url_parse(base, b, &why));
    if (want == NULL) {
        if (url_resolve(b, r, n, out, &why)) {
            assert_true(url_format(out, buf, sizeof(buf)));
            fail_msg("resolve(\"%s\", \"%s\") gave %s, expected failure", base, ref, buf);
        }
        assert_non_null(why);
    } else {
        if (!url_resolve(b, r, n, out, &why)) {
            fail_msg("resolve(\"%s\", \"%s\") failed: %s", base, ref, why);
        }
        assert_true(url_format(out, buf, sizeof(buf)));
        if (strcmp(buf, want) != 0) {
            fail_msg("resolve(\"%s\", \"%s\") = %s, expected %s", base, ref, buf, want);
        }
        /* In place (out == base) gives the same. */
        assert_true(url_resolve(b, r, n, b, &why));
        assert_true(url_format(b, buf, sizeof(buf)));
        assert_string_equal(buf, want);
    }
    free(r);
    free(b);
    free(out);
}

#define RFC_BASE "http://a/b/c/d;p?q"

/* RFC 3986 section 5.4.1, "g:h" aside (we resolve http and https only). */
static void
test_url_resolve_rfc_normal(void **state)
{
    static const char *const cases[][2] = {
        {"g", "http://a/b/c/g"},
        {"./g", "http://a/b/c/g"},
        {"g/", "http://a/b/c/g/"},
        {"/g", "http://a/g"},
        {"//g", "http://g/"},
        {"?y", "http://a/b/c/d;p?y"},
        {"g?y", "http://a/b/c/g?y"},
        {"#s", "http://a/b/c/d;p?q"},
        {"g#s", "http://a/b/c/g"},
        {"g?y#s", "http://a/b/c/g?y"},
        {";x", "http://a/b/c/;x"},
        {"g;x", "http://a/b/c/g;x"},
        {"g;x?y#s", "http://a/b/c/g;x?y"},
        {"", "http://a/b/c/d;p?q"},
        {".", "http://a/b/c/"},
        {"./", "http://a/b/c/"},
        {"..", "http://a/b/"},
        {"../", "http://a/b/"},
        {"../g", "http://a/b/g"},
        {"../..", "http://a/"},
        {"../../", "http://a/"},
        {"../../g", "http://a/g"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_resolve(RFC_BASE, cases[i][0], cases[i][1]);
    }
    expect_resolve(RFC_BASE, "g:h", NULL);
}

/* RFC 3986 section 5.4.2, with the strict reading of "http:g". */
static void
test_url_resolve_rfc_abnormal(void **state)
{
    static const char *const cases[][2] = {
        {"../../../g", "http://a/g"},
        {"../../../../g", "http://a/g"},
        {"/./g", "http://a/g"},
        {"/../g", "http://a/g"},
        {"g.", "http://a/b/c/g."},
        {".g", "http://a/b/c/.g"},
        {"g..", "http://a/b/c/g.."},
        {"..g", "http://a/b/c/..g"},
        {"./../g", "http://a/b/g"},
        {"./g/.", "http://a/b/c/g/"},
        {"g/./h", "http://a/b/c/g/h"},
        {"g/../h", "http://a/b/c/h"},
        {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
        {"g;x=1/../y", "http://a/b/c/y"},
        {"g?y/./x", "http://a/b/c/g?y/./x"},
        {"g?y/../x", "http://a/b/c/g?y/../x"},
        {"g#s/./x", "http://a/b/c/g"},
        {"g#s/../x", "http://a/b/c/g"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_resolve(RFC_BASE, cases[i][0], cases[i][1]);
    }
    expect_resolve(RFC_BASE, "http:g", NULL);
    expect_resolve(RFC_BASE, "http:/g", NULL);
}

static void
test_url_resolve_forms(void **state)
{
    /* Absolute URLs replace everything, and are normalised like url_parse() does. */
    expect_resolve("http://a/b", "https://Other.EXAMPLE:8443/x/../y?z#f",
                   "https://other.example:8443/y?z");
    expect_resolve("https://a:8443/b", "HTTP://x", "http://x/");
    expect_resolve("http://a/b", "http://[::1]:81/", "http://[::1]:81/");
    /* Scheme-relative: the base's scheme, and its default port, not the base's port. */
    expect_resolve("https://a:8443/b", "//other/x", "https://other/x");
    expect_resolve("http://a:81/b", "//other:82", "http://other:82/");
    expect_resolve("http://a/b", "//[2001:db8::1]/x", "http://[2001:db8::1]/x");
    /* Host and port come from the base for paths and queries. */
    expect_resolve("https://[::1]:8443/a/b?c", "d", "https://[::1]:8443/a/d");
    expect_resolve("https://[::1]:8443/a/b?c", "/d", "https://[::1]:8443/d");
    expect_resolve("http://a", "b/c", "http://a/b/c");
    expect_resolve("http://a", "?q", "http://a/?q");
    expect_resolve("http://a/x?old", "?", "http://a/x?");
    expect_resolve("http://a/x?old", "#f", "http://a/x?old");
    expect_resolve("http://a/x/", "", "http://a/x/");
    /* A path with a ':' after a '/' is a path, not a scheme. */
    expect_resolve("http://a/b/c", "./x:y", "http://a/b/x:y");
    expect_resolve("http://a/b/c", "x/y:z", "http://a/b/x/y:z");
    expect_resolve("http://a/b/c", "?x:y", "http://a/b/c?x:y");
    /* Escaping applies to the reference; the base's escapes are kept. */
    expect_resolve("http://a/b%20c/d", "e f?g h", "http://a/b%20c/e%20f?g%20h");
    expect_resolve("http://a/b", "/\xc3\xa9%41%", "http://a/%C3%A9%41%25");

    /* Refused: other schemes, userinfo, bad hosts and ports, controls. */
    expect_resolve("http://a/b", "ftp://x/", NULL);
    expect_resolve("http://a/b", "javascript:alert(1)", NULL);
    expect_resolve("http://a/b", "mailto:x@y", NULL);
    expect_resolve("http://a/b", "data:text/html,x", NULL);
    expect_resolve("http://a/b", "https://u:p@x/", NULL);
    expect_resolve("http://a/b", "//u@x/", NULL);
    expect_resolve("http://a/b", "//", NULL);
    expect_resolve("http://a/b", "///x", NULL);
    expect_resolve("http://a/b", "//x:0/", NULL);
    expect_resolve("http://a/b", "//[::g]/", NULL);
    expect_resolve("http://a/b", "/x\r\nSet-Cookie: a=b", NULL);
    expect_resolve("http://a/b", "/x\ty", NULL);
    expect_resolve("http://a/b", " /x\x7f", NULL);
}

static void
test_url_resolve_bounds(void **state)
{
    struct url *b = url_new(), *out = url_new();
    const char *why = NULL;
    char *ref = repeat('x', HTTP_URL_MAX + 1);

    assert_true(url_parse("http://a/b/c", b, &why));
    /* The reference is a slice: bytes past ref_len are never looked at. */
    assert_true(url_resolve(b, "/abc\r\n", 4, out, &why));
    assert_string_equal(out->target, "/abc");
    assert_true(url_resolve(b, "?q#\x01", 2, out, &why));
    assert_string_equal(out->target, "/b/c?q");
    assert_true(url_resolve(b, NULL, 0, out, &why));
    assert_string_equal(out->target, "/b/c");
    /* A NUL inside the slice is a control character. */
    why = NULL;
    assert_false(url_resolve(b, "/a\0b", 4, out, &why));
    assert_non_null(strstr(why, "control"));

    /* Too long before, and after escaping. */
    why = NULL;
    assert_false(url_resolve(b, ref, HTTP_URL_MAX + 1, out, &why));
    assert_non_null(strstr(why, "too long"));
    ref[0] = '/';
    assert_true(url_resolve(b, ref, HTTP_URL_MAX, out, &why));
    assert_int_equal(strlen(out->target), HTTP_URL_MAX);
    /* The same length relative to a directory is one directory too long. */
    ref[0] = 'x';
    why = NULL;
    assert_false(url_resolve(b, ref, HTTP_URL_MAX, out, &why));
    assert_non_null(strstr(why, "too long"));
    memset(ref, '<', 3000);
    why = NULL;
    assert_false(url_resolve(b, ref, 3000, out, &why));
    assert_non_null(strstr(why, "too long"));

    /* A failed resolve leaves @out alone. */
    assert_true(url_parse("http://keep/me", out, &why));
    assert_false(url_resolve(b, "ftp://x", 7, out, &why));
    assert_string_equal(out->host, "keep");
    assert_string_equal(out->target, "/me");
    free(ref);
    free(b);
    free(out);
}

/* ----------------------------------------------------------------------------------------- */
/* Response head */

static struct http_head *
head_new(void)
{
    struct http_head *h = calloc(1, sizeof(*h));

    assert_non_null(h);
    return h;
}

/* The copy the last head_parse_n() parsed, which the fields of its head point into. */
static char *head_copy;

/* Parse a heap copy of [s, s + n); the copy lives until the next call or head_parse_done(). */
static enum parse_result
head_parse_n(const char *s, size_t n, struct http_head *h, size_t *used, const char **why)
{
    free(head_copy);
    head_copy = exact(s, n);
    return http_head_parse(head_copy, n, h, used, why);
}

static void
head_parse_done(void)
{
    free(head_copy);
    head_copy = NULL;
}

static void
expect_head_error(const char *s, const char *want)
{
    struct http_head *h = head_new();
    const char *why = NULL;
    size_t used = 0;

    if (head_parse_n(s, strlen(s), h, &used, &why) != PARSE_ERR) {
        fail_msg("head \"%s\" not refused", s);
    }
    assert_non_null(why);
    if (strstr(why, want) == NULL) {
        fail_msg("head \"%s\": \"%s\", expected \"%s\"", s, why, want);
    }
    free(h);
    head_parse_done();
}

static void
test_head_crlf(void **state)
{
    const char in[] = "HTTP/1.1 200 OK\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n"
                      "X-Empty:\r\n"
                      "X-Blanks: \t spaced  out \t \r\n"
                      "content-length:5\r\n"
                      "\r\n"
                      "hello";
    size_t n = sizeof(in) - 1;
    char *p = exact(in, n);
    struct http_head *h = head_new();
    const char *why = NULL;
    size_t used = 0;

    assert_int_equal(http_head_parse(p, n, h, &used, &why), PARSE_OK);
    assert_int_equal(used, n - 5);
    assert_int_equal(h->minor, 1);
    assert_int_equal(h->status, 200);
    assert_slice(h->reason, "OK");
    assert_int_equal(h->nfields, 4);
    assert_slice(h->fields[0].name, "Content-Type");
    assert_slice(h->fields[0].value, "text/html; charset=utf-8");
    assert_slice(h->fields[1].name, "X-Empty");
    assert_slice(h->fields[1].value, "");
    assert_slice(h->fields[2].value, "spaced  out");
    assert_slice(h->fields[3].name, "content-length");
    assert_slice(h->fields[3].value, "5");
    assert_ptr_equal(h->fields[0].name.p, p + 17);

    assert_non_null(http_head_get(h, "CONTENT-LENGTH"));
    assert_slice(*http_head_get(h, "Content-Length"), "5");
    assert_slice(*http_head_get(h, "content-type"), "text/html; charset=utf-8");
    assert_null(http_head_get(h, "Content"));
    assert_null(http_head_get(h, "Location"));
    free(p);
    free(h);
    head_parse_done();
}

static void
test_head_lf_and_reason(void **state)
{
    struct http_head *h = head_new();
    const char *why = NULL;
    size_t used = 0;
    const char *in = "HTTP/1.0 404 Not \tFound \xc3\xa9\nA: 1\nA: 2\r\n\nbody";

    assert_int_equal(head_parse_n(in, strlen(in), h, &used, &why), PARSE_OK);
    assert_int_equal(used, strlen(in) - 4);
    assert_int_equal(h->minor, 0);
    assert_int_equal(h->status, 404);
    assert_int_equal(h->reason.n, strlen("Not \tFound \xc3\xa9"));
    assert_int_equal(h->nfields, 2);
    /* The first of several fields of one name. */
    assert_slice(*http_head_get(h, "a"), "1");

    in = "HTTP/1.1 200\r\n\r\n";
    assert_int_equal(head_parse_n(in, strlen(in), h, &used, &why), PARSE_OK);
    assert_int_equal(h->status, 200);
    assert_int_equal(h->reason.n, 0);
    assert_int_equal(h->nfields, 0);
    assert_int_equal(used, strlen(in));

    in = "HTTP/1.1 999 \n\n";
    assert_int_equal(head_parse_n(in, strlen(in), h, &used, &why), PARSE_OK);
    assert_int_equal(h->status, 999);
    assert_int_equal(h->reason.n, 0);

    in = "HTTP/1.9 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    assert_int_equal(head_parse_n(in, strlen(in), h, &used, &why), PARSE_OK);
    assert_int_equal(h->minor, 9);
    assert_int_equal(h->status, 100);
    assert_int_equal(used, 25);
    free(h);
    head_parse_done();
}

/* Every proper prefix of a valid head is incomplete, never an error. */
static void
test_head_incremental(void **state)
{
    static const char *const heads[] = {
        "HTTP/1.1 200 OK\r\nA: b\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 301 Moved\nLocation: /x\n\n",
        "HTTP/1.0 204\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: \r\nY:\t\r\n\n",
    };
    struct http_head *h = head_new();

    for (size_t k = 0; k < sizeof(heads) / sizeof(heads[0]); k++) {
        size_t n = strlen(heads[k]), used = 0;
        const char *why = NULL;

        for (size_t i = 0; i < n; i++) {
            if (head_parse_n(heads[k], i, h, &used, &why) != PARSE_AGAIN) {
                fail_msg("head %zu: prefix of %zu bytes not PARSE_AGAIN (%s)", k, i, why);
            }
        }
        assert_int_equal(head_parse_n(heads[k], n, h, &used, &why), PARSE_OK);
        assert_int_equal(used, n);
    }
    free(h);
    head_parse_done();
}

static void
test_head_status_line(void **state)
{
    static const char *const bad[] = {
        "HTTP/2 200 OK\r\n\r\n",    "HTTP/2.0 200 OK\r\n\r\n", "HTTP/1.10 200 OK\r\n\r\n",
        "HTTP/1.x 200 OK\r\n\r\n",  "http/1.1 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",  "HTTP/1.1\t200 OK\r\n\r\n",
        "HTTP/1.1 -20 OK\r\n\r\n",  "HTTP/1.1\r\n\r\n",        "\r\nHTTP/1.1 200 OK\r\n\r\n",
        " HTTP/1.1 200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",      "SSH-2.0-OpenSSH\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        expect_head_error(bad[i], "status line");
    }
    expect_head_error("HTTP/1.1 200 O\x01K\r\n\r\n", "reason");
    expect_head_error("HTTP/1.1 200 O\x7fK\r\n\r\n", "reason");
    expect_head_error("HTTP/1.1 200 OK\rX\r\n\r\n", "bare CR");

    /* Not HTTP at all: refused from the first wrong byte, long before a line end. */
    struct http_head *h = head_new();
    const char *why = NULL;
    size_t used = 0;
    assert_int_equal(head_parse_n("X", 1, h, &used, &why), PARSE_ERR);
    assert_int_equal(head_parse_n("HTTP/2", 6, h, &used, &why), PARSE_ERR);
    assert_int_equal(head_parse_n("HTTP/1", 6, h, &used, &why), PARSE_AGAIN);
    assert_int_equal(head_parse_n("", 0, h, &used, &why), PARSE_AGAIN);
    free(h);
    head_parse_done();
}

static void
test_head_fields_bad(void **state)
{
    struct http_head *h = head_new();
    const char *why = NULL;
    size_t used = 0;
    static const char nul[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n";

    expect_head_error("HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", "folding");
    expect_head_error("HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", "folding");
    expect_head_error("HTTP/1.1 200 OK\r\n A: b\r\n\r\n", "folding");
    expect_head_error("HTTP/1.1 200 OK\r\nA : b\r\n\r\n", "name");
    expect_head_error("HTTP/1.1 200 OK\r\nA\t: b\r\n\r\n", "name");
    expect_head_error("HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n", "name");
    expect_head_error("HTTP/1.1 200 OK\r\nA\x80: c\r\n\r\n", "name");
    expect_head_error("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "field");
    expect_head_error("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", "field");
    expect_head_error("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", "bare CR");
    expect_head_error("HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n", "bare CR");
    expect_head_error("HTTP/1.1 200 OK\r\nA: b\r\n\r\r\n", "bare CR");

    assert_int_equal(head_parse_n(nul, sizeof(nul) - 1, h, &used, &why), PARSE_ERR);
    assert_non_null(strstr(why, "NUL"));

    /* Other controls and obs-text are kept in values (RFC 9110 section 5.5). */
    const char *ok = "HTTP/1.1 200 OK\r\nA: \x01\xff\x7f b\r\n\r\n";
    assert_int_equal(head_parse_n(ok, strlen(ok), h, &used, &why), PARSE_OK);
    assert_slice(h->fields[0].value, "\x01\xff\x7f b");
    free(h);
    head_parse_done();
}

/* "HTTP/1.1 200 OK\r\n" + @nfields fields + "\r\n" (caller frees). */
static char *
head_with_fields(size_t nfields, size_t *len)
{
    size_t cap = 32 + nfields * 16, n = 0;
    char *s = malloc(cap);

    assert_non_null(s);
    n += (size_t)snprintf(s + n, cap - n, "HTTP/1.1 200 OK\r\n");
    for (size_t i = 0; i < nfields; i++) {
        n += (size_t)snprintf(s + n, cap - n, "F%zu: %zu\r\n", i, i);
    }
    n += (size_t)snprintf(s + n, cap - n, "\r\n");
    *len = n;
    return s;
}

static void
test_head_limits(void **state)
{
    struct http_head *h = head_new();
    const char *why = NULL;
    size_t used = 0, n;
    char *s;

    s = head_with_fields(HTTP_FIELDS_MAX, &n);
    assert_int_equal(head_parse_n(s, n, h, &used, &why), PARSE_OK);
    assert_int_equal(h->nfields, HTTP_FIELDS_MAX);
    assert_slice(h->fields[HTTP_FIELDS_MAX - 1].value, "127");
    free(s);
    s = head_with_fields(HTTP_FIELDS_MAX + 1, &n);
    assert_int_equal(head_parse_n(s, n, h, &used, &why), PARSE_ERR);
    assert_non_null(strstr(why, "too many"));
    /* Detected as soon as the extra field is complete, before the head ends. */
    why = NULL;
    assert_int_equal(head_parse_n(s, n - 2, h, &used, &why), PARSE_ERR);
    assert_non_null(strstr(why, "too many"));
    free(s);

    /* A head of exactly HTTP_HEAD_MAX bytes: "HTTP/1.1 200 OK\r\nX: aaa...\r\n\r\n". */
    s = malloc(HTTP_HEAD_MAX + 2);
    assert_non_null(s);
    memset(s, 'a', HTTP_HEAD_MAX + 2);
    memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
    memcpy(s + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
    assert_int_equal(head_parse_n(s, HTTP_HEAD_MAX, h, &used, &why), PARSE_OK);
    assert_int_equal(used, HTTP_HEAD_MAX);
    assert_int_equal(h->fields[0].value.n, HTTP_HEAD_MAX - 24);
    /* Its prefixes are incomplete... */
    assert_int_equal(head_parse_n(s, HTTP_HEAD_MAX - 1, h, &used, &why), PARSE_AGAIN);
    /* ... but one byte more is too long, whether or not the rest has arrived. */
    memcpy(s + HTTP_HEAD_MAX - 4, "a\r\n\r\n", 5);
    why = NULL;
    assert_int_equal(head_parse_n(s, HTTP_HEAD_MAX + 1, h, &used, &why), PARSE_ERR);
    assert_non_null(strstr(why, "too long"));
    why = NULL;
    assert_int_equal(head_parse_n(s, HTTP_HEAD_MAX, h, &used, &why), PARSE_ERR);
    assert_non_null(strstr(why, "too long"));
    assert_int_equal(head_parse_n(s, HTTP_HEAD_MAX - 1, h, &used, &why), PARSE_AGAIN);
    free(s);
    free(h);
    head_parse_done();
}

/* ----------------------------------------------------------------------------------------- */
/* Body framing */

/* Parse @head (must be valid) and find its framing. */
static enum parse_result
framing(const char *head, enum http_body *kind, uint64_t *length, const char **why)
{
    struct http_head *h = head_new();
    size_t used = 0;
    char *p = exact(head, strlen(head));
    enum parse_result r;

    if (http_head_parse(p, strlen(head), h, &used, why) != PARSE_OK) {
        fail_msg("head \"%s\" not parsed: %s", head, *why);
    }
    *kind = (enum http_body) - 1;
    *length = 12345;
    r = http_body_framing(h, kind, length, why);
    free(p);
    free(h);
    return r;
}

static void
expect_framing(const char *head, enum http_body want, uint64_t want_length)
{
    enum http_body kind;
    uint64_t length;
    const char *why = NULL;

    if (framing(head, &kind, &length, &why) != PARSE_OK) {
        fail_msg("framing of \"%s\" refused: %s", head, why);
    }
    assert_int_equal(kind, want);
    assert_true(length == want_length);
}

static void
expect_framing_error(const char *head, const char *want)
{
    enum http_body kind;
    uint64_t length;
    const char *why = NULL;

    if (framing(head, &kind, &length, &why) != PARSE_ERR) {
        fail_msg("framing of \"%s\" accepted", head);
    }
    assert_non_null(why);
    if (strstr(why, want) == NULL) {
        fail_msg("framing of \"%s\": \"%s\", expected \"%s\"", head, why, want);
    }
}

static void
test_framing_none(void **state)
{
    expect_framing("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", HTTP_BODY_NONE, 0);
    expect_framing("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
                   HTTP_BODY_NONE, 0);
    expect_framing("HTTP/1.1 100 Continue\r\n\r\n", HTTP_BODY_NONE, 0);
    expect_framing("HTTP/1.1 101 Switching\r\nContent-Length: x\r\n\r\n", HTTP_BODY_NONE, 0);
    expect_framing("HTTP/1.1 199 Whatever\r\nTransfer-Encoding: gzip\r\n\r\n", HTTP_BODY_NONE, 0);
}

static void
test_framing_length(void **state)
{
    expect_framing("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", HTTP_BODY_LENGTH, 0);
    expect_framing("HTTP/1.1 200 OK\r\ncontent-length: 42\r\n\r\n", HTTP_BODY_LENGTH, 42);
    expect_framing("HTTP/1.0 200 OK\r\nContent-Length: 0042\r\n\r\n", HTTP_BODY_LENGTH, 42);
    expect_framing("HTTP/1.1 404 OK\r\nContent-Length: 42 ,42,\t42\r\n\r\n", HTTP_BODY_LENGTH, 42);
    expect_framing("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX: y\r\nContent-Length: 7\r\n\r\n",
                   HTTP_BODY_LENGTH, 7);
    expect_framing("HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387904\r\n\r\n",
                   HTTP_BODY_LENGTH, UINT64_C(1) << 62);
    expect_framing("HTTP/1.1 200 OK\r\nContent-Length: 00000000000000000000000000001\r\n\r\n",
                   HTTP_BODY_LENGTH, 1);
    expect_framing("HTTP/1.1 200 OK\r\nContent-Lengthy: 5\r\n\r\n", HTTP_BODY_CLOSE, 0);
    expect_framing("HTTP/1.1 200 OK\r\n\r\n", HTTP_BODY_CLOSE, 0);
    expect_framing("HTTP/1.0 200 OK\r\n\r\n", HTTP_BODY_CLOSE, 0);

    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387905\r\n\r\n",
                         "too large");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
                         "too large");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                         "too large");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 42,\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 42,,42\r\n\r\n", "Content-Length");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 42, 43\r\n\r\n", "conflicting");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                         "conflicting");
    expect_framing_error("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: x\r\n\r\n",
                         "Content-Length");
}

static void
test_framing_chunked(void **state)
{
    expect_framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HTTP_BODY_CHUNKED, 0);
    expect_framing("HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\n\r\n", HTTP_BODY_CHUNKED, 0);
    /* Transfer-Encoding wins over Content-Length, even a bad one. */
    expect_framing("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                   HTTP_BODY_CHUNKED, 0);
    expect_framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: -1\r\n\r\n",
                   HTTP_BODY_CHUNKED, 0);
    /* Empty list elements, across fields. */
    expect_framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: ,\r\nTransfer-Encoding: , chunked ,\r\n"
                   "\r\n",
                   HTTP_BODY_CHUNKED, 0);

    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                         "transfer coding");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer coding");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n",
                         "transfer coding");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                         "transfer coding");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;a=b\r\n\r\n",
                         "transfer coding");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n",
                         "transfer coding");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
                         "more than once");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n",
                         "more than once");
    expect_framing_error("HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n", "empty");
    expect_framing_error("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.0");
}

/* ----------------------------------------------------------------------------------------- */
/* Chunked decoding */

struct decoded {
    enum parse_result r;
    size_t used;  /* bytes of the body consumed in all */
    size_t calls; /* steps taken */
    char data[1024];
    size_t data_len;
    const char *why;
};

/* Feed [s, s + n) to a fresh decoder in pieces of @piece bytes (0: all at once), each piece a
 * heap copy of exactly its size; stop at the first result other than PARSE_AGAIN. */
static void
decode(const char *s, size_t n, size_t piece, struct decoded *d)
{
    struct http_chunked c;
    size_t off = 0;

    memset(d, 0, sizeof(*d));
    d->r = PARSE_AGAIN;
    http_chunked_init(&c);
    while (off < n && d->r == PARSE_AGAIN) {
        size_t m = piece == 0 || piece > n - off ? n - off : piece, pos = 0;
        char *p = exact(s + off, m);

        while (pos < m) {
            const char *data = NULL;
            size_t used = 0, dl = 0;

            d->r = http_chunked_step(&c, p + pos, m - pos, &used, &data, &dl, &d->why);
            d->calls++;
            assert_true(used <= m - pos);
            if (d->r == PARSE_ERR) {
                break;
            }
            assert_true(used > 0);
            assert_true(dl <= used);
            if (dl > 0) {
                assert_true(data >= p + pos && data + dl <= p + pos + used);
                assert_true(d->data_len + dl <= sizeof(d->data));
                memcpy(d->data + d->data_len, data, dl);
                d->data_len += dl;
            }
            /* PARSE_OK never comes with data. */
            if (d->r == PARSE_OK) {
                assert_int_equal(dl, 0);
            }
            pos += used;
            d->used += used;
            if (d->r != PARSE_AGAIN) {
                break;
            }
        }
        free(p);
        off += m;
    }
}

/* Piece sizes and cut points to try: all of them for short bodies, a sample for long ones. */
static size_t
next_size(size_t k, size_t n)
{
    return k < 16 || n <= 512 ? k + 1 : k + n / 32;
}

/* @body decodes to @want in every split, stopping @rest bytes before its end. */
static void
expect_chunked(const char *body, size_t n, const char *want, size_t rest)
{
    struct decoded *d = malloc(sizeof(*d));

    assert_non_null(d);
    for (size_t piece = 0; piece <= n; piece = next_size(piece, n)) {
        decode(body, n, piece, d);
        if (d->r != PARSE_OK) {
            fail_msg("chunked body \"%s\" in pieces of %zu: result %d (%s)", body, piece, d->r,
                     d->why ? d->why : "");
        }
        assert_int_equal(d->used, n - rest);
        assert_int_equal(d->data_len, strlen(want));
        assert_memory_equal(d->data, want, d->data_len);
    }
    /* Every split into two pieces at any point. */
    for (size_t cut = 1; cut < n; cut = next_size(cut, n)) {
        struct http_chunked c;
        char *a = exact(body, cut), *b = exact(body + cut, n - cut);
        size_t got = 0, off = 0, used, dl;
        const char *data, *why = NULL;
        enum parse_result r = PARSE_AGAIN;
        char out[1024];

        http_chunked_init(&c);
        while (off < cut && r == PARSE_AGAIN) {
            r = http_chunked_step(&c, a + off, cut - off, &used, &data, &dl, &why);
            assert_int_not_equal(r, PARSE_ERR);
            memcpy(out + got, data, dl);
            got += dl;
            off += used;
        }
        off = 0;
        while (off < n - cut && r == PARSE_AGAIN) {
            r = http_chunked_step(&c, b + off, n - cut - off, &used, &data, &dl, &why);
            assert_int_not_equal(r, PARSE_ERR);
            memcpy(out + got, data, dl);
            got += dl;
            off += used;
        }
        assert_int_equal(r, PARSE_OK);
        assert_int_equal(got, strlen(want));
        assert_memory_equal(out, want, got);
        free(a);
        free(b);
    }
    free(d);
}

static void
test_chunked_valid(void **state)
{
    static const struct {
        const char *body, *data;
        size_t rest;
    } cases[] = {
        {"0\r\n\r\n", "", 0},
        {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 0},
        {"5\nhello\n0\n\n", "hello", 0},
        {"5\r\nhello\n0\r\n\n", "hello", 0},
        {"A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", 0},
        {"0005\r\nhello\r\n000\r\n\r\n", "hello", 0},
        {"1\r\n\r\r\n1\r\n\n\r\n0\r\n\r\n", "\r\n", 0},
        /* Extensions, with blanks around ';' and quoted values. */
        {"5;name=value;x=\"q;\\\"y\"\r\nhello\r\n0;last\r\n\r\n", "hello", 0},
        {"5 ;a\r\nhello\r\n0\t;\tb = c\r\n\r\n", "hello", 0},
        {"5 \r\nhello\r\n0 \t\r\n\r\n", "hello", 0},
        {"3;\xc3\xa9\x80\r\nabc\r\n0\r\n\r\n", "abc", 0},
        /* Trailers are skipped. */
        {"3\r\nabc\r\n0\r\nExpires: never\r\nX-A:b\r\nX-Empty:\r\n\r\n", "abc", 0},
        {"3\r\nabc\r\n0\nX: \x01\xff\n\n", "abc", 0},
        /* What follows belongs to the next message. */
        {"3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "abc", 17},
        {"0\r\n\r\n0\r\n\r\n", "", 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_chunked(cases[i].body, strlen(cases[i].body), cases[i].data, cases[i].rest);
    }
    /* Binary data, NUL included. */
    static const char bin[] = "4\r\n\0\r\n\xff\r\n0\r\n\r\n";
    struct decoded d;
    decode(bin, sizeof(bin) - 1, 1, &d);
    assert_int_equal(d.r, PARSE_OK);
    assert_int_equal(d.data_len, 4);
    assert_memory_equal(d.data, "\0\r\n\xff", 4);
}

/* @body must be refused (in every piece size) with a reason containing @want. */
static void
expect_chunked_error(const char *body, size_t n, const char *want)
{
    struct decoded *d = malloc(sizeof(*d));

    assert_non_null(d);
    for (size_t piece = 0; piece <= n; piece = next_size(piece, n)) {
        decode(body, n, piece, d);
        if (d->r != PARSE_ERR) {
            fail_msg("chunked body \"%s\" in pieces of %zu: result %d", body, piece, d->r);
        }
        assert_non_null(d->why);
        if (strstr(d->why, want) == NULL) {
            fail_msg("chunked body \"%s\": \"%s\", expected \"%s\"", body, d->why, want);
        }
    }
    free(d);
}

static void
expect_chunked_error_str(const char *body, const char *want)
{
    expect_chunked_error(body, strlen(body), want);
}

static void
test_chunked_errors(void **state)
{
    expect_chunked_error_str("g\r\n", "chunk size");
    expect_chunked_error_str("\r\n", "chunk size");
    expect_chunked_error_str("\n", "chunk size");
    expect_chunked_error_str(";ext\r\n", "chunk size");
    expect_chunked_error_str(" 5\r\n", "chunk size");
    expect_chunked_error_str("-5\r\n", "chunk size");
    expect_chunked_error_str("+5\r\n", "chunk size");
    expect_chunked_error_str("0x5\r\n", "chunk size");
    expect_chunked_error_str("5 5\r\n", "extension");
    expect_chunked_error_str("5\rX", "bare CR");
    expect_chunked_error_str("5\r\r\n", "bare CR");
    expect_chunked_error_str("5;a\x01\r\n", "extension");
    expect_chunked_error_str("5;a\x7f\r\n", "extension");
    expect_chunked_error_str("5;a\rb\r\n", "bare CR");
    /* Missing CRLF after the data. */
    expect_chunked_error_str("5\r\nhelloX\r\n0\r\n\r\n", "after chunk data");
    expect_chunked_error_str("5\r\nhello world\r\n", "after chunk data");
    expect_chunked_error_str("5\r\nhello\rX", "after chunk data");
    expect_chunked_error_str("5\r\nhello\r\r\n", "after chunk data");
    expect_chunked_error_str("5\r\nhello0\r\n\r\n", "after chunk data");
    /* Sizes: 15 hex digits are the most; leading zeros do not count. */
    expect_chunked_error_str("1000000000000000\r\n", "too large");
    expect_chunked_error_str("ffffffffffffffffffffffff\r\n", "too large");
    expect_chunked_error_str("000000000000000000001000000000000000\r\n", "too large");
    /* Trailers. */
    expect_chunked_error_str("0\r\n folded\r\n\r\n", "trailer");
    expect_chunked_error_str("0\r\nA b: c\r\n\r\n", "trailer");
    expect_chunked_error_str("0\r\n:c\r\n\r\n", "trailer");
    expect_chunked_error_str("0\r\nNo colon\r\n\r\n", "trailer");
    expect_chunked_error_str("0\r\nA: b\rc\r\n\r\n", "bare CR");
    expect_chunked_error_str("0\r\n\rX", "bare CR");
    expect_chunked_error("0\r\nA: b\0\r\n\r\n", 12, "NUL");

    /* 15 hex digits are fine (the decoder then waits for data). */
    struct http_chunked c;
    const char *data, *why = NULL;
    size_t used, dl;
    const char big[] = "fffffffffffffff\r\nabc";
    http_chunked_init(&c);
    assert_int_equal(http_chunked_step(&c, big, sizeof(big) - 1, &used, &data, &dl, &why),
                     PARSE_AGAIN);
    assert_int_equal(used, sizeof(big) - 1);
    assert_int_equal(dl, 3);
    assert_true(c.left == UINT64_C(0xfffffffffffffff) - 3);
}

static void
test_chunked_limits(void **state)
{
    struct http_chunked c;
    const char *data, *why = NULL;
    size_t used, dl, n;
    char *s;

    /* A size line of HTTP_CHUNK_LINE_MAX bytes (CRLF aside) is fine; one more is not. */
    s = repeat('x', HTTP_CHUNK_LINE_MAX + 16);
    memcpy(s, "0;", 2);
    memcpy(s + HTTP_CHUNK_LINE_MAX, "\r\n\r\n", 4);
    expect_chunked(s, HTTP_CHUNK_LINE_MAX + 4, "", 0);
    memcpy(s + HTTP_CHUNK_LINE_MAX, "x\r\n\r\n", 5);
    http_chunked_init(&c);
    assert_int_equal(http_chunked_step(&c, s, HTTP_CHUNK_LINE_MAX + 5, &used, &data, &dl, &why),
                     PARSE_ERR);
    assert_non_null(strstr(why, "too long"));
    /* Detected before the line ends. */
    http_chunked_init(&c);
    assert_int_equal(http_chunked_step(&c, s, HTTP_CHUNK_LINE_MAX + 1, &used, &data, &dl, &why),
                     PARSE_ERR);
    free(s);
    /* Leading zeros count towards the line too. */
    s = repeat('0', HTTP_CHUNK_LINE_MAX + 1);
    http_chunked_init(&c);
    why = NULL;
    assert_int_equal(http_chunked_step(&c, s, HTTP_CHUNK_LINE_MAX + 1, &used, &data, &dl, &why),
                     PARSE_ERR);
    assert_non_null(strstr(why, "too long"));
    free(s);

    /* Trailers: HTTP_HEAD_MAX bytes in all. */
    n = HTTP_HEAD_MAX + 64;
    s = repeat('a', n);
    memcpy(s, "0\r\nX: ", 6);
    memcpy(s + 3 + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
    expect_chunked(s, 3 + HTTP_HEAD_MAX, "", 0);
    memcpy(s + 3 + HTTP_HEAD_MAX - 4, "a\r\n\r\n", 5);
    expect_chunked_error(s, 3 + HTTP_HEAD_MAX + 1, "trailer section too long");
    /* Many short trailer lines add up too. */
    for (size_t i = 3; i + 4 < n; i += 4) {
        memcpy(s + i, "A:\r\n", 4);
    }
    http_chunked_init(&c);
    assert_int_equal(http_chunked_step(&c, s, n, &used, &data, &dl, &why), PARSE_ERR);
    free(s);
}

static void
test_chunked_state(void **state)
{
    struct http_chunked c;
    const char *data, *why = NULL;
    size_t used = 99, dl = 99;
    const char body[] = "3\r\nabc\r\n0\r\n\r\n";

    http_chunked_init(&c);
    /* Framing bytes then data: one call returns right after the data. */
    assert_int_equal(http_chunked_step(&c, body, sizeof(body) - 1, &used, &data, &dl, &why),
                     PARSE_AGAIN);
    assert_int_equal(used, 6);
    assert_ptr_equal(data, body + 3);
    assert_int_equal(dl, 3);
    assert_int_equal(http_chunked_step(&c, body + 6, sizeof(body) - 7, &used, &data, &dl, &why),
                     PARSE_OK);
    assert_int_equal(used, sizeof(body) - 7);
    assert_int_equal(dl, 0);
    /* Done is done. */
    why = NULL;
    assert_int_equal(http_chunked_step(&c, "0", 1, &used, &data, &dl, &why), PARSE_ERR);
    assert_non_null(why);

    /* An error sticks. */
    http_chunked_init(&c);
    assert_int_equal(http_chunked_step(&c, "x", 1, &used, &data, &dl, &why), PARSE_ERR);
    why = NULL;
    assert_int_equal(http_chunked_step(&c, "0\r\n\r\n", 5, &used, &data, &dl, &why), PARSE_ERR);
    assert_non_null(why);

    /* A large chunk in small reads: data only, one slice per call. */
    http_chunked_init(&c);
    assert_int_equal(http_chunked_step(&c, "1000\r\n", 6, &used, &data, &dl, &why), PARSE_AGAIN);
    assert_int_equal(dl, 0);
    assert_true(c.left == 0x1000);
    char chunk[0x800];
    memset(chunk, 'z', sizeof(chunk));
    for (int k = 0; k < 2; k++) {
        assert_int_equal(http_chunked_step(&c, chunk, sizeof(chunk), &used, &data, &dl, &why),
                         PARSE_AGAIN);
        assert_int_equal(used, sizeof(chunk));
        assert_int_equal(dl, sizeof(chunk));
    }
    assert_int_equal(http_chunked_step(&c, "\r\n0\r\n\r\n", 7, &used, &data, &dl, &why), PARSE_OK);
    assert_int_equal(used, 7);
}

static void
test_status_redirects(void **state)
{
    static const int yes[] = {301, 302, 303, 307, 308};
    static const int no[] = {200, 300, 304, 305, 306, 309, 399, 0, -301};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_true(http_status_redirects(yes[i]));
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_false(http_status_redirects(no[i]));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse_basic),
        cmocka_unit_test(test_url_parse_ports),
        cmocka_unit_test(test_url_parse_ipv6),
        cmocka_unit_test(test_url_parse_refused),
        cmocka_unit_test(test_url_parse_lengths),
        cmocka_unit_test(test_url_parse_fragment_escape),
        cmocka_unit_test(test_url_format),
        cmocka_unit_test(test_url_resolve_rfc_normal),
        cmocka_unit_test(test_url_resolve_rfc_abnormal),
        cmocka_unit_test(test_url_resolve_forms),
        cmocka_unit_test(test_url_resolve_bounds),
        cmocka_unit_test(test_head_crlf),
        cmocka_unit_test(test_head_lf_and_reason),
        cmocka_unit_test(test_head_incremental),
        cmocka_unit_test(test_head_status_line),
        cmocka_unit_test(test_head_fields_bad),
        cmocka_unit_test(test_head_limits),
        cmocka_unit_test(test_framing_none),
        cmocka_unit_test(test_framing_length),
        cmocka_unit_test(test_framing_chunked),
        cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_errors),
        cmocka_unit_test(test_chunked_limits),
        cmocka_unit_test(test_chunked_state),
        cmocka_unit_test(test_status_redirects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
