/* Ports held for a RESERVATION-TOKEN (RFC 8656 §7.2, §14.6, §14.9). An Allocate with
 * EVEN-PORT and the R bit gets an even relayed port N; the runtime holds N + 1 and the
 * table keeps it under an 8-byte token for 30 s. A later Allocate carrying the token
 * (any client, any 5-tuple: the token alone names it) gets that port, once.
 *
 * The table is a fixed array; a full table refuses new reservations instead of growing.
 * A core has one of its own, or uses one that several cores share (cfg.reservations, one
 * core per thread: the second Allocate may reach another core than the first), which it
 * only touches between cfg.lock(ctx, true) and cfg.lock(ctx, false).
 *
 * Tokens come from the keyed hash of the table's serial number, the time, the owning
 * allocation and the held address: nobody without the key can predict one or step from
 * one token to the next. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "turn_server_priv.h"

#define RELEASE_BATCH 32 /* held ports released per pass, outside the lock */

struct floe_turn_reservations {
    tsrv_resv *e;
    uint32_t cap, n;
    uint64_t serial; /* reservations made: one input of the token's keyed hash */
};

int floe_turn_reservations_new(floe_turn_reservations **out, uint32_t max) {
    *out = NULL;
    if (max > FLOE_TSRV_MAX_RESERVATIONS) return FLOE_ERR_CONFIG;
    floe_turn_reservations *t = calloc(1, sizeof *t);
    if (!t || (max && !(t->e = calloc(max, sizeof *t->e)))) {
        free(t);
        return FLOE_ERR_NOMEM;
    }
    t->cap = max;
    *out = t;
    return FLOE_OK;
}

void floe_turn_reservations_free(floe_turn_reservations *t, void (*release)(void *, uint64_t),
                                 void *ctx) {
    if (!t) return;
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->e[i].token && release) release(ctx, t->e[i].held);
    free(t->e);
    free(t);
}

static void lock(floe_turn_server *srv, bool on) {
    if (srv->resv_shared && srv->cfg.lock) srv->cfg.lock(srv->cfg.ctx, on);
}

int tsrv_resv_init(floe_turn_server *srv) {
    if (srv->cfg.reservations) {
        srv->resv = srv->cfg.reservations;
        srv->resv_shared = true;
        return FLOE_OK;
    }
    return floe_turn_reservations_new(&srv->resv, srv->cfg.max_reservations);
}

void tsrv_resv_free(floe_turn_server *srv) {
    /* A shared table outlives its cores: the runtime frees it. */
    if (!srv->resv_shared)
        floe_turn_reservations_free(srv->resv, srv->cfg.relay_close, srv->cfg.ctx);
    srv->resv = NULL;
}

size_t tsrv_resv_bytes(const floe_turn_server *srv) {
    return srv->resv && !srv->resv_shared ? srv->resv->cap * sizeof(tsrv_resv) : 0;
}

bool tsrv_resv_room(floe_turn_server *srv) {
    if (!srv->resv || !srv->cfg.relay_open_pair) return false;
    lock(srv, true);
    bool room = srv->resv->n < srv->resv->cap;
    lock(srv, false);
    return room;
}

static uint64_t new_token(floe_turn_server *srv, uint64_t serial, uint64_t owner,
                          const floe_addr *addr) {
    /* A label of its own keeps these inputs apart from the table's other hashes. */
    uint8_t in[8 + 8 + 8 + 8 + 16 + 2 + 1];
    memcpy(in, "floe-rsv", 8);
    uint64_t now = (uint64_t)srv->now;
    memcpy(in + 8, &serial, 8);
    memcpy(in + 16, &now, 8);
    memcpy(in + 24, &owner, 8);
    memcpy(in + 32, addr->ip, 16);
    in[48] = (uint8_t)(addr->port >> 8);
    in[49] = (uint8_t)addr->port;
    in[50] = addr->family;
    uint64_t t = tsrv_hash(srv, in, sizeof in);
    return t ? t : 1; /* 0 marks a free entry */
}

uint64_t tsrv_resv_add(floe_turn_server *srv, uint64_t owner, const floe_addr *addr,
                       uint64_t held) {
    floe_turn_reservations *t = srv->resv;
    uint64_t token = 0;
    lock(srv, true);
    for (uint32_t i = 0; t->n < t->cap && i < t->cap; i++) {
        tsrv_resv *r = &t->e[i];
        if (r->token) continue;
        /* Unique while it lives: no two live entries may share a token. */
        uint64_t serial = ++t->serial;
        token = new_token(srv, serial, owner, addr);
        for (uint32_t k = 0; k < t->cap; k++)
            if (t->e[k].token == token) token = 0;
        if (!token) break;
        r->token = token;
        r->held = held;
        r->owner = owner;
        r->core = srv;
        r->addr = *addr;
        r->until = srv->now + FLOE_S(FLOE_TSRV_RESERVATION_S);
        t->n++;
        break;
    }
    lock(srv, false);
    if (token) {
        srv->counters[FLOE_TSRV_RESERVED]++;
    } else if (srv->cfg.relay_close) { /* another core filled the table meanwhile */
        srv->cfg.relay_close(srv->cfg.ctx, held);
    }
    return token;
}

/* The live entry of token, or NULL; an expired one is taken out into *expired. Locked. */
static tsrv_resv *find(floe_turn_server *srv, uint64_t token, uint64_t *expired) {
    floe_turn_reservations *t = srv->resv;
    for (uint32_t i = 0; token && t->n && i < t->cap; i++) {
        tsrv_resv *r = &t->e[i];
        if (r->token != token) continue;
        if (r->until > srv->now) return r;
        *expired = r->held; /* the tick has not seen it yet */
        r->token = 0;
        t->n--;
        return NULL;
    }
    return NULL;
}

static void release_expired(floe_turn_server *srv, const uint64_t *held, size_t n) {
    for (size_t i = 0; i < n; i++) {
        srv->counters[FLOE_TSRV_RESERVATION_EXPIRED]++;
        if (srv->cfg.relay_close) srv->cfg.relay_close(srv->cfg.ctx, held[i]);
    }
}

bool tsrv_resv_known(floe_turn_server *srv, uint64_t token) {
    if (!srv->resv) return false;
    uint64_t expired = 0;
    lock(srv, true);
    bool live = find(srv, token, &expired) != NULL;
    lock(srv, false);
    if (expired) release_expired(srv, &expired, 1);
    return live;
}

bool tsrv_resv_take(floe_turn_server *srv, uint64_t token, floe_addr *addr, uint64_t *held) {
    if (!srv->resv) return false;
    uint64_t expired = 0;
    lock(srv, true);
    tsrv_resv *r = find(srv, token, &expired);
    if (r) {
        *addr = r->addr;
        *held = r->held;
        r->token = 0;
        srv->resv->n--;
    }
    lock(srv, false);
    if (expired) release_expired(srv, &expired, 1);
    if (r) srv->counters[FLOE_TSRV_RESERVATION_USED]++;
    return r != NULL;
}

uint64_t tsrv_resv_of(floe_turn_server *srv, uint64_t owner) {
    floe_turn_reservations *t = srv->resv;
    uint64_t token = 0;
    if (!t) return 0;
    lock(srv, true);
    for (uint32_t i = 0; t->n && i < t->cap && !token; i++)
        if (t->e[i].token && t->e[i].core == srv && t->e[i].owner == owner &&
            t->e[i].until > srv->now)
            token = t->e[i].token;
    lock(srv, false);
    return token;
}

uint32_t tsrv_resv_count(floe_turn_server *srv) {
    floe_turn_reservations *t = srv->resv;
    uint32_t n = 0;
    if (!t) return 0;
    lock(srv, true);
    for (uint32_t i = 0; t->n && i < t->cap; i++)
        n += t->e[i].token && t->e[i].core == srv;
    lock(srv, false);
    return n;
}

void tsrv_resv_tick(floe_turn_server *srv) {
    floe_turn_reservations *t = srv->resv;
    if (!t) return;
    for (;;) { /* the held ports are released outside the lock, a batch at a time */
        uint64_t held[RELEASE_BATCH];
        size_t n = 0;
        lock(srv, true);
        for (uint32_t i = 0; t->n && i < t->cap && n < RELEASE_BATCH; i++) {
            tsrv_resv *r = &t->e[i];
            if (r->token && r->until <= srv->now) {
                held[n++] = r->held;
                r->token = 0;
                t->n--;
            }
        }
        lock(srv, false);
        release_expired(srv, held, n);
        if (n < RELEASE_BATCH) return;
    }
}
