/* Unit tests for TURN over TCP in the simulator (sim_turn_server.h with
 * floe_sim_turn_server_listen_tcp): floe's sans-IO TURN client (floe/turn.h, transport
 * TCP) allocates over a simulated TCP connection, its requests written to the stream and
 * the server's answers framed back out of it; a peer on the Internet exchanges data with
 * it through the relay, by Send/Data indications and by ChannelData (padded on the
 * stream); closing the connection ends the allocation. Behind a firewall that blocks UDP
 * only TCP reaches the server. A connection that sends bytes no message starts with is
 * closed and counted.
 *
 * With FLOE_SIM_TCP_PCAP_OUT=path in the environment, the capture of the allocation
 * through a NAT is written there for tests/system/sim_pcap.sh to check with tshark.
 * Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "floe/turn.h"
#include "floe/turn_server.h"
#include "sim.h"
#include "sim_turn_server.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static floe_sim_network *net(floe_sim *sim, const char *name, floe_time_ns delay) {
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = delay;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, name, &l, &n), FLOE_OK);
    return n;
}

static floe_sim_host *host(floe_sim *sim, const char *name, floe_sim_network *n, const char *ip,
                           const char *gw) {
    floe_sim_host *h;
    assert_int_equal(floe_sim_host_add(sim, name, &h), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    ic.ip4 = addr(ip);
    if (gw) ic.gw4 = addr(gw);
    assert_int_equal(floe_sim_host_add_iface(h, &ic, NULL), FLOE_OK);
    return h;
}

/* ---- the lab: a TURN server and a peer on the Internet, alice behind a box -------- */

#define SERVER "192.0.2.1:3478"
#define PEER "198.51.100.7:4000"

typedef struct lab {
    floe_sim *sim;
    floe_sim_network *internet, *lan;
    floe_sim_host *box, *alice, *server, *peer_host;
    floe_sim_turn_server *turn;
    floe_sim_udp *peer;
    floe_addr_prefix allow[2];
    floe_turn_user user;
} lab;

static void lab_init(lab *L, uint64_t seed, floe_sim_nat_mode mode) {
    memset(L, 0, sizeof *L);
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    assert_int_equal(floe_sim_new(&L->sim, &cfg), FLOE_OK);
    L->internet = net(L->sim, "internet", FLOE_MS(20));
    L->lan = net(L->sim, "lan", FLOE_MS(1));
    floe_sim_nat_config c;
    floe_sim_nat_config_default(&c);
    c.mode = mode;
    bool translate = mode == FLOE_SIM_NAT_TRANSLATE;
    const char *in_ip = translate ? "10.0.0.1" : "203.0.113.129";
    floe_sim_iface_config ic, oc;
    floe_sim_iface_config_init(&ic, NULL, L->lan);
    ic.ip4 = addr(in_ip);
    floe_sim_iface_config_init(&oc, NULL, L->internet);
    oc.ip4 = addr("203.0.113.1");
    assert_int_equal(floe_sim_nat_add(L->sim, "box", &c, &ic, &oc, &L->box), FLOE_OK);
    L->alice = host(L->sim, "alice", L->lan, translate ? "10.0.0.2" : "203.0.113.130", in_ip);
    L->server = host(L->sim, "turn", L->internet, "192.0.2.1", NULL);
    L->peer_host = host(L->sim, "peer", L->internet, "198.51.100.7", NULL);

    floe_turn_server_config tc;
    floe_turn_server_config_default(&tc);
    tc.realm = "sim";
    L->user.name = "alice";
    L->user.password = "wonderland";
    tc.users = &L->user;
    tc.n_users = 1;
    /* Documentation addresses are not global: the peer's and alice's must be allowed. */
    assert_int_equal(floe_addr_prefix_parse("198.51.100.0/24", &L->allow[0]), FLOE_OK);
    assert_int_equal(floe_addr_prefix_parse("203.0.113.0/24", &L->allow[1]), FLOE_OK);
    tc.allow = L->allow;
    tc.n_allow = 2;
    floe_addr listen = addr(SERVER);
    assert_int_equal(floe_sim_turn_server_new(L->server, &listen, &tc, &L->turn), FLOE_OK);
    assert_int_equal(floe_sim_turn_server_listen_tcp(L->turn), FLOE_OK);
    assert_int_equal(floe_sim_turn_server_listen_tcp(L->turn), FLOE_ERR_STATE);
    floe_addr pb = addr(PEER);
    assert_int_equal(floe_sim_udp_open(L->peer_host, &pb, &L->peer), FLOE_OK);
}

static void lab_free(lab *L) {
    floe_sim_turn_server_free(L->turn);
    floe_sim_free(L->sim);
}

/* ---- a TURN client over a simulated TCP connection -------------------------------- */

typedef struct client {
    floe_sim *sim;
    floe_turn_client *tc;
    floe_sim_tcp *c;
    floe_sim_timer *timer;
    floe_sim_rng rng;
    floe_addr server;
    uint8_t rbuf[70000];
    size_t rlen;
    unsigned n_allocated, n_permission, n_channel, n_failed, n_closed;
    floe_addr relayed, mapped;
    uint16_t channel;
    uint8_t data[2048]; /* the last datagram a peer sent us */
    size_t data_len;
    unsigned n_data, n_channel_data;
    bool connected, tcp_closed, tcp_failed;
} client;

static void pump(client *k) {
    floe_time_ns now = floe_sim_now(k->sim);
    uint8_t buf[FLOE_TURN_MAX_REQUEST];
    size_t len;
    floe_addr to;
    while (floe_turn_client_next_send(k->tc, now, buf, sizeof buf, &len, &to) == FLOE_OK) {
        assert_true(floe_addr_equal(&to, &k->server));
        if (k->c) assert_int_equal(floe_sim_tcp_send(k->c, buf, len), FLOE_OK);
    }
    floe_turn_event ev;
    while (floe_turn_client_next_event(k->tc, &ev)) {
        switch (ev.type) {
        case FLOE_TURN_EV_ALLOCATED:
            k->n_allocated++;
            k->relayed = ev.relayed[0];
            k->mapped = ev.mapped;
            break;
        case FLOE_TURN_EV_PERMISSION_UP: k->n_permission++; break;
        case FLOE_TURN_EV_CHANNEL_BOUND: k->n_channel++; break;
        case FLOE_TURN_EV_FAILED: k->n_failed++; break;
        default: break;
        }
    }
    floe_time_ns d = floe_turn_client_deadline(k->tc);
    if (d == FLOE_TIME_NEVER)
        floe_sim_timer_disarm(k->timer);
    else
        assert_int_equal(floe_sim_timer_arm(k->timer, d), FLOE_OK);
}

static void on_tick(void *ctx, floe_sim_timer *t, floe_time_ns now) {
    (void)t;
    client *k = ctx;
    floe_turn_client_tick(k->tc, now);
    pump(k);
}

/* The stream's bytes, cut into messages by their own length fields. */
static void on_stream(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                      const uint8_t *p, size_t len) {
    client *k = ctx;
    assert_ptr_equal(c, k->c);
    switch (ev) {
    case FLOE_SIM_TCP_EV_CONNECTED: k->connected = true; return;
    case FLOE_SIM_TCP_EV_CLOSED: k->tcp_closed = true; return;
    case FLOE_SIM_TCP_EV_FAILED: k->tcp_failed = true; return;
    case FLOE_SIM_TCP_EV_DATA: break;
    }
    assert_true(k->rlen + len <= sizeof k->rbuf);
    memcpy(k->rbuf + k->rlen, p, len);
    k->rlen += len;
    size_t off = 0, need;
    while (floe_turn_frame_len(k->rbuf + off, k->rlen - off, &need) == FLOE_OK &&
           k->rlen - off >= need) {
        floe_turn_data d;
        floe_turn_recv_kind r =
            floe_turn_client_on_recv(k->tc, now, k->rbuf + off, need, &k->server, &d);
        assert_int_not_equal(r, FLOE_TURN_RECV_DROPPED);
        if (r == FLOE_TURN_RECV_DATA) {
            assert_true(d.len <= sizeof k->data);
            memcpy(k->data, d.p, d.len);
            k->data_len = d.len;
            k->n_data++;
            if (d.channel) k->n_channel_data++;
        }
        off += need;
    }
    memmove(k->rbuf, k->rbuf + off, k->rlen - off);
    k->rlen -= off;
    pump(k);
}

static void client_start(client *k, lab *L, const char *bind) {
    memset(k, 0, sizeof *k);
    k->sim = L->sim;
    k->server = addr(SERVER);
    floe_sim_rng_derive(L->sim, "turn client", &k->rng);
    floe_turn_config cfg;
    floe_turn_config_default(&cfg);
    cfg.server = k->server;
    cfg.transport = FLOE_TRANSPORT_TCP;
    cfg.username = "alice";
    cfg.password = "wonderland";
    cfg.rand = floe_sim_rng_bytes;
    cfg.rand_ctx = &k->rng;
    assert_int_equal(floe_turn_client_new(&k->tc, &cfg), FLOE_OK);
    assert_int_equal(floe_sim_timer_new(L->sim, on_tick, k, &k->timer), FLOE_OK);
    floe_addr b = addr(bind);
    assert_int_equal(floe_sim_tcp_connect(L->alice, &b, &k->server, on_stream, k, &k->c), FLOE_OK);
    /* The Allocate is written at once: the connection queues it until it is up. */
    assert_int_equal(floe_turn_client_allocate(k->tc, floe_sim_now(L->sim)), FLOE_OK);
    pump(k);
}

static void client_free(client *k) {
    floe_sim_tcp_close(k->c);
    floe_sim_timer_free(k->timer);
    floe_turn_client_free(k->tc);
}

/* Sends one datagram to peer through the relay (ChannelData once the channel is up). */
static void client_send(client *k, const floe_addr *peer, const char *text) {
    uint8_t buf[2048];
    size_t len;
    assert_int_equal(floe_turn_client_send(k->tc, peer, (const uint8_t *)text, strlen(text), buf,
                                           sizeof buf, &len),
                     FLOE_OK);
    assert_int_equal(floe_sim_tcp_send(k->c, buf, len), FLOE_OK);
}

/* What the peer's socket received last. */
typedef struct peer_rx {
    uint8_t buf[2048];
    size_t len;
    floe_addr from;
    unsigned n;
} peer_rx;

static void on_peer(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                    const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)s;
    (void)now;
    (void)dst;
    peer_rx *r = ctx;
    assert_true(len <= sizeof r->buf);
    memcpy(r->buf, p, len);
    r->len = len;
    r->from = *src;
    r->n++;
}

static uint64_t core_counter(lab *L, int c) {
    return floe_turn_server_counters(floe_sim_turn_server_core(L->turn))[c];
}

/* The whole exchange; alice behind a box of the given mode. */
static void run_session(lab *L, const char *bind, const char *want_mapped) {
    client k;
    client_start(&k, L, bind);
    peer_rx rx = {0};
    floe_sim_udp_set_callback(L->peer, on_peer, &rx);
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(2)), FLOE_OK);
    assert_true(k.connected);
    assert_int_equal(k.n_failed, 0);
    assert_int_equal(k.n_allocated, 1);
    assert_int_equal(floe_turn_client_state(k.tc), FLOE_TURN_ALLOCATED);
    floe_addr srv_ip = addr("192.0.2.1:0");
    assert_true(floe_addr_ip_equal(&k.relayed, &srv_ip));
    floe_addr want = addr(want_mapped);
    assert_true(floe_addr_ip_equal(&k.mapped, &want)); /* the server saw our TCP source */
    assert_int_equal(core_counter(L, FLOE_TSRV_ALLOCATED), 1);
    assert_int_equal(core_counter(L, FLOE_TSRV_CHALLENGED), 1);

    /* A permission, then a Send indication out and a Data indication back. */
    floe_addr peer = addr(PEER);
    assert_int_equal(floe_turn_client_permit(k.tc, floe_sim_now(L->sim), &peer), FLOE_OK);
    pump(&k);
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(k.n_permission, 1);
    client_send(&k, &peer, "hello peer");
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(rx.n, 1);
    assert_int_equal(rx.len, 10);
    assert_memory_equal(rx.buf, "hello peer", 10);
    assert_true(floe_addr_equal(&rx.from, &k.relayed));
    assert_int_equal(floe_sim_udp_send(L->peer, &k.relayed, (const uint8_t *)"hi alice", 8),
                     FLOE_OK);
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(k.n_data, 1);
    assert_int_equal(k.data_len, 8);
    assert_memory_equal(k.data, "hi alice", 8);

    /* A channel: ChannelData both ways, a length that needs padding on the stream. */
    assert_int_equal(floe_turn_client_bind_channel(k.tc, floe_sim_now(L->sim), &peer, &k.channel),
                     FLOE_OK);
    pump(&k);
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(k.n_channel, 1);
    client_send(&k, &peer, "odd length");
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(rx.n, 2);
    assert_int_equal(rx.len, 10);
    assert_memory_equal(rx.buf, "odd length", 10);
    assert_int_equal(floe_sim_udp_send(L->peer, &k.relayed, (const uint8_t *)"abcde", 5), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(L->peer, &k.relayed, (const uint8_t *)"fghijkl", 7),
                     FLOE_OK);
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(k.n_data, 3);
    assert_int_equal(k.n_channel_data, 2);
    assert_int_equal(k.data_len, 7);
    assert_memory_equal(k.data, "fghijkl", 7);
    assert_int_equal(core_counter(L, FLOE_TSRV_TO_PEER), 2);
    assert_int_equal(core_counter(L, FLOE_TSRV_TO_CLIENT), 3);

    floe_sim_turn_server_tcp_stats st;
    floe_sim_turn_server_tcp_stats_get(L->turn, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.open, 1);
    assert_int_equal(st.unframeable, 0);
    /* Allocate twice (401 then success), CreatePermission, Send, ChannelBind, ChannelData. */
    assert_int_equal(st.messages, 6);
    floe_turn_server_gauges g;
    floe_turn_server_gauges_get(floe_sim_turn_server_core(L->turn), &g);
    assert_int_equal(g.allocations, 1);

    /* Closing the connection ends the allocation (RFC 8656 §3.1). */
    floe_sim_tcp_close(k.c);
    k.c = NULL;
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(5)), FLOE_OK);
    floe_sim_turn_server_tcp_stats_get(L->turn, &st);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.open, 0);
    floe_turn_server_gauges_get(floe_sim_turn_server_core(L->turn), &g);
    assert_int_equal(g.allocations, 0);
    assert_int_equal(core_counter(L, FLOE_TSRV_CLOSED_WITH_CONN), 1);
    /* The relay is gone: the peer's datagram finds no socket. */
    uint64_t no_socket = floe_sim_counter_get(L->sim, FLOE_SIM_DROP_NO_SOCKET);
    assert_int_equal(floe_sim_udp_send(L->peer, &k.relayed, (const uint8_t *)"late", 4), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L->sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_sim_counter_get(L->sim, FLOE_SIM_DROP_NO_SOCKET), no_socket + 1);
    assert_int_equal(floe_sim_turn_server_send_errors(L->turn), 0);
    client_free(&k);
}

static void test_allocate_over_tcp_through_nat(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 41, FLOE_SIM_NAT_TRANSLATE);
    const char *out = getenv("FLOE_SIM_TCP_PCAP_OUT");
    FILE *f = NULL;
    floe_sim_pcap *pc = NULL;
    if (out && *out) {
        f = fopen(out, "wb");
        assert_non_null(f);
        assert_int_equal(floe_sim_pcap_open(L.sim, f, &pc), FLOE_OK);
    }
    run_session(&L, "10.0.0.2:50000", "203.0.113.1:0");
    /* Both of the server's sides: everything went through one TCP mapping. */
    floe_addr in = addr("10.0.0.2:50000"), srv = addr(SERVER), ext;
    assert_int_equal(floe_sim_nat_lookup_proto(L.box, FLOE_SIM_PROTO_TCP, &in, &srv, &ext),
                     FLOE_OK);
    assert_int_equal(floe_sim_host_counter(L.box, FLOE_SIM_NAT_MAPPING_NEW), 1);
    assert_int_equal(floe_sim_run_until_idle(L.sim, FLOE_S(100)), FLOE_ERR_TIMEOUT); /* ticks */
    assert_int_equal(floe_sim_tcp_count(L.alice), 0);
    if (pc) {
        assert_int_equal(floe_sim_pcap_close(pc), FLOE_OK);
        assert_int_equal(fclose(f), 0);
    }
    lab_free(&L);
}

static void test_udp_blocked_turn_over_tcp(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 42, FLOE_SIM_NAT_BLOCK_UDP);
    /* UDP to the server does not get through the box... */
    floe_sim_udp *u;
    floe_addr any = addr("0.0.0.0:0"), srv = addr(SERVER);
    assert_int_equal(floe_sim_udp_open(L.alice, &any, &u), FLOE_OK);
    assert_int_equal(floe_sim_udp_send(u, &srv, (const uint8_t *)"\x00\x01\x00\x00", 4), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_sim_host_counter(L.box, FLOE_SIM_DROP_FIREWALL), 1);
    assert_int_equal(core_counter(&L, FLOE_TSRV_RX_CLIENT), 0);
    /* ... TCP does, from alice's own address. */
    run_session(&L, "0.0.0.0:0", "203.0.113.130:0");
    floe_sim_udp_close(u);
    lab_free(&L);
}

/* A connection that sends what no STUN or ChannelData message starts with is closed. */
static void on_raw(void *ctx, floe_sim_tcp *c, floe_time_ns now, floe_sim_tcp_event ev,
                   const uint8_t *p, size_t len) {
    (void)c;
    (void)now;
    (void)p;
    (void)len;
    unsigned *closed = ctx;
    if (ev == FLOE_SIM_TCP_EV_CLOSED) (*closed)++;
}

static void test_unframeable_closed(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 43, FLOE_SIM_NAT_TRANSLATE);
    unsigned closed = 0;
    floe_addr any = addr("0.0.0.0:0"), srv = addr(SERVER);
    floe_sim_tcp *c;
    assert_int_equal(floe_sim_tcp_connect(L.alice, &any, &srv, on_raw, &closed, &c), FLOE_OK);
    /* The start of a TLS ClientHello: a record header, then no magic cookie where a STUN
     * header has it. ("GET / ..." would not do: 'G' starts a ChannelData header.) */
    static const uint8_t tls[24] = {0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00, 0x00, 0xf0, 0x03,
                                    0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x11, 0x22, 0x33};
    assert_int_equal(floe_sim_tcp_send(c, tls, sizeof tls), FLOE_OK);
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(2)), FLOE_OK);
    assert_int_equal(closed, 1);
    floe_sim_turn_server_tcp_stats st;
    floe_sim_turn_server_tcp_stats_get(L.turn, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.unframeable, 1);
    assert_int_equal(st.closed, 1);
    assert_int_equal(st.messages, 0);
    assert_int_equal(core_counter(&L, FLOE_TSRV_RX_CLIENT), 0);
    floe_sim_tcp_close(c);
    /* A message split over many writes is framed all the same. A Binding request: */
    static const uint8_t binding[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1,  2,
                                        3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
    unsigned closed2 = 0;
    assert_int_equal(floe_sim_tcp_connect(L.alice, &any, &srv, on_raw, &closed2, &c), FLOE_OK);
    for (size_t i = 0; i < sizeof binding; i++) {
        assert_int_equal(floe_sim_tcp_send(c, binding + i, 1), FLOE_OK);
        assert_int_equal(floe_sim_run_for(L.sim, FLOE_MS(50)), FLOE_OK);
    }
    assert_int_equal(floe_sim_run_for(L.sim, FLOE_S(1)), FLOE_OK);
    floe_sim_turn_server_tcp_stats_get(L.turn, &st);
    assert_int_equal(st.messages, 1);
    assert_int_equal(st.open, 1);
    assert_int_equal(core_counter(&L, FLOE_TSRV_STUN), 1);
    assert_int_equal(closed2, 0);
    floe_sim_tcp_close(c);
    lab_free(&L);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocate_over_tcp_through_nat),
        cmocka_unit_test(test_udp_blocked_turn_over_tcp),
        cmocka_unit_test(test_unframeable_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
