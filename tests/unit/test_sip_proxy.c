/* The stateless proxy and registrar (floe/sip_proxy.h): canned messages in, the message
 * it sends (parsed back) and where, out. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "floe/sip_proxy.h"
#include "sim.h"
#include "sim_sip_proxy.h"

#define PROXY "192.0.2.1:5060"
#define T0 FLOE_S(100)

typedef struct fx {
    floe_sip_proxy *p;
    uint8_t out[8192];
    size_t n;
    floe_addr to;
    floe_sip_msg m; /* the last output, parsed */
} fx;

static floe_addr A(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static fx *fx_new(unsigned max_bindings) {
    static fx f;
    memset(&f, 0, sizeof f);
    floe_sip_proxy_config c;
    floe_sip_proxy_config_default(&c);
    c.domain = "example.net";
    c.addr = A(PROXY);
    c.max_bindings = max_bindings;
    for (int i = 0; i < 16; i++)
        c.key[i] = (uint8_t)(i * 5 + 1);
    assert_int_equal(floe_sip_proxy_new(&f.p, &c), FLOE_OK);
    return &f;
}

/* Feeds text (LF line ends become CRLF) from `from`; returns the output length. */
static size_t feed(fx *f, floe_time_ns now, const char *from, const char *text) {
    char buf[4096];
    size_t n = 0;
    for (const char *s = text; *s && n + 2 < sizeof buf; s++) {
        if (*s == '\n') buf[n++] = '\r';
        buf[n++] = *s;
    }
    floe_addr src = A(from);
    assert_int_equal(floe_sip_proxy_on_recv(f->p, now, &src, (const uint8_t *)buf, n, f->out,
                                            sizeof f->out, &f->n, &f->to),
                     FLOE_OK);
    if (f->n)
        assert_int_equal(floe_sip_parse((const char *)f->out, f->n, 0, &f->m, NULL, NULL), FLOE_OK);
    return f->n;
}

static void expect_to(const fx *f, const char *addr) {
    floe_addr want = A(addr);
    assert_true(floe_addr_equal(&f->to, &want));
}

/* The value of the k-th (0-based) header field with this id, as a C string. */
static const char *field(const fx *f, floe_sip_hdr_id id, int k) {
    static char v[1024];
    for (size_t i = 0; i < f->m.n_hdr; i++)
        if (f->m.hdr[i].id == id && k-- == 0) {
            snprintf(v, sizeof v, "%.*s", (int)f->m.hdr[i].value.len, f->m.hdr[i].value.p);
            return v;
        }
    return NULL;
}

static const char *const register_bob = "REGISTER sip:example.net SIP/2.0\n"
                                        "Via: SIP/2.0/UDP 10.0.2.2:5060;rport;branch=z9hG4bKreg1\n"
                                        "From: <sip:bob@example.net>;tag=b1\n"
                                        "To: <sip:bob@example.net>\n"
                                        "Call-ID: reg-bob\n"
                                        "CSeq: 1 REGISTER\n"
                                        "Contact: <sip:bob@10.0.2.2:5060>\n"
                                        "Expires: 600\n"
                                        "Max-Forwards: 70\n"
                                        "Content-Length: 0\n\n";

static const char *const invite = "INVITE sip:bob@example.net SIP/2.0\n"
                                  "Via: SIP/2.0/UDP 10.0.1.2:5060;rport;branch=z9hG4bKinv1\n"
                                  "From: <sip:alice@example.net>;tag=a1\n"
                                  "To: <sip:bob@example.net>\n"
                                  "Call-ID: call-1\n"
                                  "CSeq: 1 INVITE\n"
                                  "Contact: <sip:alice@10.0.1.2:5060>\n"
                                  "Max-Forwards: 70\n"
                                  "Content-Length: 0\n\n";

static void test_register_then_invite(void **state) {
    (void)state;
    fx *f = fx_new(0);
    /* REGISTER: 200 back to where it came from, with the binding. */
    assert_true(feed(f, T0, "198.51.100.2:40000", register_bob) > 0);
    assert_false(f->m.request);
    assert_int_equal(f->m.status, 200);
    expect_to(f, "198.51.100.2:40000");
    assert_string_equal(field(f, FLOE_SIP_H_CONTACT, 0), "<sip:bob@10.0.2.2:5060>;expires=600");
    floe_sip_addr to;
    assert_int_equal(floe_sip_msg_to(&f->m, &to), FLOE_OK);
    assert_non_null(to.tag.p);
    assert_int_equal(floe_sip_proxy_bindings(f->p, T0), 1);
    floe_addr where;
    assert_int_equal(floe_sip_proxy_lookup(f->p, T0, "bob", &where), FLOE_OK);
    floe_addr nat = A("198.51.100.2:40000");
    assert_true(floe_addr_equal(&where, &nat));

    /* INVITE to bob's address of record: retargeted to his Contact, sent to his NAT. */
    assert_true(feed(f, T0, "203.0.113.5:5060", invite) > 0);
    assert_true(f->m.request);
    expect_to(f, "198.51.100.2:40000");
    assert_int_equal((int)f->m.uri.len, (int)strlen("sip:bob@10.0.2.2:5060"));
    assert_memory_equal(f->m.uri.p, "sip:bob@10.0.2.2:5060", f->m.uri.len);
    const char *v0 = field(f, FLOE_SIP_H_VIA, 0);
    assert_non_null(strstr(v0, "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK"));
    char our_branch[128];
    snprintf(our_branch, sizeof our_branch, "%s", strstr(v0, "branch="));
    assert_string_equal(field(f, FLOE_SIP_H_VIA, 1),
                        "SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bKinv1;received=203.0.113.5;"
                        "rport=5060");
    assert_string_equal(field(f, FLOE_SIP_H_MAX_FORWARDS, 0), "69");
    assert_string_equal(field(f, FLOE_SIP_H_RECORD_ROUTE, 0), "<sip:192.0.2.1:5060;lr>");

    /* A retransmission leaves with the same bytes; its CANCEL with the same branch. */
    uint8_t first[8192];
    size_t first_n = f->n;
    memcpy(first, f->out, f->n);
    assert_int_equal(feed(f, T0 + FLOE_MS(500), "203.0.113.5:5060", invite), first_n);
    assert_memory_equal(f->out, first, first_n);
    feed(f, T0 + FLOE_S(1), "203.0.113.5:5060",
         "CANCEL sip:bob@example.net SIP/2.0\n"
         "Via: SIP/2.0/UDP 10.0.1.2:5060;rport;branch=z9hG4bKinv1\n"
         "From: <sip:alice@example.net>;tag=a1\n"
         "To: <sip:bob@example.net>\n"
         "Call-ID: call-1\n"
         "CSeq: 1 CANCEL\n"
         "Max-Forwards: 70\n"
         "Content-Length: 0\n\n");
    assert_non_null(strstr(field(f, FLOE_SIP_H_VIA, 0), our_branch));
    assert_null(field(f, FLOE_SIP_H_RECORD_ROUTE, 0)); /* not an INVITE */

    const floe_sip_proxy_stats *st = floe_sip_proxy_stats_get(f->p);
    assert_int_equal(st->registered, 1);
    assert_int_equal(st->requests_forwarded, 3);
    floe_sip_proxy_free(f->p);
}

static void test_responses_go_back_by_via(void **state) {
    (void)state;
    fx *f = fx_new(0);
    feed(f, T0, "198.51.100.2:40000",
         "SIP/2.0 180 Ringing\n"
         "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK0011223344556677\n"
         "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bKinv1;received=203.0.113.5;rport=5061\n"
         "From: <sip:alice@example.net>;tag=a1\n"
         "To: <sip:bob@example.net>;tag=b9\n"
         "Call-ID: call-1\n"
         "CSeq: 1 INVITE\n"
         "Content-Length: 0\n\n");
    assert_int_equal(f->m.status, 180);
    expect_to(f, "203.0.113.5:5061");
    assert_int_equal(floe_sip_msg_count(&f->m, FLOE_SIP_H_VIA), 1);
    assert_non_null(strstr(field(f, FLOE_SIP_H_VIA, 0), "z9hG4bKinv1"));

    /* Both Vias in one field: only ours goes. Without received/rport: sent-by. */
    feed(f, T0, "198.51.100.2:40000",
         "SIP/2.0 200 OK\n"
         "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK00, SIP/2.0/UDP 203.0.113.9:5070;"
         "branch=z9hG4bKx\n"
         "From: <sip:alice@example.net>;tag=a1\n"
         "To: <sip:bob@example.net>;tag=b9\n"
         "Call-ID: call-1\n"
         "CSeq: 1 INVITE\n"
         "Content-Length: 0\n\n");
    expect_to(f, "203.0.113.9:5070");
    assert_string_equal(field(f, FLOE_SIP_H_VIA, 0),
                        "SIP/2.0/UDP 203.0.113.9:5070;branch=z9hG4bKx");

    /* Not ours on top: dropped and counted. */
    assert_int_equal(feed(f, T0, "198.51.100.2:40000",
                          "SIP/2.0 200 OK\n"
                          "Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK00\n"
                          "Via: SIP/2.0/UDP 203.0.113.9:5070;branch=z9hG4bKx\n"
                          "From: <sip:alice@example.net>;tag=a1\n"
                          "To: <sip:bob@example.net>;tag=b9\n"
                          "Call-ID: call-1\n"
                          "CSeq: 1 INVITE\n"
                          "Content-Length: 0\n\n"),
                     0);
    /* Ours alone: nobody to give it to. */
    assert_int_equal(feed(f, T0, "198.51.100.2:40000",
                          "SIP/2.0 200 OK\n"
                          "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK00\n"
                          "From: <sip:alice@example.net>;tag=a1\n"
                          "To: <sip:bob@example.net>;tag=b9\n"
                          "Call-ID: call-1\n"
                          "CSeq: 1 INVITE\n"
                          "Content-Length: 0\n\n"),
                     0);
    /* Not SIP at all. */
    assert_int_equal(feed(f, T0, "198.51.100.2:40000", "hello\n\n"), 0);
    const floe_sip_proxy_stats *st = floe_sip_proxy_stats_get(f->p);
    assert_int_equal(st->responses_forwarded, 2);
    assert_int_equal(st->drop_not_ours, 1);
    assert_int_equal(st->drop_unroutable, 1);
    assert_int_equal(st->drop_malformed, 1);
    floe_sip_proxy_free(f->p);
}

static void test_in_dialog_request_reaches_the_nat(void **state) {
    (void)state;
    fx *f = fx_new(0);
    feed(f, T0, "198.51.100.2:40000", register_bob);
    /* The ACK of the 200: Route through us, Request-URI bob's Contact (private). */
    assert_true(feed(f, T0 + FLOE_S(2), "203.0.113.5:5060",
                     "ACK sip:bob@10.0.2.2:5060 SIP/2.0\n"
                     "Via: SIP/2.0/UDP 10.0.1.2:5060;rport;branch=z9hG4bKack1\n"
                     "Route: <sip:192.0.2.1:5060;lr>\n"
                     "From: <sip:alice@example.net>;tag=a1\n"
                     "To: <sip:bob@example.net>;tag=b9\n"
                     "Call-ID: call-1\n"
                     "CSeq: 1 ACK\n"
                     "Max-Forwards: 70\n"
                     "Content-Length: 0\n\n") > 0);
    expect_to(f, "198.51.100.2:40000");
    assert_null(field(f, FLOE_SIP_H_ROUTE, 0));
    /* A Route further on is followed; ours ahead of it is removed. */
    feed(f, T0 + FLOE_S(2), "203.0.113.5:5060",
         "BYE sip:bob@10.0.2.2:5060 SIP/2.0\n"
         "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bKbye1\n"
         "Route: <sip:192.0.2.1;lr>, <sip:198.51.100.77:5090;lr>\n"
         "From: <sip:alice@example.net>;tag=a1\n"
         "To: <sip:bob@example.net>;tag=b9\n"
         "Call-ID: call-1\n"
         "CSeq: 2 BYE\n"
         "Content-Length: 0\n\n");
    expect_to(f, "198.51.100.77:5090");
    assert_string_equal(field(f, FLOE_SIP_H_ROUTE, 0), "<sip:198.51.100.77:5090;lr>");
    assert_string_equal(field(f, FLOE_SIP_H_MAX_FORWARDS, 0), "69"); /* added */
    floe_sip_proxy_free(f->p);
}

static void test_errors_answered(void **state) {
    (void)state;
    fx *f = fx_new(1);
    /* Nobody registered as bob: 404 to the sender; an ACK is only dropped. */
    feed(f, T0, "203.0.113.5:5060", invite);
    assert_int_equal(f->m.status, 404);
    expect_to(f, "203.0.113.5:5060");
    assert_int_equal(feed(f, T0, "203.0.113.5:5060",
                          "ACK sip:bob@example.net SIP/2.0\n"
                          "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bKinv1\n"
                          "From: <sip:alice@example.net>;tag=a1\n"
                          "To: <sip:bob@example.net>;tag=x\n"
                          "Call-ID: call-1\n"
                          "CSeq: 1 ACK\n"
                          "Content-Length: 0\n\n"),
                     0);
    /* Max-Forwards 0: 483. */
    feed(f, T0, "203.0.113.5:5060",
         "OPTIONS sip:bob@example.net SIP/2.0\n"
         "Via: SIP/2.0/UDP 10.0.1.2:5060;branch=z9hG4bKo1\n"
         "From: <sip:alice@example.net>;tag=a1\n"
         "To: <sip:bob@example.net>\n"
         "Call-ID: o-1\n"
         "CSeq: 1 OPTIONS\n"
         "Max-Forwards: 0\n"
         "Content-Length: 0\n\n");
    assert_int_equal(f->m.status, 483);
    /* One binding only: a second user gets 503; a REGISTER without Contact 400. */
    feed(f, T0, "198.51.100.2:40000", register_bob);
    assert_int_equal(f->m.status, 200);
    feed(f, T0, "198.51.100.3:40000",
         "REGISTER sip:example.net SIP/2.0\n"
         "Via: SIP/2.0/UDP 10.0.3.2:5060;branch=z9hG4bKreg2\n"
         "From: <sip:carol@example.net>;tag=c1\n"
         "To: <sip:carol@example.net>\n"
         "Call-ID: reg-carol\n"
         "CSeq: 1 REGISTER\n"
         "Contact: <sip:carol@10.0.3.2>\n"
         "Content-Length: 0\n\n");
    assert_int_equal(f->m.status, 503);
    feed(f, T0, "198.51.100.3:40000",
         "REGISTER sip:example.net SIP/2.0\n"
         "Via: SIP/2.0/UDP 10.0.3.2:5060;branch=z9hG4bKreg3\n"
         "From: <sip:carol@example.net>;tag=c1\n"
         "To: <sip:carol@example.net>\n"
         "Call-ID: reg-carol\n"
         "CSeq: 2 REGISTER\n"
         "Content-Length: 0\n\n");
    assert_int_equal(f->m.status, 400);
    const floe_sip_proxy_stats *st = floe_sip_proxy_stats_get(f->p);
    assert_int_equal(st->not_found, 1);
    assert_int_equal(st->too_many_hops, 1);
    assert_int_equal(st->bindings_full, 1);
    assert_int_equal(st->drop_unroutable, 1);
    assert_int_equal(st->answered, 4); /* 404, 483, 503, 400 */
    floe_sip_proxy_free(f->p);
}

static void test_bindings_expire_and_unregister(void **state) {
    (void)state;
    fx *f = fx_new(0);
    feed(f, T0, "198.51.100.2:40000", register_bob);
    assert_int_equal(floe_sip_proxy_bindings(f->p, T0 + FLOE_S(599)), 1);
    assert_int_equal(floe_sip_proxy_bindings(f->p, T0 + FLOE_S(600)), 0);
    assert_int_equal(floe_sip_proxy_stats_get(f->p)->bindings_expired, 1);
    /* Registered again, then removed with expires=0 on the Contact. */
    feed(f, T0 + FLOE_S(700), "198.51.100.2:40000", register_bob);
    assert_int_equal(floe_sip_proxy_bindings(f->p, T0 + FLOE_S(700)), 1);
    feed(f, T0 + FLOE_S(701), "198.51.100.2:40000",
         "REGISTER sip:example.net SIP/2.0\n"
         "Via: SIP/2.0/UDP 10.0.2.2:5060;branch=z9hG4bKreg9\n"
         "From: <sip:bob@example.net>;tag=b1\n"
         "To: <sip:bob@example.net>\n"
         "Call-ID: reg-bob\n"
         "CSeq: 3 REGISTER\n"
         "Contact: <sip:bob@10.0.2.2:5060>;expires=0\n"
         "Content-Length: 0\n\n");
    assert_int_equal(f->m.status, 200);
    assert_int_equal(floe_sip_proxy_bindings(f->p, T0 + FLOE_S(701)), 0);
    floe_addr where;
    assert_int_equal(floe_sip_proxy_lookup(f->p, T0 + FLOE_S(701), "bob", &where),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sip_proxy_stats_get(f->p)->unregistered, 1);
    floe_sip_proxy_free(f->p);
}

static void test_config_checked(void **state) {
    (void)state;
    floe_sip_proxy_config c;
    floe_sip_proxy *p = NULL;
    floe_sip_proxy_config_default(&c);
    c.addr = A(PROXY);
    assert_int_equal(floe_sip_proxy_new(&p, &c), FLOE_ERR_INVAL); /* no domain */
    c.domain = "example.net";
    c.addr.port = 0;
    assert_int_equal(floe_sip_proxy_new(&p, &c), FLOE_ERR_INVAL);
    c.addr = A(PROXY);
    c.max_bindings = FLOE_SIP_PROXY_MAX_BINDINGS_LIMIT + 1;
    assert_int_equal(floe_sip_proxy_new(&p, &c), FLOE_ERR_INVAL);
    c.max_bindings = 0;
    assert_int_equal(floe_sip_proxy_new(&p, &c), FLOE_OK);
    floe_sip_proxy_free(p);
}

/* ---- on a simulated host ------------------------------------------------------------ */

typedef struct got {
    int n;
    char text[2048];
    floe_addr from;
} got;

static void on_ua(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                  const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)s;
    (void)now;
    (void)dst;
    got *g = ctx;
    g->n++;
    g->from = *src;
    snprintf(g->text, sizeof g->text, "%.*s", (int)len, (const char *)p);
}

static void test_in_the_simulator(void **state) {
    (void)state;
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.seed = 7;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = FLOE_MS(10);
    floe_sim_network *net;
    assert_int_equal(floe_sim_network_add(sim, "internet", &l, &net), FLOE_OK);
    floe_sim_host *ph, *bh;
    floe_sim_iface_config ic;
    assert_int_equal(floe_sim_host_add(sim, "proxy", &ph), FLOE_OK);
    floe_sim_iface_config_init(&ic, "eth0", net);
    ic.ip4 = A("192.0.2.1");
    assert_int_equal(floe_sim_host_add_iface(ph, &ic, NULL), FLOE_OK);
    assert_int_equal(floe_sim_host_add(sim, "bob", &bh), FLOE_OK);
    ic.ip4 = A("198.51.100.2");
    assert_int_equal(floe_sim_host_add_iface(bh, &ic, NULL), FLOE_OK);
    floe_sim_sip_proxy *sp;
    floe_addr listen = A(PROXY);
    assert_int_equal(floe_sim_sip_proxy_new(ph, &listen, "example.net", &sp), FLOE_OK);
    floe_sim_udp *ua;
    floe_addr bind = A("198.51.100.2:40000"), to = A(PROXY);
    assert_int_equal(floe_sim_udp_open(bh, &bind, &ua), FLOE_OK);
    got g = {0};
    floe_sim_udp_set_callback(ua, on_ua, &g);
    char buf[1024];
    size_t n = 0;
    for (const char *c = register_bob; *c; c++) {
        if (*c == '\n') buf[n++] = '\r';
        buf[n++] = *c;
    }
    assert_int_equal(floe_sim_udp_send(ua, &to, (const uint8_t *)buf, n), FLOE_OK);
    floe_sim_run_until_idle(sim, FLOE_S(5));
    assert_int_equal(g.n, 1);
    assert_true(floe_addr_equal(&g.from, &to));
    assert_non_null(strstr(g.text, "SIP/2.0 200 OK\r\n"));
    assert_int_equal(floe_sip_proxy_bindings(floe_sim_sip_proxy_core(sp), floe_sim_now(sim)), 1);
    assert_int_equal(floe_sim_sip_proxy_send_errors(sp), 0);
    floe_sim_udp_close(ua);
    floe_sim_sip_proxy_free(sp);
    floe_sim_free(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_then_invite),
        cmocka_unit_test(test_responses_go_back_by_via),
        cmocka_unit_test(test_in_dialog_request_reaches_the_nat),
        cmocka_unit_test(test_errors_answered),
        cmocka_unit_test(test_bindings_expire_and_unregister),
        cmocka_unit_test(test_config_checked),
        cmocka_unit_test(test_in_the_simulator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
