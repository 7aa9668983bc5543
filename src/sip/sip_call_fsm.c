/* The call's state machine (see floe/sip_call.h): one pure, total function. */
#include "floe/sip_call.h"

#include <stddef.h>

typedef floe_sip_call_state st;

/* Once answered, on both sides: a hang-up (ours, or a lost consent) and the peer's BYE. */
static st after_answer(st s, floe_sip_call_event ev) {
    if (ev == FLOE_SIP_CALL_EV_HANGUP || ev == FLOE_SIP_CALL_EV_ICE_FAILED)
        return FLOE_SIP_CALL_HANGING_UP;
    if (ev == FLOE_SIP_CALL_EV_BYE) return FLOE_SIP_CALL_ENDED;
    return s;
}

/* Before an answer on the caller's side: what ends the attempt. */
static st uac_pending(st s, floe_sip_call_event ev) {
    switch (ev) {
    case FLOE_SIP_CALL_EV_REJECTED:
    case FLOE_SIP_CALL_EV_TIMEOUT: return FLOE_SIP_CALL_FAILED;
    case FLOE_SIP_CALL_EV_HANGUP: return FLOE_SIP_CALL_CANCELLING;
    case FLOE_SIP_CALL_EV_OK: return FLOE_SIP_CALL_CONFIRMED; /* answered straight away */
    case FLOE_SIP_CALL_EV_RINGING: return FLOE_SIP_CALL_RINGING;
    default: return s;
    }
}

static st uac_step(st s, floe_sip_call_event ev) {
    switch (s) {
    case FLOE_SIP_CALL_IDLE: return ev == FLOE_SIP_CALL_EV_DIAL ? FLOE_SIP_CALL_GATHERING : s;
    case FLOE_SIP_CALL_GATHERING:
        if (ev == FLOE_SIP_CALL_EV_GATHERED) return FLOE_SIP_CALL_INVITING;
        if (ev == FLOE_SIP_CALL_EV_HANGUP) return FLOE_SIP_CALL_FAILED; /* nothing was sent */
        return s;
    case FLOE_SIP_CALL_INVITING:
        if (ev == FLOE_SIP_CALL_EV_EARLY_ANSWER) return FLOE_SIP_CALL_EARLY;
        if (ev == FLOE_SIP_CALL_EV_NO_ICE_ANSWER) return FLOE_SIP_CALL_READY;
        return uac_pending(s, ev);
    case FLOE_SIP_CALL_EARLY:
        if (ev == FLOE_SIP_CALL_EV_ICE_DONE) return FLOE_SIP_CALL_READY;
        if (ev == FLOE_SIP_CALL_EV_ICE_FAILED) return FLOE_SIP_CALL_CANCELLING;
        return uac_pending(s, ev);
    case FLOE_SIP_CALL_READY:
        if (ev == FLOE_SIP_CALL_EV_ICE_FAILED) return FLOE_SIP_CALL_CANCELLING; /* consent */
        return uac_pending(s, ev);
    case FLOE_SIP_CALL_RINGING:
        if (ev == FLOE_SIP_CALL_EV_ICE_FAILED) return FLOE_SIP_CALL_CANCELLING;
        if (ev == FLOE_SIP_CALL_EV_RINGING) return s;
        return uac_pending(s, ev);
    case FLOE_SIP_CALL_CONFIRMED:
        if (ev == FLOE_SIP_CALL_EV_UPDATE_NEEDED) return FLOE_SIP_CALL_UPDATING;
        return after_answer(s, ev);
    case FLOE_SIP_CALL_UPDATING:
        /* A failed re-INVITE leaves the session as it was (RFC 3261 §14.1). */
        if (ev == FLOE_SIP_CALL_EV_OK || ev == FLOE_SIP_CALL_EV_REJECTED)
            return FLOE_SIP_CALL_CONFIRMED;
        if (ev == FLOE_SIP_CALL_EV_TIMEOUT) return FLOE_SIP_CALL_HANGING_UP;
        return after_answer(s, ev);
    case FLOE_SIP_CALL_CANCELLING:
        if (ev == FLOE_SIP_CALL_EV_REJECTED || ev == FLOE_SIP_CALL_EV_CLOSED ||
            ev == FLOE_SIP_CALL_EV_TIMEOUT)
            return FLOE_SIP_CALL_FAILED;
        /* The 200 crossed the CANCEL: the call is up and must be ended with a BYE. */
        if (ev == FLOE_SIP_CALL_EV_OK) return FLOE_SIP_CALL_HANGING_UP;
        return s;
    default: return s;
    }
}

/* Before the ring on the callee's side: what ends the attempt with an error answer. */
static st uas_pending(st s, floe_sip_call_event ev) {
    switch (ev) {
    case FLOE_SIP_CALL_EV_ICE_FAILED: /* 480 or 488: never a ring without a path */
    case FLOE_SIP_CALL_EV_CANCEL:     /* 487 */
    case FLOE_SIP_CALL_EV_TIMEOUT:    /* no PRACK for the reliable 183 */
    case FLOE_SIP_CALL_EV_HANGUP:     /* rejected by the user, or given up */
        return FLOE_SIP_CALL_FAILED;
    default: return s;
    }
}

static st uas_step(st s, floe_sip_call_event ev) {
    switch (s) {
    case FLOE_SIP_CALL_IDLE:
        if (ev == FLOE_SIP_CALL_EV_INVITE) return FLOE_SIP_CALL_OFFERED;
        if (ev == FLOE_SIP_CALL_EV_INVITE_NO_ICE) return FLOE_SIP_CALL_OFFERED_PLAIN;
        if (ev == FLOE_SIP_CALL_EV_INVITE_LATE) return FLOE_SIP_CALL_OFFERED_LATE;
        return s;
    case FLOE_SIP_CALL_OFFERED_LATE:
        if (ev == FLOE_SIP_CALL_EV_GATHERED) return FLOE_SIP_CALL_PROBING;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_PROBING: /* a path proven by our check, or by a nomination */
        if (ev == FLOE_SIP_CALL_EV_PATH_FOUND || ev == FLOE_SIP_CALL_EV_ICE_DONE)
            return FLOE_SIP_CALL_RINGING;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_OFFERED:
        if (ev == FLOE_SIP_CALL_EV_GATHERED) return FLOE_SIP_CALL_EARLY;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_OFFERED_PLAIN:
        if (ev == FLOE_SIP_CALL_EV_GATHERED) return FLOE_SIP_CALL_RINGING;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_EARLY:
        if (ev == FLOE_SIP_CALL_EV_PRACK) return FLOE_SIP_CALL_CHECKING;
        if (ev == FLOE_SIP_CALL_EV_ICE_DONE) return FLOE_SIP_CALL_NOMINATED;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_CHECKING:
        if (ev == FLOE_SIP_CALL_EV_ICE_DONE) return FLOE_SIP_CALL_RINGING;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_NOMINATED:
        if (ev == FLOE_SIP_CALL_EV_PRACK) return FLOE_SIP_CALL_RINGING;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_RINGING:
        if (ev == FLOE_SIP_CALL_EV_ANSWER) return FLOE_SIP_CALL_ANSWERED;
        return uas_pending(s, ev);
    case FLOE_SIP_CALL_ANSWERED:
        if (ev == FLOE_SIP_CALL_EV_ACK) return FLOE_SIP_CALL_CONFIRMED;
        /* No ACK: the dialog must be ended with a BYE (RFC 3261 §13.3.1.4). */
        if (ev == FLOE_SIP_CALL_EV_TIMEOUT) return FLOE_SIP_CALL_HANGING_UP;
        return after_answer(s, ev);
    case FLOE_SIP_CALL_CONFIRMED: return after_answer(s, ev);
    default: return s;
    }
}

floe_sip_call_state floe_sip_call_step(floe_sip_call_role role, floe_sip_call_state s,
                                       floe_sip_call_event ev) {
    if ((unsigned)s >= FLOE_SIP_CALL_STATE_COUNT || (unsigned)ev >= FLOE_SIP_CALL_EV_COUNT)
        return s;
    if (s == FLOE_SIP_CALL_HANGING_UP) /* the same on both sides */
        return ev == FLOE_SIP_CALL_EV_CLOSED || ev == FLOE_SIP_CALL_EV_TIMEOUT ||
                       ev == FLOE_SIP_CALL_EV_BYE
                   ? FLOE_SIP_CALL_ENDED
                   : s;
    return role == FLOE_SIP_CALL_UAC ? uac_step(s, ev) : uas_step(s, ev);
}

bool floe_sip_call_over(floe_sip_call_state s) {
    return s == FLOE_SIP_CALL_ENDED || s == FLOE_SIP_CALL_FAILED;
}

const char *floe_sip_call_state_name(floe_sip_call_state s) {
    static const char *const names[FLOE_SIP_CALL_STATE_COUNT] = {
        "idle",    "gathering",     "inviting",     "early",      "ready",
        "offered", "offered-plain", "checking",     "nominated",  "answered",
        "ringing", "confirmed",     "updating",     "cancelling", "hanging-up",
        "ended",   "failed",        "offered-late", "probing"};
    return (unsigned)s < FLOE_SIP_CALL_STATE_COUNT ? names[s] : "?";
}

const char *floe_sip_call_event_name(floe_sip_call_event e) {
    static const char *const names[FLOE_SIP_CALL_EV_COUNT] = {
        "dial",   "invite",        "invite-no-ice", "gathered",  "early-answer", "no-ice-answer",
        "prack",  "ice-done",      "ice-failed",    "ringing",   "answer",       "ok",
        "ack",    "update-needed", "rejected",      "cancel",    "hangup",       "bye",
        "closed", "timeout",       "invite-late",   "path-found"};
    return (unsigned)e < FLOE_SIP_CALL_EV_COUNT ? names[e] : "?";
}
