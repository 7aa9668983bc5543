/* Private to src/ice: the agent's data and the functions its files share.
 *
 * The agent is one allocation: this struct followed by arrays sized from the config
 * (streams, components, bases, local and remote candidates, pairs, the check-transaction
 * pool, STUN servers, preferred interfaces; docs/adr/0008 gives the sizes). Items refer
 * to each other by index, never by pointer, so the whole agent can be copied or inspected
 * freely.
 *
 * Who owns what:
 *   ice_agent.c      composition: lifetime, the five-step loop, restart, ICE-lite
 *   ice_event.c      the bounded event queue
 *   ice_txn.c        compact STUN transactions and the pool of check transactions
 *   ice_local.c      bases and local candidates: preferences, foundations, pruning
 *   ice_gather.c     server-reflexive gathering transactions
 *   ice_remote.c     remote credentials and candidates, peer-reflexive remotes
 *   ice_checklist.c  pairs: forming, priorities, caps, the frozen algorithm
 *   ice_sched.c      Ta pacing, triggered queue, picking and retransmitting checks
 *   ice_check.c      our checks: requests out, responses in, role conflicts (487)
 *   ice_answer.c     the peer's checks: authentication, responses, triggered checks
 *   ice_nominate.c   nomination, selection, completion and failure
 *   ice_consent.c    keepalives and consent freshness on selected pairs
 *   ice_fsm.c        the pair and agent state machines */
#ifndef FLOE_ICE_PRIV_H
#define FLOE_ICE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/ice.h"
#include "floe/turn.h"
#include "floe/stun.h"
#include "floe/stun_txn.h"
#include "ice_fsm.h"

#define ICE_NONE 0xffffu /* "no pair" in 16-bit pair references */
#define ICE_NO 0xffu     /* "none" in 8-bit references (base, candidate, server) */

#define ICE_GATHER_SLOTS 4 /* server-reflexive transactions in flight at once (if any server) */
#define ICE_RESP_SLOTS 4   /* responses waiting for next_send (drained every loop) */
#define ICE_TXN_SPARE 2    /* check-transaction slots beyond one per pair (ice_txn.c) */
#define ICE_MAX_RELAY_SERVERS 4
/* The server index of a candidate: 0..3 a STUN server, 4..7 a TURN server. */
#define ICE_SERVER_RELAY0 FLOE_ICE_MAX_STUN_SERVERS

/* ---- bases and candidates ----------------------------------------------------------- */

enum { ICE_BASE_HOST = 0, ICE_BASE_RELAY = 1, ICE_BASE_STREAM = 2 };

typedef struct ice_relay ice_relay;

/* A host base (a local socket), a relayed address, which is its own base, or a stream
 * base: a TCP/TLS connection the runtime opens from a host base's IP to a TURN server,
 * which carries that server's allocation and has no candidate of its own. */
typedef struct ice_base {
    floe_addr addr;    /* the bound address, or the relayed address */
    floe_addr related; /* relay: the mapped address the TURN server saw */
    uint16_t local_pref;
    uint8_t stream, comp;
    uint8_t kind;   /* ICE_BASE_HOST / ICE_BASE_RELAY / ICE_BASE_STREAM */
    uint8_t iface;  /* rank in cfg.prefer_ifaces, or ICE_NO */
    uint8_t via;    /* relay, stream: the host base it comes from */
    uint8_t server; /* relay: ICE_SERVER_RELAY0 + slot; stream: index in cfg.turn_servers */
    uint8_t prflx;  /* remote peer-reflexive candidates learnt from checks on this base */
} ice_base;

/* A local candidate. The foundation is a small number (printed in decimal); the related
 * address is the base's (srflx, prflx) or the base's mapped address (relay); the local
 * preference is the base's. */
typedef struct ice_lcand {
    floe_addr addr;
    uint32_t prio;
    unsigned used : 1;
    unsigned type : 2; /* floe_ice_cand_type */
    unsigned stream : 3;
    unsigned comp : 2;
    uint8_t base;
    uint8_t server; /* STUN/TURN server index, or ICE_NO */
    uint8_t fid;    /* foundation number */
} ice_lcand;

/* A remote candidate. fid is the index of the first remote candidate with the same
 * foundation string, so that pair foundations compare as two small numbers. The
 * foundation has no terminating NUL when it is FLOE_ICE_FOUNDATION_MAX long. */
typedef struct ice_rcand {
    floe_addr addr;
    uint32_t prio;
    uint8_t type, stream, comp;
    uint8_t fid;
    char foundation[FLOE_ICE_FOUNDATION_MAX];
} ice_rcand;

/* ---- transactions ------------------------------------------------------------------- */

/* A STUN transaction (floe_stun_txn, RFC 8489 §6.2.1) and its ID, stored small: the
 * owner knows the schedule (Rc, Rm), the RTO is MAX(FLOE_ICE_RTO_MIN, Ta x rto_n), and
 * the next deadline follows from the start, the RTO and the copies sent. ice_txn_tick
 * runs the real floe_stun_txn on it, so the timing is the STUN module's to the
 * nanosecond. */
typedef struct ice_txn {
    floe_time_ns started;
    uint8_t tid[FLOE_STUN_TID_LEN];
    uint16_t rto_n;
    uint8_t state; /* floe_stun_txn_state */
    uint8_t sends; /* requests sent so far */
} ice_txn;

/* A slot of the check-transaction pool. Only checks whose answer still counts hold one:
 * a pair's running check (its `slot`), and the check a triggered check replaced, whose
 * late answer is still accepted (§7.3.1.4). A pair has at most one of each. Who holds a
 * slot is in txn_owner[slot]: ICE_OWNER_FREE, or the pair index, with ICE_OWNER_OLD for
 * a replaced check. */
typedef struct ice_check_txn {
    ice_txn txn;
    floe_time_ns last_send; /* the latest copy of the request */
} ice_check_txn;

#define ICE_OWNER_FREE 0xffffu
#define ICE_OWNER_OLD 0x8000u /* pair indices stay below FLOE_ICE_MAX_PAIRS_LIMIT */

/* ---- pairs -------------------------------------------------------------------------- */

enum ice_pair_flag {
    ICE_PF_CHECKLIST = 1u << 0, /* on the checklist (else only on the valid list) */
    ICE_PF_VALID = 1u << 1,     /* on the valid list (§7.2.5.3.2) */
    ICE_PF_NOMINATED = 1u << 2, /* nominated (§8.1.1) */
    ICE_PF_TRIGGERED = 1u << 3, /* on the triggered-check queue */
    ICE_PF_SEND = 1u << 4,      /* a copy of its request is owed to next_send */
    ICE_PF_USE_CAND = 1u << 5,  /* the running check carries USE-CANDIDATE */
    ICE_PF_NOMINATE = 1u << 6,  /* the next check carries USE-CANDIDATE (controlling) */
    ICE_PF_NOM_LATER = 1u << 7, /* controlled: USE-CANDIDATE arrived before success */
    ICE_PF_AS_CTRL = 1u << 8,   /* the running check said ICE-CONTROLLING */
    ICE_PF_TXN = 1u << 9,       /* it holds a current slot: a check whose answer still
                                   counts (`slot`) */
    ICE_PF_OLD_TXN = 1u << 10,  /* it holds an old slot: a check replaced by a triggered
                                   one, whose answer still counts (§7.3.1.4) */
    ICE_PF_OLD_CTRL = 1u << 11, /* ... and it said ICE-CONTROLLING */
    ICE_PF_ASYM = 1u << 12,     /* failed on an answer from elsewhere (§7.2.5.2.1): the
                                   peer's checks do not revive it (ice_answer.c) */
    ICE_PF_MARK = 1u << 15,     /* scratch mark (renumbering the triggered queue) */
};

/* 24 bytes: what a pair needs while it is idle. A check's transaction lives in the pool
 * (ice_check_txn) only while it runs. */
typedef struct ice_pair {
    uint64_t prio;
    uint32_t rtt_us;       /* RTT of the check that made it succeed (0 = unknown) */
    uint16_t trig_seq;     /* order on the triggered-check queue */
    uint16_t flags;        /* enum ice_pair_flag */
    uint16_t valid;        /* the valid pair its check produced, or ICE_NONE */
    uint8_t local, remote; /* candidate indices */
    uint8_t stream, comp;
    uint8_t state; /* floe_ice_pair_state */
    uint8_t slot;  /* its current check's pool slot, or ICE_NO */
} ice_pair;

/* ---- streams and components --------------------------------------------------------- */

enum { ICE_CL_RUNNING = 0, ICE_CL_COMPLETED, ICE_CL_FAILED }; /* RFC 8445 §6.1.2.1 */

typedef struct ice_comp {
    floe_time_ns valid_since;  /* first valid pair of this generation, or NEVER */
    floe_time_ns nominate_by;  /* nominate the best valid pair by then, or NEVER */
    floe_time_ns consent_ok;   /* the last authenticated success response */
    floe_time_ns consent_next; /* next consent request */
    floe_time_ns keepalive_next;
    ice_txn consent_txn; /* and its ID */
    /* The selected pair. It survives an ICE restart (§9) until a new one replaces it, so
     * it is kept by value, not as a pair index. */
    ice_lcand sel_local;
    ice_rcand sel_remote;
    uint16_t sel_pair;        /* its index among the current pairs, or ICE_NONE */
    uint16_t nominating;      /* controlling: the pair whose USE-CANDIDATE check is out */
    unsigned has_sel : 1;     /* a pair is selected (maybe from before a restart) */
    unsigned sel_current : 1; /* ... and it was selected since the last restart */
    unsigned failed : 1;
    unsigned consent_lost : 1;
    unsigned consent_send : 1;   /* a consent request copy is owed to next_send */
    unsigned keepalive_send : 1; /* a Binding indication is owed */
} ice_comp;

typedef struct ice_stream {
    uint8_t n_comp;
    uint8_t comp0;    /* its first component in floe_ice_agent.comps */
    uint8_t cl_state; /* ICE_CL_* */
    uint8_t has_rcred;
    uint16_t rkey_len;
    char rufrag[FLOE_ICE_REMOTE_CRED_MAX + 1];
    uint8_t rkey[FLOE_ICE_REMOTE_CRED_MAX]; /* the short-term key from the remote password */
} ice_stream;

/* ---- queues ------------------------------------------------------------------------- */

typedef struct ice_gather {
    ice_txn txn;
    uint8_t active, send, base, server;
} ice_gather;

#define ICE_RESP_AUTH 0x08u /* ice_resp.info: add MESSAGE-INTEGRITY (authenticated request) */

typedef struct ice_resp {
    floe_addr to;
    uint8_t tid[FLOE_STUN_TID_LEN];
    uint16_t code; /* 0: success response */
    uint16_t unknown[4];
    uint8_t base;
    uint8_t info; /* bits 0-2: how many unknown attributes; ICE_RESP_AUTH */
} ice_resp;

/* FAILED reasons: static sentences chosen by (reason, stream, component). */
enum { ICE_REASON_NONE = 0, ICE_REASON_NO_PAIR, ICE_REASON_CONSENT, ICE_REASON_NO_NOMINATION };

/* An event as the agent's files report it (ice_ev_push stores it in 12 bytes). */
typedef struct ice_ev {
    floe_time_ns at;
    uint16_t pair;
    uint8_t type, stream, comp, state;
    uint8_t flag;   /* ROLE_CHANGED: controlling */
    uint8_t local;  /* CANDIDATE: the local candidate */
    uint8_t reason; /* FAILED: ICE_REASON_* */
} ice_ev;

/* A queued event: the time in two halves (4-byte alignment), the pair or candidate index,
 * and the small fields packed (type 4 bits, reason 2, flag 1; stream 3, component 2,
 * pair state 3). */
typedef struct ice_ev_slot {
    uint32_t at_lo, at_hi;
    uint16_t item;
    uint8_t kind;
    uint8_t where;
} ice_ev_slot;

/* What became of a received STUN message. */
typedef enum ice_rx {
    ICE_RX_NOT_MINE = 0, /* not for this handler: try the next one */
    ICE_RX_DONE,         /* consumed */
    ICE_RX_DROPPED,      /* for this handler, but unusable: dropped and counted */
} ice_rx;

/* ---- the agent ---------------------------------------------------------------------- */

/* What the agent keeps of floe_ice_config after floe_ice_agent_new (the rest went into
 * the fields and sizes of the agent). The server and interface lists are copied into the
 * agent's allocation, as long as the config's. */
typedef struct ice_cfg {
    floe_addr *stun_servers;
    floe_ice_turn_server *turn_servers; /* in the agent's block, like stun_servers */
    char (*prefer_ifaces)[FLOE_ICE_IFNAME_MAX];
    int (*rand)(void *ctx, void *buf, size_t len);
    void *rand_ctx;
    floe_ice_pacer *pacer;
    floe_time_ns keepalive;
    floe_time_ns nomination_wait; /* 0: FLOE_ICE_CONTROLLED_WAIT */
    uint8_t n_stun_servers;
    uint8_t n_turn_servers;
    uint8_t n_prefer_ifaces;
    bool lite;
    bool consent;
    bool gather_link_local;
} ice_cfg;

struct floe_ice_agent {
    ice_cfg cfg;
    floe_ice_stats stats;
    floe_time_ns ta;
    uint64_t tiebreaker;
    floe_time_ns start_time;
    floe_time_ns now; /* the latest time the application gave (for calls without one) */

    /* own pacing (Ta); the shared pacer, if any, is cfg.pacer */
    floe_time_ns pace_last;
    uint64_t pace_started;

    ice_stream *streams;
    ice_comp *comps; /* the components of all streams (ice_comp_of) */
    ice_base *bases;
    ice_lcand *local;
    ice_rcand *remote;
    ice_pair *pairs;
    ice_check_txn *txns; /* the check-transaction pool (n_txns slots) ... */
    uint16_t *txn_owner; /* ... and who holds each slot (ICE_OWNER_*) */
    ice_gather *gather;  /* n_gather server-reflexive transactions */
    ice_relay *relay;    /* TURN allocations (ice_relay.c), or NULL without TURN servers */

    floe_ice_agent_state state;
    uint16_t max_pairs, max_local, max_remote, max_bases;
    uint16_t n_pairs, n_remote, n_local, n_bases; /* n_local: slots in use or freed */
    uint16_t prflx_seq;                           /* names peer-reflexive remote foundations */
    uint16_t trig_seq;
    uint16_t gather_cursor; /* next (base, server) combination to ask */
    uint8_t n_streams;
    uint8_t n_txns;
    uint8_t n_gather;
    uint8_t rr; /* round-robin position over checklists */
    bool controlling;
    bool remote_lite;
    bool gathering;   /* server-reflexive transactions remain */
    bool started;     /* start() ran in this generation */
    bool txn_blocked; /* a check is waiting for a free pool slot (counted once) */
    char ufrag[FLOE_ICE_UFRAG_LEN + 1];
    char pwd[FLOE_ICE_PWD_LEN + 1];
    uint8_t n_relay_servers;
    uint8_t resp_head, resp_count;
    uint8_t ev_head, ev_count;

    floe_addr relay_servers[ICE_MAX_RELAY_SERVERS];
    ice_resp resp[ICE_RESP_SLOTS];
    ice_ev_slot ev[FLOE_ICE_MAX_EVENTS];
};

/* ---- ice_relay.c -------------------------------------------------------------------- */

/* ice_gather.c: ends gathering (event and state) once nothing is pending. */
void ice_gather_check_done(floe_ice_agent *a, floe_time_ns now);

/* Creates a TURN client per (host base, TURN server) of the same family; at gather. */
int ice_relay_setup(floe_ice_agent *a);
void ice_relay_free(floe_ice_agent *a);
/* Allocations not made or failed yet: gathering is not over. */
bool ice_relay_pending(const floe_ice_agent *a);
void ice_relay_tick(floe_ice_agent *a, floe_time_ns now);
floe_time_ns ice_relay_deadline(const floe_ice_agent *a);
/* The TURN clients' own requests (Allocate, Refresh, CreatePermission, ChannelBind). */
int ice_relay_next_control(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap,
                           size_t *len, unsigned *base, floe_addr *to);
/* A buffer to build a message in before wrapping it (NULL without TURN servers). */
uint8_t *ice_relay_scratch(floe_ice_agent *a, size_t *cap);
/* Wraps msg, meant to go from relay base *base to *to, for the TURN server: *base and *to
 * become the host base and the server. FLOE_ERR_STATE without a permission (yet). */
int ice_relay_wrap(floe_ice_agent *a, floe_time_ns now, const uint8_t *msg, size_t n, uint8_t *buf,
                   size_t cap, size_t *len, unsigned *base, floe_addr *to);
/* A pair was formed: a relayed local candidate needs a permission for the remote one. */
void ice_relay_on_pair(floe_ice_agent *a, unsigned local, unsigned remote, floe_time_ns now);
/* A pair was selected: a relayed one gets a channel. */
void ice_relay_on_selected(floe_ice_agent *a, unsigned base, const floe_addr *remote,
                           floe_time_ns now);
typedef enum ice_turn_rx { ICE_TURN_NOT_MINE, ICE_TURN_CONSUMED, ICE_TURN_DATA } ice_turn_rx;
/* A datagram on host base `base` from `from`: a TURN server's answer (consumed), data a
 * peer sent to a relayed address (ICE_TURN_DATA: *relay_base, *peer, *data), or not
 * from a TURN server. */
ice_turn_rx ice_relay_on_recv(floe_ice_agent *a, floe_time_ns now, unsigned base,
                              const floe_addr *from, const uint8_t *p, size_t len,
                              unsigned *relay_base, floe_addr *peer, const uint8_t **data,
                              size_t *data_len);

/* ---- ice_agent.c -------------------------------------------------------------------- */

/* Random bytes from cfg.rand; false when the source failed. */
bool ice_rand(floe_ice_agent *a, void *buf, size_t len);
/* Applies an agent event through the state machine. */
void ice_agent_step(floe_ice_agent *a, ice_agent_event ev);

/* ---- ice_event.c -------------------------------------------------------------------- */

void ice_ev_push(floe_ice_agent *a, const ice_ev *e);
void ice_ev_simple(floe_ice_agent *a, floe_ice_event_type type, unsigned stream, unsigned comp,
                   floe_time_ns now);
/* FAILED with an ICE_REASON_* for (stream, comp). */
void ice_ev_failed(floe_ice_agent *a, unsigned reason, unsigned stream, unsigned comp,
                   floe_time_ns now);
/* Static sentences naming a stream and component. */
const char *ice_reason_no_pair(unsigned stream, unsigned comp);
const char *ice_reason_consent(unsigned stream, unsigned comp);
const char *ice_reason_no_nomination(unsigned stream, unsigned comp);

/* ---- ice_txn.c ---------------------------------------------------------------------- */

/* The RTO of a transaction: MAX(FLOE_ICE_RTO_MIN, Ta x rto_n). */
floe_time_ns ice_txn_rto(const floe_ice_agent *a, unsigned rto_n);
/* Starts t at now (the caller sends the first request now); t->tid is the caller's. */
void ice_txn_start(ice_txn *t, floe_time_ns now, unsigned rto_n);
/* floe_stun_txn_tick with the schedule rc requests, a last wait of rm RTOs. */
floe_stun_txn_action ice_txn_tick(const floe_ice_agent *a, ice_txn *t, unsigned rc, unsigned rm,
                                  floe_time_ns now);
floe_time_ns ice_txn_deadline(const floe_ice_agent *a, const ice_txn *t, unsigned rc, unsigned rm);
void ice_txn_on_response(ice_txn *t);
void ice_txn_cancel(ice_txn *t);

/* The check-transaction pool. The running check of pair i, or NULL. */
ice_check_txn *ice_txn_current(floe_ice_agent *a, unsigned i);
/* The replaced check of pair i whose answer still counts, or NULL. */
ice_check_txn *ice_txn_old(floe_ice_agent *a, unsigned i);
/* Frees pair i's current slot (its check is over) and clears ICE_PF_TXN. */
void ice_txn_end_current(floe_ice_agent *a, unsigned i);
/* Frees pair i's old slot and clears ICE_PF_OLD_TXN. */
void ice_txn_end_old(floe_ice_agent *a, unsigned i);
/* Frees every slot of pair i (the pair goes away). */
void ice_txn_forget_pair(floe_ice_agent *a, unsigned i);
/* Pair i's running check becomes its replaced one (whose answer still counts); the
 * check it replaced before, if any, no longer counts. */
void ice_txn_make_old(floe_ice_agent *a, unsigned i);
/* Slot k becomes pair i's running check. */
void ice_txn_hold(floe_ice_agent *a, unsigned k, unsigned i);
/* Does slot k hold a running (not replaced) check? */
bool ice_txn_running(const floe_ice_agent *a, unsigned k);
/* The slot whose transaction ID is tid (its pair, and whether it is a replaced check),
 * or -1. */
int ice_txn_find(const floe_ice_agent *a, const uint8_t tid[FLOE_STUN_TID_LEN], unsigned *pair,
                 bool *old);
/* Can a new check get a slot (a free one, or one only kept for a late answer)? */
bool ice_txn_available(const floe_ice_agent *a);
/* A slot for a new check: a free one, else the oldest kept only for a late answer (that
 * answer will not count any more: stats.cap_checks). -1 when every slot runs a check. */
int ice_txn_take(floe_ice_agent *a);
/* Empties the pool (creation, restart). */
void ice_txn_reset(floe_ice_agent *a);
/* The pool and the pairs agree (slots, owners, flags): for tests and fuzzers. */
bool ice_txn_consistent(const floe_ice_agent *a);

/* ---- ice_local.c -------------------------------------------------------------------- */

/* Computes every base's local preference (interfaces, then RFC 8421 interleaving). */
void ice_local_assign_prefs(floe_ice_agent *a);
/* Adds a local candidate of a base (pruning redundant ones, §5.1.3). Returns its index,
 * FLOE_ERR_LIMIT (counted) or FLOE_ERR_NOT_FOUND when it was redundant (an index of the
 * candidate that made it redundant goes to *dup when dup is not NULL). */
int ice_local_add(floe_ice_agent *a, floe_ice_cand_type type, unsigned base, const floe_addr *addr,
                  unsigned server, uint32_t prio, unsigned *dup);
/* The seam for TURN: registers a relayed address obtained on host base `via` from the
 * TURN server `server` (mapped: the XOR-MAPPED-ADDRESS of the allocation). It becomes a
 * base of its own and a relayed candidate. Returns the candidate index or an error. */
int ice_local_add_relay(floe_ice_agent *a, unsigned via, const floe_addr *relayed,
                        const floe_addr *mapped, const floe_addr *server, floe_time_ns now);
/* A stream base from host base `via` to TURN server `server` (cfg.turn_servers index):
 * its index, or FLOE_ERR_LIMIT (counted). */
int ice_local_add_stream(floe_ice_agent *a, unsigned via, unsigned server);
/* The candidate whose base is `base` and whose address is the base's (host or relay). */
int ice_local_of_base(const floe_ice_agent *a, unsigned base);
/* The local candidate of (stream, comp) at addr, or -1. */
int ice_local_find(const floe_ice_agent *a, unsigned stream, unsigned comp, const floe_addr *addr);
void ice_local_export(const floe_ice_agent *a, const ice_lcand *l, floe_ice_cand *out);
/* The priority a peer-reflexive candidate of this base would have (PRIORITY, §7.2.2). */
uint32_t ice_base_prflx_priority(const floe_ice_agent *a, unsigned base);
/* Frees the peer-reflexive local candidates (restart). */
void ice_local_drop_prflx(floe_ice_agent *a);

/* ---- ice_gather.c ------------------------------------------------------------------- */

void ice_gather_begin(floe_ice_agent *a, floe_time_ns now);
void ice_gather_tick(floe_ice_agent *a, floe_time_ns now);
/* A response from a STUN server to one of our gathering transactions? */
ice_rx ice_gather_on_response(floe_ice_agent *a, floe_time_ns now, unsigned base,
                              const floe_addr *from, const floe_stun_msg *m);
int ice_gather_next_send(floe_ice_agent *a, uint8_t *buf, size_t cap, size_t *len, unsigned *base,
                         floe_addr *to);
floe_time_ns ice_gather_deadline(const floe_ice_agent *a);
/* True when some (base, server) combination still waits for a free slot. */
bool ice_gather_waiting(const floe_ice_agent *a);

/* ---- ice_remote.c ------------------------------------------------------------------- */

int ice_remote_find(const floe_ice_agent *a, unsigned stream, unsigned comp, const floe_addr *addr);
/* Learns a peer-reflexive remote candidate (§7.3.1.3); index or FLOE_ERR_LIMIT. */
int ice_remote_add_prflx(floe_ice_agent *a, unsigned stream, unsigned comp, const floe_addr *addr,
                         uint32_t prio);
void ice_remote_export(const ice_rcand *r, floe_ice_cand *out);

/* ---- ice_checklist.c ---------------------------------------------------------------- */

/* RFC 8445 §6.1.2.3 with the current role. */
uint64_t ice_pair_priority(const floe_ice_agent *a, unsigned local, unsigned remote);
void ice_cl_recompute_priorities(floe_ice_agent *a);
/* Adds the pair (local, remote), evicting a lower-priority idle pair at the cap.
 * Returns the pair index, or FLOE_ERR_LIMIT (counted). */
int ice_cl_add(floe_ice_agent *a, unsigned local, unsigned remote, bool checklist,
               floe_time_ns now);
int ice_cl_find(const floe_ice_agent *a, unsigned local, unsigned remote);
/* Forms the pairs of one remote candidate with every local host/relay candidate. */
void ice_cl_pair_remote(floe_ice_agent *a, unsigned remote, floe_time_ns now);
/* Forms the pairs of one new local host/relay candidate with every remote candidate. */
void ice_cl_pair_local(floe_ice_agent *a, unsigned local, floe_time_ns now);
/* Forms every pair (start). */
void ice_cl_form(floe_ice_agent *a, floe_time_ns now);
bool ice_cl_same_foundation(const floe_ice_agent *a, unsigned i, unsigned j);
/* §6.1.2.6: one Waiting pair per foundation, in stream order. */
void ice_cl_initial_states(floe_ice_agent *a, floe_time_ns now);
/* After pair i succeeded: its foundation's Frozen pairs become Waiting. */
void ice_cl_unfreeze_foundation(floe_ice_agent *a, unsigned i, floe_time_ns now);
/* True when no pair of that foundation (any checklist) is Waiting or In-Progress. */
bool ice_cl_foundation_idle(const floe_ice_agent *a, unsigned i);
/* Moves pair i through the state machine (and reports the change). */
void ice_pair_step(floe_ice_agent *a, unsigned i, ice_pair_event ev, floe_time_ns now);

/* ---- ice_sched.c -------------------------------------------------------------------- */

bool ice_pacer_ready(const floe_ice_agent *a, floe_time_ns now);
floe_time_ns ice_pacer_next(const floe_ice_agent *a);
void ice_pacer_take(floe_ice_agent *a, floe_time_ns now);
/* RTO for a new check (§14.3): ice_txn_rto of ice_check_rto_n. */
floe_time_ns ice_check_rto(const floe_ice_agent *a);
unsigned ice_check_rto_n(const floe_ice_agent *a);
/* Puts pair i on its checklist's triggered-check queue. */
void ice_sched_trigger(floe_ice_agent *a, unsigned i);
/* Retransmissions and timeouts of the running checks. */
void ice_sched_timers(floe_ice_agent *a, floe_time_ns now);
/* One new check (triggered first, then ordinary) when the pacer allows. */
void ice_sched_pace(floe_ice_agent *a, floe_time_ns now);
floe_time_ns ice_sched_deadline(const floe_ice_agent *a);
/* May this checklist run checks now (credentials known, agent not lite or finished)? */
bool ice_sched_stream_ready(const floe_ice_agent *a, unsigned stream);

/* ---- ice_check.c -------------------------------------------------------------------- */

/* Starts a check on pair i now (a new transaction, a new transaction ID). */
void ice_check_start(floe_ice_agent *a, unsigned i, floe_time_ns now);
/* Builds a Binding request for stream/base to a remote with our credentials. */
int ice_check_build(floe_ice_agent *a, unsigned stream, unsigned base,
                    const uint8_t tid[FLOE_STUN_TID_LEN], bool use_cand, uint8_t *buf, size_t cap,
                    size_t *len);
int ice_check_next_send(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                        unsigned *base, floe_addr *to);
/* A response to one of our checks? */
ice_rx ice_check_on_response(floe_ice_agent *a, floe_time_ns now, unsigned base,
                             const floe_addr *from, const floe_stun_msg *m);
void ice_check_on_timeout(floe_ice_agent *a, unsigned i, floe_time_ns now);
/* Switches role: new pair priorities, an event. */
void ice_role_set(floe_ice_agent *a, bool controlling, floe_time_ns now);

/* ---- ice_answer.c ------------------------------------------------------------------- */

/* A Binding request from the peer (len: the datagram's size, for amplification limits). */
ice_rx ice_answer_request(floe_ice_agent *a, floe_time_ns now, unsigned base, const floe_addr *from,
                          const floe_stun_msg *m, size_t len);
int ice_answer_next_send(floe_ice_agent *a, uint8_t *buf, size_t cap, size_t *len, unsigned *base,
                         floe_addr *to);

/* ---- ice_nominate.c ----------------------------------------------------------------- */

/* A check on pair `checked` produced valid pair `valid`. */
void ice_nom_on_valid(floe_ice_agent *a, unsigned checked, unsigned valid, floe_time_ns now);
/* Controlled side: the peer nominated valid pair v (USE-CANDIDATE). */
void ice_nom_nominated(floe_ice_agent *a, unsigned v, floe_time_ns now);
/* A nomination check failed on pair i. */
void ice_nom_on_fail(floe_ice_agent *a, unsigned i, floe_time_ns now);
/* Nominates where due, completes or fails components. */
void ice_nom_tick(floe_ice_agent *a, floe_time_ns now);
floe_time_ns ice_nom_deadline(const floe_ice_agent *a);
/* Forgets the nomination state of every component (restart). */
void ice_nom_reset(floe_ice_agent *a);

/* ---- ice_consent.c ------------------------------------------------------------------ */

void ice_consent_on_select(floe_ice_agent *a, unsigned stream, unsigned comp, floe_time_ns now);
void ice_consent_tick(floe_ice_agent *a, floe_time_ns now);
ice_rx ice_consent_on_response(floe_ice_agent *a, floe_time_ns now, unsigned base,
                               const floe_addr *from, const floe_stun_msg *m);
int ice_consent_next_send(floe_ice_agent *a, uint8_t *buf, size_t cap, size_t *len, unsigned *base,
                          floe_addr *to);
floe_time_ns ice_consent_deadline(const floe_ice_agent *a);

/* ---- small helpers ------------------------------------------------------------------ */

/* Same transport address, whatever the IPv6 zone: a zone is the runtime's business (the
 * peer's SDP carries none), so paths compare by family, IP and port. */
static inline bool ice_addr_same(const floe_addr *x, const floe_addr *y) {
    return floe_addr_ip_equal(x, y) && x->port == y->port;
}

static inline floe_time_ns ice_min_time(floe_time_ns x, floe_time_ns y) {
    return x < y ? x : y;
}
static inline ice_comp *ice_comp_of(floe_ice_agent *a, unsigned stream, unsigned comp) {
    return &a->comps[a->streams[stream].comp0 + comp - 1];
}
static inline const ice_comp *ice_comp_get(const floe_ice_agent *a, unsigned stream,
                                           unsigned comp) {
    return &a->comps[a->streams[stream].comp0 + comp - 1];
}

#endif
