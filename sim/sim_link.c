/* floe simulator: networks and the link model (see sim_link.h). */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

void floe_sim_link_default(floe_sim_link *l) {
    memset(l, 0, sizeof *l);
    l->delay = FLOE_SIM_DELAY_DEFAULT;
    l->mtu = FLOE_SIM_MTU_DEFAULT;
}

int floe_sim_link_check(const floe_sim_link *l) {
    if (!(l->loss >= 0.0 && l->loss <= 1.0)) return FLOE_ERR_INVAL; /* NaN fails too */
    if (l->mtu < FLOE_SIM_MTU_MIN || l->mtu > FLOE_SIM_MTU_MAX) return FLOE_ERR_INVAL;
    if (l->dist != FLOE_SIM_JITTER_UNIFORM && l->dist != FLOE_SIM_JITTER_NORMAL)
        return FLOE_ERR_INVAL;
    /* Keep arrival times far from overflow: an hour of delay is plenty. */
    if (l->delay > FLOE_S(3600) || l->jitter > FLOE_S(3600)) return FLOE_ERR_INVAL;
    return FLOE_OK;
}

void floe_sim_link_apply(floe_sim_link *l, const floe_sim_link_patch *p) {
    if (p->fields & FLOE_SIM_LINK_DELAY) l->delay = p->v.delay;
    if (p->fields & FLOE_SIM_LINK_JITTER) l->jitter = p->v.jitter;
    if (p->fields & FLOE_SIM_LINK_DIST) l->dist = p->v.dist;
    if (p->fields & FLOE_SIM_LINK_REORDER) l->reorder = p->v.reorder;
    if (p->fields & FLOE_SIM_LINK_LOSS) l->loss = p->v.loss;
    if (p->fields & FLOE_SIM_LINK_MTU) l->mtu = p->v.mtu;
    if (p->fields & FLOE_SIM_LINK_PARTITION) l->partitioned = p->v.partitioned;
}

static bool name_ok(const char *name) {
    if (!name || !*name || strlen(name) >= FLOE_SIM_NAME_MAX) return false;
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p == 0x7f) return false;
    return true;
}

void sim_link_reseed(floe_sim_network *n) {
    char label[FLOE_SIM_NAME_MAX + 8];
    snprintf(label, sizeof label, "net:%s", n->name);
    floe_sim_rng_seed_label(&n->rng, n->sim->seed, label);
}

int floe_sim_network_add(floe_sim *sim, const char *name, const floe_sim_link *link,
                         floe_sim_network **out) {
    if (out) *out = NULL;
    floe_sim_link l;
    if (link)
        l = *link;
    else
        floe_sim_link_default(&l);
    if (!name_ok(name) || floe_sim_link_check(&l) != FLOE_OK) return FLOE_ERR_INVAL;
    if (floe_sim_network_find(sim, name)) return FLOE_ERR_STATE;
    if (sim->n_nets >= sim->cfg.max_networks) return FLOE_ERR_LIMIT;
    floe_sim_network *n = calloc(1, sizeof *n);
    if (!n) return FLOE_ERR_NOMEM;
    n->sim = sim;
    snprintf(n->name, sizeof n->name, "%s", name);
    n->index = sim->n_nets;
    n->link = l;
    sim_link_reseed(n);
    sim->nets[sim->n_nets++] = n;
    if (out) *out = n;
    return FLOE_OK;
}

void sim_link_free(floe_sim_network *n) {
    if (!n) return;
    free(n->ifaces);
    free(n);
}

int sim_link_attach(floe_sim_network *n, floe_sim_iface *i) {
    if (n->n_ifaces == n->cap_ifaces) {
        size_t cap = n->cap_ifaces ? 2 * n->cap_ifaces : 8;
        floe_sim_iface **p = realloc(n->ifaces, cap * sizeof *p);
        if (!p) return FLOE_ERR_NOMEM;
        n->ifaces = p;
        n->cap_ifaces = cap;
    }
    n->ifaces[n->n_ifaces++] = i;
    return FLOE_OK;
}

floe_sim_network *floe_sim_network_find(const floe_sim *sim, const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sim->n_nets; i++)
        if (strcmp(sim->nets[i]->name, name) == 0) return sim->nets[i];
    return NULL;
}

size_t floe_sim_network_count(const floe_sim *sim) {
    return sim->n_nets;
}

floe_sim_network *floe_sim_network_at(const floe_sim *sim, size_t i) {
    return i < sim->n_nets ? sim->nets[i] : NULL;
}

size_t floe_sim_network_index(const floe_sim_network *n) {
    return n->index;
}

const char *floe_sim_network_name(const floe_sim_network *n) {
    return n->name;
}

floe_sim *floe_sim_network_world(const floe_sim_network *n) {
    return n->sim;
}

const floe_sim_link *floe_sim_network_link(const floe_sim_network *n) {
    return &n->link;
}

int floe_sim_network_set_link(floe_sim_network *n, const floe_sim_link *l) {
    if (floe_sim_link_check(l) != FLOE_OK) return FLOE_ERR_INVAL;
    n->link = *l;
    return FLOE_OK;
}

int floe_sim_network_patch_at(floe_sim_network *n, floe_time_ns at, const floe_sim_link_patch *p) {
    floe_sim_link probe = n->link;
    floe_sim_link_apply(&probe, p);
    if (floe_sim_link_check(&probe) != FLOE_OK) return FLOE_ERR_INVAL;
    sim_patch *ev = calloc(1, sizeof *ev);
    if (!ev) return FLOE_ERR_NOMEM;
    ev->ev.kind = SIM_EV_PATCH;
    ev->ev.at = at < n->sim->now ? n->sim->now : at;
    ev->net = n;
    ev->patch = *p;
    int rc = sim_heap_push(n->sim, &ev->ev);
    if (rc != FLOE_OK) free(ev);
    return rc;
}

int floe_sim_network_partition_at(floe_sim_network *n, floe_time_ns at, bool on) {
    floe_sim_link_patch p;
    memset(&p, 0, sizeof p);
    p.fields = FLOE_SIM_LINK_PARTITION;
    p.v.partitioned = on;
    return floe_sim_network_patch_at(n, at, &p);
}

void sim_link_run_patch(floe_sim *sim, sim_patch *p) {
    (void)sim;
    floe_sim_link l = p->net->link;
    floe_sim_link_apply(&l, &p->patch);
    /* Every field is valid or not on its own, and the patch's values were checked when
     * it was scheduled: this check cannot fail, it only guards the invariant. */
    if (floe_sim_link_check(&l) == FLOE_OK) p->net->link = l;
    free(p);
}

uint64_t floe_sim_network_counter(const floe_sim_network *n, int c) {
    return c >= 0 && c < FLOE_SIM_COUNTER_COUNT ? n->counters[c] : 0;
}

/* ---- the link model -------------------------------------------------------------- */

size_t sim_ip_size(int family, size_t len) {
    return len + 8 + (family == FLOE_AF_INET6 ? 40 : 20);
}

size_t sim_packet_ip_size(const sim_packet *pkt) {
    /* A TCP header without options is 20 bytes, 12 more than UDP's. */
    return sim_ip_size(pkt->dst.family, pkt->len) + (pkt->proto == FLOE_SIM_PROTO_TCP ? 12 : 0);
}

static floe_time_ns draw_delay(floe_sim_network *n) {
    const floe_sim_link *l = &n->link;
    if (l->jitter == 0) return l->delay;
    double j = (double)l->jitter;
    double off;
    if (l->dist == FLOE_SIM_JITTER_NORMAL)
        off = floe_sim_rng_normal(&n->rng) * j;
    else
        off = (2.0 * floe_sim_rng_unit(&n->rng) - 1.0) * j;
    double d = (double)l->delay + off;
    if (d < 0) d = 0;
    return (floe_time_ns)d;
}

void sim_link_send(floe_sim *sim, sim_packet *pkt, floe_sim_iface *from_if,
                   floe_sim_iface *next_hop) {
    floe_sim_network *n = from_if->net;
    pkt->net = n;
    pkt->from_if = from_if;
    pkt->to_if = next_hop;
    pkt->from_host = from_if->host;
    pkt->to_host = next_hop->host;
    pkt->sent = sim->now;
    sim_count(sim, FLOE_SIM_HOPS, n, NULL);
    const floe_sim_link *l = &n->link;
    if (!from_if->up) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_LINK_DOWN, n, NULL, NULL);
        return;
    }
    if (l->partitioned) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_PARTITION, n, NULL, NULL);
        return;
    }
    if (sim_packet_ip_size(pkt) > l->mtu) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_MTU, n, NULL, NULL);
        return;
    }
    if (l->loss > 0 && floe_sim_rng_unit(&n->rng) < l->loss) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_LOSS, n, NULL, NULL);
        return;
    }
    floe_time_ns at = sim->now + draw_delay(n);
    if (!l->reorder) {
        if (at < from_if->fifo_tail) at = from_if->fifo_tail;
        from_if->fifo_tail = at;
    }
    pkt->ev.at = at;
    if (sim_heap_push(sim, &pkt->ev) != FLOE_OK)
        sim_drop(sim, pkt, FLOE_SIM_DROP_EVENT_QUEUE, n, NULL, NULL);
}
