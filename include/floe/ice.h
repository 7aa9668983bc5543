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
 * How it behaves (docs/adr/0005 has the reasons):
 *   - checks: one new transaction per Ta over all checklists (triggered ones first), each
 *     retransmitted with RTO = MAX(500 ms, Ta x (Waiting + In-Progress pairs)) and
 *     FLOE_ICE_CHECK_RC requests (with max_pairs above FLOE_ICE_MAX_CHECKS, a check can
 *     wait for a transaction slot); a pair whose check gets no answer fails after 9.5 s;
 *     a pair whose answer came from another address than the check went to fails and is
 *     not revived by the peer's checks (docs/adr/0006);
 *   - nomination (controlling side, regular): the best valid pair of a component, at once
 *     when no better pair can still succeed, else after at most FLOE_ICE_NOMINATE_WAIT_MAX;
 *   - a component with no pair left to try fails the agent (FLOE_ICE_EV_FAILED with a
 *     sentence naming the stream and component); a component that never got a pair fails
 *     after the time one check takes; on the controlled side, a component whose valid
 *     pairs were not nominated fails FLOE_ICE_CONTROLLED_WAIT after the first one;
 *   - consent: a request every 4..6 s on each selected pair, lost after 30 s without an
 *     authenticated answer (FLOE_ICE_EV_CONSENT_LOST, then FAILED);
 *   - ICE-lite (cfg.lite): host candidates only, always controlled, no checks, answers
 *     checks and selects on USE-CANDIDATE, sends keepalives but no consent requests.
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
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ------------------------------------------------------------------- */

#define FLOE_ICE_TA_DEFAULT FLOE_MS(50)     /* RFC 8445 §14.2: Ta, check pacing */
#define FLOE_ICE_TA_MIN FLOE_MS(5)          /* RFC 8445 §14.2: Ta lower bound */
#define FLOE_ICE_TA_MAX FLOE_S(1)           /* floe: Ta upper bound (see set_pacing) */
#define FLOE_ICE_RTO_MIN FLOE_MS(500)       /* RFC 8445 §14.3: check RTO floor */
#define FLOE_ICE_TR_DEFAULT FLOE_S(15)      /* RFC 8445 §11: keepalive Tr */
#define FLOE_ICE_CONSENT_INTERVAL FLOE_S(5) /* RFC 7675 §5.1: check every 5 s ... */
#define FLOE_ICE_CONSENT_JITTER_PCT 20      /* RFC 7675 §5.1: ... +-20 % randomised */
#define FLOE_ICE_CONSENT_TIMEOUT FLOE_S(30) /* RFC 7675 §5.1: consent expires */
#define FLOE_ICE_MAX_PAIRS_DEFAULT 100      /* RFC 8445 §6.1.2.5: checklist cap */
#define FLOE_ICE_MAX_PAIRS_LIMIT 1000       /* floe: largest max_pairs accepted */
#define FLOE_ICE_UFRAG_LEN 8                /* >= 4 ice-chars (RFC 8445 §5.3) */
#define FLOE_ICE_PWD_LEN 24                 /* >= 22 ice-chars (RFC 8445 §5.3) */
#define FLOE_ICE_MAX_STREAMS 8
#define FLOE_ICE_MAX_BASES 32  /* local sockets and relayed addresses (and at most max_local) */
#define FLOE_ICE_MAX_LOCAL 64  /* local candidates over all streams (default and largest cap) */
#define FLOE_ICE_MAX_REMOTE 64 /* remote candidates over all streams (default and largest cap) */
#define FLOE_ICE_MAX_STUN_SERVERS 4
#define FLOE_ICE_MAX_TURN_SERVERS 2
#define FLOE_ICE_MAX_RELAYS 16 /* TURN allocations: (host base, TURN server) combinations */
#define FLOE_ICE_MAX_PREFER_IFACES 4
#define FLOE_ICE_IFNAME_MAX 16
#define FLOE_ICE_MAX_EVENTS 32 /* events waiting to be pulled (see next_event) */
/* Check transactions the agent can hold: one per pair (and two more) up to this many. A
 * check never waits for one unless max_pairs is larger (stats.cap_checks); docs/adr/0008. */
#define FLOE_ICE_MAX_CHECKS 255
/* Longest remote ufrag and password floe keeps. RFC 8839 §5.4 allows up to 256
 * ice-chars; deployed agents use 4..32. Longer ones are refused with FLOE_ERR_LIMIT. */
#define FLOE_ICE_REMOTE_CRED_MAX 128
/* A send buffer of this size always holds what next_send writes (TURN requests with
 * credentials included). */
#define FLOE_ICE_SEND_MAX 1280

/* Transaction schedules (RFC 8489 §6.2.1 Rc/Rm, chosen by floe; docs/adr/0005). */
#define FLOE_ICE_CHECK_RC 5  /* check requests sent in all: at 0, 1, 3, 7, 15 RTO */
#define FLOE_ICE_CHECK_RM 4  /* then wait 4 RTO: 9.5 s with the 500 ms floor */
#define FLOE_ICE_GATHER_RC 3 /* server-reflexive requests: at 0, 0.5, 1.5 s ... */
#define FLOE_ICE_GATHER_RM 2 /* ... and give up at 2.5 s (RTO 500 ms, RFC 8445 §14.3) */
/* A TURN allocation (its 401 round included) must succeed this long after it starts, or
 * the server gives no relayed candidate: gathering waits for it, so an unreachable
 * server must not hold it for RFC 8489's 39.5 s. */
#define FLOE_ICE_RELAY_TIMEOUT FLOE_S(5)
/* The same for a TURN server over TCP or TLS, counted from the first message for it: the
 * connection's own handshake retransmits its SYN at 1, 3 and 7 s (RFC 6298) before any
 * TURN message can leave, and where UDP is blocked this is the only candidate. */
#define FLOE_ICE_RELAY_TIMEOUT_STREAM FLOE_S(10)
#define FLOE_ICE_CONSENT_RC 4 /* consent requests: at 0, 0.5, 1.5, 3.5 s ... */
#define FLOE_ICE_CONSENT_RM 1 /* ... over after 4 s, before the next one is due */
/* Regular nomination (RFC 8445 §8.1.1): the controlling agent waits for better pairs at
 * most clamp(4 x RTT of the first valid pair, 2 x Ta, FLOE_ICE_NOMINATE_WAIT_MAX). */
#define FLOE_ICE_NOMINATE_RTT_FACTOR 4
#define FLOE_ICE_NOMINATE_WAIT_MAX FLOE_MS(500)
/* Controlled side: a component with valid pairs fails when no nomination came this long
 * after its first valid pair. RFC 8445 leaves the wait open; this allows the controlling
 * agent a whole check to get its own valid pair (9.5 s), its wait for better pairs and a
 * whole nomination check (9.5 s). */
#define FLOE_ICE_CONTROLLED_WAIT FLOE_MS(19500)

/* ---- pacing shared between agents ------------------------------------------------- */

/* RFC 8445 §14.2: all the transactions of all the agents of a process must not start
 * more often than once every 5 ms. Agents that share one floe_ice_pacer (through
 * floe_ice_config.pacer) respect its spacing on top of their own Ta. Zero-initialise it;
 * `interval` 0 means FLOE_ICE_TA_MIN (set it to a larger value for a global Ta). The agents
 * sharing it must be driven from one thread. */
typedef struct floe_ice_pacer {
    floe_time_ns last;     /* when the last transaction started through this pacer */
    uint64_t started;      /* transactions started through it (0: `last` is unset) */
    floe_time_ns interval; /* minimum spacing; 0 = FLOE_ICE_TA_MIN */
} floe_ice_pacer;

/* ---- configuration --------------------------------------------------------------- */

/* A TURN server for relayed candidates (RFC 8445 §5.1.1.2, RFC 8656), reached from each
 * host base of the same family: over UDP through the host base's socket, or over TCP or
 * TLS (RFC 8656 §3.1, for networks that let no UDP out) through a stream base, a
 * connection the runtime opens for the agent (see floe_ice_agent_stream). The relayed
 * address is UDP either way. The strings must stay valid for the agent's life
 * (server_name is read by the runtime when it opens a TLS connection). */
typedef struct floe_ice_turn_server {
    floe_addr addr;
    const char *username;
    const char *password;
    floe_transport transport; /* FLOE_TRANSPORT_UDP (0, the default), _TCP or _TLS */
    const char *server_name;  /* TLS: the name to verify, or NULL */
} floe_ice_turn_server;

typedef struct floe_ice_config {
    bool controlling;   /* initial role (RFC 8445 §6.1.1: the offerer, usually) */
    bool lite;          /* act as an ICE-lite agent (RFC 8445 §2.5) */
    unsigned n_streams; /* 1..FLOE_ICE_MAX_STREAMS */
    unsigned components[FLOE_ICE_MAX_STREAMS]; /* 1 or 2 per stream (0 = 1) */
    floe_time_ns ta;     /* 0 = FLOE_ICE_TA_DEFAULT; kept within FLOE_ICE_TA_MIN..FLOE_ICE_TA_MAX
                            (floe_ice_agent_set_pacing changes it before the checks start) */
    unsigned max_pairs;  /* 0 = FLOE_ICE_MAX_PAIRS_DEFAULT; at most FLOE_ICE_MAX_PAIRS_LIMIT */
    unsigned max_local;  /* 0 = FLOE_ICE_MAX_LOCAL (also the largest value) */
    unsigned max_remote; /* 0 = FLOE_ICE_MAX_REMOTE (also the largest value) */
    /* Controlled side: how long valid pairs wait for a nomination before the component
     * fails; 0 = FLOE_ICE_CONTROLLED_WAIT. A callee that rings before the caller can
     * nominate (an answer in the 200) waits longer: the user answers first. */
    floe_time_ns nomination_wait;
    bool consent;           /* RFC 7675 consent freshness; set true by _config_default */
    floe_time_ns keepalive; /* 0 = FLOE_ICE_TR_DEFAULT */
    floe_addr stun_servers[FLOE_ICE_MAX_STUN_SERVERS]; /* for server-reflexive candidates */
    size_t n_stun_servers;
    floe_ice_turn_server turn_servers[FLOE_ICE_MAX_TURN_SERVERS]; /* for relayed candidates */
    size_t n_turn_servers;
    /* Interfaces to prefer, most preferred first (e.g. a VPN "wg0"): their candidates get
     * a higher local preference (RFC 8445 §5.1.2.1). Others follow in the order added. */
    char prefer_ifaces[FLOE_ICE_MAX_PREFER_IFACES][FLOE_ICE_IFNAME_MAX];
    size_t n_prefer_ifaces;
    bool gather_link_local; /* keep fe80::/10 and 169.254/16 host candidates */
    /* Random bytes (credentials, tie-breaker, transaction IDs, consent jitter);
     * floe_rt_random fits. */
    int (*rand)(void *ctx, void *buf, size_t len);
    void *rand_ctx;
    /* A pacer shared with other agents of the process, or NULL (see floe_ice_pacer). */
    floe_ice_pacer *pacer;
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
    FLOE_ICE_AGENT_FAILED,    /* a component can no longer get a pair (or consent lost);
                                 a restart starts over */
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
    FLOE_ICE_EV_ROLE_CHANGED, /* our role changed (controlling): a role conflict
                                 (RFC 8445 §7.3.1.1, §7.2.5.1) or set_remote_lite */
} floe_ice_event_type;

typedef struct floe_ice_event {
    floe_ice_event_type type;
    unsigned stream;
    unsigned component;
    floe_ice_cand local;  /* CANDIDATE: the candidate; SELECTED: the local one (peer-
                             reflexive when the peer saw another address than ours) */
    floe_ice_cand remote; /* SELECTED: the remote one */
    unsigned pair_id;     /* PAIR_STATE */
    floe_ice_pair_state pair_state;
    bool controlling;   /* ROLE_CHANGED: the new role */
    const char *reason; /* FAILED: a static English sentence */
    floe_time_ns at;    /* when it happened */
} floe_ice_event;

/* ---- lifetime -------------------------------------------------------------------- */

typedef struct floe_ice_agent floe_ice_agent;

/* Allocates an agent (the only allocation it ever makes: floe_ice_agent_memory(cfg)
 * bytes) with random credentials and tie-breaker. FLOE_ERR_INVAL for a bad config (no
 * rand, 0 or too many streams, caps above their limits, a lite agent set controlling, a
 * keepalive below 15 s, RFC 8445 §11, a TURN server without address or port, with a
 * username but no password, or over DTLS); FLOE_ERR_CRYPTO when rand fails. */
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
 * ones from each STUN server of a matching family (paced by Ta, FLOE_ICE_GATHER_RC
 * requests each); FLOE_ICE_EV_GATHERING_DONE when all are known. A server-reflexive
 * address equal to the host one is redundant and not reported (RFC 8445 §5.1.3).
 * Relayed candidates: one TURN allocation (floe/turn.h) from each host base to each TURN
 * server of the same family, paced like the rest; the agent keeps the allocations
 * refreshed, creates a permission for every remote candidate paired with a relayed one
 * and binds a channel for a selected relayed pair. Their traffic goes through the host
 * base's socket to the TURN server (next_send says so), or through a stream base for a
 * server over TCP or TLS, and what the server relays back arrives there too (on_recv
 * unwraps it). A TURN server that fails gives no candidate.
 * The TURN clients are the agent's only allocations besides itself (about 20 KB each).
 * FLOE_ERR_STATE when called twice or without a base. */
int floe_ice_agent_gather(floe_ice_agent *a, floe_time_ns now);
/* Local credentials (NUL-terminated, valid for the agent's life or until restart). */
const char *floe_ice_agent_local_ufrag(const floe_ice_agent *a);
const char *floe_ice_agent_local_pwd(const floe_ice_agent *a);
/* Copies up to max local candidates of a stream (after redundancy pruning, highest
 * priority first; peer-reflexive ones are not signalled) into out; returns how many there
 * are in all. Foundations are small decimal numbers. */
size_t floe_ice_agent_local_candidates(const floe_ice_agent *a, unsigned stream, floe_ice_cand *out,
                                       size_t max);
/* The default candidate of a component for c=/m= (RFC 8839 §4.2.1.2): relay, else
 * srflx, else the best host. FLOE_ERR_NOT_FOUND before gathering. */
int floe_ice_agent_default_candidate(const floe_ice_agent *a, unsigned stream, unsigned component,
                                     floe_ice_cand *out);

/* ---- remote side ----------------------------------------------------------------- */

/* The peer's ufrag and password for a stream (a=ice-ufrag, a=ice-pwd). FLOE_ERR_LIMIT
 * above FLOE_ICE_REMOTE_CRED_MAX, FLOE_ERR_INVAL for empty ones or characters that cannot
 * go into USERNAME (':', spaces, controls). Checks of a stream go out only once these
 * are known. */
int floe_ice_agent_set_remote_credentials(floe_ice_agent *a, unsigned stream, const char *ufrag,
                                          const char *pwd);
/* Adds a remote candidate (from SDP or trickled; after start it is paired at once).
 * The same address again is ignored, except that it replaces a peer-reflexive candidate
 * learnt from a check. FLOE_ERR_LIMIT past the cap (counted), FLOE_ERR_INVAL for a bad one
 * (component out of range, no address or port, priority 0, no foundation),
 * FLOE_ERR_UNSUPPORTED for TCP. */
int floe_ice_agent_add_remote_candidate(floe_ice_agent *a, unsigned stream, const floe_ice_cand *c);
/* The peer said it is an ICE-lite agent (a=ice-lite): we become controlling (with a
 * FLOE_ICE_EV_ROLE_CHANGED event if we were not) and do all the checks. */
void floe_ice_agent_set_remote_lite(floe_ice_agent *a, bool lite);
/* Check pacing, Ta (RFC 8445 §14.2): the agent starts a new transaction (a check, or a
 * request to a STUN server while gathering) at most once per Ta. An agent that wants
 * another Ta than the 50 ms default must propose it to the peer, and both then use the
 * larger of the two proposals, a side that proposed none counting as 50 ms; in SDP the
 * proposal is a=ice-pacing (RFC 8839 §5.5). The agent does not negotiate by itself:
 * floe_ice_sdp_write announces its Ta and floe_ice_sdp_apply sets the negotiated one
 * (floe/ice_sdp.h); other signalling calls set_pacing with the larger value itself.
 *
 * set_pacing sets Ta: 0 means FLOE_ICE_TA_DEFAULT; a value below FLOE_ICE_TA_MIN is raised
 * to it and one above FLOE_ICE_TA_MAX lowered to it (floe's bound: a slower Ta would
 * outlast the agent's own timers, e.g. FLOE_ICE_CONTROLLED_WAIT, and overflow the RTO
 * arithmetic for the largest a=ice-pacing values). Allowed while the agent has not
 * started checks in this ICE generation: from floe_ice_agent_new until
 * floe_ice_agent_start, and again after floe_ice_agent_restart until the next start (a
 * restart's offer/answer negotiates anew). Gathering may be under way: its next request
 * already follows the new Ta. FLOE_ERR_STATE once started (Ta unchanged), FLOE_ERR_INVAL
 * without an agent. floe_ice_agent_pacing returns the Ta in use (FLOE_ICE_TA_DEFAULT
 * without an agent). */
int floe_ice_agent_set_pacing(floe_ice_agent *a, floe_time_ns ta);
floe_time_ns floe_ice_agent_pacing(const floe_ice_agent *a);
/* Starts connectivity checks (after remote credentials and candidates are in): forms the
 * checklists and sets their initial states (RFC 8445 §6.1.2.6). Allowed once gathering
 * has begun (server-reflexive candidates still coming are fine); FLOE_ERR_STATE before
 * gather() or when already started (restart first). Checks that arrive before start are
 * answered, and their triggered checks wait for start. */
int floe_ice_agent_start(floe_ice_agent *a, floe_time_ns now);
/* ICE restart (RFC 8445 §9): new local credentials, remote ones to be set again;
 * local candidates are kept (peer-reflexive ones dropped), remote candidates and pairs
 * are dropped, the state goes back to GATHERED and start() must be called again. Selected
 * pairs stay usable for data (and keep their consent) until new ones are selected. The
 * role is kept. FLOE_ERR_STATE before gather(). */
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
    const uint8_t *data; /* DATA: the application's bytes (inside the datagram given to
                            on_recv; past the TURN header when they came through a relay) */
    size_t len;
    unsigned base;  /* DATA: the base it arrived on (a relay's when it came through one) */
    floe_addr from; /* DATA: who sent it (the peer, not the TURN server) */
} floe_ice_recv_info;

/* Feeds one datagram received on socket `base` from `from` (RFC 7983 demultiplexing:
 * first byte 0..3 is STUN, the rest is data for the base's stream and component). Returns
 * FLOE_OK whatever the datagram holds (bad input is dropped and counted, info says so);
 * FLOE_ERR_INVAL only for missing arguments. */
int floe_ice_agent_on_recv(floe_ice_agent *a, floe_time_ns now, unsigned base,
                           const floe_addr *from, const uint8_t *p, size_t len,
                           floe_ice_recv_info *info);
/* Runs timers: pacing, retransmissions, nomination, keepalives, consent. Afterwards the
 * deadline lies in the future (or is FLOE_TIME_NEVER). */
void floe_ice_agent_tick(floe_ice_agent *a, floe_time_ns now);
/* Next datagram to send: from socket *base to *to. FLOE_ERR_NOT_FOUND when none,
 * FLOE_ERR_NOSPACE when cap is too small (it stays queued; FLOE_ICE_SEND_MAX is enough). */
int floe_ice_agent_next_send(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap,
                             size_t *len, unsigned *base, floe_addr *to);
/* When tick must next run, or FLOE_TIME_NEVER. */
floe_time_ns floe_ice_agent_deadline(const floe_ice_agent *a);
/* Pops the oldest event; false when there is none. At most FLOE_ICE_MAX_EVENTS wait;
 * beyond that PAIR_STATE events are given up first (stats.events_dropped). A SELECTED
 * event shows the component's selection when it is pulled. */
bool floe_ice_agent_next_event(floe_ice_agent *a, floe_ice_event *ev);

/* Where application data for a component goes: the selected pair's base and remote
 * address. FLOE_ERR_STATE when there is no selected pair or consent was lost. For a
 * relayed pair `base` is the relay's, which has no socket: use floe_ice_agent_send_data,
 * which works for every pair. */
int floe_ice_agent_data_path(const floe_ice_agent *a, unsigned stream, unsigned component,
                             unsigned *base, floe_addr *to);
/* As data_path, and before any pair is selected (while the agent is checking) the pair
 * being nominated, else the valid pair of the highest priority: RFC 8445 section 12.1
 * allows data on any valid pair until a pair is selected. FLOE_ERR_STATE when there is
 * none (or consent was lost, or the agent failed). Send on it with
 * floe_ice_agent_send_from. */
int floe_ice_agent_early_path(const floe_ice_agent *a, unsigned stream, unsigned component,
                              unsigned *base, floe_addr *to);
/* The datagram that carries n bytes of application data on the component's selected pair:
 * written to out (the bytes themselves for a host pair; ChannelData or a Send indication
 * for a relayed one), to go from socket *base to *to. Errors as data_path, and
 * FLOE_ERR_NOSPACE (n + 52 bytes always suffice), FLOE_ERR_STATE while a relayed pair's
 * permission is not up. */
int floe_ice_agent_send_data(floe_ice_agent *a, floe_time_ns now, unsigned stream,
                             unsigned component, const uint8_t *data, size_t n, uint8_t *out,
                             size_t cap, size_t *len, unsigned *base, floe_addr *to);
/* The same for a reply to data that arrived (info.base, info.from), whether or not its
 * pair is selected: *sock_base and *sock_to say where the datagram goes. FLOE_ERR_INVAL
 * for an unknown base, FLOE_ERR_STATE for a relay without a permission for `to`. */
int floe_ice_agent_send_from(floe_ice_agent *a, floe_time_ns now, unsigned base,
                             const floe_addr *to, const uint8_t *data, size_t n, uint8_t *out,
                             size_t cap, size_t *len, unsigned *sock_base, floe_addr *sock_to);

/* ---- stream bases (TURN over TCP or TLS) ------------------------------------------ */

/* A TURN server configured with transport TCP or TLS gets, for each host base of its
 * family, a stream base: an index after the host bases, created by
 * floe_ice_agent_gather, that next_send names like a socket. The runtime owns the
 * connection behind it:
 *   - when next_send first names a stream base, ask floe_ice_agent_stream what it is and
 *     connect from `local` (the host base's IP, port 0: an ephemeral port) to `remote`
 *     over `transport`; queue what next_send gives for it until the connection is up;
 *   - everything next_send gives for it is one whole message: write it to the stream;
 *   - split what the stream delivers into messages with floe_turn_frame_len
 *     (floe/turn.h) and feed each to floe_ice_agent_on_recv with that base and `remote`;
 *   - when the connection fails or closes (or the bytes cannot be framed), call
 *     floe_ice_agent_stream_closed: the allocation on it is gone, and nothing more is
 *     sent there (do not reconnect).
 * A stream base has no candidate; the relayed candidate it brings has a base of its own
 * (send_data and send_from name the stream base as *sock_base for its data). */
typedef struct floe_ice_stream {
    floe_transport transport; /* FLOE_TRANSPORT_TCP or _TLS */
    floe_addr local;          /* bind to this IP, port 0 */
    floe_addr remote;         /* the TURN server */
    const char *server_name;  /* TLS: the name to verify, or NULL */
} floe_ice_stream;

/* FLOE_OK for a stream base, FLOE_ERR_NOT_FOUND for a socket or relayed base (or one out
 * of range), FLOE_ERR_INVAL for missing arguments. */
int floe_ice_agent_stream(const floe_ice_agent *a, unsigned base, floe_ice_stream *out);
/* The connection of stream base `base` failed or closed (stats.relay_streams_lost). A
 * relayed candidate it brought stops working; gathering that waited for it ends. */
void floe_ice_agent_stream_closed(floe_ice_agent *a, floe_time_ns now, unsigned base);

/* Releases the TURN allocations (RFC 8656 §7.5: a Refresh with LIFETIME 0 each), for an
 * agent that is done: drain next_send once more before freeing it. Without it the
 * server lets them expire. Data through the relays stops. */
void floe_ice_agent_release_relays(floe_ice_agent *a, floe_time_ns now);

floe_ice_agent_state floe_ice_agent_get_state(const floe_ice_agent *a);
bool floe_ice_agent_is_controlling(const floe_ice_agent *a);
const char *floe_ice_agent_state_name(floe_ice_agent_state s);
const char *floe_ice_pair_state_name(floe_ice_pair_state s);

/* Counters: every dropped input and every cap hit is counted. */
typedef struct floe_ice_stats {
    uint64_t checks_sent; /* connectivity-check requests, retransmissions included */
    uint64_t checks_received;
    uint64_t responses_sent;   /* success responses to checks */
    uint64_t errors_sent;      /* error responses (400, 401, 420, 487) */
    uint64_t triggered_checks; /* pairs put on a triggered-check queue */
    uint64_t nominations;      /* checks sent with USE-CANDIDATE (first copies) */
    uint64_t consent_checks;   /* consent requests, retransmissions included */
    uint64_t keepalives_sent;  /* Binding indications */
    uint64_t gather_requests;  /* Binding requests to STUN servers, retransmissions included */
    uint64_t role_conflicts;
    uint64_t drop_malformed;    /* STUN that does not decode, or lacks what ICE requires */
    uint64_t drop_integrity;    /* wrong or missing MESSAGE-INTEGRITY */
    uint64_t drop_unknown_user; /* USERNAME missing or not ours */
    uint64_t drop_unmatched;    /* responses to no transaction (or from the wrong address) */
    uint64_t drop_unknown_base;
    uint64_t cap_pairs;      /* pairs not formed (or evicted) because of max_pairs */
    uint64_t cap_candidates; /* candidates refused because of the caps */
    uint64_t cap_sends;      /* responses not queued: the send queue was full */
    uint64_t events_dropped; /* events lost because nobody pulled them (PAIR_STATE first) */
    uint64_t data_received;
    uint64_t cap_checks;         /* check transactions over their slots: a replaced check's late
                                    answer given up to make room, or (max_pairs above
                                    FLOE_ICE_MAX_CHECKS) a check that waited for a slot */
    uint64_t relay_allocations;  /* TURN allocations made (relayed candidates) */
    uint64_t relay_failures;     /* TURN allocations that failed */
    uint64_t relay_unsent;       /* messages for a relayed base dropped: no permission yet */
    uint64_t relay_streams_lost; /* TURN connections (stream bases) that failed or closed */
} floe_ice_stats;

void floe_ice_agent_get_stats(const floe_ice_agent *a, floe_ice_stats *out);

/* The counters one by one, for printers: counter i (0 to FLOE_ICE_STAT_COUNT - 1) in the
 * order of floe_ice_stats, named as its field. The names are the keys of the agent's
 * counters in `floe ice --json` and `floe sim run --stats`. Past the end the name is NULL
 * and the value 0. */
#define FLOE_ICE_STAT_COUNT (sizeof(floe_ice_stats) / sizeof(uint64_t))
const char *floe_ice_stat_name(size_t i);
uint64_t floe_ice_stat_value(const floe_ice_stats *s, size_t i);

/* Bytes floe_ice_agent_new allocates for cfg (the agent's whole footprint: the arrays are
 * sized by the streams and components, max_local, max_remote, max_pairs, the STUN
 * servers and the preferred interfaces); 0 for an invalid config. docs/adr/0008 gives
 * the figures. */
size_t floe_ice_agent_memory(const floe_ice_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
