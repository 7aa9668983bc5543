/* RTCP compound packets read as RFC 3550 §6 and appendix A.2 describe: every packet's
 * header is checked and its length followed to the next; SR/RR, SDES (CNAME) and BYE
 * are read, other types skipped. */
#include <string.h>

#include "floe/bytes.h"
#include "floe/err.h"
#include "floe/rtp.h"
#include "rtp_internal.h"

/* Reads one report block (§6.4.1) at q (24 bytes available). */
static void read_block(const uint8_t *q, floe_rtcp_block *b) {
    b->ssrc = floe_get_u32(q);
    b->fraction_lost = q[4];
    /* 24-bit two's complement: shift into the top of an int32 and back. */
    uint32_t raw = (uint32_t)q[5] << 16 | (uint32_t)q[6] << 8 | q[7];
    b->cumulative_lost = (int32_t)(raw << 8) >> 8;
    b->ext_highest_seq = floe_get_u32(q + 8);
    b->jitter = floe_get_u32(q + 12);
    b->lsr = floe_get_u32(q + 16);
    b->dlsr = floe_get_u32(q + 20);
}

/* SR or RR body (after the 4-byte header): SSRC, sender info for an SR, rc blocks.
 * Bytes after the blocks are profile-specific extensions (§6.4.3): skipped. */
static bool read_report(const uint8_t *q, size_t n, bool sr, unsigned rc, bool first,
                        floe_rtcp *c) {
    size_t need = 4 + (sr ? 20 : 0) + (size_t)rc * 24;
    if (n < need) return false;
    if (first) {
        c->sr = sr;
        c->ssrc = floe_get_u32(q);
    }
    q += 4;
    if (sr && first) {
        c->ntp = (uint64_t)floe_get_u32(q) << 32 | floe_get_u32(q + 4);
        c->rtp_ts = floe_get_u32(q + 8);
        c->packets = floe_get_u32(q + 12);
        c->octets = floe_get_u32(q + 16);
    }
    if (sr) q += 20;
    for (unsigned i = 0; i < rc; i++, q += 24) {
        if (c->n_blocks == FLOE_RTCP_MAX_BLOCKS) {
            c->n_dropped++;
            continue;
        }
        read_block(q, &c->blocks[c->n_blocks++]);
    }
    return true;
}

/* SDES body: sc chunks, each an SSRC and items ended by a null octet and padded to a
 * 32-bit boundary (§6.5). Chunks start 4-aligned relative to the body, as the body is. */
static bool read_sdes(const uint8_t *q, size_t n, unsigned sc, floe_rtcp *c) {
    size_t off = 0;
    for (unsigned i = 0; i < sc; i++) {
        if (n - off < 4) return false;
        floe_rtcp_sdes chunk = {.ssrc = floe_get_u32(q + off)};
        off += 4;
        for (;;) {
            if (off >= n) return false; /* no terminating null octet */
            uint8_t type = q[off];
            if (type == FLOE_RTCP_SDES_END) {
                off = (off + 4) & ~(size_t)3; /* the null octet, then up to the boundary */
                if (off > n) return false;
                break;
            }
            if (n - off < 2 || (size_t)q[off + 1] > n - off - 2) return false;
            size_t len = q[off + 1];
            if (type == FLOE_RTCP_SDES_CNAME && !chunk.cname && len > 0) {
                chunk.cname = q + off + 2;
                chunk.cname_len = len;
            }
            off += 2 + len;
        }
        if (c->n_sdes == FLOE_RTCP_MAX_SDES)
            c->n_dropped++;
        else
            c->sdes[c->n_sdes++] = chunk;
    }
    return true;
}

/* BYE body: sc SSRCs, then an optional length-prefixed reason (§6.6). */
static bool read_bye(const uint8_t *q, size_t n, unsigned sc, floe_rtcp *c) {
    if (n < (size_t)sc * 4) return false;
    for (unsigned i = 0; i < sc; i++) {
        if (c->n_bye == FLOE_RTCP_MAX_BYE)
            c->n_dropped++;
        else
            c->bye_ssrc[c->n_bye++] = floe_get_u32(q + 4 * i);
    }
    size_t off = (size_t)sc * 4;
    if (off < n) {
        size_t len = q[off];
        if (len > n - off - 1) return false;
        if (!c->bye_reason) {
            c->bye_reason = q + off + 1;
            c->bye_reason_len = len;
        }
    }
    c->bye = true;
    return true;
}

int floe_rtcp_parse(const uint8_t *p, size_t len, floe_rtcp *c, floe_rtp_reason *why,
                    floe_rtp_stats *stats) {
    if (!p || !c) return FLOE_ERR_INVAL;
    if (why) *why = FLOE_RTP_R_NONE;
    memset(c, 0, sizeof *c);
    if (len < 8) return rtp_reject(FLOE_RTP_R_RTCP_SHORT, FLOE_ERR_TRUNCATED, why, stats);

    size_t off = 0;
    while (off < len) {
        if (len - off < 4) return rtp_reject(FLOE_RTP_R_RTCP_SHORT, FLOE_ERR_TRUNCATED, why, stats);
        const uint8_t *h = p + off;
        if ((h[0] >> 6) != FLOE_RTP_VERSION)
            return rtp_reject(FLOE_RTP_R_RTCP_VERSION, FLOE_ERR_MALFORMED, why, stats);
        bool padded = (h[0] & 0x20) != 0;
        unsigned count = h[0] & 0x1F;
        uint8_t pt = h[1];
        size_t plen = ((size_t)floe_get_u16(h + 2) + 1) * 4;
        bool first = off == 0;
        if (first && pt != FLOE_RTCP_SR && pt != FLOE_RTCP_RR)
            return rtp_reject(FLOE_RTP_R_RTCP_FIRST, FLOE_ERR_MALFORMED, why, stats);
        if (plen > len - off)
            return rtp_reject(FLOE_RTP_R_RTCP_LENGTH, FLOE_ERR_TRUNCATED, why, stats);
        bool last = off + plen == len;
        /* The body: after the header, without the padding. */
        size_t body = plen - 4;
        if (padded) {
            /* A.2: only the last packet of a compound may be padded. */
            uint8_t n = h[plen - 1];
            if (!last || n == 0 || n > body)
                return rtp_reject(FLOE_RTP_R_RTCP_PADDING, FLOE_ERR_MALFORMED, why, stats);
            body -= n;
        }
        const uint8_t *q = h + 4;
        switch (pt) {
        case FLOE_RTCP_SR:
        case FLOE_RTCP_RR:
            if (!read_report(q, body, pt == FLOE_RTCP_SR, count, first, c))
                return rtp_reject(FLOE_RTP_R_RTCP_REPORT, FLOE_ERR_MALFORMED, why, stats);
            break;
        case FLOE_RTCP_SDES:
            if (!read_sdes(q, body, count, c))
                return rtp_reject(FLOE_RTP_R_RTCP_SDES, FLOE_ERR_MALFORMED, why, stats);
            break;
        case FLOE_RTCP_BYE:
            if (!read_bye(q, body, count, c))
                return rtp_reject(FLOE_RTP_R_RTCP_BYE, FLOE_ERR_MALFORMED, why, stats);
            break;
        default: c->n_other++; break;
        }
        c->n_packets++;
        off += plen;
    }
    if (stats) stats->rtcp_parsed++;
    return FLOE_OK;
}
