/* SPDX-License-Identifier: MIT */
/*
 * The client side of HTTP/1.1 (RFC 9110, RFC 9112) without I/O: URLs (parse, resolve a redirect's
 * Location, the request target and Host header), the response head (status line and header
 * fields), how the body ends, and an incremental chunked decoder. Every parser is bounded: a
 * response head is at most HTTP_HEAD_MAX bytes and HTTP_FIELDS_MAX fields, a chunk-size line at
 * most HTTP_CHUNK_LINE_MAX bytes, trailers at most HTTP_HEAD_MAX bytes in all.
 */
#ifndef SB_PROTO_HTTP_H
#define SB_PROTO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/parse.h"

#define HTTP_URL_MAX 8192        /* longest URL accepted, and longest request target */
#define HTTP_HOST_MAX 255        /* longest host name (DNS limit) */
#define HTTP_HEAD_MAX 65536      /* status line + header fields + blank line */
#define HTTP_FIELDS_MAX 128      /* header fields in one response head */
#define HTTP_CHUNK_LINE_MAX 4096 /* chunk size + extensions */

/* ----------------------------------------------------------------------------------------- */
/* URLs: http://HOST[:PORT][/PATH][?QUERY][#FRAGMENT] and https://... (RFC 3986). */

struct url {
    bool tls;                      /* https */
    char host[HTTP_HOST_MAX + 1];  /* lower-cased reg-name, IPv4 literal, or IPv6 without [] */
    bool ipv6;                     /* host is an IPv6 literal (written [host] in URLs) */
    uint16_t port;                 /* the explicit port, or 80/443 */
    char target[HTTP_URL_MAX + 1]; /* origin-form request target: "/path?query", never empty,
                                      dot segments removed; bytes that may not appear in a
                                      request line (space, non-ASCII, '"', '<', '>', '\\', '^',
                                      '`', '{', '|', '}', a '%' not followed by two hex digits)
                                      are percent-encoded; the fragment is dropped */
};

/**
 * url_parse() - parse an absolute http or https URL.
 * Schemes are case-insensitive; userinfo ("user:pass@") and control characters are refused;
 * the port must be 1-65535 (empty: the default); an IPv6 literal must be a valid address in
 * brackets (no zone) and is kept in its canonical form; a host name must be 1 to 255 bytes of
 * letters, digits, '-', '.', '_' (IPv4 literals are host names here too).
 * Return: true, or false with a static reason in *why ("unsupported scheme", "bad port"...).
 */
bool url_parse(const char *s, struct url *u, const char **why);

/**
 * url_format() - @u written back as an absolute URL ("http://[::1]:8080/a?b"), the port shown
 * only when it is not the scheme's default. Two URLs are the same resource if their formats are
 * equal (used for redirect loop detection). Return: false if @cap is too small.
 */
bool url_format(const struct url *u, char *out, size_t cap);

/**
 * url_host_header() - the Host field value for @u: host, "[v6]" for IPv6, plus ":port" when
 * not the default. Return: false if @cap is too small.
 */
bool url_host_header(const struct url *u, char *out, size_t cap);

/**
 * url_resolve() - resolve reference @ref (a Location field value: absolute URL, "//host/path",
 * "/path", "path", "?query", with "." and ".." segments removed as in RFC 3986 section 5.2)
 * against @base into @out.
 * Return: true, or false with a static reason in *why.
 */
bool url_resolve(const struct url *base, const char *ref, size_t ref_len, struct url *out,
                 const char **why);

/* ----------------------------------------------------------------------------------------- */
/* Response head. */

struct http_field {
    struct str name, value; /* value without leading or trailing blanks */
};

struct http_head {
    int minor;  /* HTTP/1.minor */
    int status; /* 100-999 */
    struct str reason;
    struct http_field fields[HTTP_FIELDS_MAX];
    size_t nfields;
};

/**
 * http_head_parse() - parse the response head at the start of @p.
 * Lines end in CRLF or a bare LF. The status line must be "HTTP/1.x SSS[ reason]"; field names
 * are tokens, values may not contain NUL, CR or LF; obsolete line folding is refused.
 * @used: on PARSE_OK, the bytes of the head including the blank line; the body starts there.
 * Return: PARSE_OK with the fields pointing into @p; PARSE_AGAIN if the blank line has not
 * arrived yet (and @n <= HTTP_HEAD_MAX); PARSE_ERR with a static reason in *why.
 */
enum parse_result http_head_parse(const char *p, size_t n, struct http_head *h, size_t *used,
                                  const char **why);

/** http_head_get() - the value of the first field named @name (case-insensitive), or NULL. */
const struct str *http_head_get(const struct http_head *h, const char *name);

enum http_body {
    HTTP_BODY_NONE,    /* 1xx, 204, 304: nothing follows the head */
    HTTP_BODY_LENGTH,  /* exactly *length bytes */
    HTTP_BODY_CHUNKED, /* chunked transfer coding: decode with http_chunked_step() */
    HTTP_BODY_CLOSE,   /* everything until the server closes the connection */
};

/**
 * http_body_framing() - how the body of @h, the answer to a GET, is delimited (RFC 9112 section
 * 6.3): Transfer-Encoding whose last coding is chunked wins over Content-Length; any other
 * transfer coding is refused (we ask for none); several Content-Length fields or values must all
 * agree, and each must be digits only, at most 2^62.
 * Return: PARSE_OK, or PARSE_ERR with a static reason in *why.
 */
enum parse_result http_body_framing(const struct http_head *h, enum http_body *kind,
                                    uint64_t *length, const char **why);

/* ----------------------------------------------------------------------------------------- */
/* Chunked transfer coding (RFC 9112 section 7.1), decoded in place, a piece at a time. */

struct http_chunked {
    int state;
    uint64_t left;  /* data bytes left in the current chunk */
    size_t line;    /* bytes seen on the current size or trailer line */
    size_t trailer; /* trailer bytes seen in all */
    bool digits;    /* the size line has at least one hex digit */
};

void http_chunked_init(struct http_chunked *c);

/**
 * http_chunked_step() - decode from @p (@n > 0 bytes of the message body).
 * @used: bytes of @p consumed (> 0 unless the result is PARSE_ERR)
 * @data, @data_len: body data found among them (@data points into @p; @data_len may be 0)
 * Call again with the rest of the input after every PARSE_AGAIN; the caller never needs to keep
 * unconsumed bytes. Chunk extensions and trailer fields are skipped.
 * Return: PARSE_OK when the last chunk and the trailers are complete (bytes after @used belong
 * to the next message), PARSE_AGAIN to go on, PARSE_ERR with a static reason in *why.
 */
enum parse_result http_chunked_step(struct http_chunked *c, const char *p, size_t n, size_t *used,
                                    const char **data, size_t *data_len, const char **why);

/** http_status_redirects() - is @status a redirection that carries a Location (301, 302, 303,
 * 307, 308)? */
bool http_status_redirects(int status);

#endif
