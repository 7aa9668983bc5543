/* floe simulator: the stateless SIP proxy and registrar (floe/sip_proxy.h) on a simulated
 * host: "the SIP network" of a simulated call.
 *
 * It listens on one UDP address of the host; every datagram goes through the core, and
 * what the core answers or forwards leaves from the same socket. The branch key comes
 * from the world's seeded stream, so runs repeat.
 *
 *   floe_sim_sip_proxy *sp;
 *   floe_sim_sip_proxy_new(host, &listen, "example.net", &sp);
 *   ... run ...
 *   floe_sim_sip_proxy_free(sp);   // before floe_sim_free */
#ifndef FLOE_SIM_SIP_PROXY_H
#define FLOE_SIM_SIP_PROXY_H

#include "floe/sip_proxy.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct floe_sim_sip_proxy floe_sim_sip_proxy;

/* FLOE_ERR_INVAL (no domain, listen not an address of h with a port), the core's and
 * floe_sim_udp_open's errors, FLOE_ERR_NOMEM. */
int floe_sim_sip_proxy_new(floe_sim_host *h, const floe_addr *listen, const char *domain,
                           floe_sim_sip_proxy **out);
void floe_sim_sip_proxy_free(floe_sim_sip_proxy *sp);
/* The core (its counters and bindings). */
floe_sip_proxy *floe_sim_sip_proxy_core(floe_sim_sip_proxy *sp);
/* Datagrams the world refused to send (no route). */
uint64_t floe_sim_sip_proxy_send_errors(const floe_sim_sip_proxy *sp);

#ifdef __cplusplus
}
#endif
#endif
