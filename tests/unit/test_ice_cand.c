/* Local candidates: priorities, local preferences (interfaces, RFC 8421 interleaving),
 * foundations, redundancy pruning, server-reflexive gathering against floe's STUN server
 * core through the in-test network (with NAT), the relay seam, credentials. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include "ice/ice_priv.h"

static tnet *one_agent(floe_ice_config *c) {
    tnet *n = net_new(FLOE_MS(5));
    net_config(n, 0, c, true);
    return n;
}

static size_t cands(tnet *n, unsigned stream, floe_ice_cand *out) {
    return floe_ice_agent_local_candidates(n->ag[0], stream, out, FLOE_ICE_MAX_LOCAL);
}

static void gather_one(tnet *n) {
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    assert_true(net_run(n, n->now + FLOE_S(10), stop_gathered, NULL));
}

static void test_host_priority(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.components[0] = 2;
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "192.168.1.10:5000", "eth0");
    net_host(n, 0, 0, 2, "192.168.1.10:5001", "eth0");
    gather_one(n);
    floe_ice_cand cs[4];
    assert_int_equal(cands(n, 0, cs), 2);
    /* RFC 8445 §5.1.2.1 with type 126, the top local preference, component 1 and 2. */
    assert_int_equal(cs[0].priority, (126u << 24) | (65535u << 8) | 255u);
    assert_int_equal(cs[0].component, 1);
    assert_int_equal(cs[1].priority, (126u << 24) | (65535u << 8) | 254u);
    assert_int_equal(cs[0].local_pref, 65535);
    assert_int_equal(cs[0].type, FLOE_ICE_CAND_HOST);
    assert_int_equal(cs[0].related.family, FLOE_AF_NONE);
    /* Same base IP, same type: one foundation for both components (§5.1.1.3). */
    assert_string_equal(cs[0].foundation, cs[1].foundation);
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CANDIDATE), 2);
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_GATHERING_DONE), 1);
    net_free(n);
}

/* RFC 8421: IPv6 and IPv4 alternate, IPv6 first, each family in the order added. */
static void test_dual_stack_interleaving(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "192.168.1.10:5000", "eth0");
    net_host(n, 0, 0, 1, "10.8.0.2:5000", "eth1");
    net_host(n, 0, 0, 1, "[2001:db8::10]:5000", "eth0");
    net_host(n, 0, 0, 1, "[2001:db8:1::10]:5000", "eth1");
    net_host(n, 0, 0, 1, "172.16.0.9:5000", "eth2");
    gather_one(n);
    floe_ice_cand cs[8];
    assert_int_equal(cands(n, 0, cs), 5);
    static const char *const want[] = {"[2001:db8::10]:5000", "192.168.1.10:5000",
                                       "[2001:db8:1::10]:5000", "10.8.0.2:5000", "172.16.0.9:5000"};
    for (int i = 0; i < 5; i++) {
        floe_addr w = A(want[i]);
        assert_true(floe_addr_equal(&cs[i].addr, &w));
        if (i) assert_true(cs[i].local_pref < cs[i - 1].local_pref); /* distinct */
        if (i) assert_string_not_equal(cs[i].foundation, cs[i - 1].foundation);
    }
    net_free(n);
}

static void test_preferred_interfaces_first(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    strcpy(c.prefer_ifaces[0], "wg0");
    strcpy(c.prefer_ifaces[1], "eth1");
    c.n_prefer_ifaces = 2;
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "[2001:db8::10]:5000", "eth0");
    net_host(n, 0, 0, 1, "192.168.1.10:5000", "eth1");
    net_host(n, 0, 0, 1, "10.99.0.1:5000", "wg0");
    net_host(n, 0, 0, 1, "[fd00::1]:5000", "wg0");
    net_host(n, 0, 0, 1, "172.16.0.9:5000", NULL);
    gather_one(n);
    floe_ice_cand cs[8];
    assert_int_equal(cands(n, 0, cs), 5);
    /* wg0 (interleaved: v6 then v4), then eth1, then the rest (v6 then v4). */
    static const char *const want[] = {"[fd00::1]:5000", "10.99.0.1:5000", "192.168.1.10:5000",
                                       "[2001:db8::10]:5000", "172.16.0.9:5000"};
    for (int i = 0; i < 5; i++) {
        floe_addr w = A(want[i]);
        assert_true(floe_addr_equal(&cs[i].addr, &w));
    }
    net_free(n);
}

/* Two sockets of one component on the same IP still get distinct preferences. */
static void test_same_ip_two_ports_distinct(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "192.168.1.10:5000", NULL);
    net_host(n, 0, 0, 1, "192.168.1.10:5002", NULL);
    gather_one(n);
    floe_ice_cand cs[4];
    assert_int_equal(cands(n, 0, cs), 2);
    assert_int_not_equal(cs[0].local_pref, cs[1].local_pref);
    assert_string_equal(cs[0].foundation, cs[1].foundation); /* same type and base IP */
    net_free(n);
}

static void test_srflx_through_nat(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.stun_servers[1] = A("198.51.100.2:3478");
    c.stun_servers[2] = A("[2001:db8:ffff::1]:3478");
    c.n_stun_servers = 3;
    c.components[0] = 2;
    net_agent(n, 0, &c);
    net_server(n, "198.51.100.1:3478");
    net_server(n, "198.51.100.2:3478");
    net_server(n, "[2001:db8:ffff::1]:3478");
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 2, "10.0.0.1:5001", NULL);
    net_nat(n, "10.0.0.1:5000", "203.0.113.5:40000");
    net_nat(n, "10.0.0.1:5001", "203.0.113.5:40001");
    gather_one(n);
    floe_ice_stats st;
    floe_ice_agent_get_stats(n->ag[0], &st);
    /* 2 IPv4 bases x 2 IPv4 servers; the IPv6 server is not asked. */
    assert_int_equal(st.gather_requests, 4);
    floe_ice_cand cs[8];
    /* Both servers see the same mapping: the second srflx is redundant (§5.1.3). */
    assert_int_equal(cands(n, 0, cs), 4);
    const floe_ice_cand *host1 = &cs[0], *srflx1 = NULL;
    for (int i = 0; i < 4; i++)
        if (cs[i].type == FLOE_ICE_CAND_SRFLX && cs[i].component == 1) srflx1 = &cs[i];
    assert_non_null(srflx1);
    floe_addr pub = A("203.0.113.5:40000");
    assert_true(floe_addr_equal(&srflx1->addr, &pub));
    assert_true(floe_addr_equal(&srflx1->related, &host1->addr)); /* related = base */
    assert_int_equal(srflx1->local_pref, host1->local_pref);      /* the base's pref */
    assert_int_equal(srflx1->priority, floe_ice_priority(100, host1->local_pref, 1));
    assert_string_not_equal(srflx1->foundation, host1->foundation);
    /* Both components' srflx share a foundation (same base IP and server IP). */
    for (int i = 0; i < 4; i++)
        if (cs[i].type == FLOE_ICE_CAND_SRFLX)
            assert_string_equal(cs[i].foundation, srflx1->foundation);
    floe_ice_cand d;
    assert_int_equal(floe_ice_agent_default_candidate(n->ag[0], 0, 1, &d), FLOE_OK);
    assert_int_equal(d.type, FLOE_ICE_CAND_SRFLX);
    net_free(n);
}

static void test_srflx_without_nat_is_redundant(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.n_stun_servers = 1;
    net_agent(n, 0, &c);
    net_server(n, "198.51.100.1:3478");
    net_host(n, 0, 0, 1, "203.0.113.9:5000", NULL);
    gather_one(n);
    floe_ice_cand cs[4];
    assert_int_equal(cands(n, 0, cs), 1);
    assert_int_equal(cs[0].type, FLOE_ICE_CAND_HOST);
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CANDIDATE), 1);
    floe_ice_cand d;
    assert_int_equal(floe_ice_agent_default_candidate(n->ag[0], 0, 1, &d), FLOE_OK);
    assert_int_equal(d.type, FLOE_ICE_CAND_HOST);
    net_free(n);
}

/* An unreachable server costs the short gathering schedule: 3 requests, 2.5 s. */
static void test_gathering_gives_up_quickly(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.n_stun_servers = 1;
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    floe_time_ns t0 = n->now;
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_GATHERING);
    assert_true(net_run(n, n->now + FLOE_S(10), stop_gathered, NULL));
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_GATHERING_DONE, 0);
    assert_int_equal(e->at - t0, FLOE_MS(2500));
    assert_int_equal(net_sent_count(n, 0, true, FLOE_STUN_REQUEST, false), FLOE_ICE_GATHER_RC);
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_GATHERED);
    net_free(n);
}

/* Server-reflexive requests are paced by Ta like checks. */
static void test_gathering_is_paced(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.stun_servers[1] = A("198.51.100.2:3478");
    c.n_stun_servers = 2;
    net_agent(n, 0, &c);
    net_server(n, "198.51.100.1:3478");
    net_server(n, "198.51.100.2:3478");
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 1, "10.0.0.2:5000", NULL);
    gather_one(n);
    floe_time_ns prev = 0;
    unsigned k = 0;
    for (unsigned i = 0; i < n->n_log; i++) {
        if (!n->log[i].to_server) continue;
        if (k++) assert_true(n->log[i].at - prev >= FLOE_ICE_TA_DEFAULT);
        prev = n->log[i].at;
    }
    assert_int_equal(k, 4);
    net_free(n);
}

static void test_link_local_and_bad_bases(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.max_local = 3;
    net_agent(n, 0, &c);
    floe_ice_agent *a = n->ag[0];
    unsigned b;
    floe_addr ll6 = A("[fe80::1]:5000"), ll4 = A("169.254.3.4:5000");
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &ll6, NULL, &b), FLOE_ERR_UNSUPPORTED);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &ll4, NULL, &b), FLOE_ERR_UNSUPPORTED);
    floe_addr ok = A("10.0.0.1:5000"), zero = A("0.0.0.0:5000"), noport = A("10.0.0.1");
    assert_int_equal(floe_ice_agent_add_host(a, 1, 1, &ok, NULL, &b), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 0, &ok, NULL, &b), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 2, &ok, NULL, &b), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &zero, NULL, &b), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &noport, NULL, &b), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &ok, NULL, &b), FLOE_OK);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &ok, NULL, &b), FLOE_ERR_INVAL); /* again */
    floe_addr x = A("10.0.0.2:5000"), y = A("10.0.0.3:5000"), z = A("10.0.0.4:5000");
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &x, NULL, &b), FLOE_OK);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &y, NULL, &b), FLOE_OK);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &z, NULL, &b), FLOE_ERR_LIMIT);
    floe_ice_stats st;
    floe_ice_agent_get_stats(a, &st);
    assert_int_equal(st.cap_candidates, 1);
    floe_ice_cand d;
    assert_int_equal(floe_ice_agent_default_candidate(a, 0, 1, &d), FLOE_ERR_NOT_FOUND);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_ERR_STATE);
    assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &z, NULL, &b), FLOE_ERR_STATE);
    net_free(n);

    /* Link-local allowed on request. */
    n = one_agent(&c);
    c.gather_link_local = true;
    net_agent(n, 0, &c);
    assert_int_equal(floe_ice_agent_add_host(n->ag[0], 0, 1, &ll6, "eth0", &b), FLOE_OK);
    net_free(n);
}

static void test_redundant_candidate_pruning(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    gather_one(n);
    floe_ice_agent *a = n->ag[0];
    floe_addr host = A("10.0.0.1:5000"), pub = A("203.0.113.1:7000");
    unsigned dup = 99;
    /* Same address and base as the host candidate, lower priority: dropped. */
    assert_int_equal(ice_local_add(a, FLOE_ICE_CAND_SRFLX, 0, &host, 0, 0, &dup),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(dup, 0);
    int s = ice_local_add(a, FLOE_ICE_CAND_SRFLX, 0, &pub, 0, 0, NULL);
    assert_true(s > 0);
    /* The same again: redundant. A higher-priority one replaces it in place. */
    assert_int_equal(ice_local_add(a, FLOE_ICE_CAND_SRFLX, 0, &pub, 1, 0, NULL),
                     FLOE_ERR_NOT_FOUND);
    assert_int_equal(ice_local_add(a, FLOE_ICE_CAND_PRFLX, 0, &pub, ICE_NO, 0, NULL), s);
    assert_int_equal(a->local[s].type, FLOE_ICE_CAND_PRFLX);
    net_free(n);
}

static void test_relay_seam(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    net_agent(n, 0, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    gather_one(n);
    floe_ice_agent *a = n->ag[0];
    floe_addr relayed = A("198.51.100.7:50000"), mapped = A("203.0.113.1:7000"),
              turn = A("198.51.100.7:3478");
    int li = ice_local_add_relay(a, 0, &relayed, &mapped, &turn, n->now);
    assert_true(li >= 0);
    assert_int_equal(a->n_bases, 2); /* the relayed address is a base of its own */
    assert_int_equal(ice_local_add_relay(a, 1, &relayed, &mapped, &turn, n->now), FLOE_ERR_INVAL);
    net_drain(n, 0);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_CANDIDATE, 1);
    assert_non_null(e);
    assert_int_equal(e->local.type, FLOE_ICE_CAND_RELAY);
    assert_true(floe_addr_equal(&e->local.related, &mapped));
    assert_int_equal(e->local.priority >> 24, FLOE_ICE_TYPE_PREF_RELAY);
    floe_ice_cand d;
    assert_int_equal(floe_ice_agent_default_candidate(a, 0, 1, &d), FLOE_OK);
    assert_int_equal(d.type, FLOE_ICE_CAND_RELAY);
    floe_ice_cand cs[4];
    assert_int_equal(cands(n, 0, cs), 2);
    assert_string_not_equal(cs[0].foundation, cs[1].foundation);
    net_free(n);
}

static void test_lite_gathers_host_only(void **state) {
    (void)state;
    floe_ice_config c;
    tnet *n = one_agent(&c);
    c.controlling = false;
    c.lite = true;
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.n_stun_servers = 1;
    net_agent(n, 0, &c);
    net_server(n, "198.51.100.1:3478");
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_nat(n, "10.0.0.1:5000", "203.0.113.5:40000");
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    net_drain(n, 0);
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_GATHERING_DONE), 1);
    net_advance(n, FLOE_S(3));
    assert_int_equal(n->n_log, 0);
    net_free(n);
}

static void test_credentials(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(5));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    net_agent(n, 0, &c);
    net_config(n, 1, &c, true);
    net_agent(n, 1, &c);
    for (int i = 0; i < 2; i++) {
        const char *u = floe_ice_agent_local_ufrag(n->ag[i]),
                   *p = floe_ice_agent_local_pwd(n->ag[i]);
        assert_int_equal(strlen(u), FLOE_ICE_UFRAG_LEN);
        assert_int_equal(strlen(p), FLOE_ICE_PWD_LEN);
        for (const char *q = p; *q; q++)
            assert_true((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                        (*q >= '0' && *q <= '9') || *q == '+' || *q == '/');
    }
    assert_string_not_equal(floe_ice_agent_local_ufrag(n->ag[0]),
                            floe_ice_agent_local_ufrag(n->ag[1]));
    net_free(n);
}

static int no_rand(void *ctx, void *buf, size_t len) {
    (void)ctx;
    (void)buf;
    (void)len;
    return FLOE_ERR_CRYPTO;
}

static void test_config_errors(void **state) {
    (void)state;
    floe_ice_config c;
    floe_ice_agent *a = NULL;
    floe_ice_config_default(&c);
    assert_true(c.consent);
    assert_int_equal(c.n_streams, 1);
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_ERR_INVAL); /* no rand */
    c.rand = no_rand;
    assert_int_equal(floe_ice_agent_new(&a, &c), FLOE_ERR_CRYPTO);
    net_rng r = {42};
    c.rand = net_rand;
    c.rand_ctx = &r;
    floe_ice_config bad = c;
    bad.n_streams = 0;
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.n_streams = FLOE_ICE_MAX_STREAMS + 1;
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.components[0] = 3;
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.lite = bad.controlling = true;
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.keepalive = FLOE_S(5);
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.max_pairs = FLOE_ICE_MAX_PAIRS_LIMIT + 1;
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_memory(&bad), 0);
    bad = c;
    bad.n_stun_servers = 1; /* an empty address */
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.ta = 1; /* clamped to Ta min, not refused */
    assert_int_equal(floe_ice_agent_new(&a, &bad), FLOE_OK);
    assert_int_equal(a->ta, FLOE_ICE_TA_MIN);
    floe_ice_agent_free(a);
    floe_ice_agent_free(NULL);
    assert_null(floe_ice_agent_next_event(NULL, NULL) ? (void *)1 : NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_priority),
        cmocka_unit_test(test_dual_stack_interleaving),
        cmocka_unit_test(test_preferred_interfaces_first),
        cmocka_unit_test(test_same_ip_two_ports_distinct),
        cmocka_unit_test(test_srflx_through_nat),
        cmocka_unit_test(test_srflx_without_nat_is_redundant),
        cmocka_unit_test(test_gathering_gives_up_quickly),
        cmocka_unit_test(test_gathering_is_paced),
        cmocka_unit_test(test_link_local_and_bad_bases),
        cmocka_unit_test(test_redundant_candidate_pruning),
        cmocka_unit_test(test_relay_seam),
        cmocka_unit_test(test_lite_gathers_host_only),
        cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
