/* floe simulator runtime: scenario files with ICE peers, and their results.
 *
 * The scenario format of sim/sim_scenario.h describes networks, hosts and NATs; this
 * module adds its directives through its hook, builds the STUN servers, ICE peers
 * (sim_ice.h) and STUN clients (sim_stun.h) they describe, runs the world and checks the
 * expectations:
 *
 *   stun-server NAME host=HOST [ip=ADDRESS] [port=N] [alternate=ADDRESS[:PORT]]
 *   ice NAME host=HOST [role=controlling|controlled] [stun=SERVER[,SERVER...]] [lite]
 *       [components=1|2] [ta=TIME] [start=TIME] [data=N]
 *   signal OFFERER ANSWERER [delay=TIME]
 *   expect A B outcome=LOCAL/REMOTE|connected|fail [within=TIME] [echoes=N]
 *   stun HOST SERVER          a Binding request: the mapped address
 *   discover HOST SERVER      RFC 5780 behaviour discovery: mapping and filtering
 *
 * docs/simulator.md is the reference for the grammar. A session is two peers joined by
 * `signal`; its outcome is seen from the first peer named in `expect`.
 *
 *   floe_sim_ice_scenario *s;
 *   floe_sim_ice_scenario_new(&s);
 *   if (floe_sim_ice_scenario_load(s, "topo.sim", err, sizeof err) != FLOE_OK) ... err
 *   floe_sim_ice_scenario_prepare(s, err, sizeof err);   // after any reseed
 *   floe_sim_ice_scenario_run(s, FLOE_TIME_NEVER);       // until every peer is done
 *   floe_sim_ice_scenario_print(s, stdout, 0);
 *   n_bad = floe_sim_ice_scenario_failed_expectations(s);
 *   floe_sim_ice_scenario_free(s); */
#ifndef FLOE_SIM_ICE_SCENARIO_H
#define FLOE_SIM_ICE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "floe/time.h"
#include "sim_ice.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_ICE_MAX_SERVERS 8
#define FLOE_SIM_ICE_MAX_PEERS 32
#define FLOE_SIM_ICE_MAX_EXPECT 32
#define FLOE_SIM_ICE_MAX_CLIENTS 16       /* stun and discover lines */
#define FLOE_SIM_ICE_RUN_LIMIT FLOE_S(60) /* a run without --until ends here at the latest */
/* Events a scenario's world may run in all (floe_sim_config.max_steps): a guard against an
 * object that keeps waking up; a matrix cell runs a few thousand. */
#define FLOE_SIM_ICE_MAX_STEPS 20000000u
#define FLOE_SIM_ICE_SIGNAL_DELAY FLOE_MS(100)
#define FLOE_SIM_ICE_STUN_PORT 3478

typedef struct floe_sim_ice_scenario floe_sim_ice_scenario;

/* A new world (default config, seed 0, FLOE_SIM_ICE_MAX_STEPS) with no directive loaded.
 * FLOE_ERR_NOMEM. */
int floe_sim_ice_scenario_new(floe_sim_ice_scenario **out);
/* Frees the peers, servers and the world. NULL ok. */
void floe_sim_ice_scenario_free(floe_sim_ice_scenario *s);
floe_sim *floe_sim_ice_scenario_world(const floe_sim_ice_scenario *s);

/* Loads a scenario (file, or text named `name` in messages). FLOE_ERR_CONFIG (or
 * FLOE_ERR_IO) with "file:line: reason" in err. */
int floe_sim_ice_scenario_load(floe_sim_ice_scenario *s, const char *path, char *err, size_t cap);
int floe_sim_ice_scenario_parse(floe_sim_ice_scenario *s, const char *text, const char *name,
                                char *err, size_t cap);

/* Called for every timeline entry of every peer as it happens (set before prepare). */
void floe_sim_ice_scenario_set_log(floe_sim_ice_scenario *s, floe_sim_ice_log_fn fn, void *ctx);

/* Creates the STUN servers and the ICE peers and arms them (call after any reseed).
 * FLOE_ERR_CONFIG with a reason naming the object, FLOE_ERR_STATE when called twice. */
int floe_sim_ice_scenario_prepare(floe_sim_ice_scenario *s, char *err, size_t cap);

/* Runs the world: up to `until` exactly, or with FLOE_TIME_NEVER until every signalled
 * peer is done (floe_sim_ice_done), every other one has gathered and every stun and
 * discover line has its answer, at most
 * FLOE_SIM_ICE_RUN_LIMIT after the load. Returns FLOE_OK, or the world's error
 * (FLOE_ERR_LIMIT: max_steps). */
int floe_sim_ice_scenario_run(floe_sim_ice_scenario *s, floe_time_ns until);

/* ---- results ---------------------------------------------------------------------- */

size_t floe_sim_ice_scenario_peer_count(const floe_sim_ice_scenario *s);
floe_sim_ice *floe_sim_ice_scenario_peer_at(const floe_sim_ice_scenario *s, size_t i);
floe_sim_ice *floe_sim_ice_scenario_peer(const floe_sim_ice_scenario *s, const char *name);

/* How a session (two signalled peers, seen from `a`) ended. */
typedef enum floe_sim_ice_outcome {
    FLOE_SIM_ICE_UNFINISHED = 0, /* neither completed nor failed (the run ended first) */
    FLOE_SIM_ICE_CONNECTED,      /* both completed */
    FLOE_SIM_ICE_FAILED_BOTH,    /* both reported failure */
    FLOE_SIM_ICE_HALF,           /* one completed or failed, the other did neither, or one
                                    completed and the other failed */
} floe_sim_ice_outcome;

typedef struct floe_sim_ice_session {
    const floe_sim_ice *a, *b;
    floe_sim_ice_outcome outcome;
    char pair[40];     /* "srflx/srflx" (a's local/remote type, every component), "fail", ... */
    floe_time_ns t0;   /* the session's start (the earlier gathering start) */
    floe_time_ns time; /* CONNECTED: the later completion; FAILED_BOTH: the later failure;
                          counted from t0. FLOE_TIME_NEVER otherwise */
    bool consistent;   /* CONNECTED: b's selected pairs mirror a's (addresses and types) */
    uint64_t checks_a, checks_b; /* connectivity checks sent (retransmissions included) */
    unsigned data_sent, echoes;  /* both peers together */
} floe_sim_ice_session;

/* The session of a and its signalling peer. FLOE_ERR_NOT_FOUND when a has none. */
int floe_sim_ice_scenario_session(const floe_sim_ice_scenario *s, const floe_sim_ice *a,
                                  floe_sim_ice_session *out);

typedef struct floe_sim_ice_verdict {
    bool ok;
    char expected[64]; /* the directive's words after "expect" */
    char got[96];      /* "srflx/srflx in 0.412 s", "fail in 12.3 s", "unfinished" */
    char why[300];     /* when !ok: the first thing that missed */
    floe_sim_ice_session session;
} floe_sim_ice_verdict;

size_t floe_sim_ice_scenario_expect_count(const floe_sim_ice_scenario *s);
/* Evaluates expectation i against the run so far. FLOE_ERR_NOT_FOUND past the end. */
int floe_sim_ice_scenario_expect(const floe_sim_ice_scenario *s, size_t i,
                                 floe_sim_ice_verdict *out);
/* Expectations that do not hold. */
size_t floe_sim_ice_scenario_failed_expectations(const floe_sim_ice_scenario *s);

/* ---- output ----------------------------------------------------------------------- */

enum floe_sim_ice_print_flags {
    FLOE_SIM_ICE_PRINT_STATS = 1u << 0, /* the world's counters and each agent's */
};

/* One paragraph per session (outcome, selected pair per component, time to selected
 * pair, checks sent, data), one line per stun or discover line, one per expectation. */
void floe_sim_ice_scenario_print(const floe_sim_ice_scenario *s, FILE *f, unsigned flags);
/* The same as one JSON object on one line. */
void floe_sim_ice_scenario_print_json(const floe_sim_ice_scenario *s, FILE *f, unsigned flags);
/* The topology: networks, hosts, NATs, STUN servers, peers, signals, expectations. */
void floe_sim_ice_scenario_print_topology(const floe_sim_ice_scenario *s, FILE *f);

/* "1.5s", "20ms", "250us", "7ns", "0": a duration the scenario parser reads back. */
void floe_sim_format_duration(floe_time_ns d, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
