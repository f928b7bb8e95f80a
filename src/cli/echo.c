/* SPDX-License-Identifier: MIT */
/*
 * sb echo: an RFC 862 client. Over a stream it sends stdin and prints the echo as it arrives,
 * never assuming that one read returns what one write sent: the echo is compared byte for byte
 * with what is still owed, and at the end of stdin the socket is half-closed and the client waits
 * for the rest. Over UDP each line is one datagram, answered or retried.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/net.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/strutil.h"

#define ECHO_CHUNK 65536
#define ECHO_OWED_MAX (4u << 20) /* bytes sent and not yet echoed before stdin is paused */
#define ECHO_UDP_MAX 65507       /* largest UDP payload over IPv4 */
#define ECHO_UDP_TRIES 3

static const char echo_usage[] =
    "usage: sb echo [-u] [-t SECONDS] HOST PORT\n"
    "       sb echo [-t SECONDS] unix:/PATH\n"
    "Send standard input line by line to an echo server and print what comes back.\n"
    "  -u, --udp             one datagram per line, over UDP\n"
    "  -t, --timeout SECONDS connect timeout and longest wait for the echo (default 10)\n"
    "Exit codes: 0 echoed exactly, 2 usage, 6 unknown host, 7 cannot connect, 8 the echo\n"
    "differs, 28 timeout, 56 connection lost before the echo was complete.\n";

struct stream {
    int fd;
    double timeout;
    struct net_fifo owed; /* bytes sent and not echoed yet: the echo must match them */
    char out[ECHO_CHUNK]; /* read from stdin, not sent yet */
    size_t out_len;
    bool stdin_done, shut;
    unsigned long long sent, echoed, first_diff;
    double progress; /* when the server last took or echoed bytes */
    bool differs;
};

/* Take what the server sent: print it and check it against what is owed. */
static int
take_echo(struct stream *st, const char *p, size_t n)
{
    if (!net_write_all(STDOUT_FILENO, p, n)) {
        fprintf(stderr, "sb: cannot write the output: %s\n", strerror(errno));
        return NET_WRITE;
    }
    size_t cmp = n < st->owed.len ? n : st->owed.len;
    if (!st->differs &&
        (cmp < n || (cmp > 0 && memcmp(p, st->owed.buf + st->owed.start, cmp) != 0))) {
        st->differs = true;
        st->first_diff = st->echoed;
        for (size_t i = 0; i < cmp && p[i] == st->owed.buf[st->owed.start + i]; i++) {
            st->first_diff++;
        }
    }
    net_fifo_drop(&st->owed, cmp);
    st->echoed += n;
    return NET_OK;
}

/* Move complete lines (or a full buffer, or the rest at the end of input) from stdin. */
static int
read_stdin(struct stream *st)
{
    ssize_t r = read(STDIN_FILENO, st->out + st->out_len, sizeof(st->out) - st->out_len);

    if (r < 0 && errno == EINTR) {
        return NET_OK;
    }
    if (r < 0) {
        fprintf(stderr, "sb: cannot read the input: %s\n", strerror(errno));
        return NET_INTERNAL;
    }
    if (r == 0) {
        st->stdin_done = true;
    }
    st->out_len += (size_t)r;
    return NET_OK;
}

/* How much of the buffered input to send now: up to the last newline, or everything when the
 * buffer is full or the input has ended. */
static size_t
sendable(const struct stream *st)
{
    if (st->stdin_done || st->out_len == sizeof(st->out)) {
        return st->out_len;
    }
    const char *nl = memrchr(st->out, '\n', st->out_len);
    return nl ? (size_t)(nl - st->out) + 1 : 0;
}

static int
run_stream(struct stream *st)
{
    char in[ECHO_CHUNK];

    for (;;) {
        size_t ready = sendable(st);
        bool want_stdin =
            !st->stdin_done && st->out_len < sizeof(st->out) && st->owed.len < ECHO_OWED_MAX;
        struct pollfd pfd[2] = {
            {.fd = st->fd, .events = POLLIN | (ready ? POLLOUT : 0)},
            {.fd = want_stdin ? STDIN_FILENO : -1, .events = POLLIN},
        };
        /* Waiting on the user has no time limit; waiting on the server has, counted from its
         * last sign of life (bytes taken or echoed), whatever the user does meanwhile. */
        bool waiting_server = ready > 0 || st->owed.len > 0 || st->shut;
        double left = st->timeout - (loop_now() - st->progress);
        int rc = poll(pfd, 2, waiting_server ? (left > 0 ? (int)(left * 1000) + 1 : 0) : -1);

        if (rc < 0 && errno == EINTR) {
            continue;
        }
        if (!waiting_server) {
            st->progress = loop_now(); /* the clock starts when something is owed */
        }
        if (waiting_server && loop_now() - st->progress >= st->timeout) {
            fprintf(stderr, "sb: no echo for %.1fs (%llu of %llu bytes echoed)\n", st->timeout,
                    st->echoed, st->sent);
            return NET_TIMEOUT;
        }
        if (pfd[1].revents) {
            if ((rc = read_stdin(st)) != NET_OK) {
                return rc;
            }
        }
        if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(st->fd, in, sizeof(in), 0);
            if (r < 0 && errno != EINTR && errno != EAGAIN) {
                fprintf(stderr, "sb: connection lost: %s (%llu of %llu bytes echoed)\n",
                        strerror(errno), st->echoed, st->sent);
                return NET_RECV;
            }
            if (r == 0) {
                break;
            }
            if (r > 0) {
                st->progress = loop_now();
            }
            if (r > 0 && (rc = take_echo(st, in, (size_t)r)) != NET_OK) {
                return rc;
            }
        }
        if ((pfd[0].revents & POLLOUT) && ready) {
            ssize_t w = send(st->fd, st->out, ready, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0 && errno != EINTR && errno != EAGAIN) {
                fprintf(stderr, "sb: connection lost: %s\n", strerror(errno));
                return NET_RECV;
            }
            if (w > 0) {
                st->progress = loop_now();
                net_fifo_add(&st->owed, st->out, (size_t)w);
                st->sent += (unsigned long long)w;
                memmove(st->out, st->out + w, st->out_len - (size_t)w);
                st->out_len -= (size_t)w;
            }
        }
        if (st->stdin_done && st->out_len == 0 && !st->shut) {
            shutdown(st->fd, SHUT_WR); /* "that is all": the server finishes and closes */
            st->shut = true;
        }
    }
    if (!st->shut || st->owed.len > 0) {
        fprintf(stderr, "sb: the server closed the connection after %llu of %llu bytes echoed\n",
                st->echoed, st->sent);
        return NET_RECV;
    }
    if (st->differs) {
        fprintf(stderr, "sb: the echo differs from what was sent, from byte %llu\n",
                st->first_diff);
        return NET_BAD_REPLY;
    }
    return NET_OK;
}

/* UDP: one datagram per line; each echo is awaited, with retries, before the next line. */
static int
run_udp(int fd, double timeout)
{
    char *line = NULL, *prev = NULL, *in = xmalloc(ECHO_UDP_MAX + 1);
    size_t cap = 0, prev_len = 0;
    ssize_t n;
    int rc = NET_OK;

    while (rc == NET_OK && (n = getline(&line, &cap, stdin)) > 0) {
        bool answered = false;
        if ((size_t)n > ECHO_UDP_MAX) {
            fprintf(stderr, "sb: a line of %zd bytes does not fit in one datagram (%d at most)\n",
                    n, ECHO_UDP_MAX);
            rc = NET_USAGE;
            break;
        }
        for (int try = 0; try < ECHO_UDP_TRIES && !answered && rc == NET_OK; try++) {
            if (send(fd, line, (size_t)n, 0) < 0) {
                fprintf(stderr, "sb: cannot send: %s\n", strerror(errno));
                rc = errno == ECONNREFUSED ? NET_CONNECT : NET_RECV;
                break;
            }
            while (!answered && net_wait(fd, POLLIN, timeout / ECHO_UDP_TRIES) > 0) {
                ssize_t r = recv(fd, in, ECHO_UDP_MAX + 1, 0);
                if (r < 0) {
                    fprintf(stderr, "sb: %s\n",
                            errno == ECONNREFUSED ? "connection refused (nothing serves UDP "
                                                    "on that port)"
                                                  : strerror(errno));
                    rc = errno == ECONNREFUSED ? NET_CONNECT : NET_RECV;
                    break;
                }
                /* A late answer to a retried earlier line is not this line's echo. */
                if (prev && (size_t)r == prev_len && memcmp(in, prev, prev_len) == 0 &&
                    ((size_t)r != (size_t)n || memcmp(in, line, (size_t)n) != 0)) {
                    continue;
                }
                if (!net_write_all(STDOUT_FILENO, in, (size_t)r)) {
                    fprintf(stderr, "sb: cannot write the output: %s\n", strerror(errno));
                    rc = NET_WRITE;
                    break;
                }
                if ((size_t)r != (size_t)n || memcmp(in, line, (size_t)n) != 0) {
                    fprintf(stderr, "sb: the echo differs from what was sent\n");
                    rc = NET_BAD_REPLY;
                }
                answered = true;
            }
        }
        if (!answered && rc == NET_OK) {
            fprintf(stderr, "sb: no echo for %.1fs after %d tries\n", timeout, ECHO_UDP_TRIES);
            rc = NET_TIMEOUT;
        }
        free(prev);
        prev = xmalloc((size_t)n);
        memcpy(prev, line, (size_t)n);
        prev_len = (size_t)n;
    }
    free(line);
    free(prev);
    free(in);
    return rc;
}

static int
open_unix(const char *path, double timeout, int *fd)
{
    char why[512];
    int rc = net_connect_unix(path, timeout, fd, why, sizeof(why));

    return rc == NET_OK ? rc : cli_fail(rc, "%s", why);
}

static const struct option echo_opts[] = {
    {"udp", no_argument, NULL, 'u'},
    {"timeout", required_argument, NULL, 't'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int
cmd_echo(int argc, char **argv)
{
    bool udp = false;
    double timeout = 10;
    char why[512], host[256];
    struct addrinfo *res = NULL;
    int c, rc, fd = -1;

    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:ut:h", echo_opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            udp = true;
            break;
        case 't':
            if (!parse_seconds(optarg, 0.1, 3600, &timeout)) {
                return cli_fail(NET_USAGE, "bad --timeout %s (seconds, 0.1 to 3600)", optarg);
            }
            break;
        case 'h':
            fputs(echo_usage, stdout);
            return NET_OK;
        default:
            return cli_usage_error(c, argv, "sb echo --help");
        }
    }
    argc -= optind;
    argv += optind;
    if (argc >= 1 && strncmp(argv[0], "unix:", 5) == 0) {
        if (argc != 1) {
            return cli_fail(NET_USAGE, "a UNIX socket takes no port: sb echo unix:/PATH");
        }
        if (udp) {
            return cli_fail(NET_USAGE, "-u is for UDP: a UNIX socket is a stream");
        }
        rc = open_unix(argv[0] + 5, timeout, &fd);
    } else if (argc == 2) {
        long port;
        const char *h = argv[0];
        size_t hn = strlen(h);
        if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
            h++, hn -= 2;
        }
        if (hn == 0 || hn >= sizeof(host) || !parse_long(argv[1], 1, 65535, &port)) {
            return cli_fail(NET_USAGE, "bad address %s %s (HOST PORT, port 1-65535)", argv[0],
                            argv[1]);
        }
        memcpy(host, h, hn);
        host[hn] = '\0';
        rc = net_resolve(host, argv[1], udp ? SOCK_DGRAM : SOCK_STREAM, &res, why, sizeof(why));
        if (rc == NET_OK && udp) {
            fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
                snprintf(why, sizeof(why), "cannot use UDP to %s: %s", host, strerror(errno));
                rc = NET_CONNECT;
            }
        } else if (rc == NET_OK) {
            rc = net_connect(res, timeout, &fd, why, sizeof(why));
        }
        if (res) {
            freeaddrinfo(res);
        }
        if (rc != NET_OK) {
            fprintf(stderr, "sb: %s\n", why);
        }
    } else {
        return cli_fail(NET_USAGE, "sb echo takes HOST PORT or unix:/PATH (try 'sb echo --help')");
    }
    if (rc != NET_OK) {
        if (fd >= 0) {
            close(fd);
        }
        return rc;
    }
    if (udp) {
        rc = run_udp(fd, timeout);
    } else {
        struct stream *st = xcalloc(1, sizeof(*st));
        st->fd = fd;
        st->timeout = timeout;
        st->progress = loop_now();
        rc = run_stream(st);
        free(st->owed.buf);
        free(st);
    }
    close(fd);
    return rc;
}
