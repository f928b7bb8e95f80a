/* SPDX-License-Identifier: MIT */
/*
 * Command tables for text protocols (after ngIRCd): each service declares one static table whose
 * entries start with a struct cmd_def, and the checks every command shares (known name, argument
 * count, session state) happen here once, so handlers can trust their input.
 */
#ifndef SB_CORE_CMD_H
#define SB_CORE_CMD_H

#include <stdbool.h>
#include <stddef.h>

struct cmd_def {
    const char *name;
    unsigned min_args, max_args;
    unsigned states; /* bit mask of the session states in which the command is accepted */
};

enum cmd_check {
    CMD_OK,
    CMD_UNKNOWN, /* no such command */
    CMD_ARITY,   /* wrong number of arguments */
    CMD_STATE,   /* not accepted in the current state */
};

/**
 * cmd_lookup() - find @name in a table of @count entries of @stride bytes, each beginning with a
 * struct cmd_def, and check @nargs and @state (a single state bit).
 * @found: the entry on CMD_OK, CMD_ARITY and CMD_STATE; NULL on CMD_UNKNOWN.
 * @nocase: compare names ignoring ASCII case (IRC) or exactly (eurechat).
 */
enum cmd_check cmd_lookup(const void *table, size_t count, size_t stride, const char *name,
                          size_t namelen, bool nocase, unsigned nargs, unsigned state,
                          const void **found);

#endif
