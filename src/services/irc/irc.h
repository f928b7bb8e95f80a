/* SPDX-License-Identifier: MIT */
/*
 * The IRC service's shared state and the helpers every command file uses: clients, channels,
 * memberships, the reply and fan-out functions. irc.c owns the life cycle (registration, CAP,
 * SASL, flood control, PING, QUIT) and the command table; chan.c the channels; msg.c
 * PRIVMSG/NOTICE/TAGMSG/AWAY; query.c the informational commands and user modes; oper.c the
 * operator commands. Everything runs on the main event loop, so nothing here is locked.
 */
#ifndef SB_SERVICES_IRC_IRC_H
#define SB_SERVICES_IRC_IRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "core/conn.h"
#include "proto/irc.h"
#include "services/irc/numerics.h"
#include "store/accounts.h"

struct db;
struct map;
struct service;
struct tls_ctx;
struct event;

#define IRC_NICK_MAX 30   /* hard upper bound of the nicklen key */
#define IRC_USER_MAX 10   /* USERLEN, without the '~' we add */
#define IRC_HOST_MAX 63   /* an IP address as text */
#define IRC_REAL_MAX 100  /* realname (USER's last parameter, SETNAME) */
#define IRC_CHAN_MAX 50   /* hard upper bound of the channellen key */
#define IRC_TEXT_MAX 390  /* hard upper bound of topiclen, awaylen, kicklen */
#define IRC_MASK_MAX 128  /* a ban mask after irc_mask_normalize() */
#define IRC_SERVER_MAX 63 /* server_name */
#define IRC_MSGID_MAX 24
#define IRC_MONITOR_MAX 100 /* nicknames one client may MONITOR */

/* IRCv3 capabilities, one bit each (the order of irc.c's table). */
enum irc_cap {
    CAP_CAP_NOTIFY = 1u << 0,
    CAP_MESSAGE_TAGS = 1u << 1,
    CAP_SERVER_TIME = 1u << 2,
    CAP_ECHO_MESSAGE = 1u << 3,
    CAP_MULTI_PREFIX = 1u << 4,
    CAP_USERHOST_IN_NAMES = 1u << 5,
    CAP_EXTENDED_JOIN = 1u << 6,
    CAP_ACCOUNT_TAG = 1u << 7,
    CAP_ACCOUNT_NOTIFY = 1u << 8,
    CAP_AWAY_NOTIFY = 1u << 9,
    CAP_SETNAME = 1u << 10,
    CAP_CHGHOST = 1u << 11,
    CAP_INVITE_NOTIFY = 1u << 12,
    CAP_BATCH = 1u << 13,
    CAP_LABELED_RESPONSE = 1u << 14,
    CAP_STANDARD_REPLIES = 1u << 15,
    CAP_SASL = 1u << 16,
    CAP_EXTENDED_MONITOR = 1u << 17,
};

/* User modes. */
enum {
    UMODE_INVISIBLE = 1u << 0, /* i */
    UMODE_OPER = 1u << 1,      /* o: set only by OPER */
    UMODE_WALLOPS = 1u << 2,   /* w */
    UMODE_BOT = 1u << 3,       /* B: a bot (IRCv3 bot-mode) */
};

/* Channel flag modes (CHANMODES type D). */
enum {
    CMODE_INVITE = 1u << 0,      /* i */
    CMODE_MODERATED = 1u << 1,   /* m */
    CMODE_NO_EXTERNAL = 1u << 2, /* n */
    CMODE_SECRET = 1u << 3,      /* s */
    CMODE_TOPIC = 1u << 4,       /* t */
};

/* Membership prefixes, highest first in PREFIX=(ov)@+. */
enum {
    PFX_OP = 1u << 0,    /* @ */
    PFX_VOICE = 1u << 1, /* + */
};

struct channel;
struct client;

/* One client in one channel: linked into both the channel's and the client's lists. */
struct member {
    struct client *cl;
    struct channel *ch;
    unsigned prefix;                      /* PFX_* */
    struct member *chan_prev, *chan_next; /* ch->members */
    struct member *cl_prev, *cl_next;     /* cl->chans */
};

/* An entry of a b/e/I list. */
struct mask_entry {
    char mask[IRC_MASK_MAX + 1];
    char setter[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1]; /* nick!user@host */
    time_t when;
};

struct mask_list {
    struct mask_entry *v;
    size_t n, cap;
};

struct channel {
    char name[IRC_CHAN_MAX + 1];
    char folded[IRC_CHAN_MAX + 1]; /* key of ircd->chans */
    time_t created;
    char topic[IRC_TEXT_MAX + 1];
    char topic_who[IRC_NICK_MAX + 1 + IRC_USER_MAX + 2 + IRC_HOST_MAX + 1];
    time_t topic_time;          /* 0: no topic */
    unsigned modes;             /* CMODE_* */
    char key[IRC_TEXT_MAX + 1]; /* +k, "" if none */
    long limit;                 /* +l, 0 if none */
    struct mask_list bans, excepts, invex;
    struct member *members;
    size_t nmembers;
    uint64_t *invited; /* client session ids INVITEd since; cleared when they join */
    size_t ninvited, invited_cap;
};

/* A line kept back for labeled-response while a labeled command runs (CRLF excluded). */
struct captured {
    struct captured *next;
    size_t n;
    char line[];
};

enum client_state {
    CL_NEW = 1u << 0,   /* registering */
    CL_READY = 1u << 1, /* registered (001 sent) */
};

struct client {
    struct ircd *d;
    struct session *s; /* NULL once the session has gone (never the case while listed) */
    uint64_t sid;
    unsigned state; /* CL_* */
    bool dead;      /* quitting: no more input is processed, nothing more is sent */
    char nick[IRC_NICK_MAX + 1];
    char user[IRC_USER_MAX + 2]; /* "~name" */
    char host[IRC_HOST_MAX + 1];
    char ip[IRC_HOST_MAX + 1]; /* the address, as the host (no reverse DNS) */
    char real[IRC_REAL_MAX + 1];
    char account[ACCOUNT_NAME_MAX + 1]; /* "" when not logged in */
    char away[IRC_TEXT_MAX + 1];
    bool is_away;
    unsigned umodes; /* UMODE_* */
    unsigned caps;   /* CAP_* enabled */
    /* registration */
    bool pass_ok, have_nick, have_user, cap_hold;
    unsigned cap_version;
    bool paused;          /* an asynchronous step runs (OPER, SASL): input waits */
    bool ip_counted;      /* counts against max_per_ip */
    double connected;     /* loop_now() at accept */
    const char *cmd_tags; /* the current command's tags section (escaped), or NULL */
    /* SASL */
    int sasl_state; /* irc.c's */
    char *sasl_buf;
    size_t sasl_len;
    /* timing */
    time_t signon;
    double last_input;  /* loop_now() of the last line received */
    double last_msg;    /* loop_now() of the last PRIVMSG/NOTICE (WHOIS idle) */
    double ping_sent;   /* 0 when no PING of ours is unanswered */
    double flood_clock; /* fakelag: the time by which the commands so far have been paid for */
    /* flood control: lines waiting while the client is throttled */
    char *recvq;
    size_t recvq_len, recvq_cap;
    struct event *throttle;
    /* labeled-response: lines to this client are captured while a labeled command runs */
    char label[65];
    struct captured *cap_head, **cap_tail;
    size_t ncaptured;
    bool capturing;
    /* channels */
    struct member *chans;
    size_t nchans;
    unsigned mark;                     /* irc_peers_send() deduplication */
    char (*monitor)[IRC_NICK_MAX + 1]; /* folded nicknames this client MONITORs */
    size_t nmonitor;
    struct client *prev, *next; /* ircd->clients */
};

/* Remembered nicks for WHOWAS. */
struct whowas {
    char nick[IRC_NICK_MAX + 1];
    char user[IRC_USER_MAX + 2];
    char host[IRC_HOST_MAX + 1];
    char real[IRC_REAL_MAX + 1];
    char account[ACCOUNT_NAME_MAX + 1];
    time_t when;
};

struct oper_entry {
    char name[ACCOUNT_NAME_MAX + 1];
    char hash[PASSWORD_HASH_MAX];
};

/* Settings read from [irc]; replaced as a whole by REHASH. */
struct irc_settings {
    char server_name[IRC_SERVER_MAX + 1];
    char description[128]; /* server info: WHOIS 312, LINKS */
    char network[64];
    char password[256]; /* "" = no server password */
    char *motd;         /* whole text, NULL = none (422) */
    struct oper_entry *opers;
    size_t nopers;
    size_t max_per_ip;
    size_t nicklen, channellen, topiclen, awaylen, kicklen;
    size_t max_channels, max_list;
    double flood_burst, flood_rate;
    size_t recvq;
    double ping_interval, ping_timeout, registration_timeout;
    size_t whowas;
};

struct ircd {
    struct service *svc;
    const struct cfg *cfg;
    struct db *db;
    struct irc_settings set;
    struct tls_ctx *tls;
    struct map *nicks;    /* folded nick -> struct client (registered, and registering nicks) */
    struct map *chans;    /* folded name -> struct channel */
    struct map *per_ip;   /* ip -> (uintptr_t) count */
    struct map *monitors; /* folded nick -> its watchers (monitor.c) */
    struct client *clients;
    size_t nclients, nusers, nunknown, nopers, ninvisible, max_users;
    struct whowas *whowas; /* ring of set.whowas entries */
    size_t whowas_next, whowas_count;
    time_t started;
    char started_str[64];
    struct event *sweep;
    unsigned mark;
    uint64_t msgid_seq;
    struct irc_mode_spec chan_spec;
};

/* ---- lookups ---- */

/** irc_find_nick() - the client using @nick (any case), or NULL. */
struct client *irc_find_nick(struct ircd *d, const char *nick);
/** irc_find_chan() - the channel @name (any case), or NULL. */
struct channel *irc_find_chan(struct ircd *d, const char *name);
/** irc_member() - @cl's membership of @ch, or NULL. */
struct member *irc_member(const struct client *cl, const struct channel *ch);
/** irc_is_chan() - does @name start with one of CHANTYPES? */
bool irc_is_chan(const char *name);
/** irc_source() - "nick!user@host" of @cl into @buf. */
const char *irc_source(const struct client *cl, char *buf, size_t cap);
/** irc_nick_or_star() - @cl's nick, or "*" before it has one (numerics' target). */
const char *irc_nick_or_star(const struct client *cl);

/* ---- replies to one client ---- */

/**
 * irc_reply() - send ":server NUM target ARGS\r\n" to @cl, where target is its nick (or "*").
 * Use with the macros of numerics.h, which expand to the number and the format:
 * irc_reply(cl, ERR_NOSUCHNICK, name). The line is cut at 510 bytes.
 */
void irc_reply(struct client *cl, const char *num, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * irc_sendf() - send one line to @cl as formatted (no CRLF in @fmt; it is added), with the
 * tags @cl asked for (server-time). For lines from the server use ":%s ..." with
 * d->set.server_name yourself.
 */
void irc_sendf(struct client *cl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** irc_fail() - standard-replies FAIL (or NOTE/WARN via @kind) with the command, code and
 * text: "FAIL CMD CODE [context] :text". @context may be NULL. */
void irc_std_reply(struct client *cl, const char *kind, const char *cmd, const char *code,
                   const char *context, const char *text);

/* ---- messages to many clients: built once, shared ---- */

/*
 * One message from a user or the server to many clients. The body (":src CMD args") is built
 * once; the tagged variants (server-time, account-tag, msgid + client tags) are built on first
 * use for each combination of capabilities and then shared by reference by every recipient.
 */
struct irc_line {
    char body[IRC_LINE_MAX + 1];
    size_t bodylen;
    char account[ACCOUNT_NAME_MAX + 1]; /* account tag value, "" for none */
    bool want_msgid;                    /* give it a msgid (made when first needed) */
    char msgid[IRC_MSGID_MAX + 1];      /* "" until made */
    const char *client_tags;            /* escaped "+a=b;+c" (no '@'), or NULL; borrowed */
    struct timeval tv;                  /* when it was made, for the time tag */
    char time[32];                      /* time tag value, "" until first needed */
    bool bot;                           /* from a +B user: the "bot" tag (with message-tags) */
    /* The variants built so far: short ones in @arena (recipients' buffers copy them anyway),
     * longer ones shared by reference. */
    const char *vdata[8];
    size_t vlen[8];
    struct shared_bytes *variant[8];
    size_t arena_used;
    char arena[1024];
};

/**
 * irc_line_init() - a message whose body is @fmt (no CRLF). @from (may be NULL for the server)
 * provides the account tag; @msgid true gives it a fresh msgid (PRIVMSG, NOTICE, TAGMSG...);
 * @client_tags are relayed to recipients with message-tags (may be NULL).
 */
void irc_line_init(struct irc_line *l, const struct client *from, bool msgid,
                   const char *client_tags, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/** irc_line_send() - queue the variant @to should get (labeled capture applies). */
void irc_line_send(struct irc_line *l, struct client *to);
/** irc_line_fini() - drop the line's references (the queued copies live on). */
void irc_line_fini(struct irc_line *l);

/**
 * irc_chan_send() - send @l to every member of @ch except @except (may be NULL), only to those
 * with every cap of @need (0: all) and none of @skip (0: none).
 */
void irc_chan_send(struct channel *ch, struct irc_line *l, struct client *except, unsigned need,
                   unsigned skip);

/**
 * irc_peers_send() - send @l once to every client sharing a channel with @cl (and to @cl itself
 * if @self), only those with every cap in @need and none in @skip.
 */
void irc_peers_send(struct client *cl, struct irc_line *l, bool self, unsigned need, unsigned skip);

/* ---- life cycle (irc.c) ---- */

/**
 * irc_quit() - the client is leaving with @reason: QUIT to its peers, PARTs from every channel
 * (destroying empty ones), nick released and remembered for WHOWAS, "ERROR :Closing link: ..."
 * sent to it when @error, session closed after the flush. Safe to call twice.
 */
void irc_quit(struct client *cl, const char *reason, bool error);

/**
 * irc_client_pause() - stop processing @cl's input while an asynchronous step (a password check
 * on the worker pool) runs; irc_client_resume() goes on with the next line. A labeled command
 * keeps collecting its replies until resumed.
 */
void irc_client_pause(struct client *cl);
void irc_client_resume(struct client *cl);

/** irc_client_by_sid() - the live client of session @sid, or NULL if it has gone (for the done
 * step of an asynchronous job). */
struct client *irc_client_by_sid(uint64_t sid);

/** irc_count_user_modes() - keep d->ninvisible and d->nopers right when @cl's modes change from
 * @before. */
void irc_umodes_changed(struct client *cl, unsigned before);

/** irc_whowas_add() - remember @cl's identity (its nick is about to change or go). */
void irc_whowas_add(struct ircd *d, const struct client *cl);

/** irc_set_nick() - register @cl under @nick in d->nicks (removing the old one). */
void irc_set_nick(struct client *cl, const char *nick);

/** irc_send_lusers() / irc_send_motd() / irc_send_isupport() - used by the welcome burst and
 * by the commands of the same names. */
void irc_send_lusers(struct client *cl);
void irc_send_motd(struct client *cl);
void irc_send_isupport(struct client *cl);

/** irc_umode_string() - "+iw" (or "+" when none) of @cl's user modes. */
const char *irc_umode_string(const struct client *cl, char *buf, size_t cap);

/* ---- channels (chan.c) ---- */

/** irc_chan_part_all() - remove @cl from every channel without telling anyone (QUIT did). */
void irc_chan_part_all(struct client *cl);
/** irc_chan_remove() - remove one membership, destroying the channel if it is now empty. */
void irc_chan_remove(struct member *m);
/** irc_prefix_string() - "@+" (multi) or "@" (highest only) of a membership. */
const char *irc_prefix_string(unsigned prefix, bool multi, char buf[4]);
/** irc_chan_is_banned() - is @cl banned (+b matching and no +e)? */
bool irc_chan_is_banned(const struct channel *ch, const struct client *cl);
/** irc_chan_visible() - may @cl see @ch in LIST/WHOIS/WHO (not +s, or a member, or an oper)? */
bool irc_chan_visible(const struct channel *ch, const struct client *cl);
/** irc_chan_cannot_speak() - NULL if @cl may send to @ch; else the text of ERR_CANNOTSENDTOCHAN
 * ("Cannot send to channel"): +n from outside, +m without voice, banned without voice. Opers
 * may always speak. */
const char *irc_chan_cannot_speak(const struct channel *ch, const struct client *cl);
/** irc_channel_modes() - "+ntk key" as shown to @cl (the key only to members). */
const char *irc_channel_modes(const struct channel *ch, const struct client *cl, char *buf,
                              size_t cap);

/* ---- MONITOR (monitor.c) ---- */

/** irc_monitor_notify() - tell the watchers of @nick that @cl, using it, came online (730) or
 * that it went offline (731). */
void irc_monitor_notify(struct client *cl, const char *nick, bool online);
/** irc_monitor_each() - call @fn for every client watching @cl's nick. */
void irc_monitor_each(struct client *cl, void (*fn)(struct client *watcher, void *arg), void *arg);
/** irc_monitor_clear() - forget everything @cl monitors (MONITOR C, and when it leaves). */
void irc_monitor_clear(struct client *cl);

/* ---- command handlers: one per command, in the file of its topic ---- */

#define IRC_CMD(name) void irc_cmd_##name(struct client *cl, struct irc_msg *m)

/* irc.c */
IRC_CMD(pass);
IRC_CMD(nick);
IRC_CMD(user);
IRC_CMD(cap);
IRC_CMD(authenticate);
IRC_CMD(ping);
IRC_CMD(pong);
IRC_CMD(quit);
IRC_CMD(lusers);
IRC_CMD(motd);
IRC_CMD(rehash);
/* msg.c */
IRC_CMD(privmsg);
IRC_CMD(notice);
IRC_CMD(tagmsg);
IRC_CMD(away);
/* chan.c */
IRC_CMD(join);
IRC_CMD(part);
IRC_CMD(topic);
IRC_CMD(names);
IRC_CMD(list);
IRC_CMD(invite);
IRC_CMD(kick);
IRC_CMD(mode); /* channel modes; user modes go to irc_user_mode() */
/* query.c */
void irc_user_mode(struct client *cl, struct irc_msg *m);
IRC_CMD(who);
IRC_CMD(whois);
IRC_CMD(whowas);
IRC_CMD(ison);
IRC_CMD(userhost);
IRC_CMD(version);
IRC_CMD(time);
IRC_CMD(info);
IRC_CMD(admin);
IRC_CMD(setname);
/* help.c */
IRC_CMD(help);
IRC_CMD(links);
/* monitor.c */
IRC_CMD(monitor);
/* oper.c */
IRC_CMD(oper);
IRC_CMD(kill);
IRC_CMD(wallops);
IRC_CMD(chghost);

#endif
