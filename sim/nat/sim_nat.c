/* floe simulator: NAT and firewall boxes with the behaviours of RFC 4787 (see sim_nat.h).
 *
 * A box keeps two bounded tables. A mapping ties an internal endpoint X:x (and, for the
 * address-dependent mappings, the remote that made it) to an external endpoint; in the
 * firewall modes the external endpoint is X:x itself and a mapping is a flow. A
 * permission records a remote endpoint a mapping sent to: the filtering behaviour asks
 * the permissions. Entries die `timeout` after their last refresh and are reclaimed at
 * the next datagram the box handles. */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

typedef struct nat_map {
    bool used;
    floe_sim_proto proto; /* UDP and TCP mappings never share an entry */
    floe_addr internal;   /* X:x */
    floe_addr remote;     /* the remote endpoint that created it */
    floe_addr external;   /* X':x' (firewall modes: X:x) */
    floe_time_ns expires;
} nat_map;

typedef struct nat_perm {
    bool used;
    uint32_t map;
    floe_addr remote;
    floe_time_ns expires;
} nat_perm;

struct sim_nat {
    floe_sim_nat_config cfg;
    floe_sim_host *host;
    floe_sim_iface *inside, *outside;
    floe_sim_rng rng;
    nat_map *maps;
    size_t n_maps; /* slots ever used: scans stop here */
    nat_perm *perms;
    size_t n_perms;
    uint32_t next_port; /* sequential assignment */
};

/* ---- config ---------------------------------------------------------------------- */

void floe_sim_nat_config_default(floe_sim_nat_config *c) {
    memset(c, 0, sizeof *c);
    c->mode = FLOE_SIM_NAT_TRANSLATE;
    c->mapping = FLOE_NAT_ENDPOINT_INDEPENDENT;
    c->filtering = FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT;
    c->ports = FLOE_SIM_NAT_PORTS_PRESERVE;
    c->port_min = FLOE_SIM_NAT_PORT_MIN_DEFAULT;
    c->port_max = FLOE_SIM_NAT_PORT_MAX_DEFAULT;
    c->timeout = FLOE_SIM_NAT_TIMEOUT_DEFAULT;
    c->tcp_timeout = FLOE_SIM_NAT_TCP_TIMEOUT_DEFAULT;
    c->refresh_inbound = false;
    c->hairpin = true;
    c->max_mappings = FLOE_SIM_NAT_MAX_MAPPINGS_DEFAULT;
    c->max_permissions = FLOE_SIM_NAT_MAX_PERMISSIONS_DEFAULT;
}

void floe_sim_firewall_config_default(floe_sim_nat_config *c) {
    floe_sim_nat_config_default(c);
    c->mode = FLOE_SIM_NAT_FIREWALL;
}

static bool behavior_ok(floe_nat_behavior b) {
    return b == FLOE_NAT_ENDPOINT_INDEPENDENT || b == FLOE_NAT_ADDRESS_DEPENDENT ||
           b == FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT;
}

int floe_sim_nat_config_check(const floe_sim_nat_config *c) {
    if (c->mode != FLOE_SIM_NAT_TRANSLATE && c->mode != FLOE_SIM_NAT_FIREWALL &&
        c->mode != FLOE_SIM_NAT_BLOCK_UDP)
        return FLOE_ERR_INVAL;
    if (!behavior_ok(c->mapping) || !behavior_ok(c->filtering)) return FLOE_ERR_INVAL;
    if (c->ports != FLOE_SIM_NAT_PORTS_PRESERVE && c->ports != FLOE_SIM_NAT_PORTS_RANDOM &&
        c->ports != FLOE_SIM_NAT_PORTS_SEQUENTIAL)
        return FLOE_ERR_INVAL;
    if (c->port_min == 0 || c->port_min > c->port_max) return FLOE_ERR_INVAL;
    if (c->timeout == 0 || c->timeout > FLOE_S(86400)) return FLOE_ERR_INVAL;
    if (c->tcp_timeout > FLOE_S(86400)) return FLOE_ERR_INVAL;
    if (c->max_mappings == 0 || c->max_mappings > FLOE_SIM_NAT_TABLE_LIMIT) return FLOE_ERR_INVAL;
    if (c->max_permissions == 0 || c->max_permissions > FLOE_SIM_NAT_TABLE_LIMIT)
        return FLOE_ERR_INVAL;
    return FLOE_OK;
}

const char *floe_sim_nat_mode_name(floe_sim_nat_mode m) {
    switch (m) {
    case FLOE_SIM_NAT_TRANSLATE: return "translate";
    case FLOE_SIM_NAT_FIREWALL: return "firewall";
    case FLOE_SIM_NAT_BLOCK_UDP: return "block-udp";
    }
    return "?";
}

const char *floe_sim_nat_ports_name(floe_sim_nat_ports p) {
    switch (p) {
    case FLOE_SIM_NAT_PORTS_PRESERVE: return "preserve";
    case FLOE_SIM_NAT_PORTS_RANDOM: return "random";
    case FLOE_SIM_NAT_PORTS_SEQUENTIAL: return "sequential";
    }
    return "?";
}

const char *floe_sim_nat_mapping_short(floe_nat_behavior b) {
    switch (b) {
    case FLOE_NAT_ENDPOINT_INDEPENDENT: return "eim";
    case FLOE_NAT_ADDRESS_DEPENDENT: return "adm";
    case FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT: return "apdm";
    case FLOE_NAT_UNKNOWN: break;
    }
    return "?";
}

const char *floe_sim_nat_filtering_short(floe_nat_behavior b) {
    switch (b) {
    case FLOE_NAT_ENDPOINT_INDEPENDENT: return "eif";
    case FLOE_NAT_ADDRESS_DEPENDENT: return "adf";
    case FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT: return "apdf";
    case FLOE_NAT_UNKNOWN: break;
    }
    return "?";
}

/* ---- lifetime -------------------------------------------------------------------- */

void sim_nat_reseed(floe_sim_host *h) {
    char label[FLOE_SIM_NAME_MAX + 8];
    snprintf(label, sizeof label, "nat:%s", h->name);
    floe_sim_rng_seed_label(&h->nat->rng, h->sim->seed, label);
}

void sim_nat_free(sim_nat *n) {
    if (!n) return;
    free(n->maps);
    free(n->perms);
    free(n);
}

int floe_sim_nat_add(floe_sim *sim, const char *name, const floe_sim_nat_config *cfg,
                     const floe_sim_iface_config *inside, const floe_sim_iface_config *outside,
                     floe_sim_host **out) {
    if (out) *out = NULL;
    if (!cfg || !inside || !outside || floe_sim_nat_config_check(cfg) != FLOE_OK)
        return FLOE_ERR_INVAL;
    if (!inside->net || !outside->net || inside->net == outside->net || inside->net->sim != sim ||
        outside->net->sim != sim)
        return FLOE_ERR_INVAL;
    if (sim->n_hosts >= sim->cfg.max_hosts) return FLOE_ERR_LIMIT;
    if (floe_sim_host_find(sim, name)) return FLOE_ERR_STATE;
    sim_nat *n = calloc(1, sizeof *n);
    if (!n) return FLOE_ERR_NOMEM;
    n->cfg = *cfg;
    n->maps = calloc(cfg->max_mappings, sizeof *n->maps);
    n->perms = calloc(cfg->max_permissions, sizeof *n->perms);
    if (!n->maps || !n->perms) {
        sim_nat_free(n);
        return FLOE_ERR_NOMEM;
    }
    n->next_port = cfg->port_min;
    floe_sim_iface_config in = *inside, ou = *outside;
    if (!in.name) in.name = "inside";
    if (!ou.name) ou.name = "outside";
    /* Check everything before the host exists: a failure leaves the world unchanged. */
    int rc = strcmp(in.name, ou.name) == 0 ? FLOE_ERR_INVAL : sim_iface_check(NULL, &in);
    if (rc == FLOE_OK) rc = sim_iface_check(NULL, &ou);
    floe_sim_host *h = NULL;
    if (rc == FLOE_OK) rc = floe_sim_host_add(sim, name, &h);
    floe_sim_iface *fi = NULL, *fo = NULL;
    if (rc == FLOE_OK) rc = floe_sim_host_add_iface(h, &in, &fi);
    if (rc == FLOE_OK) rc = floe_sim_host_add_iface(h, &ou, &fo);
    if (rc != FLOE_OK) {
        sim_nat_free(n);
        return rc; /* only FLOE_ERR_NOMEM can fail after the host was added */
    }
    n->host = h;
    n->inside = fi;
    n->outside = fo;
    h->nat = n;
    sim_nat_reseed(h);
    if (out) *out = h;
    return FLOE_OK;
}

bool floe_sim_host_is_nat(const floe_sim_host *h) {
    return h->nat != NULL;
}

const floe_sim_nat_config *floe_sim_nat_config_get(const floe_sim_host *h) {
    return h->nat ? &h->nat->cfg : NULL;
}

floe_sim_iface *floe_sim_nat_inside(const floe_sim_host *h) {
    return h->nat ? h->nat->inside : NULL;
}

floe_sim_iface *floe_sim_nat_outside(const floe_sim_host *h) {
    return h->nat ? h->nat->outside : NULL;
}

bool sim_nat_routes(const floe_sim_host *h) {
    return h->nat && h->nat->cfg.mode != FLOE_SIM_NAT_TRANSLATE;
}

/* ---- tables ---------------------------------------------------------------------- */

static bool alive(floe_time_ns expires, floe_time_ns now) {
    return expires > now;
}

/* How long an entry of protocol p lives after its last refresh. */
static floe_time_ns lifetime(const sim_nat *n, floe_sim_proto p) {
    if (p != FLOE_SIM_PROTO_TCP) return n->cfg.timeout;
    return n->cfg.tcp_timeout ? n->cfg.tcp_timeout : FLOE_SIM_NAT_TCP_TIMEOUT_DEFAULT;
}

/* Reclaims dead mappings (counting them) and permissions. */
static void sweep(floe_sim *sim, sim_nat *n) {
    floe_time_ns now = sim->now;
    for (size_t i = 0; i < n->n_maps; i++) {
        nat_map *m = &n->maps[i];
        if (m->used && !alive(m->expires, now)) {
            m->used = false;
            sim_count(sim, FLOE_SIM_NAT_MAPPING_EXPIRED, NULL, n->host);
        }
    }
    for (size_t i = 0; i < n->n_perms; i++) {
        nat_perm *p = &n->perms[i];
        if (p->used && (!alive(p->expires, now) || !n->maps[p->map].used)) p->used = false;
    }
    while (n->n_maps > 0 && !n->maps[n->n_maps - 1].used)
        n->n_maps--;
    while (n->n_perms > 0 && !n->perms[n->n_perms - 1].used)
        n->n_perms--;
}

/* Does remote `r` fall in the same class as `ref` for behaviour b? */
static bool same_class(floe_nat_behavior b, const floe_addr *ref, const floe_addr *r) {
    switch (b) {
    case FLOE_NAT_ENDPOINT_INDEPENDENT: return ref->family == r->family;
    case FLOE_NAT_ADDRESS_DEPENDENT: return floe_addr_ip_equal(ref, r);
    default: return floe_addr_equal(ref, r);
    }
}

static floe_nat_behavior mapping_rule(const sim_nat *n) {
    return n->cfg.mode == FLOE_SIM_NAT_TRANSLATE ? n->cfg.mapping : FLOE_NAT_ENDPOINT_INDEPENDENT;
}

/* The live mapping of protocol p an outbound packet internal -> remote uses, or -1. */
static long find_out(const sim_nat *n, floe_sim_proto p, const floe_addr *internal,
                     const floe_addr *remote, floe_time_ns now) {
    floe_nat_behavior rule = mapping_rule(n);
    for (size_t i = 0; i < n->n_maps; i++) {
        const nat_map *m = &n->maps[i];
        if (m->used && m->proto == p && alive(m->expires, now) &&
            floe_addr_equal(&m->internal, internal) && m->external.family == remote->family &&
            same_class(rule, &m->remote, remote))
            return (long)i;
    }
    return -1;
}

/* The live mapping of protocol p whose external endpoint is ext, or -1. */
static long find_external(const sim_nat *n, floe_sim_proto p, const floe_addr *ext,
                          floe_time_ns now) {
    for (size_t i = 0; i < n->n_maps; i++) {
        const nat_map *m = &n->maps[i];
        if (m->used && m->proto == p && alive(m->expires, now) &&
            floe_addr_equal(&m->external, ext))
            return (long)i;
    }
    return -1;
}

/* Ports are per protocol: a UDP mapping and a TCP one may have the same external port. */
static bool port_free(const sim_nat *n, floe_sim_proto p, const floe_addr *ext_ip, uint16_t port) {
    for (size_t i = 0; i < n->n_maps; i++) {
        const nat_map *m = &n->maps[i];
        if (m->used && m->proto == p && m->external.family == ext_ip->family &&
            m->external.port == port)
            return false;
    }
    if (p == FLOE_SIM_PROTO_TCP) return !sim_tcp_port_used(n->host, ext_ip, port);
    return !sim_udp_port_used(n->host, ext_ip, port);
}

static bool pick_random(sim_nat *n, floe_sim_proto pr, const floe_addr *ext_ip, uint16_t *port) {
    uint32_t span = (uint32_t)n->cfg.port_max - n->cfg.port_min + 1;
    for (int k = 0; k < 64; k++) {
        uint16_t p = (uint16_t)(n->cfg.port_min + floe_sim_rng_below(&n->rng, span));
        if (port_free(n, pr, ext_ip, p)) {
            *port = p;
            return true;
        }
    }
    /* A crowded range: walk it from a random start. */
    uint32_t start = (uint32_t)floe_sim_rng_below(&n->rng, span);
    for (uint32_t k = 0; k < span; k++) {
        uint16_t p = (uint16_t)(n->cfg.port_min + (start + k) % span);
        if (port_free(n, pr, ext_ip, p)) {
            *port = p;
            return true;
        }
    }
    return false;
}

static bool pick_port(sim_nat *n, floe_sim_proto pr, const floe_addr *ext_ip,
                      uint16_t internal_port, uint16_t *port) {
    switch (n->cfg.ports) {
    case FLOE_SIM_NAT_PORTS_PRESERVE:
        if (port_free(n, pr, ext_ip, internal_port)) {
            *port = internal_port;
            return true;
        }
        return pick_random(n, pr, ext_ip, port);
    case FLOE_SIM_NAT_PORTS_RANDOM: return pick_random(n, pr, ext_ip, port);
    case FLOE_SIM_NAT_PORTS_SEQUENTIAL: {
        uint32_t span = (uint32_t)n->cfg.port_max - n->cfg.port_min + 1;
        for (uint32_t k = 0; k < span; k++) {
            uint32_t p = n->next_port;
            n->next_port = p >= n->cfg.port_max ? n->cfg.port_min : p + 1;
            if (port_free(n, pr, ext_ip, (uint16_t)p)) {
                *port = (uint16_t)p;
                return true;
            }
        }
        return false;
    }
    }
    return false;
}

/* The mapping for an outbound packet, created when needed. Returns its index, or -1
 * with *why set to the drop reason. Only a SYN makes a TCP mapping (RFC 5382 §4): a
 * segment of a connection the box does not know is dropped. */
static long outbound_map(floe_sim *sim, sim_nat *n, const sim_packet *pkt,
                         const floe_addr *internal, const floe_addr *remote,
                         floe_sim_counter *why) {
    floe_sim_proto proto = pkt->proto;
    long i = find_out(n, proto, internal, remote, sim->now);
    if (i >= 0) return i;
    if (proto == FLOE_SIM_PROTO_TCP && !(pkt->tcp_flags & FLOE_SIM_TCP_SYN)) {
        *why = FLOE_SIM_DROP_NAT_TCP_STATE;
        return -1;
    }
    floe_addr ext;
    if (n->cfg.mode == FLOE_SIM_NAT_TRANSLATE) {
        ext = floe_sim_iface_addr(n->outside, remote->family);
        if (ext.family != remote->family) {
            *why = FLOE_SIM_DROP_NAT_FAMILY;
            return -1;
        }
    } else {
        ext = *internal;
    }
    size_t slot = 0;
    while (slot < n->cfg.max_mappings && n->maps[slot].used)
        slot++;
    if (slot == n->cfg.max_mappings) {
        *why = FLOE_SIM_DROP_NAT_TABLE;
        return -1;
    }
    if (n->cfg.mode == FLOE_SIM_NAT_TRANSLATE &&
        !pick_port(n, proto, &ext, internal->port, &ext.port)) {
        *why = FLOE_SIM_DROP_NAT_PORTS;
        return -1;
    }
    nat_map *m = &n->maps[slot];
    m->used = true;
    m->proto = proto;
    m->internal = *internal;
    m->remote = *remote;
    m->external = ext;
    m->expires = sim->now + lifetime(n, proto);
    if (slot >= n->n_maps) n->n_maps = slot + 1;
    sim_count(sim, FLOE_SIM_NAT_MAPPING_NEW, NULL, n->host);
    return (long)slot;
}

/* Records (or refreshes) that mapping `map` sent to remote. false when the table is full. */
static bool permit(floe_sim *sim, sim_nat *n, long map, const floe_addr *remote) {
    floe_time_ns life = lifetime(n, n->maps[map].proto);
    size_t free_slot = n->cfg.max_permissions;
    for (size_t i = 0; i < n->n_perms; i++) {
        nat_perm *p = &n->perms[i];
        if (!p->used) {
            if (free_slot == n->cfg.max_permissions) free_slot = i;
            continue;
        }
        if (p->map == (uint32_t)map && floe_addr_equal(&p->remote, remote)) {
            p->expires = sim->now + life;
            return true;
        }
    }
    if (free_slot == n->cfg.max_permissions && n->n_perms < n->cfg.max_permissions)
        free_slot = n->n_perms;
    if (free_slot == n->cfg.max_permissions) return false;
    nat_perm *p = &n->perms[free_slot];
    p->used = true;
    p->map = (uint32_t)map;
    p->remote = *remote;
    p->expires = sim->now + life;
    if (free_slot >= n->n_perms) n->n_perms = free_slot + 1;
    return true;
}

/* May remote send through mapping `map`? With inbound refresh, refreshes what matched. */
static bool inbound_allowed(floe_sim *sim, sim_nat *n, long map, const floe_addr *remote) {
    floe_time_ns now = sim->now;
    floe_time_ns life = lifetime(n, n->maps[map].proto);
    bool ok = n->cfg.filtering == FLOE_NAT_ENDPOINT_INDEPENDENT;
    for (size_t i = 0; i < n->n_perms; i++) {
        nat_perm *p = &n->perms[i];
        if (!p->used || p->map != (uint32_t)map || !alive(p->expires, now)) continue;
        if (!same_class(n->cfg.filtering, &p->remote, remote)) continue;
        ok = true;
        if (n->cfg.refresh_inbound) p->expires = now + life;
    }
    if (ok && n->cfg.refresh_inbound) n->maps[map].expires = now + life;
    return ok;
}

/* ---- forwarding ------------------------------------------------------------------ */

static void drop(floe_sim *sim, floe_sim_host *h, sim_packet *pkt, floe_sim_counter why) {
    sim_drop(sim, pkt, why, NULL, h, h);
}

/* Traces pkt as forwarded (as it arrived), rewrites it and sends it out of `via`. */
static void forward(floe_sim *sim, floe_sim_host *h, sim_packet *pkt, const floe_addr *src,
                    const floe_addr *dst, floe_sim_iface *via) {
    if (pkt->ttl <= 1) {
        drop(sim, h, pkt, FLOE_SIM_DROP_TTL);
        return;
    }
    sim_count(sim, FLOE_SIM_FORWARDED, NULL, h);
    sim_trace(sim, pkt, FLOE_SIM_V_FORWARDED, FLOE_SIM_TX, h);
    floe_addr s = *src, d = *dst;
    pkt->src = s;
    pkt->dst = d;
    pkt->ttl--;
    sim_host_forward(sim, h, pkt, via);
}

static bool is_outside_addr(const sim_nat *n, const floe_addr *a) {
    return sim_iface_has_ip(n->outside, a);
}

/* Inside -> outside. */
static void outbound(floe_sim *sim, floe_sim_host *h, sim_nat *n, sim_packet *pkt) {
    floe_sim_counter why = FLOE_SIM_DROP_NAT_TABLE;
    long m = outbound_map(sim, n, pkt, &pkt->src, &pkt->dst, &why);
    if (m < 0) {
        drop(sim, h, pkt, why);
        return;
    }
    if (!permit(sim, n, m, &pkt->dst)) {
        drop(sim, h, pkt, FLOE_SIM_DROP_NAT_TABLE);
        return;
    }
    n->maps[m].expires = sim->now + lifetime(n, pkt->proto); /* REQ-6: outbound refreshes */
    floe_addr src = n->maps[m].external, dst = pkt->dst;
    forward(sim, h, pkt, &src, &dst, n->outside);
}

/* Outside -> inside through mapping m (already found). */
static void inbound(floe_sim *sim, floe_sim_host *h, sim_nat *n, sim_packet *pkt, long m,
                    const floe_addr *src) {
    if (!inbound_allowed(sim, n, m, src)) {
        drop(sim, h, pkt, FLOE_SIM_DROP_NAT_FILTERED);
        return;
    }
    floe_addr s = *src, d = n->maps[m].internal;
    forward(sim, h, pkt, &s, &d, n->inside);
}

/* Inside -> the box's own outside address (RFC 4787 §6). */
static void hairpin(floe_sim *sim, floe_sim_host *h, sim_nat *n, sim_packet *pkt) {
    long target = find_external(n, pkt->proto, &pkt->dst, sim->now);
    if (target < 0 || !n->cfg.hairpin) {
        if (sim_host_serves(h, pkt)) {
            sim_host_local(sim, h, pkt); /* a service on the box itself */
            return;
        }
        drop(sim, h, pkt,
             n->cfg.hairpin ? FLOE_SIM_DROP_NAT_NO_MAPPING : FLOE_SIM_DROP_NAT_HAIRPIN);
        return;
    }
    floe_sim_counter why = FLOE_SIM_DROP_NAT_TABLE;
    long m = outbound_map(sim, n, pkt, &pkt->src, &pkt->dst, &why);
    if (m < 0) {
        drop(sim, h, pkt, why);
        return;
    }
    if (!permit(sim, n, m, &pkt->dst)) {
        drop(sim, h, pkt, FLOE_SIM_DROP_NAT_TABLE);
        return;
    }
    n->maps[m].expires = sim->now + lifetime(n, pkt->proto);
    floe_addr src = n->maps[m].external; /* REQ-9: the sender's external address */
    inbound(sim, h, n, pkt, target, &src);
}

void sim_nat_arrive(floe_sim *sim, floe_sim_host *h, floe_sim_iface *in, sim_packet *pkt) {
    sim_nat *n = h->nat;
    sweep(sim, n);
    bool own = floe_sim_host_owns(h, &pkt->dst);
    /* A box that blocks UDP is a stateful firewall for TCP (below). */
    if (n->cfg.mode == FLOE_SIM_NAT_BLOCK_UDP && pkt->proto == FLOE_SIM_PROTO_UDP) {
        if (own)
            sim_host_local(sim, h, pkt);
        else
            drop(sim, h, pkt, FLOE_SIM_DROP_FIREWALL);
        return;
    }
    bool translate = n->cfg.mode == FLOE_SIM_NAT_TRANSLATE;
    if (in == n->outside) {
        if (translate && own && is_outside_addr(n, &pkt->dst)) {
            long m = find_external(n, pkt->proto, &pkt->dst, sim->now);
            if (m >= 0) {
                floe_addr src = pkt->src;
                inbound(sim, h, n, pkt, m, &src);
            } else if (sim_host_serves(h, pkt)) {
                sim_host_local(sim, h, pkt);
            } else {
                drop(sim, h, pkt, FLOE_SIM_DROP_NAT_NO_MAPPING);
            }
            return;
        }
        if (own) {
            sim_host_local(sim, h, pkt);
            return;
        }
        if (translate) {
            drop(sim, h, pkt, FLOE_SIM_DROP_NOT_FOR_HOST);
            return;
        }
        /* Firewall: a flow to this inside endpoint must exist. */
        long m = find_external(n, pkt->proto, &pkt->dst, sim->now);
        if (m < 0) {
            drop(sim, h, pkt, FLOE_SIM_DROP_NAT_NO_MAPPING);
            return;
        }
        floe_addr src = pkt->src;
        inbound(sim, h, n, pkt, m, &src);
        return;
    }
    /* Arrived on the inside. */
    if (own) {
        if (translate && is_outside_addr(n, &pkt->dst))
            hairpin(sim, h, n, pkt);
        else
            sim_host_local(sim, h, pkt);
        return;
    }
    outbound(sim, h, n, pkt);
}

/* ---- inspection ------------------------------------------------------------------ */

size_t floe_sim_nat_mapping_count(const floe_sim_host *h) {
    if (!h->nat) return 0;
    size_t k = 0;
    for (size_t i = 0; i < h->nat->n_maps; i++)
        k += h->nat->maps[i].used && alive(h->nat->maps[i].expires, h->sim->now);
    return k;
}

int floe_sim_nat_lookup(const floe_sim_host *h, const floe_addr *internal, const floe_addr *remote,
                        floe_addr *external) {
    return floe_sim_nat_lookup_proto(h, FLOE_SIM_PROTO_UDP, internal, remote, external);
}

int floe_sim_nat_lookup_proto(const floe_sim_host *h, floe_sim_proto proto,
                              const floe_addr *internal, const floe_addr *remote,
                              floe_addr *external) {
    if (!h->nat) return FLOE_ERR_INVAL;
    long m = find_out(h->nat, proto, internal, remote, h->sim->now);
    if (m < 0) return FLOE_ERR_NOT_FOUND;
    if (external) *external = h->nat->maps[m].external;
    return FLOE_OK;
}

void floe_sim_nat_flush(floe_sim_host *h) {
    if (!h->nat) return;
    memset(h->nat->maps, 0, h->nat->cfg.max_mappings * sizeof *h->nat->maps);
    memset(h->nat->perms, 0, h->nat->cfg.max_permissions * sizeof *h->nat->perms);
    h->nat->n_maps = 0;
    h->nat->n_perms = 0;
}
