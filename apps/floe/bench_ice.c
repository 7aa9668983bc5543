/* `floe bench ice-memory`: what one idle ICE agent costs in memory, for bench/ice-connect.sh.
 *
 * Two figures for one configuration (by default 10 local and 10 remote candidates, one
 * stream with one component, caps equal to those counts and max_pairs = local x remote):
 *
 *   - agent_memory_bytes: floe_ice_agent_memory(cfg), the size of the one allocation
 *     floe_ice_agent_new makes (the agent never allocates again);
 *   - heap_bytes_per_agent: measured. N agents are built as a call would build them:
 *     created, given `local` host bases (127.0.0.1, .2, ... no socket is opened: the core
 *     is sans-IO), gathered, given remote credentials and `remote` host candidates
 *     (127.0.1.1, .2, ...), and started, so the checklist is formed. Nothing is sent: the
 *     queued checks are never drained. The growth of the heap in use (mallinfo2 uordblks,
 *     which counts malloc's per-chunk overhead too) is divided by N.
 *
 * bench/nice_ice_memory.c measures a libnice agent the same way. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "floe/addr.h"
#include "floe/err.h"
#include "floe/ice.h"
#include "rt_sys.h"

#define SUB "bench ice-memory"
#define DEFAULT_AGENTS 1000u
#define MAX_AGENTS 100000u
#define DEFAULT_CANDS 10u

static void usage(FILE *f) {
    fprintf(f,
            "usage: floe bench ice-memory [--agents N] [--local N] [--remote N] [--pairs N]\n"
            "                             [--json]\n\n"
            "Memory of one idle ICE agent: floe_ice_agent_memory() for the configuration, and\n"
            "the heap growth (mallinfo2) per agent over N agents, each with its host bases,\n"
            "remote credentials and candidates, and its checklist formed. No socket is opened\n"
            "and nothing is sent.\n\n"
            "  --agents N   agents built for the measurement (default %u)\n"
            "  --local N    local host candidates per agent (default %u, 1..%d)\n"
            "  --remote N   remote candidates per agent (default %u, 1..%d)\n"
            "  --pairs N    the max_pairs cap (default local x remote, at most %d)\n"
            "  --json       one JSON line on stdout (default: a sentence)\n",
            DEFAULT_AGENTS, DEFAULT_CANDS, FLOE_ICE_MAX_BASES, DEFAULT_CANDS, FLOE_ICE_MAX_REMOTE,
            FLOE_ICE_MAX_PAIRS_LIMIT);
}

/* Builds one agent up to the point where its checks would start going out. */
static int build_agent(const floe_ice_config *cfg, unsigned local, unsigned remote,
                       floe_ice_agent **out) {
    floe_time_ns now = floe_rt_now();
    floe_ice_agent *a;
    int rc = floe_ice_agent_new(&a, cfg);
    if (rc != FLOE_OK) return rc;
    for (unsigned i = 0; i < local && rc == FLOE_OK; i++) {
        floe_addr at;
        unsigned base;
        floe_addr_set_v4(&at, 0x7f000001u + i, (uint16_t)(40000 + i)); /* 127.0.0.1+i */
        rc = floe_ice_agent_add_host(a, 0, 1, &at, "lo", &base);
    }
    if (rc == FLOE_OK) rc = floe_ice_agent_gather(a, now);
    if (rc == FLOE_OK)
        rc = floe_ice_agent_set_remote_credentials(a, 0, "RmTe", "RemotePasswordOf22Chars");
    for (unsigned i = 0; i < remote && rc == FLOE_OK; i++) {
        floe_ice_cand c;
        memset(&c, 0, sizeof c);
        c.type = FLOE_ICE_CAND_HOST;
        c.transport = FLOE_TRANSPORT_UDP;
        c.component = 1;
        c.local_pref = (uint16_t)(65535 - i);
        c.priority = floe_ice_priority(FLOE_ICE_TYPE_PREF_HOST, c.local_pref, 1);
        snprintf(c.foundation, sizeof c.foundation, "%u", i + 1);
        floe_addr_set_v4(&c.addr, 0x7f000101u + i, 9); /* 127.0.1.1+i, discard port */
        rc = floe_ice_agent_add_remote_candidate(a, 0, &c);
    }
    if (rc == FLOE_OK) rc = floe_ice_agent_start(a, now);
    floe_ice_event ev; /* the events are part of the agent; pulling them changes nothing */
    while (rc == FLOE_OK && floe_ice_agent_next_event(a, &ev)) {
    }
    if (rc != FLOE_OK) {
        floe_ice_agent_free(a);
        return rc;
    }
    *out = a;
    return FLOE_OK;
}

int floe_bench_ice_memory(int argc, char **argv) {
    unsigned agents = DEFAULT_AGENTS, local = DEFAULT_CANDS, remote = DEFAULT_CANDS, pairs = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (floe_cli_value(argc, argv, &i, "--agents", &v)) {
            if (!floe_cli_uint(v, 1, MAX_AGENTS, &agents))
                return floe_usage_error(SUB, "--agents wants 1..%u", MAX_AGENTS);
        } else if (floe_cli_value(argc, argv, &i, "--local", &v)) {
            if (!floe_cli_uint(v, 1, FLOE_ICE_MAX_BASES, &local))
                return floe_usage_error(SUB, "--local wants 1..%d", FLOE_ICE_MAX_BASES);
        } else if (floe_cli_value(argc, argv, &i, "--remote", &v)) {
            if (!floe_cli_uint(v, 1, FLOE_ICE_MAX_REMOTE, &remote))
                return floe_usage_error(SUB, "--remote wants 1..%d", FLOE_ICE_MAX_REMOTE);
        } else if (floe_cli_value(argc, argv, &i, "--pairs", &v)) {
            if (!floe_cli_uint(v, 1, FLOE_ICE_MAX_PAIRS_LIMIT, &pairs))
                return floe_usage_error(SUB, "--pairs wants 1..%d", FLOE_ICE_MAX_PAIRS_LIMIT);
        } else {
            return floe_usage_error(SUB, "unknown option '%s'", a);
        }
    }
    if (!pairs)
        pairs =
            local * remote < FLOE_ICE_MAX_PAIRS_LIMIT ? local * remote : FLOE_ICE_MAX_PAIRS_LIMIT;

    floe_ice_config cfg;
    floe_ice_config_default(&cfg);
    cfg.controlling = true;
    cfg.n_streams = 1;
    cfg.components[0] = 1;
    cfg.max_local = local;
    cfg.max_remote = remote;
    cfg.max_pairs = pairs;
    cfg.rand = floe_rt_random;
    size_t formula = floe_ice_agent_memory(&cfg);
    if (!formula) {
        fprintf(stderr, "floe " SUB ": the configuration is refused by the agent\n");
        return 1;
    }

    floe_ice_agent **all = calloc(agents, sizeof *all);
    if (!all) {
        fprintf(stderr, "floe " SUB ": out of memory\n");
        return 1;
    }
    /* One agent first, freed again: OpenSSL's random generator and stdio set themselves up
     * on first use, and that is not the agents' memory. */
    floe_ice_agent *warm;
    int rc = build_agent(&cfg, local, remote, &warm);
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": cannot build an agent: %s\n", floe_strerror(rc));
        free(all);
        return 1;
    }
    floe_ice_stats st;
    floe_ice_agent_get_stats(warm, &st);
    floe_ice_agent_free(warm);

    struct mallinfo2 before = mallinfo2();
    unsigned built = 0;
    for (; built < agents; built++)
        if ((rc = build_agent(&cfg, local, remote, &all[built])) != FLOE_OK) break;
    struct mallinfo2 after = mallinfo2();
    for (unsigned i = 0; i < built; i++)
        floe_ice_agent_free(all[i]);
    free(all);
    if (rc != FLOE_OK) {
        fprintf(stderr, "floe " SUB ": agent %u: %s\n", built + 1, floe_strerror(rc));
        return 1;
    }
    double per_agent = ((double)after.uordblks - (double)before.uordblks) / agents;

    if (json) {
        printf("{\"implementation\":\"floe\",\"agents\":%u,\"local_candidates\":%u,"
               "\"remote_candidates\":%u,\"max_pairs\":%u,\"pairs_capped\":%llu,"
               "\"agent_memory_bytes\":%zu,\"heap_bytes_per_agent\":%.0f,"
               "\"method\":\"mallinfo2 uordblks before and after "
               "building the agents, divided by their number\"}\n",
               agents, local, remote, pairs, (unsigned long long)st.cap_pairs, formula, per_agent);
    } else {
        printf("floe ICE agent, %u local and %u remote candidates, max_pairs %u: "
               "%zu bytes (floe_ice_agent_memory), %.0f bytes of heap per agent measured over "
               "%u agents\n",
               local, remote, pairs, formula, per_agent, agents);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
