/* SPDX-License-Identifier: MIT */
/*
 * sb get: an HTTP/1.1 client for one URL. The protocol lives in proto/http.c; this file does the
 * I/O: resolving, connecting under a time limit, TLS with OpenSSL (chain and host name checked),
 * one GET per connection ("Connection: close"), redirects, and writing the body where asked with
 * a progress line for long downloads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "cli/text.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/strutil.h"
#include "proto/http.h"
#include "version.h"

#define GET_BUF (HTTP_HEAD_MAX + 65536)
#define NET_CACERT 77 /* the --cacert file cannot be used (curl's number too) */

static const char get_usage[] =
    "usage: sb get [OPTIONS] URL\n"
    "Fetch URL (http:// or https://) with HTTP/1.1 and write the body to standard output.\n"
    "  -i, --include             also write the response head (status line and fields)\n"
    "  -L, --location            follow redirects\n"
    "      --max-redirs N        at most N redirects with -L (default 10)\n"
    "  -o, --output FILE         write to FILE instead of standard output\n"
    "  -f, --fail                on HTTP status 400 or more: no output, exit 22\n"
    "      --cacert FILE         trust the CA certificates in FILE (PEM), not the system's\n"
    "      --connect-timeout S   seconds to connect, TLS handshake included (default 10)\n"
    "  -t, --timeout S           longest wait for data once connected (default 30)\n"
    "  -q, --quiet               no progress line (shown only when stderr is a terminal)\n"
    "  -v, --verbose             show the connection, the request and the response head\n"
    "Exit codes (curl's): 0 ok, 2 usage, 3 bad URL, 6 unknown host, 7 cannot connect,\n"
    "8 malformed response, 18 body cut short, 22 HTTP error with -f, 23 cannot write,\n"
    "28 timeout, 35 TLS failure, 47 too many redirects or a loop, 52 empty reply,\n"
    "56 connection broken, 60 certificate not trusted or not for this host, 77 bad --cacert.\n";

struct get_opts {
    bool include, follow, fail, quiet, verbose;
    long max_redirs;
    const char *output, *cacert;
    double connect_timeout, read_timeout;
};

/* Where the output goes: stdout, or -o FILE opened on the first byte so that a failed request
 * leaves no empty file behind. */
struct sink {
    const char *path;
    int fd;
    bool progress;        /* stderr is a terminal and -q was not given */
    bool shown;           /* a progress line is on the screen */
    uint64_t done, total; /* body bytes; total 0 when unknown */
    struct timespec start, last;
};

/* One connection: a socket, and TLS over it for https. */
struct xfer {
    int fd;
    SSL *ssl;
    SSL_CTX *ctx;
};

/* The sink whose progress line is on the screen, cleared before any message. */
static struct sink *progress_sink;

static void progress_clear(struct sink *k);

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* cli_fail(), after clearing the progress line so the message starts a line of its own. */
static int
fail(int code, const char *fmt, ...)
{
    va_list ap;

    if (progress_sink) {
        progress_clear(progress_sink);
    }
    va_start(ap, fmt);
    code = cli_vfail(code, fmt, ap);
    va_end(ap);
    return code;
}

static double
since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

/* ----------------------------------------------------------------------------------------- */
/* Output and progress */

static void
human(uint64_t n, char *buf, size_t cap)
{
    if (n < 1024) {
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    } else if (n < 1024 * 1024) {
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024);
    } else if (n < 1024ULL * 1024 * 1024) {
        snprintf(buf, cap, "%.1f MiB", (double)n / (1024 * 1024));
    } else {
        snprintf(buf, cap, "%.2f GiB", (double)n / (1024.0 * 1024 * 1024));
    }
}

static void
progress_clear(struct sink *k)
{
    if (k->shown) {
        fputs("\r\033[K", stderr);
        k->shown = false;
    }
}

/* A long download shows "12.3 MiB of 45.6 MiB  27%  3.2 MiB/s" after a second, refreshed four
 * times a second. */
static void
progress(struct sink *k)
{
    double elapsed = since(&k->start);
    char done[32], total[32], rate[32];

    if (!k->progress || elapsed < 1.0 || (k->shown && since(&k->last) < 0.25)) {
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &k->last);
    human(k->done, done, sizeof(done));
    human((uint64_t)((double)k->done / elapsed), rate, sizeof(rate));
    if (k->total) {
        human(k->total, total, sizeof(total));
        fprintf(stderr, "\r\033[K%s of %s  %3.0f%%  %s/s", done, total,
                100.0 * (double)k->done / (double)k->total, rate);
    } else {
        fprintf(stderr, "\r\033[K%s  %s/s", done, rate);
    }
    k->shown = true;
}

static int
sink_write(struct sink *k, const char *p, size_t n)
{
    if (k->fd < 0) {
        k->fd = open(k->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (k->fd < 0) {
            progress_clear(k);
            return fail(NET_WRITE, "cannot create %s: %s", k->path, strerror(errno));
        }
    }
    if (n > 0 && !net_write_all(k->fd, p, n)) {
        progress_clear(k);
        return fail(NET_WRITE, "cannot write %s: %s", k->path ? k->path : "the output",
                    strerror(errno));
    }
    return NET_OK;
}

static int
body_write(struct sink *k, const char *p, size_t n)
{
    int rc = sink_write(k, p, n);
    k->done += n;
    progress(k);
    return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* The connection */

static void
xfer_close(struct xfer *x)
{
    if (x->ssl) {
        SSL_free(x->ssl);
        x->ssl = NULL;
    }
    if (x->fd >= 0) {
        close(x->fd);
        x->fd = -1;
    }
}

/* TLS runs on a non-blocking socket, so that every OpenSSL call returns and each wait is a
 * poll() against one deadline: a server that sends a record a byte at a time cannot stretch a
 * handshake or a read past its limit. Returns false when the deadline has passed. */
static bool
tls_wait(struct xfer *x, int e, double deadline)
{
    double left = deadline - loop_now();
    return left > 0 && net_wait(x->fd, e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN, left) > 0;
}

/* Read into @p; returns bytes (> 0), 0 at the end of the stream, or -code. */
static ssize_t
xfer_read(struct xfer *x, char *p, size_t n, double timeout)
{
    double deadline = loop_now() + timeout;
    ssize_t r;

    while (x->ssl) {
        ERR_clear_error();
        int k = SSL_read(x->ssl, p, (int)(n > INT32_MAX ? INT32_MAX : n));
        if (k > 0) {
            return k;
        }
        int e = SSL_get_error(x->ssl, k);
        if (e == SSL_ERROR_ZERO_RETURN) {
            return 0;
        }
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (!tls_wait(x, e, deadline)) {
                fail(0, "no data for %.1fs", timeout);
                return -NET_TIMEOUT;
            }
            continue;
        }
        unsigned long err = ERR_get_error();
        fail(0, "TLS connection broken: %s",
             err                               ? ERR_reason_error_string(err)
             : e == SSL_ERROR_SYSCALL && errno ? strerror(errno)
                                               : "unexpected end");
        return -NET_RECV;
    }
    if (net_wait(x->fd, POLLIN, timeout) == 0) {
        fail(0, "no data for %.1fs", timeout);
        return -NET_TIMEOUT;
    }
    do {
        r = recv(x->fd, p, n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        fail(0, "connection broken: %s", strerror(errno));
        return -NET_RECV;
    }
    return r;
}

static int
xfer_write(struct xfer *x, const char *p, size_t n, double timeout)
{
    double deadline = loop_now() + timeout;

    for (size_t done = 0; x->ssl && done < n;) {
        ERR_clear_error();
        int k = SSL_write(x->ssl, p + done, (int)(n - done));
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        int e = SSL_get_error(x->ssl, k);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            return fail(NET_RECV, "cannot send the request over TLS");
        }
        if (!tls_wait(x, e, deadline)) {
            return fail(NET_TIMEOUT, "cannot send the request for %.1fs", timeout);
        }
    }
    for (size_t done = 0; !x->ssl && done < n;) {
        if (net_wait(x->fd, POLLOUT, timeout) == 0) {
            return fail(NET_TIMEOUT, "cannot send the request for %.1fs", timeout);
        }
        ssize_t w = send(x->fd, p + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (w < 0) {
            return fail(NET_RECV, "cannot send the request: %s", strerror(errno));
        }
        done += (size_t)w;
    }
    return NET_OK;
}

static bool
is_ip_literal(const struct url *u)
{
    unsigned char buf[16];
    return u->ipv6 || inet_pton(AF_INET, u->host, buf) == 1;
}

static int
tls_start(struct xfer *x, const struct url *u, const struct get_opts *o)
{
    long verify;

    if (x->ctx == NULL) {
        x->ctx = SSL_CTX_new(TLS_client_method());
        if (x->ctx == NULL) {
            return fail(NET_INTERNAL, "cannot set up TLS");
        }
        SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
        /* A server that closes without close_notify ends a body delimited by the close like a
         * plain connection would; bodies with a length are checked against it anyway. */
        SSL_CTX_set_options(x->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
        if (o->cacert) {
            if (SSL_CTX_load_verify_locations(x->ctx, o->cacert, NULL) != 1) {
                return fail(NET_CACERT, "cannot use the CA certificates in %s", o->cacert);
            }
        } else if (SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
            return fail(NET_CACERT, "cannot load the system's CA certificates");
        }
    }
    x->ssl = SSL_new(x->ctx);
    if (x->ssl == NULL || SSL_set_fd(x->ssl, x->fd) != 1) {
        return fail(NET_INTERNAL, "cannot set up TLS");
    }
    if (is_ip_literal(u)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(x->ssl), u->host);
    } else {
        SSL_set_tlsext_host_name(x->ssl, u->host);
        SSL_set1_host(x->ssl, u->host);
    }
    double deadline = loop_now() + o->connect_timeout;
    int k, e = SSL_ERROR_NONE;
    for (;;) {
        ERR_clear_error();
        if ((k = SSL_connect(x->ssl)) == 1) {
            return NET_OK;
        }
        e = SSL_get_error(x->ssl, k);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            break;
        }
        if (!tls_wait(x, e, deadline)) {
            return fail(NET_TIMEOUT, "TLS handshake with %s timed out after %.1fs", u->host,
                        o->connect_timeout);
        }
    }
    verify = SSL_get_verify_result(x->ssl);
    if (verify != X509_V_OK) {
        return fail(NET_CERT, "the certificate of %s is not accepted: %s", u->host,
                    X509_verify_cert_error_string(verify));
    }
    unsigned long err = ERR_get_error();
    return fail(NET_TLS, "TLS handshake with %s failed: %s", u->host,
                err ? ERR_reason_error_string(err) : "the server closed the connection");
}

static int
xfer_open(struct xfer *x, const struct url *u, const struct get_opts *o)
{
    char port[8], why[512];
    struct addrinfo *res = NULL;
    int rc;

    snprintf(port, sizeof(port), "%u", u->port);
    if ((rc = net_resolve(u->host, port, SOCK_STREAM, &res, why, sizeof(why))) != NET_OK) {
        return fail(rc, "%s", why);
    }
    rc = net_connect(res, o->connect_timeout, &x->fd, why, sizeof(why));
    freeaddrinfo(res);
    if (rc != NET_OK) {
        return fail(rc, "%s", why);
    }
    if (o->verbose) {
        fprintf(stderr, "* connected to %s port %u\n", u->host, u->port);
    }
    if (!u->tls) {
        return NET_OK;
    }
    fcntl(x->fd, F_SETFL, fcntl(x->fd, F_GETFL) | O_NONBLOCK);
    rc = tls_start(x, u, o);
    if (rc == NET_OK && o->verbose) {
        fprintf(stderr, "* %s, %s\n", SSL_get_version(x->ssl), SSL_get_cipher(x->ssl));
    }
    return rc;
}

/* ----------------------------------------------------------------------------------------- */
/* One exchange */

struct response {
    char *buf; /* head + the first body bytes */
    size_t len, head_len;
    struct http_head head;
};

static int
send_request(struct xfer *x, const struct url *u, const struct get_opts *o)
{
    char host[HTTP_HOST_MAX + 16];
    char *req = xmalloc(HTTP_URL_MAX + 512);
    int n, rc;

    url_host_header(u, host, sizeof(host));
    n = snprintf(req, HTTP_URL_MAX + 512,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sb/%s\r\nAccept: */*\r\n"
                 "Connection: close\r\n\r\n",
                 u->target, host, SB_VERSION);
    if (o->verbose) {
        fprintf(stderr, "> %.*s", n - 2, req);
    }
    rc = xfer_write(x, req, (size_t)n, o->read_timeout);
    free(req);
    return rc;
}

/* Read until a complete final (non-1xx) head is in r->buf. */
static int
read_head(struct xfer *x, struct response *r, const struct get_opts *o)
{
    for (;;) {
        const char *why = NULL;
        enum parse_result pr =
            r->len ? http_head_parse(r->buf, r->len, &r->head, &r->head_len, &why) : PARSE_AGAIN;
        if (pr == PARSE_ERR) {
            return fail(NET_BAD_REPLY, "malformed response: %s", why);
        }
        if (pr == PARSE_OK && r->head.status >= 100 && r->head.status < 200) {
            if (r->head.status == 101) {
                return fail(NET_BAD_REPLY, "the server switched protocols (101)");
            }
            /* 100 Continue, 103 Early Hints: the real answer follows. */
            memmove(r->buf, r->buf + r->head_len, r->len - r->head_len);
            r->len -= r->head_len;
            continue;
        }
        if (pr == PARSE_OK) {
            return NET_OK;
        }
        if (r->len >= HTTP_HEAD_MAX) {
            return fail(NET_BAD_REPLY, "malformed response: head longer than %d bytes",
                        HTTP_HEAD_MAX);
        }
        ssize_t k = xfer_read(x, r->buf + r->len, GET_BUF - r->len, o->read_timeout);
        if (k < 0) {
            return (int)-k;
        }
        if (k == 0) {
            return r->len == 0 ? fail(NET_EMPTY, "the server closed the connection without "
                                                 "answering")
                               : fail(NET_BAD_REPLY, "malformed response: the connection "
                                                     "closed inside the head");
        }
        r->len += (size_t)k;
    }
}

/* Copy the body from @first (already read) and then the connection to the sink. */
static int
read_body(struct xfer *x, struct response *r, struct sink *k, const struct get_opts *o)
{
    enum http_body kind;
    uint64_t length = 0;
    const char *why = NULL;
    struct http_chunked ch;
    char *p = r->buf + r->head_len;
    size_t n = r->len - r->head_len;
    int rc;

    if (http_body_framing(&r->head, &kind, &length, &why) != PARSE_OK) {
        return fail(NET_BAD_REPLY, "malformed response: %s", why);
    }
    k->total = kind == HTTP_BODY_LENGTH ? length : 0;
    http_chunked_init(&ch);
    for (;;) {
        switch (kind) {
        case HTTP_BODY_NONE:
            return NET_OK;
        case HTTP_BODY_LENGTH: {
            size_t take = (uint64_t)n < length ? n : (size_t)length;
            if ((rc = body_write(k, p, take)) != NET_OK) {
                return rc;
            }
            length -= take;
            if (length == 0) {
                return NET_OK;
            }
            break;
        }
        case HTTP_BODY_CHUNKED:
            while (n > 0) {
                size_t used, dlen;
                const char *data;
                enum parse_result pr = http_chunked_step(&ch, p, n, &used, &data, &dlen, &why);
                if (pr == PARSE_ERR) {
                    return fail(NET_BAD_REPLY, "malformed chunked body: %s", why);
                }
                if (dlen && (rc = body_write(k, data, dlen)) != NET_OK) {
                    return rc;
                }
                p += used;
                n -= used;
                if (pr == PARSE_OK) {
                    return NET_OK;
                }
            }
            break;
        case HTTP_BODY_CLOSE:
            if ((rc = body_write(k, p, n)) != NET_OK) {
                return rc;
            }
            break;
        }
        ssize_t got = xfer_read(x, r->buf, GET_BUF, o->read_timeout);
        if (got < 0) {
            return (int)-got;
        }
        if (got == 0) {
            if (kind == HTTP_BODY_CLOSE) {
                return NET_OK;
            }
            progress_clear(k);
            if (kind == HTTP_BODY_LENGTH) {
                return fail(NET_PARTIAL,
                            "the connection closed with %llu bytes of the body "
                            "missing",
                            (unsigned long long)length);
            }
            return fail(NET_PARTIAL, "the connection closed inside the chunked body");
        }
        p = r->buf;
        n = (size_t)got;
    }
}

static char *
escaped(const struct str s)
{
    return text_escape(s.p, s.n, false);
}

/* ----------------------------------------------------------------------------------------- */

static const struct option get_opts_long[] = {
    {"include", no_argument, NULL, 'i'},
    {"location", no_argument, NULL, 'L'},
    {"max-redirs", required_argument, NULL, 'M'},
    {"output", required_argument, NULL, 'o'},
    {"fail", no_argument, NULL, 'f'},
    {"cacert", required_argument, NULL, 'C'},
    {"connect-timeout", required_argument, NULL, 'T'},
    {"timeout", required_argument, NULL, 't'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int
parse_opts(int argc, char **argv, struct get_opts *o)
{
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:iLo:ft:qvh", get_opts_long, NULL)) != -1) {
        switch (c) {
        case 'i':
            o->include = true;
            break;
        case 'L':
            o->follow = true;
            break;
        case 'M':
            if (!parse_long(optarg, 0, 1000, &o->max_redirs)) {
                return fail(NET_USAGE, "bad --max-redirs %s (0 to 1000)", optarg);
            }
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'f':
            o->fail = true;
            break;
        case 'C':
            o->cacert = optarg;
            break;
        case 'T':
        case 't':
            if (!parse_seconds(optarg, 0.1, 86400,
                               c == 'T' ? &o->connect_timeout : &o->read_timeout)) {
                return fail(NET_USAGE, "bad %s %s (seconds, 0.1 to 86400)",
                            c == 'T' ? "--connect-timeout" : "--timeout", optarg);
            }
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'h':
            fputs(get_usage, stdout);
            return -1;
        default:
            return cli_usage_error(c, argv, "sb get --help");
        }
    }
    return NET_OK;
}

int
cmd_get(int argc, char **argv)
{
    struct get_opts o = {.max_redirs = 10, .connect_timeout = 10, .read_timeout = 30};
    struct sink k = {.fd = STDOUT_FILENO};
    struct xfer x = {.fd = -1};
    struct response r = {0};
    struct url *u = xmalloc(sizeof(*u)), *next = xmalloc(sizeof(*next));
    char **seen = NULL;
    size_t nseen = 0;
    char *held = NULL; /* -i heads kept back under --fail: at most (max_redirs + 1) heads */
    size_t nheld = 0;
    const char *why = NULL;
    int rc;

    if ((rc = parse_opts(argc, argv, &o)) != NET_OK) {
        rc = rc < 0 ? NET_OK : rc;
        goto out;
    }
    if (argc - optind != 1) {
        rc = fail(NET_USAGE, "sb get takes one URL (try 'sb get --help')");
        goto out;
    }
    if (!url_parse(argv[optind], u, &why)) {
        rc = fail(NET_BAD_URL, "bad URL %s: %s", argv[optind], why);
        goto out;
    }
    if (o.output) {
        k.path = o.output;
        k.fd = -1;
    }
    /* Not when the body itself goes to the terminal: the line would be mixed into it. */
    k.progress = !o.quiet && isatty(STDERR_FILENO) && (o.output || !isatty(STDOUT_FILENO));
    progress_sink = &k;
    clock_gettime(CLOCK_MONOTONIC, &k.start);
    r.buf = xmalloc(GET_BUF);
    for (;;) {
        char shown[HTTP_URL_MAX + 300];

        url_format(u, shown, sizeof(shown));
        seen = xrealloc(seen, (nseen + 1) * sizeof(*seen));
        seen[nseen++] = xstrdup(shown);
        if ((rc = xfer_open(&x, u, &o)) != NET_OK || (rc = send_request(&x, u, &o)) != NET_OK ||
            (rc = read_head(&x, &r, &o)) != NET_OK) {
            goto out;
        }
        if (o.verbose) {
            fprintf(stderr, "< %.*s", (int)r.head_len, r.buf);
        }
        if (o.include) {
            /* With --fail nothing is written before the final status is known to be good. */
            held = xrealloc(held, nheld + r.head_len);
            memcpy(held + nheld, r.buf, r.head_len);
            nheld += r.head_len;
            if (!o.fail) {
                rc = sink_write(&k, held, nheld);
                nheld = 0;
                if (rc != NET_OK) {
                    goto out;
                }
            }
        }
        const struct str *loc = http_head_get(&r.head, "Location");
        if (o.follow && http_status_redirects(r.head.status) && loc) {
            if (!url_resolve(u, loc->p, loc->n, next, &why)) {
                char *l = escaped(*loc);
                rc = fail(NET_BAD_URL, "cannot follow the redirect to %s: %s", l, why);
                free(l);
                goto out;
            }
            url_format(next, shown, sizeof(shown));
            for (size_t i = 0; i < nseen; i++) {
                if (strcmp(seen[i], shown) == 0) {
                    rc = fail(NET_REDIRECTS, "redirect loop: %s again", shown);
                    goto out;
                }
            }
            if ((long)nseen > o.max_redirs) {
                rc = fail(NET_REDIRECTS, "more than %ld redirects", o.max_redirs);
                goto out;
            }
            if (o.verbose) {
                fprintf(stderr, "* redirected to %s\n", shown);
            }
            xfer_close(&x);
            struct url *t = u;
            u = next;
            next = t;
            r.len = r.head_len = 0;
            continue;
        }
        if (o.fail && r.head.status >= 400) {
            char *reason = escaped(r.head.reason);
            rc = fail(NET_HTTP_ERROR, "HTTP %d%s%s", r.head.status, reason[0] ? " " : "", reason);
            free(reason);
            goto out;
        }
        if (nheld && (rc = sink_write(&k, held, nheld)) != NET_OK) {
            goto out;
        }
        rc = read_body(&x, &r, &k, &o);
        if (rc == NET_OK) {
            rc = sink_write(&k, NULL, 0); /* creates the -o file for an empty body */
        }
        break;
    }

out:
    progress_clear(&k);
    xfer_close(&x);
    if (x.ctx) {
        SSL_CTX_free(x.ctx);
    }
    if (k.path && k.fd >= 0 && close(k.fd) < 0 && rc == NET_OK) {
        rc = fail(NET_WRITE, "cannot write %s: %s", k.path, strerror(errno));
    }
    for (size_t i = 0; i < nseen; i++) {
        free(seen[i]);
    }
    free(seen);
    free(r.buf);
    free(held);
    free(u);
    free(next);
    return rc;
}
