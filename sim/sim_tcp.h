/* floe simulator: TCP listeners and connections on simulated hosts.
 *
 * The model. A connection exchanges real segments with its peer: each one is a packet
 * of the world (protocol TCP, with flags SYN, ACK, FIN, RST and PSH, a 32-bit byte
 * sequence number and a cumulative ack number), so every network it crosses applies
 * its delay, jitter, loss, MTU (20 bytes of TCP header instead of 8 of UDP), partitions
 * and reordering to it exactly as to a datagram, NATs and firewalls translate and filter
 * it (nat/sim_nat.h), tracers and the pcapng writer see it, and the world's counters
 * count it (FLOE_SIM_TX when it leaves, FLOE_SIM_DELIVERED when it reaches its
 * connection or listener, or one drop reason).
 *
 *   handshake      SYN, SYN-ACK, ACK, with initial sequence numbers drawn from the
 *                  host's stream of the world's seed. The SYN (or SYN-ACK) is sent again
 *                  on the RFC 6298 schedule: 1 s, then doubling; after
 *                  FLOE_SIM_TCP_SYN_TRIES copies without an answer (63 s) the connect
 *                  fails. A RST to the SYN (nothing listens on that port) fails it at
 *                  once. A listener hands a connection over (accept_fn) when the
 *                  handshake's last ACK arrives; no simultaneous open.
 *   data           segments of at most the MSS: FLOE_SIM_TCP_MSS, made smaller when the
 *                  first network on the way has a smaller MTU (there is no path MTU
 *                  discovery: a smaller MTU further on loses full segments). Every side
 *                  offers a fixed window of FLOE_SIM_TCP_WINDOW bytes. The receiver acks
 *                  every segment at once (no delayed acks) and keeps segments that come
 *                  early (a hole before them) up to the window, passing bytes up in
 *                  order only.
 *   loss           a retransmission timer per connection with the RFC 6298 estimator
 *                  (srtt, rttvar, Karn's rule: no samples from retransmitted segments),
 *                  at least FLOE_SIM_TCP_RTO_MIN and at most FLOE_SIM_TCP_RTO_MAX,
 *                  doubling on each expiry. An expiry resends from the oldest byte not
 *                  acknowledged (go-back-N) with a congestion window of one segment that
 *                  grows by one per ack (from FLOE_SIM_TCP_INITIAL_CWND at the start,
 *                  RFC 6928); three duplicate acks resend the oldest segment at once
 *                  (fast retransmit, RFC 5681) and each partial ack the next hole
 *                  (RFC 6582). After FLOE_SIM_TCP_MAX_RETRIES expiries in a row without
 *                  progress the connection fails.
 *   close          FIN after the queued bytes (half-close: either side may keep sending
 *                  after the other's FIN); a RST ends the connection (FAILED). A segment
 *                  for a port nobody listens on is answered with a RST.
 *
 * Everything is deterministic: the clock is the world's and the only random numbers
 * are the initial sequence numbers. Connections and listeners count as sockets
 * (cfg.max_sockets) and each connection owns a timer (cfg.max_timers).
 *
 * Using it. Callbacks run from the world's events, one at a time; inside them any call
 * of this API is allowed (sending, closing this connection or another, connecting).
 *
 *   static void on_conn(void *ctx, floe_sim_tcp *c, floe_time_ns now,
 *                       floe_sim_tcp_event ev, const uint8_t *p, size_t len) { ... }
 *   floe_sim_tcp *c;
 *   floe_sim_tcp_connect(alice, &any4, &server, on_conn, ctx, &c);
 *   floe_sim_tcp_send(c, req, n);         // queued until connected
 *   floe_sim_run_for(sim, FLOE_S(5));     // CONNECTED, then DATA ...
 *   floe_sim_tcp_close(c);                // the rest is sent, then FIN
 *
 * Closing. floe_sim_tcp_close ends the handle for the caller at once: no callback runs
 * for it any more. The connection itself lives on inside the world until its queued
 * bytes and its FIN are acknowledged (bounded by the retransmission limit), then waits
 * for the peer's FIN at most FLOE_SIM_TCP_FIN_TIMEOUT and lingers
 * FLOE_SIM_TCP_2MSL in TIME-WAIT to ack a repeated FIN; bytes the peer sends after the close are
 * acknowledged and thrown away. A connection that failed stays (inert) until closed.
 * floe_sim_free frees whatever is left, sending nothing. */
#ifndef FLOE_SIM_TCP_H
#define FLOE_SIM_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/time.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_TCP_MSS 1220              /* 1280 (IPv6's least MTU) - 40 - 20: fits every link */
#define FLOE_SIM_TCP_WINDOW 65535          /* the receive window every side offers */
#define FLOE_SIM_TCP_SNDBUF (256 * 1024)   /* bytes a connection holds until they are acked */
#define FLOE_SIM_TCP_INITIAL_CWND 10       /* segments, RFC 6928 */
#define FLOE_SIM_TCP_RTO_INITIAL FLOE_S(1) /* RFC 6298 §2.1 */
#define FLOE_SIM_TCP_RTO_MIN FLOE_MS(200)  /* Linux's floor (RFC 6298 §2.4 says 1 s) */
#define FLOE_SIM_TCP_RTO_MAX FLOE_S(60)    /* RFC 6298 §2.5 */
#define FLOE_SIM_TCP_SYN_TRIES                                                                     \
    6                              /* SYNs (or SYN-ACKs) sent: at 0, 1, 3, 7, 15, 31 s;            \
                                      the connect fails at 63 s */
#define FLOE_SIM_TCP_MAX_RETRIES 8 /* expiries in a row without progress: failed */
#define FLOE_SIM_TCP_FIN_TIMEOUT                                                                   \
    FLOE_S(60)                      /* a closed connection waits this long for the                 \
                                       peer's FIN (Linux's tcp_fin_timeout) */
#define FLOE_SIM_TCP_2MSL FLOE_S(2) /* time in TIME-WAIT: a short 2*MSL, so worlds go idle */

typedef struct floe_sim_tcp floe_sim_tcp;

typedef enum floe_sim_tcp_event {
    FLOE_SIM_TCP_EV_CONNECTED = 0, /* the handshake finished (the connecting side; an accepted
                                      connection is connected when accept_fn runs) */
    FLOE_SIM_TCP_EV_DATA,          /* bytes arrived, in order: p, len */
    FLOE_SIM_TCP_EV_CLOSED,        /* the peer closed its side (FIN): no more data will come */
    FLOE_SIM_TCP_EV_FAILED,        /* connect failed (RST, no answer after the SYN retries) or
                                      the connection was reset or timed out */
} floe_sim_tcp_event;

/* The states of RFC 9293 §3.3.2; CLOSED is also where a failed connection rests. */
typedef enum floe_sim_tcp_state {
    FLOE_SIM_TCP_LISTEN = 0,
    FLOE_SIM_TCP_SYN_SENT,
    FLOE_SIM_TCP_SYN_RECEIVED,
    FLOE_SIM_TCP_ESTABLISHED,
    FLOE_SIM_TCP_FIN_WAIT_1,
    FLOE_SIM_TCP_FIN_WAIT_2,
    FLOE_SIM_TCP_CLOSE_WAIT,
    FLOE_SIM_TCP_CLOSING,
    FLOE_SIM_TCP_LAST_ACK,
    FLOE_SIM_TCP_TIME_WAIT,
    FLOE_SIM_TCP_CLOSED,
} floe_sim_tcp_state;

/* An event of connection c at `now`; p and len for DATA (valid during the call only). */
typedef void (*floe_sim_tcp_fn)(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                                const uint8_t *p, size_t len);
/* listener accepted conn, already connected. Set its callback here
 * (floe_sim_tcp_set_callback): without one its events are lost. */
typedef void (*floe_sim_tcp_accept_fn)(void *ctx, floe_sim_tcp *listener, floe_sim_tcp *conn,
                                       floe_time_ns now);

/* Listens on `bind`: an address of h or the unspecified address of a family, with a port
 * (0 = the next free ephemeral one). FLOE_ERR_INVAL (no fn, bad family, an address h does
 * not have), FLOE_ERR_STATE (a TCP object of h uses that port on that address),
 * FLOE_ERR_LIMIT (cfg.max_sockets, no free port), FLOE_ERR_NOMEM. */
int floe_sim_tcp_listen(floe_sim_host *h, const floe_addr *bind, floe_sim_tcp_accept_fn fn,
                        void *ctx, floe_sim_tcp **out);
/* Connects from `bind` (an address of h, or unspecified: the address of the interface
 * the route picks; port 0 = ephemeral) to dst, sending the SYN now. The outcome is an
 * event: CONNECTED, or FAILED. FLOE_ERR_INVAL (bad addresses, families that differ),
 * FLOE_ERR_UNREACHABLE (no route: nothing is sent), FLOE_ERR_STATE (the local port is a
 * listener's, or the same connection exists), FLOE_ERR_LIMIT (sockets, timers, ports),
 * FLOE_ERR_NOMEM. fn may be NULL (set it later). */
int floe_sim_tcp_connect(floe_sim_host *h, const floe_addr *bind, const floe_addr *dst,
                         floe_sim_tcp_fn fn, void *ctx, floe_sim_tcp **out);
void floe_sim_tcp_set_callback(floe_sim_tcp *c, floe_sim_tcp_fn fn, void *ctx);
/* Queues len bytes, all or nothing, and sends what the window allows. Allowed while
 * connecting (queued until connected) and after the peer's FIN (half-close).
 * FLOE_ERR_NOSPACE when the bounded send buffer (FLOE_SIM_TCP_SNDBUF bytes not yet
 * acknowledged) cannot take it, FLOE_ERR_STATE when failed or closed (or a listener),
 * FLOE_ERR_INVAL (NULL data), FLOE_ERR_NOMEM. */
int floe_sim_tcp_send(floe_sim_tcp *c, const uint8_t *p, size_t len);
/* Bytes floe_sim_tcp_send would take now. */
size_t floe_sim_tcp_send_space(const floe_sim_tcp *c);
/* The handle is gone for the caller at once (no more callbacks); queued data is still
 * delivered, then FIN, bounded in time (see above). A listener stops listening (half-open
 * connections get a RST); a connect still in progress with nothing queued is abandoned.
 * Safe to call from inside the connection's own callback. NULL ok. */
void floe_sim_tcp_close(floe_sim_tcp *c);
/* Ends the connection with a RST at once (queued data is lost); the handle is gone as
 * with close. NULL ok. */
void floe_sim_tcp_abort(floe_sim_tcp *c);

floe_addr floe_sim_tcp_local(const floe_sim_tcp *c);
/* The peer's address (family FLOE_AF_NONE for a listener). */
floe_addr floe_sim_tcp_remote(const floe_sim_tcp *c);
floe_sim_host *floe_sim_tcp_host(const floe_sim_tcp *c);
floe_sim_tcp_state floe_sim_tcp_get_state(const floe_sim_tcp *c);
/* "LISTEN", "SYN-SENT", ... as RFC 9293 writes them; "?" out of range. */
const char *floe_sim_tcp_state_name(floe_sim_tcp_state s);
/* TCP objects of h that still exist: listeners, open connections, and closed ones that
 * are finishing (FIN, TIME-WAIT). */
size_t floe_sim_tcp_count(const floe_sim_host *h);

typedef struct floe_sim_tcp_stats {
    uint64_t segments_sent;     /* every segment this end sent, retransmissions included */
    uint64_t segments_received; /* segments that reached this connection */
    uint64_t retransmits;       /* segments sent again */
    uint64_t timeouts;          /* expiries of the retransmission timer (SYN included) */
    uint64_t fast_retransmits;  /* on three duplicate acks */
    uint64_t bytes_acked;       /* bytes of ours the peer acknowledged */
    uint64_t bytes_received;    /* bytes passed up in order (or thrown away after close) */
    uint64_t duplicates;        /* segments whose bytes had all arrived before */
    uint64_t out_of_order;      /* segments kept until the hole before them filled */
    uint64_t discarded;         /* segments it could not use: beyond the window or the room
                                   for early segments, an unacceptable ack or RST, a SYN
                                   where none belongs */
    floe_time_ns srtt, rttvar;  /* RFC 6298 estimator (0 before the first sample) */
    floe_time_ns rto;           /* the current retransmission timeout */
    uint32_t mss;
} floe_sim_tcp_stats;

void floe_sim_tcp_get_stats(const floe_sim_tcp *c, floe_sim_tcp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
