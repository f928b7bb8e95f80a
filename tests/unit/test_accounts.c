/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the SQLite store: opening and migrating the database in a temporary data
 * directory, accounts (case-insensitive names, Argon2id hashes at libsodium's minimum cost to keep
 * the tests fast) and the directory's persisted bindings, including across a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "store/accounts.h"
#include "store/bindings.h"
#include "store/db.h"

struct fixture {
    char dir[64];
    struct db *db;
};

static void
remove_data_dir(const char *dir)
{
    static const char *const files[] = {DB_FILE, DB_FILE "-wal", DB_FILE "-shm",
                                        DB_FILE "-journal"};
    char path[256];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static int
setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char err[256] = "";

    if (fx == NULL) {
        return -1;
    }
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sb-test-store-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    fx->db = db_open(fx->dir, err, sizeof(err));
    if (fx->db == NULL) {
        fprintf(stderr, "db_open: %s\n", err);
        remove_data_dir(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *fx = *state;

    db_close(fx->db);
    remove_data_dir(fx->dir);
    free(fx);
    return 0;
}

/* Close and reopen the fixture's database. */
static void
reopen(struct fixture *fx)
{
    char err[256] = "";

    db_close(fx->db);
    fx->db = db_open(fx->dir, err, sizeof(err));
    if (fx->db == NULL) {
        fail_msg("reopening the database: %s", err);
    }
}

/* Run a query that returns one integer, on a separate connection. */
static long long
query_int(const char *dir, const char *sql)
{
    char path[256];
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;

    snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE);
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void
exec_sql(const char *dir, const char *sql)
{
    char path[256];
    sqlite3 *h = NULL;

    snprintf(path, sizeof(path), "%s/%s", dir, DB_FILE);
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void
test_open_creates_schema(void **state)
{
    struct fixture *fx = *state;
    char path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", fx->dir, DB_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(query_int(fx->dir, "PRAGMA user_version"), 1);
    assert_int_equal(query_int(fx->dir, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                                        " AND name IN ('accounts', 'dir_bindings')"),
                     2);
    /* Opening again does not re-run migrations (they would fail on existing tables). */
    reopen(fx);
    assert_int_equal(query_int(fx->dir, "PRAGMA user_version"), 1);
}

static void
test_open_errors(void **state)
{
    struct fixture *fx = *state;
    char err[256] = "";
    char sub[128];

    assert_null(db_open("/nonexistent/sb-test/dir", err, sizeof(err)));
    assert_non_null(strstr(err, "cannot open database"));

    /* A database from a newer program is refused rather than misread. */
    db_close(fx->db);
    fx->db = NULL;
    exec_sql(fx->dir, "PRAGMA user_version = 99");
    err[0] = '\0';
    assert_null(db_open(fx->dir, err, sizeof(err)));
    assert_non_null(strstr(err, "newer than this program"));
    exec_sql(fx->dir, "PRAGMA user_version = 1");
    reopen(fx);

    /* A data directory that is a file. */
    snprintf(sub, sizeof(sub), "%s/%s", fx->dir, DB_FILE);
    assert_null(db_open(sub, err, sizeof(err)));
    db_close(NULL);
}

/* ACCOUNT_NAME_MAX (32) characters. */
#define LONGEST "abcdefghijklmnopqrstuvwxyzABCDEF"

static void
test_name_valid(void **state)
{
    static const char *const good[] = {"alice", "Alice",     "a",        "A_b.c-d",
                                       "x1",    "[]\\`^{}|", "01234567", LONGEST};
    static const char *const bad[] = {"",     "a b", "a@b", "a:b",  "a,b",       "a/b",      "a\tb",
                                      "a\nb", "a;b", "a'b", "a\"b", "h\xc3\xa9", LONGEST "G"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!account_name_valid(good[i], strlen(good[i]))) {
            fail_msg("\"%s\" should be a valid account name", good[i]);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (account_name_valid(bad[i], strlen(bad[i]))) {
            fail_msg("\"%s\" should not be a valid account name", bad[i]);
        }
    }
    /* An embedded NUL is rejected, not taken as the end of the name. */
    assert_false(account_name_valid("ab\0c", 4));
    assert_false(account_name_valid("\0", 1));
    /* Only @n bytes are looked at. */
    assert_true(account_name_valid("bob smith", 3));
}

static void
test_password_hash_verify(void **state)
{
    char hash[PASSWORD_HASH_MAX], hash2[PASSWORD_HASH_MAX];

    assert_int_equal(password_hash("secret", 6, hash), 0);
    assert_non_null(memchr(hash, '\0', sizeof(hash)));
    assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
    assert_true(password_verify(hash, "secret", 6));
    assert_false(password_verify(hash, "Secret", 6));
    assert_false(password_verify(hash, "secret", 5));
    assert_false(password_verify(hash, "secret!", 7));
    assert_false(password_verify(hash, "", 0));

    /* Salted: the same password hashes differently each time, and both verify. */
    assert_int_equal(password_hash("secret", 6, hash2), 0);
    assert_string_not_equal(hash, hash2);
    assert_true(password_verify(hash2, "secret", 6));

    /* Lengths are explicit, so bytes after a NUL count. */
    assert_int_equal(password_hash("a\0b", 3, hash), 0);
    assert_true(password_verify(hash, "a\0b", 3));
    assert_false(password_verify(hash, "a\0c", 3));
    assert_false(password_verify(hash, "a", 1));

    assert_int_equal(password_hash("", 0, hash), 0);
    assert_true(password_verify(hash, "", 0));

    assert_false(password_verify("not a hash", "secret", 6));
    assert_false(password_verify("", "secret", 6));

    assert_int_equal(password_cost_parse("minimum"), PASSWORD_COST_MINIMUM);
    assert_int_equal(password_cost_parse("interactive"), PASSWORD_COST_INTERACTIVE);
    assert_int_equal(password_cost_parse("moderate"), PASSWORD_COST_MODERATE);
    assert_int_equal(password_cost_parse("sensitive"), PASSWORD_COST_SENSITIVE);
    assert_int_equal(password_cost_parse("Minimum"), -1);
    assert_int_equal(password_cost_parse(""), -1);
}

static void
test_create_get(void **state)
{
    struct fixture *fx = *state;
    char hash[PASSWORD_HASH_MAX], got[PASSWORD_HASH_MAX], canon[ACCOUNT_NAME_MAX + 1];

    assert_int_equal(password_hash("pw", 2, hash), 0);
    assert_int_equal(accounts_create(fx->db, "Alice", hash), 0);
    /* Names are unique regardless of case. */
    assert_int_equal(accounts_create(fx->db, "Alice", hash), 1);
    assert_int_equal(accounts_create(fx->db, "alice", hash), 1);
    assert_int_equal(accounts_create(fx->db, "ALICE", "other"), 1);

    memset(canon, 'x', sizeof(canon));
    assert_int_equal(accounts_get(fx->db, "aLiCe", got, canon), 1);
    assert_string_equal(got, hash);
    assert_string_equal(canon, "Alice");
    assert_true(password_verify(got, "pw", 2));
    assert_int_equal(accounts_get(fx->db, "alice", got, NULL), 1);
    assert_string_equal(got, hash);

    assert_int_equal(accounts_get(fx->db, "bob", got, canon), 0);
    assert_int_equal(accounts_get(fx->db, "alic", got, canon), 0);
    assert_int_equal(accounts_get(fx->db, "", got, canon), 0);

    /* A second get right after the first (cached statement is reset). */
    assert_int_equal(accounts_get(fx->db, "ALICE", got, canon), 1);
    assert_int_equal(accounts_get(fx->db, "ALICE", got, canon), 1);
}

static void
test_set_hash(void **state)
{
    struct fixture *fx = *state;
    char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX], got[PASSWORD_HASH_MAX];

    assert_int_equal(password_hash("old", 3, h1), 0);
    assert_int_equal(password_hash("new", 3, h2), 0);
    assert_int_equal(accounts_create(fx->db, "carol", h1), 0);
    assert_int_equal(accounts_set_hash(fx->db, "CAROL", h2), 0);
    assert_int_equal(accounts_get(fx->db, "carol", got, NULL), 1);
    assert_string_equal(got, h2);
    assert_true(password_verify(got, "new", 3));
    assert_false(password_verify(got, "old", 3));
    assert_int_equal(accounts_set_hash(fx->db, "nobody", h2), 1);
    assert_int_equal(accounts_get(fx->db, "nobody", got, NULL), 0);
}

static void
test_delete(void **state)
{
    struct fixture *fx = *state;
    char got[PASSWORD_HASH_MAX];

    assert_int_equal(accounts_create(fx->db, "Dave", "h"), 0);
    assert_int_equal(accounts_delete(fx->db, "dave"), 0);
    assert_int_equal(accounts_get(fx->db, "Dave", got, NULL), 0);
    assert_int_equal(accounts_delete(fx->db, "Dave"), 1);
    assert_int_equal(accounts_delete(fx->db, "nobody"), 1);
    /* The name is free again. */
    assert_int_equal(accounts_create(fx->db, "DAVE", "h2"), 0);
    assert_int_equal(accounts_get(fx->db, "dave", got, NULL), 1);
    assert_string_equal(got, "h2");
}

struct listed {
    char names[8][ACCOUNT_NAME_MAX + 1];
    long long created[8];
    size_t n;
};

static void
list_cb(void *arg, const char *name, long long created)
{
    struct listed *l = arg;

    assert_true(l->n < 8);
    snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", name);
    l->created[l->n] = created;
    l->n++;
}

static void
test_list(void **state)
{
    struct fixture *fx = *state;
    struct listed l;
    long long before = (long long)time(NULL), after;

    memset(&l, 0, sizeof(l));
    assert_int_equal(accounts_list(fx->db, list_cb, &l), 0);
    assert_int_equal(l.n, 0);

    assert_int_equal(accounts_create(fx->db, "bob", "h"), 0);
    assert_int_equal(accounts_create(fx->db, "Carol", "h"), 0);
    assert_int_equal(accounts_create(fx->db, "alice", "h"), 0);
    after = (long long)time(NULL);

    assert_int_equal(accounts_list(fx->db, list_cb, &l), 3);
    assert_int_equal(l.n, 3);
    /* By name, ignoring case. */
    assert_string_equal(l.names[0], "alice");
    assert_string_equal(l.names[1], "bob");
    assert_string_equal(l.names[2], "Carol");
    for (size_t i = 0; i < 3; i++) {
        assert_true(l.created[i] >= before && l.created[i] <= after);
    }

    /* Listing twice gives the same answer (the statement is reusable). */
    memset(&l, 0, sizeof(l));
    assert_int_equal(accounts_list(fx->db, list_cb, &l), 3);
}

struct loaded {
    char names[8][ACCOUNT_NAME_MAX + 1];
    char addrs[8][64];
    unsigned ports[8];
    size_t n;
};

static void
load_cb(void *arg, const char *name, const char *addr, unsigned port)
{
    struct loaded *l = arg;

    assert_true(l->n < 8);
    snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", name);
    snprintf(l->addrs[l->n], sizeof(l->addrs[l->n]), "%s", addr);
    l->ports[l->n] = port;
    l->n++;
}

/* Index of @name in @l, or -1. */
static int
find_loaded(const struct loaded *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->names[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void
test_bindings(void **state)
{
    struct fixture *fx = *state;
    struct loaded l;
    int i;

    memset(&l, 0, sizeof(l));
    assert_int_equal(bindings_load(fx->db, load_cb, &l), 0);

    assert_int_equal(bindings_put(fx->db, "alice", "192.0.2.1", 4000), 0);
    assert_int_equal(bindings_put(fx->db, "bob", "2001:db8::1", 65535), 0);
    assert_int_equal(bindings_load(fx->db, load_cb, &l), 2);
    assert_int_equal(l.n, 2);
    i = find_loaded(&l, "alice");
    assert_true(i >= 0);
    assert_string_equal(l.addrs[i], "192.0.2.1");
    assert_int_equal(l.ports[i], 4000);
    i = find_loaded(&l, "bob");
    assert_true(i >= 0);
    assert_string_equal(l.addrs[i], "2001:db8::1");
    assert_int_equal(l.ports[i], 65535);

    /* Putting again replaces, also under another spelling of the name. */
    assert_int_equal(bindings_put(fx->db, "ALICE", "192.0.2.2", 4001), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(bindings_load(fx->db, load_cb, &l), 2);
    i = find_loaded(&l, "ALICE");
    assert_true(i >= 0);
    assert_string_equal(l.addrs[i], "192.0.2.2");
    assert_int_equal(l.ports[i], 4001);
    assert_int_equal(find_loaded(&l, "alice"), -1);

    assert_int_equal(bindings_del(fx->db, "alice"), 0);
    assert_int_equal(bindings_del(fx->db, "nobody"), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(bindings_load(fx->db, load_cb, &l), 1);
    assert_string_equal(l.names[0], "bob");
}

static void
test_reopen_keeps_data(void **state)
{
    struct fixture *fx = *state;
    char hash[PASSWORD_HASH_MAX], got[PASSWORD_HASH_MAX], canon[ACCOUNT_NAME_MAX + 1];
    struct loaded l;
    struct listed al;

    assert_int_equal(password_hash("persist", 7, hash), 0);
    assert_int_equal(accounts_create(fx->db, "Erin", hash), 0);
    assert_int_equal(bindings_put(fx->db, "Erin", "198.51.100.4", 5555), 0);
    reopen(fx);

    assert_int_equal(accounts_get(fx->db, "erin", got, canon), 1);
    assert_string_equal(got, hash);
    assert_string_equal(canon, "Erin");
    assert_true(password_verify(got, "persist", 7));
    memset(&al, 0, sizeof(al));
    assert_int_equal(accounts_list(fx->db, list_cb, &al), 1);
    memset(&l, 0, sizeof(l));
    assert_int_equal(bindings_load(fx->db, load_cb, &l), 1);
    assert_string_equal(l.names[0], "Erin");
    assert_string_equal(l.addrs[0], "198.51.100.4");
    assert_int_equal(l.ports[0], 5555);

    /* And writes after the reopen work too. */
    assert_int_equal(accounts_delete(fx->db, "ERIN"), 0);
    assert_int_equal(bindings_del(fx->db, "erin"), 0);
    reopen(fx);
    assert_int_equal(accounts_get(fx->db, "erin", got, NULL), 0);
    memset(&l, 0, sizeof(l));
    assert_int_equal(bindings_load(fx->db, load_cb, &l), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_password_hash_verify),
        cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bindings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
    };

    if (sodium_init() < 0) {
        fprintf(stderr, "sodium_init failed\n");
        return 1;
    }
    password_set_cost(PASSWORD_COST_MINIMUM);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
