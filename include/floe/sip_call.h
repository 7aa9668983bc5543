/* floe: the life of one SIP call with ICE, as a state machine (RFC 3261, RFC 3262,
 * RFC 8445, RFC 8839).
 *
 * The rule this machine exists for: the callee's phone rings only once ICE has found a
 * working path, so a call that rings always has audio. On the callee's side the 180
 * (and the ringing) comes only after the controlling side's nomination completed ICE, or
 * at once for a caller without ICE (where the default candidate is all there is); an ICE
 * failure before that ends the call with an error response, never with a ring. The caller
 * sees: INVITE with its offer, a reliable 183 with the callee's answer (acknowledged with
 * PRACK), its own checks and nomination, then 180, then 200 (and ACK); when the selected
 * pair is not the default candidate it offered, an updated offer (re-INVITE, RFC 8839
 * §4.2.2) tells middleboxes where the media goes.
 *
 *   caller (UAC)                                callee (UAS)
 *   GATHERING                                   .
 *   INVITING  -- INVITE (offer) -------------->  OFFERED (gathering)
 *   EARLY     <-- 183 reliable (answer) -------  EARLY
 *             --- PRACK ----------------------> CHECKING
 *             <== connectivity checks ========>
 *   READY     (nominated)                       (nominated: ICE completed)
 *   RINGING   <-- 180 ------------------------  RINGING (the phone rings)
 *   CONFIRMED <-- 200 ------------------------  ANSWERED (the user answered)
 *             --- ACK ------------------------> CONFIRMED
 *   UPDATING  --- re-INVITE (selected pair) --> (answered in CONFIRMED)
 *   HANGING_UP --- BYE -----------------------> ENDED
 *   ENDED
 *
 * Failures before an answer end in FAILED: the caller's CANCEL (CANCELLING first), an
 * error response, a timeout; on the callee's side an ICE failure or a CANCEL before the
 * ring (the UAS answers the INVITE with an error: 480 or 488 for ICE, 487 for CANCEL).
 * After an answer, the end is ENDED whoever hangs up, and a lost consent hangs up.
 *
 * Late answer. A caller that offers ICE without supporting 100rel (no "100rel" in
 * Supported or Require) cannot take an answer before the 200, so it cannot check or
 * nominate for sure before the callee rings. Rather than refuse the call (421) or drop
 * ICE, the callee proves the path itself: it gathers (OFFERED_LATE), then runs its own
 * checks to the offered candidates as the controlled agent (PROBING), and sends its
 * answer in unreliable 183s too (a caller that takes them checks, and may nominate, from
 * its side; behind a NAT that filters, its checks are what lets ours in). A check is
 * authenticated with the caller's password, which the offer carries, so the caller can
 * answer it without our answer. The first check of ours that succeeds shows the path
 * works both ways (PATH_FOUND), as does a nomination (ICE_DONE); only then the phone
 * rings (RINGING). The 200 carries the same answer, and a caller that ignored the 183s
 * nominates after it. Neither happening ends the call with 480, never a ring.
 *
 *   caller (no 100rel)                          callee
 *             --- INVITE (offer) -------------> OFFERED_LATE (gathering)
 *             <-- 183 unreliable (answer) ----  PROBING (sent again at 1, 2, 4 s ...)
 *             <== checks both ways ==========>
 *             <-- 180 ------------------------  RINGING (a check succeeded, or nominated)
 *             <-- 200 (answer) ---------------  ANSWERED
 *             --- ACK, nomination if not yet => CONFIRMED, media once nominated
 *
 * The transition function is pure and total: floe_sip_call_step(role, state, event) is
 * the only way the call's state changes, and an event a state does not expect leaves it
 * unchanged (the caller counts it). tests/unit/test_sip_call_fsm.c walks every triple. */
#ifndef FLOE_SIP_CALL_H
#define FLOE_SIP_CALL_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum floe_sip_call_role {
    FLOE_SIP_CALL_UAC = 0, /* the caller: sends the INVITE, controlling agent */
    FLOE_SIP_CALL_UAS,     /* the callee: answers it, controlled agent */
} floe_sip_call_role;

typedef enum floe_sip_call_state {
    FLOE_SIP_CALL_IDLE = 0,
    /* caller */
    FLOE_SIP_CALL_GATHERING, /* candidates before the offer */
    FLOE_SIP_CALL_INVITING,  /* INVITE sent, no answer yet */
    FLOE_SIP_CALL_EARLY,     /* UAC: the answer came in a reliable 18x, checks run;
                                UAS: the 183 with the answer is out, PRACK awaited */
    FLOE_SIP_CALL_READY,     /* UAC: ICE completed (or the peer does not do ICE): the path
                                works, waiting for the callee to ring */
    /* callee */
    FLOE_SIP_CALL_OFFERED,       /* INVITE received (100 sent), gathering for the answer */
    FLOE_SIP_CALL_OFFERED_PLAIN, /* the same for an offer without ICE: it rings once the
                                    answer's default candidate is known */
    FLOE_SIP_CALL_CHECKING,      /* 183 acknowledged (PRACK), checks run */
    FLOE_SIP_CALL_NOMINATED,     /* ICE completed before the PRACK came: 180 waits for it */
    FLOE_SIP_CALL_ANSWERED,      /* 200 sent, ACK awaited */
    /* both */
    FLOE_SIP_CALL_RINGING,    /* UAC: 180 received; UAS: 180 sent, the user is alerted */
    FLOE_SIP_CALL_CONFIRMED,  /* 200 and ACK: media flows */
    FLOE_SIP_CALL_UPDATING,   /* UAC: the re-INVITE with the selected pair is out */
    FLOE_SIP_CALL_CANCELLING, /* UAC: CANCEL sent before an answer, its end awaited */
    FLOE_SIP_CALL_HANGING_UP, /* BYE sent (the UAS sends it once its 200 was ACKed),
                                 its answer awaited */
    FLOE_SIP_CALL_ENDED,      /* over after an answer (hung up by either side) */
    FLOE_SIP_CALL_FAILED,     /* over before an answer: error response, ICE failure,
                                 timeout, cancelled, rejected */
    /* callee, an ICE offer from a caller without 100rel (see "Late answer" above) */
    FLOE_SIP_CALL_OFFERED_LATE, /* INVITE received, gathering; the answer can only go in
                                   the 200 */
    FLOE_SIP_CALL_PROBING,      /* our own checks run towards the caller's candidates */
    FLOE_SIP_CALL_STATE_COUNT
} floe_sip_call_state;

typedef enum floe_sip_call_event {
    FLOE_SIP_CALL_EV_DIAL = 0,      /* UAC: the user places the call */
    FLOE_SIP_CALL_EV_INVITE,        /* UAS: an INVITE with an ICE offer arrived */
    FLOE_SIP_CALL_EV_INVITE_NO_ICE, /* UAS: an INVITE whose offer has no ICE (or none) */
    FLOE_SIP_CALL_EV_GATHERED,      /* our candidates are all known */
    FLOE_SIP_CALL_EV_EARLY_ANSWER,  /* UAC: a reliable 18x carrying an ICE answer */
    FLOE_SIP_CALL_EV_NO_ICE_ANSWER, /* UAC: an answer without ICE (default candidates only) */
    FLOE_SIP_CALL_EV_PRACK,         /* UAS: the PRACK of our reliable 183 */
    FLOE_SIP_CALL_EV_ICE_DONE,      /* ICE completed: every component has its pair */
    FLOE_SIP_CALL_EV_ICE_FAILED,    /* ICE failed, or consent was lost */
    FLOE_SIP_CALL_EV_RINGING,       /* UAC: a 180 (or other ringing 18x) */
    FLOE_SIP_CALL_EV_ANSWER,        /* UAS: the user answers */
    FLOE_SIP_CALL_EV_OK,            /* UAC: the 200 to the INVITE (re-INVITE in UPDATING) */
    FLOE_SIP_CALL_EV_ACK,           /* UAS: the ACK of our 200 */
    FLOE_SIP_CALL_EV_UPDATE_NEEDED, /* UAC: the selected pair is not the default offered */
    FLOE_SIP_CALL_EV_REJECTED,      /* UAC: a 300-699 to the INVITE */
    FLOE_SIP_CALL_EV_CANCEL,        /* UAS: the caller cancelled */
    FLOE_SIP_CALL_EV_HANGUP,        /* the local user hangs up (or the call gives up) */
    FLOE_SIP_CALL_EV_BYE,           /* the peer's BYE */
    FLOE_SIP_CALL_EV_CLOSED,        /* our BYE or CANCEL transaction ended (answered or not) */
    FLOE_SIP_CALL_EV_TIMEOUT,       /* a transaction of the call timed out */
    FLOE_SIP_CALL_EV_INVITE_LATE,   /* UAS: an ICE offer from a caller without 100rel */
    FLOE_SIP_CALL_EV_PATH_FOUND,    /* UAS: one of our own checks succeeded (a valid pair) */
    FLOE_SIP_CALL_EV_COUNT
} floe_sip_call_event;

/* The next state (the same one when the event is not expected there). */
floe_sip_call_state floe_sip_call_step(floe_sip_call_role role, floe_sip_call_state s,
                                       floe_sip_call_event ev);
/* True for ENDED and FAILED. */
bool floe_sip_call_over(floe_sip_call_state s);

const char *floe_sip_call_state_name(floe_sip_call_state s); /* "ringing", ... */
const char *floe_sip_call_event_name(floe_sip_call_event e); /* "ice-done", ... */

#ifdef __cplusplus
}
#endif
#endif
