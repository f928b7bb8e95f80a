/* SPDX-License-Identifier: MIT */
/*
 * INI loading and validation. inih does the lexing; we feed it through our own line reader so
 * that every value keeps its file and line number (inih's handler does not get them), so that
 * sections without keys still count as "present", and so that an over-long line is an error
 * rather than a silent truncation.
 */
#include "core/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/addr.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/strutil.h"

#define CFG_FILE_MAX (1024 * 1024)
#define CFG_LINE_MAX 4096

struct cfg_entry {
    char *section, *key, *value, *origin;
    int line;
};

struct cfg_mark { /* where a section was named */
    char *section, *origin;
    int line;
};

struct cfg {
    struct cfg_entry *v;
    size_t n;
    struct cfg_mark *marks;
    size_t nmarks;
    const struct cfg_section_schema *schema;
    size_t nschema;
};

struct cfg *
cfg_new(void)
{
    return xcalloc(1, sizeof(struct cfg));
}

void
cfg_free(struct cfg *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->v[i].section);
        free(cfg->v[i].key);
        free(cfg->v[i].value);
        free(cfg->v[i].origin);
    }
    for (size_t i = 0; i < cfg->nmarks; i++) {
        free(cfg->marks[i].section);
        free(cfg->marks[i].origin);
    }
    free(cfg->v);
    free(cfg->marks);
    free(cfg);
}

static void
add_entry(struct cfg *cfg, const char *section, const char *key, const char *value,
          const char *origin, int line)
{
    cfg->v = xrealloc(cfg->v, (cfg->n + 1) * sizeof(*cfg->v));
    cfg->v[cfg->n] =
        (struct cfg_entry){xstrdup(section), xstrdup(key), xstrdup(value), xstrdup(origin), line};
    cfg->n++;
}

static void
add_mark(struct cfg *cfg, const char *section, const char *origin, int line)
{
    cfg->marks = xrealloc(cfg->marks, (cfg->nmarks + 1) * sizeof(*cfg->marks));
    cfg->marks[cfg->nmarks] = (struct cfg_mark){xstrdup(section), xstrdup(origin), line};
    cfg->nmarks++;
}

struct reader {
    struct cfg *cfg;
    const char *origin;
    const char *p, *end;
    int line;
    bool too_long;
};

/* inih's stream reader: hands out one line at a time and counts lines. Section headers are also
 * noted here, because inih does not report a section that has no keys. */
static char *
reader_next(char *str, int num, void *stream)
{
    struct reader *r = stream;
    const char *nl;
    size_t len;

    if (r->p >= r->end) {
        return NULL;
    }
    nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    len = nl ? (size_t)(nl - r->p) + 1 : (size_t)(r->end - r->p);
    r->line++;
    if (len >= (size_t)num) {
        r->too_long = true;
        return NULL;
    }
    memcpy(str, r->p, len);
    str[len] = '\0';
    r->p += len;

    char tmp[CFG_LINE_MAX];
    /* inih skips a UTF-8 byte order mark on the first line; so must we. */
    str_copy(tmp, sizeof(tmp),
             r->line == 1 && strncmp(str, "\xEF\xBB\xBF", 3) == 0 ? str + 3 : str);
    char *t = str_trim(tmp);
    if (t[0] == '[') {
        char *close = strchr(t, ']');
        if (close != NULL) {
            *close = '\0';
            add_mark(r->cfg, str_trim(t + 1), r->origin, r->line);
        }
    }
    return str;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
    struct reader *r = user;
    char sec[CFG_LINE_MAX];

    /* "[ name ]" means [name], as recorded by reader_next(). */
    str_copy(sec, sizeof(sec), section);
    add_entry(r->cfg, str_trim(sec), name, value ? value : "", r->origin, r->line);
    return 1;
}

static int
parse_text(struct cfg *cfg, const char *text, size_t len, const char *origin, char *err,
           size_t errcap)
{
    struct reader r = {cfg, origin, text, text + len, 0, false};
    int rc;

    ini_allow_multiline = false;
    ini_stop_on_first_error = true;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_initial_alloc = CFG_LINE_MAX;
    ini_max_line = CFG_LINE_MAX;
    rc = ini_parse_stream(reader_next, &r, handler, &r);
    if (r.too_long) {
        snprintf(err, errcap, "%s:%d: line too long (limit %d bytes)", origin, r.line,
                 CFG_LINE_MAX - 2);
        return -1;
    }
    if (rc > 0) {
        snprintf(err, errcap, "%s:%d: syntax error (expected [section], key = value or comment)",
                 origin, rc);
        return -1;
    }
    if (rc < 0) {
        snprintf(err, errcap, "%s: cannot parse", origin);
        return -1;
    }
    return 0;
}

int
cfg_load_string(struct cfg *cfg, const char *text, const char *origin, char *err, size_t errcap)
{
    return parse_text(cfg, text, strlen(text), origin, err, errcap);
}

int
cfg_load_file(struct cfg *cfg, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    int rc;

    if (f == NULL) {
        snprintf(err, errcap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    buf = xmalloc(CFG_FILE_MAX + 1);
    n = fread(buf, 1, CFG_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errcap, "%s: cannot read: %s", path, strerror(errno));
        rc = -1;
    } else if (n > CFG_FILE_MAX) {
        snprintf(err, errcap, "%s: file too large (limit %d bytes)", path, CFG_FILE_MAX);
        rc = -1;
    } else if (memchr(buf, '\0', n) != NULL) {
        snprintf(err, errcap, "%s: not a text file (NUL byte)", path);
        rc = -1;
    } else {
        rc = parse_text(cfg, buf, n, path, err, errcap);
    }
    free(buf);
    fclose(f);
    return rc;
}

int
cfg_override(struct cfg *cfg, const char *assignment, char *err, size_t errcap)
{
    const char *dot = strchr(assignment, '.');
    const char *eq = strchr(assignment, '=');
    char *section, *key, *value;

    if (dot == NULL || eq == NULL || dot > eq || dot == assignment || eq == dot + 1) {
        snprintf(err, errcap, "-o %s: expected section.key=value", assignment);
        return -1;
    }
    section = xstrndup(assignment, (size_t)(dot - assignment));
    key = xstrndup(dot + 1, (size_t)(eq - dot - 1));
    value = xstrdup(eq + 1);
    char origin[CFG_ERR_MAX / 2];
    snprintf(origin, sizeof(origin), "-o %s", assignment);
    add_mark(cfg, str_trim(section), origin, 0);
    add_entry(cfg, str_trim(section), str_trim(key), str_trim(value), origin, 0);
    free(section);
    free(key);
    free(value);
    return 0;
}

static void
format_origin(char *buf, size_t cap, const char *origin, int line)
{
    if (line > 0) {
        snprintf(buf, cap, "%s:%d", origin, line);
    } else {
        snprintf(buf, cap, "%s", origin);
    }
}

static const struct cfg_section_schema *
find_section(const struct cfg_section_schema *schema, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(schema[i].name, name) == 0) {
            return &schema[i];
        }
    }
    return NULL;
}

static const struct cfg_key *
find_key_in(const struct cfg_key *keys, const char *name)
{
    for (; keys != NULL && keys->name != NULL; keys++) {
        if (strcmp(keys->name, name) == 0) {
            return keys;
        }
    }
    return NULL;
}

static const struct cfg_key *
find_key(const struct cfg_section_schema *s, const char *name)
{
    const struct cfg_key *k = find_key_in(s->keys, name);
    return k ? k : find_key_in(s->common, name);
}

bool
cfg_check_value(const struct cfg_key *key, const char *value, const char **why)
{
    long l;
    bool b;
    double d;
    size_t n;

    switch (key->type) {
    case CFG_STR:
        return true;
    case CFG_PATH:
        if (strlen(value) >= 4096) {
            *why = "path too long";
            return false;
        }
        return true;
    case CFG_INT:
        if (!parse_long(value, key->min, key->max, &l)) {
            static char msg[96];
            snprintf(msg, sizeof(msg), "expected an integer from %ld to %ld", key->min, key->max);
            *why = msg;
            return false;
        }
        return true;
    case CFG_BOOL:
        if (!parse_bool(value, &b)) {
            *why = "expected yes or no";
            return false;
        }
        return true;
    case CFG_ENUM:
        for (const char *const *c = key->choices; *c; c++) {
            if (strcmp(*c, value) == 0) {
                return true;
            }
        }
        {
            static char msg[256];
            size_t pos = (size_t)snprintf(msg, sizeof(msg), "expected one of:");
            for (const char *const *c = key->choices; *c && pos < sizeof(msg); c++) {
                pos += (size_t)snprintf(msg + pos, sizeof(msg) - pos, " %s", *c);
            }
            *why = msg;
        }
        return false;
    case CFG_SECONDS:
        if (!parse_seconds(value, (double)key->min, (double)key->max, &d)) {
            static char msg[128];
            snprintf(msg, sizeof(msg),
                     "expected a duration from %ld to %ld seconds (e.g. 30, 1.5s, "
                     "500ms, 5m)",
                     key->min, key->max);
            *why = msg;
            return false;
        }
        return true;
    case CFG_LISTEN: {
        struct listen_spec *ls;
        if (!listen_spec_parse_list(value, &ls, &n, why)) {
            return false;
        }
        free(ls);
        return true;
    }
    case CFG_CIDRS: {
        struct cidr *c;
        if (!cidr_parse_list(value, &c, &n, why)) {
            return false;
        }
        free(c);
        return true;
    }
    case CFG_MODE: {
        char *end;
        errno = 0;
        unsigned long m = strtoul(value, &end, 8);
        if (*value == '\0' || *end != '\0' || errno != 0 || m > 07777) {
            *why = "expected an octal file mode such as 0660";
            return false;
        }
        return true;
    }
    case CFG_LEVEL:
        if (log_parse_level(value) < 0) {
            *why = "expected one of: error warn info debug";
            return false;
        }
        return true;
    }
    *why = "unknown type";
    return false;
}

int
cfg_validate(struct cfg *cfg, const struct cfg_section_schema *schema, size_t nschema, char *err,
             size_t errcap)
{
    char where[300];

    for (size_t i = 0; i < cfg->nmarks; i++) {
        const struct cfg_mark *m = &cfg->marks[i];
        if (find_section(schema, nschema, m->section) == NULL) {
            format_origin(where, sizeof(where), m->origin, m->line);
            snprintf(err, errcap, "%s: unknown section [%s]", where, m->section);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->n; i++) {
        const struct cfg_entry *e = &cfg->v[i];
        const struct cfg_section_schema *s = find_section(schema, nschema, e->section);
        const struct cfg_key *k;
        const char *why = NULL;

        format_origin(where, sizeof(where), e->origin, e->line);
        if (s == NULL) {
            snprintf(err, errcap, "%s: unknown section [%s]", where, e->section);
            return -1;
        }
        k = find_key(s, e->key);
        if (k == NULL) {
            snprintf(err, errcap, "%s: [%s] %s: unknown key", where, e->section, e->key);
            return -1;
        }
        if (!cfg_check_value(k, e->value, &why)) {
            snprintf(err, errcap, "%s: [%s] %s = %s: %s", where, e->section, e->key, e->value, why);
            return -1;
        }
    }
    cfg->schema = schema;
    cfg->nschema = nschema;
    return 0;
}

bool
cfg_has_section(const struct cfg *cfg, const char *section)
{
    for (size_t i = 0; i < cfg->nmarks; i++) {
        if (strcmp(cfg->marks[i].section, section) == 0) {
            return true;
        }
    }
    return false;
}

static const struct cfg_entry *
last_entry(const struct cfg *cfg, const char *section, const char *key)
{
    for (size_t i = cfg->n; i-- > 0;) {
        if (strcmp(cfg->v[i].section, section) == 0 && strcmp(cfg->v[i].key, key) == 0) {
            return &cfg->v[i];
        }
    }
    return NULL;
}

static const struct cfg_key *
schema_key(const struct cfg *cfg, const char *section, const char *key)
{
    const struct cfg_section_schema *s = find_section(cfg->schema, cfg->nschema, section);
    const struct cfg_key *k = s ? find_key(s, key) : NULL;

    if (k == NULL) {
        log_error("internal error: configuration key [%s] %s is not in the schema", section, key);
        abort();
    }
    return k;
}

void
cfg_where(const struct cfg *cfg, const char *section, const char *key, char *buf, size_t cap)
{
    const struct cfg_entry *e = last_entry(cfg, section, key);
    char where[300];

    if (e == NULL) {
        snprintf(buf, cap, "[%s] %s (default)", section, key);
        return;
    }
    format_origin(where, sizeof(where), e->origin, e->line);
    snprintf(buf, cap, "%s: [%s] %s", where, section, key);
}

const char *
cfg_str(const struct cfg *cfg, const char *section, const char *key)
{
    const struct cfg_key *k = schema_key(cfg, section, key);
    const struct cfg_entry *e = last_entry(cfg, section, key);

    if (e != NULL) {
        return e->value;
    }
    return k->def ? k->def : "";
}

long
cfg_int(const struct cfg *cfg, const char *section, const char *key)
{
    long v = 0;
    parse_long(cfg_str(cfg, section, key), LONG_MIN, LONG_MAX, &v);
    return v;
}

bool
cfg_bool(const struct cfg *cfg, const char *section, const char *key)
{
    bool v = false;
    parse_bool(cfg_str(cfg, section, key), &v);
    return v;
}

double
cfg_seconds(const struct cfg *cfg, const char *section, const char *key)
{
    double v = 0;
    parse_seconds(cfg_str(cfg, section, key), 0, 1e12, &v);
    return v;
}

unsigned
cfg_mode(const struct cfg *cfg, const char *section, const char *key)
{
    return (unsigned)strtoul(cfg_str(cfg, section, key), NULL, 8);
}
