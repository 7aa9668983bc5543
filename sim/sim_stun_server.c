/* floe simulator: the STUN server core on a simulated host (see sim_stun_server.h). */
#include "sim_stun_server.h"

#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "sim_udp.h"

#define SRV_SOCKETS 4
#define SRV_BUF 2048

struct floe_sim_stun_server {
    floe_stun_server core;
    floe_sim_udp *socks[SRV_SOCKETS];
    unsigned n_socks;
    uint64_t send_errors;
    bool ignore_change;
    uint8_t out[SRV_BUF];
};

static floe_sim_udp *socket_for(const floe_sim_stun_server *s, const floe_addr *a) {
    for (unsigned i = 0; i < s->n_socks; i++) {
        floe_addr l = floe_sim_udp_local(s->socks[i]);
        if (floe_addr_equal(&l, a)) return s->socks[i];
    }
    return NULL;
}

static void on_datagram(void *ctx, floe_sim_udp *sock, floe_time_ns now, const floe_addr *src,
                        const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)now;
    (void)dst;
    floe_sim_stun_server *s = ctx;
    floe_addr local = floe_sim_udp_local(sock);
    floe_stun_server_reply r;
    if (floe_stun_server_handle(&s->core, p, len, src, &local, FLOE_TRANSPORT_UDP, s->out,
                                sizeof s->out, &r) != FLOE_OK ||
        r.len == 0)
        return;
    floe_addr from = floe_stun_server_source_for(&s->core, &local, s->ignore_change ? 0 : r.from);
    floe_sim_udp *out = socket_for(s, &from);
    if (!out || floe_sim_udp_send(out, &r.to, s->out, r.len) != FLOE_OK) s->send_errors++;
}

void floe_sim_stun_server_free(floe_sim_stun_server *s) {
    if (!s) return;
    for (unsigned i = 0; i < s->n_socks; i++)
        floe_sim_udp_close(s->socks[i]);
    free(s);
}

int floe_sim_stun_server_new(floe_sim_host *h, const floe_stun_server_config *cfg,
                             floe_sim_stun_server **out) {
    *out = NULL;
    if (cfg->primary.family == FLOE_AF_NONE || cfg->primary.port == 0) return FLOE_ERR_INVAL;
    floe_sim_stun_server *s = calloc(1, sizeof *s);
    if (!s) return FLOE_ERR_NOMEM;
    int rc = floe_stun_server_init(&s->core, cfg);
    floe_addr binds[SRV_SOCKETS];
    unsigned n = 0;
    binds[n++] = cfg->primary;
    if (rc == FLOE_OK && cfg->rfc5780) {
        /* Every source the core may pick: same, change port, change IP, change both. */
        const unsigned choices[3] = {FLOE_STUN_CHANGE_PORT, FLOE_STUN_CHANGE_IP,
                                     FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT};
        for (unsigned k = 0; k < 3; k++)
            binds[n++] = floe_stun_server_source_for(&s->core, &cfg->primary, choices[k]);
    }
    for (unsigned i = 0; rc == FLOE_OK && i < n; i++) {
        rc = floe_sim_udp_open(h, &binds[i], &s->socks[i]);
        if (rc == FLOE_OK) {
            floe_sim_udp_set_callback(s->socks[i], on_datagram, s);
            s->n_socks++;
        }
    }
    if (rc != FLOE_OK) {
        floe_sim_stun_server_free(s);
        return rc;
    }
    *out = s;
    return FLOE_OK;
}

const floe_stun_server *floe_sim_stun_server_core(const floe_sim_stun_server *s) {
    return &s->core;
}

void floe_sim_stun_server_set_ignore_change(floe_sim_stun_server *s, bool on) {
    s->ignore_change = on;
}

uint64_t floe_sim_stun_server_send_errors(const floe_sim_stun_server *s) {
    return s->send_errors;
}
