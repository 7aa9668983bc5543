/* Unit tests for RFC 6062 in include/floe/turn.h: the TURN client with a TCP allocation,
 * driven step by step with canned server messages. Each test plays the server by hand:
 * it takes the client's requests (control connection: next_send; data connections:
 * conn_next_send), checks them, and answers with messages built here on floe's STUN
 * codec (tests/unit/turn_fake.h supplies the credentials and the 401/438 logic). The
 * connection machine is walked against a table written from RFC 6062 §4. */
#include "unit/turn_fake.h"

#include "turn/turn_priv.h"

#define TCP_RELAYED "192.0.2.10:50001"
#define PEER "203.0.113.5:7000"
#define PEER2 "203.0.113.6:7001"

typedef struct tw {
    floe_turn_client *c;
    fk_server srv;
    floe_addr client;
    floe_time_ns now;
    uint64_t seed;
    floe_turn_event ev[64];
    unsigned n_ev;
} tw;

static void tw_config(tw *w, floe_turn_config *cfg) {
    memset(w, 0, sizeof *w);
    fk_server_init(&w->srv);
    w->client = fk_addr(FAKE_CLIENT);
    w->now = FLOE_S(1000);
    w->seed = 7;
    floe_turn_config_default(cfg);
    cfg->server = w->srv.addr;
    cfg->transport = FLOE_TRANSPORT_TCP;
    cfg->tcp_relay = true;
    cfg->username = FAKE_USER;
    cfg->password = FAKE_PASS;
    cfg->rand = fk_rand;
    cfg->rand_ctx = &w->seed;
}

static void tw_events(tw *w) {
    floe_turn_event e;
    while (floe_turn_client_next_event(w->c, &e)) {
        assert_true(w->n_ev < 64);
        w->ev[w->n_ev++] = e;
    }
}

/* The last event, which must be of type t. */
static const floe_turn_event *last_event(tw *w, floe_turn_event_type t) {
    tw_events(w);
    assert_true(w->n_ev > 0);
    const floe_turn_event *e = &w->ev[w->n_ev - 1];
    if (e->type != t)
        fail_msg("last event %s, expected %s", floe_turn_event_name(e->type),
                 floe_turn_event_name(t));
    return e;
}

/* Takes the next request for the control connection; false when there is none. */
static bool take(tw *w, uint8_t *buf, size_t *len, floe_stun_msg *m) {
    floe_addr to;
    if (floe_turn_client_next_send(w->c, w->now, buf, FLOE_TURN_MAX_REQUEST, len, &to) != FLOE_OK)
        return false;
    assert_true(floe_addr_equal(&to, &w->srv.addr));
    assert_int_equal(floe_stun_msg_decode(buf, *len, 0, m), FLOE_OK);
    assert_int_equal(m->cls, FLOE_STUN_REQUEST);
    assert_true(m->fp >= 0);
    return true;
}

/* Takes the next message for a data connection; false when there is none. */
static bool take_conn(tw *w, uint8_t *buf, size_t *len, floe_stun_msg *m, uint32_t *id) {
    if (floe_turn_client_conn_next_send(w->c, w->now, buf, FLOE_TURN_MAX_REQUEST, len, id) !=
        FLOE_OK)
        return false;
    assert_int_equal(floe_stun_msg_decode(buf, *len, 0, m), FLOE_OK);
    assert_int_equal(m->cls, FLOE_STUN_REQUEST);
    return true;
}

static floe_turn_recv_kind give(tw *w, const uint8_t *p, size_t n) {
    floe_turn_recv_kind k = floe_turn_client_on_recv(w->c, w->now, p, n, &w->srv.addr, NULL);
    tw_events(w);
    return k;
}

static floe_turn_recv_kind give_conn(tw *w, uint32_t id, const uint8_t *p, size_t n) {
    floe_turn_recv_kind k = floe_turn_client_conn_on_recv(w->c, w->now, id, p, n);
    tw_events(w);
    return k;
}

/* A signed success for m, with CONNECTION-ID when id != 0. */
static size_t success(tw *w, const floe_stun_msg *m, uint32_t id, uint8_t *out) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, 1500, m->method, FLOE_STUN_SUCCESS, m->tid);
    if (id) floe_stun_add_u32(&b, FLOE_STUN_ATTR_CONNECTION_ID, id);
    return fk_finish(&w->srv, &b, true);
}

static size_t error(tw *w, const floe_stun_msg *m, int code, uint8_t *out) {
    return fk_error(&w->srv, m, code, false, true, out, 1500);
}

/* The nonce a request carried. */
static void nonce_of(const floe_stun_msg *m, char *out, size_t cap) {
    const char *s = NULL;
    size_t n = 0;
    assert_int_equal(floe_stun_msg_get_string(m, FLOE_STUN_ATTR_NONCE, &s, &n), FLOE_OK);
    assert_true(n < cap);
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Plays the Allocate with its 401 round; checks REQUESTED-TRANSPORT TCP. */
static void tw_allocate(tw *w, const floe_turn_config *cfg) {
    assert_int_equal(floe_turn_client_new(&w->c, cfg), FLOE_OK);
    assert_int_equal(floe_turn_client_allocate(w->c, w->now), FLOE_OK);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    for (int round = 0; round < 2; round++) {
        assert_true(take(w, req, &len, &m));
        assert_int_equal(m.method, FLOE_STUN_ALLOCATE);
        uint32_t v = 0;
        assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_REQUESTED_TRANSPORT, &v),
                         FLOE_OK);
        assert_int_equal(v, (uint32_t)FLOE_TURN_TRANSPORT_TCP << 24); /* RFC 6062 §4.1 */
        bool ok = false;
        size_t n = fk_check_auth(&w->srv, &m, out, sizeof out, &ok);
        if (!ok) {
            assert_int_equal(round, 0);
            w->now += FLOE_MS(5);
            assert_int_equal(give(w, out, n), FLOE_TURN_RECV_CONTROL);
            continue;
        }
        floe_stun_builder b;
        floe_stun_builder_init(&b, out, sizeof out, m.method, FLOE_STUN_SUCCESS, m.tid);
        floe_addr r = fk_addr(TCP_RELAYED);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_RELAYED_ADDRESS, &r);
        floe_stun_add_u32(&b, FLOE_STUN_ATTR_LIFETIME, 600);
        floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &w->client);
        n = fk_finish(&w->srv, &b, true);
        w->now += FLOE_MS(5);
        assert_int_equal(give(w, out, n), FLOE_TURN_RECV_CONTROL);
        w->srv.allocated = true;
        break;
    }
    assert_int_equal(floe_turn_client_state(w->c), FLOE_TURN_ALLOCATED);
    last_event(w, FLOE_TURN_EV_ALLOCATED);
}

/* The counters' promise: every input lands in exactly one outcome. */
static void check_stats(const floe_turn_client *c) {
    const floe_turn_stats *st = floe_turn_client_stats(c);
    assert_int_equal(st->rx, st->rx_responses + st->rx_channel_data + st->rx_data_indications +
                                 st->rx_connection_attempts + st->drop_malformed +
                                 st->drop_not_server + st->drop_unmatched + st->drop_integrity +
                                 st->drop_unexpected + st->drop_no_binding);
}

static unsigned count_type(const floe_turn_event *ev, unsigned n, floe_turn_event_type t) {
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        k += ev[i].type == t;
    return k;
}

static void tw_free(tw *w) {
    check_stats(w->c);
    floe_turn_client_free(w->c);
}

/* Connect to peer and answer it with id: the connection is then OPENING. */
static void connect_ok(tw *w, const floe_addr *peer, uint32_t id) {
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    assert_int_equal(floe_turn_client_connect(w->c, w->now, peer), FLOE_OK);
    assert_true(take(w, req, &len, &m));
    assert_int_equal(m.method, FLOE_STUN_CONNECT);
    w->now += FLOE_MS(3);
    assert_int_equal(give(w, out, success(w, &m, id, out)), FLOE_TURN_RECV_CONTROL);
}

/* The ConnectionBind of id, answered with success on its data connection. */
static void bind_ok(tw *w, uint32_t id) {
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    uint32_t got = 0;
    assert_int_equal(floe_turn_client_conn_opened(w->c, w->now, id), FLOE_OK);
    assert_true(take_conn(w, req, &len, &m, &got));
    assert_int_equal(got, id);
    w->now += FLOE_MS(2);
    assert_int_equal(give_conn(w, id, out, success(w, &m, 0, out)), FLOE_TURN_RECV_CONTROL);
}

/* A ConnectionAttempt indication (RFC 6062 §4.4); id or peer may be left out. */
static size_t attempt(uint32_t id, const floe_addr *peer, uint8_t *out) {
    uint8_t tid[FLOE_STUN_TID_LEN] = {0xc0, 0x22, 0xec, 0x7, (uint8_t)id};
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, 1500, FLOE_STUN_CONNECTION_ATTEMPT, FLOE_STUN_INDICATION, tid);
    if (id) floe_stun_add_u32(&b, FLOE_STUN_ATTR_CONNECTION_ID, id);
    if (peer) floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, peer);
    size_t n = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &n), FLOE_OK);
    return n;
}

/* ---- configuration and the allocation ------------------------------------------------ */

static void test_config(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    floe_turn_client *c = NULL;
    tw_config(&w, &cfg);
    /* RFC 6062 §4.1: over TCP or TLS only. */
    cfg.transport = FLOE_TRANSPORT_UDP;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.transport = FLOE_TRANSPORT_DTLS;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.transport = FLOE_TRANSPORT_TLS;
    cfg.dual = true;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.dual = false;
    cfg.max_connections = FLOE_TURN_MAX_CONNECTIONS + 1;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_ERR_INVAL);
    cfg.max_connections = FLOE_TURN_MAX_CONNECTIONS;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_OK);
    floe_turn_client_free(c);
    /* A UDP allocation has no connections. */
    tw_config(&w, &cfg);
    cfg.transport = FLOE_TRANSPORT_TCP;
    cfg.tcp_relay = false;
    assert_int_equal(floe_turn_client_new(&c, &cfg), FLOE_OK);
    floe_addr peer = fk_addr(PEER);
    assert_int_equal(floe_turn_client_connect(c, w.now, &peer), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_turn_client_accept(c, w.now, 1), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_turn_client_conn_opened(c, w.now, 1), FLOE_ERR_NOT_FOUND);
    floe_turn_client_free(c);
}

static void test_no_datagrams_on_tcp_allocation(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    uint8_t buf[256];
    size_t len = 0;
    uint16_t ch = 0;
    /* RFC 6062: no Send indications and no channels on a TCP allocation. */
    assert_int_equal(
        floe_turn_client_send(w.c, &peer, (const uint8_t *)"x", 1, buf, sizeof buf, &len),
        FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_turn_client_bind_channel(w.c, w.now, &peer, &ch), FLOE_ERR_UNSUPPORTED);
    /* A Data indication is not expected either. */
    uint8_t tid[FLOE_STUN_TID_LEN] = {1};
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_DATA, FLOE_STUN_INDICATION, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &peer);
    floe_stun_add(&b, FLOE_STUN_ATTR_DATA, "hi", 2);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    assert_int_equal(give(&w, buf, len), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_unexpected, 1);
    tw_free(&w);
}

/* ---- Connect and ConnectionBind -------------------------------------------------------- */

static void test_connect_and_bind(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    assert_int_equal(floe_turn_client_new(&w.c, &cfg), FLOE_OK);
    floe_addr peer = fk_addr(PEER);
    /* Asked for before the allocation: the Connect waits for it. */
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_OK);
    uint32_t id = 99;
    assert_int_equal(floe_turn_client_conn_to(w.c, &peer, &id), FLOE_TURN_CONN_NEW);
    assert_int_equal(id, 0);
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_ERR_STATE);
    floe_turn_client_free(w.c);

    tw_config(&w, &cfg);
    cfg.software = "floe-test";
    tw_allocate(&w, &cfg);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_OK);
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_ERR_STATE);
    assert_true(take(&w, req, &len, &m));
    assert_false(take(&w, req, &len, &m)); /* over TCP: one copy */
    assert_int_equal(m.method, FLOE_STUN_CONNECT);
    assert_true(m.mi >= 0); /* authenticated like every request after the 401 */
    floe_addr got_peer;
    assert_int_equal(floe_stun_msg_get_addr(&m, FLOE_STUN_ATTR_XOR_PEER_ADDRESS, &got_peer),
                     FLOE_OK);
    assert_true(floe_addr_equal(&got_peer, &peer));
    assert_int_equal(floe_turn_client_conn_to(w.c, &peer, NULL), FLOE_TURN_CONN_CONNECTING);
    floe_stun_msg connect = m; /* answers need only its method and transaction ID */

    /* The success names the connection: the runtime must open a data connection. */
    w.now += FLOE_MS(40);
    assert_int_equal(give(&w, out, success(&w, &connect, 0x1234abcd, out)), FLOE_TURN_RECV_CONTROL);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTED);
    assert_int_equal(e->connection_id, 0x1234abcd);
    assert_true(floe_addr_equal(&e->peer, &peer));
    assert_string_equal(floe_turn_event_name(e->type), "connected");
    assert_int_equal(floe_turn_client_conn(w.c, 0x1234abcd, &got_peer), FLOE_TURN_CONN_OPENING);
    assert_true(floe_addr_equal(&got_peer, &peer));
    assert_int_equal(floe_turn_client_conn_to(w.c, &peer, &id), FLOE_TURN_CONN_OPENING);
    assert_int_equal(id, 0x1234abcd);
    /* Nothing for the data connection until the runtime says it is open; the 30 s
     * window is the deadline meanwhile. */
    uint32_t conn = 0;
    assert_false(take_conn(&w, req, &len, &m, &conn));
    assert_int_equal(floe_turn_client_deadline(w.c), w.now + FLOE_TURN_CONN_BIND_WINDOW);
    assert_int_equal(floe_turn_client_accept(w.c, w.now, 0x1234abcd), FLOE_ERR_STATE);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 77), FLOE_ERR_NOT_FOUND);

    w.now += FLOE_MS(7);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 0x1234abcd), FLOE_OK);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 0x1234abcd), FLOE_ERR_STATE);
    assert_int_equal(floe_turn_client_conn(w.c, 0x1234abcd, NULL), FLOE_TURN_CONN_BINDING);
    assert_false(take(&w, req, &len, &m)); /* not on the control connection */
    assert_true(take_conn(&w, req, &len, &m, &conn));
    assert_false(take_conn(&w, req, &len, &m, &conn));
    assert_int_equal(conn, 0x1234abcd);
    assert_int_equal(m.method, FLOE_STUN_CONNECTION_BIND);
    uint32_t v = 0;
    assert_int_equal(floe_stun_msg_get_u32(&m, FLOE_STUN_ATTR_CONNECTION_ID, &v), FLOE_OK);
    assert_int_equal(v, 0x1234abcd);
    /* With credentials (the server checks the user, §5.4), SOFTWARE and FINGERPRINT. */
    bool ok = false;
    assert_int_equal(fk_check_auth(&w.srv, &m, out, sizeof out, &ok), 0);
    assert_true(ok);
    assert_non_null(floe_stun_msg_find(&m, FLOE_STUN_ATTR_SOFTWARE));
    assert_true(m.fp >= 0);

    /* Its answer on the control connection does not count: it belongs to the data one. */
    size_t n = success(&w, &m, 0, out);
    assert_int_equal(give(&w, out, n), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_unmatched, 1);
    /* Nor on another data connection. */
    assert_int_equal(give_conn(&w, 0x1234abce, out, n), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_unmatched, 2);
    w.now += FLOE_MS(3);
    assert_int_equal(give_conn(&w, 0x1234abcd, out, n), FLOE_TURN_RECV_CONTROL);
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_BOUND);
    assert_int_equal(e->connection_id, 0x1234abcd);
    assert_true(floe_addr_equal(&e->peer, &peer));
    assert_int_equal(floe_turn_client_conn(w.c, 0x1234abcd, NULL), FLOE_TURN_CONN_BOUND);
    assert_int_equal(floe_turn_client_stats(w.c)->connections_bound, 1);
    /* Bound: no window, nothing due but the allocation's refresh. */
    assert_true(floe_turn_client_deadline(w.c) > w.now + FLOE_S(400));
    /* The same answer again, or anything else on the bound connection, is not ours. */
    assert_int_equal(give_conn(&w, 0x1234abcd, out, n), FLOE_TURN_RECV_DROPPED);
    /* The runtime closes it: forgotten, without an event; the peer may be connected to
     * again. */
    unsigned before = w.n_ev;
    floe_turn_client_conn_closed(w.c, w.now, 0x1234abcd);
    floe_turn_client_conn_closed(w.c, w.now, 0x1234abcd); /* twice is harmless */
    tw_events(&w);
    assert_int_equal(w.n_ev, before);
    assert_int_equal(floe_turn_client_conn(w.c, 0x1234abcd, NULL), FLOE_TURN_CONN_FAILED);
    connect_ok(&w, &peer, 0x5678);
    assert_int_equal(floe_turn_client_conn(w.c, 0x5678, NULL), FLOE_TURN_CONN_OPENING);
    bind_ok(&w, 0x5678);
    assert_int_equal(floe_turn_client_conn(w.c, 0x5678, NULL), FLOE_TURN_CONN_BOUND);
    tw_free(&w);
}

static void test_connect_errors(void **state) {
    (void)state;
    /* RFC 6062 §5.2: 403 (policy), 446 (a connection with that peer exists), 447 (the
     * server could not connect); and what a server should not send. */
    static const int codes[] = {403, 446, 447, 437, 508};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        tw w;
        floe_turn_config cfg;
        tw_config(&w, &cfg);
        tw_allocate(&w, &cfg);
        floe_addr peer = fk_addr(PEER);
        uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
        size_t len = 0;
        floe_stun_msg m;
        assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_OK);
        assert_true(take(&w, req, &len, &m));
        assert_int_equal(give(&w, out, error(&w, &m, codes[i], out)), FLOE_TURN_RECV_CONTROL);
        const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
        assert_int_equal(e->err, FLOE_ERR_ERROR_RESPONSE);
        assert_int_equal(e->error_code, codes[i]);
        assert_int_equal(e->connection_id, 0);
        assert_true(floe_addr_equal(&e->peer, &peer));
        assert_string_equal(e->reason, floe_stun_error_reason(codes[i]));
        assert_int_equal(floe_turn_client_conn_to(w.c, &peer, NULL), FLOE_TURN_CONN_FAILED);
        /* One connection failed; the allocation stands. */
        assert_int_equal(floe_turn_client_state(w.c), FLOE_TURN_ALLOCATED);
        assert_int_equal(floe_turn_client_deadline(w.c), floe_turn_client_expiry(w.c) - FLOE_S(60));
        tw_free(&w);
    }
}

/* A reason phrase padded with NUL bytes (coturn's 447) ends at the first NUL. */
static void test_connect_reason_with_nuls(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    static const char phrase[] = "Connection Timeout or Failure\0\0\0";
    uint8_t val[4 + sizeof phrase - 1] = {0, 0, 4, 47};
    memcpy(val + 4, phrase, sizeof phrase - 1);
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, sizeof out, m.method, FLOE_STUN_ERROR, m.tid);
    floe_stun_add(&b, FLOE_STUN_ATTR_ERROR_CODE, val, sizeof val);
    assert_int_equal(give(&w, out, fk_finish(&w.srv, &b, true)), FLOE_TURN_RECV_CONTROL);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->error_code, 447);
    assert_string_equal(e->reason, "Connection Timeout or Failure");
    tw_free(&w);
}

static void test_connect_unusable_success(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER), peer2 = fk_addr(PEER2);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    /* No CONNECTION-ID. */
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    assert_int_equal(give(&w, out, success(&w, &m, 0, out)), FLOE_TURN_RECV_CONTROL);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_MALFORMED);
    assert_non_null(strstr(e->reason, "CONNECTION-ID"));
    /* An id already given to another connection. */
    connect_ok(&w, &peer, 5);
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer2), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    assert_int_equal(give(&w, out, success(&w, &m, 5, out)), FLOE_TURN_RECV_CONTROL);
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_MALFORMED);
    assert_true(floe_addr_equal(&e->peer, &peer2));
    assert_int_equal(floe_turn_client_conn(w.c, 5, NULL), FLOE_TURN_CONN_OPENING);
    /* A forged success (wrong key) over a stream ends the request. */
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer2), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    w.srv.forge = true;
    assert_int_equal(give(&w, out, success(&w, &m, 6, out)), FLOE_TURN_RECV_DROPPED);
    w.srv.forge = false;
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_INTEGRITY);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_integrity, 1);
    tw_free(&w);
}

static void test_connect_timeout(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    uint8_t req[FLOE_TURN_MAX_REQUEST];
    size_t len = 0;
    floe_stun_msg m;
    floe_time_ns t0 = w.now;
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    /* Over TCP a request is given Ti (39.5 s); the server answers 447 after 30 s at the
     * latest, so silence means the server is gone. */
    assert_int_equal(floe_turn_client_deadline(w.c), t0 + FLOE_MS(39500));
    w.now = t0 + FLOE_MS(39499);
    floe_turn_client_tick(w.c, w.now);
    assert_int_equal(floe_turn_client_conn_to(w.c, &peer, NULL), FLOE_TURN_CONN_CONNECTING);
    w.now = t0 + FLOE_MS(39500);
    floe_turn_client_tick(w.c, w.now);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_TIMEOUT);
    assert_int_equal(e->error_code, 0);
    assert_int_equal(floe_turn_client_conn_to(w.c, &peer, NULL), FLOE_TURN_CONN_FAILED);
    assert_false(take(&w, req, &len, &m)); /* nothing sent again */
    tw_free(&w);
}

static void test_data_connection_window(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    connect_ok(&w, &peer, 42);
    floe_time_ns t0 = w.now;
    /* RFC 6062 §5.2: the server closes what is not bound in 30 s; so does the client. */
    w.now = t0 + FLOE_TURN_CONN_BIND_WINDOW - 1;
    floe_turn_client_tick(w.c, w.now);
    assert_int_equal(floe_turn_client_conn(w.c, 42, NULL), FLOE_TURN_CONN_OPENING);
    w.now = t0 + FLOE_TURN_CONN_BIND_WINDOW;
    floe_turn_client_tick(w.c, w.now);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_TIMEOUT);
    assert_int_equal(e->connection_id, 42);
    assert_non_null(strstr(e->reason, "30 s"));
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 42), FLOE_ERR_NOT_FOUND);
    assert_true(floe_turn_client_deadline(w.c) > w.now);
    tw_free(&w);
}

static void test_bind_refused_and_unanswered(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER), peer2 = fk_addr(PEER2);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    uint32_t id = 0;
    /* §5.4: 400 for a connection id the server does not know (any more). */
    connect_ok(&w, &peer, 1);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 1), FLOE_OK);
    assert_true(take_conn(&w, req, &len, &m, &id));
    assert_int_equal(give_conn(&w, 1, out, error(&w, &m, 400, out)), FLOE_TURN_RECV_CONTROL);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->error_code, 400);
    assert_int_equal(e->connection_id, 1);
    assert_int_equal(floe_turn_client_conn(w.c, 1, NULL), FLOE_TURN_CONN_FAILED);
    /* No answer at all: Ti. */
    connect_ok(&w, &peer2, 2);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 2), FLOE_OK);
    assert_true(take_conn(&w, req, &len, &m, &id));
    floe_time_ns t0 = w.now;
    /* From the ConnectionBind on, the transaction times it, not the 30 s window. */
    assert_int_equal(floe_turn_client_deadline(w.c), t0 + FLOE_MS(39500));
    w.now = t0 + FLOE_MS(39500);
    floe_turn_client_tick(w.c, w.now);
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_TIMEOUT);
    assert_int_equal(e->connection_id, 2);
    tw_free(&w);
}

/* ---- ConnectionAttempt ------------------------------------------------------------------ */

static void test_connection_attempt_accepted(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    /* §5.3: a peer may connect in only with a permission. */
    assert_int_equal(floe_turn_client_permit(w.c, w.now, &peer), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    assert_int_equal(m.method, FLOE_STUN_CREATE_PERMISSION);
    assert_int_equal(give(&w, out, success(&w, &m, 0, out)), FLOE_TURN_RECV_CONTROL);
    last_event(&w, FLOE_TURN_EV_PERMISSION_UP);
    char control_nonce[64];
    nonce_of(&m, control_nonce, sizeof control_nonce);

    assert_int_equal(give(&w, out, attempt(0xfeed, &peer, out)), FLOE_TURN_RECV_CONTROL);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_ATTEMPT);
    assert_int_equal(e->connection_id, 0xfeed);
    assert_true(floe_addr_equal(&e->peer, &peer));
    assert_int_equal(floe_turn_client_stats(w.c)->rx_connection_attempts, 1);
    assert_int_equal(floe_turn_client_conn(w.c, 0xfeed, NULL), FLOE_TURN_CONN_OFFERED);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 0xfeed), FLOE_ERR_STATE);
    floe_time_ns t_attempt = w.now;
    w.now += FLOE_S(2);
    assert_int_equal(floe_turn_client_accept(w.c, w.now, 0xfeed), FLOE_OK);
    assert_int_equal(floe_turn_client_accept(w.c, w.now, 0xfeed), FLOE_ERR_STATE);
    assert_int_equal(floe_turn_client_accept(w.c, w.now, 0xbeef), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_turn_client_conn(w.c, 0xfeed, NULL), FLOE_TURN_CONN_OPENING);
    /* Accepting does not restart the server's 30 s. */
    assert_int_equal(floe_turn_client_deadline(w.c), t_attempt + FLOE_TURN_CONN_BIND_WINDOW);

    /* The data connection is a new 5-tuple: this server gives it a nonce of its own. */
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 0xfeed), FLOE_OK);
    uint32_t id = 0;
    assert_true(take_conn(&w, req, &len, &m, &id));
    char sent[64];
    nonce_of(&m, sent, sizeof sent);
    assert_string_equal(sent, control_nonce);
    w.srv.stale_left = 1;
    bool ok = true;
    size_t n = fk_check_auth(&w.srv, &m, out, sizeof out, &ok);
    assert_false(ok);
    assert_int_equal(give_conn(&w, 0xfeed, out, n), FLOE_TURN_RECV_CONTROL);
    assert_int_equal(floe_turn_client_stats(w.c)->stale_nonces, 1);
    assert_true(take_conn(&w, req, &len, &m, &id));
    assert_int_equal(id, 0xfeed);
    nonce_of(&m, sent, sizeof sent);
    assert_string_equal(sent, w.srv.nonce);
    assert_string_not_equal(sent, control_nonce);
    assert_int_equal(fk_check_auth(&w.srv, &m, out, sizeof out, &ok), 0);
    assert_true(ok);
    assert_int_equal(give_conn(&w, 0xfeed, out, success(&w, &m, 0, out)), FLOE_TURN_RECV_CONTROL);
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_BOUND);
    assert_int_equal(e->connection_id, 0xfeed);
    assert_true(floe_addr_equal(&e->peer, &peer));

    /* The control connection keeps its own nonce. */
    assert_int_equal(floe_turn_client_close(w.c, w.now), FLOE_OK);
    assert_true(take(&w, req, &len, &m));
    assert_int_equal(m.method, FLOE_STUN_REFRESH);
    nonce_of(&m, sent, sizeof sent);
    assert_string_equal(sent, control_nonce);
    /* Deallocating ends every connection: the runtime closes the data connections. */
    assert_int_equal(floe_turn_client_conn(w.c, 0xfeed, NULL), FLOE_TURN_CONN_FAILED);
    tw_free(&w);
}

static void test_bind_fresh_nonce_bounded(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    uint32_t id = 0;
    connect_ok(&w, &peer, 9);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 9), FLOE_OK);
    /* A server that answers every ConnectionBind with 401 and a fresh nonce: retried,
     * but not for ever. */
    unsigned binds = 0;
    while (take_conn(&w, req, &len, &m, &id)) {
        binds++;
        assert_true(binds < 10);
        fk_new_nonce(&w.srv);
        size_t n = fk_error(&w.srv, &m, 401, true, false, out, sizeof out);
        give_conn(&w, 9, out, n);
    }
    assert_int_equal(binds, 1 + FLOE_TURN_MAX_STALE_RETRIES);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_AUTH);
    assert_int_equal(e->error_code, 401);
    /* A 401 that repeats the nonce the request carried is a plain refusal. */
    connect_ok(&w, &peer, 10);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 10), FLOE_OK);
    assert_true(take_conn(&w, req, &len, &m, &id));
    nonce_of(&m, w.srv.nonce, sizeof w.srv.nonce);
    give_conn(&w, 10, out, fk_error(&w.srv, &m, 401, true, false, out, sizeof out));
    assert_false(take_conn(&w, req, &len, &m, &id));
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->error_code, 401);
    assert_int_equal(e->connection_id, 10);
    /* A challenge naming another realm is refused. */
    connect_ok(&w, &peer, 11);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 11), FLOE_OK);
    assert_true(take_conn(&w, req, &len, &m, &id));
    floe_stun_builder b;
    floe_stun_builder_init(&b, out, sizeof out, m.method, FLOE_STUN_ERROR, m.tid);
    floe_stun_add_error(&b, 438, NULL);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_REALM, "elsewhere.example");
    floe_stun_add_string(&b, FLOE_STUN_ATTR_NONCE, "n-other");
    give_conn(&w, 11, out, fk_finish(&w.srv, &b, false));
    e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_AUTH);
    assert_non_null(strstr(e->reason, "realm"));
    tw_free(&w);
}

static void test_attempt_not_accepted(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER), peer2 = fk_addr(PEER2);
    uint8_t out[1500];
    /* Ignored: after 30 s the server has closed it, and the client forgets it. */
    assert_int_equal(give(&w, out, attempt(3, &peer, out)), FLOE_TURN_RECV_CONTROL);
    floe_time_ns t0 = w.now;
    assert_int_equal(floe_turn_client_deadline(w.c), t0 + FLOE_TURN_CONN_BIND_WINDOW);
    w.now = t0 + FLOE_TURN_CONN_BIND_WINDOW;
    floe_turn_client_tick(w.c, w.now);
    const floe_turn_event *e = last_event(&w, FLOE_TURN_EV_CONNECTION_FAILED);
    assert_int_equal(e->err, FLOE_ERR_TIMEOUT);
    assert_int_equal(e->connection_id, 3);
    assert_non_null(strstr(e->reason, "accepted"));
    /* Declined: conn_closed forgets it at once, without an event. */
    assert_int_equal(give(&w, out, attempt(4, &peer2, out)), FLOE_TURN_RECV_CONTROL);
    unsigned before = w.n_ev;
    floe_turn_client_conn_closed(w.c, w.now, 4);
    tw_events(&w);
    assert_int_equal(w.n_ev, before);
    assert_int_equal(floe_turn_client_conn(w.c, 4, NULL), FLOE_TURN_CONN_FAILED);
    tw_free(&w);
}

static void test_bad_attempts(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    cfg.max_connections = 2;
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER), peer2 = fk_addr(PEER2), port0 = fk_addr("203.0.113.5:0");
    uint8_t out[1500];
    const floe_turn_stats *st = floe_turn_client_stats(w.c);
    /* Without CONNECTION-ID, without XOR-PEER-ADDRESS, with port 0: malformed. */
    assert_int_equal(give(&w, out, attempt(0, &peer, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(give(&w, out, attempt(7, NULL, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(give(&w, out, attempt(7, &port0, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_malformed, 3);
    /* The same id twice: the second is not a new connection. */
    assert_int_equal(give(&w, out, attempt(7, &peer, out)), FLOE_TURN_RECV_CONTROL);
    assert_int_equal(give(&w, out, attempt(7, &peer, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unexpected, 1);
    /* The table is full (2): refused and counted, and connect() says so too. */
    assert_int_equal(give(&w, out, attempt(8, &peer2, out)), FLOE_TURN_RECV_CONTROL);
    assert_int_equal(give(&w, out, attempt(9, &peer2, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unexpected, 2);
    assert_int_equal(st->cap_connections, 1);
    floe_addr peer3 = fk_addr("198.51.100.20:80");
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &peer3), FLOE_ERR_LIMIT);
    assert_int_equal(st->cap_connections, 2);
    assert_int_equal(st->rx_connection_attempts, 2);
    /* Bad peers for connect(). */
    floe_turn_client_conn_closed(w.c, w.now, 8);
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &port0), FLOE_ERR_INVAL);
    floe_addr any = fk_addr("0.0.0.0:80"), v6 = fk_addr("[2001:db8::1]:80");
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &any), FLOE_ERR_INVAL);
    assert_int_equal(floe_turn_client_connect(w.c, w.now, &v6), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_turn_client_connect(w.c, w.now, NULL), FLOE_ERR_INVAL);
    tw_free(&w);

    /* On a UDP allocation a ConnectionAttempt is unexpected. */
    tw_config(&w, &cfg);
    cfg.tcp_relay = false;
    assert_int_equal(floe_turn_client_new(&w.c, &cfg), FLOE_OK);
    assert_int_equal(give(&w, out, attempt(7, &peer, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(floe_turn_client_stats(w.c)->drop_unexpected, 1);
    tw_free(&w);
}

static void test_data_connection_input(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    floe_addr peer = fk_addr(PEER);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500] = {0};
    size_t len = 0;
    floe_stun_msg m;
    uint32_t id = 0;
    const floe_turn_stats *st = floe_turn_client_stats(w.c);
    connect_ok(&w, &peer, 21);
    /* Before the data connection is open nothing is expected from it. */
    assert_int_equal(give_conn(&w, 21, out, 20), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unmatched, 1);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 21), FLOE_OK);
    assert_true(take_conn(&w, req, &len, &m, &id));
    /* Garbage, ChannelData-looking bytes, an empty read, a truncated answer. */
    static const uint8_t junk[] = {0xff, 0, 0, 0, 1, 2, 3, 4};
    static const uint8_t chan[] = {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4};
    assert_int_equal(give_conn(&w, 21, junk, sizeof junk), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(give_conn(&w, 21, chan, sizeof chan), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(give_conn(&w, 21, NULL, 0), FLOE_TURN_RECV_DROPPED);
    size_t n = success(&w, &m, 0, out);
    assert_int_equal(give_conn(&w, 21, out, n - 4), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_malformed, 4);
    /* An indication, or a request, is not an answer. */
    assert_int_equal(give_conn(&w, 21, out, attempt(5, &peer, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unexpected, 1);
    /* An answer with another transaction ID. */
    floe_stun_msg other = m;
    other.tid[0] ^= 1;
    assert_int_equal(give_conn(&w, 21, out, success(&w, &other, 0, out)), FLOE_TURN_RECV_DROPPED);
    assert_int_equal(st->drop_unmatched, 2);
    /* Still binding; the real answer binds it. */
    assert_int_equal(floe_turn_client_conn(w.c, 21, NULL), FLOE_TURN_CONN_BINDING);
    assert_int_equal(give_conn(&w, 21, out, success(&w, &m, 0, out)), FLOE_TURN_RECV_CONTROL);
    last_event(&w, FLOE_TURN_EV_CONNECTION_BOUND);
    /* A buffer too small keeps the request queued. */
    floe_addr peer2 = fk_addr(PEER2);
    connect_ok(&w, &peer2, 22);
    assert_int_equal(floe_turn_client_conn_opened(w.c, w.now, 22), FLOE_OK);
    assert_int_equal(floe_turn_client_conn_next_send(w.c, w.now, req, 8, &len, &id),
                     FLOE_ERR_NOSPACE);
    assert_true(take_conn(&w, req, &len, &m, &id));
    assert_int_equal(id, 22);
    tw_free(&w);
}

/* More connections than transaction slots: the requests wait for one another. */
static void test_slots_shared_with_connections(void **state) {
    (void)state;
    tw w;
    floe_turn_config cfg;
    tw_config(&w, &cfg);
    tw_allocate(&w, &cfg);
    uint8_t req[FLOE_TURN_MAX_REQUEST], out[1500];
    size_t len = 0;
    floe_stun_msg m;
    enum { N = 12 };
    for (unsigned i = 0; i < N; i++) {
        char s[32];
        snprintf(s, sizeof s, "203.0.113.%u:9000", 10 + i);
        floe_addr p = fk_addr(s);
        assert_int_equal(floe_turn_client_connect(w.c, w.now, &p), FLOE_OK);
    }
    floe_stun_msg out_reqs[N];
    unsigned n_out = 0;
    while (take(&w, req, &len, &m)) {
        assert_int_equal(m.method, FLOE_STUN_CONNECT);
        out_reqs[n_out++] = m;
    }
    assert_int_equal(n_out, FLOE_TURN_MAX_TXNS - 1); /* slot 0 is the allocation's */
    assert_int_equal(floe_turn_client_stats(w.c)->txn_waits, N - n_out);
    /* Each answer frees a slot for the next Connect. */
    unsigned connected = 0, answered = 0;
    while (answered < N) {
        assert_true(answered < n_out);
        give(&w, out, success(&w, &out_reqs[answered], 100 + answered, out));
        answered++;
        connected++;
        while (take(&w, req, &len, &m))
            out_reqs[n_out++] = m;
    }
    assert_int_equal(count_type(w.ev, w.n_ev, FLOE_TURN_EV_CONNECTED), N);
    assert_int_equal(connected, N);
    tw_free(&w);
}

/* ---- the connection machine --------------------------------------------------------------- */

static void test_conn_machine(void **state) {
    (void)state;
    enum {
        N = FLOE_TURN_CONN_NEW,
        G = FLOE_TURN_CONN_CONNECTING,
        O = FLOE_TURN_CONN_OFFERED,
        P = FLOE_TURN_CONN_OPENING,
        B = FLOE_TURN_CONN_BINDING,
        U = FLOE_TURN_CONN_BOUND,
        F = FLOE_TURN_CONN_FAILED,
        C = FLOE_TURN_CONN_CLOSED
    };
    /* Columns: SEND, CONNECTED, ACCEPT, OPENED, BOUND, ERROR, TIMEOUT, CLOSED. */
    static const int want[8][TURN_CONN_EV_COUNT] = {
        /* NEW */ {G, N, N, N, N, F, N, C},
        /* CONNECTING */ {G, P, G, G, G, F, F, C},
        /* OFFERED */ {O, O, P, O, O, O, F, C},
        /* OPENING */ {P, P, P, B, P, P, F, C},
        /* BINDING */ {B, B, B, B, U, F, F, C},
        /* BOUND */ {U, U, U, U, U, U, U, C},
        /* FAILED */ {F, F, F, F, F, F, F, F},
        /* CLOSED */ {C, C, C, C, C, C, C, C},
    };
    for (int s = 0; s < 8; s++)
        for (int e = 0; e < TURN_CONN_EV_COUNT; e++) {
            floe_turn_conn_state got =
                turn_conn_next_state((floe_turn_conn_state)s, (turn_conn_event)e);
            if ((int)got != want[s][e])
                fail_msg("connection %s + %s: got %s, want %s",
                         floe_turn_conn_state_name((floe_turn_conn_state)s),
                         turn_conn_event_name((turn_conn_event)e), floe_turn_conn_state_name(got),
                         floe_turn_conn_state_name((floe_turn_conn_state)want[s][e]));
        }
    assert_int_equal(turn_conn_next_state(FLOE_TURN_CONN_BOUND, TURN_CONN_EV_COUNT),
                     FLOE_TURN_CONN_BOUND);
    assert_int_equal(turn_conn_next_state((floe_turn_conn_state)99, TURN_CONN_EV_CLOSED), 99);
    assert_string_equal(floe_turn_conn_state_name(FLOE_TURN_CONN_OFFERED), "offered");
    assert_string_equal(floe_turn_conn_state_name((floe_turn_conn_state)99), "unknown");
    assert_string_equal(turn_conn_event_name(TURN_CONN_EV_OPENED), "opened");
    assert_string_equal(turn_conn_event_name(TURN_CONN_EV_COUNT), "unknown");
    assert_string_equal(floe_turn_event_name(FLOE_TURN_EV_CONNECTION_ATTEMPT),
                        "connection-attempt");
    assert_string_equal(floe_turn_event_name(FLOE_TURN_EV_CONNECTION_BOUND), "connection-bound");
    assert_string_equal(floe_turn_event_name(FLOE_TURN_EV_CONNECTION_FAILED), "connection-failed");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_no_datagrams_on_tcp_allocation),
        cmocka_unit_test(test_connect_and_bind),
        cmocka_unit_test(test_connect_errors),
        cmocka_unit_test(test_connect_reason_with_nuls),
        cmocka_unit_test(test_connect_unusable_success),
        cmocka_unit_test(test_connect_timeout),
        cmocka_unit_test(test_data_connection_window),
        cmocka_unit_test(test_bind_refused_and_unanswered),
        cmocka_unit_test(test_connection_attempt_accepted),
        cmocka_unit_test(test_bind_fresh_nonce_bounded),
        cmocka_unit_test(test_attempt_not_accepted),
        cmocka_unit_test(test_bad_attempts),
        cmocka_unit_test(test_data_connection_input),
        cmocka_unit_test(test_slots_shared_with_connections),
        cmocka_unit_test(test_conn_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
