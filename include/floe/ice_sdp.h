/* floe: an ICE agent's session description, and the peer's fed to the agent.
 *
 * The glue between the agent (floe/ice.h) and RFC 8839's SDP attributes (floe/sdp_ice.h)
 * that every runtime driving an agent needs: the posix peer (`floe ice`) and the
 * simulator's peers (rt/sim/sim_ice.h) both write their offer or answer with
 * floe_ice_sdp_write and apply the peer's with floe_ice_sdp_apply.
 *
 * One media section carries one stream of the agent. The description written is complete
 * (v=, o=, s=, t=, one m= line whose port and c= are the default candidate of component
 * 1, a=rtcp for component 2's, a=ice-options:ice2, a=ice-pacing when the agent's Ta is
 * not 50 ms, a=ice-ufrag, a=ice-pwd, one a=candidate per local candidate,
 * a=end-of-candidates, a=ice-lite for a lite agent).
 *
 * Check pacing (RFC 8445 §14.2, RFC 8839 §5.5): the write announces the agent's Ta
 * (floe_ice_agent_pacing) and the apply sets the larger of it and the peer's (a peer
 * without a=ice-pacing counting as 50 ms) with floe_ice_agent_set_pacing, so two floe
 * agents end up with the same Ta whichever order they write and apply in.
 *
 * Sans-IO like the rest of the core: no allocation, no randomness (the o= session id comes
 * from the caller), errors as a static sentence and an SDP line number in a
 * floe_sdp_error. The SDP structures are large, so both calls work in a caller-provided
 * floe_ice_sdp_work (about 60 KiB: allocate it, or keep one static per thread).
 *
 *   static floe_ice_sdp_work w;
 *   floe_ice_sdp_desc d = {.components = 1, .session_id = random_62_bits};
 *   floe_sdp_error e;
 *   rc = floe_ice_sdp_write(agent, &d, &w, text, sizeof text, &len, &e);
 *   ... signal text to the peer, receive theirs ...
 *   floe_ice_sdp_applied got;
 *   rc = floe_ice_sdp_apply(agent, 0, 1, theirs, theirs_len, &w, &got, &e);
 *   ... floe_ice_agent_start(agent, now) ... */
#ifndef FLOE_ICE_SDP_H
#define FLOE_ICE_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/ice.h"
#include "floe/sdp.h"
#include "floe/sdp_ice.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_ICE_SDP_ARENA 16384           /* generated text of one description */
#define FLOE_ICE_SDP_MEDIA_DEFAULT "audio" /* m= media when the caller names none */

/* Scratch space for one call at a time (the description, the ICE view of a media section,
 * the local candidates, the arena the printer's text lives in). */
typedef struct floe_ice_sdp_work {
    floe_sdp sdp;
    floe_sdp_ice_media ice; /* after floe_ice_sdp_apply: what the peer's section said */
    floe_ice_cand cands[FLOE_ICE_MAX_LOCAL];
    char arena[FLOE_ICE_SDP_ARENA];
} floe_ice_sdp_work;

/* What to describe. */
typedef struct floe_ice_sdp_desc {
    unsigned stream;          /* the agent's stream (one media section) */
    unsigned components;      /* 1, or 2 (RTP and RTCP: a=rtcp names component 2's default) */
    bool lite;                /* a=ice-lite (the agent is an ICE-lite agent) */
    uint64_t session_id;      /* o= sess-id, random from the caller (RFC 8866 §5.2) */
    uint64_t session_version; /* o= sess-version; 0 writes 1. One more for each new
                                 description of the session (RFC 3264 §8) */
    const char *session_name; /* s=; NULL: "-" */
    const char *media;        /* m= media; NULL: FLOE_ICE_SDP_MEDIA_DEFAULT */
    /* RTP/AVP payload types for the m= line, in order of preference; none: "0" (PCMU).
     * The static types 0 (PCMU) and 8 (PCMA) get their a=rtpmap line. */
    const char *const *formats;
    size_t n_formats;
    unsigned ptime; /* a=ptime in ms when not 0 */
    bool rtcp_mux;  /* a=rtcp-mux (RFC 5761): RTCP on component 1's pair */
    /* The updated offer of the controlling agent once ICE completed (RFC 8839 §4.2.2):
     * per component (index 1, 2), the selected pair's local candidate becomes the default
     * candidate in c=/m= (a=rtcp) and its remote one goes into a=remote-candidates.
     * NULL entries (or all NULL) write an ordinary description. */
    const floe_ice_cand *selected_local[FLOE_ICE_MAX_COMPONENTS + 1];
    const floe_ice_cand *selected_remote[FLOE_ICE_MAX_COMPONENTS + 1];
} floe_ice_sdp_desc;

/* Writes the description of stream d->stream of a (after gathering) into out, NUL-
 * terminated, *len without the NUL. The agent's Ta goes into a session-level
 * a=ice-pacing, in milliseconds rounded up, when it is not FLOE_ICE_TA_DEFAULT: RFC 8445
 * §14.2 counts an agent that proposes nothing as 50 ms, so leaving the attribute out then
 * says the same in fewer bytes (and keeps the description what it was before floe
 * announced pacing). Candidates are listed best first, at most
 * FLOE_SDP_ICE_MAX_CANDIDATES (what a floe reader keeps); the default candidates are the
 * agent's (floe_ice_agent_default_candidate). Returns FLOE_OK, FLOE_ERR_NOT_FOUND (no
 * candidate yet, or none for component 1), FLOE_ERR_NOSPACE (out or the arena too small),
 * FLOE_ERR_INVAL (bad arguments, or a field the printer refuses), with err->reason. */
int floe_ice_sdp_write(const floe_ice_agent *a, const floe_ice_sdp_desc *d, floe_ice_sdp_work *w,
                       char *out, size_t cap, size_t *len, floe_sdp_error *err);

/* What floe_ice_sdp_apply did with each a=candidate line it could read. */
typedef enum floe_ice_sdp_fate {
    FLOE_ICE_SDP_CAND_ADDED = 0, /* given to the agent */
    FLOE_ICE_SDP_CAND_COMPONENT, /* a component the stream does not have: skipped */
    FLOE_ICE_SDP_CAND_REFUSED,   /* the agent refused it (refused[i] says why) */
} floe_ice_sdp_fate;

typedef struct floe_ice_sdp_applied {
    size_t media;       /* index of the media section used: the first with ICE and a port */
    int media_line;     /* its m= line */
    size_t candidates;  /* candidates the agent took */
    size_t listed;      /* candidate lines floe can use (w->ice.cands, w->ice.n_cands) */
    size_t unsupported; /* lines ignored as RFC 8839 §5.1 allows (TCP, FQDN, ...) */
    bool lite;          /* the peer is an ICE-lite agent (a=ice-lite) */
    bool mismatch;      /* the default destination is none of the candidates (§4.2.5);
                           ICE goes on with the candidates */
    /* Check pacing: the Ta (ms) the agent uses after the call, the larger of its own and
     * the peer's a=ice-pacing (absent: 50 ms; w->ice.pacing_ms has the peer's value), kept
     * within FLOE_ICE_TA_MIN..FLOE_ICE_TA_MAX. When the agent had already started its
     * checks (a description applied after floe_ice_agent_start), its Ta cannot change:
     * pacing_ms is the Ta it keeps, and pacing_late is set if that is not the negotiated
     * one. */
    uint32_t pacing_ms;
    bool pacing_late;
    uint8_t fate[FLOE_SDP_ICE_MAX_CANDIDATES]; /* floe_ice_sdp_fate of w->ice.cands[i] */
    int refused[FLOE_SDP_ICE_MAX_CANDIDATES];  /* the agent's error for REFUSED ones */
} floe_ice_sdp_applied;

/* Parses the peer's description and gives stream `stream` of a its credentials, its
 * ICE-lite flag (floe_ice_agent_set_remote_lite), the negotiated Ta
 * (floe_ice_agent_set_pacing, see pacing_ms) and its candidates. The peer's ufrag
 * is then in w->ice.ufrag. Returns FLOE_OK, or with err->reason (and err->line when it
 * is about one line): FLOE_ERR_MALFORMED / FLOE_ERR_LIMIT from the parser,
 * FLOE_ERR_NOT_FOUND (no media section, none with ICE, no credentials, no usable
 * candidate), FLOE_ERR_UNSUPPORTED (the peer answered a=ice-mismatch), or the agent's
 * error for the credentials. Candidates the agent refuses do not fail the call unless
 * none is left. */
int floe_ice_sdp_apply(floe_ice_agent *a, unsigned stream, unsigned components, const char *text,
                       size_t len, floe_ice_sdp_work *w, floe_ice_sdp_applied *out,
                       floe_sdp_error *err);

#ifdef __cplusplus
}
#endif
#endif
