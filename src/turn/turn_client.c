/* The TURN client: lifetime, the five-step loop, demultiplexing, the event queue and the
 * scheduler that starts whatever is due. The protocol pieces live next door: requests
 * and their answers in turn_txn.c, credentials in turn_auth.c, the allocation in
 * turn_alloc.c, permissions in turn_perm.c, channels in turn_channel.c, data in
 * turn_data.c, ChannelData framing in turn_framing.c. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

void floe_turn_config_default(floe_turn_config *c) {
    memset(c, 0, sizeof *c);
    c->transport = FLOE_TRANSPORT_UDP;
    c->family = FLOE_AF_INET4;
    c->fingerprint = true;
}

static bool copy_text(char *dst, size_t cap, const char *src) {
    if (!src) {
        dst[0] = '\0';
        return true;
    }
    size_t n = strlen(src);
    if (n + 1 > cap) return false;
    memcpy(dst, src, n + 1);
    return true;
}

int floe_turn_client_new(floe_turn_client **out, const floe_turn_config *cfg) {
    *out = NULL;
    if (!cfg->rand) return FLOE_ERR_INVAL;
    if (cfg->server.family != FLOE_AF_INET4 && cfg->server.family != FLOE_AF_INET6)
        return FLOE_ERR_INVAL;
    /* DTLS carries datagrams: everything below treats it as UDP (not reliable). */
    if (cfg->transport != FLOE_TRANSPORT_UDP && cfg->transport != FLOE_TRANSPORT_DTLS &&
        !floe_transport_reliable(cfg->transport))
        return FLOE_ERR_INVAL;
    uint8_t fam = cfg->family == FLOE_AF_NONE ? FLOE_AF_INET4 : cfg->family;
    if (fam != FLOE_AF_INET4 && fam != FLOE_AF_INET6) return FLOE_ERR_INVAL;
    if (cfg->dual && fam != FLOE_AF_INET4) return FLOE_ERR_INVAL; /* RFC 8656 §7.1 */
    /* RFC 6062 §4.1: a TCP allocation is asked for over TCP or TLS, and only one family. */
    if (cfg->tcp_relay && (!floe_transport_reliable(cfg->transport) || cfg->dual))
        return FLOE_ERR_INVAL;
    if (cfg->max_permissions > FLOE_TURN_MAX_PERMISSIONS ||
        cfg->max_channels > FLOE_TURN_MAX_CHANNELS ||
        cfg->max_connections > FLOE_TURN_MAX_CONNECTIONS || cfg->rto > FLOE_S(60))
        return FLOE_ERR_INVAL;
    if (cfg->username && (!cfg->password || !cfg->username[0])) return FLOE_ERR_INVAL;
    floe_turn_client *c = calloc(1, sizeof *c);
    if (!c) return FLOE_ERR_NOMEM;
    if (!copy_text(c->username, sizeof c->username, cfg->username) ||
        !copy_text(c->password, sizeof c->password, cfg->username ? cfg->password : NULL) ||
        !copy_text(c->realm, sizeof c->realm, cfg->realm) ||
        !copy_text(c->software, sizeof c->software, cfg->software)) {
        free(c);
        return FLOE_ERR_INVAL;
    }
    c->cfg = *cfg;
    c->cfg.family = fam;
    /* The strings are ours now; the caller's may go away. */
    c->cfg.username = c->username[0] ? c->username : NULL;
    c->cfg.password = c->username[0] ? c->password : NULL;
    c->cfg.software = c->software[0] ? c->software : NULL;
    c->cfg.realm = c->realm[0] ? c->realm : NULL;
    c->max_perms = cfg->max_permissions ? cfg->max_permissions : FLOE_TURN_MAX_PERMISSIONS;
    c->max_chans = cfg->max_channels ? cfg->max_channels : FLOE_TURN_MAX_CHANNELS;
    c->max_conns = cfg->max_connections ? cfg->max_connections : FLOE_TURN_MAX_CONNECTIONS;
    c->state = FLOE_TURN_NEW;
    c->server = cfg->server;
    c->give_up_at = FLOE_TIME_NEVER;
    c->refresh_at = c->expires_at = FLOE_TIME_NEVER;
    c->next_channel = FLOE_TURN_CHANNEL_MIN;
    for (unsigned i = 0; i < FLOE_TURN_MAX_PERMISSIONS; i++)
        c->perms[i].slot = TURN_NO_SLOT;
    for (unsigned i = 0; i < FLOE_TURN_MAX_CHANNELS; i++)
        c->chans[i].slot = TURN_NO_SLOT;
    for (unsigned i = 0; i < FLOE_TURN_MAX_CONNECTIONS; i++)
        c->conns[i].slot = TURN_NO_SLOT;
    *out = c;
    return FLOE_OK;
}

void floe_turn_client_free(floe_turn_client *c) {
    if (!c) return;
    /* The key and password are secrets: do not leave them in freed memory. */
    memset(c->password, 0, sizeof c->password);
    memset(&c->auth, 0, sizeof c->auth);
    free(c);
}

/* ---- events ----------------------------------------------------------------------- */

floe_turn_event *turn_event_push(floe_turn_client *c, floe_turn_event_type type, floe_time_ns now) {
    if (c->ev_count == FLOE_TURN_MAX_EVENTS) {
        c->ev_head = (c->ev_head + 1) % FLOE_TURN_MAX_EVENTS;
        c->ev_count--;
        c->stats.events_dropped++;
    }
    floe_turn_event *ev = &c->events[(c->ev_head + c->ev_count) % FLOE_TURN_MAX_EVENTS];
    c->ev_count++;
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->at = now;
    ev->server = c->server;
    return ev;
}

void turn_copy_reason(char *dst, size_t cap, const char *src, size_t len) {
    if (!src) len = 0;
    /* Some servers count NUL padding into the phrase (coturn's 447): it ends there. */
    const char *nul = len ? memchr(src, '\0', len) : NULL;
    if (nul) len = (size_t)(nul - src);
    if (len > cap - 1) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    dst[len] = '\0';
}

void turn_event_outcome(floe_turn_event *ev, const turn_outcome *o) {
    if (!o) return;
    ev->err = o->err;
    ev->error_code = o->code;
    if (o->reason && o->reason_len)
        turn_copy_reason(ev->reason, sizeof ev->reason, o->reason, o->reason_len);
    else if (o->code)
        turn_copy_reason(ev->reason, sizeof ev->reason, floe_stun_error_reason(o->code),
                         strlen(floe_stun_error_reason(o->code)));
    else if (o->err)
        turn_copy_reason(ev->reason, sizeof ev->reason, floe_strerror(o->err),
                         strlen(floe_strerror(o->err)));
}

bool floe_turn_client_next_event(floe_turn_client *c, floe_turn_event *ev) {
    if (c->ev_count == 0) return false;
    *ev = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % FLOE_TURN_MAX_EVENTS;
    c->ev_count--;
    return true;
}

/* ---- scheduling ------------------------------------------------------------------- */

floe_time_ns turn_refresh_time(floe_time_ns now, floe_time_ns life) {
    floe_time_ns lead = life >= 2 * FLOE_TURN_REFRESH_MARGIN ? FLOE_TURN_REFRESH_MARGIN : life / 2;
    return turn_time_add(now, life - lead);
}

void turn_pump(floe_turn_client *c, floe_time_ns now) {
    turn_alloc_tick(c, now);
    if (c->state != FLOE_TURN_ALLOCATED) return;
    /* What expired goes first, so the slots it frees serve what is due in the same tick
     * (else a due refresh would wait with its time in the past: fuzz_turn_client found
     * that). Channels start first: a ChannelBind also installs its peer's permission. */
    turn_chan_expire(c, now);
    turn_perm_expire(c, now);
    turn_conn_expire(c, now);
    turn_chan_start(c, now);
    turn_perm_start(c, now);
    turn_conn_start(c, now);
}

bool turn_family_ok(const floe_turn_client *c, const floe_addr *peer) {
    if (c->state == FLOE_TURN_ALLOCATED) {
        for (unsigned i = 0; i < c->n_relayed; i++)
            if (c->relayed[i].family == peer->family) return true;
        return false;
    }
    return peer->family == c->cfg.family || (c->cfg.dual && peer->family == FLOE_AF_INET6);
}

int turn_check_peer(const floe_turn_client *c, const floe_addr *peer) {
    if (c->state != FLOE_TURN_NEW && c->state != FLOE_TURN_ALLOCATING &&
        c->state != FLOE_TURN_ALLOCATED)
        return FLOE_ERR_STATE;
    if (!peer || (peer->family != FLOE_AF_INET4 && peer->family != FLOE_AF_INET6))
        return FLOE_ERR_INVAL;
    if (floe_addr_classify(peer, NULL) &
        (FLOE_ADDR_UNSPECIFIED | FLOE_ADDR_MULTICAST | FLOE_ADDR_BROADCAST))
        return FLOE_ERR_INVAL;
    if (!turn_family_ok(c, peer)) return FLOE_ERR_UNSUPPORTED;
    return FLOE_OK;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

int floe_turn_client_allocate(floe_turn_client *c, floe_time_ns now) {
    if (c->state != FLOE_TURN_NEW) return FLOE_ERR_STATE;
    int rc = turn_txn_start(c, TURN_ALLOC_SLOT, TURN_TXN_ALLOCATE, 0, now);
    if (rc != FLOE_OK) return rc;
    c->started = now;
    c->give_up_at = c->cfg.timeout ? turn_time_add(now, c->cfg.timeout) : FLOE_TIME_NEVER;
    c->state = turn_alloc_next_state(c->state, TURN_ALLOC_EV_START);
    return FLOE_OK;
}

int floe_turn_client_close(floe_turn_client *c, floe_time_ns now) {
    floe_turn_state before = c->state;
    if (before != FLOE_TURN_NEW && before != FLOE_TURN_ALLOCATING && before != FLOE_TURN_ALLOCATED)
        return FLOE_ERR_STATE;
    turn_txn_release_all(c);
    turn_chan_clear(c);
    turn_perm_clear(c);
    turn_conn_clear(c);
    c->state = turn_alloc_next_state(c->state, TURN_ALLOC_EV_CLOSE);
    if (c->state == FLOE_TURN_DEALLOCATING) {
        int rc = turn_txn_start(c, TURN_ALLOC_SLOT, TURN_TXN_DEALLOCATE, 0, now);
        if (rc == FLOE_OK) return FLOE_OK;
        /* No transaction ID: the allocation is left to expire on the server. */
        turn_outcome o = {.err = rc};
        turn_alloc_apply(c, TURN_ALLOC_EV_ERROR, &o, now);
        return FLOE_OK;
    }
    turn_event_push(c, FLOE_TURN_EV_DEALLOCATED, now);
    return FLOE_OK;
}

/* ---- the loop ----------------------------------------------------------------------- */

floe_turn_recv_kind floe_turn_client_on_recv(floe_turn_client *c, floe_time_ns now,
                                             const uint8_t *p, size_t len, const floe_addr *from,
                                             floe_turn_data *data) {
    floe_turn_data scratch;
    if (!data) data = &scratch;
    memset(data, 0, sizeof *data);
    c->stats.rx++;
    if (!from || !floe_addr_equal(from, &c->server)) {
        c->stats.drop_not_server++;
        return FLOE_TURN_RECV_DROPPED;
    }
    if (!p || len == 0) {
        c->stats.drop_malformed++;
        return FLOE_TURN_RECV_DROPPED;
    }
    /* RFC 8656 §12.4 / RFC 7983: 0b01 in the top bits is ChannelData, 0b00 is STUN. */
    if ((p[0] & 0xc0) == 0x40) return turn_data_on_channel(c, p, len, data);
    floe_stun_msg m;
    if ((p[0] & 0xc0) != 0 || floe_stun_msg_decode(p, len, 0, &m) != FLOE_OK || m.raw_len != len) {
        c->stats.drop_malformed++;
        return FLOE_TURN_RECV_DROPPED;
    }
    switch (m.cls) {
    case FLOE_STUN_INDICATION:
        if (m.method == FLOE_STUN_DATA) return turn_data_on_indication(c, &m, data);
        if (m.method == FLOE_STUN_CONNECTION_ATTEMPT) return turn_conn_on_attempt(c, &m, now);
        c->stats.drop_unexpected++;
        return FLOE_TURN_RECV_DROPPED;
    case FLOE_STUN_REQUEST: c->stats.drop_unexpected++; return FLOE_TURN_RECV_DROPPED;
    case FLOE_STUN_SUCCESS:
    case FLOE_STUN_ERROR: break;
    }
    uint64_t matched = c->stats.rx_responses;
    turn_txn_on_response(c, &m, TURN_NO_CONN, now);
    turn_pump(c, now);
    return c->stats.rx_responses != matched ? FLOE_TURN_RECV_CONTROL : FLOE_TURN_RECV_DROPPED;
}

void floe_turn_client_tick(floe_turn_client *c, floe_time_ns now) {
    turn_txn_tick(c, now);
    turn_pump(c, now);
}

int floe_turn_client_next_send(floe_turn_client *c, floe_time_ns now, uint8_t *buf, size_t cap,
                               size_t *len, floe_addr *to) {
    floe_turn_client_tick(c, now);
    /* ConnectionBinds go on data connections: conn_next_send hands them out. */
    const turn_txn *t;
    int rc = turn_txn_take(c, now, false, buf, cap, len, &t);
    if (rc == FLOE_OK) *to = c->server;
    return rc;
}

static floe_time_ns min_time(floe_time_ns a, floe_time_ns b) {
    return a < b ? a : b;
}

floe_time_ns floe_turn_client_deadline(const floe_turn_client *c) {
    floe_time_ns d = turn_txn_deadline(c);
    d = min_time(d, turn_alloc_deadline(c));
    if (c->state == FLOE_TURN_ALLOCATED) {
        d = min_time(d, turn_perm_deadline(c));
        d = min_time(d, turn_chan_deadline(c));
        d = min_time(d, turn_conn_deadline(c));
    }
    return d;
}

/* ---- inspection --------------------------------------------------------------------- */

floe_turn_state floe_turn_client_state(const floe_turn_client *c) {
    return c->state;
}

floe_addr floe_turn_client_server(const floe_turn_client *c) {
    return c->server;
}

size_t floe_turn_client_relayed(const floe_turn_client *c, floe_addr *out, size_t max) {
    if (c->state != FLOE_TURN_ALLOCATED && c->state != FLOE_TURN_DEALLOCATING) return 0;
    for (size_t i = 0; i < c->n_relayed && i < max; i++)
        out[i] = c->relayed[i];
    return c->n_relayed;
}

floe_time_ns floe_turn_client_expiry(const floe_turn_client *c) {
    return c->state == FLOE_TURN_ALLOCATED ? c->expires_at : FLOE_TIME_NEVER;
}

const floe_turn_stats *floe_turn_client_stats(const floe_turn_client *c) {
    return &c->stats;
}
