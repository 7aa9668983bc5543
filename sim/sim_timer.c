/* floe simulator: timers, the world's way to wake the objects it drives. A timer is an
 * event that its owner keeps: arming queues (or moves) it, disarming removes it. */
#include "sim_internal.h"

#include <stdlib.h>

#include "floe/err.h"

int floe_sim_timer_new(floe_sim *sim, floe_sim_timer_fn fn, void *ctx, floe_sim_timer **out) {
    *out = NULL;
    if (!fn) return FLOE_ERR_INVAL;
    if (sim->n_timers >= sim->cfg.max_timers) return FLOE_ERR_LIMIT;
    floe_sim_timer *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    t->ev.kind = SIM_EV_TIMER;
    t->ev.pos = SIM_NOT_QUEUED;
    t->ev.at = FLOE_TIME_NEVER;
    t->sim = sim;
    t->fn = fn;
    t->ctx = ctx;
    t->next = sim->timers;
    if (sim->timers) sim->timers->prev = t;
    sim->timers = t;
    sim->n_timers++;
    *out = t;
    return FLOE_OK;
}

void floe_sim_timer_free(floe_sim_timer *t) {
    if (!t) return;
    floe_sim *sim = t->sim;
    sim_heap_remove(sim, &t->ev);
    if (t->prev)
        t->prev->next = t->next;
    else
        sim->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    sim->n_timers--;
    free(t);
}

int floe_sim_timer_arm(floe_sim_timer *t, floe_time_ns at) {
    if (at < t->sim->now) at = t->sim->now;
    if (t->ev.pos != SIM_NOT_QUEUED) {
        if (t->ev.at == at) return FLOE_OK;
        sim_heap_remove(t->sim, &t->ev);
    }
    t->ev.at = at;
    int rc = sim_heap_push(t->sim, &t->ev);
    if (rc != FLOE_OK) t->ev.at = FLOE_TIME_NEVER;
    return rc;
}

void floe_sim_timer_disarm(floe_sim_timer *t) {
    sim_heap_remove(t->sim, &t->ev);
    t->ev.at = FLOE_TIME_NEVER;
}

floe_time_ns floe_sim_timer_when(const floe_sim_timer *t) {
    return t->ev.pos == SIM_NOT_QUEUED ? FLOE_TIME_NEVER : t->ev.at;
}
