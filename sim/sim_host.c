/* floe simulator: hosts, interfaces, routing, and what a host does with an arrival. */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

static bool name_ok(const char *name) {
    if (!name || !*name || strlen(name) >= FLOE_SIM_NAME_MAX) return false;
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '.') return false;
    return true;
}

void floe_sim_iface_config_init(floe_sim_iface_config *c, const char *name, floe_sim_network *net) {
    memset(c, 0, sizeof *c);
    c->name = name;
    c->net = net;
}

int floe_sim_host_add(floe_sim *sim, const char *name, floe_sim_host **out) {
    if (out) *out = NULL;
    if (!name_ok(name)) return FLOE_ERR_INVAL;
    if (floe_sim_host_find(sim, name)) return FLOE_ERR_STATE;
    if (sim->n_hosts >= sim->cfg.max_hosts) return FLOE_ERR_LIMIT;
    floe_sim_host *h = calloc(1, sizeof *h);
    if (!h) return FLOE_ERR_NOMEM;
    h->sim = sim;
    snprintf(h->name, sizeof h->name, "%s", name);
    h->index = sim->n_hosts;
    h->next_ephemeral = FLOE_SIM_EPHEMERAL_FIRST;
    h->next_tcp_ephemeral = FLOE_SIM_EPHEMERAL_FIRST;
    sim_tcp_reseed(h);
    sim->hosts[sim->n_hosts++] = h;
    if (out) *out = h;
    return FLOE_OK;
}

void sim_host_free(floe_sim_host *h) {
    if (!h) return;
    sim_udp_close_all(h);
    sim_tcp_close_all(h);
    sim_nat_free(h->nat);
    free(h);
}

bool sim_iface_has_ip(const floe_sim_iface *i, const floe_addr *ip) {
    const floe_addr *own = ip->family == FLOE_AF_INET4   ? &i->ip4
                           : ip->family == FLOE_AF_INET6 ? &i->ip6
                                                         : NULL;
    return own && own->family == ip->family && floe_addr_ip_equal(own, ip);
}

/* A usable interface address: the right family, not unspecified or multicast. */
static bool host_addr_ok(const floe_addr *a, int family) {
    if (a->family == FLOE_AF_NONE) return true;
    if (a->family != family) return false;
    uint32_t cls = floe_addr_classify(a, NULL);
    return !(cls & (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST));
}

static floe_addr strip_port(floe_addr a) {
    a.port = 0;
    a.scope_id = 0;
    return a;
}

int sim_iface_check(const floe_sim_host *h, const floe_sim_iface_config *c) {
    if (!name_ok(c->name) || !c->net || (h && c->net->sim != h->sim)) return FLOE_ERR_INVAL;
    if (c->ip4.family == FLOE_AF_NONE && c->ip6.family == FLOE_AF_NONE) return FLOE_ERR_INVAL;
    if (!host_addr_ok(&c->ip4, FLOE_AF_INET4) || !host_addr_ok(&c->ip6, FLOE_AF_INET6) ||
        !host_addr_ok(&c->gw4, FLOE_AF_INET4) || !host_addr_ok(&c->gw6, FLOE_AF_INET6))
        return FLOE_ERR_INVAL;
    if ((c->gw4.family && !c->ip4.family) || (c->gw6.family && !c->ip6.family))
        return FLOE_ERR_INVAL;
    if (h && floe_sim_host_iface(h, c->name)) return FLOE_ERR_STATE;
    const floe_addr *mine[2] = {&c->ip4, &c->ip6};
    for (int k = 0; k < 2; k++) {
        if (!mine[k]->family) continue;
        /* The gateway must not be the interface itself. */
        const floe_addr *gw = k == 0 ? &c->gw4 : &c->gw6;
        if (gw->family && floe_addr_ip_equal(gw, mine[k])) return FLOE_ERR_INVAL;
        for (size_t i = 0; i < c->net->n_ifaces; i++)
            if (sim_iface_has_ip(c->net->ifaces[i], mine[k])) return FLOE_ERR_STATE;
    }
    if (h && h->n_ifaces >= FLOE_SIM_MAX_IFACES) return FLOE_ERR_LIMIT;
    return FLOE_OK;
}

int floe_sim_host_add_iface(floe_sim_host *h, const floe_sim_iface_config *c,
                            floe_sim_iface **out) {
    if (out) *out = NULL;
    int rc = sim_iface_check(h, c);
    if (rc != FLOE_OK) return rc;
    floe_sim_iface *i = &h->ifaces[h->n_ifaces];
    memset(i, 0, sizeof *i);
    i->host = h;
    i->net = c->net;
    snprintf(i->name, sizeof i->name, "%s", c->name);
    i->ip4 = c->ip4.family ? strip_port(c->ip4) : c->ip4;
    i->ip6 = c->ip6.family ? strip_port(c->ip6) : c->ip6;
    i->gw4 = c->gw4.family ? strip_port(c->gw4) : c->gw4;
    i->gw6 = c->gw6.family ? strip_port(c->gw6) : c->gw6;
    i->up = true;
    rc = sim_link_attach(c->net, i);
    if (rc != FLOE_OK) return rc;
    h->n_ifaces++;
    if (out) *out = i;
    return FLOE_OK;
}

floe_sim_host *floe_sim_host_find(const floe_sim *sim, const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sim->n_hosts; i++)
        if (strcmp(sim->hosts[i]->name, name) == 0) return sim->hosts[i];
    return NULL;
}

size_t floe_sim_host_count(const floe_sim *sim) {
    return sim->n_hosts;
}

floe_sim_host *floe_sim_host_at(const floe_sim *sim, size_t i) {
    return i < sim->n_hosts ? sim->hosts[i] : NULL;
}

const char *floe_sim_host_name(const floe_sim_host *h) {
    return h->name;
}

floe_sim *floe_sim_host_world(const floe_sim_host *h) {
    return h->sim;
}

uint64_t floe_sim_host_counter(const floe_sim_host *h, int c) {
    return c >= 0 && c < FLOE_SIM_COUNTER_COUNT ? h->counters[c] : 0;
}

size_t floe_sim_host_iface_count(const floe_sim_host *h) {
    return h->n_ifaces;
}

floe_sim_iface *floe_sim_host_iface_at(const floe_sim_host *h, size_t i) {
    return i < h->n_ifaces ? (floe_sim_iface *)&h->ifaces[i] : NULL;
}

floe_sim_iface *floe_sim_host_iface(const floe_sim_host *h, const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < h->n_ifaces; i++)
        if (strcmp(h->ifaces[i].name, name) == 0) return (floe_sim_iface *)&h->ifaces[i];
    return NULL;
}

static floe_sim_iface *owner_iface(const floe_sim_host *h, const floe_addr *ip) {
    for (size_t i = 0; i < h->n_ifaces; i++)
        if (sim_iface_has_ip(&h->ifaces[i], ip)) return (floe_sim_iface *)&h->ifaces[i];
    return NULL;
}

bool floe_sim_host_owns(const floe_sim_host *h, const floe_addr *ip) {
    return owner_iface(h, ip) != NULL;
}

const char *floe_sim_iface_name(const floe_sim_iface *i) {
    return i->name;
}

floe_sim_host *floe_sim_iface_host(const floe_sim_iface *i) {
    return i->host;
}

floe_sim_network *floe_sim_iface_network(const floe_sim_iface *i) {
    return i->net;
}

floe_addr floe_sim_iface_addr(const floe_sim_iface *i, int family) {
    floe_addr none;
    memset(&none, 0, sizeof none);
    return family == FLOE_AF_INET4 ? i->ip4 : family == FLOE_AF_INET6 ? i->ip6 : none;
}

floe_addr floe_sim_iface_gateway(const floe_sim_iface *i, int family) {
    floe_addr none;
    memset(&none, 0, sizeof none);
    return family == FLOE_AF_INET4 ? i->gw4 : family == FLOE_AF_INET6 ? i->gw6 : none;
}

bool floe_sim_iface_is_up(const floe_sim_iface *i) {
    return i->up;
}

void floe_sim_iface_set_up(floe_sim_iface *i, bool up) {
    i->up = up;
}

int floe_sim_iface_set_up_at(floe_sim_iface *i, floe_time_ns at, bool up) {
    floe_sim *sim = i->host->sim;
    sim_iface_change *c = calloc(1, sizeof *c);
    if (!c) return FLOE_ERR_NOMEM;
    c->ev.kind = SIM_EV_IFACE;
    c->ev.at = at < sim->now ? sim->now : at;
    c->iface = i;
    c->up = up;
    int rc = sim_heap_push(sim, &c->ev);
    if (rc != FLOE_OK) free(c);
    return rc;
}

void sim_host_run_iface_change(floe_sim *sim, sim_iface_change *c) {
    (void)sim;
    c->iface->up = c->up;
    free(c);
}

/* ---- routing --------------------------------------------------------------------- */

floe_sim_iface *sim_net_next_hop(const floe_sim_network *n, const floe_addr *ip, int depth) {
    for (size_t i = 0; i < n->n_ifaces; i++)
        if (sim_iface_has_ip(n->ifaces[i], ip)) return n->ifaces[i];
    if (depth >= SIM_ROUTE_DEPTH) return NULL;
    /* Behind a routing box: its outside interface is the next hop. */
    for (size_t i = 0; i < n->n_ifaces; i++) {
        floe_sim_iface *f = n->ifaces[i];
        if (!f->host->nat || !sim_nat_routes(f->host) || floe_sim_nat_outside(f->host) != f)
            continue;
        floe_sim_iface *in = floe_sim_nat_inside(f->host);
        if (in && sim_net_next_hop(in->net, ip, depth + 1)) return f;
    }
    return NULL;
}

floe_sim_iface *sim_iface_next_hop(const floe_sim_iface *i, const floe_addr *dst) {
    const floe_addr *own = dst->family == FLOE_AF_INET4 ? &i->ip4 : &i->ip6;
    if (own->family != dst->family) return NULL;
    floe_sim_iface *nh = sim_net_next_hop(i->net, dst, 0);
    if (nh && nh != i) return nh;
    const floe_addr *gw = dst->family == FLOE_AF_INET4 ? &i->gw4 : &i->gw6;
    if (gw->family != dst->family) return NULL;
    nh = sim_net_next_hop(i->net, gw, 0);
    return nh && nh != i ? nh : NULL;
}

/* The route of a datagram leaving h for dst from a socket bound to src: the interface
 * (NULL: local) and the next hop. */
static int route(const floe_sim_host *h, const floe_addr *dst, const floe_addr *src,
                 floe_sim_iface **out_if, floe_sim_iface **next_hop) {
    *out_if = NULL;
    *next_hop = NULL;
    if (dst->family != FLOE_AF_INET4 && dst->family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (floe_sim_host_owns(h, dst)) return FLOE_OK; /* local */
    if (src && src->family == dst->family) {
        floe_sim_iface *b = owner_iface(h, src);
        floe_sim_iface *nh = b ? sim_iface_next_hop(b, dst) : NULL;
        if (nh) {
            *out_if = b;
            *next_hop = nh;
            return FLOE_OK;
        }
    }
    const floe_sim_iface *ifs = h->ifaces;
    for (size_t i = 0; i < h->n_ifaces; i++) {
        const floe_addr *own = dst->family == FLOE_AF_INET4 ? &ifs[i].ip4 : &ifs[i].ip6;
        if (own->family != dst->family) continue;
        floe_sim_iface *nh = sim_net_next_hop(ifs[i].net, dst, 0);
        if (nh && nh != &ifs[i]) {
            *out_if = (floe_sim_iface *)&ifs[i];
            *next_hop = nh;
            return FLOE_OK;
        }
    }
    for (size_t i = 0; i < h->n_ifaces; i++) {
        const floe_addr *gw = dst->family == FLOE_AF_INET4 ? &ifs[i].gw4 : &ifs[i].gw6;
        if (gw->family != dst->family) continue;
        floe_sim_iface *nh = sim_net_next_hop(ifs[i].net, gw, 0);
        if (nh && nh != &ifs[i]) {
            *out_if = (floe_sim_iface *)&ifs[i];
            *next_hop = nh;
            return FLOE_OK;
        }
    }
    return FLOE_ERR_UNREACHABLE;
}

int floe_sim_host_route(const floe_sim_host *h, const floe_addr *dst, const floe_addr *src,
                        floe_sim_iface **out, floe_addr *source) {
    floe_sim_iface *oi, *nh;
    int rc = route(h, dst, src, &oi, &nh);
    if (out) *out = oi;
    if (rc != FLOE_OK) return rc;
    if (source) {
        bool bound = src && src->family == dst->family &&
                     !(floe_addr_classify(src, NULL) & FLOE_ADDR_UNSPECIFIED);
        if (bound)
            *source = strip_port(*src);
        else if (oi)
            *source = floe_sim_iface_addr(oi, dst->family);
        else
            *source = strip_port(*dst); /* local: to itself */
    }
    return FLOE_OK;
}

int sim_host_send(floe_sim *sim, floe_sim_host *h, sim_packet *pkt, const floe_addr *bound) {
    floe_sim_iface *oi, *nh;
    pkt->from_host = h;
    pkt->sent = sim->now;
    int rc = route(h, &pkt->dst, bound, &oi, &nh);
    if (rc != FLOE_OK) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_NO_ROUTE, NULL, h, NULL);
        return FLOE_ERR_UNREACHABLE;
    }
    if (floe_addr_classify(&pkt->src, NULL) & FLOE_ADDR_UNSPECIFIED) {
        uint16_t port = pkt->src.port;
        pkt->src = oi ? floe_sim_iface_addr(oi, pkt->dst.family) : strip_port(pkt->dst);
        pkt->src.port = port;
    }
    if (!oi) {
        /* To itself: no network, arrives at once (after what is already due now). */
        pkt->net = NULL;
        pkt->from_if = pkt->to_if = NULL;
        pkt->to_host = h;
        pkt->ev.at = sim->now;
        if (sim_heap_push(sim, &pkt->ev) != FLOE_OK)
            sim_drop(sim, pkt, FLOE_SIM_DROP_EVENT_QUEUE, NULL, h, NULL);
        return FLOE_OK;
    }
    sim_link_send(sim, pkt, oi, nh);
    return FLOE_OK;
}

/* ---- arrivals -------------------------------------------------------------------- */

bool sim_host_serves(const floe_sim_host *h, const sim_packet *pkt) {
    if (pkt->proto == FLOE_SIM_PROTO_TCP) return sim_tcp_serves(h, pkt);
    return sim_udp_lookup(h, &pkt->dst) != NULL;
}

void sim_host_local(floe_sim *sim, floe_sim_host *h, sim_packet *pkt) {
    if (pkt->proto == FLOE_SIM_PROTO_TCP) {
        sim_tcp_arrive(sim, h, pkt);
        return;
    }
    floe_sim_udp *s = sim_udp_lookup(h, &pkt->dst);
    if (!s) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_NO_SOCKET, NULL, h, h);
        return;
    }
    if (!sim_udp_can_take(s)) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_SOCKET_QUEUE, NULL, h, h);
        return;
    }
    sim_deliver(sim, pkt, s);
}

void sim_host_forward(floe_sim *sim, floe_sim_host *h, sim_packet *pkt, floe_sim_iface *via) {
    floe_sim_iface *nh = sim_iface_next_hop(via, &pkt->dst);
    pkt->from_host = h;
    pkt->sent = sim->now;
    if (!nh) {
        pkt->net = NULL;
        sim_drop(sim, pkt, FLOE_SIM_DROP_NO_ROUTE, NULL, h, NULL);
        return;
    }
    sim_link_send(sim, pkt, via, nh);
}

void sim_host_arrive(floe_sim *sim, sim_packet *pkt) {
    floe_sim_host *h = pkt->to_host;
    floe_sim_iface *in = pkt->to_if;
    if (in && !in->up) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_LINK_DOWN, pkt->net, NULL, h);
        return;
    }
    if (pkt->net && pkt->net->link.partitioned) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_PARTITION, pkt->net, NULL, h);
        return;
    }
    if (h->nat && in) {
        sim_nat_arrive(sim, h, in, pkt);
        return;
    }
    if (!floe_sim_host_owns(h, &pkt->dst)) {
        sim_drop(sim, pkt, FLOE_SIM_DROP_NOT_FOR_HOST, NULL, h, h);
        return;
    }
    sim_host_local(sim, h, pkt);
}
