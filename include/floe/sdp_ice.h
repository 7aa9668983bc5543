/* floe: ICE in SDP (RFC 8839), on top of floe/sdp.h.
 *
 * Reading: floe_sdp_ice_media_parse() gathers what one media section says about ICE:
 * credentials (with session-level ones inherited), options, candidates, the default
 * destination from c=/m= (and a=rtcp), and whether that default is among the candidates
 * (the "ICE mismatch" check of RFC 8839 §4.2.5). Candidate lines are parsed one at a time
 * by floe_sdp_candidate_parse(), which a trickle (RFC 8840) receiver can call directly.
 *
 *   floe_sdp_ice_media ice;   // about 4 KiB
 *   rc = floe_sdp_ice_media_parse(&sdp, 0, &ice, &stats, &e);
 *   if (rc == FLOE_OK && ice.ice && !ice.mismatch) {
 *       floe_ice_agent_set_remote_credentials(agent, 0, ice.ufrag, ice.pwd);
 *       for (size_t i = 0; i < ice.n_cands; i++)
 *           floe_ice_agent_add_remote_candidate(agent, 0, &ice.cands[i]);
 *   }
 *
 * Writing: floe_sdp_ice_session_write() adds the session-level attributes (ice-lite,
 * ice-options, ice-pacing) and floe_sdp_ice_media_write() the media-level ones
 * (ice-ufrag, ice-pwd, a=candidate per local candidate, remote-candidates,
 * end-of-candidates or ice-mismatch) and points c=/m= (and a=rtcp) at the default
 * candidate the caller chose, for instance with floe_sdp_ice_default_choose(). Generated
 * text goes into a floe_sdp_arena.
 *
 * Policy decisions, all from RFC 8839 unless noted:
 *   - candidate port 0 is rejected (a transport address with port 0 cannot receive);
 *     rport 0 is accepted, because §5.1 asks agents hiding their related address to
 *     send "raddr 0.0.0.0 rport 0" (or "::");
 *   - the candidate address must be unicast: 0.0.0.0/8, ::, 255.255.255.255 and
 *     multicast are rejected;
 *   - raddr and rport come as a pair, raddr first. §5.1 wants them on srflx, prflx and
 *     relay candidates and not on host ones; they are for diagnostics, so their absence
 *     or presence is accepted either way and printed as received;
 *   - §5.1 tells agents to ignore candidates they cannot use. Those parse to
 *     FLOE_ERR_UNSUPPORTED (with *out filled as far as possible) and are skipped and
 *     counted by the media parser: TCP (RFC 6544), unknown transports, unknown candidate
 *     types, FQDN addresses (mDNS ".local" names included, for now), and component-id
 *     256, which floe_ice_cand's uint8_t component cannot hold;
 *   - malformed candidate lines (bad syntax or out-of-range numbers) fail the whole
 *     media section with FLOE_ERR_MALFORMED: a peer that writes them is broken;
 *   - extension attributes (generation, network-id, ufrag, tcptype, ...) are checked for
 *     shape and skipped; each needs a non-empty value;
 *   - a=candidate and a=remote-candidates are media-level only (§5.1, §5.2); at
 *     session level they are an error. a=ice-lite and a=ice-pacing are session-level
 *     only (§5.3, §5.5); at media level they are ignored;
 *   - ice-options merge session and media level; a=ice-pacing is kept as received
 *     (1*10DIGIT, §5.5; a value beyond 32 bits is read as UINT32_MAX, and 0 reads the same
 *     as no attribute); floe_sdp_ice_pacing() turns both sides' values into the Ta to use.
 */
#ifndef FLOE_SDP_ICE_H
#define FLOE_SDP_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/ice_cand.h"
#include "floe/sdp.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SDP_ICE_UFRAG_MIN 4              /* RFC 8839 §5.4: ufrag = 4*256ice-char */
#define FLOE_SDP_ICE_UFRAG_MAX 256            /* RFC 8839 §5.4 */
#define FLOE_SDP_ICE_UFRAG_SEND_MAX 32        /* RFC 8839 §5.4: at most 32 when sending */
#define FLOE_SDP_ICE_PWD_MIN 22               /* RFC 8839 §5.4: password = 22*256ice-char */
#define FLOE_SDP_ICE_PWD_MAX 256              /* RFC 8839 §5.4 */
#define FLOE_SDP_ICE_COMPONENT_MAX 256        /* RFC 8839 §5.1: component-id 1..256 */
#define FLOE_SDP_ICE_PRIORITY_MAX 0x7fffffffu /* RFC 8839 §5.1: 1..2^31-1 */
#define FLOE_SDP_ICE_PACING_DEFAULT 50        /* RFC 8839 §5.5: ms, for a side that sends none */
#define FLOE_SDP_ICE_PACING_MIN 5             /* RFC 8445 §14.2: ms, no Ta below it */
#define FLOE_SDP_ICE_DISCARD_PORT 9 /* RFC 8839 §4.2.5: 0.0.0.0/:: port 9 = no default yet */

#define FLOE_SDP_ICE_MAX_CANDIDATES 32 /* a=candidate lines kept per media section */
#define FLOE_SDP_ICE_MAX_REMOTE 8      /* remote-candidates entries per media section */
/* Longest a=candidate value floe_sdp_candidate_print() writes, NUL included. */
#define FLOE_SDP_CANDIDATE_STRLEN 192

/* ---- one candidate line ------------------------------------------------------------------ */

/* Parses the value of an a=candidate line (RFC 8839 §5.1), with or without a leading
 * "candidate:" (as trickle and WebRTC APIs carry it):
 *   <foundation> <component> <transport> <priority> <address> <port> typ <type>
 *       [raddr <address> rport <port>] *(<name> <value>)
 * Returns FLOE_OK, FLOE_ERR_MALFORMED (bad line) or FLOE_ERR_UNSUPPORTED (a valid line
 * floe cannot use; see the policy above), with err->reason (err may be NULL; err->line
 * is left 0). out->local_pref is taken from the priority (bits 8..23). */
int floe_sdp_candidate_parse(const char *s, size_t len, floe_ice_cand *out, floe_sdp_error *err);

/* Writes the a=candidate value for c (no "candidate:" prefix) into buf, NUL-terminated.
 * Returns the length written (>= 0) or a negative error: FLOE_ERR_INVAL for a candidate
 * the parser would reject, FLOE_ERR_UNSUPPORTED for non-UDP transports, FLOE_ERR_NOSPACE
 * when cap is too small (FLOE_SDP_CANDIDATE_STRLEN is always enough). */
int floe_sdp_candidate_print(const floe_ice_cand *c, char *buf, size_t cap);

/* ---- reading a media section ---------------------------------------------------------------- */

/* One entry of a=remote-candidates (RFC 8839 §5.2). */
typedef struct floe_sdp_ice_remote {
    uint8_t component;
    floe_addr addr;
} floe_sdp_ice_remote;

/* Counters a caller may keep across calls. */
typedef struct floe_sdp_ice_stats {
    uint64_t media_parsed;        /* media sections read successfully */
    uint64_t cand_ok;             /* candidates accepted */
    uint64_t cand_bad;            /* malformed a=candidate lines (the section failed) */
    uint64_t cand_unsupported;    /* candidates skipped: TCP, FQDN/mDNS, unknown type */
    uint64_t cand_too_many;       /* sections over FLOE_SDP_ICE_MAX_CANDIDATES (failed) */
    uint64_t missing_credentials; /* ICE attributes without ice-ufrag or ice-pwd (failed) */
    uint64_t bad_credentials;     /* ice-ufrag/ice-pwd of bad length or characters (failed) */
    uint64_t bad_attr;            /* other malformed ICE attributes (failed) */
    uint64_t mismatch;            /* sections whose default destination is no candidate */
} floe_sdp_ice_stats;

typedef struct floe_sdp_ice_media {
    /* ICE is in use for this section: it has (its own or inherited) credentials or
     * candidates. When false the peer does not do ICE here (RFC 3264 media only). */
    bool ice;
    char ufrag[FLOE_SDP_ICE_UFRAG_MAX + 1]; /* NUL-terminated copies, media-level first */
    char pwd[FLOE_SDP_ICE_PWD_MAX + 1];
    bool ice2;              /* ice-options has "ice2" (RFC 8839 §4.2.1.5): RFC 8445 peer */
    bool trickle;           /* ice-options has "trickle" (RFC 8840) */
    bool lite;              /* session-level a=ice-lite (RFC 8839 §5.3) */
    uint32_t pacing_ms;     /* session-level a=ice-pacing as received; 0 when absent (and
                               for a=ice-pacing:0), UINT32_MAX for anything larger */
    bool end_of_candidates; /* a=end-of-candidates, session or media level (RFC 8840) */
    bool peer_mismatch;     /* the peer sent a=ice-mismatch: no ICE for this stream */

    floe_ice_cand cands[FLOE_SDP_ICE_MAX_CANDIDATES];
    size_t n_cands;
    size_t n_skipped; /* unsupported candidates ignored */
    floe_sdp_ice_remote remote[FLOE_SDP_ICE_MAX_REMOTE];
    size_t n_remote;

    /* Default destination (RFC 8839 §2): c= address with the m= port for component 1;
     * a=rtcp (RFC 3605), else the same address and port + 1, for component 2. */
    floe_addr default_rtp; /* FLOE_AF_NONE when c= holds a name */
    floe_addr default_rtcp;
    bool has_rtcp_attr;       /* a=rtcp was present */
    bool default_fqdn;        /* c= holds a domain name (§4.2.5: no mismatch) */
    bool default_placeholder; /* 0.0.0.0 or :: with port 9 (§4.2.5: no mismatch) */
    /* RFC 8839 §4.2.5: ICE is used and a default destination (RTP; RTCP when the
     * section has component-2 candidates) matches no candidate's address, port and
     * transport. Never set for port 0, names or the placeholder. An answerer then
     * writes a=ice-mismatch (or treats the default as a new candidate); an offerer
     * stops using ICE for the session. */
    bool mismatch;
} floe_sdp_ice_media;

/* Reads the ICE view of media section mi of sdp. Returns FLOE_OK, FLOE_ERR_MALFORMED
 * (err->line and err->reason say which line and why), FLOE_ERR_LIMIT (too many
 * candidates or remote candidates) or FLOE_ERR_INVAL (bad arguments). Bumps *stats when
 * given. A section without any ICE attribute is not an error: out->ice is false. */
int floe_sdp_ice_media_parse(const floe_sdp *sdp, size_t mi, floe_sdp_ice_media *out,
                             floe_sdp_ice_stats *stats, floe_sdp_error *err);

/* The Ta (ms) both agents use given their a=ice-pacing values (0 = absent): the larger
 * of the two, a side without the attribute counting as FLOE_SDP_ICE_PACING_DEFAULT
 * (RFC 8839 §5.5, RFC 8445 §14.2). So 50 ms is a floor only when a side sends none: two
 * agents announcing 20 and 30 use 30. The result is never below FLOE_SDP_ICE_PACING_MIN
 * (RFC 8445 §14.2: no agent paces faster than one transaction every 5 ms). */
uint32_t floe_sdp_ice_pacing(uint32_t local_ms, uint32_t remote_ms);

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct floe_sdp_ice_session {
    bool lite;          /* a=ice-lite */
    bool ice2;          /* "ice2" in a=ice-options (an RFC 8445 agent MUST send it) */
    bool trickle;       /* "trickle" in a=ice-options */
    uint32_t pacing_ms; /* a=ice-pacing (ms); 0 = leave out (the peer then assumes 50) */
} floe_sdp_ice_session;

/* Appends the session-level ICE attributes to s. FLOE_ERR_LIMIT when the attribute
 * list is full, FLOE_ERR_NOSPACE when the arena is. */
int floe_sdp_ice_session_write(floe_sdp *s, const floe_sdp_ice_session *opt, floe_sdp_arena *ar);

typedef struct floe_sdp_ice_local {
    const char *ufrag;          /* 4..32 ice-chars (RFC 8839 §5.4) */
    const char *pwd;            /* 22..256 ice-chars */
    const floe_ice_cand *cands; /* UDP candidates to list, in order */
    size_t n_cands;
    /* The default candidates (RFC 8839 §4.2.1.2), each equal in address to one of
     * cands with component 1 and 2. default_rtp NULL writes the "no candidate yet"
     * placeholder, IN IP4 0.0.0.0 (or IN IP6 :: with placeholder_v6) and port 9.
     * default_rtcp NULL writes no a=rtcp (RTCP on port + 1, or rtcp-mux). */
    const floe_ice_cand *default_rtp;
    const floe_ice_cand *default_rtcp;
    bool placeholder_v6;
    const floe_sdp_ice_remote *remote; /* a=remote-candidates (controlling, completed) */
    size_t n_remote;
    bool end_of_candidates; /* a=end-of-candidates: gathering is done (RFC 8840) */
    /* Answerer that detected a mismatch (RFC 8839 §4.2.5): write a=ice-mismatch and
     * no other ICE attribute; c=/m= still follow default_rtp when given. */
    bool mismatch;
} floe_sdp_ice_local;

/* Sets m's port and c= to the default candidate and appends the media-level ICE
 * attributes. FLOE_ERR_INVAL for bad credentials, a non-UDP candidate or a default that
 * is not among the candidates; FLOE_ERR_LIMIT when m's attribute list is full;
 * FLOE_ERR_NOSPACE when the arena is. Arguments are checked before m changes; after
 * FLOE_ERR_LIMIT or FLOE_ERR_NOSPACE m may hold some of the attributes. */
int floe_sdp_ice_media_write(floe_sdp_media *m, const floe_sdp_ice_local *l, floe_sdp_arena *ar);

/* The default candidate goes in c=/m= (RFC 8839 §4.2.1.2); RFC 5245 §4.1.4 recommended
 * relayed, then server-reflexive, then host candidates, the one most likely to work
 * with a peer that does not do ICE (RFC 8445 leaves the choice to the agent). Returns
 * the best UDP candidate of that component (peer-reflexive ranks between srflx and
 * host; ties go to the higher priority), or NULL. */
const floe_ice_cand *floe_sdp_ice_default_choose(const floe_ice_cand *cands, size_t n,
                                                 unsigned component);

#ifdef __cplusplus
}
#endif
#endif
