/* floe simulator: hosts, their interfaces, and routing.
 *
 * A host has up to FLOE_SIM_MAX_IFACES interfaces ("eth0", "wg0", ...). Each interface
 * is attached to one network and has an IPv4 address, an IPv6 address, or both, and
 * optionally a gateway per family (an address on the same network). Addresses need only
 * be unique on their network: two LANs may both use 10.0.0.2, as in life.
 *
 * Routing a datagram from a host (floe_sim_host_route):
 *   1. a destination that is one of the host's own addresses is delivered locally, at
 *      once, without crossing a network;
 *   2. a socket bound to one interface's address sends through that interface: directly
 *      when its network reaches the destination, else through its gateway;
 *   3. otherwise the first interface (in the order added) whose network reaches the
 *      destination; then the first interface with a gateway of the destination's family;
 *   4. otherwise the datagram is dropped (FLOE_SIM_DROP_NO_ROUTE) and send says
 *      FLOE_ERR_UNREACHABLE.
 * A network "reaches" an address when an interface attached to it owns the address, or
 * when a firewall box (which routes without translating) has its outside interface on
 * that network and its inside network reaches the address.
 *
 * Plain hosts do not forward: a datagram arriving for an address the host does not own
 * is dropped (FLOE_SIM_DROP_NOT_FOR_HOST). NATs and firewalls (nat/sim_nat.h) are hosts
 * that forward between their inside and outside interfaces. */
#ifndef FLOE_SIM_HOST_H
#define FLOE_SIM_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* First port handed out for a socket bound to port 0; ports then count up (skipping
 * ports in use) and wrap at 65535 back to this value. */
#define FLOE_SIM_EPHEMERAL_FIRST 49152

typedef struct floe_sim_iface_config {
    const char *name;      /* 1..FLOE_SIM_NAME_MAX-1 characters, unique on the host */
    floe_sim_network *net; /* required */
    floe_addr ip4, ip6;    /* family FLOE_AF_NONE: no address of that family; the ports
                              are ignored. At least one is required. */
    floe_addr gw4, gw6;    /* gateways, or FLOE_AF_NONE */
} floe_sim_iface_config;

/* Zeroes c (no addresses, no gateways). */
void floe_sim_iface_config_init(floe_sim_iface_config *c, const char *name, floe_sim_network *net);

/* Adds a host without interfaces. Names are unique among hosts (NATs included).
 * FLOE_ERR_INVAL, FLOE_ERR_STATE (name taken), FLOE_ERR_LIMIT, FLOE_ERR_NOMEM. */
int floe_sim_host_add(floe_sim *sim, const char *name, floe_sim_host **out);
/* Adds an interface. FLOE_ERR_INVAL (no network, no address, an address that is
 * unspecified, multicast or of the wrong family, a gateway without an address of its
 * family), FLOE_ERR_STATE (name taken on the host, address taken on the network),
 * FLOE_ERR_LIMIT (FLOE_SIM_MAX_IFACES). out may be NULL. */
int floe_sim_host_add_iface(floe_sim_host *h, const floe_sim_iface_config *c, floe_sim_iface **out);

floe_sim_host *floe_sim_host_find(const floe_sim *sim, const char *name);
size_t floe_sim_host_count(const floe_sim *sim);
floe_sim_host *floe_sim_host_at(const floe_sim *sim, size_t i);
const char *floe_sim_host_name(const floe_sim_host *h);
floe_sim *floe_sim_host_world(const floe_sim_host *h);
/* This host's share of the world's counters (what happened at the host: deliveries to
 * its sockets, drops on arrival, a NAT's translations and drops). */
uint64_t floe_sim_host_counter(const floe_sim_host *h, int c);

size_t floe_sim_host_iface_count(const floe_sim_host *h);
floe_sim_iface *floe_sim_host_iface_at(const floe_sim_host *h, size_t i);
floe_sim_iface *floe_sim_host_iface(const floe_sim_host *h, const char *name);
/* True when one of the host's interfaces has address ip (port ignored). */
bool floe_sim_host_owns(const floe_sim_host *h, const floe_addr *ip);

const char *floe_sim_iface_name(const floe_sim_iface *i);
floe_sim_host *floe_sim_iface_host(const floe_sim_iface *i);
floe_sim_network *floe_sim_iface_network(const floe_sim_iface *i);
/* The interface's address of a family (port 0), or family FLOE_AF_NONE. */
floe_addr floe_sim_iface_addr(const floe_sim_iface *i, int family);
floe_addr floe_sim_iface_gateway(const floe_sim_iface *i, int family);
bool floe_sim_iface_is_up(const floe_sim_iface *i);

/* Takes the interface up or down now; a down interface neither sends nor receives
 * (FLOE_SIM_DROP_LINK_DOWN). */
void floe_sim_iface_set_up(floe_sim_iface *i, bool up);
/* The same at virtual time `at`. FLOE_ERR_LIMIT when the event queue is full. */
int floe_sim_iface_set_up_at(floe_sim_iface *i, floe_time_ns at, bool up);

/* Where a datagram from h to dst would go (the rules above). src is the sending
 * socket's bound address (its IP matters; NULL or unspecified: any). On success *out
 * is the interface it leaves by (NULL for local delivery) and *source the source IP it
 * gets (port 0). FLOE_ERR_UNREACHABLE when there is no route, FLOE_ERR_INVAL for a bad
 * dst. out and source may be NULL. */
int floe_sim_host_route(const floe_sim_host *h, const floe_addr *dst, const floe_addr *src,
                        floe_sim_iface **out, floe_addr *source);

#ifdef __cplusplus
}
#endif
#endif
