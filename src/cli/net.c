/* SPDX-License-Identifier: MIT */
#include "cli/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/addr.h"
#include "core/mem.h"
#include "core/strutil.h"

bool
net_split_host_port(const char *spec, char *host, size_t hostcap, char *port, size_t portcap)
{
    const char *colon = strrchr(spec, ':');
    const char *p = NULL;
    size_t hn;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            return false;
        }
        hn = (size_t)(close - spec - 1);
        if (close[1] == ':') {
            p = close + 2;
        }
        spec++;
    } else if (colon && strchr(spec, ':') == colon) {
        hn = (size_t)(colon - spec);
        p = colon + 1;
    } else {
        hn = strlen(spec); /* a host alone, or a bare IPv6 address */
    }
    if (hn == 0 || hn >= hostcap) {
        return false;
    }
    memcpy(host, spec, hn);
    host[hn] = '\0';
    if (p != NULL && !str_copy(port, portcap, p)) {
        return false;
    }
    long v;
    return port[0] != '\0' && parse_long(port, 1, 65535, &v);
}

int
net_resolve(const char *host, const char *port, int socktype, struct addrinfo **res, char *why,
            size_t cap)
{
    struct addrinfo hints = {0};
    int gai;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(host, port, &hints, res);
    if (gai != 0) {
        snprintf(why, cap, "cannot resolve %s: %s", host,
                 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
        return NET_RESOLVE;
    }
    return NET_OK;
}

int
net_wait(int fd, short events, double timeout)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    struct timespec start, now;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = timeout - ((double)(now.tv_sec - start.tv_sec) +
                                 (double)(now.tv_nsec - start.tv_nsec) / 1e9);
        if (left < 0) {
            left = 0;
        }
        rc = poll(&pfd, 1, (int)(left * 1000 + 0.999));
        if (rc >= 0 || errno != EINTR) {
            return rc;
        }
    }
}

/* One address: non-blocking connect, wait, then back to blocking. */
static int
connect_one(const struct addrinfo *ai, double timeout, int *out, char *why, size_t cap)
{
    char shown[ADDR_STR_MAX];
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    int err = 0;
    socklen_t len = sizeof(err);

    addr_format(ai->ai_addr, ai->ai_addrlen, shown, sizeof(shown));
    if (fd < 0) {
        snprintf(why, cap, "socket: %s", strerror(errno));
        return NET_CONNECT;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        if (errno != EINPROGRESS) {
            err = errno;
        } else {
            int rc = net_wait(fd, POLLOUT, timeout);
            if (rc == 0) {
                snprintf(why, cap, "connecting to %s timed out after %.1fs", shown, timeout);
                close(fd);
                return NET_TIMEOUT;
            }
            if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) {
                err = errno;
            }
        }
    }
    if (err != 0) {
        snprintf(why, cap, "cannot connect to %s: %s", shown, strerror(err));
        close(fd);
        return NET_CONNECT;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (ai->ai_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    *out = fd;
    return NET_OK;
}

int
net_connect(const struct addrinfo *res, double timeout, int *fd, char *why, size_t cap)
{
    int rc = NET_CONNECT;
    bool all_timed_out = true;

    snprintf(why, cap, "no address to connect to");
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = connect_one(ai, timeout, fd, why, cap);
        if (rc == NET_OK) {
            return NET_OK;
        }
        all_timed_out = all_timed_out && rc == NET_TIMEOUT;
    }
    return res && all_timed_out ? NET_TIMEOUT : NET_CONNECT;
}

bool
net_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return false;
        }
        c += w;
        n -= (size_t)w;
    }
    return true;
}

void
net_fifo_add(struct net_fifo *f, const char *p, size_t n)
{
    if (f->start + f->len + n > f->cap) {
        if (f->len > 0) {
            memmove(f->buf, f->buf + f->start, f->len);
        }
        f->start = 0;
        if (f->len + n > f->cap) {
            f->cap = (f->len + n) * 2;
            f->buf = xrealloc(f->buf, f->cap);
        }
    }
    memcpy(f->buf + f->start + f->len, p, n);
    f->len += n;
}

void
net_fifo_drop(struct net_fifo *f, size_t n)
{
    f->start += n;
    f->len -= n;
    if (f->len == 0) {
        f->start = 0;
    }
}

int
net_connect_unix(const char *path, double timeout, int *fd, char *why, size_t cap)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct addrinfo ai = {.ai_family = AF_UNIX, .ai_socktype = SOCK_STREAM};

    if (path[0] == '\0') {
        snprintf(why, cap, "no socket path after unix:");
        return NET_USAGE;
    }
    if (!str_copy(sun.sun_path, sizeof(sun.sun_path), path)) {
        snprintf(why, cap, "the socket path %s is too long (%zu bytes at most)", path,
                 sizeof(sun.sun_path) - 1);
        return NET_USAGE;
    }
    ai.ai_addr = (struct sockaddr *)&sun;
    ai.ai_addrlen = sizeof(sun);
    return net_connect(&ai, timeout, fd, why, cap);
}
