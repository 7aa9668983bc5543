/* floe simulator runtime: the STUN clients of the core on a simulated host.
 *
 * Two ready-made runtimes, each one core object driven by a floe_sim_endpoint (the
 * five-step loop of sim_endpoint.h) over one UDP socket on a host (socket 0 of the
 * endpoint):
 *
 *   - floe_sim_stun_client runs a Binding client (floe/stun_client.h), one transaction
 *     per floe_sim_stun_client_start: a plain request to the configured server, or one
 *     with its own destination, CHANGE-REQUEST flags or schedule (a
 *     floe_stun_client_request). Its outcome is the event the client reports: success
 *     with the mapped address, error response, timeout or failure.
 *   - floe_sim_stun_behavior runs RFC 5780 NAT behaviour discovery
 *     (floe/stun_behavior.h) once. The verdict is the result of its DONE event; a
 *     callback may watch every event (each test as it ends, then DONE) at the virtual
 *     time it happens.
 *
 * Randomness (transaction IDs): the config's `rand` when set; when it is NULL, a stream
 * of the runtime's own, floe_sim_rng_derive(sim, "stun/HOST/IP:PORT") for the socket's
 * bound address, so a run depends on nothing but the seed.
 *
 *   floe_stun_client_config cc;
 *   floe_stun_client_config_default(&cc);
 *   cc.server = stun_addr;                        // rand NULL: the runtime's own stream
 *   floe_sim_stun_client *c;
 *   floe_sim_stun_client_new(alice, &bind, &cc, &c);
 *   floe_sim_stun_client_start(c, NULL);          // now: the first request leaves
 *   floe_sim_run_until_idle(sim, floe_sim_now(sim) + FLOE_S(60));
 *   if (floe_sim_stun_client_done(c) &&
 *       floe_sim_stun_client_event_get(c)->type == FLOE_STUN_CLIENT_EV_SUCCESS)
 *       ... floe_sim_stun_client_event_get(c)->result.mapped ...
 *
 *   floe_stun_behavior_config bc;
 *   floe_stun_behavior_config_default(&bc);
 *   bc.server = stun_addr;
 *   bc.local = bind;                              // for the "NAT or not" verdict
 *   floe_sim_stun_behavior *d;
 *   floe_sim_stun_behavior_new(alice, &bind, &bc, &d);
 *   floe_sim_stun_behavior_start(d);
 *   floe_sim_run_until_idle(sim, floe_sim_now(sim) + FLOE_S(60));
 *   floe_sim_stun_behavior_result(d)->mapping ...
 *
 *   floe_sim_stun_client_free(c);                 // both before floe_sim_free
 *   floe_sim_stun_behavior_free(d);
 *
 * A transaction, and discovery, always end by themselves (at the latest when their
 * schedule runs out); the runtime then has no timer armed, so a world with nothing else
 * to do goes idle. */
#ifndef FLOE_SIM_STUN_H
#define FLOE_SIM_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/addr.h"
#include "floe/stun_behavior.h"
#include "floe/stun_client.h"
#include "floe/time.h"
#include "sim_endpoint.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- one Binding client ----------------------------------------------------------- */

typedef struct floe_sim_stun_client floe_sim_stun_client;

/* Opens a socket on host h bound to *bind (an address of h or an unspecified address,
 * with a port or 0: see floe_sim_udp_open) and initialises the client with a copy of cfg
 * (its `software` string must outlive the client; rand NULL: see above). Nothing is
 * sent before floe_sim_stun_client_start. FLOE_ERR_INVAL (missing argument, or the
 * client refuses cfg), the errors of floe_sim_endpoint_new and floe_sim_udp_open,
 * FLOE_ERR_NOMEM. */
int floe_sim_stun_client_new(floe_sim_host *h, const floe_addr *bind,
                             const floe_stun_client_config *cfg, floe_sim_stun_client **out);
/* Closes the socket and frees the client. Before floe_sim_free. NULL ok. */
void floe_sim_stun_client_free(floe_sim_stun_client *c);

/* Starts a transaction at floe_sim_now (req NULL: a plain Binding request to cfg.server)
 * and sends its first request. The errors of floe_stun_client_start (FLOE_ERR_STATE
 * while a transaction is outstanding), or FLOE_ERR_LIMIT when the world's event queue
 * is full. */
int floe_sim_stun_client_start(floe_sim_stun_client *c, const floe_stun_client_request *req);

/* Events the client reported since the last start: 0 while the transaction runs, then 1
 * (a transaction ends with exactly one). */
unsigned floe_sim_stun_client_events(const floe_sim_stun_client *c);
/* floe_sim_stun_client_events(c) > 0. */
bool floe_sim_stun_client_done(const floe_sim_stun_client *c);
/* The latest event (type FLOE_STUN_CLIENT_EV_NONE before the first one ends). */
const floe_stun_client_event *floe_sim_stun_client_event_get(const floe_sim_stun_client *c);

/* The core object (its counters, its request, floe_stun_client_cancel; after changing it
 * from outside, floe_sim_endpoint_kick the endpoint) and the endpoint (its counters). */
floe_stun_client *floe_sim_stun_client_core(floe_sim_stun_client *c);
floe_sim_endpoint *floe_sim_stun_client_endpoint(const floe_sim_stun_client *c);

/* ---- RFC 5780 behaviour discovery ------------------------------------------------- */

typedef struct floe_sim_stun_behavior floe_sim_stun_behavior;

/* Called for every event of discovery when the runtime pulls it, at virtual time now. */
typedef void (*floe_sim_stun_behavior_fn)(void *ctx, floe_sim_stun_behavior *d, floe_time_ns now,
                                          const floe_stun_behavior_event *ev);

/* Opens a socket on host h bound to *bind, as floe_sim_stun_client_new, and initialises
 * discovery with a copy of cfg. cfg.local is the local address discovery compares the
 * mapped address with: FLOE_AF_NONE leaves it unknown (no NAT verdict); an IP with port
 * 0 gets the port the socket was given. The errors of floe_sim_stun_client_new. */
int floe_sim_stun_behavior_new(floe_sim_host *h, const floe_addr *bind,
                               const floe_stun_behavior_config *cfg, floe_sim_stun_behavior **out);
/* Closes the socket and frees the runtime. Before floe_sim_free. NULL ok. */
void floe_sim_stun_behavior_free(floe_sim_stun_behavior *d);

/* Sets (fn NULL: removes) the event callback. */
void floe_sim_stun_behavior_set_callback(floe_sim_stun_behavior *d, floe_sim_stun_behavior_fn fn,
                                         void *ctx);

/* Starts discovery (test I) at floe_sim_now and sends its first request. FLOE_ERR_STATE
 * when called twice, FLOE_ERR_LIMIT when the world's event queue is full. */
int floe_sim_stun_behavior_start(floe_sim_stun_behavior *d);

/* True once the DONE event has been pulled, and when that was (FLOE_TIME_NEVER before). */
bool floe_sim_stun_behavior_done(const floe_sim_stun_behavior *d);
floe_time_ns floe_sim_stun_behavior_done_at(const floe_sim_stun_behavior *d);
/* The verdict: the DONE event's result once done, the result so far before. */
const floe_stun_behavior_result *floe_sim_stun_behavior_result(const floe_sim_stun_behavior *d);

/* The core object (its counters) and the endpoint (its counters). */
floe_stun_behavior *floe_sim_stun_behavior_core(floe_sim_stun_behavior *d);
floe_sim_endpoint *floe_sim_stun_behavior_endpoint(const floe_sim_stun_behavior *d);

#ifdef __cplusplus
}
#endif
#endif
