/* Candidate pairs and checklists (RFC 8445 §6.1.2).
 *
 * All pairs of all streams live in one array; a stream's checklist is the pairs with its
 * stream number. Pairs are never moved (other state refers to them by index), so the
 * checklist order is computed where it matters: the scheduler takes the highest-priority
 * Waiting pair. Pruning (§6.1.2.4) happens at formation: a server-reflexive local
 * candidate would be replaced by its base and the duplicate dropped, so only host and
 * relayed local candidates are paired. The cap (§6.1.2.5) keeps the highest-priority
 * pairs: at max_pairs a new pair evicts the lowest idle (Frozen/Waiting, unreferenced)
 * pair if it is better, else it is not formed; both are counted in stats.cap_pairs. */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

uint64_t ice_pair_priority(const floe_ice_agent *a, unsigned local, unsigned remote) {
    uint32_t l = a->local[local].prio, r = a->remote[remote].prio;
    return a->controlling ? floe_ice_pair_priority(l, r) : floe_ice_pair_priority(r, l);
}

void ice_cl_recompute_priorities(floe_ice_agent *a) {
    for (unsigned i = 0; i < a->n_pairs; i++)
        a->pairs[i].prio = ice_pair_priority(a, a->pairs[i].local, a->pairs[i].remote);
}

void ice_pair_step(floe_ice_agent *a, unsigned i, ice_pair_event ev, floe_time_ns now) {
    ice_pair *p = &a->pairs[i];
    floe_ice_pair_state next = ice_pair_next_state((floe_ice_pair_state)p->state, ev);
    if (next == p->state) return;
    p->state = (uint8_t)next;
    ice_ev e = {.at = now,
                .type = FLOE_ICE_EV_PAIR_STATE,
                .stream = p->stream,
                .comp = p->comp,
                .pair = (uint16_t)i,
                .state = (uint8_t)next};
    ice_ev_push(a, &e);
}

int ice_cl_find(const floe_ice_agent *a, unsigned local, unsigned remote) {
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].local == local && a->pairs[i].remote == remote) return (int)i;
    return -1;
}

/* Is pair v referred to from elsewhere (a valid pair, a selection, a nomination)? */
static bool referenced(const floe_ice_agent *a, unsigned v) {
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].valid == v) return true;
    for (unsigned s = 0; s < a->n_streams; s++)
        for (unsigned c = 1; c <= a->streams[s].n_comp; c++) {
            const ice_comp *k = ice_comp_get(a, s, c);
            if (k->sel_pair == v || k->nominating == v) return true;
        }
    return false;
}

static int evict_for(floe_ice_agent *a, uint64_t prio) {
    int victim = -1;
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->state != FLOE_ICE_PAIR_FROZEN && p->state != FLOE_ICE_PAIR_WAITING) continue;
        if (p->flags & (ICE_PF_VALID | ICE_PF_NOMINATED | ICE_PF_TRIGGERED | ICE_PF_TXN)) continue;
        if (victim >= 0 && a->pairs[victim].prio <= p->prio) continue;
        if (referenced(a, i)) continue;
        victim = (int)i;
    }
    if (victim >= 0 && a->pairs[victim].prio < prio) return victim;
    return -1;
}

int ice_cl_add(floe_ice_agent *a, unsigned local, unsigned remote, bool checklist,
               floe_time_ns now) {
    int found = ice_cl_find(a, local, remote);
    if (found >= 0) {
        if (checklist) a->pairs[found].flags |= ICE_PF_CHECKLIST;
        return found;
    }
    uint64_t prio = ice_pair_priority(a, local, remote);
    unsigned i;
    if (a->n_pairs < a->max_pairs) {
        i = a->n_pairs++;
    } else {
        a->stats.cap_pairs++;
        int v = evict_for(a, prio);
        if (v < 0) return FLOE_ERR_LIMIT;
        i = (unsigned)v;
        ice_txn_forget_pair(a, i); /* a replaced check's answer, if any, goes too */
    }
    ice_pair *p = &a->pairs[i];
    memset(p, 0, sizeof *p);
    p->prio = prio;
    p->local = (uint8_t)local;
    p->remote = (uint8_t)remote;
    p->stream = a->local[local].stream;
    p->comp = a->local[local].comp;
    p->state = FLOE_ICE_PAIR_FROZEN;
    p->valid = ICE_NONE;
    p->slot = ICE_NO;
    p->flags = checklist ? ICE_PF_CHECKLIST : 0;
    ice_relay_on_pair(a, local, remote, now);
    return (int)i;
}

static bool is_link_local(const floe_addr *x) {
    return (floe_addr_classify(x, NULL) & FLOE_ADDR_LINK_LOCAL) != 0;
}

/* RFC 8445 §6.1.2.2: same component, same IP version; link-local only with link-local. */
static bool pairable(const floe_ice_agent *a, unsigned l, unsigned r) {
    const ice_lcand *x = &a->local[l];
    const ice_rcand *y = &a->remote[r];
    if (!x->used || x->stream != y->stream || x->comp != y->comp) return false;
    if (x->type != FLOE_ICE_CAND_HOST && x->type != FLOE_ICE_CAND_RELAY) return false;
    if (x->addr.family != y->addr.family) return false;
    return is_link_local(&x->addr) == is_link_local(&y->addr);
}

void ice_cl_pair_remote(floe_ice_agent *a, unsigned remote, floe_time_ns now) {
    for (unsigned l = 0; l < a->n_local; l++)
        if (pairable(a, l, remote)) (void)ice_cl_add(a, l, remote, true, now);
}

void ice_cl_pair_local(floe_ice_agent *a, unsigned local, floe_time_ns now) {
    for (unsigned r = 0; r < a->n_remote; r++)
        if (pairable(a, local, r)) (void)ice_cl_add(a, local, r, true, now);
}

void ice_cl_form(floe_ice_agent *a, floe_time_ns now) {
    for (unsigned r = 0; r < a->n_remote; r++)
        ice_cl_pair_remote(a, r, now);
}

bool ice_cl_same_foundation(const floe_ice_agent *a, unsigned i, unsigned j) {
    const ice_pair *p = &a->pairs[i], *q = &a->pairs[j];
    return a->local[p->local].fid == a->local[q->local].fid &&
           a->remote[p->remote].fid == a->remote[q->remote].fid;
}

bool ice_cl_foundation_idle(const floe_ice_agent *a, unsigned i) {
    for (unsigned j = 0; j < a->n_pairs; j++) {
        unsigned st = a->pairs[j].state;
        if ((st == FLOE_ICE_PAIR_WAITING || st == FLOE_ICE_PAIR_IN_PROGRESS) &&
            ice_cl_same_foundation(a, i, j))
            return false;
    }
    return true;
}

/* Checklist order: lower component first, then higher priority (§6.1.2.6). */
static bool first_in_order(const ice_pair *p, const ice_pair *q) {
    return p->comp < q->comp || (p->comp == q->comp && p->prio > q->prio);
}

void ice_cl_initial_states(floe_ice_agent *a, floe_time_ns now) {
    for (unsigned s = 0; s < a->n_streams; s++) {
        for (;;) {
            int best = -1;
            for (unsigned i = 0; i < a->n_pairs; i++) {
                const ice_pair *p = &a->pairs[i];
                if (p->stream != s || p->state != FLOE_ICE_PAIR_FROZEN) continue;
                if (best >= 0 && !first_in_order(p, &a->pairs[best])) continue;
                if (!ice_cl_foundation_idle(a, i)) continue;
                best = (int)i;
            }
            if (best < 0) break;
            ice_pair_step(a, (unsigned)best, ICE_PAIR_EV_UNFREEZE, now);
        }
    }
}

void ice_cl_unfreeze_foundation(floe_ice_agent *a, unsigned i, floe_time_ns now) {
    /* §7.2.5.3.3 unfreezes the same checklist; floe unfreezes the other checklists' pairs
     * of that foundation too, since the success predicts theirs (docs/adr/0005). */
    for (unsigned j = 0; j < a->n_pairs; j++)
        if (j != i && a->pairs[j].state == FLOE_ICE_PAIR_FROZEN && ice_cl_same_foundation(a, i, j))
            ice_pair_step(a, j, ICE_PAIR_EV_UNFREEZE, now);
}
