/* SPDX-License-Identifier: MIT */
/*
 * The table of every service compiled in, and what the daemon does with all of them at once:
 * the configuration schema, the embedded defaults, start-up, the banner and shutdown.
 */
#ifndef SB_SERVICES_REGISTRY_H
#define SB_SERVICES_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "core/config.h"

struct service_env;

/**
 * registry_schema() - the configuration schema: [server] with @server_keys, then one section
 * per service. The array is static; @n receives its length.
 */
const struct cfg_section_schema *registry_schema(const struct cfg_key *server_keys, size_t *n);

/** registry_defaults() - the embedded default configuration (every service, loopback). */
const char *registry_defaults(void);

/**
 * registry_start() - initialise and open listeners for every enabled service.
 * Return: 0, or -1 with a message in @err (everything started so far is stopped again).
 */
int registry_start(const struct service_env *env, char *err, size_t errcap);

/** registry_describe() - "service kind address" lines of every listener, to @f. */
void registry_describe(FILE *f);

/** registry_banner() - log one line per running service saying where it listens. */
void registry_banner(void);

/** registry_reload() - ask every running service that can to reload (SIGHUP); returns how
 * many were asked. */
size_t registry_reload(void);

/** registry_stop_listening() - close every listener (first step of shutdown). */
void registry_stop_listening(void);

/** registry_stop() - fini every running service (after sessions are closed). */
void registry_stop(void);

#endif
