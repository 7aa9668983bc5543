/* floe POSIX runtime: TLS (OpenSSL 3, TLS 1.2 or newer) over a nonblocking socket.
 *
 * A context holds the configuration (certificate and key, or trust anchors); a connection
 * wraps one connected TCP fd, which stays the caller's to watch and close. Handshake, read,
 * write and shutdown never block. Each returns a negative floe_err on failure, or else says
 * through *want what to do next:
 *
 *   handshake/shutdown: FLOE_OK, *want = FLOE_RT_TLS_DONE when finished, or WANT_READ /
 *                       WANT_WRITE: wait for that fd readiness and call again.
 *   read/write:         the byte count (> 0) with *want = DONE; or 0 with *want =
 *                       WANT_READ / WANT_WRITE (call again when ready; a read may need
 *                       writability and vice versa) or CLOSED (read: the peer closed TLS).
 *
 * With level-triggered epoll, read until it returns 0: OpenSSL may hold decrypted bytes
 * that no fd event announces. Writes go through write(2): ignore SIGPIPE
 * (floe_rt_ignore_sigpipe). After an error, floe_rt_tls_error() gives the reason. */
#ifndef FLOE_RT_TLS_H
#define FLOE_RT_TLS_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_rt_tls_ctx floe_rt_tls_ctx;
typedef struct floe_rt_tls floe_rt_tls;

/* What a nonblocking TLS call needs before it can make progress. */
typedef enum floe_rt_tls_want {
    FLOE_RT_TLS_DONE = 0,       /* nothing: the call completed */
    FLOE_RT_TLS_WANT_READ = 1,  /* call again once the fd is readable */
    FLOE_RT_TLS_WANT_WRITE = 2, /* call again once the fd is writable */
    FLOE_RT_TLS_CLOSED = 3,     /* the peer sent close_notify: no more data will come */
} floe_rt_tls_want;

/* Server context from a PEM certificate chain file (leaf first) and a PEM private key file.
 * Returns FLOE_OK or FLOE_ERR_TLS / FLOE_ERR_NOMEM with a reason, including OpenSSL's error
 * text, in errbuf (may be NULL). */
int floe_rt_tls_ctx_new_server(floe_rt_tls_ctx **out, const char *cert_chain_file,
                               const char *key_file, char *errbuf, size_t errcap);
/* Client context. With verify, the server chain must lead to a CA from ca_file (PEM), or
 * from the system's default trust store when ca_file is NULL. Returns like the server one. */
int floe_rt_tls_ctx_new_client(floe_rt_tls_ctx **out, const char *ca_file, bool verify,
                               char *errbuf, size_t errcap);
/* Releases the context; connections made from it keep working. NULL is ok. */
void floe_rt_tls_ctx_free(floe_rt_tls_ctx *ctx);

/* Server side of a TLS connection on the connected socket fd. Returns FLOE_OK,
 * FLOE_ERR_INVAL or FLOE_ERR_NOMEM. */
int floe_rt_tls_new_server(floe_rt_tls **out, floe_rt_tls_ctx *ctx, int fd);
/* Client side on fd. host (may be NULL) is the server's name, sent as SNI and, when the
 * context verifies, matched against the certificate; an IP literal ("192.0.2.1", "::1", "[::1]") is
 * matched against IP subjectAltNames and not sent as SNI. With verify but no host only the
 * chain is checked. Returns FLOE_OK, FLOE_ERR_INVAL, FLOE_ERR_NOMEM or FLOE_ERR_TLS. */
int floe_rt_tls_new_client(floe_rt_tls **out, floe_rt_tls_ctx *ctx, int fd, const char *host);
/* Frees the connection without sending anything; does not close the fd. NULL is ok. */
void floe_rt_tls_free(floe_rt_tls *t);

/* Advances the handshake. FLOE_OK with *want DONE once it has completed (certificate and
 * name verified when asked), or WANT_READ/WANT_WRITE; FLOE_ERR_TLS when it failed. */
int floe_rt_tls_handshake(floe_rt_tls *t, floe_rt_tls_want *want);
/* Reads up to cap decrypted bytes (finishing the handshake first if needed). Returns the
 * count, 0 with *want set, or FLOE_ERR_TLS (including a TCP close without close_notify). */
int floe_rt_tls_read(floe_rt_tls *t, void *buf, size_t cap, floe_rt_tls_want *want);
/* Writes up to len bytes; a short count means the rest must be written later. Returns the
 * count, 0 with *want set, or FLOE_ERR_TLS. After WANT_*, retry with the same bytes. */
int floe_rt_tls_write(floe_rt_tls *t, const void *buf, size_t len, floe_rt_tls_want *want);
/* Sends close_notify (without waiting for the peer's). FLOE_OK with *want DONE when sent,
 * or WANT_WRITE/WANT_READ; FLOE_ERR_TLS when the connection is already broken. */
int floe_rt_tls_shutdown(floe_rt_tls *t, floe_rt_tls_want *want);

/* Why the last call failed ("" if none), e.g. "certificate verify failed: hostname mismatch". */
const char *floe_rt_tls_error(const floe_rt_tls *t);
/* The negotiated protocol version, e.g. "TLSv1.3" (after the handshake). */
const char *floe_rt_tls_version(const floe_rt_tls *t);

/* ---- shared with DTLS (rt_dtls.c) --------------------------------------------------------
 * The context type, its verification setup, the server name and the error mapping are the
 * same for TLS and DTLS. OpenSSL's types appear by their struct tags (SSL_METHOD, SSL_CTX,
 * SSL) so that this header needs no OpenSSL header. */
struct ssl_method_st;
struct ssl_ctx_st;
struct ssl_st;

/* A client context on method (TLS_client_method(), DTLS_client_method()) that refuses
 * versions below min_version (TLS1_2_VERSION, DTLS1_2_VERSION); verify and ca_file as for
 * floe_rt_tls_ctx_new_client, which is this with TLS. Returns like it. */
int floe_rt_tls_ctx_new_client_on(floe_rt_tls_ctx **out, const struct ssl_method_st *method,
                                  int min_version, const char *ca_file, bool verify, char *errbuf,
                                  size_t errcap);
/* A server context on method (TLS_server_method(), DTLS_server_method()) that refuses
 * versions below min_version, with the certificate chain and key as for
 * floe_rt_tls_ctx_new_server, which is this with TLS. Returns like it. */
int floe_rt_tls_ctx_new_server_on(floe_rt_tls_ctx **out, const struct ssl_method_st *method,
                                  int min_version, const char *cert_chain_file,
                                  const char *key_file, char *errbuf, size_t errcap);
/* The context's SSL_CTX, to make connections from (NULL for NULL). */
struct ssl_ctx_st *floe_rt_tls_ctx_ssl_ctx(const floe_rt_tls_ctx *ctx);
/* Names the server on a client SSL as floe_rt_tls_new_client does with host: SNI unless
 * host is an IP literal, and the name or IP the certificate must match when ssl verifies.
 * FLOE_OK, FLOE_ERR_INVAL (NULL) or FLOE_ERR_TLS. */
int floe_rt_tls_set_host(struct ssl_st *ssl, const char *host);
/* Maps the result ret (<= 0) of an SSL_* call on ssl: FLOE_OK with *want WANT_READ,
 * WANT_WRITE or CLOSED (close_notify), or FLOE_ERR_TLS with *want DONE and the reason,
 * "<what>: <why>", in err (certificate verification failures named as such). After
 * FLOE_ERR_TLS errno is the failed socket call's (e.g. ECONNREFUSED), or 0 when the
 * failure was not a socket call's. */
int floe_rt_tls_outcome(struct ssl_st *ssl, int ret, const char *what, floe_rt_tls_want *want,
                        char *err, size_t errcap);

#ifdef __cplusplus
}
#endif
#endif
