/* SPDX-License-Identifier: MIT */
/* sb: what every subcommand shares (options, exit codes). */
#ifndef SB_CLI_CLI_H
#define SB_CLI_CLI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "proto/eurechat.h"

/* Exit codes, documented in the README. */
enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1,  /* anything unexpected (cannot listen, out of descriptors...) */
    EXIT_USAGE = 2,     /* bad command line, no password available */
    EXIT_DIRECTORY = 3, /* the directory cannot be reached, or its connection failed */
    EXIT_AUTH = 4,      /* the directory refused USER/PASS */
    EXIT_NO_USER = 5,   /* the user asked for is not in the directory */
    EXIT_PEER = 6,      /* the peer cannot be reached or did not confirm the message */
    EXIT_BIND = 7,      /* the directory refused our BIND */
};

#define CLI_DIR_ADDRS_MAX 8
#define CLI_MESSAGE_MAX 65536 /* largest MESSAGE payload sent or accepted */

struct cli_opts {
    const char *user;
    char password[PASSWORD_MAX + 1];
    char directory[300]; /* as shown to the user: "127.0.0.1:8888" */
    struct sockaddr_storage dir_addr[CLI_DIR_ADDRS_MAX];
    socklen_t dir_len[CLI_DIR_ADDRS_MAX];
    size_t ndir;
    double timeout;        /* connect and answer timeout, seconds */
    const char *listen;    /* --listen HOST:PORT, or NULL: the directory connection's address */
    const char *advertise; /* --advertise ADDR, or NULL */
};

/* Subcommands; each returns the process exit code. */
int cmd_who(struct cli_opts *o, int argc, char **argv);
int cmd_send(struct cli_opts *o, int argc, char **argv);
int cmd_listen(struct cli_opts *o, int argc, char **argv);
int cmd_chat(struct cli_opts *o, int argc, char **argv);

/* Subcommands that parse their own options (argv[0] is the command's name). */
int cmd_echo(int argc, char **argv);
int cmd_get(int argc, char **argv);
int cmd_words(int argc, char **argv);

/** cli_fail() - print "sb: MSG" on stderr; returns @code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_vfail(int code, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/** cli_usage_error() - report what getopt_long() returned in @c (':' or '?') for @argv as one
 * line naming the option, with @hint ("sb get --help"); returns EXIT_USAGE. */
int cli_usage_error(int c, char **argv, const char *hint);

#endif
