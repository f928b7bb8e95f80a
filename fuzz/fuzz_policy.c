/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the socket policy codec: policy_check() on arbitrary documents (through
 * Expat), and the port list and domain rules on arbitrary strings. Beyond "does not crash": a
 * document made by policy_generate() from values the rules accept always passes policy_check(),
 * and every message fits its buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "proto/policy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[128];
    char *doc = malloc(size ? size : 1);
    const char *reason = NULL;

    CHECK(doc != NULL);
    memcpy(doc, data, size);
    memset(why, 'Z', sizeof(why));
    if (!policy_check(doc, size, why, sizeof(why))) {
        CHECK(memchr(why, '\0', sizeof(why)) != NULL);
    }

    /* First line: a to-ports value; second line: a domain. */
    const char *nl = memchr(doc, '\n', size);
    size_t pn = nl ? (size_t)(nl - doc) : size;
    bool ports_ok = policy_ports_valid(doc, pn, &reason);
    CHECK(ports_ok || reason != NULL);
    const char *dom = nl ? nl + 1 : doc + size;
    size_t dn = size - (size_t)(dom - doc);
    const char *nl2 = memchr(dom, '\n', dn);
    if (nl2) {
        dn = (size_t)(nl2 - dom);
    }
    bool dom_ok = policy_domain_valid(dom, dn);

    if (ports_ok && dom_ok && pn < 1024 && dn < 256) {
        char ports[1024], domain[256], out[4096];
        memcpy(ports, doc, pn);
        ports[pn] = '\0';
        memcpy(domain, dom, dn);
        domain[dn] = '\0';
        const char *domains[] = {domain};
        size_t n = policy_generate(domains, 1, ports, "master-only", out, sizeof(out));
        CHECK(n > 0 && n < sizeof(out));
        CHECK(policy_check(out, n, why, sizeof(why)));
    }
    free(doc);
    return 0;
}
