/* Bases and local candidates (RFC 8445 §5.1): local preferences, priorities,
 * foundations, redundancy pruning, and the seam through which relayed candidates enter.
 *
 * Local preference. Bases on the configured preferred interfaces come first, in the
 * configured order; within each group the distinct IP addresses are interleaved by
 * family, IPv6 first (RFC 8421 §4), each family keeping the order the runtime added them
 * in. Every distinct IP gets its own step of ICE_PREF_STEP below 65535; bases of the same
 * stream and component that share an IP (several ports) are told apart by the low bits. */
#include <string.h>

#include "floe/bytes.h"
#include "floe/err.h"
#include "ice_priv.h"

#define ICE_PREF_MAX 65535u
#define ICE_PREF_STEP 32u

/* ---- bases ------------------------------------------------------------------------ */

static unsigned iface_rank(const floe_ice_agent *a, const char *ifname) {
    if (!ifname) return ICE_NO;
    for (size_t i = 0; i < a->cfg.n_prefer_ifaces; i++)
        if (strncmp(a->cfg.prefer_ifaces[i], ifname, FLOE_ICE_IFNAME_MAX) == 0) return (unsigned)i;
    return ICE_NO;
}

int floe_ice_agent_add_host(floe_ice_agent *a, unsigned stream, unsigned component,
                            const floe_addr *bound, const char *ifname, unsigned *base) {
    if (!a || !bound || stream >= a->n_streams || component < 1 ||
        component > a->streams[stream].n_comp)
        return FLOE_ERR_INVAL;
    if (bound->family != FLOE_AF_INET4 && bound->family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (bound->port == 0) return FLOE_ERR_INVAL;
    uint32_t cls = floe_addr_classify(bound, NULL);
    if (cls & (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST))
        return FLOE_ERR_INVAL;
    if ((cls & FLOE_ADDR_LINK_LOCAL) && !a->cfg.gather_link_local) return FLOE_ERR_UNSUPPORTED;
    if (a->state != FLOE_ICE_AGENT_NEW) return FLOE_ERR_STATE;
    for (unsigned i = 0; i < a->n_bases; i++)
        if (ice_addr_same(&a->bases[i].addr, bound)) return FLOE_ERR_INVAL;
    if (a->n_bases >= a->max_bases) {
        a->stats.cap_candidates++;
        return FLOE_ERR_LIMIT;
    }
    ice_base *b = &a->bases[a->n_bases];
    memset(b, 0, sizeof *b);
    b->addr = *bound;
    b->related.family = FLOE_AF_NONE;
    b->stream = (uint8_t)stream;
    b->comp = (uint8_t)component;
    b->kind = ICE_BASE_HOST;
    b->iface = (uint8_t)iface_rank(a, ifname);
    b->via = ICE_NO;
    b->server = ICE_NO;
    if (base) *base = a->n_bases;
    a->n_bases++;
    return FLOE_OK;
}

/* One distinct host IP and where it goes in the preference order. */
typedef struct ip_slot {
    const floe_addr *ip;
    unsigned group; /* preferred-interface rank, ICE_NO for the rest */
    unsigned rank;  /* final position */
} ip_slot;

void ice_local_assign_prefs(floe_ice_agent *a) {
    ip_slot ips[FLOE_ICE_MAX_BASES];
    unsigned n = 0;
    for (unsigned i = 0; i < a->n_bases; i++) {
        const ice_base *b = &a->bases[i];
        if (b->kind != ICE_BASE_HOST) continue;
        unsigned k = 0;
        while (k < n && !floe_addr_ip_equal(ips[k].ip, &b->addr))
            k++;
        if (k == n) {
            ips[n].ip = &b->addr;
            ips[n].group = b->iface;
            ips[n].rank = 0;
            n++;
        } else if (b->iface < ips[k].group) {
            ips[k].group = b->iface; /* the same IP named by a preferred interface */
        }
    }
    /* Groups in order: preferred interfaces by rank, then the others (ICE_NO). Within a
     * group: IPv6, IPv4, IPv6, IPv4, ... each family in the order added (RFC 8421). */
    unsigned next = 0;
    for (unsigned g = 0; g <= FLOE_ICE_MAX_PREFER_IFACES; g++) {
        unsigned group = g == FLOE_ICE_MAX_PREFER_IFACES ? ICE_NO : g;
        unsigned v6[FLOE_ICE_MAX_BASES], v4[FLOE_ICE_MAX_BASES], n6 = 0, n4 = 0;
        for (unsigned k = 0; k < n; k++) {
            if (ips[k].group != group) continue;
            if (ips[k].ip->family == FLOE_AF_INET6)
                v6[n6++] = k;
            else
                v4[n4++] = k;
        }
        for (unsigned j = 0; j < n6 || j < n4; j++) {
            if (j < n6) ips[v6[j]].rank = next++;
            if (j < n4) ips[v4[j]].rank = next++;
        }
    }
    for (unsigned i = 0; i < a->n_bases; i++) {
        ice_base *b = &a->bases[i];
        if (b->kind != ICE_BASE_HOST) continue;
        unsigned k = 0;
        while (!floe_addr_ip_equal(ips[k].ip, &b->addr))
            k++;
        unsigned dup = 0; /* earlier bases of this component on the same IP */
        for (unsigned j = 0; j < i; j++) {
            const ice_base *o = &a->bases[j];
            if (o->kind == ICE_BASE_HOST && o->stream == b->stream && o->comp == b->comp &&
                floe_addr_ip_equal(&o->addr, &b->addr))
                dup++;
        }
        b->local_pref = (uint16_t)(ICE_PREF_MAX - ips[k].rank * ICE_PREF_STEP - dup);
    }
}

uint32_t ice_base_prflx_priority(const floe_ice_agent *a, unsigned base) {
    const ice_base *b = &a->bases[base];
    return floe_ice_priority(FLOE_ICE_TYPE_PREF_PRFLX, b->local_pref, b->comp);
}

/* ---- candidates ------------------------------------------------------------------- */

static const floe_addr *server_addr(const floe_ice_agent *a, unsigned server) {
    static const floe_addr unset; /* a STUN server slot the config left empty */
    if (server < FLOE_ICE_MAX_STUN_SERVERS)
        return server < a->cfg.n_stun_servers ? &a->cfg.stun_servers[server] : &unset;
    if (server - ICE_SERVER_RELAY0 < ICE_MAX_RELAY_SERVERS)
        return &a->relay_servers[server - ICE_SERVER_RELAY0];
    return NULL;
}

/* RFC 8445 §5.1.1.3: same type, same base IP, same server IP (and transport, always UDP
 * here) share a foundation. */
static bool same_foundation_key(const floe_ice_agent *a, const ice_lcand *l, unsigned type,
                                unsigned base, unsigned server) {
    if (l->type != type) return false;
    if (!floe_addr_ip_equal(&a->bases[l->base].addr, &a->bases[base].addr)) return false;
    if ((l->server == ICE_NO) != (server == ICE_NO)) return false;
    if (server == ICE_NO) return true;
    const floe_addr *x = server_addr(a, l->server), *y = server_addr(a, server);
    return x && y && floe_addr_ip_equal(x, y);
}

static uint8_t pick_foundation(const floe_ice_agent *a, unsigned type, unsigned base,
                               unsigned server) {
    for (unsigned i = 0; i < a->n_local; i++) {
        const ice_lcand *l = &a->local[i];
        if (l->used && same_foundation_key(a, l, type, base, server)) return l->fid;
    }
    /* The smallest number no candidate uses (fits: fewer than 256 candidates). */
    for (unsigned f = 0;; f++) {
        bool taken = false;
        for (unsigned i = 0; i < a->n_local && !taken; i++)
            taken = a->local[i].used && a->local[i].fid == f;
        if (!taken) return (uint8_t)f;
    }
}

int ice_local_add(floe_ice_agent *a, floe_ice_cand_type type, unsigned base, const floe_addr *addr,
                  unsigned server, uint32_t prio, unsigned *dup) {
    const ice_base *b = &a->bases[base];
    if (prio == 0) prio = floe_ice_priority(floe_ice_type_pref(type), b->local_pref, b->comp);
    /* RFC 8445 §5.1.3: same transport address and same base: keep the higher priority. */
    for (unsigned i = 0; i < a->n_local; i++) {
        ice_lcand *l = &a->local[i];
        if (!l->used || l->base != base || !ice_addr_same(&l->addr, addr)) continue;
        if (l->prio < prio) {
            l->type = (uint8_t)type;
            l->prio = prio;
            l->server = (uint8_t)server;
            l->fid = pick_foundation(a, type, base, server);
            return (int)i;
        }
        if (dup) *dup = i;
        return FLOE_ERR_NOT_FOUND;
    }
    unsigned slot = 0;
    while (slot < a->n_local && a->local[slot].used)
        slot++;
    if (slot == a->n_local && a->n_local >= a->max_local) {
        a->stats.cap_candidates++;
        return FLOE_ERR_LIMIT;
    }
    uint8_t fid = pick_foundation(a, type, base, server);
    ice_lcand *l = &a->local[slot];
    memset(l, 0, sizeof *l);
    l->addr = *addr;
    l->prio = prio;
    l->used = 1;
    l->type = (uint8_t)type;
    l->stream = b->stream;
    l->comp = b->comp;
    l->base = (uint8_t)base;
    l->server = (uint8_t)server;
    l->fid = fid;
    if (slot == a->n_local) a->n_local++;
    return (int)slot;
}

int ice_local_add_relay(floe_ice_agent *a, unsigned via, const floe_addr *relayed,
                        const floe_addr *mapped, const floe_addr *server, floe_time_ns now) {
    if (via >= a->n_bases || a->bases[via].kind != ICE_BASE_HOST || !relayed || !server)
        return FLOE_ERR_INVAL;
    if (relayed->family != FLOE_AF_INET4 && relayed->family != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    unsigned slot = 0;
    while (slot < a->n_relay_servers && !floe_addr_ip_equal(&a->relay_servers[slot], server))
        slot++;
    if (slot == a->n_relay_servers) {
        if (slot == ICE_MAX_RELAY_SERVERS) {
            a->stats.cap_candidates++;
            return FLOE_ERR_LIMIT;
        }
        a->relay_servers[a->n_relay_servers++] = *server;
    }
    if (a->n_bases >= a->max_bases) {
        a->stats.cap_candidates++;
        return FLOE_ERR_LIMIT;
    }
    const ice_base *v = &a->bases[via];
    unsigned dup = 0; /* relays already on this host base */
    for (unsigned i = 0; i < a->n_bases; i++)
        if (a->bases[i].kind == ICE_BASE_RELAY && a->bases[i].via == via) dup++;
    ice_base *b = &a->bases[a->n_bases];
    memset(b, 0, sizeof *b);
    b->addr = *relayed;
    if (mapped)
        b->related = *mapped;
    else
        b->related.family = FLOE_AF_NONE;
    b->stream = v->stream;
    b->comp = v->comp;
    b->kind = ICE_BASE_RELAY;
    b->iface = v->iface;
    b->via = (uint8_t)via;
    b->server = (uint8_t)(ICE_SERVER_RELAY0 + slot);
    b->local_pref = (uint16_t)(v->local_pref - dup);
    unsigned base = a->n_bases++;
    int li = ice_local_add(a, FLOE_ICE_CAND_RELAY, base, relayed, b->server, 0, NULL);
    if (li < 0) {
        a->n_bases--;
        return li;
    }
    ice_ev e = {.at = now,
                .type = FLOE_ICE_EV_CANDIDATE,
                .stream = b->stream,
                .comp = b->comp,
                .local = (uint8_t)li};
    ice_ev_push(a, &e);
    if (a->started) ice_cl_pair_local(a, (unsigned)li, now);
    return li;
}

int ice_local_add_stream(floe_ice_agent *a, unsigned via, unsigned server) {
    if (a->n_bases >= a->max_bases) {
        a->stats.cap_candidates++;
        return FLOE_ERR_LIMIT;
    }
    const ice_base *v = &a->bases[via];
    ice_base *b = &a->bases[a->n_bases];
    memset(b, 0, sizeof *b);
    b->addr = v->addr;
    b->addr.port = 0; /* the runtime connects from an ephemeral port of the host's IP */
    b->related.family = FLOE_AF_NONE;
    b->stream = v->stream;
    b->comp = v->comp;
    b->kind = ICE_BASE_STREAM;
    b->iface = v->iface;
    b->via = (uint8_t)via;
    b->server = (uint8_t)server;
    b->local_pref = v->local_pref;
    return (int)a->n_bases++;
}

int ice_local_of_base(const floe_ice_agent *a, unsigned base) {
    for (unsigned i = 0; i < a->n_local; i++) {
        const ice_lcand *l = &a->local[i];
        if (l->used && l->base == base && ice_addr_same(&l->addr, &a->bases[base].addr))
            return (int)i;
    }
    return -1;
}

int ice_local_find(const floe_ice_agent *a, unsigned stream, unsigned comp, const floe_addr *addr) {
    for (unsigned i = 0; i < a->n_local; i++) {
        const ice_lcand *l = &a->local[i];
        if (l->used && l->stream == stream && l->comp == comp && ice_addr_same(&l->addr, addr))
            return (int)i;
    }
    return -1;
}

void ice_local_drop_prflx(floe_ice_agent *a) {
    for (unsigned i = 0; i < a->n_local; i++)
        if (a->local[i].type == FLOE_ICE_CAND_PRFLX) a->local[i].used = 0;
}

/* ---- export ----------------------------------------------------------------------- */

static void put_decimal(char *out, size_t cap, unsigned v) {
    char d[20];
    size_t n = floe_dec_u64(v, d);
    if (n >= cap) n = cap - 1;
    memcpy(out, d, n);
    out[n] = '\0';
}

void ice_local_export(const floe_ice_agent *a, const ice_lcand *l, floe_ice_cand *out) {
    memset(out, 0, sizeof *out);
    out->type = (floe_ice_cand_type)l->type;
    out->transport = FLOE_TRANSPORT_UDP;
    out->component = l->comp;
    out->priority = l->prio;
    put_decimal(out->foundation, sizeof out->foundation, (unsigned)l->fid + 1);
    out->addr = l->addr;
    out->related.family = FLOE_AF_NONE;
    if (l->base < a->n_bases) {
        const ice_base *b = &a->bases[l->base];
        out->local_pref = b->local_pref; /* what the candidate was given when added */
        if (l->type == FLOE_ICE_CAND_SRFLX || l->type == FLOE_ICE_CAND_PRFLX)
            out->related = b->addr;
        else if (l->type == FLOE_ICE_CAND_RELAY)
            out->related = b->related;
    }
}

/* Orders candidates by priority, then by index: true when i comes before j. */
static bool before(const floe_ice_agent *a, unsigned i, unsigned j) {
    const ice_lcand *x = &a->local[i], *y = &a->local[j];
    return x->prio > y->prio || (x->prio == y->prio && i < j);
}

static bool listed(const ice_lcand *l, unsigned stream) {
    return l->used && l->stream == stream && l->type != FLOE_ICE_CAND_PRFLX;
}

size_t floe_ice_agent_local_candidates(const floe_ice_agent *a, unsigned stream, floe_ice_cand *out,
                                       size_t max) {
    if (!a || stream >= a->n_streams) return 0;
    size_t total = 0;
    for (unsigned i = 0; i < a->n_local; i++)
        if (listed(&a->local[i], stream)) total++;
    int prev = -1;
    for (size_t k = 0; k < max && k < total; k++) {
        int best = -1;
        for (unsigned i = 0; i < a->n_local; i++) {
            if (!listed(&a->local[i], stream)) continue;
            if (prev >= 0 && !before(a, (unsigned)prev, i)) continue;
            if (best < 0 || before(a, i, (unsigned)best)) best = (int)i;
        }
        if (best < 0) break;
        ice_local_export(a, &a->local[best], &out[k]);
        prev = best;
    }
    return total;
}

int floe_ice_agent_default_candidate(const floe_ice_agent *a, unsigned stream, unsigned component,
                                     floe_ice_cand *out) {
    if (!a || !out || stream >= a->n_streams) return FLOE_ERR_INVAL;
    /* RFC 8839 §4.2.1.2: relayed, else server-reflexive, else host. */
    static const floe_ice_cand_type order[] = {FLOE_ICE_CAND_RELAY, FLOE_ICE_CAND_SRFLX,
                                               FLOE_ICE_CAND_HOST};
    for (size_t t = 0; t < sizeof order / sizeof order[0]; t++) {
        int best = -1;
        for (unsigned i = 0; i < a->n_local; i++) {
            const ice_lcand *l = &a->local[i];
            if (!l->used || l->stream != stream || l->comp != component || l->type != order[t])
                continue;
            if (best < 0 || before(a, i, (unsigned)best)) best = (int)i;
        }
        if (best >= 0) {
            ice_local_export(a, &a->local[best], out);
            return FLOE_OK;
        }
    }
    return FLOE_ERR_NOT_FOUND;
}
