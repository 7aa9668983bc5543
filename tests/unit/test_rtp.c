/* Unit tests for include/floe/rtp.h: the RTP header (exact bytes, round trips, every
 * rejection with its reason and counter), the sender, the receiver's statistics against
 * hand-computed RFC 3550 values (probation, a gap, a reorder, duplicates, a wrap at
 * 65535, a restart, jitter, report blocks with fraction and cumulative loss, LSR/DLSR),
 * RTCP compounds (exact bytes, round trips, every rejection), the report interval, NTP
 * arithmetic and the RFC 7983 / RFC 5761 demultiplexing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/rtp.h"

/* A random source that counts: bytes 1, 2, 3, ... */
static int counting_rand(void *ctx, void *buf, size_t len) {
    uint8_t *n = ctx, *b = buf;
    for (size_t i = 0; i < len; i++)
        b[i] = ++*n;
    return FLOE_OK;
}
static int failing_rand(void *ctx, void *buf, size_t len) {
    (void)ctx, (void)buf, (void)len;
    return FLOE_ERR_CRYPTO;
}

/* ---- RTP header ------------------------------------------------------------------------ */

static void test_rtp_exact_bytes(void **state) {
    (void)state;
    static const uint8_t pay[4] = {0xFF, 0xFE, 0x7F, 0x00};
    floe_rtp_hdr h = {.marker = true,
                      .pt = 0,
                      .seq = 0x1234,
                      .ts = 0xA0B0C0D0,
                      .ssrc = 0xDEADBEEF,
                      .payload = pay,
                      .payload_len = 4};
    uint8_t out[64];
    size_t n = 0;
    assert_int_equal(floe_rtp_build(&h, out, sizeof out, &n), FLOE_OK);
    static const uint8_t want[] = {0x80, 0x80, 0x12, 0x34, 0xA0, 0xB0, 0xC0, 0xD0,
                                   0xDE, 0xAD, 0xBE, 0xEF, 0xFF, 0xFE, 0x7F, 0x00};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(out, want, sizeof want);

    floe_rtp_hdr p;
    floe_rtp_stats st = {0};
    assert_int_equal(floe_rtp_parse(out, n, &p, NULL, &st), FLOE_OK);
    assert_true(p.marker);
    assert_int_equal(p.pt, 0);
    assert_int_equal(p.seq, 0x1234);
    assert_int_equal(p.ts, 0xA0B0C0D0);
    assert_int_equal(p.ssrc, 0xDEADBEEF);
    assert_int_equal(p.n_csrc, 0);
    assert_false(p.ext);
    assert_int_equal(p.pad_len, 0);
    assert_ptr_equal(p.payload, out + 12);
    assert_int_equal(p.payload_len, 4);
    assert_int_equal(st.rtp_parsed, 1);
}

/* CSRCs, an extension and padding all at once, and back. */
static void test_rtp_round_trip_full(void **state) {
    (void)state;
    static const uint8_t ext[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t pay[3] = {9, 8, 7};
    floe_rtp_hdr h = {.pt = 96,
                      .seq = 65535,
                      .ts = 1,
                      .ssrc = 2,
                      .n_csrc = 15,
                      .ext = true,
                      .ext_profile = 0xBEDE,
                      .ext_data = ext,
                      .ext_len = 8,
                      .pad_len = 5,
                      .payload = pay,
                      .payload_len = 3};
    for (unsigned i = 0; i < 15; i++)
        h.csrc[i] = 0x1000 + i;
    uint8_t out[256];
    size_t n = 0;
    assert_int_equal(floe_rtp_build(&h, out, sizeof out, &n), FLOE_OK);
    assert_int_equal(n, 12 + 60 + 4 + 8 + 3 + 5);
    assert_int_equal(out[0], 0x80 | 0x20 | 0x10 | 15);
    assert_int_equal(out[n - 1], 5);

    floe_rtp_hdr p;
    assert_int_equal(floe_rtp_parse(out, n, &p, NULL, NULL), FLOE_OK);
    assert_false(p.marker);
    assert_int_equal(p.pt, 96);
    assert_int_equal(p.seq, 65535);
    assert_int_equal(p.n_csrc, 15);
    for (unsigned i = 0; i < 15; i++)
        assert_int_equal(p.csrc[i], 0x1000 + i);
    assert_true(p.ext);
    assert_int_equal(p.ext_profile, 0xBEDE);
    assert_int_equal(p.ext_len, 8);
    assert_memory_equal(p.ext_data, ext, 8);
    assert_int_equal(p.pad_len, 5);
    assert_int_equal(p.payload_len, 3);
    assert_memory_equal(p.payload, pay, 3);

    /* And it builds to the same bytes. */
    uint8_t again[256];
    size_t m = 0;
    assert_int_equal(floe_rtp_build(&p, again, sizeof again, &m), FLOE_OK);
    assert_int_equal(m, n);
    assert_memory_equal(again, out, n);

    /* An empty payload and an empty extension are fine. */
    floe_rtp_hdr e = {.pt = 8, .ext = true};
    assert_int_equal(floe_rtp_build(&e, out, sizeof out, &n), FLOE_OK);
    assert_int_equal(n, 16);
    assert_int_equal(floe_rtp_parse(out, n, &p, NULL, NULL), FLOE_OK);
    assert_true(p.ext);
    assert_int_equal(p.ext_len, 0);
    assert_int_equal(p.payload_len, 0);
}

static void expect_rtp_reject(const uint8_t *p, size_t len, floe_rtp_reason want, int err,
                              floe_rtp_stats *st) {
    floe_rtp_hdr h;
    floe_rtp_reason why = FLOE_RTP_R_NONE;
    uint64_t before = st->rejected[want];
    assert_int_equal(floe_rtp_parse(p, len, &h, &why, st), err);
    assert_int_equal(why, want);
    assert_int_equal(st->rejected[want], before + 1);
}

static void test_rtp_rejections(void **state) {
    (void)state;
    floe_rtp_stats st = {0};
    uint8_t b[64];
    memset(b, 0, sizeof b);
    b[0] = 0x80;

    expect_rtp_reject(b, 11, FLOE_RTP_R_SHORT, FLOE_ERR_TRUNCATED, &st);
    expect_rtp_reject(b, 0, FLOE_RTP_R_SHORT, FLOE_ERR_TRUNCATED, &st);
    b[0] = 0x40; /* version 1 */
    expect_rtp_reject(b, 12, FLOE_RTP_R_VERSION, FLOE_ERR_MALFORMED, &st);
    b[0] = 0x00; /* version 0 */
    expect_rtp_reject(b, 20, FLOE_RTP_R_VERSION, FLOE_ERR_MALFORMED, &st);
    b[0] = 0x83; /* three CSRCs, room for two */
    expect_rtp_reject(b, 12 + 8, FLOE_RTP_R_CSRC, FLOE_ERR_TRUNCATED, &st);
    b[0] = 0x90; /* extension, no room for its header */
    expect_rtp_reject(b, 14, FLOE_RTP_R_EXTENSION, FLOE_ERR_TRUNCATED, &st);
    b[14] = 0;
    b[15] = 2; /* two words announced, one present */
    expect_rtp_reject(b, 12 + 4 + 4, FLOE_RTP_R_EXTENSION, FLOE_ERR_TRUNCATED, &st);
    b[0] = 0xA0; /* padding with a count of 0 */
    b[15] = 0;
    b[19] = 0;
    expect_rtp_reject(b, 20, FLOE_RTP_R_PADDING, FLOE_ERR_MALFORMED, &st);
    b[19] = 9; /* 9 padding bytes, 8 after the header */
    expect_rtp_reject(b, 20, FLOE_RTP_R_PADDING, FLOE_ERR_MALFORMED, &st);
    b[19] = 8; /* exactly all of them: an empty payload */
    floe_rtp_hdr h;
    assert_int_equal(floe_rtp_parse(b, 20, &h, NULL, &st), FLOE_OK);
    assert_int_equal(h.payload_len, 0);
    assert_int_equal(h.pad_len, 8);
    b[0] = 0x80;
    for (unsigned pt = 72; pt <= 76; pt++) {
        b[1] = (uint8_t)pt;
        expect_rtp_reject(b, 20, FLOE_RTP_R_PT_RTCP, FLOE_ERR_MALFORMED, &st);
        b[1] = (uint8_t)(0x80 | pt); /* with the marker: RTCP 200..204 */
        expect_rtp_reject(b, 20, FLOE_RTP_R_PT_RTCP, FLOE_ERR_MALFORMED, &st);
    }
    b[1] = 71;
    assert_int_equal(floe_rtp_parse(b, 20, &h, NULL, &st), FLOE_OK);
    b[1] = 77;
    assert_int_equal(floe_rtp_parse(b, 20, &h, NULL, &st), FLOE_OK);
    assert_int_equal(st.rtp_parsed, 3);
    assert_int_equal(floe_rtp_parse(NULL, 20, &h, NULL, &st), FLOE_ERR_INVAL);
    assert_int_equal(floe_rtp_parse(b, 20, NULL, NULL, &st), FLOE_ERR_INVAL);
}

static void test_rtp_build_errors(void **state) {
    (void)state;
    uint8_t out[32];
    size_t n;
    static const uint8_t pay[20] = {0};
    floe_rtp_hdr h = {.pt = 128};
    assert_int_equal(floe_rtp_build(&h, out, sizeof out, &n), FLOE_ERR_INVAL);
    h = (floe_rtp_hdr){.n_csrc = 16};
    assert_int_equal(floe_rtp_build(&h, out, sizeof out, &n), FLOE_ERR_INVAL);
    h = (floe_rtp_hdr){.ext = true, .ext_len = 3, .ext_data = pay};
    assert_int_equal(floe_rtp_build(&h, out, sizeof out, &n), FLOE_ERR_INVAL);
    h = (floe_rtp_hdr){.payload_len = 3};
    assert_int_equal(floe_rtp_build(&h, out, sizeof out, &n), FLOE_ERR_INVAL);
    h = (floe_rtp_hdr){.payload = pay, .payload_len = 20};
    assert_int_equal(floe_rtp_build(&h, out, 31, &n), FLOE_ERR_NOSPACE);
    assert_int_equal(floe_rtp_build(&h, out, 32, &n), FLOE_OK);
    assert_int_equal(n, 32);
    h.pad_len = 1;
    assert_int_equal(floe_rtp_build(&h, out, 32, &n), FLOE_ERR_NOSPACE);
}

/* ---- the sender -------------------------------------------------------------------------- */

static void test_sender(void **state) {
    (void)state;
    uint8_t ctr = 0;
    floe_rtp_sender s;
    assert_int_equal(floe_rtp_sender_init(&s, 0, 8000, counting_rand, &ctr), FLOE_OK);
    assert_int_equal(s.ssrc, 0x01020304);
    assert_int_equal(s.seq, 0x0506);
    assert_int_equal(s.ts, 0x0708090A);
    assert_int_equal(floe_rtp_sender_ts_at(&s, FLOE_S(7)), 0x0708090A);

    uint8_t pay[160], out[200];
    memset(pay, 0xFF, sizeof pay);
    size_t n;
    s.seq = 65535; /* the wrap */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(floe_rtp_sender_build(&s, FLOE_MS(20) * (uint64_t)i, i == 0, pay, 160, 160,
                                               out, sizeof out, &n),
                         FLOE_OK);
        floe_rtp_hdr h;
        assert_int_equal(floe_rtp_parse(out, n, &h, NULL, NULL), FLOE_OK);
        assert_int_equal(h.seq, (uint16_t)(65535 + i));
        assert_int_equal(h.ts, 0x0708090A + 160u * (unsigned)i);
        assert_int_equal(h.ssrc, 0x01020304);
        assert_int_equal(h.marker, i == 0);
        assert_int_equal(h.payload_len, 160);
    }
    assert_int_equal(s.packets, 3);
    assert_int_equal(s.octets, 480);
    assert_int_equal(s.seq, 2);
    /* 30 ms after the last packet (built at 40 ms): 240 ticks past its timestamp. */
    assert_int_equal(floe_rtp_sender_ts_at(&s, FLOE_MS(70)), 0x0708090A + 320 + 240);
    floe_rtp_sender_skip(&s, 480);
    assert_int_equal(s.ts, 0x0708090A + 480 + 480);

    /* Errors leave it as it was. */
    floe_rtp_sender before = s;
    assert_int_equal(floe_rtp_sender_build(&s, FLOE_S(1), false, pay, 160, 160, out, 100, &n),
                     FLOE_ERR_NOSPACE);
    assert_memory_equal(&before, &s, sizeof s);
    assert_int_equal(floe_rtp_sender_init(&s, 0, 8000, failing_rand, NULL), FLOE_ERR_CRYPTO);
    assert_int_equal(floe_rtp_sender_init(&s, 0, 8000, NULL, NULL), FLOE_ERR_INVAL);
    assert_int_equal(floe_rtp_sender_init(&s, 128, 8000, counting_rand, &ctr), FLOE_ERR_INVAL);
    assert_int_equal(floe_rtp_sender_init(&s, 0, 0, counting_rand, &ctr), FLOE_ERR_INVAL);
}

/* ---- the receiver's statistics (RFC 3550 A.1, A.3, A.8) -------------------------------- */

/* Feeds seq with a timestamp that follows it (160 per number) at 20 ms per number:
 * no jitter. */
static floe_rtp_seq feed(floe_rtp_source *s, uint16_t seq) {
    return floe_rtp_source_update(s, FLOE_MS(20) * seq, seq, 160u * seq);
}

static void test_source_probation(void **state) {
    (void)state;
    floe_rtp_source s;
    floe_rtp_source_init(&s, 7, 100, 8000);
    assert_false(floe_rtp_source_valid(&s));
    assert_int_equal(feed(&s, 100), FLOE_RTP_SEQ_PROBATION);
    assert_int_equal(floe_rtp_source_expected(&s), 0);
    /* Out of sequence during probation: probation starts again from it. */
    assert_int_equal(feed(&s, 200), FLOE_RTP_SEQ_PROBATION);
    assert_int_equal(feed(&s, 201), FLOE_RTP_SEQ_OK);
    assert_true(floe_rtp_source_valid(&s));
    assert_int_equal(s.base_seq, 201);
    assert_int_equal(s.received, 1);
    assert_int_equal(s.probation_pkts, 2);
    assert_int_equal(floe_rtp_source_expected(&s), 1);
    assert_int_equal(floe_rtp_source_lost(&s), 0);
    /* The probation packet again is a duplicate, not a new one. */
    assert_int_equal(feed(&s, 200), FLOE_RTP_SEQ_DUPLICATE);
}

/* 100 (probation), 101, 102, 104, 103 (late), 103 (duplicate), 105, 105 (duplicate),
 * 107, 99 (late, before the base): base 101, highest 107, expected 7, received 6
 * (101 102 103 104 105 107), lost 1 (106). */
static void test_source_gap_reorder_duplicate(void **state) {
    (void)state;
    floe_rtp_source s;
    floe_rtp_source_init(&s, 7, 100, 8000);
    assert_int_equal(feed(&s, 100), FLOE_RTP_SEQ_PROBATION);
    assert_int_equal(feed(&s, 101), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 102), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 104), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 103), FLOE_RTP_SEQ_LATE);
    assert_int_equal(feed(&s, 103), FLOE_RTP_SEQ_DUPLICATE);
    assert_int_equal(feed(&s, 105), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 105), FLOE_RTP_SEQ_DUPLICATE);
    assert_int_equal(feed(&s, 107), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 99), FLOE_RTP_SEQ_LATE);
    assert_int_equal(s.base_seq, 101);
    assert_int_equal(floe_rtp_source_ext_max(&s), 107);
    assert_int_equal(floe_rtp_source_expected(&s), 7);
    assert_int_equal(s.received, 6);
    assert_int_equal(floe_rtp_source_lost(&s), 1);
    assert_int_equal(s.late, 2);
    assert_int_equal(s.duplicates, 2);
    /* Filling the hole late brings the loss to zero. */
    assert_int_equal(feed(&s, 106), FLOE_RTP_SEQ_LATE);
    assert_int_equal(floe_rtp_source_lost(&s), 0);
    assert_int_equal(floe_rtp_source_jitter(&s), 0);
}

/* 65533 (probation), 65534, 65535, 0, 2, 1: one wrap, highest 65536 + 2, nothing lost. */
static void test_source_wrap(void **state) {
    (void)state;
    floe_rtp_source s;
    floe_rtp_source_init(&s, 7, 65533, 8000);
    assert_int_equal(feed(&s, 65533), FLOE_RTP_SEQ_PROBATION);
    assert_int_equal(feed(&s, 65534), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 65535), FLOE_RTP_SEQ_OK);
    assert_int_equal(s.cycles, 0);
    assert_int_equal(feed(&s, 0), FLOE_RTP_SEQ_OK);
    assert_int_equal(s.cycles, 65536);
    assert_int_equal(feed(&s, 2), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 1), FLOE_RTP_SEQ_LATE);
    /* A late packet from before the wrap is still late, not a new cycle. */
    assert_int_equal(feed(&s, 65535), FLOE_RTP_SEQ_DUPLICATE);
    assert_int_equal(floe_rtp_source_ext_max(&s), 65536 + 2);
    assert_int_equal(floe_rtp_source_expected(&s), 5); /* 65534 .. 65536+2 */
    assert_int_equal(s.received, 5);
    assert_int_equal(floe_rtp_source_lost(&s), 0);
    floe_rtcp_block b;
    floe_rtp_source_report(&s, FLOE_S(1), &b);
    assert_int_equal(b.ext_highest_seq, 0x00010002);
    assert_int_equal(b.cumulative_lost, 0);
    assert_int_equal(b.fraction_lost, 0);
}

/* A.1's limits: a step of MAX_DROPOUT - 1 is loss; MAX_DROPOUT is a jump that a second
 * packet confirms as a restart; up to MAX_MISORDER - 1 behind is late, MAX_MISORDER
 * behind is a jump. */
static void test_source_dropout_and_restart(void **state) {
    (void)state;
    floe_rtp_source s;
    floe_rtp_source_init(&s, 7, 1000, 8000);
    feed(&s, 1000);
    assert_int_equal(feed(&s, 1001), FLOE_RTP_SEQ_OK);
    assert_int_equal(feed(&s, 1001 + 2999), FLOE_RTP_SEQ_OK);
    assert_int_equal(floe_rtp_source_lost(&s), 2998);
    assert_int_equal(feed(&s, 4000 - 99), FLOE_RTP_SEQ_LATE);
    assert_int_equal(feed(&s, 4000 - 100), FLOE_RTP_SEQ_JUMP);
    assert_int_equal(feed(&s, 4000 + 3000), FLOE_RTP_SEQ_JUMP);
    assert_int_equal(s.jumps, 2);
    /* A stray packet does not move anything. */
    assert_int_equal(floe_rtp_source_ext_max(&s), 4000);
    assert_int_equal(feed(&s, 4000 + 3001), FLOE_RTP_SEQ_RESTART);
    assert_int_equal(s.restarts, 1);
    assert_int_equal(s.base_seq, 7001);
    assert_int_equal(s.received, 1);
    assert_int_equal(floe_rtp_source_lost(&s), 0);
    assert_int_equal(feed(&s, 7002), FLOE_RTP_SEQ_OK);
    assert_int_equal(floe_rtp_source_expected(&s), 2);
}

/* A.8 by hand, with J kept times 16: one packet every 20 ms (160 ticks); arrival delays
 * 0 (probation), 0, 10 ms, 0, 0 ms. Transit differences D = 80, 80, 0 ticks:
 * J16 = 0 + 80 - 0 = 80 (J 5); 80 + 80 - (88 >> 4 = 5) = 155 (J 9);
 * 155 + 0 - (163 >> 4 = 10) = 145 (J 9). */
static void test_source_jitter(void **state) {
    (void)state;
    floe_rtp_source s;
    floe_rtp_source_init(&s, 7, 10, 8000);
    const floe_time_ns t0 = FLOE_S(1000); /* any clock origin */
    const unsigned delay_ms[] = {0, 0, 10, 0, 0};
    const uint32_t j16[] = {0, 0, 80, 155, 145};
    for (unsigned i = 0; i < 5; i++) {
        floe_rtp_source_update(&s, t0 + FLOE_MS(20 * i + delay_ms[i]), (uint16_t)(10 + i),
                               0xFFFFFF00u + 160u * i); /* timestamps wrap too */
        assert_int_equal(s.jitter16, j16[i]);
    }
    assert_int_equal(floe_rtp_source_jitter(&s), 9);
    /* Duplicates do not touch it. */
    floe_rtp_source_update(&s, t0 + FLOE_S(5), 14, 0);
    assert_int_equal(s.jitter16, 145);
}

/* A.3 over two intervals, and LSR/DLSR. Interval 1: 1 (probation), 2..11 expected (10),
 * 4 and 8 missing: fraction 2 * 256 / 10 = 51, cumulative 2. Interval 2: 12..21, all
 * there, plus 4 arriving late (counted): received 11 of 10 expected, fraction 0,
 * cumulative 1. */
static void test_source_report(void **state) {
    (void)state;
    floe_rtp_source s;
    floe_rtp_source_init(&s, 0x55, 1, 8000);
    for (uint16_t q = 1; q <= 11; q++)
        if (q != 4 && q != 8) feed(&s, q);
    floe_rtcp_block b;
    floe_rtp_source_report(&s, FLOE_S(1), &b);
    assert_int_equal(b.ssrc, 0x55);
    assert_int_equal(b.fraction_lost, 51);
    assert_int_equal(b.cumulative_lost, 2);
    assert_int_equal(b.ext_highest_seq, 11);
    assert_int_equal(b.lsr, 0);
    assert_int_equal(b.dlsr, 0);

    for (uint16_t q = 12; q <= 21; q++)
        feed(&s, q);
    assert_int_equal(feed(&s, 4), FLOE_RTP_SEQ_LATE);
    /* An SR arrived at 1.25 s with NTP 0x0000AAAA_BBBB8000; reported at 2 s. */
    floe_rtp_source_on_sr(&s, FLOE_MS(1250), UINT64_C(0x0000AAAABBBB8000));
    floe_rtp_source_report(&s, FLOE_S(2), &b);
    assert_int_equal(b.fraction_lost, 0);
    assert_int_equal(b.cumulative_lost, 1);
    assert_int_equal(b.ext_highest_seq, 21);
    assert_int_equal(b.lsr, 0xAAAABBBB);
    assert_int_equal(b.dlsr, 0xC000); /* 0.75 s in 1/65536 s */

    /* A third interval with nothing new: fraction 0, nothing divides by zero. */
    floe_rtp_source_report(&s, FLOE_S(3), &b);
    assert_int_equal(b.fraction_lost, 0);
    assert_int_equal(b.dlsr, 0x1C000);

    /* All lost in an interval: 255 at most (the field is lost * 256 / expected). */
    for (uint16_t q = 22; q <= 30; q++)
        feed(&s, q);
    floe_rtp_source_report(&s, FLOE_S(4), &b);
    feed(&s, 40); /* 31..39 lost: 9 of 10 */
    floe_rtp_source_report(&s, FLOE_S(5), &b);
    assert_int_equal(b.fraction_lost, 9 * 256 / 10);
    assert_int_equal(b.cumulative_lost, 1 + 9);

    /* The cumulative count saturates at 24 bits. */
    s.cycles = 300u * 65536u;
    floe_rtp_source_report(&s, FLOE_S(6), &b);
    assert_int_equal(b.cumulative_lost, 0x7FFFFF);
}

/* ---- RTCP ------------------------------------------------------------------------------ */

/* An RR with one block and an SDES CNAME "ab", byte by byte. */
static const uint8_t rr_bytes[] = {
    0x81, 201,  0x00, 0x07,             /* RR, RC 1, 8 words */
    0x11, 0x22, 0x33, 0x44,             /* reporter */
    0xAA, 0xBB, 0xCC, 0xDD,             /* source */
    0x33, 0xFF, 0xFF, 0xFE,             /* fraction 51, cumulative -2 */
    0x00, 0x01, 0x00, 0x05,             /* ext highest seq */
    0x00, 0x00, 0x00, 0x09,             /* jitter */
    0x12, 0x34, 0x56, 0x78,             /* LSR */
    0x00, 0x00, 0x80, 0x00,             /* DLSR 0.5 s */
    0x81, 202,  0x00, 0x03,             /* SDES, SC 1, 4 words */
    0x11, 0x22, 0x33, 0x44,             /* chunk: SSRC */
    0x01, 0x02, 'a',  'b',  0, 0, 0, 0, /* CNAME "ab", null, padding to the boundary */
};

static void test_rtcp_rr_exact_bytes(void **state) {
    (void)state;
    floe_rtcp c;
    floe_rtp_stats st = {0};
    assert_int_equal(floe_rtcp_parse(rr_bytes, sizeof rr_bytes, &c, NULL, &st), FLOE_OK);
    assert_int_equal(st.rtcp_parsed, 1);
    assert_false(c.sr);
    assert_int_equal(c.ssrc, 0x11223344);
    assert_int_equal(c.n_packets, 2);
    assert_int_equal(c.n_blocks, 1);
    const floe_rtcp_block *b = &c.blocks[0];
    assert_int_equal(b->ssrc, 0xAABBCCDD);
    assert_int_equal(b->fraction_lost, 51);
    assert_int_equal(b->cumulative_lost, -2);
    assert_int_equal(b->ext_highest_seq, 0x00010005);
    assert_int_equal(b->jitter, 9);
    assert_int_equal(b->lsr, 0x12345678);
    assert_int_equal(b->dlsr, 0x8000);
    assert_int_equal(c.n_sdes, 1);
    assert_int_equal(c.sdes[0].ssrc, 0x11223344);
    assert_int_equal(c.sdes[0].cname_len, 2);
    assert_memory_equal(c.sdes[0].cname, "ab", 2);
    assert_false(c.bye);

    uint8_t out[128];
    size_t n = 0;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_OK);
    assert_int_equal(n, sizeof rr_bytes);
    assert_memory_equal(out, rr_bytes, n);
}

/* An SR with two blocks, two SDES chunks (one without a CNAME), a BYE with a reason. */
static void test_rtcp_round_trip(void **state) {
    (void)state;
    floe_rtcp c;
    memset(&c, 0, sizeof c);
    c.sr = true;
    c.ssrc = 0xCAFEBABE;
    c.ntp = UINT64_C(0xE123456789ABCDEF);
    c.rtp_ts = 123456;
    c.packets = 50;
    c.octets = 8000;
    c.n_blocks = 2;
    c.blocks[0] = (floe_rtcp_block){1, 255, 0x7FFFFF, 0xFFFFFFFF, 0x12345, 7, 8};
    c.blocks[1] = (floe_rtcp_block){2, 0, -0x800000, 0, 0, 0, 0};
    c.n_sdes = 2;
    c.sdes[0] = (floe_rtcp_sdes){0xCAFEBABE, (const uint8_t *)"floe@host", 9};
    c.sdes[1] = (floe_rtcp_sdes){0x99, NULL, 0};
    c.bye = true;
    c.n_bye = 1;
    c.bye_ssrc[0] = 0xCAFEBABE;
    c.bye_reason = (const uint8_t *)"hang-up";
    c.bye_reason_len = 7;

    uint8_t out[256];
    size_t n = 0;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_OK);
    /* SR 28 + 2 * 24; SDES 4 + (4 + 2 + 9 + 1 -> 16) + (4 + 1 -> 8); BYE 4 + 4 + 8. */
    assert_int_equal(n, 76 + 28 + 16);
    assert_int_equal(n % 4, 0);
    assert_int_equal(out[0], 0x82);
    assert_int_equal(out[1], FLOE_RTCP_SR);

    floe_rtcp p;
    assert_int_equal(floe_rtcp_parse(out, n, &p, NULL, NULL), FLOE_OK);
    assert_true(p.sr);
    assert_int_equal(p.ssrc, c.ssrc);
    assert_true(p.ntp == c.ntp);
    assert_int_equal(p.rtp_ts, c.rtp_ts);
    assert_int_equal(p.packets, 50);
    assert_int_equal(p.octets, 8000);
    assert_int_equal(p.n_blocks, 2);
    for (int i = 0; i < 2; i++) { /* field by field: the struct has padding */
        assert_int_equal(p.blocks[i].ssrc, c.blocks[i].ssrc);
        assert_int_equal(p.blocks[i].fraction_lost, c.blocks[i].fraction_lost);
        assert_int_equal(p.blocks[i].cumulative_lost, c.blocks[i].cumulative_lost);
        assert_int_equal(p.blocks[i].ext_highest_seq, c.blocks[i].ext_highest_seq);
        assert_int_equal(p.blocks[i].jitter, c.blocks[i].jitter);
        assert_int_equal(p.blocks[i].lsr, c.blocks[i].lsr);
        assert_int_equal(p.blocks[i].dlsr, c.blocks[i].dlsr);
    }
    assert_int_equal(p.n_sdes, 2);
    assert_int_equal(p.sdes[0].cname_len, 9);
    assert_memory_equal(p.sdes[0].cname, "floe@host", 9);
    assert_int_equal(p.sdes[1].ssrc, 0x99);
    assert_null(p.sdes[1].cname);
    assert_true(p.bye);
    assert_int_equal(p.n_bye, 1);
    assert_int_equal(p.bye_ssrc[0], 0xCAFEBABE);
    assert_int_equal(p.bye_reason_len, 7);
    assert_memory_equal(p.bye_reason, "hang-up", 7);
    assert_int_equal(p.n_packets, 3);

    /* Every shorter buffer fails cleanly. */
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(floe_rtcp_build(&c, out, cap, NULL), FLOE_ERR_NOSPACE);
}

/* Things A.2 lets through: APP and unknown types (skipped), other SDES items, padding on
 * the last packet, a BYE with no reason, report extensions, an RR with no blocks. */
static void test_rtcp_tolerated(void **state) {
    (void)state;
    static const uint8_t in[] = {
        0x80, 201,  0x00, 0x02, 1,    2,   3,    4,
        0xEE, 0xEE, 0xEE, 0xEE, /* RR + 4 bytes ext */
        0x80, 204,  0x00, 0x02, 1,    2,   3,    4,
        'n',  'a',  'm',  'e',                      /* APP */
        0x81, 202,  0x00, 0x04, 1,    2,   3,    4, /* SDES */
        0x02, 0x01, 'x',  0x01, 0x01, 'y', 0x03, 0x00,
        0x00, 0x00, 0x00, 0x00, /* NAME, CNAME */
        0xA1, 203,  0x00, 0x02, 1,    2,   3,    4,
        0,    0,    0,    4, /* BYE, 4 bytes padding */
    };
    floe_rtcp c;
    floe_rtp_reason why;
    assert_int_equal(floe_rtcp_parse(in, sizeof in, &c, &why, NULL), FLOE_OK);
    assert_int_equal(why, FLOE_RTP_R_NONE);
    assert_int_equal(c.n_packets, 4);
    assert_int_equal(c.n_other, 1);
    assert_int_equal(c.n_blocks, 0);
    assert_int_equal(c.n_sdes, 1);
    assert_int_equal(c.sdes[0].cname_len, 1);
    assert_int_equal(c.sdes[0].cname[0], 'y');
    assert_true(c.bye);
    assert_int_equal(c.n_bye, 1);
    assert_null(c.bye_reason);
}

/* Blocks, chunks and sources beyond the caps are counted and skipped. */
static void test_rtcp_caps(void **state) {
    (void)state;
    floe_rtcp c;
    memset(&c, 0, sizeof c);
    c.n_blocks = 31;
    for (unsigned i = 0; i < 31; i++)
        c.blocks[i].ssrc = i;
    c.n_sdes = 1;
    c.sdes[0] = (floe_rtcp_sdes){1, (const uint8_t *)"x", 1};
    static uint8_t out[2048];
    size_t n;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_OK);
    /* Append an RR with two more blocks. */
    uint8_t rr[8 + 48] = {0x82, 201, 0, 13, 0, 0, 0, 1};
    memcpy(out + n, rr, sizeof rr);
    floe_rtcp p;
    assert_int_equal(floe_rtcp_parse(out, n + sizeof rr, &p, NULL, NULL), FLOE_OK);
    assert_int_equal(p.n_blocks, 31);
    assert_int_equal(p.n_dropped, 2);
    c.n_blocks = 32;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
}

static void expect_rtcp_reject(const uint8_t *p, size_t len, floe_rtp_reason want, int err,
                               floe_rtp_stats *st) {
    floe_rtcp c;
    floe_rtp_reason why = FLOE_RTP_R_NONE;
    uint64_t before = st->rejected[want];
    assert_int_equal(floe_rtcp_parse(p, len, &c, &why, st), err);
    assert_int_equal(why, want);
    assert_int_equal(st->rejected[want], before + 1);
}

static void test_rtcp_rejections(void **state) {
    (void)state;
    floe_rtp_stats st = {0};
    uint8_t b[96];
    /* A valid RR (no blocks) to start from. */
    const uint8_t rr[8] = {0x80, 201, 0, 1, 1, 2, 3, 4};

    memcpy(b, rr, 8);
    expect_rtcp_reject(b, 7, FLOE_RTP_R_RTCP_SHORT, FLOE_ERR_TRUNCATED, &st);
    memcpy(b + 8, (uint8_t[]){0x80, 202}, 2); /* two bytes of a second packet */
    expect_rtcp_reject(b, 10, FLOE_RTP_R_RTCP_SHORT, FLOE_ERR_TRUNCATED, &st);

    b[0] = 0x40;
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_VERSION, FLOE_ERR_MALFORMED, &st);
    b[0] = 0x80;
    memcpy(b + 8, (uint8_t[]){0xC0, 202, 0, 0}, 4); /* version 3 in the second packet */
    expect_rtcp_reject(b, 12, FLOE_RTP_R_RTCP_VERSION, FLOE_ERR_MALFORMED, &st);

    b[3] = 2; /* 12 bytes announced, 8 present */
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_LENGTH, FLOE_ERR_TRUNCATED, &st);
    b[3] = 1;

    b[1] = FLOE_RTCP_SDES; /* SDES first */
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_FIRST, FLOE_ERR_MALFORMED, &st);
    b[1] = FLOE_RTCP_BYE;
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_FIRST, FLOE_ERR_MALFORMED, &st);
    b[1] = 205; /* RFC 4585 feedback alone (reduced-size RTCP) */
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_FIRST, FLOE_ERR_MALFORMED, &st);
    b[1] = FLOE_RTCP_RR;

    /* Padding on the first of two packets. */
    memcpy(b, rr, 8);
    b[0] = 0xA0;
    b[7] = 4;
    memcpy(b + 8, rr, 8);
    expect_rtcp_reject(b, 16, FLOE_RTP_R_RTCP_PADDING, FLOE_ERR_MALFORMED, &st);
    /* On the last one (an RR of 12 bytes), with a count of 0, then one larger than its
     * body, then 4: fine. */
    memcpy(b, rr, 8);
    memcpy(b + 8, (uint8_t[]){0xA0, 201, 0, 2, 1, 2, 3, 4, 0, 0, 0, 0}, 12);
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_PADDING, FLOE_ERR_MALFORMED, &st);
    b[19] = 9;
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_PADDING, FLOE_ERR_MALFORMED, &st);
    b[19] = 4;
    floe_rtcp c;
    assert_int_equal(floe_rtcp_parse(b, 20, &c, NULL, &st), FLOE_OK);
    /* Padding that leaves an RR without its SSRC. */
    b[19] = 8;
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_REPORT, FLOE_ERR_MALFORMED, &st);

    /* An RR announcing a block it does not hold; an SR without its sender info. */
    memcpy(b, rr, 8);
    b[0] = 0x81;
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_REPORT, FLOE_ERR_MALFORMED, &st);
    b[0] = 0x80;
    b[1] = FLOE_RTCP_SR;
    expect_rtcp_reject(b, 8, FLOE_RTP_R_RTCP_REPORT, FLOE_ERR_MALFORMED, &st);

    /* SDES: a chunk with no terminating null; an item running past the packet; two
     * chunks announced, one present. */
    memcpy(b, rr, 8);
    memcpy(b + 8, (uint8_t[]){0x81, 202, 0, 2, 1, 2, 3, 4, 1, 2, 'a', 'b'}, 12);
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_SDES, FLOE_ERR_MALFORMED, &st);
    memcpy(b + 8, (uint8_t[]){0x81, 202, 0, 2, 1, 2, 3, 4, 1, 9, 'a', 'b'}, 12);
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_SDES, FLOE_ERR_MALFORMED, &st);
    memcpy(b + 8, (uint8_t[]){0x82, 202, 0, 2, 1, 2, 3, 4, 1, 1, 'a', 0}, 12);
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_SDES, FLOE_ERR_MALFORMED, &st);
    b[8] = 0x81;
    assert_int_equal(floe_rtcp_parse(b, 20, &c, NULL, &st), FLOE_OK);

    /* BYE: two sources announced, one present; a reason longer than the packet. */
    memcpy(b + 8, (uint8_t[]){0x82, 203, 0, 1, 1, 2, 3, 4}, 8);
    expect_rtcp_reject(b, 16, FLOE_RTP_R_RTCP_BYE, FLOE_ERR_MALFORMED, &st);
    memcpy(b + 8, (uint8_t[]){0x81, 203, 0, 2, 1, 2, 3, 4, 4, 'b', 'y', 'e'}, 12);
    expect_rtcp_reject(b, 20, FLOE_RTP_R_RTCP_BYE, FLOE_ERR_MALFORMED, &st);
    b[16] = 3;
    assert_int_equal(floe_rtcp_parse(b, 20, &c, NULL, &st), FLOE_OK);
    assert_int_equal(c.bye_reason_len, 3);
    assert_int_equal(st.rtcp_parsed, 3);

    assert_int_equal(floe_rtcp_parse(NULL, 8, &c, NULL, &st), FLOE_ERR_INVAL);
}

static void test_rtcp_build_errors(void **state) {
    (void)state;
    floe_rtcp c;
    memset(&c, 0, sizeof c);
    uint8_t out[256];
    size_t n;
    /* §6.1: no CNAME, no compound. */
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
    c.n_sdes = 1;
    c.sdes[0] = (floe_rtcp_sdes){1, NULL, 0};
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
    c.sdes[0] = (floe_rtcp_sdes){1, (const uint8_t *)"c", 1};
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_OK);
    assert_int_equal(n, 8 + 12);
    c.sdes[0].cname_len = 256;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
    c.sdes[0].cname_len = 1;
    c.n_blocks = 1;
    c.blocks[0].cumulative_lost = 0x800000;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
    c.blocks[0].cumulative_lost = -0x800001;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
    c.blocks[0].cumulative_lost = 0;
    c.bye = true;
    c.bye_reason_len = 2; /* no text */
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
    c.n_bye = 32;
    c.bye_reason_len = 0;
    assert_int_equal(floe_rtcp_build(&c, out, sizeof out, &n), FLOE_ERR_INVAL);
}

static void test_reason_names(void **state) {
    (void)state;
    for (int i = 0; i < FLOE_RTP_R_COUNT; i++) {
        const char *a = floe_rtp_reason_name((floe_rtp_reason)i);
        assert_string_not_equal(a, "unknown");
        for (int k = 0; k < i; k++)
            assert_string_not_equal(a, floe_rtp_reason_name((floe_rtp_reason)k));
    }
    assert_string_equal(floe_rtp_reason_name(FLOE_RTP_R_COUNT), "unknown");
}

/* ---- the report interval (A.7) ---------------------------------------------------------- */

static void test_interval(void **state) {
    (void)state;
    /* A call: 2 members, 1 sender, 500 octets/s (5 % of 80 kbit/s), 100-octet reports.
     * 100 * 2 / 500 = 0.4 s is below Tmin: 5 s, 2.5 s for the first report. */
    floe_rtcp_interval_in in = {2, 1, 500.0, true, 100.0, true};
    floe_time_ns t = floe_rtcp_interval(&in, 0);
    assert_true(t > FLOE_MS(1026) - FLOE_MS(1) &&
                t < FLOE_MS(1026) + FLOE_MS(1)); /* 2.5 * 0.5 / e-1.5 */
    t = floe_rtcp_interval(&in, 0x80000000u);
    assert_true(t > FLOE_MS(2052) - FLOE_MS(1) && t < FLOE_MS(2052) + FLOE_MS(1));
    in.initial = false;
    t = floe_rtcp_interval(&in, UINT32_MAX);
    assert_true(t > FLOE_MS(6156) - FLOE_MS(1) && t < FLOE_MS(6156) + FLOE_MS(1));
    t = floe_rtcp_interval(&in, 0x80000000u);
    assert_true(t > FLOE_MS(4104) - FLOE_MS(1) && t < FLOE_MS(4104) + FLOE_MS(1));

    /* Little bandwidth: 100 * 2 / 10 = 20 s, over Tmin. */
    in = (floe_rtcp_interval_in){2, 1, 10.0, true, 100.0, false};
    t = floe_rtcp_interval(&in, 0x80000000u);
    assert_true(t > FLOE_MS(16416) && t < FLOE_MS(16417)); /* 20 / 1.21828 */
    /* Ten members, one sender: the sender gets a quarter of the bandwidth to itself
     * (100 / 2.5 = 40 s), the receivers share the rest (100 * 9 / 7.5 = 120 s). */
    in = (floe_rtcp_interval_in){10, 1, 10.0, true, 100.0, false};
    t = floe_rtcp_interval(&in, 0x80000000u);
    assert_true(t > FLOE_MS(32833) && t < FLOE_MS(32835));
    in.we_sent = false;
    t = floe_rtcp_interval(&in, 0x80000000u);
    assert_true(t > FLOE_MS(98499) && t < FLOE_MS(98500));
    /* No bandwidth: Tmin. */
    in = (floe_rtcp_interval_in){0, 0, 0.0, false, 100.0, false};
    t = floe_rtcp_interval(&in, 0x80000000u);
    assert_true(t > FLOE_MS(4104) - FLOE_MS(1) && t < FLOE_MS(4104) + FLOE_MS(1));

    assert_true(floe_rtcp_avg_size(100.0, 228) == 108.0);
}

/* ---- NTP arithmetic ----------------------------------------------------------------------- */

static void test_ntp(void **state) {
    (void)state;
    assert_true(floe_rtp_ntp(0, FLOE_MS(1500)) == UINT64_C(0x0000000180000000));
    assert_true(floe_rtp_ntp(UINT64_C(0xE000000000000000), FLOE_S(2)) ==
                UINT64_C(0xE000000200000000));
    assert_int_equal(floe_rtp_ntp_mid(UINT64_C(0x0000000180000000)), 0x00018000);
    assert_int_equal(floe_rtp_ntp_short_to_ns(0x00018000), FLOE_MS(1500));
    assert_int_equal(floe_rtp_ns_to_ntp_short(FLOE_MS(1500)), 0x00018000);
    assert_int_equal(floe_rtp_ns_to_ntp_short(FLOE_S(70000)), UINT32_MAX);
    /* 1/65536 s is about 15.26 us. */
    assert_int_equal(floe_rtp_ntp_short_to_ns(1), 15258);
}

/* ---- demultiplexing ----------------------------------------------------------------------- */

static floe_demux_class demux2(uint8_t a, uint8_t b) {
    uint8_t p[2] = {a, b};
    return floe_rtp_demux(p, 2);
}

static void test_demux(void **state) {
    (void)state;
    assert_int_equal(floe_rtp_demux(NULL, 0), FLOE_DEMUX_UNKNOWN);
    assert_int_equal(demux2(0, 1), FLOE_DEMUX_STUN);
    assert_int_equal(demux2(3, 0), FLOE_DEMUX_STUN);
    assert_int_equal(demux2(4, 0), FLOE_DEMUX_UNKNOWN);
    assert_int_equal(demux2(15, 0), FLOE_DEMUX_UNKNOWN);
    assert_int_equal(demux2(16, 0), FLOE_DEMUX_ZRTP);
    assert_int_equal(demux2(19, 0), FLOE_DEMUX_ZRTP);
    assert_int_equal(demux2(20, 0), FLOE_DEMUX_DTLS);
    assert_int_equal(demux2(63, 0), FLOE_DEMUX_DTLS);
    assert_int_equal(demux2(64, 0), FLOE_DEMUX_TURN_CHANNEL);
    assert_int_equal(demux2(79, 0), FLOE_DEMUX_TURN_CHANNEL);
    assert_int_equal(demux2(80, 0), FLOE_DEMUX_UNKNOWN);
    assert_int_equal(demux2(127, 0), FLOE_DEMUX_UNKNOWN);
    assert_int_equal(demux2(0x80, 0), FLOE_DEMUX_RTP);    /* PCMU */
    assert_int_equal(demux2(0x80, 0x88), FLOE_DEMUX_RTP); /* PCMA with marker */
    assert_int_equal(demux2(0x80, 63), FLOE_DEMUX_RTP);
    assert_int_equal(demux2(0x80, 64), FLOE_DEMUX_RTCP); /* 192 */
    assert_int_equal(demux2(0x81, FLOE_RTCP_SR), FLOE_DEMUX_RTCP);
    assert_int_equal(demux2(0x81, FLOE_RTCP_RR), FLOE_DEMUX_RTCP);
    assert_int_equal(demux2(0x80, 95), FLOE_DEMUX_RTCP);       /* 223 */
    assert_int_equal(demux2(0x80, 96), FLOE_DEMUX_RTP);        /* dynamic */
    assert_int_equal(demux2(0x80, 0x80 | 96), FLOE_DEMUX_RTP); /* 224 */
    assert_int_equal(demux2(191, 0), FLOE_DEMUX_RTP);
    assert_int_equal(demux2(192, 0), FLOE_DEMUX_UNKNOWN);
    assert_int_equal(demux2(255, 0), FLOE_DEMUX_UNKNOWN);
    uint8_t one = 0x80;
    assert_int_equal(floe_rtp_demux(&one, 1), FLOE_DEMUX_RTP);
    assert_false(floe_rtp_is_rtcp(&one, 1));
    assert_true(floe_rtp_is_rtcp(rr_bytes, sizeof rr_bytes));
    assert_string_equal(floe_demux_class_name(FLOE_DEMUX_STUN), "stun");
    assert_string_equal(floe_demux_class_name(FLOE_DEMUX_RTCP), "rtcp");
    assert_string_equal(floe_demux_class_name(FLOE_DEMUX_TURN_CHANNEL), "turn-channel");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_exact_bytes),
        cmocka_unit_test(test_rtp_round_trip_full),
        cmocka_unit_test(test_rtp_rejections),
        cmocka_unit_test(test_rtp_build_errors),
        cmocka_unit_test(test_sender),
        cmocka_unit_test(test_source_probation),
        cmocka_unit_test(test_source_gap_reorder_duplicate),
        cmocka_unit_test(test_source_wrap),
        cmocka_unit_test(test_source_dropout_and_restart),
        cmocka_unit_test(test_source_jitter),
        cmocka_unit_test(test_source_report),
        cmocka_unit_test(test_rtcp_rr_exact_bytes),
        cmocka_unit_test(test_rtcp_round_trip),
        cmocka_unit_test(test_rtcp_tolerated),
        cmocka_unit_test(test_rtcp_caps),
        cmocka_unit_test(test_rtcp_rejections),
        cmocka_unit_test(test_rtcp_build_errors),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_ntp),
        cmocka_unit_test(test_demux),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
