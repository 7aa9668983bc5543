/* The TURN client's state machines: the allocation (RFC 8656 §7), the bindings it
 * keeps on the server, permissions (§9) and channels (§12), and the peer connections of
 * a TCP allocation (RFC 6062). Each is one pure function
 * from (state, event) to the next state; the client changes a state only through them,
 * and tests/unit/test_turn_fsm.c walks every combination. */
#include "turn/turn_priv.h"

floe_turn_state turn_alloc_next_state(floe_turn_state s, turn_alloc_event ev) {
    switch (s) {
    case FLOE_TURN_NEW:
        switch (ev) {
        case TURN_ALLOC_EV_START: return FLOE_TURN_ALLOCATING;
        case TURN_ALLOC_EV_CLOSE: return FLOE_TURN_CLOSED; /* nothing to deallocate */
        case TURN_ALLOC_EV_RETRY:
        case TURN_ALLOC_EV_SUCCESS:
        case TURN_ALLOC_EV_REFRESHED:
        case TURN_ALLOC_EV_ERROR:
        case TURN_ALLOC_EV_TIMEOUT:
        case TURN_ALLOC_EV_EXPIRED:
        case TURN_ALLOC_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_ALLOCATING:
        switch (ev) {
        case TURN_ALLOC_EV_RETRY: return s; /* 401 with credentials, 438, 300 */
        case TURN_ALLOC_EV_SUCCESS: return FLOE_TURN_ALLOCATED;
        case TURN_ALLOC_EV_ERROR:
        case TURN_ALLOC_EV_TIMEOUT: return FLOE_TURN_FAILED;
        /* The request may still create the allocation: it expires on the server. */
        case TURN_ALLOC_EV_CLOSE: return FLOE_TURN_CLOSED;
        case TURN_ALLOC_EV_START:
        case TURN_ALLOC_EV_REFRESHED:
        case TURN_ALLOC_EV_EXPIRED:
        case TURN_ALLOC_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_ALLOCATED:
        switch (ev) {
        case TURN_ALLOC_EV_RETRY:     /* a Refresh answered 438 */
        case TURN_ALLOC_EV_REFRESHED: /* lifetime extended */
        case TURN_ALLOC_EV_TIMEOUT: /* a Refresh got no answer: try again until expiry */ return s;
        case TURN_ALLOC_EV_ERROR: /* a Refresh refused (437: the allocation is gone) */
        case TURN_ALLOC_EV_EXPIRED: return FLOE_TURN_FAILED;
        case TURN_ALLOC_EV_CLOSE: return FLOE_TURN_DEALLOCATING;
        case TURN_ALLOC_EV_START:
        case TURN_ALLOC_EV_SUCCESS:
        case TURN_ALLOC_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_DEALLOCATING:
        switch (ev) {
        case TURN_ALLOC_EV_RETRY:
            return s; /* 438: the Refresh goes again */
        /* Confirmed, refused (437: already gone), unanswered or expired: over either way. */
        case TURN_ALLOC_EV_REFRESHED:
        case TURN_ALLOC_EV_ERROR:
        case TURN_ALLOC_EV_TIMEOUT:
        case TURN_ALLOC_EV_EXPIRED: return FLOE_TURN_CLOSED;
        case TURN_ALLOC_EV_START:
        case TURN_ALLOC_EV_SUCCESS:
        case TURN_ALLOC_EV_CLOSE:
        case TURN_ALLOC_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_CLOSED:
    case FLOE_TURN_FAILED: return s; /* final */
    }
    return s;
}

floe_turn_bind_state turn_bind_next_state(floe_turn_bind_state s, turn_bind_event ev) {
    switch (s) {
    case FLOE_TURN_BIND_NEW:
        switch (ev) {
        case TURN_BIND_EV_SEND: return FLOE_TURN_BIND_PENDING;
        /* A permission installed by a channel binding never sent its own request. */
        case TURN_BIND_EV_SUCCESS: return FLOE_TURN_BIND_UP;
        case TURN_BIND_EV_ERROR: return FLOE_TURN_BIND_FAILED;
        case TURN_BIND_EV_TIMEOUT:
        case TURN_BIND_EV_EXPIRED:
        case TURN_BIND_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_BIND_PENDING:
        switch (ev) {
        case TURN_BIND_EV_SUCCESS: return FLOE_TURN_BIND_UP;
        case TURN_BIND_EV_ERROR:
        case TURN_BIND_EV_TIMEOUT: return FLOE_TURN_BIND_FAILED;
        case TURN_BIND_EV_SEND:
        case TURN_BIND_EV_EXPIRED:
        case TURN_BIND_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_BIND_UP:
        switch (ev) {
        case TURN_BIND_EV_SEND: return FLOE_TURN_BIND_REFRESHING;
        case TURN_BIND_EV_SUCCESS: return s; /* refreshed by a ChannelBind */
        case TURN_BIND_EV_EXPIRED: return FLOE_TURN_BIND_FAILED;
        case TURN_BIND_EV_ERROR:
        case TURN_BIND_EV_TIMEOUT:
        case TURN_BIND_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_BIND_REFRESHING:
        switch (ev) {
        case TURN_BIND_EV_SUCCESS:
        case TURN_BIND_EV_TIMEOUT: /* still up until it expires: try again */
            return FLOE_TURN_BIND_UP;
        case TURN_BIND_EV_ERROR:
        case TURN_BIND_EV_EXPIRED: return FLOE_TURN_BIND_FAILED;
        case TURN_BIND_EV_SEND:
        case TURN_BIND_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_BIND_FAILED: return s; /* final: the entry is removed */
    }
    return s;
}

floe_turn_conn_state turn_conn_next_state(floe_turn_conn_state s, turn_conn_event ev) {
    if (s == FLOE_TURN_CONN_FAILED || s == FLOE_TURN_CONN_CLOSED) return s; /* final */
    /* The runtime may close (or decline) a connection in any live state. */
    if (ev == TURN_CONN_EV_CLOSED && (unsigned)s <= FLOE_TURN_CONN_BOUND)
        return FLOE_TURN_CONN_CLOSED;
    switch (s) {
    case FLOE_TURN_CONN_NEW:
        switch (ev) {
        case TURN_CONN_EV_SEND: return FLOE_TURN_CONN_CONNECTING;
        case TURN_CONN_EV_ERROR: return FLOE_TURN_CONN_FAILED; /* the Connect cannot be made */
        case TURN_CONN_EV_CONNECTED:
        case TURN_CONN_EV_ACCEPT:
        case TURN_CONN_EV_OPENED:
        case TURN_CONN_EV_BOUND:
        case TURN_CONN_EV_TIMEOUT:
        case TURN_CONN_EV_CLOSED:
        case TURN_CONN_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_CONN_CONNECTING:
        switch (ev) {
        case TURN_CONN_EV_CONNECTED: return FLOE_TURN_CONN_OPENING;
        case TURN_CONN_EV_ERROR: /* 403, 446, 447, ... */
        case TURN_CONN_EV_TIMEOUT: return FLOE_TURN_CONN_FAILED;
        case TURN_CONN_EV_SEND:
        case TURN_CONN_EV_ACCEPT:
        case TURN_CONN_EV_OPENED:
        case TURN_CONN_EV_BOUND:
        case TURN_CONN_EV_CLOSED:
        case TURN_CONN_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_CONN_OFFERED:
        switch (ev) {
        case TURN_CONN_EV_ACCEPT: return FLOE_TURN_CONN_OPENING;
        case TURN_CONN_EV_TIMEOUT: return FLOE_TURN_CONN_FAILED; /* not taken in 30 s */
        case TURN_CONN_EV_SEND:
        case TURN_CONN_EV_CONNECTED:
        case TURN_CONN_EV_OPENED:
        case TURN_CONN_EV_BOUND:
        case TURN_CONN_EV_ERROR:
        case TURN_CONN_EV_CLOSED:
        case TURN_CONN_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_CONN_OPENING:
        switch (ev) {
        case TURN_CONN_EV_OPENED: return FLOE_TURN_CONN_BINDING;
        case TURN_CONN_EV_TIMEOUT: return FLOE_TURN_CONN_FAILED; /* no data connection in 30 s */
        case TURN_CONN_EV_SEND:
        case TURN_CONN_EV_CONNECTED:
        case TURN_CONN_EV_ACCEPT:
        case TURN_CONN_EV_BOUND:
        case TURN_CONN_EV_ERROR:
        case TURN_CONN_EV_CLOSED:
        case TURN_CONN_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_CONN_BINDING:
        switch (ev) {
        case TURN_CONN_EV_BOUND: return FLOE_TURN_CONN_BOUND;
        case TURN_CONN_EV_ERROR:
        case TURN_CONN_EV_TIMEOUT: return FLOE_TURN_CONN_FAILED;
        case TURN_CONN_EV_SEND:
        case TURN_CONN_EV_CONNECTED:
        case TURN_CONN_EV_ACCEPT:
        case TURN_CONN_EV_OPENED:
        case TURN_CONN_EV_CLOSED:
        case TURN_CONN_EV_COUNT: return s;
        }
        return s;
    case FLOE_TURN_CONN_BOUND: return s; /* only closing ends it (above) */
    case FLOE_TURN_CONN_FAILED:
    case FLOE_TURN_CONN_CLOSED: return s;
    }
    return s;
}

const char *turn_alloc_event_name(turn_alloc_event ev) {
    switch (ev) {
    case TURN_ALLOC_EV_START: return "start";
    case TURN_ALLOC_EV_RETRY: return "retry";
    case TURN_ALLOC_EV_SUCCESS: return "success";
    case TURN_ALLOC_EV_REFRESHED: return "refreshed";
    case TURN_ALLOC_EV_ERROR: return "error";
    case TURN_ALLOC_EV_TIMEOUT: return "timeout";
    case TURN_ALLOC_EV_EXPIRED: return "expired";
    case TURN_ALLOC_EV_CLOSE: return "close";
    case TURN_ALLOC_EV_COUNT: break;
    }
    return "unknown";
}

const char *turn_bind_event_name(turn_bind_event ev) {
    switch (ev) {
    case TURN_BIND_EV_SEND: return "send";
    case TURN_BIND_EV_SUCCESS: return "success";
    case TURN_BIND_EV_ERROR: return "error";
    case TURN_BIND_EV_TIMEOUT: return "timeout";
    case TURN_BIND_EV_EXPIRED: return "expired";
    case TURN_BIND_EV_COUNT: break;
    }
    return "unknown";
}

const char *turn_conn_event_name(turn_conn_event ev) {
    switch (ev) {
    case TURN_CONN_EV_SEND: return "send";
    case TURN_CONN_EV_CONNECTED: return "connected";
    case TURN_CONN_EV_ACCEPT: return "accept";
    case TURN_CONN_EV_OPENED: return "opened";
    case TURN_CONN_EV_BOUND: return "bound";
    case TURN_CONN_EV_ERROR: return "error";
    case TURN_CONN_EV_TIMEOUT: return "timeout";
    case TURN_CONN_EV_CLOSED: return "closed";
    case TURN_CONN_EV_COUNT: break;
    }
    return "unknown";
}

const char *floe_turn_state_name(floe_turn_state s) {
    switch (s) {
    case FLOE_TURN_NEW: return "new";
    case FLOE_TURN_ALLOCATING: return "allocating";
    case FLOE_TURN_ALLOCATED: return "allocated";
    case FLOE_TURN_DEALLOCATING: return "deallocating";
    case FLOE_TURN_CLOSED: return "closed";
    case FLOE_TURN_FAILED: return "failed";
    }
    return "unknown";
}

const char *floe_turn_bind_state_name(floe_turn_bind_state s) {
    switch (s) {
    case FLOE_TURN_BIND_NEW: return "new";
    case FLOE_TURN_BIND_PENDING: return "pending";
    case FLOE_TURN_BIND_UP: return "up";
    case FLOE_TURN_BIND_REFRESHING: return "refreshing";
    case FLOE_TURN_BIND_FAILED: return "failed";
    }
    return "unknown";
}

const char *floe_turn_conn_state_name(floe_turn_conn_state s) {
    switch (s) {
    case FLOE_TURN_CONN_NEW: return "new";
    case FLOE_TURN_CONN_CONNECTING: return "connecting";
    case FLOE_TURN_CONN_OFFERED: return "offered";
    case FLOE_TURN_CONN_OPENING: return "opening";
    case FLOE_TURN_CONN_BINDING: return "binding";
    case FLOE_TURN_CONN_BOUND: return "bound";
    case FLOE_TURN_CONN_FAILED: return "failed";
    case FLOE_TURN_CONN_CLOSED: return "closed";
    }
    return "unknown";
}

const char *floe_turn_event_name(floe_turn_event_type t) {
    switch (t) {
    case FLOE_TURN_EV_NONE: return "none";
    case FLOE_TURN_EV_ALLOCATED: return "allocated";
    case FLOE_TURN_EV_REFRESHED: return "refreshed";
    case FLOE_TURN_EV_REDIRECTED: return "redirected";
    case FLOE_TURN_EV_PERMISSION_UP: return "permission-up";
    case FLOE_TURN_EV_PERMISSION_FAILED: return "permission-failed";
    case FLOE_TURN_EV_CHANNEL_BOUND: return "channel-bound";
    case FLOE_TURN_EV_CHANNEL_FAILED: return "channel-failed";
    case FLOE_TURN_EV_FAILED: return "failed";
    case FLOE_TURN_EV_DEALLOCATED: return "deallocated";
    case FLOE_TURN_EV_CONNECTED: return "connected";
    case FLOE_TURN_EV_CONNECTION_ATTEMPT: return "connection-attempt";
    case FLOE_TURN_EV_CONNECTION_BOUND: return "connection-bound";
    case FLOE_TURN_EV_CONNECTION_FAILED: return "connection-failed";
    }
    return "unknown";
}
