/* SPDX-License-Identifier: MIT */
/*
 * switchboard: command line, configuration, start-up and shutdown. Everything protocol-specific
 * lives in the services; this file wires the core, the store and the service registry together.
 */
#include "main.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/loops.h"
#include "core/mem.h"
#include "core/work.h"
#include "services/registry.h"
#include "services/service.h"
#include "store/accounts.h"
#include "store/db.h"
#include "version.h"

#define WORK_QUEUE_MAX 4096

static const char *const password_costs[] = {"minimum",  "standard",  "interactive",
                                             "moderate", "sensitive", NULL};

static const struct cfg_key server_keys[] = {
    {"data_dir", CFG_PATH, "./var", 0, 0, NULL},
    {"log_level", CFG_LEVEL, "info", 0, 0, NULL},
    {"syslog", CFG_BOOL, "no", 0, 0, NULL},
    {"ports_file", CFG_PATH, "", 0, 0, NULL},
    {"workers", CFG_INT, "2", 1, 64, NULL},
    {"password_cost", CFG_ENUM, "standard", 0, 0, password_costs},
    {NULL, 0, NULL, 0, 0, NULL},
};

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: switchboard [-c FILE] [-o SECTION.KEY=VALUE]...\n"
            "       switchboard [-c FILE] [-o SECTION.KEY=VALUE]... user add|del|passwd NAME\n"
            "       switchboard [-c FILE] [-o SECTION.KEY=VALUE]... user list\n"
            "       switchboard [-c FILE] [-o SECTION.KEY=VALUE]... hash-password\n"
            "\n"
            "Runs the switchboard daemon: every service configured in FILE (or, without -c, every\n"
            "service on loopback with the embedded defaults), in the foreground, logging to\n"
            "stderr. SIGINT or SIGTERM stops it cleanly.\n"
            "\n"
            "  -c, --config FILE        read the INI configuration FILE; only the services it has\n"
            "                           sections for are started\n"
            "  -o, --option S.K=V       set key K of section [S], overriding FILE (repeatable)\n"
            "  -h, --help               show this help\n"
            "  -V, --version            show the version\n"
            "\n"
            "  user add NAME            create an account (password from the terminal or stdin)\n"
            "  user passwd NAME         change a password\n"
            "  user del NAME            delete an account\n"
            "  user list                list the accounts\n"
            "  hash-password            print the Argon2id hash of a password (from the\n"
            "                           terminal or stdin), for [irc] opers\n"
            "\n"
            "Exit status: 0 after a clean shutdown, 1 on a run-time failure, 2 on a bad command\n"
            "line or configuration (the message names the file, line and key).\n");
}

static struct cfg *
config_read(const char *file, char **overrides, size_t noverrides, char *err, size_t errcap)
{
    struct cfg *cfg = cfg_new();
    const struct cfg_section_schema *schema;
    size_t nschema;
    int rc;

    if (file != NULL) {
        rc = cfg_load_file(cfg, file, err, errcap);
    } else {
        rc = cfg_load_string(cfg, registry_defaults(), "<defaults>", err, errcap);
    }
    for (size_t i = 0; rc == 0 && i < noverrides; i++) {
        rc = cfg_override(cfg, overrides[i], err, errcap);
    }
    if (rc == 0) {
        schema = registry_schema(server_keys, &nschema);
        rc = cfg_validate(cfg, schema, nschema, err, errcap);
    }
    if (rc < 0) {
        cfg_free(cfg);
        return NULL;
    }
    return cfg;
}

struct cfg *
config_load(const char *file, char **overrides, size_t noverrides)
{
    char err[CFG_ERR_MAX];
    struct cfg *cfg = config_read(file, overrides, noverrides, err, sizeof(err));

    if (cfg == NULL) {
        fprintf(stderr, "switchboard: %s\n", err);
    }
    return cfg;
}

/* What the daemon was started with, for services that re-read their section (IRC's REHASH). */
static const char *cfg_file;
static char **cfg_overrides;
static size_t cfg_noverrides;

static struct cfg *
config_reread(char *err, size_t errcap)
{
    return config_read(cfg_file, cfg_overrides, cfg_noverrides, err, errcap);
}

static int
mkdir_p(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);

    if (n == 0 || n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0750) < 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0750) < 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

int
data_dir_prepare(const struct cfg *cfg)
{
    const char *dir = cfg_str(cfg, "server", "data_dir");
    char where[400], probe[4200];
    struct stat st;
    FILE *f;

    cfg_where(cfg, "server", "data_dir", where, sizeof(where));
    if (mkdir_p(dir) < 0) {
        fprintf(stderr, "switchboard: %s: cannot create %s: %s\n", where, dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "switchboard: %s: %s is not a directory\n", where, dir);
        return -1;
    }
    /* access() says yes to root on a read-only mount; creating a file tells the truth. */
    snprintf(probe, sizeof(probe), "%s/.write-test.%ld", dir, (long)getpid());
    f = fopen(probe, "w");
    if (f == NULL) {
        fprintf(stderr, "switchboard: %s: %s is not writable: %s\n", where, dir, strerror(errno));
        return -1;
    }
    fclose(f);
    unlink(probe);
    return 0;
}

static int
write_ports_file(const char *path)
{
    char tmp[4200];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        log_error("cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    registry_describe(f);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        log_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static struct event *sig_events[3];

static void
shutdown_cb(evutil_socket_t sig, short what, void *arg)
{
    log_info("%s received: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    registry_stop_listening();
    /* Workers first: their completions still reach the services and their sessions. Then the
     * serving loops, which close their own sessions. */
    work_shutdown();
    loops_stop();
    conn_close_all();
    registry_stop();
    for (size_t i = 0; i < 3; i++) {
        if (sig_events[i]) {
            event_free(sig_events[i]);
            sig_events[i] = NULL;
        }
    }
    event_base_loopbreak(loop_base());
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
    if (registry_reload() == 0) {
        log_info("SIGHUP received: no running service has anything to reload");
    }
}

static int
run(struct cfg *cfg, bool embedded)
{
    struct service_env env = {cfg, NULL, embedded, config_reread,
                              cfg_file ? cfg_file : "<defaults>"};
    char err[CFG_ERR_MAX];
    const char *ports_file = cfg_str(cfg, "server", "ports_file");
    int rc = EXIT_RUNTIME;

    if (data_dir_prepare(cfg) < 0) {
        return EXIT_CONFIG;
    }
    loop_raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    if (loop_init() < 0) {
        return EXIT_RUNTIME;
    }
    env.db = db_open(cfg_str(cfg, "server", "data_dir"), err, sizeof(err));
    if (env.db == NULL) {
        fprintf(stderr, "switchboard: %s\n", err);
        goto out;
    }
    password_set_cost(
        (enum password_cost)password_cost_parse(cfg_str(cfg, "server", "password_cost")));
    if (work_init((unsigned)cfg_int(cfg, "server", "workers"), WORK_QUEUE_MAX) < 0) {
        goto out;
    }
    if (registry_start(&env, err, sizeof(err)) < 0) {
        fprintf(stderr, "switchboard: %s\n", err);
        work_shutdown();
        loops_stop();
        rc = EXIT_CONFIG;
        goto out;
    }
    if (ports_file[0] && write_ports_file(ports_file) < 0) {
        registry_stop_listening();
        work_shutdown();
        loops_stop();
        registry_stop();
        goto out;
    }
    sig_events[0] = evsignal_new(loop_base(), SIGINT, shutdown_cb, NULL);
    sig_events[1] = evsignal_new(loop_base(), SIGTERM, shutdown_cb, NULL);
    sig_events[2] = evsignal_new(loop_base(), SIGHUP, hup_cb, NULL);
    for (size_t i = 0; i < 3; i++) {
        event_add(sig_events[i], NULL);
    }
    log_info("switchboard %s ready; data in %s", SB_VERSION, cfg_str(cfg, "server", "data_dir"));
    registry_banner();

    if (loop_run() < 0) {
        log_error("event loop failed");
        goto out;
    }
    rc = 0;
    log_info("stopped");
out:
    db_close(env.db);
    loop_free();
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"option", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    char **overrides = xcalloc((size_t)argc, sizeof(char *));
    size_t noverrides = 0;
    struct cfg *cfg;
    int c, rc;

    while ((c = getopt_long(argc, argv, "+c:o:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            file = optarg;
            break;
        case 'o':
            overrides[noverrides++] = optarg;
            break;
        case 'h':
            usage(stdout);
            free(overrides);
            return 0;
        case 'V':
            printf("switchboard %s\n", SB_VERSION);
            free(overrides);
            return 0;
        default:
            usage(stderr);
            free(overrides);
            return EXIT_CONFIG;
        }
    }
    if (optind < argc && strcmp(argv[optind], "user") != 0 &&
        strcmp(argv[optind], "hash-password") != 0) {
        fprintf(stderr, "switchboard: unknown command '%s' (try --help)\n", argv[optind]);
        free(overrides);
        return EXIT_CONFIG;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "switchboard: cannot initialise libsodium\n");
        free(overrides);
        return EXIT_RUNTIME;
    }
    cfg = config_load(file, overrides, noverrides);
    if (cfg == NULL) {
        free(overrides);
        return EXIT_CONFIG;
    }
    cfg_file = file;
    cfg_overrides = overrides;
    cfg_noverrides = noverrides;
    log_setup((enum log_level)log_parse_level(cfg_str(cfg, "server", "log_level")),
              cfg_bool(cfg, "server", "syslog"));
    if (optind < argc && strcmp(argv[optind], "hash-password") == 0) {
        rc = admin_hash_password(cfg, argc - optind, argv + optind);
    } else if (optind < argc) {
        rc = admin_main(cfg, argc - optind, argv + optind);
    } else {
        rc = run(cfg, file == NULL);
    }
    cfg_free(cfg);
    free(overrides);
    return rc;
}
