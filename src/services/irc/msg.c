/* SPDX-License-Identifier: MIT */
/*
 * PRIVMSG, NOTICE and TAGMSG to nicks and channels (several targets, STATUSMSG prefixes,
 * client-only tags, echo-message), and AWAY with its automatic replies. NOTICE never causes a
 * reply of any kind, errors included (RFC 1459 4.4.2), so that automatons cannot loop.
 */
#include <stdio.h>
#include <string.h>

#include "core/loop.h"
#include "core/strutil.h"
#include "services/irc/irc.h"

#define MSG_TARGETS_MAX 4

enum msg_kind { MSG_PRIVMSG, MSG_NOTICE, MSG_TAGMSG };

static const char *const kind_names[] = {"PRIVMSG", "NOTICE", "TAGMSG"};

/* The client-only tags ("+key[=value]") of the command being handled, re-joined, so that they
 * reach recipients that take message-tags. Server tags a client sends are dropped. */
static const char *
client_tags(const struct client *cl, char *out, size_t cap)
{
    size_t pos = 0, at = 0;
    struct irc_tag t;

    out[0] = '\0';
    if (cl->cmd_tags == NULL) {
        return NULL;
    }
    while (irc_tag_next(cl->cmd_tags, &at, &t)) {
        if (t.key.n < 2 || t.key.p[0] != '+' || !irc_tag_key_valid(t.key)) {
            continue;
        }
        size_t need = t.key.n + (t.value.n ? t.value.n + 1 : 0) + (pos ? 1 : 0);
        if (pos + need + 1 > cap) {
            break;
        }
        if (pos) {
            out[pos++] = ';';
        }
        memcpy(out + pos, t.key.p, t.key.n);
        pos += t.key.n;
        if (t.value.n) {
            out[pos++] = '=';
            memcpy(out + pos, t.value.p, t.value.n);
            pos += t.value.n;
        }
    }
    out[pos] = '\0';
    return pos ? out : NULL;
}

/* Which members a STATUSMSG target ("@#chan", "+#chan") reaches. */
static unsigned
status_prefix(const char **target)
{
    unsigned need = 0;

    for (;;) {
        if (**target == '@') {
            need = PFX_OP;
        } else if (**target == '+') {
            if (need == 0) {
                need = PFX_OP | PFX_VOICE;
            }
        } else {
            return need;
        }
        (*target)++;
    }
}

static void
to_channel(struct client *cl, enum msg_kind kind, const char *target, const char *text,
           const char *tags)
{
    struct ircd *d = cl->d;
    const char *name = target;
    unsigned need = status_prefix(&name);
    struct channel *ch = irc_find_chan(d, name);
    char src[IRC_LINE_MAX], shown[IRC_CHAN_MAX + 4];
    const char *why;
    struct irc_line l;

    if (ch == NULL) {
        if (kind != MSG_NOTICE) {
            irc_reply(cl, ERR_NOSUCHNICK, target);
        }
        return;
    }
    if ((why = irc_chan_cannot_speak(ch, cl)) != NULL) {
        if (kind != MSG_NOTICE) {
            irc_reply(cl, ERR_CANNOTSENDTOCHAN, ch->name, why);
        }
        return;
    }
    snprintf(shown, sizeof(shown), "%.*s%s", (int)(name - target), target, ch->name);
    irc_source(cl, src, sizeof(src));
    if (kind == MSG_TAGMSG) {
        irc_line_init(&l, cl, true, tags, ":%s TAGMSG %s", src, shown);
    } else {
        irc_line_init(&l, cl, true, tags, ":%s %s %s :%s", src, kind_names[kind], shown, text);
    }
    for (struct member *m = ch->members; m; m = m->chan_next) {
        if (m->cl == cl || (need && !(m->prefix & need))) {
            continue;
        }
        if (kind == MSG_TAGMSG && !(m->cl->caps & CAP_MESSAGE_TAGS)) {
            continue;
        }
        irc_line_send(&l, m->cl);
    }
    if (cl->caps & CAP_ECHO_MESSAGE) {
        irc_line_send(&l, cl);
    }
    irc_line_fini(&l);
}

static void
to_nick(struct client *cl, enum msg_kind kind, const char *target, const char *text,
        const char *tags)
{
    struct client *to = irc_find_nick(cl->d, target);
    char src[IRC_LINE_MAX];
    struct irc_line l;

    if (to == NULL || to->state != CL_READY) {
        if (kind != MSG_NOTICE) {
            irc_reply(cl, ERR_NOSUCHNICK, target);
        }
        return;
    }
    irc_source(cl, src, sizeof(src));
    if (kind == MSG_TAGMSG) {
        irc_line_init(&l, cl, true, tags, ":%s TAGMSG %s", src, to->nick);
    } else {
        irc_line_init(&l, cl, true, tags, ":%s %s %s :%s", src, kind_names[kind], to->nick, text);
    }
    if (kind != MSG_TAGMSG || (to->caps & CAP_MESSAGE_TAGS)) {
        /* To oneself: the delivery goes out at once; only the echo is the labeled reply. */
        bool capturing = to->capturing;
        if (to == cl && (cl->caps & CAP_ECHO_MESSAGE)) {
            to->capturing = false;
        }
        irc_line_send(&l, to);
        to->capturing = capturing;
    }
    if (cl->caps & CAP_ECHO_MESSAGE) {
        irc_line_send(&l, cl); /* to oneself: once delivered, once echoed */
    }
    irc_line_fini(&l);
    if (kind == MSG_PRIVMSG && to->is_away) {
        irc_reply(cl, RPL_AWAY, to->nick, to->away);
    }
}

static void
message(struct client *cl, struct irc_msg *m, enum msg_kind kind)
{
    char tags[IRC_CLIENT_TAGS_MAX + 1];
    const char *text = NULL;
    const char *ctags = client_tags(cl, tags, sizeof(tags));
    char targets[IRC_LINE_MAX];
    size_t count = 0;

    if (m->nparams == 0 || m->params[0][0] == '\0') {
        if (kind != MSG_NOTICE) {
            irc_reply(cl, ERR_NORECIPIENT, kind_names[kind]);
        }
        return;
    }
    if (kind != MSG_TAGMSG) {
        if (m->nparams < 2 || m->params[1][0] == '\0') {
            if (kind != MSG_NOTICE) {
                irc_reply(cl, ERR_NOTEXTTOSEND);
            }
            return;
        }
        text = m->params[1];
        cl->last_msg = loop_now();
    }
    str_copy(targets, sizeof(targets), m->params[0]);
    for (char *save = NULL, *t = strtok_r(targets, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (++count > MSG_TARGETS_MAX) {
            if (kind != MSG_NOTICE) {
                irc_reply(cl, ERR_TOOMANYTARGETS, t);
            }
            break;
        }
        const char *name = t;
        status_prefix(&name);
        if (irc_is_chan(name)) {
            to_channel(cl, kind, t, text, ctags);
        } else {
            to_nick(cl, kind, t, text, ctags);
        }
    }
}

IRC_CMD(privmsg)
{
    message(cl, m, MSG_PRIVMSG);
}

IRC_CMD(notice)
{
    message(cl, m, MSG_NOTICE);
}

IRC_CMD(tagmsg)
{
    message(cl, m, MSG_TAGMSG);
}

IRC_CMD(away)
{
    char src[IRC_LINE_MAX];
    struct irc_line l;
    const char *text = m->nparams > 0 ? m->params[0] : "";

    irc_source(cl, src, sizeof(src));
    if (text[0] == '\0') {
        bool was = cl->is_away;
        cl->is_away = false;
        cl->away[0] = '\0';
        irc_reply(cl, RPL_UNAWAY);
        if (!was) {
            return;
        }
        irc_line_init(&l, cl, false, NULL, ":%s AWAY", src);
    } else {
        size_t n = strlen(text);
        if (n > cl->d->set.awaylen) {
            n = cl->d->set.awaylen;
            while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80) {
                n--;
            }
        }
        memcpy(cl->away, text, n);
        cl->away[n] = '\0';
        cl->is_away = true;
        irc_reply(cl, RPL_NOWAWAY);
        irc_line_init(&l, cl, false, NULL, ":%s AWAY :%s", src, cl->away);
    }
    irc_peers_send(cl, &l, false, CAP_AWAY_NOTIFY, 0);
    irc_line_fini(&l);
}
