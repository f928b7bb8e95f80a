/* SPDX-License-Identifier: MIT */
/* Checked conversions: every caller gets a yes/no answer instead of a silent 0 on junk. */
#include "core/strutil.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (cap == 0) {
        return false;
    }
    if (n >= cap) {
        memcpy(dst, src, cap - 1);
        dst[cap - 1] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

bool
parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
        return false;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool
parse_seconds(const char *s, double min, double max, double *out)
{
    char *end;
    double v, scale = 1.0;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) {
        return false;
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v)) {
        return false;
    }
    if (strcmp(end, "ms") == 0) {
        scale = 0.001;
    } else if (strcmp(end, "m") == 0) {
        scale = 60.0;
    } else if (strcmp(end, "h") == 0) {
        scale = 3600.0;
    } else if (*end != '\0' && strcmp(end, "s") != 0) {
        return false;
    }
    v *= scale;
    if (v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

char *
str_trim(char *s)
{
    size_t n;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    return s;
}
