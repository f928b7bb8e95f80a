/* SPDX-License-Identifier: MIT */
/* State shared by the directory's protocol handler (directory.c) and its checker (checker.c). */
#ifndef SB_DIRECTORY_H
#define SB_DIRECTORY_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/map.h"
#include "store/accounts.h"

struct checker;
struct ratelimit;
struct service;

enum dir_accounts { DIR_ACCOUNTS_TOFU, DIR_ACCOUNTS_CLOSED, DIR_ACCOUNTS_OPEN };
enum dir_policy { DIR_POLICY_SOURCE, DIR_POLICY_ANY };
enum dir_check { DIR_CHECK_CONNECT, DIR_CHECK_PING };

struct binding {
    char name[ACCOUNT_NAME_MAX + 1]; /* as the user logged in */
    char addr[INET6_ADDRSTRLEN];     /* normalised numeric address */
    unsigned port;
    struct sockaddr_storage sa;
    socklen_t salen;
    unsigned failures;   /* consecutive failed checks */
    uint64_t generation; /* new on every BIND, so a late check result cannot hit a newer binding */
};

struct directory {
    struct service *svc;
    struct db *db;
    struct map *bindings; /* lower-cased name -> struct binding */
    enum dir_accounts accounts;
    enum dir_policy bind_policy;
    enum dir_check bind_check;
    double check_interval, check_timeout;
    unsigned check_failures, check_concurrency;
    size_t max_payload;
    struct ratelimit *logins;
    uint64_t next_generation;
    struct checker *checker;
};

/** dir_binding_get() - the binding of @name (any case), or NULL. */
struct binding *dir_binding_get(struct directory *d, const char *name);

/** dir_binding_remove() - forget @name's binding, in memory and in the database.
 * Return: 0, or -1 if the database failed (the binding is gone from memory all the same). */
int dir_binding_remove(struct directory *d, const char *name);

/** dir_is_pong() - is the frame @frame (@n bytes) a PONG? */
bool dir_is_pong(const struct directory *d, const char *frame, size_t n);

/** checker_new() - the periodic PING of every binding; started by checker_start(). */
struct checker *checker_new(struct directory *d);
void checker_start(struct checker *ck);
/** checker_free() - cancel probes in flight and the timer. */
void checker_free(struct checker *ck);

#endif
