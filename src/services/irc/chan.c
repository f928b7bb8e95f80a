/* SPDX-License-Identifier: MIT */
/*
 * The IRC service's channels: membership (JOIN, PART, KICK, INVITE), what a channel shows
 * (TOPIC, NAMES, LIST) and its modes (MODE on a channel, bans and their exceptions), plus the
 * checks the message commands ask of a channel. User modes are query.c's; the fan-out itself
 * (tags, labeled-response capture) is irc.c's: everything here goes through irc_reply() and
 * struct irc_line.
 *
 * Sending never removes a membership on the spot (a client over its SendQ is dropped after the
 * command), but loops that reply to the acting client still stop once it is marked dead.
 */
#include "services/irc/irc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/map.h"
#include "core/mem.h"
#include "core/strutil.h"

#define CHAN_TYPES "#&"
/* The longest line body we build, without CR LF (RFC 1459: 512 with them). */
#define LINE_BODY_MAX (IRC_LINE_MAX - 2)
/* "nick!user@host" */
#define SOURCE_MAX (IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1)
/* Pending INVITEs remembered per channel; the oldest goes first. */
#define INVITED_MAX 100
/* RFC 2812's key: 1 to 23 printable characters. */
#define KEY_MAX 23
/* Changes taken from one MODE command, and how many of them may carry a parameter (MODES=). */
#define MODE_CHANGES_MAX 12
#define MODE_PARAMS_MAX 4
/* LIST: masks and names taken from one command. */
#define LIST_MASKS_MAX 16

static const char cannot_send[] = "Cannot send to channel";

static bool
is_oper(const struct client *cl)
{
    return (cl->umodes & UMODE_OPER) != 0;
}

static bool
is_chanop(const struct member *mb)
{
    return mb != NULL && (mb->prefix & PFX_OP) != 0;
}

/* The length of at most @max bytes of @s that does not end inside a UTF-8 sequence. */
static size_t
utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max) {
        return n;
    }
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
        n--;
    }
    return n;
}

/* Copy at most @max bytes of @src (cut on a character boundary) into @dst of @cap bytes. */
static void
copy_text(char *dst, size_t cap, const char *src, size_t max)
{
    size_t n;

    if (max > cap - 1) {
        max = cap - 1;
    }
    n = utf8_cut(src, max);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* What is left of a line body once @used bytes are taken (0 when none is). */
static size_t
room_after(size_t used)
{
    return used < LINE_BODY_MAX ? LINE_BODY_MAX - used : 0;
}

/* The next item of a comma-separated list held in a writable buffer, or NULL at its end. */
static char *
next_item(char **pos)
{
    char *s = *pos;
    char *comma;

    if (s == NULL) {
        return NULL;
    }
    comma = strchr(s, ',');
    if (comma != NULL) {
        *comma = '\0';
        *pos = comma + 1;
    } else {
        *pos = NULL;
    }
    return s;
}

/* A parameter we may echo in a numeric as a middle parameter, or "*". */
static const char *
param_or_star(const char *p)
{
    if (p == NULL || p[0] == '\0' || p[0] == ':' || strchr(p, ' ') != NULL) {
        return "*";
    }
    return p;
}

/* ---- lookups ---- */

struct channel *
irc_find_chan(struct ircd *d, const char *name)
{
    char key[IRC_CHAN_MAX + 1];
    size_t n = strlen(name);

    if (n == 0 || n > IRC_CHAN_MAX) {
        return NULL;
    }
    irc_fold(name, n, key);
    return map_get(d->chans, key, n);
}

struct member *
irc_member(const struct client *cl, const struct channel *ch)
{
    /* A client's list is bounded by max_channels; a channel's may hold thousands. */
    for (struct member *mb = cl->chans; mb != NULL; mb = mb->cl_next) {
        if (mb->ch == ch) {
            return mb;
        }
    }
    return NULL;
}

/* ---- invitations ---- */

static bool
invited(const struct channel *ch, uint64_t sid)
{
    for (size_t i = 0; i < ch->ninvited; i++) {
        if (ch->invited[i] == sid) {
            return true;
        }
    }
    return false;
}

static void
invited_del(struct channel *ch, uint64_t sid)
{
    for (size_t i = 0; i < ch->ninvited; i++) {
        if (ch->invited[i] == sid) {
            memmove(&ch->invited[i], &ch->invited[i + 1],
                    (ch->ninvited - i - 1) * sizeof(ch->invited[0]));
            ch->ninvited--;
            return;
        }
    }
}

static void
invited_add(struct channel *ch, uint64_t sid)
{
    if (invited(ch, sid)) {
        return;
    }
    if (ch->ninvited == INVITED_MAX) {
        memmove(&ch->invited[0], &ch->invited[1], (ch->ninvited - 1) * sizeof(ch->invited[0]));
        ch->ninvited--;
    }
    if (ch->ninvited == ch->invited_cap) {
        size_t cap = ch->invited_cap != 0 ? ch->invited_cap * 2 : 4;

        if (cap > INVITED_MAX) {
            cap = INVITED_MAX;
        }
        ch->invited = xrealloc(ch->invited, cap * sizeof(ch->invited[0]));
        ch->invited_cap = cap;
    }
    ch->invited[ch->ninvited++] = sid;
}

/* ---- b/e/I lists ---- */

static long
mask_find(const struct mask_list *ml, const char *mask)
{
    for (size_t i = 0; i < ml->n; i++) {
        if (irc_casecmp(ml->v[i].mask, mask) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void
mask_add(struct mask_list *ml, const char *mask, const char *setter)
{
    struct mask_entry *e;

    if (ml->n == ml->cap) {
        ml->cap = ml->cap != 0 ? ml->cap * 2 : 4;
        ml->v = xrealloc(ml->v, ml->cap * sizeof(ml->v[0]));
    }
    e = &ml->v[ml->n++];
    str_copy(e->mask, sizeof(e->mask), mask);
    str_copy(e->setter, sizeof(e->setter), setter);
    e->when = time(NULL);
}

static void
mask_del(struct mask_list *ml, size_t i)
{
    memmove(&ml->v[i], &ml->v[i + 1], (ml->n - i - 1) * sizeof(ml->v[0]));
    ml->n--;
}

static void
mask_list_fini(struct mask_list *ml)
{
    free(ml->v);
    ml->v = NULL;
    ml->n = ml->cap = 0;
}

/* Does an entry of @ml match @cl, by host or by address? */
static bool
masks_match(const struct mask_list *ml, const struct client *cl)
{
    char byhost[SOURCE_MAX + 1];
    char byip[SOURCE_MAX + 1];
    bool same;

    if (ml->n == 0) {
        return false;
    }
    snprintf(byhost, sizeof(byhost), "%s!%s@%s", cl->nick, cl->user, cl->host);
    snprintf(byip, sizeof(byip), "%s!%s@%s", cl->nick, cl->user, cl->ip);
    same = strcmp(byhost, byip) == 0;
    for (size_t i = 0; i < ml->n; i++) {
        if (irc_mask_match(ml->v[i].mask, byhost) ||
            (!same && irc_mask_match(ml->v[i].mask, byip))) {
            return true;
        }
    }
    return false;
}

static struct mask_list *
list_of(struct channel *ch, char mode)
{
    switch (mode) {
    case 'b':
        return &ch->bans;
    case 'e':
        return &ch->excepts;
    default:
        return &ch->invex;
    }
}

/* ---- channels and memberships ---- */

static struct channel *
chan_new(struct ircd *d, const char *name)
{
    struct channel *ch = xcalloc(1, sizeof(*ch));
    size_t n = strlen(name);

    memcpy(ch->name, name, n + 1);
    irc_fold(name, n, ch->folded);
    ch->created = time(NULL);
    ch->modes = CMODE_NO_EXTERNAL | CMODE_TOPIC;
    map_put(d->chans, ch->folded, n, ch);
    return ch;
}

static void
chan_free(struct ircd *d, struct channel *ch)
{
    map_del(d->chans, ch->folded, strlen(ch->folded));
    mask_list_fini(&ch->bans);
    mask_list_fini(&ch->excepts);
    mask_list_fini(&ch->invex);
    free(ch->invited);
    free(ch);
}

static struct member *
member_add(struct channel *ch, struct client *cl, unsigned prefix)
{
    struct member *mb = xcalloc(1, sizeof(*mb));

    mb->cl = cl;
    mb->ch = ch;
    mb->prefix = prefix;
    mb->chan_next = ch->members;
    if (ch->members != NULL) {
        ch->members->chan_prev = mb;
    }
    ch->members = mb;
    ch->nmembers++;
    mb->cl_next = cl->chans;
    if (cl->chans != NULL) {
        cl->chans->cl_prev = mb;
    }
    cl->chans = mb;
    cl->nchans++;
    return mb;
}

void
irc_chan_remove(struct member *mb)
{
    struct channel *ch = mb->ch;
    struct client *cl = mb->cl;

    if (mb->chan_prev != NULL) {
        mb->chan_prev->chan_next = mb->chan_next;
    } else {
        ch->members = mb->chan_next;
    }
    if (mb->chan_next != NULL) {
        mb->chan_next->chan_prev = mb->chan_prev;
    }
    ch->nmembers--;
    if (mb->cl_prev != NULL) {
        mb->cl_prev->cl_next = mb->cl_next;
    } else {
        cl->chans = mb->cl_next;
    }
    if (mb->cl_next != NULL) {
        mb->cl_next->cl_prev = mb->cl_prev;
    }
    cl->nchans--;
    free(mb);
    if (ch->nmembers == 0) {
        chan_free(cl->d, ch);
    }
}

void
irc_chan_part_all(struct client *cl)
{
    while (cl->chans != NULL) {
        irc_chan_remove(cl->chans);
    }
}

const char *
irc_prefix_string(unsigned prefix, bool multi, char buf[4])
{
    size_t n = 0;

    if (prefix & PFX_OP) {
        buf[n++] = '@';
    }
    if ((prefix & PFX_VOICE) && (multi || n == 0)) {
        buf[n++] = '+';
    }
    buf[n] = '\0';
    return buf;
}

bool
irc_chan_is_banned(const struct channel *ch, const struct client *cl)
{
    return masks_match(&ch->bans, cl) && !masks_match(&ch->excepts, cl);
}

bool
irc_chan_visible(const struct channel *ch, const struct client *cl)
{
    return !(ch->modes & CMODE_SECRET) || is_oper(cl) || irc_member(cl, ch) != NULL;
}

const char *
irc_chan_cannot_speak(const struct channel *ch, const struct client *cl)
{
    const struct member *mb;

    if (is_oper(cl)) {
        return NULL;
    }
    mb = irc_member(cl, ch);
    if (mb != NULL && (mb->prefix & (PFX_OP | PFX_VOICE))) {
        return NULL;
    }
    if (mb == NULL && (ch->modes & CMODE_NO_EXTERNAL)) {
        return cannot_send;
    }
    if (ch->modes & CMODE_MODERATED) {
        return cannot_send;
    }
    if (irc_chan_is_banned(ch, cl)) {
        return cannot_send;
    }
    return NULL;
}

const char *
irc_channel_modes(const struct channel *ch, const struct client *cl, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        char letter;
    } flags[] = {
        {CMODE_INVITE, 'i'}, {CMODE_MODERATED, 'm'}, {CMODE_NO_EXTERNAL, 'n'},
        {CMODE_SECRET, 's'}, {CMODE_TOPIC, 't'},
    };
    char letters[16];
    size_t n = 0;
    bool inside;
    char limit[24] = "";

    letters[n++] = '+';
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if (ch->modes & flags[i].bit) {
            letters[n++] = flags[i].letter;
        }
    }
    if (ch->key[0] != '\0') {
        letters[n++] = 'k';
    }
    if (ch->limit > 0) {
        letters[n++] = 'l';
        snprintf(limit, sizeof(limit), " %ld", ch->limit);
    }
    letters[n] = '\0';
    /* Outsiders see which modes are set, not their parameters: a key shown to them would be
     * no key, and showing the limit alone would make "+kl 5" read as the key 5. */
    inside = cl == NULL || is_oper(cl) || irc_member(cl, ch) != NULL;
    if (!inside) {
        snprintf(buf, cap, "%s", letters);
    } else {
        snprintf(buf, cap, "%s%s%s%s", letters, ch->key[0] != '\0' ? " " : "", ch->key, limit);
    }
    return buf;
}

/* ---- NAMES ---- */

/*
 * The 353 lines of @ch for @cl: all members for a member (or an oper), the visible ones for
 * an outsider, nothing for an outsider of a secret channel. Each line stays within 510 bytes.
 * Return: false if @cl died while we were sending.
 */
static bool
send_names(struct client *cl, struct channel *ch)
{
    const struct ircd *d = cl->d;
    bool inside = is_oper(cl) || irc_member(cl, ch) != NULL;
    bool multi = (cl->caps & CAP_MULTI_PREFIX) != 0;
    bool uhnames = (cl->caps & CAP_USERHOST_IN_NAMES) != 0;
    const char *symbol = (ch->modes & CMODE_SECRET) ? "@" : "=";
    char names[IRC_LINE_MAX + 1];
    size_t len = 0;
    size_t room;

    if (!inside && (ch->modes & CMODE_SECRET)) {
        return true;
    }
    /* ":server 353 nick = #chan :" */
    room = room_after(1 + strlen(d->set.server_name) + 5 + strlen(irc_nick_or_star(cl)) + 3 +
                      strlen(ch->name) + 2);
    for (struct member *mb = ch->members; mb != NULL; mb = mb->chan_next) {
        const struct client *who = mb->cl;
        char pfx[4];
        char entry[4 + SOURCE_MAX + 1];
        size_t n;

        if (!inside && (who->umodes & UMODE_INVISIBLE) && who != cl) {
            continue;
        }
        irc_prefix_string(mb->prefix, multi, pfx);
        if (uhnames) {
            n = (size_t)snprintf(entry, sizeof(entry), "%s%s!%s@%s", pfx, who->nick, who->user,
                                 who->host);
        } else {
            n = (size_t)snprintf(entry, sizeof(entry), "%s%s", pfx, who->nick);
        }
        if (n >= sizeof(entry)) {
            n = sizeof(entry) - 1;
        }
        if (len > 0 && len + 1 + n > room) {
            irc_reply(cl, RPL_NAMREPLY, symbol, ch->name, names);
            if (cl->dead) {
                return false;
            }
            len = 0;
        }
        if (len > 0) {
            names[len++] = ' ';
        }
        memcpy(names + len, entry, n);
        len += n;
        names[len] = '\0';
    }
    if (len > 0) {
        irc_reply(cl, RPL_NAMREPLY, symbol, ch->name, names);
    }
    return !cl->dead;
}

struct name_set {
    char (*v)[IRC_CHAN_MAX + 1];
    size_t n, cap;
};

static void
collect_name(void *arg, const void *key, size_t klen, void *value)
{
    struct name_set *s = arg;

    (void)value;
    if (s->n < s->cap && klen <= IRC_CHAN_MAX) {
        memcpy(s->v[s->n], key, klen);
        s->v[s->n][klen] = '\0';
        s->n++;
    }
}

/* The folded names of every channel: replies are sent from this copy, never from inside
 * map_foreach(), so nothing a reply leads to can change the map under the walk. */
static void
all_channel_names(struct ircd *d, struct name_set *s)
{
    s->cap = map_count(d->chans);
    s->n = 0;
    s->v = s->cap != 0 ? xmalloc(s->cap * sizeof(s->v[0])) : NULL;
    if (s->cap != 0) {
        map_foreach(d->chans, collect_name, s);
    }
}

/* Does @who share a channel with @cl that @cl may see? */
static bool
seen_in_a_channel(const struct client *who, const struct client *cl)
{
    for (const struct member *mb = who->chans; mb != NULL; mb = mb->cl_next) {
        if (irc_chan_visible(mb->ch, cl) &&
            (!(who->umodes & UMODE_INVISIBLE) || is_oper(cl) || irc_member(cl, mb->ch))) {
            return true;
        }
    }
    return false;
}

/* A bare NAMES (RFC 1459 4.2.5, RFC 2812 3.2.5): every channel @cl may see, then the visible
 * users on no channel it may see, as channel "*". The replies go to @cl's SendQ, so a network
 * too big for it disconnects the asker, not the server. */
static void
names_all(struct client *cl)
{
    struct ircd *d = cl->d;
    struct name_set set;
    char names[IRC_LINE_MAX + 1];
    size_t len = 0;
    size_t room =
        room_after(1 + strlen(d->set.server_name) + 5 + strlen(irc_nick_or_star(cl)) + 3 + 1 + 2);

    all_channel_names(d, &set);
    for (size_t i = 0; i < set.n && !cl->dead; i++) {
        struct channel *ch = map_get(d->chans, set.v[i], strlen(set.v[i]));
        if (ch != NULL && irc_chan_visible(ch, cl)) {
            send_names(cl, ch);
        }
    }
    free(set.v);
    for (const struct client *who = d->clients; who != NULL && !cl->dead; who = who->next) {
        size_t n;
        if (who->state != CL_READY || who->dead || seen_in_a_channel(who, cl) ||
            ((who->umodes & UMODE_INVISIBLE) && who != cl && !is_oper(cl))) {
            continue;
        }
        n = strlen(who->nick);
        if (len > 0 && len + 1 + n > room) {
            irc_reply(cl, RPL_NAMREPLY, "*", "*", names);
            len = 0;
        }
        if (len > 0) {
            names[len++] = ' ';
        }
        memcpy(names + len, who->nick, n);
        len += n;
        names[len] = '\0';
    }
    if (len > 0 && !cl->dead) {
        irc_reply(cl, RPL_NAMREPLY, "*", "*", names);
    }
    irc_reply(cl, RPL_ENDOFNAMES, "*");
}

IRC_CMD(names)
{
    char list[IRC_LINE_MAX + 1];
    char *pos = list;
    char *name;

    if (m->nparams == 0 || m->params[0][0] == '\0') {
        names_all(cl);
        return;
    }
    str_copy(list, sizeof(list), m->params[0]);
    while ((name = next_item(&pos)) != NULL) {
        struct channel *ch;

        if (name[0] == '\0') {
            continue;
        }
        ch = irc_find_chan(cl->d, name);
        if (ch != NULL && !send_names(cl, ch)) {
            return;
        }
    }
    /* One end for the whole request, as ngIRCd does: for a single channel it is that
     * channel's 366. */
    irc_reply(cl, RPL_ENDOFNAMES, m->params[0]);
}

/* ---- JOIN and PART ---- */

static void
send_topic(struct client *cl, const struct channel *ch)
{
    irc_reply(cl, RPL_TOPIC, ch->name, ch->topic);
    irc_reply(cl, RPL_TOPICWHOTIME, ch->name, ch->topic_who, (long long)ch->topic_time);
}

static void
announce_join(struct client *cl, struct channel *ch)
{
    char src[SOURCE_MAX + 1];
    struct irc_line l;

    irc_source(cl, src, sizeof(src));
    irc_line_init(&l, cl, false, NULL, ":%s JOIN %s", src, ch->name);
    irc_chan_send(ch, &l, NULL, 0, CAP_EXTENDED_JOIN);
    irc_line_fini(&l);
    irc_line_init(&l, cl, false, NULL, ":%s JOIN %s %s :%s", src, ch->name,
                  cl->account[0] != '\0' ? cl->account : "*", cl->real);
    irc_chan_send(ch, &l, NULL, CAP_EXTENDED_JOIN, 0);
    irc_line_fini(&l);
    if (cl->is_away) {
        irc_line_init(&l, cl, false, NULL, ":%s AWAY :%s", src, cl->away);
        irc_chan_send(ch, &l, cl, CAP_AWAY_NOTIFY, 0);
        irc_line_fini(&l);
    }
    if (cl->dead) {
        return;
    }
    if (ch->topic_time != 0) {
        send_topic(cl, ch);
    }
    if (send_names(cl, ch)) {
        irc_reply(cl, RPL_ENDOFNAMES, ch->name);
    }
}

static void
join_one(struct client *cl, const char *name, const char *key)
{
    struct ircd *d = cl->d;
    size_t maxlen = d->set.channellen < IRC_CHAN_MAX ? d->set.channellen : IRC_CHAN_MAX;
    struct channel *ch;
    unsigned prefix = 0;

    if (!irc_chan_valid(name, strlen(name), maxlen, CHAN_TYPES)) {
        irc_reply(cl, ERR_NOSUCHCHANNEL, name);
        return;
    }
    ch = irc_find_chan(d, name);
    if (ch != NULL && irc_member(cl, ch) != NULL) {
        return;
    }
    if (cl->nchans >= d->set.max_channels) {
        irc_reply(cl, ERR_TOOMANYCHANNELS, name);
        return;
    }
    if (ch == NULL) {
        ch = chan_new(d, name);
        prefix = PFX_OP;
    } else if (!is_oper(cl)) {
        /* An INVITE lets one in past bans, +i and +l (Modern IRC), but not past a key. */
        bool inv = invited(ch, cl->sid);

        if (!inv && irc_chan_is_banned(ch, cl)) {
            irc_reply(cl, ERR_BANNEDFROMCHAN, ch->name);
            return;
        }
        if ((ch->modes & CMODE_INVITE) && !inv && !masks_match(&ch->invex, cl)) {
            irc_reply(cl, ERR_INVITEONLYCHAN, ch->name);
            return;
        }
        if (ch->key[0] != '\0' && (key == NULL || strcmp(key, ch->key) != 0)) {
            irc_reply(cl, ERR_BADCHANNELKEY, ch->name);
            return;
        }
        if (ch->limit > 0 && ch->nmembers >= (size_t)ch->limit && !inv) {
            irc_reply(cl, ERR_CHANNELISFULL, ch->name);
            return;
        }
    }
    invited_del(ch, cl->sid);
    member_add(ch, cl, prefix);
    announce_join(cl, ch);
}

/* Tell @mb's channel (its member included) that it leaves, then remove it. */
static void
part_member(struct member *mb, const char *reason)
{
    struct client *cl = mb->cl;
    struct channel *ch = mb->ch;
    char src[SOURCE_MAX + 1];
    char text[IRC_TEXT_MAX + 1] = "";
    struct irc_line l;

    irc_source(cl, src, sizeof(src));
    if (reason != NULL && reason[0] != '\0') {
        size_t max = room_after(strlen(src) + strlen(ch->name) + 9); /* ": PART  :" */

        copy_text(text, sizeof(text), reason, max < cl->d->set.kicklen ? max : cl->d->set.kicklen);
    }
    if (text[0] != '\0') {
        irc_line_init(&l, cl, false, NULL, ":%s PART %s :%s", src, ch->name, text);
    } else {
        irc_line_init(&l, cl, false, NULL, ":%s PART %s", src, ch->name);
    }
    irc_chan_send(ch, &l, NULL, 0, 0);
    irc_line_fini(&l);
    irc_chan_remove(mb);
}

IRC_CMD(join)
{
    char chans[IRC_LINE_MAX + 1];
    char keys[IRC_LINE_MAX + 1];
    char *cpos = chans;
    char *kpos = NULL;
    char *name;

    if (strcmp(m->params[0], "0") == 0) {
        while (cl->chans != NULL && !cl->dead) {
            part_member(cl->chans, "Left all channels");
        }
        return;
    }
    str_copy(chans, sizeof(chans), m->params[0]);
    if (m->nparams > 1) {
        str_copy(keys, sizeof(keys), m->params[1]);
        kpos = keys;
    }
    while ((name = next_item(&cpos)) != NULL && !cl->dead) {
        const char *key = next_item(&kpos);

        if (name[0] != '\0') {
            join_one(cl, name, key);
        }
    }
}

IRC_CMD(part)
{
    char chans[IRC_LINE_MAX + 1];
    char *pos = chans;
    char *name;
    const char *reason = m->nparams > 1 ? m->params[1] : NULL;

    str_copy(chans, sizeof(chans), m->params[0]);
    while ((name = next_item(&pos)) != NULL && !cl->dead) {
        struct channel *ch;
        struct member *mb;

        if (name[0] == '\0') {
            continue;
        }
        ch = irc_find_chan(cl->d, name);
        if (ch == NULL) {
            irc_reply(cl, ERR_NOSUCHCHANNEL, name);
            continue;
        }
        mb = irc_member(cl, ch);
        if (mb == NULL) {
            irc_reply(cl, ERR_NOTONCHANNEL, ch->name);
            continue;
        }
        part_member(mb, reason);
    }
}

/* ---- TOPIC ---- */

IRC_CMD(topic)
{
    struct ircd *d = cl->d;
    struct channel *ch = irc_find_chan(d, m->params[0]);
    struct member *mb;
    char src[SOURCE_MAX + 1];
    size_t max;
    struct irc_line l;

    if (ch == NULL) {
        irc_reply(cl, ERR_NOSUCHCHANNEL, m->params[0]);
        return;
    }
    mb = irc_member(cl, ch);
    if (m->nparams < 2) {
        if (mb == NULL && !irc_chan_visible(ch, cl)) {
            irc_reply(cl, ERR_NOTONCHANNEL, ch->name);
        } else if (ch->topic_time == 0) {
            irc_reply(cl, RPL_NOTOPIC, ch->name);
        } else {
            send_topic(cl, ch);
        }
        return;
    }
    if (mb == NULL && !is_oper(cl)) {
        irc_reply(cl, ERR_NOTONCHANNEL, ch->name);
        return;
    }
    if ((ch->modes & CMODE_TOPIC) && !is_chanop(mb) && !is_oper(cl)) {
        irc_reply(cl, ERR_CHANOPRIVSNEEDED, ch->name);
        return;
    }
    irc_source(cl, src, sizeof(src));
    /* Kept short enough that the TOPIC line carrying it is never cut. */
    max = room_after(strlen(src) + strlen(ch->name) + 10); /* ": TOPIC  :" */
    if (max > d->set.topiclen) {
        max = d->set.topiclen;
    }
    copy_text(ch->topic, sizeof(ch->topic), m->params[1], max);
    if (ch->topic[0] == '\0') {
        ch->topic_who[0] = '\0';
        ch->topic_time = 0;
    } else {
        str_copy(ch->topic_who, sizeof(ch->topic_who), src);
        ch->topic_time = time(NULL);
    }
    irc_line_init(&l, cl, false, NULL, ":%s TOPIC %s :%s", src, ch->name, ch->topic);
    irc_chan_send(ch, &l, NULL, 0, 0);
    if (mb == NULL) {
        irc_line_send(&l, cl);
    }
    irc_line_fini(&l);
}

/* ---- LIST ---- */

/*
 * LIST's conditions (ELIST=CMNTU): ">n" / "<n" users; "C>n" / "C<n" created more / less than
 * n minutes ago; "T>n" / "T<n" the same for the topic; "mask" and "!mask" globs on the name;
 * plain names. Several are combined with AND, several masks with OR.
 */
struct list_query {
    long users_gt, users_lt;
    long created_gt, created_lt; /* age in seconds */
    long topic_gt, topic_lt;
    bool topic_filter;
    const char *masks[LIST_MASKS_MAX];
    size_t nmasks;
    const char *notmasks[LIST_MASKS_MAX];
    size_t nnotmasks;
    time_t now;
};

static bool
parse_minutes(const char *s, long *out)
{
    long v;

    if (!parse_long(s, 0, LONG_MAX / 60, &v)) {
        return false;
    }
    *out = v * 60;
    return true;
}

/* Take one condition into @q. Return: false if @item is a channel name. */
static bool
list_condition(struct list_query *q, const char *item)
{
    long v;

    if ((item[0] == '>' || item[0] == '<') && parse_long(item + 1, 0, LONG_MAX, &v)) {
        if (item[0] == '>') {
            q->users_gt = v;
        } else {
            q->users_lt = v;
        }
        return true;
    }
    if ((item[0] == 'C' || item[0] == 'c' || item[0] == 'T' || item[0] == 't') &&
        (item[1] == '>' || item[1] == '<') && parse_minutes(item + 2, &v)) {
        bool created = item[0] == 'C' || item[0] == 'c';

        if (item[1] == '>') {
            *(created ? &q->created_gt : &q->topic_gt) = v;
        } else {
            *(created ? &q->created_lt : &q->topic_lt) = v;
        }
        q->topic_filter |= !created;
        return true;
    }
    if (item[0] == '!') {
        if (q->nnotmasks < LIST_MASKS_MAX) {
            q->notmasks[q->nnotmasks++] = item + 1;
        }
        return true;
    }
    if (strpbrk(item, "*?") != NULL) {
        if (q->nmasks < LIST_MASKS_MAX) {
            q->masks[q->nmasks++] = item;
        }
        return true;
    }
    return false;
}

static bool
list_wants(const struct list_query *q, const struct channel *ch)
{
    long users = (long)ch->nmembers;
    long age = (long)(q->now - ch->created);

    if (users <= q->users_gt || users >= q->users_lt) {
        return false;
    }
    if (age <= q->created_gt || age >= q->created_lt) {
        return false;
    }
    if (q->topic_filter) {
        long tage = (long)(q->now - ch->topic_time);

        if (ch->topic_time == 0 || tage <= q->topic_gt || tage >= q->topic_lt) {
            return false;
        }
    }
    if (q->nmasks > 0) {
        size_t i = 0;

        while (i < q->nmasks && !irc_mask_match(q->masks[i], ch->name)) {
            i++;
        }
        if (i == q->nmasks) {
            return false;
        }
    }
    for (size_t i = 0; i < q->nnotmasks; i++) {
        if (irc_mask_match(q->notmasks[i], ch->name)) {
            return false;
        }
    }
    return true;
}

static void
list_one(struct client *cl, const struct list_query *q, const struct channel *ch)
{
    if (irc_chan_visible(ch, cl) && list_wants(q, ch)) {
        irc_reply(cl, RPL_LIST, ch->name, ch->nmembers, ch->topic);
    }
}

IRC_CMD(list)
{
    struct ircd *d = cl->d;
    struct list_query q = {
        .users_gt = -1,
        .users_lt = LONG_MAX,
        .created_gt = -1,
        .created_lt = LONG_MAX,
        .topic_gt = -1,
        .topic_lt = LONG_MAX,
        .now = time(NULL),
    };
    char args[IRC_LINE_MAX + 1] = "";
    char *pos = args;
    char *item;
    bool named = false;

    irc_reply(cl, RPL_LISTSTART);
    if (m->nparams > 0) {
        str_copy(args, sizeof(args), m->params[0]);
    }
    /* Conditions first, so that they apply to the names given with them. */
    while ((item = next_item(&pos)) != NULL) {
        if (item[0] != '\0' && !list_condition(&q, item)) {
            named = true;
        }
    }
    if (named) {
        str_copy(args, sizeof(args), m->params[0]);
        pos = args;
        while ((item = next_item(&pos)) != NULL && !cl->dead) {
            struct channel *ch;

            if (item[0] == '\0' || !irc_is_chan(item)) {
                continue;
            }
            ch = irc_find_chan(d, item);
            if (ch != NULL) {
                list_one(cl, &q, ch);
            }
        }
    } else {
        struct name_set s;

        all_channel_names(d, &s);
        for (size_t i = 0; i < s.n && !cl->dead; i++) {
            struct channel *ch = map_get(d->chans, s.v[i], strlen(s.v[i]));

            if (ch != NULL) {
                list_one(cl, &q, ch);
            }
        }
        free(s.v);
    }
    if (!cl->dead) {
        irc_reply(cl, RPL_LISTEND);
    }
}

/* ---- INVITE ---- */

static void
list_invites(struct client *cl)
{
    struct ircd *d = cl->d;
    struct name_set s;

    all_channel_names(d, &s);
    for (size_t i = 0; i < s.n && !cl->dead; i++) {
        struct channel *ch = map_get(d->chans, s.v[i], strlen(s.v[i]));

        if (ch != NULL && invited(ch, cl->sid)) {
            irc_reply(cl, RPL_INVITELIST, ch->name);
        }
    }
    free(s.v);
    if (!cl->dead) {
        irc_reply(cl, RPL_ENDOFINVITELIST);
    }
}

IRC_CMD(invite)
{
    struct ircd *d = cl->d;
    struct client *target;
    struct channel *ch;
    struct member *mb;
    char src[SOURCE_MAX + 1];
    struct irc_line l;

    if (m->nparams == 0) {
        list_invites(cl);
        return;
    }
    if (m->nparams < 2) {
        irc_reply(cl, ERR_NEEDMOREPARAMS, "INVITE");
        return;
    }
    target = irc_find_nick(d, m->params[0]);
    if (target == NULL || !(target->state & CL_READY)) {
        irc_reply(cl, ERR_NOSUCHNICK, m->params[0]);
        return;
    }
    ch = irc_find_chan(d, m->params[1]);
    if (ch == NULL) {
        irc_reply(cl, ERR_NOSUCHCHANNEL, m->params[1]);
        return;
    }
    mb = irc_member(cl, ch);
    if (mb == NULL && !is_oper(cl)) {
        irc_reply(cl, ERR_NOTONCHANNEL, ch->name);
        return;
    }
    if ((ch->modes & CMODE_INVITE) && !is_chanop(mb) && !is_oper(cl)) {
        irc_reply(cl, ERR_CHANOPRIVSNEEDED, ch->name);
        return;
    }
    if (irc_member(target, ch) != NULL) {
        irc_reply(cl, ERR_USERONCHANNEL, target->nick, ch->name);
        return;
    }
    invited_add(ch, target->sid);
    irc_reply(cl, RPL_INVITING, target->nick, ch->name);
    if (target->is_away) {
        irc_reply(cl, RPL_AWAY, target->nick, target->away);
    }
    irc_source(cl, src, sizeof(src));
    irc_line_init(&l, cl, false, NULL, ":%s INVITE %s %s", src, target->nick, ch->name);
    irc_line_send(&l, target);
    /* invite-notify: the other members who could have invited too, that is the operators. */
    for (struct member *o = ch->members; o != NULL; o = o->chan_next) {
        if (o->cl != cl && o->cl != target && (o->prefix & PFX_OP) &&
            (o->cl->caps & CAP_INVITE_NOTIFY) && !o->cl->dead) {
            irc_line_send(&l, o->cl);
        }
    }
    irc_line_fini(&l);
}

/* ---- KICK ---- */

static void
kick_one(struct client *cl, const char *chan, const char *nick, const char *reason)
{
    struct ircd *d = cl->d;
    struct channel *ch = irc_find_chan(d, chan);
    struct member *mb;
    struct member *victim;
    struct client *target;
    char src[SOURCE_MAX + 1];
    char text[IRC_TEXT_MAX + 1];
    size_t max;
    struct irc_line l;

    if (ch == NULL) {
        irc_reply(cl, ERR_NOSUCHCHANNEL, chan);
        return;
    }
    mb = irc_member(cl, ch);
    if (mb == NULL && !is_oper(cl)) {
        irc_reply(cl, ERR_NOTONCHANNEL, ch->name);
        return;
    }
    if (!is_chanop(mb) && !is_oper(cl)) {
        irc_reply(cl, ERR_CHANOPRIVSNEEDED, ch->name);
        return;
    }
    target = irc_find_nick(d, nick);
    if (target == NULL || !(target->state & CL_READY)) {
        irc_reply(cl, ERR_NOSUCHNICK, nick);
        return;
    }
    victim = irc_member(target, ch);
    if (victim == NULL) {
        irc_reply(cl, ERR_USERNOTINCHANNEL, target->nick, ch->name);
        return;
    }
    irc_source(cl, src, sizeof(src));
    max = room_after(strlen(src) + strlen(ch->name) + strlen(target->nick) + 10);
    if (max > d->set.kicklen) {
        max = d->set.kicklen;
    }
    copy_text(text, sizeof(text), reason != NULL && reason[0] != '\0' ? reason : cl->nick, max);
    irc_line_init(&l, cl, false, NULL, ":%s KICK %s %s :%s", src, ch->name, target->nick, text);
    irc_chan_send(ch, &l, NULL, 0, 0);
    if (mb == NULL) {
        irc_line_send(&l, cl);
    }
    irc_line_fini(&l);
    irc_chan_remove(victim);
}

/* The number of items of a comma-separated list. */
static size_t
count_items(const char *s)
{
    size_t n = 1;

    for (const char *p = strchr(s, ','); p != NULL; p = strchr(p + 1, ',')) {
        n++;
    }
    return n;
}

IRC_CMD(kick)
{
    char chans[IRC_LINE_MAX + 1];
    char nicks[IRC_LINE_MAX + 1];
    char *cpos = chans;
    char *npos = nicks;
    const char *reason = m->nparams > 2 ? m->params[2] : NULL;
    size_t nchans = count_items(m->params[0]);
    char *chan = NULL;
    char *nick;

    /* One channel and several users, or as many channels as users, paired (RFC 2812). */
    if (nchans != 1 && nchans != count_items(m->params[1])) {
        irc_reply(cl, ERR_NEEDMOREPARAMS, "KICK");
        return;
    }
    str_copy(chans, sizeof(chans), m->params[0]);
    str_copy(nicks, sizeof(nicks), m->params[1]);
    if (nchans == 1) {
        chan = chans;
        cpos = NULL;
    }
    while ((nick = next_item(&npos)) != NULL && !cl->dead) {
        if (nchans != 1) {
            chan = next_item(&cpos);
        }
        if (chan != NULL && chan[0] != '\0' && nick[0] != '\0') {
            kick_one(cl, chan, nick, reason);
        }
    }
}

/* ---- MODE ---- */

/* The changes applied so far, broadcast as one MODE line (or several, should they not fit). */
struct mode_out {
    struct client *cl;
    struct channel *ch;
    bool echo; /* the author is not a member (an oper): it gets the line too */
    char src[SOURCE_MAX + 1];
    char modes[2 * MODE_CHANGES_MAX + 1];
    size_t nmodes;
    char sign;
    char args[IRC_LINE_MAX + 1];
    size_t argslen;
};

static void
mode_flush(struct mode_out *o)
{
    struct irc_line l;

    if (o->nmodes == 0) {
        return;
    }
    irc_line_init(&l, o->cl, false, NULL, ":%s MODE %s %s%s", o->src, o->ch->name, o->modes,
                  o->args);
    irc_chan_send(o->ch, &l, NULL, 0, 0);
    if (o->echo) {
        irc_line_send(&l, o->cl);
    }
    irc_line_fini(&l);
    o->nmodes = 0;
    o->modes[0] = '\0';
    o->sign = '\0';
    o->argslen = 0;
    o->args[0] = '\0';
}

static void
mode_add(struct mode_out *o, bool add, char mode, const char *arg)
{
    size_t fixed = 1 + strlen(o->src) + 6 + strlen(o->ch->name) + 1; /* ":src MODE #chan " */
    size_t need = 2 + (arg != NULL ? 1 + strlen(arg) : 0);
    char sign = add ? '+' : '-';

    if (o->nmodes > 0 && (fixed + o->nmodes + o->argslen + need > LINE_BODY_MAX ||
                          o->nmodes + 2 >= sizeof(o->modes))) {
        mode_flush(o);
    }
    if (o->sign != sign) {
        o->modes[o->nmodes++] = sign;
        o->sign = sign;
    }
    o->modes[o->nmodes++] = mode;
    o->modes[o->nmodes] = '\0';
    if (arg != NULL) {
        int n = snprintf(o->args + o->argslen, sizeof(o->args) - o->argslen, " %s", arg);

        if (n > 0) {
            o->argslen += (size_t)n;
            if (o->argslen >= sizeof(o->args)) {
                o->argslen = sizeof(o->args) - 1;
            }
        }
    }
}

/* A key we accept: 1..23 printable ASCII bytes, no space or comma (JOIN splits keys on commas),
 * not starting with ':' (it would turn into a trailing parameter when echoed). */
static bool
key_valid(const char *k)
{
    size_t n = strlen(k);

    if (n == 0 || n > KEY_MAX || k[0] == ':') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];

        if (c <= 0x20 || c >= 0x7f || c == ',') {
            return false;
        }
    }
    return true;
}

static void
send_mask_list(struct client *cl, const struct channel *ch, char mode)
{
    const struct mask_list *ml = mode == 'b' ? &ch->bans : mode == 'e' ? &ch->excepts : &ch->invex;

    for (size_t i = 0; i < ml->n; i++) {
        const struct mask_entry *e = &ml->v[i];

        if (mode == 'b') {
            irc_reply(cl, RPL_BANLIST, ch->name, e->mask, e->setter, (long long)e->when);
        } else if (mode == 'e') {
            irc_reply(cl, RPL_EXCEPTLIST, ch->name, e->mask, e->setter, (long long)e->when);
        } else {
            irc_reply(cl, RPL_INVEXLIST, ch->name, e->mask, e->setter, (long long)e->when);
        }
        if (cl->dead) {
            return;
        }
    }
    if (mode == 'b') {
        irc_reply(cl, RPL_ENDOFBANLIST, ch->name);
    } else if (mode == 'e') {
        irc_reply(cl, RPL_ENDOFEXCEPTLIST, ch->name);
    } else {
        irc_reply(cl, RPL_ENDOFINVEXLIST, ch->name);
    }
}

static unsigned
flag_of(char mode)
{
    switch (mode) {
    case 'i':
        return CMODE_INVITE;
    case 'm':
        return CMODE_MODERATED;
    case 'n':
        return CMODE_NO_EXTERNAL;
    case 's':
        return CMODE_SECRET;
    case 't':
        return CMODE_TOPIC;
    default:
        return 0;
    }
}

static void
mode_prefix(struct mode_out *o, const struct irc_mode_change *c)
{
    struct client *cl = o->cl;
    struct client *t = irc_find_nick(cl->d, c->arg);
    struct member *tm;
    unsigned bit = c->mode == 'o' ? PFX_OP : PFX_VOICE;

    if (t == NULL || !(t->state & CL_READY)) {
        irc_reply(cl, ERR_NOSUCHNICK, c->arg);
        return;
    }
    tm = irc_member(t, o->ch);
    if (tm == NULL) {
        irc_reply(cl, ERR_USERNOTINCHANNEL, t->nick, o->ch->name);
        return;
    }
    if (c->add == ((tm->prefix & bit) != 0)) {
        return;
    }
    tm->prefix ^= bit;
    mode_add(o, c->add, c->mode, t->nick);
}

static void
mode_mask(struct mode_out *o, const struct irc_mode_change *c)
{
    struct channel *ch = o->ch;
    struct mask_list *ml = list_of(ch, c->mode);
    char mask[IRC_MASK_MAX + 1];
    long i;

    if (irc_mask_normalize(c->arg, mask, sizeof(mask)) == 0 || mask[0] == ':') {
        return;
    }
    i = mask_find(ml, mask);
    if (c->add) {
        if (i >= 0) {
            return;
        }
        if (ml->n >= o->cl->d->set.max_list) {
            irc_reply(o->cl, ERR_BANLISTFULL, ch->name, c->mode);
            return;
        }
        mask_add(ml, mask, o->src);
        mode_add(o, true, c->mode, mask);
    } else if (i >= 0) {
        mode_add(o, false, c->mode, ml->v[i].mask);
        mask_del(ml, (size_t)i);
    }
}

static void
mode_apply(struct mode_out *o, const struct irc_mode_change *c)
{
    struct client *cl = o->cl;
    struct channel *ch = o->ch;
    unsigned flag = flag_of(c->mode);
    long limit;

    if (flag != 0) {
        if (c->add != ((ch->modes & flag) != 0)) {
            ch->modes ^= flag;
            mode_add(o, c->add, c->mode, NULL);
        }
        return;
    }
    switch (c->mode) {
    case 'o':
    case 'v':
        if (c->arg != NULL) {
            mode_prefix(o, c);
        }
        break;
    case 'b':
    case 'e':
    case 'I':
        if (c->arg != NULL) {
            mode_mask(o, c);
        }
        break;
    case 'k':
        if (!c->add) {
            if (ch->key[0] != '\0') {
                ch->key[0] = '\0';
                mode_add(o, false, 'k', "*");
            }
        } else if (c->arg == NULL || !key_valid(c->arg)) {
            irc_reply(cl, ERR_INVALIDMODEPARAM, ch->name, 'k', "*", "Invalid key");
        } else if (strcmp(ch->key, c->arg) != 0) {
            str_copy(ch->key, sizeof(ch->key), c->arg);
            mode_add(o, true, 'k', ch->key);
        }
        break;
    case 'l':
        if (!c->add) {
            if (ch->limit > 0) {
                ch->limit = 0;
                mode_add(o, false, 'l', NULL);
            }
        } else if (c->arg == NULL || !parse_long(c->arg, 1, 1000000000L, &limit)) {
            irc_reply(cl, ERR_INVALIDMODEPARAM, ch->name, 'l', param_or_star(c->arg),
                      "Invalid limit");
        } else if (limit != ch->limit) {
            char num[24];

            ch->limit = limit;
            snprintf(num, sizeof(num), "%ld", limit);
            mode_add(o, true, 'l', num);
        }
        break;
    default:
        break;
    }
}

static void
send_channel_modes(struct client *cl, const struct channel *ch)
{
    char modes[IRC_LINE_MAX];

    irc_channel_modes(ch, cl, modes, sizeof(modes));
    irc_reply(cl, RPL_CHANNELMODEIS, ch->name, modes);
    irc_reply(cl, RPL_CREATIONTIME, ch->name, (long long)ch->created);
}

IRC_CMD(mode)
{
    struct ircd *d = cl->d;
    struct channel *ch;
    struct member *mb;
    struct irc_mode_change changes[MODE_CHANGES_MAX];
    char unknown[64];
    size_t n;
    size_t nparams = 0;
    bool allowed;
    bool refused = false;
    unsigned listed = 0;
    struct mode_out o = {0};

    if (!irc_is_chan(m->params[0])) {
        irc_user_mode(cl, m);
        return;
    }
    ch = irc_find_chan(d, m->params[0]);
    if (ch == NULL) {
        irc_reply(cl, ERR_NOSUCHCHANNEL, m->params[0]);
        return;
    }
    if (m->nparams < 2) {
        send_channel_modes(cl, ch);
        return;
    }
    n = irc_modes_parse(&d->chan_spec, m->params[1], (const char *const *)&m->params[2],
                        m->nparams - 2, changes, MODE_CHANGES_MAX, unknown, sizeof(unknown));
    for (const char *u = unknown; *u != '\0' && !cl->dead; u++) {
        irc_reply(cl, ERR_UNKNOWNMODE, *u);
    }
    mb = irc_member(cl, ch);
    allowed = is_oper(cl) || is_chanop(mb);
    o.cl = cl;
    o.ch = ch;
    o.echo = mb == NULL;
    irc_source(cl, o.src, sizeof(o.src));
    for (size_t i = 0; i < n && !cl->dead; i++) {
        const struct irc_mode_change *c = &changes[i];
        bool is_list = c->mode == 'b' || c->mode == 'e' || c->mode == 'I';

        if (is_list && c->arg == NULL) {
            unsigned bit = c->mode == 'b' ? 1u : c->mode == 'e' ? 2u : 4u;

            if (listed & bit) {
                continue;
            }
            listed |= bit;
            if (!irc_chan_visible(ch, cl)) {
                irc_reply(cl, ERR_NOTONCHANNEL, ch->name);
            } else {
                send_mask_list(cl, ch, c->mode);
            }
            continue;
        }
        if (!allowed) {
            if (!refused) {
                irc_reply(cl, ERR_CHANOPRIVSNEEDED, ch->name);
                refused = true;
            }
            continue;
        }
        if (c->arg != NULL && nparams++ >= MODE_PARAMS_MAX) {
            continue;
        }
        mode_apply(&o, c);
    }
    if (!cl->dead) {
        mode_flush(&o);
    }
}
