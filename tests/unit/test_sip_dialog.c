/* Unit tests for SIP dialogs (include/floe/sip_dialog.h): UAC and UAS creation (RFC 3261
 * §12.1), the dialog ID and matching, route set reversal, early -> confirmed with the
 * route set recomputed, in-dialog requests byte for byte with loose and strict routing
 * (§12.2.1.1), CSeq rules (§12.2.2), target refresh (re-INVITE, UPDATE), the ACK of a 2xx,
 * the UAS's 2xx retransmission until ACK (§13.3.1.4) through a transaction layer in
 * virtual time, and RFC 3262 (RSeq start and order, RAck built and matched, reliable 1xx
 * retransmitted until PRACK, given up at 64*T1). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip.h"
#include "floe/sip_dialog.h"
#include "floe/sip_txn.h"

static int counter_rand(void *ctx, void *buf, size_t len) {
    unsigned *n = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*n)++;
    return FLOE_OK;
}

static floe_sip_msg msg_a, msg_b, out;
static char text_a[4096], text_b[4096], printed[4096];
static char arena_buf[4096];

static void parse(const char *s, char *buf, floe_sip_msg *m) {
    strcpy(buf, s);
    floe_sip_error e;
    if (floe_sip_parse(buf, strlen(buf), 0, m, &e, NULL) != FLOE_OK)
        fail_msg("parse: %s (%s)", floe_sip_reason_name(e.reason), e.detail);
}

static const char *print(const floe_sip_msg *m) {
    size_t n;
    assert_int_equal(floe_sip_msg_print(m, printed, sizeof printed, &n), FLOE_OK);
    return printed;
}

#define assert_text(got, want)                                                                     \
    do {                                                                                           \
        if (strcmp((got), (want)) != 0) fail_msg("got:\n%s\nwant:\n%s", (got), (want));            \
    } while (0)

static void assert_str(floe_sip_str s, const char *want) {
    if (!floe_sip_str_eq(s, want))
        fail_msg("got \"%.*s\", want \"%s\"", (int)s.len, s.p ? s.p : "", want);
}

#define INVITE_SENT                                                                                \
    "INVITE sip:bob@example.com SIP/2.0\r\n"                                                       \
    "Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bKx1\r\n"                                   \
    "Max-Forwards: 70\r\nTo: \"Bob\" <sip:bob@example.com>\r\n"                                    \
    "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\nCall-ID: c1@192.0.2.1\r\n"                  \
    "CSeq: 7 INVITE\r\nContact: <sip:alice@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n"

static const char *resp_180 =
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1:5060;rport=5060;branch=z9hG4bKx1\r\n"
    "Record-Route: <sip:p3.example.com;lr>, <sip:p2.example.com;lr>\r\n"
    "Record-Route: <sip:p1.example.com;lr>\r\n"
    "To: \"Bob\" <sip:bob@example.com>;tag=b9\r\n"
    "From: \"Alice\" <sip:alice@example.com>;tag=a1\r\nCall-ID: c1@192.0.2.1\r\n"
    "CSeq: 7 INVITE\r\nContact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n";

static floe_sip_dialog d, e;

static void uac_early(void) {
    parse(INVITE_SENT, text_a, &msg_a);
    parse(resp_180, text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP), FLOE_OK);
}

static void test_uac_creation_and_route_reversal(void **state) {
    (void)state;
    uac_early();
    assert_true(d.uac);
    assert_int_equal(d.state, FLOE_SIP_DIALOG_EARLY);
    assert_false(d.secure);
    assert_str(floe_sip_dialog_text(&d, d.call_id), "c1@192.0.2.1");
    assert_str(floe_sip_dialog_text(&d, d.local_tag), "a1");
    assert_str(floe_sip_dialog_text(&d, d.remote_tag), "b9");
    assert_str(floe_sip_dialog_text(&d, d.local_uri), "sip:alice@example.com");
    assert_str(floe_sip_dialog_text(&d, d.remote_uri), "sip:bob@example.com");
    assert_str(floe_sip_dialog_text(&d, d.remote_target), "sip:bob@192.0.2.4");
    /* Record-Route p3, p2, p1 reversed for the UAC: p1 (nearest to us) first. */
    assert_int_equal(d.n_route, 3);
    assert_str(floe_sip_dialog_text(&d, d.route[0]), "<sip:p1.example.com;lr>");
    assert_str(floe_sip_dialog_text(&d, d.route[1]), "<sip:p2.example.com;lr>");
    assert_str(floe_sip_dialog_text(&d, d.route[2]), "<sip:p3.example.com;lr>");
    assert_true(d.local_cseq_set);
    assert_int_equal(d.local_cseq, 7);
    assert_false(d.remote_cseq_set);
    assert_true(floe_sip_dialog_matches(&d, &msg_b));
    assert_str(floe_sip_dialog_next_hop(&d), "sip:p1.example.com;lr");

    /* The 200 confirms it, with a new Contact and a route set recomputed from it. */
    parse("SIP/2.0 200 OK\r\n"
          "Via: SIP/2.0/UDP 192.0.2.1:5060;rport=5060;branch=z9hG4bKx1\r\n"
          "Record-Route: <sip:p9.example.com;lr>\r\n"
          "To: <sip:bob@example.com>;tag=b9\r\n"
          "From: <sip:alice@example.com>;tag=a1\r\nCall-ID: c1@192.0.2.1\r\n"
          "CSeq: 7 INVITE\r\nContact: <sip:bob@192.0.2.5:5070>\r\nContent-Length: 0\r\n\r\n",
          text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_uac_response(&d, &msg_b), FLOE_OK);
    assert_int_equal(d.state, FLOE_SIP_DIALOG_CONFIRMED);
    assert_str(floe_sip_dialog_text(&d, d.remote_target), "sip:bob@192.0.2.5:5070");
    assert_int_equal(d.n_route, 1);
    assert_str(floe_sip_dialog_text(&d, d.route[0]), "<sip:p9.example.com;lr>");

    /* A 200 from another fork (other To tag) is another dialog. */
    parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1\r\n"
          "To: <sip:bob@example.com>;tag=other\r\n"
          "From: <sip:alice@example.com>;tag=a1\r\nCall-ID: c1@192.0.2.1\r\n"
          "CSeq: 7 INVITE\r\nContact: <sip:bob@192.0.2.6>\r\nContent-Length: 0\r\n\r\n",
          text_b, &msg_b);
    assert_false(floe_sip_dialog_matches(&d, &msg_b));
    assert_int_equal(floe_sip_dialog_uac_response(&d, &msg_b), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_sip_dialog_uac_new(&e, &msg_a, &msg_b, FLOE_TRANSPORT_UDP), FLOE_OK);
    assert_int_equal(e.state, FLOE_SIP_DIALOG_CONFIRMED);
    assert_int_equal(e.n_route, 0);
    assert_str(floe_sip_dialog_next_hop(&e), "sip:bob@192.0.2.6");
}

static void test_loose_route_request(void **state) {
    (void)state;
    uac_early();
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_dialog_request(&d, "BYE", &out, &ar), FLOE_OK);
    assert_text(print(&out), "BYE sip:bob@192.0.2.4 SIP/2.0\r\n"
                             "Route: <sip:p1.example.com;lr>\r\n"
                             "Route: <sip:p2.example.com;lr>\r\n"
                             "Route: <sip:p3.example.com;lr>\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: <sip:bob@example.com>;tag=b9\r\n"
                             "From: <sip:alice@example.com>;tag=a1\r\n"
                             "Call-ID: c1@192.0.2.1\r\n"
                             "CSeq: 8 BYE\r\n"
                             "Content-Length: 0\r\n\r\n");
    assert_int_equal(d.local_cseq, 8);
    /* The ACK of the 2xx to the INVITE keeps the INVITE's number. */
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_dialog_ack(&d, 7, &out, &ar), FLOE_OK);
    assert_non_null(strstr(print(&out), "\r\nCSeq: 7 ACK\r\n"));
    assert_true(strncmp(printed, "ACK sip:bob@192.0.2.4 SIP/2.0\r\nRoute: <sip:p1", 45) == 0);
    assert_int_equal(d.local_cseq, 8);
    /* UPDATE (RFC 3311) and INFO are plain in-dialog requests. */
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_dialog_request(&d, "UPDATE", &out, &ar), FLOE_OK);
    assert_non_null(strstr(print(&out), "\r\nCSeq: 9 UPDATE\r\n"));
    assert_int_equal(out.method_id, FLOE_SIP_UPDATE);
    assert_int_equal(floe_sip_dialog_request(&d, "ACK", &out, &ar), FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_dialog_request(&d, "CANCEL", &out, &ar), FLOE_ERR_INVAL);
    assert_int_equal(floe_sip_dialog_request(&d, "BAD METHOD", &out, &ar), FLOE_ERR_INVAL);
    char tiny[16];
    floe_sip_arena_init(&ar, tiny, sizeof tiny);
    assert_int_equal(floe_sip_dialog_request(&d, "INFO", &out, &ar), FLOE_ERR_NOSPACE);
    assert_int_equal(d.local_cseq, 9); /* a failed build does not use a number */
}

static void test_strict_route_request(void **state) {
    (void)state;
    parse(INVITE_SENT, text_a, &msg_a);
    parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1\r\n"
          "Record-Route: <sip:p2.example.com;lr>\r\n"
          "Record-Route: <sip:p1.example.com;transport=tcp?X-H=1>\r\n"
          "To: <sip:bob@example.com>;tag=b9\r\n"
          "From: <sip:alice@example.com>;tag=a1\r\nCall-ID: c1@192.0.2.1\r\n"
          "CSeq: 7 INVITE\r\nContact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n",
          text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP), FLOE_OK);
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_dialog_request(&d, "INFO", &out, &ar), FLOE_OK);
    /* p1 has no lr: it is a strict router and takes the Request-URI (without headers);
     * the remote target goes last in Route. */
    assert_text(print(&out), "INFO sip:p1.example.com;transport=tcp SIP/2.0\r\n"
                             "Route: <sip:p2.example.com;lr>\r\n"
                             "Route: <sip:bob@192.0.2.4>\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: <sip:bob@example.com>;tag=b9\r\n"
                             "From: <sip:alice@example.com>;tag=a1\r\n"
                             "Call-ID: c1@192.0.2.1\r\n"
                             "CSeq: 8 INFO\r\n"
                             "Content-Length: 0\r\n\r\n");
}

#define INVITE_RECEIVED                                                                            \
    "INVITE sips:bob@192.0.2.4 SIP/2.0\r\n"                                                        \
    "Via: SIP/2.0/TLS 10.0.0.1;branch=z9hG4bKp1, SIP/2.0/TLS 10.0.0.7;branch=z9hG4bKa\r\n"         \
    "Record-Route: <sips:p1.example.com;lr>, <sips:p2.example.com;lr>\r\n"                         \
    "Max-Forwards: 69\r\nTo: <sips:bob@example.com>\r\n"                                           \
    "From: <sips:alice@example.com>;tag=a7\r\nCall-ID: c2@x\r\n"                                   \
    "CSeq: 4 INVITE\r\nContact: <sips:alice@10.0.0.7>\r\nContent-Length: 0\r\n\r\n"

static void uas_early(void) {
    parse(INVITE_RECEIVED, text_a, &msg_a);
    assert_int_equal(floe_sip_dialog_uas_new(&d, &msg_a, "b1", true, FLOE_TRANSPORT_TLS), FLOE_OK);
}

static void in_dialog(const char *method, unsigned cseq, const char *extra) {
    snprintf(text_b, sizeof text_b,
             "%s sips:bob@192.0.2.4 SIP/2.0\r\nVia: SIP/2.0/TLS 10.0.0.7;branch=z9hG4bKr%u\r\n"
             "Max-Forwards: 70\r\nTo: <sips:bob@example.com>;tag=b1\r\n"
             "From: <sips:alice@example.com>;tag=a7\r\nCall-ID: c2@x\r\nCSeq: %u %s\r\n%s"
             "Content-Length: 0\r\n\r\n",
             method, cseq, cseq, method, extra);
    floe_sip_error err;
    if (floe_sip_parse(text_b, strlen(text_b), 0, &msg_b, &err, NULL) != FLOE_OK)
        fail_msg("parse: %s", err.detail);
}

static void test_uas_creation_cseq_and_requests(void **state) {
    (void)state;
    uas_early();
    assert_false(d.uac);
    assert_true(d.secure); /* sips Request-URI over TLS */
    assert_int_equal(d.state, FLOE_SIP_DIALOG_EARLY);
    assert_str(floe_sip_dialog_text(&d, d.local_tag), "b1");
    assert_str(floe_sip_dialog_text(&d, d.remote_tag), "a7");
    assert_str(floe_sip_dialog_text(&d, d.local_uri), "sips:bob@example.com");
    assert_str(floe_sip_dialog_text(&d, d.remote_uri), "sips:alice@example.com");
    assert_str(floe_sip_dialog_text(&d, d.remote_target), "sips:alice@10.0.0.7");
    assert_int_equal(d.n_route, 2); /* in order for the UAS */
    assert_str(floe_sip_dialog_text(&d, d.route[0]), "<sips:p1.example.com;lr>");
    assert_true(d.remote_cseq_set);
    assert_int_equal(d.remote_cseq, 4);
    assert_false(d.local_cseq_set);
    floe_sip_dialog_confirm(&d);
    assert_int_equal(d.state, FLOE_SIP_DIALOG_CONFIRMED);

    /* The UAS's own first request takes CSeq 1; the roles of the URIs are swapped. */
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_dialog_request(&d, "BYE", &out, &ar), FLOE_OK);
    assert_text(print(&out), "BYE sips:alice@10.0.0.7 SIP/2.0\r\n"
                             "Route: <sips:p1.example.com;lr>\r\n"
                             "Route: <sips:p2.example.com;lr>\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: <sips:alice@example.com>;tag=a7\r\n"
                             "From: <sips:bob@example.com>;tag=b1\r\n"
                             "Call-ID: c2@x\r\n"
                             "CSeq: 1 BYE\r\n"
                             "Content-Length: 0\r\n\r\n");

    /* Requests from the peer: in order, or 500. ACK is not checked. */
    in_dialog("INFO", 5, "");
    assert_true(floe_sip_dialog_matches(&d, &msg_b));
    assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_OK);
    assert_int_equal(d.remote_cseq, 5);
    in_dialog("INFO", 3, "");
    assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_ERR_STATE);
    assert_int_equal(d.remote_cseq, 5);
    in_dialog("ACK", 4, "");
    assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_OK);
    assert_int_equal(d.remote_cseq, 5);
    /* UPDATE and re-INVITE refresh the target. */
    in_dialog("UPDATE", 6, "Contact: <sips:alice@10.0.0.8:5071>\r\n");
    assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_OK);
    assert_str(floe_sip_dialog_text(&d, d.remote_target), "sips:alice@10.0.0.8:5071");
    in_dialog("INVITE", 7, "Contact: <sips:alice@10.0.0.9>\r\n");
    assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_OK);
    assert_str(floe_sip_dialog_text(&d, d.remote_target), "sips:alice@10.0.0.9");
    assert_int_equal(d.invite_cseq, 7);
    /* A request of another dialog. */
    in_dialog("BYE", 8, "");
    memcpy(strstr(text_b, "tag=b1"), "tag=zz", 6);
    floe_sip_parse(text_b, strlen(text_b), 0, &msg_b, NULL, NULL);
    assert_false(floe_sip_dialog_matches(&d, &msg_b));
    assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_ERR_NOT_FOUND);
}

static void test_creation_errors_and_caps(void **state) {
    (void)state;
    parse(INVITE_SENT, text_a, &msg_a);
    /* 100 never makes a dialog; 18x without a To tag does not either. */
    parse("SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx1\r\n"
          "To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
          "Call-ID: c1@192.0.2.1\r\nCSeq: 7 INVITE\r\n\r\n",
          text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP),
                     FLOE_ERR_INVAL);
    msg_b.status = 183;
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP),
                     FLOE_ERR_INVAL);
    /* a 2xx without Contact */
    parse("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx1\r\n"
          "To: <sip:bob@example.com>;tag=b\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
          "Call-ID: c1@192.0.2.1\r\nCSeq: 7 INVITE\r\n\r\n",
          text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP),
                     FLOE_ERR_MALFORMED);
    /* ... but a 183 without one uses the Request-URI until a Contact comes */
    msg_b.status = 183;
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP), FLOE_OK);
    assert_str(floe_sip_dialog_text(&d, d.remote_target), "sip:bob@example.com");
    /* UAS: a bad tag, no Contact */
    parse(INVITE_RECEIVED, text_a, &msg_a);
    assert_int_equal(floe_sip_dialog_uas_new(&d, &msg_a, "b 1", true, FLOE_TRANSPORT_TLS),
                     FLOE_ERR_INVAL);
    char *c = strstr(text_a, "Contact:");
    memcpy(c, "X-Nope:", 7);
    c[7] = ' ';
    floe_sip_parse(text_a, strlen(text_a), 0, &msg_a, NULL, NULL);
    assert_int_equal(floe_sip_dialog_uas_new(&d, &msg_a, "b1", true, FLOE_TRANSPORT_TLS),
                     FLOE_ERR_MALFORMED);
    /* Nine routes: over FLOE_SIP_DIALOG_MAX_ROUTES. */
    char big[4096];
    snprintf(big, sizeof big,
             "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx1\r\n"
             "Record-Route: <sip:r1;lr>,<sip:r2;lr>,<sip:r3;lr>,<sip:r4;lr>,<sip:r5;lr>,"
             "<sip:r6;lr>,<sip:r7;lr>,<sip:r8;lr>,<sip:r9;lr>\r\n"
             "To: <sip:bob@example.com>;tag=b\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
             "Call-ID: c1@192.0.2.1\r\nCSeq: 7 INVITE\r\nContact: <sip:b@h>\r\n\r\n");
    parse(INVITE_SENT, text_a, &msg_a);
    parse(big, text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_uac_new(&d, &msg_a, &msg_b, FLOE_TRANSPORT_UDP),
                     FLOE_ERR_LIMIT);
}

static void test_text_compaction(void **state) {
    (void)state;
    uas_early();
    /* Target refreshes replace the remote target over and over: the text is compacted
     * instead of growing. */
    char contact[600];
    for (int i = 0; i < 100; i++) {
        char user[500];
        memset(user, 'u', sizeof user);
        user[400 + i % 50] = '\0';
        snprintf(contact, sizeof contact, "Contact: <sips:%s@10.0.0.%d>\r\n", user, i % 200);
        in_dialog("UPDATE", (unsigned)(10 + i), contact);
        assert_int_equal(floe_sip_dialog_on_request(&d, &msg_b), FLOE_OK);
        floe_sip_str t = floe_sip_dialog_text(&d, d.remote_target);
        assert_int_equal(t.len, strlen("sips:@10.0.0.") + 400 + i % 50 + (i < 10 ? 1 : 2));
    }
    assert_true(d.text_len <= FLOE_SIP_DIALOG_TEXT);
    assert_str(floe_sip_dialog_text(&d, d.call_id), "c2@x");
    assert_str(floe_sip_dialog_text(&d, d.route[1]), "<sips:p2.example.com;lr>");
}

/* ---- RFC 3262 -----------------------------------------------------------------------------------
 */

static void test_uac_rseq_order_and_prack(void **state) {
    (void)state;
    uac_early();
    char r[2048];
    snprintf(r, sizeof r,
             "SIP/2.0 183 Session Progress\r\n"
             "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx1\r\n"
             "To: <sip:bob@example.com>;tag=b9\r\nFrom: <sip:alice@example.com>;tag=a1\r\n"
             "Call-ID: c1@192.0.2.1\r\nCSeq: 7 INVITE\r\nRequire: 100rel\r\nRSeq: %u\r\n"
             "Contact: <sip:bob@192.0.2.4>\r\nContent-Length: 0\r\n\r\n",
             5u);
    parse(r, text_b, &msg_b);
    assert_int_equal(floe_sip_dialog_rseq_check(&d, &msg_b), FLOE_SIP_RSEQ_NEW);
    assert_int_equal(floe_sip_dialog_rseq_check(&d, &msg_b), FLOE_SIP_RSEQ_DUPLICATE);
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    assert_int_equal(floe_sip_dialog_prack(&d, &msg_b, &out, &ar), FLOE_OK);
    assert_text(print(&out), "PRACK sip:bob@192.0.2.4 SIP/2.0\r\n"
                             "Route: <sip:p1.example.com;lr>\r\n"
                             "Route: <sip:p2.example.com;lr>\r\n"
                             "Route: <sip:p3.example.com;lr>\r\n"
                             "Max-Forwards: 70\r\n"
                             "To: <sip:bob@example.com>;tag=b9\r\n"
                             "From: <sip:alice@example.com>;tag=a1\r\n"
                             "Call-ID: c1@192.0.2.1\r\n"
                             "CSeq: 8 PRACK\r\n"
                             "RAck: 5 7 INVITE\r\n"
                             "Content-Length: 0\r\n\r\n");
    char *n = strstr(text_b, "RSeq: 5");
    n[6] = '7';
    floe_sip_parse(text_b, strlen(text_b), 0, &msg_b, NULL, NULL);
    assert_int_equal(floe_sip_dialog_rseq_check(&d, &msg_b), FLOE_SIP_RSEQ_OUT_OF_ORDER);
    n[6] = '6';
    floe_sip_parse(text_b, strlen(text_b), 0, &msg_b, NULL, NULL);
    assert_int_equal(floe_sip_dialog_rseq_check(&d, &msg_b), FLOE_SIP_RSEQ_NEW);
    n[6] = '4';
    floe_sip_parse(text_b, strlen(text_b), 0, &msg_b, NULL, NULL);
    assert_int_equal(floe_sip_dialog_rseq_check(&d, &msg_b), FLOE_SIP_RSEQ_DUPLICATE);
    parse(resp_180, text_b, &msg_b); /* no RSeq: not reliable */
    assert_int_equal(floe_sip_dialog_rseq_check(&d, &msg_b), FLOE_SIP_RSEQ_NONE);
    assert_int_equal(floe_sip_dialog_prack(&d, &msg_b, &out, &ar), FLOE_ERR_INVAL);
}

static void test_uas_reliable_1xx_until_prack(void **state) {
    (void)state;
    uas_early();
    unsigned rs = 0;
    uint32_t rseq = 0;
    assert_int_equal(floe_sip_dialog_rel_1xx(&d, 0, FLOE_SIP_T1, counter_rand, &rs, &rseq),
                     FLOE_OK);
    assert_int_equal(rseq, 0x00010203); /* the first random 31 bits */
    assert_int_equal(floe_sip_dialog_rel_1xx(&d, 0, FLOE_SIP_T1, counter_rand, &rs, NULL),
                     FLOE_ERR_STATE); /* one at a time */
    /* T1 doubling without a cap; given up at 64*T1. */
    uint64_t want[] = {500, 1500, 3500, 7500, 15500, 31500};
    unsigned k = 0;
    floe_sip_dialog_action a;
    floe_time_ns now = 0;
    bool gave_up = false;
    while (!gave_up) {
        now = floe_sip_dialog_deadline(&d);
        assert_true(now != FLOE_TIME_NEVER);
        while ((a = floe_sip_dialog_tick(&d, now)) != FLOE_SIP_DIALOG_NONE) {
            if (a == FLOE_SIP_DIALOG_RESEND_1XX) {
                assert_true(k < 6);
                assert_int_equal(now / FLOE_NS_PER_MS, want[k]);
                k++;
            } else {
                assert_int_equal(a, FLOE_SIP_DIALOG_GIVE_UP_1XX);
                assert_true(now == FLOE_S(32));
                gave_up = true;
            }
        }
    }
    assert_int_equal(k, 6);
    assert_true(floe_sip_dialog_deadline(&d) == FLOE_TIME_NEVER);

    /* The next one takes the next RSeq; a PRACK naming it stops it. */
    assert_int_equal(floe_sip_dialog_rel_1xx(&d, FLOE_S(40), 0, counter_rand, &rs, &rseq), FLOE_OK);
    assert_int_equal(rseq, 0x00010204);
    in_dialog("PRACK", 5, "RAck: 66052 3 INVITE\r\n"); /* wrong CSeq */
    assert_int_equal(floe_sip_dialog_on_prack(&d, &msg_b), FLOE_ERR_NOT_FOUND);
    in_dialog("PRACK", 5, "RAck: 66051 4 INVITE\r\n"); /* the old RSeq */
    assert_int_equal(floe_sip_dialog_on_prack(&d, &msg_b), FLOE_ERR_NOT_FOUND);
    in_dialog("PRACK", 5, "");
    assert_int_equal(floe_sip_dialog_on_prack(&d, &msg_b), FLOE_ERR_MALFORMED);
    in_dialog("PRACK", 5, "RAck: 66052 4 INVITE\r\n");
    assert_int_equal(floe_sip_dialog_on_prack(&d, &msg_b), FLOE_OK);
    assert_true(floe_sip_dialog_deadline(&d) == FLOE_TIME_NEVER);
    assert_int_equal(floe_sip_dialog_on_prack(&d, &msg_b), FLOE_ERR_NOT_FOUND); /* again */
}

/* ---- the 2xx until the ACK, through a transaction layer
 * ------------------------------------------ */

static void test_2xx_retransmitted_until_ack(void **state) {
    (void)state;
    floe_sip_txl_config c;
    floe_sip_txl_config_default(&c);
    unsigned rs = 0;
    c.rand = counter_rand;
    c.rand_ctx = &rs;
    floe_addr_parse("192.0.2.4:5060", &c.local[FLOE_TRANSPORT_UDP]);
    floe_sip_txl *t;
    assert_int_equal(floe_sip_txl_new(&t, &c), FLOE_OK);
    const char *inv = "INVITE sip:bob@192.0.2.4 SIP/2.0\r\n"
                      "Via: SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bKi\r\n"
                      "Max-Forwards: 70\r\nTo: <sip:bob@example.com>\r\n"
                      "From: <sip:alice@example.com>;tag=a7\r\nCall-ID: c3@x\r\n"
                      "CSeq: 1 INVITE\r\nContact: <sip:alice@10.0.0.7>\r\n"
                      "Content-Length: 0\r\n\r\n";
    floe_addr alice;
    floe_addr_parse("198.51.100.7:40000", &alice);
    assert_int_equal(floe_sip_txl_on_recv(t, 0, FLOE_TRANSPORT_UDP, &alice, inv, strlen(inv)),
                     FLOE_OK);
    static floe_sip_txl_event ev;
    assert_true(floe_sip_txl_next_event(t, &ev));
    uint32_t id = ev.id;
    assert_int_equal(floe_sip_dialog_uas_new(&d, &ev.msg, "b1", false, FLOE_TRANSPORT_UDP),
                     FLOE_OK);
    floe_sip_arena ar;
    floe_sip_arena_init(&ar, arena_buf, sizeof arena_buf);
    floe_sip_msg req;
    assert_int_equal(floe_sip_txl_request_of(t, id, &req), FLOE_OK);
    assert_int_equal(floe_sip_msg_response_to(&out, &req, 200, NULL, "b1", &ar), FLOE_OK);
    floe_sip_msg_add(&out, FLOE_SIP_H_CONTACT, "<sip:bob@192.0.2.4>");
    floe_time_ns now = FLOE_MS(100);
    assert_int_equal(floe_sip_txl_respond(t, now, id, &out), FLOE_OK);
    floe_sip_dialog_2xx_sent(&d, now, FLOE_SIP_T1, FLOE_SIP_T2, 1);
    uint64_t sent_ms[32];
    unsigned n_sent = 0;
    char buf[2048];
    size_t len;
    floe_addr to;
    assert_int_equal(floe_sip_txl_next_send(t, now, buf, sizeof buf, &len, &to, NULL), FLOE_OK);
    sent_ms[n_sent++] = now / FLOE_NS_PER_MS;

    /* The runtime loop over both objects until 10 s; the ACK comes at 8 s. */
    bool acked = false;
    for (int guard = 0; guard < 100; guard++) {
        floe_time_ns dl = floe_sip_dialog_deadline(&d);
        floe_time_ns tl = floe_sip_txl_deadline(t);
        floe_time_ns next = dl < tl ? dl : tl;
        if (!acked && next > FLOE_S(8)) next = FLOE_S(8);
        if (next > FLOE_S(10)) break;
        now = next;
        floe_sip_dialog_action a;
        while ((a = floe_sip_dialog_tick(&d, now)) != FLOE_SIP_DIALOG_NONE) {
            assert_int_equal(a, FLOE_SIP_DIALOG_RESEND_2XX);
            assert_int_equal(floe_sip_txl_resend(t, now, id), FLOE_OK);
        }
        if (!acked && now == FLOE_S(8)) {
            const char *ack = "ACK sip:bob@192.0.2.4 SIP/2.0\r\n"
                              "Via: SIP/2.0/UDP 10.0.0.7:5060;rport;branch=z9hG4bKack\r\n"
                              "Max-Forwards: 70\r\nTo: <sip:bob@example.com>;tag=b1\r\n"
                              "From: <sip:alice@example.com>;tag=a7\r\nCall-ID: c3@x\r\n"
                              "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
            assert_int_equal(
                floe_sip_txl_on_recv(t, now, FLOE_TRANSPORT_UDP, &alice, ack, strlen(ack)),
                FLOE_OK);
            assert_true(floe_sip_txl_next_event(t, &ev));
            assert_int_equal(ev.msg.method_id, FLOE_SIP_ACK);
            assert_int_equal(ev.id, 0);
            assert_true(floe_sip_dialog_matches(&d, &ev.msg));
            assert_int_equal(floe_sip_dialog_on_ack(&d, &ev.msg), FLOE_OK);
            acked = true;
        }
        while (floe_sip_txl_next_send(t, now, buf, sizeof buf, &len, &to, NULL) == FLOE_OK) {
            assert_true(strncmp(buf, "SIP/2.0 200 OK\r\n", 16) == 0);
            assert_true(floe_addr_equal(&to, &alice));
            sent_ms[n_sent++] = now / FLOE_NS_PER_MS;
        }
    }
    /* Sent at 100 ms, then 600, 1600, 3600, 7600 (T1 doubling to T2), none after the ACK
     * at 8 s. */
    uint64_t want[] = {100, 600, 1600, 3600, 7600};
    assert_int_equal(n_sent, 5);
    assert_memory_equal(sent_ms, want, sizeof want);
    assert_false(d.ack_pending);
    assert_true(floe_sip_dialog_deadline(&d) == FLOE_TIME_NEVER);
    in_dialog("ACK", 1, "");
    assert_int_equal(floe_sip_dialog_on_ack(&d, &msg_b), FLOE_ERR_NOT_FOUND); /* none pending */
    floe_sip_txl_free(t);
}

static void test_2xx_given_up(void **state) {
    (void)state;
    uas_early();
    floe_sip_dialog_2xx_sent(&d, 0, 0, 0, 4);
    assert_int_equal(d.state, FLOE_SIP_DIALOG_CONFIRMED);
    uint64_t want[] = {500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
    unsigned k = 0;
    floe_time_ns now;
    floe_sip_dialog_action a = FLOE_SIP_DIALOG_NONE;
    while ((now = floe_sip_dialog_deadline(&d)) != FLOE_TIME_NEVER) {
        while ((a = floe_sip_dialog_tick(&d, now)) == FLOE_SIP_DIALOG_RESEND_2XX) {
            assert_true(k < 10);
            assert_int_equal(now / FLOE_NS_PER_MS, want[k]);
            k++;
        }
        if (a == FLOE_SIP_DIALOG_GIVE_UP_2XX) break;
    }
    assert_int_equal(k, 10);
    assert_int_equal(a, FLOE_SIP_DIALOG_GIVE_UP_2XX);
    assert_true(now == FLOE_S(32));
    /* An ACK with another CSeq never counted. */
    floe_sip_dialog_2xx_sent(&d, 0, 0, 0, 4);
    in_dialog("ACK", 3, "");
    assert_int_equal(floe_sip_dialog_on_ack(&d, &msg_b), FLOE_ERR_NOT_FOUND);
    in_dialog("ACK", 4, "");
    assert_int_equal(floe_sip_dialog_on_ack(&d, &msg_b), FLOE_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uac_creation_and_route_reversal),
        cmocka_unit_test(test_loose_route_request),
        cmocka_unit_test(test_strict_route_request),
        cmocka_unit_test(test_uas_creation_cseq_and_requests),
        cmocka_unit_test(test_creation_errors_and_caps),
        cmocka_unit_test(test_text_compaction),
        cmocka_unit_test(test_uac_rseq_order_and_prack),
        cmocka_unit_test(test_uas_reliable_1xx_until_prack),
        cmocka_unit_test(test_2xx_retransmitted_until_ack),
        cmocka_unit_test(test_2xx_given_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
