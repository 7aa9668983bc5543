/* Server-reflexive gathering (RFC 8445 §5.1.1.2): one Binding request from every host
 * base to every STUN server of the same address family, paced by Ta together with the
 * checks, a few transactions at a time. Gathering ends when these and the TURN
 * allocations (ice_relay.c) are all answered or given up.
 *
 * Schedule: RTO = MAX(500 ms, Ta x number of requests) as RFC 8445 §14.3 asks, but only
 * FLOE_ICE_GATHER_RC requests and a short final wait, so that a server that does not
 * answer costs 2.5 s, not RFC 8489's 39.5 s (docs/adr/0005). */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

static unsigned n_combos(const floe_ice_agent *a) {
    return (unsigned)(a->n_bases * a->cfg.n_stun_servers);
}

/* Is combination g (base g / servers, server g % servers) one to ask? */
static bool combo_wanted(const floe_ice_agent *a, unsigned g, unsigned *base, unsigned *server) {
    unsigned ns = (unsigned)a->cfg.n_stun_servers;
    unsigned b = g / ns, s = g % ns;
    if (a->bases[b].kind != ICE_BASE_HOST) return false;
    if (a->bases[b].addr.family != a->cfg.stun_servers[s].family) return false;
    *base = b;
    *server = s;
    return true;
}

bool ice_gather_waiting(const floe_ice_agent *a) {
    unsigned b, s;
    for (unsigned g = a->gather_cursor; g < n_combos(a); g++)
        if (combo_wanted(a, g, &b, &s)) return true;
    return false;
}

static bool any_active(const floe_ice_agent *a) {
    for (unsigned i = 0; i < a->n_gather; i++)
        if (a->gather[i].active) return true;
    return false;
}

void ice_gather_check_done(floe_ice_agent *a, floe_time_ns now) {
    if (!a->gathering || any_active(a) || ice_gather_waiting(a) || ice_relay_pending(a)) return;
    a->gathering = false;
    ice_ev_simple(a, FLOE_ICE_EV_GATHERING_DONE, 0, 0, now);
    ice_agent_step(a, ICE_AGENT_EV_GATHERED);
}

int floe_ice_agent_gather(floe_ice_agent *a, floe_time_ns now) {
    if (!a) return FLOE_ERR_INVAL;
    if (a->state != FLOE_ICE_AGENT_NEW || a->n_bases == 0) return FLOE_ERR_STATE;
    ice_agent_step(a, ICE_AGENT_EV_GATHER);
    ice_local_assign_prefs(a);
    int rc = ice_relay_setup(a);
    if (rc != FLOE_OK) return rc;
    for (unsigned b = 0; b < a->n_bases; b++) {
        if (a->bases[b].kind != ICE_BASE_HOST) continue; /* stream bases have no candidate */
        int li = ice_local_add(a, FLOE_ICE_CAND_HOST, b, &a->bases[b].addr, ICE_NO, 0, NULL);
        if (li < 0) continue; /* cap: counted */
        ice_ev e = {.at = now,
                    .type = FLOE_ICE_EV_CANDIDATE,
                    .stream = a->bases[b].stream,
                    .comp = a->bases[b].comp,
                    .local = (uint8_t)li};
        ice_ev_push(a, &e);
    }
    ice_gather_begin(a, now);
    return FLOE_OK;
}

void ice_gather_begin(floe_ice_agent *a, floe_time_ns now) {
    a->gather_cursor = 0;
    /* An ICE-lite agent gathers host candidates only (RFC 8445 §2.5). */
    if (a->cfg.lite) a->gather_cursor = (uint16_t)n_combos(a);
    a->gathering = true;
    ice_relay_tick(a, now); /* the first allocation, if the pacer allows */
    ice_gather_check_done(a, now);
}

/* The RTO factor: the number of requests (ice_txn_rto gives MAX(500 ms, Ta x that)). */
static unsigned gather_rto_n(const floe_ice_agent *a) {
    unsigned n = 0, b, s;
    for (unsigned g = 0; g < n_combos(a); g++)
        if (combo_wanted(a, g, &b, &s)) n++;
    return n;
}

void ice_gather_tick(floe_ice_agent *a, floe_time_ns now) {
    for (unsigned i = 0; i < a->n_gather; i++) {
        ice_gather *g = &a->gather[i];
        while (g->active) {
            floe_stun_txn_action act =
                ice_txn_tick(a, &g->txn, FLOE_ICE_GATHER_RC, FLOE_ICE_GATHER_RM, now);
            if (act == FLOE_STUN_TXN_NONE) break;
            if (act == FLOE_STUN_TXN_SEND) {
                g->send = 1;
            } else { /* the server did not answer: no candidate from it */
                g->active = 0;
                g->send = 0;
            }
        }
    }
    /* One new request per pacing slot. */
    if (a->gathering && ice_pacer_ready(a, now)) {
        unsigned slot = 0;
        while (slot < a->n_gather && a->gather[slot].active)
            slot++;
        unsigned b = 0, s = 0;
        while (slot < a->n_gather && a->gather_cursor < n_combos(a)) {
            unsigned g = a->gather_cursor++;
            if (!combo_wanted(a, g, &b, &s)) continue;
            ice_gather *x = &a->gather[slot];
            memset(x, 0, sizeof *x);
            ice_pacer_take(a, now);
            if (!ice_rand(a, x->txn.tid, sizeof x->txn.tid)) break; /* no randomness: skip it */
            ice_txn_start(&x->txn, now, gather_rto_n(a));
            x->active = 1;
            x->send = 1;
            x->base = (uint8_t)b;
            x->server = (uint8_t)s;
            break;
        }
    }
    ice_gather_check_done(a, now);
}

ice_rx ice_gather_on_response(floe_ice_agent *a, floe_time_ns now, unsigned base,
                              const floe_addr *from, const floe_stun_msg *m) {
    for (unsigned i = 0; i < a->n_gather; i++) {
        ice_gather *g = &a->gather[i];
        if (!g->active || memcmp(g->txn.tid, m->tid, FLOE_STUN_TID_LEN) != 0) continue;
        if (g->base != base || !ice_addr_same(from, &a->cfg.stun_servers[g->server]))
            return ICE_RX_NOT_MINE; /* right ID, wrong path: not the server's answer */
        ice_txn_on_response(&g->txn);
        g->active = 0;
        g->send = 0;
        floe_addr mapped;
        if (m->cls == FLOE_STUN_SUCCESS && m->n_unknown == 0 &&
            (floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &mapped) == FLOE_OK ||
             floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_MAPPED_ADDRESS, &mapped) == FLOE_OK) &&
            mapped.family == a->bases[base].addr.family && mapped.port != 0) {
            mapped.scope_id = 0;
            /* Redundant (no NAT: the mapped address is the base's) or capped: no event. */
            int li = ice_local_add(a, FLOE_ICE_CAND_SRFLX, base, &mapped, g->server, 0, NULL);
            if (li >= 0 && a->local[li].type == FLOE_ICE_CAND_SRFLX) {
                ice_ev e = {.at = now,
                            .type = FLOE_ICE_EV_CANDIDATE,
                            .stream = a->bases[base].stream,
                            .comp = a->bases[base].comp,
                            .local = (uint8_t)li};
                ice_ev_push(a, &e);
            }
        }
        ice_gather_check_done(a, now);
        return ICE_RX_DONE;
    }
    return ICE_RX_NOT_MINE;
}

int ice_gather_next_send(floe_ice_agent *a, uint8_t *buf, size_t cap, size_t *len, unsigned *base,
                         floe_addr *to) {
    for (unsigned i = 0; i < a->n_gather; i++) {
        ice_gather *g = &a->gather[i];
        if (!g->active || !g->send) continue;
        floe_stun_builder b;
        floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, g->txn.tid);
        floe_stun_add_fingerprint(&b);
        int rc = floe_stun_builder_finish(&b, len);
        if (rc != FLOE_OK) return rc;
        g->send = 0;
        *base = g->base;
        *to = a->cfg.stun_servers[g->server];
        a->stats.gather_requests++;
        return FLOE_OK;
    }
    return FLOE_ERR_NOT_FOUND;
}

floe_time_ns ice_gather_deadline(const floe_ice_agent *a) {
    floe_time_ns d = FLOE_TIME_NEVER;
    bool free_slot = false;
    for (unsigned i = 0; i < a->n_gather; i++) {
        if (a->gather[i].active)
            d = ice_min_time(
                d, ice_txn_deadline(a, &a->gather[i].txn, FLOE_ICE_GATHER_RC, FLOE_ICE_GATHER_RM));
        else
            free_slot = true;
    }
    if (a->gathering && free_slot && ice_gather_waiting(a)) d = ice_min_time(d, ice_pacer_next(a));
    return d;
}
