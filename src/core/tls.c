/* SPDX-License-Identifier: MIT */
/*
 * TLS server contexts. A struct tls_ctx is a stable handle around an OpenSSL SSL_CTX so that a
 * reload can swap the SSL_CTX underneath the listeners: OpenSSL counts references to an SSL_CTX,
 * so sessions already established keep the one they started with. This module reads certificates
 * and makes SSL objects; the encrypted I/O itself is libevent's bufferevent_openssl (conn.c).
 */
#include "core/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

struct tls_ctx {
    SSL_CTX *ssl;
};

/* OpenSSL's reason for the failure, and its error queue emptied so that the next failure does
 * not report a stale one. The oldest entry is the most specific ("no start line" before "PEM
 * lib"), with its detail when it has one; a failed system call is reported as its errno ("No
 * such file or directory"). */
static const char *
ssl_reason(void)
{
    static _Thread_local char buf[256];
    unsigned long e, first = 0;
    const char *data, *first_data = NULL;
    int flags;

    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        if (first == 0) {
            first = e;
            first_data = (flags & ERR_TXT_STRING) && data && data[0] ? data : NULL;
        }
    }
    if (first == 0) {
        return "unknown error";
    }
    if (ERR_SYSTEM_ERROR(first)) {
        return strerror(ERR_GET_REASON(first));
    }
    const char *r = ERR_reason_error_string(first);
    if (r == NULL) {
        r = "unknown error";
    }
    if (first_data == NULL) {
        return r;
    }
    snprintf(buf, sizeof(buf), "%s (%s)", r, first_data);
    return buf;
}

static SSL_CTX *
load(const char *cert, const char *key, char *err, size_t errcap)
{
    SSL_CTX *ssl;

    ERR_clear_error();
    ssl = SSL_CTX_new(TLS_server_method());
    if (ssl == NULL) {
        snprintf(err, errcap, "cannot create a TLS context: %s", ssl_reason());
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION) != 1) {
        snprintf(err, errcap, "cannot require TLS 1.2: %s", ssl_reason());
        goto fail;
    }
    /* Renegotiation by clients is a denial-of-service lever and nothing here needs it. */
    SSL_CTX_set_options(ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ssl, cert) != 1) {
        snprintf(err, errcap, "TLS certificate %s: %s", cert, ssl_reason());
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ssl, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errcap, "TLS private key %s: %s", key, ssl_reason());
        goto fail;
    }
    if (SSL_CTX_check_private_key(ssl) != 1) {
        snprintf(err, errcap, "TLS private key %s does not match the certificate %s: %s", key, cert,
                 ssl_reason());
        goto fail;
    }
    return ssl;

fail:
    SSL_CTX_free(ssl);
    return NULL;
}

struct tls_ctx *
tls_server_new(const char *cert, const char *key, char *err, size_t errcap)
{
    SSL_CTX *ssl = load(cert, key, err, errcap);
    struct tls_ctx *ctx;

    if (ssl == NULL) {
        return NULL;
    }
    ctx = xcalloc(1, sizeof(*ctx));
    ctx->ssl = ssl;
    return ctx;
}

/* Runs on the main loop, like every accept on a TLS listener (TLS endpoints are not spread), so
 * the swap needs no lock. */
int
tls_server_reload(struct tls_ctx *ctx, const char *cert, const char *key, char *err, size_t errcap)
{
    SSL_CTX *ssl = load(cert, key, err, errcap);

    if (ssl == NULL) {
        return -1;
    }
    SSL_CTX_free(ctx->ssl); /* sessions still using it hold their own reference */
    ctx->ssl = ssl;
    return 0;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
    if (ctx == NULL) {
        return;
    }
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

SSL *
tls_session_new(struct tls_ctx *ctx)
{
    return SSL_new(ctx->ssl);
}
