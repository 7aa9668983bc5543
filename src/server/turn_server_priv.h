/* The TURN server core's private state, shared by its files:
 *   turn_server.c    composition: config, time, dispatch, tick, counters
 *   turn_table.c     the allocation table: slots, the 5-tuple index, per-user counts
 *   turn_srv_auth.c  credentials, stateless nonces, the unauthenticated rate limiter
 *   turn_policy.c    which peers may be relayed to
 *   turn_request.c   Allocate, Refresh, CreatePermission, ChannelBind
 *   turn_relay.c     the data path: Send, ChannelData, peer datagrams, bandwidth
 *   turn_tcp.c       RFC 6062: Connect, ConnectionBind, ConnectionAttempt, the connections
 *   turn_reserve.c   ports held for a RESERVATION-TOKEN (EVEN-PORT with the R bit) */
#ifndef FLOE_TURN_SERVER_PRIV_H
#define FLOE_TURN_SERVER_PRIV_H

#include "floe/stun.h"
#include "floe/stun_server.h"
#include "floe/turn_server.h"

#define TSRV_NONE UINT32_MAX
#define TSRV_KEY_LEN 16 /* MD5 long-term key (RFC 8489 §9.2.2) */
#define TSRV_NAME_MAX 513

/* A permission: the peer IP (family and bytes as in floe_addr) until `until` (seconds
 * on the server's clock). */
typedef struct tsrv_perm {
    uint32_t until;
    uint8_t family;
    uint8_t ip[16];
} tsrv_perm;

/* A channel: number to peer transport address. A channel stays reserved for 5 minutes
 * after it expires (RFC 8656 §12): `until` is its expiry, the slot is free after
 * until + FLOE_TSRV_PERMISSION_S. */
typedef struct tsrv_chan {
    uint32_t until;
    uint16_t port;
    uint16_t number;
    uint8_t family;
    uint8_t ip[16];
} tsrv_chan;

typedef struct tsrv_relay {
    uint64_t token;
    floe_addr addr;
    bool open;
} tsrv_relay;

/* One allocation. Its size is floe_turn_server_alloc_bytes(). */
typedef struct tsrv_alloc {
    floe_turn_tuple tuple;
    tsrv_relay relay[2]; /* [0] IPv4, [1] IPv6 */
    uint64_t user_hash;
    uint8_t key[TSRV_KEY_LEN];
    uint8_t alloc_tid[12]; /* the Allocate that made it (retransmissions get success) */
    uint32_t until;        /* expiry, seconds on the server's clock */
    uint32_t lifetime;     /* the lifetime last granted */
    uint32_t gen;          /* bumps on every reuse of the slot: stale handles miss */
    uint32_t next;         /* next slot in the 5-tuple bucket, or the free list */
    uint64_t bw_stamp_ns;  /* bandwidth bucket: last refill, tokens in bytes */
    uint64_t bw_tokens;
    uint8_t n_perm, n_chan;
    bool used;
    bool tcp; /* RFC 6062: the relay is a TCP listener */
    tsrv_perm perm[FLOE_TSRV_MAX_PERMISSIONS];
    tsrv_chan chan[FLOE_TSRV_MAX_CHANNELS];
} tsrv_alloc;

/* An RFC 6062 peer connection. id = generation << 16 | (index + 1): unique while it
 * lives, found in O(1). */
typedef struct tsrv_tcp {
    uint32_t id; /* 0: free */
    uint64_t handle;
    floe_addr peer;
    uint8_t state; /* TSRV_TCP_* */
    bool fp;       /* CONNECTING: the Connect had FINGERPRINT */
    uint8_t tid[12];
    uint32_t until; /* READY: the bind deadline */
} tsrv_tcp;

enum { TSRV_TCP_CONNECTING = 1, TSRV_TCP_READY, TSRV_TCP_BOUND };

/* A port held for a RESERVATION-TOKEN (RFC 8656 §14.9). token 0 marks a free entry. */
typedef struct tsrv_resv {
    uint64_t token;               /* the RESERVATION-TOKEN value */
    uint64_t held;                /* the runtime's token of the held socket */
    uint64_t owner;               /* handle of the allocation whose Allocate made it ... */
    const floe_turn_server *core; /* ... in this core */
    floe_addr addr;               /* the held relayed address */
    floe_time_ns until;           /* on the runtime's clock (the same for every core) */
} tsrv_resv;

typedef struct tsrv_user {
    char *name;
    uint8_t key[TSRV_KEY_LEN];
} tsrv_user;

/* Allocations per username (by keyed hash), chained in buckets. */
typedef struct tsrv_ucount {
    uint64_t hash;
    uint32_t n;
    uint32_t next;
} tsrv_ucount;

typedef struct tsrv_rate {
    uint64_t stamp_ns;
    uint32_t tokens_milli;
} tsrv_rate;

struct floe_turn_server {
    floe_turn_server_config cfg; /* pointers below are owned copies */
    tsrv_user *users;            /* sorted by name */
    char **secrets;
    floe_addr_prefix *allow, *deny;
    floe_addr *self;
    char *realm, *software;

    floe_stun_server stun; /* Binding requests */

    tsrv_alloc *slot;    /* cfg.max_allocations slots */
    uint32_t high_water; /* slots [high_water, max) were never touched */
    uint32_t free_head;
    uint32_t *bucket; /* 5-tuple index: heads of chains through slot[].next */
    uint32_t bucket_mask;
    uint32_t n_alloc;

    tsrv_ucount *ucount; /* max_allocations nodes */
    uint32_t *ubucket;
    uint32_t ucount_free, ucount_high, n_users_active;

    tsrv_rate rate[FLOE_TSRV_RATE_SLOTS];

    uint64_t total_stamp_ns, total_tokens; /* total bandwidth bucket */
    tsrv_tcp *tcp;                         /* cfg.max_tcp_connections entries */
    floe_turn_reservations *resv;          /* its own, or cfg.reservations */
    bool resv_shared;
    uint16_t tcp_gen;
    floe_time_ns now;
    floe_time_ns epoch; /* the first set_time: seconds on the server's clock count from it */
    bool have_epoch;
    uint64_t unix_s;
    bool draining;
    uint64_t counters[FLOE_TSRV_COUNTER_COUNT];
};

/* Seconds on the server's clock (never 0 once time is set). */
uint32_t tsrv_secs(const floe_turn_server *srv);
uint64_t tsrv_hash(const floe_turn_server *srv, const void *p, size_t n);

/* turn_table.c */
int tsrv_table_init(floe_turn_server *srv);
void tsrv_table_free(floe_turn_server *srv);
tsrv_alloc *tsrv_find(floe_turn_server *srv, const floe_turn_tuple *t);
/* NULL when the table is full. */
tsrv_alloc *tsrv_insert(floe_turn_server *srv, const floe_turn_tuple *t, uint64_t user_hash);
/* Closes the relays and frees the slot. */
void tsrv_remove(floe_turn_server *srv, tsrv_alloc *a);
uint64_t tsrv_handle(const floe_turn_server *srv, const tsrv_alloc *a);
tsrv_alloc *tsrv_by_handle(floe_turn_server *srv, uint64_t handle);
uint32_t tsrv_user_count(const floe_turn_server *srv, uint64_t user_hash);

/* turn_srv_auth.c */
typedef enum tsrv_auth {
    TSRV_AUTH_OK,
    TSRV_AUTH_CHALLENGE, /* no credentials: 401 */
    TSRV_AUTH_BAD,       /* 400: integrity without USERNAME/REALM/NONCE */
    TSRV_AUTH_STALE,     /* 438 */
    TSRV_AUTH_FAILED,    /* 401 */
} tsrv_auth;
/* Checks a request's credentials; on success fills key and the username's hash. */
tsrv_auth tsrv_authenticate(floe_turn_server *srv, const floe_stun_msg *m, const floe_addr *client,
                            floe_transport tr, uint8_t key[TSRV_KEY_LEN], uint64_t *user_hash);
/* Writes a fresh nonce for client into out (NUL-terminated); returns its length. */
size_t tsrv_nonce(floe_turn_server *srv, const floe_addr *client, floe_transport tr, char *out,
                  size_t cap);
/* Takes a token from client's rate bucket: false when the answer must be suppressed. */
bool tsrv_rate_take(floe_turn_server *srv, const floe_addr *client);
int tsrv_users_load(floe_turn_server *srv, const floe_turn_server_config *cfg);
void tsrv_users_free(floe_turn_server *srv);

/* turn_policy.c: the address an entry names. */
void tsrv_addr_of(uint8_t family, const uint8_t ip[16], uint16_t port, floe_addr *out);
/* True when peer (with its port) is one of the server's listening addresses. */
bool tsrv_is_self(const floe_turn_server *srv, const floe_addr *peer);

/* turn_request.c */
void tsrv_request(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                  uint8_t *out, size_t cap, floe_turn_server_out *o);
/* Installs or refreshes a permission for peer's IP; false when the cap is reached. */
bool tsrv_permit(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer);
/* Drops what a reload's policy no longer allows from one allocation. */
void tsrv_revoke(floe_turn_server *srv, tsrv_alloc *a);

/* turn_tcp.c */
int tsrv_tcp_init(floe_turn_server *srv);
/* Connect and ConnectionBind (authenticated; a is the request's allocation or NULL). */
void tsrv_tcp_connect(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                      tsrv_alloc *a, const uint8_t *key, uint8_t *out, size_t cap,
                      floe_turn_server_out *o);
void tsrv_tcp_bind(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                   uint64_t user_hash, const uint8_t *key, uint8_t *out, size_t cap,
                   floe_turn_server_out *o);
/* Closes the connections of an allocation that ends. */
void tsrv_tcp_drop_alloc(floe_turn_server *srv, uint64_t handle);
void tsrv_tcp_tick(floe_turn_server *srv);

/* turn_reserve.c */
int tsrv_resv_init(floe_turn_server *srv);
/* Its own table: releases every held port and frees it. A shared one stays. */
void tsrv_resv_free(floe_turn_server *srv);
size_t tsrv_resv_bytes(const floe_turn_server *srv);
/* True when a port pair can be opened and its upper port held. */
bool tsrv_resv_room(floe_turn_server *srv);
/* Holds `held` (at addr) for 30 s under a fresh token, which it returns; 0 when the table
 * is full after all (another core filled it): `held` is released. */
uint64_t tsrv_resv_add(floe_turn_server *srv, uint64_t owner, const floe_addr *addr, uint64_t held);
/* True while token names a live reservation (an expired one is released on the way). */
bool tsrv_resv_known(floe_turn_server *srv, uint64_t token);
/* Takes the reservation of token out of the table: its held socket now belongs to the
 * caller's allocation. False when there is none (any more). */
bool tsrv_resv_take(floe_turn_server *srv, uint64_t token, floe_addr *addr, uint64_t *held);
/* The token of the live reservation an allocation of this core made, or 0. */
uint64_t tsrv_resv_of(floe_turn_server *srv, uint64_t owner);
/* Reservations this core made that are still held. */
uint32_t tsrv_resv_count(floe_turn_server *srv);
/* Releases the reservations that ran out. */
void tsrv_resv_tick(floe_turn_server *srv);

/* turn_request.c: a finished answer (integrity with key when not NULL, FINGERPRINT when
 * fp) to the client on t; out holds the message being built in b. counter is the input's
 * outcome, or -1 when the answer is not the outcome of an input (RFC 6062 Connect). */
void tsrv_answer_finish(floe_turn_server *srv, floe_stun_builder *b, const floe_turn_tuple *t,
                        const uint8_t *key, bool fp, uint8_t *out, floe_turn_server_out *o,
                        int counter);
/* An error answer. */
void tsrv_answer_error(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                       const uint8_t *key, int code, uint8_t *out, size_t cap,
                       floe_turn_server_out *o, int counter);

/* turn_relay.c */
void tsrv_send_indication(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                          floe_turn_server_out *o);
void tsrv_channel_data(floe_turn_server *srv, const floe_turn_tuple *t, const uint8_t *p,
                       size_t len, floe_turn_server_out *o);
tsrv_perm *tsrv_perm_find(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer);
tsrv_chan *tsrv_chan_by_number(floe_turn_server *srv, tsrv_alloc *a, uint16_t number);
tsrv_chan *tsrv_chan_by_peer(floe_turn_server *srv, tsrv_alloc *a, const floe_addr *peer);
void tsrv_expire_entries(floe_turn_server *srv, tsrv_alloc *a);

/* One outcome for the input; returns nothing to send unless set later. */
static inline void tsrv_count(floe_turn_server *srv, floe_turn_server_out *o, int counter) {
    srv->counters[counter]++;
    o->counter = counter;
}

#endif
