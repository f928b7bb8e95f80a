/* SPDX-License-Identifier: MIT */
/* Table lookup is linear: tables are a few dozen entries and stay in cache. */
#include "core/cmd.h"

#include <string.h>
#include <strings.h>

enum cmd_check
cmd_lookup(const void *table, size_t count, size_t stride, const char *name, size_t namelen,
           bool nocase, unsigned nargs, unsigned state, const void **found)
{
    const char *p = table;

    *found = NULL;
    for (size_t i = 0; i < count; i++, p += stride) {
        const struct cmd_def *d = (const struct cmd_def *)p;
        if (strlen(d->name) != namelen) {
            continue;
        }
        if (nocase ? strncasecmp(d->name, name, namelen) != 0
                   : memcmp(d->name, name, namelen) != 0) {
            continue;
        }
        *found = d;
        if (!(d->states & state)) {
            return CMD_STATE;
        }
        if (nargs < d->min_args || nargs > d->max_args) {
            return CMD_ARITY;
        }
        return CMD_OK;
    }
    return CMD_UNKNOWN;
}
