/* floe: a TURN client (RFC 8656, with RFC 6156 dual allocation and RFC 6062 TCP
 * relaying), sans-IO.
 *
 * One floe_turn_client owns one allocation on one TURN server: the relayed transport
 * address(es) the server opened for us, the permissions that let peers' traffic through
 * it, and the channels that carry that traffic with a 4-byte header instead of a STUN
 * indication. It never touches a socket or a clock. The runtime connects to the server
 * (UDP, TCP, TLS or DTLS) and runs the five-step loop every runtime in floe runs:
 *
 *   1. feed what arrived:   r = floe_turn_client_on_recv(c, now, bytes, len, &from, &data)
 *                            (responses are consumed; r == FLOE_TURN_RECV_DATA means
 *                            `data` holds a datagram a peer sent to our relayed address)
 *   2. tick if due:          floe_turn_client_tick(c, now) when now >= the deadline
 *   3. drain sends:          while (floe_turn_client_next_send(c, now, buf, cap, &len, &to)
 *                                   == FLOE_OK) send buf to `to` (the server)
 *   4. drain events:         while (floe_turn_client_next_event(c, &ev)) ...
 *   5. re-arm the timer for floe_turn_client_deadline(c)
 *
 * Every call that changes something (allocate, permit, bind_channel, close, on_recv,
 * tick) may queue a request: drain next_send after it, before waiting for the deadline.
 *
 * A session:
 *
 *   floe_turn_config cfg;
 *   floe_turn_config_default(&cfg);
 *   cfg.server = server; cfg.transport = FLOE_TRANSPORT_UDP;
 *   cfg.username = "alice"; cfg.password = "secret"; cfg.rand = floe_rt_random;
 *   floe_turn_client_new(&c, &cfg);
 *   floe_turn_client_allocate(c, now);           // Allocate, 401, Allocate with credentials
 *   ... FLOE_TURN_EV_ALLOCATED: ev.relayed[0], ev.mapped, ev.lifetime_s
 *   floe_turn_client_permit(c, now, &peer);       // CreatePermission for peer's IP
 *   floe_turn_client_bind_channel(c, now, &peer, &ch);   // optional: ChannelBind
 *   ... FLOE_TURN_EV_PERMISSION_UP / FLOE_TURN_EV_CHANNEL_BOUND
 *   floe_turn_client_send(c, &peer, data, n, buf, cap, &len);  // ChannelData or Send
 *   send buf to the server;
 *   floe_turn_client_close(c, now);               // Refresh with LIFETIME 0
 *   ... FLOE_TURN_EV_DEALLOCATED
 *   floe_turn_client_free(c);
 *
 * What it does by itself:
 *   - authentication (RFC 8489 §9.2): the first Allocate goes without credentials; a 401
 *     with REALM and NONCE makes it retry with USERNAME (or USERHASH when the nonce
 *     cookie asks for anonymity), REALM, NONCE and MESSAGE-INTEGRITY (MD5 key), or
 *     MESSAGE-INTEGRITY-SHA256 with PASSWORD-ALGORITHM(S) when the server offers SHA-256;
 *     a 438 (stale nonce) to any request is retried with the new nonce, at most
 *     FLOE_TURN_MAX_STALE_RETRIES times in a row; every response to an authenticated
 *     request other than 401/438 must carry a valid integrity attribute or it is dropped
 *     (stats.drop_integrity), as RFC 8489 §9.2.5 says;
 *   - ALTERNATE-SERVER: a 300 to the Allocate moves to the named server once
 *     (FLOE_TURN_EV_REDIRECTED) and allocates there from scratch; a second 300 fails;
 *   - refreshes: the allocation FLOE_TURN_REFRESH_MARGIN before it expires, each
 *     permission FLOE_TURN_REFRESH_MARGIN before its FLOE_TURN_PERMISSION_LIFETIME, each
 *     channel before its FLOE_TURN_CHANNEL_LIFETIME; a refresh that times out is tried
 *     again until the thing expires; what expires is reported and removed;
 *   - failures end the allocation with FLOE_TURN_EV_FAILED and a reason: an error
 *     response (403, 437, 440, 441, 442, 486, 508, ...), no answer in time, a response
 *     that is unusable, or expiry.
 *
 * Transports (cfg.transport). Over UDP every request is retransmitted on the RFC 8489
 * §6.2.1 schedule (RTO 500 ms, 7 requests, 39.5 s). DTLS (RFC 8656 §3.1, RFC 7350) is a
 * datagram transport too and the client treats it exactly as UDP: the same
 * retransmissions, one message per datagram (one DTLS record), ChannelData unpadded; only
 * the runtime differs (it makes the DTLS handshake before the first request and
 * encrypts each message into one record). Over TCP and TLS a request is sent once and
 * given Ti (39.5 s), and the runtime frames the byte stream: STUN messages and
 * ChannelData messages follow each other, each framed by its own length field
 * (floe_turn_frame_len); ChannelData is padded to 4 bytes on a stream (RFC 8656 §12.5).
 * on_recv takes one datagram or one framed message. next_send always names the server;
 * after FLOE_TURN_EV_REDIRECTED it names the new one, and a stream or DTLS runtime
 * connects (and makes the handshake) before writing.
 *
 * TCP relaying (RFC 6062), cfg.tcp_relay. The allocation asks for REQUESTED-TRANSPORT
 * TCP, which a server grants only over a TCP or TLS control connection (the one the
 * client already uses). The relayed address is then a TCP port on the server, and each
 * TCP connection between it and a peer is carried by its own new TCP (or TLS)
 * connection from the client to the server, a "data connection". The client core never
 * opens one: it says when the runtime must, builds and checks the one message a data
 * connection carries before it turns into a plain byte pipe (ConnectionBind), and keeps
 * a bounded table of the connections (FLOE_TURN_MAX_CONNECTIONS). Two ways in:
 *
 *   outgoing: floe_turn_client_connect(c, now, &peer)     // Connect on the control
 *             ... FLOE_TURN_EV_CONNECTED: ev.peer, ev.connection_id
 *   incoming: floe_turn_client_permit(c, now, &peer)      // §5.3: peers need a permission
 *             ... FLOE_TURN_EV_CONNECTION_ATTEMPT: ev.peer, ev.connection_id
 *             floe_turn_client_accept(c, now, id)         // or ignore it: the server
 *                                                         // closes it after 30 s
 *   then, for the connection id:
 *     1. open a new TCP (TLS) connection to floe_turn_client_server(c) (the address the
 *        control connection goes to, RFC 6062 §4.3) within 30 s;
 *     2. once it is connected (TLS: handshake done): floe_turn_client_conn_opened(c, now, id)
 *     3. write what floe_turn_client_conn_next_send hands out for id (the ConnectionBind,
 *        again after a 438), and feed every STUN message read from that connection (frame
 *        with floe_stun_frame_len) to floe_turn_client_conn_on_recv(c, now, id, ...);
 *     4. FLOE_TURN_EV_CONNECTION_BOUND: from the byte after the ConnectionBind success
 *        on, the data connection carries the peer's bytes both ways, unframed; the core
 *        is done with it. Close it when you like and tell the core
 *        (floe_turn_client_conn_closed).
 *   FLOE_TURN_EV_CONNECTION_FAILED (err, error_code: 403 Forbidden, 446 Connection
 *   Already Exists, 447 Connection Timeout or Failure, a ConnectionBind refused, no
 *   answer, 30 s without a data connection) ends one connection: close its data
 *   connection if one is open. FLOE_TURN_EV_FAILED and _DEALLOCATED end them all: the
 *   server closes every data connection of the allocation (RFC 6062 §5.5), so close
 *   yours too. Send indications and channels do not exist on a TCP allocation
 *   (send() and bind_channel() say FLOE_ERR_UNSUPPORTED).
 *
 * Bounds. Permissions, channels, outstanding transactions and queued events each have a
 * cap; hitting one is an error code and a counter, never growth. Data from peers is not
 * queued: on_recv points into the caller's buffer. */
#ifndef FLOE_TURN_H
#define FLOE_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun.h"
#include "floe/time.h"
#include "floe/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- constants ------------------------------------------------------------------- */

#define FLOE_TURN_PORT 3478            /* RFC 8656 §4: TURN over UDP and TCP */
#define FLOE_TURNS_PORT 5349           /* RFC 8656 §4: TURN over TLS and DTLS */
#define FLOE_TURN_LIFETIME_DEFAULT 600 /* RFC 8656 §7.2: default allocation lifetime, s */
#define FLOE_TURN_LIFETIME_MAX 3600    /* RFC 8656 §7.2: servers cap it at one hour */
#define FLOE_TURN_PERMISSION_LIFETIME FLOE_S(300) /* RFC 8656 §9: permissions last 300 s */
#define FLOE_TURN_CHANNEL_LIFETIME FLOE_S(600)    /* RFC 8656 §12: channel bindings 10 min */
/* Refresh this long before expiry (RFC 8656 §7.3 and §12.1 leave the lead to the client;
 * a minute leaves room for a full UDP transaction, 39.5 s). Short lifetimes are
 * refreshed half-way instead. */
#define FLOE_TURN_REFRESH_MARGIN FLOE_S(60)
#define FLOE_TURN_CHANNEL_MIN 0x4000u /* RFC 8656 §12: channel numbers 0x4000-0x4FFF */
#define FLOE_TURN_CHANNEL_MAX 0x4FFFu
/* RFC 5766 §11 allowed 0x4000-0x7FFF; RFC 8656 reserved 0x5000-0x7FFF. floe's client only
 * uses the RFC 8656 range; floe's server also accepts the old one (coturn's clients use it). */
#define FLOE_TURN_CHANNEL_MAX_RFC5766 0x7FFFu
#define FLOE_TURN_CHANNEL_HEADER 4 /* RFC 8656 §12.4: channel number and length */
#define FLOE_TURN_TRANSPORT_UDP 17 /* RFC 8656 §18.8: REQUESTED-TRANSPORT for UDP relaying */
#define FLOE_TURN_TRANSPORT_TCP 6  /* RFC 6062 §6.1: ... and for TCP relaying */
/* RFC 6062 §5.2, §5.3: a server keeps a connection it named (Connect success or
 * ConnectionAttempt) this long for the client's ConnectionBind, then closes it. */
#define FLOE_TURN_CONN_BIND_WINDOW FLOE_S(30)
#define FLOE_TURN_FAMILY_IPV4 0x01 /* RFC 8656 §18.6: REQUESTED-ADDRESS-FAMILY values */
#define FLOE_TURN_FAMILY_IPV6 0x02
/* Largest payload one ChannelData message or Send indication carries: the 16-bit length
 * of ChannelData (RFC 8656 §12.4) less what a Send indication with an IPv6 peer needs. */
#define FLOE_TURN_MAX_DATA (65535 - FLOE_STUN_HEADER_LEN - 24 - 4)

/* floe's caps. */
#define FLOE_TURN_MAX_PERMISSIONS 32  /* peers (by IP) with a permission */
#define FLOE_TURN_MAX_CHANNELS 32     /* channel bindings */
#define FLOE_TURN_MAX_TXNS 8          /* outstanding requests (one is kept for the allocation) */
#define FLOE_TURN_MAX_EVENTS 16       /* events waiting to be pulled */
#define FLOE_TURN_MAX_CONNECTIONS 16  /* RFC 6062 peer connections, from Connect until closed */
#define FLOE_TURN_MAX_REQUEST 1024    /* largest request built (credentials included) */
#define FLOE_TURN_MAX_CRED 256        /* longest username, password, realm or nonce kept */
#define FLOE_TURN_MAX_SOFTWARE 128    /* longest SOFTWARE value sent */
#define FLOE_TURN_REASON_MAX 128      /* reason text in events, NUL included */
#define FLOE_TURN_MAX_STALE_RETRIES 3 /* 438 answers to one request before giving up */
#define FLOE_TURN_MAX_REDIRECTS 1     /* 300 answers followed (RFC 8489 §10: avoid loops) */

/* ---- configuration --------------------------------------------------------------- */

/* Random-bytes source (floe_rt_random fits): fills buf, returns FLOE_OK or an error. */
typedef int (*floe_turn_rand_fn)(void *ctx, void *buf, size_t len);

typedef struct floe_turn_config {
    floe_addr server;         /* the TURN server's transport address */
    floe_transport transport; /* UDP (default), TCP, TLS or DTLS to the server */
    const char *username;     /* long-term credentials (RFC 8489 §9.2); NULL: none, for a */
    const char *password;     /* server that does not authenticate. Copied. */
    const char *realm;        /* if set, authenticate only to this realm: a 401 naming
                                 another fails the allocation (FLOE_ERR_AUTH). Copied. */
    const char *software;     /* SOFTWARE in requests; NULL sends none */
    uint32_t lifetime;        /* LIFETIME asked for in Allocate and Refresh, seconds; 0 asks
                                 for nothing (the server's default, 600 s) */
    uint8_t family;           /* relayed address family: FLOE_AF_INET4 (or NONE) or _INET6
                                 (REQUESTED-ADDRESS-FAMILY, RFC 8656 §7.1) */
    bool dual;                /* IPv4 and IPv6 relayed addresses in one allocation
                                 (ADDITIONAL-ADDRESS-FAMILY, RFC 8656 §7.1); family must be
                                 IPv4 */
    bool tcp_relay;           /* RFC 6062: a TCP allocation (REQUESTED-TRANSPORT TCP); needs
                                 transport TCP or TLS and no dual */
    bool fingerprint;         /* FINGERPRINT on requests (default true) */
    unsigned max_permissions; /* 0 = FLOE_TURN_MAX_PERMISSIONS (also the largest value) */
    unsigned max_channels;    /* 0 = FLOE_TURN_MAX_CHANNELS (also the largest value) */
    unsigned max_connections; /* 0 = FLOE_TURN_MAX_CONNECTIONS (also the largest value) */
    floe_time_ns rto;         /* initial RTO over UDP/DTLS; 0 = FLOE_STUN_RTO_DEFAULT (500 ms) */
    floe_time_ns timeout;     /* if non-zero, the Allocate (with its 401 and 438 rounds) must
                                 succeed within this time of floe_turn_client_allocate */
    floe_turn_rand_fn rand;   /* required: transaction IDs */
    void *rand_ctx;
} floe_turn_config;

/* UDP, no credentials, IPv4, FINGERPRINT on, default caps and timing. */
void floe_turn_config_default(floe_turn_config *c);

/* ---- states and events ----------------------------------------------------------- */

/* The allocation (RFC 8656 §7). Changed only by one transition function
 * (src/turn/turn_fsm.c). */
typedef enum floe_turn_state {
    FLOE_TURN_NEW = 0,      /* created; floe_turn_client_allocate not called yet */
    FLOE_TURN_ALLOCATING,   /* an Allocate is out (401, 438 and 300 rounds included) */
    FLOE_TURN_ALLOCATED,    /* relayed address(es) known; refreshed before expiry */
    FLOE_TURN_DEALLOCATING, /* a Refresh with LIFETIME 0 is out */
    FLOE_TURN_CLOSED,       /* deallocated (or closed before allocating): final */
    FLOE_TURN_FAILED,       /* the allocation could not be made or was lost: final */
} floe_turn_state;

/* A permission (RFC 8656 §9) or a channel binding (§12). */
typedef enum floe_turn_bind_state {
    FLOE_TURN_BIND_NEW = 0,    /* asked for; the request waits for the allocation or a
                                  transaction slot */
    FLOE_TURN_BIND_PENDING,    /* the first request is out */
    FLOE_TURN_BIND_UP,         /* installed on the server */
    FLOE_TURN_BIND_REFRESHING, /* installed, and a refresh is out */
    FLOE_TURN_BIND_FAILED,     /* refused, timed out before it was up, or expired */
} floe_turn_bind_state;

/* A peer connection of a TCP allocation (RFC 6062), as the client sees it. Changed only
 * by turn_conn_next_state (src/turn/turn_fsm.c). */
typedef enum floe_turn_conn_state {
    FLOE_TURN_CONN_NEW = 0,    /* connect() called: the Connect waits for the allocation or
                                  a transaction slot */
    FLOE_TURN_CONN_CONNECTING, /* the Connect is out; the server connects to the peer */
    FLOE_TURN_CONN_OFFERED,    /* a ConnectionAttempt came: accept() or let it go */
    FLOE_TURN_CONN_OPENING,    /* the id is known: the runtime opens the data connection */
    FLOE_TURN_CONN_BINDING,    /* the data connection is open; the ConnectionBind waits for a
                                  slot or is out */
    FLOE_TURN_CONN_BOUND,      /* the data connection carries the peer's bytes */
    FLOE_TURN_CONN_FAILED,     /* refused, unanswered, or not bound in time: removed */
    FLOE_TURN_CONN_CLOSED,     /* the runtime closed it (conn_closed): removed */
} floe_turn_conn_state;

typedef enum floe_turn_event_type {
    FLOE_TURN_EV_NONE = 0,
    FLOE_TURN_EV_ALLOCATED,         /* relayed, n_relayed, mapped, lifetime_s, rtt_ns;
                                       address_error_* when one family of a dual
                                       allocation was refused */
    FLOE_TURN_EV_REFRESHED,         /* the allocation was refreshed: lifetime_s */
    FLOE_TURN_EV_REDIRECTED,        /* 300 ALTERNATE-SERVER: `server` is the new server */
    FLOE_TURN_EV_PERMISSION_UP,     /* peer's IP may now send to the relayed address */
    FLOE_TURN_EV_PERMISSION_FAILED, /* peer: refused (error_code), timed out, or expired */
    FLOE_TURN_EV_CHANNEL_BOUND,     /* peer is bound to `channel` */
    FLOE_TURN_EV_CHANNEL_FAILED,    /* peer/channel: refused, timed out or expired */
    FLOE_TURN_EV_FAILED,            /* the allocation is gone: err, error_code, reason */
    FLOE_TURN_EV_DEALLOCATED,       /* close() finished (error_code/err say how it ended:
                                       0 when the server confirmed) */
    /* RFC 6062 (cfg.tcp_relay): */
    FLOE_TURN_EV_CONNECTED,          /* Connect succeeded: peer, connection_id; open a data
                                        connection for it now (see the top of this file) */
    FLOE_TURN_EV_CONNECTION_ATTEMPT, /* a peer connected to the relayed address: peer,
                                        connection_id; accept() it within 30 s, or not */
    FLOE_TURN_EV_CONNECTION_BOUND,   /* ConnectionBind succeeded: connection_id's data
                                        connection now carries peer's bytes */
    FLOE_TURN_EV_CONNECTION_FAILED,  /* peer/connection_id (0 when the Connect failed):
                                        err, error_code (403, 446, 447, ...), reason */
} floe_turn_event_type;

typedef struct floe_turn_event {
    floe_turn_event_type type;
    floe_time_ns at;              /* when it happened */
    floe_addr peer;               /* PERMISSION_*, CHANNEL_*, CONNECT* */
    uint32_t connection_id;       /* CONNECT*: the server's CONNECTION-ID (RFC 6062 §6.2.1) */
    uint16_t channel;             /* CHANNEL_* */
    floe_addr server;             /* REDIRECTED: where the client now goes; else the server */
    floe_addr relayed[2];         /* ALLOCATED: relayed addresses (the requested family first) */
    unsigned n_relayed;           /* ALLOCATED: 1, or 2 for a dual allocation */
    floe_addr mapped;             /* ALLOCATED: XOR-MAPPED-ADDRESS, our address as the server
                                     sees it (FLOE_AF_NONE if the server sent none) */
    uint32_t lifetime_s;          /* ALLOCATED, REFRESHED: seconds granted */
    floe_time_ns rtt_ns;          /* ALLOCATED: round trip of the final Allocate, from its first
                                     send (an upper bound when it was retransmitted) */
    int err;                      /* failures: a floe_err (FLOE_ERR_ERROR_RESPONSE, _TIMEOUT,
                                     _INTEGRITY, _MALFORMED, _UNKNOWN_ATTR, _AUTH, _LIMIT) */
    int error_code;               /* the STUN error code when a server answer caused it, else 0 */
    uint8_t address_error_family; /* ALLOCATED: FLOE_AF_INET4/6 refused in a dual one */
    int address_error_code;       /* ... with this code (440, 508), else 0 */
    char reason[FLOE_TURN_REASON_MAX]; /* failures: the server's reason phrase or floe's
                                          own sentence; printable, NUL-terminated */
} floe_turn_event;

/* ---- lifetime -------------------------------------------------------------------- */

typedef struct floe_turn_client floe_turn_client;

/* Allocates a client (one allocation, the only one it makes). FLOE_ERR_INVAL for a bad
 * config: no rand, no server address, an unknown transport, dual with an IPv6 family, caps
 * above their limits, a username without password, credentials or SOFTWARE longer than
 * their caps; FLOE_ERR_NOMEM. */
int floe_turn_client_new(floe_turn_client **out, const floe_turn_config *cfg);
/* Frees the client (NULL is fine). It sends nothing: close() first to deallocate. */
void floe_turn_client_free(floe_turn_client *c);

/* Starts the allocation: the first Allocate is then waiting in next_send.
 * FLOE_ERR_STATE unless the client is new; the random source's error. */
int floe_turn_client_allocate(floe_turn_client *c, floe_time_ns now);
/* Deallocates (RFC 8656 §7.5: a Refresh with LIFETIME 0). Outstanding permission and
 * channel requests are abandoned. FLOE_TURN_EV_DEALLOCATED follows when the server
 * answers or the request times out; before the allocation exists it follows at once.
 * FLOE_ERR_STATE when already closing, closed or failed. */
int floe_turn_client_close(floe_turn_client *c, floe_time_ns now);

/* ---- permissions, channels and data ---------------------------------------------- */

/* Installs a permission for peer's IP address (the port does not matter, RFC 8656 §9)
 * and keeps it fresh. May be called before the allocation is up: the CreatePermission
 * goes out once it is. Calling it again for a known IP does nothing. FLOE_ERR_LIMIT when
 * the table is full (stats.cap_permissions), FLOE_ERR_UNSUPPORTED when the allocation has
 * no relayed address of the peer's family, FLOE_ERR_INVAL for a bad address,
 * FLOE_ERR_STATE when the client is closing, closed or failed. */
int floe_turn_client_permit(floe_turn_client *c, floe_time_ns now, const floe_addr *peer);
/* Binds a channel to peer (IP and port) and keeps it fresh; *channel gets its number
 * (0x4000 up). The binding also installs and refreshes the peer's permission (RFC 8656
 * §12.1), so permit() is not needed for that peer. Once FLOE_TURN_EV_CHANNEL_BOUND has
 * come, send() uses ChannelData for peer. The same peer again returns its channel.
 * Errors as for permit(), and FLOE_ERR_LIMIT when the channel table is full. */
int floe_turn_client_bind_channel(floe_turn_client *c, floe_time_ns now, const floe_addr *peer,
                                  uint16_t *channel);
/* The state of peer's permission (by IP) or channel (by IP and port), or FAILED when
 * there is none. *channel (may be NULL) gets the channel number. */
floe_turn_bind_state floe_turn_client_permission(const floe_turn_client *c, const floe_addr *peer);
floe_turn_bind_state floe_turn_client_channel(const floe_turn_client *c, const floe_addr *peer,
                                              uint16_t *channel);

/* Wraps one datagram for peer into buf, ready to go to the server: a ChannelData message
 * when peer's channel is bound (padded to 4 bytes over TCP/TLS), else a Send indication
 * (RFC 8656 §11.1). Needs an allocation and a permission that is up (or a bound channel).
 * FLOE_ERR_STATE without them, FLOE_ERR_LIMIT above FLOE_TURN_MAX_DATA, FLOE_ERR_NOSPACE
 * when cap is too small (len + 52 bytes always suffice). */
int floe_turn_client_send(floe_turn_client *c, const floe_addr *peer, const uint8_t *data,
                          size_t len, uint8_t *buf, size_t cap, size_t *out_len);

/* ---- the loop -------------------------------------------------------------------- */

typedef enum floe_turn_recv_kind {
    FLOE_TURN_RECV_CONTROL = 0, /* a response, consumed */
    FLOE_TURN_RECV_DATA,        /* a datagram from a peer: see floe_turn_data */
    FLOE_TURN_RECV_DROPPED,     /* unusable or unexpected input: counted in stats */
} floe_turn_recv_kind;

/* A datagram a peer sent to our relayed address, as the server passed it on. */
typedef struct floe_turn_data {
    floe_addr peer;   /* the peer's address (the channel's peer for ChannelData) */
    const uint8_t *p; /* the payload, pointing into the buffer given to on_recv */
    size_t len;
    uint16_t channel; /* the channel it came on, or 0 for a Data indication */
} floe_turn_data;

/* Feeds one datagram (UDP; over DTLS one record's payload) or one framed message
 * (TCP/TLS) from `from`, which must be the server. Demultiplexes by the first byte
 * (RFC 8656 §12.4, RFC 7983): 0x40-0x4F is ChannelData, 0x00-0x03 STUN. Never fails: bad
 * input is dropped and counted. data may be NULL when the caller wants no data. */
floe_turn_recv_kind floe_turn_client_on_recv(floe_turn_client *c, floe_time_ns now,
                                             const uint8_t *p, size_t len, const floe_addr *from,
                                             floe_turn_data *data);
/* Runs timers: retransmissions, timeouts, refreshes, expiry. Afterwards the deadline lies
 * in the future (or is FLOE_TIME_NEVER). Calling it early or twice is harmless. */
void floe_turn_client_tick(floe_turn_client *c, floe_time_ns now);
/* Next request to send (ticking first), to *to (the current server). FLOE_ERR_NOT_FOUND
 * when none is due, FLOE_ERR_NOSPACE when cap is too small (it stays queued;
 * FLOE_TURN_MAX_REQUEST always suffices). */
int floe_turn_client_next_send(floe_turn_client *c, floe_time_ns now, uint8_t *buf, size_t cap,
                               size_t *len, floe_addr *to);
/* When tick must next run, or FLOE_TIME_NEVER. */
floe_time_ns floe_turn_client_deadline(const floe_turn_client *c);
/* Pops the oldest event; false when there is none. When FLOE_TURN_MAX_EVENTS wait, the
 * oldest is dropped (stats.events_dropped). */
bool floe_turn_client_next_event(floe_turn_client *c, floe_turn_event *ev);

/* ---- TCP relaying (RFC 6062; cfg.tcp_relay) ----------------------------------------- */

/* Asks the server to open a TCP connection from the relayed address to peer (IP and
 * port): a Connect request (§4.3). May be called before the allocation is up: the
 * Connect goes out once it is. FLOE_TURN_EV_CONNECTED (with the connection id) or
 * FLOE_TURN_EV_CONNECTION_FAILED follows. No CreatePermission is needed for an outgoing
 * connection (permit() is for peers that connect in). FLOE_ERR_UNSUPPORTED without cfg.tcp_relay
 * (or for a peer of a family the allocation does not have), FLOE_ERR_INVAL for a bad address or
 * port 0, FLOE_ERR_STATE when the client is closing, closed or failed, or a connection with that
 * peer is being made or is open; FLOE_ERR_LIMIT when the connection table is full
 * (stats.cap_connections). */
int floe_turn_client_connect(floe_turn_client *c, floe_time_ns now, const floe_addr *peer);
/* Takes the connection a FLOE_TURN_EV_CONNECTION_ATTEMPT offered: the runtime opens its
 * data connection next. FLOE_ERR_NOT_FOUND for an unknown id, FLOE_ERR_STATE when it was
 * not offered (or taken already). */
int floe_turn_client_accept(floe_turn_client *c, floe_time_ns now, uint32_t id);
/* The runtime's data connection for id is connected (for TLS: the handshake is done): the
 * ConnectionBind is built and waits in conn_next_send. FLOE_ERR_NOT_FOUND, FLOE_ERR_STATE
 * (not waiting for its data connection). */
int floe_turn_client_conn_opened(floe_turn_client *c, floe_time_ns now, uint32_t id);
/* The runtime closed id's data connection (or could not open it), or declines an offered
 * connection: the core forgets it, its ConnectionBind is abandoned. No event follows.
 * Unknown ids are ignored. */
void floe_turn_client_conn_closed(floe_turn_client *c, floe_time_ns now, uint32_t id);
/* Next message owed to a data connection (the ConnectionBind), ticking first: *id says
 * which. FLOE_ERR_NOT_FOUND when none is due, FLOE_ERR_NOSPACE as for next_send. */
int floe_turn_client_conn_next_send(floe_turn_client *c, floe_time_ns now, uint8_t *buf, size_t cap,
                                    size_t *len, uint32_t *id);
/* Feeds one STUN message read from id's data connection before it was bound (its
 * ConnectionBind answer). FLOE_TURN_RECV_CONTROL when it was that answer, else
 * FLOE_TURN_RECV_DROPPED (counted, as for on_recv; an unknown id is drop_unmatched).
 * After FLOE_TURN_EV_CONNECTION_BOUND nothing from that connection belongs here. */
floe_turn_recv_kind floe_turn_client_conn_on_recv(floe_turn_client *c, floe_time_ns now,
                                                  uint32_t id, const uint8_t *p, size_t len);
/* The state of connection id, or FAILED when there is none; *peer (may be NULL) gets its
 * peer. Connections still making their Connect have no id yet: see
 * floe_turn_client_conn_to. */
floe_turn_conn_state floe_turn_client_conn(const floe_turn_client *c, uint32_t id, floe_addr *peer);
/* The state of the connection with peer (IP and port), or FAILED when there is none;
 * *id (may be NULL) gets its id, 0 while the Connect is out. */
floe_turn_conn_state floe_turn_client_conn_to(const floe_turn_client *c, const floe_addr *peer,
                                              uint32_t *id);

/* ---- inspection ------------------------------------------------------------------ */

floe_turn_state floe_turn_client_state(const floe_turn_client *c);
/* The server requests go to (changes after a redirect). */
floe_addr floe_turn_client_server(const floe_turn_client *c);
/* Relayed addresses of the allocation (up to max into out); returns how many there are
 * (0 before it is allocated). */
size_t floe_turn_client_relayed(const floe_turn_client *c, floe_addr *out, size_t max);
/* When the allocation expires unless refreshed (FLOE_TIME_NEVER before it exists). */
floe_time_ns floe_turn_client_expiry(const floe_turn_client *c);

/* Counters. Every input (to on_recv or conn_on_recv) ends in exactly one of the rx_* or
 * drop_* counters: rx == rx_responses + rx_channel_data + rx_data_indications +
 * rx_connection_attempts + sum(drop_*). */
typedef struct floe_turn_stats {
    uint64_t rx;                     /* inputs given to on_recv */
    uint64_t rx_responses;           /* responses matched to an outstanding request */
    uint64_t rx_channel_data;        /* ChannelData messages passed up */
    uint64_t rx_data_indications;    /* Data indications passed up */
    uint64_t rx_connection_attempts; /* ConnectionAttempt indications taken (RFC 6062) */
    uint64_t drop_malformed;         /* neither STUN nor ChannelData, bad framing or values */
    uint64_t drop_not_server;        /* from another address than the server */
    uint64_t drop_unmatched;         /* a response to no outstanding request */
    uint64_t drop_integrity;         /* a response to an authenticated request without a valid
                                        MESSAGE-INTEGRITY(-SHA256) */
    uint64_t drop_unexpected;        /* requests, indications other than Data (and
                                        ConnectionAttempt), Data indications on a TCP
                                        allocation, a ConnectionAttempt that cannot be taken
                                        (not a TCP allocation, id in use, table full) */
    uint64_t drop_no_binding;        /* data from a peer without permission, or on an unknown
                                        channel */
    uint64_t transactions;           /* requests started (not counting retransmissions) */
    uint64_t tx_requests;            /* requests handed out by next_send, copies included */
    uint64_t tx_channel_data;        /* ChannelData messages built by send() */
    uint64_t tx_send_indications;    /* Send indications built by send() */
    uint64_t timeouts;               /* transactions that got no usable answer */
    uint64_t stale_nonces;           /* 438 answers retried */
    uint64_t refreshes;              /* allocation refreshes that succeeded */
    uint64_t cap_permissions;        /* permit() refused: table full */
    uint64_t cap_channels;           /* bind_channel() refused: table full */
    uint64_t cap_connections;        /* connect() or a ConnectionAttempt refused: table full */
    uint64_t connections_bound;      /* ConnectionBind successes (RFC 6062) */
    uint64_t txn_waits;              /* a request waited for a free transaction slot */
    uint64_t events_dropped;         /* events lost because nobody pulled them */
} floe_turn_stats;

const floe_turn_stats *floe_turn_client_stats(const floe_turn_client *c);

/* Names for logs: "allocating", "up", "channel-bound", ... */
const char *floe_turn_state_name(floe_turn_state s);
const char *floe_turn_bind_state_name(floe_turn_bind_state s);
const char *floe_turn_conn_state_name(floe_turn_conn_state s);
const char *floe_turn_event_name(floe_turn_event_type t);

/* ---- ChannelData framing (RFC 8656 §12.4, §12.5) ------------------------------------ */

/* True for 0x4000..0x4FFF. */
static inline bool floe_turn_channel_valid(uint16_t ch) {
    return ch >= FLOE_TURN_CHANNEL_MIN && ch <= FLOE_TURN_CHANNEL_MAX;
}
/* Writes a ChannelData message: channel number, length, data, and with pad zero bytes up
 * to a multiple of 4 (required over TCP/TLS, optional over UDP). FLOE_ERR_INVAL for a bad
 * channel or a payload over 65535 bytes, FLOE_ERR_NOSPACE when cap is too small. */
int floe_turn_channel_data_encode(uint16_t channel, const uint8_t *data, size_t len, bool pad,
                                  uint8_t *out, size_t cap, size_t *out_len);
/* Reads one ChannelData message that fills p[0..len) (a datagram or a framed message):
 * the declared length must fit, and anything after it may only be padding (up to the next
 * multiple of 4). FLOE_ERR_TRUNCATED (shorter than its header or its length),
 * FLOE_ERR_MALFORMED (a channel number outside 0x4000-0x4FFF, or more than padding after
 * the data). *data points into p. */
int floe_turn_channel_data_decode(const uint8_t *p, size_t len, uint16_t *channel,
                                  const uint8_t **data, size_t *data_len);
/* Stream framing for TURN over TCP/TLS: from the first bytes of the stream, the length of
 * the next whole message (a STUN message, or a ChannelData message with its padding).
 * FLOE_OK with *need set, FLOE_ERR_TRUNCATED when more bytes are needed to tell, or
 * FLOE_ERR_MALFORMED when the bytes start neither (the stream cannot be resynchronised:
 * close it). */
int floe_turn_frame_len(const uint8_t *p, size_t len, size_t *need);
/* The same three with another highest channel number (FLOE_TURN_CHANNEL_MAX_RFC5766). */
int floe_turn_channel_data_encode_upto(uint16_t channel, uint16_t max_channel, const uint8_t *data,
                                       size_t len, bool pad, uint8_t *out, size_t cap,
                                       size_t *out_len);
int floe_turn_channel_data_decode_upto(const uint8_t *p, size_t len, uint16_t max_channel,
                                       uint16_t *channel, const uint8_t **data, size_t *data_len);
int floe_turn_frame_len_upto(const uint8_t *p, size_t len, uint16_t max_channel, size_t *need);

/* ---- TURN REST credentials --------------------------------------------------------- */

/* Longest username and password floe_turn_rest_credentials writes, NUL included. */
#define FLOE_TURN_REST_USER_MAX (FLOE_TURN_MAX_CRED)
#define FLOE_TURN_REST_PASS_MAX 32 /* base64 of a 20-byte HMAC-SHA1: 28 characters */

/* Ephemeral credentials shared with a TURN server through a secret (the "TURN REST API"
 * of draft-uberti-behave-turn-rest, coturn's --use-auth-secret): the username is
 * "EXPIRY:USER" (or just "EXPIRY" when user is NULL or empty), EXPIRY being the UNIX
 * time in seconds after which the server refuses it, and the password is
 * base64(HMAC-SHA1(secret, username)). Time is the caller's: pass now + validity.
 * FLOE_ERR_INVAL (empty secret, user with ':'), FLOE_ERR_NOSPACE, FLOE_ERR_CRYPTO. */
int floe_turn_rest_credentials(const char *secret, const char *user, uint64_t expiry_unix,
                               char *username, size_t username_cap, char *password,
                               size_t password_cap);

/* The password for a REST username (the server's side): base64(HMAC-SHA1(secret,
 * username)), NUL-terminated. FLOE_ERR_NOSPACE, FLOE_ERR_CRYPTO. */
int floe_turn_rest_password(const char *secret, const char *username, size_t username_len,
                            char *password, size_t password_cap);

#ifdef __cplusplus
}
#endif
#endif
