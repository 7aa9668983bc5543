/* The RTCP report interval: RFC 3550 §6.2 and §6.3.1, computed as appendix A.7's
 * rtcp_interval() does, with the random factor from the caller. */
#include "floe/rtp.h"

floe_time_ns floe_rtcp_interval(const floe_rtcp_interval_in *in, uint32_t rnd) {
    double tmin = (double)FLOE_RTCP_MIN_INTERVAL / FLOE_NS_PER_S;
    if (in->initial) tmin /= 2;
    double members = in->members ? in->members : 1;
    double senders = in->senders;
    double bw = in->rtcp_bw;
    double n = members;
    /* When senders are at most a quarter of the members, they share a quarter of the
     * bandwidth and the receivers the rest, each group dividing its share among itself;
     * otherwise everyone shares all of it. */
    if (senders <= members * FLOE_RTCP_SENDER_SHARE) {
        if (in->we_sent) {
            bw *= FLOE_RTCP_SENDER_SHARE;
            n = senders;
        } else {
            bw *= FLOE_RTCP_RECEIVER_SHARE;
            n -= senders;
        }
    }
    double t = bw > 0 ? in->avg_rtcp_size * n / bw : tmin;
    if (t < tmin) t = tmin;
    /* Uniformly in [0.5, 1.5) times t, so that reports from many members do not
     * synchronise, then compensated for the bias of timer reconsideration. */
    double factor = 0.5 + (double)rnd / 4294967296.0;
    t = t * factor / FLOE_RTCP_COMPENSATION;
    return (floe_time_ns)(t * (double)FLOE_NS_PER_S);
}

double floe_rtcp_avg_size(double avg, size_t packet_size) {
    return avg + ((double)packet_size - avg) / 16.0;
}
