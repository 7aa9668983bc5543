/* RTCP compound packets written in RFC 3550 §6.1 order: SR or RR, SDES, BYE. */
#include "floe/bytes.h"
#include "floe/err.h"
#include "floe/rtp.h"

/* A packet header whose length is filled in once the body is written. Returns the
 * offset of the header, for end_packet. */
static size_t begin_packet(floe_wr *w, unsigned count, uint8_t pt) {
    size_t at = w->len;
    floe_wr_u8(w, (uint8_t)(FLOE_RTP_VERSION << 6 | count));
    floe_wr_u8(w, pt);
    floe_wr_u16(w, 0);
    return at;
}

/* Pads the body with zeros to a 32-bit boundary and sets the length field (§6.4.1:
 * the length in 32-bit words minus one, header included). */
static void end_packet(floe_wr *w, size_t at) {
    while (!w->err && (w->len - at) % 4)
        floe_wr_u8(w, 0);
    if (!w->err) floe_put_u16(w->p + at + 2, (uint16_t)((w->len - at) / 4 - 1));
}

static void write_block(floe_wr *w, const floe_rtcp_block *b) {
    floe_wr_u32(w, b->ssrc);
    floe_wr_u8(w, b->fraction_lost);
    uint32_t lost = (uint32_t)b->cumulative_lost & 0xFFFFFF;
    floe_wr_u8(w, (uint8_t)(lost >> 16));
    floe_wr_u16(w, (uint16_t)lost);
    floe_wr_u32(w, b->ext_highest_seq);
    floe_wr_u32(w, b->jitter);
    floe_wr_u32(w, b->lsr);
    floe_wr_u32(w, b->dlsr);
}

static bool valid(const floe_rtcp *c) {
    if (c->n_blocks > FLOE_RTCP_MAX_BLOCKS || c->n_sdes > FLOE_RTCP_MAX_SDES ||
        c->n_bye > FLOE_RTCP_MAX_BYE)
        return false;
    for (size_t i = 0; i < c->n_blocks; i++)
        if (c->blocks[i].cumulative_lost < -0x800000 || c->blocks[i].cumulative_lost > 0x7FFFFF)
            return false;
    bool cname = false;
    for (size_t i = 0; i < c->n_sdes; i++) {
        if (c->sdes[i].cname_len > 255 || (!c->sdes[i].cname && c->sdes[i].cname_len)) return false;
        if (c->sdes[i].cname && c->sdes[i].cname_len) cname = true;
    }
    if (c->bye && (c->bye_reason_len > 255 || (!c->bye_reason && c->bye_reason_len))) return false;
    return cname;
}

int floe_rtcp_build(const floe_rtcp *c, uint8_t *out, size_t cap, size_t *out_len) {
    if (!c || (!out && cap) || !valid(c)) return FLOE_ERR_INVAL;
    floe_wr w = floe_wr_init(out, cap);

    size_t at = begin_packet(&w, (unsigned)c->n_blocks, c->sr ? FLOE_RTCP_SR : FLOE_RTCP_RR);
    floe_wr_u32(&w, c->ssrc);
    if (c->sr) {
        floe_wr_u64(&w, c->ntp);
        floe_wr_u32(&w, c->rtp_ts);
        floe_wr_u32(&w, c->packets);
        floe_wr_u32(&w, c->octets);
    }
    for (size_t i = 0; i < c->n_blocks; i++)
        write_block(&w, &c->blocks[i]);
    end_packet(&w, at);

    if (c->n_sdes) {
        at = begin_packet(&w, (unsigned)c->n_sdes, FLOE_RTCP_SDES);
        for (size_t i = 0; i < c->n_sdes; i++) {
            const floe_rtcp_sdes *s = &c->sdes[i];
            floe_wr_u32(&w, s->ssrc);
            if (s->cname && s->cname_len) {
                floe_wr_u8(&w, FLOE_RTCP_SDES_CNAME);
                floe_wr_u8(&w, (uint8_t)s->cname_len);
                floe_wr_bytes(&w, s->cname, s->cname_len);
            }
            /* The terminating null item, then nulls up to the chunk's 32-bit boundary. */
            floe_wr_u8(&w, FLOE_RTCP_SDES_END);
            while (!w.err && (w.len - at) % 4)
                floe_wr_u8(&w, 0);
        }
        end_packet(&w, at);
    }

    if (c->bye) {
        at = begin_packet(&w, (unsigned)c->n_bye, FLOE_RTCP_BYE);
        for (size_t i = 0; i < c->n_bye; i++)
            floe_wr_u32(&w, c->bye_ssrc[i]);
        if (c->bye_reason) {
            floe_wr_u8(&w, (uint8_t)c->bye_reason_len);
            floe_wr_bytes(&w, c->bye_reason, c->bye_reason_len);
        }
        end_packet(&w, at);
    }
    if (w.err) return FLOE_ERR_NOSPACE;
    if (out_len) *out_len = w.len;
    return FLOE_OK;
}
