/* A receiver's statistics for one RTP source: RFC 3550 appendix A.1 (sequence
 * validation, probation, wraps, restarts), A.3 (expected and lost packets, fraction lost
 * per report interval) and A.8 (interarrival jitter), with duplicate detection over the
 * last FLOE_RTP_DUP_WINDOW sequence numbers. */
#include <string.h>

#include "floe/rtp.h"

#define WORDS (FLOE_RTP_DUP_WINDOW / 64)

/* ---- the window of sequence numbers seen --------------------------------------------- */

static void seen_clear(floe_rtp_source *s) {
    memset(s->seen, 0, sizeof s->seen);
}
static bool seen_get(const floe_rtp_source *s, unsigned back) {
    return (s->seen[back / 64] >> (back % 64)) & 1;
}
static void seen_set(floe_rtp_source *s, unsigned back) {
    s->seen[back / 64] |= UINT64_C(1) << (back % 64);
}
/* The highest sequence number moved on by d: every bit moves d places up. */
static void seen_advance(floe_rtp_source *s, unsigned d) {
    if (d >= FLOE_RTP_DUP_WINDOW) {
        seen_clear(s);
        return;
    }
    unsigned words = d / 64, bits = d % 64;
    for (int i = WORDS - 1; i >= 0; i--) {
        uint64_t v = 0;
        if (i - (int)words >= 0) {
            v = s->seen[i - words] << bits;
            if (bits && i - (int)words - 1 >= 0) v |= s->seen[i - words - 1] >> (64 - bits);
        }
        s->seen[i] = v;
    }
}

/* ---- A.1 ------------------------------------------------------------------------------ */

/* Statistics start at seq (A.1's init_seq). */
static void start_at(floe_rtp_source *s, uint16_t seq) {
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = FLOE_RTP_SEQ_MOD + 1; /* matches no sequence number */
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
    seen_clear(s);
    seen_set(s, 0);
}

void floe_rtp_source_init(floe_rtp_source *s, uint32_t ssrc, uint16_t seq, uint32_t rate) {
    memset(s, 0, sizeof *s);
    s->ssrc = ssrc;
    s->rate = rate;
    start_at(s, seq);
    seen_clear(s);
    /* On probation: the first packet must be seq, and MIN_SEQUENTIAL in a row. */
    s->max_seq = (uint16_t)(seq - 1);
    s->probation = FLOE_RTP_MIN_SEQUENTIAL;
}

/* A.8: J += (|D| - J) / 16, in integers with J kept times 16. The arrival time is
 * converted to the source's RTP clock; both clocks' offsets cancel out in D. */
static void update_jitter(floe_rtp_source *s, floe_time_ns now, uint32_t ts) {
    uint64_t ticks = now / FLOE_NS_PER_S * s->rate + now % FLOE_NS_PER_S * s->rate / FLOE_NS_PER_S;
    uint32_t transit = (uint32_t)ticks - ts;
    if (s->have_transit) {
        int64_t d = (int32_t)(transit - s->transit);
        if (d < 0) d = -d;
        int64_t j = (int64_t)s->jitter16 + d - (int64_t)((s->jitter16 + 8) >> 4);
        s->jitter16 = j < 0 ? 0 : (uint64_t)j;
    }
    s->transit = transit;
    s->have_transit = true;
}

floe_rtp_seq floe_rtp_source_update(floe_rtp_source *s, floe_time_ns now, uint16_t seq,
                                    uint32_t ts) {
    uint16_t udelta = (uint16_t)(seq - s->max_seq);

    if (s->probation) {
        if (seq == (uint16_t)(s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;
            if (s->probation == 0) {
                start_at(s, seq);
                /* The packets of the probation were seen too (duplicates of them are
                 * recognised), though not counted: base_seq is this one. */
                for (unsigned i = 1; i < FLOE_RTP_MIN_SEQUENTIAL; i++)
                    seen_set(s, i);
                s->received++;
                update_jitter(s, now, ts);
                return FLOE_RTP_SEQ_OK;
            }
        } else {
            s->probation = FLOE_RTP_MIN_SEQUENTIAL - 1;
            s->max_seq = seq;
        }
        s->probation_pkts++;
        return FLOE_RTP_SEQ_PROBATION;
    }

    if (udelta == 0) {
        s->duplicates++;
        return FLOE_RTP_SEQ_DUPLICATE;
    }
    if (udelta < FLOE_RTP_MAX_DROPOUT) {
        /* In order, with a gap the network may have made. */
        if (seq < s->max_seq) s->cycles += FLOE_RTP_SEQ_MOD;
        s->max_seq = seq;
        seen_advance(s, udelta);
        seen_set(s, 0);
        s->received++;
        update_jitter(s, now, ts);
        return FLOE_RTP_SEQ_OK;
    }
    if (udelta <= FLOE_RTP_SEQ_MOD - FLOE_RTP_MAX_MISORDER) {
        /* A big jump: the source restarted, or a stray packet. Only a second packet
         * right after it tells the two apart. */
        if (seq == s->bad_seq) {
            start_at(s, seq);
            s->have_transit = false; /* its timestamps may have restarted too */
            s->restarts++;
            s->received++;
            update_jitter(s, now, ts);
            return FLOE_RTP_SEQ_RESTART;
        }
        s->bad_seq = (seq + 1u) & (FLOE_RTP_SEQ_MOD - 1);
        s->jumps++;
        return FLOE_RTP_SEQ_JUMP;
    }

    /* Up to MAX_MISORDER behind the highest: reordered, or a copy. */
    unsigned back = (uint16_t)(s->max_seq - seq);
    if (back < FLOE_RTP_DUP_WINDOW) {
        if (seen_get(s, back)) {
            s->duplicates++;
            return FLOE_RTP_SEQ_DUPLICATE;
        }
        seen_set(s, back);
    }
    s->late++;
    /* Counted only when it is one of the expected ones (not older than base_seq). */
    int64_t ext = (int64_t)s->cycles + s->max_seq - back;
    if (ext >= (int64_t)s->base_seq) s->received++;
    update_jitter(s, now, ts);
    return FLOE_RTP_SEQ_LATE;
}

/* ---- A.3 and A.8 for reports ---------------------------------------------------------- */

uint32_t floe_rtp_source_ext_max(const floe_rtp_source *s) {
    return s->cycles + s->max_seq;
}

uint32_t floe_rtp_source_expected(const floe_rtp_source *s) {
    if (s->probation) return 0;
    return floe_rtp_source_ext_max(s) - s->base_seq + 1;
}

int64_t floe_rtp_source_lost(const floe_rtp_source *s) {
    return (int64_t)floe_rtp_source_expected(s) - (int64_t)s->received;
}

uint32_t floe_rtp_source_jitter(const floe_rtp_source *s) {
    uint64_t j = s->jitter16 >> 4;
    return j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
}

void floe_rtp_source_on_sr(floe_rtp_source *s, floe_time_ns now, uint64_t ntp) {
    s->lsr = floe_rtp_ntp_mid(ntp);
    s->lsr_at = now;
    s->have_sr = true;
}

void floe_rtp_source_report(floe_rtp_source *s, floe_time_ns now, floe_rtcp_block *b) {
    uint32_t expected = floe_rtp_source_expected(s);
    int64_t lost = floe_rtp_source_lost(s);
    /* The field is 24 bits, signed: clamp (§6.4.1). */
    if (lost > 0x7FFFFF) lost = 0x7FFFFF;
    if (lost < -0x800000) lost = -0x800000;

    uint32_t expected_interval = expected - s->expected_prior;
    uint32_t received_interval = s->received - s->received_prior;
    s->expected_prior = expected;
    s->received_prior = s->received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    uint8_t fraction = 0;
    if (expected_interval != 0 && lost_interval > 0)
        fraction = (uint8_t)(((uint64_t)lost_interval << 8) / expected_interval);

    *b = (floe_rtcp_block){
        .ssrc = s->ssrc,
        .fraction_lost = fraction,
        .cumulative_lost = (int32_t)lost,
        .ext_highest_seq = floe_rtp_source_ext_max(s),
        .jitter = floe_rtp_source_jitter(s),
    };
    if (s->have_sr) {
        b->lsr = s->lsr;
        b->dlsr = floe_rtp_ns_to_ntp_short(now > s->lsr_at ? now - s->lsr_at : 0);
    }
}
