/* Unit tests for the SIP message parser and printer (include/floe/sip.h): every RFC 4475
 * torture message from tests/vectors/sip/ (valid ones parse with the fields the RFC
 * describes and print back to an equal message; invalid ones are rejected with the
 * reason expected, and counted), the caps, line handling, stream framing, and building
 * requests and responses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"

#ifndef FLOE_VECTORS_DIR
#error "FLOE_VECTORS_DIR must point at tests/vectors"
#endif

static floe_sip_msg m1, m2;
static char vec[70000];
static size_t vec_len;
static char out[140000];
static floe_sip_stats stats;

static void load(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/sip/%s.sip", FLOE_VECTORS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    vec_len = fread(vec, 1, sizeof vec, f);
    fclose(f);
    assert_true(vec_len > 0 && vec_len < sizeof vec);
}

static bool is(floe_sip_str s, const char *lit) {
    return floe_sip_str_eq(s, lit);
}
#define assert_str(s, lit)                                                                         \
    do {                                                                                           \
        floe_sip_str s_ = (s);                                                                     \
        if (!is(s_, (lit)))                                                                        \
            fail_msg("got \"%.*s\", want \"%s\"", (int)s_.len, s_.p ? s_.p : "(null)", (lit));     \
    } while (0)

/* Prints m, parses the print, checks equality and that printing again gives the same
 * bytes. */
static void round_trip(const floe_sip_msg *m) {
    size_t n1 = 0, n2 = 0;
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out / 2, &n1), FLOE_OK);
    floe_sip_error e;
    int rc = floe_sip_parse(out, n1, FLOE_SIP_PARSE_STREAM, &m2, &e, NULL);
    if (rc != FLOE_OK)
        fail_msg("re-parse: %s (%s) line %d", floe_sip_reason_name(e.reason), e.detail, e.line);
    assert_true(floe_sip_msg_equal(m, &m2));
    assert_true(floe_sip_msg_equal(&m2, m));
    char *second = out + sizeof out / 2;
    assert_int_equal(floe_sip_msg_print(&m2, second, sizeof out / 2, &n2), FLOE_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(out, second, n1);
}

/* Parses vector name as a datagram; it must succeed. */
static void parse_ok(const char *name) {
    load(name);
    floe_sip_error e;
    int rc = floe_sip_parse(vec, vec_len, 0, &m1, &e, &stats);
    if (rc != FLOE_OK)
        fail_msg("%s: %s: %s (%s) at line %d, header %.*s", name, floe_strerror(rc),
                 floe_sip_reason_name(e.reason), e.detail, e.line, (int)e.header.len,
                 e.header.p ? e.header.p : "");
    round_trip(&m1);
}

static void parse_bad(const char *name, int want_rc, floe_sip_reason want, const char *header) {
    load(name);
    floe_sip_error e;
    uint64_t before = stats.rejected[want];
    int rc = floe_sip_parse(vec, vec_len, 0, &m1, &e, &stats);
    if (rc != want_rc || e.reason != want)
        fail_msg("%s: got %s/%s (%s), want %s/%s", name, floe_strerror(rc),
                 floe_sip_reason_name(e.reason), e.detail ? e.detail : "", floe_strerror(want_rc),
                 floe_sip_reason_name(want));
    assert_non_null(e.detail);
    assert_int_equal(stats.rejected[want], before + 1);
    if (header && !floe_sip_str_ieq(e.header, header))
        fail_msg("%s: header %.*s, want %s", name, (int)e.header.len, e.header.p ? e.header.p : "",
                 header);
}

static floe_sip_uri uri_of(floe_sip_str s) {
    floe_sip_uri u;
    assert_int_equal(floe_sip_uri_parse(s.p, s.len, &u), FLOE_OK);
    return u;
}

static void unescaped_is(floe_sip_str s, const char *want, size_t want_len) {
    char buf[256];
    size_t n;
    assert_int_equal(floe_sip_unescape(s, buf, sizeof buf, &n), FLOE_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, n);
}

static void unquoted_is(floe_sip_str s, const char *want, size_t want_len) {
    char buf[256];
    size_t n;
    assert_int_equal(floe_sip_unquote(s, buf, sizeof buf, &n), FLOE_OK);
    assert_int_equal(n, want_len);
    assert_memory_equal(buf, want, n);
}

/* ---- RFC 4475 §3.1.1: valid messages ------------------------------------------------- */

static void test_wsinv(void **state) {
    (void)state;
    parse_ok("wsinv");
    const floe_sip_msg *m = &m1;
    assert_true(m->request);
    assert_int_equal(m->method_id, FLOE_SIP_INVITE);
    floe_sip_uri u = uri_of(m->uri);
    assert_int_equal(u.scheme, FLOE_SIP_SCHEME_SIP);
    assert_str(u.user, "vivekg");
    assert_str(u.host, "chair-dnrc.example.com");
    assert_str(u.params, ";unknownparam");
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(m, &a), FLOE_OK);
    assert_null(a.display.p);
    assert_str(a.uri, "sip:vivekg@chair-dnrc.example.com");
    assert_str(a.tag, "1918181833n");
    assert_int_equal(floe_sip_msg_from(m, &a), FLOE_OK);
    assert_true(a.display_quoted);
    unquoted_is(a.display, "J Rosenberg \\\"", 14);
    assert_str(a.uri, "sip:jdrosen@example.com");
    assert_str(a.tag, "98asjd8");
    assert_int_equal(floe_sip_msg_max_forwards(m), 68);
    floe_sip_str cid;
    assert_int_equal(floe_sip_msg_call_id(m, &cid), FLOE_OK);
    assert_str(cid, "wsinv.ndaksdj@192.0.2.1");
    assert_int_equal(floe_sip_msg_content_length(m), 150);
    assert_int_equal(m->body.len, 150);
    floe_sip_cseq c;
    assert_int_equal(floe_sip_msg_cseq(m, &c), FLOE_OK);
    assert_int_equal(c.seq, 9);
    assert_int_equal(c.method_id, FLOE_SIP_INVITE);
    /* three Vias over two fields, folded all over */
    assert_int_equal(floe_sip_msg_count(m, FLOE_SIP_H_VIA), 3);
    floe_sip_iter it = {0, 0};
    floe_sip_via v;
    const char *hosts[] = {"192.0.2.2", "spindle.example.com", "192.168.255.111"};
    const char *tr[] = {"UDP", "TCP", "UDP"};
    const char *br[] = {"390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(floe_sip_msg_next_via(m, &it, &v), FLOE_OK);
        assert_str(v.protocol, "SIP");
        assert_str(v.version, "2.0");
        assert_str(v.transport, tr[i]);
        assert_str(v.host, hosts[i]);
        assert_false(v.has_port);
        assert_str(v.branch, br[i]);
        assert_int_equal(floe_sip_branch_is_rfc3261(v.branch), i > 0);
    }
    assert_int_equal(floe_sip_msg_next_via(m, &it, &v), FLOE_ERR_NOT_FOUND);
    /* "s :" is an empty Subject */
    const floe_sip_hdr *h = floe_sip_msg_find(m, FLOE_SIP_H_SUBJECT, NULL);
    assert_non_null(h);
    assert_str(h->name, "s");
    assert_int_equal(h->value.len, 0);
    h = floe_sip_msg_find_name(m, "newfangledheader", NULL);
    assert_non_null(h);
    assert_str(h->value, "newfangled value\r\n continued newfangled value");
    h = floe_sip_msg_find_name(m, "UnknownHeaderWithUnusualValue", NULL);
    assert_non_null(h);
    assert_str(h->value, ";;,,;;,;");
    assert_true(floe_sip_msg_is_sdp(m));
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_addr(m, FLOE_SIP_H_ROUTE, &it, &a), FLOE_OK);
    u = uri_of(a.uri);
    assert_true(u.lr);
    assert_str(u.host, "services.example.com");
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_addr(m, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    unquoted_is(a.display, "Quoted string \"\"", 16);
    assert_str(a.q, "0.33");
    floe_sip_param p;
    assert_true(floe_sip_params_get(a.params, "newparam", &p));
    assert_str(p.value, "newvalue");
    assert_true(floe_sip_params_get(a.params, "secondparam", &p));
    assert_null(p.value.p);
    assert_int_equal(floe_sip_msg_next_addr(m, FLOE_SIP_H_CONTACT, &it, &a), FLOE_ERR_NOT_FOUND);
}

static void test_intmeth(void **state) {
    (void)state;
    parse_ok("intmeth");
    const floe_sip_msg *m = &m1;
    assert_int_equal(m->method_id, FLOE_SIP_OTHER_METHOD);
    assert_str(m->method, "!interesting-Method0123456789_*+`.%indeed'~");
    floe_sip_uri u = uri_of(m->uri);
    assert_str(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert_str(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert_str(u.host, "example.com");
    assert_null(u.params.p);
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(m, &a), FLOE_OK);
    unquoted_is(a.display, "BEL:\x07 NUL:\0 DEL:\x7f", 17);
    u = uri_of(a.uri);
    assert_str(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert_int_equal(floe_sip_msg_from(m, &a), FLOE_OK);
    assert_false(a.display_quoted);
    assert_str(a.display, "token1~` token2'+_ token3*%!.-");
    assert_str(a.tag, "_token~1'+`*%!-.");
    floe_sip_param p;
    assert_true(floe_sip_params_get(a.params, "fromParam''~+*_!.-%", &p));
    assert_true(p.quoted);
    assert_int_equal(p.value.len, 20); /* ten Cyrillic letters in UTF-8 */
    floe_sip_str cid;
    assert_int_equal(floe_sip_msg_call_id(m, &cid), FLOE_OK);
    assert_str(cid, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    floe_sip_cseq c;
    assert_int_equal(floe_sip_msg_cseq(m, &c), FLOE_OK);
    assert_int_equal(c.seq, 139122385);
    assert_int_equal(floe_sip_msg_max_forwards(m), 255);
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(m, &v), FLOE_OK);
    assert_str(v.branch, "z9hG4bK-.!%66*_+`'~");
    const floe_sip_hdr *h = floe_sip_msg_find_name(m, "extensionHeader-!.%*+_`'~", NULL);
    assert_non_null(h);
    assert_int_equal(h->id, FLOE_SIP_H_OTHER);
    assert_str(h->value, "\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb");
}

static void test_esc01(void **state) {
    (void)state;
    parse_ok("esc01");
    floe_sip_uri u = uri_of(m1.uri);
    assert_str(u.user, "sips%3Auser%40example.com");
    unescaped_is(u.user, "sips:user@example.com", 21);
    assert_str(u.host, "example.net");
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    u = uri_of(a.uri);
    unescaped_is(u.user, "user", 4);
    /* %75se%72 is "user": the URIs are the same (RFC 3261 §19.1.4) */
    floe_sip_uri plain;
    assert_int_equal(floe_sip_uri_parse("sip:user@example.com", 20, &plain), FLOE_OK);
    assert_true(floe_sip_uri_equal(&u, &plain));
    assert_int_equal(floe_sip_msg_from(&m1, &a), FLOE_OK);
    u = uri_of(a.uri);
    unescaped_is(u.user, "I have spaces", 13);
    floe_sip_str cid;
    assert_int_equal(floe_sip_msg_call_id(&m1, &cid), FLOE_OK);
    assert_str(cid, "esc01.239409asdfakjkn23onasd0-3234");
    assert_true(floe_sip_msg_is_sdp(&m1)); /* "C:" */
    floe_sip_iter it = {0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    u = uri_of(a.uri);
    unescaped_is(u.user, "caller", 6);
    assert_true(u.lr); /* ";%6C%72" is ";lr" escaped */
    floe_sip_param p;
    assert_true(floe_sip_params_get(u.params, "name", &p));
    assert_str(p.value, "v%61lue%25%34%31");
    unescaped_is(p.value, "value%41", 8); /* not "valueA": no second round */
}

static void test_escnull(void **state) {
    (void)state;
    parse_ok("escnull");
    assert_int_equal(m1.method_id, FLOE_SIP_REGISTER);
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    floe_sip_uri u = uri_of(a.uri);
    unescaped_is(u.user, "null-\0-null", 11);
    assert_int_equal(floe_sip_msg_count(&m1, FLOE_SIP_H_CONTACT), 2);
    floe_sip_iter it = {0, 0};
    floe_sip_uri c[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
        c[i] = uri_of(a.uri);
    }
    unescaped_is(c[0].user, "\0", 1);
    unescaped_is(c[1].user, "\0\0", 2);
    assert_false(floe_sip_uri_equal(&c[0], &c[1])); /* two distinct contacts */
    assert_int_equal(floe_sip_msg_content_length(&m1), 0);
}

static void test_esc02(void **state) {
    (void)state;
    parse_ok("esc02");
    assert_int_equal(m1.method_id, FLOE_SIP_OTHER_METHOD); /* not REGISTER */
    assert_str(m1.method, "RE%47IST%45R");
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    assert_str(a.display, "%Z%45");
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(&m1, &v), FLOE_OK);
    assert_str(v.branch, "z9hG4bK209%fzsnel234");
    /* two Contact values, not three: C%6Fntact is another header field */
    assert_int_equal(floe_sip_msg_count(&m1, FLOE_SIP_H_CONTACT), 2);
    const floe_sip_hdr *h = floe_sip_msg_find_name(&m1, "C%6Fntact", NULL);
    assert_non_null(h);
    assert_int_equal(h->id, FLOE_SIP_H_OTHER);
    assert_str(h->value, "<sip:alias2@host2.example.com>");
}

static void test_lwsdisp(void **state) {
    (void)state;
    parse_ok("lwsdisp");
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_from(&m1, &a), FLOE_OK);
    assert_false(a.display_quoted);
    assert_str(a.display, "caller");
    assert_str(a.uri, "sip:caller@example.com");
    assert_str(a.tag, "323");
}

static void test_longreq(void **state) {
    (void)state;
    parse_ok("longreq");
    assert_int_equal(floe_sip_msg_count(&m1, FLOE_SIP_H_VIA), 34);
    floe_sip_iter it = {0, 0};
    floe_sip_via v;
    for (int i = 33; i >= 1; i--) {
        char host[32];
        snprintf(host, sizeof host, "sip%d.example.com", i);
        assert_int_equal(floe_sip_msg_next_via(&m1, &it, &v), FLOE_OK);
        assert_str(v.host, host);
        assert_null(v.branch.p);
    }
    assert_int_equal(floe_sip_msg_next_via(&m1, &it, &v), FLOE_OK);
    assert_str(v.received, "192.0.2.5");
    assert_int_equal(v.branch.len, strlen("very") + 50 * 4 + strlen("branchvalue"));
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    assert_int_equal(a.display.len, strlen("I have a user name of ") + 70 + strlen(" proportion"));
    floe_sip_uri u = uri_of(a.uri);
    assert_true(u.has_port);
    assert_int_equal(u.port, 6000);
    assert_int_equal(floe_sip_msg_from(&m1, &a), FLOE_OK);
    assert_int_equal(a.tag.len, 2 + 150 + 3);
    floe_sip_str cid;
    assert_int_equal(floe_sip_msg_call_id(&m1, &cid), FLOE_OK);
    assert_int_equal(cid.len, strlen("longreq.one") + 120 + strlen("longcallid"));
    assert_int_equal(floe_sip_msg_count(&m1, FLOE_SIP_H_CONTACT), 1);
    assert_int_equal(m1.body.len, 150);
}

static void test_dblreq(void **state) {
    (void)state;
    floe_sip_stats before = stats;
    parse_ok("dblreq");
    /* RFC 3261 §18.3: the INVITE after the REGISTER's empty body is noise, cut and counted */
    assert_int_equal(m1.method_id, FLOE_SIP_REGISTER);
    assert_int_equal(m1.body.len, 0);
    assert_int_equal(stats.trailing_msgs, before.trailing_msgs + 1);
    const char *invite = strstr(vec, "INVITE sip:joe");
    assert_non_null(invite);
    assert_int_equal(stats.trailing_bytes - before.trailing_bytes,
                     vec_len - (size_t)(invite - vec));
    floe_sip_addr a;
    floe_sip_iter it = {0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_false(a.bracketed);
    assert_str(a.uri, "sip:j.user@host.example.com");
}

static void test_semiuri(void **state) {
    (void)state;
    parse_ok("semiuri");
    floe_sip_uri u = uri_of(m1.uri);
    assert_str(u.user, "user;par=u%40example.net");
    unescaped_is(u.user, "user;par=u@example.net", 22);
    assert_str(u.host, "example.com");
    assert_null(u.params.p);
    assert_int_equal(floe_sip_msg_count(&m1, FLOE_SIP_H_ACCEPT), 6);
}

static void test_transports(void **state) {
    (void)state;
    parse_ok("transports");
    const char *tr[] = {"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"};
    floe_sip_iter it = {0, 0};
    floe_sip_via v;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(floe_sip_msg_next_via(&m1, &it, &v), FLOE_OK);
        assert_str(v.transport, tr[i]);
    }
    floe_sip_str cid;
    assert_int_equal(floe_sip_msg_call_id(&m1, &cid), FLOE_OK);
    assert_str(cid, "transports.kijh4akdnaqjkwendsasfdj");
}

static void test_mpart01(void **state) {
    (void)state;
    parse_ok("mpart01");
    assert_int_equal(m1.method_id, FLOE_SIP_MESSAGE);
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(&m1, &v), FLOE_OK);
    assert_str(v.host, "127.0.0.1");
    assert_int_equal(v.addr.family, FLOE_AF_INET4);
    assert_true(v.has_port);
    assert_int_equal(v.port, 5070);
    assert_true(v.rport);
    assert_int_equal(v.rport_port, -1);
    assert_int_equal(m1.body.len, 553);
    assert_non_null(memchr(m1.body.p, '\0', m1.body.len));
    floe_sip_media_type t;
    assert_int_equal(floe_sip_msg_content_type(&m1, &t), FLOE_OK);
    assert_str(t.type, "multipart");
    assert_str(t.subtype, "mixed");
    floe_sip_param p;
    assert_true(floe_sip_params_get(t.params, "boundary", &p));
    assert_str(p.value, "7a9cbec02ceef655");
    floe_sip_addr a;
    floe_sip_iter it = {0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_ROUTE, &it, &a), FLOE_OK);
    floe_sip_uri u = uri_of(a.uri);
    assert_null(u.user.p);
    assert_int_equal(u.port, 5080);
    assert_non_null(floe_sip_msg_find(&m1, FLOE_SIP_H_IDENTITY, NULL));
}

static void test_unreason(void **state) {
    (void)state;
    parse_ok("unreason");
    assert_false(m1.request);
    assert_int_equal(m1.status, 200);
    assert_int_equal(m1.reason.len, 74); /* 14 ASCII bytes, then 60 of UTF-8 and spaces */
    assert_memory_equal(m1.reason.p, "= 2**3 * 5**2 \xd0\xbd\xd0\xbe ", 19);
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    assert_str(a.tag, "2229");
    assert_int_equal(m1.body.len, 154);
}

static void test_noreason(void **state) {
    (void)state;
    parse_ok("noreason");
    assert_int_equal(m1.status, 100);
    assert_int_equal(m1.reason.len, 0);
    /* a liberal reader takes the status line without its last SP too */
    static const char msg[] = "SIP/2.0 180\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                              "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\n"
                              "CSeq: 1 INVITE\r\n\r\n";
    assert_int_equal(floe_sip_parse(msg, strlen(msg), 0, &m1, NULL, NULL), FLOE_OK);
    assert_int_equal(m1.status, 180);
    assert_int_equal(m1.reason.len, 0);
}

/* ---- RFC 4475 §3.1.2: invalid messages ------------------------------------------------- */

static void test_invalid_torture(void **state) {
    (void)state;
    /* the Via has empty parameters and values */
    parse_bad("badinv01", FLOE_ERR_MALFORMED, FLOE_SIP_R_VIA, "Via");
    /* over UDP a short body is an error (over TCP: wait for more) */
    parse_bad("clerr", FLOE_ERR_TRUNCATED, FLOE_SIP_R_BODY_TRUNCATED, "Content-Length");
    parse_bad("ncl", FLOE_ERR_MALFORMED, FLOE_SIP_R_CONTENT_LENGTH, "Content-Length");
    /* CSeq over 2^32-1 comes first; Max-Forwards 300 and the huge Expires would follow */
    parse_bad("scalar02", FLOE_ERR_MALFORMED, FLOE_SIP_R_CSEQ, "CSeq");
    parse_bad("scalarlg", FLOE_ERR_MALFORMED, FLOE_SIP_R_CSEQ, "CSeq");
    parse_bad("quotbal", FLOE_ERR_MALFORMED, FLOE_SIP_R_ADDRESS, "To");
    parse_bad("ltgtruri", FLOE_ERR_MALFORMED, FLOE_SIP_R_REQUEST_URI, NULL);
    parse_bad("lwsruri", FLOE_ERR_MALFORMED, FLOE_SIP_R_REQUEST_URI, NULL);
    parse_bad("lwsstart", FLOE_ERR_MALFORMED, FLOE_SIP_R_START_LINE_SPACE, NULL);
    parse_bad("trws", FLOE_ERR_MALFORMED, FLOE_SIP_R_START_LINE_SPACE, NULL);
    parse_bad("escruri", FLOE_ERR_MALFORMED, FLOE_SIP_R_REQUEST_URI, NULL);
    parse_bad("regbadct", FLOE_ERR_MALFORMED, FLOE_SIP_R_ADDRESS, "Contact");
    parse_bad("badaspec", FLOE_ERR_MALFORMED, FLOE_SIP_R_ADDRESS, "To");
    parse_bad("baddn", FLOE_ERR_MALFORMED, FLOE_SIP_R_ADDRESS, "From");
    /* answered with 505 by a UA: the caller can tell from the reason */
    parse_bad("badvers", FLOE_ERR_UNSUPPORTED, FLOE_SIP_R_VERSION, NULL);
    parse_bad("mismatch01", FLOE_ERR_MALFORMED, FLOE_SIP_R_CSEQ_METHOD, "CSeq");
    /* RFC 4475 §3.1.2.18 prefers 501 but allows 400: floe rejects it like mismatch01 */
    parse_bad("mismatch02", FLOE_ERR_MALFORMED, FLOE_SIP_R_CSEQ_METHOD, "CSeq");
    parse_bad("bigcode", FLOE_ERR_MALFORMED, FLOE_SIP_R_STATUS_CODE, NULL);
}

static void test_baddate_tolerated(void **state) {
    (void)state;
    /* RFC 4475 §3.1.2.12: an element that does not use the Date may accept it; floe keeps
     * Date as text and never reads it. */
    parse_ok("baddate");
    const floe_sip_hdr *h = floe_sip_msg_find(&m1, FLOE_SIP_H_DATE, NULL);
    assert_non_null(h);
    assert_str(h->value, "Fri, 01 Jan 2010 16:00:00 EST");
}

/* ---- RFC 4475 §3.2, §3.3, §3.4 ------------------------------------------------------------ */

static void test_badbranch(void **state) {
    (void)state;
    parse_ok("badbranch"); /* a parser must not break on it */
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(&m1, &v), FLOE_OK);
    assert_str(v.branch, "z9hG4bK");
    assert_false(floe_sip_branch_is_rfc3261(v.branch));
}

static void test_application_layer(void **state) {
    (void)state;
    /* missing To, From, Call-ID (and Max-Forwards): 400; From is checked first */
    parse_bad("insuf", FLOE_ERR_MALFORMED, FLOE_SIP_R_MISSING_HEADER, "From");
    /* single-valued fields given twice: 400 */
    parse_bad("multi01", FLOE_ERR_MALFORMED, FLOE_SIP_R_DUPLICATE_HEADER, "CSeq");
    parse_bad("mcl01", FLOE_ERR_MALFORMED, FLOE_SIP_R_DUPLICATE_HEADER, "Content-Length");

    /* Unknown Request-URI schemes parse (the UA answers 416). */
    parse_ok("unkscm");
    floe_sip_uri u = uri_of(m1.uri);
    assert_int_equal(u.scheme, FLOE_SIP_SCHEME_OTHER);
    assert_str(u.scheme_text, "nobodyKnowsThisScheme");
    assert_str(u.opaque, "totallyopaquecontent");
    parse_ok("novelsc");
    u = uri_of(m1.uri);
    assert_int_equal(u.scheme, FLOE_SIP_SCHEME_OTHER);
    assert_str(u.scheme_text, "soap.beep");

    parse_ok("unksm2");
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    assert_false(a.bracketed);
    assert_str(uri_of(a.uri).scheme_text, "isbn");
    assert_int_equal(floe_sip_msg_from(&m1, &a), FLOE_OK);
    assert_str(a.uri, "http://www.example.com");
    floe_sip_iter it = {0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_str(a.uri, "name:John_Smith");

    /* unknown option tags: the UA answers 420 listing them */
    parse_ok("bext01");
    floe_sip_tokens t;
    assert_int_equal(floe_sip_msg_tokens(&m1, FLOE_SIP_H_REQUIRE, &t), FLOE_OK);
    assert_int_equal(t.n, 2);
    assert_str(t.tok[0], "nothingSupportsThis");
    assert_str(t.tok[1], "nothingSupportsThisEither");
    assert_true(floe_sip_msg_has_token(&m1, FLOE_SIP_H_PROXY_REQUIRE, "noproxiessupportthis"));
    assert_false(floe_sip_msg_has_token(&m1, FLOE_SIP_H_SUPPORTED, "100rel"));

    /* unknown body type: 415 */
    parse_ok("invut");
    floe_sip_media_type mt;
    assert_int_equal(floe_sip_msg_content_type(&m1, &mt), FLOE_OK);
    assert_str(mt.subtype, "unknownformat");
    assert_false(floe_sip_msg_is_sdp(&m1));
    assert_int_equal(m1.body.len, 40);

    /* unknown authorization scheme: not Digest, kept as text */
    parse_ok("regaut01");
    floe_sip_auth au;
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_auth(&m1, FLOE_SIP_H_AUTHORIZATION, &it, &au), FLOE_OK);
    assert_false(au.digest);
    assert_str(au.scheme, "NoOneKnowsThisScheme");
    assert_str(au.params, "opaque-data=here");

    /* a response with a broadcast Via parses; a UA drops responses with more than one
     * Via (RFC 3261 §8.1.3.3), which the count tells */
    parse_ok("bcast");
    assert_int_equal(floe_sip_msg_count(&m1, FLOE_SIP_H_VIA), 2);
    floe_sip_via v;
    it = (floe_sip_iter){0, 0};
    floe_sip_msg_next_via(&m1, &it, &v);
    assert_int_equal(floe_sip_msg_next_via(&m1, &it, &v), FLOE_OK);
    assert_true(floe_addr_classify(&v.addr, NULL) & FLOE_ADDR_BROADCAST);

    parse_ok("zeromf");
    assert_int_equal(floe_sip_msg_max_forwards(&m1), 0);

    /* cparam01: without <> the parameter belongs to the Contact, not to the URI */
    parse_ok("cparam01");
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_str(a.uri, "sip:+19725552222@gw1.example.net");
    assert_null(uri_of(a.uri).params.p);
    assert_true(floe_sip_params_get(a.params, "unknownparam", NULL));
    parse_ok("cparam02");
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_str(uri_of(a.uri).params, ";unknownparam");
    assert_null(a.params.p);

    /* an escaped header in a Contact URI inside <> is fine */
    parse_ok("regescrt");
    it = (floe_sip_iter){0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_CONTACT, &it, &a), FLOE_OK);
    assert_str(uri_of(a.uri).headers, "Route=%3Csip:sip.example.com%3E");

    parse_ok("sdp01");
    assert_true(floe_sip_msg_is_sdp(&m1));
    assert_str(floe_sip_msg_find(&m1, FLOE_SIP_H_ACCEPT, NULL)->value, "text/nobodyKnowsThis");
}

static void test_inv2543(void **state) {
    (void)state;
    /* RFC 2543 style: no Max-Forwards, tags, branch or Content-Length (the body ends with
     * the datagram) */
    parse_ok("inv2543");
    assert_int_equal(floe_sip_msg_max_forwards(&m1), -1);
    assert_int_equal(floe_sip_msg_content_length(&m1), -1);
    assert_int_equal(m1.body.len, 105);
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(&m1, &v), FLOE_OK);
    assert_null(v.branch.p);
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_from(&m1, &a), FLOE_OK);
    assert_null(a.tag.p);
    assert_str(uri_of(a.uri).user_param, "phone");
    assert_int_equal(floe_sip_msg_to(&m1, &a), FLOE_OK);
    assert_null(uri_of(a.uri).params.p); /* user=phone is a To parameter here */
    assert_true(floe_sip_params_get(a.params, "user", NULL));
    floe_sip_iter it = {0, 0};
    assert_int_equal(floe_sip_msg_next_addr(&m1, FLOE_SIP_H_RECORD_ROUTE, &it, &a), FLOE_OK);
    assert_str(uri_of(a.uri).maddr, "ss1.example.com");
    /* over a stream the same message cannot be framed */
    floe_sip_error e;
    assert_int_equal(floe_sip_parse(vec, vec_len, FLOE_SIP_PARSE_STREAM, &m1, &e, NULL),
                     FLOE_ERR_MALFORMED);
    assert_int_equal(e.reason, FLOE_SIP_R_NO_CONTENT_LENGTH);
}

static void test_all_vectors_counted(void **state) {
    (void)state;
    /* every file of tests/vectors/sip goes through one stats block: 49 RFC 4475
     * messages, 28 accepted (13 + badbranch + 12 of §3.3 + inv2543 + baddate). */
    static const char *const names[] = {
        "wsinv",    "intmeth",    "esc01",      "escnull",  "esc02",     "lwsdisp",  "longreq",
        "dblreq",   "semiuri",    "transports", "mpart01",  "unreason",  "noreason", "badinv01",
        "clerr",    "ncl",        "scalar02",   "scalarlg", "quotbal",   "ltgtruri", "lwsruri",
        "lwsstart", "trws",       "escruri",    "baddate",  "regbadct",  "badaspec", "baddn",
        "badvers",  "mismatch01", "mismatch02", "bigcode",  "badbranch", "insuf",    "unkscm",
        "novelsc",  "unksm2",     "bext01",     "invut",    "regaut01",  "multi01",  "mcl01",
        "bcast",    "zeromf",     "cparam01",   "cparam02", "regescrt",  "sdp01",    "inv2543",
    };
    floe_sip_stats st;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        load(names[i]);
        floe_sip_parse(vec, vec_len, 0, &m1, NULL, &st);
    }
    uint64_t rejected = 0;
    for (int r = 0; r < FLOE_SIP_R_COUNT; r++)
        rejected += st.rejected[r];
    assert_int_equal(sizeof names / sizeof names[0], 49);
    assert_int_equal(st.parsed, 28);
    assert_int_equal(rejected, 21);
    assert_int_equal(st.rejected[FLOE_SIP_R_ADDRESS], 4);
    assert_int_equal(st.rejected[FLOE_SIP_R_REQUEST_URI], 3);
    assert_int_equal(st.rejected[FLOE_SIP_R_DUPLICATE_HEADER], 2);
    assert_int_equal(st.trailing_msgs, 1);
}

/* ---- line handling and bounds ----------------------------------------------------------- */

#define MIN_HDRS                                                                                   \
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKabc\r\nFrom: <sip:a@example.com>;tag=1\r\n"          \
    "To: <sip:b@example.com>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"

static int parse_text(const char *text, unsigned flags, floe_sip_error *e) {
    return floe_sip_parse(text, strlen(text), flags, &m1, e, NULL);
}

static void expect(const char *text, int rc, floe_sip_reason r) {
    floe_sip_error e;
    int got = parse_text(text, 0, &e);
    if (got != rc || (rc != FLOE_OK && e.reason != r))
        fail_msg("got %s/%s, want %s/%s for: %s", floe_strerror(got),
                 floe_sip_reason_name(e.reason), floe_strerror(rc), floe_sip_reason_name(r), text);
}

static void test_lines(void **state) {
    (void)state;
    /* bare LF line ends and CRLFs before the start line */
    expect("\r\n\r\nOPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
           "From: <sip:a@b>;tag=1\nTo: <sip:c@d>\nCall-ID: x\nCSeq: 1 OPTIONS\n\n",
           FLOE_OK, 0);
    assert_int_equal(m1.n_hdr, 5);
    expect("", FLOE_ERR_MALFORMED, FLOE_SIP_R_EMPTY);
    expect("\r\n\r\n", FLOE_ERR_MALFORMED, FLOE_SIP_R_EMPTY);
    expect("OPTIONS sip:b@example.com SIP/2.0", FLOE_ERR_TRUNCATED, FLOE_SIP_R_NO_HEADER_END);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS, FLOE_ERR_TRUNCATED,
           FLOE_SIP_R_NO_HEADER_END);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n \r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED,
           FLOE_SIP_R_HEADER_LINE);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "X\rY: 1\r\n\r\n", FLOE_ERR_MALFORMED,
           FLOE_SIP_R_HEADER_LINE);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "No colon here\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_HEADER_LINE);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS ": empty name\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_HEADER_LINE);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "X-Bin: a\x01z\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_HEADER_LINE);
    static const char nul[] =
        "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "X-Nul: a\0z\r\n\r\n";
    floe_sip_error e;
    assert_int_equal(floe_sip_parse(nul, sizeof nul - 1, 0, &m1, &e, NULL), FLOE_ERR_MALFORMED);
    assert_int_equal(e.reason, FLOE_SIP_R_HEADER_LINE);
    /* start lines */
    expect("OPTIONS sip:b@example.com\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED,
           FLOE_SIP_R_START_LINE);
    expect("OPT@ONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED,
           FLOE_SIP_R_METHOD);
    expect("OPTIONS sip:b@example.com HTTP/1.1\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED,
           FLOE_SIP_R_START_LINE);
    expect("OPTIONS sip:b@example.com sip/2.0\r\n" MIN_HDRS "\r\n", FLOE_OK, 0);
    expect("SIP/2.0 99 Low\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED, FLOE_SIP_R_STATUS_CODE);
    expect("SIP/2.0 700 High\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED, FLOE_SIP_R_STATUS_CODE);
    expect("SIP/2.0 2000 OK\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED, FLOE_SIP_R_STATUS_CODE);
    expect("SIP/2.0  200 OK\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED, FLOE_SIP_R_START_LINE_SPACE);
    expect("SIP/3.0 200 OK\r\n" MIN_HDRS "\r\n", FLOE_ERR_UNSUPPORTED, FLOE_SIP_R_VERSION);
    expect("SIP/2.0 200 O\x01K\r\n" MIN_HDRS "\r\n", FLOE_ERR_MALFORMED, FLOE_SIP_R_START_LINE);
    expect("SIP/2.0 200 OK\r\n" MIN_HDRS "\r\n", FLOE_OK, 0);
    assert_str(m1.reason, "OK");
    /* message-wide checks */
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS
           "Contact: *\r\nContact: <sip:x@y>\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_ADDRESS);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Route: sip:p@q\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_ADDRESS);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Max-Forwards: 256\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_MAX_FORWARDS);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Call-ID: again\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_DUPLICATE_HEADER);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n"
           "To: <sip:c@d>\r\nCall-ID: a b\r\nCSeq: 1 OPTIONS\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_CALL_ID);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Content-Type: text\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_CONTENT_TYPE);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Supported: 100rel,,timer\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_TOKEN_LIST);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "RSeq: 0\r\n\r\n", FLOE_ERR_MALFORMED,
           FLOE_SIP_R_RSEQ);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "RAck: 1 INVITE\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_RACK);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Expires: soon\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_EXPIRES);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Authorization: Digest realm\r\n\r\n",
           FLOE_ERR_MALFORMED, FLOE_SIP_R_AUTH);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Content-Length: 10\r\n\r\nshort",
           FLOE_ERR_TRUNCATED, FLOE_SIP_R_BODY_TRUNCATED);
    expect("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Content-Length: 70000\r\n\r\n",
           FLOE_ERR_LIMIT, FLOE_SIP_R_TOO_LONG);
    /* a folded field keeps its line number; errors point at the line */
    assert_int_equal(parse_text("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS
                                "X-A: 1\r\n 2\r\nMax-Forwards: x\r\n\r\n",
                                0, &e),
                     FLOE_ERR_MALFORMED);
    assert_int_equal(e.line, 9);
    assert_str(e.header, "Max-Forwards");
}

static void test_caps(void **state) {
    (void)state;
    static char big[FLOE_SIP_MAX_MSG_LEN + 64];
    size_t n = 0;
    n += (size_t)sprintf(big + n, "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS);
    /* 5 fields above: fill to exactly FLOE_SIP_MAX_HEADERS */
    for (int i = 5; i < FLOE_SIP_MAX_HEADERS; i++)
        n += (size_t)sprintf(big + n, "X-%d: %d\r\n", i, i);
    size_t at_cap = n;
    n += (size_t)sprintf(big + n, "\r\n");
    floe_sip_error e;
    assert_int_equal(floe_sip_parse(big, n, 0, &m1, &e, &stats), FLOE_OK);
    assert_int_equal(m1.n_hdr, FLOE_SIP_MAX_HEADERS);
    n = at_cap + (size_t)sprintf(big + at_cap, "X-last: 1\r\n\r\n");
    assert_int_equal(floe_sip_parse(big, n, 0, &m1, &e, &stats), FLOE_ERR_LIMIT);
    assert_int_equal(e.reason, FLOE_SIP_R_TOO_MANY_HEADERS);

    /* one header field over FLOE_SIP_MAX_HEADER_LEN, folded or not */
    n = (size_t)sprintf(big, "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "X-Long: ");
    memset(big + n, 'a', FLOE_SIP_MAX_HEADER_LEN);
    n += FLOE_SIP_MAX_HEADER_LEN;
    n += (size_t)sprintf(big + n, "\r\n\r\n");
    assert_int_equal(floe_sip_parse(big, n, 0, &m1, &e, NULL), FLOE_ERR_LIMIT);
    assert_int_equal(e.reason, FLOE_SIP_R_TOO_LONG);
    assert_str(e.header, "X-Long");
    n = (size_t)sprintf(big, "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "X-Folded: a");
    for (int i = 0; i < FLOE_SIP_MAX_HEADER_LEN / 8; i++)
        n += (size_t)sprintf(big + n, "\r\n bbbbb");
    n += (size_t)sprintf(big + n, "\r\n\r\n");
    assert_int_equal(floe_sip_parse(big, n, 0, &m1, &e, NULL), FLOE_ERR_LIMIT);
    assert_int_equal(e.reason, FLOE_SIP_R_TOO_LONG);

    /* the whole message */
    memset(big, 'x', sizeof big);
    assert_int_equal(floe_sip_parse(big, FLOE_SIP_MAX_MSG_LEN + 1, 0, &m1, &e, NULL),
                     FLOE_ERR_LIMIT);
    assert_int_equal(e.reason, FLOE_SIP_R_TOO_LONG);
    /* the start line */
    memcpy(big, "OPTIONS sip:", 12);
    memcpy(big + FLOE_SIP_MAX_START_LINE + 10, " SIP/2.0\r\n\r\n", 12);
    assert_int_equal(floe_sip_parse(big, FLOE_SIP_MAX_START_LINE + 22, 0, &m1, &e, NULL),
                     FLOE_ERR_LIMIT);
    assert_int_equal(e.reason, FLOE_SIP_R_TOO_LONG);

    /* NULL arguments */
    assert_int_equal(floe_sip_parse(NULL, 3, 0, &m1, &e, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_parse("x", 1, 0, NULL, &e, NULL), FLOE_ERR_INVAL);
}

static void test_reason_names(void **state) {
    (void)state;
    for (int a = 0; a < FLOE_SIP_R_COUNT; a++) {
        const char *na = floe_sip_reason_name((floe_sip_reason)a);
        assert_string_not_equal(na, "unknown");
        for (int b = a + 1; b < FLOE_SIP_R_COUNT; b++)
            assert_string_not_equal(na, floe_sip_reason_name((floe_sip_reason)b));
    }
    assert_string_equal(floe_sip_reason_name(FLOE_SIP_R_COUNT), "unknown");
}

/* ---- stream framing ------------------------------------------------------------------------ */

static void test_frame(void **state) {
    (void)state;
    static const char two[] =
        "\r\n\r\n"
        "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "l: 5\r\n\r\nhello"
        "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "Content-Length:\r\n 0\r\n\r\n";
    size_t len = strlen(two), n;
    bool ka;
    assert_int_equal(floe_sip_frame_len(two, len, &n, &ka), FLOE_OK);
    assert_true(ka);
    assert_int_equal(n, 4);
    const char *p = two + n;
    len -= n;
    assert_int_equal(floe_sip_frame_len(p, len, &n, &ka), FLOE_OK);
    assert_false(ka);
    assert_int_equal(floe_sip_parse(p, n, FLOE_SIP_PARSE_STREAM, &m1, NULL, NULL), FLOE_OK);
    assert_str(m1.body, "hello");
    /* every shorter prefix asks for more */
    for (size_t k = 1; k < n; k++)
        assert_int_equal(floe_sip_frame_len(p, k, &n, &ka), FLOE_ERR_TRUNCATED);
    assert_int_equal(floe_sip_frame_len(p, len, &n, &ka), FLOE_OK);
    p += n;
    len -= n;
    assert_int_equal(floe_sip_frame_len(p, len, &n, &ka), FLOE_OK); /* folded Content-Length */
    assert_int_equal(n, len);
    assert_int_equal(floe_sip_parse(p, n, FLOE_SIP_PARSE_STREAM, &m1, NULL, NULL), FLOE_OK);

    static const char none[] = "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "\r\n";
    assert_int_equal(floe_sip_frame_len(none, strlen(none), &n, NULL), FLOE_ERR_MALFORMED);
    static const char twice[] =
        "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "l: 0\r\nContent-Length: 0\r\n\r\n";
    assert_int_equal(floe_sip_frame_len(twice, strlen(twice), &n, NULL), FLOE_ERR_MALFORMED);
    static const char neg[] = "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "l: -1\r\n\r\n";
    assert_int_equal(floe_sip_frame_len(neg, strlen(neg), &n, NULL), FLOE_ERR_MALFORMED);
    static const char huge[] = "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "l: 99999\r\n\r\n";
    assert_int_equal(floe_sip_frame_len(huge, strlen(huge), &n, NULL), FLOE_ERR_LIMIT);
    static char endless[FLOE_SIP_MAX_MSG_LEN + 10];
    memset(endless, 'a', sizeof endless);
    assert_int_equal(floe_sip_frame_len(endless, sizeof endless, &n, NULL), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sip_frame_len(endless, 100, &n, NULL), FLOE_ERR_TRUNCATED);
}

/* ---- building and printing ----------------------------------------------------------------- */

static void test_build_request(void **state) {
    (void)state;
    char text[512];
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, text, sizeof text);
    floe_sip_str via, cseq, from;
    assert_int_equal(floe_sip_arena_cat(&ar, &via, "SIP/2.0/UDP 192.0.2.10:5062",
                                        ";branch=", FLOE_SIP_BRANCH_COOKIE, "a7f3", ";rport", NULL),
                     FLOE_OK);
    floe_sip_str num;
    assert_int_equal(floe_sip_arena_u64(&ar, 314159, &num), FLOE_OK);
    assert_str(num, "314159");
    assert_int_equal(floe_sip_arena_cat(&ar, &cseq, "314159 INVITE", NULL), FLOE_OK);
    assert_int_equal(
        floe_sip_arena_cat(&ar, &from, "\"Alice\" <sip:alice@example.com>;tag=9fxced76sl", NULL),
        FLOE_OK);

    floe_sip_msg *m = &m1;
    floe_sip_msg_request(m, "INVITE", "sip:bob@example.com");
    assert_int_equal(m->method_id, FLOE_SIP_INVITE);
    assert_int_equal(floe_sip_msg_add_str(m, floe_sip_str_c("Via"), via), FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_MAX_FORWARDS, "70"), FLOE_OK);
    assert_int_equal(floe_sip_msg_add_str(m, floe_sip_str_c("From"), from), FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_TO, "<sip:bob@example.com>"), FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_CALL_ID, "3848276298220188511@example.com"),
                     FLOE_OK);
    assert_int_equal(floe_sip_msg_add_str(m, floe_sip_str_c("CSeq"), cseq), FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_CONTACT, "<sip:alice@192.0.2.10:5062>"),
                     FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_SUPPORTED, "100rel, timer"), FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_CONTENT_TYPE, "application/sdp"), FLOE_OK);
    assert_int_equal(floe_sip_msg_add_str(m, floe_sip_str_c("X-Floe"), floe_sip_str_c("yes")),
                     FLOE_OK);
    static const char sdp[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\n";
    floe_sip_msg_set_body(m, sdp, strlen(sdp));
    size_t n;
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_OK);
    assert_int_equal(n, strlen(out));
    assert_non_null(strstr(out, "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP "));
    char want[64];
    snprintf(want, sizeof want, "\r\nContent-Length: %zu\r\n\r\nv=0\r\n", strlen(sdp));
    assert_non_null(strstr(out, want));
    /* the built message reads like a parsed one */
    assert_true(floe_sip_msg_has_token(m, FLOE_SIP_H_SUPPORTED, "100REL"));
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(m, &v), FLOE_OK);
    assert_int_equal(v.port, 5062);
    assert_true(v.rport);
    round_trip(m);
    assert_int_equal(floe_sip_msg_content_length(&m2), (int64_t)strlen(sdp));

    /* a short buffer fails cleanly with a terminated prefix */
    char small[64];
    assert_int_equal(floe_sip_msg_print(m, small, sizeof small, &n), FLOE_ERR_NOSPACE);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, out, sizeof small - 1);
    /* nothing that would break the framing is written */
    m->hdr[m->n_hdr - 1].value = floe_sip_str_c("a\r\nInjected: 1");
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_ERR_INVAL);
    m->hdr[m->n_hdr - 1].value = floe_sip_str_c("folded\r\n ok");
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_OK);
    m->hdr[m->n_hdr - 1].value = floe_sip_str_c(" padded");
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_ERR_INVAL);
    m->hdr[m->n_hdr - 1].name = floe_sip_str_c("Bad Name");
    m->hdr[m->n_hdr - 1].value = floe_sip_str_c("x");
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_ERR_INVAL);
    floe_sip_msg_request(m, "INVITE", "sip:bob@example.com\r\nX: y");
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_ERR_INVAL);
    floe_sip_msg_response(m, 99, NULL);
    assert_int_equal(floe_sip_msg_print(m, out, sizeof out, &n), FLOE_ERR_INVAL);

    /* caps of the builder */
    floe_sip_msg_request(m, "OPTIONS", "sip:x@y");
    for (int i = 0; i < FLOE_SIP_MAX_HEADERS; i++)
        assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_SUBJECT, "s"), FLOE_OK);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_SUBJECT, "s"), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sip_msg_add(m, FLOE_SIP_H_OTHER, "s"), FLOE_ERR_INVAL);
    char tiny[4];
    floe_sip_arena_init(&ar, tiny, sizeof tiny);
    assert_int_equal(floe_sip_arena_cat(&ar, &via, "ab", "cde", NULL), FLOE_ERR_NOSPACE);
    assert_int_equal(ar.len, 0);
    assert_int_equal(floe_sip_arena_u64(&ar, 12345, &num), FLOE_ERR_NOSPACE);
}

static void test_response_to(void **state) {
    (void)state;
    static const char req[] =
        "INVITE sip:bob@example.com SIP/2.0\r\n"
        "Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK2d4790.1\r\n"
        "Via: SIP/2.0/UDP "
        "192.0.2.10:5062;branch=z9hG4bKnashds8;rport=5062;received=198.51.100.7\r\n"
        "Max-Forwards: 69\r\nFrom: Alice <sip:alice@example.com>;tag=1928301774\r\n"
        "To: Bob <sip:bob@example.com>\r\nCall-ID: a84b4c76e66710\r\nCSeq: 314159 INVITE\r\n"
        "Record-Route: <sip:proxy.example.com;lr>\r\nTimestamp: 54\r\n"
        "Contact: <sip:alice@192.0.2.10:5062>\r\nContent-Length: 0\r\n\r\n";
    static floe_sip_msg rq;
    assert_int_equal(floe_sip_parse(req, strlen(req), 0, &rq, NULL, NULL), FLOE_OK);
    char text[256];
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, text, sizeof text);
    floe_sip_msg *r = &m1;
    assert_int_equal(floe_sip_msg_response_to(r, &rq, 180, NULL, "a6c85cf", &ar), FLOE_OK);
    assert_str(r->reason, "Ringing");
    assert_int_equal(floe_sip_msg_count(r, FLOE_SIP_H_VIA), 2);
    floe_sip_via v;
    assert_int_equal(floe_sip_msg_top_via(r, &v), FLOE_OK);
    assert_str(v.host, "proxy.example.com");
    floe_sip_addr a;
    assert_int_equal(floe_sip_msg_to(r, &a), FLOE_OK);
    assert_str(a.tag, "a6c85cf");
    assert_str(a.display, "Bob");
    assert_int_equal(floe_sip_msg_from(r, &a), FLOE_OK);
    assert_str(a.tag, "1928301774");
    floe_sip_cseq c;
    assert_int_equal(floe_sip_msg_cseq(r, &c), FLOE_OK);
    assert_int_equal(c.seq, 314159);
    assert_int_equal(floe_sip_msg_count(r, FLOE_SIP_H_RECORD_ROUTE), 1);
    assert_null(floe_sip_msg_find(r, FLOE_SIP_H_TIMESTAMP, NULL));
    round_trip(r);

    /* 100 Trying: no To tag, Timestamp echoed, no Record-Route */
    assert_int_equal(floe_sip_msg_response_to(r, &rq, 100, NULL, "a6c85cf", &ar), FLOE_OK);
    assert_int_equal(floe_sip_msg_to(r, &a), FLOE_OK);
    assert_null(a.tag.p);
    assert_non_null(floe_sip_msg_find(r, FLOE_SIP_H_TIMESTAMP, NULL));
    assert_int_equal(floe_sip_msg_count(r, FLOE_SIP_H_RECORD_ROUTE), 0);
    /* a final error: no Record-Route, the tag still added */
    assert_int_equal(floe_sip_msg_response_to(r, &rq, 486, NULL, "z", &ar), FLOE_OK);
    assert_str(r->reason, "Busy Here");
    assert_int_equal(floe_sip_msg_count(r, FLOE_SIP_H_RECORD_ROUTE), 0);
    round_trip(r);
    /* bad input */
    assert_int_equal(floe_sip_msg_response_to(r, &rq, 180, NULL, "bad tag", &ar), FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_msg_response_to(r, r, 200, NULL, NULL, &ar), FLOE_ERR_INVAL);
    assert_string_equal(floe_sip_status_phrase(183), "Session Progress");
    assert_string_equal(floe_sip_status_phrase(299), "");
}

static void test_equal(void **state) {
    (void)state;
    static const char a[] = "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "l: 2\r\n\r\nhi";
    static const char b[] = "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS "\r\nhi";
    static floe_sip_msg x, y;
    assert_int_equal(floe_sip_parse(a, strlen(a), 0, &x, NULL, NULL), FLOE_OK);
    assert_int_equal(floe_sip_parse(b, strlen(b), 0, &y, NULL, NULL), FLOE_OK);
    assert_true(floe_sip_msg_equal(&x, &y)); /* Content-Length is not compared */
    y.body.len = 1;
    assert_false(floe_sip_msg_equal(&x, &y));
    y.body.len = 2;
    y.hdr[0].value.len--;
    assert_false(floe_sip_msg_equal(&x, &y));
    assert_false(floe_sip_msg_equal(&x, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wsinv),
        cmocka_unit_test(test_intmeth),
        cmocka_unit_test(test_esc01),
        cmocka_unit_test(test_escnull),
        cmocka_unit_test(test_esc02),
        cmocka_unit_test(test_lwsdisp),
        cmocka_unit_test(test_longreq),
        cmocka_unit_test(test_dblreq),
        cmocka_unit_test(test_semiuri),
        cmocka_unit_test(test_transports),
        cmocka_unit_test(test_mpart01),
        cmocka_unit_test(test_unreason),
        cmocka_unit_test(test_noreason),
        cmocka_unit_test(test_invalid_torture),
        cmocka_unit_test(test_baddate_tolerated),
        cmocka_unit_test(test_badbranch),
        cmocka_unit_test(test_application_layer),
        cmocka_unit_test(test_inv2543),
        cmocka_unit_test(test_all_vectors_counted),
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_frame),
        cmocka_unit_test(test_build_request),
        cmocka_unit_test(test_response_to),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
