/* RFC 6062 TCP relaying: Connect, ConnectionAttempt, ConnectionBind and the table of
 * peer connections. The runtime owns the sockets; the core decides who may connect to
 * whom, names the connections, answers, and closes what is not bound in 30 s. */
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "turn_server_priv.h"

int tsrv_tcp_init(floe_turn_server *srv) {
    if (!srv->cfg.max_tcp_connections) return FLOE_OK;
    srv->tcp = calloc(srv->cfg.max_tcp_connections, sizeof *srv->tcp);
    return srv->tcp ? FLOE_OK : FLOE_ERR_NOMEM;
}

static tsrv_tcp *by_id(floe_turn_server *srv, uint32_t id) {
    uint32_t i = (id & 0xFFFF) - 1;
    if (!srv->tcp || id == 0 || i >= srv->cfg.max_tcp_connections) return NULL;
    return srv->tcp[i].id == id ? &srv->tcp[i] : NULL;
}

static tsrv_tcp *new_conn(floe_turn_server *srv, uint64_t handle, const floe_addr *peer,
                          uint8_t state) {
    for (uint32_t i = 0; srv->tcp && i < srv->cfg.max_tcp_connections; i++) {
        tsrv_tcp *c = &srv->tcp[i];
        if (c->id) continue;
        memset(c, 0, sizeof *c);
        if (++srv->tcp_gen == 0) srv->tcp_gen = 1;
        c->id = (uint32_t)srv->tcp_gen << 16 | (i + 1);
        c->handle = handle;
        c->peer = *peer;
        c->state = state;
        c->until = tsrv_secs(srv) + FLOE_TSRV_TCP_BIND_S;
        return c;
    }
    return NULL;
}

/* Frees a connection and has the runtime close its socket. */
static void close_conn(floe_turn_server *srv, tsrv_tcp *c) {
    uint32_t id = c->id;
    c->id = 0;
    if (srv->cfg.tcp_close) srv->cfg.tcp_close(srv->cfg.ctx, id);
}

void tsrv_tcp_drop_alloc(floe_turn_server *srv, uint64_t handle) {
    for (uint32_t i = 0; srv->tcp && i < srv->cfg.max_tcp_connections; i++)
        if (srv->tcp[i].id && srv->tcp[i].handle == handle) close_conn(srv, &srv->tcp[i]);
}

void tsrv_tcp_tick(floe_turn_server *srv) {
    uint32_t now = tsrv_secs(srv);
    for (uint32_t i = 0; srv->tcp && i < srv->cfg.max_tcp_connections; i++) {
        tsrv_tcp *c = &srv->tcp[i];
        if (c->id && c->state == TSRV_TCP_READY && c->until <= now) {
            srv->counters[FLOE_TSRV_TCP_UNBOUND]++;
            close_conn(srv, c);
        }
    }
}

void floe_turn_server_tcp_closed(floe_turn_server *srv, uint32_t id) {
    tsrv_tcp *c = by_id(srv, id);
    if (c) c->id = 0; /* the runtime closed it already */
}

static bool has_conn_to(floe_turn_server *srv, uint64_t handle, const floe_addr *peer) {
    for (uint32_t i = 0; srv->tcp && i < srv->cfg.max_tcp_connections; i++)
        if (srv->tcp[i].id && srv->tcp[i].handle == handle &&
            floe_addr_equal(&srv->tcp[i].peer, peer))
            return true;
    return false;
}

void tsrv_tcp_connect(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                      tsrv_alloc *a, const uint8_t *key, uint8_t *out, size_t cap,
                      floe_turn_server_out *o) {
    floe_addr peer;
    if (!a->tcp || !srv->cfg.tcp_connect ||
        floe_stun_msg_get_addr(m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer) != FLOE_OK ||
        peer.port == 0)
        return tsrv_answer_error(srv, t, m, key, 400, out, cap, o, FLOE_TSRV_BAD_REQUEST);
    if (!a->relay[peer.family == FLOE_AF_INET6 ? 1 : 0].open)
        return tsrv_answer_error(srv, t, m, key, 443, out, cap, o, FLOE_TSRV_PEER_FAMILY_MISMATCH);
    if (!floe_turn_server_peer_allowed(srv, &peer))
        return tsrv_answer_error(srv, t, m, key, 403, out, cap, o, FLOE_TSRV_FORBIDDEN);
    uint64_t handle = tsrv_handle(srv, a);
    if (has_conn_to(srv, handle, &peer))
        return tsrv_answer_error(srv, t, m, key, 446, out, cap, o, FLOE_TSRV_TCP_EXISTS);
    tsrv_tcp *c = new_conn(srv, handle, &peer, TSRV_TCP_CONNECTING);
    /* RFC 6062 §5.2: a Connect also lets the peer's own connections in. */
    if (!c || !tsrv_permit(srv, a, &peer)) {
        if (c) c->id = 0;
        return tsrv_answer_error(srv, t, m, key, 508, out, cap, o, FLOE_TSRV_CAPACITY);
    }
    memcpy(c->tid, m->tid, sizeof c->tid);
    c->fp = m->fp >= 0;
    const floe_addr *from = &a->relay[peer.family == FLOE_AF_INET6 ? 1 : 0].addr;
    int rc = srv->cfg.tcp_connect(srv->cfg.ctx, c->id, from, &peer);
    if (rc == FLOE_ERR_STATE) { /* the runtime already holds a connection with that peer */
        c->id = 0;
        return tsrv_answer_error(srv, t, m, key, 446, out, cap, o, FLOE_TSRV_TCP_EXISTS);
    }
    if (rc != FLOE_OK) {
        c->id = 0;
        srv->counters[FLOE_TSRV_TCP_CONNECT_FAILED]++;
        return tsrv_answer_error(srv, t, m, key, 447, out, cap, o, FLOE_TSRV_TCP_CONNECTING);
    }
    tsrv_count(srv, o, FLOE_TSRV_TCP_CONNECTING); /* the answer comes with the connection */
}

void floe_turn_server_tcp_connected(floe_turn_server *srv, uint32_t id, bool ok, uint8_t *out,
                                    size_t cap, floe_turn_server_out *o) {
    memset(o, 0, sizeof *o);
    o->counter = -1;
    tsrv_tcp *c = by_id(srv, id);
    if (!c || c->state != TSRV_TCP_CONNECTING) return;
    tsrv_alloc *a = tsrv_by_handle(srv, c->handle);
    if (!a) {
        close_conn(srv, c);
        return;
    }
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, FLOE_STUN_CONNECT,
                           ok ? FLOE_STUN_SUCCESS : FLOE_STUN_ERROR, c->tid);
    if (ok) {
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_CONNECTION_ID, c->id);
        c->state = TSRV_TCP_READY;
        c->until = tsrv_secs(srv) + FLOE_TSRV_TCP_BIND_S;
        srv->counters[FLOE_TSRV_TCP_CONNECTED]++;
    } else {
        floe_stun_add_error(&b, 447, srv->software ? NULL : "");
        srv->counters[FLOE_TSRV_TCP_CONNECT_FAILED]++;
        close_conn(srv, c);
    }
    /* Not an input: counted above, not as an outcome. */
    tsrv_answer_finish(srv, &b, &a->tuple, a->key, c->fp, out, o, -1);
}

uint32_t floe_turn_server_tcp_incoming(floe_turn_server *srv, uint64_t handle,
                                       const floe_addr *peer, uint8_t *out, size_t cap,
                                       floe_turn_server_out *o) {
    memset(o, 0, sizeof *o);
    o->counter = -1;
    tsrv_alloc *a = tsrv_by_handle(srv, handle);
    tsrv_perm *p = a ? tsrv_perm_find(srv, a, peer) : NULL;
    tsrv_tcp *c = NULL;
    if (!a || !a->tcp || !p || p->until <= tsrv_secs(srv) ||
        !floe_turn_server_peer_allowed(srv, peer) || has_conn_to(srv, handle, peer) ||
        !(c = new_conn(srv, handle, peer, TSRV_TCP_READY))) {
        srv->counters[FLOE_TSRV_TCP_REFUSED]++;
        return 0;
    }
    /* RFC 6062 §5.3: a ConnectionAttempt indication on the control connection. */
    uint8_t tid[12];
    uint64_t h1 = tsrv_hash(srv, &c->id, sizeof c->id), h2 = tsrv_hash(srv, &h1, sizeof h1);
    memcpy(tid, &h1, 8);
    memcpy(tid + 8, &h2, 4);
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, FLOE_STUN_CONNECTION_ATTEMPT, FLOE_STUN_INDICATION, tid);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_CONNECTION_ID, c->id);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    size_t n = 0;
    if (floe_stun_builder_finish(&b, &n) != FLOE_OK) {
        c->id = 0;
        srv->counters[FLOE_TSRV_TCP_REFUSED]++;
        return 0;
    }
    o->data = out;
    o->len = n;
    o->to = a->tuple.client;
    o->tuple = a->tuple;
    srv->counters[FLOE_TSRV_TCP_ATTEMPTS]++;
    return c->id;
}

void tsrv_tcp_bind(floe_turn_server *srv, const floe_turn_tuple *t, const floe_stun_msg *m,
                   uint64_t user_hash, const uint8_t *key, uint8_t *out, size_t cap,
                   floe_turn_server_out *o) {
    uint32_t id = 0;
    tsrv_tcp *c = NULL;
    /* RFC 6062 §5.4: on a fresh TCP/TLS connection that holds no allocation, naming a
     * connection waiting to be bound, by the user whose allocation it belongs to. */
    if (!floe_transport_reliable(t->transport) || tsrv_find(srv, t) ||
        floe_stun_msg_get_u32(m, FLOE_STUN_ATTR_CONNECTION_ID, &id) != FLOE_OK ||
        !(c = by_id(srv, id)) || c->state != TSRV_TCP_READY)
        return tsrv_answer_error(srv, t, m, key, 400, out, cap, o, FLOE_TSRV_BAD_REQUEST);
    tsrv_alloc *a = tsrv_by_handle(srv, c->handle);
    if (!a || a->user_hash != user_hash)
        return tsrv_answer_error(srv, t, m, key, 441, out, cap, o, FLOE_TSRV_WRONG_CREDENTIALS);
    c->state = TSRV_TCP_BOUND;
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, cap, FLOE_STUN_CONNECTION_BIND, FLOE_STUN_SUCCESS, m->tid);
    tsrv_answer_finish(srv, &b, t, key, m->fp >= 0, out, o, FLOE_TSRV_TCP_BOUND);
    if (o->data) o->pipe = c->id;
}
