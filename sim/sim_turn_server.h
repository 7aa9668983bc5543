/* floe simulator: the TURN server core (floe/turn_server.h) on a simulated host.
 *
 * The server listens on cfg->listen (UDP) and opens a simulated relay socket on the
 * same IP for every allocation (an ephemeral port). Time is the world's; the UNIX clock
 * the core wants (TURN REST expiries, nonces) is FLOE_SIM_TURN_UNIX_EPOCH plus the
 * virtual time. Expiry runs from a timer once a simulated second.
 *
 *   floe_turn_server_config tc;
 *   floe_turn_server_config_default(&tc);
 *   tc.realm = "sim"; tc.users = users; tc.n_users = 1;
 *   floe_sim_turn_server *t;
 *   floe_sim_turn_server_new(host, &listen, &tc, &t);
 *   ... run ...
 *   floe_sim_turn_server_free(t);     // before floe_sim_free
 *
 * The config's relay callbacks, ctx and nonce key are the simulator's (the key comes
 * from the world's seeded RNG, so runs repeat). The peer policy is the core's: a
 * scenario on private or documentation addresses must allow them (cfg->allow).
 *
 * TURN over TCP (RFC 8656 §3.1): floe_sim_turn_server_listen_tcp adds a TCP listener
 * (sim_tcp.h) on the same address and port. Each accepted connection is one client
 * transport: its byte stream is cut into messages with floe_turn_frame_len (STUN
 * messages, and ChannelData padded to 4 bytes), each fed to the core with the tuple
 * (client, server, FLOE_TRANSPORT_TCP, conn), conn being 1, 2, ... in the order the
 * connections were accepted. Answers for that tuple go back on the connection;
 * relayed data for the client too. The allocation made on a connection ends with it
 * (floe_turn_server_conn_closed) when the client closes it, it fails, or the server
 * closes it: bytes that frame no message (counted `unframeable`) or answers the client
 * does not read (its send buffer full, `overflow`). Relays stay UDP (RFC 6062's TCP
 * relaying is not offered: the core answers such an Allocate with 442). */
#ifndef FLOE_SIM_TURN_SERVER_H
#define FLOE_SIM_TURN_SERVER_H

#include "floe/turn_server.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_TURN_UNIX_EPOCH 1767225600u /* 2026-01-01T00:00:00Z */

typedef struct floe_sim_turn_server floe_sim_turn_server;

/* FLOE_ERR_INVAL (listen is not an address of h), the core's FLOE_ERR_CONFIG, the
 * errors of floe_sim_udp_open. */
int floe_sim_turn_server_new(floe_sim_host *h, const floe_addr *listen,
                             const floe_turn_server_config *cfg, floe_sim_turn_server **out);
/* Closes every socket and frees the server. NULL ok. */
void floe_sim_turn_server_free(floe_sim_turn_server *t);
/* The core, for its counters and gauges. */
const floe_turn_server *floe_sim_turn_server_core(const floe_sim_turn_server *t);
/* Datagrams the world refused to send (no route), and answers for a TCP connection that
 * was gone. */
uint64_t floe_sim_turn_server_send_errors(const floe_sim_turn_server *t);

/* Listens for TURN over TCP on the UDP listener's address and port. FLOE_ERR_STATE when
 * already listening, the errors of floe_sim_tcp_listen. */
int floe_sim_turn_server_listen_tcp(floe_sim_turn_server *t);

typedef struct floe_sim_turn_server_tcp_stats {
    uint64_t accepted;    /* connections accepted */
    uint64_t refused;     /* accepted then reset: no memory for them */
    uint64_t closed;      /* connections ended, whoever ended them */
    uint64_t messages;    /* messages framed and given to the core */
    uint64_t unframeable; /* closed: bytes that start no STUN or ChannelData message */
    uint64_t overflow;    /* closed: an answer did not fit the connection's send buffer */
    uint64_t open;        /* connections open now */
} floe_sim_turn_server_tcp_stats;

void floe_sim_turn_server_tcp_stats_get(const floe_sim_turn_server *t,
                                        floe_sim_turn_server_tcp_stats *out);

#ifdef __cplusplus
}
#endif
#endif
