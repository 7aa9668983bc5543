/* floe POSIX runtime: nonblocking DTLS clients and servers on OpenSSL 3. The contexts,
 * the server name and the error mapping are rt_tls.c's; this file adds the datagram BIO,
 * the handshake timer, the stateless cookies and the listener. */
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
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_udp.h"

enum { DTLS_ERR_MAX = 256 };

struct floe_rt_dtls {
    SSL *ssl;
    bool server; /* for the messages: who closed */
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
        snprintf(d->err, sizeof d->err, "DTLS handshake: the %s closed the connection",
                 d->server ? "client" : "server");
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
        snprintf(d->err, sizeof d->err, "DTLS write: the %s closed the connection",
                 d->server ? "client" : "server");
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

/* ---- server: stateless cookies ------------------------------------------------------------
 * cookie = slot (4 bytes, big-endian: UNIX time / COOKIE_SLOT_S) || the first COOKIE_MAC
 * bytes of HMAC-SHA256(key, slot || family || address || port), key random per process.
 * A cookie is good while its slot is one of the last COOKIE_SLOTS. */

enum { COOKIE_SLOT_S = 30, COOKIE_SLOTS = 3, COOKIE_MAC = 16, COOKIE_LEN = 4 + COOKIE_MAC };

struct floe_rt_dtls_listener {
    floe_rt_tls_ctx *ctx;
    int fd;
    floe_addr local;
    SSL *ssl; /* listens on fd until a ClientHello carries a valid cookie, then moves on */
    unsigned long cookies_sent;
};

static unsigned char cookie_key[32];
static bool cookie_key_set;

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* The MAC for slot and the peer the SSL's read BIO last received from. */
static bool cookie_mac(SSL *ssl, uint32_t slot, unsigned char mac[EVP_MAX_MD_SIZE]) {
    BIO_ADDR *peer = BIO_ADDR_new();
    unsigned char msg[4 + 1 + 16 + 2];
    size_t alen = 0;
    bool ok = peer && BIO_dgram_get_peer(SSL_get_rbio(ssl), peer) > 0 &&
              BIO_ADDR_rawaddress(peer, NULL, &alen) && alen <= 16 &&
              BIO_ADDR_rawaddress(peer, msg + 5, &alen);
    if (ok) {
        put_be32(msg, slot);
        msg[4] = (unsigned char)BIO_ADDR_family(peer);
        unsigned short port = BIO_ADDR_rawport(peer); /* network order */
        memcpy(msg + 5 + alen, &port, 2);
        unsigned int mlen = 0;
        ok = HMAC(EVP_sha256(), cookie_key, sizeof cookie_key, msg, 5 + alen + 2, mac, &mlen) &&
             mlen >= COOKIE_MAC;
    }
    BIO_ADDR_free(peer);
    return ok;
}

static uint32_t cookie_slot_now(void) {
    return (uint32_t)((uint64_t)time(NULL) / COOKIE_SLOT_S);
}

static int cookie_generate(SSL *ssl, unsigned char *cookie, unsigned int *len) {
    uint32_t slot = cookie_slot_now();
    unsigned char mac[EVP_MAX_MD_SIZE];
    if (!cookie_mac(ssl, slot, mac)) return 0;
    put_be32(cookie, slot);
    memcpy(cookie + 4, mac, COOKIE_MAC);
    *len = COOKIE_LEN;
    floe_rt_dtls_listener *l = SSL_get_app_data(ssl);
    if (l) l->cookies_sent++;
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len) {
    if (len != COOKIE_LEN) return 0;
    uint32_t slot = (uint32_t)cookie[0] << 24 | (uint32_t)cookie[1] << 16 |
                    (uint32_t)cookie[2] << 8 | cookie[3];
    uint32_t now = cookie_slot_now();
    if (slot > now || now - slot >= COOKIE_SLOTS) return 0;
    unsigned char mac[EVP_MAX_MD_SIZE];
    return cookie_mac(ssl, slot, mac) && CRYPTO_memcmp(mac, cookie + 4, COOKIE_MAC) == 0;
}

int floe_rt_dtls_ctx_new_server(floe_rt_tls_ctx **out, const char *cert_chain_file,
                                const char *key_file, char *errbuf, size_t errcap) {
    if (!cookie_key_set) {
        if (RAND_bytes(cookie_key, sizeof cookie_key) != 1) {
            if (errbuf && errcap) snprintf(errbuf, errcap, "no random bytes for DTLS cookies");
            ERR_clear_error();
            return FLOE_ERR_TLS;
        }
        cookie_key_set = true;
    }
    int err = floe_rt_tls_ctx_new_server_on(out, DTLS_server_method(), DTLS1_2_VERSION,
                                            cert_chain_file, key_file, errbuf, errcap);
    if (err) return err;
    SSL_CTX *sc = floe_rt_tls_ctx_ssl_ctx(*out);
    SSL_CTX_set_cookie_generate_cb(sc, cookie_generate);
    SSL_CTX_set_cookie_verify_cb(sc, cookie_verify);
    return FLOE_OK;
}

/* ---- server: the listener --------------------------------------------------------------- */

enum { LISTEN_ROUNDS = 64 }; /* dropped datagrams per call before yielding to the loop */

int floe_rt_dtls_listen_socket(const floe_addr *addr, int *fd, floe_addr *bound) {
    return floe_rt_udp_open(addr, FLOE_RT_UDP_REUSEADDR | FLOE_RT_UDP_REUSEPORT, fd, bound);
}

int floe_rt_dtls_listener_new(floe_rt_dtls_listener **out, floe_rt_tls_ctx *ctx, int fd,
                              const floe_addr *local) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    if (!ctx || fd < 0 || !local) return FLOE_ERR_INVAL;
    floe_rt_dtls_listener *l = calloc(1, sizeof *l);
    if (!l) return FLOE_ERR_NOMEM;
    l->ctx = ctx;
    l->fd = fd;
    l->local = *local;
    *out = l;
    return FLOE_OK;
}

void floe_rt_dtls_listener_free(floe_rt_dtls_listener *l) {
    if (!l) return;
    SSL_free(l->ssl);
    free(l);
}

unsigned long floe_rt_dtls_listener_cookies_sent(const floe_rt_dtls_listener *l) {
    return l ? l->cookies_sent : 0;
}

/* The listening SSL: a datagram BIO on the unconnected socket, which answers each
 * datagram's sender. */
static SSL *listen_ssl(floe_rt_dtls_listener *l) {
    SSL *ssl = SSL_new(floe_rt_tls_ctx_ssl_ctx(l->ctx));
    BIO *bio = ssl ? BIO_new_dgram(l->fd, BIO_NOCLOSE) : NULL;
    if (!bio) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    SSL_set_bio(ssl, bio, bio);
    SSL_set_accept_state(ssl);
    SSL_set_app_data(ssl, l);
    return ssl;
}

static bool bio_addr_to_floe(const BIO_ADDR *b, floe_addr *out) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    size_t alen = 0;
    socklen_t sl;
    if (BIO_ADDR_family(b) == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        alen = sizeof in->sin_addr;
        if (!BIO_ADDR_rawaddress(b, &in->sin_addr, &alen)) return false;
        in->sin_family = AF_INET;
        in->sin_port = BIO_ADDR_rawport(b);
        sl = sizeof *in;
    } else if (BIO_ADDR_family(b) == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        alen = sizeof in6->sin6_addr;
        if (!BIO_ADDR_rawaddress(b, &in6->sin6_addr, &alen)) return false;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = BIO_ADDR_rawport(b);
        sl = sizeof *in6;
    } else {
        return false;
    }
    return floe_rt_addr_from_sockaddr((struct sockaddr *)&ss, sl, out) == FLOE_OK;
}

/* A socket for the client on the listener's address, connected to it. What reached the
 * socket between bind and connect (other clients' datagrams, which the kernel may hand to
 * any unconnected socket of the port) is dropped: their senders send again. */
static int client_socket(const floe_rt_dtls_listener *l, const floe_addr *client, int *fd) {
    struct sockaddr_storage ss;
    socklen_t sl;
    if (floe_rt_addr_to_sockaddr(client, &ss, &sl)) return FLOE_ERR_INVAL;
    int err = floe_rt_udp_open(
        &l->local, FLOE_RT_UDP_REUSEADDR | FLOE_RT_UDP_REUSEPORT | FLOE_RT_UDP_KERNEL_BUFS, fd,
        NULL);
    if (err) return err;
    if (connect(*fd, (struct sockaddr *)&ss, sl) != 0) {
        int saved = errno;
        close(*fd);
        *fd = -1;
        errno = saved;
        return floe_rt_err_from_errno(saved);
    }
    unsigned char junk[1];
    while (recv(*fd, junk, sizeof junk, MSG_DONTWAIT | MSG_TRUNC) >= 0) {
    }
    return FLOE_OK;
}

int floe_rt_dtls_accept(floe_rt_dtls_listener *l, floe_rt_dtls **out, int *fd, floe_addr *client) {
    if (!out || !fd || !client) return FLOE_ERR_INVAL;
    *out = NULL;
    *fd = -1;
    if (!l) return FLOE_ERR_INVAL;
    if (!l->ssl && !(l->ssl = listen_ssl(l))) return FLOE_ERR_NOMEM;
    BIO_ADDR *peer = BIO_ADDR_new();
    if (!peer) return FLOE_ERR_NOMEM;
    int found = 0;
    for (int i = 0; i < LISTEN_ROUNDS && !found; i++) {
        ERR_clear_error();
        /* 1: a valid cookie; 0: nothing more to read, or a datagram dropped (not a
         * ClientHello); < 0: a socket error. HelloVerifyRequests go out inside. */
        int r = DTLSv1_listen(l->ssl, peer);
        if (r == 1)
            found = 1;
        else if (r == 0 && BIO_should_retry(SSL_get_rbio(l->ssl)))
            break;
    }
    ERR_clear_error();
    if (!found) {
        BIO_ADDR_free(peer);
        return 0;
    }
    SSL *ssl = l->ssl;
    l->ssl = NULL; /* the next call listens with a fresh one */
    SSL_set_app_data(ssl, NULL);
    int err = bio_addr_to_floe(peer, client) ? client_socket(l, client, fd) : FLOE_ERR_INVAL;
    floe_rt_dtls *d = err ? NULL : calloc(1, sizeof *d);
    if (!err && !d) err = FLOE_ERR_NOMEM;
    if (!err) {
        /* The same BIO, now on the connected socket: the ClientHello that OpenSSL keeps
         * from the listening is answered there. */
        BIO *bio = SSL_get_rbio(ssl);
        BIO_set_fd(bio, *fd, BIO_NOCLOSE);
        if (BIO_ctrl_set_connected(bio, peer) != 1) err = FLOE_ERR_NOMEM;
    }
    BIO_ADDR_free(peer);
    if (err) {
        int saved = errno;
        SSL_free(ssl);
        free(d);
        if (*fd >= 0) close(*fd);
        *fd = -1;
        ERR_clear_error();
        errno = saved;
        return err;
    }
    d->ssl = ssl;
    d->server = true;
    *out = d;
    return 1;
}
