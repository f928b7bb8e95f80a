/* SPDX-License-Identifier: MIT */
/*
 * The echo service (RFC 862): every byte a TCP or UNIX client sends comes back, and every UDP
 * datagram is returned to its sender. The core's backpressure bounds the memory a client that
 * never reads can cost (reading stops at half of max_output, write_timeout then drops it).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/listener.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/ratelimit.h"
#include "services/service.h"

/* Bytes handed over per frame: whatever has arrived, up to this much. */
#define ECHO_CHUNK 65536

/* Datagrams from the well-known ports, or from the port we serve on, are not answered: two echo
 * (or echo and chargen) servers could otherwise be made to bounce one forged datagram between
 * them forever. */
#define ECHO_UDP_MIN_SOURCE_PORT 1024

static const struct cfg_key echo_keys[] = {
    {"listen", CFG_LISTEN, "127.0.0.1:7007", 0, 0, NULL},
    {"udp", CFG_BOOL, "yes", 0, 0, NULL},
    {"write_timeout", CFG_SECONDS, "30", 0, 86400, NULL},
    {"udp_rate", CFG_INT, "1000", 0, 1000000, NULL},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* Sources remembered by the UDP rate limit; more rotate out the oldest. */
#define ECHO_RATE_SLOTS 4096

struct echo {
    bool udp;
    struct ratelimit *rate; /* datagrams per second per source; NULL: no limit */
    char where[400];        /* the listen line, for messages */
};

static enum sess_verdict
echo_on_frame(struct session *s, const char *p, size_t n)
{
    return sess_send(s, p, n) == 0 ? SESS_OK : SESS_CLOSE;
}

static uint16_t
source_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    }
    if (ss->ss_family == AF_INET6) {
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    }
    return 0;
}

/* Would answering send the datagram back to an echo socket, ours or one like it? A datagram
 * forged with our own address as its source would otherwise be echoed to ourselves forever. */
static bool
loops(const struct dgram_from *from)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);
    uint16_t port = source_port(&from->addr);

    if (port < ECHO_UDP_MIN_SOURCE_PORT) {
        return true;
    }
    return getsockname(from->fd, (struct sockaddr *)&local, &len) == 0 &&
           source_port(&local) == port;
}

static void
echo_on_datagram(struct endpoint *ep, const struct dgram_from *from, const char *p, size_t n)
{
    struct echo *e = ((struct service *)ep->owner)->priv;
    double now = loop_now();

    if (loops(from)) {
        log_debug("echo: datagram from %s ignored (its source port could be an echo service)",
                  from->str);
        return;
    }
    /* Bounds what one source (or a loop through another UDP service) can make us send. */
    if (e->rate && ratelimit_blocked(e->rate, (const struct sockaddr *)&from->addr, NULL, now)) {
        return;
    }
    if (e->rate) {
        ratelimit_hit(e->rate, (const struct sockaddr *)&from->addr, NULL, now);
    }
    if (dgram_reply(from, p, n) < 0) {
        log_debug("echo: reply of %zu bytes to %s dropped", n, from->str);
    }
}

static int
echo_init(struct service *svc, const struct service_env *env, char *err, size_t errcap)
{
    struct echo *e = xcalloc(1, sizeof(*e));

    e->udp = cfg_bool(env->cfg, "echo", "udp");
    long rate = cfg_int(env->cfg, "echo", "udp_rate");
    if (rate > 0) {
        e->rate = ratelimit_new((unsigned)rate, 1.0, ECHO_RATE_SLOTS);
    }
    cfg_where(env->cfg, "echo", "listen", e->where, sizeof(e->where));
    /* One frame is echoed whole, so it must fit in what backpressure lets a session queue. */
    svc->ep.frame_limit = svc->ep.max_output / 2 < ECHO_CHUNK ? svc->ep.max_output / 2 : ECHO_CHUNK;
    svc->priv = e;
    return 0;
}

static int
echo_listening(struct service *svc, char *err, size_t errcap)
{
    struct echo *e = svc->priv;

    return e->udp ? listener_set_add_udp(svc->listeners, e->where, err, errcap) : 0;
}

static void
echo_fini(struct service *svc)
{
    struct echo *e = svc->priv;

    if (e && e->rate) {
        ratelimit_free(e->rate);
    }
    free(svc->priv);
    svc->priv = NULL;
}

const struct service_ops echo_service = {
    .name = "echo",
    .keys = echo_keys,
    .sess =
        {
            .framing = FRAME_RAW,
            .on_frame = echo_on_frame,
            .on_datagram = echo_on_datagram,
        },
    .init = echo_init,
    .listening = echo_listening,
    .fini = echo_fini,
};
