/* The TURN client's state machines (src/turn/turn_fsm.c): every (state, event) pair of
 * the allocation machine and of the permission/channel machine against a table written
 * from RFC 8656, plus the names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "turn/turn_priv.h"

#define N_ALLOC_STATES 6
#define N_BIND_STATES 5

static void test_alloc_machine(void **state) {
    (void)state;
    /* Rows: NEW, ALLOCATING, ALLOCATED, DEALLOCATING, CLOSED, FAILED.
     * Columns: START, RETRY, SUCCESS, REFRESHED, ERROR, TIMEOUT, EXPIRED, CLOSE. */
    enum {
        N = FLOE_TURN_NEW,
        G = FLOE_TURN_ALLOCATING,
        A = FLOE_TURN_ALLOCATED,
        D = FLOE_TURN_DEALLOCATING,
        C = FLOE_TURN_CLOSED,
        F = FLOE_TURN_FAILED
    };
    static const int want[N_ALLOC_STATES][TURN_ALLOC_EV_COUNT] = {
        /* NEW */ {G, N, N, N, N, N, N, C},
        /* ALLOCATING */ {G, G, A, G, F, F, G, C},
        /* ALLOCATED */ {A, A, A, A, F, A, F, D},
        /* DEALLOCATING */ {D, D, D, C, C, C, C, D},
        /* CLOSED */ {C, C, C, C, C, C, C, C},
        /* FAILED */ {F, F, F, F, F, F, F, F},
    };
    for (int s = 0; s < N_ALLOC_STATES; s++)
        for (int e = 0; e < TURN_ALLOC_EV_COUNT; e++) {
            floe_turn_state got = turn_alloc_next_state((floe_turn_state)s, (turn_alloc_event)e);
            if ((int)got != want[s][e])
                fail_msg("allocation %s + %s: got %s, want %s",
                         floe_turn_state_name((floe_turn_state)s),
                         turn_alloc_event_name((turn_alloc_event)e), floe_turn_state_name(got),
                         floe_turn_state_name((floe_turn_state)want[s][e]));
        }
    /* Out-of-range input leaves the state alone. */
    assert_int_equal(turn_alloc_next_state(FLOE_TURN_ALLOCATED, TURN_ALLOC_EV_COUNT),
                     FLOE_TURN_ALLOCATED);
    assert_int_equal(turn_alloc_next_state((floe_turn_state)99, TURN_ALLOC_EV_START), 99);
}

static void test_bind_machine(void **state) {
    (void)state;
    /* Rows: NEW, PENDING, UP, REFRESHING, FAILED.
     * Columns: SEND, SUCCESS, ERROR, TIMEOUT, EXPIRED. */
    enum {
        N = FLOE_TURN_BIND_NEW,
        P = FLOE_TURN_BIND_PENDING,
        U = FLOE_TURN_BIND_UP,
        R = FLOE_TURN_BIND_REFRESHING,
        F = FLOE_TURN_BIND_FAILED
    };
    static const int want[N_BIND_STATES][TURN_BIND_EV_COUNT] = {
        /* NEW */ {P, U, F, N, N},
        /* PENDING */ {P, U, F, F, P},
        /* UP */ {R, U, U, U, F},
        /* REFRESHING */ {R, U, F, U, F},
        /* FAILED */ {F, F, F, F, F},
    };
    for (int s = 0; s < N_BIND_STATES; s++)
        for (int e = 0; e < TURN_BIND_EV_COUNT; e++) {
            floe_turn_bind_state got =
                turn_bind_next_state((floe_turn_bind_state)s, (turn_bind_event)e);
            if ((int)got != want[s][e])
                fail_msg("binding %s + %s: got %s, want %s",
                         floe_turn_bind_state_name((floe_turn_bind_state)s),
                         turn_bind_event_name((turn_bind_event)e), floe_turn_bind_state_name(got),
                         floe_turn_bind_state_name((floe_turn_bind_state)want[s][e]));
        }
    assert_int_equal(turn_bind_next_state(FLOE_TURN_BIND_UP, TURN_BIND_EV_COUNT),
                     FLOE_TURN_BIND_UP);
}

static void test_names(void **state) {
    (void)state;
    for (int s = 0; s < N_ALLOC_STATES; s++)
        assert_string_not_equal(floe_turn_state_name((floe_turn_state)s), "unknown");
    for (int s = 0; s < N_BIND_STATES; s++)
        assert_string_not_equal(floe_turn_bind_state_name((floe_turn_bind_state)s), "unknown");
    for (int e = 0; e < TURN_ALLOC_EV_COUNT; e++)
        assert_string_not_equal(turn_alloc_event_name((turn_alloc_event)e), "unknown");
    for (int e = 0; e < TURN_BIND_EV_COUNT; e++)
        assert_string_not_equal(turn_bind_event_name((turn_bind_event)e), "unknown");
    for (int t = FLOE_TURN_EV_ALLOCATED; t <= FLOE_TURN_EV_DEALLOCATED; t++)
        assert_string_not_equal(floe_turn_event_name((floe_turn_event_type)t), "unknown");
    assert_string_equal(floe_turn_state_name((floe_turn_state)42), "unknown");
    assert_string_equal(floe_turn_bind_state_name((floe_turn_bind_state)42), "unknown");
    assert_string_equal(turn_alloc_event_name(TURN_ALLOC_EV_COUNT), "unknown");
    assert_string_equal(turn_bind_event_name(TURN_BIND_EV_COUNT), "unknown");
    assert_string_equal(floe_turn_event_name((floe_turn_event_type)42), "unknown");
    assert_string_equal(floe_turn_event_name(FLOE_TURN_EV_CHANNEL_BOUND), "channel-bound");
    assert_string_equal(floe_turn_bind_state_name(FLOE_TURN_BIND_UP), "up");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_machine),
        cmocka_unit_test(test_bind_machine),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
