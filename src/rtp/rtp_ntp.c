/* NTP timestamps and 16.16 durations in RTCP (RFC 3550 §4, §6.4.1). */
#include "floe/rtp.h"

uint64_t floe_rtp_ntp(uint64_t ntp_at_zero, floe_time_ns now) {
    uint64_t secs = now / FLOE_NS_PER_S;
    uint64_t frac = ((now % FLOE_NS_PER_S) << 32) / FLOE_NS_PER_S;
    return ntp_at_zero + (secs << 32) + frac;
}

floe_time_ns floe_rtp_ntp_short_to_ns(uint32_t v) {
    return ((uint64_t)v * FLOE_NS_PER_S) >> 16;
}

uint32_t floe_rtp_ns_to_ntp_short(floe_time_ns ns) {
    /* Saturates beyond 65536 s, which a 16.16 value cannot hold. */
    uint64_t secs = ns / FLOE_NS_PER_S;
    if (secs > 0xFFFF) return UINT32_MAX;
    uint64_t frac = ((ns % FLOE_NS_PER_S) << 16) / FLOE_NS_PER_S;
    return (uint32_t)(secs << 16 | frac);
}
