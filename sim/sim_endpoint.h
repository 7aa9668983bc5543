/* floe simulator: drive a sans-IO object from simulated sockets and timers.
 *
 * Every core object in floe (STUN client, behaviour discovery, ICE agent, TURN client)
 * is driven by the same five steps: feed what arrived, tick when the deadline passed,
 * drain the datagrams it wants sent, drain its events, re-arm the timer. An endpoint
 * runs those steps inside the world for one object, over the sockets added to it:
 *
 *   - a datagram arriving on one of its sockets is fed with on_recv (the socket is named
 *     by its index: 0, 1, ... in the order added, the "base" or "local socket id" of the
 *     object), then the rest of the loop runs;
 *   - when the object's deadline comes, tick runs, then the rest of the loop;
 *   - next_send is called until it reports nothing (FLOE_ERR_NOT_FOUND); each datagram is
 *     sent from the socket it names, to the address it names;
 *   - `events` (optional) is called so the caller can pull the object's events;
 *   - the timer is re-armed for deadline() (FLOE_TIME_NEVER: disarmed).
 *
 * After starting the object (e.g. floe_stun_behavior_start at floe_sim_now), call
 * floe_sim_endpoint_kick so its first datagrams leave and its timer is armed.
 *
 *   static const floe_sim_endpoint_ops ops = {recv_fn, tick_fn, send_fn, deadline_fn, ev_fn};
 *   floe_sim_endpoint *ep;
 *   floe_sim_endpoint_new(sim, &ops, &client, &ep);
 *   floe_sim_endpoint_open(ep, alice, &bind, NULL);     // socket 0
 *   floe_stun_client_start(&client, floe_sim_now(sim), NULL);
 *   floe_sim_endpoint_kick(ep);
 *   floe_sim_run_until_idle(sim, FLOE_S(60));
 *
 * An object whose deadline stays at or before the current time after tick would spin
 * at one instant; the endpoint notices (after FLOE_SIM_ENDPOINT_SPIN_MAX wake-ups at the
 * same instant) and moves the timer 1 ns on, counting `spins`. */
#ifndef FLOE_SIM_ENDPOINT_H
#define FLOE_SIM_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/time.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_ENDPOINT_MAX_SOCKETS 32
#define FLOE_SIM_ENDPOINT_SPIN_MAX 1000
#define FLOE_SIM_ENDPOINT_SEND_MAX 65536 /* datagrams drained per wake-up at most */
#define FLOE_SIM_ENDPOINT_BUF 65536      /* the send buffer handed to next_send */

typedef struct floe_sim_endpoint floe_sim_endpoint;

typedef struct floe_sim_endpoint_ops {
    /* A datagram arrived on socket `sock` from src (dst: the address it was sent to). */
    void (*on_recv)(void *obj, floe_time_ns now, unsigned sock, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len);
    /* Advance time (called when now >= deadline()). */
    void (*tick)(void *obj, floe_time_ns now);
    /* Write the next datagram into buf: FLOE_OK with *len, *sock and *dst set, or
     * FLOE_ERR_NOT_FOUND when nothing is due. */
    int (*next_send)(void *obj, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                     unsigned *sock, floe_addr *dst);
    /* When tick must next run, FLOE_TIME_NEVER for never. */
    floe_time_ns (*deadline)(void *obj);
    /* Optional: pull the object's events. */
    void (*events)(void *obj, floe_time_ns now);
} floe_sim_endpoint_ops;

typedef struct floe_sim_endpoint_stats {
    uint64_t wakeups;     /* loop runs (arrivals, timers, kicks) */
    uint64_t rx;          /* datagrams fed to on_recv */
    uint64_t tx;          /* datagrams next_send produced and the world accepted */
    uint64_t tx_errors;   /* datagrams the world refused (bad socket index, no route, ...) */
    uint64_t spins;       /* times the timer was pushed 1 ns on (see above) */
    uint64_t send_capped; /* wake-ups that stopped at FLOE_SIM_ENDPOINT_SEND_MAX */
} floe_sim_endpoint_stats;

/* ops and obj must outlive the endpoint. FLOE_ERR_INVAL (an op other than `events`
 * missing), FLOE_ERR_LIMIT (timers), FLOE_ERR_NOMEM. */
int floe_sim_endpoint_new(floe_sim *sim, const floe_sim_endpoint_ops *ops, void *obj,
                          floe_sim_endpoint **out);
/* Closes the endpoint's sockets and frees its timer. Call before floe_sim_free. NULL ok. */
void floe_sim_endpoint_free(floe_sim_endpoint *e);

/* Opens a socket on host h (see floe_sim_udp_open) owned by the endpoint; *index (may be
 * NULL) gets its number. FLOE_ERR_LIMIT past FLOE_SIM_ENDPOINT_MAX_SOCKETS. */
int floe_sim_endpoint_open(floe_sim_endpoint *e, floe_sim_host *h, const floe_addr *bind,
                           unsigned *index);
/* The socket of an index, NULL past the end. */
floe_sim_udp *floe_sim_endpoint_socket(const floe_sim_endpoint *e, unsigned index);
size_t floe_sim_endpoint_socket_count(const floe_sim_endpoint *e);

/* Runs the loop now without input (after the object was started or changed from
 * outside). FLOE_ERR_LIMIT when the timer could not be armed (event queue full). */
int floe_sim_endpoint_kick(floe_sim_endpoint *e);

const floe_sim_endpoint_stats *floe_sim_endpoint_stats_get(const floe_sim_endpoint *e);

#ifdef __cplusplus
}
#endif
#endif
