/* Unit tests for include/floe/media.h: two sessions in virtual time over a little link
 * with a fixed delay and deterministic loss: 50 packets at 10 % loss and every counter;
 * a 440 Hz tone one way and 1000 Hz the other, detected in what each side recorded
 * (PCMU and PCMA); RTCP reports (SR/RR, round-trip time, the peer's view of our loss,
 * the interval); stopping with and without BYE; every drop reason; an SSRC change;
 * reordering and the gap count; a caller that falls behind; configuration errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/media.h"

#define FLOE_US(x) ((floe_time_ns)(x)*FLOE_NS_PER_US)

/* ---- a deterministic random source (xorshift) ----------------------------------------- */

static int xs_rand(void *ctx, void *buf, size_t len) {
    uint64_t *x = ctx;
    uint8_t *b = buf;
    for (size_t i = 0; i < len; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        b[i] = (uint8_t)*x;
    }
    return FLOE_OK;
}
static int bad_rand(void *ctx, void *buf, size_t len) {
    (void)ctx, (void)buf, (void)len;
    return FLOE_ERR_CRYPTO;
}

/* ---- two sessions and a link between them --------------------------------------------- */

#define MAX_FLIGHT 512
#define REC_MAX (8000 * 20)

typedef struct flight {
    floe_time_ns at;
    int to;
    size_t len;
    uint8_t b[FLOE_MEDIA_RTCP_MAX];
} flight;

typedef struct side {
    floe_media m;
    uint64_t seed;
    unsigned rtp_limit;  /* stop producing RTP after this many (0: no limit) */
    unsigned loss_every; /* drop RTP packet i when i % loss_every == loss_phase */
    unsigned loss_phase;
    unsigned rtp_out; /* RTP packets produced */
    unsigned rtcp_out;
    unsigned sr_out, rr_out, blocks_out;
    int16_t rec[REC_MAX]; /* what this side received, gaps filled with silence */
    size_t rec_n;
    unsigned byes_seen;
} side;

static side sides[2];
static flight q[MAX_FLIGHT];
static size_t nq;
static floe_time_ns delay = FLOE_MS(30);

static void setup_side(side *s, int idx, uint8_t pt) {
    memset(s, 0, sizeof *s);
    s->seed = 0x9E3779B97F4A7C15ull * (uint64_t)(idx + 1);
    floe_media_config cfg;
    floe_media_config_default(&cfg);
    cfg.payload_type = pt;
    cfg.rand = xs_rand;
    cfg.rand_ctx = &s->seed;
    assert_int_equal(floe_media_init(&s->m, &cfg), FLOE_OK);
}

static void send_to(int to, floe_time_ns at, const uint8_t *b, size_t len) {
    assert_true(nq < MAX_FLIGHT);
    q[nq].at = at;
    q[nq].to = to;
    q[nq].len = len;
    memcpy(q[nq].b, b, len);
    nq++;
}

static floe_media_rx rx;

static void deliver(floe_time_ns now) {
    size_t k = 0;
    for (size_t i = 0; i < nq; i++) {
        if (q[i].at > now) {
            q[k++] = q[i];
            continue;
        }
        side *s = &sides[q[i].to];
        assert_int_equal(floe_media_on_packet(&s->m, now, q[i].b, q[i].len, &rx), FLOE_OK);
        if (rx.kind == FLOE_MEDIA_RX_AUDIO && !rx.late) {
            assert_true(s->rec_n + rx.gap + rx.n_samples <= REC_MAX);
            memset(s->rec + s->rec_n, 0, rx.gap * sizeof s->rec[0]);
            s->rec_n += rx.gap;
            memcpy(s->rec + s->rec_n, rx.samples, rx.n_samples * sizeof rx.samples[0]);
            s->rec_n += rx.n_samples;
        }
        if (rx.kind == FLOE_MEDIA_RX_RTCP && rx.bye) s->byes_seen++;
    }
    nq = k;
}

/* One millisecond of the world: both sides produce what is due, then the link delivers. */
static void step(floe_time_ns now) {
    for (int i = 0; i < 2; i++) {
        side *s = &sides[i];
        uint8_t buf[FLOE_MEDIA_RTCP_MAX];
        size_t n;
        while (floe_media_rtp_due(&s->m, now) && (!s->rtp_limit || s->rtp_out < s->rtp_limit)) {
            assert_int_equal(floe_media_next_packet(&s->m, now, NULL, buf, sizeof buf, &n),
                             FLOE_OK);
            bool lost = s->loss_every && s->rtp_out % s->loss_every == s->loss_phase;
            if (!lost) send_to(1 - i, now + delay, buf, n);
            s->rtp_out++;
        }
        if (floe_media_next_rtcp(&s->m, now, buf, sizeof buf, &n) == FLOE_OK) {
            floe_rtcp c;
            assert_int_equal(floe_rtcp_parse(buf, n, &c, NULL, NULL), FLOE_OK);
            s->rtcp_out++;
            s->sr_out += c.sr;
            s->rr_out += !c.sr;
            s->blocks_out += (unsigned)c.n_blocks;
            send_to(1 - i, now + delay, buf, n);
        }
    }
    deliver(now);
}

static void run(floe_time_ns from, floe_time_ns to) {
    for (floe_time_ns t = from; t <= to; t += FLOE_MS(1))
        step(t);
}

static void start_pair(uint8_t pt) {
    nq = 0;
    delay = FLOE_MS(30);
    setup_side(&sides[0], 0, pt);
    setup_side(&sides[1], 1, pt);
    assert_int_equal(floe_media_start(&sides[0].m, 0), FLOE_OK);
    assert_int_equal(floe_media_start(&sides[1].m, 0), FLOE_OK);
}

/* ---- the pair ----------------------------------------------------------------------------- */

/* A sends 50 packets to B, losing every tenth (numbers 5, 15, 25, 35, 45); B sends 50
 * back without loss. B's source becomes valid at A's second packet, so expected is 49
 * (A's packets 1..49) and 44 of them are counted: 5 lost, as sent. */
static void test_pair_50_packets_10pct_loss(void **state) {
    (void)state;
    start_pair(FLOE_RTP_PT_PCMU);
    side *a = &sides[0], *b = &sides[1];
    a->rtp_limit = b->rtp_limit = 50;
    a->loss_every = 10;
    a->loss_phase = 5;
    run(0, FLOE_MS(50 * 20 + 100));

    floe_media_stats sa, sb;
    floe_media_get_stats(&a->m, &sa);
    floe_media_get_stats(&b->m, &sb);
    assert_int_equal(sa.rtp_sent, 50);
    assert_int_equal(sb.rtp_sent, 50);
    assert_int_equal(sa.rtp_octets_sent, 50 * 160);
    assert_int_equal(sb.rtp_received, 45);
    assert_int_equal(sb.expected, 49);
    assert_int_equal(sb.lost, 5);
    assert_int_equal(sa.rtp_received, 50);
    assert_int_equal(sa.expected, 49);
    assert_int_equal(sa.lost, 0);
    assert_int_equal(sb.late, 0);
    assert_int_equal(sb.duplicates, 0);
    assert_int_equal(sb.jitter, 0); /* fixed delay, packets on a 20 ms grid */
    assert_int_equal(sb.bad, 0);
    assert_int_equal(sb.frames_skipped, 0);
    for (int d = 0; d < FLOE_MEDIA_DROP_COUNT; d++)
        assert_int_equal(sb.dropped[d], 0);
    /* The call's timeline. */
    assert_int_equal(sa.first_rtp_sent, 0);
    assert_int_equal(sb.first_rtp_received, FLOE_MS(30));
    assert_int_equal(sb.last_rtp_received, FLOE_MS(49 * 20 + 30));
    /* The gaps put the lost packets' time back: B's recording is the full second. */
    assert_int_equal(b->rec_n, 50 * 160);
    assert_int_equal(a->rec_n, 50 * 160);
}

/* The acceptance case: a 440 Hz tone one way, 1000 Hz the other, each found in what the
 * other side recorded, and neither found the wrong way round. */
static void tones_both_ways(uint8_t pt) {
    static const double cand[] = {440.0, 1000.0};
    start_pair(pt);
    side *a = &sides[0], *b = &sides[1];
    assert_int_equal(floe_media_set_tone(&a->m, 440.0, 8000.0), FLOE_OK);
    assert_int_equal(floe_media_set_tone(&b->m, 1000.0, 8000.0), FLOE_OK);
    a->loss_every = 10;
    a->loss_phase = 3;
    run(0, FLOE_S(2));
    floe_tone_result r;
    assert_true(b->rec_n >= 90 * 160);
    assert_int_equal(floe_tone_detect(b->rec, b->rec_n, 8000, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 0);
    assert_int_equal(floe_tone_detect(a->rec, a->rec_n, 8000, cand, 2, &r), FLOE_OK);
    assert_int_equal(r.detected, 1);
    assert_true(r.ratio > 0.9);
    /* Frame by frame too (skipping the silent lost ones on B's side). */
    for (size_t f = 0; f + 160 <= a->rec_n; f += 160) {
        floe_tone_detect(a->rec + f, 160, 8000, cand, 2, &r);
        assert_int_equal(r.detected, 1);
    }
    /* Silence is neither. */
    start_pair(pt);
    run(0, FLOE_MS(500));
    floe_tone_detect(b->rec, b->rec_n, 8000, cand, 2, &r);
    assert_int_equal(r.detected, -1);
}

static void test_tones_pcmu(void **state) {
    (void)state;
    tones_both_ways(FLOE_RTP_PT_PCMU);
}

static void test_tones_pcma(void **state) {
    (void)state;
    tones_both_ways(FLOE_RTP_PT_PCMA);
}

/* Twelve seconds with RTCP: SRs with report blocks both ways, the round trip measured
 * from LSR/DLSR on both sides (30 ms each way), and the peer's view of our loss. */
static void test_rtcp_reports(void **state) {
    (void)state;
    start_pair(FLOE_RTP_PT_PCMU);
    side *a = &sides[0], *b = &sides[1];
    a->loss_every = 10;
    a->loss_phase = 5;
    /* The first report comes after the initial interval: 2.5 s * [0.5, 1.5) / 1.218. */
    floe_time_ns first = floe_media_deadline(&a->m);
    assert_int_equal(first, 0); /* the first RTP packet */
    assert_true(a->m.next_rtcp >= FLOE_MS(1026) && a->m.next_rtcp <= FLOE_MS(3079));
    run(0, FLOE_S(12));

    floe_media_stats sa, sb;
    floe_media_get_stats(&a->m, &sa);
    floe_media_get_stats(&b->m, &sb);
    /* Intervals of 2..6.2 s after the first: at least 2, at most 6 reports in 12 s. */
    assert_true(a->rtcp_out >= 2 && a->rtcp_out <= 6);
    assert_true(b->rtcp_out >= 2 && b->rtcp_out <= 6);
    assert_int_equal(sa.rtcp_sent, a->rtcp_out);
    /* The last report may still be on the link. */
    assert_true(sb.rtcp_received == a->rtcp_out || sb.rtcp_received + 1 == a->rtcp_out);
    /* Both send all along: every report is an SR with a block on the peer. */
    assert_int_equal(a->sr_out, a->rtcp_out);
    assert_int_equal(a->blocks_out, a->rtcp_out);
    assert_int_equal(b->sr_out, b->rtcp_out);
    /* RTT: A's SR reaches B, B's next report returns its LSR with DLSR. */
    assert_true(sa.rtt != FLOE_TIME_NEVER && sb.rtt != FLOE_TIME_NEVER);
    assert_true(sa.rtt >= FLOE_MS(60) - FLOE_US(100) && sa.rtt <= FLOE_MS(60) + FLOE_US(100));
    assert_true(sb.rtt >= FLOE_MS(60) - FLOE_US(100) && sb.rtt <= FLOE_MS(60) + FLOE_US(100));
    /* B reports A's loss (one in ten); A reports no loss of B's. */
    assert_true(sa.remote_report && sb.remote_report);
    assert_true(sa.remote_fraction_lost >= 20 && sa.remote_fraction_lost <= 32);
    assert_true(sa.remote_lost > 0 && sa.remote_lost <= sb.lost);
    assert_int_equal(sb.remote_fraction_lost, 0);
    assert_int_equal(sb.remote_lost, 0);
    /* A sent packets 0..600 (0 to 12 s); 0..598 have arrived by 12 s. Lost: 5, 15, ...,
     * 595 (sixty), counted from B's base (packet 1). */
    assert_int_equal(a->rtp_out, 601);
    assert_int_equal(sb.rtp_received, 599 - 60);
    assert_int_equal(sb.expected, 598);
    assert_int_equal(sb.lost, 60);
    assert_int_equal(sa.remote_jitter, 0);
    assert_false(sa.remote_bye);
}

/* Hang-up: a BYE goes out at once and nothing after it; the peer sees it. Consent lost:
 * nothing at all, not even a BYE. */
static void test_stop(void **state) {
    (void)state;
    start_pair(FLOE_RTP_PT_PCMU);
    side *a = &sides[0], *b = &sides[1];
    run(0, FLOE_MS(200));
    floe_media_stop(&a->m, true);
    assert_int_equal(floe_media_deadline(&a->m), 0);
    assert_false(floe_media_rtp_due(&a->m, FLOE_MS(201)));
    uint8_t buf[FLOE_MEDIA_RTCP_MAX];
    size_t n;
    assert_int_equal(floe_media_next_packet(&a->m, FLOE_MS(201), NULL, buf, sizeof buf, &n),
                     FLOE_ERR_STATE);
    unsigned before = a->rtcp_out;
    run(FLOE_MS(201), FLOE_MS(400));
    assert_int_equal(a->rtcp_out, before + 1);
    assert_int_equal(a->m.state, FLOE_MEDIA_STOPPED);
    assert_int_equal(floe_media_deadline(&a->m), FLOE_TIME_NEVER);
    assert_int_equal(floe_media_next_rtcp(&a->m, FLOE_S(10), buf, sizeof buf, &n), FLOE_ERR_STATE);
    assert_int_equal(b->byes_seen, 1);
    floe_media_stats sa, sb;
    floe_media_get_stats(&b->m, &sb);
    assert_true(sb.remote_bye);
    /* A takes nothing in any more. */
    floe_media_get_stats(&a->m, &sa);
    assert_true(sa.dropped[FLOE_MEDIA_DROP_STOPPED] > 0);
    assert_int_equal(sa.rtp_sent, 11); /* 0, 20, ..., 200 ms */

    /* Consent lost on B: no BYE. */
    unsigned b_rtcp = b->rtcp_out, b_rtp = b->rtp_out;
    floe_media_stop(&b->m, false);
    assert_int_equal(floe_media_deadline(&b->m), FLOE_TIME_NEVER);
    run(FLOE_MS(401), FLOE_S(8));
    assert_int_equal(b->rtcp_out, b_rtcp);
    assert_int_equal(b->rtp_out, b_rtp);
    floe_media_stop(&b->m, true); /* stopping again changes nothing */
    assert_int_equal(floe_media_deadline(&b->m), FLOE_TIME_NEVER);

    /* A session that never started stops without a BYE. */
    setup_side(&sides[0], 0, FLOE_RTP_PT_PCMU);
    floe_media_stop(&sides[0].m, true);
    assert_int_equal(sides[0].m.state, FLOE_MEDIA_STOPPED);
}

/* ---- receiving, packet by packet ------------------------------------------------------- */

static floe_media recv_m;
static uint64_t recv_seed = 42;

static void recv_setup(void) {
    floe_media_config cfg;
    floe_media_config_default(&cfg);
    cfg.rand = xs_rand;
    cfg.rand_ctx = &recv_seed;
    cfg.cname = "me@test";
    assert_int_equal(floe_media_init(&recv_m, &cfg), FLOE_OK);
}

/* An RTP packet of `samples` PCMU samples (0xFF: silence). */
static size_t make_rtp(uint8_t *out, uint32_t ssrc, uint16_t seq, uint32_t ts, uint8_t pt,
                       size_t samples) {
    static uint8_t pay[2000];
    memset(pay, 0xFF, sizeof pay);
    floe_rtp_hdr h = {
        .pt = pt, .seq = seq, .ts = ts, .ssrc = ssrc, .payload = pay, .payload_len = samples};
    size_t n = 0;
    assert_int_equal(floe_rtp_build(&h, out, 2100, &n), FLOE_OK);
    return n;
}

static floe_media_rx *feed(floe_time_ns now, const uint8_t *p, size_t len) {
    assert_int_equal(floe_media_on_packet(&recv_m, now, p, len, &rx), FLOE_OK);
    return &rx;
}

static void expect_drop(floe_time_ns now, const uint8_t *p, size_t len, floe_media_drop why) {
    uint64_t before = recv_m.st.dropped[why];
    feed(now, p, len);
    assert_int_equal(rx.kind, FLOE_MEDIA_RX_NONE);
    assert_int_equal(rx.drop, why);
    assert_int_equal(recv_m.st.dropped[why], before + 1);
}

static void test_drop_reasons(void **state) {
    (void)state;
    recv_setup();
    static uint8_t p[2100];
    size_t n;
    /* Early media: a new session takes packets in before it starts. */
    n = make_rtp(p, 0x1111, 10, 1600, 0, 160);
    feed(0, p, n);
    assert_int_equal(rx.kind, FLOE_MEDIA_RX_AUDIO);
    assert_int_equal(rx.n_samples, 160);
    assert_int_equal(rx.samples[0], 0);

    static const uint8_t stun[20] = {0x00, 0x01};
    expect_drop(1, stun, sizeof stun, FLOE_MEDIA_DROP_NOT_RTP);
    expect_drop(1, stun, 0, FLOE_MEDIA_DROP_NOT_RTP);
    n = make_rtp(p, 0x1111, 11, 1760, 0, 160);
    expect_drop(1, p, 11, FLOE_MEDIA_DROP_MALFORMED);
    assert_int_equal(recv_m.st.parse.rejected[FLOE_RTP_R_SHORT], 1);
    static const uint8_t bad_rtcp[8] = {0x80, 202, 0, 1, 0, 0, 0, 1}; /* SDES first */
    expect_drop(1, bad_rtcp, sizeof bad_rtcp, FLOE_MEDIA_DROP_MALFORMED);
    assert_int_equal(recv_m.st.parse.rejected[FLOE_RTP_R_RTCP_FIRST], 1);
    n = make_rtp(p, 0x1111, 11, 1760, 101, 4); /* telephone-event */
    expect_drop(1, p, n, FLOE_MEDIA_DROP_PT);
    n = make_rtp(p, 0x1111, 11, 1760, 8, 160); /* PCMA on a PCMU stream */
    expect_drop(1, p, n, FLOE_MEDIA_DROP_PT);
    n = make_rtp(p, 0x1111, 11, 1760, 0, FLOE_MEDIA_MAX_RX_SAMPLES + 1);
    expect_drop(1, p, n, FLOE_MEDIA_DROP_TOO_LONG);
    n = make_rtp(p, recv_m.tx.ssrc, 11, 1760, 0, 160);
    expect_drop(1, p, n, FLOE_MEDIA_DROP_LOOP);
    n = make_rtp(p, 0x2222, 500, 0, 0, 160);
    expect_drop(1, p, n, FLOE_MEDIA_DROP_FOREIGN_SSRC);
    n = make_rtp(p, 0x1111, 11, 1760, 0, 160);
    feed(2, p, n);
    assert_int_equal(rx.kind, FLOE_MEDIA_RX_AUDIO);
    expect_drop(3, p, n, FLOE_MEDIA_DROP_DUPLICATE);
    n = make_rtp(p, 0x1111, 11 + 5000, 1760, 0, 160);
    expect_drop(4, p, n, FLOE_MEDIA_DROP_JUMP);

    floe_media_stats st;
    floe_media_get_stats(&recv_m, &st);
    assert_int_equal(st.bad, 4); /* two not RTP, two malformed */
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.rtp_received, 2);
    for (int d = 0; d < FLOE_MEDIA_DROP_COUNT; d++)
        assert_string_not_equal(floe_media_drop_name((floe_media_drop)d), "unknown");

    floe_media_stop(&recv_m, false);
    n = make_rtp(p, 0x1111, 12, 1920, 0, 160);
    expect_drop(5, p, n, FLOE_MEDIA_DROP_STOPPED);
    assert_int_equal(floe_media_on_packet(&recv_m, 5, NULL, 0, &rx), FLOE_ERR_INVAL);
}

/* A middlebox changes the SSRC mid-call: one packet of the new one is dropped, the
 * second (in sequence) takes over; the old source's loss stays in the totals. */
static void test_ssrc_change(void **state) {
    (void)state;
    recv_setup();
    static uint8_t p[400];
    size_t n;
    for (uint16_t s = 1; s <= 10; s++) {
        if (s == 6) continue; /* one lost */
        n = make_rtp(p, 0xAAAA, s, 160u * s, 0, 160);
        feed(FLOE_MS(20) * s, p, n);
        assert_int_equal(rx.kind, FLOE_MEDIA_RX_AUDIO);
    }
    n = make_rtp(p, 0xBBBB, 7000, 99999, 0, 160);
    expect_drop(FLOE_MS(220), p, n, FLOE_MEDIA_DROP_FOREIGN_SSRC);
    n = make_rtp(p, 0xBBBB, 7001, 99999 + 160, 0, 160);
    feed(FLOE_MS(240), p, n);
    assert_int_equal(rx.kind, FLOE_MEDIA_RX_AUDIO);
    assert_int_equal(rx.ssrc, 0xBBBB);
    assert_int_equal(rx.gap, 0); /* a new timeline */
    for (uint16_t s = 7002; s <= 7005; s++) {
        n = make_rtp(p, 0xBBBB, s, 99999 + 160u * (s - 7000u), 0, 160);
        feed(FLOE_MS(20) * (s - 7000u) + FLOE_MS(220), p, n);
    }
    floe_media_stats st;
    floe_media_get_stats(&recv_m, &st);
    assert_int_equal(st.ssrc_changes, 1);
    assert_int_equal(st.lost, 1);
    assert_int_equal(st.expected, 9 + 5); /* 2..10, then 7001..7005 */
    /* The old source is gone for good. */
    n = make_rtp(p, 0xAAAA, 11, 160u * 11, 0, 160);
    expect_drop(FLOE_S(1), p, n, FLOE_MEDIA_DROP_FOREIGN_SSRC);
}

/* Reordering: a late packet is handed over marked late, with no gap; the packet after a
 * hole reports the hole as its gap. */
static void test_late_and_gap(void **state) {
    (void)state;
    recv_setup();
    static uint8_t p[400];
    const uint16_t order[] = {1, 2, 4, 3, 5, 8, 7, 9};
    const uint32_t gaps[] = {0, 0, 160, 0, 0, 320, 0, 0};
    const bool late[] = {0, 0, 0, 1, 0, 0, 1, 0};
    for (int i = 0; i < 8; i++) {
        size_t n = make_rtp(p, 0x5555, order[i], 1000u + 160u * order[i], 0, 160);
        feed(FLOE_MS(20) * (unsigned)(i + 1), p, n);
        assert_int_equal(rx.kind, FLOE_MEDIA_RX_AUDIO);
        assert_int_equal(rx.seq, order[i]);
        assert_int_equal(rx.gap, gaps[i]);
        assert_int_equal(rx.late, late[i]);
    }
    floe_media_stats st;
    floe_media_get_stats(&recv_m, &st);
    assert_int_equal(st.late, 2);
    assert_int_equal(st.lost, 1); /* 6 */
    assert_int_equal(st.rtp_received, 8);
    assert_true(st.jitter > 0);
    assert_int_equal(st.jitter_ns, (floe_time_ns)st.jitter * 125000);
}

/* BYE from the peer, before and after its RTP; RTCP that loops back. */
static void test_rtcp_in(void **state) {
    (void)state;
    recv_setup();
    uint8_t p[256];
    size_t n;
    floe_rtcp c;
    memset(&c, 0, sizeof c);
    c.ssrc = 0x7777;
    c.n_sdes = 1;
    c.sdes[0] = (floe_rtcp_sdes){0x7777, (const uint8_t *)"peer", 4};
    c.bye = true;
    c.n_bye = 1;
    c.bye_ssrc[0] = 0x7777;
    assert_int_equal(floe_rtcp_build(&c, p, sizeof p, &n), FLOE_OK);
    feed(0, p, n);
    assert_int_equal(rx.kind, FLOE_MEDIA_RX_RTCP);
    assert_true(rx.bye);
    /* Our own report coming back. */
    c.ssrc = recv_m.tx.ssrc;
    c.bye = false;
    c.n_bye = 0;
    assert_int_equal(floe_rtcp_build(&c, p, sizeof p, &n), FLOE_OK);
    expect_drop(1, p, n, FLOE_MEDIA_DROP_LOOP);
    /* A report block about us with a bogus LSR (in the future) gives no RTT. */
    c.ssrc = 0x7777;
    c.n_blocks = 1;
    c.blocks[0] = (floe_rtcp_block){.ssrc = recv_m.tx.ssrc, .lsr = 0x7FFF0000, .dlsr = 0};
    assert_int_equal(floe_rtcp_build(&c, p, sizeof p, &n), FLOE_OK);
    feed(FLOE_S(1), p, n);
    floe_media_stats st;
    floe_media_get_stats(&recv_m, &st);
    assert_int_equal(st.rtt, FLOE_TIME_NEVER);
    assert_true(st.remote_report);
    assert_int_equal(st.rtcp_received, 2);

    /* After RTP from 0x7777, its BYE retires it and a new source starts at once. */
    for (uint16_t s = 1; s <= 3; s++) {
        n = make_rtp(p, 0x7777, s, 160u * s, 0, 160);
        feed(FLOE_S(2) + s, p, n);
    }
    c.n_blocks = 0;
    c.bye = true;
    c.n_bye = 1;
    assert_int_equal(floe_rtcp_build(&c, p, sizeof p, &n), FLOE_OK);
    feed(FLOE_S(3), p, n);
    assert_true(rx.bye);
    n = make_rtp(p, 0x8888, 100, 0, 0, 160);
    feed(FLOE_S(3) + 1, p, n);
    assert_int_equal(rx.kind, FLOE_MEDIA_RX_AUDIO);
    floe_media_get_stats(&recv_m, &st);
    assert_int_equal(st.expected, 2);
    assert_int_equal(st.ssrc_changes, 0);
}

/* ---- sending --------------------------------------------------------------------------- */

/* Packets on a 20 ms grid; samples from the caller; a caller 500 ms late gets one packet,
 * not 25, and the timestamp jumps over the skipped frames with the marker set. */
static void test_send_grid_and_lag(void **state) {
    (void)state;
    recv_setup();
    uint8_t buf[FLOE_MEDIA_RTP_MAX];
    size_t n;
    int16_t frame[160];
    for (int i = 0; i < 160; i++)
        frame[i] = (int16_t)(i * 100);
    assert_int_equal(floe_media_next_packet(&recv_m, 0, NULL, buf, sizeof buf, &n), FLOE_ERR_STATE);
    assert_int_equal(floe_media_deadline(&recv_m), FLOE_TIME_NEVER);
    assert_int_equal(floe_media_start(&recv_m, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_media_start(&recv_m, FLOE_S(1)), FLOE_ERR_STATE);
    assert_int_equal(floe_media_deadline(&recv_m), FLOE_S(1));
    assert_false(floe_media_rtp_due(&recv_m, FLOE_S(1) - 1));
    assert_int_equal(floe_media_next_packet(&recv_m, FLOE_S(1) - 1, NULL, buf, sizeof buf, &n),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_media_next_packet(&recv_m, FLOE_S(1), frame, buf, 171, &n),
                     FLOE_ERR_NOSPACE);
    assert_int_equal(recv_m.st.rtp_sent, 0);

    floe_rtp_hdr h;
    assert_int_equal(floe_media_next_packet(&recv_m, FLOE_S(1), frame, buf, sizeof buf, &n),
                     FLOE_OK);
    assert_int_equal(n, 172);
    assert_int_equal(floe_rtp_parse(buf, n, &h, NULL, NULL), FLOE_OK);
    assert_true(h.marker);
    assert_int_equal(h.pt, 0);
    uint32_t ts0 = h.ts;
    uint16_t seq0 = h.seq;
    for (int i = 0; i < 160; i++)
        assert_int_equal(h.payload[i], floe_g711_ulaw_encode(frame[i]));
    assert_int_equal(floe_media_deadline(&recv_m), FLOE_S(1) + FLOE_MS(20));

    /* On time, 5 ms late: still on the grid. */
    assert_int_equal(
        floe_media_next_packet(&recv_m, FLOE_S(1) + FLOE_MS(25), NULL, buf, sizeof buf, &n),
        FLOE_OK);
    floe_rtp_parse(buf, n, &h, NULL, NULL);
    assert_false(h.marker);
    assert_int_equal(h.ts, ts0 + 160);
    assert_int_equal(recv_m.next_rtp, FLOE_S(1) + FLOE_MS(40));

    /* 500 ms late. */
    floe_time_ns now = FLOE_S(1) + FLOE_MS(540);
    assert_int_equal(floe_media_next_packet(&recv_m, now, NULL, buf, sizeof buf, &n), FLOE_OK);
    floe_rtp_parse(buf, n, &h, NULL, NULL);
    assert_true(h.marker);
    assert_int_equal(h.seq, (uint16_t)(seq0 + 2));
    assert_int_equal(h.ts, ts0 + 160 * 27);
    assert_int_equal(recv_m.st.frames_skipped, 25);
    assert_int_equal(floe_media_next_packet(&recv_m, now, NULL, buf, sizeof buf, &n),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(recv_m.st.rtp_sent, 3);
    assert_int_equal(recv_m.st.first_rtp_sent, FLOE_S(1));

    /* A report: an SR with our CNAME and no block (nothing heard). */
    assert_int_equal(floe_media_next_rtcp(&recv_m, FLOE_S(1), buf, sizeof buf, &n),
                     FLOE_ERR_NOT_FOUND);
    now = recv_m.next_rtcp;
    assert_int_equal(floe_media_next_rtcp(&recv_m, now, buf, 20, &n), FLOE_ERR_NOSPACE);
    assert_int_equal(recv_m.st.rtcp_sent, 0);
    assert_int_equal(floe_media_next_rtcp(&recv_m, now, buf, sizeof buf, &n), FLOE_OK);
    floe_rtcp c;
    assert_int_equal(floe_rtcp_parse(buf, n, &c, NULL, NULL), FLOE_OK);
    assert_true(c.sr);
    assert_int_equal(c.ssrc, recv_m.tx.ssrc);
    assert_int_equal(c.packets, 3);
    assert_int_equal(c.octets, 480);
    assert_int_equal(c.n_blocks, 0);
    assert_int_equal(c.sdes[0].cname_len, 7);
    assert_memory_equal(c.sdes[0].cname, "me@test", 7);
    assert_true(c.ntp == floe_rtp_ntp(0, now));
    /* The SR's RTP time is the last packet's, moved on to now. */
    floe_time_ns since = now - (FLOE_S(1) + FLOE_MS(540));
    assert_int_equal(c.rtp_ts, ts0 + 160 * 27 + (uint32_t)(since * 8000 / FLOE_NS_PER_S));
    /* Next one 2..6.2 s later; an RR now (nothing sent since). */
    assert_true(recv_m.next_rtcp - now >= FLOE_MS(2052) && recv_m.next_rtcp - now <= FLOE_MS(6157));
    now = recv_m.next_rtcp;
    recv_m.state = FLOE_MEDIA_RUNNING;
    recv_m.next_rtp = FLOE_TIME_NEVER; /* sent nothing meanwhile */
    assert_int_equal(floe_media_next_rtcp(&recv_m, now, buf, sizeof buf, &n), FLOE_OK);
    floe_rtcp_parse(buf, n, &c, NULL, NULL);
    assert_false(c.sr);
}

static void test_tone_and_config(void **state) {
    (void)state;
    floe_media m;
    floe_media_config cfg;
    uint64_t seed = 7;
    floe_media_config_default(&cfg);
    assert_int_equal(cfg.payload_type, FLOE_RTP_PT_PCMU);
    assert_int_equal(cfg.ptime_ms, 20);
    assert_true(cfg.rtcp_mux);
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL); /* no rand */
    cfg.rand = xs_rand;
    cfg.rand_ctx = &seed;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_OK);
    /* A random CNAME of 16 base64 characters (RFC 7022). */
    assert_int_equal(m.cname_len, 16);
    assert_int_equal(strlen(m.cname), 16);
    assert_int_equal(floe_media_frame_samples(&m), 160);
    assert_int_equal(floe_media_rtcp_component(&m), 1);
    assert_true(m.rtcp_bw == 500.0);

    cfg.payload_type = 96;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL);
    cfg.payload_type = FLOE_RTP_PT_PCMA;
    cfg.ptime_ms = 25;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL);
    cfg.ptime_ms = 70;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL);
    cfg.ptime_ms = 0;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL);
    cfg.ptime_ms = 30;
    cfg.rtcp_mux = false;
    cfg.cname = "";
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[299] = '\0';
    cfg.cname = longname;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_INVAL);
    longname[255] = '\0';
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_OK);
    assert_int_equal(floe_media_frame_samples(&m), 240);
    assert_int_equal(floe_media_rtcp_component(&m), 2);
    cfg.rand = bad_rand;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_ERR_CRYPTO);
    assert_int_equal(floe_media_init(NULL, &cfg), FLOE_ERR_INVAL);

    /* PCMA at 30 ms: a tone, then silence (A-law's idle code). */
    cfg.rand = xs_rand;
    assert_int_equal(floe_media_init(&m, &cfg), FLOE_OK);
    assert_int_equal(floe_media_set_tone(&m, 5000.0, 100), FLOE_ERR_INVAL);
    assert_int_equal(floe_media_set_tone(&m, 440.0, 40000), FLOE_ERR_INVAL);
    assert_int_equal(floe_media_set_tone(&m, 440.0, 1000), FLOE_OK);
    floe_media_start(&m, 0);
    uint8_t buf[FLOE_MEDIA_RTP_MAX];
    size_t n;
    floe_rtp_hdr h;
    assert_int_equal(floe_media_next_packet(&m, 0, NULL, buf, sizeof buf, &n), FLOE_OK);
    assert_int_equal(n, 12 + 240);
    floe_rtp_parse(buf, n, &h, NULL, NULL);
    assert_int_equal(h.pt, 8);
    assert_int_equal(floe_g711_alaw_decode(h.payload[0]), 8); /* sin(0) */
    assert_true(floe_g711_alaw_decode(h.payload[2]) > 500);
    assert_int_equal(floe_media_set_tone(&m, 0.0, 0.0), FLOE_OK);
    assert_int_equal(floe_media_next_packet(&m, FLOE_MS(30), NULL, buf, sizeof buf, &n), FLOE_OK);
    floe_rtp_parse(buf, n, &h, NULL, NULL);
    for (int i = 0; i < 240; i++)
        assert_int_equal(h.payload[i], 0xD5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_50_packets_10pct_loss),
        cmocka_unit_test(test_tones_pcmu),
        cmocka_unit_test(test_tones_pcma),
        cmocka_unit_test(test_rtcp_reports),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_drop_reasons),
        cmocka_unit_test(test_ssrc_change),
        cmocka_unit_test(test_late_and_gap),
        cmocka_unit_test(test_rtcp_in),
        cmocka_unit_test(test_send_grid_and_lag),
        cmocka_unit_test(test_tone_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
