/* The session descriptions of a call (floe/sip_sdp.h): ours written from an agent and
 * read back, and the peer's read, ICE or not, codecs and defaults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sip_sdp.h"

#define CRLF "\r\n"

static floe_ice_sdp_work work;
static char text[8192];

static int det_rand(void *ctx, void *buf, size_t len) {
    uint8_t *p = buf;
    uint32_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 1103515245u + 12345u;
        p[i] = (uint8_t)(*s >> 16);
    }
    return FLOE_OK;
}

static floe_ice_agent *agent(void) {
    static uint32_t seed = 9;
    floe_ice_config c;
    floe_ice_config_default(&c);
    c.controlling = true;
    c.n_streams = 1;
    c.rand = det_rand;
    c.rand_ctx = &seed;
    floe_ice_agent *a;
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_OK);
    floe_addr h;
    assert_int_equal(floe_addr_parse("192.0.2.10:40000", &h), FLOE_OK);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &h, "eth0", NULL), FLOE_OK);
    assert_int_equal(floe_ice_agent_gather(a, FLOE_S(1)), FLOE_OK);
    return a;
}

static floe_sip_sdp_media read_ok(const char *t) {
    floe_sip_sdp_media m;
    floe_sdp_error e = {0, NULL};
    int rc = floe_sip_sdp_read(t, strlen(t), &work, &m, &e);
    if (rc != FLOE_OK) fail_msg("read: %s (line %d)", e.reason, e.line);
    return m;
}

static int read_rc(const char *t) {
    floe_sip_sdp_media m;
    floe_sdp_error e = {0, NULL};
    return floe_sip_sdp_read(t, strlen(t), &work, &m, &e);
}

static void test_ours_round_trip(void **state) {
    (void)state;
    floe_ice_agent *a = agent();
    floe_sip_sdp_ours o = {.session_id = 1234, .session_version = 1, .payload_type = -1};
    size_t len;
    floe_sdp_error e = {0, NULL};
    assert_int_equal(floe_sip_sdp_write(a, &o, &work, text, sizeof text, &len, &e), FLOE_OK);
    assert_non_null(strstr(text, CRLF "m=audio 40000 RTP/AVP 0 8" CRLF));
    assert_non_null(strstr(text, "o=- 1234 1 IN IP4 192.0.2.10" CRLF));
    floe_sip_sdp_media m = read_ok(text);
    assert_true(m.ice);
    assert_false(m.ice_mismatch);
    assert_true(m.rtcp_mux);
    assert_int_equal(m.payload_type, 0);
    assert_int_equal(m.ptime, 20);
    assert_int_equal(m.dir, FLOE_SDP_SENDRECV);
    assert_int_equal(m.session_id, 1234);
    assert_int_equal(m.session_version, 1);
    floe_addr want;
    floe_addr_parse("192.0.2.10:40000", &want);
    assert_true(floe_addr_equal(&m.rtp, &want));
    assert_true(floe_addr_equal(&m.rtcp, &want)); /* rtcp-mux */
    /* An answer names the one payload type chosen. */
    o.payload_type = 8;
    o.session_version = 2;
    assert_int_equal(floe_sip_sdp_write(a, &o, &work, text, sizeof text, &len, &e), FLOE_OK);
    assert_non_null(strstr(text, CRLF "m=audio 40000 RTP/AVP 8" CRLF));
    assert_non_null(strstr(text, CRLF "a=rtpmap:8 PCMA/8000" CRLF));
    assert_null(strstr(text, "PCMU"));
    assert_non_null(strstr(text, "o=- 1234 2 IN IP4"));
    assert_int_equal(read_ok(text).payload_type, 8);
    o.payload_type = 18;
    assert_int_equal(floe_sip_sdp_write(a, &o, &work, text, sizeof text, &len, &e), FLOE_ERR_INVAL);
    floe_ice_agent_free(a);
}

static const char *plain_phone =
    "v=0" CRLF "o=phone 77 3 IN IP4 198.51.100.20" CRLF "s=call" CRLF "c=IN IP4 198.51.100.20" CRLF
    "t=0 0" CRLF "m=audio 4000 RTP/AVP 18 8 0 101" CRLF "a=rtpmap:18 G729/8000" CRLF
    "a=rtpmap:8 PCMA/8000" CRLF "a=rtpmap:0 PCMU/8000" CRLF "a=rtpmap:101 telephone-event/8000" CRLF
    "a=ptime:30" CRLF "a=sendrecv" CRLF;

static void test_peer_without_ice(void **state) {
    (void)state;
    floe_sip_sdp_media m = read_ok(plain_phone);
    assert_false(m.ice);
    assert_false(m.ice_mismatch);
    assert_false(m.rtcp_mux);
    assert_int_equal(m.payload_type, 8); /* the peer's preference among ours */
    assert_int_equal(m.ptime, 30);
    assert_int_equal(m.session_version, 3);
    floe_addr rtp, rtcp;
    floe_addr_parse("198.51.100.20:4000", &rtp);
    floe_addr_parse("198.51.100.20:4001", &rtcp);
    assert_true(floe_addr_equal(&m.rtp, &rtp));
    assert_true(floe_addr_equal(&m.rtcp, &rtcp));
}

static void test_refusals(void **state) {
    (void)state;
    char t[2048];
    /* No common format: 488 material. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 198.51.100.20" CRLF "s=-" CRLF "c=IN IP4 198.51.100.20" CRLF
             "t=0 0" CRLF "m=audio 4000 RTP/AVP 18 9" CRLF);
    assert_int_equal(read_rc(t), FLOE_ERR_UNSUPPORTED);
    /* 0 mapped to something else is not PCMU. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 198.51.100.20" CRLF "s=-" CRLF "c=IN IP4 198.51.100.20" CRLF
             "t=0 0" CRLF "m=audio 4000 RTP/AVP 0" CRLF "a=rtpmap:0 G729/8000" CRLF);
    assert_int_equal(read_rc(t), FLOE_ERR_UNSUPPORTED);
    /* Audio refused (port 0), or only video: nothing to call with. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 198.51.100.20" CRLF "s=-" CRLF "c=IN IP4 198.51.100.20" CRLF
             "t=0 0" CRLF "m=audio 0 RTP/AVP 0" CRLF "m=video 5000 RTP/AVP 96" CRLF);
    assert_int_equal(read_rc(t), FLOE_ERR_NOT_FOUND);
    /* A name in c=: no address to send to. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 198.51.100.20" CRLF "s=-" CRLF
             "c=IN IP4 pbx.example.net" CRLF "t=0 0" CRLF "m=audio 4000 RTP/AVP 0" CRLF);
    assert_int_equal(read_rc(t), FLOE_ERR_NOT_FOUND);
    assert_int_equal(read_rc("garbage"), FLOE_ERR_MALFORMED);
}

static void test_ice_mismatch(void **state) {
    (void)state;
    char t[2048];
    /* The default was rewritten by a middlebox: it is none of the candidates. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 203.0.113.1" CRLF "s=-" CRLF "c=IN IP4 203.0.113.1" CRLF
             "t=0 0" CRLF "m=audio 9999 RTP/AVP 0" CRLF "a=ice-ufrag:8hhY" CRLF
             "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF
             "a=candidate:1 1 UDP 2130706431 10.0.0.9 7000 typ host" CRLF);
    floe_sip_sdp_media m = read_ok(t);
    assert_true(m.ice_mismatch);
    assert_false(m.ice);
    /* The peer says so itself. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 203.0.113.1" CRLF "s=-" CRLF "c=IN IP4 203.0.113.1" CRLF
             "t=0 0" CRLF "m=audio 9999 RTP/AVP 0" CRLF "a=ice-mismatch" CRLF);
    m = read_ok(t);
    assert_true(m.ice_mismatch);
    assert_false(m.ice);
    /* And a matching one is ICE. */
    snprintf(t, sizeof t,
             "v=0" CRLF "o=- 1 1 IN IP4 10.0.0.9" CRLF "s=-" CRLF "c=IN IP4 10.0.0.9" CRLF
             "t=0 0" CRLF "m=audio 7000 RTP/AVP 0" CRLF "a=ice-ufrag:8hhY" CRLF
             "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF
             "a=candidate:1 1 UDP 2130706431 10.0.0.9 7000 typ host" CRLF);
    m = read_ok(t);
    assert_true(m.ice);
    assert_false(m.ice_mismatch);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ours_round_trip),
        cmocka_unit_test(test_peer_without_ice),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_ice_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
