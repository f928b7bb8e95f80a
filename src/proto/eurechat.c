/* SPDX-License-Identifier: MIT */
#include "proto/eurechat.h"

#include <arpa/inet.h>
#include <string.h>

const char *
eure_password_problem(const char *pw)
{
    size_t n = strlen(pw);

    if (n == 0) {
        return "the password is empty";
    }
    if (n > PASSWORD_MAX) {
        return "the password is too long (256 bytes at most)";
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)pw[i];
        if (c <= 0x20 || c == 0x7f) {
            return "the password contains a space or a control character (the directory "
                   "protocol carries it as one word)";
        }
    }
    return NULL;
}

/* Copy the field [p, p+n) into @dst of @cap bytes if it fits, is not empty and holds no blank
 * or control byte (NUL included). */
static bool
field(char *dst, size_t cap, const char *p, size_t n)
{
    if (n == 0 || n >= cap) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)p[i] <= 0x20 || p[i] == 0x7f) {
            return false;
        }
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

bool
eure_name_valid(const char *p, size_t n)
{
    if (n == 0 || n > EURE_NAME_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || c == ',') {
            return false;
        }
    }
    return true;
}

int
eure_result_next(const char *p, size_t n, size_t *pos, struct eure_binding *b)
{
    const char *line = p + *pos, *end, *c1, *c2;
    size_t len;
    unsigned char buf[16];
    unsigned long port = 0;

    if (*pos >= n) {
        return 0;
    }
    end = memchr(line, '\n', n - *pos);
    len = end ? (size_t)(end - line) : n - *pos;
    c1 = memchr(line, ',', len);
    c2 = c1 ? memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - line)) : NULL;
    if (c2 == NULL || !eure_name_valid(line, (size_t)(c1 - line)) ||
        !field(b->user, sizeof(b->user), line, (size_t)(c1 - line)) ||
        !field(b->addr, sizeof(b->addr), c1 + 1, (size_t)(c2 - c1 - 1))) {
        return -1;
    }
    if (inet_pton(AF_INET, b->addr, buf) != 1 && inet_pton(AF_INET6, b->addr, buf) != 1) {
        return -1;
    }
    const char *d = c2 + 1, *dend = line + len;
    if (d == dend || dend - d > 5) {
        return -1;
    }
    for (; d < dend; d++) {
        if (*d < '0' || *d > '9') {
            return -1;
        }
        port = port * 10 + (unsigned long)(*d - '0');
    }
    if (port == 0 || port > 65535) {
        return -1;
    }
    b->port = (unsigned)port;
    *pos += len + (end ? 1 : 0);
    return 1;
}
