/* SPDX-License-Identifier: MIT */
#include "core/term.h"

#include <signal.h>
#include <string.h>
#include <termios.h>

/* While echo is off, a signal that ends the process must first turn it back on. */
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSIGNALS (sizeof(fatal_signals) / sizeof(fatal_signals[0]))
static struct termios saved_modes;
static volatile sig_atomic_t saved_fd = -1;

static void
restore_and_reraise(int sig)
{
    if (saved_fd >= 0) {
        tcsetattr(saved_fd, TCSAFLUSH, &saved_modes);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int
term_read_line(FILE *in, const char *prompt, bool echo_off, char *buf, size_t cap)
{
    struct termios old, quiet;
    struct sigaction sa, prev[NSIGNALS];
    bool restore = false;
    size_t n;

    if (prompt) {
        fputs(prompt, stderr);
        fflush(stderr);
    }
    if (echo_off && tcgetattr(fileno(in), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        saved_modes = old;
        saved_fd = fileno(in);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = restore_and_reraise;
        sigemptyset(&sa.sa_mask);
        for (size_t i = 0; i < NSIGNALS; i++) {
            sigaction(fatal_signals[i], &sa, &prev[i]);
        }
        restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
    }
    char *got = fgets(buf, (int)cap, in);
    if (saved_fd >= 0) {
        if (restore) {
            tcsetattr(fileno(in), TCSAFLUSH, &old);
            fputc('\n', stderr);
        }
        saved_fd = -1;
        for (size_t i = 0; i < NSIGNALS; i++) {
            sigaction(fatal_signals[i], &prev[i], NULL);
        }
    }
    if (got == NULL) {
        return -1;
    }
    n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n' && !feof(in)) {
        return -2; /* longer than the buffer */
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        buf[--n] = '\0';
    }
    return 0;
}
