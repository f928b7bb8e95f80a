/* SPDX-License-Identifier: MIT */
/*
 * TLS for listeners (OpenSSL through libevent's bufferevent_openssl): a server context made from
 * a certificate chain and a private key in PEM files, which a listener set hands to every
 * session it accepts. The session API is the same with or without TLS (sess_tls() tells).
 */
#ifndef SB_CORE_TLS_H
#define SB_CORE_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>

struct tls_ctx;

/**
 * tls_server_new() - a server context from @cert (PEM chain) and @key (PEM private key):
 * TLS 1.2 and newer, the key checked against the certificate.
 * Return: the context, or NULL with a one-line message naming the file in @err. Free with
 * tls_ctx_free() once no listener uses it.
 */
struct tls_ctx *tls_server_new(const char *cert, const char *key, char *err, size_t errcap);

/**
 * tls_server_reload() - read @cert and @key again into @ctx; sessions accepted afterwards use
 * them, established ones keep theirs. On failure @ctx is unchanged.
 * Return: 0, or -1 with a message in @err.
 */
int tls_server_reload(struct tls_ctx *ctx, const char *cert, const char *key, char *err,
                      size_t errcap);

/** tls_session_new() - a new SSL object from @ctx's current SSL_CTX, for one accepted session
 * (internal to the core: conn.c); freed with its bufferevent. */
SSL *tls_session_new(struct tls_ctx *ctx);

/** tls_ctx_free() - NULL is a no-op. */
void tls_ctx_free(struct tls_ctx *ctx);

#endif
