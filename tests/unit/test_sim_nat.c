/* Unit tests for sim/nat/sim_nat.h, validated by floe's own RFC 5780 client: for each of
 * the nine mapping x filtering behaviours (with each port assignment policy), for no
 * NAT, for NAT behind NAT (all 81 pairs), for a stateful firewall and one that blocks
 * UDP, floe_stun_behavior runs on a host behind the box against floe_stun_server (two
 * IPs, four sockets) across the simulated Internet, and must find what was configured.
 * Then hairpinning, binding timeouts and refreshes, port assignment, the table caps and
 * the drop counters. Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/stun_behavior.h"
#include "floe/stun_client.h"
#include "sim.h"
#include "sim_stun.h"

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

#define STUN_PRIMARY "192.0.2.1:3478"
#define STUN_ALTERNATE "192.0.2.2:3479"

/* ---- the lab: an Internet with an RFC 5780 STUN server -------------------------- */

typedef struct lab {
    floe_sim *sim;
    floe_sim_network *internet;
    floe_sim_host *server;
    floe_sim_stun_server *stun;
} lab;

static floe_sim_network *lab_net(lab *L, const char *name, floe_time_ns delay) {
    floe_sim_link l;
    floe_sim_link_default(&l);
    l.delay = delay;
    floe_sim_network *n;
    assert_int_equal(floe_sim_network_add(L->sim, name, &l, &n), FLOE_OK);
    return n;
}

static void lab_init(lab *L, uint64_t seed) {
    memset(L, 0, sizeof *L);
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.seed = seed;
    cfg.start = FLOE_S(1000);
    assert_int_equal(floe_sim_new(&L->sim, &cfg), FLOE_OK);
    L->internet = lab_net(L, "internet", FLOE_MS(15));
    /* The server has two addresses, one per interface, on the Internet. */
    assert_int_equal(floe_sim_host_add(L->sim, "stun", &L->server), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", L->internet);
    ic.ip4 = addr("192.0.2.1");
    assert_int_equal(floe_sim_host_add_iface(L->server, &ic, NULL), FLOE_OK);
    floe_sim_iface_config_init(&ic, "eth1", L->internet);
    ic.ip4 = addr("192.0.2.2");
    assert_int_equal(floe_sim_host_add_iface(L->server, &ic, NULL), FLOE_OK);
    floe_stun_server_config sc;
    floe_stun_server_config_default(&sc);
    sc.rfc5780 = true;
    sc.primary = addr(STUN_PRIMARY);
    sc.alternate = addr(STUN_ALTERNATE);
    assert_int_equal(floe_sim_stun_server_new(L->server, &sc, &L->stun), FLOE_OK);
}

static void lab_free(lab *L) {
    floe_sim_stun_server_free(L->stun);
    floe_sim_free(L->sim);
}

static floe_sim_host *lab_host(lab *L, const char *name, floe_sim_network *n, const char *ip,
                               const char *gw) {
    floe_sim_host *h;
    assert_int_equal(floe_sim_host_add(L->sim, name, &h), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", n);
    ic.ip4 = addr(ip);
    if (gw) ic.gw4 = addr(gw);
    assert_int_equal(floe_sim_host_add_iface(h, &ic, NULL), FLOE_OK);
    return h;
}

static floe_sim_host *lab_nat(lab *L, const char *name, const floe_sim_nat_config *c,
                              floe_sim_network *in_net, const char *in_ip,
                              floe_sim_network *out_net, const char *out_ip, const char *out_gw) {
    floe_sim_iface_config in, out;
    floe_sim_iface_config_init(&in, NULL, in_net);
    in.ip4 = addr(in_ip);
    floe_sim_iface_config_init(&out, NULL, out_net);
    out.ip4 = addr(out_ip);
    if (out_gw) out.gw4 = addr(out_gw);
    floe_sim_host *h;
    assert_int_equal(floe_sim_nat_add(L->sim, name, c, &in, &out, &h), FLOE_OK);
    return h;
}

static floe_sim_nat_config nat_cfg(floe_nat_behavior m, floe_nat_behavior f) {
    floe_sim_nat_config c;
    floe_sim_nat_config_default(&c);
    c.mapping = m;
    c.filtering = f;
    return c;
}

static void check_accounting(const floe_sim *sim) {
    assert_int_equal(floe_sim_counter_get(sim, FLOE_SIM_TX),
                     floe_sim_counter_get(sim, FLOE_SIM_DELIVERED) + floe_sim_drops(sim) +
                         floe_sim_in_flight(sim));
}

/* Runs RFC 5780 discovery from host h, socket bound to `bind`, to the lab's server. */
static floe_stun_behavior_result discover(lab *L, floe_sim_host *h, const char *bind) {
    floe_stun_behavior_config cfg;
    floe_stun_behavior_config_default(&cfg);
    cfg.server = addr(STUN_PRIMARY);
    cfg.local = addr(bind);
    floe_sim_stun_behavior *d;
    assert_int_equal(floe_sim_stun_behavior_new(h, &cfg.local, &cfg, &d), FLOE_OK);
    floe_time_ns t0 = floe_sim_now(L->sim);
    assert_int_equal(floe_sim_stun_behavior_start(d), FLOE_OK);
    /* Discovery ends by itself; then nothing is left to run. */
    assert_int_equal(floe_sim_run_until_idle(L->sim, t0 + FLOE_S(60)), FLOE_OK);
    assert_true(floe_sim_stun_behavior_done(d));
    const floe_sim_endpoint_stats *st =
        floe_sim_endpoint_stats_get(floe_sim_stun_behavior_endpoint(d));
    assert_int_equal(st->tx_errors, 0);
    assert_int_equal(st->spins, 0);
    floe_stun_behavior_result r = *floe_sim_stun_behavior_result(d);
    floe_sim_stun_behavior_free(d);
    return r;
}

static const floe_nat_behavior kinds[3] = {
    FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT};

static void test_nine_nat_types(void **state) {
    (void)state;
    const floe_sim_nat_ports policies[3] = {FLOE_SIM_NAT_PORTS_PRESERVE, FLOE_SIM_NAT_PORTS_RANDOM,
                                            FLOE_SIM_NAT_PORTS_SEQUENTIAL};
    for (int pi = 0; pi < 3; pi++) {
        for (int mi = 0; mi < 3; mi++) {
            for (int fi = 0; fi < 3; fi++) {
                lab L;
                lab_init(&L, 100 + (uint64_t)(pi * 9 + mi * 3 + fi));
                floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
                floe_sim_nat_config c = nat_cfg(kinds[mi], kinds[fi]);
                c.ports = policies[pi];
                floe_sim_host *nat =
                    lab_nat(&L, "nat", &c, lan, "10.0.0.1", L.internet, "203.0.113.1", NULL);
                floe_sim_host *alice = lab_host(&L, "alice", lan, "10.0.0.2", "10.0.0.1");
                floe_stun_behavior_result r = discover(&L, alice, "10.0.0.2:5000");
                print_message(
                    "ports %-10s mapping %-4s filtering %-4s -> %s / %s\n",
                    floe_sim_nat_ports_name(policies[pi]), floe_sim_nat_mapping_short(kinds[mi]),
                    floe_sim_nat_filtering_short(kinds[fi]), floe_sim_nat_mapping_short(r.mapping),
                    floe_sim_nat_filtering_short(r.filtering));
                assert_int_equal(r.status, FLOE_STUN_BEHAVIOR_OK);
                assert_true(r.nat_known);
                assert_true(r.nat);
                assert_int_equal(r.mapping, kinds[mi]);
                assert_int_equal(r.filtering, kinds[fi]);
                floe_addr pub = addr("203.0.113.1");
                assert_true(floe_addr_ip_equal(&r.mapped, &pub));
                if (policies[pi] == FLOE_SIM_NAT_PORTS_PRESERVE)
                    assert_int_equal(r.mapped.port, 5000);
                if (policies[pi] == FLOE_SIM_NAT_PORTS_SEQUENTIAL)
                    assert_int_equal(r.mapped.port, FLOE_SIM_NAT_PORT_MIN_DEFAULT);
                /* What the NAT filtered is what the filtering tests expected to lose. */
                uint64_t filtered = floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_FILTERED);
                unsigned silent = kinds[fi] == FLOE_NAT_ENDPOINT_INDEPENDENT ? 0
                                  : kinds[fi] == FLOE_NAT_ADDRESS_DEPENDENT  ? 1
                                                                             : 2;
                assert_int_equal(filtered, silent * FLOE_STUN_BEHAVIOR_RC);
                check_accounting(L.sim);
                lab_free(&L);
            }
        }
    }
}

static void test_no_nat(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 1);
    floe_sim_host *pub = lab_host(&L, "pub", L.internet, "198.51.100.20", NULL);
    floe_stun_behavior_result r = discover(&L, pub, "198.51.100.20:5000");
    assert_int_equal(r.status, FLOE_STUN_BEHAVIOR_OK);
    assert_true(r.nat_known);
    assert_false(r.nat);
    assert_int_equal(r.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(r.filtering, FLOE_NAT_ENDPOINT_INDEPENDENT);
    floe_addr me = addr("198.51.100.20:5000");
    assert_true(floe_addr_equal(&r.mapped, &me));
    assert_int_equal(floe_sim_drops(L.sim), 0);
    lab_free(&L);
}

static floe_nat_behavior stricter(floe_nat_behavior a, floe_nat_behavior b) {
    return a > b ? a : b; /* the enum goes from endpoint-independent to port-dependent */
}

static void test_nat_behind_nat(void **state) {
    (void)state;
    /* A home NAT whose outside is on the ISP's network, behind the ISP's carrier-grade
     * NAT. Through both, the stricter behaviour of the two shows, mapping and filtering
     * alike. All 81 pairs. */
    unsigned runs = 0;
    for (int i = 0; i < 9; i++) {
        for (int o = 0; o < 9; o++) {
            lab L;
            lab_init(&L, 1000 + (uint64_t)(i * 9 + o));
            floe_sim_network *isp = lab_net(&L, "isp", FLOE_MS(3));
            floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
            floe_sim_nat_config cin = nat_cfg(kinds[i / 3], kinds[i % 3]);
            floe_sim_nat_config cout = nat_cfg(kinds[o / 3], kinds[o % 3]);
            cout.ports = FLOE_SIM_NAT_PORTS_RANDOM;
            floe_sim_host *cgn =
                lab_nat(&L, "cgn", &cout, isp, "100.64.0.1", L.internet, "203.0.113.9", NULL);
            lab_nat(&L, "home", &cin, lan, "192.168.1.1", isp, "100.64.0.2", "100.64.0.1");
            floe_sim_host *alice = lab_host(&L, "alice", lan, "192.168.1.2", "192.168.1.1");
            floe_stun_behavior_result r = discover(&L, alice, "192.168.1.2:5000");
            assert_int_equal(r.status, FLOE_STUN_BEHAVIOR_OK);
            assert_true(r.nat);
            floe_addr pub = addr("203.0.113.9");
            assert_true(floe_addr_ip_equal(&r.mapped, &pub));
            assert_int_equal(r.mapping, stricter(kinds[i / 3], kinds[o / 3]));
            assert_int_equal(r.filtering, stricter(kinds[i % 3], kinds[o % 3]));
            assert_true(floe_sim_host_counter(cgn, FLOE_SIM_FORWARDED) > 0);
            check_accounting(L.sim);
            lab_free(&L);
            runs++;
        }
    }
    assert_int_equal(runs, 81);
}

static void test_firewalls(void **state) {
    (void)state;
    /* A stateful firewall, no translation: no NAT, and the filter shows. */
    for (int fi = 0; fi < 3; fi++) {
        lab L;
        lab_init(&L, 7);
        floe_sim_network *dmz = lab_net(&L, "dmz", FLOE_MS(1));
        floe_sim_nat_config c;
        floe_sim_firewall_config_default(&c);
        c.filtering = kinds[fi];
        lab_nat(&L, "fw", &c, dmz, "198.51.100.1", L.internet, "198.51.100.254", NULL);
        floe_sim_host *h = lab_host(&L, "h", dmz, "198.51.100.20", "198.51.100.1");
        floe_stun_behavior_result r = discover(&L, h, "198.51.100.20:5000");
        assert_int_equal(r.status, FLOE_STUN_BEHAVIOR_OK);
        assert_false(r.nat);
        assert_int_equal(r.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
        assert_int_equal(r.filtering, kinds[fi]);
        lab_free(&L);
    }
    /* A firewall that blocks UDP: no answer at all, every request dropped at the box. */
    lab L;
    lab_init(&L, 8);
    floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
    floe_sim_nat_config c;
    floe_sim_firewall_config_default(&c);
    c.mode = FLOE_SIM_NAT_BLOCK_UDP;
    floe_sim_host *fw = lab_nat(&L, "fw", &c, lan, "10.0.0.1", L.internet, "198.51.100.254", NULL);
    floe_sim_host *h = lab_host(&L, "h", lan, "10.0.0.2", "10.0.0.1");
    floe_stun_behavior_result r = discover(&L, h, "10.0.0.2:5000");
    assert_int_equal(r.status, FLOE_STUN_BEHAVIOR_NO_RESPONSE);
    assert_int_equal(r.failed_test, FLOE_STUN_BT_I);
    assert_int_equal(floe_sim_host_counter(fw, FLOE_SIM_DROP_FIREWALL), FLOE_STUN_BEHAVIOR_RC);
    assert_int_equal(floe_sim_counter_get(L.sim, FLOE_SIM_DROP_FIREWALL), FLOE_STUN_BEHAVIOR_RC);
    assert_int_equal(floe_stun_server_counter_name(FLOE_SRV_RX) != NULL, true);
    assert_int_equal(floe_sim_stun_server_core(L.stun)->counters[FLOE_SRV_RX], 0);
    check_accounting(L.sim);
    lab_free(&L);
}

/* ---- datagrams through a NAT, by hand -------------------------------------------- */

static floe_sim_udp *sock(floe_sim_host *h, const char *bind) {
    floe_addr b = addr(bind);
    floe_sim_udp *s;
    assert_int_equal(floe_sim_udp_open(h, &b, &s), FLOE_OK);
    return s;
}

static void send_to(floe_sim_udp *s, const floe_addr *d) {
    uint8_t msg[4] = {'f', 'l', 'o', 'e'};
    assert_int_equal(floe_sim_udp_send(s, d, msg, sizeof msg), FLOE_OK);
}

/* Pops one datagram from a queue-mode socket; returns its source (family NONE if none). */
static floe_addr recv_from(floe_sim_udp *s) {
    uint8_t buf[64];
    size_t len;
    floe_addr src;
    memset(&src, 0, sizeof src);
    if (floe_sim_udp_recv(s, buf, sizeof buf, &len, &src, NULL, NULL) != FLOE_OK)
        memset(&src, 0, sizeof src);
    return src;
}

static void settle(lab *L) {
    assert_int_equal(floe_sim_run_until_idle(L->sim, floe_sim_now(L->sim) + FLOE_S(5)), FLOE_OK);
}

static void test_hairpinning(void **state) {
    (void)state;
    for (int on = 0; on < 2; on++) {
        lab L;
        lab_init(&L, 3);
        floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
        floe_sim_nat_config c =
            nat_cfg(FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
        c.hairpin = on;
        floe_sim_host *nat =
            lab_nat(&L, "nat", &c, lan, "10.0.0.1", L.internet, "203.0.113.1", NULL);
        floe_sim_host *alice = lab_host(&L, "alice", lan, "10.0.0.2", "10.0.0.1");
        floe_sim_host *bob = lab_host(&L, "bob", lan, "10.0.0.3", "10.0.0.1");
        floe_sim_udp *sa = sock(alice, "10.0.0.2:5000"), *sb = sock(bob, "10.0.0.3:6000");
        /* Both learn their public address from the server (the server's own sockets
         * answer STUN; here a raw datagram is enough to create the mappings). */
        floe_addr srv = addr(STUN_PRIMARY);
        send_to(sa, &srv);
        send_to(sb, &srv);
        settle(&L);
        floe_addr a_in = addr("10.0.0.2:5000"), b_in = addr("10.0.0.3:6000");
        floe_addr a_ext, b_ext;
        assert_int_equal(floe_sim_nat_lookup(nat, &a_in, &srv, &a_ext), FLOE_OK);
        assert_int_equal(floe_sim_nat_lookup(nat, &b_in, &srv, &b_ext), FLOE_OK);
        floe_addr a_pub = addr("203.0.113.1:5000"), b_pub = addr("203.0.113.1:6000");
        assert_true(floe_addr_equal(&a_ext, &a_pub)); /* port preservation */
        assert_true(floe_addr_equal(&b_ext, &b_pub));
        assert_int_equal(floe_sim_nat_mapping_count(nat), 2);

        /* Alice to Bob's public address: Bob's filter has not seen Alice yet. */
        send_to(sa, &b_ext);
        settle(&L);
        assert_int_equal(floe_sim_udp_pending(sb), 0);
        if (!on) {
            assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_HAIRPIN), 1);
            /* Off stays off, whatever the filters say. */
            send_to(sb, &a_ext);
            settle(&L);
            assert_int_equal(floe_sim_udp_pending(sa), 0);
            assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_HAIRPIN), 2);
            check_accounting(L.sim);
            lab_free(&L);
            continue;
        }
        assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_FILTERED), 1);
        /* Bob to Alice's public address: Alice sent to Bob's public address, so her
         * filter lets it in; it arrives from Bob's public address (RFC 4787 REQ-9). */
        send_to(sb, &a_ext);
        settle(&L);
        floe_addr from = recv_from(sa);
        assert_true(floe_addr_equal(&from, &b_ext));
        /* Now both filters are open: the punched hole works both ways. */
        send_to(sa, &b_ext);
        settle(&L);
        from = recv_from(sb);
        assert_true(floe_addr_equal(&from, &a_ext));
        assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_HAIRPIN), 0);
        check_accounting(L.sim);
        lab_free(&L);
    }
}

/* A STUN Binding through the world: the mapped address the client's socket gets. */
static floe_sim_stun_client *client_open(floe_sim_host *h, const char *bind) {
    floe_stun_client_config cfg;
    floe_stun_client_config_default(&cfg);
    cfg.server = addr(STUN_PRIMARY);
    floe_addr b = addr(bind);
    floe_sim_stun_client *cl;
    assert_int_equal(floe_sim_stun_client_new(h, &b, &cfg, &cl), FLOE_OK);
    return cl;
}

static floe_addr client_mapped(lab *L, floe_sim_stun_client *cl) {
    assert_int_equal(floe_sim_stun_client_start(cl, NULL), FLOE_OK);
    settle(L);
    assert_true(floe_sim_stun_client_done(cl));
    const floe_stun_client_event *ev = floe_sim_stun_client_event_get(cl);
    assert_int_equal(ev->type, FLOE_STUN_CLIENT_EV_SUCCESS);
    return ev->result.mapped;
}

static void test_binding_timeout(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 5);
    floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
    floe_sim_nat_config c =
        nat_cfg(FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    c.ports = FLOE_SIM_NAT_PORTS_SEQUENTIAL;
    c.timeout = FLOE_S(30);
    floe_sim_host *nat = lab_nat(&L, "nat", &c, lan, "10.0.0.1", L.internet, "203.0.113.1", NULL);
    floe_sim_host *alice = lab_host(&L, "alice", lan, "10.0.0.2", "10.0.0.1");
    floe_sim_stun_client *cl = client_open(alice, "10.0.0.2:5000");
    floe_time_ns t0 = floe_sim_now(L.sim);
    floe_addr m1 = client_mapped(&L, cl);
    /* Refreshed by outbound traffic every 20 s, the mapping lives on. */
    for (int k = 1; k <= 3; k++) {
        assert_int_equal(floe_sim_run_until(L.sim, t0 + FLOE_S(20) * (floe_time_ns)k), FLOE_OK);
        floe_addr m = client_mapped(&L, cl);
        assert_true(floe_addr_equal(&m, &m1));
    }
    /* 31 s of silence: it expires, and the next request gets a new one. */
    floe_time_ns last = floe_sim_now(L.sim);
    assert_int_equal(floe_sim_run_until(L.sim, last + FLOE_S(31)), FLOE_OK);
    assert_int_equal(floe_sim_nat_mapping_count(nat), 0);
    floe_addr m2 = client_mapped(&L, cl);
    assert_false(floe_addr_equal(&m2, &m1));
    assert_true(floe_addr_ip_equal(&m2, &m1));
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_NAT_MAPPING_EXPIRED), 1);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_NAT_MAPPING_NEW), 2);
    /* The old external port is dead: the server's datagram to it is dropped. */
    floe_sim_udp *raw = sock(L.server, "192.0.2.1:9999");
    send_to(raw, &m1);
    settle(&L);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_NO_MAPPING), 1);
    floe_sim_stun_client_free(cl);
    check_accounting(L.sim);
    lab_free(&L);
}

static void test_inbound_refresh(void **state) {
    (void)state;
    /* One outbound datagram, then the server sends every 10 s for a minute. Without
     * inbound refresh the mapping dies 30 s after the outbound one; with it, it lives. */
    for (int refresh = 0; refresh < 2; refresh++) {
        lab L;
        lab_init(&L, 6);
        floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
        floe_sim_nat_config c =
            nat_cfg(FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
        c.refresh_inbound = refresh;
        floe_sim_host *nat =
            lab_nat(&L, "nat", &c, lan, "10.0.0.1", L.internet, "203.0.113.1", NULL);
        floe_sim_host *alice = lab_host(&L, "alice", lan, "10.0.0.2", "10.0.0.1");
        floe_sim_udp *sa = sock(alice, "10.0.0.2:5000");
        floe_sim_udp *raw = sock(L.server, "192.0.2.1:7000");
        floe_addr to_raw = addr("192.0.2.1:7000"), ext = addr("203.0.113.1:5000");
        send_to(sa, &to_raw);
        settle(&L);
        floe_time_ns t0 = floe_sim_now(L.sim);
        for (int k = 1; k <= 6; k++) {
            assert_int_equal(floe_sim_run_until(L.sim, t0 + FLOE_S(10) * (floe_time_ns)k), FLOE_OK);
            send_to(raw, &ext);
        }
        settle(&L);
        if (refresh) {
            assert_int_equal(floe_sim_udp_pending(sa), 6);
            assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_NO_MAPPING), 0);
        } else {
            assert_int_equal(floe_sim_udp_pending(sa), 2); /* at 10 s and 20 s */
            assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_NO_MAPPING), 4);
        }
        check_accounting(L.sim);
        lab_free(&L);
    }
}

static void test_port_assignment(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 12);
    floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
    floe_sim_network *lan2 = lab_net(&L, "lan2", FLOE_MS(1));
    floe_sim_network *lan3 = lab_net(&L, "lan3", FLOE_MS(1));
    floe_sim_nat_config c =
        nat_cfg(FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    c.port_min = 40000;
    c.port_max = 40099;
    floe_sim_host *pres = lab_nat(&L, "pres", &c, lan, "10.0.0.1", L.internet, "203.0.113.1", NULL);
    c.ports = FLOE_SIM_NAT_PORTS_RANDOM;
    floe_sim_host *rnd = lab_nat(&L, "rnd", &c, lan2, "10.0.0.1", L.internet, "203.0.113.2", NULL);
    c.ports = FLOE_SIM_NAT_PORTS_SEQUENTIAL;
    c.port_max = 40001; /* two ports only */
    floe_sim_host *seq = lab_nat(&L, "seq", &c, lan3, "10.0.0.1", L.internet, "203.0.113.3", NULL);
    floe_sim_host *a1 = lab_host(&L, "a1", lan, "10.0.0.2", "10.0.0.1");
    floe_sim_host *a2 = lab_host(&L, "a2", lan, "10.0.0.3", "10.0.0.1");
    floe_sim_host *b1 = lab_host(&L, "b1", lan2, "10.0.0.2", "10.0.0.1");
    floe_sim_host *c1 = lab_host(&L, "c1", lan3, "10.0.0.2", "10.0.0.1");
    floe_sim_udp *s_a1 = sock(a1, "10.0.0.2:5000"), *s_a2 = sock(a2, "10.0.0.3:5000");
    floe_sim_udp *s_b1 = sock(b1, "10.0.0.2:5000"), *s_c1 = sock(c1, "10.0.0.2:5000");
    floe_addr d1 = addr("192.0.2.1:9"), d2 = addr("192.0.2.1:10"), d3 = addr("192.0.2.2:9");
    send_to(s_a1, &d1);
    send_to(s_a2, &d1); /* port 5000 taken on the outside: a random one of the range */
    send_to(s_a1, &d2); /* address-and-port-dependent mapping: another port again */
    send_to(s_b1, &d1);
    send_to(s_b1, &d2);
    send_to(s_c1, &d1);
    send_to(s_c1, &d2);
    send_to(s_c1, &d3); /* the range is used up */
    settle(&L);
    floe_addr in_a1 = addr("10.0.0.2:5000"), in_a2 = addr("10.0.0.3:5000"), ext;
    assert_int_equal(floe_sim_nat_lookup(pres, &in_a1, &d1, &ext), FLOE_OK);
    assert_int_equal(ext.port, 5000);
    assert_int_equal(floe_sim_nat_lookup(pres, &in_a2, &d1, &ext), FLOE_OK);
    assert_in_range(ext.port, 40000, 40099);
    assert_int_equal(floe_sim_nat_lookup(pres, &in_a1, &d2, &ext), FLOE_OK);
    assert_in_range(ext.port, 40000, 40099);
    assert_int_equal(floe_sim_nat_lookup(pres, &in_a1, &d3, &ext), FLOE_ERR_NOT_FOUND);
    floe_addr r1, r2;
    assert_int_equal(floe_sim_nat_lookup(rnd, &in_a1, &d1, &r1), FLOE_OK);
    assert_int_equal(floe_sim_nat_lookup(rnd, &in_a1, &d2, &r2), FLOE_OK);
    assert_in_range(r1.port, 40000, 40099);
    assert_in_range(r2.port, 40000, 40099);
    assert_true(r1.port != r2.port);
    assert_int_equal(floe_sim_nat_lookup(seq, &in_a1, &d1, &ext), FLOE_OK);
    assert_int_equal(ext.port, 40000);
    assert_int_equal(floe_sim_nat_lookup(seq, &in_a1, &d2, &ext), FLOE_OK);
    assert_int_equal(ext.port, 40001);
    assert_int_equal(floe_sim_host_counter(seq, FLOE_SIM_DROP_NAT_PORTS), 1);
    assert_int_equal(floe_sim_host_counter(seq, FLOE_SIM_NAT_MAPPING_NEW), 2);
    /* The same seed draws the same random ports. */
    lab L2;
    lab_init(&L2, 12);
    floe_sim_network *l2 = lab_net(&L2, "lan2", FLOE_MS(1));
    c.ports = FLOE_SIM_NAT_PORTS_RANDOM;
    c.port_max = 40099;
    floe_sim_host *rnd2 = lab_nat(&L2, "rnd", &c, l2, "10.0.0.1", L2.internet, "203.0.113.2", NULL);
    floe_sim_udp *s2 = sock(lab_host(&L2, "b1", l2, "10.0.0.2", "10.0.0.1"), "10.0.0.2:5000");
    send_to(s2, &d1);
    settle(&L2);
    assert_int_equal(floe_sim_nat_lookup(rnd2, &in_a1, &d1, &ext), FLOE_OK);
    assert_int_equal(ext.port, r1.port);
    /* A reboot forgets everything. */
    floe_sim_nat_flush(pres);
    assert_int_equal(floe_sim_nat_mapping_count(pres), 0);
    check_accounting(L.sim);
    lab_free(&L2);
    lab_free(&L);
}

static void test_caps_and_counters(void **state) {
    (void)state;
    lab L;
    lab_init(&L, 13);
    floe_sim_network *lan = lab_net(&L, "lan", FLOE_MS(1));
    floe_sim_nat_config c = nat_cfg(FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT);
    c.max_mappings = 2;
    c.max_permissions = 3;
    floe_sim_host *nat;
    {
        /* The NAT's inside also has an IPv6 address, its outside none. */
        floe_sim_iface_config in, out;
        floe_sim_iface_config_init(&in, "lan0", lan);
        in.ip4 = addr("10.0.0.1");
        in.ip6 = addr("fd00::1");
        floe_sim_iface_config_init(&out, "wan0", L.internet);
        out.ip4 = addr("203.0.113.1");
        assert_int_equal(floe_sim_nat_add(L.sim, "nat", &c, &in, &out, &nat), FLOE_OK);
        assert_string_equal(floe_sim_iface_name(floe_sim_nat_inside(nat)), "lan0");
        assert_string_equal(floe_sim_iface_name(floe_sim_nat_outside(nat)), "wan0");
        assert_true(floe_sim_host_is_nat(nat));
        assert_int_equal(floe_sim_nat_config_get(nat)->max_mappings, 2);
        /* Same network on both sides, bad config, name taken. */
        assert_int_equal(floe_sim_nat_add(L.sim, "x", &c, &in, &in, NULL), FLOE_ERR_INVAL);
        floe_sim_nat_config bad = c;
        bad.port_min = 0;
        in.ip4 = addr("10.0.0.99");
        in.ip6.family = FLOE_AF_NONE;
        out.ip4 = addr("203.0.113.99");
        assert_int_equal(floe_sim_nat_add(L.sim, "x", &bad, &in, &out, NULL), FLOE_ERR_INVAL);
        assert_int_equal(floe_sim_nat_add(L.sim, "nat", &c, &in, &out, NULL), FLOE_ERR_STATE);
        /* An address taken on its network: nothing is added. */
        in.ip4 = addr("10.0.0.1");
        size_t hosts = floe_sim_host_count(L.sim);
        assert_int_equal(floe_sim_nat_add(L.sim, "y", &c, &in, &out, NULL), FLOE_ERR_STATE);
        assert_int_equal(floe_sim_host_count(L.sim), hosts);
    }
    floe_sim_host *h;
    assert_int_equal(floe_sim_host_add(L.sim, "h", &h), FLOE_OK);
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", lan);
    ic.ip4 = addr("10.0.0.2");
    ic.gw4 = addr("10.0.0.1");
    ic.ip6 = addr("fd00::2");
    ic.gw6 = addr("fd00::1");
    assert_int_equal(floe_sim_host_add_iface(h, &ic, NULL), FLOE_OK);
    floe_sim_udp *s1 = sock(h, "10.0.0.2:1"), *s2 = sock(h, "10.0.0.2:2"),
                 *s3 = sock(h, "10.0.0.2:3"), *s6 = sock(h, "[fd00::2]:6");
    floe_addr d1 = addr("192.0.2.1:1"), d2 = addr("192.0.2.1:2"), d3 = addr("192.0.2.1:3"),
              d6 = addr("[2001:db8::1]:6");
    send_to(s1, &d1);
    send_to(s2, &d1);
    send_to(s3, &d1); /* a third mapping: the table holds two */
    send_to(s1, &d2);
    send_to(s1, &d3); /* a fourth permission: the table holds three */
    send_to(s6, &d6); /* IPv6, and the NAT has no IPv6 outside */
    settle(&L);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_TABLE), 2);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_FAMILY), 1);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_FORWARDED), 3);
    /* Unsolicited inbound: to a port without mapping, and from an address the filter does
     * not know (address-dependent: another port of a known address is fine). */
    floe_sim_udp *srv_other_port = sock(L.server, "192.0.2.1:4444");
    floe_sim_udp *srv_other_ip = sock(L.server, "192.0.2.2:4444");
    floe_addr ext1 = addr("203.0.113.1:1"), nowhere = addr("203.0.113.1:999");
    send_to(srv_other_port, &ext1);
    send_to(srv_other_ip, &ext1);
    send_to(srv_other_port, &nowhere);
    settle(&L);
    assert_int_equal(floe_sim_udp_pending(s1), 1);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_FILTERED), 1);
    assert_int_equal(floe_sim_host_counter(nat, FLOE_SIM_DROP_NAT_NO_MAPPING), 1);
    /* Nothing reaches a private address from the Internet. */
    floe_addr priv = addr("10.0.0.2:1");
    uint8_t x = 0;
    assert_int_equal(floe_sim_udp_send(srv_other_port, &priv, &x, 1), FLOE_ERR_UNREACHABLE);
    check_accounting(L.sim);
    assert_string_equal(floe_sim_nat_mode_name(FLOE_SIM_NAT_BLOCK_UDP), "block-udp");
    assert_string_equal(floe_sim_nat_filtering_short(FLOE_NAT_ADDRESS_DEPENDENT), "adf");
    lab_free(&L);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nine_nat_types),    cmocka_unit_test(test_no_nat),
        cmocka_unit_test(test_nat_behind_nat),    cmocka_unit_test(test_firewalls),
        cmocka_unit_test(test_hairpinning),       cmocka_unit_test(test_binding_timeout),
        cmocka_unit_test(test_inbound_refresh),   cmocka_unit_test(test_port_assignment),
        cmocka_unit_test(test_caps_and_counters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
