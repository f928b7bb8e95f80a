/* SPDX-License-Identifier: MIT */
/* Reading a line (a password) from a terminal or a pipe. */
#ifndef SB_CORE_TERM_H
#define SB_CORE_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/**
 * term_read_line() - read one line from @in into @buf, without its line end.
 * @prompt: written to stderr first (may be NULL)
 * @echo_off: turn the terminal's echo off while reading (when @in is a terminal)
 * Return: 0, -1 at end of input, -2 if the line does not fit in @cap.
 */
int term_read_line(FILE *in, const char *prompt, bool echo_off, char *buf, size_t cap);

#endif
