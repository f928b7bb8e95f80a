/* SPDX-License-Identifier: MIT */
/* The directory's bindings (user -> address, port), persisted so they survive a restart. */
#ifndef SB_STORE_BINDINGS_H
#define SB_STORE_BINDINGS_H

#include "store/db.h"

/** bindings_put() - insert or replace the binding of @name. 0 or -1 (logged). */
int bindings_put(struct db *db, const char *name, const char *addr, unsigned port);
/** bindings_del() - remove the binding of @name if any. 0 or -1 (logged). */
int bindings_del(struct db *db, const char *name);
/** bindings_load() - call @fn for every stored binding. Return: count or -1. */
int bindings_load(struct db *db,
                  void (*fn)(void *arg, const char *name, const char *addr, unsigned port),
                  void *arg);

#endif
