/* ICE peers in the simulator (rt/sim/sim_ice.h) and the scenario directives that make
 * them (rt/sim/sim_ice_scenario.h): a session on one network, the timeline, the results
 * and their output, determinism under a seed, every directive error with its file and
 * line, and two agent behaviours the NAT matrix found (both peers behind apdm NATs must
 * fail in bounded time, whatever the losses). Then the `stun` and `discover` directives
 * and the STUN runtimes under them (rt/sim/sim_stun.h). Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim.h"
#include "sim_ice.h"
#include "sim_ice_scenario.h"
#include "sim_matrix.h"
#include "sim_stun.h"

static const char two_hosts[] = "network internet delay=20ms\n"
                                "host stun net=internet ip=192.0.2.1\n"
                                "host a net=internet ip=198.51.100.10\n"
                                "host b net=internet ip=203.0.113.10\n"
                                "stun-server stun host=stun\n"
                                "ice alice host=a stun=stun data=5\n"
                                "ice bob host=b stun=stun\n"
                                "signal alice bob delay=100ms\n"
                                "expect alice bob outcome=host/host within=1s echoes=5\n";

static floe_sim_ice_scenario *load_text(const char *text) {
    floe_sim_ice_scenario *s;
    char err[256];
    assert_int_equal(floe_sim_ice_scenario_new(&s), FLOE_OK);
    int rc = floe_sim_ice_scenario_parse(s, text, "t.sim", err, sizeof err);
    if (rc != FLOE_OK) fail_msg("%s", err);
    return s;
}

static void prepare(floe_sim_ice_scenario *s) {
    char err[256];
    int rc = floe_sim_ice_scenario_prepare(s, err, sizeof err);
    if (rc != FLOE_OK) fail_msg("%s", err);
}

typedef struct log_count {
    size_t n;
    floe_sim_ice_what last;
    floe_time_ns last_at;
    bool ordered;
} log_count;

static void on_log(void *ctx, const floe_sim_ice *p, const floe_sim_ice_entry *e) {
    log_count *l = ctx;
    char line[256];
    assert_true(floe_sim_ice_entry_format(p, e, line, sizeof line) > 0);
    assert_non_null(strstr(line, floe_sim_ice_name(p)));
    if (l->n && e->at < l->last_at) l->ordered = false;
    l->n++;
    l->last = e->what;
    l->last_at = e->at;
}

static char *capture(const floe_sim_ice_scenario *s, int what) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (what == 0) floe_sim_ice_scenario_print(s, f, FLOE_SIM_ICE_PRINT_STATS);
    if (what == 1) floe_sim_ice_scenario_print_json(s, f, FLOE_SIM_ICE_PRINT_STATS);
    if (what == 2) floe_sim_ice_scenario_print_topology(s, f);
    fclose(f);
    return buf;
}

/* Two public hosts: host/host, with the timeline, the results and the data. */
static void test_session(void **state) {
    (void)state;
    floe_sim_ice_scenario *s = load_text(two_hosts);
    log_count lc = {0, 0, 0, true};
    floe_sim_ice_scenario_set_log(s, on_log, &lc);
    prepare(s);
    assert_int_equal(floe_sim_ice_scenario_run(s, FLOE_TIME_NEVER), FLOE_OK);
    assert_true(lc.n > 10);
    assert_true(lc.ordered);

    floe_sim_ice *a = floe_sim_ice_scenario_peer(s, "alice");
    floe_sim_ice *b = floe_sim_ice_scenario_peer(s, "bob");
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_equal(floe_sim_ice_peer(a), b);
    assert_true(floe_sim_ice_is_offerer(a));
    assert_false(floe_sim_ice_is_offerer(b));
    assert_true(floe_sim_ice_done(a) && floe_sim_ice_done(b));
    const floe_sim_ice_result *ra = floe_sim_ice_result_get(a);
    const floe_sim_ice_result *rb = floe_sim_ice_result_get(b);
    assert_int_equal(ra->state, FLOE_ICE_AGENT_COMPLETED);
    assert_true(ra->controlling);
    assert_false(rb->controlling); /* no role=: the answerer is controlled */
    assert_true(ra->have_sel[1]);
    assert_int_equal(ra->sel_local[1].type, FLOE_ICE_CAND_HOST);
    assert_int_equal(ra->sel_remote[1].type, FLOE_ICE_CAND_HOST);
    assert_int_equal(ra->data_sent, 5);
    assert_int_equal(ra->echoes, 5);
    assert_int_equal(rb->echoed, 5);
    assert_int_equal(ra->n_srflx, 0); /* a public host's srflx is its host address */
    /* The offer leaves when gathering is done, the answer after the offer arrived, and
     * each side starts checking once it has sent its own description. */
    assert_true(ra->t_gathered <= ra->t_sdp_sent);
    assert_int_equal(rb->t_remote, ra->t_sdp_sent + FLOE_MS(100));
    assert_int_equal(ra->t_remote, rb->t_sdp_sent + FLOE_MS(100));
    assert_true(ra->t_completed < FLOE_S(1));
    assert_string_equal(floe_sim_ice_local_sdp(a) + 0, floe_sim_ice_local_sdp(a));
    assert_non_null(strstr(floe_sim_ice_local_sdp(a), "a=ice-ufrag:"));
    assert_non_null(strstr(floe_sim_ice_local_sdp(b), "a=candidate:"));

    /* The timeline: gathering first, the selection, completion, the data. */
    size_t n = floe_sim_ice_timeline_count(a);
    assert_true(n >= 6);
    assert_int_equal(floe_sim_ice_timeline_at(a, 0)->what, FLOE_SIM_ICE_GATHER);
    bool selected = false, completed = false;
    for (size_t i = 0; i < n; i++) {
        const floe_sim_ice_entry *e = floe_sim_ice_timeline_at(a, i);
        if (e->what == FLOE_SIM_ICE_SELECTED) selected = true;
        if (e->what == FLOE_SIM_ICE_COMPLETED) completed = selected;
    }
    assert_true(completed);
    assert_null(floe_sim_ice_timeline_at(a, n));

    floe_sim_ice_session ss;
    assert_int_equal(floe_sim_ice_scenario_session(s, a, &ss), FLOE_OK);
    assert_int_equal(ss.outcome, FLOE_SIM_ICE_CONNECTED);
    assert_string_equal(ss.pair, "host/host");
    assert_true(ss.consistent);
    assert_true(ss.checks_a >= 1);
    assert_int_equal(floe_sim_ice_scenario_expect_count(s), 1);
    assert_int_equal(floe_sim_ice_scenario_failed_expectations(s), 0);
    floe_sim_ice_verdict v;
    assert_int_equal(floe_sim_ice_scenario_expect(s, 0, &v), FLOE_OK);
    assert_true(v.ok);
    assert_int_equal(floe_sim_ice_scenario_expect(s, 1, &v), FLOE_ERR_NOT_FOUND);

    char *text = capture(s, 0);
    assert_non_null(strstr(text, "session alice -> bob: connected host/host"));
    assert_non_null(strstr(text, ": ok (host/host in "));
    assert_non_null(strstr(text, "checks_sent"));
    free(text);
    text = capture(s, 1);
    assert_memory_equal(text, "{\"seed\":0,", 10);
    assert_non_null(strstr(text, "\"outcome\":\"connected\",\"pair\":\"host/host\""));
    assert_non_null(strstr(text, "\"ok\":true"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    text = capture(s, 2);
    assert_non_null(
        strstr(text, "ice alice: on a, controlling (offerer), 1 component(s), stun stun"));
    assert_non_null(strstr(text, "signal alice -> bob: delay 100ms"));
    assert_non_null(strstr(text, "stun-server stun: on stun at 192.0.2.1:3478"));
    free(text);
    floe_sim_ice_scenario_free(s);
}

/* A run is a function of its seed: the same seed the same datagrams, another seed (NAT
 * ports, jitter, credentials) others, and the same outcome. */
static uint64_t run_hash(const char *text, uint64_t seed, char *pair, size_t cap) {
    floe_sim_ice_scenario *s = load_text(text);
    assert_int_equal(floe_sim_reseed(floe_sim_ice_scenario_world(s), seed), FLOE_OK);
    prepare(s);
    assert_int_equal(floe_sim_ice_scenario_run(s, FLOE_TIME_NEVER), FLOE_OK);
    floe_sim_ice_session ss;
    floe_sim_ice_scenario_session(s, floe_sim_ice_scenario_peer(s, "alice"), &ss);
    snprintf(pair, cap, "%s", ss.pair);
    uint64_t h = floe_sim_trace_hash(floe_sim_ice_scenario_world(s));
    floe_sim_ice_scenario_free(s);
    return h;
}

static void test_determinism(void **state) {
    (void)state;
    char text[FLOE_SIM_MATRIX_SCENARIO_MAX], p1[64], p2[64], p3[64];
    size_t n = floe_sim_matrix_count();
    floe_sim_matrix_cell *c = calloc(n, sizeof *c);
    assert_non_null(c);
    floe_sim_matrix_cells(c, n);
    const floe_sim_matrix_cell *cell = NULL;
    for (size_t i = 0; i < n && !cell; i++)
        if (!strcmp(c[i].a_name, "apdm-apdf") && !strcmp(c[i].b_name, "eim-eif") &&
            c[i].loss_pct == 10)
            cell = &c[i];
    assert_non_null(cell);
    assert_true(floe_sim_matrix_scenario(cell, 1, text, sizeof text) > 0);
    uint64_t h1 = run_hash(text, 5, p1, sizeof p1);
    uint64_t h2 = run_hash(text, 5, p2, sizeof p2);
    uint64_t h3 = run_hash(text, 6, p3, sizeof p3);
    assert_true(h1 == h2);
    assert_true(h1 != h3);
    assert_string_equal(p1, "prflx/srflx");
    assert_string_equal(p3, "prflx/srflx");
    free(c);
}

/* --until runs exactly to a time, even past completion (consent keeps going). */
static void test_until(void **state) {
    (void)state;
    floe_sim_ice_scenario *s = load_text(two_hosts);
    prepare(s);
    assert_int_equal(floe_sim_ice_scenario_run(s, FLOE_S(12)), FLOE_OK);
    assert_int_equal(floe_sim_now(floe_sim_ice_scenario_world(s)), FLOE_S(12));
    floe_ice_stats st;
    floe_sim_ice_stats(floe_sim_ice_scenario_peer(s, "alice"), &st);
    assert_true(st.consent_checks >= 1); /* RFC 7675: every 4..6 s on the selected pair */
    assert_int_equal(floe_sim_ice_scenario_failed_expectations(s), 0);
    floe_sim_ice_scenario_free(s);
}

/* Every mistake in an ICE directive: one message, "t.sim:LINE: reason". */
static void test_errors(void **state) {
    (void)state;
    static const char base[] = "network internet\n"
                               "network lan\n"
                               "host stun net=internet ip=192.0.2.1\n"
                               "host a net=internet ip=198.51.100.10\n"
                               "host b net=internet ip=203.0.113.10\n"
                               "nat box inside=lan ip=10.0.0.1 outside=internet ip=203.0.113.1\n";
    static const struct {
        const char *lines;
        const char *msg;
    } cases[] = {
        {"stun-server s", "t.sim:7: expected 'stun-server NAME host=HOST"},
        {"stun-server s host=nobody", "t.sim:7: unknown host 'nobody'"},
        {"stun-server s host=box", "t.sim:7: 'box' is a NAT or firewall"},
        {"stun-server s host=stun port=0", "t.sim:7: bad port '0'"},
        {"stun-server s host=stun ip=192.0.2.99", "t.sim:7: host 'stun' has no address 192.0.2.99"},
        {"stun-server s host=stun ip=192.0.2.1:3478", "t.sim:7: bad ip"},
        {"stun-server s host=stun\nstun-server s host=stun",
         "t.sim:8: stun-server 's' declared twice"},
        {"stun-server s host=stun mode=x", "t.sim:7: unknown stun-server option 'mode'"},
        {"stun-server s host=stun\nstun-server t host=stun", "t.sim:8: stun-server 's' already"},
        {"stun-server a/b host=stun", "t.sim:7: bad name 'a/b'"},
        {"ice x", "t.sim:7: expected 'ice NAME host=HOST"},
        {"ice x role=controlled", "t.sim:7: ice 'x' needs host=HOST"},
        {"ice x host=a role=boss", "t.sim:7: bad role 'boss'"},
        {"ice x host=a stun=nosuch", "t.sim:7: unknown STUN server 'nosuch'"},
        {"ice x host=a components=3", "t.sim:7: bad components '3'"},
        {"ice x host=a lite role=controlling", "t.sim:7: an ICE-lite agent is always controlled"},
        {"ice x host=a lite stun=192.0.2.1", "t.sim:7: an ICE-lite agent gathers host"},
        {"ice x host=a ta=1ms", "t.sim:7: bad ta '1ms'"},
        {"ice x host=a start=2h", "t.sim:7: bad start '2h'"},
        {"ice x host=a data=99999", "t.sim:7: bad data '99999'"},
        {"ice x host=a color=red", "t.sim:7: unknown ice option 'color'"},
        {"ice x host=a ufo", "t.sim:7: expected key=value or lite, got 'ufo'"},
        {"ice x host=a\nice x host=b", "t.sim:8: ice peer 'x' declared twice"},
        {"ice x host=box", "t.sim:7: 'box' is a NAT or firewall"},
        {"ice x host=a\nsignal x y", "t.sim:8: unknown ice peer 'y'"},
        {"ice x host=a\nsignal x x", "t.sim:8: a peer cannot signal with itself"},
        {"ice x host=a\nice y host=b\nsignal x y\nsignal y x", "t.sim:10: 'y' already has"},
        {"ice x host=a\nice y host=b\nsignal x y delay=forever", "t.sim:9: bad delay 'forever'"},
        {"ice x host=a\nice y host=b\nsignal x y speed=1",
         "t.sim:9: unknown signal option 'speed'"},
        {"ice x host=a\nice y host=b\nexpect x y outcome=fail",
         "t.sim:9: 'x' and 'y' are not a session"},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x y outcome=maybe",
         "t.sim:10: bad outcome 'maybe'"},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x y outcome=host/magic",
         "t.sim:10: bad outcome"},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x y within=1s",
         "t.sim:10: expect needs outcome="},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x y", "t.sim:10: expected 'expect A B"},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x y outcome=fail echoes=1",
         "t.sim:10: echoes= makes no sense"},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x y outcome=fail within=soon",
         "t.sim:10: bad within 'soon'"},
        {"ice x host=a\nice y host=b\nsignal x y\nexpect x z outcome=fail",
         "t.sim:10: unknown ice peer 'z'"},
        {"stun-server s host=stun alternate=192.0.2.1",
         "t.sim:7: bad alternate '192.0.2.1' (IP[:PORT], another address of host 'stun'"},
        {"stun-server s host=stun alternate=192.0.2.99", "t.sim:7: bad alternate '192.0.2.99'"},
        {"stun-server s host=stun alternate=2001:db8::1", "t.sim:7: bad alternate"},
        {"stun a", "t.sim:7: expected 'stun HOST SERVER'"},
        {"discover a b c", "t.sim:7: expected 'discover HOST SERVER'"},
        {"stun nobody 192.0.2.1", "t.sim:7: unknown host 'nobody'"},
        {"discover box 192.0.2.1", "t.sim:7: 'box' is a NAT or firewall"},
        {"stun a nosuch", "t.sim:7: unknown STUN server 'nosuch'"},
        {"stun-server s host=stun\ndiscover a s",
         "t.sim:8: stun-server 's' has no alternate= address (RFC 5780)"},
        {"stun a [2001:db8::1]:3478", "t.sim:7: host 'a' has no IPv6 address"},
        {"frobnicate now", "t.sim:7: unknown directive 'frobnicate'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[1024], err[256];
        snprintf(text, sizeof text, "%s%s\n", base, cases[i].lines);
        floe_sim_ice_scenario *s;
        assert_int_equal(floe_sim_ice_scenario_new(&s), FLOE_OK);
        int rc = floe_sim_ice_scenario_parse(s, text, "t.sim", err, sizeof err);
        if (rc != FLOE_ERR_CONFIG || strncmp(err, cases[i].msg, strlen(cases[i].msg)) != 0)
            fail_msg("case %zu: got %d '%s', expected '%s'", i, rc, err, cases[i].msg);
        assert_null(strchr(err, '\n'));
        floe_sim_ice_scenario_free(s);
    }
}

/* Behind address-and-port-dependent NATs on both sides, with permissive filters, checks
 * get in both ways but every answer comes back from a new mapping (RFC 8445 section
 * 7.2.5.2.1: the check fails). The agents must still fail, and in bounded time: the
 * pairs that failed that way are not revived by the peer's checks, and the component
 * fails when its last pair fails on such an answer. Twenty seeds at 10 % loss. */
static void test_apdm_storm_ends(void **state) {
    (void)state;
    size_t n = floe_sim_matrix_count();
    floe_sim_matrix_cell *c = calloc(n, sizeof *c);
    assert_non_null(c);
    floe_sim_matrix_cells(c, n);
    static const char *const pairs[][2] = {
        {"apdm-eif", "apdm-eif"}, {"apdm-eif", "apdm-adf"}, {"apdm-adf", "apdm-eif"}};
    for (size_t k = 0; k < 3; k++) {
        const floe_sim_matrix_cell *cell = NULL;
        for (size_t i = 0; i < n && !cell; i++)
            if (!strcmp(c[i].a_name, pairs[k][0]) && !strcmp(c[i].b_name, pairs[k][1]) &&
                c[i].loss_pct == 10)
                cell = &c[i];
        assert_non_null(cell);
        for (uint64_t seed = 1; seed <= 20; seed++) {
            floe_sim_matrix_result r;
            assert_int_equal(floe_sim_matrix_run(cell, seed, &r), FLOE_OK);
            if (!r.ok)
                fail_msg("%s vs %s, seed %llu: %s (%llu checks)", pairs[k][0], pairs[k][1],
                         (unsigned long long)seed, r.why, (unsigned long long)r.checks);
            assert_true(r.checks < 1000);
        }
    }
    free(c);
}

/* The controlling agent goes away (the network is cut) after the controlled one has a
 * valid pair but before any nomination: the controlled agent must not wait forever
 * (FLOE_ICE_CONTROLLED_WAIT after its first valid pair). */
static void test_controlled_waits_bounded(void **state) {
    (void)state;
    floe_sim_ice_scenario *s = load_text("network internet delay=20ms\n"
                                         "host a net=internet ip=198.51.100.10\n"
                                         "host b net=internet ip=203.0.113.10\n"
                                         "ice alice host=a\n"
                                         "ice bob host=b\n"
                                         "signal alice bob delay=100ms\n"
                                         "at 270ms network internet partition=on\n"
                                         "expect alice bob outcome=fail within=25s\n");
    prepare(s);
    assert_int_equal(floe_sim_ice_scenario_run(s, FLOE_TIME_NEVER), FLOE_OK);
    const floe_sim_ice_result *rb = floe_sim_ice_result_get(floe_sim_ice_scenario_peer(s, "bob"));
    assert_int_equal(rb->state, FLOE_ICE_AGENT_FAILED);
    assert_non_null(rb->fail_reason);
    assert_non_null(strstr(rb->fail_reason, "the peer nominated no pair"));
    /* bob's pair became valid one round trip after his checks started (0.1 s). */
    assert_true(rb->t_failed >= FLOE_MS(100) + FLOE_ICE_CONTROLLED_WAIT);
    assert_true(rb->t_failed <= FLOE_MS(200) + FLOE_ICE_CONTROLLED_WAIT);
    assert_int_equal(floe_sim_ice_scenario_failed_expectations(s), 0);
    floe_sim_ice_scenario_free(s);
}

/* `stun` and `discover` lines: a Binding request and RFC 5780 discovery from behind a
 * NAT and from a public host, one to a server that is not there; the text, JSON and
 * topology outputs. */
static void test_stun_directives(void **state) {
    (void)state;
    static const char text[] =
        "network internet delay=15ms\n"
        "network lan delay=1ms\n"
        "host stunhost iface=eth0 net=internet ip=192.0.2.1 iface=eth1 net=internet "
        "ip=192.0.2.2\n"
        "stun-server stun host=stunhost alternate=192.0.2.2\n"
        "nat home type=adm/apdf inside=lan ip=10.0.0.1 outside=internet ip=203.0.113.1\n"
        "host alice net=lan ip=10.0.0.2 gw=10.0.0.1\n"
        "host bob net=internet ip=198.51.100.7\n"
        "stun alice stun\n"
        "discover alice stun\n"
        "discover bob 192.0.2.1\n"
        "stun bob 192.0.2.9\n";
    floe_sim_ice_scenario *s = load_text(text);
    char *topo = capture(s, 2);
    assert_non_null(strstr(topo,
                           "stun-server stun: on stunhost at 192.0.2.1:3478, RFC 5780 alternate "
                           "192.0.2.2:3479\n"));
    assert_non_null(strstr(topo, "stun alice -> stun\ndiscover alice -> stun\n"
                                 "discover bob -> 192.0.2.1:3478\nstun bob -> 192.0.2.9:3478\n"));
    free(topo);
    prepare(s);
    assert_int_equal(floe_sim_ice_scenario_run(s, FLOE_TIME_NEVER), FLOE_OK);
    /* The run ends when the last answer is in: the unanswered request's give-up time. */
    assert_int_equal(floe_sim_now(floe_sim_ice_scenario_world(s)),
                     floe_stun_txn_timeout_total(0, false));
    char *out = capture(s, 0);
    assert_non_null(
        strstr(out, "stun alice -> stun: success, mapped 203.0.113.1:49152, 0.032 s\n"));
    assert_non_null(strstr(out, "discover alice -> stun: ok, mapping address-dependent, filtering "
                                "address-and-port-dependent, behind a NAT, mapped "
                                "203.0.113.1:49153, "));
    assert_non_null(strstr(out, "discover bob -> 192.0.2.1:3478: ok, mapping "
                                "endpoint-independent, filtering endpoint-independent, no NAT, "
                                "mapped 198.51.100.7:49152, 0.060 s\n"));
    assert_non_null(strstr(out, "stun bob -> 192.0.2.9:3478: timeout, 39.500 s\n"));
    free(out);
    char *json = capture(s, 1);
    assert_non_null(strstr(json, ",\"stun\":[{\"host\":\"alice\",\"server\":\"stun\","
                                 "\"outcome\":\"success\",\"mapped\":\"203.0.113.1:49152\","));
    assert_non_null(strstr(json, "{\"host\":\"bob\",\"server\":\"192.0.2.9:3478\","
                                 "\"outcome\":\"timeout\",\"mapped\":null,\"time_s\":39.5"));
    assert_non_null(strstr(json, ",\"discover\":[{\"host\":\"alice\",\"server\":\"stun\","
                                 "\"status\":\"ok\",\"mapping\":\"address-dependent\","
                                 "\"filtering\":\"address-and-port-dependent\",\"nat\":true,"));
    assert_non_null(strstr(json, "\"nat\":false,\"mapped\":\"198.51.100.7:49152\""));
    free(json);
    assert_int_equal(floe_sim_ice_scenario_failed_expectations(s), 0);
    floe_sim_ice_scenario_free(s);
}

/* The API refuses what it cannot do, without crashing. */
static void test_api_errors(void **state) {
    (void)state;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, NULL), FLOE_OK);
    floe_sim_network *net;
    assert_int_equal(floe_sim_network_add(sim, "n", NULL, &net), FLOE_OK);
    floe_sim_host *h;
    assert_int_equal(floe_sim_host_add(sim, "h", &h), FLOE_OK);
    floe_sim_ice_config cfg;
    floe_sim_ice_config_default(&cfg);
    floe_sim_ice *p;
    assert_int_equal(floe_sim_ice_new(sim, &cfg, &p), FLOE_ERR_INVAL); /* no name, host */
    cfg.name = "p";
    cfg.host = h;
    assert_int_equal(floe_sim_ice_new(sim, &cfg, &p), FLOE_ERR_NOT_FOUND); /* no address */
    floe_sim_iface_config ic;
    floe_sim_iface_config_init(&ic, "eth0", net);
    assert_int_equal(floe_addr_parse("192.0.2.7", &ic.ip4), FLOE_OK);
    assert_int_equal(floe_sim_host_add_iface(h, &ic, NULL), FLOE_OK);
    cfg.components = 3;
    assert_int_equal(floe_sim_ice_new(sim, &cfg, &p), FLOE_ERR_INVAL);
    cfg.components = 1;
    cfg.lite = cfg.controlling = true;
    assert_int_equal(floe_sim_ice_new(sim, &cfg, &p), FLOE_ERR_INVAL);
    cfg.lite = false;
    assert_int_equal(floe_sim_ice_new(sim, &cfg, &p), FLOE_OK);
    assert_int_equal(floe_sim_ice_signal(p, p, 0), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_ice_start(p), FLOE_OK);
    assert_int_equal(floe_sim_ice_start(p), FLOE_ERR_STATE);
    /* Alone, it gathers and waits: never done, and the world stays bounded. */
    assert_int_equal(floe_sim_run_until(sim, FLOE_S(5)), FLOE_OK);
    assert_false(floe_sim_ice_done(p));
    assert_true(floe_sim_ice_result_get(p)->t_gathered != FLOE_TIME_NEVER);
    floe_sim_ice_free(p);
    floe_sim_ice_free(NULL);
    floe_sim_free(sim);

    floe_sim_ice_scenario *s = load_text(two_hosts);
    char err[128];
    prepare(s);
    assert_int_equal(floe_sim_ice_scenario_prepare(s, err, sizeof err), FLOE_ERR_STATE);
    floe_sim_ice_scenario_free(s);
    floe_sim_ice_scenario_free(NULL);
}

/* The STUN runtimes refuse what they cannot do, without crashing. */
static void test_stun_runtime_errors(void **state) {
    (void)state;
    floe_sim *sim;
    assert_int_equal(floe_sim_new(&sim, NULL), FLOE_OK);
    char err[128];
    assert_int_equal(floe_sim_scenario_parse(sim, "network n\nhost h net=n ip=192.0.2.7\n", "t",
                                             NULL, err, sizeof err),
                     FLOE_OK);
    floe_sim_host *h = floe_sim_host_find(sim, "h");
    floe_addr bind, other, server;
    assert_int_equal(floe_addr_parse("192.0.2.7:0", &bind), FLOE_OK);
    assert_int_equal(floe_addr_parse("192.0.2.8:5000", &other), FLOE_OK);
    assert_int_equal(floe_addr_parse("192.0.2.1:3478", &server), FLOE_OK);

    floe_stun_client_config cc;
    floe_stun_client_config_default(&cc);
    floe_sim_stun_client *c;
    assert_int_equal(floe_sim_stun_client_new(NULL, &bind, &cc, &c), FLOE_ERR_INVAL);
    assert_null(c);
    assert_int_equal(floe_sim_stun_client_new(h, &other, &cc, &c), FLOE_ERR_INVAL); /* not h's */
    cc.timing.max_requests = FLOE_STUN_RC_MAX + 1;
    assert_int_equal(floe_sim_stun_client_new(h, &bind, &cc, &c), FLOE_ERR_INVAL);
    cc.timing.max_requests = 0;
    assert_int_equal(floe_sim_stun_client_new(h, &bind, &cc, &c), FLOE_OK);
    assert_false(floe_sim_stun_client_done(c));
    assert_int_equal(floe_sim_stun_client_event_get(c)->type, FLOE_STUN_CLIENT_EV_NONE);
    assert_int_equal(floe_sim_stun_client_start(c, NULL), FLOE_ERR_INVAL); /* no server */
    floe_stun_client_request req = {.dest = &server};
    assert_int_equal(floe_sim_stun_client_start(c, &req), FLOE_OK);
    assert_int_equal(floe_sim_stun_client_start(c, &req), FLOE_ERR_STATE);
    /* No route to the server: every copy is refused and counted, the transaction times
     * out by itself and the world goes idle. */
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(60)), FLOE_OK);
    assert_int_equal(floe_sim_stun_client_events(c), 1);
    assert_int_equal(floe_sim_stun_client_event_get(c)->type, FLOE_STUN_CLIENT_EV_TIMEOUT);
    assert_int_equal(floe_sim_endpoint_stats_get(floe_sim_stun_client_endpoint(c))->tx_errors,
                     FLOE_STUN_RC);
    floe_sim_stun_client_free(c);
    floe_sim_stun_client_free(NULL);

    floe_stun_behavior_config bc;
    floe_stun_behavior_config_default(&bc);
    floe_sim_stun_behavior *d;
    assert_int_equal(floe_sim_stun_behavior_new(h, NULL, &bc, &d), FLOE_ERR_INVAL);
    assert_int_equal(floe_sim_stun_behavior_new(h, &bind, &bc, &d), FLOE_ERR_INVAL); /* server */
    bc.server = server;
    bc.local = bind; /* port 0: the socket's port */
    assert_int_equal(floe_sim_stun_behavior_new(h, &bind, &bc, &d), FLOE_OK);
    const floe_stun_behavior *core = floe_sim_stun_behavior_core(d);
    assert_int_equal(
        core->cfg.local.port,
        floe_sim_udp_local(floe_sim_endpoint_socket(floe_sim_stun_behavior_endpoint(d), 0)).port);
    assert_true(core->cfg.local.port != 0);
    assert_false(floe_sim_stun_behavior_done(d));
    assert_int_equal(floe_sim_stun_behavior_done_at(d), FLOE_TIME_NEVER);
    assert_int_equal(floe_sim_stun_behavior_start(d), FLOE_OK);
    assert_int_equal(floe_sim_stun_behavior_start(d), FLOE_ERR_STATE);
    assert_int_equal(floe_sim_run_until_idle(sim, FLOE_S(120)), FLOE_OK);
    assert_true(floe_sim_stun_behavior_done(d));
    assert_int_equal(floe_sim_stun_behavior_result(d)->status, FLOE_STUN_BEHAVIOR_NO_RESPONSE);
    assert_int_equal(floe_sim_stun_behavior_done_at(d), floe_sim_now(sim));
    floe_sim_stun_behavior_free(d);
    floe_sim_stun_behavior_free(NULL);
    floe_sim_free(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_until),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_apdm_storm_ends),
        cmocka_unit_test(test_controlled_waits_bounded),
        cmocka_unit_test(test_api_errors),
        cmocka_unit_test(test_stun_directives),
        cmocka_unit_test(test_stun_runtime_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
