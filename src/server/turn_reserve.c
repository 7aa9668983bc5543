/* Ports held for a RESERVATION-TOKEN (RFC 8656 §7.2, §14.6, §14.9). An Allocate with
 * EVEN-PORT and the R bit gets an even relayed port N; the runtime holds N + 1 and the
 * core keeps it here under an 8-byte token for 30 s. A later Allocate carrying the token
 * (any client, any 5-tuple: the token alone names it) gets that port, once.
 *
 * The table is a fixed array of cfg.max_reservations entries; a full table refuses new
 * reservations instead of growing. Tokens come from the keyed hash of a serial number,
 * the time, the owning allocation and the held address: nobody without the key can
 * predict one or step from one token to the next, and cores that share the key (worker
 * threads) still give different tokens, since a held address is held by one of them. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "turn_server_priv.h"

int tsrv_resv_init(floe_turn_server *srv) {
    if (!srv->cfg.max_reservations) return FLOE_OK;
    srv->resv = calloc(srv->cfg.max_reservations, sizeof *srv->resv);
    return srv->resv ? FLOE_OK : FLOE_ERR_NOMEM;
}

static void resv_release(floe_turn_server *srv, tsrv_resv *r) {
    uint64_t held = r->held;
    r->token = 0;
    srv->n_resv--;
    if (srv->cfg.relay_close) srv->cfg.relay_close(srv->cfg.ctx, held);
}

void tsrv_resv_free(floe_turn_server *srv) {
    for (uint32_t i = 0; srv->resv && i < srv->cfg.max_reservations; i++)
        if (srv->resv[i].token) resv_release(srv, &srv->resv[i]);
    free(srv->resv);
    srv->resv = NULL;
}

bool tsrv_resv_room(const floe_turn_server *srv) {
    return srv->resv && srv->cfg.relay_open_pair && srv->n_resv < srv->cfg.max_reservations;
}

static uint64_t new_token(floe_turn_server *srv, uint64_t owner, const floe_addr *addr) {
    /* A label of its own keeps these inputs apart from the table's other hashes. */
    uint8_t in[8 + 8 + 8 + 8 + 16 + 2 + 1];
    memcpy(in, "floe-rsv", 8);
    uint64_t serial = ++srv->resv_serial, now = (uint64_t)srv->now;
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
    for (uint32_t i = 0; i < srv->cfg.max_reservations; i++) {
        tsrv_resv *r = &srv->resv[i];
        if (r->token) continue;
        r->token = new_token(srv, owner, addr);
        r->held = held;
        r->owner = owner;
        r->addr = *addr;
        r->until = tsrv_secs(srv) + FLOE_TSRV_RESERVATION_S;
        srv->n_resv++;
        srv->counters[FLOE_TSRV_RESERVED]++;
        return r->token;
    }
    /* Not reached (the caller checked tsrv_resv_room); the port is not kept unnamed. */
    if (srv->cfg.relay_close) srv->cfg.relay_close(srv->cfg.ctx, held);
    return 0;
}

tsrv_resv *tsrv_resv_find(floe_turn_server *srv, uint64_t token) {
    if (!token) return NULL;
    for (uint32_t i = 0; srv->n_resv && i < srv->cfg.max_reservations; i++) {
        tsrv_resv *r = &srv->resv[i];
        if (r->token != token) continue;
        if (r->until > tsrv_secs(srv)) return r;
        srv->counters[FLOE_TSRV_RESERVATION_EXPIRED]++; /* the tick has not seen it yet */
        resv_release(srv, r);
        return NULL;
    }
    return NULL;
}

void tsrv_resv_take(floe_turn_server *srv, tsrv_resv *r) {
    r->token = 0;
    srv->n_resv--;
    srv->counters[FLOE_TSRV_RESERVATION_USED]++;
}

uint64_t tsrv_resv_of(const floe_turn_server *srv, uint64_t owner) {
    for (uint32_t i = 0; srv->n_resv && i < srv->cfg.max_reservations; i++)
        if (srv->resv[i].token && srv->resv[i].owner == owner &&
            srv->resv[i].until > tsrv_secs(srv))
            return srv->resv[i].token;
    return 0;
}

void tsrv_resv_tick(floe_turn_server *srv) {
    uint32_t now = tsrv_secs(srv);
    for (uint32_t i = 0; srv->n_resv && i < srv->cfg.max_reservations; i++) {
        tsrv_resv *r = &srv->resv[i];
        if (r->token && r->until <= now) {
            srv->counters[FLOE_TSRV_RESERVATION_EXPIRED]++;
            resv_release(srv, r);
        }
    }
}
