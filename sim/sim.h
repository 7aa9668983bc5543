/* floe simulator: every public header of sim/ in one include.
 *
 *   sim_net.h          the world: seed, virtual clock, event queue, timers, counters, tracing
 *   sim_rng.h          deterministic random streams
 *   sim_link.h         networks and their link model (delay, jitter, loss, MTU, partitions)
 *   sim_host.h         hosts, interfaces, routing
 *   sim_udp.h          UDP sockets
 *   sim_tcp.h          TCP listeners and connections
 *   nat/sim_nat.h      NATs and firewalls (RFC 4787 behaviours)
 *   sim_endpoint.h     the five-step loop around a sans-IO object
 *   sim_stun_server.h  the STUN server core on a simulated host
 *   sim_pcap.h         pcapng capture of every network
 *   sim_scenario.h     scenario files
 *
 * docs/simulator.md explains how the pieces fit, and the scenario format. */
#ifndef FLOE_SIM_H
#define FLOE_SIM_H

#include "nat/sim_nat.h"
#include "sim_endpoint.h"
#include "sim_host.h"
#include "sim_link.h"
#include "sim_net.h"
#include "sim_pcap.h"
#include "sim_rng.h"
#include "sim_scenario.h"
#include "sim_stun_server.h"
#include "sim_tcp.h"
#include "sim_udp.h"

#endif
