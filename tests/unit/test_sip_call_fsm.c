/* The call's state machine (floe/sip_call.h): every (role, state, event) triple, the
 * ring-after-ICE rule proven on the callee's graph, and the flows of the issue. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "floe/sip_call.h"

#define NS FLOE_SIP_CALL_STATE_COUNT
#define NE FLOE_SIP_CALL_EV_COUNT

static const floe_sip_call_role roles[2] = {FLOE_SIP_CALL_UAC, FLOE_SIP_CALL_UAS};

/* Runs a sequence of events from IDLE; returns the final state. */
static floe_sip_call_state run(floe_sip_call_role r, const floe_sip_call_event *ev, size_t n) {
    floe_sip_call_state s = FLOE_SIP_CALL_IDLE;
    for (size_t i = 0; i < n; i++)
        s = floe_sip_call_step(r, s, ev[i]);
    return s;
}
#define RUN(r, ...)                                                                                \
    run(r, (const floe_sip_call_event[]){__VA_ARGS__},                                             \
        sizeof((const floe_sip_call_event[]){__VA_ARGS__}) / sizeof(floe_sip_call_event))

static void test_total_and_named(void **state) {
    (void)state;
    for (int r = 0; r < 2; r++)
        for (int s = 0; s < NS; s++)
            for (int e = 0; e < NE; e++) {
                floe_sip_call_state t = floe_sip_call_step(roles[r], s, e);
                assert_true((unsigned)t < NS);
                /* The end is the end. */
                if (floe_sip_call_over(s)) assert_int_equal(t, s);
            }
    /* Out of range in, unchanged out. */
    assert_int_equal(floe_sip_call_step(FLOE_SIP_CALL_UAC, NS, 0), NS);
    assert_int_equal(floe_sip_call_step(FLOE_SIP_CALL_UAC, FLOE_SIP_CALL_IDLE, NE),
                     FLOE_SIP_CALL_IDLE);
    for (int i = 0; i < NS; i++) {
        assert_non_null(floe_sip_call_state_name(i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(floe_sip_call_state_name(i), floe_sip_call_state_name(j));
    }
    for (int i = 0; i < NE; i++) {
        assert_non_null(floe_sip_call_event_name(i));
        for (int j = 0; j < i; j++)
            assert_string_not_equal(floe_sip_call_event_name(i), floe_sip_call_event_name(j));
    }
    assert_string_equal(floe_sip_call_state_name(NS), "?");
    assert_string_equal(floe_sip_call_event_name(NE), "?");
}

/* The states the callee can reach from `from` without the events in `banned`. */
static void reach(floe_sip_call_state from, const bool *banned, bool *seen) {
    memset(seen, 0, NS * sizeof *seen);
    floe_sip_call_state stack[NS];
    size_t n = 0;
    stack[n++] = from;
    seen[from] = true;
    while (n) {
        floe_sip_call_state s = stack[--n];
        for (int e = 0; e < NE; e++) {
            if (banned[e]) continue;
            floe_sip_call_state t = floe_sip_call_step(FLOE_SIP_CALL_UAS, s, e);
            if (!seen[t]) {
                seen[t] = true;
                stack[n++] = t;
            }
        }
    }
}

/* The rule the machine exists for: an ICE offer never makes the callee ring unless ICE
 * completed; when ICE fails before the ring the call ends, and never rings after. */
static void test_callee_rings_only_after_ice(void **state) {
    (void)state;
    bool banned[NE] = {false}, seen[NS];
    /* From an ICE offer, without ICE_DONE: no ring, no answer, no media. */
    floe_sip_call_state offered =
        floe_sip_call_step(FLOE_SIP_CALL_UAS, FLOE_SIP_CALL_IDLE, FLOE_SIP_CALL_EV_INVITE);
    assert_int_equal(offered, FLOE_SIP_CALL_OFFERED);
    banned[FLOE_SIP_CALL_EV_ICE_DONE] = true;
    reach(offered, banned, seen);
    assert_false(seen[FLOE_SIP_CALL_RINGING]);
    assert_false(seen[FLOE_SIP_CALL_ANSWERED]);
    assert_false(seen[FLOE_SIP_CALL_CONFIRMED]);
    assert_true(seen[FLOE_SIP_CALL_FAILED]); /* the clean end is there */
    /* With it, the ring is reachable (the rule is not satisfied by never ringing). */
    banned[FLOE_SIP_CALL_EV_ICE_DONE] = false;
    reach(offered, banned, seen);
    assert_true(seen[FLOE_SIP_CALL_RINGING]);
    assert_true(seen[FLOE_SIP_CALL_CONFIRMED]);
    /* Every state before the ring: an ICE failure ends the call at once. */
    static const floe_sip_call_state before[] = {
        FLOE_SIP_CALL_OFFERED,   FLOE_SIP_CALL_EARLY,        FLOE_SIP_CALL_CHECKING,
        FLOE_SIP_CALL_NOMINATED, FLOE_SIP_CALL_OFFERED_LATE, FLOE_SIP_CALL_PROBING};
    for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
        assert_int_equal(
            floe_sip_call_step(FLOE_SIP_CALL_UAS, before[i], FLOE_SIP_CALL_EV_ICE_FAILED),
            FLOE_SIP_CALL_FAILED);
        /* ... and nothing but ICE_DONE (with the PRACK), or our own successful check
         * on a late answer, leads to RINGING from them. */
        for (int e = 0; e < NE; e++) {
            floe_sip_call_state t = floe_sip_call_step(FLOE_SIP_CALL_UAS, before[i], e);
            if (t == FLOE_SIP_CALL_RINGING)
                assert_true(
                    e == FLOE_SIP_CALL_EV_ICE_DONE ||
                    (e == FLOE_SIP_CALL_EV_PRACK && before[i] == FLOE_SIP_CALL_NOMINATED) ||
                    (e == FLOE_SIP_CALL_EV_PATH_FOUND && before[i] == FLOE_SIP_CALL_PROBING));
        }
    }
    /* The only ways into RINGING on the callee's side. */
    for (int s = 0; s < NS; s++)
        for (int e = 0; e < NE; e++) {
            if (s == FLOE_SIP_CALL_RINGING) continue;
            if (floe_sip_call_step(FLOE_SIP_CALL_UAS, s, e) != FLOE_SIP_CALL_RINGING) continue;
            bool ok = (s == FLOE_SIP_CALL_CHECKING && e == FLOE_SIP_CALL_EV_ICE_DONE) ||
                      (s == FLOE_SIP_CALL_NOMINATED && e == FLOE_SIP_CALL_EV_PRACK) ||
                      (s == FLOE_SIP_CALL_OFFERED_PLAIN && e == FLOE_SIP_CALL_EV_GATHERED) ||
                      (s == FLOE_SIP_CALL_PROBING && e == FLOE_SIP_CALL_EV_PATH_FOUND) ||
                      (s == FLOE_SIP_CALL_PROBING && e == FLOE_SIP_CALL_EV_ICE_DONE);
            if (!ok)
                fail_msg("%s --%s--> ringing", floe_sip_call_state_name(s),
                         floe_sip_call_event_name(e));
        }
}

/* The late answer (an ICE offer without 100rel): no ring unless a check of ours
 * succeeded or ICE completed; without either, only the clean end. */
static void test_late_answer_rings_only_on_a_path(void **state) {
    (void)state;
    bool banned[NE] = {false}, seen[NS];
    floe_sip_call_state offered =
        floe_sip_call_step(FLOE_SIP_CALL_UAS, FLOE_SIP_CALL_IDLE, FLOE_SIP_CALL_EV_INVITE_LATE);
    assert_int_equal(offered, FLOE_SIP_CALL_OFFERED_LATE);
    banned[FLOE_SIP_CALL_EV_ICE_DONE] = true;
    banned[FLOE_SIP_CALL_EV_PATH_FOUND] = true;
    reach(offered, banned, seen);
    assert_false(seen[FLOE_SIP_CALL_RINGING]);
    assert_false(seen[FLOE_SIP_CALL_ANSWERED]);
    assert_false(seen[FLOE_SIP_CALL_CONFIRMED]);
    assert_true(seen[FLOE_SIP_CALL_FAILED]);
    /* It never goes through the reliable 183's states. */
    assert_false(seen[FLOE_SIP_CALL_EARLY]);
    assert_false(seen[FLOE_SIP_CALL_CHECKING]);
    banned[FLOE_SIP_CALL_EV_PATH_FOUND] = false;
    reach(offered, banned, seen);
    assert_true(seen[FLOE_SIP_CALL_RINGING]);
    assert_true(seen[FLOE_SIP_CALL_CONFIRMED]);
    const floe_sip_call_role S = FLOE_SIP_CALL_UAS;
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE_LATE, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_PATH_FOUND, FLOE_SIP_CALL_EV_ANSWER, FLOE_SIP_CALL_EV_ACK,
                         FLOE_SIP_CALL_EV_ICE_DONE),
                     FLOE_SIP_CALL_CONFIRMED);
    /* Before gathering ends, a successful check cannot ring (no checks run yet). */
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE_LATE, FLOE_SIP_CALL_EV_PATH_FOUND),
                     FLOE_SIP_CALL_OFFERED_LATE);
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE_LATE, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_ICE_FAILED),
                     FLOE_SIP_CALL_FAILED);
    assert_int_equal(
        RUN(S, FLOE_SIP_CALL_EV_INVITE_LATE, FLOE_SIP_CALL_EV_GATHERED, FLOE_SIP_CALL_EV_CANCEL),
        FLOE_SIP_CALL_FAILED);
    /* The caller's events mean nothing to it. */
    assert_int_equal(
        floe_sip_call_step(FLOE_SIP_CALL_UAC, FLOE_SIP_CALL_IDLE, FLOE_SIP_CALL_EV_INVITE_LATE),
        FLOE_SIP_CALL_IDLE);
}

static void test_flows(void **state) {
    (void)state;
    const floe_sip_call_role C = FLOE_SIP_CALL_UAC, S = FLOE_SIP_CALL_UAS;
    /* The flow of the issue, both sides. */
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_EARLY_ANSWER, FLOE_SIP_CALL_EV_ICE_DONE,
                         FLOE_SIP_CALL_EV_RINGING, FLOE_SIP_CALL_EV_OK),
                     FLOE_SIP_CALL_CONFIRMED);
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_PRACK, FLOE_SIP_CALL_EV_ICE_DONE, FLOE_SIP_CALL_EV_ANSWER,
                         FLOE_SIP_CALL_EV_ACK),
                     FLOE_SIP_CALL_CONFIRMED);
    /* Nomination before the PRACK: the 180 waits for it. */
    assert_int_equal(
        RUN(S, FLOE_SIP_CALL_EV_INVITE, FLOE_SIP_CALL_EV_GATHERED, FLOE_SIP_CALL_EV_ICE_DONE),
        FLOE_SIP_CALL_NOMINATED);
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_ICE_DONE, FLOE_SIP_CALL_EV_ANSWER),
                     FLOE_SIP_CALL_NOMINATED); /* cannot answer before ringing */
    /* Updated offer, then hang-up by either side. */
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_EARLY_ANSWER, FLOE_SIP_CALL_EV_ICE_DONE,
                         FLOE_SIP_CALL_EV_RINGING, FLOE_SIP_CALL_EV_OK,
                         FLOE_SIP_CALL_EV_UPDATE_NEEDED, FLOE_SIP_CALL_EV_OK,
                         FLOE_SIP_CALL_EV_HANGUP, FLOE_SIP_CALL_EV_CLOSED),
                     FLOE_SIP_CALL_ENDED);
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_PRACK, FLOE_SIP_CALL_EV_ICE_DONE, FLOE_SIP_CALL_EV_ANSWER,
                         FLOE_SIP_CALL_EV_ACK, FLOE_SIP_CALL_EV_BYE),
                     FLOE_SIP_CALL_ENDED);
    /* A failed re-INVITE keeps the call. */
    assert_int_equal(floe_sip_call_step(C, FLOE_SIP_CALL_UPDATING, FLOE_SIP_CALL_EV_REJECTED),
                     FLOE_SIP_CALL_CONFIRMED);
    /* Peers without ICE: the callee rings once it has its answer's default candidate; the
     * caller takes an answer without ICE as a ready path. */
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE_NO_ICE, FLOE_SIP_CALL_EV_GATHERED),
                     FLOE_SIP_CALL_RINGING);
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_NO_ICE_ANSWER, FLOE_SIP_CALL_EV_RINGING,
                         FLOE_SIP_CALL_EV_OK),
                     FLOE_SIP_CALL_CONFIRMED);
    /* Failures before an answer. */
    assert_int_equal(RUN(S, FLOE_SIP_CALL_EV_INVITE, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_PRACK, FLOE_SIP_CALL_EV_ICE_FAILED),
                     FLOE_SIP_CALL_FAILED);
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_EARLY_ANSWER, FLOE_SIP_CALL_EV_ICE_FAILED),
                     FLOE_SIP_CALL_CANCELLING);
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_EARLY_ANSWER, FLOE_SIP_CALL_EV_ICE_FAILED,
                         FLOE_SIP_CALL_EV_REJECTED),
                     FLOE_SIP_CALL_FAILED);
    assert_int_equal(
        RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED, FLOE_SIP_CALL_EV_REJECTED),
        FLOE_SIP_CALL_FAILED);
    assert_int_equal(
        RUN(S, FLOE_SIP_CALL_EV_INVITE, FLOE_SIP_CALL_EV_GATHERED, FLOE_SIP_CALL_EV_CANCEL),
        FLOE_SIP_CALL_FAILED);
    /* The 200 that crossed our CANCEL: BYE, then the end. */
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_GATHERED,
                         FLOE_SIP_CALL_EV_HANGUP, FLOE_SIP_CALL_EV_OK),
                     FLOE_SIP_CALL_HANGING_UP);
    /* No ACK for the 200: the callee hangs up (RFC 3261 §13.3.1.4). */
    assert_int_equal(floe_sip_call_step(S, FLOE_SIP_CALL_ANSWERED, FLOE_SIP_CALL_EV_TIMEOUT),
                     FLOE_SIP_CALL_HANGING_UP);
    /* Consent lost during the call hangs up on both sides. */
    for (int r = 0; r < 2; r++)
        assert_int_equal(
            floe_sip_call_step(roles[r], FLOE_SIP_CALL_CONFIRMED, FLOE_SIP_CALL_EV_ICE_FAILED),
            FLOE_SIP_CALL_HANGING_UP);
    /* Hanging up before anything was sent fails quietly. */
    assert_int_equal(RUN(C, FLOE_SIP_CALL_EV_DIAL, FLOE_SIP_CALL_EV_HANGUP), FLOE_SIP_CALL_FAILED);
    /* Events of the other role are ignored. */
    assert_int_equal(floe_sip_call_step(C, FLOE_SIP_CALL_IDLE, FLOE_SIP_CALL_EV_INVITE),
                     FLOE_SIP_CALL_IDLE);
    assert_int_equal(floe_sip_call_step(S, FLOE_SIP_CALL_IDLE, FLOE_SIP_CALL_EV_DIAL),
                     FLOE_SIP_CALL_IDLE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_total_and_named),
        cmocka_unit_test(test_callee_rings_only_after_ice),
        cmocka_unit_test(test_late_answer_rings_only_on_a_path),
        cmocka_unit_test(test_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
