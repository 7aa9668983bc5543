/* The candidate-pair and agent state machines, and the names of their states. */
#include "ice_fsm.h"

floe_ice_pair_state ice_pair_next_state(floe_ice_pair_state s, ice_pair_event ev) {
    switch (s) {
    case FLOE_ICE_PAIR_FROZEN:
        switch (ev) {
        case ICE_PAIR_EV_UNFREEZE:
        case ICE_PAIR_EV_TRIGGER: return FLOE_ICE_PAIR_WAITING;
        case ICE_PAIR_EV_SEND: return FLOE_ICE_PAIR_IN_PROGRESS;
        case ICE_PAIR_EV_VALIDATE: return FLOE_ICE_PAIR_SUCCEEDED;
        case ICE_PAIR_EV_SUCCESS: /* no check of ours is out: nothing to answer */
        case ICE_PAIR_EV_FAIL:
        case ICE_PAIR_EV_COUNT: return s;
        }
        return s;
    case FLOE_ICE_PAIR_WAITING:
        switch (ev) {
        case ICE_PAIR_EV_SEND: return FLOE_ICE_PAIR_IN_PROGRESS;
        /* A late answer to a check cancelled by a triggered one still counts (§7.3.1.4). */
        case ICE_PAIR_EV_SUCCESS:
        case ICE_PAIR_EV_VALIDATE: return FLOE_ICE_PAIR_SUCCEEDED;
        /* ... but a late failure does not: the triggered check decides. */
        case ICE_PAIR_EV_FAIL:
        case ICE_PAIR_EV_UNFREEZE:
        case ICE_PAIR_EV_TRIGGER:
        case ICE_PAIR_EV_COUNT: return s;
        }
        return s;
    case FLOE_ICE_PAIR_IN_PROGRESS:
        switch (ev) {
        case ICE_PAIR_EV_TRIGGER: return FLOE_ICE_PAIR_WAITING; /* cancel and re-check */
        case ICE_PAIR_EV_SUCCESS:
        case ICE_PAIR_EV_VALIDATE: return FLOE_ICE_PAIR_SUCCEEDED;
        case ICE_PAIR_EV_FAIL: return FLOE_ICE_PAIR_FAILED;
        case ICE_PAIR_EV_UNFREEZE:
        case ICE_PAIR_EV_SEND:
        case ICE_PAIR_EV_COUNT: return s;
        }
        return s;
    case FLOE_ICE_PAIR_SUCCEEDED:
        /* A valid pair stays valid, unless the check that nominates it fails. */
        return ev == ICE_PAIR_EV_FAIL ? FLOE_ICE_PAIR_FAILED : s;
    case FLOE_ICE_PAIR_FAILED:
        switch (ev) {
        case ICE_PAIR_EV_TRIGGER: return FLOE_ICE_PAIR_WAITING; /* the peer reached us */
        case ICE_PAIR_EV_VALIDATE: return FLOE_ICE_PAIR_SUCCEEDED;
        case ICE_PAIR_EV_UNFREEZE:
        case ICE_PAIR_EV_SEND:
        case ICE_PAIR_EV_SUCCESS: /* the transaction is over: a late answer is unmatched */
        case ICE_PAIR_EV_FAIL:
        case ICE_PAIR_EV_COUNT: return s;
        }
        return s;
    }
    return s;
}

floe_ice_agent_state ice_agent_next_state(floe_ice_agent_state s, ice_agent_event ev) {
    switch (s) {
    case FLOE_ICE_AGENT_NEW: return ev == ICE_AGENT_EV_GATHER ? FLOE_ICE_AGENT_GATHERING : s;
    case FLOE_ICE_AGENT_GATHERING:
        return ev == ICE_AGENT_EV_GATHERED ? FLOE_ICE_AGENT_GATHERED
               : ev == ICE_AGENT_EV_START  ? FLOE_ICE_AGENT_CHECKING
                                           : s;
    case FLOE_ICE_AGENT_GATHERED: return ev == ICE_AGENT_EV_START ? FLOE_ICE_AGENT_CHECKING : s;
    case FLOE_ICE_AGENT_CHECKING:
        switch (ev) {
        case ICE_AGENT_EV_COMPLETE: return FLOE_ICE_AGENT_COMPLETED;
        case ICE_AGENT_EV_FAIL: return FLOE_ICE_AGENT_FAILED;
        case ICE_AGENT_EV_RESTART: return FLOE_ICE_AGENT_GATHERED;
        case ICE_AGENT_EV_GATHER:
        case ICE_AGENT_EV_GATHERED:
        case ICE_AGENT_EV_START:
        case ICE_AGENT_EV_COUNT: return s;
        }
        return s;
    case FLOE_ICE_AGENT_COMPLETED:
        return ev == ICE_AGENT_EV_FAIL      ? FLOE_ICE_AGENT_FAILED
               : ev == ICE_AGENT_EV_RESTART ? FLOE_ICE_AGENT_GATHERED
                                            : s;
    case FLOE_ICE_AGENT_FAILED: return ev == ICE_AGENT_EV_RESTART ? FLOE_ICE_AGENT_GATHERED : s;
    }
    return s;
}

const char *ice_pair_event_name(ice_pair_event ev) {
    switch (ev) {
    case ICE_PAIR_EV_UNFREEZE: return "unfreeze";
    case ICE_PAIR_EV_SEND: return "send";
    case ICE_PAIR_EV_TRIGGER: return "trigger";
    case ICE_PAIR_EV_SUCCESS: return "success";
    case ICE_PAIR_EV_FAIL: return "fail";
    case ICE_PAIR_EV_VALIDATE: return "validate";
    case ICE_PAIR_EV_COUNT: break;
    }
    return "unknown";
}

const char *ice_agent_event_name(ice_agent_event ev) {
    switch (ev) {
    case ICE_AGENT_EV_GATHER: return "gather";
    case ICE_AGENT_EV_GATHERED: return "gathered";
    case ICE_AGENT_EV_START: return "start";
    case ICE_AGENT_EV_COMPLETE: return "complete";
    case ICE_AGENT_EV_FAIL: return "fail";
    case ICE_AGENT_EV_RESTART: return "restart";
    case ICE_AGENT_EV_COUNT: break;
    }
    return "unknown";
}

const char *floe_ice_agent_state_name(floe_ice_agent_state s) {
    switch (s) {
    case FLOE_ICE_AGENT_NEW: return "new";
    case FLOE_ICE_AGENT_GATHERING: return "gathering";
    case FLOE_ICE_AGENT_GATHERED: return "gathered";
    case FLOE_ICE_AGENT_CHECKING: return "checking";
    case FLOE_ICE_AGENT_COMPLETED: return "completed";
    case FLOE_ICE_AGENT_FAILED: return "failed";
    }
    return "unknown";
}

const char *floe_ice_pair_state_name(floe_ice_pair_state s) {
    switch (s) {
    case FLOE_ICE_PAIR_FROZEN: return "frozen";
    case FLOE_ICE_PAIR_WAITING: return "waiting";
    case FLOE_ICE_PAIR_IN_PROGRESS: return "in-progress";
    case FLOE_ICE_PAIR_SUCCEEDED: return "succeeded";
    case FLOE_ICE_PAIR_FAILED: return "failed";
    }
    return "unknown";
}
