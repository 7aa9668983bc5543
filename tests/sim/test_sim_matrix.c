/* The NAT matrix (rt/sim/sim_matrix.h): each side behind each RFC 4787 NAT type or none,
 * plus carrier-grade NAT, two peers behind one NAT, hairpinning on and off and blocked
 * UDP, at 0 % and 10 % loss, with the fixed seed. Every cell must get the outcome its
 * rule derives, within its time bound, with alice's datagrams echoed when connected.
 * `floe sim matrix` prints the same cells as a table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/err.h"
#include "sim_ice_scenario.h"
#include "sim_matrix.h"

static floe_sim_matrix_cell *all_cells(size_t *n) {
    *n = floe_sim_matrix_count();
    floe_sim_matrix_cell *c = calloc(*n, sizeof *c);
    assert_non_null(c);
    assert_int_equal(floe_sim_matrix_cells(c, *n), *n);
    return c;
}

static const floe_sim_matrix_cell *find(const floe_sim_matrix_cell *c, size_t n, const char *a,
                                        const char *b, unsigned loss) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(c[i].a_name, a) && !strcmp(c[i].b_name, b) && c[i].loss_pct == loss)
            return &c[i];
    fail_msg("no cell %s %s %u%%", a, b, loss);
    return NULL;
}

static void expect_pair(const floe_sim_matrix_cell *c, floe_ice_cand_type l, floe_ice_cand_type r) {
    assert_true(c->expect.connect);
    assert_int_equal(c->expect.local, l);
    assert_int_equal(c->expect.remote, r);
}

/* The table: ten sides squared plus ten extra cells, five relay cells and five TCP relay
 * cells, at two loss levels; every cell has a reason and a bound; and the rule says what the
 * literature says for the classic pairs (these are checks of the rule's cases, not of a run). */
static void test_cells_and_rule(void **state) {
    (void)state;
    size_t n;
    floe_sim_matrix_cell *c = all_cells(&n);
    assert_int_equal(n, 2 * (10 * 10 + 10) + 2 * 5 + 2 * 5);
    /* The relay cells come after the others, then the TCP ones, so that every older cell
     * keeps its number (and seed). */
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].turn, i >= 220);
        assert_int_equal(c[i].turn_tcp, i >= 230);
    }
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c[i].index, i + 1);
        assert_non_null(c[i].expect.why);
        assert_true(c[i].expect.bound > 0);
        assert_true(c[i].loss_pct == 0 || c[i].loss_pct == 10);
    }
    const floe_ice_cand_type H = FLOE_ICE_CAND_HOST, S = FLOE_ICE_CAND_SRFLX,
                             P = FLOE_ICE_CAND_PRFLX;
    expect_pair(find(c, n, "none", "none", 0), H, H);
    expect_pair(find(c, n, "eim-eif", "eim-eif", 0), S, S);    /* full cones */
    expect_pair(find(c, n, "eim-apdf", "eim-apdf", 0), S, S);  /* port-restricted */
    expect_pair(find(c, n, "apdm-apdf", "eim-eif", 0), P, S);  /* symmetric, full cone */
    expect_pair(find(c, n, "eim-adf", "apdm-apdf", 10), S, P); /* restricted, symmetric */
    expect_pair(find(c, n, "none", "apdm-apdf", 0), H, P);     /* public, symmetric */
    expect_pair(find(c, n, "adm-eif", "apdm-adf", 0), P, P);   /* case 5 */
    assert_false(find(c, n, "eim-apdf", "apdm-apdf", 0)->expect.connect); /* the classic */
    assert_false(find(c, n, "apdm-eif", "apdm-eif", 0)->expect.connect);  /* apdm both */
    assert_false(find(c, n, "adm-adf", "adm-adf", 0)->expect.connect);    /* no eif */
    expect_pair(find(c, n, "cgnat", "cgnat", 0), S, S);
    assert_false(find(c, n, "cgnat", "apdm-apdf", 0)->expect.connect);
    expect_pair(find(c, n, "same-lan", "hairpin-off", 0), H, H);
    expect_pair(find(c, n, "same-cgn", "hairpin-on", 0), S, S);
    assert_false(find(c, n, "same-cgn", "hairpin-off", 0)->expect.connect);
    assert_false(find(c, n, "udp-blocked", "eim-apdf", 10)->expect.connect);
    assert_false(find(c, n, "eim-apdf", "udp-blocked", 0)->expect.connect);
    /* Case 11: the relay connects what nothing else does, and only that. */
    for (unsigned loss = 0; loss <= 10; loss += 10) {
        assert_true(find(c, n, "apdm-apdf", "apdm-apdf+turn", loss)->expect.relay);
        assert_true(find(c, n, "apdm-apdf", "eim-apdf+turn", loss)->expect.relay);
        assert_true(find(c, n, "cgnat", "apdm-apdf+turn", loss)->expect.relay);
        const floe_sim_matrix_cell *direct = find(c, n, "none", "none+turn", loss);
        assert_false(direct->expect.relay);
        expect_pair(direct, H, H);
        assert_false(find(c, n, "udp-blocked", "eim-apdf+turn", loss)->expect.connect);
    }
    /* Case 12: over TCP the relay gets through a firewall that blocks UDP, on one side or
     * both, and still connects two symmetric NATs. */
    for (unsigned loss = 0; loss <= 10; loss += 10) {
        static const char *const pairs[][2] = {{"udp-blocked", "eim-apdf+turn-tcp"},
                                               {"udp-blocked", "udp-blocked+turn-tcp"},
                                               {"apdm-apdf", "udp-blocked+turn-tcp"},
                                               {"cgnat", "udp-blocked+turn-tcp"},
                                               {"apdm-apdf", "apdm-apdf+turn-tcp"}};
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            const floe_sim_matrix_cell *t = find(c, n, pairs[k][0], pairs[k][1], loss);
            assert_true(t->expect.connect);
            assert_true(t->expect.relay);
            assert_false(t->expect.or_relay);
        }
    }
    /* ... unless the allocation a blocked side needs was not made (a fact of the run), or
     * neither side has one where nothing else connects; one relay on a side that is not
     * blocked is enough. */
    floe_sim_matrix_cell y = *find(c, n, "udp-blocked", "eim-apdf+turn-tcp", 10);
    y.a_relay_lost = true;
    floe_sim_matrix_rule(&y, &y.expect);
    assert_false(y.expect.connect);
    y.a_relay_lost = false;
    y.b_relay_lost = true;
    floe_sim_matrix_rule(&y, &y.expect);
    assert_true(y.expect.connect && y.expect.relay);
    y = *find(c, n, "apdm-apdf", "apdm-apdf+turn-tcp", 10);
    floe_time_ns plain_bound = y.expect.bound;
    y.b_relay_lost = true;
    floe_sim_matrix_rule(&y, &y.expect);
    assert_true(y.expect.connect && y.expect.relay);
    assert_true(y.expect.bound > plain_bound); /* gathering waited for the give-up */
    y.a_relay_lost = true;
    floe_sim_matrix_rule(&y, &y.expect);
    assert_false(y.expect.connect);

    /* Case 10: a side without its srflx candidate is prflx, and can only open the way
     * itself: a full cone lets it in, a port-restricted NAT does not. */
    floe_sim_matrix_cell x = *find(c, n, "eim-apdf", "eim-eif", 10);
    x.a_srflx_lost = true;
    floe_sim_matrix_rule(&x, &x.expect);
    expect_pair(&x, P, S);
    x = *find(c, n, "eim-eif", "eim-apdf", 10);
    x.a_srflx_lost = true;
    floe_sim_matrix_rule(&x, &x.expect);
    assert_false(x.expect.connect);
    x.a_srflx_lost = false;
    x.b_srflx_lost = true;
    floe_sim_matrix_rule(&x, &x.expect);
    expect_pair(&x, S, P);
    x.a_srflx_lost = true;
    floe_sim_matrix_rule(&x, &x.expect);
    assert_false(x.expect.connect);
    free(c);
}

/* Each cell's scenario is a valid scenario of floe sim run, with its expect line. */
static void test_scenarios_load(void **state) {
    (void)state;
    size_t n;
    floe_sim_matrix_cell *c = all_cells(&n);
    for (size_t i = 0; i < n; i++) {
        char text[FLOE_SIM_MATRIX_SCENARIO_MAX], err[256];
        size_t len = floe_sim_matrix_scenario(&c[i], FLOE_SIM_MATRIX_SEED, text, sizeof text);
        assert_true(len > 0);
        assert_non_null(strstr(text, "expect alice bob outcome="));
        floe_sim_ice_scenario *s;
        assert_int_equal(floe_sim_ice_scenario_new(&s), FLOE_OK);
        int rc = floe_sim_ice_scenario_parse(s, text, "cell", err, sizeof err);
        if (rc != FLOE_OK) fail_msg("cell %u: %s", c[i].index, err);
        assert_int_equal(floe_sim_ice_scenario_expect_count(s), 1);
        floe_sim_ice_scenario_free(s);
    }
    free(c);
}

static void run_level(unsigned loss) {
    size_t n, ran = 0, missed = 0;
    floe_sim_matrix_cell *c = all_cells(&n);
    for (size_t i = 0; i < n; i++) {
        if (c[i].loss_pct != loss) continue;
        floe_sim_matrix_result r;
        int rc = floe_sim_matrix_run(&c[i], FLOE_SIM_MATRIX_SEED, &r);
        ran++;
        if (rc != FLOE_OK || !r.ok) {
            missed++;
            print_message("cell %u %s vs %s, %u%% loss: expected %s, got %s: %s\n", c[i].index,
                          c[i].a_name, c[i].b_name, loss, r.expected, r.got,
                          rc != FLOE_OK ? floe_strerror(rc) : r.why);
        }
        /* A run that connected carried data. */
        if (rc == FLOE_OK && r.expect.connect && r.ok) assert_true(r.echoes >= 1);
    }
    assert_int_equal(ran, n / 2);
    assert_int_equal(missed, 0);
    free(c);
}

static void test_matrix_no_loss(void **state) {
    (void)state;
    run_level(0);
}

static void test_matrix_10_percent_loss(void **state) {
    (void)state;
    run_level(10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells_and_rule),
        cmocka_unit_test(test_scenarios_load),
        cmocka_unit_test(test_matrix_no_loss),
        cmocka_unit_test(test_matrix_10_percent_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
