/* SPDX-License-Identifier: MIT */
#include "cli/text.h"

#include <stdint.h>
#include <stdio.h>

#include "core/mem.h"

size_t
utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;

    if (p[0] < 0x80) {
        return 1;
    }
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2, cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3, cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4, cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return len;
}

char *
text_escape(const char *p, size_t n, bool multiline)
{
    const unsigned char *u = (const unsigned char *)p;
    char *out = xmalloc(4 * n + 1), *o = out;

    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t len = utf8_seq_len(u + i, n - i);

        if (multiline && (c == '\n' || c == '\t' || c == '\\')) {
            *o++ = (char)c;
            i++;
            continue;
        }
        switch (c) {
        case '\\':
            *o++ = '\\', *o++ = '\\';
            i++;
            continue;
        case '\n':
            *o++ = '\\', *o++ = 'n';
            i++;
            continue;
        case '\t':
            *o++ = '\\', *o++ = 't';
            i++;
            continue;
        case '\r':
            *o++ = '\\', *o++ = 'r';
            i++;
            continue;
        default:
            break;
        }
        /* C0 controls, DEL, and C1 controls (U+0080-U+009F, encoded C2 80-9F) are escaped. */
        bool control = c < 0x20 || c == 0x7f || (len == 2 && c == 0xc2 && u[i + 1] < 0xa0);
        if (len == 0 || control) {
            size_t k = len ? len : 1;
            for (size_t j = 0; j < k; j++) {
                o += snprintf(o, 5, "\\x%02X", u[i + j]);
            }
            i += k;
            continue;
        }
        for (size_t j = 0; j < len; j++) {
            *o++ = (char)u[i + j];
        }
        i += len;
    }
    *o = '\0';
    return out;
}
