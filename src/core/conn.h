/* SPDX-License-Identifier: MIT */
/*
 * Sessions: one connection each, accepted from a listener or opened by us (conn_connect), owned
 * by the core. The core reads, cuts frames (framing.h) and hands each complete frame to the
 * owner's callbacks; the owner answers with sess_send() and a verdict. Only this module touches a
 * session's socket and buffers. Every session has bounded input (the framing limit), bounded
 * output (max_output) and timeouts.
 */
#ifndef SB_CORE_CONN_H
#define SB_CORE_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "core/framing.h"

struct session;
struct endpoint;
struct dgram_from;

enum sess_verdict {
    SESS_OK,    /* go on with the next frame */
    SESS_CLOSE, /* flush what was sent, then close */
    SESS_PAUSE, /* deliver no more frames until sess_resume() (an asynchronous step is running) */
};

/* The callbacks of whoever owns an endpoint (a service). All run on the event loop that owns
 * the session: the main loop, or a serving loop for a spread endpoint. */
struct sess_ops {
    enum framing framing;
    /** on_open() - a connection was accepted (may set s->priv and greet), or the connection
     * conn_connect() opened is established. */
    enum sess_verdict (*on_open)(struct session *s);
    /** on_frame() - one complete frame; @p is valid only during the call. */
    enum sess_verdict (*on_frame)(struct session *s, const char *p, size_t n);
    /** on_frame_error() - the input cannot be framed; reply with the protocol's error. The
     * session is closed after the reply is flushed. */
    void (*on_frame_error)(struct session *s, const char *why);
    /** on_close() - called exactly once when the session goes away: after on_open for accepted
     * sessions, always for conn_connect() ones (s->established tells whether it ever connected,
     * s->end why it ended); free priv. */
    void (*on_close)(struct session *s);
    /** on_datagram() - optional: one datagram of @n bytes arrived on one of the endpoint's UDP
     * sockets (listener_set_add_udp()); answer with dgram_reply(). @p is valid only during the
     * call. The access lists were applied already. */
    void (*on_datagram)(struct endpoint *ep, const struct dgram_from *from, const char *p,
                        size_t n);
};

/* First bytes that someone other than the endpoint's owner answers: when an accepted TCP session
 * starts with exactly @request, @reply is sent and the session closes, and the owner never sees
 * it (the in-line socket policy). Input that stops matching goes to the owner as usual; a client
 * that has sent only a strict prefix of @request is waited for. */
struct preface {
    const char *request;
    size_t request_len;
    const char *reply;
    size_t reply_len;
    const char *name; /* for logs: "policy request" */
};

/* Where a datagram came from, for the reply. */
struct dgram_from {
    int fd;
    struct sockaddr_storage addr;
    socklen_t len;
    char str[ADDR_STR_MAX];
};

/* Limits and access lists shared by the sessions of one service. */
struct endpoint {
    const char *name; /* for logs */
    const struct sess_ops *ops;
    void *owner;          /* the service */
    size_t frame_limit;   /* see framing_next() */
    size_t max_output;    /* output bytes a session may have queued before it is dropped */
    size_t max_clients;   /* concurrent sessions */
    double idle_timeout;  /* seconds without input before a session is closed */
    double write_timeout; /* seconds a session may leave output unread */
    struct cidr *allow, *deny;
    size_t nallow, ndeny;
    atomic_size_t nsessions;       /* current count, maintained by the core */
    const struct preface *preface; /* optional, set before the loop runs; borrowed */
    /* Served by the serving loops (loops.h) instead of the main loop: accepted sockets are
     * handed to them in turn, and every callback of these sessions runs on a serving thread.
     * Set in init() by a service whose state those threads may share. */
    bool spread;
};

struct session {
    uint64_t id; /* unique for the life of the process; never reused */
    struct endpoint *ep;
    void *priv; /* the owner's per-session state */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char peer_str[ADDR_STR_MAX]; /* "1.2.3.4:5678", "[::1]:5678" or "unix" */
    bool established;            /* on_open ran */
    char end[64];                /* why the session ended, once known ("connection refused") */
};

/**
 * conn_accept() - start a session on accepted socket @fd (takes ownership of @fd).
 * Applies the endpoint's access lists and client limit first.
 */
void conn_accept(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len);

/**
 * conn_accept_tls() - conn_accept() for a TLS listener: admitted, then served encrypted with
 * @tls on this loop (the handshake runs first; on_open is called at once).
 */
struct tls_ctx;
void conn_accept_tls(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len,
                     struct tls_ctx *tls);

/**
 * conn_adopt() - start a session on the calling thread's loop for a socket conn_accept() has
 * already admitted and counted (the serving loops' half of a spread accept).
 */
void conn_adopt(struct endpoint *ep, int fd, const struct sockaddr *sa, socklen_t len);

/**
 * conn_connect() - open a session to @sa (a numeric address: no DNS here), with @priv already
 * set. on_open() runs once connected; if that fails or takes longer than @timeout seconds,
 * on_close() runs with s->established false and the reason in s->end. Output sent before the
 * connection is established is queued. Nothing is called from inside conn_connect() itself.
 * Return: the session (always; a socket failure is reported through on_close()).
 */
struct session *conn_connect(struct endpoint *ep, const struct sockaddr *sa, socklen_t len,
                             double timeout, void *priv);

/** sess_local() - the local address of @s's socket; false if it has none yet. */
bool sess_local(const struct session *s, struct sockaddr_storage *ss, socklen_t *len);

/** sess_send() - queue @n bytes for the peer. Returns -1 (and schedules a close) if the session
 * is over its output limit or already closing. */
int sess_send(struct session *s, const void *p, size_t n);
int sess_sendf(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A reference-counted, immutable byte string that many sessions send without copying it: a
 * channel message is built once and queued to every member by reference (the output buffers
 * point at it). It is freed when the last output buffer holding it has written it.
 */
struct shared_bytes;

/** shared_new() - copy @n bytes into a new shared string with one reference (the caller's).
 * Release with shared_unref(). */
struct shared_bytes *shared_new(const void *p, size_t n);
/** shared_ref() - take one more reference; returns @b. */
struct shared_bytes *shared_ref(struct shared_bytes *b);
/** shared_unref() - drop a reference; NULL is a no-op. */
void shared_unref(struct shared_bytes *b);
/** shared_data() - the bytes; shared_len() - how many. */
const char *shared_data(const struct shared_bytes *b);
size_t shared_len(const struct shared_bytes *b);

/** sess_send_shared() - queue @b for the peer: by reference when it is large (the session's
 * buffer takes its own reference, the caller keeps its); small strings, and everything for TLS
 * sessions, are copied, which costs less than a buffer piece of their own. Same limits and
 * return as sess_send(). */
int sess_send_shared(struct session *s, struct shared_bytes *b);

/** sess_output_pending() - bytes queued for the peer and not yet written (its SendQ). */
size_t sess_output_pending(const struct session *s);

/** sess_tls() - is the session encrypted (accepted on a TLS listener)? */
bool sess_tls(const struct session *s);

/** sess_close_later() - flush queued output, then close. Never frees during the caller. */
void sess_close_later(struct session *s);

/** sess_abort() - close now, dropping queued output (on_close runs on the next loop turn). */
void sess_abort(struct session *s);

/** sess_resume() - undo SESS_PAUSE: frames already buffered are delivered on the next loop turn. */
void sess_resume(struct session *s);

/** sess_find() - the live session with @id on the calling thread's loop, or NULL if it has gone.
 * For asynchronous steps. */
struct session *sess_find(uint64_t id);

/** endpoint_allows() - do @ep's access lists admit a peer at @sa? (UNIX peers always are.) */
bool endpoint_allows(const struct endpoint *ep, const struct sockaddr *sa);

/** dgram_reply() - send one datagram back to @from, without blocking. Return: 0, or -1 if it
 * was dropped (socket buffer full, or the source unreachable): datagrams may be lost. */
int dgram_reply(const struct dgram_from *from, const void *p, size_t n);

/** conn_close_all() - close every session of the calling thread's loop now (shutdown); on_close
 * runs for each. */
void conn_close_all(void);

/** conn_count() - number of live sessions, on every loop. */
size_t conn_count(void);

#endif
