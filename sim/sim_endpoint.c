/* floe simulator: the five-step loop around one sans-IO object (see sim_endpoint.h). */
#include "sim_endpoint.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_udp.h"

struct floe_sim_endpoint {
    floe_sim *sim;
    const floe_sim_endpoint_ops *ops;
    void *obj;
    floe_sim_timer *timer;
    floe_sim_udp *socks[FLOE_SIM_ENDPOINT_MAX_SOCKETS];
    unsigned n_socks;
    floe_time_ns last_wake; /* instant of the latest timer wake-up */
    unsigned same_instant;  /* timer wake-ups in a row at that instant */
    floe_sim_endpoint_stats stats;
    uint8_t buf[FLOE_SIM_ENDPOINT_BUF];
};

/* Steps 2 to 5: tick if due, drain sends, drain events, re-arm. */
static int service(floe_sim_endpoint *e, floe_time_ns now, bool from_timer) {
    const floe_sim_endpoint_ops *ops = e->ops;
    e->stats.wakeups++;
    if (ops->deadline(e->obj) <= now) ops->tick(e->obj, now);
    unsigned sent = 0;
    for (;;) {
        if (sent == FLOE_SIM_ENDPOINT_SEND_MAX) {
            e->stats.send_capped++;
            break;
        }
        size_t len = 0;
        unsigned sock = 0;
        floe_addr dst;
        memset(&dst, 0, sizeof dst);
        if (ops->next_send(e->obj, now, e->buf, sizeof e->buf, &len, &sock, &dst) != FLOE_OK) break;
        sent++;
        if (sock >= e->n_socks || floe_sim_udp_send(e->socks[sock], &dst, e->buf, len) != FLOE_OK)
            e->stats.tx_errors++;
        else
            e->stats.tx++;
    }
    if (ops->events) ops->events(e->obj, now);
    floe_time_ns d = ops->deadline(e->obj);
    if (d == FLOE_TIME_NEVER) {
        floe_sim_timer_disarm(e->timer);
        return FLOE_OK;
    }
    if (from_timer) {
        if (now == e->last_wake) {
            e->same_instant++;
        } else {
            e->last_wake = now;
            e->same_instant = 0;
        }
        if (d <= now && e->same_instant >= FLOE_SIM_ENDPOINT_SPIN_MAX) {
            e->stats.spins++;
            d = now + 1;
        }
    }
    return floe_sim_timer_arm(e->timer, d);
}

static void on_timer(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    service(ctx, now, true);
}

static void on_datagram(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                        const floe_addr *dst, const uint8_t *p, size_t len) {
    floe_sim_endpoint *e = ctx;
    unsigned idx = 0;
    while (idx < e->n_socks && e->socks[idx] != s)
        idx++;
    if (idx == e->n_socks) return;
    e->stats.rx++;
    e->ops->on_recv(e->obj, now, idx, src, dst, p, len);
    service(e, now, false);
}

int floe_sim_endpoint_new(floe_sim *sim, const floe_sim_endpoint_ops *ops, void *obj,
                          floe_sim_endpoint **out) {
    *out = NULL;
    if (!ops || !ops->on_recv || !ops->tick || !ops->next_send || !ops->deadline)
        return FLOE_ERR_INVAL;
    floe_sim_endpoint *e = calloc(1, sizeof *e);
    if (!e) return FLOE_ERR_NOMEM;
    e->sim = sim;
    e->ops = ops;
    e->obj = obj;
    e->last_wake = FLOE_TIME_NEVER;
    int rc = floe_sim_timer_new(sim, on_timer, e, &e->timer);
    if (rc != FLOE_OK) {
        free(e);
        return rc;
    }
    *out = e;
    return FLOE_OK;
}

void floe_sim_endpoint_free(floe_sim_endpoint *e) {
    if (!e) return;
    for (unsigned i = 0; i < e->n_socks; i++)
        floe_sim_udp_close(e->socks[i]);
    floe_sim_timer_free(e->timer);
    free(e);
}

int floe_sim_endpoint_open(floe_sim_endpoint *e, floe_sim_host *h, const floe_addr *bind,
                           unsigned *index) {
    if (e->n_socks >= FLOE_SIM_ENDPOINT_MAX_SOCKETS) return FLOE_ERR_LIMIT;
    floe_sim_udp *s;
    int rc = floe_sim_udp_open(h, bind, &s);
    if (rc != FLOE_OK) return rc;
    floe_sim_udp_set_callback(s, on_datagram, e);
    if (index) *index = e->n_socks;
    e->socks[e->n_socks++] = s;
    return FLOE_OK;
}

floe_sim_udp *floe_sim_endpoint_socket(const floe_sim_endpoint *e, unsigned index) {
    return index < e->n_socks ? e->socks[index] : NULL;
}

size_t floe_sim_endpoint_socket_count(const floe_sim_endpoint *e) {
    return e->n_socks;
}

int floe_sim_endpoint_kick(floe_sim_endpoint *e) {
    return service(e, floe_sim_now(e->sim), false);
}

const floe_sim_endpoint_stats *floe_sim_endpoint_stats_get(const floe_sim_endpoint *e) {
    return &e->stats;
}
