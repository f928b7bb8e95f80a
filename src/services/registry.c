/* SPDX-License-Identifier: MIT */
/*
 * The service table, generated from service_names in meson.build through service-list.h.
 * Nothing here knows what any service does.
 */
#include "services/registry.h"

#include <stdlib.h>
#include <string.h>

#include "core/listener.h"
#include "core/log.h"
#include "core/mem.h"
#include "service-list.h"
#include "services/service.h"

#define X(name) extern const struct service_ops name##_service;
SERVICE_LIST(X)
#undef X

#define X(name) &name##_service,
static const struct service_ops *const table[] = {SERVICE_LIST(X)};
#undef X

#define NSERVICES (sizeof(table) / sizeof(table[0]))

static struct service running[NSERVICES];
static bool active[NSERVICES];
static struct cfg_section_schema schema[NSERVICES + 1];

const struct cfg_section_schema *
registry_schema(const struct cfg_key *server_keys, size_t *n)
{
    schema[0] = (struct cfg_section_schema){"server", server_keys, NULL};
    for (size_t i = 0; i < NSERVICES; i++) {
        schema[i + 1] = (struct cfg_section_schema){table[i]->name, table[i]->keys, endpoint_keys};
    }
    *n = NSERVICES + 1;
    return schema;
}

const char *
registry_defaults(void)
{
    static char text[1024];
    size_t pos = (size_t)snprintf(text, sizeof(text), "[server]\n");

    /* Every service with its own defaults; the schema supplies the values. */
    for (size_t i = 0; i < NSERVICES && pos < sizeof(text); i++) {
        pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "[%s]\n", table[i]->name);
    }
    return text;
}

/* A service's preface (the in-line policy) is answered on the listeners of all the others. */
static void
share_prefaces(void)
{
    for (size_t i = 0; i < NSERVICES; i++) {
        const struct preface *pf;
        if (!active[i] || running[i].ops->preface == NULL ||
            (pf = running[i].ops->preface(&running[i])) == NULL) {
            continue;
        }
        for (size_t j = 0; j < NSERVICES; j++) {
            if (j != i && active[j]) {
                running[j].ep.preface = pf;
            }
        }
    }
}

int
registry_start(const struct service_env *env, char *err, size_t errcap)
{
    for (size_t i = 0; i < NSERVICES; i++) {
        const struct service_ops *ops = table[i];
        struct service *svc = &running[i];

        if (!cfg_has_section(env->cfg, ops->name) || !cfg_bool(env->cfg, ops->name, "enabled")) {
            continue;
        }
        memset(svc, 0, sizeof(*svc));
        svc->ops = ops;
        svc->ep.name = ops->name;
        svc->ep.ops = &ops->sess;
        svc->ep.owner = svc;
        endpoint_configure(&svc->ep, env->cfg, ops->name);
        int rc = ops->init(svc, env, err, errcap);
        if (rc != 0) {
            endpoint_fini(&svc->ep);
            if (rc > 0) {
                continue; /* off, and it said why */
            }
            registry_stop_listening();
            registry_stop();
            return -1;
        }
        active[i] = true;
        svc->listeners = listener_set_open(&svc->ep, env->cfg, ops->name, err, errcap);
        if (svc->listeners == NULL || (ops->listening && ops->listening(svc, err, errcap) < 0)) {
            registry_stop_listening();
            registry_stop();
            return -1;
        }
    }
    share_prefaces();
    for (size_t i = 0; i < NSERVICES; i++) {
        if (active[i] && running[i].ops->start) {
            running[i].ops->start(&running[i]);
        }
    }
    return 0;
}

void
registry_describe(FILE *f)
{
    for (size_t i = 0; i < NSERVICES; i++) {
        if (active[i] && running[i].listeners) {
            listener_set_describe(running[i].listeners, table[i]->name, f);
        }
    }
}

void
registry_banner(void)
{
    bool any = false;

    for (size_t i = 0; i < NSERVICES; i++) {
        char where[1024];
        if (!active[i] || running[i].listeners == NULL) {
            continue;
        }
        listener_set_summary(running[i].listeners, where, sizeof(where));
        log_info("%-10s listening on %s", table[i]->name, where);
        any = true;
    }
    if (!any) {
        log_warn("no service is enabled: nothing to do until one is configured");
    }
}

size_t
registry_reload(void)
{
    size_t n = 0;

    for (size_t i = 0; i < NSERVICES; i++) {
        if (active[i] && running[i].ops->reload) {
            running[i].ops->reload(&running[i]);
            n++;
        }
    }
    return n;
}

void
registry_stop_listening(void)
{
    for (size_t i = 0; i < NSERVICES; i++) {
        listener_set_close(running[i].listeners);
        running[i].listeners = NULL;
    }
}

void
registry_stop(void)
{
    for (size_t i = 0; i < NSERVICES; i++) {
        if (!active[i]) {
            continue;
        }
        running[i].ops->fini(&running[i]);
        endpoint_fini(&running[i].ep);
        active[i] = false;
    }
}
