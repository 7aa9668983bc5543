/* Unit tests for include/floe/stun_behavior.h: RFC 5780 discovery (rt/sim's
 * floe_sim_stun_behavior) run in virtual time against the real server core
 * (floe_sim_stun_server) across the simulator, from a client behind a NAT (or a
 * firewall) whose mapping and filtering behaviour (RFC 4787) are chosen per test. Every
 * one of the nine mapping x filtering combinations must be found, plus "no NAT", a
 * firewall without NAT, loss, and the ways discovery stops early. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/stun.h"
#include "floe/stun_behavior.h"
#include "floe/stun_server.h"
#include "sim.h"
#include "sim_stun.h"

static int counting_rand(void *ctx, void *buf, size_t len) {
    unsigned *seed = ctx;
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*seed * 131u + i * 17u + 3u);
    (*seed)++;
    return FLOE_OK;
}
static unsigned seed;

static floe_addr addr(const char *s) {
    floe_addr a;
    assert_int_equal(floe_addr_parse(s, &a), FLOE_OK);
    return a;
}

/* ---- the network ------------------------------------------------------------------- */

#define T0 FLOE_S(1000) /* when discovery starts */

/* The client (10.0.0.2:5000) on a LAN behind a box: a NAT (public IP 203.0.113.1, ports
 * from 40000 in turn) or, without translation, a stateful firewall that only filters.
 * The Internet takes 15 ms each way, the LAN nothing, so an answered test takes 30 ms.
 * The server listens on 192.0.2.1 and 192.0.2.2, ports 3478 and 3479. */
typedef struct lab {
    floe_sim *sim;
    floe_sim_network *internet;
    floe_sim_host *box, *client;
    floe_sim_stun_server *srv;
    floe_addr primary, alternate, inside;
} lab;

/* alt_unreachable: the server's alternate IP sits behind a firewall that lets its answers
 * out and nothing in, so requests to it are lost. */
static void lab_init(lab *L, bool translate, floe_nat_behavior mapping, floe_nat_behavior filtering,
                     bool rfc5780, bool alt_unreachable) {
    memset(L, 0, sizeof *L);
    char box[128], text[1024], err[256];
    if (translate)
        snprintf(box, sizeof box,
                 "nat box mapping=%s filtering=%s ports=sequential range=40000-65535",
                 floe_sim_nat_mapping_short(mapping), floe_sim_nat_filtering_short(filtering));
    else
        snprintf(box, sizeof box, "firewall box filtering=%s",
                 floe_sim_nat_filtering_short(filtering));
    snprintf(text, sizeof text,
             "network internet delay=15ms\n"
             "network lan delay=0\n"
             "%s inside=lan ip=10.0.0.1 outside=internet ip=203.0.113.1\n"
             "host client net=lan ip=10.0.0.2 gw=10.0.0.1\n"
             "%s",
             box,
             alt_unreachable
                 ? "network dmz delay=0\n"
                   "firewall altfw inside=dmz ip=192.0.2.126 outside=internet ip=192.0.2.254\n"
                   "host stun iface=eth0 net=internet ip=192.0.2.1 "
                   "iface=eth1 net=dmz ip=192.0.2.2 gw=192.0.2.126\n"
                 : "host stun iface=eth0 net=internet ip=192.0.2.1 "
                   "iface=eth1 net=internet ip=192.0.2.2\n");
    floe_sim_config cfg;
    floe_sim_config_default(&cfg);
    cfg.start = T0;
    assert_int_equal(floe_sim_new(&L->sim, &cfg), FLOE_OK);
    if (floe_sim_scenario_parse(L->sim, text, "lab", NULL, err, sizeof err) != FLOE_OK)
        fail_msg("%s", err);
    L->internet = floe_sim_network_find(L->sim, "internet");
    L->box = floe_sim_host_find(L->sim, "box");
    L->client = floe_sim_host_find(L->sim, "client");
    L->primary = addr("192.0.2.1:3478");
    L->alternate = addr("192.0.2.2:3479");
    L->inside = addr("10.0.0.2:5000");
    floe_stun_server_config sc;
    floe_stun_server_config_default(&sc);
    sc.rfc5780 = rfc5780;
    sc.primary = L->primary;
    sc.alternate = L->alternate;
    assert_int_equal(floe_sim_stun_server_new(floe_sim_host_find(L->sim, "stun"), &sc, &L->srv),
                     FLOE_OK);
}

static void lab_free(lab *L) {
    floe_sim_stun_server_free(L->srv);
    floe_sim_free(L->sim);
}

/* Loses what crosses the Internet at `at`: the network is cut from 1 ms before to 1 ms
 * after. */
static void lose_arrival(lab *L, floe_time_ns at) {
    assert_int_equal(floe_sim_network_partition_at(L->internet, at - FLOE_MS(1), true), FLOE_OK);
    assert_int_equal(floe_sim_network_partition_at(L->internet, at + FLOE_MS(1), false), FLOE_OK);
}

typedef struct run_out {
    floe_stun_behavior_result res;
    bool done;
    floe_time_ns took;
    unsigned n_test_events;
    floe_stun_behavior_test order[FLOE_STUN_BT_COUNT];
    uint64_t n_requests; /* datagrams the client sent */
} run_out;

static void on_event(void *ctx, floe_sim_stun_behavior *d, floe_time_ns now,
                     const floe_stun_behavior_event *ev) {
    run_out *out = ctx;
    assert_false(out->done);
    if (ev->type == FLOE_STUN_BEHAVIOR_EV_TEST) {
        assert_true(out->n_test_events < FLOE_STUN_BT_COUNT);
        assert_true(ev->result.steps[ev->test].ran);
        out->order[out->n_test_events++] = ev->test;
        return;
    }
    assert_int_equal(ev->type, FLOE_STUN_BEHAVIOR_EV_DONE);
    floe_stun_behavior *b = floe_sim_stun_behavior_core(d);
    assert_true(floe_stun_behavior_done(b));
    assert_int_equal(floe_stun_behavior_deadline(b), FLOE_TIME_NEVER);
    out->res = ev->result;
    assert_memory_equal(&out->res, floe_stun_behavior_result_get(b), sizeof out->res);
    out->took = now - T0;
    const floe_stun_client_stats *st = floe_stun_behavior_stats(b);
    assert_int_equal(st->rx, st->rx_matched + st->drop_malformed + st->drop_not_response +
                                 st->drop_unmatched);
    out->done = true;
}

static run_out run_discovery(lab *L, bool give_local) {
    floe_stun_behavior_config cfg;
    floe_stun_behavior_config_default(&cfg);
    cfg.server = L->primary;
    if (give_local) cfg.local = L->inside;
    floe_sim_stun_behavior *d;
    assert_int_equal(floe_sim_stun_behavior_new(L->client, &L->inside, &cfg, &d), FLOE_OK);
    run_out out;
    memset(&out, 0, sizeof out);
    floe_sim_stun_behavior_set_callback(d, on_event, &out);
    assert_int_equal(floe_sim_stun_behavior_start(d), FLOE_OK);
    assert_int_equal(floe_sim_stun_behavior_start(d), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_run_until_idle(L->sim, T0 + FLOE_S(60)), FLOE_OK);
    assert_true(out.done);
    assert_memory_equal(&out.res, floe_sim_stun_behavior_result(d), sizeof out.res);
    out.n_requests = floe_sim_endpoint_stats_get(floe_sim_stun_behavior_endpoint(d))->tx;
    floe_sim_stun_behavior_free(d);
    return out;
}

/* ---- the nine NAT types ------------------------------------------------------------ */

static const floe_nat_behavior kinds[] = {FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT,
                                          FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT};

static void test_all_nine_nat_types(void **state) {
    (void)state;
    for (size_t mi = 0; mi < 3; mi++) {
        for (size_t fi = 0; fi < 3; fi++) {
            lab L;
            lab_init(&L, true, kinds[mi], kinds[fi], true, false);
            run_out o = run_discovery(&L, true);
            const floe_stun_behavior_result *r = &o.res;
            print_message("mapping %-27s filtering %-27s -> %s / %s in %.1f s\n",
                          floe_nat_behavior_name(kinds[mi]), floe_nat_behavior_name(kinds[fi]),
                          floe_nat_behavior_name(r->mapping), floe_nat_behavior_name(r->filtering),
                          (double)o.took / 1e9);
            assert_int_equal(r->status, FLOE_STUN_BEHAVIOR_OK);
            assert_int_equal(r->mapping, kinds[mi]);
            assert_int_equal(r->filtering, kinds[fi]);
            assert_true(r->nat_known);
            assert_true(r->nat);
            assert_false(r->server_ignored_change);
            floe_addr first = addr("203.0.113.1:40000");
            assert_true(floe_addr_equal(&r->mapped, &first));
            assert_true(floe_addr_equal(&r->other, &L.alternate));
            assert_true(floe_addr_equal(&r->origin, &L.primary));
            assert_true(floe_addr_equal(&r->server, &L.primary));
            assert_true(floe_addr_equal(&r->local, &L.inside));

            /* Filtering tests first, then mapping (see the header). */
            assert_int_equal(o.order[0], FLOE_STUN_BT_I);
            assert_int_equal(o.order[1], FLOE_STUN_BT_FILTER_II);
            size_t k = 2;
            if (kinds[fi] != FLOE_NAT_ENDPOINT_INDEPENDENT)
                assert_int_equal(o.order[k++], FLOE_STUN_BT_FILTER_III);
            assert_int_equal(o.order[k++], FLOE_STUN_BT_MAP_II);
            if (kinds[mi] != FLOE_NAT_ENDPOINT_INDEPENDENT)
                assert_int_equal(o.order[k++], FLOE_STUN_BT_MAP_III);
            assert_int_equal(o.n_test_events, k);

            /* Steps: destinations and flags as RFC 5780 §4.3/§4.4 say. */
            const floe_stun_behavior_step *s = r->steps;
            assert_true(floe_addr_equal(&s[FLOE_STUN_BT_I].dest, &L.primary));
            assert_int_equal(s[FLOE_STUN_BT_FILTER_II].change,
                             FLOE_STUN_CHANGE_IP | FLOE_STUN_CHANGE_PORT);
            assert_true(floe_addr_equal(&s[FLOE_STUN_BT_FILTER_II].dest, &L.primary));
            floe_addr alt_ip_primary_port = addr("192.0.2.2:3478");
            assert_true(floe_addr_equal(&s[FLOE_STUN_BT_MAP_II].dest, &alt_ip_primary_port));
            assert_int_equal(s[FLOE_STUN_BT_MAP_II].change, 0);
            if (kinds[fi] == FLOE_NAT_ENDPOINT_INDEPENDENT) {
                assert_int_equal(s[FLOE_STUN_BT_FILTER_II].outcome, FLOE_STUN_CLIENT_EV_SUCCESS);
                assert_true(floe_addr_equal(&s[FLOE_STUN_BT_FILTER_II].from, &L.alternate));
                assert_false(s[FLOE_STUN_BT_FILTER_III].ran);
            } else {
                assert_int_equal(s[FLOE_STUN_BT_FILTER_II].outcome, FLOE_STUN_CLIENT_EV_TIMEOUT);
                assert_int_equal(s[FLOE_STUN_BT_FILTER_II].requests, FLOE_STUN_BEHAVIOR_RC);
                assert_int_equal(s[FLOE_STUN_BT_FILTER_III].change, FLOE_STUN_CHANGE_PORT);
            }
            if (kinds[mi] == FLOE_NAT_ENDPOINT_INDEPENDENT) {
                assert_true(floe_addr_equal(&s[FLOE_STUN_BT_MAP_II].mapped, &first));
                assert_false(s[FLOE_STUN_BT_MAP_III].ran);
            } else {
                assert_false(floe_addr_equal(&s[FLOE_STUN_BT_MAP_II].mapped, &first));
                assert_true(floe_addr_equal(&s[FLOE_STUN_BT_MAP_III].dest, &L.alternate));
            }
            /* Time: one RTT per answered test, 1.1 s per silent filtering test. */
            floe_time_ns rtt = 2 * FLOE_MS(15); /* across the Internet and back */
            unsigned answered = (unsigned)o.n_test_events, silent = 0;
            if (kinds[fi] == FLOE_NAT_ADDRESS_DEPENDENT) silent = 1;
            if (kinds[fi] == FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT) silent = 2;
            answered -= silent;
            assert_int_equal(o.took, answered * rtt + silent * FLOE_MS(1100));
            lab_free(&L);
        }
    }
}

static void test_no_nat(void **state) {
    (void)state;
    lab L;
    lab_init(&L, false, FLOE_NAT_UNKNOWN, FLOE_NAT_ENDPOINT_INDEPENDENT, true, false);
    run_out o = run_discovery(&L, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_true(o.res.nat_known);
    assert_false(o.res.nat);
    assert_true(floe_addr_equal(&o.res.mapped, &L.inside));
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ENDPOINT_INDEPENDENT);
    /* Without a NAT the mapping tests are not needed (RFC 5780 §4.3). */
    assert_int_equal(o.n_test_events, 2);
    assert_false(o.res.steps[FLOE_STUN_BT_MAP_II].ran);
    lab_free(&L);
}

static void test_firewall_without_nat(void **state) {
    (void)state;
    lab L;
    lab_init(&L, false, FLOE_NAT_UNKNOWN, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT, true, false);
    run_out o = run_discovery(&L, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_false(o.res.nat);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT);
    assert_int_equal(floe_sim_host_counter(L.box, FLOE_SIM_DROP_NAT_FILTERED),
                     2 * FLOE_STUN_BEHAVIOR_RC);
    lab_free(&L);
}

static void test_local_unknown(void **state) {
    (void)state;
    /* No local address given: no NAT verdict, but the mapping tests still run. */
    lab L;
    lab_init(&L, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT, true, false);
    run_out o = run_discovery(&L, false);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_false(o.res.nat_known);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ADDRESS_DEPENDENT);
    assert_true(o.res.steps[FLOE_STUN_BT_MAP_II].ran);
    lab_free(&L);

    /* Nor without NAT: the mapping tests then find endpoint-independent. */
    lab_init(&L, false, FLOE_NAT_UNKNOWN, FLOE_NAT_ENDPOINT_INDEPENDENT, true, false);
    o = run_discovery(&L, false);
    assert_false(o.res.nat_known);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_true(o.res.steps[FLOE_STUN_BT_MAP_II].ran);
    lab_free(&L);
}

static void test_loss_is_retransmitted(void **state) {
    (void)state;
    /* Test I's first request is lost; so are the first two answers to filtering test III.
     * The Internet is cut when they cross it: test I's copies leave at 0 and 100 ms, the
     * first arriving at the server at 15 ms; the second is answered at 130 ms, when
     * filtering test II starts; the NAT filters all its answers, so it gives up at
     * 1.23 s, and filtering test III sends at 1.23, 1.33 and 1.53 s, its answers
     * reaching the NAT at 1.26, 1.36 and 1.56 s. The third copy gets through, so the
     * verdict holds. */
    lab L;
    lab_init(&L, true, FLOE_NAT_ADDRESS_DEPENDENT, FLOE_NAT_ADDRESS_DEPENDENT, true, false);
    lose_arrival(&L, T0 + FLOE_MS(15));
    lose_arrival(&L, T0 + FLOE_MS(1260));
    lose_arrival(&L, T0 + FLOE_MS(1360));
    run_out o = run_discovery(&L, true);
    assert_int_equal(floe_sim_counter_get(L.sim, FLOE_SIM_DROP_PARTITION), 3);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_int_equal(o.res.mapping, FLOE_NAT_ADDRESS_DEPENDENT);
    assert_int_equal(o.res.filtering, FLOE_NAT_ADDRESS_DEPENDENT);
    assert_int_equal(o.res.steps[FLOE_STUN_BT_I].requests, 2);
    assert_int_equal(o.res.steps[FLOE_STUN_BT_FILTER_III].requests, 3);
    assert_int_equal(o.res.steps[FLOE_STUN_BT_FILTER_III].outcome, FLOE_STUN_CLIENT_EV_SUCCESS);
    lab_free(&L);
}

static void test_no_response(void **state) {
    (void)state;
    lab L;
    lab_init(&L, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT, true, false);
    floe_sim_link l = *floe_sim_network_link(L.internet); /* the Internet drops everything */
    l.partitioned = true;
    assert_int_equal(floe_sim_network_set_link(L.internet, &l), FLOE_OK);
    run_out o = run_discovery(&L, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_NO_RESPONSE);
    assert_int_equal(o.res.failed_test, FLOE_STUN_BT_I);
    assert_int_equal(o.res.err, FLOE_ERR_TIMEOUT);
    assert_int_equal(o.res.mapping, FLOE_NAT_UNKNOWN);
    assert_false(o.res.nat_known);
    assert_int_equal(o.took, FLOE_MS(1100));
    assert_int_equal(o.n_requests, FLOE_STUN_BEHAVIOR_RC);
    lab_free(&L);
}

static void test_server_without_rfc5780(void **state) {
    (void)state;
    lab L;
    lab_init(&L, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT, false, false);
    run_out o = run_discovery(&L, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_UNSUPPORTED);
    assert_string_equal(floe_stun_behavior_status_name(o.res.status), "unsupported");
    assert_true(o.res.nat_known);
    assert_true(o.res.nat); /* test I still says a NAT is there */
    assert_int_equal(o.res.other.family, FLOE_AF_NONE);
    assert_int_equal(o.n_test_events, 1);
    lab_free(&L);
}

static void test_alternate_unreachable(void **state) {
    (void)state;
    lab L;
    lab_init(&L, true, FLOE_NAT_ADDRESS_DEPENDENT, FLOE_NAT_ENDPOINT_INDEPENDENT, true, true);
    run_out o = run_discovery(&L, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_INCOMPLETE);
    assert_int_equal(o.res.failed_test, FLOE_STUN_BT_MAP_II);
    /* Every copy of mapping test II was lost at the firewall. */
    floe_sim_host *altfw = floe_sim_host_find(L.sim, "altfw");
    assert_int_equal(floe_sim_host_counter(altfw, FLOE_SIM_DROP_NAT_NO_MAPPING),
                     FLOE_STUN_BEHAVIOR_RC);
    assert_int_equal(o.res.filtering, FLOE_NAT_ENDPOINT_INDEPENDENT);
    assert_int_equal(o.res.mapping, FLOE_NAT_UNKNOWN);
    lab_free(&L);
}

static void test_server_ignores_change_request(void **state) {
    (void)state;
    lab L;
    lab_init(&L, true, FLOE_NAT_ENDPOINT_INDEPENDENT, FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT, true,
             false);
    floe_sim_stun_server_set_ignore_change(L.srv, true);
    run_out o = run_discovery(&L, true);
    assert_int_equal(o.res.status, FLOE_STUN_BEHAVIOR_OK);
    assert_true(o.res.server_ignored_change);
    assert_int_equal(o.res.filtering, FLOE_NAT_UNKNOWN);
    assert_int_equal(o.res.mapping, FLOE_NAT_ENDPOINT_INDEPENDENT);
    lab_free(&L);
}

static void test_state_machine(void **state) {
    (void)state;
    typedef struct {
        floe_stun_behavior_state from;
        floe_stun_behavior_input in;
        bool mapping;
        floe_stun_behavior_state to;
    } tr;
    static const tr table[] = {
        {FLOE_STUN_BS_IDLE, FLOE_STUN_BI_START, true, FLOE_STUN_BS_TEST_I},
        {FLOE_STUN_BS_IDLE, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_IDLE},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_ANSWER_SAME, false, FLOE_STUN_BS_FILTER_II},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_ANSWER_OTHER, true, FLOE_STUN_BS_FILTER_II},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_TEST_I, FLOE_STUN_BI_START, true, FLOE_STUN_BS_TEST_I},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_MAP_II},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_ANSWER_SAME, false, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_FILTER_III},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_SILENCE, false, FLOE_STUN_BS_FILTER_III},
        {FLOE_STUN_BS_FILTER_II, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_MAP_II},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_MAP_II},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_SILENCE, false, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_FILTER_III, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_ANSWER_OTHER, true, FLOE_STUN_BS_MAP_III},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_II, FLOE_STUN_BI_FAILURE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_III, FLOE_STUN_BI_ANSWER_OTHER, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_MAP_III, FLOE_STUN_BI_SILENCE, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_DONE, FLOE_STUN_BI_START, true, FLOE_STUN_BS_DONE},
        {FLOE_STUN_BS_DONE, FLOE_STUN_BI_ANSWER_SAME, true, FLOE_STUN_BS_DONE},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(
            floe_stun_behavior_next_state(table[i].from, table[i].in, table[i].mapping),
            table[i].to);
}

static void test_names_and_config(void **state) {
    (void)state;
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_ENDPOINT_INDEPENDENT),
                        "endpoint-independent");
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_ADDRESS_DEPENDENT), "address-dependent");
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_ADDRESS_AND_PORT_DEPENDENT),
                        "address-and-port-dependent");
    assert_string_equal(floe_nat_behavior_name(FLOE_NAT_UNKNOWN), "unknown");
    assert_string_equal(floe_stun_behavior_test_name(FLOE_STUN_BT_FILTER_III),
                        "filtering test III");
    assert_string_equal(floe_stun_behavior_status_name(FLOE_STUN_BEHAVIOR_NO_RESPONSE),
                        "no response");

    floe_stun_behavior_config cfg;
    floe_stun_behavior_config_default(&cfg);
    assert_int_equal(cfg.timing[FLOE_STUN_BT_FILTER_II].rto, FLOE_MS(100));
    assert_int_equal(cfg.timing[FLOE_STUN_BT_I].max_requests, FLOE_STUN_BEHAVIOR_RC);
    static floe_stun_behavior b;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL); /* no rand */
    cfg.rand = counting_rand;
    cfg.rand_ctx = &seed;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL); /* no server */
    cfg.server = addr("192.0.2.1:3478");
    cfg.local = addr("[2001:db8::1]:5000");
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL); /* families differ */
    cfg.local = addr("10.0.0.2:5000");
    cfg.timing[FLOE_STUN_BT_MAP_III].max_requests = FLOE_STUN_RC + 1;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_ERR_INVAL);
    cfg.timing[FLOE_STUN_BT_MAP_III].max_requests = 0;
    assert_int_equal(floe_stun_behavior_init(&b, &cfg), FLOE_OK);
    assert_false(floe_stun_behavior_done(&b));
    assert_int_equal(floe_stun_behavior_deadline(&b), FLOE_TIME_NEVER);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_nine_nat_types),
        cmocka_unit_test(test_no_nat),
        cmocka_unit_test(test_firewall_without_nat),
        cmocka_unit_test(test_local_unknown),
        cmocka_unit_test(test_loss_is_retransmitted),
        cmocka_unit_test(test_no_response),
        cmocka_unit_test(test_server_without_rfc5780),
        cmocka_unit_test(test_alternate_unreachable),
        cmocka_unit_test(test_server_ignores_change_request),
        cmocka_unit_test(test_state_machine),
        cmocka_unit_test(test_names_and_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
