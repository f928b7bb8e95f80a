/* SPDX-License-Identifier: MIT */
/*
 * sb: the switchboard client. One subcommand per system; this file parses what they share (who
 * we are, where the directory is, the password) and runs the chosen one. Exit codes are listed
 * in cli.h and the README.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/addr.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/strutil.h"
#include "core/term.h"
#include "version.h"

#define DEFAULT_DIRECTORY "127.0.0.1:8888"
#define DEFAULT_PORT "8888"

static const char usage_text[] =
    "usage: sb COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Peer-to-peer chat through a switchboard directory:\n"
    "  sb chat   [OPTIONS]                  interactive chat (/help inside)\n"
    "  sb who    [OPTIONS] [USER]           who is online, and where\n"
    "  sb send   [OPTIONS] USER [TEXT...]   deliver one message (no TEXT: read stdin)\n"
    "  sb listen [OPTIONS]                  go online and print incoming messages\n"
    "\n"
    "Other services (each has its own --help):\n"
    "  sb echo [-u] HOST PORT | unix:PATH   send stdin to an echo server, print the echo\n"
    "  sb get [OPTIONS] URL                 fetch an http:// or https:// URL\n"
    "  sb words [OPTIONS] [COMMAND ARGS]    ask the word-frequency service (no COMMAND:\n"
    "                                       one request per line of stdin)\n"
    "\n"
    "Options of the chat commands:\n"
    "  -u, --user USER           your user name (required)\n"
    "  -d, --directory HOST:PORT the directory (default " DEFAULT_DIRECTORY ")\n"
    "      --password-file FILE  read the password from the first line of FILE\n"
    "                            (otherwise $SB_PASSWORD, otherwise asked on the terminal)\n"
    "  -t, --timeout SECONDS     connect and answer timeout (default 10)\n"
    "      --listen HOST:PORT    chat, listen: where peers connect (default: the address the\n"
    "                            directory sees, any free port)\n"
    "      --advertise ADDR      chat, listen: the address to register instead\n"
    "  -v, --verbose             log connections on stderr\n"
    "  -h, --help                this help;  -V, --version  the version\n"
    "\n"
    "Exit codes of the chat commands: 0 ok, 1 internal error, 2 usage, 3 directory\n"
    "unreachable, 4 authentication failed, 5 unknown user, 6 peer unreachable, 7 bind refused.\n";

int
cli_vfail(int code, const char *fmt, va_list ap)
{
    fputs("sb: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return code;
}

int
cli_fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    code = cli_vfail(code, fmt, ap);
    va_end(ap);
    return code;
}

int
cli_usage_error(int c, char **argv, const char *hint)
{
    if (c == ':') {
        return cli_fail(EXIT_USAGE, "option %s needs a value (try '%s')", argv[optind - 1], hint);
    }
    if (optopt) {
        return cli_fail(EXIT_USAGE, "unknown option -%c (try '%s')", optopt, hint);
    }
    return cli_fail(EXIT_USAGE, "unknown option %s (try '%s')", argv[optind - 1], hint);
}

/* "host:port", "[v6]:port", "host" or a bare IPv6 address; resolved now, before the loop runs. */
static int
resolve_directory(struct cli_opts *o, const char *spec)
{
    char host[256];
    const char *port = DEFAULT_PORT;
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints = {0}, *res = NULL;

    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':') ||
            (size_t)(close - spec - 1) >= sizeof(host)) {
            return cli_fail(EXIT_USAGE, "bad directory address %s (use HOST:PORT)", spec);
        }
        memcpy(host, spec + 1, (size_t)(close - spec - 1));
        host[close - spec - 1] = '\0';
        if (close[1] == ':') {
            port = close + 2;
        }
    } else if (colon && strchr(spec, ':') == colon) {
        if ((size_t)(colon - spec) >= sizeof(host)) {
            return cli_fail(EXIT_USAGE, "bad directory address %s", spec);
        }
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    } else if (!str_copy(host, sizeof(host), spec)) {
        return cli_fail(EXIT_USAGE, "bad directory address %s", spec);
    }
    long p;
    if (host[0] == '\0' || !parse_long(port, 1, 65535, &p)) {
        return cli_fail(EXIT_USAGE, "bad directory address %s (use HOST:PORT)", spec);
    }
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        return cli_fail(EXIT_DIRECTORY, "cannot reach the directory at %s: %s", spec,
                        gai_strerror(gai));
    }
    o->ndir = 0;
    for (struct addrinfo *ai = res; ai && o->ndir < CLI_DIR_ADDRS_MAX; ai = ai->ai_next) {
        memcpy(&o->dir_addr[o->ndir], ai->ai_addr, ai->ai_addrlen);
        o->dir_len[o->ndir++] = ai->ai_addrlen;
    }
    freeaddrinfo(res);
    snprintf(o->directory, sizeof(o->directory), "%s", spec);
    return o->ndir ? 0 : cli_fail(EXIT_DIRECTORY, "no address for the directory %s", spec);
}

static int
get_password(struct cli_opts *o, const char *file)
{
    const char *env = getenv("SB_PASSWORD");
    const char *problem;
    int rc;

    if (file) {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            return cli_fail(EXIT_USAGE, "cannot read the password file %s: %s", file,
                            strerror(errno));
        }
        rc = term_read_line(f, NULL, false, o->password, sizeof(o->password));
        fclose(f);
        if (rc == -1) {
            return cli_fail(EXIT_USAGE, "the password file %s is empty", file);
        }
    } else if (env && env[0]) {
        rc = str_copy(o->password, sizeof(o->password), env) ? 0 : -2;
    } else {
        FILE *tty = fopen("/dev/tty", "r+");
        char prompt[96];
        if (tty == NULL) {
            return cli_fail(EXIT_USAGE, "no password: use --password-file FILE or SB_PASSWORD "
                                        "(there is no terminal to ask on)");
        }
        snprintf(prompt, sizeof(prompt), "Password for %s: ", o->user);
        rc = term_read_line(tty, prompt, true, o->password, sizeof(o->password));
        fclose(tty);
        if (rc == -1) {
            return cli_fail(EXIT_USAGE, "no password given");
        }
    }
    if (rc == -2) {
        return cli_fail(EXIT_USAGE, "the password is too long (256 bytes at most)");
    }
    if ((problem = eure_password_problem(o->password)) != NULL) {
        return cli_fail(EXIT_USAGE, "%s", problem);
    }
    return 0;
}

enum { OPT_PASSWORD_FILE = 256, OPT_LISTEN, OPT_ADVERTISE };

static const struct option long_opts[] = {
    {"user", required_argument, NULL, 'u'},
    {"directory", required_argument, NULL, 'd'},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"timeout", required_argument, NULL, 't'},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"advertise", required_argument, NULL, OPT_ADVERTISE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct command {
    const char *name;
    int (*run)(struct cli_opts *o, int argc, char **argv);
    bool serves; /* takes --listen and --advertise */
    int min_args, max_args;
    const char *args;
};

static const struct command commands[] = {
    {"chat", cmd_chat, true, 0, 0, "no arguments"},
    {"who", cmd_who, false, 0, 1, "at most one USER"},
    {"send", cmd_send, false, 1, 1 << 20, "USER [TEXT...]"},
    {"listen", cmd_listen, true, 0, 0, "no arguments"},
};

/* Commands of the other services: no user, directory or password. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} standalone[] = {
    {"echo", cmd_echo},
    {"get", cmd_get},
    {"words", cmd_words},
};

int
main(int argc, char **argv)
{
    static struct cli_opts o;
    const struct command *cmd = NULL;
    const char *directory = DEFAULT_DIRECTORY, *password_file = NULL;
    bool verbose = false;
    int c, rc;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("sb %s\n", SB_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(standalone) / sizeof(standalone[0]); i++) {
        if (strcmp(argv[1], standalone[i].name) == 0) {
            signal(SIGPIPE, SIG_IGN);
            return standalone[i].run(argc - 1, argv + 1);
        }
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            cmd = &commands[i];
        }
    }
    if (cmd == NULL) {
        return cli_fail(EXIT_USAGE, "unknown command '%s' (sb --help lists them)", argv[1]);
    }
    argc--, argv++;
    o.timeout = 10;
    opterr = 0; /* one line of our own instead of getopt's */
    while ((c = getopt_long(argc, argv, "+:u:d:t:vh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            o.user = optarg;
            break;
        case 'd':
            directory = optarg;
            break;
        case 't':
            if (!parse_seconds(optarg, 0.1, 3600, &o.timeout)) {
                return cli_fail(EXIT_USAGE, "bad --timeout %s (seconds, 0.1 to 3600)", optarg);
            }
            break;
        case OPT_PASSWORD_FILE:
            password_file = optarg;
            break;
        case OPT_LISTEN:
        case OPT_ADVERTISE:
            if (!cmd->serves) {
                return cli_fail(EXIT_USAGE, "sb %s does not listen: --%s is for chat and listen",
                                cmd->name, c == OPT_LISTEN ? "listen" : "advertise");
            }
            if (c == OPT_LISTEN) {
                o.listen = optarg;
            } else {
                o.advertise = optarg;
            }
            break;
        case 'v':
            verbose = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            return cli_usage_error(c, argv, "sb --help");
        }
    }
    if (o.user == NULL || o.user[0] == '\0') {
        return cli_fail(EXIT_USAGE, "who are you? give -u USER");
    }
    if (!eure_name_valid(o.user, strlen(o.user))) {
        return cli_fail(EXIT_USAGE,
                        "a user name is 1 to %d printable ASCII characters, without "
                        "blanks or commas",
                        EURE_NAME_MAX);
    }
    if (o.advertise) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (!addr_parse_ip(o.advertise, 1, &ss, &len)) {
            return cli_fail(EXIT_USAGE, "--advertise needs a numeric IP address, not %s",
                            o.advertise);
        }
    }
    int nargs = argc - optind;
    if (nargs < cmd->min_args || nargs > cmd->max_args) {
        return cli_fail(EXIT_USAGE, "sb %s takes %s (try 'sb --help')", cmd->name, cmd->args);
    }
    if ((rc = resolve_directory(&o, directory)) != 0 || (rc = get_password(&o, password_file))) {
        return rc;
    }
    log_setup(verbose ? LOG_L_DEBUG : LOG_L_ERROR, false);
    signal(SIGPIPE, SIG_IGN);
    if (loop_init() < 0) {
        return cli_fail(EXIT_INTERNAL, "cannot start the event loop");
    }
    rc = cmd->run(&o, argc - optind, argv + optind);
    conn_close_all();
    loop_free();
    explicit_bzero(o.password, sizeof(o.password));
    return rc;
}
