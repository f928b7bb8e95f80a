/* SPDX-License-Identifier: MIT */
/*
 * Showing text that came from the network on a terminal or in a line-oriented output: a peer must
 * not be able to move the cursor, change colours or fake lines with control characters.
 */
#ifndef SB_CLI_TEXT_H
#define SB_CLI_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/**
 * text_escape() - a safe rendering of @p,@n as a new NUL-terminated string (free() it).
 * Valid UTF-8 passes through; a backslash becomes "\\", newline "\n", tab "\t", carriage return
 * "\r", and every other control character (C0, DEL, C1) or byte that is not part of valid UTF-8
 * becomes "\xHH" (one per byte). With @multiline, newlines and tabs are kept as they are (and
 * backslashes too), for a chat window.
 */
char *text_escape(const char *p, size_t n, bool multiline);

/** utf8_seq_len() - length of the valid UTF-8 sequence at @p (1-4), or 0 if it is invalid. */
size_t utf8_seq_len(const unsigned char *p, size_t n);

#endif
