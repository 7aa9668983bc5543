/* floe POSIX runtime: a nonblocking DTLS client on OpenSSL 3. The context, the server
 * name and the error mapping are rt_tls.c's; this file adds the datagram BIO and the
 * handshake timer. */
#define _GNU_SOURCE
#include "rt_dtls.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "floe/err.h"

enum { DTLS_ERR_MAX = 256 };

struct floe_rt_dtls {
    SSL *ssl;
    unsigned retransmits;
    char err[DTLS_ERR_MAX];
};

int floe_rt_dtls_ctx_new_client(floe_rt_tls_ctx **out, const char *ca_file, bool verify,
                                char *errbuf, size_t errcap) {
    return floe_rt_tls_ctx_new_client_on(out, DTLS_client_method(), DTLS1_2_VERSION, ca_file,
                                         verify, errbuf, errcap);
}

/* A datagram BIO on the connected fd, told that it is connected: it then uses send(2)
 * rather than sendto(2) with an address it does not know. */
static BIO *dtls_bio(int fd) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) return NULL;
    BIO_ADDR *peer = BIO_ADDR_new();
    if (!peer) return NULL;
    int ok = 0;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        ok = BIO_ADDR_rawmake(peer, AF_INET, &in->sin_addr, sizeof in->sin_addr, in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        ok = BIO_ADDR_rawmake(peer, AF_INET6, &in6->sin6_addr, sizeof in6->sin6_addr,
                              in6->sin6_port);
    }
    BIO *bio = ok ? BIO_new_dgram(fd, BIO_NOCLOSE) : NULL;
    if (bio && BIO_ctrl_set_connected(bio, peer) != 1) {
        BIO_free(bio);
        bio = NULL;
    }
    BIO_ADDR_free(peer);
    return bio;
}

int floe_rt_dtls_new_client(floe_rt_dtls **out, floe_rt_tls_ctx *ctx, int fd, const char *host) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    if (!ctx || fd < 0) return FLOE_ERR_INVAL;
    floe_rt_dtls *d = calloc(1, sizeof *d);
    if (!d) return FLOE_ERR_NOMEM;
    ERR_clear_error();
    d->ssl = SSL_new(floe_rt_tls_ctx_ssl_ctx(ctx));
    if (!d->ssl) {
        ERR_clear_error();
        free(d);
        return FLOE_ERR_NOMEM;
    }
    BIO *bio = dtls_bio(fd);
    if (!bio) {
        ERR_clear_error();
        floe_rt_dtls_free(d);
        return FLOE_ERR_INVAL;
    }
    SSL_set_bio(d->ssl, bio, bio); /* the SSL owns the BIO; BIO_NOCLOSE keeps the fd ours */
    SSL_set_connect_state(d->ssl);
    int err = host ? floe_rt_tls_set_host(d->ssl, host) : FLOE_OK;
    if (err != FLOE_OK) {
        floe_rt_dtls_free(d);
        return err;
    }
    *out = d;
    return FLOE_OK;
}

void floe_rt_dtls_free(floe_rt_dtls *d) {
    if (!d) return;
    SSL_free(d->ssl);
    free(d);
}

floe_time_ns floe_rt_dtls_timeout(floe_rt_dtls *d) {
    struct timeval tv;
    if (!d || DTLSv1_get_timeout(d->ssl, &tv) != 1) return FLOE_TIME_NEVER;
    return (floe_time_ns)tv.tv_sec * FLOE_NS_PER_S + (floe_time_ns)tv.tv_usec * FLOE_NS_PER_US;
}

unsigned floe_rt_dtls_retransmits(const floe_rt_dtls *d) {
    return d ? d->retransmits : 0;
}

int floe_rt_dtls_handshake(floe_rt_dtls *d, floe_rt_tls_want *want) {
    if (!d || !want) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    ERR_clear_error();
    if (!SSL_is_init_finished(d->ssl) && floe_rt_dtls_timeout(d) == 0) {
        /* 1: the last flight went out again; 0: not due after all; < 0: too many tries. */
        int r = (int)DTLSv1_handle_timeout(d->ssl);
        if (r > 0) d->retransmits++;
        if (r < 0) {
            floe_rt_tls_outcome(d->ssl, r, "DTLS handshake", want, d->err, sizeof d->err);
            *want = FLOE_RT_TLS_DONE;
            return FLOE_ERR_TLS;
        }
    }
    int r = SSL_do_handshake(d->ssl);
    if (r == 1) return FLOE_OK;
    int err = floe_rt_tls_outcome(d->ssl, r, "DTLS handshake", want, d->err, sizeof d->err);
    if (err == FLOE_OK && *want == FLOE_RT_TLS_CLOSED) {
        snprintf(d->err, sizeof d->err, "DTLS handshake: the server closed the connection");
        *want = FLOE_RT_TLS_DONE;
        return FLOE_ERR_TLS;
    }
    return err;
}

int floe_rt_dtls_read(floe_rt_dtls *d, void *buf, size_t cap, floe_rt_tls_want *want) {
    if (!d || !want || !buf || cap == 0) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    if (cap > INT_MAX) cap = INT_MAX;
    for (;;) {
        ERR_clear_error();
        size_t n = 0;
        int r = SSL_read_ex(d->ssl, buf, cap, &n);
        if (r == 1 && n > 0) return (int)n;
        if (r == 1) continue; /* an empty record: nothing for the caller */
        int err = floe_rt_tls_outcome(d->ssl, r, "DTLS read", want, d->err, sizeof d->err);
        return err ? err : 0;
    }
}

int floe_rt_dtls_write(floe_rt_dtls *d, const void *buf, size_t len, floe_rt_tls_want *want) {
    if (!d || !want || !buf) return FLOE_ERR_INVAL;
    *want = FLOE_RT_TLS_DONE;
    if (len == 0 || len > FLOE_RT_DTLS_MAX_RECORD) return FLOE_ERR_LIMIT;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_write_ex(d->ssl, buf, len, &n);
    if (r == 1) return (int)n;
    /* A datagram the socket refused is dropped by OpenSSL's DTLS (no partial records, no
     * retry of the same bytes): WANT_WRITE only says it is gone. */
    int err = floe_rt_tls_outcome(d->ssl, r, "DTLS write", want, d->err, sizeof d->err);
    if (err == FLOE_OK && *want == FLOE_RT_TLS_CLOSED) {
        snprintf(d->err, sizeof d->err, "DTLS write: the server closed the connection");
        *want = FLOE_RT_TLS_DONE;
        return FLOE_ERR_TLS;
    }
    return err ? err : 0;
}

int floe_rt_dtls_shutdown(floe_rt_dtls *d) {
    if (!d) return FLOE_ERR_INVAL;
    ERR_clear_error();
    /* 0: our close_notify went out, the server's has not come; enough for us. */
    int r = SSL_shutdown(d->ssl);
    if (r >= 0) return FLOE_OK;
    /* FLOE_OK for WANT_WRITE: a full socket buffer loses the alert like any datagram. */
    floe_rt_tls_want want;
    return floe_rt_tls_outcome(d->ssl, r, "DTLS shutdown", &want, d->err, sizeof d->err);
}

const char *floe_rt_dtls_error(const floe_rt_dtls *d) {
    return d ? d->err : "";
}

const char *floe_rt_dtls_version(const floe_rt_dtls *d) {
    return d ? SSL_get_version(d->ssl) : "";
}
