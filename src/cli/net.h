/* SPDX-License-Identifier: MIT */
/*
 * What sb echo and sb get share: their exit codes (curl's numbers, so that scripts written for
 * curl read them the same way), name resolution, and connecting with a time limit. These tools
 * talk to one server at a time and block in poll(); the event loop is for the chat node.
 */
#ifndef SB_CLI_NET_H
#define SB_CLI_NET_H

#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>

/* Exit codes of sb echo and sb get, documented in the README. */
enum {
    NET_OK = 0,
    NET_INTERNAL = 1,
    NET_USAGE = 2,
    NET_BAD_URL = 3,     /* malformed or unsupported URL */
    NET_RESOLVE = 6,     /* the host name cannot be resolved */
    NET_CONNECT = 7,     /* no address accepted the connection */
    NET_BAD_REPLY = 8,   /* malformed HTTP response; for echo: the echo differs */
    NET_PARTIAL = 18,    /* the body ended before its announced length */
    NET_HTTP_ERROR = 22, /* HTTP status 400 or more, with --fail */
    NET_WRITE = 23,      /* cannot write the output */
    NET_TIMEOUT = 28,    /* connect or read timeout */
    NET_TLS = 35,        /* the TLS handshake failed */
    NET_REDIRECTS = 47,  /* too many redirects, or a loop */
    NET_EMPTY = 52,      /* the server closed without answering */
    NET_RECV = 56,       /* the connection broke (reset, or closed too early) */
    NET_CERT = 60,       /* the server's certificate is not trusted or not for this host */
};

/**
 * net_split_host_port() - split "HOST:PORT" or "[V6]:PORT" (and a bare "[V6]" or "V6" when
 * @port is preset by the caller) into @host (brackets removed) and @port.
 * Return: false if it cannot be split.
 */
bool net_split_host_port(const char *spec, char *host, size_t hostcap, char *port, size_t portcap);

/**
 * net_resolve() - getaddrinfo() for @host and numeric @port with @socktype (SOCK_STREAM or
 * SOCK_DGRAM). Return: NET_OK with *res to free with freeaddrinfo(), or NET_RESOLVE with a
 * message in @why.
 */
int net_resolve(const char *host, const char *port, int socktype, struct addrinfo **res, char *why,
                size_t cap);

/**
 * net_connect() - connect a stream socket to the addresses of @res in order, each given
 * @timeout seconds. Return: NET_OK with the connected, blocking socket in *fd; NET_CONNECT or
 * NET_TIMEOUT (all attempts timed out) with the last error in @why.
 */
int net_connect(const struct addrinfo *res, double timeout, int *fd, char *why, size_t cap);

/**
 * net_connect_unix() - connect a stream socket to the UNIX socket at @path within @timeout.
 * Return: NET_OK with the socket in *fd; NET_USAGE (empty or too long a path), NET_CONNECT or
 * NET_TIMEOUT with a message in @why.
 */
int net_connect_unix(const char *path, double timeout, int *fd, char *why, size_t cap);

/** net_wait() - poll() @fd for @events up to @timeout seconds; returns poll's result (0 on
 * timeout), retrying after signals. */
int net_wait(int fd, short events, double timeout);

/** net_write_all() - write all of @p to @fd (blocking); false on error. */
bool net_write_all(int fd, const void *p, size_t n);

/* A FIFO of bytes (sent and not yet answered, received and not yet used); free buf when done. */
struct net_fifo {
    char *buf;
    size_t start, len, cap;
};

/** net_fifo_add() - append @n bytes (the buffer grows; there is no limit here). */
void net_fifo_add(struct net_fifo *f, const char *p, size_t n);

/** net_fifo_drop() - remove the oldest @n bytes (@n <= f->len). */
void net_fifo_drop(struct net_fifo *f, size_t n);

#endif
