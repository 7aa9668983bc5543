/* Unit tests for SIP digest authentication (include/floe/sip_auth.h): the RFC 2617 §3.5
 * vector (MD5, qop=auth), the RFC 7616 §3.9.1 vectors (SHA-256 and MD5, qop=auth), the
 * other algorithms and forms cross-checked with Python's hashlib (SHA-512-256, -sess,
 * the RFC 2069 form without qop); the client's choice of the strongest challenge, its
 * exact Authorization header, nc counting and cnonce, stale handling and refusals, proxy
 * challenges; the server's challenge text and verification. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "floe/sip_auth.h"

static int counter_rand(void *ctx, void *buf, size_t len) {
    unsigned *n = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*n)++;
    return FLOE_OK;
}

static floe_sip_str S(const char *s) {
    return floe_sip_str_c(s);
}

static void check_digest(floe_sip_digest_alg alg, const char *user, const char *realm,
                         const char *pw, const char *nonce, const char *cnonce, const char *qop,
                         const char *want) {
    floe_sip_digest_params p;
    memset(&p, 0, sizeof p);
    p.alg = alg;
    p.username = S(user);
    p.realm = S(realm);
    p.password = S(pw);
    p.method = S("GET");
    p.uri = S("/dir/index.html");
    p.nonce = S(nonce);
    p.cnonce = S(cnonce);
    if (qop) {
        p.qop = S(qop);
        p.nc = S("00000001");
    }
    char hex[FLOE_SIP_DIGEST_HEX_MAX];
    assert_int_equal(floe_sip_digest_compute(&p, hex, sizeof hex), FLOE_OK);
    assert_string_equal(hex, want);
}

#define N7616 "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
#define C7616 "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"

static void test_vectors(void **state) {
    (void)state;
    /* RFC 2617 §3.5 */
    check_digest(FLOE_SIP_ALG_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
                 "dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b", "auth",
                 "6629fae49393a05397450978507c4ef1");
    /* RFC 7616 §3.9.1 */
    check_digest(FLOE_SIP_ALG_SHA256, "Mufasa", "http-auth@example.org", "Circle of Life", N7616,
                 C7616, "auth", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    check_digest(FLOE_SIP_ALG_MD5, "Mufasa", "http-auth@example.org", "Circle of Life", N7616,
                 C7616, "auth", "8ca523f5e9506fed4657c9700eebdbec");
    /* the same inputs with the other algorithms (Python hashlib) */
    check_digest(FLOE_SIP_ALG_SHA512_256, "Mufasa", "http-auth@example.org", "Circle of Life",
                 N7616, C7616, "auth",
                 "430d05014cecc49cab6fbe03176d41a1da86cbfe24a16580e22aaad928d960d0");
    check_digest(FLOE_SIP_ALG_MD5_SESS, "Mufasa", "http-auth@example.org", "Circle of Life", N7616,
                 C7616, "auth", "e783283f46242139c486a698fec7211d");
    check_digest(FLOE_SIP_ALG_SHA256_SESS, "Mufasa", "http-auth@example.org", "Circle of Life",
                 N7616, C7616, "auth",
                 "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7");
    /* RFC 2069 form: no qop */
    check_digest(FLOE_SIP_ALG_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life",
                 "dcd98b7102dd2f0e8b11d0f600bfb0c093", NULL, NULL,
                 "670fd8c2df070c60b045671b8b24ff02");
}

static void test_compute_errors(void **state) {
    (void)state;
    floe_sip_digest_params p;
    memset(&p, 0, sizeof p);
    p.alg = FLOE_SIP_ALG_SHA256;
    p.username = S("u");
    p.realm = S("r");
    p.password = S("p");
    p.method = S("REGISTER");
    p.uri = S("sip:r");
    p.nonce = S("n");
    p.qop = S("auth");
    char hex[FLOE_SIP_DIGEST_HEX_MAX];
    assert_int_equal(floe_sip_digest_compute(&p, hex, sizeof hex), FLOE_ERR_INVAL); /* cnonce */
    p.cnonce = S("c");
    p.nc = S("1");
    assert_int_equal(floe_sip_digest_compute(&p, hex, sizeof hex), FLOE_ERR_INVAL); /* nc */
    p.nc = S("00000001");
    assert_int_equal(floe_sip_digest_compute(&p, hex, 64), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_sip_digest_compute(&p, hex, 65), FLOE_OK);
    assert_int_equal(strlen(hex), 64);
    p.qop = S("auth-int");
    assert_int_equal(floe_sip_digest_compute(&p, hex, sizeof hex), FLOE_ERR_UNSUPPORTED);
    p.qop = S("auth");
    p.alg = FLOE_SIP_ALG_OTHER;
    assert_int_equal(floe_sip_digest_compute(&p, hex, sizeof hex), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_sip_digest_strength(FLOE_SIP_ALG_MD5_SESS), 1);
    assert_int_equal(floe_sip_digest_strength(FLOE_SIP_ALG_SHA256), 2);
    assert_int_equal(floe_sip_digest_strength(FLOE_SIP_ALG_SHA512_256_SESS), 3);
    assert_int_equal(floe_sip_digest_strength(FLOE_SIP_ALG_OTHER), 0);
}

/* ---- client ------------------------------------------------------------------------------ */

static floe_sip_msg resp, req;
static char resp_text[4096], arena_buf[4096], printed[4096];
static unsigned rnd_state;
static floe_sip_auth_client ac;

static void challenge_from(unsigned status, const char *fields) {
    snprintf(resp_text, sizeof resp_text,
             "SIP/2.0 %u %s\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr1\r\n"
             "To: <sip:alice@atlanta.com>;tag=s1\r\nFrom: <sip:alice@atlanta.com>;tag=a1\r\n"
             "Call-ID: reg@x\r\nCSeq: 1 REGISTER\r\n%sContent-Length: 0\r\n\r\n",
             status, floe_sip_status_phrase(status), fields);
    floe_sip_error e;
    if (floe_sip_parse(resp_text, strlen(resp_text), 0, &resp, &e, NULL) != FLOE_OK)
        fail_msg("parse: %s", e.detail);
}

static floe_sip_arena ar;

static void register_request(unsigned cseq) {
    static char cs[32];
    snprintf(cs, sizeof cs, "%u REGISTER", cseq);
    floe_sip_msg_request(&req, "REGISTER", "sip:atlanta.com");
    floe_sip_msg_add(&req, FLOE_SIP_H_VIA, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr2");
    floe_sip_msg_add(&req, FLOE_SIP_H_MAX_FORWARDS, "70");
    floe_sip_msg_add(&req, FLOE_SIP_H_TO, "<sip:alice@atlanta.com>");
    floe_sip_msg_add(&req, FLOE_SIP_H_FROM, "<sip:alice@atlanta.com>;tag=a1");
    floe_sip_msg_add(&req, FLOE_SIP_H_CALL_ID, "reg@x");
    floe_sip_msg_add(&req, FLOE_SIP_H_CSEQ, cs);
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
}

static const char *value_of(const floe_sip_msg *m, const char *name) {
    const floe_sip_hdr *h = floe_sip_msg_find_name(m, name, NULL);
    if (!h) return NULL;
    snprintf(printed, sizeof printed, "%.*s", (int)h->value.len, h->value.p);
    return printed;
}

#define RFC3261_NONCE "84a4cc6f3082121f32b42a2187831a9e"

static void test_client_strongest_and_exact_header(void **state) {
    (void)state;
    rnd_state = 0;
    assert_int_equal(floe_sip_auth_client_init(&ac, "alice", "secret", counter_rand, &rnd_state),
                     FLOE_OK);
    /* MD5 listed first, SHA-256 second, an unknown algorithm and Basic too: SHA-256 wins. */
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"" RFC3261_NONCE
                        "\", qop=\"auth\", algorithm=MD5\r\n"
                        "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"" RFC3261_NONCE
                        "\", qop=\"auth,auth-int\", algorithm=SHA-256\r\n"
                        "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"x\", "
                        "algorithm=SHA-1\r\n"
                        "WWW-Authenticate: Basic realm=\"atlanta.com\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    assert_int_equal(ac.ch[0].alg, FLOE_SIP_ALG_SHA256);
    register_request(2);
    assert_int_equal(floe_sip_auth_client_authorize(&ac, &req, &ar), FLOE_OK);
    /* response = SHA-256 digest with cnonce 0001020304050607 (the first random bytes). */
    assert_string_equal(value_of(&req, "Authorization"),
                        "Digest username=\"alice\", realm=\"atlanta.com\", nonce=\"" RFC3261_NONCE
                        "\", uri=\"sip:atlanta.com\", response=\"3bd0bab20cdc1d9d272b64ec85f5c4e8"
                        "79140ad677bae87021c20854f1043f3e\", algorithm=SHA-256, "
                        "cnonce=\"0001020304050607\", qop=auth, nc=00000001");
    /* The server's view: verify with the password, and fail with another. */
    floe_sip_auth cred;
    assert_int_equal(floe_sip_auth_find(&req, false, "atlanta.com", &cred), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &req, "atlanta.com", "secret"), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &req, "atlanta.com", "Secret"), FLOE_ERR_AUTH);
    assert_int_equal(floe_sip_auth_verify(&cred, &req, "biloxi.com", "secret"), FLOE_ERR_AUTH);
    assert_int_equal(floe_sip_auth_find(&req, true, "atlanta.com", &cred), FLOE_ERR_NOT_FOUND);

    /* The next request with the same nonce counts nc up and takes a new cnonce. */
    register_request(3);
    assert_int_equal(floe_sip_auth_client_authorize(&ac, &req, &ar), FLOE_OK);
    assert_non_null(strstr(value_of(&req, "Authorization"),
                           "response=\"99b57d2d752f1f7f04b5c8796f2731e6a3a353d58eb4c2b0aebbc8986f2a"
                           "727d\", algorithm=SHA-256, cnonce=\"08090a0b0c0d0e0f\", qop=auth, "
                           "nc=00000002"));
    assert_int_equal(floe_sip_auth_find(&req, false, "atlanta.com", &cred), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &req, "atlanta.com", "secret"), FLOE_OK);
}

static void test_client_refusal_and_stale(void **state) {
    (void)state;
    rnd_state = 0;
    floe_sip_auth_client_init(&ac, "alice", "secret", counter_rand, &rnd_state);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n1\", "
                        "qop=\"auth\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    register_request(2);
    floe_sip_auth_client_authorize(&ac, &req, &ar);
    /* MD5 by default: no algorithm named back since the challenge named none. */
    assert_null(strstr(value_of(&req, "Authorization"), "algorithm="));
    /* The same realm challenges the answered credentials again: refused. */
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n2\", "
                        "qop=\"auth\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_AUTH);
    assert_int_equal(ac.refusals, 1);
    /* ... unless the nonce was only stale: retried with the new nonce, nc from 1. */
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n3\", "
                        "qop=\"auth\", stale=true\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    register_request(3);
    floe_sip_auth_client_authorize(&ac, &req, &ar);
    assert_non_null(strstr(value_of(&req, "Authorization"), "nonce=\"n3\""));
    assert_non_null(strstr(printed, "nc=00000001"));
    /* stale again: once more allowed, then refused (FLOE_SIP_AUTH_MAX_STALE = 2 in a row) */
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n4\", "
                        "qop=\"auth\", stale=true\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    register_request(4);
    floe_sip_auth_client_authorize(&ac, &req, &ar);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n5\", "
                        "qop=\"auth\", stale=true\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_AUTH);
    assert_int_equal(ac.stale, 2);
    /* After a success, a later challenge is a new round. */
    floe_sip_auth_client_success(&ac);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n6\", "
                        "qop=\"auth\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
}

static void test_client_proxy_and_two_realms(void **state) {
    (void)state;
    rnd_state = 0;
    floe_sip_auth_client_init(&ac, "bob", "zanzibar", counter_rand, &rnd_state);
    challenge_from(407, "Proxy-Authenticate: Digest realm=\"proxy.net\", nonce=\"p1\", "
                        "qop=\"auth\", algorithm=MD5-sess, opaque=\"o\\\"q\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"biloxi.com\", nonce=\"n1\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    floe_sip_msg_request(&req, "INVITE", "sip:bob@biloxi.com");
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_auth_client_authorize(&ac, &req, &ar), FLOE_OK);
    assert_int_equal(req.n_hdr, 2);
    /* The opaque with a quote inside comes back escaped. */
    assert_non_null(strstr(value_of(&req, "Proxy-Authorization"), "opaque=\"o\\\"q\""));
    assert_non_null(strstr(printed, "algorithm=MD5-sess"));
    /* The RFC 2069 form for a challenge without qop: no cnonce, no nc. */
    assert_string_equal(
        value_of(&req, "Authorization"),
        "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", "
        "uri=\"sip:bob@biloxi.com\", response=\"360f520d6dcb382fd91a6e8ed7851a61\"");
    /* The proxy's check of its own credentials. */
    floe_sip_auth cred;
    assert_int_equal(floe_sip_auth_find(&req, true, "proxy.net", &cred), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &req, "proxy.net", "zanzibar"), FLOE_OK);
    assert_int_equal(floe_sip_auth_find(&req, false, "biloxi.com", &cred), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &req, "biloxi.com", "zanzibar"), FLOE_OK);
}

static void test_client_unusable(void **state) {
    (void)state;
    floe_sip_auth_client_init(&ac, "alice", "secret", counter_rand, &rnd_state);
    challenge_from(401, "WWW-Authenticate: Basic realm=\"a\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_UNSUPPORTED);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"a\", nonce=\"n\", qop=\"auth-int\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_UNSUPPORTED);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"a\", nonce=\"n\", algorithm=SHA-1\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_UNSUPPORTED);
    challenge_from(401, "WWW-Authenticate: Digest nonce=\"n\"\r\n"); /* no realm */
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_UNSUPPORTED);
    challenge_from(403, "");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_INVAL);
    register_request(1);
    assert_int_equal(floe_sip_auth_client_authorize(&ac, &req, &ar), FLOE_ERR_NOT_FOUND);
    /* Five realms at once: over FLOE_SIP_AUTH_MAX_CHALLENGES. */
    challenge_from(401, "WWW-Authenticate: Digest realm=\"r1\", nonce=\"n\"\r\n"
                        "WWW-Authenticate: Digest realm=\"r2\", nonce=\"n\"\r\n"
                        "WWW-Authenticate: Digest realm=\"r3\", nonce=\"n\"\r\n"
                        "WWW-Authenticate: Digest realm=\"r4\", nonce=\"n\"\r\n"
                        "WWW-Authenticate: Digest realm=\"r5\", nonce=\"n\"\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_ERR_LIMIT);
    char longpw[FLOE_SIP_AUTH_FIELD_MAX + 1];
    memset(longpw, 'x', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = '\0';
    assert_int_equal(floe_sip_auth_client_init(&ac, "alice", longpw, counter_rand, NULL),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_auth_client_init(&ac, "alice", "pw", NULL, NULL), FLOE_ERR_INVAL);
}

/* ---- server ------------------------------------------------------------------------------ */

static void test_server_challenge_and_verify(void **state) {
    (void)state;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    floe_sip_str v;
    assert_int_equal(floe_sip_auth_challenge_value(FLOE_SIP_ALG_SHA256, "atlanta.com", "abc", "op",
                                                   true, &ar, &v),
                     FLOE_OK);
    char text[512];
    snprintf(text, sizeof text, "%.*s", (int)v.len, v.p);
    assert_string_equal(text, "Digest realm=\"atlanta.com\", nonce=\"abc\", opaque=\"op\", "
                              "algorithm=SHA-256, qop=\"auth\", stale=true");
    /* it parses as a challenge */
    floe_sip_auth a;
    assert_int_equal(floe_sip_auth_parse(v, &a), FLOE_OK);
    assert_true(a.stale && a.qop_auth && a.alg == FLOE_SIP_ALG_SHA256);
    assert_int_equal(
        floe_sip_auth_challenge_value(FLOE_SIP_ALG_OTHER, "r", "n", NULL, false, &ar, &v),
        FLOE_ERR_INVAL);
    assert_int_equal(
        floe_sip_auth_challenge_value(FLOE_SIP_ALG_MD5, "r\r\n", "n", NULL, false, &ar, &v),
        FLOE_ERR_INVAL);

    /* A username with a quote and a backslash, escaped on the wire, verified unescaped. */
    rnd_state = 0;
    floe_sip_auth_client_init(&ac, "al\"i\\ce", "pw", counter_rand, &rnd_state);
    challenge_from(401, "WWW-Authenticate: Digest realm=\"atlanta.com\", nonce=\"n\", "
                        "qop=\"auth\", algorithm=SHA-512-256\r\n");
    assert_int_equal(floe_sip_auth_client_challenge(&ac, &resp), FLOE_OK);
    register_request(2);
    assert_int_equal(floe_sip_auth_client_authorize(&ac, &req, &ar), FLOE_OK);
    assert_non_null(strstr(value_of(&req, "Authorization"), "username=\"al\\\"i\\\\ce\""));
    static char wire[4096];
    size_t n;
    assert_int_equal(floe_sip_msg_print(&req, wire, sizeof wire, &n), FLOE_OK);
    floe_sip_msg got;
    assert_int_equal(floe_sip_parse(wire, n, 0, &got, NULL, NULL), FLOE_OK);
    floe_sip_auth cred;
    assert_int_equal(floe_sip_auth_find(&got, false, "atlanta.com", &cred), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &got, "atlanta.com", "pw"), FLOE_OK);
    /* The same credentials for another Request-URI or method do not pass. */
    got.uri = S("sip:other.com");
    assert_int_equal(floe_sip_auth_verify(&cred, &got, "atlanta.com", "pw"), FLOE_ERR_AUTH);
    got.uri = S("SIP:ATLANTA.COM"); /* an equivalent URI is the same one */
    assert_int_equal(floe_sip_auth_verify(&cred, &got, "atlanta.com", "pw"), FLOE_OK);
    got.method = S("INVITE");
    assert_int_equal(floe_sip_auth_verify(&cred, &got, "atlanta.com", "pw"), FLOE_ERR_AUTH);

    /* Credentials written by hand: upper-case hex passes; missing or odd fields do not. */
#define BASE                                                                                       \
    "REGISTER sip:atlanta.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKq\r\n"                   \
    "To: <sip:a@atlanta.com>\r\nFrom: <sip:a@atlanta.com>;tag=1\r\n"                               \
    "Call-ID: c\r\nCSeq: 1 REGISTER\r\nAuthorization: %s\r\n\r\n"
    struct {
        const char *cred;
        int want;
    } cases[] = {
        {"Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", "
         "uri=\"sip:atlanta.com\", response=\"5A4C3C4F2C3C1B0A8A8E5B7B3C8E0D3B\"",
         FLOE_ERR_AUTH},
        {"Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", uri=\"sip:atlanta.com\"",
         FLOE_ERR_MALFORMED},
        {"Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", uri=\"sip:atlanta.com\", "
         "response=\"x\", userhash=true",
         FLOE_ERR_UNSUPPORTED},
        {"Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", uri=\"sip:atlanta.com\", "
         "response=\"x\", qop=auth-int, nc=00000001, cnonce=\"c\"",
         FLOE_ERR_UNSUPPORTED},
        {"Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", uri=\"sip:atlanta.com\", "
         "response=\"x\", qop=auth",
         FLOE_ERR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(wire, sizeof wire, BASE, cases[i].cred);
        assert_int_equal(floe_sip_parse(wire, strlen(wire), 0, &got, NULL, NULL), FLOE_OK);
        assert_int_equal(floe_sip_auth_find(&got, false, "biloxi.com", &cred), FLOE_OK);
        int rc = floe_sip_auth_verify(&cred, &got, "biloxi.com", "zanzibar");
        if (rc != cases[i].want) fail_msg("case %zu: %d, want %d", i, rc, cases[i].want);
    }
    /* The RFC 2069-form answer computed above (Python), in upper case, passes. */
    snprintf(wire, sizeof wire, BASE,
             "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"n1\", "
             "uri=\"sip:atlanta.com\", response=\"PLACEHOLDER\"");
    floe_sip_digest_params p;
    memset(&p, 0, sizeof p);
    p.alg = FLOE_SIP_ALG_MD5;
    p.username = S("bob");
    p.realm = S("biloxi.com");
    p.password = S("zanzibar");
    p.method = S("REGISTER");
    p.uri = S("sip:atlanta.com");
    p.nonce = S("n1");
    char hex[FLOE_SIP_DIGEST_HEX_MAX];
    assert_int_equal(floe_sip_digest_compute(&p, hex, sizeof hex), FLOE_OK);
    for (char *c = hex; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c = (char)(*c - 32);
    char *ph = strstr(wire, "PLACEHOLDER");
    memmove(ph + strlen(hex), ph + strlen("PLACEHOLDER"), strlen(ph + strlen("PLACEHOLDER")) + 1);
    memcpy(ph, hex, strlen(hex));
    assert_int_equal(floe_sip_parse(wire, strlen(wire), 0, &got, NULL, NULL), FLOE_OK);
    assert_int_equal(floe_sip_auth_find(&got, false, "biloxi.com", &cred), FLOE_OK);
    assert_int_equal(floe_sip_auth_verify(&cred, &got, "biloxi.com", "zanzibar"), FLOE_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_compute_errors),
        cmocka_unit_test(test_client_strongest_and_exact_header),
        cmocka_unit_test(test_client_refusal_and_stale),
        cmocka_unit_test(test_client_proxy_and_two_realms),
        cmocka_unit_test(test_client_unusable),
        cmocka_unit_test(test_server_challenge_and_verify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
