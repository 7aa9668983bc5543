/* floe simulator: the SIP proxy core on a simulated host (see sim_sip_proxy.h). */
#include "sim_sip_proxy.h"

#include <stdlib.h>

#include "floe/err.h"
#include "sim_host.h"
#include "sim_rng.h"
#include "sim_udp.h"

struct floe_sim_sip_proxy {
    floe_sip_proxy *core;
    floe_sim_udp *sock;
    uint64_t send_errors;
    uint8_t out[FLOE_SIM_MAX_PAYLOAD + FLOE_SIP_PROXY_OUT_EXTRA];
};

static void on_recv(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)dst;
    floe_sim_sip_proxy *sp = ctx;
    size_t n = 0;
    floe_addr to;
    floe_sip_proxy_on_recv(sp->core, now, src, p, len, sp->out, sizeof sp->out, &n, &to);
    if (n && floe_sim_udp_send(s, &to, sp->out, n) != FLOE_OK) sp->send_errors++;
}

int floe_sim_sip_proxy_new(floe_sim_host *h, const floe_addr *listen, const char *domain,
                           floe_sim_sip_proxy **out) {
    if (!h || !listen || !domain || !out || listen->port == 0) return FLOE_ERR_INVAL;
    *out = NULL;
    floe_sim_sip_proxy *sp = calloc(1, sizeof *sp);
    if (!sp) return FLOE_ERR_NOMEM;
    floe_sip_proxy_config c;
    floe_sip_proxy_config_default(&c);
    c.domain = domain;
    c.addr = *listen;
    floe_sim_rng rng;
    floe_sim_rng_derive(floe_sim_host_world(h), "sip-proxy", &rng);
    floe_sim_rng_bytes(&rng, c.key, sizeof c.key);
    int rc = floe_sip_proxy_new(&sp->core, &c);
    if (rc == FLOE_OK) rc = floe_sim_udp_open(h, listen, &sp->sock);
    if (rc != FLOE_OK) {
        floe_sim_sip_proxy_free(sp);
        return rc;
    }
    floe_sim_udp_set_callback(sp->sock, on_recv, sp);
    *out = sp;
    return FLOE_OK;
}

void floe_sim_sip_proxy_free(floe_sim_sip_proxy *sp) {
    if (!sp) return;
    floe_sim_udp_close(sp->sock);
    floe_sip_proxy_free(sp->core);
    free(sp);
}

floe_sip_proxy *floe_sim_sip_proxy_core(floe_sim_sip_proxy *sp) {
    return sp->core;
}

uint64_t floe_sim_sip_proxy_send_errors(const floe_sim_sip_proxy *sp) {
    return sp->send_errors;
}
