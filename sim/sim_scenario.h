/* floe simulator: scenario files, a small line-based text format that builds a world.
 *
 * One directive per line; `#` starts a comment; words are separated by blanks; options
 * are key=value words. The full reference, with examples, is docs/simulator.md:
 *
 *   seed 42
 *   network internet delay=20ms jitter=2ms loss=0.1% mtu=1500
 *   network lanA delay=1ms
 *   nat natA type=apdm/apdf inside=lanA ip=10.0.0.1 outside=internet ip=203.0.113.1
 *   host alice iface=eth0 net=lanA ip=10.0.0.2 gw=10.0.0.1
 *   host server net=internet ip=192.0.2.1 ip=192.0.2.2
 *   at 10s network internet partition=on
 *   at 12s network internet partition=off
 *   at 5s iface alice.eth0 down
 *
 * Errors name the file and line: "topo.sim:4: unknown network 'lanB'". The world may be
 * partly built when an error is returned: discard it.
 *
 * Directives the simulator does not know (say `stun-server` or `call`, for the program
 * that runs the scenario) go to the caller's hook when there is one. */
#ifndef FLOE_SIM_SCENARIO_H
#define FLOE_SIM_SCENARIO_H

#include <stddef.h>
#include <stdio.h>

#include "floe/time.h"
#include "sim_net.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_SIM_SCENARIO_LINE_MAX 1024 /* bytes per line, newline included */
#define FLOE_SIM_SCENARIO_WORDS_MAX 64  /* words per line */

/* A directive the simulator does not know: argv[0] is its name. Return FLOE_OK when
 * handled, FLOE_ERR_NOT_FOUND when not yours ("unknown directive"), or another error
 * with a reason in err (the loader adds "file:line: "). */
typedef int (*floe_sim_scenario_fn)(void *ctx, floe_sim *sim, int argc, char **argv, char *err,
                                    size_t cap);

typedef struct floe_sim_scenario_opts {
    floe_sim_scenario_fn directive; /* may be NULL */
    void *ctx;
} floe_sim_scenario_opts;

/* Parses NUL-terminated text; name is used in messages. opts may be NULL. Returns FLOE_OK
 * or FLOE_ERR_CONFIG with "name:line: reason" in err. */
int floe_sim_scenario_parse(floe_sim *sim, const char *text, const char *name,
                            const floe_sim_scenario_opts *opts, char *err, size_t cap);
/* Reads a scenario from an open stream. FLOE_ERR_CONFIG, or FLOE_ERR_IO on a read error. */
int floe_sim_scenario_read(floe_sim *sim, FILE *f, const char *name,
                           const floe_sim_scenario_opts *opts, char *err, size_t cap);
/* Opens path and reads it. FLOE_ERR_IO when it cannot be opened ("path: reason"). */
int floe_sim_scenario_load(floe_sim *sim, const char *path, const floe_sim_scenario_opts *opts,
                           char *err, size_t cap);

/* "20ms", "1.5s", "250us", "100ns", "2min", "0". FLOE_OK or FLOE_ERR_INVAL. */
int floe_sim_parse_duration(const char *s, floe_time_ns *out);

#ifdef __cplusplus
}
#endif
#endif
