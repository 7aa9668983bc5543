/* The agent's transactions kept small (docs/adr/0008): the compact form times exactly
 * like floe_stun_txn, the check-transaction pool never delays a check, a replaced check's
 * answer still counts with the smallest caps, slots are reclaimed oldest first and
 * counted, checks wait (counted, without spinning) only beyond FLOE_ICE_MAX_CHECKS pairs,
 * and the triggered-check queue keeps its order across its 16-bit counter. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include <stdio.h>

#include "ice/ice_priv.h"

#define PEER_PWD "peerpassword0123456789"

static floe_ice_agent *bare_agent(tnet *n, unsigned max_pairs) {
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.max_pairs = max_pairs;
    net_agent(n, 0, &c);
    return n->ag[0];
}

/* ---- compact transactions ------------------------------------------------------------ */

/* ice_txn against floe_stun_txn for every schedule the agent uses (and RFC 8489's), with
 * ticks on time, late, and far too late (several copies folded into one). */
static void test_compact_txn_matches_stun_txn(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_agent *a = bare_agent(n, 4);
    static const unsigned sched[][2] = {{FLOE_ICE_CHECK_RC, FLOE_ICE_CHECK_RM},
                                        {FLOE_ICE_GATHER_RC, FLOE_ICE_GATHER_RM},
                                        {FLOE_ICE_CONSENT_RC, FLOE_ICE_CONSENT_RM},
                                        {FLOE_STUN_RC, FLOE_STUN_RM},
                                        {1, 3}};
    static const unsigned factors[] = {0, 1, 10, 11, 37, 1000};
    net_rng r = {42};
    for (size_t s = 0; s < sizeof sched / sizeof sched[0]; s++) {
        for (size_t f = 0; f < sizeof factors / sizeof factors[0]; f++) {
            for (int lateness = 0; lateness < 3; lateness++) {
                unsigned rc = sched[s][0], rm = sched[s][1];
                floe_time_ns now = FLOE_S(1000) + 12345;
                ice_txn c;
                memset(&c, 0, sizeof c);
                ice_txn_start(&c, now, factors[f]);
                floe_stun_txn t;
                memset(&t, 0, sizeof t);
                assert_int_equal(
                    floe_stun_txn_start_ex(&t, now, ice_txn_rto(a, factors[f]), rc, rm, false),
                    FLOE_OK);
                for (int step = 0; step < 40 && t.state == FLOE_STUN_TXN_WAITING; step++) {
                    assert_int_equal(ice_txn_deadline(a, &c, rc, rm), floe_stun_txn_deadline(&t));
                    uint32_t jitter = 0;
                    net_rand(&r, &jitter, sizeof jitter);
                    floe_time_ns d = floe_stun_txn_deadline(&t);
                    floe_time_ns at = lateness == 0   ? d
                                      : lateness == 1 ? d + jitter % FLOE_MS(300)
                                                      : d + (floe_time_ns)(jitter % 4) * t.rto * 4;
                    if (step % 3 == 1) at = now + (at - now) / 2; /* early: nothing to do */
                    now = at;
                    assert_int_equal(ice_txn_tick(a, &c, rc, rm, now), floe_stun_txn_tick(&t, now));
                    assert_int_equal(c.state, t.state);
                    assert_int_equal(c.sends, t.sends);
                }
                assert_int_equal(ice_txn_deadline(a, &c, rc, rm), floe_stun_txn_deadline(&t));
                assert_int_not_equal(t.state, FLOE_STUN_TXN_WAITING);
            }
        }
    }
    net_free(n);
}

/* ---- no check waits ------------------------------------------------------------------ */

/* A has 2 addresses, B 16: 32 pairs of distinct foundations, and only the pair of lowest
 * priority gets through. Every check goes out at its Ta slot (a pool smaller than the
 * pairs would hold the last ones back for a whole check lifetime, 19 RTO). */
static void test_black_holes_do_not_delay_checks(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config ca, cb;
    net_config(n, 0, &ca, true);
    net_config(n, 1, &cb, false);
    ca.max_pairs = cb.max_pairs = 32;
    net_agent(n, 0, &ca);
    net_agent(n, 1, &cb);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 1, "10.0.1.1:5000", NULL);
    for (int k = 0; k < 16; k++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.1.%d.2:6000", k);
        net_host(n, 1, 0, 1, addr, NULL);
    }
    net_rule_add(n, "10.0.1.1", "10.1.15.2", true); /* first match: this path works */
    net_block(n, "10.0.0.1", NULL);
    net_block(n, "10.0.1.1", NULL);
    net_connect(n, 1);
    floe_time_ns t0 = n->now;
    assert_int_equal(n->ag[0]->n_pairs, 32);
    assert_int_equal(n->ag[0]->n_txns, 34);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    /* 32 checks at Ta = 50 ms take 1.6 s; a 16-slot pool would need about 30 s here. */
    assert_true(n->now - t0 < FLOE_S(3));
    for (int i = 0; i < 2; i++) {
        floe_ice_stats st;
        floe_ice_agent_get_stats(n->ag[i], &st);
        assert_int_equal(st.cap_checks, 0);
        assert_true(ice_txn_consistent(n->ag[i]));
    }
    const floe_ice_event *sel = net_find(n, 0, FLOE_ICE_EV_SELECTED, 0);
    assert_non_null(sel);
    assert_true(floe_addr_equal(&sel->remote.addr, &n->base_addr[1][15]));
    /* More than 16 checks were in flight at once on A's side. */
    unsigned running = 0;
    for (unsigned i = 0; i < n->ag[0]->n_pairs; i++)
        if (n->ag[0]->pairs[i].state == FLOE_ICE_PAIR_IN_PROGRESS) running++;
    assert_true(running > 16);
    net_free(n);
}

/* ---- replaced checks ------------------------------------------------------------------ */

static size_t peer_request(floe_ice_agent *a, uint8_t seed, uint8_t *buf, size_t cap) {
    uint8_t tid[12];
    memset(tid, seed, sizeof tid);
    char user[64];
    snprintf(user, sizeof user, "%s:peer", floe_ice_agent_local_ufrag(a));
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, user);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1862270975);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLED, 1);
    const char *pwd = floe_ice_agent_local_pwd(a);
    floe_stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    size_t len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    return len;
}

static size_t peer_success(const uint8_t tid[12], const floe_addr *mapped, uint8_t *buf,
                           size_t cap) {
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, mapped);
    floe_stun_add_integrity(&b, (const uint8_t *)PEER_PWD, strlen(PEER_PWD));
    floe_stun_add_fingerprint(&b);
    size_t len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    return len;
}

/* The requests the agent sends now (their IDs), answers and events drained. */
static unsigned sent_requests(tnet *n, uint8_t tids[][12], unsigned max) {
    floe_ice_agent *a = n->ag[0];
    uint8_t buf[FLOE_ICE_SEND_MAX];
    size_t len;
    unsigned base, k = 0;
    floe_addr to;
    while (floe_ice_agent_next_send(a, n->now, buf, sizeof buf, &len, &base, &to) == FLOE_OK) {
        floe_stun_msg m;
        assert_int_equal(floe_stun_msg_decode(buf, len, 0, &m), FLOE_OK);
        if (m.cls == FLOE_STUN_REQUEST && k < max) memcpy(tids[k++], m.tid, 12);
    }
    floe_ice_event ev;
    while (floe_ice_agent_next_event(a, &ev)) {
    }
    return k;
}

static floe_ice_recv_kind feed_from(tnet *n, const char *from, const uint8_t *p, size_t len) {
    floe_ice_recv_info info;
    floe_addr f = A(from);
    assert_int_equal(floe_ice_agent_on_recv(n->ag[0], n->now, 0, &f, p, len, &info), FLOE_OK);
    return info.kind;
}

/* max_pairs 1: the peer's check triggers a new check on the pair whose check is out; the
 * answer to the replaced check still counts (§7.3.1.4), which breaks the cross-triggering
 * of two agents whose RTT exceeds Ta (docs/adr/0005). */
static void test_replaced_check_answer_counts_with_one_pair(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_agent *a = bare_agent(n, 1);
    assert_int_equal(a->n_txns, 1 + ICE_TXN_SPARE);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "peer", PEER_PWD), FLOE_OK);
    floe_ice_cand c;
    memset(&c, 0, sizeof c);
    c.type = FLOE_ICE_CAND_HOST;
    c.component = 1;
    c.priority = 2130706431;
    strcpy(c.foundation, "x");
    c.addr = A("10.0.0.2:6000");
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_OK);
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    uint8_t tids[4][12], buf[256];
    floe_ice_agent_tick(a, n->now);
    assert_int_equal(sent_requests(n, tids, 4), 1);
    /* The peer's check arrives while ours is out: a triggered check replaces ours. */
    n->now += FLOE_MS(20);
    size_t len = peer_request(a, 1, buf, sizeof buf);
    assert_int_equal(feed_from(n, "10.0.0.2:6000", buf, len), FLOE_ICE_RECV_STUN);
    assert_int_equal(a->pairs[0].state, FLOE_ICE_PAIR_WAITING);
    n->now += FLOE_ICE_TA_DEFAULT;
    floe_ice_agent_tick(a, n->now);
    assert_int_equal(sent_requests(n, &tids[1], 3), 1);
    assert_true(ice_txn_consistent(a));
    assert_true(a->pairs[0].flags & ICE_PF_OLD_TXN);
    /* The answer to the first, replaced check. */
    floe_addr me = A("10.0.0.1:5000");
    len = peer_success(tids[0], &me, buf, sizeof buf);
    assert_int_equal(feed_from(n, "10.0.0.2:6000", buf, len), FLOE_ICE_RECV_STUN);
    assert_int_equal(a->pairs[0].state, FLOE_ICE_PAIR_SUCCEEDED);
    floe_ice_stats st;
    floe_ice_agent_get_stats(a, &st);
    assert_int_equal(st.drop_unmatched, 0);
    assert_int_equal(st.cap_checks, 0);
    assert_true(ice_txn_consistent(a));
    net_free(n);
}

/* ---- the pool under pressure (internals) ----------------------------------------------- */

/* Pairs 0..n-1 on one local and n remote candidates, formed by the agent. */
static floe_ice_agent *agent_with_pairs(tnet *n, unsigned max_pairs, unsigned n_remote) {
    floe_ice_agent *a = bare_agent(n, max_pairs);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "peer", PEER_PWD), FLOE_OK);
    for (unsigned k = 0; k < n_remote; k++) {
        floe_ice_cand c;
        memset(&c, 0, sizeof c);
        c.type = FLOE_ICE_CAND_HOST;
        c.component = 1;
        c.priority = 2130706431 - k;
        snprintf(c.foundation, sizeof c.foundation, "f%u", k);
        char addr[32];
        snprintf(addr, sizeof addr, "10.9.%u.%u:6000", k / 200, 1 + k % 200);
        c.addr = A(addr);
        assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c), FLOE_OK);
    }
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    return a;
}

/* Gives pair i a running check in slot k, started at t. */
static void run_check(floe_ice_agent *a, unsigned k, unsigned i, floe_time_ns t) {
    ice_txn_start(&a->txns[k].txn, t, 1);
    a->txns[k].last_send = t;
    ice_txn_hold(a, k, i);
}

/* Every pair with a running check and a replaced one: a new check takes the slot of the
 * oldest replaced check (its answer no longer counts, and that is counted). */
static void test_oldest_kept_slot_is_reclaimed(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_agent *a = agent_with_pairs(n, 3, 3);
    assert_int_equal(a->n_pairs, 3);
    assert_int_equal(a->n_txns, 5);
    run_check(a, 0, 0, FLOE_S(10));
    ice_txn_make_old(a, 0);
    run_check(a, 1, 0, FLOE_S(11));
    run_check(a, 2, 1, FLOE_S(5));
    ice_txn_make_old(a, 1);
    run_check(a, 3, 1, FLOE_S(12));
    run_check(a, 4, 2, FLOE_S(1));
    assert_true(ice_txn_consistent(a));
    assert_true(ice_txn_available(a));
    /* Slot 2 holds the oldest replaced check (pair 1's, started at 5 s). */
    assert_int_equal(ice_txn_take(a), 2);
    floe_ice_stats st;
    floe_ice_agent_get_stats(a, &st);
    assert_int_equal(st.cap_checks, 1);
    assert_false(a->pairs[1].flags & ICE_PF_OLD_TXN);
    assert_true(a->pairs[0].flags & ICE_PF_OLD_TXN);
    assert_true(ice_txn_consistent(a));
    /* Pair 1 replaces its check again, into slot 2. Then pair 2's running check is
     * stopped (only its late answer would count): the oldest kept slot, taken next. */
    ice_txn_make_old(a, 1);
    run_check(a, 2, 1, FLOE_S(13));
    ice_txn_cancel(&a->txns[4].txn);
    assert_true(ice_txn_consistent(a));
    assert_int_equal(ice_txn_take(a), 4);
    floe_ice_agent_get_stats(a, &st);
    assert_int_equal(st.cap_checks, 2);
    assert_false(a->pairs[2].flags & ICE_PF_TXN);
    assert_int_equal(a->pairs[2].slot, ICE_NO);
    assert_true(ice_txn_consistent(a));
    net_free(n);
}

static unsigned count_state(const floe_ice_agent *a, floe_ice_pair_state s) {
    unsigned k = 0;
    for (unsigned i = 0; i < a->n_pairs; i++)
        if (a->pairs[i].state == s) k++;
    return k;
}

/* Runs agent 0 alone (nothing answers) until `until`, ticking at its deadlines. */
static void run_alone(tnet *n, floe_time_ns until) {
    floe_ice_agent *a = n->ag[0];
    uint8_t tids[1][12];
    for (;;) {
        floe_time_ns d = floe_ice_agent_deadline(a);
        if (d > until) break;
        if (d > n->now) n->now = d;
        floe_ice_agent_tick(a, n->now);
        (void)sent_requests(n, tids, 0);
        assert_true(floe_ice_agent_deadline(a) > n->now);
    }
    n->now = until;
}

/* Beyond FLOE_ICE_MAX_CHECKS pairs a check can find every slot running: it waits, counted
 * once, without the deadline spinning, and goes out when a check ends. */
static void test_checks_wait_beyond_the_slots(void **state) {
    (void)state;
    /* 20 local addresses x 15 remote candidates: 300 pairs of distinct foundations. */
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.max_pairs = 300;
    net_agent(n, 0, &c);
    floe_ice_agent *a = n->ag[0];
    for (unsigned h = 0; h < 20; h++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.0.%u.1:5000", h);
        floe_addr x = A(addr);
        unsigned base;
        assert_int_equal(floe_ice_agent_add_host(a, 0, 1, &x, NULL, &base), FLOE_OK);
    }
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "peer", PEER_PWD), FLOE_OK);
    for (unsigned k = 0; k < 15; k++) {
        floe_ice_cand rc;
        memset(&rc, 0, sizeof rc);
        rc.type = FLOE_ICE_CAND_HOST;
        rc.component = 1;
        rc.priority = 2130706431 - k;
        snprintf(rc.foundation, sizeof rc.foundation, "f%u", k);
        char addr[32];
        snprintf(addr, sizeof addr, "10.9.0.%u:6000", k + 1);
        rc.addr = A(addr);
        assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &rc), FLOE_OK);
    }
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    assert_int_equal(a->n_pairs, 300);
    assert_int_equal(a->n_txns, FLOE_ICE_MAX_CHECKS);
    floe_time_ns t0 = n->now;
    /* 255 checks take 255 Ta; the 256th finds no slot. */
    run_alone(n, t0 + FLOE_ICE_MAX_CHECKS * FLOE_ICE_TA_DEFAULT + FLOE_S(2));
    assert_int_equal(count_state(a, FLOE_ICE_PAIR_IN_PROGRESS), FLOE_ICE_MAX_CHECKS);
    assert_int_equal(count_state(a, FLOE_ICE_PAIR_WAITING), 300 - FLOE_ICE_MAX_CHECKS);
    floe_ice_stats st;
    floe_ice_agent_get_stats(a, &st);
    assert_int_equal(st.cap_checks, 1);
    assert_true(a->txn_blocked);
    assert_true(ice_txn_consistent(a));
    /* RTO = Ta x 300 = 15 s, so the first check gives up after 19 RTO = 285 s, the next
     * ones every Ta after it; each freed slot goes to a waiting check at once. */
    run_alone(n, t0 + FLOE_MS(285500));
    unsigned failed = count_state(a, FLOE_ICE_PAIR_FAILED);
    assert_true(failed >= 5 && failed <= 15);
    assert_int_equal(count_state(a, FLOE_ICE_PAIR_IN_PROGRESS), FLOE_ICE_MAX_CHECKS);
    assert_int_equal(count_state(a, FLOE_ICE_PAIR_WAITING), 300 - FLOE_ICE_MAX_CHECKS - failed);
    floe_ice_agent_get_stats(a, &st);
    assert_true(st.cap_checks >= 1);
    assert_true(ice_txn_consistent(a));
    net_free(n);
}

/* ---- the triggered-check queue ------------------------------------------------------- */

/* Pairs queued around the end of the 16-bit counter still go out first come, first
 * served. */
static void test_triggered_order_survives_renumbering(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_agent *a = agent_with_pairs(n, 8, 6);
    assert_int_equal(a->n_pairs, 6);
    static const unsigned order[] = {4, 1, 5, 0, 3, 2};
    a->trig_seq = UINT16_MAX - 3;
    for (unsigned k = 0; k < 6; k++)
        ice_sched_trigger(a, order[k]);
    assert_true(a->trig_seq < 10); /* renumbered */
    for (unsigned k = 0; k < 6; k++) {
        n->now += FLOE_ICE_TA_DEFAULT;
        ice_sched_pace(a, n->now);
        assert_true(a->pairs[order[k]].flags & ICE_PF_TXN);
        for (unsigned j = k + 1; j < 6; j++)
            assert_true(a->pairs[order[j]].flags & ICE_PF_TRIGGERED);
    }
    assert_true(ice_txn_consistent(a));
    net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_txn_matches_stun_txn),
        cmocka_unit_test(test_black_holes_do_not_delay_checks),
        cmocka_unit_test(test_replaced_check_answer_counts_with_one_pair),
        cmocka_unit_test(test_oldest_kept_slot_is_reclaimed),
        cmocka_unit_test(test_checks_wait_beyond_the_slots),
        cmocka_unit_test(test_triggered_order_survives_renumbering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
