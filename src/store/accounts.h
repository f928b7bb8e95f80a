/* SPDX-License-Identifier: MIT */
/*
 * User accounts shared by every service: names with Argon2id password hashes (libsodium's
 * crypto_pwhash_str). Hashing is CPU- and memory-heavy on purpose; the password_* functions are
 * thread-safe and meant for worker threads, the accounts_* ones touch SQLite and run on the loop.
 */
#ifndef SB_STORE_ACCOUNTS_H
#define SB_STORE_ACCOUNTS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#include "proto/eurechat.h"
#include "store/db.h"

#define ACCOUNT_NAME_MAX 32
#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES

enum password_cost {
    PASSWORD_COST_MINIMUM,     /* libsodium's minimum: for tests only */
    PASSWORD_COST_STANDARD,    /* default: 19 MiB, 2 passes (OWASP's recommended minimum) */
    PASSWORD_COST_INTERACTIVE, /* libsodium's interactive: 64 MiB, 2 passes */
    PASSWORD_COST_MODERATE,    /* 256 MiB, 3 passes */
    PASSWORD_COST_SENSITIVE,   /* 1 GiB, 4 passes */
};

/** password_cost_parse() - "minimum", "standard", "interactive", "moderate", "sensitive";
 * -1 if unknown. */
int password_cost_parse(const char *s);
/** password_set_cost() - cost of new hashes; call before any worker hashes. */
void password_set_cost(enum password_cost c);

/** password_hash() - hash @pw into @out (NUL-terminated). 0, or -1 when out of memory. */
int password_hash(const char *pw, size_t n, char out[PASSWORD_HASH_MAX]);
/** password_verify() - does @pw match @hash? */
bool password_verify(const char *hash, const char *pw, size_t n);

/** account_name_valid() - 1..ACCOUNT_NAME_MAX of [A-Za-z0-9_.-] and IRC's []\`^{}| */
bool account_name_valid(const char *name, size_t n);

/**
 * accounts_get() - look up @name (case-insensitively).
 * @hash: receives the stored hash; @canon (ACCOUNT_NAME_MAX+1 bytes, may be NULL) the name as
 *        created.
 * Return: 1 found, 0 not found, -1 database error (logged).
 */
int accounts_get(struct db *db, const char *name, char hash[PASSWORD_HASH_MAX], char *canon);

/** accounts_create() - Return: 0 created, 1 the name exists, -1 error. */
int accounts_create(struct db *db, const char *name, const char *hash);
/** accounts_set_hash() - Return: 0 changed, 1 no such account, -1 error. */
int accounts_set_hash(struct db *db, const char *name, const char *hash);
/** accounts_delete() - Return: 0 deleted, 1 no such account, -1 error. */
int accounts_delete(struct db *db, const char *name);
/** accounts_list() - call @fn for each account, by name. Return: count, or -1 on error. */
int accounts_list(struct db *db, void (*fn)(void *arg, const char *name, long long created),
                  void *arg);

#endif
