/* floe simulator: the world (config, lifetime, seed, running events, counters). */
#include "sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"

/* ---- config and lifetime --------------------------------------------------------- */

void floe_sim_config_default(floe_sim_config *c) {
    memset(c, 0, sizeof *c);
    c->max_networks = FLOE_SIM_MAX_NETWORKS_DEFAULT;
    c->max_hosts = FLOE_SIM_MAX_HOSTS_DEFAULT;
    c->max_sockets = FLOE_SIM_MAX_SOCKETS_DEFAULT;
    c->max_timers = FLOE_SIM_MAX_TIMERS_DEFAULT;
    c->max_events = FLOE_SIM_MAX_EVENTS_DEFAULT;
    c->socket_queue = FLOE_SIM_SOCKET_QUEUE_DEFAULT;
}

static int resolve_cap(unsigned *v, unsigned def, unsigned limit) {
    if (*v == 0) *v = def;
    return *v <= limit ? FLOE_OK : FLOE_ERR_INVAL;
}

int floe_sim_new(floe_sim **out, const floe_sim_config *cfg) {
    *out = NULL;
    floe_sim_config c;
    if (cfg)
        c = *cfg;
    else
        floe_sim_config_default(&c);
    if (resolve_cap(&c.max_networks, FLOE_SIM_MAX_NETWORKS_DEFAULT, FLOE_SIM_MAX_NETWORKS_LIMIT) ||
        resolve_cap(&c.max_hosts, FLOE_SIM_MAX_HOSTS_DEFAULT, FLOE_SIM_MAX_HOSTS_LIMIT) ||
        resolve_cap(&c.max_sockets, FLOE_SIM_MAX_SOCKETS_DEFAULT, FLOE_SIM_MAX_SOCKETS_LIMIT) ||
        resolve_cap(&c.max_timers, FLOE_SIM_MAX_TIMERS_DEFAULT, FLOE_SIM_MAX_TIMERS_LIMIT) ||
        resolve_cap(&c.max_events, FLOE_SIM_MAX_EVENTS_DEFAULT, FLOE_SIM_MAX_EVENTS_LIMIT) ||
        resolve_cap(&c.socket_queue, FLOE_SIM_SOCKET_QUEUE_DEFAULT, FLOE_SIM_MAX_EVENTS_LIMIT))
        return FLOE_ERR_INVAL;
    floe_sim *sim = calloc(1, sizeof *sim);
    if (!sim) return FLOE_ERR_NOMEM;
    sim->cfg = c;
    sim->seed = c.seed;
    sim->now = c.start;
    sim->heap = calloc(c.max_events, sizeof *sim->heap);
    sim->nets = calloc(c.max_networks, sizeof *sim->nets);
    sim->hosts = calloc(c.max_hosts, sizeof *sim->hosts);
    sim->hash = UINT64_C(0xcbf29ce484222325);
    if (!sim->heap || !sim->nets || !sim->hosts) {
        floe_sim_free(sim);
        return FLOE_ERR_NOMEM;
    }
    *out = sim;
    return FLOE_OK;
}

static void free_event(sim_event *ev) {
    switch (ev->kind) {
    case SIM_EV_PACKET: sim_packet_free((sim_packet *)ev); break;
    case SIM_EV_TIMER: ev->pos = SIM_NOT_QUEUED; break; /* owned by its timer */
    case SIM_EV_PATCH:
    case SIM_EV_IFACE: free(ev); break;
    }
}

void floe_sim_free(floe_sim *sim) {
    if (!sim) return;
    /* Queued events first (timers are only detached here, and freed from their list). */
    for (size_t i = 0; i < sim->heap_len; i++)
        free_event(sim->heap[i]);
    sim->heap_len = 0;
    for (size_t i = 0; i < sim->n_hosts; i++)
        sim_host_free(sim->hosts[i]);
    for (size_t i = 0; i < sim->n_nets; i++)
        sim_link_free(sim->nets[i]);
    while (sim->timers) {
        floe_sim_timer *t = sim->timers;
        sim->timers = t->next;
        free(t);
    }
    free(sim->heap);
    free(sim->nets);
    free(sim->hosts);
    free(sim);
}

int floe_sim_reseed(floe_sim *sim, uint64_t seed) {
    if (sim->steps > 0 || sim->in_flight > 0) return FLOE_ERR_STATE;
    sim->seed = seed;
    for (size_t i = 0; i < sim->n_nets; i++)
        sim_link_reseed(sim->nets[i]);
    for (size_t i = 0; i < sim->n_hosts; i++) {
        if (sim->hosts[i]->nat) sim_nat_reseed(sim->hosts[i]);
        sim_tcp_reseed(sim->hosts[i]);
    }
    return FLOE_OK;
}

uint64_t floe_sim_seed(const floe_sim *sim) {
    return sim->seed;
}

void floe_sim_rng_derive(const floe_sim *sim, const char *label, floe_sim_rng *out) {
    char buf[FLOE_SIM_NAME_MAX + 16];
    snprintf(buf, sizeof buf, "app:%s", label ? label : "");
    floe_sim_rng_seed_label(out, sim->seed, buf);
}

/* ---- running --------------------------------------------------------------------- */

floe_time_ns floe_sim_now(const floe_sim *sim) {
    return sim->now;
}

floe_time_ns floe_sim_next_time(const floe_sim *sim) {
    return sim->heap_len ? sim->heap[0]->at : FLOE_TIME_NEVER;
}

size_t floe_sim_pending(const floe_sim *sim) {
    return sim->heap_len;
}

uint64_t floe_sim_steps(const floe_sim *sim) {
    return sim->steps;
}

int floe_sim_step(floe_sim *sim) {
    if (sim->heap_len == 0) return 0;
    if (sim->cfg.max_steps && sim->steps >= sim->cfg.max_steps) return FLOE_ERR_LIMIT;
    sim_event *ev = sim_heap_pop(sim);
    if (ev->at > sim->now) sim->now = ev->at;
    sim->steps++;
    switch (ev->kind) {
    case SIM_EV_PACKET: sim_host_arrive(sim, (sim_packet *)ev); break;
    case SIM_EV_TIMER: {
        floe_sim_timer *t = (floe_sim_timer *)ev;
        t->fn(t->ctx, t, sim->now);
        break;
    }
    case SIM_EV_PATCH: sim_link_run_patch(sim, (sim_patch *)ev); break;
    case SIM_EV_IFACE: sim_host_run_iface_change(sim, (sim_iface_change *)ev); break;
    }
    return 1;
}

int floe_sim_run_until(floe_sim *sim, floe_time_ns t) {
    while (sim->heap_len && sim->heap[0]->at <= t) {
        int rc = floe_sim_step(sim);
        if (rc < 0) return rc;
    }
    if (t > sim->now) sim->now = t;
    return FLOE_OK;
}

int floe_sim_run_for(floe_sim *sim, floe_time_ns d) {
    floe_time_ns t = sim->now + d < sim->now ? FLOE_TIME_NEVER : sim->now + d;
    return floe_sim_run_until(sim, t);
}

int floe_sim_run_until_idle(floe_sim *sim, floe_time_ns limit) {
    while (sim->heap_len) {
        if (sim->heap[0]->at > limit) {
            if (limit > sim->now) sim->now = limit;
            return FLOE_ERR_TIMEOUT;
        }
        int rc = floe_sim_step(sim);
        if (rc < 0) return rc;
    }
    return FLOE_OK;
}

/* ---- counters -------------------------------------------------------------------- */

static const char *const counter_names[FLOE_SIM_COUNTER_COUNT] = {
    [FLOE_SIM_TX] = "tx",
    [FLOE_SIM_DELIVERED] = "delivered",
    [FLOE_SIM_HOPS] = "hops",
    [FLOE_SIM_FORWARDED] = "forwarded",
    [FLOE_SIM_NAT_MAPPING_NEW] = "nat_mapping_new",
    [FLOE_SIM_NAT_MAPPING_EXPIRED] = "nat_mapping_expired",
    [FLOE_SIM_DROP_LOSS] = "drop_loss",
    [FLOE_SIM_DROP_MTU] = "drop_mtu",
    [FLOE_SIM_DROP_PARTITION] = "drop_partition",
    [FLOE_SIM_DROP_LINK_DOWN] = "drop_link_down",
    [FLOE_SIM_DROP_NO_ROUTE] = "drop_no_route",
    [FLOE_SIM_DROP_NOT_FOR_HOST] = "drop_not_for_host",
    [FLOE_SIM_DROP_NO_SOCKET] = "drop_no_socket",
    [FLOE_SIM_DROP_SOCKET_QUEUE] = "drop_socket_queue",
    [FLOE_SIM_DROP_EVENT_QUEUE] = "drop_event_queue",
    [FLOE_SIM_DROP_TTL] = "drop_ttl",
    [FLOE_SIM_DROP_NAT_NO_MAPPING] = "drop_nat_no_mapping",
    [FLOE_SIM_DROP_NAT_FILTERED] = "drop_nat_filtered",
    [FLOE_SIM_DROP_NAT_HAIRPIN] = "drop_nat_hairpin",
    [FLOE_SIM_DROP_NAT_PORTS] = "drop_nat_ports",
    [FLOE_SIM_DROP_NAT_TABLE] = "drop_nat_table",
    [FLOE_SIM_DROP_NAT_FAMILY] = "drop_nat_family",
    [FLOE_SIM_DROP_FIREWALL] = "drop_firewall",
    [FLOE_SIM_DROP_NO_LISTENER] = "drop_no_listener",
    [FLOE_SIM_DROP_TCP_LIMIT] = "drop_tcp_limit",
    [FLOE_SIM_DROP_NAT_TCP_STATE] = "drop_nat_tcp_state",
};

const char *floe_sim_counter_name(int c) {
    return c >= 0 && c < FLOE_SIM_COUNTER_COUNT ? counter_names[c] : NULL;
}

bool floe_sim_counter_is_drop(int c) {
    return c >= FLOE_SIM_DROP_FIRST && c < FLOE_SIM_COUNTER_COUNT;
}

uint64_t floe_sim_counter_get(const floe_sim *sim, int c) {
    return c >= 0 && c < FLOE_SIM_COUNTER_COUNT ? sim->counters[c] : 0;
}

uint64_t floe_sim_drops(const floe_sim *sim) {
    uint64_t n = 0;
    for (int c = FLOE_SIM_DROP_FIRST; c < FLOE_SIM_COUNTER_COUNT; c++)
        n += sim->counters[c];
    return n;
}

uint64_t floe_sim_in_flight(const floe_sim *sim) {
    return sim->in_flight;
}

void sim_count(floe_sim *sim, int c, floe_sim_network *net, floe_sim_host *host) {
    sim->counters[c]++;
    if (net) net->counters[c]++;
    if (host) host->counters[c]++;
}
