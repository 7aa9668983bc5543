/* floe simulator runtime: the call matrix, SIP calls across the NAT matrix.
 *
 * The NAT matrix (sim_matrix.h) runs two bare ICE agents in each cell. The call matrix
 * runs a whole call there instead: the same topology (the cell's scenario text, its
 * networks, NATs, loss, STUN server and, for a relay cell, its TURN server), a SIP proxy
 * and registrar on the Internet, and two floe_sip_ua phones (sim_call.h) on the cell's
 * hosts: alice (the caller, ICE controlling) and bob (the callee). Both register, alice
 * dials, bob answers his offer in a reliable 183 and alice PRACKs it, ICE runs, bob
 * rings (180) once his ICE completed, answers after `ring`, both send a tone (alice
 * 440 Hz, bob 1000 Hz) for `talk`, alice hangs up with a BYE.
 *
 * The verdict comes from the matrix's rule (floe_sim_matrix_rule) and a call-specific
 * wrapper, written down in docs/simulator.md ("The call matrix"):
 *   - the rule connects: the call is answered, alice's selected pair has the types the
 *     rule names (or a relayed candidate where it says "relay"), both sides hear the
 *     other's tone (Goertzel, floe/tone.h), and bob's 180 left after his ICE completed;
 *   - the rule fails: a clean failure. Bob never sends 180 and nobody answers 200, both
 *     sides end the call, alice with a final error response (480, 488, 487...) or her
 *     own ICE failure (she then cancels), and no RTP reaches either side.
 * Whatever the rule says, a call that rang must carry audio both ways and its 180 must
 * follow the callee's ICE completion: a 180 that breaks this is a "ghost ring".
 *
 * Cells: every cell of the NAT matrix whose sides can reach the proxy over UDP (the UA
 * signals over UDP only, so the cells with UDP blocked are left out, and with them the
 * TCP relay cells), each once without TURN and once with both phones given the cell's
 * TURN server over UDP (the rule's case 11). A cell keeps its NAT matrix number and
 * seed; its TURN twin uses the same seed. */
#ifndef FLOE_SIM_CALL_MATRIX_H
#define FLOE_SIM_CALL_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "floe/sip_ua.h"
#include "floe/time.h"
#include "sim_matrix.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_CALL_MATRIX_TALK FLOE_S(3)      /* default audio time after the answer */
#define FLOE_SIM_CALL_MATRIX_RING FLOE_MS(500)   /* default ringing before bob answers */
#define FLOE_SIM_CALL_MATRIX_LIMIT FLOE_S(90)    /* virtual time from the dial to the end */
#define FLOE_SIM_CALL_MATRIX_REGISTER FLOE_S(40) /* virtual time both have to register */

/* Fills out with the call matrix's cells (see above) and returns how many there are (at
 * most max are written). */
size_t floe_sim_call_matrix_cells(floe_sim_matrix_cell *out, size_t max);

typedef struct floe_sim_call_matrix_config {
    floe_time_ns talk;        /* 0: FLOE_SIM_CALL_MATRIX_TALK */
    floe_time_ns ring;        /* 0: FLOE_SIM_CALL_MATRIX_RING */
    FILE *ladder;             /* NULL, or where to print the call's ladder as it happens: every
                                 SIP message's first line and every UA event, in virtual time */
    floe_sim_trace_fn tracer; /* NULL, or a tracer for every datagram (sim_net.h) */
    void *tracer_ctx;
} floe_sim_call_matrix_config;

typedef struct floe_sim_call_matrix_result {
    bool ok;                       /* the call is what the rule (with its call wrapper) says */
    bool registered;               /* both phones registered (else nothing else happened) */
    bool answered;                 /* both reached the confirmed state */
    bool rang;                     /* bob sent a 180 */
    bool ghost_ring;               /* bob sent a 180 before his ICE completed, or on a call without
                                      audio both ways */
    bool audio;                    /* both heard the other's tone */
    bool clean_failure;            /* no 180, no 200, no RTP, both ended, alice with an error */
    bool ended;                    /* both phones saw the call end */
    floe_sim_matrix_expect expect; /* the rule's, with the run's facts (case 10) */
    char expected[48];             /* "srflx/prflx", "relay", "fail" */
    char got[128];                 /* "srflx/prflx answered", "fail 480", ... */
    char note[64];                 /* "bob gathered no srflx: case 10", or "" */
    char why[512];                 /* when !ok: the first thing that missed */
    floe_sip_ua_result alice, bob; /* the two timelines */
    int64_t ms_bob_ice;            /* bob's ICE completion, ms after the dial; -1: none */
    int64_t ms_bob_180;            /* bob's first 180, ms after the dial; -1: none */
    floe_time_ns duration;         /* from the dial until both saw the call end */
    double ratio_alice, ratio_bob; /* share of the received audio that is the other's
                                      tone; negative when it was not recognised */
} floe_sim_call_matrix_result;

/* Runs one call in cell c (its scenario with the matrix seed `seed`) and judges it.
 * cfg may be NULL (the defaults). FLOE_OK with the verdict in out, or an error when the
 * world cannot be built (the text is generated, so that is a bug; out->why says what). */
int floe_sim_call_matrix_run(const floe_sim_matrix_cell *c, uint64_t seed,
                             const floe_sim_call_matrix_config *cfg,
                             floe_sim_call_matrix_result *out);

#ifdef __cplusplus
}
#endif
#endif
