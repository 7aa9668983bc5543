/* floe POSIX runtime: nonblocking TLS connections on OpenSSL 3. */
#define _GNU_SOURCE
#include "rt_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "floe/err.h"

enum { TLS_ERR_MAX = 256 };

struct floe_rt_tls_ctx {
    SSL_CTX *ssl_ctx;
};

struct floe_rt_tls {
    SSL *ssl;
    char err[TLS_ERR_MAX];
};

/* Writes "<what>: <OpenSSL errors>" into buf and empties this thread's OpenSSL error queue. */
static void tls_describe(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tls_describe(char *buf, size_t cap, const char *fmt, ...) {
    if (!buf || cap == 0) {
        ERR_clear_error();
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    size_t used = w < 0 ? 0 : (size_t)w >= cap ? cap - 1 : (size_t)w;
    const char *sep = ": ";
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        /* The reason alone ("certificate verify failed") reads better in a one-line error
         * than OpenSSL's full "error:0A000086:SSL routines::..." form. */
        char one[160];
        const char *reason = ERR_reason_error_string(e);
        if (ERR_SYSTEM_ERROR(e))
            snprintf(one, sizeof one, "%s", strerror(ERR_GET_REASON(e)));
        else if (reason)
            snprintf(one, sizeof one, "%s", reason);
        else
            ERR_error_string_n(e, one, sizeof one);
        /* OpenSSL often queues the same reason at several levels: say it once; and its
         * "system lib" / "PEM lib" entries only say which library passed the error up. */
        size_t ol = strlen(one);
        if (strstr(buf, one) || (ol > 4 && !strcmp(one + ol - 4, " lib"))) continue;
        if (used + 1 < cap) {
            w = snprintf(buf + used, cap - used, "%s%s", sep, one);
            used = w < 0 ? used : used + (size_t)w >= cap ? cap - 1 : used + (size_t)w;
        }
        sep = "; ";
    }
}

/* ---- contexts -------------------------------------------------------------------------- */

static int tls_ctx_common(floe_rt_tls_ctx **out, const SSL_METHOD *method, int min_version,
                          char *errbuf, size_t errcap) {
    *out = NULL;
    floe_rt_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        tls_describe(errbuf, errcap, "out of memory");
        return FLOE_ERR_NOMEM;
    }
    ctx->ssl_ctx = SSL_CTX_new(method);
    if (!ctx->ssl_ctx) {
        free(ctx);
        tls_describe(errbuf, errcap, "cannot create a TLS context");
        return FLOE_ERR_TLS;
    }
    if (!SSL_CTX_set_min_proto_version(ctx->ssl_ctx, min_version)) {
        floe_rt_tls_ctx_free(ctx);
        tls_describe(errbuf, errcap, "cannot require %s 1.2",
                     min_version == DTLS1_2_VERSION ? "DTLS" : "TLS");
        return FLOE_ERR_TLS;
    }
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_RENEGOTIATION);
    /* Partial writes and retries from a moved buffer suit callers with their own queues;
     * releasing idle buffers keeps many mostly-quiet server connections small. */
    SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                       SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                       SSL_MODE_RELEASE_BUFFERS);
    *out = ctx;
    return FLOE_OK;
}

int floe_rt_tls_ctx_new_server_on(floe_rt_tls_ctx **out, const struct ssl_method_st *method,
                                  int min_version, const char *cert_chain_file,
                                  const char *key_file, char *errbuf, size_t errcap) {
    if (errbuf && errcap) errbuf[0] = '\0';
    if (!out || !method || !cert_chain_file || !key_file) return FLOE_ERR_INVAL;
    ERR_clear_error();
    floe_rt_tls_ctx *ctx;
    int err = tls_ctx_common(&ctx, method, min_version, errbuf, errcap);
    if (err) return err;
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, cert_chain_file) != 1) {
        tls_describe(errbuf, errcap, "cannot load certificate chain from %s", cert_chain_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_last_error();
        if (ERR_GET_LIB(e) == ERR_LIB_X509 && ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
            tls_describe(errbuf, errcap, "private key %s does not match certificate %s", key_file,
                         cert_chain_file);
        else
            tls_describe(errbuf, errcap, "cannot load private key from %s", key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
        tls_describe(errbuf, errcap, "private key %s does not match certificate %s", key_file,
                     cert_chain_file);
        goto fail;
    }
    *out = ctx;
    return FLOE_OK;
fail:
    floe_rt_tls_ctx_free(ctx);
    return FLOE_ERR_TLS;
}

int floe_rt_tls_ctx_new_server(floe_rt_tls_ctx **out, const char *cert_chain_file,
                               const char *key_file, char *errbuf, size_t errcap) {
    return floe_rt_tls_ctx_new_server_on(out, TLS_server_method(), TLS1_2_VERSION, cert_chain_file,
                                         key_file, errbuf, errcap);
}

int floe_rt_tls_ctx_new_client_on(floe_rt_tls_ctx **out, const struct ssl_method_st *method,
                                  int min_version, const char *ca_file, bool verify, char *errbuf,
                                  size_t errcap) {
    if (errbuf && errcap) errbuf[0] = '\0';
    if (!out || !method) return FLOE_ERR_INVAL;
    ERR_clear_error();
    floe_rt_tls_ctx *ctx;
    int err = tls_ctx_common(&ctx, method, min_version, errbuf, errcap);
    if (err) return err;
    if (verify) {
        SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file ? SSL_CTX_load_verify_locations(ctx->ssl_ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(ctx->ssl_ctx);
        if (ok != 1) {
            if (ca_file)
                tls_describe(errbuf, errcap, "cannot load CA file %s", ca_file);
            else
                tls_describe(errbuf, errcap, "cannot load the system trust store");
            floe_rt_tls_ctx_free(ctx);
            return FLOE_ERR_TLS;
        }
    } else {
        SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_NONE, NULL);
    }
    *out = ctx;
    return FLOE_OK;
}

int floe_rt_tls_ctx_new_client(floe_rt_tls_ctx **out, const char *ca_file, bool verify,
                               char *errbuf, size_t errcap) {
    return floe_rt_tls_ctx_new_client_on(out, TLS_client_method(), TLS1_2_VERSION, ca_file, verify,
                                         errbuf, errcap);
}

struct ssl_ctx_st *floe_rt_tls_ctx_ssl_ctx(const floe_rt_tls_ctx *ctx) {
    return ctx ? ctx->ssl_ctx : NULL;
}

void floe_rt_tls_ctx_free(floe_rt_tls_ctx *ctx) {
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- connections ----------------------------------------------------------------------- */

static int tls_new(floe_rt_tls **out, floe_rt_tls_ctx *ctx, int fd) {
    *out = NULL;
    floe_rt_tls *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl_ctx);
    if (!t->ssl) {
        ERR_clear_error();
        free(t);
        return FLOE_ERR_NOMEM;
    }
    /* A socket BIO without BIO_CLOSE: the fd stays the caller's. */
    if (SSL_set_fd(t->ssl, fd) != 1) {
        ERR_clear_error();
        floe_rt_tls_free(t);
        return FLOE_ERR_NOMEM;
    }
    *out = t;
    return FLOE_OK;
}

int floe_rt_tls_new_server(floe_rt_tls **out, floe_rt_tls_ctx *ctx, int fd) {
    if (!out || !ctx || fd < 0) return FLOE_ERR_INVAL;
    int err = tls_new(out, ctx, fd);
    if (err) return err;
    SSL_set_accept_state((*out)->ssl);
    return FLOE_OK;
}

/* True when host is an IPv4 or IPv6 literal, copying it without "[...]" or a "%zone". */
static bool tls_is_ip_literal(const char *host, char *ip, size_t cap) {
    size_t len = strlen(host);
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    size_t zone = strcspn(host, "%");
    if (zone < len) len = zone;
    if (len >= cap) return false;
    memcpy(ip, host, len);
    ip[len] = '\0';
    unsigned char bin[16];
    return inet_pton(AF_INET, ip, bin) == 1 || inet_pton(AF_INET6, ip, bin) == 1;
}

int floe_rt_tls_set_host(struct ssl_st *ssl, const char *host) {
    if (!ssl || !host) return FLOE_ERR_INVAL;
    bool verify = (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
    char ip[INET6_ADDRSTRLEN];
    int ok = 1;
    if (tls_is_ip_literal(host, ip, sizeof ip)) {
        /* RFC 6066 §3: literal IP addresses are not sent as SNI. */
        if (verify) ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip);
    } else {
        ok = SSL_set_tlsext_host_name(ssl, host) == 1;
        if (ok && verify) {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl, host);
        }
    }
    if (ok != 1) {
        ERR_clear_error();
        return FLOE_ERR_TLS;
    }
    return FLOE_OK;
}

int floe_rt_tls_new_client(floe_rt_tls **out, floe_rt_tls_ctx *ctx, int fd, const char *host) {
    if (!out || !ctx || fd < 0) return FLOE_ERR_INVAL;
    int err = tls_new(out, ctx, fd);
    if (err) return err;
    floe_rt_tls *t = *out;
    SSL_set_connect_state(t->ssl);
    if (host && (err = floe_rt_tls_set_host(t->ssl, host)) != FLOE_OK) {
        floe_rt_tls_free(t);
        *out = NULL;
        return err;
    }
    return FLOE_OK;
}

void floe_rt_tls_free(floe_rt_tls *t) {
    if (!t) return;
    SSL_free(t->ssl);
    free(t);
}

int floe_rt_tls_outcome(struct ssl_st *ssl, int ret, const char *what, floe_rt_tls_want *want,
                        char *err, size_t errcap) {
    int saved_errno = errno;
    int e = SSL_get_error(ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ: *want = FLOE_RT_TLS_WANT_READ; return FLOE_OK;
    case SSL_ERROR_WANT_WRITE: *want = FLOE_RT_TLS_WANT_WRITE; return FLOE_OK;
    case SSL_ERROR_ZERO_RETURN: *want = FLOE_RT_TLS_CLOSED; return FLOE_OK;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            ERR_clear_error();
            snprintf(err, errcap, "%s: %s", what,
                     saved_errno ? strerror(saved_errno) : "connection closed");
            errno = saved_errno;
            break;
        }
        /* fall through */
    default: {
        /* Without SSL_VERIFY_PEER a verify result is recorded but not enforced. */
        long vr = SSL_get_verify_result(ssl);
        if (vr != X509_V_OK && (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER)) {
            ERR_clear_error(); /* the queue only repeats "certificate verify failed" */
            snprintf(err, errcap, "%s: certificate verify failed: %s", what,
                     X509_verify_cert_error_string(vr));
        } else {
            tls_describe(err, errcap, "%s", what);
        }
        errno = 0; /* not a socket call's failure */
        break;
    }
    }
    *want = FLOE_RT_TLS_DONE;
    return FLOE_ERR_TLS;
}

/* Turns an OpenSSL failure of ret into a floe result, the reason saved in t->err. */
static int tls_outcome(floe_rt_tls *t, int ret, const char *what, floe_rt_tls_want *want) {
    return floe_rt_tls_outcome(t->ssl, ret, what, want, t->err, sizeof t->err);
}

int floe_rt_tls_handshake(floe_rt_tls *t, floe_rt_tls_want *want) {
    if (!t || !want) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) return FLOE_OK;
    int err = tls_outcome(t, r, "TLS handshake", want);
    if (err == FLOE_OK && *want == FLOE_RT_TLS_CLOSED) {
        snprintf(t->err, sizeof t->err, "TLS handshake: the peer closed the connection");
        *want = FLOE_RT_TLS_DONE;
        return FLOE_ERR_TLS;
    }
    return err;
}

int floe_rt_tls_read(floe_rt_tls *t, void *buf, size_t cap, floe_rt_tls_want *want) {
    if (!t || !want || (!buf && cap)) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    if (cap == 0) return 0;
    if (cap > INT_MAX) cap = INT_MAX;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_read_ex(t->ssl, buf, cap, &n);
    if (r == 1) return (int)n;
    int err = tls_outcome(t, r, "TLS read", want);
    return err ? err : 0;
}

int floe_rt_tls_write(floe_rt_tls *t, const void *buf, size_t len, floe_rt_tls_want *want) {
    if (!t || !want || (!buf && len)) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    if (len == 0) return 0;
    if (len > INT_MAX) len = INT_MAX;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_write_ex(t->ssl, buf, len, &n);
    if (r == 1) return (int)n;
    int err = tls_outcome(t, r, "TLS write", want);
    if (err == FLOE_OK && *want == FLOE_RT_TLS_CLOSED) {
        snprintf(t->err, sizeof t->err, "TLS write: the peer closed the connection");
        *want = FLOE_RT_TLS_DONE;
        return FLOE_ERR_TLS;
    }
    return err ? err : 0;
}

int floe_rt_tls_shutdown(floe_rt_tls *t, floe_rt_tls_want *want) {
    if (!t || !want) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    ERR_clear_error();
    /* 0: our close_notify went out, the peer's has not come; enough for us. */
    int r = SSL_shutdown(t->ssl);
    if (r >= 0) return FLOE_OK;
    int err = tls_outcome(t, r, "TLS shutdown", want);
    if (err == FLOE_OK && *want == FLOE_RT_TLS_CLOSED) *want = FLOE_RT_TLS_DONE;
    return err;
}

const char *floe_rt_tls_error(const floe_rt_tls *t) {
    return t ? t->err : "";
}

const char *floe_rt_tls_version(const floe_rt_tls *t) {
    return t ? SSL_get_version(t->ssl) : "";
}
