/* SPDX-License-Identifier: MIT */
/*
 * The one interface a service implements. A service exports `const struct service_ops
 * NAME_service`, is listed in service_names (src/services/meson.build), and never touches file
 * descriptors or buffers: the core accepts, frames, and calls the session callbacks in @sess.
 */
#ifndef SB_SERVICES_SERVICE_H
#define SB_SERVICES_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/conn.h"

struct db;
struct listener_set;
struct service;

/* What the daemon gives every service at start-up. */
struct service_env {
    const struct cfg *cfg;
    struct db *db; /* the shared database */
    bool embedded; /* running on the embedded defaults (no configuration file) */
    /* Read the configuration again the way the daemon was started (file, then -o overrides),
     * validated; NULL with a message in @err. The caller frees the result (cfg_free). */
    struct cfg *(*config_reread)(char *err, size_t errcap);
    const char *config_file; /* the -c file, or "<defaults>" */
};

struct service_ops {
    const char *name; /* also the configuration section */
    /* Keys of the section beyond endpoint_keys (a key listed here overrides the shared one,
     * which is how each service sets its default listen address). NULL-name terminated. */
    const struct cfg_key *keys;
    struct sess_ops sess;
    /**
     * init() - read the configuration, set svc->ep.frame_limit, allocate svc->priv.
     * Return: 0; 1 if the service stays off without that being an error (it logged why; only
     * for a missing optional resource on the embedded defaults); or -1 with a one-line message
     * in @err (exit status 2 if it is a configuration problem, which it usually is).
     */
    int (*init)(struct service *svc, const struct service_env *env, char *err, size_t errcap);
    /**
     * listening() - optional: called right after the service's listeners are open (svc->listeners
     * is set), to add more (listener_set_add_udp()). Return: 0, or -1 with a message in @err.
     */
    int (*listening)(struct service *svc, char *err, size_t errcap);
    /**
     * preface() - optional: the first bytes this service answers on the TCP listeners of every
     * other service (the in-line socket policy), or NULL for none. Called once after every
     * service has started listening; the result must live until fini().
     */
    const struct preface *(*preface)(struct service *svc);
    /** start() - optional: called once listeners are open, to start timers. */
    void (*start)(struct service *svc);
    /**
     * reload() - optional: SIGHUP. Re-read what the service loaded at start-up, without dropping
     * a session; on failure keep the old state and log why. May finish asynchronously.
     */
    void (*reload)(struct service *svc);
    /** fini() - stop timers and probes, free svc->priv. Sessions are already closed. */
    void (*fini)(struct service *svc);
};

struct service {
    const struct service_ops *ops;
    void *priv;
    struct endpoint ep;
    struct listener_set *listeners;
};

#endif
