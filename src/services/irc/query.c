/* SPDX-License-Identifier: MIT */
/*
 * The IRC service's informational commands (WHO with WHOX, WHOIS, WHOWAS, ISON, USERHOST,
 * VERSION, TIME, INFO, ADMIN), user modes (MODE on a nick) and SETNAME. These only read the
 * shared state and answer the asking client; the one exception, SETNAME, tells the peers that
 * asked for it. Visibility (+i users, +s channels) is decided here, with chan.c's
 * irc_chan_visible() for channels.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/loop.h"
#include "core/strutil.h"
#include "services/irc/irc.h"
#include "version.h"

/* A line's payload after ":server NUM target " must leave room for those and CR LF. */
#define LINE_ROOM (IRC_LINE_MAX - 2)

/* USERHOST answers at most this many nicks (RFC 1459). */
#define USERHOST_MAX 5
/* WHOIS and WHOWAS answer at most this many comma-separated targets per command. */
#define QUERY_TARGETS_MAX 5
/* WHOWAS shows at most this many entries per target, whatever the count ("WHOWAS *" would
 * otherwise dump the whole history). */
#define WHOWAS_REPLIES_MAX 50

static const char *const info_lines[] = {
    ("switchboard " SB_VERSION),
    "One small, fast, secure daemon that hosts classic client/server systems",
    "as services on one event-driven core. This is its IRC service.",
    "It follows RFC 1459, RFC 2812, the Modern IRC client protocol and IRCv3.",
};

static bool
is_oper(const struct client *c)
{
    return (c->umodes & UMODE_OPER) != 0;
}

static bool
listed(const struct client *c)
{
    return (c->state & CL_READY) && !c->dead;
}

/* Does @a share a channel with @b? At most max_channels squared steps (irc_member() walks
 * @b's list), so walk the shorter list here. */
static bool
shares_channel(const struct client *a, const struct client *b)
{
    if (a->nchans > b->nchans) {
        const struct client *t = a;
        a = b;
        b = t;
    }
    for (const struct member *m = a->chans; m != NULL; m = m->cl_next) {
        if (irc_member(b, m->ch) != NULL) {
            return true;
        }
    }
    return false;
}

/* May @asker see @t in a WHO mask search? (+i hides users from strangers, not from opers.) */
static bool
user_visible(const struct client *asker, const struct client *t)
{
    return asker == t || !(t->umodes & UMODE_INVISIBLE) || is_oper(asker) ||
           shares_channel(asker, t);
}

/* Seconds since @c last sent PRIVMSG or NOTICE, or since it signed on if never. */
static long
idle_seconds(const struct client *c)
{
    double idle;

    if (c->last_msg > 0) {
        idle = loop_now() - c->last_msg;
    } else {
        idle = difftime(time(NULL), c->signon);
    }
    return idle > 0 ? (long)idle : 0;
}

static bool
has_wildcards(const char *s)
{
    return strpbrk(s, "*?") != NULL;
}

/* The text after the server name in 312: what this server is. */
static const char *
server_info(const struct ircd *d)
{
    if (d->set.description[0]) {
        return d->set.description;
    }
    return d->set.network[0] ? d->set.network : "switchboard";
}

/*
 * The optional <server> (or <target>) parameter of VERSION, TIME, INFO, ADMIN and WHOIS: this
 * server's name, a mask matching it, or the nick of one of our users all mean this server. Any
 * other is answered with 402 and false.
 */
static bool
server_param_ok(struct client *cl, const char *p)
{
    struct ircd *d = cl->d;

    if (p[0] == '\0' || irc_mask_match(p, d->set.server_name) || irc_find_nick(d, p) != NULL) {
        return true;
    }
    irc_reply(cl, ERR_NOSUCHSERVER, p);
    return false;
}

/* Appends " word" (or "word" first) to @buf (length *@len, capacity @cap) if it fits. */
static bool
append_word(char *buf, size_t *len, size_t cap, const char *word)
{
    size_t wl = strlen(word);
    size_t need = wl + (*len > 0 ? 1 : 0);

    if (*len + need + 1 > cap) {
        return false;
    }
    if (*len > 0) {
        buf[(*len)++] = ' ';
    }
    memcpy(buf + *len, word, wl + 1);
    *len += wl;
    return true;
}

/* Room for a reply's payload: the line minus ":server NUM target " and CR LF. */
static size_t
reply_room(const struct client *cl, size_t extra)
{
    size_t used = 1 + strlen(cl->d->set.server_name) + 5 + strlen(irc_nick_or_star(cl)) + 1;

    used += extra;
    return used < LINE_ROOM ? LINE_ROOM - used : 0;
}

/* ---- MODE nick ---- */

void
irc_user_mode(struct client *cl, struct irc_msg *m)
{
    struct client *t = irc_find_nick(cl->d, m->params[0]);
    unsigned before = cl->umodes;
    bool add = true, unknown = false;
    char buf[16];

    if (t != cl) {
        if (t != NULL) {
            irc_reply(cl, ERR_USERSDONTMATCH);
        } else {
            irc_reply(cl, ERR_NOSUCHNICK, m->params[0]);
        }
        return;
    }
    if (m->nparams < 2 || m->params[1][0] == '\0') {
        irc_reply(cl, RPL_UMODEIS, irc_umode_string(cl, buf, sizeof(buf)));
        return;
    }
    for (const char *p = m->params[1]; *p; p++) {
        switch (*p) {
        case '+':
        case '-':
            add = *p == '+';
            break;
        case 'i':
        case 'w':
        case 'B': {
            unsigned bit = *p == 'i' ? UMODE_INVISIBLE : *p == 'w' ? UMODE_WALLOPS : UMODE_BOT;
            cl->umodes = add ? cl->umodes | bit : cl->umodes & ~bit;
            break;
        }
        case 'o':
            /* Only OPER grants +o; anyone may give it up. */
            if (!add) {
                cl->umodes &= ~(unsigned)UMODE_OPER;
            }
            break;
        default:
            unknown = true;
            break;
        }
    }
    if (unknown) {
        irc_reply(cl, ERR_UMODEUNKNOWNFLAG);
    }
    if (cl->umodes == before) {
        return;
    }
    irc_umodes_changed(cl, before);

    /* Announce what changed, not what was asked: "+i-o", letters in a fixed order. */
    static const struct {
        unsigned bit;
        char letter;
    } letters[] = {
        {UMODE_BOT, 'B'}, {UMODE_INVISIBLE, 'i'}, {UMODE_OPER, 'o'}, {UMODE_WALLOPS, 'w'}};
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        unsigned set = pass == 0 ? cl->umodes & ~before : before & ~cl->umodes;
        if (set == 0) {
            continue;
        }
        buf[n++] = pass == 0 ? '+' : '-';
        for (size_t i = 0; i < sizeof(letters) / sizeof(letters[0]); i++) {
            if (set & letters[i].bit) {
                buf[n++] = letters[i].letter;
            }
        }
    }
    buf[n] = '\0';
    irc_sendf(cl, ":%s MODE %s :%s", cl->nick, cl->nick, buf);
}

/* ---- WHO ---- */

/* The WHOX fields, in the order of their values in 354 (whatever order they were asked in). */
static const char whox_order[] = "tcuihsnfdlaor";

struct who_query {
    bool opers_only; /* the 'o' flag */
    bool whox;
    unsigned fields; /* bit i: whox_order[i] was asked for */
    char token[4];
};

static void
who_parse_options(const char *opt, struct who_query *q)
{
    const char *pct = strchr(opt, '%');
    const char *end = pct != NULL ? pct : opt + strlen(opt);

    for (const char *p = opt; p < end; p++) {
        if (*p == 'o') {
            q->opers_only = true;
        }
    }
    if (pct == NULL) {
        return;
    }
    q->whox = true;
    str_copy(q->token, sizeof(q->token), "0");
    for (const char *p = pct + 1; *p; p++) {
        if (*p == ',') {
            /* The query type: 1 to 3 digits, echoed back as field 't'. */
            size_t tl = strlen(p + 1);
            if (tl >= 1 && tl <= 3 && strspn(p + 1, "0123456789") == tl) {
                str_copy(q->token, sizeof(q->token), p + 1);
            }
            break;
        }
        const char *f = strchr(whox_order, *p);
        if (f != NULL) {
            q->fields |= 1u << (f - whox_order);
        }
    }
}

/* H or G, '*' for opers, then the membership prefixes (if shown in a channel). */
static const char *
who_flags(const struct client *asker, const struct client *t, const struct member *mb, char *buf,
          size_t cap)
{
    char pfx[4] = "";

    if (mb != NULL) {
        irc_prefix_string(mb->prefix, (asker->caps & CAP_MULTI_PREFIX) != 0, pfx);
    }
    snprintf(buf, cap, "%c%s%s%s", t->is_away ? 'G' : 'H', is_oper(t) ? "*" : "",
             (t->umodes & UMODE_BOT) ? "B" : "", pfx);
    return buf;
}

static void
who_reply(struct client *cl, const struct who_query *q, struct client *t, const struct member *mb)
{
    struct ircd *d = cl->d;
    const char *chan = mb != NULL ? mb->ch->name : "*";
    char flags[16];
    char out[IRC_LINE_MAX + 1];
    size_t len = 0;

    who_flags(cl, t, mb, flags, sizeof(flags));
    if (!q->whox) {
        irc_reply(cl, RPL_WHOREPLY, chan, t->user, t->host, d->set.server_name, t->nick, flags, 0u,
                  t->real);
        return;
    }
    out[0] = '\0';
    for (size_t i = 0; whox_order[i]; i++) {
        char num[24];
        const char *v;

        if (!(q->fields & (1u << i))) {
            continue;
        }
        switch (whox_order[i]) {
        case 't':
            v = q->token;
            break;
        case 'c':
            v = chan;
            break;
        case 'u':
            v = t->user;
            break;
        case 'i':
            v = t->ip;
            break;
        case 'h':
            v = t->host;
            break;
        case 's':
            v = d->set.server_name;
            break;
        case 'n':
            v = t->nick;
            break;
        case 'f':
            v = flags;
            break;
        case 'd':
            v = "0";
            break;
        case 'l':
            snprintf(num, sizeof(num), "%ld", idle_seconds(t));
            v = num;
            break;
        case 'a':
            v = t->account[0] ? t->account : "0";
            break;
        case 'o':
            v = "0";
            break;
        default: /* 'r', always last: the only field that may hold spaces, so trailing */
            snprintf(out + len, sizeof(out) - len, "%s:%s", len > 0 ? " " : "", t->real);
            len = strlen(out);
            continue;
        }
        append_word(out, &len, sizeof(out), v);
    }
    irc_reply(cl, RPL_WHOSPCRPL, out);
}

static void
who_channel(struct client *cl, const struct who_query *q, const char *name)
{
    struct channel *ch = irc_find_chan(cl->d, name);
    bool inside;

    if (ch == NULL || !irc_chan_visible(ch, cl)) {
        return;
    }
    inside = is_oper(cl) || irc_member(cl, ch) != NULL;
    for (struct member *mb = ch->members; mb != NULL; mb = mb->chan_next) {
        struct client *t = mb->cl;
        if (q->opers_only && !is_oper(t)) {
            continue;
        }
        if (!inside && (t->umodes & UMODE_INVISIBLE)) {
            continue;
        }
        who_reply(cl, q, t, mb);
    }
}

static bool
who_matches(const struct ircd *d, const char *mask, const struct client *t)
{
    char full[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];

    return irc_mask_match(mask, t->nick) || irc_mask_match(mask, t->user) ||
           irc_mask_match(mask, t->host) || irc_mask_match(mask, t->real) ||
           irc_mask_match(mask, d->set.server_name) ||
           irc_mask_match(mask, irc_source(t, full, sizeof(full)));
}

static void
who_mask(struct client *cl, const struct who_query *q, const char *mask)
{
    struct ircd *d = cl->d;
    struct client *t;

    /* "WHO nick" is the common case: answer it without a search, and for an exact nick +i
     * does not hide (the asker already knows the name). */
    if (!has_wildcards(mask) && (t = irc_find_nick(d, mask)) != NULL && listed(t)) {
        if (!q->opers_only || is_oper(t)) {
            who_reply(cl, q, t, NULL);
        }
        return;
    }
    if (mask[0] == '\0' || strcmp(mask, "0") == 0) {
        mask = "*";
    }
    for (t = d->clients; t != NULL; t = t->next) {
        if (!listed(t) || (q->opers_only && !is_oper(t)) || !user_visible(cl, t)) {
            continue;
        }
        if (who_matches(d, mask, t)) {
            who_reply(cl, q, t, NULL);
        }
    }
}

IRC_CMD(who)
{
    const char *mask = m->nparams > 0 ? m->params[0] : "*";
    struct who_query q = {0};

    if (m->nparams > 1) {
        who_parse_options(m->params[1], &q);
    }
    if (q.whox && q.fields == 0) {
        q.whox = false; /* "%" alone asks for nothing: the classic reply */
    }
    if (irc_is_chan(mask)) {
        who_channel(cl, &q, mask);
    } else {
        who_mask(cl, &q, mask);
    }
    /* The mask as given (Modern), but never an empty middle parameter. */
    irc_reply(cl, RPL_ENDOFWHO, mask[0] ? mask : "*");
}

/* ---- WHOIS ---- */

/* May @asker see that @t is in @ch? Secret channels only to members and opers; the channels
 * of a +i user only when shared. */
static bool
whois_chan_visible(const struct client *asker, const struct client *t, const struct channel *ch)
{
    if (asker == t || is_oper(asker) || irc_member(asker, ch) != NULL) {
        return true;
    }
    return !(ch->modes & CMODE_SECRET) && !(t->umodes & UMODE_INVISIBLE);
}

static void
whois_channels(struct client *cl, struct client *t)
{
    char buf[IRC_LINE_MAX];
    size_t len = 0;
    size_t room = reply_room(cl, strlen(t->nick) + 2);
    bool multi = (cl->caps & CAP_MULTI_PREFIX) != 0;

    if (room > sizeof(buf)) {
        room = sizeof(buf);
    }
    buf[0] = '\0';
    for (const struct member *mb = t->chans; mb != NULL; mb = mb->cl_next) {
        char word[4 + IRC_CHAN_MAX + 1];
        char pfx[4];

        if (!whois_chan_visible(cl, t, mb->ch)) {
            continue;
        }
        snprintf(word, sizeof(word), "%s%s", irc_prefix_string(mb->prefix, multi, pfx),
                 mb->ch->name);
        if (!append_word(buf, &len, room, word)) {
            irc_reply(cl, RPL_WHOISCHANNELS, t->nick, buf);
            len = 0;
            buf[0] = '\0';
            append_word(buf, &len, room, word);
        }
    }
    if (len > 0) {
        irc_reply(cl, RPL_WHOISCHANNELS, t->nick, buf);
    }
}

static void
whois_one(struct client *cl, struct client *t)
{
    struct ircd *d = cl->d;

    irc_reply(cl, RPL_WHOISUSER, t->nick, t->user, t->host, t->real);
    whois_channels(cl, t);
    irc_reply(cl, RPL_WHOISSERVER, t->nick, d->set.server_name, server_info(d));
    if (t->is_away) {
        irc_reply(cl, RPL_AWAY, t->nick, t->away);
    }
    if (is_oper(t)) {
        irc_reply(cl, RPL_WHOISOPERATOR, t->nick);
    }
    if (t->umodes & UMODE_BOT) {
        irc_reply(cl, RPL_WHOISBOT, t->nick, d->set.network);
    }
    if (t->account[0]) {
        irc_reply(cl, RPL_WHOISACCOUNT, t->nick, t->account);
    }
    if (t->s != NULL && sess_tls(t->s)) {
        irc_reply(cl, RPL_WHOISSECURE, t->nick);
    }
    if (cl == t || is_oper(cl)) {
        char modes[16];
        irc_reply(cl, RPL_WHOISHOST, t->nick, t->user, t->host, t->ip);
        irc_reply(cl, RPL_WHOISMODES, t->nick, irc_umode_string(t, modes, sizeof(modes)));
    }
    irc_reply(cl, RPL_WHOISIDLE, t->nick, idle_seconds(t), (long)t->signon);
}

IRC_CMD(whois)
{
    /* "WHOIS server nick" asks a server; ours answers for itself. */
    char list[IRC_LINE_MAX + 1];
    char *save = NULL;
    size_t done = 0;

    if (m->nparams > 1 && !server_param_ok(cl, m->params[0])) {
        return;
    }
    str_copy(list, sizeof(list), m->params[m->nparams > 1 ? 1 : 0]);
    for (char *nick = strtok_r(list, ",", &save); nick != NULL && done < QUERY_TARGETS_MAX;
         nick = strtok_r(NULL, ",", &save), done++) {
        struct client *t = irc_find_nick(cl->d, nick);
        if (t != NULL && listed(t)) {
            whois_one(cl, t);
        } else {
            irc_reply(cl, ERR_NOSUCHNICK, nick);
        }
        irc_reply(cl, RPL_ENDOFWHOIS, nick);
    }
    if (done == 0) {
        irc_reply(cl, ERR_NONICKNAMEGIVEN);
    }
}

/* ---- WHOWAS ---- */

/* The @k-th newest entry of the ring (0 = the newest), or NULL past the oldest. */
static const struct whowas *
whowas_at(const struct ircd *d, size_t k)
{
    size_t cap = d->set.whowas;

    if (d->whowas == NULL || cap == 0 || k >= d->whowas_count || k >= cap) {
        return NULL;
    }
    return &d->whowas[(d->whowas_next + cap - 1 - k) % cap];
}

static void
whowas_one(struct client *cl, const char *nick, long count)
{
    struct ircd *d = cl->d;
    bool wild = has_wildcards(nick);
    long found = 0;
    const struct whowas *w;

    for (size_t k = 0; (w = whowas_at(d, k)) != NULL; k++) {
        char when[64];
        struct tm tm;

        if ((count > 0 && found >= count) || found >= WHOWAS_REPLIES_MAX) {
            break;
        }
        if (wild ? !irc_mask_match(nick, w->nick) : irc_casecmp(nick, w->nick) != 0) {
            continue;
        }
        found++;
        irc_reply(cl, RPL_WHOWASUSER, w->nick, w->user, w->host, w->real);
        if (localtime_r(&w->when, &tm) == NULL ||
            strftime(when, sizeof(when), "%a %b %d %H:%M:%S %Y", &tm) == 0) {
            str_copy(when, sizeof(when), "?");
        }
        irc_reply(cl, RPL_WHOISSERVER, w->nick, d->set.server_name, when);
    }
    if (found == 0) {
        irc_reply(cl, ERR_WASNOSUCHNICK, nick);
    }
    irc_reply(cl, RPL_ENDOFWHOWAS, nick);
}

IRC_CMD(whowas)
{
    char list[IRC_LINE_MAX + 1];
    char *save = NULL;
    long count = 0;
    size_t done = 0;

    /* A count that is not a positive number means "all" (RFC 1459, Modern). */
    if (m->nparams > 1 && !parse_long(m->params[1], 1, 1000000, &count)) {
        count = 0;
    }
    if (m->nparams > 2 && !server_param_ok(cl, m->params[2])) {
        return;
    }
    str_copy(list, sizeof(list), m->params[0]);
    for (char *nick = strtok_r(list, ",", &save); nick != NULL && done < QUERY_TARGETS_MAX;
         nick = strtok_r(NULL, ",", &save), done++) {
        whowas_one(cl, nick, count);
    }
    if (done == 0) {
        irc_reply(cl, ERR_NONICKNAMEGIVEN);
    }
}

/* ---- ISON, USERHOST ---- */

IRC_CMD(ison)
{
    char out[IRC_LINE_MAX];
    size_t len = 0;
    size_t room = reply_room(cl, 1);

    if (room > sizeof(out)) {
        room = sizeof(out);
    }
    out[0] = '\0';
    /* Nicks may come as parameters or space-separated inside the trailing one. */
    for (size_t i = 0; i < m->nparams; i++) {
        char buf[IRC_LINE_MAX + 1];
        char *save = NULL;

        str_copy(buf, sizeof(buf), m->params[i]);
        for (char *nick = strtok_r(buf, " ", &save); nick != NULL;
             nick = strtok_r(NULL, " ", &save)) {
            struct client *t = irc_find_nick(cl->d, nick);
            if (t != NULL && listed(t)) {
                append_word(out, &len, room, t->nick);
            }
        }
    }
    irc_reply(cl, RPL_ISON, out);
}

IRC_CMD(userhost)
{
    char out[IRC_LINE_MAX];
    size_t len = 0, asked = 0;
    size_t room = reply_room(cl, 1);

    if (room > sizeof(out)) {
        room = sizeof(out);
    }
    out[0] = '\0';
    for (size_t i = 0; i < m->nparams && asked < USERHOST_MAX; i++) {
        char buf[IRC_LINE_MAX + 1];
        char *save = NULL;

        str_copy(buf, sizeof(buf), m->params[i]);
        for (char *nick = strtok_r(buf, " ", &save); nick != NULL && asked < USERHOST_MAX;
             nick = strtok_r(NULL, " ", &save), asked++) {
            struct client *t = irc_find_nick(cl->d, nick);
            char word[IRC_NICK_MAX + 4 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];

            if (t == NULL || !listed(t)) {
                continue;
            }
            snprintf(word, sizeof(word), "%s%s=%c%s@%s", t->nick, is_oper(t) ? "*" : "",
                     t->is_away ? '-' : '+', t->user, t->host);
            append_word(out, &len, room, word);
        }
    }
    irc_reply(cl, RPL_USERHOST, out);
}

/* ---- server information ---- */

IRC_CMD(version)
{
    if (m->nparams > 0 && !server_param_ok(cl, m->params[0])) {
        return;
    }
    irc_reply(cl, RPL_VERSION, "switchboard-" SB_VERSION, cl->d->set.server_name,
              "switchboard IRC service");
    irc_send_isupport(cl);
}

IRC_CMD(time)
{
    char when[80];
    time_t now = time(NULL);
    struct tm tm;

    if (m->nparams > 0 && !server_param_ok(cl, m->params[0])) {
        return;
    }
    if (localtime_r(&now, &tm) == NULL ||
        strftime(when, sizeof(when), "%A %B %d %Y -- %H:%M:%S %z", &tm) == 0) {
        str_copy(when, sizeof(when), "?");
    }
    irc_reply(cl, RPL_TIME, cl->d->set.server_name, when);
}

IRC_CMD(info)
{
    if (m->nparams > 0 && !server_param_ok(cl, m->params[0])) {
        return;
    }
    for (size_t i = 0; i < sizeof(info_lines) / sizeof(info_lines[0]); i++) {
        irc_reply(cl, RPL_INFO, info_lines[i]);
    }
    if (cl->d->started_str[0]) {
        char line[128];
        snprintf(line, sizeof(line), "Started %s", cl->d->started_str);
        irc_reply(cl, RPL_INFO, line);
    }
    irc_reply(cl, RPL_ENDOFINFO);
}

IRC_CMD(admin)
{
    struct ircd *d = cl->d;
    char loc2[256];

    if (m->nparams > 0 && !server_param_ok(cl, m->params[0])) {
        return;
    }
    snprintf(loc2, sizeof(loc2), "%s on the %s network", d->set.server_name,
             d->set.network[0] ? d->set.network : "switchboard");
    irc_reply(cl, RPL_ADMINME, d->set.server_name);
    irc_reply(cl, RPL_ADMINLOC1, "switchboard IRC service");
    irc_reply(cl, RPL_ADMINLOC2, loc2);
    irc_reply(cl, RPL_ADMINEMAIL, "Administrator: see the server's configuration");
}

/* ---- SETNAME ---- */

IRC_CMD(setname)
{
    const char *real = m->params[0];
    size_t n = strlen(real);
    char src[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];
    struct irc_line l;

    if (n == 0 || n > IRC_REAL_MAX || !irc_utf8_valid(real, n)) {
        irc_std_reply(cl, "FAIL", "SETNAME", "INVALID_REALNAME", NULL, "Realname is not valid");
        return;
    }
    str_copy(cl->real, sizeof(cl->real), real);
    irc_line_init(&l, cl, false, NULL, ":%s SETNAME :%s", irc_source(cl, src, sizeof(src)),
                  cl->real);
    irc_peers_send(cl, &l, true, CAP_SETNAME, 0);
    irc_line_fini(&l);
}
