/* `floe server`'s runtime, shared by its files: cmd_server.c (sockets, streams, DTLS
 * sessions, UDP relays, signals, control), server_tcprelay.c (RFC 6062 peer connections and
 * pipes), server_workers.c (--workers: threads, their commands, shared quotas) and
 * server_stats.c (--stats, /metrics, summed over the workers).
 *
 * One `app` is one worker: an event loop and everything it serves. Worker 0 runs on the
 * main thread and also owns the TCP/TLS listeners, RFC 6062, the control socket, /metrics
 * and the signals; workers 1..N-1 each run on a thread of their own with their own UDP
 * and DTLS listening sockets (SO_REUSEPORT), relays and TURN core. Nothing of one app is
 * touched by another thread while it runs: the main thread sees the others' numbers
 * through copies made under a lock (srv_numbers) and talks to them with commands.
 */
#ifndef FLOE_APP_SERVER_RT_H
#define FLOE_APP_SERVER_RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/stun_server.h"
#include "floe/turn_server.h"
#include "rt_dtls.h"
#include "rt_loop.h"
#include "rt_metrics.h"
#include "rt_tls.h"
#include "rt_udp.h"
#include "server_config.h"

#define UDP_RX_SIZE 4096 /* larger datagrams are counted as oversize and dropped */
#define UDP_TX_SIZE                                                                                \
    (UDP_RX_SIZE + 64) /* every answer fits, and a peer datagram wrapped in a                      \
                          Data indication */
#define UDP_ROUNDS 8   /* batches per readiness event before yielding to the loop */
#define STREAM_RBUF_MIN 2048
#define STREAM_RBUF_MAX (4 + 65535 + 3) /* the largest ChannelData; STUN messages are smaller */
#define STREAM_WBUF_MAX 65536           /* a client that does not read its answers is cut off */
#define SWEEP_INTERVAL FLOE_S(5)
#define DTLS_HANDSHAKE_LIMIT FLOE_S(10) /* a DTLS session not up by then is closed (sweep) */
#define TICK_INTERVAL FLOE_S(1)         /* TURN expiry */
#define RELAY_PORT_TRIES 64
#define SERVER_TCP_PEERS 1024 /* RFC 6062 peer connections (the core's max_tcp_connections) */
#define MAX_UDP (SERVER_MAX_LISTEN + 3)
#define PUBLISH_INTERVAL FLOE_MS(200) /* workers copy their numbers for the main thread */

/* Counters of the runtime itself (the protocol counters live in floe_stun_server). */
enum rt_counter {
    RTC_UDP_SEND_DROPPED,
    RTC_STREAMS_ACCEPTED,
    RTC_STREAMS_REJECTED,
    RTC_STREAMS_CLOSED_IDLE,
    RTC_STREAMS_CLOSED_NOT_STUN,
    RTC_STREAMS_CLOSED_SLOW_READER,
    RTC_TLS_HANDSHAKE_FAILED,
    RTC_RELAY_OPEN_FAILED,
    RTC_RELAY_OVERSIZE,
    RTC_TCP_PEER_BYTES,        /* RFC 6062: bytes piped between clients and peers */
    RTC_DTLS_COOKIES,          /* HelloVerifyRequests: ClientHellos without a valid cookie */
    RTC_DTLS_ACCEPTED,         /* ClientHellos with a valid cookie: a session begins */
    RTC_DTLS_REJECTED,         /* ... refused: --max-streams sessions, a duplicate, no socket */
    RTC_DTLS_HANDSHAKE_FAILED, /* failed or not done within DTLS_HANDSHAKE_LIMIT */
    RTC_DTLS_CLOSED_IDLE,
    RTC_DTLS_CLOSED_BY_CLIENT, /* close_notify, or an ICMP error on its socket */
    RTC_DTLS_SEND_DROPPED,     /* records the socket buffer could not take */
    RTC_PORTS_HELD,            /* EVEN-PORT with R: upper ports bound and held for a token */
    RTC_RELOADS,               /* SIGHUP reloads this worker applied */
    RTC_COUNT
};

typedef struct app app;
typedef struct fleet fleet;

/* One worker's numbers at a moment. */
typedef struct srv_numbers {
    uint64_t stun[FLOE_SRV_COUNTER_COUNT];
    uint64_t rtc[RTC_COUNT];
    uint64_t turn[FLOE_TSRV_COUNTER_COUNT];
    floe_turn_server_gauges g;
    uint64_t streams, dsess, relays;
    bool draining; /* this worker refuses new allocations */
} srv_numbers;

typedef struct udp_sock {
    app *a;
    int fd;
    floe_addr local;
} udp_sock;

/* A relay socket: one per allocation and family. */
typedef struct relay {
    app *a;
    int fd;
    bool tcp;           /* RFC 6062: a listening TCP socket */
    bool accept_queued; /* ... on app.accept_list, to be accepted by the accept timer */
    struct relay *next_accept;
    uint64_t handle; /* the allocation's, for floe_turn_server_on_peer */
    bool held;       /* a port held for a RESERVATION-TOKEN: no worker's, not read from;
                        the worker that claims it takes it over (r->a) */
    struct relay *next_dead;
} relay;

typedef struct listener {
    app *a;
    int fd;
    floe_transport tr;
    floe_addr local;
    floe_rt_dtls_listener *dtls; /* DTLS: the cookie exchange on fd */
} listener;

/* A DTLS client (RFC 8656 §3.1, RFC 7350): its own UDP socket connected to it, on the
 * listener's address. One record is one STUN or ChannelData message, as a datagram on
 * UDP; the session is a connection all the same: its allocation ends with it. */
typedef struct dsess {
    app *a;
    int fd;
    floe_rt_dtls *dtls;
    floe_rt_timer *timer;            /* handshake retransmissions; a deferred close when broken */
    floe_rt_dtls_listener *relisten; /* cookie exchange for a ClientHello on this socket */
    bool handshaken;
    bool broken; /* a write failed: closed from the timer */
    floe_addr peer, local;
    floe_time_ns created, last;
    struct dsess *prev, *next;
} dsess;

typedef struct stream {
    app *a;
    int fd;
    floe_transport tr;
    floe_rt_tls *tls;
    bool handshaken;
    floe_addr peer, local;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen;
    floe_time_ns last;
    struct tcp_peer *pipe; /* RFC 6062: joined with this peer connection (raw bytes) */
    struct stream *prev, *next;
} stream;

struct app {
    server_settings set; /* workers > 0: a copy sharing worker 0's lists (shares_set) */
    fleet *fleet;        /* all the workers (server_workers.c) */
    unsigned worker;     /* 0: the main thread's */
    app *primary;        /* worker 0 (whose listeners are the server's own addresses) */
    bool shares_set;
    bool draining; /* refuses new allocations (SIGTERM) */
    int argc;
    char **argv; /* read again on SIGHUP */
    floe_rt_loop *loop;
    floe_stun_server core;
    floe_turn_server *turn; /* NULL: STUN only */
    floe_rt_timer *tick, *drain, *reaper, *flush;
    floe_rt_metrics *metrics;
    size_t n_relays;
    floe_time_ns drain_deadline;
    relay *graveyard; /* closed relays, freed by the reaper once no callback can hold them */
    struct tcp_peer **tcp_peers; /* RFC 6062 peer connections by (id & 0xFFFF) - 1 */
    struct relay *accept_list;   /* TCP relays with connections to accept */
    floe_rt_timer *accept_timer;
    size_t n_tcp_peers_max;
    uint32_t relay_cursor;
    udp_sock udp[MAX_UDP];
    size_t n_udp;
    listener lst[SERVER_MAX_LISTEN];
    size_t n_lst;
    floe_rt_tls_ctx *tls;
    floe_rt_tls_ctx *dtls;          /* DTLS server context, for dtls:// listeners */
    unsigned long relisten_cookies; /* HelloVerifyRequests sent on sessions' sockets */
    stream *streams;
    size_t n_streams;
    dsess *dsessions;
    size_t n_dsess;
    floe_rt_timer *sweep;
    int control_fd;
    bool control_bound;
    floe_time_ns started;
    uint64_t rtc[RTC_COUNT];
    /* UDP batch buffers, reused for every batch: no per-packet allocation. */
    uint8_t rx[FLOE_RT_UDP_BATCH_MAX][UDP_RX_SIZE];
    uint8_t tx[FLOE_RT_UDP_BATCH_MAX][UDP_TX_SIZE];
    uint8_t drx[FLOE_RT_DTLS_MAX_RECORD]; /* one DTLS record */
    uint8_t dtx[UDP_TX_SIZE];             /* the answer to it */
    /* Datagrams waiting for one sendmmsg per socket. */
    floe_rt_dgram pending[FLOE_RT_UDP_BATCH_MAX];
    int pending_fd[FLOE_RT_UDP_BATCH_MAX];
    size_t n_pending;
};

typedef struct tcp_peer tcp_peer;

/* cmd_server.c */
void srv_set_time(app *a);
/* Worker id (> 0) of a0's fleet: its sockets on a0's listening addresses, its TURN core.
 * Runs on the main thread before the workers' threads start. NULL on failure (said). */
app *srv_worker_new(app *a0, unsigned id);
void srv_app_free(app *a);
/* Gives a's TURN core the configuration of set (users from it, already split). */
int srv_reload_core(app *a, const server_settings *set, const floe_turn_user *users);
/* The server's listening addresses, which are never peers (from worker 0). */
size_t srv_self_addrs(const app *a0, floe_addr *out, size_t cap);

/* server_workers.c */
/* The fleet of a0->set.workers workers around a0, before a0 starts: the shared nonce key,
 * the user list and (several workers) the shared quotas. */
int srv_fleet_new(app *a0);
/* Starts workers 1..N-1 on their threads (after a0 started and took the signals). */
int srv_fleet_start(app *a0);
/* Stops the workers and waits for their threads. srv_fleet_free frees them (with their
 * allocations, whose quota units go back to the fleet) and the fleet, after worker 0. */
void srv_fleet_stop(app *a0);
void srv_fleet_free(fleet *f);
/* Splits "name:password" entries into users[] (once per settings: it writes a NUL). */
void srv_split_users(server_settings *set, floe_turn_user *users);
unsigned srv_fleet_size(const app *a);
const uint8_t *srv_fleet_key(const app *a);
const floe_turn_user *srv_fleet_users(const app *a);
/* After worker 0 reloaded: the other workers apply set too; takes set and users (freed
 * once the last worker applied them). */
void srv_fleet_reload(app *a0, server_settings *set, floe_turn_user *users);
void srv_fleet_drain(app *a0);
/* Sums the workers' numbers (worker 0's taken now) into *total and, per worker, into
 * per[0..N) (may be NULL); returns N. fresh: ask the running workers for their numbers
 * now and wait for them (briefly), else take the last they published. *all_draining:
 * every worker drains. */
unsigned srv_fleet_numbers(app *a0, bool fresh, srv_numbers *total, srv_numbers *per,
                           bool *all_draining);
/* Users holding an allocation in any worker (several workers: the shared count). */
uint32_t srv_fleet_active_users(app *a0, const srv_numbers *total);
/* The reservation table the workers share (NULL with one worker), and its lock. */
floe_turn_reservations *srv_fleet_reservations(const app *a);
void srv_reservations_lock(void *ctx, bool on);
/* admit/release for the TURN cores when quotas are shared. */
int srv_admit_cb(void *ctx, uint64_t user_hash);
void srv_release_cb(void *ctx, uint64_t user_hash);

/* server_stats.c */
extern const char *const srv_rt_counter_names[RTC_COUNT];
void srv_numbers_take(const app *a, srv_numbers *n);
/* The counters as one JSON object (--stats, SIGUSR1), summed over the workers. */
size_t srv_stats_json(app *a0, char *buf, size_t cap);
void srv_print_stats(app *a0, const char *why);
/* The /metrics text (floe_rt_metrics_render). */
size_t srv_render_metrics(void *arg, char *buf, size_t cap);
#define STATS_MAX 32768
/* Sends (or queues for the next sendmmsg) what the core produced. */
void srv_emit(app *a, const floe_turn_server_out *o);
void srv_flush_pending(app *a);
void srv_stream_close(stream *s);
/* Queues bytes on a stream; -1 when its write queue is full (the caller closes it). */
int srv_stream_queue(stream *s, const uint8_t *p, size_t n);
/* Writes what is queued; -1 when the stream broke (and was closed). */
int srv_stream_flush(stream *s);
/* Reads what the stream has (and processes it), as if it had become readable. */
void srv_stream_pump(stream *s);
/* Binds a relay socket (SOCK_DGRAM or SOCK_STREAM) on the relay address of family, on a
 * port of the configured range; fills *bound. -1 when none could be bound. */
int srv_relay_bind(app *a, int family, int type, bool even_port, int *fd, floe_addr *bound);

/* server_tcprelay.c: RFC 6062 */
int srv_tcp_listen_cb(void *ctx, uint64_t handle, int family, floe_addr *relayed, uint64_t *token);
int srv_tcp_connect_cb(void *ctx, uint32_t id, const floe_addr *from, const floe_addr *peer);
/* A listening TCP socket bound to addr, sharable with outgoing connections. */
int srv_tcp_listen_socket(const floe_addr *addr, int *fd);
void srv_tcp_close_cb(void *ctx, uint32_t id);
/* Accepts peers on a TCP relay listener. */
void srv_tcp_on_listener(void *arg, int fd, uint32_t events);
/* ConnectionBind succeeded on s: join it with peer connection id. */
void srv_pipe_join(stream *s, uint32_t id);
/* Bytes read from a joined client stream go to its peer. -1: close the stream. */
int srv_pipe_from_client(stream *s);
/* The client stream's write queue drained: the peer may be read again. */
void srv_pipe_client_drained(stream *s);
/* The client stream closes: its peer connection goes too. */
void srv_pipe_client_closed(stream *s);
/* A TCP relay listener closes: forget it if it waits for the accept timer. */
void srv_tcp_listener_closed(relay *r);
/* Connects that take longer than 30 s fail (called from the sweep). */
void srv_tcp_sweep(app *a);
int srv_tcp_init(app *a);
void srv_tcp_free(app *a);

#endif
