/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets. Sockets are created by hand (not by evconnlistener_new_bind) so that IPv6
 * listeners can be IPv6-only, UNIX socket files get their mode and stale-file handling, and every
 * failure can be reported with the configuration line that caused it. Host names are resolved
 * here, once, before the event loop runs.
 */
#include "core/listener.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/strutil.h"

#define LISTEN_BACKLOG 511

const struct cfg_key endpoint_keys[] = {
    {"enabled", CFG_BOOL, "yes", 0, 0, NULL},
    {"listen", CFG_LISTEN, NULL, 0, 0, NULL},
    {"unix_mode", CFG_MODE, "0660", 0, 0, NULL},
    {"allow", CFG_CIDRS, "", 0, 0, NULL},
    {"deny", CFG_CIDRS, "", 0, 0, NULL},
    {"idle_timeout", CFG_SECONDS, "300", 0, 86400 * 7, NULL},
    {"write_timeout", CFG_SECONDS, "60", 0, 86400, NULL},
    {"max_output", CFG_INT, "1048576", 4096, 1L << 30, NULL},
    {"max_clients", CFG_INT, "10000", 1, 1000000, NULL},
    {NULL, 0, NULL, 0, 0, NULL},
};

struct listener {
    struct evconnlistener *evl; /* stream listeners */
    struct event *udp;          /* UDP sockets (listener_set_add_udp()) */
    struct event *retry;        /* re-enables accepting after a resource error */
    struct endpoint *ep;
    struct tls_ctx *tls; /* TLS listeners (listener_set_add_tls()); borrowed */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char unix_path[ADDR_UNIX_PATH_MAX]; /* non-empty for UNIX sockets: removed on close */
};

/* Listeners are allocated one by one: libevent holds a pointer to each, so they must not move
 * when the set grows. */
struct listener_set {
    struct endpoint *ep;
    struct listener **v;
    size_t n;
};

void
endpoint_configure(struct endpoint *ep, const struct cfg *cfg, const char *section)
{
    const char *why;

    ep->max_output = (size_t)cfg_int(cfg, section, "max_output");
    ep->max_clients = (size_t)cfg_int(cfg, section, "max_clients");
    ep->idle_timeout = cfg_seconds(cfg, section, "idle_timeout");
    ep->write_timeout = cfg_seconds(cfg, section, "write_timeout");
    /* Values were validated by cfg_validate(), so these cannot fail. */
    cidr_parse_list(cfg_str(cfg, section, "allow"), &ep->allow, &ep->nallow, &why);
    cidr_parse_list(cfg_str(cfg, section, "deny"), &ep->deny, &ep->ndeny, &why);
}

void
endpoint_fini(struct endpoint *ep)
{
    free(ep->allow);
    free(ep->deny);
    ep->allow = ep->deny = NULL;
    ep->nallow = ep->ndeny = 0;
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int len, void *arg)
{
    struct listener *l = arg;

    if (l->tls) {
        conn_accept_tls(l->ep, fd, sa, (socklen_t)len, l->tls);
    } else {
        conn_accept(l->ep, fd, sa, (socklen_t)len);
    }
}

/* A bounded batch per wake-up, so that a flood on one socket cannot starve the rest of the loop;
 * what is left is read on the next turn. */
#define UDP_BATCH 64

static void
udp_cb(evutil_socket_t fd, short what, void *arg)
{
    static char buf[65536]; /* larger than any UDP payload (65507) */
    struct listener *l = arg;

    for (int i = 0; i < UDP_BATCH; i++) {
        struct dgram_from from;
        from.fd = fd;
        from.len = sizeof(from.addr);
        ssize_t n =
            recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from.addr, &from.len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                /* An ICMP error for an earlier reply, reported on the socket: nothing to do. */
                log_debug("%s: udp: %s", l->ep->name, strerror(errno));
                continue;
            }
            return;
        }
        addr_format((struct sockaddr *)&from.addr, from.len, from.str, sizeof(from.str));
        if (!endpoint_allows(l->ep, (struct sockaddr *)&from.addr)) {
            log_debug("%s: datagram from %s refused by the access list", l->ep->name, from.str);
            continue;
        }
        l->ep->ops->on_datagram(l->ep, &from, buf, (size_t)n);
    }
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;
    evconnlistener_enable(l->evl);
}

static void
accept_error_cb(struct evconnlistener *evl, void *arg)
{
    struct listener *l = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = loop_tv(1.0);

    /* Out of descriptors or memory: pause accepting for a second instead of spinning. */
    log_warn("%s: accept failed: %s; pausing new connections for 1s", l->ep->name,
             evutil_socket_error_to_string(err));
    evconnlistener_disable(evl);
    evtimer_add(l->retry, &tv);
}

static const char *
bind_error(int e)
{
    switch (e) {
    case EADDRINUSE:
        return "address already in use";
    case EACCES:
        return "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)";
    case EADDRNOTAVAIL:
        return "address not available on this host";
    default:
        return strerror(e);
    }
}

/* Is something alive behind an existing UNIX socket file? */
static bool
unix_socket_alive(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    bool alive;

    if (fd < 0) {
        return false;
    }
    alive = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 || errno != ECONNREFUSED;
    close(fd);
    return alive;
}

static int
open_unix(struct listener *l, const struct listen_spec *ls, unsigned mode, const char **why)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    str_copy(sun.sun_path, sizeof(sun.sun_path), ls->path);
    if (lstat(ls->path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            *why = "path exists and is not a socket";
            return -1;
        }
        if (unix_socket_alive(&sun)) {
            *why = "socket in use by another process";
            return -1;
        }
        unlink(ls->path); /* stale file left by a process that died */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    /* Create the file with no more than the wanted permissions, so that there is no moment
     * when it is more open than unix_mode; chmod() below then sets them exactly. This runs at
     * start-up, before any thread creates files. */
    mode_t old = umask(~(mode_t)mode & 0777);
    int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    int bind_errno = errno;
    umask(old);
    if (rc < 0) {
        *why = bind_error(bind_errno);
        close(fd);
        return -1;
    }
    if (chmod(ls->path, mode) < 0) {
        *why = strerror(errno);
        close(fd);
        unlink(ls->path);
        return -1;
    }
    memcpy(&l->addr, &sun, sizeof(sun));
    l->addr_len = sizeof(sun);
    str_copy(l->unix_path, sizeof(l->unix_path), ls->path);
    return fd;
}

static int
open_tcp(struct listener *l, const struct addrinfo *ai, const char **why)
{
    int one = 1;
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);

    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        /* Each address listens for itself: list 0.0.0.0 and [::] both for dual stack. */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        *why = bind_error(errno);
        close(fd);
        return -1;
    }
    l->addr_len = sizeof(l->addr);
    getsockname(fd, (struct sockaddr *)&l->addr, &l->addr_len);
    return fd;
}

static int
start_listener(struct listener *l, int fd, struct endpoint *ep, const char **why)
{
    l->ep = ep;
    l->evl = evconnlistener_new(loop_base(), accept_cb, l,
                                LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, LISTEN_BACKLOG, fd);
    if (l->evl == NULL) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    evconnlistener_set_error_cb(l->evl, accept_error_cb);
    l->retry = evtimer_new(loop_base(), retry_cb, l);
    return 0;
}

static struct listener *
listener_add(struct listener_set *set)
{
    struct listener *l = xcalloc(1, sizeof(*l));

    set->v = xrealloc(set->v, (set->n + 1) * sizeof(*set->v));
    set->v[set->n++] = l;
    return l;
}

static int
listen_or_close(int fd, const char **why)
{
    if (listen(fd, LISTEN_BACKLOG) < 0) {
        *why = strerror(errno);
        close(fd);
        return -1;
    }
    return 0;
}

/* Adds the listeners of @list to @set; on failure those already added stay in it. With @tls,
 * UNIX sockets are refused. */
static int
open_list(struct listener_set *set, const char *list, unsigned mode, struct tls_ctx *tls,
          const char *where, char *err, size_t errcap)
{
    struct endpoint *ep = set->ep;
    struct listen_spec *specs = NULL;
    size_t nspecs = 0;
    const char *why = "invalid address";

    if (!listen_spec_parse_list(list, &specs, &nspecs, &why)) {
        snprintf(err, errcap, "%s: %s", where, why);
        goto fail;
    }
    for (size_t i = 0; i < nspecs; i++) {
        const struct listen_spec *ls = &specs[i];

        if (ls->kind == LISTEN_UNIX && tls) {
            snprintf(err, errcap, "%s: unix:%s: TLS listeners must be TCP addresses", where,
                     ls->path);
            goto fail;
        }
        if (ls->kind == LISTEN_UNIX) {
            struct listener *l = listener_add(set);
            int fd = open_unix(l, ls, mode, &why);
            if (fd < 0 || listen_or_close(fd, &why) < 0 || start_listener(l, fd, ep, &why) < 0) {
                snprintf(err, errcap, "%s: cannot listen on unix:%s: %s", where, ls->path, why);
                goto fail;
            }
            continue;
        }

        struct addrinfo hints = {0}, *res = NULL;
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        bool any = strcmp(ls->host, "*") == 0;
        int gai = getaddrinfo(any ? NULL : ls->host, ls->port, &hints, &res);
        if (gai != 0) {
            snprintf(err, errcap, "%s: cannot resolve %s: %s", where, ls->host, gai_strerror(gai));
            goto fail;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            struct listener *l = listener_add(set);
            l->tls = tls;
            int fd = open_tcp(l, ai, &why);
            if (fd < 0 || listen_or_close(fd, &why) < 0 || start_listener(l, fd, ep, &why) < 0) {
                char shown[ADDR_STR_MAX];
                addr_format(ai->ai_addr, ai->ai_addrlen, shown, sizeof(shown));
                snprintf(err, errcap, "%s: cannot listen on %s: %s", where, shown, why);
                freeaddrinfo(res);
                goto fail;
            }
        }
        freeaddrinfo(res);
    }
    free(specs);
    return 0;

fail:
    free(specs);
    return -1;
}

struct listener_set *
listener_set_open_list(struct endpoint *ep, const char *list, unsigned mode, const char *where,
                       char *err, size_t errcap)
{
    struct listener_set *set = xcalloc(1, sizeof(*set));

    set->ep = ep;
    if (open_list(set, list, mode, NULL, where, err, errcap) < 0) {
        listener_set_close(set);
        return NULL;
    }
    return set;
}

int
listener_set_add_tls(struct listener_set *ls, const char *list, struct tls_ctx *ctx,
                     const char *where, char *err, size_t errcap)
{
    /* TLS sessions are accepted and served on the main loop: the serving loops' hand-over
     * carries no TLS context. */
    if (ls->ep->spread) {
        snprintf(err, errcap,
                 "%s: TLS is not supported for %s, whose sessions are spread over "
                 "the serving loops",
                 where, ls->ep->name);
        return -1;
    }
    return open_list(ls, list, 0, ctx, where, err, errcap);
}

static int
open_udp(struct listener *l, const struct listener *tcp, const char **why)
{
    int one = 1;
    int family = tcp->addr.ss_family;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, (const struct sockaddr *)&tcp->addr, tcp->addr_len) < 0) {
        *why = bind_error(errno);
        close(fd);
        return -1;
    }
    memcpy(&l->addr, &tcp->addr, tcp->addr_len);
    l->addr_len = tcp->addr_len;
    l->ep = tcp->ep;
    l->udp = event_new(loop_base(), fd, EV_READ | EV_PERSIST, udp_cb, l);
    event_add(l->udp, NULL);
    return fd;
}

int
listener_set_add_udp(struct listener_set *ls, const char *where, char *err, size_t errcap)
{
    size_t ntcp = ls->n;

    for (size_t i = 0; i < ntcp; i++) {
        const struct listener *tcp = ls->v[i];
        const char *why;
        if (tcp->evl == NULL || tcp->unix_path[0] || tcp->tls) {
            continue;
        }
        struct listener *l = listener_add(ls);
        if (open_udp(l, tcp, &why) < 0) {
            char shown[ADDR_STR_MAX];
            addr_format((const struct sockaddr *)&tcp->addr, tcp->addr_len, shown, sizeof(shown));
            snprintf(err, errcap, "%s: cannot receive UDP on %s: %s", where, shown, why);
            return -1;
        }
    }
    return 0;
}

struct listener_set *
listener_set_open(struct endpoint *ep, const struct cfg *cfg, const char *section, char *err,
                  size_t errcap)
{
    char where[400];

    cfg_where(cfg, section, "listen", where, sizeof(where));
    return listener_set_open_list(ep, cfg_str(cfg, section, "listen"),
                                  cfg_mode(cfg, section, "unix_mode"), where, err, errcap);
}

const struct sockaddr *
listener_set_addr(const struct listener_set *ls, size_t i, socklen_t *len)
{
    if (i >= ls->n) {
        return NULL;
    }
    *len = ls->v[i]->addr_len;
    return (const struct sockaddr *)&ls->v[i]->addr;
}

static void
describe_one(const struct listener *l, char *buf, size_t cap)
{
    addr_format((const struct sockaddr *)&l->addr, l->addr_len, buf, cap);
}

void
listener_set_describe(const struct listener_set *ls, const char *prefix, FILE *f)
{
    char buf[ADDR_STR_MAX];

    for (size_t i = 0; i < ls->n; i++) {
        describe_one(ls->v[i], buf, sizeof(buf));
        const struct listener *l = ls->v[i];
        fprintf(f, "%s %s %s\n", prefix,
                l->unix_path[0] ? "unix"
                : l->udp        ? "udp"
                : l->tls        ? "tls"
                                : "tcp",
                buf);
    }
}

void
listener_set_summary(const struct listener_set *ls, char *buf, size_t cap)
{
    size_t pos = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < ls->n && pos < cap; i++) {
        char one[ADDR_STR_MAX];
        describe_one(ls->v[i], one, sizeof(one));
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s%s", i ? ", " : "", one,
                                ls->v[i]->udp   ? " (udp)"
                                : ls->v[i]->tls ? " (tls)"
                                                : "");
    }
}

void
listener_set_close(struct listener_set *ls)
{
    if (ls == NULL) {
        return;
    }
    for (size_t i = 0; i < ls->n; i++) {
        struct listener *l = ls->v[i];
        if (l->evl) {
            evconnlistener_free(l->evl);
        }
        if (l->retry) {
            event_free(l->retry);
        }
        if (l->udp) {
            evutil_socket_t fd = event_get_fd(l->udp);
            event_free(l->udp);
            evutil_closesocket(fd);
        }
        if (l->unix_path[0]) {
            unlink(l->unix_path);
        }
        free(l);
    }
    free(ls->v);
    free(ls);
}
