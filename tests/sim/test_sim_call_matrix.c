/* The call matrix (rt/sim/sim_call_matrix.h): a full SIP call (register, INVITE,
 * 183/PRACK, ICE, 180, 200, ACK, tones, BYE) in every cell of the NAT matrix a UDP
 * phone can use, without and with TURN, each judged by the matrix's rule and its call
 * wrapper (docs/simulator.md, "The call matrix"); then 1000 calls at 10 % loss over
 * changing seeds and NAT pairs, none of which may ring without audio both ways or ring
 * before the callee's ICE completed, and every failure clean. Virtual time only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/err.h"
#include "sim_call_matrix.h"
#include "sim_matrix.h"

#define MAX_CELLS 512
#define STORM_CALLS 1000
#define STORM_TALK FLOE_S(1) /* a second of audio: enough to hear both tones */

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static floe_sim_matrix_cell *all_cells(size_t *n) {
    floe_sim_matrix_cell *c = calloc(MAX_CELLS, sizeof *c);
    assert_non_null(c);
    *n = floe_sim_call_matrix_cells(c, MAX_CELLS);
    assert_true(*n > 0 && *n <= MAX_CELLS);
    return c;
}

static const floe_sim_matrix_cell *find(const floe_sim_matrix_cell *c, size_t n, const char *a,
                                        const char *b, unsigned loss) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(c[i].a_name, a) && !strcmp(c[i].b_name, b) && c[i].loss_pct == loss)
            return &c[i];
    fail_msg("no cell %s / %s at %u %%", a, b, loss);
    return NULL;
}

/* The cells: the NAT matrix's cells a UDP phone can use, each without and with TURN, and
 * the rule's answers for a few of them. */
static void test_cells(void **state) {
    (void)state;
    size_t n;
    floe_sim_matrix_cell *c = all_cells(&n);
    size_t n_ice = floe_sim_matrix_count();
    floe_sim_matrix_cell *ice = calloc(n_ice, sizeof *ice);
    assert_non_null(ice);
    floe_sim_matrix_cells(ice, n_ice);
    size_t usable = 0;
    for (size_t i = 0; i < n_ice; i++)
        if (!ice[i].turn && ice[i].a.kind != FLOE_SIM_SIDE_BLOCKED &&
            ice[i].b.kind != FLOE_SIM_SIDE_BLOCKED)
            usable++;
    assert_int_equal(n, 2 * usable);
    size_t turn = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(c[i].a.kind != FLOE_SIM_SIDE_BLOCKED && c[i].b.kind != FLOE_SIM_SIDE_BLOCKED);
        assert_false(c[i].turn_tcp);
        if (!c[i].turn) continue;
        turn++;
        /* a TURN twin follows its plain cell, with the same number (and seed) */
        assert_true(i > 0 && !c[i - 1].turn && c[i - 1].index == c[i].index);
        /* with TURN every cell connects: directly where the plain cell does, else relayed */
        assert_true(c[i].expect.connect);
        assert_int_equal(c[i].expect.relay, !c[i - 1].expect.connect);
    }
    assert_int_equal(turn, n / 2);

    const floe_sim_matrix_cell *x = find(c, n, "eim-apdf", "eim-apdf", 0);
    assert_true(x->expect.connect && !x->expect.relay);
    assert_int_equal(x->expect.local, FLOE_ICE_CAND_SRFLX);
    x = find(c, n, "eim-apdf", "apdm-apdf", 0);
    assert_false(x->expect.connect);
    x = find(c, n, "eim-apdf", "apdm-apdf+turn", 10);
    assert_true(x->expect.connect && x->expect.relay);
    x = find(c, n, "apdm-eif", "apdm-eif+turn", 0);
    assert_true(x->expect.connect && x->expect.relay);
    /* case 11 without loss: the direct pair, or a relayed one where the direct path
     * needs bob's hole-punching retransmission (alice eim/adf, bob unstable, not eif) */
    x = find(c, n, "eim-adf", "adm-adf+turn", 0);
    assert_true(x->expect.connect && !x->expect.relay && x->expect.or_relay);
    x = find(c, n, "eim-adf", "adm-eif+turn", 0);
    assert_true(x->expect.connect && !x->expect.relay && !x->expect.or_relay);
    x = find(c, n, "adm-adf", "eim-adf+turn", 0);
    assert_true(x->expect.connect && !x->expect.relay && !x->expect.or_relay);
    x = find(c, n, "same-lan", "hairpin-off", 0);
    assert_true(x->expect.connect && x->expect.local == FLOE_ICE_CAND_HOST);
    free(ice);
    free(c);
}

/* The TURN twins with bare ICE agents (floe_sim_matrix_run): the rule the calls are
 * judged by holds for the agents alone too, bounds and echoes included. */
static void test_twins_bare_ice(void **state) {
    (void)state;
    size_t n;
    floe_sim_matrix_cell *c = all_cells(&n);
    unsigned ran = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].turn) continue;
        floe_sim_matrix_result r;
        assert_int_equal(floe_sim_matrix_run(&c[i], FLOE_SIM_MATRIX_SEED, &r), FLOE_OK);
        ran++;
        if (!r.ok) {
            bad++;
            printf("  cell %3u %-10s / %-16s %2u%%: expected %s, got %s: %s\n", c[i].index,
                   c[i].a_name, c[i].b_name, c[i].loss_pct, r.expected, r.got, r.why);
        }
    }
    printf("TURN twins with bare ICE agents: %u cells, %u not as the rule says\n", ran, bad);
    free(c);
    assert_int_equal(bad, 0);
}

/* Every cell of one loss level, each call judged by the rule. */
static void run_level(unsigned loss) {
    size_t n;
    floe_sim_matrix_cell *c = all_cells(&n);
    unsigned ran = 0, bad = 0, connected = 0, relayed = 0, failed = 0, case10 = 0;
    double t0 = wall();
    for (size_t i = 0; i < n; i++) {
        if (c[i].loss_pct != loss) continue;
        floe_sim_call_matrix_result r;
        int rc = floe_sim_call_matrix_run(&c[i], FLOE_SIM_MATRIX_SEED, NULL, &r);
        if (rc != FLOE_OK)
            fail_msg("cell %u %s / %s: %s", c[i].index, c[i].a_name, c[i].b_name, r.why);
        ran++;
        if (r.note[0]) case10++;
        if (!r.ok) {
            bad++;
            printf("  cell %3u %-10s / %-16s %2u%%: expected %s, got %s: %s\n", c[i].index,
                   c[i].a_name, c[i].b_name, loss, r.expected, r.got, r.why);
            continue;
        }
        if (r.expect.connect) {
            connected++;
            if (r.alice.local.type == FLOE_ICE_CAND_RELAY ||
                r.alice.remote.type == FLOE_ICE_CAND_RELAY)
                relayed++;
        } else {
            failed++;
        }
    }
    printf("call matrix at %u %% loss: %u calls, %u as the rule says (%u answered, %u of them "
           "relayed; %u clean failures), %u through case 10, %u not; %.2f s\n",
           loss, ran, ran - bad, connected, relayed, failed, case10, bad, wall() - t0);
    free(c);
    assert_int_equal(bad, 0);
}

static void test_matrix_no_loss(void **state) {
    (void)state;
    run_level(0);
}

static void test_matrix_loss(void **state) {
    (void)state;
    run_level(10);
}

/* 1000 calls at 10 % loss: call k runs cell k of the matrix's 10 % block (round robin,
 * with and without TURN) under matrix seed 1 + k / cells, so every call meets its own
 * losses. Each call either rings after the callee's ICE completed and carries audio both
 * ways, or fails cleanly; none is a ghost ring. */
static void test_thousand_calls(void **state) {
    (void)state;
    size_t n;
    floe_sim_matrix_cell *c = all_cells(&n);
    size_t lossy[MAX_CELLS], nl = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].loss_pct == 10) lossy[nl++] = i;
    assert_true(nl > 0);
    floe_sim_call_matrix_config cfg = {STORM_TALK, 0, NULL, NULL, NULL};
    unsigned answered = 0, clean = 0, ghosts = 0, unclean = 0, off_rule = 0;
    double t0 = wall();
    for (unsigned k = 0; k < STORM_CALLS; k++) {
        const floe_sim_matrix_cell *cell = &c[lossy[k % nl]];
        uint64_t seed = 1 + k / nl;
        floe_sim_call_matrix_result r;
        assert_int_equal(floe_sim_call_matrix_run(cell, seed, &cfg, &r), FLOE_OK);
        assert_true(r.registered);
        if (r.ghost_ring) {
            ghosts++;
            printf("  GHOST seed %llu cell %u %s / %s: %s\n", (unsigned long long)seed, cell->index,
                   cell->a_name, cell->b_name, r.why);
        } else if (r.answered && r.audio && r.ms_bob_ice >= 0 && r.ms_bob_ice <= r.ms_bob_180) {
            answered++;
        } else if (r.clean_failure) {
            clean++;
        } else {
            unclean++;
            printf("  NOT CLEAN seed %llu cell %u %s / %s: %s (%s)\n", (unsigned long long)seed,
                   cell->index, cell->a_name, cell->b_name, r.got, r.why);
        }
        if (!r.ok) off_rule++;
    }
    printf("1000 calls at 10 %% loss: %u answered with audio both ways, %u clean failures, %u "
           "ghost rings, %u neither; %u differ from the rule's outcome; %.2f s\n",
           answered, clean, ghosts, unclean, off_rule, wall() - t0);
    free(c);
    assert_int_equal(answered + clean + ghosts + unclean, STORM_CALLS);
    assert_int_equal(ghosts, 0);
    assert_int_equal(unclean, 0);
    assert_true(answered > 0 && clean > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells),          cmocka_unit_test(test_twins_bare_ice),
        cmocka_unit_test(test_matrix_no_loss), cmocka_unit_test(test_matrix_loss),
        cmocka_unit_test(test_thousand_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
