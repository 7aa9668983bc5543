/* Nomination and selection (RFC 8445 §8), completion and failure.
 *
 * Controlling side, regular nomination (§8.1.1). For each component floe nominates the
 * best valid pair as soon as no pair of higher priority can still succeed (none is
 * Frozen, Waiting or In-Progress). Otherwise it waits, but only for a bound fixed when
 * the component's first valid pair appears:
 *     clamp(FLOE_ICE_NOMINATE_RTT_FACTOR x that pair's RTT, 2 x Ta, NOMINATE_WAIT_MAX)
 * and then nominates the best valid pair it has. The nomination is a triggered check with
 * USE-CANDIDATE; its success selects the pair. A failed nomination check fails that pair
 * and the next best valid pair is nominated at once.
 *
 * Controlled side: a nominated valid pair is selected; when several are, the one with
 * the highest priority (§8.1.1). RFC 8445 does not bound the wait for a nomination; floe
 * fails a component whose valid pairs got none FLOE_ICE_CONTROLLED_WAIT after the first
 * one, so a controlling agent that went away cannot leave us checking forever.
 *
 * A component fails when it has no selection, nothing that can still succeed (no pair
 * Frozen, Waiting, In-Progress or valid, no nomination out) and either had pairs or was
 * given the time of one whole check to get any. */
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

static floe_time_ns nominate_bound(const floe_ice_agent *a, const ice_pair *v) {
    floe_time_ns x = (floe_time_ns)v->rtt_us * FLOE_NS_PER_US * FLOE_ICE_NOMINATE_RTT_FACTOR;
    floe_time_ns lo = 2 * a->ta, hi = FLOE_ICE_NOMINATE_WAIT_MAX;
    if (lo > hi) lo = hi;
    return x < lo ? lo : x > hi ? hi : x;
}

/* The whole life of one check with the RTO floor (9.5 s): how long a component without
 * any pair waits before it fails. This is RFC 8863's PAC timer ("patiently awaiting
 * connectivity"), which recommends the check transaction timeout; a component with pairs
 * cannot fail earlier either, since its first check takes that long to give up. */
static floe_time_ns no_pair_grace(void) {
    floe_time_ns rto = FLOE_ICE_RTO_MIN, t = 0;
    for (unsigned k = 0; k + 1 < FLOE_ICE_CHECK_RC; k++)
        t += rto << k;
    return t + FLOE_ICE_CHECK_RM * rto;
}

static void select_pair(floe_ice_agent *a, unsigned v, floe_time_ns now) {
    const ice_pair *p = &a->pairs[v];
    ice_comp *c = ice_comp_of(a, p->stream, p->comp);
    if (c->sel_current && c->sel_pair == v) return;
    c->sel_local = a->local[p->local];
    c->sel_remote = a->remote[p->remote];
    c->sel_pair = (uint16_t)v;
    c->has_sel = 1;
    c->sel_current = 1;
    ice_ev_simple(a, FLOE_ICE_EV_SELECTED, p->stream, p->comp, now);
    ice_consent_on_select(a, p->stream, p->comp, now);
    ice_relay_on_selected(a, c->sel_local.base, &c->sel_remote.addr, now);
}

void ice_nom_nominated(floe_ice_agent *a, unsigned v, floe_time_ns now) {
    ice_pair *p = &a->pairs[v];
    p->flags |= ICE_PF_NOMINATED;
    ice_comp *c = ice_comp_of(a, p->stream, p->comp);
    /* Several nominations: the highest priority wins (§8.1.1). */
    if (c->sel_current && c->sel_pair != ICE_NONE && c->sel_pair != v &&
        (a->pairs[c->sel_pair].flags & ICE_PF_NOMINATED) && a->pairs[c->sel_pair].prio >= p->prio)
        return;
    select_pair(a, v, now);
    ice_nom_tick(a, now);
}

void ice_nom_on_valid(floe_ice_agent *a, unsigned checked, unsigned valid, floe_time_ns now) {
    ice_pair *p = &a->pairs[checked], *v = &a->pairs[valid];
    ice_comp *c = ice_comp_of(a, v->stream, v->comp);
    if (c->valid_since == FLOE_TIME_NEVER) {
        c->valid_since = now;
        c->nominate_by = now + nominate_bound(a, v);
    }
    if (c->has_sel && c->sel_pair == valid) c->consent_ok = now; /* RFC 7675: fresh */
    if ((p->flags & ICE_PF_USE_CAND) && a->controlling) {
        if (c->nominating == checked || c->nominating == valid) c->nominating = ICE_NONE;
        v->flags |= ICE_PF_NOMINATED;
        select_pair(a, valid, now);
    } else if ((p->flags & ICE_PF_NOM_LATER) && !a->controlling) {
        p->flags &= (uint16_t)~ICE_PF_NOM_LATER;
        ice_nom_nominated(a, valid, now);
        return;
    }
    ice_nom_tick(a, now);
}

void ice_nom_on_fail(floe_ice_agent *a, unsigned i, floe_time_ns now) {
    const ice_pair *p = &a->pairs[i];
    ice_comp *c = ice_comp_of(a, p->stream, p->comp);
    if (c->nominating == i) c->nominating = ICE_NONE; /* the next best is nominated */
    (void)now;
}

void ice_nom_reset(floe_ice_agent *a) {
    for (unsigned s = 0; s < a->n_streams; s++) {
        a->streams[s].cl_state = ICE_CL_RUNNING;
        for (unsigned k = 1; k <= a->streams[s].n_comp; k++) {
            ice_comp *c = ice_comp_of(a, s, k);
            c->sel_pair = ICE_NONE;
            c->nominating = ICE_NONE;
            c->sel_current = 0;
            c->failed = 0;
            c->valid_since = FLOE_TIME_NEVER;
            c->nominate_by = FLOE_TIME_NEVER;
        }
    }
}

/* ---- per component ---------------------------------------------------------------- */

static int best_valid(const floe_ice_agent *a, unsigned s, unsigned comp) {
    int best = -1;
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->stream != s || p->comp != comp || !(p->flags & ICE_PF_VALID)) continue;
        if (p->state != FLOE_ICE_PAIR_SUCCEEDED) continue;
        if (best < 0 || p->prio > a->pairs[best].prio) best = (int)i;
    }
    return best;
}

/* RFC 8445 section 12.1: before a pair is selected, data MAY go on any valid pair. The
 * controlling side's nomination can take a few retransmissions on a lossy path while the
 * peer, which selected on the first USE-CANDIDATE that reached it, already sends; the
 * pair being nominated (else the best valid one) carries data meanwhile. */
int floe_ice_agent_early_path(const floe_ice_agent *a, unsigned stream, unsigned component,
                              unsigned *base, floe_addr *to) {
    int rc = floe_ice_agent_data_path(a, stream, component, base, to);
    if (rc != FLOE_ERR_STATE) return rc;
    const ice_comp *c = ice_comp_get(a, stream, component);
    if (c->has_sel || c->failed || a->state != FLOE_ICE_AGENT_CHECKING) return FLOE_ERR_STATE;
    int i = c->nominating != ICE_NONE ? (int)c->nominating : best_valid(a, stream, component);
    if (i < 0 || !(a->pairs[i].flags & ICE_PF_VALID)) return FLOE_ERR_STATE;
    const ice_pair *p = &a->pairs[i];
    if (base) *base = a->local[p->local].base;
    if (to) *to = a->remote[p->remote].addr;
    return FLOE_OK;
}

static bool pending(const ice_pair *p) {
    return p->state == FLOE_ICE_PAIR_FROZEN || p->state == FLOE_ICE_PAIR_WAITING ||
           p->state == FLOE_ICE_PAIR_IN_PROGRESS;
}

/* Can a pair of higher priority than `than` (ICE_NONE: any) still succeed? */
static bool better_pending(const floe_ice_agent *a, unsigned s, unsigned comp, unsigned than) {
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->stream != s || p->comp != comp || !pending(p)) continue;
        if (than == ICE_NONE || p->prio > a->pairs[than].prio) return true;
    }
    return false;
}

static bool controlling_nominates(const floe_ice_agent *a) {
    return a->controlling && !a->cfg.lite && a->state == FLOE_ICE_AGENT_CHECKING;
}

static void maybe_nominate(floe_ice_agent *a, unsigned s, unsigned comp, floe_time_ns now) {
    ice_comp *c = ice_comp_of(a, s, comp);
    if (c->sel_current || c->failed || c->nominating != ICE_NONE) return;
    if (!ice_sched_stream_ready(a, s)) return;
    int best = best_valid(a, s, comp);
    if (best < 0) return;
    if (better_pending(a, s, comp, (unsigned)best) && now < c->nominate_by) return;
    ice_pair *p = &a->pairs[best];
    p->flags |= ICE_PF_NOMINATE;
    c->nominating = (uint16_t)best;
    ice_sched_trigger(a, (unsigned)best);
}

/* A queued triggered check that will go out: one on a pair that already succeeded is
 * dropped unless it nominates (ice_check_start), so it keeps nothing alive. */
static bool will_check(const ice_pair *p) {
    if (!(p->flags & ICE_PF_TRIGGERED)) return false;
    return p->state != FLOE_ICE_PAIR_SUCCEEDED || (p->flags & ICE_PF_NOMINATE);
}

/* Controlled side: until when a component with valid pairs waits for a nomination. */
static floe_time_ns nomination_due(const floe_ice_agent *a, const ice_comp *c) {
    floe_time_ns wait = a->cfg.nomination_wait ? a->cfg.nomination_wait : FLOE_ICE_CONTROLLED_WAIT;
    return c->valid_since == FLOE_TIME_NEVER ? FLOE_TIME_NEVER : c->valid_since + wait;
}

/* Dead, with the reason (ICE_REASON_*, NONE while alive): no pair can succeed any more,
 * or (controlled) valid pairs but no nomination within the nomination wait. */
static unsigned component_dead(const floe_ice_agent *a, unsigned s, unsigned comp,
                               floe_time_ns now) {
    const ice_comp *c = ice_comp_get(a, s, comp);
    if (c->sel_current || c->failed || c->nominating != ICE_NONE) return ICE_REASON_NONE;
    bool any = false, unnominated = false;
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        if (p->stream != s || p->comp != comp) continue;
        any = true;
        if (pending(p) || will_check(p)) return ICE_REASON_NONE;
        if ((p->flags & ICE_PF_VALID) && p->state == FLOE_ICE_PAIR_SUCCEEDED) {
            if (a->controlling || now < nomination_due(a, c)) return ICE_REASON_NONE;
            unnominated = true;
        }
    }
    if (unnominated) return ICE_REASON_NO_NOMINATION;
    return any || now >= a->start_time + no_pair_grace() ? ICE_REASON_NO_PAIR : ICE_REASON_NONE;
}

void ice_nom_tick(floe_ice_agent *a, floe_time_ns now) {
    if (!a->started || a->state != FLOE_ICE_AGENT_CHECKING) return;
    bool all = true;
    for (unsigned s = 0; s < a->n_streams; s++) {
        ice_stream *st = &a->streams[s];
        bool done = true;
        for (unsigned comp = 1; comp <= st->n_comp; comp++) {
            ice_comp *c = ice_comp_of(a, s, comp);
            if (controlling_nominates(a)) maybe_nominate(a, s, comp, now);
            if (!c->sel_current) done = false;
            unsigned dead = a->cfg.lite ? ICE_REASON_NONE : component_dead(a, s, comp, now);
            if (dead != ICE_REASON_NONE) {
                c->failed = 1;
                st->cl_state = ICE_CL_FAILED;
                if (a->state == FLOE_ICE_AGENT_CHECKING) {
                    ice_agent_step(a, ICE_AGENT_EV_FAIL);
                    ice_ev_failed(a, dead, s, comp, now);
                }
                return;
            }
        }
        if (done && st->cl_state == ICE_CL_RUNNING) st->cl_state = ICE_CL_COMPLETED;
        if (!done) all = false;
    }
    if (all) {
        ice_agent_step(a, ICE_AGENT_EV_COMPLETE);
        ice_ev_simple(a, FLOE_ICE_EV_COMPLETED, 0, 0, now);
    }
}

floe_time_ns ice_nom_deadline(const floe_ice_agent *a) {
    if (!a->started || a->state != FLOE_ICE_AGENT_CHECKING) return FLOE_TIME_NEVER;
    floe_time_ns d = FLOE_TIME_NEVER;
    for (unsigned s = 0; s < a->n_streams; s++) {
        for (unsigned comp = 1; comp <= a->streams[s].n_comp; comp++) {
            const ice_comp *c = ice_comp_get(a, s, comp);
            if (c->sel_current || c->failed) continue;
            bool any = false;
            for (unsigned i = 0; i < a->n_pairs && !any; i++)
                any = a->pairs[i].stream == s && a->pairs[i].comp == comp;
            if (!any && !a->cfg.lite) d = ice_min_time(d, a->start_time + no_pair_grace());
            /* Once due, the component fails at the tick that ends its last pending pair;
             * a due time in the past would make the loop spin until then. */
            if (!a->controlling && !a->cfg.lite && nomination_due(a, c) > a->now)
                d = ice_min_time(d, nomination_due(a, c));
            if (controlling_nominates(a) && c->nominating == ICE_NONE &&
                ice_sched_stream_ready(a, s) && best_valid(a, s, comp) >= 0)
                d = ice_min_time(d, c->nominate_by);
        }
    }
    return d;
}
