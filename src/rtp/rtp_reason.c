/* Names of the RTP/RTCP rejection reasons (floe/rtp.h). */
#include "floe/rtp.h"

const char *floe_rtp_reason_name(floe_rtp_reason r) {
    switch (r) {
    case FLOE_RTP_R_NONE: return "none";
    case FLOE_RTP_R_SHORT: return "short";
    case FLOE_RTP_R_VERSION: return "version";
    case FLOE_RTP_R_CSRC: return "csrc";
    case FLOE_RTP_R_EXTENSION: return "extension";
    case FLOE_RTP_R_PADDING: return "padding";
    case FLOE_RTP_R_PT_RTCP: return "pt-rtcp";
    case FLOE_RTP_R_RTCP_SHORT: return "rtcp-short";
    case FLOE_RTP_R_RTCP_VERSION: return "rtcp-version";
    case FLOE_RTP_R_RTCP_LENGTH: return "rtcp-length";
    case FLOE_RTP_R_RTCP_FIRST: return "rtcp-first";
    case FLOE_RTP_R_RTCP_PADDING: return "rtcp-padding";
    case FLOE_RTP_R_RTCP_REPORT: return "rtcp-report";
    case FLOE_RTP_R_RTCP_SDES: return "rtcp-sdes";
    case FLOE_RTP_R_RTCP_BYE: return "rtcp-bye";
    case FLOE_RTP_R_COUNT: break;
    }
    return "unknown";
}
