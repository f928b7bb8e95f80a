/* SPDX-License-Identifier: MIT */
/*
 * ASCII character classes for the codecs. Locale-free on purpose: <ctype.h> depends on
 * setlocale(), and a protocol's grammar does not.
 */
#ifndef SB_PROTO_ASCII_H
#define SB_PROTO_ASCII_H

#include <stdbool.h>

static inline bool
is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

#endif
