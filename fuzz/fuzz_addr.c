/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for listen specifications and CIDR lists. Every accepted entry must be well
 * formed (terminated strings, ports and prefixes in range), and a CIDR must match its own network
 * address, in IPv4-mapped form too, with the printed and re-parsed address agreeing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/strutil.h"
#include "fuzz/fuzz.h"

static void
check_listen(const char *s)
{
    struct listen_spec *ls = NULL;
    const char *why = NULL;
    size_t n = 0;

    if (!listen_spec_parse_list(s, &ls, &n, &why)) {
        CHECK(why != NULL);
        return;
    }
    CHECK(n >= 1);
    for (size_t i = 0; i < n; i++) {
        if (ls[i].kind == LISTEN_UNIX) {
            size_t len = strnlen(ls[i].path, sizeof(ls[i].path));
            CHECK(len > 0 && len < sizeof(ls[i].path));
        } else {
            long port;
            CHECK(ls[i].kind == LISTEN_TCP);
            CHECK(memchr(ls[i].host, '\0', sizeof(ls[i].host)) != NULL);
            CHECK(ls[i].host[0] != '\0');
            CHECK(memchr(ls[i].port, '\0', sizeof(ls[i].port)) != NULL);
            CHECK(parse_long(ls[i].port, 0, 65535, &port));
        }
    }
    free(ls);
}

/* The network address of @c, as a peer would present it. */
static socklen_t
cidr_sockaddr(const struct cidr *c, struct sockaddr_storage *ss, bool mapped)
{
    memset(ss, 0, sizeof(*ss));
    if (c->family == AF_INET && !mapped) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(1);
        memcpy(&sin->sin_addr, c->addr, 4);
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(1);
    if (c->family == AF_INET) {
        sin6->sin6_addr.s6_addr[10] = 0xff;
        sin6->sin6_addr.s6_addr[11] = 0xff;
        memcpy(sin6->sin6_addr.s6_addr + 12, c->addr, 4);
    } else {
        memcpy(sin6->sin6_addr.s6_addr, c->addr, 16);
    }
    return sizeof(*sin6);
}

static void
check_cidr(const struct cidr *c)
{
    struct sockaddr_storage ss, back;
    socklen_t len, blen;
    char ip[ADDR_STR_MAX], printed[ADDR_STR_MAX];

    CHECK(c->family == AF_INET || c->family == AF_INET6);
    CHECK(c->prefix <= (c->family == AF_INET ? 32u : 128u));

    len = cidr_sockaddr(c, &ss, false);
    /*
     * Peers in IPv4-mapped form are matched as IPv4. cidr_parse() turns mapped rules of prefix
     * 96 or longer into IPv4 rules; a shorter IPv6 prefix that still starts inside the mapped
     * range (::ffff:0:0/95) stays IPv6 and so cannot match its own base address: skip those.
     */
    if (c->family == AF_INET6) {
        struct in6_addr a6;
        memcpy(&a6, c->addr, sizeof(a6));
        if (IN6_IS_ADDR_V4MAPPED(&a6)) {
            return;
        }
    }
    CHECK(cidr_match(c, (const struct sockaddr *)&ss));
    if (c->family == AF_INET) {
        struct sockaddr_storage m;
        cidr_sockaddr(c, &m, true);
        CHECK(cidr_match(c, (const struct sockaddr *)&m));
        CHECK(addr_same_host((const struct sockaddr *)&ss, (const struct sockaddr *)&m));
    }
    CHECK(addr_same_host((const struct sockaddr *)&ss, (const struct sockaddr *)&ss));

    /* Print the address and read it back: the same bytes. */
    addr_ip((const struct sockaddr *)&ss, ip, sizeof(ip));
    CHECK(addr_parse_ip(ip, 1, &back, &blen));
    CHECK(blen == len);
    CHECK(memcmp(&back, &ss, len) == 0);
    addr_format((const struct sockaddr *)&ss, len, printed, sizeof(printed));
    CHECK(strstr(printed, ip) != NULL);
    CHECK(addr_port((const struct sockaddr *)&ss) == 1);
}

static void
check_cidrs(const char *s)
{
    struct cidr *c = NULL;
    const char *why = NULL;
    size_t n = 0;

    if (!cidr_parse_list(s, &c, &n, &why)) {
        CHECK(why != NULL);
        return;
    }
    CHECK((n == 0) == (c == NULL));
    for (size_t i = 0; i < n; i++) {
        check_cidr(&c[i]);
    }
    free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    struct cidr one;

    CHECK(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    check_listen(s);
    check_cidrs(s);
    if (cidr_parse(s, &one)) {
        check_cidr(&one);
    }
    free(s);
    return 0;
}
