/* SPDX-License-Identifier: MIT */
/*
 * sb chat: the interactive messenger. GNU Readline runs in callback mode inside the event loop,
 * so messages arriving from peers are printed above the prompt while the user types: the line
 * being edited is saved, the prompt cleared, the message printed, then both are redrawn.
 * Without a terminal on stdin, lines are read plainly (for scripts).
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/node.h"
#include "cli/text.h"
#include "core/loop.h"
#include "core/mem.h"

#define CHAT_NAMES_MAX 4096 /* names kept from the last /who, for completion */

static struct chat {
    struct cli_opts *o;
    struct node *n;
    bool tty;        /* readline is in charge of the terminal */
    bool installed;  /* the readline handler is installed */
    bool in_handler; /* inside the line handler: readline redraws the prompt itself */
    bool online_once;
    bool quitting;
    int rc;
    char target[EURE_NAME_MAX + 1];
    char last_sender[EURE_NAME_MAX + 1];
    char prompt[EURE_NAME_MAX + 8];
    char **names;
    size_t nnames;
    struct event *ev_stdin, *sig[3];
    struct bufferevent *plain_in;
} C;

/* ---- output ---------------------------------------------------------------------------------- */

/* Print @text (one or more lines) above the prompt, keeping what the user is typing. */
static void
show(const char *text)
{
    bool redraw = C.tty && C.installed && !C.in_handler;
    char *saved = NULL;
    int point = 0;

    if (redraw) {
        point = rl_point;
        saved = rl_copy_text(0, rl_end);
        rl_set_prompt("");
        rl_replace_line("", 0);
        rl_redisplay();
    }
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    if (redraw) {
        rl_set_prompt(C.prompt);
        rl_replace_line(saved, 0);
        rl_point = point;
        rl_redisplay();
        free(saved);
    }
}

static void say(char mark, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "HH:MM:SS ! text" style lines; @mark 0 means no mark. */
static void
say(char mark, const char *fmt, ...)
{
    char line[1024], stamp[16];
    time_t now = time(NULL);
    struct tm tm;
    va_list ap;
    int n;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    n = snprintf(line, sizeof(line), mark ? "%s %c " : "%s ", stamp, mark);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    show(line);
}

static void
update_prompt(void)
{
    if (C.target[0]) {
        snprintf(C.prompt, sizeof(C.prompt), "[%s]> ", C.target);
    } else {
        snprintf(C.prompt, sizeof(C.prompt), "> ");
    }
    if (C.tty && C.installed) {
        rl_set_prompt(C.prompt);
    }
}

static void
set_target(const char *name)
{
    snprintf(C.target, sizeof(C.target), "%s", name ? name : "");
    update_prompt();
}

/* ---- leaving ----------------------------------------------------------------------------------
 */

/* Hand the terminal back: erase the prompt and the unfinished line, restore the tty modes. */
static void
release_terminal(void)
{
    if (C.installed && C.tty) {
        rl_set_prompt("");
        rl_replace_line("", 0);
        rl_redisplay();
        rl_callback_handler_remove();
    }
    C.installed = false;
    if (C.ev_stdin) {
        event_del(C.ev_stdin);
    }
}

static void
stop(int rc)
{
    C.rc = rc;
    release_terminal();
    event_base_loopexit(loop_base(), NULL);
}

static void
left(void *arg, int code, const char *msg, double rtt)
{
    show("* bye");
    stop(EXIT_OK);
}

static void
quit(void)
{
    if (C.quitting) {
        stop(EXIT_OK); /* asked twice: do not wait for the directory */
        return;
    }
    C.quitting = true;
    if (!C.in_handler) {
        release_terminal(); /* from a signal: no more input while leaving */
    }
    node_leave(C.n, left, NULL);
}

/* ---- sending ----------------------------------------------------------------------------------
 */

struct sent {
    char to[EURE_NAME_MAX + 1];
};

static void
sent_done(void *arg, int code, const char *msg, double rtt)
{
    struct sent *s = arg;

    if (code == EXIT_NO_USER) {
        say('!', "%s", msg); /* "bob is not in the directory" says it all */
    } else if (code != EXIT_OK) {
        say('!', "not delivered to %s: %s", s->to, msg);
    }
    free(s);
}

static void
send_to(const char *user, const char *text)
{
    struct sent *s = xcalloc(1, sizeof(*s));
    char *safe = text_escape(text, strlen(text), false);

    snprintf(s->to, sizeof(s->to), "%s", user);
    say(0, "-> %s: %s", user, safe);
    free(safe);
    node_send(C.n, user, text, strlen(text), sent_done, s);
}

static void
pong(void *arg, int code, const char *msg, double rtt)
{
    char *who = arg;

    if (code == EXIT_OK) {
        say('*', "PONG from %s in %.1f ms", who, rtt * 1000);
    } else {
        say('!', "%s", msg);
    }
    free(who);
}

/* Keep the names of @result (at most CHAT_NAMES_MAX) for Tab completion. */
static void
remember_names(const char *result, size_t n)
{
    struct eure_binding b;
    size_t pos = 0;

    for (size_t i = 0; i < C.nnames; i++) {
        free(C.names[i]);
    }
    C.nnames = 0;
    if (C.names == NULL) {
        C.names = xcalloc(CHAT_NAMES_MAX, sizeof(*C.names));
    }
    while (C.nnames < CHAT_NAMES_MAX && eure_result_next(result, n, &pos, &b) == 1) {
        C.names[C.nnames++] = xstrdup(b.user);
    }
}

static void
who_shown(void *arg, int code, const char *msg, const char *result, size_t n)
{
    bool quiet = arg != NULL;
    struct eure_binding b;
    size_t pos = 0, count = 0;

    if (code != EXIT_OK) {
        if (!quiet) {
            say('!', "%s", msg);
        }
        return;
    }
    remember_names(result, n);
    if (quiet) {
        return;
    }
    while (eure_result_next(result, n, &pos, &b) == 1) {
        char line[256];
        bool v6 = strchr(b.addr, ':') != NULL;
        snprintf(line, sizeof(line), "  %-16s %s%s%s:%u", b.user, v6 ? "[" : "", b.addr,
                 v6 ? "]" : "", b.port);
        show(line);
        count++;
    }
    say('*', "%zu online", count);
}

/* ---- commands ---------------------------------------------------------------------------------
 */

static const char help_text[] =
    "  /who [USER]        who is online, and where\n"
    "  /msg USER TEXT     send TEXT to USER (and talk to USER from now on)\n"
    "  /to USER           plain lines go to USER (/to alone: to nobody)\n"
    "  /reply [TEXT]      answer the last person who wrote to you\n"
    "  /ping USER         check that USER answers, and how fast\n"
    "  /quit              leave the directory and exit (also Ctrl-D, Ctrl-C)\n"
    "  /help              this list\n"
    "  Tab completes commands and user names; a line starting with // sends one /.";

/* Split "word rest" in place: returns the word, *rest points after the blanks that follow it. */
static char *
word(char *s, char **rest)
{
    char *w = s + strspn(s, " \t"), *e = w + strcspn(w, " \t");

    *rest = e + strspn(e, " \t");
    if (*e) {
        *e = '\0';
    }
    return w;
}

static void
command(char *line)
{
    char *rest, *cmd = word(line + 1, &rest);

    if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
        quit();
    } else if (strcmp(cmd, "help") == 0) {
        show(help_text);
    } else if (strcmp(cmd, "who") == 0) {
        char *user = word(rest, &rest);
        node_who(C.n, *user ? user : NULL, who_shown, NULL);
    } else if (strcmp(cmd, "msg") == 0) {
        char *user = word(rest, &rest);
        if (!*user || !*rest) {
            say('!', "usage: /msg USER TEXT");
            return;
        }
        set_target(user);
        send_to(user, rest);
    } else if (strcmp(cmd, "to") == 0) {
        char *user = word(rest, &rest);
        set_target(*user ? user : NULL);
    } else if (strcmp(cmd, "reply") == 0) {
        if (!C.last_sender[0]) {
            say('!', "nobody has written to you yet");
            return;
        }
        set_target(C.last_sender);
        if (*rest) {
            send_to(C.target, rest);
        }
    } else if (strcmp(cmd, "ping") == 0) {
        char *user = word(rest, &rest);
        if (!*user) {
            say('!', "usage: /ping USER");
            return;
        }
        node_ping(C.n, user, pong, xstrdup(user));
    } else {
        char *safe = text_escape(cmd, strlen(cmd), false);
        say('!', "unknown command /%s (try /help)", safe);
        free(safe);
    }
}

static void
handle_line(char *line)
{
    size_t n = strlen(line);

    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n')) {
        line[--n] = '\0';
    }
    if (n == 0 || C.quitting) {
        return;
    }
    if (line[0] == '/' && line[1] != '/') {
        command(line);
        return;
    }
    if (!C.target[0]) {
        say('!', "to whom? use /msg USER TEXT, /to USER or /reply");
        return;
    }
    send_to(C.target, line[0] == '/' ? line + 1 : line);
}

/* ---- readline ---------------------------------------------------------------------------------
 */

static void
on_rl_line(char *line)
{
    if (line == NULL) { /* Ctrl-D */
        C.in_handler = true;
        show("");
        quit();
        C.in_handler = false;
        return;
    }
    C.in_handler = true;
    if (*line) {
        add_history(line);
    }
    handle_line(line);
    C.in_handler = false;
    free(line);
}

static const char *const commands[] = {"/help",  "/msg", "/ping", "/quit",
                                       "/reply", "/to",  "/who",  NULL};

static char *
complete_gen(const char *text, int state)
{
    static size_t i;
    static bool cmds;
    size_t n = strlen(text);

    if (state == 0) {
        i = 0;
        cmds = rl_point == (int)n && text[0] == '/' && rl_line_buffer[0] == '/';
    }
    if (cmds) {
        while (commands[i]) {
            const char *c = commands[i++];
            if (strncmp(c, text, n) == 0) {
                return xstrdup(c);
            }
        }
        return NULL;
    }
    while (i < C.nnames) {
        const char *name = C.names[i++];
        if (strncasecmp(name, text, n) == 0) {
            return xstrdup(name);
        }
    }
    return NULL;
}

static char **
complete(const char *text, int start, int end)
{
    rl_attempted_completion_over = 1; /* never complete file names */
    return rl_completion_matches(text, complete_gen);
}

static void
stdin_cb(evutil_socket_t fd, short what, void *arg)
{
    rl_callback_read_char();
}

static void
plain_read_cb(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;

    while (!C.quitting && (line = evbuffer_readln(in, NULL, EVBUFFER_EOL_LF)) != NULL) {
        handle_line(line);
        free(line);
    }
    if (evbuffer_get_length(in) > CLI_MESSAGE_MAX) {
        say('!', "line too long (%d bytes at most): dropped", CLI_MESSAGE_MAX);
        evbuffer_drain(in, evbuffer_get_length(in));
    }
}

static void
plain_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);

    if (evbuffer_get_length(in) > 0) { /* a last line without a newline */
        size_t n = evbuffer_get_length(in);
        char *line = xmalloc(n + 1);
        evbuffer_remove(in, line, n);
        line[n] = '\0';
        handle_line(line);
        free(line);
    }
    bufferevent_disable(bev, EV_READ);
    quit();
}

static void
start_input(void)
{
    if (C.tty) {
        rl_catch_signals = 0; /* the event loop handles SIGINT, SIGTERM and SIGWINCH */
        rl_catch_sigwinch = 0;
        rl_readline_name = "sb";
        rl_attempted_completion_function = complete;
        rl_callback_handler_install(C.prompt, on_rl_line);
        C.installed = true;
        C.ev_stdin = event_new(loop_base(), STDIN_FILENO, EV_READ | EV_PERSIST, stdin_cb, NULL);
        event_add(C.ev_stdin, NULL);
    } else {
        C.plain_in = bufferevent_socket_new(loop_base(), STDIN_FILENO, 0);
        bufferevent_setcb(C.plain_in, plain_read_cb, NULL, plain_event_cb, NULL);
        bufferevent_enable(C.plain_in, EV_READ);
    }
}

/* ---- node events ------------------------------------------------------------------------------
 */

static void
on_online(void *arg, const char *where)
{
    if (!C.online_once) {
        char line[256];
        C.online_once = true;
        snprintf(line, sizeof(line), "* %s is online at %s (/help for commands)", C.o->user, where);
        show(line);
        start_input();
    } else {
        say('*', "back online at %s", where);
    }
    node_who(C.n, NULL, who_shown, &C); /* names for completion, quietly */
}

static void
on_offline(void *arg, const char *why, double retry_in)
{
    say('*', "lost the directory (%s); reconnecting in %.0fs", why, retry_in);
}

static void
on_fatal(void *arg, int code, const char *msg)
{
    if (C.installed) {
        say('!', "%s", msg);
    }
    stop(code);
    if (!C.online_once) {
        cli_fail(code, "%s", msg);
    }
}

static void
on_message(void *arg, const char *from, const char *text, size_t n)
{
    char *safe = text_escape(text, n, true), *who = text_escape(from, strlen(from), false);
    char stamp[16], *line, *p, *nl;
    time_t now = time(NULL);
    struct tm tm;
    size_t cap;

    snprintf(C.last_sender, sizeof(C.last_sender), "%s", from);
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
    /* Continuation lines are indented under the first. */
    cap = strlen(stamp) + strlen(who) + 8 + strlen(safe) * 2 + 64;
    line = xmalloc(cap);
    size_t pos = (size_t)snprintf(line, cap, "%s <%s> ", stamp, who);
    size_t indent = pos;
    for (p = safe; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
        pos += (size_t)snprintf(line + pos, cap - pos, "%.*s\n%*s", (int)(nl - p), p,
                                (int)(indent > 32 ? 32 : indent), "");
        if (cap - pos < strlen(nl) + 64) {
            cap = cap * 2 + strlen(nl) + 64;
            line = xrealloc(line, cap);
        }
    }
    snprintf(line + pos, cap - pos, "%s", p);
    show(line);
    free(line);
    free(safe);
    free(who);
}

static void
on_event(void *arg, bool conversation, const char *msg)
{
    say('*', "%s", msg);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
    if (sig == SIGWINCH) {
        if (C.installed) {
            rl_resize_terminal();
        }
        return;
    }
    quit(); /* LEAVE: also undoes a BIND still in flight */
}

int
cmd_chat(struct cli_opts *o, int argc, char **argv)
{
    static const struct node_ops ops = {on_online, on_offline, on_fatal, on_message, on_event};
    const int sigs[] = {SIGINT, SIGTERM, SIGWINCH};

    C.o = o;
    C.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    update_prompt();
    C.n = node_new(o, true, &ops, NULL);
    for (size_t i = 0; i < 3; i++) {
        C.sig[i] = evsignal_new(loop_base(), sigs[i], signal_cb, NULL);
        evsignal_add(C.sig[i], NULL);
    }
    node_start(C.n);
    loop_run();
    release_terminal();
    node_free(C.n);
    for (size_t i = 0; i < 3; i++) {
        event_free(C.sig[i]);
    }
    if (C.ev_stdin) {
        event_free(C.ev_stdin);
    }
    if (C.plain_in) {
        bufferevent_free(C.plain_in);
    }
    for (size_t i = 0; i < C.nnames; i++) {
        free(C.names[i]);
    }
    free(C.names);
    return C.rc;
}
