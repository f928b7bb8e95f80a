/* SPDX-License-Identifier: MIT */
/*
 * Socket addresses as the configuration and the services see them: listen specifications
 * ("HOST:PORT", "[IPv6]:PORT", "unix:/path"), numeric IP parsing, CIDR access lists, printing.
 * No socket is opened here.
 */
#ifndef SB_CORE_ADDR_H
#define SB_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#define ADDR_STR_MAX 128 /* "[ipv6%scope]:port" or "unix:/path" printed, NUL included */
#define ADDR_UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))

enum listen_kind { LISTEN_TCP, LISTEN_UNIX };

struct listen_spec {
    enum listen_kind kind;
    char host[256];                /* TCP: numeric address, host name, or "*" for every address */
    char port[8];                  /* TCP: decimal port; "0" picks an ephemeral one */
    char path[ADDR_UNIX_PATH_MAX]; /* UNIX: socket path */
};

/**
 * listen_spec_parse_list() - parse a comma-separated list of listen specifications.
 * @s: the configuration value
 * @out: on success, a malloc'ed array the caller frees with free()
 * @n: number of entries in @out (at least one)
 * @why: on failure, a static string saying what is wrong
 */
bool listen_spec_parse_list(const char *s, struct listen_spec **out, size_t *n, const char **why);

struct cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
};

/** cidr_parse() - "10.0.0.0/8", "::1/128", or a bare address (a host route). */
bool cidr_parse(const char *s, struct cidr *out);

/**
 * cidr_parse_list() - comma-separated CIDRs; an empty string gives an empty list.
 * @out: malloc'ed array (NULL when empty) the caller frees.
 */
bool cidr_parse_list(const char *s, struct cidr **out, size_t *n, const char **why);

/** cidr_match() - does @sa (IPv4, IPv6 or IPv4-mapped IPv6) fall in @c? UNIX peers never do. */
bool cidr_match(const struct cidr *c, const struct sockaddr *sa);

/**
 * addr_parse_ip() - a numeric IPv4 or IPv6 address (no brackets) and a port into a sockaddr.
 * Return: false if @ip is not a numeric address or @port is outside 1..65535.
 */
bool addr_parse_ip(const char *ip, long port, struct sockaddr_storage *ss, socklen_t *len);

/** addr_format() - "1.2.3.4:80", "[::1]:80" or "unix:/path" into @buf (ADDR_STR_MAX bytes). */
void addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap);

/** addr_ip() - the address alone ("1.2.3.4", "::1"), IPv4-mapped IPv6 shown as IPv4. */
void addr_ip(const struct sockaddr *sa, char *buf, size_t cap);

/** addr_port() - the port of an IPv4/IPv6 address, 0 for anything else. */
unsigned addr_port(const struct sockaddr *sa);

/** addr_is_loopback() - 127.0.0.0/8, ::1, IPv4-mapped loopback, or a UNIX socket peer. */
bool addr_is_loopback(const struct sockaddr *sa);

/**
 * addr_same_host() - do @a and @b name the same host? Ports are ignored, IPv4-mapped IPv6 equals
 * its IPv4 form, and every loopback address counts as one host.
 */
bool addr_same_host(const struct sockaddr *a, const struct sockaddr *b);

#endif
