/* floe simulator runtime: the STUN clients of the core on a simulated host (see
 * sim_stun.h). */
#include "sim_stun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_host.h"
#include "sim_rng.h"
#include "sim_udp.h"

/* The endpoint with its one socket, and the runtime's own random stream (named after the
 * host and the bound address). */
static int open_endpoint(floe_sim_host *h, const floe_addr *bind, const floe_sim_endpoint_ops *ops,
                         void *obj, floe_sim_endpoint **ep, floe_sim_rng *rng) {
    floe_sim *sim = floe_sim_host_world(h);
    int rc = floe_sim_endpoint_new(sim, ops, obj, ep);
    if (rc == FLOE_OK) rc = floe_sim_endpoint_open(*ep, h, bind, NULL);
    if (rc != FLOE_OK) return rc;
    floe_addr local = floe_sim_udp_local(floe_sim_endpoint_socket(*ep, 0));
    char ip[FLOE_ADDR_STRLEN], label[FLOE_SIM_NAME_MAX + FLOE_ADDR_STRLEN + 8];
    floe_addr_format(&local, true, ip, sizeof ip);
    snprintf(label, sizeof label, "stun/%s/%s", floe_sim_host_name(h), ip);
    floe_sim_rng_derive(sim, label, rng);
    return FLOE_OK;
}

/* ---- one Binding client ----------------------------------------------------------- */

struct floe_sim_stun_client {
    floe_sim *sim;
    floe_stun_client core;
    floe_sim_endpoint *ep;
    floe_sim_rng rng;
    unsigned events; /* since the last start */
    floe_stun_client_event ev;
};

static void c_recv(void *obj, floe_time_ns now, unsigned sock, const floe_addr *src,
                   const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)sock;
    (void)dst;
    floe_stun_client_on_recv(&((floe_sim_stun_client *)obj)->core, now, p, len, src);
}

static void c_tick(void *obj, floe_time_ns now) {
    floe_stun_client_tick(&((floe_sim_stun_client *)obj)->core, now);
}

static int c_send(void *obj, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                  unsigned *sock, floe_addr *dst) {
    *sock = 0;
    return floe_stun_client_next_send(&((floe_sim_stun_client *)obj)->core, now, buf, cap, len,
                                      dst);
}

static floe_time_ns c_deadline(void *obj) {
    return floe_stun_client_deadline(&((floe_sim_stun_client *)obj)->core);
}

static void c_events(void *obj, floe_time_ns now) {
    (void)now;
    floe_sim_stun_client *c = obj;
    while (floe_stun_client_next_event(&c->core, &c->ev))
        c->events++;
}

static const floe_sim_endpoint_ops client_ops = {c_recv, c_tick, c_send, c_deadline, c_events};

int floe_sim_stun_client_new(floe_sim_host *h, const floe_addr *bind,
                             const floe_stun_client_config *cfg, floe_sim_stun_client **out) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    if (!h || !bind || !cfg) return FLOE_ERR_INVAL;
    floe_sim_stun_client *c = calloc(1, sizeof *c);
    if (!c) return FLOE_ERR_NOMEM;
    c->sim = floe_sim_host_world(h);
    int rc = open_endpoint(h, bind, &client_ops, c, &c->ep, &c->rng);
    if (rc == FLOE_OK) {
        floe_stun_client_config cc = *cfg;
        if (!cc.rand) {
            cc.rand = floe_sim_rng_bytes;
            cc.rand_ctx = &c->rng;
        }
        rc = floe_stun_client_init(&c->core, &cc);
    }
    if (rc == FLOE_OK)
        *out = c;
    else
        floe_sim_stun_client_free(c);
    return rc;
}

void floe_sim_stun_client_free(floe_sim_stun_client *c) {
    if (!c) return;
    floe_sim_endpoint_free(c->ep);
    free(c);
}

int floe_sim_stun_client_start(floe_sim_stun_client *c, const floe_stun_client_request *req) {
    int rc = floe_stun_client_start(&c->core, floe_sim_now(c->sim), req);
    if (rc != FLOE_OK) return rc;
    c->events = 0;
    memset(&c->ev, 0, sizeof c->ev);
    return floe_sim_endpoint_kick(c->ep);
}

unsigned floe_sim_stun_client_events(const floe_sim_stun_client *c) {
    return c->events;
}

bool floe_sim_stun_client_done(const floe_sim_stun_client *c) {
    return c->events > 0;
}

const floe_stun_client_event *floe_sim_stun_client_event_get(const floe_sim_stun_client *c) {
    return &c->ev;
}

floe_stun_client *floe_sim_stun_client_core(floe_sim_stun_client *c) {
    return &c->core;
}

floe_sim_endpoint *floe_sim_stun_client_endpoint(const floe_sim_stun_client *c) {
    return c->ep;
}

/* ---- RFC 5780 behaviour discovery ------------------------------------------------- */

struct floe_sim_stun_behavior {
    floe_sim *sim;
    floe_stun_behavior core;
    floe_sim_endpoint *ep;
    floe_sim_rng rng;
    bool done;
    floe_time_ns done_at;
    floe_stun_behavior_result res; /* the DONE event's */
    floe_sim_stun_behavior_fn fn;
    void *fn_ctx;
    floe_stun_behavior_event ev; /* large: kept off the stack */
};

static void d_recv(void *obj, floe_time_ns now, unsigned sock, const floe_addr *src,
                   const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)sock;
    (void)dst;
    floe_stun_behavior_on_recv(&((floe_sim_stun_behavior *)obj)->core, now, p, len, src);
}

static void d_tick(void *obj, floe_time_ns now) {
    floe_stun_behavior_tick(&((floe_sim_stun_behavior *)obj)->core, now);
}

static int d_send(void *obj, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                  unsigned *sock, floe_addr *dst) {
    *sock = 0;
    return floe_stun_behavior_next_send(&((floe_sim_stun_behavior *)obj)->core, now, buf, cap, len,
                                        dst);
}

static floe_time_ns d_deadline(void *obj) {
    return floe_stun_behavior_deadline(&((floe_sim_stun_behavior *)obj)->core);
}

static void d_events(void *obj, floe_time_ns now) {
    floe_sim_stun_behavior *d = obj;
    while (floe_stun_behavior_next_event(&d->core, &d->ev)) {
        if (d->ev.type == FLOE_STUN_BEHAVIOR_EV_DONE) {
            d->done = true;
            d->done_at = now;
            d->res = d->ev.result;
        }
        if (d->fn) d->fn(d->fn_ctx, d, now, &d->ev);
    }
}

static const floe_sim_endpoint_ops behavior_ops = {d_recv, d_tick, d_send, d_deadline, d_events};

int floe_sim_stun_behavior_new(floe_sim_host *h, const floe_addr *bind,
                               const floe_stun_behavior_config *cfg, floe_sim_stun_behavior **out) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    if (!h || !bind || !cfg) return FLOE_ERR_INVAL;
    floe_sim_stun_behavior *d = calloc(1, sizeof *d);
    if (!d) return FLOE_ERR_NOMEM;
    d->sim = floe_sim_host_world(h);
    d->done_at = FLOE_TIME_NEVER;
    int rc = open_endpoint(h, bind, &behavior_ops, d, &d->ep, &d->rng);
    if (rc == FLOE_OK) {
        floe_stun_behavior_config bc = *cfg;
        if (!bc.rand) {
            bc.rand = floe_sim_rng_bytes;
            bc.rand_ctx = &d->rng;
        }
        floe_addr local = floe_sim_udp_local(floe_sim_endpoint_socket(d->ep, 0));
        if (bc.local.family != FLOE_AF_NONE && bc.local.port == 0 &&
            floe_addr_ip_equal(&bc.local, &local))
            bc.local.port = local.port;
        rc = floe_stun_behavior_init(&d->core, &bc);
    }
    if (rc == FLOE_OK)
        *out = d;
    else
        floe_sim_stun_behavior_free(d);
    return rc;
}

void floe_sim_stun_behavior_free(floe_sim_stun_behavior *d) {
    if (!d) return;
    floe_sim_endpoint_free(d->ep);
    free(d);
}

void floe_sim_stun_behavior_set_callback(floe_sim_stun_behavior *d, floe_sim_stun_behavior_fn fn,
                                         void *ctx) {
    d->fn = fn;
    d->fn_ctx = ctx;
}

int floe_sim_stun_behavior_start(floe_sim_stun_behavior *d) {
    int rc = floe_stun_behavior_start(&d->core, floe_sim_now(d->sim));
    if (rc != FLOE_OK) return rc;
    return floe_sim_endpoint_kick(d->ep);
}

bool floe_sim_stun_behavior_done(const floe_sim_stun_behavior *d) {
    return d->done;
}

floe_time_ns floe_sim_stun_behavior_done_at(const floe_sim_stun_behavior *d) {
    return d->done_at;
}

const floe_stun_behavior_result *floe_sim_stun_behavior_result(const floe_sim_stun_behavior *d) {
    return d->done ? &d->res : floe_stun_behavior_result_get(&d->core);
}

floe_stun_behavior *floe_sim_stun_behavior_core(floe_sim_stun_behavior *d) {
    return &d->core;
}

floe_sim_endpoint *floe_sim_stun_behavior_endpoint(const floe_sim_stun_behavior *d) {
    return d->ep;
}
