/* floe simulator runtime: the NAT matrix.
 *
 * Two ICE peers (alice, controlling offerer; bob, controlled answerer) with a STUN server
 * on the Internet, each side behind every RFC 4787 NAT type (mapping eim/adm/apdm x
 * filtering eif/adf/apdf) or none, plus a few topologies that need their own reasoning:
 * a home NAT behind a carrier-grade NAT on one or both sides, both peers behind one NAT
 * (same LAN), two homes behind one CGN with hairpinning on and off, UDP blocked on
 * one side, and the relay cells: a few of these again with a TURN server on the Internet
 * (relayed candidates, RFC 8656), reached over UDP or, for the TCP relay cells (UDP
 * blocked on one or both sides), over TCP. Each cell runs at 0 % and 10 % loss.
 *
 * Every cell's expected outcome comes from floe_sim_matrix_rule(), a written rule with
 * its RFC 4787 / RFC 8445 reasoning (sim_matrix.c), never from what a run printed: the
 * selected pair's candidate types seen from alice (local/remote), or a clean failure
 * (both agents report FAILED) where only a relay could help. The one fact of a run the
 * rule takes as input is whether each side gathered its server-reflexive candidate (at
 * 10 % loss all three STUN exchanges of a side can be lost: case 10 in sim_matrix.c).
 * Each cell also has a bound on the time to the selected pair (or to the failure) for
 * its loss level, and a connected cell must get alice's datagrams echoed on the selected
 * pair.
 *
 * A cell is run by writing its scenario (floe_sim_matrix_scenario, the same text
 * `floe sim run` reads; `floe sim matrix --show N` prints it), running it through
 * sim_ice_scenario.h and judging the session against the rule. Every cell has its own
 * seed, derived from the matrix's fixed seed (floe_sim_matrix_cell_seed). */
#ifndef FLOE_SIM_MATRIX_H
#define FLOE_SIM_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "floe/ice_cand.h"
#include "floe/stun_behavior.h"
#include "floe/time.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_MATRIX_SEED 4787 /* the matrix's fixed seed (--seed changes it) */
#define FLOE_SIM_MATRIX_DATA 10   /* datagrams alice sends once connected */
#define FLOE_SIM_MATRIX_SCENARIO_MAX 4096

typedef enum floe_sim_matrix_kind {
    FLOE_SIM_SIDE_PUBLIC = 0, /* no NAT: the host has a public address */
    FLOE_SIM_SIDE_NAT,        /* one NAT with the side's mapping and filtering */
    FLOE_SIM_SIDE_CGNAT,      /* a home NAT (eim/apdf) behind a carrier NAT (eim/eif) */
    FLOE_SIM_SIDE_BLOCKED,    /* a firewall that drops all UDP */
} floe_sim_matrix_kind;

typedef struct floe_sim_matrix_side {
    floe_sim_matrix_kind kind;
    floe_nat_behavior mapping, filtering; /* FLOE_SIM_SIDE_NAT */
} floe_sim_matrix_side;

typedef enum floe_sim_matrix_topo {
    FLOE_SIM_TOPO_APART = 0, /* each side on its own, across the Internet */
    FLOE_SIM_TOPO_SAME_LAN,  /* both peers on one LAN behind one NAT (side a's type) */
    FLOE_SIM_TOPO_SAME_CGN,  /* two homes (eim/apdf) behind one carrier NAT (eim/eif) */
} floe_sim_matrix_topo;

typedef struct floe_sim_matrix_expect {
    bool connect;                     /* false: a clean failure */
    bool relay;                       /* connect through the TURN relay: any pair with a
                                         relayed candidate (local and remote unused) */
    bool or_relay;                    /* local/remote, or (lossy relay cells) any pair
                                         with a relayed candidate */
    floe_ice_cand_type local, remote; /* connect: alice's selected pair */
    unsigned steps;                   /* connect: transactions that must succeed in a row */
    floe_time_ns bound;               /* to the selected pair, or to the failure */
    const char *why;                  /* the rule's reason, one sentence */
} floe_sim_matrix_expect;

typedef struct floe_sim_matrix_cell {
    unsigned index;              /* 1.. */
    char a_name[24], b_name[24]; /* "none", "eim-apdf", "cgnat", "udp-blocked", "same-lan", ... */
    floe_sim_matrix_topo topo;
    floe_sim_matrix_side a, b;
    bool hairpin;      /* SAME_LAN, SAME_CGN: the shared NAT hairpins */
    bool turn;         /* both peers also have a TURN server (relayed candidates) */
    bool turn_tcp;     /* ... reached over TCP (case 12) */
    unsigned loss_pct; /* 0 or 10 */
    /* Facts of a run the rule takes as input (case 10 in sim_matrix.c): a side behind a
     * NAT that gathered no server-reflexive candidate (all its STUN exchanges lost). */
    bool a_srflx_lost, b_srflx_lost;
    /* ... and (case 12, TURN over TCP) a side that gathered no relayed candidate. */
    bool a_relay_lost, b_relay_lost;
    floe_sim_matrix_expect expect;
} floe_sim_matrix_cell;

/* Fills out with every cell (both loss levels) and returns how many there are (at most
 * max are written). */
size_t floe_sim_matrix_cells(floe_sim_matrix_cell *out, size_t max);
/* The number of cells. */
size_t floe_sim_matrix_count(void);

/* The rule: what ICE can achieve between the two sides of c (see sim_matrix.c). */
void floe_sim_matrix_rule(const floe_sim_matrix_cell *c, floe_sim_matrix_expect *out);

/* The seed of a cell's world, derived from the matrix's seed and the cell's number, so
 * that every cell meets its own (fixed) pattern of losses and jitter. */
uint64_t floe_sim_matrix_cell_seed(const floe_sim_matrix_cell *c, uint64_t seed);

/* The cell's scenario text (with its seed line, floe_sim_matrix_cell_seed, and its expect
 * line), NUL-terminated; returns its length, or 0 when cap is too small
 * (FLOE_SIM_MATRIX_SCENARIO_MAX is enough). */
size_t floe_sim_matrix_scenario(const floe_sim_matrix_cell *c, uint64_t seed, char *buf,
                                size_t cap);

typedef struct floe_sim_matrix_result {
    bool ok;
    bool outcome_ok;               /* the outcome matched; ok also needs the bound and the echoes */
    floe_sim_matrix_expect expect; /* the rule's, with the run's facts (case 10) */
    char expected[24];             /* "srflx/prflx", "fail" */
    char note[64];                 /* "bob gathered no srflx (case 10)", or "" */
    char got[96];
    floe_time_ns time; /* to the selected pair or the failure; FLOE_TIME_NEVER */
    uint64_t checks;   /* connectivity checks sent by both agents */
    unsigned data_sent, echoes;
    char why[300]; /* when !ok */
} floe_sim_matrix_result;

/* Runs one cell with the seed and judges it: the outcome the rule expects (re-derived
 * when a side gathered no srflx candidate, case 10), the time bound, and the echoes
 * (all 10 without loss, at least one with it). FLOE_OK (the verdict is in out), or an
 * error when the scenario cannot be built (a bug: the text is generated). */
int floe_sim_matrix_run(const floe_sim_matrix_cell *c, uint64_t seed, floe_sim_matrix_result *out);

/* "eim-apdf" style name of a side. */
void floe_sim_matrix_side_name(const floe_sim_matrix_side *s, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
