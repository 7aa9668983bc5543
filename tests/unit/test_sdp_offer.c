/* Unit tests for the RFC 3264 media-line answer (floe_sdp_answer_build) and stream
 * directions (floe_sdp_media_dir). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "floe/err.h"
#include "floe/sdp.h"

#define CRLF "\r\n"

static floe_sdp offer, answer, back;
static char out[16384];

static void parse(const char *text) {
    floe_sdp_error e;
    int rc = floe_sdp_parse(text, strlen(text), &offer, &e, NULL);
    if (rc != FLOE_OK) fail_msg("offer: %s at line %d", e.reason, e.line);
}

/* A fresh answer session with its own c= and o=. */
static char arena_mem[128];
static void answer_init(void) {
    floe_sdp_arena ar;
    floe_sdp_arena_init(&ar, arena_mem, sizeof arena_mem);
    floe_sdp_init(&answer);
    floe_addr a;
    floe_addr_set_v4(&a, 0xc0000202u, 0);
    assert_int_equal(floe_sdp_origin_set(&answer, "bob", 7, 7, &a, &ar), FLOE_OK);
    floe_sdp_conn_set(&answer.conn, &a);
}

static const char *print_answer(void) {
    floe_sdp_error e;
    size_t n;
    int rc = floe_sdp_print(&answer, out, sizeof out, &n, &e);
    if (rc != FLOE_OK) fail_msg("print: %s at line %d", e.reason, e.line);
    assert_int_equal(floe_sdp_parse(out, n, &back, &e, NULL), FLOE_OK);
    return out;
}

static const char sip_offer[] =
    "v=0" CRLF "o=alice 1 1 IN IP4 192.0.2.1" CRLF "s=-" CRLF "c=IN IP4 192.0.2.1" CRLF "t=0 0" CRLF
    "m=audio 49170 RTP/AVP 0 8 18 101" CRLF "a=rtpmap:18 G729/8000" CRLF
    "a=rtpmap:101 telephone-event/8000" CRLF "a=fmtp:101 0-16" CRLF "a=fmtp:18 annexb=no" CRLF
    "a=sendonly" CRLF "m=video 51372 RTP/AVP 96 97" CRLF "a=rtpmap:96 H264/90000" CRLF
    "a=rtpmap:97 VP8/90000" CRLF "a=fmtp:96 profile-level-id=42e01f" CRLF
    "m=image 49172 udptl t38" CRLF "m=audio 0 RTP/AVP 0" CRLF "m=text 49174 RTP/AVP 98" CRLF
    "a=rtpmap:98 t140/1000" CRLF;

static void test_answer_softphone(void **state) {
    (void)state;
    parse(sip_offer);
    static const char *const audio[] = {"PCMA/8000", "0", "telephone-event/8000"};
    static const char *const video[] = {"VP8"};
    const floe_sdp_caps caps[] = {
        {"audio", "RTP/AVP", audio, 3, 4000, FLOE_SDP_SENDRECV},
        {"VIDEO", NULL, video, 1, 4002, FLOE_SDP_SENDRECV},      /* media compares ignoring case */
        {"text", "RTP/SAVP", video, 1, 4004, FLOE_SDP_SENDRECV}, /* proto differs: no match */
    };
    answer_init();
    floe_sdp_error e;
    assert_int_equal(floe_sdp_answer_build(&offer, caps, 3, &answer, &e), FLOE_OK);
    assert_int_equal(answer.n_media, 5);
    /* Same m= lines in the same order; rejected ones get port 0 and the offer's formats;
     * accepted ones list common formats in the offerer's order with their rtpmap/fmtp
     * lines, and mirror the direction (the offer is sendonly: we receive only). */
    assert_string_equal(print_answer(),
                        "v=0" CRLF "o=bob 7 7 IN IP4 192.0.2.2" CRLF "s=-" CRLF
                        "c=IN IP4 192.0.2.2" CRLF "t=0 0" CRLF "m=audio 4000 RTP/AVP 0 8 101" CRLF
                        "a=rtpmap:101 telephone-event/8000" CRLF "a=fmtp:101 0-16" CRLF
                        "a=recvonly" CRLF "m=video 4002 RTP/AVP 97" CRLF
                        "a=rtpmap:97 VP8/90000" CRLF "a=sendrecv" CRLF "m=image 0 udptl t38" CRLF
                        "m=audio 0 RTP/AVP 0" CRLF "m=text 0 RTP/AVP 98" CRLF);
    assert_int_equal(floe_sdp_media_dir(&back, 0), FLOE_SDP_RECVONLY);
    assert_int_equal(floe_sdp_media_dir(&back, 1), FLOE_SDP_SENDRECV);
}

/* RFC 3264 §6.1: what we answer for each offered direction and each of our wishes. */
static void test_direction_mirror(void **state) {
    (void)state;
    static const char *const fmts[] = {"0"};
    static const struct {
        const char *offer_attr; /* NULL: none (sendrecv) */
        floe_sdp_dir want, got;
    } cases[] = {
        {NULL, FLOE_SDP_SENDRECV, FLOE_SDP_SENDRECV},
        {NULL, FLOE_SDP_SENDONLY, FLOE_SDP_SENDONLY},
        {NULL, FLOE_SDP_RECVONLY, FLOE_SDP_RECVONLY},
        {NULL, FLOE_SDP_INACTIVE, FLOE_SDP_INACTIVE},
        {"sendrecv", FLOE_SDP_SENDRECV, FLOE_SDP_SENDRECV},
        {"sendonly", FLOE_SDP_SENDRECV, FLOE_SDP_RECVONLY},
        {"sendonly", FLOE_SDP_SENDONLY, FLOE_SDP_INACTIVE},
        {"sendonly", FLOE_SDP_RECVONLY, FLOE_SDP_RECVONLY},
        {"recvonly", FLOE_SDP_SENDRECV, FLOE_SDP_SENDONLY},
        {"recvonly", FLOE_SDP_RECVONLY, FLOE_SDP_INACTIVE},
        {"recvonly", FLOE_SDP_SENDONLY, FLOE_SDP_SENDONLY},
        {"inactive", FLOE_SDP_SENDRECV, FLOE_SDP_INACTIVE},
        {"inactive", FLOE_SDP_SENDONLY, FLOE_SDP_INACTIVE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF "s=-" CRLF "c=IN IP4 192.0.2.1" CRLF
                 "t=0 0" CRLF "m=audio 5000 RTP/AVP 0" CRLF "%s%s%s",
                 cases[i].offer_attr ? "a=" : "", cases[i].offer_attr ? cases[i].offer_attr : "",
                 cases[i].offer_attr ? CRLF : "");
        parse(text);
        const floe_sdp_caps caps = {"audio", NULL, fmts, 1, 4000, cases[i].want};
        answer_init();
        assert_int_equal(floe_sdp_answer_build(&offer, &caps, 1, &answer, NULL), FLOE_OK);
        print_answer();
        if (floe_sdp_media_dir(&back, 0) != cases[i].got)
            fail_msg("case %zu: got %s", i, floe_sdp_dir_name(floe_sdp_media_dir(&back, 0)));
    }
}

static void test_media_dir(void **state) {
    (void)state;
    parse("v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF "s=-" CRLF "c=IN IP4 192.0.2.1" CRLF
          "t=0 0" CRLF "a=recvonly" CRLF "m=audio 5000 RTP/AVP 0" CRLF "m=audio 5002 RTP/AVP 0" CRLF
          "a=inactive" CRLF "a=sendonly" CRLF "m=audio 5004 RTP/AVP 0" CRLF
          "a=sendonly:not-a-flag" CRLF);
    assert_int_equal(floe_sdp_media_dir(&offer, 0), FLOE_SDP_RECVONLY); /* from the session */
    assert_int_equal(floe_sdp_media_dir(&offer, 1), FLOE_SDP_INACTIVE); /* the first one */
    assert_int_equal(floe_sdp_media_dir(&offer, 2), FLOE_SDP_RECVONLY); /* with a value: no */
    assert_int_equal(floe_sdp_media_dir(&offer, 9), FLOE_SDP_RECVONLY);
    assert_int_equal(floe_sdp_media_dir(NULL, 0), FLOE_SDP_SENDRECV);
    assert_string_equal(floe_sdp_dir_name(FLOE_SDP_INACTIVE), "inactive");
    assert_string_equal(floe_sdp_dir_name(FLOE_SDP_SENDONLY), "sendonly");
    assert_string_equal(floe_sdp_dir_name(FLOE_SDP_RECVONLY), "recvonly");
    assert_string_equal(floe_sdp_dir_name(FLOE_SDP_SENDRECV), "sendrecv");
}

/* How the answerer's format entries match the offer. */
static void test_format_matching(void **state) {
    (void)state;
    parse("v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF "s=-" CRLF "c=IN IP4 192.0.2.1" CRLF
          "t=0 0" CRLF "m=audio 5000 RTP/AVP 111 0 9 101 102" CRLF "a=rtpmap:111 opus/48000/2" CRLF
          "a=rtpmap:101 telephone-event/8000" CRLF "a=rtpmap:102 telephone-event/48000" CRLF);
    static const struct {
        const char *want;
        const char *fmts; /* formats the answer lists, or "" for a rejection */
    } cases[] = {
        {"opus", "111"},                 /* a name alone */
        {"OPUS/48000", "111"},           /* name/clock, any channels, case ignored */
        {"opus/48000/2", "111"},         /* exact */
        {"opus/48000/1", ""},            /* other channels */
        {"opus/8000", ""},               /* other clock */
        {"PCMU/8000", "0"},              /* static type, no rtpmap: RFC 3551 table */
        {"G722/8000", "9"},              /* ditto */
        {"0", "0"},                      /* static payload type number */
        {"111", ""},                     /* a dynamic number means nothing */
        {"telephone-event/8000", "101"}, /* only the 8 kHz one */
        {"telephone-event", "101 102"},  /* both, offerer's order */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *fmts[] = {cases[i].want};
        const floe_sdp_caps caps = {"audio", "RTP/AVP", fmts, 1, 4000, FLOE_SDP_SENDRECV};
        answer_init();
        assert_int_equal(floe_sdp_answer_build(&offer, &caps, 1, &answer, NULL), FLOE_OK);
        const floe_sdp_media *m = &answer.media[0];
        char got[64] = "";
        if (m->port != 0) {
            for (size_t k = 0; k < m->n_fmt; k++) {
                if (k) strcat(got, " ");
                strncat(got, m->fmt[k].p, m->fmt[k].len);
            }
        }
        if (strcmp(got, cases[i].fmts) != 0)
            fail_msg("case %zu (%s): got \"%s\", want \"%s\"", i, cases[i].want, got,
                     cases[i].fmts);
        if (m->port == 0) assert_int_equal(m->n_fmt, 5); /* rejected: the offer's formats */
    }
    /* Non-RTP formats compare as tokens. */
    parse("v=0" CRLF "o=- 1 1 IN IP4 192.0.2.1" CRLF "s=-" CRLF "c=IN IP4 192.0.2.1" CRLF
          "t=0 0" CRLF "m=image 5000 udptl t38" CRLF);
    const char *t38[] = {"T38"};
    const floe_sdp_caps caps = {"image", "udptl", t38, 1, 4000, FLOE_SDP_SENDRECV};
    answer_init();
    assert_int_equal(floe_sdp_answer_build(&offer, &caps, 1, &answer, NULL), FLOE_OK);
    assert_int_equal(answer.media[0].port, 4000);
}

static void test_answer_errors(void **state) {
    (void)state;
    parse(sip_offer);
    static const char *const audio[] = {"PCMU/8000"};
    const floe_sdp_caps zero_port = {"audio", NULL, audio, 1, 0, FLOE_SDP_SENDRECV};
    floe_sdp_error e;
    answer_init();
    assert_int_equal(floe_sdp_answer_build(&offer, &zero_port, 1, &answer, &e), FLOE_ERR_INVAL);
    assert_int_equal(e.line, 6);
    assert_string_equal(e.reason, "answerer capabilities give port 0 for an accepted stream");
    assert_int_equal(floe_sdp_answer_build(NULL, &zero_port, 1, &answer, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_sdp_answer_build(&offer, NULL, 1, &answer, NULL), FLOE_ERR_INVAL);
    /* No capabilities at all: every stream rejected. */
    answer_init();
    assert_int_equal(floe_sdp_answer_build(&offer, NULL, 0, &answer, NULL), FLOE_OK);
    for (size_t i = 0; i < answer.n_media; i++)
        assert_int_equal(answer.media[i].port, 0);
    print_answer();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_softphone), cmocka_unit_test(test_direction_mirror),
        cmocka_unit_test(test_media_dir),        cmocka_unit_test(test_format_matching),
        cmocka_unit_test(test_answer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
