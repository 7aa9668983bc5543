/* Tests of the POSIX TLS layer on loopback: a self-signed certificate made here with OpenSSL
 * (SAN IP:127.0.0.1 and DNS:floe.test), handshake and echo, name/IP mismatches, context
 * errors. The DTLS client (rt_dtls.h), which shares the context and checks, against a
 * DTLS server written here on OpenSSL: records as datagrams, the name check, the
 * handshake's retransmission timer, an ICMP refusal. floe's DTLS server (the listener's
 * stateless cookie, the session on its own connected socket) against the DTLS client. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_dtls.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "rt_tls.h"
#include "rt_udp.h"

typedef struct fixture {
    char dir[64];
    char cert[128];
    char key[128];
    char other_key[128];
} fixture;

static void add_ext(X509 *x, int nid, const char *value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(x, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

static void write_key(EVP_PKEY *key, const char *path) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    const char *tmp = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/floe-tls-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->cert, sizeof fx->cert, "%s/cert.pem", fx->dir);
    snprintf(fx->key, sizeof fx->key, "%s/key.pem", fx->dir);
    snprintf(fx->other_key, sizeof fx->other_key, "%s/other.pem", fx->dir);

    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"floe test", -1, -1,
                               0);
    assert_int_equal(X509_set_issuer_name(x, name), 1);
    assert_int_equal(X509_set_pubkey(x, key), 1);
    add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, NID_subject_alt_name, "IP:127.0.0.1,DNS:floe.test");
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);

    FILE *f = fopen(fx->cert, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    write_key(key, fx->key);
    X509_free(x);
    EVP_PKEY_free(key);

    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(other);
    write_key(other, fx->other_key);
    EVP_PKEY_free(other);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    unlink(fx->cert);
    unlink(fx->key);
    unlink(fx->other_key);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* A connected TCP pair on 127.0.0.1. */
static void tcp_pair(int *client, int *server) {
    floe_addr lo;
    memset(&lo, 0, sizeof lo);
    lo.family = FLOE_AF_INET4;
    lo.ip[0] = 127;
    lo.ip[3] = 1;
    int lfd;
    floe_addr laddr;
    assert_int_equal(floe_rt_tcp_listen(&lo, 1, &lfd), FLOE_OK);
    assert_int_equal(floe_rt_local_addr(lfd, &laddr), FLOE_OK);
    assert_int_equal(floe_rt_tcp_connect(&laddr, client), FLOE_OK);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(floe_rt_tcp_accept(lfd, server, NULL), 1);
    close(lfd);
    p = (struct pollfd){.fd = *client, .events = POLLOUT};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(floe_rt_tcp_connect_result(*client), FLOE_OK);
}

static short want_to_poll(floe_rt_tls_want w) {
    return w == FLOE_RT_TLS_WANT_WRITE ? POLLOUT : POLLIN;
}

typedef struct endpoint {
    floe_rt_tls *tls;
    int fd;
    int result; /* 1 = done, 0 = in progress, < 0 = floe error */
    floe_rt_tls_want want;
} endpoint;

/* Drives both handshakes until each side has finished or failed, waiting on the fds. */
static void handshake_both(endpoint *c, endpoint *s) {
    endpoint *ep[2] = {c, s};
    for (int round = 0; round < 1000; round++) {
        for (int i = 0; i < 2; i++) {
            if (ep[i]->result != 0) continue;
            int r = floe_rt_tls_handshake(ep[i]->tls, &ep[i]->want);
            if (r < 0)
                ep[i]->result = r;
            else if (ep[i]->want == FLOE_RT_TLS_DONE)
                ep[i]->result = 1;
        }
        if (c->result != 0 && s->result != 0) return;
        /* A failed client sends an alert; the server must then fail rather than hang. */
        struct pollfd p[2];
        int np = 0;
        for (int i = 0; i < 2; i++)
            if (ep[i]->result == 0)
                p[np++] = (struct pollfd){.fd = ep[i]->fd, .events = want_to_poll(ep[i]->want)};
        assert_true(poll(p, (nfds_t)np, 5000) >= 1);
    }
    fail_msg("handshake did not finish");
}

/* Reads exactly len bytes from e, waiting as OpenSSL asks. */
static void read_all(endpoint *e, char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        floe_rt_tls_want w;
        int r = floe_rt_tls_read(e->tls, buf + got, len - got, &w);
        assert_true(r >= 0);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        assert_int_not_equal(w, FLOE_RT_TLS_CLOSED);
        struct pollfd p = {.fd = e->fd, .events = want_to_poll(w)};
        assert_int_equal(poll(&p, 1, 5000), 1);
    }
}

static void write_all(endpoint *e, const char *buf, size_t len) {
    size_t put = 0;
    while (put < len) {
        floe_rt_tls_want w;
        int r = floe_rt_tls_write(e->tls, buf + put, len - put, &w);
        assert_true(r >= 0);
        if (r > 0) {
            put += (size_t)r;
            continue;
        }
        struct pollfd p = {.fd = e->fd, .events = want_to_poll(w)};
        assert_int_equal(poll(&p, 1, 5000), 1);
    }
}

/* Sets up a client (verifying against the test certificate when verify) that expects host,
 * and a server with the test certificate, then runs both handshakes. */
static void connect_pair(fixture *fx, bool verify, const char *host, floe_rt_tls_ctx **cctx,
                         floe_rt_tls_ctx **sctx, endpoint *c, endpoint *s) {
    char err[256];
    assert_int_equal(floe_rt_tls_ctx_new_server(sctx, fx->cert, fx->key, err, sizeof err), FLOE_OK);
    assert_int_equal(floe_rt_tls_ctx_new_client(cctx, fx->cert, verify, err, sizeof err), FLOE_OK);
    *c = (endpoint){0};
    *s = (endpoint){0};
    tcp_pair(&c->fd, &s->fd);
    assert_int_equal(floe_rt_tls_new_client(&c->tls, *cctx, c->fd, host), FLOE_OK);
    assert_int_equal(floe_rt_tls_new_server(&s->tls, *sctx, s->fd), FLOE_OK);
    /* Contexts may go before their connections. */
    floe_rt_tls_ctx_free(*cctx);
    floe_rt_tls_ctx_free(*sctx);
    *cctx = *sctx = NULL;
    handshake_both(c, s);
}

static void close_pair(endpoint *c, endpoint *s) {
    floe_rt_tls_free(c->tls);
    floe_rt_tls_free(s->tls);
    close(c->fd);
    close(s->fd);
}

static void echo_once(endpoint *c, endpoint *s) {
    static const char msg[] = "floe over TLS on loopback";
    char buf[sizeof msg];
    write_all(c, msg, sizeof msg);
    read_all(s, buf, sizeof msg);
    assert_memory_equal(buf, msg, sizeof msg);
    write_all(s, buf, sizeof msg);
    memset(buf, 0, sizeof buf);
    read_all(c, buf, sizeof msg);
    assert_memory_equal(buf, msg, sizeof msg);
}

static void test_tls_handshake_and_echo_ip(void **state) {
    fixture *fx = *state;
    floe_rt_tls_ctx *cctx, *sctx;
    endpoint c, s;
    connect_pair(fx, true, "127.0.0.1", &cctx, &sctx, &c, &s);
    assert_int_equal(c.result, 1);
    assert_int_equal(s.result, 1);
    assert_string_equal(floe_rt_tls_error(c.tls), "");
    const char *v = floe_rt_tls_version(c.tls);
    assert_true(strcmp(v, "TLSv1.3") == 0 || strcmp(v, "TLSv1.2") == 0);
    echo_once(&c, &s);

    /* Large write: may be partial, must arrive whole. */
    static char big[200000], back[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    size_t put = 0, got = 0;
    while (got < sizeof big) {
        floe_rt_tls_want w;
        if (put < sizeof big) {
            int r = floe_rt_tls_write(c.tls, big + put, sizeof big - put, &w);
            assert_true(r >= 0);
            put += (size_t)r;
        }
        int r = floe_rt_tls_read(s.tls, back + got, sizeof back - got, &w);
        assert_true(r >= 0);
        got += (size_t)r;
        if (r == 0) {
            struct pollfd p[2] = {{.fd = s.fd, .events = POLLIN},
                                  {.fd = c.fd, .events = put < sizeof big ? POLLOUT : 0}};
            assert_true(poll(p, 2, 5000) >= 1);
        }
    }
    assert_memory_equal(big, back, sizeof big);

    /* Clean close: the server reads CLOSED. */
    floe_rt_tls_want w;
    assert_int_equal(floe_rt_tls_shutdown(c.tls, &w), FLOE_OK);
    assert_int_equal(w, FLOE_RT_TLS_DONE);
    char b[4];
    for (int i = 0; i < 100; i++) {
        assert_int_equal(floe_rt_tls_read(s.tls, b, sizeof b, &w), 0);
        if (w == FLOE_RT_TLS_CLOSED) break;
        struct pollfd p = {.fd = s.fd, .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
    }
    assert_int_equal(w, FLOE_RT_TLS_CLOSED);
    close_pair(&c, &s);
}

static void test_tls_handshake_dns_name(void **state) {
    fixture *fx = *state;
    floe_rt_tls_ctx *cctx, *sctx;
    endpoint c, s;
    connect_pair(fx, true, "floe.test", &cctx, &sctx, &c, &s);
    assert_int_equal(c.result, 1);
    assert_int_equal(s.result, 1);
    echo_once(&c, &s);
    close_pair(&c, &s);
}

static void expect_verify_failure(fixture *fx, const char *host, const char *why) {
    floe_rt_tls_ctx *cctx, *sctx;
    endpoint c, s;
    connect_pair(fx, true, host, &cctx, &sctx, &c, &s);
    assert_int_equal(c.result, FLOE_ERR_TLS);
    assert_true(s.result < 0); /* the client's alert ends the server's handshake */
    const char *e = floe_rt_tls_error(c.tls);
    if (!strstr(e, why)) fail_msg("error text \"%s\" lacks \"%s\"", e, why);
    close_pair(&c, &s);
}

static void test_tls_verify_fails_for_other_name(void **state) {
    fixture *fx = *state;
    expect_verify_failure(fx, "other.example", "hostname mismatch");
    expect_verify_failure(fx, "127.0.0.2", "IP address mismatch");
    expect_verify_failure(fx, "[::1]", "IP address mismatch"); /* bracketed IPv6 literal */
}

static void test_tls_no_verify_accepts_any_name(void **state) {
    fixture *fx = *state;
    floe_rt_tls_ctx *cctx, *sctx;
    endpoint c, s;
    connect_pair(fx, false, "other.example", &cctx, &sctx, &c, &s);
    assert_int_equal(c.result, 1);
    assert_int_equal(s.result, 1);
    echo_once(&c, &s);
    close_pair(&c, &s);
}

static void test_tls_context_errors(void **state) {
    fixture *fx = *state;
    floe_rt_tls_ctx *ctx = NULL;
    char err[512];
    char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.pem", fx->dir);
    assert_int_equal(floe_rt_tls_ctx_new_server(&ctx, missing, fx->key, err, sizeof err),
                     FLOE_ERR_TLS);
    assert_null(ctx);
    assert_non_null(strstr(err, "cannot load certificate chain"));
    assert_non_null(strstr(err, missing));
    /* the system's reason follows, once, without OpenSSL's error-code prefix */
    assert_non_null(strstr(err, strerror(ENOENT)));
    assert_null(strstr(err, "error:"));
    assert_ptr_equal(strstr(err, strerror(ENOENT)), strrchr(err, ':') + 2);

    assert_int_equal(floe_rt_tls_ctx_new_server(&ctx, fx->cert, fx->other_key, err, sizeof err),
                     FLOE_ERR_TLS);
    assert_non_null(strstr(err, "does not match"));

    assert_int_equal(floe_rt_tls_ctx_new_client(&ctx, missing, true, err, sizeof err),
                     FLOE_ERR_TLS);
    assert_non_null(strstr(err, "cannot load CA file"));

    /* A tiny buffer still gets a terminated prefix. */
    char tiny[8];
    assert_int_equal(floe_rt_tls_ctx_new_server(&ctx, missing, fx->key, tiny, sizeof tiny),
                     FLOE_ERR_TLS);
    assert_int_equal(strlen(tiny), sizeof tiny - 1);
    /* NULL buffer is fine. */
    assert_int_equal(floe_rt_tls_ctx_new_server(&ctx, missing, fx->key, NULL, 0), FLOE_ERR_TLS);
}

/* ---- DTLS ---------------------------------------------------------------------------- */

/* A UDP socket on 127.0.0.1 (an ephemeral port), its address in *at. */
static int udp_socket(floe_addr *at) {
    floe_addr lo;
    memset(&lo, 0, sizeof lo);
    lo.family = FLOE_AF_INET4;
    lo.ip[0] = 127;
    lo.ip[3] = 1;
    int fd;
    assert_int_equal(floe_rt_udp_open(&lo, 0, &fd, at), FLOE_OK);
    return fd;
}

static void udp_connect(int fd, const floe_addr *to) {
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(floe_rt_addr_to_sockaddr(to, &ss, &len), FLOE_OK);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
}

typedef struct dtls_pair {
    int cfd, sfd;
    floe_rt_dtls *c;
    SSL_CTX *sctx;
    SSL *s; /* the server, on OpenSSL directly (floe's own: test_dtls_server_*) */
    int c_result, s_result;
    int c_errno; /* errno after the client's handshake failed */
} dtls_pair;

/* A client verifying against the test certificate for host and a DTLS server with it, on
 * two UDP sockets connected to each other; both handshakes run to their end. */
static void dtls_connect(fixture *fx, const char *host, dtls_pair *p) {
    memset(p, 0, sizeof *p);
    floe_addr ca, sa;
    p->cfd = udp_socket(&ca);
    p->sfd = udp_socket(&sa);
    udp_connect(p->cfd, &sa);
    udp_connect(p->sfd, &ca);
    char err[256];
    floe_rt_tls_ctx *cctx;
    assert_int_equal(floe_rt_dtls_ctx_new_client(&cctx, fx->cert, true, err, sizeof err), FLOE_OK);
    assert_int_equal(floe_rt_dtls_new_client(&p->c, cctx, p->cfd, host), FLOE_OK);
    floe_rt_tls_ctx_free(cctx); /* connections outlive their context */
    p->sctx = SSL_CTX_new(DTLS_server_method());
    assert_non_null(p->sctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(p->sctx, fx->cert), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(p->sctx, fx->key, SSL_FILETYPE_PEM), 1);
    p->s = SSL_new(p->sctx);
    assert_non_null(p->s);
    BIO *bio = BIO_new_dgram(p->sfd, BIO_NOCLOSE);
    assert_non_null(bio);
    SSL_set_bio(p->s, bio, bio);
    SSL_set_accept_state(p->s);
    assert_int_equal(floe_rt_dtls_timeout(p->c), FLOE_TIME_NEVER); /* nothing sent yet */
    for (int round = 0; round < 1000 && (p->c_result == 0 || p->s_result == 0); round++) {
        if (p->c_result == 0) {
            floe_rt_tls_want w;
            int r = floe_rt_dtls_handshake(p->c, &w);
            p->c_result = r < 0 ? r : w == FLOE_RT_TLS_DONE ? 1 : 0;
            p->c_errno = errno;
        }
        if (p->s_result == 0) {
            ERR_clear_error();
            int r = SSL_do_handshake(p->s);
            if (r == 1)
                p->s_result = 1;
            else if (SSL_get_error(p->s, r) != SSL_ERROR_WANT_READ)
                p->s_result = -1;
            ERR_clear_error();
        }
        if (p->c_result < 0 && p->s_result == 0) break; /* its alert may be all it gets */
        struct pollfd pf[2] = {{.fd = p->cfd, .events = POLLIN}, {.fd = p->sfd, .events = POLLIN}};
        poll(pf, 2, 200);
    }
}

static void dtls_close(dtls_pair *p) {
    floe_rt_dtls_free(p->c);
    SSL_free(p->s);
    SSL_CTX_free(p->sctx);
    close(p->cfd);
    close(p->sfd);
}

/* The next record the server gets, into buf; its length. */
static int dtls_server_read(dtls_pair *p, void *buf, int cap) {
    for (int i = 0; i < 100; i++) {
        int r = SSL_read(p->s, buf, cap);
        if (r > 0 || SSL_get_error(p->s, r) != SSL_ERROR_WANT_READ) return r;
        struct pollfd pf = {.fd = p->sfd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 5000), 1);
    }
    return -1;
}

/* The next record the client gets (waiting as it asks), into buf; its length or <= 0. */
static int dtls_client_read(dtls_pair *p, void *buf, size_t cap, floe_rt_tls_want *w) {
    for (int i = 0; i < 100; i++) {
        int r = floe_rt_dtls_read(p->c, buf, cap, w);
        if (r != 0 || *w != FLOE_RT_TLS_WANT_READ) return r;
        struct pollfd pf = {.fd = p->cfd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 5000), 1);
    }
    return -1;
}

static void test_dtls_handshake_and_records(void **state) {
    fixture *fx = *state;
    dtls_pair p;
    dtls_connect(fx, "127.0.0.1", &p);
    assert_int_equal(p.c_result, 1);
    assert_int_equal(p.s_result, 1);
    assert_string_equal(floe_rt_dtls_version(p.c), "DTLSv1.2");
    assert_string_equal(floe_rt_dtls_error(p.c), "");
    assert_int_equal(floe_rt_dtls_timeout(p.c), FLOE_TIME_NEVER); /* no timer once done */
    assert_int_equal(floe_rt_dtls_retransmits(p.c), 0);

    /* Two writes are two records, read one at a time: message boundaries as on UDP. */
    static uint8_t big[FLOE_RT_DTLS_MAX_RECORD + 1], back[65536];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7);
    floe_rt_tls_want w;
    assert_int_equal(floe_rt_dtls_write(p.c, "one", 3, &w), 3);
    assert_int_equal(floe_rt_dtls_write(p.c, big, FLOE_RT_DTLS_MAX_RECORD, &w),
                     FLOE_RT_DTLS_MAX_RECORD);
    assert_int_equal(floe_rt_dtls_write(p.c, big, sizeof big, &w), FLOE_ERR_LIMIT);
    assert_int_equal(floe_rt_dtls_write(p.c, big, 0, &w), FLOE_ERR_LIMIT);
    assert_int_equal(dtls_server_read(&p, back, sizeof back), 3);
    assert_memory_equal(back, "one", 3);
    assert_int_equal(dtls_server_read(&p, back, sizeof back), FLOE_RT_DTLS_MAX_RECORD);
    assert_memory_equal(back, big, FLOE_RT_DTLS_MAX_RECORD);

    /* And back: the server's records one per read, garbage in between dropped. */
    assert_int_equal(SSL_write(p.s, "two", 3), 3);
    assert_int_equal(send(p.sfd, "\x17\xfe\xfd garbage", 11, 0), 11);
    assert_int_equal(SSL_write(p.s, "three", 5), 5);
    assert_int_equal(dtls_client_read(&p, back, sizeof back, &w), 3);
    assert_memory_equal(back, "two", 3);
    assert_int_equal(dtls_client_read(&p, back, sizeof back, &w), 5);
    assert_memory_equal(back, "three", 5);
    assert_int_equal(floe_rt_dtls_read(p.c, back, sizeof back, &w), 0);
    assert_int_equal(w, FLOE_RT_TLS_WANT_READ);

    /* close_notify both ways. */
    assert_int_equal(floe_rt_dtls_shutdown(p.c), FLOE_OK);
    assert_int_equal(dtls_server_read(&p, back, sizeof back), 0);
    assert_int_equal(SSL_get_error(p.s, 0), SSL_ERROR_ZERO_RETURN);
    assert_true(SSL_shutdown(p.s) >= 0);
    assert_int_equal(dtls_client_read(&p, back, sizeof back, &w), 0);
    assert_int_equal(w, FLOE_RT_TLS_CLOSED);
    dtls_close(&p);
}

static void test_dtls_verify_fails_for_other_name(void **state) {
    fixture *fx = *state;
    dtls_pair p;
    dtls_connect(fx, "other.example", &p);
    assert_int_equal(p.c_result, FLOE_ERR_TLS);
    const char *e = floe_rt_dtls_error(p.c);
    if (!strstr(e, "DTLS handshake: certificate verify failed: hostname mismatch"))
        fail_msg("error text \"%s\"", e);
    assert_int_equal(p.c_errno, 0); /* not a socket's failure */
    dtls_close(&p);
    dtls_connect(fx, "floe.test", &p); /* the DNS name it has */
    assert_int_equal(p.c_result, 1);
    dtls_close(&p);
}

/* A server that never answers: the ClientHello goes again when the timer runs out
 * (RFC 6347 §4.2.4.1: after 1 s). */
static void test_dtls_handshake_retransmits(void **state) {
    fixture *fx = *state;
    floe_addr ca, sa;
    int cfd = udp_socket(&ca), sfd = udp_socket(&sa);
    udp_connect(cfd, &sa);
    floe_rt_tls_ctx *ctx;
    assert_int_equal(floe_rt_dtls_ctx_new_client(&ctx, fx->cert, true, NULL, 0), FLOE_OK);
    floe_rt_dtls *d;
    assert_int_equal(floe_rt_dtls_new_client(&d, ctx, cfd, "127.0.0.1"), FLOE_OK);
    floe_rt_tls_want w;
    assert_int_equal(floe_rt_dtls_handshake(d, &w), FLOE_OK);
    assert_int_equal(w, FLOE_RT_TLS_WANT_READ);
    uint8_t hello[2048], again[2048];
    ssize_t n1 = recv(sfd, hello, sizeof hello, 0);
    assert_true(n1 > 13);
    assert_int_equal(hello[0], 22); /* a handshake record */
    floe_time_ns left = floe_rt_dtls_timeout(d);
    assert_true(left > 0 && left <= FLOE_S(1));
    /* Before the timer runs out a call sends nothing. */
    assert_int_equal(floe_rt_dtls_handshake(d, &w), FLOE_OK);
    assert_int_equal(recv(sfd, again, sizeof again, MSG_DONTWAIT), -1);
    struct timespec ts = {.tv_sec = (time_t)(left / FLOE_NS_PER_S),
                          .tv_nsec = (long)(left % FLOE_NS_PER_S) + 20 * 1000 * 1000};
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    nanosleep(&ts, NULL);
    assert_int_equal(floe_rt_dtls_timeout(d), 0);
    assert_int_equal(floe_rt_dtls_handshake(d, &w), FLOE_OK);
    assert_int_equal(w, FLOE_RT_TLS_WANT_READ);
    assert_int_equal(floe_rt_dtls_retransmits(d), 1);
    ssize_t n2 = recv(sfd, again, sizeof again, MSG_DONTWAIT);
    assert_int_equal(n2, n1);
    /* The same ClientHello; only the record sequence number (bytes 5-10) moved on. */
    assert_memory_equal(again + 13, hello + 13, (size_t)n1 - 13);
    /* The timer doubled. */
    left = floe_rt_dtls_timeout(d);
    assert_true(left > FLOE_S(1) && left <= FLOE_S(2));
    floe_rt_dtls_free(d);
    floe_rt_tls_ctx_free(ctx);
    close(cfd);
    close(sfd);
}

/* Nobody on the port: the ICMP error fails the handshake, with errno saying so. */
static void test_dtls_refused(void **state) {
    fixture *fx = *state;
    floe_addr ca, sa;
    int cfd = udp_socket(&ca), sfd = udp_socket(&sa);
    close(sfd); /* the port is free now */
    udp_connect(cfd, &sa);
    floe_rt_tls_ctx *ctx;
    assert_int_equal(floe_rt_dtls_ctx_new_client(&ctx, fx->cert, true, NULL, 0), FLOE_OK);
    floe_rt_dtls *d;
    assert_int_equal(floe_rt_dtls_new_client(&d, NULL, cfd, NULL), FLOE_ERR_INVAL);
    int unconnected = socket(AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(floe_rt_dtls_new_client(&d, ctx, unconnected, NULL), FLOE_ERR_INVAL);
    close(unconnected);
    assert_int_equal(floe_rt_dtls_new_client(&d, ctx, cfd, NULL), FLOE_OK);
    floe_rt_tls_want w;
    /* On loopback the error may be there as soon as the ClientHello has gone. */
    int rc = floe_rt_dtls_handshake(d, &w);
    if (rc == FLOE_OK) {
        struct pollfd pf = {.fd = cfd, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 5000), 1);
        rc = floe_rt_dtls_handshake(d, &w);
    }
    int e = errno;
    assert_int_equal(rc, FLOE_ERR_TLS);
    assert_int_equal(e, ECONNREFUSED);
    assert_non_null(strstr(floe_rt_dtls_error(d), strerror(ECONNREFUSED)));
    floe_rt_dtls_free(d);
    floe_rt_tls_ctx_free(ctx);
    close(cfd);
}

/* floe's DTLS server: the listener answers the first ClientHello with a cookie and keeps
 * nothing; the one that returns it becomes a session on its own socket, connected to the
 * client on the listener's port; records then go both ways. */
static void test_dtls_server_cookie_then_session(void **state) {
    fixture *fx = *state;
    char err[256];
    floe_rt_tls_ctx *sctx, *cctx;
    assert_int_equal(floe_rt_dtls_ctx_new_server(&sctx, fx->cert, fx->key, err, sizeof err),
                     FLOE_OK);
    assert_int_equal(floe_rt_dtls_ctx_new_server(&cctx, fx->cert, fx->other_key, err, sizeof err),
                     FLOE_ERR_TLS); /* the key must match, as for TLS */
    floe_addr lo, at, ca;
    memset(&lo, 0, sizeof lo);
    lo.family = FLOE_AF_INET4;
    lo.ip[0] = 127;
    lo.ip[3] = 1;
    int lfd;
    assert_int_equal(floe_rt_dtls_listen_socket(&lo, &lfd, &at), FLOE_OK);
    floe_rt_dtls_listener *l;
    assert_int_equal(floe_rt_dtls_listener_new(&l, sctx, lfd, &at), FLOE_OK);

    int cfd = udp_socket(&ca);
    udp_connect(cfd, &at);
    assert_int_equal(floe_rt_dtls_ctx_new_client(&cctx, fx->cert, true, err, sizeof err), FLOE_OK);
    floe_rt_dtls *c, *s = NULL;
    assert_int_equal(floe_rt_dtls_new_client(&c, cctx, cfd, "127.0.0.1"), FLOE_OK);

    int sfd = -1, c_done = 0, s_done = 0;
    floe_addr client;
    floe_rt_tls_want w;
    for (int round = 0; round < 200 && !(c_done && s_done); round++) {
        if (!c_done) {
            int r = floe_rt_dtls_handshake(c, &w);
            assert_int_equal(r, FLOE_OK);
            c_done = w == FLOE_RT_TLS_DONE;
        }
        if (!s) {
            int r = floe_rt_dtls_accept(l, &s, &sfd, &client);
            assert_true(r == 0 || r == 1);
            if (r == 0) assert_null(s);
        }
        if (s && !s_done) {
            assert_int_equal(floe_rt_dtls_handshake(s, &w), FLOE_OK);
            s_done = w == FLOE_RT_TLS_DONE;
        }
        struct pollfd pf[3] = {{.fd = cfd, .events = POLLIN},
                               {.fd = lfd, .events = POLLIN},
                               {.fd = sfd, .events = POLLIN}};
        poll(pf, s ? 3 : 2, 200);
    }
    assert_true(c_done && s_done);
    assert_int_equal(floe_rt_dtls_listener_cookies_sent(l), 1); /* the first ClientHello */
    assert_true(floe_addr_equal(&client, &ca));
    floe_addr sl, sp;
    assert_int_equal(floe_rt_local_addr(sfd, &sl), FLOE_OK);
    assert_int_equal(floe_rt_peer_addr(sfd, &sp), FLOE_OK);
    assert_true(floe_addr_equal(&sl, &at)); /* the listener's address and port */
    assert_true(floe_addr_equal(&sp, &ca)); /* connected to the client */
    assert_string_equal(floe_rt_dtls_version(s), "DTLSv1.2");

    uint8_t buf[FLOE_RT_DTLS_MAX_RECORD];
    assert_int_equal(floe_rt_dtls_write(c, "ping", 4, &w), 4);
    struct pollfd pf = {.fd = sfd, .events = POLLIN};
    assert_int_equal(poll(&pf, 1, 5000), 1);
    assert_int_equal(floe_rt_dtls_read(s, buf, sizeof buf, &w), 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(floe_rt_dtls_write(s, "pong!", 5, &w), 5);
    pf.fd = cfd;
    assert_int_equal(poll(&pf, 1, 5000), 1);
    assert_int_equal(floe_rt_dtls_read(c, buf, sizeof buf, &w), 5);
    assert_memory_equal(buf, "pong!", 5);
    /* the listener saw nothing of it */
    floe_rt_dtls *none;
    int nfd;
    assert_int_equal(floe_rt_dtls_accept(l, &none, &nfd, &client), 0);

    /* close_notify reaches the server's session */
    assert_int_equal(floe_rt_dtls_shutdown(c), FLOE_OK);
    pf.fd = sfd;
    assert_int_equal(poll(&pf, 1, 5000), 1);
    assert_int_equal(floe_rt_dtls_read(s, buf, sizeof buf, &w), 0);
    assert_int_equal(w, FLOE_RT_TLS_CLOSED);

    floe_rt_dtls_free(c);
    floe_rt_dtls_free(s);
    floe_rt_dtls_listener_free(l);
    floe_rt_tls_ctx_free(cctx);
    floe_rt_tls_ctx_free(sctx);
    close(cfd);
    close(sfd);
    close(lfd);
}

int main(void) {
    floe_rt_ignore_sigpipe();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_handshake_and_echo_ip),
        cmocka_unit_test(test_tls_handshake_dns_name),
        cmocka_unit_test(test_tls_verify_fails_for_other_name),
        cmocka_unit_test(test_tls_no_verify_accepts_any_name),
        cmocka_unit_test(test_tls_context_errors),
        cmocka_unit_test(test_dtls_handshake_and_records),
        cmocka_unit_test(test_dtls_verify_fails_for_other_name),
        cmocka_unit_test(test_dtls_handshake_retransmits),
        cmocka_unit_test(test_dtls_refused),
        cmocka_unit_test(test_dtls_server_cookie_then_session),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
