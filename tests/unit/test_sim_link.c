/* Unit tests for sim/sim_link.h, sim/sim_host.h and sim/sim_udp.h: the link model
 * (delay, jitter without reordering, loss, MTU, partitions, interfaces going down),
 * routing (direct, gateways, several interfaces, no route, local delivery, IPv6) and
 * sockets (binding, ephemeral ports, callbacks and queues). Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "floe/err.h"
#include "sim.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

static floe_sim *world(uint64_t seed) {
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    return sim;
}

static floe_sim_network *net(floe_sim *sim, const char *name, floe_time_ns delay) {
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = delay;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, name, &l, &n), FLOE_OK);
    return n;
}

/* A host with one interface: ip4 and/or ip6 ("-" for none), gateway or NULL. */
static floe_sim_host *host(floe_sim *sim, const char *name, floe_sim_network *n, const char *ip,
                           const char *gw) {
    floe_sim_host *h;
    assert_int_equal(floe_sim_host_add(sim, name, &h), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    floe_addr a = addr(ip);
    if (a.family == FLOE_AF_INET4)
        ic.ip4 = a;
    else
        ic.ip6 = a;
    if (gw) {
        floe_addr g = addr(gw);
        if (g.family == FLOE_AF_INET4)
            ic.gw4 = g;
        else
            ic.gw6 = g;
    }
    assert_int_equal(floe_sim_host_add_iface(h, &ic, NULL), FLOE_OK);
    return h;
}

static floe_sim_udp *sock(floe_sim_host *h, const char *bind) {
    floe_addr b = addr(bind);
    floe_sim_udp *s;
    assert_int_equal(floe_sim_udp_open(h, &b, &s), FLOE_OK);
    return s;
}

static void send_to(floe_sim_udp *s, const char *dst, size_t len) {
    static uint8_t buf[FLOE_SIM_MAX_PAYLOAD];
    floe_addr d = addr(dst);
    assert_int_equal(floe_sim_udp_send(s, &d, buf, len), FLOE_OK);
}

static void check_accounting(const floe_sim *sim) {
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_TX),
                     floe_sim_counter_get(sim, FLOE_SIM_DELIVERED) + floe_sim_drops(sim) +
                         floe_sim_in_flight(sim));
}

/* A receiver that records arrival times and the first payload byte. */
typedef struct rx {
    floe_time_ns at[20000];
    uint32_t seq[20000];
    floe_addr src[4];
    size_t n;
} rx;

static void on_rx(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                  const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)s;
    (void)dst;
    rx *r = ctx;
    assert_true(r->n < 20000);
    r->at[r->n] = now;
    uint32_t v = 0;
    if (len >= 4)
        v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->seq[r->n] = v;
    if (r->n < 4) r->src[r->n] = *src;
    r->n++;
}

static void send_seq(floe_sim_udp *s, const floe_addr *d, uint32_t v, size_t len) {
    uint8_t buf[1500] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    assert_int_equal(floe_sim_udp_send(s, d, buf, len), FLOE_OK);
}

/* ---- the link model -------------------------------------------------------------- */

static void test_delay(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    floe_sim_network *n = net(sim, "lan", FLOE_MS(7));
    floe_sim_host *a = host(sim, "a", n, "10.0.0.1", NULL);
    floe_sim_host *b = host(sim, "b", n, "10.0.0.2", NULL);
    floe_sim_udp *sa = sock(a, "10.0.0.1:1000"), *sb = sock(b, "10.0.0.2:2000");
    static rx r;
    memset(&r, 0, sizeof r);
    floe_sim_udp_set_callback(sb, on_rx, &r);
    assert_int_equal(floe_sim_run_until(sim, FLOE_MS(3)), FLOE_OK);
    send_to(sa, "10.0.0.2:2000", 10);
    assert_int_equal(floe_sim_next_time(sim), FLOE_MS(10));
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.at[0], FLOE_MS(10));
    floe_addr from = addr("10.0.0.1:1000");
    assert_true(floe_addr_equal(&r.src[0], &from));
    assert_int_equal(floe_sim_network_counter(n, FLOE_SIM_HOPS), 1);
    assert_int_equal(floe_sim_host_counter(b, FLOE_SIM_DELIVERED), 1);
    assert_int_equal(floe_sim_host_counter(a, FLOE_SIM_TX), 1);
    check_accounting(sim);
    floe_sim_free(sim);
}

static void jitter_run(floe_sim_jitter_dist dist, bool reorder, size_t *inversions,
                       floe_time_ns *min_d, floe_time_ns *max_d) {
    floe_sim *sim = world(9);
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = FLOE_MS(20);
    l.jitter = FLOE_MS(5);
    l.dist = dist;
    l.reorder = reorder;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, "wan", &l, &n), FLOE_OK);
    floe_sim_host *a = host(sim, "a", n, "192.0.2.1", NULL);
    floe_sim_host *b = host(sim, "b", n, "192.0.2.2", NULL);
    floe_sim_udp *sa = sock(a, "0.0.0.0:1000"), *sb = sock(b, "0.0.0.0:2000");
    static rx r;
    memset(&r, 0, sizeof r);
    floe_sim_udp_set_callback(sb, on_rx, &r);
    floe_addr d = addr("192.0.2.2:2000");
    /* 2000 datagrams, one per millisecond: much closer together than the jitter. */
    for (uint32_t i = 0; i < 2000; i++) {
        assert_int_equal(floe_sim_run_until(sim, FLOE_MS(i)), FLOE_OK);
        send_seq(sa, &d, i, 100);
    }
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(10)), FLOE_OK);
    assert_int_equal(r.n, 2000);
    *inversions = 0;
    *min_d = FLOE_TIME_NEVER;
    *max_d = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (i > 0 && r.seq[i] < r.seq[i - 1]) (*inversions)++;
        floe_time_ns delay = r.at[i] - FLOE_MS(r.seq[i]);
        if (delay < *min_d) *min_d = delay;
        if (delay > *max_d) *max_d = delay;
    }
    floe_sim_free(sim);
}

static void test_jitter_without_reordering(void **state) {
    (void)state;
    size_t inv;
    floe_time_ns lo, hi;
    /* Uniform: within [15, 25] ms when reordering is allowed... */
    jitter_run(FLOE_SIM_JITTER_UNIFORM, true, &inv, &lo, &hi);
    assert_true(inv > 100);
    assert_true(lo >= FLOE_MS(15) && lo < FLOE_MS(16));
    assert_true(hi <= FLOE_MS(25) && hi > FLOE_MS(24));
    /* ... and never out of order when it is not (datagrams wait behind slower ones). */
    jitter_run(FLOE_SIM_JITTER_UNIFORM, false, &inv, &lo, &hi);
    assert_int_equal(inv, 0);
    assert_true(lo >= FLOE_MS(15));
    /* Normal: deviation 5 ms, so some beyond one deviation, none beyond six. */
    jitter_run(FLOE_SIM_JITTER_NORMAL, true, &inv, &lo, &hi);
    assert_true(inv > 100);
    assert_true(lo < FLOE_MS(13) && hi > FLOE_MS(27));
    assert_true(hi <= FLOE_MS(50));
    jitter_run(FLOE_SIM_JITTER_NORMAL, false, &inv, &lo, &hi);
    assert_int_equal(inv, 0);
}

static void test_loss(void **state) {
    (void)state;
    floe_sim *sim = world(11);
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.loss = 0.1;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(sim, "wan", &l, &n), FLOE_OK);
    floe_sim_host *a = host(sim, "a", n, "192.0.2.1", NULL);
    floe_sim_host *b = host(sim, "b", n, "192.0.2.2", NULL);
    floe_sim_udp *sa = sock(a, "0.0.0.0:1000"), *sb = sock(b, "0.0.0.0:2000");
    static rx r;
    memset(&r, 0, sizeof r);
    floe_sim_udp_set_callback(sb, on_rx, &r);
    for (int i = 0; i < 10000; i++)
        send_to(sa, "192.0.2.2:2000", 50);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(10)), FLOE_OK);
    uint64_t lost = floe_sim_counter_get(sim, FLOE_SIM_DROP_LOSS);
    assert_in_range(lost, 850, 1150);
    assert_int_equal(r.n + lost, 10000);
    assert_int_equal(floe_sim_network_counter(n, FLOE_SIM_DROP_LOSS), lost);
    check_accounting(sim);

    /* Loss 1 loses everything, 0 nothing; a bad value is refused. */
    l.loss = 1.0;
    assert_int_equal(floe_sim_network_set_link(n, &l), FLOE_OK);
    send_to(sa, "192.0.2.2:2000", 50);
    l.loss = 0.0;
    assert_int_equal(floe_sim_network_set_link(n, &l), FLOE_OK);
    send_to(sa, "192.0.2.2:2000", 50);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(20)), FLOE_OK);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_LOSS), lost + 1);
    assert_int_equal(r.n + lost + 1, 10002);
    l.loss = 1.5;
    assert_int_equal(floe_sim_network_set_link(n, &l), FLOE_ERR_INVAL);
    l.loss = NAN;
    assert_int_equal(floe_sim_network_set_link(n, &l), FLOE_ERR_INVAL);
    floe_sim_free(sim);
}

static void test_mtu(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    floe_sim_network *n = net(sim, "lan", FLOE_MS(1));
    floe_sim_host *a, *b;
    assert_int_equal(floe_sim_host_add(sim, "a", &a), FLOE_OK);
    assert_int_equal(floe_sim_host_add(sim, "b", &b), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    ic.ip4 = addr("10.0.0.1");
    ic.ip6 = addr("fd00::1");
    assert_int_equal(floe_sim_host_add_iface(a, &ic, NULL), FLOE_OK);
    ic.ip4 = addr("10.0.0.2");
    ic.ip6 = addr("fd00::2");
    assert_int_equal(floe_sim_host_add_iface(b, &ic, NULL), FLOE_OK);
    floe_sim_udp *a4 = sock(a, "0.0.0.0:1"), *a6 = sock(a, "[::]:1");
    floe_sim_udp *b4 = sock(b, "0.0.0.0:2"), *b6 = sock(b, "[::]:2");
    /* MTU 1500: 1472 bytes of payload over IPv4 (20 + 8 header bytes), 1452 over IPv6. */
    send_to(a4, "10.0.0.2:2", 1472);
    send_to(a4, "10.0.0.2:2", 1473);
    send_to(a6, "[fd00::2]:2", 1452);
    send_to(a6, "[fd00::2]:2", 1453);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_MTU), 2);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_sim_udp_pending(b4), 1);
    assert_int_equal(floe_sim_udp_pending(b6), 1);
    /* A smaller MTU, changed at a virtual time. */
    floe_sim_link_patch p;
    memset(&p, 0, sizeof p);
    p.fields = FLOE_SIM_LINK_MTU;
    p.v.mtu = 576;
    assert_int_equal(floe_sim_network_patch_at(n, FLOE_S(2), &p), FLOE_OK);
    p.v.mtu = 10;
    assert_int_equal(floe_sim_network_patch_at(n, FLOE_S(2), &p), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(2)), FLOE_OK);
    assert_int_equal(floe_sim_network_link(n)->mtu, 576);
    send_to(a4, "10.0.0.2:2", 548);
    send_to(a4, "10.0.0.2:2", 549);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_MTU), 3);
    /* Too big for UDP at all. */
    uint8_t big[1];
    floe_addr d = addr("10.0.0.2:2");
    assert_int_equal(floe_sim_udp_send(a4, &d, big, FLOE_SIM_MAX_PAYLOAD + 1), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(3)), FLOE_OK);
    check_accounting(sim);
    floe_sim_free(sim);
}

static void test_partition(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    floe_sim_network *n = net(sim, "wan", FLOE_MS(50));
    floe_sim_host *a = host(sim, "a", n, "192.0.2.1", NULL);
    floe_sim_host *b = host(sim, "b", n, "192.0.2.2", NULL);
    floe_sim_udp *sa = sock(a, "0.0.0.0:1"), *sb = sock(b, "0.0.0.0:2");
    static rx r;
    memset(&r, 0, sizeof r);
    floe_sim_udp_set_callback(sb, on_rx, &r);
    assert_int_equal(floe_sim_network_partition_at(n, FLOE_S(1), true), FLOE_OK);
    assert_int_equal(floe_sim_network_partition_at(n, FLOE_S(2), false), FLOE_OK);
    floe_addr d = addr("192.0.2.2:2");
    /* Sent at 0.9 s, 0.97 s (still on the wire at 1 s: lost), 1.5 s, 2 s (healed). */
    floe_time_ns at[] = {FLOE_MS(900), FLOE_MS(970), FLOE_MS(1500), FLOE_MS(2000)};
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(floe_sim_run_until(sim, at[i]), FLOE_OK);
        send_seq(sa, &d, i, 10);
    }
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(5)), FLOE_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.seq[0], 0);
    assert_int_equal(r.seq[1], 3);
    assert_int_equal(floe_sim_network_counter(n, FLOE_SIM_DROP_PARTITION), 2);
    assert_false(floe_sim_network_link(n)->partitioned);

    /* An interface that goes down drops what it sends and what reaches it. */
    floe_sim_iface *bi = floe_sim_host_iface(b, "eth0");
    assert_non_null(bi);
    assert_int_equal(floe_sim_iface_set_up_at(bi, FLOE_S(6), false), FLOE_OK);
    assert_int_equal(floe_sim_iface_set_up_at(bi, FLOE_S(7), true), FLOE_OK);
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(6)), FLOE_OK);
    assert_false(floe_sim_iface_is_up(bi));
    send_seq(sa, &d, 4, 10); /* arrives at a down interface */
    floe_addr back = addr("192.0.2.1:1");
    send_seq(sb, &back, 5, 10); /* leaves by a down interface */
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(7)), FLOE_OK);
    assert_true(floe_sim_iface_is_up(bi));
    send_seq(sa, &d, 6, 10);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(8)), FLOE_OK);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.seq[2], 6);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_LINK_DOWN), 2);
    check_accounting(sim);
    floe_sim_free(sim);
}

/* ---- routing --------------------------------------------------------------------- */

static void test_routing(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    floe_sim_network *lan = net(sim, "lan", FLOE_MS(1));
    floe_sim_network *vpn = net(sim, "vpn", FLOE_MS(5));
    floe_sim_network *wan = net(sim, "wan", FLOE_MS(20));
    /* alice: eth0 on the LAN with a default gateway, wg0 on the VPN without one. */
    floe_sim_host *alice;
    assert_int_equal(floe_sim_host_add(sim, "alice", &alice), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", lan);
    ic.ip4 = addr("10.0.0.2");
    ic.gw4 = addr("10.0.0.1");
    floe_sim_iface *eth0, *wg0;
    assert_int_equal(floe_sim_host_add_iface(alice, &ic, &eth0), FLOE_OK);
    floe_sim_iface_config_init(&ic, "wg0", vpn);
    ic.ip4 = addr("10.9.0.2");
    assert_int_equal(floe_sim_host_add_iface(alice, &ic, &wg0), FLOE_OK);
    assert_int_equal(floe_sim_host_iface_count(alice), 2);
    assert_ptr_equal(floe_sim_host_iface_at(alice, 1), wg0);
    assert_string_equal(floe_sim_iface_name(wg0), "wg0");
    assert_ptr_equal(floe_sim_iface_network(wg0), vpn);
    assert_ptr_equal(floe_sim_iface_host(wg0), alice);

    floe_sim_host *peer = host(sim, "peer", vpn, "10.9.0.3", NULL);
    floe_sim_host *far = host(sim, "far", wan, "198.51.100.7", NULL);
    (void)far;
    /* No router exists yet at 10.0.0.1: a datagram for the WAN has no route. */
    floe_sim_iface *out;
    floe_addr src;
    floe_addr d_far = addr("198.51.100.7:9"), d_peer = addr("10.9.0.3:9");
    assert_int_equal(floe_sim_host_route(alice, &d_far, NULL, &out, &src), FLOE_ERR_UNREACHABLE);
    floe_sim_udp *s = sock(alice, "0.0.0.0:5000");
    uint8_t b = 0;
    assert_int_equal(floe_sim_udp_send(s, &d_far, &b, 1), FLOE_ERR_UNREACHABLE);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_NO_ROUTE), 1);
    assert_int_equal(floe_sim_host_counter(alice, FLOE_SIM_DROP_NO_ROUTE), 1);

    /* The VPN peer is reached directly over wg0, with wg0's address as source. */
    assert_int_equal(floe_sim_host_route(alice, &d_peer, NULL, &out, &src), FLOE_OK);
    assert_ptr_equal(out, wg0);
    floe_addr wg_ip = addr("10.9.0.2");
    assert_true(floe_addr_equal(&src, &wg_ip));
    floe_sim_udp *ps = sock(peer, "10.9.0.3:9");
    send_to(s, "10.9.0.3:9", 3);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1)), FLOE_OK);
    floe_addr from, to;
    uint8_t buf[16];
    size_t len;
    floe_time_ns when;
    assert_int_equal(floe_sim_udp_recv(ps, buf, sizeof buf, &len, &from, &to, &when), FLOE_OK);
    floe_addr expect = addr("10.9.0.2:5000");
    assert_true(floe_addr_equal(&from, &expect));
    assert_int_equal(when, FLOE_MS(5));

    /* A router (a firewall that lets everything through) at 10.0.0.1 connects the LAN
     * to the WAN; the WAN then reaches 10.0.0.2 through it. */
    floe_sim_nat_config fc;
    floe_sim_firewall_config_default(&fc);
    fc.filtering = FLOE_NAT_ENDPOINT_INDEPENDENT;
    floe_sim_iface_config in, outc;
    floe_sim_iface_config_init(&in, NULL, lan);
    in.ip4 = addr("10.0.0.1");
    floe_sim_iface_config_init(&outc, NULL, wan);
    outc.ip4 = addr("198.51.100.1");
    floe_sim_host *router;
    assert_int_equal(floe_sim_nat_add(sim, "router", &fc, &in, &outc, &router), FLOE_OK);
    assert_int_equal(floe_sim_host_route(alice, &d_far, NULL, &out, &src), FLOE_OK);
    assert_ptr_equal(out, eth0);
    floe_addr d_alice = addr("10.0.0.2:5000");
    assert_int_equal(floe_sim_host_route(far, &d_alice, NULL, &out, &src), FLOE_OK);
    assert_ptr_equal(out, floe_sim_host_iface(far, "eth0"));
    /* A socket bound to wg0 has no way to the WAN there (no gateway on wg0): it falls
     * back to the table and leaves by eth0, keeping its bound source. */
    floe_addr bound = addr("10.9.0.2:7");
    assert_int_equal(floe_sim_host_route(alice, &d_far, &bound, &out, &src), FLOE_OK);
    assert_ptr_equal(out, eth0);
    assert_true(floe_addr_equal(&src, &wg_ip));
    /* To itself: local, no interface. */
    floe_addr self = addr("10.9.0.2:1");
    assert_int_equal(floe_sim_host_route(alice, &self, NULL, &out, &src), FLOE_OK);
    assert_null(out);

    /* A round trip through the router: far answers to the address it saw. */
    floe_sim_udp *fs = sock(far, "198.51.100.7:9");
    send_to(s, "198.51.100.7:9", 4);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(2)), FLOE_OK);
    assert_int_equal(floe_sim_udp_recv(fs, buf, sizeof buf, &len, &from, NULL, &when), FLOE_OK);
    floe_addr alice_eth = addr("10.0.0.2:5000");
    assert_true(floe_addr_equal(&from, &alice_eth));
    assert_int_equal(floe_sim_udp_send(fs, &from, buf, len), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(3)), FLOE_OK);
    assert_int_equal(floe_sim_udp_recv(s, buf, sizeof buf, &len, &from, NULL, NULL), FLOE_OK);
    assert_int_equal(floe_sim_host_counter(router, FLOE_SIM_FORWARDED), 2);
    assert_int_equal(floe_sim_network_counter(wan, FLOE_SIM_HOPS), 2);

    /* A plain host does not forward. */
    floe_sim_host *other = host(sim, "other", lan, "10.0.0.9", "10.0.0.2");
    floe_sim_udp *os = sock(other, "0.0.0.0:1");
    send_to(os, "10.9.0.3:9", 1); /* to alice as its gateway */
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(4)), FLOE_OK);
    assert_int_equal(floe_sim_host_counter(alice, FLOE_SIM_DROP_NOT_FOR_HOST), 1);
    check_accounting(sim);
    floe_sim_free(sim);
}

static void test_addresses_and_ipv6(void **state) {
    (void)state;
    floe_sim *sim = world(1);
    floe_sim_network *lan1 = net(sim, "lan1", FLOE_MS(1));
    floe_sim_network *lan2 = net(sim, "lan2", FLOE_MS(1));
    /* The same private address on two networks is fine; twice on one is not. */
    host(sim, "a", lan1, "10.0.0.2", NULL);
    host(sim, "b", lan2, "10.0.0.2", NULL);
    floe_sim_host *c;
    assert_int_equal(floe_sim_host_add(sim, "c", &c), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", lan1);
    ic.ip4 = addr("10.0.0.2");
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_STATE);
    ic.ip4 = addr("0.0.0.0");
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL);
    ic.ip4 = addr("224.0.0.1");
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL);
    ic.ip4 = addr("::1");
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL);
    memset(&ic.ip4, 0, sizeof ic.ip4);
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL); /* no address */
    ic.gw6 = addr("fd00::1");
    ic.ip4 = addr("10.0.0.3");
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL); /* gw6, no ip6 */
    memset(&ic.gw6, 0, sizeof ic.gw6);
    ic.gw4 = addr("10.0.0.3");
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL); /* gw is itself */
    memset(&ic.gw4, 0, sizeof ic.gw4);
    ic.name = "bad.name";
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_INVAL);
    ic.name = "eth0";
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_OK);
    assert_int_equal(floe_sim_host_add_iface(c, &ic, NULL), FLOE_ERR_STATE); /* name taken */
    assert_int_equal(floe_sim_host_add(sim, "c", NULL), FLOE_ERR_STATE);
    assert_ptr_equal(floe_sim_host_find(sim, "c"), c);
    assert_null(floe_sim_host_find(sim, "zz"));
    assert_ptr_equal(floe_sim_network_find(sim, "lan2"), lan2);
    assert_int_equal(floe_sim_network_index(lan2), 1);
    assert_ptr_equal(floe_sim_network_at(sim, 1), lan2);

    /* IPv6 through a v6 gateway (a routing firewall), end to end. */
    floe_sim_network *v6lan = net(sim, "v6lan", FLOE_MS(1));
    floe_sim_network *v6wan = net(sim, "v6wan", FLOE_MS(10));
    floe_sim_host *h6 = host(sim, "h6", v6lan, "2001:db8:1::2", "2001:db8:1::1");
    floe_sim_host *s6 = host(sim, "s6", v6wan, "2001:db8:2::9", NULL);
    floe_sim_nat_config fc;
    floe_sim_firewall_config_default(&fc);
    floe_sim_iface_config in, out;
    floe_sim_iface_config_init(&in, NULL, v6lan);
    in.ip6 = addr("2001:db8:1::1");
    floe_sim_iface_config_init(&out, NULL, v6wan);
    out.ip6 = addr("2001:db8:2::1");
    assert_int_equal(floe_sim_nat_add(sim, "fw6", &fc, &in, &out, NULL), FLOE_OK);
    floe_sim_udp *c6 = sock(h6, "[::]:4000"), *srv6 = sock(s6, "[2001:db8:2::9]:3478");
    floe_addr v4dst = addr("192.0.2.1:1");
    uint8_t x = 0;
    assert_int_equal(floe_sim_udp_send(c6, &v4dst, &x, 1), FLOE_ERR_INVAL); /* family */
    send_to(c6, "[2001:db8:2::9]:3478", 20);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1)), FLOE_OK);
    uint8_t buf[64];
    size_t len;
    floe_addr from;
    assert_int_equal(floe_sim_udp_recv(srv6, buf, sizeof buf, &len, &from, NULL, NULL), FLOE_OK);
    floe_addr expect = addr("[2001:db8:1::2]:4000");
    assert_true(floe_addr_equal(&from, &expect));
    assert_int_equal(floe_sim_udp_send(srv6, &from, buf, len), FLOE_OK);
    /* An unsolicited one from another port is blocked by the stateful firewall. */
    floe_sim_udp *other6 = sock(s6, "[2001:db8:2::9]:9999");
    assert_int_equal(floe_sim_udp_send(other6, &from, buf, len), FLOE_OK);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(2)), FLOE_OK);
    assert_int_equal(floe_sim_udp_pending(c6), 1);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_DROP_NAT_FILTERED), 1);
    check_accounting(sim);
    floe_sim_free(sim);
}

/* ---- sockets --------------------------------------------------------------------- */

typedef struct closer {
    floe_sim_udp *s;
    unsigned n;
} closer;

static void close_self(void *ctx, floe_sim_udp *s, floe_time_ns now, const floe_addr *src,
                       const floe_addr *dst, const uint8_t *p, size_t len) {
    (void)now;
    (void)src;
    (void)dst;
    (void)p;
    (void)len;
    closer *c = ctx;
    c->n++;
    floe_sim_udp_close(s);
    c->s = NULL;
}

static void test_sockets(void **state) {
    (void)state;
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.socket_queue = 2;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, &cfg), FLOE_OK);
    floe_sim_network *n = net(sim, "lan", FLOE_MS(1));
    floe_sim_host *a = host(sim, "a", n, "10.0.0.1", NULL);
    floe_sim_host *b = host(sim, "b", n, "10.0.0.2", NULL);

    /* Binding rules. */
    floe_sim_udp *s1, *s2;
    floe_addr bad = addr("10.0.0.2:1");
    assert_int_equal(floe_sim_udp_open(a, &bad, &s1), FLOE_ERR_INVAL); /* not a's address */
    floe_addr v6 = addr("[::]:1");
    assert_int_equal(floe_sim_udp_open(a, &v6, &s1), FLOE_OK); /* v6 any: fine, v6 only */
    floe_sim_udp_close(s1);
    floe_addr b1 = addr("10.0.0.1:7000"), any7 = addr("0.0.0.0:7000");
    assert_int_equal(floe_sim_udp_open(a, &b1, &s1), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(a, &b1, &s2), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_udp_open(a, &any7, &s2), FLOE_ERR_STATE); /* overlaps */
    floe_sim_udp_close(s1);
    assert_int_equal(floe_sim_udp_open(a, &any7, &s1), FLOE_OK);
    floe_sim_udp_close(s1);
    floe_sim_udp_close(NULL);

    /* Ephemeral ports count up from FLOE_SIM_EPHEMERAL_FIRST, skipping used ones. */
    floe_addr any0 = addr("0.0.0.0"), fixed = addr("10.0.0.1:49153");
    floe_sim_udp *e1, *e2, *e3;
    assert_int_equal(floe_sim_udp_open(a, &fixed, &e3), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(a, &any0, &e1), FLOE_OK);
    assert_int_equal(floe_sim_udp_open(a, &any0, &e2), FLOE_OK);
    assert_int_equal(floe_sim_udp_local(e1).port, FLOE_SIM_EPHEMERAL_FIRST);
    assert_int_equal(floe_sim_udp_local(e2).port, FLOE_SIM_EPHEMERAL_FIRST + 2);
    assert_ptr_equal(floe_sim_udp_host(e2), a);

    /* Queue mode: bounded; NOSPACE keeps the datagram. */
    floe_sim_udp *q = sock(b, "10.0.0.2:9");
    send_to(e1, "10.0.0.2:9", 10);
    send_to(e1, "10.0.0.2:9", 20);
    send_to(e1, "10.0.0.2:9", 30); /* the queue holds two */
    send_to(e1, "10.0.0.2:10", 5); /* nobody there */
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(1)), FLOE_OK);
    assert_int_equal(floe_sim_udp_pending(q), 2);
    assert_int_equal(floe_sim_host_counter(b, FLOE_SIM_DROP_SOCKET_QUEUE), 1);
    assert_int_equal(floe_sim_host_counter(b, FLOE_SIM_DROP_NO_SOCKET), 1);
    uint8_t buf[32];
    size_t len;
    floe_addr src, dst;
    assert_int_equal(floe_sim_udp_recv(q, buf, 5, &len, &src, &dst, NULL), FLOE_ERR_NOSPACE);
    assert_int_equal(len, 10);
    assert_int_equal(floe_sim_udp_recv(q, buf, sizeof buf, &len, &src, &dst, NULL), FLOE_OK);
    assert_int_equal(len, 10);
    floe_addr me = addr("10.0.0.2:9");
    assert_true(floe_addr_equal(&dst, &me));
    assert_int_equal(floe_sim_udp_recv(q, buf, sizeof buf, &len, NULL, NULL, NULL), FLOE_OK);
    assert_int_equal(len, 20);
    assert_int_equal(floe_sim_udp_recv(q, buf, sizeof buf, &len, NULL, NULL, NULL),
                     FLOE_ERR_NOT_FOUND);

    /* A socket may close itself in its callback; queued datagrams go with a close. */
    closer c = {q, 0};
    floe_sim_udp_set_callback(q, close_self, &c);
    send_to(e1, "10.0.0.2:9", 1);
    send_to(e1, "10.0.0.2:9", 2);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(2)), FLOE_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(floe_sim_host_counter(b, FLOE_SIM_DROP_NO_SOCKET), 2);
    floe_sim_udp *q2 = sock(b, "10.0.0.2:11");
    send_to(e1, "10.0.0.2:11", 1);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(3)), FLOE_OK);
    floe_sim_udp_close(q2);

    /* To its own address: delivered at once, without a network. */
    floe_sim_udp *self = sock(a, "10.0.0.1:5");
    uint64_t hops = floe_sim_counter_get(sim, FLOE_SIM_HOPS);
    send_to(e1, "10.0.0.1:5", 3);
    assert_int_equal(floe_sim_next_time(sim), floe_sim_now(sim));
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(4)), FLOE_OK);
    assert_int_equal(floe_sim_udp_pending(self), 1);
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_HOPS), hops);

    /* Bad destinations. */
    floe_addr zero = addr("10.0.0.2:0"), unspec = addr("0.0.0.0:9");
    assert_int_equal(floe_sim_udp_send(e1, &zero, buf, 1), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_udp_send(e1, &unspec, buf, 1), FLOE_ERR_INVAL);
    check_accounting(sim);
    assert_int_equal(floe_sim_in_flight(sim), 0);
    floe_sim_free(sim); /* closes the sockets still open, queued datagrams included */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_jitter_without_reordering),
        cmocka_unit_test(test_loss),
        cmocka_unit_test(test_mtu),
        cmocka_unit_test(test_partition),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_addresses_and_ipv6),
        cmocka_unit_test(test_sockets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
