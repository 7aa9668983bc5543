/* floe simulator: the STUN server core (floe/stun_server.h) on a simulated host.
 *
 * Without RFC 5780 the server listens on cfg.primary (IP and port). With it, it listens
 * on the four combinations of the primary and alternate IPs and ports, as the core
 * asks, and sends each response from the socket the core names (a CHANGE-REQUEST makes
 * it answer from another IP, port, or both). The IPs must be addresses of the host: give
 * the host two addresses (two interfaces on the same network, or one IPv4 interface per
 * address) to run behaviour discovery against it.
 *
 *   floe_stun_server_config sc;
 *   floe_stun_server_config_default(&sc);
 *   sc.rfc5780 = true;
 *   floe_addr_parse("192.0.2.1:3478", &sc.primary);
 *   floe_addr_parse("192.0.2.2:3479", &sc.alternate);
 *   floe_sim_stun_server *srv;
 *   floe_sim_stun_server_new(server_host, &sc, &srv);
 *   ... run ...
 *   floe_sim_stun_server_free(srv);    // before floe_sim_free */
#ifndef FLOE_SIM_STUN_SERVER_H
#define FLOE_SIM_STUN_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/stun_server.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_sim_stun_server floe_sim_stun_server;

/* FLOE_ERR_CONFIG (the core refuses the config), FLOE_ERR_INVAL (no primary address, or
 * an address the host does not have), the errors of floe_sim_udp_open. */
int floe_sim_stun_server_new(floe_sim_host *h, const floe_stun_server_config *cfg,
                             floe_sim_stun_server **out);
/* Closes the sockets and frees the server. NULL ok. */
void floe_sim_stun_server_free(floe_sim_stun_server *s);

/* The core, for its counters (srv->counters[FLOE_SRV_BINDING_OK], ...). */
const floe_stun_server *floe_sim_stun_server_core(const floe_sim_stun_server *s);
/* With on, the server misbehaves as some deployed ones do: it still announces
 * OTHER-ADDRESS but ignores CHANGE-REQUEST, answering every request from the socket it
 * arrived on (behaviour discovery must notice, see floe/stun_behavior.h). Off by default. */
void floe_sim_stun_server_set_ignore_change(floe_sim_stun_server *s, bool on);
/* Responses the world refused to send (no socket for the source the core chose, no
 * route). */
uint64_t floe_sim_stun_server_send_errors(const floe_sim_stun_server *s);

#ifdef __cplusplus
}
#endif
#endif
