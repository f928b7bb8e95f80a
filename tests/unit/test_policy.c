/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the socket policy codec: port range lists, domains, the generated document, and
 * the validation of policy files (Expat for well-formedness, then the vocabulary).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/policy.h"

static bool
ports(const char *s)
{
    const char *why = NULL;
    bool ok = policy_ports_valid(s, strlen(s), &why);
    if (!ok) {
        assert_non_null(why);
    }
    return ok;
}

static void
test_ports(void **state)
{
    assert_true(ports("*"));
    assert_true(ports("80"));
    assert_true(ports("1"));
    assert_true(ports("65535"));
    assert_true(ports("123,456-458"));
    assert_true(ports("5-5"));
    assert_true(ports("1-65535,80,443"));

    assert_false(ports(""));
    assert_false(ports("0"));
    assert_false(ports("65536"));
    assert_false(ports("70000"));
    assert_false(ports("99999999999999999999"));
    assert_false(ports("5-3"));
    assert_false(ports("abc"));
    assert_false(ports("80,"));
    assert_false(ports(",80"));
    assert_false(ports("80,,81"));
    assert_false(ports("80-"));
    assert_false(ports("-80"));
    assert_false(ports("1-2-3"));
    assert_false(ports("80 ,81"));
    assert_false(ports("+80"));
    assert_false(ports("**"));
    assert_false(ports("*,80"));
    /* The length is what counts, not a terminator. */
    assert_true(policy_ports_valid("80x", 2, &(const char *){NULL}));
}

static bool
domain(const char *s)
{
    return policy_domain_valid(s, strlen(s));
}

static void
test_domains(void **state)
{
    assert_true(domain("*"));
    assert_true(domain("example.com"));
    assert_true(domain("*.example.com"));
    assert_true(domain("localhost"));
    assert_true(domain("127.0.0.1"));
    assert_true(domain("swf-1.example_host.org"));

    assert_false(domain(""));
    assert_false(domain("*."));
    assert_false(domain("**"));
    assert_false(domain("a*b"));
    assert_false(domain("example..com"));
    assert_false(domain(".example.com"));
    assert_false(domain("example.com."));
    assert_false(domain("-example.com"));
    assert_false(domain("exa mple.com"));
    assert_false(domain("x\"/><evil"));
    assert_false(domain("a&b"));
}

static void
test_generate(void **state)
{
    const char *domains[] = {"*", "*.example.com"};
    char out[1024], why[256];
    size_t n = policy_generate(domains, 2, "123,456-458", "master-only", out, sizeof(out));
    const char *want =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE cross-domain-policy SYSTEM \"/xml/dtds/cross-domain-policy.dtd\">\n"
        "<cross-domain-policy>\n"
        "<site-control permitted-cross-domain-policies=\"master-only\"/>\n"
        "<allow-access-from domain=\"*\" to-ports=\"123,456-458\"/>\n"
        "<allow-access-from domain=\"*.example.com\" to-ports=\"123,456-458\"/>\n"
        "</cross-domain-policy>\n";

    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    assert_true(policy_check(out, n, why, sizeof(why)));

    /* Without site-control. */
    n = policy_generate(domains, 1, "*", NULL, out, sizeof(out));
    assert_non_null(strstr(out, "to-ports=\"*\""));
    assert_null(strstr(out, "site-control"));
    assert_true(policy_check(out, n, why, sizeof(why)));

    /* Too small a buffer: 0, never a truncated document. */
    for (size_t cap = 0; cap < strlen(want); cap += 7) {
        assert_int_equal(policy_generate(domains, 2, "123,456-458", "master-only", out, cap), 0);
    }
}

/* Check @doc; expect @ok, and when it fails a message containing @part. */
static void
check(const char *doc, bool ok, const char *part)
{
    char why[256] = "";
    bool got = policy_check(doc, strlen(doc), why, sizeof(why));

    if (got != ok || (!ok && part && strstr(why, part) == NULL)) {
        fail_msg("policy_check(%s) = %d (%s), expected %d with \"%s\"", doc, got, why, ok,
                 part ? part : "");
    }
}

#define HEAD "<?xml version=\"1.0\"?>\n"

static void
test_check_valid(void **state)
{
    check(HEAD "<cross-domain-policy/>", true, NULL);
    check("<cross-domain-policy></cross-domain-policy>\n", true, NULL);
    /* The seed's sample, comments and DOCTYPE included. */
    check("<?xml version=\"1.0\"?> <!DOCTYPE cross-domain-policy SYSTEM "
          "\"/xml/dtds/cross-domain-policy.dtd\"> <!-- Policy file for "
          "xmlsocket://socks.example.com --> <cross-domain-policy> <!-- This is a master socket "
          "policy file --> <!-- No other socket policies on the host will be permitted --> "
          "<site-control permitted-cross-domain-policies=\"master-only\"/> <!-- Instead of "
          "setting to-ports=\"*\", administrator's can use ranges and commas --> <!-- This will "
          "allow access to ports 123, 456, 457 and 458 --> <!--allow-access-from "
          "domain=\"swf.example.com\" to-ports=\"123,456-458\" /--> <allow-access-from "
          "domain=\"*\" to-ports=\"80\" /> </cross-domain-policy>",
          true, NULL);
    check(HEAD "<cross-domain-policy>\r\n<allow-access-from domain='a.example' to-ports='1-9' "
               "secure='false'/>\r\n<allow-http-request-headers-from domain=\"*\" headers=\"*\"/>"
               "</cross-domain-policy>",
          true, NULL);
}

static void
test_check_invalid(void **state)
{
    check("", false, "empty");
    check("not xml", false, "well-formed");
    check(HEAD "<cross-domain-policy>", false, "well-formed");
    check(HEAD "<cross-domain-policy></other>", false, "well-formed");
    check(HEAD "<policy/>", false, "root element");
    check(HEAD "<cross-domain-policy version=\"1\"/>", false, "unknown attribute");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"*\" to-ports=\"0\"/>"
               "</cross-domain-policy>",
          false, "to-ports \"0\"");
    check(HEAD "<cross-domain-policy>\n\n<allow-access-from domain=\"*\" to-ports=\"70000\"/>"
               "</cross-domain-policy>",
          false, "line 4");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"*\" to-ports=\"5-3\"/>"
               "</cross-domain-policy>",
          false, "ends before");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"*\" to-ports=\"abc\"/>"
               "</cross-domain-policy>",
          false, "to-ports");
    check(HEAD "<cross-domain-policy><allow-access-from to-ports=\"80\"/></cross-domain-policy>",
          false, "missing domain");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"*\"/></cross-domain-policy>",
          false, "missing to-ports");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"a b\" to-ports=\"80\"/>"
               "</cross-domain-policy>",
          false, "invalid domain");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"*\" to-ports=\"80\" "
               "secure=\"maybe\"/></cross-domain-policy>",
          false, "secure");
    check(HEAD "<cross-domain-policy><site-control permitted-cross-domain-policies=\"some\"/>"
               "</cross-domain-policy>",
          false, "site-control");
    check(HEAD "<cross-domain-policy><script/></cross-domain-policy>", false, "unknown element");
    check(HEAD "<cross-domain-policy><allow-access-from domain=\"*\" to-ports=\"80\">"
               "<x/></allow-access-from></cross-domain-policy>",
          false, "unexpected element");
    check(HEAD "<cross-domain-policy>text</cross-domain-policy>", false, "text");
    /* Entities could blow up memory ("billion laughs"); none is needed. */
    check("<?xml version=\"1.0\"?><!DOCTYPE cross-domain-policy [<!ENTITY a \"aaaa\">"
          "<!ENTITY b \"&a;&a;&a;&a;\">]><cross-domain-policy/>",
          false, "entity");
}

static void
test_check_bytes(void **state)
{
    static const char nul[] = HEAD "<cross-domain-policy>\0</cross-domain-policy>";
    char why[256];
    char *big = malloc(POLICY_MAX + 2);

    assert_false(policy_check(nul, sizeof(nul) - 1, why, sizeof(why)));
    assert_non_null(strstr(why, "NUL"));

    /* POLICY_MAX bytes (padding in a comment) is fine, one more is not. */
    assert_non_null(big);
    const char *open = "<cross-domain-policy><!--", *close = "--></cross-domain-policy>";
    memset(big, 'x', POLICY_MAX + 1);
    memcpy(big, open, strlen(open));
    memcpy(big + POLICY_MAX - strlen(close), close, strlen(close));
    assert_true(policy_check(big, POLICY_MAX, why, sizeof(why)));
    memcpy(big + POLICY_MAX + 1 - strlen(close), close, strlen(close));
    assert_false(policy_check(big, POLICY_MAX + 1, why, sizeof(why)));
    assert_non_null(strstr(why, "larger"));
    free(big);

    /* A tiny message buffer is never overrun. */
    char tiny[8];
    assert_false(policy_check("junk", 4, tiny, sizeof(tiny)));
    assert_true(strlen(tiny) < sizeof(tiny));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ports),         cmocka_unit_test(test_domains),
        cmocka_unit_test(test_generate),      cmocka_unit_test(test_check_valid),
        cmocka_unit_test(test_check_invalid), cmocka_unit_test(test_check_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
