/* floe simulator: UDP sockets (binding, sending, delivery, receive queues). */
#include "sim_internal.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

static bool is_unspecified(const floe_addr *a) {
    return (floe_addr_classify(a, NULL) & FLOE_ADDR_UNSPECIFIED) != 0;
}

/* Would a socket bound to ip:port receive what is sent to a:port? Same family, and the
 * same IP or one of the two unspecified. */
static bool overlaps(const floe_addr *bound, const floe_addr *ip, uint16_t port) {
    if (bound->family != ip->family || bound->port != port) return false;
    return is_unspecified(bound) || is_unspecified(ip) || floe_addr_ip_equal(bound, ip);
}

bool sim_udp_port_used(const floe_sim_host *h, const floe_addr *ip, uint16_t port) {
    for (const floe_sim_udp *s = h->socks; s; s = s->next)
        if (overlaps(&s->local, ip, port)) return true;
    return false;
}

int floe_sim_udp_open(floe_sim_host *h, const floe_addr *bind, floe_sim_udp **out) {
    *out = NULL;
    floe_sim *sim = h->sim;
    if (bind->family != FLOE_AF_INET4 && bind->family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (!is_unspecified(bind) && !floe_sim_host_owns(h, bind)) return FLOE_ERR_INVAL;
    if (sim->n_socks >= sim->cfg.max_sockets) return FLOE_ERR_LIMIT;
    floe_addr local = *bind;
    local.scope_id = 0;
    if (local.port == 0) {
        /* The next free ephemeral port, counting up and wrapping. */
        unsigned span = 65536u - FLOE_SIM_EPHEMERAL_FIRST;
        bool found = false;
        for (unsigned k = 0; k < span && !found; k++) {
            uint16_t p = h->next_ephemeral;
            h->next_ephemeral = p == 65535 ? FLOE_SIM_EPHEMERAL_FIRST : (uint16_t)(p + 1);
            if (!sim_udp_port_used(h, &local, p)) {
                local.port = p;
                found = true;
            }
        }
        if (!found) return FLOE_ERR_LIMIT;
    } else if (sim_udp_port_used(h, &local, local.port)) {
        return FLOE_ERR_STATE;
    }
    floe_sim_udp *s = calloc(1, sizeof *s);
    if (!s) return FLOE_ERR_NOMEM;
    s->host = h;
    s->local = local;
    s->next = h->socks;
    h->socks = s;
    sim->n_socks++;
    *out = s;
    return FLOE_OK;
}

static void drain_queue(floe_sim_udp *s) {
    while (s->qhead) {
        sim_packet *p = s->qhead;
        s->qhead = p->qnext;
        sim_packet_free(p);
    }
    s->qtail = NULL;
    s->qlen = 0;
}

void floe_sim_udp_close(floe_sim_udp *s) {
    if (!s) return;
    floe_sim_host *h = s->host;
    for (floe_sim_udp **pp = &h->socks; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    drain_queue(s);
    h->sim->n_socks--;
    free(s);
}

void sim_udp_close_all(floe_sim_host *h) {
    while (h->socks)
        floe_sim_udp_close(h->socks);
}

void floe_sim_udp_set_callback(floe_sim_udp *s, floe_sim_udp_fn fn, void *ctx) {
    s->fn = fn;
    s->ctx = ctx;
}

floe_addr floe_sim_udp_local(const floe_sim_udp *s) {
    return s->local;
}

floe_sim_host *floe_sim_udp_host(const floe_sim_udp *s) {
    return s->host;
}

int floe_sim_udp_send(floe_sim_udp *s, const floe_addr *dst, const uint8_t *p, size_t len) {
    floe_sim *sim = s->host->sim;
    if (dst->family != s->local.family || dst->port == 0 || is_unspecified(dst))
        return FLOE_ERR_INVAL;
    if (len > FLOE_SIM_MAX_PAYLOAD || (len > 0 && !p)) return FLOE_ERR_INVAL;
    sim_packet *pkt = malloc(sizeof *pkt + (len ? len : 1));
    if (!pkt) return FLOE_ERR_NOMEM;
    memset(pkt, 0, sizeof *pkt);
    pkt->ev.kind = SIM_EV_PACKET;
    pkt->ev.pos = SIM_NOT_QUEUED;
    pkt->id = ++sim->next_id;
    pkt->src = s->local;
    pkt->dst = *dst;
    pkt->dst.scope_id = 0;
    pkt->ttl = FLOE_SIM_TTL;
    pkt->len = len;
    if (len) memcpy(pkt->data, p, len);
    sim_count(sim, FLOE_SIM_TX, NULL, s->host);
    sim->in_flight++;
    return sim_host_send(sim, s->host, pkt, &s->local);
}

/* ---- receiving ------------------------------------------------------------------- */

floe_sim_udp *sim_udp_lookup(const floe_sim_host *h, const floe_addr *dst) {
    floe_sim_udp *wild = NULL;
    for (floe_sim_udp *s = h->socks; s; s = s->next) {
        if (s->local.family != dst->family || s->local.port != dst->port) continue;
        if (floe_addr_ip_equal(&s->local, dst)) return s;
        if (is_unspecified(&s->local)) wild = s;
    }
    return wild;
}

bool sim_udp_can_take(const floe_sim_udp *s) {
    return s->fn || s->qlen < s->host->sim->cfg.socket_queue;
}

void sim_udp_take(floe_sim_udp *s, sim_packet *pkt) {
    if (s->fn) {
        /* The callback may close s: copy what we need first, free after. */
        floe_sim *sim = s->host->sim;
        s->fn(s->ctx, s, sim->now, &pkt->src, &pkt->dst, pkt->data, pkt->len);
        sim_packet_free(pkt);
        return;
    }
    pkt->qnext = NULL;
    pkt->ev.at = s->host->sim->now; /* arrival time, for recv */
    if (s->qtail)
        s->qtail->qnext = pkt;
    else
        s->qhead = pkt;
    s->qtail = pkt;
    s->qlen++;
}

int floe_sim_udp_recv(floe_sim_udp *s, uint8_t *buf, size_t cap, size_t *len, floe_addr *src,
                      floe_addr *dst, floe_time_ns *at) {
    sim_packet *p = s->qhead;
    if (!p) return FLOE_ERR_NOT_FOUND;
    *len = p->len;
    if (p->len > cap) return FLOE_ERR_NOSPACE;
    if (p->len) memcpy(buf, p->data, p->len);
    if (src) *src = p->src;
    if (dst) *dst = p->dst;
    if (at) *at = p->ev.at;
    s->qhead = p->qnext;
    if (!s->qhead) s->qtail = NULL;
    s->qlen--;
    sim_packet_free(p);
    return FLOE_OK;
}

size_t floe_sim_udp_pending(const floe_sim_udp *s) {
    return s->qlen;
}
