/* Private to src/turn: the TURN client's data and the functions its files share.
 *
 * The client is one allocation. Requests live in a small pool of transaction slots
 * (slot 0 belongs to the allocation: Allocate, Refresh, deallocation; the others serve
 * permissions, channels and RFC 6062 connections); permissions, channels and connections
 * live in fixed tables and refer to their outstanding request by slot index. Nothing here allocates
 * after floe_turn_client_new. */
#ifndef FLOE_TURN_PRIV_H
#define FLOE_TURN_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/stun.h"
#include "floe/stun_txn.h"
#include "floe/turn.h"

#define TURN_NO_SLOT 0xffu
#define TURN_ALLOC_SLOT 0u

/* What a transaction slot carries. */
typedef enum turn_txn_kind {
    TURN_TXN_FREE = 0,
    TURN_TXN_ALLOCATE,
    TURN_TXN_REFRESH,
    TURN_TXN_DEALLOCATE,
    TURN_TXN_PERMISSION,
    TURN_TXN_CHANNEL,
    TURN_TXN_CONNECT,   /* RFC 6062 Connect, on the control connection */
    TURN_TXN_CONN_BIND, /* RFC 6062 ConnectionBind, on the owner's data connection */
} turn_txn_kind;

typedef struct turn_txn {
    turn_txn_kind kind;
    uint8_t owner;         /* permission, channel or connection index */
    uint8_t stale;         /* 438 answers in a row for this request */
    bool authed;           /* the request carried credentials */
    bool send_pending;     /* a copy is owed to next_send */
    bool integrity_failed; /* a response was dropped for its integrity: report that,
                              not a plain timeout, if nothing better comes */
    floe_stun_txn txn;
    uint8_t tid[FLOE_STUN_TID_LEN];
    floe_time_ns first_send; /* FLOE_TIME_NEVER until next_send hands it out */
    unsigned copies;
    uint16_t len;
    /* A ConnectionBind goes on a new connection, which a server may give a nonce of its
     * own (438, or 401 with a fresh NONCE): that nonce stays with the request. Empty:
     * the control connection's. */
    uint16_t nonce_len;
    char nonce[FLOE_TURN_MAX_CRED + 1];
    uint8_t req[FLOE_TURN_MAX_REQUEST];
} turn_txn;

typedef struct turn_perm {
    bool used;
    bool via_channel; /* created by bind_channel: the ChannelBind installs it */
    bool waiting;     /* due, but no transaction slot was free (counted once) */
    floe_turn_bind_state state;
    floe_addr peer; /* the port is that of the first peer asked for; only the IP counts */
    uint8_t slot;   /* outstanding request, or TURN_NO_SLOT */
    floe_time_ns refresh_at, expires_at;
} turn_perm;

typedef struct turn_chan {
    bool used;
    bool waiting;
    floe_turn_bind_state state;
    uint16_t number;
    floe_addr peer;
    uint8_t slot;
    floe_time_ns refresh_at, expires_at;
} turn_chan;

/* An RFC 6062 peer connection. */
typedef struct turn_conn {
    bool used;
    bool has_id;  /* id is the server's CONNECTION-ID (not yet while connecting) */
    bool waiting; /* due, but no transaction slot was free (counted once) */
    floe_turn_conn_state state;
    uint32_t id;
    floe_addr peer;
    uint8_t slot;         /* outstanding Connect or ConnectionBind, or TURN_NO_SLOT */
    floe_time_ns bind_by; /* OFFERED, OPENING and BINDING before its request: the server's
                             30 s window; else FLOE_TIME_NEVER */
} turn_conn;

/* Long-term credentials as learnt from the server's 401 (RFC 8489 §9.2). */
typedef struct turn_auth {
    bool ready;     /* realm and nonce known, key derived: requests carry credentials */
    bool sha256;    /* PASSWORD-ALGORITHM SHA-256 and MESSAGE-INTEGRITY-SHA256 */
    bool userhash;  /* USERHASH instead of USERNAME (the nonce cookie's anonymity bit) */
    bool send_algs; /* echo PASSWORD-ALGORITHMS and send PASSWORD-ALGORITHM */
    uint16_t alg;   /* FLOE_STUN_PWALG_MD5 or _SHA256 */
    uint8_t key[32];
    size_t key_len;
    uint8_t hash[32]; /* USERHASH value */
    char realm[FLOE_TURN_MAX_CRED + 1];
    char nonce[FLOE_TURN_MAX_CRED + 1];
    size_t nonce_len;
    uint8_t algs[64]; /* the PASSWORD-ALGORITHMS value as the server sent it */
    size_t algs_len;
} turn_auth;

struct floe_turn_client {
    floe_turn_config cfg;
    char username[FLOE_TURN_MAX_CRED + 1];
    char password[FLOE_TURN_MAX_CRED + 1];
    char realm[FLOE_TURN_MAX_CRED + 1]; /* cfg.realm: the only realm accepted, or "" */
    char software[FLOE_TURN_MAX_SOFTWARE + 1];
    unsigned max_perms, max_chans, max_conns;

    floe_turn_state state;
    floe_addr server;
    unsigned redirects;
    turn_auth auth;
    floe_time_ns started;    /* allocate() */
    floe_time_ns give_up_at; /* cfg.timeout after allocate(), or FLOE_TIME_NEVER */

    /* the allocation */
    floe_addr relayed[2];
    unsigned n_relayed;
    floe_addr mapped;
    uint32_t lifetime_s;
    floe_time_ns refresh_at, expires_at;

    turn_txn txns[FLOE_TURN_MAX_TXNS];
    turn_perm perms[FLOE_TURN_MAX_PERMISSIONS];
    turn_chan chans[FLOE_TURN_MAX_CHANNELS];
    uint16_t next_channel;
    turn_conn conns[FLOE_TURN_MAX_CONNECTIONS];

    floe_turn_event events[FLOE_TURN_MAX_EVENTS];
    unsigned ev_head, ev_count;
    floe_turn_stats stats;
};

/* ---- turn_fsm.c: the explicit state machines ---- */

/* What can happen to the allocation. */
typedef enum turn_alloc_event {
    TURN_ALLOC_EV_START = 0, /* allocate() */
    TURN_ALLOC_EV_RETRY,     /* a 401, 438 or 300 answer: the Allocate goes again */
    TURN_ALLOC_EV_SUCCESS,   /* an Allocate success response */
    TURN_ALLOC_EV_REFRESHED, /* a Refresh success response */
    TURN_ALLOC_EV_ERROR,     /* an error answer that ends the request (or is unusable) */
    TURN_ALLOC_EV_TIMEOUT,   /* the request got no usable answer in time */
    TURN_ALLOC_EV_EXPIRED,   /* the lifetime ran out without a refresh */
    TURN_ALLOC_EV_CLOSE,     /* close() */
    TURN_ALLOC_EV_COUNT
} turn_alloc_event;

floe_turn_state turn_alloc_next_state(floe_turn_state s, turn_alloc_event ev);
const char *turn_alloc_event_name(turn_alloc_event ev);

/* What can happen to a permission or a channel binding. */
typedef enum turn_bind_event {
    TURN_BIND_EV_SEND = 0, /* its request (first or refresh) goes out */
    TURN_BIND_EV_SUCCESS,  /* success response (for a permission: also a ChannelBind's) */
    TURN_BIND_EV_ERROR,    /* an error answer (or unusable response) */
    TURN_BIND_EV_TIMEOUT,  /* no usable answer in time */
    TURN_BIND_EV_EXPIRED,  /* its lifetime ran out */
    TURN_BIND_EV_COUNT
} turn_bind_event;

floe_turn_bind_state turn_bind_next_state(floe_turn_bind_state s, turn_bind_event ev);
const char *turn_bind_event_name(turn_bind_event ev);

/* What can happen to an RFC 6062 connection. */
typedef enum turn_conn_event {
    TURN_CONN_EV_SEND = 0,  /* its Connect goes out */
    TURN_CONN_EV_CONNECTED, /* Connect success: the server named the connection */
    TURN_CONN_EV_ACCEPT,    /* accept() of an offered connection */
    TURN_CONN_EV_OPENED,    /* the runtime's data connection is up */
    TURN_CONN_EV_BOUND,     /* ConnectionBind success */
    TURN_CONN_EV_ERROR,     /* an error answer (or unusable response) */
    TURN_CONN_EV_TIMEOUT,   /* no usable answer, or the 30 s window passed */
    TURN_CONN_EV_CLOSED,    /* the runtime closed (or declined) it */
    TURN_CONN_EV_COUNT
} turn_conn_event;

floe_turn_conn_state turn_conn_next_state(floe_turn_conn_state s, turn_conn_event ev);
const char *turn_conn_event_name(turn_conn_event ev);

/* How a request ended, as handed to its owner. */
typedef struct turn_outcome {
    int err;            /* FLOE_OK: a success response; FLOE_ERR_ERROR_RESPONSE: an error
                           response (code, reason); else FLOE_ERR_TIMEOUT, _INTEGRITY,
                           _UNKNOWN_ATTR, _MALFORMED, _AUTH, _CRYPTO */
    int code;           /* STUN error code, or 0 */
    const char *reason; /* reason phrase (not NUL-terminated) or floe's sentence */
    size_t reason_len;
    const floe_stun_msg *m; /* the response, or NULL */
    floe_time_ns rtt;       /* from the first send of this transaction */
} turn_outcome;

/* ---- turn_client.c: events, scheduling, shared helpers ---- */

floe_turn_event *turn_event_push(floe_turn_client *c, floe_turn_event_type type, floe_time_ns now);
/* Fills ev's err, error_code and reason from an outcome. */
void turn_event_outcome(floe_turn_event *ev, const turn_outcome *o);
/* Copies an untrusted reason phrase: cut at a NUL, control characters replaced, cut at
 * a UTF-8 boundary. */
void turn_copy_reason(char *dst, size_t cap, const char *src, size_t len);
/* Saturating now + d. */
static inline floe_time_ns turn_time_add(floe_time_ns now, floe_time_ns d) {
    return now > FLOE_TIME_NEVER - 1 - d ? FLOE_TIME_NEVER - 1 : now + d;
}
/* When to refresh something that lasts `life` from now: FLOE_TURN_REFRESH_MARGIN early,
 * or half-way for short lifetimes. */
floe_time_ns turn_refresh_time(floe_time_ns now, floe_time_ns life);
/* Starts what is due: allocation refresh, permission and channel requests (as slots
 * allow); fails what expired. Run after every input and tick. */
void turn_pump(floe_turn_client *c, floe_time_ns now);
/* True when a peer's family can be relayed: the allocation has (or will ask for) a
 * relayed address of that family. */
bool turn_family_ok(const floe_turn_client *c, const floe_addr *peer);
/* The checks permit() and bind_channel() share: state and peer address. */
int turn_check_peer(const floe_turn_client *c, const floe_addr *peer);

/* ---- turn_txn.c: transaction slots ---- */

/* A free slot for a permission or channel request, or TURN_NO_SLOT. */
uint8_t turn_txn_free_slot(const floe_turn_client *c);
/* Starts the request of `kind` for `owner` in slot: fresh transaction ID, request built
 * (with credentials when known), first copy queued. */
int turn_txn_start(floe_turn_client *c, uint8_t slot, turn_txn_kind kind, uint8_t owner,
                   floe_time_ns now);
void turn_txn_release(floe_turn_client *c, uint8_t slot);
void turn_txn_release_all(floe_turn_client *c);
/* Runs the slot timers; reports timeouts to the owners. */
void turn_txn_tick(floe_turn_client *c, floe_time_ns now);
/* Hands out the first request waiting to be sent: a ConnectionBind (for a data
 * connection) when conn_bind, else any other. Copies it into buf and counts the send;
 * *out names its transaction. FLOE_ERR_NOT_FOUND, FLOE_ERR_NOSPACE (it stays queued). */
int turn_txn_take(floe_turn_client *c, floe_time_ns now, bool conn_bind, uint8_t *buf, size_t cap,
                  size_t *len, const turn_txn **out);
floe_time_ns turn_txn_deadline(const floe_turn_client *c);
/* Handles a response from the server: matching, integrity, 401/438 retries; then
 * hands the outcome to the request's owner. conn is TURN_NO_CONN for the control
 * connection, else the index of the connection whose data connection it came on (only
 * its ConnectionBind matches there, and only there). */
#define TURN_NO_CONN 0xffu
void turn_txn_on_response(floe_turn_client *c, const floe_stun_msg *m, uint8_t conn,
                          floe_time_ns now);

/* ---- turn_auth.c: long-term credentials ---- */

/* Learns realm, nonce and password algorithms from a 401/438 (RFC 8489 §9.2.5). *changed
 * says whether USERNAME/USERHASH/REALM/algorithm changed (a 401 is only retried then).
 * FLOE_ERR_AUTH with *why when the answer cannot be used (no REALM/NONCE, unsupported
 * algorithms, no credentials configured), FLOE_ERR_LIMIT for values longer than kept. */
int turn_auth_learn(floe_turn_client *c, const floe_stun_msg *m, bool *changed, const char **why);
/* Appends USERNAME/USERHASH, REALM, NONCE, PASSWORD-ALGORITHMS/-ALGORITHM when ready;
 * the NONCE is t's own when it has one. */
void turn_auth_add(const floe_turn_client *c, const turn_txn *t, floe_stun_builder *b);
/* A 401/438 to a ConnectionBind once the control connection is authenticated: keeps the
 * answer's NONCE in t (the realm must be the one known). *changed says whether it differs
 * from the nonce the request carried. FLOE_ERR_AUTH/_LIMIT with *why as turn_auth_learn. */
int turn_auth_learn_nonce(const floe_turn_client *c, turn_txn *t, const floe_stun_msg *m,
                          bool *changed, const char **why);
/* Appends the integrity attribute when ready. */
void turn_auth_sign(const floe_turn_client *c, floe_stun_builder *b);
/* FLOE_OK when m carries a valid integrity attribute for our key. */
int turn_auth_check(const floe_turn_client *c, const floe_stun_msg *m);
void turn_auth_reset(floe_turn_client *c);

/* ---- turn_alloc.c: Allocate, Refresh, deallocation ---- */

void turn_alloc_build(const floe_turn_client *c, turn_txn_kind kind, floe_stun_builder *b);
void turn_alloc_done(floe_turn_client *c, turn_txn_kind kind, const turn_outcome *o,
                     floe_time_ns now);
/* Fails an expired or timed-out allocation, starts a due refresh. */
void turn_alloc_tick(floe_turn_client *c, floe_time_ns now);
floe_time_ns turn_alloc_deadline(const floe_turn_client *c);
/* Applies a state machine event; when it ends in FAILED, reports it (FAILED event with
 * the outcome's reason) and drops every request, permission and channel. */
void turn_alloc_apply(floe_turn_client *c, turn_alloc_event ev, const turn_outcome *o,
                      floe_time_ns now);

/* ---- turn_perm.c: permissions ---- */

turn_perm *turn_perm_find(floe_turn_client *c, const floe_addr *peer);
int turn_perm_add(floe_turn_client *c, const floe_addr *peer, bool via_channel);
void turn_perm_build(const floe_turn_client *c, uint8_t idx, floe_stun_builder *b);
void turn_perm_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o, floe_time_ns now);
/* A ChannelBind for this peer succeeded: its permission is installed too (RFC 8656 §12.1). */
void turn_perm_installed(floe_turn_client *c, const floe_addr *peer, floe_time_ns now);
/* A ChannelBind that was to install the permission failed. */
void turn_perm_channel_failed(floe_turn_client *c, const floe_addr *peer, const turn_outcome *o,
                              floe_time_ns now);
/* Drops permissions that expired (freeing their slots). */
void turn_perm_expire(floe_turn_client *c, floe_time_ns now);
/* Starts due CreatePermission requests while slots are free. */
void turn_perm_start(floe_turn_client *c, floe_time_ns now);
floe_time_ns turn_perm_deadline(const floe_turn_client *c);
void turn_perm_clear(floe_turn_client *c);

/* ---- turn_channel.c: channel bindings ---- */

turn_chan *turn_chan_find_peer(floe_turn_client *c, const floe_addr *peer);
turn_chan *turn_chan_find_number(floe_turn_client *c, uint16_t number);
void turn_chan_build(const floe_turn_client *c, uint8_t idx, floe_stun_builder *b);
void turn_chan_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o, floe_time_ns now);
void turn_chan_expire(floe_turn_client *c, floe_time_ns now);
void turn_chan_start(floe_turn_client *c, floe_time_ns now);
floe_time_ns turn_chan_deadline(const floe_turn_client *c);
void turn_chan_clear(floe_turn_client *c);

/* ---- turn_conn.c: RFC 6062 connections ---- */

void turn_conn_build(const floe_turn_client *c, turn_txn_kind kind, uint8_t idx,
                     floe_stun_builder *b);
void turn_conn_connect_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o,
                            floe_time_ns now);
void turn_conn_bind_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o, floe_time_ns now);
/* A ConnectionAttempt indication on the control connection. */
floe_turn_recv_kind turn_conn_on_attempt(floe_turn_client *c, const floe_stun_msg *m,
                                         floe_time_ns now);
/* Fails connections whose 30 s window passed. */
void turn_conn_expire(floe_turn_client *c, floe_time_ns now);
/* Starts due Connect and ConnectionBind requests while slots are free. */
void turn_conn_start(floe_turn_client *c, floe_time_ns now);
floe_time_ns turn_conn_deadline(const floe_turn_client *c);
void turn_conn_clear(floe_turn_client *c);

/* ---- turn_data.c: Send and Data indications, ChannelData in ---- */

floe_turn_recv_kind turn_data_on_indication(floe_turn_client *c, const floe_stun_msg *m,
                                            floe_turn_data *data);
floe_turn_recv_kind turn_data_on_channel(floe_turn_client *c, const uint8_t *p, size_t len,
                                         floe_turn_data *data);

#endif
