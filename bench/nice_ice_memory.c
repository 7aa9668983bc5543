/* The memory of one idle libnice ICE agent, measured like `floe bench ice-memory` measures
 * floe's (bench/ice-connect.sh builds and runs this program).
 *
 * usage: nice_ice_memory [--agents N] [--local N] [--remote N]
 *
 * N agents are built as a call builds them: nice_agent_new_full(RFC5245, regular
 * nomination, consent freshness; ICE-TCP and UPnP off), controlling, one stream with one
 * component, `local` host addresses (127.0.0.1, .2, ...) gathered, remote credentials set
 * and `remote` host candidates (127.0.1.1, .2, ... port 9) added, which forms the
 * checklist. The GLib main context is never iterated, so no check is sent. The growth of
 * the heap in use (mallinfo2 uordblks) is divided by N. One more agent is built and freed
 * first, so that GLib's and libnice's one-time setup (type registration, the GSlice
 * magazines, ...) is not counted as the agents' memory.
 *
 * libnice opens one UDP socket per local address and component; those sockets' kernel
 * buffers are not in the heap and not counted (floe's agent owns no socket: its runtime
 * opens them). Output: one JSON line on stdout. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <glib.h>
#include <nice/agent.h>
#include <nice/nice-version.h>

#define MAX_AGENTS 10000u
#define MAX_CANDS 64u

static unsigned parse(const char *s, unsigned lo, unsigned hi, const char *what) {
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s ? s : "", &end, 10);
    if (!s || errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "nice_ice_memory: %s wants %u..%u\n", what, lo, hi);
        exit(2);
    }
    return (unsigned)v;
}

/* One agent with its candidates and checklist; NULL (and a message) on failure. */
static NiceAgent *build_agent(GMainContext *ctx, unsigned local, unsigned remote) {
    NiceAgent *a = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245,
                                       NICE_AGENT_OPTION_REGULAR_NOMINATION |
                                           NICE_AGENT_OPTION_CONSENT_FRESHNESS);
    if (!a) {
        fprintf(stderr, "nice_ice_memory: nice_agent_new_full failed\n");
        return NULL;
    }
    g_object_set(a, "controlling-mode", TRUE, "ice-tcp", FALSE, "upnp", FALSE, NULL);
    guint stream = nice_agent_add_stream(a, 1);
    for (unsigned i = 0; i < local; i++) {
        char ip[32];
        NiceAddress addr;
        snprintf(ip, sizeof ip, "127.0.0.%u", i + 1);
        nice_address_init(&addr);
        if (!nice_address_set_from_string(&addr, ip) || !nice_agent_add_local_address(a, &addr)) {
            fprintf(stderr, "nice_ice_memory: cannot add the local address %s\n", ip);
            g_object_unref(a);
            return NULL;
        }
    }
    if (!stream || !nice_agent_gather_candidates(a, stream)) {
        fprintf(stderr, "nice_ice_memory: gathering failed (file descriptors?)\n");
        g_object_unref(a);
        return NULL;
    }
    nice_agent_set_remote_credentials(a, stream, "RmTe", "RemotePasswordOf22Chars");
    GSList *cands = NULL;
    for (unsigned i = 0; i < remote; i++) {
        NiceCandidate *c = nice_candidate_new(NICE_CANDIDATE_TYPE_HOST);
        char ip[32];
        snprintf(ip, sizeof ip, "127.0.1.%u", i + 1);
        c->stream_id = stream;
        c->component_id = 1;
        c->transport = NICE_CANDIDATE_TRANSPORT_UDP;
        c->priority = (126u << 24) | ((65535u - i) << 8) | 255u;
        snprintf(c->foundation, sizeof c->foundation, "%u", i + 1);
        nice_address_set_from_string(&c->addr, ip);
        nice_address_set_port(&c->addr, 9);
        cands = g_slist_append(cands, c);
    }
    int added = nice_agent_set_remote_candidates(a, stream, 1, cands);
    g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    if (added != (int)remote) {
        fprintf(stderr, "nice_ice_memory: %d of %u remote candidates added\n", added, remote);
        g_object_unref(a);
        return NULL;
    }
    return a;
}

int main(int argc, char **argv) {
    unsigned agents = 200, local = 10, remote = 10;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--agents"))
            agents = parse(v, 1, MAX_AGENTS, "--agents");
        else if (!strcmp(argv[i], "--local"))
            local = parse(v, 1, MAX_CANDS, "--local");
        else if (!strcmp(argv[i], "--remote"))
            remote = parse(v, 1, MAX_CANDS, "--remote");
        else {
            fprintf(stderr, "usage: nice_ice_memory [--agents N] [--local N] [--remote N]\n");
            return 2;
        }
        i++;
    }
    /* One socket per local address per agent: make room for them. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)agents * local + 64 > rl.rlim_cur) {
        fprintf(stderr,
                "nice_ice_memory: %u agents x %u sockets exceed the %llu descriptors "
                "allowed; use fewer --agents\n",
                agents, local, (unsigned long long)rl.rlim_cur);
        return 1;
    }

    GMainContext *ctx = g_main_context_new();
    NiceAgent *warm = build_agent(ctx, local, remote);
    if (!warm) return 1;
    g_object_unref(warm);

    NiceAgent **all = g_new0(NiceAgent *, agents);
    struct mallinfo2 before = mallinfo2();
    for (unsigned i = 0; i < agents; i++)
        if (!(all[i] = build_agent(ctx, local, remote))) return 1;
    struct mallinfo2 after = mallinfo2();
    for (unsigned i = 0; i < agents; i++)
        g_object_unref(all[i]);
    g_free(all);
    g_main_context_unref(ctx);

    printf("{\"implementation\":\"libnice\",\"version\":\"%d.%d.%d\",\"agents\":%u,"
           "\"local_candidates\":%u,\"remote_candidates\":%u,\"heap_bytes_per_agent\":%.0f,"
           "\"method\":\"mallinfo2 uordblks before and after building the agents, divided by "
           "their number; their %u UDP sockets' kernel memory is not counted\"}\n",
           NICE_VERSION_MAJOR, NICE_VERSION_MINOR, NICE_VERSION_MICRO, agents, local, remote,
           ((double)after.uordblks - (double)before.uordblks) / agents, agents * local);
    return fflush(stdout) == 0 ? 0 : 1;
}
