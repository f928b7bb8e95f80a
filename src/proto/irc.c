/* SPDX-License-Identifier: MIT */
/*
 * The IRC client protocol's pure parts: the message line (cut in place), tag escaping, the rfc1459
 * casemapping, name rules, ban masks and mode strings. It never allocates, logs or touches a
 * socket; what a command means is the IRC service's business.
 */
#include "proto/irc.h"

#include <stdint.h>
#include <string.h>

#include "proto/ascii.h"
#include "proto/parse.h"
#include "proto/words.h"

static enum parse_result
parse_err(const char **why, const char *msg)
{
    if (why != NULL) {
        *why = msg;
    }
    return PARSE_ERR;
}

/* ----------------------------------------------------------------------------------------- */
/* The message line */

/* A line may end in one CR (the framer cut at LF); it is not part of the message. */
static size_t
strip_cr(const char *line, size_t n)
{
    return n > 0 && line[n - 1] == '\r' ? n - 1 : n;
}

/* Bytes of the tags section, '@' and the first space after it included (all of it when the line
 * has no space). The parser and the length check must agree on this. */
static size_t
tags_len(const char *line, size_t n)
{
    if (n == 0 || line[0] != '@') {
        return 0;
    }
    const char *sp = memchr(line, ' ', n);
    return sp != NULL ? (size_t)(sp - line) + 1 : n;
}

enum irc_len_check
irc_check_lengths(const char *line, size_t n)
{
    n = strip_cr(line, n);
    size_t taglen = tags_len(line, n);

    if (taglen > IRC_CLIENT_TAGS_MAX + 2) {
        return IRC_LEN_TAGS;
    }
    if (n - taglen > IRC_LINE_MAX - 2) {
        return IRC_LEN_BODY;
    }
    return IRC_LEN_OK;
}

/* Printable ASCII without ':' and '@': wider than any real command (letters, or three digits), so
 * that an unknown one such as FOO_BAR still parses and gets ERR_UNKNOWNCOMMAND from the server. */
static bool
command_valid(const char *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)c[i];
        if (b < 0x21 || b > 0x7E || b == ':' || b == '@') {
            return false;
        }
    }
    return true;
}

enum parse_result
irc_parse(char *line, size_t n, struct irc_msg *m, const char **why)
{
    memset(m, 0, sizeof(*m));
    line[n] = '\0';
    if (memchr(line, '\0', n) != NULL) {
        return parse_err(why, "NUL byte in the line");
    }
    n = strip_cr(line, n);
    line[n] = '\0';
    /* A bare CR or LF inside would end the line early at whoever we relay it to. */
    if (memchr(line, '\r', n) != NULL || memchr(line, '\n', n) != NULL) {
        return parse_err(why, "CR or LF inside the line");
    }

    size_t i = 0;
    m->taglen = tags_len(line, n);
    m->bodylen = n - m->taglen;
    if (m->taglen > 0) {
        m->tags = line + 1;
        i = m->taglen;
        if (i <= n && line[i - 1] == ' ') {
            line[i - 1] = '\0';
        }
    }
    while (i < n && line[i] == ' ') {
        i++;
    }
    if (i >= n) {
        if (m->taglen > 0) {
            return parse_err(why, "tags without a command");
        }
        return PARSE_AGAIN;
    }

    if (line[i] == ':') {
        m->source = line + i + 1;
        while (i < n && line[i] != ' ') {
            i++;
        }
        if (line + i == m->source) {
            return parse_err(why, "empty source");
        }
        if (i < n) {
            line[i++] = '\0'; /* the space after it */
        }
        while (i < n && line[i] == ' ') {
            i++;
        }
    }

    size_t start = i;
    while (i < n && line[i] != ' ') {
        i++;
    }
    if (i == start) {
        return parse_err(why, "no command");
    }
    if (!command_valid(line + start, i - start)) {
        return parse_err(why, "command is not printable ASCII");
    }
    if (i - start > IRC_COMMAND_MAX) {
        return parse_err(why, "command too long");
    }
    m->command = line + start;

    while (i < n) {
        line[i++] = '\0'; /* the space that ended the previous token */
        while (i < n && line[i] == ' ') {
            i++;
        }
        if (i >= n) {
            break;
        }
        if (line[i] == ':' || m->nparams == IRC_PARAMS_MAX - 1) {
            /* RFC 1459: the trailing parameter, or the 15th, takes the rest of the line. */
            m->trailing = line[i] == ':';
            m->params[m->nparams++] = line + i + (m->trailing ? 1 : 0);
            break;
        }
        m->params[m->nparams++] = line + i;
        while (i < n && line[i] != ' ') {
            i++;
        }
    }
    return PARSE_OK;
}

/* ----------------------------------------------------------------------------------------- */
/* Tags */

bool
irc_tag_next(const char *tags, size_t *pos, struct irc_tag *t)
{
    size_t i = *pos;

    if (tags == NULL) {
        return false;
    }
    while (tags[i] == ';') {
        i++;
    }
    if (tags[i] == '\0' || tags[i] == ' ') {
        *pos = i;
        return false;
    }
    size_t k = i;
    while (tags[i] != '\0' && tags[i] != ' ' && tags[i] != ';' && tags[i] != '=') {
        i++;
    }
    t->key.p = tags + k;
    t->key.n = i - k;
    t->value.p = NULL;
    t->value.n = 0;
    if (tags[i] == '=') {
        size_t v = ++i;
        while (tags[i] != '\0' && tags[i] != ' ' && tags[i] != ';') {
            i++;
        }
        t->value.p = tags + v;
        t->value.n = i - v;
    }
    *pos = i;
    return true;
}

static bool
key_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-';
}

bool
irc_tag_key_valid(struct str k)
{
    size_t i = 0;

    if (k.n > 0 && k.p[0] == '+') {
        i = 1;
    }
    const char *slash = k.n > i ? memchr(k.p + i, '/', k.n - i) : NULL;
    if (slash != NULL) {
        size_t end = (size_t)(slash - k.p);
        if (end == i) {
            return false; /* empty vendor */
        }
        for (; i < end; i++) {
            unsigned char c = (unsigned char)k.p[i];
            if (!key_char(c) && c != '.') {
                return false;
            }
        }
        i = end + 1;
    }
    if (i >= k.n) {
        return false;
    }
    for (; i < k.n; i++) {
        if (!key_char((unsigned char)k.p[i])) {
            return false;
        }
    }
    return true;
}

size_t
irc_tag_unescape(struct str v, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (c == '\\') {
            if (++i == v.n) {
                break; /* a lone trailing backslash is dropped */
            }
            switch (v.p[i]) {
            case ':':
                c = ';';
                break;
            case 's':
                c = ' ';
                break;
            case 'r':
                c = '\r';
                break;
            case 'n':
                c = '\n';
                break;
            default:
                c = v.p[i]; /* "\\" and anything else: the byte itself */
                break;
            }
        }
        if (o + 1 >= cap) {
            return (size_t)-1;
        }
        out[o++] = c;
    }
    if (o >= cap) {
        return (size_t)-1;
    }
    out[o] = '\0';
    return o;
}

size_t
irc_tag_escape(const char *v, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char e = 0;
        switch (v[i]) {
        case ';':
            e = ':';
            break;
        case ' ':
            e = 's';
            break;
        case '\\':
            e = '\\';
            break;
        case '\r':
            e = 'r';
            break;
        case '\n':
            e = 'n';
            break;
        default:
            break;
        }
        size_t need = e != 0 ? 2 : 1;
        if (o + need >= cap) {
            return (size_t)-1;
        }
        if (e != 0) {
            out[o++] = '\\';
            out[o++] = e;
        } else {
            out[o++] = v[i];
        }
    }
    if (o >= cap) {
        return (size_t)-1;
    }
    out[o] = '\0';
    return o;
}

/* ----------------------------------------------------------------------------------------- */
/* Casemapping */

char
irc_tolower(char c)
{
    switch (c) {
    case '[':
        return '{';
    case ']':
        return '}';
    case '\\':
        return '|';
    case '~':
        return '^';
    default:
        return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
}

void
irc_fold(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = irc_tolower(s[i]);
    }
    out[n] = '\0';
}

int
irc_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)irc_tolower(*a);
        unsigned char y = (unsigned char)irc_tolower(*b);
        if (x != y || x == '\0') {
            return (int)x - (int)y;
        }
    }
}

/* ----------------------------------------------------------------------------------------- */
/* Names */

static bool
nick_special(unsigned char c)
{
    return c != '\0' && strchr("[]\\`_^{|}", c) != NULL;
}

bool
irc_nick_valid(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max) {
        return false;
    }
    unsigned char c = (unsigned char)s[0];
    if (!is_alpha(c) && !nick_special(c)) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        c = (unsigned char)s[i];
        if (!is_alpha(c) && !nick_special(c) && !is_digit(c) && c != '-') {
            return false;
        }
    }
    return true;
}

bool
irc_user_valid(const char *s, size_t n, size_t max)
{
    if (n == 0 || n > max) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case ' ':
        case '\0':
        case '\r':
        case '\n':
        case '@':
            return false;
        default:
            break;
        }
    }
    return true;
}

bool
irc_chan_valid(const char *s, size_t n, size_t max, const char *chantypes)
{
    if (chantypes == NULL) {
        chantypes = "#&";
    }
    if (n < 2 || n > max || s[0] == '\0' || strchr(chantypes, s[0]) == NULL) {
        return false;
    }
    for (size_t i = 1; i < n; i++) {
        switch (s[i]) {
        case ' ':
        case ',':
        case '\a':
        case '\0':
        case '\r':
        case '\n':
        case ':':
            return false;
        default:
            break;
        }
    }
    return irc_utf8_valid(s, n);
}

bool
irc_utf8_valid(const char *p, size_t n)
{
    return words_utf8_valid(p, n);
}

/* ----------------------------------------------------------------------------------------- */
/* Masks */

/*
 * The classic greedy glob: remember the last '*' and how much of @s it has eaten; on a mismatch let
 * it eat one byte more. A later '*' supersedes an earlier one (whatever the earlier one would have
 * to eat, the later one can eat instead), so one backtrack point is enough and every step advances
 * either through @s or the backtrack point: O(len(mask) * len(s)) at worst.
 */
bool
irc_mask_match(const char *mask, const char *s)
{
    const char *star = NULL, *resume = NULL;

    while (*s != '\0') {
        if (*mask == '*') {
            while (*mask == '*') {
                mask++;
            }
            if (*mask == '\0') {
                return true;
            }
            star = mask;
            resume = s;
        } else if (*mask != '\0' && (*mask == '?' || irc_tolower(*mask) == irc_tolower(*s))) {
            mask++;
            s++;
        } else if (star != NULL) {
            mask = star;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*mask == '*') {
        mask++;
    }
    return *mask == '\0';
}

/* Append @p[0..@n), or "*" when it is empty, at *@o; false when it does not fit with a NUL. */
static bool
put_part(char *out, size_t cap, size_t *o, const char *p, size_t n)
{
    if (n == 0) {
        p = "*";
        n = 1;
    }
    if (n >= cap - *o) {
        return false;
    }
    memcpy(out + *o, p, n);
    *o += n;
    return true;
}

size_t
irc_mask_normalize(const char *in, char *out, size_t cap)
{
    size_t n = strlen(in);

    if (n == 0 || memchr(in, ' ', n) != NULL || cap == 0) {
        return 0;
    }
    const char *ex = strchr(in, '!');
    const char *at = strchr(ex != NULL ? ex + 1 : in, '@');
    const char *end = in + n;
    const char *nick = "", *user = "", *host = "";
    size_t nn = 0, un = 0, hn = 0;

    if (ex == NULL && at == NULL) {
        /* Nicknames have neither '.' nor ':', hostnames and IPv6 addresses do. */
        if (strchr(in, '.') != NULL || strchr(in, ':') != NULL) {
            host = in;
            hn = n;
        } else {
            nick = in;
            nn = n;
        }
    } else {
        const char *u = in;
        if (ex != NULL) {
            nick = in;
            nn = (size_t)(ex - in);
            u = ex + 1;
        }
        user = u;
        un = (size_t)((at != NULL ? at : end) - u);
        if (at != NULL) {
            host = at + 1;
            hn = (size_t)(end - host);
        }
    }
    size_t o = 0;
    if (!put_part(out, cap, &o, nick, nn) || !put_part(out, cap, &o, "!", 1) ||
        !put_part(out, cap, &o, user, un) || !put_part(out, cap, &o, "@", 1) ||
        !put_part(out, cap, &o, host, hn)) {
        return 0;
    }
    out[o] = '\0';
    return o;
}

/* ----------------------------------------------------------------------------------------- */
/* Mode strings */

static void
add_unknown(char *unknown, size_t ucap, char c)
{
    if (unknown == NULL || ucap == 0) {
        return;
    }
    size_t len = strlen(unknown);
    if (memchr(unknown, c, len) == NULL && len + 1 < ucap) {
        unknown[len] = c;
        unknown[len + 1] = '\0';
    }
}

size_t
irc_modes_parse(const struct irc_mode_spec *spec, const char *modes, const char *const *args,
                size_t nargs, struct irc_mode_change *out, size_t max, char *unknown, size_t ucap)
{
    size_t count = 0, a = 0;
    bool add = true;

    if (unknown != NULL && ucap > 0) {
        unknown[0] = '\0';
    }
    for (const char *p = modes; *p != '\0' && count < max; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '+' || c == '-') {
            add = c == '+';
            continue;
        }
        enum irc_mode_kind kind = c < 128 ? (enum irc_mode_kind)spec->kind[c] : IRC_MODE_UNKNOWN;
        bool takes;
        switch (kind) {
        case IRC_MODE_LIST:
        case IRC_MODE_ALWAYS:
            takes = true;
            break;
        case IRC_MODE_SET:
            takes = add;
            break;
        case IRC_MODE_FLAG:
            takes = false;
            break;
        default:
            add_unknown(unknown, ucap, (char)c);
            continue;
        }
        const char *arg = NULL;
        if (takes) {
            if (a < nargs) {
                arg = args[a++];
            } else if (kind != IRC_MODE_LIST) {
                continue; /* needs an argument and none is left */
            }
        }
        out[count].add = add;
        out[count].mode = (char)c;
        out[count].arg = arg;
        count++;
    }
    return count;
}
