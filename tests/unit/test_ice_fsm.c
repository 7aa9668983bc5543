/* The ICE state machines, table-driven: every (state, event) combination of the pair
 * and agent machines against the expected next state, and every transition that a run
 * can make observed in runs over the in-test network. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include "ice/ice_fsm.h"

#define FZ FLOE_ICE_PAIR_FROZEN
#define WT FLOE_ICE_PAIR_WAITING
#define IP FLOE_ICE_PAIR_IN_PROGRESS
#define OK FLOE_ICE_PAIR_SUCCEEDED
#define FL FLOE_ICE_PAIR_FAILED

/* Rows: states; columns: UNFREEZE, SEND, TRIGGER, SUCCESS, FAIL, VALIDATE. */
static const floe_ice_pair_state pair_table[5][ICE_PAIR_EV_COUNT] = {
    [FZ] = {WT, IP, WT, FZ, FZ, OK}, [WT] = {WT, IP, WT, OK, WT, OK},
    [IP] = {IP, IP, WT, OK, FL, OK}, [OK] = {OK, OK, OK, OK, FL, OK},
    [FL] = {FL, FL, WT, FL, FL, OK},
};

static void test_pair_transitions(void **state) {
    (void)state;
    unsigned changes = 0;
    for (int s = FZ; s <= FL; s++) {
        for (int e = 0; e < ICE_PAIR_EV_COUNT; e++) {
            floe_ice_pair_state got =
                ice_pair_next_state((floe_ice_pair_state)s, (ice_pair_event)e);
            if (got != pair_table[s][e])
                fail_msg("pair %s + %s -> %s, want %s", floe_ice_pair_state_name(s),
                         ice_pair_event_name(e), floe_ice_pair_state_name(got),
                         floe_ice_pair_state_name(pair_table[s][e]));
            if ((int)got != s) changes++;
        }
        assert_string_not_equal(floe_ice_pair_state_name(s), "unknown");
    }
    assert_int_equal(changes, 14);
    for (int e = 0; e < ICE_PAIR_EV_COUNT; e++)
        assert_string_not_equal(ice_pair_event_name(e), "unknown");
    assert_string_equal(ice_pair_event_name(ICE_PAIR_EV_COUNT), "unknown");
    assert_string_equal(floe_ice_pair_state_name((floe_ice_pair_state)42), "unknown");
}

#define NW FLOE_ICE_AGENT_NEW
#define GG FLOE_ICE_AGENT_GATHERING
#define GD FLOE_ICE_AGENT_GATHERED
#define CK FLOE_ICE_AGENT_CHECKING
#define CP FLOE_ICE_AGENT_COMPLETED
#define FA FLOE_ICE_AGENT_FAILED

/* Columns: GATHER, GATHERED, START, COMPLETE, FAIL, RESTART. */
static const floe_ice_agent_state agent_table[6][ICE_AGENT_EV_COUNT] = {
    [NW] = {GG, NW, NW, NW, NW, NW}, [GG] = {GG, GD, CK, GG, GG, GG},
    [GD] = {GD, GD, CK, GD, GD, GD}, [CK] = {CK, CK, CK, CP, FA, GD},
    [CP] = {CP, CP, CP, CP, FA, GD}, [FA] = {FA, FA, FA, FA, FA, GD},
};

static void test_agent_transitions(void **state) {
    (void)state;
    unsigned changes = 0;
    for (int s = NW; s <= FA; s++) {
        for (int e = 0; e < ICE_AGENT_EV_COUNT; e++) {
            floe_ice_agent_state got =
                ice_agent_next_state((floe_ice_agent_state)s, (ice_agent_event)e);
            if (got != agent_table[s][e])
                fail_msg("agent %s + %s -> %s, want %s", floe_ice_agent_state_name(s),
                         ice_agent_event_name(e), floe_ice_agent_state_name(got),
                         floe_ice_agent_state_name(agent_table[s][e]));
            if ((int)got != s) changes++;
        }
        assert_string_not_equal(floe_ice_agent_state_name(s), "unknown");
    }
    assert_int_equal(changes, 10);
    for (int e = 0; e < ICE_AGENT_EV_COUNT; e++)
        assert_string_not_equal(ice_agent_event_name(e), "unknown");
}

/* ---- transitions seen in runs ------------------------------------------------------- */

/* Records which (from, to) pair-state changes a run's events show. */
static void seen_pairs(const tnet *n, int i, bool seen[5][5]) {
    floe_ice_pair_state last[256];
    for (unsigned k = 0; k < 256; k++)
        last[k] = FZ;
    for (unsigned k = 0; k < n->n_ev[i]; k++) {
        const floe_ice_event *e = &n->ev[i][k];
        if (e->type != FLOE_ICE_EV_PAIR_STATE || e->pair_id >= 256) continue;
        seen[last[e->pair_id]][e->pair_state] = true;
        last[e->pair_id] = e->pair_state;
    }
}

static void two_agents(tnet *n, bool lite_b) {
    floe_ice_config c;
    net_config(n, 0, &c, true);
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    c.lite = lite_b;
    net_agent(n, 1, &c);
}

static void test_transitions_observed(void **state) {
    (void)state;
    bool seen[5][5] = {{false}};
    floe_ice_agent_state path[16];
    unsigned n_path = 0;

    /* 1. A plain success: Frozen->Waiting->In-Progress->Succeeded, and In-Progress ->
     *    Waiting when the peer's check arrives first (triggered). */
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.stun_servers[0] = A("198.51.100.1:3478");
    c.n_stun_servers = 1;
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    net_agent(n, 1, &c);
    net_server(n, "198.51.100.1:3478");
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 0, 0, 1, "10.0.1.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_block(n, "10.0.1.1", NULL); /* the second interface is dead */
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    assert_int_equal(floe_ice_agent_gather(n->ag[0], n->now), FLOE_OK);
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]); /* gathering: a server to ask */
    assert_int_equal(floe_ice_agent_gather(n->ag[1], n->now), FLOE_OK);
    assert_true(net_run(n, n->now + FLOE_S(5), stop_gathered, NULL));
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    net_signal(n, 0, 1, 1);
    net_signal(n, 1, 0, 1);
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    net_advance(n, FLOE_MS(30)); /* B answers before it starts: A sees In-Progress -> OK */
    assert_int_equal(floe_ice_agent_start(n->ag[1], n->now), FLOE_OK);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    net_advance(n, FLOE_S(20)); /* the dead pair times out: In-Progress -> Failed */
    seen_pairs(n, 0, seen);
    seen_pairs(n, 1, seen);
    /* 2. Restart, then the peer vanishes: Completed -> Gathered -> Checking -> Failed. */
    assert_int_equal(floe_ice_agent_restart(n->ag[0], n->now), FLOE_OK);
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    assert_int_equal(floe_ice_agent_restart(n->ag[1], n->now), FLOE_OK);
    net_signal(n, 0, 1, 1);
    net_signal(n, 1, 0, 1);
    n->drop_all = true;
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    net_advance(n, FLOE_S(40));
    path[n_path++] = floe_ice_agent_get_state(n->ag[0]);
    seen_pairs(n, 0, seen);
    net_free(n);

    static const floe_ice_agent_state want[] = {NW, GG, GD, CK, CP, GD, CK, FA};
    assert_int_equal(n_path, sizeof want / sizeof want[0]);
    for (unsigned k = 0; k < n_path; k++)
        assert_int_equal(path[k], want[k]);

    /* 3. ICE-lite: Frozen -> Succeeded (validated by the peer's check). */
    n = net_new(FLOE_MS(10));
    two_agents(n, true);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    floe_ice_agent_set_remote_lite(n->ag[0], true);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    seen_pairs(n, 1, seen);
    net_free(n);

    /* 4. Both start at once: the checks cross, In-Progress -> Waiting -> Succeeded. */
    n = net_new(FLOE_MS(10));
    two_agents(n, false);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    seen_pairs(n, 0, seen);
    net_free(n);

    assert_true(seen[FZ][WT]);
    assert_true(seen[WT][IP]);
    assert_true(seen[IP][OK]);
    assert_true(seen[IP][WT]);
    assert_true(seen[WT][OK]);
    assert_true(seen[IP][FL]);
    assert_true(seen[FZ][OK]);
}

/* The Failed -> Waiting (triggered) and Succeeded -> Failed (nomination lost) changes. */
static void test_transitions_failed_retrigger_and_nomination_loss(void **state) {
    (void)state;
    bool seen[5][5] = {{false}};
    tnet *n = net_new(FLOE_MS(10));
    two_agents(n, false);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_gather(n);
    net_signal(n, 0, 1, 1);
    net_signal(n, 1, 0, 1);
    /* Only A starts; its checks are lost until its pair fails. */
    net_rule_add(n, "10.0.0.1", "10.0.0.2", false)->drop = true;
    assert_int_equal(floe_ice_agent_start(n->ag[0], n->now), FLOE_OK);
    net_advance(n, FLOE_S(11));
    /* Now B starts: its check reaches A, whose failed pair is triggered again. */
    n->n_rules = 0;
    assert_int_equal(floe_ice_agent_start(n->ag[1], n->now), FLOE_OK);
    net_advance(n, FLOE_MS(30));
    seen_pairs(n, 0, seen);
    assert_true(seen[IP][FL]);
    assert_true(seen[FL][WT]);
    net_free(n);

    /* Succeeded -> Failed: the controlling side's nomination check is never answered. */
    memset(seen, 0, sizeof seen);
    n = net_new(FLOE_MS(10));
    two_agents(n, false);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_connect(n, 1);
    net_advance(n, FLOE_MS(25)); /* checks answered both ways */
    net_block(n, "10.0.0.1", "10.0.0.2");
    net_advance(n, FLOE_S(20));
    seen_pairs(n, 0, seen);
    assert_true(seen[OK][FL]);
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_FAILED);
    net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_transitions),
        cmocka_unit_test(test_agent_transitions),
        cmocka_unit_test(test_transitions_observed),
        cmocka_unit_test(test_transitions_failed_retrigger_and_nomination_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
