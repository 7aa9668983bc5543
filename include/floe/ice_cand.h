/* floe: ICE candidates (RFC 8445 §5.1) and their priorities.
 *
 * A candidate is a transport address an agent can be reached at, with the type and the
 * base it was derived from. The same struct describes local candidates (gathered by the
 * agent) and remote ones (read from the peer's SDP, or learnt as peer-reflexive). */
#ifndef FLOE_ICE_CAND_H
#define FLOE_ICE_CAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_ice_cand_type {
    FLOE_ICE_CAND_HOST = 0,
    FLOE_ICE_CAND_SRFLX = 1, /* server reflexive */
    FLOE_ICE_CAND_PRFLX = 2, /* peer reflexive */
    FLOE_ICE_CAND_RELAY = 3, /* relayed (TURN) */
} floe_ice_cand_type;

/* RFC 8445 §5.1.2.2 recommended type preferences. */
#define FLOE_ICE_TYPE_PREF_HOST 126
#define FLOE_ICE_TYPE_PREF_PRFLX 110
#define FLOE_ICE_TYPE_PREF_SRFLX 100
#define FLOE_ICE_TYPE_PREF_RELAY 0

#define FLOE_ICE_FOUNDATION_MAX 32 /* RFC 8445 §5.1.1.3: 1 to 32 ice-chars */
#define FLOE_ICE_MAX_COMPONENTS 2  /* RTP and RTCP */

typedef struct floe_ice_cand {
    floe_ice_cand_type type;
    floe_transport transport; /* UDP (TCP candidates, RFC 6544, are not gathered yet) */
    uint8_t component;        /* 1 (RTP) or 2 (RTCP) */
    uint32_t priority;
    char foundation[FLOE_ICE_FOUNDATION_MAX + 1];
    floe_addr addr;      /* the transport address */
    floe_addr related;   /* base / related address (raddr, rport); FLOE_AF_NONE if none */
    uint16_t local_pref; /* the local preference that went into the priority */
} floe_ice_cand;

/* "host", "srflx", "prflx", "relay" (the SDP spellings, RFC 8839 §5.1). */
const char *floe_ice_cand_type_name(floe_ice_cand_type t);
/* Parses those names; returns false for anything else. */
bool floe_ice_cand_type_parse(const char *s, size_t len, floe_ice_cand_type *out);
/* The recommended type preference (above) for t. */
unsigned floe_ice_type_pref(floe_ice_cand_type t);

/* RFC 8445 §5.1.2.1: (2^24)*type_pref + (2^8)*local_pref + (256 - component). */
uint32_t floe_ice_priority(unsigned type_pref, unsigned local_pref, unsigned component);

/* RFC 8445 §6.1.2.3: pair priority from the controlling and controlled candidates'
 * priorities G and D: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
uint64_t floe_ice_pair_priority(uint32_t g, uint32_t d);

#ifdef __cplusplus
}
#endif
#endif
