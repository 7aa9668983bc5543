/* Scheduling checks (RFC 8445 §6.1.4): one new transaction per Ta over all checklists,
 * round robin between checklists, the triggered-check queue before ordinary checks, and
 * the retransmissions of running checks (floe_stun_txn).
 *
 * Pacing: the agent's own Ta, and, when the config names a shared floe_ice_pacer, that
 * pacer's spacing too (RFC 8445 §14.2's 5 ms over all agents). Server-reflexive requests
 * take pacing slots as well. Retransmissions are not paced: they follow their RTO.
 *
 * A new check also needs a slot of the check-transaction pool (ice_txn.c). When every
 * slot runs a check, the next one waits, without taking the pacer, until a check ends. */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

/* ---- pacing ----------------------------------------------------------------------- */

static floe_time_ns shared_interval(const floe_ice_pacer *p) {
    return p->interval ? p->interval : FLOE_ICE_TA_MIN;
}

floe_time_ns ice_pacer_next(const floe_ice_agent *a) {
    floe_time_ns t = a->pace_started ? a->pace_last + a->ta : 0;
    const floe_ice_pacer *p = a->cfg.pacer;
    if (p && p->started && p->last + shared_interval(p) > t) t = p->last + shared_interval(p);
    return t;
}

bool ice_pacer_ready(const floe_ice_agent *a, floe_time_ns now) {
    return now >= ice_pacer_next(a);
}

void ice_pacer_take(floe_ice_agent *a, floe_time_ns now) {
    a->pace_last = now;
    a->pace_started++;
    if (a->cfg.pacer) {
        a->cfg.pacer->last = now;
        a->cfg.pacer->started++;
    }
}

/* RFC 8445 §14.3 asks for MAX(500 ms, Ta x N x (Waiting + In-Progress)); floe leaves out
 * N (which the RFC allows: "MAY calculate the RTO using other mechanisms"), so that the
 * retransmissions of all running checks together stay near one per Ta. */
unsigned ice_check_rto_n(const floe_ice_agent *a) {
    unsigned n = 0;
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].state == FLOE_ICE_PAIR_WAITING ||
            a->pairs[i].state == FLOE_ICE_PAIR_IN_PROGRESS)
            n++;
    return n;
}

floe_time_ns ice_check_rto(const floe_ice_agent *a) {
    return ice_txn_rto(a, ice_check_rto_n(a));
}

/* ---- the queues ------------------------------------------------------------------- */

/* Numbers the queued pairs 0, 1, ... in their order, before the 16-bit counter runs out
 * (it then starts again after them; a queue holds at most max_pairs <= 1000 pairs). */
static void renumber_triggered(floe_ice_agent *a) {
    uint16_t k = 0;
    for (;;) {
        int first = -1;
        for (unsigned i = 0; i < a->n_pairs; i++) {
            const ice_pair *p = &a->pairs[i];
            if (!(p->flags & ICE_PF_TRIGGERED) || (p->flags & ICE_PF_MARK)) continue;
            if (first < 0 || p->trig_seq < a->pairs[first].trig_seq) first = (int)i;
        }
        if (first < 0) break;
        a->pairs[first].trig_seq = k++;
        a->pairs[first].flags |= ICE_PF_MARK;
    }
    for (unsigned i = 0; i < a->n_pairs; i++)
        a->pairs[i].flags &= (uint16_t)~ICE_PF_MARK;
    a->trig_seq = k;
}

void ice_sched_trigger(floe_ice_agent *a, unsigned i) {
    ice_pair *p = &a->pairs[i];
    if (p->flags & ICE_PF_TRIGGERED) return;
    if (a->trig_seq == UINT16_MAX) renumber_triggered(a);
    p->flags |= ICE_PF_TRIGGERED;
    p->trig_seq = a->trig_seq++;
    a->stats.triggered_checks++;
}

bool ice_sched_stream_ready(const floe_ice_agent *a, unsigned stream) {
    if (a->cfg.lite || !a->streams[stream].has_rcred) return false;
    return a->state == FLOE_ICE_AGENT_CHECKING || a->state == FLOE_ICE_AGENT_COMPLETED;
}

/* Ordinary checks run only while the checklist and the agent are still looking. */
static bool ordinary_allowed(const floe_ice_agent *a, unsigned stream) {
    return a->state == FLOE_ICE_AGENT_CHECKING && a->streams[stream].cl_state == ICE_CL_RUNNING;
}

static int first_triggered(const floe_ice_agent *a, unsigned stream) {
    int best = -1;
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->stream != stream || !(p->flags & ICE_PF_TRIGGERED)) continue;
        if (best < 0 || p->trig_seq < a->pairs[best].trig_seq) best = (int)i;
    }
    return best;
}

/* Highest-priority Waiting pair; equal priorities: the lower component. */
static int best_waiting(const floe_ice_agent *a, unsigned stream) {
    int best = -1;
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->stream != stream || p->state != FLOE_ICE_PAIR_WAITING) continue;
        if (!(p->flags & ICE_PF_CHECKLIST)) continue;
        const ice_pair *b = best >= 0 ? &a->pairs[best] : NULL;
        if (!b || p->prio > b->prio || (p->prio == b->prio && p->comp < b->comp)) best = (int)i;
    }
    return best;
}

/* A Frozen pair of the checklist whose foundation has nothing Waiting or In-Progress
 * anywhere (§6.1.4.2), the first in checklist order; -1 if none. */
static int unfreezable(const floe_ice_agent *a, unsigned stream) {
    int best = -1;
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->stream != stream || p->state != FLOE_ICE_PAIR_FROZEN) continue;
        if (!(p->flags & ICE_PF_CHECKLIST)) continue;
        const ice_pair *b = best >= 0 ? &a->pairs[best] : NULL;
        if (b && !(p->comp < b->comp || (p->comp == b->comp && p->prio > b->prio))) continue;
        if (!ice_cl_foundation_idle(a, i)) continue;
        best = (int)i;
    }
    return best;
}

static bool stream_has_work(const floe_ice_agent *a, unsigned s) {
    if (!ice_sched_stream_ready(a, s)) return false;
    if (first_triggered(a, s) >= 0) return true;
    if (!ordinary_allowed(a, s)) return false;
    return best_waiting(a, s) >= 0 || unfreezable(a, s) >= 0;
}

/* §6.1.4.2: the next pair to check, taking checklists in turn. */
static int pick(floe_ice_agent *a, floe_time_ns now) {
    for (unsigned k = 0; k < a->n_streams; k++) {
        unsigned s = (a->rr + k) % a->n_streams;
        if (!ice_sched_stream_ready(a, s)) continue;
        int i = first_triggered(a, s);
        if (i < 0 && ordinary_allowed(a, s)) {
            if (best_waiting(a, s) < 0) {
                int f;
                while ((f = unfreezable(a, s)) >= 0)
                    ice_pair_step(a, (unsigned)f, ICE_PAIR_EV_UNFREEZE, now);
            }
            i = best_waiting(a, s);
        }
        if (i >= 0) {
            a->rr = (uint8_t)(s + 1);
            return i;
        }
    }
    return -1;
}

/* ---- ticking ---------------------------------------------------------------------- */

void ice_sched_timers(floe_ice_agent *a, floe_time_ns now) {
    for (unsigned i = 0; i < a->n_pairs; i++) {
        ice_pair *p = &a->pairs[i];
        ice_check_txn *t = ice_txn_current(a, i);
        while (t && t->txn.state == FLOE_STUN_TXN_WAITING) {
            floe_stun_txn_action act =
                ice_txn_tick(a, &t->txn, FLOE_ICE_CHECK_RC, FLOE_ICE_CHECK_RM, now);
            if (act == FLOE_STUN_TXN_NONE) break;
            if (act == FLOE_STUN_TXN_SEND) {
                p->flags |= ICE_PF_SEND; /* late ticks fold several copies into one */
            } else {
                ice_check_on_timeout(a, i, now);
                break;
            }
        }
    }
}

static bool any_work(const floe_ice_agent *a) {
    for (unsigned s = 0; s < a->n_streams; s++)
        if (stream_has_work(a, s)) return true;
    return false;
}

void ice_sched_pace(floe_ice_agent *a, floe_time_ns now) {
    if (!ice_pacer_ready(a, now)) return;
    /* Every check slot runs a check (FLOE_ICE_MAX_CHECKS): the next check waits for one
     * to end (answer or timeout), counted once per wait. */
    if (!ice_txn_available(a)) {
        if (!a->txn_blocked && any_work(a)) {
            a->txn_blocked = true;
            a->stats.cap_checks++;
        }
        return;
    }
    a->txn_blocked = false;
    int i = pick(a, now);
    if (i < 0) return;
    ice_pacer_take(a, now);
    ice_check_start(a, (unsigned)i, now);
}

floe_time_ns ice_sched_deadline(const floe_ice_agent *a) {
    floe_time_ns d = FLOE_TIME_NEVER;
    for (unsigned k = 0; k < a->n_txns; k++)
        if (ice_txn_running(a, k))
            d = ice_min_time(
                d, ice_txn_deadline(a, &a->txns[k].txn, FLOE_ICE_CHECK_RC, FLOE_ICE_CHECK_RM));
    /* A new check is due at the pacer's time; when it finds no slot it waits (counted
     * then) for a check to end, whose deadline is above. */
    if ((!a->txn_blocked || ice_txn_available(a)) && any_work(a))
        d = ice_min_time(d, ice_pacer_next(a));
    return d;
}
