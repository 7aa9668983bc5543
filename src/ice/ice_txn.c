/* Transactions kept small, and the pool of check transactions.
 *
 * ice_txn holds what of a floe_stun_txn changes while it runs (start, copies sent, state)
 * and the factor of its RTO. Ticking rebuilds the floe_stun_txn, lets the STUN module
 * decide, and keeps the result, so retransmissions and timeouts are exactly those of
 * floe_stun_txn.
 *
 * Checks are the agent's many transactions. A pair needs one only while its check runs,
 * so the transactions live in a pool of min(2 x max_pairs, FLOE_ICE_MAX_CHECKS) slots. A
 * slot is either running (its transaction retransmits or waits for the last answer) or
 * only kept for a late answer (a check replaced by a triggered one, §7.3.1.4, or stopped
 * after another answer). When a new check finds no free slot it takes the oldest kept
 * one, whose answer then no longer counts; when every slot runs, the check waits for one
 * (the scheduler, ice_sched.c). Both are counted in stats.cap_checks. */
#include <string.h>

#include "ice_priv.h"

/* ---- compact transactions ---------------------------------------------------------- */

floe_time_ns ice_txn_rto(const floe_ice_agent *a, unsigned rto_n) {
    floe_time_ns rto = a->ta * rto_n;
    return rto > FLOE_ICE_RTO_MIN ? rto : FLOE_ICE_RTO_MIN;
}

void ice_txn_start(ice_txn *t, floe_time_ns now, unsigned rto_n) {
    t->started = now;
    t->rto_n = (uint16_t)rto_n;
    t->sends = 1;
    t->state = (uint8_t)floe_stun_txn_step(FLOE_STUN_TXN_IDLE, FLOE_STUN_TXN_EV_START);
}

/* The floe_stun_txn that t stands for. Its `next` is where floe_stun_txn_tick's sums
 * land: start + (1 + 2 + ... + 2^(sends-1)) RTO while copies remain, then the start of
 * the last copy plus Rm RTO. */
static floe_stun_txn expand(const floe_ice_agent *a, const ice_txn *t, unsigned rc, unsigned rm) {
    floe_stun_txn x;
    memset(&x, 0, sizeof x);
    x.state = (floe_stun_txn_state)t->state;
    x.reliable = false;
    x.sends = t->sends;
    x.rc = rc;
    x.rm = rm;
    x.rto = ice_txn_rto(a, t->rto_n);
    x.started = t->started;
    if (t->sends < rc)
        x.next = t->started + x.rto * ((((floe_time_ns)1) << t->sends) - 1);
    else
        x.next = t->started + x.rto * ((((floe_time_ns)1) << (rc - 1)) - 1 + rm);
    return x;
}

floe_stun_txn_action ice_txn_tick(const floe_ice_agent *a, ice_txn *t, unsigned rc, unsigned rm,
                                  floe_time_ns now) {
    if (t->state != FLOE_STUN_TXN_WAITING) return FLOE_STUN_TXN_NONE;
    floe_stun_txn x = expand(a, t, rc, rm);
    floe_stun_txn_action act = floe_stun_txn_tick(&x, now);
    t->state = (uint8_t)x.state;
    t->sends = (uint8_t)x.sends;
    return act;
}

floe_time_ns ice_txn_deadline(const floe_ice_agent *a, const ice_txn *t, unsigned rc, unsigned rm) {
    if (t->state != FLOE_STUN_TXN_WAITING) return FLOE_TIME_NEVER;
    floe_stun_txn x = expand(a, t, rc, rm);
    return floe_stun_txn_deadline(&x);
}

void ice_txn_on_response(ice_txn *t) {
    t->state =
        (uint8_t)floe_stun_txn_step((floe_stun_txn_state)t->state, FLOE_STUN_TXN_EV_RESPONSE);
}

void ice_txn_cancel(ice_txn *t) {
    t->state = (uint8_t)floe_stun_txn_step((floe_stun_txn_state)t->state, FLOE_STUN_TXN_EV_CANCEL);
}

/* ---- the check-transaction pool ---------------------------------------------------- */

ice_check_txn *ice_txn_current(floe_ice_agent *a, unsigned i) {
    unsigned s = a->pairs[i].slot;
    return s < a->n_txns ? &a->txns[s] : NULL;
}

static int old_slot(const floe_ice_agent *a, unsigned i) {
    if (!(a->pairs[i].flags & ICE_PF_OLD_TXN)) return -1;
    for (unsigned k = 0; k < a->n_txns; k++)
        if (a->txn_owner[k] == (ICE_OWNER_OLD | i)) return (int)k;
    return -1;
}

ice_check_txn *ice_txn_old(floe_ice_agent *a, unsigned i) {
    int k = old_slot(a, i);
    return k >= 0 ? &a->txns[k] : NULL;
}

void ice_txn_end_current(floe_ice_agent *a, unsigned i) {
    unsigned s = a->pairs[i].slot;
    if (s < a->n_txns) a->txn_owner[s] = ICE_OWNER_FREE;
    a->pairs[i].slot = ICE_NO;
    a->pairs[i].flags &= (uint16_t)~ICE_PF_TXN;
}

void ice_txn_end_old(floe_ice_agent *a, unsigned i) {
    int k = old_slot(a, i);
    if (k >= 0) a->txn_owner[k] = ICE_OWNER_FREE;
    a->pairs[i].flags &= (uint16_t)~ICE_PF_OLD_TXN;
}

void ice_txn_forget_pair(floe_ice_agent *a, unsigned i) {
    ice_txn_end_current(a, i);
    ice_txn_end_old(a, i);
}

void ice_txn_make_old(floe_ice_agent *a, unsigned i) {
    unsigned s = a->pairs[i].slot;
    if (s >= a->n_txns) return;
    ice_txn_end_old(a, i); /* the check it replaced before no longer counts */
    a->txn_owner[s] = (uint16_t)(ICE_OWNER_OLD | i);
    a->pairs[i].slot = ICE_NO;
    a->pairs[i].flags = (uint16_t)((a->pairs[i].flags & ~ICE_PF_TXN) | ICE_PF_OLD_TXN);
}

void ice_txn_hold(floe_ice_agent *a, unsigned k, unsigned i) {
    a->txn_owner[k] = (uint16_t)i;
    a->pairs[i].slot = (uint8_t)k;
    a->pairs[i].flags |= ICE_PF_TXN;
}

bool ice_txn_running(const floe_ice_agent *a, unsigned k) {
    return a->txn_owner[k] != ICE_OWNER_FREE && !(a->txn_owner[k] & ICE_OWNER_OLD);
}

int ice_txn_find(const floe_ice_agent *a, const uint8_t tid[FLOE_STUN_TID_LEN], unsigned *pair,
                 bool *old) {
    for (unsigned k = 0; k < a->n_txns; k++) {
        uint16_t o = a->txn_owner[k];
        if (o == ICE_OWNER_FREE || memcmp(a->txns[k].txn.tid, tid, FLOE_STUN_TID_LEN) != 0)
            continue;
        *pair = o & ~ICE_OWNER_OLD;
        *old = (o & ICE_OWNER_OLD) != 0;
        return (int)k;
    }
    return -1;
}

/* Kept only so that a late answer still counts: it retransmits no more. */
static bool kept_only(const floe_ice_agent *a, unsigned k) {
    uint16_t o = a->txn_owner[k];
    return o != ICE_OWNER_FREE &&
           ((o & ICE_OWNER_OLD) || a->txns[k].txn.state != FLOE_STUN_TXN_WAITING);
}

bool ice_txn_available(const floe_ice_agent *a) {
    for (unsigned k = 0; k < a->n_txns; k++)
        if (a->txn_owner[k] == ICE_OWNER_FREE || kept_only(a, k)) return true;
    return false;
}

int ice_txn_take(floe_ice_agent *a) {
    int oldest = -1;
    for (unsigned k = 0; k < a->n_txns; k++) {
        if (a->txn_owner[k] == ICE_OWNER_FREE) return (int)k;
        if (kept_only(a, k) && (oldest < 0 || a->txns[k].txn.started < a->txns[oldest].txn.started))
            oldest = (int)k;
    }
    if (oldest < 0) return -1;
    uint16_t o = a->txn_owner[oldest];
    if (o & ICE_OWNER_OLD)
        ice_txn_end_old(a, o & ~ICE_OWNER_OLD);
    else
        ice_txn_end_current(a, o);
    a->stats.cap_checks++;
    return oldest;
}

void ice_txn_reset(floe_ice_agent *a) {
    memset(a->txns, 0, a->n_txns * sizeof *a->txns);
    for (unsigned k = 0; k < a->n_txns; k++)
        a->txn_owner[k] = ICE_OWNER_FREE;
}

bool ice_txn_consistent(const floe_ice_agent *a) {
    for (unsigned k = 0; k < a->n_txns; k++) {
        uint16_t o = a->txn_owner[k];
        if (o == ICE_OWNER_FREE) continue;
        unsigned i = o & ~ICE_OWNER_OLD;
        if (i >= a->n_pairs) return false;
        const ice_pair *p = &a->pairs[i];
        if (o & ICE_OWNER_OLD ? !(p->flags & ICE_PF_OLD_TXN) : p->slot != k) return false;
    }
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        bool cur = p->slot < a->n_txns;
        if (cur != ((p->flags & ICE_PF_TXN) != 0)) return false;
        if (cur && a->txn_owner[p->slot] != i) return false;
        if ((p->flags & ICE_PF_SEND) && !cur) return false;
        unsigned olds = 0;
        for (unsigned k = 0; k < a->n_txns; k++)
            if (a->txn_owner[k] == (ICE_OWNER_OLD | i)) olds++;
        if (olds != ((p->flags & ICE_PF_OLD_TXN) ? 1u : 0u)) return false;
    }
    return true;
}
