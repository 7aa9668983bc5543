/* floe: the session descriptions of a SIP call with ICE (RFC 3264 offer/answer, RFC 8839
 * ICE attributes, RFC 3551 PCMU/PCMA, RFC 5761 rtcp-mux).
 *
 * A call has one audio stream. floe_sip_sdp_write describes our side: the ICE agent's
 * candidates and credentials (floe/ice_sdp.h), m=audio with the payload types we offer
 * (PCMU 0 and PCMA 8) or the one we answered with, a=ptime:20 and a=rtcp-mux, and, for
 * the caller's updated offer after ICE, the selected pair. floe_sip_sdp_read reads the
 * peer's description of the first audio section: whether it does ICE (and its mismatch),
 * its default destination (c=/m=, a=rtcp or rtcp-mux), the payload type the call will
 * use (the first of the peer's formats that we support, in the peer's order of
 * preference, RFC 3264 §6.1), ptime and direction. Applying the ICE part to the agent
 * stays floe_ice_sdp_apply's job.
 *
 * Sans-IO, no allocation: both calls work in a caller's floe_ice_sdp_work. */
#ifndef FLOE_SIP_SDP_H
#define FLOE_SIP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/ice.h"
#include "floe/ice_sdp.h"
#include "floe/sdp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIP_SDP_PTIME 20 /* ms of audio per packet that floe sends and announces */

/* What the peer's description says about the call's audio. */
typedef struct floe_sip_sdp_media {
    size_t index;        /* the media section used (the first audio one with a port) */
    bool ice;            /* ICE attributes: apply it to the agent */
    bool ice_mismatch;   /* the peer answered a=ice-mismatch, or its default is none of its
                            candidates (RFC 8839 §4.2.5): no ICE for this call */
    bool lite;           /* a=ice-lite */
    floe_addr rtp, rtcp; /* default destination (RTCP: a=rtcp, port + 1, or = rtp) */
    bool rtcp_mux;       /* a=rtcp-mux */
    int payload_type;    /* 0 (PCMU) or 8 (PCMA); -1 when no format is common */
    unsigned ptime;      /* a=ptime, 0 when absent */
    floe_sdp_dir dir;    /* as the peer sees it */
    uint64_t session_id, session_version; /* o= */
} floe_sip_sdp_media;

/* Reads the peer's description. FLOE_OK, or with err: FLOE_ERR_MALFORMED / LIMIT (the
 * parser), FLOE_ERR_NOT_FOUND (no audio section with a port, or no address for it),
 * FLOE_ERR_UNSUPPORTED (no common payload type: answer 488). */
int floe_sip_sdp_read(const char *text, size_t len, floe_ice_sdp_work *w, floe_sip_sdp_media *out,
                      floe_sdp_error *err);

typedef struct floe_sip_sdp_ours {
    uint64_t session_id;      /* random, kept for the call (RFC 3264 §5) */
    uint64_t session_version; /* 1 for the first description, one more for each new one */
    int payload_type;         /* -1: offer PCMU and PCMA; 0 or 8: answer with that one */
    /* The caller's updated offer after ICE (RFC 8839 §4.2.2), per component 1..2. */
    const floe_ice_cand *selected_local[FLOE_ICE_MAX_COMPONENTS + 1];
    const floe_ice_cand *selected_remote[FLOE_ICE_MAX_COMPONENTS + 1];
    /* An answer to an offer without a=rtcp-mux: leave it out too (RFC 5761 §5.1.1). */
    bool no_rtcp_mux;
} floe_sip_sdp_ours;

/* Writes our description (stream 0 of the agent, one component: rtcp-mux unless
 * no_rtcp_mux) into out, NUL-terminated. Errors as floe_ice_sdp_write, and FLOE_ERR_INVAL for a
 * payload type other than -1, 0 and 8. */
int floe_sip_sdp_write(const floe_ice_agent *a, const floe_sip_sdp_ours *ours, floe_ice_sdp_work *w,
                       char *out, size_t cap, size_t *len, floe_sdp_error *err);

#ifdef __cplusplus
}
#endif
#endif
