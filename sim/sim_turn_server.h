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
 * scenario on private or documentation addresses must allow them (cfg->allow). */
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
/* Datagrams the world refused to send (no route). */
uint64_t floe_sim_turn_server_send_errors(const floe_sim_turn_server *t);

#ifdef __cplusplus
}
#endif
#endif
