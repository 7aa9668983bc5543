/* floe: the ICE agent (RFC 8445), sans-IO, with consent freshness (RFC 7675).
 *
 * The agent never touches a socket or a clock. The runtime opens one UDP socket per
 * local host address and component, tells the agent about it (a "base"), and then runs
 * the five-step loop every runtime in floe runs:
 *
 *   1. feed what arrived:   floe_ice_agent_on_recv(a, now, base, from, bytes, len, &info)
 *                            (STUN is consumed; anything else is application data and
 *                            `info` says for which stream and component)
 *   2. tick if due:          floe_ice_agent_tick(a, now)  when now >= floe_ice_agent_deadline(a)
 *   3. drain sends:          while (floe_ice_agent_next_send(a, now, buf, cap, &len, &base, &to) ==
 * FLOE_OK) send buf from the socket of `base` to `to`
 *   4. drain events:         while (floe_ice_agent_next_event(a, &ev)) ...
 *   5. re-arm the timer for floe_ice_agent_deadline(a)
 *
 * Application data goes out on floe_ice_agent_data_path(), which only answers while the
 * selected pair has consent (RFC 7675): when consent is lost, data must stop.
 *
 * Typical offerer (controlling) flow:
 *   floe_ice_agent_new(&a, &cfg);                    // cfg.controlling = true
 *   floe_ice_agent_add_host(a, 0, 1, &bound, "eth0", &base);   // per socket
 *   floe_ice_agent_gather(a, now);                   // host now, srflx via STUN servers
 *   ... FLOE_ICE_EV_GATHERING_DONE -> read floe_ice_agent_local_candidates(), write SDP
 *   floe_ice_agent_set_remote_credentials(a, 0, ufrag, pwd);
 *   floe_ice_agent_add_remote_candidate(a, 0, &cand);  // per a=candidate
 *   floe_ice_agent_start(a, now);                    // checks begin
 *   ... FLOE_ICE_EV_SELECTED per component, then FLOE_ICE_EV_COMPLETED
 */
#ifndef FLOE_ICE_H
#define FLOE_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/ice_cand.h"
#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ------------------------------------------------------------------- */

#define FLOE_ICE_TA_DEFAULT FLOE_MS(50)     /* RFC 8445 §14.2: Ta, check pacing */
#define FLOE_ICE_TA_MIN FLOE_MS(5)          /* RFC 8445 §14.2: Ta lower bound */
#define FLOE_ICE_RTO_MIN FLOE_MS(500)       /* RFC 8445 §14.3: check RTO floor */
#define FLOE_ICE_TR_DEFAULT FLOE_S(15)      /* RFC 8445 §11: keepalive Tr */
#define FLOE_ICE_CONSENT_INTERVAL FLOE_S(5) /* RFC 7675 §5.1: check every 5 s ... */
#define FLOE_ICE_CONSENT_JITTER_PCT 20      /* RFC 7675 §5.1: ... +-20 % randomised */
#define FLOE_ICE_CONSENT_TIMEOUT FLOE_S(30) /* RFC 7675 §5.1: consent expires */
#define FLOE_ICE_MAX_PAIRS_DEFAULT 100      /* RFC 8445 §6.1.2.5: checklist cap */
#define FLOE_ICE_UFRAG_LEN 8                /* >= 4 ice-chars (RFC 8445 §5.3) */
#define FLOE_ICE_PWD_LEN 24                 /* >= 22 ice-chars (RFC 8445 §5.3) */
#define FLOE_ICE_MAX_STREAMS 8
#define FLOE_ICE_MAX_BASES 32  /* local sockets over all streams */
#define FLOE_ICE_MAX_LOCAL 64  /* local candidates over all streams */
#define FLOE_ICE_MAX_REMOTE 64 /* remote candidates over all streams */
#define FLOE_ICE_MAX_STUN_SERVERS 4
#define FLOE_ICE_MAX_PREFER_IFACES 4
#define FLOE_ICE_IFNAME_MAX 16

/* ---- configuration --------------------------------------------------------------- */

typedef struct floe_ice_config {
    bool controlling;   /* initial role (RFC 8445 §6.1.1: the offerer, usually) */
    bool lite;          /* act as an ICE-lite agent (RFC 8445 §2.5) */
    unsigned n_streams; /* 1..FLOE_ICE_MAX_STREAMS */
    unsigned components[FLOE_ICE_MAX_STREAMS]; /* 1 or 2 per stream (0 = 1) */
    floe_time_ns ta;        /* 0 = FLOE_ICE_TA_DEFAULT; never below FLOE_ICE_TA_MIN */
    unsigned max_pairs;     /* 0 = FLOE_ICE_MAX_PAIRS_DEFAULT */
    bool consent;           /* RFC 7675 consent freshness; set true by _config_default */
    floe_time_ns keepalive; /* 0 = FLOE_ICE_TR_DEFAULT */
    floe_addr stun_servers[FLOE_ICE_MAX_STUN_SERVERS]; /* for server-reflexive candidates */
    size_t n_stun_servers;
    /* Interfaces to prefer, most preferred first (e.g. a VPN "wg0"): their candidates get
     * a higher local preference (RFC 8445 §5.1.2.1). Others follow in the order added. */
    char prefer_ifaces[FLOE_ICE_MAX_PREFER_IFACES][FLOE_ICE_IFNAME_MAX];
    size_t n_prefer_ifaces;
    bool gather_link_local; /* keep fe80::/10 and 169.254/16 host candidates */
    /* Random bytes (credentials, tie-breaker, transaction IDs); floe_rt_random fits. */
    int (*rand)(void *ctx, void *buf, size_t len);
    void *rand_ctx;
} floe_ice_config;

/* Defaults: controlled, full agent, one stream with one component, consent on. */
void floe_ice_config_default(floe_ice_config *c);

/* ---- states and events ----------------------------------------------------------- */

typedef enum floe_ice_agent_state {
    FLOE_ICE_AGENT_NEW = 0,   /* created; bases may be added */
    FLOE_ICE_AGENT_GATHERING, /* host candidates out, server-reflexive pending */
    FLOE_ICE_AGENT_GATHERED,  /* gathering done; waiting for the remote side / start */
    FLOE_ICE_AGENT_CHECKING,  /* connectivity checks running */
    FLOE_ICE_AGENT_COMPLETED, /* every component has a selected pair */
    FLOE_ICE_AGENT_FAILED,    /* a component can no longer get a pair (or consent lost) */
} floe_ice_agent_state;

/* RFC 8445 §6.1.2.6 pair states. */
typedef enum floe_ice_pair_state {
    FLOE_ICE_PAIR_FROZEN = 0,
    FLOE_ICE_PAIR_WAITING,
    FLOE_ICE_PAIR_IN_PROGRESS,
    FLOE_ICE_PAIR_SUCCEEDED,
    FLOE_ICE_PAIR_FAILED,
} floe_ice_pair_state;

typedef enum floe_ice_event_type {
    FLOE_ICE_EV_NONE = 0,
    FLOE_ICE_EV_CANDIDATE,      /* a local candidate was gathered (cand, stream) */
    FLOE_ICE_EV_GATHERING_DONE, /* every local candidate is known */
    FLOE_ICE_EV_PAIR_STATE,     /* a pair changed state (pair_id, pair_state, stream, component) */
    FLOE_ICE_EV_SELECTED, /* a component has its selected pair (stream, component, local, remote) */
    FLOE_ICE_EV_COMPLETED,    /* all components selected */
    FLOE_ICE_EV_FAILED,       /* ICE failed (reason) */
    FLOE_ICE_EV_CONSENT_LOST, /* consent expired on a selected pair: stop sending (stream,
                                 component) */
    FLOE_ICE_EV_ROLE_CHANGED, /* a role conflict (487) switched our role (controlling) */
} floe_ice_event_type;

typedef struct floe_ice_event {
    floe_ice_event_type type;
    unsigned stream;
    unsigned component;
    floe_ice_cand local;  /* CANDIDATE: the candidate; SELECTED: the local one */
    floe_ice_cand remote; /* SELECTED: the remote one */
    unsigned pair_id;     /* PAIR_STATE */
    floe_ice_pair_state pair_state;
    bool controlling;   /* ROLE_CHANGED: the new role */
    const char *reason; /* FAILED: a static English sentence */
    floe_time_ns at;    /* when it happened */
} floe_ice_event;

/* ---- lifetime -------------------------------------------------------------------- */

typedef struct floe_ice_agent floe_ice_agent;

/* Allocates an agent (the only allocation it ever makes) with random credentials and
 * tie-breaker. FLOE_ERR_INVAL for a bad config (no rand, 0 or too many streams, ...). */
int floe_ice_agent_new(floe_ice_agent **out, const floe_ice_config *cfg);
void floe_ice_agent_free(floe_ice_agent *a);

/* ---- local side ------------------------------------------------------------------ */

/* Registers a local socket for (stream, component) bound to `bound` (a host address
 * with its port) on interface ifname (may be NULL). *base gets the id the agent will use
 * in next_send and expects in on_recv. Link-local addresses are refused
 * (FLOE_ERR_UNSUPPORTED) unless cfg.gather_link_local; FLOE_ERR_LIMIT past the caps;
 * FLOE_ERR_STATE once gathering has started. */
int floe_ice_agent_add_host(floe_ice_agent *a, unsigned stream, unsigned component,
                            const floe_addr *bound, const char *ifname, unsigned *base);
/* Starts gathering: host candidates at once (FLOE_ICE_EV_CANDIDATE), server-reflexive
 * ones from each STUN server of a matching family; FLOE_ICE_EV_GATHERING_DONE when all
 * are known. A relayed candidate (TURN, later) enters through the same events. */
int floe_ice_agent_gather(floe_ice_agent *a, floe_time_ns now);
/* Local credentials (NUL-terminated, valid for the agent's life or until restart). */
const char *floe_ice_agent_local_ufrag(const floe_ice_agent *a);
const char *floe_ice_agent_local_pwd(const floe_ice_agent *a);
/* Copies up to max local candidates of a stream (after redundancy pruning, highest
 * priority first) into out; returns how many there are in all. */
size_t floe_ice_agent_local_candidates(const floe_ice_agent *a, unsigned stream, floe_ice_cand *out,
                                       size_t max);
/* The default candidate of a component for c=/m= (RFC 8839 §4.2.1.2): relay, else
 * srflx, else the best host. FLOE_ERR_NOT_FOUND before gathering. */
int floe_ice_agent_default_candidate(const floe_ice_agent *a, unsigned stream, unsigned component,
                                     floe_ice_cand *out);

/* ---- remote side ----------------------------------------------------------------- */

int floe_ice_agent_set_remote_credentials(floe_ice_agent *a, unsigned stream, const char *ufrag,
                                          const char *pwd);
/* Adds a remote candidate (from SDP or trickled). FLOE_ERR_LIMIT past the cap (counted),
 * FLOE_ERR_INVAL for a bad one (component out of range, no address). */
int floe_ice_agent_add_remote_candidate(floe_ice_agent *a, unsigned stream, const floe_ice_cand *c);
/* The peer said it is an ICE-lite agent (a=ice-lite): we must be controlling. */
void floe_ice_agent_set_remote_lite(floe_ice_agent *a, bool lite);
/* Starts connectivity checks (after remote credentials and candidates are in). */
int floe_ice_agent_start(floe_ice_agent *a, floe_time_ns now);
/* ICE restart (RFC 8445 §9): new local credentials, remote ones to be set again;
 * candidates are kept, pairs and checks start over, selected pairs stay usable for data
 * until new ones are selected. */
int floe_ice_agent_restart(floe_ice_agent *a, floe_time_ns now);

/* ---- the loop -------------------------------------------------------------------- */

typedef enum floe_ice_recv_kind {
    FLOE_ICE_RECV_STUN = 0, /* consumed by the agent */
    FLOE_ICE_RECV_DATA,     /* application data (RTP/RTCP, ...) for stream/component */
    FLOE_ICE_RECV_DROPPED,  /* unusable (malformed STUN, unknown base, bad integrity): counted */
} floe_ice_recv_kind;

typedef struct floe_ice_recv_info {
    floe_ice_recv_kind kind;
    unsigned stream, component;
} floe_ice_recv_info;

/* Feeds one datagram received on socket `base` from `from` (RFC 7983 demultiplexing:
 * first byte 0..3 is STUN). */
int floe_ice_agent_on_recv(floe_ice_agent *a, floe_time_ns now, unsigned base,
                           const floe_addr *from, const uint8_t *p, size_t len,
                           floe_ice_recv_info *info);
/* Runs timers: pacing, retransmissions, nomination, keepalives, consent. */
void floe_ice_agent_tick(floe_ice_agent *a, floe_time_ns now);
/* Next datagram to send: from socket *base to *to. FLOE_ERR_NOT_FOUND when none. */
int floe_ice_agent_next_send(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap,
                             size_t *len, unsigned *base, floe_addr *to);
/* When tick must next run, or FLOE_TIME_NEVER. */
floe_time_ns floe_ice_agent_deadline(const floe_ice_agent *a);
/* Pops the oldest event; false when there is none. */
bool floe_ice_agent_next_event(floe_ice_agent *a, floe_ice_event *ev);

/* Where application data for a component goes: the selected pair's base and remote
 * address. FLOE_ERR_STATE when there is no selected pair or consent was lost. */
int floe_ice_agent_data_path(const floe_ice_agent *a, unsigned stream, unsigned component,
                             unsigned *base, floe_addr *to);

floe_ice_agent_state floe_ice_agent_get_state(const floe_ice_agent *a);
bool floe_ice_agent_is_controlling(const floe_ice_agent *a);
const char *floe_ice_agent_state_name(floe_ice_agent_state s);
const char *floe_ice_pair_state_name(floe_ice_pair_state s);

/* Counters: every dropped input and every cap hit is counted. */
typedef struct floe_ice_stats {
    uint64_t checks_sent; /* connectivity-check requests, retransmissions included */
    uint64_t checks_received;
    uint64_t responses_sent;
    uint64_t triggered_checks;
    uint64_t nominations;
    uint64_t consent_checks;
    uint64_t role_conflicts;
    uint64_t drop_malformed;    /* STUN that does not decode */
    uint64_t drop_integrity;    /* wrong or missing MESSAGE-INTEGRITY */
    uint64_t drop_unknown_user; /* USERNAME not ours */
    uint64_t drop_unmatched;    /* responses to no transaction */
    uint64_t drop_unknown_base;
    uint64_t cap_pairs;      /* pairs not formed because of max_pairs */
    uint64_t cap_candidates; /* candidates refused because of the caps */
    uint64_t data_received;
} floe_ice_stats;

void floe_ice_agent_get_stats(const floe_ice_agent *a, floe_ice_stats *out);

#ifdef __cplusplus
}
#endif
#endif
