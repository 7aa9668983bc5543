/* Shared by the RTP/RTCP parsers in src/rtp/: one place that records a rejection. */
#ifndef FLOE_RTP_INTERNAL_H
#define FLOE_RTP_INTERNAL_H

#include "floe/err.h"
#include "floe/rtp.h"

/* Sets *why, bumps the counter for r and returns err. */
static inline int rtp_reject(floe_rtp_reason r, int err, floe_rtp_reason *why,
                             floe_rtp_stats *stats) {
    if (why) *why = r;
    if (stats) stats->rejected[r]++;
    return err;
}

#endif
