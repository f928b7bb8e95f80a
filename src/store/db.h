/* SPDX-License-Identifier: MIT */
/*
 * The one SQLite database every service shares (data_dir/switchboard.db): opening, schema
 * migrations, and a cache of prepared statements. Used from the event loop thread only.
 */
#ifndef SB_STORE_DB_H
#define SB_STORE_DB_H

#include <stddef.h>

struct db;
struct sqlite3;
struct sqlite3_stmt;

#define DB_FILE "switchboard.db"
#define DB_BUSY_TIMEOUT_MS 200

/**
 * db_open() - open (creating if needed) @dir/switchboard.db and bring its schema up to date.
 * Return: the database, or NULL with a message in @err. Close with db_close().
 */
struct db *db_open(const char *dir, char *err, size_t errcap);

/** db_close() - finalize cached statements and close; NULL is a no-op. */
void db_close(struct db *db);

/**
 * db_stmt() - a prepared statement for @sql, reset and with bindings cleared. @sql must be a
 * string with static storage: its address is the cache key. The statement belongs to @db.
 * Return: NULL on error (logged).
 */
struct sqlite3_stmt *db_stmt(struct db *db, const char *sql);

/** db_errmsg() - the last SQLite error message. */
const char *db_errmsg(struct db *db);

#endif
