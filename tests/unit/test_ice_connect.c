/* Two agents connecting over the in-test network: both roles, one and two components,
 * two streams, triggered checks, peer-reflexive discovery, role conflicts, nomination
 * timing, failure, loss, multi-homing, data demultiplexing. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include "ice/ice_priv.h"

static void agents(tnet *n, bool a_ctrl, bool b_ctrl, unsigned streams, unsigned comps) {
    floe_ice_config c;
    for (int i = 0; i < 2; i++) {
        net_config(n, i, &c, i ? b_ctrl : a_ctrl);
        c.n_streams = streams;
        for (unsigned s = 0; s < streams; s++)
            c.components[s] = comps;
        net_agent(n, i, &c);
    }
}

/* One host per stream and component on each side: 10.0.0.1 and 10.0.0.2. */
static void hosts(tnet *n, unsigned streams, unsigned comps) {
    for (int i = 0; i < 2; i++)
        for (unsigned s = 0; s < streams; s++)
            for (unsigned c = 1; c <= comps; c++) {
                char addr[32];
                unsigned port = 5000 + 10 * s + c;
                addr[0] = '\0';
                strcat(addr, i ? "10.0.0.2:" : "10.0.0.1:");
                size_t l = strlen(addr);
                addr[l] = (char)('0' + port / 1000);
                addr[l + 1] = (char)('0' + port / 100 % 10);
                addr[l + 2] = (char)('0' + port / 10 % 10);
                addr[l + 3] = (char)('0' + port % 10);
                addr[l + 4] = '\0';
                net_host(n, i, s, c, addr, NULL);
            }
}

/* Both sides selected matching pairs for every component. */
static void check_selected(tnet *n, unsigned streams, unsigned comps) {
    for (unsigned s = 0; s < streams; s++)
        for (unsigned c = 1; c <= comps; c++) {
            unsigned ba, bb;
            floe_addr ta, tb;
            assert_int_equal(floe_ice_agent_data_path(n->ag[0], s, c, &ba, &ta), FLOE_OK);
            assert_int_equal(floe_ice_agent_data_path(n->ag[1], s, c, &bb, &tb), FLOE_OK);
            assert_true(floe_addr_equal(&ta, &n->base_addr[1][bb]));
            assert_true(floe_addr_equal(&tb, &n->base_addr[0][ba]));
        }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_SELECTED), streams * comps);
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_COMPLETED), 1);
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_FAILED), 0);
    }
}

static void run_success(unsigned streams, unsigned comps) {
    tnet *n = net_new(FLOE_MS(15));
    agents(n, true, false, streams, comps);
    hosts(n, streams, comps);
    net_connect(n, streams);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    check_selected(n, streams, comps);
    /* Regular nomination: only the controlling side sends USE-CANDIDATE, once per
     * component. */
    assert_int_equal(net_sent_count(n, 0, true, FLOE_STUN_REQUEST, true), streams * comps);
    assert_int_equal(net_sent_count(n, 1, true, FLOE_STUN_REQUEST, true), 0);
    assert_true(floe_ice_agent_is_controlling(n->ag[0]));
    assert_false(floe_ice_agent_is_controlling(n->ag[1]));
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_SELECTED, 0);
    assert_int_equal(e->local.type, FLOE_ICE_CAND_HOST);
    assert_int_equal(e->remote.type, FLOE_ICE_CAND_HOST);
    net_free(n);
}

static void test_success_one_component(void **state) {
    (void)state;
    run_success(1, 1);
}

static void test_success_two_components(void **state) {
    (void)state;
    run_success(1, 2);
}

static void test_success_two_streams(void **state) {
    (void)state;
    run_success(2, 2);
}

/* The roles the other way round: the offerer is controlled. */
static void test_success_b_controlling(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(15));
    agents(n, false, true, 1, 2);
    hosts(n, 1, 2);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    check_selected(n, 1, 2);
    assert_int_equal(net_sent_count(n, 1, true, FLOE_STUN_REQUEST, true), 2);
    assert_int_equal(net_sent_count(n, 0, true, FLOE_STUN_REQUEST, true), 0);
    net_free(n);
}

/* B never learns A's candidates: A's checks make B learn them as peer-reflexive and
 * answer with triggered checks. */
static void test_triggered_checks_and_prflx_remote(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 1);
    hosts(n, 1, 1);
    net_gather(n);
    net_signal(n, 1, 0, 1);
    floe_ice_agent *b = n->ag[1];
    assert_int_equal(floe_ice_agent_set_remote_credentials(b, 0,
                                                           floe_ice_agent_local_ufrag(n->ag[0]),
                                                           floe_ice_agent_local_pwd(n->ag[0])),
                     FLOE_OK);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_start(b, n->now), FLOE_OK);
    assert_int_equal(b->n_pairs, 0);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    floe_ice_stats st;
    floe_ice_agent_get_stats(b, &st);
    assert_true(st.triggered_checks >= 1);
    assert_true(st.checks_sent >= 1);
    assert_true(st.checks_received >= 1);
    assert_true(st.responses_sent >= 1);
    const floe_ice_event *e = net_find(n, 1, FLOE_ICE_EV_SELECTED, 0);
    assert_int_equal(e->remote.type, FLOE_ICE_CAND_PRFLX);
    assert_string_equal(e->remote.foundation, "~1");
    check_selected(n, 1, 1);
    net_free(n);
}

/* A behind a one-to-one NAT, without a STUN server: its check's mapped address is new,
 * so A learns a peer-reflexive local candidate, and B learns A's public address as a
 * peer-reflexive remote one. */
static void test_prflx_local_through_nat(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 1);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "198.51.100.9:6000", NULL);
    net_nat(n, "10.0.0.1:5000", "203.0.113.1:40000");
    net_rule_add(n, "198.51.100.9", "10.0.0.1", false)->drop = true; /* private: unreachable */
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    const floe_ice_event *ea = net_find(n, 0, FLOE_ICE_EV_SELECTED, 0);
    floe_addr pub = A("203.0.113.1:40000"), priv = A("10.0.0.1:5000");
    assert_int_equal(ea->local.type, FLOE_ICE_CAND_PRFLX);
    assert_true(floe_addr_equal(&ea->local.addr, &pub));
    assert_true(floe_addr_equal(&ea->local.related, &priv)); /* its base */
    assert_int_equal(ea->local.priority, ice_base_prflx_priority(n->ag[0], 0));
    const floe_ice_event *eb = net_find(n, 1, FLOE_ICE_EV_SELECTED, 0);
    assert_int_equal(eb->remote.type, FLOE_ICE_CAND_PRFLX);
    assert_true(floe_addr_equal(&eb->remote.addr, &pub));
    /* Data goes from A's base socket. */
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_data_path(n->ag[0], 0, 1, &base, &to), FLOE_OK);
    assert_int_equal(base, 0);
    /* The peer-reflexive local candidate is not signalled. */
    floe_ice_cand cs[4];
    assert_int_equal(floe_ice_agent_local_candidates(n->ag[0], 0, cs, 4), 1);
    net_free(n);
}

static void run_conflict(bool both_controlling) {
    tnet *n = net_new(FLOE_MS(10));
    agents(n, both_controlling, both_controlling, 1, 2);
    hosts(n, 1, 2);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    check_selected(n, 1, 2);
    bool a = floe_ice_agent_is_controlling(n->ag[0]), b = floe_ice_agent_is_controlling(n->ag[1]);
    assert_true(a != b);
    floe_ice_stats sa, sb;
    floe_ice_agent_get_stats(n->ag[0], &sa);
    floe_ice_agent_get_stats(n->ag[1], &sb);
    assert_true(sa.role_conflicts + sb.role_conflicts >= 1);
    /* Exactly one side changed its role. */
    unsigned changes =
        net_count(n, 0, FLOE_ICE_EV_ROLE_CHANGED) + net_count(n, 1, FLOE_ICE_EV_ROLE_CHANGED);
    assert_true(changes >= 1);
    int switched = net_count(n, 0, FLOE_ICE_EV_ROLE_CHANGED) ? 0 : 1;
    const floe_ice_event *e = net_find(n, switched, FLOE_ICE_EV_ROLE_CHANGED, 0);
    assert_int_equal(e->controlling, !both_controlling);
    /* The pair priorities follow the final roles. */
    for (int i = 0; i < 2; i++) {
        const floe_ice_agent *x = n->ag[i];
        for (unsigned k = 0; k < x->n_pairs; k++) {
            const ice_pair *p = &x->pairs[k];
            uint32_t l = x->local[p->local].prio, r = x->remote[p->remote].prio;
            assert_true(p->prio == (x->controlling ? floe_ice_pair_priority(l, r)
                                                   : floe_ice_pair_priority(r, l)));
        }
    }
    /* Only the controlling side nominated. */
    int ctrl = a ? 0 : 1;
    assert_int_equal(net_sent_count(n, 1 - ctrl, true, FLOE_STUN_REQUEST, true), 0);
    net_free(n);
}

static void test_role_conflict_both_controlling(void **state) {
    (void)state;
    run_conflict(true);
}

static void test_role_conflict_both_controlled(void **state) {
    (void)state;
    run_conflict(false);
}

/* ---- nomination timing ---------------------------------------------------------------- */

static floe_time_ns first_use_candidate(const tnet *n, int i) {
    for (unsigned k = 0; k < n->n_log; k++)
        if (n->log[k].agent == i && n->log[k].use_cand) return n->log[k].at;
    return FLOE_TIME_NEVER;
}

static floe_time_ns first_succeeded(const tnet *n, int i) {
    for (unsigned k = 0; k < n->n_ev[i]; k++)
        if (n->ev[i][k].type == FLOE_ICE_EV_PAIR_STATE &&
            n->ev[i][k].pair_state == FLOE_ICE_PAIR_SUCCEEDED)
            return n->ev[i][k].at;
    return FLOE_TIME_NEVER;
}

/* The only pair is the best: nominated at the first pacing slot once it is valid. */
static void test_nominate_immediately_when_best(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 1);
    hosts(n, 1, 1);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    floe_time_ns valid = first_succeeded(n, 0), nom = first_use_candidate(n, 0);
    assert_true(nom >= valid);
    assert_true(nom - valid <= FLOE_ICE_TA_DEFAULT);
    net_free(n);
}

/* A has a preferred interface (higher priority) on a slow path. */
static tnet *two_paths(floe_time_ns fast, floe_time_ns slow, bool slow_dead) {
    tnet *n = net_new(fast);
    floe_ice_config c;
    net_config(n, 0, &c, true);
    strcpy(c.prefer_ifaces[0], "wg0");
    c.n_prefer_ifaces = 1;
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    net_agent(n, 1, &c);
    net_host(n, 0, 0, 1, "10.9.0.1:5000", "wg0");
    net_host(n, 0, 0, 1, "10.0.0.1:5000", "eth0");
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_rule *r = net_rule_add(n, "10.9.0.1", NULL, true);
    r->delay = slow;
    r->drop = slow_dead;
    net_connect(n, 1);
    return n;
}

static void test_nominate_waits_bounded_for_better_pair(void **state) {
    (void)state;
    /* The better pair never answers: the worse one is nominated after the bound,
     * clamp(4 x 20 ms, 2 x Ta, 500 ms) = 100 ms after it became valid. */
    tnet *n = two_paths(FLOE_MS(10), FLOE_MS(10), true);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    floe_time_ns valid = first_succeeded(n, 0), nom = first_use_candidate(n, 0);
    assert_true(nom - valid >= FLOE_MS(100));
    assert_true(nom - valid <= FLOE_MS(100) + FLOE_ICE_TA_DEFAULT);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_SELECTED, 0);
    floe_addr eth0 = A("10.0.0.1:5000");
    assert_true(floe_addr_equal(&e->local.addr, &eth0));
    net_free(n);
}

static void test_nominate_wait_never_exceeds_bound(void **state) {
    (void)state;
    /* A long RTT (400 ms) would make 4 x RTT = 1.6 s: the wait is capped at 500 ms. */
    tnet *n = two_paths(FLOE_MS(200), FLOE_MS(200), true);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(10)));
    floe_time_ns valid = first_succeeded(n, 0), nom = first_use_candidate(n, 0);
    assert_true(nom - valid >= FLOE_ICE_NOMINATE_WAIT_MAX);
    assert_true(nom - valid <= FLOE_ICE_NOMINATE_WAIT_MAX + FLOE_ICE_TA_DEFAULT);
    net_free(n);
}

static void test_nominate_better_pair_that_arrives_in_time(void **state) {
    (void)state;
    /* The better pair answers 60 ms after the worse one became valid, within the 100 ms
     * bound: it is the one nominated, as soon as it is valid. */
    tnet *n = two_paths(FLOE_MS(5), FLOE_MS(40), false);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_SELECTED, 0);
    floe_addr wg0 = A("10.9.0.1:5000");
    assert_true(floe_addr_equal(&e->local.addr, &wg0));
    assert_int_equal(net_sent_count(n, 0, true, FLOE_STUN_REQUEST, true), 1);
    floe_time_ns valid = first_succeeded(n, 0), nom = first_use_candidate(n, 0);
    assert_true(nom - valid < FLOE_MS(100) + FLOE_ICE_TA_DEFAULT);
    net_free(n);
}

/* ---- failure, loss, multi-homing ------------------------------------------------------ */

static void test_failure_when_nothing_connects(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 2);
    hosts(n, 1, 2);
    n->drop_all = true;
    net_connect(n, 1);
    floe_time_ns t0 = n->now;
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_FAILED, FLOE_S(30)));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_FAILED), 1);
        const floe_ice_event *e = net_find(n, i, FLOE_ICE_EV_FAILED, 0);
        assert_string_equal(e->reason, "no candidate pair succeeded for stream 0 component 1");
        assert_int_equal(e->stream, 0);
        assert_int_equal(e->component, 1);
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_SELECTED), 0);
        assert_true(e->at - t0 <= FLOE_S(12));
        unsigned base;
        floe_addr to;
        assert_int_equal(floe_ice_agent_data_path(n->ag[i], 0, 1, &base, &to), FLOE_ERR_STATE);
    }
    /* Quiet afterwards: nothing more to send, no deadline. */
    unsigned sent = n->n_log;
    net_advance(n, FLOE_S(60));
    assert_int_equal(n->n_log, sent);
    assert_int_equal(floe_ice_agent_deadline(n->ag[0]), FLOE_TIME_NEVER);
    net_free(n);
}

/* Without any remote candidate a component fails after the time of one check. */
static void test_failure_without_candidates(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 1);
    hosts(n, 1, 1);
    net_gather(n);
    assert_int_equal(
        floe_ice_agent_set_remote_credentials(n->ag[0], 0, "abcd", "0123456789012345678901"),
        FLOE_OK);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    floe_time_ns t0 = n->now;
    net_advance(n, FLOE_S(20));
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_FAILED);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_FAILED, 0);
    assert_int_equal(e->at - t0, FLOE_MS(9500));
    net_free(n);
}

static void test_loss_ten_percent_still_connects(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        tnet *n = net_new(FLOE_MS(20));
        n->loss_pct = 10;
        n->loss_rng.s = seed * 0x1234567ull;
        agents(n, true, false, 2, 2);
        hosts(n, 2, 2);
        net_connect(n, 2);
        assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(30)));
        check_selected(n, 2, 2);
        net_free(n);
    }
}

static void test_multi_homed(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 1);
    net_host(n, 0, 0, 1, "[2001:db8:a::1]:5000", NULL);
    net_host(n, 0, 0, 1, "192.168.1.10:5000", NULL);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "[2001:db8:b::2]:6000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    /* IPv6 is broken between them; 192.168.1.10 cannot reach 10.0.0.2. */
    net_block(n, "2001:db8:a::1", NULL);
    net_block(n, "192.168.1.10", NULL);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    check_selected(n, 1, 1);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_SELECTED, 0);
    floe_addr want = A("10.0.0.1:5000");
    assert_true(floe_addr_equal(&e->local.addr, &want));
    net_free(n);
}

static void test_data_demultiplexing(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, true, false, 1, 2);
    hosts(n, 1, 2);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    uint8_t rtp[12] = {0x80, 0x00, 0x00, 0x01};
    floe_ice_recv_info info;
    floe_addr from = n->base_addr[0][1];
    assert_int_equal(floe_ice_agent_on_recv(n->ag[1], n->now, 1, &from, rtp, sizeof rtp, &info),
                     FLOE_OK);
    assert_int_equal(info.kind, FLOE_ICE_RECV_DATA);
    assert_int_equal(info.stream, 0);
    assert_int_equal(info.component, 2);
    uint8_t dtls[13] = {22, 0xfe, 0xfd};
    assert_int_equal(floe_ice_agent_on_recv(n->ag[1], n->now, 0, &from, dtls, sizeof dtls, &info),
                     FLOE_OK);
    assert_int_equal(info.kind, FLOE_ICE_RECV_DATA);
    assert_int_equal(info.component, 1);
    floe_ice_stats st;
    floe_ice_agent_get_stats(n->ag[1], &st);
    assert_int_equal(st.data_received, 2);
    net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_one_component),
        cmocka_unit_test(test_success_two_components),
        cmocka_unit_test(test_success_two_streams),
        cmocka_unit_test(test_success_b_controlling),
        cmocka_unit_test(test_triggered_checks_and_prflx_remote),
        cmocka_unit_test(test_prflx_local_through_nat),
        cmocka_unit_test(test_role_conflict_both_controlling),
        cmocka_unit_test(test_role_conflict_both_controlled),
        cmocka_unit_test(test_nominate_immediately_when_best),
        cmocka_unit_test(test_nominate_waits_bounded_for_better_pair),
        cmocka_unit_test(test_nominate_wait_never_exceeds_bound),
        cmocka_unit_test(test_nominate_better_pair_that_arrives_in_time),
        cmocka_unit_test(test_failure_when_nothing_connects),
        cmocka_unit_test(test_failure_without_candidates),
        cmocka_unit_test(test_loss_ten_percent_still_connects),
        cmocka_unit_test(test_multi_homed),
        cmocka_unit_test(test_data_demultiplexing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
