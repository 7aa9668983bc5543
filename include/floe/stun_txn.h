/* floe: STUN client transactions (RFC 8489 §6.2), sans-IO, in virtual time.
 *
 * A transaction does not send anything itself: the owner asks it when to (re)send and
 * when it has given up. Over UDP the request goes out at 0, RTO, 3 RTO, 7 RTO, ... (Rc
 * sends in all, the interval doubling), and the transaction fails Rm * RTO after the last
 * send. Over a reliable transport it is sent once and fails after Ti.
 *
 *   floe_stun_txn t;
 *   floe_stun_txn_start(&t, now, FLOE_STUN_RTO_DEFAULT, false);   // -> send now
 *   ... loop:  switch (floe_stun_txn_tick(&t, now)) { case FLOE_STUN_TXN_SEND: resend; ...}
 *   ... on a matching response: floe_stun_txn_on_response(&t);
 *   ... the next wake-up: floe_stun_txn_deadline(&t)
 */
#ifndef FLOE_STUN_TXN_H
#define FLOE_STUN_TXN_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_STUN_RTO_DEFAULT FLOE_MS(500) /* RFC 8489 §6.2.1: initial RTO 500 ms */
#define FLOE_STUN_RC 7                     /* RFC 8489 §6.2.1: Rc, requests sent in all */
#define FLOE_STUN_RM 16                    /* RFC 8489 §6.2.1: Rm, last wait = Rm * RTO */
#define FLOE_STUN_RC_MAX 16                /* floe's cap on a configured Rc */
#define FLOE_STUN_RM_MAX 1000              /* floe's cap on a configured Rm */
#define FLOE_STUN_TI FLOE_MS(39500)        /* RFC 8489 §6.2.2: Ti over TCP/TLS, 39.5 s */

typedef enum floe_stun_txn_state {
    FLOE_STUN_TXN_IDLE = 0,  /* not started */
    FLOE_STUN_TXN_WAITING,   /* request sent, waiting for a response */
    FLOE_STUN_TXN_DONE,      /* a response arrived */
    FLOE_STUN_TXN_TIMED_OUT, /* no response in time */
    FLOE_STUN_TXN_CANCELLED, /* the owner gave up */
} floe_stun_txn_state;

typedef enum floe_stun_txn_event {
    FLOE_STUN_TXN_EV_START,
    FLOE_STUN_TXN_EV_TIMER,      /* a retransmission timer expired with sends left */
    FLOE_STUN_TXN_EV_LAST_TIMER, /* the final wait expired */
    FLOE_STUN_TXN_EV_RESPONSE,
    FLOE_STUN_TXN_EV_CANCEL,
} floe_stun_txn_event;

/* What the owner must do after floe_stun_txn_tick(). */
typedef enum floe_stun_txn_action {
    FLOE_STUN_TXN_NONE = 0, /* nothing yet */
    FLOE_STUN_TXN_SEND,     /* (re)send the request now */
    FLOE_STUN_TXN_TIMEOUT,  /* the transaction just failed */
} floe_stun_txn_action;

typedef struct floe_stun_txn {
    floe_stun_txn_state state;
    bool reliable;
    unsigned sends;    /* requests sent so far */
    unsigned rc;       /* requests to send in all (Rc) */
    unsigned rm;       /* the last wait, in RTOs (Rm) */
    floe_time_ns rto;  /* initial RTO */
    floe_time_ns next; /* next retransmission or the give-up time */
    floe_time_ns started;
} floe_stun_txn;

/* The state machine: the next state for an event (tests enumerate it). */
floe_stun_txn_state floe_stun_txn_step(floe_stun_txn_state s, floe_stun_txn_event ev);

/* Starts the transaction at now; the caller sends the request at once. rto 0 means
 * FLOE_STUN_RTO_DEFAULT. Returns FLOE_OK or FLOE_ERR_STATE. */
int floe_stun_txn_start(floe_stun_txn *t, floe_time_ns now, floe_time_ns rto, bool reliable);
/* The same with a schedule of one's own: rc requests (1..FLOE_STUN_RC_MAX) and a last wait
 * of rm RTOs (1..FLOE_STUN_RM_MAX); 0 means the RFC value. Used where RFC 8489 §6.2.1's
 * "Rc SHOULD be configurable" applies, e.g. short behaviour-discovery probes. */
int floe_stun_txn_start_ex(floe_stun_txn *t, floe_time_ns now, floe_time_ns rto, unsigned rc,
                           unsigned rm, bool reliable);
/* Advances time; returns what to do. */
floe_stun_txn_action floe_stun_txn_tick(floe_stun_txn *t, floe_time_ns now);
/* A response matching the transaction arrived. */
void floe_stun_txn_on_response(floe_stun_txn *t);
void floe_stun_txn_cancel(floe_stun_txn *t);
/* When tick must next be called, or FLOE_TIME_NEVER when the transaction is over. */
floe_time_ns floe_stun_txn_deadline(const floe_stun_txn *t);
/* Total time from start to failure for an RTO over UDP: (2^(Rc-1) - 1 + Rm) * RTO. */
floe_time_ns floe_stun_txn_timeout_total(floe_time_ns rto, bool reliable);

#ifdef __cplusplus
}
#endif
#endif
