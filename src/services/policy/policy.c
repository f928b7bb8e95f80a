/* SPDX-License-Identifier: MIT */
/*
 * The socket policy server: answers "<policy-file-request/>" + NUL with the cross-domain policy +
 * NUL and closes, and offers the same answer to every other service's TCP listeners (the in-line
 * policy, since Flash also asked the destination port). The document is loaded or generated and
 * validated once, at start-up; a request is checked byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "proto/policy.h"
#include "services/service.h"

static const char *const site_controls[] = {"none", "master-only", "all", NULL};

static const struct cfg_key policy_keys[] = {
    {"listen", CFG_LISTEN, "127.0.0.1:8843", 0, 0, NULL},
    {"idle_timeout", CFG_SECONDS, "5", 0, 3600, NULL},
    {"file", CFG_PATH, "", 0, 0, NULL},
    {"domains", CFG_STR, "*", 0, 0, NULL},
    {"to_ports", CFG_STR, "*", 0, 0, NULL},
    {"site_control", CFG_ENUM, "master-only", 0, 0, site_controls},
    {"inline", CFG_BOOL, "yes", 0, 0, NULL},
    {NULL, 0, NULL, 0, 0, NULL},
};

struct policy {
    char *answer; /* the document followed by one NUL byte */
    size_t answer_len;
    bool inline_policy;
    struct preface preface;
};

/* The request is compared as it arrives, so a client is refused at its first wrong byte. How
 * many bytes matched so far is kept in the session's priv pointer itself. */
static enum sess_verdict
policy_on_frame(struct session *s, const char *p, size_t n)
{
    static const char request[] = POLICY_REQUEST; /* and its terminating NUL */
    const struct policy *pol = ((const struct service *)s->ep->owner)->priv;
    size_t matched = (size_t)(uintptr_t)s->priv;
    size_t want = sizeof(request) - matched;
    size_t cmp = n < want ? n : want;

    if (memcmp(p, request + matched, cmp) != 0 || n > want) {
        log_info("policy: session %llu from %s: not a policy request, closed",
                 (unsigned long long)s->id, s->peer_str);
        return SESS_CLOSE;
    }
    matched += cmp;
    s->priv = (void *)(uintptr_t)matched;
    if (matched < sizeof(request)) {
        return SESS_OK;
    }
    if (sess_send(s, pol->answer, pol->answer_len) == 0) {
        log_debug("policy: session %llu from %s: policy sent", (unsigned long long)s->id,
                  s->peer_str);
    }
    return SESS_CLOSE;
}

/* Read the whole of @path (at most POLICY_MAX bytes) into a new buffer with room for the NUL. */
static char *
read_policy(const char *path, size_t *len, char *why, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf;
    size_t n = 0;

    if (fd < 0) {
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = xmalloc(POLICY_MAX + 2);
    for (;;) {
        ssize_t r = read(fd, buf + n, POLICY_MAX + 1 - n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0) {
            break;
        }
        n += (size_t)r;
        if (n > POLICY_MAX) {
            snprintf(why, cap, "%s is larger than %d bytes", path, POLICY_MAX);
            goto fail;
        }
    }
    close(fd);
    *len = n;
    return buf;

fail:
    close(fd);
    free(buf);
    return NULL;
}

/* The document from domains, to_ports and site_control, into a new buffer with room for the
 * NUL. */
static char *
generate(const struct cfg *cfg, size_t *len, char *err, size_t errcap)
{
    char list[4096], where[400];
    const char *domains[POLICY_DOMAINS_MAX];
    size_t ndomains = 0;
    const char *ports = cfg_str(cfg, "policy", "to_ports");
    const char *site = cfg_str(cfg, "policy", "site_control");
    const char *why = "";
    char *save = NULL, *buf;

    if (!policy_ports_valid(ports, strlen(ports), &why)) {
        cfg_where(cfg, "policy", "to_ports", where, sizeof(where));
        snprintf(err, errcap, "%s: \"%s\": %s (use * or a list like 123,456-458)", where, ports,
                 why);
        return NULL;
    }
    cfg_where(cfg, "policy", "domains", where, sizeof(where));
    if (snprintf(list, sizeof(list), "%s", cfg_str(cfg, "policy", "domains")) >=
        (int)sizeof(list)) {
        snprintf(err, errcap, "%s: too long", where);
        return NULL;
    }
    for (char *d = strtok_r(list, ", \t", &save); d; d = strtok_r(NULL, ", \t", &save)) {
        if (!policy_domain_valid(d, strlen(d))) {
            snprintf(err, errcap,
                     "%s: \"%s\" is not a domain (use *, a host name, *.example.com "
                     "or an IPv4 address)",
                     where, d);
            return NULL;
        }
        if (ndomains == POLICY_DOMAINS_MAX) {
            snprintf(err, errcap, "%s: more than %d domains", where, POLICY_DOMAINS_MAX);
            return NULL;
        }
        domains[ndomains++] = d;
    }
    if (ndomains == 0) {
        snprintf(err, errcap, "%s: no domain (use * to allow every domain)", where);
        return NULL;
    }
    buf = xmalloc(POLICY_MAX + 2);
    *len = policy_generate(domains, ndomains, ports, strcmp(site, "none") == 0 ? NULL : site, buf,
                           POLICY_MAX + 1);
    if (*len == 0) {
        snprintf(err, errcap, "%s: the policy would be larger than %d bytes", where, POLICY_MAX);
        free(buf);
        return NULL;
    }
    return buf;
}

static int
policy_init(struct service *svc, const struct service_env *env, char *err, size_t errcap)
{
    const struct cfg *cfg = env->cfg;
    const char *file = cfg_str(cfg, "policy", "file");
    char why[256], where[400];
    struct policy *pol;
    size_t len = 0;
    char *doc;

    if (file[0]) {
        cfg_where(cfg, "policy", "file", where, sizeof(where));
        doc = read_policy(file, &len, why, sizeof(why));
        if (doc == NULL) {
            snprintf(err, errcap, "%s: %s", where, why);
            return -1;
        }
        if (!policy_check(doc, len, why, sizeof(why))) {
            snprintf(err, errcap, "%s: %s: %s", where, file, why);
            free(doc);
            return -1;
        }
    } else {
        doc = generate(cfg, &len, err, errcap);
        if (doc == NULL) {
            return -1;
        }
        if (!policy_check(doc, len, why, sizeof(why))) { /* a bug here, not in the config */
            snprintf(err, errcap, "[policy]: the generated policy is invalid: %s", why);
            free(doc);
            return -1;
        }
    }
    if (len + 1 > svc->ep.max_output) {
        cfg_where(cfg, "policy", "max_output", where, sizeof(where));
        snprintf(err, errcap, "%s: the policy and its NUL (%zu bytes) do not fit in %zu bytes",
                 where, len + 1, svc->ep.max_output);
        free(doc);
        return -1;
    }
    doc[len] = '\0';
    pol = xcalloc(1, sizeof(*pol));
    pol->answer = doc;
    pol->answer_len = len + 1;
    pol->inline_policy = cfg_bool(cfg, "policy", "inline");
    pol->preface = (struct preface){
        .request = POLICY_REQUEST "", /* the NUL terminator is part of the request */
        .request_len = POLICY_REQUEST_LEN + 1,
        .reply = pol->answer,
        .reply_len = pol->answer_len,
        .name = "policy request",
    };
    svc->ep.frame_limit = POLICY_REQUEST_LEN + 1;
    svc->priv = pol;
    return 0;
}

static const struct preface *
policy_preface(struct service *svc)
{
    const struct policy *pol = svc->priv;
    return pol->inline_policy ? &pol->preface : NULL;
}

static void
policy_fini(struct service *svc)
{
    struct policy *pol = svc->priv;

    if (pol) {
        free(pol->answer);
        free(pol);
    }
    svc->priv = NULL;
}

const struct service_ops policy_service = {
    .name = "policy",
    .keys = policy_keys,
    .sess =
        {
            .framing = FRAME_RAW,
            .on_frame = policy_on_frame,
        },
    .init = policy_init,
    .preface = policy_preface,
    .fini = policy_fini,
};
