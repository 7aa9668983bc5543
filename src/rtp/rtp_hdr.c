/* The RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1, §5.3.1),
 * parsed and built. */
#include <string.h>

#include "floe/bytes.h"
#include "floe/err.h"
#include "floe/rtp.h"
#include "rtp_internal.h"

int floe_rtp_parse(const uint8_t *p, size_t len, floe_rtp_hdr *h, floe_rtp_reason *why,
                   floe_rtp_stats *stats) {
    if (!p || !h) return FLOE_ERR_INVAL;
    if (why) *why = FLOE_RTP_R_NONE;
    memset(h, 0, sizeof *h);
    if (len < FLOE_RTP_HEADER_LEN)
        return rtp_reject(FLOE_RTP_R_SHORT, FLOE_ERR_TRUNCATED, why, stats);

    floe_rd r = floe_rd_init(p, len);
    uint8_t b0 = floe_rd_u8(&r);
    uint8_t b1 = floe_rd_u8(&r);
    if ((b0 >> 6) != FLOE_RTP_VERSION)
        return rtp_reject(FLOE_RTP_R_VERSION, FLOE_ERR_MALFORMED, why, stats);
    bool padding = (b0 & 0x20) != 0;
    h->ext = (b0 & 0x10) != 0;
    h->n_csrc = b0 & 0x0F;
    h->marker = (b1 & 0x80) != 0;
    h->pt = b1 & 0x7F;
    /* RFC 3550 §5.1 keeps these out of RTP so that an RTCP SR, RR, SDES, BYE or APP (200..204,
     * whose second byte reads as marker + 72..76) is never taken for RTP. */
    if (h->pt >= 72 && h->pt <= 76)
        return rtp_reject(FLOE_RTP_R_PT_RTCP, FLOE_ERR_MALFORMED, why, stats);
    h->seq = floe_rd_u16(&r);
    h->ts = floe_rd_u32(&r);
    h->ssrc = floe_rd_u32(&r);

    if (floe_rd_left(&r) < (size_t)h->n_csrc * 4)
        return rtp_reject(FLOE_RTP_R_CSRC, FLOE_ERR_TRUNCATED, why, stats);
    for (unsigned i = 0; i < h->n_csrc; i++)
        h->csrc[i] = floe_rd_u32(&r);

    if (h->ext) {
        if (floe_rd_left(&r) < 4)
            return rtp_reject(FLOE_RTP_R_EXTENSION, FLOE_ERR_TRUNCATED, why, stats);
        h->ext_profile = floe_rd_u16(&r);
        size_t words = floe_rd_u16(&r);
        if (floe_rd_left(&r) < words * 4)
            return rtp_reject(FLOE_RTP_R_EXTENSION, FLOE_ERR_TRUNCATED, why, stats);
        h->ext_len = words * 4;
        h->ext_data = floe_rd_bytes(&r, h->ext_len);
    }

    size_t rest = floe_rd_left(&r);
    if (padding) {
        /* The last octet counts the padding, itself included (§5.1). */
        uint8_t n = p[len - 1];
        if (n == 0 || n > rest)
            return rtp_reject(FLOE_RTP_R_PADDING, FLOE_ERR_MALFORMED, why, stats);
        h->pad_len = n;
        rest -= n;
    }
    h->payload = p + r.off;
    h->payload_len = rest;
    if (stats) stats->rtp_parsed++;
    return FLOE_OK;
}

int floe_rtp_build(const floe_rtp_hdr *h, uint8_t *out, size_t cap, size_t *out_len) {
    if (!h || (!out && cap) || h->pt > 127 || h->n_csrc > FLOE_RTP_MAX_CSRC) return FLOE_ERR_INVAL;
    if (h->ext && (h->ext_len % 4 != 0 || h->ext_len > 4 * 0xFFFFu || (!h->ext_data && h->ext_len)))
        return FLOE_ERR_INVAL;
    if (!h->payload && h->payload_len) return FLOE_ERR_INVAL;

    floe_wr w = floe_wr_init(out, cap);
    floe_wr_u8(&w, (uint8_t)(FLOE_RTP_VERSION << 6 | (h->pad_len ? 0x20 : 0) | (h->ext ? 0x10 : 0) |
                             h->n_csrc));
    floe_wr_u8(&w, (uint8_t)((h->marker ? 0x80 : 0) | h->pt));
    floe_wr_u16(&w, h->seq);
    floe_wr_u32(&w, h->ts);
    floe_wr_u32(&w, h->ssrc);
    for (unsigned i = 0; i < h->n_csrc; i++)
        floe_wr_u32(&w, h->csrc[i]);
    if (h->ext) {
        floe_wr_u16(&w, h->ext_profile);
        floe_wr_u16(&w, (uint16_t)(h->ext_len / 4));
        floe_wr_bytes(&w, h->ext_data, h->ext_len);
    }
    floe_wr_bytes(&w, h->payload, h->payload_len);
    if (h->pad_len) {
        floe_wr_zeros(&w, h->pad_len - 1u);
        floe_wr_u8(&w, h->pad_len);
    }
    if (w.err) return FLOE_ERR_NOSPACE;
    if (out_len) *out_len = w.len;
    return FLOE_OK;
}
