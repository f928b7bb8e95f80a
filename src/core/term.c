/* SPDX-License-Identifier: MIT */
#include "core/term.h"

#include <string.h>
#include <termios.h>

int
term_read_line(FILE *in, const char *prompt, bool echo_off, char *buf, size_t cap)
{
    struct termios old, quiet;
    bool restore = false;
    size_t n;

    if (prompt) {
        fputs(prompt, stderr);
        fflush(stderr);
    }
    if (echo_off && tcgetattr(fileno(in), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
    }
    char *got = fgets(buf, (int)cap, in);
    if (restore) {
        tcsetattr(fileno(in), TCSAFLUSH, &old);
        fputc('\n', stderr);
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
