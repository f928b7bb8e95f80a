/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the HTTP/1.1 client codec. Beyond "does not crash" it checks that a
 * parsed or resolved URL is well formed and survives url_format() + url_parse() unchanged, that
 * every slice of a parsed head lies inside the input and a head cut one byte short is never
 * complete, and that the chunked decoder gives the same result, the same data and the same
 * error in whatever pieces its input arrives.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http.h"
#include "fuzz/fuzz.h"

static bool
is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* What struct url promises never to hold raw in a target. */
static bool
must_escape(unsigned char c)
{
    return c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
           c == '`' || c == '{' || c == '|' || c == '}' || c == '#';
}

/* ----------------------------------------------------------------------------------------- */
/* URLs */

static bool
same_url(const struct url *a, const struct url *b)
{
    return a->tls == b->tls && a->ipv6 == b->ipv6 && a->port == b->port &&
           strcmp(a->host, b->host) == 0 && strcmp(a->target, b->target) == 0;
}

static void
check_url(const struct url *u)
{
    static struct url v, w;
    static char buf[HTTP_URL_MAX + 512], again[HTTP_URL_MAX + 512];
    size_t hn = strnlen(u->host, sizeof(u->host));
    size_t tn = strnlen(u->target, sizeof(u->target));
    size_t path_end, seg;
    const char *why = NULL;

    CHECK(hn >= 1 && hn <= HTTP_HOST_MAX);
    if (u->ipv6) {
        struct in6_addr addr;
        CHECK(inet_pton(AF_INET6, u->host, &addr) == 1);
    } else {
        for (size_t i = 0; i < hn; i++) {
            char c = u->host[i];
            CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                  c == '_');
        }
    }
    CHECK(u->port != 0);

    CHECK(tn >= 1 && tn <= HTTP_URL_MAX);
    CHECK(u->target[0] == '/');
    for (size_t i = 0; i < tn; i++) {
        unsigned char c = (unsigned char)u->target[i];
        CHECK(!must_escape(c));
        if (c == '%') {
            CHECK(tn - i >= 3 && is_hex((unsigned char)u->target[i + 1]) &&
                  is_hex((unsigned char)u->target[i + 2]));
        }
    }
    /* No "." or ".." segment is left in the path. */
    path_end = strcspn(u->target, "?");
    seg = 1;
    for (size_t i = 1; i <= path_end; i++) {
        if (i == path_end || u->target[i] == '/') {
            size_t len = i - seg;
            CHECK(!(len == 1 && u->target[seg] == '.'));
            CHECK(!(len == 2 && u->target[seg] == '.' && u->target[seg + 1] == '.'));
            seg = i + 1;
        }
    }

    CHECK(url_host_header(u, buf, sizeof(buf)));
    CHECK(url_format(u, buf, sizeof(buf)));
    CHECK(strlen(buf) > tn);
    CHECK(strcmp(buf + strlen(buf) - tn, u->target) == 0);
    CHECK(!url_format(u, again, strlen(buf)));
    if (strlen(buf) > HTTP_URL_MAX) {
        return;
    }
    /* A formatted URL parses back to the same, and resolves to itself against anything. */
    if (!url_parse(buf, &v, &why)) {
        fprintf(stderr, "reparse of %s failed: %s\n", buf, why);
        CHECK(0);
    }
    CHECK(same_url(u, &v));
    CHECK(url_format(&v, again, sizeof(again)));
    CHECK(strcmp(buf, again) == 0);
    CHECK(url_resolve(&v, buf, strlen(buf), &w, &why));
    CHECK(same_url(u, &w));
}

static void
check_resolve(const struct url *base, const char *ref, size_t ref_len)
{
    static struct url out, alias;
    const char *why = NULL, *why2 = NULL;
    bool ok = url_resolve(base, ref, ref_len, &out, &why);

    /* Resolving in place gives the same answer. */
    memcpy(&alias, base, sizeof(alias));
    CHECK(url_resolve(&alias, ref, ref_len, &alias, &why2) == ok);
    if (!ok) {
        CHECK(why != NULL && why2 != NULL && strcmp(why, why2) == 0);
        CHECK(same_url(&alias, base));
        return;
    }
    CHECK(same_url(&alias, &out));
    check_url(&out);
}

static void
check_urls(const char *p, size_t n)
{
    static struct url base, fixed;
    static bool fixed_ready;
    const char *nl = memchr(p, '\n', n);
    size_t bn = nl != NULL ? (size_t)(nl - p) : n;
    char *b = malloc(bn + 1);
    const char *why = NULL;
    bool base_ok;

    if (!fixed_ready) {
        CHECK(url_parse("https://a.example:8443/b/c/d;p?q", &fixed, &why));
        fixed_ready = true;
    }
    CHECK(b != NULL);
    memcpy(b, p, bn);
    b[bn] = '\0';
    base_ok = url_parse(b, &base, &why);
    if (base_ok) {
        check_url(&base);
    } else {
        CHECK(why != NULL);
    }
    free(b);

    if (nl != NULL) {
        size_t rn = n - bn - 1;
        char *ref = exact(nl + 1, rn);

        if (base_ok) {
            check_resolve(&base, ref, rn);
        }
        check_resolve(&fixed, ref, rn);
        free(ref);
    } else {
        char *ref = exact(p, n);

        check_resolve(&fixed, ref, n);
        free(ref);
    }
}

/* ----------------------------------------------------------------------------------------- */
/* Chunked decoding */

struct run {
    enum parse_result r;
    size_t used; /* bytes consumed in all */
    char *data;  /* body data, in order */
    size_t data_len;
    const char *why;
};

static uint32_t
next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Feed [p, p + n) in pieces: all at once (mode 0), byte by byte (1), or pseudo-random sizes. */
static void
run_chunked(const char *p, size_t n, int mode, uint32_t seed, struct run *out)
{
    struct http_chunked c;
    size_t off = 0;
    uint32_t rng = seed | 1;

    out->r = PARSE_AGAIN;
    out->used = 0;
    out->data = malloc(n + 1);
    out->data_len = 0;
    out->why = NULL;
    CHECK(out->data != NULL);
    http_chunked_init(&c);
    while (off < n && out->r == PARSE_AGAIN) {
        size_t m = n - off, pos = 0;
        char *piece;

        if (mode == 1) {
            m = 1;
        } else if (mode == 2) {
            size_t want = next_rand(&rng) % 9 == 0 ? next_rand(&rng) % 512 : next_rand(&rng) % 8;
            m = want + 1 < m ? want + 1 : m;
        }
        piece = exact(p + off, m);
        while (pos < m) {
            const char *data = NULL;
            size_t used = 0, dl = 0;
            enum parse_result r =
                http_chunked_step(&c, piece + pos, m - pos, &used, &data, &dl, &out->why);

            CHECK(used <= m - pos);
            CHECK(dl <= used);
            out->used += used;
            out->r = r;
            if (r == PARSE_ERR) {
                CHECK(out->why != NULL);
                CHECK(dl == 0);
                break;
            }
            CHECK(used > 0);
            if (dl > 0) {
                CHECK(data >= piece + pos && data + dl <= piece + pos + used);
                memcpy(out->data + out->data_len, data, dl);
                out->data_len += dl;
            }
            CHECK(out->data_len <= out->used);
            pos += used;
            if (r == PARSE_OK) {
                CHECK(dl == 0);
                break;
            }
        }
        free(piece);
        off += m;
    }
    if (out->r != PARSE_AGAIN) {
        /* Finished or failed for good: no more input is accepted. */
        const char *data, *why = NULL;
        size_t used, dl;
        CHECK(http_chunked_step(&c, "0\r\n\r\n", 5, &used, &data, &dl, &why) == PARSE_ERR);
        CHECK(why != NULL);
    } else {
        CHECK(out->used == n);
    }
}

static void
check_chunked(const char *p, size_t n, uint32_t seed)
{
    struct run runs[3];

    if (n == 0) {
        return;
    }
    for (int mode = 0; mode < 3; mode++) {
        run_chunked(p, n, mode, seed, &runs[mode]);
    }
    /* The same verdict, at the same byte, with the same data, whatever the pieces. */
    for (int mode = 1; mode < 3; mode++) {
        CHECK(runs[mode].r == runs[0].r);
        CHECK(runs[mode].used == runs[0].used);
        CHECK(runs[mode].data_len == runs[0].data_len);
        CHECK(runs[0].data_len == 0 ||
              memcmp(runs[mode].data, runs[0].data, runs[0].data_len) == 0);
        if (runs[0].r == PARSE_ERR) {
            CHECK(strcmp(runs[mode].why, runs[0].why) == 0);
        }
    }
    CHECK(runs[0].used <= n);
    for (int mode = 0; mode < 3; mode++) {
        free(runs[mode].data);
    }
}

/* ----------------------------------------------------------------------------------------- */
/* Response head and framing */

static void
check_head(const char *in, size_t n)
{
    static struct http_head h, g;
    char *p = exact(in, n);
    const char *why = NULL;
    size_t used = 0;
    enum parse_result r = http_head_parse(p, n, &h, &used, &why);

    if (r == PARSE_ERR) {
        CHECK(why != NULL);
        free(p);
        return;
    }
    if (r == PARSE_AGAIN) {
        CHECK(n < HTTP_HEAD_MAX);
        free(p);
        return;
    }
    CHECK(r == PARSE_OK);
    CHECK(used > 0 && used <= n && used <= HTTP_HEAD_MAX);
    CHECK(p[used - 1] == '\n');
    CHECK(h.minor >= 0 && h.minor <= 9);
    CHECK(h.status >= 100 && h.status <= 999);
    CHECK(inside(p, used, h.reason));
    CHECK(h.nfields <= HTTP_FIELDS_MAX);
    for (size_t i = 0; i < h.nfields; i++) {
        const struct http_field *f = &h.fields[i];
        char name[64];

        CHECK(inside(p, used, f->name));
        CHECK(inside(p, used, f->value));
        CHECK(f->name.n > 0);
        CHECK(memchr(f->name.p, ':', f->name.n) == NULL);
        CHECK(memchr(f->name.p, ' ', f->name.n) == NULL);
        CHECK(memchr(f->name.p, '\t', f->name.n) == NULL);
        if (f->value.n > 0) {
            CHECK(memchr(f->value.p, '\0', f->value.n) == NULL);
            CHECK(memchr(f->value.p, '\r', f->value.n) == NULL);
            CHECK(memchr(f->value.p, '\n', f->value.n) == NULL);
            CHECK(f->value.p[0] != ' ' && f->value.p[0] != '\t');
            CHECK(f->value.p[f->value.n - 1] != ' ' && f->value.p[f->value.n - 1] != '\t');
        }
        if (f->name.n < sizeof(name)) {
            const struct str *v;

            memcpy(name, f->name.p, f->name.n);
            name[f->name.n] = '\0';
            v = http_head_get(&h, name);
            CHECK(v != NULL);
            CHECK(v >= &h.fields[0].value && v <= &f->value);
        }
    }

    /* The head alone is the same head; cut one byte short it is incomplete. */
    {
        char *q = exact(p, used);
        size_t used2 = 0;

        CHECK(http_head_parse(q, used, &g, &used2, &why) == PARSE_OK);
        CHECK(used2 == used && g.nfields == h.nfields && g.status == h.status);
        free(q);
        q = exact(p, used - 1);
        CHECK(http_head_parse(q, used - 1, &g, &used2, &why) == PARSE_AGAIN);
        free(q);
    }

    enum http_body kind;
    uint64_t length = 7;
    why = NULL;
    if (http_body_framing(&h, &kind, &length, &why) == PARSE_OK) {
        CHECK(kind == HTTP_BODY_NONE || kind == HTTP_BODY_LENGTH || kind == HTTP_BODY_CHUNKED ||
              kind == HTTP_BODY_CLOSE);
        CHECK(kind == HTTP_BODY_LENGTH ? length <= (UINT64_C(1) << 62) : length == 0);
        if (kind == HTTP_BODY_NONE) {
            CHECK(h.status < 200 || h.status == 204 || h.status == 304);
        }
        if (kind == HTTP_BODY_CHUNKED) {
            check_chunked(p + used, n - used, (uint32_t)n);
        }
    } else {
        CHECK(why != NULL);
    }
    free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;

    check_urls(p, size);
    check_head(p, size);
    check_chunked(p, size, (uint32_t)size * 2654435761u);
    return 0;
}
