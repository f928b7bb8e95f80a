/* SPDX-License-Identifier: MIT */
/*
 * Configuration: INI text (files via inih, the embedded defaults, -o overrides) collected into
 * entries that remember where each value came from, then validated against a schema that the
 * caller assembles (the core's [server] keys plus each service's keys). Errors name the file,
 * the line, the section and the key. The core does not know which services exist.
 */
#ifndef SB_CORE_CONFIG_H
#define SB_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CFG_ERR_MAX 512

enum cfg_type {
    CFG_STR,     /* free text */
    CFG_PATH,    /* a file system path; relative paths are taken from the working directory */
    CFG_INT,     /* integer in [min, max] */
    CFG_BOOL,    /* yes/no, true/false, on/off, 1/0 */
    CFG_ENUM,    /* one of choices[] */
    CFG_SECONDS, /* duration: "30", "1.5s", "500ms", "5m", "1h"; within [min, max] seconds */
    CFG_LISTEN,  /* comma-separated HOST:PORT, [IPv6]:PORT, unix:/path */
    CFG_CIDRS,   /* comma-separated CIDRs, may be empty */
    CFG_MODE,    /* octal file mode, e.g. 0660 */
    CFG_LEVEL,   /* log level */
};

struct cfg_key {
    const char *name;
    enum cfg_type type;
    const char *def;            /* the default, as it would be written in the file */
    long min, max;              /* CFG_INT and CFG_SECONDS */
    const char *const *choices; /* CFG_ENUM: NULL-terminated */
};

/* One section of the schema: a name and up to two key tables (NULL-name terminated); a key is
 * looked up in @keys first, then in @common (the keys every service shares). */
struct cfg_section_schema {
    const char *name;
    const struct cfg_key *keys;
    const struct cfg_key *common;
};

struct cfg;

/** cfg_new() - an empty configuration. Free with cfg_free(). */
struct cfg *cfg_new(void);
void cfg_free(struct cfg *cfg);

/**
 * cfg_load_file() - read INI file @path into @cfg.
 * Return: 0, or -1 with a one-line message in @err (syntax error, unreadable file).
 */
int cfg_load_file(struct cfg *cfg, const char *path, char *err, size_t errcap);

/** cfg_load_string() - read INI text; @origin names it in messages (e.g. "<defaults>"). */
int cfg_load_string(struct cfg *cfg, const char *text, const char *origin, char *err,
                    size_t errcap);

/**
 * cfg_override() - apply "section.key=value" (the -o option); it wins over every value loaded
 * before it and creates the section if it was absent.
 */
int cfg_override(struct cfg *cfg, const char *assignment, char *err, size_t errcap);

/**
 * cfg_validate() - check every section and key against @schema and attach the schema so that
 * getters can return defaults. Unknown sections and keys and bad values are errors.
 */
int cfg_validate(struct cfg *cfg, const struct cfg_section_schema *schema, size_t nschema,
                 char *err, size_t errcap);

/** cfg_has_section() - did any source mention [@section]? */
bool cfg_has_section(const struct cfg *cfg, const char *section);

/** cfg_where() - "FILE:LINE: [section] key" for the value in force, for run-time errors. */
void cfg_where(const struct cfg *cfg, const char *section, const char *key, char *buf, size_t cap);

/*
 * Typed getters, valid after cfg_validate(): they return the last value set for the key, or its
 * schema default. Asking for a key the schema does not know is a programming error (abort).
 * Strings are owned by @cfg.
 */
const char *cfg_str(const struct cfg *cfg, const char *section, const char *key);
long cfg_int(const struct cfg *cfg, const char *section, const char *key);
bool cfg_bool(const struct cfg *cfg, const char *section, const char *key);
double cfg_seconds(const struct cfg *cfg, const char *section, const char *key);
unsigned cfg_mode(const struct cfg *cfg, const char *section, const char *key);

/** cfg_check_value() - validate @value for @key; on failure *why says why. */
bool cfg_check_value(const struct cfg_key *key, const char *value, const char **why);

#endif
