/* SPDX-License-Identifier: MIT */
/*
 * wfload: a load generator for the word-frequency service that can put the same load on Redis.
 * N connections on one libevent loop each keep K requests in flight; a request looks up M words
 * drawn from a word list with a fixed seed, so every server sees the same sequence on every
 * connection. It reports lookups/s, requests/s, latency percentiles and the CPU the server used.
 * Replies are parsed completely and checked only as far as counting errors and unknown words:
 * checking the numbers is the tests' job.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/measure.h"
#include "core/loop.h"
#include "core/strutil.h"

#define CONNS_MAX 60000
#define PIPELINE_MAX 1024
#define WORDS_PER_REQ_MAX 4096 /* the service's max_words */
#define WORD_LEN_MAX 255
#define WORDLIST_BYTES_MAX (1L << 30)
#define CONNECTING_MAX 128 /* connects in progress at once, well under any listen backlog */
#define IN_BUF_MIN 65536   /* the input buffer grows past this only for a larger reply */
#define IN_BUF_MAX (64u << 20)
#define LINE_MAX_LEN 65536 /* a wordfreq reply line longer than this is a broken stream */
#define READS_PER_EVENT 8  /* read() calls per readable event before yielding to the others */
#define RESP_DEPTH_MAX 4
#define RESP_BULK_MAX (1u << 20)
#define ERRTEXT_MAX 160

enum proto { PROTO_WORDFREQ, PROTO_REDIS };
enum rcmd { RCMD_AUTO, RCMD_GET, RCMD_MGET, RCMD_HMGET };
enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_DONE };
enum cstate { CS_IDLE, CS_CONNECTING, CS_SELECTING, CS_READY, CS_RUNNING, CS_STOPPED };

/* Parser verdicts, as in src/proto. */
enum parse { PARSE_OK, PARSE_AGAIN, PARSE_ERR };

struct conn {
    unsigned idx;
    int fd;
    enum cstate state;
    struct event *rev, *wev;
    bool wev_pending;
    uint64_t rng;
    char *in, *out;
    size_t in_len, in_cap, out_off, out_len, out_cap;
    /* Requests in flight, oldest at head: when each was sent and (for the checks) its words,
     * M word indices per slot. */
    unsigned head, inflight;
    unsigned lines_done; /* wordfreq: lines of the head request's answer already read */
    unsigned unknown;    /* wordfreq: unknown words among them */
    uint64_t *sent;
    uint32_t *words;
};

struct options {
    struct sockaddr_storage sa;
    int salen;
    const char *addr_text;
    const char *words_file;
    enum proto proto;
    enum rcmd rcmd;
    const char *hash_key;
    long db; /* -1: no SELECT */
    unsigned conns, pipeline, per_req;
    unsigned long seed;
    double duration, warmup, setup_timeout;
    long server_pid; /* 0: unknown */
};

/* What a RESP reply held, as far as the checks need it. */
struct resp_info {
    char type;       /* of the top-level value */
    long elems;      /* array: elements; bulk: length; -1 nil */
    unsigned nils;   /* nil bulk strings at the top level or in the array */
    unsigned bulks;  /* non-nil bulk strings, same */
    const char *err; /* '-' reply: its text */
    size_t err_len;
};

static struct {
    struct options o;
    struct event_base *base;
    struct conn *conns;
    /* The word list: one arena, words NUL-free and separated, with offsets and lengths. */
    char *arena;
    uint32_t *woff;
    uint8_t *wlen;
    uint32_t nwords;
    enum phase phase;
    uint64_t t_start, t_setup_done, t_measure, t_end;
    struct cpu_sample cpu_measure, cpu_end;
    unsigned launched, connecting, ready, setup_failed, stopped;
    struct event *phase_timer, *setup_timer, *deadline_timer, *sigint_ev, *sigterm_ev;
    struct hist hist;
    /* Measured window only. */
    uint64_t requests, lookups, unknown, tx_bytes, rx_bytes;
    /* Whole run. */
    unsigned long errors, err_replies, lost;
    char first_error[ERRTEXT_MAX];
    bool interrupted;
} g;

static void conn_stop(struct conn *c, const char *why);
static void conn_launch(struct conn *c);
static void conn_ready(struct conn *c);
static void begin_load(void);

/* ---- randomness, errors ---- */

/* splitmix64: turns the seed and a connection's index into well-spread xorshift states. */
static uint64_t
splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* xorshift64*: each connection has its own generator, so its sequence of words does not depend
 * on how the replies of the connections interleave. */
static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545f4914f6cdd1dull;
}

static void
note_error(const struct conn *c, const char *what, const char *text, size_t n)
{
    g.errors++;
    if (g.first_error[0] == '\0') {
        snprintf(g.first_error, sizeof(g.first_error), "connection %u: %s%.*s", c->idx, what,
                 (int)(n < ERRTEXT_MAX ? n : ERRTEXT_MAX), text);
    }
}

/* ---- the word list ---- */

/*
 * One word a line; a TAB ends the word, so the service's own TSV data file is a word list too.
 * CR before LF and empty lines are ignored. A word has 1 to 255 bytes and no blank or control
 * byte, as the service requires.
 */
static int
words_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    size_t n, lines = 0, cap;
    char *p, *end;
    int rc = -1;

    if (f == NULL) {
        fprintf(stderr, "wfload: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) < 0 || st.st_size <= 0 || st.st_size > WORDLIST_BYTES_MAX) {
        fprintf(stderr, "wfload: %s: empty, unreadable or larger than %ld bytes\n", path,
                WORDLIST_BYTES_MAX);
        goto out;
    }
    g.arena = malloc((size_t)st.st_size + 1);
    if (g.arena == NULL) {
        fprintf(stderr, "wfload: out of memory\n");
        goto out;
    }
    n = fread(g.arena, 1, (size_t)st.st_size, f);
    if (n != (size_t)st.st_size) {
        fprintf(stderr, "wfload: %s: short read\n", path);
        goto out;
    }
    g.arena[n] = '\n';
    cap = 1;
    for (size_t i = 0; i < n; i++) {
        cap += g.arena[i] == '\n';
    }
    g.woff = malloc(cap * sizeof(*g.woff));
    g.wlen = malloc(cap);
    if (g.woff == NULL || g.wlen == NULL) {
        fprintf(stderr, "wfload: out of memory\n");
        goto out;
    }
    p = g.arena;
    end = g.arena + n;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p) + 1);
        char *we = memchr(p, '\t', (size_t)(nl - p));
        size_t len;

        lines++;
        if (we == NULL) {
            we = nl;
            if (we > p && we[-1] == '\r') {
                we--;
            }
        }
        len = (size_t)(we - p);
        if (len > 0) {
            if (len > WORD_LEN_MAX) {
                fprintf(stderr, "wfload: %s:%zu: word longer than %d bytes\n", path, lines,
                        WORD_LEN_MAX);
                goto out;
            }
            for (size_t i = 0; i < len; i++) {
                unsigned char ch = (unsigned char)p[i];
                if (ch <= ' ' || ch == 0x7f) {
                    fprintf(stderr, "wfload: %s:%zu: blank or control byte in the word\n", path,
                            lines);
                    goto out;
                }
            }
            g.woff[g.nwords] = (uint32_t)(p - g.arena);
            g.wlen[g.nwords] = (uint8_t)len;
            g.nwords++;
        }
        p = nl + 1;
    }
    if (g.nwords == 0) {
        fprintf(stderr, "wfload: %s: no words\n", path);
        goto out;
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

/* ---- requests ---- */

static void
out_reserve(struct conn *c, size_t more)
{
    size_t need;

    if (c->out_off > 0 && c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    }
    need = c->out_len + more;
    if (need <= c->out_cap) {
        return;
    }
    if (c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
        need = c->out_len + more;
        if (need <= c->out_cap) {
            return;
        }
    }
    while (c->out_cap < need) {
        c->out_cap = c->out_cap ? c->out_cap * 2 : 4096;
    }
    c->out = realloc(c->out, c->out_cap);
    if (c->out == NULL) {
        fprintf(stderr, "wfload: out of memory\n");
        exit(1);
    }
}

static void
out_add(struct conn *c, const void *p, size_t n)
{
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

/* A RESP bulk string header and body: $LEN\r\nBYTES\r\n. */
static void
out_bulk(struct conn *c, const char *p, size_t n)
{
    c->out_len += (size_t)snprintf(c->out + c->out_len, 24, "$%zu\r\n", n);
    out_add(c, p, n);
    out_add(c, "\r\n", 2);
}

static enum rcmd
redis_cmd(void)
{
    if (g.o.rcmd != RCMD_AUTO) {
        return g.o.rcmd;
    }
    return g.o.per_req == 1 ? RCMD_GET : RCMD_HMGET;
}

/* Appends the next request of @c to its output and records it as in flight. */
static void
send_request(struct conn *c)
{
    unsigned slot = (c->head + c->inflight) % g.o.pipeline, m = g.o.per_req;
    uint32_t *w = &c->words[(size_t)slot * m];
    size_t before;

    /* Words first: the request's size depends on them. Bound: 255 bytes plus 16 of framing. */
    for (unsigned i = 0; i < m; i++) {
        w[i] = (uint32_t)(rng_next(&c->rng) % g.nwords);
    }
    out_reserve(c, (size_t)m * (WORD_LEN_MAX + 16) + 64 + strlen(g.o.hash_key));
    before = c->out_len;
    if (g.o.proto == PROTO_WORDFREQ) {
        out_add(c, "FREQ", 4);
        for (unsigned i = 0; i < m; i++) {
            c->out[c->out_len++] = ' ';
            out_add(c, g.arena + g.woff[w[i]], g.wlen[w[i]]);
        }
        c->out[c->out_len++] = '\n';
    } else {
        switch (redis_cmd()) {
        case RCMD_GET:
            out_add(c, "*2\r\n$3\r\nGET\r\n", 13);
            break;
        case RCMD_MGET:
            c->out_len += (size_t)snprintf(c->out + c->out_len, 24, "*%u\r\n", m + 1);
            out_add(c, "$4\r\nMGET\r\n", 10);
            break;
        case RCMD_HMGET:
        case RCMD_AUTO:
            c->out_len += (size_t)snprintf(c->out + c->out_len, 24, "*%u\r\n", m + 2);
            out_add(c, "$5\r\nHMGET\r\n", 11);
            out_bulk(c, g.o.hash_key, strlen(g.o.hash_key));
            break;
        }
        for (unsigned i = 0; i < m; i++) {
            out_bulk(c, g.arena + g.woff[w[i]], g.wlen[w[i]]);
        }
    }
    if (g.phase == PH_MEASURE) {
        g.tx_bytes += c->out_len - before;
    }
    c->sent[slot] = now_ns();
    c->inflight++;
}

static void
conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->wev_pending) {
                event_add(c->wev, NULL);
                c->wev_pending = true;
            }
            return;
        }
        g.lost++;
        conn_stop(c, n < 0 ? strerror(errno) : "write returned 0");
        return;
    }
    c->out_off = c->out_len = 0;
}

/* ---- replies ---- */

/* The head request is answered: measure it and keep the pipeline full. */
static void
complete(struct conn *c, unsigned unknown, bool ok)
{
    uint64_t t = now_ns();
    unsigned slot = c->head;

    c->head = (c->head + 1) % g.o.pipeline;
    c->inflight--;
    c->lines_done = 0;
    c->unknown = 0;
    if (g.phase == PH_MEASURE && ok) {
        hist_add(&g.hist, t - c->sent[slot]);
        g.requests++;
        g.lookups += g.o.per_req;
        g.unknown += unknown;
    }
    if (c->state == CS_RUNNING && (g.phase == PH_WARMUP || g.phase == PH_MEASURE)) {
        send_request(c);
    }
}

static bool
is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/*
 * One wordfreq reply line (without its line end) for the head request. An answer echoes the
 * word sent and then starts its count; anything else starting with "ERR" is the one error line
 * that replaces the whole answer (a word "ERR" is told apart by the digit after it).
 */
static enum parse
wordfreq_line(struct conn *c, const char *p, size_t n)
{
    uint32_t w = c->words[(size_t)c->head * g.o.per_req + c->lines_done];
    size_t wl = g.wlen[w];

    if (n > wl + 1 && p[wl] == ' ' && is_digit(p[wl + 1]) &&
        memcmp(p, g.arena + g.woff[w], wl) == 0) {
        static const char zero[] = " 0 0 0.000";
        bool unknown = n == wl + sizeof(zero) - 1 && memcmp(p + wl, zero, sizeof(zero) - 1) == 0;
        c->lines_done++;
        c->unknown += unknown;
        if (c->lines_done == g.o.per_req) {
            complete(c, c->unknown, true);
        }
        return PARSE_OK;
    }
    if (c->lines_done == 0 && n >= 3 && memcmp(p, "ERR", 3) == 0) {
        g.err_replies++;
        note_error(c, "", p, n);
        complete(c, 0, false);
        return PARSE_OK;
    }
    note_error(c, "unexpected line: ", p, n);
    return PARSE_ERR;
}

/*
 * One RESP value at @p, at most @n bytes. Returns the bytes it takes (> 0), 0 if it is not
 * complete yet, or -1 if it is malformed. Top-level facts go to @ri (depth 0), and the bulk
 * strings and nils of a top-level array are counted too.
 */
static long
resp_value(const char *p, size_t n, int depth, struct resp_info *ri)
{
    const char *crlf;
    long v = 0, used;
    bool neg = false;
    size_t i = 1;

    if (n < 3) {
        return 0;
    }
    crlf = memchr(p, '\r', n < LINE_MAX_LEN ? n : LINE_MAX_LEN);
    if (crlf == NULL) {
        return n >= LINE_MAX_LEN ? -1 : 0;
    }
    if ((size_t)(crlf - p) + 1 >= n) {
        return 0;
    }
    if (crlf[1] != '\n') {
        return -1;
    }
    used = crlf - p + 2;
    if (depth == 0) {
        ri->type = p[0];
    }
    switch (p[0]) {
    case '+':
        return used;
    case '-':
        if (depth == 0) {
            ri->err = p + 1;
            ri->err_len = (size_t)(crlf - p - 1);
        }
        return used;
    case ':':
        return used;
    case '$':
    case '*':
        break;
    default:
        return -1;
    }
    if (p + i < crlf && p[i] == '-') {
        neg = true;
        i++;
    }
    if (p + i == crlf) {
        return -1;
    }
    for (; p + i < crlf; i++) {
        if (!is_digit(p[i]) || v > 100000000) {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    if (neg) {
        if (v != 1) {
            return -1;
        }
        if (depth <= 1) {
            ri->nils++;
        }
        if (depth == 0) {
            ri->elems = -1;
        }
        return used;
    }
    if (p[0] == '$') {
        if (v > RESP_BULK_MAX) {
            return -1;
        }
        if ((size_t)used + (size_t)v + 2 > n) {
            return 0;
        }
        if (p[used + v] != '\r' || p[used + v + 1] != '\n') {
            return -1;
        }
        if (depth <= 1) {
            ri->bulks++;
        }
        if (depth == 0) {
            ri->elems = v;
        }
        return used + v + 2;
    }
    if (depth >= RESP_DEPTH_MAX) {
        return -1;
    }
    if (depth == 0) {
        ri->elems = v;
    }
    for (long k = 0; k < v; k++) {
        long e = resp_value(p + used, n - (size_t)used, depth + 1, ri);
        if (e <= 0) {
            return e;
        }
        used += e;
    }
    return used;
}

/* One complete RESP reply for @c's head request (or its SELECT). */
static void
redis_reply(struct conn *c, const struct resp_info *ri)
{
    bool multi = redis_cmd() != RCMD_GET;

    if (c->state == CS_SELECTING) {
        if (ri->type == '+') {
            c->inflight = 0;
            conn_ready(c);
        } else {
            conn_stop(c, ri->err ? "SELECT refused" : "unexpected reply to SELECT");
        }
        return;
    }
    if (ri->type == '-') {
        g.err_replies++;
        note_error(c, "-", ri->err, ri->err_len);
        complete(c, 0, false);
        return;
    }
    if (multi ? ri->type == '*' && ri->elems == (long)g.o.per_req &&
                    ri->nils + ri->bulks == g.o.per_req
              : ri->type == '$') {
        complete(c, ri->nils, true);
        return;
    }
    note_error(c, "unexpected reply type ", &ri->type, 1);
    complete(c, 0, false);
}

/* Everything complete in @c's input; returns false if @c was stopped. */
static bool
parse_input(struct conn *c)
{
    size_t pos = 0;

    while (pos < c->in_len && c->state != CS_STOPPED) {
        const char *p = c->in + pos;
        size_t n = c->in_len - pos;

        if (c->inflight == 0) {
            note_error(c, "reply to no request", "", 0);
            conn_stop(c, NULL);
            return false;
        }
        if (g.o.proto == PROTO_WORDFREQ) {
            const char *nl = memchr(p, '\n', n);
            size_t len;
            if (nl == NULL) {
                if (n > LINE_MAX_LEN) {
                    note_error(c, "reply line too long", "", 0);
                    conn_stop(c, NULL);
                    return false;
                }
                break;
            }
            len = (size_t)(nl - p);
            pos += len + 1;
            if (len > 0 && p[len - 1] == '\r') {
                len--;
            }
            if (wordfreq_line(c, p, len) != PARSE_OK) {
                conn_stop(c, NULL);
                return false;
            }
        } else {
            struct resp_info ri = {0};
            long used = resp_value(p, n, 0, &ri);
            if (used < 0) {
                note_error(c, "malformed RESP reply", "", 0);
                conn_stop(c, NULL);
                return false;
            }
            if (used == 0) {
                break;
            }
            pos += (size_t)used;
            redis_reply(c, &ri);
        }
    }
    if (c->state == CS_STOPPED) {
        return false;
    }
    if (g.phase == PH_MEASURE) {
        g.rx_bytes += pos;
    }
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    if (c->in_len == c->in_cap) {
        /* Full and still incomplete: one reply is larger than the buffer. */
        if (c->in_cap >= IN_BUF_MAX) {
            note_error(c, "reply larger than the input buffer", "", 0);
            conn_stop(c, NULL);
            return false;
        }
        c->in_cap *= 2;
        c->in = realloc(c->in, c->in_cap);
        if (c->in == NULL) {
            fprintf(stderr, "wfload: out of memory\n");
            exit(1);
        }
    }
    return true;
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    for (int i = 0; i < READS_PER_EVENT; i++) {
        size_t room = c->in_cap - c->in_len;
        ssize_t n = read(fd, c->in + c->in_len, room);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            g.lost++;
            conn_stop(c, n == 0 ? "connection closed by the server" : strerror(errno));
            return;
        }
        c->in_len += (size_t)n;
        if (!parse_input(c)) {
            return;
        }
        if ((size_t)n < room) {
            break; /* the socket is most likely empty: save a read() that says so */
        }
    }
    /* Requests made while reading go out in one write. */
    if (!c->wev_pending) {
        conn_flush(c);
    }
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;

    c->wev_pending = false;
    conn_flush(c);
}

/* ---- connections ---- */

static void
conn_close(struct conn *c)
{
    if (c->rev) {
        event_free(c->rev);
        c->rev = NULL;
    }
    if (c->wev) {
        event_free(c->wev);
        c->wev = NULL;
    }
    c->wev_pending = false;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

static void
finish(void)
{
    if (g.phase == PH_DONE) {
        return;
    }
    if (g.phase == PH_MEASURE) {
        g.t_end = now_ns();
        cpu_take(&g.cpu_end, g.o.server_pid);
    }
    g.phase = PH_DONE;
    event_base_loopbreak(g.base);
}

/* @why: a message for the error count, or NULL when the caller has already counted it. */
static void
conn_stop(struct conn *c, const char *why)
{
    enum cstate was = c->state;

    if (was == CS_STOPPED) {
        return;
    }
    if (why != NULL) {
        note_error(c, "", why, strlen(why));
    }
    conn_close(c);
    c->state = CS_STOPPED;
    g.stopped++;
    if (was == CS_CONNECTING) {
        g.connecting--;
    }
    if ((was == CS_CONNECTING || was == CS_SELECTING) && g.phase == PH_SETUP) {
        g.setup_failed++;
        if (g.launched < g.o.conns) {
            conn_launch(&g.conns[g.launched++]);
        }
        if (g.ready + g.setup_failed == g.o.conns) {
            begin_load();
        }
        return;
    }
    if (g.stopped == g.o.conns && g.phase != PH_DONE) {
        finish(); /* nobody is left to make load: do not measure an idle server */
    }
}

static void
conn_ready(struct conn *c)
{
    c->state = CS_READY;
    g.ready++;
    if (g.launched < g.o.conns) {
        conn_launch(&g.conns[g.launched++]);
    }
    if (g.phase != PH_SETUP) {
        if (g.phase == PH_WARMUP || g.phase == PH_MEASURE) {
            c->state = CS_RUNNING; /* late, after the setup timeout: join the load */
            for (unsigned k = 0; k < g.o.pipeline; k++) {
                send_request(c);
            }
            conn_flush(c);
        }
        return;
    }
    if (g.ready + g.setup_failed == g.o.conns) {
        begin_load();
    }
}

static void
conn_connected_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    int err = 0;
    socklen_t len = sizeof(err);

    c->wev_pending = false;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
        err = errno;
    }
    if (err != 0) {
        conn_stop(c, strerror(err));
        return;
    }
    g.connecting--;
    event_free(c->wev);
    c->wev = event_new(g.base, fd, EV_WRITE, conn_write_cb, c);
    c->rev = event_new(g.base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    if (c->wev == NULL || c->rev == NULL) {
        conn_stop(c, "cannot create events");
        return;
    }
    event_add(c->rev, NULL);
    if (g.o.proto == PROTO_REDIS && g.o.db >= 0) {
        char db[24];
        int dl = snprintf(db, sizeof(db), "%ld", g.o.db);
        /* SELECT takes a slot of the ring like a request, so its reply is parsed in order. */
        c->state = CS_SELECTING;
        out_reserve(c, 64);
        out_add(c, "*2\r\n$6\r\nSELECT\r\n", 16);
        out_bulk(c, db, (size_t)dl);
        c->sent[c->head] = now_ns();
        c->inflight = 1;
        conn_flush(c);
        return;
    }
    conn_ready(c);
}

/* Opens @c's connection without blocking; the rest happens in conn_connected_cb. */
static void
conn_launch(struct conn *c)
{
    int one = 1;

    c->state = CS_CONNECTING;
    g.connecting++;
    c->fd = socket(g.o.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        conn_stop(c, strerror(errno));
        return;
    }
    /* Requests are small and replies gate the next ones: Nagle would add delayed-ACK stalls. */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&g.o.sa, (socklen_t)g.o.salen) < 0 &&
        errno != EINPROGRESS) {
        conn_stop(c, strerror(errno));
        return;
    }
    c->wev = event_new(g.base, c->fd, EV_WRITE, conn_connected_cb, c);
    if (c->wev == NULL) {
        conn_stop(c, "cannot create an event");
        return;
    }
    event_add(c->wev, NULL);
    c->wev_pending = true;
}

static void
conn_init(struct conn *c, unsigned idx)
{
    c->idx = idx;
    c->fd = -1;
    c->rng = splitmix64(g.o.seed * 0x100000001b3ull + idx);
    if (c->rng == 0) {
        c->rng = 1;
    }
    c->in_cap = IN_BUF_MIN;
    c->in = malloc(c->in_cap);
    c->sent = calloc(g.o.pipeline, sizeof(*c->sent));
    c->words = calloc((size_t)g.o.pipeline * g.o.per_req, sizeof(*c->words));
    if (c->in == NULL || c->sent == NULL || c->words == NULL) {
        fprintf(stderr, "wfload: out of memory\n");
        exit(1);
    }
}

/* ---- phases ---- */

static void
arm_timer(struct event *ev, double secs)
{
    struct timeval tv;

    tv.tv_sec = (time_t)secs;
    tv.tv_usec = (suseconds_t)((secs - (double)tv.tv_sec) * 1e6);
    evtimer_add(ev, &tv);
}

static void
begin_measure(void)
{
    g.phase = PH_MEASURE;
    g.t_measure = now_ns();
    cpu_take(&g.cpu_measure, g.o.server_pid);
    arm_timer(g.phase_timer, g.o.duration);
}

/* Every connection is up (or has failed): start the load. */
static void
begin_load(void)
{
    g.t_setup_done = now_ns();
    evtimer_del(g.setup_timer);
    if (g.ready == 0) {
        fprintf(stderr, "wfload: no connection could be set up (%s)\n",
                g.first_error[0] ? g.first_error : "setup timed out");
        finish();
        return;
    }
    g.phase = PH_WARMUP;
    for (unsigned i = 0; i < g.o.conns; i++) {
        struct conn *c = &g.conns[i];
        if (c->state == CS_READY) {
            c->state = CS_RUNNING;
            for (unsigned k = 0; k < g.o.pipeline; k++) {
                send_request(c);
            }
            conn_flush(c);
        }
    }
    if (g.o.warmup > 0) {
        arm_timer(g.phase_timer, g.o.warmup);
    } else {
        begin_measure();
    }
}

static void
phase_cb(evutil_socket_t fd, short what, void *arg)
{
    if (g.phase == PH_WARMUP) {
        begin_measure();
    } else {
        finish();
    }
}

static void
setup_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    if (g.phase == PH_SETUP) {
        fprintf(stderr, "wfload: setup timed out after %.0f s: %u of %u connection(s) ready\n",
                g.o.setup_timeout, g.ready, g.o.conns);
        begin_load();
    }
}

/* The outer bound: whatever happened, the run ends by setup timeout + warm-up + duration + 30 s. */
static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    fprintf(stderr, "wfload: run deadline reached\n");
    g.interrupted = true;
    finish();
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    g.interrupted = true;
    finish();
}

/* ---- report ---- */

static const char *
cmd_name(void)
{
    if (g.o.proto == PROTO_WORDFREQ) {
        return "FREQ";
    }
    switch (redis_cmd()) {
    case RCMD_GET:
        return "GET";
    case RCMD_MGET:
        return "MGET";
    default:
        return "HMGET";
    }
}

static void
print_report(void)
{
    double secs = g.t_end > g.t_measure && g.t_measure ? seconds(g.t_end - g.t_measure) : 0.0;
    double scpu = g.cpu_end.server - g.cpu_measure.server;
    const struct hist *h = &g.hist;
    char server_cpu[24] = "-", per_cpu[24] = "-";
    struct hist_us us;

    hist_summary_us(h, &us);
    if (g.o.server_pid > 0) {
        snprintf(server_cpu, sizeof(server_cpu), "%.0f", cpu_pct(scpu, secs));
        if (scpu > 0) {
            snprintf(per_cpu, sizeof(per_cpu), "%.0f", (double)g.lookups / scpu);
        }
    }
    printf("setup: %u of %u connection(s) in %.3f s\n", g.ready, g.o.conns,
           seconds(g.t_setup_done - g.t_start));
    printf("measured: %.3f s%s; CPU in %% of one core: generator %.0f, server %s, machine %.0f\n",
           secs, g.interrupted ? " (interrupted)" : "",
           cpu_pct(g.cpu_end.self - g.cpu_measure.self, secs), server_cpu,
           cpu_pct(g.cpu_end.machine - g.cpu_measure.machine, secs));
    printf("%-8s %10s %11s %11s %8s %8s %8s %8s %8s %8s   (latency per request, us)\n", "request",
           "count", "req/s", "lookups/s", "mean", "p50", "p90", "p99", "p99.9", "max");
    printf("%-8s %10llu %11.1f %11.1f %8.0f %8.0f %8.0f %8.0f %8.0f %8.0f\n", cmd_name(),
           (unsigned long long)h->n, secs > 0 ? (double)g.requests / secs : 0.0,
           secs > 0 ? (double)g.lookups / secs : 0.0, us.mean, us.p50, us.p90, us.p99, us.p999,
           us.max);
    printf("lookups: %llu, unknown words: %llu; bytes per lookup: %.1f sent, %.1f received; "
           "lookups per server CPU second: %s\n",
           (unsigned long long)g.lookups, (unsigned long long)g.unknown,
           g.lookups ? (double)g.tx_bytes / (double)g.lookups : 0.0,
           g.lookups ? (double)g.rx_bytes / (double)g.lookups : 0.0, per_cpu);
    printf("errors: %lu (error replies: %lu, connections lost: %lu)%s%s\n", g.errors, g.err_replies,
           g.lost, g.first_error[0] ? "; first: " : "", g.first_error);
    printf("summary proto=%s cmd=%s conns=%u pipeline=%u words=%u seconds=%.3f requests=%llu "
           "req_per_s=%.1f lookups=%llu lookups_per_s=%.1f p50_us=%.0f p90_us=%.0f p99_us=%.0f "
           "p999_us=%.0f max_us=%.0f errors=%lu unknown=%llu server_cpu=%s server_cpu_s=%.2f "
           "lookups_per_server_cpu_s=%s gen_cpu=%.0f machine_cpu=%.0f\n",
           g.o.proto == PROTO_WORDFREQ ? "wordfreq" : "redis", cmd_name(), g.o.conns, g.o.pipeline,
           g.o.per_req, secs, (unsigned long long)g.requests,
           secs > 0 ? (double)g.requests / secs : 0.0, (unsigned long long)g.lookups,
           secs > 0 ? (double)g.lookups / secs : 0.0, us.p50, us.p90, us.p99, us.p999, us.max,
           g.errors, (unsigned long long)g.unknown, server_cpu, scpu, per_cpu,
           cpu_pct(g.cpu_end.self - g.cpu_measure.self, secs),
           cpu_pct(g.cpu_end.machine - g.cpu_measure.machine, secs));
    fflush(stdout);
}

/* ---- options ---- */

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: wfload -f WORDS [-a HOST:PORT] [--proto wordfreq|redis] [-c N] [-k K]\n"
            "              [-m M] [-d SECONDS] [-w SECONDS] [-s SEED] [--server-pid PID]\n"
            "\n"
            "Load generator for the switchboard word-frequency service, and the same lookups\n"
            "against Redis. Each of N connections keeps K requests of M words in flight.\n"
            "\n"
            "  -a, --address HOST:PORT   the server (default 127.0.0.1:9998)\n"
            "  -P, --proto PROTO         wordfreq: FREQ w1 .. wM, one reply line per word\n"
            "                            redis: GET w (M = 1) or HMGET KEY w1 .. wM (default\n"
            "                            wordfreq)\n"
            "  -f, --words FILE          word list: one word a line (a TAB ends the word)\n"
            "  -c, --conns N             connections (default 50)\n"
            "  -k, --pipeline K          requests in flight per connection (default 1)\n"
            "  -m, --per-request M       words per request (default 1)\n"
            "  -d, --duration SECONDS    measured time (default 5)\n"
            "  -w, --warmup SECONDS      load before it, not measured (default 1)\n"
            "  -s, --seed N              seed of the word choice (default 1)\n"
            "      --redis-cmd CMD       get, mget or hmget (default: get for M = 1, else hmget)\n"
            "      --hash KEY            the hash of HMGET (default words)\n"
            "      --db N                redis: SELECT N on every connection first\n"
            "      --server-pid PID      also report the CPU use of process PID (Linux /proc)\n"
            "      --setup-timeout S     limit for opening every connection (default 60)\n"
            "  -h, --help                show this help\n"
            "\n"
            "Words are drawn uniformly from the list; connection i always draws the same\n"
            "sequence for a given seed. Latency is from queueing a request to its complete\n"
            "reply. SIGINT or SIGTERM ends the run and prints the report.\n");
}

static bool
parse_enum(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

static int
parse_options(int argc, char **argv)
{
    /* One option a line reads better than clang-format's packed columns. */
    /* clang-format off */
    static const struct option longopts[] = {
        {"address", required_argument, NULL, 'a'},
        {"proto", required_argument, NULL, 'P'},
        {"words", required_argument, NULL, 'f'},
        {"conns", required_argument, NULL, 'c'},
        {"pipeline", required_argument, NULL, 'k'},
        {"per-request", required_argument, NULL, 'm'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'w'},
        {"seed", required_argument, NULL, 's'},
        {"redis-cmd", required_argument, NULL, 'R'},
        {"hash", required_argument, NULL, 'H'},
        {"db", required_argument, NULL, 'B'},
        {"server-pid", required_argument, NULL, 'D'},
        {"setup-timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* clang-format on */
    static const char *const protos[] = {"wordfreq", "redis"};
    static const char *const rcmds[] = {"auto", "get", "mget", "hmget"};
    struct options *o = &g.o;
    long v;
    int ch, e;

    o->addr_text = "127.0.0.1:9998";
    o->proto = PROTO_WORDFREQ;
    o->rcmd = RCMD_AUTO;
    o->hash_key = "words";
    o->db = -1;
    o->conns = 50;
    o->pipeline = 1;
    o->per_req = 1;
    o->seed = 1;
    o->duration = 5;
    o->warmup = 1;
    o->setup_timeout = 60;

    while ((ch = getopt_long(argc, argv, "a:P:f:c:k:m:d:w:s:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'a':
            o->addr_text = optarg;
            break;
        case 'P':
            if (!parse_enum(optarg, protos, 2, &e)) {
                fprintf(stderr, "wfload: --proto %s: not wordfreq or redis\n", optarg);
                return -1;
            }
            o->proto = (enum proto)e;
            break;
        case 'f':
            o->words_file = optarg;
            break;
        case 'c':
            if (!parse_long(optarg, 1, CONNS_MAX, &v)) {
                fprintf(stderr, "wfload: -c %s: want 1 to %d connections\n", optarg, CONNS_MAX);
                return -1;
            }
            o->conns = (unsigned)v;
            break;
        case 'k':
            if (!parse_long(optarg, 1, PIPELINE_MAX, &v)) {
                fprintf(stderr, "wfload: -k %s: want 1 to %d\n", optarg, PIPELINE_MAX);
                return -1;
            }
            o->pipeline = (unsigned)v;
            break;
        case 'm':
            if (!parse_long(optarg, 1, WORDS_PER_REQ_MAX, &v)) {
                fprintf(stderr, "wfload: -m %s: want 1 to %d words\n", optarg, WORDS_PER_REQ_MAX);
                return -1;
            }
            o->per_req = (unsigned)v;
            break;
        case 'd':
            if (!parse_seconds(optarg, 0.1, 86400, &o->duration)) {
                fprintf(stderr, "wfload: -d %s: want 0.1 to 86400 seconds\n", optarg);
                return -1;
            }
            break;
        case 'w':
            if (!parse_seconds(optarg, 0, 3600, &o->warmup)) {
                fprintf(stderr, "wfload: -w %s: want 0 to 3600 seconds\n", optarg);
                return -1;
            }
            break;
        case 's':
            if (!parse_long(optarg, 0, 0x7fffffffL, &v)) {
                fprintf(stderr, "wfload: -s %s: want 0 to 2147483647\n", optarg);
                return -1;
            }
            o->seed = (unsigned long)v;
            break;
        case 'R':
            if (!parse_enum(optarg, rcmds, 4, &e)) {
                fprintf(stderr, "wfload: --redis-cmd %s: not get, mget or hmget\n", optarg);
                return -1;
            }
            o->rcmd = (enum rcmd)e;
            break;
        case 'H':
            if (strlen(optarg) == 0 || strlen(optarg) > 200) {
                fprintf(stderr, "wfload: --hash: want 1 to 200 bytes\n");
                return -1;
            }
            o->hash_key = optarg;
            break;
        case 'B':
            if (!parse_long(optarg, 0, 1000000, &o->db)) {
                fprintf(stderr, "wfload: --db %s: not a database number\n", optarg);
                return -1;
            }
            break;
        case 'D':
            if (!parse_long(optarg, 1, 1L << 30, &o->server_pid)) {
                fprintf(stderr, "wfload: --server-pid %s: not a process id\n", optarg);
                return -1;
            }
            break;
        case 'T':
            if (!parse_seconds(optarg, 1, 86400, &o->setup_timeout)) {
                fprintf(stderr, "wfload: --setup-timeout %s: want 1 to 86400 seconds\n", optarg);
                return -1;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wfload: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->words_file == NULL) {
        fprintf(stderr, "wfload: -f WORDS is required\n");
        return -1;
    }
    if (o->proto == PROTO_REDIS && o->rcmd == RCMD_GET && o->per_req != 1) {
        fprintf(stderr, "wfload: --redis-cmd get looks up one word: use -m 1, mget or hmget\n");
        return -1;
    }
    o->salen = sizeof(o->sa);
    if (evutil_parse_sockaddr_port(o->addr_text, (struct sockaddr *)&o->sa, &o->salen) < 0 ||
        strchr(o->addr_text, ':') == NULL) {
        fprintf(stderr, "wfload: -a %s: want a numeric HOST:PORT or [IPv6]:PORT\n", o->addr_text);
        return -1;
    }
    return 0;
}

/* ---- main ---- */

static void
cleanup(void)
{
    for (unsigned i = 0; g.conns && i < g.o.conns; i++) {
        struct conn *c = &g.conns[i];
        conn_close(c);
        free(c->in);
        free(c->out);
        free(c->sent);
        free(c->words);
    }
    free(g.conns);
    if (g.phase_timer) {
        event_free(g.phase_timer);
    }
    if (g.setup_timer) {
        event_free(g.setup_timer);
    }
    if (g.deadline_timer) {
        event_free(g.deadline_timer);
    }
    if (g.sigint_ev) {
        event_free(g.sigint_ev);
    }
    if (g.sigterm_ev) {
        event_free(g.sigterm_ev);
    }
    event_base_free(g.base);
    free(g.arena);
    free(g.woff);
    free(g.wlen);
}

int
main(int argc, char **argv)
{
    int rc;

    if (parse_options(argc, argv) < 0) {
        return 2;
    }
    if (words_load(g.o.words_file) < 0) {
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    loop_raise_fd_limit();
    g.base = event_base_new();
    if (g.base == NULL) {
        fprintf(stderr, "wfload: cannot create an event base\n");
        return 1;
    }
    g.phase_timer = evtimer_new(g.base, phase_cb, NULL);
    g.setup_timer = evtimer_new(g.base, setup_timeout_cb, NULL);
    g.deadline_timer = evtimer_new(g.base, deadline_cb, NULL);
    g.sigint_ev = evsignal_new(g.base, SIGINT, signal_cb, NULL);
    g.sigterm_ev = evsignal_new(g.base, SIGTERM, signal_cb, NULL);
    event_add(g.sigint_ev, NULL);
    event_add(g.sigterm_ev, NULL);

    g.conns = calloc(g.o.conns, sizeof(*g.conns));
    if (g.conns == NULL) {
        fprintf(stderr, "wfload: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < g.o.conns; i++) {
        conn_init(&g.conns[i], i);
    }

    printf("wfload: proto=%s cmd=%s conns=%u pipeline=%u words/request=%u duration=%.1fs "
           "warmup=%.1fs server=%s seed=%lu word list=%s (%u words)\n",
           g.o.proto == PROTO_WORDFREQ ? "wordfreq" : "redis", cmd_name(), g.o.conns, g.o.pipeline,
           g.o.per_req, g.o.duration, g.o.warmup, g.o.addr_text, g.o.seed, g.o.words_file,
           g.nwords);
    fflush(stdout);

    g.t_start = now_ns();
    arm_timer(g.setup_timer, g.o.setup_timeout);
    arm_timer(g.deadline_timer, g.o.setup_timeout + g.o.warmup + g.o.duration + 30);
    g.phase = PH_SETUP;
    while (g.launched < g.o.conns && g.connecting < CONNECTING_MAX && g.phase == PH_SETUP) {
        conn_launch(&g.conns[g.launched++]);
    }
    if (g.phase != PH_DONE) {
        event_base_dispatch(g.base);
    }
    if (g.t_end == 0) {
        g.t_end = now_ns();
        cpu_take(&g.cpu_end, g.o.server_pid);
    }
    if (g.ready > 0) {
        print_report();
    } else {
        printf("errors: %lu%s%s\n", g.errors, g.first_error[0] ? "; first: " : "", g.first_error);
    }
    rc = g.requests > 0 && g.errors == 0 ? 0 : 1;
    cleanup();
    return rc;
}
