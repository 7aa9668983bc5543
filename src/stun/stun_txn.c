/* STUN client transaction timers (RFC 8489 §6.2). */
#include "floe/stun_txn.h"
#include "floe/err.h"

floe_stun_txn_state floe_stun_txn_step(floe_stun_txn_state s, floe_stun_txn_event ev) {
    switch (s) {
    case FLOE_STUN_TXN_IDLE:
        return ev == FLOE_STUN_TXN_EV_START    ? FLOE_STUN_TXN_WAITING
               : ev == FLOE_STUN_TXN_EV_CANCEL ? FLOE_STUN_TXN_CANCELLED
                                               : s;
    case FLOE_STUN_TXN_WAITING:
        switch (ev) {
        case FLOE_STUN_TXN_EV_RESPONSE: return FLOE_STUN_TXN_DONE;
        case FLOE_STUN_TXN_EV_LAST_TIMER: return FLOE_STUN_TXN_TIMED_OUT;
        case FLOE_STUN_TXN_EV_CANCEL: return FLOE_STUN_TXN_CANCELLED;
        case FLOE_STUN_TXN_EV_TIMER:
        case FLOE_STUN_TXN_EV_START: return s;
        }
        return s;
    case FLOE_STUN_TXN_DONE:
    case FLOE_STUN_TXN_TIMED_OUT:
    case FLOE_STUN_TXN_CANCELLED: return s; /* final states */
    }
    return s;
}

floe_time_ns floe_stun_txn_timeout_total(floe_time_ns rto, bool reliable) {
    if (reliable) return FLOE_STUN_TI;
    if (rto == 0) rto = FLOE_STUN_RTO_DEFAULT;
    return (((floe_time_ns)1 << (FLOE_STUN_RC - 1)) - 1 + FLOE_STUN_RM) * rto;
}

int floe_stun_txn_start(floe_stun_txn *t, floe_time_ns now, floe_time_ns rto, bool reliable) {
    return floe_stun_txn_start_ex(t, now, rto, 0, 0, reliable);
}

int floe_stun_txn_start_ex(floe_stun_txn *t, floe_time_ns now, floe_time_ns rto, unsigned rc,
                           unsigned rm, bool reliable) {
    if (t->state != FLOE_STUN_TXN_IDLE) return FLOE_ERR_STATE;
    if (rc > FLOE_STUN_RC_MAX || rm > FLOE_STUN_RM_MAX) return FLOE_ERR_INVAL;
    t->rc = rc ? rc : FLOE_STUN_RC;
    t->rm = rm ? rm : FLOE_STUN_RM;
    t->state = floe_stun_txn_step(t->state, FLOE_STUN_TXN_EV_START);
    t->reliable = reliable;
    t->rto = rto ? rto : FLOE_STUN_RTO_DEFAULT;
    t->sends = 1;
    t->started = now;
    t->next = now + (reliable ? FLOE_STUN_TI : t->rc == 1 ? t->rm * t->rto : t->rto);
    return FLOE_OK;
}

floe_stun_txn_action floe_stun_txn_tick(floe_stun_txn *t, floe_time_ns now) {
    if (t->state != FLOE_STUN_TXN_WAITING || now < t->next) return FLOE_STUN_TXN_NONE;
    if (t->reliable || t->sends >= t->rc) {
        t->state = floe_stun_txn_step(t->state, FLOE_STUN_TXN_EV_LAST_TIMER);
        return FLOE_STUN_TXN_TIMEOUT;
    }
    t->state = floe_stun_txn_step(t->state, FLOE_STUN_TXN_EV_TIMER);
    t->sends++;
    /* The interval doubles after each send; after the Rc-th send the wait is Rm * RTO. */
    floe_time_ns wait = t->sends >= t->rc ? t->rm * t->rto : t->rto << (t->sends - 1);
    t->next += wait;
    return FLOE_STUN_TXN_SEND;
}

void floe_stun_txn_on_response(floe_stun_txn *t) {
    t->state = floe_stun_txn_step(t->state, FLOE_STUN_TXN_EV_RESPONSE);
}

void floe_stun_txn_cancel(floe_stun_txn *t) {
    t->state = floe_stun_txn_step(t->state, FLOE_STUN_TXN_EV_CANCEL);
}

floe_time_ns floe_stun_txn_deadline(const floe_stun_txn *t) {
    return t->state == FLOE_STUN_TXN_WAITING ? t->next : FLOE_TIME_NEVER;
}
