/* The agent's event queue: bounded, pulled by the application (floe_ice_agent_next_event).
 *
 * Events are stored small (indices, not candidate copies) and expanded when pulled. When
 * the queue is full, PAIR_STATE events (informational) are given up first; every lost
 * event is counted in stats.events_dropped. */
#include <string.h>

#include "ice_priv.h"

static bool droppable(const ice_ev *e) {
    return e->type == FLOE_ICE_EV_PAIR_STATE;
}

void ice_ev_push(floe_ice_agent *a, const ice_ev *e) {
    if (a->ev_count == FLOE_ICE_MAX_EVENTS) {
        if (droppable(e)) {
            a->stats.events_dropped++;
            return;
        }
        /* Make room: the oldest PAIR_STATE event, else the oldest event. */
        unsigned victim = 0;
        for (unsigned k = 0; k < a->ev_count; k++) {
            if (droppable(&a->ev[(a->ev_head + k) % FLOE_ICE_MAX_EVENTS])) {
                victim = k;
                break;
            }
        }
        for (unsigned k = victim; k + 1 < a->ev_count; k++)
            a->ev[(a->ev_head + k) % FLOE_ICE_MAX_EVENTS] =
                a->ev[(a->ev_head + k + 1) % FLOE_ICE_MAX_EVENTS];
        a->ev_count--;
        a->stats.events_dropped++;
    }
    a->ev[(a->ev_head + a->ev_count) % FLOE_ICE_MAX_EVENTS] = *e;
    a->ev_count++;
}

void ice_ev_simple(floe_ice_agent *a, floe_ice_event_type type, unsigned stream, unsigned comp,
                   floe_time_ns now) {
    ice_ev e = {.at = now, .type = (uint8_t)type, .stream = (uint8_t)stream, .comp = (uint8_t)comp};
    ice_ev_push(a, &e);
}

void ice_ev_failed(floe_ice_agent *a, const char *reason, unsigned stream, unsigned comp,
                   floe_time_ns now) {
    ice_ev e = {.at = now,
                .type = FLOE_ICE_EV_FAILED,
                .stream = (uint8_t)stream,
                .comp = (uint8_t)comp,
                .reason = reason};
    ice_ev_push(a, &e);
}

bool floe_ice_agent_next_event(floe_ice_agent *a, floe_ice_event *ev) {
    if (!a || a->ev_count == 0) return false;
    const ice_ev *e = &a->ev[a->ev_head];
    a->ev_head = (uint8_t)((a->ev_head + 1) % FLOE_ICE_MAX_EVENTS);
    a->ev_count--;
    memset(ev, 0, sizeof *ev);
    ev->type = (floe_ice_event_type)e->type;
    ev->stream = e->stream;
    ev->component = e->comp;
    ev->at = e->at;
    ev->reason = e->reason;
    ev->local.related.family = FLOE_AF_NONE;
    ev->remote.related.family = FLOE_AF_NONE;
    switch (ev->type) {
    case FLOE_ICE_EV_CANDIDATE:
        if (e->local < a->n_local && a->local[e->local].used)
            ice_local_export(a, &a->local[e->local], &ev->local);
        break;
    case FLOE_ICE_EV_SELECTED: {
        /* The component's current selection (a later selection of the same component
         * shows here too; its own event follows). */
        const ice_comp *c = &a->streams[e->stream].comp[e->comp - 1];
        ice_local_export(a, &c->sel_local, &ev->local);
        ice_remote_export(&c->sel_remote, &ev->remote);
        break;
    }
    case FLOE_ICE_EV_PAIR_STATE:
        ev->pair_id = e->pair;
        ev->pair_state = (floe_ice_pair_state)e->state;
        break;
    case FLOE_ICE_EV_ROLE_CHANGED: ev->controlling = e->flag != 0; break;
    default: break;
    }
    return true;
}

/* The FAILED reasons are static sentences, one per stream and component. */
#define ICE_REASONS(prefix)                                                                        \
    {                                                                                              \
        {prefix " stream 0 component 1", prefix " stream 0 component 2"},                          \
            {prefix " stream 1 component 1", prefix " stream 1 component 2"},                      \
            {prefix " stream 2 component 1", prefix " stream 2 component 2"},                      \
            {prefix " stream 3 component 1", prefix " stream 3 component 2"},                      \
            {prefix " stream 4 component 1", prefix " stream 4 component 2"},                      \
            {prefix " stream 5 component 1", prefix " stream 5 component 2"},                      \
            {prefix " stream 6 component 1", prefix " stream 6 component 2"}, {                    \
            prefix " stream 7 component 1", prefix " stream 7 component 2"                         \
        }                                                                                          \
    }

_Static_assert(FLOE_ICE_MAX_STREAMS == 8 && FLOE_ICE_MAX_COMPONENTS == 2,
               "the reason tables list 8 streams of 2 components");

static const char *const no_pair[FLOE_ICE_MAX_STREAMS][FLOE_ICE_MAX_COMPONENTS] =
    ICE_REASONS("no candidate pair succeeded for");
static const char *const consent[FLOE_ICE_MAX_STREAMS][FLOE_ICE_MAX_COMPONENTS] =
    ICE_REASONS("consent expired on the selected pair of");
static const char *const no_nomination[FLOE_ICE_MAX_STREAMS][FLOE_ICE_MAX_COMPONENTS] =
    ICE_REASONS("the peer nominated no pair for");

const char *ice_reason_no_pair(unsigned stream, unsigned comp) {
    if (stream >= FLOE_ICE_MAX_STREAMS || comp < 1 || comp > FLOE_ICE_MAX_COMPONENTS)
        return "no candidate pair succeeded";
    return no_pair[stream][comp - 1];
}

const char *ice_reason_consent(unsigned stream, unsigned comp) {
    if (stream >= FLOE_ICE_MAX_STREAMS || comp < 1 || comp > FLOE_ICE_MAX_COMPONENTS)
        return "consent expired on a selected pair";
    return consent[stream][comp - 1];
}

const char *ice_reason_no_nomination(unsigned stream, unsigned comp) {
    if (stream >= FLOE_ICE_MAX_STREAMS || comp < 1 || comp > FLOE_ICE_MAX_COMPONENTS)
        return "the peer nominated no pair";
    return no_nomination[stream][comp - 1];
}
