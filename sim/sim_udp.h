/* floe simulator: UDP sockets on simulated hosts.
 *
 * A socket is bound to one of its host's addresses, or to the unspecified address of a
 * family (0.0.0.0 or ::, which then receives on every address of that family and sends
 * from the address of the interface the route picks), and to a port (0 = the next free
 * ephemeral port, see FLOE_SIM_EPHEMERAL_FIRST). An IPv6 socket carries IPv6 only.
 *
 * What arrives goes to the socket's callback when it has one, else into a bounded
 * receive queue (cfg.socket_queue datagrams; overflow is FLOE_SIM_DROP_SOCKET_QUEUE)
 * drained with floe_sim_udp_recv. A datagram for a port nobody listens on is dropped
 * and counted (FLOE_SIM_DROP_NO_SOCKET); no ICMP is simulated.
 *
 * Sending never blocks and never runs anything: the datagram is put on the network and
 * arrives when the world runs the event, at the earliest after the link's delay (a
 * datagram to the host's own address arrives at the same instant, after the events
 * already due). Callbacks may send, open and close sockets (their own included). */
#ifndef FLOE_SIM_UDP_H
#define FLOE_SIM_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/time.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A datagram arrived at socket s at `now`, from src, sent to dst (the socket's address as
 * the sender addressed it; useful for sockets bound to the unspecified address). p is
 * valid during the call only. */
typedef void (*floe_sim_udp_fn)(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                                const floe_addr *dst, const uint8_t *p, size_t len);

/* Opens a socket on host h bound to `bind` (an address of one of h's interfaces or an
 * unspecified address, with a port or 0). FLOE_ERR_INVAL (bad family, an address h
 * does not have), FLOE_ERR_STATE (the address and port are taken, or overlap a socket
 * bound to the unspecified address of the family), FLOE_ERR_LIMIT (cfg.max_sockets or
 * no free ephemeral port), FLOE_ERR_NOMEM. */
int floe_sim_udp_open(floe_sim_host *h, const floe_addr *bind, floe_sim_udp **out);
/* Closes the socket; queued datagrams are discarded. NULL ok. */
void floe_sim_udp_close(floe_sim_udp *s);

/* Sets (or with fn NULL removes) the receive callback. */
void floe_sim_udp_set_callback(floe_sim_udp *s, floe_sim_udp_fn fn, void *ctx);

/* The bound address with its port. */
floe_addr floe_sim_udp_local(const floe_sim_udp *s);
floe_sim_host *floe_sim_udp_host(const floe_sim_udp *s);

/* Sends len bytes to dst. FLOE_OK once the datagram is on its way (it may still be lost
 * on the way: see the counters), FLOE_ERR_UNREACHABLE (no route; counted as
 * FLOE_SIM_DROP_NO_ROUTE), FLOE_ERR_INVAL (dst of another family, unspecified or with
 * port 0, len above FLOE_SIM_MAX_PAYLOAD). */
int floe_sim_udp_send(floe_sim_udp *s, const floe_addr *dst, const uint8_t *p, size_t len);

/* Pops the oldest queued datagram. FLOE_OK, FLOE_ERR_NOT_FOUND (queue empty) or
 * FLOE_ERR_NOSPACE (cap too small: the datagram stays queued, *len says how big it is).
 * src, dst and at may be NULL. */
int floe_sim_udp_recv(floe_sim_udp *s, uint8_t *buf, size_t cap, size_t *len, floe_addr *src,
                      floe_addr *dst, floe_time_ns *at);
/* Datagrams waiting in the queue. */
size_t floe_sim_udp_pending(const floe_sim_udp *s);

#ifdef __cplusplus
}
#endif
#endif
