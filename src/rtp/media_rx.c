/* The media session's input: RTP to decoded samples, RTCP to statistics. */
#include "floe/err.h"
#include "floe/media.h"
#include "media_internal.h"

static int drop(floe_media *m, floe_media_rx *rx, floe_media_drop why) {
    rx->kind = FLOE_MEDIA_RX_NONE;
    rx->drop = why;
    m->st.dropped[why]++;
    return FLOE_OK;
}

/* The current source's counts go into the totals before another replaces it. */
static void retire_source(floe_media *m) {
    if (m->have_source && floe_rtp_source_valid(&m->rx)) {
        m->expected_prior += floe_rtp_source_expected(&m->rx);
        m->lost_prior += floe_rtp_source_lost(&m->rx);
    }
    m->have_source = false;
    m->have_rx_ts = false;
    m->have_cand = false;
}

static void on_rtcp(floe_media *m, floe_time_ns now, const floe_rtcp *c, floe_media_rx *rx) {
    if (m->have_source && c->ssrc == m->rx.ssrc && c->sr)
        floe_rtp_source_on_sr(&m->rx, now, c->ntp);

    for (size_t i = 0; i < c->n_blocks; i++) {
        const floe_rtcp_block *b = &c->blocks[i];
        if (b->ssrc != m->tx.ssrc) continue;
        m->st.remote_report = true;
        m->st.remote_fraction_lost = b->fraction_lost;
        m->st.remote_lost = b->cumulative_lost;
        m->st.remote_jitter = b->jitter;
        /* §6.4.1: RTT = A - LSR - DLSR, all in 1/65536 s, A the arrival time. A
         * negative result (clocks of the two ends do not matter, but a bogus LSR does)
         * is ignored. */
        if (b->lsr) {
            uint32_t a = floe_rtp_ntp_mid(floe_rtp_ntp(m->ntp_at_zero, now));
            uint32_t rtt = a - b->lsr - b->dlsr;
            if ((int32_t)rtt >= 0) m->st.rtt = floe_rtp_ntp_short_to_ns(rtt);
        }
    }

    for (size_t i = 0; i < c->n_bye; i++) {
        uint32_t who = c->bye_ssrc[i];
        if ((m->have_source && who == m->rx.ssrc) || (!m->have_source && who == c->ssrc)) {
            m->st.remote_bye = true;
            rx->bye = true;
            if (m->have_source) retire_source(m);
        }
    }
}

/* Follows the packet's source, or decides it is foreign. True when the packet may go on
 * to the sequence checks. */
static bool follow_source(floe_media *m, const floe_rtp_hdr *h) {
    if (!m->have_source) {
        floe_rtp_source_init(&m->rx, h->ssrc, h->seq, FLOE_RTP_AUDIO_RATE);
        m->have_source = true;
        return true;
    }
    if (h->ssrc == m->rx.ssrc) return true;
    /* Another SSRC: taken over when two of its packets come in sequence. */
    if (m->have_cand && h->ssrc == m->cand_ssrc && h->seq == (uint16_t)(m->cand_seq + 1)) {
        uint16_t first = m->cand_seq;
        retire_source(m);
        floe_rtp_source_init(&m->rx, h->ssrc, first, FLOE_RTP_AUDIO_RATE);
        floe_rtp_source_update(&m->rx, 0, first, 0); /* its first packet, on probation */
        m->have_source = true;
        m->st.ssrc_changes++;
        return true;
    }
    m->have_cand = true;
    m->cand_ssrc = h->ssrc;
    m->cand_seq = h->seq;
    return false;
}

int floe_media_on_packet(floe_media *m, floe_time_ns now, const uint8_t *p, size_t len,
                         floe_media_rx *rx) {
    if (!m || !p || !rx) return FLOE_ERR_INVAL;
    rx->kind = FLOE_MEDIA_RX_NONE;
    rx->drop = FLOE_MEDIA_DROP_NONE;
    rx->ssrc = 0;
    rx->seq = 0;
    rx->ts = 0;
    rx->marker = rx->late = rx->bye = false;
    rx->gap = 0;
    rx->n_samples = 0;

    if (m->state == FLOE_MEDIA_STOPPING || m->state == FLOE_MEDIA_STOPPED)
        return drop(m, rx, FLOE_MEDIA_DROP_STOPPED);
    floe_demux_class cls = floe_rtp_demux(p, len);
    if (cls != FLOE_DEMUX_RTP && cls != FLOE_DEMUX_RTCP)
        return drop(m, rx, FLOE_MEDIA_DROP_NOT_RTP);

    if (cls == FLOE_DEMUX_RTCP) {
        floe_rtcp c;
        if (floe_rtcp_parse(p, len, &c, NULL, &m->st.parse) != FLOE_OK)
            return drop(m, rx, FLOE_MEDIA_DROP_MALFORMED);
        if (c.ssrc == m->tx.ssrc) return drop(m, rx, FLOE_MEDIA_DROP_LOOP);
        m->st.rtcp_received++;
        m->avg_rtcp_size = floe_rtcp_avg_size(m->avg_rtcp_size, len + FLOE_MEDIA_IP_UDP_OVERHEAD);
        on_rtcp(m, now, &c, rx);
        rx->kind = FLOE_MEDIA_RX_RTCP;
        return FLOE_OK;
    }

    floe_rtp_hdr h;
    if (floe_rtp_parse(p, len, &h, NULL, &m->st.parse) != FLOE_OK)
        return drop(m, rx, FLOE_MEDIA_DROP_MALFORMED);
    if (h.ssrc == m->tx.ssrc) return drop(m, rx, FLOE_MEDIA_DROP_LOOP);
    if (h.pt != m->pt) return drop(m, rx, FLOE_MEDIA_DROP_PT);
    if (h.payload_len > FLOE_MEDIA_MAX_RX_SAMPLES) return drop(m, rx, FLOE_MEDIA_DROP_TOO_LONG);
    if (!follow_source(m, &h)) return drop(m, rx, FLOE_MEDIA_DROP_FOREIGN_SSRC);

    floe_rtp_seq v = floe_rtp_source_update(&m->rx, now, h.seq, h.ts);
    switch (v) {
    case FLOE_RTP_SEQ_DUPLICATE: m->st.duplicates++; return drop(m, rx, FLOE_MEDIA_DROP_DUPLICATE);
    case FLOE_RTP_SEQ_JUMP: return drop(m, rx, FLOE_MEDIA_DROP_JUMP);
    case FLOE_RTP_SEQ_LATE:
        m->st.late++;
        rx->late = true;
        break;
    case FLOE_RTP_SEQ_RESTART: m->have_rx_ts = false; break;
    case FLOE_RTP_SEQ_OK:
    case FLOE_RTP_SEQ_PROBATION: break;
    }

    if (!rx->late) {
        /* Samples missing since the last in-order packet: a timestamp ahead of where
         * that one ended (lost packets, or frames the peer skipped). */
        if (m->have_rx_ts) {
            int32_t d = (int32_t)(h.ts - m->rx_next_ts);
            if (d > 0 && d <= FLOE_MEDIA_MAX_GAP) rx->gap = (uint32_t)d;
        }
        m->rx_next_ts = h.ts + (uint32_t)h.payload_len;
        m->have_rx_ts = true;
    }
    floe_g711_decode(m->law, h.payload, h.payload_len, rx->samples);
    rx->n_samples = h.payload_len;
    rx->kind = FLOE_MEDIA_RX_AUDIO;
    rx->ssrc = h.ssrc;
    rx->seq = h.seq;
    rx->ts = h.ts;
    rx->marker = h.marker;

    m->st.rtp_received++;
    m->heard_since_report = true;
    if (m->st.first_rtp_received == FLOE_TIME_NEVER) m->st.first_rtp_received = now;
    m->st.last_rtp_received = now;
    return FLOE_OK;
}
