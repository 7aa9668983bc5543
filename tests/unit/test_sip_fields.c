/* Unit tests for the typed header field readers of include/floe/sip.h: Via with rport,
 * addresses (From, To, Contact, Route), CSeq, Max-Forwards, Content-Type, token lists
 * with their cap, RSeq and RAck (RFC 3262), Expires, and Digest challenges and
 * credentials (RFC 3261 §25, RFC 7616, RFC 8760). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"

static floe_sip_msg m;
static char text[16384];

#define assert_str(s, lit)                                                                         \
    do {                                                                                           \
        floe_sip_str s_ = (s);                                                                     \
        if (!floe_sip_str_eq(s_, (lit)))                                                           \
            fail_msg("got \"%.*s\", want \"%s\"", (int)s_.len, s_.p ? s_.p : "(null)", (lit));     \
    } while (0)

#define BASE                                                                                       \
    "INVITE sip:bob@example.com SIP/2.0\r\n"                                                       \
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@example.com>;tag=1\r\n"            \
    "To: <sip:b@example.com>\r\nCall-ID: c\r\nCSeq: 7 INVITE\r\n"

/* Parses BASE plus extra header lines; must succeed. */
static void parse_with(const char *extra) {
    int n = snprintf(text, sizeof text, "%s%s\r\n", BASE, extra);
    floe_sip_error e;
    int rc = floe_sip_parse(text, (size_t)n, 0, &m, &e, NULL);
    if (rc != FLOE_OK) fail_msg("%s (%s) for: %s", floe_sip_reason_name(e.reason), e.detail, extra);
}

static void reject_with(const char *extra, floe_sip_reason want) {
    int n = snprintf(text, sizeof text, "%s%s\r\n", BASE, extra);
    floe_sip_error e;
    int rc = floe_sip_parse(text, (size_t)n, 0, &m, &e, NULL);
    if (rc == FLOE_OK || e.reason != want)
        fail_msg("got %s, want %s for: %s", rc == FLOE_OK ? "ok" : floe_sip_reason_name(e.reason),
                 floe_sip_reason_name(want), extra);
}

static floe_sip_via via(const char *v) {
    floe_sip_via out;
    int rc = floe_sip_via_parse(floe_sip_str_c(v), &out);
    if (rc != FLOE_OK) fail_msg("Via rejected: %s", v);
    return out;
}

static void test_via(void **state) {
    (void)state;
    floe_sip_via v = via("SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKabc;rport");
    assert_str(v.transport, "UDP");
    assert_int_equal(v.addr.family, FLOE_AF_INET4);
    assert_int_equal(v.port, 5062);
    assert_true(v.rport);
    assert_int_equal(v.rport_port, -1);
    assert_null(v.received.p);
    /* RFC 3581 §4: the server's answer fills rport and received */
    v = via("SIP/2.0/UDP 10.0.0.7:5060;rport=61234;received=198.51.100.9;branch=z9hG4bKabc");
    assert_int_equal(v.rport_port, 61234);
    assert_str(v.received, "198.51.100.9");
    v = via("SIP/2.0/TLS [2001:db8::7]:5061;received=2001:db8::99;branch=z9hG4bKx");
    assert_str(v.host, "2001:db8::7");
    assert_int_equal(v.addr.family, FLOE_AF_INET6);
    assert_str(v.received, "2001:db8::99");
    v = via("sip / 2.0 / ws  client.invalid ; maddr=224.2.0.1;ttl=16;BRANCH=z9hG4bKq;x=\"y z\"");
    assert_str(v.protocol, "sip");
    assert_str(v.transport, "ws");
    assert_str(v.host, "client.invalid");
    assert_str(v.maddr, "224.2.0.1");
    assert_str(v.ttl, "16");
    assert_str(v.branch, "z9hG4bKq");
    floe_sip_param p;
    assert_true(floe_sip_params_get(v.params, "x", &p));
    assert_true(p.quoted);
    assert_true(floe_sip_branch_is_rfc3261(v.branch));
    assert_false(floe_sip_branch_is_rfc3261(floe_sip_str_c("z9hG4bK")));
    assert_false(floe_sip_branch_is_rfc3261(floe_sip_str_c("1234567890")));

    static const char *const bad[] = {
        "SIP/2.0 192.0.2.1",    /* no transport */
        "SIP/2.0/UDP",          /* no sent-by */
        "SIP/2.0/UDP192.0.2.1", /* no space */
        "SIP/2.0/UDP 192.0.2.1:70000",
        "SIP/2.0/UDP 192.0.2.1:",
        "SIP/2.0/UDP 192.0.2.1;branch",       /* branch needs a value */
        "SIP/2.0/UDP 192.0.2.1;branch=\"q\"", /* a token, not quoted */
        "SIP/2.0/UDP 192.0.2.1;received=host.example.com",
        "SIP/2.0/UDP 192.0.2.1;rport=x",
        "SIP/2.0/UDP 192.0.2.1;rport=65536",
        "SIP/2.0/UDP 192.0.2.1;ttl=256",
        "SIP/2.0/UDP 192.0.2.1;;",
        "SIP/2.0/UDP 192.0.2.1 extra",
        "SIP/2.0/UDP [2001:db8::1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_sip_via out;
        if (floe_sip_via_parse(floe_sip_str_c(bad[i]), &out) != FLOE_ERR_MALFORMED)
            fail_msg("Via accepted: %s", bad[i]);
    }
    /* in a message: empty list elements are errors */
    reject_with("Via: SIP/2.0/UDP h1, , SIP/2.0/UDP h2\r\n", FLOE_SIP_R_VIA);
    parse_with("Via: SIP/2.0/UDP h1 , SIP/2.0/TCP h2:5070\r\n");
    assert_int_equal(floe_sip_msg_count(&m, FLOE_SIP_H_VIA), 3);
}

static floe_sip_addr addr(const char *v) {
    floe_sip_addr out;
    int rc = floe_sip_addr_parse(floe_sip_str_c(v), &out);
    if (rc != FLOE_OK) fail_msg("address rejected: %s", v);
    return out;
}

static void test_addr(void **state) {
    (void)state;
    floe_sip_addr a =
        addr("\"Alice \\\"A\\\"\" <sips:alice@example.com;transport=tls>;tag=88sja8x");
    assert_true(a.display_quoted && a.bracketed);
    assert_str(a.display, "Alice \\\"A\\\"");
    assert_str(a.uri, "sips:alice@example.com;transport=tls");
    assert_str(a.tag, "88sja8x");
    assert_int_equal(a.expires, -1);
    a = addr("Bob Smith <sip:bob@example.com>");
    assert_false(a.display_quoted);
    assert_str(a.display, "Bob Smith");
    assert_null(a.tag.p);
    a = addr("<sip:c@192.0.2.3:5060>;expires=3600;q=0.7;+sip.instance=\"<urn:uuid:1>\"");
    assert_null(a.display.p);
    assert_int_equal(a.expires, 3600);
    assert_str(a.q, "0.7");
    a = addr("sip:c@example.com;expires=4294967296");
    assert_int_equal(a.expires, -2); /* over 2^32-1: use the default */
    a = addr("sip:c@example.com;expires=soon");
    assert_int_equal(a.expires, -2);
    a = addr("  *  ");
    assert_true(a.star);
    a = addr("tel:+15551234;tag=x");
    assert_str(a.uri, "tel:+15551234");
    assert_str(a.tag, "x");

    static const char *const bad[] = {
        "\"unterminated <sip:a@b>",
        "\"Quoted\" sip:a@b", /* a quoted name needs <> */
        "< sip:a@b>",
        "<sip:a@b >",
        "<sip:a@b",
        "<>",
        "Bell, Alexander <sip:a@b>",
        "sip:a@b?subject=x", /* '?' needs <> */
        "sip:a@b;tag",       /* tag without value */
        "sip:a@b;tag=\"q\"",
        "<sip:a@b>;;x",
        "<sip:a@b> junk",
        "* <sip:a@b>",
        "notauri",
        "<sip:a@b>;p=\"unterminated",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_sip_addr out;
        if (floe_sip_addr_parse(floe_sip_str_c(bad[i]), &out) != FLOE_ERR_MALFORMED)
            fail_msg("address accepted: %s", bad[i]);
    }

    /* Contact, Route and Record-Route lists in a message */
    parse_with("Contact: \"A, B\" <sip:a@h1;lr>, <sip:b@h2>;expires=60\r\n"
               "Record-Route: <sip:p1;lr>,<sip:p2;lr>\r\nRecord-Route: <sip:p3;lr>\r\n"
               "Route: <sip:p3;lr>\r\nReply-To: Bob <sip:bob@example.com>\r\n");
    assert_int_equal(floe_sip_msg_count(&m, FLOE_SIP_H_CONTACT), 2);
    floe_sip_iter it = {0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_str(a.display, "A, B");
    assert_int_equal(floe_sip_msg_next_addr(&m, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_int_equal(a.expires, 60);
    assert_int_equal(floe_sip_msg_next_addr(&m, FLOE_SIP_H_CONTACT, &it, &a), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sip_msg_count(&m, FLOE_SIP_H_RECORD_ROUTE), 3);
    it = (floe_sip_iter){0, 0};
    const char *rr[] = {"sip:p1;lr", "sip:p2;lr", "sip:p3;lr"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(floe_sip_msg_next_addr(&m, FLOE_SIP_H_RECORD_ROUTE, &it, &a), FLOE_OK);
        assert_str(a.uri, rr[i]);
    }
    parse_with("Contact: *\r\nExpires: 0\r\n");
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_true(a.star);
    reject_with("Contact: *, <sip:a@b>\r\n", FLOE_SIP_R_ADDRESS);
    reject_with("Route: <sip:a@b>, sip:c@d\r\n", FLOE_SIP_R_ADDRESS);
    reject_with("Route: *\r\n", FLOE_SIP_R_ADDRESS);
    reject_with("Contact: <sip:a@b>,,<sip:c@d>\r\n", FLOE_SIP_R_ADDRESS);
    reject_with("Contact:\r\n", FLOE_SIP_R_ADDRESS);
    reject_with("Reply-To: *\r\n", FLOE_SIP_R_ADDRESS);
    /* the From of a message is one address: a comma is no list separator there */
    int n =
        snprintf(text, sizeof text,
                 "OPTIONS sip:b@c SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>, <sip:c@d>\r\n"
                 "To: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
    floe_sip_error e;
    assert_int_equal(floe_sip_parse(text, (size_t)n, 0, &m, &e, NULL), FLOE_ERR_MALFORMED);
    assert_int_equal(e.reason, FLOE_SIP_R_ADDRESS);
}

static void test_scalars(void **state) {
    (void)state;
    floe_sip_cseq c;
    assert_int_equal(floe_sip_cseq_parse(floe_sip_str_c("4294967295 BYE"), &c), FLOE_OK);
    assert_int_equal(c.seq, 4294967295u);
    assert_int_equal(c.method_id, FLOE_SIP_BYE);
    assert_int_equal(floe_sip_cseq_parse(floe_sip_str_c("4294967296 BYE"), &c), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_cseq_parse(floe_sip_str_c("1BYE"), &c), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_cseq_parse(floe_sip_str_c("1 BYE x"), &c), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_cseq_parse(floe_sip_str_c("-1 BYE"), &c), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_cseq_parse(floe_sip_str_c(" 00001\r\n\tinvite "), &c), FLOE_OK);
    assert_int_equal(c.method_id, FLOE_SIP_OTHER_METHOD); /* methods are case-sensitive */

    parse_with("Max-Forwards: 070\r\nContent-Type: Application/SDP ; charset=utf-8\r\n"
               "Min-Expires: 1800\r\nExpires: 99999999999\r\n");
    assert_int_equal(floe_sip_msg_max_forwards(&m), 70);
    floe_sip_media_type t;
    assert_int_equal(floe_sip_msg_content_type(&m, &t), FLOE_OK);
    assert_str(t.type, "Application");
    assert_true(floe_sip_msg_is_sdp(&m));
    floe_sip_param p;
    assert_true(floe_sip_params_get(t.params, "charset", &p));
    assert_str(p.value, "utf-8");
    uint32_t v;
    assert_int_equal(floe_sip_msg_expires(&m, FLOE_SIP_H_MIN_EXPIRES, &v), FLOE_OK);
    assert_int_equal(v, 1800);
    /* parsed, but over 2^32-1: the caller uses its default (RFC 4475 §3.1.2.4) */
    assert_int_equal(floe_sip_msg_expires(&m, FLOE_SIP_H_EXPIRES, &v), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_msg_expires(&m, FLOE_SIP_H_CSEQ, &v), FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_msg_content_length(&m), -1);
    floe_sip_str cid;
    assert_int_equal(floe_sip_msg_call_id(&m, &cid), FLOE_OK);
    assert_str(cid, "c");

    parse_with("");
    assert_int_equal(floe_sip_msg_max_forwards(&m), -1);
    assert_int_equal(floe_sip_msg_expires(&m, FLOE_SIP_H_EXPIRES, &v), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sip_msg_content_type(&m, &t), FLOE_ERR_NOT_FOUND);
    assert_false(floe_sip_msg_is_sdp(&m));
    uint32_t r;
    assert_int_equal(floe_sip_msg_rseq(&m, &r), FLOE_ERR_NOT_FOUND);
}

static void test_prack_fields(void **state) {
    (void)state;
    /* RFC 3262: a reliable 183 carries Require: 100rel and RSeq; PRACK carries RAck */
    parse_with("Require: 100rel\r\nRSeq: 988789\r\nRAck: 776656 7 INVITE\r\n");
    uint32_t r;
    assert_int_equal(floe_sip_msg_rseq(&m, &r), FLOE_OK);
    assert_int_equal(r, 988789);
    floe_sip_rack ra;
    assert_int_equal(floe_sip_msg_rack(&m, &ra), FLOE_OK);
    assert_int_equal(ra.rseq, 776656);
    assert_int_equal(ra.cseq, 7);
    assert_int_equal(ra.method_id, FLOE_SIP_INVITE);
    assert_true(floe_sip_msg_has_token(&m, FLOE_SIP_H_REQUIRE, "100rel"));
    assert_int_equal(floe_sip_rack_parse(floe_sip_str_c("0 1 INVITE"), &ra), FLOE_ERR_MALFORMED);
    assert_int_equal(floe_sip_rack_parse(floe_sip_str_c("1 1"), &ra), FLOE_ERR_MALFORMED);
    reject_with("RSeq: 4294967296\r\n", FLOE_SIP_R_RSEQ);
    reject_with("RSeq: 1\r\nRSeq: 2\r\n", FLOE_SIP_R_DUPLICATE_HEADER);
    reject_with("RAck: 1 x INVITE\r\n", FLOE_SIP_R_RACK);
}

static void test_tokens(void **state) {
    (void)state;
    parse_with("Supported: 100rel, Timer\r\nk: path\r\nSupported:\r\n"
               "Allow: INVITE, ACK,\r\n PRACK,UPDATE\r\nUnsupported: foo\r\n");
    floe_sip_tokens t;
    assert_int_equal(floe_sip_msg_tokens(&m, FLOE_SIP_H_SUPPORTED, &t), FLOE_OK);
    assert_int_equal(t.n, 3);
    assert_str(t.tok[1], "Timer");
    assert_str(t.tok[2], "path");
    assert_true(floe_sip_msg_has_token(&m, FLOE_SIP_H_SUPPORTED, "timer")); /* option tags */
    assert_true(floe_sip_msg_has_token(&m, FLOE_SIP_H_ALLOW, "PRACK"));
    assert_false(floe_sip_msg_has_token(&m, FLOE_SIP_H_ALLOW, "prack")); /* methods */
    assert_int_equal(floe_sip_msg_tokens(&m, FLOE_SIP_H_REQUIRE, &t), FLOE_ERR_NOT_FOUND);
    assert_int_equal(t.n, 0);
    /* "Supported:" alone is present with nothing in it */
    parse_with("Supported:\r\n");
    assert_int_equal(floe_sip_msg_tokens(&m, FLOE_SIP_H_SUPPORTED, &t), FLOE_OK);
    assert_int_equal(t.n, 0);
    /* more than FLOE_SIP_MAX_TOKENS: the rest is cut and counted */
    char list[1024];
    size_t n = 0;
    n += (size_t)sprintf(list + n, "Supported: t0");
    for (int i = 1; i < FLOE_SIP_MAX_TOKENS + 5; i++)
        n += (size_t)sprintf(list + n, ", t%d", i);
    sprintf(list + n, "\r\n");
    parse_with(list);
    assert_int_equal(floe_sip_msg_tokens(&m, FLOE_SIP_H_SUPPORTED, &t), FLOE_OK);
    assert_int_equal(t.n, FLOE_SIP_MAX_TOKENS);
    assert_int_equal(t.n_cut, 5);
    assert_true(floe_sip_msg_has_token(&m, FLOE_SIP_H_SUPPORTED, "t36"));
    reject_with("Require: 100rel timer\r\n", FLOE_SIP_R_TOKEN_LIST);
    reject_with("Allow: INVITE,\r\n", FLOE_SIP_R_TOKEN_LIST);
}

static void test_digest(void **state) {
    (void)state;
    /* RFC 8760: a server offers SHA-256 first, then MD5 */
    int n = snprintf(
        text, sizeof text,
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>;tag=2\r\nCall-ID: r\r\n"
        "CSeq: 1 REGISTER\r\n"
        "WWW-Authenticate: Digest realm=\"atlanta.example.com\", qop=\"auth, auth-int\",\r\n"
        "  algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n"
        "  opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\", stale=TRUE\r\n"
        "WWW-Authenticate: Digest realm=\"atlanta.example.com\", qop=\"auth\", algorithm=MD5,\r\n"
        "  nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\"\r\n"
        "Content-Length: 0\r\n\r\n");
    assert_int_equal(floe_sip_parse(text, (size_t)n, 0, &m, NULL, NULL), FLOE_OK);
    floe_sip_iter it = {0, 0};
    floe_sip_auth a;
    assert_int_equal(floe_sip_msg_next_auth(&m, FLOE_SIP_H_WWW_AUTHENTICATE, &it, &a), FLOE_OK);
    assert_true(a.digest);
    assert_str(a.realm, "atlanta.example.com");
    assert_int_equal(a.alg, FLOE_SIP_ALG_SHA256);
    assert_string_equal(floe_sip_digest_alg_name(a.alg), "SHA-256");
    assert_true(a.qop_auth && a.qop_auth_int);
    assert_true(a.stale);
    assert_str(a.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
    assert_int_equal(floe_sip_msg_next_auth(&m, FLOE_SIP_H_WWW_AUTHENTICATE, &it, &a), FLOE_OK);
    assert_int_equal(a.alg, FLOE_SIP_ALG_MD5);
    assert_true(a.qop_auth && !a.qop_auth_int);
    assert_false(a.stale);
    assert_null(a.opaque.p);
    assert_int_equal(floe_sip_msg_next_auth(&m, FLOE_SIP_H_WWW_AUTHENTICATE, &it, &a),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sip_msg_next_auth(&m, FLOE_SIP_H_VIA, &it, &a), FLOE_ERR_INVAL);

    /* credentials */
    floe_sip_str cred =
        floe_sip_str_c("Digest username=\"bob\", realm=\"biloxi.com\", "
                       "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                       "uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
                       "response=\"6629fae49393a05397450978507c4ef1\", "
                       "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", "
                       "algorithm=MD5-sess, userhash=false");
    assert_int_equal(floe_sip_auth_parse(cred, &a), FLOE_OK);
    assert_str(a.username, "bob");
    assert_str(a.uri, "sip:bob@biloxi.com");
    assert_str(a.nc, "00000001");
    assert_str(a.cnonce, "0a4f113b");
    assert_str(a.response, "6629fae49393a05397450978507c4ef1");
    assert_str(a.qop, "auth");
    assert_true(a.qop_auth);
    assert_int_equal(a.alg, FLOE_SIP_ALG_MD5_SESS);
    assert_false(a.userhash);
    /* no algorithm: MD5 (RFC 3261 §25) */
    assert_int_equal(floe_sip_auth_parse(floe_sip_str_c("digest realm=\"r\",nonce=\"n\""), &a),
                     FLOE_OK);
    assert_true(a.digest);
    assert_null(a.algorithm.p);
    assert_int_equal(a.alg, FLOE_SIP_ALG_MD5);
    assert_int_equal(floe_sip_auth_parse(floe_sip_str_c("Digest algorithm=SHA-512-256-sess"), &a),
                     FLOE_OK);
    assert_int_equal(a.alg, FLOE_SIP_ALG_SHA512_256_SESS);
    assert_int_equal(floe_sip_auth_parse(floe_sip_str_c("Digest algorithm=AKAv1-MD5"), &a),
                     FLOE_OK);
    assert_int_equal(a.alg, FLOE_SIP_ALG_OTHER);
    /* other schemes are kept whole */
    assert_int_equal(floe_sip_auth_parse(floe_sip_str_c("Bearer mF_9.B5f-4.1JqM"), &a), FLOE_OK);
    assert_false(a.digest);
    assert_str(a.params, "mF_9.B5f-4.1JqM");

    static const char *const bad[] = {
        "Digest",
        "Digest realm",
        "Digest realm=",
        "Digest realm=\"a\" nonce=\"b\"",  /* no comma */
        "Digest realm=\"a\", realm=\"b\"", /* twice */
        "Digest realm=\"a\",, nonce=\"b\"",
        "Digest stale=maybe",
        "Digest nc=1",
        "Digest nc=0000000g",
        "Digest qop=\"\"",
        "Digest realm=\"unterminated",
        "Digest, realm=\"a\"",
        "Digest realm=\"a\",",
        "\"Digest\" realm=\"a\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (floe_sip_auth_parse(floe_sip_str_c(bad[i]), &a) != FLOE_ERR_MALFORMED)
            fail_msg("accepted: %s", bad[i]);
    reject_with("Proxy-Authorization: Digest nc=1\r\n", FLOE_SIP_R_AUTH);
}

static void test_header_names(void **state) {
    (void)state;
    static const struct {
        const char *name;
        floe_sip_hdr_id id;
    } names[] = {
        {"v", FLOE_SIP_H_VIA},
        {"F", FLOE_SIP_H_FROM},
        {"t", FLOE_SIP_H_TO},
        {"I", FLOE_SIP_H_CALL_ID},
        {"m", FLOE_SIP_H_CONTACT},
        {"l", FLOE_SIP_H_CONTENT_LENGTH},
        {"c", FLOE_SIP_H_CONTENT_TYPE},
        {"k", FLOE_SIP_H_SUPPORTED},
        {"s", FLOE_SIP_H_SUBJECT},
        {"e", FLOE_SIP_H_CONTENT_ENCODING},
        {"o", FLOE_SIP_H_EVENT},
        {"u", FLOE_SIP_H_ALLOW_EVENTS},
        {"r", FLOE_SIP_H_REFER_TO},
        {"x", FLOE_SIP_H_SESSION_EXPIRES},
        {"b", FLOE_SIP_H_REFERRED_BY},
        {"a", FLOE_SIP_H_ACCEPT_CONTACT},
        {"j", FLOE_SIP_H_REJECT_CONTACT},
        {"d", FLOE_SIP_H_REQUEST_DISPOSITION},
        {"y", FLOE_SIP_H_IDENTITY},
        {"n", FLOE_SIP_H_IDENTITY_INFO},
        {"cSeQ", FLOE_SIP_H_CSEQ},
        {"www-authenticate", FLOE_SIP_H_WWW_AUTHENTICATE},
        {"RSEQ", FLOE_SIP_H_RSEQ},
        {"rack", FLOE_SIP_H_RACK},
        {"q", FLOE_SIP_H_OTHER},
        {"C%6Fntact", FLOE_SIP_H_OTHER},
        {"Vias", FLOE_SIP_H_OTHER},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_int_equal(floe_sip_hdr_lookup(floe_sip_str_c(names[i].name)), names[i].id);
    for (int id = 1; id < FLOE_SIP_H_COUNT; id++) {
        const char *name = floe_sip_hdr_name((floe_sip_hdr_id)id);
        assert_non_null(name);
        assert_int_equal(floe_sip_hdr_lookup(floe_sip_str_c(name)), id);
    }
    assert_null(floe_sip_hdr_name(FLOE_SIP_H_OTHER));
    assert_true(floe_sip_hdr_is_list(FLOE_SIP_H_VIA));
    assert_false(floe_sip_hdr_is_list(FLOE_SIP_H_WWW_AUTHENTICATE));
    assert_int_equal(floe_sip_method_id(floe_sip_str_c("PRACK")), FLOE_SIP_PRACK);
    assert_int_equal(floe_sip_method_id(floe_sip_str_c("prack")), FLOE_SIP_OTHER_METHOD);
    assert_string_equal(floe_sip_method_name(FLOE_SIP_UPDATE), "UPDATE");
    assert_null(floe_sip_method_name(FLOE_SIP_OTHER_METHOD));
    /* compact and long forms are the same field for finding and for duplicates */
    parse_with("k: 100rel\r\nX-Mine: 1\r\nx-mine: 2\r\n");
    assert_non_null(floe_sip_msg_find_name(&m, "Supported", NULL));
    const floe_sip_hdr *h = floe_sip_msg_find_name(&m, "X-MINE", NULL);
    assert_non_null(h);
    assert_str(h->value, "1");
    h = floe_sip_msg_find_name(&m, "X-MINE", h);
    assert_non_null(h);
    assert_str(h->value, "2");
    assert_null(floe_sip_msg_find_name(&m, "X-MINE", h));
    reject_with("l: 0\r\nContent-Length: 0\r\n", FLOE_SIP_R_DUPLICATE_HEADER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_via),          cmocka_unit_test(test_addr),
        cmocka_unit_test(test_scalars),      cmocka_unit_test(test_prack_fields),
        cmocka_unit_test(test_tokens),       cmocka_unit_test(test_digest),
        cmocka_unit_test(test_header_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
