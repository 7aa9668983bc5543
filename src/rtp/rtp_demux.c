/* Telling protocols apart on a shared port: RFC 7983 §7 by the first byte, RFC 5761 §4
 * for RTP against RTCP. */
#include "floe/rtp.h"

bool floe_rtp_is_rtcp(const uint8_t *p, size_t len) {
    if (!p || len < 2) return false;
    unsigned pt = p[1] & 0x7F;
    return pt >= 64 && pt <= 95;
}

floe_demux_class floe_rtp_demux(const uint8_t *p, size_t len) {
    if (!p || len == 0) return FLOE_DEMUX_UNKNOWN;
    uint8_t b = p[0];
    if (b <= 3) return FLOE_DEMUX_STUN;
    if (b >= 16 && b <= 19) return FLOE_DEMUX_ZRTP;
    if (b >= 20 && b <= 63) return FLOE_DEMUX_DTLS;
    if (b >= 64 && b <= 79) return FLOE_DEMUX_TURN_CHANNEL;
    if (b >= 128 && b <= 191) return floe_rtp_is_rtcp(p, len) ? FLOE_DEMUX_RTCP : FLOE_DEMUX_RTP;
    return FLOE_DEMUX_UNKNOWN;
}

const char *floe_demux_class_name(floe_demux_class c) {
    switch (c) {
    case FLOE_DEMUX_UNKNOWN: return "unknown";
    case FLOE_DEMUX_STUN: return "stun";
    case FLOE_DEMUX_ZRTP: return "zrtp";
    case FLOE_DEMUX_DTLS: return "dtls";
    case FLOE_DEMUX_TURN_CHANNEL: return "turn-channel";
    case FLOE_DEMUX_RTP: return "rtp";
    case FLOE_DEMUX_RTCP: return "rtcp";
    }
    return "unknown";
}
