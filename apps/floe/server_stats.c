/* `floe server`'s numbers: the JSON of --stats and SIGUSR1, and the Prometheus /metrics
 * text. Both show the sum over the workers; a few series per worker (labelled with its
 * index, at most SERVER_MAX_WORKERS values) show how the kernel spread the clients. No
 * label ever names a user or an address. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "floe/stun_server.h"
#include "floe/turn_server.h"
#include "rt_sys.h"
#include "server_rt.h"

const char *const srv_rt_counter_names[RTC_COUNT] = {
    "udp_send_dropped",
    "streams_accepted",
    "streams_rejected",
    "streams_closed_idle",
    "streams_closed_not_stun",
    "streams_closed_slow_reader",
    "tls_handshake_failed",
    "relay_open_failed",
    "relay_oversize_dropped",
    "tcp_relayed_bytes",
    "dtls_cookies_sent",
    "dtls_sessions_accepted",
    "dtls_sessions_rejected",
    "dtls_handshake_failed",
    "dtls_sessions_closed_idle",
    "dtls_sessions_closed_by_client",
    "dtls_send_dropped",
    "relay_ports_held",
    "reloads",
};

void srv_numbers_take(const app *a, srv_numbers *n) {
    memset(n, 0, sizeof *n);
    const floe_stun_server *stun = a->turn ? floe_turn_server_stun(a->turn) : &a->core;
    memcpy(n->stun, stun->counters, sizeof n->stun);
    memcpy(n->rtc, a->rtc, sizeof n->rtc);
    if (a->turn) {
        memcpy(n->turn, floe_turn_server_counters(a->turn), sizeof n->turn);
        floe_turn_server_gauges_get(a->turn, &n->g);
    }
    n->streams = a->n_streams;
    n->dsess = a->n_dsess;
    n->relays = a->n_relays;
    n->draining = a->draining;
}

/* What a worker handled: client and peer inputs with TURN, STUN messages without. */
static uint64_t inputs_of(const srv_numbers *n, bool turn) {
    return turn ? n->turn[FLOE_TSRV_RX_CLIENT] + n->turn[FLOE_TSRV_RX_PEER] : n->stun[FLOE_SRV_RX];
}

/* ---- counters as JSON ------------------------------------------------------------ */

size_t srv_stats_json(app *a, char *buf, size_t cap) {
    static srv_numbers per[SERVER_MAX_WORKERS]; /* main thread only */
    srv_numbers t;
    bool all_draining;
    unsigned nw = srv_fleet_numbers(a, true, &t, per, &all_draining);
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                             \
        if (k > 0) n += (size_t)k;                                                                 \
    } while (0)
    uint64_t drops = 0;
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++)
        if (floe_stun_server_counter_is_drop(i)) drops += t.stun[i];
    PUT("{\"uptime_s\":%.3f,\"pid\":%d,\"counters\":{", (double)(floe_rt_now() - a->started) / 1e9,
        (int)getpid());
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++)
        PUT("%s\"%s\":%llu", i ? "," : "", floe_stun_server_counter_name(i),
            (unsigned long long)t.stun[i]);
    PUT("},\"drops_total\":%llu,\"runtime\":{", (unsigned long long)drops);
    for (int i = 0; i < RTC_COUNT; i++)
        PUT("%s\"%s\":%llu", i ? "," : "", srv_rt_counter_names[i], (unsigned long long)t.rtc[i]);
    PUT(",\"streams_open\":%llu,\"dtls_sessions_open\":%llu,\"relay_sockets\":%llu}",
        (unsigned long long)t.streams, (unsigned long long)t.dsess, (unsigned long long)t.relays);
    if (a->turn) {
        PUT(",\"turn\":{");
        for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++)
            PUT("%s\"%s\":%llu", i ? "," : "", floe_turn_server_counter_name(i),
                (unsigned long long)t.turn[i]);
        PUT(",\"allocations\":%u,\"permissions\":%u,\"channels\":%u,\"users_with_allocations\":%u,"
            "\"reservations\":%u,\"table_bytes\":%zu,\"draining\":%s}",
            t.g.allocations, t.g.permissions, t.g.channels, srv_fleet_active_users(a, &t),
            t.g.reservations, t.g.table_bytes, a->draining ? "true" : "false");
    }
    PUT(",\"workers\":[");
    for (unsigned w = 0; w < nw; w++) {
        PUT("%s{\"worker\":%u,\"inputs\":%llu,\"reloads\":%llu", w ? "," : "", w,
            (unsigned long long)inputs_of(&per[w], a->turn != NULL),
            (unsigned long long)per[w].rtc[RTC_RELOADS]);
        if (a->turn)
            PUT(",\"allocated\":%llu,\"allocations\":%u,\"draining\":%s",
                (unsigned long long)per[w].turn[FLOE_TSRV_ALLOCATED], per[w].g.allocations,
                per[w].draining ? "true" : "false");
        PUT("}");
    }
    PUT("]}");
#undef PUT
    return n < cap ? n : cap - 1;
}

void srv_print_stats(app *a, const char *why) {
    static char buf[STATS_MAX]; /* main thread only */
    srv_stats_json(a, buf, sizeof buf);
    fprintf(stderr, "floe server: %s %s\n", why, buf);
    fflush(stderr);
}

/* ---- Prometheus /metrics: fixed series, no per-user or per-address labels ------------ */

__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t cap, size_t *off,
                                                      const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + (*off < cap ? *off : cap), *off < cap ? cap - *off : 0, fmt, ap);
    va_end(ap);
    if (k > 0) *off += (size_t)k; /* the full length, as floe_rt_metrics_counter does */
}

/* One series per worker: name{worker="i"} value. */
static void per_worker(char *buf, size_t cap, size_t *off, const char *name, const char *help,
                       bool counter, const uint64_t *v, unsigned n) {
    put(buf, cap, off, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
        counter ? "counter" : "gauge");
    for (unsigned w = 0; w < n; w++)
        put(buf, cap, off, "%s{worker=\"%u\"} %llu\n", name, w, (unsigned long long)v[w]);
}

size_t srv_render_metrics(void *arg, char *buf, size_t cap) {
    app *a = arg;
    static srv_numbers per[SERVER_MAX_WORKERS]; /* main thread only */
    uint64_t v[SERVER_MAX_WORKERS];
    srv_numbers t;
    bool all_draining;
    unsigned nw = srv_fleet_numbers(a, true, &t, per, &all_draining);
    size_t off = 0;
    char name[128], help[160];
    for (int i = 0; i < FLOE_SRV_COUNTER_COUNT; i++) {
        snprintf(name, sizeof name, "floe_stun_%s_total", floe_stun_server_counter_name(i));
        snprintf(help, sizeof help, "STUN server: %s", floe_stun_server_counter_name(i));
        floe_rt_metrics_counter(buf, cap, &off, name, help, t.stun[i]);
    }
    for (int i = 0; i < RTC_COUNT; i++) {
        snprintf(name, sizeof name, "floe_server_%s_total", srv_rt_counter_names[i]);
        snprintf(help, sizeof help, "server runtime: %s", srv_rt_counter_names[i]);
        floe_rt_metrics_counter(buf, cap, &off, name, help, t.rtc[i]);
    }
    floe_rt_metrics_gauge(buf, cap, &off, "floe_server_streams_open", "open TCP/TLS connections",
                          (double)t.streams);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_server_dtls_sessions_open", "open DTLS sessions",
                          (double)t.dsess);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_server_uptime_seconds", "seconds since start",
                          (double)(floe_rt_now() - a->started) / 1e9);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_server_workers", "event loops (--workers)", nw);
    for (unsigned w = 0; w < nw; w++)
        v[w] = inputs_of(&per[w], a->turn != NULL);
    per_worker(buf, cap, &off, "floe_worker_inputs_total", "messages a worker handled", true, v,
               nw);
    for (unsigned w = 0; w < nw; w++)
        v[w] = per[w].rtc[RTC_RELOADS];
    per_worker(buf, cap, &off, "floe_worker_reloads_total", "SIGHUP reloads a worker applied", true,
               v, nw);
    if (!a->turn) return off;
    for (int i = 0; i < FLOE_TSRV_COUNTER_COUNT; i++) {
        snprintf(name, sizeof name, "floe_turn_%s_total", floe_turn_server_counter_name(i));
        snprintf(help, sizeof help, "TURN server: %s", floe_turn_server_counter_name(i));
        floe_rt_metrics_counter(buf, cap, &off, name, help, t.turn[i]);
    }
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_allocations", "allocations", t.g.allocations);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_permissions", "live permissions",
                          t.g.permissions);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_channels", "live channels", t.g.channels);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_users_with_allocations",
                          "usernames holding an allocation", srv_fleet_active_users(a, &t));
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_reservations",
                          "relay ports held for a RESERVATION-TOKEN", t.g.reservations);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_relay_sockets", "open relay sockets",
                          (double)t.relays);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_table_bytes", "memory of the allocation table",
                          (double)t.g.table_bytes);
    floe_rt_metrics_gauge(buf, cap, &off, "floe_turn_draining", "1 while draining after SIGTERM",
                          a->draining ? 1 : 0);
    for (unsigned w = 0; w < nw; w++)
        v[w] = per[w].turn[FLOE_TSRV_ALLOCATED];
    per_worker(buf, cap, &off, "floe_worker_allocated_total", "allocations a worker made", true, v,
               nw);
    for (unsigned w = 0; w < nw; w++)
        v[w] = per[w].g.allocations;
    per_worker(buf, cap, &off, "floe_worker_allocations", "allocations a worker holds", false, v,
               nw);
    for (unsigned w = 0; w < nw; w++)
        v[w] = per[w].draining;
    per_worker(buf, cap, &off, "floe_worker_draining", "1 when a worker refuses new allocations",
               false, v, nw);
    return off;
}
