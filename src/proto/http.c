/* SPDX-License-Identifier: MIT */
/*
 * The HTTP/1.1 client codec: URLs, the response head, body framing and the chunked decoder. It
 * owns only parsing and formatting; it never reads a socket, allocates or logs, and every
 * buffer it fills is a fixed array in the caller's struct.
 */
#include "proto/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/ascii.h"
#include "proto/parse.h"

/* The largest Content-Length we believe (RFC 9112 says nothing; 2^62 keeps sums safe). */
#define CONTENT_LENGTH_MAX (UINT64_C(1) << 62)

static bool
fail(const char **why, const char *msg)
{
    if (why != NULL) {
        *why = msg;
    }
    return false;
}

static enum parse_result
parse_err(const char **why, const char *msg)
{
    fail(why, msg);
    return PARSE_ERR;
}

/* ----------------------------------------------------------------------------------------- */
/* Character classes beyond proto/ascii.h's. Locale-free on purpose: <ctype.h> depends on
 * setlocale(). */

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static bool
is_hex(unsigned char c)
{
    return hex_value(c) >= 0;
}

static bool
is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static bool
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char
to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* tchar of RFC 9110 section 5.6.2: what a field name or a transfer coding is made of. */
static bool
is_tchar(unsigned char c)
{
    if (is_alpha(c) || is_digit(c)) {
        return true;
    }
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

static bool
is_host_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* Bytes that may not appear raw in a request line; see struct url. */
static bool
must_escape(unsigned char c)
{
    if (c <= 0x20 || c >= 0x7f) {
        return true;
    }
    switch (c) {
    case '"':
    case '<':
    case '>':
    case '\\':
    case '^':
    case '`':
    case '{':
    case '|':
    case '}':
        return true;
    default:
        return false;
    }
}

/* Does the slice [s, s + n) equal the NUL-terminated @lit, ignoring ASCII case? */
static bool
ieq(const char *s, size_t n, const char *lit)
{
    size_t ln = strlen(lit);

    if (n != ln) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (to_lower((unsigned char)s[i]) != to_lower((unsigned char)lit[i])) {
            return false;
        }
    }
    return true;
}

/* ----------------------------------------------------------------------------------------- */
/* URLs. */

/* The components of a URI reference (RFC 3986 appendix B), the fragment already cut off. */
struct uri_ref {
    bool has_scheme, has_authority, has_query;
    struct str scheme, authority, path, query; /* query without its '?' */
};

static void
split_ref(const char *s, size_t n, struct uri_ref *r)
{
    const char *hash = n > 0 ? memchr(s, '#', n) : NULL;
    size_t i = 0, j;

    memset(r, 0, sizeof(*r));
    if (hash != NULL) {
        n = (size_t)(hash - s);
    }
    /* A scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) before the first ':', and only if
     * no '/', '?' (or '#') comes first: "a/b:c" is a path. */
    if (n > 0 && is_alpha((unsigned char)s[0])) {
        j = 1;
        while (j < n && (is_alpha((unsigned char)s[j]) || is_digit((unsigned char)s[j]) ||
                         s[j] == '+' || s[j] == '-' || s[j] == '.')) {
            j++;
        }
        if (j < n && s[j] == ':') {
            r->has_scheme = true;
            r->scheme.p = s;
            r->scheme.n = j;
            i = j + 1;
        }
    }
    if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        j = i + 2;
        while (j < n && s[j] != '/' && s[j] != '?') {
            j++;
        }
        r->has_authority = true;
        r->authority.p = s + i + 2;
        r->authority.n = j - i - 2;
        i = j;
    }
    j = i;
    while (j < n && s[j] != '?') {
        j++;
    }
    r->path.p = s + i;
    r->path.n = j - i;
    if (j < n) {
        r->has_query = true;
        r->query.p = s + j + 1;
        r->query.n = n - j - 1;
    }
}

/* Control characters are refused rather than escaped: in a Location they are an injection
 * attempt (CR LF) or garbage, and a URL given by a user has no business holding them. */
static bool
has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (is_ctl((unsigned char)s[i])) {
            return true;
        }
    }
    return false;
}

static bool
scheme_tls(struct str scheme, bool *tls)
{
    if (ieq(scheme.p, scheme.n, "http")) {
        *tls = false;
        return true;
    }
    if (ieq(scheme.p, scheme.n, "https")) {
        *tls = true;
        return true;
    }
    return false;
}

/* Host and port from an authority; u->tls must already be set, for the default port. */
static bool
parse_authority(struct str a, struct url *u, const char **why)
{
    size_t i;

    if (a.n > 0 && memchr(a.p, '@', a.n) != NULL) {
        return fail(why, "userinfo not allowed in URL");
    }
    if (a.n > 0 && a.p[0] == '[') {
        const char *close = memchr(a.p, ']', a.n);
        char lit[64];
        struct in6_addr addr;
        size_t len;

        if (close == NULL) {
            return fail(why, "bad IPv6 address");
        }
        len = (size_t)(close - a.p) - 1;
        if (len == 0 || len >= sizeof(lit)) {
            return fail(why, "bad IPv6 address");
        }
        memcpy(lit, a.p + 1, len);
        lit[len] = '\0';
        /* inet_pton() refuses zones ('%') and IPvFuture; inet_ntop() gives the canonical
         * spelling, so that equal addresses format equally (redirect loop detection). */
        if (inet_pton(AF_INET6, lit, &addr) != 1 ||
            inet_ntop(AF_INET6, &addr, u->host, sizeof(u->host)) == NULL) {
            return fail(why, "bad IPv6 address");
        }
        u->ipv6 = true;
        i = len + 2;
        if (i < a.n && a.p[i] != ':') {
            return fail(why, "bad IPv6 address");
        }
    } else {
        i = 0;
        while (i < a.n && a.p[i] != ':') {
            i++;
        }
        if (i == 0) {
            return fail(why, "missing host");
        }
        if (i > HTTP_HOST_MAX) {
            return fail(why, "host name too long");
        }
        for (size_t k = 0; k < i; k++) {
            unsigned char c = (unsigned char)a.p[k];

            if (!is_host_char(c)) {
                return fail(why, "bad host name");
            }
            u->host[k] = (char)to_lower(c);
        }
        u->host[i] = '\0';
        u->ipv6 = false;
    }

    u->port = u->tls ? 443 : 80;
    if (i < a.n) {
        uint32_t port = 0;

        /* a.p[i] is ':'. An empty port means the default one (RFC 3986 section 3.2.3). */
        i++;
        if (i == a.n) {
            return true;
        }
        for (; i < a.n; i++) {
            if (!is_digit((unsigned char)a.p[i])) {
                return fail(why, "bad port");
            }
            port = port * 10 + (uint32_t)(a.p[i] - '0');
            if (port > 65535) {
                return fail(why, "bad port");
            }
        }
        if (port == 0) {
            return fail(why, "bad port");
        }
        u->port = (uint16_t)port;
    }
    return true;
}

/*
 * RFC 3986 section 5.2.4 on an absolute path, in place. The path is taken as a sequence of
 * "/segment" units: "." drops itself, ".." drops itself and the last unit kept so far, and
 * either one at the end leaves a trailing '/'. The output never outruns the input, and whole
 * segments are moved, so what follows a segment is always '/' or the end.
 */
static size_t
remove_dot_segments(char *p, size_t n)
{
    size_t r = 0, w = 0;

    while (r < n) {
        size_t s = r + 1, e = s;

        while (e < n && p[e] != '/') {
            e++;
        }
        if (e - s == 1 && p[s] == '.') {
            if (e == n) {
                p[w++] = '/';
            }
        } else if (e - s == 2 && p[s] == '.' && p[s + 1] == '.') {
            while (w > 0 && p[w - 1] != '/') {
                w--;
            }
            if (w > 0) {
                w--;
            }
            if (e == n) {
                p[w++] = '/';
            }
        } else {
            memmove(p + w, p + r, e - r);
            w += e - r;
        }
        r = e;
    }
    if (w == 0) {
        p[w++] = '/';
    }
    return w;
}

/* Append @s to out[*pos..cap), escaping what must be; an existing "%XX" is kept as it is and a
 * '%' that starts no escape becomes "%25", so that escaping twice changes nothing. */
static bool
escape_into(const char *s, size_t n, char *out, size_t cap, size_t *pos)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '%' && n - i >= 3 && is_hex((unsigned char)s[i + 1]) &&
            is_hex((unsigned char)s[i + 2])) {
            if (cap - *pos < 3) {
                return false;
            }
            memcpy(out + *pos, s + i, 3);
            *pos += 3;
            i += 2;
        } else if (c == '%' || must_escape(c)) {
            if (cap - *pos < 3) {
                return false;
            }
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[c >> 4];
            out[(*pos)++] = hex[c & 15];
        } else {
            if (cap - *pos < 1) {
                return false;
            }
            out[(*pos)++] = (char)c;
        }
    }
    return true;
}

/*
 * u->target = remove_dot_segments(dir + path), escaped, then "?" query if there is one. @dir
 * is the base path up to its last '/' for a relative reference, else empty.
 */
static bool
set_target(struct url *u, struct str dir, struct str path, bool has_query, struct str query,
           const char **why)
{
    char work[2 * HTTP_URL_MAX + 2];
    size_t n = 0, pos = 0;

    if (dir.n > HTTP_URL_MAX || path.n > HTTP_URL_MAX) {
        return fail(why, "URL too long");
    }
    /* Every path handled here is absolute; a base built by hand might not be. */
    if ((dir.n > 0 ? dir.p[0] : path.n > 0 ? path.p[0] : '\0') != '/') {
        work[n++] = '/';
    }
    if (dir.n > 0) {
        memcpy(work + n, dir.p, dir.n);
        n += dir.n;
    }
    if (path.n > 0) {
        memcpy(work + n, path.p, path.n);
        n += path.n;
    }
    n = remove_dot_segments(work, n);
    if (!escape_into(work, n, u->target, HTTP_URL_MAX, &pos)) {
        return fail(why, "URL too long");
    }
    if (has_query) {
        if (pos == HTTP_URL_MAX) {
            return fail(why, "URL too long");
        }
        u->target[pos++] = '?';
        if (!escape_into(query.p, query.n, u->target, HTTP_URL_MAX, &pos)) {
            return fail(why, "URL too long");
        }
    }
    u->target[pos] = '\0';
    return true;
}

/* An absolute http(s) URL from its components. */
static bool
parse_absolute(const struct uri_ref *r, struct url *u, const char **why)
{
    static const struct str none = {"", 0};

    if (!r->has_scheme || !scheme_tls(r->scheme, &u->tls)) {
        return fail(why, "unsupported scheme");
    }
    if (!r->has_authority) {
        return fail(why, "missing host");
    }
    return parse_authority(r->authority, u, why) &&
           set_target(u, none, r->path, r->has_query, r->query, why);
}

bool
url_parse(const char *s, struct url *u, const char **why)
{
    size_t n = strnlen(s, HTTP_URL_MAX + 1);
    struct uri_ref r;

    if (n > HTTP_URL_MAX) {
        return fail(why, "URL too long");
    }
    if (has_ctl(s, n)) {
        return fail(why, "control character in URL");
    }
    split_ref(s, n, &r);
    return parse_absolute(&r, u, why);
}

bool
url_host_header(const struct url *u, char *out, size_t cap)
{
    int hn = (int)strnlen(u->host, sizeof(u->host));
    bool dflt = u->port == (u->tls ? 443 : 80);
    int k;

    if (u->ipv6) {
        k = dflt ? snprintf(out, cap, "[%.*s]", hn, u->host)
                 : snprintf(out, cap, "[%.*s]:%u", hn, u->host, (unsigned)u->port);
    } else {
        k = dflt ? snprintf(out, cap, "%.*s", hn, u->host)
                 : snprintf(out, cap, "%.*s:%u", hn, u->host, (unsigned)u->port);
    }
    return k >= 0 && (size_t)k < cap;
}

bool
url_format(const struct url *u, char *out, size_t cap)
{
    char hostport[HTTP_HOST_MAX + 16];
    int tn = (int)strnlen(u->target, sizeof(u->target));
    int k;

    if (!url_host_header(u, hostport, sizeof(hostport))) {
        return false;
    }
    k = snprintf(out, cap, "%s://%s%.*s", u->tls ? "https" : "http", hostport, tn, u->target);
    return k >= 0 && (size_t)k < cap;
}

bool
url_resolve(const struct url *base, const char *ref, size_t ref_len, struct url *out,
            const char **why)
{
    static const struct str none = {"", 0};
    struct uri_ref r;
    struct url t; /* built aside: @out may be @base, and stays untouched on failure */

    if (ref_len > HTTP_URL_MAX) {
        return fail(why, "URL too long");
    }
    if (ref_len == 0) {
        ref = "";
    }
    if (has_ctl(ref, ref_len)) {
        return fail(why, "control character in URL");
    }
    split_ref(ref, ref_len, &r);
    memset(&t, 0, sizeof(t));
    if (r.has_scheme) {
        /* Strict (RFC 3986 section 5.2.2): "http:g" is an absolute URL without a host. */
        if (!parse_absolute(&r, &t, why)) {
            return false;
        }
    } else if (r.has_authority) {
        t.tls = base->tls;
        if (!parse_authority(r.authority, &t, why) ||
            !set_target(&t, none, r.path, r.has_query, r.query, why)) {
            return false;
        }
    } else {
        size_t bn = strnlen(base->target, sizeof(base->target));
        const char *q = memchr(base->target, '?', bn);
        struct str bpath = {base->target, q != NULL ? (size_t)(q - base->target) : bn};
        struct str bquery = none;
        bool ok;

        if (q != NULL) {
            bquery.p = q + 1;
            bquery.n = bn - bpath.n - 1;
        }
        t.tls = base->tls;
        t.ipv6 = base->ipv6;
        t.port = base->port;
        memcpy(t.host, base->host, sizeof(t.host));
        t.host[HTTP_HOST_MAX] = '\0';
        if (r.path.n == 0) {
            ok = r.has_query ? set_target(&t, none, bpath, true, r.query, why)
                             : set_target(&t, none, bpath, q != NULL, bquery, why);
        } else if (r.path.p[0] == '/') {
            ok = set_target(&t, none, r.path, r.has_query, r.query, why);
        } else {
            /* Merge (RFC 3986 section 5.2.3): the base path up to and including its last '/'. */
            struct str dir = bpath;

            while (dir.n > 0 && dir.p[dir.n - 1] != '/') {
                dir.n--;
            }
            ok = set_target(&t, dir, r.path, r.has_query, r.query, why);
        }
        if (!ok) {
            return false;
        }
    }
    memcpy(out, &t, sizeof(t));
    return true;
}

/* ----------------------------------------------------------------------------------------- */
/* Response head. */

/* "HTTP/1.x SSS[ reason]", the line end already cut off. */
static bool
parse_status_line(const char *s, size_t n, struct http_head *h, const char **why)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit((unsigned char)s[7]) || s[8] != ' ' ||
        s[9] < '1' || s[9] > '9' || !is_digit((unsigned char)s[10]) ||
        !is_digit((unsigned char)s[11]) || (n > 12 && s[12] != ' ')) {
        return fail(why, "bad status line");
    }
    h->minor = s[7] - '0';
    h->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    h->reason.p = s + (n > 12 ? 13 : 12);
    h->reason.n = n > 12 ? n - 13 : 0;
    for (size_t i = 0; i < h->reason.n; i++) {
        unsigned char c = (unsigned char)h->reason.p[i];

        if (is_ctl(c) && c != '\t') {
            return fail(why, "bad reason phrase");
        }
    }
    return true;
}

static bool
parse_field(const char *s, size_t n, struct http_field *f, const char **why)
{
    const char *colon = memchr(s, ':', n);
    size_t a, b;

    /* n > 0 here: the empty line ends the head. */
    if (is_blank((unsigned char)s[0])) {
        return fail(why, "obsolete line folding");
    }
    if (colon == NULL || colon == s) {
        return fail(why, "bad header field");
    }
    f->name.p = s;
    f->name.n = (size_t)(colon - s);
    for (size_t i = 0; i < f->name.n; i++) {
        if (!is_tchar((unsigned char)s[i])) {
            return fail(why, "bad header field name");
        }
    }
    a = f->name.n + 1;
    b = n;
    while (a < b && is_blank((unsigned char)s[a])) {
        a++;
    }
    while (b > a && is_blank((unsigned char)s[b - 1])) {
        b--;
    }
    if (b > a && memchr(s + a, '\0', b - a) != NULL) {
        return fail(why, "NUL in header field value");
    }
    f->value.p = s + a;
    f->value.n = b - a;
    return true;
}

enum parse_result
http_head_parse(const char *p, size_t n, struct http_head *h, size_t *used, const char **why)
{
    static const char proto[] = "HTTP/1.";
    size_t lim = n < HTTP_HEAD_MAX ? n : HTTP_HEAD_MAX;
    size_t pos = 0;
    bool status = false;

    h->nfields = 0;
    if (n == 0) {
        return PARSE_AGAIN;
    }
    /* Something that is not HTTP at all is refused at once, not after 64 KiB. */
    if (memcmp(p, proto, n < sizeof(proto) - 1 ? n : sizeof(proto) - 1) != 0) {
        return parse_err(why, "bad status line");
    }
    for (;;) {
        const char *lf = memchr(p + pos, '\n', lim - pos);
        const char *line = p + pos;
        size_t len;

        if (lf == NULL) {
            /* The head, blank line included, would be longer than HTTP_HEAD_MAX. */
            if (n >= HTTP_HEAD_MAX) {
                return parse_err(why, "response head too long");
            }
            return PARSE_AGAIN;
        }
        len = (size_t)(lf - line);
        pos += len + 1;
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        if (len > 0 && memchr(line, '\r', len) != NULL) {
            return parse_err(why, "bare CR in response head");
        }
        if (!status) {
            if (!parse_status_line(line, len, h, why)) {
                return PARSE_ERR;
            }
            status = true;
            continue;
        }
        if (len == 0) {
            *used = pos;
            return PARSE_OK;
        }
        if (h->nfields == HTTP_FIELDS_MAX) {
            return parse_err(why, "too many header fields");
        }
        if (!parse_field(line, len, &h->fields[h->nfields], why)) {
            return PARSE_ERR;
        }
        h->nfields++;
    }
}

const struct str *
http_head_get(const struct http_head *h, const char *name)
{
    for (size_t i = 0; i < h->nfields && i < HTTP_FIELDS_MAX; i++) {
        if (ieq(h->fields[i].name.p, h->fields[i].name.n, name)) {
            return &h->fields[i].value;
        }
    }
    return NULL;
}

/* The next element of a comma-separated list value, OWS trimmed; false at the end. */
static bool
next_element(struct str v, size_t *pos, struct str *e)
{
    size_t i = *pos, a, b;

    if (i > v.n) {
        return false;
    }
    a = i;
    while (i < v.n && v.p[i] != ',') {
        i++;
    }
    b = i;
    *pos = i + 1;
    while (a < b && is_blank((unsigned char)v.p[a])) {
        a++;
    }
    while (b > a && is_blank((unsigned char)v.p[b - 1])) {
        b--;
    }
    e->p = v.p + a;
    e->n = b - a;
    return true;
}

enum parse_result
http_body_framing(const struct http_head *h, enum http_body *kind, uint64_t *length,
                  const char **why)
{
    size_t nf = h->nfields < HTTP_FIELDS_MAX ? h->nfields : HTTP_FIELDS_MAX;
    size_t codings = 0;
    bool te = false, cl = false;
    uint64_t len = 0;

    *length = 0;
    if ((h->status >= 100 && h->status < 200) || h->status == 204 || h->status == 304) {
        *kind = HTTP_BODY_NONE;
        return PARSE_OK;
    }

    /* We send no TE field, so the only coding a server may apply is chunked, exactly once.
     * Empty list elements are allowed (RFC 9110 section 5.6.1). */
    for (size_t i = 0; i < nf; i++) {
        const struct http_field *f = &h->fields[i];
        struct str e;
        size_t pos = 0;

        if (!ieq(f->name.p, f->name.n, "transfer-encoding")) {
            continue;
        }
        te = true;
        while (next_element(f->value, &pos, &e)) {
            if (e.n == 0) {
                continue;
            }
            if (!ieq(e.p, e.n, "chunked")) {
                return parse_err(why, "unsupported transfer coding");
            }
            codings++;
        }
    }
    if (te) {
        /* RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty. */
        if (h->minor == 0) {
            return parse_err(why, "Transfer-Encoding in an HTTP/1.0 response");
        }
        if (codings != 1) {
            return parse_err(why, codings == 0 ? "empty Transfer-Encoding"
                                               : "chunked applied more than once");
        }
        *kind = HTTP_BODY_CHUNKED;
        return PARSE_OK;
    }

    for (size_t i = 0; i < nf; i++) {
        const struct http_field *f = &h->fields[i];
        struct str e;
        size_t pos = 0;

        if (!ieq(f->name.p, f->name.n, "content-length")) {
            continue;
        }
        while (next_element(f->value, &pos, &e)) {
            uint64_t v = 0;

            if (e.n == 0) {
                return parse_err(why, "bad Content-Length");
            }
            for (size_t k = 0; k < e.n; k++) {
                unsigned d;

                if (!is_digit((unsigned char)e.p[k])) {
                    return parse_err(why, "bad Content-Length");
                }
                d = (unsigned)(e.p[k] - '0');
                if (v > (CONTENT_LENGTH_MAX - d) / 10) {
                    return parse_err(why, "Content-Length too large");
                }
                v = v * 10 + d;
            }
            if (cl && v != len) {
                return parse_err(why, "conflicting Content-Length");
            }
            cl = true;
            len = v;
        }
    }
    if (cl) {
        *kind = HTTP_BODY_LENGTH;
        *length = len;
    } else {
        *kind = HTTP_BODY_CLOSE;
    }
    return PARSE_OK;
}

/* ----------------------------------------------------------------------------------------- */
/* Chunked transfer coding. */

enum {
    CH_SIZE,      /* hex digits of the chunk size */
    CH_SIZE_BWS,  /* blanks after the size, before ';' or the line end */
    CH_EXT,       /* chunk extensions, skipped */
    CH_SIZE_LF,   /* CR seen on the size line */
    CH_DATA,      /* c->left bytes of data */
    CH_DATA_CR,   /* the line end after the data */
    CH_DATA_LF,   /* CR seen after the data */
    CH_TRL_START, /* start of a trailer field or of the final empty line */
    CH_TRL_NAME,  /* trailer field name */
    CH_TRL_VALUE, /* trailer field value, skipped */
    CH_TRL_LF,    /* CR seen on a trailer line */
    CH_END_LF,    /* CR seen on the final empty line */
    CH_DONE,
    CH_FAILED,
};

void
http_chunked_init(struct http_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = CH_SIZE;
}

static enum parse_result
chunked_fail(struct http_chunked *c, size_t i, size_t *used, const char **why, const char *msg)
{
    c->state = CH_FAILED;
    *used = i;
    return parse_err(why, msg);
}

/*
 * One call hands back at most one slice of data and returns right after it, so PARSE_OK never
 * comes with data: a caller that stops at PARSE_OK loses nothing.
 */
enum parse_result
http_chunked_step(struct http_chunked *c, const char *p, size_t n, size_t *used, const char **data,
                  size_t *data_len, const char **why)
{
    size_t i = 0;

    *used = 0;
    *data = p;
    *data_len = 0;
    if (c->state == CH_DONE) {
        return parse_err(why, "chunked body already complete");
    }
    if (c->state == CH_FAILED) {
        return parse_err(why, "chunked body already failed");
    }
    for (; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];

        if (c->state >= CH_TRL_START && c->state <= CH_END_LF && ++c->trailer > HTTP_HEAD_MAX) {
            return chunked_fail(c, i, used, why, "trailer section too long");
        }
        switch (c->state) {
        case CH_DATA: {
            size_t take = n - i;

            if (take > c->left) {
                take = (size_t)c->left;
            }
            *data = p + i;
            *data_len = take;
            c->left -= take;
            if (c->left == 0) {
                c->state = CH_DATA_CR;
            }
            *used = i + take;
            return PARSE_AGAIN;
        }
        case CH_SIZE:
        case CH_SIZE_BWS:
        case CH_EXT:
            if (ch != '\r' && ch != '\n' && ++c->line > HTTP_CHUNK_LINE_MAX) {
                return chunked_fail(c, i, used, why, "chunk size line too long");
            }
            if (c->state == CH_SIZE && is_hex(ch)) {
                /* Sixteen significant hex digits could overflow; 2^60 - 1 is plenty. */
                if ((c->left >> 56) != 0) {
                    return chunked_fail(c, i, used, why, "chunk size too large");
                }
                c->left = (c->left << 4) | (uint64_t)hex_value(ch);
                c->digits = true;
                break;
            }
            if (!c->digits) {
                return chunked_fail(c, i, used, why, "bad chunk size");
            }
            if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if (ch == '\n') {
                goto size_line_end;
            } else if (c->state == CH_EXT) {
                if (is_ctl(ch) && ch != '\t') {
                    return chunked_fail(c, i, used, why, "bad chunk extension");
                }
            } else if (ch == ';') {
                c->state = CH_EXT;
            } else if (is_blank(ch)) {
                c->state = CH_SIZE_BWS;
            } else {
                return chunked_fail(c, i, used, why,
                                    c->state == CH_SIZE ? "bad chunk size" : "bad chunk extension");
            }
            break;
        case CH_SIZE_LF:
            if (ch != '\n') {
                return chunked_fail(c, i, used, why, "bare CR in chunk size line");
            }
        size_line_end:
            c->line = 0;
            c->digits = false;
            c->state = c->left == 0 ? CH_TRL_START : CH_DATA;
            break;
        case CH_DATA_CR:
            if (ch == '\r') {
                c->state = CH_DATA_LF;
            } else if (ch == '\n') {
                c->state = CH_SIZE;
            } else {
                return chunked_fail(c, i, used, why, "missing CRLF after chunk data");
            }
            break;
        case CH_DATA_LF:
            if (ch != '\n') {
                return chunked_fail(c, i, used, why, "missing CRLF after chunk data");
            }
            c->state = CH_SIZE;
            break;
        case CH_TRL_START:
            c->line = 1;
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (ch == '\n') {
                goto done;
            } else if (is_tchar(ch)) {
                c->state = CH_TRL_NAME;
            } else {
                return chunked_fail(c, i, used, why, "bad trailer field");
            }
            break;
        case CH_TRL_NAME:
            c->line++;
            if (ch == ':') {
                c->state = CH_TRL_VALUE;
            } else if (!is_tchar(ch)) {
                return chunked_fail(c, i, used, why, "bad trailer field");
            }
            break;
        case CH_TRL_VALUE:
            c->line++;
            if (ch == '\0') {
                return chunked_fail(c, i, used, why, "NUL in trailer field");
            } else if (ch == '\r') {
                c->state = CH_TRL_LF;
            } else if (ch == '\n') {
                c->state = CH_TRL_START;
            }
            break;
        case CH_TRL_LF:
            if (ch != '\n') {
                return chunked_fail(c, i, used, why, "bare CR in trailer field");
            }
            c->state = CH_TRL_START;
            break;
        case CH_END_LF:
            if (ch != '\n') {
                return chunked_fail(c, i, used, why, "bare CR in trailer section");
            }
            goto done;
        default:
            return chunked_fail(c, i, used, why, "bad chunked decoder state");
        }
    }
    *used = i;
    return PARSE_AGAIN;

done:
    c->state = CH_DONE;
    c->line = 0;
    *used = i + 1;
    return PARSE_OK;
}

bool
http_status_redirects(int status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}
