/* SPDX-License-Identifier: MIT */
/*
 * The IRC client protocol's pure parts: one message line (IRCv3 tags, source, command,
 * parameters), tag value escaping, the rfc1459 casemapping, nickname and channel name rules,
 * ban masks and mode strings. No I/O, no allocation: the parser cuts the caller's buffer in place.
 * What a server does with a message lives in src/services/irc.
 */
#ifndef SB_PROTO_IRC_H
#define SB_PROTO_IRC_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/parse.h"

/* A line without its tags, CRLF included (RFC 1459 2.3). */
#define IRC_LINE_MAX 512
/* The tags section of a line, '@' and the space after it included (IRCv3 message-tags). */
#define IRC_TAGS_MAX 8191
/* Client-only tags a client may send: the tags section minus the server's share. */
#define IRC_CLIENT_TAGS_MAX 4094
/* Middle and trailing parameters (RFC 1459 allows 15). */
#define IRC_PARAMS_MAX 15
#define IRC_COMMAND_MAX 32

/* One parsed line. Every pointer points into the buffer given to irc_parse(), which it has
 * NUL-terminated in place; nothing here is owned. */
struct irc_msg {
    char *tags;    /* the tags section without '@' (still escaped), or NULL */
    char *source;  /* the prefix without ':', or NULL */
    char *command; /* as sent (compare with strcasecmp) */
    char *params[IRC_PARAMS_MAX];
    size_t nparams;
    bool trailing;  /* the last parameter was introduced by ':' (it may be empty or hold spaces) */
    size_t taglen;  /* bytes of the tags section, '@' and the separating space included, or 0 */
    size_t bodylen; /* bytes after the tags section, without any CR/LF */
};

/**
 * irc_parse() - parse one line (without its CR LF; a trailing CR is tolerated) held in @line,
 * @n bytes, which is modified: separators become NULs. @line must have room for @n + 1 bytes.
 * Leading and repeated spaces between parameters are skipped (Modern IRC). More than
 * IRC_PARAMS_MAX parameters: the 15th takes the rest of the line, as RFC 1459 says.
 * A NUL byte anywhere, an empty command, a command that is not printable ASCII (or has ':' or '@'):
 * PARSE_ERR. Lengths are not checked here (see irc_check_lengths()).
 * Return: PARSE_OK or PARSE_ERR with a static reason in *@why. An empty line (or only spaces)
 * is PARSE_AGAIN: nothing to do, no error to send.
 */
enum parse_result irc_parse(char *line, size_t n, struct irc_msg *m, const char **why);

enum irc_len_check {
    IRC_LEN_OK,
    IRC_LEN_BODY, /* the part after the tags is over IRC_LINE_MAX - 2 bytes: ERR_INPUTTOOLONG */
    IRC_LEN_TAGS, /* the tags section is over IRC_CLIENT_TAGS_MAX + 2 bytes ('@' and space) */
};

/** irc_check_lengths() - check the raw line @line[0..@n) (no CR LF) against the limits above
 * before parsing it. */
enum irc_len_check irc_check_lengths(const char *line, size_t n);

/* One tag of a tags section, borrowed from it: key (with its '+' client prefix and vendor part,
 * if any) and the value still escaped (n == 0 and p == NULL when there was no '=' ). */
struct irc_tag {
    struct str key;
    struct str value;
};

/**
 * irc_tag_next() - the next tag of the tags section @tags from *@pos (start at 0).
 * Empty tags (";;") are skipped. Return: true with the tag, false at the end.
 */
bool irc_tag_next(const char *tags, size_t *pos, struct irc_tag *t);

/** irc_tag_key_valid() - is @k a well-formed tag key: optional '+', optional vendor
 * ("example.com/"), then one or more of [A-Za-z0-9-]? */
bool irc_tag_key_valid(struct str k);

/**
 * irc_tag_unescape() - decode an escaped value (\: \s \\ \r \n; a backslash before anything
 * else is dropped, a lone trailing backslash too) into @out (@cap bytes, NUL-terminated).
 * Return: its length, or (size_t)-1 if it does not fit.
 */
size_t irc_tag_unescape(struct str v, char *out, size_t cap);

/** irc_tag_escape() - the reverse, for values we send. Return: length, or (size_t)-1. */
size_t irc_tag_escape(const char *v, size_t n, char *out, size_t cap);

/* ---- casemapping: rfc1459 (A-Z [ ] \ ~ fold to a-z { } | ^) ---- */

/** irc_tolower() - one byte, rfc1459 casemapping. */
char irc_tolower(char c);

/** irc_fold() - fold @s[0..@n) into @out (@n + 1 bytes, NUL-terminated). */
void irc_fold(const char *s, size_t n, char *out);

/** irc_casecmp() - compare two NUL-terminated strings under the casemapping; 0 if equal. */
int irc_casecmp(const char *a, const char *b);

/* ---- names ---- */

/** irc_nick_valid() - 1..@max bytes; first a letter or one of [ ] \ ` _ ^ { | }; then those,
 * digits and '-'. */
bool irc_nick_valid(const char *s, size_t n, size_t max);

/** irc_user_valid() - a USER name: 1..@max bytes, no space, NUL, CR, LF, '@'. */
bool irc_user_valid(const char *s, size_t n, size_t max);

/** irc_chan_valid() - 2..@max bytes; starts with one of @chantypes ("#&"); no space, comma,
 * BEL (0x07), NUL, CR, LF or ':' after the first byte; valid UTF-8. */
bool irc_chan_valid(const char *s, size_t n, size_t max, const char *chantypes);

/** irc_utf8_valid() - is @p[0..@n) well-formed UTF-8? */
bool irc_utf8_valid(const char *p, size_t n);

/* ---- masks ---- */

/**
 * irc_mask_match() - does the NUL-terminated @s ("nick!user@host") match glob @mask under the
 * casemapping? '*' matches any run (also empty), '?' any one byte; no escapes. Iterative, no
 * recursion, O(len(mask) * len(s)) at worst.
 */
bool irc_mask_match(const char *mask, const char *s);

/**
 * irc_mask_normalize() - complete a ban mask the way servers do: "nick" -> "nick!*@*",
 * "user@host" -> "*!user@host", "nick!user" -> "nick!user@*", "host.name" (has '.' and no '!'
 * or '@') -> "*!*@host.name", empty parts become "*". Writes NUL-terminated into @out (@cap).
 * Return: the length, or 0 if @in is empty, has a space or does not fit.
 */
size_t irc_mask_normalize(const char *in, char *out, size_t cap);

/* ---- mode strings ---- */

/* How each mode letter takes a parameter (RPL_ISUPPORT CHANMODES types, plus PREFIX modes). */
enum irc_mode_kind {
    IRC_MODE_UNKNOWN = 0,
    IRC_MODE_LIST,   /* type A (b e I): parameter when setting and unsetting; none = list it */
    IRC_MODE_ALWAYS, /* type B (k) and prefix modes (o v): parameter both ways */
    IRC_MODE_SET,    /* type C (l): parameter only when setting */
    IRC_MODE_FLAG,   /* type D (i m n s t): never */
};

/* What each letter is: a table indexed by the byte ("kinds['b'] = IRC_MODE_LIST"). */
struct irc_mode_spec {
    unsigned char kind[128];
};

struct irc_mode_change {
    bool add;
    char mode;
    const char *arg; /* NULL when the mode took none, or a list mode was asked for its list */
};

/**
 * irc_modes_parse() - split "+ov-k" and its arguments @args[0..@nargs) into changes.
 * A mode string without a leading sign starts as '+'. An unknown letter goes into @unknown
 * (NUL-terminated, each letter once, at most @ucap - 1 of them) and is skipped. A mode that
 * needs an argument when none is left is dropped, except a list mode, which becomes a list
 * query (arg NULL). At most @max changes are returned (the rest are ignored, like MODES=).
 * Return: the number of changes written to @out.
 */
size_t irc_modes_parse(const struct irc_mode_spec *spec, const char *modes, const char *const *args,
                       size_t nargs, struct irc_mode_change *out, size_t max, char *unknown,
                       size_t ucap);

#endif
