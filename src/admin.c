/* SPDX-License-Identifier: MIT */
/*
 * "switchboard user ...": account administration on the same database the daemon uses (SQLite
 * in WAL mode, so it works while the daemon runs). Passwords are read from the terminal without
 * echo, or as one line from standard input; never from the command line, where other users could
 * read them in the process list.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/term.h"
#include "main.h"
#include "store/accounts.h"
#include "store/db.h"

static int
get_password(const char *name, char pw[PASSWORD_MAX + 2])
{
    char again[PASSWORD_MAX + 2];
    const char *problem;
    int rc;

    if (isatty(STDIN_FILENO)) {
        char prompt[96];
        snprintf(prompt, sizeof(prompt), "Password for %s: ", name);
        rc = term_read_line(stdin, prompt, true, pw, PASSWORD_MAX + 2);
        if (rc == 0 && (problem = eure_password_problem(pw)) == NULL) {
            rc = term_read_line(stdin, "Again: ", true, again, sizeof(again));
            if (rc == 0 && strcmp(pw, again) != 0) {
                sodium_memzero(again, sizeof(again));
                fprintf(stderr, "switchboard: the passwords do not match\n");
                return -1;
            }
            sodium_memzero(again, sizeof(again));
        }
    } else {
        rc = term_read_line(stdin, NULL, false, pw, PASSWORD_MAX + 2);
    }
    if (rc == -1) {
        fprintf(stderr, "switchboard: no password given on standard input\n");
        return -1;
    }
    if (rc == -2) {
        fprintf(stderr, "switchboard: the password is too long (256 bytes at most)\n");
        return -1;
    }
    if ((problem = eure_password_problem(pw)) != NULL) {
        fprintf(stderr, "switchboard: %s\n", problem);
        return -1;
    }
    return 0;
}

static void
print_account(void *arg, const char *name, long long created)
{
    char when[32] = "?";
    time_t t = (time_t)created;
    struct tm tm;

    if (localtime_r(&t, &tm)) {
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    }
    printf("%s\t%s\n", name, when);
}

static int
user_usage(void)
{
    fprintf(stderr, "usage: switchboard [-c FILE] user add|del|passwd NAME\n"
                    "       switchboard [-c FILE] user list\n");
    return EXIT_CONFIG;
}

int
admin_hash_password(const struct cfg *cfg, int argc, char **argv)
{
    char pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX];
    int rc = EXIT_RUNTIME;

    if (argc != 1) {
        fprintf(stderr, "usage: switchboard [-c FILE] hash-password < password\n");
        return EXIT_CONFIG;
    }
    password_set_cost(
        (enum password_cost)password_cost_parse(cfg_str(cfg, "server", "password_cost")));
    if (get_password("the hash", pw) < 0) {
        goto out;
    }
    if (password_hash(pw, strlen(pw), hash) < 0) {
        fprintf(stderr, "switchboard: cannot hash the password: out of memory\n");
        goto out;
    }
    printf("%s\n", hash);
    rc = 0;
out:
    sodium_memzero(pw, sizeof(pw));
    return rc;
}

int
admin_main(const struct cfg *cfg, int argc, char **argv)
{
    const char *verb = argc > 1 ? argv[1] : NULL;
    const char *name = argc > 2 ? argv[2] : NULL;
    char err[512], pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX];
    struct db *db;
    int rc = EXIT_RUNTIME, r;

    if (verb == NULL) {
        return user_usage();
    }
    bool needs_name = strcmp(verb, "list") != 0;
    if (strcmp(verb, "add") != 0 && strcmp(verb, "del") != 0 && strcmp(verb, "passwd") != 0 &&
        strcmp(verb, "list") != 0) {
        fprintf(stderr, "switchboard: unknown user command '%s'\n", verb);
        return user_usage();
    }
    if ((needs_name && argc != 3) || (!needs_name && argc != 2)) {
        return user_usage();
    }
    if (needs_name && !account_name_valid(name, strlen(name))) {
        fprintf(stderr,
                "switchboard: invalid user name '%s': use 1 to 32 letters, digits or "
                "_.-[]\\`^{}|\n",
                name);
        return EXIT_CONFIG;
    }
    if (data_dir_prepare(cfg) < 0) {
        return EXIT_CONFIG;
    }
    db = db_open(cfg_str(cfg, "server", "data_dir"), err, sizeof(err));
    if (db == NULL) {
        fprintf(stderr, "switchboard: %s\n", err);
        return EXIT_RUNTIME;
    }
    password_set_cost(
        (enum password_cost)password_cost_parse(cfg_str(cfg, "server", "password_cost")));

    if (strcmp(verb, "list") == 0) {
        rc = accounts_list(db, print_account, NULL) < 0 ? EXIT_RUNTIME : 0;
    } else if (strcmp(verb, "del") == 0) {
        r = accounts_delete(db, name);
        if (r == 1) {
            fprintf(stderr, "switchboard: no such user: %s\n", name);
        } else if (r == 0) {
            fprintf(stderr, "switchboard: user %s deleted\n", name);
            rc = 0;
        }
    } else {
        bool add = strcmp(verb, "add") == 0;
        r = accounts_get(db, name, hash, NULL);
        if (r < 0) {
            goto out;
        }
        if (add && r == 1) {
            fprintf(stderr, "switchboard: user %s already exists\n", name);
            goto out;
        }
        if (!add && r == 0) {
            fprintf(stderr, "switchboard: no such user: %s\n", name);
            goto out;
        }
        if (get_password(name, pw) < 0) {
            goto out;
        }
        if (password_hash(pw, strlen(pw), hash) < 0) {
            fprintf(stderr, "switchboard: cannot hash the password: out of memory\n");
            goto out;
        }
        r = add ? accounts_create(db, name, hash) : accounts_set_hash(db, name, hash);
        if (r == 0) {
            fprintf(stderr, "switchboard: %s %s\n",
                    add ? "created user" : "changed the password of", name);
            rc = 0;
        } else if (r == 1) {
            fprintf(stderr, "switchboard: user %s %s\n", name,
                    add ? "already exists" : "no longer exists");
        }
    }
out:
    sodium_memzero(pw, sizeof(pw));
    db_close(db);
    return rc;
}
