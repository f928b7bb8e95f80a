/* SPDX-License-Identifier: MIT */
/* Persistence of directory bindings. The in-memory table in the directory service is the truth
 * while running; this table lets it be rebuilt at start-up. */
#include "store/bindings.h"

#include <sqlite3.h>
#include <time.h>

#include "core/log.h"

int
bindings_put(struct db *db, const char *name, const char *addr, unsigned port)
{
    sqlite3_stmt *st = db_stmt(db, "INSERT OR REPLACE INTO dir_bindings (name, addr, port, since)"
                                   " VALUES (?1, ?2, ?3, ?4)");
    if (st == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)port);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    if (sqlite3_step(st) != SQLITE_DONE) {
        log_error("database: saving the binding of %s: %s", name, db_errmsg(db));
        return -1;
    }
    return 0;
}

int
bindings_del(struct db *db, const char *name)
{
    sqlite3_stmt *st = db_stmt(db, "DELETE FROM dir_bindings WHERE name = ?1");
    if (st == NULL) {
        return -1;
    }
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        log_error("database: removing the binding of %s: %s", name, db_errmsg(db));
        return -1;
    }
    return 0;
}

int
bindings_load(struct db *db,
              void (*fn)(void *arg, const char *name, const char *addr, unsigned port), void *arg)
{
    sqlite3_stmt *st = db_stmt(db, "SELECT name, addr, port FROM dir_bindings");
    int rc, n = 0;

    if (st == NULL) {
        return -1;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fn(arg, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           (unsigned)sqlite3_column_int(st, 2));
        n++;
    }
    if (rc != SQLITE_DONE) {
        log_error("database: loading bindings: %s", db_errmsg(db));
        return -1;
    }
    return n;
}
