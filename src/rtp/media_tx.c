/* The media session's output: an RTP packet every ptime, RTCP reports on the RFC 3550
 * schedule, and the final BYE. */
#include <string.h>

#include "floe/err.h"
#include "floe/media.h"
#include "media_internal.h"

void media_schedule_rtcp(floe_media *m, floe_time_ns now) {
    /* Two members (us and the peer); a sender is whoever sent RTP since the last report. */
    floe_rtcp_interval_in in = {
        .members = 2,
        .senders = (m->sent_since_report ? 1u : 0u) + (m->heard_since_report ? 1u : 0u),
        .rtcp_bw = m->rtcp_bw,
        .we_sent = m->sent_since_report,
        .avg_rtcp_size = m->avg_rtcp_size,
        .initial = m->rtcp_initial,
    };
    uint8_t r[4];
    uint32_t rnd = 0x80000000u; /* the middle of the range if randomness fails */
    if (m->rand(m->rand_ctx, r, sizeof r) == FLOE_OK)
        rnd = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3];
    m->next_rtcp = now + floe_rtcp_interval(&in, rnd);
}

bool floe_media_rtp_due(const floe_media *m, floe_time_ns now) {
    return m && m->state == FLOE_MEDIA_RUNNING && now >= m->next_rtp;
}

int floe_media_next_packet(floe_media *m, floe_time_ns now, const int16_t *samples, uint8_t *out,
                           size_t cap, size_t *out_len) {
    if (!m) return FLOE_ERR_INVAL;
    if (m->state != FLOE_MEDIA_RUNNING) return FLOE_ERR_STATE;
    if (now < m->next_rtp) return FLOE_ERR_NOT_FOUND;
    if (cap < FLOE_RTP_HEADER_LEN + m->frame) return FLOE_ERR_NOSPACE;

    floe_time_ns period = FLOE_MS(m->ptime_ms);
    if (now - m->next_rtp > FLOE_MEDIA_MAX_LAG) {
        /* Far behind: skip the frames whose time has passed, keep the RTP clock. */
        uint64_t k = (now - m->next_rtp) / period;
        floe_rtp_sender_skip(&m->tx, (uint32_t)(k * m->frame));
        m->next_rtp += k * period;
        m->st.frames_skipped += k;
        m->marker_next = true;
    }

    int16_t pcm[FLOE_MEDIA_MAX_FRAME];
    if (!samples) {
        if (m->tone_on)
            floe_tone_gen_fill(&m->tone, pcm, m->frame);
        else
            memset(pcm, 0, m->frame * sizeof pcm[0]);
        samples = pcm;
    }
    uint8_t payload[FLOE_MEDIA_MAX_FRAME];
    floe_g711_encode(m->law, samples, m->frame, payload);
    int rc = floe_rtp_sender_build(&m->tx, now, m->marker_next, payload, m->frame, m->frame, out,
                                   cap, out_len);
    if (rc != FLOE_OK) return rc;

    m->marker_next = false;
    m->next_rtp += period;
    m->sent_since_report = true;
    m->st.rtp_sent++;
    m->st.rtp_octets_sent += m->frame;
    if (m->st.first_rtp_sent == FLOE_TIME_NEVER) m->st.first_rtp_sent = now;
    return FLOE_OK;
}

int floe_media_next_rtcp(floe_media *m, floe_time_ns now, uint8_t *out, size_t cap,
                         size_t *out_len) {
    if (!m) return FLOE_ERR_INVAL;
    if (m->state == FLOE_MEDIA_NEW || m->state == FLOE_MEDIA_STOPPED) return FLOE_ERR_STATE;
    if (m->state == FLOE_MEDIA_RUNNING && now < m->next_rtcp) return FLOE_ERR_NOT_FOUND;

    /* §6.4: an SR if we sent since the last report, an RR otherwise. */
    floe_rtcp c;
    memset(&c, 0, sizeof c);
    c.ssrc = m->tx.ssrc;
    if (m->sent_since_report) {
        c.sr = true;
        c.ntp = floe_rtp_ntp(m->ntp_at_zero, now);
        c.rtp_ts = floe_rtp_sender_ts_at(&m->tx, now);
        c.packets = m->tx.packets;
        c.octets = m->tx.octets;
    }
    /* A block about the peer's source if it was heard since the last report. The
     * report closes an A.3 interval: work on a copy until the packet is written. */
    floe_rtp_source rx = m->rx;
    if (m->have_source && floe_rtp_source_valid(&rx) && m->heard_since_report) {
        floe_rtp_source_report(&rx, now, &c.blocks[0]);
        c.n_blocks = 1;
    }
    c.n_sdes = 1;
    c.sdes[0] = (floe_rtcp_sdes){m->tx.ssrc, (const uint8_t *)m->cname, m->cname_len};
    if (m->state == FLOE_MEDIA_STOPPING) {
        c.bye = true;
        c.n_bye = 1;
        c.bye_ssrc[0] = m->tx.ssrc;
    }
    size_t n = 0;
    int rc = floe_rtcp_build(&c, out, cap, &n);
    if (rc != FLOE_OK) return rc;
    if (out_len) *out_len = n;

    m->rx = rx;
    m->st.rtcp_sent++;
    m->avg_rtcp_size = floe_rtcp_avg_size(m->avg_rtcp_size, n + FLOE_MEDIA_IP_UDP_OVERHEAD);
    if (m->state == FLOE_MEDIA_STOPPING) {
        m->state = FLOE_MEDIA_STOPPED;
        m->next_rtcp = FLOE_TIME_NEVER;
        return FLOE_OK;
    }
    /* The interval counts who sent during the one that ends now, then starts afresh. */
    m->rtcp_initial = false;
    media_schedule_rtcp(m, now);
    m->sent_since_report = false;
    m->heard_since_report = false;
    return FLOE_OK;
}
