/* SPDX-License-Identifier: MIT */
/* Address parsing and printing. Host names in listen specifications are kept as text here and
 * resolved once, at start-up, by the listener; everything a peer sends must be numeric. */
#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/strutil.h"

static bool
parse_port(const char *s, char out[8])
{
    long v;

    if (!parse_long(s, 0, 65535, &v)) {
        return false;
    }
    snprintf(out, 8, "%ld", v);
    return true;
}

static bool
parse_one_listen(char *item, struct listen_spec *ls, const char **why)
{
    memset(ls, 0, sizeof(*ls));
    if (strncmp(item, "unix:", 5) == 0) {
        const char *path = item + 5;
        ls->kind = LISTEN_UNIX;
        if (*path == '\0') {
            *why = "empty UNIX socket path";
            return false;
        }
        if (!str_copy(ls->path, sizeof(ls->path), path)) {
            *why = "UNIX socket path too long";
            return false;
        }
        return true;
    }

    ls->kind = LISTEN_TCP;
    char *colon;
    if (item[0] == '[') {
        char *close = strchr(item, ']');
        if (close == NULL || close[1] != ':') {
            *why = "expected [IPv6]:PORT";
            return false;
        }
        *close = '\0';
        struct in6_addr a6;
        if (inet_pton(AF_INET6, item + 1, &a6) != 1) {
            *why = "invalid IPv6 address";
            return false;
        }
        str_copy(ls->host, sizeof(ls->host), item + 1);
        colon = close + 1;
    } else {
        colon = strrchr(item, ':');
        if (colon == NULL) {
            *why = "expected HOST:PORT, [IPv6]:PORT or unix:/path";
            return false;
        }
        *colon = '\0';
        if (strchr(item, ':') != NULL) {
            *why = "IPv6 addresses need brackets: [IPv6]:PORT";
            return false;
        }
        if (*item == '\0') {
            *why = "empty host (use * for every address)";
            return false;
        }
        if (!str_copy(ls->host, sizeof(ls->host), item)) {
            *why = "host name too long";
            return false;
        }
    }
    if (!parse_port(colon + 1, ls->port)) {
        *why = "invalid port (0-65535)";
        return false;
    }
    return true;
}

bool
listen_spec_parse_list(const char *s, struct listen_spec **out, size_t *n, const char **why)
{
    char *copy = xstrdup(s), *save = NULL;
    struct listen_spec *v = NULL;
    size_t count = 0;

    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = str_trim(tok);
        if (*tok == '\0') {
            continue;
        }
        v = xrealloc(v, (count + 1) * sizeof(*v));
        if (!parse_one_listen(tok, &v[count], why)) {
            free(v);
            free(copy);
            return false;
        }
        count++;
    }
    free(copy);
    if (count == 0) {
        *why = "no address given";
        return false;
    }
    *out = v;
    *n = count;
    return true;
}

bool
cidr_parse(const char *s, struct cidr *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    char *slash;
    long prefix = -1;

    if (!str_copy(buf, sizeof(buf), s)) {
        return false;
    }
    slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (!parse_long(slash + 1, 0, 128, &prefix)) {
            return false;
        }
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        if (prefix > 32) {
            return false;
        }
        out->prefix = prefix < 0 ? 32 : (unsigned)prefix;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->prefix = prefix < 0 ? 128 : (unsigned)prefix;
        /* Peers in IPv4-mapped form are matched as IPv4 (see raw_addr), so rules are too. */
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)out->addr) && out->prefix >= 96) {
            memmove(out->addr, out->addr + 12, 4);
            memset(out->addr + 4, 0, 12);
            out->family = AF_INET;
            out->prefix -= 96;
        }
    } else {
        return false;
    }
    return true;
}

bool
cidr_parse_list(const char *s, struct cidr **out, size_t *n, const char **why)
{
    char *copy = xstrdup(s), *save = NULL;
    struct cidr *v = NULL;
    size_t count = 0;

    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tok = str_trim(tok);
        if (*tok == '\0') {
            continue;
        }
        v = xrealloc(v, (count + 1) * sizeof(*v));
        if (!cidr_parse(tok, &v[count])) {
            *why = "invalid address or CIDR (expected e.g. 10.0.0.0/8 or ::1/128)";
            free(v);
            free(copy);
            return false;
        }
        count++;
    }
    free(copy);
    *out = v;
    *n = count;
    return true;
}

/* Reduce @sa to raw address bytes; IPv4-mapped IPv6 becomes IPv4. */
static int
raw_addr(const struct sockaddr *sa, uint8_t out[16])
{
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            memcpy(out, a6->s6_addr + 12, 4);
            return AF_INET;
        }
        memcpy(out, a6->s6_addr, 16);
        return AF_INET6;
    }
    return AF_UNSPEC;
}

bool
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
    uint8_t a[16];
    int fam = raw_addr(sa, a);
    unsigned bits = c->prefix;

    if (fam != c->family) {
        return false;
    }
    for (unsigned i = 0; bits > 0; i++) {
        unsigned take = bits >= 8 ? 8 : bits;
        uint8_t mask = (uint8_t)(0xff << (8 - take));
        if ((a[i] & mask) != (c->addr[i] & mask)) {
            return false;
        }
        bits -= take;
    }
    return true;
}

bool
addr_parse_ip(const char *ip, long port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (port < 1 || port > 65535) {
        return false;
    }
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof(*sin);
        return true;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*sin6);
        return true;
    }
    return false;
}

void
addr_ip(const struct sockaddr *sa, char *buf, size_t cap)
{
    uint8_t a[16];
    int fam = raw_addr(sa, a);

    if (fam == AF_UNSPEC || inet_ntop(fam, a, buf, (socklen_t)cap) == NULL) {
        str_copy(buf, cap, sa->sa_family == AF_UNIX ? "local" : "?");
    }
}

unsigned
addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    }
    if (sa->sa_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    }
    return 0;
}

void
addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
        size_t plen = len > offsetof(struct sockaddr_un, sun_path)
                          ? len - offsetof(struct sockaddr_un, sun_path)
                          : 0;
        if (plen == 0 || sun->sun_path[0] == '\0') {
            str_copy(buf, cap, "unix");
        } else {
            snprintf(buf, cap, "unix:%.*s", (int)strnlen(sun->sun_path, plen), sun->sun_path);
        }
        return;
    }
    addr_ip(sa, ip, sizeof(ip));
    if (strchr(ip, ':') != NULL) {
        snprintf(buf, cap, "[%s]:%u", ip, addr_port(sa));
    } else {
        snprintf(buf, cap, "%s:%u", ip, addr_port(sa));
    }
}

bool
addr_is_loopback(const struct sockaddr *sa)
{
    uint8_t a[16];
    int fam;

    if (sa->sa_family == AF_UNIX) {
        return true;
    }
    fam = raw_addr(sa, a);
    if (fam == AF_INET) {
        return a[0] == 127;
    }
    if (fam == AF_INET6) {
        static const uint8_t one[16] = {[15] = 1};
        return memcmp(a, one, 16) == 0;
    }
    return false;
}

bool
addr_same_host(const struct sockaddr *a, const struct sockaddr *b)
{
    uint8_t ra[16], rb[16];
    int fa, fb;

    if (addr_is_loopback(a) && addr_is_loopback(b)) {
        return true;
    }
    fa = raw_addr(a, ra);
    fb = raw_addr(b, rb);
    if (fa != fb || fa == AF_UNSPEC) {
        return false;
    }
    return memcmp(ra, rb, fa == AF_INET ? 4 : 16) == 0;
}
