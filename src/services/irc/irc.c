/* SPDX-License-Identifier: MIT */
/*
 * The IRC service's spine: configuration, the session callbacks, the command table, registration
 * (PASS, NICK, USER, CAP, SASL PLAIN), flood control, PING and timeouts, QUIT, and the helpers
 * every command file sends with (irc.h). Channels, messages, queries and operator commands live
 * in their own files. The core frames lines (FRAME_LINE); everything here runs on the main loop.
 */
#include "services/irc/irc.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "core/cmd.h"
#include "core/listener.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/map.h"
#include "core/mem.h"
#include "core/ratelimit.h"
#include "core/strutil.h"
#include "core/tls.h"
#include "core/work.h"
#include "services/service.h"
#include "version.h"

#define IRC_SWEEP_SECONDS 0.5
#define IRC_MOTD_MAX (64 * 1024)
#define IRC_SASL_MAX 1200  /* base64 PLAIN messages longer than this in all: 904 */
#define IRC_SASL_CHUNK 400 /* AUTHENTICATE chunk size (IRCv3 sasl-3.1) */
#define IRC_FULL_LINE (IRC_TAGS_MAX + IRC_LINE_MAX + 2)
#define IRC_SASL_FAIL_MAX 10
#define IRC_SASL_FAIL_WINDOW 60.0

enum sasl_state { SASL_NONE, SASL_DATA, SASL_VERIFYING };

static const struct cfg_key irc_keys[] = {
    {"listen", CFG_LISTEN, "127.0.0.1:6667", 0, 0, NULL},
    {"idle_timeout", CFG_SECONDS, "0", 0, 86400 * 7, NULL},
    {"tls_listen", CFG_STR, "", 0, 0, NULL},
    {"tls_cert", CFG_PATH, "", 0, 0, NULL},
    {"tls_key", CFG_PATH, "", 0, 0, NULL},
    {"server_name", CFG_STR, "switchboard.local", 0, 0, NULL},
    {"network", CFG_STR, "switchboard", 0, 0, NULL},
    {"description", CFG_STR, "switchboard IRC server", 0, 0, NULL},
    {"password", CFG_STR, "", 0, 0, NULL},
    {"motd", CFG_PATH, "", 0, 0, NULL},
    {"opers", CFG_STR, "", 0, 0, NULL},
    {"max_per_ip", CFG_INT, "10", 0, 1000000, NULL},
    {"nicklen", CFG_INT, "30", 1, IRC_NICK_MAX, NULL},
    {"channellen", CFG_INT, "50", 2, IRC_CHAN_MAX, NULL},
    {"topiclen", CFG_INT, "390", 1, IRC_TEXT_MAX, NULL},
    {"awaylen", CFG_INT, "390", 1, IRC_TEXT_MAX, NULL},
    {"kicklen", CFG_INT, "390", 1, IRC_TEXT_MAX, NULL},
    {"max_channels", CFG_INT, "50", 1, 100000, NULL},
    {"max_list", CFG_INT, "100", 1, 100000, NULL},
    {"flood_burst", CFG_INT, "10", 1, 100000000, NULL},
    {"flood_rate", CFG_INT, "2", 1, 100000000, NULL},
    {"recvq", CFG_INT, "8192", 1024, 1L << 24, NULL},
    {"ping_interval", CFG_SECONDS, "90", 1, 86400, NULL},
    {"ping_timeout", CFG_SECONDS, "120", 1, 86400, NULL},
    {"registration_timeout", CFG_SECONDS, "60", 1, 86400, NULL},
    {"whowas", CFG_INT, "1000", 0, 1000000, NULL},
    {NULL, 0, NULL, 0, 0, NULL},
};

/* The capabilities we offer, in the order of enum irc_cap. */
static const struct {
    const char *name;
    const char *value; /* shown with CAP LS 302 */
} caps[] = {
    /* clang-format off */
    {"cap-notify", NULL},
    {"message-tags", NULL},
    {"server-time", NULL},
    {"echo-message", NULL},
    {"multi-prefix", NULL},
    {"userhost-in-names", NULL},
    {"extended-join", NULL},
    {"account-tag", NULL},
    {"account-notify", NULL},
    {"away-notify", NULL},
    {"setname", NULL},
    {"chghost", NULL},
    {"invite-notify", NULL},
    {"batch", NULL},
    {"labeled-response", NULL},
    {"standard-replies", NULL},
    {"sasl", "PLAIN"},
    {"extended-monitor", NULL},
    /* clang-format on */
};
#define NCAPS (sizeof(caps) / sizeof(caps[0]))

struct irc_cmd {
    struct cmd_def def;
    void (*fn)(struct client *cl, struct irc_msg *m);
};

#define ANY (CL_NEW | CL_READY)
#define REG CL_READY

static const struct irc_cmd commands[] = {
    {{"ADMIN", 0, 15, REG}, irc_cmd_admin},
    {{"AUTHENTICATE", 1, 15, ANY}, irc_cmd_authenticate},
    {{"AWAY", 0, 15, REG}, irc_cmd_away},
    {{"CAP", 1, 15, ANY}, irc_cmd_cap},
    {{"CHGHOST", 3, 15, REG}, irc_cmd_chghost},
    {{"HELP", 0, 15, REG}, irc_cmd_help},
    {{"HELPOP", 0, 15, REG}, irc_cmd_help},
    {{"INFO", 0, 15, REG}, irc_cmd_info},
    {{"INVITE", 0, 15, REG}, irc_cmd_invite},
    {{"ISON", 1, 15, REG}, irc_cmd_ison},
    {{"JOIN", 1, 15, REG}, irc_cmd_join},
    {{"KICK", 2, 15, REG}, irc_cmd_kick},
    {{"KILL", 1, 15, REG}, irc_cmd_kill},
    {{"LINKS", 0, 15, REG}, irc_cmd_links},
    {{"LIST", 0, 15, REG}, irc_cmd_list},
    {{"LUSERS", 0, 15, REG}, irc_cmd_lusers},
    {{"MODE", 1, 15, REG}, irc_cmd_mode},
    {{"MONITOR", 1, 15, REG}, irc_cmd_monitor},
    {{"MOTD", 0, 15, REG}, irc_cmd_motd},
    {{"NAMES", 0, 15, REG}, irc_cmd_names},
    {{"NICK", 0, 15, ANY}, irc_cmd_nick},
    {{"NOTICE", 0, 15, REG}, irc_cmd_notice},
    {{"OPER", 2, 15, REG}, irc_cmd_oper},
    {{"PART", 1, 15, REG}, irc_cmd_part},
    {{"PASS", 1, 15, ANY}, irc_cmd_pass},
    {{"PING", 0, 15, ANY}, irc_cmd_ping},
    {{"PONG", 0, 15, ANY}, irc_cmd_pong},
    {{"PRIVMSG", 0, 15, REG}, irc_cmd_privmsg},
    {{"QUIT", 0, 15, ANY}, irc_cmd_quit},
    {{"REHASH", 0, 15, REG}, irc_cmd_rehash},
    {{"SETNAME", 1, 15, REG}, irc_cmd_setname},
    {{"TAGMSG", 1, 15, REG}, irc_cmd_tagmsg},
    {{"TIME", 0, 15, REG}, irc_cmd_time},
    {{"TOPIC", 1, 15, REG}, irc_cmd_topic},
    {{"USER", 4, 15, ANY}, irc_cmd_user},
    {{"USERHOST", 1, 15, REG}, irc_cmd_userhost},
    {{"VERSION", 0, 15, REG}, irc_cmd_version},
    {{"WALLOPS", 1, 15, REG}, irc_cmd_wallops},
    {{"WHO", 1, 15, REG}, irc_cmd_who},
    {{"WHOIS", 1, 15, REG}, irc_cmd_whois},
    {{"WHOWAS", 1, 15, REG}, irc_cmd_whowas},
};

/* The one IRC service of the process (service ops carry no context for session callbacks'
 * helpers such as irc_client_by_sid()). */
static struct ircd *the_ircd;
static struct cfg *(*reread)(char *err, size_t errcap);
static const char *config_file = "<defaults>";
static struct ratelimit *sasl_failures;

static void try_register(struct client *cl);

/* ---- small helpers ---- */

const char *
irc_nick_or_star(const struct client *cl)
{
    return cl->nick[0] ? cl->nick : "*";
}

const char *
irc_source(const struct client *cl, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s!%s@%s", irc_nick_or_star(cl), cl->user[0] ? cl->user : "*", cl->host);
    return buf;
}

bool
irc_is_chan(const char *name)
{
    return name[0] == '#' || name[0] == '&';
}

struct client *
irc_find_nick(struct ircd *d, const char *nick)
{
    char key[IRC_NICK_MAX + 1];
    size_t n = strlen(nick);

    if (n == 0 || n > IRC_NICK_MAX) {
        return NULL;
    }
    irc_fold(nick, n, key);
    return map_get(d->nicks, key, n);
}

struct client *
irc_client_by_sid(uint64_t sid)
{
    struct session *s = sess_find(sid);

    if (s == NULL || the_ircd == NULL || s->ep != &the_ircd->svc->ep) {
        return NULL;
    }
    return s->priv;
}

const char *
irc_umode_string(const struct client *cl, char *buf, size_t cap)
{
    size_t n = 0;

    if (cap < 6) {
        return "+";
    }
    buf[n++] = '+';
    if (cl->umodes & UMODE_INVISIBLE) {
        buf[n++] = 'i';
    }
    if (cl->umodes & UMODE_OPER) {
        buf[n++] = 'o';
    }
    if (cl->umodes & UMODE_WALLOPS) {
        buf[n++] = 'w';
    }
    if (cl->umodes & UMODE_BOT) {
        buf[n++] = 'B';
    }
    buf[n] = '\0';
    return buf;
}

void
irc_umodes_changed(struct client *cl, unsigned before)
{
    struct ircd *d = cl->d;
    unsigned now = cl->umodes;

    if (cl->state != CL_READY) {
        return;
    }
    if ((before ^ now) & UMODE_INVISIBLE) {
        if (now & UMODE_INVISIBLE) {
            d->ninvisible++;
        } else {
            d->ninvisible--;
        }
    }
    if ((before ^ now) & UMODE_OPER) {
        if (now & UMODE_OPER) {
            d->nopers++;
        } else {
            d->nopers--;
        }
    }
}

/* Cut @n bytes of text to at most @max without splitting a UTF-8 sequence. */
static size_t
cut_utf8(const char *p, size_t n, size_t max)
{
    if (n <= max) {
        return n;
    }
    n = max;
    while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80) {
        n--;
    }
    return n;
}

static void
format_timeval(const struct timeval *tv, char out[32])
{
    struct tm tm;

    gmtime_r(&tv->tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", (long)(tv->tv_usec / 1000));
}

static void
format_time(char out[32])
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    format_timeval(&tv, out);
}

/* ---- output: every line to a client goes through client_out() ---- */

static void
capture(struct client *cl, const char *line, size_t n)
{
    struct captured *c = xmalloc(sizeof(*c) + n);

    c->next = NULL;
    c->n = n;
    memcpy(c->line, line, n);
    *cl->cap_tail = c;
    cl->cap_tail = &c->next;
    cl->ncaptured++;
}

/* @line has its CRLF at line[n - 2]. */
static void
client_out(struct client *cl, const char *line, size_t n)
{
    if (cl->dead || cl->s == NULL) {
        return;
    }
    if (cl->capturing) {
        capture(cl, line, n - 2);
        return;
    }
    sess_send(cl->s, line, n);
}

/* Send @body (no CRLF) with the tags @cl takes for a line from the server or a user (time). */
static void
send_body(struct client *cl, const char *body, size_t n)
{
    char line[IRC_LINE_MAX + 64];
    size_t pos = 0;

    n = cut_utf8(body, n, IRC_LINE_MAX - 2);
    if (cl->caps & CAP_SERVER_TIME) {
        char t[32];
        format_time(t);
        pos = (size_t)snprintf(line, sizeof(line), "@time=%s ", t);
    }
    memcpy(line + pos, body, n);
    pos += n;
    line[pos++] = '\r';
    line[pos++] = '\n';
    client_out(cl, line, pos);
}

void
irc_reply(struct client *cl, const char *num, const char *fmt, ...)
{
    char body[IRC_LINE_MAX * 2];
    va_list ap;
    int n = snprintf(body, sizeof(body), ":%s %s %s ", cl->d->set.server_name, num,
                     irc_nick_or_star(cl));

    va_start(ap, fmt);
    int m = vsnprintf(body + n, sizeof(body) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len >= sizeof(body)) {
        len = sizeof(body) - 1;
    }
    send_body(cl, body, len);
}

void
irc_sendf(struct client *cl, const char *fmt, ...)
{
    char body[IRC_LINE_MAX * 2];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    send_body(cl, body, (size_t)n < sizeof(body) ? (size_t)n : sizeof(body) - 1);
}

void
irc_std_reply(struct client *cl, const char *kind, const char *cmd, const char *code,
              const char *context, const char *text)
{
    irc_sendf(cl, ":%s %s %s %s%s%s :%s", cl->d->set.server_name, kind, cmd, code,
              context ? " " : "", context ? context : "", text);
}

/* ---- shared lines ---- */

void
irc_line_init(struct irc_line *l, const struct client *from, bool msgid, const char *client_tags,
              const char *fmt, ...)
{
    va_list ap;

    /* Not a memset of the whole: the arena and the body are written before they are read. */
    memset(l->vdata, 0, sizeof(l->vdata));
    memset(l->variant, 0, sizeof(l->variant));
    l->arena_used = 0;
    l->account[0] = l->msgid[0] = l->time[0] = '\0';
    va_start(ap, fmt);
    int n = vsnprintf(l->body, sizeof(l->body), fmt, ap);
    va_end(ap);
    l->bodylen = n < 0 ? 0 : (size_t)n;
    l->bodylen = cut_utf8(l->body, l->bodylen < sizeof(l->body) ? l->bodylen : sizeof(l->body) - 1,
                          IRC_LINE_MAX - 2);
    l->body[l->bodylen] = '\0';
    if (from && from->account[0]) {
        str_copy(l->account, sizeof(l->account), from->account);
    }
    l->want_msgid = msgid && the_ircd;
    l->client_tags = client_tags && client_tags[0] ? client_tags : NULL;
    l->bot = msgid && from && (from->umodes & UMODE_BOT);
    gettimeofday(&l->tv, NULL); /* formatted only if a recipient takes server-time */
}

static unsigned
variant_of(const struct irc_line *l, const struct client *to)
{
    unsigned v = 0;

    if (to->caps & CAP_SERVER_TIME) {
        v |= 1;
    }
    if (l->account[0] && (to->caps & CAP_ACCOUNT_TAG)) {
        v |= 2;
    }
    if ((l->want_msgid || l->client_tags || l->bot) && (to->caps & CAP_MESSAGE_TAGS)) {
        v |= 4;
    }
    return v;
}

/* The line variant @v: "@tags " + body + CRLF, into @out (IRC_FULL_LINE bytes). */
static size_t
build_variant(struct irc_line *l, unsigned v, char *out)
{
    size_t pos = 0;
    char sep = '@';

    if ((v & 1) && l->time[0] == '\0') {
        format_timeval(&l->tv, l->time);
    }
    if ((v & 4) && l->want_msgid && l->msgid[0] == '\0') {
        snprintf(l->msgid, sizeof(l->msgid), "%08llx%08llx",
                 (unsigned long long)(the_ircd->started & 0xffffffff),
                 (unsigned long long)++the_ircd->msgid_seq);
    }

#define ADD_TAG(...)                                                                               \
    do {                                                                                           \
        out[pos++] = sep;                                                                          \
        sep = ';';                                                                                 \
        int k_ = snprintf(out + pos, IRC_TAGS_MAX - pos, __VA_ARGS__);                             \
        pos +=                                                                                     \
            k_ > 0 ? ((size_t)k_ < IRC_TAGS_MAX - pos ? (size_t)k_ : IRC_TAGS_MAX - pos - 1) : 0;  \
    } while (0)
    if (v & 1) {
        ADD_TAG("time=%s", l->time);
    }
    if (v & 2) {
        ADD_TAG("account=%s", l->account);
    }
    if (v & 4) {
        if (l->bot) {
            ADD_TAG("bot");
        }
        if (l->msgid[0]) {
            ADD_TAG("msgid=%s", l->msgid);
        }
        if (l->client_tags) {
            ADD_TAG("%s", l->client_tags);
        }
    }
#undef ADD_TAG
    if (pos > 0) {
        out[pos++] = ' ';
    }
    memcpy(out + pos, l->body, l->bodylen);
    pos += l->bodylen;
    out[pos++] = '\r';
    out[pos++] = '\n';
    return pos;
}

void
irc_line_send(struct irc_line *l, struct client *to)
{
    unsigned v;

    if (to->dead || to->s == NULL) {
        return;
    }
    v = variant_of(l, to);
    if (to->capturing) {
        char out[IRC_FULL_LINE];
        size_t n = build_variant(l, v, out);
        capture(to, out, n - 2);
        return;
    }
    if (l->vdata[v] == NULL) {
        char out[IRC_FULL_LINE];
        size_t n = build_variant(l, v, out);
        if (n <= 256 && l->arena_used + n <= sizeof(l->arena)) {
            memcpy(l->arena + l->arena_used, out, n);
            l->vdata[v] = l->arena + l->arena_used;
            l->arena_used += n;
        } else {
            l->variant[v] = shared_new(out, n);
            l->vdata[v] = shared_data(l->variant[v]);
        }
        l->vlen[v] = n;
    }
    if (l->variant[v]) {
        sess_send_shared(to->s, l->variant[v]);
    } else {
        sess_send(to->s, l->vdata[v], l->vlen[v]);
    }
}

void
irc_line_fini(struct irc_line *l)
{
    for (size_t i = 0; i < 8; i++) {
        shared_unref(l->variant[i]);
        l->variant[i] = NULL;
    }
}

static bool
wants(const struct client *cl, unsigned need, unsigned skip)
{
    return (cl->caps & need) == need && (cl->caps & skip) == 0;
}

void
irc_chan_send(struct channel *ch, struct irc_line *l, struct client *except, unsigned need,
              unsigned skip)
{
    for (struct member *m = ch->members; m; m = m->chan_next) {
        if (m->cl != except && wants(m->cl, need, skip)) {
            irc_line_send(l, m->cl);
        }
    }
}

struct peers_arg {
    struct irc_line *l;
    unsigned mark, need, skip;
};

static void
monitor_peer(struct client *w, void *arg)
{
    struct peers_arg *a = arg;

    if (w->mark != a->mark) {
        w->mark = a->mark;
        if (wants(w, a->need, a->skip)) {
            irc_line_send(a->l, w);
        }
    }
}

void
irc_peers_send(struct client *cl, struct irc_line *l, bool self, unsigned need, unsigned skip)
{
    struct ircd *d = cl->d;
    unsigned mark = ++d->mark;

    if (mark == 0) { /* wrapped: forget every old mark */
        for (struct client *c = d->clients; c; c = c->next) {
            c->mark = 0;
        }
        mark = ++d->mark;
    }
    cl->mark = mark;
    if (self && wants(cl, need, skip)) {
        irc_line_send(l, cl);
    }
    if (need != 0) {
        /* extended-monitor: capability notifications reach watchers as if they shared a channel */
        struct peers_arg a = {l, mark, need | CAP_EXTENDED_MONITOR, skip};
        irc_monitor_each(cl, monitor_peer, &a);
    }
    for (struct member *my = cl->chans; my; my = my->cl_next) {
        for (struct member *m = my->ch->members; m; m = m->chan_next) {
            if (m->cl->mark != mark) {
                m->cl->mark = mark;
                if (wants(m->cl, need, skip)) {
                    irc_line_send(l, m->cl);
                }
            }
        }
    }
}

/* ---- labeled-response ---- */

/* Write @line (no CRLF) to @cl with @tag added to its tags. */
static void
send_tagged(struct client *cl, const char *tag, const char *line, size_t n)
{
    char out[IRC_FULL_LINE + 128];
    size_t pos;

    if (n > 0 && line[0] == '@') {
        pos = (size_t)snprintf(out, sizeof(out), "@%s;", tag);
        line++;
        n--;
    } else {
        pos = (size_t)snprintf(out, sizeof(out), "@%s ", tag);
    }
    if (pos + n + 2 > sizeof(out)) {
        n = sizeof(out) - pos - 2;
    }
    memcpy(out + pos, line, n);
    pos += n;
    out[pos++] = '\r';
    out[pos++] = '\n';
    sess_send(cl->s, out, pos);
}

static void
label_end(struct client *cl)
{
    struct captured *c = cl->cap_head, *next;
    char tag[96], ref[16];
    bool alive = !cl->dead && cl->s != NULL;

    if (!cl->capturing) {
        return;
    }
    cl->capturing = false;
    snprintf(tag, sizeof(tag), "label=%s", cl->label);
    if (alive && cl->ncaptured == 0) {
        char line[IRC_LINE_MAX];
        int n = snprintf(line, sizeof(line), ":%s ACK", cl->d->set.server_name);
        send_tagged(cl, tag, line, (size_t)n);
    } else if (alive && cl->ncaptured == 1) {
        send_tagged(cl, tag, c->line, c->n);
    } else if (alive && (cl->caps & CAP_BATCH)) {
        char line[IRC_LINE_MAX], btag[32];
        snprintf(ref, sizeof(ref), "lr%llx", (unsigned long long)++cl->d->msgid_seq);
        int n = snprintf(line, sizeof(line), ":%s BATCH +%s labeled-response",
                         cl->d->set.server_name, ref);
        send_tagged(cl, tag, line, (size_t)n);
        snprintf(btag, sizeof(btag), "batch=%s", ref);
        for (struct captured *x = c; x; x = x->next) {
            send_tagged(cl, btag, x->line, x->n);
        }
        n = snprintf(line, sizeof(line), ":%s BATCH -%s\r\n", cl->d->set.server_name, ref);
        sess_send(cl->s, line, (size_t)n);
    } else if (alive) {
        for (struct captured *x = c; x; x = x->next) {
            char out[IRC_FULL_LINE];
            memcpy(out, x->line, x->n);
            memcpy(out + x->n, "\r\n", 2);
            sess_send(cl->s, out, x->n + 2);
        }
    }
    for (; c; c = next) {
        next = c->next;
        free(c);
    }
    cl->cap_head = NULL;
    cl->cap_tail = &cl->cap_head;
    cl->ncaptured = 0;
    cl->label[0] = '\0';
}

/* Start capturing if the command carries a usable label tag. */
static void
label_begin(struct client *cl, const char *tags)
{
    size_t pos = 0;
    struct irc_tag t;

    if (tags == NULL || !(cl->caps & CAP_LABELED_RESPONSE)) {
        return;
    }
    while (irc_tag_next(tags, &pos, &t)) {
        if (str_eq(t.key, "label") && t.value.n > 0 && t.value.n < sizeof(cl->label)) {
            memcpy(cl->label, t.value.p, t.value.n);
            cl->label[t.value.n] = '\0';
            cl->capturing = true;
            return;
        }
    }
}

/* ---- settings ---- */

static void
settings_free(struct irc_settings *set)
{
    free(set->motd);
    if (set->opers) {
        sodium_memzero(set->opers, set->nopers * sizeof(*set->opers));
    }
    free(set->opers);
    memset(set, 0, sizeof(*set));
}

static int
read_motd(const char *path, char **out, char *err, size_t errcap)
{
    FILE *f;
    char *buf;
    size_t n;

    *out = NULL;
    if (path[0] == '\0') {
        return 0;
    }
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errcap, "cannot read the MOTD file %s: %s", path, strerror(errno));
        return -1;
    }
    buf = xmalloc(IRC_MOTD_MAX + 1);
    n = fread(buf, 1, IRC_MOTD_MAX + 1, f);
    fclose(f);
    if (n > IRC_MOTD_MAX) {
        snprintf(err, errcap, "the MOTD file %s is longer than %d bytes", path, IRC_MOTD_MAX);
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    if (!irc_utf8_valid(buf, n) || memchr(buf, '\0', n) != NULL) {
        snprintf(err, errcap, "the MOTD file %s is not UTF-8 text", path);
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

static int
parse_opers(const char *text, struct irc_settings *set, char *err, size_t errcap)
{
    const char *p = text;

    while (*p) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        const char *end = p + strcspn(p, " \t");
        const char *colon = memchr(p, ':', (size_t)(end - p));
        size_t nl = colon ? (size_t)(colon - p) : 0, hl = colon ? (size_t)(end - colon - 1) : 0;
        if (colon == NULL || !account_name_valid(p, nl) || hl == 0 || hl >= PASSWORD_HASH_MAX ||
            (strncmp(colon + 1, "$argon2id$", 10) != 0 &&
             strncmp(colon + 1, "$argon2i$", 9) != 0)) {
            snprintf(err, errcap,
                     "opers: expected NAME:HASH pairs (the hash from `switchboard hash-password`), "
                     "got '%.*s'",
                     (int)(end - p > 60 ? 60 : end - p), p);
            return -1;
        }
        set->opers = xrealloc(set->opers, (set->nopers + 1) * sizeof(*set->opers));
        struct oper_entry *o = &set->opers[set->nopers++];
        memcpy(o->name, p, nl);
        o->name[nl] = '\0';
        memcpy(o->hash, colon + 1, hl);
        o->hash[hl] = '\0';
        p = end;
    }
    return 0;
}

static bool
server_name_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > IRC_SERVER_MAX || strchr(s, '.') == NULL) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-')) {
            return false;
        }
    }
    return true;
}

static int
read_settings(const struct cfg *cfg, struct irc_settings *set, char *err, size_t errcap)
{
    char where[256], why[256];
    const char *s;

    memset(set, 0, sizeof(*set));
    s = cfg_str(cfg, "irc", "server_name");
    if (!server_name_valid(s)) {
        cfg_where(cfg, "irc", "server_name", where, sizeof(where));
        snprintf(err, errcap,
                 "%s: '%s' is not a server name (letters, digits, '-' and at least "
                 "one '.', at most %d bytes)",
                 where, s, IRC_SERVER_MAX);
        return -1;
    }
    str_copy(set->server_name, sizeof(set->server_name), s);
    s = cfg_str(cfg, "irc", "network");
    if (s[0] == '\0' || strlen(s) >= sizeof(set->network) || strpbrk(s, " ,:=\\")) {
        cfg_where(cfg, "irc", "network", where, sizeof(where));
        snprintf(err, errcap,
                 "%s: the network name must be 1 to %zu bytes without spaces, commas, "
                 "':', '=' or '\\'",
                 where, sizeof(set->network) - 1);
        return -1;
    }
    str_copy(set->network, sizeof(set->network), s);
    s = cfg_str(cfg, "irc", "description");
    if (strlen(s) >= sizeof(set->description) || !irc_utf8_valid(s, strlen(s))) {
        cfg_where(cfg, "irc", "description", where, sizeof(where));
        snprintf(err, errcap, "%s: at most %zu bytes of UTF-8 text", where,
                 sizeof(set->description) - 1);
        return -1;
    }
    str_copy(set->description, sizeof(set->description), s);
    s = cfg_str(cfg, "irc", "password");
    if (strlen(s) >= sizeof(set->password)) {
        cfg_where(cfg, "irc", "password", where, sizeof(where));
        snprintf(err, errcap, "%s: longer than %zu bytes", where, sizeof(set->password) - 1);
        return -1;
    }
    str_copy(set->password, sizeof(set->password), s);
    if (read_motd(cfg_str(cfg, "irc", "motd"), &set->motd, why, sizeof(why)) < 0) {
        cfg_where(cfg, "irc", "motd", where, sizeof(where));
        snprintf(err, errcap, "%s: %s", where, why);
        goto fail;
    }
    if (parse_opers(cfg_str(cfg, "irc", "opers"), set, why, sizeof(why)) < 0) {
        cfg_where(cfg, "irc", "opers", where, sizeof(where));
        snprintf(err, errcap, "%s: %s", where, why);
        goto fail;
    }
    set->max_per_ip = (size_t)cfg_int(cfg, "irc", "max_per_ip");
    set->nicklen = (size_t)cfg_int(cfg, "irc", "nicklen");
    set->channellen = (size_t)cfg_int(cfg, "irc", "channellen");
    set->topiclen = (size_t)cfg_int(cfg, "irc", "topiclen");
    set->awaylen = (size_t)cfg_int(cfg, "irc", "awaylen");
    set->kicklen = (size_t)cfg_int(cfg, "irc", "kicklen");
    set->max_channels = (size_t)cfg_int(cfg, "irc", "max_channels");
    set->max_list = (size_t)cfg_int(cfg, "irc", "max_list");
    set->flood_burst = (double)cfg_int(cfg, "irc", "flood_burst");
    set->flood_rate = (double)cfg_int(cfg, "irc", "flood_rate");
    set->recvq = (size_t)cfg_int(cfg, "irc", "recvq");
    set->ping_interval = cfg_seconds(cfg, "irc", "ping_interval");
    set->ping_timeout = cfg_seconds(cfg, "irc", "ping_timeout");
    set->registration_timeout = cfg_seconds(cfg, "irc", "registration_timeout");
    set->whowas = (size_t)cfg_int(cfg, "irc", "whowas");
    return 0;
fail:
    settings_free(set);
    return -1;
}

/* ---- WHOWAS ---- */

void
irc_whowas_add(struct ircd *d, const struct client *cl)
{
    struct whowas *w;

    if (d->set.whowas == 0 || cl->nick[0] == '\0') {
        return;
    }
    w = &d->whowas[d->whowas_next];
    d->whowas_next = (d->whowas_next + 1) % d->set.whowas;
    if (d->whowas_count < d->set.whowas) {
        d->whowas_count++;
    }
    str_copy(w->nick, sizeof(w->nick), cl->nick);
    str_copy(w->user, sizeof(w->user), cl->user);
    str_copy(w->host, sizeof(w->host), cl->host);
    str_copy(w->real, sizeof(w->real), cl->real);
    str_copy(w->account, sizeof(w->account), cl->account);
    w->when = time(NULL);
}

static void
whowas_resize(struct ircd *d, size_t n)
{
    free(d->whowas);
    d->whowas = n ? xcalloc(n, sizeof(*d->whowas)) : NULL;
    d->whowas_next = 0;
    d->whowas_count = 0;
}

/* ---- nicknames ---- */

void
irc_set_nick(struct client *cl, const char *nick)
{
    struct ircd *d = cl->d;
    char key[IRC_NICK_MAX + 1];

    if (cl->nick[0]) {
        irc_fold(cl->nick, strlen(cl->nick), key);
        if (map_get(d->nicks, key, strlen(key)) == cl) {
            map_del(d->nicks, key, strlen(key));
        }
    }
    str_copy(cl->nick, sizeof(cl->nick), nick);
    if (cl->nick[0]) {
        irc_fold(cl->nick, strlen(cl->nick), key);
        map_put(d->nicks, key, strlen(key), cl);
    }
}

/* ---- per-address connection counts ---- */

static size_t
ip_count(struct ircd *d, const char *ip, int delta)
{
    size_t n = (size_t)(uintptr_t)map_get(d->per_ip, ip, strlen(ip));

    if (delta > 0) {
        n++;
    } else if (n > 0) {
        n--;
    }
    if (n == 0) {
        map_del(d->per_ip, ip, strlen(ip));
    } else {
        map_put(d->per_ip, ip, strlen(ip), (void *)(uintptr_t)n);
    }
    return n;
}

/* ---- quitting ---- */

void
irc_quit(struct client *cl, const char *reason, bool error)
{
    struct ircd *d = cl->d;
    char src[IRC_LINE_MAX];

    if (cl->dead) {
        return;
    }
    if (cl->state == CL_READY) {
        struct irc_line l;
        irc_line_init(&l, cl, false, NULL, ":%s QUIT :%s", irc_source(cl, src, sizeof(src)),
                      reason);
        irc_peers_send(cl, &l, false, 0, 0);
        irc_line_fini(&l);
        irc_whowas_add(d, cl);
        irc_chan_part_all(cl);
        irc_monitor_notify(cl, cl->nick, false);
        d->nusers--;
        if (cl->umodes & UMODE_INVISIBLE) {
            d->ninvisible--;
        }
        if (cl->umodes & UMODE_OPER) {
            d->nopers--;
        }
    } else {
        d->nunknown--;
    }
    label_end(cl);
    if (error && cl->s) {
        irc_sendf(cl, "ERROR :Closing link: (%s@%s) [%s]", cl->user[0] ? cl->user : "*", cl->host,
                  reason);
    }
    cl->dead = true;
    cl->state = 0;
    irc_set_nick(cl, "");
    if (cl->throttle) {
        event_del(cl->throttle);
    }
    if (cl->s) {
        sess_close_later(cl->s);
    }
}

/* ---- the welcome burst ---- */

void
irc_send_isupport(struct client *cl)
{
    const struct irc_settings *set = &cl->d->set;
    char tok[32][96];
    size_t n = 0;

#define TOK(...) snprintf(tok[n++], sizeof(tok[0]), __VA_ARGS__)
    TOK("AWAYLEN=%zu", set->awaylen);
    TOK("BOT=B");
    TOK("CASEMAPPING=rfc1459");
    TOK("CHANLIMIT=#&:%zu", set->max_channels);
    TOK("CHANMODES=beI,k,l,imnst");
    TOK("CHANNELLEN=%zu", set->channellen);
    TOK("CHANTYPES=#&");
    TOK("ELIST=CMNTU");
    TOK("EXCEPTS=e");
    TOK("HOSTLEN=%d", IRC_HOST_MAX);
    TOK("INVEX=I");
    TOK("KICKLEN=%zu", set->kicklen);
    TOK("MAXLIST=b:%zu,e:%zu,I:%zu", set->max_list, set->max_list, set->max_list);
    TOK("MAXTARGETS=4");
    TOK("MODES=4");
    TOK("MONITOR=%d", IRC_MONITOR_MAX);
    TOK("NETWORK=%s", set->network);
    TOK("NICKLEN=%zu", set->nicklen);
    TOK("PREFIX=(ov)@+");
    TOK("STATUSMSG=@+");
    TOK("TARGMAX=JOIN:,KICK:,LIST:,NAMES:,NOTICE:4,PART:,PRIVMSG:4,TAGMSG:4,WHOIS:1");
    TOK("TOPICLEN=%zu", set->topiclen);
    TOK("USERLEN=%d", IRC_USER_MAX);
    TOK("UTF8ONLY");
    TOK("WHOX");
#undef TOK
    for (size_t i = 0; i < n; i += 12) {
        char line[IRC_LINE_MAX];
        size_t pos = 0;
        for (size_t j = i; j < n && j < i + 12; j++) {
            pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s", pos ? " " : "", tok[j]);
        }
        irc_reply(cl, RPL_ISUPPORT, line);
    }
}

void
irc_send_lusers(struct client *cl)
{
    struct ircd *d = cl->d;
    size_t local = d->nusers;

    irc_reply(cl, RPL_LUSERCLIENT, d->nusers - d->ninvisible, d->ninvisible);
    irc_reply(cl, RPL_LUSEROP, d->nopers);
    if (d->nunknown > 0) {
        irc_reply(cl, RPL_LUSERUNKNOWN, d->nunknown);
    }
    irc_reply(cl, RPL_LUSERCHANNELS, map_count(d->chans));
    irc_reply(cl, RPL_LUSERME, local);
    irc_reply(cl, RPL_LOCALUSERS, local, d->max_users, local, d->max_users);
    irc_reply(cl, RPL_GLOBALUSERS, local, d->max_users, local, d->max_users);
}

void
irc_send_motd(struct client *cl)
{
    const char *p = cl->d->set.motd;

    if (p == NULL) {
        irc_reply(cl, ERR_NOMOTD);
        return;
    }
    irc_reply(cl, RPL_MOTDSTART, cl->d->set.server_name);
    while (*p) {
        size_t n = strcspn(p, "\n");
        size_t show = n > 0 && p[n - 1] == '\r' ? n - 1 : n;
        char line[401];
        size_t k = cut_utf8(p, show, sizeof(line) - 1);
        memcpy(line, p, k);
        line[k] = '\0';
        irc_reply(cl, RPL_MOTD, line);
        p += n;
        if (*p == '\n') {
            p++;
        }
    }
    irc_reply(cl, RPL_ENDOFMOTD);
}

static void
welcome(struct client *cl)
{
    struct ircd *d = cl->d;
    char src[IRC_LINE_MAX];

    irc_reply(cl, RPL_WELCOME, d->set.network, irc_source(cl, src, sizeof(src)));
    irc_reply(cl, RPL_YOURHOST, d->set.server_name, "switchboard-" SB_VERSION);
    irc_reply(cl, RPL_CREATED, d->started_str);
    irc_reply(cl, RPL_MYINFO, d->set.server_name, "switchboard-" SB_VERSION, "Biow", "beIiklmnostv",
              "beIklov");
    irc_send_isupport(cl);
    irc_send_lusers(cl);
    irc_send_motd(cl);
}

static void
try_register(struct client *cl)
{
    struct ircd *d = cl->d;

    if (cl->state != CL_NEW || cl->dead || !cl->have_nick || !cl->have_user || cl->cap_hold ||
        cl->sasl_state == SASL_VERIFYING) {
        return;
    }
    if (d->set.password[0] && !cl->pass_ok) {
        irc_reply(cl, ERR_PASSWDMISMATCH);
        irc_quit(cl, "Bad password", true);
        return;
    }
    if (cl->sasl_state == SASL_DATA) {
        irc_reply(cl, ERR_SASLABORTED);
        cl->sasl_state = SASL_NONE;
    }
    cl->state = CL_READY;
    d->nunknown--;
    d->nusers++;
    if (d->nusers > d->max_users) {
        d->max_users = d->nusers;
    }
    cl->last_msg = loop_now();
    cl->signon = time(NULL);
    welcome(cl);
    irc_monitor_notify(cl, cl->nick, true);
    if (cl->umodes) {
        char m[8];
        irc_sendf(cl, ":%s MODE %s :%s", cl->nick, cl->nick, irc_umode_string(cl, m, sizeof(m)));
    }
}

/* ---- registration commands ---- */

IRC_CMD(pass)
{
    struct ircd *d = cl->d;

    if (cl->state != CL_NEW) {
        irc_reply(cl, ERR_ALREADYREGISTERED);
        return;
    }
    cl->pass_ok = d->set.password[0] == '\0' ||
                  (strlen(m->params[0]) == strlen(d->set.password) &&
                   sodium_memcmp(m->params[0], d->set.password, strlen(d->set.password)) == 0);
}

IRC_CMD(nick)
{
    struct ircd *d = cl->d;
    char src[IRC_LINE_MAX];
    const char *nick;
    struct client *other;

    if (m->nparams == 0 || m->params[0][0] == '\0') {
        irc_reply(cl, ERR_NONICKNAMEGIVEN);
        return;
    }
    nick = m->params[0];
    if (!irc_nick_valid(nick, strlen(nick), d->set.nicklen)) {
        irc_reply(cl, ERR_ERRONEUSNICKNAME, nick);
        return;
    }
    other = irc_find_nick(d, nick);
    if (other && other != cl) {
        irc_reply(cl, ERR_NICKNAMEINUSE, nick);
        return;
    }
    if (strcmp(cl->nick, nick) == 0) {
        return; /* no change at all */
    }
    if (cl->state == CL_READY) {
        struct irc_line l;
        irc_line_init(&l, cl, false, NULL, ":%s NICK :%s", irc_source(cl, src, sizeof(src)), nick);
        irc_peers_send(cl, &l, true, 0, 0);
        irc_line_fini(&l);
        irc_whowas_add(d, cl);
    }
    char old[IRC_NICK_MAX + 1];
    str_copy(old, sizeof(old), cl->nick);
    irc_set_nick(cl, nick);
    cl->have_nick = true;
    if (cl->state == CL_READY && irc_casecmp(old, nick) != 0) {
        irc_monitor_notify(cl, old, false);
        irc_monitor_notify(cl, nick, true);
    }
    try_register(cl);
}

IRC_CMD(user)
{
    const char *name = m->params[0];
    const char *real = m->params[3];
    size_t n = strlen(name);

    if (cl->state != CL_NEW || cl->have_user) {
        irc_reply(cl, ERR_ALREADYREGISTERED);
        return;
    }
    if (n == 0 || real[0] == '\0') {
        irc_reply(cl, ERR_NEEDMOREPARAMS, "USER");
        return;
    }
    if (n > IRC_USER_MAX) {
        n = IRC_USER_MAX;
    }
    if (!irc_user_valid(name, n, IRC_USER_MAX)) {
        irc_quit(cl, "Invalid username", true);
        return;
    }
    cl->user[0] = '~';
    memcpy(cl->user + 1, name, n);
    cl->user[n + 1] = '\0';
    str_copy(cl->real, sizeof(cl->real), real);
    cl->real[cut_utf8(real, strlen(real), IRC_REAL_MAX)] = '\0';
    cl->have_user = true;
    try_register(cl);
}

/* ---- CAP ---- */

static int
cap_find(const char *name, size_t n)
{
    for (size_t i = 0; i < NCAPS; i++) {
        if (strlen(caps[i].name) == n && memcmp(caps[i].name, name, n) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* CAP LS / LIST replies, split into several lines when they would be too long. */
static void
cap_list(struct client *cl, const char *sub, unsigned which, bool values)
{
    char line[IRC_LINE_MAX];
    size_t pos = 0;
    bool multi = cl->cap_version >= 302;

    for (size_t i = 0; i < NCAPS; i++) {
        char item[64];
        if (!(which & (1u << i))) {
            continue;
        }
        int n =
            snprintf(item, sizeof(item), "%s%s%s", caps[i].name, values && caps[i].value ? "=" : "",
                     values && caps[i].value ? caps[i].value : "");
        if (pos + (size_t)n + 1 > 350 && multi) {
            irc_sendf(cl, ":%s CAP %s %s * :%s", cl->d->set.server_name, irc_nick_or_star(cl), sub,
                      line);
            pos = 0;
        }
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s", pos ? " " : "", item);
    }
    line[pos] = '\0';
    irc_sendf(cl, ":%s CAP %s %s :%s", cl->d->set.server_name, irc_nick_or_star(cl), sub, line);
}

IRC_CMD(cap)
{
    const char *sub = m->params[0];

    if (strcasecmp(sub, "LS") == 0) {
        long v = 0;
        if (m->nparams > 1 && parse_long(m->params[1], 0, 100000, &v) && v >= 302) {
            cl->cap_version = (unsigned)v;
            cl->caps |= CAP_CAP_NOTIFY; /* implied by 302 */
        } else if (cl->cap_version == 0) {
            cl->cap_version = 301;
        }
        if (cl->state == CL_NEW) {
            cl->cap_hold = true;
        }
        cap_list(cl, "LS", (1u << NCAPS) - 1, cl->cap_version >= 302);
    } else if (strcasecmp(sub, "LIST") == 0) {
        cap_list(cl, "LIST", cl->caps, false);
    } else if (strcasecmp(sub, "REQ") == 0) {
        const char *p = m->nparams > 1 ? m->params[1] : "";
        unsigned add = 0, del = 0;
        bool ok = true;
        if (cl->state == CL_NEW) {
            cl->cap_hold = true;
        }
        while (*p) {
            while (*p == ' ') {
                p++;
            }
            if (*p == '\0') {
                break;
            }
            bool minus = *p == '-';
            const char *name = minus ? p + 1 : p;
            size_t n = strcspn(name, " ");
            int i = cap_find(name, n);
            if (i < 0) {
                ok = false;
                break;
            }
            if (minus) {
                del |= 1u << i;
            } else {
                add |= 1u << i;
            }
            p = name + n;
        }
        if (ok && (add || del)) {
            cl->caps = (cl->caps | add) & ~del;
            irc_sendf(cl, ":%s CAP %s ACK :%s", cl->d->set.server_name, irc_nick_or_star(cl),
                      m->nparams > 1 ? m->params[1] : "");
        } else {
            irc_sendf(cl, ":%s CAP %s NAK :%s", cl->d->set.server_name, irc_nick_or_star(cl),
                      m->nparams > 1 ? m->params[1] : "");
        }
    } else if (strcasecmp(sub, "END") == 0) {
        if (cl->state == CL_NEW) {
            cl->cap_hold = false;
            try_register(cl);
        }
    } else {
        irc_reply(cl, ERR_INVALIDCAPCMD, sub);
    }
}

/* ---- SASL PLAIN ---- */

struct sasl_job {
    struct ircd *d;
    uint64_t sid;
    bool known;
    char account[ACCOUNT_NAME_MAX + 1];
    char hash[PASSWORD_HASH_MAX];
    char pw[PASSWORD_MAX + 1];
    size_t pwlen;
    bool ok;
};

static void
sasl_work(void *arg)
{
    struct sasl_job *j = arg;

    if (j->known) {
        j->ok = password_verify(j->hash, j->pw, j->pwlen);
    } else {
        /* Spend the same time on a name that does not exist. */
        char h[PASSWORD_HASH_MAX];
        password_hash(j->pw, j->pwlen, h);
        j->ok = false;
    }
    sodium_memzero(j->pw, sizeof(j->pw));
}

static void
sasl_reset(struct client *cl)
{
    if (cl->sasl_buf) {
        sodium_memzero(cl->sasl_buf, cl->sasl_len);
        free(cl->sasl_buf);
    }
    cl->sasl_buf = NULL;
    cl->sasl_len = 0;
    if (cl->sasl_state != SASL_VERIFYING) {
        cl->sasl_state = SASL_NONE;
    }
}

static void
sasl_failed(struct client *cl)
{
    irc_reply(cl, ERR_SASLFAIL);
    ratelimit_hit(sasl_failures, (const struct sockaddr *)&cl->s->peer, NULL, loop_now());
}

static void
sasl_done(void *arg, bool ran)
{
    struct sasl_job *j = arg;
    struct client *cl = ran ? irc_client_by_sid(j->sid) : NULL;
    char src[IRC_LINE_MAX];

    if (cl != NULL && !cl->dead) {
        cl->sasl_state = SASL_NONE;
        if (j->ok) {
            str_copy(cl->account, sizeof(cl->account), j->account);
            irc_reply(cl, RPL_LOGGEDIN, irc_source(cl, src, sizeof(src)), cl->account, cl->account);
            irc_reply(cl, RPL_SASLSUCCESS);
            log_info("irc: session %llu logged in as %s", (unsigned long long)j->sid, cl->account);
            if (cl->state == CL_READY) {
                struct irc_line l;
                irc_line_init(&l, cl, false, NULL, ":%s ACCOUNT %s", src, cl->account);
                irc_peers_send(cl, &l, false, CAP_ACCOUNT_NOTIFY, 0);
                irc_line_fini(&l);
            }
        } else {
            sasl_failed(cl);
        }
        irc_client_resume(cl);
    }
    sodium_memzero(j, sizeof(*j));
    free(j);
}

/* Check a complete PLAIN message: authzid NUL authcid NUL password. */
static void
sasl_plain(struct client *cl, const unsigned char *p, size_t n)
{
    const unsigned char *z1 = memchr(p, '\0', n);
    const unsigned char *z2 = z1 ? memchr(z1 + 1, '\0', n - (size_t)(z1 + 1 - p)) : NULL;
    struct sasl_job *j;

    if (z2 == NULL) {
        sasl_failed(cl);
        return;
    }
    const char *authz = (const char *)p, *authc = (const char *)z1 + 1;
    size_t authzn = (size_t)(z1 - p), authcn = (size_t)(z2 - z1 - 1);
    size_t pwn = n - (size_t)(z2 + 1 - p);
    if (authcn == 0 || !account_name_valid(authc, authcn) || pwn == 0 || pwn > PASSWORD_MAX ||
        (authzn > 0 && (authzn != authcn || strncasecmp(authz, authc, authcn) != 0))) {
        sasl_failed(cl);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->d = cl->d;
    j->sid = cl->sid;
    memcpy(j->account, authc, authcn);
    j->account[authcn] = '\0';
    int r = accounts_get(cl->d->db, j->account, j->hash, j->account);
    if (r < 0) {
        free(j);
        irc_reply(cl, ERR_SASLFAIL);
        return;
    }
    j->known = r == 1;
    memcpy(j->pw, z2 + 1, pwn);
    j->pwlen = pwn;
    if (!work_submit(sasl_work, sasl_done, j)) {
        sodium_memzero(j, sizeof(*j));
        free(j);
        irc_reply(cl, ERR_SASLFAIL);
        return;
    }
    cl->sasl_state = SASL_VERIFYING;
    irc_client_pause(cl);
}

IRC_CMD(authenticate)
{
    const char *arg = m->params[0];
    size_t n = strlen(arg);

    if (!(cl->caps & CAP_SASL)) {
        irc_reply(cl, ERR_SASLFAIL);
        return;
    }
    if (cl->account[0]) {
        irc_reply(cl, ERR_SASLALREADY);
        return;
    }
    if (strcmp(arg, "*") == 0) {
        if (cl->sasl_state == SASL_DATA) {
            sasl_reset(cl);
            irc_reply(cl, ERR_SASLABORTED);
        } else {
            irc_reply(cl, ERR_SASLFAIL);
        }
        return;
    }
    if (cl->sasl_state == SASL_NONE) {
        if (strcasecmp(arg, "PLAIN") != 0) {
            irc_reply(cl, RPL_SASLMECHS, "PLAIN");
            irc_reply(cl, ERR_SASLFAIL);
            return;
        }
        if (ratelimit_blocked(sasl_failures, (const struct sockaddr *)&cl->s->peer, NULL,
                              loop_now())) {
            irc_reply(cl, ERR_SASLFAIL);
            return;
        }
        cl->sasl_state = SASL_DATA;
        irc_sendf(cl, "AUTHENTICATE +");
        return;
    }
    if (n > IRC_SASL_CHUNK) {
        sasl_reset(cl);
        irc_reply(cl, ERR_SASLTOOLONG);
        return;
    }
    if (cl->sasl_len + n > IRC_SASL_MAX) {
        sasl_reset(cl);
        sasl_failed(cl);
        return;
    }
    if (strcmp(arg, "+") != 0) {
        cl->sasl_buf = xrealloc(cl->sasl_buf, cl->sasl_len + n + 1);
        memcpy(cl->sasl_buf + cl->sasl_len, arg, n);
        cl->sasl_len += n;
        cl->sasl_buf[cl->sasl_len] = '\0';
    }
    if (n == IRC_SASL_CHUNK) {
        return; /* more to come */
    }
    unsigned char plain[IRC_SASL_MAX];
    size_t plen = 0;
    bool decoded = cl->sasl_len > 0 &&
                   sodium_base642bin(plain, sizeof(plain), cl->sasl_buf, cl->sasl_len, NULL, &plen,
                                     NULL, sodium_base64_VARIANT_ORIGINAL) == 0;
    sasl_reset(cl);
    if (!decoded) {
        sasl_failed(cl);
        return;
    }
    sasl_plain(cl, plain, plen);
    sodium_memzero(plain, sizeof(plain));
}

/* ---- PING, PONG, QUIT, LUSERS, MOTD, REHASH ---- */

IRC_CMD(ping)
{
    if (m->nparams == 0 || m->params[0][0] == '\0') {
        irc_reply(cl, ERR_NOORIGIN);
        return;
    }
    irc_sendf(cl, ":%s PONG %s :%s", cl->d->set.server_name, cl->d->set.server_name, m->params[0]);
}

IRC_CMD(pong)
{
    cl->ping_sent = 0;
}

IRC_CMD(quit)
{
    char reason[IRC_TEXT_MAX + 8];

    if (m->nparams > 0 && m->params[0][0]) {
        snprintf(reason, sizeof(reason), "Quit: %.*s",
                 (int)cut_utf8(m->params[0], strlen(m->params[0]), cl->d->set.kicklen),
                 m->params[0]);
    } else {
        str_copy(reason, sizeof(reason), "Client Quit");
    }
    irc_quit(cl, reason, true);
}

IRC_CMD(lusers)
{
    irc_send_lusers(cl);
}

IRC_CMD(motd)
{
    if (m->nparams > 0 && !irc_mask_match(m->params[0], cl->d->set.server_name)) {
        irc_reply(cl, ERR_NOSUCHSERVER, m->params[0]);
        return;
    }
    irc_send_motd(cl);
}

/* Apply a new configuration's [irc] settings (REHASH, SIGHUP). Listen addresses stay. */
static int
rehash(struct ircd *d, char *err, size_t errcap)
{
    struct cfg *cfg;
    struct irc_settings set;

    if (reread == NULL) {
        snprintf(err, errcap, "this daemon cannot re-read its configuration");
        return -1;
    }
    cfg = reread(err, errcap);
    if (cfg == NULL) {
        return -1;
    }
    if (read_settings(cfg, &set, err, errcap) < 0) {
        cfg_free(cfg);
        return -1;
    }
    if (d->tls) {
        const char *cert = cfg_str(cfg, "irc", "tls_cert"), *key = cfg_str(cfg, "irc", "tls_key");
        if (cert[0] && key[0] && tls_server_reload(d->tls, cert, key, err, errcap) < 0) {
            settings_free(&set);
            cfg_free(cfg);
            return -1;
        }
    }
    cfg_free(cfg);
    if (strcmp(set.server_name, d->set.server_name) != 0) {
        log_warn("irc: server_name changes only at restart; keeping %s", d->set.server_name);
        str_copy(set.server_name, sizeof(set.server_name), d->set.server_name);
    }
    if (set.whowas != d->set.whowas) {
        whowas_resize(d, set.whowas);
    }
    settings_free(&d->set);
    d->set = set;
    log_info("irc: configuration re-read");
    return 0;
}

IRC_CMD(rehash)
{
    char err[CFG_ERR_MAX];

    if (!(cl->umodes & UMODE_OPER)) {
        irc_reply(cl, ERR_NOPRIVILEGES);
        return;
    }
    irc_reply(cl, RPL_REHASHING, config_file);
    if (rehash(cl->d, err, sizeof(err)) < 0) {
        log_warn("irc: REHASH by %s failed: %s", cl->nick, err);
        irc_std_reply(cl, "FAIL", "REHASH", "CONFIG_ERROR", NULL, err);
    }
}

/* ---- input: flood control and dispatch ---- */

void
irc_client_pause(struct client *cl)
{
    cl->paused = true;
}

static void
schedule_queue(struct client *cl, double delay)
{
    struct timeval tv = loop_tv(delay > 0 ? delay : 0);

    evtimer_add(cl->throttle, &tv);
}

void
irc_client_resume(struct client *cl)
{
    if (!cl->paused) {
        return;
    }
    cl->paused = false;
    label_end(cl);
    try_register(cl);
    if (cl->dead || cl->s == NULL) {
        return;
    }
    if (cl->recvq_len > 0) {
        schedule_queue(cl, 0);
    }
    sess_resume(cl->s);
}

static bool
throttled(const struct client *cl, double now)
{
    const struct irc_settings *set = &cl->d->set;

    return !(cl->umodes & UMODE_OPER) && cl->flood_clock - now > set->flood_burst / set->flood_rate;
}

static void
dispatch(struct client *cl, struct irc_msg *m)
{
    const struct irc_cmd *cmd = NULL;
    enum cmd_check r;

    r = cmd_lookup(commands, sizeof(commands) / sizeof(commands[0]), sizeof(commands[0]),
                   m->command, strlen(m->command), true, (unsigned)m->nparams, cl->state,
                   (const void **)&cmd);
    switch (r) {
    case CMD_OK:
        cmd->fn(cl, m);
        break;
    case CMD_UNKNOWN:
        if (strlen(m->command) == 3 && strspn(m->command, "0123456789") == 3) {
            break; /* numerics from clients are ignored */
        }
        if (cl->state == CL_READY) {
            irc_reply(cl, ERR_UNKNOWNCOMMAND, m->command);
        } else {
            irc_reply(cl, ERR_NOTREGISTERED);
        }
        break;
    case CMD_ARITY:
        irc_reply(cl, ERR_NEEDMOREPARAMS, cmd->def.name);
        break;
    case CMD_STATE:
        irc_reply(cl, ERR_NOTREGISTERED);
        break;
    }
}

static void
handle_line(struct client *cl, const char *p, size_t n)
{
    char buf[IRC_FULL_LINE];
    struct irc_msg m;
    const char *why;
    double now = loop_now();

    if (n >= sizeof(buf)) {
        n = sizeof(buf) - 1;
    }
    cl->last_input = now;
    cl->ping_sent = 0;
    cl->flood_clock = (cl->flood_clock > now ? cl->flood_clock : now) + 1.0 / cl->d->set.flood_rate;
    switch (irc_check_lengths(p, n)) {
    case IRC_LEN_OK:
        break;
    case IRC_LEN_BODY:
    case IRC_LEN_TAGS:
        irc_reply(cl, ERR_INPUTTOOLONG);
        return;
    }
    memcpy(buf, p, n);
    buf[n] = '\0';
    if (irc_parse(buf, n, &m, &why) != PARSE_OK) {
        return;
    }
    label_begin(cl, m.tags);
    if (!irc_utf8_valid(p, n)) {
        irc_std_reply(
            cl, "FAIL", m.command, "INVALID_UTF8", NULL,
            "Message rejected, your IRC software MUST use UTF-8 encoding on this network");
    } else {
        cl->cmd_tags = m.tags;
        dispatch(cl, &m);
        cl->cmd_tags = NULL;
    }
    if (!cl->paused) {
        label_end(cl);
    }
}

static void
queue_line(struct client *cl, const char *p, size_t n)
{
    if (cl->recvq_len + n + 1 > cl->recvq_cap) {
        size_t cap = cl->recvq_cap ? cl->recvq_cap : 1024;
        while (cap < cl->recvq_len + n + 1) {
            cap *= 2;
        }
        cl->recvq = xrealloc(cl->recvq, cap);
        cl->recvq_cap = cap;
    }
    memcpy(cl->recvq + cl->recvq_len, p, n);
    cl->recvq[cl->recvq_len + n] = '\n';
    cl->recvq_len += n + 1;
}

/* Handle queued lines as long as the client is within its flood allowance. */
static void
process_queue(struct client *cl)
{
    double now = loop_now();
    size_t off = 0;

    while (off < cl->recvq_len && !cl->dead && !cl->paused && !throttled(cl, now)) {
        char *nl = memchr(cl->recvq + off, '\n', cl->recvq_len - off);
        size_t n = (size_t)(nl - (cl->recvq + off));
        handle_line(cl, cl->recvq + off, n);
        off += n + 1;
    }
    if (cl->dead) {
        return;
    }
    memmove(cl->recvq, cl->recvq + off, cl->recvq_len - off);
    cl->recvq_len -= off;
    if (cl->recvq_len > 0 && !cl->paused) {
        const struct irc_settings *set = &cl->d->set;
        schedule_queue(cl, cl->flood_clock - now - set->flood_burst / set->flood_rate + 0.001);
    }
}

static void
throttle_cb(evutil_socket_t fd, short what, void *arg)
{
    process_queue(arg);
}

/* ---- session callbacks ---- */

static void
peer_host(const struct session *s, char *ip, size_t cap)
{
    char host[NI_MAXHOST];

    if (s->peer.ss_family == AF_UNIX ||
        getnameinfo((const struct sockaddr *)&s->peer, s->peer_len, host, sizeof(host), NULL, 0,
                    NI_NUMERICHOST) != 0) {
        str_copy(ip, cap, "localhost");
        return;
    }
    /* A leading ':' would read as the start of a trailing parameter. */
    if (host[0] == ':' && cap > 1) {
        ip[0] = '0';
        str_copy(ip + 1, cap - 1, host);
    } else {
        str_copy(ip, cap, host);
    }
}

static enum sess_verdict
irc_open(struct session *s)
{
    struct service *svc = s->ep->owner;
    struct ircd *d = svc->priv;
    struct client *cl = xcalloc(1, sizeof(*cl));

    cl->d = d;
    cl->s = s;
    cl->sid = s->id;
    cl->state = CL_NEW;
    cl->cap_tail = &cl->cap_head;
    cl->connected = cl->last_input = loop_now();
    peer_host(s, cl->ip, sizeof(cl->ip));
    str_copy(cl->host, sizeof(cl->host), cl->ip);
    cl->throttle = evtimer_new(loop_base(), throttle_cb, cl);
    s->priv = cl;
    d->nunknown++;
    d->nclients++;
    cl->next = d->clients;
    if (d->clients) {
        d->clients->prev = cl;
    }
    d->clients = cl;
    if (s->peer.ss_family != AF_UNIX) {
        size_t n = ip_count(d, cl->ip, +1);
        cl->ip_counted = true;
        if (d->set.max_per_ip > 0 && n > d->set.max_per_ip) {
            /* Refused: it no longer counts, even while its socket lingers. */
            ip_count(d, cl->ip, -1);
            cl->ip_counted = false;
            log_info("irc: session %llu from %s: more than %zu connections from that address",
                     (unsigned long long)s->id, s->peer_str, d->set.max_per_ip);
            irc_quit(cl, "Too many connections from your address", true);
            return SESS_CLOSE;
        }
    }
    return SESS_OK;
}

static enum sess_verdict
irc_frame(struct session *s, const char *p, size_t n)
{
    struct client *cl = s->priv;

    if (cl->dead) {
        return SESS_OK;
    }
    if (cl->recvq_len > 0 || cl->paused || throttled(cl, loop_now())) {
        if (cl->recvq_len + n + 1 > cl->d->set.recvq) {
            log_info("irc: session %llu from %s (%s): input flood, disconnected",
                     (unsigned long long)s->id, s->peer_str, irc_nick_or_star(cl));
            irc_quit(cl, "Excess Flood", true);
            return SESS_CLOSE;
        }
        queue_line(cl, p, n);
        if (!cl->paused && !evtimer_pending(cl->throttle, NULL)) {
            process_queue(cl);
        }
        return cl->dead ? SESS_CLOSE : SESS_OK;
    }
    handle_line(cl, p, n);
    if (cl->dead) {
        return SESS_CLOSE;
    }
    return cl->paused ? SESS_PAUSE : SESS_OK;
}

static void
irc_frame_error(struct session *s, const char *why)
{
    struct client *cl = s->priv;

    irc_quit(cl, "Input line too long", true);
}

static void
irc_close(struct session *s)
{
    struct client *cl = s->priv;
    struct ircd *d;
    const char *reason = s->end;

    if (cl == NULL) {
        return;
    }
    d = cl->d;
    if (strcmp(reason, "output limit exceeded") == 0) {
        reason = "Max SendQ exceeded";
    } else if (strcmp(reason, "closed by the peer") == 0 || strcmp(reason, "closed") == 0) {
        reason = "Connection closed";
    } else if (strcmp(reason, "not reading (write timeout)") == 0) {
        reason = "Write timeout";
    }
    cl->s = NULL;
    irc_quit(cl, reason, false);
    label_end(cl);
    irc_monitor_clear(cl);
    if (cl->ip_counted) {
        ip_count(d, cl->ip, -1);
    }
    if (cl->prev) {
        cl->prev->next = cl->next;
    } else {
        d->clients = cl->next;
    }
    if (cl->next) {
        cl->next->prev = cl->prev;
    }
    d->nclients--;
    if (cl->throttle) {
        event_free(cl->throttle);
    }
    sasl_reset(cl);
    free(cl->recvq);
    free(cl);
    s->priv = NULL;
}

/* ---- timers ---- */

static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ircd *d = arg;
    double now = loop_now();
    const struct irc_settings *set = &d->set;

    for (struct client *cl = d->clients, *next; cl; cl = next) {
        next = cl->next;
        if (cl->dead) {
            continue;
        }
        if (cl->state == CL_NEW) {
            if (now - cl->connected > set->registration_timeout) {
                irc_quit(cl, "Registration timed out", true);
            }
            continue;
        }
        if (cl->ping_sent > 0) {
            if (now - cl->ping_sent > set->ping_timeout) {
                char reason[64];
                snprintf(reason, sizeof(reason), "Ping timeout: %.0f seconds", set->ping_timeout);
                irc_quit(cl, reason, true);
            }
        } else if (now - cl->last_input > set->ping_interval) {
            irc_sendf(cl, "PING :%s", set->server_name);
            cl->ping_sent = now;
        }
    }
}

/* ---- service ---- */

static int
irc_init(struct service *svc, const struct service_env *env, char *err, size_t errcap)
{
    struct ircd *d = xcalloc(1, sizeof(*d));
    struct tm tm;

    if (read_settings(env->cfg, &d->set, err, errcap) < 0) {
        free(d);
        return -1;
    }
    d->svc = svc;
    d->cfg = env->cfg;
    d->db = env->db;
    d->nicks = map_new();
    d->chans = map_new();
    d->per_ip = map_new();
    d->monitors = map_new();
    d->started = time(NULL);
    localtime_r(&d->started, &tm);
    strftime(d->started_str, sizeof(d->started_str), "%a %b %d %Y at %H:%M:%S %Z", &tm);
    whowas_resize(d, d->set.whowas);
    for (const char *c = "beI"; *c; c++) {
        d->chan_spec.kind[(unsigned char)*c] = IRC_MODE_LIST;
    }
    for (const char *c = "kov"; *c; c++) {
        d->chan_spec.kind[(unsigned char)*c] = IRC_MODE_ALWAYS;
    }
    d->chan_spec.kind['l'] = IRC_MODE_SET;
    for (const char *c = "imnst"; *c; c++) {
        d->chan_spec.kind[(unsigned char)*c] = IRC_MODE_FLAG;
    }
    if (sasl_failures == NULL) {
        sasl_failures = ratelimit_new(IRC_SASL_FAIL_MAX, IRC_SASL_FAIL_WINDOW, 4096);
    }
    reread = env->config_reread;
    if (env->config_file) {
        config_file = env->config_file;
    }
    svc->ep.frame_limit = IRC_TAGS_MAX + IRC_LINE_MAX;
    svc->priv = d;
    the_ircd = d;
    return 0;
}

static int
irc_listening(struct service *svc, char *err, size_t errcap)
{
    struct ircd *d = svc->priv;
    const char *list = cfg_str(d->cfg, "irc", "tls_listen");
    const char *cert = cfg_str(d->cfg, "irc", "tls_cert");
    const char *key = cfg_str(d->cfg, "irc", "tls_key");
    char where[256], why[CFG_ERR_MAX];

    if (list[0] == '\0') {
        return 0;
    }
    if (cert[0] == '\0' || key[0] == '\0') {
        cfg_where(d->cfg, "irc", "tls_listen", where, sizeof(where));
        snprintf(err, errcap, "%s: TLS needs tls_cert and tls_key in [irc] too", where);
        return -1;
    }
    d->tls = tls_server_new(cert, key, why, sizeof(why));
    if (d->tls == NULL) {
        cfg_where(d->cfg, "irc", "tls_cert", where, sizeof(where));
        snprintf(err, errcap, "%s: %s", where, why);
        return -1;
    }
    cfg_where(d->cfg, "irc", "tls_listen", where, sizeof(where));
    return listener_set_add_tls(svc->listeners, list, d->tls, where, err, errcap);
}

static void
irc_start(struct service *svc)
{
    struct ircd *d = svc->priv;
    struct timeval tv = loop_tv(IRC_SWEEP_SECONDS);

    d->sweep = event_new(loop_base(), -1, EV_PERSIST, sweep_cb, d);
    event_add(d->sweep, &tv);
}

static void
irc_reload(struct service *svc)
{
    char err[CFG_ERR_MAX];

    if (rehash(svc->priv, err, sizeof(err)) < 0) {
        log_warn("irc: SIGHUP: keeping the old settings: %s", err);
    }
}

static void
free_chan(void *arg, const void *key, size_t klen, void *value)
{
    struct channel *ch = value;

    free(ch->bans.v);
    free(ch->excepts.v);
    free(ch->invex.v);
    free(ch->invited);
    for (struct member *m = ch->members, *next; m; m = next) {
        next = m->chan_next;
        free(m);
    }
    free(ch);
}

static void
irc_fini(struct service *svc)
{
    struct ircd *d = svc->priv;

    if (d == NULL) {
        return;
    }
    if (d->sweep) {
        event_free(d->sweep);
    }
    map_foreach(d->chans, free_chan, NULL);
    map_free(d->chans);
    map_free(d->nicks);
    map_free(d->per_ip);
    map_free(d->monitors); /* empty: every client cleared its list when it left */
    tls_ctx_free(d->tls);
    free(d->whowas);
    settings_free(&d->set);
    ratelimit_free(sasl_failures);
    sasl_failures = NULL;
    free(d);
    svc->priv = NULL;
    the_ircd = NULL;
}

const struct service_ops irc_service = {
    .name = "irc",
    .keys = irc_keys,
    .sess =
        {
            .framing = FRAME_LINE,
            .on_open = irc_open,
            .on_frame = irc_frame,
            .on_frame_error = irc_frame_error,
            .on_close = irc_close,
        },
    .init = irc_init,
    .listening = irc_listening,
    .start = irc_start,
    .reload = irc_reload,
    .fini = irc_fini,
};
