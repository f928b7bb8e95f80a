/* SPDX-License-Identifier: MIT */
/* Accounts. Names are unique regardless of ASCII case (SQLite NOCASE), so that "Alice" and
 * "alice" cannot be two people in the directory today and on IRC tomorrow. */
#include "store/accounts.h"

#include <sqlite3.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/strutil.h"

/* OWASP's recommendation for Argon2id: 19 MiB, 2 passes, 1 lane (libsodium always uses 1). */
#define STANDARD_OPSLIMIT 2ULL
#define STANDARD_MEMLIMIT (19U * 1024 * 1024)

static unsigned long long ops = STANDARD_OPSLIMIT;
static size_t mem = STANDARD_MEMLIMIT;

int
password_cost_parse(const char *s)
{
    static const char *const names[] = {"minimum", "standard", "interactive", "moderate",
                                        "sensitive"};
    for (int i = 0; i < 5; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

void
password_set_cost(enum password_cost c)
{
    switch (c) {
    case PASSWORD_COST_MINIMUM:
        ops = crypto_pwhash_OPSLIMIT_MIN;
        mem = crypto_pwhash_MEMLIMIT_MIN;
        break;
    case PASSWORD_COST_STANDARD:
        ops = STANDARD_OPSLIMIT;
        mem = STANDARD_MEMLIMIT;
        break;
    case PASSWORD_COST_INTERACTIVE:
        ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
        mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
        break;
    case PASSWORD_COST_MODERATE:
        ops = crypto_pwhash_OPSLIMIT_MODERATE;
        mem = crypto_pwhash_MEMLIMIT_MODERATE;
        break;
    case PASSWORD_COST_SENSITIVE:
        ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
        mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
        break;
    }
}

int
password_hash(const char *pw, size_t n, char out[PASSWORD_HASH_MAX])
{
    return crypto_pwhash_str(out, pw, n, ops, mem) == 0 ? 0 : -1;
}

bool
password_verify(const char *hash, const char *pw, size_t n)
{
    return crypto_pwhash_str_verify(hash, pw, n) == 0;
}

bool
account_name_valid(const char *name, size_t n)
{
    if (n == 0 || n > ACCOUNT_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.-[]\\`^{}|", c) != NULL) ||
            c == '\0') {
            return false;
        }
    }
    return true;
}

static int
step_done(struct db *db, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        log_error("database: %s: %s", what, db_errmsg(db));
        return -1;
    }
    return 0;
}

int
accounts_get(struct db *db, const char *name, char hash[PASSWORD_HASH_MAX], char *canon)
{
    sqlite3_stmt *st = db_stmt(db, "SELECT hash, name FROM accounts WHERE name = ?1");
    int rc;

    if (st == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        return 0;
    }
    if (rc != SQLITE_ROW) {
        log_error("database: reading account %s: %s", name, db_errmsg(db));
        return -1;
    }
    str_copy(hash, PASSWORD_HASH_MAX, (const char *)sqlite3_column_text(st, 0));
    if (canon) {
        str_copy(canon, ACCOUNT_NAME_MAX + 1, (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    return 1;
}

int
accounts_create(struct db *db, const char *name, const char *hash)
{
    sqlite3_stmt *st = db_stmt(db, "INSERT INTO accounts (name, hash, created) VALUES (?1, ?2, ?3)"
                                   " ON CONFLICT (name) DO NOTHING");
    if (st == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
    if (step_done(db, st, "creating an account") < 0) {
        return -1;
    }
    return sqlite3_changes(sqlite3_db_handle(st)) == 1 ? 0 : 1;
}

int
accounts_set_hash(struct db *db, const char *name, const char *hash)
{
    sqlite3_stmt *st = db_stmt(db, "UPDATE accounts SET hash = ?2 WHERE name = ?1");
    if (st == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
    if (step_done(db, st, "changing a password") < 0) {
        return -1;
    }
    return sqlite3_changes(sqlite3_db_handle(st)) == 1 ? 0 : 1;
}

int
accounts_delete(struct db *db, const char *name)
{
    sqlite3_stmt *st = db_stmt(db, "DELETE FROM accounts WHERE name = ?1");
    if (st == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (step_done(db, st, "deleting an account") < 0) {
        return -1;
    }
    return sqlite3_changes(sqlite3_db_handle(st)) == 1 ? 0 : 1;
}

int
accounts_list(struct db *db, void (*fn)(void *arg, const char *name, long long created), void *arg)
{
    sqlite3_stmt *st = db_stmt(db, "SELECT name, created FROM accounts ORDER BY name");
    int rc, n = 0;

    if (st == NULL) {
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
        n++;
    }
    if (rc != SQLITE_DONE) {
        log_error("database: listing accounts: %s", db_errmsg(db));
        return -1;
    }
    return n;
}
