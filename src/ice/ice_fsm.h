/* Private to src/ice: the two explicit state machines of the ICE agent.
 *
 * Each machine is one pure function from (state, event) to the next state. The agent
 * changes a state only through these functions, and tests/unit/test_ice_fsm.c walks every
 * (state, event) combination. */
#ifndef FLOE_ICE_FSM_H
#define FLOE_ICE_FSM_H

#include "floe/ice.h"

/* What can happen to a candidate pair (RFC 8445 §6.1.2.6, §7.2.5, §7.3.1.4). */
typedef enum ice_pair_event {
    ICE_PAIR_EV_UNFREEZE = 0, /* frozen algorithm: the foundation is free, or a pair of the
                                 same foundation succeeded (§6.1.2.6, §7.2.5.3.3) */
    ICE_PAIR_EV_SEND,         /* a check on the pair starts (§6.1.4.2) */
    ICE_PAIR_EV_TRIGGER,      /* the pair enters the triggered-check queue: an incoming check
                                 (§7.3.1.4) or a 487 answer to our check (§7.2.5.1) */
    ICE_PAIR_EV_SUCCESS,      /* an authenticated, symmetric success response (§7.2.5.3) */
    ICE_PAIR_EV_FAIL,         /* no answer in time, an unrecoverable error or an asymmetric
                                 answer (§7.2.5.2) */
    ICE_PAIR_EV_VALIDATE,     /* proven without a check of its own: by an authenticated
                                 incoming check (ICE-lite), or as the valid pair built from
                                 another pair's check (§7.2.5.3.2) */
    ICE_PAIR_EV_COUNT
} ice_pair_event;

floe_ice_pair_state ice_pair_next_state(floe_ice_pair_state s, ice_pair_event ev);
const char *ice_pair_event_name(ice_pair_event ev);

/* What can happen to the agent as a whole. */
typedef enum ice_agent_event {
    ICE_AGENT_EV_GATHER = 0, /* floe_ice_agent_gather() */
    ICE_AGENT_EV_GATHERED,   /* the last server-reflexive transaction ended */
    ICE_AGENT_EV_START,      /* floe_ice_agent_start() */
    ICE_AGENT_EV_COMPLETE,   /* every component of every stream has a selected pair */
    ICE_AGENT_EV_FAIL,       /* a component cannot get a pair, or lost consent */
    ICE_AGENT_EV_RESTART,    /* floe_ice_agent_restart() (RFC 8445 §9) */
    ICE_AGENT_EV_COUNT
} ice_agent_event;

floe_ice_agent_state ice_agent_next_state(floe_ice_agent_state s, ice_agent_event ev);
const char *ice_agent_event_name(ice_agent_event ev);

#endif
