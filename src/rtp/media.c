/* The media session's life: configuration, start, stop, deadline and counters. Sending
 * is in media_tx.c, receiving in media_rx.c. */
#include <string.h>

#include "floe/err.h"
#include "floe/media.h"
#include "media_internal.h"

void floe_media_config_default(floe_media_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->payload_type = FLOE_RTP_PT_PCMU;
    cfg->ptime_ms = FLOE_MEDIA_PTIME_DEFAULT;
    cfg->rtcp_mux = true;
}

/* RFC 7022 §4.2: a CNAME of 96 random bits, base64-encoded (16 characters). */
static int random_cname(floe_media *m) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t r[12];
    int rc = m->rand(m->rand_ctx, r, sizeof r);
    if (rc != FLOE_OK) return rc;
    size_t n = 0;
    for (size_t i = 0; i < sizeof r; i += 3) {
        uint32_t v = (uint32_t)r[i] << 16 | (uint32_t)r[i + 1] << 8 | r[i + 2];
        for (int k = 3; k >= 0; k--)
            m->cname[n++] = b64[(v >> (6 * k)) & 0x3F];
    }
    m->cname[n] = '\0';
    m->cname_len = n;
    return FLOE_OK;
}

int floe_media_init(floe_media *m, const floe_media_config *cfg) {
    if (!m || !cfg || !cfg->rand) return FLOE_ERR_INVAL;
    if (cfg->payload_type != FLOE_RTP_PT_PCMU && cfg->payload_type != FLOE_RTP_PT_PCMA)
        return FLOE_ERR_INVAL;
    if (cfg->ptime_ms < FLOE_MEDIA_PTIME_MIN || cfg->ptime_ms > FLOE_MEDIA_PTIME_MAX ||
        cfg->ptime_ms % 10)
        return FLOE_ERR_INVAL;
    size_t cname_len = cfg->cname ? strlen(cfg->cname) : 0;
    if (cfg->cname && (cname_len == 0 || cname_len > FLOE_MEDIA_CNAME_MAX)) return FLOE_ERR_INVAL;

    memset(m, 0, sizeof *m);
    m->state = FLOE_MEDIA_NEW;
    m->pt = cfg->payload_type;
    m->law = cfg->payload_type == FLOE_RTP_PT_PCMA ? FLOE_G711_ALAW : FLOE_G711_ULAW;
    m->ptime_ms = cfg->ptime_ms;
    m->frame = cfg->ptime_ms * FLOE_RTP_AUDIO_RATE / 1000;
    m->rtcp_mux = cfg->rtcp_mux;
    m->rand = cfg->rand;
    m->rand_ctx = cfg->rand_ctx;
    m->ntp_at_zero = cfg->ntp_at_zero;

    int rc = floe_rtp_sender_init(&m->tx, m->pt, FLOE_RTP_AUDIO_RATE, cfg->rand, cfg->rand_ctx);
    if (rc != FLOE_OK) return rc;
    if (cfg->cname) {
        memcpy(m->cname, cfg->cname, cname_len + 1);
        m->cname_len = cname_len;
    } else if ((rc = random_cname(m)) != FLOE_OK) {
        return rc;
    }

    /* RFC 3550 §6.2: RTCP gets 5 % of the session bandwidth, here what our own stream
     * takes with its IPv4, UDP and RTP headers (80 kbit/s at 20 ms). */
    double per_packet = m->frame + FLOE_RTP_HEADER_LEN + FLOE_MEDIA_IP_UDP_OVERHEAD;
    m->rtcp_bw = FLOE_RTCP_BW_FRACTION * per_packet * (1000.0 / m->ptime_ms);
    /* A.7: start the average at the size of the report we will likely send first (SR,
     * one block, SDES with our CNAME). */
    m->avg_rtcp_size =
        28 + 24 + 8 + ((m->cname_len + 3 + 3) & ~(size_t)3) + FLOE_MEDIA_IP_UDP_OVERHEAD;
    m->rtcp_initial = true;
    m->marker_next = true;
    m->next_rtp = m->next_rtcp = FLOE_TIME_NEVER;
    m->st.first_rtp_sent = m->st.first_rtp_received = FLOE_TIME_NEVER;
    m->st.last_rtp_received = m->st.rtt = FLOE_TIME_NEVER;
    return FLOE_OK;
}

int floe_media_start(floe_media *m, floe_time_ns now) {
    if (!m) return FLOE_ERR_INVAL;
    if (m->state != FLOE_MEDIA_NEW) return FLOE_ERR_STATE;
    m->state = FLOE_MEDIA_RUNNING;
    m->next_rtp = now;
    m->sent_since_report = true; /* we are about to: count as a sender for the interval */
    media_schedule_rtcp(m, now);
    m->sent_since_report = false;
    return FLOE_OK;
}

int floe_media_set_tone(floe_media *m, double hz, double amplitude) {
    if (!m) return FLOE_ERR_INVAL;
    if (hz == 0.0) {
        m->tone_on = false;
        return FLOE_OK;
    }
    floe_tone_gen g;
    int rc = floe_tone_gen_init(&g, hz, amplitude, FLOE_RTP_AUDIO_RATE);
    if (rc != FLOE_OK) return rc;
    m->tone = g;
    m->tone_on = true;
    return FLOE_OK;
}

size_t floe_media_frame_samples(const floe_media *m) {
    return m->frame;
}

void floe_media_stop(floe_media *m, bool send_bye) {
    if (!m || m->state == FLOE_MEDIA_STOPPED) return;
    /* A session that never started has sent nothing to say goodbye to. */
    m->state = send_bye && m->state != FLOE_MEDIA_NEW ? FLOE_MEDIA_STOPPING : FLOE_MEDIA_STOPPED;
    m->next_rtp = FLOE_TIME_NEVER;
    if (m->state == FLOE_MEDIA_STOPPED) m->next_rtcp = FLOE_TIME_NEVER;
}

floe_time_ns floe_media_deadline(const floe_media *m) {
    switch (m->state) {
    case FLOE_MEDIA_RUNNING: return m->next_rtp < m->next_rtcp ? m->next_rtp : m->next_rtcp;
    case FLOE_MEDIA_STOPPING: return 0;
    default: return FLOE_TIME_NEVER;
    }
}

void floe_media_get_stats(const floe_media *m, floe_media_stats *out) {
    *out = m->st;
    out->expected = m->expected_prior;
    out->lost = m->lost_prior;
    out->jitter = 0;
    if (m->have_source && floe_rtp_source_valid(&m->rx)) {
        out->expected += floe_rtp_source_expected(&m->rx);
        out->lost += floe_rtp_source_lost(&m->rx);
        out->jitter = floe_rtp_source_jitter(&m->rx);
    }
    out->jitter_ns = (floe_time_ns)out->jitter * FLOE_NS_PER_S / FLOE_RTP_AUDIO_RATE;
    out->bad = m->st.dropped[FLOE_MEDIA_DROP_NOT_RTP] + m->st.dropped[FLOE_MEDIA_DROP_MALFORMED];
}

const char *floe_media_drop_name(floe_media_drop d) {
    switch (d) {
    case FLOE_MEDIA_DROP_NONE: return "none";
    case FLOE_MEDIA_DROP_NOT_RTP: return "not-rtp";
    case FLOE_MEDIA_DROP_MALFORMED: return "malformed";
    case FLOE_MEDIA_DROP_PT: return "payload-type";
    case FLOE_MEDIA_DROP_TOO_LONG: return "too-long";
    case FLOE_MEDIA_DROP_LOOP: return "loop";
    case FLOE_MEDIA_DROP_FOREIGN_SSRC: return "foreign-ssrc";
    case FLOE_MEDIA_DROP_DUPLICATE: return "duplicate";
    case FLOE_MEDIA_DROP_JUMP: return "jump";
    case FLOE_MEDIA_DROP_STOPPED: return "stopped";
    case FLOE_MEDIA_DROP_COUNT: break;
    }
    return "unknown";
}
