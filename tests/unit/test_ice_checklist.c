/* Checklists (RFC 8445 §6.1.2) and the scheduler (§6.1.4): which pairs form, their
 * priorities by role, pruning of server-reflexive locals, the order checks go out in,
 * the frozen algorithm over two streams, the pair cap, Ta pacing (own and shared). */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include "ice/ice_priv.h"

static void agents(tnet *n, unsigned streams, unsigned comps, floe_ice_config *ca,
                   floe_ice_config *cb) {
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.n_streams = streams;
    for (unsigned s = 0; s < streams; s++)
        c.components[s] = comps;
    if (ca) {
        ca->rand = c.rand;
        ca->rand_ctx = c.rand_ctx;
        ca->controlling = true;
        ca->n_streams = streams;
        for (unsigned s = 0; s < streams; s++)
            ca->components[s] = comps;
        c = *ca;
    }
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    c.n_streams = streams;
    for (unsigned s = 0; s < streams; s++)
        c.components[s] = comps;
    if (cb) {
        cb->rand = c.rand;
        cb->rand_ctx = c.rand_ctx;
        cb->n_streams = streams;
        for (unsigned s = 0; s < streams; s++)
            cb->components[s] = comps;
        c = *cb;
    }
    net_agent(n, 1, &c);
}

static unsigned pairs_in_state(const floe_ice_agent *a, unsigned stream, floe_ice_pair_state st) {
    unsigned k = 0;
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].stream == stream && a->pairs[i].state == st) k++;
    return k;
}

static void test_pairs_by_component_and_family(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config ca;
    floe_ice_config_default(&ca);
    ca.stun_servers[0] = A("198.51.100.1:3478");
    ca.n_stun_servers = 1;
    agents(n, 1, 2, &ca, NULL);
    net_server(n, "198.51.100.1:3478");
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 2, "10.0.0.1:5001", NULL);
    net_host(n, 0, 0, 1, "[2001:db8::1]:5000", NULL);
    net_host(n, 0, 0, 2, "[2001:db8::1]:5001", NULL);
    net_nat(n, "10.0.0.1:5000", "203.0.113.1:1000");
    net_nat(n, "10.0.0.1:5001", "203.0.113.1:1001");
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_host(n, 1, 0, 2, "10.0.0.2:6001", NULL);
    net_host(n, 1, 0, 1, "[2001:db8::2]:6000", NULL);
    net_host(n, 1, 0, 2, "[2001:db8::2]:6001", NULL);
    net_connect(n, 1);
    const floe_ice_agent *a = n->ag[0];
    /* A has 6 candidates (4 host, 2 srflx) but srflx locals are pruned to their bases:
     * 2 families x 2 components. */
    floe_ice_cand cs[8];
    assert_int_equal(floe_ice_agent_local_candidates(a, 0, cs, 8), 6);
    assert_int_equal(a->n_pairs, 4);
    for (unsigned i = 0; i < a->n_pairs; i++) {
        const ice_pair *p = &a->pairs[i];
        const ice_lcand *l = &a->local[p->local];
        const ice_rcand *r = &a->remote[p->remote];
        assert_int_equal(l->type, FLOE_ICE_CAND_HOST);
        assert_int_equal(l->comp, r->comp);
        assert_int_equal(l->addr.family, r->addr.family);
        /* §6.1.2.3: G is the controlling agent's (A's) candidate. */
        assert_true(p->prio == floe_ice_pair_priority(l->prio, r->prio));
        /* B sees the mirror image with its own roles. */
    }
    const floe_ice_agent *b = n->ag[1];
    for (unsigned i = 0; i < b->n_pairs; i++) {
        const ice_pair *p = &b->pairs[i];
        assert_true(p->prio ==
                    floe_ice_pair_priority(b->remote[p->remote].prio, b->local[p->local].prio));
    }
    net_free(n);
}

/* Pairs of distinct foundations are all Waiting and go out highest priority first. */
static void test_checks_in_priority_order(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, 1, 1, NULL, NULL);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.3:6000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.4:6000", NULL);
    net_gather(n);
    net_signal(n, 1, 0, 1);
    n->drop_all = true; /* nothing answers: every check is sent */
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(pairs_in_state(n->ag[0], 0, FLOE_ICE_PAIR_WAITING), 3);
    net_advance(n, FLOE_MS(400));
    floe_ice_cand rc[4];
    assert_int_equal(floe_ice_agent_local_candidates(n->ag[1], 0, rc, 4), 3);
    unsigned k = 0;
    floe_time_ns prev = 0;
    for (unsigned i = 0; i < n->n_log && k < 3; i++) {
        const net_sent *s = &n->log[i];
        if (s->agent != 0 || !s->stun || s->cls != FLOE_STUN_REQUEST) continue;
        assert_true(floe_addr_equal(&s->to, &rc[k].addr)); /* B's priority order */
        if (k) assert_true(s->at - prev >= FLOE_ICE_TA_DEFAULT);
        prev = s->at;
        k++;
    }
    assert_int_equal(k, 3);
    net_free(n);
}

/* §6.1.2.6 over two streams with the same foundations: only the first stream's pair is
 * Waiting at first; its success unfreezes the second stream's. */
static void test_frozen_algorithm_two_streams(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, 2, 1, NULL, NULL);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 1, 1, "10.0.0.1:5002", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_host(n, 1, 1, 1, "10.0.0.2:6002", NULL);
    net_gather(n);
    net_signal(n, 1, 0, 2);
    net_signal(n, 0, 1, 2);
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    assert_int_equal(a->n_pairs, 2);
    assert_true(ice_cl_same_foundation(a, 0, 1));
    assert_int_equal(pairs_in_state(a, 0, FLOE_ICE_PAIR_WAITING), 1);
    assert_int_equal(pairs_in_state(a, 1, FLOE_ICE_PAIR_FROZEN), 1);
    /* B does not start: it only answers, so A's own checks drive the algorithm. */
    net_advance(n, FLOE_MS(15));
    assert_int_equal(pairs_in_state(a, 0, FLOE_ICE_PAIR_IN_PROGRESS), 1);
    assert_int_equal(pairs_in_state(a, 1, FLOE_ICE_PAIR_FROZEN), 1); /* still frozen */
    net_advance(n, FLOE_MS(10));                                     /* the answer */
    assert_int_equal(pairs_in_state(a, 0, FLOE_ICE_PAIR_SUCCEEDED), 1);
    assert_int_equal(pairs_in_state(a, 1, FLOE_ICE_PAIR_WAITING), 1); /* unfrozen */
    assert_int_equal(floe_ice_agent_start(n->ag[1], n->now), FLOE_OK);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_SELECTED), 2);
    net_free(n);
}

/* Within one stream: component 2 shares component 1's foundation and waits for it. */
static void test_frozen_algorithm_components(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, 1, 2, NULL, NULL);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 2, "10.0.0.1:5001", NULL);
    net_host(n, 0, 0, 1, "10.0.1.1:5000", NULL);
    net_host(n, 0, 0, 2, "10.0.1.1:5001", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_host(n, 1, 0, 2, "10.0.0.2:6001", NULL);
    net_gather(n);
    net_signal(n, 1, 0, 1);
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    assert_int_equal(a->n_pairs, 4);
    /* Two foundations (two local IPs): one Waiting pair each, both component 1. */
    unsigned waiting = 0;
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].state == FLOE_ICE_PAIR_WAITING) {
            assert_int_equal(a->pairs[i].comp, 1);
            waiting++;
        }
    assert_int_equal(waiting, 2);
    net_free(n);
}

static void test_pair_cap_keeps_best(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config ca;
    floe_ice_config_default(&ca);
    ca.max_pairs = 3;
    agents(n, 1, 1, &ca, NULL);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    for (int i = 0; i < 5; i++) {
        char addr[32];
        memcpy(addr, "10.0.0.2X:6000", 15);
        addr[8] = (char)('0' + i);
        net_host(n, 1, 0, 1, addr, NULL);
    }
    net_connect(n, 1);
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(a->n_pairs, 3);
    floe_ice_stats st;
    floe_ice_agent_get_stats(a, &st);
    assert_true(st.cap_pairs >= 2);
    /* The three kept are the three best remote candidates. */
    floe_ice_cand rc[8];
    assert_int_equal(floe_ice_agent_local_candidates(n->ag[1], 0, rc, 8), 5);
    for (unsigned i = 0; i < a->n_pairs; i++)
        assert_true(a->remote[a->pairs[i].remote].prio >= rc[2].priority);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    net_free(n);
}

static void test_remote_candidate_cap_and_errors(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config ca;
    floe_ice_config_default(&ca);
    ca.max_remote = 2;
    agents(n, 1, 1, &ca, NULL);
    floe_ice_agent *a = n->ag[0];
    floe_ice_cand c;
    memset(&c, 0, sizeof c);
    c.type = FLOE_ICE_CAND_HOST;
    c.component = 1;
    c.priority = 2130706431;
    strcpy(c.foundation, "1");
    c.addr = A("10.0.0.2:6000");
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_OK);
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_OK); /* duplicate */
    c.addr = A("10.0.0.3:6000");
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_OK);
    c.addr = A("10.0.0.4:6000");
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_ERR_LIMIT);
    floe_ice_stats st;
    floe_ice_agent_get_stats(a, &st);
    assert_int_equal(st.cap_candidates, 1);
    floe_ice_cand bad = c;
    bad.component = 2;
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &bad), FLOE_ERR_INVAL);
    bad = c;
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 1, &bad), FLOE_ERR_INVAL);
    bad.addr.family = FLOE_AF_NONE;
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.priority = 0;
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.foundation[0] = '\0';
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &bad), FLOE_ERR_INVAL);
    bad = c;
    bad.transport = FLOE_TRANSPORT_TCP;
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &bad), FLOE_ERR_UNSUPPORTED);
    bad = c;
    bad.addr = A("224.0.0.1:5000");
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &bad), FLOE_ERR_INVAL);
    /* Credentials. */
    char longer[FLOE_ICE_REMOTE_CRED_MAX + 2];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, longer, "p"), FLOE_ERR_LIMIT);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "a:b", "pwd"), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "", "pwd"), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "ab cd", "pwd"), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 1, "abcd", "pwd"), FLOE_ERR_INVAL);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "abcd", "pwd"), FLOE_OK);
    net_free(n);
}

/* A remote candidate learnt after start (trickle) is paired and checked. */
static void test_remote_candidate_after_start(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, 1, 1, NULL, NULL);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_gather(n);
    assert_int_equal(floe_ice_agent_set_remote_credentials(n->ag[0], 0,
                                                           floe_ice_agent_local_ufrag(n->ag[1]),
                                                           floe_ice_agent_local_pwd(n->ag[1])),
                     FLOE_OK);
    net_signal(n, 0, 1, 1);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    assert_int_equal(n->ag[0]->n_pairs, 0);
    net_advance(n, FLOE_MS(200));
    assert_int_equal(net_sent_count(n, 0, true, FLOE_STUN_REQUEST, false), 0);
    floe_ice_cand c[2];
    assert_int_equal(floe_ice_agent_local_candidates(n->ag[1], 0, c, 2), 1);
    assert_int_equal(floe_ice_agent_add_remote_candidate(n->ag[0], 0, &c[0]), FLOE_OK);
    assert_int_equal(n->ag[0]->n_pairs, 1);
    assert_int_equal(floe_ice_agent_start(n->ag[1], n->now), FLOE_OK);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    net_free(n);
}

static void test_rto_formula(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    agents(n, 1, 1, NULL, NULL);
    floe_ice_agent *a = n->ag[0];
    assert_int_equal(ice_check_rto(a), FLOE_ICE_RTO_MIN);
    a->n_pairs = 20;
    for (unsigned i = 0; i < 20; i++)
        a->pairs[i].state = i % 2 ? FLOE_ICE_PAIR_WAITING : FLOE_ICE_PAIR_IN_PROGRESS;
    assert_int_equal(ice_check_rto(a), 20 * FLOE_ICE_TA_DEFAULT);
    a->pairs[0].state = FLOE_ICE_PAIR_SUCCEEDED;
    assert_int_equal(ice_check_rto(a), 19 * FLOE_ICE_TA_DEFAULT);
    a->n_pairs = 0;
    net_free(n);
}

/* New transactions of two agents sharing a pacer are spaced by its interval. */
static void test_shared_pacer(void **state) {
    (void)state;
    floe_ice_pacer pacer;
    memset(&pacer, 0, sizeof pacer);
    pacer.interval = FLOE_MS(30);
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config ca, cb;
    floe_ice_config_default(&ca);
    floe_ice_config_default(&cb);
    ca.pacer = cb.pacer = &pacer;
    agents(n, 1, 1, &ca, &cb);
    for (int i = 0; i < 2; i++) {
        net_host(n, i, 0, 1, i ? "10.0.0.2:6000" : "10.0.0.1:5000", NULL);
        net_host(n, i, 0, 1, i ? "10.0.1.2:6000" : "10.0.1.1:5000", NULL);
    }
    net_connect(n, 1);
    n->drop_all = true;
    net_advance(n, FLOE_MS(450)); /* before any retransmission */
    floe_time_ns prev = 0;
    unsigned k = 0;
    for (unsigned i = 0; i < n->n_log; i++) {
        const net_sent *s = &n->log[i];
        if (!s->stun || s->cls != FLOE_STUN_REQUEST) continue;
        if (k++) assert_true(s->at - prev >= FLOE_MS(30));
        prev = s->at;
    }
    assert_true(k >= 8);
    assert_int_equal(pacer.started, k);
    net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs_by_component_and_family),
        cmocka_unit_test(test_checks_in_priority_order),
        cmocka_unit_test(test_frozen_algorithm_two_streams),
        cmocka_unit_test(test_frozen_algorithm_components),
        cmocka_unit_test(test_pair_cap_keeps_best),
        cmocka_unit_test(test_remote_candidate_cap_and_errors),
        cmocka_unit_test(test_remote_candidate_after_start),
        cmocka_unit_test(test_rto_formula),
        cmocka_unit_test(test_shared_pacer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
