/* Unit tests for include/floe/sdp.h: the RFC 8866 parser on realistic descriptions
 * (a SIP softphone offer with ICE, an ICE-lite answer, IPv6, several media sections,
 * every line type), the printer's round trip, every rejection with its reason and
 * line, the caps, and building a description by hand. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"

/* Descriptions are large: tests share these. */
static floe_sdp s1, s2;
static char out[3 * FLOE_SDP_MAX_LEN];

#define CRLF "\r\n"

/* Parses text, prints it, parses the print, and checks the two are equal. When
 * canonical, the printed text must be the input byte for byte. */
static void round_trip(const char *text, bool canonical) {
    floe_sdp_error e;
    int rc = floe_sdp_parse(text, strlen(text), &s1, &e, NULL);
    if (rc != FLOE_OK) fail_msg("parse: %s at line %d", e.reason, e.line);
    size_t n = 0;
    rc = floe_sdp_print(&s1, out, sizeof out, &n, &e);
    if (rc != FLOE_OK) fail_msg("print: %s at line %d", e.reason, e.line);
    assert_int_equal(n, strlen(out));
    if (canonical) assert_string_equal(out, text);
    rc = floe_sdp_parse(out, n, &s2, &e, NULL);
    if (rc != FLOE_OK) fail_msg("re-parse: %s at line %d", e.reason, e.line);
    assert_true(floe_sdp_equal(&s1, &s2));
    assert_true(floe_sdp_equal(&s2, &s1));
}

static bool str_is(floe_sdp_str s, const char *lit) {
    return floe_sdp_str_eq(s, lit);
}

/* ---- realistic descriptions ------------------------------------------------------------ */

static const char softphone_offer[] =
    "v=0" CRLF "o=alice 2890844526 2890844526 IN IP4 192.168.1.20" CRLF "s=floe call" CRLF
    "c=IN IP4 203.0.113.7" CRLF "t=0 0" CRLF "a=ice-options:ice2" CRLF
    "m=audio 40000 RTP/AVP 0 8 101" CRLF "a=rtpmap:0 PCMU/8000" CRLF "a=rtpmap:8 PCMA/8000" CRLF
    "a=rtpmap:101 telephone-event/8000" CRLF "a=fmtp:101 0-16" CRLF "a=ptime:20" CRLF
    "a=sendrecv" CRLF "a=rtcp:40001 IN IP4 203.0.113.7" CRLF "a=ice-ufrag:F7gI" CRLF
    "a=ice-pwd:x9cml/YzichV2+XlhiMu8g" CRLF
    "a=candidate:1 1 UDP 2130706431 192.168.1.20 40000 typ host" CRLF
    "a=candidate:1 2 UDP 2130706430 192.168.1.20 40001 typ host" CRLF
    "a=candidate:2 1 UDP 1694498815 203.0.113.7 40000 typ srflx raddr 192.168.1.20 rport "
    "40000" CRLF "a=candidate:2 2 UDP 1694498814 203.0.113.7 40001 typ srflx raddr "
    "192.168.1.20 rport 40001" CRLF "a=end-of-candidates" CRLF;

static void test_softphone_offer(void **state) {
    (void)state;
    round_trip(softphone_offer, true);
    const floe_sdp *s = &s1;
    assert_int_equal(s->version, 0);
    assert_true(str_is(s->origin.username, "alice"));
    assert_true(str_is(s->origin.sess_id, "2890844526"));
    assert_true(str_is(s->origin.sess_version, "2890844526"));
    assert_true(str_is(s->origin.nettype, "IN"));
    assert_true(str_is(s->origin.addrtype, "IP4"));
    assert_int_equal(s->origin.addr.family, FLOE_AF_INET4);
    assert_true(str_is(s->name, "floe call"));
    assert_null(s->info.p);
    assert_true(s->conn.present);
    assert_int_equal(s->conn.addr.family, FLOE_AF_INET4);
    assert_memory_equal(s->conn.addr.ip, ((uint8_t[]){203, 0, 113, 7}), 4);
    assert_int_equal(s->conn.ttl, -1);
    assert_int_equal(s->n_time, 1);
    assert_int_equal(s->time[0].start, 0);
    assert_int_equal(s->attrs.n, 1);
    assert_true(str_is(s->attrs.a[0].name, "ice-options"));
    assert_true(str_is(s->attrs.a[0].value, "ice2"));
    assert_int_equal(s->attrs.a[0].line, 6);

    assert_int_equal(s->n_media, 1);
    const floe_sdp_media *m = &s->media[0];
    assert_true(str_is(m->media, "audio"));
    assert_int_equal(m->port, 40000);
    assert_int_equal(m->n_ports, 0);
    assert_true(str_is(m->proto, "RTP/AVP"));
    assert_int_equal(m->n_fmt, 3);
    assert_true(str_is(m->fmt[0], "0") && str_is(m->fmt[1], "8") && str_is(m->fmt[2], "101"));
    assert_false(m->conn.present);
    assert_int_equal(m->line, 7);
    assert_int_equal(m->attrs.n, 14);
    /* Property attributes have no value; a=fmtp has one. */
    const floe_sdp_attr *a = floe_sdp_attr_find(&m->attrs, "sendrecv", NULL);
    assert_non_null(a);
    assert_null(a->value.p);
    assert_int_equal(a->line, 13);
    a = floe_sdp_attr_find(&m->attrs, "fmtp", NULL);
    assert_true(str_is(a->value, "101 0-16"));
    /* Walking every a=candidate. */
    int n = 0;
    for (a = NULL; (a = floe_sdp_attr_find(&m->attrs, "candidate", a));)
        n++;
    assert_int_equal(n, 4);
    assert_null(floe_sdp_attr_find(&m->attrs, "Candidate", NULL)); /* names are case-sensitive */
    assert_null(floe_sdp_attr_find(&m->attrs, "candidate", &s->attrs.a[0])); /* foreign cursor */
}

static const char lite_answer[] =
    "v=0" CRLF "o=bob 2808844564 2808844564 IN IP4 192.0.2.1" CRLF "s=" CRLF
    "c=IN IP4 192.0.2.1" CRLF "t=0 0" CRLF "a=ice-lite" CRLF "a=ice-pwd:YH75Fviy6338Vbrhrlp8Yh" CRLF
    "a=ice-ufrag:9uB6" CRLF "m=audio 3478 RTP/AVP 0" CRLF "b=RS:0" CRLF "b=RR:0" CRLF
    "a=rtpmap:0 PCMU/8000" CRLF "a=candidate:1 1 UDP 2130706431 192.0.2.1 3478 typ host" CRLF;

static void test_lite_answer(void **state) {
    (void)state;
    round_trip(lite_answer, true);
    assert_non_null(s1.name.p); /* RFC 8839 sends an empty s= */
    assert_int_equal(s1.name.len, 0);
    assert_int_equal(s1.attrs.n, 3);
    assert_int_equal(s1.media[0].n_bw, 2);
    assert_true(str_is(s1.media[0].bw[0].type, "RS"));
    assert_int_equal(s1.media[0].bw[1].value, 0);
}

/* RFC 8839 Appendix A: the IPv6 offer, upper-case hex included. */
static const char ipv6_offer[] =
    "v=0" CRLF "o=jdoe 2890844526 2890842807 IN IP6 fe80::6676:baff:fe9c:ee4a" CRLF "s=" CRLF
    "c=IN IP6 2001:DB8:8101:3a55:4858:a2a9:22ff:99b9" CRLF "t=0 0" CRLF
    "a=ice-pwd:asd88fgpdd777uzjYhagZg" CRLF "a=ice-ufrag:8hhY" CRLF "m=audio 45664 RTP/AVP 0" CRLF
    "b=RS:0" CRLF "b=RR:0" CRLF "a=rtpmap:0 PCMU/8000" CRLF
    "a=candidate:1 1 UDP 2130706431 fe80::6676:baff:fe9c:ee4a 8998 typ host" CRLF
    "a=candidate:2 1 UDP 1694498815 2001:DB8:8101:3a55:4858:a2a9:22ff:99b9 45664 typ srflx "
    "raddr fe80::6676:baff:fe9c:ee4a rport 8998" CRLF;

static void test_ipv6(void **state) {
    (void)state;
    round_trip(ipv6_offer, true);
    assert_int_equal(s1.origin.addr.family, FLOE_AF_INET6);
    assert_int_equal(s1.conn.addr.family, FLOE_AF_INET6);
    assert_int_equal(s1.conn.addr.ip[0], 0x20);
    assert_int_equal(s1.conn.addr.ip[1], 0x01);
    assert_int_equal(s1.conn.addr.ip[2], 0x0d);
    /* The text is kept as written: the printer does not normalise it. */
    assert_true(str_is(s1.conn.address, "2001:DB8:8101:3a55:4858:a2a9:22ff:99b9"));
}

/* RFC 8866 §5's example: two audio streams and a video stream with its own IPv6 c=. */
static const char two_media[] =
    "v=0" CRLF "o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1" CRLF "s=Call to John Smith" CRLF
    "i=SDP Offer #1" CRLF "u=http://www.jdoe.example.com/home.html" CRLF
    "e=Jane Doe <jane@jdoe.example.com>" CRLF "p=+1 617 555-6011" CRLF "c=IN IP4 198.51.100.1" CRLF
    "t=0 0" CRLF "m=audio 49170 RTP/AVP 0" CRLF "m=audio 49180 RTP/AVP 0" CRLF
    "m=video 51372 RTP/AVP 99" CRLF "c=IN IP6 2001:db8::2" CRLF "a=rtpmap:99 h263-1998/90000" CRLF;

static void test_two_media(void **state) {
    (void)state;
    round_trip(two_media, true);
    assert_true(str_is(s1.info, "SDP Offer #1"));
    assert_true(str_is(s1.uri, "http://www.jdoe.example.com/home.html"));
    assert_int_equal(s1.n_email, 1);
    assert_int_equal(s1.n_phone, 1);
    assert_true(str_is(s1.phone[0], "+1 617 555-6011"));
    assert_int_equal(s1.n_media, 3);
    assert_int_equal(s1.media[1].port, 49180);
    assert_false(s1.media[1].conn.present);
    assert_true(s1.media[2].conn.present);
    assert_int_equal(s1.media[2].conn.addr.family, FLOE_AF_INET6);
    assert_int_equal(s1.media[2].line, 12);
    assert_int_equal(s1.media[2].attrs.a[0].line, 14);
}

/* Every line type, multicast with TTL and count, repeats, zones, keys, port counts. */
static const char everything[] =
    "v=0" CRLF "o=- 1 1 IN IP4 host.example.com" CRLF "s=SDP Seminar" CRLF "i=A seminar" CRLF
    "u=http://www.example.com/seminars/sdp.pdf" CRLF "e=j.doe@example.com (Jane Doe)" CRLF
    "e=two@example.com" CRLF "p=+1 617 555-6011" CRLF "c=IN IP4 224.2.1.1/127/3" CRLF
    "b=CT:128" CRLF "t=3034423619 3042462419" CRLF "r=604800 3600 0 90000" CRLF "r=7d 1h 0 25h" CRLF
    "t=0 0" CRLF "z=2882844526 -1h 2898848070 0" CRLF "k=prompt" CRLF "a=recvonly" CRLF
    "a=tool:floe" CRLF "a=empty:" CRLF "m=audio 49170/2 RTP/AVP 0" CRLF "i=main audio" CRLF
    "c=IN IP6 ff15::101/3" CRLF "b=AS:64" CRLF "k=clear:secret" CRLF "a=recvonly" CRLF
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel" CRLF "c=IN IP4 192.0.2.4" CRLF
    "a=sctp-port:5000" CRLF;

static void test_every_line_type(void **state) {
    (void)state;
    round_trip(everything, true);
    assert_int_equal(s1.origin.addr.family, FLOE_AF_NONE); /* a domain name */
    assert_true(str_is(s1.origin.address, "host.example.com"));
    assert_int_equal(s1.n_email, 2);
    assert_true(str_is(s1.conn.address, "224.2.1.1"));
    assert_int_equal(s1.conn.ttl, 127);
    assert_int_equal(s1.conn.n_addrs, 3);
    assert_int_equal(s1.n_bw, 1);
    assert_int_equal(s1.bw[0].value, 128);
    assert_int_equal(s1.n_time, 2);
    assert_int_equal(s1.time[0].start, 3034423619u);
    assert_int_equal(s1.time[0].stop, 3042462419u);
    assert_int_equal(s1.time[0].n_repeats, 2);
    assert_true(str_is(s1.time[0].repeat[1], "7d 1h 0 25h"));
    assert_int_equal(s1.time[1].n_repeats, 0);
    assert_true(str_is(s1.zone, "2882844526 -1h 2898848070 0"));
    assert_true(str_is(s1.key, "prompt"));
    const floe_sdp_attr *a = floe_sdp_attr_find(&s1.attrs, "empty", NULL);
    assert_non_null(a->value.p); /* "a=empty:" has an empty value, not none */
    assert_int_equal(a->value.len, 0);
    const floe_sdp_media *m = &s1.media[0];
    assert_int_equal(m->n_ports, 2);
    assert_true(str_is(m->info, "main audio"));
    assert_int_equal(m->conn.addr.family, FLOE_AF_INET6);
    assert_int_equal(m->conn.ttl, -1);
    assert_int_equal(m->conn.n_addrs, 3);
    assert_true(str_is(m->key, "clear:secret"));
    assert_true(str_is(s1.media[1].proto, "UDP/DTLS/SCTP"));
    assert_true(str_is(s1.media[1].fmt[0], "webrtc-datachannel"));
}

/* Other network and address types are kept as text (RFC 8866 §5.7 extensibility). */
static void test_opaque_address_types(void **state) {
    (void)state;
    round_trip("v=0" CRLF "o=- 1 1 ATM NSAP 47.0005.80.ffe100.0000.f21a.26d8.0020481a2dc5.00" CRLF
               "s=-" CRLF "c=IN E164 +15551234/x" CRLF "t=0 0" CRLF,
               true);
    assert_int_equal(s1.origin.addr.family, FLOE_AF_NONE);
    assert_true(str_is(s1.conn.address, "+15551234/x"));
}

/* LF line ends, no final line end, trailing empty lines, leading zeros: accepted and
 * printed in the canonical form, which parses to an equal description. */
static void test_lenient_forms(void **state) {
    (void)state;
    const char *lf = "v=0\no=- 5 5 IN IP4 127.0.0.1\ns=lf\nc=IN IP4 127.0.0.1\nt=00 0\n"
                     "m=audio 05004 RTP/AVP 0\na=sendonly";
    round_trip(lf, false);
    assert_string_equal(out, "v=0" CRLF "o=- 5 5 IN IP4 127.0.0.1" CRLF "s=lf" CRLF
                             "c=IN IP4 127.0.0.1" CRLF "t=0 0" CRLF "m=audio 5004 RTP/AVP 0" CRLF
                             "a=sendonly" CRLF);
    /* Mixed line ends and empty lines at the very end. */
    round_trip("v=0\r\no=- 5 5 IN IP4 127.0.0.1\ns=x\r\nt=0 0\n\r\n\n\r\n", false);
    assert_int_equal(s1.n_time, 1);
    /* A z= line may sit between time descriptions (RFC 8866's ABNF). */
    round_trip("v=0" CRLF "o=- 5 5 IN IP4 127.0.0.1" CRLF "s=x" CRLF "t=1 2" CRLF "r=1 2 3" CRLF
               "z=1 -2s" CRLF "t=3 4" CRLF,
               false);
    assert_int_equal(s1.n_time, 2);
}

/* ---- rejections ---------------------------------------------------------------------------- */

#define H "v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF "s=-" CRLF
#define T "t=0 0" CRLF
#define C "c=IN IP4 192.0.2.1" CRLF
#define M "m=audio 5000 RTP/AVP 0" CRLF

typedef struct bad_case {
    const char *text;
    int rc;
    int line;
    const char *reason;
} bad_case;

static const bad_case bad_cases[] = {
    /* framing */
    {"", FLOE_ERR_MALFORMED, 0, "empty SDP"},
    {H T "a=x\r"
         "y" CRLF,
     FLOE_ERR_MALFORMED, 5, "CR without LF"},
    {H T "a=x\r", FLOE_ERR_MALFORMED, 5, "CR without LF"},
    {H T CRLF "a=x" CRLF, FLOE_ERR_MALFORMED, 5, "empty line"},
    {CRLF H T, FLOE_ERR_MALFORMED, 1, "empty line"},
    {H T "x=foo" CRLF, FLOE_ERR_MALFORMED, 5, "unknown line type"},
    {H T "A=foo" CRLF, FLOE_ERR_MALFORMED, 5, "line is not <type>=<value>"},
    {H T "a" CRLF, FLOE_ERR_MALFORMED, 5, "line is not <type>=<value>"},
    {H T "a foo" CRLF, FLOE_ERR_MALFORMED, 5, "line is not <type>=<value>"},
    {H T " a=foo" CRLF, FLOE_ERR_MALFORMED, 5, "line is not <type>=<value>"},
    /* the first three lines and the mandatory ones */
    {"v=1" CRLF, FLOE_ERR_MALFORMED, 1, "v= must be 0"},
    {"v=00" CRLF, FLOE_ERR_MALFORMED, 1, "v= must be 0"},
    {"o=- 1 1 IN IP4 192.0.2.1" CRLF, FLOE_ERR_MALFORMED, 1, "the first line must be v="},
    {"v=0" CRLF "s=-" CRLF, FLOE_ERR_MALFORMED, 2, "the second line must be o="},
    {"v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF T, FLOE_ERR_MALFORMED, 3,
     "the third line must be s="},
    {"v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF, FLOE_ERR_MALFORMED, 2, "missing o= or s= line"},
    {"v=0" CRLF, FLOE_ERR_MALFORMED, 1, "missing o= or s= line"},
    {H, FLOE_ERR_MALFORMED, 3, "missing t= line"},
    {H C, FLOE_ERR_MALFORMED, 4, "missing t= line"},
    {H C M, FLOE_ERR_MALFORMED, 5, "missing t= line"},
    {H "a=x" CRLF T, FLOE_ERR_MALFORMED, 4, "missing t= line"},
    {H T M, FLOE_ERR_MALFORMED, 5, "no c= line for this m= section and none at session level"},
    {H T M C M, FLOE_ERR_MALFORMED, 7, "no c= line for this m= section and none at session level"},
    /* o= */
    {"v=0" CRLF "o=- 1 IN IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2, "o= needs exactly six fields"},
    {"v=0" CRLF "o=-  1 1 IN IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= needs exactly six fields"},
    {"v=0" CRLF "o=- 1 1 IN IP4 1.2.3.4 x" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= needs exactly six fields"},
    {"v=0" CRLF "o=a\tb 1 1 IN IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= username is not a non-ws-string"},
    {"v=0" CRLF "o=- x 1 IN IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= session id is not a number (at most 20 digits)"},
    {"v=0" CRLF "o=- 123456789012345678901 1 IN IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= session id is not a number (at most 20 digits)"},
    {"v=0" CRLF "o=- 1 1x IN IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= session version is not a number (at most 20 digits)"},
    {"v=0" CRLF "o=- 1 1 I(N IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= network type is not a token"},
    {"v=0" CRLF "o=- 1 1 IN IP@4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "o= address type is not a token"},
    {"v=0" CRLF "o=- 1 1 IN IP4 1.2.3" CRLF, FLOE_ERR_MALFORMED, 2, "bad IPv4 address"},
    {"v=0" CRLF "o=- 1 1 IN IP4 01.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2, "bad IPv4 address"},
    {"v=0" CRLF "o=- 1 1 IN IP6 2001:db8::zz" CRLF, FLOE_ERR_MALFORMED, 2, "bad IPv6 address"},
    {"v=0" CRLF "o=- 1 1 IN IP6 fe80::1%2" CRLF, FLOE_ERR_MALFORMED, 2, "bad IPv6 address"},
    {"v=0" CRLF "o=- 1 1 IN IP4 ::1" CRLF, FLOE_ERR_MALFORMED, 2,
     "IPv6 address with address type IP4"},
    {"v=0" CRLF "o=- 1 1 IN IP4 1.2.3.4:5060" CRLF, FLOE_ERR_MALFORMED, 2,
     "IPv6 address with address type IP4"},
    {"v=0" CRLF "o=- 1 1 IN IP6 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 2,
     "IPv4 address with address type IP6"},
    {"v=0" CRLF "o=- 1 1 IN IP4 host_name" CRLF, FLOE_ERR_MALFORMED, 2,
     "address is neither an IP literal nor a domain name"},
    {"v=0" CRLF "o=- 1 1 IN IP4 -host.example" CRLF, FLOE_ERR_MALFORMED, 2,
     "address is neither an IP literal nor a domain name"},
    /* c= */
    {H "c=IN IP4" CRLF, FLOE_ERR_MALFORMED, 4, "c= needs exactly three fields"},
    {H "c=IN IP4 224.2.1.1" CRLF, FLOE_ERR_MALFORMED, 4, "IPv4 multicast c= address without TTL"},
    {H "c=IN IP4 224.2.1.1/256" CRLF, FLOE_ERR_MALFORMED, 4, "c= TTL out of range (0..255)"},
    {H "c=IN IP4 224.2.1.1/" CRLF, FLOE_ERR_MALFORMED, 4, "c= TTL out of range (0..255)"},
    {H "c=IN IP4 224.2.1.1/127/0" CRLF, FLOE_ERR_MALFORMED, 4,
     "c= address count out of range (1..65535)"},
    {H "c=IN IP6 ff15::1/0" CRLF, FLOE_ERR_MALFORMED, 4,
     "c= address count out of range (1..65535)"},
    {H "c=IN IP6 ff15::1/3/2" CRLF, FLOE_ERR_MALFORMED, 4, "c= IP6 address takes no TTL"},
    {H "c=IN IP4 192.0.2.1/127" CRLF, FLOE_ERR_MALFORMED, 4,
     "c= TTL or address count on a unicast address"},
    {H "c=IN IP6 2001:db8::1/2" CRLF, FLOE_ERR_MALFORMED, 4,
     "c= TTL or address count on a unicast address"},
    {H "c=IN IP4 300.1.1.1" CRLF, FLOE_ERR_MALFORMED, 4, "bad IPv4 address"},
    {H "c=IN IP4 ::1" CRLF, FLOE_ERR_MALFORMED, 4, "IPv6 address with address type IP4"},
    {H "c=I<N IP4 1.2.3.4" CRLF, FLOE_ERR_MALFORMED, 4, "c= network type is not a token"},
    /* b= */
    {H "b=AS" CRLF, FLOE_ERR_MALFORMED, 4, "b= needs <type>:<value>"},
    {H "b=A S:1" CRLF, FLOE_ERR_MALFORMED, 4, "b= type is not a token"},
    {H "b=AS:x" CRLF, FLOE_ERR_MALFORMED, 4, "b= value is not a number"},
    {H "b=AS:" CRLF, FLOE_ERR_MALFORMED, 4, "b= value is not a number"},
    {H "b=A:1" CRLF "b=B:1" CRLF "b=C:1" CRLF "b=D:1" CRLF "b=E:1" CRLF, FLOE_ERR_LIMIT, 8,
     "too many b= lines in one section"},
    /* t=, r=, z= */
    {H "t=0" CRLF, FLOE_ERR_MALFORMED, 4, "t= needs a start and a stop time"},
    {H "t=x 0" CRLF, FLOE_ERR_MALFORMED, 4, "t= time is not a number"},
    {H "t=0 99999999999999999999" CRLF, FLOE_ERR_MALFORMED, 4, "t= time is not a number"},
    {H T T T T T, FLOE_ERR_LIMIT, 8, "too many t= lines"},
    {H T "r=1 2" CRLF, FLOE_ERR_MALFORMED, 5,
     "r= needs an interval, a duration and at least one offset"},
    {H T "r=1 2 3x" CRLF, FLOE_ERR_MALFORMED, 5, "r= field is not a typed time"},
    {H T "r=1 2 h" CRLF, FLOE_ERR_MALFORMED, 5, "r= field is not a typed time"},
    {H C "r=1 2 3" CRLF, FLOE_ERR_MALFORMED, 5, "r= line without a t= line before it"},
    {H T "r=1 2 3" CRLF "r=1 2 3" CRLF "r=1 2 3" CRLF "r=1 2 3" CRLF "r=1 2 3" CRLF, FLOE_ERR_LIMIT,
     9, "too many r= lines for one t="},
    {H T "z=1" CRLF, FLOE_ERR_MALFORMED, 5, "z= needs pairs of adjustment time and offset"},
    {H T "z=1 2 3" CRLF, FLOE_ERR_MALFORMED, 5, "z= needs pairs of adjustment time and offset"},
    {H T "z=x 1h" CRLF, FLOE_ERR_MALFORMED, 5, "z= adjustment time is not a number"},
    {H T "z=1 --1h" CRLF, FLOE_ERR_MALFORMED, 5, "z= offset is not a typed time"},
    {H C "z=1 1h" CRLF, FLOE_ERR_MALFORMED, 5, "z= line before any t= line"},
    {H T "z=1 1h" CRLF "z=2 2h" CRLF, FLOE_ERR_MALFORMED, 6, "z= line repeated"},
    {H T "z=1 1h" CRLF "r=1 2 3" CRLF, FLOE_ERR_MALFORMED, 6,
     "r= line without a t= line before it"},
    /* a= */
    {H T "a=" CRLF, FLOE_ERR_MALFORMED, 5, "a= line without an attribute name"},
    {H T "a=:x" CRLF, FLOE_ERR_MALFORMED, 5, "a= line without an attribute name"},
    {H T "a=fo o" CRLF, FLOE_ERR_MALFORMED, 5, "a= attribute name is not a token"},
    {H T "a=fo@o:1" CRLF, FLOE_ERR_MALFORMED, 5, "a= attribute name is not a token"},
    /* m= */
    {H C T "m=audio 5000 RTP/AVP" CRLF, FLOE_ERR_MALFORMED, 6,
     "m= needs media, port, proto and at least one format"},
    {H C T "m=audio  5000 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= line has an empty field"},
    {H C T "m=audio 5000 RTP/AVP 0 " CRLF, FLOE_ERR_MALFORMED, 6, "m= line has an empty field"},
    {H C T "m=audio x RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= port is not a number"},
    {H C T "m=audio -1 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= port is not a number"},
    {H C T "m=audio /2 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= port is not a number"},
    {H C T "m=audio 65536 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= line port out of range"},
    {H C T "m=audio 99999999999999999999999 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6,
     "m= line port out of range"},
    {H C T "m=audio 5000/x RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= port count is not a number"},
    {H C T "m=audio 5000/ RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= port count is not a number"},
    {H C T "m=audio 5000/0 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6,
     "m= port count out of range (1..65535)"},
    {H C T "m=audio 5000/65536 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6,
     "m= port count out of range (1..65535)"},
    {H C T "m=aud(io 5000 RTP/AVP 0" CRLF, FLOE_ERR_MALFORMED, 6, "m= media type is not a token"},
    {H C T "m=audio 5000 RTP//AVP 0" CRLF, FLOE_ERR_MALFORMED, 6,
     "m= proto is not token *(\"/\" token)"},
    {H C T "m=audio 5000 RTP/AVP/ 0" CRLF, FLOE_ERR_MALFORMED, 6,
     "m= proto is not token *(\"/\" token)"},
    {H C T "m=audio 5000 RTP/AVP 0 (" CRLF, FLOE_ERR_MALFORMED, 6, "m= format is not a token"},
    /* i= u= e= p= k= */
    {H "i=" CRLF, FLOE_ERR_MALFORMED, 4, "empty i= line"},
    {H "u=" CRLF, FLOE_ERR_MALFORMED, 4, "empty u= line"},
    {H "e=" CRLF, FLOE_ERR_MALFORMED, 4, "empty e= line"},
    {H "p=" CRLF, FLOE_ERR_MALFORMED, 4, "empty p= line"},
    {H T "k=" CRLF, FLOE_ERR_MALFORMED, 5, "empty k= line"},
    {H C T M "i=" CRLF, FLOE_ERR_MALFORMED, 7, "empty i= line"},
    {H "e=a" CRLF "e=b" CRLF "e=c" CRLF "e=d" CRLF "e=e" CRLF, FLOE_ERR_LIMIT, 8,
     "too many e= lines"},
    {H "p=1" CRLF "p=2" CRLF "p=3" CRLF "p=4" CRLF "p=5" CRLF, FLOE_ERR_LIMIT, 8,
     "too many p= lines"},
    /* order */
    {H "u=x" CRLF "i=y" CRLF, FLOE_ERR_MALFORMED, 5, "i= line out of order or repeated"},
    {H "i=x" CRLF "i=y" CRLF, FLOE_ERR_MALFORMED, 5, "i= line out of order or repeated"},
    {H "u=x" CRLF "u=y" CRLF, FLOE_ERR_MALFORMED, 5, "u= line out of order or repeated"},
    {H "p=x" CRLF "e=y" CRLF, FLOE_ERR_MALFORMED, 5, "e= line out of order"},
    {H "c=IN IP4 1.2.3.4" CRLF "p=y" CRLF, FLOE_ERR_MALFORMED, 5, "p= line out of order"},
    {H T C, FLOE_ERR_MALFORMED, 5, "c= line out of order or repeated"},
    {H C C T, FLOE_ERR_MALFORMED, 5, "c= line out of order or repeated"},
    {H T "b=AS:1" CRLF, FLOE_ERR_MALFORMED, 5, "b= line out of order"},
    {H T "a=x" CRLF T, FLOE_ERR_MALFORMED, 6, "t= line out of order"},
    {H T "a=x" CRLF "k=y" CRLF, FLOE_ERR_MALFORMED, 6, "k= line out of order or repeated"},
    {H T "k=x" CRLF "k=y" CRLF, FLOE_ERR_MALFORMED, 6, "k= line out of order or repeated"},
    {H T "v=0" CRLF, FLOE_ERR_MALFORMED, 5, "v= line out of order or repeated"},
    {H T "o=- 1 1 IN IP4 192.0.2.1" CRLF, FLOE_ERR_MALFORMED, 5,
     "o= line out of order or repeated"},
    {H T "s=again" CRLF, FLOE_ERR_MALFORMED, 5, "s= line out of order or repeated"},
    {H C T M "u=x" CRLF, FLOE_ERR_MALFORMED, 7, "line type not allowed in a media section"},
    {H C T M T, FLOE_ERR_MALFORMED, 7, "line type not allowed in a media section"},
    {H C T M "a=x" CRLF C, FLOE_ERR_MALFORMED, 8, "c= line out of order or repeated"},
    {H C T M C C, FLOE_ERR_MALFORMED, 8, "c= line out of order or repeated"},
    {H C T M "a=x" CRLF "b=AS:1" CRLF, FLOE_ERR_MALFORMED, 8, "b= line out of order"},
    {H C T M "k=x" CRLF "i=y" CRLF, FLOE_ERR_MALFORMED, 8, "i= line out of order or repeated"},
};

static void test_rejections(void **state) {
    (void)state;
    floe_sdp_stats st = {0};
    uint64_t limits = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        floe_sdp_error e = {-1, NULL};
        int rc = floe_sdp_parse(c->text, strlen(c->text), &s1, &e, &st);
        if (rc != c->rc || e.line != c->line || !e.reason || strcmp(e.reason, c->reason) != 0)
            fail_msg("case %zu: got %d line %d \"%s\", want %d line %d \"%s\"\n%s", i, rc, e.line,
                     e.reason ? e.reason : "(none)", c->rc, c->line, c->reason, c->text);
        limits += c->rc == FLOE_ERR_LIMIT;
    }
    assert_int_equal(st.parsed, 0);
    assert_int_equal(st.limit, limits);
    assert_int_equal(st.malformed, sizeof bad_cases / sizeof bad_cases[0] - limits);
}

/* NUL bytes cannot sit in a C string literal above. */
static void test_nul_byte(void **state) {
    (void)state;
    static const char text[] = H T "a=x\0y" CRLF;
    floe_sdp_error e;
    assert_int_equal(floe_sdp_parse(text, sizeof text - 1, &s1, &e, NULL), FLOE_ERR_MALFORMED);
    assert_int_equal(e.line, 5);
    assert_string_equal(e.reason, "NUL byte in SDP");
}

static void test_bad_arguments(void **state) {
    (void)state;
    floe_sdp_error e;
    assert_int_equal(floe_sdp_parse(NULL, 3, &s1, &e, NULL), FLOE_ERR_INVAL);
    assert_non_null(e.reason);
    assert_int_equal(floe_sdp_parse("v=0", 3, NULL, NULL, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_sdp_parse(NULL, 0, &s1, NULL, NULL), FLOE_ERR_MALFORMED);
}

/* ---- caps ----------------------------------------------------------------------------------- */

static char big[2 * FLOE_SDP_MAX_LEN];

/* H T C, then m= sections and a= lines as asked. */
static size_t build(size_t n_media, size_t n_attrs, size_t n_fmt) {
    size_t n = (size_t)snprintf(big, sizeof big, H C T);
    for (size_t i = 0; i < n_attrs; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "a=x%zu" CRLF, i);
    for (size_t k = 0; k < n_media; k++) {
        n += (size_t)snprintf(big + n, sizeof big - n, "m=audio %zu RTP/AVP", 5000 + 2 * k);
        for (size_t f = 0; f < n_fmt; f++)
            n += (size_t)snprintf(big + n, sizeof big - n, " %zu", f);
        n += (size_t)snprintf(big + n, sizeof big - n, CRLF);
        for (size_t i = 0; i < n_attrs; i++)
            n += (size_t)snprintf(big + n, sizeof big - n, "a=y%zu" CRLF, i);
    }
    return n;
}

static void expect(size_t len, int rc, const char *reason) {
    floe_sdp_error e;
    int got = floe_sdp_parse(big, len, &s1, &e, NULL);
    if (got != rc) fail_msg("got %d (%s), want %d", got, e.reason ? e.reason : "", rc);
    if (reason) assert_string_equal(e.reason, reason);
}

static void test_limits(void **state) {
    (void)state;
    expect(build(FLOE_SDP_MAX_MEDIA, FLOE_SDP_MAX_ATTRS, FLOE_SDP_MAX_FORMATS), FLOE_OK, NULL);
    assert_int_equal(s1.n_media, FLOE_SDP_MAX_MEDIA);
    assert_int_equal(s1.attrs.n, FLOE_SDP_MAX_ATTRS);
    assert_int_equal(s1.media[FLOE_SDP_MAX_MEDIA - 1].attrs.n, FLOE_SDP_MAX_ATTRS);
    assert_int_equal(s1.media[0].n_fmt, FLOE_SDP_MAX_FORMATS);
    size_t n;
    assert_int_equal(floe_sdp_print(&s1, out, sizeof out, &n, NULL), FLOE_OK);
    assert_int_equal(n, strlen(big));
    assert_string_equal(out, big);

    expect(build(FLOE_SDP_MAX_MEDIA + 1, 1, 1), FLOE_ERR_LIMIT, "too many m= sections");
    expect(build(1, FLOE_SDP_MAX_ATTRS + 1, 1), FLOE_ERR_LIMIT, "too many a= lines in one section");
    expect(build(1, 0, FLOE_SDP_MAX_FORMATS + 1), FLOE_ERR_LIMIT, "too many formats on an m= line");

    /* FLOE_SDP_MAX_LEN bytes exactly are fine, one more is not. */
    n = (size_t)snprintf(big, sizeof big, H T "a=pad:");
    memset(big + n, 'x', FLOE_SDP_MAX_LEN - n - 2);
    memcpy(big + FLOE_SDP_MAX_LEN - 2, CRLF, 2);
    expect(FLOE_SDP_MAX_LEN, FLOE_OK, NULL);
    assert_int_equal(s1.attrs.a[0].value.len, FLOE_SDP_MAX_LEN - n - 2);
    big[FLOE_SDP_MAX_LEN] = 'x';
    floe_sdp_error e;
    floe_sdp_stats st = {0};
    assert_int_equal(floe_sdp_parse(big, FLOE_SDP_MAX_LEN + 1, &s1, &e, &st), FLOE_ERR_LIMIT);
    assert_int_equal(e.line, 0);
    assert_string_equal(e.reason, "SDP longer than FLOE_SDP_MAX_LEN");
    assert_int_equal(st.limit, 1);
}

/* ---- printing and building --------------------------------------------------------------------
 */

static void test_build_and_print(void **state) {
    (void)state;
    floe_sdp *s = &s2;
    char mem[128];
    floe_sdp_arena ar;
    floe_sdp_arena_init(&ar, mem, sizeof mem);
    floe_sdp_init(s);
    floe_addr a;
    floe_addr_set_v4(&a, 0xc000020au, 5060); /* port and zone are dropped */
    assert_int_equal(floe_sdp_origin_set(s, "floe", 42, UINT64_MAX, &a, &ar), FLOE_OK);
    floe_sdp_conn_set(&s->conn, &a);
    floe_sdp_media *m;
    assert_int_equal(floe_sdp_media_add(s, "audio", 5004, "RTP/AVP", &m), FLOE_OK);
    assert_int_equal(floe_sdp_fmt_add(m, "0"), FLOE_OK);
    assert_int_equal(floe_sdp_fmt_add(m, "101"), FLOE_OK);
    assert_int_equal(floe_sdp_attr_add(&m->attrs, "rtpmap", "0 PCMU/8000"), FLOE_OK);
    assert_int_equal(floe_sdp_attr_add(&m->attrs, "sendrecv", NULL), FLOE_OK);
    assert_int_equal(floe_sdp_media_add(s, "video", 0, "RTP/AVP", &m), FLOE_OK);
    assert_int_equal(floe_sdp_fmt_add(m, "96"), FLOE_OK);
    uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    floe_addr b;
    floe_addr_set_v6(&b, v6, 0);
    b.scope_id = 3;
    floe_sdp_conn_set(&m->conn, &b);

    size_t n;
    floe_sdp_error e;
    assert_int_equal(floe_sdp_print(s, out, sizeof out, &n, &e), FLOE_OK);
    const char *want = "v=0" CRLF "o=floe 42 18446744073709551615 IN IP4 192.0.2.10" CRLF "s=-" CRLF
                       "c=IN IP4 192.0.2.10" CRLF "t=0 0" CRLF "m=audio 5004 RTP/AVP 0 101" CRLF
                       "a=rtpmap:0 PCMU/8000" CRLF "a=sendrecv" CRLF "m=video 0 RTP/AVP 96" CRLF
                       "c=IN IP6 2001:db8::1" CRLF;
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));

    /* It parses back to the same content (the text fields now come from the input). */
    assert_int_equal(floe_sdp_parse(out, n, &s1, &e, NULL), FLOE_OK);
    assert_true(floe_sdp_str_eq(s1.origin.sess_version, "18446744073709551615"));
    assert_true(floe_addr_ip_equal(&s1.media[1].conn.addr, &b));
    assert_int_equal(s1.media[0].attrs.n, 2);

    /* Every buffer too short fails with a terminated prefix; one byte more than the
     * text (for the NUL) is enough. */
    char small[512];
    for (size_t cap = 1; cap <= n; cap++) {
        assert_int_equal(floe_sdp_print(s, small, cap, NULL, &e), FLOE_ERR_NOSPACE);
        assert_int_equal(strlen(small), cap - 1);
        assert_memory_equal(small, want, cap - 1);
    }
    size_t got = 7;
    assert_int_equal(floe_sdp_print(s, small, n + 1, &got, NULL), FLOE_OK);
    assert_int_equal(got, n);
    assert_int_equal(floe_sdp_print(s, NULL, 0, &got, NULL), FLOE_ERR_NOSPACE);
    assert_int_equal(got, 0);
    assert_int_equal(floe_sdp_print(s, small, 0, NULL, NULL), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_sdp_print(NULL, small, sizeof small, NULL, NULL), FLOE_ERR_INVAL);

    /* Builder caps and arguments. */
    floe_sdp_init(s);
    for (size_t i = 0; i < FLOE_SDP_MAX_MEDIA; i++)
        assert_int_equal(floe_sdp_media_add(s, "audio", 1, "RTP/AVP", NULL), FLOE_OK);
    assert_int_equal(floe_sdp_media_add(s, "audio", 1, "RTP/AVP", &m), FLOE_ERR_LIMIT);
    assert_null(m);
    assert_int_equal(floe_sdp_media_add(s, NULL, 1, "RTP/AVP", NULL), FLOE_ERR_INVAL);
    m = &s->media[0];
    for (size_t i = 0; i < FLOE_SDP_MAX_FORMATS; i++)
        assert_int_equal(floe_sdp_fmt_add(m, "0"), FLOE_OK);
    assert_int_equal(floe_sdp_fmt_add(m, "0"), FLOE_ERR_LIMIT);
    for (size_t i = 0; i < FLOE_SDP_MAX_ATTRS; i++)
        assert_int_equal(floe_sdp_attr_add(&m->attrs, "x", NULL), FLOE_OK);
    assert_int_equal(floe_sdp_attr_add(&m->attrs, "x", NULL), FLOE_ERR_LIMIT);
    assert_int_equal(floe_sdp_attr_add(&m->attrs, NULL, NULL), FLOE_ERR_INVAL);

    /* Arena. */
    floe_sdp_arena_init(&ar, mem, 4);
    floe_sdp_str t;
    assert_int_equal(floe_sdp_arena_u64(&ar, 1234, &t), FLOE_OK);
    assert_true(floe_sdp_str_eq(t, "1234"));
    assert_int_equal(floe_sdp_arena_u64(&ar, 5, &t), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_sdp_arena_put(&ar, "", 0, &t), FLOE_OK);
    assert_int_equal(floe_sdp_origin_set(s, NULL, 1, 1, &a, &ar), FLOE_ERR_NOSPACE);
    floe_addr none = {0};
    assert_int_equal(floe_sdp_origin_set(s, NULL, 1, 1, &none, &ar), FLOE_ERR_INVAL);
}

/* The printer refuses what would not parse back, and says which output line. */
static void test_print_rejections(void **state) {
    (void)state;
    floe_sdp *s = &s2;
    floe_sdp_error e;
    char mem[64];
    floe_sdp_arena ar;
    floe_addr a;
    floe_addr_set_v4(&a, 0xc0000201u, 0);

#define RESET()                                                                                    \
    do {                                                                                           \
        floe_sdp_init(s);                                                                          \
        floe_sdp_arena_init(&ar, mem, sizeof mem);                                                 \
        assert_int_equal(floe_sdp_origin_set(s, "u", 1, 1, &a, &ar), FLOE_OK);                     \
        floe_sdp_conn_set(&s->conn, &a);                                                           \
        assert_int_equal(floe_sdp_media_add(s, "audio", 1, "RTP/AVP", NULL), FLOE_OK);             \
        assert_int_equal(floe_sdp_fmt_add(&s->media[0], "0"), FLOE_OK);                            \
    } while (0)
#define REFUSED(line_, why)                                                                        \
    do {                                                                                           \
        assert_int_equal(floe_sdp_print(s, out, sizeof out, NULL, &e), FLOE_ERR_INVAL);            \
        assert_string_equal(e.reason, why);                                                        \
        assert_int_equal(e.line, line_);                                                           \
    } while (0)

    RESET();
    assert_int_equal(floe_sdp_print(s, out, sizeof out, NULL, &e), FLOE_OK);

    RESET();
    floe_sdp_attr_add(&s->media[0].attrs, "x", "evil\r\nm=video 1 RTP/AVP 0");
    REFUSED(7, "a= attribute value holds a line break or NUL");
    RESET();
    floe_sdp_attr_add(&s->media[0].attrs, "bad name", NULL);
    REFUSED(7, "a= attribute name is not a token");
    RESET();
    floe_sdp_attr_add(&s->attrs, "", "x");
    REFUSED(6, "a= attribute name is not a token");
    RESET();
    s->media[0].fmt[0] = floe_sdp_str_c("0 1");
    REFUSED(6, "m= format is not a token");
    RESET();
    s->media[0].n_fmt = 0;
    REFUSED(6, "m= line without a format");
    RESET();
    s->media[0].proto = floe_sdp_str_c("RTP/");
    REFUSED(6, "m= proto is not token *(\"/\" token)");
    RESET();
    s->media[0].media = floe_sdp_str_c("");
    REFUSED(6, "m= media type is not a token");
    RESET();
    s->conn.present = false;
    REFUSED(5, "no c= line for this m= section and none at session level");
    RESET();
    floe_sdp_init(s);
    REFUSED(2, "o= has no address");
    RESET();
    s->origin.sess_id = floe_sdp_str_c("12a");
    REFUSED(2, "o= session id is not a number (at most 20 digits)");
    RESET();
    s->origin.username = floe_sdp_str_c("a b");
    REFUSED(2, "o= username is not a non-ws-string");
    RESET();
    s->origin.address = floe_sdp_str_c("::1"); /* text wins over addr: IPv6 with IP4 */
    s->origin.addrtype = floe_sdp_str_c("IP4");
    s->origin.nettype = floe_sdp_str_c("IN");
    REFUSED(2, "IPv6 address with address type IP4");
    RESET();
    s->name = floe_sdp_str_c("a\nb");
    REFUSED(3, "s= holds a line break");
    RESET();
    s->info = floe_sdp_str_c("");
    REFUSED(4, "i= line is empty or holds a line break");
    RESET();
    s->n_email = 1;
    REFUSED(4, "e= line is empty or holds a line break");
    RESET();
    floe_addr mc;
    floe_addr_set_v4(&mc, 0xe0020101u, 0);
    floe_sdp_conn_set(&s->conn, &mc);
    REFUSED(4, "IPv4 multicast c= address without TTL");
    s->conn.ttl = 16;
    assert_int_equal(floe_sdp_print(s, out, sizeof out, NULL, &e), FLOE_OK);
    assert_non_null(strstr(out, "c=IN IP4 224.2.1.1/16" CRLF));
    RESET();
    s->conn.addr.family = FLOE_AF_NONE;
    REFUSED(4, "c= has no address");
    RESET();
    s->n_time = 0;
    REFUSED(5, "no t= line");
    RESET();
    s->time[0].n_repeats = 1;
    s->time[0].repeat[0] = floe_sdp_str_c("1 2");
    REFUSED(6, "r= needs an interval, a duration and at least one offset");
    RESET();
    s->zone = floe_sdp_str_c("1 x");
    REFUSED(6, "z= offset is not a typed time");
    RESET();
    s->n_bw = 1;
    REFUSED(5, "b= type is not a token");
    RESET();
    s->version = 1;
    REFUSED(1, "v= must be 0");
    RESET();
    s->media[0].attrs.n = FLOE_SDP_MAX_ATTRS + 1;
    REFUSED(7, "too many a= lines");
#undef RESET
#undef REFUSED
}

/* ---- equality -----------------------------------------------------------------------------------
 */

static void test_equal(void **state) {
    (void)state;
    static floe_sdp x;
    assert_int_equal(floe_sdp_parse(everything, strlen(everything), &s1, NULL, NULL), FLOE_OK);
    assert_true(floe_sdp_equal(&s1, &s1));
    assert_true(floe_sdp_equal(NULL, NULL));
    assert_false(floe_sdp_equal(&s1, NULL));

#define DIFFERS(mutation)                                                                          \
    do {                                                                                           \
        x = s1;                                                                                    \
        mutation;                                                                                  \
        assert_false(floe_sdp_equal(&s1, &x));                                                     \
    } while (0)
    DIFFERS(x.origin.sess_version = floe_sdp_str_c("2"));
    DIFFERS(x.name = floe_sdp_str_c("other"));
    DIFFERS(x.info.p = NULL);
    DIFFERS(x.n_email = 1);
    DIFFERS(x.conn.ttl = 1);
    DIFFERS(x.conn.addr.ip[3] = 9);
    DIFFERS(x.bw[0].value = 1);
    DIFFERS(x.time[1].stop = 1);
    DIFFERS(x.time[0].repeat[0] = floe_sdp_str_c("1 2 3"));
    DIFFERS(x.zone.p = NULL);
    DIFFERS(x.attrs.a[2].value.p = NULL); /* "a=empty:" is not "a=empty" */
    DIFFERS(x.media[0].port = 1);
    DIFFERS(x.media[0].n_ports = 0);
    DIFFERS(x.media[1].fmt[0] = floe_sdp_str_c("x"));
    DIFFERS(x.media[0].conn.present = false);
    DIFFERS(x.media[0].key.p = NULL);
    DIFFERS(x.n_media = 1);
    DIFFERS(x.media[0].attrs.n = FLOE_SDP_MAX_ATTRS + 1);
#undef DIFFERS
    /* Line numbers do not count. */
    x = s1;
    x.media[0].line = 99;
    x.attrs.a[0].line = 99;
    assert_true(floe_sdp_equal(&s1, &x));
}

static void test_str_helpers(void **state) {
    (void)state;
    floe_sdp_str s = floe_sdp_str_c("Audio");
    assert_true(floe_sdp_str_eq(s, "Audio"));
    assert_false(floe_sdp_str_eq(s, "audio"));
    assert_true(floe_sdp_str_ieq(s, "audio"));
    assert_false(floe_sdp_str_ieq(s, "audi"));
    floe_sdp_str none = floe_sdp_str_c(NULL);
    assert_null(none.p);
    assert_false(floe_sdp_str_eq(none, ""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softphone_offer),
        cmocka_unit_test(test_lite_answer),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_two_media),
        cmocka_unit_test(test_every_line_type),
        cmocka_unit_test(test_opaque_address_types),
        cmocka_unit_test(test_lenient_forms),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_build_and_print),
        cmocka_unit_test(test_print_rejections),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_str_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
