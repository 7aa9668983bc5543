/* `floe ice`: the SDP side of the peer (ice_peer_sdp.c). Our offer/answer is printed from
 * the agent's credentials and candidates; the peer's is parsed and fed to the agent. Both
 * go through floe's SDP module; this is only the glue between it and the agent. */
#ifndef FLOE_APP_ICE_PEER_H
#define FLOE_APP_ICE_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include "floe/ice.h"

/* Largest SDP file read or written. */
#define ICE_PEER_SDP_MAX 65536
#define ICE_PEER_NOTES 8
#define ICE_PEER_NOTE_LEN 200
/* The media every floe ice SDP carries, and the one libnice's peer names its stream. */
#define ICE_PEER_MEDIA "audio"

/* What ice_peer_sdp_apply found in the remote SDP. */
typedef struct ice_peer_remote {
    char ufrag[257];
    size_t candidates;       /* added to the agent */
    bool lite;               /* a=ice-lite */
    bool skipped;            /* some candidate lines were not used (notes say why) */
    unsigned ta_ms;          /* the Ta the agent now uses: the larger of ours and theirs */
    unsigned peer_pacing_ms; /* the peer's a=ice-pacing, 0 when it sent none */
    char notes[ICE_PEER_NOTES][ICE_PEER_NOTE_LEN];
    size_t n_notes;
} ice_peer_remote;

/* Prints a complete session description for stream 0 of agent a (after gathering): v=,
 * o=, s=, t=, one "m=audio PORT RTP/AVP 0" media section whose port and c= line are the
 * default candidate of component 1 (a=rtcp names component 2's when there are two),
 * a=ice-ufrag, a=ice-pwd, one a=candidate per local candidate, a=end-of-candidates,
 * a=ice-lite for a lite agent, and a=ice-pacing when the agent's Ta is not 50 ms. Writes
 * *len bytes into out. Returns FLOE_OK, or an error with a sentence in err. */
int ice_peer_sdp_write(const floe_ice_agent *a, unsigned components, bool lite, char *out,
                       size_t cap, size_t *len, char *err, size_t errcap);

/* Parses the remote SDP text and gives stream 0 of agent a its credentials, ICE-lite flag
 * and candidates (components above `components` and unusable candidates are skipped and
 * noted), and sets the agent's Ta to the larger of its own and the peer's a=ice-pacing
 * (RFC 8839 section 5.5). Returns FLOE_OK, or an error with a sentence in err: the
 * parser's line and reason, or what is missing (no media section, no
 * a=ice-ufrag/ice-pwd, no candidate). */
int ice_peer_sdp_apply(floe_ice_agent *a, const char *text, size_t len, unsigned components,
                       ice_peer_remote *info, char *err, size_t errcap);

#endif
