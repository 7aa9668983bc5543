/* After floe_ice_agent_tick the deadline lies in the future (include/floe/ice.h): a
 * deadline in the past makes the runtime's loop spin. Here the controlled side's wait
 * for a nomination (FLOE_ICE_CONTROLLED_WAIT) runs out while a check is still running;
 * the component fails when that check ends, not before, and the loop never spins. */
#define TEST_ICE_NET_LIB
#include "unit/test_ice_net.c"

#include <stdio.h>

#include "ice/ice_priv.h"

#define PEER_PWD "peerpassword0123456789"

static size_t peer_request(floe_ice_agent *a, uint8_t seed, uint8_t *buf, size_t cap) {
    uint8_t tid[12];
    memset(tid, seed, sizeof tid);
    char user[64];
    snprintf(user, sizeof user, "%s:peer", floe_ice_agent_local_ufrag(a));
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, cap, FLOE_STUN_BINDING, FLOE_STUN_REQUEST, tid);
    floe_stun_add_string(&b, FLOE_STUN_ATTR_USERNAME, user);
    floe_stun_add_u32(&b, FLOE_STUN_ATTR_PRIORITY, 1862270975);
    floe_stun_add_u64(&b, FLOE_STUN_ATTR_ICE_CONTROLLING, 1);
    const char *pwd = floe_ice_agent_local_pwd(a);
    floe_stun_add_integrity(&b, (const uint8_t *)pwd, strlen(pwd));
    floe_stun_add_fingerprint(&b);
    size_t len = 0;
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    return len;
}

static void feed(tnet *n, const char *from, const uint8_t *p, size_t len) {
    floe_ice_recv_info info;
    floe_addr f = A(from);
    assert_int_equal(floe_ice_agent_on_recv(n->ag[0], n->now, 0, &f, p, len, &info), FLOE_OK);
    assert_int_equal(info.kind, FLOE_ICE_RECV_STUN);
}

/* Drains the agent; the ID of the last check request sent goes to tid (if not NULL). */
static unsigned drain_checks(tnet *n, uint8_t tid[12]) {
    uint8_t buf[FLOE_ICE_SEND_MAX];
    size_t len;
    unsigned base, k = 0;
    floe_addr to;
    while (floe_ice_agent_next_send(n->ag[0], n->now, buf, sizeof buf, &len, &base, &to) ==
           FLOE_OK) {
        floe_stun_msg m;
        assert_int_equal(floe_stun_msg_decode(buf, len, 0, &m), FLOE_OK);
        if (m.cls != FLOE_STUN_REQUEST) continue;
        if (tid) memcpy(tid, m.tid, 12);
        k++;
    }
    floe_ice_event ev;
    while (floe_ice_agent_next_event(n->ag[0], &ev))
        if (n->n_ev[0] < NET_EVENTS) n->ev[0][n->n_ev[0]++] = ev;
    return k;
}

/* Ticks at every deadline until `until`; after each tick the deadline is in the future. */
static void run_until(tnet *n, floe_time_ns until) {
    floe_ice_agent *a = n->ag[0];
    for (;;) {
        floe_time_ns d = floe_ice_agent_deadline(a);
        if (d > until) break;
        if (d > n->now) n->now = d;
        floe_ice_agent_tick(a, n->now);
        drain_checks(n, NULL);
        assert_true(floe_ice_agent_deadline(a) > n->now);
    }
    n->now = until;
}

static void test_nomination_wait_ends_while_a_check_runs(void **state) {
    (void)state;
    tnet *n = net_new(FLOE_MS(10));
    floe_ice_config c;
    net_config(n, 0, &c, false); /* controlled */
    net_agent(n, 0, &c);
    floe_ice_agent *a = n->ag[0];
    net_host(n, 0, 0, 1, "10.0.0.1:5000", NULL);
    assert_int_equal(floe_ice_agent_gather(a, n->now), FLOE_OK);
    assert_int_equal(floe_ice_agent_set_remote_credentials(a, 0, "peer", PEER_PWD), FLOE_OK);
    assert_int_equal(floe_ice_agent_start(a, n->now), FLOE_OK);
    drain_checks(n, NULL);
    /* The peer's check from 10.0.0.2 triggers ours; its success makes a valid pair, which
     * the peer never nominates. */
    uint8_t buf[256], tid[12];
    size_t len = peer_request(a, 1, buf, sizeof buf);
    feed(n, "10.0.0.2:6000", buf, len);
    floe_ice_agent_tick(a, n->now);
    assert_int_equal(drain_checks(n, tid), 1);
    n->now += FLOE_MS(20);
    floe_addr me = A("10.0.0.1:5000");
    floe_stun_builder b;
    floe_stun_builder_init(&b, buf, sizeof buf, FLOE_STUN_BINDING, FLOE_STUN_SUCCESS, tid);
    floe_stun_add_xor_addr(&b, FLOE_STUN_ATTR_XOR_MAPPED_ADDRESS, &me);
    floe_stun_add_integrity(&b, (const uint8_t *)PEER_PWD, strlen(PEER_PWD));
    floe_stun_add_fingerprint(&b);
    assert_int_equal(floe_stun_builder_finish(&b, &len), FLOE_OK);
    feed(n, "10.0.0.2:6000", buf, len);
    drain_checks(n, NULL);
    floe_time_ns valid = n->now;
    /* 15 s later the peer checks from 10.0.0.3: our triggered check there never gets an
     * answer and runs for 9.5 s, past the end of the wait for a nomination. */
    run_until(n, valid + FLOE_S(15));
    len = peer_request(a, 2, buf, sizeof buf);
    feed(n, "10.0.0.3:6000", buf, len);
    run_until(n, valid + FLOE_ICE_CONTROLLED_WAIT + FLOE_S(1));
    assert_int_equal(floe_ice_agent_get_state(a), FLOE_ICE_AGENT_CHECKING);
    run_until(n, valid + FLOE_S(30));
    assert_int_equal(floe_ice_agent_get_state(a), FLOE_ICE_AGENT_FAILED);
    const floe_ice_event *e = net_find(n, 0, FLOE_ICE_EV_FAILED, 0);
    assert_non_null(e);
    assert_string_equal(e->reason, "the peer nominated no pair for stream 0 component 1");
    assert_true(e->at >= valid + FLOE_S(15) + FLOE_MS(9500));
    net_free(n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nomination_wait_ends_while_a_check_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
