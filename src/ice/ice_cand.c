/* Candidate types and the RFC 8445 priority formulas. */
#include <string.h>

#include "floe/ice_cand.h"

const char *floe_ice_cand_type_name(floe_ice_cand_type t) {
    switch (t) {
    case FLOE_ICE_CAND_HOST: return "host";
    case FLOE_ICE_CAND_SRFLX: return "srflx";
    case FLOE_ICE_CAND_PRFLX: return "prflx";
    case FLOE_ICE_CAND_RELAY: return "relay";
    }
    return "unknown";
}

bool floe_ice_cand_type_parse(const char *s, size_t len, floe_ice_cand_type *out) {
    static const floe_ice_cand_type all[] = {FLOE_ICE_CAND_HOST, FLOE_ICE_CAND_SRFLX,
                                             FLOE_ICE_CAND_PRFLX, FLOE_ICE_CAND_RELAY};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        const char *n = floe_ice_cand_type_name(all[i]);
        if (strlen(n) == len && memcmp(n, s, len) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

unsigned floe_ice_type_pref(floe_ice_cand_type t) {
    switch (t) {
    case FLOE_ICE_CAND_HOST: return FLOE_ICE_TYPE_PREF_HOST;
    case FLOE_ICE_CAND_SRFLX: return FLOE_ICE_TYPE_PREF_SRFLX;
    case FLOE_ICE_CAND_PRFLX: return FLOE_ICE_TYPE_PREF_PRFLX;
    case FLOE_ICE_CAND_RELAY: return FLOE_ICE_TYPE_PREF_RELAY;
    }
    return 0;
}

uint32_t floe_ice_priority(unsigned type_pref, unsigned local_pref, unsigned component) {
    return ((uint32_t)(type_pref & 0x7f) << 24) | ((uint32_t)(local_pref & 0xffff) << 8) |
           (uint32_t)((256 - (component & 0xff)) & 0xff);
}

uint64_t floe_ice_pair_priority(uint32_t g, uint32_t d) {
    uint64_t lo = g < d ? g : d, hi = g < d ? d : g;
    return (lo << 32) + 2 * hi + (g > d ? 1 : 0);
}
