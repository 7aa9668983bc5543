/* The four SIP transaction state machines (RFC 3261 §17.1.1, §17.1.2, §17.2.1, §17.2.2,
 * with the Accepted states of RFC 6026 §7.1 and §8.4) as one transition function, and
 * the names of kinds, states and events. What a transition does (send, start a timer,
 * tell the TU) lives with the client and server halves. */
#include "floe/sip_txn.h"

#define S(x) FLOE_SIP_TXN_##x
#define E(x) FLOE_SIP_TXN_EV_##x

floe_sip_txn_state floe_sip_txn_initial(floe_sip_txn_kind k) {
    switch (k) {
    case FLOE_SIP_TXN_ICT: return S(CALLING);
    case FLOE_SIP_TXN_NICT:
    case FLOE_SIP_TXN_NIST: return S(TRYING);
    case FLOE_SIP_TXN_IST: return S(PROCEEDING);
    case FLOE_SIP_TXN_KIND_COUNT: break;
    }
    return S(TERMINATED);
}

/* INVITE client: RFC 3261 Figure 5 with RFC 6026 Figure 5's Accepted. */
static floe_sip_txn_state ict(floe_sip_txn_state s, floe_sip_txn_event ev) {
    switch (s) {
    case S(CALLING):
    case S(PROCEEDING):
        switch (ev) {
        case E(1XX): return S(PROCEEDING);
        case E(2XX): return S(ACCEPTED);
        case E(FINAL): return S(COMPLETED);
        case E(TIMEOUT_TIMER): /* B in Calling, floe's C guard in Proceeding */
        case E(TRANSPORT_ERROR): return S(TERMINATED);
        default: return s;
        }
    case S(ACCEPTED): return ev == E(WAIT_TIMER) ? S(TERMINATED) : s; /* M */
    case S(COMPLETED):                                                /* D; the ACK failing */
        return ev == E(WAIT_TIMER) || ev == E(TRANSPORT_ERROR) ? S(TERMINATED) : s;
    default: return s;
    }
}

/* non-INVITE client: RFC 3261 Figure 6. */
static floe_sip_txn_state nict(floe_sip_txn_state s, floe_sip_txn_event ev) {
    switch (s) {
    case S(TRYING):
    case S(PROCEEDING):
        switch (ev) {
        case E(1XX): return S(PROCEEDING);
        case E(2XX):
        case E(FINAL): return S(COMPLETED);
        case E(TIMEOUT_TIMER): /* F */
        case E(TRANSPORT_ERROR): return S(TERMINATED);
        default: return s;
        }
    case S(COMPLETED): return ev == E(WAIT_TIMER) ? S(TERMINATED) : s; /* K */
    default: return s;
    }
}

/* INVITE server: RFC 3261 Figure 7 with RFC 6026 Figure 7's Accepted. */
static floe_sip_txn_state ist(floe_sip_txn_state s, floe_sip_txn_event ev) {
    switch (s) {
    case S(PROCEEDING):
        switch (ev) {
        case E(2XX): return S(ACCEPTED);
        case E(FINAL): return S(COMPLETED);
        case E(TIMEOUT_TIMER): /* floe's C guard: the TU never answered */
        case E(TRANSPORT_ERROR): return S(TERMINATED);
        default: return s; /* 1xx, the INVITE again, the 100 Trying timer, a stray ACK */
        }
    case S(ACCEPTED): /* L; a 2xx that cannot be sent */
        return ev == E(WAIT_TIMER) || ev == E(TRANSPORT_ERROR) ? S(TERMINATED) : s;
    case S(COMPLETED):
        switch (ev) {
        case E(ACK): return S(CONFIRMED);
        case E(TIMEOUT_TIMER): /* H */
        case E(TRANSPORT_ERROR): return S(TERMINATED);
        default: return s; /* G, the INVITE again */
        }
    case S(CONFIRMED): return ev == E(WAIT_TIMER) ? S(TERMINATED) : s; /* I */
    default: return s;
    }
}

/* non-INVITE server: RFC 3261 Figure 8. */
static floe_sip_txn_state nist(floe_sip_txn_state s, floe_sip_txn_event ev) {
    switch (s) {
    case S(TRYING):
    case S(PROCEEDING):
        switch (ev) {
        case E(1XX): return S(PROCEEDING);
        case E(2XX):
        case E(FINAL): return S(COMPLETED);
        case E(TIMEOUT_TIMER): /* floe's guard: the TU never answered */
        case E(TRANSPORT_ERROR): return S(TERMINATED);
        default: return s;
        }
    case S(COMPLETED): /* J; the answer cannot be sent again */
        return ev == E(WAIT_TIMER) || ev == E(TRANSPORT_ERROR) ? S(TERMINATED) : s;
    default: return s;
    }
}

floe_sip_txn_state floe_sip_txn_step(floe_sip_txn_kind k, floe_sip_txn_state s,
                                     floe_sip_txn_event ev) {
    switch (k) {
    case FLOE_SIP_TXN_ICT: return ict(s, ev);
    case FLOE_SIP_TXN_NICT: return nict(s, ev);
    case FLOE_SIP_TXN_IST: return ist(s, ev);
    case FLOE_SIP_TXN_NIST: return nist(s, ev);
    case FLOE_SIP_TXN_KIND_COUNT: break;
    }
    return s;
}

const char *floe_sip_txn_kind_name(floe_sip_txn_kind k) {
    switch (k) {
    case FLOE_SIP_TXN_ICT: return "ict";
    case FLOE_SIP_TXN_NICT: return "nict";
    case FLOE_SIP_TXN_IST: return "ist";
    case FLOE_SIP_TXN_NIST: return "nist";
    case FLOE_SIP_TXN_KIND_COUNT: break;
    }
    return "unknown";
}

const char *floe_sip_txn_state_name(floe_sip_txn_state s) {
    switch (s) {
    case S(CALLING): return "calling";
    case S(TRYING): return "trying";
    case S(PROCEEDING): return "proceeding";
    case S(ACCEPTED): return "accepted";
    case S(COMPLETED): return "completed";
    case S(CONFIRMED): return "confirmed";
    case S(TERMINATED): return "terminated";
    case S(STATE_COUNT): break;
    }
    return "unknown";
}

const char *floe_sip_txn_event_name(floe_sip_txn_event e) {
    switch (e) {
    case E(1XX): return "1xx";
    case E(2XX): return "2xx";
    case E(FINAL): return "final";
    case E(REQUEST): return "request";
    case E(ACK): return "ack";
    case E(RETX_TIMER): return "retx-timer";
    case E(TIMEOUT_TIMER): return "timeout-timer";
    case E(WAIT_TIMER): return "wait-timer";
    case E(TRANSPORT_ERROR): return "transport-error";
    case E(COUNT): break;
    }
    return "unknown";
}

const char *floe_sip_txl_event_name(floe_sip_txl_event_type t) {
    switch (t) {
    case FLOE_SIP_TXL_EV_NONE: return "none";
    case FLOE_SIP_TXL_EV_REQUEST: return "request";
    case FLOE_SIP_TXL_EV_RESPONSE: return "response";
    case FLOE_SIP_TXL_EV_TIMEOUT: return "timeout";
    case FLOE_SIP_TXL_EV_TRANSPORT_ERROR: return "transport-error";
    }
    return "unknown";
}
