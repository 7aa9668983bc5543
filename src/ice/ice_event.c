/* The agent's event queue: bounded, pulled by the application (floe_ice_agent_next_event).
 *
 * Events are stored small (12 bytes: indices, not candidate copies; a reason code, not
 * the sentence) and expanded when pulled. When the queue is full, PAIR_STATE events
 * (informational) are given up first; every lost event is counted in
 * stats.events_dropped. */
#include <string.h>

#include "ice_priv.h"

static void pack(ice_ev_slot *d, const ice_ev *e) {
    d->at_lo = (uint32_t)e->at;
    d->at_hi = (uint32_t)(e->at >> 32);
    d->item = e->type == FLOE_ICE_EV_CANDIDATE ? e->local : e->pair;
    d->kind = (uint8_t)((e->type & 0x0f) | (e->reason & 0x03) << 4 | (e->flag ? 0x40 : 0));
    d->where = (uint8_t)((e->stream & 0x07) | (e->comp & 0x03) << 3 | (e->state & 0x07) << 5);
}

static void unpack(ice_ev *e, const ice_ev_slot *d) {
    memset(e, 0, sizeof *e);
    e->at = (floe_time_ns)d->at_hi << 32 | d->at_lo;
    e->type = d->kind & 0x0f;
    e->reason = (d->kind >> 4) & 0x03;
    e->flag = (d->kind & 0x40) != 0;
    e->stream = d->where & 0x07;
    e->comp = (d->where >> 3) & 0x03;
    e->state = (uint8_t)(d->where >> 5);
    if (e->type == FLOE_ICE_EV_CANDIDATE)
        e->local = (uint8_t)d->item;
    else
        e->pair = d->item;
}

_Static_assert(FLOE_ICE_EV_ROLE_CHANGED < 16 && ICE_REASON_NO_NOMINATION < 4 &&
                   FLOE_ICE_MAX_STREAMS <= 8 && FLOE_ICE_MAX_COMPONENTS < 4 &&
                   FLOE_ICE_PAIR_FAILED < 8,
               "ice_ev_slot's packed fields hold every value");

static bool droppable(const ice_ev_slot *e) {
    return (e->kind & 0x0f) == FLOE_ICE_EV_PAIR_STATE;
}

void ice_ev_push(floe_ice_agent *a, const ice_ev *e) {
    if (a->ev_count == FLOE_ICE_MAX_EVENTS) {
        if (e->type == FLOE_ICE_EV_PAIR_STATE) {
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
    pack(&a->ev[(a->ev_head + a->ev_count) % FLOE_ICE_MAX_EVENTS], e);
    a->ev_count++;
}

void ice_ev_simple(floe_ice_agent *a, floe_ice_event_type type, unsigned stream, unsigned comp,
                   floe_time_ns now) {
    ice_ev e = {.at = now, .type = (uint8_t)type, .stream = (uint8_t)stream, .comp = (uint8_t)comp};
    ice_ev_push(a, &e);
}

void ice_ev_failed(floe_ice_agent *a, unsigned reason, unsigned stream, unsigned comp,
                   floe_time_ns now) {
    ice_ev e = {.at = now,
                .type = FLOE_ICE_EV_FAILED,
                .stream = (uint8_t)stream,
                .comp = (uint8_t)comp,
                .reason = (uint8_t)reason};
    ice_ev_push(a, &e);
}

bool floe_ice_agent_next_event(floe_ice_agent *a, floe_ice_event *ev) {
    if (!a || a->ev_count == 0) return false;
    ice_ev e;
    unpack(&e, &a->ev[a->ev_head]);
    a->ev_head = (uint8_t)((a->ev_head + 1) % FLOE_ICE_MAX_EVENTS);
    a->ev_count--;
    memset(ev, 0, sizeof *ev);
    ev->type = (floe_ice_event_type)e.type;
    ev->stream = e.stream;
    ev->component = e.comp;
    ev->at = e.at;
    if (e.reason == ICE_REASON_NO_PAIR)
        ev->reason = ice_reason_no_pair(e.stream, e.comp);
    else if (e.reason == ICE_REASON_CONSENT)
        ev->reason = ice_reason_consent(e.stream, e.comp);
    else if (e.reason == ICE_REASON_NO_NOMINATION)
        ev->reason = ice_reason_no_nomination(e.stream, e.comp);
    ev->local.related.family = FLOE_AF_NONE;
    ev->remote.related.family = FLOE_AF_NONE;
    switch (ev->type) {
    case FLOE_ICE_EV_CANDIDATE:
        if (e.local < a->n_local && a->local[e.local].used)
            ice_local_export(a, &a->local[e.local], &ev->local);
        break;
    case FLOE_ICE_EV_SELECTED: {
        /* The component's current selection (a later selection of the same component
         * shows here too; its own event follows). */
        const ice_comp *c = ice_comp_get(a, e.stream, e.comp);
        ice_local_export(a, &c->sel_local, &ev->local);
        ice_remote_export(&c->sel_remote, &ev->remote);
        break;
    }
    case FLOE_ICE_EV_PAIR_STATE:
        ev->pair_id = e.pair;
        ev->pair_state = (floe_ice_pair_state)e.state;
        break;
    case FLOE_ICE_EV_ROLE_CHANGED: ev->controlling = e.flag != 0; break;
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
