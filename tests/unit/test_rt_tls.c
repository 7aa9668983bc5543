/* Tests of the POSIX TLS layer on loopback: a self-signed certificate made here with OpenSSL
 * (SAN IP:127.0.0.1 and DNS:floe.test), handshake and echo, name/IP mismatches, context
 * errors. */
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "floe/err.h"
#include "rt_sock.h"
#include "rt_sys.h"
#include "rt_tcp.h"
#include "rt_tls.h"

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

int main(void) {
    floe_rt_ignore_sigpipe();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls_handshake_and_echo_ip),
        cmocka_unit_test(test_tls_handshake_dns_name),
        cmocka_unit_test(test_tls_verify_fails_for_other_name),
        cmocka_unit_test(test_tls_no_verify_accepts_any_name),
        cmocka_unit_test(test_tls_context_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
