/* RFC 6062 peer connections of a TCP allocation: Connect (the server connects from the
 * relayed address to a peer), ConnectionAttempt (a peer connected to it), and
 * ConnectionBind, the one request a new data connection carries before it becomes a
 * byte pipe to the peer. The table is fixed (max_conns entries); an entry lives from
 * connect() or the ConnectionAttempt until it fails or the runtime closes it. The
 * runtime owns every socket: the core tells it when to open a data connection and what
 * to write on it. */
#include <string.h>

#include "floe/err.h"
#include "turn/turn_priv.h"

static turn_conn *by_id(floe_turn_client *c, uint32_t id) {
    for (unsigned i = 0; i < c->max_conns; i++)
        if (c->conns[i].used && c->conns[i].has_id && c->conns[i].id == id) return &c->conns[i];
    return NULL;
}

static turn_conn *by_peer(floe_turn_client *c, const floe_addr *peer) {
    for (unsigned i = 0; i < c->max_conns; i++)
        if (c->conns[i].used && floe_addr_equal(&c->conns[i].peer, peer)) return &c->conns[i];
    return NULL;
}

static turn_conn *new_conn(floe_turn_client *c, const floe_addr *peer, floe_turn_conn_state s) {
    for (unsigned i = 0; i < c->max_conns; i++) {
        turn_conn *k = &c->conns[i];
        if (k->used) continue;
        memset(k, 0, sizeof *k);
        k->used = true;
        k->state = s;
        k->peer = *peer;
        k->slot = TURN_NO_SLOT;
        k->bind_by = FLOE_TIME_NEVER;
        return k;
    }
    c->stats.cap_connections++;
    return NULL;
}

static void drop(floe_turn_client *c, turn_conn *k) {
    if (k->slot != TURN_NO_SLOT) turn_txn_release(c, k->slot);
    k->used = false;
    k->slot = TURN_NO_SLOT;
}

void turn_conn_clear(floe_turn_client *c) {
    for (unsigned i = 0; i < FLOE_TURN_MAX_CONNECTIONS; i++)
        if (c->conns[i].used) drop(c, &c->conns[i]);
}

/* Applies ev; an entry that ends is reported (unless the runtime ended it) and removed. */
static void apply(floe_turn_client *c, turn_conn *k, turn_conn_event ev, const turn_outcome *o,
                  floe_time_ns now) {
    floe_turn_conn_state before = k->state;
    k->state = turn_conn_next_state(before, ev);
    if (k->state == before) return;
    switch (k->state) {
    case FLOE_TURN_CONN_FAILED: {
        floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_CONNECTION_FAILED, now);
        e->peer = k->peer;
        e->connection_id = k->has_id ? k->id : 0;
        turn_event_outcome(e, o);
        drop(c, k);
        return;
    }
    case FLOE_TURN_CONN_CLOSED: drop(c, k); return;
    case FLOE_TURN_CONN_OPENING:
        /* RFC 6062 §5.2, §5.3: the server waits this long for our ConnectionBind. */
        k->bind_by = turn_time_add(now, FLOE_TURN_CONN_BIND_WINDOW);
        return;
    case FLOE_TURN_CONN_BOUND: k->bind_by = FLOE_TIME_NEVER; return;
    case FLOE_TURN_CONN_NEW:
    case FLOE_TURN_CONN_CONNECTING:
    case FLOE_TURN_CONN_OFFERED:
    case FLOE_TURN_CONN_BINDING: return;
    }
}

static void fail(floe_turn_client *c, turn_conn *k, turn_conn_event ev, int err, const char *why,
                 floe_time_ns now) {
    turn_outcome o = {.err = err, .reason = why, .reason_len = strlen(why)};
    apply(c, k, ev, &o, now);
}

/* ---- the calls -------------------------------------------------------------------- */

int floe_turn_client_connect(floe_turn_client *c, floe_time_ns now, const floe_addr *peer) {
    if (!c->cfg.tcp_relay) return FLOE_ERR_UNSUPPORTED;
    int rc = turn_check_peer(c, peer);
    if (rc != FLOE_OK) return rc;
    if (peer->port == 0) return FLOE_ERR_INVAL;
    if (by_peer(c, peer)) return FLOE_ERR_STATE; /* the server would say 446 */
    if (!new_conn(c, peer, FLOE_TURN_CONN_NEW)) return FLOE_ERR_LIMIT;
    turn_pump(c, now);
    return FLOE_OK;
}

int floe_turn_client_accept(floe_turn_client *c, floe_time_ns now, uint32_t id) {
    turn_conn *k = c->state == FLOE_TURN_ALLOCATED ? by_id(c, id) : NULL;
    if (!k) return FLOE_ERR_NOT_FOUND;
    if (k->state != FLOE_TURN_CONN_OFFERED) return FLOE_ERR_STATE;
    /* The window started with the ConnectionAttempt: accepting does not extend it. */
    floe_time_ns by = k->bind_by;
    apply(c, k, TURN_CONN_EV_ACCEPT, NULL, now);
    k->bind_by = by;
    return FLOE_OK;
}

int floe_turn_client_conn_opened(floe_turn_client *c, floe_time_ns now, uint32_t id) {
    turn_conn *k = c->state == FLOE_TURN_ALLOCATED ? by_id(c, id) : NULL;
    if (!k) return FLOE_ERR_NOT_FOUND;
    if (k->state != FLOE_TURN_CONN_OPENING) return FLOE_ERR_STATE;
    apply(c, k, TURN_CONN_EV_OPENED, NULL, now);
    turn_pump(c, now); /* the ConnectionBind, if a slot is free */
    return FLOE_OK;
}

void floe_turn_client_conn_closed(floe_turn_client *c, floe_time_ns now, uint32_t id) {
    turn_conn *k = by_id(c, id);
    if (k) apply(c, k, TURN_CONN_EV_CLOSED, NULL, now);
}

floe_turn_conn_state floe_turn_client_conn(const floe_turn_client *c, uint32_t id,
                                           floe_addr *peer) {
    const turn_conn *k = by_id((floe_turn_client *)c, id);
    if (peer) {
        if (k)
            *peer = k->peer;
        else
            memset(peer, 0, sizeof *peer);
    }
    return k ? k->state : FLOE_TURN_CONN_FAILED;
}

floe_turn_conn_state floe_turn_client_conn_to(const floe_turn_client *c, const floe_addr *peer,
                                              uint32_t *id) {
    const turn_conn *k = peer ? by_peer((floe_turn_client *)c, peer) : NULL;
    if (id) *id = k && k->has_id ? k->id : 0;
    return k ? k->state : FLOE_TURN_CONN_FAILED;
}

/* ---- requests and answers ---------------------------------------------------------- */

void turn_conn_build(const floe_turn_client *c, turn_txn_kind kind, uint8_t idx,
                     floe_stun_builder *b) {
    const turn_conn *k = &c->conns[idx];
    if (kind == TURN_TXN_CONNECT)
        floe_stun_add_xor_addr(b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &k->peer); /* §4.3 */
    else
        floe_stun_add_u32(b, FLOE_STUN_ATTR_CONNECTION_ID, k->id); /* §4.3, §4.4 */
}

/* How a failed request maps onto the machine: no answer is a timeout, the rest errors. */
static turn_conn_event failure_event(const turn_outcome *o) {
    return o->err == FLOE_ERR_TIMEOUT || o->err == FLOE_ERR_INTEGRITY ? TURN_CONN_EV_TIMEOUT
                                                                      : TURN_CONN_EV_ERROR;
}

void turn_conn_connect_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o,
                            floe_time_ns now) {
    turn_conn *k = &c->conns[idx];
    if (!k->used) return;
    k->slot = TURN_NO_SLOT;
    if (o->err != FLOE_OK) {
        apply(c, k, failure_event(o), o, now);
        return;
    }
    uint32_t id = 0;
    if (floe_stun_msg_get_u32(o->m, FLOE_STUN_ATTR_CONNECTION_ID, &id) != FLOE_OK) {
        fail(c, k, TURN_CONN_EV_ERROR, FLOE_ERR_MALFORMED,
             "the Connect success has no CONNECTION-ID", now);
        return;
    }
    if (by_id(c, id)) {
        fail(c, k, TURN_CONN_EV_ERROR, FLOE_ERR_MALFORMED,
             "the Connect success names a connection id already in use", now);
        return;
    }
    k->id = id;
    k->has_id = true;
    apply(c, k, TURN_CONN_EV_CONNECTED, NULL, now);
    floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_CONNECTED, now);
    e->peer = k->peer;
    e->connection_id = id;
}

void turn_conn_bind_done(floe_turn_client *c, uint8_t idx, const turn_outcome *o,
                         floe_time_ns now) {
    turn_conn *k = &c->conns[idx];
    if (!k->used) return;
    k->slot = TURN_NO_SLOT;
    if (o->err != FLOE_OK) {
        apply(c, k, failure_event(o), o, now);
        return;
    }
    apply(c, k, TURN_CONN_EV_BOUND, NULL, now);
    c->stats.connections_bound++;
    floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_CONNECTION_BOUND, now);
    e->peer = k->peer;
    e->connection_id = k->id;
}

floe_turn_recv_kind turn_conn_on_attempt(floe_turn_client *c, const floe_stun_msg *m,
                                         floe_time_ns now) {
    if (!c->cfg.tcp_relay || c->state != FLOE_TURN_ALLOCATED) {
        c->stats.drop_unexpected++;
        return FLOE_TURN_RECV_DROPPED;
    }
    uint32_t id = 0;
    floe_addr peer;
    /* RFC 6062 §4.4: CONNECTION-ID and XOR-PEER-ADDRESS, both required. */
    if (floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_CONNECTION_ID, &id) != FLOE_OK ||
        floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK ||
        peer.port == 0) {
        c->stats.drop_malformed++;
        return FLOE_TURN_RECV_DROPPED;
    }
    turn_conn *k = by_id(c, id) ? NULL : new_conn(c, &peer, FLOE_TURN_CONN_OFFERED);
    if (!k) { /* a repeated indication, or the table is full: the server times it out */
        c->stats.drop_unexpected++;
        return FLOE_TURN_RECV_DROPPED;
    }
    k->id = id;
    k->has_id = true;
    k->bind_by = turn_time_add(now, FLOE_TURN_CONN_BIND_WINDOW);
    c->stats.rx_connection_attempts++;
    floe_turn_event *e = turn_event_push(c, FLOE_TURN_EV_CONNECTION_ATTEMPT, now);
    e->peer = peer;
    e->connection_id = id;
    return FLOE_TURN_RECV_CONTROL;
}

floe_turn_recv_kind floe_turn_client_conn_on_recv(floe_turn_client *c, floe_time_ns now,
                                                  uint32_t id, const uint8_t *p, size_t len) {
    c->stats.rx++;
    turn_conn *k = by_id(c, id);
    if (!k || k->state != FLOE_TURN_CONN_BINDING) {
        c->stats.drop_unmatched++;
        return FLOE_TURN_RECV_DROPPED;
    }
    floe_stun_msg m;
    if (!p || len == 0 || (p[0] & 0xc0) != 0 || floe_stun_msg_decode(p, len, 0, &m) != FLOE_OK ||
        m.raw_len != len) {
        c->stats.drop_malformed++;
        return FLOE_TURN_RECV_DROPPED;
    }
    if (m.cls != FLOE_STUN_SUCCESS && m.cls != FLOE_STUN_ERROR) {
        c->stats.drop_unexpected++;
        return FLOE_TURN_RECV_DROPPED;
    }
    uint64_t matched = c->stats.rx_responses;
    turn_txn_on_response(c, &m, (uint8_t)(k - c->conns), now);
    turn_pump(c, now);
    return c->stats.rx_responses != matched ? FLOE_TURN_RECV_CONTROL : FLOE_TURN_RECV_DROPPED;
}

int floe_turn_client_conn_next_send(floe_turn_client *c, floe_time_ns now, uint8_t *buf, size_t cap,
                                    size_t *len, uint32_t *id) {
    floe_turn_client_tick(c, now);
    const turn_txn *t;
    int rc = turn_txn_take(c, now, true, buf, cap, len, &t);
    if (rc == FLOE_OK) *id = c->conns[t->owner].id;
    return rc;
}

/* ---- timers and the scheduler -------------------------------------------------------- */

void turn_conn_expire(floe_turn_client *c, floe_time_ns now) {
    for (unsigned i = 0; i < c->max_conns; i++) {
        turn_conn *k = &c->conns[i];
        if (!k->used || now < k->bind_by) continue;
        fail(c, k, TURN_CONN_EV_TIMEOUT, FLOE_ERR_TIMEOUT,
             k->state == FLOE_TURN_CONN_OFFERED
                 ? "the connection attempt was not accepted within 30 s"
                 : "the data connection was not bound within 30 s",
             now);
    }
}

void turn_conn_start(floe_turn_client *c, floe_time_ns now) {
    for (unsigned i = 0; i < c->max_conns; i++) {
        turn_conn *k = &c->conns[i];
        if (!k->used || k->slot != TURN_NO_SLOT) continue;
        turn_txn_kind kind;
        if (k->state == FLOE_TURN_CONN_NEW)
            kind = TURN_TXN_CONNECT;
        else if (k->state == FLOE_TURN_CONN_BINDING)
            kind = TURN_TXN_CONN_BIND;
        else
            continue;
        uint8_t slot = turn_txn_free_slot(c);
        if (slot == TURN_NO_SLOT) {
            if (!k->waiting) c->stats.txn_waits++;
            k->waiting = true;
            continue;
        }
        int rc = turn_txn_start(c, slot, kind, (uint8_t)i, now);
        if (rc != FLOE_OK) {
            /* No transaction ID (or the request does not fit): this one cannot be made. */
            fail(c, k, TURN_CONN_EV_ERROR, rc,
                 kind == TURN_TXN_CONNECT ? "cannot build the Connect request"
                                          : "cannot build the ConnectionBind request",
                 now);
            continue;
        }
        k->waiting = false;
        k->slot = slot;
        if (kind == TURN_TXN_CONNECT)
            apply(c, k, TURN_CONN_EV_SEND, NULL, now);
        else
            k->bind_by = FLOE_TIME_NEVER; /* the transaction's own timer from now on */
    }
}

floe_time_ns turn_conn_deadline(const floe_turn_client *c) {
    floe_time_ns d = FLOE_TIME_NEVER;
    for (unsigned i = 0; i < c->max_conns; i++)
        if (c->conns[i].used && c->conns[i].bind_by < d) d = c->conns[i].bind_by;
    return d;
}
