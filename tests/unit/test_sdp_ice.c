/* Unit tests for include/floe/sdp_ice.h: a=candidate lines (RFC 8839 §5.1 examples,
 * every kind of bad line, unsupported ones), printing, reading the ICE view of a media
 * section (credentials and inheritance, options, pacing, remote-candidates,
 * end-of-candidates, the default destination and the mismatch check, caps, counters),
 * and writing ICE into a description. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"
#include "floe/sdp_ice.h"

#define CRLF "\r\n"

static floe_sdp sdp;
static floe_sdp_ice_media ice;
static char text[32768];

/* ---- candidate lines -------------------------------------------------------------------- */

typedef struct good_case {
    const char *in;
    const char *out; /* what the printer writes back */
    floe_ice_cand_type type;
    unsigned component;
    uint32_t priority;
    const char *addr;    /* floe_addr_format with port */
    const char *related; /* NULL when absent */
} good_case;

static const good_case good[] = {
    /* RFC 8839 §4.2.6 and §5.1 */
    {"1 1 UDP 2130706431 203.0.113.141 8998 typ host", NULL, FLOE_ICE_CAND_HOST, 1, 2130706431,
     "203.0.113.141:8998", NULL},
    {"2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998", NULL,
     FLOE_ICE_CAND_SRFLX, 1, 1694498815, "192.0.2.3:45664", "203.0.113.141:8998"},
    /* RFC 8839 Appendix A, IPv6 with upper-case hex */
    {"1 1 UDP 2130706431 fe80::6676:baff:fe9c:ee4a 8998 typ host", NULL, FLOE_ICE_CAND_HOST, 1,
     2130706431, "[fe80::6676:baff:fe9c:ee4a]:8998", NULL},
    {"2 1 UDP 1694498815 2001:DB8:8101:3a55:4858:a2a9:22ff:99b9 45664 typ srflx raddr "
     "fe80::6676:baff:fe9c:ee4a rport 8998",
     "2 1 UDP 1694498815 2001:db8:8101:3a55:4858:a2a9:22ff:99b9 45664 typ srflx raddr "
     "fe80::6676:baff:fe9c:ee4a rport 8998",
     FLOE_ICE_CAND_SRFLX, 1, 1694498815, "[2001:db8:8101:3a55:4858:a2a9:22ff:99b9]:45664",
     "[fe80::6676:baff:fe9c:ee4a]:8998"},
    /* relay and prflx, hidden related address (RFC 8839 §5.1) */
    {"Rl+/9 2 udp 16777215 198.51.100.9 61000 typ relay raddr 0.0.0.0 rport 0",
     "Rl+/9 2 UDP 16777215 198.51.100.9 61000 typ relay raddr 0.0.0.0 rport 0", FLOE_ICE_CAND_RELAY,
     2, 16777215, "198.51.100.9:61000", "0.0.0.0:0"},
    {"P 1 UDP 1845501695 2001:db8::7 40123 typ prflx raddr :: rport 0", NULL, FLOE_ICE_CAND_PRFLX,
     1, 1845501695, "[2001:db8::7]:40123", "[::]:0"},
    /* a WebRTC line: prefix, lower-case transport, extensions dropped when printed */
    {"candidate:842163049 1 udp 1677729535 203.0.113.1 62137 typ srflx raddr 10.0.0.5 rport 62137 "
     "generation 0 ufrag EsAw network-id 1 network-cost 50",
     "842163049 1 UDP 1677729535 203.0.113.1 62137 typ srflx raddr 10.0.0.5 rport 62137",
     FLOE_ICE_CAND_SRFLX, 1, 1677729535, "203.0.113.1:62137", "10.0.0.5:62137"},
    /* extensions right after the type, no related address */
    {"7 1 UDP 2122260223 192.0.2.7 7000 typ host generation 0",
     "7 1 UDP 2122260223 192.0.2.7 7000 typ host", FLOE_ICE_CAND_HOST, 1, 2122260223,
     "192.0.2.7:7000", NULL},
    /* liberal about the related address (§5.1 wants it on srflx, not on host) */
    {"3 1 UDP 1694498815 192.0.2.3 45664 typ srflx", NULL, FLOE_ICE_CAND_SRFLX, 1, 1694498815,
     "192.0.2.3:45664", NULL},
    {"4 1 UDP 2130706431 10.0.0.1 5000 typ host raddr 10.0.0.1 rport 5000", NULL,
     FLOE_ICE_CAND_HOST, 1, 2130706431, "10.0.0.1:5000", "10.0.0.1:5000"},
    /* range edges */
    {"abcdefghijklmnopqrstuvwxyz012345 255 UDP 2147483647 192.0.2.1 65535 typ host", NULL,
     FLOE_ICE_CAND_HOST, 255, 2147483647u, "192.0.2.1:65535", NULL},
    {"+ 001 UDP 0000000001 192.0.2.1 00001 typ host", "+ 1 UDP 1 192.0.2.1 1 typ host",
     FLOE_ICE_CAND_HOST, 1, 1, "192.0.2.1:1", NULL},
    /* an IPv4-mapped address is an IPv6 literal */
    {"m 1 UDP 5 ::ffff:192.0.2.7 7000 typ host", NULL, FLOE_ICE_CAND_HOST, 1, 5,
     "[::ffff:192.0.2.7]:7000", NULL},
};

static void test_candidate_good(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        const good_case *g = &good[i];
        floe_ice_cand c, d;
        floe_sdp_error e;
        int rc = floe_sdp_candidate_parse(g->in, strlen(g->in), &c, &e);
        if (rc != FLOE_OK) fail_msg("case %zu: %s", i, e.reason);
        assert_null(e.reason);
        assert_int_equal(c.type, g->type);
        assert_int_equal(c.transport, FLOE_TRANSPORT_UDP);
        assert_int_equal(c.component, g->component);
        assert_int_equal(c.priority, g->priority);
        assert_int_equal(c.local_pref, (g->priority >> 8) & 0xffff);
        char a[FLOE_ADDR_STRLEN];
        floe_addr_format(&c.addr, true, a, sizeof a);
        assert_string_equal(a, g->addr);
        if (g->related) {
            floe_addr_format(&c.related, true, a, sizeof a);
            assert_string_equal(a, g->related);
        } else {
            assert_int_equal(c.related.family, FLOE_AF_NONE);
        }
        char line[FLOE_SDP_CANDIDATE_STRLEN];
        int n = floe_sdp_candidate_print(&c, line, sizeof line);
        assert_int_equal(n, strlen(line));
        assert_string_equal(line, g->out ? g->out : g->in);
        assert_int_equal(floe_sdp_candidate_parse(line, (size_t)n, &d, NULL), FLOE_OK);
        assert_memory_equal(&c.addr, &d.addr, sizeof c.addr);
        assert_string_equal(c.foundation, d.foundation);
    }
}

typedef struct bad_cand {
    const char *in;
    int rc;
    const char *reason;
} bad_cand;

#define M_ FLOE_ERR_MALFORMED
#define U_ FLOE_ERR_UNSUPPORTED

static const bad_cand bad[] = {
    /* missing fields and spacing */
    {"", M_, "candidate has an empty field (double or trailing space)"},
    {"candidate:", M_, "candidate has an empty field (double or trailing space)"},
    {"1 1 UDP 2130706431 203.0.113.141 8998 typ", M_, "candidate has fewer than eight fields"},
    {"1 1 UDP 2130706431 203.0.113.141 8998 host", M_, "candidate has fewer than eight fields"},
    {"1 1 UDP 2130706431 203.0.113.141 typ host", M_, "candidate has fewer than eight fields"},
    {"1 1 UDP 2130706431 203.0.113.141  8998 typ host", M_,
     "candidate has an empty field (double or trailing space)"},
    {"1 1 UDP 2130706431 203.0.113.141 8998 typ host ", M_,
     "candidate has an empty field (double or trailing space)"},
    {"1 1 UDP 2130706431 203.0.113.141 8998 type host", M_, "candidate: expected \"typ\""},
    {"1 1 UDP 2130706431 203.0.113.141 8998 TYP host", M_, "candidate: expected \"typ\""},
    /* foundation */
    {"abcdefghijklmnopqrstuvwxyz0123456 1 UDP 1 192.0.2.1 1 typ host", M_,
     "candidate foundation must be 1 to 32 ice-chars"},
    {"a-b 1 UDP 1 192.0.2.1 1 typ host", M_, "candidate foundation must be 1 to 32 ice-chars"},
    /* component */
    {"1 0 UDP 1 192.0.2.1 1 typ host", M_, "candidate component-id out of range (1..256)"},
    {"1 257 UDP 1 192.0.2.1 1 typ host", M_, "candidate component-id out of range (1..256)"},
    {"1 123456 UDP 1 192.0.2.1 1 typ host", M_, "candidate component-id out of range (1..256)"},
    {"1 x UDP 1 192.0.2.1 1 typ host", M_, "candidate component-id out of range (1..256)"},
    /* transport */
    {"1 1 U(P 1 192.0.2.1 1 typ host", M_, "candidate transport is not a token"},
    /* priority: RFC 8445 §5.1.2, 1..2^31-1 */
    {"1 1 UDP 0 192.0.2.1 1 typ host", M_, "candidate priority out of range (1..2^31-1)"},
    {"1 1 UDP 2147483648 192.0.2.1 1 typ host", M_, "candidate priority out of range (1..2^31-1)"},
    {"1 1 UDP 4294967295 192.0.2.1 1 typ host", M_, "candidate priority out of range (1..2^31-1)"},
    {"1 1 UDP 00000000001 192.0.2.1 1 typ host", M_, "candidate priority out of range (1..2^31-1)"},
    {"1 1 UDP -1 192.0.2.1 1 typ host", M_, "candidate priority out of range (1..2^31-1)"},
    /* address */
    {"1 1 UDP 1 192.0.2 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 192.0.2.256 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 2001:db8::zz 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 [2001:db8::1] 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 fe80::1%2 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 192.0.2.1:5 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 bad_name 1 typ host", M_, "candidate address is not an IP address or a name"},
    {"1 1 UDP 1 0.0.0.0 1 typ host", M_,
     "candidate address is unspecified, broadcast or multicast"},
    {"1 1 UDP 1 0.1.2.3 1 typ host", M_,
     "candidate address is unspecified, broadcast or multicast"},
    {"1 1 UDP 1 224.0.0.1 1 typ host", M_,
     "candidate address is unspecified, broadcast or multicast"},
    {"1 1 UDP 1 255.255.255.255 1 typ host", M_,
     "candidate address is unspecified, broadcast or multicast"},
    {"1 1 UDP 1 :: 1 typ host", M_, "candidate address is unspecified, broadcast or multicast"},
    {"1 1 UDP 1 ff02::1 1 typ host", M_,
     "candidate address is unspecified, broadcast or multicast"},
    /* port: 0 cannot receive */
    {"1 1 UDP 1 192.0.2.1 0 typ host", M_, "candidate port out of range (1..65535)"},
    {"1 1 UDP 1 192.0.2.1 65536 typ host", M_, "candidate port out of range (1..65535)"},
    {"1 1 UDP 1 192.0.2.1 999999 typ host", M_, "candidate port out of range (1..65535)"},
    {"1 1 UDP 1 192.0.2.1 x typ host", M_, "candidate port out of range (1..65535)"},
    /* type */
    {"1 1 UDP 1 192.0.2.1 1 typ ho(st", M_, "candidate type is not a token"},
    /* raddr / rport */
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0.1", M_, "candidate raddr without rport"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr", M_, "candidate extension attribute without a value"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0.1 generation 0", M_,
     "candidate raddr without rport"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx rport 5", M_, "candidate rport without raddr before it"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx rport 5 raddr 10.0.0.1", M_,
     "candidate rport without raddr before it"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0.1 raddr 10.0.0.2 rport 1", M_,
     "candidate raddr repeated"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0.1 rport 1 rport 2", M_,
     "candidate rport repeated"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0.1 rport 65536", M_,
     "candidate rport out of range (0..65535)"},
    {"1 1 UDP 1 192.0.2.1 1 typ srflx raddr 10.0.0 rport 1", M_,
     "candidate raddr is not an IP address or a name"},
    /* extensions */
    {"1 1 UDP 1 192.0.2.1 1 typ host generation", M_,
     "candidate extension attribute without a value"},
    {"1 1 UDP 1 192.0.2.1 1 typ host gen(eration 0", M_,
     "candidate extension attribute name is not a token"},
    {"1 1 UDP 1 192.0.2.1 1 typ host generation \x7f", M_,
     "candidate extension attribute value is not VCHARs"},
    {"1 1 UDP 1 192.0.2.1 1 typ host a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10 k 11 l 12 m 13 n 14 "
     "o 15 p 16 q 17 r 18 s 19 t 20 u 21 v 22 w 23 x 24 y 25 z 26 A 27 B 28 C 29",
     M_, "candidate has too many fields"},
    /* valid, but not for floe (RFC 8839 §5.1: ignore) */
    {"3 1 TCP 1518280447 192.0.2.3 9 typ host tcptype active", U_,
     "TCP candidates (RFC 6544) are not supported"},
    {"3 1 SCTP 1 192.0.2.3 9 typ host", U_, "candidate transport is not UDP"},
    {"3 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host", U_,
     "FQDN candidate addresses (mDNS .local included) are not supported"},
    {"3 1 UDP 1 192.0.2.3 9 typ fancy", U_, "unknown candidate type"},
    {"3 256 UDP 1 192.0.2.3 9 typ host", U_, "candidate component-id 256 is not supported"},
    {"3 1 UDP 1 192.0.2.3 9 typ srflx raddr gw.example rport 1", U_, "FQDN raddr is not supported"},
    /* a malformed field wins over an unsupported one */
    {"3 1 TCP 0 192.0.2.3 9 typ host tcptype active", M_,
     "candidate priority out of range (1..2^31-1)"},
    {"3 1 UDP 1 host.local 0 typ host", M_, "candidate port out of range (1..65535)"},
};

static void test_candidate_bad(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        floe_ice_cand c;
        floe_sdp_error e;
        int rc = floe_sdp_candidate_parse(bad[i].in, strlen(bad[i].in), &c, &e);
        if (rc != bad[i].rc || !e.reason || strcmp(e.reason, bad[i].reason) != 0)
            fail_msg("case %zu: got %d \"%s\", want %d \"%s\"\n%s", i, rc,
                     e.reason ? e.reason : "(none)", bad[i].rc, bad[i].reason, bad[i].in);
        assert_int_equal(e.line, 0);
    }
    /* An unsupported TCP candidate is still filled in, flagged by its transport. */
    floe_ice_cand c;
    const char *tcp = "3 1 TCP 1518280447 192.0.2.3 9 typ host tcptype passive";
    assert_int_equal(floe_sdp_candidate_parse(tcp, strlen(tcp), &c, NULL), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(c.transport, FLOE_TRANSPORT_TCP);
    assert_int_equal(c.addr.port, 9);
    assert_int_equal(c.priority, 1518280447);
    /* Arguments. */
    floe_sdp_error e;
    assert_int_equal(floe_sdp_candidate_parse(NULL, 1, &c, &e), FLOE_ERR_INVAL);
    assert_non_null(e.reason);
    assert_int_equal(floe_sdp_candidate_parse("x", 1, NULL, NULL), FLOE_ERR_INVAL);
}

static void test_candidate_print(void **state) {
    (void)state;
    floe_ice_cand c;
    memset(&c, 0, sizeof c);
    c.type = FLOE_ICE_CAND_RELAY;
    c.transport = FLOE_TRANSPORT_UDP;
    c.component = 1;
    c.priority = floe_ice_priority(FLOE_ICE_TYPE_PREF_RELAY, 65535, 1);
    strcpy(c.foundation, "r1");
    uint8_t v6[16] = {0xfe, 0x80, [15] = 9};
    floe_addr_set_v6(&c.addr, v6, 3478);
    c.addr.scope_id = 4; /* zones are not written */
    floe_addr_set_v4(&c.related, 0xcb007105u, 50000);
    char line[FLOE_SDP_CANDIDATE_STRLEN];
    assert_int_equal(floe_sdp_candidate_print(&c, line, sizeof line), 70);
    assert_string_equal(line,
                        "r1 1 UDP 16777215 fe80::9 3478 typ relay raddr 203.0.113.5 rport 50000");

    /* Too small: NOSPACE, still terminated. */
    assert_int_equal(floe_sdp_candidate_print(&c, line, 10), FLOE_ERR_NOSPACE);
    assert_string_equal(line, "r1 1 UDP ");
    assert_int_equal(floe_sdp_candidate_print(&c, NULL, 0), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_sdp_candidate_print(&c, line, 71), 70);
    assert_int_equal(floe_sdp_candidate_print(&c, line, 70), FLOE_ERR_NOSPACE);

    /* What the parser would refuse is not printed. */
#define REFUSED(mutation, rc)                                                                      \
    do {                                                                                           \
        floe_ice_cand x = c;                                                                       \
        mutation;                                                                                  \
        assert_int_equal(floe_sdp_candidate_print(&x, line, sizeof line), rc);                     \
        assert_string_equal(line, "");                                                             \
    } while (0)
    REFUSED(x.foundation[0] = '\0', FLOE_ERR_INVAL);
    REFUSED(strcpy(x.foundation, "a-b"), FLOE_ERR_INVAL);
    REFUSED(x.component = 0, FLOE_ERR_INVAL);
    REFUSED(x.priority = 0, FLOE_ERR_INVAL);
    REFUSED(x.priority = 0x80000000u, FLOE_ERR_INVAL);
    REFUSED(x.transport = FLOE_TRANSPORT_TCP, FLOE_ERR_UNSUPPORTED);
    REFUSED(x.addr.family = FLOE_AF_NONE, FLOE_ERR_INVAL);
    REFUSED(x.addr.port = 0, FLOE_ERR_INVAL);
    REFUSED(floe_addr_set_v4(&x.addr, 0, 1), FLOE_ERR_INVAL);
    REFUSED(floe_addr_set_v4(&x.addr, 0xe0000001u, 1), FLOE_ERR_INVAL);
    REFUSED(x.type = (floe_ice_cand_type)9, FLOE_ERR_INVAL);
    REFUSED(x.related.family = 5, FLOE_ERR_INVAL);
#undef REFUSED
    assert_int_equal(floe_sdp_candidate_print(NULL, line, sizeof line), FLOE_ERR_INVAL);
}

/* ---- reading a media section ---------------------------------------------------------------- */

static int parse_media(const char *t, size_t mi, floe_sdp_ice_stats *st, floe_sdp_error *e) {
    floe_sdp_error pe;
    int rc = floe_sdp_parse(t, strlen(t), &sdp, &pe, NULL);
    if (rc != FLOE_OK) fail_msg("SDP: %s at line %d", pe.reason, pe.line);
    return floe_sdp_ice_media_parse(&sdp, mi, &ice, st, e);
}

static void parse_ok(const char *t, size_t mi) {
    floe_sdp_error e;
    int rc = parse_media(t, mi, NULL, &e);
    if (rc != FLOE_OK) fail_msg("ICE: %s at line %d", e.reason, e.line);
}

#define HEAD "v=0" CRLF "o=- 1 1 IN IP4 192.0.2.3" CRLF "s=-" CRLF
#define CONN "c=IN IP4 192.0.2.3" CRLF
#define TIME "t=0 0" CRLF
#define UFRAG "a=ice-ufrag:8hhY" CRLF
#define PWD "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF
#define AUDIO "m=audio 45664 RTP/AVP 0" CRLF
#define HOST1 "a=candidate:1 1 UDP 2130706431 192.0.2.3 45664 typ host" CRLF
#define HOST2 "a=candidate:1 2 UDP 2130706430 192.0.2.3 45665 typ host" CRLF

/* RFC 8839 §4.2.6: session-level credentials and ice2, a srflx default. */
static void test_rfc8839_example(void **state) {
    (void)state;
    floe_sdp_ice_stats st = {0};
    floe_sdp_error e;
    assert_int_equal(parse_media("v=0" CRLF "o=jdoe 2890844526 2890842807 IN IP4 203.0.113.141" CRLF
                                 "s=" CRLF "c=IN IP4 192.0.2.3" CRLF "t=0 0" CRLF
                                 "a=ice-options:ice2" CRLF "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF
                                 "a=ice-ufrag:8hhY" CRLF "m=audio 45664 RTP/AVP 0" CRLF
                                 "b=RS:0" CRLF "b=RR:0" CRLF "a=rtpmap:0 PCMU/8000" CRLF
                                 "a=candidate:1 1 UDP 2130706431 203.0.113.141 8998 typ host" CRLF
                                 "a=candidate:2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr "
                                 "203.0.113.141 rport 8998" CRLF,
                                 0, &st, &e),
                     FLOE_OK);
    assert_true(ice.ice);
    assert_string_equal(ice.ufrag, "8hhY");
    assert_string_equal(ice.pwd, "asd88fgpdd777uzjYhagZg");
    assert_true(ice.ice2);
    assert_false(ice.trickle || ice.lite || ice.end_of_candidates || ice.peer_mismatch);
    assert_int_equal(ice.pacing_ms, 0);
    assert_int_equal(ice.n_cands, 2);
    assert_int_equal(ice.cands[1].type, FLOE_ICE_CAND_SRFLX);
    char a[FLOE_ADDR_STRLEN];
    floe_addr_format(&ice.default_rtp, true, a, sizeof a);
    assert_string_equal(a, "192.0.2.3:45664");
    floe_addr_format(&ice.default_rtcp, true, a, sizeof a);
    assert_string_equal(a, "192.0.2.3:45665");
    assert_false(ice.has_rtcp_attr || ice.default_fqdn || ice.default_placeholder);
    assert_false(ice.mismatch);
    assert_int_equal(st.media_parsed, 1);
    assert_int_equal(st.cand_ok, 2);
    assert_int_equal(st.mismatch, 0);
}

/* RFC 8839 Appendix A: the IPv6 offer and the ICE-lite style answer. */
static void test_rfc8839_appendix(void **state) {
    (void)state;
    parse_ok("v=0" CRLF "o=jdoe 2890844526 2890842807 IN IP6 fe80::6676:baff:fe9c:ee4a" CRLF
             "s=" CRLF "c=IN IP6 2001:DB8:8101:3a55:4858:a2a9:22ff:99b9" CRLF "t=0 0" CRLF
             "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF "a=ice-ufrag:8hhY" CRLF
             "m=audio 45664 RTP/AVP 0" CRLF "b=RS:0" CRLF "b=RR:0" CRLF "a=rtpmap:0 PCMU/8000" CRLF
             "a=candidate:1 1 UDP 2130706431 fe80::6676:baff:fe9c:ee4a 8998 typ host" CRLF
             "a=candidate:2 1 UDP 1694498815 2001:DB8:8101:3a55:4858:a2a9:22ff:99b9 45664 typ "
             "srflx raddr fe80::6676:baff:fe9c:ee4a rport 8998" CRLF,
             0);
    assert_int_equal(ice.n_cands, 2);
    assert_int_equal(ice.default_rtp.family, FLOE_AF_INET6);
    assert_false(ice.mismatch);
    assert_false(ice.ice2); /* an RFC 5245 peer */

    parse_ok("v=0" CRLF "o=bob 2808844564 2808844564 IN IP4 192.0.2.1" CRLF "s=" CRLF
             "c=IN IP4 192.0.2.1" CRLF "t=0 0" CRLF "a=ice-lite" CRLF
             "a=ice-pwd:YH75Fviy6338Vbrhrlp8Yh" CRLF "a=ice-ufrag:9uB6" CRLF
             "m=audio 3478 RTP/AVP 0" CRLF "b=RS:0" CRLF "b=RR:0" CRLF "a=rtpmap:0 PCMU/8000" CRLF
             "a=candidate:1 1 UDP 2130706431 192.0.2.1 3478 typ host" CRLF,
             0);
    assert_true(ice.lite);
    assert_string_equal(ice.ufrag, "9uB6");
    assert_false(ice.mismatch);
}

/* Credentials: media level wins, session level is inherited, lengths are checked. */
static void test_credentials(void **state) {
    (void)state;
    parse_ok(HEAD CONN TIME UFRAG PWD AUDIO
             "a=ice-ufrag:MEDIA" CRLF HOST1 "m=audio 45666 RTP/AVP 0" CRLF
             "a=candidate:1 1 UDP 2130706431 192.0.2.3 45666 typ host" CRLF
             "a=ice-pwd:PWDPWDPWDPWDPWDPWDPWDP" CRLF,
             0);
    assert_string_equal(ice.ufrag, "MEDIA");
    assert_string_equal(ice.pwd, "asd88fgpdd777uzjYhagZg");
    floe_sdp_error e;
    assert_int_equal(floe_sdp_ice_media_parse(&sdp, 1, &ice, NULL, &e), FLOE_OK);
    assert_string_equal(ice.ufrag, "8hhY");
    assert_string_equal(ice.pwd, "PWDPWDPWDPWDPWDPWDPWDP");

    /* 4 and 256 ufrag chars, 22 and 256 password chars are fine. */
    char u256[257], p256[257];
    memset(u256, 'u', 256);
    u256[256] = '\0';
    memset(p256, 'p', 256);
    p256[256] = '\0';
    snprintf(text, sizeof text,
             HEAD CONN TIME AUDIO "a=ice-ufrag:%s" CRLF "a=ice-pwd:%s" CRLF HOST1, u256, p256);
    parse_ok(text, 0);
    assert_string_equal(ice.ufrag, u256);
    assert_string_equal(ice.pwd, p256);

    static const struct {
        const char *t;
        int line;
        const char *reason;
    } cases[] = {
        {HEAD CONN TIME AUDIO "a=ice-ufrag:abc" CRLF PWD HOST1, 7,
         "a=ice-ufrag must be 4 to 256 ice-chars"},
        {HEAD CONN TIME AUDIO "a=ice-ufrag:ab-cd" CRLF PWD HOST1, 7,
         "a=ice-ufrag must be 4 to 256 ice-chars"},
        {HEAD CONN TIME "a=ice-ufrag" CRLF AUDIO PWD HOST1, 6,
         "a=ice-ufrag must be 4 to 256 ice-chars"},
        {HEAD CONN TIME AUDIO UFRAG "a=ice-pwd:asd88fgpdd777uzjYhagZ" CRLF HOST1, 8,
         "a=ice-pwd must be 22 to 256 ice-chars"},
        {HEAD CONN TIME AUDIO UFRAG "a=ice-pwd:asd88fgpdd777uzjYhagZ g" CRLF HOST1, 8,
         "a=ice-pwd must be 22 to 256 ice-chars"},
        {HEAD CONN TIME AUDIO UFRAG UFRAG PWD HOST1, 8, "a=ice-ufrag repeated"},
        {HEAD CONN TIME PWD PWD AUDIO UFRAG HOST1, 7, "a=ice-pwd repeated"},
        {HEAD CONN TIME AUDIO UFRAG PWD HOST1 "m=audio 45666 RTP/AVP 0" CRLF UFRAG
                                              "a=ice-pwd:PWDPWDPWDPWDPWDPWDPWDP" CRLF,
         8, "two m= sections share an ice-ufrag but not the ice-pwd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        floe_sdp_ice_stats st = {0};
        int rc = parse_media(cases[i].t, 0, &st, &e);
        if (rc != FLOE_ERR_MALFORMED || e.line != cases[i].line ||
            strcmp(e.reason, cases[i].reason))
            fail_msg("case %zu: got %d line %d \"%s\"", i, rc, e.line, e.reason ? e.reason : "");
        assert_int_equal(st.bad_credentials, 1);
        assert_int_equal(st.media_parsed, 0);
    }
    /* Over 256 characters. */
    snprintf(text, sizeof text, HEAD CONN TIME AUDIO "a=ice-ufrag:%sx" CRLF PWD HOST1, u256);
    assert_int_equal(parse_media(text, 0, NULL, &e), FLOE_ERR_MALFORMED);
    assert_string_equal(e.reason, "a=ice-ufrag must be 4 to 256 ice-chars");
    snprintf(text, sizeof text, HEAD CONN TIME AUDIO UFRAG "a=ice-pwd:%sx" CRLF HOST1, p256);
    assert_int_equal(parse_media(text, 0, NULL, &e), FLOE_ERR_MALFORMED);
    assert_string_equal(e.reason, "a=ice-pwd must be 22 to 256 ice-chars");

    /* ICE attributes without credentials: the m= line is blamed. */
    floe_sdp_ice_stats st = {0};
    assert_int_equal(parse_media(HEAD CONN TIME AUDIO UFRAG HOST1, 0, &st, &e), FLOE_ERR_MALFORMED);
    assert_int_equal(e.line, 6);
    assert_string_equal(e.reason, "ICE attributes without a=ice-pwd");
    assert_int_equal(parse_media(HEAD CONN TIME AUDIO HOST1, 0, &st, &e), FLOE_ERR_MALFORMED);
    assert_string_equal(e.reason, "ICE attributes without a=ice-ufrag");
    assert_int_equal(parse_media(HEAD CONN TIME AUDIO PWD, 0, &st, &e), FLOE_ERR_MALFORMED);
    assert_string_equal(e.reason, "ICE attributes without a=ice-ufrag");
    assert_int_equal(st.missing_credentials, 3);
}

/* No ICE attribute at all: a plain RFC 3264 peer, not an error. */
static void test_no_ice(void **state) {
    (void)state;
    floe_sdp_ice_stats st = {0};
    floe_sdp_error e;
    assert_int_equal(parse_media(HEAD CONN TIME AUDIO "a=rtpmap:0 PCMU/8000" CRLF, 0, &st, &e),
                     FLOE_OK);
    assert_false(ice.ice);
    assert_false(ice.mismatch);
    assert_int_equal(ice.n_cands, 0);
    assert_int_equal(st.media_parsed, 1);
    assert_int_equal(st.mismatch, 0);
    assert_int_equal(floe_sdp_ice_media_parse(&sdp, 1, &ice, NULL, &e), FLOE_ERR_INVAL);
    assert_int_equal(floe_sdp_ice_media_parse(NULL, 0, &ice, NULL, NULL), FLOE_ERR_INVAL);
}

/* RFC 8839 §4.2.5: the default destination must be among the candidates. */
static void test_mismatch(void **state) {
    (void)state;
    static const struct {
        const char *t;
        bool mismatch;
        bool placeholder;
        bool fqdn;
    } cases[] = {
        /* the default is the host candidate */
        {HEAD CONN TIME UFRAG PWD AUDIO HOST1, false, false, false},
        /* an ALG rewrote c=: no candidate has that address */
        {HEAD "c=IN IP4 198.51.100.1" CRLF TIME UFRAG PWD AUDIO HOST1, true, false, false},
        /* ... or the port */
        {HEAD CONN TIME UFRAG PWD "m=audio 45000 RTP/AVP 0" CRLF HOST1, true, false, false},
        /* credentials but no candidate at all */
        {HEAD CONN TIME UFRAG PWD AUDIO, true, false, false},
        /* the default is a TCP one (proto), the candidate UDP */
        {HEAD CONN TIME UFRAG PWD "m=audio 45664 TCP/RTP/AVP 0" CRLF HOST1, true, false, false},
        /* a default given as a component-2 candidate only */
        {HEAD CONN TIME UFRAG PWD AUDIO
         "a=candidate:1 2 UDP 2130706431 192.0.2.3 45664 typ host" CRLF,
         true, false, false},
        /* RTCP: port + 1 by default */
        {HEAD CONN TIME UFRAG PWD AUDIO HOST1 HOST2, false, false, false},
        {HEAD CONN TIME UFRAG PWD AUDIO HOST1
         "a=candidate:1 2 UDP 2130706430 192.0.2.3 45700 typ host" CRLF,
         true, false, false},
        /* RTCP: a=rtcp (RFC 3605) names it */
        {HEAD CONN TIME UFRAG PWD AUDIO
         "a=rtcp:45700" CRLF HOST1 "a=candidate:1 2 UDP 2130706430 192.0.2.3 45700 typ host" CRLF,
         false, false, false},
        {HEAD CONN TIME UFRAG PWD AUDIO
         "a=rtcp:45700 IN IP4 192.0.2.9" CRLF HOST1
         "a=candidate:1 2 UDP 2130706430 192.0.2.9 45700 typ host" CRLF,
         false, false, false},
        {HEAD CONN TIME UFRAG PWD AUDIO "a=rtcp:45665 IN IP4 192.0.2.9" CRLF HOST1 HOST2, true,
         false, false},
        /* rtcp-mux: no component 2 at all, a=rtcp ignored */
        {HEAD CONN TIME UFRAG PWD AUDIO "a=rtcp:45664" CRLF "a=rtcp-mux" CRLF HOST1, false, false,
         false},
        /* the placeholders (§4.2.5 item 2) */
        {HEAD "c=IN IP4 0.0.0.0" CRLF TIME UFRAG PWD "m=audio 9 RTP/AVP 0" CRLF, false, true,
         false},
        {HEAD "c=IN IP6 ::" CRLF TIME UFRAG PWD "m=audio 9 RTP/AVP 0" CRLF HOST1, false, true,
         false},
        {HEAD "c=IN IP4 0.0.0.0" CRLF TIME UFRAG PWD "m=audio 10 RTP/AVP 0" CRLF, true, false,
         false},
        /* a domain name in c= (item 4) */
        {HEAD "c=IN IP4 media.example.com" CRLF TIME UFRAG PWD AUDIO HOST1, false, false, true},
        /* a rejected stream */
        {HEAD CONN TIME UFRAG PWD "m=audio 0 RTP/AVP 0" CRLF, false, false, false},
        /* the peer already said so: no second verdict */
        {HEAD CONN TIME UFRAG PWD AUDIO "a=ice-mismatch" CRLF, false, false, false},
        /* the media c= wins over the session one */
        {HEAD "c=IN IP4 198.51.100.1" CRLF TIME UFRAG PWD AUDIO CONN HOST1, false, false, false},
    };
    uint64_t want = 0;
    floe_sdp_ice_stats st = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        floe_sdp_error e;
        int rc = parse_media(cases[i].t, 0, &st, &e);
        if (rc != FLOE_OK) fail_msg("case %zu: %s", i, e.reason);
        if (ice.mismatch != cases[i].mismatch || ice.default_placeholder != cases[i].placeholder ||
            ice.default_fqdn != cases[i].fqdn)
            fail_msg("case %zu: mismatch %d placeholder %d fqdn %d", i, ice.mismatch,
                     ice.default_placeholder, ice.default_fqdn);
        want += cases[i].mismatch;
    }
    assert_int_equal(st.mismatch, want);
    assert_int_equal(st.media_parsed, sizeof cases / sizeof cases[0]);
    /* The last but one: the peer's a=ice-mismatch. */
    parse_ok(HEAD CONN TIME AUDIO "a=ice-mismatch" CRLF, 0);
    assert_true(ice.peer_mismatch);
    assert_false(ice.ice);
    /* a=rtcp with an address. */
    parse_ok(HEAD CONN TIME UFRAG PWD AUDIO "a=rtcp:53020 IN IP6 2001:db8::9" CRLF HOST1, 0);
    assert_true(ice.has_rtcp_attr);
    char a[FLOE_ADDR_STRLEN];
    floe_addr_format(&ice.default_rtcp, true, a, sizeof a);
    assert_string_equal(a, "[2001:db8::9]:53020");
}

static void test_options_and_flags(void **state) {
    (void)state;
    parse_ok(HEAD CONN TIME "a=ice-options:rtp+ecn ice2" CRLF "a=ice-pacing:40" CRLF
                            "a=end-of-candidates" CRLF UFRAG PWD AUDIO "a=ice-options:trickle" CRLF
                            "a=ice-lite" CRLF "a=ice-pacing:5" CRLF HOST1,
             0);
    assert_true(ice.ice2 && ice.trickle);
    assert_int_equal(ice.pacing_ms, 40); /* the media-level one is ignored */
    assert_false(ice.lite);              /* ditto: ice-lite is session-level */
    assert_true(ice.end_of_candidates);
    parse_ok(HEAD CONN TIME UFRAG PWD AUDIO HOST1 "a=end-of-candidates" CRLF, 0);
    assert_true(ice.end_of_candidates);
    assert_int_equal(ice.pacing_ms, 0);

    /* pacing-value = 1*10DIGIT (RFC 8839 §5.5): all ten-digit values are valid; beyond 32
     * bits they read as UINT32_MAX. 0 reads as absent. */
    parse_ok(HEAD CONN TIME "a=ice-pacing:4294967296" CRLF UFRAG PWD AUDIO HOST1, 0);
    assert_int_equal(ice.pacing_ms, UINT32_MAX);
    parse_ok(HEAD CONN TIME "a=ice-pacing:9999999999" CRLF UFRAG PWD AUDIO HOST1, 0);
    assert_int_equal(ice.pacing_ms, UINT32_MAX);
    parse_ok(HEAD CONN TIME "a=ice-pacing:0020" CRLF UFRAG PWD AUDIO HOST1, 0);
    assert_int_equal(ice.pacing_ms, 20);
    parse_ok(HEAD CONN TIME "a=ice-pacing:0" CRLF UFRAG PWD AUDIO HOST1, 0);
    assert_int_equal(ice.pacing_ms, 0);

    /* RFC 8445 §14.2, RFC 8839 §5.5: the larger proposal; a side without one counts as
     * 50 ms; no 50 ms floor under two proposals; never below 5 ms. */
    assert_int_equal(floe_sdp_ice_pacing(0, 0), 50);
    assert_int_equal(floe_sdp_ice_pacing(40, 0), 50);
    assert_int_equal(floe_sdp_ice_pacing(0, 40), 50);
    assert_int_equal(floe_sdp_ice_pacing(0, 80), 80);
    assert_int_equal(floe_sdp_ice_pacing(20, 80), 80);
    assert_int_equal(floe_sdp_ice_pacing(100, 60), 100);
    assert_int_equal(floe_sdp_ice_pacing(20, 30), 30);
    assert_int_equal(floe_sdp_ice_pacing(20, 20), 20);
    assert_int_equal(floe_sdp_ice_pacing(1, 2), FLOE_SDP_ICE_PACING_MIN);
    assert_int_equal(floe_sdp_ice_pacing(5, 0), 50);
    assert_int_equal(floe_sdp_ice_pacing(UINT32_MAX, 0), UINT32_MAX);

    static const struct {
        const char *t;
        int line;
        const char *reason;
    } cases[] = {
        {HEAD CONN TIME "a=ice-options" CRLF, 6, "a=ice-options without a value"},
        {HEAD CONN TIME "a=ice-options:" CRLF, 6, "a=ice-options without a value"},
        {HEAD CONN TIME "a=ice-options:ice2  trickle" CRLF, 6,
         "a=ice-options tag is not 1*ice-char"},
        {HEAD CONN TIME "a=ice-options:ice2 " CRLF, 6, "a=ice-options tag is not 1*ice-char"},
        {HEAD CONN TIME "a=ice-options:ice-2" CRLF, 6, "a=ice-options tag is not 1*ice-char"},
        {HEAD CONN TIME "a=ice-pacing:fast" CRLF, 6, "a=ice-pacing is not a number of ms"},
        {HEAD CONN TIME "a=ice-pacing:12345678901" CRLF, 6, "a=ice-pacing is not a number of ms"},
        {HEAD CONN TIME "a=ice-pacing:-5" CRLF, 6, "a=ice-pacing is not a number of ms"},
        {HEAD CONN TIME "a=ice-pacing:50ms" CRLF, 6, "a=ice-pacing is not a number of ms"},
        {HEAD CONN TIME "a=ice-pacing" CRLF, 6, "a=ice-pacing is not a number of ms"},
        {HEAD CONN TIME "a=ice-pacing:50" CRLF "a=ice-pacing:60" CRLF, 7, "a=ice-pacing repeated"},
        {HEAD CONN TIME "a=ice-lite:yes" CRLF, 6, "a=ice-lite takes no value"},
        {HEAD CONN TIME "a=end-of-candidates:1" CRLF, 6, "a=end-of-candidates takes no value"},
        {HEAD CONN TIME "a=candidate:1 1 UDP 1 192.0.2.3 1 typ host" CRLF, 6,
         "a=candidate and a=remote-candidates are media-level attributes"},
        {HEAD CONN TIME "a=remote-candidates:1 192.0.2.3 1" CRLF, 6,
         "a=candidate and a=remote-candidates are media-level attributes"},
        {HEAD CONN TIME AUDIO "a=ice-mismatch:x" CRLF, 7, "a=ice-mismatch takes no value"},
        {HEAD CONN TIME AUDIO "a=rtcp:x" CRLF, 7, "a=rtcp port out of range"},
        {HEAD CONN TIME AUDIO "a=rtcp:1 IN IP4" CRLF, 7,
         "a=rtcp needs a port and optionally an address"},
        {HEAD CONN TIME AUDIO "a=rtcp:1 IN IP4 ::1" CRLF, 7, "IPv6 address with address type IP4"},
        {HEAD CONN TIME AUDIO "a=rtcp:1" CRLF "a=rtcp:2" CRLF, 8, "a=rtcp repeated"},
    };
    floe_sdp_ice_stats st = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        floe_sdp_error e;
        const char *t = cases[i].t;
        /* Session-level cases get a media section to read. */
        if (!strstr(t, "m=audio")) {
            snprintf(text, sizeof text, "%s%s", t, AUDIO);
            t = text;
        }
        int rc = parse_media(t, 0, &st, &e);
        if (rc != FLOE_ERR_MALFORMED || e.line != cases[i].line ||
            strcmp(e.reason, cases[i].reason))
            fail_msg("case %zu: got %d line %d \"%s\"", i, rc, e.line, e.reason ? e.reason : "");
    }
    assert_int_equal(st.bad_attr, sizeof cases / sizeof cases[0]);
}

static void test_remote_candidates(void **state) {
    (void)state;
    /* RFC 8839 §5.2: one attribute per component. */
    parse_ok(HEAD CONN TIME UFRAG PWD AUDIO HOST1 HOST2
             "a=remote-candidates:1 192.0.2.3 45664" CRLF
             "a=remote-candidates:2 192.0.2.3 45665" CRLF,
             0);
    assert_int_equal(ice.n_remote, 2);
    assert_int_equal(ice.remote[0].component, 1);
    assert_int_equal(ice.remote[1].component, 2);
    assert_int_equal(ice.remote[1].addr.port, 45665);
    /* Or all in one. */
    parse_ok(HEAD CONN TIME UFRAG PWD AUDIO HOST1
             "a=remote-candidates:1 2001:db8::1 5000 2 2001:db8::1 5001" CRLF,
             0);
    assert_int_equal(ice.n_remote, 2);
    assert_int_equal(ice.remote[0].addr.family, FLOE_AF_INET6);

    static const char *const bad_values[] = {
        "1 192.0.2.3",        "1 192.0.2.3 5000 2",  "0 192.0.2.3 5000",
        "256 192.0.2.3 5000", "1 host.example 5000", "1 192.0.2.3 0",
        "1 192.0.2.3 65536",  "1  192.0.2.3 5000",   "",
    };
    floe_sdp_ice_stats st = {0};
    for (size_t i = 0; i < sizeof bad_values / sizeof bad_values[0]; i++) {
        snprintf(text, sizeof text,
                 HEAD CONN TIME UFRAG PWD AUDIO HOST1 "a=remote-candidates:%s" CRLF, bad_values[i]);
        floe_sdp_error e;
        if (parse_media(text, 0, &st, &e) != FLOE_ERR_MALFORMED || e.line != 10)
            fail_msg("case %zu accepted", i);
    }
    assert_int_equal(st.bad_attr, sizeof bad_values / sizeof bad_values[0]);
    /* The cap. */
    size_t n = (size_t)snprintf(text, sizeof text, HEAD CONN TIME UFRAG PWD AUDIO HOST1);
    for (int i = 0; i <= FLOE_SDP_ICE_MAX_REMOTE; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "a=remote-candidates:1 192.0.2.3 %d" CRLF,
                              1000 + i);
    floe_sdp_error e;
    assert_int_equal(parse_media(text, 0, NULL, &e), FLOE_ERR_LIMIT);
    assert_string_equal(e.reason, "too many remote candidates");
}

/* Bad lines fail the section; unusable ones are skipped and counted; the cap holds. */
static void test_candidate_lines_in_media(void **state) {
    (void)state;
    floe_sdp_ice_stats st = {0};
    floe_sdp_error e;
    assert_int_equal(parse_media(HEAD CONN TIME UFRAG PWD AUDIO HOST1
                                 "a=candidate:2 1 UDP 0 192.0.2.3 45664 typ host" CRLF,
                                 0, &st, &e),
                     FLOE_ERR_MALFORMED);
    assert_int_equal(e.line, 10);
    assert_string_equal(e.reason, "candidate priority out of range (1..2^31-1)");
    assert_int_equal(st.cand_bad, 1);
    assert_int_equal(st.cand_ok, 0);
    assert_int_equal(parse_media(HEAD CONN TIME UFRAG PWD AUDIO "a=candidate" CRLF, 0, &st, &e),
                     FLOE_ERR_MALFORMED);
    assert_int_equal(st.cand_bad, 2);

    assert_int_equal(
        parse_media(HEAD CONN TIME UFRAG PWD AUDIO HOST1
                    "a=candidate:2 1 TCP 1518280447 192.0.2.3 9 typ host tcptype active" CRLF
                    "a=candidate:3 1 udp 2122260223 1f4712db.local 54321 typ host" CRLF
                    "a=candidate:4 1 UDP 5 192.0.2.3 5 typ newtype" CRLF,
                    0, &st, &e),
        FLOE_OK);
    assert_int_equal(ice.n_cands, 1);
    assert_int_equal(ice.n_skipped, 3);
    assert_int_equal(st.cand_unsupported, 3);
    assert_int_equal(st.cand_ok, 1);

    /* Only unsupported candidates still mean ICE is in use. */
    parse_ok(HEAD "c=IN IP4 192.0.2.3" CRLF TIME UFRAG PWD AUDIO
                  "a=candidate:3 1 udp 2122260223 x.local 45664 typ host" CRLF,
             0);
    assert_true(ice.ice);
    assert_true(ice.mismatch);

    /* FLOE_SDP_ICE_MAX_CANDIDATES fit; one more does not. */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = (size_t)snprintf(text, sizeof text, HEAD CONN TIME UFRAG PWD AUDIO);
        for (int i = 0; i < FLOE_SDP_ICE_MAX_CANDIDATES + extra; i++)
            n += (size_t)snprintf(text + n, sizeof text - n,
                                  "a=candidate:%d 1 UDP %d 192.0.2.3 %d typ host" CRLF, i, 1000 + i,
                                  45664 + i);
        memset(&st, 0, sizeof st);
        int rc = parse_media(text, 0, &st, &e);
        if (!extra) {
            assert_int_equal(rc, FLOE_OK);
            assert_int_equal(ice.n_cands, FLOE_SDP_ICE_MAX_CANDIDATES);
            assert_int_equal(st.cand_ok, FLOE_SDP_ICE_MAX_CANDIDATES);
        } else {
            assert_int_equal(rc, FLOE_ERR_LIMIT);
            assert_string_equal(e.reason, "too many a=candidate lines");
            assert_int_equal(e.line, 9 + FLOE_SDP_ICE_MAX_CANDIDATES);
            assert_int_equal(st.cand_too_many, 1);
            assert_int_equal(st.cand_ok, 0);
        }
    }
}

/* ---- writing --------------------------------------------------------------------------------- */

static floe_ice_cand mk(floe_ice_cand_type t, unsigned comp, const char *ip, uint16_t port,
                        const char *rel, uint16_t rport, unsigned local_pref) {
    floe_ice_cand c;
    memset(&c, 0, sizeof c);
    c.type = t;
    c.transport = FLOE_TRANSPORT_UDP;
    c.component = (uint8_t)comp;
    c.local_pref = (uint16_t)local_pref;
    c.priority = floe_ice_priority(floe_ice_type_pref(t), local_pref, comp);
    snprintf(c.foundation, sizeof c.foundation, "%s%u", floe_ice_cand_type_name(t), (unsigned)t);
    assert_int_equal(floe_addr_parse(ip, &c.addr), FLOE_OK);
    c.addr.port = port;
    if (rel) {
        assert_int_equal(floe_addr_parse(rel, &c.related), FLOE_OK);
        c.related.port = rport;
    }
    return c;
}

static void test_write_offer(void **state) {
    (void)state;
    static floe_sdp s;
    char mem[2048];
    floe_sdp_arena ar;
    floe_sdp_arena_init(&ar, mem, sizeof mem);
    floe_sdp_init(&s);
    floe_addr host;
    floe_addr_parse("192.168.1.20", &host);
    assert_int_equal(floe_sdp_origin_set(&s, "floe", 1, 1, &host, &ar), FLOE_OK);
    const floe_sdp_ice_session opt = {false, true, false, 0};
    assert_int_equal(floe_sdp_ice_session_write(&s, &opt, &ar), FLOE_OK);
    floe_sdp_media *m;
    assert_int_equal(floe_sdp_media_add(&s, "audio", 0, "RTP/AVP", &m), FLOE_OK);
    floe_sdp_fmt_add(m, "0");
    floe_sdp_attr_add(&m->attrs, "rtpmap", "0 PCMU/8000");

    const floe_ice_cand cands[] = {
        mk(FLOE_ICE_CAND_HOST, 1, "192.168.1.20", 40000, NULL, 0, 65535),
        mk(FLOE_ICE_CAND_HOST, 2, "192.168.1.20", 40001, NULL, 0, 65535),
        mk(FLOE_ICE_CAND_SRFLX, 1, "203.0.113.7", 40000, "192.168.1.20", 40000, 65535),
        mk(FLOE_ICE_CAND_SRFLX, 2, "203.0.113.7", 40001, "192.168.1.20", 40001, 65535),
        mk(FLOE_ICE_CAND_RELAY, 1, "198.51.100.9", 61000, "203.0.113.7", 40000, 65535),
        mk(FLOE_ICE_CAND_RELAY, 2, "198.51.100.9", 61001, "203.0.113.7", 40001, 65535),
    };
    floe_sdp_ice_local l = {0};
    l.ufrag = "F7gI";
    l.pwd = "x9cml/YzichV2+XlhiMu8g";
    l.cands = cands;
    l.n_cands = 6;
    l.default_rtp = floe_sdp_ice_default_choose(cands, 6, 1);
    l.default_rtcp = floe_sdp_ice_default_choose(cands, 6, 2);
    l.end_of_candidates = true;
    assert_ptr_equal(l.default_rtp, &cands[4]);
    assert_ptr_equal(l.default_rtcp, &cands[5]);
    assert_int_equal(floe_sdp_ice_media_write(m, &l, &ar), FLOE_OK);

    static char out[4096];
    size_t n;
    floe_sdp_error e;
    assert_int_equal(floe_sdp_print(&s, out, sizeof out, &n, &e), FLOE_OK);
    assert_string_equal(out,
                        "v=0" CRLF "o=floe 1 1 IN IP4 192.168.1.20" CRLF "s=-" CRLF "t=0 0" CRLF
                        "a=ice-options:ice2" CRLF "m=audio 61000 RTP/AVP 0" CRLF
                        "c=IN IP4 198.51.100.9" CRLF "a=rtpmap:0 PCMU/8000" CRLF
                        "a=ice-ufrag:F7gI" CRLF "a=ice-pwd:x9cml/YzichV2+XlhiMu8g" CRLF
                        "a=candidate:host0 1 UDP 2130706431 192.168.1.20 40000 typ host" CRLF
                        "a=candidate:host0 2 UDP 2130706430 192.168.1.20 40001 typ host" CRLF
                        "a=candidate:srflx1 1 UDP 1694498815 203.0.113.7 40000 typ srflx raddr "
                        "192.168.1.20 rport 40000" CRLF
                        "a=candidate:srflx1 2 UDP 1694498814 203.0.113.7 40001 typ srflx raddr "
                        "192.168.1.20 rport 40001" CRLF
                        "a=candidate:relay3 1 UDP 16777215 198.51.100.9 61000 typ relay raddr "
                        "203.0.113.7 rport 40000" CRLF
                        "a=candidate:relay3 2 UDP 16777214 198.51.100.9 61001 typ relay raddr "
                        "203.0.113.7 rport 40001" CRLF "a=rtcp:61001 IN IP4 198.51.100.9" CRLF
                        "a=end-of-candidates" CRLF);

    /* And it reads back: same candidates, the relay as default, no mismatch. */
    floe_sdp_ice_stats st = {0};
    assert_int_equal(floe_sdp_parse(out, n, &sdp, &e, NULL), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_parse(&sdp, 0, &ice, &st, &e), FLOE_OK);
    assert_true(ice.ice && ice.ice2 && ice.end_of_candidates && ice.has_rtcp_attr);
    assert_false(ice.mismatch);
    assert_int_equal(ice.n_cands, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ice.cands[i].type, cands[i].type);
        assert_int_equal(ice.cands[i].priority, cands[i].priority);
        assert_int_equal(ice.cands[i].local_pref, cands[i].local_pref);
        assert_true(floe_addr_equal(&ice.cands[i].addr, &cands[i].addr));
        assert_true(floe_addr_equal(&ice.cands[i].related, &cands[i].related));
    }
    assert_true(floe_addr_equal(&ice.default_rtp, &cands[4].addr));
    assert_true(floe_addr_equal(&ice.default_rtcp, &cands[5].addr));
}

static void test_write_variants(void **state) {
    (void)state;
    static floe_sdp s;
    static char out[4096];
    char mem[1024];
    floe_sdp_arena ar;
    floe_addr host;
    floe_addr_parse("2001:db8::20", &host);
    const floe_ice_cand c6 = mk(FLOE_ICE_CAND_HOST, 1, "2001:db8::20", 5000, NULL, 0, 1);
    floe_sdp_media *m;
    size_t n;
    floe_sdp_error e;

#define FRESH()                                                                                    \
    do {                                                                                           \
        floe_sdp_arena_init(&ar, mem, sizeof mem);                                                 \
        floe_sdp_init(&s);                                                                         \
        assert_int_equal(floe_sdp_origin_set(&s, NULL, 9, 9, &host, &ar), FLOE_OK);                \
        assert_int_equal(floe_sdp_media_add(&s, "audio", 1, "RTP/AVP", &m), FLOE_OK);              \
        floe_sdp_fmt_add(m, "0");                                                                  \
    } while (0)

    /* Trickle with nothing gathered: the placeholder, then session options. */
    FRESH();
    floe_sdp_ice_local l = {.ufrag = "abcd", .pwd = "0123456789012345678901"};
    const floe_sdp_ice_session opt = {true, true, true, 100};
    assert_int_equal(floe_sdp_ice_session_write(&s, &opt, &ar), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_write(m, &l, &ar), FLOE_OK);
    assert_int_equal(floe_sdp_print(&s, out, sizeof out, &n, &e), FLOE_OK);
    assert_string_equal(out,
                        "v=0" CRLF "o=- 9 9 IN IP6 2001:db8::20" CRLF "s=-" CRLF "t=0 0" CRLF
                        "a=ice-lite" CRLF "a=ice-options:ice2 trickle" CRLF "a=ice-pacing:100" CRLF
                        "m=audio 9 RTP/AVP 0" CRLF "c=IN IP4 0.0.0.0" CRLF "a=ice-ufrag:abcd" CRLF
                        "a=ice-pwd:0123456789012345678901" CRLF);
    assert_int_equal(floe_sdp_parse(out, n, &sdp, &e, NULL), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_parse(&sdp, 0, &ice, NULL, &e), FLOE_OK);
    assert_true(ice.default_placeholder && ice.lite && ice.trickle && ice.ice2);
    assert_int_equal(ice.pacing_ms, 100);
    assert_false(ice.mismatch);

    /* IPv6 placeholder; options one at a time. */
    FRESH();
    l.placeholder_v6 = true;
    const floe_sdp_ice_session only_trickle = {false, false, true, 0};
    assert_int_equal(floe_sdp_ice_session_write(&s, &only_trickle, &ar), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_write(m, &l, &ar), FLOE_OK);
    assert_int_equal(floe_sdp_print(&s, out, sizeof out, &n, &e), FLOE_OK);
    assert_non_null(strstr(out, "a=ice-options:trickle" CRLF));
    assert_non_null(strstr(out, "m=audio 9 RTP/AVP 0" CRLF "c=IN IP6 ::" CRLF));

    /* IPv6 default with remote-candidates. */
    FRESH();
    l.placeholder_v6 = false;
    l.cands = &c6;
    l.n_cands = 1;
    l.default_rtp = &c6;
    floe_sdp_ice_remote rem[2];
    memset(rem, 0, sizeof rem);
    rem[0].component = 1;
    floe_addr_parse("[2001:db8::99]:7000", &rem[0].addr);
    rem[1].component = 2;
    floe_addr_parse("192.0.2.3:7001", &rem[1].addr);
    l.remote = rem;
    l.n_remote = 2;
    assert_int_equal(floe_sdp_ice_media_write(m, &l, &ar), FLOE_OK);
    assert_int_equal(floe_sdp_print(&s, out, sizeof out, &n, &e), FLOE_OK);
    assert_non_null(strstr(out, "m=audio 5000 RTP/AVP 0" CRLF "c=IN IP6 2001:db8::20" CRLF));
    assert_non_null(strstr(out, "a=remote-candidates:1 2001:db8::99 7000 2 192.0.2.3 7001" CRLF));
    assert_int_equal(floe_sdp_parse(out, n, &sdp, &e, NULL), FLOE_OK);
    assert_int_equal(floe_sdp_ice_media_parse(&sdp, 0, &ice, NULL, &e), FLOE_OK);
    assert_int_equal(ice.n_remote, 2);
    assert_true(floe_addr_equal(&ice.remote[0].addr, &rem[0].addr));
    assert_false(ice.mismatch);

    /* Answerer that saw a mismatch: only a=ice-mismatch. */
    FRESH();
    floe_sdp_ice_local mm = {.mismatch = true, .cands = &c6, .n_cands = 1, .default_rtp = &c6};
    assert_int_equal(floe_sdp_ice_media_write(m, &mm, &ar), FLOE_OK);
    assert_int_equal(m->attrs.n, 1);
    assert_true(floe_sdp_str_eq(m->attrs.a[0].name, "ice-mismatch"));
    assert_int_equal(m->port, 5000);

    /* Refusals. */
    floe_ice_cand tcp = c6;
    tcp.transport = FLOE_TRANSPORT_TCP;
    floe_ice_cand other = mk(FLOE_ICE_CAND_HOST, 1, "2001:db8::21", 5000, NULL, 0, 1);
    floe_ice_cand comp2 = mk(FLOE_ICE_CAND_HOST, 2, "2001:db8::20", 5001, NULL, 0, 1);
    const floe_sdp_ice_remote bad_rem = {0, {0}};
    static const struct {
        const char *ufrag, *pwd;
        int which; /* 0 ok cands, 1 tcp, 2 default not listed, 3 rtcp without rtp, 4 bad remote */
        int rc;
    } cases[] = {
        {"abc", "0123456789012345678901", 0, FLOE_ERR_INVAL},
        {"abcdefghijklmnopqrstuvwxyzABCDEFG", "0123456789012345678901", 0, FLOE_ERR_INVAL},
        {"ab-c", "0123456789012345678901", 0, FLOE_ERR_INVAL},
        {NULL, "0123456789012345678901", 0, FLOE_ERR_INVAL},
        {"abcd", "012345678901234567890", 0, FLOE_ERR_INVAL},
        {"abcd", NULL, 0, FLOE_ERR_INVAL},
        {"abcd", "0123456789012345678901", 1, FLOE_ERR_INVAL},
        {"abcd", "0123456789012345678901", 2, FLOE_ERR_INVAL},
        {"abcd", "0123456789012345678901", 3, FLOE_ERR_INVAL},
        {"abcd", "0123456789012345678901", 4, FLOE_ERR_INVAL},
        {"abcdefghijklmnopqrstuvwxyzABCDEF", "0123456789012345678901", 0, FLOE_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FRESH();
        floe_sdp_ice_local x = {.ufrag = cases[i].ufrag, .pwd = cases[i].pwd};
        x.cands = &c6;
        x.n_cands = 1;
        x.default_rtp = &c6;
        if (cases[i].which == 1) x.cands = &tcp, x.default_rtp = NULL;
        if (cases[i].which == 2) x.default_rtp = &other;
        if (cases[i].which == 3) x.default_rtp = NULL, x.default_rtcp = &comp2;
        if (cases[i].which == 4) x.remote = &bad_rem, x.n_remote = 1;
        int rc = floe_sdp_ice_media_write(m, &x, &ar);
        if (rc != cases[i].rc) fail_msg("case %zu: got %d", i, rc);
        if (rc != FLOE_OK) assert_int_equal(m->attrs.n, 0); /* checked before writing */
    }

    /* A full arena and a full attribute list. */
    FRESH();
    floe_sdp_arena_init(&ar, mem, 10);
    assert_int_equal(floe_sdp_ice_media_write(m, &l, &ar), FLOE_ERR_NOSPACE);
    FRESH();
    for (size_t i = 0; i < FLOE_SDP_MAX_ATTRS - 1; i++)
        floe_sdp_attr_add(&m->attrs, "x", NULL);
    assert_int_equal(floe_sdp_ice_media_write(m, &l, &ar), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sdp_ice_media_write(NULL, &l, &ar), FLOE_ERR_INVAL);
    assert_int_equal(floe_sdp_ice_session_write(&s, NULL, &ar), FLOE_ERR_INVAL);
    floe_sdp_arena_init(&ar, mem, 1);
    const floe_sdp_ice_session pace = {false, false, false, 1000};
    assert_int_equal(floe_sdp_ice_session_write(&s, &pace, &ar), FLOE_ERR_NOSPACE);
#undef FRESH
}

static void test_default_choose(void **state) {
    (void)state;
    floe_ice_cand c[] = {
        mk(FLOE_ICE_CAND_HOST, 1, "192.0.2.1", 1, NULL, 0, 65535),
        mk(FLOE_ICE_CAND_PRFLX, 1, "192.0.2.2", 2, "192.0.2.1", 1, 65535),
        mk(FLOE_ICE_CAND_SRFLX, 1, "192.0.2.3", 3, "192.0.2.1", 1, 100),
        mk(FLOE_ICE_CAND_SRFLX, 1, "192.0.2.4", 4, "192.0.2.1", 1, 200),
        mk(FLOE_ICE_CAND_RELAY, 2, "192.0.2.5", 5, "192.0.2.3", 3, 65535),
        mk(FLOE_ICE_CAND_RELAY, 1, "192.0.2.6", 6, "192.0.2.3", 3, 65535),
    };
    c[5].transport = FLOE_TRANSPORT_TCP;                           /* not a UDP default */
    assert_ptr_equal(floe_sdp_ice_default_choose(c, 6, 1), &c[3]); /* srflx, higher priority */
    assert_ptr_equal(floe_sdp_ice_default_choose(c, 3, 1), &c[2]);
    assert_ptr_equal(floe_sdp_ice_default_choose(c, 2, 1), &c[1]); /* prflx over host */
    assert_ptr_equal(floe_sdp_ice_default_choose(c, 1, 1), &c[0]);
    assert_ptr_equal(floe_sdp_ice_default_choose(c, 6, 2), &c[4]);
    assert_null(floe_sdp_ice_default_choose(c, 6, 3));
    assert_null(floe_sdp_ice_default_choose(NULL, 6, 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidate_good),
        cmocka_unit_test(test_candidate_bad),
        cmocka_unit_test(test_candidate_print),
        cmocka_unit_test(test_rfc8839_example),
        cmocka_unit_test(test_rfc8839_appendix),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_no_ice),
        cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_options_and_flags),
        cmocka_unit_test(test_remote_candidates),
        cmocka_unit_test(test_candidate_lines_in_media),
        cmocka_unit_test(test_write_offer),
        cmocka_unit_test(test_write_variants),
        cmocka_unit_test(test_default_choose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
