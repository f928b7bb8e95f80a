/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for configuration loading. The input is INI text, optionally followed by a
 * NUL byte and newline-separated -o overrides; it is loaded, overridden and validated against a
 * schema that uses every cfg_type, and after a successful validation every getter must return a
 * value that its own schema entry accepts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "fuzz/fuzz.h"

static const char *const colours[] = {"red", "green", "blue", NULL};

static const struct cfg_key main_keys[] = {
    {"name", CFG_STR, "fuzz", 0, 0, NULL},
    {"dir", CFG_PATH, "/tmp", 0, 0, NULL},
    {"count", CFG_INT, "3", -10, 1000, NULL},
    {"flag", CFG_BOOL, "no", 0, 0, NULL},
    {"colour", CFG_ENUM, "red", 0, 0, colours},
    {"timeout", CFG_SECONDS, "1.5s", 0, 86400, NULL},
    {"listen", CFG_LISTEN, "127.0.0.1:0", 0, 0, NULL},
    {"allow", CFG_CIDRS, "", 0, 0, NULL},
    {"mode", CFG_MODE, "0640", 0, 0, NULL},
    {"level", CFG_LEVEL, "info", 0, 0, NULL},
    {NULL, CFG_STR, NULL, 0, 0, NULL},
};

static const struct cfg_key common_keys[] = {
    {"enabled", CFG_BOOL, "no", 0, 0, NULL},
    {"listen", CFG_LISTEN, "[::1]:0", 0, 0, NULL},
    {NULL, CFG_STR, NULL, 0, 0, NULL},
};

static const struct cfg_key svc_keys[] = {
    {"limit", CFG_INT, "10", 0, 100, NULL},
    {NULL, CFG_STR, NULL, 0, 0, NULL},
};

static const struct cfg_section_schema schema[] = {
    {"main", main_keys, NULL},
    {"svc", svc_keys, common_keys},
    {"bare", NULL, common_keys},
};

#define NSCHEMA (sizeof(schema) / sizeof(schema[0]))

/* Every value the getters hand out after validation must pass its own key's check. */
static void
check_getters(const struct cfg *cfg, const struct cfg_section_schema *s)
{
    const struct cfg_key *tables[2] = {s->keys, s->common};
    char where[512];

    for (size_t t = 0; t < 2; t++) {
        for (const struct cfg_key *k = tables[t]; k != NULL && k->name != NULL; k++) {
            const char *v = cfg_str(cfg, s->name, k->name);
            const char *why = NULL;

            CHECK(v != NULL);
            cfg_where(cfg, s->name, k->name, where, sizeof(where));
            CHECK(memchr(where, '\0', sizeof(where)) != NULL);
            /* A common key shadowed by the section's own key is checked as the section's. */
            if (t == 1 && s->keys != NULL) {
                bool shadowed = false;
                for (const struct cfg_key *o = s->keys; o->name != NULL; o++) {
                    shadowed |= strcmp(o->name, k->name) == 0;
                }
                if (shadowed) {
                    continue;
                }
            }
            CHECK(cfg_check_value(k, v, &why));
            switch (k->type) {
            case CFG_INT: {
                long l = cfg_int(cfg, s->name, k->name);
                CHECK(l >= k->min && l <= k->max);
                break;
            }
            case CFG_SECONDS: {
                double d = cfg_seconds(cfg, s->name, k->name);
                CHECK(d >= (double)k->min && d <= (double)k->max);
                break;
            }
            case CFG_MODE:
                CHECK(cfg_mode(cfg, s->name, k->name) <= 07777);
                break;
            case CFG_BOOL:
                (void)cfg_bool(cfg, s->name, k->name);
                break;
            default:
                break;
            }
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char err[CFG_ERR_MAX];
    struct cfg *cfg;
    size_t tlen;
    int rc;

    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    tlen = strlen(text);

    cfg = cfg_new();
    err[0] = '\0';
    rc = cfg_load_string(cfg, text, "<fuzz>", err, sizeof(err));
    CHECK(rc == 0 || rc == -1);
    if (rc == -1) {
        CHECK(err[0] != '\0');
    }

    /* After the first NUL: one override per line. */
    for (char *o = tlen < size ? text + tlen + 1 : NULL; rc == 0 && o != NULL;) {
        char *nl = strchr(o, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        for (size_t s = 0; s < NSCHEMA; s++) {
            for (const struct cfg_key *k = schema[s].keys; k != NULL && k->name != NULL; k++) {
                const char *why = NULL;
                if (!cfg_check_value(k, o, &why)) {
                    CHECK(why != NULL);
                }
            }
        }
        err[0] = '\0';
        if (cfg_override(cfg, o, err, sizeof(err)) < 0) {
            CHECK(err[0] != '\0');
        }
        o = nl != NULL ? nl + 1 : NULL;
    }

    if (rc == 0) {
        err[0] = '\0';
        if (cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)) == 0) {
            for (size_t s = 0; s < NSCHEMA; s++) {
                check_getters(cfg, &schema[s]);
                (void)cfg_has_section(cfg, schema[s].name);
            }
        } else {
            CHECK(err[0] != '\0');
        }
    }
    cfg_free(cfg);
    free(text);
    return 0;
}
