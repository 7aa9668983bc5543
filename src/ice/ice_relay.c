/* Relayed candidates (RFC 8445 §5.1.1.2 with RFC 8656): one TURN allocation per (host
 * base, TURN server) of the same family, made by the sans-IO TURN client over the host
 * base's socket, or, for a server reached over TCP or TLS (for networks that block UDP),
 * over a stream base: a connection the runtime opens from the host base's IP to the
 * server, which carries framed TURN messages and dies with the allocation.
 *
 * A relayed address becomes a base of its own (ice_local_add_relay). Everything the
 * agent sends "from" it is wrapped for the TURN server (a Send indication, or ChannelData
 * once the selected pair's channel is bound) and leaves from the host base; what the
 * server relays back arrives on the host base and is unwrapped and handled as if it had
 * arrived on the relay base. Permissions follow the pairs: every remote candidate paired
 * with a relayed candidate gets one as the pair is formed, so that checks go out (and
 * the peer's checks come in) without waiting. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "ice_priv.h"

enum { RELAY_IDLE = 0, RELAY_ALLOCATING, RELAY_UP, RELAY_FAILED };

typedef struct ice_turn {
    floe_turn_client *c;
    uint8_t via;        /* the host base */
    uint8_t sock;       /* where its messages go: the host base, or its stream base */
    uint8_t server;     /* index in cfg.turn_servers */
    uint8_t relay_base; /* the relay's base once allocated, else ICE_NO */
    uint8_t state;
    bool gone; /* its stream closed: nothing more can go through it */
} ice_turn;

struct ice_relay {
    ice_turn turn[FLOE_ICE_MAX_RELAYS];
    unsigned n;
    uint8_t scratch[FLOE_ICE_SEND_MAX]; /* a message before it is wrapped */
};

static int turn_rand(void *ctx, void *buf, size_t len) {
    floe_ice_agent *a = ctx;
    return ice_rand(a, buf, len) ? FLOE_OK : FLOE_ERR_CRYPTO;
}

int ice_relay_setup(floe_ice_agent *a) {
    if (a->cfg.n_turn_servers == 0 || a->cfg.lite) return FLOE_OK;
    ice_relay *r = calloc(1, sizeof *r);
    if (!r) return FLOE_ERR_NOMEM;
    a->relay = r;
    unsigned n_hosts = a->n_bases; /* stream bases are appended below */
    for (unsigned b = 0; b < n_hosts; b++) {
        if (a->bases[b].kind != ICE_BASE_HOST) continue;
        for (unsigned s = 0; s < a->cfg.n_turn_servers; s++) {
            const floe_ice_turn_server *ts = &a->cfg.turn_servers[s];
            if (ts->addr.family != a->bases[b].addr.family) continue;
            if (r->n == FLOE_ICE_MAX_RELAYS) {
                a->stats.cap_candidates++;
                continue;
            }
            unsigned sock = b;
            if (floe_transport_reliable(ts->transport)) {
                int sb = ice_local_add_stream(a, b, s);
                if (sb < 0) continue; /* counted */
                sock = (unsigned)sb;
            }
            floe_turn_config tc;
            floe_turn_config_default(&tc);
            tc.server = ts->addr;
            tc.transport = ts->transport;
            tc.username = ts->username;
            tc.password = ts->password;
            tc.family = ts->addr.family;
            tc.timeout = sock == b ? FLOE_ICE_RELAY_TIMEOUT : FLOE_ICE_RELAY_TIMEOUT_STREAM;
            tc.rand = turn_rand;
            tc.rand_ctx = a;
            ice_turn *t = &r->turn[r->n];
            if (floe_turn_client_new(&t->c, &tc) != FLOE_OK) {
                a->stats.relay_failures++;
                continue;
            }
            t->via = (uint8_t)b;
            t->sock = (uint8_t)sock;
            t->server = (uint8_t)s;
            t->relay_base = ICE_NO;
            r->n++;
        }
    }
    return FLOE_OK;
}

void ice_relay_free(floe_ice_agent *a) {
    if (!a->relay) return;
    for (unsigned i = 0; i < a->relay->n; i++)
        floe_turn_client_free(a->relay->turn[i].c);
    free(a->relay);
    a->relay = NULL;
}

void floe_ice_agent_release_relays(floe_ice_agent *a, floe_time_ns now) {
    if (!a || !a->relay) return;
    for (unsigned i = 0; i < a->relay->n; i++) {
        ice_turn *t = &a->relay->turn[i];
        if (t->state == RELAY_UP || t->state == RELAY_ALLOCATING) {
            floe_turn_client_close(t->c, now);
            t->state = RELAY_FAILED; /* no more data through it */
        }
    }
}

bool ice_relay_pending(const floe_ice_agent *a) {
    if (!a->relay) return false;
    for (unsigned i = 0; i < a->relay->n; i++)
        if (a->relay->turn[i].state <= RELAY_ALLOCATING) return true;
    return false;
}

static ice_turn *turn_of_relay_base(floe_ice_agent *a, unsigned base) {
    if (!a->relay || base >= a->n_bases || a->bases[base].kind != ICE_BASE_RELAY) return NULL;
    for (unsigned i = 0; i < a->relay->n; i++)
        if (a->relay->turn[i].relay_base == base) return &a->relay->turn[i];
    return NULL;
}

/* What a TURN client reported: a relayed candidate, or a failure. */
static void drain_events(floe_ice_agent *a, ice_turn *t, floe_time_ns now) {
    floe_turn_event ev;
    while (floe_turn_client_next_event(t->c, &ev)) {
        if (ev.type == FLOE_TURN_EV_ALLOCATED && t->state == RELAY_ALLOCATING) {
            t->state = RELAY_UP;
            a->stats.relay_allocations++;
            unsigned base = a->n_bases;
            const floe_addr *mapped = ev.mapped.family ? &ev.mapped : NULL;
            if (ice_local_add_relay(a, t->via, &ev.relayed[0], mapped, &ev.server, now) >= 0)
                t->relay_base = (uint8_t)base;
        } else if (ev.type == FLOE_TURN_EV_FAILED) {
            if (t->state != RELAY_FAILED) a->stats.relay_failures++;
            t->state = RELAY_FAILED;
        }
    }
    ice_gather_check_done(a, now);
}

void ice_relay_tick(floe_ice_agent *a, floe_time_ns now) {
    if (!a->relay) return;
    for (unsigned i = 0; i < a->relay->n; i++) {
        ice_turn *t = &a->relay->turn[i];
        if (t->state == RELAY_IDLE) continue;
        if (now >= floe_turn_client_deadline(t->c)) floe_turn_client_tick(t->c, now);
        drain_events(a, t, now);
    }
    /* Allocations start one per pacing slot, like every other transaction (§14.2). */
    for (unsigned i = 0; i < a->relay->n && a->gathering; i++) {
        ice_turn *t = &a->relay->turn[i];
        if (t->state != RELAY_IDLE) continue;
        if (!ice_pacer_ready(a, now)) break;
        ice_pacer_take(a, now);
        t->state = RELAY_ALLOCATING;
        if (floe_turn_client_allocate(t->c, now) != FLOE_OK) {
            t->state = RELAY_FAILED;
            a->stats.relay_failures++;
        }
        break;
    }
}

floe_time_ns ice_relay_deadline(const floe_ice_agent *a) {
    floe_time_ns d = FLOE_TIME_NEVER;
    if (!a->relay) return d;
    bool idle = false;
    for (unsigned i = 0; i < a->relay->n; i++) {
        const ice_turn *t = &a->relay->turn[i];
        if (t->state == RELAY_IDLE)
            idle = true;
        else
            d = ice_min_time(d, floe_turn_client_deadline(t->c));
    }
    if (idle && a->gathering) d = ice_min_time(d, ice_pacer_next(a));
    return d;
}

int ice_relay_next_control(floe_ice_agent *a, floe_time_ns now, uint8_t *buf, size_t cap,
                           size_t *len, unsigned *base, floe_addr *to) {
    if (!a->relay) return FLOE_ERR_NOT_FOUND;
    for (unsigned i = 0; i < a->relay->n; i++) {
        ice_turn *t = &a->relay->turn[i];
        if (t->state == RELAY_IDLE || t->gone) continue;
        int rc = floe_turn_client_next_send(t->c, now, buf, cap, len, to);
        drain_events(a, t, now);
        if (rc == FLOE_ERR_NOT_FOUND) continue;
        *base = t->sock;
        return rc;
    }
    return FLOE_ERR_NOT_FOUND;
}

uint8_t *ice_relay_scratch(floe_ice_agent *a, size_t *cap) {
    if (!a->relay) return NULL;
    *cap = sizeof a->relay->scratch;
    return a->relay->scratch;
}

int ice_relay_wrap(floe_ice_agent *a, floe_time_ns now, const uint8_t *msg, size_t n, uint8_t *buf,
                   size_t cap, size_t *len, unsigned *base, floe_addr *to) {
    ice_turn *t = turn_of_relay_base(a, *base);
    if (!t || t->state != RELAY_UP) return FLOE_ERR_STATE;
    floe_turn_client_permit(t->c, now, to); /* normally done when the pair was formed */
    int rc = floe_turn_client_send(t->c, to, msg, n, buf, cap, len);
    if (rc != FLOE_OK) return rc;
    *base = t->sock;
    *to = floe_turn_client_server(t->c); /* after a redirect, the server it moved to */
    return FLOE_OK;
}

void ice_relay_on_pair(floe_ice_agent *a, unsigned local, unsigned remote, floe_time_ns now) {
    ice_turn *t = turn_of_relay_base(a, a->local[local].base);
    if (t && t->state == RELAY_UP) floe_turn_client_permit(t->c, now, &a->remote[remote].addr);
}

void ice_relay_on_selected(floe_ice_agent *a, unsigned base, const floe_addr *remote,
                           floe_time_ns now) {
    ice_turn *t = turn_of_relay_base(a, base);
    uint16_t ch;
    if (t && t->state == RELAY_UP) floe_turn_client_bind_channel(t->c, now, remote, &ch);
}

ice_turn_rx ice_relay_on_recv(floe_ice_agent *a, floe_time_ns now, unsigned base,
                              const floe_addr *from, const uint8_t *p, size_t len,
                              unsigned *relay_base, floe_addr *peer, const uint8_t **data,
                              size_t *data_len) {
    if (!a->relay) return ICE_TURN_NOT_MINE;
    for (unsigned i = 0; i < a->relay->n; i++) {
        ice_turn *t = &a->relay->turn[i];
        if (t->sock != base || t->state == RELAY_IDLE) continue;
        floe_addr server = floe_turn_client_server(t->c);
        if (!ice_addr_same(&server, from)) continue;
        floe_turn_data d;
        floe_turn_recv_kind k = floe_turn_client_on_recv(t->c, now, p, len, from, &d);
        drain_events(a, t, now);
        if (k == FLOE_TURN_RECV_CONTROL) return ICE_TURN_CONSUMED;
        if (k == FLOE_TURN_RECV_DATA && t->relay_base != ICE_NO) {
            *relay_base = t->relay_base;
            *peer = d.peer;
            *data = d.p;
            *data_len = d.len;
            return ICE_TURN_DATA;
        }
        /* Not this client's: maybe a STUN server's answer on the same address. */
    }
    return ICE_TURN_NOT_MINE;
}

int floe_ice_agent_stream(const floe_ice_agent *a, unsigned base, floe_ice_stream *out) {
    if (!a || !out) return FLOE_ERR_INVAL;
    if (base >= a->n_bases || a->bases[base].kind != ICE_BASE_STREAM) return FLOE_ERR_NOT_FOUND;
    const ice_base *b = &a->bases[base];
    const floe_ice_turn_server *ts = &a->cfg.turn_servers[b->server];
    out->transport = ts->transport;
    out->local = b->addr;
    out->remote = ts->addr;
    out->server_name = ts->server_name;
    return FLOE_OK;
}

void floe_ice_agent_stream_closed(floe_ice_agent *a, floe_time_ns now, unsigned base) {
    if (!a || !a->relay || base >= a->n_bases || a->bases[base].kind != ICE_BASE_STREAM) return;
    a->now = now;
    for (unsigned i = 0; i < a->relay->n; i++) {
        ice_turn *t = &a->relay->turn[i];
        if (t->sock != base || t->gone) continue;
        /* The allocation lived on that connection (RFC 8656 §3.1): it is gone. */
        if (t->state != RELAY_FAILED) a->stats.relay_failures++;
        a->stats.relay_streams_lost++;
        t->state = RELAY_FAILED;
        t->gone = true;
    }
    ice_gather_check_done(a, now);
}
