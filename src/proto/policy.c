/* SPDX-License-Identifier: MIT */
/*
 * Socket policy documents: port range lists, the generated document, and validation of a file
 * with Expat. Expat only checks well-formedness and reports elements; the cross-domain-policy
 * vocabulary (which elements, which attributes, which values) is checked here.
 */
#include "proto/policy.h"

#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const policy_site_controls[] = {"none", "master-only", "all", NULL};

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A port number at @s[*i]: 1 to 65535, decimal, no sign, no leading zero beyond "0" itself. */
static bool
port_at(const char *s, size_t n, size_t *i, long *out, const char **why)
{
    long v = 0;
    size_t start = *i;

    while (*i < n && is_digit(s[*i])) {
        v = v * 10 + (s[*i] - '0');
        if (v > 65535) {
            *why = "port out of range (1-65535)";
            return false;
        }
        (*i)++;
    }
    if (*i == start) {
        *why = "expected a port number";
        return false;
    }
    if (v == 0) {
        *why = "port out of range (1-65535)";
        return false;
    }
    *out = v;
    return true;
}

bool
policy_ports_valid(const char *s, size_t n, const char **why)
{
    size_t i = 0;

    if (n == 1 && s[0] == '*') {
        return true;
    }
    if (n == 0) {
        *why = "empty port list";
        return false;
    }
    for (;;) {
        long lo, hi;
        if (!port_at(s, n, &i, &lo, why)) {
            return false;
        }
        if (i < n && s[i] == '-') {
            i++;
            if (!port_at(s, n, &i, &hi, why)) {
                return false;
            }
            if (hi < lo) {
                *why = "port range ends before it starts";
                return false;
            }
        }
        if (i == n) {
            return true;
        }
        if (s[i] != ',') {
            *why = "expected ',' or '-' between ports (like 123,456-458)";
            return false;
        }
        i++;
    }
}

static bool
host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
           c == '.' || c == '_';
}

bool
policy_domain_valid(const char *s, size_t n)
{
    if (n == 1 && s[0] == '*') {
        return true;
    }
    if (n >= 2 && s[0] == '*' && s[1] == '.') {
        s += 2;
        n -= 2;
    }
    if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!host_char(s[i]) || (s[i] == '.' && i + 1 < n && s[i + 1] == '.')) {
            return false;
        }
    }
    return true;
}

size_t
policy_generate(const char *const *domains, size_t ndomains, const char *ports,
                const char *site_control, char *out, size_t cap)
{
    size_t pos = 0;
    int n;

#define EMIT(...)                                                                                  \
    do {                                                                                           \
        n = snprintf(out + pos, cap - pos, __VA_ARGS__);                                           \
        if (n < 0 || (size_t)n >= cap - pos) {                                                     \
            return 0;                                                                              \
        }                                                                                          \
        pos += (size_t)n;                                                                          \
    } while (0)

    if (cap == 0) {
        return 0;
    }
    EMIT("<?xml version=\"1.0\"?>\n"
         "<!DOCTYPE cross-domain-policy SYSTEM \"/xml/dtds/cross-domain-policy.dtd\">\n"
         "<cross-domain-policy>\n");
    if (site_control) {
        EMIT("<site-control permitted-cross-domain-policies=\"%s\"/>\n", site_control);
    }
    for (size_t i = 0; i < ndomains; i++) {
        EMIT("<allow-access-from domain=\"%s\" to-ports=\"%s\"/>\n", domains[i], ports);
    }
    EMIT("</cross-domain-policy>\n");
#undef EMIT
    return pos;
}

/* ----------------------------------------------------------------------------------------- */
/* Validation */

struct check {
    XML_Parser parser;
    int depth;
    bool root_seen;
    bool failed;
    char *why;
    size_t cap;
};

static void fail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct check *c, const char *fmt, ...)
{
    va_list ap;

    if (c->failed) {
        return;
    }
    c->failed = true;
    int n =
        snprintf(c->why, c->cap, "line %lu: ", (unsigned long)XML_GetCurrentLineNumber(c->parser));
    if (n >= 0 && (size_t)n < c->cap) {
        va_start(ap, fmt);
        vsnprintf(c->why + n, c->cap - (size_t)n, fmt, ap);
        va_end(ap);
    }
    XML_StopParser(c->parser, XML_FALSE);
}

static bool
one_of(const char *v, const char *const *choices)
{
    for (size_t i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Check the attributes of @el against @known (NULL-terminated); returns the value of each known
 * attribute in @vals (NULL when absent). */
static bool
attributes(struct check *c, const char *el, const char **atts, const char *const *known,
           const char **vals)
{
    for (size_t k = 0; known[k]; k++) {
        vals[k] = NULL;
    }
    for (size_t i = 0; atts[i]; i += 2) {
        size_t k;
        for (k = 0; known[k] && strcmp(atts[i], known[k]) != 0; k++) {
        }
        if (known[k] == NULL) {
            fail(c, "%s: unknown attribute %s", el, atts[i]);
            return false;
        }
        vals[k] = atts[i + 1];
    }
    return true;
}

static void
start_cb(void *arg, const char *el, const char **atts)
{
    struct check *c = arg;
    const char *vals[3];

    c->depth++;
    if (c->depth == 1) {
        c->root_seen = true;
        if (strcmp(el, "cross-domain-policy") != 0) {
            fail(c, "the root element is %s, not cross-domain-policy", el);
        } else if (atts[0]) {
            fail(c, "cross-domain-policy: unknown attribute %s", atts[0]);
        }
        return;
    }
    if (c->depth > 2) {
        fail(c, "%s: unexpected element inside a policy entry", el);
        return;
    }
    if (strcmp(el, "site-control") == 0) {
        static const char *const known[] = {"permitted-cross-domain-policies", NULL};
        static const char *const any[] = {
            "none", "master-only", "by-content-type", "by-ftp-filename", "all", NULL};
        if (!attributes(c, el, atts, known, vals)) {
            return;
        }
        if (vals[0] == NULL || !one_of(vals[0], any)) {
            fail(c, "site-control: permitted-cross-domain-policies must be none, master-only, "
                    "by-content-type, by-ftp-filename or all");
        }
    } else if (strcmp(el, "allow-access-from") == 0) {
        static const char *const known[] = {"domain", "to-ports", "secure", NULL};
        const char *why = "";
        if (!attributes(c, el, atts, known, vals)) {
            return;
        }
        if (vals[0] == NULL || !policy_domain_valid(vals[0], strlen(vals[0]))) {
            fail(c, "allow-access-from: %s domain", vals[0] ? "invalid" : "missing");
        } else if (vals[1] == NULL) {
            fail(c, "allow-access-from: missing to-ports (a socket policy needs it)");
        } else if (!policy_ports_valid(vals[1], strlen(vals[1]), &why)) {
            fail(c, "allow-access-from: to-ports \"%s\": %s", vals[1], why);
        } else if (vals[2] && strcmp(vals[2], "true") != 0 && strcmp(vals[2], "false") != 0) {
            fail(c, "allow-access-from: secure must be true or false");
        }
    } else if (strcmp(el, "allow-http-request-headers-from") == 0) {
        static const char *const known[] = {"domain", "headers", "secure", NULL};
        if (attributes(c, el, atts, known, vals) && (vals[0] == NULL || vals[1] == NULL)) {
            fail(c, "allow-http-request-headers-from: domain and headers are required");
        }
    } else {
        fail(c, "unknown element %s", el);
    }
}

static void
end_cb(void *arg, const char *el)
{
    struct check *c = arg;
    c->depth--;
}

static void
text_cb(void *arg, const char *s, int len)
{
    struct check *c = arg;

    for (int i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') {
            fail(c, "text is not allowed in a policy (%s)",
                 c->depth == 0 ? "outside the root" : "inside an element");
            return;
        }
    }
}

/* An internal DTD subset could define entities that expand enormously ("billion laughs"); a
 * policy has no use for entities, so any declaration is refused. */
static void
entity_cb(void *arg, const char *name, int is_param, const char *value, int value_len,
          const char *base, const char *system_id, const char *public_id, const char *notation)
{
    fail(arg, "entity declarations are not allowed (%s)", name);
}

bool
policy_check(const char *doc, size_t n, char *why, size_t cap)
{
    struct check c = {.why = why, .cap = cap};
    bool ok;

    if (n == 0) {
        snprintf(why, cap, "the policy is empty");
        return false;
    }
    if (n > POLICY_MAX) {
        snprintf(why, cap, "the policy is larger than %d bytes", POLICY_MAX);
        return false;
    }
    if (memchr(doc, '\0', n) != NULL) {
        snprintf(why, cap, "the policy contains a NUL byte (NUL ends the answer on the wire)");
        return false;
    }
    c.parser = XML_ParserCreate(NULL);
    if (c.parser == NULL) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    XML_SetUserData(c.parser, &c);
    XML_SetElementHandler(c.parser, start_cb, end_cb);
    XML_SetCharacterDataHandler(c.parser, text_cb);
    XML_SetEntityDeclHandler(c.parser, entity_cb);
    if (XML_Parse(c.parser, doc, (int)n, XML_TRUE) == XML_STATUS_ERROR && !c.failed) {
        snprintf(why, cap, "line %lu: not well-formed XML: %s",
                 (unsigned long)XML_GetCurrentLineNumber(c.parser),
                 XML_ErrorString(XML_GetErrorCode(c.parser)));
        c.failed = true;
    }
    if (!c.failed && !c.root_seen) {
        snprintf(why, cap, "no cross-domain-policy element");
        c.failed = true;
    }
    ok = !c.failed;
    XML_ParserFree(c.parser);
    return ok;
}
