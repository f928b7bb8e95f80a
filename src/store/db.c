/* SPDX-License-Identifier: MIT */
/*
 * SQLite in WAL mode with synchronous=NORMAL: a committed write survives a daemon crash, and
 * readers never wait for the writer. The schema version lives in PRAGMA user_version; each
 * migration runs in its own transaction.
 */
#include "store/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "core/mem.h"

#define DB_STMT_CACHE 32

struct db {
    sqlite3 *h;
    struct {
        const char *sql;
        sqlite3_stmt *st;
    } cache[DB_STMT_CACHE];
    size_t ncache;
};

static const char *const migrations[] = {
    /* 1: accounts shared by every service, and the directory's bindings */
    "CREATE TABLE accounts ("
    "  name TEXT PRIMARY KEY COLLATE NOCASE,"
    "  hash TEXT NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE dir_bindings ("
    "  name TEXT PRIMARY KEY COLLATE NOCASE,"
    "  addr TEXT NOT NULL,"
    "  port INTEGER NOT NULL,"
    "  since INTEGER NOT NULL);",
};

static int
migrate(struct db *db, char *err, size_t errcap)
{
    sqlite3_stmt *st;
    int version = 0;
    int n = (int)(sizeof(migrations) / sizeof(migrations[0]));

    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "cannot read schema version: %s", sqlite3_errmsg(db->h));
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    if (version > n) {
        snprintf(err, errcap, "database schema version %d is newer than this program (%d)", version,
                 n);
        return -1;
    }
    for (int v = version; v < n; v++) {
        char sql[64];
        char *msg = NULL;
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; COMMIT;", v + 1);
        if (sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db->h, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errcap, "schema migration %d failed: %s", v + 1,
                     msg ? msg : sqlite3_errmsg(db->h));
            sqlite3_free(msg);
            sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

struct db *
db_open(const char *dir, char *err, size_t errcap)
{
    struct db *db = xcalloc(1, sizeof(*db));
    char path[4200];
    char *msg = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE);
    if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errcap, "%s: cannot open database: %s", path,
                 db->h ? sqlite3_errmsg(db->h) : "out of memory");
        goto fail;
    }
    /* The daemon writes from its event loop; another writer (switchboard user ...) holds the
     * lock for milliseconds. Wait a little for it, never long: a busy database fails the one
     * request (logged) instead of stalling every client. */
    sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db->h, 1);
    if (sqlite3_exec(db->h,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "PRAGMA foreign_keys=ON;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errcap, "%s: %s", path, msg ? msg : sqlite3_errmsg(db->h));
        sqlite3_free(msg);
        goto fail;
    }
    if (migrate(db, err, errcap) < 0) {
        goto fail;
    }
    return db;

fail:
    db_close(db);
    return NULL;
}

void
db_close(struct db *db)
{
    if (db == NULL) {
        return;
    }
    for (size_t i = 0; i < db->ncache; i++) {
        sqlite3_finalize(db->cache[i].st);
    }
    if (db->h) {
        if (sqlite3_close(db->h) != SQLITE_OK) {
            log_error("closing the database: %s", sqlite3_errmsg(db->h));
        }
    }
    free(db);
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
    sqlite3_stmt *st;

    for (size_t i = 0; i < db->ncache; i++) {
        if (db->cache[i].sql == sql) {
            st = db->cache[i].st;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_error("database: cannot prepare statement: %s", sqlite3_errmsg(db->h));
        return NULL;
    }
    if (db->ncache < DB_STMT_CACHE) {
        db->cache[db->ncache].sql = sql;
        db->cache[db->ncache].st = st;
        db->ncache++;
    } else {
        log_error("database: statement cache full (raise DB_STMT_CACHE)");
        abort();
    }
    return st;
}

const char *
db_errmsg(struct db *db)
{
    return sqlite3_errmsg(db->h);
}
