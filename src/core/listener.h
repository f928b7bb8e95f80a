/* SPDX-License-Identifier: MIT */
/*
 * Listening sockets (TCP over IPv4 and IPv6, UNIX stream) feeding conn_accept(), UDP sockets
 * feeding a service's on_datagram(), and the configuration keys every service section shares:
 * where it listens and the limits and access lists of its sessions.
 */
#ifndef SB_CORE_LISTENER_H
#define SB_CORE_LISTENER_H

#include <stddef.h>
#include <stdio.h>

#include "core/config.h"
#include "core/conn.h"

/* Keys every service section accepts (NULL-name terminated): enabled, listen, unix_mode, allow,
 * deny, idle_timeout, write_timeout, max_output, max_clients. A service's own table may redefine
 * one to change its default (every service sets its listen default that way). */
extern const struct cfg_key endpoint_keys[];

struct listener_set;

/**
 * endpoint_configure() - fill @ep's limits and access lists from [@section]. Frees nothing it
 * did not allocate; release with endpoint_fini().
 */
void endpoint_configure(struct endpoint *ep, const struct cfg *cfg, const char *section);
void endpoint_fini(struct endpoint *ep);

/**
 * listener_set_open() - open every address of [@section] listen for @ep.
 * Return: the set, or NULL with a message naming the configuration line in @err (address in
 * use, permission denied, unknown host, path too long...).
 */
struct listener_set *listener_set_open(struct endpoint *ep, const struct cfg *cfg,
                                       const char *section, char *err, size_t errcap);

/**
 * listener_set_open_list() - the same for a listen list given directly ("127.0.0.1:0, [::1]:0",
 * see listen_spec_parse_list()); @where prefixes error messages.
 */
struct listener_set *listener_set_open_list(struct endpoint *ep, const char *list, unsigned mode,
                                            const char *where, char *err, size_t errcap);

/**
 * listener_set_add_tls() - also listen on every address of @list (as in listener_set_open_list(),
 * TCP only) with TLS: sessions accepted there are handed to @ls's endpoint encrypted with @ctx,
 * which must outlive the set. Return: 0, or -1 with a message prefixed by @where in @err.
 */
struct tls_ctx;
int listener_set_add_tls(struct listener_set *ls, const char *list, struct tls_ctx *ctx,
                         const char *where, char *err, size_t errcap);

/**
 * listener_set_add_udp() - also receive datagrams on the address and port of every TCP listener
 * of @ls (the port actually bound, when 0 was asked), delivered to the endpoint's on_datagram().
 * Return: 0, or -1 with a message prefixed by @where in @err (the set is left for the caller to
 * close).
 */
int listener_set_add_udp(struct listener_set *ls, const char *where, char *err, size_t errcap);

/** listener_set_addr() - the bound address of listener @i (the real port when 0 was asked), or
 * NULL past the last one. */
const struct sockaddr *listener_set_addr(const struct listener_set *ls, size_t i, socklen_t *len);

/** listener_set_describe() - write "kind address" lines (e.g. "tcp 127.0.0.1:8888") to @f. */
void listener_set_describe(const struct listener_set *ls, const char *prefix, FILE *f);

/** listener_set_summary() - "127.0.0.1:8888, unix:./var/dir.sock" into @buf. */
void listener_set_summary(const struct listener_set *ls, char *buf, size_t cap);

/** listener_set_close() - stop accepting and close the sockets; UNIX socket files are removed. */
void listener_set_close(struct listener_set *ls);

#endif
