/* SPDX-License-Identifier: MIT */
/*
 * HELP (and its alias HELPOP): a short usage text for every command, in the numerics of the
 * Modern IRC document (704 RPL_HELPSTART, 705 RPL_HELPTXT, 706 RPL_ENDOFHELP, 524
 * ERR_HELPNOTFOUND); and LINKS, which on a server without links lists only itself.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "services/irc/irc.h"

struct help_topic {
    const char *name;
    const char *const *lines;
};

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

static const struct help_topic topics[] = {
    {"ADMIN", LINES("ADMIN [server]", "Who administers the server.")},
    {"AUTHENTICATE", LINES("AUTHENTICATE PLAIN, then AUTHENTICATE <base64>",
                           "SASL PLAIN login with an account of this server (CAP REQ sasl).")},
    {"AWAY", LINES("AWAY [:message]", "Mark yourself away (with a message) or back (without).")},
    {"CAP", LINES("CAP LS [302] | LIST | REQ :caps | END", "IRCv3 capability negotiation.")},
    {"CHGHOST", LINES("CHGHOST <nick> <user> <host>",
                      "Operators: change the user and host shown for a nick.")},
    {"HELP", LINES("HELP [command]", "This help; without a command, the list of commands.")},
    {"INFO", LINES("INFO [server]", "About this server's software.")},
    {"INVITE", LINES("INVITE <nick> <channel>", "Invite someone to a channel (+i needs op).")},
    {"ISON", LINES("ISON <nick> [nick...]", "Which of these nicks are online.")},
    {"JOIN", LINES("JOIN <channel>[,channel...] [key[,key...]] | JOIN 0",
                   "Join channels (a new one is created, with you as its operator);",
                   "JOIN 0 leaves every channel.")},
    {"KICK", LINES("KICK <channel> <nick>[,nick...] [:reason]",
                   "Channel operators: remove someone from a channel.")},
    {"KILL", LINES("KILL <nick> :<reason>", "Operators: disconnect a user.")},
    {"LINKS", LINES("LINKS", "The servers of the network (only this one).")},
    {"LIST", LINES("LIST [channel[,channel...]] [>n|<n|C>m|C<m|T>m|T<m|mask|!mask]",
                   "List channels, their member counts and topics.")},
    {"LUSERS", LINES("LUSERS", "How many users, operators and channels there are.")},
    {"MODE", LINES("MODE <nick> [+|-iw] | MODE <channel> [modes [arguments]]",
                   "User modes: i (invisible), w (wallops), o (operator).",
                   "Channel modes: o v b e I k l m n t s i.")},
    {"MONITOR", LINES("MONITOR + nick[,nick] | - nick[,nick] | C | L | S",
                      "Be told when nicks come online and go offline.")},
    {"MOTD", LINES("MOTD [server]", "The message of the day.")},
    {"NAMES", LINES("NAMES [channel[,channel...]]", "Who is in a channel.")},
    {"NICK", LINES("NICK <nick>", "Choose or change your nickname.")},
    {"NOTICE", LINES("NOTICE <target>[,target...] :<text>",
                     "Like PRIVMSG, but never answered automatically.")},
    {"OPER", LINES("OPER <name> <password>", "Become an IRC operator.")},
    {"PART", LINES("PART <channel>[,channel...] [:reason]", "Leave channels.")},
    {"PASS", LINES("PASS <password>", "The server password, before NICK and USER.")},
    {"PING", LINES("PING <token>", "The server answers PONG with the same token.")},
    {"PONG", LINES("PONG <token>", "The answer to the server's PING.")},
    {"PRIVMSG", LINES("PRIVMSG <target>[,target...] :<text>",
                      "Send a message to nicks or channels (@#channel: to its operators).")},
    {"QUIT", LINES("QUIT [:reason]", "Leave the server.")},
    {"REHASH", LINES("REHASH", "Operators: re-read the configuration.")},
    {"SETNAME", LINES("SETNAME :<real name>", "Change your real name.")},
    {"TAGMSG", LINES("TAGMSG <target>", "A message of tags only (IRCv3 message-tags).")},
    {"TIME", LINES("TIME [server]", "The server's local time.")},
    {"TOPIC", LINES("TOPIC <channel> [:topic]", "Show or set a channel's topic.")},
    {"USER", LINES("USER <username> 0 * :<real name>", "Register, with NICK.")},
    {"USERHOST", LINES("USERHOST <nick> [nick...]", "user@host of up to 5 nicks.")},
    {"VERSION", LINES("VERSION [server]", "The server's software version and features.")},
    {"WALLOPS", LINES("WALLOPS :<text>", "Operators: a message to every user with mode +w.")},
    {"WHO", LINES("WHO <mask|channel> [o] | WHO <mask> %<fields>[,<token>]",
                  "Users matching a mask, or in a channel; WHOX fields tcuihsnfdlaor.")},
    {"WHOIS", LINES("WHOIS [server] <nick>", "Who someone is.")},
    {"WHOWAS", LINES("WHOWAS <nick> [count]", "Who used a nick before.")},
};

#define NTOPICS (sizeof(topics) / sizeof(topics[0]))

static void
help_index(struct client *cl)
{
    char line[IRC_LINE_MAX];
    size_t pos = 0;

    irc_reply(cl, "704", "* :switchboard IRC server: the commands (HELP <command> for one)");
    for (size_t i = 0; i < NTOPICS; i++) {
        size_t n = strlen(topics[i].name);
        if (pos + n + 1 > 60) {
            line[pos] = '\0';
            irc_reply(cl, "705", "* :%s", line);
            pos = 0;
        }
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s%s", pos ? " " : "",
                                topics[i].name);
    }
    if (pos > 0) {
        line[pos] = '\0';
        irc_reply(cl, "705", "* :%s", line);
    }
    irc_reply(cl, "706", "* :End of /HELP");
}

IRC_CMD(help)
{
    const char *subject = m->nparams > 0 ? m->params[0] : "";

    if (subject[0] == '\0') {
        help_index(cl);
        return;
    }
    for (size_t i = 0; i < NTOPICS; i++) {
        if (strcasecmp(topics[i].name, subject) == 0) {
            const char *const *l = topics[i].lines;
            irc_reply(cl, "704", "%s :%s", topics[i].name, l[0]);
            for (l++; *l; l++) {
                irc_reply(cl, "705", "%s :%s", topics[i].name, *l);
            }
            irc_reply(cl, "706", "%s :End of /HELP", topics[i].name);
            return;
        }
    }
    irc_reply(cl, ERR_HELPNOTFOUND, subject);
}

IRC_CMD(links)
{
    struct ircd *d = cl->d;
    const char *mask = m->nparams > 0 ? m->params[m->nparams - 1] : "*";

    if (irc_mask_match(mask, d->set.server_name)) {
        irc_reply(cl, "364", "%s %s :0 %s", d->set.server_name, d->set.server_name,
                  d->set.description);
    }
    irc_reply(cl, "365", "%s :End of /LINKS list", mask);
}
