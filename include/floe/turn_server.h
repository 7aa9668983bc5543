/* floe: the TURN server core (RFC 8656, RFC 6156 dual allocations, TURN REST
 * credentials), sans-IO and safe by default.
 *
 * The core owns the allocation table, the credentials, the stateless nonces, the
 * quotas and the peer policy. It never touches a socket or a clock. The runtime
 * (apps/floe/cmd_server.c over rt/posix) does four things:
 *
 *   1. before each batch of work, tell the time:
 *          floe_turn_server_set_time(srv, monotonic_ns, unix_seconds)
 *   2. hand every datagram or framed stream message from a client to
 *          floe_turn_server_on_client(srv, &tuple, bytes, len, out, cap, &o)
 *      and every datagram a relay socket received from a peer to
 *          floe_turn_server_on_peer(srv, handle, &peer, bytes, len, out, cap, &o)
 *      then send what `o` says (at most one message; o.data NULL means nothing);
 *   3. call floe_turn_server_tick(srv) about once a second (expiry);
 *   4. call floe_turn_server_conn_closed(srv, &tuple) when a TCP/TLS/DTLS client goes away.
 *
 * Relay sockets are the runtime's: when an Allocate succeeds the core calls
 * cfg.relay_open(ctx, handle, family, ...) and the runtime binds a UDP socket, reports
 * its address and remembers `handle` for floe_turn_server_on_peer; when the allocation
 * ends the core calls cfg.relay_close(ctx, token).
 *
 * Port pairs (RFC 8656 §7.2, §14.6, §14.9), for RTP and RTCP on adjacent ports:
 *   - EVEN-PORT with R = 0: relay_open is asked for an even port (even_port true);
 *   - EVEN-PORT with R = 1: cfg.relay_open_pair opens an even port N for the allocation
 *     and holds N + 1 on the same IP under a second token (`held`), not read from. The
 *     core keeps a reservation: an 8-byte RESERVATION-TOKEN drawn from a keyed hash (never
 *     a counter a client could step through), returned in the success answer;
 *   - a later Allocate with RESERVATION-TOKEN, from any client and 5-tuple and by any
 *     user (the token alone names the reservation, RFC 8656 §7.2), gets port N + 1:
 *     cfg.relay_claim turns the held socket into that allocation's relay. A token works
 *     once; an unknown, used or expired one gets 508;
 *   - a reservation lasts FLOE_TSRV_RESERVATION_S (30 s, the RFC's minimum), then the
 *     core releases the held socket with cfg.relay_close(ctx, held). At most
 *     cfg.max_reservations are held at once: past that, EVEN-PORT with R gets 508
 *     (counted as reservations_full_508);
 *   - several cores (threads) can share one table (cfg.reservations, made with
 *     floe_turn_reservations_new): a token made by one core is then taken by whichever
 *     core the second Allocate reaches, and the held socket moves to that core with
 *     relay_claim. Any core's tick may release an expired one (relay_close with its own
 *     ctx). The cores call cfg.lock(ctx, true) and cfg.lock(ctx, false) around every use
 *     of the shared table, never nested, and call no other callback in between;
 *   - EVEN-PORT together with RESERVATION-TOKEN, RESERVATION-TOKEN with an address family
 *     attribute, and EVEN-PORT with R together with ADDITIONAL-ADDRESS-FAMILY get 400.
 * A runtime without relay_open_pair (the simulator, sim/sim_turn_server.c) refuses R = 1
 * with 508 (reservations_full_508: a table that can hold nothing is always full); a
 * token it never gave gets 508 too.
 *
 * Every input ends in exactly one counter (floe_turn_server_counter), so
 *     rx_client + rx_peer == sum of all other counters except bytes_*.
 *
 * Safe defaults (RFC 8656 §21, and coturn's history of peer-ACL bypasses):
 *   - relaying to any address floe_addr_classify() marks as not global (loopback,
 *     unspecified, private, CGNAT, link-local, multicast, documentation, broadcast,
 *     reserved), in any encoding (IPv4-mapped, -compatible, 6to4, NAT64, Teredo), is
 *     refused with 403 unless an allow prefix names that exact address; deny prefixes
 *     win over everything and also match the IPv4 address an IPv6 form carries;
 *     the server's own listening addresses are never peers;
 *   - nonces are stateless (an HMAC of the client's transport address and an expiry),
 *     so nothing is stored for a client until it proves it receives at its address;
 *   - unauthenticated answers carry no SOFTWARE and no reason phrase, and are limited
 *     per source IP by a token bucket in a fixed table (memory stays flat under a
 *     spoofed flood);
 *   - nothing in the protocol can change the configuration.
 *
 * TCP relaying (RFC 6062), when the runtime provides tcp_listen and tcp_connect: a client
 * on a TCP or TLS connection allocates with REQUESTED-TRANSPORT TCP; the runtime listens
 * on the relayed address. A Connect makes the runtime connect to the peer (policy first)
 * and floe_turn_server_tcp_connected answers it with a CONNECTION-ID; a peer that
 * connects to the relayed address (with a permission) becomes a ConnectionAttempt
 * indication (floe_turn_server_tcp_incoming). The client then opens a new connection
 * and sends ConnectionBind with that id: its success answer carries o.pipe, and from
 * then on the runtime copies bytes between that connection and the peer's. A connection
 * not bound within 30 s is closed (cfg.tcp_close).
 *
 * Several cores in one process (one per thread, apps/floe's --workers): each core is
 * single-threaded and owns its table; cfg.admit and cfg.release let the runtime keep the
 * allocation quotas for all of them together (docs/adr/0011-server-workers.md).
 *
 * Not yet: MESSAGE-INTEGRITY-SHA256. */
#ifndef FLOE_TURN_SERVER_H
#define FLOE_TURN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun_server.h"
#include "floe/time.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per-allocation caps on what the table stores inline (the configured quotas may only
 * be lower). They keep an allocation's state at floe_turn_server_alloc_bytes() (about
 * 1 KB): a peer has a handful of addresses, 16 permissions and channels leave room. */
#define FLOE_TSRV_MAX_PERMISSIONS 16
#define FLOE_TSRV_MAX_CHANNELS 16

#define FLOE_TSRV_DEFAULT_LIFETIME_S 600 /* RFC 8656 §3.2 */
#define FLOE_TSRV_MAX_LIFETIME_S 3600    /* RFC 8656 §7.2: the server's cap, configurable */
#define FLOE_TSRV_PERMISSION_S 300       /* RFC 8656 §9 */
#define FLOE_TSRV_CHANNEL_S 600          /* RFC 8656 §12 */
#define FLOE_TSRV_NONCE_S 600            /* how long a nonce is good for (configurable) */
#define FLOE_TSRV_RATE_SLOTS 4096        /* the unauthenticated rate limiter's fixed table */
#define FLOE_TSRV_TCP_BIND_S 30          /* RFC 6062 §5.3: a connection must be bound in 30 s */
#define FLOE_TSRV_RESERVATION_S 30       /* RFC 8656 §7.2: a reserved port is held >= 30 s */
#define FLOE_TSRV_RESERVATIONS 256       /* default of max_reservations */
#define FLOE_TSRV_MAX_RESERVATIONS 65536 /* the most max_reservations may be */

/* Where a client message came from: the 5-tuple of RFC 8656 §2. conn names the TCP or
 * TLS connection or the DTLS session (the runtime's token, never 0 for those); it is 0
 * for UDP. */
typedef struct floe_turn_tuple {
    floe_addr client;
    floe_addr server;
    floe_transport transport;
    uint64_t conn;
} floe_turn_tuple;

/* A long-term credential (RFC 8489 §9.2) from the configuration. */
typedef struct floe_turn_user {
    const char *name;
    const char *password;
} floe_turn_user;

typedef struct floe_turn_server_config {
    const char *realm; /* required */
    const floe_turn_user *users;
    size_t n_users;
    /* TURN REST shared secrets (several, for rotation): a username "EXPIRY[:USER]"
     * with password base64(HMAC-SHA1(secret, username)) is accepted until EXPIRY. */
    const char *const *secrets;
    size_t n_secrets;
    uint8_t nonce_key[32]; /* random, from the runtime: keys the nonces and hash tables */
    uint32_t nonce_lifetime_s;
    uint32_t default_lifetime_s, max_lifetime_s;
    uint32_t max_allocations;        /* in total: the table's size */
    uint32_t user_quota;             /* allocations per username; 0 = no limit */
    uint32_t max_permissions;        /* per allocation, <= FLOE_TSRV_MAX_PERMISSIONS */
    uint32_t max_channels;           /* per allocation, <= FLOE_TSRV_MAX_CHANNELS */
    uint64_t bytes_per_s_allocation; /* relayed bytes per second per allocation; 0 = none */
    uint64_t bytes_per_s_total;      /* relayed bytes per second in total; 0 = none */
    uint32_t unauth_per_s;           /* unauthenticated answers per second per source IP */
    uint32_t unauth_burst;           /* ... and the bucket's depth */
    const floe_addr_prefix *allow;   /* peers allowed although not global */
    size_t n_allow;
    const floe_addr_prefix *deny; /* peers always refused */
    size_t n_deny;
    const floe_addr *self; /* the server's listening addresses: never peers */
    size_t n_self;
    bool relay_v4, relay_v6;      /* which relay families the runtime can open */
    const char *software;         /* SOFTWARE (and reason phrases); NULL = none */
    floe_stun_server_config stun; /* how Binding requests are answered */
    /* Opens a relay socket of family (FLOE_AF_INET4/6) for the allocation `handle`;
     * even_port asks for an even port (RFC 8656 §14.6), dont_fragment for the DF bit.
     * Fills *relayed and *token; returns FLOE_OK or an error (the client gets 508). */
    int (*relay_open)(void *ctx, uint64_t handle, int family, bool even_port, bool dont_fragment,
                      floe_addr *relayed, uint64_t *token);
    /* Closes a relay socket: an allocation's, or a held port (below) that was not claimed. */
    void (*relay_close)(void *ctx, uint64_t token);
    /* EVEN-PORT with R = 1 (optional; NULL: such an Allocate gets 508). As relay_open with
     * an even port N for `handle`, and also binds N + 1 on the same IP and holds it, not
     * read from: *held_addr is that address, *held its token (of the same kind as relay
     * tokens: relay_close releases it). Both are opened or neither is (an error: 508). */
    int (*relay_open_pair)(void *ctx, uint64_t handle, int family, bool dont_fragment,
                           floe_addr *relayed, uint64_t *token, floe_addr *held_addr,
                           uint64_t *held);
    /* RESERVATION-TOKEN (needed with relay_open_pair): the held socket `held` becomes the
     * relay of allocation `handle`; what it receives goes to floe_turn_server_on_peer(
     * handle, ...) from now on, and it is closed with relay_close(ctx, held) when that
     * allocation ends. On an error the core closes it with relay_close and answers 508. */
    int (*relay_claim)(void *ctx, uint64_t held, uint64_t handle, bool dont_fragment);
    uint32_t max_reservations; /* ports held at once for tokens (default 256; 0: none) */
    /* A table shared with other cores (optional; it replaces the core's own and outlives
     * the core), and the lock that guards it (NULL when every core runs on one thread). */
    struct floe_turn_reservations *reservations;
    void (*lock)(void *ctx, bool on);
    /* Quotas shared with other cores (optional). admit(ctx, user_hash) is asked before an
     * allocation is made, once this core's own checks passed, with a keyed hash of the
     * username (equal in cores with the same nonce_key); it returns 0 to go on, 486 (the
     * user's quota) or 508 (the total). release(ctx, user_hash) follows exactly once for
     * every admitted allocation, when it ends or could not be made after all. */
    int (*admit)(void *ctx, uint64_t user_hash);
    void (*release)(void *ctx, uint64_t user_hash);
    /* RFC 6062 (optional): listen for TCP on a relayed address of family for `handle`
     * (closed with relay_close); connect from the relayed address `from` to peer for
     * connection `id` (the outcome comes back through floe_turn_server_tcp_connected;
     * FLOE_ERR_STATE at once means a connection between the two exists: 446); close
     * connection `id`. */
    int (*tcp_listen)(void *ctx, uint64_t handle, int family, floe_addr *relayed, uint64_t *token);
    int (*tcp_connect)(void *ctx, uint32_t id, const floe_addr *from, const floe_addr *peer);
    void (*tcp_close)(void *ctx, uint32_t id);
    uint32_t max_tcp_connections; /* peer connections in total (default 1024) */
    void *ctx;
} floe_turn_server_config;

/* Defaults: realm NULL (must be set), lifetimes 600/3600 s, 16384 allocations, no user
 * quota, 256 reservations, 16 permissions and 16 channels per allocation, no bandwidth caps, 20
 * unauthenticated answers per second per IP with a burst of 40, IPv4 relays only, and
 * Binding answered as floe_stun_server_config_default says. */
void floe_turn_server_config_default(floe_turn_server_config *c);

typedef enum floe_turn_server_counter {
    FLOE_TSRV_RX_CLIENT = 0, /* inputs from clients */
    FLOE_TSRV_RX_PEER,       /* datagrams from peers */
    /* outcomes of client input */
    FLOE_TSRV_STUN,                  /* Binding and other STUN server work (its own counters) */
    FLOE_TSRV_CHALLENGED,            /* 401 with a fresh nonce to a request without credentials */
    FLOE_TSRV_STALE_NONCE,           /* 438 */
    FLOE_TSRV_AUTH_FAILED,           /* 401: unknown user, bad integrity, expired REST username */
    FLOE_TSRV_BAD_REQUEST,           /* 400 */
    FLOE_TSRV_UNKNOWN_ATTR,          /* 420 */
    FLOE_TSRV_ALLOCATED,             /* Allocate success */
    FLOE_TSRV_ALLOCATE_AGAIN,        /* success resent to a retransmitted Allocate */
    FLOE_TSRV_REFRESHED,             /* Refresh success with a lifetime */
    FLOE_TSRV_DEALLOCATED,           /* Refresh success with lifetime 0 */
    FLOE_TSRV_PERMITTED,             /* CreatePermission success */
    FLOE_TSRV_CHANNEL_BOUND,         /* ChannelBind success */
    FLOE_TSRV_FORBIDDEN,             /* 403: a peer the policy refuses */
    FLOE_TSRV_MISMATCH,              /* 437 */
    FLOE_TSRV_FAMILY_UNSUPPORTED,    /* 440 */
    FLOE_TSRV_WRONG_CREDENTIALS,     /* 441: another user's request on an allocation */
    FLOE_TSRV_TRANSPORT_UNSUPPORTED, /* 442 */
    FLOE_TSRV_PEER_FAMILY_MISMATCH,  /* 443 */
    FLOE_TSRV_QUOTA,                 /* 486: the user's allocation quota */
    FLOE_TSRV_CAPACITY,              /* 508: table full, permission/channel cap, relay socket */
    FLOE_TSRV_DRAINING,              /* 508 to an Allocate while draining */
    FLOE_TSRV_RESERVATIONS_FULL,     /* 508: EVEN-PORT with R, and no room to hold a port */
    FLOE_TSRV_RESERVATION_INVALID,   /* 508: RESERVATION-TOKEN unknown, used or expired */
    FLOE_TSRV_TO_PEER,               /* Send / ChannelData relayed to a peer */
    FLOE_TSRV_TCP_CONNECTING,        /* RFC 6062 Connect accepted: the answer follows the connect */
    FLOE_TSRV_TCP_BOUND,             /* ConnectionBind success: the connections are joined */
    FLOE_TSRV_TCP_EXISTS,            /* 446: a connection to that peer exists */
    /* outcomes of peer input */
    FLOE_TSRV_TO_CLIENT, /* peer datagram relayed as ChannelData or Data */
    /* drops (either side) */
    FLOE_TSRV_DROP_MALFORMED,     /* neither STUN nor ChannelData, or a bad message */
    FLOE_TSRV_DROP_NOT_REQUEST,   /* responses; indications other than Send */
    FLOE_TSRV_DROP_NO_ALLOCATION, /* Send/ChannelData/peer data without an allocation */
    FLOE_TSRV_DROP_NO_PERMISSION, /* to or from a peer without a permission */
    FLOE_TSRV_DROP_NO_CHANNEL,    /* ChannelData on an unbound channel */
    FLOE_TSRV_DROP_RATE_LIMITED,  /* unauthenticated answer suppressed */
    FLOE_TSRV_DROP_BANDWIDTH,     /* over a bandwidth quota */
    FLOE_TSRV_DROP_NO_SPACE,      /* the answer did not fit the output buffer */
    FLOE_TSRV_BYTES_TO_PEER,      /* payload bytes relayed (not an outcome) */
    FLOE_TSRV_BYTES_TO_CLIENT,
    FLOE_TSRV_EXPIRED,             /* allocations that ran out (not an outcome) */
    FLOE_TSRV_CLOSED_WITH_CONN,    /* allocations ended by their connection (not an outcome) */
    FLOE_TSRV_POLICY_REVOKED,      /* permissions/channels removed by a reload (not an outcome) */
    FLOE_TSRV_TCP_CONNECTED,       /* Connect answered with success (not an outcome) */
    FLOE_TSRV_TCP_CONNECT_FAILED,  /* ... with 447 (not an outcome) */
    FLOE_TSRV_TCP_ATTEMPTS,        /* ConnectionAttempt indications sent (not an outcome) */
    FLOE_TSRV_TCP_REFUSED,         /* peer connections refused: no permission, no room */
    FLOE_TSRV_TCP_UNBOUND,         /* connections closed unbound after 30 s */
    FLOE_TSRV_RESERVED,            /* ports held for a RESERVATION-TOKEN (not an outcome) */
    FLOE_TSRV_RESERVATION_USED,    /* ... claimed by an Allocate with the token (not an outcome) */
    FLOE_TSRV_RESERVATION_EXPIRED, /* ... released unclaimed after 30 s (not an outcome) */
    FLOE_TSRV_COUNTER_COUNT
} floe_turn_server_counter;

/* Stable snake_case names: the keys of --stats and the /metrics series. */
const char *floe_turn_server_counter_name(int counter);
/* True for the counters that are outcomes of one input (the accounting identity). */
bool floe_turn_server_counter_is_outcome(int counter);

typedef struct floe_turn_server floe_turn_server;

/* Reserved ports that several cores share (see "Port pairs" above). max entries (at most
 * FLOE_TSRV_MAX_RESERVATIONS): FLOE_OK, FLOE_ERR_CONFIG or FLOE_ERR_NOMEM. */
typedef struct floe_turn_reservations floe_turn_reservations;
int floe_turn_reservations_new(floe_turn_reservations **out, uint32_t max);
/* After the last core that used it: release(ctx, held) for every port still held. */
void floe_turn_reservations_free(floe_turn_reservations *t, void (*release)(void *, uint64_t),
                                 void *ctx);

/* Validates and copies cfg (users are turned into keys, lists copied): FLOE_ERR_CONFIG
 * for a missing realm, zero tables, caps above the inline maxima, relay_open_pair without
 * relay_claim, or admit without release; FLOE_ERR_NOMEM. */
int floe_turn_server_new(floe_turn_server **out, const floe_turn_server_config *cfg);
void floe_turn_server_free(floe_turn_server *srv);
/* Replaces credentials, secrets, lists, quotas and rates (SIGHUP); allocations and
 * reservations stay. Permissions and channels to peers the new policy refuses are
 * removed. The table sizes and the callbacks cannot change. */
int floe_turn_server_reload(floe_turn_server *srv, const floe_turn_server_config *cfg);
/* From now on, Allocate gets 508; everything else runs on (SIGTERM drain). */
void floe_turn_server_drain(floe_turn_server *srv);

void floe_turn_server_set_time(floe_turn_server *srv, floe_time_ns now, uint64_t unix_s);

/* What to send after an input: nothing (data NULL), a message to the client on `tuple`
 * (to_peer false; to == tuple.client), or a datagram to a peer from the relay socket
 * `relay` (to_peer true; len may be 0: an empty datagram is relayed too). data points
 * into `out` or into the input. */
typedef struct floe_turn_server_out {
    const uint8_t *data;
    size_t len;
    bool to_peer;
    floe_addr to;
    floe_turn_tuple tuple;
    uint64_t relay;
    unsigned from; /* RFC 5780 Binding answers: FLOE_STUN_CHANGE_* bits of the socket to
                      send from (see floe_stun_server_source_for) */
    uint32_t pipe; /* RFC 6062 ConnectionBind success: after sending the answer, join the
                      client connection (tuple.conn) with peer connection `pipe` */
    int counter;   /* the outcome counter of this input */
} floe_turn_server_out;

/* One datagram (UDP) or one framed message (TCP/TLS) from a client. Never fails on bad
 * input: that is a drop and a counter. */
void floe_turn_server_on_client(floe_turn_server *srv, const floe_turn_tuple *t, const uint8_t *p,
                                size_t len, uint8_t *out, size_t cap, floe_turn_server_out *o);
/* One datagram a relay socket of allocation `handle` received from `peer`. */
void floe_turn_server_on_peer(floe_turn_server *srv, uint64_t handle, const floe_addr *peer,
                              const uint8_t *p, size_t len, uint8_t *out, size_t cap,
                              floe_turn_server_out *o);
/* RFC 6062: the runtime's connection `id` to the peer is up (ok) or failed; o gets the
 * answer to the Connect (success with CONNECTION-ID, or 447). */
void floe_turn_server_tcp_connected(floe_turn_server *srv, uint32_t id, bool ok, uint8_t *out,
                                    size_t cap, floe_turn_server_out *o);
/* A peer connected to the TCP relay of allocation `handle`: returns the connection's id
 * with a ConnectionAttempt indication in o, or 0 (refused: close it) when the peer has no
 * permission, the policy refuses it or the table is full. */
uint32_t floe_turn_server_tcp_incoming(floe_turn_server *srv, uint64_t handle,
                                       const floe_addr *peer, uint8_t *out, size_t cap,
                                       floe_turn_server_out *o);
/* Connection `id` ended on the runtime's side (closed by either end). */
void floe_turn_server_tcp_closed(floe_turn_server *srv, uint32_t id);

/* Expires allocations, permissions, channels and reservations; call about once a second. */
void floe_turn_server_tick(floe_turn_server *srv);
/* A TCP/TLS client connection or DTLS session closed: its allocation (if any) ends now. */
void floe_turn_server_conn_closed(floe_turn_server *srv, const floe_turn_tuple *t);

/* The peer policy, as the server applies it (for tests and --check-config). */
bool floe_turn_server_peer_allowed(const floe_turn_server *srv, const floe_addr *peer);

typedef struct floe_turn_server_gauges {
    uint32_t allocations, permissions, channels;
    uint32_t users_with_allocations;
    uint32_t reservations; /* ports held for a RESERVATION-TOKEN this core made */
    size_t table_bytes;    /* memory the core holds for its tables */
} floe_turn_server_gauges;
void floe_turn_server_gauges_get(const floe_turn_server *srv, floe_turn_server_gauges *g);
const uint64_t *floe_turn_server_counters(const floe_turn_server *srv);
/* The STUN server inside that answers Binding requests (its own counters). */
floe_stun_server *floe_turn_server_stun(floe_turn_server *srv);
/* Bytes of core state per allocation. */
size_t floe_turn_server_alloc_bytes(void);

#ifdef __cplusplus
}
#endif
#endif
