/* floe simulator runtime: an ICE peer on a simulated host.
 *
 * A floe_sim_ice is what `floe ice` is on a real machine, inside the simulator: one
 * floe_ice_agent (floe/ice.h) driven by a floe_sim_endpoint (the five-step loop), with
 *   - one UDP socket per address of every interface of its host and per component, bound
 *     to an ephemeral port, each registered as a host base (the socket index is the base);
 *   - server-reflexive candidates from the STUN servers of its config, relayed ones from
 *     its TURN servers (sim_turn_server.h runs one on a simulated host);
 *   - randomness from its own stream, derived from the world's seed and "ice/NAME"
 *     (floe_sim_rng_derive), so a run depends on nothing but the seed;
 *   - its offer or answer written with the real SDP code (floe/ice_sdp.h) and "signalled"
 *     to the other peer with a virtual delay; the peer parses it with the real parser and
 *     feeds the candidates to its agent;
 *   - a timeline of what happened, and optionally a media-like exchange once ICE
 *     completes: `data` datagrams on component 1's selected pair, which the other peer
 *     echoes, so a connected run proves that data flows.
 *
 * Signalling (floe_sim_ice_signal) follows offer/answer: the offerer's description leaves
 * when its gathering is done and arrives `delay` later; the answerer's leaves when it has
 * gathered and applied the offer, and arrives `delay` later. Each side starts its checks
 * once it has the other's description and has sent its own (the candidates are
 * exchanged, there is no trickle): the offerer when the answer arrives, the answerer
 * right after answering.
 *
 *   floe_sim_ice_config c;
 *   floe_sim_ice_config_default(&c);
 *   c.name = "alice"; c.host = alice_host; c.controlling = true;
 *   c.stun[0] = stun_addr; c.n_stun = 1;
 *   floe_sim_ice *a, *b;
 *   floe_sim_ice_new(sim, &c, &a);
 *   ... the same for bob (controlled) ...
 *   floe_sim_ice_signal(a, b, FLOE_MS(100));
 *   floe_sim_ice_start(a); floe_sim_ice_start(b);
 *   floe_sim_run_until(sim, FLOE_S(20));     // or until floe_sim_ice_done() of both
 *   floe_sim_ice_result(a)->sel_local[1] ...
 *   floe_sim_ice_free(a); floe_sim_ice_free(b);   // before floe_sim_free
 *
 * Everything is bounded: the timeline (FLOE_SIM_ICE_TIMELINE_MAX entries, the rest
 * counted), the description (FLOE_SIM_ICE_SDP_MAX bytes), the datagrams (at most
 * FLOE_SIM_ICE_DATA_MAX). */
#ifndef FLOE_SIM_ICE_H
#define FLOE_SIM_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/ice.h"
#include "floe/time.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_ICE_NAME_MAX 32
#define FLOE_SIM_ICE_TIMELINE_MAX 1024
#define FLOE_SIM_ICE_SDP_MAX 16384
#define FLOE_SIM_ICE_DATA_MAX 10000
#define FLOE_SIM_ICE_DATA_SIZE 172               /* a 20 ms PCMU packet with its RTP header */
#define FLOE_SIM_ICE_DATA_INTERVAL FLOE_MS(20)   /* one datagram per 20 ms, like audio */
#define FLOE_SIM_ICE_DATA_DRAIN FLOE_S(1)        /* echoes awaited after the last datagram */
#define FLOE_SIM_ICE_DATA_DRAIN_STREAM FLOE_S(3) /* ... by a peer with a TURN server over TCP */

typedef struct floe_sim_ice floe_sim_ice;

typedef struct floe_sim_ice_config {
    const char *name;    /* 1..FLOE_SIM_ICE_NAME_MAX-1 characters: output, random stream */
    floe_sim_host *host; /* its sockets go on every address of every interface */
    bool controlling;    /* the initial role */
    bool lite;           /* an ICE-lite agent (host candidates, no checks, controlled) */
    unsigned components; /* 1 or 2 */
    floe_addr stun[FLOE_ICE_MAX_STUN_SERVERS]; /* STUN servers (IP and port) */
    size_t n_stun;
    floe_ice_turn_server turn[FLOE_ICE_MAX_TURN_SERVERS]; /* TURN servers (relayed candidates) */
    size_t n_turn;
    floe_time_ns ta;    /* check pacing; 0 = FLOE_ICE_TA_DEFAULT */
    floe_time_ns start; /* virtual time when gathering begins (now or later) */
    unsigned data;      /* datagrams to send once ICE completes (0..FLOE_SIM_ICE_DATA_MAX) */
} floe_sim_ice_config;

/* Components 1, nothing else set. */
void floe_sim_ice_config_default(floe_sim_ice_config *c);

/* What the timeline records. */
typedef enum floe_sim_ice_what {
    FLOE_SIM_ICE_GATHER = 0,  /* gathering started (n: sockets) */
    FLOE_SIM_ICE_CANDIDATE,   /* a local candidate (local) */
    FLOE_SIM_ICE_GATHERED,    /* gathering done (n: candidates signalled) */
    FLOE_SIM_ICE_SDP_SENT,    /* our description left (n: bytes) */
    FLOE_SIM_ICE_SDP_APPLIED, /* the peer's description was applied (n: candidates) */
    FLOE_SIM_ICE_SDP_ERROR,   /* the peer's description was refused (text) */
    FLOE_SIM_ICE_CHECKS,      /* connectivity checks start (floe_ice_agent_start) */
    FLOE_SIM_ICE_ROLE,        /* our role changed (n: 1 controlling, 0 controlled) */
    FLOE_SIM_ICE_PAIR,        /* a pair changed state (pair_id, component, pair_state) */
    FLOE_SIM_ICE_SELECTED,    /* a component's selected pair (component, local, remote) */
    FLOE_SIM_ICE_COMPLETED,   /* every component has a selected pair */
    FLOE_SIM_ICE_FAILED,      /* ICE failed (text) */
    FLOE_SIM_ICE_CONSENT_LOST,
    FLOE_SIM_ICE_DATA_DONE, /* the data exchange ended (n: datagrams sent, n2: echoes) */
} floe_sim_ice_what;

typedef struct floe_sim_ice_entry {
    floe_time_ns at;
    floe_sim_ice_what what;
    unsigned component;
    unsigned pair_id;
    floe_ice_pair_state pair_state;
    uint64_t n, n2;
    floe_ice_cand local, remote;
    const char *text; /* a static sentence (FAILED), or the peer's last SDP error */
} floe_sim_ice_entry;

/* Called for every timeline entry as it happens (e.g. to print it between trace lines). */
typedef void (*floe_sim_ice_log_fn)(void *ctx, const floe_sim_ice *p, const floe_sim_ice_entry *e);

/* Where a peer stands (times are virtual, FLOE_TIME_NEVER when not reached). */
typedef struct floe_sim_ice_result {
    floe_ice_agent_state state;
    bool controlling; /* the role now */
    floe_time_ns t_start, t_gathered, t_sdp_sent, t_remote, t_completed, t_failed;
    const char *fail_reason;
    char sdp_error[200];                        /* why the peer's description was refused, or "" */
    bool have_sel[FLOE_ICE_MAX_COMPONENTS + 1]; /* index = component */
    floe_ice_cand sel_local[FLOE_ICE_MAX_COMPONENTS + 1];
    floe_ice_cand sel_remote[FLOE_ICE_MAX_COMPONENTS + 1];
    floe_time_ns t_selected[FLOE_ICE_MAX_COMPONENTS + 1];
    size_t n_local_cands;  /* signalled candidates (after gathering) */
    size_t n_srflx;        /* of which server-reflexive */
    size_t n_relay;        /* of which relayed */
    size_t n_remote_cands; /* the peer's, taken by the agent */
    /* the data exchange */
    unsigned data_sent, echoes; /* ours, and their echoes (distinct sequence numbers) */
    unsigned echoed;            /* the peer's datagrams we sent back */
    unsigned data_send_errors;  /* no data path (consent lost) or no route */
    bool data_done;
    uint64_t timeline_dropped; /* entries beyond FLOE_SIM_ICE_TIMELINE_MAX */
    /* TURN over TCP (the agent's stream bases, one simulated TCP connection each) */
    unsigned relay_streams_lost; /* connections that failed, closed or could not be framed */
    unsigned stream_send_errors; /* messages for a connection that was gone or full */
} floe_sim_ice_result;

/* Creates the agent and opens its sockets (nothing runs until floe_sim_ice_start).
 * FLOE_ERR_INVAL (no name or host, bad components or data), FLOE_ERR_NOT_FOUND (the host
 * has no address), the agent's and the sockets' errors, FLOE_ERR_NOMEM. */
int floe_sim_ice_new(floe_sim *sim, const floe_sim_ice_config *cfg, floe_sim_ice **out);
/* Frees the peer (sockets, timers, agent). Before floe_sim_free. NULL ok. */
void floe_sim_ice_free(floe_sim_ice *p);

/* Pairs two peers for offer/answer (see above). Each peer signals with one other peer.
 * FLOE_ERR_INVAL (the same peer twice), FLOE_ERR_STATE (already signalled). */
int floe_sim_ice_signal(floe_sim_ice *offerer, floe_sim_ice *answerer, floe_time_ns delay);
/* Arms gathering for cfg.start. FLOE_ERR_STATE when called twice. */
int floe_sim_ice_start(floe_sim_ice *p);
void floe_sim_ice_set_log(floe_sim_ice *p, floe_sim_ice_log_fn fn, void *ctx);

/* Done: ICE failed, or it completed and the data exchange (if any) is over. */
bool floe_sim_ice_done(const floe_sim_ice *p);
const floe_sim_ice_result *floe_sim_ice_result_get(const floe_sim_ice *p);
/* The agent's counters (checks sent, ...). */
void floe_sim_ice_stats(const floe_sim_ice *p, floe_ice_stats *out);
const char *floe_sim_ice_name(const floe_sim_ice *p);
floe_sim_ice *floe_sim_ice_peer(const floe_sim_ice *p); /* the signalling peer, or NULL */
bool floe_sim_ice_is_offerer(const floe_sim_ice *p);
const floe_sim_ice_config *floe_sim_ice_config_get(const floe_sim_ice *p);
/* Our description as last written ("" before gathering is done). */
const char *floe_sim_ice_local_sdp(const floe_sim_ice *p);

size_t floe_sim_ice_timeline_count(const floe_sim_ice *p);
const floe_sim_ice_entry *floe_sim_ice_timeline_at(const floe_sim_ice *p, size_t i);
/* One line without newline, e.g.
 *   "0.145210000 bob: sdp from alice applied (2 candidates)"
 *   "0.391000000 alice: pair 2 component 1 succeeded"
 *   "0.402000000 alice: selected component 1 srflx 203.0.113.1:49152 -> srflx
 *    198.51.100.1:49152"
 * Returns the length (truncated to cap - 1). */
size_t floe_sim_ice_entry_format(const floe_sim_ice *p, const floe_sim_ice_entry *e, char *buf,
                                 size_t cap);
/* An address as the simulator's output writes it: "IP:PORT" ("[IPv6]:PORT"), or "none"
 * when unset. Returns buf. */
const char *floe_sim_ice_addr_text(const floe_addr *a, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
