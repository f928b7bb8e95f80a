/* SPDX-License-Identifier: MIT */
/*
 * sb words: a client of the word-frequency service (docs/wordfreq.md). It sends one request from
 * the command line, or every line of stdin pipelined, and prints the answers in order. The
 * protocol does not frame answers, so the client knows from each request how many lines its
 * answer has (one per word for FREQ, up to an empty line for RARE, one otherwise, or a single
 * ERR line) and checks that FREQ echoes the words it sent: a client that lost count would
 * otherwise print answers under the wrong requests without noticing.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "cli/text.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/strutil.h"

#define WORDS_DEFAULT_SERVER "127.0.0.1:9998"
#define WORDS_DEFAULT_PORT "9998"
#define WORDS_LINE_MAX 65536             /* the service's max_line: a request, CR LF excluded */
#define WORDS_OWED_MAX (1u << 20)        /* request bytes unanswered before stdin is paused */
#define WORDS_ANSWER_LINE_MAX (1u << 20) /* an answer line longer than this is not one */
#define WORDS_CHUNK 65536
#define WORDS_SHOW_MAX 80 /* bytes of a bad answer line quoted in the error message */

static const char words_usage[] =
    "usage: sb words [-s ADDRESS] [-t SECONDS] [COMMAND [ARGS...]]\n"
    "Ask the word-frequency service. With a COMMAND (FREQ, AVG, RARE, STATS; any case) the\n"
    "arguments are joined with spaces into one request and the answer is printed; without one,\n"
    "every line of standard input is a request, all of them sent pipelined, and the answers\n"
    "printed in order. An ERR answer is printed on stderr as \"sb: words: REASON\".\n"
    "  -s, --server ADDRESS  HOST:PORT, [IPv6]:PORT or unix:PATH (default " WORDS_DEFAULT_SERVER
    ",\n"
    "                        or the environment variable SB_WORDS_SERVER)\n"
    "  -t, --timeout SECONDS connect timeout and longest wait for an answer (default 10)\n"
    "Exit codes: 0 every request answered, 1 an ERR answer, 2 usage (or a request longer than\n"
    "65536 bytes), 6 unknown host, 7 cannot connect, 8 malformed answer, 23 cannot write the\n"
    "output, 28 timeout, 56 connection lost before every request was answered.\n";

enum req_kind { REQ_FREQ, REQ_AVG, REQ_RARE, REQ_STATS, REQ_QUIT, REQ_OTHER };

static const struct {
    const char *name;
    enum req_kind kind;
} req_names[] = {
    {"FREQ", REQ_FREQ},   {"AVG", REQ_AVG},   {"RARE", REQ_RARE},
    {"STATS", REQ_STATS}, {"QUIT", REQ_QUIT},
};

struct words {
    int fd;
    double timeout;
    bool from_stdin;

    /* Requests queued, each one line ending in LF, oldest first: the unsent ones are the last
     * `unsent` bytes. A request leaves the queue when its answer is complete. */
    struct net_fifo reqs;
    size_t unsent;
    unsigned long long queued, answered, total, errors;
    bool quit_queued; /* QUIT is the last request: the server closes after it */

    /* The oldest request, while its answer arrives. */
    bool head_open;
    enum req_kind head_kind;
    size_t head_len;    /* of its line, LF excluded */
    size_t head_cursor; /* FREQ: offset of the next word to be echoed */
    unsigned long lines;

    struct net_fifo ans; /* received, not yet a complete line */

    char in[WORDS_LINE_MAX + 2]; /* stdin: the start of a request line (CR LF fit) */
    size_t in_len;
    unsigned long long lineno;
    bool stdin_done;
    unsigned long long too_long; /* the stdin line refused for its length, or 0 */

    char out[WORDS_CHUNK]; /* answers to print */
    size_t out_len;

    double progress; /* when the server last took or sent bytes */
};

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next space- or tab-separated token of @p,@n from *@pos; false when none is left. */
static bool
next_token(const char *p, size_t n, size_t *pos, const char **tok, size_t *tn)
{
    size_t i = *pos;

    while (i < n && is_blank(p[i])) {
        i++;
    }
    if (i == n) {
        *pos = i;
        return false;
    }
    *tok = p + i;
    while (i < n && !is_blank(p[i])) {
        i++;
    }
    *tn = (size_t)(p + i - *tok);
    *pos = i;
    return true;
}

static enum req_kind
kind_of(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(req_names) / sizeof(req_names[0]); i++) {
        if (strlen(req_names[i].name) == n && strncasecmp(name, req_names[i].name, n) == 0) {
            return req_names[i].kind;
        }
    }
    return REQ_OTHER;
}

static bool
flush_out(struct words *w)
{
    bool ok = net_write_all(STDOUT_FILENO, w->out, w->out_len);

    w->out_len = 0;
    return ok;
}

static int fail(struct words *w, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers already received are printed before the message that ends the run, so that both
 * streams on one terminal read in order. */
static int
fail(struct words *w, int code, const char *fmt, ...)
{
    va_list ap;

    flush_out(w);
    va_start(ap, fmt);
    code = cli_vfail(code, fmt, ap);
    va_end(ap);
    return code;
}

static int
print(struct words *w, const char *p, size_t n)
{
    if (w->out_len + n > sizeof(w->out) && !flush_out(w)) {
        goto fail;
    }
    if (n > sizeof(w->out)) {
        if (!net_write_all(STDOUT_FILENO, p, n)) {
            goto fail;
        }
        return NET_OK;
    }
    memcpy(w->out + w->out_len, p, n);
    w->out_len += n;
    return NET_OK;
fail:
    fprintf(stderr, "sb: cannot write the output: %s\n", strerror(errno));
    return NET_WRITE;
}

static int
print_line(struct words *w, const char *p, size_t n)
{
    int rc = print(w, p, n);

    return rc == NET_OK ? print(w, "\n", 1) : rc;
}

/* Queue one request (without its line end). */
static void
enqueue(struct words *w, const char *p, size_t n)
{
    size_t pos = 0, tn;
    const char *tok;

    net_fifo_add(&w->reqs, p, n);
    net_fifo_add(&w->reqs, "\n", 1);
    w->unsent += n + 1;
    w->queued++;
    w->total++;
    if (next_token(p, n, &pos, &tok, &tn) && kind_of(tok, tn) == REQ_QUIT) {
        w->quit_queued = true; /* nothing after it would be answered */
    }
}

/* Cut the buffered input into requests: every complete line, or what is left at its end. */
static void
take_lines(struct words *w)
{
    size_t used = 0;

    while (!w->quit_queued && !w->too_long) {
        char *p = w->in + used;
        size_t left = w->in_len - used;
        char *nl = memchr(p, '\n', left);
        size_t n;

        if (nl == NULL && !(w->stdin_done && left > 0)) {
            if (left == sizeof(w->in)) {
                w->too_long = w->lineno + 1; /* no line end within the limit */
            }
            break;
        }
        n = nl ? (size_t)(nl - p) : left;
        used += nl ? n + 1 : n;
        w->lineno++;
        if (n > 0 && p[n - 1] == '\r') {
            n--;
        }
        if (n > WORDS_LINE_MAX) {
            w->too_long = w->lineno;
            break;
        }
        size_t i = 0;
        while (i < n && is_blank(p[i])) {
            i++;
        }
        if (i < n) {
            enqueue(w, p, n);
        }
    }
    if (w->quit_queued || w->too_long) {
        w->stdin_done = true; /* nothing more is sent */
        w->in_len = 0;
        return;
    }
    memmove(w->in, w->in + used, w->in_len - used);
    w->in_len -= used;
}

static int
read_stdin(struct words *w)
{
    ssize_t r = read(STDIN_FILENO, w->in + w->in_len, sizeof(w->in) - w->in_len);

    if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
        return NET_OK;
    }
    if (r < 0) {
        return fail(w, NET_INTERNAL, "cannot read the input: %s", strerror(errno));
    }
    if (r == 0) {
        w->stdin_done = true;
    }
    w->in_len += (size_t)r;
    take_lines(w);
    return NET_OK;
}

/* "NUMBER NUMBER NUMBER" after the first field: the FREQ form, which a line of the word "ERR"
 * has too ("ERR 0 0 0.000"), while no error reason does. */
static bool
word_line(const char *p, size_t n)
{
    size_t pos = 0, tn, fields = 0;
    const char *tok;

    if (!next_token(p, n, &pos, &tok, &tn)) {
        return false;
    }
    while (next_token(p, n, &pos, &tok, &tn)) {
        if (++fields > 3) {
            return false;
        }
        for (size_t i = 0; i < tn; i++) {
            if (strchr("0123456789.eE+-", tok[i]) == NULL || tok[i] == '\0') {
                return false;
            }
        }
    }
    return fields == 3;
}

/* A line the client cannot place: the answers can no longer be matched with the requests. */
static int
malformed(struct words *w, const char *what, const char *p, size_t n)
{
    const char *req, *cmd = "";
    size_t pos = 0, cn = 0;
    char *shown = text_escape(p, n < WORDS_SHOW_MAX ? n : WORDS_SHOW_MAX, false);
    int rc;

    if (w->queued > 0) {
        req = w->reqs.buf + w->reqs.start;
        next_token(req, (size_t)((char *)memchr(req, '\n', w->reqs.len) - req), &pos, &cmd, &cn);
        rc = fail(w, NET_BAD_REPLY, "malformed answer to request %llu (%.*s): %s: \"%s\"%s",
                  w->answered + 1, (int)cn, cmd, what, shown, n > WORDS_SHOW_MAX ? "..." : "");
    } else {
        rc = fail(w, NET_BAD_REPLY, "malformed answer: %s: \"%s\"%s", what, shown,
                  n > WORDS_SHOW_MAX ? "..." : "");
    }
    free(shown);
    return rc;
}

static void
answer_done(struct words *w)
{
    net_fifo_drop(&w->reqs, w->head_len + 1);
    w->queued--;
    w->answered++;
    w->head_open = false;
}

/* One line of an answer (LF removed): print it, and see whether the answer is complete. */
static int
take_line(struct words *w, const char *p, size_t n)
{
    const char *req, *tok = NULL;
    size_t pos = 0, tn = 0;
    int rc;

    if (w->queued == 0) {
        return malformed(w, "a line that answers no request", p, n);
    }
    req = w->reqs.buf + w->reqs.start; /* not before: with nothing queued buf may be NULL */
    if (!w->head_open) {
        w->head_len = (size_t)((char *)memchr(req, '\n', w->reqs.len) - req);
        if (w->head_len + 1 > w->reqs.len - w->unsent) {
            return malformed(w, "an answer before the request was sent", p, n);
        }
        next_token(req, w->head_len, &pos, &tok, &tn);
        w->head_kind = kind_of(tok, tn);
        w->head_cursor = pos;
        w->head_open = true;
        w->lines = 0;
    }
    w->lines++;
    if (w->lines == 1 && n >= 3 && memcmp(p, "ERR", 3) == 0 && (n == 3 || p[3] == ' ')) {
        /* The word "ERR" has an answer line too, in the FREQ form. */
        pos = w->head_cursor;
        bool word_err =
            (w->head_kind == REQ_FREQ && next_token(req, w->head_len, &pos, &tok, &tn) && tn == 3 &&
             memcmp(tok, "ERR", 3) == 0) ||
            w->head_kind == REQ_RARE;
        if (!word_err || !word_line(p, n)) {
            char *reason = text_escape(p + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0, false);
            flush_out(w);
            fprintf(stderr, "sb: words: %s\n", reason);
            free(reason);
            w->errors++;
            answer_done(w);
            return NET_OK;
        }
    }
    switch (w->head_kind) {
    case REQ_FREQ:
        pos = w->head_cursor;
        if (!next_token(req, w->head_len, &pos, &tok, &tn)) {
            return malformed(w, "more lines than words", p, n);
        }
        if (n <= tn || memcmp(p, tok, tn) != 0 || p[tn] != ' ') {
            char what[96];
            snprintf(what, sizeof(what), "word %lu is not echoed", w->lines);
            return malformed(w, what, p, n);
        }
        w->head_cursor = pos;
        if ((rc = print_line(w, p, n)) != NET_OK) {
            return rc;
        }
        if (!next_token(req, w->head_len, &pos, &tok, &tn)) {
            answer_done(w);
        }
        return NET_OK;
    case REQ_RARE:
        if (n == 0) {
            answer_done(w); /* the empty line that ends the list is not printed */
            return NET_OK;
        }
        return print_line(w, p, n);
    case REQ_QUIT:
        return malformed(w, "QUIT has no answer", p, n);
    default:
        if (n == 0) {
            return malformed(w, "an empty line", p, n);
        }
        if ((rc = print_line(w, p, n)) == NET_OK) {
            answer_done(w);
        }
        return rc;
    }
}

static int
read_socket(struct words *w, bool *eof)
{
    char buf[WORDS_CHUNK];
    ssize_t r = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
    int rc;

    if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
        return NET_OK;
    }
    if (r < 0) {
        return fail(w, NET_RECV, "connection lost: %s (%llu of %llu requests unanswered)",
                    strerror(errno), w->queued, w->total);
    }
    if (r == 0) {
        *eof = true;
        return NET_OK;
    }
    w->progress = loop_now();
    net_fifo_add(&w->ans, buf, (size_t)r);
    for (;;) {
        const char *p = w->ans.buf + w->ans.start;
        const char *nl = memchr(p, '\n', w->ans.len);
        if (nl == NULL) {
            break;
        }
        size_t n = (size_t)(nl - p);
        /* A CR LF line end is taken as LF, and printed as LF. */
        rc = take_line(w, p, n > 0 && p[n - 1] == '\r' ? n - 1 : n);
        net_fifo_drop(&w->ans, n + 1);
        if (rc != NET_OK) {
            return rc;
        }
    }
    if (w->ans.len > WORDS_ANSWER_LINE_MAX) {
        return malformed(w, "a line longer than 1 MiB", w->ans.buf + w->ans.start, WORDS_SHOW_MAX);
    }
    return NET_OK;
}

static int
send_requests(struct words *w)
{
    const char *p = w->reqs.buf + w->reqs.start + (w->reqs.len - w->unsent);
    ssize_t n = send(w->fd, p, w->unsent, MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return NET_OK;
    }
    if (n < 0) {
        return fail(w, NET_RECV, "connection lost: %s (%llu of %llu requests unanswered)",
                    strerror(errno), w->queued, w->total);
    }
    w->unsent -= (size_t)n;
    w->progress = loop_now();
    return NET_OK;
}

/* The server closed its side: the end if only QUIT was left (or nothing, with no more input). */
static int
at_eof(struct words *w)
{
    if (w->ans.len > 0) {
        return malformed(w, "the last line has no line end", w->ans.buf + w->ans.start, w->ans.len);
    }
    if (w->quit_queued && w->queued == 1 && w->unsent == 0) {
        w->queued--, w->answered++;
        return NET_OK;
    }
    if (w->queued == 0 && w->stdin_done) {
        return NET_OK;
    }
    if (w->queued == 0) {
        return fail(w, NET_RECV,
                    "the server closed the connection after answering %llu "
                    "request%s",
                    w->answered, w->answered == 1 ? "" : "s");
    }
    return fail(w, NET_RECV,
                "the server closed the connection with %llu of %llu requests "
                "unanswered",
                w->queued, w->total);
}

static int
run(struct words *w)
{
    int rc;

    w->progress = loop_now();
    for (;;) {
        if (w->stdin_done && w->queued == 0) {
            break;
        }
        bool want_stdin = w->from_stdin && !w->stdin_done && w->reqs.len < WORDS_OWED_MAX;
        struct pollfd pfd[2] = {
            {.fd = w->fd, .events = POLLIN | (w->unsent ? POLLOUT : 0)},
            {.fd = want_stdin ? STDIN_FILENO : -1, .events = POLLIN},
        };
        /* Waiting for the user has no time limit; waiting for the server has, from its last
         * sign of life, whatever the user does meanwhile. */
        bool waiting = w->queued > 0;
        double left;

        if (w->out_len > 0) {
            /* Time spent blocked on our own output is not the server's silence. */
            double before = loop_now();
            if (!flush_out(w)) {
                fprintf(stderr, "sb: cannot write the output: %s\n", strerror(errno));
                return NET_WRITE;
            }
            w->progress += loop_now() - before;
        }
        left = w->timeout - (loop_now() - w->progress);
        rc = poll(pfd, 2, waiting ? (left > 0 ? (int)(left * 1000) + 1 : 0) : -1);
        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (rc < 0) {
            return fail(w, NET_INTERNAL, "poll: %s", strerror(errno));
        }
        if (!waiting) {
            w->progress = loop_now(); /* the clock starts when something is owed */
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            bool eof = false;
            if ((rc = read_socket(w, &eof)) != NET_OK) {
                return rc;
            }
            if (eof) {
                return at_eof(w);
            }
        }
        if ((pfd[0].revents & POLLOUT) && w->unsent > 0 && (rc = send_requests(w)) != NET_OK) {
            return rc;
        }
        if (pfd[1].revents && (rc = read_stdin(w)) != NET_OK) {
            return rc;
        }
        if (w->queued > 0 && loop_now() - w->progress >= w->timeout) {
            return fail(w, NET_TIMEOUT, "no answer for %.1fs (%llu of %llu requests answered)",
                        w->timeout, w->answered, w->total);
        }
    }
    return NET_OK;
}

static int
open_unix(const char *path, double timeout, int *fd)
{
    char why[512];
    int rc = net_connect_unix(path, timeout, fd, why, sizeof(why));

    return rc == NET_OK ? rc : cli_fail(rc, "%s", why);
}

static int
open_server(const char *spec, const char *origin, double timeout, int *fd)
{
    char host[256], port[8] = WORDS_DEFAULT_PORT, why[512];
    struct addrinfo *res = NULL;
    int rc;

    if (strncmp(spec, "unix:", 5) == 0) {
        return open_unix(spec + 5, timeout, fd);
    }
    if (!net_split_host_port(spec, host, sizeof(host), port, sizeof(port))) {
        return cli_fail(NET_USAGE, "bad address %s%s (HOST:PORT, [IPv6]:PORT or unix:PATH)", spec,
                        origin);
    }
    rc = net_resolve(host, port, SOCK_STREAM, &res, why, sizeof(why));
    if (rc == NET_OK) {
        rc = net_connect(res, timeout, fd, why, sizeof(why));
        freeaddrinfo(res);
    }
    return rc == NET_OK ? rc : cli_fail(rc, "%s", why);
}

/* The command line's request: its words joined by spaces. A request is one line, so line ends
 * inside an argument (text pasted with "$(cat file)") become spaces too. */
static int
command_request(struct words *w, int argc, char **argv)
{
    size_t n = 0, len = 0;
    char *line;

    if (kind_of(argv[0], strlen(argv[0])) == REQ_OTHER) {
        return cli_fail(NET_USAGE, "unknown command '%s' (FREQ, AVG, RARE, STATS or QUIT)",
                        argv[0]);
    }
    for (int i = 0; i < argc; i++) {
        len += strlen(argv[i]) + 1;
    }
    line = xmalloc(len);
    for (int i = 0; i < argc; i++) {
        size_t an = strlen(argv[i]);
        if (i > 0) {
            line[n++] = ' ';
        }
        for (size_t j = 0; j < an; j++) {
            char c = argv[i][j];
            line[n++] = c == '\n' || c == '\r' ? ' ' : c;
        }
    }
    if (n > WORDS_LINE_MAX) {
        free(line);
        return cli_fail(NET_USAGE, "the request is %zu bytes long: the service takes %d at most", n,
                        WORDS_LINE_MAX);
    }
    enqueue(w, line, n);
    free(line);
    w->stdin_done = true;
    return NET_OK;
}

static const struct option words_opts[] = {
    {"server", required_argument, NULL, 's'},
    {"timeout", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
cmd_words(int argc, char **argv)
{
    const char *server = getenv("SB_WORDS_SERVER"), *origin = " in SB_WORDS_SERVER";
    struct words *w;
    double timeout = 10;
    int c, rc, fd = -1;

    if (server == NULL || server[0] == '\0') {
        server = WORDS_DEFAULT_SERVER;
        origin = "";
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:s:t:h", words_opts, NULL)) != -1) {
        switch (c) {
        case 's':
            server = optarg;
            origin = "";
            break;
        case 't':
            if (!parse_seconds(optarg, 0.1, 3600, &timeout)) {
                return cli_fail(NET_USAGE, "bad --timeout %s (seconds, 0.1 to 3600)", optarg);
            }
            break;
        case 'h':
            fputs(words_usage, stdout);
            return NET_OK;
        default:
            return cli_usage_error(c, argv, "sb words --help");
        }
    }
    argc -= optind;
    argv += optind;
    w = xcalloc(1, sizeof(*w));
    w->timeout = timeout;
    w->from_stdin = argc == 0;
    if (argc > 0 && (rc = command_request(w, argc, argv)) != NET_OK) {
        goto out;
    }
    if ((rc = open_server(server, origin, timeout, &fd)) != NET_OK) {
        goto out;
    }
    w->fd = fd;
    rc = run(w);
    if (rc == NET_OK && w->out_len > 0 && !flush_out(w)) {
        rc = cli_fail(NET_WRITE, "cannot write the output: %s", strerror(errno));
    }
    if (rc == NET_OK && w->too_long) {
        rc = cli_fail(NET_USAGE, "line %llu of the input is longer than %d bytes: not sent",
                      w->too_long, WORDS_LINE_MAX);
    } else if (rc == NET_OK && w->errors > 0) {
        rc = NET_INTERNAL; /* 1: the ERR answers are on stderr already */
    }
out:
    if (fd >= 0) {
        close(fd);
    }
    free(w->reqs.buf);
    free(w->ans.buf);
    free(w);
    return rc;
}
