/* An RTP sender: identifiers drawn at random, sequence numbers and timestamps moved on
 * packet by packet, counts for the sender report (RFC 3550 §5.1, §6.4.1). */
#include "floe/err.h"
#include "floe/rtp.h"

int floe_rtp_sender_init(floe_rtp_sender *s, uint8_t pt, uint32_t rate, floe_rtp_rand_fn rnd,
                         void *rand_ctx) {
    if (!s || !rnd || pt > 127 || rate == 0) return FLOE_ERR_INVAL;
    /* RFC 3550 §5.1: the first sequence number and timestamp are random, to make known-
     * plaintext attacks on encryption harder; §8.1: the SSRC is random, to keep two
     * sources in one session from choosing the same one. */
    uint8_t r[10];
    int rc = rnd(rand_ctx, r, sizeof r);
    if (rc != FLOE_OK) return rc;
    *s = (floe_rtp_sender){0};
    s->pt = pt;
    s->rate = rate;
    s->ssrc = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    s->seq = (uint16_t)(r[4] << 8 | r[5]);
    s->ts = (uint32_t)r[6] << 24 | (uint32_t)r[7] << 16 | (uint32_t)r[8] << 8 | r[9];
    s->last_ts = s->ts;
    return FLOE_OK;
}

int floe_rtp_sender_build(floe_rtp_sender *s, floe_time_ns now, bool marker, const uint8_t *payload,
                          size_t len, uint32_t samples, uint8_t *out, size_t cap, size_t *out_len) {
    if (!s) return FLOE_ERR_INVAL;
    floe_rtp_hdr h = {
        .marker = marker,
        .pt = s->pt,
        .seq = s->seq,
        .ts = s->ts,
        .ssrc = s->ssrc,
        .payload = payload,
        .payload_len = len,
    };
    int rc = floe_rtp_build(&h, out, cap, out_len);
    if (rc != FLOE_OK) return rc;
    s->last_ts = s->ts;
    s->last_at = now;
    s->sent = true;
    s->seq++;
    s->ts += samples;
    /* §6.4.1: both counts wrap around. */
    s->packets++;
    s->octets += (uint32_t)len;
    return FLOE_OK;
}

void floe_rtp_sender_skip(floe_rtp_sender *s, uint32_t samples) {
    s->ts += samples;
}

uint32_t floe_rtp_sender_ts_at(const floe_rtp_sender *s, floe_time_ns now) {
    if (!s->sent) return s->ts;
    floe_time_ns dt = now > s->last_at ? now - s->last_at : 0;
    /* Whole seconds and the remainder apart: no overflow for any dt. */
    uint64_t ticks = dt / FLOE_NS_PER_S * s->rate + dt % FLOE_NS_PER_S * s->rate / FLOE_NS_PER_S;
    return s->last_ts + (uint32_t)ticks;
}
