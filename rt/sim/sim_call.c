/* floe simulator runtime: a SIP user agent on a simulated host (see sim_call.h). */
#include "sim_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_host.h"
#include "sim_rng.h"
#include "sim_udp.h"

#define SIP_SOCK 0u /* endpoint socket of the SIP transport; media socket k is k + 1 */

struct floe_sim_call {
    floe_sim *sim;
    floe_sim_call_config cfg;
    char name[FLOE_SIM_CALL_NAME_MAX];
    floe_sim_rng rng;
    floe_sip_ua *ua;
    floe_sim_endpoint *ep;
    floe_addr sip_addr;
    unsigned n_media;
    int16_t *audio;
    size_t n_audio;
    uint64_t audio_dropped;
};

/* ---- received audio --------------------------------------------------------------- */

static void record(floe_sim_call *c, int16_t v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (c->n_audio < c->cfg.record_max)
            c->audio[c->n_audio++] = v;
        else
            c->audio_dropped++;
    }
}

static void on_push(void *ctx, uint32_t gap, const int16_t *x, size_t n) {
    floe_sim_call *c = ctx;
    /* silence for what was lost, so that a tone after a gap stays in phase */
    record(c, 0, gap < FLOE_SIM_CALL_GAP_MAX ? gap : FLOE_SIM_CALL_GAP_MAX);
    for (size_t i = 0; i < n; i++)
        record(c, x[i], 1);
    if (c->cfg.on_audio) c->cfg.on_audio(c->cfg.ctx, c, gap, x, n);
}

/* ---- the five steps, for the endpoint ----------------------------------------------- */

static void ep_recv(void *obj, floe_time_ns now, unsigned sock, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)dst;
    floe_sim_call *c = obj;
    if (sock == SIP_SOCK) {
        if (c->cfg.on_sip) c->cfg.on_sip(c->cfg.ctx, c, now, false, src, p, len);
        floe_sip_ua_on_sip(c->ua, now, FLOE_TRANSPORT_UDP, src, (const char *)p, len);
    } else {
        floe_sip_ua_on_media(c->ua, now, sock - 1, src, p, len);
    }
}

static void ep_events(void *obj, floe_time_ns now);

static void ep_tick(void *obj, floe_time_ns now) {
    floe_sim_call *c = obj;
    floe_sip_ua_tick(c->ua, now);
}

static int ep_next_send(void *obj, floe_time_ns now, uint8_t *buf, size_t cap, size_t *len,
                        unsigned *sock, floe_addr *dst) {
    floe_sim_call *c = obj;
    floe_sip_ua_out out;
    int rc = floe_sip_ua_next_send(c->ua, now, buf, cap, len, &out);
    if (rc != FLOE_OK) return rc;
    *dst = out.to;
    if (out.kind == FLOE_SIP_UA_OUT_SIP) {
        /* UDP is the only signalling transport the UA sends over (sip_ua.h, Limits) */
        *sock = SIP_SOCK;
        /* what led to this message (ICE completed before a 180, ...) is reported first */
        ep_events(c, now);
        if (c->cfg.on_sip) c->cfg.on_sip(c->cfg.ctx, c, now, true, dst, buf, *len);
    } else {
        /* an index past our media sockets makes the endpoint count a tx error */
        *sock = out.sock < c->n_media ? out.sock + 1 : FLOE_SIM_ENDPOINT_MAX_SOCKETS;
    }
    return FLOE_OK;
}

static floe_time_ns ep_deadline(void *obj) {
    floe_sim_call *c = obj;
    return floe_sip_ua_deadline(c->ua);
}

static void ep_events(void *obj, floe_time_ns now) {
    (void)now;
    floe_sim_call *c = obj;
    floe_sip_ua_event ev;
    /* bounded by the UA's queue; a hook does not add events (it must not act) */
    for (unsigned k = 0; k < 2 * FLOE_SIP_UA_EVENTS && floe_sip_ua_next_event(c->ua, &ev); k++)
        if (c->cfg.on_event) c->cfg.on_event(c->cfg.ctx, c, &ev);
}

static const floe_sim_endpoint_ops ep_ops = {ep_recv, ep_tick, ep_next_send, ep_deadline,
                                             ep_events};

/* ---- lifetime ----------------------------------------------------------------------- */

void floe_sim_call_config_default(floe_sim_call_config *c) {
    memset(c, 0, sizeof *c);
    floe_sip_ua_config_default(&c->ua);
}

/* The host's first address of a family over its interfaces (port 0), or FLOE_AF_NONE. */
static floe_addr first_addr(floe_sim_host *h, int family) {
    for (size_t i = 0; i < floe_sim_host_iface_count(h); i++) {
        floe_addr a = floe_sim_iface_addr(floe_sim_host_iface_at(h, i), family);
        if (a.family != FLOE_AF_NONE) return a;
    }
    floe_addr none;
    memset(&none, 0, sizeof none);
    none.family = FLOE_AF_NONE;
    return none;
}

/* One media socket per address of every interface, each a media host of the UA; the
 * UA's socket number must be the endpoint's index minus one. */
static int open_media(floe_sim_call *c) {
    floe_sim_host *h = c->cfg.host;
    for (size_t i = 0; i < floe_sim_host_iface_count(h); i++) {
        floe_sim_iface *ifc = floe_sim_host_iface_at(h, i);
        static const int fams[2] = {FLOE_AF_INET4, FLOE_AF_INET6};
        for (int f = 0; f < 2; f++) {
            floe_addr bind = floe_sim_iface_addr(ifc, fams[f]);
            if (bind.family == FLOE_AF_NONE) continue;
            if (c->n_media == FLOE_SIP_UA_MAX_MEDIA_HOSTS) return FLOE_OK;
            bind.port = 0;
            unsigned idx, sock;
            int rc = floe_sim_endpoint_open(c->ep, h, &bind, &idx);
            if (rc != FLOE_OK) return rc;
            floe_addr bound = floe_sim_udp_local(floe_sim_endpoint_socket(c->ep, idx));
            rc = floe_sip_ua_add_media_host(c->ua, &bound, floe_sim_iface_name(ifc), &sock);
            if (rc != FLOE_OK) return rc;
            if (sock + 1 != idx) return FLOE_ERR_STATE;
            c->n_media++;
        }
    }
    return c->n_media ? FLOE_OK : FLOE_ERR_NOT_FOUND;
}

int floe_sim_call_new(floe_sim *sim, const floe_sim_call_config *cfg, floe_sim_call **out) {
    if (!out) return FLOE_ERR_INVAL;
    *out = NULL;
    if (!sim || !cfg || !cfg->name || !cfg->name[0] ||
        strlen(cfg->name) >= FLOE_SIM_CALL_NAME_MAX || !cfg->host || !cfg->ua.user ||
        !cfg->ua.domain)
        return FLOE_ERR_INVAL;
    floe_sim_call *c = calloc(1, sizeof *c);
    if (!c) return FLOE_ERR_NOMEM;
    c->sim = sim;
    c->cfg = *cfg;
    snprintf(c->name, sizeof c->name, "%s", cfg->name);
    c->cfg.name = c->name;
    if (!c->cfg.sip_port) c->cfg.sip_port = FLOE_SIM_CALL_SIP_PORT;
    if (!c->cfg.record_max) c->cfg.record_max = FLOE_SIM_CALL_RECORD_DEFAULT;
    char label[FLOE_SIM_CALL_NAME_MAX + 8];
    snprintf(label, sizeof label, "call/%s", c->name);
    floe_sim_rng_derive(sim, label, &c->rng);

    int rc = FLOE_ERR_NOMEM;
    c->audio = malloc(c->cfg.record_max * sizeof *c->audio);
    if (!c->audio) goto fail;
    rc = floe_sim_endpoint_new(sim, &ep_ops, c, &c->ep);
    if (rc != FLOE_OK) goto fail;

    /* the SIP socket first: it is endpoint socket 0 */
    c->sip_addr = first_addr(cfg->host, FLOE_AF_INET4);
    if (c->sip_addr.family == FLOE_AF_NONE) c->sip_addr = first_addr(cfg->host, FLOE_AF_INET6);
    rc = FLOE_ERR_NOT_FOUND;
    if (c->sip_addr.family == FLOE_AF_NONE) goto fail;
    c->sip_addr.port = c->cfg.sip_port;
    unsigned idx;
    rc = floe_sim_endpoint_open(c->ep, cfg->host, &c->sip_addr, &idx);
    if (rc != FLOE_OK) goto fail;
    if (idx != SIP_SOCK) {
        rc = FLOE_ERR_STATE;
        goto fail;
    }

    floe_sip_ua_config uc = cfg->ua;
    for (unsigned t = 0; t < FLOE_SIP_TXL_TRANSPORTS; t++) {
        memset(&uc.local[t], 0, sizeof uc.local[t]);
        uc.local[t].family = FLOE_AF_NONE;
    }
    uc.local[FLOE_TRANSPORT_UDP] = c->sip_addr;
    uc.rnd = floe_sim_rng_bytes;
    uc.rnd_ctx = &c->rng;
    uc.push = on_push;
    uc.push_ctx = c;
    rc = floe_sip_ua_new(&c->ua, &uc);
    if (rc != FLOE_OK) goto fail;
    rc = open_media(c);
    if (rc != FLOE_OK) goto fail;
    *out = c;
    return FLOE_OK;
fail:
    floe_sim_call_free(c);
    return rc;
}

void floe_sim_call_free(floe_sim_call *c) {
    if (!c) return;
    floe_sim_endpoint_free(c->ep);
    floe_sip_ua_free(c->ua);
    free(c->audio);
    free(c);
}

/* ---- actions ------------------------------------------------------------------------ */

/* The action's result; the loop runs in any case (a failed action may still have
 * changed the UA). */
static int acted(floe_sim_call *c, int rc) {
    int k = floe_sim_endpoint_kick(c->ep);
    return rc != FLOE_OK ? rc : k;
}

int floe_sim_call_register(floe_sim_call *c) {
    return acted(c, floe_sip_ua_register(c->ua, floe_sim_now(c->sim)));
}

int floe_sim_call_dial(floe_sim_call *c, const char *uri) {
    return acted(c, floe_sip_ua_dial(c->ua, floe_sim_now(c->sim), uri));
}

int floe_sim_call_answer(floe_sim_call *c) {
    return acted(c, floe_sip_ua_answer(c->ua, floe_sim_now(c->sim)));
}

int floe_sim_call_hangup(floe_sim_call *c) {
    return acted(c, floe_sip_ua_hangup(c->ua, floe_sim_now(c->sim)));
}

int floe_sim_call_kick(floe_sim_call *c) {
    return floe_sim_endpoint_kick(c->ep);
}

/* ---- state -------------------------------------------------------------------------- */

floe_sip_ua *floe_sim_call_ua(floe_sim_call *c) {
    return c->ua;
}

const char *floe_sim_call_name(const floe_sim_call *c) {
    return c->name;
}

floe_addr floe_sim_call_sip_addr(const floe_sim_call *c) {
    return c->sip_addr;
}

void floe_sim_call_result(const floe_sim_call *c, floe_sip_ua_result *out) {
    floe_sip_ua_result_get(c->ua, out);
}

const floe_sim_endpoint_stats *floe_sim_call_endpoint_stats(const floe_sim_call *c) {
    return floe_sim_endpoint_stats_get(c->ep);
}

const int16_t *floe_sim_call_audio(const floe_sim_call *c, size_t *n) {
    *n = c->n_audio;
    return c->audio;
}

uint64_t floe_sim_call_audio_dropped(const floe_sim_call *c) {
    return c->audio_dropped;
}
