/* SPDX-License-Identifier: MIT */
/* What main.c shares with the administration commands (admin.c). */
#ifndef SB_MAIN_H
#define SB_MAIN_H

#include <stddef.h>

struct cfg;

#define EXIT_RUNTIME 1 /* something failed while running */
#define EXIT_CONFIG 2  /* bad command line or configuration: nothing was started */

/**
 * config_load() - the configuration in force: @file (or the embedded defaults when NULL), then
 * the -o @overrides, validated. Prints the error and returns NULL on failure.
 */
struct cfg *config_load(const char *file, char **overrides, size_t noverrides);

/** data_dir_prepare() - create [server] data_dir if needed and check that it is writable.
 * Prints the error (naming the configuration line) and returns -1 on failure. */
int data_dir_prepare(const struct cfg *cfg);

/** admin_hash_password() - "switchboard hash-password": an Argon2id hash of the password read
 * from the terminal or standard input, for configuration keys such as [irc] opers. */
int admin_hash_password(const struct cfg *cfg, int argc, char **argv);

/** admin_main() - "switchboard user ..." */
int admin_main(const struct cfg *cfg, int argc, char **argv);

#endif
