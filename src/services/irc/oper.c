/* SPDX-License-Identifier: MIT */
/*
 * The IRC service's operator commands: OPER (the password checked on a worker thread, never on
 * the event loop), KILL, WALLOPS and CHGHOST. What opers may override in channels is decided
 * where the rule lives (chan.c, msg.c); REHASH is irc.c's, since it owns the settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/strutil.h"
#include "core/work.h"
#include "services/irc/irc.h"

enum oper_check {
    OPER_VERIFY, /* a configured name: verify against its hash */
    OPER_DECOY,  /* an unknown name: verify against another oper's hash, then fail anyway */
    OPER_HASH,   /* no opers configured at all: hash, then fail */
};

/* One OPER attempt, handed to a worker and back. It holds copies, not pointers into the
 * settings: a REHASH may replace those while the worker runs. */
struct oper_job {
    uint64_t sid;
    enum oper_check kind;
    char name[ACCOUNT_NAME_MAX + 1];
    char hash[PASSWORD_HASH_MAX];
    char pw[IRC_LINE_MAX];
    size_t pwlen;
    bool ok;
};

static bool
is_oper(const struct client *c)
{
    return (c->umodes & UMODE_OPER) != 0;
}

static void
job_free(struct oper_job *j)
{
    sodium_memzero(j, sizeof(*j));
    free(j);
}

/* ---- OPER ---- */

static void
oper_work(void *arg)
{
    struct oper_job *j = arg;
    char scratch[PASSWORD_HASH_MAX];

    switch (j->kind) {
    case OPER_VERIFY:
        j->ok = password_verify(j->hash, j->pw, j->pwlen);
        break;
    case OPER_DECOY:
        /* The same work as a real check, so that the time taken does not tell which names
         * exist; the answer is thrown away (the password might even match that oper's). */
        (void)password_verify(j->hash, j->pw, j->pwlen);
        j->ok = false;
        break;
    case OPER_HASH:
        (void)password_hash(j->pw, j->pwlen, scratch);
        sodium_memzero(scratch, sizeof(scratch));
        j->ok = false;
        break;
    }
    sodium_memzero(j->pw, sizeof(j->pw));
}

/* Back on the loop: the client may have quit (or been killed) while the worker ran. */
static void
oper_done(void *arg, bool ran)
{
    struct oper_job *j = arg;
    struct client *cl = ran ? irc_client_by_sid(j->sid) : NULL;

    if (cl == NULL || cl->dead) {
        job_free(j);
        return;
    }
    if (j->ok) {
        unsigned before = cl->umodes;

        cl->umodes |= UMODE_OPER;
        irc_umodes_changed(cl, before);
        log_info("irc: session %llu (%s) is now an operator (%s)", (unsigned long long)cl->sid,
                 cl->nick, j->name);
        irc_reply(cl, RPL_YOUREOPER);
        if (!(before & UMODE_OPER)) {
            irc_sendf(cl, ":%s MODE %s :+o", cl->nick, cl->nick);
        }
    } else {
        /* Only a configured name goes to the log: an unknown one is the client's text. */
        log_info("irc: session %llu (%s) failed OPER as %s from %s", (unsigned long long)cl->sid,
                 cl->nick, j->kind == OPER_VERIFY ? j->name : "an unknown name", cl->ip);
        irc_reply(cl, ERR_PASSWDMISMATCH);
    }
    irc_client_resume(cl);
    job_free(j);
}

IRC_CMD(oper)
{
    struct ircd *d = cl->d;
    const char *name = m->params[0];
    const char *pw = m->params[1];
    const struct oper_entry *e = NULL;
    struct oper_job *j;

    for (size_t i = 0; i < d->set.nopers; i++) {
        if (strcmp(d->set.opers[i].name, name) == 0) {
            e = &d->set.opers[i];
            break;
        }
    }
    j = xcalloc(1, sizeof(*j));
    j->sid = cl->sid;
    str_copy(j->name, sizeof(j->name), name);
    j->pwlen = strlen(pw);
    if (j->pwlen >= sizeof(j->pw)) {
        j->pwlen = sizeof(j->pw) - 1;
    }
    memcpy(j->pw, pw, j->pwlen);
    if (e != NULL) {
        j->kind = OPER_VERIFY;
        str_copy(j->hash, sizeof(j->hash), e->hash);
    } else if (d->set.nopers > 0) {
        j->kind = OPER_DECOY;
        str_copy(j->hash, sizeof(j->hash), d->set.opers[0].hash);
    } else {
        j->kind = OPER_HASH;
    }
    if (!work_submit(oper_work, oper_done, j)) {
        log_warn("irc: password queue full, refusing OPER from session %llu",
                 (unsigned long long)cl->sid);
        job_free(j);
        irc_reply(cl, ERR_UNKNOWNERROR, "OPER", "Server busy, try again later");
        return;
    }
    irc_client_pause(cl);
}

/* ---- KILL ---- */

IRC_CMD(kill)
{
    struct ircd *d = cl->d;
    struct client *victim;
    char reason[IRC_TEXT_MAX + 1];
    char quit[IRC_NICK_MAX + IRC_TEXT_MAX + 16];
    char src[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];
    size_t max =
        d->set.kicklen > 0 && d->set.kicklen < sizeof(reason) ? d->set.kicklen + 1 : sizeof(reason);

    if (!is_oper(cl)) {
        irc_reply(cl, ERR_NOPRIVILEGES);
        return;
    }
    victim = irc_find_nick(d, m->params[0]);
    if (victim == NULL || victim->dead) {
        irc_reply(cl, ERR_NOSUCHNICK, m->params[0]);
        return;
    }
    /* The one-parameter form (Ergo and others accept it) has no reason. */
    str_copy(reason, max, m->nparams > 1 && m->params[1][0] ? m->params[1] : "No reason given");
    snprintf(quit, sizeof(quit), "Killed (%s (%s))", cl->nick, reason);
    log_info("irc: %s killed %s (session %llu): %s", cl->nick, victim->nick,
             (unsigned long long)victim->sid, reason);
    irc_sendf(victim, ":%s KILL %s :%s", irc_source(cl, src, sizeof(src)), victim->nick, reason);
    irc_quit(victim, quit, true);
}

/* ---- WALLOPS ---- */

IRC_CMD(wallops)
{
    struct ircd *d = cl->d;
    char src[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];
    struct irc_line l;

    if (!is_oper(cl)) {
        irc_reply(cl, ERR_NOPRIVILEGES);
        return;
    }
    irc_line_init(&l, cl, false, NULL, ":%s WALLOPS :%s", irc_source(cl, src, sizeof(src)),
                  m->params[0]);
    for (struct client *c = d->clients; c != NULL; c = c->next) {
        if ((c->state & CL_READY) && !c->dead && (c->umodes & UMODE_WALLOPS)) {
            irc_line_send(&l, c);
        }
    }
    irc_line_fini(&l);
}

/* ---- CHGHOST ---- */

static bool
host_valid(const char *h)
{
    size_t n = strlen(h);

    /* A leading ':' would turn the host into a trailing parameter in 352 and friends. */
    return n > 0 && n <= IRC_HOST_MAX && h[0] != ':' &&
           strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.:-") == n;
}

IRC_CMD(chghost)
{
    struct client *t;
    const char *user = m->params[1];
    const char *host = m->params[2];
    char src[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];
    struct irc_line l;

    if (!is_oper(cl)) {
        irc_reply(cl, ERR_NOPRIVILEGES);
        return;
    }
    t = irc_find_nick(cl->d, m->params[0]);
    if (t == NULL || !(t->state & CL_READY) || t->dead) {
        irc_reply(cl, ERR_NOSUCHNICK, m->params[0]);
        return;
    }
    /* The stored user name has room for USERLEN plus the '~' of an unverified one. */
    if (!irc_user_valid(user, strlen(user), IRC_USER_MAX + 1) || user[0] == ':' ||
        strchr(user, '!') != NULL) {
        irc_std_reply(cl, "FAIL", "CHGHOST", "INVALID_USERNAME", user[0] ? user : NULL,
                      "Invalid username");
        return;
    }
    if (!host_valid(host)) {
        irc_std_reply(cl, "FAIL", "CHGHOST", "INVALID_HOSTNAME", host[0] ? host : NULL,
                      "Invalid hostname");
        return;
    }
    if (strcmp(t->user, user) == 0 && strcmp(t->host, host) == 0) {
        return;
    }
    log_info("irc: %s changed the host of %s to %s@%s", cl->nick, t->nick, user, host);
    /* Peers without the chghost capability are not told (the QUIT + JOIN replay is not done):
     * they see the new host on the next message. */
    irc_line_init(&l, t, false, NULL, ":%s CHGHOST %s %s", irc_source(t, src, sizeof(src)), user,
                  host);
    str_copy(t->user, sizeof(t->user), user);
    str_copy(t->host, sizeof(t->host), host);
    irc_peers_send(t, &l, true, CAP_CHGHOST, 0);
    irc_line_fini(&l);
}
