/* floe simulator: the TURN server core on a simulated host (see sim_turn_server.h). */
#include "sim_turn_server.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_host.h"
#include "sim_rng.h"
#include "sim_udp.h"

#define TURN_BUF 2048

typedef struct sim_relay {
    struct floe_sim_turn_server *t;
    floe_sim_udp *sock;
    uint64_t handle;
} sim_relay;

struct floe_sim_turn_server {
    floe_sim *sim;
    floe_sim_host *host;
    floe_turn_server *core;
    floe_sim_udp *listener;
    floe_sim_timer *tick;
    floe_sim_rng rng;
    uint64_t send_errors;
    uint8_t out[TURN_BUF];
};

static void set_time(floe_sim_turn_server *t, floe_time_ns now) {
    floe_turn_server_set_time(t->core, now, FLOE_SIM_TURN_UNIX_EPOCH + (uint64_t)(now / FLOE_S(1)));
}

static void send_out(floe_sim_turn_server *t, const floe_turn_server_out *o) {
    if (!o->data) return;
    floe_sim_udp *s = o->to_peer ? ((sim_relay *)(uintptr_t)o->relay)->sock : t->listener;
    if (floe_sim_udp_send(s, &o->to, o->data, o->len) != FLOE_OK) t->send_errors++;
}

static void on_client(void *ctx, floe_sim_udp *sock, floe_time_ns now, const floe_addr *src,
                      const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)dst;
    floe_sim_turn_server *t = ctx;
    set_time(t, now);
    floe_turn_tuple tu = {
        .client = *src, .server = floe_sim_udp_local(sock), .transport = FLOE_TRANSPORT_UDP};
    floe_turn_server_out o;
    floe_turn_server_on_client(t->core, &tu, p, len, t->out, sizeof t->out, &o);
    send_out(t, &o);
}

static void on_peer(void *ctx, floe_sim_udp *sock, floe_time_ns now, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)sock;
    (void)dst;
    sim_relay *r = ctx;
    floe_sim_turn_server *t = r->t;
    set_time(t, now);
    floe_turn_server_out o;
    floe_turn_server_on_peer(t->core, r->handle, src, p, len, t->out, sizeof t->out, &o);
    send_out(t, &o);
}

static int relay_open(void *ctx, uint64_t handle, int family, bool even_port, bool dont_fragment,
                      floe_addr *relayed, uint64_t *token) {
    (void)even_port; /* the simulator's ephemeral ports come in order; parity is not kept */
    (void)dont_fragment;
    floe_sim_turn_server *t = ctx;
    floe_addr bind = floe_sim_udp_local(t->listener);
    if (bind.family != family) return FLOE_ERR_UNSUPPORTED;
    bind.port = 0;
    sim_relay *r = calloc(1, sizeof *r);
    if (!r) return FLOE_ERR_NOMEM;
    int rc = floe_sim_udp_open(t->host, &bind, &r->sock);
    if (rc != FLOE_OK) {
        free(r);
        return rc;
    }
    r->t = t;
    r->handle = handle;
    floe_sim_udp_set_callback(r->sock, on_peer, r);
    *relayed = floe_sim_udp_local(r->sock);
    *token = (uint64_t)(uintptr_t)r;
    return FLOE_OK;
}

/* The simulator runs callbacks one at a time and never inside another socket's
 * callback for the same socket, so a relay can be closed at once. */
static void relay_close(void *ctx, uint64_t token) {
    (void)ctx;
    sim_relay *r = (sim_relay *)(uintptr_t)token;
    floe_sim_udp_close(r->sock);
    free(r);
}

static void on_tick(void *ctx, floe_sim_timer *tm, floe_time_ns now) {
    floe_sim_turn_server *t = ctx;
    set_time(t, now);
    floe_turn_server_tick(t->core);
    floe_sim_timer_arm(tm, now + FLOE_S(1));
}

void floe_sim_turn_server_free(floe_sim_turn_server *t) {
    if (!t) return;
    floe_turn_server_free(t->core); /* closes the relays */
    floe_sim_udp_close(t->listener);
    floe_sim_timer_free(t->tick);
    free(t);
}

int floe_sim_turn_server_new(floe_sim_host *h, const floe_addr *listen,
                             const floe_turn_server_config *cfg, floe_sim_turn_server **out) {
    *out = NULL;
    floe_sim_turn_server *t = calloc(1, sizeof *t);
    if (!t) return FLOE_ERR_NOMEM;
    t->host = h;
    t->sim = floe_sim_host_world(h);
    floe_turn_server_config c = *cfg;
    c.relay_open = relay_open;
    c.relay_close = relay_close;
    c.ctx = t;
    c.relay_v4 = listen->family == FLOE_AF_INET4;
    c.relay_v6 = listen->family == FLOE_AF_INET6;
    c.self = listen;
    c.n_self = 1;
    char label[96];
    floe_addr_format(listen, true, label + 5, sizeof label - 5);
    memcpy(label, "turn ", 5);
    floe_sim_rng_derive(t->sim, label, &t->rng);
    floe_sim_rng_bytes(&t->rng, c.nonce_key, sizeof c.nonce_key);
    int rc = floe_sim_udp_open(h, listen, &t->listener);
    if (rc == FLOE_OK) rc = floe_turn_server_new(&t->core, &c);
    if (rc == FLOE_OK) rc = floe_sim_timer_new(t->sim, on_tick, t, &t->tick);
    if (rc != FLOE_OK) {
        floe_sim_turn_server_free(t);
        return rc;
    }
    floe_sim_udp_set_callback(t->listener, on_client, t);
    set_time(t, floe_sim_now(t->sim));
    floe_sim_timer_arm(t->tick, floe_sim_now(t->sim) + FLOE_S(1));
    *out = t;
    return FLOE_OK;
}

const floe_turn_server *floe_sim_turn_server_core(const floe_sim_turn_server *t) {
    return t->core;
}

uint64_t floe_sim_turn_server_send_errors(const floe_sim_turn_server *t) {
    return t->send_errors;
}
