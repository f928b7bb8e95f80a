/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/core/config.c: loading INI text and files, -o overrides, validation of every
 * value type against a schema, error messages that name "origin:line", and the typed getters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

static const char *const speeds[] = {"fast", "slow", NULL};

static const struct cfg_key server_keys[] = {
    {"name", CFG_STR, "switchboard", 0, 0, NULL},
    {"motd", CFG_STR, NULL, 0, 0, NULL},
    {"data_dir", CFG_PATH, "/var/lib/switchboard", 0, 0, NULL},
    {"workers", CFG_INT, "4", 1, 64, NULL},
    {"syslog", CFG_BOOL, "yes", 0, 0, NULL},
    {"speed", CFG_ENUM, "fast", 0, 0, speeds},
    {"timeout", CFG_SECONDS, "1.5s", 0, 3600, NULL},
    {"listen", CFG_LISTEN, "127.0.0.1:4000", 0, 0, NULL},
    {"allow", CFG_CIDRS, "", 0, 0, NULL},
    {"socket_mode", CFG_MODE, "0640", 0, 0, NULL},
    {"log_level", CFG_LEVEL, "info", 0, 0, NULL},
    {NULL, CFG_STR, NULL, 0, 0, NULL},
};

/* Keys every service section shares. */
static const struct cfg_key common_keys[] = {
    {"enabled", CFG_BOOL, "no", 0, 0, NULL},
    {"listen", CFG_LISTEN, "127.0.0.1:0", 0, 0, NULL},
    {NULL, CFG_STR, NULL, 0, 0, NULL},
};

static const struct cfg_key directory_keys[] = {
    {"max_payload", CFG_INT, "65536", 0, 1048576, NULL},
    /* Overrides the common default. */
    {"listen", CFG_LISTEN, "127.0.0.1:8888", 0, 0, NULL},
    {NULL, CFG_STR, NULL, 0, 0, NULL},
};

static const struct cfg_section_schema schema[] = {
    {"server", server_keys, NULL},
    {"directory", directory_keys, common_keys},
    {"echo", NULL, common_keys},
};

#define NSCHEMA (sizeof(schema) / sizeof(schema[0]))

/* @where must be cfg_where()'s answer for a key that only has its schema default. */
static void
assert_where_default(const char *where, const char *section_key)
{
    if (strstr(where, section_key) == NULL || strstr(where, "default") == NULL) {
        fail_msg("cfg_where() gave \"%s\", wanted \"%s\" marked as a default", where, section_key);
    }
}

/* @s must start with the -o origin and end with @tail. */
static void
assert_from_override(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);

    if (strncmp(s, "-o", 2) != 0 || n < t || strcmp(s + n - t, tail) != 0) {
        fail_msg("\"%s\" should name -o as its origin and end with \"%s\"", s, tail);
    }
}

/* Load @text as "<test>" and validate; returns the rc of whichever step failed. */
static int
load(struct cfg *cfg, const char *text, char *err, size_t cap)
{
    int rc = cfg_load_string(cfg, text, "<test>", err, cap);

    if (rc == 0) {
        rc = cfg_validate(cfg, schema, NSCHEMA, err, cap);
    }
    return rc;
}

/* @text must fail to load or validate with exactly @want as the message. */
static void
expect_err(const char *text, const char *want)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(load(cfg, text, err, sizeof(err)), -1);
    assert_string_equal(err, want);
    cfg_free(cfg);
}

/* @text must fail with a message that contains @want. */
static void
expect_err_has(const char *text, const char *want)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(load(cfg, text, err, sizeof(err)), -1);
    if (strstr(err, want) == NULL) {
        fail_msg("config error \"%s\" does not contain \"%s\"", err, want);
    }
    cfg_free(cfg);
}

static void
test_load_and_get(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";
    const char *text = "; a comment\n"
                       "# another comment\n"
                       "[server]\n"
                       "name = my board\n"
                       "data_dir = /tmp/sb\n"
                       "workers = 8 ; inline comment\n"
                       "syslog = off\n"
                       "speed = slow\n"
                       "timeout = 5m\n"
                       "listen = 127.0.0.1:1, [::1]:2, unix:/tmp/sb.sock\n"
                       "allow = 10.0.0.0/8, ::1\n"
                       "socket_mode = 0660\n"
                       "log_level = debug\n"
                       "\n"
                       "[directory]\n"
                       "enabled = yes\n"
                       "max_payload=1024\n";

    assert_int_equal(load(cfg, text, err, sizeof(err)), 0);
    assert_string_equal(cfg_str(cfg, "server", "name"), "my board");
    assert_string_equal(cfg_str(cfg, "server", "data_dir"), "/tmp/sb");
    assert_int_equal(cfg_int(cfg, "server", "workers"), 8);
    assert_false(cfg_bool(cfg, "server", "syslog"));
    assert_string_equal(cfg_str(cfg, "server", "speed"), "slow");
    assert_true(cfg_seconds(cfg, "server", "timeout") == 300.0);
    assert_string_equal(cfg_str(cfg, "server", "listen"),
                        "127.0.0.1:1, [::1]:2, unix:/tmp/sb.sock");
    assert_string_equal(cfg_str(cfg, "server", "allow"), "10.0.0.0/8, ::1");
    assert_int_equal(cfg_mode(cfg, "server", "socket_mode"), 0660);
    assert_string_equal(cfg_str(cfg, "server", "log_level"), "debug");
    assert_true(cfg_bool(cfg, "directory", "enabled"));
    assert_int_equal(cfg_int(cfg, "directory", "max_payload"), 1024);
    assert_true(cfg_has_section(cfg, "server"));
    assert_true(cfg_has_section(cfg, "directory"));
    assert_false(cfg_has_section(cfg, "echo"));
    cfg_free(cfg);
    cfg_free(NULL);
}

static void
test_defaults(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(load(cfg, "", err, sizeof(err)), 0);
    assert_string_equal(cfg_str(cfg, "server", "name"), "switchboard");
    assert_string_equal(cfg_str(cfg, "server", "motd"), "");
    assert_string_equal(cfg_str(cfg, "server", "data_dir"), "/var/lib/switchboard");
    assert_int_equal(cfg_int(cfg, "server", "workers"), 4);
    assert_true(cfg_bool(cfg, "server", "syslog"));
    assert_string_equal(cfg_str(cfg, "server", "speed"), "fast");
    assert_true(cfg_seconds(cfg, "server", "timeout") == 1.5);
    assert_string_equal(cfg_str(cfg, "server", "listen"), "127.0.0.1:4000");
    assert_string_equal(cfg_str(cfg, "server", "allow"), "");
    assert_int_equal(cfg_mode(cfg, "server", "socket_mode"), 0640);
    assert_string_equal(cfg_str(cfg, "server", "log_level"), "info");
    /* A section's own key wins over the common key of the same name. */
    assert_string_equal(cfg_str(cfg, "directory", "listen"), "127.0.0.1:8888");
    assert_string_equal(cfg_str(cfg, "echo", "listen"), "127.0.0.1:0");
    assert_false(cfg_bool(cfg, "echo", "enabled"));
    assert_false(cfg_has_section(cfg, "server"));
    cfg_free(cfg);
}

static void
test_last_value_wins(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(
        cfg_load_string(cfg, "[server]\nworkers = 2\nworkers = 3\n", "a", err, sizeof(err)), 0);
    assert_int_equal(cfg_load_string(cfg, "[server]\nname = second\n[server]\nworkers = 5\n", "b",
                                     err, sizeof(err)),
                     0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), 0);
    assert_int_equal(cfg_int(cfg, "server", "workers"), 5);
    assert_string_equal(cfg_str(cfg, "server", "name"), "second");
    cfg_free(cfg);
}

static void
test_unknown_section(void **state)
{
    expect_err("[server]\nworkers = 2\n\n[bogus]\nx = 1\n", "<test>:4: unknown section [bogus]");
    /* A section without keys is still checked, at the line that names it. */
    expect_err("[server]\n[nothing_here]\n", "<test>:2: unknown section [nothing_here]");
    /* Section names are case-sensitive. */
    expect_err("[Server]\nworkers = 2\n", "<test>:1: unknown section [Server]");
    /* A key before any section belongs to the unnamed section, which no schema has. */
    expect_err("workers = 2\n", "<test>:1: unknown section []");
}

static void
test_unknown_key(void **state)
{
    expect_err("[server]\n\nnope = 1\n", "<test>:3: [server] nope: unknown key");
    /* Common keys exist only in sections that include them. */
    expect_err("[server]\nenabled = yes\n", "<test>:2: [server] enabled: unknown key");
    expect_err("[echo]\nmax_payload = 1\n", "<test>:2: [echo] max_payload: unknown key");
    /* Key names are case-sensitive. */
    expect_err("[server]\nWorkers = 1\n", "<test>:2: [server] Workers: unknown key");
}

static void
test_common_keys(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(load(cfg, "[echo]\nenabled = yes\nlisten = [::1]:7\n", err, sizeof(err)), 0);
    assert_true(cfg_bool(cfg, "echo", "enabled"));
    assert_string_equal(cfg_str(cfg, "echo", "listen"), "[::1]:7");
    assert_false(cfg_bool(cfg, "directory", "enabled"));
    cfg_free(cfg);
}

struct value_case {
    const char *key;
    const char *value;
    const char *why; /* NULL: the value is valid */
};

static const struct value_case value_cases[] = {
    {"workers", "1", NULL},
    {"workers", "64", NULL},
    {"workers", "0", "expected an integer from 1 to 64"},
    {"workers", "65", "expected an integer from 1 to 64"},
    {"workers", "-3", "expected an integer from 1 to 64"},
    {"workers", "abc", "expected an integer from 1 to 64"},
    {"workers", "4.5", "expected an integer from 1 to 64"},
    {"workers", "0x4", "expected an integer from 1 to 64"},
    {"workers", "", "expected an integer from 1 to 64"},
    {"workers", "99999999999999999999999", "expected an integer from 1 to 64"},
    {"syslog", "On", NULL},
    {"syslog", "FALSE", NULL},
    {"syslog", "0", NULL},
    {"syslog", "maybe", "expected yes or no"},
    {"syslog", "2", "expected yes or no"},
    {"syslog", "", "expected yes or no"},
    {"speed", "slow", NULL},
    {"speed", "medium", "expected one of: fast slow"},
    {"speed", "FAST", "expected one of: fast slow"},
    {"speed", "", "expected one of: fast slow"},
    {"timeout", "30", NULL},
    {"timeout", "1.5s", NULL},
    {"timeout", "500ms", NULL},
    {"timeout", "5m", NULL},
    {"timeout", "1h", NULL},
    {"timeout", "0", NULL},
    {"timeout", "2h", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "61m", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "-1", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "5x", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "ms", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "1 s", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "nan", "expected a duration from 0 to 3600 seconds"},
    {"timeout", "", "expected a duration from 0 to 3600 seconds"},
    {"listen", "*:0", NULL},
    {"listen", "127.0.0.1:1, [::1]:2, unix:/x", NULL},
    {"listen", "", "no address given"},
    {"listen", "localhost", "expected HOST:PORT"},
    {"listen", "::1:80", "IPv6 addresses need brackets"},
    {"listen", "h:70000", "invalid port"},
    {"listen", "[::1]:1, unix:", "empty UNIX socket path"},
    {"allow", "", NULL},
    {"allow", "10.0.0.0/8, 2001:db8::/32, 192.0.2.1", NULL},
    {"allow", "10.0.0.0/33", "invalid address or CIDR"},
    {"allow", "bogus", "invalid address or CIDR"},
    {"allow", "10.0.0.0/8, x", "invalid address or CIDR"},
    {"socket_mode", "0660", NULL},
    {"socket_mode", "0", NULL},
    {"socket_mode", "7777", NULL},
    {"socket_mode", "0999", "expected an octal file mode"},
    {"socket_mode", "10000", "expected an octal file mode"},
    {"socket_mode", "rw-r--r--", "expected an octal file mode"},
    {"socket_mode", "", "expected an octal file mode"},
    {"log_level", "error", NULL},
    {"log_level", "warn", NULL},
    {"log_level", "warning", NULL},
    {"log_level", "debug", NULL},
    {"log_level", "verbose", "expected one of: error warn info debug"},
    {"log_level", "DEBUG", "expected one of: error warn info debug"},
    {"log_level", "", "expected one of: error warn info debug"},
    {"name", "", NULL},
    {"name", "anything at all: [x] = y", NULL},
    {"data_dir", "relative/path", NULL},
};

static void
test_values_by_type(void **state)
{
    for (size_t i = 0; i < sizeof(value_cases) / sizeof(value_cases[0]); i++) {
        const struct value_case *c = &value_cases[i];
        struct cfg *cfg = cfg_new();
        char text[256], want[CFG_ERR_MAX], err[CFG_ERR_MAX] = "";
        int rc;

        snprintf(text, sizeof(text), "[server]\n\n%s = %s\n", c->key, c->value);
        rc = load(cfg, text, err, sizeof(err));
        if (c->why == NULL) {
            if (rc != 0) {
                fail_msg("%s = \"%s\" should be valid, got: %s", c->key, c->value, err);
            }
            assert_string_equal(cfg_str(cfg, "server", c->key), c->value);
        } else {
            snprintf(want, sizeof(want), "<test>:3: [server] %s = %s: %s", c->key, c->value,
                     c->why);
            if (rc != -1 || strncmp(err, want, strlen(want)) != 0) {
                fail_msg("%s = \"%s\": got rc %d \"%s\", wanted \"%s...\"", c->key, c->value, rc,
                         err, want);
            }
        }
        cfg_free(cfg);
    }
}

static void
test_check_value_direct(void **state)
{
    static const struct cfg_key path = {"p", CFG_PATH, NULL, 0, 0, NULL};
    static const struct cfg_key wide = {"n", CFG_INT, NULL, -5, 5, NULL};
    char *long_path = malloc(5000);
    const char *why = NULL;

    assert_non_null(long_path);
    memset(long_path, 'a', 4999);
    long_path[4999] = '\0';
    assert_false(cfg_check_value(&path, long_path, &why));
    assert_non_null(why);
    assert_non_null(strstr(why, "path too long"));
    long_path[100] = '\0';
    assert_true(cfg_check_value(&path, long_path, &why));
    free(long_path);

    assert_true(cfg_check_value(&wide, "-5", &why));
    assert_true(cfg_check_value(&wide, "5", &why));
    assert_false(cfg_check_value(&wide, "-6", &why));
    assert_string_equal(why, "expected an integer from -5 to 5");
}

static void
test_seconds_getter(void **state)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {
        {"30", 30.0}, {"1.5s", 1.5}, {"500ms", 0.5}, {"5m", 300.0}, {"1h", 3600.0}, {"0", 0.0},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cfg *cfg = cfg_new();
        char text[128], err[CFG_ERR_MAX] = "";
        double got;

        snprintf(text, sizeof(text), "[server]\ntimeout = %s\n", cases[i].text);
        assert_int_equal(load(cfg, text, err, sizeof(err)), 0);
        got = cfg_seconds(cfg, "server", "timeout");
        assert_true(got > cases[i].want - 1e-9 && got < cases[i].want + 1e-9);
        cfg_free(cfg);
    }
}

static void
test_override_wins(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "", where[256];

    assert_int_equal(
        cfg_load_string(cfg, "[server]\nworkers = 2\nname = file\n", "<test>", err, sizeof(err)),
        0);
    assert_int_equal(cfg_override(cfg, "server.workers=9", err, sizeof(err)), 0);
    assert_int_equal(
        cfg_override(cfg, "  server . name =  from the command line  ", err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), 0);
    assert_int_equal(cfg_int(cfg, "server", "workers"), 9);
    assert_string_equal(cfg_str(cfg, "server", "name"), "from the command line");

    cfg_where(cfg, "server", "workers", where, sizeof(where));
    assert_from_override(where, ": [server] workers");
    cfg_free(cfg);
}

static void
test_override_creates_section(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(cfg_load_string(cfg, "[server]\n", "<test>", err, sizeof(err)), 0);
    assert_false(cfg_has_section(cfg, "echo"));
    assert_int_equal(cfg_override(cfg, "echo.enabled=yes", err, sizeof(err)), 0);
    assert_true(cfg_has_section(cfg, "echo"));
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), 0);
    assert_true(cfg_bool(cfg, "echo", "enabled"));

    /* The value may contain '=' and '.'; only the first of each splits. */
    assert_int_equal(cfg_override(cfg, "server.name=a.b=c", err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), 0);
    assert_string_equal(cfg_str(cfg, "server", "name"), "a.b=c");
    /* An empty value is a value. */
    assert_int_equal(cfg_override(cfg, "server.name=", err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), 0);
    assert_string_equal(cfg_str(cfg, "server", "name"), "");
    cfg_free(cfg);
}

static void
test_override_errors(void **state)
{
    static const char *const bad[] = {
        "", "noequals", "nodot=1", ".key=1", "sec.=1", "sec.key", "a=b.c", "=", ".=",
    };
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(cfg_override(cfg, bad[i], err, sizeof(err)), -1);
        assert_non_null(strstr(err, "expected section.key=value"));
    }
    cfg_free(cfg);

    /* Bad overrides are reported by validation with "-o" as their origin. */
    cfg = cfg_new();
    assert_int_equal(cfg_override(cfg, "server.workers=100", err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), -1);
    assert_from_override(err, ": [server] workers = 100: expected an integer from 1 to 64");
    cfg_free(cfg);

    cfg = cfg_new();
    assert_int_equal(cfg_override(cfg, "nosuch.key=1", err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), -1);
    assert_from_override(err, ": unknown section [nosuch]");
    cfg_free(cfg);

    cfg = cfg_new();
    assert_int_equal(cfg_override(cfg, "server.nokey=1", err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), -1);
    assert_from_override(err, ": [server] nokey: unknown key");
    cfg_free(cfg);
}

static void
test_has_section_without_keys(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(
        load(cfg, "[server]\nworkers = 2\n[echo]\n; enabled by its defaults\n\n", err, sizeof(err)),
        0);
    assert_true(cfg_has_section(cfg, "echo"));
    assert_true(cfg_has_section(cfg, "server"));
    assert_false(cfg_has_section(cfg, "directory"));
    assert_false(cfg_has_section(cfg, "ech"));
    assert_false(cfg_bool(cfg, "echo", "enabled"));
    cfg_free(cfg);

    cfg = cfg_new();
    assert_int_equal(load(cfg, "  [directory]  \n", err, sizeof(err)), 0);
    assert_true(cfg_has_section(cfg, "directory"));
    cfg_free(cfg);
}

/* A config file saved by an editor that writes a UTF-8 byte order mark. inih skips the BOM. */
static void
test_bom_first_section(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "";

    assert_int_equal(load(cfg, "\xEF\xBB\xBF[echo]\nenabled = yes\n", err, sizeof(err)), 0);
    assert_true(cfg_bool(cfg, "echo", "enabled"));
    /* The registry starts a service only if cfg_has_section() says its section exists. */
    assert_true(cfg_has_section(cfg, "echo"));
    cfg_free(cfg);

    cfg = cfg_new();
    assert_int_equal(load(cfg, "\xEF\xBB\xBF[echo]\n", err, sizeof(err)), 0);
    assert_true(cfg_has_section(cfg, "echo"));
    cfg_free(cfg);

    expect_err("\xEF\xBB\xBF[bogus]\n", "<test>:1: unknown section [bogus]");
}

/*
 * "[ echo ]": whatever the answer (trimmed to "echo", or a section literally named " echo "), a
 * section must mean the same whether or not keys follow it.
 */
static void
test_section_name_blanks_consistent(void **state)
{
    struct cfg *with_key = cfg_new(), *without = cfg_new();
    char err1[CFG_ERR_MAX] = "", err2[CFG_ERR_MAX] = "";
    int rc1 = load(with_key, "[ echo ]\nenabled = yes\n", err1, sizeof(err1));
    int rc2 = load(without, "[ echo ]\n", err2, sizeof(err2));

    if (rc1 != rc2) {
        fail_msg("\"[ echo ]\" with a key: rc %d (%s); without: rc %d (%s)", rc1, err1, rc2, err2);
    }
    if (rc1 == 0) {
        assert_true(cfg_has_section(with_key, "echo"));
        assert_true(cfg_bool(with_key, "echo", "enabled"));
    }
    cfg_free(with_key);
    cfg_free(without);
}

static void
test_syntax_errors(void **state)
{
    expect_err_has("[server]\nworkers = 2\nthis line has no equals sign\n",
                   "<test>:3: syntax error");
    expect_err_has("[server\nworkers = 2\n", "<test>:1: syntax error");
    /* Continuation lines are not allowed (multi-line values are off). */
    expect_err_has("[server]\nname = a\n  continued\n", "<test>:3: syntax error");
}

static void
test_long_line(void **state)
{
    size_t big = 5000;
    char *text = malloc(big + 64);
    struct cfg *cfg;
    char err[CFG_ERR_MAX] = "";
    size_t pre;

    assert_non_null(text);
    /* "name = " + value = 4093 bytes, the documented limit: accepted. */
    pre = (size_t)snprintf(text, big, "[server]\nname = ");
    memset(text + pre, 'v', 4093 - 7);
    text[pre + 4093 - 7] = '\n';
    text[pre + 4093 - 7 + 1] = '\0';
    cfg = cfg_new();
    assert_int_equal(load(cfg, text, err, sizeof(err)), 0);
    assert_int_equal(strlen(cfg_str(cfg, "server", "name")), 4093 - 7);
    cfg_free(cfg);

    /* 5000 bytes: an error naming the line, not a silent truncation. */
    memset(text + pre, 'v', big);
    memcpy(text + pre + big, "\nworkers = 2\n", 14);
    expect_err_has(text, "<test>:2: line too long");

    /* Also without a final newline. */
    text[pre + big] = '\0';
    expect_err_has(text, "<test>:2: line too long");
    free(text);
}

static int
write_file(char *path, const void *data, size_t n)
{
    int fd = mkstemp(path);

    if (fd < 0) {
        return -1;
    }
    if (write(fd, data, n) != (ssize_t)n) {
        close(fd);
        return -1;
    }
    return close(fd);
}

static void
test_load_file(void **state)
{
    char path[] = "/tmp/sb-test-config-XXXXXX";
    const char text[] = "[server]\n# comment\nworkers = 12\r\nname = crlf\r\n";
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "", where[256], want[CFG_ERR_MAX];

    assert_int_equal(write_file(path, text, sizeof(text) - 1), 0);
    assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), 0);
    assert_int_equal(cfg_int(cfg, "server", "workers"), 12);
    assert_string_equal(cfg_str(cfg, "server", "name"), "crlf");
    cfg_where(cfg, "server", "workers", where, sizeof(where));
    snprintf(want, sizeof(want), "%s:3: [server] workers", path);
    assert_string_equal(where, want);
    cfg_where(cfg, "server", "speed", where, sizeof(where));
    assert_where_default(where, "[server] speed");
    cfg_free(cfg);
    unlink(path);
}

static void
test_load_file_errors(void **state)
{
    char path[] = "/tmp/sb-test-config-XXXXXX";
    char path2[] = "/tmp/sb-test-config-XXXXXX";
    char path3[] = "/tmp/sb-test-config-XXXXXX";
    const char bad_value[] = "[server]\n\nworkers = 0\n";
    const char nul[] = "[server]\nname = a\0b\n";
    const char syntax[] = "[server]\nnot a key value line\n";
    struct cfg *cfg;
    char err[CFG_ERR_MAX] = "", want[CFG_ERR_MAX];

    assert_int_equal(write_file(path, bad_value, sizeof(bad_value) - 1), 0);
    cfg = cfg_new();
    assert_int_equal(cfg_load_file(cfg, path, err, sizeof(err)), 0);
    assert_int_equal(cfg_validate(cfg, schema, NSCHEMA, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:3: [server] workers = 0: expected an integer from 1 to 64",
             path);
    assert_string_equal(err, want);
    cfg_free(cfg);
    unlink(path);

    assert_int_equal(write_file(path2, nul, sizeof(nul) - 1), 0);
    cfg = cfg_new();
    assert_int_equal(cfg_load_file(cfg, path2, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: not a text file", path2);
    assert_non_null(strstr(err, want));
    cfg_free(cfg);
    unlink(path2);

    assert_int_equal(write_file(path3, syntax, sizeof(syntax) - 1), 0);
    cfg = cfg_new();
    assert_int_equal(cfg_load_file(cfg, path3, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: syntax error", path3);
    assert_non_null(strstr(err, want));
    cfg_free(cfg);
    unlink(path3);

    cfg = cfg_new();
    assert_int_equal(cfg_load_file(cfg, "/nonexistent/dir/switchboard.ini", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/dir/switchboard.ini: cannot open"));
    cfg_free(cfg);
}

static void
test_where(void **state)
{
    struct cfg *cfg = cfg_new();
    char err[CFG_ERR_MAX] = "", where[256];

    assert_int_equal(load(cfg, "[server]\n\nworkers = 3\n[echo]\nenabled = 1\n", err, sizeof(err)),
                     0);
    cfg_where(cfg, "server", "workers", where, sizeof(where));
    assert_string_equal(where, "<test>:3: [server] workers");
    cfg_where(cfg, "echo", "enabled", where, sizeof(where));
    assert_string_equal(where, "<test>:5: [echo] enabled");
    cfg_where(cfg, "echo", "listen", where, sizeof(where));
    assert_where_default(where, "[echo] listen");
    cfg_free(cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_get),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_last_value_wins),
        cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_common_keys),
        cmocka_unit_test(test_values_by_type),
        cmocka_unit_test(test_check_value_direct),
        cmocka_unit_test(test_seconds_getter),
        cmocka_unit_test(test_override_wins),
        cmocka_unit_test(test_override_creates_section),
        cmocka_unit_test(test_override_errors),
        cmocka_unit_test(test_has_section_without_keys),
        cmocka_unit_test(test_bom_first_section),
        cmocka_unit_test(test_section_name_blanks_consistent),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_file_errors),
        cmocka_unit_test(test_where),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
