/* After selection: RFC 7675 consent (cadence, expiry, no data after expiry), RFC 8445
 * §11 keepalives, ICE restart (§9), and ICE-lite on either side (§2.5). */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include "ice/ice_priv.h"

static tnet *connected(bool consent, bool a_lite_peer, bool b_lite) {
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, true);
    c.consent = consent;
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    c.consent = consent;
    c.lite = b_lite;
    net_agent(n, 1, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    if (a_lite_peer) floe_ice_agent_set_remote_lite(n->ag[0], true);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    return n;
}

/* Times at which agent i sent a request (cls) or indication after `since`. */
static unsigned sends_after(const tnet *n, int i, int cls, floe_time_ns since, floe_time_ns *at,
                            unsigned max) {
    unsigned k = 0;
    for (unsigned j = 0; j < n->n_log; j++) {
        const net_sent *s = &n->log[j];
        if (s->agent != i || !s->stun || s->cls != cls || s->at <= since) continue;
        if (k < max) at[k] = s->at;
        k++;
    }
    return k;
}

static void test_consent_cadence(void **state) {
    (void)state;
    tnet *n = connected(true, false, false);
    floe_time_ns t0 = n->now;
    net_advance(n, FLOE_S(120));
    floe_time_ns at[64];
    unsigned k = sends_after(n, 0, FLOE_STUN_REQUEST, t0, at, 64);
    assert_true(k >= 20 && k <= 30); /* one per 4..6 s */
    bool varied = false;
    for (unsigned j = 1; j < k; j++) {
        floe_time_ns d = at[j] - at[j - 1];
        assert_true(d >= FLOE_S(4) && d <= FLOE_S(6));
        if (j > 1 && d != at[j - 1] - at[j - 2]) varied = true;
    }
    assert_true(varied); /* randomised */
    floe_ice_stats st;
    floe_ice_agent_get_stats(n->ag[0], &st);
    assert_int_equal(st.consent_checks, k);
    assert_int_equal(st.keepalives_sent, 0); /* consent requests keep the bindings */
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CONSENT_LOST), 0);
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_COMPLETED);
    net_free(n);
}

static void test_consent_expires_after_30s_of_silence(void **state) {
    (void)state;
    tnet *n = connected(true, false, false);
    net_advance(n, FLOE_S(12));
    floe_time_ns silence = n->now;
    n->drop_all = true;
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_data_path(n->ag[0], 0, 1, &base, &to), FLOE_OK);
    /* The last answer came at most one consent interval (6 s) before the silence. */
    net_advance(n, FLOE_S(23));
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CONSENT_LOST), 0); /* not yet */
    net_advance(n, FLOE_S(8));
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CONSENT_LOST), 1);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_CONSENT_LOST, 0);
    assert_true(e->at > silence + FLOE_S(23) && e->at <= silence + FLOE_S(30));
    assert_int_equal(e->stream, 0);
    assert_int_equal(e->component, 1);
    /* No voice hammer: no data path, no more requests, agent failed. */
    assert_int_equal(floe_ice_agent_data_path(n->ag[0], 0, 1, &base, &to), FLOE_ERR_STATE);
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_FAILED);
    const floe_ice_event *f = net_find(n, 0, FLOE_ICE_EV_FAILED, 0);
    assert_string_equal(f->reason, "consent expired on the selected pair of stream 0 component 1");
    floe_time_ns at[4];
    floe_time_ns lost = e->at;
    net_advance(n, FLOE_S(60));
    assert_int_equal(sends_after(n, 0, FLOE_STUN_REQUEST, lost, at, 4), 0);
    assert_int_equal(sends_after(n, 0, FLOE_STUN_INDICATION, lost, at, 4), 0);
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CONSENT_LOST), 1);
    net_free(n);
}

/* Consent survives a loss burst shorter than 30 s. */
static void test_consent_survives_short_outage(void **state) {
    (void)state;
    tnet *n = connected(true, false, false);
    n->drop_all = true;
    net_advance(n, FLOE_S(20));
    n->drop_all = false;
    net_advance(n, FLOE_S(60));
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_CONSENT_LOST), 0);
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_COMPLETED);
    net_free(n);
}

static void test_keepalive_cadence_without_consent(void **state) {
    (void)state;
    tnet *n = connected(false, false, false);
    floe_time_ns t0 = n->now;
    net_advance(n, FLOE_S(61));
    floe_time_ns at[16];
    for (int i = 0; i < 2; i++) {
        unsigned k = sends_after(n, i, FLOE_STUN_INDICATION, t0, at, 16);
        assert_int_equal(k, 4);
        for (unsigned j = 1; j < k; j++)
            assert_int_equal(at[j] - at[j - 1], FLOE_ICE_TR_DEFAULT);
        assert_int_equal(sends_after(n, i, FLOE_STUN_REQUEST, t0, at, 16), 0);
        /* Without consent nothing expires. */
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_CONSENT_LOST), 0);
    }
    n->drop_all = true;
    net_advance(n, FLOE_S(120));
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_data_path(n->ag[0], 0, 1, &base, &to), FLOE_OK);
    net_free(n);
}

static void test_restart(void **state) {
    (void)state;
    tnet *n = connected(true, false, false);
    floe_ice_agent *a = n->ag[0], *b = n->ag[1];
    char old_ufrag[16], old_pwd[32];
    strcpy(old_ufrag, floe_ice_agent_local_ufrag(a));
    strcpy(old_pwd, floe_ice_agent_local_pwd(a));
    assert_int_equal(floe_ice_agent_restart(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_restart(b, n->now), FLOE_OK);
    assert_string_not_equal(old_ufrag, floe_ice_agent_local_ufrag(a));
    assert_string_not_equal(old_pwd, floe_ice_agent_local_pwd(a));
    assert_int_equal(floe_ice_agent_get_state(a), FLOE_ICE_AGENT_GATHERED);
    assert_int_equal(a->n_pairs, 0);
    /* The old selection still carries data. */
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_data_path(a, 0, 1, &base, &to), FLOE_OK);
    /* Starting without the new remote credentials: no checks can go out. */
    floe_ice_cand c[4];
    size_t k = floe_ice_agent_local_candidates(b, 0, c, 4);
    assert_int_equal(floe_ice_agent_add_remote_candidate(a, 0, &c[0]), FLOE_OK);
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    assert_int_equal(k, 1);
    unsigned before = net_sent_count(n, 0, true, FLOE_STUN_REQUEST, false);
    net_advance(n, FLOE_S(3));
    assert_int_equal(net_sent_count(n, 0, true, FLOE_STUN_REQUEST, false), before);
    assert_int_equal(floe_ice_agent_get_state(a), FLOE_ICE_AGENT_CHECKING);
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_ERR_STATE);
    /* Now the credentials arrive. */
    net_signal(n, 1, 0, 1);
    net_signal(n, 0, 1, 1);
    assert_int_equal(floe_ice_agent_start(b, n->now), FLOE_OK);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_SELECTED), 2);
        assert_int_equal(net_count(n, i, FLOE_ICE_EV_COMPLETED), 2);
    }
    /* A check with the old credentials is refused now. */
    floe_ice_stats st0, st1;
    floe_ice_agent_get_stats(a, &st0);
    uint8_t req[256];
    floe_stun_builder bld;
    uint8_t tid[12] = {1, 2, 3};
    floe_stun_builder_init(&bld, req, sizeof req, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    char user[64];
    strcpy(user, old_ufrag);
    strcat(user, ":peer");
    floe_stun_add_string(&bld, FLOE_STUN_ATTR_USERNAME, user);
    floe_stun_add_u32(&bld, FLOE_STUN_ATTR_PRIORITY, 1000);
    floe_stun_add_integrity(&bld, (const uint8_t *)old_pwd, strlen(old_pwd));
    floe_stun_add_fingerprint(&bld);
    size_t len;
    assert_int_equal(floe_stun_builder_finish(&bld, &len), FLOE_OK);
    floe_ice_recv_info info;
    assert_int_equal(floe_ice_agent_on_recv(a, n->now, 0, &n->base_addr[1][0], req, len, &info),
                     FLOE_OK);
    assert_int_equal(info.kind, FLOE_ICE_RECV_DROPPED);
    floe_ice_agent_get_stats(a, &st1);
    assert_int_equal(st1.drop_unknown_user, st0.drop_unknown_user + 1);
    net_free(n);
}

/* A restart after consent was lost brings the agent back. */
static void test_restart_recovers_from_consent_loss(void **state) {
    (void)state;
    tnet *n = connected(true, false, false);
    n->drop_all = true;
    net_advance(n, FLOE_S(40));
    assert_int_equal(floe_ice_agent_get_state(n->ag[0]), FLOE_ICE_AGENT_FAILED);
    n->drop_all = false;
    for (int i = 0; i < 2; i++)
        assert_int_equal(floe_ice_agent_restart(n->ag[i], n->now), FLOE_OK);
    net_signal(n, 0, 1, 1);
    net_signal(n, 1, 0, 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(floe_ice_agent_start(n->ag[i], n->now), FLOE_OK);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_data_path(n->ag[0], 0, 1, &base, &to), FLOE_OK);
    net_free(n);
}

/* B is an ICE-lite agent; A knows it (a=ice-lite) and does all the checks. */
static void test_lite_agent_and_lite_peer(void **state) {
    (void)state;
    tnet *n = connected(true, true, true);
    assert_true(floe_ice_agent_is_controlling(n->ag[0]));
    assert_false(floe_ice_agent_is_controlling(n->ag[1]));
    /* The lite agent sent no requests of its own; it selected on USE-CANDIDATE. */
    assert_int_equal(net_sent_count(n, 1, true, FLOE_STUN_REQUEST, false), 0);
    assert_int_equal(net_count(n, 1, FLOE_ICE_EV_SELECTED), 1);
    assert_int_equal(net_count(n, 0, FLOE_ICE_EV_SELECTED), 1);
    unsigned base;
    floe_addr to;
    assert_int_equal(floe_ice_agent_data_path(n->ag[1], 0, 1, &base, &to), FLOE_OK);
    /* Afterwards: the full agent's consent requests, the lite agent's keepalives. */
    floe_time_ns t0 = n->now;
    net_advance(n, FLOE_S(31));
    floe_time_ns at[16];
    assert_int_equal(sends_after(n, 1, FLOE_STUN_REQUEST, t0, at, 16), 0);
    assert_int_equal(sends_after(n, 1, FLOE_STUN_INDICATION, t0, at, 16), 2);
    assert_true(sends_after(n, 0, FLOE_STUN_REQUEST, t0, at, 16) >= 5);
    assert_int_equal(floe_ice_agent_get_state(n->ag[1]), FLOE_ICE_AGENT_COMPLETED);
    net_free(n);
}

/* set_remote_lite makes a controlled agent controlling. */
static void test_remote_lite_forces_controlling(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, false);
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    c.lite = true;
    net_agent(n, 1, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    floe_ice_agent_set_remote_lite(n->ag[0], true);
    assert_true(floe_ice_agent_is_controlling(n->ag[0]));
    net_drain(n, 0);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_ROLE_CHANGED, 0);
    assert_non_null(e);
    assert_true(e->controlling);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    net_free(n);
}

/* A full agent that does not know its peer is lite starts controlled: the lite agent
 * answers 487, the full agent takes control and the call completes. */
static void test_lite_agent_answers_487_to_controlled_peer(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, false);
    net_agent(n, 0, &c);
    net_config(n, 1, &c, false);
    c.lite = true;
    net_agent(n, 1, &c);
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    net_host(n, 1, 0, 1, "10.0.0.2:6000", NULL);
    net_connect(n, 1);
    assert_true(net_run_until_state(n, FLOE_ICE_AGENT_COMPLETED, FLOE_S(5)));
    assert_true(floe_ice_agent_is_controlling(n->ag[0]));
    floe_ice_stats st;
    floe_ice_agent_get_stats(n->ag[1], &st);
    assert_true(st.errors_sent >= 1);
    assert_true(st.role_conflicts >= 1);
    net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consent_cadence),
        cmocka_unit_test(test_consent_expires_after_30s_of_silence),
        cmocka_unit_test(test_consent_survives_short_outage),
        cmocka_unit_test(test_keepalive_cadence_without_consent),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_restart_recovers_from_consent_loss),
        cmocka_unit_test(test_lite_agent_and_lite_peer),
        cmocka_unit_test(test_remote_lite_forces_controlling),
        cmocka_unit_test(test_lite_agent_answers_487_to_controlled_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
