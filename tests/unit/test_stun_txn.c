/* Unit tests for the STUN client transaction (include/floe/stun_txn.h): the state
 * machine table, the RFC 8489 §6.2.1 retransmission schedule over UDP (RTO 500 ms:
 * sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, failure at 39.5 s), responses and
 * cancellation at any point, the reliable-transport case (one send, Ti = 39.5 s) and
 * custom RTOs. Time is virtual: the tests pass "now" explicitly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/err.h"
#include "floe/stun_txn.h"

/* ---- the state machine ---------------------------------------------------------- */

#define N_STATES 5
#define N_EVENTS 5

static const floe_stun_txn_state all_states[N_STATES] = {
    FLOE_STUN_TXN_IDLE, FLOE_STUN_TXN_WAITING, FLOE_STUN_TXN_DONE, FLOE_STUN_TXN_TIMED_OUT,
    FLOE_STUN_TXN_CANCELLED};
static const floe_stun_txn_event all_events[N_EVENTS] = {
    FLOE_STUN_TXN_EV_START, FLOE_STUN_TXN_EV_TIMER, FLOE_STUN_TXN_EV_LAST_TIMER,
    FLOE_STUN_TXN_EV_RESPONSE, FLOE_STUN_TXN_EV_CANCEL};

/* expected[state][event], rows and columns in the order of the arrays above */
static const floe_stun_txn_state expected[N_STATES][N_EVENTS] = {
    /* IDLE: only START and CANCEL move it */
    {FLOE_STUN_TXN_WAITING, FLOE_STUN_TXN_IDLE, FLOE_STUN_TXN_IDLE, FLOE_STUN_TXN_IDLE,
     FLOE_STUN_TXN_CANCELLED},
    /* WAITING: a timer with sends left keeps waiting; the last one fails it */
    {FLOE_STUN_TXN_WAITING, FLOE_STUN_TXN_WAITING, FLOE_STUN_TXN_TIMED_OUT, FLOE_STUN_TXN_DONE,
     FLOE_STUN_TXN_CANCELLED},
    /* the final states absorb every event */
    {FLOE_STUN_TXN_DONE, FLOE_STUN_TXN_DONE, FLOE_STUN_TXN_DONE, FLOE_STUN_TXN_DONE,
     FLOE_STUN_TXN_DONE},
    {FLOE_STUN_TXN_TIMED_OUT, FLOE_STUN_TXN_TIMED_OUT, FLOE_STUN_TXN_TIMED_OUT,
     FLOE_STUN_TXN_TIMED_OUT, FLOE_STUN_TXN_TIMED_OUT},
    {FLOE_STUN_TXN_CANCELLED, FLOE_STUN_TXN_CANCELLED, FLOE_STUN_TXN_CANCELLED,
     FLOE_STUN_TXN_CANCELLED, FLOE_STUN_TXN_CANCELLED},
};

static void test_step_table(void **state) {
    (void)state;
    for (int s = 0; s < N_STATES; s++)
        for (int e = 0; e < N_EVENTS; e++) {
            floe_stun_txn_state got = floe_stun_txn_step(all_states[s], all_events[e]);
            if (got != expected[s][e])
                fail_msg("state %d event %d: got %d want %d", (int)all_states[s],
                         (int)all_events[e], (int)got, (int)expected[s][e]);
        }
}

/* ---- helpers -------------------------------------------------------------------- */

/* Drives a started transaction by jumping from deadline to deadline (as a runtime does)
 * until it ends; records the send times (relative to t0, in ms). Returns the time of
 * the timeout, in ms. */
static uint64_t run_to_timeout(floe_stun_txn *t, floe_time_ns t0, uint64_t *sends_ms, size_t max,
                               size_t *n_sends) {
    size_t n = 0;
    sends_ms[n++] = 0; /* the start is the first send */
    for (int guard = 0; guard < 100; guard++) {
        floe_time_ns d = floe_stun_txn_deadline(t);
        assert_true(d != FLOE_TIME_NEVER);
        assert_true(d > t0);
        /* just before the deadline nothing happens */
        assert_int_equal(floe_stun_txn_tick(t, d - 1), FLOE_STUN_TXN_NONE);
        assert_int_equal(floe_stun_txn_deadline(t), d);
        floe_stun_txn_action act = floe_stun_txn_tick(t, d);
        if (act == FLOE_STUN_TXN_TIMEOUT) {
            assert_int_equal(t->state, FLOE_STUN_TXN_TIMED_OUT);
            assert_true(floe_stun_txn_deadline(t) == FLOE_TIME_NEVER);
            /* nothing more happens, ever */
            assert_int_equal(floe_stun_txn_tick(t, d + FLOE_S(1000)), FLOE_STUN_TXN_NONE);
            *n_sends = n;
            return (d - t0) / FLOE_NS_PER_MS;
        }
        assert_int_equal(act, FLOE_STUN_TXN_SEND);
        assert_int_equal(t->state, FLOE_STUN_TXN_WAITING);
        assert_true(n < max);
        sends_ms[n++] = (d - t0) / FLOE_NS_PER_MS;
        assert_int_equal(t->sends, n);
    }
    fail_msg("the transaction never timed out");
    return 0;
}

static void start_txn(floe_stun_txn *t, floe_time_ns now, floe_time_ns rto, bool reliable) {
    memset(t, 0, sizeof *t);
    assert_int_equal(floe_stun_txn_start(t, now, rto, reliable), FLOE_OK);
    assert_int_equal(t->state, FLOE_STUN_TXN_WAITING);
    assert_int_equal(t->sends, 1);
}

/* ---- UDP schedule --------------------------------------------------------------- */

static void test_udp_schedule_default_rto(void **state) {
    (void)state;
    static const uint64_t want[] = {0, 500, 1500, 3500, 7500, 15500, 31500};
    /* the same schedule from several start times, including a large one */
    static const floe_time_ns starts[] = {0, FLOE_MS(1), FLOE_S(3600), UINT64_C(1) << 60};
    for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
        floe_stun_txn t;
        start_txn(&t, starts[s], FLOE_STUN_RTO_DEFAULT, false);
        assert_true(t.rto == FLOE_MS(500));
        uint64_t sends[16];
        size_t n = 0;
        uint64_t timeout = run_to_timeout(&t, starts[s], sends, 16, &n);
        assert_int_equal(n, FLOE_STUN_RC);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(sends[i], want[i]);
        assert_int_equal(timeout, 39500);
        assert_int_equal(t.sends, 7);
    }
    /* rto 0 means the default */
    floe_stun_txn t;
    start_txn(&t, 0, 0, false);
    assert_true(t.rto == FLOE_STUN_RTO_DEFAULT);
    uint64_t sends[16];
    size_t n = 0;
    assert_int_equal(run_to_timeout(&t, 0, sends, 16, &n), 39500);
    assert_int_equal(n, 7);
}

static void test_udp_schedule_custom_rto(void **state) {
    (void)state;
    /* RTO 100 ms: everything scales by 1/5 */
    static const uint64_t want100[] = {0, 100, 300, 700, 1500, 3100, 6300};
    floe_stun_txn t;
    start_txn(&t, FLOE_S(7), FLOE_MS(100), false);
    uint64_t sends[16];
    size_t n = 0;
    uint64_t timeout = run_to_timeout(&t, FLOE_S(7), sends, 16, &n);
    assert_int_equal(n, 7);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(sends[i], want100[i]);
    assert_int_equal(timeout, 7900);

    /* other RTOs: the k-th send at (2^k - 1) RTO, failure at (2^(Rc-1) - 1 + Rm) RTO */
    static const uint64_t rtos_ms[] = {1, 50, 250, 1000, 3000};
    for (size_t r = 0; r < sizeof rtos_ms / sizeof rtos_ms[0]; r++) {
        start_txn(&t, 0, FLOE_MS(rtos_ms[r]), false);
        timeout = run_to_timeout(&t, 0, sends, 16, &n);
        assert_int_equal(n, FLOE_STUN_RC);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(sends[k], ((UINT64_C(1) << k) - 1) * rtos_ms[r]);
        assert_int_equal(timeout, (63 + 16) * rtos_ms[r]);
        assert_int_equal(FLOE_MS(timeout), floe_stun_txn_timeout_total(FLOE_MS(rtos_ms[r]), false));
    }
}

static void test_late_ticks_catch_up(void **state) {
    (void)state;
    /* A runtime that wakes up late gets one SEND per tick, each advancing the schedule
     * from where it should have been, never from "now". */
    floe_stun_txn t;
    start_txn(&t, 0, 0, false);
    floe_time_ns late = FLOE_MS(10000);
    assert_int_equal(floe_stun_txn_tick(&t, late), FLOE_STUN_TXN_SEND); /* due at 500 */
    assert_true(floe_stun_txn_deadline(&t) == FLOE_MS(1500));
    assert_int_equal(floe_stun_txn_tick(&t, late), FLOE_STUN_TXN_SEND); /* due at 1500 */
    assert_int_equal(floe_stun_txn_tick(&t, late), FLOE_STUN_TXN_SEND); /* due at 3500 */
    assert_int_equal(floe_stun_txn_tick(&t, late), FLOE_STUN_TXN_SEND); /* due at 7500 */
    assert_true(floe_stun_txn_deadline(&t) == FLOE_MS(15500));
    assert_int_equal(floe_stun_txn_tick(&t, late), FLOE_STUN_TXN_NONE);
    assert_int_equal(t.sends, 5);
    /* far too late: the remaining sends, then the timeout, then nothing */
    floe_time_ns very = FLOE_S(100);
    assert_int_equal(floe_stun_txn_tick(&t, very), FLOE_STUN_TXN_SEND);
    assert_int_equal(floe_stun_txn_tick(&t, very), FLOE_STUN_TXN_SEND);
    assert_int_equal(t.sends, 7);
    assert_int_equal(floe_stun_txn_tick(&t, very), FLOE_STUN_TXN_TIMEOUT);
    assert_int_equal(floe_stun_txn_tick(&t, very), FLOE_STUN_TXN_NONE);
    assert_int_equal(t.sends, 7);
}

/* ---- responses and cancellation ------------------------------------------------- */

static void test_response_stops_it(void **state) {
    (void)state;
    /* A response after each number of sends (1..7), at the send time or anywhere in
     * between, ends the transaction: DONE, no deadline, no more sends or timeout. */
    static const uint64_t send_ms[] = {0, 500, 1500, 3500, 7500, 15500, 31500, 39500};
    for (size_t k = 0; k < 7; k++) {
        static const int where[] = {0, 1, 2}; /* at the send, 1 ms later, 1 ms before next */
        for (size_t w = 0; w < 3; w++) {
            floe_stun_txn t;
            start_txn(&t, 0, 0, false);
            for (size_t i = 1; i <= k; i++)
                assert_int_equal(floe_stun_txn_tick(&t, FLOE_MS(send_ms[i])), FLOE_STUN_TXN_SEND);
            assert_int_equal(t.sends, k + 1);
            floe_time_ns at = where[w] == 0   ? FLOE_MS(send_ms[k])
                              : where[w] == 1 ? FLOE_MS(send_ms[k] + 1)
                                              : FLOE_MS(send_ms[k + 1] - 1);
            assert_int_equal(floe_stun_txn_tick(&t, at), FLOE_STUN_TXN_NONE);
            floe_stun_txn_on_response(&t);
            assert_int_equal(t.state, FLOE_STUN_TXN_DONE);
            assert_true(floe_stun_txn_deadline(&t) == FLOE_TIME_NEVER);
            for (size_t i = k + 1; i < 8; i++)
                assert_int_equal(floe_stun_txn_tick(&t, FLOE_MS(send_ms[i])), FLOE_STUN_TXN_NONE);
            assert_int_equal(floe_stun_txn_tick(&t, FLOE_S(1000)), FLOE_STUN_TXN_NONE);
            assert_int_equal(t.state, FLOE_STUN_TXN_DONE);
            assert_int_equal(t.sends, k + 1);
            /* a second response, a cancel or a restart change nothing */
            floe_stun_txn_on_response(&t);
            floe_stun_txn_cancel(&t);
            assert_int_equal(t.state, FLOE_STUN_TXN_DONE);
            assert_int_equal(floe_stun_txn_start(&t, FLOE_S(2000), 0, false), FLOE_ERR_STATE);
            assert_int_equal(t.state, FLOE_STUN_TXN_DONE);
        }
    }
    /* a response after the timeout is too late */
    floe_stun_txn t;
    start_txn(&t, 0, 0, false);
    uint64_t sends[16];
    size_t n;
    run_to_timeout(&t, 0, sends, 16, &n);
    floe_stun_txn_on_response(&t);
    assert_int_equal(t.state, FLOE_STUN_TXN_TIMED_OUT);
    assert_true(floe_stun_txn_deadline(&t) == FLOE_TIME_NEVER);
}

static void test_cancel(void **state) {
    (void)state;
    floe_stun_txn t;
    start_txn(&t, 0, 0, false);
    assert_int_equal(floe_stun_txn_tick(&t, FLOE_MS(500)), FLOE_STUN_TXN_SEND);
    floe_stun_txn_cancel(&t);
    assert_int_equal(t.state, FLOE_STUN_TXN_CANCELLED);
    assert_true(floe_stun_txn_deadline(&t) == FLOE_TIME_NEVER);
    assert_int_equal(floe_stun_txn_tick(&t, FLOE_S(100)), FLOE_STUN_TXN_NONE);
    floe_stun_txn_on_response(&t);
    assert_int_equal(t.state, FLOE_STUN_TXN_CANCELLED);

    /* an idle transaction: no deadline, ticks do nothing, cancel ends it */
    memset(&t, 0, sizeof t);
    assert_int_equal(t.state, FLOE_STUN_TXN_IDLE);
    assert_true(floe_stun_txn_deadline(&t) == FLOE_TIME_NEVER);
    assert_int_equal(floe_stun_txn_tick(&t, FLOE_S(100)), FLOE_STUN_TXN_NONE);
    floe_stun_txn_on_response(&t);
    assert_int_equal(t.state, FLOE_STUN_TXN_IDLE);
    floe_stun_txn_cancel(&t);
    assert_int_equal(t.state, FLOE_STUN_TXN_CANCELLED);
    assert_int_equal(floe_stun_txn_start(&t, 0, 0, false), FLOE_ERR_STATE);

    /* starting twice */
    start_txn(&t, 0, 0, false);
    assert_int_equal(floe_stun_txn_start(&t, FLOE_MS(1), 0, false), FLOE_ERR_STATE);
    assert_int_equal(t.sends, 1);
    assert_true(floe_stun_txn_deadline(&t) == FLOE_MS(500));
}

/* ---- reliable transports -------------------------------------------------------- */

static void test_reliable(void **state) {
    (void)state;
    static const floe_time_ns rtos[] = {0, FLOE_MS(100), FLOE_MS(500), FLOE_S(3)};
    for (size_t r = 0; r < sizeof rtos / sizeof rtos[0]; r++) {
        floe_stun_txn t;
        start_txn(&t, FLOE_S(1), rtos[r], true);
        assert_true(t.reliable);
        /* one send only: the RTO plays no part */
        assert_true(floe_stun_txn_deadline(&t) == FLOE_S(1) + FLOE_STUN_TI);
        assert_int_equal(floe_stun_txn_tick(&t, FLOE_S(1) + FLOE_MS(500)), FLOE_STUN_TXN_NONE);
        assert_int_equal(floe_stun_txn_tick(&t, FLOE_S(1) + FLOE_MS(39499)), FLOE_STUN_TXN_NONE);
        uint64_t sends[4];
        size_t n = 0;
        uint64_t timeout = run_to_timeout(&t, FLOE_S(1), sends, 4, &n);
        assert_int_equal(n, 1);
        assert_int_equal(timeout, 39500);
        assert_int_equal(t.sends, 1);
    }
    /* a response in time */
    floe_stun_txn t;
    start_txn(&t, 0, 0, true);
    assert_int_equal(floe_stun_txn_tick(&t, FLOE_MS(39000)), FLOE_STUN_TXN_NONE);
    floe_stun_txn_on_response(&t);
    assert_int_equal(t.state, FLOE_STUN_TXN_DONE);
    assert_int_equal(floe_stun_txn_tick(&t, FLOE_MS(39500)), FLOE_STUN_TXN_NONE);
}

/* ---- timeout_total -------------------------------------------------------------- */

/* A schedule of one's own (floe_stun_txn_start_ex): Rc 4, Rm 4, RTO 100 ms sends at 0,
 * 100, 300 and 700 ms and gives up at 1100 ms; Rc 1 waits Rm * RTO after its only send. */
static void test_custom_rc_rm(void **state) {
    (void)state;
    floe_stun_txn t;
    uint64_t sends[16];
    size_t n = 0;
    memset(&t, 0, sizeof t);
    assert_int_equal(floe_stun_txn_start_ex(&t, FLOE_S(5), FLOE_MS(100), 4, 4, false), FLOE_OK);
    assert_int_equal(run_to_timeout(&t, FLOE_S(5), sends, 16, &n), 1100);
    static const uint64_t want[] = {0, 100, 300, 700};
    assert_int_equal(n, 4);
    assert_memory_equal(sends, want, sizeof want);

    memset(&t, 0, sizeof t);
    assert_int_equal(floe_stun_txn_start_ex(&t, 0, FLOE_MS(100), 1, 3, false), FLOE_OK);
    assert_int_equal(run_to_timeout(&t, 0, sends, 16, &n), 300);
    assert_int_equal(n, 1);

    /* 0 takes the RFC values */
    memset(&t, 0, sizeof t);
    assert_int_equal(floe_stun_txn_start_ex(&t, 0, 0, 0, 0, false), FLOE_OK);
    assert_int_equal(run_to_timeout(&t, 0, sends, 16, &n), 39500);
    assert_int_equal(n, FLOE_STUN_RC);

    /* out of range */
    memset(&t, 0, sizeof t);
    assert_int_equal(floe_stun_txn_start_ex(&t, 0, 0, FLOE_STUN_RC_MAX + 1, 0, false),
                     FLOE_ERR_INVAL);
    assert_int_equal(floe_stun_txn_start_ex(&t, 0, 0, 0, FLOE_STUN_RM_MAX + 1, false),
                     FLOE_ERR_INVAL);
    assert_int_equal(t.state, FLOE_STUN_TXN_IDLE);
}

static void test_timeout_total(void **state) {
    (void)state;
    assert_true(floe_stun_txn_timeout_total(FLOE_MS(500), false) == FLOE_MS(39500));
    assert_true(floe_stun_txn_timeout_total(0, false) == FLOE_MS(39500));
    assert_true(floe_stun_txn_timeout_total(FLOE_MS(100), false) == FLOE_MS(7900));
    assert_true(floe_stun_txn_timeout_total(FLOE_MS(1000), false) == FLOE_MS(79000));
    assert_true(floe_stun_txn_timeout_total(1, false) == 79);
    /* reliable: Ti whatever the RTO */
    assert_true(floe_stun_txn_timeout_total(FLOE_MS(500), true) == FLOE_STUN_TI);
    assert_true(floe_stun_txn_timeout_total(FLOE_MS(100), true) == FLOE_MS(39500));
    assert_true(floe_stun_txn_timeout_total(0, true) == FLOE_MS(39500));
    /* the constants of RFC 8489 §6.2.1 */
    assert_int_equal(FLOE_STUN_RC, 7);
    assert_int_equal(FLOE_STUN_RM, 16);
    assert_true(FLOE_STUN_RTO_DEFAULT == FLOE_MS(500));
    /* and it agrees with what the state machine does */
    for (uint64_t rto_ms = 10; rto_ms <= 2000; rto_ms += 330) {
        floe_stun_txn t;
        start_txn(&t, FLOE_S(5), FLOE_MS(rto_ms), false);
        uint64_t sends[16];
        size_t n;
        uint64_t timeout = run_to_timeout(&t, FLOE_S(5), sends, 16, &n);
        assert_true(FLOE_MS(timeout) == floe_stun_txn_timeout_total(FLOE_MS(rto_ms), false));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_table),
        cmocka_unit_test(test_udp_schedule_default_rto),
        cmocka_unit_test(test_udp_schedule_custom_rto),
        cmocka_unit_test(test_late_ticks_catch_up),
        cmocka_unit_test(test_response_stops_it),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_reliable),
        cmocka_unit_test(test_custom_rc_rm),
        cmocka_unit_test(test_timeout_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
